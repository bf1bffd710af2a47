//! Synthetic sides for known-answer tests and the compare benchmark:
//! records from `tokbench_record::fixture` with a samples sidecar whose
//! requests decode at a known rate. Shared by the tests of
//! `tokbench-compare`, `tokbench`'s gate tests and `examples/gen_sides.rs`
//! (included with `#[path]`, so there is one copy).

#![allow(dead_code)]

use std::io::Write as _;
use std::path::Path;

use rand::{RngExt as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use tokbench_record::fixture::{example_record, ExampleSpec};
use tokbench_record::write_record;
use tokbench_stats::{Channel, RequestSample, TokenEvent};

/// What one synthetic side holds.
#[derive(Debug, Clone)]
pub struct Synth {
    /// Records (runs) in the side.
    pub records: usize,
    /// Measured requests per record (one warm-up is added).
    pub requests: usize,
    /// Decode rate of every request, tok/s, before jitter.
    pub decode_tok_s: f64,
    /// Per-request relative jitter of the rate: uniform in `±jitter`.
    pub jitter: f64,
    /// Output tokens per request.
    pub tokens: u32,
    /// Rig name.
    pub rig: String,
    /// Seed of the jitter; also makes the record ids unique.
    pub seed: u64,
    /// Goodput of each record's cell, req/s (as `run --slo` records it);
    /// empty: none recorded.
    pub goodput_rps: Vec<f64>,
    /// Each record's decode-rate multiplier (a host drifting between
    /// launches); empty: 1 for every record.
    pub drift: Vec<f64>,
    /// Each record's start, minutes after 06:00 (its launch order); empty:
    /// every record starts at 06:00.
    pub started_min: Vec<u32>,
}

impl Default for Synth {
    fn default() -> Self {
        Self {
            records: 1,
            requests: 20,
            decode_tok_s: 50.0,
            jitter: 0.02,
            tokens: 64,
            rig: "ci-box".to_owned(),
            seed: 1,
            goodput_rps: Vec::new(),
            drift: Vec::new(),
            started_min: Vec::new(),
        }
    }
}

fn sample(id: u64, warmup: bool, rate: f64, tokens: u32) -> RequestSample {
    let mut s = RequestSample::new(id, warmup, id * 2_000_000, id * 2_000_000 + 50);
    let ttft = 100_000.0;
    let gap = 1e6 / rate;
    s.events = (0..tokens)
        .map(|k| TokenEvent {
            t_us: (ttft + f64::from(k) * gap) as u32,
            bytes: 4,
            channel: Channel::Content,
        })
        .collect();
    s.end_us = s.events.last().map(|e| e.t_us + 200);
    s.headers_us = Some(2_000);
    s.prompt_tokens_hint = Some(200);
    s.finish_reason = Some("length".to_owned());
    s
}

/// Writes the side's records and sidecars into `dir`.
pub fn write_side(dir: &Path, s: &Synth) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut rng = ChaCha8Rng::seed_from_u64(s.seed);
    for i in 0..s.records {
        let id = format!("2026-12-03-synth-{}-{i:05}", s.seed);
        let spec = ExampleSpec {
            id: id.clone(),
            rig: s.rig.clone(),
            decode_tok_s: s.decode_tok_s,
            shapes: vec![("chat".to_owned(), 200, u64::from(s.tokens))],
            concurrency: vec![1],
            ..ExampleSpec::default()
        };
        let mut record = example_record(&spec);
        record.run.server_log_file = None;
        record.run.samples_file = Some(format!("{id}.samples.jsonl"));
        if let (Some(&g), Some(m)) = (s.goodput_rps.get(i), record.cells[0].metrics.as_mut()) {
            m.goodput_rps = Some(g);
        }
        if let Some(&min) = s.started_min.get(i) {
            record.run.started_utc = format!("2026-11-22T{:02}:{:02}:00Z", 6 + min / 60, min % 60);
        }
        let level = s.decode_tok_s * s.drift.get(i).copied().unwrap_or(1.0);
        write_record(dir, &record).map_err(std::io::Error::other)?;
        let mut out = std::io::BufWriter::new(std::fs::File::create(
            dir.join(format!("{id}.samples.jsonl")),
        )?);
        for r in 0..=s.requests as u64 {
            let rate = level * (1.0 + rng.random_range(-s.jitter..=s.jitter));
            let mut v = serde_json::to_value(sample(r, r == 0, rate, s.tokens))?;
            v["shape"] = "chat".into();
            v["concurrency"] = 1.into();
            serde_json::to_writer(&mut out, &v)?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
    }
    Ok(())
}
