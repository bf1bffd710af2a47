//! Known-answer and behaviour tests of the comparison statistics
//! (`tokbench compare` / `gate`): Mann–Whitney U, Holm, the ratio interval,
//! the verdict rule and the minimum detectable effect.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokbench_stats::{
    adjust_and_judge, compare, holm, mann_whitney, min_detectable_effect, ratio_ci, verdict,
    CompareOptions, Direction, MetricComparison, RatioEstimate, Statistic, StatsError, Verdict,
};

/// `n` log-normal-ish latencies around `scale` ms: `scale · exp(0.2·z)`,
/// `z` ≈ N(0, 1) as the Irwin–Hall sum of 12 uniforms minus 6.
fn latencies(n: usize, scale: f64, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let z: f64 = (0..12).map(|_| rng.random::<f64>()).sum::<f64>() - 6.0;
            scale * (0.2 * z).exp()
        })
        .collect()
}

fn one_run(v: Vec<f64>) -> Vec<Vec<f64>> {
    vec![v]
}

fn est(lo: f64, hi: f64) -> RatioEstimate {
    RatioEstimate {
        ratio: (lo + hi) / 2.0,
        lo,
        hi,
        level: 0.95,
    }
}

// ---------------------------------------------------------------- Mann–Whitney

#[test]
fn mann_whitney_known_answer_with_a_tie() {
    // base = [1 2 3 4 5], new = [3 6 7 8 9]. Pooled ranks: 1→1, 2→2,
    // 3,3→3.5 each, 4→5, 5→6, 6→7, 7→8, 8→9, 9→10.
    // R_new = 3.5 + 7 + 8 + 9 + 10 = 37.5, U_new = 37.5 − 5·6/2 = 22.5.
    // μ = 25/2 = 12.5; one tie group of t = 2: Σ(t³ − t) = 6; N = 10.
    // σ = sqrt(25/12 · (11 − 6/90)) = sqrt(22.7777…) = 4.772607021092118
    // z = (22.5 − 12.5 − 0.5)/σ = 1.9905263429432978
    // p = erfc(z/√2) = 0.046532985074510605
    // (same as scipy.stats.mannwhitneyu(new, base) with the asymptotic
    // method and continuity correction).
    let base = [1.0, 2.0, 3.0, 4.0, 5.0];
    let new = [3.0, 6.0, 7.0, 8.0, 9.0];
    let mw = mann_whitney(&base, &new).unwrap();
    assert_eq!(mw.u, 22.5);
    assert!((mw.z - 1.990_526_342_943_297_8).abs() < 1e-12, "{mw:?}");
    assert!((mw.p_two_sided - 0.046_532_985_074_510_605).abs() < 1e-12);
    // Swapping the sides: U' = 25 − U, z' = −z, same p.
    let swapped = mann_whitney(&new, &base).unwrap();
    assert_eq!(swapped.u, 2.5);
    assert!((swapped.z + mw.z).abs() < 1e-12);
    assert!((swapped.p_two_sided - mw.p_two_sided).abs() < 1e-15);
}

#[test]
fn mann_whitney_known_answer_without_ties() {
    // base = [1 2 3], new = [4 5 6]: every new value is larger, U_new = 9.
    // μ = 4.5, σ = sqrt(9/12 · 7) = 2.29128784747792,
    // z = (9 − 4.5 − 0.5)/σ = 1.7457431218879391, p = 0.0808555983700523.
    let mw = mann_whitney(&[2.0, 1.0, 3.0], &[6.0, 4.0, 5.0]).unwrap();
    assert_eq!(mw.u, 9.0);
    assert!((mw.z - 1.745_743_121_887_939_1).abs() < 1e-12);
    assert!((mw.p_two_sided - 0.080_855_598_370_052_3).abs() < 1e-12);
}

