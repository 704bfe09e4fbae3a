//! The `review_comments` table: comments on lines of a run's result, and the follow-up run
//! they were sent in.

use corral_core::review::ReviewComment;
use corral_core::{RunId, Timestamp};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::convert::{from_json, id, to_json};
use crate::entity::review_comments;
use crate::error::{StoreError, StoreResult};

#[derive(Debug)]
pub struct ReviewComments;

/// A comment as stored: on which run's result, and the run it was sent in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredComment {
    pub run: RunId,
    pub sent_in: Option<RunId>,
    pub comment: ReviewComment,
    pub created_at: Timestamp,
}

fn from_row(row: review_comments::Model) -> StoreResult<StoredComment> {
    Ok(StoredComment {
        run: id("review comment run", &row.run_id)?,
        sent_in: row
            .sent_in_run
            .as_deref()
            .map(|r| id("review comment follow-up run", r))
            .transpose()?,
        comment: ReviewComment {
            path: row.path,
            line: u32::try_from(row.line)
                .map_err(|e| StoreError::corrupt("review comment line", e))?,
            code: row.code,
            text: row.text,
            author: from_json("review comment author", &row.author_json)?,
        },
        created_at: Timestamp(row.created_at),
    })
}

impl ReviewComments {
    /// Keeps the comments on `run`'s result, sent in `sent_in` (in order).
    pub async fn insert(
        db: &impl ConnectionTrait,
        run: RunId,
        sent_in: Option<RunId>,
        comments: &[ReviewComment],
        at: Timestamp,
    ) -> StoreResult<()> {
        if comments.is_empty() {
            return Ok(());
        }
        let rows = comments
            .iter()
            .enumerate()
            .map(|(i, c)| {
                Ok(review_comments::ActiveModel {
                    id: sea_orm::Set(uuid::Uuid::now_v7().to_string()),
                    run_id: sea_orm::Set(run.to_string()),
                    sent_in_run: sea_orm::Set(sent_in.map(|r| r.to_string())),
                    path: sea_orm::Set(c.path.clone()),
                    line: sea_orm::Set(i64::from(c.line)),
                    code: sea_orm::Set(c.code.clone()),
                    text: sea_orm::Set(c.text.clone()),
                    author_json: sea_orm::Set(to_json("review comment author", &c.author)?),
                    // Within one review, the order they were given in.
                    created_at: sea_orm::Set(at.0 + i64::try_from(i).unwrap_or(0)),
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        review_comments::Entity::insert_many(rows)
            .exec(db)
            .await
            .map_err(StoreError::from)?;
        Ok(())
    }

    /// Comments on `run`'s result, or sent in `run` (a follow-up), in the order written.
    pub async fn of_run(db: &impl ConnectionTrait, run: RunId) -> StoreResult<Vec<StoredComment>> {
        review_comments::Entity::find()
            .filter(
                Condition::any()
                    .add(review_comments::Column::RunId.eq(run.to_string()))
                    .add(review_comments::Column::SentInRun.eq(run.to_string())),
            )
            .order_by_asc(review_comments::Column::CreatedAt)
            .order_by_asc(review_comments::Column::Id)
            .all(db)
            .await?
            .into_iter()
            .map(from_row)
            .collect()
    }
}
