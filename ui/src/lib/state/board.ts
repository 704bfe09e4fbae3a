// Pure helpers for the board: which columns, in which order, and what goes in each.
import type { TaskCardDto, TaskStatusDto } from "../api/backend";

export const COLUMNS: { status: TaskStatusDto; label: string }[] = [
  { status: "proposed", label: "Proposed" },
  { status: "backlog", label: "Backlog" },
  { status: "ready", label: "Ready" },
  { status: "blocked", label: "Blocked" },
  { status: "running", label: "Running" },
  { status: "needs_input", label: "Needs input" },
  { status: "review", label: "Review" },
  { status: "done", label: "Done" },
  { status: "failed", label: "Failed" },
  { status: "cancelled", label: "Cancelled" },
  { status: "rejected", label: "Rejected" },
];

export type Column = { status: TaskStatusDto; label: string; tasks: TaskCardDto[] };

/** Every column, each with its tasks in the order given (creation order). */
export function groupByStatus(tasks: TaskCardDto[]): Column[] {
  const byStatus = new Map<TaskStatusDto, TaskCardDto[]>(COLUMNS.map((c) => [c.status, []]));
  for (const task of tasks) byStatus.get(task.status)?.push(task);
  return COLUMNS.map((c) => ({ ...c, tasks: byStatus.get(c.status) ?? [] }));
}

/** `KEY=VALUE` lines to env vars; blank lines are skipped, a line without `=` is an error. */
export function parseEnv(text: string): { name: string; value: string }[] | string {
  const vars: { name: string; value: string }[] = [];
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (!line) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) return `line ${i + 1}: expected NAME=value, got "${line}"`;
    vars.push({ name: line.slice(0, eq).trim(), value: line.slice(eq + 1) });
  }
  return vars;
}
