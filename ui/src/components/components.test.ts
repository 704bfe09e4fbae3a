import { cleanup, fireEvent, render, screen } from "@testing-library/svelte";
import { tick } from "svelte";
import { afterEach, describe, expect, it } from "vitest";
import { AppController, appContext } from "../lib/state/app.svelte";
import { FakeBackend } from "../lib/testing/fake-backend";
import HealthBanner from "./HealthBanner.svelte";
import HealthScreen from "./HealthScreen.svelte";
import ProjectsScreen from "./ProjectsScreen.svelte";
import AgentEntry from "./AgentEntry.svelte";
import TaskCard from "./TaskCard.svelte";
import OrchestrationPanel from "./OrchestrationPanel.svelte";
import TaskCreateDialog from "./TaskCreateDialog.svelte";
import RunView from "./RunView.svelte";
import SettingsScreen from "./SettingsScreen.svelte";

afterEach(cleanup);

function app(backend = new FakeBackend()) {
  const reported: string[] = [];
  const controller = new AppController(backend, (action, f) => reported.push(`${action}: ${f.text}`));
  return { controller, backend, reported };
}

describe("HealthBanner", () => {
  it("is absent while every check passes and names failing checks otherwise", async () => {
    const { controller } = app();
    let fixed = 0;
    const { container } = render(HealthBanner, { props: { health: controller.health, onFix: () => fixed++ } });
    expect(container.querySelector('[role="alert"]')).toBeNull();
    controller.health.checks = [{ name: "docker", status: "fail", detail: "cannot reach the Docker daemon", fix: "start it" }];
    await tick();
    expect(screen.getByRole("alert").textContent).toContain("docker: cannot reach the Docker daemon");
    await fireEvent.click(screen.getByText("How to fix"));
    expect(fixed).toBe(1);
  });
});

describe("HealthScreen", () => {
  it("lists each check with its status and fix", async () => {
    const { controller, backend } = app();
    backend.checks = [
      { name: "docker", status: "fail", detail: "unreachable", fix: "start Docker" },
      { name: "git", status: "ok", detail: "git 2.47", fix: null },
    ];
    await controller.health.run();
    const { container } = render(HealthScreen, { props: { health: controller.health } });
    const docker = container.querySelector('[data-check="docker"]');
    expect(docker?.textContent).toContain("fail");
    expect(docker?.textContent).toContain("Fix: start Docker");
    expect(container.querySelector('[data-check="git"]')?.textContent).toContain("ok");
  });
});

describe("ProjectsScreen", () => {
  it("adds a project from the path field and opens its board", async () => {
    const { controller, backend } = app();
    render(ProjectsScreen, { context: appContext(controller) });
    const input = screen.getByPlaceholderText(/home\/me\/code/) as HTMLInputElement;
    await fireEvent.input(input, { target: { value: "/repos/shop" } });
    await fireEvent.submit(screen.getByTestId("add-project"));
    await new Promise((r) => setTimeout(r, 0));
    expect(backend.calls).toContain("addProject /repos/shop");
    expect(controller.screen).toEqual({ name: "board" });
    expect(controller.currentProject?.name).toBe("shop");
  });

  it("reports a folder that is not a repository and keeps the path for correction", async () => {
    const { controller, reported } = app();
    render(ProjectsScreen, { context: appContext(controller) });
    const input = screen.getByPlaceholderText(/home\/me\/code/) as HTMLInputElement;
    await fireEvent.input(input, { target: { value: "/tmp/plain" } });
    await fireEvent.submit(screen.getByTestId("add-project"));
    await new Promise((r) => setTimeout(r, 0));
    expect(reported).toEqual(["Adding the project: /tmp/plain is not a git repository. Fix: run `git init` there"]);
    expect(input.value).toBe("/tmp/plain");
  });
});

