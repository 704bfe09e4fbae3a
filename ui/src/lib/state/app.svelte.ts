// The app's state and actions, as a rune controller provided through context. Components read
// its fields and call its methods; all host access goes through the `Backend` it was given.
import { getContext } from "svelte";
import {
  ApiFailure,
  type Backend,
  type NewTaskDto,
  type OrchestrationDto,
  type ProjectDto,
  type RunDto,
  type TaskCardDto,
  type TaskDto,
  type TaskEditDto,
  type WorkflowDto,
} from "../api/backend";
import { type Attempt, asFailure, attempter, type ErrorReporter } from "./attempt";
import { groupByStatus } from "./board";
import { routeEvent } from "./events";
import { GraphController } from "./graph.svelte";
import { HealthController } from "./health.svelte";
import { InboxController } from "./inbox.svelte";
import { RunSession } from "./runSession.svelte";
import { SettingsController } from "./settings.svelte";

export type { ErrorReporter } from "./attempt";

export { RUN_LOG_LIMIT } from "./runSession.svelte";

export type Screen =
  | { name: "projects" }
  | { name: "project-settings"; projectId: string }
  | { name: "board" }
  | { name: "task"; taskId: string }
  | { name: "run"; runId: string }
  | { name: "health" }
  | { name: "inbox" }
  | { name: "settings" };


const KEY = Symbol("app");

/** Errors that mean the engine did not start: shown in place of the app, not as a toast. */
const FATAL_KINDS = new Set<string>([
  "engine_unavailable",
  "database_corrupt",
  "database_too_new",
  "data_dir_not_writable",
  "unsupported_database",
]);

export class AppController {
  screen = $state<Screen>({ name: "projects" });
  projects = $state<ProjectDto[]>([]);
  currentProjectId = $state<string | null>(null);
  tasks = $state<TaskCardDto[]>([]);
  openTask = $state<TaskDto | null>(null);
  paletteOpen = $state(false);
  createTaskOpen = $state(false);
  boardLoadedAt = $state<number | null>(null);
  taskRuns = $state<RunDto[]>([]);
  /** The open run view's run, log, changes and open file. */
  runSession = $state<RunSession | null>(null);
  /** Files changed per task, from the live runs' announcements (for the cards). */
  changedCounts = $state<Record<string, number>>({});
  /** Set when the engine could not start (corrupt database, unwritable data dir): nothing works. */
  fatal = $state<ApiFailure | null>(null);

  currentProject = $derived(this.projects.find((p) => p.id === this.currentProjectId) ?? null);
  /** The board's columns: subtasks are shown in their orchestrator's card, not on their own. */
  columns = $derived(groupByStatus(this.tasks.filter((t) => t.parent === null)));

  #unlisten: (() => void) | null = null;
  readonly health: HealthController;
  readonly settings: SettingsController;
  readonly graph: GraphController;
  readonly inbox: InboxController;

  // The open run's parts, read through its session.
  get openRun() {
    return this.runSession?.run ?? null;
  }
  get runLog() {
    return this.runSession?.log ?? [];
  }
  get runDiff() {
    return this.runSession?.diff ?? null;
  }
  get runDiffTotal() {
    return this.runSession?.diffTotal ?? 0;
  }
  get openFile() {
    return this.runSession?.openFile ?? null;
  }
  get fileDiff() {
    return this.runSession?.fileDiff ?? null;
  }

