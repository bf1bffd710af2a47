//! The crate's error type.

use std::path::PathBuf;

/// Errors from probing and sampling.
///
/// Most probes degrade instead of failing: a missing GPU driver, an unreadable
/// sysfs file or a RAPL counter that needs root becomes `None` plus a note in
/// the result. These errors are for what the caller must see: a file that
/// should be there and is not, text that does not parse, a sampler thread that
/// could not start or died.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeError {
    /// Reading `path` failed.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file that could not be read.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A kernel text file (procfs, sysfs) did not have the expected shape.
    #[error("cannot parse {what}: {message}")]
    Parse {
        /// What was being parsed, e.g. `/proc/stat`.
        what: String,
        /// What was wrong with it.
        message: String,
    },
    /// A hand-written rig file is not valid YAML or does not match [`crate::RigNotes`].
    #[error("invalid rig file {}{}: {message}", path.display(), fmt_location(*line, *column))]
    RigFile {
        /// The rig file.
        path: PathBuf,
        /// 1-based line of the error, when the YAML parser reports one.
        line: Option<u64>,
        /// 1-based column of the error, when the YAML parser reports one.
        column: Option<u64>,
        /// The parser's message.
        message: String,
    },
    /// A GPU probe failed as a whole (only fakes and future backends do this;
    /// NVML and sysfs report an absent GPU as an empty list).
    #[error("GPU probe failed: {0}")]
    Gpu(String),
    /// A sampler thread could not be spawned.
    #[error("cannot start the {name} sampler thread")]
    Spawn {
        /// Which sampler.
        name: &'static str,
        /// The error from `std::thread::Builder::spawn`.
        #[source]
        source: std::io::Error,
    },
    /// A sampler thread panicked; its samples are lost.
    #[error("the {0} sampler thread panicked")]
    SamplerPanicked(&'static str),
    /// A memory-bandwidth measurement could not run: an invalid
    /// [`crate::BandwidthConfig`], a buffer that cannot be allocated, a reader
    /// thread that panicked.
    #[error("memory bandwidth: {0}")]
    Bandwidth(String),
}

impl ProbeError {
    /// Builds a [`ProbeError::Parse`].
    pub(crate) fn parse(what: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Parse {
            what: what.into(),
            message: message.into(),
        }
    }

    /// Builds a [`ProbeError::Io`].
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

fn fmt_location(line: Option<u64>, column: Option<u64>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}
