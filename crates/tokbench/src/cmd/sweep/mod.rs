//! `tokbench sweep MODEL --set NAME=LIST …`: find the fastest server
//! configuration. The configurations come from `tokbench-sweep` (value
//! lists, ranges, space files, flag spellings per recipe); each one is
//! launched, measured and recorded through `tokbench-runner` (one record
//! per configuration and round, its mode label the configuration), one
//! server at a time. Between rounds, racing drops the configurations that
//! are significantly slower than the leader on the first objective
//! (`tokbench_stats::racing`; `--exhaustive` measures all of them). A
//! configuration that fails (OOM, refused flag, crash) is recorded with
//! its reason and the sweep goes on; Ctrl-C keeps what was measured.
//!
//! Exit codes: 0 a winner was found; 1 no configuration could be measured;
//! 2 usage error; 3 interrupted (the result so far is printed).

mod args;
mod log;
mod measure;
mod quality;
mod record;
mod report;
mod rounds;
mod slo;
mod state;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokbench_client::{Endpoint, ShapeSet};
use tokbench_probe::{HostLoadConfig, HostLoadSampler};
use tokbench_record::SweepParameter;
use tokbench_runner::assemble::now_utc;
use tokbench_runner::{
    BandwidthSettings, CellPlan, ClientSettings, GreedySettings, LaunchOptions, Plan, PromptPolicy,
};
use tokbench_sweep::{
    check_configs, config_args, dry_run_text, flag_args, Config, Recipe, Space, SweepError,
};

use self::args::Objective;
pub use self::args::SweepArgs;
use self::quality::QualityGate;
use self::record::SweepFacts;
use self::rounds::{check_slos, measure_rounds, quality_phase, request_counts, SweepEnv};
use self::state::ConfigState;
use crate::cmd::run::{template_engine, BackendArg};

/// Exit code when the sweep was interrupted.
const EXIT_INTERRUPTED: u8 = 3;

/// Runs `tokbench sweep`.
pub fn run(args: SweepArgs) -> anyhow::Result<ExitCode> {
    let template = template_engine(
        args.backend_cmd.as_ref(),
        args.backend_file.as_deref(),
        args.engine.as_deref(),
    )?;
    let recipe = recipe_of(&args, template.as_ref());
    let (space, mut states) = configurations(&args, &recipe)?;
    let reference = reference_index(&states, args.reference.as_deref())?;
    if args.dry_run {
        print!("{}", dry_run(&args, &recipe, &states)?);
        return Ok(ExitCode::SUCCESS);
    }
    let setup = Setup {
        gate: quality_gate(&args)?,
        backend: backend_name(&args, template.as_ref()),
        options: launch_options(&args, template),
        space,
        reference,
    };
    execute(&args, &setup, &mut states)
}

/// The space and one state per configuration, every flag checked against
/// the recipe before anything is launched.
fn configurations(args: &SweepArgs, recipe: &Recipe) -> anyhow::Result<(Space, Vec<ConfigState>)> {
    let space = space(args)?;
    space.validate()?;
    let configs = space.configs();
    check_configs(recipe, &configs)?;
    let mut states = Vec::with_capacity(configs.len());
    for c in configs {
        let (threads, flags) =
            launch_args(recipe, &c).with_context(|| format!("configuration {}", c.label))?;
        let mut state = ConfigState::new(c, flags);
        state.threads = threads;
        states.push(state);
    }
    Ok((space, states))
}

/// What a sweep runs with besides the configurations.
struct Setup {
    gate: Option<QualityGate>,
    backend: String,
    options: LaunchOptions,
    space: Space,
    reference: usize,
}

