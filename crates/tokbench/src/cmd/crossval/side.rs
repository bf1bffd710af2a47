//! One side of a crossval: a golden file read back, or a server launched
//! or attached to through the runner's one launch path, asked for the
//! prompt set greedily (first run with the tokenization pre-check, a second
//! run for self-consistency, a run at `-c N` for batch invariance).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokbench_crossval::{read_golden, write_golden, Golden, Output, PromptSet, GOLDEN_VERSION};
use tokbench_probe::{CompositeProbe, GpuProbe, ProbeOptions, Rig};
use tokbench_record::{BackendSection, ModelSection, SideSource, TokenSource};
use tokbench_runner::{
    attach, collect_side, launch, ClientSettings, GreedySettings, LaunchOptions, LaunchSizing,
    SideRun, Target,
};

use super::args::{CrossvalArgs, SideArg};

/// What every side needs: the arguments, the prompts, the machine.
pub struct SideContext<'a> {
    /// The command's arguments.
    pub args: &'a CrossvalArgs,
    /// The prompts.
    pub set: &'a PromptSet,
    /// The machine, probed once.
    pub rig: Rig,
    /// GPUs, for VRAM snapshots around a launch.
    gpus: Arc<dyn GpuProbe>,
    /// Request settings of the runs at concurrency 1.
    pub settings: GreedySettings,
}

impl<'a> SideContext<'a> {
    /// Probes the machine and fixes the request settings.
    pub fn new(args: &'a CrossvalArgs, set: &'a PromptSet) -> Self {
        let opts = ProbeOptions::default();
        let gpus: Arc<dyn GpuProbe> = Arc::new(CompositeProbe::system(&opts.root));
        let rig = tokbench_probe::probe_rig(&opts, gpus.as_ref());
        SideContext {
            args,
            set,
            rig,
            gpus,
            settings: GreedySettings {
                tokens: args.tokens,
                seed: args.seed,
                top_logprobs: args.top_logprobs,
                concurrency: 1,
            },
        }
    }
}

/// One side's outputs and what produced them.
pub struct SideData {
    /// `A` or `B`.
    pub label: String,
    /// Launched, attached or golden.
    pub source: SideSource,
    /// One line describing the side.
    pub description: String,
    /// The server, when the side is one.
    pub backend: Option<BackendSection>,
    /// The model, when known.
    pub model: Option<ModelSection>,
    /// The golden file's name, for a golden side.
    pub golden_file: Option<String>,
    /// The first run (with the pre-check facts).
    pub first: SideRun,
    /// The second run at concurrency 1, unless skipped or golden.
    pub second: Option<Vec<Output>>,
    /// The run at `-c N`, when asked.
    pub batch: Option<Vec<Output>>,
    /// Runs that ended early (a request failed), one message each.
    pub failures: Vec<String>,
}

/// A golden side, checked against the prompt set and `--tokens`.
///
/// # Errors
/// An unreadable golden file, or one that answers other prompts or was
/// generated with another `--tokens`.
pub fn golden_side(ctx: &SideContext<'_>, label: &str, path: &Path) -> anyhow::Result<SideData> {
    let g = read_golden(path)?;
    let sha = ctx.set.sha256();
    anyhow::ensure!(
        g.prompt_set_sha256 == sha,
        "{}: golden file answers prompt set {} ({}), not {} ({sha}); pass the same --prompts",
        path.display(),
        g.prompt_set,
        g.prompt_set_sha256,
        ctx.set.name
    );
    anyhow::ensure!(
        g.tokens == ctx.args.tokens as u32,
        "{}: golden file was generated with --tokens {}, this comparison uses {}",
        path.display(),
        g.tokens,
        ctx.args.tokens
    );
    let steps = || g.outputs.iter().flat_map(|o| &o.steps);
    let token_source = if steps().any(|s| s.logprob.is_some()) {
        TokenSource::Logprobs
    } else if steps().any(|s| s.id.is_some()) {
        TokenSource::Tokenize
    } else {
        TokenSource::Characters
    };
    let top = g
        .outputs
        .iter()
        .all(|o| o.steps.is_empty() || o.steps.iter().any(|s| !s.top.is_empty()));
    Ok(SideData {
        label: label.into(),
        source: SideSource::Golden,
        description: format!("golden file {} ({})", file_name(path), g.source),
        backend: None,
        model: None,
        golden_file: Some(file_name(path)),
        first: SideRun {
            usage_prompt_tokens: vec![None; g.outputs.len()],
            outputs: g.outputs,
            token_source,
            top_logprobs: top,
            failure: None,
            count_mismatches: Vec::new(),
        },
        second: None,
        batch: None,
        failures: Vec::new(),
    })
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Writes side `a`'s first run as a golden file.
///
/// # Errors
/// Side A did not answer every prompt (a golden file is a complete
/// reference), or the file cannot be written.
pub fn save_golden(
    path: &Path,
    set: &PromptSet,
    args: &CrossvalArgs,
    a: &SideData,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        a.first.failure.is_none(),
        "not writing golden file {}: side A did not answer every prompt",
        path.display()
    );
    let golden = Golden {
        version: GOLDEN_VERSION,
        prompt_set: set.name.clone(),
        prompt_set_sha256: set.sha256(),
        tokens: u32::try_from(args.tokens).unwrap_or(u32::MAX),
        outputs: a.first.outputs.clone(),
        source: a.description.clone(),
    };
    write_golden(path, &golden).with_context(|| format!("writing {}", path.display()))
}

