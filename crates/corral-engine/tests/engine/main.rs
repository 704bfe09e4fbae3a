//! Engine integration tests: real git repositories in temp dirs, a real SQLite file, and the
//! machine's real Docker daemon for the doctor.
#![allow(clippy::expect_used, clippy::cast_possible_truncation)] // tests and benchmarks: a failure is the report
#![allow(clippy::disallowed_methods)] // their blocking calls stall no engine but their own

mod approve;
mod ask;
mod checks;
mod consult;
mod disk_full;
mod docker_stops;
mod doctor;
mod listing;
mod local_runs;
mod mcp;
mod open;
mod orchestrate;
mod orchestrate_tools;
mod projects;
mod runs;
mod tasks;
mod upstream;
mod url_projects;

pub use corral_testkit::git;
use std::path::{Path, PathBuf};

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

pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}
