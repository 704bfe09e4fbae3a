//! `corral doctor`.

use std::io::Write;

use corral_engine::{CheckStatus, Engine};

use crate::output::{self, CheckJson};

/// Prints the checks; returns whether none failed.
pub async fn run(engine: &Engine, json: bool, out: &mut impl Write) -> anyhow::Result<bool> {
    let checks = engine.doctor().await;
    if json {
        output::json(out, &checks.iter().map(CheckJson::new).collect::<Vec<_>>())?;
    } else {
        for c in &checks {
            let mark = match c.status {
                CheckStatus::Ok => "ok  ",
                CheckStatus::Warn => "WARN",
                CheckStatus::Fail => "FAIL",
            };
            writeln!(out, "{mark}  {:<10}  {}", c.name, c.detail)?;
            if let Some(fix) = &c.fix {
                writeln!(out, "      {:<10}  fix: {fix}", "")?;
            }
        }
    }
    Ok(checks.iter().all(|c| c.status != CheckStatus::Fail))
}
