//! Reading and writing in folders the sandbox writes too (the run's sandbox folder, the agent's
//! home, the checkout): every path is looked at without following a link, only regular files
//! are read, reads are capped, and writes replace whatever the sandbox planted under the name
//! instead of writing through it.

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path};

/// Opens a file the sandbox may have tampered with: never through a link (`O_NOFOLLOW`), never
/// blocking on a FIFO (`O_NONBLOCK`), and only when it is a regular file.
pub fn open_untrusted(path: &Path) -> std::io::Result<File> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                std::io::Error::other(format!(
                    "{} was replaced by a link; Corral does not follow it",
                    path.display()
                ))
            } else {
                e
            }
        })?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other(format!(
            "{} is not a regular file any more; Corral does not read it",
            path.display()
        )));
    }
    Ok(file)
}

/// Reads at most `cap` bytes of a file the sandbox may have tampered with (see
/// `open_untrusted`).
pub fn read_untrusted(path: &Path, cap: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    open_untrusted(path)?.take(cap).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Removes whatever is at `path` (file, link, FIFO or folder) without following a link.
/// Returns whether something was there.
pub fn remove_any(path: &Path) -> std::io::Result<bool> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path).map(|()| true),
        Ok(_) => std::fs::remove_file(path).map(|()| true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Makes the folder `relative` under `root` (and its parents), each a real folder: a link or
/// file the sandbox left in the way is removed, never followed.
pub fn make_dir_inside(root: &Path, relative: &Path) -> std::io::Result<()> {
    if !std::fs::symlink_metadata(root)?.is_dir() {
        return Err(std::io::Error::other(format!(
            "{} is not a folder (a link or a file); Corral does not write through it",
            root.display()
        )));
    }
    let mut at = root.to_path_buf();
    for part in relative.components() {
        let Component::Normal(part) = part else {
            return Err(std::io::Error::other(format!(
                "{} is not a plain relative path",
                relative.display()
            )));
        };
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(meta) if meta.is_dir() => continue,
            Ok(_) => {
                remove_any(&at)?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        std::fs::create_dir(&at)?;
    }
    Ok(())
}

/// Writes `contents` as the file `relative` under `root`, as a new regular file: whatever was
/// there (a link to a host file, a FIFO) is replaced, never written through.
pub fn write_inside(root: &Path, relative: &Path, contents: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = relative.parent() {
        make_dir_inside(root, parent)?;
    } else {
        make_dir_inside(root, Path::new(""))?;
    }
    let path = root.join(relative);
    remove_any(&path)?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)?;
    file.write_all(contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replace_planted_links_and_never_write_through_them() {
        let dir = tempfile::tempdir().expect("temp");
        let host = dir.path().join("host.txt");
        std::fs::write(&host, "host").expect("write");
        let home = dir.path().join("home");
        std::fs::create_dir_all(home.join(".config")).expect("mkdir");
        // A planted link as the file, and one as a folder on the way.
        std::os::unix::fs::symlink(&host, home.join(".config/settings.json")).expect("link");
        std::os::unix::fs::symlink(dir.path(), home.join(".codex")).expect("link");
        write_inside(&home, Path::new(".config/settings.json"), b"{}").expect("write");
        write_inside(&home, Path::new(".codex/host.txt"), b"cfg").expect("write");
        assert_eq!(std::fs::read_to_string(&host).expect("read"), "host");
        assert_eq!(
            std::fs::read_to_string(home.join(".config/settings.json")).expect("read"),
            "{}"
        );
        assert!(
            std::fs::symlink_metadata(home.join(".codex"))
                .expect("meta")
                .is_dir()
        );
        assert!(write_inside(&home, Path::new("../escape"), b"x").is_err());
        // The root itself a link: refused.
        let linked = dir.path().join("linked-home");
        std::os::unix::fs::symlink(&home, &linked).expect("link");
        assert!(write_inside(&linked, Path::new("a"), b"x").is_err());
    }
}
