//! Rendering `/metrics` in llama.cpp, vLLM or SGLang form.
//!
//! # Encoder
//! The exposition is written by `prometheus-client` (the official Rust
//! client, Apache-2.0 OR MIT): one [`Registry`] of counters, gauges and
//! histograms per server life (a [`crate::MetricsFault::ResetAfterServed`]
//! reset builds a new one), encoded with its Prometheus text format 0.0.4
//! encoder (`encoding::prometheus_text`), which is the format the three
//! engines serve: `# HELP`/`# TYPE` lines named like the samples (counters
//! with their `_total`), no `# EOF`. Names may contain `:`; the client
//! appends `_total` to counters itself and a `.` to every help text.
//! Differences from the real servers' bytes, none of which a Prometheus
//! parser sees as a different series: numbers are printed in shortest
//! round-trip form (llama-server prints six significant digits, Python's
//! client `1.0`), vLLM's `*_created` gauges are not exported, and
//! llama.cpp's `n_tokens_max`, typed `counter` by llama-server, is typed
//! `gauge` (a `prometheus-client` counter would be renamed `…_total`; it is
//! a maximum, which scrapers treat as a gauge anyway).
//!
//! # Values
//! Sums over completed requests of the figures defined in
//! [`crate::metrics`] (`p` prompt tokens, `n` generated tokens, `d_0`,
//! `d_{n-1}`, queue time `q`); gauges are live.
//!
//! llama.cpp (no labels; names of `llama-server` b6000+,
//! `server_task_result_metrics::to_metrics`):
//!
//! | Series | Value |
//! |---|---|
//! | `llamacpp:prompt_tokens_total` | Σ `p` (the emulator has no prompt cache, so no prompt token is excluded) |
//! | `llamacpp:prompt_tokens_cached_total` | 0 |
//! | `llamacpp:prompt_seconds_total` | Σ `d_0` |
//! | `llamacpp:tokens_predicted_total` | Σ `n` |
//! | `llamacpp:tokens_predicted_seconds_total` | Σ (`d_{n-1} - d_0`) |
//! | `llamacpp:n_decode_total` | Σ max(`n`, 1): one decode per generated token, the prompt's giving the first |
//! | `llamacpp:n_tokens_max` | max (`p` + max(`n`, 1) − 1): the longest context decoded |
//! | `llamacpp:spec_decode_num_{draft_tokens,accepted_tokens,drafts}_total` | 0 (no speculative decoding) |
//! | `llamacpp:prompt_tokens_seconds`, `llamacpp:predicted_tokens_seconds` | prompt (generation) tokens / seconds of the requests accounted since the previous scrape, 0 if none: llama-server resets these sums at every `/metrics` request |
//! | `llamacpp:requests_processing`, `llamacpp:requests_deferred` | requests holding a slot, waiting for one |
//! | `llamacpp:n_busy_slots_per_decode` | 1 once a request was accounted, else 0: emulated slots decode independently, one slot per decode |
//!
//! vLLM (labels `engine="0"`, `model_name="<model>"`; names and histogram
//! bounds of the V1 engine's `vllm/v1/metrics/loggers.py`):
//!
//! | Series | Value |
//! |---|---|
//! | `vllm:prompt_tokens_total`, `vllm:generation_tokens_total` | Σ `p`, Σ `n` |
//! | `vllm:prefix_cache_queries_total`, `vllm:prefix_cache_hits_total` | Σ `p`, 0 |
//! | `vllm:num_preemptions_total` | 0 |
//! | `vllm:request_success_total{finished_reason}` | requests accounted with `"length"` (every emulated request stops at its length); `"stop"` and `"abort"` stay 0 |
//! | `vllm:num_requests_running`, `vllm:num_requests_waiting` | requests holding a slot, waiting for one |
//! | `vllm:kv_cache_usage_perc` | tokens held by in-flight requests / (slots × context per slot), 0..1 |
//! | `vllm:time_to_first_token_seconds` | histogram of `q + d_0` |
//! | `vllm:inter_token_latency_seconds` | histogram of every `d_i - d_{i-1}` |
//! | `vllm:e2e_request_latency_seconds` | histogram of `q + d_{n-1}` |
//! | `vllm:request_queue_time_seconds` | histogram of `q` |
//! | `vllm:request_prefill_time_seconds` | histogram of `d_0` |
//! | `vllm:request_decode_time_seconds` | histogram of `d_{n-1} - d_0` |
//! | `vllm:request_inference_time_seconds` | histogram of `d_{n-1}` |
//!
//! SGLang (label `model_name="<model>"`; `python/sglang/srt/metrics/collector.py`):
//!
//! | Series | Value |
//! |---|---|
//! | `sglang:prompt_tokens_total`, `sglang:generation_tokens_total` | Σ `p`, Σ `n` |
//! | `sglang:num_running_reqs`, `sglang:num_queue_reqs` | requests holding a slot, waiting for one |
//! | `sglang:token_usage` | as `vllm:kv_cache_usage_perc` |
//! | `sglang:cache_hit_rate` | 0 |
//! | `sglang:time_to_first_token_seconds` | histogram of `q + d_0` |
//! | `sglang:e2e_request_latency_seconds` | histogram of `q + d_{n-1}` |

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Metric, Registry};

