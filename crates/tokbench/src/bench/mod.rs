//! Benchmarking one target: every (shape × concurrency) cell, with the
//! record written after each cell so that a crash or Ctrl-C loses nothing.

pub mod assemble;
pub mod cell;
pub mod convert;
pub mod target;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use serde_json::{Map, Value};
use tokbench_client::calibrate::{
    calibrate_with_tokenizer, chat_prefix_tokens, tokenize_count, words_per_token_from_usage,
    CalibrationMethod,
};
use tokbench_client::prompt::shared_prefix_text;
use tokbench_client::{Cancel, Endpoint, RequestTemplate, SendClock, Shape};
use tokbench_probe::{GpuProbe, HostLoadConfig, HostLoadSampler, PowerSampler, PowerSamplerConfig};
use tokbench_record::{write_record, PromptSettings, Record, Resources};
use tokbench_stats::{prompt_cache, RequestSample};

use self::cell::{measure_cell, skipped_cell, CellJob, CellPlan};
use self::target::{CacheControl, Target};

/// Settings shared by every target of an invocation.
#[derive(Debug, Clone)]
pub struct BenchSettings {
    /// Selected shapes, already scaled.
    pub shapes: Vec<(String, Shape)>,
    /// Concurrency levels.
    pub concurrency: Vec<usize>,
    /// How many requests each cell runs.
    pub plan: CellPlan,
    /// Endpoint to drive.
    pub endpoint: Endpoint,
    /// Send `ignore_eos` / `min_tokens`.
    pub force_length: bool,
    /// Extra JSON merged into bodies.
    pub extra_body: Map<String, Value>,
    /// Words per token given by the user (skips calibration).
    pub words_per_token: Option<f64>,
    /// Where records go; `None` = no record.
    pub runs_dir: Option<PathBuf>,
    /// Mode label of the record.
    pub mode: String,
    /// Draw progress bars.
    pub progress: bool,
    /// How prompts relate to the server's prompt cache.
    pub prompts: PromptPolicy,
}

/// How a run's prompts relate to the server's prompt cache
/// (docs/methodology.md#prompt-cache). The seed itself is
/// [`CellPlan::seed`].
#[derive(Debug, Clone, Copy, Default)]
pub struct PromptPolicy {
    /// The seed came from `--seed` (else it was drawn fresh).
    pub seed_given: bool,
    /// The server may reuse cached prompts (`--allow-prompt-cache`,
    /// `--prefix-cache`).
    pub cache_allowed: bool,
    /// Tokens of the deliberately shared prefix (`--prefix-cache N`).
    pub prefix_cache_tokens: Option<u64>,
}

/// The record being built for one target, and where it goes.
pub struct Session {
    /// The record so far.
    pub record: Record,
    /// Runs folder, when recording.
    pub dir: Option<PathBuf>,
}

impl Session {
    /// Writes the record (atomically) and returns its path.
    ///
    /// # Errors
    /// I/O failures naming the file.
    pub fn save(&self) -> anyhow::Result<Option<PathBuf>> {
        match &self.dir {
            None => Ok(None),
            Some(dir) => Ok(Some(write_record(dir, &self.record)?)),
        }
    }

    /// Appends one cell's samples to the sidecar JSON Lines file.
    fn append_samples(
        &self,
        shape: &str,
        c: usize,
        samples: &[RequestSample],
    ) -> anyhow::Result<()> {
        let (Some(dir), Some(name)) = (&self.dir, &self.record.run.samples_file) else {
            return Ok(());
        };
        let path = dir.join(name);
        let mut buf = Vec::new();
        for s in samples {
            let mut v = serde_json::to_value(s)?;
            v["shape"] = Value::from(shape);
            v["concurrency"] = Value::from(c);
            serde_json::to_writer(&mut buf, &v)?;
            buf.push(b'\n');
        }
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(&buf))
            .with_context(|| format!("could not append samples to {}", path.display()))
    }
}

