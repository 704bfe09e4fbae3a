//! How the CLI prints: aligned tables for people, and stable JSON (one document per command)
//! for scripts. The JSON shapes are defined here, apart from the domain types, so they only
//! change on purpose.

use std::io::Write;

use corral_core::{Project, RepoSource, Workflow};
use corral_engine::{Check, TaskView};
use serde::Serialize;

/// Prints rows as left-aligned columns separated by two spaces. The last column is not padded.
pub fn table(out: &mut impl Write, header: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line =
        |out: &mut dyn Write, cells: &mut dyn Iterator<Item = &str>| -> std::io::Result<()> {
            let cells: Vec<&str> = cells.collect();
            let last = cells.len().saturating_sub(1);
            for (i, cell) in cells.iter().enumerate() {
                if i == last {
                    write!(out, "{cell}")?;
                } else {
                    let pad = widths[i] - cell.chars().count();
                    write!(out, "{cell}{:pad$}  ", "")?;
                }
            }
            writeln!(out)
        };
    line(out, &mut header.iter().copied())?;
    for row in rows {
        line(out, &mut row.iter().map(String::as_str))?;
    }
    Ok(())
}

pub fn json(out: &mut impl Write, value: &impl Serialize) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(std::io::Error::other)?;
    writeln!(out)
}

/// One JSON value on one line (a stream of JSON lines).
pub fn json_line(out: &mut impl Write, value: &impl Serialize) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, value).map_err(std::io::Error::other)?;
    writeln!(out)
}

/// One line for a cell: newlines shown as ⏎, cut at `max` characters.
pub fn cell(text: &str, max: usize) -> String {
    if text.len() <= max && !text.contains('\n') {
        return text.to_string();
    }
    let flat: String = text
        .chars()
        .map(|c| if c == '\n' { '⏎' } else { c })
        .collect();
    if flat.chars().count() <= max {
        flat
    } else {
        let mut cut: String = flat.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

#[derive(Debug, Serialize)]
pub struct ProjectJson<'a> {
    pub id: String,
    pub name: &'a str,
    pub source: &'a RepoSource,
    pub default_branch: Option<&'a str>,
    pub workflow: &'a Workflow,
    pub tasks: Option<usize>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl<'a> ProjectJson<'a> {
    pub fn new(p: &'a Project, tasks: Option<usize>) -> Self {
        ProjectJson {
            id: p.id.to_string(),
            name: &p.name,
            source: &p.source,
            default_branch: p.default_branch.as_deref(),
            workflow: &p.workflow,
            tasks,
            created_at: p.created_at.0,
            updated_at: p.updated_at.0,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct TaskJson<'a> {
    pub id: String,
    pub project_id: String,
    pub project: &'a str,
    pub title: &'a str,
    pub status: &'static str,
    pub prompt: &'a str,
    pub runtime: Option<&'static str>,
    pub model: Option<&'a str>,
    pub command: Option<&'a [String]>,
    pub kind: &'static str,
    /// approved | proposed (waits for a person) | rejected.
    pub approval: &'static str,
    /// The run whose agent created it; `null` when a person did.
    pub created_by_run: Option<String>,
    pub max_attempts: u32,
    pub depends_on: Vec<String>,
    pub dependents: Vec<String>,
    /// The orchestrate task it is a subtask of.
    pub parent: Option<String>,
    /// An orchestrate task's subtasks, with their status (`task show`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subtasks: Vec<SubtaskJson>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One subtask of an orchestrate task.
#[derive(Debug, Serialize)]
pub struct SubtaskJson {
    pub id: String,
    pub title: String,
    pub status: &'static str,
    /// `rejected` once its orchestrator cancelled it (its work is left out).
    pub approval: &'static str,
    pub depends_on: Vec<String>,
}

impl SubtaskJson {
    pub fn new(v: &TaskView<corral_core::TaskSummary>) -> Self {
        SubtaskJson {
            id: v.task.id.to_string(),
            title: v.task.title.clone(),
            status: v.status.as_str(),
            approval: v.task.approval.as_str(),
            depends_on: v.depends_on.iter().map(ToString::to_string).collect(),
        }
    }
}

impl<'a> TaskJson<'a> {
    pub fn new(v: &'a TaskView, project: &'a str) -> Self {
        let t = &v.task;
        TaskJson {
            id: t.id.to_string(),
            project_id: t.project_id.to_string(),
            project,
            title: &t.title,
            status: v.status.as_str(),
            prompt: &t.prompt,
            runtime: t.runtime.map(|r| r.as_str()),
            model: t.model.as_deref(),
            command: t.command.as_deref(),
            kind: t.kind.as_str(),
            approval: t.approval.as_str(),
            created_by_run: match t.created_by {
                corral_core::CreatedBy::Human => None,
                corral_core::CreatedBy::Run(run) => Some(run.to_string()),
            },
            max_attempts: t.max_attempts,
            depends_on: v.depends_on.iter().map(ToString::to_string).collect(),
            dependents: v.dependents.iter().map(ToString::to_string).collect(),
            parent: t.parent.map(|p| p.to_string()),
            subtasks: Vec::new(),
            created_at: t.created_at.0,
            updated_at: t.updated_at.0,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct CheckJson<'a> {
    pub name: &'static str,
    pub status: &'static str,
    pub detail: &'a str,
    pub fix: Option<&'a str>,
}

impl<'a> CheckJson<'a> {
    pub fn new(c: &'a Check) -> Self {
        CheckJson {
            name: c.name,
            status: c.status.as_str(),
            detail: &c.detail,
            fix: c.fix.as_deref(),
        }
    }
}

/// Bytes as the biggest whole unit: `4.0 GiB`, `100.0 MiB`, `12 bytes`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    UNITS
        .iter()
        .find(|(_, size)| bytes >= *size)
        .map(|(unit, size)| format!("{:.1} {unit}", bytes as f64 / *size as f64))
        .unwrap_or_else(|| format!("{bytes} bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_on_characters_not_bytes() {
        let mut out = Vec::new();
        let rows = vec![
            vec!["é".to_string(), "x".into()],
            vec!["abc".into(), "y".into()],
        ];
        table(&mut out, &["A", "B"], &rows).expect("writes");
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "A    B\né    x\nabc  y\n"
        );
    }

    #[test]
    fn cells_are_one_line_and_bounded() {
        assert_eq!(cell("a\nb", 10), "a⏎b");
        assert_eq!(cell("abcdef", 4), "abc…");
    }
}
