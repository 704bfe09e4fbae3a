//! Checkouts, commits, publishing and diffs against real repositories made in temp dirs.
#![allow(clippy::expect_used, clippy::cast_possible_truncation)] // tests and benchmarks: a failure is the report

use corral_testkit::git;
use std::path::{Path, PathBuf};
use std::process::Command;

use corral_git::{FileStatus, GitError, commit_all, create_checkout, diff, publish_branch};

const AUTHOR: (&str, &str) = ("Corral", "corral@localhost");
const MERGE: (corral_git::MergeStyle, &str) = (corral_git::MergeStyle::Merge, "Merge the run");
/// No size cap on committed files.
const NO_CAP: u64 = u64::MAX;

/// A user's repository with a few files, a .gitignore, and one commit on `main`.
fn user_repo(dir: &Path) -> PathBuf {
    let repo = dir.join("user repo é");
    std::fs::create_dir_all(repo.join("src")).expect("mkdir");
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("README.md"), "hello\n").expect("write");
    std::fs::write(repo.join("src/lib.rs"), "fn a() {}\nfn b() {}\n").expect("write");
    std::fs::write(repo.join("old.txt"), "to be deleted\n").expect("write");
    std::fs::write(repo.join(".gitignore"), "target/\n*.log\n").expect("write");
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-qm", "first"]);
    repo
}

#[test]
fn a_checkout_is_a_separate_clone_on_its_own_branch_and_leaves_the_user_repo_alone() {
    let dir = tempfile::tempdir().expect("temp");
    let user = user_repo(dir.path());
    // The user has work in progress: it must stay exactly as it is.
    std::fs::write(user.join("README.md"), "hello\nmy uncommitted edit\n").expect("write");
    let head_before = git(&user, &["rev-parse", "HEAD"]);
    let status_before = git(&user, &["status", "--porcelain"]);

    let dest = dir.path().join("checkouts/run one");
    let checkout =
        create_checkout(&user, "main", "corral/fix-it-1234abcd", &dest).expect("checkout");
    assert_eq!(checkout.base_commit, head_before);
    assert_eq!(
        git(&dest, &["rev-parse", "--abbrev-ref", "HEAD"]),
        "corral/fix-it-1234abcd"
    );
    assert_eq!(
        std::fs::read_to_string(dest.join("README.md")).expect("read"),
        "hello\n"
    );
    assert!(
        dest.join(".git").is_dir(),
        "a self-contained .git, usable inside a container"
    );

    assert_eq!(git(&user, &["rev-parse", "HEAD"]), head_before);
    assert_eq!(git(&user, &["status", "--porcelain"]), status_before);
    assert_eq!(
        git(&user, &["branch", "--list", "corral/*"]),
        "",
        "nothing published yet"
    );
}

#[test]
fn commit_all_records_adds_edits_and_deletes_but_not_ignored_files() {
    let dir = tempfile::tempdir().expect("temp");
    let user = user_repo(dir.path());
    let dest = dir.path().join("co");
    let checkout = create_checkout(&user, "main", "corral/t-1", &dest).expect("checkout");
    assert_eq!(
        commit_all(&dest, AUTHOR, "nothing", NO_CAP)
            .map(|r| r.commit)
            .expect("commit"),
        None,
        "no changes, no commit"
    );

    std::fs::write(
        dest.join("src/lib.rs"),
        "fn a() {}\nfn b2() {}\nfn c() {}\n",
    )
    .expect("write");
    std::fs::write(dest.join("new file.md"), "new\n").expect("write");
    std::fs::remove_file(dest.join("old.txt")).expect("rm");
    std::fs::create_dir_all(dest.join("target")).expect("mkdir");
    std::fs::write(dest.join("target/build.bin"), [0u8, 1, 2]).expect("write");
    std::fs::write(dest.join("run.log"), "noise").expect("write");
    let result = commit_all(&dest, AUTHOR, "Run result", NO_CAP)
        .map(|r| r.commit)
        .expect("commit")
        .expect("a commit");

    assert_eq!(
        git(&dest, &["log", "-1", "--format=%an <%ae>|%s", &result]),
        "Corral <corral@localhost>|Run result"
    );
    let files = git(&dest, &["show", "--name-status", "--format=", &result]);
    let mut lines: Vec<&str> = files.lines().collect();
    lines.sort();
    assert_eq!(lines, vec!["A\tnew file.md", "D\told.txt", "M\tsrc/lib.rs"]);
    assert_eq!(git(&dest, &["rev-parse", "HEAD~1"]), checkout.base_commit);
}

