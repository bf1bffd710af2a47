//! Typed errors of comparing and gating. Each names the file (and line,
//! where there is one) it is about.

use std::path::PathBuf;

/// What can go wrong loading sides, pairing them or reading a gate spec.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// A side argument matched no record file.
    #[error("{arg}: no record (*.yaml) found")]
    NoRecords {
        /// The argument as given.
        arg: String,
    },
    /// A glob pattern is malformed.
    #[error("{arg}: bad glob pattern: {message}")]
    BadGlob {
        /// The argument as given.
        arg: String,
        /// The parser's message.
        message: String,
    },
    /// A record could not be read (the cause names file and line).
    #[error(transparent)]
    Record(#[from] tokbench_record::RecordError),
    /// A samples sidecar could not be read.
    #[error("{}: {source}", path.display())]
    SamplesIo {
        /// The sidecar.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A samples sidecar line is not a request sample.
    #[error("{}:{line}: not a request sample: {message}", path.display())]
    SamplesLine {
        /// The sidecar.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The parser's message.
        message: String,
    },
    /// The sides were measured on different rigs and `--across-rigs` was
    /// not given.
    #[error(
        "the sides were measured on different rigs ({rigs}); comparing them measures the rig, \
         not the change: pass --across-rigs to compare anyway"
    )]
    AcrossRigs {
        /// The rigs, per side.
        rigs: String,
    },
    /// No cell was measured on every side.
    #[error(
        "no cell (model, shape, concurrency, rate, targets) was measured on both {base} and {new}"
    )]
    NothingInCommon {
        /// The baseline side.
        base: String,
        /// The other side.
        new: String,
    },
    /// A metric name is not one of the comparable quantities.
    #[error("unknown metric {name:?} (known: {known})")]
    UnknownMetric {
        /// The name given.
        name: String,
        /// Every known name.
        known: String,
    },
    /// A gate spec is malformed (file and line named).
    #[error("{}:{line}: {message}", path.display())]
    Spec {
        /// The spec file.
        path: PathBuf,
        /// 1-based line (0 when the parser gave none).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The statistics rejected their input or options.
    #[error(transparent)]
    Stats(#[from] tokbench_stats::StatsError),
    /// Rendering CSV or JSON failed.
    #[error("cannot render the output: {0}")]
    Render(String),
}
