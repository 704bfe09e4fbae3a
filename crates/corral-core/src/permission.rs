//! Approvals (`agent-permissions=ask`): an agent's request to use a tool beyond what it may do
//! alone (a command, a fetch) becomes a question for a person with three choices: allow once,
//! allow for this run, deny. Pure: the question asked and what its answer decides.

use serde::{Deserialize, Serialize};

use crate::question::{Answer, Ask, Choice, Question};

pub const ALLOW_ONCE: &str = "Allow once";
pub const ALLOW_FOR_RUN: &str = "Allow for this run";
pub const DENY: &str = "Deny";

/// The most of the tool's input shown in the question (all of it, up to the context's bound,
/// is in the context).
const SHOWN_CHARS: usize = 1_000;
/// The most of the tool's input (as JSON) kept with the question; a longer one is not asked.
pub const INPUT_CHARS: usize = 7_000;

/// What an approval question is about, kept with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionAsk {
    /// The agent's tool (Claude Code's `Bash`, `WebFetch`, ...).
    pub tool: String,
    /// Its input as compact JSON (cut to a bound).
    pub input: String,
}

/// What a person decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    AllowOnce,
    AllowForRun,
    /// With what they said, if anything.
    Deny(Option<String>),
}

fn cut(text: &str, max: usize) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
        .collect();
    if clean.chars().count() <= max {
        return clean;
    }
    let mut cut: String = clean.chars().take(max).collect();
    cut.push_str(" [...]");
    cut
}

/// The part of a tool's input a person needs to decide: a command, a URL, a path; else the
/// input itself.
pub fn shown_input(input: &serde_json::Value) -> String {
    for key in [
        "command",
        "url",
        "file_path",
        "path",
        "pattern",
        "query",
        "title",
    ] {
        if let Some(value) = input.get(key).and_then(serde_json::Value::as_str) {
            return cut(value, SHOWN_CHARS);
        }
    }
    cut(&input.to_string(), SHOWN_CHARS)
}

/// The question a person is asked when `agent` wants to use `tool` with `input`.
pub fn permission_ask(agent: &str, tool: &str, input: &serde_json::Value) -> Ask {
    let tool = cut(tool.trim(), 100);
    let input_json = cut(&input.to_string(), INPUT_CHARS);
    Ask {
        questions: vec![Question {
            question: format!("{agent} wants to use {tool}: {}", shown_input(input)),
            options: vec![
                Choice {
                    label: ALLOW_ONCE.into(),
                    description: Some("this call only".into()),
                },
                Choice {
                    label: ALLOW_FOR_RUN.into(),
                    description: Some(format!("every {tool} call of this run")),
                },
                Choice {
                    label: DENY.into(),
                    description: Some("the agent is told; say why in the text".into()),
                },
            ],
            multiple: false,
        }],
        context: Some(format!("{tool} with {input_json}")),
        permission: Some(PermissionAsk {
            tool,
            input: input_json,
        }),
    }
}

/// What an answer to an approval question decides: an allow only when one was picked.
pub fn decision(answer: &Answer) -> Decision {
    let first = answer.answers.first();
    let picked = |label: &str| first.is_some_and(|a| a.selected.iter().any(|s| s == label));
    if picked(ALLOW_FOR_RUN) {
        Decision::AllowForRun
    } else if picked(ALLOW_ONCE) {
        Decision::AllowOnce
    } else {
        Decision::Deny(first.and_then(|a| a.text.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::question::QuestionAnswer;

    fn answer(selected: &[&str], text: Option<&str>) -> Answer {
        Answer {
            answers: vec![QuestionAnswer {
                selected: selected.iter().map(|s| s.to_string()).collect(),
                text: text.map(String::from),
            }],
        }
    }

    #[test]
    fn the_question_shows_the_command_and_offers_three_choices() {
        let ask = permission_ask(
            "Claude Code",
            "Bash",
            &serde_json::json!({"command": "npm install\u{7}", "description": "deps"}),
        );
        let ask = ask.checked().expect("a valid question");
        assert_eq!(
            ask.questions[0].question,
            "Claude Code wants to use Bash: npm install"
        );
        let labels: Vec<&str> = ask.questions[0]
            .options
            .iter()
            .map(|o| o.label.as_str())
            .collect();
        assert_eq!(labels, [ALLOW_ONCE, ALLOW_FOR_RUN, DENY]);
        assert!(
            ask.context
                .as_deref()
                .is_some_and(|c| c.contains("\"description\":\"deps\""))
        );
        assert_eq!(
            ask.permission.as_ref().map(|p| p.tool.as_str()),
            Some("Bash")
        );
    }

    #[test]
    fn a_huge_input_is_cut_and_still_a_valid_question() {
        let ask = permission_ask(
            "A",
            "WebFetch",
            &serde_json::json!({"url": "u".repeat(50_000)}),
        );
        assert!(ask.checked().is_ok());
    }

    #[test]
    fn only_a_picked_allow_allows() {
        assert_eq!(decision(&answer(&[ALLOW_ONCE], None)), Decision::AllowOnce);
        assert_eq!(
            decision(&answer(&[ALLOW_FOR_RUN], None)),
            Decision::AllowForRun
        );
        assert_eq!(
            decision(&answer(&[DENY], Some("not on main"))),
            Decision::Deny(Some("not on main".into()))
        );
        assert_eq!(
            decision(&answer(&[], Some("sure, go"))),
            Decision::Deny(Some("sure, go".into())),
            "words alone do not allow"
        );
    }
}