#[test]
fn publishing_makes_the_branch_visible_without_touching_the_users_work() {
    let dir = tempfile::tempdir().expect("temp");
    let user = user_repo(dir.path());
    std::fs::write(user.join("README.md"), "hello\nwip\n").expect("write");
    let status_before = git(&user, &["status", "--porcelain"]);
    let dest = dir.path().join("co");
    create_checkout(&user, "main", "corral/t-2", &dest).expect("checkout");
    std::fs::write(dest.join("agent.txt"), "made by the agent\n").expect("write");
    let result = commit_all(&dest, AUTHOR, "agent work", NO_CAP)
        .map(|r| r.commit)
        .expect("commit")
        .expect("commit id");

    publish_branch(&user, &dest, "corral/t-2").expect("publish");
    assert_eq!(git(&user, &["rev-parse", "corral/t-2"]), result);
    assert_eq!(git(&user, &["rev-parse", "--abbrev-ref", "HEAD"]), "main");
    assert_eq!(git(&user, &["status", "--porcelain"]), status_before);
    assert!(!user.join("agent.txt").exists());

    // Publishing again after more work moves the branch forward.
    std::fs::write(dest.join("agent.txt"), "more\n").expect("write");
    let second = commit_all(&dest, AUTHOR, "more", NO_CAP)
        .map(|r| r.commit)
        .expect("commit")
        .expect("commit id");
    publish_branch(&user, &dest, "corral/t-2").expect("publish again");
    assert_eq!(git(&user, &["rev-parse", "corral/t-2"]), second);

    // A branch the user has checked out is never overwritten.
    git(&user, &["stash", "-q"]);
    git(&user, &["checkout", "-q", "corral/t-2"]);
    let err = publish_branch(&user, &dest, "corral/t-2").expect_err("checked out");
    assert!(err.to_string().contains("checked out"), "{err}");
}

#[test]
fn diffs_list_status_counts_binaries_and_cap_patches() {
    let dir = tempfile::tempdir().expect("temp");
    let user = user_repo(dir.path());
    let dest = dir.path().join("co");
    let checkout = create_checkout(&user, "main", "corral/t-3", &dest).expect("checkout");
    std::fs::write(
        dest.join("src/lib.rs"),
        "fn a() {}\nfn b2() {}\nfn c() {}\n",
    )
    .expect("write");
    std::fs::write(
        dest.join("image.png"),
        [0x89u8, b'P', b'N', b'G', 0, 0, 1, 2],
    )
    .expect("write");
    std::fs::remove_file(dest.join("old.txt")).expect("rm");
    let big: String = (0..5000).map(|i| format!("line {i}\n")).collect();
    std::fs::write(dest.join("big.txt"), &big).expect("write");

    // Live: the working tree against the base, untracked files included.
    let live = diff(&dest, &checkout.base_commit, None, 1024).expect("live diff");
    let find =
        |files: &[corral_git::FileDiff], p: &str| files.iter().find(|f| f.path == p).cloned();
    let lib = find(&live, "src/lib.rs").expect("lib.rs");
    assert_eq!(
        (lib.status, lib.added, lib.removed),
        (FileStatus::Modified, 2, 1)
    );
    assert!(lib.patch.as_deref().expect("patch").contains("+fn c() {}"));
    let png = find(&live, "image.png").expect("png");
    assert!(png.binary && png.patch.is_none());
    assert_eq!(
        find(&live, "old.txt").expect("old").status,
        FileStatus::Deleted
    );
    let big_diff = find(&live, "big.txt").expect("big");
    assert_eq!(big_diff.added, 5000);
    assert!(big_diff.truncated && big_diff.patch.as_deref().expect("patch").len() < 1200);

    // After the commit: the same picture between two commits.
    let result = commit_all(&dest, AUTHOR, "r", NO_CAP)
        .map(|r| r.commit)
        .expect("commit")
        .expect("id");
    let committed = diff(&dest, &checkout.base_commit, Some(&result), 1 << 20).expect("diff");
    assert_eq!(committed.len(), 4);
    assert!(!find(&committed, "big.txt").expect("big").truncated);
}

