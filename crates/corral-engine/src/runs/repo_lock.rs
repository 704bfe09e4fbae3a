//! Corral's own writes into a project's repository (publishing a run's branch, merging,
//! deleting a merged branch, fetching a mirror) and its reads of it (clones for new checkouts,
//! looking up what the project branch holds) take turns, across every process on the data dir.
//! libgit2's local clone lists the repository's pack files and then opens them, so a pack that a
//! concurrent write renames away in between fails the clone ("could not find
//! .../pack_git2_..."); two publishes at once contend for `shallow.lock`. Found by the graph
//! benchmark: 200 tasks, 4 at a time. Reads share the lock; a write holds it alone.

use std::fs::File;
use std::path::Path;

use corral_core::ProjectId;
use corral_git::GitError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

/// Blocks until this process may read or write `project`'s repository; the turn lasts as long
/// as the returned file is held. Blocking: call it inside `spawn_blocking`.
pub(crate) fn lock_repo(
    data_dir: &Path,
    project: ProjectId,
    access: Access,
) -> Result<File, GitError> {
    let dir = data_dir.join("locks");
    let path = dir.join(format!("repo-{project}.lock"));
    let failed = |e: std::io::Error| GitError::Other {
        path: path.display().to_string(),
        message: format!("taking the repository's lock: {e}"),
    };
    std::fs::create_dir_all(&dir).map_err(failed)?;
    let file = File::create(&path).map_err(failed)?;
    match access {
        Access::Read => file.lock_shared(),
        Access::Write => file.lock(),
    }
    .map_err(failed)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_share_the_turn_and_a_writer_waits_for_them() {
        let dir = tempfile::tempdir().expect("temp dir");
        let project = ProjectId::new();
        let r1 = lock_repo(dir.path(), project, Access::Read).expect("first reader");
        let r2 = lock_repo(dir.path(), project, Access::Read).expect("second reader");
        let path = dir
            .path()
            .join("locks")
            .join(format!("repo-{project}.lock"));
        let probe = File::open(&path).expect("open");
        assert!(
            probe.try_lock().is_err(),
            "a writer waits while readers read"
        );
        drop((r1, r2));
        assert!(probe.try_lock().is_ok(), "and goes once they are done");
    }
}
