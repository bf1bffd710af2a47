//! `tokbench run`'s arguments: the clap definition, value parsers that turn
//! out-of-range values into usage errors (exit 2), the mode check (a flag
//! that means nothing in launch or attach mode is an error naming the flag
//! and the mode), and the conversion into the runner's [`Plan`] and
//! [`TargetSpec`]s.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::ArgMatches;
use serde_json::{Map, Value};
use tokbench_backend::{BackendKind, TemplateEngine};
use tokbench_client::{Endpoint, Shape, ShapeSet, Stresses};

use tokbench_runner::{
    BandwidthSettings, CellPlan, ClientSettings, LaunchOptions, Plan, PromptPolicy, TargetSpec,
};

use super::options::{parse_slo, ReasoningArg};
use crate::export::Format;
use tokbench_stats::Slo;

/// Flags that set a fixed plan, which turns the adaptive stop off.
const FIXED_PLAN: [&str; 2] = ["requests", "duration"];

/// Flags that configure a backend tokbench launches: (clap id, flag).
const LAUNCH_ONLY: [(&str, &str); 12] = [
    ("backend", "--backend"),
    ("backend_cmd", "--backend-cmd"),
    ("backend_file", "--backend-file"),
    ("engine", "--engine"),
    ("backend_bin", "--backend-bin"),
    ("backend_args", "--backend-arg"),
    ("threads", "--threads"),
    ("ctx_size", "--ctx-size"),
    ("port", "--port"),
    ("health_timeout", "--health-timeout"),
    ("allow_spill", "--allow-spill"),
    ("no_bandwidth", "--no-bandwidth"),
];

/// Flags that only mean something for a server tokbench attaches to.
const ATTACH_ONLY: [(&str, &str); 2] = [("model", "--model"), ("api_key", "--api-key")];

/// A usage error: clap prints it with the usage line and exits 2.
#[derive(Debug)]
pub struct UsageError {
    /// clap's classification (conflict, missing argument, bad value).
    pub kind: ErrorKind,
    /// The message, naming the flag.
    pub message: String,
}

fn parse_number<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number"))
}

/// An integer ≥ 1 (concurrency, thread and token counts).
fn at_least_one_u64(s: &str) -> Result<u64, String> {
    match parse_number::<u64>(s)? {
        0 => Err("must be at least 1".into()),
        n => Ok(n),
    }
}

/// As [`at_least_one_u64`], for `usize` flags.
fn at_least_one_usize(s: &str) -> Result<usize, String> {
    usize::try_from(at_least_one_u64(s)?).map_err(|_| "too large".into())
}

/// A finite number > 0 (`--scale`, `--rate`, `--words-per-token`).
fn positive_f64(s: &str) -> Result<f64, String> {
    let v: f64 = parse_number(s)?;
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err("must be a positive number".into())
    }
}

/// A duration > 0 (`--engine-metrics-interval`), e.g. `250ms`, `1s`.
fn positive_duration(s: &str) -> Result<Duration, String> {
    match humantime::parse_duration(s).map_err(|e| e.to_string())? {
        d if d.is_zero() => Err("must be longer than 0".into()),
        d => Ok(d),
    }
}

/// A number strictly between 0 and 1 (`--ci-target`).
fn unit_interval(s: &str) -> Result<f64, String> {
    let v: f64 = parse_number(s)?;
    if v > 0.0 && v < 1.0 {
        Ok(v)
    } else {
        Err("must be between 0 and 1 (exclusive), e.g. 0.03 for ±3%".into())
    }
}

/// A JSON object (`--extra-body`).
fn json_object(s: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str(s) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err("must be a JSON object, e.g. '{\"temperature\":0}'".into()),
        Err(e) => Err(format!("not valid JSON: {e}")),
    }
}

/// Endpoint choice on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EndpointArg {
    /// `/v1/chat/completions`.
    Chat,
    /// `/v1/completions`.
    Completions,
}

/// Parses `--backend-cmd`: a command template ([`tokbench_backend::template`]);
/// an unknown placeholder is a usage error, before anything is launched.
pub fn parse_backend_cmd(s: &str) -> Result<TemplateEngine, String> {
    TemplateEngine::from_command(s).map_err(|e| e.to_string())
}

