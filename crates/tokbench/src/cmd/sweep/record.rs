//! The sweep record (`kind: sweep`, [`tokbench_record::SweepRecord`]):
//! the space, the settings, per objective the ranking (median and its 95%
//! bootstrap interval, vs the reference, whether it can win) and the
//! winner, per configuration its status, reason, quality verdict, SLO
//! misses, server command and run record ids, and the requests racing
//! used. It ties the configurations' run records together.

use std::collections::BTreeMap;
use std::path::Path;

use tokbench_probe::HostLoadSummary;
use tokbench_record::{
    ConfigStatus, Provenance, QualityGateSettings, QualityResult, RankedConfig, RecordKind,
    SweepConfig, SweepModel, SweepObjective, SweepParameter, SweepRecord, SweepRequests, SweepRun,
    SweepSettings, SWEEP_SCHEMA_VERSION,
};
use tokbench_runner::assemble::{now_utc, shell_join, short_id, system_section};
use tokbench_runner::Invocation;
use tokbench_stats::{bootstrap_median_ci, Direction};

use super::args::{Objective, SweepArgs};
use super::quality::QualityGate;
use super::report::{median, ranking, unit_of, winner};
use super::rounds::SweepEnv;
use super::state::{ConfigState, Status};

/// What the sweep record is built from besides the configurations.
pub struct SweepFacts<'a> {
    /// The arguments.
    pub args: &'a SweepArgs,
    /// The machine.
    pub env: &'a SweepEnv,
    /// The swept parameters and their values.
    pub space: Vec<SweepParameter>,
    /// The backend's name (`llama.cpp`, `vllm`, the template engine's).
    pub backend: String,
    /// The quality gate, when on.
    pub gate: Option<&'a QualityGate>,
    /// The reference configuration's index.
    pub reference: usize,
    /// Start, UTC, RFC 3339.
    pub started: String,
    /// Seconds from start to end.
    pub duration_s: f64,
    /// Whether Ctrl-C stopped it.
    pub interrupted: bool,
    /// Host load over the sweep.
    pub host_load: Option<HostLoadSummary>,
    /// Requests measured and what measuring every configuration fully
    /// would take.
    pub requests: (u64, u64),
}

/// Builds the sweep record.
pub fn build(f: &SweepFacts<'_>, states: &[ConfigState]) -> SweepRecord {
    let args = f.args;
    let command_line = tokbench_backend::redact::redact_args(&Invocation::process_args());
    let file_name = args
        .model
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    let stem = file_name
        .as_deref()
        .map_or("model", |n| n.strip_suffix(".gguf").unwrap_or(n));
    let date = f.started.get(..10).unwrap_or("0000-00-00");
    SweepRecord {
        schema_version: SWEEP_SCHEMA_VERSION,
        kind: RecordKind::Sweep,
        run: SweepRun {
            id: format!(
                "{date}-sweep-{}-{}",
                tokbench_record::slug(stem),
                short_id(u64::from(std::process::id()))
            ),
            started_utc: f.started.clone(),
            finished_utc: now_utc(),
            duration_s: f.duration_s,
            tokbench_version: env!("CARGO_PKG_VERSION").to_owned(),
            tokbench_commit: option_env!("TOKBENCH_GIT_COMMIT").map(str::to_owned),
            command_line: command_line.clone(),
            interrupted: f.interrupted,
            host_load: f.host_load.clone().map(tokbench_runner::convert::host_load),
        },
        system: system_section(&f.env.rig),
        model: SweepModel {
            file_name,
            path: args.model.display().to_string(),
            sha256: None,
        },
        backend: f.backend.clone(),
        space: f.space.clone(),
        settings: settings(f, states),
        objectives: (args.objectives.iter().enumerate())
            .map(|(o, obj)| objective(states, o, obj, f.reference))
            .collect(),
        configs: states.iter().map(config).collect(),
        requests: SweepRequests {
            measured: f.requests.0,
            exhaustive: f.requests.1,
        },
        provenance: Provenance {
            reproduce: shell_join(&command_line),
            details: Default::default(),
        },
    }
}

