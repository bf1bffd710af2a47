//! Typed errors of this crate.

use thiserror::Error;

/// Why a `/metrics` text could not be turned into a [`Snapshot`](crate::Snapshot).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MetricsError {
    /// A line is not valid Prometheus text exposition format. The message is
    /// the parser crate's, with the line, the column and the offending line.
    #[error("malformed /metrics exposition: {0}")]
    Syntax(String),
    /// The lines parse but a value cannot be used: a value or `le` bound is
    /// not a number, or a histogram has neither `_count` nor a `+Inf` bucket.
    #[error("metric {metric}: {reason}")]
    Malformed {
        /// Metric (or series) name.
        metric: String,
        /// What is wrong with it.
        reason: String,
    },
}
