// Checks that close the loop, in the window, with the real Claude Code in the local sandbox
// against the scripted model server: a failed check sends the agent back and the run view shows
// the check's badge and the attempts; a run whose checks failed cannot be merged (the reason is
// shown) and waits in the inbox; a comment on a line of the diff goes to the agent.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { browser, $, $$, expect } from "@wdio/globals";
import { corralCli } from "../wdio.conf.js";
import { card, openBoard, shot } from "../window.js";
import { makeRepo } from "../git-repo.js";
import { requests, startModelServer } from "../model-server.js";

const env = process.env;
const cli = (...args) => execFileSync(corralCli, args, { env, encoding: "utf8" });
const root = path.resolve(import.meta.dirname, "../../..");
const CHECK = 'verify.test=grep -q fixed answer.txt || { echo "answer.txt says $(cat answer.txt)"; exit 1; }';
const badge = (name) => $(`[data-testid="check-badge"][data-name="${name}"]`);

async function runEnded() {
  await browser.waitUntil(async () => ["succeeded", "failed"].includes(await $('[data-testid="run-state"]').getText()), {
    timeout: 90000,
    timeoutMsg: "the run did not end",
  });
}

describe("Checks that close the loop", () => {
  it("shows a check's badge and the attempts of a run whose agent fixed what failed", async () => {
    const bin = execFileSync("bash", [path.join(root, "scripts/install-test-agents.sh")]).toString().trim();
    const url = await startModelServer();
    const work = fs.mkdtempSync(path.join(env.CORRAL_E2E_WORKDIR, "checks-"));
    const repo = makeRepo(path.join(work, "checked"));
    cli("project", "add", repo, "--name", "checked");
    cli(
      "project",
      "set",
      "checked",
      "sandbox=local",
      "runtime=claude-code",
      `env.ANTHROPIC_BASE_URL=${url}`,
      `env.PATH=${bin}:/usr/local/bin:/usr/bin:/bin`,
      CHECK,
      "verify-retries=1",
    );
    cli("task", "add", "-p", "checked", "-t", "Answer", "--prompt", "CORRAL-CHECKS: write answer.txt");
    cli("task", "add", "-p", "checked", "-t", "Worse", "--prompt", "CORRAL-CHECKS-NEVER: write answer.txt");
    await browser.refresh();
    await openBoard("checked");
    await card("Answer").click();
    await $('[data-testid="run-task"]').click();
    await runEnded();
    await expect($('[data-testid="run-state"]')).toHaveText("succeeded");
    await badge("test").waitForDisplayed({ timeout: 10000 });
    await expect(badge("test")).toHaveAttribute("data-outcome", "passed");
    await expect($('[data-testid="checks"]')).toHaveText(expect.stringContaining("attempt 2"));
    await expect($('[data-testid="timeline-attempt"]')).toHaveText(expect.stringContaining("attempt 2 of 2 (test failed)"));
    await browser.waitUntil(async () => (await $('[data-testid="run-log"]').getText()).includes("attempt 2 of 2"), {
      timeout: 10000,
      timeoutMsg: "the retry is not in the log",
    });
    await shot("30-checks-attempts");
    await openBoard("checked");
    await expect(card("Answer").$('[data-testid="card-check"]')).toHaveAttribute("data-outcome", "passed");
  });

  it("disables Merge on a run whose checks failed, saying why, and lists it in the inbox", async () => {
    await card("Worse").click();
    await $('[data-testid="run-task"]').click();
    await runEnded();
    await expect($('[data-testid="run-state"]')).toHaveText("failed");
    await expect($('[data-testid="run-reason"]')).toHaveAttribute("data-kind", "verify_failed");
    await badge("test").waitForDisplayed({ timeout: 10000 });
    await expect(badge("test")).toHaveAttribute("data-outcome", "failed");
    await expect($('[data-testid="merge-run"]')).toBeDisabled();
    await browser.waitUntil(async () => (await $('[data-testid="merge-preview"]').getText()).includes("its checks failed"), {
      timeout: 10000,
      timeoutMsg: "the merge preview does not say why",
    });
    await expect($('[data-testid="merge-anyway"]')).toBeDisplayed();
    await badge("test").click();
    await expect($('[data-testid="check-tail"]')).toHaveText(expect.stringContaining("answer.txt says worse"));
    await shot("31-red-merge-disabled");
    await $('[data-testid="nav-inbox"]').click();
    const decision = await $('[data-testid="inbox-checks-failed"]');
    await decision.waitForDisplayed({ timeout: 10000 });
    await expect(decision).toHaveText(expect.stringContaining("Worse"));
    await shot("32-inbox-decision");
  });

  it("sends a comment on a line of the diff to the agent, and shows it on the follow-up", async () => {
    await openBoard("checked");
    await card("Answer").click();
    await $('[data-testid="task-runs"]').$("button").click();
    await expect($('[data-testid="run-state"]')).toHaveText("succeeded");
    await $('[data-testid="tab-changes"]').click();
    await $('button.file[data-path="answer.txt"]').click();
    const line = await $('[data-testid="comment-line"][data-line="1"]');
    await line.waitForDisplayed({ timeout: 10000 });
    await line.click();
    const draft = await $('[data-testid="review-draft-text"]');
    await draft.waitForDisplayed();
    await draft.setValue("Say it in capitals.");
    await $('[data-testid="review-message"]').setValue("Then stop.");
    await shot("33-review-draft");
    const before = requests.length;
    await $('[data-testid="review-send"]').click();
    await $('[data-testid="follow-up-of"]').waitForDisplayed({ timeout: 30000 });
    await runEnded();
    const told = requests.slice(before).find((body) => body.includes("A review of your work left 1 comment"));
    expect(told).toBeDefined();
    expect(told).toContain("1. answer.txt:1\\n   > fixed\\n   Say it in capitals.\\n\\nThen stop.");
    const comment = await $('[data-testid="review-comment"]');
    await comment.waitForDisplayed({ timeout: 10000 });
    await expect(comment).toHaveText(expect.stringContaining("Say it in capitals."));
    await shot("34-review-sent");
  });
});
