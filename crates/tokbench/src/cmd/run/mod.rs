//! `tokbench run`: launch a backend for each model file (or attach to a
//! URL), run workload shapes at concurrency levels, print a results table
//! and write one YAML record per target (into `./runs` unless `--runs-dir`
//! or `--no-record`).
//!
//! The measuring is `tokbench-runner`'s ([`tokbench_runner::Runner`]);
//! this module turns arguments into a plan and targets, and records into
//! output and an exit code ([`crate::cli::EXIT_CODES_RUN`]): 0 every
//! measured request succeeded; 1 failure before or outside measurement
//! (bad input, missing binary or model, unreachable server, VRAM spill);
//! 2 usage error; 3 incomplete (Ctrl-C or the backend died) — completed
//! requests are reported and recorded; 4 some measured requests failed.

mod args;
mod options;

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use tokbench_client::Cancel;
use tokbench_probe::{CompositeProbe, GpuProbe, ProbeOptions, Rig};
use tokbench_record::Record;
use tokbench_runner::{check_runs_dir, Invocation, Runner};

pub use self::args::{parse_backend_cmd, template_engine, BackendArg, RunArgs, UsageError};
use crate::export::exporter;
use crate::progress::Bars;

/// Exit code when a run is incomplete (Ctrl-C, backend died).
pub const EXIT_INCOMPLETE: u8 = 3;
/// Exit code when some measured requests failed.
pub const EXIT_REQUEST_ERRORS: u8 = 4;

/// Git commit of this build (set by build.rs when built from a checkout).
const GIT_COMMIT: Option<&str> = option_env!("TOKBENCH_GIT_COMMIT");

/// A fresh run nonce: std's `RandomState` (keyed from the OS's randomness
/// once per process) hashing the clock and the process id.
fn fresh_seed() -> u64 {
    use std::hash::BuildHasher;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::collections::hash_map::RandomState::new().hash_one((now, std::process::id()))
}

/// Runs `tokbench run`.
pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    args.validate()?;
    if let Some(dir) = args.runs_dir() {
        check_runs_dir(&dir)?;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    rt.block_on(run_async(args))
}

fn probe(args: &RunArgs) -> anyhow::Result<(Rig, Arc<dyn GpuProbe>)> {
    let opts = ProbeOptions {
        include_hostname: !args.no_hostname,
        ..ProbeOptions::default()
    };
    let gpus: Arc<dyn GpuProbe> = Arc::new(CompositeProbe::system(&opts.root));
    let mut rig = tokbench_probe::probe_rig(&opts, gpus.as_ref());
    if let Some(path) = &args.rig {
        rig = rig.with_notes(tokbench_probe::load_rig_notes(path)?);
    }
    Ok((rig, gpus))
}

/// Cancels `cancel` on Ctrl-C.
fn cancel_on_ctrl_c(cancel: &Cancel) {
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\ninterrupted: finishing with the requests completed so far");
            on_signal.cancel();
        }
    });
}

async fn run_async(args: RunArgs) -> anyhow::Result<ExitCode> {
    let targets = args.targets()?;
    let plan = args.plan_all()?;
    let (rig, gpus) = probe(&args)?;
    let invocation = Invocation {
        command_line: Invocation::process_args(),
        tokbench_version: env!("CARGO_PKG_VERSION").to_owned(),
        tokbench_commit: GIT_COMMIT.map(str::to_owned),
        mode: args.mode.clone(),
    };
    let bars = Bars {
        enabled: !args.no_progress,
    };
    let runner = Runner {
        plan: &plan,
        rig: &rig,
        gpus,
        invocation: &invocation,
        runs_dir: args.runs_dir(),
        cancel: Cancel::new(),
        progress: &bars,
    };
    cancel_on_ctrl_c(&runner.cancel);
    let (mut records, mut paths, mut failure) = (Vec::new(), Vec::new(), None);
    for (i, spec) in targets.iter().enumerate() {
        if runner.cancel.is_cancelled() {
            break;
        }
        match runner.run(spec, i as u64).await {
            Ok(out) => {
                paths.extend(out.path);
                records.push(out.record);
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                failure = Some(e);
            }
        }
    }
    if !records.is_empty() {
        print!("{}", exporter(args.format).render(&records)?);
    }
    for p in &paths {
        eprintln!("record: {}", p.display());
    }
    match failure {
        Some(e) if records.is_empty() => Err(e.into()),
        Some(_) => Ok(ExitCode::from(1)),
        None => Ok(exit_code(&records)),
    }
}

fn exit_code(records: &[Record]) -> ExitCode {
    if records.iter().any(|r| r.run.flags.incomplete) {
        return ExitCode::from(EXIT_INCOMPLETE);
    }
    let failed = records
        .iter()
        .flat_map(|r| &r.cells)
        .filter_map(|c| c.metrics.as_ref())
        .any(|m| m.ok < m.requests);
    if failed {
        ExitCode::from(EXIT_REQUEST_ERRORS)
    } else {
        ExitCode::SUCCESS
    }
}
