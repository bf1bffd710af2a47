//! Change points in a performance history: E-divisive means.
//!
//! Method: D. S. Matteson and N. A. James, "A Nonparametric Approach for
//! Multiple Change Point Analysis of Multivariate Data", *Journal of the
//! American Statistical Association* 109(505), 2014, pp. 334–345, with the
//! exponent `α = 1` (plain absolute differences), as used for performance
//! histories by MongoDB (`signal-processing-algorithms`, Daly et al.,
//! "Change Point Detection in Software Performance Testing", ICPE 2020) and
//! Apache Otava (formerly Hunter).
//!
//! For a segment `Z` split at `τ` into `X = Z[..τ]` (`m` points) and
//! `Y = Z[τ..]` (`r` points):
//!
//! ```text
//! Ê(X, Y) = 2/(m·r) Σᵢⱼ |xᵢ − yⱼ|  −  Σ_{i<k} |xᵢ − xₖ| / C(m, 2)  −  Σ_{j<k} |yⱼ − yₖ| / C(r, 2)
//! Q̂(τ)    = m·r/(m + r) · Ê(X, Y)
//! ```
//!
//! `Ê` is the sample energy distance (≥ 0 in expectation, 0 when both parts
//! have the same distribution). The candidate of a segment is the `τ` that
//! maximises `Q̂` with both parts at least `min_size` long. As in the MongoDB
//! and Otava implementations the segment end is fixed (the paper also
//! maximises over the end point `κ`).
//!
//! Procedure (the paper's hierarchical significance testing): among the
//! current segments take the candidate with the largest `Q̂`; test it with a
//! permutation test — shuffle the values within every current segment,
//! recompute the largest candidate `Q̂`, `R` times — with p-value
//! `p̂ = (1 + #{Q̂_perm ≥ Q̂_obs}) / (R + 1)`. If `p̂ ≤ alpha_sig` accept the
//! change point, split that segment and repeat; otherwise stop. The `1 +`
//! counts the observed arrangement as one of the permutations, so `p̂` is
//! never 0 (B. Phipson and G. K. Smyth, "Permutation P-values Should Never
//! Be Zero", *Statistical Applications in Genetics and Molecular Biology*
//! 9(1), 2010); MongoDB's implementation omits it and is slightly more
//! liberal.
//!
//! Complexity: finding the candidate of a segment of length `L` is
//! O(L²) (incremental sums); each accepted change point costs
//! O((R + 1)·n²) for a series of `n` points, so a history of 500 points
//! with 199 permutations takes about 5·10⁷ distance evaluations per change
//! point. Memory is O(n).

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::StatsError;
use crate::summary::DEFAULT_SEED;

/// Options of [`e_divisive`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChangePointOptions {
    /// Significance level of the permutation test, in `(0, 1)` (default
    /// 0.05): a change point is accepted when `p̂ ≤ alpha_sig`.
    pub alpha_sig: f64,
    /// Permutations `R` per test (default 199, so the smallest p̂ is 0.005).
    pub permutations: usize,
    /// Fewest points in a segment on either side of a change point (default
    /// 5; values below 2 are treated as 2, as a within-part distance needs
    /// two points).
    pub min_size: usize,
    /// Seed of the `ChaCha8Rng` that draws the permutations (default
    /// [`DEFAULT_SEED`]).
    pub seed: u64,
}

impl Default for ChangePointOptions {
    fn default() -> Self {
        Self {
            alpha_sig: 0.05,
            permutations: 199,
            min_size: 5,
            seed: DEFAULT_SEED,
        }
    }
}

