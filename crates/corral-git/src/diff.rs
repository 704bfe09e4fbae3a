//! What a run changed: files with their status and line counts, and per-file patches with a
//! size cap, between the run's base commit and its result (or the live checkout).

use std::cell::RefCell;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use git2::{Delta, DiffOptions, Oid, Patch, Repository};

use crate::GitError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileStatus {
    Added,
    Modified,
    Deleted,
    Renamed,
    TypeChanged,
    /// In the run's checkout but not in its result: over the project's `max-file-size`. Git
    /// never reports it; Corral adds it to a finished run's changes.
    LeftOut,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiff {
    pub path: String,
    pub old_path: Option<String>,
    pub status: FileStatus,
    pub added: usize,
    pub removed: usize,
    pub binary: bool,
    /// The unified patch, or `None` for binary files.
    pub patch: Option<String>,
    /// True when `patch` was cut at the size cap.
    pub truncated: bool,
    /// A symbolic link: its "content" is the link's target text, never the file it points to.
    pub symlink: bool,
    /// The patch as numbered lines, when asked for (`file_diff`).
    pub lines: Vec<DiffLine>,
}

impl FileDiff {
    /// A file listed without its content read: shown as binary, no counts, no patch.
    pub fn unread(path: String, status: FileStatus) -> FileDiff {
        FileDiff {
            path,
            old_path: None,
            status,
            added: 0,
            removed: 0,
            binary: true,
            patch: None,
            truncated: false,
            symlink: false,
            lines: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// A hunk header (`@@ -1,3 +1,4 @@`).
    Hunk,
    Context,
    Added,
    Removed,
}

/// One line of a file's patch, with its numbers in the old and new file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffLine {
    pub kind: LineKind,
    pub old: Option<u32>,
    pub new: Option<u32>,
    /// Without its newline; invalid UTF-8 shown with U+FFFD.
    pub text: String,
}

/// Untracked files bigger than this are listed as binary, unread, in a live diff.
const BINARY_ABOVE_BYTES: u64 = 8 * 1024 * 1024;

fn err(path: &Path, e: git2::Error) -> GitError {
    GitError::Other {
        path: path.display().to_string(),
        message: e.message().to_string(),
    }
}

/// Changes from `base` to `target` (a commit), or to the working tree when `target` is `None`
/// (a live run; untracked files included). Patches longer than `patch_cap` bytes are cut; a
/// cap of 0 gives the counts only, with no patch text.
pub fn diff(
    repo_path: &Path,
    base: &str,
    target: Option<&str>,
    patch_cap: usize,
) -> Result<Vec<FileDiff>, GitError> {
    diff_files(repo_path, base, target, patch_cap, None)
}

/// One file's change, with its patch as numbered lines (for a diff viewer); `None` when the
/// file did not change. Reads only inside the repository: a symlink shows its target text.
pub fn file_diff(
    repo_path: &Path,
    base: &str,
    target: Option<&str>,
    path: &str,
    patch_cap: usize,
) -> Result<Option<FileDiff>, GitError> {
    Ok(diff_files(repo_path, base, target, patch_cap, Some(path))?
        .into_iter()
        .find(|f| f.path == path || f.old_path.as_deref() == Some(path)))
}

fn diff_files(
    repo_path: &Path,
    base: &str,
    target: Option<&str>,
    patch_cap: usize,
    only: Option<&str>,
) -> Result<Vec<FileDiff>, GitError> {
    let repo = Repository::open(repo_path).map_err(|e| err(repo_path, e))?;
    let tree_of = |rev: &str| {
        Oid::from_str(rev)
            .and_then(|oid| repo.find_commit(oid))
            .and_then(|c| c.tree())
            .map_err(|e| err(repo_path, e))
    };
    let base_tree = tree_of(base)?;
    let mut opts = DiffOptions::new();
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .show_untracked_content(true);
    // libgit2 reads every untracked file whole to show its content (and fails on a sparse
    // 4 GiB one): those over the limit are listed unread, and the others diffed as usual.
    let (huge, huge_paths) = match target {
        None => huge_untracked(&repo, repo_path, &base_tree)?,
        Some(_) => (Vec::new(), HashSet::new()),
    };
    if let Some(path) = only {
        if let Some(file) = huge.iter().find(|f| f.path == path) {
            return Ok(vec![file.clone()]);
        }
        opts.pathspec(path).disable_pathspec_match(true);
    } else if !huge.is_empty() {
        let rest = others_than(&repo, repo_path, &base_tree, &huge_paths)?;
        if rest.is_empty() {
            return Ok(huge);
        }
        for path in &rest {
            opts.pathspec(path);
        }
        opts.disable_pathspec_match(true);
    }
    let mut diff = match target {
        Some(t) => repo.diff_tree_to_tree(Some(&base_tree), Some(&tree_of(t)?), Some(&mut opts)),
        None => repo.diff_tree_to_workdir_with_index(Some(&base_tree), Some(&mut opts)),
    }
    .map_err(|e| err(repo_path, e))?;
    diff.find_similar(None).map_err(|e| err(repo_path, e))?;

    let mut files = Vec::new();
    for idx in 0..diff.deltas().len() {
        let Some(delta) = diff.get_delta(idx) else {
            continue;
        };
        // Listed (unread) already; a path list naming a folder can still bring it in.
        if delta
            .new_file()
            .path()
            .is_some_and(|p| huge_paths.contains(p))
        {
            continue;
        }
        let status = match delta.status() {
            Delta::Added | Delta::Untracked | Delta::Copied => FileStatus::Added,
            Delta::Deleted => FileStatus::Deleted,
            Delta::Renamed => FileStatus::Renamed,
            Delta::Typechange => FileStatus::TypeChanged,
            _ => FileStatus::Modified,
        };
        let path = |f: git2::DiffFile<'_>| f.path().map(|p| p.to_string_lossy().into_owned());
        let new_path = path(delta.new_file())
            .or_else(|| path(delta.old_file()))
            .unwrap_or_default();
        let old_path = (status == FileStatus::Renamed)
            .then(|| path(delta.old_file()))
            .flatten();
        let mut file = FileDiff {
            path: new_path,
            old_path,
            status,
            added: 0,
            removed: 0,
            binary: delta.flags().is_binary(),
            patch: None,
            truncated: false,
            symlink: delta.new_file().mode() == git2::FileMode::Link
                || delta.old_file().mode() == git2::FileMode::Link,
            lines: Vec::new(),
        };
        if let Some(mut patch) = Patch::from_diff(&diff, idx).map_err(|e| err(repo_path, e))? {
            if !file.binary && !patch.delta().flags().is_binary() {
                let (_, added, removed) = patch.line_stats().map_err(|e| err(repo_path, e))?;
                file.added = added;
                file.removed = removed;
                if patch_cap == 0 && only.is_none() {
                    // Counts only (the changed-files list, refreshed while a run works): no
                    // need to walk every line of every patch.
                    files.push(file);
                    continue;
                }
                let text = RefCell::new(String::new());
                let truncated = RefCell::new(false);
                let lines = RefCell::new(Vec::new());
                let want_lines = only.is_some();
                patch
                    .print(&mut |_, _, line| {
                        let mut text = text.borrow_mut();
                        if text.len() >= patch_cap {
                            *truncated.borrow_mut() = true;
                            return true;
                        }
                        if matches!(line.origin(), '+' | '-' | ' ') {
                            text.push(line.origin());
                        }
                        let content = String::from_utf8_lossy(line.content());
                        text.push_str(&content);
                        let kind = match line.origin() {
                            '+' => Some(LineKind::Added),
                            '-' => Some(LineKind::Removed),
                            ' ' => Some(LineKind::Context),
                            'H' => Some(LineKind::Hunk),
                            _ => None,
                        };
                        if want_lines && let Some(kind) = kind {
                            lines.borrow_mut().push(DiffLine {
                                kind,
                                old: line.old_lineno(),
                                new: line.new_lineno(),
                                text: content.trim_end_matches(['\n', '\r']).to_string(),
                            });
                        }
                        true
                    })
                    .map_err(|e| err(repo_path, e))?;
                file.patch = Some(text.into_inner());
                file.truncated = truncated.into_inner();
                file.lines = lines.into_inner();
            } else {
                file.binary = true;
            }
        }
        files.push(file);
    }
    files.extend(huge);
    Ok(files)
}

/// The working tree's deltas from `base`, without reading any file's content.
fn light_diff<'r>(
    repo: &'r Repository,
    repo_path: &Path,
    base_tree: &git2::Tree<'_>,
) -> Result<git2::Diff<'r>, GitError> {
    let mut opts = DiffOptions::new();
    opts.include_untracked(true).recurse_untracked_dirs(true);
    repo.diff_tree_to_workdir_with_index(Some(base_tree), Some(&mut opts))
        .map_err(|e| err(repo_path, e))
}

