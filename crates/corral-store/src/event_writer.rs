//! `EventWriter`: the only writer of `run_events`. Callers send events over a bounded channel
//! (so a flood of output applies back-pressure instead of growing memory); one task batches
//! them into a transaction per batch, flushing every `max_batch` events or `max_delay`,
//! whichever comes first. It assigns each run's `seq` gap-free, and publishes every committed
//! batch on a broadcast channel for live viewers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use corral_core::{RunEvent, RunEventBody, RunId, Timestamp};
use sea_orm::{
    ActiveModelTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, IntoActiveModel,
    TransactionTrait,
};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::Instant;

use crate::entity::{file_changes, run_events};
use crate::error::{StoreError, StoreResult};
use crate::repo::RunEventQuery;

/// An event to append; the writer gives it its `seq`.
#[derive(Debug, Clone)]
pub struct NewRunEvent {
    pub run_id: RunId,
    pub at: Timestamp,
    pub body: RunEventBody,
}

#[derive(Debug, Clone, Copy)]
pub struct WriterConfig {
    /// Commit when this many events are waiting.
    pub max_batch: usize,
    /// Commit at most this long after the first waiting event arrived.
    pub max_delay: Duration,
    /// Events that may wait in the channel before `append` waits.
    pub channel_capacity: usize,
    /// Committed batches kept for slow live subscribers (they can re-read the database).
    pub broadcast_capacity: usize,
}

impl Default for WriterConfig {
    fn default() -> Self {
        Self {
            max_batch: 2000,
            max_delay: Duration::from_millis(25),
            channel_capacity: 16 * 1024,
            // The ring holds committed batches even with no subscriber, so keep it small: a
            // subscriber that lags re-reads from the database.
            broadcast_capacity: 16,
        }
    }
}

enum Command {
    Append(NewRunEvent),
    Flush(oneshot::Sender<StoreResult<()>>),
}

/// A cloneable handle to the writer task. The task stops after the last handle is dropped,
/// committing whatever was sent before.
#[derive(Debug, Clone)]
pub struct EventWriter {
    tx: mpsc::Sender<Command>,
    committed: broadcast::Sender<Arc<[RunEvent]>>,
}

impl EventWriter {
    pub fn spawn(db: DatabaseConnection, config: WriterConfig) -> EventWriter {
        let (tx, rx) = mpsc::channel(config.channel_capacity.max(1));
        let (committed, _) = broadcast::channel(config.broadcast_capacity.max(1));
        let task = WriterTask {
            db,
            config,
            next_seq: HashMap::new(),
            committed: committed.clone(),
            failed: 0,
            first_error: None,
        };
        tokio::spawn(task.run(rx));
        EventWriter { tx, committed }
    }

    /// Queues one event; waits only when the channel is full.
    pub async fn append(&self, event: NewRunEvent) -> StoreResult<()> {
        self.tx
            .send(Command::Append(event))
            .await
            .map_err(|_| StoreError::WriterClosed)
    }

    /// Returns once every event appended before this call is committed, or with the error
    /// that kept some of them out since the last flush.
    pub async fn flush(&self) -> StoreResult<()> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Command::Flush(done))
            .await
            .map_err(|_| StoreError::WriterClosed)?;
        wait.await.map_err(|_| StoreError::WriterClosed)?
    }

    /// Every batch committed from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<[RunEvent]>> {
        self.committed.subscribe()
    }
}

struct WriterTask {
    db: DatabaseConnection,
    config: WriterConfig,
    /// The next seq per run seen so far; loaded from the database on first sight.
    next_seq: HashMap<RunId, i64>,
    committed: broadcast::Sender<Arc<[RunEvent]>>,
    failed: u64,
    first_error: Option<String>,
}