/// The template engine of `--backend-cmd`, or `--engine NAME` of
/// `--backend-file FILE` (read here: errors name the file and line).
///
/// # Errors
/// An unreadable or invalid backends file, or no engine of that name.
pub fn template_engine(
    cmd: Option<&TemplateEngine>,
    file: Option<&std::path::Path>,
    name: Option<&str>,
) -> anyhow::Result<Option<TemplateEngine>> {
    if let Some(engine) = cmd {
        return Ok(Some(engine.clone()));
    }
    let (Some(file), Some(name)) = (file, name) else {
        return Ok(None);
    };
    let engines = tokbench_backend::engines::read_engines(file)?;
    let engine = engines
        .engine(name)
        .with_context(|| format!("--engine {name}"))?;
    Ok(Some(engine.clone()))
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
///
/// Two modes: launch (MODEL files: tokbench starts, measures and stops a
/// backend for each) and attach (`--url`: a server already running). A
/// flag that has no effect in the chosen mode is a usage error
/// ([`RunArgs::check_usage`]).
#[derive(Debug, clap::Args)]
#[command(after_help = crate::cli::EXIT_CODES_RUN)]
pub struct RunArgs {
    /// Model files to launch a backend for, one after another (GGUF for llama.cpp).
    #[arg(value_name = "MODEL")]
    pub models: Vec<PathBuf>,
    /// Attach to a running OpenAI-compatible server instead, e.g. http://127.0.0.1:8080.
    #[arg(long, conflicts_with = "models")]
    pub url: Option<String>,
    /// Attach mode: model id to request (default: the first id in GET
    /// /v1/models).
    #[arg(long)]
    pub model: Option<String>,
    /// Launch mode: backend to launch for MODEL files.
    #[arg(long, value_enum, default_value_t = BackendArg::LlamaCpp)]
    pub backend: BackendArg,
    /// Backend binary. Searched, in order: this flag, the backend's
    /// environment variable ($TOKBENCH_LLAMA_SERVER, $TOKBENCH_VLLM,
    /// $TOKBENCH_SGLANG_PYTHON, $TOKBENCH_OLLAMA), PATH, and for llama.cpp
    /// the llama-server that scripts/setup built in tokbench's cache
    /// ($TOKBENCH_CACHE_DIR, else ${XDG_CACHE_HOME:-~/.cache}/tokbench).
    #[arg(long)]
    pub backend_bin: Option<PathBuf>,
    /// Launch mode: launch any engine from this command template instead of
    /// a built-in backend, e.g. 'my-engine serve --model {model} --port
    /// {port} {args}'. Placeholders: {model} {host} {port} {threads}
    /// {ctx_size} {parallel} {args} ({args}: the --backend-args, one word
    /// each). Split like a shell would, never run by one; ready when GET
    /// /health answers 200 (a backends file can choose another check).
    #[arg(long, value_name = "TEMPLATE", value_parser = parse_backend_cmd,
          conflicts_with_all = ["backend", "backend_bin", "backend_file"])]
    pub backend_cmd: Option<TemplateEngine>,
    /// Launch mode: backends file (YAML; see examples/engines.yaml) naming
    /// engines by command template, health check, version command and
    /// environment; launch the one --engine names.
    #[arg(long, value_name = "FILE", requires = "engine",
          conflicts_with_all = ["backend", "backend_bin"])]
    pub backend_file: Option<PathBuf>,
    /// Launch mode: the engine of --backend-file to launch.
    #[arg(long, value_name = "NAME", requires = "backend_file")]
    pub engine: Option<String>,
    /// Flag passed through to the backend (repeat: --backend-arg=-ngl --backend-arg=99).
    #[arg(long = "backend-arg", allow_hyphen_values = true)]
    pub backend_args: Vec<String>,
    /// Launch mode: CPU threads for the backend (default: physical cores).
    #[arg(long, value_parser = at_least_one_usize)]
    pub threads: Option<usize>,
    /// Launch mode: backend context size (default: parallel × (largest prompt + output) + margin).
    #[arg(long, value_parser = at_least_one_u64)]
    pub ctx_size: Option<u64>,
    /// Launch mode: backend port (default: a free one).
    #[arg(long)]
    pub port: Option<u16>,
    /// Launch mode: how long to wait for the backend to become healthy.
    #[arg(long, default_value = "300s", value_parser = humantime::parse_duration)]
    pub health_timeout: Duration,
    /// Launch mode: do not measure the CPU's memory bandwidth before the
    /// first cell; the decode roofline (docs/methodology.md#decode-roofline)
    /// then uses the rig file's memory_bandwidth_gb_s, or is left out.
    #[arg(long)]
    pub no_bandwidth: bool,
    /// Launch mode: record a run whose model did not fit in VRAM instead of refusing it.
    #[arg(long)]
    pub allow_spill: bool,
    /// Workload shapes (comma list; default: chat,rag,codegen,agent in launch mode).
    #[arg(long, value_delimiter = ',')]
    pub shape: Vec<String>,
    /// Extra shapes file (YAML, same format as the shipped shapes.yaml).
    #[arg(long, conflicts_with_all = ["prompt_tokens", "output_tokens"])]
    pub shapes_file: Option<PathBuf>,
    /// Multiply every shape's token budgets (e.g. 0.1 for CPUs and tiny
    /// models); > 0.
    #[arg(long, default_value_t = 1.0, value_parser = positive_f64,
          conflicts_with_all = ["prompt_tokens", "output_tokens"])]
    pub scale: f64,
    /// Custom shape: prompt length, tokens (attach-mode default 200;
    /// replaces --shape).
    #[arg(long, value_parser = at_least_one_u64, conflicts_with = "shape")]
    pub prompt_tokens: Option<u64>,
    /// Custom shape: output length, tokens (attach-mode default 256;
    /// replaces --shape).
    #[arg(long, value_parser = at_least_one_u64, conflicts_with = "shape")]
    pub output_tokens: Option<u64>,
    /// API endpoint to drive.
    #[arg(long, value_enum, default_value_t = EndpointArg::Chat)]
    pub endpoint: EndpointArg,
    /// Concurrency levels: requests in flight; a comma list sweeps (1,4,16).
    #[arg(short = 'c', long, value_delimiter = ',', default_value = "1",
          value_parser = at_least_one_usize)]
    pub concurrency: Vec<usize>,
    /// Fixed number of measured requests per cell (default: at least max(3·c, 10),
    /// then until the 95% CI of the median gen tok/s is within ±--ci-target, or a cap).
    #[arg(short = 'n', long, value_parser = at_least_one_u64)]
    pub requests: Option<u64>,
    /// Fixed measuring time per cell (e.g. 30s, 2m) instead of the adaptive stop.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Open loop: Poisson arrivals at this many requests/s, > 0 (-c caps
    /// in-flight requests).
    #[arg(long, allow_negative_numbers = true, value_parser = positive_f64)]
    pub rate: Option<f64>,
    /// Closed loop: spread the workers' first requests over this long (e.g.
    /// 2s) instead of starting every stream in the same instant.
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration,
          conflicts_with = "rate")]
    pub ramp_up: Duration,
    /// Poll the server's Prometheus /metrics (and llama-server's /slots)
    /// this often during each cell and record the engine's own counts
    /// beside tokbench's (docs/methodology.md#engine-metrics).
    #[arg(long, default_value = "250ms", value_parser = positive_duration)]
    pub engine_metrics_interval: Duration,
    /// Do not poll the server's /metrics.
    #[arg(long, conflicts_with = "engine_metrics_interval")]
    pub no_engine_metrics: bool,
    /// Warm-up requests per cell, excluded from statistics (default: one per slot).
    #[arg(long)]
    pub warmup: Option<u64>,
    /// Adaptive stop: target relative half-width of the decode CI, in (0, 1).
    #[arg(long, default_value_t = 0.03, value_parser = unit_interval,
          conflicts_with_all = FIXED_PLAN)]
    pub ci_target: f64,
    /// Adaptive stop: request cap per cell (default: 20 per slot, at least 30).
    #[arg(long, value_parser = at_least_one_u64, conflicts_with_all = FIXED_PLAN)]
    pub max_requests: Option<u64>,
    /// Adaptive stop: time cap per cell.
    #[arg(long, default_value = "300s", value_parser = humantime::parse_duration,
          conflicts_with_all = FIXED_PLAN)]
    pub max_cell_time: Duration,
    /// Attach mode: bearer token for the server; never printed or recorded.
    #[arg(long, env = "OPENAI_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Do not send ignore_eos/min_tokens (for servers that reject them).
    #[arg(long)]
    pub no_force_length: bool,
    /// Extra JSON object merged into every request body, e.g. '{"temperature":0}'.
    #[arg(long, value_parser = json_object)]
    pub extra_body: Option<Map<String, Value>>,
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
    /// Folder for run records (default: ./runs).
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
    #[arg(long, value_name = "N", value_parser = at_least_one_u64)]
    pub prefix_cache: Option<u64>,
    /// Prompt words per token, > 0 (default: calibrated with the server's
    /// /tokenize).
    #[arg(long, value_parser = positive_f64)]
    pub words_per_token: Option<f64>,
    /// Do not draw progress bars.
    #[arg(long)]
    pub no_progress: bool,
    /// Per-request latency SLOs for goodput, KEY=MS[,KEY=MS…] with KEY
    /// ttft_ms, tpot_ms or e2e_ms (as vLLM's bench serve --goodput), e.g.
    /// ttft_ms=500,tpot_ms=50: each cell records good_requests (succeeded
    /// and met every limit), goodput_rps and goodput_pct. Not `tokbench
    /// sweep`'s --slo, which bounds a cell statistic (METRIC.STAT<=V). See
    /// docs/methodology.md#goodput.
    #[arg(long, value_name = "KEY=MS,...", value_parser = parse_slo)]
    pub slo: Option<Slo>,
    /// Ask a reasoning model to think or not: auto sends nothing; on/off
    /// send the switch of the model's family (chat_template_kwargs,
    /// /no_think, reasoning_effort; a field given with --extra-body wins).
    /// The record says what was sent and whether the model obeyed
    /// (docs/methodology.md#reasoning).
    #[arg(long, value_enum, default_value_t = ReasoningArg::Auto)]
    pub reasoning: ReasoningArg,
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
            engine_metrics: (!self.no_engine_metrics).then_some(self.engine_metrics_interval),
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

    /// Checks that depend on the shapes (a shapes file is read): exit 1 on
    /// failure, as for any bad input file.
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        for &c in &self.concurrency {
            self.plan(0).load_config(c).validate()?;
        }
        if let Some(n) = self.prefix_cache {
            for (name, shape) in self.shapes()? {
                anyhow::ensure!(
                    n + 4 <= shape.prompt_tokens,
                    "--prefix-cache {n} leaves no unique prompt in shape `{name}` \
                     ({} prompt tokens; at least 4 must stay unique)",
                    shape.prompt_tokens
                );
            }
        }
        Ok(())
    }

    /// Where records go: `--runs-dir`, else `./runs`; `None` with
    /// `--no-record`.
    pub(super) fn runs_dir(&self) -> Option<PathBuf> {
        match (&self.runs_dir, self.no_record) {
            (_, true) => None,
            (Some(d), false) => Some(d.clone()),
            (None, false) => Some(PathBuf::from("runs")),
        }
    }

    /// The targets: one launch per model file, or the `--url` server.
    ///
    /// # Errors
    /// A backends file that cannot be read or names no such engine.
    pub(super) fn targets(&self) -> anyhow::Result<Vec<TargetSpec>> {
        if let Some(url) = &self.url {
            return Ok(vec![TargetSpec::Attach {
                url: url.clone(),
                model: self.model.clone(),
                api_key: self.api_key.clone(),
            }]);
        }
        let template = template_engine(
            self.backend_cmd.as_ref(),
            self.backend_file.as_deref(),
            self.engine.as_deref(),
        )?;
        let options = LaunchOptions {
            kind: self.backend.into(),
            template: template.map(Box::new),
            binary: self.backend_bin.clone(),
            extra_args: self.backend_args.clone(),
            threads: self.threads,
            ctx_size: self.ctx_size,
            port: self.port,
            health_timeout: self.health_timeout,
            allow_spill: self.allow_spill,
            bandwidth: BandwidthSettings {
                measure: !self.no_bandwidth,
            },
        };
        Ok((self.models.iter())
            .map(|m| TargetSpec::Launch {
                model: m.clone(),
                options: options.clone(),
            })
            .collect())
    }

    /// The plan every target runs (a fresh seed unless `--seed`).
    pub(super) fn plan_all(&self) -> anyhow::Result<Plan> {
        Ok(Plan {
            shapes: self.shapes()?,
            concurrency: self.concurrency.clone(),
            cells: self.plan(self.seed.unwrap_or_else(super::fresh_seed)),
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
            extra_body: self.extra_body.clone().unwrap_or_default(),
            words_per_token: self.words_per_token,
            client: ClientSettings {
                keep_alive: self.keep_alive,
                stall_timeout: self.stall_timeout,
            },
            slo: self.slo,
            reasoning: self.reasoning.into(),
        })
    }
}

