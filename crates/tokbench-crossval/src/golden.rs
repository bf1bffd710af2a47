//! Golden files: one side's outputs for a prompt set, kept as the
//! reference that later runs are compared with (`tokbench crossval`
//! against a file instead of a second server).
//!
//! Format: one JSON object, pretty-printed, with a trailing newline; the
//! fields of [`Golden`] (snake_case). [`write_golden`] writes it
//! atomically (a temporary file in the same folder, fsync, rename), so an
//! interrupted write never leaves a half-written golden file;
//! [`read_golden`] names the file, and the line and column, of a malformed
//! one.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::CrossvalError;
use crate::output::Output;

/// The golden-file format version this build writes and reads.
pub const GOLDEN_VERSION: u32 = 1;

/// A reference side: the greedy outputs of one backend for a prompt set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Golden {
    /// Format version ([`GOLDEN_VERSION`]).
    pub version: u32,
    /// Name of the prompt set the outputs answer.
    pub prompt_set: String,
    /// SHA-256 of the prompt set's file (lower-case hex), so a golden file
    /// is never compared against other prompts under the same name.
    pub prompt_set_sha256: String,
    /// The per-prompt generation limit (`max_tokens`) the outputs were
    /// generated with; an output can be shorter (end of sequence).
    pub tokens: u32,
    /// One output per prompt.
    pub outputs: Vec<Output>,
    /// Free-text description of what produced the outputs (backend,
    /// version, model file, flags).
    pub source: String,
}

/// Just the version, read before the whole file so that a file of another
/// version is reported as such rather than as a shape error.
#[derive(Deserialize)]
struct VersionProbe {
    version: u32,
}

/// Writes `golden` to `path` as pretty JSON, atomically.
///
/// # Errors
///
/// [`CrossvalError::Serialize`] when a value cannot be written as JSON
/// (serde_json refuses non-finite floats); [`CrossvalError::Io`] naming
/// the file when writing or renaming fails (the temporary file is then
/// removed).
pub fn write_golden(path: &Path, golden: &Golden) -> Result<(), CrossvalError> {
    let mut bytes = serde_json::to_vec_pretty(golden).map_err(|e| CrossvalError::Serialize {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    bytes.push(b'\n');
    // One atomic-write rule for every file tokbench replaces: a temporary
    // file beside it, fsync, rename (`tokbench_record::write_atomic`).
    tokbench_record::write_atomic(path, &bytes).map_err(|e| match e {
        tokbench_record::RecordError::Io { path, source } => CrossvalError::Io { path, source },
        other => CrossvalError::Io {
            path: path.to_owned(),
            source: std::io::Error::other(other.to_string()),
        },
    })
}

/// Reads a golden file written by [`write_golden`] (or by hand).
///
/// # Errors
///
/// * [`CrossvalError::Io`] naming the file when it cannot be read.
/// * [`CrossvalError::UnsupportedVersion`] when its `version` is not
///   [`GOLDEN_VERSION`].
/// * [`CrossvalError::Parse`] naming the file, line and column when it is
///   not JSON or not shaped like a [`Golden`].
pub fn read_golden(path: &Path) -> Result<Golden, CrossvalError> {
    let text = std::fs::read_to_string(path).map_err(|source| CrossvalError::Io {
        path: path.to_owned(),
        source,
    })?;
    if let Ok(probe) = serde_json::from_str::<VersionProbe>(&text) {
        if probe.version != GOLDEN_VERSION {
            return Err(CrossvalError::UnsupportedVersion {
                path: path.to_owned(),
                found: probe.version,
                supported: GOLDEN_VERSION,
            });
        }
    }
    serde_json::from_str(&text).map_err(|e| {
        // serde_json's message ends with the location, which the error
        // already shows as `path:line:column`.
        let full = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        CrossvalError::Parse {
            path: path.to_owned(),
            line: e.line(),
            column: e.column(),
            message: full.strip_suffix(&suffix).unwrap_or(&full).to_owned(),
        }
    })
}
