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
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn graph(n: usize) -> (TaskGraph, Vec<TaskId>) {
        let ids: Vec<TaskId> = (0..n).map(|_| TaskId::new()).collect();
        let mut g = TaskGraph::new();
        for id in &ids {
            g.add_task(*id);
        }
        (g, ids)
    }

    #[test]
    fn refuses_self_edges() {
        let (mut g, ids) = graph(1);
        assert_eq!(
            g.add_dependency(ids[0], ids[0]),
            Err(GraphError::SelfDependency { task: ids[0] })
        );
    }

    #[test]
    fn refuses_a_three_task_cycle_and_names_it_in_run_order() {
        let (mut g, t) = graph(3);
        let (a, b, c) = (t[0], t[1], t[2]);
        g.add_dependency(b, a).expect("b after a");
        g.add_dependency(c, b).expect("c after b");
        let err = g
            .add_dependency(a, c)
            .expect_err("a after c closes a -> b -> c -> a");
        assert_eq!(
            err,
            GraphError::Cycle {
                cycle: vec![a, b, c, a]
            }
        );
        assert_eq!(
            g.dependencies(a).count(),
            0,
            "the refused edge was not added"
        );
    }

    #[test]
    fn refuses_unknown_tasks_and_ignores_duplicates() {
        let (mut g, t) = graph(2);
        let stranger = TaskId::new();
        assert_eq!(
            g.add_dependency(t[0], stranger),
            Err(GraphError::UnknownTask { task: stranger })
        );
        g.add_dependency(t[1], t[0]).expect("first");
        g.add_dependency(t[1], t[0]).expect("again is fine");
        assert_eq!(g.edges().count(), 1);
        assert!(g.remove_dependency(t[1], t[0]));
        assert!(!g.remove_dependency(t[1], t[0]));
    }

    #[test]
    fn readiness_follows_upstream_outcomes() {
        // a -> b -> c, and d alone.
        let (mut g, t) = graph(4);
        let (a, b, c, d) = (t[0], t[1], t[2], t[3]);
        g.add_dependency(b, a).expect("edge");
        g.add_dependency(c, b).expect("edge");
        let open = |_| NodeProgress::Open;
        assert_eq!(g.ready_set(open), BTreeSet::from([a, d]));

        let a_done = |id| {
            if id == a {
                NodeProgress::Succeeded
            } else {
                NodeProgress::Open
            }
        };
        assert_eq!(g.ready_set(a_done), BTreeSet::from([b, d]));

        let a_failed = |id| {
            if id == a {
                NodeProgress::Failed
            } else {
                NodeProgress::Open
            }
        };
        assert_eq!(
            g.blocked_set(a_failed),
            BTreeSet::from([b, c]),
            "failure propagates"
        );
        assert_eq!(g.ready_set(a_failed), BTreeSet::from([d]));

        let a_running = |id| {
            if id == a {
                NodeProgress::Active
            } else {
                NodeProgress::Open
            }
        };
        let r = g.readiness(a_running);
        assert_eq!(r.get(&b), Some(&Readiness::Waiting));
        assert_eq!(r.get(&a), None, "non-open tasks are left out");
    }

    #[test]
    fn from_edges_rejects_what_add_dependency_would() {
        let (_, t) = graph(3);
        let (g, rejected) = TaskGraph::from_edges(t.clone(), &[(t[1], t[0]), (t[2], t[1])]);
        assert!(rejected.is_empty());
        assert_eq!(g.edges().count(), 2);
        let stranger = TaskId::new();
        let cyclic = [
            (t[1], t[0]),
            (t[2], t[1]),
            (t[0], t[2]),
            (t[0], t[0]),
            (t[0], stranger),
        ];
        let (g, rejected) = TaskGraph::from_edges(t.clone(), &cyclic);
        assert_eq!(g.topological_order().len(), 3, "acyclic after the rebuild");
        assert_eq!(g.edges().count(), 2);
        assert!(rejected.contains(&(t[0], t[2])) && rejected.contains(&(t[0], t[0])));
        assert!(rejected.contains(&(t[0], stranger)));
    }

    #[test]
    fn remove_task_drops_its_edges() {
        let (mut g, t) = graph(3);
        g.add_dependency(t[1], t[0]).expect("edge");
        g.add_dependency(t[2], t[1]).expect("edge");
        g.remove_task(t[1]);
        assert_eq!(g.edges().count(), 0);
        assert_eq!(g.len(), 2);
    }

    /// A random DAG: edges only from a higher index to a lower one.
    fn dag() -> impl Strategy<Value = (usize, Vec<(usize, usize)>)> {
        (2usize..40).prop_flat_map(|n| {
            let edges = prop::collection::vec((0..n, 0..n), 0..n * 3).prop_map(|pairs| {
                pairs
                    .into_iter()
                    .filter(|(a, b)| a != b)
                    .map(|(a, b)| (a.max(b), a.min(b)))
                    .collect()
            });
            (Just(n), edges)
        })
    }

    fn reaches(g: &TaskGraph, from: TaskId, to: TaskId) -> bool {
        let mut stack = vec![from];
        let mut seen = BTreeSet::new();
        while let Some(x) = stack.pop() {
            if x == to {
                return true;
            }
            if seen.insert(x) {
                stack.extend(g.dependents(x));
            }
        }
        false
    }

    proptest! {
        #[test]
        fn dag_edges_are_accepted_and_order_respects_them((n, edges) in dag()) {
            let (mut g, ids) = graph(n);
            for (t, after) in &edges {
                prop_assert!(g.add_dependency(ids[*t], ids[*after]).is_ok());
            }
            let order = g.topological_order();
            prop_assert_eq!(order.len(), n);
            let pos: HashMap<TaskId, usize> = order.iter().enumerate().map(|(i, t)| (*t, i)).collect();
            for (t, after) in g.edges() {
                prop_assert!(pos[&after] < pos[&t]);
            }
        }

        #[test]
        fn reverse_edges_are_refused_exactly_when_they_close_a_cycle(
            (n, edges) in dag(), probes in prop::collection::vec((0usize..40, 0usize..40), 1..20)
        ) {
            let (mut g, ids) = graph(n);
            for (t, after) in &edges {
                g.add_dependency(ids[*t], ids[*after]).expect("dag edge");
            }
            for (x, y) in probes {
                let (task, after) = (ids[x % n], ids[y % n]);
                if task == after { continue; }
                let closes = reaches(&g, task, after);
                match g.add_dependency(task, after) {
                    Err(GraphError::Cycle { cycle }) => {
                        prop_assert!(closes);
                        prop_assert_eq!(cycle.first(), Some(&task));
                        prop_assert_eq!(cycle.last(), Some(&task));
                        // Each step of the named cycle is a real edge, plus the refused one.
                        for w in cycle.windows(2) {
                            let (before, next) = (w[0], w[1]);
                            let is_edge = g.dependencies(next).any(|d| d == before);
                            prop_assert!(is_edge || (before == after && next == task));
                        }
                    }
                    Ok(()) => prop_assert!(!closes),
                    Err(other) => prop_assert!(false, "unexpected {other:?}"),
                }
            }
            prop_assert_eq!(g.topological_order().len(), n, "still acyclic");
        }

        #[test]
        fn ready_means_open_with_every_dependency_succeeded(
            (n, edges) in dag(), states in prop::collection::vec(0u8..5, 40)
        ) {
            let (mut g, ids) = graph(n);
            for (t, after) in &edges {
                g.add_dependency(ids[*t], ids[*after]).expect("dag edge");
            }
            let index: HashMap<TaskId, usize> = ids.iter().enumerate().map(|(i, t)| (*t, i)).collect();
            let progress = |t: TaskId| match states[index[&t]] {
                0 | 1 => NodeProgress::Open,
                2 => NodeProgress::Succeeded,
                3 => NodeProgress::Failed,
                _ => NodeProgress::Active,
            };
            let ready = g.ready_set(progress);
            let blocked = g.blocked_set(progress);
            for t in &ids {
                let open = progress(*t) == NodeProgress::Open;
                let all_ok = g.dependencies(*t).all(|d| progress(d) == NodeProgress::Succeeded);
                prop_assert_eq!(ready.contains(t), open && all_ok);
                if open && g.dependencies(*t).any(|d| progress(d) == NodeProgress::Failed) {
                    prop_assert!(blocked.contains(t));
                }
                prop_assert!(!(ready.contains(t) && blocked.contains(t)));
            }
        }
    }
}
