//! `tokbench gate --spec gates.yaml RUNS… [--baseline RUNS…]`: performance
//! gates as data, each judged on an interval (docs/methodology.md#gates),
//! with `--rerun-on-fail` confirmation and `--log`.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};
use tokbench_compare::engine::check_rigs;
use tokbench_compare::{evaluate, evaluate_crossval, read_spec, GateResult, Side, Status};
use tokbench_perflog::Row;

use super::compare::{append_log, LogArgs, StatsArgs};

/// Exit code when a gate failed (confirmed by the rerun, if any).
pub const EXIT_FAIL: u8 = 6;
/// Exit code when no gate failed but at least one was inconclusive.
pub const EXIT_INCONCLUSIVE: u8 = 7;

const AFTER_HELP: &str = "\
Exit codes:
  0  every gate passed
  1  a record, sidecar or the spec could not be read (file and line named)
  2  usage error
  6  a gate failed (with --rerun-on-fail: failed twice)
  7  no gate failed, but at least one was inconclusive

Spec format and judging: docs/methodology.md#gates";

/// Arguments of `tokbench gate`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct GateArgs {
    /// The gate spec (YAML).
    #[arg(long, value_name = "gates.yaml")]
    pub spec: PathBuf,
    /// The runs to gate: record files, folders or quoted globs (pooled);
    /// crossval records among them are judged on the spec's `crossval:` bars.
    #[arg(required = true, value_name = "RUNS")]
    pub runs: Vec<String>,
    /// The baseline runs, for speedup and baseline gates (pooled).
    #[arg(long, num_args = 1.., value_name = "RUNS")]
    pub baseline: Vec<String>,
    /// Before failing, run this shell command (it must write new records
    /// into RUNS) and judge the failed gates again on the new records only.
    #[arg(long, value_name = "CMD")]
    pub rerun_on_fail: Option<String>,
    /// Allow NEW and the baseline to come from different rigs.
    #[arg(long)]
    pub across_rigs: bool,
    /// Print the results as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// The statistics.
    #[command(flatten)]
    pub stats: StatsArgs,
    /// The performance log.
    #[command(flatten)]
    pub log: LogArgs,
}

/// Pools every RUNS argument into one side.
fn pooled(label: &str, args: &[String]) -> anyhow::Result<Side> {
    tokbench_compare::load_pooled(label, args).with_context(|| format!("cannot load {label}"))
}

/// Runs `tokbench gate`.
pub fn run(args: GateArgs) -> anyhow::Result<ExitCode> {
    let spec = read_spec(&args.spec)?;
    let opts = args.stats.options();
    let (mut results, sides) = if spec.gates.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        run_gates(&args, &spec, &opts)?
    };
    if let Some(bars) = &spec.crossval {
        let records: Vec<_> = tokbench_compare::load_crossvals(&args.runs)?
            .into_iter()
            .map(|(_, r)| r)
            .collect();
        anyhow::ensure!(
            !records.is_empty(),
            "{}: the spec has crossval bars, but no crossval record is among {}",
            args.spec.display(),
            args.runs.join(" ")
        );
        results.extend(evaluate_crossval(bars, &records));
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&results)?);
    } else {
        print!("{}", render(&results, opts.level));
    }
    if let Some(path) = &args.log.log {
        let ctx = args.log.context("Performance gate");
        append_log(
            path,
            &tokbench_compare::logblock::block(&sides, &ctx, log_rows(&results)),
        )?;
    }
    Ok(exit_code(&results))
}

/// The spec's run gates on RUNS (against `--baseline`), confirmed by
/// `--rerun-on-fail`; also the sides, for the log.
fn run_gates(
    args: &GateArgs,
    spec: &tokbench_compare::GateSpec,
    opts: &tokbench_stats::CompareOptions,
) -> anyhow::Result<(Vec<GateResult>, Vec<Side>)> {
    let new = pooled(&args.runs.join(" "), &args.runs)?;
    let base = if args.baseline.is_empty() {
        None
    } else {
        Some(pooled(&args.baseline.join(" "), &args.baseline)?)
    };
    let sides: Vec<Side> = base.iter().cloned().chain([new.clone()]).collect();
    check_rigs(&sides, args.across_rigs)?;
    let mut results = evaluate(spec, &new, base.as_ref(), opts)?;
    if results.iter().any(|r| r.status == Status::Fail) {
        if let Some(cmd) = &args.rerun_on_fail {
            results = confirm(args, cmd, spec, &new, base.as_ref(), opts, results)?;
        }
    }
    Ok((results, sides))
}

