//! The `settings` table: app-wide key/value settings (not secrets: those live in the keychain).

use std::collections::BTreeMap;

use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, IntoActiveModel};

use crate::entity::settings;
use crate::error::StoreResult;

#[derive(Debug)]
pub struct SettingQuery;

impl SettingQuery {
    pub async fn get(db: &impl ConnectionTrait, key: &str) -> StoreResult<Option<String>> {
        Ok(settings::Entity::find_by_id(key.to_string())
            .one(db)
            .await?
            .map(|row| row.value))
    }

    pub async fn all(db: &impl ConnectionTrait) -> StoreResult<BTreeMap<String, String>> {
        Ok(settings::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .map(|row| (row.key, row.value))
            .collect())
    }
}

#[derive(Debug)]
pub struct SettingMutation;

impl SettingMutation {
    pub async fn set(
        db: &impl ConnectionTrait,
        key: &str,
        value: &str,
        now_ms: i64,
    ) -> StoreResult<()> {
        let row = settings::Model {
            key: key.to_string(),
            value: value.to_string(),
            updated_at: now_ms,
        };
        settings::Entity::insert(row.into_active_model().reset_all())
            .on_conflict(
                OnConflict::column(settings::Column::Key)
                    .update_columns([settings::Column::Value, settings::Column::UpdatedAt])
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
        Ok(())
    }
}
