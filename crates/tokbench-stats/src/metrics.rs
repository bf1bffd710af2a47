//! Per-request metric definitions.
//!
//! [`RequestMetrics::from_sample`] turns one raw [`RequestSample`] into the
//! metrics defined in `docs/methodology.md`. Units are in the field names;
//! a metric that is undefined for a request is `None` (never NaN).
//!
//! Cell-level aggregation lives in [`crate::cell`]; normalised inter-token
//! latency in [`crate::itl`]; token counting rules in [`crate::tokens`].

use serde::{Deserialize, Serialize};

use crate::prompt_cache::{cached_prompt_tokens, evaluated_prompt_tokens};
use crate::sample::{Channel, ErrorKind, Outcome, RequestSample};
use crate::tokens::{tokens_in_first_arrival, TokenCounts, TokenSource};

/// Metrics of one request. Times are relative to the request's actual send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestMetrics {
    /// [`RequestSample::id`].
    pub id: u64,
    /// [`RequestSample::warmup`].
    pub warmup: bool,
    /// `None` for a successful request, else the error's kind.
    pub error_kind: Option<ErrorKind>,
    /// `(actual_send_us − intended_send_us) / 1000`, ms. Negative only if
    /// the client sent early.
    pub queue_delay_ms: f64,
    /// Time to first token: first token event on any channel, ms.
    pub ttft_ms: Option<f64>,
    /// Time to first content: first `Content`-channel event, ms.
    pub ttfc_ms: Option<f64>,
    /// End-to-end latency: `end_us / 1000`, ms.
    pub e2e_ms: Option<f64>,
    /// Output tokens (see [`crate::tokens`]).
    pub output_tokens: u64,
    /// Where `output_tokens` came from.
    pub output_tokens_source: TokenSource,
    /// `usage.completion_tokens − token events`, when usage is present.
    pub token_count_discrepancy: Option<i64>,
    /// Reasoning tokens.
    pub reasoning_tokens: u64,
    /// Content tokens (`output − reasoning`; tool calls count as content).
    pub content_tokens: u64,
    /// Prompt tokens: usage, else the workload's hint.
    pub prompt_tokens: Option<u64>,
    /// Prompt tokens the server served from its cache, by its own account
    /// ([`crate::prompt_cache::cached_prompt_tokens`]).
    #[serde(default)]
    pub cached_prompt_tokens: Option<u64>,
    /// Prompt tokens the server evaluated, by its own account
    /// ([`crate::prompt_cache::evaluated_prompt_tokens`]).
    #[serde(default)]
    pub evaluated_prompt_tokens: Option<u64>,
    /// Client-side prefill rate `evaluated_prompt_tokens / (ttft_ms / 1000)`
    /// (`prompt_tokens` when the server does not say how many it
    /// evaluated), tok/s. Includes network and queueing time, so it is a
    /// lower bound.
    pub prefill_tok_s: Option<f64>,
    /// Server-reported prefill rate (`timings.prompt_per_second`), tok/s.
    pub server_prefill_tok_s: Option<f64>,
    /// Server-reported decode rate (`timings.predicted_per_second`), tok/s.
    pub server_decode_tok_s: Option<f64>,
    /// Decode rate ("gen tok/s"), tok/s:
    /// `(output_tokens − first_arrival_tokens) / (t_last − t_first)`, where
    /// `t_first` is the first token event's arrival, `first_arrival_tokens`
    /// the tokens of every event that arrived with it
    /// ([`crate::tokens::tokens_in_first_arrival`]) and `t_last` the last
    /// token event's arrival (`docs/methodology.md#decode-tok-s`).
    pub decode_tok_s: Option<f64>,
    /// Time per output token, `1000 / decode_tok_s`, ms (same span and
    /// token count; `docs/methodology.md#tpot`).
    pub tpot_ms: Option<f64>,
    /// Answer rate, tok/s: `content_tokens × decode_tok_s / output_tokens`,
    /// i.e. content tokens per second of generation time, where generation
    /// time is `output_tokens / decode_tok_s` (every output token, thinking
    /// included, at the measured decode rate;
    /// `docs/methodology.md#reasoning`). Equals `decode_tok_s` without
    /// reasoning tokens; `None` when `decode_tok_s` is.
    #[serde(default)]
    pub answer_tok_s: Option<f64>,
}