#[test]
fn mann_whitney_degenerate_inputs() {
    assert_eq!(mann_whitney(&[], &[1.0]), None);
    assert_eq!(mann_whitney(&[1.0], &[]), None);
    assert_eq!(mann_whitney(&[1.0, f64::NAN], &[1.0]), None);
    // All values tied: σ = 0, nothing to tell apart.
    let mw = mann_whitney(&[2.0; 4], &[2.0; 3]).unwrap();
    assert_eq!((mw.u, mw.z, mw.p_two_sided), (6.0, 0.0, 1.0));
    // U = μ = 2 (2 > 1, 3 > 1, both < 4): the continuity correction
    // absorbs |U − μ| < ½, so z = 0 and p = 1.
    let mw = mann_whitney(&[1.0, 4.0], &[2.0, 3.0]).unwrap();
    assert_eq!((mw.u, mw.z, mw.p_two_sided), (2.0, 0.0, 1.0));
    // [1 3] vs [2 4]: U = 3, μ = 2, σ = sqrt(4/12 · 5) = 1.2910,
    // z = 0.5/σ = 0.3872983346207417.
    let mw = mann_whitney(&[1.0, 3.0], &[2.0, 4.0]).unwrap();
    assert!((mw.z - 0.387_298_334_620_741_7).abs() < 1e-12, "{mw:?}");
}

// ------------------------------------------------------------------------ Holm

#[test]
fn holm_known_vector() {
    // Sorted: 0.005 (×4 = 0.02), 0.01 (×3 = 0.03), 0.03 (×2 = 0.06),
    // 0.04 (×1 = 0.04 → running max 0.06). Back in input order:
    let adj = holm(&[0.01, 0.04, 0.03, 0.005]);
    let want = [0.03, 0.06, 0.06, 0.02];
    for (a, w) in adj.iter().zip(want) {
        assert!((a - w).abs() < 1e-15, "{adj:?}");
    }
}

#[test]
fn holm_caps_at_one_and_handles_edge_cases() {
    // 0.5 × 2 = 1.0; 0.6 × 1 = 0.6 → running max 1.0.
    assert_eq!(holm(&[0.6, 0.5]), vec![1.0, 1.0]);
    assert_eq!(holm(&[]), Vec::<f64>::new());
    assert_eq!(holm(&[0.2]), vec![0.2]);
    // NaN counts as 1: 0.01 × 2 = 0.02, then 1.
    assert_eq!(holm(&[f64::NAN, 0.01]), vec![1.0, 0.02]);
}

// -------------------------------------------------------------- ratio interval

#[test]
fn ratio_ci_contains_the_true_ratio() {
    let base = latencies(400, 50.0, 1);
    let new: Vec<f64> = base.iter().map(|v| v * 1.06).collect();
    let opts = CompareOptions::default();
    for stat in [Statistic::Median, Statistic::Quantile(0.99)] {
        let e = ratio_ci(&one_run(base.clone()), &one_run(new.clone()), stat, &opts)
            .unwrap()
            .unwrap();
        assert!((e.ratio - 1.06).abs() < 1e-12, "{stat:?}: {e:?}");
        assert!(e.lo < 1.06 && 1.06 < e.hi, "{stat:?}: {e:?}");
        assert_eq!(e.level, 0.95);
    }
}

#[test]
fn identical_constants_give_a_degenerate_unit_interval() {
    let side = one_run(vec![42.0; 30]);
    let opts = CompareOptions::default();
    let e = ratio_ci(&side, &side, Statistic::Median, &opts)
        .unwrap()
        .unwrap();
    assert_eq!((e.ratio, e.lo, e.hi), (1.0, 1.0, 1.0));
    assert_eq!(min_detectable_effect(&e), 0.0);
    let row = compare(
        &side,
        &side,
        Statistic::Median,
        Direction::LowerIsBetter,
        &opts,
    )
    .unwrap()
    .unwrap();
    assert_eq!((row.p_value, row.verdict), (1.0, Verdict::Same));
}

