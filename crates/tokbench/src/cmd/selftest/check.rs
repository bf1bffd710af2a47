//! `tokbench selftest --check`: the client's fidelity bars and the exit code.
//!
//! Bars, each on the median of a row (the truth is the schedule selftest
//! gives the emulator):
//!
//! | Row | Bar |
//! |---|---|
//! | fidelity, concurrency ≤ 64 | \|TTFT error\| ≤ 2 ms; \|decode error\| ≤ 1% |
//! | fidelity, concurrency > 64 | \|decode error\| ≤ 2% (TTFT is reported, not barred) |
//! | coalescing (concurrency 1) | \|decode error\| ≤ 1% |
//! | every row | every measured request succeeded |
//!
//! The ceiling search is a measurement, not a bar. A figure that could not
//! be measured (no successful request) misses its bar.

use serde::Serialize;

use super::report::SelftestReport;

/// Exit code of `tokbench selftest --check` when at least one bar is
/// missed (0 when all are met; 1 stays a runtime failure, 2 a usage error).
pub const EXIT_BAR_MISSED: u8 = 5;

/// Largest |median TTFT − truth| at concurrency ≤ [`HIGH_CONCURRENCY`], ms.
pub const TTFT_BAR_MS: f64 = 2.0;

/// Largest |median decode error| at concurrency ≤ [`HIGH_CONCURRENCY`],
/// percent.
pub const DECODE_BAR_PCT: f64 = 1.0;

/// Largest |median decode error| above [`HIGH_CONCURRENCY`], percent.
pub const DECODE_BAR_HIGH_PCT: f64 = 2.0;

/// Concurrency above which the looser decode bar applies and TTFT is not
/// barred.
pub const HIGH_CONCURRENCY: usize = 64;

/// What a bar limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BarMetric {
    /// |median TTFT − truth|, ms.
    TtftMs,
    /// |median decode tok/s − truth| / truth, percent.
    DecodePct,
    /// Failed measured requests (limit 0).
    FailedRequests,
}

impl BarMetric {
    /// Name and unit as printed: `("TTFT", "ms")`.
    fn label(self) -> (&'static str, &'static str) {
        match self {
            BarMetric::TtftMs => ("TTFT", " ms"),
            BarMetric::DecodePct => ("decode", "%"),
            BarMetric::FailedRequests => ("failed requests", ""),
        }
    }
}

/// One bar and how the run did against it.
#[derive(Debug, Clone, Serialize)]
pub struct BarCheck {
    /// The row's check: `"fidelity"` or `"coalescing"`.
    pub check: &'static str,
    /// The row's concurrency.
    pub concurrency: usize,
    /// What is limited.
    pub metric: BarMetric,
    /// The measured value: a signed error (ms or percent), or a count of
    /// failed requests; NaN when it could not be measured.
    pub measured: f64,
    /// The largest allowed magnitude, in the metric's unit.
    pub limit: f64,
    /// `|measured| <= limit` (false for NaN).
    pub pass: bool,
}

impl BarCheck {
    fn new(
        check: &'static str,
        concurrency: usize,
        metric: BarMetric,
        measured: f64,
        limit: f64,
    ) -> Self {
        BarCheck {
            check,
            concurrency,
            metric,
            measured,
            limit,
            pass: measured.abs() <= limit,
        }
    }

    /// One line, e.g. `TTFT at c=1 (fidelity): +20.31 ms, bar ±2 ms`.
    pub fn describe(&self) -> String {
        let (name, unit) = self.metric.label();
        let value = match self.metric {
            BarMetric::FailedRequests => format!("{}", self.measured),
            _ => format!("{:+.2}{unit}", self.measured),
        };
        let bar = match self.metric {
            BarMetric::FailedRequests => "bar 0".to_owned(),
            _ => format!("bar ±{}{unit}", self.limit),
        };
        format!(
            "{name} at c={} ({}): {value}, {bar}",
            self.concurrency, self.check
        )
    }
}

/// Every bar of `report`, fidelity rows first, in row order.
pub fn evaluate(report: &SelftestReport) -> Vec<BarCheck> {
    let mut bars = Vec::new();
    for row in &report.fidelity {
        let c = row.concurrency;
        if c <= HIGH_CONCURRENCY {
            bars.push(BarCheck::new(
                "fidelity",
                c,
                BarMetric::TtftMs,
                row.ttft_error_ms,
                TTFT_BAR_MS,
            ));
        }
        let decode_limit = if c <= HIGH_CONCURRENCY {
            DECODE_BAR_PCT
        } else {
            DECODE_BAR_HIGH_PCT
        };
        bars.push(BarCheck::new(
            "fidelity",
            c,
            BarMetric::DecodePct,
            row.decode_error_pct,
            decode_limit,
        ));
        bars.push(failed_bar("fidelity", c, row.requests, row.ok));
    }
    if let Some(row) = &report.coalescing {
        let c = row.concurrency;
        bars.push(BarCheck::new(
            "coalescing",
            c,
            BarMetric::DecodePct,
            row.decode_error_pct,
            DECODE_BAR_PCT,
        ));
        bars.push(failed_bar("coalescing", c, row.requests, row.ok));
    }
    bars
}

