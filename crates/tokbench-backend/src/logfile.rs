//! The server log: opened for appending, read back from this launch's start.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::BackendError;

/// Lines of log shown in launch errors.
pub const TAIL_LINES: usize = 20;

/// Bytes read from the end of the log to find the tail.
const TAIL_BYTES: u64 = 64 * 1024;

/// Opens `path` for appending (creating it and its parent directories),
/// writes `header` as one line, and returns the file and the offset where
/// the server's own output will start.
///
/// # Errors
/// [`BackendError::LogFile`].
pub(crate) fn open_for_launch(path: &Path, header: &str) -> Result<(File, u64), BackendError> {
    let err = |source| BackendError::LogFile {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(err)?;
    writeln!(file, "{header}").map_err(err)?;
    file.flush().map_err(err)?;
    let offset = file.metadata().map_err(err)?.len();
    Ok((file, offset))
}

/// Text the log gained since `offset` (lossy UTF-8), at most the last
/// `max_bytes` of it.
///
/// # Errors
/// [`BackendError::LogFile`] when the file cannot be opened or read.
pub fn read_since(path: &Path, offset: u64, max_bytes: u64) -> Result<String, BackendError> {
    let err = |source| BackendError::LogFile {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(err)?;
    let len = file.metadata().map_err(err)?.len();
    let start = offset.max(len.saturating_sub(max_bytes)).min(len);
    file.seek(SeekFrom::Start(start)).map_err(err)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(err)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The last `n` non-empty lines of `text`, joined with `\n` (carriage
/// returns from progress bars split lines too).
pub fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text
        .split(['\n', '\r'])
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The last [`TAIL_LINES`] lines written since `offset`, or a note saying
/// why the log could not be read (used inside error messages, so it never
/// fails).
pub fn tail_since(path: &Path, offset: u64) -> String {
    match read_since(path, offset, TAIL_BYTES) {
        Ok(text) if text.trim().is_empty() => "(the server wrote nothing to its log)".to_owned(),
        Ok(text) => last_lines(&text, TAIL_LINES),
        Err(e) => format!("({e})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_lines_keeps_the_end_and_drops_blanks() {
        let text = (1..=30).map(|i| format!("line {i}\n")).collect::<String>() + "\n\n";
        let tail = last_lines(&text, 20);
        assert_eq!(tail.lines().count(), 20);
        assert!(
            tail.starts_with("line 11\n") && tail.ends_with("line 30"),
            "{tail}"
        );
        assert_eq!(last_lines("a\r\nb\rc", 2), "b\nc");
        assert_eq!(last_lines("", 3), "");
    }

    #[test]
    fn tail_only_covers_this_launch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dir/server.log");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "old run: error loading model\n").unwrap();
        let (mut f, offset) = open_for_launch(&path, "# launch header").unwrap();
        assert_eq!(
            tail_since(&path, offset),
            "(the server wrote nothing to its log)"
        );
        writeln!(f, "new run line").unwrap();
        assert_eq!(tail_since(&path, offset), "new run line");
        let all = std::fs::read_to_string(&path).unwrap();
        assert!(
            all.starts_with("old run: error loading model\n# launch header\n"),
            "{all}"
        );
    }

    #[test]
    fn parent_dirs_are_created_and_failures_are_typed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/c.log");
        assert!(open_for_launch(&path, "h").is_ok());
        assert!(path.is_file());
        let bad = path.join("under-a-file.log");
        let err = open_for_launch(&bad, "h").unwrap_err();
        assert!(matches!(err, BackendError::LogFile { .. }), "{err}");
        assert!(tail_since(&dir.path().join("missing.log"), 0).contains("cannot use the log file"));
    }
}