impl RunArgs {
    /// The checks clap's derive cannot express: a mode must be chosen, and a
    /// flag given on the command line that has no effect in the chosen mode
    /// is an error naming the flag and the mode. Values that come from the
    /// environment (`OPENAI_API_KEY`) or defaults are not "given".
    ///
    /// # Errors
    /// A [`UsageError`] for the first offending flag.
    pub fn check_usage(&self, matches: &ArgMatches) -> Result<(), UsageError> {
        let given = |id: &str| matches.value_source(id) == Some(ValueSource::CommandLine);
        if self.models.is_empty() && self.url.is_none() {
            return Err(UsageError {
                kind: ErrorKind::MissingRequiredArgument,
                message: "give model files to launch (tokbench run model.gguf) or --url \
                          to attach to a running server"
                    .into(),
            });
        }
        let (ignored, mode, why) = if self.url.is_some() {
            (
                &LAUNCH_ONLY[..],
                "attach mode (--url)",
                "it configures a backend that tokbench launches",
            )
        } else {
            (
                &ATTACH_ONLY[..],
                "launch mode (MODEL files)",
                "it applies to a server tokbench attaches to with --url",
            )
        };
        match ignored.iter().find(|(id, _)| given(id)) {
            Some((_, flag)) => Err(UsageError {
                kind: ErrorKind::ArgumentConflict,
                message: format!("{flag} has no effect in {mode}: {why}"),
            }),
            None => Ok(()),
        }
    }
}