#[test]
fn one_files_diff_has_numbered_lines_and_a_symlink_shows_only_its_target_text() {
    use corral_git::{LineKind, file_diff};
    let dir = tempfile::tempdir().expect("temp");
    let user = user_repo(dir.path());
    let dest = dir.path().join("co");
    let checkout = create_checkout(&user, "main", "corral/t-9", &dest).expect("checkout");
    std::fs::write(dest.join("src/lib.rs"), "fn a() {}\nfn c() {}\n").expect("write");
    std::os::unix::fs::symlink("/etc/passwd", dest.join("passwd")).expect("symlink");

    let lib = file_diff(&dest, &checkout.base_commit, None, "src/lib.rs", 1 << 20)
        .expect("diff")
        .expect("changed");
    let lines: Vec<(LineKind, Option<u32>, Option<u32>, &str)> = lib
        .lines
        .iter()
        .map(|l| (l.kind, l.old, l.new, l.text.as_str()))
        .collect();
    assert_eq!(lines[0].0, LineKind::Hunk);
    assert_eq!(
        &lines[1..],
        &[
            (LineKind::Context, Some(1), Some(1), "fn a() {}"),
            (LineKind::Removed, Some(2), None, "fn b() {}"),
            (LineKind::Added, None, Some(2), "fn c() {}"),
        ]
    );

    let link = file_diff(&dest, &checkout.base_commit, None, "passwd", 1 << 20)
        .expect("diff")
        .expect("changed");
    assert!(link.symlink);
    let texts: Vec<&str> = link
        .lines
        .iter()
        .filter(|l| l.kind == LineKind::Added)
        .map(|l| l.text.as_str())
        .collect();
    assert_eq!(
        texts,
        ["/etc/passwd"],
        "the link, never the file it points to"
    );
    assert!(
        file_diff(&dest, &checkout.base_commit, None, "README.md", 1 << 20)
            .expect("diff")
            .is_none(),
        "an unchanged file has no diff"
    );
}

#[test]
fn bad_inputs_fail_cleanly_and_leave_nothing_behind() {
    let dir = tempfile::tempdir().expect("temp");
    let user = user_repo(dir.path());
    let dest = dir.path().join("co");
    let err = create_checkout(&user, "no-such-branch", "corral/t-4", &dest).expect_err("bad base");
    assert!(
        err.to_string().contains("neither a branch nor a commit"),
        "{err}"
    );
    assert!(!dest.exists(), "no half-made checkout");

    create_checkout(&user, "main", "corral/t-4", &dest).expect("checkout");
    let again = create_checkout(&user, "main", "corral/t-4", &dest).expect_err("dest exists");
    assert!(again.to_string().contains("exists already"), "{again}");

    // Starting from a commit id works too, and the branch name must be new in the clone.
    let head = git(&user, &["rev-parse", "HEAD"]);
    let by_commit = dir.path().join("co2");
    create_checkout(&user, &head, "corral/t-5", &by_commit).expect("from a commit");
    let collide = dir.path().join("co3");
    let err = create_checkout(&user, "main", "main", &collide).expect_err("branch collision");
    assert!(matches!(err, GitError::BranchExists { .. }), "{err:?}");
    assert!(!collide.exists());
}

/// A run that changed `src/lib.rs`'s second line and added a file, committed on its branch.
fn finished_run(dir: &Path, user: &Path, branch: &str) -> (PathBuf, String) {
    let name = branch.replace('/', "-");
    let dest = dir.join(format!("co-{name}"));
    create_checkout(user, "main", branch, &dest).expect("checkout");
    std::fs::write(
        dest.join("src/lib.rs"),
        format!("fn a() {{}}\nfn b_{}() {{}}\n", name.replace('-', "_")),
    )
    .expect("write");
    std::fs::write(dest.join(format!("{name}.txt")), "run\n").expect("write");
    let result = commit_all(&dest, AUTHOR, "run", NO_CAP)
        .map(|r| r.commit)
        .expect("commit")
        .expect("id");
    (dest, result)
}

