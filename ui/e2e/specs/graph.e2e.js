// The graph view: a diamond made in the window by dragging its last dependency, run with Run
// all, its nodes changing status live; a cycle refused inline; and 500 tasks laid out and
// painted, with the time printed.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { browser, $, $$, expect } from "@wdio/globals";
import { corralCli, screenshotDir } from "../wdio.conf.js";
import { makeRepo } from "../git-repo.js";

const env = process.env;
const cli = (...args) => execFileSync(corralCli, args, { env, encoding: "utf8" });

function seedDiamond() {
  const work = fs.mkdtempSync(path.join(process.env.CORRAL_E2E_WORKDIR, "graph-"));
  const repo = makeRepo(path.join(work, "diamond"));
  cli("project", "add", repo, "--name", "diamond");
  cli("project", "set", "diamond", "sandbox=local", "max-runs=2");
  const task = (title, script, ...after) =>
    cli("task", "add", "-p", "diamond", "-t", title, ...after.flatMap((a) => ["--after", a]), "--", "sh", "-c", script);
  task("A", "sleep 1; echo a > a.txt");
  task("B", "sleep 2; test -f a.txt && echo b > b.txt", "A");
  task("C", "sleep 2; test -f a.txt && echo c > c.txt", "A");
  // D after C only: the window adds D after B by dragging.
  task("D", "test -f a.txt && test -f b.txt && test -f c.txt && echo d > d.txt", "C");
}

const node = (title) => $(`[data-testid="graph-node"][data-title="${title}"]`);
/** The flow's wrapper of a task's node, which holds its handles. */
const flowNode = (title) => node(title).parentElement();

async function drag(from, to) {
  await browser
    .action("pointer", { parameters: { pointerType: "mouse" } })
    .move({ origin: from })
    .down()
    .move({ origin: from, x: 5, y: 20, duration: 100 })
    .move({ origin: to, duration: 300 })
    .up()
    .perform();
}

async function statuses() {
  const out = {};
  for (const title of ["A", "B", "C", "D"]) out[title] = await node(title).getAttribute("data-status");
  return out;
}

