//! A deterministic example sweep record, for tests (here, in the site
//! generator and the binary) and documentation.
//!
//! A sweep of `flash-attn` ∈ {off, on} × `threads` ∈ {2, 4, 8} on the
//! machine and model of the example run record
//! ([`crate::fixture::example_record`]), 3 rounds of 40 requests, racing,
//! with a quality gate and one SLO. Its six configurations cover every
//! outcome:
//!
//! | label | status | outcome |
//! |---|---|---|
//! | `flash-attn=off, threads=2` | measured | the reference; wins `ttft_ms@chat@1` |
//! | `flash-attn=on, threads=2` | measured | wins `decode_tok_s@chat@1` |
//! | `flash-attn=off, threads=4` | dropped | dropped by racing after round 1 |
//! | `flash-attn=on, threads=4` | measured | failed the quality gate (2 hard) |
//! | `flash-attn=off, threads=8` | failed | `refused: …` by the server |
//! | `flash-attn=on, threads=8` | measured | broke the SLO `ttft_ms.p99<=2000` |
//!
//! Configuration `n` (1-based, in the order above) measured in round `r`
//! wrote the run record `<spec.id>-c<n>-r<r>` ([`example_sweep_record_id`]).
//! Counts agree with each other: requests per configuration are rounds ×
//! 40, `requests.measured` their sum, `requests.exhaustive` 5 non-failed
//! configurations × 3 rounds × 40.

use std::collections::BTreeMap;

use crate::crossval::RecordKind;
use crate::fixture::{example_record, ExampleSpec};
use crate::schema::Provenance;
use crate::sweep::{
    ConfigStatus, QualityGateSettings, QualityResult, RankedConfig, SweepConfig, SweepModel,
    SweepObjective, SweepParameter, SweepRecord, SweepRequests, SweepRun, SweepSettings,
    SWEEP_SCHEMA_VERSION,
};

/// Requests per configuration per round in the example.
const PER_ROUND: u64 = 40;

/// The labels of the example's configurations, in launch order.
pub const EXAMPLE_SWEEP_LABELS: [&str; 6] = [
    "flash-attn=off, threads=2",
    "flash-attn=on, threads=2",
    "flash-attn=off, threads=4",
    "flash-attn=on, threads=4",
    "flash-attn=off, threads=8",
    "flash-attn=on, threads=8",
];

/// The id of the run record configuration `n` (1-based) wrote in round
/// `round` of the example sweep of `spec`: `<spec.id>-c<n>-r<round>`.
pub fn example_sweep_record_id(spec: &ExampleSpec, n: usize, round: u64) -> String {
    format!("{}-c{n}-r{round}", spec.id)
}

/// The example sweep record with id `id`, on the system of
/// [`example_record`] of `spec`.
pub fn example_sweep(id: &str, spec: &ExampleSpec) -> SweepRecord {
    let run = example_record(spec);
    let configs = configs(spec);
    let measured = configs.iter().map(|c| c.requests).sum();
    SweepRecord {
        schema_version: SWEEP_SCHEMA_VERSION,
        kind: RecordKind::Sweep,
        run: SweepRun {
            id: id.into(),
            started_utc: "2026-11-23T09:00:00Z".into(),
            finished_utc: "2026-11-23T09:42:30Z".into(),
            duration_s: 2550.0,
            tokbench_version: "0.1.0".into(),
            tokbench_commit: Some("0123abc".into()),
            command_line: [
                "tokbench",
                "sweep",
                "model.gguf",
                "--set",
                "flash-attn=off,on",
                "--set",
                "threads=2,4,8",
                "--slo",
                "ttft_ms.p99<=2000",
            ]
            .map(String::from)
            .to_vec(),
            interrupted: false,
            host_load: None,
        },
        system: run.system.clone(),
        model: SweepModel {
            file_name: Some("model.gguf".into()),
            path: "models/model.gguf".into(),
            sha256: run.model.sha256.clone(),
        },
        backend: spec.backend.0.clone(),
        space: vec![
            parameter("flash-attn", &["off", "on"]),
            parameter("threads", &["2", "4", "8"]),
        ],
        settings: settings(),
        objectives: vec![decode_objective(), ttft_objective()],
        configs,
        requests: SweepRequests {
            measured,
            exhaustive: 5 * 3 * PER_ROUND,
        },
        provenance: Provenance {
            reproduce: "tokbench sweep model.gguf --set flash-attn=off,on --set threads=2,4,8 --slo 'ttft_ms.p99<=2000'".into(),
            details: Default::default(),
        },
    }
}

fn parameter(name: &str, values: &[&str]) -> SweepParameter {
    SweepParameter {
        name: name.into(),
        values: values.iter().map(|v| (*v).to_owned()).collect(),
    }
}