#[test]
fn merge_fast_forwards_a_branch_that_is_not_checked_out_leaving_the_users_tree_alone() {
    let dir = tempfile::tempdir().expect("temp");
    let user = user_repo(dir.path());
    let (co, result) = finished_run(dir.path(), &user, "corral/m-1");

    let before = git(&user, &["rev-parse", "main"]);

    // On another branch, with uncommitted work: main moves forward, the work stays.
    git(&user, &["checkout", "-q", "-b", "side"]);
    std::fs::write(user.join("README.md"), "hello\nwip\n").expect("write");
    let outcome =
        corral_git::merge_run(&user, &co, "corral/m-1", "main", AUTHOR, MERGE).expect("merge");
    assert_eq!(
        outcome,
        corral_git::MergeOutcome::FastForward {
            commit: result.clone()
        }
    );
    assert_eq!(git(&user, &["rev-parse", "main"]), result);
    assert_eq!(
        git(&user, &["merge-base", "--is-ancestor", &before, "main"]),
        ""
    );
    assert_eq!(git(&user, &["status", "--porcelain"]), "M README.md");
    assert!(
        !user.join("corral-m-1.txt").exists(),
        "the user's working tree is untouched"
    );

    let again =
        corral_git::merge_run(&user, &co, "corral/m-1", "main", AUTHOR, MERGE).expect("again");
    assert!(
        matches!(again, corral_git::MergeOutcome::AlreadyMerged { .. }),
        "{again:?}"
    );
}

#[test]
fn merge_joins_a_moved_target_and_reports_conflicts_without_changing_anything() {
    let dir = tempfile::tempdir().expect("temp");
    let user = user_repo(dir.path());
    let (co, result) = finished_run(dir.path(), &user, "corral/m-2");
    // The user moves main on with an unrelated change, then works elsewhere.
    std::fs::write(user.join("user.txt"), "user\n").expect("write");
    git(&user, &["add", "."]);
    git(&user, &["commit", "-qm", "user work"]);
    let user_main = git(&user, &["rev-parse", "main"]);
    git(&user, &["checkout", "-q", "-b", "side"]);

    let outcome =
        corral_git::merge_run(&user, &co, "corral/m-2", "main", AUTHOR, MERGE).expect("merge");
    let corral_git::MergeOutcome::Merged { commit } = outcome else {
        panic!("expected a merge commit, got {outcome:?}")
    };
    assert_eq!(git(&user, &["rev-parse", "main"]), commit);
    let parents = git(&user, &["log", "-1", "--format=%P", "main"]);
    assert_eq!(parents, format!("{user_main} {result}"));
    let files = git(&user, &["ls-tree", "--name-only", "main"]);
    assert!(
        files.contains("corral-m-2.txt") && files.contains("user.txt"),
        "{files}"
    );

    // A second run that edits the same line as a new user commit conflicts.
    let (co3, _) = finished_run(dir.path(), &user, "corral/m-3");
    git(&user, &["checkout", "-q", "main"]);
    std::fs::write(user.join("src/lib.rs"), "fn a() {}\nfn b_from_user() {}\n").expect("write");
    git(&user, &["commit", "-qam", "user edit"]);
    git(&user, &["checkout", "-q", "side"]);
    let before = git(&user, &["rev-parse", "main"]);
    let err = corral_git::merge_run(&user, &co3, "corral/m-3", "main", AUTHOR, MERGE)
        .expect_err("conflict");
    match &err {
        GitError::MergeConflict { paths, .. } => assert_eq!(paths, &vec!["src/lib.rs".to_string()]),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(err.to_string().contains("src/lib.rs"), "{err}");
    assert_eq!(
        git(&user, &["rev-parse", "main"]),
        before,
        "nothing changed"
    );
}

#[test]
fn a_zero_cap_gives_counts_without_patch_text() {
    let dir = tempfile::tempdir().expect("temp");
    let user = user_repo(dir.path());
    let dest = dir.path().join("co");
    let checkout = create_checkout(&user, "main", "corral/t-10", &dest).expect("checkout");
    std::fs::write(dest.join("src/lib.rs"), "fn a() {}\nfn c() {}\n").expect("write");
    let files = diff(&dest, &checkout.base_commit, None, 0).expect("diff");
    let lib = files
        .iter()
        .find(|f| f.path == "src/lib.rs")
        .expect("lib.rs");
    assert_eq!((lib.added, lib.removed), (1, 1));
    assert_eq!((lib.patch.as_deref(), lib.truncated), (None, false));
}

#[test]
fn files_over_the_cap_and_non_files_stay_out_of_the_commit_and_are_listed() {
    use corral_git::LeftOut;
    let dir = tempfile::tempdir().expect("temp");
    let user = user_repo(dir.path());
    let dest = dir.path().join("co");
    create_checkout(&user, "main", "corral/t-1", &dest).expect("checkout");
    // Sparse 4 GiB: a few bytes on disk, 4 GiB to read.
    let sparse = std::fs::File::create(dest.join("big.bin")).expect("create");
    sparse.set_len(4 << 30).expect("truncate");
    std::fs::write(dest.join("small.txt"), "small\n").expect("write");
    // A tracked file grown past the cap keeps its committed version.
    std::fs::write(dest.join("src/lib.rs"), vec![b'x'; 2048]).expect("write");
    let fifo = Command::new("mkfifo")
        .arg(dest.join("pipe"))
        .status()
        .expect("mkfifo");
    assert!(fifo.success());
    let started = std::time::Instant::now();
    let recorded = commit_all(&dest, AUTHOR, "r", 1024).expect("commit");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "the 4 GiB file is never read"
    );
    let mut left_out = recorded.left_out.clone();
    left_out.sort_by(|a, b| a.path.cmp(&b.path));
    assert_eq!(
        left_out,
        [
            LeftOut {
                path: "big.bin".into(),
                size: 4 << 30,
            },
            LeftOut {
                path: "src/lib.rs".into(),
                size: 2048,
            },
        ]
    );
    let commit = recorded.commit.expect("small.txt was committed");
    let files = git(&dest, &["ls-tree", "-r", "--name-only", &commit]);
    assert!(files.contains("small.txt"), "{files}");
    assert!(
        !files.contains("big.bin") && !files.contains("pipe"),
        "{files}"
    );
    assert_eq!(
        git(&dest, &["show", &format!("{commit}:src/lib.rs")]),
        git(&user, &["show", "main:src/lib.rs"]),
        "the grown file keeps its committed version"
    );
}