/// Fails early, before any server starts, when `dir` cannot hold records.
///
/// # Errors
/// The directory cannot be created or written.
pub fn check_runs_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("runs folder {} cannot be created", dir.display()))?;
    let probe = dir.join(format!(".tokbench-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .with_context(|| format!("runs folder {} is not writable", dir.display()))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

async fn words_per_token(
    target: &Target,
    settings: &BenchSettings,
    notes: &mut Vec<String>,
) -> f64 {
    if let Some(w) = settings.words_per_token {
        notes.push(format!(
            "prompt calibration: {w} words/token given by the user"
        ));
        return w;
    }
    if let Some(c) = calibrate_with_tokenizer(&target.client, &target.model_id).await {
        notes.push(format!(
            "prompt calibration: {:.3} words/token from the server's /tokenize",
            c.words_per_token
        ));
        return c.words_per_token;
    }
    let probe = RequestTemplate::chat(&target.model_id, 200, 2);
    let mut sample = RequestSample::new(0, true, 0, 0);
    target
        .client
        .execute(&probe.spec(u64::MAX - 1), &mut sample, &SendClock::start())
        .await;
    let words = probe.prompt_text(u64::MAX - 1).split_whitespace().count() as u64;
    match sample
        .usage
        .and_then(|u| words_per_token_from_usage(words, u.prompt_tokens))
    {
        Some(c) if c.method == CalibrationMethod::Usage => {
            notes.push(format!(
                "prompt calibration: {:.3} words/token from usage.prompt_tokens",
                c.words_per_token
            ));
            c.words_per_token
        }
        _ => {
            notes.push("prompt calibration: none possible; assuming 0.75 words/token".into());
            0.75
        }
    }
}

/// The request template of `shape` as cell number `cell` of the run:
/// unique prompts per run nonce and cell, the deliberate shared prefix of
/// `--prefix-cache`, and `cache_prompt: false` where the server takes it and
/// the shape shares nothing on purpose.
fn template_for(
    target: &Target,
    settings: &BenchSettings,
    shape: &Shape,
    wpt: f64,
    cell: u64,
) -> RequestTemplate {
    let mut t = shape.template(&target.model_id);
    t.endpoint = settings.endpoint;
    t.force_length = settings.force_length;
    t.extra = settings.extra_body.clone();
    t.words_per_token = wpt;
    t.seed = settings.plan.seed;
    t.cell = cell;
    if let Some(n) = settings.prompts.prefix_cache_tokens {
        t.shared_prefix = Some(shared_prefix_text(n, wpt, t.seed));
        t.prompt_tokens = t.prompt_tokens.saturating_sub(n).max(4);
    }
    let ask = !settings.prompts.cache_allowed
        && target.cache_control == CacheControl::RequestField
        && t.shared_text().is_none();
    if ask && !t.extra.contains_key("cache_prompt") {
        t.cache_prompt = Some(false);
    }
    t
}

/// Prompt tokens a template's requests share on purpose, leaving out the
/// deliberate `--prefix-cache` prefix (whose reuse is to be flagged): the
/// chat prompt up to the user message, rendered and tokenized by the server
/// ([`chat_prefix_tokens`]); else the system prompt's tokens by `/tokenize`
/// (else estimated from its words and the calibration) plus
/// [`prompt_cache::MIN_TOKENS`] for the chat template's wrapping.
async fn intended_shared_tokens(target: &Target, t: &RequestTemplate) -> u64 {
    let Some(system) = &t.system_prompt else {
        return 0;
    };
    if t.endpoint == Endpoint::Chat {
        if let Some(n) = chat_prefix_tokens(&target.client, system).await {
            return n;
        }
    }
    let tokens = match tokenize_count(&target.client, &target.model_id, system).await {
        Some(n) => n,
        None => (system.split_whitespace().count() as f64 / t.words_per_token).round() as u64,
    };
    tokens + prompt_cache::MIN_TOKENS
}

/// The record's `run.prompts`.
fn prompt_settings(target: &Target, settings: &BenchSettings) -> PromptSettings {
    let p = settings.prompts;
    PromptSettings {
        seed: settings.plan.seed,
        seed_given: p.seed_given,
        cache_allowed: p.cache_allowed,
        cache_control: match settings.extra_body.get("cache_prompt") {
            // The user's --extra-body wins over tokbench's own field.
            Some(v) => Some(format!("cache_prompt: {v} (--extra-body)")),
            None if p.cache_allowed => None,
            None => target.cache_control.describe(),
        },
        shared_prefix_tokens: p.prefix_cache_tokens,
    }
}

/// Measures every cell for one target, writing the record after each.
/// Returns the finished record (also when interrupted: flagged incomplete).
///
/// # Errors
/// Record I/O failures; request failures are recorded, not returned.
pub async fn bench_target(
    target: &mut Target,
    settings: &BenchSettings,
    gpus: Arc<dyn GpuProbe>,
    cancel: &Cancel,
    session: &mut Session,
) -> anyhow::Result<()> {
    let wpt = words_per_token(target, settings, &mut session.record.run.notes).await;
    session.record.run.prompts = Some(prompt_settings(target, settings));
    let backend_pid = target.process.as_ref().map(|p| p.pid());
    let mut tracked = vec![std::process::id()];
    tracked.extend(backend_pid);
    let run_load = HostLoadSampler::start(HostLoadConfig {
        tracked_pids: tracked.clone(),
        ..HostLoadConfig::default()
    })
    .ok();
    let power = PowerSampler::start(
        gpus,
        PowerSamplerConfig {
            backend_pid,
            ..PowerSamplerConfig::default()
        },
    )
    .ok();
    session.save()?;
    'cells: for (name, shape) in &settings.shapes {
        let mut template = template_for(target, settings, shape, wpt, 0);
        let intended = intended_shared_tokens(target, &template).await;
        for &c in &settings.concurrency {
            template.cell = session.record.cells.len() as u64;
            let need = shape.prompt_tokens + shape.output_tokens;
            if let Some(limit) = target.context_per_request.filter(|&l| need > l) {
                let why =
                    format!("needs {need} tokens per request but the context per slot is {limit}");
                session
                    .record
                    .run
                    .notes
                    .push(format!("skipped {name} at c={c}: {why}"));
                session
                    .record
                    .cells
                    .push(skipped_cell(name, c, &template, why));
                continue;
            }
            let job = CellJob {
                shape: name,
                concurrency: c,
                template: template.clone(),
                intended_shared_tokens: intended,
                tracked_pids: tracked.clone(),
                progress: settings.progress,
            };
            let out = measure_cell(&target.client, job, &settings.plan, cancel).await?;
            session.append_samples(name, c, &out.samples)?;
            session.record.cells.push(out.cell);
            if out.cancelled {
                mark_incomplete(session, "interrupted (Ctrl-C); completed requests are kept");
                break 'cells;
            }
            if let Some(p) = target.process.as_mut() {
                if !p.is_running() {
                    let log = p.log_path().display().to_string();
                    mark_incomplete(
                        session,
                        &format!("the backend exited during the run; see {log}"),
                    );
                    break 'cells;
                }
            }
            session.save()?;
        }
    }
    finish(session, run_load, power);
    Ok(())
}

fn mark_incomplete(session: &mut Session, reason: &str) {
    session.record.run.flags.incomplete = true;
    session.record.run.incomplete_reason = Some(reason.to_owned());
}

fn finish(session: &mut Session, load: Option<HostLoadSampler>, power: Option<PowerSampler>) {
    let r = &mut session.record;
    r.run.ended_utc = Some(assemble::now_utc());
    r.run.host_load = load.and_then(|s| s.stop().ok()).map(convert::host_load);
    r.run.flags.noisy = r.cells.iter().any(|c| c.noisy);
    r.run.flags.prompt_cache = r.cells.iter().any(|c| c.prompt_cache);
    let power = power.and_then(|p| p.stop().ok());
    let tokens: u64 = r
        .cells
        .iter()
        .filter_map(|c| c.metrics.as_ref())
        .map(|m| m.total_output_tokens)
        .sum();
    let energy = power
        .as_ref()
        .and_then(|p| match (p.gpu_energy_j, p.cpu_package_energy_j) {
            (None, None) => None,
            (g, c) => Some(g.unwrap_or(0.0) + c.unwrap_or(0.0)),
        });
    r.resources.backend_peak_rss_bytes = power.as_ref().and_then(|p| p.backend_peak_rss_bytes);
    r.resources.j_per_output_token = energy.filter(|_| tokens > 0).map(|e| e / tokens as f64);
    r.resources.power = power.map(convert::power);
}

/// The resources section before measurement (VRAM snapshots and verdict).
pub fn initial_resources(target: &Target) -> Resources {
    Resources {
        vram_before_bytes: target.vram.before.iter().map(|r| r.used_bytes).collect(),
        vram_after_bytes: target.vram.after.iter().map(|r| r.used_bytes).collect(),
        vram_fit: convert::vram_fit(target.vram.fit.clone()),
        backend_peak_rss_bytes: None,
        power: None,
        j_per_output_token: None,
    }
}