fn settings() -> SweepSettings {
    SweepSettings {
        rounds: 3,
        requests_per_round: PER_ROUND,
        scale: 1.0,
        exhaustive: false,
        reference: EXAMPLE_SWEEP_LABELS[0].into(),
        quality: Some(QualityGateSettings {
            prompt_set: "builtin-v1".into(),
            prompts: 3,
            tokens: 128,
            min_identical: 2,
            max_hard: 0,
            quality_cmd: None,
            max_score_drop: None,
        }),
        slo: vec!["ttft_ms.p99<=2000".into()],
    }
}

/// A ranking entry; `ci` is the half-width of the interval.
fn ranked(
    n: usize,
    median: f64,
    ci: f64,
    samples: u64,
    reference: f64,
    eligible: bool,
) -> RankedConfig {
    RankedConfig {
        label: EXAMPLE_SWEEP_LABELS[n - 1].into(),
        median,
        ci_low: Some(median - ci),
        ci_high: Some(median + ci),
        samples,
        vs_reference_pct: (n != 1).then(|| (median / reference - 1.0) * 100.0),
        eligible,
    }
}

fn decode_objective() -> SweepObjective {
    let r = 80.0;
    SweepObjective {
        label: "decode_tok_s@chat@1".into(),
        metric: "decode_tok_s".into(),
        shape: "chat".into(),
        concurrency: 1,
        higher_is_better: true,
        unit: "tok/s".into(),
        winner: Some(EXAMPLE_SWEEP_LABELS[1].into()),
        ranking: vec![
            ranked(2, 96.0, 1.5, 120, r, true),
            ranked(1, r, 1.2, 120, r, true),
            ranked(3, 70.0, 4.0, 40, r, true),
            ranked(6, 101.0, 2.0, 120, r, false),
            ranked(4, 99.0, 1.8, 120, r, false),
        ],
    }
}

fn ttft_objective() -> SweepObjective {
    let r = 350.0;
    SweepObjective {
        label: "ttft_ms@chat@1".into(),
        metric: "ttft_ms".into(),
        shape: "chat".into(),
        concurrency: 1,
        higher_is_better: false,
        unit: "ms".into(),
        winner: Some(EXAMPLE_SWEEP_LABELS[0].into()),
        ranking: vec![
            ranked(1, r, 10.0, 120, r, true),
            ranked(2, 365.0, 12.0, 120, r, true),
            ranked(3, 420.0, 30.0, 40, r, true),
            ranked(4, 340.0, 9.0, 120, r, false),
            ranked(6, 1900.0, 150.0, 120, r, false),
        ],
    }
}

fn quality(identical: u64, hard: u64, near_tie: u64, note: Option<&str>) -> QualityResult {
    QualityResult {
        passed: identical >= 2 && hard == 0,
        compared: 3,
        identical,
        hard,
        near_tie,
        other: 3 - identical - hard - near_tie,
        score: None,
        reference_score: None,
        note: note.map(String::from),
        crossval_record: None,
    }
}

/// Configuration `n` (1-based) measured in `rounds` rounds.
fn config(spec: &ExampleSpec, n: usize, status: ConfigStatus, rounds: u64) -> SweepConfig {
    let label = EXAMPLE_SWEEP_LABELS[n - 1];
    let values: BTreeMap<String, String> = label
        .split(", ")
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let fa = values.get("flash-attn").cloned().unwrap_or_default();
    let threads = values.get("threads").cloned().unwrap_or_default();
    let command = [
        "llama-server",
        "-m",
        "models/model.gguf",
        "--flash-attn",
        &fa,
        "--threads",
        &threads,
    ];
    SweepConfig {
        label: label.into(),
        values,
        status,
        reason: None,
        dropped_after_round: None,
        rounds_measured: rounds,
        requests: rounds * PER_ROUND,
        server_command: Some(command.map(String::from).to_vec()),
        records: (1..=rounds)
            .map(|r| example_sweep_record_id(spec, n, r))
            .collect(),
        quality: None,
        slo_violations: Vec::new(),
    }
}

fn configs(spec: &ExampleSpec) -> Vec<SweepConfig> {
    let reference = config(spec, 1, ConfigStatus::Measured, 3);
    let mut winner = config(spec, 2, ConfigStatus::Measured, 3);
    winner.quality = Some(quality(3, 0, 0, None));
    let mut dropped = config(spec, 3, ConfigStatus::Dropped, 1);
    dropped.reason =
        Some("could not win decode_tok_s@chat@1: CI high 74.0 < best CI low 94.5".into());
    dropped.dropped_after_round = Some(1);
    let mut bad_quality = config(spec, 4, ConfigStatus::Measured, 3);
    bad_quality.quality = Some(quality(1, 2, 0, Some("2 hard divergences (at most 0)")));
    let mut refused = config(spec, 5, ConfigStatus::Failed, 0);
    refused.reason =
        Some("refused: llama-server exited with status 1: invalid value for --threads".into());
    refused.server_command = None;
    let mut slow = config(spec, 6, ConfigStatus::Measured, 3);
    slow.quality = Some(quality(2, 0, 1, None));
    slow.slo_violations = vec!["ttft_ms.p99<=2000".into()];
    vec![reference, winner, dropped, bad_quality, refused, slow]
}
