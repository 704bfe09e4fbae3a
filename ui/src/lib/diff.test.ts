import { describe, expect, it } from "vitest";
import type { DiffLineDto } from "./api/backend";
import { byFolder, sideBySide } from "./diff";

const line = (kind: string, old: number | null, nu: number | null, text: string): DiffLineDto => ({ kind, old, new: nu, text });

describe("side-by-side rows", () => {
  it("pairs a removed block with the added block after it and keeps context on both sides", () => {
    const rows = sideBySide([
      line("hunk", null, null, "@@ -1,3 +1,4 @@"),
      line("context", 1, 1, "a"),
      line("removed", 2, null, "b"),
      line("removed", 3, null, "c"),
      line("added", null, 2, "B"),
      line("added", null, 3, "C"),
      line("added", null, 4, "D"),
      line("context", 4, 5, "e"),
    ]);
    expect(rows[0].hunk).toBe("@@ -1,3 +1,4 @@");
    expect(rows[1].left?.text).toBe("a");
    expect(rows[1].right?.text).toBe("a");
    expect(rows.slice(2, 5).map((r) => [r.left?.text ?? null, r.right?.text ?? null])).toEqual([
      ["b", "B"],
      ["c", "C"],
      [null, "D"],
    ]);
    expect(rows[5].left?.old).toBe(4);
    expect(rows[5].right?.new).toBe(5);
  });

  it("lists files sorted with their folder split off", () => {
    expect(byFolder([{ path: "src/b.rs" }, { path: "README" }, { path: "src/a.rs" }]).map((f) => [f.folder, f.name])).toEqual([
      ["", "README"],
      ["src/", "a.rs"],
      ["src/", "b.rs"],
    ]);
  });
});
