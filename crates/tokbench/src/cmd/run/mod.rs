//! `tokbench run`: launch a backend for each model file (or attach to a
//! URL), run workload shapes at concurrency levels, print a results table
//! and write one YAML record per target (into `./runs` unless `--runs-dir`
//! or `--no-record`).
//!
//! Exit codes ([`crate::cli::EXIT_CODES_RUN`]): 0 every measured request succeeded; 1 failure before or
//! outside measurement (bad input, missing binary or model, unreachable
//! server, VRAM spill); 2 usage error; 3 incomplete (Ctrl-C or the backend
//! died) — completed requests are reported and recorded; 4 some measured
//! requests failed.

mod args;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokbench_backend::BackendKind;
use tokbench_client::{Cancel, ClientConfig};
use tokbench_probe::{CompositeProbe, GpuProbe, ProbeOptions, Rig};
use tokbench_record::Record;

pub use self::args::{RunArgs, UsageError};
use crate::bench::assemble::{provenance, run_info, system_section};
use crate::bench::target::{attach, launch, LaunchOptions, Target};
use crate::bench::{bench_target, check_runs_dir, initial_resources, BenchSettings, Session};
use crate::export::exporter;

/// Exit code when a run is incomplete (Ctrl-C, backend died).
pub const EXIT_INCOMPLETE: u8 = 3;
/// Exit code when some measured requests failed.
pub const EXIT_REQUEST_ERRORS: u8 = 4;

/// The command line with `--seed <drawn nonce>` appended when the seed was
/// drawn fresh, so that `provenance.reproduce` sends the same prompts.
fn reproducible_command(command_line: &[String], settings: &BenchSettings) -> Vec<String> {
    let mut argv = command_line.to_vec();
    if !settings.prompts.seed_given {
        argv.extend(["--seed".to_owned(), settings.plan.seed.to_string()]);
    }
    argv
}

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
    let settings = args.settings()?;
    if let Some(dir) = &settings.runs_dir {
        check_runs_dir(dir)?;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    rt.block_on(run_async(args, settings))
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

async fn run_async(args: RunArgs, settings: BenchSettings) -> anyhow::Result<ExitCode> {
    let (rig, gpus) = probe(&args)?;
    let cancel = Cancel::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\ninterrupted: finishing with the requests completed so far");
            on_signal.cancel();
        }
    });
    let mut records: Vec<Record> = Vec::new();
    let mut paths = Vec::new();
    let mut failure = None;
    let targets: Vec<Option<PathBuf>> = if args.url.is_some() {
        vec![None]
    } else {
        args.models.iter().cloned().map(Some).collect()
    };
    for (i, model) in targets.iter().enumerate() {
        if cancel.is_cancelled() {
            break;
        }
        match run_target(
            &args,
            &settings,
            &rig,
            gpus.clone(),
            &cancel,
            model.as_ref(),
            i as u64,
        )
        .await
        {
            Ok((record, path)) => {
                paths.extend(path);
                records.push(record);
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
        Some(e) if records.is_empty() => Err(e),
        Some(_) => Ok(ExitCode::from(1)),
        None => Ok(exit_code(&records)),
    }
}

async fn run_target(
    args: &RunArgs,
    settings: &BenchSettings,
    rig: &Rig,
    gpus: Arc<dyn GpuProbe>,
    cancel: &Cancel,
    model: Option<&PathBuf>,
    salt: u64,
) -> anyhow::Result<(Record, Option<PathBuf>)> {
    let backend_name = match model {
        Some(_) => BackendKind::from(args.backend).name().to_owned(),
        None => "server".to_owned(),
    };
    let label = model
        .and_then(|m| m.file_stem())
        .map(|s| s.to_string_lossy().into_owned())
        .or_else(|| args.model.clone())
        .unwrap_or_else(|| "model".into());
    let mut run = run_info(&label, &backend_name, &settings.mode, salt);
    let mut target = match model {
        Some(path) => {
            let log_dir = settings.runs_dir.clone().unwrap_or_else(std::env::temp_dir);
            let log = log_dir.join(format!("{}.server.log", run.id));
            run.server_log_file = Some(format!("{}.server.log", run.id));
            launch(
                path,
                &launch_options(args, settings, rig),
                &log,
                gpus.as_ref(),
            )
            .await?
        }
        None => {
            let mut cfg = ClientConfig::new(args.url.clone().unwrap_or_default());
            cfg.api_key = args.api_key.clone();
            cfg.stall_timeout = args.stall_timeout;
            cfg.keep_alive = args.keep_alive;
            attach(&cfg, args.model.clone()).await?
        }
    };
    run.flags.spill = target.vram.fit.is_spill();
    let record = Record {
        schema_version: tokbench_record::SCHEMA_VERSION,
        provenance: provenance(
            &reproducible_command(&run.command_line, settings),
            target.backend.version.as_deref(),
        ),
        run,
        system: system_section(rig),
        backend: target.backend.clone(),
        model: target.model.clone(),
        cells: Vec::new(),
        resources: initial_resources(&target),
    };
    let mut session = Session {
        record,
        dir: settings.runs_dir.clone(),
    };
    let result = bench_target(&mut target, settings, gpus, cancel, &mut session).await;
    stop_backend(&mut target).await;
    result?;
    let path = session.save()?;
    Ok((session.record, path))
}

fn launch_options(args: &RunArgs, settings: &BenchSettings, rig: &Rig) -> LaunchOptions {
    let max_c = settings.concurrency.iter().copied().max().unwrap_or(1);
    let max_tokens = settings
        .shapes
        .iter()
        .map(|(_, s)| s.prompt_tokens + s.output_tokens)
        .max()
        .unwrap_or(512);
    LaunchOptions {
        kind: args.backend.into(),
        binary: args.backend_bin.clone(),
        extra_args: args.backend_args.clone(),
        threads: args
            .threads
            .or(rig.system.cpu.physical_cores)
            .unwrap_or(rig.system.cpu.logical_threads.max(1)),
        ctx_size: args.ctx_size,
        port: args.port,
        parallel: max_c,
        // Prompts are calibrated approximately: leave 25% headroom.
        max_request_tokens: max_tokens + max_tokens / 4,
        health_timeout: args.health_timeout,
        allow_spill: args.allow_spill,
        keep_alive: args.keep_alive,
        stall_timeout: args.stall_timeout,
        prefix_caching: settings.prompts.cache_allowed,
    }
}

async fn stop_backend(target: &mut Target) {
    if let Some(p) = target.process.as_mut() {
        if let Err(e) = p.stop(Duration::from_secs(10)).await {
            eprintln!("warning: stopping the backend: {e}");
        }
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
