import { flushSync } from "svelte";
import { describe, expect, it } from "vitest";
import { ApiFailure as ApiFailureImpl, type ApiFailure } from "../api/backend";
import { FakeBackend } from "../testing/fake-backend";
import { AppController, RUN_LOG_LIMIT } from "./app.svelte";
import { checksFailed, mergeable } from "./runSession.svelte";

function setup() {
  const backend = new FakeBackend();
  const reported: { action: string; failure: ApiFailure }[] = [];
  const app = new AppController(backend, (action, failure) => reported.push({ action, failure }));
  return { backend, app, reported };
}

describe("AppController", () => {
  it("starts on the projects screen when there are none, and runs the doctor", async () => {
    const { app, backend } = setup();
    await app.start();
    expect(app.screen).toEqual({ name: "projects" });
    expect(app.health.checks).toHaveLength(1);
    expect(backend.calls).toContain("doctor");
  });

  it("opens the first project's board at start", async () => {
    const { app, backend } = setup();
    await backend.addProject("/repos/shop", null);
    await app.start();
    expect(app.screen).toEqual({ name: "board" });
    expect(app.currentProject?.name).toBe("shop");
  });

  it("remembers the Board / Graph switch, runs and stops the graph, and follows the engine's word", async () => {
    localStorage.removeItem("corral.projectView");
    const { app, backend } = setup();
    const project = await backend.addProject("/repos/shop", null);
    await app.start();
    expect(app.graph.view).toBe("board");
    app.graph.toggleView();
    expect(app.graph.view).toBe("graph");
    expect(localStorage.getItem("corral.projectView")).toBe("graph");
    expect(new AppController(backend, () => {}).graph.view).toBe("graph");
    expect(app.graph.running(project.id)).toBe(false);
    await app.graph.runAll(project.id);
    expect(backend.calls).toContain(`runGraph ${project.id}`);
    expect(app.graph.running(project.id)).toBe(true);
    // The scheduler ended the graph run: the engine says so.
    backend.graphRunning.delete(project.id);
    backend.emit({ type: "GraphRunChanged", project_id: project.id, running: false });
    await Promise.resolve();
    expect(app.graph.running(project.id)).toBe(false);
    await app.graph.runAll(project.id);
    await app.graph.stop(project.id);
    expect(backend.calls).toContain(`stopGraph ${project.id}`);
    expect(app.graph.running(project.id)).toBe(false);
    localStorage.removeItem("corral.projectView");
  });

  it("reports a failed add with the engine's kind and fix, and changes nothing", async () => {
    const { app, reported } = setup();
    await app.start();
    const result = await app.addProject("/tmp/plain", "");
    expect(result).toBeNull();
    expect(reported).toHaveLength(1);
    expect(reported[0].action).toBe("Adding the project");
    expect(reported[0].failure.kind).toBe("not_a_git_repo");
    expect(reported[0].failure.text).toBe("/tmp/plain is not a git repository. Fix: run `git init` there");
    expect(app.projects).toEqual([]);
  });

  it("creates tasks, groups them by status, and returns a cycle refusal for inline display", async () => {
    const { app, reported } = setup();
    await app.start();
    const project = await app.addProject("/repos/shop", "Shop");
    await app.openBoard(project!.id);
    const a = await app.createTask({ project_id: project!.id, title: "A", prompt: "", runtime: null, model: null, command: null, after: [], kind: "work" });
    const b = await app.createTask({ project_id: project!.id, title: "B", prompt: "", runtime: null, model: null, command: null, after: [a!.id], kind: "work" });
    flushSync();
    expect(app.columns.find((c) => c.status === "ready")?.tasks.map((t) => t.title)).toEqual(["A"]);
    expect(app.columns.find((c) => c.status === "backlog")?.tasks.map((t) => t.title)).toEqual(["B"]);

    const refusal = await app.addDependency(a!.id, b!.id);
    expect(refusal?.kind).toBe("dependency_cycle");
    expect(refusal?.text).toContain("A -> B -> A");
    expect(reported).toEqual([]); // inline, not a toast
  });

  it("reloads the board when the engine says a task of this project changed", async () => {
    const { app, backend } = setup();
    const project = await backend.addProject("/repos/shop", null);
    await app.start();
    const created = await backend.createTask({ project_id: project.id, title: "From the CLI", prompt: "", runtime: null, model: null, command: null, after: [], kind: "work" });
    backend.emit({ type: "TaskCreated", task: created });
    await new Promise((r) => setTimeout(r, 0));
    expect(app.tasks.map((t) => t.title)).toEqual(["From the CLI"]);
  });

  it("opens the run the user picked in the tray menu", async () => {
    const { app, backend } = setup();
    const project = await backend.addProject("/repos/shop", null);
    await app.start();
    const task = await backend.createTask({ project_id: project.id, title: "T", prompt: "", runtime: "custom", model: null, command: ["true"], after: [], kind: "work" });
    const run = await backend.startRun(task.id);
    backend.emit({ type: "OpenRun", run_id: run.id });
    await new Promise((r) => setTimeout(r, 0));
    expect(app.screen).toEqual({ name: "run", runId: run.id });
    expect(app.openRun?.id).toBe(run.id);
  });

  it("allows a blocked host in one step, once, keeping the rest of the workflow", async () => {
    const { app, backend } = setup();
    const project = await backend.addProject("/repos/shop", null);
    await app.start();
    // Two clicks at once: both hosts are kept.
    const both = [app.allowHost(project.id, "registry.npmjs.org"), app.allowHost(project.id, "pypi.org")];
    expect(await Promise.all(both)).toEqual([expect.anything(), expect.anything()]);
    expect(await app.allowHost(project.id, "registry.npmjs.org")).toBeTruthy();
    const saved = app.projects.find((p) => p.id === project.id);
    expect(saved?.workflow.allow_hosts).toEqual(["registry.npmjs.org", "pypi.org"]);
    expect(saved?.workflow.network).toBe("allowlist");
    expect(backend.calls.filter((c) => c.startsWith("updateProject"))).toHaveLength(2);
  });

  it("toggles the theme between light and dark", async () => {
    const { app } = setup();
    await app.settings.setTheme("dark");
    await app.settings.toggleTheme();
    expect(app.settings.theme).toBe("light");
  });
});