/// A server side: launched or attached, asked for every run, stopped.
///
/// # Errors
/// Launch or attach failures. A failed request or an unreadable response
/// is not an error: the side keeps what it answered
/// ([`SideData::failures`]).
pub async fn server_side(
    ctx: &SideContext<'_>,
    label: &str,
    arg: &SideArg,
) -> anyhow::Result<SideData> {
    let mut target = connect(ctx, label, arg).await?;
    let (first, second, batch, failures) = all_runs(ctx, &target).await;
    // A server that died cannot be stopped cleanly; its answers stand.
    if let Err(e) = target.stop().await {
        eprintln!("warning: side {label}: stopping the server: {e}");
    }
    let source = if target.process.is_some() {
        SideSource::Launched
    } else {
        SideSource::Attached
    };
    Ok(SideData {
        label: label.into(),
        source,
        description: describe(&target),
        backend: Some(target.backend.clone()),
        model: Some(target.model.clone()),
        golden_file: None,
        first,
        second,
        batch,
        failures,
    })
}

type Runs = (
    SideRun,
    Option<Vec<Output>>,
    Option<Vec<Output>>,
    Vec<String>,
);

/// The first run, then (when it answered every prompt) the second run and
/// the batch run; each failure is kept as a message, and the outputs
/// answered before it are kept too.
async fn all_runs(ctx: &SideContext<'_>, target: &Target) -> Runs {
    let prompts = &ctx.set.prompts;
    let mut failures = Vec::new();
    let mut note = |what: &str, run: &SideRun| {
        if let Some(f) = &run.failure {
            failures.push(format!("{what}: {f}"));
        }
    };
    let first = collect_side(target, prompts, &ctx.settings, true).await;
    note("first run", &first);
    if first.failure.is_some() {
        return (first, None, None, failures);
    }
    let second = if ctx.args.no_self_check {
        None
    } else {
        let run = collect_side(target, prompts, &ctx.settings, false).await;
        note("self-consistency run", &run);
        Some(run.outputs)
    };
    let batch = if ctx.args.concurrency > 1 {
        let settings = GreedySettings {
            concurrency: usize::try_from(ctx.args.concurrency).unwrap_or(usize::MAX),
            ..ctx.settings
        };
        let run = collect_side(target, prompts, &settings, false).await;
        note("batch-invariance run", &run);
        Some(run.outputs)
    } else {
        None
    };
    (first, second, batch, failures)
}

/// `backend version · model · flags`.
fn describe(target: &Target) -> String {
    let b = &target.backend;
    let mut s = format!(
        "{} {} · {}",
        b.name,
        b.version.as_deref().unwrap_or("(version unknown)"),
        target
            .model
            .file_name
            .as_deref()
            .unwrap_or(&target.model_id)
    );
    if !b.flags.is_empty() {
        s.push_str(&format!(" · {}", b.flags.join(" ")));
    }
    s
}

async fn connect(ctx: &SideContext<'_>, label: &str, arg: &SideArg) -> anyhow::Result<Target> {
    let args = ctx.args;
    let client = ClientSettings {
        keep_alive: false,
        stall_timeout: Duration::from_secs(300),
    };
    let (url_model, extra, binary, template) = if label == "A" {
        (
            &args.a_model,
            &args.a_args,
            &args.a_backend_bin,
            &args.a_backend_cmd,
        )
    } else {
        (
            &args.b_model,
            &args.b_args,
            &args.b_backend_bin,
            &args.b_backend_cmd,
        )
    };
    match arg {
        SideArg::Url(url) => {
            Ok(attach(url, url_model.clone(), args.api_key.clone(), &client).await?)
        }
        SideArg::Model(model) => {
            let opts = LaunchOptions {
                kind: args.backend.into(),
                template: template.clone().map(Box::new),
                binary: binary.clone(),
                extra_args: extra.clone(),
                threads: args
                    .threads
                    .map(|t| usize::try_from(t).unwrap_or(usize::MAX)),
                ctx_size: args.ctx_size,
                port: None,
                health_timeout: args.health_timeout,
                allow_spill: false,
                // crossval measures no speed: no roofline.
                bandwidth: tokbench_runner::BandwidthSettings { measure: false },
            };
            let cpu = &ctx.rig.system.cpu;
            let sizing = LaunchSizing {
                parallel: usize::try_from(args.concurrency).unwrap_or(1),
                max_request_tokens: longest_request_tokens(ctx.set, args.tokens),
                default_threads: cpu.physical_cores.unwrap_or(cpu.logical_threads.max(1)),
                prefix_caching: false,
            };
            let log = log_path(label);
            Ok(
                launch(model, &opts, &sizing, &client, &log, ctx.gpus.as_ref())
                    .await
                    .with_context(|| format!("server log: {}", log.display()))?,
            )
        }
        SideArg::Golden(_) => anyhow::bail!("internal: a golden side has no server"),
    }
}

/// A generous bound on a request's tokens before any tokenizer is known:
/// ⅔ of a token per character of the longest prompt (English runs near ¼),
/// plus the output and a chat template's share.
pub fn longest_request_tokens(set: &PromptSet, tokens: u64) -> u64 {
    let chars = set
        .prompts
        .iter()
        .map(|p| match &p.messages {
            Some(m) => m.iter().map(|m| m.content.chars().count()).sum(),
            None => p.text.as_deref().map_or(0, |t| t.chars().count()),
        })
        .max()
        .unwrap_or(0) as u64;
    chars * 2 / 3 + tokens + 128
}

/// The launched server's log: the temp folder, one file per side and
/// process.
fn log_path(label: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "tokbench-crossval-{}-{}.server.log",
        std::process::id(),
        label.to_lowercase()
    ))
}