  constructor(
    private readonly backend: Backend,
    private readonly report: ErrorReporter,
  ) {
    this.#attempt = attempter(report);
    this.health = new HealthController(backend, this.#attempt);
    this.settings = new SettingsController(backend, this.#attempt);
    this.graph = new GraphController(backend, this.#attempt);
    this.inbox = new InboxController(backend, this.#attempt);
  }

  /** Runs an action; a failure is reported and returned as null. */
  #attempt: Attempt;

  async start() {
    this.#unlisten = await this.backend.onEvent((e) => void routeEvent(this, e));
    try {
      this.projects = await this.backend.listProjects();
    } catch (e) {
      const failure = asFailure(e);
      if (FATAL_KINDS.has(failure.kind)) {
        this.fatal = failure;
        return;
      }
      this.report("Loading projects", failure);
    }
    await this.settings.load();
    await this.inbox.load();
    if (this.projects.length > 0) await this.openBoard(this.projects[0].id);
    await this.health.run();
  }

  stop() {
    this.#unlisten?.();
  }

  /** A run of this task changed (the run comes with the event): update it in place. */
  updateTaskRun(taskId: string, run: RunDto) {
    // A consult run is listed under the run it answers, not as one of the task's runs.
    if (this.openTask?.id !== taskId || run.consult_of !== null) return;
    const known = this.taskRuns.some((r) => r.id === run.id);
    this.taskRuns = known ? this.taskRuns.map((r) => (r.id === run.id ? run : r)) : [run, ...this.taskRuns];
  }

  /** A project was removed: forget it if it was the current one. */
  forgetProject(id: string) {
    if (id === this.currentProjectId) {
      this.currentProjectId = null;
      this.tasks = [];
    }
  }

  go(screen: Screen) {
    if (screen.name !== "run") this.runSession?.dispose();
    this.screen = screen;
  }

  async loadProjects() {
    const projects = await this.#attempt("Loading projects", () => this.backend.listProjects());
    if (projects) this.projects = projects;
  }

  async loadTasks() {
    const id = this.currentProjectId;
    if (!id) return;
    const tasks = await this.#attempt("Loading tasks", () => this.backend.listTasks(id));
    if (tasks && id === this.currentProjectId) {
      this.tasks = tasks;
      this.boardLoadedAt = performance.now();
      if (this.graph.view === "graph") await this.graph.load(id);
    }
  }

  async openBoard(projectId: string) {
    if (projectId !== this.currentProjectId) {
      this.currentProjectId = projectId;
      this.tasks = [];
    }
    this.screen = { name: "board" };
    await this.loadTasks();
    if (this.graph.run?.project_id !== projectId) await this.graph.load(projectId);
  }

  /** Adds a project; returns it, or null after reporting why not. */
  async addProject(source: string, name: string) {
    const trimmed = source.trim();
    const project = await this.#attempt("Adding the project", () =>
      this.backend.addProject(trimmed, name.trim() || null),
    );
    if (project) await this.loadProjects();
    return project;
  }

  async pickFolder() {
    return this.#attempt("Choosing a folder", () => this.backend.pickFolder());
  }

  async saveProject(id: string, name: string, workflow: WorkflowDto) {
    const saved = await this.#attempt("Saving the project", () =>
      this.backend.updateProject(id, name, workflow),
    );
    if (saved) await this.loadProjects();
    return saved;
  }

  #allowing: Promise<unknown> = Promise.resolve();

  /** Adds `host` to the project's allowlist (it applies to the project's next runs). One at a
   * time: each builds on the project as the one before saved it. */
  allowHost(projectId: string, host: string): Promise<unknown> {
    const next = this.#allowing.then(async () => {
      const project = this.projects.find((p) => p.id === projectId);
      if (!project) return false;
      if (project.workflow.allow_hosts.includes(host)) return true;
      const workflow = { ...project.workflow, allow_hosts: [...project.workflow.allow_hosts, host] };
      return this.saveProject(project.id, project.name, workflow);
    });
    this.#allowing = next;
    return next;
  }

