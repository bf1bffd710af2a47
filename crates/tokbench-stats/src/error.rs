//! Typed errors of the validating entry points of this crate.

use thiserror::Error;

/// Why a statistics function rejected its input.
///
/// Returned by [`crate::quantile_sorted`], [`crate::bootstrap_median_ci`],
/// [`crate::SummaryOptions::validate`], the comparison functions of
/// [`crate::compare`](mod@crate::compare) and [`crate::e_divisive`]. Functions that only summarise
/// (for example [`crate::Summary::from_values`]) never fail; they document
/// how they treat such input instead.
#[derive(Debug, Clone, Copy, PartialEq, Error)]
pub enum StatsError {
    /// A quantile probability outside `[0, 1]`, or NaN.
    #[error("quantile probability must be within [0, 1], got {0}")]
    InvalidProbability(f64),
    /// A slice that must be sorted ascending is not (or contains NaN, which
    /// is not ordered).
    #[error("input must be sorted ascending and free of NaN")]
    NotSorted,
    /// A confidence level outside the open interval `(0, 1)`, or NaN.
    #[error("confidence level must be within (0, 1), got {0}")]
    InvalidConfidence(f64),
    /// Zero bootstrap resamples were requested.
    #[error("the bootstrap needs at least one resample")]
    ZeroResamples,
    /// The input holds NaN or ±∞ at `index`.
    #[error("input holds a non-finite value at index {index}")]
    NonFinite {
        /// Position of the first non-finite value.
        index: usize,
    },
    /// A noise threshold that is negative, NaN or infinite.
    #[error("noise threshold must be finite and >= 0, got {0}")]
    InvalidNoise(f64),
    /// A significance level outside the open interval `(0, 1)`, or NaN.
    #[error("significance level must be within (0, 1), got {0}")]
    InvalidAlpha(f64),
    /// Zero permutations were requested for a permutation test.
    #[error("the permutation test needs at least one permutation")]
    ZeroPermutations,
    /// `max_bootstrap_values` is 0.
    #[error("the bootstrap needs at least one value per side (max_bootstrap_values = 0)")]
    ZeroBootstrapCap,
    /// A paired comparison ([`crate::CompareOptions::paired`]) got sides
    /// with different numbers of non-empty runs.
    #[error(
        "a paired comparison needs as many runs on NEW as on BASE, in launch order \
         (BASE has {base}, NEW {new})"
    )]
    UnpairedRuns {
        /// Non-empty runs of BASE.
        base: usize,
        /// Non-empty runs of NEW.
        new: usize,
    },
}
