//! E-divisive change points (`tokbench history`): steps are found where
//! they are, flat noisy histories give none.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokbench_stats::{e_divisive, ChangePointOptions, StatsError};

/// A history made of `(len, level)` segments plus noise ≈ N(0, sd²)
/// (Irwin–Hall: 12 uniforms minus 6), seeded.
fn history(segments: &[(usize, f64)], sd: f64, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    segments
        .iter()
        .flat_map(|&(len, level)| std::iter::repeat_n(level, len))
        .map(|level| {
            let z: f64 = (0..12).map(|_| rng.random::<f64>()).sum::<f64>() - 6.0;
            level + sd * z
        })
        .collect()
}

fn near(found: usize, want: usize) -> bool {
    found.abs_diff(want) <= 1
}

#[test]
fn one_step_is_found_at_its_index() {
    let opts = ChangePointOptions::default();
    for seed in 0..5 {
        let series = history(&[(30, 100.0), (30, 120.0)], 4.0, seed);
        let cps = e_divisive(&series, &opts).unwrap();
        assert_eq!(cps.len(), 1, "seed {seed}: {cps:?}");
        assert!(near(cps[0], 30), "seed {seed}: {cps:?}");
    }
}

#[test]
fn two_steps_are_both_found() {
    // Every history must show both steps; each further test runs at the
    // 5 % level, so an extra (false) change point is allowed in at most one
    // of ten histories.
    let opts = ChangePointOptions::default();
    let mut exact = 0;
    for seed in 0..10 {
        let series = history(&[(30, 100.0), (30, 120.0), (30, 90.0)], 4.0, seed);
        let cps = e_divisive(&series, &opts).unwrap();
        assert!(cps.iter().any(|&c| near(c, 30)), "seed {seed}: {cps:?}");
        assert!(cps.iter().any(|&c| near(c, 60)), "seed {seed}: {cps:?}");
        exact += usize::from(cps.len() == 2);
    }
    assert!(exact >= 9, "only {exact} of 10 histories gave exactly two");
}

#[test]
fn flat_noisy_history_has_no_change_point() {
    let opts = ChangePointOptions::default();
    let series = history(&[(60, 100.0)], 4.0, 21);
    assert_eq!(e_divisive(&series, &opts).unwrap(), Vec::<usize>::new());
    // Across ten flat histories the test's 5 % level allows a rare false
    // alarm, not a habit.
    let alarms = (100..110)
        .filter(|&seed| {
            let s = history(&[(60, 100.0)], 4.0, seed);
            !e_divisive(&s, &opts).unwrap().is_empty()
        })
        .count();
    assert!(
        alarms <= 1,
        "{alarms} of 10 flat histories had a change point"
    );
}

#[test]
fn constant_and_short_series_have_none() {
    let opts = ChangePointOptions::default();
    assert!(e_divisive(&[7.0; 40], &opts).unwrap().is_empty());
    assert!(e_divisive(&[], &opts).unwrap().is_empty());
    // Shorter than 2·min_size = 10: no split is allowed.
    let short = [1.0, 1.0, 1.0, 1.0, 9.0, 9.0, 9.0, 9.0, 9.0];
    assert!(e_divisive(&short, &opts).unwrap().is_empty());
}

#[test]
fn min_size_bounds_the_change_points() {
    // A step 3 points from the end cannot be reported with min_size 5.
    let mut series = history(&[(40, 100.0)], 1.0, 3);
    series.extend([150.0, 150.0, 150.0]);
    let cps = e_divisive(&series, &ChangePointOptions::default()).unwrap();
    assert!(cps.iter().all(|&c| (5..=series.len() - 5).contains(&c)));
}

#[test]
fn deterministic_for_a_seed() {
    let series = history(&[(25, 50.0), (25, 55.0)], 3.0, 4);
    let opts = ChangePointOptions::default();
    assert_eq!(
        e_divisive(&series, &opts).unwrap(),
        e_divisive(&series, &opts).unwrap()
    );
}

#[test]
fn rejects_invalid_input() {
    let opts = ChangePointOptions::default();
    assert_eq!(
        e_divisive(&[1.0, f64::NAN], &opts),
        Err(StatsError::NonFinite { index: 1 })
    );
    assert_eq!(
        e_divisive(
            &[1.0],
            &ChangePointOptions {
                permutations: 0,
                ..opts
            }
        ),
        Err(StatsError::ZeroPermutations)
    );
    assert_eq!(
        e_divisive(
            &[1.0],
            &ChangePointOptions {
                alpha_sig: 1.0,
                ..opts
            }
        ),
        Err(StatsError::InvalidAlpha(1.0))
    );
}
