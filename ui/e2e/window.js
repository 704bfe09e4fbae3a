// What the window's end-to-end specs share: screenshots, a task's card, opening a board.
import path from "node:path";
import { browser, $, $$ } from "@wdio/globals";
import { screenshotDir } from "./wdio.conf.js";

/** A screenshot of the window as it is now, in target/e2e-screenshots/. */
export async function shot(name) {
  await browser.pause(250);
  await browser.saveScreenshot(path.join(screenshotDir, `${name}.png`));
}

/** The board's card of the task titled `title`. */
export const card = (title) => $(`[data-testid="task-card"][data-title="${title}"]`);

/** Opens the board of the project `name` from the Projects screen. */
export async function openBoard(name) {
  await $('[data-testid="nav-projects"]').waitForClickable({ timeout: 30000 });
  await $('[data-testid="nav-projects"]').click();
  await $("h1=Projects").waitForDisplayed();
  await $('[data-testid="project-item"]').waitForDisplayed({ timeout: 30000 });
  for (const item of await $$('[data-testid="project-item"]')) {
    if ((await item.getText()).includes(name)) {
      await item.$("button=Board").click();
      await $(`h1=${name}`).waitForDisplayed();
      return;
    }
  }
  throw new Error(`no project ${name}`);
}