/// Untracked files bigger than `BINARY_ABOVE_BYTES`, as binary additions, and their paths as
/// git has them (looked at with `symlink_metadata`: a link is never followed).
fn huge_untracked(
    repo: &Repository,
    repo_path: &Path,
    base_tree: &git2::Tree<'_>,
) -> Result<(Vec<FileDiff>, HashSet<PathBuf>), GitError> {
    let workdir = repo.workdir().unwrap_or(repo_path);
    let mut huge = Vec::new();
    let mut paths = HashSet::new();
    for delta in light_diff(repo, repo_path, base_tree)?.deltas() {
        if delta.status() != Delta::Untracked {
            continue;
        }
        let Some(path) = delta.new_file().path() else {
            continue;
        };
        let big = std::fs::symlink_metadata(workdir.join(path))
            .is_ok_and(|m| m.is_file() && m.len() > BINARY_ABOVE_BYTES);
        if big {
            paths.insert(path.to_path_buf());
            huge.push(FileDiff::unread(
                path.to_string_lossy().into_owned(),
                FileStatus::Added,
            ));
        }
    }
    Ok((huge, paths))
}

/// Every changed path of the working tree but those in `huge` (old and new names).
fn others_than(
    repo: &Repository,
    repo_path: &Path,
    base_tree: &git2::Tree<'_>,
    huge: &HashSet<PathBuf>,
) -> Result<Vec<PathBuf>, GitError> {
    let mut rest = std::collections::BTreeSet::new();
    for delta in light_diff(repo, repo_path, base_tree)?.deltas() {
        for file in [delta.old_file(), delta.new_file()] {
            if let Some(path) = file.path()
                && !huge.contains(path)
            {
                rest.insert(path.to_path_buf());
            }
        }
    }
    Ok(rest.into_iter().collect())
}
