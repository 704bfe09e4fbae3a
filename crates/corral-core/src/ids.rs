//! Typed ids. Each is a UUIDv7 (time-ordered, so ids sort by creation) wrapped in its own type so
//! a task id can never be passed where a run id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A string that is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a valid {what} id (expected a UUID)")]
pub struct IdParseError {
    pub what: &'static str,
    pub input: String,
}

macro_rules! typed_id {
    ($name:ident, $what:literal) => {
        #[doc = concat!("Identifies one ", $what, ".")]
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }

            /// The last 8 hex digits: the random part of a v7 id, so two ids made in the same
            /// millisecond still differ. Used in branch names and short displays.
            pub fn short(&self) -> String {
                let simple = self.0.simple().to_string();
                simple[simple.len() - 8..].to_string()
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = IdParseError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s.trim())
                    .map(Self)
                    .map_err(|_| IdParseError {
                        what: $what,
                        input: s.to_string(),
                    })
            }
        }
    };
}

typed_id!(ProjectId, "project");
typed_id!(TaskId, "task");
typed_id!(RunId, "run");
typed_id!(RequestId, "request");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_display_and_from_str() {
        let id = TaskId::new();
        let parsed: TaskId = id.to_string().parse().expect("parses");
        assert_eq!(id, parsed);
    }

    #[test]
    fn rejects_garbage_with_the_kind_of_id() {
        let err = "nope".parse::<RunId>().expect_err("must fail");
        assert_eq!(err.what, "run");
        assert!(err.to_string().contains("`nope` is not a valid run id"));
    }

    #[test]
    fn ids_sort_by_creation_and_short_forms_differ() {
        let a = ProjectId::new();
        let b = ProjectId::new();
        assert!(a < b);
        assert_eq!(a.short().len(), 8);
        assert_ne!(a.short(), b.short());
    }

    #[test]
    fn serialises_as_a_plain_string() {
        let id = RunId::new();
        let json = serde_json::to_string(&id).expect("serialises");
        assert_eq!(json, format!("\"{id}\""));
    }
}