use crate::metrics::{Figures, Gauges, MetricsFlavor};
use crate::series::{
    FINISHED_REASONS, LLAMACPP_COUNTERS, LLAMACPP_GAUGES, LLAMACPP_RATIOS, LLAMACPP_SECONDS,
    SGLANG_COUNTERS, SGLANG_GAUGES, SGLANG_HISTOGRAMS, SGLANG_RATIOS, VLLM_COUNTERS, VLLM_GAUGES,
    VLLM_HISTOGRAMS, VLLM_RATIOS,
};
pub use crate::series::{
    SGLANG_E2E_BUCKETS, SGLANG_TTFT_BUCKETS, VLLM_ITL_BUCKETS, VLLM_REQUEST_BUCKETS,
    VLLM_TTFT_BUCKETS,
};

/// A counter of seconds.
type Seconds = Counter<f64, AtomicU64>;
/// A floating-point gauge.
type Ratio = Gauge<f64, AtomicU64>;
/// vLLM's `request_success` counter, labelled by `finished_reason`.
type ByReason = Family<Vec<(String, String)>, Counter>;

/// What a scrape needs besides the accumulated series.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Live {
    /// Running/waiting requests and KV usage.
    pub gauges: Gauges,
    /// llama.cpp's since-last-scrape prompt throughput, tokens/s.
    pub prompt_tok_s: f64,
    /// llama.cpp's since-last-scrape generation throughput, tokens/s.
    pub predicted_tok_s: f64,
}

/// One server life's registry and the handles that feed it.
#[derive(Debug)]
pub(crate) struct Exporter {
    registry: Registry,
    handles: Handles,
}

#[derive(Debug)]
enum Handles {
    Llamacpp(Llamacpp),
    Vllm(Box<Vllm>),
    Sglang(Sglang),
}

/// `i64` for an integer gauge.
fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn histogram(bounds: &[f64]) -> Histogram {
    Histogram::new(bounds.iter().copied())
}

impl Exporter {
    /// A zeroed exporter of `flavor` (`None` for [`MetricsFlavor::None`]).
    pub fn new(flavor: MetricsFlavor, model: &str) -> Option<Self> {
        let (registry, handles) = match flavor {
            MetricsFlavor::None => return None,
            MetricsFlavor::Llamacpp => {
                let mut registry = Registry::default();
                let handles = Handles::Llamacpp(Llamacpp::register(&mut registry));
                (registry, handles)
            }
            MetricsFlavor::Vllm => {
                let labels = [("engine", "0".to_owned()), ("model_name", model.to_owned())];
                let mut registry =
                    Registry::with_labels(labels.into_iter().map(|(k, v)| (k.into(), v.into())));
                let handles = Handles::Vllm(Box::new(Vllm::register(&mut registry)));
                (registry, handles)
            }
            MetricsFlavor::Sglang => {
                let label = ("model_name".into(), model.to_owned().into());
                let mut registry = Registry::with_labels(std::iter::once(label));
                let handles = Handles::Sglang(Sglang::register(&mut registry));
                (registry, handles)
            }
        };
        Some(Exporter { registry, handles })
    }

