// The inbox: what waits on the user across projects (agents' questions, proposed tasks), and
// the answers and decisions sent from it.
import type { Backend, InboxItemDto, QuestionAnswerDto, QuestionRequestDto, RunDto, RunEventDto } from "../api/backend";
import type { Attempt } from "./attempt";

/** What the user has picked and written for one question, before sending. */
export type Draft = { selected: string[]; text: string };

export function emptyDrafts(request: QuestionRequestDto): Draft[] {
  return request.questions.map(() => ({ selected: [], text: "" }));
}

/** Picks (or unpicks) an option: one at a time for a single-choice question. */
export function toggle(draft: Draft, label: string, multiple: boolean): Draft {
  const picked = draft.selected.includes(label);
  if (multiple) {
    return { ...draft, selected: picked ? draft.selected.filter((l) => l !== label) : [...draft.selected, label] };
  }
  return { ...draft, selected: picked ? [] : [label] };
}

/** The drafts as answers, or why they cannot be sent yet (a question with no answer). */
export function toAnswers(drafts: Draft[]): QuestionAnswerDto[] | string {
  const missing = drafts.findIndex((d) => d.selected.length === 0 && d.text.trim() === "");
  if (missing >= 0) return `Question ${missing + 1} has no answer yet: pick an option or write one.`;
  return drafts.map((d) => ({ selected: d.selected, text: d.text.trim() === "" ? null : d.text.trim() }));
}

export class InboxController {
  items = $state<InboxItemDto[]>([]);
  /** Answers and decisions in flight, by item id: their buttons are disabled. */
  busy = $state<Record<string, boolean>>({});
  /** The question a notification was clicked for: shown first and marked. */
  focused = $state<string | null>(null);

  count = $derived(this.items.length);

  constructor(
    private readonly backend: Backend,
    private readonly attempt: Attempt,
  ) {}

  async load() {
    const items = await this.attempt("Loading the inbox", () => this.backend.inbox());
    if (items) this.items = items;
  }

  async #act(id: string, what: string, action: () => Promise<unknown>) {
    this.busy = { ...this.busy, [id]: true };
    const done = await this.attempt(what, action);
    this.busy = { ...this.busy, [id]: false };
    // Either way: answered here, or answered or closed elsewhere meanwhile.
    await this.load();
    return done !== null;
  }

  answer(request: QuestionRequestDto, answers: QuestionAnswerDto[]) {
    return this.#act(request.id, "Answering the question", () => this.backend.answerQuestion(request.id, answers));
  }

  approve(taskId: string) {
    return this.#act(taskId, "Approving the task", () => this.backend.approveTask(taskId));
  }

  /** The last lines of a question's run, for context. */
  async recentLog(runId: string): Promise<string[]> {
    const events = await this.attempt("Loading the run's log", () => this.backend.runLogBefore(runId, 2 ** 31, 40));
    return (events ?? []).map(logLine).filter((l): l is string => l !== null).slice(-8);
  }

  reject(taskId: string) {
    return this.#act(taskId, "Rejecting the task", () => this.backend.rejectTask(taskId));
  }

  /** A run whose checks failed: its task runs again (a fresh run; it leaves the inbox). */
  runAgain(run: RunDto) {
    return this.#act(run.id, "Running the task again", () => this.backend.startRun(run.task_id));
  }

  /** Sets aside a run whose checks failed: it leaves the inbox; its branch and log stay. */
  dismiss(runId: string) {
    return this.#act(runId, "Setting the run aside", () => this.backend.dismissRun(runId));
  }
}

/** A run's log entry as one short line for the inbox's "recent log", or null to skip it. */
export function logLine(e: RunEventDto): string | null {
  switch (e.kind) {
    case "note":
      return e.text;
    case "progress":
      return `~ ${e.text}`;
    case "state_changed":
      return `${e.from} → ${e.to}`;
    case "tool_call":
      return `${e.ok ? "" : "! "}${e.tool}`;
    case "agent":
      if (e.event.event === "assistant_text") return e.event.text;
      if (e.event.event === "tool_call") return `${e.event.name}`;
      return null;
    default:
      return null;
  }
}
