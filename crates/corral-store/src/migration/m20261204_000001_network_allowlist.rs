//! `network=allowlist` becomes the default (issue 15). Projects stored with `none`, the old
//! default, which no agent can work with, move to `allowlist`: as closed (no network in the
//! sandbox) but with the model API through Corral's gateway. And `agent-permissions=auto`
//! becomes the default: projects stored with `edits`, the old default, move to it (bypass in a
//! container, which is now a boundary; still edits in the local sandbox).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE projects SET workflow_json = json_set(workflow_json, '$.network', 'allowlist') \
                 WHERE json_extract(workflow_json, '$.network') = 'none'",
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE projects SET workflow_json = json_set(workflow_json, '$.agent_permissions', 'auto') \
                 WHERE json_extract(workflow_json, '$.agent_permissions') = 'edits'",
            )
            .await
            .map(|_| ())
    }

    /// Used only by the migration test: releases never roll back.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE projects SET workflow_json = json_set(workflow_json, '$.network', 'none') \
                 WHERE json_extract(workflow_json, '$.network') = 'allowlist'",
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE projects SET workflow_json = json_set(workflow_json, '$.agent_permissions', 'edits') \
                 WHERE json_extract(workflow_json, '$.agent_permissions') = 'auto'",
            )
            .await
            .map(|_| ())
    }
}
