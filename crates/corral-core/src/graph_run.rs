//! One step of a graph run (`corral graph run`, Run all, or a project with `auto-run=on`):
//! which tasks to start now, which are blocked and why, and whether the run is over. Pure: the
//! engine passes each task's latest run in and starts what this says, as often as anything
//! changes.
//!
//! A task is *satisfied* (its dependants may start) when its result is in the project branch,
//! or, with `chain-on=success` (the default), when its latest run succeeded. Within one graph
//! run a task runs at most once: a task whose run in this graph run failed is not started
//! again (its dependants are blocked); one that failed before the graph run started is (the
//! user asked for the graph to run).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::graph::TaskGraph;
use crate::ids::TaskId;
use crate::project::ChainOn;
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

/// What the graph run knows of the project: its graph, each task's latest run, which tasks'
/// results are in the project branch, and when a task counts as finished.
#[derive(Debug, Clone, Copy)]
pub struct GraphState<'a> {
    pub graph: &'a TaskGraph,
    pub latest: &'a HashMap<TaskId, Latest>,
    /// Tasks whose latest succeeded result is reachable from the project branch.
    pub merged: &'a HashSet<TaskId>,
    pub chain_on: ChainOn,
    /// Tasks that may not run: proposed by an agent and not approved (or rejected). They
    /// never start, and the tasks after them wait.
    pub held: &'a HashSet<TaskId>,
}

/// What a graph run does next.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GraphStep {
    /// Ready and not yet run in this graph run: start them now, in this order.
    pub start: Vec<TaskId>,
    pub blocked: BTreeMap<TaskId, Blocked>,
    /// Succeeded but not merged, with `chain-on=merge`, while a task after them waits: the
    /// graph run waits for the user to merge them.
    pub awaiting_merge: BTreeSet<TaskId>,
    /// Not finished, not live, not blocked and not ready: waiting for a task it runs after
    /// (live, awaiting its merge, or itself waiting).
    pub waiting: BTreeSet<TaskId>,
    /// Nothing is live, nothing can start and no merge is awaited: the graph run is over.
    pub over: bool,
    /// Every task's latest run succeeded (or its result is merged): a graph run that is over
    /// succeeded.
    pub finished: bool,
}

