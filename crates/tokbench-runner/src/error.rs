//! The crate's error type.

use std::path::PathBuf;

use tokbench_backend::BackendError;
use tokbench_client::{ClientError, ConfigError};
use tokbench_gguf::GgufError;
use tokbench_record::RecordError;

/// Everything that stops a target from being measured or recorded. Request
/// failures are not errors: they are counted in the record's cells.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// Launching, reaching or stopping the backend failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The client could not be built or the server could not be asked.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// A crossval response could not be read.
    #[error(transparent)]
    Crossval(#[from] tokbench_crossval::CrossvalError),
    /// The load settings are invalid (e.g. zero concurrency).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The model file is missing.
    #[error("model file {} does not exist", path.display())]
    ModelMissing {
        /// The path given.
        path: PathBuf,
    },
    /// The model file is not a readable GGUF file.
    #[error("could not read model file {}: {source}", path.display())]
    Model {
        /// The path given.
        path: PathBuf,
        /// What the GGUF reader found.
        #[source]
        source: GgufError,
    },
    /// The model did not fit in GPU memory and spilling was not allowed.
    #[error("{0}")]
    Spill(String),
    /// An attached server could not list its models.
    #[error("could not list models at {url} (pass --model to skip this): {source}")]
    ListModels {
        /// Base URL of the server.
        url: String,
        /// Why the request failed.
        #[source]
        source: ClientError,
    },
    /// An attached server lists no model.
    #[error("{url}/v1/models lists no model; pass --model")]
    NoModel {
        /// Base URL of the server.
        url: String,
    },
    /// The runs folder cannot hold records.
    #[error("runs folder {} {what}: {source}", path.display())]
    RunsDir {
        /// The folder.
        path: PathBuf,
        /// `cannot be created` or `is not writable`.
        what: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Writing the record failed.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// Appending to the samples sidecar failed.
    #[error("could not append samples to {}: {source}", path.display())]
    Samples {
        /// The sidecar file.
        path: PathBuf,
        /// The OS or serialisation error.
        #[source]
        source: std::io::Error,
    },
}
