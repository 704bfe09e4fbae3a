// A custom task's command line is stored as an argument vector (never a shell string Corral
// builds). The form edits it either as one shell line, run as `sh -c <line>`, or as exact
// arguments, one per line.

export type CommandMode = "shell" | "args";

export interface CommandText {
  mode: CommandMode;
  text: string;
}

export function commandToText(argv: string[] | null): CommandText {
  if (!argv || argv.length === 0) return { mode: "shell", text: "" };
  if (argv.length === 3 && argv[0] === "sh" && argv[1] === "-c") return { mode: "shell", text: argv[2] };
  return { mode: "args", text: argv.join("\n") };
}

/** The argument vector, or null when nothing was given. */
export function textToCommand({ mode, text }: CommandText): string[] | null {
  if (mode === "shell") return text.trim() ? ["sh", "-c", text] : null;
  const args = text.split("\n").filter((line) => line.length > 0);
  return args.length > 0 ? args : null;
}
