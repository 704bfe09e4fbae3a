import { describe, expect, it } from "vitest";
import type { TaskCardDto } from "../api/backend";
import { COLUMNS, groupByStatus, parseEnv } from "./board";

const card = (id: string, status: TaskCardDto["status"]): TaskCardDto => ({
  id,
  project_id: "p",
  title: id,
  runtime: null,
  model: null,
  status,
  depends_on: [],
  dependents: [],
  stale_after: [],
  overlaps: [],
  created_by_run: null,
  progress: null,
      checks: [],
      subtasks_done: 0,
      subtasks_total: 0,
      kind: "work",
      parent: null,
});

describe("groupByStatus", () => {
  it("puts every task in its status column, keeping order, with every column present", () => {
    const columns = groupByStatus([card("a", "ready"), card("b", "backlog"), card("c", "ready")]);
    expect(columns.map((c) => c.status)).toEqual(COLUMNS.map((c) => c.status));
    expect(columns.find((c) => c.status === "ready")?.tasks.map((t) => t.id)).toEqual(["a", "c"]);
    expect(columns.find((c) => c.status === "backlog")?.tasks.map((t) => t.id)).toEqual(["b"]);
    expect(columns.find((c) => c.status === "done")?.tasks).toEqual([]);
  });
});

describe("parseEnv", () => {
  it("reads NAME=value lines and skips blanks", () => {
    expect(parseEnv("A=1\n\n B = x=y \n")).toEqual([
      { name: "A", value: "1" },
      { name: "B", value: " x=y" },
    ]);
  });

  it("names the bad line", () => {
    expect(parseEnv("A=1\nnope")).toBe('line 2: expected NAME=value, got "nope"');
  });
});
