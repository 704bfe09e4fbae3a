// The first-run scenario from the desktop-app issue, step by step, each with a screenshot.
import { execFileSync, spawn } from "node:child_process";
import readline from "node:readline";
import fs from "node:fs";
import path from "node:path";
import { browser, $, $$, expect } from "@wdio/globals";
import { fakeNotifications, screenshotDir } from "../wdio.conf.js";
import { startModelServer } from "../model-server.js";
import { makeRepo } from "../git-repo.js";

const work = process.env.CORRAL_E2E_WORKDIR;

function gitRepo(name) {
  return makeRepo(path.join(work, name));
}

async function shot(name) {
  await browser.pause(250); // let transitions settle
  await browser.saveScreenshot(path.join(screenshotDir, `${name}.png`));
}

/**
 * The session's notification service, for one test: `shown` holds what the app asked it to show
 * (id, title, body, actions); `invoke(id, key)` clicks an action, as a person would.
 */
async function notificationService() {
  const child = spawn(fakeNotifications, [], { stdio: ["pipe", "pipe", "inherit"] });
  const shown = [];
  const lines = readline.createInterface({ input: child.stdout });
  await new Promise((resolve, reject) => {
    child.on("error", reject);
    lines.on("line", (line) => {
      if (line === "ready") resolve();
      else shown.push(JSON.parse(line));
    });
  });
  return {
    shown,
    invoke: (id, key) => child.stdin.write(`invoke ${id} ${key}\n`),
    stop: () => child.kill(),
  };
}

async function addProject(source) {
  const input = await $("#project-path");
  await input.waitForDisplayed();
  await input.setValue(source);
  await $('[data-testid="add-project-submit"]').click();
}

async function createTask(title, prompt, after = []) {
  await $('[data-testid="new-task"]').click();
  const dialog = await $('[data-testid="create-task-dialog"]');
  await dialog.waitForDisplayed();
  await $("#task-title").setValue(title);
  await $("#task-prompt").setValue(prompt);
  for (const dep of after) {
    await $(`input[type="checkbox"][data-title="${dep}"]`).click();
  }
  await $('[data-testid="create-task-submit"]').click();
  await dialog.waitForDisplayed({ reverse: true });
}

async function createTaskWith(title, prompt, runtime) {
  await $('[data-testid="new-task"]').click();
  const dialog = await $('[data-testid="create-task-dialog"]');
  await dialog.waitForDisplayed();
  await $("#task-title").setValue(title);
  await $("#task-prompt").setValue(prompt);
  await $("#task-runtime").selectByAttribute("value", runtime);
  await $('[data-testid="create-task-submit"]').click();
  await dialog.waitForDisplayed({ reverse: true });
}

function card(title) {
  return $(`[data-testid="task-card"][data-title="${title}"]`);
}

