//! `tokbench compare BASE NEW [MORE…]`: NEW/BASE ratios per paired cell
//! and metric, with bootstrap intervals, Holm-adjusted Mann–Whitney
//! p-values and verdicts (docs/methodology.md#comparing-runs). Also the
//! statistics and `--log` arguments `tokbench gate` shares.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use tokbench_compare::export::{
    CsvExporter, Exporter, JsonExporter, MarkdownExporter, TableExporter,
};
use tokbench_compare::{compare_sides, load_side, LogContext, MetricSpec, Settings, Side};
use tokbench_stats::CompareOptions;

/// Output formats of `tokbench compare`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Terminal tables, verdicts with arrows.
    Table,
    /// Markdown: a pull-request comment or $GITHUB_STEP_SUMMARY.
    Md,
    /// The whole comparison as JSON.
    Json,
    /// CSV, one line per cell, metric and side.
    Csv,
}

/// The statistics' settings, shared by compare and gate.
#[derive(Debug, Clone, clap::Args)]
pub struct StatsArgs {
    /// Noise threshold: changes within ±noise are "same" (e.g. 2% or 0.02).
    #[arg(long, default_value = "2%", value_parser = parse_fraction)]
    pub noise: f64,
    /// Confidence level of the intervals, in (0, 1).
    #[arg(long, default_value_t = 0.95, value_parser = parse_open_unit)]
    pub level: f64,
    /// Bootstrap resamples.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(100..=1_000_000))]
    pub resamples: u64,
    /// Seed of the bootstrap (same seed, same intervals).
    #[arg(long, default_value_t = tokbench_stats::DEFAULT_SEED)]
    pub seed: u64,
    /// Significance level for the Holm-adjusted p-value, in (0, 1).
    #[arg(long, default_value_t = 0.05, value_parser = parse_open_unit)]
    pub alpha: f64,
    /// Fewest values per side for a verdict other than "inconclusive".
    #[arg(long, default_value_t = 10)]
    pub min_samples: usize,
    /// Most values per side the bootstrap resamples (a seeded subsample
    /// beyond it: a wider, never narrower, interval).
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(100..))]
    pub max_bootstrap_values: u64,
}

impl StatsArgs {
    /// The options of `tokbench_stats::compare`.
    pub fn options(&self) -> CompareOptions {
        CompareOptions {
            level: self.level,
            resamples: self.resamples as usize,
            seed: self.seed,
            noise: self.noise,
            alpha: self.alpha,
            min_samples: self.min_samples,
            max_bootstrap_values: self.max_bootstrap_values as usize,
            paired: false,
        }
    }
}

/// `--log` and its block's title and note, shared by compare and gate.
#[derive(Debug, Clone, clap::Args)]
pub struct LogArgs {
    /// Append one dated block to this append-only performance log (docs/perflog.md).
    #[arg(long, value_name = "PERF_LOG.md")]
    pub log: Option<PathBuf>,
    /// Title of the appended block [default: the subcommand's].
    #[arg(long, requires = "log")]
    pub log_title: Option<String>,
    /// A free line of text under the block's table.
    #[arg(long, requires = "log")]
    pub log_note: Option<String>,
}

impl LogArgs {
    /// The block's context: title (or `default_title`), the redacted
    /// command line of this process, note and today's date.
    pub fn context(&self, default_title: &str) -> LogContext {
        // argv[0] as `tokbench`, not the path it was started from.
        let args: Vec<String> = std::iter::once("tokbench".to_owned())
            .chain(
                std::env::args_os()
                    .skip(1)
                    .map(|a| a.to_string_lossy().into_owned()),
            )
            .collect();
        LogContext {
            title: self
                .log_title
                .clone()
                .unwrap_or_else(|| default_title.to_owned()),
            command: tokbench_backend::redact::redact_args(&args).join(" "),
            note: self.log_note.clone(),
            date: tokbench_perflog::utc_date_today(),
        }
    }
}

