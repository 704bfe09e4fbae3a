//! Which paths of a checkout the repository ignores: `.git/`, every `.gitignore` from the root
//! down to the path's folder (deeper files win, `!` re-includes), and `.git/info/exclude`.
//! Files are read lazily and forgotten when a `.gitignore` changes.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};

#[derive(Debug)]
pub struct IgnoreRules {
    root: PathBuf,
    /// Per folder (relative; "" is the root): its `.gitignore`, if it has one.
    per_dir: HashMap<PathBuf, Option<Gitignore>>,
    exclude: Option<Gitignore>,
}

/// The most of an ignore file that is read.
const MAX_IGNORE_FILE_BYTES: u64 = 1024 * 1024;

/// Reads an ignore file only when it is a regular file reached through no link: the checkout
/// is written by the sandbox, and a `.gitignore` linked to a host file (or swapped for a FIFO)
/// must not be read. Opened once, without following a link, and read up to a cap.
fn load(root: &Path, file: &Path) -> Option<Gitignore> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    if !std::fs::canonicalize(file).is_ok_and(|c| c == file) {
        return None;
    }
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(file)
        .ok()?;
    if !opened.metadata().is_ok_and(|m| m.is_file()) {
        return None;
    }
    let mut bytes = Vec::new();
    opened
        .take(MAX_IGNORE_FILE_BYTES)
        .read_to_end(&mut bytes)
        .ok()?;
    let mut builder = GitignoreBuilder::new(root);
    for line in String::from_utf8_lossy(&bytes).lines() {
        if let Err(err) = builder.add_line(Some(file.to_path_buf()), line) {
            tracing::warn!(file = %file.display(), error = %err, "a line of an ignore file was not understood");
        }
    }
    builder.build().ok()
}

impl IgnoreRules {
    pub fn new(root: &Path) -> IgnoreRules {
        IgnoreRules {
            root: root.to_path_buf(),
            per_dir: HashMap::new(),
            exclude: load(root, &root.join(".git/info/exclude")),
        }
    }

    /// Forgets every loaded `.gitignore` (one changed).
    pub fn reload(&mut self) {
        self.per_dir.clear();
        self.exclude = load(&self.root, &self.root.join(".git/info/exclude"));
    }

    /// Whether `rel` (relative to the root) is ignored.
    pub fn is_ignored(&mut self, rel: &Path, is_dir: bool) -> bool {
        if rel.components().next() == Some(Component::Normal(".git".as_ref())) {
            return true;
        }
        let absolute = self.root.join(rel);
        // Folders from the deepest up to the root ("" is the last ancestor of a relative path):
        // the deepest rule that matches decides.
        for dir in rel.ancestors().skip(1) {
            let root = &self.root;
            let rules = self
                .per_dir
                .entry(dir.to_path_buf())
                .or_insert_with(|| load(&root.join(dir), &root.join(dir).join(".gitignore")));
            if let Some(rules) = rules {
                match rules.matched_path_or_any_parents(&absolute, is_dir) {
                    Match::Ignore(_) => return true,
                    Match::Whitelist(_) => return false,
                    Match::None => {}
                }
            }
        }
        match &self.exclude {
            Some(rules) => rules
                .matched_path_or_any_parents(&absolute, is_dir)
                .is_ignore(),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_rules_and_reincludes_follow_git() {
        let dir = tempfile::tempdir().expect("tmp");
        let root = dir.path();
        std::fs::write(root.join(".gitignore"), "*.log\nbuild/\n").expect("write");
        std::fs::create_dir_all(root.join("sub/build")).expect("mkdir");
        std::fs::write(root.join("sub/.gitignore"), "!keep.log\nlocal.txt\n").expect("write");
        let mut rules = IgnoreRules::new(root);
        assert!(rules.is_ignored(Path::new(".git/index"), false));
        assert!(rules.is_ignored(Path::new("x.log"), false));
        assert!(rules.is_ignored(Path::new("build/out.o"), false));
        assert!(rules.is_ignored(Path::new("sub/build/deep/out.o"), false));
        assert!(rules.is_ignored(Path::new("sub/local.txt"), false));
        assert!(!rules.is_ignored(Path::new("sub/keep.log"), false));
        assert!(!rules.is_ignored(Path::new("local.txt"), false));
        assert!(!rules.is_ignored(Path::new("src/main.rs"), false));

        std::fs::write(root.join(".gitignore"), "").expect("write");
        rules.reload();
        assert!(!rules.is_ignored(Path::new("x.log"), false));
    }
}
