//! Significance tests used by [`crate::compare`](mod@crate::compare): the Mann–Whitney U test
//! and Holm's step-down correction for multiple comparisons.
//!
//! Both are re-exported from [`crate::compare`](mod@crate::compare), where they are used.

use serde::{Deserialize, Serialize};

/// Result of a two-sided Mann–Whitney U test of `new` against `base`.
///
/// All three fields are dimensionless.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MannWhitney {
    /// `U` of the `new` sample: the number of pairs `(new_i, base_j)` with
    /// `new_i > base_j`, ties counting ½. Range `[0, n_new·n_base]`; equals
    /// SciPy's `mannwhitneyu(new, base).statistic`.
    pub u: f64,
    /// Signed standard score of `u`, continuity-corrected towards 0:
    /// positive when `new` tends to be larger than `base`.
    pub z: f64,
    /// Two-sided p-value from the normal approximation, in `[0, 1]`.
    pub p_two_sided: f64,
}

/// Two-sided Mann–Whitney U test (Wilcoxon rank-sum test), normal
/// approximation with tie and continuity corrections.
///
/// * `base`, `new`: the two independent samples, any units (only the order
///   of the values matters), any order.
///
/// Method (H. B. Mann and D. R. Whitney, "On a Test of Whether one of Two
/// Random Variables is Stochastically Larger than the Other", *Annals of
/// Mathematical Statistics* 18(1), 1947, pp. 50–60), computed as SciPy's
/// `scipy.stats.mannwhitneyu(new, base, method="asymptotic",
/// use_continuity=True)`:
///
/// ```text
/// ranks   = midranks of the pooled sample (ties share their mean rank)
/// U       = R_new − n_new·(n_new + 1)/2          R_new = Σ ranks of new
/// μ       = n_new·n_base / 2
/// σ       = sqrt(n_new·n_base/12 · ((N + 1) − Σ(t³ − t) / (N·(N − 1))))
///           N = n_new + n_base, t = size of each group of tied values
/// z       = sign(U − μ) · max(|U − μ| − ½, 0) / σ
/// p       = erfc(|z| / √2)          (= 2·(1 − Φ(|z|)), capped at 1)
/// ```
///
/// `erfc` is `libm::erfc`. When every pooled value is equal (`σ = 0`) the
/// samples cannot be told apart and the result is `z = 0`, `p = 1`.
///
/// Returns `None` when either sample is empty or holds a non-finite value.
/// Cost: O(N log N).
///
/// The normal approximation is poor for very small samples (SciPy uses the
/// exact distribution below 8 values per side without ties); tokbench
/// compares cells of many requests, and its verdicts also need the
/// bootstrap interval (see [`crate::compare::verdict`]).
pub fn mann_whitney(base: &[f64], new: &[f64]) -> Option<MannWhitney> {
    if base.is_empty() || new.is_empty() {
        return None;
    }
    if base.iter().chain(new).any(|v| !v.is_finite()) {
        return None;
    }
    // (value, is_new), sorted by value.
    let mut pooled: Vec<(f64, bool)> = base
        .iter()
        .map(|&v| (v, false))
        .chain(new.iter().map(|&v| (v, true)))
        .collect();
    pooled.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let (rank_sum_new, tie_term) = midrank_sum(&pooled);

    let n_new = new.len() as f64;
    let n_base = base.len() as f64;
    let n = n_new + n_base;
    let u = rank_sum_new - n_new * (n_new + 1.0) / 2.0;
    let mu = n_new * n_base / 2.0;
    let var = n_new * n_base / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)));
    if var <= 0.0 || !var.is_finite() {
        return Some(MannWhitney {
            u,
            z: 0.0,
            p_two_sided: 1.0,
        });
    }
    let diff = u - mu;
    let z = diff.signum() * (diff.abs() - 0.5).max(0.0) / var.sqrt();
    let p_two_sided = libm::erfc(z.abs() / std::f64::consts::SQRT_2).min(1.0);
    Some(MannWhitney { u, z, p_two_sided })
}

/// Sum of the midranks (1-based) of the `true`-labelled entries of a
/// value-sorted slice, and the tie term `Σ(t³ − t)` over groups of equal
/// values.
fn midrank_sum(sorted: &[(f64, bool)]) -> (f64, f64) {
    let mut rank_sum = 0.0;
    let mut tie_term = 0.0;
    let mut start = 0;
    while start < sorted.len() {
        let value = sorted[start].0;
        let end = sorted[start..]
            .iter()
            .position(|e| e.0 != value)
            .map_or(sorted.len(), |off| start + off);
        // Ranks start + 1 ..= end share their mean.
        let t = (end - start) as f64;
        let midrank = (start + 1 + end) as f64 / 2.0;
        let labelled = sorted[start..end].iter().filter(|e| e.1).count();
        rank_sum += midrank * labelled as f64;
        tie_term += t * t * t - t;
        start = end;
    }
    (rank_sum, tie_term)
}

/// Holm–Bonferroni adjusted p-values, in the order of `p`.
///
/// * `p`: raw p-values, one per hypothesis (one per metric of a table).
///   NaN is treated as 1; values are clamped to `[0, 1]`.
///
/// Method (S. Holm, "A Simple Sequentially Rejective Multiple Test
/// Procedure", *Scandinavian Journal of Statistics* 6(2), 1979, pp. 65–70),
/// in the adjusted-p form of R's `p.adjust(method = "holm")`: sort the `m`
/// p-values ascending, `p₍₁₎ ≤ … ≤ p₍ₘ₎`, then
///
/// ```text
/// p̃₍ᵢ₎ = min(1, max_{j ≤ i} (m − j + 1)·p₍ⱼ₎)
/// ```
///
/// Rejecting every hypothesis with `p̃ < α` controls the family-wise error
/// rate at `α` under any dependence between the tests. The result is
/// monotone in the rank of `p` and never below the raw value. Empty input
/// gives an empty vector. Cost: O(m log m).
pub fn holm(p: &[f64]) -> Vec<f64> {
    let clean = |v: f64| if v.is_nan() { 1.0 } else { v.clamp(0.0, 1.0) };
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| clean(p[a]).total_cmp(&clean(p[b])));
    let mut adjusted = vec![1.0; m];
    let mut running: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        let scaled = ((m - rank) as f64 * clean(p[i])).min(1.0);
        running = running.max(scaled);
        adjusted[i] = running;
    }
    adjusted
}
