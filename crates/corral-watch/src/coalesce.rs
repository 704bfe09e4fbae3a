//! Coalescing raw file-system events per path: within the window, create + modify + modify is
//! one change, create + remove is none, and a rename is one change at the new path. Pure: the
//! caller says whether each due path exists now.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What happened to a path, as the watcher reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeKind {
    Created,
    Modified,
    Removed,
    /// Moved here from `from` (relative to the checkout).
    Renamed {
        from: PathBuf,
    },
}

impl ChangeKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            ChangeKind::Created => "created",
            ChangeKind::Modified => "modified",
            ChangeKind::Removed => "removed",
            ChangeKind::Renamed { .. } => "renamed",
        }
    }
}

/// One coalesced change of a file, relative to the watched root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: PathBuf,
    pub kind: ChangeKind,
    /// Size in bytes after the change; `None` when removed or not a regular file.
    pub size: Option<u64>,
    /// For a symbolic link: its target text, never followed.
    pub link: Option<String>,
}

/// A raw event of one path, as the OS reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raw {
    Create,
    Modify,
    Remove,
    /// The path was renamed away (its new name may come as `RenamedTo` of another path).
    RenamedAway,
}

#[derive(Debug)]
struct Pending {
    first_seen: Instant,
    first: Raw,
    renamed_from: Option<PathBuf>,
}

/// Per-path pending changes, released once `window` has passed since the path's first event
/// (not since its last, so a file written continuously still shows up).
#[derive(Debug, Default)]
pub struct Coalescer {
    pending: HashMap<PathBuf, Pending>,
}

impl Coalescer {
    pub fn add(&mut self, path: PathBuf, raw: Raw, now: Instant) {
        self.pending.entry(path).or_insert(Pending {
            first_seen: now,
            first: raw,
            renamed_from: None,
        });
    }

    /// `to` was renamed from `from`.
    pub fn add_rename(&mut self, from: PathBuf, to: PathBuf, now: Instant) {
        self.add(from.clone(), Raw::RenamedAway, now);
        let entry = self.pending.entry(to).or_insert(Pending {
            first_seen: now,
            first: Raw::Create,
            renamed_from: None,
        });
        entry.renamed_from = Some(from);
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Releases the paths whose window has passed. `exists` tells whether a path is there now
    /// and, if so, its size (for regular files).
    pub fn take_due(
        &mut self,
        now: Instant,
        window: Duration,
        mut exists: impl FnMut(&PathBuf) -> Option<Option<u64>>,
    ) -> Vec<Change> {
        let due: Vec<PathBuf> = self
            .pending
            .iter()
            .filter(|(_, p)| now.duration_since(p.first_seen) >= window)
            .map(|(path, _)| path.clone())
            .collect();
        let mut due_entries: Vec<(PathBuf, Pending)> = due
            .into_iter()
            .filter_map(|path| self.pending.remove(&path).map(|p| (path, p)))
            .collect();
        due_entries.sort_by(|a, b| a.1.first_seen.cmp(&b.1.first_seen).then(a.0.cmp(&b.0)));
        let renamed_sources: Vec<PathBuf> = due_entries
            .iter()
            .filter_map(|(_, p)| p.renamed_from.clone())
            .collect();
        let mut changes = Vec::new();
        for (path, pending) in due_entries {
            let now_there = exists(&path);
            let kind = match (now_there, &pending.renamed_from, pending.first) {
                (Some(_), Some(from), _) => ChangeKind::Renamed { from: from.clone() },
                (Some(_), None, Raw::Create) => ChangeKind::Created,
                (Some(_), None, _) => ChangeKind::Modified,
                // Made and gone within the window: nothing to report.
                (None, _, Raw::Create) => continue,
                // Its rename target reports the move.
                (None, _, Raw::RenamedAway) if renamed_sources.contains(&path) => continue,
                (None, _, _) => ChangeKind::Removed,
            };
            changes.push(Change {
                path,
                kind,
                size: now_there.flatten(),
                link: None,
            });
        }
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(events: &[(&str, Raw)], existing: &[&str]) -> Vec<(String, ChangeKind)> {
        let mut c = Coalescer::default();
        let t0 = Instant::now();
        for (path, raw) in events {
            c.add(PathBuf::from(path), *raw, t0);
        }
        let window = Duration::from_millis(30);
        c.take_due(t0 + window, window, |p| {
            existing
                .contains(&p.to_str().unwrap_or(""))
                .then_some(Some(1))
        })
        .into_iter()
        .map(|ch| (ch.path.display().to_string(), ch.kind))
        .collect()
    }

    #[test]
    fn create_then_modifies_is_one_creation() {
        let got = run(
            &[("a", Raw::Create), ("a", Raw::Modify), ("a", Raw::Modify)],
            &["a"],
        );
        assert_eq!(got, vec![("a".to_string(), ChangeKind::Created)]);
    }

    #[test]
    fn create_then_remove_is_nothing_and_modify_then_remove_is_a_removal() {
        assert!(run(&[("a", Raw::Create), ("a", Raw::Remove)], &[]).is_empty());
        assert_eq!(
            run(&[("b", Raw::Modify), ("b", Raw::Remove)], &[]),
            vec![("b".to_string(), ChangeKind::Removed)]
        );
    }

    #[test]
    fn a_rename_is_one_change_at_the_new_path() {
        let mut c = Coalescer::default();
        let t0 = Instant::now();
        c.add_rename(PathBuf::from("old"), PathBuf::from("new"), t0);
        let got = c.take_due(
            t0 + Duration::from_millis(50),
            Duration::from_millis(30),
            |p| (p == &PathBuf::from("new")).then_some(Some(3)),
        );
        assert_eq!(
            got,
            vec![Change {
                path: PathBuf::from("new"),
                kind: ChangeKind::Renamed {
                    from: PathBuf::from("old")
                },
                size: Some(3),
                link: None,
            }]
        );
    }

    #[test]
    fn paths_wait_for_their_window() {
        let mut c = Coalescer::default();
        let t0 = Instant::now();
        c.add(PathBuf::from("a"), Raw::Modify, t0);
        let window = Duration::from_millis(30);
        assert!(
            c.take_due(t0 + Duration::from_millis(10), window, |_| Some(None))
                .is_empty()
        );
        assert_eq!(c.len(), 1);
        assert_eq!(c.take_due(t0 + window, window, |_| Some(None)).len(), 1);
        assert!(c.is_empty());
    }
}