#[test]
fn ratio_ci_is_deterministic_for_a_seed() {
    let base = one_run(latencies(60, 10.0, 2));
    let new = one_run(latencies(60, 10.0, 3));
    let opts = CompareOptions::default();
    let a = ratio_ci(&base, &new, Statistic::Median, &opts).unwrap();
    let b = ratio_ci(&base, &new, Statistic::Median, &opts).unwrap();
    assert_eq!(a, b);
    let other = CompareOptions { seed: 99, ..opts };
    let c = ratio_ci(&base, &new, Statistic::Median, &other).unwrap();
    assert_ne!(a, c);
}

#[test]
fn two_level_bootstrap_widens_when_runs_differ() {
    // Four runs per side whose levels differ by ±5 %: the run-to-run
    // variation must show in the two-level interval but not in the
    // request-level interval of the same values pooled into one run.
    let runs = |seed: u64| -> Vec<Vec<f64>> {
        [0.95, 1.0, 1.05, 1.1]
            .iter()
            .enumerate()
            .map(|(i, f)| latencies(50, 100.0 * f, seed + i as u64))
            .collect()
    };
    let (base, new) = (runs(10), runs(20));
    let pooled = |side: &[Vec<f64>]| vec![side.concat()];
    let opts = CompareOptions::default();
    let two = ratio_ci(&base, &new, Statistic::Median, &opts)
        .unwrap()
        .unwrap();
    let one = ratio_ci(&pooled(&base), &pooled(&new), Statistic::Median, &opts)
        .unwrap()
        .unwrap();
    assert_eq!(two.ratio, one.ratio);
    assert!(
        two.hi - two.lo > 1.3 * (one.hi - one.lo),
        "two-level {two:?} vs one-level {one:?}"
    );
}

/// `k` runs of 20 values each: run `i` sits at `100 · drift_i · factor`
/// with ±0.5 % uniform jitter; `drift_i` is drawn from [0.85, 1.15] by
/// `drift_seed`, so two sides with the same `drift_seed` share the host's
/// drift run by run, as alternating launches do.
fn drifting_runs(k: usize, drift_seed: u64, factor: f64, seed: u64) -> Vec<Vec<f64>> {
    let mut drift = ChaCha8Rng::seed_from_u64(drift_seed);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..k)
        .map(|_| {
            let level = 100.0 * (0.85 + 0.3 * drift.random::<f64>()) * factor;
            (0..20)
                .map(|_| level * (1.0 + 0.01 * (rng.random::<f64>() - 0.5)))
                .collect()
        })
        .collect()
}

#[test]
fn pairing_cancels_shared_drift_and_keeps_a_real_change() {
    let paired = CompareOptions {
        paired: true,
        ..CompareOptions::default()
    };
    let unpaired = CompareOptions::default();
    let base = drifting_runs(30, 5, 1.0, 1);
    let same = drifting_runs(30, 5, 1.0, 2);
    let dir = Direction::HigherIsBetter;
    // Unpaired, the ±15 % drift between runs swamps the ±2 % band…
    let u = compare(&base, &same, Statistic::Median, dir, &unpaired)
        .unwrap()
        .unwrap();
    assert_eq!(u.verdict, Verdict::Inconclusive, "{u:?}");
    // …paired, it cancels: the interval is within ±1 % of the true 1.0.
    let p = compare(&base, &same, Statistic::Median, dir, &paired)
        .unwrap()
        .unwrap();
    assert_eq!(p.estimate.ratio, u.estimate.ratio, "same point estimate");
    assert!(p.estimate.lo > 0.99 && p.estimate.hi < 1.01, "{p:?}");
    assert_eq!(p.verdict, Verdict::Same);
    // A real +3 % on every run is found, and its interval holds 1.03.
    let faster = drifting_runs(30, 5, 1.03, 3);
    let f = compare(&base, &faster, Statistic::Median, dir, &paired)
        .unwrap()
        .unwrap();
    assert!(
        f.estimate.lo < 1.03 && 1.03 < f.estimate.hi && f.estimate.lo > 1.02,
        "{f:?}"
    );
    assert_eq!(f.verdict, Verdict::Faster);
}

