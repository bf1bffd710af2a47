//! Statistics of `tokbench compare` / `gate`: NEW/BASE ratio intervals,
//! significance, Holm correction and verdicts.
//!
//! Pairing cells (same model, shape, concurrency, rate and targets) is the
//! compare command's job; this module gets, for one metric of one pair of
//! cells, the per-request values of each side, grouped by run:
//! `&[Vec<f64>]`, one `Vec` per run, in the metric's units (ms or tok/s;
//! values should be positive).
//!
//! Per metric:
//!
//! 1. [`ratio_ci`]: the ratio `S(new) / S(base)` of a statistic `S`
//!    ([`Statistic::Median`], or a [`Statistic::Quantile`] such as p99) with
//!    a seeded percentile-bootstrap interval (Efron & Tibshirani 1993,
//!    §13.3), two-level when a side has several runs.
//! 2. [`mann_whitney`]: a two-sided Mann–Whitney U test on the pooled
//!    requests of each side (Mann & Whitney 1947).
//! 3. [`holm`]: Holm (1979) adjustment across the metrics of a table
//!    ([`adjust_and_judge`]).
//! 4. [`verdict`]: faster / slower / same / inconclusive against a noise
//!    threshold (default ±2 %; the idea is criterion.rs's `noise_threshold`,
//!    whose own default is 1 %).
//! 5. [`min_detectable_effect`]: the smallest relative change the interval
//!    could have resolved, printed so that "no change" is never claimed from
//!    a handful of requests.
//!
//! Everything is deterministic for a given [`CompareOptions::seed`].

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::bootstrap::check_confidence;
use crate::error::StatsError;
use crate::quantile::{median_in_place, quantile_in_place, type7};
pub use crate::significance::{holm, mann_whitney, MannWhitney};
use crate::summary::DEFAULT_SEED;

/// Which way is better for a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Larger is better: rates such as decode tok/s. A ratio above 1 is
    /// faster.
    HigherIsBetter,
    /// Smaller is better: latencies such as TTFT ms. A ratio below 1 is
    /// faster.
    LowerIsBetter,
}

/// The statistic whose NEW/BASE ratio is estimated.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Statistic {
    /// The median (type 7 at 0.5, see [`crate::quantile`]).
    Median,
    /// A type 7 quantile at the given probability in `[0, 1]`; p99 is
    /// `Quantile(0.99)`. Tail quantiles need many requests: p99 depends
    /// only on the order statistics near rank `0.99·(n − 1)` (with
    /// `n = 100`, the two largest values), so its interval is wide until `n`
    /// is in the hundreds.
    Quantile(f64),
}

impl Statistic {
    /// `Err` unless a quantile probability lies in `[0, 1]`.
    pub(crate) fn validate(self) -> Result<(), StatsError> {
        match self {
            Statistic::Median => Ok(()),
            Statistic::Quantile(q) if (0.0..=1.0).contains(&q) => Ok(()),
            Statistic::Quantile(q) => Err(StatsError::InvalidProbability(q)),
        }
    }

    /// The statistic of `buf` (reordered in place); `None` when empty.
    pub(crate) fn eval(self, buf: &mut [f64]) -> Option<f64> {
        match self {
            Statistic::Median => median_in_place(buf),
            Statistic::Quantile(q) => quantile_in_place(buf, q),
        }
    }
}

/// Options of the comparison statistics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CompareOptions {
    /// Nominal coverage of the ratio interval, in `(0, 1)` (default 0.95).
    pub level: f64,
    /// Bootstrap resamples `B` (default 2000).
    pub resamples: usize,
    /// Seed of the `ChaCha8Rng` drawing the resamples (default
    /// [`DEFAULT_SEED`]).
    pub seed: u64,
    /// Noise threshold as a fraction of the ratio: changes within
    /// `1 ± noise` count as noise (default 0.02 = ±2 %; criterion.rs's
    /// `noise_threshold` plays the same role with a default of 0.01).
    pub noise: f64,
    /// Significance level for the Holm-adjusted p-value, in `(0, 1)`
    /// (default 0.05).
    pub alpha: f64,
    /// Fewest requests per side for any verdict other than
    /// [`Verdict::Inconclusive`] (default 10). A percentile bootstrap of a
    /// few values undercovers badly, so without this floor three similar
    /// requests could yield [`Verdict::Same`].
    pub min_samples: usize,
    /// Most values per side the bootstrap resamples (default 20,000).
    /// A larger side (inter-token latencies: one value per token) is
    /// bootstrapped from a seeded random subsample of this many values,
    /// drawn from each run in proportion to its size; the ratio itself and
    /// the test use every value. A subsample can only widen the interval
    /// (fewer values, more spread), so the cap makes the interval
    /// conservative, never narrower, and keeps the cost at O(B·cap).
    pub max_bootstrap_values: usize,
    /// Pair run `i` of BASE with run `i` of NEW (default false): the
    /// two-level bootstrap then draws the same run indices for both sides,
    /// so what the paired runs share (a host that drifts between
    /// alternating launches) cancels in the ratio. The sides must have as
    /// many runs, in launch order (the caller orders them).
    pub paired: bool,
}

