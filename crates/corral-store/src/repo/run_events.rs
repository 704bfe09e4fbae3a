//! Reading the `run_events` table. Writing goes through `EventWriter` only.

use corral_core::{OutputStream, RunEvent, RunEventBody, RunId, StepName, Timestamp};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement,
};

use crate::convert::id;
use crate::entity::run_events;
use crate::error::{StoreError, StoreResult};

#[derive(Debug)]
pub struct RunEventQuery;

fn to_event(row: run_events::Model) -> StoreResult<RunEvent> {
    Ok(RunEvent {
        run_id: id("run event run id", &row.run_id)?,
        seq: row.seq,
        at: Timestamp(row.at),
        body: serde_json::from_str::<RunEventBody>(&row.payload)
            .map_err(|e| StoreError::corrupt("run event", e))?,
    })
}

impl RunEventQuery {
    /// Up to `limit` events of a run with `seq > after`, in order.
    pub async fn page(
        db: &impl ConnectionTrait,
        run: RunId,
        after: i64,
        limit: u64,
    ) -> StoreResult<Vec<RunEvent>> {
        run_events::Entity::find()
            .filter(run_events::Column::RunId.eq(run.to_string()))
            .filter(run_events::Column::Seq.gt(after))
            .order_by_asc(run_events::Column::Seq)
            .limit(limit)
            .all(db)
            .await?
            .into_iter()
            .map(to_event)
            .collect()
    }

    /// Up to `limit` events of a run with `seq < before`, the latest ones, in order (the end of
    /// a log with `before = i64::MAX`; earlier pages as a viewer scrolls up).
    pub async fn before(
        db: &impl ConnectionTrait,
        run: RunId,
        before: i64,
        limit: u64,
    ) -> StoreResult<Vec<RunEvent>> {
        let mut events = run_events::Entity::find()
            .filter(run_events::Column::RunId.eq(run.to_string()))
            .filter(run_events::Column::Seq.lt(before))
            .order_by_desc(run_events::Column::Seq)
            .limit(limit)
            .all(db)
            .await?
            .into_iter()
            .map(to_event)
            .collect::<StoreResult<Vec<_>>>()?;
        events.reverse();
        Ok(events)
    }

    /// Every event of a run with the given kind name (`RunEventBody::kind`), in order.
    pub async fn of_kind(
        db: &impl ConnectionTrait,
        run: RunId,
        kind: &str,
    ) -> StoreResult<Vec<RunEvent>> {
        Self::of_kind_for_runs(db, &[run], kind).await
    }

    /// Events of one kind of several runs, by run and in order.
    pub async fn of_kind_for_runs(
        db: &impl ConnectionTrait,
        runs: &[RunId],
        kind: &str,
    ) -> StoreResult<Vec<RunEvent>> {
        if runs.is_empty() {
            return Ok(Vec::new());
        }
        run_events::Entity::find()
            .filter(run_events::Column::RunId.is_in(runs.iter().map(ToString::to_string)))
            .filter(run_events::Column::Kind.eq(kind))
            .order_by_asc(run_events::Column::RunId)
            .order_by_asc(run_events::Column::Seq)
            .all(db)
            .await?
            .into_iter()
            .map(to_event)
            .collect()
    }

    /// The latest event of `kind` of each of `runs` that has one (an index lookup per run,
    /// where `of_kind_for_runs` reads them all).
    pub async fn latest_of_kind_for_runs(
        db: &impl ConnectionTrait,
        runs: &[RunId],
        kind: &str,
    ) -> StoreResult<Vec<RunEvent>> {
        let mut latest = Vec::new();
        for chunk in runs.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!(
                "SELECT * FROM run_events e WHERE e.kind = ? AND e.run_id IN ({marks}) AND e.seq = \
                 (SELECT max(seq) FROM run_events m WHERE m.run_id = e.run_id AND m.kind = e.kind)"
            );
            let mut values: Vec<sea_orm::Value> = vec![kind.into()];
            values.extend(chunk.iter().map(|r| r.to_string().into()));
            let rows = run_events::Entity::find()
                .from_raw_sql(Statement::from_sql_and_values(
                    db.get_database_backend(),
                    sql,
                    values,
                ))
                .all(db)
                .await?;
            for row in rows {
                latest.push(to_event(row)?);
            }
        }
        Ok(latest)
    }

    /// Where following a step's stream resumes: the offset stored with its last persisted line
    /// since the step last started (a step run again, such as an agent's next turn, writes new
    /// files from 0).
    pub async fn last_offset(
        db: &impl ConnectionTrait,
        run: RunId,
        step: StepName,
        stream: OutputStream,
    ) -> StoreResult<u64> {
        let mut found = 0;
        Self::back_through_step(db, run, step, |body| match body {
            RunEventBody::Output {
                stream: o,
                offset: Some(offset),
                ..
            } if o == stream => {
                found = offset;
                false
            }
            _ => true,
        })
        .await?;
        Ok(found)
    }

    /// The last `limit` output lines of `step` since it last started, in order: the tail of
    /// what a check printed, read from the log (not from files the sandbox could rewrite).
    pub async fn output_tail(
        db: &impl ConnectionTrait,
        run: RunId,
        step: StepName,
        limit: u64,
    ) -> StoreResult<Vec<String>> {
        let mut lines = Vec::new();
        Self::back_through_step(db, run, step, |body| {
            if let RunEventBody::Output { line, .. } = body {
                lines.push(line);
            }
            (lines.len() as u64) < limit
        })
        .await?;
        lines.reverse();
        Ok(lines)
    }

    /// Walks `step`'s output events newest first (output of one step is contiguous near the
    /// end of the log), back to its latest start, while `visit` says go on.
    async fn back_through_step(
        db: &impl ConnectionTrait,
        run: RunId,
        step: StepName,
        mut visit: impl FnMut(RunEventBody) -> bool,
    ) -> StoreResult<()> {
        let mut before = i64::MAX;
        loop {
            let rows = run_events::Entity::find()
                .filter(run_events::Column::RunId.eq(run.to_string()))
                .filter(run_events::Column::Kind.is_in(["output", "step_started"]))
                .filter(run_events::Column::Seq.lt(before))
                .order_by_desc(run_events::Column::Seq)
                .limit(1000)
                .all(db)
                .await?;
            let Some(last) = rows.last() else {
                return Ok(());
            };
            before = last.seq;
            for row in rows {
                let Ok(body) = serde_json::from_str::<RunEventBody>(&row.payload) else {
                    continue;
                };
                match &body {
                    RunEventBody::StepStarted { step: s, .. } if *s == step => return Ok(()),
                    RunEventBody::Output { step: s, .. } if *s == step => {}
                    _ => continue,
                }
                if !visit(body) {
                    return Ok(());
                }
            }
        }
    }

    pub async fn count(db: &impl ConnectionTrait, run: RunId) -> StoreResult<u64> {
        Ok(run_events::Entity::find()
            .filter(run_events::Column::RunId.eq(run.to_string()))
            .count(db)
            .await?)
    }

    /// The highest stored seq of a run, 0 when it has none.
    pub async fn max_seq(db: &impl ConnectionTrait, run: RunId) -> StoreResult<i64> {
        let max: Option<Option<i64>> = run_events::Entity::find()
            .select_only()
            .column_as(run_events::Column::Seq.max(), "max_seq")
            .filter(run_events::Column::RunId.eq(run.to_string()))
            .into_tuple()
            .one(db)
            .await?;
        Ok(max.flatten().unwrap_or(0))
    }
}
