// One line of text for an agent event in the run log (the full rendering with folded tool
// calls and markdown comes with the agent run view).
import type { AgentEventDto } from "./api/backend";

function first(text: string, max = 160) {
  const line = text.split("\n")[0] ?? "";
  return line.length > max || text.includes("\n") ? `${line.slice(0, max)}…` : line;
}

export function agentLine(event: AgentEventDto): string | null {
  switch (event.event) {
    case "session_started":
      return `session ${event.session_id}`;
    case "assistant_text":
      return event.text;
    case "thinking":
      return `thinking: ${first(event.text)}`;
    case "tool_call":
      return `${event.name} ${first(event.input)}`;
    case "tool_result":
      return `${event.ok ? "ok" : "failed"} ${first(event.output)}`;
    case "file_edit":
      return `edited ${event.path}`;
    case "usage":
      return `tokens in ${event.input_tokens}, out ${event.output_tokens}${event.cost_usd !== null ? `, $${event.cost_usd.toFixed(4)}` : ""}`;
    case "error":
      return `error: ${event.message}`;
    case "finished":
      return event.ok ? "finished" : "finished with an error";
    case "raw":
      return null;
  }
}
