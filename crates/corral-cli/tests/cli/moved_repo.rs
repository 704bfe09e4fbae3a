//! A project's repository folder moved: runs say so in Corral's words, with the fix, and
//! `project set path=` points the project at the new place.

use super::{Env, json, s, test_image};

#[test]
fn a_moved_repository_is_named_with_the_fix_and_path_points_the_project_at_it() {
    test_image();
    let env = Env::new();
    let repo = env.project("r", &["agent-image=corral-test/busybox:1"]);
    env.sh_task("r", "Touch", "echo hi > hi.txt");
    let moved = env.dir.path().join("moved here");
    std::fs::rename(&repo, &moved).expect("move the repository");

    let ran = env.corral(&["run", "Touch", "--follow"]);
    assert_eq!(ran.code, 1, "{}", ran.stdout);
    let runs = json(&env.ok(&["runs", "--json"]));
    let reason = runs[0]["reason"].as_str().expect("a reason").to_string();
    assert!(
        reason.contains("is not there any more") && reason.contains("path=<folder>"),
        "{reason}"
    );
    assert!(!reason.contains("unsupported URL protocol"), "{reason}");

    // Not a repository: refused with the reason, nothing changed.
    let plain = env.dir.path().join("plain");
    std::fs::create_dir_all(&plain).expect("mkdir");
    let line = env.fails(&["project", "set", "r", &format!("path={}", s(&plain))]);
    assert!(line.contains("not a git repository"), "{line}");

    env.ok(&["project", "set", "r", &format!("path={}", s(&moved))]);
    let shown = json(&env.ok(&["project", "show", "r", "--json"]));
    assert_eq!(
        shown["source"]["path"].as_str().map(std::path::Path::new),
        Some(moved.canonicalize().expect("canonical").as_path()),
        "{shown}"
    );
    let ran = env.corral(&["run", "Touch", "--follow"]);
    assert_eq!(ran.code, 0, "{}{}", ran.stdout, ran.stderr);
}