impl RequestMetrics {
    /// Derive the metrics of one request; never fails.
    ///
    /// Undefined cases (`None`):
    /// * `ttft_ms` without token events; `ttfc_ms` without content events;
    ///   `e2e_ms` without `end_us`;
    /// * `prefill_tok_s` without a prompt-token count, with TTFT of 0, or
    ///   when the server evaluated no prompt token (all cached);
    /// * `server_*` without `timings` or when the reported rate is not a
    ///   positive finite number (llama.cpp reports 0 or ∞ for a fully cached
    ///   prompt);
    /// * `decode_tok_s`/`tpot_ms` when no event arrived after the first
    ///   arrival (zero span: fewer than two events, or every event in one
    ///   network chunk) or no token is left after the first arrival's.
    pub fn from_sample(sample: &RequestSample) -> Self {
        let tokens = TokenCounts::from_sample(sample);
        let ttft_us = sample.events.first().map(|e| e.t_us);
        let ttfc_us = sample
            .events
            .iter()
            .find(|e| e.channel == Channel::Content)
            .map(|e| e.t_us);
        let decode = decode_rate(sample, tokens.output_tokens);
        let timings = sample.server_timings;
        let evaluated = evaluated_prompt_tokens(sample);
        Self {
            id: sample.id,
            warmup: sample.warmup,
            error_kind: match &sample.outcome {
                Outcome::Ok => None,
                Outcome::Error { kind, .. } => Some(*kind),
            },
            queue_delay_ms: (sample.actual_send_us as f64 - sample.intended_send_us as f64)
                / 1000.0,
            ttft_ms: ttft_us.map(us_to_ms),
            ttfc_ms: ttfc_us.map(us_to_ms),
            e2e_ms: sample.end_us.map(us_to_ms),
            output_tokens: tokens.output_tokens,
            output_tokens_source: tokens.source,
            token_count_discrepancy: tokens.discrepancy,
            reasoning_tokens: tokens.reasoning_tokens,
            content_tokens: tokens.content_tokens,
            prompt_tokens: tokens.prompt_tokens,
            cached_prompt_tokens: cached_prompt_tokens(sample),
            evaluated_prompt_tokens: evaluated,
            prefill_tok_s: prefill_rate(evaluated.or(tokens.prompt_tokens), ttft_us),
            server_prefill_tok_s: timings.and_then(|t| positive(t.prompt_per_second)),
            server_decode_tok_s: timings.and_then(|t| positive(t.predicted_per_second)),
            decode_tok_s: decode.map(|d| d.tok_s),
            tpot_ms: decode.map(|d| d.tpot_ms),
            answer_tok_s: decode.and_then(|d| answer_rate(d.tok_s, &tokens)),
        }
    }

    /// `true` when the request succeeded.
    pub fn is_ok(&self) -> bool {
        self.error_kind.is_none()
    }
}

/// Decode rate and its reciprocal, computed from the same span.
#[derive(Clone, Copy)]
struct Decode {
    tok_s: f64,
    tpot_ms: f64,
}

/// `(output − first_arrival_tokens) / span` with `span = t_last − t_first`
/// over token events and `first_arrival_tokens` the tokens of every event
/// sharing the first event's arrival time
/// ([`tokens_in_first_arrival`]: those tokens were generated before
/// `t_first`, so they are not part of the span's work). Computed as
/// `after·10⁶ / span_us` and `span_us / 1000 / after` so round numbers stay
/// exact. `None` for a zero span or no token after the first arrival.
fn decode_rate(sample: &RequestSample, output_tokens: u64) -> Option<Decode> {
    let first = sample.events.first()?.t_us;
    let last = sample.events.last()?.t_us;
    let span_us = f64::from(last.checked_sub(first).filter(|&s| s > 0)?);
    let in_first = tokens_in_first_arrival(&sample.events, output_tokens);
    let after_first = output_tokens.checked_sub(in_first).filter(|&n| n > 0)? as f64;
    Some(Decode {
        tok_s: after_first * 1e6 / span_us,
        tpot_ms: span_us / 1000.0 / after_first,
    })
}

