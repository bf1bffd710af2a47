//! The sweep's schedule: the quality gate (reference first), then every
//! round over the configurations still in the race, one server at a time,
//! racing between rounds, the SLOs at the end. Ctrl-C stops between steps
//! and keeps what was measured.

use std::sync::Arc;

use anyhow::Context;
use tokbench_client::Cancel;
use tokbench_probe::{CompositeProbe, GpuProbe, ProbeOptions, Rig};
use tokbench_runner::{Invocation, LaunchOptions, NoProgress, Plan, Runner, TargetSpec};
use tokbench_stats::{race_round, CompareOptions, Direction, RaceDecision, Statistic};

use super::args::{Objective, SweepArgs};
use super::measure::{invocation, measure_config, Measured};
use super::quality::{self, Answers, Quality, QualityContext, QualityGate};
use super::state::{ConfigState, Status};

/// The machine and the invocation every configuration shares.
pub struct SweepEnv {
    /// The machine, probed once.
    pub rig: Rig,
    /// GPUs, for VRAM snapshots around launches.
    pub gpus: Arc<dyn GpuProbe>,
    /// The sweep's invocation (each configuration's mode is its label).
    pub base: Invocation,
    /// Set by Ctrl-C.
    pub cancel: Cancel,
}

impl SweepEnv {
    /// Probes the machine (with the rig file's notes) and arms Ctrl-C.
    ///
    /// # Errors
    /// An unreadable rig file. Must run inside the async runtime.
    pub fn new(args: &SweepArgs) -> anyhow::Result<Self> {
        let opts = ProbeOptions::default();
        let gpus: Arc<dyn GpuProbe> = Arc::new(CompositeProbe::system(&opts.root));
        let mut rig = tokbench_probe::probe_rig(&opts, gpus.as_ref());
        if let Some(path) = &args.rig {
            rig = rig.with_notes(tokbench_probe::load_rig_notes(path)?);
        }
        let cancel = Cancel::new();
        let on_signal = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("\ninterrupted: reporting what was measured so far");
                on_signal.cancel();
            }
        });
        Ok(Self {
            rig,
            gpus,
            base: Invocation {
                command_line: Invocation::process_args(),
                tokbench_version: env!("CARGO_PKG_VERSION").to_owned(),
                tokbench_commit: option_env!("TOKBENCH_GIT_COMMIT").map(str::to_owned),
                mode: String::new(),
            },
            cancel,
        })
    }
}

/// A configuration's launch options: the shared ones plus its flags.
fn options_of(options: &LaunchOptions, s: &ConfigState) -> LaunchOptions {
    let mut opts = options.clone();
    opts.threads = s.threads.or(opts.threads);
    opts.extra_args.extend(s.args.iter().cloned());
    opts
}

/// The quality gate: the reference's answers (twice), then every other
/// configuration's, each judged against the reference's. A configuration
/// whose server fails here is failed with its reason and never measured.
/// Returns a note when the gate could not run (the reference failed).
pub async fn quality_phase(
    args: &SweepArgs,
    env: &SweepEnv,
    gate: &QualityGate,
    options: &LaunchOptions,
    states: &mut [ConfigState],
    reference: usize,
) -> Option<String> {
    let ctx = QualityContext {
        gate,
        model: &args.model,
        rig: &env.rig,
        gpus: env.gpus.as_ref(),
        log_dir: &std::env::temp_dir(),
    };
    let mut order: Vec<usize> = (0..states.len()).filter(|&i| i != reference).collect();
    order.insert(0, reference);
    let mut ref_answers: Option<Answers> = None;
    for i in order {
        if env.cancel.is_cancelled() {
            break;
        }
        let s = &mut states[i];
        eprintln!("[quality] {}", s.config.label);
        let opts = options_of(options, s);
        match quality::answers(&ctx, &opts, &s.config.label, i == reference).await {
            Err(reason) => fail(s, reason),
            Ok(a) if i == reference => {
                s.quality = Some(reference_quality(&a));
                ref_answers = Some(a);
            }
            Ok(a) => judge(gate, ref_answers.as_ref(), s, &a),
        }
        if i == reference && ref_answers.is_none() {
            return Some(format!(
                "no quality gate: the reference {} could not answer",
                s.config.label
            ));
        }
    }
    None
}

fn fail(s: &mut ConfigState, reason: String) {
    eprintln!("  {}: {reason}", s.config.label);
    s.status = Status::Failed { reason, path: None };
}

/// The reference against itself: passed, with its self-consistency said.
fn reference_quality(a: &Answers) -> Quality {
    let n = a.outputs.len();
    Quality {
        passed: true,
        compared: n,
        identical: n,
        hard: 0,
        near_tie: 0,
        other: 0,
        score: a.score,
        reference_score: a.score,
        note: quality::self_consistency_note(a),
    }
}

fn judge(gate: &QualityGate, reference: Option<&Answers>, s: &mut ConfigState, a: &Answers) {
    let Some(reference) = reference else { return };
    match quality::verdict(gate, reference, a) {
        Ok(q) => {
            eprintln!("  {}", q.text());
            s.quality = Some(q);
        }
        Err(e) => fail(s, format!("failed: comparing with the reference: {e}")),
    }
}

