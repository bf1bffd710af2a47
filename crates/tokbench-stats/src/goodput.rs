//! Goodput: the rate of requests that succeeded *and* met every latency
//! service-level objective (SLO).
//!
//! Definition as in vLLM's `bench serve --goodput` (itself following
//! DistServe, Zhong et al., OSDI 2024): a request is *good* when each
//! configured metric is `≤` its limit; `goodput = good requests / duration`.
//! tokbench uses its own [measurement window](crate::measurement_window_s)
//! as the duration and its own TTFT/TPOT/E2E definitions
//! ([`crate::RequestMetrics`]).
//!
//! Undefined metrics: a request without TPOT (fewer than 2 output tokens)
//! passes a TPOT limit, matching vLLM, which counts TPOT as 0 there; a
//! request without TTFT (no token event) or without E2E fails a limit on it.

use serde::{Deserialize, Serialize};

use crate::cell::measurement_window_s;
use crate::metrics::RequestMetrics;
use crate::sample::RequestSample;

/// Latency limits; `None` means "no limit on this metric". All in ms.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Slo {
    /// Maximum time to first token, ms.
    pub ttft_ms_max: Option<f64>,
    /// Maximum time per output token, ms.
    pub tpot_ms_max: Option<f64>,
    /// Maximum end-to-end latency, ms.
    pub e2e_ms_max: Option<f64>,
}

impl Slo {
    /// `true` when `m` succeeded and meets every configured limit (see the
    /// [module docs](self) for undefined metrics). With no limit set, every
    /// successful request is good.
    pub fn is_met_by(&self, m: &RequestMetrics) -> bool {
        m.is_ok()
            && within(self.ttft_ms_max, m.ttft_ms, false)
            && within(self.tpot_ms_max, m.tpot_ms, true)
            && within(self.e2e_ms_max, m.e2e_ms, false)
    }
}

/// `value ≤ limit`; `undefined_passes` decides a missing value.
fn within(limit: Option<f64>, value: Option<f64>, undefined_passes: bool) -> bool {
    match (limit, value) {
        (None, _) => true,
        (Some(limit), Some(value)) => value <= limit,
        (Some(_), None) => undefined_passes,
    }
}

/// Goodput of one cell.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Goodput {
    /// Measured successful requests meeting every SLO.
    pub good_requests: u64,
    /// `good_requests / window_s`, requests/s; `None` for an empty window.
    pub goodput_rps: Option<f64>,
}

/// Goodput of `samples` under `slo`. Warm-up samples are excluded; the
/// window is [`measurement_window_s`] (same as
/// [`crate::CellMetrics::window_s`]).
pub fn goodput(samples: &[RequestSample], slo: &Slo) -> Goodput {
    let good_requests = samples
        .iter()
        .filter(|s| !s.warmup)
        .filter(|s| slo.is_met_by(&RequestMetrics::from_sample(s)))
        .count() as u64;
    Goodput {
        good_requests,
        goodput_rps: measurement_window_s(samples).map(|w| good_requests as f64 / w),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::{Channel, ErrorKind, Outcome, TokenEvent};

    /// One successful request sent at `send_ms` with content events at
    /// `events_ms` and end at `end_ms` (times relative to the send).
    fn req(send_ms: u64, events_ms: &[u32], end_ms: u32) -> RequestSample {
        let mut s = RequestSample::new(0, false, send_ms * 1000, send_ms * 1000);
        s.events = events_ms
            .iter()
            .map(|&t| TokenEvent {
                t_us: t * 1000,
                bytes: 3,
                channel: Channel::Content,
            })
            .collect();
        s.end_us = Some(end_ms * 1000);
        s
    }

    #[test]
    fn counts_requests_meeting_every_slo() {
        // a: ttft 100, tpot (300−100)/4 = 50, e2e 320  → good
        // b: ttft 400 → fails ttft ≤ 200
        // c: ttft 100, tpot (1100−100)/4 = 250 → fails tpot ≤ 100
        // d: one token, no TPOT → passes tpot (vLLM: tpot = 0), ttft 150 ok
        // e: error → never good
        // Window: sends at 0..=4000 ms; latest end 4000 + 320 = 4320 ms.
        let mut e = req(4000, &[100, 150, 200, 250, 300], 320);
        e.outcome = Outcome::Error {
            kind: ErrorKind::EarlyClose,
            message: String::new(),
        };
        let samples = vec![
            req(0, &[100, 150, 200, 250, 300], 320),
            req(1000, &[400, 450, 500, 550, 600], 620),
            req(2000, &[100, 350, 600, 850, 1100], 1120),
            req(3000, &[150], 160),
            e,
        ];
        let slo = Slo {
            ttft_ms_max: Some(200.0),
            tpot_ms_max: Some(100.0),
            e2e_ms_max: None,
        };
        let g = goodput(&samples, &slo);
        assert_eq!(g.good_requests, 2);
        // 2 good / 4.32 s
        assert!((g.goodput_rps.unwrap() - 2.0 / 4.32).abs() < 1e-12);
        // No limits: every successful request (4 of 5) is good.
        assert_eq!(goodput(&samples, &Slo::default()).good_requests, 4);
    }

    #[test]
    fn missing_ttft_fails_a_ttft_limit_and_e2e_limit_applies() {
        let no_tokens = req(0, &[], 50);
        let ttft_slo = Slo {
            ttft_ms_max: Some(1e9),
            ..Slo::default()
        };
        assert!(!ttft_slo.is_met_by(&RequestMetrics::from_sample(&no_tokens)));
        let e2e_slo = Slo {
            e2e_ms_max: Some(319.0),
            ..Slo::default()
        };
        let r = RequestMetrics::from_sample(&req(0, &[100, 300], 320));
        assert!(!e2e_slo.is_met_by(&r));
        let boundary = Slo {
            e2e_ms_max: Some(320.0),
            ..Slo::default()
        };
        assert!(boundary.is_met_by(&r), "limit is inclusive");
    }
}