#[test]
fn pairing_needs_as_many_runs_and_drops_a_pair_with_an_empty_run() {
    let paired = CompareOptions {
        paired: true,
        ..CompareOptions::default()
    };
    let base = drifting_runs(6, 5, 1.0, 1);
    let short = drifting_runs(5, 5, 1.0, 2);
    assert_eq!(
        ratio_ci(&base, &short, Statistic::Median, &paired).unwrap_err(),
        StatsError::UnpairedRuns { base: 6, new: 5 }
    );
    // Run 2 of NEW is empty: pairs 0, 1, 3, 4, 5 remain, so the result
    // equals the comparison without pair 2 on either side.
    let mut holed = drifting_runs(6, 5, 1.0, 2);
    holed[2].clear();
    let got = ratio_ci(&base, &holed, Statistic::Median, &paired)
        .unwrap()
        .unwrap();
    let drop2 = |v: &[Vec<f64>]| -> Vec<Vec<f64>> {
        v.iter()
            .enumerate()
            .filter(|(i, _)| *i != 2)
            .map(|(_, r)| r.clone())
            .collect()
    };
    let want = ratio_ci(&drop2(&base), &drop2(&holed), Statistic::Median, &paired)
        .unwrap()
        .unwrap();
    assert_eq!(got, want);
}

#[test]
fn ratio_ci_none_and_errors() {
    let opts = CompareOptions::default();
    let some = one_run(vec![1.0, 2.0, 3.0]);
    let none = |b: &[Vec<f64>], n: &[Vec<f64>]| ratio_ci(b, n, Statistic::Median, &opts);
    assert_eq!(none(&[], &some), Ok(None));
    assert_eq!(none(&some, &[vec![]]), Ok(None));
    assert_eq!(none(&one_run(vec![0.0; 5]), &some), Ok(None));
    assert_eq!(
        none(&[vec![1.0], vec![2.0, f64::NAN]], &some),
        Err(StatsError::NonFinite { index: 2 })
    );
    let bad = |o: CompareOptions| ratio_ci(&some, &some, Statistic::Median, &o);
    assert_eq!(
        bad(CompareOptions { level: 1.0, ..opts }),
        Err(StatsError::InvalidConfidence(1.0))
    );
    assert_eq!(
        bad(CompareOptions {
            resamples: 0,
            ..opts
        }),
        Err(StatsError::ZeroResamples)
    );
    assert_eq!(
        bad(CompareOptions {
            noise: -0.1,
            ..opts
        }),
        Err(StatsError::InvalidNoise(-0.1))
    );
    assert_eq!(
        bad(CompareOptions { alpha: 0.0, ..opts }),
        Err(StatsError::InvalidAlpha(0.0))
    );
    assert_eq!(
        ratio_ci(&some, &some, Statistic::Quantile(1.5), &opts),
        Err(StatsError::InvalidProbability(1.5))
    );
}

// --------------------------------------------------------------------- verdict

