//! Descriptive summary of one metric over many requests.
//!
//! Estimators, all over the finite values of the input:
//!
//! * mean: arithmetic mean;
//! * stddev: *sample* standard deviation, `sqrt(Σ(x − mean)² / (n − 1))`
//!   (Bessel's correction), computed in two passes; `0` when `n = 1`;
//! * min, max, median/p50, p90, p99: Hyndman & Fan type 7 quantiles
//!   ([`crate::quantile`]);
//! * CI of the median: seeded percentile bootstrap ([`crate::bootstrap`]).
//!
//! Non-finite input (NaN, ±∞) is **ignored**: it is dropped before any
//! estimate and not counted in `n`. tokbench's metric definitions never
//! produce such values (undefined metrics are `None`, not NaN), so a dropped
//! value indicates a caller bug rather than a measurement.

use serde::{Deserialize, Serialize};

use crate::bootstrap::{bootstrap_median_ci, check_confidence, Ci};
use crate::error::StatsError;
use crate::quantile::type7;

/// Default bootstrap seed: the ASCII bytes of `"tokbench"` read as a
/// big-endian `u64`. Fixed so that reports are reproducible.
pub const DEFAULT_SEED: u64 = 0x746f_6b62_656e_6368;

/// How [`Summary::from_values`] computes the confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SummaryOptions {
    /// Bootstrap resamples `B` (default 2000). Cost is O(B·n) per summary.
    pub bootstrap_resamples: u32,
    /// Nominal CI coverage in `(0, 1)` (default 0.95).
    pub confidence: f64,
    /// Seed of the bootstrap generator (default [`DEFAULT_SEED`]).
    pub seed: u64,
    /// Compute the bootstrap CI of the median at all (default `true`).
    pub bootstrap: bool,
}

impl Default for SummaryOptions {
    fn default() -> Self {
        Self {
            bootstrap_resamples: 2000,
            confidence: 0.95,
            seed: DEFAULT_SEED,
            bootstrap: true,
        }
    }
}

impl SummaryOptions {
    /// Check the options up front (e.g. when parsing the command line).
    ///
    /// # Errors
    ///
    /// When `bootstrap` is `true`: [`StatsError::InvalidConfidence`] if
    /// `confidence ∉ (0, 1)`, [`StatsError::ZeroResamples`] if
    /// `bootstrap_resamples == 0`. With `bootstrap == false` nothing is
    /// checked, because nothing else depends on the options.
    pub fn validate(&self) -> Result<(), StatsError> {
        if !self.bootstrap {
            return Ok(());
        }
        check_confidence(self.confidence)?;
        if self.bootstrap_resamples == 0 {
            return Err(StatsError::ZeroResamples);
        }
        Ok(())
    }

    /// The same options with the bootstrap switched off (used for ITL, which
    /// can hold millions of values).
    pub fn without_bootstrap(&self) -> Self {
        Self {
            bootstrap: false,
            ..*self
        }
    }
}

/// Summary statistics of one metric, in the metric's own units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of finite values summarised (`≥ 1`).
    pub n: u64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (divisor `n − 1`); `0` when `n = 1`.
    pub stddev: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Median (type 7 quantile at 0.5); always equal to `p50`.
    pub median: f64,
    /// 50th percentile (type 7); same value as `median`, kept for tables.
    pub p50: f64,
    /// 90th percentile (type 7).
    pub p90: f64,
    /// 99th percentile (type 7).
    pub p99: f64,
    /// Percentile-bootstrap CI of the median. Named for the default level;
    /// the actual level is [`Ci::level`]. `None` when the bootstrap is off,
    /// when `n < 2`, or when the options are invalid (see
    /// [`SummaryOptions::validate`]).
    pub ci95_median: Option<Ci>,
}

impl Summary {
    /// Summarise `values` (any order, units preserved).
    ///
    /// Returns `None` when `values` holds no finite value. NaN and ±∞ are
    /// ignored (see the [module docs](self)). Copies the input; use
    /// [`Summary::from_vec`] to summarise an owned buffer in place.
    pub fn from_values(values: &[f64], opts: &SummaryOptions) -> Option<Summary> {
        Self::from_vec(values.to_vec(), opts)
    }