impl Default for CompareOptions {
    fn default() -> Self {
        Self {
            level: 0.95,
            resamples: 2000,
            seed: DEFAULT_SEED,
            noise: 0.02,
            alpha: 0.05,
            min_samples: 10,
            max_bootstrap_values: 20_000,
            paired: false,
        }
    }
}

impl CompareOptions {
    /// Checks the options.
    ///
    /// # Errors
    ///
    /// * [`StatsError::InvalidConfidence`] when `level ∉ (0, 1)`.
    /// * [`StatsError::ZeroResamples`] when `resamples == 0`.
    /// * [`StatsError::InvalidNoise`] when `noise` is negative or not finite.
    /// * [`StatsError::InvalidAlpha`] when `alpha ∉ (0, 1)`.
    /// * [`StatsError::ZeroBootstrapCap`] when `max_bootstrap_values == 0`.
    pub fn validate(&self) -> Result<(), StatsError> {
        check_confidence(self.level)?;
        if self.resamples == 0 {
            return Err(StatsError::ZeroResamples);
        }
        if !(self.noise.is_finite() && self.noise >= 0.0) {
            return Err(StatsError::InvalidNoise(self.noise));
        }
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(StatsError::InvalidAlpha(self.alpha));
        }
        if self.max_bootstrap_values == 0 {
            return Err(StatsError::ZeroBootstrapCap);
        }
        Ok(())
    }
}

/// The NEW/BASE ratio of a statistic with its bootstrap interval.
///
/// All fields are dimensionless ratios except `level` (a probability).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RatioEstimate {
    /// `S(new) / S(base)` over the pooled requests of each side.
    pub ratio: f64,
    /// Lower end of the percentile-bootstrap interval.
    pub lo: f64,
    /// Upper end (`hi ≥ lo`).
    pub hi: f64,
    /// Nominal coverage, e.g. 0.95.
    pub level: f64,
}

/// One side of a comparison: its non-empty runs.
pub(crate) struct Side<'a> {
    runs: Vec<&'a [f64]>,
}

impl<'a> Side<'a> {
    /// Keeps the non-empty runs; `Err` on a non-finite value, with its index
    /// into the concatenation of all runs.
    pub(crate) fn new(runs: &'a [Vec<f64>]) -> Result<Self, StatsError> {
        if let Some(index) = runs.iter().flatten().position(|v| !v.is_finite()) {
            return Err(StatsError::NonFinite { index });
        }
        let runs = runs
            .iter()
            .filter(|r| !r.is_empty())
            .map(Vec::as_slice)
            .collect();
        Ok(Self { runs })
    }

    /// The runs, thinned to at most `max` values in all when larger: each
    /// run keeps `⌈len·max/total⌉` values drawn without replacement by a
    /// generator seeded with `seed` (`None` when no thinning is needed).
    pub(crate) fn thinned(&self, max: usize, seed: u64) -> Option<Vec<Vec<f64>>> {
        let total: usize = self.runs.iter().map(|r| r.len()).sum();
        if total <= max {
            return None;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7468_696e);
        Some(
            self.runs
                .iter()
                .map(|r| {
                    let keep = (r.len() * max).div_ceil(total).max(1);
                    rand::seq::index::sample(&mut rng, r.len(), keep)
                        .into_iter()
                        .map(|i| r[i])
                        .collect()
                })
                .collect(),
        )
    }

    /// Keeps only the pairs of runs non-empty on both sides (paired mode;
    /// an empty run leaves its partner without a pair).
    pub(crate) fn new_paired(
        base: &'a [Vec<f64>],
        new: &'a [Vec<f64>],
    ) -> Result<(Self, Self), StatsError> {
        let (all_base, all_new) = (Self::new(base)?, Self::new(new)?);
        if base.len() != new.len() {
            return Err(StatsError::UnpairedRuns {
                base: all_base.runs.len(),
                new: all_new.runs.len(),
            });
        }
        let (b, n): (Vec<&[f64]>, Vec<&[f64]>) = base
            .iter()
            .zip(new)
            .filter(|(b, n)| !b.is_empty() && !n.is_empty())
            .map(|(b, n)| (b.as_slice(), n.as_slice()))
            .unzip();
        Ok((Self { runs: b }, Self { runs: n }))
    }

