//! Appending a block: verify what is there, then one write and an fsync.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::chain::{block_hash, parse, read_text, trailer_line, verify, GENESIS};
use crate::{Block, PerflogError};

/// What a new log file starts with; part of the first block's text.
pub(crate) const HEADER: &str = "# Performance log\n\n\
Append-only record of benchmark runs, written by `tokbench`: never edit it by hand. \
Each block ends with a hash of its text and of the block before it; \
`tokbench perflog verify` names any block changed since it was appended.\n";

/// Where [`append`] put the block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// The block's number in the log, from 1.
    pub block: usize,
    /// The line of its `## ` heading (1-based).
    pub line: usize,
    /// The SHA-256 written into its trailer.
    pub hash: String,
}

/// Appends `block` to the log at `path`, creating the file (with a short
/// header) when it does not exist.
///
/// The existing file is read only to find the last block's hash and is
/// verified first: if it does not verify, nothing is written and the error
/// names the file and the line of the first problem. Then the file is
/// opened for appending (never truncated, never rewritten), the block and
/// its trailer are written in one `write_all` (preceded by a line ending if
/// the file does not end with one), and the file is synced (`fsync`); a new
/// file's folder is synced too. One writer at a time: there is no lock.
pub fn append(path: &Path, block: &Block) -> Result<Appended, PerflogError> {
    check_date(&block.date)?;
    let existing = match read_text(path) {
        Ok(text) => text,
        Err(PerflogError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            String::new()
        }
        Err(e) => return Err(e),
    };
    let report = verify(&existing);
    if let Some(first) = report.problems.first() {
        return Err(PerflogError::Corrupt {
            path: path.to_owned(),
            line: first.line,
            what: first.what.clone(),
            more: report.problems.len() - 1,
        });
    }
    let parsed = parse(&existing);
    let prev = match parsed.blocks.last().and_then(|s| s.trailer.fields.as_ref()) {
        Some((_, hash)) => hash.clone(),
        None => GENESIS.to_owned(),
    };
    let mut addition = if existing.is_empty() {
        HEADER.to_owned()
    } else if existing.ends_with('\n') {
        String::new()
    } else {
        "\n".to_owned()
    };
    addition.push_str(&block.to_markdown());
    // The new block's text: from the end of the last trailer line (which the
    // line ending added above completes) to the end of the addition.
    let new_text = format!("{existing}{addition}");
    let new_parsed = parse(&new_text);
    let text = &new_text[new_parsed.tail_start..];
    let hash = block_hash(text);
    addition.push_str(&trailer_line(&prev, &hash));
    write_synced(path, addition.as_bytes(), existing.is_empty())?;
    let heading = new_text.len() - text.len() + text.find("\n## ").map_or(0, |i| i + 1);
    Ok(Appended {
        block: parsed.blocks.len() + 1,
        line: new_text[..heading].matches('\n').count() + 1,
        hash,
    })
}

/// Opens `path` for appending (creating it), writes `bytes` in one call and
/// syncs the file, and the folder when the file may be new.
fn write_synced(path: &Path, bytes: &[u8], maybe_new: bool) -> Result<(), PerflogError> {
    let io = |source| PerflogError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    #[cfg(unix)]
    if maybe_new {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let sync = std::fs::File::open(dir).and_then(|d| d.sync_all());
        sync.map_err(|source| PerflogError::Io {
            path: dir.to_owned(),
            source,
        })?;
    }
    #[cfg(not(unix))]
    let _ = maybe_new;
    Ok(())
}

/// Rejects a date that is not `YYYY-MM-DD`.
fn check_date(date: &str) -> Result<(), PerflogError> {
    let b = date.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && digits(0..4)
        && digits(5..7)
        && digits(8..10);
    if ok {
        Ok(())
    } else {
        Err(PerflogError::BadDate(date.to_owned()))
    }
}

/// Today's date in UTC, `YYYY-MM-DD`.
pub fn utc_date_today() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    utc_date(secs)
}

/// The UTC date of a Unix time, `YYYY-MM-DD` (Howard Hinnant's
/// days-to-civil algorithm).
pub(crate) fn utc_date(unix_secs: u64) -> String {
    let z = (unix_secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}