/// The quality gate, the rounds, the SLOs; then the report, the sweep
/// record and the log.
fn execute(
    args: &SweepArgs,
    setup: &Setup,
    states: &mut [ConfigState],
) -> anyhow::Result<ExitCode> {
    let plan = plan(args)?;
    let (series, slo_series) = series(args);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    let started = now_utc();
    let clock = Instant::now();
    let sampler = HostLoadSampler::start(HostLoadConfig::default()).ok();
    let env = rt.block_on(async { SweepEnv::new(args) })?;
    let (interrupted, gate_note) = rt.block_on(async {
        let mut note = None;
        if let Some(gate) = &setup.gate {
            note = quality_phase(args, &env, gate, &setup.options, states, setup.reference).await;
        }
        let stopped = env.cancel.is_cancelled()
            || measure_rounds(args, &env, &plan, &setup.options, &series, states).await?;
        anyhow::Ok((stopped, note))
    })?;
    check_slos(states, &args.slos, &slo_series);
    print!(
        "{}",
        report::render(states, &args.objectives, setup.reference)
    );
    if let Some(note) = gate_note {
        println!("{note}");
    }
    let requests = request_counts(states, args, &plan);
    println!(
        "{}",
        report::requests_line(requests.0, requests.1, args.exhaustive)
    );
    let facts = SweepFacts {
        args,
        env: &env,
        space: (setup.space.params.iter())
            .map(|p| SweepParameter {
                name: p.name.clone(),
                values: p.values.clone(),
            })
            .collect(),
        backend: setup.backend.clone(),
        gate: setup.gate.as_ref(),
        reference: setup.reference,
        started,
        duration_s: clock.elapsed().as_secs_f64(),
        interrupted,
        host_load: sampler.and_then(|s| s.stop().ok()),
        requests,
    };
    write_outputs(args, &record::build(&facts, states), states)?;
    Ok(exit_code(states, interrupted))
}

/// Writes the sweep record, then appends to `--log` when asked.
fn write_outputs(
    args: &SweepArgs,
    rec: &tokbench_record::SweepRecord,
    states: &[ConfigState],
) -> anyhow::Result<()> {
    let path = tokbench_record::write_sweep(&args.runs_dir, rec).with_context(|| {
        format!(
            "cannot write the sweep record to {}",
            args.runs_dir.display()
        )
    })?;
    eprintln!("sweep record: {}", path.display());
    if let Some(log_path) = &args.log {
        let run = (states.iter().flat_map(|s| s.records.first()))
            .find_map(|p| tokbench_record::read_record(p).ok());
        log::append(log_path, rec, run.as_ref())?;
    }
    Ok(())
}

/// The backend's name for the sweep record.
fn backend_name(args: &SweepArgs, template: Option<&tokbench_backend::TemplateEngine>) -> String {
    match (template, args.backend) {
        (Some(t), _) => t.name.clone(),
        (None, BackendArg::Vllm) => "vllm".into(),
        (None, _) => "llama.cpp".into(),
    }
}

/// The quality gate from the arguments; `None` with `--no-quality`.
fn quality_gate(args: &SweepArgs) -> anyhow::Result<Option<QualityGate>> {
    if args.no_quality {
        return Ok(None);
    }
    let set = match &args.quality_prompts {
        Some(p) => tokbench_crossval::read_prompts(p)?,
        None => tokbench_crossval::builtin(),
    };
    let n = set.prompts.len();
    Ok(Some(QualityGate {
        min_identical: (args.min_identical * n as f64).ceil() as usize,
        max_hard: usize::try_from(args.max_hard).unwrap_or(usize::MAX),
        settings: GreedySettings {
            tokens: args.quality_tokens,
            seed: 42,
            top_logprobs: 5,
            concurrency: 1,
        },
        cmd: args.quality_cmd.clone(),
        max_score_drop: args.max_score_drop,
        cmd_timeout: args.quality_timeout,
        set,
    }))
}

/// The series measured per configuration: the objectives (indices 0..k),
/// then each SLO's metric on each objective's cell; with, per SLO series,
/// (SLO index, cell label, series index).
fn series(args: &SweepArgs) -> (Vec<Objective>, Vec<(usize, String, usize)>) {
    let mut series = args.objectives.clone();
    let mut cells: Vec<(String, usize)> = args
        .objectives
        .iter()
        .map(|o| (o.shape.clone(), o.concurrency))
        .collect();
    cells.sort();
    cells.dedup();
    let mut slo_series = Vec::new();
    for (k, slo) in args.slos.iter().enumerate() {
        for (shape, c) in &cells {
            slo_series.push((k, format!("{shape}@{c}"), series.len()));
            series.push(Objective {
                quantity: slo.quantity,
                shape: shape.clone(),
                concurrency: *c,
            });
        }
    }
    (series, slo_series)
}

