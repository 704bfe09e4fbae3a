// An in-memory Backend for unit tests: real enough to exercise the controller and components
// (projects, tasks, dependencies with cycle refusal, events), with a call log.
import {
  ApiFailure,
  type Backend,
  type CheckDto,
  type CorralEvent,
  type DiffAgainstDto,
  type FileDetailDto,
  type FileDiffDto,
  type GraphRunDto,
  type MergePreviewDto,
  type OrchestrationDto,
  type TaskStatusDto,
  type InboxItemDto,
  type NewCommentDto,
  type NewTaskDto,
  type ProjectDto,
  type QuestionAnswerDto,
  type ReviewCommentDto,
  type RunDto,
  type RunEventDto,
  type RunStreamDto,
  type TaskDto,
  type WorkflowDto,
} from "../api/backend";

export const defaultWorkflow: WorkflowDto = {
  image: { kind: "default" },
  setup_command: null,
  verify_command: null,
  runtime: "claude-code",
  model: null,
  env: [],
  secret_names: [],
  memory_mib: 4096,
  cpus: 2,
  pids: 1024,
  network: "allowlist",
  allow_hosts: [],
  provider_tools: false,
  budget_tokens: null,
  sandbox: "docker",
  build_network: "bridge",
  max_concurrent_runs: 4,
  auto_run: false,
  chain_on: "success",
  merge_style: "merge",
  retention_runs: 20,
  retention_days: 7,
  inactivity_timeout_secs: 1800,
  verify_timeout_secs: 600,
  checks: [],
  verify_retries: 2,
  reviewer: null,
  max_subtasks: 12,
  orchestrate_budget_tokens: null,
  orchestrate_depth: 1,
  agent_permissions: "auto",
  max_file_mib: 50,
  agent_tasks: "propose",
  agent_task_limit: 20,
  ask_wait_secs: 50,
};

export class FakeBackend implements Backend {
  projects: ProjectDto[] = [];
  tasks: TaskDto[] = [];
  orchestrations: Record<string, OrchestrationDto> = {};
  /** A status a test gives a task (otherwise: ready, or backlog when it runs after others). */
  statuses: Record<string, TaskStatusDto> = {};
  /** What waits on the user; answers and decisions take items out. */
  inboxItems: InboxItemDto[] = [];
  answers: Record<string, QuestionAnswerDto[]> = {};
  checks: CheckDto[] = [{ name: "docker", status: "ok", detail: "Docker 20.10", fix: null }];
  calls: string[] = [];
  #listeners: ((e: CorralEvent) => void)[] = [];
  #next = 1;

  emit(event: CorralEvent) {
    for (const l of this.#listeners) l(event);
  }

  #fail(kind: ApiFailure["error"]["kind"], message: string, fix: string | null = null): never {
    throw new ApiFailure({ kind, message, fix });
  }

