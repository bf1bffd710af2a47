//! Seeded percentile-bootstrap confidence interval of the median.
//!
//! Method: the *percentile interval* of B. Efron and R. J. Tibshirani,
//! *An Introduction to the Bootstrap*, Chapman & Hall/CRC, 1993, §13.3.
//! Draw `B` resamples of size `n` with replacement from the sample, take the
//! median of each, and report the `α/2` and `1 − α/2` quantiles of those `B`
//! medians, where `α = 1 − confidence`. tokbench reads those quantiles with
//! the same type 7 definition as everything else ([`crate::quantile`]).
//!
//! Determinism: resample indices come from `ChaCha8Rng::seed_from_u64(seed)`
//! (`rand_chacha`), a portable, reproducible generator, so the same input,
//! `resamples`, `confidence` and `seed` give a bit-identical interval on
//! every run and platform.
//!
//! Cost: O(B·n) time (expected; medians use `select_nth_unstable`) and O(n + B)
//! memory.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::StatsError;
use crate::quantile::{median_in_place, type7};

/// A two-sided confidence interval `[lo, hi]`, in the units of the sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Ci {
    /// Lower bound.
    pub lo: f64,
    /// Upper bound (`hi ≥ lo`).
    pub hi: f64,
    /// Nominal coverage, e.g. `0.95`.
    pub level: f64,
}

/// Percentile-bootstrap CI of the median of `values`.
///
/// * `values`: the sample, any order, finite values only.
/// * `resamples`: number of bootstrap resamples `B` (tokbench default 2000).
/// * `confidence`: nominal coverage in `(0, 1)`, e.g. `0.95`.
/// * `seed`: seed of the `ChaCha8Rng` that draws the resample indices.
///
/// Returns `Ok(None)` when `values.len() < 2`: one value carries no
/// information about spread, and the degenerate interval `[x, x]` would be
/// read as "perfectly converged". Otherwise `Ok(Some(ci))` with
/// `ci.level == confidence`.
///
/// Resample indices refer to positions in `values`, so for a fixed seed the
/// interval depends on the order of `values`; [`crate::Summary`] sorts first
/// to make its CI order-independent.
///
/// # Errors
///
/// * [`StatsError::InvalidConfidence`] when `confidence ∉ (0, 1)`.
/// * [`StatsError::ZeroResamples`] when `resamples == 0`.
/// * [`StatsError::NonFinite`] when `values` holds NaN or ±∞.
///
/// Source: Efron & Tibshirani (1993), §13.3, percentile interval.
pub fn bootstrap_median_ci(
    values: &[f64],
    resamples: u32,
    confidence: f64,
    seed: u64,
) -> Result<Option<Ci>, StatsError> {
    check_confidence(confidence)?;
    if resamples == 0 {
        return Err(StatsError::ZeroResamples);
    }
    if let Some(index) = values.iter().position(|v| !v.is_finite()) {
        return Err(StatsError::NonFinite { index });
    }
    let n = values.len();
    if n < 2 {
        return Ok(None);
    }
    let mut medians = resampled_medians(values, resamples, seed);
    medians.sort_unstable_by(f64::total_cmp);
    let alpha = 1.0 - confidence;
    let lo = type7(&medians, alpha / 2.0);
    let hi = type7(&medians, 1.0 - alpha / 2.0);
    Ok(lo.zip(hi).map(|(lo, hi)| Ci {
        lo,
        hi,
        level: confidence,
    }))
}

/// `Ok(())` when `confidence ∈ (0, 1)`.
pub(crate) fn check_confidence(confidence: f64) -> Result<(), StatsError> {
    if confidence > 0.0 && confidence < 1.0 {
        Ok(())
    } else {
        Err(StatsError::InvalidConfidence(confidence))
    }
}

