// An orchestrator in the window, with the real Claude Code in the local sandbox against the
// scripted model server: it plans three subtasks (A and B at once, C after both), which fill
// in the orchestrate task's subtree graph live; it is woken with their results and finishes;
// its one result (every subtask's work, checked) is its run's branch; the board shows it as
// one card with its progress, which expands to the subtasks.
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

/** The subtree graph's nodes: title and status of each. */
async function subtreeNodes() {
  const nodes = await $$('[data-testid="subtree-graph"] [data-testid="graph-node"]');
  const shown = [];
  for (const node of nodes) shown.push(`${await node.getAttribute("data-title")}:${await node.getAttribute("data-status")}`);
  return shown.sort();
}

describe("An orchestrator in the window", () => {
  it("fills the subtree graph in live, finishes with one checked result, and shows its progress on the board", async () => {
    const bin = execFileSync("bash", [path.join(root, "scripts/install-test-agents.sh")]).toString().trim();
    const url = await startModelServer();
    const work = fs.mkdtempSync(path.join(env.CORRAL_E2E_WORKDIR, "orchestrate-"));
    const repo = makeRepo(path.join(work, "goal"));
    cli("project", "add", repo, "--name", "goal");
    cli(
      "project",
      "set",
      "goal",
      "sandbox=local",
      "runtime=claude-code",
      `env.ANTHROPIC_BASE_URL=${url}`,
      `env.PATH=${bin}:/usr/local/bin:/usr/bin:/bin`,
      "agent-permissions=bypass",
      "verify.files=ls *.txt",
    );
    cli("task", "add", "-p", "goal", "-t", "Make c.txt", "--kind", "orchestrate", "--prompt", "CORRAL-MCP-ORCHESTRATE: make c.txt from a.txt and b.txt");
    await browser.refresh();
    await openBoard("goal");
    await card("Make c.txt").click();
    await $('[data-testid="run-task"]').click();
    // Back to the task's page while the orchestration goes on.
    await $('[data-testid="run-state"]').waitForDisplayed({ timeout: 30000 });
    await openBoard("goal");
    await card("Make c.txt").click();
    await $('[data-testid="orchestration"]').waitForDisplayed({ timeout: 10000 });
    // The plan becomes a graph, live: three nodes, A and B running at once.
    await browser.waitUntil(async () => (await subtreeNodes()).length === 3, { timeout: 60000, timeoutMsg: "the subtree graph never held three subtasks" });
    await browser.waitUntil(async () => (await subtreeNodes()).filter((n) => n.endsWith(":running")).length === 2, {
      timeout: 30000,
      timeoutMsg: "A and B were not seen running at once",
    });
    await shot("40-orchestrate-live");
    // Woken with the results, it finishes: one result, checked.
    await browser.waitUntil(async () => (await $('[data-testid="orchestration-state"]').getText()) === "succeeded", {
      timeout: 120000,
      timeoutMsg: "the orchestrator's run did not succeed",
    });
    await expect(await subtreeNodes()).toEqual(["A:review", "B:review", "C:review"]);
    await expect($('[data-testid="orchestration-progress"]')).toHaveText("3/3 done");
    await expect($('[data-testid="orchestration-checks"]')).toHaveText(expect.stringContaining("files"));
    const kinds = [];
    for (const m of await $$('[data-testid="orchestration-message"]')) kinds.push(await m.getAttribute("data-kind"));
    expect(kinds).toContain("woken");
    expect(kinds).toContain("finished");
    await shot("41-orchestrate-done");
    expect(requests.some((body) => body.includes("Your subtasks have ended (3 in all)"))).toBe(true);
    // The result branch holds every subtask's work.
    const runs = JSON.parse(cli("runs", "--task", "Make c.txt", "--json"));
    const branch = runs[0].branch;
    expect(execFileSync("git", ["show", `${branch}:c.txt`], { cwd: repo, encoding: "utf8" })).toBe("a\nb\n");
    // The board: one card with its progress, which expands to the subtasks.
    await openBoard("goal");
    await expect(card("A")).not.toBeExisting();
    await expect(card("Make c.txt").$('[data-testid="card-subtasks"]')).toHaveText("orchestrates: 3/3 done");
    await card("Make c.txt").parentElement().$('[data-testid="card-expand"]').click();
    const listed = [];
    for (const sub of await $$('[data-testid="card-subtask"]')) listed.push(await sub.getAttribute("data-title"));
    expect(listed).toEqual(["A", "B", "C"]);
    await shot("42-orchestrate-card");
  });
});