describe("Corral's first run", () => {
  it("starts empty on the projects screen", async () => {
    await $("h1=Projects").waitForDisplayed({ timeout: 30000 });
    await expect($$('[data-testid="project-item"]')).toBeElementsArrayOfSize(0);
    await shot("01-empty");
  });

  it("adds a project through the path field and opens its board", async () => {
    const repo = gitRepo("demo shop");
    await addProject(repo);
    await $("h1=demo shop").waitForDisplayed();
    await expect($('[data-testid="board"]')).toBeDisplayed();
    await shot("02-project-added");
  });

  it("creates A and B (B after A) and shows them in the right columns", async () => {
    await createTask("A", "Write the **first** part.");
    await createTask("B", "Then the second part.", ["A"]);
    await card("A").waitForDisplayed();
    await card("B").waitForDisplayed();
    await expect($('[data-testid="column-ready"]').$('[data-testid="task-card"][data-title="A"]')).toBeDisplayed();
    await expect($('[data-testid="column-backlog"]').$('[data-testid="task-card"][data-title="B"]')).toBeDisplayed();
    await shot("03-board");
  });

  it("refuses A after B and shows the cycle inline", async () => {
    await card("A").click();
    await $("h1=A").waitForDisplayed();
    await expect($(".markdown strong")).toHaveText("first");
    const select = await $('[data-testid="dependency-select"]');
    await select.selectByVisibleText("B");
    await $('[data-testid="add-dependency"]').click();
    const error = await $('[data-testid="dependency-error"]');
    await error.waitForDisplayed();
    await expect(error).toHaveText(expect.stringContaining("cycle: A -> B -> A"));
    await shot("04-cycle-refused");
  });

  it("shows a toast with the clear message for a folder that is not a git repository", async () => {
    await $('[data-testid="nav-projects"]').click();
    const plain = path.join(work, "not a repo");
    fs.mkdirSync(plain, { recursive: true });
    await addProject(plain);
    const toast = await $("[data-sonner-toast]");
    await toast.waitForDisplayed();
    await expect(toast).toHaveText(expect.stringContaining("is not a git repository"));
    await shot("05-not-a-repo-toast");
  });

  it("opens the command palette and navigates with it", async () => {
    await browser.keys(["Control", "k"]);
    const palette = await $('[data-testid="command-palette"]');
    await palette.waitForDisplayed();
    await $('[data-testid="palette-input"]').setValue("Health");
    await shot("06-palette");
    await browser.keys(["Enter"]);
    await palette.waitForDisplayed({ reverse: true });
    await $("h1=Health").waitForDisplayed();
  });

  it("shows Docker's status on the health screen", async () => {
    const docker = await $('[data-check="docker"]');
    await docker.waitForDisplayed();
    // CI runs a real Docker daemon, so the check passes there.
    await expect(docker.$(".badge")).toHaveText("ok");
    await expect(docker).toHaveText(expect.stringContaining("Docker"));
    await shot("07-health");
  });

  it("survives a test notification with no notification service", async () => {
    await browser.keys(["Control", ","]);
    await $("h1=Settings").waitForDisplayed();
    // The API keys the runtimes read are listed with where they come from, never a value.
    const anthropic = await $('[data-key="ANTHROPIC_API_KEY"]');
    await anthropic.waitForDisplayed();
    await expect(anthropic.$('[data-testid="key-status"]')).toHaveText(
      expect.stringMatching(/Missing|From the environment|In the keychain/),
    );
    await $('[data-testid="test-notification"]').click();
    await browser.waitUntil(async () => {
      const texts = await $$("[data-sonner-toast]").map((t) => t.getText());
      return texts.some((t) => t.includes("No notification service answered"));
    });
    await shot("08-notification-without-daemon");
    // The app still answers.
    await $('[data-testid="nav-projects"]').click();
    await $("h1=Projects").waitForDisplayed();
  });

  it("runs a task in its container and shows the live log and the diff", async () => {
    // The project uses the locally built test image (no registry here), set through the form.
    await $('[data-testid="nav-projects"]').click();
    await $('[data-testid="project-item"]').$("button=Settings").click();
    await $('[data-testid="project-settings"]').waitForDisplayed();
    await $('input[type="radio"][value="agent"]').click();
    await $('input[placeholder="me/agent-image:1"]').setValue("corral-test/busybox:1");
    await $('[data-testid="project-settings"]').$("button=Save").click();
    await $("h1=Projects").waitForDisplayed();
    // A custom task with its command line, made in the window.
    await $('[data-testid="project-item"]').$("button=Board").click();
    await $('[data-testid="new-task"]').click();
    const dialog = await $('[data-testid="create-task-dialog"]');
    await dialog.waitForDisplayed();
    await $("#task-title").setValue("Hello");
    await $("#task-runtime").selectByAttribute("value", "custom");
    await $("#task-command").setValue(
      "echo hello from the window; sleep 1; printf 'hi\\nthere\\n' > hello.js; sleep 1; echo more >> hello.js",
    );
    await $('[data-testid="create-task-submit"]').click();
    await dialog.waitForDisplayed({ reverse: true });
    await card("Hello").waitForDisplayed();
    await card("Hello").click();
    await $('[data-testid="run-task"]').click();
    // While it runs, the changes tab lists the file it writes, with a live count on the tab.
    await $('[data-testid="tab-changes"]').click();
    await browser.waitUntil(async () => (await $('[data-testid="run-diff"]').getText()).includes("hello.js"), {
      timeout: 60000,
      timeoutMsg: "the changed file never appeared",
    });
    await $('[data-path="hello.js"]').click();
    await browser.waitUntil(async () => (await $('[data-testid="diff-viewer"]').getText()).includes("more"), {
      timeout: 60000,
      timeoutMsg: "the open diff did not refresh when the file changed again",
    });
    await browser.waitUntil(async () => (await $('[data-testid="run-state"]').getText()) === "succeeded", {
      timeout: 60000,
      timeoutMsg: "the run did not succeed",
    });
    await expect($('[data-testid="diff-viewer"]')).toHaveText(expect.stringContaining("there"));
    await $('[data-testid="split-toggle"]').click();
    await expect($('[data-testid="diff-viewer"]')).toHaveText(expect.stringContaining("hi"));
    await shot("10-diff");
    await $('[data-testid="tab-log"]').click();
    await expect($('[data-testid="run-log"]')).toHaveText(expect.stringContaining("hello from the window"));
    await shot("09-run");
  });

  it("shows a run's requests in the Network tab and allows a blocked host with one click", async () => {
    // The project from the last test: Docker, network=allowlist (the default), nothing allowed.
    await $('[data-testid="nav-projects"]').click();
    await $('[data-testid="project-item"]').$("button=Board").click();
    await $('[data-testid="new-task"]').click();
    const dialog = await $('[data-testid="create-task-dialog"]');
    await dialog.waitForDisplayed();
    await $("#task-title").setValue("Fetch");
    await $("#task-runtime").selectByAttribute("value", "custom");
    await $("#task-command").setValue("wget -qO- http://blocked.invalid/data || echo refused");
    await $('[data-testid="create-task-submit"]').click();
    await dialog.waitForDisplayed({ reverse: true });
    await card("Fetch").click();
    await $('[data-testid="run-task"]').click();
    await browser.waitUntil(async () => (await $('[data-testid="run-state"]').getText()) === "succeeded", {
      timeout: 60000,
      timeoutMsg: "the run did not succeed",
    });
    await $('[data-testid="tab-network"]').click();
    const row = await $('[data-testid="network-row"][data-host="blocked.invalid"]');
    await row.waitForDisplayed({ timeout: 30000 });
    await expect(row).toHaveText(expect.stringContaining("not in the project's allow-hosts"));
    await expect($('[data-testid="network-summary"]')).toHaveText(expect.stringContaining("1 blocked"));
    await shot("14-network-blocked");
    await row.$('[data-testid="allow-host"]').click();
    await row.$('[data-testid="host-allowed"]').waitForDisplayed({ timeout: 10000 });
    // The project's allowlist has it now.
    await $('[data-testid="nav-projects"]').click();
    await $('[data-testid="project-item"]').$("button=Settings").click();
    await expect($('[data-testid="allow-hosts"]')).toHaveValue("blocked.invalid");
    await shot("15-network-allowed");
    await $('[data-testid="project-settings"]').$("button=Save").click();
    await $("h1=Projects").waitForDisplayed();
  });

  it("runs Claude Code: a readable live log, the edit's diff, and a follow-up that resumes it", async () => {
    // The real CLI (installed by the Rust tests' script) in the local sandbox, talking to a
    // scripted server on 127.0.0.1.
    const root = path.resolve(import.meta.dirname, "../../..");
    const bin = execFileSync("bash", [path.join(root, "scripts/install-test-agents.sh")]).toString().trim();
    const url = await startModelServer();
    await $('[data-testid="nav-projects"]').click();
    await $('[data-testid="project-item"]').$("button=Settings").click();
    await $('[data-testid="project-settings"]').waitForDisplayed();
    await $('[data-testid="sandbox-kind"]').selectByAttribute("value", "local");
    // Two lines: typed newlines do not survive WebDriver here, so the value is set directly.
    const envText = `ANTHROPIC_BASE_URL=${url}\nPATH=${bin}:/usr/local/bin:/usr/bin:/bin`;
    await browser.execute(
      (el, value) => {
        el.value = value;
        el.dispatchEvent(new Event("input", { bubbles: true }));
      },
      await $('[data-testid="env-text"]'),
      envText,
    );
    await $('[data-testid="project-settings"]').$("button=Save").click();
    await $("h1=Projects").waitForDisplayed();
    await $('[data-testid="project-item"]').$("button=Board").click();
    await $('[data-testid="new-task"]').click();
    const dialog = await $('[data-testid="create-task-dialog"]');
    await dialog.waitForDisplayed();
    await $("#task-title").setValue("Agent hello");
    await $("#task-prompt").setValue("Write hello.txt");
    await $("#task-runtime").selectByAttribute("value", "claude-code");
    await $('[data-testid="create-task-submit"]').click();
    await dialog.waitForDisplayed({ reverse: true });
    await card("Agent hello").click();
    await $('[data-testid="run-task"]').click();
    await browser.waitUntil(async () => ["succeeded", "failed"].includes(await $('[data-testid="run-state"]').getText()), {
      timeout: 60000,
      timeoutMsg: "the agent run did not end",
    });
    await expect($('[data-testid="run-state"]')).toHaveText("succeeded");
    // The log reads as what the agent did: its tool call, the edit, its words, the usage.
    const tool = await $('[data-testid="agent-tool"]');
    await expect(tool).toHaveText(expect.stringContaining("Write"));
    await browser.waitUntil(async () => (await $('[data-testid="run-log"]').getText()).includes("Done."));
    await expect($('[data-testid="agent-usage"]')).toHaveText(expect.stringContaining("tokens"));
    await shot("11-agent-log");
    // The edit opens its diff.
    await $('[data-testid="agent-file-edit"]').click();
    await browser.waitUntil(async () => (await $('[data-testid="diff-viewer"]').getText()).includes("hello"), {
      timeout: 30000,
      timeoutMsg: "the edited file's diff did not open",
    });
    await shot("12-agent-diff");
    // A follow-up resumes the session on the same branch.
    await $('[data-testid="tab-log"]').click();
    await $('[data-testid="follow-up-text"]').setValue("FOLLOW-UP: write second.txt");
    await $('[data-testid="follow-up-send"]').click();
    await $('[data-testid="follow-up-of"]').waitForDisplayed({ timeout: 30000 });
    await browser.waitUntil(async () => ["succeeded", "failed"].includes(await $('[data-testid="run-state"]').getText()), {
      timeout: 60000,
      timeoutMsg: "the follow-up did not end",
    });
    await expect($('[data-testid="run-state"]')).toHaveText("succeeded");
    await $('[data-testid="tab-changes"]').click();
    await browser.waitUntil(async () => (await $('[data-testid="run-diff"]').getText()).includes("second.txt"), {
      timeout: 30000,
      timeoutMsg: "the follow-up's file is not in its changes",
    });
    await shot("13-follow-up");
  });

  it("answers a real Claude Code question from the Inbox, and the run finishes", async () => {
    // The question's notification: clicking it opens the question in the Inbox.
    const notifications = await notificationService();
    // The same project (local sandbox, the scripted server): the agent asks through Corral.
    await $('[data-testid="nav-projects"]').click();
    await $('[data-testid="project-item"]').$("button=Board").click();
    await $('[data-testid="new-task"]').click();
    const dialog = await $('[data-testid="create-task-dialog"]');
    await dialog.waitForDisplayed();
    await $("#task-title").setValue("Agent asks");
    await $("#task-prompt").setValue("CORRAL-MCP-ASK: which database?");
    await $("#task-runtime").selectByAttribute("value", "claude-code");
    await $('[data-testid="create-task-submit"]').click();
    await dialog.waitForDisplayed({ reverse: true });
    await card("Agent asks").click();
    await $('[data-testid="run-task"]').click();
    // The question reaches the inbox (its count in the sidebar) and raises a notification.
    await $('[data-testid="inbox-count"]').waitForDisplayed({ timeout: 60000 });
    await browser.waitUntil(async () => notifications.shown.some((n) => n.title === "Agent asks asks"), {
      timeout: 30000,
      timeoutMsg: `no notification for the question: ${JSON.stringify(notifications.shown)}`,
    });
    const notice = notifications.shown.find((n) => n.title === "Agent asks asks");
    expect(notice.body).toBe("Which database?");
    expect(notice.actions.map(([key]) => key)).toEqual(["default", "option:0", "option:1"]);
    expect(notice.actions[1][1]).toBe("SQLite");
    notifications.invoke(notice.id, "default");
    const question = await $('[data-testid="inbox-question"]');
    await question.waitForDisplayed({ timeout: 30000 });
    await expect(question).toHaveAttribute("data-focused", "true");
    notifications.stop();
    await expect(question).toHaveText(expect.stringContaining("Which database?"));
    await expect(question).toHaveText(expect.stringContaining("The cart needs storage"));
    await question.$("button*=SQLite").click();
    await shot("16-inbox-question");
    await $('[data-testid="inbox-send"]').click();
    await $('[data-testid="inbox-empty"]').waitForDisplayed({ timeout: 30000 });
    // The agent got its answer and finished.
    await $('[data-testid="nav-projects"]').click();
    await $('[data-testid="project-item"]').$("button=Board").click();
    await card("Agent asks").click();
    await $('[data-testid="task-runs"]').$("button").click();
    await browser.waitUntil(async () => ["succeeded", "failed"].includes(await $('[data-testid="run-state"]').getText()), {
      timeout: 60000,
      timeoutMsg: "the agent run did not end",
    });
    await expect($('[data-testid="run-state"]')).toHaveText("succeeded");
    await browser.waitUntil(async () => (await $('[data-testid="run-log"]').getText()).includes("ask_human"), {
      timeout: 10000,
      timeoutMsg: "the tool call is not in the log",
    });
    await shot("17-answered-run");
  });

  it("answers a question from its notification's button", async () => {
    const notifications = await notificationService();
    await $('[data-testid="nav-projects"]').click();
    await $('[data-testid="project-item"]').$("button=Board").click();
    await createTaskWith("Agent asks again", "CORRAL-MCP-ASK: which database now?", "claude-code");
    await card("Agent asks again").click();
    await $('[data-testid="run-task"]').click();
    await browser.waitUntil(async () => notifications.shown.some((n) => n.title === "Agent asks again asks"), {
      timeout: 60000,
      timeoutMsg: `no notification for the question: ${JSON.stringify(notifications.shown)}`,
    });
    const notice = notifications.shown.find((n) => n.title === "Agent asks again asks");
    // "SQLite", as a person would click it on the notification.
    notifications.invoke(notice.id, "option:0");
    await $('[data-testid="nav-projects"]').click();
    await $('[data-testid="project-item"]').$("button=Board").click();
    await card("Agent asks again").click();
    await $('[data-testid="task-runs"]').$("button").click();
    await browser.waitUntil(async () => ["succeeded", "failed"].includes(await $('[data-testid="run-state"]').getText()), {
      timeout: 60000,
      timeoutMsg: "the agent run did not end",
    });
    await expect($('[data-testid="run-state"]')).toHaveText("succeeded");
    await browser.waitUntil(async () => (await $('[data-testid="run-log"]').getText()).includes("answered from a notification"), {
      timeout: 10000,
      timeoutMsg: "the log does not say the answer came from the notification",
    });
    notifications.stop();
  });
});
