//! `/metrics` accounting: what each served request adds to the server's
//! counters and histograms, the live gauges, and the scrape-side faults.
//!
//! # When a request counts
//! A request is accounted once, when its response has been fully produced
//! (the `[DONE]` event of a stream is about to leave; a non-streaming body
//! is built), whatever the transport faults that do not cut it short
//! (`StallMidStream`, whose stall is in the deadlines, `MalformedChunk`,
//! `NoUsage`). Requests rejected by an HTTP fault (500/429), responses cut
//! by `CloseMidStream` and requests whose client went away are not
//! counted, so every counter is a sum over completed requests only. Gauges
//! are read live at each scrape. This is a simplification: llama-server
//! adds a request's generated tokens when it finishes but its prompt tokens
//! when the prompt has been evaluated, and vLLM and SGLang add tokens per
//! engine step, so a real server's window that ends mid-request holds more
//! tokens than the emulator's.
//!
//! # Per-request figures
//! Let `A` be the instant the request acquired its slot, `d_i` the
//! scheduled deadline of token `i` as an offset from `A` (prefill,
//! `i / decode_tok_s`, the stall and the jitter included: the deadlines of
//! the crate docs' schedule, one token at a time, whatever
//! [`crate::EmulatorConfig::tokens_per_chunk`] and
//! [`crate::EmulatorConfig::events_per_write`] are), `n` the generated
//! tokens and `p` the prompt tokens. Then, in seconds:
//!
//! | Figure | Value |
//! |---|---|
//! | prompt time | `d_0` (= the prefill without jitter; the prefill when `n = 0`) |
//! | decode time | `d_{n-1} - d_0` (0 when `n ≤ 1`) |
//! | inter-token latencies | `d_i - d_{i-1}` for `i` in `1..n` |
//! | queue time | `A −` arrival of the request (measured, not scheduled) |
//! | TTFT | queue time + `d_0` |
//! | end-to-end latency | queue time + `d_{n-1}` |
//!
//! The decode time is the scheduled counterpart of the `timings`
//! object's `predicted_ms` (first to last emission),
//! so `n / decode time` is slightly above `decode_tok_s` (`n` tokens over
//! `n - 1` intervals), as in llama.cpp. Durations carry the schedule's
//! nanosecond rounding: each figure is within 1 ns of the exact value.
//!
//! The exported names and values per engine are listed in
//! [`crate::exposition`].

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::exposition::{Exporter, Live};
use crate::schedule::Schedule;
use crate::slots::Job;

/// Which engine's `/metrics` exposition the emulator imitates.
///
/// Serialised in snake case: `"none"`, `"llamacpp"`, `"vllm"`, `"sglang"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricsFlavor {
    /// No metrics: `GET /metrics` answers 501 with an error body, like
    /// `llama-server` started without `--metrics`.
    None,
    /// `llama-server --metrics` (`llamacpp:` names); the default.
    #[default]
    Llamacpp,
    /// vLLM's V1 engine (`vllm:` names, `engine` and `model_name` labels).
    Vllm,
    /// SGLang (`sglang:` names, `model_name` label).
    Sglang,
}

/// A misbehaviour of `GET /metrics`, to exercise a scraper's error paths.
///
/// Serialised externally tagged in snake case: `"http500"` or
/// `{"reset_after_served":{"requests":2}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricsFault {
    /// Every `GET /metrics` answers HTTP 500 with an OpenAI-style error
    /// body (the completion endpoints are unaffected).
    Http500,
    /// A server restart: once `requests` requests have been accounted,
    /// every counter and histogram is zeroed, once, just before the next
    /// request is accounted. Scrapes before that see the totals of the
    /// first `requests` requests; scrapes after it see only the requests
    /// accounted since (counters go down, as after a restart). Gauges are
    /// live and unaffected.
    ResetAfterServed {
        /// Requests accounted before the reset (0: the reset happens before
        /// the first one, which changes nothing).
        requests: u64,
    },
}

/// The figures one completed request adds to the metrics, in seconds and
/// tokens (definitions in the module docs).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Figures {
    /// Prompt tokens `p`.
    pub prompt_tokens: u64,
    /// Generated tokens `n`.
    pub generation_tokens: u64,
    /// Queue time, seconds (measured).
    pub queue_s: f64,
    /// `d_0`, seconds from slot acquisition (the prefill when `n = 0`).
    pub first_s: f64,
    /// `d_{n-1}`, seconds from slot acquisition (`d_0` when `n = 0`).
    pub last_s: f64,
    /// `d_i - d_{i-1}` for `i` in `1..n`, seconds.
    pub gaps_s: Vec<f64>,
}

