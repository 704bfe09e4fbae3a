import { describe, expect, it } from "vitest";
import { commandToText, textToCommand } from "./command";

describe("custom commands", () => {
  it("turns a shell line into sh -c with the line as one argument, untouched", () => {
    const line = `echo "a b" $(date) 'x' && make`;
    expect(textToCommand({ mode: "shell", text: line })).toEqual(["sh", "-c", line]);
    expect(commandToText(["sh", "-c", line])).toEqual({ mode: "shell", text: line });
  });

  it("keeps exact arguments one per line, spaces inside an argument included", () => {
    const argv = ["cargo", "test", "--", "name with spaces"];
    const text = commandToText(argv);
    expect(text.mode).toBe("args");
    expect(textToCommand(text)).toEqual(argv);
  });

  it("gives null for nothing, so a custom task without a command cannot be saved", () => {
    expect(textToCommand({ mode: "shell", text: "   " })).toBeNull();
    expect(textToCommand({ mode: "args", text: "\n\n" })).toBeNull();
    expect(commandToText(null)).toEqual({ mode: "shell", text: "" });
  });
});
