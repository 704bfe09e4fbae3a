import { describe, expect, it } from "vitest";
import type { TaskCardDto } from "./api/backend";
import { blockedBy, dependencyEdges, layoutTasks, NODE_HEIGHT } from "./graphLayout";

const card = (id: string, status: TaskCardDto["status"], depends_on: string[] = []): TaskCardDto => ({
  id,
  project_id: "p",
  title: id.toUpperCase(),
  runtime: null,
  model: null,
  status,
  depends_on,
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

const diamond = () => [
  card("a", "review"),
  card("b", "failed", ["a"]),
  card("c", "running", ["a"]),
  card("d", "blocked", ["b", "c"]),
];

describe("the graph view's layout", () => {
  it("puts every task below the tasks it runs after, and the two branches side by side", () => {
    const at = layoutTasks(diamond());
    const y = (id: string) => at.get(id)!.y;
    expect(y("b")).toBeGreaterThanOrEqual(y("a") + NODE_HEIGHT);
    expect(y("c")).toBe(y("b"));
    expect(y("d")).toBeGreaterThanOrEqual(y("b") + NODE_HEIGHT);
    expect(at.get("b")!.x).not.toBe(at.get("c")!.x);
  });

  it("has an edge per dependency from the task that runs first, ignoring unknown tasks", () => {
    const edges = dependencyEdges([...diamond(), card("e", "ready", ["gone"])]);
    expect(edges.map((e) => `${e.source}->${e.target}`).sort()).toEqual(["a->b", "a->c", "b->d", "c->d"]);
  });

  it("says which upstream task blocks a blocked one, further up too", () => {
    const tasks = [...diamond(), card("e", "blocked", ["d"])];
    expect(blockedBy(tasks, "d")?.id).toBe("b");
    expect(blockedBy(tasks, "e")?.id).toBe("b");
    expect(blockedBy(tasks, "c")).toBeNull();
  });

  it("lays out 500 tasks", () => {
    const tasks: TaskCardDto[] = [];
    for (let i = 0; i < 500; i++) {
      const after = i === 0 ? [] : [`t${Math.floor(i / 3)}`, `t${Math.floor(i / 7)}`].filter((d, k, all) => all.indexOf(d) === k && d !== `t${i}`);
      tasks.push(card(`t${i}`, "ready", after));
    }
    const started = performance.now();
    const at = layoutTasks(tasks);
    const ms = performance.now() - started;
    console.log(`dagre laid out 500 tasks and ${dependencyEdges(tasks).length} dependencies in ${ms.toFixed(0)} ms (jsdom; the e2e measures the painted window)`);
    expect(at.size).toBe(500);
    for (const t of tasks) for (const d of t.depends_on) expect(at.get(t.id)!.y).toBeGreaterThan(at.get(d)!.y);
  });
});
