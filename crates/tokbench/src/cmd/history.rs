//! `tokbench history RUNS… --metric decode_tok_s`: the history of one
//! metric per rig, model, backend configuration, mode, shape and load
//! (`tokbench-history`), with the points where it changed level (E-divisive
//! means, docs/methodology.md#change-points).
//!
//! Exit codes: 0 the history was printed; 1 a record file could not be read
//! (the history of the others is still printed; `--keep-going` exits 0) or
//! no record was found; 2 usage error (unknown metric, a RUNS path that
//! does not exist, an option out of range).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::builder::{PathBufValueParser, TypedValueParser as _};
use serde::Serialize;
use tokbench_history::{histories, number, ChangePointOptions, History, Metric, METRICS};
use tokbench_record::{read_any, record_paths, AnyRecord, Record, RecordError};

/// Where the method is described (also in `--help`).
const METHOD: &str = "docs/methodology.md#change-points";

/// Shown after the options in `tokbench history --help`.
const AFTER_HELP: &str = "\
A series is one rig, model file, backend configuration (name, device, threads,
parallel slots, context size, extra flags; not the version or commit), mode,
shape and concurrency; each point is one record, in date order. Change points
(▲ up, ▼ down) are found by E-divisive means with a permutation test:
docs/methodology.md#change-points (\"Change points in a history\").

Exit codes:
  0  history printed
  1  a record file could not be read (the others are still shown;
     --keep-going exits 0), or no record was found
  2  usage error (unknown metric, a path that does not exist, a value out of range)";

/// Output formats of `tokbench history`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Per series: its key, then one line per point, change points marked.
    Table,
    /// Every series with its points, segments and change points.
    Json,
    /// One row per point, with its series key, segment and change.
    Csv,
}

/// Arguments of `tokbench history`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct HistoryArgs {
    /// Run records (`*.yaml`) or folders of them (searched recursively).
    #[arg(value_name = "RUNS", required = true, value_parser = existing_path())]
    pub runs: Vec<PathBuf>,
    /// The metric to follow: the recorded median of a summary
    /// (decode_tok_s, ttft_ms, prefill_tok_s, e2e_ms, tpot_ms, itl_ms,
    /// answer_tok_s, …) or the cell's aggregate_output_tok_s /
    /// request_throughput_rps / goodput_rps (docs/methodology.md).
    #[arg(long, default_value = "decode_tok_s", value_parser = parse_metric)]
    pub metric: Metric,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Fewest points on each side of a change point (at least 2).
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = at_least::<2>)]
    pub min_size: usize,
    /// Permutations of each significance test (at least 1).
    #[arg(long, value_name = "N", default_value_t = 199, value_parser = at_least::<1>)]
    pub permutations: usize,
    /// Significance level of each test, in (0, 1).
    #[arg(long, value_name = "A", default_value_t = 0.05, value_parser = parse_alpha)]
    pub alpha: f64,
    /// Exit 0 even when some record files could not be read (they are
    /// still reported on stderr and left out).
    #[arg(long)]
    pub keep_going: bool,
}

fn existing_path() -> impl clap::builder::TypedValueParser<Value = PathBuf> {
    PathBufValueParser::new().try_map(|p: PathBuf| {
        if p.exists() {
            Ok(p)
        } else {
            Err(format!("{} does not exist", p.display()))
        }
    })
}

fn parse_metric(s: &str) -> Result<Metric, String> {
    Metric::parse(s).map_err(|e| e.to_string())
}

fn at_least<const MIN: usize>(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n >= MIN => Ok(n),
        Ok(_) => Err(format!("must be at least {MIN}")),
        Err(_) => Err(format!("`{s}` is not a whole number")),
    }
}

fn parse_alpha(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(a) if a > 0.0 && a < 1.0 => Ok(a),
        Ok(_) => Err("must be within (0, 1)".into()),
        Err(_) => Err(format!("`{s}` is not a number")),
    }
}

