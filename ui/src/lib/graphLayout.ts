// The graph view's pure parts: a layered layout of the tasks (dagre), their dependency edges,
// and why a blocked task is blocked.
import dagre from "@dagrejs/dagre";
import type { TaskCardDto } from "./api/backend";

export const NODE_WIDTH = 220;
export const NODE_HEIGHT = 70;

export type Point = { x: number; y: number };

/** What a task's node in the graph view shows. */
export type TaskNodeData = {
  task: TaskCardDto;
  changed: number | undefined;
  /** For a blocked one: the failed or cancelled upstream task. */
  blockedBy: TaskCardDto | null;
  awaitingMerge: boolean;
};

/** An edge from the task that runs first (`source`) to the one that runs after it (`target`). */
export type DependencyEdge = { id: string; source: string; target: string };

export function dependencyEdges(tasks: TaskCardDto[]): DependencyEdge[] {
  const known = new Set(tasks.map((t) => t.id));
  return tasks.flatMap((t) =>
    t.depends_on
      .filter((after) => known.has(after))
      .map((after) => ({ id: `${after}->${t.id}`, source: after, target: t.id })),
  );
}

/** Top-left corner of each task's node: upstream tasks above the tasks that run after them. */
export function layoutTasks(tasks: TaskCardDto[]): Map<string, Point> {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "TB", nodesep: 30, ranksep: 60, marginx: 20, marginy: 20, ranker: "tight-tree" });
  g.setDefaultEdgeLabel(() => ({}));
  for (const t of tasks) g.setNode(t.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const e of dependencyEdges(tasks)) g.setEdge(e.source, e.target);
  dagre.layout(g);
  const positions = new Map<string, Point>();
  for (const t of tasks) {
    const n = g.node(t.id);
    positions.set(t.id, { x: n.x - NODE_WIDTH / 2, y: n.y - NODE_HEIGHT / 2 });
  }
  return positions;
}

/** For a blocked task: the upstream task (direct or further up) that failed or was cancelled. */
export function blockedBy(
  tasks: TaskCardDto[],
  taskId: string,
  byId: Map<string, TaskCardDto> = new Map(tasks.map((t) => [t.id, t])),
): TaskCardDto | null {
  const seen = new Set<string>();
  const queue = [...(byId.get(taskId)?.depends_on ?? [])];
  while (queue.length > 0) {
    const id = queue.shift()!;
    if (seen.has(id)) continue;
    seen.add(id);
    const t = byId.get(id);
    if (!t) continue;
    if (t.status === "failed" || t.status === "cancelled") return t;
    queue.push(...t.depends_on);
  }
  return null;
}
