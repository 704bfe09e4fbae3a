//! What the project branches are known to hold: for each project, its branch tip and, for each
//! result commit asked about, whether that tip holds it. Asking again while the branch has not
//! moved costs one ref lookup and no history walk.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use corral_core::ProjectId;

#[derive(Debug, Default)]
struct Answers {
    tip: String,
    reachable: HashMap<String, bool>,
}

#[derive(Debug, Default)]
pub(crate) struct MergedCache(Mutex<HashMap<ProjectId, Answers>>);

impl MergedCache {
    /// Of `commits`, those not yet known for `tip`.
    pub(crate) fn unknown<'a>(
        &self,
        project: ProjectId,
        tip: &str,
        commits: impl IntoIterator<Item = &'a String>,
    ) -> Vec<String> {
        let cache = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let known = cache.get(&project).filter(|a| a.tip == tip);
        let unknown: HashSet<&String> = commits
            .into_iter()
            .filter(|c| known.is_none_or(|a| !a.reachable.contains_key(*c)))
            .collect();
        unknown.into_iter().cloned().collect()
    }

    /// Records whether `tip` holds each of `commits`.
    pub(crate) fn learn(&self, project: ProjectId, tip: &str, answers: Vec<(String, bool)>) {
        let mut cache = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let entry = cache.entry(project).or_default();
        if entry.tip != tip {
            *entry = Answers {
                tip: tip.to_string(),
                reachable: HashMap::new(),
            };
        }
        entry.reachable.extend(answers);
    }

    /// Whether `tip` is known to hold `commit`.
    pub(crate) fn holds(&self, project: ProjectId, tip: &str, commit: &str) -> bool {
        let cache = self.0.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(&project)
            .filter(|a| a.tip == tip)
            .and_then(|a| a.reachable.get(commit).copied())
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_hold_until_the_tip_moves() {
        let cache = MergedCache::default();
        let p = ProjectId::new();
        let (a, b) = ("a".to_string(), "b".to_string());
        assert_eq!(cache.unknown(p, "t1", [&a]), vec![a.clone()]);
        cache.learn(p, "t1", vec![(a.clone(), true)]);
        assert!(cache.unknown(p, "t1", [&a]).is_empty());
        assert_eq!(cache.unknown(p, "t1", [&a, &b]), vec![b.clone()]);
        assert!(cache.holds(p, "t1", "a"));
        assert!(!cache.holds(p, "t2", "a"), "a moved tip knows nothing");
        cache.learn(p, "t2", vec![(b.clone(), false)]);
        assert!(
            !cache.holds(p, "t1", "a"),
            "the old tip's answers are dropped"
        );
        assert_eq!(cache.unknown(p, "t2", [&a]), vec![a]);
    }
}