impl WriterTask {
    async fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        let mut batch: Vec<NewRunEvent> = Vec::with_capacity(self.config.max_batch);
        let mut inbox: Vec<Command> = Vec::with_capacity(self.config.max_batch);
        let mut deadline: Option<Instant> = None;
        loop {
            let room = self.config.max_batch.saturating_sub(batch.len()).max(1);
            let received = match deadline {
                None => rx.recv_many(&mut inbox, room).await,
                Some(at) => match tokio::time::timeout_at(at, rx.recv_many(&mut inbox, room)).await
                {
                    Ok(n) => n,
                    Err(_elapsed) => {
                        self.commit(&mut batch).await;
                        deadline = None;
                        continue;
                    }
                },
            };
            if received == 0 {
                // Every handle is gone: commit the rest and stop.
                self.commit(&mut batch).await;
                return;
            }
            for command in inbox.drain(..) {
                match command {
                    Command::Append(event) => {
                        if batch.is_empty() {
                            deadline = Some(Instant::now() + self.config.max_delay);
                        }
                        batch.push(event);
                        if batch.len() >= self.config.max_batch {
                            self.commit(&mut batch).await;
                            deadline = None;
                        }
                    }
                    Command::Flush(done) => {
                        self.commit(&mut batch).await;
                        deadline = None;
                        let _ = done.send(self.take_error());
                    }
                }
            }
        }
    }

    fn take_error(&mut self) -> StoreResult<()> {
        let failed = std::mem::take(&mut self.failed);
        match self.first_error.take() {
            Some(first) => Err(StoreError::EventsNotWritten { failed, first }),
            None => Ok(()),
        }
    }

    async fn seq_for(&mut self, run: RunId) -> StoreResult<i64> {
        if let Some(next) = self.next_seq.get_mut(&run) {
            let seq = *next;
            *next += 1;
            return Ok(seq);
        }
        let seq = RunEventQuery::max_seq(&self.db, run).await? + 1;
        self.next_seq.insert(run, seq + 1);
        Ok(seq)
    }

    /// Numbers the events and serialises them into rows.
    async fn number(
        &mut self,
        events: &[NewRunEvent],
    ) -> StoreResult<(Vec<run_events::ActiveModel>, Vec<RunEvent>)> {
        let mut rows = Vec::with_capacity(events.len());
        let mut stored = Vec::with_capacity(events.len());
        for event in events {
            let seq = self.seq_for(event.run_id).await?;
            let payload = serde_json::to_string(&event.body)
                .map_err(|e| StoreError::corrupt("run event", e))?;
            rows.push(
                run_events::Model {
                    run_id: event.run_id.to_string(),
                    seq,
                    at: event.at.0,
                    kind: event.body.kind().to_string(),
                    payload,
                }
                .into_active_model()
                .reset_all(),
            );
            stored.push(RunEvent {
                run_id: event.run_id,
                seq,
                at: event.at,
                body: event.body.clone(),
            });
        }
        Ok((rows, stored))
    }

    async fn insert(
        txn: &DatabaseTransaction,
        rows: Vec<run_events::ActiveModel>,
    ) -> StoreResult<()> {
        // Five bound values a row; 500 rows stay far below SQLite's variable limit.
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<_> = rows.by_ref().take(500).collect();
            run_events::Entity::insert_many(chunk)
                .exec_without_returning(txn)
                .await?;
        }
        Ok(())
    }

    /// The `file_changes` rows of the file-change events among `stored`.
    fn file_change_rows(stored: &[RunEvent]) -> Vec<file_changes::ActiveModel> {
        stored
            .iter()
            .filter_map(|e| match &e.body {
                RunEventBody::FileChanged {
                    path, change, size, ..
                } => Some(
                    file_changes::Model {
                        run_id: e.run_id.to_string(),
                        seq: e.seq,
                        at: e.at.0,
                        path: path.clone(),
                        kind: change.as_str().to_string(),
                        size: size.and_then(|s| i64::try_from(s).ok()),
                    }
                    .into_active_model()
                    .reset_all(),
                ),
                _ => None,
            })
            .collect()
    }

    async fn try_commit(&mut self, events: &[NewRunEvent]) -> StoreResult<Vec<RunEvent>> {
        let (rows, stored) = self.number(events).await?;
        let changes = Self::file_change_rows(&stored);
        let txn = self.db.begin().await?;
        Self::insert(&txn, rows).await?;
        // Six bound values a row; 500 rows stay far below SQLite's variable limit.
        let mut changes = changes.into_iter().peekable();
        while changes.peek().is_some() {
            let chunk: Vec<_> = changes.by_ref().take(500).collect();
            file_changes::Entity::insert_many(chunk)
                .exec_without_returning(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(stored)
    }

    async fn commit(&mut self, batch: &mut Vec<NewRunEvent>) {
        if batch.is_empty() {
            return;
        }
        let events = std::mem::take(batch);
        match self.try_commit(&events).await {
            Ok(stored) => self.publish(stored),
            Err(err) => {
                // One bad event (say, for a run that no longer exists) must not take the rest of
                // the batch with it: forget the numbering and write them one at a time.
                tracing::warn!(error = %err, events = events.len(), "run event batch failed; retrying one by one");
                for run in events.iter().map(|e| e.run_id) {
                    self.next_seq.remove(&run);
                }
                for event in events.chunks(1) {
                    match self.try_commit(event).await {
                        Ok(stored) => self.publish(stored),
                        Err(err) => {
                            self.next_seq.remove(&event[0].run_id);
                            tracing::error!(run = %event[0].run_id, error = %err, "run event not written");
                            self.failed += 1;
                            self.first_error.get_or_insert_with(|| err.to_string());
                        }
                    }
                }
            }
        }
        *batch = Vec::with_capacity(self.config.max_batch);
    }

    fn publish(&self, stored: Vec<RunEvent>) {
        // No subscriber is fine: the events are in the database.
        let _ = self.committed.send(stored.into());
    }
}