    pub(crate) fn pooled(&self) -> Vec<f64> {
        self.runs.iter().flat_map(|r| r.iter().copied()).collect()
    }

    /// Fills `buf` with one bootstrap resample: requests with replacement
    /// from the single run, or (two-level) `k` runs with replacement and
    /// then, within each chosen run, its `n_i` requests with replacement.
    pub(crate) fn resample_into(&self, rng: &mut ChaCha8Rng, buf: &mut Vec<f64>) {
        buf.clear();
        let k = self.runs.len();
        for slot in 0..k {
            let run = if k == 1 {
                self.runs[slot]
            } else {
                self.runs[rng.random_range(0..k)]
            };
            push_resampled(run, rng, buf);
        }
    }

    /// Fills `buf` with the requests of the runs `picks` (indices into
    /// the runs, drawn once for both sides of a paired comparison), each
    /// run's requests resampled with replacement.
    fn resample_runs_into(&self, picks: &[usize], rng: &mut ChaCha8Rng, buf: &mut Vec<f64>) {
        buf.clear();
        for &i in picks {
            push_resampled(self.runs[i], rng, buf);
        }
    }
}

/// Appends `run.len()` values drawn from `run` with replacement.
fn push_resampled(run: &[f64], rng: &mut ChaCha8Rng, buf: &mut Vec<f64>) {
    let n = run.len();
    buf.extend((0..n).map(|_| run[rng.random_range(0..n)]));
}

/// NEW/BASE ratio of `stat` with a percentile-bootstrap interval.
///
/// * `base`, `new`: per-request values of each side, one `Vec` per run, in
///   the metric's units (positive values: ms, tok/s). Empty runs are ignored.
/// * `stat`: the statistic compared (median, p99, …).
/// * `opts`: `level`, `resamples` and `seed` are used.
///
/// Point estimate: `S(pooled new) / S(pooled base)`. Interval: for each of
/// `B` resamples, resample each side independently and take the ratio of
/// the statistics; report the type 7 quantiles at `(1 − level)/2` and
/// `(1 + level)/2` of the `B` ratios (percentile interval, Efron &
/// Tibshirani, *An Introduction to the Bootstrap*, 1993, §13.3). A side
/// with one run is resampled at the request level. A side with several
/// runs uses the two-level (cluster) bootstrap: draw as many runs as it has,
/// with replacement, then resample the requests within each chosen run
/// (Davison & Hinkley, *Bootstrap Methods and their Application*, 1997,
/// §3.8, resampling at both stages), so run-to-run variation widens the
/// interval. With [`CompareOptions::paired`], run `i` of `new` is the
/// partner of run `i` of `base`, and each resample draws one set of pair
/// indices for both sides (resampling the pairs, as for paired data in
/// Davison & Hinkley §3.8 and Efron & Tibshirani §9.2; the requests within
/// each run are still resampled independently), so variation common to
/// both runs of a pair cancels in the ratio; a pair with an empty run is
/// left out.
///
/// Returns `Ok(None)` when a side has no values, when `S(base) ≤ 0` or a
/// ratio is not finite (including any resample whose base statistic is 0).
/// The same inputs, options and seed give the identical result. Cost:
/// O(B·N) for the median, O(B·N log N) for other quantiles.
///
/// # Errors
///
/// [`CompareOptions::validate`]'s errors;
/// [`StatsError::InvalidProbability`] for a quantile outside `[0, 1]`;
/// [`StatsError::NonFinite`] for NaN or ±∞ in a side (index into that
/// side's runs concatenated); [`StatsError::UnpairedRuns`] when paired
/// sides have different numbers of runs.
pub fn ratio_ci(
    base: &[Vec<f64>],
    new: &[Vec<f64>],
    stat: Statistic,
    opts: &CompareOptions,
) -> Result<Option<RatioEstimate>, StatsError> {
    opts.validate()?;
    stat.validate()?;
    let (base, new) = if opts.paired {
        Side::new_paired(base, new)?
    } else {
        (Side::new(base)?, Side::new(new)?)
    };
    let (Some(s_base), Some(s_new)) = (stat.eval(&mut base.pooled()), stat.eval(&mut new.pooled()))
    else {
        return Ok(None);
    };
    let ratio = s_new / s_base;
    if s_base <= 0.0 || !ratio.is_finite() {
        return Ok(None);
    }
    let cap = opts.max_bootstrap_values;
    let (thin_base, thin_new) = (
        base.thinned(cap, opts.seed),
        new.thinned(cap, opts.seed ^ 1),
    );
    let base = match &thin_base {
        Some(runs) => Side::new(runs)?,
        None => base,
    };
    let new = match &thin_new {
        Some(runs) => Side::new(runs)?,
        None => new,
    };
    let Some(mut ratios) = bootstrap_ratios(&base, &new, stat, opts) else {
        return Ok(None);
    };
    ratios.sort_unstable_by(f64::total_cmp);
    let tail = (1.0 - opts.level) / 2.0;
    let lo = type7(&ratios, tail);
    let hi = type7(&ratios, 1.0 - tail);
    Ok(lo.zip(hi).map(|(lo, hi)| RatioEstimate {
        ratio,
        lo,
        hi,
        level: opts.level,
    }))
}

