//! Tests of `graph`.

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

#[test]
fn upstream_is_every_task_run_after_in_merge_order() {
    let ids: Vec<TaskId> = (0..5).map(|_| TaskId::new()).collect();
    let (a, b, c, d, other) = (ids[0], ids[1], ids[2], ids[3], ids[4]);
    let (g, rejected) = TaskGraph::from_edges(ids.clone(), &[(b, a), (c, a), (d, b), (d, c)]);
    assert!(rejected.is_empty());
    assert_eq!(g.upstream_of(d), vec![a, b, c]);
    let layers = g.layers();
    assert_eq!(
        [a, b, c, d, other].map(|t| layers[&t]),
        [0, 1, 1, 2, 0],
        "layers by the longest way in"
    );
    assert_eq!(g.upstream_of(b), vec![a]);
    assert!(g.upstream_of(a).is_empty());
    assert!(g.upstream_of(other).is_empty());
}

#[test]
fn upstream_of_is_the_topological_order_of_what_a_task_runs_after() {
    let ids: Vec<TaskId> = (0..60).map(|_| TaskId::new()).collect();
    let mut edges = Vec::new();
    for i in 0..ids.len() {
        for j in 0..i {
            if (i * 7 + j * 3) % 5 == 0 {
                edges.push((ids[i], ids[j]));
            }
        }
    }
    let (g, rejected) = TaskGraph::from_edges(ids.clone(), &edges);
    assert!(rejected.is_empty());
    let order = g.topological_order();
    for &t in &ids {
        let mut upstream = std::collections::BTreeSet::new();
        let mut todo: Vec<TaskId> = g.dependencies(t).collect();
        while let Some(next) = todo.pop() {
            if upstream.insert(next) {
                todo.extend(g.dependencies(next));
            }
        }
        let expected: Vec<TaskId> = order
            .iter()
            .copied()
            .filter(|x| upstream.contains(x))
            .collect();
        assert_eq!(g.upstream_of(t), expected);
    }
}
