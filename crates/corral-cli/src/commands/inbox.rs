//! `corral inbox` and `corral answer`.

use std::io::Write;

use corral_core::{Answer, Ask, InputRequest, QuestionAnswer};
use corral_engine::{AnsweredFrom, Engine, InboxItem};
use serde::Serialize;

use crate::usage_error;

#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum ItemJson<'a> {
    Question {
        id: String,
        run_id: String,
        task_id: String,
        task: &'a str,
        project: &'a str,
        questions: &'a [corral_core::question::Question],
        context: Option<&'a str>,
        asked_at: i64,
    },
    ProposedTask {
        id: String,
        title: &'a str,
        project: &'a str,
        created_by_run: Option<String>,
    },
    /// A run whose checks failed, waiting on a decision.
    ChecksFailed {
        run_id: String,
        task_id: String,
        task: &'a str,
        project: &'a str,
        reason: Option<&'a str>,
        checks: &'a [corral_core::CheckResult],
    },
}

fn item_json(item: &InboxItem) -> ItemJson<'_> {
    match item {
        InboxItem::Question {
            request,
            task_title,
            project,
        } => ItemJson::Question {
            id: request.id.to_string(),
            run_id: request.run_id.to_string(),
            task_id: request.task_id.to_string(),
            task: task_title,
            project,
            questions: &request.ask.questions,
            context: request.ask.context.as_deref(),
            asked_at: request.created_at.0,
        },
        InboxItem::ProposedTask { task, project } => ItemJson::ProposedTask {
            id: task.task.id.to_string(),
            title: &task.task.title,
            project,
            created_by_run: match task.task.created_by {
                corral_core::CreatedBy::Run(run) => Some(run.to_string()),
                corral_core::CreatedBy::Human => None,
            },
        },
        InboxItem::ChecksFailed {
            run,
            task_title,
            project,
        } => ItemJson::ChecksFailed {
            run_id: run.id.to_string(),
            task_id: run.task_id.to_string(),
            task: task_title,
            project,
            reason: run.state.failure().map(|f| f.message.as_str()),
            checks: &run.checks,
        },
    }
}

pub async fn list(engine: &Engine, json: bool, out: &mut impl Write) -> anyhow::Result<()> {
    let items = engine.inbox().await?;
    if json {
        let items: Vec<ItemJson> = items.iter().map(item_json).collect();
        serde_json::to_writer(&mut *out, &items)?;
        writeln!(out)?;
        return Ok(());
    }
    if items.is_empty() {
        writeln!(out, "nothing waits on you")?;
        return Ok(());
    }
    for item in &items {
        match item {
            InboxItem::Question {
                request,
                task_title,
                project,
            } => print_question(request, task_title, project, out)?,
            InboxItem::ProposedTask { task, project } => {
                writeln!(
                    out,
                    "proposed task {}  `{}` in {project}: `corral task approve {}` or `corral task reject {}`",
                    task.task.id, task.task.title, task.task.id, task.task.id
                )?;
            }
            InboxItem::ChecksFailed {
                run,
                task_title,
                project,
            } => {
                let reason = run.state.failure().map_or("", |f| f.message.as_str());
                writeln!(
                    out,
                    "checks failed on run {} of `{task_title}` in {project}: {reason}\n  decide: \
                     `corral follow-up {} \"...\"` or `corral review {} --comment PATH:LINE \
                     \"...\"` (tell the agent), `corral run {}` (run again), `corral merge {} \
                     --force` (merge anyway, after `corral diff {}`), or `corral run dismiss {}` \
                     (set aside)",
                    run.id, run.id, run.id, run.task_id, run.id, run.id, run.id
                )?;
            }
        }
    }
    Ok(())
}

fn print_question(
    request: &InputRequest,
    task: &str,
    project: &str,
    out: &mut impl Write,
) -> std::io::Result<()> {
    writeln!(
        out,
        "question {}  from `{task}` in {project} (run {})",
        request.id, request.run_id
    )?;
    if let Some(context) = &request.ask.context {
        writeln!(out, "  context: {context}")?;
    }
    for (i, q) in request.ask.questions.iter().enumerate() {
        let kind = if q.multiple { " (pick any)" } else { "" };
        writeln!(out, "  {}. {}{kind}", i + 1, q.question)?;
        for o in &q.options {
            match &o.description {
                Some(d) => writeln!(out, "     - {}: {d}", o.label)?,
                None => writeln!(out, "     - {}", o.label)?,
            }
        }
    }
    writeln!(
        out,
        "  answer: corral answer {} [--option LABEL] [TEXT]",
        request.id
    )
}

/// `N=VALUE` for question N (1-based), or VALUE for `default`.
fn numbered(value: &str, questions: usize) -> (usize, String) {
    if let Some((n, rest)) = value.split_once('=')
        && let Ok(n) = n.trim().parse::<usize>()
        && (1..=questions).contains(&n)
    {
        return (n - 1, rest.to_string());
    }
    (usize::MAX, value.to_string())
}

/// The answer from the command line: each `--option` goes to the question that offers it (or
/// the one `N=` names), the text to the first question (or the one `N=` names).
fn build_answer(ask: &Ask, options: &[String], text: Option<&str>) -> anyhow::Result<Answer> {
    let n = ask.questions.len();
    let mut answers = vec![QuestionAnswer::default(); n];
    for option in options {
        let (index, label) = numbered(option, n);
        let index = if index < n {
            index
        } else {
            ask.questions
                .iter()
                .position(|q| q.options.iter().any(|o| o.label == label))
                .ok_or_else(|| {
                    usage_error(format!(
                        "no question offers the option `{label}` (see `corral inbox`)"
                    ))
                })?
        };
        answers[index].selected.push(label);
    }
    if let Some(text) = text {
        let (index, text) = numbered(text, n);
        answers[if index < n { index } else { 0 }].text = Some(text);
    }
    Ok(Answer { answers })
}

pub async fn answer(
    engine: &Engine,
    reference: &str,
    options: &[String],
    text: Option<&str>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let request = engine.find_request(reference).await?;
    if options.is_empty() && text.is_none() {
        return Err(usage_error(
            "give an answer: --option LABEL and/or the text of your answer".to_string(),
        ));
    }
    let answer = build_answer(&request.ask, options, text)?;
    let answered = engine
        .answer_question(request.id, answer, AnsweredFrom::Cli)
        .await?;
    writeln!(
        out,
        "answered {}; the agent of run {} goes on with it",
        answered.id, answered.run_id
    )?;
    Ok(())
}
