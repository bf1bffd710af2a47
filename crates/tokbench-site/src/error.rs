//! Errors of the site generator. Problems with individual records are not
//! errors of the build: they are reported in
//! [`crate::BuildReport::record_errors`] and the site is built without them.

use std::path::PathBuf;

/// Why the site could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    /// Reading or writing a file or directory failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A runs directory could not be listed.
    #[error("runs directory: {0}")]
    Runs(#[source] tokbench_record::RecordError),
    /// A models catalog is malformed.
    #[error("catalog {path}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Catalog {
        /// The catalog file (`<built-in>` for the shipped one).
        path: PathBuf,
        /// 1-based line, when known.
        line: Option<u64>,
        /// What is wrong.
        message: String,
    },
    /// The shipped metric definitions are malformed (a bug in tokbench).
    #[error("built-in definitions: {0}")]
    Definitions(String),
    /// A template failed to compile or render (a bug in tokbench).
    #[error("template {name}: {source}")]
    Template {
        /// The template.
        name: String,
        /// The template engine's error.
        #[source]
        source: minijinja::Error,
    },
    /// Writing the data downloads failed.
    #[error("data export {path}: {message}")]
    Export {
        /// The file being written.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// The output directory exists and does not look like a site built by
    /// tokbench, so it is not replaced.
    #[error("refusing to replace {path}: {reason}")]
    UnsafeOutput {
        /// The output directory.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// An internal path was not a safe relative site path (a bug).
    #[error("internal error: unsafe site path {0:?}")]
    UnsafePath(String),
}

impl SiteError {
    /// An [`SiteError::Io`] for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> SiteError {
        let path = path.into();
        move |source| SiteError::Io { path, source }
    }
}
