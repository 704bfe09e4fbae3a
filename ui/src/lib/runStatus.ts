import type { RunStatus } from "./bindings";

/** The statuses a run never leaves (the engine's `RunStatus::is_terminal` is the other copy). */
const TERMINAL: ReadonlySet<RunStatus> = new Set<RunStatus>(["succeeded", "failed", "cancelled", "interrupted"]);

export function isTerminal(status: RunStatus): boolean {
  return TERMINAL.has(status);
}