describe("TaskCard", () => {
  it("shows the title, runtime and what it runs after, and opens the task", async () => {
    const { controller, backend } = app();
    const project = await backend.addProject("/repos/shop", null);
    const a = await backend.createTask({ project_id: project.id, title: "Write docs", prompt: "", runtime: null, model: null, command: null, after: [], kind: "work" });
    const b = await backend.createTask({ project_id: project.id, title: "Ship", prompt: "", runtime: "codex", model: null, command: null, after: [a.id], kind: "work" });
    await controller.openBoard(project.id);
    const card = controller.tasks.find((t) => t.id === b.id)!;
    render(TaskCard, { props: { task: card }, context: appContext(controller) });
    const button = screen.getByTestId("task-card");
    expect(button.textContent).toContain("Ship");
    expect(button.textContent).toContain("Codex CLI");
    expect(button.textContent).toContain("after Write docs");
    await fireEvent.click(button);
    await new Promise((r) => setTimeout(r, 0));
    expect(controller.screen).toEqual({ name: "task", taskId: b.id });
  });

  it("says when another live run changed the same files and when newer upstream work is missing", async () => {
    const { controller, backend } = app();
    const project = await backend.addProject("/repos/shop", null);
    const a = await backend.createTask({ project_id: project.id, title: "Schema", prompt: "", runtime: null, model: null, command: null, after: [], kind: "work" });
    const b = await backend.createTask({ project_id: project.id, title: "Api", prompt: "", runtime: null, model: null, command: null, after: [a.id], kind: "work" });
    const c = await backend.createTask({ project_id: project.id, title: "Ui", prompt: "", runtime: null, model: null, command: null, after: [], kind: "work" });
    await controller.openBoard(project.id);
    const card = {
      ...controller.tasks.find((t) => t.id === b.id)!,
      stale_after: [a.id],
      overlaps: [{ run_id: "r-ui", task_id: c.id, path: "src/api.ts" }],
    };
    render(TaskCard, { props: { task: card }, context: appContext(controller) });
    expect(screen.getByTestId("card-overlap").textContent).toContain("overlaps Ui: src/api.ts");
    expect(screen.getByTestId("card-stale").textContent).toContain("stale: newer work of Schema");
  });
});

describe("Orchestrate tasks", () => {
  async function goalWithSubtasks() {
    const { controller, backend } = app();
    const project = await backend.addProject("/repos/shop", null);
    const goal = await backend.createTask({ project_id: project.id, title: "Goal", prompt: "make it", runtime: null, model: null, command: null, after: [], kind: "orchestrate" });
    for (const title of ["A", "B"]) {
      const sub = await backend.createTask({ project_id: project.id, title, prompt: "", runtime: null, model: null, command: null, after: [], kind: "work" });
      const stored = backend.tasks.find((t) => t.id === sub.id)!;
      stored.parent = goal.id;
      backend.statuses[sub.id] = title === "A" ? "review" : "running";
    }
    await controller.openBoard(project.id);
    return { controller, backend, goal };
  }

  it("shows an orchestrator as one card with its progress, which expands to its subtasks", async () => {
    const { controller, goal } = await goalWithSubtasks();
    // The subtasks are not cards of their own.
    expect(controller.columns.flatMap((c) => c.tasks).map((t) => t.title)).toEqual(["Goal"]);
    const card = controller.tasks.find((t) => t.id === goal.id)!;
    render(TaskCard, { props: { task: card }, context: appContext(controller) });
    expect(screen.getByTestId("card-subtasks").textContent).toContain("orchestrates: 1/2 done");
    expect(screen.queryByTestId("card-subtask-list")).toBeNull();
    await fireEvent.click(screen.getByTestId("card-expand"));
    const listed = screen.getAllByTestId("card-subtask").map((b) => `${b.dataset.title}:${b.dataset.status}`);
    expect(listed).toEqual(["A:review", "B:running"]);
    await fireEvent.click(screen.getAllByTestId("card-subtask")[1]);
    await new Promise((r) => setTimeout(r, 0));
    expect(controller.screen).toEqual({ name: "task", taskId: controller.tasks.find((t) => t.title === "B")!.id });
  });

  it("shows the orchestration's tokens against its budget and what the orchestrator said and was told", async () => {
    const { controller, backend, goal } = await goalWithSubtasks();
    backend.orchestrations[goal.id] = {
      run: null,
      tokens_used: 1500,
      budget_tokens: 2000,
      messages: [
        { kind: "said", at: 1, text: "A and B at once." },
        { kind: "woken", at: 2, reason: "subtasks_ended", message: "Your subtasks have ended (2 in all)." },
        { kind: "finished", at: 3, summary: "Both done." },
      ],
    };
    const task = await backend.getTask(goal.id);
    // The subtree graph draws with xyflow, which asks for what jsdom lacks.
    window.matchMedia ??= ((query: string) => ({ matches: false, media: query, addEventListener() {}, removeEventListener() {} })) as unknown as typeof window.matchMedia;
    globalThis.ResizeObserver ??= class {
      observe() {}
      unobserve() {}
      disconnect() {}
    };
    render(OrchestrationPanel, { props: { task }, context: appContext(controller) });
    await new Promise((r) => setTimeout(r, 0));
    await tick();
    expect(screen.getByTestId("orchestration-progress").textContent).toBe("1/2 done");
    expect(screen.getByTestId("orchestration-tokens").textContent).toContain("1,500 of 2,000 (orchestrate-budget-tokens)");
    const messages = screen.getAllByTestId("orchestration-message").map((m) => m.textContent ?? "");
    expect(messages[0]).toContain("A and B at once.");
    expect(messages[1]).toContain("Woken: its subtasks ended");
    expect(messages[1]).toContain("Your subtasks have ended (2 in all).");
    expect(messages[2]).toContain("Both done.");
    expect(screen.getByTestId("subtree-graph").querySelector('[data-testid="graph-view"]')?.getAttribute("data-tasks")).toBe("2");
  });
});

