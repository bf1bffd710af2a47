//! `tokbench run`: benchmark an OpenAI-compatible server (attach mode).
//!
//! For each concurrency level in `-c` (a comma list sweeps, as llama-bench
//! does) the load engine runs warm-up then measured requests; metrics are
//! computed afterwards (docs/methodology.md) and printed by one exporter.
//!
//! Exit codes: 0 every measured request succeeded; 1 failure before or
//! outside measurement (bad URL, unreachable server); 2 usage error;
//! 3 interrupted (Ctrl-C) — completed requests are still reported;
//! 4 some measured requests failed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use tokbench_client::{
    run_load, Cancel, Client, ClientConfig, Endpoint, LoadConfig, Progress, RequestTemplate,
    StopReason,
};
use tokbench_stats::CellMetrics;
use tokbench_stats::{RequestSample, SummaryOptions};

use crate::export::{exporter, Format};
use crate::progress::ProgressDisplay;
use crate::report::{CellReport, RunReport, Target};

/// Exit code when the run was interrupted.
pub const EXIT_INTERRUPTED: u8 = 3;
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

impl From<EndpointArg> for Endpoint {
    fn from(e: EndpointArg) -> Self {
        match e {
            EndpointArg::Chat => Endpoint::Chat,
            EndpointArg::Completions => Endpoint::Completions,
        }
    }
}

/// Arguments of `tokbench run`. Metric definitions: docs/methodology.md.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// OpenAI-compatible server to attach to, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    pub url: String,
    /// Model id to request (default: the first id in GET /v1/models).
    #[arg(long)]
    pub model: Option<String>,
    /// API endpoint to drive.
    #[arg(long, value_enum, default_value_t = EndpointArg::Chat)]
    pub endpoint: EndpointArg,
    /// Prompt length per request, tokens (approximate unless calibrated).
    #[arg(long, default_value_t = 200)]
    pub prompt_tokens: u64,
    /// Output length per request, tokens (forced with max_tokens, ignore_eos, min_tokens).
    #[arg(long, default_value_t = 256)]
    pub output_tokens: u64,
    /// Concurrency levels: requests in flight; a comma list sweeps (1,4,16).
    #[arg(short = 'c', long, value_delimiter = ',', default_value = "1")]
    pub concurrency: Vec<usize>,
    /// Measured requests per level (default: max(10, 4 × concurrency) unless --duration).
    #[arg(short = 'n', long)]
    pub requests: Option<u64>,
    /// Stop issuing measured requests after this long per level (e.g. 30s, 2m).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Open loop: Poisson arrivals at this many requests/s (-c caps in-flight requests).
    #[arg(long, allow_negative_numbers = true)]
    pub rate: Option<f64>,
    /// Warm-up requests per level, excluded from statistics.
    #[arg(long, default_value_t = 1)]
    pub warmup: u64,
    /// Bearer token for the server; never printed or recorded.
    #[arg(long, env = "OPENAI_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Do not send ignore_eos/min_tokens (for servers that reject them).
    #[arg(long)]
    pub no_force_length: bool,
    /// Extra JSON object merged into every request body, e.g. '{"temperature":0}'.
    #[arg(long)]
    pub extra_body: Option<String>,
    /// Longest wait for the next bytes of a response before it counts as stalled.
    #[arg(long, default_value = "300s", value_parser = humantime::parse_duration)]
    pub stall_timeout: Duration,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write every request's raw sample (timestamps, token events) as JSON Lines.
    #[arg(long)]
    pub save_samples: Option<PathBuf>,
    /// Seed for prompts and arrival schedules.
    #[arg(long, default_value_t = 0x746f_6b62)]
    pub seed: u64,
    /// Prompt words per token (calibration; 1.0 is exact for the emulator).
    #[arg(long, default_value_t = 1.0)]
    pub words_per_token: f64,
    /// Do not draw progress bars.
    #[arg(long)]
    pub no_progress: bool,
}

impl RunArgs {
    fn load_config(&self, concurrency: usize) -> LoadConfig {
        let requests = match (self.requests, self.duration) {
            (None, None) => Some((4 * concurrency as u64).max(10)),
            (n, _) => n,
        };
        LoadConfig {
            concurrency,
            rate: self.rate,
            requests,
            duration: self.duration,
            warmup: self.warmup,
            seed: self.seed,
            adaptive: None,
        }
    }