impl Figures {
    /// The figures of `job`, which acquired its slot at `acquired`.
    pub fn of(job: &Job, acquired: Instant) -> Self {
        let deadlines = token_deadlines(&job.schedule, job);
        let first = deadlines.first().copied().unwrap_or(job.schedule.prefill);
        let last = deadlines.last().copied().unwrap_or(first);
        Figures {
            prompt_tokens: job.prompt_tokens,
            generation_tokens: u64::from(job.schedule.tokens),
            queue_s: acquired
                .saturating_duration_since(job.arrived)
                .as_secs_f64(),
            first_s: first.as_secs_f64(),
            last_s: last.as_secs_f64(),
            gaps_s: deadlines
                .windows(2)
                .map(|w| (w[1] - w[0]).as_secs_f64())
                .collect(),
        }
    }

    /// Decode time `d_{n-1} - d_0`, seconds.
    pub fn decode_s(&self) -> f64 {
        self.last_s - self.first_s
    }
}

/// Every token's deadline, one token at a time, drawing the same jitter as
/// the response did (the RNG draws once per token in order, whatever the
/// grouping).
fn token_deadlines(schedule: &Schedule, job: &Job) -> Vec<Duration> {
    let single = Schedule {
        tokens_per_chunk: 1,
        ..*schedule
    };
    single.groups(job.rng.clone()).map(|g| g.offset).collect()
}

/// Since-last-scrape sums behind llama.cpp's `*_tokens_seconds` gauges:
/// llama-server resets them at every `/metrics` request.
#[derive(Debug, Default, Clone, Copy)]
struct Bucket {
    prompt_tokens: u64,
    prompt_s: f64,
    generation_tokens: u64,
    generation_s: f64,
}

impl Bucket {
    fn add(&mut self, f: &Figures) {
        self.prompt_tokens += f.prompt_tokens;
        self.prompt_s += f.first_s;
        self.generation_tokens += f.generation_tokens;
        self.generation_s += f.decode_s();
    }

    /// `(prompt tok/s, generation tok/s)`, 0 where no time was spent.
    fn rates(&self) -> (f64, f64) {
        let rate = |n: u64, s: f64| if s > 0.0 { n as f64 / s } else { 0.0 };
        (
            rate(self.prompt_tokens, self.prompt_s),
            rate(self.generation_tokens, self.generation_s),
        )
    }
}

#[derive(Debug)]
struct Inner {
    exporter: Option<Exporter>,
    accounted: u64,
    reset_done: bool,
    bucket: Bucket,
}

/// The live gauges a scrape reads, as the routes know them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Gauges {
    /// Requests holding a slot.
    pub running: u64,
    /// Requests waiting for a slot.
    pub waiting: u64,
    /// Tokens held by in-flight requests over the slots' total context,
    /// ratio 0..1 ([`crate::slots::SlotTable::kv_usage`]).
    pub kv_usage: f64,
}

/// The result of a scrape.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scrape {
    /// [`MetricsFlavor::None`]: the endpoint is not supported (501).
    Disabled,
    /// [`MetricsFault::Http500`]: answer 500.
    Failed,
    /// The exposition text (Prometheus text format 0.0.4).
    Text(String),
}

/// The server's metrics: per-flavor registry plus the fault state.
#[derive(Debug)]
pub(crate) struct Metrics {
    flavor: MetricsFlavor,
    model: String,
    fault: Option<MetricsFault>,
    inner: Mutex<Inner>,
}

