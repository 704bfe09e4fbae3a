//! Watcher figures on this machine. Prints numbers; asserts nothing about speed.
//! Run: `cargo bench -p corral-watch --bench watch`.
//!
//! - latency: a file written in the checkout until its change reaches the subscriber,
//!   p50/p95/p99 over 1,000 writes (the 30 ms coalescing window is part of it);
//! - storm: 10,000 files created by another process within a second (like a package
//!   install): time from its last write until the reported set equals git status's, and the
//!   watcher process's CPU time meanwhile;
//! - a checkout of 100,000 files (1,000 folders): watch set-up time and the RSS it adds.
#![allow(clippy::expect_used, clippy::cast_possible_truncation)] // tests and benchmarks: a failure is the report

use corral_testkit::git;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use corral_watch::{ChangeKind, WatchConfig, WatchEvent, watch};

fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tmp");
    git(dir.path(), &["init", "-q", "-b", "main"]);
    std::fs::write(dir.path().join("README"), "x").expect("write");
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-qm", "first"]);
    dir
}

/// CPU seconds (user + system) of this process so far.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of stat; 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn latency() {
    let dir = repo();
    let (_handle, mut rx) = watch(dir.path(), WatchConfig::default()).expect("watch");
    let mut samples = Vec::with_capacity(1000);
    for i in 0..1000 {
        let name = PathBuf::from(format!("f{i}.txt"));
        let start = Instant::now();
        std::fs::write(dir.path().join(&name), "x").expect("write");
        'wait: loop {
            match rx.recv().await {
                Some(WatchEvent::Changes(changes)) => {
                    if changes.iter().any(|c| c.path == name) {
                        break 'wait;
                    }
                }
                Some(_) => {}
                None => panic!("watch ended"),
            }
        }
        samples.push(start.elapsed());
    }
    samples.sort();
    println!(
        "latency over 1000 writes: p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&samples, 0.50).as_secs_f64() * 1000.0,
        percentile(&samples, 0.95).as_secs_f64() * 1000.0,
        percentile(&samples, 0.99).as_secs_f64() * 1000.0,
        samples[samples.len() - 1].as_secs_f64() * 1000.0,
    );
}

async fn storm() {
    let dir = repo();
    let (_handle, mut rx) = watch(dir.path(), WatchConfig::default()).expect("watch");
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    // Another process (this binary, re-run) writes, so the CPU figure is the watcher's alone.
    let writer = tokio::process::Command::new(std::env::current_exe().expect("exe"))
        .arg("--write-storm")
        .arg(dir.path())
        .status();
    let mut seen: BTreeSet<PathBuf> = BTreeSet::new();
    let mut rescans = 0;
    tokio::pin!(writer);
    let mut writer_done: Option<Instant> = None;
    let settled = loop {
        tokio::select! {
            status = &mut writer, if writer_done.is_none() => {
                assert!(status.expect("writer").success());
                writer_done = Some(Instant::now());
            }
            event = tokio::time::timeout(Duration::from_secs(10), rx.recv()) => match event {
                Ok(Some(WatchEvent::Changes(changes))) => {
                    for c in changes {
                        match c.kind {
                            ChangeKind::Removed => { seen.remove(&c.path); }
                            _ => { seen.insert(c.path); }
                        }
                    }
                }
                Ok(Some(WatchEvent::Rescan { files, .. })) => {
                    rescans += 1;
                    seen = files.into_iter().map(|c| c.path).collect();
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => panic!("no more events; saw {}", seen.len()),
            }
        }
        if let Some(done) = writer_done
            && seen.len() == 10_000
        {
            break done.elapsed();
        }
    };
    let cpu = cpu_seconds() - cpu_before;
    let truth: BTreeSet<PathBuf> = corral_watch::changed_files(dir.path())
        .expect("status")
        .into_iter()
        .map(|c| c.path)
        .collect();
    println!(
        "storm: 10,000 files written in {:.2} s; settled {:.0} ms after the last write; \
         matches git status: {}; rescans {rescans}; watcher CPU {:.2} s",
        writer_done.map_or(0.0, |d| d.duration_since(started).as_secs_f64()),
        settled.as_secs_f64() * 1000.0,
        truth == seen,
        cpu
    );
}

async fn big_checkout() {
    let dir = tempfile::tempdir().expect("tmp");
    for d in 0..1000 {
        let folder = dir.path().join(format!("src/m{}/d{d}", d % 10));
        std::fs::create_dir_all(&folder).expect("mkdir");
        for f in 0..100 {
            std::fs::write(folder.join(format!("f{f}.rs")), "").expect("write");
        }
    }
    let rss_before = rss_kib();
    let start = Instant::now();
    let (handle, _rx) = watch(dir.path(), WatchConfig::default()).expect("watch");
    let setup = start.elapsed();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_after = rss_kib();
    println!(
        "100,000 files in 1,010 folders: watch set-up {:.0} ms; RSS +{} KiB ({} KiB -> {} KiB)",
        setup.as_secs_f64() * 1000.0,
        rss_after.saturating_sub(rss_before),
        rss_before,
        rss_after
    );
    drop(handle);
}

/// The storm's writer: 100 folders of 100 small files, as fast as it can.
fn write_storm(root: &Path) {
    for d in 0..100 {
        let folder = root.join(format!("pkg/d{d}"));
        std::fs::create_dir_all(&folder).expect("mkdir");
        for f in 0..100 {
            std::fs::write(folder.join(format!("f{f}.js")), "module.exports = 1;\n")
                .expect("write");
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--write-storm") {
        write_storm(Path::new(&args[i + 1]));
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        latency().await;
        storm().await;
        storm().await;
        big_checkout().await;
    });
}