/// `opts.resamples` bootstrap ratios, or `None` if one is not finite or has
/// a non-positive base statistic.
fn bootstrap_ratios(
    base: &Side<'_>,
    new: &Side<'_>,
    stat: Statistic,
    opts: &CompareOptions,
) -> Option<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let (mut buf_base, mut buf_new) = (Vec::new(), Vec::new());
    let mut ratios = Vec::with_capacity(opts.resamples);
    let k = base.runs.len();
    let paired = opts.paired && k > 1;
    let mut picks = Vec::with_capacity(k);
    for _ in 0..opts.resamples {
        if paired {
            picks.clear();
            picks.extend((0..k).map(|_| rng.random_range(0..k)));
            base.resample_runs_into(&picks, &mut rng, &mut buf_base);
            new.resample_runs_into(&picks, &mut rng, &mut buf_new);
        } else {
            base.resample_into(&mut rng, &mut buf_base);
            new.resample_into(&mut rng, &mut buf_new);
        }
        let s_base = stat.eval(&mut buf_base)?;
        let r = stat.eval(&mut buf_new)? / s_base;
        if s_base <= 0.0 || !r.is_finite() {
            return None;
        }
        ratios.push(r);
    }
    Some(ratios)
}

/// Verdict on one metric of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// NEW is better by more than the noise threshold, significantly.
    Faster,
    /// NEW is worse by more than the noise threshold, significantly.
    Slower,
    /// The whole interval lies within the noise threshold.
    Same,
    /// None of the above: the data cannot tell.
    Inconclusive,
}

/// The verdict rule of `tokbench compare`.
///
/// * `est`: the ratio interval ([`ratio_ci`]).
/// * `p_adjusted`: the Holm-adjusted p-value of the metric ([`holm`]).
/// * `dir`: which way is better.
/// * `noise`: threshold as a fraction (0.02 = ±2 %).
/// * `alpha`: significance level (0.05).
///
/// ```text
/// Same          if 1 − noise ≤ lo and hi ≤ 1 + noise
/// above         = lo > 1 + noise        below = hi < 1 − noise
/// Faster        if p_adjusted < alpha and (above, HigherIsBetter  or  below, LowerIsBetter)
/// Slower        if p_adjusted < alpha and (below, HigherIsBetter  or  above, LowerIsBetter)
/// Inconclusive  otherwise
/// ```
///
/// So `Same` needs the whole interval inside `±noise`, and `Faster` /
/// `Slower` need it wholly outside and a significant test. The noise band
/// follows criterion.rs's `noise_threshold` (criterion's default is 0.01,
/// tokbench's 0.02). This function
/// does not apply [`CompareOptions::min_samples`]; [`MetricComparison::judge`]
/// does.
pub fn verdict(
    est: &RatioEstimate,
    p_adjusted: f64,
    dir: Direction,
    noise: f64,
    alpha: f64,
) -> Verdict {
    let (band_lo, band_hi) = (1.0 - noise, 1.0 + noise);
    if est.lo >= band_lo && est.hi <= band_hi {
        return Verdict::Same;
    }
    if p_adjusted.is_nan() || p_adjusted >= alpha {
        return Verdict::Inconclusive;
    }
    let above = est.lo > band_hi;
    let below = est.hi < band_lo;
    match (dir, above, below) {
        (Direction::HigherIsBetter, true, _) | (Direction::LowerIsBetter, _, true) => {
            Verdict::Faster
        }
        (Direction::HigherIsBetter, _, true) | (Direction::LowerIsBetter, true, _) => {
            Verdict::Slower
        }
        _ => Verdict::Inconclusive,
    }
}