impl Metrics {
    /// Metrics of `flavor` labelled with `model`, failing per `fault`.
    pub fn new(flavor: MetricsFlavor, model: &str, fault: Option<MetricsFault>) -> Self {
        Metrics {
            flavor,
            model: model.to_owned(),
            fault,
            inner: Mutex::new(Inner {
                exporter: Exporter::new(flavor, model),
                accounted: 0,
                reset_done: false,
                bucket: Bucket::default(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing panics while holding the lock; a poisoned one still holds
        // consistent sums.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Accounts a completed request (and applies a due reset first).
    pub fn record(&self, figures: &Figures) {
        if self.flavor == MetricsFlavor::None {
            return;
        }
        let mut inner = self.lock();
        if let Some(MetricsFault::ResetAfterServed { requests }) = self.fault {
            if !inner.reset_done && inner.accounted >= requests {
                inner.exporter = Exporter::new(self.flavor, &self.model);
                inner.bucket = Bucket::default();
                inner.reset_done = true;
            }
        }
        inner.accounted += 1;
        inner.bucket.add(figures);
        if let Some(exporter) = &inner.exporter {
            exporter.record(figures);
        }
    }

    /// Renders the exposition with the live `gauges` (and resets
    /// llama.cpp's since-last-scrape throughput sums, as llama-server does).
    pub fn scrape(&self, gauges: Gauges) -> Scrape {
        if self.flavor == MetricsFlavor::None {
            return Scrape::Disabled;
        }
        if self.fault == Some(MetricsFault::Http500) {
            return Scrape::Failed;
        }
        let mut inner = self.lock();
        let (prompt_tok_s, predicted_tok_s) = inner.bucket.rates();
        inner.bucket = Bucket::default();
        let live = Live {
            gauges,
            prompt_tok_s,
            predicted_tok_s,
        };
        match &inner.exporter {
            Some(exporter) => match exporter.render(&live) {
                Ok(text) => Scrape::Text(text),
                Err(_) => Scrape::Failed,
            },
            None => Scrape::Disabled,
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn job(tokens: u32, stall: Option<(u32, Duration)>) -> Job {
        Job {
            index: 0,
            prompt_tokens: 7,
            schedule: Schedule {
                prefill: Duration::from_millis(100),
                decode_tok_s: 50.0,
                jitter_s: 0.0,
                stall,
                tokens,
                tokens_per_chunk: 4,
            },
            rng: ChaCha8Rng::seed_from_u64(0),
            arrived: Instant::now(),
        }
    }

    #[test]
    fn figures_follow_the_schedule_token_by_token() {
        let j = job(5, None);
        let f = Figures::of(&j, j.arrived + Duration::from_millis(30));
        assert_eq!((f.prompt_tokens, f.generation_tokens), (7, 5));
        assert!((f.queue_s - 0.030).abs() < 1e-9, "{f:?}");
        assert!((f.first_s - 0.100).abs() < 1e-9, "{f:?}");
        // 4 intervals of 20 ms, even with tokens_per_chunk = 4.
        assert!((f.decode_s() - 0.080).abs() < 1e-9, "{f:?}");
        assert_eq!(f.gaps_s.len(), 4);
        assert!(f.gaps_s.iter().all(|g| (g - 0.020).abs() < 1e-9));
    }

    #[test]
    fn stall_lands_in_one_gap_and_zero_tokens_use_the_prefill() {
        let j = job(3, Some((2, Duration::from_millis(500))));
        let f = Figures::of(&j, j.arrived);
        assert!((f.gaps_s[1] - 0.520).abs() < 1e-9, "{f:?}");
        let j = job(0, None);
        let f = Figures::of(&j, j.arrived);
        assert_eq!((f.first_s, f.last_s), (0.1, 0.1));
        assert!(f.gaps_s.is_empty());
    }

    #[test]
    fn none_is_disabled_and_http500_fails() {
        let off = Metrics::new(MetricsFlavor::None, "m", None);
        assert_eq!(off.scrape(Gauges::default()), Scrape::Disabled);
        let bad = Metrics::new(MetricsFlavor::Vllm, "m", Some(MetricsFault::Http500));
        assert_eq!(bad.scrape(Gauges::default()), Scrape::Failed);
    }

    #[test]
    fn llamacpp_throughput_gauges_reset_at_each_scrape() {
        let m = Metrics::new(MetricsFlavor::Llamacpp, "m", None);
        let j = job(5, None);
        m.record(&Figures::of(&j, j.arrived));
        let text = |s: Scrape| match s {
            Scrape::Text(t) => t,
            other => panic!("{other:?}"),
        };
        let first = text(m.scrape(Gauges::default()));
        assert!(
            first.contains("llamacpp:prompt_tokens_seconds 70.0\n"),
            "{first}"
        );
        let second = text(m.scrape(Gauges::default()));
        assert!(
            second.contains("llamacpp:prompt_tokens_seconds 0.0\n"),
            "{second}"
        );
        assert!(
            second.contains("llamacpp:prompt_tokens_total 7\n"),
            "{second}"
        );
    }
}