describe("TaskCreateDialog", () => {
  it("creates a custom task with its command line as an argument vector", async () => {
    const { controller, backend } = app();
    const project = await controller.addProject("/repos/shop", "");
    await controller.openBoard(project!.id);
    controller.createTaskOpen = true;
    render(TaskCreateDialog, { context: appContext(controller) });
    await tick();
    await fireEvent.input(document.getElementById("task-title") as HTMLInputElement, { target: { value: "Format" } });
    const runtime = document.getElementById("task-runtime") as HTMLSelectElement;
    await fireEvent.change(runtime, { target: { value: "custom" } });
    await tick();
    const submit = screen.getByTestId("create-task-submit") as HTMLButtonElement;
    expect(submit.disabled).toBe(true);
    const command = document.getElementById("task-command") as HTMLTextAreaElement;
    await fireEvent.input(command, { target: { value: "make fmt && git status" } });
    await tick();
    expect(submit.disabled).toBe(false);
    await fireEvent.click(submit);
    await new Promise((r) => setTimeout(r, 0));
    const task = backend.tasks.find((t) => t.title === "Format");
    expect(task?.runtime).toBe("custom");
    expect(task?.command).toEqual(["sh", "-c", "make fmt && git status"]);
  });
});

describe("AgentEntry", () => {
  it("folds a tool call with its input and result and marks a failure", async () => {
    const { container } = render(AgentEntry, {
      event: { event: "tool_call", id: "t1", name: "Bash", input: '{"command":"false"}', kind: "command" },
      result: { ok: false, output: "Exit code 1" },
      onOpenFile: () => {},
    });
    const tool = container.querySelector('[data-testid="agent-tool"]');
    expect(tool?.getAttribute("data-kind")).toBe("command");
    expect(tool?.textContent).toContain("Bash");
    expect(tool?.textContent).toContain("failed");
    expect(tool?.textContent).toContain("Exit code 1");
    expect(tool?.hasAttribute("open")).toBe(false);
  });

  it("renders assistant text as markdown and opens an edited file's diff", async () => {
    const opened: string[] = [];
    render(AgentEntry, { event: { event: "file_edit", path: "src/a.rs" }, result: undefined, onOpenFile: (p: string) => opened.push(p) });
    await fireEvent.click(screen.getByTestId("agent-file-edit"));
    expect(opened).toEqual(["src/a.rs"]);
    cleanup();
    render(AgentEntry, { event: { event: "assistant_text", text: "All **done**." }, result: undefined, onOpenFile: () => {} });
    expect(screen.getByTestId("agent-text").innerHTML).toContain("<strong>done</strong>");
  });
});