    /// Like [`Summary::from_values`], but consumes and sorts `values` in
    /// place (no copy; suited to millions of ITL values).
    ///
    /// The bootstrap runs on the sorted values, so the whole summary, CI
    /// included, depends only on the multiset of values and the options,
    /// not on their order.
    pub fn from_vec(mut values: Vec<f64>, opts: &SummaryOptions) -> Option<Summary> {
        values.retain(|v| v.is_finite());
        if values.is_empty() {
            return None;
        }
        values.sort_unstable_by(f64::total_cmp);
        let sorted = values.as_slice();
        let n = sorted.len();
        let mean = sorted.iter().sum::<f64>() / n as f64;
        let stddev = sample_stddev(sorted, mean);
        let median = type7(sorted, 0.5)?;
        let ci95_median = if opts.bootstrap {
            bootstrap_median_ci(sorted, opts.bootstrap_resamples, opts.confidence, opts.seed)
                .ok()
                .flatten()
        } else {
            None
        };
        Some(Summary {
            n: n as u64,
            mean,
            stddev,
            min: *sorted.first()?,
            max: *sorted.last()?,
            median,
            p50: median,
            p90: type7(sorted, 0.9)?,
            p99: type7(sorted, 0.99)?,
            ci95_median,
        })
    }

    /// Relative half-width of the CI of the median:
    /// `max(hi − median, median − lo) / |median|`.
    ///
    /// The larger one-sided half-width is used because percentile intervals
    /// can be asymmetric; "the CI is within ±r of the median" then means
    /// exactly `ci_relative_half_width() ≤ r`. For a symmetric interval it
    /// equals `(hi − lo) / 2 / |median|`. Dimensionless (0.03 = 3 %).
    ///
    /// `None` when there is no CI or the median is 0.
    pub fn ci_relative_half_width(&self) -> Option<f64> {
        let ci = self.ci95_median.as_ref()?;
        if self.median == 0.0 {
            return None;
        }
        let half = (ci.hi - self.median).max(self.median - ci.lo);
        Some(half / self.median.abs())
    }

    /// `true` when the CI of the median lies within `±rel` of the median
    /// (`rel = 0.03` for the ±3 % stopping rule of adaptive repetition);
    /// `false` when there is no CI.
    pub fn converged(&self, rel: f64) -> bool {
        self.ci_relative_half_width().is_some_and(|w| w <= rel)
    }
}