  async removeProject(id: string) {
    const done = await this.#attempt("Removing the project", async () => {
      await this.backend.removeProject(id);
      return true;
    });
    if (done) {
      if (this.currentProjectId === id) {
        this.currentProjectId = null;
        this.tasks = [];
      }
      await this.loadProjects();
      this.screen = { name: "projects" };
    }
    return done ?? false;
  }

  async createTask(task: NewTaskDto) {
    const created = await this.#attempt("Creating the task", () => this.backend.createTask(task));
    if (created) await this.loadTasks();
    return created;
  }

  async openTaskDetail(id: string) {
    const task = await this.#attempt("Opening the task", () => this.backend.getTask(id));
    if (task) {
      this.openTask = task;
      this.screen = { name: "task", taskId: id };
      await this.loadTaskRuns(id);
    }
  }

  async loadTaskRuns(taskId: string) {
    const runs = await this.#attempt("Loading runs", () => this.backend.listRuns(taskId));
    if (runs && this.openTask?.id === taskId) this.taskRuns = runs;
  }

  /** Starts a run of the task and opens its view. */
  async startRun(taskId: string) {
    const run = await this.#attempt("Starting the run", () => this.backend.startRun(taskId));
    if (run) await this.openRunView(run.id);
    return run;
  }

  async openRunView(id: string) {
    const run = await this.#attempt("Opening the run", () => this.backend.getRun(id));
    if (!run) return;
    this.runSession?.dispose();
    const session: RunSession = new RunSession(
      this.backend,
      this.report,
      run,
      () => this.screen.name === "run" && this.runSession === session,
    );
    this.runSession = session;
    this.screen = { name: "run", runId: id };
    await session.start();
  }

  /** Shows one file's diff in the run view. */
  async openFileDiff(path: string) {
    await this.runSession?.openFileDiff(path);
  }

  /** Merges the run; `force` merges one whose checks failed, as the person decided. */
  async mergeRun(id: string, force = false) {
    const run = await this.#attempt("Merging the run", () => this.backend.mergeRun(id, force));
    if (run) {
      this.runSession?.update(run);
      await this.loadTasks();
    } else {
      // Refused (changes in the way, the branch moved): what Merge would do now has changed.
      await this.runSession?.loadMergePreview();
    }
    return run;
  }

  /** Sends the open run's drafted comments and `message` to its agent as one follow-up; opens it. */
  async sendReview(message: string) {
    const session = this.runSession;
    if (!session) return null;
    const drafts = session.reviewToSend();
    if (typeof drafts === "string") {
      this.report("Sending the review", new ApiFailure({ kind: "invalid_input", message: drafts, fix: null }));
      return null;
    }
    const comments = drafts.map((d) => ({ path: d.path, line: d.line, text: d.text.trim() }));
    const run = await this.#attempt("Sending the review", () =>
      this.backend.reviewRun(session.id, comments, message.trim() === "" ? null : message.trim()),
    );
    if (run) {
      session.drafts = [];
      await this.openRunView(run.id);
    }
    return run;
  }

  /** Sends a message to a finished run's agent; opens the new run that resumes its session. */
  async followUpRun(id: string, message: string) {
    const run = await this.#attempt("Sending the follow-up", () => this.backend.followUpRun(id, message));
    if (run) await this.openRunView(run.id);
    return run;
  }

  async cancelRun(id: string) {
    const run = await this.#attempt("Cancelling the run", () => this.backend.cancelRun(id));
    if (run) this.runSession?.update(run);
  }

  /** An orchestrate task's page: its run, budget and conversation (`null` when it failed). */
  async loadOrchestration(taskId: string): Promise<OrchestrationDto | null> {
    return this.#attempt("Loading the orchestration", () => this.backend.getOrchestration(taskId));
  }

  /** The subtasks of an orchestrate task, as the board knows them. */
  subtasksOf(taskId: string): TaskCardDto[] {
    return this.tasks.filter((t) => t.parent === taskId);
  }

  async refreshOpenTask() {
    const id = this.openTask?.id;
    if (!id) return;
    try {
      this.openTask = await this.backend.getTask(id);
    } catch {
      // Deleted meanwhile: go back to the board.
      this.openTask = null;
      if (this.screen.name === "task") this.screen = { name: "board" };
    }
  }

  async updateTask(id: string, edit: TaskEditDto) {
    const task = await this.#attempt("Saving the task", () => this.backend.updateTask(id, edit));
    if (task) {
      this.openTask = task;
      await this.loadTasks();
    }
    return task;
  }

  async deleteTask(id: string) {
    const done = await this.#attempt("Deleting the task", async () => {
      await this.backend.deleteTask(id);
      return true;
    });
    if (done) {
      this.openTask = null;
      this.screen = { name: "board" };
      await this.loadTasks();
    }
  }

  /** Adds a dependency. A refusal (cycle, self) is returned for inline display, not toasted. */
  async addDependency(taskId: string, afterId: string): Promise<ApiFailure | null> {
    try {
      this.openTask = await this.backend.addDependency(taskId, afterId);
      await this.loadTasks();
      return null;
    } catch (e) {
      return asFailure(e);
    }
  }

  async removeDependency(taskId: string, afterId: string) {
    const task = await this.#attempt("Removing the dependency", () =>
      this.backend.removeDependency(taskId, afterId),
    );
    if (task) {
      this.openTask = task;
      await this.loadTasks();
    }
  }

  titleOf(taskId: string) {
    return this.tasks.find((t) => t.id === taskId)?.title ?? taskId;
  }
}

/** The context map `mount` takes, so the app (or a test) provides the controller. */
export function appContext(app: AppController) {
  return new Map<symbol, unknown>([[KEY, app]]);
}

export function useApp(): AppController {
  return getContext<AppController>(KEY);
}