    /// Adds one completed request.
    pub fn record(&self, f: &Figures) {
        match &self.handles {
            Handles::Llamacpp(h) => h.record(f),
            Handles::Vllm(h) => h.record(f),
            Handles::Sglang(h) => h.record(f),
        }
    }

    /// Sets the live gauges and encodes the registry.
    ///
    /// # Errors
    /// Only if formatting into a `String` fails, which it does not.
    pub fn render(&self, live: &Live) -> Result<String, std::fmt::Error> {
        match &self.handles {
            Handles::Llamacpp(h) => h.set_live(live),
            Handles::Vllm(h) => h.set_live(live),
            Handles::Sglang(h) => h.set_live(live),
        }
        let mut out = String::with_capacity(8192);
        prometheus_text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// llama.cpp's series, in llama-server's order.
#[derive(Debug, Default)]
struct Llamacpp {
    prompt_tokens: Counter,
    prompt_tokens_cached: Counter,
    prompt_seconds: Seconds,
    tokens_predicted: Counter,
    tokens_predicted_seconds: Seconds,
    n_decode: Counter,
    n_tokens_max: Gauge,
    spec_draft_tokens: Counter,
    spec_accepted_tokens: Counter,
    spec_drafts: Counter,
    prompt_tokens_seconds: Ratio,
    predicted_tokens_seconds: Ratio,
    requests_processing: Gauge,
    requests_deferred: Gauge,
    n_busy_slots_per_decode: Ratio,
}

/// Registers `metrics[i]` as `prefix + table[i].0` with help `table[i].1`.
fn register_all<M: Metric + Clone>(
    r: &mut Registry,
    prefix: &str,
    table: &[(&str, &str)],
    metrics: &[&M],
) {
    for ((name, help), metric) in table.iter().zip(metrics) {
        r.register(format!("{prefix}{name}"), *help, (*metric).clone());
    }
}

impl Llamacpp {
    fn register(r: &mut Registry) -> Self {
        let h = Llamacpp::default();
        let counters = [
            &h.prompt_tokens,
            &h.prompt_tokens_cached,
            &h.tokens_predicted,
            &h.n_decode,
            &h.spec_draft_tokens,
            &h.spec_accepted_tokens,
            &h.spec_drafts,
        ];
        register_all(r, "llamacpp:", &LLAMACPP_COUNTERS, &counters);
        let seconds = [&h.prompt_seconds, &h.tokens_predicted_seconds];
        register_all(r, "llamacpp:", &LLAMACPP_SECONDS, &seconds);
        let gauges = [
            &h.n_tokens_max,
            &h.requests_processing,
            &h.requests_deferred,
        ];
        register_all(r, "llamacpp:", &LLAMACPP_GAUGES, &gauges);
        let ratios = [
            &h.prompt_tokens_seconds,
            &h.predicted_tokens_seconds,
            &h.n_busy_slots_per_decode,
        ];
        register_all(r, "llamacpp:", &LLAMACPP_RATIOS, &ratios);
        h
    }

    fn record(&self, f: &Figures) {
        let decodes = f.generation_tokens.max(1);
        self.prompt_tokens.inc_by(f.prompt_tokens);
        self.prompt_seconds.inc_by(f.first_s);
        self.tokens_predicted.inc_by(f.generation_tokens);
        self.tokens_predicted_seconds.inc_by(f.decode_s());
        self.n_decode.inc_by(decodes);
        let context = int(f.prompt_tokens + decodes - 1);
        if context > self.n_tokens_max.get() {
            self.n_tokens_max.set(context);
        }
        self.n_busy_slots_per_decode.set(1.0);
    }

    fn set_live(&self, live: &Live) {
        self.requests_processing.set(int(live.gauges.running));
        self.requests_deferred.set(int(live.gauges.waiting));
        self.prompt_tokens_seconds.set(live.prompt_tok_s);
        self.predicted_tokens_seconds.set(live.predicted_tok_s);
    }
}

/// vLLM V1's series.
#[derive(Debug)]
struct Vllm {
    running: Gauge,
    waiting: Gauge,
    kv_cache_usage: Ratio,
    prefix_cache_queries: Counter,
    prefix_cache_hits: Counter,
    preemptions: Counter,
    prompt_tokens: Counter,
    generation_tokens: Counter,
    success: ByReason,
    ttft: Histogram,
    itl: Histogram,
    e2e: Histogram,
    queue: Histogram,
    prefill: Histogram,
    decode: Histogram,
    inference: Histogram,
}

fn reason(value: &str) -> Vec<(String, String)> {
    vec![("finished_reason".to_owned(), value.to_owned())]
}

impl Vllm {
    fn register(r: &mut Registry) -> Self {
        let h = Vllm {
            running: Gauge::default(),
            waiting: Gauge::default(),
            kv_cache_usage: Ratio::default(),
            prefix_cache_queries: Counter::default(),
            prefix_cache_hits: Counter::default(),
            preemptions: Counter::default(),
            prompt_tokens: Counter::default(),
            generation_tokens: Counter::default(),
            success: ByReason::default(),
            ttft: histogram(VLLM_TTFT_BUCKETS),
            itl: histogram(VLLM_ITL_BUCKETS),
            e2e: histogram(VLLM_REQUEST_BUCKETS),
            queue: histogram(VLLM_REQUEST_BUCKETS),
            prefill: histogram(VLLM_REQUEST_BUCKETS),
            decode: histogram(VLLM_REQUEST_BUCKETS),
            inference: histogram(VLLM_REQUEST_BUCKETS),
        };
        for value in FINISHED_REASONS {
            drop(h.success.get_or_create(&reason(value)));
        }
        let gauges = [&h.running, &h.waiting];
        register_all(r, "vllm:", &VLLM_GAUGES, &gauges);
        register_all(r, "vllm:", &VLLM_RATIOS, &[&h.kv_cache_usage]);
        let counters = [
            &h.prefix_cache_queries,
            &h.prefix_cache_hits,
            &h.preemptions,
            &h.prompt_tokens,
            &h.generation_tokens,
        ];
        register_all(r, "vllm:", &VLLM_COUNTERS, &counters);
        let help = "Count of successfully processed requests";
        r.register("vllm:request_success", help, h.success.clone());
        let histograms = [
            &h.ttft,
            &h.itl,
            &h.e2e,
            &h.queue,
            &h.inference,
            &h.prefill,
            &h.decode,
        ];
        register_all(r, "vllm:", &VLLM_HISTOGRAMS, &histograms);
        h
    }

    fn record(&self, f: &Figures) {
        self.prompt_tokens.inc_by(f.prompt_tokens);
        self.generation_tokens.inc_by(f.generation_tokens);
        self.prefix_cache_queries.inc_by(f.prompt_tokens);
        self.success.get_or_create(&reason("length")).inc();
        self.ttft.observe(f.queue_s + f.first_s);
        for &gap in &f.gaps_s {
            self.itl.observe(gap);
        }
        self.e2e.observe(f.queue_s + f.last_s);
        self.queue.observe(f.queue_s);
        self.prefill.observe(f.first_s);
        self.decode.observe(f.decode_s());
        self.inference.observe(f.last_s);
    }

    fn set_live(&self, live: &Live) {
        self.running.set(int(live.gauges.running));
        self.waiting.set(int(live.gauges.waiting));
        self.kv_cache_usage.set(live.gauges.kv_usage);
    }
}

/// SGLang's series.
#[derive(Debug)]
struct Sglang {
    prompt_tokens: Counter,
    generation_tokens: Counter,
    token_usage: Ratio,
    cache_hit_rate: Ratio,
    running: Gauge,
    queued: Gauge,
    ttft: Histogram,
    e2e: Histogram,
}

impl Sglang {
    fn register(r: &mut Registry) -> Self {
        let h = Sglang {
            prompt_tokens: Counter::default(),
            generation_tokens: Counter::default(),
            token_usage: Ratio::default(),
            cache_hit_rate: Ratio::default(),
            running: Gauge::default(),
            queued: Gauge::default(),
            ttft: histogram(SGLANG_TTFT_BUCKETS),
            e2e: histogram(SGLANG_E2E_BUCKETS),
        };
        let counters = [&h.prompt_tokens, &h.generation_tokens];
        register_all(r, "sglang:", &SGLANG_COUNTERS, &counters);
        let ratios = [&h.token_usage, &h.cache_hit_rate];
        register_all(r, "sglang:", &SGLANG_RATIOS, &ratios);
        register_all(r, "sglang:", &SGLANG_GAUGES, &[&h.running, &h.queued]);
        register_all(r, "sglang:", &SGLANG_HISTOGRAMS, &[&h.ttft, &h.e2e]);
        h
    }

    fn record(&self, f: &Figures) {
        self.prompt_tokens.inc_by(f.prompt_tokens);
        self.generation_tokens.inc_by(f.generation_tokens);
        self.ttft.observe(f.queue_s + f.first_s);
        self.e2e.observe(f.queue_s + f.last_s);
    }

    fn set_live(&self, live: &Live) {
        self.running.set(int(live.gauges.running));
        self.queued.set(int(live.gauges.waiting));
        self.token_usage.set(live.gauges.kv_usage);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures() -> Figures {
        Figures {
            prompt_tokens: 10,
            generation_tokens: 3,
            queue_s: 0.0,
            first_s: 0.05,
            last_s: 0.45,
            gaps_s: vec![0.2, 0.2],
        }
    }

    fn render(flavor: MetricsFlavor) -> String {
        let e = Exporter::new(flavor, "m\"x").unwrap();
        e.record(&figures());
        e.render(&Live::default()).unwrap()
    }

    #[test]
    fn llamacpp_names_and_values() {
        let text = render(MetricsFlavor::Llamacpp);
        for line in [
            "# TYPE llamacpp:prompt_tokens_total counter\n",
            "llamacpp:prompt_tokens_total 10\n",
            "llamacpp:prompt_seconds_total 0.05\n",
            "llamacpp:tokens_predicted_total 3\n",
            "llamacpp:tokens_predicted_seconds_total 0.4\n",
            "llamacpp:n_decode_total 3\n",
            "llamacpp:n_tokens_max 12\n",
            "# TYPE llamacpp:requests_processing gauge\n",
        ] {
            assert!(text.contains(line), "{line:?} missing from\n{text}");
        }
        assert!(!text.contains("# EOF"));
    }

    #[test]
    fn vllm_labels_buckets_and_reasons() {
        let text = render(MetricsFlavor::Vllm);
        let labels = r#"engine="0",model_name="m\"x""#;
        for line in [
            format!("vllm:prompt_tokens_total{{{labels}}} 10\n"),
            format!("vllm:request_success_total{{{labels},finished_reason=\"length\"}} 1\n"),
            format!("vllm:request_success_total{{{labels},finished_reason=\"stop\"}} 0\n"),
            format!("vllm:inter_token_latency_seconds_bucket{{{labels},le=\"0.2\"}} 2\n"),
            format!("vllm:inter_token_latency_seconds_bucket{{{labels},le=\"0.15\"}} 0\n"),
            format!("vllm:e2e_request_latency_seconds_bucket{{{labels},le=\"+Inf\"}} 1\n"),
        ] {
            assert!(text.contains(&line), "{line:?} missing from\n{text}");
        }
    }

    #[test]
    fn sglang_and_none() {
        let text = render(MetricsFlavor::Sglang);
        assert!(
            text.contains("sglang:generation_tokens_total{model_name=\"m\\\"x\"} 3\n"),
            "{text}"
        );
        assert!(Exporter::new(MetricsFlavor::None, "m").is_none());
    }
}
