//! What Corral needs to know about a repository before it becomes a project.

use std::path::{Path, PathBuf};

use git2::{ErrorCode, Repository};

use crate::GitError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoInfo {
    /// The repository's root (its work tree, or the git dir of a bare repository), canonical.
    pub root: PathBuf,
    /// The branch HEAD points at; `None` when HEAD is detached.
    pub head_branch: Option<String>,
    pub head_commit: String,
    pub bare: bool,
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}

/// Checks that `path` is the root of a git repository with at least one commit.
pub fn inspect(path: &Path) -> Result<RepoInfo, GitError> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(GitError::PathMissing { path: shown(path) });
        }
        Err(e) => {
            return Err(GitError::Other {
                path: shown(path),
                message: e.to_string(),
            });
        }
    };
    if !meta.is_dir() {
        return Err(GitError::NotADirectory { path: shown(path) });
    }
    let repo = match Repository::open(path) {
        Ok(repo) => repo,
        Err(e) if e.code() == ErrorCode::NotFound => {
            let enclosing = Repository::discover(path)
                .ok()
                .and_then(|r| r.workdir().map(shown));
            return Err(GitError::NotARepo {
                path: shown(path),
                enclosing,
            });
        }
        Err(e) => {
            return Err(GitError::Other {
                path: shown(path),
                message: e.message().into(),
            });
        }
    };
    let head = match repo.head() {
        Ok(head) => head,
        Err(e) if matches!(e.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound) => {
            return Err(GitError::NoCommits { path: shown(path) });
        }
        Err(e) => {
            return Err(GitError::Other {
                path: shown(path),
                message: e.message().into(),
            });
        }
    };
    let commit = head.peel_to_commit().map_err(|e| GitError::Other {
        path: shown(path),
        message: e.message().into(),
    })?;
    let head_branch = if head.is_branch() {
        head.shorthand().ok().map(str::to_string)
    } else {
        None
    };
    let root = repo.workdir().unwrap_or_else(|| repo.path());
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    Ok(RepoInfo {
        root,
        head_branch,
        head_commit: commit.id().to_string(),
        bare: repo.is_bare(),
    })
}

/// The linked libgit2 version, e.g. "1.9.1".
pub fn libgit2_version() -> String {
    let (major, minor, rev) = git2::Version::get().libgit2_version();
    format!("{major}.{minor}.{rev}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_testkit::git;

    #[test]
    fn a_repo_with_a_commit_is_inspected() {
        let dir = tempfile::tempdir().expect("temp");
        let repo = dir.path().join("my répo");
        std::fs::create_dir(&repo).expect("mkdir");
        git(&repo, &["init", "-q", "-b", "trunk"]);
        std::fs::write(repo.join("a.txt"), "a").expect("write");
        git(&repo, &["add", "."]);
        git(&repo, &["commit", "-qm", "first"]);
        let info = inspect(&repo).expect("inspects");
        assert_eq!(info.head_branch.as_deref(), Some("trunk"));
        assert_eq!(info.head_commit.len(), 40);
        assert!(!info.bare);
        assert!(info.root.ends_with("my répo"));
    }

    #[test]
    fn each_bad_path_has_its_own_error() {
        let dir = tempfile::tempdir().expect("temp");
        let missing = dir.path().join("nope");
        assert!(matches!(
            inspect(&missing),
            Err(GitError::PathMissing { .. })
        ));
        let file = dir.path().join("f.txt");
        std::fs::write(&file, "x").expect("write");
        assert!(matches!(
            inspect(&file),
            Err(GitError::NotADirectory { .. })
        ));
        let plain = dir.path().join("plain");
        std::fs::create_dir(&plain).expect("mkdir");
        assert!(matches!(inspect(&plain), Err(GitError::NotARepo { .. })));
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).expect("mkdir");
        git(&empty, &["init", "-q"]);
        assert!(matches!(inspect(&empty), Err(GitError::NoCommits { .. })));
        let sub = empty.join("sub");
        std::fs::create_dir(&sub).expect("mkdir");
        match inspect(&sub) {
            Err(GitError::NotARepo {
                enclosing: Some(root),
                ..
            }) => {
                assert!(root.contains("empty"), "{root}")
            }
            other => panic!("expected NotARepo with the enclosing repo, got {other:?}"),
        }
    }

    #[test]
    fn reports_the_libgit2_version() {
        assert!(libgit2_version().split('.').count() == 3);
    }
}
