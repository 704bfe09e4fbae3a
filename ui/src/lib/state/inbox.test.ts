import { describe, expect, it } from "vitest";
import type { ApiFailure, InboxItemDto, QuestionRequestDto } from "../api/backend";
import { FakeBackend } from "../testing/fake-backend";
import { AppController } from "./app.svelte";
import { routeEvent } from "./events";
import { emptyDrafts, logLine, toAnswers, toggle } from "./inbox.svelte";

const request: QuestionRequestDto = {
  id: "q1",
  run_id: "r1",
  task_id: "t1",
  project_id: "p1",
  task_title: "Cart",
  project: "shop",
  questions: [
    { question: "Which database?", options: [{ label: "SQLite", description: null }, { label: "Postgres", description: "a server" }], multiple: false },
    { question: "Which tests?", options: [{ label: "unit", description: null }, { label: "e2e", description: null }], multiple: true },
  ],
  context: "The cart needs storage",
  asked_at: 0,
};

function setup(items: InboxItemDto[]) {
  const backend = new FakeBackend();
  backend.inboxItems = items;
  const reported: { action: string; failure: ApiFailure }[] = [];
  const app = new AppController(backend, (action, failure) => reported.push({ action, failure }));
  return { backend, app, reported };
}

describe("the inbox", () => {
  it("picks one option of a single-choice question and several of a multiple-choice one", () => {
    let [single, multiple] = emptyDrafts(request);
    single = toggle(toggle(single, "SQLite", false), "Postgres", false);
    expect(single.selected).toEqual(["Postgres"]);
    expect(toggle(single, "Postgres", false).selected).toEqual([]);
    multiple = toggle(toggle(multiple, "unit", true), "e2e", true);
    expect(multiple.selected).toEqual(["unit", "e2e"]);
    expect(toggle(multiple, "unit", true).selected).toEqual(["e2e"]);
  });

  it("sends nothing until every question has an answer; free text alone is one", () => {
    const [single, multiple] = emptyDrafts(request);
    expect(toAnswers([toggle(single, "SQLite", false), multiple])).toBe(
      "Question 2 has no answer yet: pick an option or write one.",
    );
    expect(toAnswers([toggle(single, "SQLite", false), { ...multiple, text: "  none yet " }])).toEqual([
      { selected: ["SQLite"], text: null },
      { selected: [], text: "none yet" },
    ]);
  });

  it("loads at start, answers a question and decides a proposed task, each leaving the inbox", async () => {
    const { app, backend, reported } = setup([
      { kind: "question", request },
      {
        kind: "proposed_task",
        project: "shop",
        task: {
          id: "t9",
          project_id: "p1",
          title: "Write the docs",
          runtime: null,
          model: null,
          status: "proposed",
          depends_on: [],
          dependents: [],
          stale_after: [],
          overlaps: [],
          created_by_run: "r1",
          progress: null,
      checks: [],
      subtasks_done: 0,
      subtasks_total: 0,
      kind: "work",
      parent: null,
        },
      },
    ]);
    backend.tasks.push({
      id: "t9",
      project_id: "p1",
      title: "Write the docs",
      prompt: "p",
      runtime: null,
      model: null,
      command: null,
      max_attempts: 1,
      status: "proposed",
      depends_on: [],
      dependents: [],
      stale_after: [],
      overlaps: [],
      created_by_run: "r1",
      progress: null,
      checks: [],
      kind: "work",
      parent: null,
      created_at: 0,
      updated_at: 0,
    });
    await app.start();
    expect(app.inbox.count).toBe(2);
    const answers = [
      { selected: ["SQLite"], text: null },
      { selected: ["unit"], text: "and one e2e" },
    ];
    expect(await app.inbox.answer(request, answers)).toBe(true);
    expect(backend.answers.q1).toEqual(answers);
    expect(app.inbox.count).toBe(1);
    // Answered elsewhere already: the engine's refusal is shown, nothing breaks.
    expect(await app.inbox.answer(request, answers)).toBe(false);
    expect(reported[0].failure.kind).toBe("request_closed");
    expect(await app.inbox.approve("t9")).toBe(true);
    expect(backend.calls).toContain("approveTask t9");
    expect(app.inbox.count).toBe(0);
  });

  it("follows the engine: InboxChanged reloads it, the tray's OpenInbox shows it", async () => {
    const { app, backend } = setup([]);
    await app.start();
    expect(app.inbox.count).toBe(0);
    backend.inboxItems = [{ kind: "question", request }];
    await routeEvent(app, { type: "InboxChanged", count: 1 });
    expect(app.inbox.count).toBe(1);
    await routeEvent(app, { type: "OpenInbox" });
    expect(app.screen).toEqual({ name: "inbox" });
    app.go({ name: "board" });
    await routeEvent(app, { type: "OpenQuestion", request_id: request.id });
    expect(app.screen).toEqual({ name: "inbox" });
    expect(app.inbox.focused).toBe(request.id);
  });

  it("shows a run's recent log as short lines", () => {
    expect(logLine({ kind: "progress", seq: 1, at: 0, text: "reading" })).toBe("~ reading");
    expect(logLine({ kind: "tool_call", seq: 2, at: 0, tool: "create_task", arguments: "{}", ok: false, result: "no" })).toBe(
      "! create_task",
    );
    expect(logLine({ kind: "note", seq: 3, at: 0, text: "hello" })).toBe("hello");
  });

  it("lists a run whose checks failed as a decision: run again or set aside, each leaving the inbox", async () => {
    const { app, backend } = setup([]);
    const project = await backend.addProject("/repos/shop", null);
    const task = await backend.createTask({ project_id: project.id, title: "Cart", prompt: "p", runtime: null, model: null, command: null, after: [], kind: "work" });
    const red = await backend.startRun(task.id);
    red.state = "failed";
    red.failure = { kind: "verify_failed", message: "checks failed: `test` (exited with 1)", fix: null };
    red.result_commit = "abc";
    const other = await backend.startRun(task.id);
    backend.inboxItems = [
      { kind: "checks_failed", run: red, task_title: "Cart", project: "shop" },
      { kind: "checks_failed", run: other, task_title: "Cart", project: "shop" },
    ];
    await app.inbox.load();
    expect(app.inbox.count).toBe(2);
    expect(await app.inbox.dismiss(red.id)).toBe(true);
    expect(backend.calls).toContain(`dismissRun ${red.id}`);
    expect(app.inbox.items.map((i) => (i.kind === "checks_failed" ? i.run.id : ""))).toEqual([other.id]);
    const runs = backend.runs.length;
    backend.inboxItems = [];
    expect(await app.inbox.runAgain(other)).toBe(true);
    expect(backend.runs.length).toBe(runs + 1);
    expect(app.inbox.count).toBe(0);
  });
});