#[test]
fn a_huge_file_in_a_live_checkout_is_diffed_as_binary_without_being_read() {
    let dir = tempfile::tempdir().expect("temp");
    let user = user_repo(dir.path());
    let dest = dir.path().join("co");
    let checkout = create_checkout(&user, "main", "corral/t-1", &dest).expect("checkout");
    let sparse = std::fs::File::create(dest.join("big.bin")).expect("create");
    sparse.set_len(4 << 30).expect("truncate");
    std::fs::write(dest.join("small.txt"), "a\nb\n").expect("write");
    let started = std::time::Instant::now();
    let files = diff(&dest, &checkout.base_commit, None, 0).expect("diff");
    let took = started.elapsed();
    let big = files.iter().find(|f| f.path == "big.bin").expect("listed");
    assert!(big.binary, "{big:?}");
    assert_eq!((big.added, big.removed), (0, 0));
    let small = files
        .iter()
        .find(|f| f.path == "small.txt")
        .expect("listed");
    assert_eq!(small.added, 2);
    assert!(
        took < std::time::Duration::from_secs(20),
        "4 GiB are not read: {took:?}"
    );
}

#[test]
fn a_result_is_in_the_branch_once_merged_by_hand_directly_or_through_a_later_commit() {
    let dir = tempfile::tempdir().expect("temp");
    let user = user_repo(dir.path());
    let (co_a, a) = finished_run(dir.path(), &user, "corral/a-1");
    let (co_b, b) = finished_run(dir.path(), &user, "corral/b-1");
    publish_branch(&user, &co_a, "corral/a-1").expect("publish a");
    publish_branch(&user, &co_b, "corral/b-1").expect("publish b");
    let tip = corral_git::branch_tip(&user, "main").expect("tip");
    let commits = [a.clone(), b.clone(), "not-a-commit".into(), "0".repeat(40)];
    assert_eq!(
        corral_git::reachable_from(&user, &tip, &commits).expect("reach"),
        vec![false, false, false, false]
    );

    // The user merges b with their own git; a stays out.
    git(
        &user,
        &["merge", "-q", "--no-ff", "-m", "take b", "corral/b-1"],
    );
    let tip = corral_git::branch_tip(&user, "main").expect("tip");
    assert_eq!(tip, git(&user, &["rev-parse", "main"]).trim());
    assert_eq!(
        corral_git::reachable_from(&user, &tip, &[a.clone(), b.clone()]).expect("reach"),
        vec![false, true]
    );
    // HEAD names the checked-out branch too.
    assert_eq!(corral_git::branch_tip(&user, "HEAD").expect("HEAD"), tip);
    assert!(corral_git::branch_tip(&user, "no-such-branch").is_err());
}

