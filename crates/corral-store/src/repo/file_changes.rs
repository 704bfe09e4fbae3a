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
    /// The paths of a run's changes recorded after `after_seq`, with the newest seq seen
    /// (`after_seq` when there are none).
    pub async fn paths_after(
        db: &impl ConnectionTrait,
        run: RunId,
        after_seq: i64,
    ) -> StoreResult<(Vec<String>, i64)> {
        let rows: Vec<(i64, String)> = file_changes::Entity::find()
            .select_only()
            .columns([file_changes::Column::Seq, file_changes::Column::Path])
            .filter(file_changes::Column::RunId.eq(run.to_string()))
            .filter(file_changes::Column::Seq.gt(after_seq))
            .order_by_asc(file_changes::Column::Seq)
            .into_tuple()
            .all(db)
            .await?;
        let last = rows.last().map_or(after_seq, |(seq, _)| *seq);
        Ok((rows.into_iter().map(|(_, path)| path).collect(), last))
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
