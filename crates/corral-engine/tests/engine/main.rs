//! Engine integration tests: real git repositories in temp dirs, a real SQLite file, and the
//! machine's real Docker daemon for the doctor.

mod disk_full;
mod docker_stops;
mod doctor;
mod local_runs;
mod open;
mod projects;
mod runs;
mod tasks;
mod url_projects;

use std::path::{Path, PathBuf};
use std::process::Command;

use corral_engine::{Config, Engine};

#[derive(Debug)]
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub engine: Engine,
}

impl Fixture {
    pub async fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let engine = Engine::open(Config::new(dir.path().join("data")))
            .await
            .expect("opens");
        Fixture { dir, engine }
    }

    /// A git repository with one commit on `main`, at `<tmp>/<name>`.
    pub fn repo(&self, name: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::create_dir_all(&path).expect("mkdir");
        git(&path, &["init", "-q", "-b", "main"]);
        std::fs::write(path.join("README"), "hello").expect("write");
        git(&path, &["add", "."]);
        git(&path, &["commit", "-qm", "first"]);
        path
    }

    pub fn plain_dir(&self, name: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::create_dir_all(&path).expect("mkdir");
        path
    }
}

pub fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}
