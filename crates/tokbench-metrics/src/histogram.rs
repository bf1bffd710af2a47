//! Histogram increases over a window and quantiles estimated from buckets.
//!
//! [`bucket_quantile`] follows Prometheus' `histogram_quantile()`
//! (<https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile>,
//! `bucketQuantile` in `promql/quantile.go`): find the bucket holding the
//! rank `q × count` and interpolate linearly inside it, assuming the
//! observations are spread evenly over the bucket. The estimate is therefore
//! only as fine as the server's bucket bounds.

use serde::Serialize;

use crate::snapshot::Bucket;

/// A histogram's increase over the window, with estimates from it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistogramDelta {
    /// Observations made in the window.
    pub count: f64,
    /// Sum of those observations, in the metric's unit (seconds for latencies).
    pub sum: f64,
    /// `sum / count`; `None` when no observation was made or `_sum` is missing.
    pub mean: Option<f64>,
    /// Median estimated from the bucket increases ([`bucket_quantile`]).
    pub p50: Option<f64>,
    /// 90th percentile, same estimate.
    pub p90: Option<f64>,
    /// 99th percentile, same estimate.
    pub p99: Option<f64>,
    /// Cumulative bucket increases, sorted by `le` (empty for a summary).
    pub buckets: Vec<Bucket>,
}

impl HistogramDelta {
    /// The summary of increases `count`, `sum` and cumulative `buckets`.
    pub fn from_increase(count: f64, sum: f64, buckets: Vec<Bucket>) -> Self {
        let mean = (count > 0.0 && sum.is_finite()).then(|| sum / count);
        Self {
            count,
            sum,
            mean,
            p50: bucket_quantile(0.5, &buckets),
            p90: bucket_quantile(0.9, &buckets),
            p99: bucket_quantile(0.99, &buckets),
            buckets,
        }
    }
}

/// Whether two bucket lists have the same bounds, in the same order.
pub(crate) fn same_bounds(a: &[Bucket], b: &[Bucket]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.le == y.le)
}

/// Per-bucket `cur − prev` (both cumulative, same bounds).
pub(crate) fn bucket_diff(cur: &[Bucket], prev: &[Bucket]) -> Vec<Bucket> {
    cur.iter()
        .zip(prev)
        .map(|(c, p)| Bucket {
            le: c.le,
            count: c.count - p.count,
        })
        .collect()
}

/// Per-bucket `a + b` (same bounds).
pub(crate) fn bucket_add(a: &[Bucket], b: &[Bucket]) -> Vec<Bucket> {
    a.iter()
        .zip(b)
        .map(|(x, y)| Bucket {
            le: x.le,
            count: x.count + y.count,
        })
        .collect()
}

/// The `q`-quantile (0 ≤ q ≤ 1) of cumulative `buckets` sorted by `le`, as
/// Prometheus' `histogram_quantile()` computes it.
///
/// Returns `None` where Prometheus returns NaN: `q` outside 0..1 or NaN,
/// fewer than two buckets, no `+Inf` bucket last, or no observation. When
/// the rank falls in the `+Inf` bucket the highest finite bound is returned;
/// in the first bucket the lower edge is 0 (or the bound itself if it is
/// ≤ 0). Bucket counts that decrease (floating-point noise) are raised to
/// stay monotonic, as Prometheus does.
pub fn bucket_quantile(q: f64, buckets: &[Bucket]) -> Option<f64> {
    if !(0.0..=1.0).contains(&q) || buckets.len() < 2 {
        return None;
    }
    if buckets.last().map(|b| b.le) != Some(f64::INFINITY) {
        return None;
    }
    let mut counts: Vec<f64> = buckets.iter().map(|b| b.count).collect();
    for i in 1..counts.len() {
        if counts[i] < counts[i - 1] {
            counts[i] = counts[i - 1];
        }
    }
    let total = *counts.last()?;
    if total.is_nan() || total <= 0.0 {
        return None;
    }
    let mut rank = q * total;
    let b = counts.iter().position(|&c| c >= rank)?;
    let last = buckets.len() - 1;
    if b == last {
        return Some(buckets[last - 1].le);
    }
    if b == 0 && buckets[0].le <= 0.0 {
        return Some(buckets[0].le);
    }
    let (start, mut count) = if b == 0 {
        (0.0, counts[0])
    } else {
        rank -= counts[b - 1];
        (buckets[b - 1].le, counts[b] - counts[b - 1])
    };
    if count <= 0.0 {
        count = 1.0;
    }
    Some(start + (buckets[b].le - start) * (rank / count))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bk(pairs: &[(f64, f64)]) -> Vec<Bucket> {
        pairs
            .iter()
            .map(|&(le, count)| Bucket { le, count })
            .collect()
    }

    #[test]
    fn interpolates_inside_the_bucket() {
        // 10 observations in (0, 1], 10 in (1, 2]. Median rank 10 lands at
        // the top of the first bucket: 1.0. p75: rank 15 is half-way into
        // (1, 2] => 1.5.
        let b = bk(&[(1.0, 10.0), (2.0, 20.0), (f64::INFINITY, 20.0)]);
        assert_eq!(bucket_quantile(0.5, &b), Some(1.0));
        assert_eq!(bucket_quantile(0.75, &b), Some(1.5));
        // First bucket starts at 0: p25, rank 5 of 10 in (0, 1] => 0.5.
        assert_eq!(bucket_quantile(0.25, &b), Some(0.5));
    }

    #[test]
    fn rank_in_inf_bucket_gives_highest_finite_bound() {
        let b = bk(&[(1.0, 1.0), (2.0, 2.0), (f64::INFINITY, 10.0)]);
        assert_eq!(bucket_quantile(0.99, &b), Some(2.0));
    }

    #[test]
    fn no_observation_or_no_inf_bucket_is_none() {
        let empty = bk(&[(1.0, 0.0), (f64::INFINITY, 0.0)]);
        assert_eq!(bucket_quantile(0.5, &empty), None);
        let no_inf = bk(&[(1.0, 1.0), (2.0, 2.0)]);
        assert_eq!(bucket_quantile(0.5, &no_inf), None);
        let ok = bk(&[(1.0, 1.0), (f64::INFINITY, 2.0)]);
        assert_eq!(bucket_quantile(1.5, &ok), None);
    }

    #[test]
    fn mean_needs_observations() {
        let d = HistogramDelta::from_increase(0.0, 0.0, Vec::new());
        assert_eq!(d.mean, None);
        let d = HistogramDelta::from_increase(4.0, 2.0, Vec::new());
        assert_eq!(d.mean, Some(0.5));
    }
}