/// Medians of `resamples` bootstrap resamples (size `values.len()`, drawn
/// with replacement). `values` must be non-empty and finite.
fn resampled_medians(values: &[f64], resamples: u32, seed: u64) -> Vec<f64> {
    let n = values.len();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut buf = vec![0.0; n];
    let mut medians = Vec::with_capacity(resamples as usize);
    for _ in 0..resamples {
        for slot in &mut buf {
            // `random_range(0..n)` is always `< n`, so the index is in range.
            *slot = values[rng.random_range(0..n)];
        }
        if let Some(m) = median_in_place(&mut buf) {
            medians.push(m);
        }
    }
    medians
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DATA: [f64; 9] = [12.0, 15.5, 9.0, 11.0, 14.0, 13.5, 10.0, 16.0, 12.5];

    #[test]
    fn same_seed_same_interval() {
        let a = bootstrap_median_ci(&DATA, 2000, 0.95, 42).unwrap();
        let b = bootstrap_median_ci(&DATA, 2000, 0.95, 42).unwrap();
        assert!(a.is_some());
        assert_eq!(a, b);
    }

    #[test]
    fn seed_changes_the_draws() {
        // With 9 distinct values and only 50 resamples the interval ends are
        // noisy; ten seeds must not all give the same interval.
        let cis: Vec<_> = (0..10)
            .map(|s| bootstrap_median_ci(&DATA, 50, 0.95, s).unwrap().unwrap())
            .collect();
        assert!(cis.iter().any(|c| *c != cis[0]), "{cis:?}");
    }

    #[test]
    fn two_values_known_answer() {
        // Resample medians of [1, 3]: 1 (p = 1/4), 2 (p = 1/2), 3 (p = 1/4).
        // With 2000 resamples ≈ 500 medians equal 1 and ≈ 500 equal 3, so the
        // 2.5 % and 97.5 % quantiles (ranks ≈ 50 and ≈ 1950) are 1 and 3.
        let ci = bootstrap_median_ci(&[1.0, 3.0], 2000, 0.95, 7)
            .unwrap()
            .unwrap();
        assert_eq!((ci.lo, ci.hi, ci.level), (1.0, 3.0, 0.95));
    }

    #[test]
    fn constant_sample_gives_point_interval() {
        let ci = bootstrap_median_ci(&[4.0; 5], 100, 0.9, 1)
            .unwrap()
            .unwrap();
        assert_eq!((ci.lo, ci.hi, ci.level), (4.0, 4.0, 0.9));
    }

    #[test]
    fn fewer_than_two_values_is_none() {
        assert_eq!(bootstrap_median_ci(&[], 100, 0.95, 1), Ok(None));
        assert_eq!(bootstrap_median_ci(&[3.0], 100, 0.95, 1), Ok(None));
    }

    #[test]
    fn rejects_invalid_arguments() {
        assert_eq!(
            bootstrap_median_ci(&DATA, 100, 1.0, 1),
            Err(StatsError::InvalidConfidence(1.0))
        );
        assert_eq!(
            bootstrap_median_ci(&DATA, 100, 0.0, 1),
            Err(StatsError::InvalidConfidence(0.0))
        );
        assert_eq!(
            bootstrap_median_ci(&DATA, 0, 0.95, 1),
            Err(StatsError::ZeroResamples)
        );
        assert_eq!(
            bootstrap_median_ci(&[1.0, f64::INFINITY], 10, 0.95, 1),
            Err(StatsError::NonFinite { index: 1 })
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn interval_contains_sample_median(
            xs in prop::collection::vec(0.0f64..1000.0, 2..40),
            seed in any::<u64>(),
        ) {
            let ci = bootstrap_median_ci(&xs, 2000, 0.95, seed).unwrap().unwrap();
            let mut sorted = xs.clone();
            sorted.sort_by(f64::total_cmp);
            let median = type7(&sorted, 0.5).unwrap();
            prop_assert!(ci.lo <= median && median <= ci.hi, "{ci:?} vs {median}");
            prop_assert!(sorted[0] <= ci.lo && ci.hi <= sorted[sorted.len() - 1]);
        }
    }
}
