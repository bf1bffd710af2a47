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
mod measure;
mod report;
mod state;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokbench_client::{Cancel, Endpoint, ShapeSet};
use tokbench_probe::{CompositeProbe, GpuProbe, ProbeOptions};
use tokbench_runner::{
    BandwidthSettings, CellPlan, ClientSettings, Invocation, LaunchOptions, NoProgress, Plan,
    PromptPolicy, Runner, TargetSpec,
};
use tokbench_stats::{race_round, CompareOptions, Direction, RaceDecision, Statistic};
use tokbench_sweep::{
    check_configs, config_args, dry_run_text, flag_args, Config, Recipe, Space, SweepError,
};

pub use self::args::SweepArgs;
use self::measure::{invocation, measure_config, Measured};
use self::state::{ConfigState, Status};
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
    let space = space(&args)?;
    space.validate()?;
    let configs = space.configs();
    check_configs(&recipe, &configs)?;
    let mut states = Vec::with_capacity(configs.len());
    for c in configs {
        let (threads, flags) =
            launch_args(&recipe, &c).with_context(|| format!("configuration {}", c.label))?;
        let mut state = ConfigState::new(c, flags);
        state.threads = threads;
        states.push(state);
    }
    let reference = reference_index(&states, args.reference.as_deref())?;
    if args.dry_run {
        print!("{}", dry_run(&args, &recipe, &states)?);
        return Ok(ExitCode::SUCCESS);
    }
    let plan = plan(&args)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    let options = launch_options(&args, template);
    let interrupted = rt.block_on(sweep(&args, &plan, &options, &mut states))?;
    print!("{}", report::render(&states, &args.objectives, reference));
    let (used, full) = request_counts(&states, &args, &plan);
    println!("{}", report::requests_line(used, full, args.exhaustive));
    Ok(exit_code(&states, interrupted))
}

fn exit_code(states: &[ConfigState], interrupted: bool) -> ExitCode {
    if interrupted {
        ExitCode::from(EXIT_INTERRUPTED)
    } else if states
        .iter()
        .any(|s| s.status == Status::Active && !s.values.is_empty())
    {
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

/// Every round, every configuration still in the race; racing between
/// rounds. Returns whether Ctrl-C stopped it.
async fn sweep(
    args: &SweepArgs,
    plan: &Plan,
    options: &LaunchOptions,
    states: &mut [ConfigState],
) -> anyhow::Result<bool> {
    let opts = ProbeOptions::default();
    let gpus: Arc<dyn GpuProbe> = Arc::new(CompositeProbe::system(&opts.root));
    let mut rig = tokbench_probe::probe_rig(&opts, gpus.as_ref());
    if let Some(path) = &args.rig {
        rig = rig.with_notes(tokbench_probe::load_rig_notes(path)?);
    }
    let base = Invocation {
        command_line: Invocation::process_args(),
        tokbench_version: env!("CARGO_PKG_VERSION").to_owned(),
        tokbench_commit: option_env!("TOKBENCH_GIT_COMMIT").map(str::to_owned),
        mode: String::new(),
    };
    let cancel = Cancel::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\ninterrupted: reporting what was measured so far");
            on_signal.cancel();
        }
    });
    std::fs::create_dir_all(&args.runs_dir)
        .with_context(|| format!("cannot create {}", args.runs_dir.display()))?;
    for round in 1..=args.rounds {
        for (i, s) in states.iter_mut().enumerate() {
            if s.status != Status::Active || cancel.is_cancelled() {
                continue;
            }
            eprintln!("[round {round}/{}] {}", args.rounds, s.config.label);
            let inv = invocation(&base, &s.config.label);
            let runner = Runner {
                plan,
                rig: &rig,
                gpus: gpus.clone(),
                invocation: &inv,
                runs_dir: Some(args.runs_dir.clone()),
                cancel: cancel.clone(),
                progress: &NoProgress,
            };
            let mut opts = options.clone();
            opts.threads = s.threads.or(opts.threads);
            opts.extra_args.extend(s.args.iter().cloned());
            let spec = TargetSpec::Launch {
                model: args.model.clone(),
                options: opts,
            };
            let salt = round * 10_000 + i as u64;
            apply(
                s,
                measure_config(&runner, &spec, &args.objectives, salt).await,
            );
        }
        if cancel.is_cancelled() {
            return Ok(true);
        }
        let higher = args.objectives[0].quantity.direction() == Direction::HigherIsBetter;
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
/// first objective; `false` when at most one is left (the race is over).
fn race(states: &mut [ConfigState], round: u64, higher: bool) -> anyhow::Result<bool> {
    let values: Vec<Vec<Vec<f64>>> = states
        .iter()
        .map(|s| match s.status {
            Status::Active => s.values.get(&0).cloned().unwrap_or_default(),
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
    Ok(states.iter().filter(|s| s.status == Status::Active).count() > 1)
}

/// Requests measured, and what measuring every configuration that did not
/// fail in every round would have taken.
fn request_counts(states: &[ConfigState], args: &SweepArgs, plan: &Plan) -> (u64, u64) {
    let used = states.iter().map(|s| s.requests).sum();
    let cells = (plan.shapes.len() * plan.concurrency.len()) as u64;
    let measurable = states
        .iter()
        .filter(|s| !matches!(s.status, Status::Failed { .. }))
        .count() as u64;
    (used, measurable * args.rounds * cells * args.requests)
}