/// Change points of `series` by E-divisive means (see the
/// [module docs](self)).
///
/// * `series`: the history in time order, one value per point (any units,
///   e.g. the median decode tok/s of each nightly run).
/// * `opts`: test level, permutations, minimum segment length and seed.
///
/// Returns the sorted indices at which a new segment starts (each in
/// `min_size..=n − min_size`); empty when no significant change is found or
/// the series is shorter than `2·min_size`. Deterministic for a seed.
///
/// # Errors
///
/// * [`StatsError::InvalidAlpha`] when `alpha_sig ∉ (0, 1)`.
/// * [`StatsError::ZeroPermutations`] when `permutations == 0`.
/// * [`StatsError::NonFinite`] when `series` holds NaN or ±∞.
pub fn e_divisive(series: &[f64], opts: &ChangePointOptions) -> Result<Vec<usize>, StatsError> {
    if !(opts.alpha_sig > 0.0 && opts.alpha_sig < 1.0) {
        return Err(StatsError::InvalidAlpha(opts.alpha_sig));
    }
    if opts.permutations == 0 {
        return Err(StatsError::ZeroPermutations);
    }
    if let Some(index) = series.iter().position(|v| !v.is_finite()) {
        return Err(StatsError::NonFinite { index });
    }
    let min_size = opts.min_size.max(2);
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let mut starts: Vec<usize> = Vec::new();
    loop {
        let bounds = segment_bounds(&starts, series.len());
        let Some((tau, q_obs)) = best_candidate(series, &bounds, min_size) else {
            break;
        };
        let p = permutation_p(series, &bounds, min_size, q_obs, opts, &mut rng);
        if p > opts.alpha_sig {
            break;
        }
        let at = starts.partition_point(|&s| s < tau);
        starts.insert(at, tau);
    }
    Ok(starts)
}

/// `[start, end)` of the segments delimited by the sorted change points.
fn segment_bounds(starts: &[usize], n: usize) -> Vec<(usize, usize)> {
    let mut edges = Vec::with_capacity(starts.len() + 2);
    edges.push(0);
    edges.extend_from_slice(starts);
    edges.push(n);
    edges.windows(2).map(|w| (w[0], w[1])).collect()
}

