//! One side's statistics with intervals, for `tokbench gate`'s absolute
//! bounds (`decode_tok_s median ≥ 30`) and tail ratios (`ttft_ms p99/p50 ≤
//! 3`), and the fallback ratio interval from recorded summaries when a
//! side has no per-request samples.
//!
//! The bootstraps resample exactly as [`crate::compare::ratio_ci`] does
//! (one level for one run, runs then requests for several), with the same
//! seed, so a gate and a comparison over the same runs agree.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::compare::{CompareOptions, RatioEstimate, Side, Statistic};
use crate::error::StatsError;
use crate::quantile::type7;

/// A statistic of one side with a percentile-bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The statistic of the pooled values (units of the input; a ratio for
    /// [`quantile_ratio_ci`]).
    pub value: f64,
    /// Lower interval bound.
    pub lo: f64,
    /// Upper interval bound.
    pub hi: f64,
    /// Nominal coverage of `[lo, hi]`.
    pub level: f64,
}

/// A statistic `S` of one side (per-request values grouped by run) with a
/// seeded percentile-bootstrap interval (Efron & Tibshirani 1993, §13.3).
///
/// `Ok(None)` when the side has no value.
///
/// # Errors
/// [`StatsError`] for invalid options, an invalid quantile probability or a
/// non-finite value.
pub fn statistic_ci(
    runs: &[Vec<f64>],
    stat: Statistic,
    opts: &CompareOptions,
) -> Result<Option<Estimate>, StatsError> {
    stat.validate()?;
    one_sample(runs, opts, |buf| stat.eval(buf))
}

/// The ratio `num / den` of two statistics of the same side, e.g. the tail
/// ratio `p99 / p50` of TTFT, with a percentile-bootstrap interval: both
/// statistics are taken on the same resample, so their correlation is kept.
///
/// `Ok(None)` when the side has no value or `den` is not positive.
///
/// # Errors
/// As [`statistic_ci`].
pub fn quantile_ratio_ci(
    runs: &[Vec<f64>],
    num: Statistic,
    den: Statistic,
    opts: &CompareOptions,
) -> Result<Option<Estimate>, StatsError> {
    num.validate()?;
    den.validate()?;
    one_sample(runs, opts, |buf| {
        let d = den.eval(buf)?;
        let n = num.eval(buf)?;
        (d > 0.0).then_some(n / d).filter(|r| r.is_finite())
    })
}

fn one_sample(
    runs: &[Vec<f64>],
    opts: &CompareOptions,
    f: impl Fn(&mut [f64]) -> Option<f64>,
) -> Result<Option<Estimate>, StatsError> {
    opts.validate()?;
    let side = Side::new(runs)?;
    let Some(value) = f(&mut side.pooled()) else {
        return Ok(None);
    };
    let thin = side.thinned(opts.max_bootstrap_values, opts.seed);
    let side = match &thin {
        Some(runs) => Side::new(runs)?,
        None => side,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let mut buf = Vec::new();
    let mut draws = Vec::with_capacity(opts.resamples);
    for _ in 0..opts.resamples {
        side.resample_into(&mut rng, &mut buf);
        match f(&mut buf) {
            Some(v) => draws.push(v),
            None => return Ok(None),
        }
    }
    draws.sort_unstable_by(f64::total_cmp);
    let tail = (1.0 - opts.level) / 2.0;
    Ok(type7(&draws, tail)
        .zip(type7(&draws, 1.0 - tail))
        .map(|(lo, hi)| Estimate {
            value,
            lo,
            hi,
            level: opts.level,
        }))
}

/// A recorded summary of one run: the median and its recorded interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SummaryPoint {
    /// The run's median (must be positive).
    pub median: f64,
    /// The recorded interval of the median, `(lo, hi, level)`, if any.
    pub ci: Option<(f64, f64, f64)>,
}

/// NEW/BASE ratio of medians from recorded summaries only (no per-request
/// samples), with a normal-approximation interval on the log scale and a
/// two-sided z-test p-value.
///
/// Per side with `k` runs: the estimate is `m = mean(ln medianᵢ)`; its
/// standard error is the larger of `√(Σ seᵢ²) / k` (within runs, with
/// `seᵢ = (ln hiᵢ − ln loᵢ) / (2·z(levelᵢ))` from each recorded interval)
/// and `sd(ln medianᵢ) / √k` (between runs, when `k ≥ 2`). Then
/// `ln ratio = m_new − m_base`, `se = √(se_base² + se_new²)`, the interval is
/// `exp(ln ratio ± z(level)·se)` and `p = erfc(|ln ratio / se| / √2)`: the
/// delta method for a ratio of independent estimates (Casella & Berger
/// 2002, §5.5.4). The ratio is the geometric mean of the run medians'
/// ratio, equal to the ratio of medians for one run per side.
///
/// `None` when a side is empty, a median is not positive or a run has no
/// recorded interval (then no interval can be given).
pub fn summary_ratio(
    base: &[SummaryPoint],
    new: &[SummaryPoint],
    level: f64,
) -> Option<(RatioEstimate, f64)> {
    let (mb, sb) = log_side(base)?;
    let (mn, sn) = log_side(new)?;
    let d = mn - mb;
    let se = (sb * sb + sn * sn).sqrt();
    if !(se > 0.0 && se.is_finite()) {
        return None;
    }
    let z = z_two_sided(level)?;
    let est = RatioEstimate {
        ratio: d.exp(),
        lo: (d - z * se).exp(),
        hi: (d + z * se).exp(),
        level,
    };
    let p = libm::erfc((d / se).abs() / std::f64::consts::SQRT_2).min(1.0);
    Some((est, p))
}