/// Minimum detectable effect: the smallest relative change the interval
/// could have resolved at its level, as a fraction (0.05 = 5 %).
///
/// ```text
/// mde = max(hi / ratio, ratio / lo) − 1
/// ```
///
/// This is the larger one-sided half-width of the interval on the
/// log-ratio scale, mapped back to a relative change. A true change smaller
/// than `mde` would give an interval that still contains "no change", so a
/// comparison cannot distinguish it from noise; a report prints "could
/// detect ±mde". It shrinks roughly as `1/√n` with more requests. It is
/// `+∞` when `lo ≤ 0` or `ratio ≤ 0`, and `0` for a degenerate interval
/// `[ratio, ratio]`. (tokbench's definition: the log scale makes it
/// symmetric for speed-ups and slow-downs of equal factor.)
pub fn min_detectable_effect(est: &RatioEstimate) -> f64 {
    if est.lo <= 0.0 || est.ratio <= 0.0 {
        return f64::INFINITY;
    }
    let up = est.hi / est.ratio;
    let down = est.ratio / est.lo;
    (up.max(down) - 1.0).max(0.0)
}

/// One row of a comparison table: one metric of one pair of cells.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MetricComparison {
    /// The statistic compared.
    pub statistic: Statistic,
    /// Which way is better for this metric.
    pub direction: Direction,
    /// NEW/BASE ratio and its interval.
    pub estimate: RatioEstimate,
    /// Raw two-sided Mann–Whitney p-value on the pooled requests.
    pub p_value: f64,
    /// Holm-adjusted p-value across the table (equal to `p_value` until
    /// [`adjust_and_judge`] runs).
    pub p_adjusted: f64,
    /// Verdict from [`MetricComparison::judge`].
    pub verdict: Verdict,
    /// [`min_detectable_effect`] of `estimate`, a fraction.
    pub mde: f64,
    /// Requests on the base side (all runs).
    pub n_base: usize,
    /// Requests on the new side (all runs).
    pub n_new: usize,
}

impl MetricComparison {
    /// Sets `verdict` from `estimate` and `p_adjusted` by [`verdict`], or to
    /// [`Verdict::Inconclusive`] when a side has fewer than
    /// `opts.min_samples` requests.
    pub fn judge(&mut self, opts: &CompareOptions) {
        self.verdict = if self.n_base.min(self.n_new) < opts.min_samples {
            Verdict::Inconclusive
        } else {
            verdict(
                &self.estimate,
                self.p_adjusted,
                self.direction,
                opts.noise,
                opts.alpha,
            )
        };
    }
}

/// Compares one metric: ratio interval, Mann–Whitney p-value, MDE and a
/// verdict as if the table had this one metric (`p_adjusted = p_value`).
///
/// Arguments as for [`ratio_ci`], plus the metric's `dir`. Call
/// [`adjust_and_judge`] on the rows of a table to apply Holm's correction.
/// The test pools each side's runs; it treats requests as independent, so
/// with run-to-run variation its p-value is optimistic — the two-level
/// interval, which a verdict also needs, carries that variation.
///
/// Returns `Ok(None)` when [`ratio_ci`] does.
///
/// # Errors
///
/// As [`ratio_ci`].
pub fn compare(
    base: &[Vec<f64>],
    new: &[Vec<f64>],
    stat: Statistic,
    dir: Direction,
    opts: &CompareOptions,
) -> Result<Option<MetricComparison>, StatsError> {
    let Some(estimate) = ratio_ci(base, new, stat, opts)? else {
        return Ok(None);
    };
    let pooled_base: Vec<f64> = base.iter().flatten().copied().collect();
    let pooled_new: Vec<f64> = new.iter().flatten().copied().collect();
    let p_value = mann_whitney(&pooled_base, &pooled_new).map_or(1.0, |m| m.p_two_sided);
    let mut row = MetricComparison {
        statistic: stat,
        direction: dir,
        estimate,
        p_value,
        p_adjusted: p_value,
        verdict: Verdict::Inconclusive,
        mde: min_detectable_effect(&estimate),
        n_base: pooled_base.len(),
        n_new: pooled_new.len(),
    };
    row.judge(opts);
    Ok(Some(row))
}

/// Applies Holm's correction across the rows of one table (their
/// `p_value`s), stores it in `p_adjusted` and re-judges every row with
/// [`MetricComparison::judge`].
pub fn adjust_and_judge(rows: &mut [MetricComparison], opts: &CompareOptions) {
    let raw: Vec<f64> = rows.iter().map(|r| r.p_value).collect();
    for (row, p) in rows.iter_mut().zip(holm(&raw)) {
        row.p_adjusted = p;
        row.judge(opts);
    }
}
