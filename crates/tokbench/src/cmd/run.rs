//! `tokbench run`: launch a backend for each model file (or attach to a
//! URL), run workload shapes at concurrency levels, print a results table
//! and write one YAML record per target.
//!
//! Exit codes: 0 every measured request succeeded; 1 failure before or
//! outside measurement (bad input, missing binary or model, unreachable
//! server, VRAM spill); 2 usage error; 3 incomplete (Ctrl-C or the backend
//! died) — completed requests are reported and recorded; 4 some measured
//! requests failed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use tokbench_backend::BackendKind;
use tokbench_client::{Cancel, ClientConfig, Endpoint, Shape, ShapeSet, Stresses};
use tokbench_probe::{CompositeProbe, GpuProbe, ProbeOptions, Rig};
use tokbench_record::Record;

use crate::bench::assemble::{provenance, run_info, system_section};
use crate::bench::cell::CellPlan;
use crate::bench::target::{attach, launch, LaunchOptions, Target};
use crate::bench::{
    bench_target, check_runs_dir, initial_resources, BenchSettings, PromptPolicy, Session,
};
use crate::export::{exporter, Format};

/// Exit code when a run is incomplete (Ctrl-C, backend died).
pub const EXIT_INCOMPLETE: u8 = 3;
/// Exit code when some measured requests failed.
pub const EXIT_REQUEST_ERRORS: u8 = 4;

/// Endpoint choice on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EndpointArg {
    /// `/v1/chat/completions`.
    Chat,
    /// `/v1/completions`.
    Completions,
}

/// Backend choice on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendArg {
    /// llama.cpp's llama-server.
    #[value(name = "llama.cpp", alias = "llama-cpp", alias = "llamacpp")]
    LlamaCpp,
    /// `vllm serve`.
    Vllm,
    /// `python3 -m sglang.launch_server`.
    Sglang,
    /// `ollama serve`.
    Ollama,
}

impl From<BackendArg> for BackendKind {
    fn from(b: BackendArg) -> Self {
        match b {
            BackendArg::LlamaCpp => BackendKind::LlamaCpp,
            BackendArg::Vllm => BackendKind::Vllm,
            BackendArg::Sglang => BackendKind::Sglang,
            BackendArg::Ollama => BackendKind::Ollama,
        }
    }
}

