// One open run: its record, its log (opened at the end; earlier entries paged in as the user
// scrolls up), its state timeline, its changed files and the open file's diff. Made when a run
// view opens and disposed when it closes, so nothing of one run leaks into the next.
import {
  ApiFailure,
  type Backend,
  type DiffAgainstDto,
  type FileDetailDto,
  type FileDiffDto,
  type MergePreviewDto,
  type ReviewCommentDto,
  type RunDto,
  type RunEventDto,
  type RunStreamDto,
} from "../api/backend";

/** Log entries a run view keeps in memory; older ones are paged in again when scrolled to. */
export const RUN_LOG_LIMIT = 20_000;
/** Entries fetched per page when scrolling up. */
export const EARLIER_PAGE = 2_000;

export type StateChange = Extract<RunEventDto, { kind: "state_changed" }>;
/** What the timeline shows: state changes, and the attempts failed checks started. */
export type TimelineEntry = Extract<RunEventDto, { kind: "state_changed" } | { kind: "verify_retry" }>;

function asFailure(e: unknown): ApiFailure {
  return e instanceof ApiFailure ? e : new ApiFailure({ kind: "internal", message: String(e), fix: null });
}

function isStateChange(e: RunEventDto): e is StateChange {
  return e.kind === "state_changed";
}

function inTimeline(e: RunEventDto): e is TimelineEntry {
  return e.kind === "state_changed" || e.kind === "verify_retry";
}

/** A comment being written on a line of the run's result, before it is sent. */
export type DraftComment = { path: string; line: number; code: string; text: string };

/** A run Merge applies to: succeeded, or failed its checks with its result kept (merged only when forced). */
export function mergeable(run: RunDto): boolean {
  if (run.merged_commit || run.consult_of) return false;
  return run.state === "succeeded" || checksFailed(run);
}

/** The run failed its checks and its result was kept. */
export function checksFailed(run: RunDto): boolean {
  return run.state === "failed" && run.failure?.kind === "verify_failed" && run.result_commit !== null;
}

