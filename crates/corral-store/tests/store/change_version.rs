//! The change version moves with every change a task listing is made of (whichever connection
//! or process writes it), and not with a run's ordinary log lines.

use corral_core::{OutputStream, RunEventBody, StepName, Timestamp};
use corral_store::{
    ChangeVersion, EventWriter, NewRunEvent, ProjectMutation, RunMutation, TaskMutation,
    WriterConfig,
};

use crate::{project, run, task, temp_store};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_version_moves_with_what_a_listing_reads_and_not_with_output() {
    let (_dir, store) = temp_store().await;
    let db = store.db();
    let now = || async { ChangeVersion::current(db).await.expect("version") };
    let start = now().await;
    let p = project("p");
    ProjectMutation::insert(db, &p).await.expect("project");
    let after_project = now().await;
    assert!(after_project > start);
    let t = task(p.id, "t");
    TaskMutation::insert(db, &t).await.expect("task");
    let after_task = now().await;
    assert!(after_task > after_project);
    let r = run(&t);
    RunMutation::insert(db, &r).await.expect("run");
    let after_run = now().await;
    assert!(after_run > after_task);
    let writer = EventWriter::spawn(db.clone(), WriterConfig::default());
    let event = |body| NewRunEvent {
        run_id: r.id,
        at: Timestamp(5),
        body,
    };
    for i in 0..100 {
        writer
            .append(event(RunEventBody::Output {
                step: StepName::Agent,
                stream: OutputStream::Stdout,
                line: format!("line {i}"),
                offset: Some(i),
            }))
            .await
            .expect("append");
    }
    writer.flush().await.expect("flush");
    assert_eq!(now().await, after_run, "output lines leave it");
    writer
        .append(event(RunEventBody::Progress {
            text: "halfway".into(),
        }))
        .await
        .expect("append");
    writer.flush().await.expect("flush");
    assert!(now().await > after_run, "a progress line moves it");
}
