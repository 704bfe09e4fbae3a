//! The `change_version` number (see its migration): it moves whenever anything a task listing
//! is made of changes, in any process.

use sea_orm::{ConnectionTrait, Statement};

use crate::error::{StoreError, StoreResult};

#[derive(Debug)]
pub struct ChangeVersion;

impl ChangeVersion {
    pub async fn current(db: &impl ConnectionTrait) -> StoreResult<i64> {
        let stmt = Statement::from_string(
            db.get_database_backend(),
            "SELECT version FROM change_version WHERE id = 1",
        );
        let row = db
            .query_one_raw(stmt)
            .await?
            .ok_or_else(|| StoreError::corrupt("change version", "missing"))?;
        Ok(row.try_get_by_index(0)?)
    }
}