fn settings(f: &SweepFacts<'_>, states: &[ConfigState]) -> SweepSettings {
    let args = f.args;
    SweepSettings {
        rounds: args.rounds,
        requests_per_round: args.requests,
        scale: args.scale,
        exhaustive: args.exhaustive,
        reference: states
            .get(f.reference)
            .map(|s| s.config.label.clone())
            .unwrap_or_default(),
        quality: f.gate.map(|g| QualityGateSettings {
            prompt_set: g.set.name.clone(),
            prompts: g.set.prompts.len() as u64,
            tokens: g.settings.tokens,
            min_identical: g.min_identical as u64,
            max_hard: g.max_hard as u64,
            quality_cmd: g.cmd.clone(),
            max_score_drop: g.cmd.as_ref().map(|_| g.max_score_drop),
        }),
        slo: args.slos.iter().map(|s| s.text.clone()).collect(),
    }
}

fn objective(
    states: &[ConfigState],
    o: usize,
    obj: &Objective,
    reference: usize,
) -> SweepObjective {
    let ref_value = states
        .get(reference)
        .and_then(|s| median(s.values.get(&o)?));
    let ranking = ranking(states, o, obj)
        .into_iter()
        .map(|(i, v)| {
            let s = &states[i];
            let pooled: Vec<f64> = (s.values.get(&o).into_iter().flatten().flatten())
                .copied()
                .collect();
            let ci = bootstrap_median_ci(&pooled, 2000, 0.95, 0x5eed)
                .ok()
                .flatten();
            RankedConfig {
                label: s.config.label.clone(),
                median: v,
                ci_low: ci.map(|c| c.lo),
                ci_high: ci.map(|c| c.hi),
                samples: pooled.len() as u64,
                vs_reference_pct: ref_value.map(|r| (v / r - 1.0) * 100.0),
                eligible: s.quality_ok() && s.slo_misses.is_empty(),
            }
        })
        .collect();
    SweepObjective {
        label: obj.label(),
        metric: obj.quantity.name().to_owned(),
        shape: obj.shape.clone(),
        concurrency: obj.concurrency as u64,
        higher_is_better: obj.quantity.direction() == Direction::HigherIsBetter,
        unit: unit_of(obj).to_owned(),
        winner: winner(states, o, obj).map(|(i, _)| states[i].config.label.clone()),
        ranking,
    }
}

fn config(s: &ConfigState) -> SweepConfig {
    let (status, reason, dropped) = match &s.status {
        Status::Active if s.rounds == 0 => (ConfigStatus::NotRun, None, None),
        Status::Active => (ConfigStatus::Measured, None, None),
        Status::Dropped {
            round,
            leader,
            ratio,
        } => (
            ConfigStatus::Dropped,
            Some(format!(
                "{:.3} [{:.3}, {:.3}] × {leader}",
                ratio.ratio, ratio.lo, ratio.hi
            )),
            Some(*round),
        ),
        Status::Failed { reason, .. } if reason == "interrupted" => {
            (ConfigStatus::Interrupted, Some(reason.clone()), None)
        }
        Status::Failed { reason, .. } => (ConfigStatus::Failed, Some(reason.clone()), None),
    };
    SweepConfig {
        label: s.config.label.clone(),
        values: s.config.values.iter().cloned().collect::<BTreeMap<_, _>>(),
        status,
        reason,
        dropped_after_round: dropped,
        rounds_measured: s.rounds,
        requests: s.requests,
        server_command: s.command.clone(),
        records: s.records.iter().filter_map(|p| stem(p)).collect(),
        quality: s.quality.as_ref().map(|q| QualityResult {
            passed: q.passed,
            compared: q.compared as u64,
            identical: q.identical as u64,
            hard: q.hard as u64,
            near_tie: q.near_tie as u64,
            other: q.other as u64,
            score: q.score,
            reference_score: q.reference_score,
            note: q.note.clone(),
            crossval_record: None,
        }),
        slo_violations: s.slo_misses.clone(),
    }
}

/// A record file's id: its file stem.
fn stem(p: &Path) -> Option<String> {
    Some(p.file_stem()?.to_string_lossy().into_owned())
}
