//! Instants as milliseconds since the Unix epoch (UTC). The domain never reads the clock; callers
//! pass the time in, which keeps this crate free of IO and its tests deterministic.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    pub fn as_millis(&self) -> i64 {
        self.0
    }

    /// Milliseconds from `earlier` to `self` (negative when `earlier` is later).
    pub fn millis_since(&self, earlier: Timestamp) -> i64 {
        self.0 - earlier.0
    }
}