  #withStatus(task: TaskDto): TaskDto {
    const deps = task.depends_on.map((d) => this.tasks.find((t) => t.id === d));
    const status = this.statuses[task.id] ?? (deps.length === 0 ? "ready" : "backlog");
    const dependents = this.tasks.filter((t) => t.depends_on.includes(task.id)).map((t) => t.id);
    return { ...task, status, dependents };
  }

  async doctor() {
    this.calls.push("doctor");
    return this.checks;
  }
  async listProjects() {
    this.calls.push("listProjects");
    return this.projects;
  }
  async addProject(source: string, name: string | null) {
    this.calls.push(`addProject ${source}`);
    if (!source.startsWith("/repos/")) {
      this.#fail("not_a_git_repo", `${source} is not a git repository`, "run `git init` there");
    }
    const project: ProjectDto = {
      id: `p${this.#next++}`,
      name: name ?? source.split("/").pop() ?? source,
      source: { kind: "local", path: source },
      default_branch: "main",
      workflow: defaultWorkflow,
      created_at: 0,
    };
    this.projects.push(project);
    return project;
  }
  async updateProject(id: string, name: string, workflow: WorkflowDto) {
    this.calls.push(`updateProject ${id}`);
    const p = this.projects.find((x) => x.id === id) ?? this.#fail("project_not_found", "no project");
    Object.assign(p, { name, workflow });
    return p;
  }
  async removeProject(id: string) {
    this.calls.push(`removeProject ${id}`);
    this.projects = this.projects.filter((p) => p.id !== id);
  }
  async listTasks(projectId: string) {
    this.calls.push(`listTasks ${projectId}`);
    return this.tasks
      .filter((t) => t.project_id === projectId)
      .map((t) => {
        const subtasks = this.tasks.filter((s) => s.parent === t.id);
        const done = subtasks
          .map((s) => this.#withStatus(s).status)
          .filter((status) => status === "review" || status === "done").length;
        return { ...this.#withStatus(t), subtasks_done: done, subtasks_total: subtasks.length };
      });
  }
  async getOrchestration(id: string) {
    this.calls.push(`getOrchestration ${id}`);
    return this.orchestrations[id] ?? this.#fail("not_runnable", "not an orchestrate task");
  }
  async getTask(id: string) {
    const t = this.tasks.find((x) => x.id === id) ?? this.#fail("task_not_found", `no task ${id}`);
    return this.#withStatus(t);
  }
  async createTask(input: NewTaskDto) {
    this.calls.push(`createTask ${input.title}`);
    if (!input.title.trim()) this.#fail("invalid_input", "title must not be empty");
    const task: TaskDto = {
      id: `t${this.#next++}`,
      project_id: input.project_id,
      title: input.title,
      prompt: input.prompt,
      runtime: input.runtime,
      model: input.model,
      command: input.command,
      max_attempts: 1,
      status: "ready",
      depends_on: input.after,
      dependents: [],
      stale_after: [],
      overlaps: [],
      created_by_run: null,
      progress: null,
      checks: [],
      kind: input.kind,
      parent: null,
      created_at: 0,
      updated_at: 0,
    };
    this.tasks.push(task);
    return this.#withStatus(task);
  }
  async updateTask(id: string, edit: { title: string; prompt: string }) {
    const t = this.tasks.find((x) => x.id === id) ?? this.#fail("task_not_found", "no task");
    Object.assign(t, edit);
    return this.#withStatus(t);
  }
  async deleteTask(id: string) {
    this.tasks = this.tasks.filter((t) => t.id !== id);
  }
  async addDependency(taskId: string, afterId: string) {
    const task = this.tasks.find((x) => x.id === taskId) ?? this.#fail("task_not_found", "no task");
    const after = this.tasks.find((x) => x.id === afterId) ?? this.#fail("task_not_found", "no task");
    if (after.depends_on.includes(taskId)) {
      this.#fail(
        "dependency_cycle",
        `that dependency would create a cycle: ${task.title} -> ${after.title} -> ${task.title}`,
        "remove one of those dependencies first",
      );
    }
    task.depends_on = [...task.depends_on, afterId];
    return this.#withStatus(task);
  }
  async removeDependency(taskId: string, afterId: string) {
    const task = this.tasks.find((x) => x.id === taskId) ?? this.#fail("task_not_found", "no task");
    task.depends_on = task.depends_on.filter((d) => d !== afterId);
    return this.#withStatus(task);
  }
  graphRunning = new Set<string>();
  #graphRun(projectId: string): GraphRunDto {
    return { project_id: projectId, running: this.graphRunning.has(projectId), auto_run: false, awaiting_merge: [] };
  }
  async graphRun(projectId: string) {
    return this.#graphRun(projectId);
  }
  async runGraph(projectId: string) {
    this.calls.push(`runGraph ${projectId}`);
    this.graphRunning.add(projectId);
    return this.#graphRun(projectId);
  }
  async stopGraph(projectId: string) {
    this.calls.push(`stopGraph ${projectId}`);
    this.graphRunning.delete(projectId);
    return this.#graphRun(projectId);
  }
  runs: RunDto[] = [];
  log: RunEventDto[] = [];
  diffs: FileDiffDto[] = [];
  /** How many files changed in all, when more than `diffs` lists. */
  diffTotal: number | null = null;
  async inbox() {
    this.calls.push("inbox");
    return this.inboxItems;
  }
  async answerQuestion(id: string, answers: QuestionAnswerDto[]) {
    this.calls.push(`answerQuestion ${id}`);
    const known = this.inboxItems.some((i) => i.kind === "question" && i.request.id === id);
    if (!known) this.#fail("request_closed", "that question is answered already");
    this.answers[id] = answers;
    this.inboxItems = this.inboxItems.filter((i) => !(i.kind === "question" && i.request.id === id));
  }
  async dismissRun(id: string) {
    this.calls.push(`dismissRun ${id}`);
    this.inboxItems = this.inboxItems.filter((i) => !(i.kind === "checks_failed" && i.run.id === id));
    return this.getRun(id);
  }
  async approveTask(id: string) {
    this.calls.push(`approveTask ${id}`);
    this.inboxItems = this.inboxItems.filter((i) => !(i.kind === "proposed_task" && i.task.id === id));
    return this.getTask(id);
  }
  async rejectTask(id: string) {
    this.calls.push(`rejectTask ${id}`);
    this.inboxItems = this.inboxItems.filter((i) => !(i.kind === "proposed_task" && i.task.id === id));
    return this.getTask(id);
  }
  async startRun(taskId: string) {
    this.calls.push(`startRun ${taskId}`);
    const task = this.tasks.find((t) => t.id === taskId) ?? this.#fail("task_not_found", "no task");
    const run: RunDto = {
      id: `r${this.#next++}`,
      task_id: task.id,
      project_id: task.project_id,
      attempt: this.runs.filter((r) => r.task_id === taskId).length + 1,
      state: "queued",
      failure: null,
      branch: null,
      base_commit: null,
      result_commit: null,
      exit_code: null,
      merged_commit: null,
      created_at: 0,
      started_at: null,
      finished_at: null,
      sandbox: null,
      agent_session_id: null,
      follow_up_of: null,
      follow_up_message: null,
      consult_of: null,
      consult_runtime: null,
      verify_attempt: 1,
      checks: [],
    };
    this.runs.unshift(run);
    return run;
  }
  async followUpRun(id: string, message: string) {
    this.calls.push(`followUpRun ${id} ${message}`);
    const source = await this.getRun(id);
    if (!message.trim()) this.#fail("no_follow_up", "cannot follow up this run: the message is empty");
    const run = await this.startRun(source.task_id);
    run.branch = source.branch;
    run.agent_session_id = source.agent_session_id;
    run.follow_up_of = source.id;
    run.follow_up_message = message;
    return run;
  }
  /** Comments kept per review: what `reviewRun` was sent, and the code of each line. */
  reviewed: ReviewCommentDto[] = [];
  /** The code on each `path:line` of a run's result (a line not here is refused). */
  resultLines: Record<string, string> = {};
  async reviewRun(id: string, comments: NewCommentDto[], message: string | null) {
    this.calls.push(`reviewRun ${id} ${comments.length} ${message ?? ""}`);
    for (const c of comments) {
      if (!(`${c.path}:${c.line}` in this.resultLines)) this.#fail("invalid_input", `${c.path}:${c.line} is not a line of the run's result`);
    }
    const run = await this.followUpRun(id, message ?? "review");
    this.reviewed.push(
      ...comments.map((c) => ({ ...c, code: this.resultLines[`${c.path}:${c.line}`], by_agent_run: null, on_run: id, sent_in: run.id, outdated: false })),
    );
    return run;
  }
  async reviewComments(id: string) {
    this.calls.push(`reviewComments ${id}`);
    return this.reviewed.filter((c) => c.on_run === id || c.sent_in === id);
  }
  async listRuns(taskId: string) {
    this.calls.push(`listRuns ${taskId}`);
    return this.runs.filter((r) => r.task_id === taskId && r.consult_of === null);
  }
  async runConsults(id: string) {
    this.calls.push(`runConsults ${id}`);
    return this.runs.filter((r) => r.consult_of === id).reverse();
  }
  async getRun(id: string) {
    this.calls.push(`getRun ${id}`);
    return this.runs.find((r) => r.id === id) ?? this.#fail("run_not_found", `no run ${id}`);
  }
  async cancelRun(id: string) {
    const run = await this.getRun(id);
    run.state = "cancelled";
    return run;
  }
  /** Why Merge would be refused (`merge-style=ff-only` and a moved branch, say); none by default. */
  mergeRefusal: string | null = null;
  async mergePreview(id: string): Promise<MergePreviewDto> {
    this.calls.push(`mergePreview ${id}`);
    const run = await this.getRun(id);
    if (this.mergeRefusal) return { into: "main", how: "refused", reason: this.mergeRefusal, in_working_tree: false, text: `cannot merge: ${this.mergeRefusal}` };
    if (run.merged_commit) return { into: "main", how: "already_merged", reason: null, in_working_tree: true, text: "`main` holds this result already" };
    if (run.state === "failed" && run.failure?.kind === "verify_failed") {
      const reason = `its checks failed (${run.failure.message}); review it, then merge anyway`;
      return { into: "main", how: "refused", reason, in_working_tree: false, text: `cannot merge: ${reason}` };
    }
    if (run.state !== "succeeded") return { into: "main", how: "refused", reason: `the run is ${run.state}`, in_working_tree: false, text: `cannot merge: the run is ${run.state}` };
    return { into: "main", how: "fast_forward", reason: null, in_working_tree: true, text: "fast-forward `main`, in your working tree with your git" };
  }
  async mergeRun(id: string, force: boolean) {
    this.calls.push(`mergeRun ${id}${force ? " force" : ""}`);
    const run = await this.getRun(id);
    const red = run.state === "failed" && run.failure?.kind === "verify_failed";
    if (red && !force) this.#fail("not_mergeable", "its checks failed; merge anyway with --force");
    if (run.state !== "succeeded" && !(red && force)) this.#fail("not_mergeable", "only a succeeded run can be merged");
    run.merged_commit = "abc123";
    return run;
  }
  /** Files the project-branch diff adds (the upstream work). */
  upstreamDiffs: FileDiffDto[] = [];
  async runDiff(_id: string, against: DiffAgainstDto) {
    this.calls.push(`runDiff ${against}`);
    const files = against === "project_branch" ? [...this.upstreamDiffs, ...this.diffs] : this.diffs;
    return { files, total: this.diffTotal ?? files.length };
  }
  fileDiffs: Record<string, FileDetailDto> = {};
  async runFileDiff(_id: string, path: string, _against: DiffAgainstDto) {
    return this.fileDiffs[path] ?? null;
  }
  #streams: ((m: RunStreamDto) => void)[] = [];
  /** Entries a stream opens with, like the engine's (the rest come from `runLogBefore`). */
  tail = 2000;
  /** Opens at the end of `log`, then keeps the stream open for `pushLog` until `endStreams`. */
  async followRun(_id: string, onMessage: (m: RunStreamDto) => void) {
    this.calls.push("followRun");
    const tail = this.log.slice(-this.tail);
    const first = tail[0]?.seq ?? Infinity;
    const timeline = this.log.filter((e) => e.kind === "state_changed" && e.seq < first);
    onMessage({ type: "Opened", timeline, earlier: first !== Infinity && first > 1 });
    onMessage({ type: "Events", events: tail });
    this.#streams.push(onMessage);
    return () => {
      this.#streams = this.#streams.filter((s) => s !== onMessage);
    };
  }
  async runLogBefore(_id: string, before: number, limit: number) {
    this.calls.push(`runLogBefore ${before}`);
    return this.log.filter((e) => e.seq < before).slice(-limit);
  }
  /** A live entry arriving on every open stream. */
  pushLog(...events: RunEventDto[]) {
    this.log.push(...events);
    for (const stream of this.#streams) stream({ type: "Events", events });
  }
  endStreams() {
    for (const stream of this.#streams) stream({ type: "End" });
    this.#streams = [];
  }
  async getSettings() {
    return { theme: "system" as const, data_dir: "/data" };
  }
  async setTheme() {}
  async sendTestNotification() {
    return false;
  }
  /** Stands in for the OS keychain: names to values (the values never leave this object). */
  keychain = new Map<string, string>();
  async listApiKeys() {
    return [
      { name: "ANTHROPIC_API_KEY", runtimes: ["claude-code" as const] },
      { name: "OPENAI_API_KEY", runtimes: ["codex" as const] },
    ].map((k) => ({ ...k, source: this.keychain.has(k.name) ? "keychain" : null }));
  }
  async setApiKey(name: string, value: string) {
    this.calls.push(`setApiKey ${name}`);
    if (!value.trim()) this.#fail("keychain", `the value for ${name} is empty`);
    this.keychain.set(name, value);
  }
  async deleteApiKey(name: string) {
    this.calls.push(`deleteApiKey ${name}`);
    this.keychain.delete(name);
  }
  async pickFolder() {
    return "/repos/picked";
  }
  async onEvent(handler: (e: CorralEvent) => void) {
    this.#listeners.push(handler);
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== handler);
    };
  }
}
