// Keyboard shortcuts: one table, used by the key handler and listed in the command palette.
export type ShortcutAction = "palette" | "new-task" | "projects" | "board" | "toggle-graph" | "inbox" | "health" | "settings";

export const SHORTCUTS: { action: ShortcutAction; key: string; label: string }[] = [
  { action: "palette", key: "k", label: "Command palette" },
  { action: "new-task", key: "n", label: "New task" },
  { action: "projects", key: "1", label: "Projects" },
  { action: "board", key: "2", label: "Board" },
  { action: "toggle-graph", key: "g", label: "Board / Graph" },
  { action: "inbox", key: "i", label: "Inbox" },
  { action: "health", key: "3", label: "Health" },
  { action: "settings", key: ",", label: "Settings" },
];

const isMac = typeof navigator !== "undefined" && /Mac/.test(navigator.platform);

export function shortcutLabel(key: string) {
  return `${isMac ? "⌘" : "Ctrl+"}${key.toUpperCase()}`;
}

/** The action a key event triggers, if any: Ctrl (or Cmd) plus the key. */
export function matchShortcut(e: KeyboardEvent): ShortcutAction | null {
  if (!(e.ctrlKey || e.metaKey) || e.altKey) return null;
  return SHORTCUTS.find((s) => s.key === e.key.toLowerCase())?.action ?? null;
}
