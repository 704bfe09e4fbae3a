//! The wall clock, read in one place (the domain takes times as arguments).

use std::time::{SystemTime, UNIX_EPOCH};

use corral_core::Timestamp;

pub(crate) fn now() -> Timestamp {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    Timestamp(i64::try_from(ms).unwrap_or(i64::MAX))
}
