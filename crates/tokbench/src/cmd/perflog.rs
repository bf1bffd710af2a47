//! `tokbench perflog verify FILE` and `tokbench perflog append … FILE`: the
//! append-only performance log (docs/perflog.md). `verify` exits 0 when the
//! log is intact and 1 when any block was edited, deleted, inserted or
//! reordered (each problem printed as `file:line: …`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use tokbench_perflog::{Block, Row};

/// Arguments of `tokbench perflog`.
#[derive(Debug, clap::Args)]
pub struct PerflogArgs {
    /// What to do with the log.
    #[command(subcommand)]
    pub action: PerflogAction,
}

/// `tokbench perflog` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum PerflogAction {
    /// Check that no block above the last was edited, deleted or reordered.
    Verify(VerifyArgs),
    /// Append one dated block (creates the file if needed).
    Append(AppendArgs),
}

/// Arguments of `tokbench perflog verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The performance log, e.g. PERF_LOG.md.
    pub file: PathBuf,
}

/// Arguments of `tokbench perflog append`.
#[derive(Debug, clap::Args)]
pub struct AppendArgs {
    /// Title of the block, e.g. "Decode gate".
    #[arg(long)]
    pub title: String,
    /// The machine, e.g. "RTX 5070 12 GB".
    #[arg(long)]
    pub hardware: String,
    /// The model, e.g. "Qwen3-8B Q4_K_M".
    #[arg(long)]
    pub model: String,
    /// The backend and its version, e.g. "llama.cpp b5000".
    #[arg(long)]
    pub backend: String,
    /// The command line that produced the numbers.
    #[arg(long)]
    pub command: String,
    /// A table row, `metric|value` or `metric|value|gate` (a literal | as \|); repeatable.
    #[arg(long = "row", value_name = "METRIC|VALUE[|GATE]")]
    pub rows: Vec<Row>,
    /// A free line of text under the table.
    #[arg(long)]
    pub note: Option<String>,
    /// The date, YYYY-MM-DD [default: today, UTC].
    #[arg(long)]
    pub date: Option<String>,
    /// The performance log, e.g. PERF_LOG.md.
    pub file: PathBuf,
}

/// Runs `tokbench perflog`.
pub fn run(args: PerflogArgs) -> anyhow::Result<ExitCode> {
    match args.action {
        PerflogAction::Verify(a) => verify(a),
        PerflogAction::Append(a) => append(a),
    }
}

fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let report =
        tokbench_perflog::verify_file(&args.file).context("cannot verify the performance log")?;
    let file = args.file.display();
    for p in &report.problems {
        println!("{file}:{}: {}", p.line, p.what);
    }
    if report.is_ok() {
        println!("{file}: intact, {} block(s)", report.blocks);
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "{file}: {} problem(s) in {} block(s)",
            report.problems.len(),
            report.blocks
        );
        Ok(ExitCode::from(1))
    }
}

fn append(args: AppendArgs) -> anyhow::Result<ExitCode> {
    let block = Block {
        title: args.title,
        date: args.date.unwrap_or_else(tokbench_perflog::utc_date_today),
        hardware: args.hardware,
        model: args.model,
        backend: args.backend,
        command: args.command,
        rows: args.rows,
        note: args.note,
    };
    let done = tokbench_perflog::append(&args.file, &block)
        .context("cannot append to the performance log")?;
    println!(
        "{}:{}: appended block {} (hash {})",
        args.file.display(),
        done.line,
        done.block,
        done.hash
    );
    Ok(ExitCode::SUCCESS)
}
