// What the UI needs from the host. Components and controllers depend on this interface only,
// so they run under vitest (or in a browser) against a fake; `tauri.ts` is the real thing.
import type {
  AgentEventDto,
  ApiKeyDto,
  ApiError,
  CheckDto,
  CheckResultDto,
  CorralEvent,
  DiffAgainstDto,
  DiffLineDto,
  FileDetailDto,
  FileDiffDto,
  GraphRunDto,
  InboxItemDto,
  MergePreviewDto,
  NewCommentDto,
  NewTaskDto,
  OrchestrationDto,
  OrchestratorMessageDto,
  ProjectDto,
  QuestionAnswerDto,
  QuestionRequestDto,
  ReviewCommentDto,
  RunChangesDto,
  RunDto,
  RunEventDto,
  RunStreamDto,
  SettingsDto,
  TaskCardDto,
  TaskDto,
  TaskEditDto,
  ThemeDto,
  WorkflowDto,
} from "../bindings";

export type {
  AgentEventDto,
  ApiKeyDto,
  ApiError,
  CheckDto,
  CheckResultDto,
  CorralEvent,
  DiffAgainstDto,
  DiffLineDto,
  FileDetailDto,
  FileDiffDto,
  GraphRunDto,
  InboxItemDto,
  MergePreviewDto,
  NewCommentDto,
  NewTaskDto,
  OrchestrationDto,
  OrchestratorMessageDto,
  ProjectDto,
  QuestionAnswerDto,
  QuestionRequestDto,
  ReviewCommentDto,
  RunChangesDto,
  RunDto,
  RunEventDto,
  RunStreamDto,
  SettingsDto,
  TaskCardDto,
  TaskDto,
  TaskEditDto,
  ThemeDto,
  WorkflowDto,
};
export type { ErrorKind, RuntimeDto, TaskStatusDto, WakeReason } from "../bindings";

/** A command failed with a typed error from the engine. */
export class ApiFailure extends Error {
  constructor(readonly error: ApiError) {
    super(error.message);
  }

  get kind() {
    return this.error.kind;
  }

  /** The message with its fix, for a toast or an inline error. */
  get text() {
    return this.error.fix ? `${this.error.message}. Fix: ${this.error.fix}` : this.error.message;
  }
}

export interface Backend {
  doctor(): Promise<CheckDto[]>;
  listProjects(): Promise<ProjectDto[]>;
  addProject(source: string, name: string | null): Promise<ProjectDto>;
  updateProject(id: string, name: string, workflow: WorkflowDto): Promise<ProjectDto>;
  removeProject(id: string): Promise<void>;
  listTasks(projectId: string): Promise<TaskCardDto[]>;
  getTask(id: string): Promise<TaskDto>;
  getOrchestration(id: string): Promise<OrchestrationDto>;
  createTask(task: NewTaskDto): Promise<TaskDto>;
  updateTask(id: string, edit: TaskEditDto): Promise<TaskDto>;
  deleteTask(id: string): Promise<void>;
  addDependency(taskId: string, afterId: string): Promise<TaskDto>;
  removeDependency(taskId: string, afterId: string): Promise<TaskDto>;
  /** Where the project's graph run stands. */
  graphRun(projectId: string): Promise<GraphRunDto>;
  /** Run all: every task not yet finished runs, each once the tasks it runs after are. */
  runGraph(projectId: string): Promise<GraphRunDto>;
  /** Stop: nothing new starts; live runs go on. */
  stopGraph(projectId: string): Promise<GraphRunDto>;
  /** What waits on the user across projects: agents' questions, then proposed tasks. */
  inbox(): Promise<InboxItemDto[]>;
  /** Answers an agent's question, one answer per question; the agent goes on with it. */
  answerQuestion(id: string, answers: QuestionAnswerDto[]): Promise<void>;
  /** Lets a task an agent proposed run. */
  approveTask(id: string): Promise<TaskDto>;
  /** Refuses a task an agent proposed: it never runs. */
  rejectTask(id: string): Promise<TaskDto>;
  startRun(taskId: string): Promise<RunDto>;
  listRuns(taskId: string): Promise<RunDto[]>;
  getRun(id: string): Promise<RunDto>;
  /** The runs of the agents a run's agent consulted (ask_agent), oldest first. */
  runConsults(id: string): Promise<RunDto[]>;
  cancelRun(id: string): Promise<RunDto>;
  /** A new run on the same checkout and branch, resuming the agent's session with `message`. */
  followUpRun(id: string, message: string): Promise<RunDto>;
  /** Review comments on lines of a finished run's result, and a message, as one follow-up run. */
  reviewRun(id: string, comments: NewCommentDto[], message: string | null): Promise<RunDto>;
  /** The comments on a run's result, and those it was sent in (a follow-up). */
  reviewComments(id: string): Promise<ReviewCommentDto[]>;
  /** `force`: merge a run whose checks failed (its result was kept), as a person decided. */
  mergeRun(id: string, force: boolean): Promise<RunDto>;
  /** Sets aside a finished run whose checks failed: it leaves the inbox. */
  dismissRun(id: string): Promise<RunDto>;
  /** What Merge would do now: fast-forward, merge commit, squash, into which branch. */
  mergePreview(id: string): Promise<MergePreviewDto>;
  /** What the run changed, against its base (only its own work) or the project branch. */
  runDiff(id: string, against: DiffAgainstDto): Promise<RunChangesDto>;
  /** One file's diff with numbered lines; null when it has not changed. */
  runFileDiff(id: string, path: string, against: DiffAgainstDto): Promise<FileDetailDto | null>;
  /**
   * Streams the run's log: `Opened` (its timeline), the last stored entries, then live ones,
   * then `End`. Returns a function
   * that closes the stream.
   */
  followRun(id: string, onMessage: (message: RunStreamDto) => void): Promise<() => void>;
  /** Up to `limit` log entries before `before`, the latest ones, in order. */
  runLogBefore(id: string, before: number, limit: number): Promise<RunEventDto[]>;
  getSettings(): Promise<SettingsDto>;
  setTheme(theme: ThemeDto): Promise<void>;
  sendTestNotification(): Promise<boolean>;
  /** Which API keys Corral has (keychain or environment); never the values. */
  listApiKeys(): Promise<ApiKeyDto[]>;
  setApiKey(name: string, value: string): Promise<void>;
  deleteApiKey(name: string): Promise<void>;
  /** Native folder picker; null when cancelled. */
  pickFolder(): Promise<string | null>;
  /** Engine events; returns the unsubscribe function. */
  onEvent(handler: (event: CorralEvent) => void): Promise<() => void>;
}
