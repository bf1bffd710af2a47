//! The one quantile definition used everywhere in tokbench.
//!
//! tokbench uses **Hyndman & Fan type 7**: linear interpolation between the
//! two closest order statistics (R. J. Hyndman and Y. Fan, "Sample Quantiles
//! in Statistical Packages", *The American Statistician* 50(4), 1996,
//! pp. 361–365). It is the default of R's `quantile()` and of NumPy's
//! `numpy.quantile` (`method="linear"`), so reported percentiles can be
//! cross-checked with either tool.
//!
//! For a sorted sample `x[0] ≤ … ≤ x[n−1]` and probability `q ∈ [0, 1]`:
//!
//! ```text
//! h = (n − 1)·q,   i = ⌊h⌋,   Q(q) = x[i] + (h − i)·(x[min(i+1, n−1)] − x[i])
//! ```
//!
//! so `Q(0) = min`, `Q(1) = max`, and for `n = 1` every quantile is the
//! single value.

use crate::error::StatsError;

/// Type 7 quantile of an ascending-sorted slice.
///
/// * `sorted`: the sample, sorted ascending, no NaN (±∞ is accepted but then
///   interpolation may yield NaN; [`crate::Summary`] never passes it).
/// * `q`: probability in `[0, 1]` (0.5 = median, 0.99 = p99).
///
/// Returns `Ok(None)` for an empty slice and `Ok(Some(x))` otherwise, with
/// `x` in the units of the sample.
///
/// # Errors
///
/// * [`StatsError::InvalidProbability`] when `q` is outside `[0, 1]` or NaN.
/// * [`StatsError::NotSorted`] when `sorted` is not ascending or holds NaN
///   (checked in O(n)).
///
/// Formula: Hyndman & Fan (1996), definition 7; see the [module docs](self).
pub fn quantile_sorted(sorted: &[f64], q: f64) -> Result<Option<f64>, StatsError> {
    if !(0.0..=1.0).contains(&q) {
        return Err(StatsError::InvalidProbability(q));
    }
    if !sorted.is_sorted_by(|a, b| a <= b) {
        return Err(StatsError::NotSorted);
    }
    Ok(type7(sorted, q))
}

/// Unchecked type 7 quantile: the caller guarantees `sorted` is ascending
/// without NaN and `q ∈ [0, 1]`. `None` only for an empty slice.
pub(crate) fn type7(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let h = last as f64 * q;
    let floor = h.floor();
    let frac = h - floor;
    // `floor` is within [0, last] for q in [0, 1]; `min` guards rounding.
    let i = (floor as usize).min(last);
    let j = (i + 1).min(last);
    let lo = *sorted.get(i)?;
    let hi = *sorted.get(j)?;
    if frac == 0.0 {
        return Some(lo);
    }
    Some(lo + frac * (hi - lo))
}

/// Median of `buf` in expected O(n) via `select_nth_unstable`, reordering
/// `buf`. Identical (bit for bit) to [`type7`] at `q = 0.5` on the sorted
/// values: the middle value for odd `n`, and `lo + 0.5·(hi − lo)` of the two
/// middle values for even `n`. `None` for an empty slice. NaN must not be
/// present (values are ordered by `f64::total_cmp`).
pub(crate) fn median_in_place(buf: &mut [f64]) -> Option<f64> {
    let n = buf.len();
    if n == 0 {
        return None;
    }
    let mid = n / 2;
    let (lower, upper_mid, _) = buf.select_nth_unstable_by(mid, f64::total_cmp);
    let hi = *upper_mid;
    if n % 2 == 1 {
        return Some(hi);
    }
    let lo = lower.iter().copied().max_by(f64::total_cmp)?;
    Some(lo + 0.5 * (hi - lo))
}

