//! Engine-independent figures of a window, through the name table.
//!
//! For each [`Canonical`] quantity the detected engine's row in
//! [`NAMES`] gives candidate series names, newest first; the
//! first name exported by any poll is used alone. Counters are summed over
//! their label sets (e.g. vLLM's `engine` label under data parallelism),
//! histograms merged bucket by bucket, gauges summed or averaged per poll
//! as [`Shape`] says.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::histogram::{bucket_add, same_bounds, HistogramDelta};
use crate::names::{entry, Canonical, Engine, Shape, NAMES};
use crate::snapshot::{Bucket, Snapshot};
use crate::window::{present_names, GaugeSummary, SeriesResults};

/// The canonical figures of a window. `None` (or an empty map) means the
/// engine does not export the quantity: absent, never 0.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CanonicalFigures {
    /// Prompt tokens processed in the window, tokens. llama.cpp counts only
    /// the tokens it evaluated, not those reused from its prompt cache.
    pub prompt_tokens: Option<f64>,
    /// Prompt tokens reused from the prompt cache, tokens (llama.cpp).
    pub prompt_tokens_cached: Option<f64>,
    /// Tokens generated in the window, tokens.
    pub generation_tokens: Option<f64>,
    /// Server time spent on prompts, seconds (llama.cpp).
    pub prompt_seconds: Option<f64>,
    /// Server time spent generating, seconds (llama.cpp).
    pub generation_seconds: Option<f64>,
    /// `prompt_tokens / prompt_seconds`, tokens/s, where the engine exports
    /// seconds (llama.cpp) and they grew.
    pub prompt_tok_s: Option<f64>,
    /// `generation_tokens / generation_seconds`, tokens/s, same condition.
    pub generation_tok_s: Option<f64>,
    /// Prefix-cache lookups in the window, tokens (vLLM).
    pub prefix_cache_queries: Option<f64>,
    /// Prefix-cache hits in the window, tokens (vLLM).
    pub prefix_cache_hits: Option<f64>,
    /// Ratio 0..1, from the first source available:
    /// `prefix_cache_hits / prefix_cache_queries` (vLLM V1);
    /// `prompt_tokens_cached / (prompt_tokens + prompt_tokens_cached)`
    /// (llama.cpp); the mean over polls of the engine's own hit-rate gauge
    /// (SGLang, vLLM V0). `None` when the denominator did not grow.
    pub prefix_cache_hit_rate: Option<f64>,
    /// Preemptions in the window.
    pub preemptions: Option<f64>,
    /// Requests finished in the window by `finished_reason` label value
    /// (`"unknown"` for a series without the label); empty when not exported.
    pub finished_by_reason: BTreeMap<String, f64>,
    /// Requests running/processing, requests.
    pub requests_running: Option<GaugeSummary>,
    /// Requests waiting/deferred (queue depth), requests.
    pub requests_waiting: Option<GaugeSummary>,
    /// KV-cache usage, ratio 0..1.
    pub kv_cache_usage: Option<GaugeSummary>,
    /// Time to first token, seconds.
    pub ttft: Option<HistogramDelta>,
    /// Inter-token latency, seconds.
    pub itl: Option<HistogramDelta>,
    /// Queue time, seconds.
    pub queue_time: Option<HistogramDelta>,
    /// Prefill time, seconds.
    pub prefill_time: Option<HistogramDelta>,
    /// Decode time, seconds.
    pub decode_time: Option<HistogramDelta>,
    /// End-to-end request latency, seconds.
    pub e2e: Option<HistogramDelta>,
}

struct Ctx<'a> {
    engine: Engine,
    polls: &'a [Snapshot],
    results: &'a SeriesResults,
    present: std::collections::BTreeSet<&'a str>,
}

