//! The watcher on real folders and real git repositories (inotify on this machine).
#![allow(clippy::expect_used, clippy::cast_possible_truncation)] // tests and benchmarks: a failure is the report

use corral_testkit::git;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use corral_watch::{Change, ChangeKind, WatchConfig, WatchEvent, WatchHandle, watch};
use tokio::sync::mpsc::Receiver;

fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tmp");
    git(dir.path(), &["init", "-q", "-b", "main"]);
    std::fs::write(dir.path().join("README"), "hello\n").expect("write");
    std::fs::write(dir.path().join(".gitignore"), "*.log\ntarget/\n").expect("write");
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-qm", "first"]);
    dir
}

struct Watching {
    _handle: WatchHandle,
    rx: Receiver<WatchEvent>,
    /// Latest kind per path, from changes and rescans.
    seen: BTreeMap<PathBuf, ChangeKind>,
    sizes: BTreeMap<PathBuf, Option<u64>>,
    events: Vec<WatchEvent>,
}

impl Watching {
    fn start(root: &Path, config: WatchConfig) -> Watching {
        let (handle, rx) = watch(root, config).expect("watch");
        Watching {
            _handle: handle,
            rx,
            seen: BTreeMap::new(),
            sizes: BTreeMap::new(),
            events: Vec::new(),
        }
    }

    fn record(&mut self, changes: &[Change]) {
        for c in changes {
            self.seen.insert(c.path.clone(), c.kind.clone());
            self.sizes.insert(c.path.clone(), c.size);
        }
    }

    /// Receives until `done` holds (or fails after `limit`).
    async fn until(&mut self, limit: Duration, mut done: impl FnMut(&Watching) -> bool) {
        let start = Instant::now();
        while !done(self) {
            let left = limit.saturating_sub(start.elapsed());
            assert!(!left.is_zero(), "timed out; saw {:?}", self.seen);
            match tokio::time::timeout(left, self.rx.recv()).await {
                Ok(Some(event)) => {
                    match &event {
                        WatchEvent::Changes(changes) => self.record(changes),
                        WatchEvent::Rescan { files, .. } => self.record(files),
                        _ => {}
                    }
                    self.events.push(event);
                }
                Ok(None) => panic!("the watch ended; saw {:?}", self.events),
                Err(_) => panic!("timed out; saw {:?}", self.seen),
            }
        }
    }

    fn kind(&self, path: &str) -> Option<&ChangeKind> {
        self.seen.get(Path::new(path))
    }
}

const LIMIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn creates_modifies_renames_and_removes_are_coalesced_per_path() {
    let dir = repo();
    let root = dir.path();
    let mut w = Watching::start(root, WatchConfig::default());
    std::fs::write(root.join("new.txt"), "1").expect("write");
    std::fs::write(root.join("new.txt"), "12").expect("write");
    std::fs::write(root.join("new.txt"), "123").expect("write");
    std::fs::write(root.join("README"), "changed\n").expect("write");
    w.until(LIMIT, |w| {
        w.kind("new.txt").is_some() && w.kind("README").is_some()
    })
    .await;
    assert_eq!(w.kind("new.txt"), Some(&ChangeKind::Created));
    assert_eq!(w.sizes[Path::new("new.txt")], Some(3));
    assert_eq!(w.kind("README"), Some(&ChangeKind::Modified));
    let creations = w
        .events
        .iter()
        .filter_map(|e| match e {
            WatchEvent::Changes(c) => Some(c),
            _ => None,
        })
        .flatten()
        .filter(|c| c.path == Path::new("new.txt"))
        .count();
    assert_eq!(creations, 1, "three writes, one change: {:?}", w.events);

    std::fs::rename(root.join("new.txt"), root.join("moved.txt")).expect("rename");
    w.until(LIMIT, |w| w.kind("moved.txt").is_some()).await;
    assert_eq!(
        w.kind("moved.txt"),
        Some(&ChangeKind::Renamed {
            from: PathBuf::from("new.txt")
        })
    );
    std::fs::remove_file(root.join("README")).expect("rm");
    w.until(LIMIT, |w| w.kind("README") == Some(&ChangeKind::Removed))
        .await;
}