fn exit_code(states: &[ConfigState], interrupted: bool) -> ExitCode {
    if interrupted {
        ExitCode::from(EXIT_INTERRUPTED)
    } else if states.iter().any(|s| s.can_win() && !s.values.is_empty()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The recipe that spells the parameters as server flags.
fn recipe_of(args: &SweepArgs, template: Option<&tokbench_backend::TemplateEngine>) -> Recipe {
    match template {
        Some(t) => Recipe::Template {
            flags: t.flag_spellings.clone(),
        },
        None => match args.backend {
            BackendArg::Vllm => Recipe::Vllm,
            _ => Recipe::LlamaCpp,
        },
    }
}

/// A configuration's server flags. llama.cpp's `threads` is not a flag
/// here but the launch's own thread count (so the server gets one
/// `--threads`, and the bandwidth is measured with as many threads).
fn launch_args(recipe: &Recipe, c: &Config) -> Result<(Option<usize>, Vec<String>), SweepError> {
    let mut threads = None;
    let mut flags = Vec::new();
    for (name, value) in &c.values {
        let numeric = value.parse::<usize>().ok().filter(|&t| t >= 1);
        match (recipe, name.as_str(), numeric) {
            (Recipe::LlamaCpp, "threads", Some(t)) => threads = Some(t),
            _ => flags.extend(flag_args(recipe, name, value)?),
        }
    }
    Ok((threads, flags))
}

/// The space from `--space` or the `--set`s.
fn space(args: &SweepArgs) -> anyhow::Result<Space> {
    if let Some(path) = &args.space {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        return Ok(Space::from_yaml(&text, path)?);
    }
    if args.sets.is_empty() {
        anyhow::bail!("give the parameters to sweep: --set NAME=v1,v2 (repeat) or --space FILE");
    }
    let sets = args
        .sets
        .iter()
        .map(|s| tokbench_sweep::parse_set(s))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Space::from_sets(&sets)?)
}

fn reference_index(states: &[ConfigState], label: Option<&str>) -> anyhow::Result<usize> {
    let Some(label) = label else { return Ok(0) };
    states
        .iter()
        .position(|s| s.config.label == label)
        .with_context(|| {
            let known: Vec<&str> = states.iter().map(|s| s.config.label.as_str()).collect();
            format!(
                "--reference {label:?} is none of the configurations: {}",
                known.join("; ")
            )
        })
}

/// The `--dry-run` text: each configuration and its server flags.
fn dry_run(args: &SweepArgs, recipe: &Recipe, states: &[ConfigState]) -> anyhow::Result<String> {
    let configs: Vec<Config> = states.iter().map(|s| s.config.clone()).collect();
    let program = match recipe {
        Recipe::LlamaCpp => "llama-server".to_owned(),
        Recipe::Vllm => "vllm serve".to_owned(),
        Recipe::Template { .. } => "<template>".to_owned(),
    };
    let model = args.model.display().to_string();
    let base = args.backend_args.clone();
    let text = dry_run_text(&configs, |c: &Config| {
        let mut words = vec![program.clone(), model.clone()];
        words.extend(base.iter().cloned());
        words.extend(config_args(recipe, c)?);
        Ok(words)
    })?;
    Ok(format!(
        "{text}(tokbench adds the host, port, parallel slots, context size and threads)\n"
    ))
}

/// The plan every configuration runs: the objectives' shapes and
/// concurrency levels, a fixed number of requests.
fn plan(args: &SweepArgs) -> anyhow::Result<Plan> {
    let mut names: Vec<String> = args.objectives.iter().map(|o| o.shape.clone()).collect();
    names.dedup();
    let mut concurrency: Vec<usize> = args.objectives.iter().map(|o| o.concurrency).collect();
    concurrency.sort_unstable();
    concurrency.dedup();
    let shapes = ShapeSet::builtin()?.select(&names, args.scale)?;
    Ok(Plan {
        shapes,
        concurrency,
        cells: CellPlan {
            requests: Some(args.requests),
            duration: None,
            rate: None,
            warmup: Some(1),
            min_per_slot: 1,
            max_requests: None,
            max_time: Duration::from_secs(600),
            ci_target: 0.03,
            seed: 0x5eed_5eed,
            ramp_up: Duration::ZERO,
            engine_metrics: Some(tokbench_runner::scrape::DEFAULT_INTERVAL),
        },
        endpoint: Endpoint::Chat,
        force_length: true,
        extra_body: Default::default(),
        words_per_token: None,
        prompts: PromptPolicy::default(),
        client: ClientSettings {
            keep_alive: false,
            stall_timeout: Duration::from_secs(60),
        },
        slo: None,
        reasoning: Default::default(),
    })
}

fn launch_options(
    args: &SweepArgs,
    template: Option<tokbench_backend::TemplateEngine>,
) -> LaunchOptions {
    LaunchOptions {
        kind: args.backend.into(),
        template: template.map(Box::new),
        binary: args.backend_bin.clone(),
        extra_args: args.backend_args.clone(),
        threads: None,
        ctx_size: None,
        port: None,
        health_timeout: args.health_timeout,
        allow_spill: false,
        bandwidth: BandwidthSettings {
            measure: !args.no_bandwidth,
        },
    }
}
