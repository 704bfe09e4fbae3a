use super::*;

fn q(text: &str, options: &[&str]) -> Question {
    Question {
        question: text.into(),
        options: options
            .iter()
            .map(|l| Choice {
                label: (*l).into(),
                description: None,
            })
            .collect(),
        multiple: false,
    }
}

fn ask(questions: Vec<Question>) -> Ask {
    Ask {
        permission: None,
        questions,
        context: None,
    }
}

#[test]
fn bad_asks_are_refused_saying_why() {
    assert_eq!(ask(vec![]).checked(), Err(AskError::QuestionCount(0)));
    let five = (0..5).map(|i| q(&format!("q{i}"), &[])).collect();
    assert_eq!(ask(five).checked(), Err(AskError::QuestionCount(5)));
    assert_eq!(
        ask(vec![q("  ", &[])]).checked(),
        Err(AskError::EmptyQuestion(1))
    );
    assert_eq!(
        ask(vec![q("Pick", &["only"])]).checked(),
        Err(AskError::OneOption(1))
    );
    assert_eq!(
        ask(vec![q("Pick", &["a", " a "])]).checked(),
        Err(AskError::DuplicateLabel(1, "a".into()))
    );
    assert_eq!(
        ask(vec![q("Pick", &["a", ""])]).checked(),
        Err(AskError::EmptyLabel(1))
    );
    let nine: Vec<String> = (0..9).map(|i| i.to_string()).collect();
    let nine: Vec<&str> = nine.iter().map(String::as_str).collect();
    assert_eq!(
        ask(vec![q("Pick", &nine)]).checked(),
        Err(AskError::TooManyOptions(1, 9))
    );
    assert_eq!(
        ask(vec![q("Pick \u{1b}[2J", &[])]).checked(),
        Err(AskError::ControlCharacters("question 1".into()))
    );
    let long = "x".repeat(2_001);
    assert!(matches!(
        ask(vec![q(&long, &[])]).checked(),
        Err(AskError::TooLong { .. })
    ));
}

#[test]
fn answers_are_checked_against_the_questions() {
    let a = ask(vec![
        q("Which database?", &["SQLite", "Postgres"]),
        q("Why?", &[]),
    ])
    .checked()
    .expect("fine");
    let answer = |sel: &[&str], text: Option<&str>, second: Option<&str>| Answer {
        answers: vec![
            QuestionAnswer {
                selected: sel.iter().map(|s| (*s).into()).collect(),
                text: text.map(Into::into),
            },
            QuestionAnswer {
                selected: vec![],
                text: second.map(Into::into),
            },
        ],
    };
    let good = a
        .check_answer(answer(&["SQLite"], None, Some(" small ")))
        .expect("good");
    assert_eq!(
        a.answer_text(&good),
        "Q: Which database?\nA: SQLite\nQ: Why?\nA (in their words): small"
    );
    assert!(matches!(
        a.check_answer(answer(&["MySQL"], None, Some("x"))),
        Err(AnswerError::UnknownOption(1, _, _))
    ));
    assert_eq!(
        a.check_answer(answer(&["SQLite", "Postgres"], None, Some("x"))),
        Err(AnswerError::SingleChoice(1, 2))
    );
    assert_eq!(
        a.check_answer(answer(&["SQLite"], None, Some("  "))),
        Err(AnswerError::Unanswered(2))
    );
    assert_eq!(
        a.check_answer(Answer { answers: vec![] }),
        Err(AnswerError::Count { asked: 2, given: 0 })
    );
    for s in [
        RequestState::Pending,
        RequestState::Answered,
        RequestState::Cancelled,
    ] {
        assert_eq!(RequestState::parse(s.as_str()), Some(s));
    }
}
