//! Run branch names: `corral/<task-slug>-<short-run-id>`. The slug keeps names readable in the
//! user's own git tools; the run id keeps them unique.

use crate::ids::RunId;

const SLUG_MAX: usize = 40;

/// Lowercase ASCII letters and digits from the title, other runs of characters as one `-`,
/// at most 40 characters; `task` when nothing is left.
pub fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
        if out.len() >= SLUG_MAX {
            break;
        }
    }
    let trimmed = out.trim_matches('-');
    if trimmed.is_empty() {
        "task".to_string()
    } else {
        trimmed.to_string()
    }
}

pub fn run_branch(task_title: &str, run: RunId) -> String {
    format!("corral/{}-{}", slug(task_title), run.short())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_short_safe_and_readable() {
        assert_eq!(slug("Fix the flaky cart test!"), "fix-the-flaky-cart-test");
        assert_eq!(slug("  Ünïcode & spaces  "), "n-code-spaces");
        assert_eq!(slug("日本語"), "task");
        assert_eq!(slug(&"a".repeat(100)).len(), 40);
        assert_eq!(slug("a/b..c~d^e:f"), "a-b-c-d-e-f");
    }

    #[test]
    fn branch_names_carry_the_run() {
        let run = RunId::new();
        let name = run_branch("Fix it", run);
        assert_eq!(name, format!("corral/fix-it-{}", run.short()));
    }
}
