//! The relay binary (built static by this crate's build script and embedded) and where it is
//! put: written once into a folder of Corral's, mounted read-only into each container, run
//! there as its own user so the sandbox's processes can neither kill nor read it.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::SandboxError;

/// Where the relay appears inside a container.
pub const RELAY_IN_CONTAINER: &str = "/corral/bin/corral-relay";
/// The user the relay runs as inside a container (`nobody`): not the sandbox's user, so a
/// step's processes cannot signal it, and the stray killer spares it.
pub const RELAY_UID: u32 = 65534;
/// `RELAY_UID` for the stray killer's script.
macro_rules! relay_uid {
    () => {
        "65534"
    };
}
pub(crate) use relay_uid;

const RELAY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/corral-relay"));

/// Writes the relay into `dir` unless it is there already, and returns its path on the host.
/// A new build replaces the file by a rename: containers still running keep the one they
/// mounted.
pub fn install_relay(dir: &Path) -> Result<PathBuf, SandboxError> {
    if RELAY.is_empty() {
        return Err(SandboxError::NoRelay);
    }
    let path = dir.join("corral-relay");
    if std::fs::read(&path).is_ok_and(|existing| existing == RELAY) {
        return Ok(path);
    }
    let failed = |e: std::io::Error| SandboxError::RelayInstall {
        path: path.clone(),
        message: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(failed)?;
    let mut file = tempfile_in(dir).map_err(failed)?;
    file.1.write_all(RELAY).map_err(failed)?;
    file.1.sync_all().map_err(failed)?;
    set_executable(&file.0).map_err(failed)?;
    std::fs::rename(&file.0, &path).map_err(failed)?;
    Ok(path)
}

/// A new file in `dir` with a name no other writer uses.
fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    let name = format!(".corral-relay.{}.tmp", std::process::id());
    let path = dir.join(name);
    let file = std::fs::File::create(&path)?;
    Ok((path, file))
}

#[cfg(unix)]
fn set_executable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn set_executable(_path: &Path) -> std::io::Result<()> {
    Ok(())
}
