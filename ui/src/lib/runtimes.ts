// The agent runtimes a task can use, with display names and model suggestions.
import type { RuntimeDto } from "./api/backend";

export const RUNTIMES: { id: RuntimeDto; label: string; models: string[] }[] = [
  { id: "claude-code", label: "Claude Code", models: ["sonnet", "opus", "haiku"] },
  { id: "codex", label: "Codex CLI", models: ["gpt-5", "gpt-5-codex", "o4-mini"] },
  { id: "gemini", label: "Gemini CLI", models: ["gemini-2.5-pro", "gemini-2.5-flash"] },
  { id: "opencode", label: "OpenCode", models: ["anthropic/claude-sonnet-4-5", "openai/gpt-5"] },
  { id: "aider", label: "Aider", models: [] },
  { id: "cursor", label: "Cursor CLI", models: [] },
  { id: "acp", label: "Any ACP agent", models: [] },
  { id: "custom", label: "Custom command", models: [] },
];

export function runtimeLabel(id: RuntimeDto | null) {
  return RUNTIMES.find((r) => r.id === id)?.label ?? "Project default";
}