/// Runs `tokbench history`.
pub fn run(args: HistoryArgs) -> anyhow::Result<ExitCode> {
    let (records, bad) = load(&args.runs)?;
    for e in &bad {
        eprintln!("error: {e}");
    }
    anyhow::ensure!(
        !records.is_empty(),
        "no run record could be read from {}",
        args.runs
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let opts = ChangePointOptions {
        alpha_sig: args.alpha,
        permutations: args.permutations,
        min_size: args.min_size,
        ..ChangePointOptions::default()
    };
    let found = histories(&records, args.metric, &opts).context("cannot analyse the history")?;
    let text = match args.format {
        Format::Table => table(&found, args.metric, &opts),
        Format::Json => json(&found, args.metric, &opts)?,
        Format::Csv => csv(&found)?,
    };
    print!("{text}");
    if bad.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    if args.keep_going {
        eprintln!(
            "warning: {} record file(s) left out (--keep-going)",
            bad.len()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "error: {} record file(s) could not be read; the history was made without them \
             (--keep-going exits 0)",
            bad.len()
        );
        Ok(ExitCode::FAILURE)
    }
}

/// Every record in `runs` (files as given, folders searched), each file
/// read once; one error per file that could not be read.
fn load(runs: &[PathBuf]) -> anyhow::Result<(Vec<Record>, Vec<RecordError>)> {
    let mut paths = BTreeSet::new();
    for p in runs {
        if p.is_dir() {
            paths.extend(record_paths(p)?);
        } else {
            paths.insert(p.clone());
        }
    }
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for p in paths {
        match read_any(&p) {
            Ok(AnyRecord::Run(r)) => good.push(*r),
            // Crossval and sweep records have no metric history (a sweep's
            // measurements are its run records, read here as such).
            Ok(AnyRecord::Crossval(_) | AnyRecord::Sweep(_)) => {}
            Err(e) => bad.push(e),
        }
    }
    Ok((good, bad))
}

/// The options line under the table.
fn method_line(opts: &ChangePointOptions) -> String {
    format!(
        "E-divisive means: α = {}, {} permutations, at least {} points per segment ({METHOD})",
        opts.alpha_sig, opts.permutations, opts.min_size
    )
}

/// Per series: a key line, then the points with the change points marked.
fn table(found: &[History], metric: Metric, opts: &ChangePointOptions) -> String {
    let mut out = String::new();
    for h in found {
        series_block(&mut out, h, metric, opts);
        out.push('\n');
    }
    let changes: usize = found.iter().map(|h| h.change_points.len()).sum();
    out.push_str(&format!(
        "{} series, {changes} change point(s) in {} ({})\n{}\n",
        found.len(),
        metric,
        metric.unit(),
        method_line(opts)
    ));
    out
}

fn series_block(out: &mut String, h: &History, metric: Metric, opts: &ChangePointOptions) {
    let k = &h.series.key;
    let mode = if k.mode == "baseline" {
        String::new()
    } else {
        format!(" · mode {}", k.mode)
    };
    let model: String = k.model.chars().take(16).collect();
    out.push_str(&format!(
        "{} · {} [{model}] · {}{mode} · {}\n",
        k.rig,
        h.series.model_label,
        k.backend,
        k.load_label()
    ));
    let header = vec![
        String::new(),
        "date".into(),
        "commit".into(),
        "version".into(),
        "run".into(),
        format!("{metric} ({})", metric.unit()),
        "change".into(),
    ];
    let mut rows = vec![header];
    for (i, p) in h.series.points.iter().enumerate() {
        let change = h.change_at(i);
        let mut value = number(p.value);
        if p.noisy {
            value.push_str(" (noisy)");
        }
        rows.push(vec![
            change.map(|c| c.arrow().to_string()).unwrap_or_default(),
            p.started_utc.clone(),
            p.commit.clone().unwrap_or_else(|| "-".into()),
            p.version.clone().unwrap_or_else(|| "-".into()),
            p.run_id.clone(),
            value,
            change.map(|c| c.shift()).unwrap_or_default(),
        ]);
    }
    out.push_str(&aligned(&rows));
    let n = h.series.points.len();
    if n < 2 * opts.min_size {
        out.push_str(&format!(
            "  {n} point(s): too few for a change point (at least {})\n",
            2 * opts.min_size
        ));
    } else if h.change_points.is_empty() {
        out.push_str("  no change point\n");
    }
    for c in &h.change_points {
        out.push_str(&format!(
            "  change point: {} {} ({})\n",
            c.arrow(),
            h.describe(c),
            c.verdict.as_str()
        ));
    }
}

/// Rows as left-aligned columns two spaces apart, indented by two; trailing
/// blanks trimmed.
fn aligned(rows: &[Vec<String>]) -> String {
    let cols = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..cols)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::from(" ");
        for (cell, w) in r.iter().zip(&widths) {
            line.push(' ');
            line.push_str(cell);
            line.extend(std::iter::repeat_n(' ', w - cell.chars().count() + 1));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[derive(Serialize)]
struct JsonOut<'a> {
    metric: Metric,
    unit: &'static str,
    method: &'static str,
    alpha: f64,
    permutations: usize,
    min_size: usize,
    valid_metrics: &'static [&'static str],
    series: &'a [History],
}