describe("RunView", () => {
  // jsdom has no layout, so no ResizeObserver; the virtualised log only needs it to exist.
  class NoResize {
    observe() {}
    unobserve() {}
    disconnect() {}
  }
  (window as unknown as { ResizeObserver: unknown }).ResizeObserver ??= NoResize;

  it("offers a follow-up under a finished agent run and opens the run that resumes it", async () => {
    const { controller, backend } = app();
    const project = await controller.addProject("/repos/shop", "");
    await controller.openBoard(project!.id);
    const task = await controller.createTask({
      project_id: project!.id, title: "Fix the cart", prompt: "Fix it", runtime: "claude-code", model: null, after: [], command: null, kind: "work",
    });
    const first = await backend.startRun(task!.id);
    Object.assign(first, { state: "succeeded", branch: "corral/fix-the-cart-1", agent_session_id: "s-1" });
    await controller.openRunView(first.id);
    render(RunView, { context: appContext(controller) });
    await tick();
    const send = screen.getByTestId("follow-up-send") as HTMLButtonElement;
    expect(send.disabled).toBe(true);
    await fireEvent.input(screen.getByTestId("follow-up-text"), { target: { value: "Also add a test" } });
    await tick();
    expect(send.disabled).toBe(false);
    await fireEvent.click(send);
    await new Promise((r) => setTimeout(r, 0));
    await tick();
    expect(backend.calls).toContain(`followUpRun ${first.id} Also add a test`);
    expect(controller.openRun?.follow_up_of).toBe(first.id);
    expect(controller.openRun?.branch).toBe("corral/fix-the-cart-1");
    expect(screen.getByTestId("follow-up-of").textContent).toContain("Also add a test");
    // The new run is live: no follow-up box until it has finished.
    expect(screen.queryByTestId("follow-up")).toBeNull();
  });

  it("lists the agents a run consulted under it, and a consult run links back to its asker", async () => {
    const { controller, backend } = app();
    const project = await controller.addProject("/repos/shop", "");
    await controller.openBoard(project!.id);
    const task = await controller.createTask({
      project_id: project!.id, title: "Add a cache", prompt: "Cache it", runtime: "claude-code", model: null, after: [], command: null, kind: "work",
    });
    const asking = await backend.startRun(task!.id);
    Object.assign(asking, { state: "running" });
    const consult = await backend.startRun(task!.id);
    Object.assign(consult, { state: "succeeded", consult_of: asking.id, consult_runtime: "codex", agent_session_id: "s-2" });
    await controller.openTaskDetail(task!.id);
    expect(controller.taskRuns.map((r) => r.id)).toEqual([asking.id]);
    await controller.openRunView(asking.id);
    render(RunView, { context: appContext(controller) });
    await tick();
    expect(screen.getByTestId("consults").textContent).toContain("codex");
    expect(screen.getByTestId("consults").textContent).toContain("succeeded");
    await fireEvent.click(screen.getByTestId("consult-link"));
    await until(() => controller.openRun?.id === consult.id);
    await tick();
    expect(screen.getByTestId("consult-of").textContent).toContain("the asking run");
    // A consult run has no result of its own: no merge, no run again, no follow-up.
    expect(screen.queryByTestId("merge-run")).toBeNull();
    expect(screen.queryByTestId("retry-run")).toBeNull();
    expect(screen.queryByTestId("follow-up")).toBeNull();
  });
});

