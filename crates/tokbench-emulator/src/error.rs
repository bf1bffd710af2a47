//! Error types of the emulator.

use thiserror::Error;

/// Errors returned by [`crate::serve`], [`crate::spawn`] and
/// [`crate::EmulatorConfig::validate`].
#[derive(Debug, Error)]
pub enum EmulatorError {
    /// The configuration is invalid; the message names the offending field
    /// and the accepted range.
    #[error("invalid emulator configuration: {0}")]
    InvalidConfig(String),
    /// Binding the listening socket failed.
    #[error("failed to bind {addr}: {source}")]
    Bind {
        /// The address that could not be bound.
        addr: std::net::SocketAddr,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Any other socket-level failure (reading the bound address, serving).
    #[error("emulator I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// Error used to abort a response body mid-stream (the `CloseMidStream`
/// fault): hyper closes the connection without the terminating chunk.
#[derive(Debug, Error)]
#[error("emulated connection close")]
pub(crate) struct StreamAborted;