#[test]
fn verdict_rule_table() {
    use Direction::{HigherIsBetter as Hi, LowerIsBetter as Lo};
    use Verdict::{Faster, Inconclusive, Same, Slower};
    let (noise, alpha) = (0.02, 0.05);
    // (lo, hi, p_adjusted, direction, expected)
    let table = [
        // whole interval inside ±2 %: same, whatever p
        (0.99, 1.01, 0.9, Hi, Same),
        (0.98, 1.02, 0.001, Lo, Same),
        // wholly above +2 % and significant
        (1.05, 1.10, 0.01, Hi, Faster),
        (1.05, 1.10, 0.01, Lo, Slower),
        // wholly below −2 % and significant
        (0.90, 0.95, 0.01, Hi, Slower),
        (0.90, 0.95, 0.01, Lo, Faster),
        // outside but not significant
        (1.05, 1.10, 0.05, Hi, Inconclusive),
        (0.90, 0.95, 0.2, Lo, Inconclusive),
        // significant but straddling the band edge
        (1.01, 1.10, 0.001, Hi, Inconclusive),
        (0.95, 0.99, 0.001, Lo, Inconclusive),
        // wider than the band on both sides
        (0.90, 1.10, 0.5, Hi, Inconclusive),
        // NaN p never counts as significant
        (1.05, 1.10, f64::NAN, Hi, Inconclusive),
    ];
    for (lo, hi, p, dir, want) in table {
        assert_eq!(
            verdict(&est(lo, hi), p, dir, noise, alpha),
            want,
            "[{lo}, {hi}] p={p} {dir:?}"
        );
    }
}

#[test]
fn a_clear_shift_is_detected_in_both_directions() {
    let opts = CompareOptions::default();
    let base = one_run(latencies(200, 100.0, 5));
    let slower = one_run(latencies(200, 115.0, 6));
    let row = compare(
        &base,
        &slower,
        Statistic::Median,
        Direction::LowerIsBetter,
        &opts,
    )
    .unwrap()
    .unwrap();
    assert_eq!(row.verdict, Verdict::Slower, "{row:?}");
    let row = compare(
        &base,
        &slower,
        Statistic::Median,
        Direction::HigherIsBetter,
        &opts,
    )
    .unwrap()
    .unwrap();
    assert_eq!(row.verdict, Verdict::Faster, "{row:?}");
    assert_eq!((row.n_base, row.n_new), (200, 200));
}

#[test]
fn a_a_comparisons_rarely_claim_a_change() {
    // 20 pairs of samples from the same distribution: at α = 0.05 and with
    // the ±2 % band, at most one pair may be called faster or slower.
    let opts = CompareOptions::default();
    let mut changed = 0;
    for pair in 0..20u64 {
        let base = one_run(latencies(100, 80.0, 1000 + 2 * pair));
        let new = one_run(latencies(100, 80.0, 1001 + 2 * pair));
        let row = compare(
            &base,
            &new,
            Statistic::Median,
            Direction::LowerIsBetter,
            &opts,
        )
        .unwrap()
        .unwrap();
        if matches!(row.verdict, Verdict::Faster | Verdict::Slower) {
            changed += 1;
        }
    }
    assert!(changed <= 1, "{changed} of 20 A/A pairs claimed a change");
}

#[test]
fn mde_shrinks_with_more_data() {
    let opts = CompareOptions::default();
    let mde = |n: usize| {
        let base = one_run(latencies(n, 100.0, 7));
        let new = one_run(latencies(n, 100.0, 8));
        let e = ratio_ci(&base, &new, Statistic::Median, &opts)
            .unwrap()
            .unwrap();
        min_detectable_effect(&e)
    };
    let (small, mid, large) = (mde(20), mde(200), mde(2000));
    assert!(small > mid && mid > large, "{small} {mid} {large}");
    // Roughly 1/√n: 100× the data should cut the MDE by well over 3×.
    assert!(small > 3.0 * large, "{small} vs {large}");
}

#[test]
fn mde_definition() {
    // max(1.10/1.05, 1.05/1.00) − 1 = 0.05
    let e = RatioEstimate {
        ratio: 1.05,
        lo: 1.0,
        hi: 1.10,
        level: 0.95,
    };
    assert!((min_detectable_effect(&e) - 0.05).abs() < 1e-12);
    assert_eq!(min_detectable_effect(&est(0.0, 1.0)), f64::INFINITY);
}

