// A real git repository for an end-to-end test: `dir` on `main` with one commit.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

export function makeRepo(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: "E2E",
    GIT_AUTHOR_EMAIL: "e2e@example.com",
    GIT_COMMITTER_NAME: "E2E",
    GIT_COMMITTER_EMAIL: "e2e@example.com",
  };
  execFileSync("git", ["init", "-q", "-b", "main"], { cwd: dir, env });
  fs.writeFileSync(path.join(dir, "README.md"), "# demo\n");
  execFileSync("git", ["add", "."], { cwd: dir, env });
  execFileSync("git", ["commit", "-qm", "first"], { cwd: dir, env });
  return dir;
}