#[tokio::test]
async fn odd_names_symlinks_and_big_files_are_reported_as_they_are() {
    let dir = repo();
    let root = dir.path();
    let mut w = Watching::start(root, WatchConfig::default());
    std::fs::write(root.join("with space.txt"), "a").expect("write");
    std::fs::write(root.join("new\nline.txt"), "b").expect("write");
    let bad = OsStr::from_bytes(b"bad\xffname.txt");
    std::fs::write(root.join(bad), "c").expect("write");
    std::os::unix::fs::symlink("/etc/passwd", root.join("passwd-link")).expect("symlink");
    w.until(LIMIT, |w| w.seen.len() >= 4).await;
    assert_eq!(w.kind("with space.txt"), Some(&ChangeKind::Created));
    assert_eq!(w.kind("new\nline.txt"), Some(&ChangeKind::Created));
    assert_eq!(w.seen.get(Path::new(bad)), Some(&ChangeKind::Created));
    // The link is reported as a link: no size, its target is not read.
    assert_eq!(w.kind("passwd-link"), Some(&ChangeKind::Created));
    assert_eq!(w.sizes[Path::new("passwd-link")], None);

    // 200 MB written in 1 MiB pieces: a handful of changes, the last with the full size.
    let big = root.join("big.bin");
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut f = std::fs::File::create(big).expect("create");
        let chunk = vec![7u8; 1 << 20];
        for _ in 0..200 {
            f.write_all(&chunk).expect("write");
        }
    })
    .await
    .expect("written");
    w.until(Duration::from_secs(30), |w| {
        w.sizes.get(Path::new("big.bin")) == Some(&Some(200 << 20))
    })
    .await;
    let big_changes = w
        .events
        .iter()
        .filter_map(|e| match e {
            WatchEvent::Changes(c) => Some(c),
            _ => None,
        })
        .flatten()
        .filter(|c| c.path == Path::new("big.bin"))
        .count();
    assert!(big_changes <= 100, "{big_changes} changes for one file");
}

#[tokio::test]
async fn git_internals_and_ignored_files_are_skipped_until_the_gitignore_changes() {
    let dir = repo();
    let root = dir.path();
    std::fs::create_dir_all(root.join("sub")).expect("mkdir");
    std::fs::write(root.join("sub/.gitignore"), "secret.txt\n").expect("write");
    git(root, &["add", "."]);
    git(root, &["commit", "-qm", "nested"]);
    let mut w = Watching::start(root, WatchConfig::default());
    std::fs::write(root.join("debug.log"), "x").expect("write");
    std::fs::create_dir_all(root.join("target/debug")).expect("mkdir");
    std::fs::write(root.join("target/debug/out"), "x").expect("write");
    std::fs::write(root.join("sub/secret.txt"), "x").expect("write");
    git(root, &["tag", "touch-git-dir"]);
    std::fs::write(root.join("visible.txt"), "x").expect("write");
    w.until(LIMIT, |w| w.kind("visible.txt").is_some()).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    while let Ok(event) = w.rx.try_recv() {
        if let WatchEvent::Changes(c) = &event {
            w.record(c);
        }
    }
    let paths: BTreeSet<String> = w.seen.keys().map(|p| p.display().to_string()).collect();
    assert_eq!(
        paths,
        BTreeSet::from(["visible.txt".to_string()]),
        "only the visible file"
    );

    // Un-ignoring *.log mid-run: a rescan reports the file that was ignored until now.
    std::fs::write(root.join(".gitignore"), "target/\n").expect("write");
    w.until(LIMIT, |w| w.kind("debug.log").is_some()).await;
    assert!(
        w.events.iter().any(
            |e| matches!(e, WatchEvent::Rescan { reason, .. } if reason.contains(".gitignore"))
        ),
        "{:?}",
        w.events
    );
}

#[tokio::test]
async fn deleting_a_folder_of_ten_thousand_files_reports_each_file() {
    let dir = repo();
    let root = dir.path();
    std::fs::create_dir_all(root.join("many/deep")).expect("mkdir");
    for i in 0..10_000 {
        let sub = if i % 2 == 0 { "many" } else { "many/deep" };
        std::fs::write(root.join(format!("{sub}/f{i}.txt")), "x").expect("write");
    }
    git(root, &["add", "."]);
    git(root, &["commit", "-qm", "many"]);
    let mut w = Watching::start(root, WatchConfig::default());
    std::fs::remove_dir_all(root.join("many")).expect("rm -rf");
    w.until(Duration::from_secs(30), |w| {
        w.seen
            .values()
            .filter(|k| **k == ChangeKind::Removed)
            .count()
            == 10_000
    })
    .await;
}

#[tokio::test]
async fn an_overflowing_queue_becomes_a_rescan_with_the_true_state() {
    let dir = repo();
    let root = dir.path();
    let config = WatchConfig {
        queue: 16,
        ..WatchConfig::default()
    };
    let mut w = Watching::start(root, config);
    for i in 0..3000 {
        std::fs::write(root.join(format!("n{i}.txt")), "x").expect("write");
    }
    w.until(Duration::from_secs(30), |w| w.seen.len() == 3000)
        .await;
    assert!(
        w.events
            .iter()
            .any(|e| matches!(e, WatchEvent::Rescan { .. })),
        "a queue of 16 cannot hold 3000 events without a rescan"
    );
    let git_set: BTreeSet<PathBuf> = corral_watch::changed_files(root)
        .expect("status")
        .into_iter()
        .map(|c| c.path)
        .collect();
    assert_eq!(git_set, w.seen.keys().cloned().collect());
}

#[tokio::test]
async fn without_inotify_watches_it_polls_and_says_so() {
    let dir = repo();
    let root = dir.path();
    let config = WatchConfig {
        simulate_watch_limit: true,
        poll_interval: Duration::from_millis(100),
        ..WatchConfig::default()
    };
    let mut w = Watching::start(root, config);
    w.until(LIMIT, |w| !w.events.is_empty()).await;
    match &w.events[0] {
        WatchEvent::Warning(text) => assert!(text.contains("max_user_watches"), "{text}"),
        other => panic!("expected a warning first, got {other:?}"),
    }
    std::fs::write(root.join("polled.txt"), "x").expect("write");
    w.until(LIMIT, |w| w.kind("polled.txt").is_some()).await;
}

