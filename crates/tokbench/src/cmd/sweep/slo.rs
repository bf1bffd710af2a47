//! Service-level objectives a sweep's winner must meet:
//! `--slo ttft_ms.p99<=2000`, `--slo decode_tok_s.p50>=20`. Each applies to
//! every cell the sweep measures (each objective's shape and concurrency),
//! over the configuration's requests pooled across rounds; a configuration
//! that misses one is shown with the miss and can never win. A run-level
//! metric (`backend_peak_rss_bytes`, `gpu_peak_memory_bytes`) has one value
//! per round, which makes `--slo backend_peak_rss_bytes.max<=4e9` a memory
//! ceiling.
//! Definitions: `docs/methodology.md#racing`.

use std::str::FromStr;

use tokbench_compare::Quantity;
use tokbench_stats::quantile_sorted;

/// Which statistic of the pooled per-request values an SLO bounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SloStat {
    /// A quantile in (0, 1) (`p50`, `p90`, `p95`, `p99`, `p99.9`), by
    /// `tokbench_stats::quantile_sorted` (linear interpolation, type 7).
    Quantile(f64),
    /// The arithmetic mean.
    Mean,
    /// The largest value.
    Max,
}

/// `METRIC.STAT<=VALUE` or `METRIC.STAT>=VALUE`.
#[derive(Debug, Clone, PartialEq)]
pub struct Slo {
    /// The per-request metric.
    pub quantity: Quantity,
    /// The statistic bounded.
    pub stat: SloStat,
    /// `true` for `<=` (at most), `false` for `>=` (at least).
    pub at_most: bool,
    /// The bound, in the metric's unit.
    pub bound: f64,
    /// The text as given.
    pub text: String,
}

impl FromStr for Slo {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (lhs, rhs, at_most) = if let Some((l, r)) = s.split_once("<=") {
            (l, r, true)
        } else if let Some((l, r)) = s.split_once(">=") {
            (l, r, false)
        } else {
            return Err(format!(
                "{s:?}: expected METRIC.STAT<=VALUE or METRIC.STAT>=VALUE"
            ));
        };
        let (metric, stat) = lhs
            .trim()
            .split_once('.')
            .ok_or_else(|| format!("{s:?}: expected METRIC.STAT, e.g. ttft_ms.p99"))?;
        let quantity = Quantity::from_str(metric).map_err(|e| format!("{s:?}: {e}"))?;
        if quantity == Quantity::GoodputRps {
            return Err(format!(
                "{s:?}: goodput_rps needs per-request SLOs (`tokbench run --slo`), which a \
                 sweep does not set; bound ttft_ms, tpot_ms or e2e_ms quantiles instead"
            ));
        }
        let bound: f64 = rhs
            .trim()
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| format!("{s:?}: {:?} is not a number", rhs.trim()))?;
        Ok(Self {
            quantity,
            stat: parse_stat(stat).ok_or_else(|| {
                format!("{s:?}: statistic {stat:?} is none of p50, p90, p95, p99, p99.9, mean, max")
            })?,
            at_most,
            bound,
            text: s.trim().to_owned(),
        })
    }
}

fn parse_stat(s: &str) -> Option<SloStat> {
    match s {
        "mean" => Some(SloStat::Mean),
        "max" => Some(SloStat::Max),
        "median" => Some(SloStat::Quantile(0.5)),
        _ => {
            let p: f64 = s.strip_prefix('p')?.parse().ok()?;
            (p > 0.0 && p < 100.0).then_some(SloStat::Quantile(p / 100.0))
        }
    }
}

impl Slo {
    /// The statistic of `values` (any order); `None` when empty.
    pub fn value(&self, values: &[f64]) -> Option<f64> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        match self.stat {
            SloStat::Quantile(q) => quantile_sorted(&v, q).ok().flatten(),
            SloStat::Mean => Some(v.iter().sum::<f64>() / v.len() as f64),
            SloStat::Max => v.last().copied(),
        }
    }

    /// The miss, as shown (`ttft_ms.p99 = 2345.1 > 2000 on chat@1`), when
    /// `values` miss the bound; `None` when they meet it or are empty.
    pub fn miss(&self, values: &[f64], cell: &str) -> Option<String> {
        let v = self.value(values)?;
        let met = if self.at_most {
            v <= self.bound
        } else {
            v >= self.bound
        };
        let (lhs, op) = self
            .text
            .split_once(if self.at_most { "<=" } else { ">=" })
            .map_or((self.text.as_str(), ""), |(l, _)| {
                (l.trim(), if self.at_most { ">" } else { "<" })
            });
        (!met).then(|| format!("{lhs} = {v:.1} {op} {} on {cell}", self.bound))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn slos_parse_and_name_the_bad_part() {
        let s: Slo = "ttft_ms.p99<=2000".parse().unwrap();
        assert_eq!(s.quantity, Quantity::TtftMs);
        assert_eq!(s.stat, SloStat::Quantile(0.99));
        assert!(s.at_most);
        assert_eq!(s.bound, 2000.0);
        let s: Slo = "decode_tok_s.mean>=20".parse().unwrap();
        assert!(!s.at_most);
        for (bad, says) in [
            ("ttft_ms.p99", "expected METRIC.STAT<=VALUE"),
            ("ttft_ms<=5", "expected METRIC.STAT"),
            ("speed.p50<=5", "speed"),
            ("ttft_ms.p100<=5", "statistic \"p100\""),
            ("ttft_ms.p99<=fast", "\"fast\" is not a number"),
            ("goodput_rps.p50>=1", "needs per-request SLOs"),
        ] {
            let e = bad.parse::<Slo>().unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn a_miss_is_reported_with_its_value_and_cell() {
        let s: Slo = "ttft_ms.max<=100".parse().unwrap();
        assert_eq!(s.miss(&[50.0, 90.0, 100.0], "chat@1"), None);
        assert_eq!(
            s.miss(&[50.0, 120.0], "chat@1").unwrap(),
            "ttft_ms.max = 120.0 > 100 on chat@1"
        );
        let s: Slo = "decode_tok_s.p50>=20".parse().unwrap();
        // Median of 10, 20, 30 is 20: met.
        assert_eq!(s.miss(&[30.0, 10.0, 20.0], "chat@1"), None);
        assert_eq!(
            s.miss(&[10.0, 12.0, 30.0], "chat@1").unwrap(),
            "decode_tok_s.p50 = 12.0 < 20 on chat@1"
        );
        assert_eq!(s.miss(&[], "chat@1"), None);
        let mean: Slo = "e2e_ms.mean<=2".parse().unwrap();
        assert_eq!(mean.value(&[1.0, 2.0, 6.0]), Some(3.0));
    }
}
