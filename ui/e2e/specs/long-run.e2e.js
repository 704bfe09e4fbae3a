// A finished run of 1,000,000 lines opens in the window at its last line, with its whole state
// timeline, and earlier lines page in on request. Prints how long opening took.
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { browser, $, expect } from "@wdio/globals";
import { corralCli, screenshotDir } from "../wdio.conf.js";
import { makeRepo } from "../git-repo.js";

const LINES = 1_000_000;

function seed() {
  const work = fs.mkdtempSync(path.join(process.env.CORRAL_E2E_WORKDIR, "long-"));
  const repo = makeRepo(path.join(work, "long log"));
  const env = process.env;
  execFileSync(corralCli, ["project", "add", repo, "--name", "long"], { env });
  // Host processes: printing a million lines needs no container.
  execFileSync(corralCli, ["project", "set", "long", "sandbox=local"], { env });
  execFileSync(corralCli, ["task", "add", "-p", "long", "-t", "Million", "--", "seq", "1", String(LINES)], { env });
  const started = Date.now();
  execFileSync(corralCli, ["run", "Million"], { env, stdio: "ignore" });
  return Date.now() - started;
}

describe("A long run", () => {
  it("opens at its last line with its whole timeline", async () => {
    const seeded = seed();
    console.log(`recorded a run of ${LINES.toLocaleString("en")} lines in ${seeded} ms`);
    // The project was added by the CLI: the reloaded window opens its board.
    await browser.refresh();
    const card = $('[data-testid="task-card"][data-title="Million"]');
    await card.waitForDisplayed({ timeout: 30000 });
    await card.click();
    const link = $('[data-testid="task-runs"]').$("button=Run 1");
    await link.waitForDisplayed();

    const clicked = Date.now();
    await link.click();
    await browser.waitUntil(async () => (await $('[data-testid="run-log"]').getText()).includes(String(LINES)), {
      timeout: 30000,
      interval: 10,
      timeoutMsg: "the last line never showed",
    });
    const opened = Date.now() - clicked;
    console.log(`a ${LINES.toLocaleString("en")}-line run opened at its last line in ${opened} ms (click to text, WebDriver round trips included)`);
    await browser.saveScreenshot(path.join(screenshotDir, "20-long-run.png"));

    await expect($('[data-testid="run-state"]')).toHaveText("succeeded");
    const timeline = await $('ol[aria-label="State changes"]').getText();
    for (const state of ["preparing", "running", "succeeded"]) expect(timeline).toContain(state);
    // The first line is far above; it is paged in on request, not replayed on opening.
    expect(await $('[data-testid="run-log"]').getText()).not.toContain("\n1\n");
    await $('[data-testid="load-earlier"]').click();
    await browser.waitUntil(async () => (await $('[data-testid="run-log"]').getText()).length > 0, { timeout: 10000 });
    await expect($('[data-testid="load-earlier"]')).toBeDisplayed();
  });

  it("shows a run a corral command drives as live as one it started itself", async () => {
    const env = process.env;
    const script = "for i in 1 2 3 4 5 6 7 8; do echo tick $i; sleep 1; done";
    execFileSync(corralCli, ["task", "add", "-p", "long", "-t", "Ticks", "--", "sh", "-c", script], { env });
    await browser.refresh();
    const card = $('[data-testid="task-card"][data-title="Ticks"]');
    await card.waitForDisplayed({ timeout: 30000 });
    await card.click();
    await $('[data-testid="task-runs"]').waitForExist();
    // Another process drives the run; the window learns of it from the database's commits.
    const cli = spawn(corralCli, ["run", "Ticks"], { env, stdio: "ignore" });
    try {
      const link = $('[data-testid="task-runs"]').$("button=Run 1");
      await link.waitForDisplayed({ timeout: 30000, timeoutMsg: "the CLI's run never showed on the task" });
      await link.click();
      await browser.waitUntil(async () => (await $('[data-testid="run-log"]').getText()).includes("tick 2"), {
        timeout: 30000,
        timeoutMsg: "the live log of the CLI's run never showed",
      });
      expect(await $('[data-testid="run-state"]').getText()).toBe("running");
      await browser.waitUntil(async () => (await $('[data-testid="run-state"]').getText()) === "succeeded", {
        timeout: 60000,
        timeoutMsg: "the CLI's run never showed as succeeded",
      });
      await expect($('[data-testid="run-log"]')).toHaveText(expect.stringContaining("tick 8"));
      await browser.saveScreenshot(path.join(screenshotDir, "21-cli-run-live.png"));
    } finally {
      cli.kill();
    }
  });
});