#[tokio::test]
async fn the_checkout_deleted_ends_the_watch_with_root_gone() {
    let dir = repo();
    let root = dir.path().to_path_buf();
    let (_handle, mut rx) = watch(&root, WatchConfig::default()).expect("watch");
    std::fs::remove_dir_all(&root).expect("rm");
    let start = Instant::now();
    loop {
        match tokio::time::timeout(LIMIT, rx.recv()).await {
            Ok(Some(WatchEvent::RootGone)) => break,
            Ok(Some(_)) => {}
            other => panic!("expected RootGone, got {other:?}"),
        }
        assert!(start.elapsed() < LIMIT);
    }
    assert!(rx.recv().await.is_none(), "the watch ended");
}

/// The inotify watches of each watcher in this process (from `/proc/self/fdinfo`).
fn inotify_watch_counts() -> Vec<usize> {
    let mut counts = Vec::new();
    for fd in std::fs::read_dir("/proc/self/fd").expect("fds").flatten() {
        let is_inotify =
            std::fs::read_link(fd.path()).is_ok_and(|t| t.to_string_lossy().contains("inotify"));
        if !is_inotify {
            continue;
        }
        let info = std::fs::read_to_string(Path::new("/proc/self/fdinfo").join(fd.file_name()))
            .unwrap_or_default();
        counts.push(
            info.lines()
                .filter(|l| l.starts_with("inotify wd:"))
                .count(),
        );
    }
    counts
}

#[tokio::test]
async fn links_are_one_entry_each_and_never_followed_out_of_the_checkout() {
    let dir = repo();
    let root = dir.path();
    let mut w = Watching::start(root, WatchConfig::default());
    let link = |target: &str, at: &str| {
        std::os::unix::fs::symlink(target, root.join(at)).expect("symlink");
    };
    link("/", "rootlink");
    std::fs::create_dir(root.join("d")).expect("mkdir");
    link("/usr", "d/usr");
    link("..", "up");
    link(".", "loop");
    link("c2", "c1");
    link("/etc", "c2");
    // A link replaced by a real folder: the folder's files are the checkout's own.
    link("/usr", "swap");
    tokio::time::sleep(Duration::from_millis(100)).await;
    std::fs::remove_file(root.join("swap")).expect("rm link");
    std::fs::create_dir(root.join("swap")).expect("mkdir");
    std::fs::write(root.join("swap/inner.txt"), "x").expect("write");
    std::fs::write(root.join("after.txt"), "hi").expect("write");
    w.until(LIMIT, |w| {
        w.kind("after.txt").is_some() && w.kind("swap/inner.txt").is_some()
    })
    .await;
    // A rescan (git status) sees the links as links too.
    std::fs::write(root.join(".gitignore"), "*.log\n").expect("write");
    w.until(LIMIT, |w| {
        w.events
            .iter()
            .any(|e| matches!(e, WatchEvent::Rescan { .. }))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    while let Ok(event) = w.rx.try_recv() {
        if let WatchEvent::Changes(c) | WatchEvent::Rescan { files: c, .. } = &event {
            w.record(c);
        }
        w.events.push(event);
    }
    let expected: BTreeSet<&str> = [
        "rootlink",
        "d/usr",
        "up",
        "loop",
        "c1",
        "c2",
        "swap/inner.txt",
        "after.txt",
        ".gitignore",
    ]
    .into_iter()
    .collect();
    let seen: BTreeSet<String> = w
        .seen
        .keys()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let unexpected: Vec<&String> = seen
        .iter()
        .filter(|p| !expected.contains(p.as_str()) && p.as_str() != "swap")
        .collect();
    assert!(
        unexpected.is_empty(),
        "only the links themselves and the checkout's own files: {unexpected:?}"
    );
    let links: BTreeMap<String, Option<String>> = w
        .events
        .iter()
        .flat_map(|e| match e {
            WatchEvent::Changes(c) | WatchEvent::Rescan { files: c, .. } => c.clone(),
            _ => Vec::new(),
        })
        .filter(|c| c.kind != ChangeKind::Removed)
        .map(|c| (c.path.to_string_lossy().into_owned(), c.link))
        .collect();
    for (path, target) in [
        ("rootlink", "/"),
        ("d/usr", "/usr"),
        ("up", ".."),
        ("loop", "."),
        ("c1", "c2"),
        ("c2", "/etc"),
    ] {
        assert_eq!(links.get(path), Some(&Some(target.to_string())), "{path}");
        assert_eq!(
            w.sizes[Path::new(path)],
            None,
            "{path}: no size read through it"
        );
    }
    assert_eq!(links.get("after.txt"), Some(&None));
    // Nothing outside the checkout is watched: a handful of watches, not the host's folders.
    let counts = inotify_watch_counts();
    assert!(
        counts.iter().all(|&n| n < 200),
        "inotify watches per watcher: {counts:?}"
    );
}
