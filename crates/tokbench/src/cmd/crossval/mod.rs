//! `tokbench crossval A [B]`: do two sides give the same greedy output,
//! token for token? Each side is a backend tokbench launches from a model
//! file (with its own flags or binary), a running server (URL), or a golden
//! file saved by an earlier crossval. Each server side answers the prompt
//! set greedily (twice, for self-consistency; once more at `-c N` when
//! asked); the outputs are compared by `tokbench-crossval` after the
//! tokenization pre-check; the result is printed, written as a crossval
//! record (`kind: crossval`) and optionally checked against bars.
//!
//! Exit codes ([`args::EXIT_CODES_CROSSVAL`]): 0 compared (bars met), 1
//! failure, 2 usage error, 3 incomplete (a side's server failed part-way;
//! what it answered is compared and recorded), 6 a
//! `--min-identical`/`--max-hard`/`--min-top1` bar was missed. Definitions: `docs/methodology.md#crossval`.

mod args;
mod record;
mod report;
mod side;

use std::process::ExitCode;

use anyhow::Context;
use tokbench_crossval::{builtin, read_prompts, PromptSet};
use tokbench_probe::{HostLoadConfig, HostLoadSampler};
use tokbench_runner::assemble::now_utc;

pub use self::args::CrossvalArgs;
use self::args::SideArg;
use self::record::Comparison;
pub use self::side::longest_request_tokens;
use self::side::{SideContext, SideData};

/// Exit code when a side's server failed part-way: the prompts answered
/// before are compared and recorded (as `tokbench run`'s incomplete).
pub const EXIT_INCOMPLETE: u8 = 3;

/// Exit code when a `--min-*`/`--max-hard` bar was missed (as a failed gate).
pub const EXIT_BAR_MISSED: u8 = 6;

/// Runs `tokbench crossval`.
pub fn run(args: CrossvalArgs) -> anyhow::Result<ExitCode> {
    let set = match &args.prompts {
        Some(p) => read_prompts(p)?,
        None => builtin(),
    };
    if let Some(dir) = runs_dir(&args) {
        tokbench_runner::check_runs_dir(&dir)?;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    rt.block_on(run_async(args, set))
}

/// Where the record goes: `--runs-dir`, else `./runs`; `None` with
/// `--no-record`.
fn runs_dir(args: &CrossvalArgs) -> Option<std::path::PathBuf> {
    match (&args.runs_dir, args.no_record) {
        (_, true) => None,
        (Some(d), false) => Some(d.clone()),
        (None, false) => Some("runs".into()),
    }
}

async fn run_async(args: CrossvalArgs, set: PromptSet) -> anyhow::Result<ExitCode> {
    let started = now_utc();
    let sampler = HostLoadSampler::start(HostLoadConfig::default()).ok();
    let ctx = SideContext::new(&args, &set);
    let (arg_a, arg_b) = args.sides();
    let a = obtain(&ctx, "A", &arg_a).await?;
    let b = obtain(&ctx, "B", &arg_b).await?;
    let host_load = sampler.and_then(|s| s.stop().ok());
    let cmp = Comparison::new(&args, &set, &a, &b)?;
    let rec = record::build(&args, &set, &ctx, &a, &b, &cmp, started, host_load);
    // The record first: nothing printed, and no golden file, can lose it.
    let path = match runs_dir(&args) {
        Some(dir) => Some(tokbench_record::write_crossval(&dir, &rec)?),
        None => None,
    };
    print!("{}", report::render(&rec));
    if let Some(path) = path {
        eprintln!("record: {}", path.display());
    }
    if let Some(path) = &args.save_golden {
        side::save_golden(path, &set, &args, &a)?;
        eprintln!("golden: {} (side A)", path.display());
    }
    if let Some(reason) = &rec.run.incomplete_reason {
        eprintln!("incomplete: {reason}");
        return Ok(ExitCode::from(EXIT_INCOMPLETE));
    }
    let missed = report::missed_bars(&args, &rec.summary);
    for m in &missed {
        println!("✗ {m}");
    }
    Ok(if missed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_BAR_MISSED)
    })
}

/// One side's outputs: read from a golden file, or collected from a server.
async fn obtain(ctx: &SideContext<'_>, label: &str, arg: &SideArg) -> anyhow::Result<SideData> {
    match arg {
        SideArg::Golden(path) => side::golden_side(ctx, label, path),
        _ => side::server_side(ctx, label, arg)
            .await
            .with_context(|| format!("side {label}")),
    }
}
