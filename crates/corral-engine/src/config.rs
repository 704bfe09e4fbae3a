//! How an engine is opened: where its data lives and how to reach Docker.

use std::path::{Path, PathBuf};

use crate::error::{EngineError, EngineResult};

#[derive(Debug, Clone)]
pub struct Config {
    /// Holds the database, logs and (later) checkouts.
    pub data_dir: PathBuf,
    /// `sqlite://PATH`; `None` means `<data_dir>/corral.db`.
    pub database_url: Option<String>,
    /// Docker address (`unix://...`, `tcp://...`); `None` means DOCKER_HOST or the default socket.
    pub docker_host: Option<String>,
}

impl Config {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            database_url: None,
            docker_host: None,
        }
    }

    /// The platform data dir (`~/.local/share/corral` on Linux).
    pub fn default_data_dir() -> Option<PathBuf> {
        dirs::data_dir().map(|d| d.join("corral"))
    }

    pub fn database_path(&self) -> EngineResult<PathBuf> {
        match &self.database_url {
            None => Ok(self.data_dir.join("corral.db")),
            Some(url) => {
                let path = url
                    .strip_prefix("sqlite://")
                    .or_else(|| url.strip_prefix("sqlite:"))
                    .ok_or_else(|| EngineError::UnsupportedDatabase { url: url.clone() })?;
                let path = path.split('?').next().unwrap_or(path);
                if path.is_empty() {
                    return Err(EngineError::UnsupportedDatabase { url: url.clone() });
                }
                Ok(Path::new(path).to_path_buf())
            }
        }
    }

    pub fn logs_dir(&self) -> PathBuf {
        self.data_dir.join("logs")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls() {
        let mut c = Config::new("/data");
        assert_eq!(
            c.database_path().expect("default"),
            PathBuf::from("/data/corral.db")
        );
        c.database_url = Some("sqlite:///tmp/x.db?mode=rwc".into());
        assert_eq!(c.database_path().expect("url"), PathBuf::from("/tmp/x.db"));
        c.database_url = Some("postgres://u@h/db".into());
        assert_eq!(
            c.database_path().expect_err("pg").kind(),
            crate::error::ErrorKind::UnsupportedDatabase
        );
    }
}
