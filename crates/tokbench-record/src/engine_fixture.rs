//! Example engine metrics and load time for the example records of
//! [`crate::fixture`]: a llama-server that agrees with the client.

use std::collections::BTreeMap;

use crate::engine_metrics::{
    EngineComparison, EngineCounter, EngineFigures, EngineGauge, EngineMetrics, LoadTime,
};
use crate::metrics::CellMetrics;

/// The `/metrics` account of a cell whose client figures are `m`, as a
/// llama-server scraped every 250 ms would give it: its token counters
/// equal the client's totals, one request processing at a time per
/// `concurrency`, nothing deferred.
pub fn example_engine_metrics(m: &CellMetrics, concurrency: u64) -> EngineMetrics {
    let window_s = m.window_s.unwrap_or(1.0);
    let counter = |delta: f64| EngineCounter {
        delta,
        rate_per_s: Some(delta / window_s),
        resets: 0,
    };
    let polls = (window_s / 0.25).floor() as u64 + 1;
    let gauge = |v: f64| EngineGauge {
        min: 0.0,
        mean: v,
        max: v,
        samples: polls,
    };
    let prompt = m.total_prompt_tokens as f64;
    let generated = m.total_output_tokens as f64;
    let gen_rate = m.decode_tok_s.as_ref().map(|s| s.median);
    let mut counters = BTreeMap::new();
    counters.insert("llamacpp:prompt_tokens_total".to_owned(), counter(prompt));
    counters.insert(
        "llamacpp:tokens_predicted_total".to_owned(),
        counter(generated),
    );
    let mut gauges = BTreeMap::new();
    let running = gauge(concurrency as f64);
    gauges.insert("llamacpp:requests_processing".to_owned(), running);
    gauges.insert("llamacpp:requests_deferred".to_owned(), gauge(0.0));
    let comparisons = vec![EngineComparison {
        quantity: "generation_tokens".into(),
        server: generated,
        client: generated,
        client_source: "Σ output tokens of the measured requests".into(),
        rel_diff: Some(0.0),
        disagrees: false,
    }];
    EngineMetrics {
        engine: "llamacpp".into(),
        interval_ms: 250,
        window_s,
        polls,
        failed_polls: 0,
        figures: EngineFigures {
            prompt_tokens: Some(prompt),
            generation_tokens: Some(generated),
            generation_tok_s: gen_rate,
            requests_running: Some(running),
            requests_waiting: Some(gauge(0.0)),
            ..EngineFigures::default()
        },
        comparisons,
        counters,
        gauges,
        histograms: BTreeMap::new(),
        notes: Vec::new(),
    }
}

/// A launched server's load time: healthy after 2.5 s, first token 40 ms
/// later.
pub fn example_load_time() -> LoadTime {
    LoadTime {
        healthy_s: 2.5,
        first_request_ttft_ms: Some(40.0),
        first_token_s: Some(2.54),
    }
}
