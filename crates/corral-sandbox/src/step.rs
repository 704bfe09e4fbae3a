//! Durable steps. A step's stdout and stderr go to files in the run's sandbox folder on the
//! host (mounted in the container), and its exit status to a third file written last,
//! atomically. The output therefore never depends on Corral's pipe: if Corral is killed the
//! step goes on, and a restarted Corral follows the files from the offsets it had stored.
//!
//! The sandbox can write these files too, so the host treats them as hostile: they are made
//! fresh (as regular files) before the step starts, opened without following a link and read
//! only when they are still regular files. In a container the exit status comes from Docker,
//! not from the file (see `Sandbox::step_exit`).

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::untrusted::{open_untrusted, read_untrusted, remove_any};

/// The fixed wrapper every step runs under. User text only ever arrives as arguments ("$@"),
/// never as part of this script. It exits with the step's status, which is what Docker reports.
pub const STEP_WRAPPER: &str = r#"out="$1"; err="$2"; code="$3"; shift 3
"$@" >>"$out" 2>>"$err"
status=$?
echo $status >"$code.tmp" && mv "$code.tmp" "$code"
exit $status"#;

/// The three files of one step, named after it, inside a run's sandbox folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepFiles {
    pub stdout: PathBuf,
    pub stderr: PathBuf,
    pub exit: PathBuf,
}

impl StepFiles {
    pub fn new(run_dir: &Path, step: &str) -> StepFiles {
        StepFiles {
            stdout: run_dir.join(format!("{step}.out")),
            stderr: run_dir.join(format!("{step}.err")),
            exit: run_dir.join(format!("{step}.exit")),
        }
    }

    /// Before the step starts: whatever an earlier step planted under these names (a link to a
    /// host file, a FIFO, a forged status) goes, and the output files are made new and empty.
    pub fn make_fresh(&self) -> std::io::Result<()> {
        let tmp = self.exit.with_extension("exit.tmp");
        for path in [&self.stdout, &self.stderr, &self.exit, &tmp] {
            remove_any(path)?;
        }
        // Owned like the folder (the sandbox's user), so the step can append to them.
        let folder = self.stdout.parent().map(std::fs::metadata).transpose()?;
        for path in [&self.stdout, &self.stderr] {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)?;
            if let Some(folder) = &folder {
                use std::os::unix::fs::MetadataExt;
                let meta = file.metadata()?;
                if (meta.uid(), meta.gid()) != (folder.uid(), folder.gid()) {
                    std::os::unix::fs::fchown(&file, Some(folder.uid()), Some(folder.gid()))?;
                }
            }
        }
        Ok(())
    }

    /// The exit status the wrapper wrote, once the step has finished. Only the local sandbox
    /// takes a status from here: anything the step started can write this file.
    pub fn exit_code(&self) -> std::io::Result<Option<i64>> {
        match read_untrusted(&self.exit, 64) {
            Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).trim().parse().ok()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The argument vector that runs `argv` as this step, with the files as the container (or
    /// the host, for the local sandbox) sees them under `dir`.
    pub fn wrapped(&self, dir: &str, step: &str, argv: &[String]) -> Vec<String> {
        let mut wrapped = vec![
            "sh".to_string(),
            "-c".to_string(),
            STEP_WRAPPER.to_string(),
            "corral-step".to_string(),
            format!("{dir}/{step}.out"),
            format!("{dir}/{step}.err"),
            format!("{dir}/{step}.exit"),
        ];
        wrapped.extend(argv.iter().cloned());
        wrapped
    }
}

/// One line of output, with the byte offset just after it (what to store to resume).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    /// The bytes were not valid UTF-8 (shown with replacement characters).
    pub lossy: bool,
    /// The line was longer than the cap and was cut into pieces; this is one piece.
    pub split: bool,
    pub end_offset: u64,
}

/// Follows a growing file by offset and hands out complete lines. Bounded: a line longer than
/// `max_line` bytes comes out in pieces, so one 10 MB line cannot hold 10 MB twice.
#[derive(Debug)]
pub struct LineReader {
    path: PathBuf,
    offset: u64,
    partial: Vec<u8>,
    max_line: usize,
}