/// The bar on failed requests: none may fail, and some must have run.
fn failed_bar(check: &'static str, c: usize, requests: u64, ok: u64) -> BarCheck {
    let failed = if requests == 0 {
        f64::NAN
    } else {
        requests.saturating_sub(ok) as f64
    };
    BarCheck::new(check, c, BarMetric::FailedRequests, failed, 0.0)
}

/// The bars missed, one line each (empty when all were met).
pub fn missed(bars: &[BarCheck]) -> Vec<String> {
    bars.iter()
        .filter(|b| !b.pass)
        .map(BarCheck::describe)
        .collect()
}

/// The check's verdict as text: `check: all N bars met` or one `missed:`
/// line per missed bar.
pub fn render(bars: &[BarCheck]) -> String {
    let missed = missed(bars);
    if missed.is_empty() {
        return format!("check: all {} bars met\n", bars.len());
    }
    let mut out = format!("check: {} of {} bars missed\n", missed.len(), bars.len());
    for line in missed {
        out.push_str(&format!("missed: {line}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::selftest::report::{CoalesceRow, FidelityRow};

    fn row(c: usize, ttft_error_ms: f64, decode_error_pct: f64, ok: u64) -> FidelityRow {
        FidelityRow {
            concurrency: c,
            decode_true_tok_s: 50.0,
            decode_median_tok_s: 50.0 * (1.0 + decode_error_pct / 100.0),
            decode_error_pct,
            ttft_true_ms: 200.0,
            ttft_median_ms: 200.0 + ttft_error_ms,
            ttft_error_ms,
            ttft_p99_ms: 200.0 + ttft_error_ms,
            ttft_p99_error_ms: ttft_error_ms,
            requests: 10,
            ok,
        }
    }

    fn report(fidelity: Vec<FidelityRow>, coalescing: Option<CoalesceRow>) -> SelftestReport {
        SelftestReport {
            fresh_connections: false,
            fidelity,
            coalescing,
            ceiling: Vec::new(),
            ceiling_tok_s: None,
            peak_rss_bytes: None,
            load_avg_1m: (None, None),
            injected_stall: None,
            check: None,
        }
    }

    #[test]
    fn bars_met_inside_their_limits() {
        let r = report(
            vec![
                row(1, -1.9, 0.9, 10),
                row(64, 1.5, -0.99, 10),
                row(256, 30.0, 1.9, 10),
            ],
            None,
        );
        let bars = evaluate(&r);
        // TTFT, decode and failures at c=1 and 64; decode and failures at 256.
        assert_eq!(bars.len(), 8);
        assert!(missed(&bars).is_empty(), "{:?}", missed(&bars));
        assert!(render(&bars).starts_with("check: all 8 bars met"));
    }

    #[test]
    fn each_missed_bar_is_named() {
        let coalescing = CoalesceRow {
            concurrency: 1,
            events_per_write: 4,
            decode_true_tok_s: 200.0,
            decode_median_tok_s: 196.0,
            decode_error_pct: -2.0,
            requests: 5,
            ok: 5,
        };
        let r = report(
            vec![
                row(1, 2.5, 0.0, 10),
                row(64, 0.0, 1.2, 9),
                row(256, 0.0, -2.1, 10),
            ],
            Some(coalescing),
        );
        let missed = missed(&evaluate(&r));
        assert_eq!(
            missed,
            [
                "TTFT at c=1 (fidelity): +2.50 ms, bar ±2 ms",
                "decode at c=64 (fidelity): +1.20%, bar ±1%",
                "failed requests at c=64 (fidelity): 1, bar 0",
                "decode at c=256 (fidelity): -2.10%, bar ±2%",
                "decode at c=1 (coalescing): -2.00%, bar ±1%",
            ]
        );
    }

    #[test]
    fn unmeasured_figures_miss_their_bars() {
        let mut nothing = row(1, f64::NAN, f64::NAN, 0);
        nothing.requests = 0;
        let bars = evaluate(&report(vec![nothing], None));
        assert_eq!(bars.len(), 3);
        assert!(bars.iter().all(|b| !b.pass));
        assert!(render(&bars).starts_with("check: 3 of 3 bars missed\n"));
    }
}