/// Arguments of `tokbench run`. Metric definitions: docs/methodology.md.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Model files to launch a backend for, one after another (GGUF for llama.cpp).
    #[arg(value_name = "MODEL")]
    pub models: Vec<PathBuf>,
    /// Attach to a running OpenAI-compatible server instead, e.g. http://127.0.0.1:8080.
    #[arg(long, conflicts_with = "models")]
    pub url: Option<String>,
    /// Model id to request (default: the first id in GET /v1/models).
    #[arg(long)]
    pub model: Option<String>,
    /// Backend to launch for MODEL files.
    #[arg(long, value_enum, default_value_t = BackendArg::LlamaCpp)]
    pub backend: BackendArg,
    /// Backend binary. Searched, in order: this flag, the backend's
    /// environment variable ($TOKBENCH_LLAMA_SERVER, $TOKBENCH_VLLM,
    /// $TOKBENCH_SGLANG_PYTHON, $TOKBENCH_OLLAMA), PATH, and for llama.cpp
    /// the llama-server that scripts/setup built in tokbench's cache
    /// ($TOKBENCH_CACHE_DIR, else ${XDG_CACHE_HOME:-~/.cache}/tokbench).
    #[arg(long)]
    pub backend_bin: Option<PathBuf>,
    /// Flag passed through to the backend (repeat: --backend-arg=-ngl --backend-arg=99).
    #[arg(long = "backend-arg", allow_hyphen_values = true)]
    pub backend_args: Vec<String>,
    /// CPU threads for the backend (default: physical cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Backend context size (default: parallel × (largest prompt + output) + margin).
    #[arg(long)]
    pub ctx_size: Option<u64>,
    /// Backend port (default: a free one).
    #[arg(long)]
    pub port: Option<u16>,
    /// How long to wait for the backend to become healthy.
    #[arg(long, default_value = "300s", value_parser = humantime::parse_duration)]
    pub health_timeout: Duration,
    /// Record a run whose model did not fit in VRAM instead of refusing it.
    #[arg(long)]
    pub allow_spill: bool,
    /// Workload shapes (comma list; default: chat,rag,codegen,agent in launch mode).
    #[arg(long, value_delimiter = ',')]
    pub shape: Vec<String>,
    /// Extra shapes file (YAML, same format as the shipped shapes.yaml).
    #[arg(long)]
    pub shapes_file: Option<PathBuf>,
    /// Multiply every shape's token budgets (e.g. 0.1 for CPUs and tiny models).
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Custom shape: prompt length, tokens (attach-mode default 200).
    #[arg(long)]
    pub prompt_tokens: Option<u64>,
    /// Custom shape: output length, tokens (attach-mode default 256).
    #[arg(long)]
    pub output_tokens: Option<u64>,
    /// API endpoint to drive.
    #[arg(long, value_enum, default_value_t = EndpointArg::Chat)]
    pub endpoint: EndpointArg,
    /// Concurrency levels: requests in flight; a comma list sweeps (1,4,16).
    #[arg(short = 'c', long, value_delimiter = ',', default_value = "1")]
    pub concurrency: Vec<usize>,
    /// Fixed number of measured requests per cell (default: until the 95% CI of
    /// the median gen tok/s is within ±--ci-target, or a cap).
    #[arg(short = 'n', long)]
    pub requests: Option<u64>,
    /// Fixed measuring time per cell (e.g. 30s, 2m) instead of the adaptive stop.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Open loop: Poisson arrivals at this many requests/s (-c caps in-flight requests).
    #[arg(long, allow_negative_numbers = true)]
    pub rate: Option<f64>,
    /// Closed loop: spread the workers' first requests over this long (e.g.
    /// 2s) instead of starting every stream in the same instant.
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    pub ramp_up: Duration,
    /// Warm-up requests per cell, excluded from statistics (default: one per slot).
    #[arg(long)]
    pub warmup: Option<u64>,
    /// Adaptive stop: target relative half-width of the decode CI.
    #[arg(long, default_value_t = 0.03)]
    pub ci_target: f64,
    /// Adaptive stop: request cap per cell (default: 20 per slot, at least 30).
    #[arg(long)]
    pub max_requests: Option<u64>,
    /// Adaptive stop: time cap per cell.
    #[arg(long, default_value = "300s", value_parser = humantime::parse_duration)]
    pub max_cell_time: Duration,
    /// Bearer token for the server; never printed or recorded.
    #[arg(long, env = "OPENAI_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Do not send ignore_eos/min_tokens (for servers that reject them).
    #[arg(long)]
    pub no_force_length: bool,
    /// Extra JSON object merged into every request body, e.g. '{"temperature":0}'.
    #[arg(long)]
    pub extra_body: Option<String>,
    /// Reuse HTTP connections between requests (default: one connection per
    /// request, as vLLM's bench serve; see docs/methodology.md).
    #[arg(long)]
    pub keep_alive: bool,
    /// Longest wait for the next bytes of a response before it counts as stalled.
    #[arg(long, default_value = "300s", value_parser = humantime::parse_duration)]
    pub stall_timeout: Duration,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Folder for run records (launch mode records by default into ./runs).
    #[arg(long)]
    pub runs_dir: Option<PathBuf>,
    /// Do not write a run record.
    #[arg(long, conflicts_with = "runs_dir")]
    pub no_record: bool,
    /// Hand-written rig notes (YAML: name, chassis, cooling, notes) merged into the record.
    #[arg(long)]
    pub rig: Option<PathBuf>,
    /// Mode label of the run (shown on the site), e.g. baseline, spec-decode.
    #[arg(long, default_value = "baseline")]
    pub mode: String,
    /// Leave the hostname out of records.
    #[arg(long)]
    pub no_hostname: bool,
    /// Seed (run nonce) of prompts and arrival schedules. Default: drawn
    /// fresh for every run and recorded as run.prompts.seed, so no prompt
    /// repeats across runs; give a recorded value to send the same prompts
    /// again (docs/methodology.md#prompt-cache).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Let the server serve prompts from its cache: do not send llama.cpp's
    /// `cache_prompt: false`, and launch vLLM/SGLang with prefix caching on.
    /// Cells where the server reused more than the shape shares are flagged
    /// prompt_cache.
    #[arg(long)]
    pub allow_prompt_cache: bool,
    /// Measure a deliberately shared prefix: every prompt starts with the
    /// same N tokens (per run), which the server may serve from its cache
    /// (implies --allow-prompt-cache; such cells are flagged prompt_cache).
    #[arg(long, value_name = "N")]
    pub prefix_cache: Option<u64>,
    /// Prompt words per token (default: calibrated with the server's /tokenize).
    #[arg(long)]
    pub words_per_token: Option<f64>,
    /// Do not draw progress bars.
    #[arg(long)]
    pub no_progress: bool,
}

