import { describe, expect, it } from "vitest";
import { agentLine } from "./agent";

describe("agent log lines", () => {
  it("says what the agent did in one line and leaves raw lines to the output", () => {
    expect(agentLine({ event: "tool_call", id: "t1", name: "Write", input: '{"file_path":"a"}', kind: "file_edit" })).toBe(
      'Write {"file_path":"a"}',
    );
    expect(agentLine({ event: "tool_result", id: "t1", ok: false, output: "boom\nmore" })).toBe("failed boom…");
    expect(agentLine({ event: "usage", input_tokens: 10, output_tokens: 5, cost_usd: 0.0123 })).toBe("tokens in 10, out 5, $0.0123");
    expect(agentLine({ event: "raw", line: "{" })).toBeNull();
  });
});
