//! `corral diff`: what a run changed, as patches or one line per file.

use std::io::Write;

use corral_engine::{DiffAgainst, Engine, EngineError};

pub async fn diff(
    engine: &Engine,
    run: String,
    stat: bool,
    against_project: bool,
    path: Option<String>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let run = engine.find_run(&run).await?;
    let against = if against_project {
        DiffAgainst::ProjectBranch
    } else {
        DiffAgainst::RunBase
    };
    let mut files = engine
        .run_diff_against(run.id, against, 1024 * 1024)
        .await?;
    if let Some(path) = &path {
        files.retain(|f| &f.path == path);
        if files.is_empty() {
            return Err(EngineError::Git {
                path: path.clone(),
                message: "not changed by this run".into(),
            }
            .into());
        }
    }
    if files.is_empty() {
        writeln!(out, "no changes")?;
        return Ok(());
    }
    for f in &files {
        let status = match f.status {
            corral_git::FileStatus::Added => "A",
            corral_git::FileStatus::Modified => "M",
            corral_git::FileStatus::Deleted => "D",
            corral_git::FileStatus::Renamed => "R",
            corral_git::FileStatus::TypeChanged => "T",
            corral_git::FileStatus::LeftOut => "L",
        };
        if f.status == corral_git::FileStatus::LeftOut {
            writeln!(
                out,
                "{status} {}  left out of the commit (over max-file-size; still in the checkout)",
                f.path
            )?;
            continue;
        }
        if stat {
            let counts = if f.binary {
                "binary".to_string()
            } else {
                format!("+{} -{}", f.added, f.removed)
            };
            writeln!(out, "{status} {}  {counts}", f.path)?;
        } else {
            writeln!(out, "{status} {}", f.path)?;
            match &f.patch {
                Some(patch) => {
                    write!(out, "{patch}")?;
                    if f.truncated {
                        writeln!(out, "... (patch cut at 1 MiB)")?;
                    }
                }
                None => writeln!(out, "(binary file)")?,
            }
        }
    }
    Ok(())
}