/// Every round, every configuration still in the race (a configuration
/// that failed the quality gate is measured once, to show its speed);
/// racing between rounds. Returns whether Ctrl-C stopped it.
pub async fn measure_rounds(
    args: &SweepArgs,
    env: &SweepEnv,
    plan: &Plan,
    options: &LaunchOptions,
    series: &[Objective],
    states: &mut [ConfigState],
) -> anyhow::Result<bool> {
    std::fs::create_dir_all(&args.runs_dir)
        .with_context(|| format!("cannot create {}", args.runs_dir.display()))?;
    for round in 1..=args.rounds {
        for (i, s) in states.iter_mut().enumerate() {
            let excluded = round > 1 && !s.quality_ok();
            if s.status != Status::Active || excluded || env.cancel.is_cancelled() {
                continue;
            }
            eprintln!("[round {round}/{}] {}", args.rounds, s.config.label);
            let inv = invocation(&env.base, &s.config.label);
            let runner = Runner {
                plan,
                rig: &env.rig,
                gpus: env.gpus.clone(),
                invocation: &inv,
                runs_dir: Some(args.runs_dir.clone()),
                cancel: env.cancel.clone(),
                progress: &NoProgress,
            };
            let spec = TargetSpec::Launch {
                model: args.model.clone(),
                options: options_of(options, s),
            };
            let salt = round * 10_000 + i as u64;
            apply(s, measure_config(&runner, &spec, series, salt).await);
        }
        if env.cancel.is_cancelled() {
            return Ok(true);
        }
        let higher = series[0].quantity.direction() == Direction::HigherIsBetter;
        if !args.exhaustive && round < args.rounds && !race(states, round, higher)? {
            break;
        }
    }
    Ok(false)
}

/// Adds one round's result to a configuration.
fn apply(s: &mut ConfigState, m: Measured) {
    match m {
        Measured::Ok {
            path,
            values,
            requests,
            command,
        } => {
            for (o, v) in values {
                s.values.entry(o).or_default().push(v);
            }
            s.records.push(path);
            s.requests += requests;
            s.rounds += 1;
            s.command = command.or(s.command.take());
        }
        Measured::Failed { reason, path } => {
            eprintln!("  {}: {reason}", s.config.label);
            s.records.extend(path.clone());
            s.status = Status::Failed { reason, path };
        }
    }
}

/// Drops the configurations significantly worse than the leader on the
/// first objective; `false` when at most one eligible one is left (the
/// race is over). Configurations that failed the quality gate take no
/// part: they can neither lead nor be dropped.
fn race(states: &mut [ConfigState], round: u64, higher: bool) -> anyhow::Result<bool> {
    let values: Vec<Vec<Vec<f64>>> = states
        .iter()
        .map(|s| match s.status {
            Status::Active if s.quality_ok() => s.values.get(&0).cloned().unwrap_or_default(),
            _ => Vec::new(),
        })
        .collect();
    let decided = race_round(
        &values,
        higher,
        Statistic::Median,
        &CompareOptions::default(),
    )?;
    for (i, d) in decided.decisions.iter().enumerate() {
        if let Some(RaceDecision::Drop { leader, ratio }) = d {
            let leader = states[*leader].config.label.clone();
            eprintln!(
                "  dropped {}: {:.3} × {leader}",
                states[i].config.label, ratio.ratio
            );
            states[i].status = Status::Dropped {
                round,
                leader,
                ratio: *ratio,
            };
        }
    }
    let racing = states
        .iter()
        .filter(|s| s.status == Status::Active && s.quality_ok())
        .count();
    Ok(racing > 1)
}

/// Requests measured, and what measuring every configuration that did not
/// fail in every round would have taken (one round for a configuration
/// that failed the quality gate, as either way it is measured once).
pub fn request_counts(states: &[ConfigState], args: &SweepArgs, plan: &Plan) -> (u64, u64) {
    let used = states.iter().map(|s| s.requests).sum();
    let cells = (plan.shapes.len() * plan.concurrency.len()) as u64;
    let rounds: u64 = states
        .iter()
        .filter(|s| !matches!(s.status, Status::Failed { .. }))
        .map(|s| if s.quality_ok() { args.rounds } else { 1 })
        .sum();
    (used, rounds * cells * args.requests)
}

/// The SLO misses of every measured configuration, from its pooled values
/// (`slo_series`: SLO, the cell it is checked on, its series index).
pub fn check_slos(
    states: &mut [ConfigState],
    slos: &[super::slo::Slo],
    slo_series: &[(usize, String, usize)],
) {
    for s in states.iter_mut() {
        s.slo_misses = slo_series
            .iter()
            .filter_map(|(k, cell, idx)| {
                let pooled: Vec<f64> = s.values.get(idx)?.iter().flatten().copied().collect();
                slos[*k].miss(&pooled, cell)
            })
            .collect();
    }
}