/// Type 7 quantile of `buf` at `q ∈ [0, 1]` in expected O(n) via
/// `select_nth_unstable`, reordering `buf`: the same value (bit for bit)
/// as [`type7`] on the sorted values, which it reads as the order
/// statistics `i = ⌊(n − 1)q⌋` and `i + 1`. `None` for an empty slice. NaN
/// must not be present.
pub(crate) fn quantile_in_place(buf: &mut [f64], q: f64) -> Option<f64> {
    let last = buf.len().checked_sub(1)?;
    let h = last as f64 * q;
    let floor = h.floor();
    let frac = h - floor;
    let i = (floor as usize).min(last);
    let (_, lo, upper) = buf.select_nth_unstable_by(i, f64::total_cmp);
    let lo = *lo;
    if frac == 0.0 || upper.is_empty() {
        return Some(lo);
    }
    let hi = upper.iter().copied().min_by(f64::total_cmp)?;
    Some(lo + frac * (hi - lo))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn selection_quantile_equals_the_sorted_one(
            mut xs in proptest::collection::vec(-1e6f64..1e6, 1..200),
            q in 0.0f64..=1.0,
        ) {
            let mut sorted = xs.clone();
            sorted.sort_by(f64::total_cmp);
            let want = type7(&sorted, q);
            prop_assert_eq!(quantile_in_place(&mut xs, q), want);
        }
    }

    fn q(xs: &[f64], p: f64) -> f64 {
        quantile_sorted(xs, p).unwrap().unwrap()
    }

    #[test]
    fn empty_is_none() {
        assert_eq!(quantile_sorted(&[], 0.5), Ok(None));
    }

    #[test]
    fn single_value_for_every_q() {
        for p in [0.0, 0.1, 0.5, 0.99, 1.0] {
            assert_eq!(q(&[7.5], p), 7.5);
        }
    }

    #[test]
    fn known_answers_four_values() {
        let xs = [1.0, 2.0, 3.0, 4.0];
        // h = 3·0.5 = 1.5 → x[1] + 0.5·(x[2] − x[1]) = 2 + 0.5 = 2.5
        assert_eq!(q(&xs, 0.5), 2.5);
        // h = 3·0.25 = 0.75 → 1 + 0.75·1 = 1.75 (numpy.quantile gives 1.75)
        assert_eq!(q(&xs, 0.25), 1.75);
        // h = 3·0.9 = 2.7 → 3 + 0.7·1 = 3.7
        assert!((q(&xs, 0.9) - 3.7).abs() < 1e-12);
        assert_eq!(q(&xs, 0.0), 1.0);
        assert_eq!(q(&xs, 1.0), 4.0);
    }

    #[test]
    fn known_answers_five_values() {
        let xs = [10.0, 20.0, 30.0, 40.0, 50.0];
        // h = 4·0.5 = 2 exactly → x[2] = 30, no interpolation
        assert_eq!(q(&xs, 0.5), 30.0);
        // h = 4·0.99 = 3.96 → 40 + 0.96·10 = 49.6
        assert!((q(&xs, 0.99) - 49.6).abs() < 1e-9);
        // h = 4·0.9 = 3.6 → 40 + 0.6·10 = 46
        assert!((q(&xs, 0.9) - 46.0).abs() < 1e-9);
    }

    #[test]
    fn rejects_bad_probability_and_unsorted_input() {
        assert_eq!(
            quantile_sorted(&[1.0], 1.5),
            Err(StatsError::InvalidProbability(1.5))
        );
        assert_eq!(
            quantile_sorted(&[1.0], -0.1),
            Err(StatsError::InvalidProbability(-0.1))
        );
        assert!(matches!(
            quantile_sorted(&[1.0], f64::NAN),
            Err(StatsError::InvalidProbability(_))
        ));
        assert_eq!(
            quantile_sorted(&[2.0, 1.0], 0.5),
            Err(StatsError::NotSorted)
        );
        assert_eq!(
            quantile_sorted(&[1.0, f64::NAN], 0.5),
            Err(StatsError::NotSorted)
        );
    }

    #[test]
    fn median_in_place_known_answers() {
        // odd: sorted [1, 2, 9] → 2
        assert_eq!(median_in_place(&mut [9.0, 1.0, 2.0]), Some(2.0));
        // even: sorted [1, 2, 4, 9] → 2 + 0.5·(4 − 2) = 3
        assert_eq!(median_in_place(&mut [9.0, 4.0, 1.0, 2.0]), Some(3.0));
        assert_eq!(median_in_place(&mut []), None);
    }

    proptest! {
        #[test]
        fn monotone_in_q_and_within_range(
            mut xs in prop::collection::vec(-1e6f64..1e6, 1..60),
            a in 0.0f64..=1.0,
            b in 0.0f64..=1.0,
        ) {
            xs.sort_by(f64::total_cmp);
            let (lo_q, hi_q) = if a <= b { (a, b) } else { (b, a) };
            let lo = q(&xs, lo_q);
            let hi = q(&xs, hi_q);
            prop_assert!(lo <= hi, "Q({lo_q})={lo} > Q({hi_q})={hi}");
            prop_assert!(lo >= xs[0] && hi <= xs[xs.len() - 1]);
        }

        #[test]
        fn select_median_equals_type7(xs in prop::collection::vec(-1e6f64..1e6, 1..60)) {
            let mut sorted = xs.clone();
            sorted.sort_by(f64::total_cmp);
            let mut buf = xs;
            prop_assert_eq!(median_in_place(&mut buf), type7(&sorted, 0.5));
        }
    }
}