describe("AppController when the engine did not start", () => {
  it("shows the start-up error in place of the app instead of an empty screen", async () => {
    const { app, backend, reported } = setup();
    backend.listProjects = async () => {
      throw new ApiFailureImpl({ kind: "database_corrupt", message: "corral.db is not a SQLite database", fix: "move it aside" });
    };
    await app.start();
    expect(app.fatal?.kind).toBe("database_corrupt");
    expect(app.fatal?.text).toBe("corral.db is not a SQLite database. Fix: move it aside");
    expect(reported).toEqual([]);
  });
});

describe("AppController runs", () => {
  async function withTask() {
    const ctx = setup();
    const project = await ctx.backend.addProject("/repos/shop", null);
    const task = await ctx.backend.createTask({ project_id: project.id, title: "Hello", prompt: "", runtime: "custom", model: null, command: null, after: [], kind: "work" });
    await ctx.app.openBoard(project.id);
    await ctx.app.openTaskDetail(task.id);
    // Runs of the fake finish at once.
    const start = ctx.backend.startRun.bind(ctx.backend);
    ctx.backend.startRun = async (id: string) => {
      const run = await start(id);
      run.state = "succeeded";
      return run;
    };
    return { ...ctx, task };
  }

  async function until(check: () => boolean) {
    for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(check()).toBe(true);
  }

  it("starts a run from a task, follows its log to the end and loads the diff", async () => {
    const { app, backend, task } = await withTask();
    backend.log = [
      { kind: "note", seq: 1, at: 0, text: "queued" },
      { kind: "output", seq: 2, at: 0, step: "agent", stderr: false, line: "hello" },
    ];
    backend.diffs = [{ path: "hello.txt", status: "added", added: 1, removed: 0, binary: false, patch: "+hi\n", truncated: false }];
    const run = await app.startRun(task.id);
    expect(app.screen).toEqual({ name: "run", runId: run!.id });
    await until(() => app.runDiff !== null);
    expect(app.runLog.map((e) => e.seq)).toEqual([1, 2]);
    expect(app.runDiff?.map((f) => f.path)).toEqual(["hello.txt"]);
    // Against the project branch, the upstream work shows too; and back.
    backend.upstreamDiffs = [{ path: "upstream.txt", status: "added", added: 1, removed: 0, binary: false, patch: null, truncated: false }];
    await app.runSession!.setDiffAgainst("project_branch");
    expect(app.runDiff?.map((f) => f.path)).toEqual(["upstream.txt", "hello.txt"]);
    expect(backend.calls).toContain("runDiff project_branch");
    await app.runSession!.setDiffAgainst("run_base");
    expect(app.runDiff?.map((f) => f.path)).toEqual(["hello.txt"]);
    const merged = await app.mergeRun(run!.id);
    expect(merged?.merged_commit).toBe("abc123");
    expect(app.openRun?.merged_commit).toBe("abc123");
    await app.openTaskDetail(task.id);
    expect(app.taskRuns.map((r) => r.attempt)).toEqual([1]);
  });

  it("keeps Merge off a run whose checks failed until forced, and reloads the preview after a refused merge", async () => {
    const { app, backend, task } = await withTask();
    const run = await app.startRun(task.id);
    await until(() => app.runDiff !== null);
    const stored = await backend.getRun(run!.id);
    stored.state = "failed";
    stored.failure = { kind: "verify_failed", message: "checks failed: `test` (exited with 1)", fix: null };
    stored.result_commit = "abc";
    stored.checks = [
      { name: "test", command: "npm test", attempt: 3, outcome: "failed", exit_code: 1, duration_ms: 900, tail: "1 failed", how: "exited with 1" },
    ];
    await app.runSession!.refresh();
    expect(mergeable(app.openRun!)).toBe(true);
    expect(checksFailed(app.openRun!)).toBe(true);
    await until(() => app.runSession?.mergePreview?.how === "refused");
    expect(app.runSession?.mergePreview?.text).toContain("its checks failed");
    const previews = backend.calls.filter((c) => c.startsWith("mergePreview")).length;
    expect(await app.mergeRun(run!.id)).toBeNull();
    expect(backend.calls.filter((c) => c.startsWith("mergePreview")).length).toBe(previews + 1);
    const merged = await app.mergeRun(run!.id, true);
    expect(backend.calls).toContain(`mergeRun ${run!.id} force`);
    expect(merged?.merged_commit).toBe("abc123");
    expect(mergeable(app.openRun!)).toBe(false);
  });

  it("collects comments on lines across files, refuses an empty one, and sends them as one follow-up", async () => {
    const { app, backend, task, reported } = await withTask();
    const run = await app.startRun(task.id);
    await until(() => app.runDiff !== null);
    const session = app.runSession!;
    session.commentOn("src/cart.rs", 42, "let total = a * b;");
    session.commentOn("README.md", 1, "# Shop");
    session.commentOn("src/cart.rs", 42, "let total = a * b;"); // the same line: kept once
    expect(session.drafts.map((d) => `${d.path}:${d.line}`)).toEqual(["src/cart.rs:42", "README.md:1"]);
    session.editComment("src/cart.rs", 42, "Use checked_mul.");
    expect(await app.sendReview("")).toBeNull();
    expect(reported.at(-1)?.failure.message).toContain("README.md:1 has no text yet");
    session.removeComment("README.md", 1);
    backend.resultLines = { "src/cart.rs:42": "let total = a * b;" };
    const sent = await app.sendReview("Then run the tests.");
    expect(backend.calls).toContain(`reviewRun ${run!.id} 1 Then run the tests.`);
    expect(app.openRun?.id).toBe(sent!.id);
    expect(app.openRun?.follow_up_of).toBe(run!.id);
    await until(() => (app.runSession?.comments.length ?? 0) === 1);
    expect(app.runSession?.comments[0]).toMatchObject({ path: "src/cart.rs", line: 42, sent_in: sent!.id, code: "let total = a * b;" });
  });

  it("updates the open run and the task's runs from the run an event carries, without reloading them", async () => {
    const { app, backend, task } = await withTask();
    await app.start(); // listens to engine events
    await app.openTaskDetail(task.id);
    const run = await app.startRun(task.id);
    await until(() => app.runDiff !== null && app.openRun?.state === "succeeded");
    await new Promise((r) => setTimeout(r, 20)); // the stream's last refresh
    const calls = backend.calls.length;
    const failed = {
      ...run!,
      state: "failed" as const,
      failure: { kind: "docker_unreachable" as const, message: "the Docker daemon stopped answering", fix: "start Docker" },
    };
    Object.assign(run!, failed); // what the engine now stores
    backend.emit({ type: "RunChanged", project_id: task.project_id, task_id: task.id, run_id: run!.id, run: failed });
    await until(() => app.openRun?.state === "failed");
    expect(app.openRun?.failure?.kind).toBe("docker_unreachable");
    expect(app.taskRuns.find((r) => r.id === run!.id)?.state).toBe("failed");
    expect(backend.calls.slice(calls).filter((c) => c.startsWith("getRun") || c.startsWith("listRuns"))).toEqual([]);
  });

  it("knows how many files changed when the list holds only the first of them", async () => {
    const { app, backend, task } = await withTask();
    backend.diffs = [{ path: "many/f1", status: "added", added: 1, removed: 0, binary: false, patch: null, truncated: false }];
    backend.diffTotal = 12000;
    await app.startRun(task.id);
    await until(() => app.runDiff !== null);
    expect(app.runDiff?.length).toBe(1);
    expect(app.runDiffTotal).toBe(12000);
  });

  it("streams live entries, refreshes the changed files and the open file's diff when it changes", async () => {
    const { app, backend, task } = await withTask();
    backend.log = [{ kind: "note", seq: 1, at: 0, text: "queued" }];
    const run = await app.startRun(task.id);
    await until(() => app.runDiff !== null);
    expect(app.runDiff).toEqual([]);
    backend.diffs = [{ path: "src/a.rs", status: "added", added: 1, removed: 0, binary: false, patch: null, truncated: false }];
    backend.fileDiffs["src/a.rs"] = {
      path: "src/a.rs", old_path: null, status: "added", added: 1, removed: 0, binary: false, symlink: false, truncated: false,
      lines: [{ kind: "added", old: null, new: 1, text: "fn a() {}" }],
    };
    backend.pushLog({ kind: "file_changed", seq: 2, at: 0, path: "src/a.rs", change: "created", from: null, size: 10, link: null });
    expect(app.runLog.map((e) => e.seq)).toEqual([1, 2]);
    await until(() => (app.runDiff?.length ?? 0) === 1);
    await app.openFileDiff("src/a.rs");
    expect(app.fileDiff?.lines.map((l) => l.text)).toEqual(["fn a() {}"]);
    // The agent edits the open file again: its diff reloads by itself.
    backend.fileDiffs["src/a.rs"] = { ...backend.fileDiffs["src/a.rs"], added: 2, lines: [
      { kind: "added", old: null, new: 1, text: "fn a() {}" },
      { kind: "added", old: null, new: 2, text: "fn b() {}" },
    ] };
    backend.pushLog({ kind: "file_changed", seq: 3, at: 0, path: "src/a.rs", change: "modified", from: null, size: 20, link: null });
    await until(() => app.fileDiff?.lines.length === 2);
    expect(run).not.toBeNull();
    // Leaving the run view closes the stream.
    app.go({ name: "board" });
    backend.pushLog({ kind: "note", seq: 4, at: 0, text: "later" });
    expect(app.runLog.map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it("shows the live files-changed count on the task's card", async () => {
    const { app, backend, task } = await withTask();
    await app.start();
    backend.emit({ type: "FilesChanged", project_id: task.project_id, task_id: task.id, run_id: "r1", changed: 3 });
    await new Promise((r) => setTimeout(r, 0));
    expect(app.changedCounts[task.id]).toBe(3);
  });

  it("keeps at most RUN_LOG_LIMIT log entries in memory", async () => {
    const { app, backend, task } = await withTask();
    backend.log = Array.from({ length: RUN_LOG_LIMIT + 5000 }, (_, i) => ({
      kind: "output" as const,
      seq: i + 1,
      at: 0,
      step: "agent",
      stderr: false,
      line: `line ${i}`,
    }));
    backend.tail = RUN_LOG_LIMIT + 5000; // the whole log arrives: the view keeps the limit
    await app.startRun(task.id);
    await until(() => app.runDiff !== null);
    expect(app.runLog).toHaveLength(RUN_LOG_LIMIT);
    expect(app.runSession?.hasEarlier).toBe(true);
    expect(app.runLog.at(-1)?.seq).toBe(RUN_LOG_LIMIT + 5000);
  });

  it("opens a long log at its end with the whole timeline, and pages earlier lines in", async () => {
    const { app, backend, task } = await withTask();
    const lines = 1_000_000;
    backend.log = [
      { kind: "state_changed", seq: 1, at: 0, from: "queued", to: "preparing", reason: null, fail_kind: null },
      { kind: "state_changed", seq: 2, at: 0, from: "preparing", to: "running", reason: null, fail_kind: null },
      ...Array.from({ length: lines }, (_, i) => ({
        kind: "output" as const, seq: i + 3, at: 0, step: "agent", stderr: false, line: `line ${i}`,
      })),
      { kind: "state_changed", seq: lines + 3, at: 0, from: "running", to: "succeeded", reason: null, fail_kind: null },
    ];
    await app.startRun(task.id);
    await until(() => app.runDiff !== null);
    const session = app.runSession!;
    expect(session.log).toHaveLength(2000);
    expect(session.log.at(-1)?.seq).toBe(lines + 3);
    expect(session.timeline.map((e) => (e.kind === "state_changed" ? e.to : e.kind))).toEqual(["preparing", "running", "succeeded"]);
    expect(session.hasEarlier).toBe(true);
    await session.loadEarlier();
    expect(session.log).toHaveLength(4000);
    expect(session.log[0].seq).toBe(lines + 3 - 3999);
    expect(session.timeline.map((e) => (e.kind === "state_changed" ? e.to : e.kind))).toEqual(["preparing", "running", "succeeded"]);
    expect(backend.calls).toContain(`runLogBefore ${lines + 3 - 1999}`);
  });
});