/// Appends `block` to the log and says where.
///
/// # Errors
/// The log does not verify or cannot be written.
pub fn append_log(path: &std::path::Path, block: &tokbench_perflog::Block) -> anyhow::Result<()> {
    let done = tokbench_perflog::append(path, block)
        .with_context(|| format!("cannot append to the performance log {}", path.display()))?;
    eprintln!(
        "{}:{}: appended block {} (hash {})",
        path.display(),
        done.line,
        done.block,
        done.hash
    );
    Ok(())
}

/// `2%` → 0.02; a bare number is a fraction in [0, 1).
fn parse_fraction(s: &str) -> Result<f64, String> {
    let v = match s.strip_suffix('%') {
        Some(pct) => pct.trim().parse::<f64>().map_err(|e| e.to_string())? / 100.0,
        None => s.parse::<f64>().map_err(|e| e.to_string())?,
    };
    if (0.0..1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!(
            "{s} is not a fraction in [0, 1) (write 2% or 0.02)"
        ))
    }
}

fn parse_open_unit(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|e: std::num::ParseFloatError| e.to_string())?;
    if v > 0.0 && v < 1.0 {
        Ok(v)
    } else {
        Err(format!("{s} is not within (0, 1)"))
    }
}

/// Arguments of `tokbench compare`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes:\n  0  compared (whatever the verdicts)\n  1  a record or sidecar could not be read, sides on different rigs, nothing in common\n  2  usage error\n\nDefinitions and method: docs/methodology.md#comparing-runs"
)]
pub struct CompareArgs {
    /// The sides: record files, folders of records or quoted globs; the
    /// first is the baseline, the runs of each side are pooled.
    #[arg(required = true, num_args = 2.., value_name = "SIDE")]
    pub sides: Vec<String>,
    /// Rows to compare, e.g. decode_tok_s or ttft_ms:p99 (repeatable) [default: every metric].
    #[arg(long = "metric", value_name = "NAME[:STAT]")]
    pub metrics: Vec<MetricSpec>,
    /// Compare sides measured on different rigs (every table then says so).
    #[arg(long)]
    pub across_rigs: bool,
    /// Pair the runs: run i of each side with run i of the baseline, in
    /// launch order, for sides measured alternately (A, B, A, B, …) with
    /// as many runs each; drift shared by a pair cancels
    /// (docs/methodology.md#paired).
    #[arg(long)]
    pub paired: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// The statistics.
    #[command(flatten)]
    pub stats: StatsArgs,
    /// The performance log.
    #[command(flatten)]
    pub log: LogArgs,
}

/// Colour when stdout is a terminal and `NO_COLOR` is unset or empty
/// (<https://no-color.org>).
fn use_color() -> bool {
    use std::io::IsTerminal as _;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Loads every side (each argument is one side).
///
/// # Errors
/// The first side that cannot be loaded.
pub fn load_sides(args: &[String]) -> anyhow::Result<Vec<Side>> {
    args.iter()
        .map(|a| load_side(a).with_context(|| format!("cannot load side {a}")))
        .collect()
}

/// Runs `tokbench compare`.
pub fn run(args: CompareArgs) -> anyhow::Result<ExitCode> {
    let sides = load_sides(&args.sides)?;
    let settings = Settings {
        stats: CompareOptions {
            paired: args.paired,
            ..args.stats.options()
        },
        metrics: if args.metrics.is_empty() {
            tokbench_compare::DEFAULT_METRICS.to_vec()
        } else {
            args.metrics.clone()
        },
        across_rigs: args.across_rigs,
    };
    let report = compare_sides(&sides, &settings)?;
    let exporter: Box<dyn Exporter> = match args.format {
        Format::Table => Box::new(TableExporter { color: use_color() }),
        Format::Md => Box::new(MarkdownExporter),
        Format::Json => Box::new(JsonExporter),
        Format::Csv => Box::new(CsvExporter),
    };
    print!("{}", exporter.render(&report)?);
    if let Some(path) = &args.log.log {
        let ctx = args.log.context("Comparison");
        let rows = tokbench_compare::logblock::compare_rows(&report);
        append_log(path, &tokbench_compare::logblock::block(&sides, &ctx, rows))?;
    }
    Ok(ExitCode::SUCCESS)
}
