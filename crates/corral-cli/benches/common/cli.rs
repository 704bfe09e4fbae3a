//! What the benchmarks that drive the `corral` binary share: running it on a data dir with the
//! test key, the repository scripts (test agents, images), and a project of Claude Code on the
//! scripted model server.

use corral_testkit::git;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const KEY: &str = "sk-bench";

/// Runs `cmd`; its standard output, or why it failed.
pub fn output(cmd: &mut Command) -> anyhow::Result<String> {
    let out = cmd.stderr(Stdio::piped()).output()?;
    anyhow::ensure!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs one of the repository's scripts; what it printed (a path, an image).
pub fn script(name: &str) -> anyhow::Result<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts")
        .join(name);
    let out = Command::new("bash").arg(path).output()?;
    anyhow::ensure!(out.status.success(), "{name} failed");
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `corral` on the data dir `data`, with the test key.
pub fn corral(data: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_corral"));
    cmd.env("CORRAL_DATA_DIR", data)
        .env("ANTHROPIC_API_KEY", KEY);
    cmd
}

/// A new repository and data dir `name` in `dir`, with the project `b` running Claude Code
/// against the scripted server at `url`, set up with `settings` too; returns the data dir.
pub fn project(dir: &Path, name: &str, url: &str, settings: &[&str]) -> anyhow::Result<PathBuf> {
    let repo = dir.join(format!("{name}-repo"));
    std::fs::create_dir_all(&repo)?;
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("README"), "bench\n")?;
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-qm", "init"]);
    let data = dir.join(name);
    output(corral(&data).args([
        "project",
        "add",
        repo.to_str().unwrap_or_default(),
        "--name",
        "b",
    ]))?;
    let base = format!("env.ANTHROPIC_BASE_URL={url}");
    let mut set = vec!["project", "set", "b", "runtime=claude-code", &base];
    set.extend_from_slice(settings);
    output(corral(&data).args(&set))?;
    Ok(data)
}

/// The two projects a benchmark compares, each with `settings` too: Claude Code in the local
/// sandbox (the test agents' install on its PATH) and in Docker (the test Node image), with
/// `docker` as the Docker project's own settings.
pub fn local_and_docker(
    dir: &Path,
    url: &str,
    settings: &[&str],
    docker: &[&str],
) -> anyhow::Result<[(&'static str, PathBuf); 2]> {
    let bin = script("install-test-agents.sh")?;
    let image = script("build-test-node-image.sh")?;
    let path = format!("env.PATH={bin}:/usr/local/bin:/usr/bin:/bin");
    let base = format!("base-image={image}");
    let mut local = vec!["sandbox=local", path.as_str()];
    local.extend_from_slice(settings);
    let mut in_docker = vec![base.as_str(), "build-network=host"];
    in_docker.extend_from_slice(docker);
    in_docker.extend_from_slice(settings);
    Ok([
        ("local sandbox", project(dir, "local", url, &local)?),
        ("Docker", project(dir, "docker", url, &in_docker)?),
    ])
}

/// The middle of `v` (sorted here).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
