//! A question's notification and what its actions do. Where the notification service offers
//! actions (Linux), clicking the notification opens the Inbox at the question, and a question
//! with a few single-choice options offers each as a button that answers it. Pure: which
//! actions a question gets, and what an invoked action means.

use corral_core::{Answer, Ask, QuestionAnswer};

/// The action of a click on the notification itself (the notification spec's name for it).
pub const OPEN: &str = "default";
const OPTION_PREFIX: &str = "option:";
/// More options than this do not fit as buttons: the notification only opens the question.
const MAX_OPTION_BUTTONS: usize = 3;

/// What an invoked action asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeAction {
    /// Show the question in the window.
    Open,
    /// Answer the question with this choice.
    Answer(Answer),
}

/// The actions a question's notification offers, as (key, label): open it, and one button per
/// option for a single question with a few single-choice options.
pub fn actions(ask: &Ask) -> Vec<(String, String)> {
    let mut actions = vec![(OPEN.to_string(), "Open in Corral".to_string())];
    // An approval is decided where its whole input can be read, not from a button.
    if ask.permission.is_some() {
        return actions;
    }
    if let [question] = ask.questions.as_slice()
        && !question.multiple
        && (2..=MAX_OPTION_BUTTONS).contains(&question.options.len())
    {
        for (i, option) in question.options.iter().enumerate() {
            actions.push((format!("{OPTION_PREFIX}{i}"), option.label.clone()));
        }
    }
    actions
}

/// What the invoked action `key` means for `ask`; `None` for a key it never offered.
pub fn action(ask: &Ask, key: &str) -> Option<NoticeAction> {
    if key == OPEN {
        return Some(NoticeAction::Open);
    }
    let index: usize = key.strip_prefix(OPTION_PREFIX)?.parse().ok()?;
    if !actions(ask).iter().any(|(k, _)| k == key) {
        return None;
    }
    let label = ask.questions.first()?.options.get(index)?.label.clone();
    Some(NoticeAction::Answer(Answer {
        answers: vec![QuestionAnswer {
            selected: vec![label],
            text: None,
        }],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_core::question::{Choice, Question};

    fn ask(options: &[&str], multiple: bool, questions: usize) -> Ask {
        let question = Question {
            question: "Which database?".into(),
            options: options
                .iter()
                .map(|l| Choice {
                    label: (*l).into(),
                    description: None,
                })
                .collect(),
            multiple,
        };
        Ask {
            questions: vec![question; questions],
            context: None,
            permission: None,
        }
    }

    #[test]
    fn a_few_single_choice_options_become_buttons_that_answer() {
        let db = ask(&["SQLite", "Postgres"], false, 1);
        let keys: Vec<String> = actions(&db).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["default", "option:0", "option:1"]);
        assert_eq!(action(&db, "default"), Some(NoticeAction::Open));
        let Some(NoticeAction::Answer(answer)) = action(&db, "option:1") else {
            panic!("an answer");
        };
        assert_eq!(answer.answers[0].selected, ["Postgres"]);
        assert_eq!(
            db.check_answer(answer.clone()),
            Ok(answer),
            "a valid answer"
        );
    }

    #[test]
    fn other_questions_only_open() {
        for other in [
            ask(&[], false, 1),
            ask(&["a", "b", "c", "d"], false, 1),
            ask(&["a", "b"], true, 1),
            ask(&["a", "b"], false, 2),
        ] {
            assert_eq!(actions(&other).len(), 1, "{other:?}");
            assert_eq!(action(&other, "option:0"), None);
        }
        assert_eq!(action(&ask(&["a", "b"], false, 1), "option:7"), None);
        let approval = corral_core::permission::permission_ask(
            "A",
            "Bash",
            &serde_json::json!({"command": "ls"}),
        );
        assert_eq!(actions(&approval).len(), 1, "an approval only opens");
        assert_eq!(action(&approval, "option:0"), None);
        assert_eq!(action(&ask(&["a", "b"], false, 1), "bogus"), None);
    }
}
