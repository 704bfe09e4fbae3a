// Desktop-app figures: cold start to the first painted board, idle memory of the whole app
// (main process plus its WebKit processes, summed RSS) with 1 project and 1,000 tasks, and how
// many task cards the board renders. Prints numbers; asserts nothing about speed.
// Run: scripts/bench-app (builds release binaries, then runs this under Xvfb).
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { remote } from "webdriverio";

const TASKS = Number(process.env.BENCH_TASKS ?? 1000);
const root = path.resolve(import.meta.dirname, "../../..");
const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(root, "target");
const profile = process.env.BENCH_PROFILE ?? "release";
const app = path.join(targetDir, profile, "corral-app");
const cli = path.join(targetDir, profile, "corral");
const driverBin = path.join(process.env.CARGO_HOME ?? path.join(os.homedir(), ".cargo"), "bin", "tauri-driver");

const work = fs.mkdtempSync(path.join(os.tmpdir(), "corral-bench-"));
const dataDir = path.join(work, "data");
const env = { ...process.env, CORRAL_DATA_DIR: dataDir };

function seed() {
  const repo = path.join(work, "bench-repo");
  fs.mkdirSync(repo);
  const gitEnv = { ...env, GIT_AUTHOR_NAME: "b", GIT_AUTHOR_EMAIL: "b@example.com", GIT_COMMITTER_NAME: "b", GIT_COMMITTER_EMAIL: "b@example.com" };
  execFileSync("git", ["init", "-q", "-b", "main"], { cwd: repo, env: gitEnv });
  fs.writeFileSync(path.join(repo, "f"), "x");
  execFileSync("git", ["add", "."], { cwd: repo, env: gitEnv });
  execFileSync("git", ["commit", "-qm", "x"], { cwd: repo, env: gitEnv });
  execFileSync(cli, ["project", "add", repo, "--name", "bench"], { env });
  const started = Date.now();
  for (let i = 0; i < TASKS; i++) {
    const args = ["task", "add", "-p", "bench", "-t", `Task ${i}: refactor module ${i}`, "--prompt", `Refactor module ${i}.`];
    // Every other task waits for the one before it, so the board has backlog and ready columns.
    if (i % 2 === 1) args.push("--after", `Task ${i - 1}: refactor module ${i - 1}`);
    execFileSync(cli, args, { env });
  }
  return Date.now() - started;
}

function waitForPort(port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => { s.end(); resolve(); });
      s.once("error", () => {
        s.destroy();
        if (Date.now() > deadline) reject(new Error("tauri-driver did not start"));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

/** Summed RSS (KiB) of a process and all its descendants, with their names. */
function treeRss(rootPid) {
  const parents = new Map();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(Number(entry), ppid);
    } catch {}
  }
  const pids = [rootPid];
  for (let i = 0; i < pids.length; i++) {
    for (const [pid, ppid] of parents) if (ppid === pids[i]) pids.push(pid);
  }
  const parts = [];
  for (const pid of pids) {
    try {
      const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
      const name = /Name:\s+(.*)/.exec(status)?.[1] ?? "?";
      const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      // PSS splits shared pages (the WebKit libraries all three processes map) between them.
      let pss = 0;
      try {
        pss = Number(/Pss:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1] ?? 0);
      } catch {}
      parts.push({ pid, name, rss, pss });
    } catch {}
  }
  return parts;
}

function appPid() {
  const out = execFileSync("pgrep", ["-n", "-f", app]).toString().trim();
  return Number(out.split("\n").pop());
}

const seedMs = seed();
const driver = spawn(driverBin, [], { stdio: "ignore", env });
await waitForPort(4444, 20000);
try {
  const t0 = performance.now();
  const browser = await remote({
    hostname: "127.0.0.1",
    port: 4444,
    logLevel: "error",
    capabilities: { "wdio:enforceWebDriverClassic": true, "tauri:options": { application: app } },
  });
  await browser.$('[data-testid="task-card"]').waitForDisplayed({ timeout: 60000 });
  const firstBoardMs = performance.now() - t0;
  const inPage = await browser.execute(() => {
    const nav = performance.getEntriesByType("navigation")[0];
    return { painted: performance.now(), domContentLoaded: nav ? nav.domContentLoadedEventEnd : null };
  });
  const cards = (await browser.$$('[data-testid="task-card"]')).length;
  const readyCount = await browser.$('[data-testid="column-ready"] header .muted').getText();
  // Scroll the ready column to its end: the last task must render, the DOM must stay small.
  await browser.execute(() => {
    const list = document.querySelector('[data-testid="column-ready"] .cards');
    if (list) list.scrollTop = list.scrollHeight;
  });
  await browser.pause(500);
  const lastTitle = `Task ${TASKS % 2 === 0 ? TASKS - 2 : TASKS - 1}: refactor module ${TASKS % 2 === 0 ? TASKS - 2 : TASKS - 1}`;
  const lastVisible = await browser.$(`[data-testid="task-card"][data-title="${lastTitle}"]`).isDisplayed();
  const cardsAfterScroll = (await browser.$$('[data-testid="task-card"]')).length;

  await browser.pause(5000); // idle
  const parts = treeRss(appPid());
  const totalMiB = parts.reduce((s, p) => s + p.rss, 0) / 1024;
  const totalPssMiB = parts.reduce((s, p) => s + p.pss, 0) / 1024;

  console.log(`app_bench: profile ${profile}, ${TASKS} tasks (seeded through the CLI in ${(seedMs / 1000).toFixed(1)} s)`);
  console.log(`app_bench: start to first painted board (WebDriver session start to a card displayed): ${firstBoardMs.toFixed(0)} ms`);
  console.log(`app_bench: in-page: board painted ${inPage.painted.toFixed(0)} ms after navigation start (DOMContentLoaded ${inPage.domContentLoaded?.toFixed(0)} ms)`);
  console.log(`app_bench: ready column holds ${readyCount} tasks; cards in the DOM: ${cards} at start, ${cardsAfterScroll} after scrolling to the end (last task shown: ${lastVisible})`);
  console.log(`app_bench: idle memory, summed RSS: ${totalMiB.toFixed(1)} MiB = ${parts.map((p) => `${p.name} ${(p.rss / 1024).toFixed(1)}`).join(" + ")}`);
  console.log(`app_bench: idle memory, summed PSS (shared pages counted once): ${totalPssMiB.toFixed(1)} MiB = ${parts.map((p) => `${p.name} ${(p.pss / 1024).toFixed(1)}`).join(" + ")}`);
  await browser.deleteSession();
} finally {
  driver.kill();
}