impl Ctx<'_> {
    /// The first table name for `c` that some poll exports, and its scale.
    fn resolve(&self, c: Canonical) -> Option<(&'static str, f64)> {
        let e = entry(self.engine, c)?;
        let name = e.names.iter().find(|n| self.present.contains(**n))?;
        Some((name, e.scale))
    }

    fn counter(&self, c: Canonical) -> Option<f64> {
        let (name, scale) = self.resolve(c)?;
        let deltas: Vec<f64> = self
            .results
            .counters
            .iter()
            .filter(|(k, _)| k.name == name)
            .map(|(_, d)| d.delta)
            .collect();
        (!deltas.is_empty()).then(|| deltas.iter().sum::<f64>() * scale)
    }

    fn finished_by_reason(&self) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        if let Some((name, scale)) = self.resolve(Canonical::RequestsFinished) {
            for (k, d) in self.results.counters.iter().filter(|(k, _)| k.name == name) {
                let reason = k.label("finished_reason").unwrap_or("unknown").to_owned();
                *out.entry(reason).or_insert(0.0) += d.delta * scale;
            }
        }
        out
    }

    fn gauge(&self, c: Canonical) -> Option<GaugeSummary> {
        let (name, scale) = self.resolve(c)?;
        let mean = c.shape() == Shape::GaugeMean;
        let samples = self
            .polls
            .iter()
            .filter_map(|p| {
                let vals: Vec<f64> = p
                    .named(name)
                    .filter_map(|(_, s)| s.scalar())
                    .filter(|v| !v.is_nan())
                    .collect();
                if vals.is_empty() {
                    return None;
                }
                let total: f64 = vals.iter().sum();
                let v = if mean {
                    total / vals.len() as f64
                } else {
                    total
                };
                Some((p.at_s, v * scale))
            })
            .collect();
        GaugeSummary::from_samples(samples)
    }

    fn histogram(&self, c: Canonical, notes: &mut Vec<String>) -> Option<HistogramDelta> {
        let (name, scale) = self.resolve(c)?;
        let mut parts = self
            .results
            .histograms
            .iter()
            .filter(|(k, _)| k.name == name);
        let (_, first) = parts.next()?;
        let (mut count, mut sum) = (first.count, first.sum);
        let mut buckets: Option<Vec<Bucket>> = Some(first.buckets.clone());
        for (k, h) in parts {
            count += h.count;
            sum += h.sum;
            buckets = match buckets {
                Some(b) if same_bounds(&b, &h.buckets) => Some(bucket_add(&b, &h.buckets)),
                Some(_) => {
                    notes.push(format!(
                        "{name}: series {k} has other bucket bounds; merged quantiles not estimated"
                    ));
                    None
                }
                None => None,
            };
        }
        let buckets = buckets
            .unwrap_or_default()
            .into_iter()
            .map(|b| Bucket {
                le: b.le * scale,
                count: b.count,
            })
            .collect();
        Some(HistogramDelta::from_increase(count, sum * scale, buckets))
    }
}

fn ratio(num: Option<f64>, den: Option<f64>) -> Option<f64> {
    match (num, den) {
        (Some(n), Some(d)) if d > 0.0 => Some(n / d),
        _ => None,
    }
}

/// Computes the canonical figures and notes the table rows the engine
/// should export but did not.
pub(crate) fn canonical_figures(
    engine: Engine,
    polls: &[Snapshot],
    results: &SeriesResults,
    notes: &mut Vec<String>,
) -> CanonicalFigures {
    use Canonical as C;
    let ctx = Ctx {
        engine,
        polls,
        results,
        present: present_names(polls),
    };
    let mut f = CanonicalFigures {
        prompt_tokens: ctx.counter(C::PromptTokens),
        prompt_tokens_cached: ctx.counter(C::PromptTokensCached),
        generation_tokens: ctx.counter(C::GenerationTokens),
        prompt_seconds: ctx.counter(C::PromptSeconds),
        generation_seconds: ctx.counter(C::GenerationSeconds),
        prefix_cache_queries: ctx.counter(C::PrefixCacheQueries),
        prefix_cache_hits: ctx.counter(C::PrefixCacheHits),
        preemptions: ctx.counter(C::Preemptions),
        finished_by_reason: ctx.finished_by_reason(),
        requests_running: ctx.gauge(C::RequestsRunning),
        requests_waiting: ctx.gauge(C::RequestsWaiting),
        kv_cache_usage: ctx.gauge(C::KvCacheUsage),
        ttft: ctx.histogram(C::Ttft, notes),
        itl: ctx.histogram(C::Itl, notes),
        queue_time: ctx.histogram(C::QueueTime, notes),
        prefill_time: ctx.histogram(C::PrefillTime, notes),
        decode_time: ctx.histogram(C::DecodeTime, notes),
        e2e: ctx.histogram(C::E2e, notes),
        ..CanonicalFigures::default()
    };
    f.prompt_tok_s = ratio(f.prompt_tokens, f.prompt_seconds);
    f.generation_tok_s = ratio(f.generation_tokens, f.generation_seconds);
    f.prefix_cache_hit_rate = ratio(f.prefix_cache_hits, f.prefix_cache_queries).or_else(|| {
        let looked_up = f.prompt_tokens_cached.zip(f.prompt_tokens);
        ratio(f.prompt_tokens_cached, looked_up.map(|(c, p)| c + p))
    });
    let from_counters = f.prefix_cache_hit_rate.is_some();
    if !from_counters {
        f.prefix_cache_hit_rate = ctx.gauge(C::PrefixCacheHitRate).map(|g| g.mean);
    }
    note_absent(&ctx, from_counters, notes);
    f
}

fn note_absent(ctx: &Ctx<'_>, hit_rate_from_counters: bool, notes: &mut Vec<String>) {
    if ctx.engine == Engine::Unknown {
        notes.push(
            "engine not recognised (no llamacpp:, vllm: or sglang: series): \
             only per-series figures are given"
                .to_owned(),
        );
        return;
    }
    for e in NAMES.iter().filter(|e| e.engine == ctx.engine) {
        if e.canonical == Canonical::PrefixCacheHitRate && hit_rate_from_counters {
            continue;
        }
        if ctx.resolve(e.canonical).is_none() {
            notes.push(format!(
                "{:?} not exported (looked for {}): absent, not 0",
                e.canonical,
                e.names.join(", ")
            ));
        }
    }
}
