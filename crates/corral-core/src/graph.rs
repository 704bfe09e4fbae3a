//! The task graph: tasks and their "runs after" edges, kept acyclic. Answers which tasks are
//! ready, which are blocked by a failed upstream, and a topological order.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use crate::ids::TaskId;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    #[error("a task cannot depend on itself")]
    SelfDependency { task: TaskId },
    /// `cycle` lists tasks in run order and ends where it starts: `a -> b -> c -> a`.
    #[error("that dependency would create a cycle ({} tasks)", cycle.len() - 1)]
    Cycle { cycle: Vec<TaskId> },
    #[error("task {task} is not in this graph")]
    UnknownTask { task: TaskId },
}

/// How far a task has got, as the graph needs to know it (derived from its latest run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeProgress {
    /// Never run.
    Open,
    /// A run is live.
    Active,
    Succeeded,
    Failed,
    Cancelled,
}

/// Where an open task stands with respect to its dependencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// Every dependency succeeded (or there are none).
    Ready,
    /// Some dependency has not finished yet.
    Waiting,
    /// A dependency, or one of its own upstream tasks, failed or was cancelled.
    Blocked,
}

#[derive(Debug, Clone, Default)]
pub struct TaskGraph {
    /// task -> the tasks it runs after.
    deps: BTreeMap<TaskId, BTreeSet<TaskId>>,
    /// task -> the tasks that run after it.
    dependents: BTreeMap<TaskId, BTreeSet<TaskId>>,
}

impl TaskGraph {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add_task(&mut self, task: TaskId) {
        self.deps.entry(task).or_default();
        self.dependents.entry(task).or_default();
    }

    pub fn contains(&self, task: TaskId) -> bool {
        self.deps.contains_key(&task)
    }

    pub fn len(&self) -> usize {
        self.deps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.deps.is_empty()
    }

    /// Removes a task and every edge touching it.
    pub fn remove_task(&mut self, task: TaskId) {
        if let Some(deps) = self.deps.remove(&task) {
            for d in deps {
                if let Some(set) = self.dependents.get_mut(&d) {
                    set.remove(&task);
                }
            }
        }
        if let Some(dependents) = self.dependents.remove(&task) {
            for d in dependents {
                if let Some(set) = self.deps.get_mut(&d) {
                    set.remove(&task);
                }
            }
        }
    }

    /// Makes `task` run after `after`. Refuses self-edges and edges that would close a cycle;
    /// adding an edge that exists already is a no-op.
    pub fn add_dependency(&mut self, task: TaskId, after: TaskId) -> Result<(), GraphError> {
        if task == after {
            return Err(GraphError::SelfDependency { task });
        }
        for t in [task, after] {
            if !self.contains(t) {
                return Err(GraphError::UnknownTask { task: t });
            }
        }
        if let Some(mut path) = self.path_along_dependents(task, after) {
            // task -> ... -> after already runs in that order; the new edge after -> task closes it.
            path.push(task);
            return Err(GraphError::Cycle { cycle: path });
        }
        self.deps.entry(task).or_default().insert(after);
        self.dependents.entry(after).or_default().insert(task);
        Ok(())
    }

    /// Builds a graph from stored tasks and edges in O(V + E). Edges were checked when they were
    /// added; if the set is cyclic anyway (a hand-edited database) it is rebuilt edge by edge
    /// and the edges that would close a cycle are returned instead of added.
    pub fn from_edges(
        tasks: impl IntoIterator<Item = TaskId>,
        edges: &[(TaskId, TaskId)],
    ) -> (TaskGraph, Vec<(TaskId, TaskId)>) {
        let tasks: Vec<TaskId> = tasks.into_iter().collect();
        let mut graph = TaskGraph::new();
        for &t in &tasks {
            graph.add_task(t);
        }
        let mut rejected = Vec::new();
        for &(task, after) in edges {
            if task == after || !graph.contains(task) || !graph.contains(after) {
                rejected.push((task, after));
                continue;
            }
            graph.deps.entry(task).or_default().insert(after);
            graph.dependents.entry(after).or_default().insert(task);
        }
        if graph.topological_order().len() == graph.len() {
            return (graph, rejected);
        }
        let mut graph = TaskGraph::new();
        for &t in &tasks {
            graph.add_task(t);
        }
        rejected.clear();
        for &(task, after) in edges {
            if graph.add_dependency(task, after).is_err() {
                rejected.push((task, after));
            }
        }
        (graph, rejected)
    }

    /// Returns whether the edge existed.
    pub fn remove_dependency(&mut self, task: TaskId, after: TaskId) -> bool {
        let existed = self.deps.get_mut(&task).is_some_and(|s| s.remove(&after));
        if let Some(s) = self.dependents.get_mut(&after) {
            s.remove(&task);
        }
        existed
    }