#[test]
fn few_requests_are_never_judged() {
    // Five requests a side, clearly apart: interval wholly above the band and
    // p = 0.012 (U = 25, z = 12/4.787), but below min_samples = 10.
    let base = one_run(vec![10.0, 10.1, 10.2, 10.3, 10.4]);
    let new = one_run(vec![20.0, 20.1, 20.2, 20.3, 20.4]);
    let opts = CompareOptions::default();
    let row = compare(
        &base,
        &new,
        Statistic::Median,
        Direction::LowerIsBetter,
        &opts,
    )
    .unwrap()
    .unwrap();
    assert!(row.p_value < 0.05 && row.estimate.lo > 1.02, "{row:?}");
    assert_eq!(row.verdict, Verdict::Inconclusive);
    let lenient = CompareOptions {
        min_samples: 5,
        ..opts
    };
    let row = compare(
        &base,
        &new,
        Statistic::Median,
        Direction::LowerIsBetter,
        &lenient,
    )
    .unwrap()
    .unwrap();
    assert_eq!(row.verdict, Verdict::Slower);
    // Three identical requests a side: not `Same`, however tight.
    let three = one_run(vec![5.0; 3]);
    let row = compare(
        &three,
        &three,
        Statistic::Median,
        Direction::LowerIsBetter,
        &opts,
    )
    .unwrap()
    .unwrap();
    assert_eq!(row.verdict, Verdict::Inconclusive);
}

#[test]
fn holm_across_a_table_can_revoke_a_verdict() {
    // Three metrics, each wholly above the band with raw p = 0.03: alone
    // each is `Faster`; Holm makes every adjusted p 3 × 0.03 = 0.09.
    let opts = CompareOptions::default();
    let row = MetricComparison {
        statistic: Statistic::Median,
        direction: Direction::HigherIsBetter,
        estimate: est(1.05, 1.15),
        p_value: 0.03,
        p_adjusted: 0.03,
        verdict: Verdict::Faster,
        mde: 0.05,
        n_base: 50,
        n_new: 50,
    };
    let mut rows = [row; 3];
    rows[2].p_value = 0.001;
    adjust_and_judge(&mut rows, &opts);
    // Sorted: 0.001 × 3 = 0.003, 0.03 × 2 = 0.06, 0.03 × 1 → 0.06.
    assert!((rows[2].p_adjusted - 0.003).abs() < 1e-15);
    assert!((rows[0].p_adjusted - 0.06).abs() < 1e-15);
    assert_eq!(rows[2].verdict, Verdict::Faster);
    assert_eq!(rows[0].verdict, Verdict::Inconclusive);
    assert_eq!(rows[1].verdict, Verdict::Inconclusive);
}

#[test]
fn a_capped_bootstrap_keeps_the_ratio_and_only_widens_the_interval() {
    // 60,000 values per side in three runs; the true p99 ratio is 1.1.
    let side = |scale: f64| -> Vec<Vec<f64>> {
        (0..3)
            .map(|r| {
                (0..20_000)
                    .map(|i| scale * (1.0 + f64::from((i * 7919 + r * 31) % 20_000) / 1000.0))
                    .collect()
            })
            .collect()
    };
    let (base, new) = (side(1.0), side(1.1));
    let full = CompareOptions {
        max_bootstrap_values: 1_000_000,
        resamples: 300,
        ..CompareOptions::default()
    };
    let capped = CompareOptions {
        max_bootstrap_values: 2_000,
        ..full
    };
    let stat = Statistic::Quantile(0.99);
    let a = ratio_ci(&base, &new, stat, &full).unwrap().unwrap();
    let b = ratio_ci(&base, &new, stat, &capped).unwrap().unwrap();
    assert_eq!(a.ratio, b.ratio, "the point estimate uses every value");
    assert!(b.hi - b.lo > a.hi - a.lo, "capped {b:?} vs full {a:?}");
    assert!(b.lo <= 1.1 && 1.1 <= b.hi, "{b:?}");
    let zero = CompareOptions {
        max_bootstrap_values: 0,
        ..full
    };
    assert!(ratio_ci(&base, &new, stat, &zero).is_err());
}
