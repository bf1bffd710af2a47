//! The engine's own account on run pages: each cell's `/metrics` figures,
//! their comparison with tokbench's, every other exported series, and a
//! launched server's load time (docs/methodology.md, "Engine metrics",
//! "Load time"). Series names come from the server: they are text, escaped
//! by the templates like every fact.

use tokbench_record::{EngineComparison, EngineGauge, EngineHistogram, EngineMetrics, LoadTime};

use crate::facts::Fact;
use crate::format;

/// A token or request count: grouped digits when whole, else one decimal.
fn amount(v: f64) -> String {
    if v.fract() == 0.0 && (0.0..1e15).contains(&v) {
        format::count(v as u64)
    } else {
        format::num(Some(v))
    }
}

/// A gauge as `mean (min–max)`.
fn gauge_text(g: &EngineGauge) -> String {
    format!(
        "{} ({}–{})",
        format::num(Some(g.mean)),
        format::num(Some(g.min)),
        format::num(Some(g.max))
    )
}

/// A latency histogram in ms: `mean, p50, p99 (n)`.
fn histogram_ms(h: &EngineHistogram) -> String {
    let ms = |v: Option<f64>| format::num(v.map(|s| s * 1000.0));
    format!(
        "mean {} ms, p50 {} ms, p99 {} ms ({} observations)",
        ms(h.mean),
        ms(h.p50),
        ms(h.p99),
        format::num(Some(h.count))
    )
}

/// The facts of one cell's engine metrics.
pub fn engine_facts(e: &EngineMetrics) -> Vec<Fact> {
    let mut out = vec![Fact::new(
        "Engine metrics",
        format!(
            "{}: {} polls every {} ms over {} s ({} failed)",
            e.engine,
            e.polls,
            e.interval_ms,
            format::num(Some(e.window_s)),
            e.failed_polls
        ),
    )];
    let f = &e.figures;
    let mut opt = |label: &str, v: Option<String>| {
        if let Some(v) = v {
            out.push(Fact::new(label, v));
        }
    };
    let num = |v: Option<f64>| v.map(|x| format::num(Some(x)));
    opt("Engine prompt tokens", f.prompt_tokens.map(amount));
    opt(
        "Engine prompt tokens from cache",
        f.prompt_tokens_cached.map(amount),
    );
    opt("Engine generated tokens", f.generation_tokens.map(amount));
    opt("Engine prompt tok/s", num(f.prompt_tok_s));
    opt("Engine generation tok/s", num(f.generation_tok_s));
    opt(
        "Engine prefix-cache hit rate",
        f.prefix_cache_hit_rate.map(format::percent),
    );
    opt("Engine preemptions", f.preemptions.map(amount));
    opt(
        "Engine requests running",
        f.requests_running.as_ref().map(gauge_text),
    );
    opt(
        "Engine queue depth",
        f.requests_waiting.as_ref().map(gauge_text),
    );
    opt(
        "Engine KV-cache usage",
        f.kv_cache_usage.as_ref().map(gauge_text),
    );
    opt("Busy slots (/slots)", f.slots_busy.as_ref().map(gauge_text));
    opt("Engine TTFT", f.ttft_s.as_ref().map(histogram_ms));
    opt("Engine ITL", f.itl_s.as_ref().map(histogram_ms));
    opt(
        "Engine queue time",
        f.queue_time_s.as_ref().map(histogram_ms),
    );
    opt("Engine E2E", f.e2e_s.as_ref().map(histogram_ms));
    out.extend(e.comparisons.iter().map(comparison_fact));
    out.extend(series_facts(e));
    out.extend(e.notes.iter().map(|n| Fact::new("Engine note", n.clone())));
    out
}

/// One server-vs-tokbench comparison.
fn comparison_fact(c: &EngineComparison) -> Fact {
    let diff = c.rel_diff.map_or_else(|| "—".into(), format::percent);
    let verdict = if c.disagrees { "DISAGREE" } else { "agree" };
    Fact::new(
        format!("Engine vs tokbench: {}", c.quantity),
        format!(
            "{} vs {} ({}; {diff} apart, {verdict})",
            amount(c.server),
            amount(c.client),
            c.client_source
        ),
    )
}

/// Every exported counter and gauge, one fact each kind.
fn series_facts(e: &EngineMetrics) -> Vec<Fact> {
    let counters: Vec<String> = e
        .counters
        .iter()
        .map(|(k, c)| format!("{k} +{}", amount(c.delta)))
        .collect();
    let gauges: Vec<String> = e
        .gauges
        .iter()
        .map(|(k, g)| format!("{k} {}", gauge_text(g)))
        .collect();
    let mut out = Vec::new();
    if !counters.is_empty() {
        out.push(Fact::new("Engine counters (increase)", counters.join("; ")));
    }
    if !gauges.is_empty() {
        out.push(Fact::new(
            "Engine gauges, mean (min–max)",
            gauges.join("; "),
        ));
    }
    out
}

/// The load-time fact of a launched server.
pub fn load_time_fact(l: &LoadTime) -> Fact {
    let first = match (l.first_request_ttft_ms, l.first_token_s) {
        (Some(ttft), Some(s)) => format!(
            "; first token {} s after start (first request's TTFT {} ms)",
            format::num(Some(s)),
            format::num(Some(ttft))
        ),
        _ => String::new(),
    };
    Fact::new(
        "Load time",
        format!(
            "healthy {} s after start{first}",
            format::num(Some(l.healthy_s))
        ),
    )
}