describe("The graph view", () => {
  it("adds a dependency by dragging, refuses a cycle, runs all, and shows statuses live", async () => {
    seedDiamond();
    await browser.refresh();
    await $('[data-testid="view-graph"]').waitForClickable({ timeout: 30000 });
    await $('[data-testid="view-graph"]').click();
    await node("D").waitForDisplayed({ timeout: 30000 });
    // Edges are drawn once the nodes' handles are measured.
    await browser.waitUntil(async () => (await $$(".svelte-flow__edge")).length === 3, {
      timeout: 10000,
      timeoutMsg: "the three dependencies were never drawn",
    });

    // Drag from B's bottom handle to D's top handle: D now runs after B as well.
    await drag(await flowNode("B").$(".svelte-flow__handle.source"), await flowNode("D").$(".svelte-flow__handle.target"));
    await browser.waitUntil(async () => (await $$(".svelte-flow__edge")).length === 4, {
      timeout: 10000,
      timeoutMsg: "the dragged dependency never appeared",
    });
    const shown = JSON.parse(cli("graph", "show", "-p", "diamond", "--json"));
    expect(shown.find((t) => t.title === "D").after.sort()).toEqual(["B", "C"]);
    await browser.saveScreenshot(path.join(screenshotDir, "30-graph-diamond.png"));

    // A after D would close a cycle: refused inline, naming it; nothing changes.
    await drag(await flowNode("D").$(".svelte-flow__handle.source"), await flowNode("A").$(".svelte-flow__handle.target"));
    const refusal = $('[data-testid="graph-refusal"]');
    await refusal.waitForDisplayed({ timeout: 10000 });
    expect(await refusal.getText()).toContain("cycle");
    await browser.saveScreenshot(path.join(screenshotDir, "31-graph-cycle-refused.png"));
    expect(await $$(".svelte-flow__edge")).toHaveLength(4);

    // Run all: the graph runs by itself; the nodes follow live.
    await $('[data-testid="graph-run-all"]').click();
    await browser.waitUntil(async () => (await statuses()).A === "running", { timeout: 20000, timeoutMsg: "A never showed running" });
    await browser.waitUntil(async () => Object.values(await statuses()).includes("running") && (await statuses()).A === "review", {
      timeout: 30000,
      interval: 100,
      timeoutMsg: "B or C never showed running after A",
    });
    await browser.saveScreenshot(path.join(screenshotDir, "32-graph-running.png"));
    await browser.waitUntil(async () => Object.values(await statuses()).every((s) => s === "review"), {
      timeout: 60000,
      timeoutMsg: `the graph never finished: ${JSON.stringify(await statuses())}`,
    });
    await $('[data-testid="graph-run-all"]').waitForDisplayed({ timeout: 15000, timeoutMsg: "the toolbar never said the graph run ended" });
    // And it stays so (a late answer must not bring "Graph running" back).
    await browser.pause(1500);
    await expect($('[data-testid="graph-run-all"]')).toBeDisplayed();
    await browser.saveScreenshot(path.join(screenshotDir, "33-graph-ran.png"));
    // D started from A's, B's and C's work.
    const d = JSON.parse(cli("runs", "--task", "D", "--json"))[0];
    const checkout = JSON.parse(cli("run", "show", d.id, "--json")).checkout_path;
    for (const file of ["a.txt", "b.txt", "c.txt", "d.txt"]) expect(fs.existsSync(path.join(checkout, file))).toBe(true);

    // Select an edge and press Delete: the dependency goes.
    const edge = (await $$(".svelte-flow__edge"))[0];
    await edge.$(".svelte-flow__edge-interaction").click();
    await browser.keys("Delete");
    await browser.waitUntil(async () => (await $$(".svelte-flow__edge")).length === 3, {
      timeout: 10000,
      timeoutMsg: "the deleted dependency stayed",
    });
    const after = JSON.parse(cli("graph", "show", "-p", "diamond", "--json"));
    expect(after.reduce((n, t) => n + t.after.length, 0)).toBe(3);
    expect(await $$('[data-testid="graph-node"]')).toHaveLength(4);
  });

  it("lays out and paints 500 tasks", async () => {
    const work = fs.mkdtempSync(path.join(process.env.CORRAL_E2E_WORKDIR, "wide-"));
    const repo = makeRepo(path.join(work, "wide"));
    cli("project", "add", repo, "--name", "wide");
    const started = Date.now();
    for (let i = 0; i < 500; i++) {
      // Each task after one or two earlier ones: a deep and wide graph.
      const after = i === 0 ? [] : [...new Set([`T${Math.floor(i / 3)}`, `T${Math.floor(i / 7)}`])].filter((a) => a !== `T${i}`);
      cli("task", "add", "-p", "wide", "-t", `T${i}`, ...after.flatMap((a) => ["--after", a]), "--", "true");
    }
    console.log(`made 500 tasks through the CLI in ${Date.now() - started} ms`);
    await browser.refresh();
    await $("button=wide").waitForClickable({ timeout: 30000 });
    await $("button=wide").click();
    const view = $('[data-testid="graph-view"][data-tasks="500"]');
    await view.waitForExist({ timeout: 30000 });
    await browser.waitUntil(async () => (await view.getAttribute("data-paint-ms")) !== null, { timeout: 30000 });
    const layout = await view.getAttribute("data-layout-ms");
    const paint = await view.getAttribute("data-paint-ms");
    console.log(`graph view of 500 tasks: layout ${layout} ms, laid out and painted in ${paint} ms`);
    await browser.saveScreenshot(path.join(screenshotDir, "34-graph-500.png"));
    await browser.waitUntil(async () => (await $$('[data-testid="graph-node"]').length) > 0, {
      timeout: 10000,
      timeoutMsg: "no task node was painted",
    });
    const painted = await $$('[data-testid="graph-node"]').length;
    console.log(`${painted} of the 500 nodes are in view and rendered; the rest are culled until scrolled to`);
  });
});
