//! Per-run checkout cost: Corral's local clone (objects copied) against a git worktree, on
//! a repository of 5,000 files. Prints figures. Run: `cargo bench -p corral-git --bench checkout`.
#![allow(clippy::expect_used, clippy::cast_possible_truncation)] // tests and benchmarks: a failure is the report

use corral_testkit::git;
use std::time::{Duration, Instant};

const FILES: usize = 5_000;
const RUNS: usize = 15;

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1000.0
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = dir.path().join("repo");
    for i in 0..FILES {
        let sub = repo.join(format!("src/mod{}", i % 50));
        std::fs::create_dir_all(&sub).expect("mkdir");
        let body: String = (0..40)
            .map(|l| format!("fn f{i}_{l}() {{ /* {l} */ }}\n"))
            .collect();
        std::fs::write(sub.join(format!("file{i}.rs")), body).expect("write");
    }
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-qm", "x"]);

    let mut clone = Vec::new();
    let mut worktree = Vec::new();
    let mut worktree_cli = Vec::new();
    for i in 0..RUNS {
        let dest = dir.path().join(format!("clone{i}"));
        let t = Instant::now();
        corral_git::create_checkout(&repo, "main", &format!("corral/bench-{i}"), &dest)
            .expect("clone");
        clone.push(t.elapsed());

        let r = git2::Repository::open(&repo).expect("open");
        let dest = dir.path().join(format!("wt{i}"));
        let t = Instant::now();
        let head = r.head().and_then(|h| h.peel_to_commit()).expect("head");
        let branch = r
            .branch(&format!("corral/wt-{i}"), &head, false)
            .expect("branch");
        let mut opts = git2::WorktreeAddOptions::new();
        opts.reference(Some(branch.get()));
        r.worktree(&format!("wt{i}"), &dest, Some(&opts))
            .expect("worktree");
        worktree.push(t.elapsed());

        let dest = dir.path().join(format!("wtcli{i}"));
        let t = Instant::now();
        git(
            &repo,
            &[
                "worktree",
                "add",
                "-q",
                "-b",
                &format!("corral/cli-{i}"),
                dest.to_str().expect("utf-8"),
                "main",
            ],
        );
        worktree_cli.push(t.elapsed());
    }
    println!(
        "checkout/{FILES} files: corral local clone (objects copied) median {:.1} ms",
        median(clone)
    );
    println!(
        "checkout/{FILES} files: git2 worktree median {:.1} ms",
        median(worktree)
    );
    println!(
        "checkout/{FILES} files: `git worktree add` median {:.1} ms",
        median(worktree_cli)
    );
}
