//! `corral key`: API keys in the OS keychain. Values are read from standard input (never from
//! the command line, so they stay out of shell history and `ps`) and never printed.

use std::io::{Read, Write};

use corral_engine::Engine;
use serde::Serialize;

use crate::cli::KeyCommand;

#[derive(Debug, Serialize)]
struct KeyJson {
    name: String,
    runtimes: Vec<String>,
    /// `keychain`, `environment`, or null when there is no value.
    source: Option<&'static str>,
}

pub async fn run(engine: &Engine, command: KeyCommand, out: &mut impl Write) -> anyhow::Result<()> {
    match command {
        KeyCommand::List { json } => {
            let keys = engine.api_keys().await?;
            if json {
                let rows: Vec<KeyJson> = keys
                    .iter()
                    .map(|k| KeyJson {
                        name: k.name.clone(),
                        runtimes: k.runtimes.iter().map(|r| r.to_string()).collect(),
                        source: k.source.map(|s| s.as_str()),
                    })
                    .collect();
                crate::output::json(out, &rows)?;
            } else {
                for k in &keys {
                    let runtimes: Vec<String> = k.runtimes.iter().map(|r| r.to_string()).collect();
                    writeln!(
                        out,
                        "{:<20}  {:<22}  {}",
                        k.name,
                        match k.source {
                            Some(source) => format!("set ({})", source.as_str()),
                            None => "missing".to_string(),
                        },
                        runtimes.join(", ")
                    )?;
                }
            }
        }
        KeyCommand::Set { name } => {
            let mut value = String::new();
            std::io::stdin().read_to_string(&mut value)?;
            engine.set_api_key(&name, &value).await?;
            writeln!(out, "{name} stored in the OS keychain")?;
        }
        KeyCommand::Delete { name } => {
            engine.delete_api_key(&name).await?;
            writeln!(out, "{name} removed from the OS keychain")?;
        }
    }
    Ok(())
}