fn json(found: &[History], metric: Metric, opts: &ChangePointOptions) -> anyhow::Result<String> {
    let out = JsonOut {
        metric,
        unit: metric.unit(),
        method: METHOD,
        alpha: opts.alpha_sig,
        permutations: opts.permutations,
        min_size: opts.min_size,
        valid_metrics: &METRICS,
        series: found,
    };
    Ok(serde_json::to_string_pretty(&out)? + "\n")
}

const CSV_HEADER: [&str; 24] = [
    "rig",
    "model",
    "model_label",
    "backend",
    "device",
    "threads",
    "parallel",
    "ctx_size",
    "backend_flags",
    "mode",
    "shape",
    "concurrency",
    "rate_rps",
    "started_utc",
    "commit",
    "version",
    "run_id",
    "metric",
    "value",
    "noisy",
    "segment_mean",
    "change",
    "change_before",
    "change_rel",
];

/// One row per point: its series key, the point, its segment's mean and,
/// on the first point of a segment after a change, the change.
fn csv(found: &[History]) -> anyhow::Result<String> {
    let opt = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_HEADER)?;
    for h in found {
        let k = &h.series.key;
        for (i, p) in h.series.points.iter().enumerate() {
            let change = h.change_at(i);
            w.write_record([
                k.rig.clone(),
                k.model.clone(),
                h.series.model_label.clone(),
                k.backend.name.clone(),
                k.backend.device.clone(),
                opt(k.backend.threads),
                opt(k.backend.parallel),
                opt(k.backend.ctx_size),
                k.backend.flags.join(" "),
                k.mode.clone(),
                k.shape.clone(),
                k.concurrency.to_string(),
                k.rate_rps.map(|r| r.to_string()).unwrap_or_default(),
                p.started_utc.clone(),
                p.commit.clone().unwrap_or_default(),
                p.version.clone().unwrap_or_default(),
                p.run_id.clone(),
                h.series.metric.to_string(),
                p.value.to_string(),
                p.noisy.to_string(),
                h.segment_of(i)
                    .map(|s| s.mean.to_string())
                    .unwrap_or_default(),
                change.map(|c| c.arrow().to_string()).unwrap_or_default(),
                change.map(|c| c.before.to_string()).unwrap_or_default(),
                change
                    .and_then(|c| c.relative_change)
                    .map(|r| r.to_string())
                    .unwrap_or_default(),
            ])?;
        }
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_parsers_reject_out_of_range() {
        assert_eq!(at_least::<2>("5"), Ok(5));
        assert!(at_least::<2>("1").is_err());
        assert!(at_least::<1>("x").is_err());
        assert_eq!(parse_alpha("0.01"), Ok(0.01));
        for bad in ["0", "1", "-0.1", "nan", "x"] {
            assert!(parse_alpha(bad).is_err(), "{bad}");
        }
        assert!(parse_metric("decode").unwrap_err().contains("decode_tok_s"));
    }

    #[test]
    fn columns_line_up() {
        let rows = vec![
            vec!["a".to_owned(), "bb".into(), "c".into()],
            vec!["ddd".to_owned(), "e".into(), String::new()],
        ];
        assert_eq!(aligned(&rows), "  a    bb  c\n  ddd  e\n");
    }
}