impl GraphState<'_> {
    /// Whether the tasks that run after `task` may count it as finished.
    pub fn satisfied(&self, task: TaskId) -> bool {
        self.merged.contains(&task)
            || (self.chain_on == ChainOn::Success
                && self
                    .latest
                    .get(&task)
                    .is_some_and(|r| r.outcome == Outcome::Succeeded))
    }

    /// The next step of a graph run that started at `since`.
    pub fn next_step(&self, since: Timestamp) -> GraphStep {
        let graph = self.graph;
        let mut step = GraphStep::default();
        let mut live = false;
        let mut unmerged = Vec::new();
        for task in graph.topological_order() {
            let run = self.latest.get(&task);
            let this_run = run.filter(|r| r.created_at >= since);
            if run.is_some_and(|r| r.outcome == Outcome::Live) {
                live = true;
                continue;
            }
            if self.merged.contains(&task) {
                continue;
            }
            if run.is_some_and(|r| r.outcome == Outcome::Succeeded) {
                if !self.satisfied(task) {
                    unmerged.push(task);
                }
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
            if self.held.contains(&task) {
                step.waiting.insert(task);
            } else if graph.dependencies(task).all(|dep| self.satisfied(dep)) {
                step.start.push(task);
            } else {
                step.waiting.insert(task);
            }
        }
        // A merge is awaited only for a task something still waits on: a dependant that has
        // not run yet, or whose run ended without success, and is not blocked.
        for task in unmerged {
            let waited_on = graph.dependents(task).any(|d| {
                !self.satisfied(d)
                    && !step.blocked.contains_key(&d)
                    && self
                        .latest
                        .get(&d)
                        .is_none_or(|r| r.outcome == Outcome::Ended)
            });
            if waited_on {
                step.awaiting_merge.insert(task);
            }
        }
        step.over = !live && step.start.is_empty() && step.awaiting_merge.is_empty();
        step.finished = graph.topological_order().into_iter().all(|t| {
            self.merged.contains(&t)
                || self
                    .latest
                    .get(&t)
                    .is_some_and(|r| r.outcome == Outcome::Succeeded)
        });
        step
    }
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

    fn step(g: &TaskGraph, latest: &HashMap<TaskId, Latest>, since: Timestamp) -> GraphStep {
        let merged = HashSet::new();
        GraphState {
            graph: g,
            latest,
            merged: &merged,
            chain_on: ChainOn::Success,
            held: &HashSet::new(),
        }
        .next_step(since)
    }

    fn at(ms: i64, outcome: Outcome) -> Latest {
        Latest {
            created_at: Timestamp(ms),
            outcome,
        }
    }

    #[test]
    fn a_held_task_never_starts_and_its_dependants_wait() {
        let (g, [a, b, c, d]) = diamond();
        let latest = HashMap::from([(a, at(101, Outcome::Succeeded))]);
        let (merged, held) = (HashSet::new(), HashSet::from([b]));
        let st = GraphState {
            graph: &g,
            latest: &latest,
            merged: &merged,
            chain_on: ChainOn::Success,
            held: &held,
        }
        .next_step(Timestamp(100));
        assert_eq!(st.start, vec![c]);
        assert!(st.waiting.contains(&b) && st.waiting.contains(&d));
    }

    #[test]
    fn a_diamond_runs_in_waves() {
        let (g, [a, b, c, d]) = diamond();
        let since = Timestamp(100);
        let mut latest = HashMap::new();
        assert_eq!(step(&g, &latest, since).start, vec![a]);
        latest.insert(a, at(101, Outcome::Live));
        let st = step(&g, &latest, since);
        assert!(st.start.is_empty() && !st.over);
        latest.insert(a, at(101, Outcome::Succeeded));
        let mut wave = step(&g, &latest, since).start;
        wave.sort();
        let mut expected = vec![b, c];
        expected.sort();
        assert_eq!(wave, expected);
        latest.insert(b, at(102, Outcome::Succeeded));
        latest.insert(c, at(103, Outcome::Succeeded));
        assert_eq!(step(&g, &latest, since).start, vec![d]);
        latest.insert(d, at(104, Outcome::Succeeded));
        let st = step(&g, &latest, since);
        assert!(st.over && st.start.is_empty() && st.blocked.is_empty());
        assert!(st.finished);
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
        let st = step(&g, &latest, since);
        assert!(st.start.is_empty(), "b is not started again");
        assert_eq!(st.blocked.get(&b), Some(&Blocked::Failed));
        assert_eq!(st.blocked.get(&d), Some(&Blocked::Upstream { task: b }));
        assert!(!st.over, "c still runs");
        // A failure from before this graph run is run again.
        let earlier = HashMap::from([(a, at(50, Outcome::Ended))]);
        assert_eq!(step(&g, &earlier, since).start, vec![a]);
    }

    #[test]
    fn with_chain_on_merge_dependants_wait_for_the_merge_and_the_graph_run_waits_too() {
        let (g, [a, b, c, d]) = diamond();
        let since = Timestamp(100);
        let latest = HashMap::from([(a, at(101, Outcome::Succeeded))]);
        let mut merged = HashSet::new();
        let state = |merged: &HashSet<TaskId>| {
            GraphState {
                graph: &g,
                latest: &latest,
                merged,
                chain_on: ChainOn::Merge,
                held: &HashSet::new(),
            }
            .next_step(since)
        };
        let st = state(&merged);
        assert!(st.start.is_empty(), "b and c wait for a's merge");
        assert_eq!(st.awaiting_merge, BTreeSet::from([a]));
        assert!(!st.over, "the graph run waits for the merge");
        merged.insert(a);
        let mut wave = state(&merged).start;
        wave.sort();
        let mut expected = vec![b, c];
        expected.sort();
        assert_eq!(wave, expected);
        let _ = d;
    }

    #[test]
    fn a_dependant_that_already_succeeded_awaits_no_merge() {
        let (g, [a, b, c, d]) = diamond();
        // Everything ran; then a ran again. With chain-on=merge nothing is merged, but nothing
        // would start again either: the graph run is over.
        let latest = HashMap::from([
            (a, at(200, Outcome::Succeeded)),
            (b, at(110, Outcome::Succeeded)),
            (c, at(120, Outcome::Succeeded)),
            (d, at(130, Outcome::Succeeded)),
        ]);
        let merged = HashSet::new();
        let st = GraphState {
            graph: &g,
            latest: &latest,
            merged: &merged,
            chain_on: ChainOn::Merge,
            held: &HashSet::new(),
        }
        .next_step(Timestamp(100));
        assert!(st.awaiting_merge.is_empty(), "{st:?}");
        assert!(st.over);
    }

    #[test]
    fn a_merged_result_satisfies_its_dependants_even_when_a_later_run_failed() {
        let (g, [a, b, c, _]) = diamond();
        let since = Timestamp(100);
        // a's latest run failed before this graph run, but an earlier result is in the branch.
        let latest = HashMap::from([(a, at(50, Outcome::Ended))]);
        let merged = HashSet::from([a]);
        let mut st = GraphState {
            graph: &g,
            latest: &latest,
            merged: &merged,
            chain_on: ChainOn::Success,
            held: &HashSet::new(),
        }
        .next_step(since)
        .start;
        st.sort();
        let mut expected = vec![b, c];
        expected.sort();
        assert_eq!(st, expected, "a is not run again; b and c start");
    }

    #[test]
    fn auto_run_never_retries_a_failure() {
        // auto-run steps with `since` at the beginning of time: every run counts.
        let (g, [a, b, _, _]) = diamond();
        let latest = HashMap::from([(a, at(50, Outcome::Succeeded)), (b, at(60, Outcome::Ended))]);
        let st = step(&g, &latest, Timestamp(i64::MIN));
        assert_eq!(st.blocked.get(&b), Some(&Blocked::Failed));
        assert_eq!(st.start.len(), 1, "only c starts");
    }
}