#[test]
fn with_main_checked_out_a_merge_updates_the_users_tree_and_never_touches_their_work() {
    // A conflict is found in the run's checkout: the user's tree is never touched.
    let dir = tempfile::tempdir().expect("temp");
    let user = user_repo(dir.path());
    let (co, _) = finished_run(dir.path(), &user, "corral/w-1");
    std::fs::write(user.join("src/lib.rs"), "fn theirs() {}\n").expect("write");
    git(&user, &["commit", "-qam", "theirs"]);
    let head = git(&user, &["rev-parse", "HEAD"]);
    let err = corral_git::merge_run(&user, &co, "corral/w-1", "main", AUTHOR, MERGE)
        .expect_err("conflict");
    let GitError::MergeConflict { paths, .. } = err else {
        panic!("{err:?}");
    };
    assert_eq!(paths, ["src/lib.rs"]);
    assert_eq!(git(&user, &["rev-parse", "HEAD"]), head);
    assert_eq!(
        git(&user, &["status", "--porcelain"]),
        "",
        "the tree as it was"
    );

    // An untracked file of the user's where the run adds one: refused, nothing changed.
    let dir = tempfile::tempdir().expect("temp");
    let user = user_repo(dir.path());
    let (co, result) = finished_run(dir.path(), &user, "corral/w-2");
    std::fs::write(user.join("corral-w-2.txt"), "the user's own\n").expect("write");
    let err = corral_git::merge_run(&user, &co, "corral/w-2", "main", AUTHOR, MERGE)
        .expect_err("the user's file");
    let GitError::LocalChanges { paths, .. } = err else {
        panic!("{err:?}");
    };
    assert_eq!(paths, ["corral-w-2.txt"]);
    assert_eq!(
        std::fs::read_to_string(user.join("corral-w-2.txt")).expect("kept"),
        "the user's own\n"
    );
    // Out of the way, with a change of theirs to another file: a fast-forward in their tree,
    // their change kept.
    std::fs::remove_file(user.join("corral-w-2.txt")).expect("rm");
    std::fs::write(user.join("README.md"), "hello\nmine\n").expect("write");
    let outcome =
        corral_git::merge_run(&user, &co, "corral/w-2", "main", AUTHOR, MERGE).expect("merge");
    assert_eq!(
        outcome,
        corral_git::MergeOutcome::FastForward { commit: result }
    );
    assert_eq!(
        std::fs::read_to_string(user.join("corral-w-2.txt")).expect("the run's file"),
        "run\n"
    );
    assert_eq!(
        std::fs::read_to_string(user.join("README.md")).expect("theirs"),
        "hello\nmine\n"
    );
}

#[test]
fn a_merge_of_the_users_in_progress_is_refused_not_touched() {
    let dir = tempfile::tempdir().expect("temp");
    let user = user_repo(dir.path());
    let (co, _) = finished_run(dir.path(), &user, "corral/w-3");
    // The user is mid-merge of a branch of theirs, with a conflict to resolve.
    git(&user, &["checkout", "-q", "-b", "theirs"]);
    std::fs::write(user.join("README.md"), "from theirs\n").expect("write");
    git(&user, &["commit", "-qam", "theirs"]);
    git(&user, &["checkout", "-q", "main"]);
    std::fs::write(user.join("README.md"), "from main\n").expect("write");
    git(&user, &["commit", "-qam", "main"]);
    let _ = Command::new("git")
        .args(["-C", user.to_str().expect("utf-8"), "merge", "-q", "theirs"])
        .output();
    assert!(
        user.join(".git/MERGE_HEAD").exists(),
        "the user's merge is in progress"
    );
    let err = corral_git::merge_run(&user, &co, "corral/w-3", "main", AUTHOR, MERGE)
        .expect_err("refused");
    assert!(err.to_string().contains("a merge in progress"), "{err}");
    assert!(
        user.join(".git/MERGE_HEAD").exists(),
        "their merge is left alone"
    );
}