    pub fn dependencies(&self, task: TaskId) -> impl Iterator<Item = TaskId> + '_ {
        self.deps.get(&task).into_iter().flatten().copied()
    }

    pub fn dependents(&self, task: TaskId) -> impl Iterator<Item = TaskId> + '_ {
        self.dependents.get(&task).into_iter().flatten().copied()
    }

    /// Every edge as (task, after).
    pub fn edges(&self) -> impl Iterator<Item = (TaskId, TaskId)> + '_ {
        self.deps
            .iter()
            .flat_map(|(t, ds)| ds.iter().map(move |d| (*t, *d)))
    }

    /// Shortest path from `from` to `to` following "runs before" edges, both ends included.
    fn path_along_dependents(&self, from: TaskId, to: TaskId) -> Option<Vec<TaskId>> {
        let mut came_from: HashMap<TaskId, TaskId> = HashMap::new();
        let mut queue = VecDeque::from([from]);
        while let Some(current) = queue.pop_front() {
            if current == to {
                let mut path = vec![to];
                let mut at = to;
                while at != from {
                    at = came_from[&at];
                    path.push(at);
                }
                path.reverse();
                return Some(path);
            }
            for next in self.dependents(current) {
                if next != from && !came_from.contains_key(&next) {
                    came_from.insert(next, current);
                    queue.push_back(next);
                }
            }
        }
        None
    }

    /// Every task `task` runs after, directly or through others, each after its own
    /// dependencies (the order their work is merged in).
    pub fn upstream_of(&self, task: TaskId) -> Vec<TaskId> {
        let mut upstream = BTreeSet::new();
        let mut todo: Vec<TaskId> = self.dependencies(task).collect();
        while let Some(next) = todo.pop() {
            if upstream.insert(next) {
                todo.extend(self.dependencies(next));
            }
        }
        self.order_within(&upstream)
    }

    /// The tasks of `set`, which holds every dependency of its tasks, each after its
    /// dependencies; ties broken by id, so it is `topological_order` with the others left out,
    /// in time proportional to the set rather than the graph.
    fn order_within(&self, set: &BTreeSet<TaskId>) -> Vec<TaskId> {
        let mut remaining: HashMap<TaskId, usize> = set
            .iter()
            .map(|t| (*t, self.dependencies(*t).count()))
            .collect();
        let mut ready: BTreeSet<TaskId> = remaining
            .iter()
            .filter(|(_, n)| **n == 0)
            .map(|(t, _)| *t)
            .collect();
        let mut order = Vec::with_capacity(set.len());
        while let Some(task) = ready.pop_first() {
            order.push(task);
            for next in self.dependents(task) {
                if let Some(n) = remaining.get_mut(&next) {
                    *n -= 1;
                    if *n == 0 {
                        ready.insert(next);
                    }
                }
            }
        }
        order
    }

    /// Each task's layer: 0 for a task that runs after nothing, else one more than the
    /// highest layer of the tasks it runs after.
    pub fn layers(&self) -> HashMap<TaskId, usize> {
        let mut layers = HashMap::new();
        for task in self.topological_order() {
            let layer = self
                .dependencies(task)
                .filter_map(|dep| layers.get(&dep))
                .map(|l| l + 1)
                .max()
                .unwrap_or(0);
            layers.insert(task, layer);
        }
        layers
    }

    /// Every task, each after all of its dependencies; ties broken by id (creation order).
    pub fn topological_order(&self) -> Vec<TaskId> {
        let mut remaining: HashMap<TaskId, usize> =
            self.deps.iter().map(|(t, ds)| (*t, ds.len())).collect();
        let mut ready: BTreeSet<TaskId> = remaining
            .iter()
            .filter(|(_, n)| **n == 0)
            .map(|(t, _)| *t)
            .collect();
        let mut order = Vec::with_capacity(self.deps.len());
        while let Some(task) = ready.pop_first() {
            order.push(task);
            for next in self.dependents(task) {
                if let Some(n) = remaining.get_mut(&next) {
                    *n -= 1;
                    if *n == 0 {
                        ready.insert(next);
                    }
                }
            }
        }
        order
    }

    /// Readiness of every open task. Tasks that are not open are left out. A task is blocked when
    /// a dependency failed or was cancelled, or is itself blocked.
    pub fn readiness(
        &self,
        progress: impl Fn(TaskId) -> NodeProgress,
    ) -> BTreeMap<TaskId, Readiness> {
        let mut out = BTreeMap::new();
        for task in self.topological_order() {
            if progress(task) != NodeProgress::Open {
                continue;
            }
            let mut readiness = Readiness::Ready;
            for dep in self.dependencies(task) {
                let dep_state = match progress(dep) {
                    NodeProgress::Succeeded => Readiness::Ready,
                    NodeProgress::Failed | NodeProgress::Cancelled => Readiness::Blocked,
                    NodeProgress::Active => Readiness::Waiting,
                    // An open dependency has not run yet: its dependents wait, unless it can
                    // never run because it is blocked itself.
                    NodeProgress::Open => match out.get(&dep) {
                        Some(Readiness::Blocked) => Readiness::Blocked,
                        _ => Readiness::Waiting,
                    },
                };
                readiness = match (readiness, dep_state) {
                    (_, Readiness::Blocked) | (Readiness::Blocked, _) => Readiness::Blocked,
                    (_, Readiness::Ready) => readiness,
                    (_, Readiness::Waiting) => Readiness::Waiting,
                };
            }
            out.insert(task, readiness);
        }
        out
    }

    pub fn ready_set(&self, progress: impl Fn(TaskId) -> NodeProgress) -> BTreeSet<TaskId> {
        self.readiness(progress)
            .into_iter()
            .filter(|(_, r)| *r == Readiness::Ready)
            .map(|(t, _)| t)
            .collect()
    }

    pub fn blocked_set(&self, progress: impl Fn(TaskId) -> NodeProgress) -> BTreeSet<TaskId> {
        self.readiness(progress)
            .into_iter()
            .filter(|(_, r)| *r == Readiness::Blocked)
            .map(|(t, _)| t)
            .collect()
    }
}

#[cfg(test)]
#[path = "graph_tests.rs"]
mod tests;
