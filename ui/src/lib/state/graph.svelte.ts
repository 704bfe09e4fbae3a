// The project's Board / Graph switch (remembered) and its graph run: Run all, Stop.
import type { Backend, GraphRunDto } from "../api/backend";
import type { Attempt } from "./attempt";

export type ProjectView = "board" | "graph";

const VIEW_KEY = "corral.projectView";

function rememberedView(): ProjectView {
  try {
    return globalThis.localStorage?.getItem(VIEW_KEY) === "graph" ? "graph" : "board";
  } catch {
    return "board";
  }
}

export class GraphController {
  view = $state<ProjectView>(rememberedView());
  run = $state<GraphRunDto | null>(null);

  constructor(
    private readonly backend: Backend,
    private readonly attempt: Attempt,
  ) {}

  setView(view: ProjectView) {
    this.view = view;
    try {
      globalThis.localStorage?.setItem(VIEW_KEY, view);
    } catch {
      // Storage unavailable: the switch still works for this session.
    }
  }

  toggleView() {
    this.setView(this.view === "board" ? "graph" : "board");
  }

  /** Whether the graph run of `projectId` is in progress, as last heard. */
  running(projectId: string) {
    return this.run?.project_id === projectId && this.run.running;
  }

  /** Answers can arrive out of order (events are handled concurrently): only the newest asked counts. */
  #asked = 0;

  async #apply(action: string, call: () => Promise<GraphRunDto>) {
    const asked = ++this.#asked;
    const run = await this.attempt(action, call);
    if (run && asked === this.#asked) this.run = run;
  }

  async load(projectId: string) {
    await this.#apply("Loading the graph run", () => this.backend.graphRun(projectId));
  }

  async runAll(projectId: string) {
    await this.#apply("Running the graph", () => this.backend.runGraph(projectId));
  }

  async stop(projectId: string) {
    await this.#apply("Stopping the graph", () => this.backend.stopGraph(projectId));
  }

  /** The engine said the graph run started or ended: that outdates any answer on its way. */
  changed(projectId: string, running: boolean) {
    this.#asked++;
    if (this.run?.project_id === projectId) this.run = { ...this.run, running };
  }
}
