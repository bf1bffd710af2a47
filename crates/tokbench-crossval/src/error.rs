//! Typed errors of the crate's validating and I/O entry points.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Which side of a comparison a problem is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The first side (`A` of `tokbench crossval A B`).
    A,
    /// The second side (`B`).
    B,
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Side::A => "A",
            Side::B => "B",
        })
    }
}

/// Why a cross-validation function rejected its input or could not do its
/// I/O. Errors about files name the file.
#[derive(Debug, Error)]
pub enum CrossvalError {
    /// [`crate::DivergenceOptions::epsilon_nats`] is negative, NaN or
    /// infinite.
    #[error("near-tie epsilon must be finite and >= 0 nats, got {0}")]
    InvalidEpsilon(f64),
    /// A prompt id occurs twice on one side.
    #[error("side {side}: prompt {prompt_id:?} occurs more than once")]
    DuplicatePrompt {
        /// The side holding the duplicate.
        side: Side,
        /// The repeated prompt id.
        prompt_id: String,
    },
    /// A prompt id occurs on one side only.
    #[error("prompt {prompt_id:?} has no output on side {missing_on}")]
    MissingPrompt {
        /// The side without an output for the prompt.
        missing_on: Side,
        /// The prompt id.
        prompt_id: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A golden file is not valid JSON or not shaped like a
    /// [`crate::Golden`].
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line (serde_json's; 0 when it does not know).
        line: usize,
        /// 1-based column (serde_json's; 0 when it does not know).
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A server's response could not be read as a completion.
    #[error("unreadable response: {0}")]
    Response(String),
    /// A golden file of a format version this build does not read.
    #[error("{path}: golden file version {found}, this tokbench reads version {supported}")]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
        /// The version this build reads ([`crate::GOLDEN_VERSION`]).
        supported: u32,
    },
    /// Serialising a golden file failed.
    #[error("{path}: could not serialise golden file: {message}")]
    Serialize {
        /// The file that was to be written.
        path: PathBuf,
        /// What failed.
        message: String,
    },
}