impl LineReader {
    /// Starts reading at `offset` (0, or the stored offset after the last persisted line).
    pub fn new(path: &Path, offset: u64, max_line: usize) -> LineReader {
        LineReader {
            path: path.to_path_buf(),
            offset,
            partial: Vec::new(),
            max_line: max_line.max(1),
        }
    }

    /// The offset after the last line handed out.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    fn line(&mut self, bytes: &[u8], consumed: u64, split: bool) -> Line {
        self.offset += consumed;
        let (text, lossy) = match std::str::from_utf8(bytes) {
            Ok(s) => (s.to_string(), false),
            Err(_) => (String::from_utf8_lossy(bytes).into_owned(), true),
        };
        Line {
            text,
            lossy,
            split,
            end_offset: self.offset,
        }
    }

    /// Every complete line written since the last call (at most `limit`). A missing file is
    /// no lines yet.
    pub fn read_lines(&mut self, limit: usize) -> std::io::Result<Vec<Line>> {
        let mut file = match open_untrusted(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let start = self.offset + self.partial.len() as u64;
        file.seek(SeekFrom::Start(start))?;
        let mut chunk = vec![0u8; 64 * 1024];
        let mut lines = Vec::new();
        while lines.len() < limit {
            let n = file.read(&mut chunk)?;
            if n == 0 {
                break;
            }
            for &byte in &chunk[..n] {
                if byte == b'\n' {
                    let bytes = std::mem::take(&mut self.partial);
                    let line = self.line(&bytes, bytes.len() as u64 + 1, false);
                    lines.push(line);
                } else {
                    self.partial.push(byte);
                    if self.partial.len() >= self.max_line {
                        let bytes = std::mem::take(&mut self.partial);
                        let line = self.line(&bytes, bytes.len() as u64, true);
                        lines.push(line);
                    }
                }
            }
        }
        Ok(lines)
    }

    /// After the step ended: the last line if it had no newline.
    pub fn finish(&mut self) -> Option<Line> {
        if self.partial.is_empty() {
            return None;
        }
        let bytes = std::mem::take(&mut self.partial);
        Some(self.line(&bytes, bytes.len() as u64, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn planted_links_and_fifos_are_never_read_through() {
        let dir = tempfile::tempdir().expect("temp");
        let host = dir.path().join("host-secret");
        std::fs::write(&host, "secret\n").expect("write");
        let run = dir.path().join("run");
        std::fs::create_dir(&run).expect("mkdir");
        let files = StepFiles::new(&run, "verify");
        std::os::unix::fs::symlink(&host, &files.stdout).expect("link");
        std::os::unix::fs::symlink(&host, &files.exit).expect("link");
        // Read as they are: refused, not followed.
        let mut r = LineReader::new(&files.stdout, 0, 1024);
        let err = r.read_lines(10).expect_err("a link is refused");
        assert!(err.to_string().contains("link"), "{err}");
        assert!(files.exit_code().is_err());
        // Made fresh before the step: the links go, the host file stays.
        files.make_fresh().expect("fresh");
        assert!(r.read_lines(10).expect("empty file").is_empty());
        assert_eq!(files.exit_code().expect("none yet"), None);
        assert_eq!(std::fs::read_to_string(&host).expect("read"), "secret\n");
        // A FIFO neither blocks nor is read.
        std::fs::remove_file(&files.stderr).expect("rm");
        let made = std::process::Command::new("mkfifo")
            .arg(&files.stderr)
            .status()
            .expect("mkfifo");
        assert!(made.success());
        let mut e = LineReader::new(&files.stderr, 0, 1024);
        assert!(e.read_lines(10).is_err(), "a FIFO is not a regular file");
    }

    fn append(path: &Path, bytes: &[u8]) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("open");
        f.write_all(bytes).expect("write");
    }

    #[test]
    fn hands_out_complete_lines_with_resumable_offsets() {
        let dir = tempfile::tempdir().expect("temp");
        let path = dir.path().join("s.out");
        let mut r = LineReader::new(&path, 0, 1024);
        assert!(r.read_lines(100).expect("missing file is fine").is_empty());
        append(&path, b"one\ntw");
        let lines = r.read_lines(100).expect("read");
        assert_eq!(
            lines.iter().map(|l| l.text.as_str()).collect::<Vec<_>>(),
            ["one"]
        );
        assert_eq!(lines[0].end_offset, 4);
        append(&path, b"o\nthree");
        let lines = r.read_lines(100).expect("read");
        assert_eq!(lines[0].text, "two");
        assert_eq!(lines[0].end_offset, 8);
        assert_eq!(r.finish().map(|l| l.text), Some("three".to_string()));

        // A new reader from a stored offset sees exactly what came after it: no duplicates.
        let mut resumed = LineReader::new(&path, 4, 1024);
        let lines = resumed.read_lines(100).expect("read");
        assert_eq!(
            lines.iter().map(|l| l.text.as_str()).collect::<Vec<_>>(),
            ["two"]
        );
    }

    #[test]
    fn invalid_utf8_and_giant_lines_are_bounded_not_fatal() {
        let dir = tempfile::tempdir().expect("temp");
        let path = dir.path().join("s.out");
        append(&path, b"ok \xff\xfe bytes\n");
        append(&path, &vec![b'x'; 10 * 1024 * 1024]);
        append(&path, b"\nafter\n");
        let mut r = LineReader::new(&path, 0, 1024 * 1024);
        let lines = r.read_lines(usize::MAX).expect("read");
        assert!(lines[0].lossy && lines[0].text.starts_with("ok "));
        let pieces: Vec<&Line> = lines.iter().filter(|l| l.split).collect();
        assert_eq!(pieces.len(), 10, "10 MB in 1 MiB pieces");
        assert!(pieces.iter().all(|l| l.text.len() == 1024 * 1024));
        assert_eq!(lines.last().map(|l| l.text.as_str()), Some("after"));
        let total: u64 = std::fs::metadata(&path).expect("meta").len();
        assert_eq!(r.offset(), total);
    }

    #[test]
    fn reads_at_most_the_limit_and_continues_later() {
        let dir = tempfile::tempdir().expect("temp");
        let path = dir.path().join("s.out");
        let text: String = (0..100_000).map(|i| format!("line {i}\n")).collect();
        append(&path, text.as_bytes());
        let mut r = LineReader::new(&path, 0, 4096);
        let mut seen = 0;
        loop {
            let batch = r.read_lines(1000).expect("read");
            if batch.is_empty() {
                break;
            }
            for l in batch {
                assert_eq!(l.text, format!("line {seen}"));
                seen += 1;
            }
        }
        assert_eq!(seen, 100_000);
    }

    #[test]
    fn the_wrapper_records_output_and_exit_status_for_any_argv() {
        let dir = tempfile::tempdir().expect("temp");
        let files = StepFiles::new(dir.path(), "agent");
        let dir_str = dir.path().to_str().expect("utf-8");
        let argv = vec![
            "sh".to_string(),
            "-c".to_string(),
            "echo \"$1\"; echo oops >&2; exit 4".to_string(),
            "x".to_string(),
            "a 'quoted' $(arg)".to_string(),
        ];
        let wrapped = files.wrapped(dir_str, "agent", &argv);
        let status = std::process::Command::new(&wrapped[0])
            .args(&wrapped[1..])
            .status()
            .expect("run");
        assert_eq!(
            status.code(),
            Some(4),
            "the wrapper exits with the step's status"
        );
        assert_eq!(
            std::fs::read_to_string(&files.stdout).expect("out"),
            "a 'quoted' $(arg)\n"
        );
        assert_eq!(
            std::fs::read_to_string(&files.stderr).expect("err"),
            "oops\n"
        );
        assert_eq!(files.exit_code().expect("exit"), Some(4));
    }
}
