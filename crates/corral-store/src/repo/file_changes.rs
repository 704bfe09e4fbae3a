//! Reading the `file_changes` table: every change of a run's checkout, with the same seq as
//! its entry in the run's log. Written by `EventWriter`, in the transaction of that entry.

use corral_core::{FileChangeKind, RunId, Timestamp};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::entity::file_changes;
use crate::error::{StoreError, StoreResult};

/// One change of a file in a run's checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    pub run_id: RunId,
    pub seq: i64,
    pub at: Timestamp,
    pub path: String,
    pub kind: FileChangeKind,
    pub size: Option<u64>,
}

pub(crate) fn kind_from_str(s: &str) -> StoreResult<FileChangeKind> {
    Ok(match s {
        "created" => FileChangeKind::Created,
        "modified" => FileChangeKind::Modified,
        "removed" => FileChangeKind::Removed,
        "renamed" => FileChangeKind::Renamed,
        other => {
            return Err(StoreError::corrupt(
                "file change",
                format!("unknown kind `{other}`"),
            ));
        }
    })
}

#[derive(Debug)]
pub struct FileChangeQuery;

impl FileChangeQuery {
    /// Every path that has a recorded change in any of `runs`, with the run.
    pub async fn paths_of_runs(
        db: &impl ConnectionTrait,
        runs: &[RunId],
    ) -> StoreResult<Vec<(RunId, String)>> {
        if runs.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<(String, String)> = file_changes::Entity::find()
            .select_only()
            .columns([file_changes::Column::RunId, file_changes::Column::Path])
            .distinct()
            .filter(file_changes::Column::RunId.is_in(runs.iter().map(ToString::to_string)))
            .into_tuple()
            .all(db)
            .await?;
        rows.into_iter()
            .map(|(run, path)| {
                let run = run.parse().map_err(|_| {
                    StoreError::corrupt("file change", format!("bad run id `{run}`"))
                })?;
                Ok((run, path))
            })
            .collect()
    }

    /// Every change of a run, in order.
    pub async fn for_run(db: &impl ConnectionTrait, run: RunId) -> StoreResult<Vec<FileChange>> {
        file_changes::Entity::find()
            .filter(file_changes::Column::RunId.eq(run.to_string()))
            .order_by_asc(file_changes::Column::Seq)
            .all(db)
            .await?
            .into_iter()
            .map(|row| {
                Ok(FileChange {
                    run_id: run,
                    seq: row.seq,
                    at: Timestamp(row.at),
                    path: row.path,
                    kind: kind_from_str(&row.kind)?,
                    size: row.size.and_then(|s| u64::try_from(s).ok()),
                })
            })
            .collect()
    }
}