export class RunSession {
  run = $state<RunDto>() as RunDto;
  log = $state<RunEventDto[]>([]);
  /** The log has entries before the first one held (the stream opened at the end). */
  hasEarlier = $state(false);
  loadingEarlier = $state(false);
  /** State changes before the first entry held; with the ones in `log`, the whole timeline. */
  #timelineBefore = $state<TimelineEntry[]>([]);
  timeline = $derived([...this.#timelineBefore, ...this.log.filter(inTimeline)]);
  diff = $state<FileDiffDto[] | null>(null);
  /** The runs of the agents this run's agent consulted (ask_agent), shown under it. */
  consults = $state<RunDto[]>([]);
  /** Review comments kept with this run: on its result, or sent in it (a follow-up). */
  comments = $state<ReviewCommentDto[]>([]);
  /** Comments being written on lines of its result (across files), in the order added. */
  drafts = $state<DraftComment[]>([]);
  /** What Merge would do now (a succeeded run not merged yet). */
  mergePreview = $state<MergePreviewDto | null>(null);
  /** Every changed file, when `diff` holds only the first of them. */
  diffTotal = $state(0);
  /** The diff's base: the run's own (only its work) or the project branch (its upstream work too). */
  diffAgainst = $state<DiffAgainstDto>("run_base");
  /** The file whose diff the view shows, and that diff (null: unchanged or not loaded). */
  openFile = $state<string | null>(null);
  fileDiff = $state<FileDetailDto | null>(null);
  /** Milliseconds from opening until the log's end was shown (for the open-at-end check). */
  openedIn = $state<number | null>(null);
  #stop: (() => void) | null = null;
  #disposed = false;
  #opening = 0;
  #changesTimer: ReturnType<typeof setTimeout> | null = null;
  #pendingPaths = new Set<string>();

  constructor(
    private readonly backend: Backend,
    private readonly report: (action: string, failure: ApiFailure) => void,
    run: RunDto,
    /** Whether its view is still on screen: a hidden session stops streaming. */
    private readonly shown: () => boolean = () => true,
  ) {
    this.run = run;
  }

  get id() {
    return this.run.id;
  }

  /** Starts streaming the log and loads the changed files. */
  async start() {
    this.#opening = performance.now();
    try {
      this.#stop = await this.backend.followRun(this.id, (m) => this.#onStream(m));
      if (this.#disposed) this.#closeStream();
    } catch (e) {
      this.report("Following the run", asFailure(e));
    }
    await Promise.all([this.#loadChanges([]), this.#loadConsults(), this.loadMergePreview(), this.loadComments()]);
  }

  async loadComments() {
    try {
      const comments = await this.backend.reviewComments(this.id);
      if (!this.#disposed) this.comments = comments;
    } catch (e) {
      this.report("Loading the review comments", asFailure(e));
    }
  }

  /** Starts a comment on a line of the result (or keeps the one there). */
  commentOn(path: string, line: number, code: string) {
    if (this.drafts.some((d) => d.path === path && d.line === line)) return;
    this.drafts = [...this.drafts, { path, line, code, text: "" }];
  }

  editComment(path: string, line: number, text: string) {
    this.drafts = this.drafts.map((d) => (d.path === path && d.line === line ? { ...d, text } : d));
  }

  removeComment(path: string, line: number) {
    this.drafts = this.drafts.filter((d) => !(d.path === path && d.line === line));
  }

  /** The drafts to send, or why they cannot go yet (a comment with no text). */
  reviewToSend(): DraftComment[] | string {
    const empty = this.drafts.find((d) => d.text.trim() === "");
    if (empty) return `The comment on ${empty.path}:${empty.line} has no text yet: write it or remove it.`;
    return this.drafts;
  }

  /** Asks what Merge would do, for a succeeded run not merged yet (or one whose checks failed). */
  async loadMergePreview() {
    if (!mergeable(this.run)) {
      this.mergePreview = null;
      return;
    }
    try {
      const preview = await this.backend.mergePreview(this.id);
      if (!this.#disposed) this.mergePreview = preview;
    } catch (e) {
      this.report("Looking at the merge", asFailure(e));
    }
  }

  async #loadConsults() {
    try {
      const consults = await this.backend.runConsults(this.id);
      if (!this.#disposed) this.consults = consults;
    } catch (e) {
      this.report("Loading the consulted agents", asFailure(e));
    }
  }

  /** Stops everything this session started; its state is left as it was. */
  dispose() {
    this.#disposed = true;
    this.#closeStream();
    if (this.#changesTimer) clearTimeout(this.#changesTimer);
    this.#changesTimer = null;
  }

  /** The run changed (an engine event, an action's result). */
  update(run: RunDto) {
    if (run.id === this.id) {
      // A question to another agent starts a consult run (and moves this one).
      const changed = run.state !== this.run.state || run.merged_commit !== this.run.merged_commit;
      this.run = run;
      if (changed) void Promise.all([this.#loadConsults(), this.loadMergePreview()]);
    } else if (run.consult_of === this.id) {
      const known = this.consults.some((c) => c.id === run.id);
      this.consults = known ? this.consults.map((c) => (c.id === run.id ? run : c)) : [...this.consults, run];
    }
  }

  async refresh() {
    try {
      this.update(await this.backend.getRun(this.id));
    } catch {
      // Gone (its task was deleted): leave the view as it is.
    }
  }

  /** Pages in the entries before the first one held. */
  async loadEarlier() {
    if (!this.hasEarlier || this.loadingEarlier) return;
    const first = this.log[0]?.seq;
    if (first === undefined) return;
    this.loadingEarlier = true;
    try {
      const page = await this.backend.runLogBefore(this.id, first, EARLIER_PAGE);
      if (this.#disposed) return;
      // Live entries may have pushed the front of the log on meanwhile: the page fits only if
      // it ends right where the log now starts (otherwise the user scrolls up again).
      if ((this.log[0]?.seq ?? first) !== first) return;
      this.log = [...page, ...this.log];
      const firstNow = this.log[0]?.seq ?? 1;
      this.hasEarlier = page.length > 0 && firstNow > 1;
      // Those state changes are now in the log itself.
      this.#timelineBefore = this.#timelineBefore.filter((e) => e.seq < firstNow);
    } catch (e) {
      this.report("Loading earlier lines", asFailure(e));
    } finally {
      this.loadingEarlier = false;
    }
  }

  /** Switches what the diff is taken against and reloads it. */
  async setDiffAgainst(against: DiffAgainstDto) {
    if (against === this.diffAgainst) return;
    this.diffAgainst = against;
    await this.#loadChanges([]);
  }

  /** Shows one file's diff. */
  async openFileDiff(path: string) {
    this.openFile = path;
    try {
      const against = this.diffAgainst;
      const detail = await this.backend.runFileDiff(this.id, path, against);
      if (this.openFile === path && this.diffAgainst === against && !this.#disposed) this.fileDiff = detail;
    } catch (e) {
      this.report("Loading the diff", asFailure(e));
    }
  }

  /** Appends streamed entries, keeping at most RUN_LOG_LIMIT (the dropped ones can be paged in). */
  #append(events: RunEventDto[]) {
    const all = this.log.concat(events);
    const excess = all.length - RUN_LOG_LIMIT;
    if (excess > 0) {
      const dropped = all.slice(0, excess).filter(inTimeline);
      this.#timelineBefore = [...this.#timelineBefore, ...dropped];
      this.hasEarlier = true;
    }
    this.log = excess > 0 ? all.slice(excess) : all;
  }

  #onStream(message: RunStreamDto) {
    if (this.#disposed || !this.shown()) {
      this.#closeStream();
      return;
    }
    switch (message.type) {
      case "Opened":
        this.#timelineBefore = message.timeline.filter(inTimeline);
        this.hasEarlier = message.earlier;
        return;
      case "End":
        this.#closeStream();
        void this.refresh();
        void this.loadComments();
        void this.#loadChanges([]);
        return;
      case "Events": {
        this.#append(message.events);
        if (this.openedIn === null) this.openedIn = performance.now() - this.#opening;
        // A state change, or a check's result: the run record (its badges) moved on.
        if (message.events.some((e) => isStateChange(e) || e.kind === "check_ended")) void this.refresh();
        const touched = message.events.flatMap((e) => (e.kind === "file_changed" ? [e.path] : []));
        if (touched.length > 0) this.#scheduleChanges(touched);
      }
    }
  }

  #closeStream() {
    this.#stop?.();
    this.#stop = null;
  }

  /** Reloads the changed files (and the open file's diff when it changed), at most ~4 times a second. */
  #scheduleChanges(paths: string[]) {
    for (const p of paths) this.#pendingPaths.add(p);
    if (this.#changesTimer) return;
    this.#changesTimer = setTimeout(() => {
      this.#changesTimer = null;
      const touched = [...this.#pendingPaths];
      this.#pendingPaths.clear();
      void this.#loadChanges(touched);
    }, 250);
  }

  async #loadChanges(touched: string[]) {
    try {
      const against = this.diffAgainst;
      const changes = await this.backend.runDiff(this.id, against);
      // Switched meanwhile: the answer for the other base is dropped.
      if (this.#disposed || this.diffAgainst !== against) return;
      this.diff = changes.files;
      this.diffTotal = changes.total;
      const open = this.openFile;
      if (open && (touched.length === 0 || touched.includes(open))) await this.openFileDiff(open);
    } catch (e) {
      this.report("Loading the changed files", asFailure(e));
    }
  }
}