/// The best candidate `(absolute index, Q̂)` over all segments, if any
/// segment is long enough to split.
fn best_candidate(
    series: &[f64],
    bounds: &[(usize, usize)],
    min_size: usize,
) -> Option<(usize, f64)> {
    bounds
        .iter()
        .filter_map(|&(s, e)| best_split(&series[s..e], min_size).map(|(t, q)| (s + t, q)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// `(τ, Q̂(τ))` maximising `Q̂` over `τ ∈ [min_size, L − min_size]`, or
/// `None` when `L < 2·min_size`. O(L²) via incremental sums: moving point
/// `τ` from the right part to the left adds its distances to the left part
/// to the left within-sum and removes its distances to the rest of the right
/// part from the right within-sum; the cross sum changes by the difference.
fn best_split(seg: &[f64], min_size: usize) -> Option<(usize, f64)> {
    let len = seg.len();
    if len < 2 * min_size {
        return None;
    }
    let dist_sum = |x: f64, part: &[f64]| part.iter().map(|y| (x - y).abs()).sum::<f64>();
    let mut within_left = 0.0;
    let mut within_right: f64 = (0..len).map(|i| dist_sum(seg[i], &seg[i + 1..])).sum();
    let mut cross = 0.0;
    let mut best: Option<(usize, f64)> = None;
    // Invariant at the top of each iteration: left = seg[..tau].
    for tau in 0..=len - min_size {
        if tau >= min_size {
            let q = q_hat(tau, len - tau, within_left, within_right, cross);
            if best.is_none_or(|(_, b)| q > b) {
                best = Some((tau, q));
            }
        }
        // `tau ≤ len − min_size < len`, so `seg[tau]` exists.
        let to_left = dist_sum(seg[tau], &seg[..tau]);
        let to_right = dist_sum(seg[tau], &seg[tau + 1..]);
        within_left += to_left;
        within_right -= to_right;
        cross += to_right - to_left;
    }
    best
}

/// `Q̂` from the part sizes `m`, `r ≥ 2` and the sums of pairwise absolute
/// differences within the left part, within the right part and across.
fn q_hat(m: usize, r: usize, within_left: f64, within_right: f64, cross: f64) -> f64 {
    let (m, r) = (m as f64, r as f64);
    let energy = 2.0 * cross / (m * r)
        - within_left / (m * (m - 1.0) / 2.0)
        - within_right / (r * (r - 1.0) / 2.0);
    m * r / (m + r) * energy
}

/// Permutation p-value of the observed best `Q̂`: values are shuffled
/// within each current segment (Fisher–Yates) and the best candidate
/// recomputed, `opts.permutations` times. Stops as soon as the p-value
/// exceeds `alpha_sig` (a lower bound on it then, enough for the caller,
/// which only asks whether `p ≤ alpha_sig`).
fn permutation_p(
    series: &[f64],
    bounds: &[(usize, usize)],
    min_size: usize,
    q_obs: f64,
    opts: &ChangePointOptions,
    rng: &mut ChaCha8Rng,
) -> f64 {
    let mut shuffled = series.to_vec();
    let mut at_least = 0usize;
    let total = (1 + opts.permutations) as f64;
    for _ in 0..opts.permutations {
        for &(s, e) in bounds {
            shuffle(&mut shuffled[s..e], rng);
        }
        let q = best_candidate(&shuffled, bounds, min_size).map_or(f64::NEG_INFINITY, |c| c.1);
        if q >= q_obs {
            at_least += 1;
            // The p-value can only grow from here: once it exceeds alpha the
            // test cannot be significant, and the caller stops searching
            // (without drawing again), so stopping early changes no result.
            if (1 + at_least) as f64 / total > opts.alpha_sig {
                return (1 + at_least) as f64 / total;
            }
        }
    }
    (1 + at_least) as f64 / total
}

/// Fisher–Yates shuffle (Knuth, TAOCP vol. 2, Algorithm 3.4.2 P).
fn shuffle(xs: &mut [f64], rng: &mut ChaCha8Rng) {
    for i in (1..xs.len()).rev() {
        let j = rng.random_range(0..=i);
        xs.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `Q̂(τ)` straight from the formula, O(L²) per `τ`.
    fn q_brute(seg: &[f64], tau: usize) -> f64 {
        let (x, y) = seg.split_at(tau);
        let (m, r) = (x.len() as f64, y.len() as f64);
        let pairs = |a: &[f64]| -> f64 {
            let mut s = 0.0;
            for i in 0..a.len() {
                for k in i + 1..a.len() {
                    s += (a[i] - a[k]).abs();
                }
            }
            s
        };
        let cross: f64 = x
            .iter()
            .flat_map(|a| y.iter().map(move |b| (a - b).abs()))
            .sum();
        let e = 2.0 * cross / (m * r)
            - pairs(x) / (m * (m - 1.0) / 2.0)
            - pairs(y) / (r * (r - 1.0) / 2.0);
        m * r / (m + r) * e
    }

    #[test]
    fn q_hat_known_answer() {
        // [0 0 | 1 1]: cross = 4 pairs at distance 1, within sums 0.
        // Ê = 2·4/(2·2) = 2, Q̂ = 2·2/4 · 2 = 2.
        assert_eq!(best_split(&[0.0, 0.0, 1.0, 1.0], 2), Some((2, 2.0)));
        assert_eq!(best_split(&[0.0, 0.0, 1.0], 2), None);
    }

    proptest! {
        #[test]
        fn incremental_matches_brute_force(
            seg in prop::collection::vec(-100.0f64..100.0, 4..30),
            min_size in 2usize..4,
        ) {
            prop_assume!(seg.len() >= 2 * min_size);
            let (tau, q) = best_split(&seg, min_size).unwrap();
            let brute: Vec<f64> = (min_size..=seg.len() - min_size)
                .map(|t| q_brute(&seg, t))
                .collect();
            let best = brute.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            prop_assert!((q - best).abs() <= 1e-9 * best.abs().max(1.0), "{q} vs {best}");
            prop_assert!((q_brute(&seg, tau) - q).abs() <= 1e-9 * q.abs().max(1.0));
        }
    }
}