#[test]
fn merge_styles_squash_into_one_commit_without_the_users_staged_work_and_ff_only_refuses() {
    // Squash with main checked out and something of the user's staged: one commit with the
    // run's work only; theirs stays staged.
    let dir = tempfile::tempdir().expect("temp");
    let user = user_repo(dir.path());
    let (co, _) = finished_run(dir.path(), &user, "corral/w-4");
    std::fs::write(user.join("staged.txt"), "theirs\n").expect("write");
    git(&user, &["add", "staged.txt"]);
    let before = git(&user, &["rev-parse", "HEAD"]);
    let squashed = corral_git::merge_run(
        &user,
        &co,
        "corral/w-4",
        "main",
        AUTHOR,
        (corral_git::MergeStyle::Squash, "The run, squashed"),
    )
    .expect("squash");
    assert!(
        matches!(squashed, corral_git::MergeOutcome::Squashed { .. }),
        "{squashed:?}"
    );
    assert_eq!(
        git(&user, &["rev-parse", "HEAD^"]),
        before,
        "one commit on main"
    );
    assert_eq!(
        git(&user, &["log", "-1", "--format=%s"]),
        "The run, squashed"
    );
    let files = git(&user, &["show", "--name-only", "--format=", "HEAD"]);
    assert!(!files.contains("staged.txt"), "{files}");
    assert_eq!(
        git(&user, &["diff", "--cached", "--name-only"]),
        "staged.txt"
    );
    // Squashed again: nothing new to put in.
    let again = corral_git::merge_run(
        &user,
        &co,
        "corral/w-4",
        "main",
        AUTHOR,
        (corral_git::MergeStyle::Squash, "again"),
    )
    .expect("again");
    assert!(
        matches!(again, corral_git::MergeOutcome::AlreadyMerged { .. }),
        "{again:?}"
    );

    // ff-only with main moved on: refused, nothing changed.
    let dir = tempfile::tempdir().expect("temp");
    let user = user_repo(dir.path());
    let (co, _) = finished_run(dir.path(), &user, "corral/w-5");
    std::fs::write(user.join("other.txt"), "moved on\n").expect("write");
    git(&user, &["add", "."]);
    git(&user, &["commit", "-qm", "moved on"]);
    let head = git(&user, &["rev-parse", "HEAD"]);
    let err = corral_git::merge_run(
        &user,
        &co,
        "corral/w-5",
        "main",
        AUTHOR,
        (corral_git::MergeStyle::FfOnly, "unused"),
    )
    .expect_err("not a fast-forward");
    assert!(matches!(err, GitError::NotFastForward { .. }), "{err:?}");
    assert_eq!(git(&user, &["rev-parse", "HEAD"]), head);
}

#[test]
fn merging_work_into_a_sandbox_written_checkout_never_writes_through_its_links() {
    let dir = tempfile::tempdir().expect("tmp");
    let user = user_repo(dir.path());
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&outside).expect("mkdir");
    // The orchestrator's checkout: `build` is ignored (so not in its committed result), and the
    // sandbox made it a link out of the checkout.
    let ours =
        create_checkout(&user, "main", "corral/ours", &dir.path().join("ours")).expect("ours");
    std::fs::write(ours.path.join(".gitignore"), "build\n").expect("write");
    commit_all(&ours.path, AUTHOR, "ignore build", NO_CAP).expect("commit");
    std::os::unix::fs::symlink(&outside, ours.path.join("build")).expect("link");
    // A subtask's result puts a file under `build/` (its agent forced it into its commit).
    let theirs = create_checkout(&user, "main", "corral/theirs", &dir.path().join("theirs"))
        .expect("theirs");
    std::fs::create_dir_all(theirs.path.join("build")).expect("mkdir");
    std::fs::write(theirs.path.join("build/owned"), "owned\n").expect("write");
    git(&theirs.path, &["add", "-f", "build/owned"]);
    git(
        &theirs.path,
        &[
            "-c",
            "user.name=a",
            "-c",
            "user.email=a@a",
            "commit",
            "-qm",
            "theirs",
        ],
    );
    let commit = corral_git::branch_tip(&theirs.path, "corral/theirs").expect("tip");
    publish_branch(&ours.path, &theirs.path, "corral/theirs").expect("fetch");
    let merged = corral_git::merge_upstream(
        &ours.path,
        "corral/ours",
        &[corral_git::UpstreamResult {
            label: "Theirs".into(),
            commit,
            branch: Some("corral/theirs".into()),
        }],
        AUTHOR,
    );
    assert!(
        !outside.join("owned").exists(),
        "the merge wrote through the link: {merged:?}"
    );
    // Refused, not forced: the link is in the way, and it stays a link.
    assert!(merged.is_err(), "{merged:?}");
    let link = std::fs::symlink_metadata(ours.path.join("build")).expect("still there");
    assert!(link.file_type().is_symlink());
}
