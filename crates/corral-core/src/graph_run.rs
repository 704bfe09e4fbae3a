//! One step of a graph run (`corral graph run`, Run all): which tasks to start now, which are
//! blocked and why, and whether the run is over. Pure: the engine passes each task's latest
//! run in and starts what this says, as often as anything changes.
//!
//! Within one graph run a task runs at most once: a task whose run in this graph run failed is
//! not started again (its dependants are blocked); one that failed before the graph run
//! started is (the user asked for the graph to run).

use std::collections::{BTreeMap, HashMap};

use crate::graph::TaskGraph;
use crate::ids::TaskId;
use crate::time::Timestamp;

/// A task's latest run, as a graph run needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latest {
    pub created_at: Timestamp,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Live,
    Succeeded,
    /// Failed, cancelled or interrupted.
    Ended,
}

/// Why a task cannot start in this graph run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocked {
    /// Its own run in this graph run did not succeed.
    Failed,
    /// A task it runs after failed (directly or further up).
    Upstream { task: TaskId },
}

/// What a graph run does next.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GraphStep {
    /// Ready and not yet run in this graph run: start them now, in this order.
    pub start: Vec<TaskId>,
    pub blocked: BTreeMap<TaskId, Blocked>,
    /// Nothing is live and nothing can start: the graph run is over.
    pub over: bool,
}

/// The next step of a graph run that started at `since`.
pub fn next_step(
    graph: &TaskGraph,
    latest: &HashMap<TaskId, Latest>,
    since: Timestamp,
) -> GraphStep {
    let mut step = GraphStep::default();
    let mut satisfied = BTreeMap::new();
    let mut live = false;
    for task in graph.topological_order() {
        let run = latest.get(&task);
        let this_run = run.filter(|r| r.created_at >= since);
        let succeeded = run.is_some_and(|r| r.outcome == Outcome::Succeeded);
        satisfied.insert(task, succeeded);
        if run.is_some_and(|r| r.outcome == Outcome::Live) {
            live = true;
            continue;
        }
        if succeeded {
            continue;
        }
        if this_run.is_some_and(|r| r.outcome == Outcome::Ended) {
            step.blocked.insert(task, Blocked::Failed);
            continue;
        }
        let blocker = graph
            .dependencies(task)
            .find_map(|dep| match step.blocked.get(&dep) {
                Some(Blocked::Failed) => Some(dep),
                Some(Blocked::Upstream { task }) => Some(*task),
                None => None,
            });
        if let Some(failed) = blocker {
            step.blocked
                .insert(task, Blocked::Upstream { task: failed });
            continue;
        }
        if graph
            .dependencies(task)
            .all(|dep| satisfied.get(&dep).copied().unwrap_or(false))
        {
            step.start.push(task);
        }
    }
    step.over = !live && step.start.is_empty();
    step
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diamond() -> (TaskGraph, [TaskId; 4]) {
        let ids = [TaskId::new(), TaskId::new(), TaskId::new(), TaskId::new()];
        let [a, b, c, d] = ids;
        let (g, rejected) = TaskGraph::from_edges(ids, &[(b, a), (c, a), (d, b), (d, c)]);
        assert!(rejected.is_empty());
        (g, ids)
    }

    fn at(ms: i64, outcome: Outcome) -> Latest {
        Latest {
            created_at: Timestamp(ms),
            outcome,
        }
    }

    #[test]
    fn a_diamond_runs_in_waves() {
        let (g, [a, b, c, d]) = diamond();
        let since = Timestamp(100);
        let mut latest = HashMap::new();
        assert_eq!(next_step(&g, &latest, since).start, vec![a]);
        latest.insert(a, at(101, Outcome::Live));
        let step = next_step(&g, &latest, since);
        assert!(step.start.is_empty() && !step.over);
        latest.insert(a, at(101, Outcome::Succeeded));
        let mut wave = next_step(&g, &latest, since).start;
        wave.sort();
        let mut expected = vec![b, c];
        expected.sort();
        assert_eq!(wave, expected);
        latest.insert(b, at(102, Outcome::Succeeded));
        latest.insert(c, at(103, Outcome::Succeeded));
        assert_eq!(next_step(&g, &latest, since).start, vec![d]);
        latest.insert(d, at(104, Outcome::Succeeded));
        let step = next_step(&g, &latest, since);
        assert!(step.over && step.start.is_empty() && step.blocked.is_empty());
    }

    #[test]
    fn a_failure_blocks_its_dependants_but_not_the_other_branch_and_is_not_retried() {
        let (g, [a, b, c, d]) = diamond();
        let since = Timestamp(100);
        let latest = HashMap::from([
            (a, at(101, Outcome::Succeeded)),
            (b, at(102, Outcome::Ended)),
            (c, at(103, Outcome::Live)),
        ]);
        let step = next_step(&g, &latest, since);
        assert!(step.start.is_empty(), "b is not started again");
        assert_eq!(step.blocked.get(&b), Some(&Blocked::Failed));
        assert_eq!(step.blocked.get(&d), Some(&Blocked::Upstream { task: b }));
        assert!(!step.over, "c still runs");
        // A failure from before this graph run is run again.
        let earlier = HashMap::from([(a, at(50, Outcome::Ended))]);
        assert_eq!(next_step(&g, &earlier, since).start, vec![a]);
    }
}
