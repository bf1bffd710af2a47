//! Typed errors of the GGUF reader and the sha256 cache.
//!
//! Every variant names the file; format errors also name the byte offset
//! (from the start of the file) at which the problem was found, so a report
//! such as "truncated at offset 1234" can be checked with `xxd -s 1234`.

use std::path::{Path, PathBuf};

/// Errors reading a GGUF file or hashing it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GgufError {
    /// An I/O error other than a short read (open, stat, read failure).
    #[error("{path}: {what}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done ("open", "read at offset 12", ...).
        what: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The file does not start with the magic bytes `GGUF`.
    #[error("{path}: not a GGUF file (starts with \"{}\", expected \"GGUF\")", .found.escape_ascii())]
    NotGguf {
        /// The file.
        path: PathBuf,
        /// The first bytes found (up to 4).
        found: Vec<u8>,
    },

    /// The GGUF version is not 2 or 3.
    #[error("{path}: unsupported GGUF version {version} at offset 4 (supported: 2, 3)")]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version found.
        version: u32,
    },

    /// The file ended before a structure that the header announced.
    #[error("{path}: truncated at offset {offset}: {needed} more bytes needed for {what}, file is {file_size} bytes")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Offset at which the missing bytes start.
        offset: u64,
        /// How many bytes were needed from there.
        needed: u64,
        /// What was being read.
        what: String,
        /// The size of the file (or buffer) in bytes.
        file_size: u64,
    },

    /// A string length that no sane GGUF has (over the cap or the file size).
    #[error("{path}: string at offset {offset} claims {len} bytes (limit {limit})")]
    StringTooLong {
        /// The file.
        path: PathBuf,
        /// Offset of the string's length prefix.
        offset: u64,
        /// The claimed length in bytes.
        len: u64,
        /// The largest length accepted there.
        limit: u64,
    },

    /// A count (tensors, metadata pairs, array elements, dimensions) that
    /// cannot fit in the rest of the file or exceeds a hard cap.
    #[error("{path}: implausible {what} {count} at offset {offset} (limit {limit})")]
    ImplausibleCount {
        /// The file.
        path: PathBuf,
        /// Offset of the count.
        offset: u64,
        /// Which count ("tensor count", "array length", ...).
        what: &'static str,
        /// The count found.
        count: u64,
        /// The largest count accepted there.
        limit: u64,
    },

    /// A metadata value type id outside the GGUF spec (0..=12).
    #[error("{path}: unknown metadata value type {type_id} at offset {offset}")]
    UnknownValueType {
        /// The file.
        path: PathBuf,
        /// Offset of the type id.
        offset: u64,
        /// The id found.
        type_id: u32,
    },

    /// A structural rule of the format is broken (duplicate key, bad
    /// alignment, tensor shape or offset out of range, ...).
    #[error("{path}: invalid GGUF at offset {offset}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Offset of the offending item.
        offset: u64,
        /// What is wrong.
        reason: String,
    },

    /// The sha256 cache file exists but cannot be used.
    #[error("{path}: sha256 cache: {reason}")]
    Cache {
        /// The cache file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

impl GgufError {
    /// A [`GgufError::Io`] for `path` while doing `what`.
    pub(crate) fn io(path: &Path, what: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            what: what.into(),
            source,
        }
    }
}

/// Result type of this crate.
pub type Result<T, E = GgufError> = std::result::Result<T, E>;
