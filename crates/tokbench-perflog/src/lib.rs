//! The append-only performance log (`PERF_LOG.md`).
//!
//! A performance log is a Markdown file that is only ever appended to: each
//! benchmark gate or comparison adds one dated [`Block`], and nothing already
//! in the file is rewritten. Every block ends with a trailer line that
//! carries the SHA-256 of the block's own text and the hash recorded by the
//! block before it, so [`verify`] can say which block was edited after it
//! was appended, and where a block was deleted, inserted or reordered.
//! The same format, for users, is in `docs/perflog.md`; the CLI is
//! `tokbench perflog append` / `tokbench perflog verify`.
//!
//! # Format (version 1)
//!
//! ```text
//! # Performance log
//!
//! Append-only record of benchmark runs, written by `tokbench`. ...
//!
//! ## Decode gate — 2026-05-24
//!
//! Hardware: RTX 5070 12 GB · Model: Qwen3-8B Q4_K_M · Backend: llama.cpp b5000
//!
//! Command: `tokbench gate --baseline a.yaml b.yaml`
//!
//! | Metric | Value | Gate |
//! |---|---|---|
//! | Decode speedup c=1 | 1.77× | ≥1.10× ✓ |
//! | GPU mem peak | 5.64 GB | ≤ 11.8 GB ✓ |
//!
//! Note: free text on one line.
//!
//! <!-- tokbench-perflog v1 prev=genesis hash=<64 hex digits> -->
//! ```
//!
//! - **Trailer**: a line `<!-- tokbench-perflog v1 prev=P hash=H -->` closes
//!   every block (an HTML comment, so rendered Markdown does not show it).
//!   Any line that starts with `<!-- tokbench-perflog` is read as a trailer;
//!   one that does not parse is a problem.
//! - **Block text**: block *n* is the text from just after the line ending
//!   of trailer *n − 1* (for the first block: from the start of the file) up
//!   to the start of trailer *n*. `H` is the SHA-256 (lower-case hex) of
//!   that text, with every `\r\n` read as `\n` (so a checkout that converts
//!   line endings is not an edit).
//! - **Genesis**: the first block's `P` is `genesis`; every other block's `P`
//!   is the `H` recorded in the trailer of the block before it. The header
//!   that [`append`] writes into a new file (`# Performance log` and one
//!   sentence) is part of the first block's text, so it is covered by the
//!   first block's hash. Whatever a file held before its first block
//!   (a hand-written log, say) is likewise adopted into the first block.
//! - **Outside blocks**: text between two blocks belongs to the block below
//!   it (and so is an edit of that block when added later). After the last
//!   trailer only blank lines are allowed: anything else would be taken into
//!   the next block unseen, so [`verify`] reports it and [`append`] refuses.
//! - **Fields** are written on one line each (line breaks in a field become
//!   spaces), every line of a block starts with fixed text (`## `,
//!   `Hardware:`, `Command:`, `|`, `Note:`), so no field can forge a trailer;
//!   a `|` in a table cell is written `\|`.
//!
//! The chain makes edits evident, not impossible: someone who recomputes
//! every hash below an edit can hide it. Git history is the guard against
//! that; the chain catches the hand edit, the merge that drops a block and
//! the editor that reorders them. There is no locking: one writer at a time
//! (a CI job), which is what an append-only file is for.

mod append;
mod block;
mod chain;
#[cfg(test)]
mod tests;

pub use append::{append, utc_date_today, Appended};
pub use block::{Block, Row, RowParseError};
pub use chain::{verify, verify_file, Problem, Report, TRAILER_PREFIX};

use std::path::PathBuf;

/// What can go wrong reading, checking or appending to a performance log.
#[derive(Debug, thiserror::Error)]
pub enum PerflogError {
    /// Reading, writing or syncing the file failed (the cause is the
    /// error's source).
    #[error("I/O error on {}", path.display())]
    Io {
        /// The file (or folder, when syncing the folder of a new file).
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not UTF-8 text.
    #[error("{}: not a UTF-8 text file", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
    },
    /// The existing file does not verify, so nothing was appended.
    #[error(
        "{}:{line}: {what}{}; refusing to append (the file was left as it is)",
        path.display(),
        if *more > 0 { format!(" (and {more} more problem(s))") } else { String::new() }
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Line of the first problem (1-based).
        line: usize,
        /// The first problem.
        what: String,
        /// How many further problems there are.
        more: usize,
    },
    /// The block's date is not `YYYY-MM-DD`.
    #[error("date {0:?} is not YYYY-MM-DD")]
    BadDate(String),
}
