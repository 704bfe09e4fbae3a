// What the run view shows of a coding agent's log: usage totals, each tool call's result, and
// which entries get a row of their own.
import type { RunEventDto } from "./api/backend";

export interface ToolOutcome {
  ok: boolean;
  output: string;
}

/** What the run view needs from an agent's log: totals and each tool call's result. */
export interface AgentSummary {
  hasAgent: boolean;
  inputTokens: number;
  outputTokens: number;
  costUsd: number | null;
  results: Map<string, ToolOutcome>;
}

export function agentSummary(log: RunEventDto[]): AgentSummary {
  const summary: AgentSummary = { hasAgent: false, inputTokens: 0, outputTokens: 0, costUsd: null, results: new Map() };
  for (const entry of log) {
    if (entry.kind !== "agent") continue;
    summary.hasAgent = true;
    const e = entry.event;
    if (e.event === "usage") {
      summary.inputTokens += e.input_tokens ?? 0;
      summary.outputTokens += e.output_tokens ?? 0;
      if (e.cost_usd !== null) summary.costUsd = (summary.costUsd ?? 0) + e.cost_usd;
    } else if (e.event === "tool_result") {
      summary.results.set(e.id, { ok: e.ok, output: e.output });
    }
  }
  return summary;
}

/**
 * Whether a log entry has its own row. With an agent, its stdout lines are the raw form of the
 * agent entries (kept, not repeated), and results and usage show inside their call and the header.
 */
export function shownInLog(entry: RunEventDto, hasAgent: boolean): boolean {
  if (!hasAgent) return true;
  if (entry.kind === "output") return !(entry.step === "agent" && !entry.stderr);
  if (entry.kind === "agent") return !["tool_result", "usage"].includes(entry.event.event);
  return true;
}