    fn template(&self, model: &str) -> anyhow::Result<RequestTemplate> {
        let mut t = RequestTemplate::chat(model, self.prompt_tokens, self.output_tokens);
        t.endpoint = self.endpoint.into();
        t.force_length = !self.no_force_length;
        t.words_per_token = self.words_per_token;
        t.seed = self.seed;
        if let Some(extra) = &self.extra_body {
            let v: serde_json::Value =
                serde_json::from_str(extra).context("--extra-body is not valid JSON")?;
            match v {
                serde_json::Value::Object(m) => t.extra = m,
                _ => bail!("--extra-body must be a JSON object"),
            }
        }
        if !(self.words_per_token.is_finite() && self.words_per_token > 0.0) {
            bail!("--words-per-token must be positive");
        }
        Ok(t)
    }
}

/// Runs `tokbench run`.
pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    if args.concurrency.is_empty() {
        bail!("give at least one concurrency level with -c");
    }
    for &c in &args.concurrency {
        args.load_config(c).validate()?;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    rt.block_on(run_async(args))
}

/// Resolves the model id: the flag, else the first entry of `/v1/models`.
async fn resolve_model(client: &Client, model: Option<String>) -> anyhow::Result<String> {
    if let Some(m) = model {
        return Ok(m);
    }
    let models = client.get_json("/v1/models").await.with_context(|| {
        format!(
            "could not list models at {} (pass --model to skip this)",
            client.base_url()
        )
    })?;
    models["data"][0]["id"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| {
            format!(
                "{}/v1/models lists no model; pass --model",
                client.base_url()
            )
        })
}

async fn run_async(args: RunArgs) -> anyhow::Result<ExitCode> {
    let mut cfg = ClientConfig::new(&args.url);
    cfg.api_key = args.api_key.clone();
    cfg.stall_timeout = args.stall_timeout;
    let client = Client::new(&cfg)?;
    let model = resolve_model(&client, args.model.clone()).await?;
    let template = Arc::new(args.template(&model)?);
    let cancel = Cancel::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\ninterrupted: finishing with the requests completed so far");
            on_signal.cancel();
        }
    });
    let mut cells = Vec::new();
    let mut all_samples: Vec<(usize, Vec<RequestSample>)> = Vec::new();
    for &c in &args.concurrency {
        let load = args.load_config(c);
        let progress = Arc::new(Progress::default());
        let display = ProgressDisplay::start(
            format!("c={c}"),
            load.requests.map(|n| n + load.warmup),
            progress.clone(),
            !args.no_progress,
        );
        let result = run_load(
            client.clone(),
            template.clone(),
            &load,
            cancel.clone(),
            progress,
        )
        .await?;
        display.finish();
        let metrics = CellMetrics::compute(&result.samples, &SummaryOptions::default());
        cells.push(CellReport {
            shape: "custom".into(),
            concurrency: c,
            rate_rps: args.rate,
            prompt_tokens_target: args.prompt_tokens,
            output_tokens_target: args.output_tokens,
            stop: result.stop,
            metrics,
        });
        all_samples.push((c, result.samples));
        if result.stop == StopReason::Cancelled {
            break;
        }
    }
    let report = RunReport {
        tokbench_version: env!("CARGO_PKG_VERSION").into(),
        target: Target {
            url: client.base_url().to_owned(),
            model,
            endpoint: format!("{:?}", args.endpoint).to_lowercase(),
        },
        cells,
    };
    print!("{}", exporter(args.format).render(&report)?);
    if let Some(path) = &args.save_samples {
        write_samples(path, &all_samples)?;
    }
    Ok(exit_code(&report))
}

fn exit_code(report: &RunReport) -> ExitCode {
    if report.cells.iter().any(|c| c.stop == StopReason::Cancelled) {
        return ExitCode::from(EXIT_INTERRUPTED);
    }
    if report
        .cells
        .iter()
        .any(|c| c.metrics.ok < c.metrics.requests)
    {
        return ExitCode::from(EXIT_REQUEST_ERRORS);
    }
    ExitCode::SUCCESS
}

/// Writes samples as JSON Lines, atomically (temp file, then rename).
fn write_samples(path: &PathBuf, cells: &[(usize, Vec<RequestSample>)]) -> anyhow::Result<()> {
    let mut out = String::new();
    for (c, samples) in cells {
        for s in samples {
            let mut v = serde_json::to_value(s)?;
            v["concurrency"] = serde_json::json!(c);
            out.push_str(&serde_json::to_string(&v)?);
            out.push('\n');
        }
    }
    let tmp = path.with_extension("jsonl.tmp");
    std::fs::write(&tmp, out).with_context(|| format!("could not write {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("could not move {} into place", tmp.display()))?;
    Ok(())
}
