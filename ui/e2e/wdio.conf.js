// End-to-end tests of the real app window: WebdriverIO talks to tauri-driver, which starts the
// debug build of corral-app through WebKitWebDriver. Run under Xvfb: scripts/e2e.
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "../..");
const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(root, "target");
const application = path.join(targetDir, "debug", "corral-app");
export const screenshotDir = path.join(root, "target", "e2e-screenshots");
/** The command-line binary, for steps the window does not offer yet. */
export const corralCli = path.join(targetDir, "debug", "corral");
/** A notification service for the session bus the app runs on (the tests' own, see scripts/e2e). */
export const fakeNotifications = path.join(targetDir, "debug", "corral-fake-notifications");

// Every session starts from an empty data dir; the app inherits it through tauri-driver.
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "corral-e2e-"));
process.env.CORRAL_DATA_DIR = dataDir;
process.env.CORRAL_E2E_WORKDIR = fs.mkdtempSync(path.join(os.tmpdir(), "corral-e2e-repos-"));
// The agent test's key: read by the app from its environment (no keychain entry in the test's
// session), sent only to the scripted model server on 127.0.0.1.
process.env.ANTHROPIC_API_KEY = "sk-e2e-window-key";

function tauriDriverPath() {
  const cargoHome = process.env.CARGO_HOME ?? path.join(os.homedir(), ".cargo");
  return path.join(cargoHome, "bin", "tauri-driver");
}

function waitForPort(port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.end();
        resolve();
      });
      socket.once("error", () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`tauri-driver did not listen on ${port}`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

let driver;

export const config = {
  runner: "local",
  hostname: "127.0.0.1",
  port: 4444,
  specs: ["./specs/**/*.e2e.js"],
  maxInstances: 1,
  capabilities: [
    {
      maxInstances: 1,
      "wdio:enforceWebDriverClassic": true,
      "tauri:options": { application },
    },
  ],
  logLevel: "warn",
  reporters: ["spec"],
  framework: "mocha",
  mochaOpts: { ui: "bdd", timeout: 120000 },
  waitforTimeout: 15000,
  onPrepare() {
    if (!fs.existsSync(application)) {
      throw new Error(`${application} is missing: build it first (npm run build:ui && cargo build -p corral-app)`);
    }
    fs.mkdirSync(screenshotDir, { recursive: true });
  },
  async beforeSession() {
    driver = spawn(tauriDriverPath(), [], { stdio: ["ignore", "inherit", "inherit"] });
    await waitForPort(4444, 20000);
  },
  async before() {
    // The window's own storage (the remembered Board / Graph switch) outlives the app and the
    // data dir: every spec starts from none, as on a fresh machine.
    await browser.execute(() => localStorage.clear());
    await browser.refresh();
  },
  afterSession() {
    driver?.kill();
  },
};