/// `(mean ln median, standard error)` of one side.
fn log_side(points: &[SummaryPoint]) -> Option<(f64, f64)> {
    if points.is_empty() {
        return None;
    }
    let k = points.len() as f64;
    let mut logs = Vec::with_capacity(points.len());
    let mut within = 0.0;
    for p in points {
        let (lo, hi, lvl) = p.ci?;
        if !(p.median > 0.0 && lo > 0.0 && hi >= lo) {
            return None;
        }
        let se = (hi.ln() - lo.ln()) / (2.0 * z_two_sided(lvl)?);
        within += se * se;
        logs.push(p.median.ln());
    }
    let mean = logs.iter().sum::<f64>() / k;
    let mut se = within.sqrt() / k;
    if points.len() >= 2 {
        let var = logs.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / (k - 1.0);
        se = se.max((var / k).sqrt());
    }
    Some((mean, se))
}

/// The `z` with `P(|Z| ≤ z) = level` for a standard normal `Z`, by
/// bisection on `erfc(z/√2) = 1 − level` (monotone; 100 halvings reach
/// f64 precision). `None` unless `level ∈ (0, 1)`.
pub fn z_two_sided(level: f64) -> Option<f64> {
    if !(level > 0.0 && level < 1.0) {
        return None;
    }
    let target = 1.0 - level;
    let (mut lo, mut hi) = (0.0_f64, 40.0_f64);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if libm::erfc(mid / std::f64::consts::SQRT_2) > target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(0.5 * (lo + hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn z_matches_the_normal_table() {
        // Known values of the standard normal quantile.
        assert!((z_two_sided(0.95).unwrap() - 1.959_964).abs() < 1e-6);
        assert!((z_two_sided(0.90).unwrap() - 1.644_854).abs() < 1e-6);
        assert!((z_two_sided(0.99).unwrap() - 2.575_829).abs() < 1e-6);
        assert_eq!(z_two_sided(1.0), None);
    }

    #[test]
    fn summary_ratio_known_answer() {
        // Base median 50 with CI exp(ln 50 ± 1.96·0.02); new median 53 likewise.
        let z = z_two_sided(0.95).unwrap();
        let pt = |m: f64| SummaryPoint {
            median: m,
            ci: Some(((m.ln() - z * 0.02).exp(), (m.ln() + z * 0.02).exp(), 0.95)),
        };
        let (est, p) = summary_ratio(&[pt(50.0)], &[pt(53.0)], 0.95).unwrap();
        let se = (2.0 * 0.02_f64 * 0.02).sqrt();
        let d = (53.0_f64 / 50.0).ln();
        assert!((est.ratio - 1.06).abs() < 1e-12);
        assert!((est.lo - (d - z * se).exp()).abs() < 1e-9);
        assert!((est.hi - (d + z * se).exp()).abs() < 1e-9);
        let want_p = libm::erfc((d / se) / std::f64::consts::SQRT_2);
        assert!((p - want_p).abs() < 1e-12);
        assert!(p < 0.05 && est.lo > 1.0);
    }

    #[test]
    fn summary_ratio_needs_intervals() {
        let no_ci = SummaryPoint {
            median: 10.0,
            ci: None,
        };
        assert!(summary_ratio(&[no_ci], &[no_ci], 0.95).is_none());
    }

    #[test]
    fn between_run_spread_widens_the_interval() {
        let tight = |m: f64| SummaryPoint {
            median: m,
            ci: Some((m * 0.999, m * 1.001, 0.95)),
        };
        let one = summary_ratio(&[tight(50.0)], &[tight(50.0)], 0.95)
            .unwrap()
            .0;
        let spread = summary_ratio(
            &[tight(40.0), tight(60.0)],
            &[tight(50.0), tight(50.0)],
            0.95,
        )
        .unwrap()
        .0;
        assert!(spread.hi - spread.lo > 10.0 * (one.hi - one.lo));
    }

    #[test]
    fn one_sample_interval_covers_the_value() {
        let runs = vec![(1..=200).map(f64::from).collect::<Vec<_>>()];
        let opts = CompareOptions::default();
        let e = statistic_ci(&runs, Statistic::Median, &opts)
            .unwrap()
            .unwrap();
        assert_eq!(e.value, 100.5);
        assert!(e.lo < 100.5 && e.hi > 100.5 && e.hi - e.lo < 40.0);
        let r = quantile_ratio_ci(&runs, Statistic::Quantile(0.99), Statistic::Median, &opts)
            .unwrap()
            .unwrap();
        // type 7: p99 of 1..=200 is 1 + 0.99·199 = 198.01.
        assert!((r.value - 198.01 / 100.5).abs() < 1e-12);
        assert!(r.lo < r.value && r.value < r.hi);
    }

    #[test]
    fn one_sample_is_deterministic_and_empty_is_none() {
        let runs = vec![vec![3.0, 1.0, 2.0, 5.0, 4.0], vec![2.0, 2.5]];
        let opts = CompareOptions::default();
        let a = statistic_ci(&runs, Statistic::Median, &opts).unwrap();
        let b = statistic_ci(&runs, Statistic::Median, &opts).unwrap();
        assert_eq!(a, b);
        assert_eq!(statistic_ci(&[], Statistic::Median, &opts).unwrap(), None);
    }
}
