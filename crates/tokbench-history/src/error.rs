//! Typed errors of this crate.

use tokbench_stats::StatsError;

/// Why a history could not be built or analysed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HistoryError {
    /// A metric name that is not one of [`crate::METRICS`].
    #[error("unknown metric `{name}`; valid metrics: {}", valid.join(", "))]
    UnknownMetric {
        /// The name given.
        name: String,
        /// Every valid name ([`crate::METRICS`]).
        valid: &'static [&'static str],
    },
    /// The change-point options were rejected (`alpha` outside `(0, 1)`,
    /// zero permutations).
    #[error("change points: {0}")]
    ChangePoint(#[from] StatsError),
}