/// `content_tokens × decode_tok_s / output_tokens`, tok/s; `None` without
/// output tokens.
fn answer_rate(decode_tok_s: f64, tokens: &TokenCounts) -> Option<f64> {
    let output = Some(tokens.output_tokens).filter(|&n| n > 0)? as f64;
    Some(tokens.content_tokens as f64 * decode_tok_s / output)
}

/// `prompt_tokens / (ttft_us / 10⁶)`, tok/s; `None` when undefined (no
/// count, no prompt token evaluated, or TTFT of 0).
fn prefill_rate(prompt_tokens: Option<u64>, ttft_us: Option<u32>) -> Option<f64> {
    let ttft_us = ttft_us.filter(|&t| t > 0)?;
    let tokens = prompt_tokens.filter(|&p| p > 0)?;
    Some(tokens as f64 * 1e6 / f64::from(ttft_us))
}

fn us_to_ms(us: u32) -> f64 {
    f64::from(us) / 1000.0
}

/// `Some(x)` when `x` is finite and `> 0`.
fn positive(x: f64) -> Option<f64> {
    (x.is_finite() && x > 0.0).then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::{ServerTimings, TokenEvent, Usage};

    fn ev(t_ms: u32, channel: Channel) -> TokenEvent {
        TokenEvent {
            t_us: t_ms * 1000,
            bytes: 4,
            channel,
        }
    }

    /// 5 content tokens at 200, 220, 240, 260, 280 ms; stream ends at 300 ms;
    /// intended send 1.000 ms, actual 3.500 ms; prompt hint 100 tokens.
    fn synthetic() -> RequestSample {
        let mut s = RequestSample::new(7, false, 1_000, 3_500);
        s.events = [200, 220, 240, 260, 280]
            .iter()
            .map(|&t| ev(t, Channel::Content))
            .collect();
        s.end_us = Some(300_000);
        s.prompt_tokens_hint = Some(100);
        s
    }

    #[test]
    fn synthetic_known_answers() {
        let m = RequestMetrics::from_sample(&synthetic());
        assert_eq!(m.id, 7);
        assert!(m.is_ok());
        assert_eq!(m.queue_delay_ms, 2.5); // (3500 − 1000) µs
        assert_eq!(m.ttft_ms, Some(200.0));
        assert_eq!(m.ttfc_ms, Some(200.0));
        assert_eq!(m.e2e_ms, Some(300.0));
        assert_eq!(m.output_tokens, 5);
        assert_eq!(m.output_tokens_source, TokenSource::StreamEvents);
        assert_eq!(m.token_count_discrepancy, None);
        // (5 − 1) tokens / (280 − 200) ms = 4 / 0.08 s = 50 tok/s
        assert_eq!(m.decode_tok_s, Some(50.0));
        // 80 ms / 4 = 20 ms = 1000 / 50
        assert_eq!(m.tpot_ms, Some(20.0));
        // 100 prompt tokens / 0.2 s = 500 tok/s
        assert_eq!(m.prefill_tok_s, Some(500.0));
        assert_eq!(
            (m.server_prefill_tok_s, m.server_decode_tok_s),
            (None, None)
        );
    }

    #[test]
    fn reasoning_then_content_splits_ttft_and_ttfc() {
        let mut s = synthetic();
        s.events[0].channel = Channel::Reasoning;
        s.events[1].channel = Channel::Reasoning;
        let m = RequestMetrics::from_sample(&s);
        assert_eq!(m.ttft_ms, Some(200.0));
        assert_eq!(m.ttfc_ms, Some(240.0));
        assert_eq!((m.reasoning_tokens, m.content_tokens), (2, 3));
        // decode: 4 tokens after the first over 80 ms = 50 tok/s; answer:
        // 3 of 5 output tokens are content → 50 × 3/5 = 30 tok/s.
        assert_eq!(m.decode_tok_s, Some(50.0));
        assert_eq!(m.answer_tok_s, Some(30.0));
        let plain = RequestMetrics::from_sample(&synthetic());
        assert_eq!(plain.answer_tok_s, plain.decode_tok_s);
    }

    #[test]
    fn usage_drives_decode_rate_and_prompt_tokens() {
        let mut s = synthetic();
        // bytes [4, 8, 8, 8, 8] (total 36), 9 tokens: quotas 1, 2, 2, 2, 2
        // exactly, so the first arrival carries 1 token.
        for e in &mut s.events[1..] {
            e.bytes = 8;
        }
        s.usage = Some(Usage {
            prompt_tokens: 400,
            completion_tokens: 9,
            reasoning_tokens: None,
            cached_tokens: None,
        });
        let m = RequestMetrics::from_sample(&s);
        assert_eq!(m.output_tokens_source, TokenSource::Usage);
        assert_eq!(m.token_count_discrepancy, Some(4)); // 9 − 5 events
                                                        // (9 − 1) / 0.08 s = 100 tok/s; 80 ms / 8 = 10 ms
        assert_eq!(m.decode_tok_s, Some(100.0));
        assert_eq!(m.tpot_ms, Some(10.0));
        // 400 / 0.2 s = 2000 tok/s
        assert_eq!(m.prefill_tok_s, Some(2000.0));
    }

    use crate::test_support::content_sample as events_at;

    fn decode(s: &RequestSample) -> (Option<f64>, Option<f64>) {
        let m = RequestMetrics::from_sample(s);
        (m.decode_tok_s, m.tpot_ms)
    }

    #[test]
    fn several_events_per_arrival() {
        // 200 tok/s written 4 events per write: arrivals every 20 ms at
        // 100, 120, 140, 160, 180 ms, 4 one-token events each (20 tokens).
        // The first arrival holds 4 tokens: (20 − 4) / 0.080 s = 200 tok/s,
        // TPOT 80 ms / 16 = 5 ms. (The old `n − 1` gave 19 / 0.08 = 237.5.)
        let events: Vec<(u32, u32)> = (0..20).map(|i| (100 + 20 * (i / 4), 6)).collect();
        assert_eq!(decode(&events_at(&events, None)), (Some(200.0), Some(5.0)));
        // Usage agreeing with the events changes nothing.
        assert_eq!(
            decode(&events_at(&events, Some(20))),
            (Some(200.0), Some(5.0))
        );
    }

    #[test]
    fn several_tokens_per_event() {
        // Events at 100, 110, 130, 140, 170 ms with bytes [12, 4, 8, 4, 12]
        // (total 40); usage 10 tokens → nᵢ = [3, 1, 2, 1, 3] exactly.
        // The first arrival holds 3 tokens: (10 − 3) / 0.070 s = 100 tok/s,
        // TPOT 70 ms / 7 = 10 ms. (Old: 9 / 0.07 ≈ 128.6.)
        let s = events_at(
            &[(100, 12), (110, 4), (130, 8), (140, 4), (170, 12)],
            Some(10),
        );
        assert_eq!(decode(&s), (Some(100.0), Some(10.0)));
    }

    #[test]
    fn several_events_per_arrival_with_several_tokens_each() {
        // Arrivals at 100, 140, 180 ms, 2 events of 8 bytes each; usage 12
        // tokens over 6 equal events → 2 tokens per event. The first
        // arrival holds 2 · 2 = 4 tokens: (12 − 4) / 0.080 s = 100 tok/s,
        // TPOT 80 ms / 8 = 10 ms. (Old: 11 / 0.08 = 137.5.)
        let events = [(100, 8), (100, 8), (140, 8), (140, 8), (180, 8), (180, 8)];
        let s = events_at(&events, Some(12));
        assert_eq!(decode(&s), (Some(100.0), Some(10.0)));
        // ITL agrees: 8 values summing to the 80 ms span, mean = TPOT.
        let itl = crate::itl::itl_ms(&s);
        assert_eq!((itl.len(), itl.iter().sum::<f64>()), (8, 80.0));
    }

    #[test]
    fn one_token_per_event_keeps_the_old_numbers() {
        // Distinct arrivals, one token each: first arrival = 1 token, the
        // formula is the old (n − 1) / span. 6 events 10 ms apart from
        // 40 ms: 5 / 0.05 s = 100 tok/s, 10 ms.
        let events: Vec<(u32, u32)> = (0..6).map(|i| (40 + 10 * i, 3)).collect();
        assert_eq!(decode(&events_at(&events, None)), (Some(100.0), Some(10.0)));
        // Usage below the event count (tokens split across events): still
        // 1 token per event for timing, (4 − 1) / 0.05 s = 60 tok/s.
        let (tok_s, tpot) = decode(&events_at(&events, Some(4)));
        assert_eq!(tok_s, Some(60.0));
        assert_eq!(tpot, Some(50.0 / 3.0));
    }

    #[test]
    fn no_token_after_the_first_arrival_is_undefined() {
        // Usage (3) below the events (4); the first arrival holds 3 of them,
        // so no token is left for the 10 ms span.
        let s = events_at(&[(50, 2), (50, 2), (50, 2), (60, 2)], Some(3));
        assert_eq!(decode(&s), (None, None));
        // Everything in one chunk: zero span.
        let s = events_at(&[(50, 2), (50, 2), (50, 2)], Some(9));
        assert_eq!(decode(&s), (None, None));
    }

    #[test]
    fn server_timings_are_passed_through_when_positive() {
        let mut s = synthetic();
        s.server_timings = Some(ServerTimings {
            prompt_per_second: 1234.5,
            predicted_per_second: 55.5,
            ..ServerTimings::default()
        });
        let m = RequestMetrics::from_sample(&s);
        assert_eq!(m.server_prefill_tok_s, Some(1234.5));
        assert_eq!(m.server_decode_tok_s, Some(55.5));
        s.server_timings = Some(ServerTimings {
            prompt_per_second: f64::INFINITY,
            predicted_per_second: 0.0,
            ..ServerTimings::default()
        });
        let m = RequestMetrics::from_sample(&s);
        assert_eq!(
            (m.server_prefill_tok_s, m.server_decode_tok_s),
            (None, None)
        );
    }

    #[test]
    fn undefined_cases_are_none() {
        let mut s = RequestSample::new(1, false, 0, 0);
        let m = RequestMetrics::from_sample(&s);
        assert_eq!((m.ttft_ms, m.ttfc_ms, m.e2e_ms), (None, None, None));
        assert_eq!(
            (m.decode_tok_s, m.tpot_ms, m.prefill_tok_s),
            (None, None, None)
        );
        assert_eq!(m.output_tokens, 0);
        // one token: no decode phase
        s.events = vec![ev(50, Channel::Content)];
        s.prompt_tokens_hint = Some(10);
        let m = RequestMetrics::from_sample(&s);
        assert_eq!(m.decode_tok_s, None);
        assert_eq!(m.prefill_tok_s, Some(200.0)); // 10 / 0.05 s
                                                  // two events in one chunk: zero span
        s.events = vec![ev(50, Channel::Content), ev(50, Channel::Content)];
        assert_eq!(RequestMetrics::from_sample(&s).decode_tok_s, None);
        // TTFT of 0 µs: prefill undefined
        s.events = vec![ev(0, Channel::Content)];
        assert_eq!(RequestMetrics::from_sample(&s).prefill_tok_s, None);
    }

    #[test]
    fn error_kind_is_recorded() {
        let mut s = synthetic();
        s.outcome = Outcome::Error {
            kind: ErrorKind::Stall,
            message: "no bytes for 30 s".into(),
        };
        let m = RequestMetrics::from_sample(&s);
        assert!(!m.is_ok());
        assert_eq!(m.error_kind, Some(ErrorKind::Stall));
    }

    #[test]
    fn negative_queue_delay_when_sent_early() {
        let s = RequestSample::new(0, false, 5_000, 4_000);
        assert_eq!(RequestMetrics::from_sample(&s).queue_delay_ms, -1.0);
    }
}