impl RunArgs {
    fn plan(&self, seed: u64) -> CellPlan {
        CellPlan {
            requests: self.requests,
            duration: self.duration,
            rate: self.rate,
            warmup: self.warmup,
            min_per_slot: 3,
            max_requests: self.max_requests,
            max_time: self.max_cell_time,
            ci_target: self.ci_target,
            seed,
            ramp_up: self.ramp_up,
        }
    }

    fn shapes(&self) -> anyhow::Result<Vec<(String, Shape)>> {
        if self.prompt_tokens.is_some()
            || self.output_tokens.is_some()
            || (self.url.is_some() && self.shape.is_empty())
        {
            let shape = Shape {
                prompt_tokens: self.prompt_tokens.unwrap_or(200),
                output_tokens: self.output_tokens.unwrap_or(256),
                system_prompt: Default::default(),
                system_share: 0.0,
                stresses: Stresses::Mixed,
                description: "custom prompt/output lengths".into(),
            };
            return Ok(vec![("custom".into(), shape)]);
        }
        let mut set = ShapeSet::builtin()?;
        if let Some(f) = &self.shapes_file {
            set.extend_from_file(f)?;
        }
        Ok(set.select(&self.shape, self.scale)?)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.models.is_empty() && self.url.is_none() {
            bail!("give model files to launch (tokbench run model.gguf) or --url to attach to a server");
        }
        if self.concurrency.is_empty() {
            bail!("give at least one concurrency level with -c");
        }
        for &c in &self.concurrency {
            self.plan(0).load_config(c).validate()?;
        }
        if let Some(n) = self.prefix_cache {
            anyhow::ensure!(n > 0, "--prefix-cache must be at least 1 token");
            for (name, shape) in self.shapes()? {
                anyhow::ensure!(
                    n + 4 <= shape.prompt_tokens,
                    "--prefix-cache {n} leaves no unique prompt in shape `{name}` \
                     ({} prompt tokens; at least 4 must stay unique)",
                    shape.prompt_tokens
                );
            }
        }
        anyhow::ensure!(
            self.scale.is_finite() && self.scale > 0.0,
            "--scale must be positive"
        );
        anyhow::ensure!(
            self.ci_target > 0.0 && self.ci_target < 1.0,
            "--ci-target must be in (0, 1)"
        );
        if let Some(w) = self.words_per_token {
            anyhow::ensure!(
                w.is_finite() && w > 0.0,
                "--words-per-token must be positive"
            );
        }
        Ok(())
    }

    fn settings(&self) -> anyhow::Result<BenchSettings> {
        let extra_body = match &self.extra_body {
            None => Default::default(),
            Some(text) => {
                match serde_json::from_str(text).context("--extra-body is not valid JSON")? {
                    serde_json::Value::Object(m) => m,
                    _ => bail!("--extra-body must be a JSON object"),
                }
            }
        };
        let runs_dir = match (&self.runs_dir, self.no_record, self.url.is_some()) {
            (_, true, _) => None,
            (Some(d), _, _) => Some(d.clone()),
            (None, false, false) => Some(PathBuf::from("runs")),
            (None, false, true) => None,
        };
        Ok(BenchSettings {
            shapes: self.shapes()?,
            concurrency: self.concurrency.clone(),
            plan: self.plan(self.seed.unwrap_or_else(fresh_seed)),
            prompts: PromptPolicy {
                seed_given: self.seed.is_some(),
                cache_allowed: self.allow_prompt_cache || self.prefix_cache.is_some(),
                prefix_cache_tokens: self.prefix_cache,
            },
            endpoint: match self.endpoint {
                EndpointArg::Chat => Endpoint::Chat,
                EndpointArg::Completions => Endpoint::Completions,
            },
            force_length: !self.no_force_length,
            extra_body,
            words_per_token: self.words_per_token,
            runs_dir,
            mode: self.mode.clone(),
            progress: !self.no_progress,
        })
    }
}

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