describe("RunView merge", () => {
  it("says what Merge will do before the click, and disables it when it cannot", async () => {
    const { controller, backend } = app();
    const project = await controller.addProject("/repos/shop", "");
    await controller.openBoard(project!.id);
    const task = await controller.createTask({
      project_id: project!.id, title: "Fix the cart", prompt: "", runtime: "custom", model: null, after: [], command: ["true"], kind: "work",
    });
    const run = await backend.startRun(task!.id);
    Object.assign(run, { state: "succeeded", branch: "corral/fix-the-cart-1" });
    await controller.openRunView(run.id);
    render(RunView, { context: appContext(controller) });
    await tick();
    expect(screen.getByTestId("merge-preview").textContent).toContain("fast-forward `main`, in your working tree");
    expect((screen.getByTestId("merge-run") as HTMLButtonElement).disabled).toBe(false);
    cleanup();
    backend.mergeRefusal = "`main` has moved on since the run started (merge-style=ff-only)";
    await controller.openRunView(run.id);
    render(RunView, { context: appContext(controller) });
    await tick();
    expect(screen.getByTestId("merge-preview").dataset.how).toBe("refused");
    const merge = screen.getByTestId("merge-run") as HTMLButtonElement;
    expect(merge.disabled).toBe(true);
    expect(merge.title).toContain("ff-only");
  });
});

describe("RunView failures", () => {
  it("shows why a run failed and the fix its kind has", async () => {
    const { controller, backend } = app();
    const project = await controller.addProject("/repos/shop", "");
    await controller.openBoard(project!.id);
    const task = await controller.createTask({
      project_id: project!.id, title: "Build", prompt: "", runtime: "custom", model: null, after: [], command: ["make"], kind: "work",
    });
    const run = await backend.startRun(task!.id);
    Object.assign(run, {
      state: "failed",
      failure: {
        kind: "docker_unreachable",
        message: "the Docker daemon stopped answering while the agent step ran",
        fix: "start Docker (`corral doctor` checks it), then run the task again",
      },
    });
    await controller.openRunView(run.id);
    render(RunView, { context: appContext(controller) });
    await tick();
    const reason = screen.getByTestId("run-reason");
    expect(reason.textContent).toContain("stopped answering");
    expect(reason.dataset.kind).toBe("docker_unreachable");
    expect(screen.getByTestId("run-fix").textContent).toContain("start Docker");
    // A finished run offers running it again, not cancelling it.
    expect(screen.queryByTestId("cancel-run")).toBeNull();
    expect(screen.getByTestId("retry-run")).toBeTruthy();
  });
});

describe("SettingsScreen", () => {
  it("stores and removes API keys without ever showing a value", async () => {
    const { controller, backend } = app();
    const { container } = render(SettingsScreen, { props: { settings: controller.settings } });
    await until(() => screen.queryAllByTestId("key-status").length === 2);
    const row = () => container.querySelector('[data-key="ANTHROPIC_API_KEY"]') as HTMLElement;
    expect(row().querySelector('[data-testid="key-status"]')?.textContent?.trim()).toBe("Missing");
    const input = row().querySelector('[data-testid="key-input"]') as HTMLInputElement;
    expect(input.type).toBe("password");
    await fireEvent.input(input, { target: { value: "sk-ui-secret" } });
    await fireEvent.click(row().querySelector('[data-testid="key-save"]') as HTMLButtonElement);
    await until(() => row().querySelector('[data-testid="key-status"]')?.textContent?.trim() === "In the keychain");
    expect(backend.keychain.get("ANTHROPIC_API_KEY")).toBe("sk-ui-secret");
    expect((row().querySelector('[data-testid="key-input"]') as HTMLInputElement).value).toBe("");
    expect(container.innerHTML).not.toContain("sk-ui-secret");
    await fireEvent.click(row().querySelector('[data-testid="key-delete"]') as HTMLButtonElement);
    await until(() => row().querySelector('[data-testid="key-status"]')?.textContent?.trim() === "Missing");
    expect(backend.calls).toContain("deleteApiKey ANTHROPIC_API_KEY");
  });
});

async function until(check: () => boolean) {
  for (let i = 0; i < 100 && !check(); i++) {
    await new Promise((r) => setTimeout(r, 5));
    await tick();
  }
  expect(check()).toBe(true);
}