/// Two-pass sample standard deviation (divisor `n − 1`), `0` for `n ≤ 1`.
fn sample_stddev(values: &[f64], mean: f64) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
    (ss / (values.len() - 1) as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_ci() -> SummaryOptions {
        SummaryOptions::default().without_bootstrap()
    }

    #[test]
    fn known_answer_summary() {
        // Sorted: [2, 4, 4, 4, 5, 5, 7, 9]; mean = 40/8 = 5.
        // Squared deviations 9+1+1+1+0+0+4+16 = 32; sample var = 32/7.
        // (Population stddev would be exactly 2.)
        // median: h = 7·0.5 = 3.5 → 4 + 0.5·(5 − 4) = 4.5
        // p90:    h = 7·0.9 = 6.3 → 7 + 0.3·(9 − 7) = 7.6
        // p99:    h = 7·0.99 = 6.93 → 7 + 0.93·2 = 8.86
        let s = Summary::from_values(&[5.0, 2.0, 9.0, 4.0, 4.0, 7.0, 4.0, 5.0], &no_ci()).unwrap();
        assert_eq!(s.n, 8);
        assert_eq!(s.mean, 5.0);
        assert!((s.stddev - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        assert!((s.stddev - 2.138_089_935_299_395).abs() < 1e-12);
        assert_eq!((s.min, s.max), (2.0, 9.0));
        assert_eq!((s.median, s.p50), (4.5, 4.5));
        assert!((s.p90 - 7.6).abs() < 1e-12);
        assert!((s.p99 - 8.86).abs() < 1e-12);
        assert_eq!(s.ci95_median, None);
    }

    #[test]
    fn single_value() {
        let s = Summary::from_values(&[3.25], &SummaryOptions::default()).unwrap();
        assert_eq!((s.n, s.mean, s.stddev), (1, 3.25, 0.0));
        assert_eq!((s.min, s.max, s.p99), (3.25, 3.25, 3.25));
        assert_eq!(s.ci95_median, None);
        assert!(!s.converged(0.5));
    }

    #[test]
    fn empty_and_all_nan_are_none() {
        assert_eq!(Summary::from_values(&[], &no_ci()), None);
        assert_eq!(Summary::from_values(&[f64::NAN], &no_ci()), None);
    }

    #[test]
    fn non_finite_values_are_ignored() {
        let s = Summary::from_values(&[1.0, f64::NAN, 3.0, f64::INFINITY], &no_ci()).unwrap();
        assert_eq!((s.n, s.mean, s.max), (2, 2.0, 3.0));
    }

    #[test]
    fn bootstrap_ci_is_reproducible_and_brackets_median() {
        let xs = [48.0, 50.0, 49.5, 51.0, 50.5, 49.0, 50.2, 49.8, 50.1, 50.9];
        let opts = SummaryOptions::default();
        let a = Summary::from_values(&xs, &opts).unwrap();
        let b = Summary::from_values(&xs, &opts).unwrap();
        assert_eq!(a, b);
        let ci = a.ci95_median.unwrap();
        assert_eq!(ci.level, 0.95);
        assert!(ci.lo <= a.median && a.median <= ci.hi);
    }

    #[test]
    fn input_order_does_not_matter() {
        // Values are sorted before the bootstrap, so the CI depends on the
        // multiset and the seed only.
        let xs = [3.0, 9.0, 1.0, 7.0, 5.0, 8.0, 2.0];
        let mut rev = xs;
        rev.reverse();
        let opts = SummaryOptions::default();
        let a = Summary::from_values(&xs, &opts).unwrap();
        assert!(a.ci95_median.is_some());
        assert_eq!(a, Summary::from_values(&rev, &opts).unwrap());
    }

    #[test]
    fn invalid_options_drop_the_ci_and_fail_validation() {
        let opts = SummaryOptions {
            confidence: 1.5,
            ..SummaryOptions::default()
        };
        assert_eq!(opts.validate(), Err(StatsError::InvalidConfidence(1.5)));
        let s = Summary::from_values(&[1.0, 2.0, 3.0], &opts).unwrap();
        assert_eq!(s.ci95_median, None);
        assert_eq!(opts.without_bootstrap().validate(), Ok(()));
        let zero = SummaryOptions {
            bootstrap_resamples: 0,
            ..SummaryOptions::default()
        };
        assert_eq!(zero.validate(), Err(StatsError::ZeroResamples));
        assert_eq!(SummaryOptions::default().validate(), Ok(()));
    }

    fn with_ci(median: f64, lo: f64, hi: f64) -> Summary {
        Summary {
            n: 10,
            mean: median,
            stddev: 1.0,
            min: lo,
            max: hi,
            median,
            p50: median,
            p90: hi,
            p99: hi,
            ci95_median: Some(Ci {
                lo,
                hi,
                level: 0.95,
            }),
        }
    }

    #[test]
    fn relative_half_width_uses_the_wider_side() {
        // median 50, CI [49, 52]: sides 1 and 2 → 2/50 = 0.04
        let s = with_ci(50.0, 49.0, 52.0);
        assert!((s.ci_relative_half_width().unwrap() - 0.04).abs() < 1e-12);
        assert!(!s.converged(0.03));
        assert!(s.converged(0.04 + 1e-12));
        // median 50, CI [49, 51]: symmetric, 1/50 = 0.02 → converged at 3 %
        let t = with_ci(50.0, 49.0, 51.0);
        assert!((t.ci_relative_half_width().unwrap() - 0.02).abs() < 1e-12);
        assert!(t.converged(0.03));
        assert_eq!(with_ci(0.0, -1.0, 1.0).ci_relative_half_width(), None);
    }

    #[test]
    fn serde_round_trip() {
        let s = with_ci(50.0, 49.0, 51.0);
        let json = serde_json::to_string(&s).unwrap();
        let back: Summary = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        assert!(json.contains("\"ci95_median\":{\"lo\":49.0,\"hi\":51.0,\"level\":0.95}"));
    }
}
