//! Task listings kept as computed, per project (or for all): a listing is given again while the
//! database's change version has not moved (any process's change to what a listing is made of
//! moves it) and the project branches it looked at are where they were (a result merged by hand
//! makes a task done). Listing a big project is then one small query and a git ref lookup or
//! two, not the whole derivation.

use std::collections::HashMap;
use std::sync::Mutex;

use corral_core::{ProjectId, TaskSummary};

use crate::views::TaskView;

/// The project branches a listing looked at, and where each was (`None`: unreadable).
pub(crate) type Tips = Vec<(ProjectId, Option<String>)>;

#[derive(Debug)]
struct Entry {
    version: i64,
    tips: Tips,
    views: Vec<TaskView<TaskSummary>>,
}

#[derive(Debug, Default)]
pub(crate) struct ListingCache(Mutex<HashMap<Option<ProjectId>, Entry>>);

impl ListingCache {
    /// The listing of `project` made at `version`, and the branch tips it depends on.
    pub(crate) fn get(
        &self,
        project: Option<ProjectId>,
        version: i64,
    ) -> Option<(Tips, Vec<TaskView<TaskSummary>>)> {
        let cache = self.0.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(&project)
            .filter(|e| e.version == version)
            .map(|e| (e.tips.clone(), e.views.clone()))
    }

    pub(crate) fn put(
        &self,
        project: Option<ProjectId>,
        version: i64,
        tips: Tips,
        views: Vec<TaskView<TaskSummary>>,
    ) {
        let mut cache = self.0.lock().unwrap_or_else(|p| p.into_inner());
        cache.insert(
            project,
            Entry {
                version,
                tips,
                views,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_holds_for_its_version_only() {
        let cache = ListingCache::default();
        let p = Some(ProjectId::new());
        assert!(cache.get(p, 1).is_none());
        cache.put(
            p,
            1,
            vec![(ProjectId::new(), Some("abc".into()))],
            Vec::new(),
        );
        let (tips, views) = cache.get(p, 1).expect("kept");
        assert_eq!(tips.len(), 1);
        assert!(views.is_empty());
        assert!(cache.get(p, 2).is_none(), "the database moved on");
        assert!(cache.get(None, 1).is_none(), "another scope");
    }
}
