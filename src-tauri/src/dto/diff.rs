//! A run's changes: its changed files and each file's diff.

use serde::{Deserialize, Serialize};
use specta::Type;

#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct FileDiffDto {
    pub path: String,
    /// added, modified, deleted, renamed, type_changed, left_out (over the project's
    /// max-file-size: in the checkout, not in the result)
    pub status: String,
    pub added: u32,
    pub removed: u32,
    pub binary: bool,
    pub patch: Option<String>,
    pub truncated: bool,
}

/// A run's changed files, the first `LISTED_FILES` of them.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct RunChangesDto {
    pub files: Vec<FileDiffDto>,
    /// Every changed file, listed or not (`corral diff --stat` lists them all).
    pub total: u32,
}

pub(crate) fn status_name(status: corral_engine::FileStatus) -> &'static str {
    match status {
        corral_engine::FileStatus::Added => "added",
        corral_engine::FileStatus::Modified => "modified",
        corral_engine::FileStatus::Deleted => "deleted",
        corral_engine::FileStatus::Renamed => "renamed",
        corral_engine::FileStatus::TypeChanged => "type_changed",
        corral_engine::FileStatus::LeftOut => "left_out",
    }
}

/// One line of a file's diff: `kind` is hunk, context, added or removed.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct DiffLineDto {
    pub kind: String,
    pub old: Option<u32>,
    pub new: Option<u32>,
    pub text: String,
}

/// One file's change for the diff viewer.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct FileDetailDto {
    pub path: String,
    pub old_path: Option<String>,
    pub status: String,
    pub added: u32,
    pub removed: u32,
    pub binary: bool,
    /// A symbolic link: the lines are its target text, never the file it points to.
    pub symlink: bool,
    /// Cut at the size cap (2 MiB of patch); the note says so.
    pub truncated: bool,
    pub lines: Vec<DiffLineDto>,
}

/// What a run's diff is taken against: its base (the project branch with the work of the tasks
/// it runs after merged in: only its own work shows) or the project branch it started from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum DiffAgainstDto {
    RunBase,
    ProjectBranch,
}

impl From<DiffAgainstDto> for corral_engine::DiffAgainst {
    fn from(d: DiffAgainstDto) -> Self {
        match d {
            DiffAgainstDto::RunBase => corral_engine::DiffAgainst::RunBase,
            DiffAgainstDto::ProjectBranch => corral_engine::DiffAgainst::ProjectBranch,
        }
    }
}

/// What Merge would do now, said before the click.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct MergePreviewDto {
    /// The project branch it goes into.
    pub into: String,
    pub how: MergeHowDto,
    /// Why it cannot be merged, when `how` is `refused`.
    pub reason: Option<String>,
    /// The branch is checked out in your repository: merged there, with your git.
    pub in_working_tree: bool,
    /// The same in one line.
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum MergeHowDto {
    FastForward,
    MergeCommit,
    Squash,
    AlreadyMerged,
    Refused,
}

impl From<&corral_engine::MergePreview> for MergePreviewDto {
    fn from(p: &corral_engine::MergePreview) -> Self {
        use corral_engine::MergeHow;
        let (how, reason) = match &p.how {
            MergeHow::FastForward => (MergeHowDto::FastForward, None),
            MergeHow::MergeCommit => (MergeHowDto::MergeCommit, None),
            MergeHow::Squash => (MergeHowDto::Squash, None),
            MergeHow::AlreadyMerged => (MergeHowDto::AlreadyMerged, None),
            MergeHow::Refused(why) => (MergeHowDto::Refused, Some(why.clone())),
        };
        MergePreviewDto {
            into: p.into.clone(),
            how,
            reason,
            in_working_tree: p.in_working_tree,
            text: p.describe(),
        }
    }
}
