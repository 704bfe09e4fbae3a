// Turning a file's numbered diff lines into the rows of the side-by-side view: context on both
// sides, a block of removed lines paired with the block of added lines that follows it.
import type { DiffLineDto } from "./api/backend";

export interface SideRow {
  /** A hunk header spans both sides. */
  hunk: string | null;
  left: DiffLineDto | null;
  right: DiffLineDto | null;
}

export function sideBySide(lines: DiffLineDto[]): SideRow[] {
  const rows: SideRow[] = [];
  let removed: DiffLineDto[] = [];
  let added: DiffLineDto[] = [];
  const flush = () => {
    for (let i = 0; i < Math.max(removed.length, added.length); i++) {
      rows.push({ hunk: null, left: removed[i] ?? null, right: added[i] ?? null });
    }
    removed = [];
    added = [];
  };
  for (const line of lines) {
    if (line.kind === "removed") {
      // A removal after additions starts a new block.
      if (added.length > 0) flush();
      removed.push(line);
    } else if (line.kind === "added") {
      added.push(line);
    } else {
      flush();
      if (line.kind === "hunk") rows.push({ hunk: line.text, left: null, right: null });
      else rows.push({ hunk: null, left: line, right: line });
    }
  }
  flush();
  return rows;
}

/** Changed files as a sorted list with their folder, for the files panel. */
export function byFolder<T extends { path: string }>(files: T[]): { folder: string; name: string; file: T }[] {
  return [...files]
    .sort((a, b) => a.path.localeCompare(b.path))
    .map((file) => {
      const cut = file.path.lastIndexOf("/");
      return { folder: cut >= 0 ? file.path.slice(0, cut + 1) : "", name: file.path.slice(cut + 1), file };
    });
}