/// The exit code of a set of results: fail beats inconclusive beats pass.
pub fn exit_code(results: &[GateResult]) -> ExitCode {
    if results.iter().any(|r| r.status == Status::Fail) {
        ExitCode::from(EXIT_FAIL)
    } else if results.iter().any(|r| r.status == Status::Inconclusive) {
        ExitCode::from(EXIT_INCONCLUSIVE)
    } else {
        ExitCode::SUCCESS
    }
}

/// Runs `cmd`, loads the records it added to RUNS, and judges the gates
/// again on those alone: a failure stands only if it fails again, so a
/// false alarm rate `p` becomes `p²`.
fn confirm(
    args: &GateArgs,
    cmd: &str,
    spec: &tokbench_compare::GateSpec,
    first: &Side,
    base: Option<&Side>,
    opts: &tokbench_stats::CompareOptions,
    results: Vec<GateResult>,
) -> anyhow::Result<Vec<GateResult>> {
    eprintln!("a gate failed; confirming with: {cmd}");
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .status()
        .with_context(|| format!("cannot run --rerun-on-fail {cmd:?}"))?;
    anyhow::ensure!(
        status.success(),
        "--rerun-on-fail command exited with {status}"
    );
    let seen: BTreeSet<PathBuf> = first.runs.iter().map(|r| r.path.clone()).collect();
    let mut fresh = pooled(&first.label, &args.runs)?;
    fresh.runs.retain(|r| !seen.contains(&r.path));
    anyhow::ensure!(
        !fresh.runs.is_empty(),
        "--rerun-on-fail wrote no new record into {}",
        args.runs.join(" ")
    );
    let again = evaluate(spec, &fresh, base, opts)?;
    Ok(results
        .into_iter()
        .zip(again)
        .map(|(first, second)| match (first.status, second.status) {
            (Status::Fail, Status::Fail) => {
                annotate(second, "failed twice (confirmed by --rerun-on-fail)")
            }
            (Status::Fail, _) => annotate(second, "failed once, not confirmed by --rerun-on-fail"),
            _ => first,
        })
        .collect())
}

fn annotate(mut r: GateResult, what: &str) -> GateResult {
    r.reason = Some(match r.reason {
        Some(old) => format!("{what}; {old}"),
        None => what.to_owned(),
    });
    r
}

fn render(results: &[GateResult], level: f64) -> String {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header([
            String::new(),
            "gate".to_owned(),
            "cell".to_owned(),
            format!("value [{}% CI]", tokbench_compare::export::pct(level)),
            "bar".to_owned(),
            "note".to_owned(),
        ]);
    for r in results {
        table.add_row([
            r.status.mark().to_owned(),
            format!("{} (line {})", r.gate, r.line),
            // A crossval gate names its record where a run gate names its cell.
            r.cell.as_ref().map_or_else(
                || {
                    (r.detail.iter().find(|(k, _)| k == "record"))
                        .map_or_else(|| "—".to_owned(), |(_, id)| id.clone())
                },
                ToString::to_string,
            ),
            r.shown.clone(),
            r.bar.clone(),
            r.reason.clone().unwrap_or_default(),
        ]);
    }
    let count = |s: Status| results.iter().filter(|r| r.status == s).count();
    format!(
        "{table}\n{} passed, {} failed, {} inconclusive\n",
        count(Status::Pass),
        count(Status::Fail),
        count(Status::Inconclusive)
    )
}

/// The seed log's rows: the values behind each gate (baseline and NEW, or
/// p50 and p99), then the gated value with its bar and mark.
fn log_rows(results: &[GateResult]) -> Vec<Row> {
    let mut rows = Vec::new();
    for r in results {
        let cell = r.cell.as_ref().map_or_else(String::new, |k| {
            format!(" · {} c={}", k.shape, k.concurrency)
        });
        for (label, value) in &r.detail {
            rows.push(Row {
                metric: format!("{label}{cell}"),
                value: value.clone(),
                gate: None,
            });
        }
        rows.push(Row {
            metric: format!("{}{cell}", r.gate),
            value: r.shown.clone(),
            gate: Some(format!("{} {}", r.bar, r.status.mark())),
        });
    }
    rows
}
