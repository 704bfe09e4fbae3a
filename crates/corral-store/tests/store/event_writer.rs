use std::time::Duration;

use corral_core::{OutputStream, RunEventBody, RunId, StepName, Timestamp};
use corral_store::{
    EventWriter, NewRunEvent, ProjectMutation, RunEventQuery, RunMutation, StoreError,
    TaskMutation, WriterConfig,
};

use crate::{project, run, task, temp_store};

fn line(run_id: RunId, i: u64) -> NewRunEvent {
    NewRunEvent {
        run_id,
        at: Timestamp(i as i64),
        body: RunEventBody::Output {
            step: StepName::Agent,
            stream: if i.is_multiple_of(2) {
                OutputStream::Stdout
            } else {
                OutputStream::Stderr
            },
            line: format!("line {i}"),
            offset: None,
        },
    }
}

async fn with_runs(store: &corral_store::Store, n: usize) -> Vec<RunId> {
    let p = project("p");
    ProjectMutation::insert(store.db(), &p)
        .await
        .expect("project");
    let t = task(p.id, "t");
    TaskMutation::insert(store.db(), &t).await.expect("task");
    let mut ids = Vec::new();
    for _ in 0..n {
        let r = run(&t);
        RunMutation::insert(store.db(), &r).await.expect("run");
        ids.push(r.id);
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_100k_events_and_reads_them_back_complete_and_in_order() {
    let (_dir, store) = temp_store().await;
    let runs = with_runs(&store, 2).await;
    let writer = EventWriter::spawn(store.db().clone(), WriterConfig::default());
    const N: u64 = 100_000;
    // Two producers interleave; each run's events must still come back in its own order.
    let producers: Vec<_> = runs
        .iter()
        .map(|&run_id| {
            let writer = writer.clone();
            tokio::spawn(async move {
                for i in 0..N / 2 {
                    writer.append(line(run_id, i)).await.expect("append");
                }
            })
        })
        .collect();
    for p in producers {
        p.await.expect("producer");
    }
    writer.flush().await.expect("flush");

    for run_id in runs {
        assert_eq!(
            RunEventQuery::count(store.db(), run_id)
                .await
                .expect("count"),
            N / 2
        );
        let mut after = 0;
        let mut expected = 0u64;
        loop {
            let page = RunEventQuery::page(store.db(), run_id, after, 10_000)
                .await
                .expect("page");
            if page.is_empty() {
                break;
            }
            for event in &page {
                assert_eq!(event.seq, after + 1, "seq is gap-free");
                after = event.seq;
                match &event.body {
                    RunEventBody::Output { line, .. } => {
                        assert_eq!(line, &format!("line {expected}"))
                    }
                    other => panic!("unexpected {other:?}"),
                }
                expected += 1;
            }
        }
        assert_eq!(expected, N / 2);
    }
}

#[tokio::test]
async fn flush_waits_for_everything_sent_before_it() {
    let (_dir, store) = temp_store().await;
    let runs = with_runs(&store, 1).await;
    // A long delay and big batch: without flush nothing would be committed yet.
    let config = WriterConfig {
        max_batch: 1_000_000,
        max_delay: Duration::from_secs(3600),
        ..Default::default()
    };
    let writer = EventWriter::spawn(store.db().clone(), config);
    for i in 0..10 {
        writer.append(line(runs[0], i)).await.expect("append");
    }
    writer.flush().await.expect("flush");
    assert_eq!(
        RunEventQuery::count(store.db(), runs[0])
            .await
            .expect("count"),
        10
    );
}

#[tokio::test]
async fn the_timer_commits_a_partial_batch() {
    let (_dir, store) = temp_store().await;
    let runs = with_runs(&store, 1).await;
    let config = WriterConfig {
        max_delay: Duration::from_millis(20),
        ..Default::default()
    };
    let writer = EventWriter::spawn(store.db().clone(), config);
    let mut live = writer.subscribe();
    writer.append(line(runs[0], 0)).await.expect("append");
    let batch = tokio::time::timeout(Duration::from_secs(5), live.recv())
        .await
        .expect("committed within the delay")
        .expect("batch");
    assert_eq!(batch.len(), 1);
    assert_eq!(batch[0].seq, 1);
    assert_eq!(
        RunEventQuery::count(store.db(), runs[0])
            .await
            .expect("count"),
        1
    );
}

#[tokio::test]
async fn seq_continues_after_a_new_writer_starts() {
    let (_dir, store) = temp_store().await;
    let runs = with_runs(&store, 1).await;
    let writer = EventWriter::spawn(store.db().clone(), WriterConfig::default());
    for i in 0..5 {
        writer.append(line(runs[0], i)).await.expect("append");
    }
    writer.flush().await.expect("flush");
    drop(writer);
    let writer = EventWriter::spawn(store.db().clone(), WriterConfig::default());
    for i in 5..8 {
        writer.append(line(runs[0], i)).await.expect("append");
    }
    writer.flush().await.expect("flush");
    let events = RunEventQuery::page(store.db(), runs[0], 0, 100)
        .await
        .expect("page");
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=8).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn an_event_for_a_missing_run_fails_alone_and_is_reported_at_flush() {
    let (_dir, store) = temp_store().await;
    let runs = with_runs(&store, 1).await;
    let writer = EventWriter::spawn(store.db().clone(), WriterConfig::default());
    writer.append(line(runs[0], 0)).await.expect("append");
    writer
        .append(line(RunId::new(), 1))
        .await
        .expect("append for a run that does not exist");
    writer.append(line(runs[0], 2)).await.expect("append");
    let err = writer.flush().await.expect_err("the orphan is reported");
    assert!(
        matches!(err, StoreError::EventsNotWritten { failed: 1, .. }),
        "{err:?}"
    );
    let events = RunEventQuery::page(store.db(), runs[0], 0, 100)
        .await
        .expect("page");
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 2],
        "no gap left behind"
    );
    writer.flush().await.expect("the error was reported once");
}

#[tokio::test]
async fn file_changes_are_also_indexed_with_the_seq_of_their_log_entry() {
    let (_dir, store) = temp_store().await;
    let runs = with_runs(&store, 1).await;
    let writer = EventWriter::spawn(store.db().clone(), WriterConfig::default());
    writer.append(line(runs[0], 0)).await.expect("append");
    writer
        .append(NewRunEvent {
            run_id: runs[0],
            at: Timestamp(5),
            body: RunEventBody::FileChanged {
                path: "src/new file.rs".into(),
                change: corral_core::FileChangeKind::Created,
                from: None,
                size: Some(42),
                link: None,
            },
        })
        .await
        .expect("append");
    writer.flush().await.expect("flush");
    let changes = corral_store::FileChangeQuery::for_run(store.db(), runs[0])
        .await
        .expect("changes");
    assert_eq!(
        changes,
        vec![corral_store::FileChange {
            run_id: runs[0],
            seq: 2,
            at: Timestamp(5),
            path: "src/new file.rs".into(),
            kind: corral_core::FileChangeKind::Created,
            size: Some(42),
        }]
    );
}
