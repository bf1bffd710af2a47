//! Loading a side: the records named by a file, folder or glob, and the
//! per-request values of their samples sidecars.
//!
//! Records and sidecars are read on every core (`std::thread::scope`), so
//! comparing two folders of 1,000 records stays within seconds. A side
//! whose record lacks its sidecar is still loaded: its cells then compare
//! on the recorded summaries.

use std::collections::BTreeMap;
use std::io::BufRead as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use tokbench_record::{read_any, record_paths, sidecar_path, AnyRecord, CrossvalRecord, Record};
use tokbench_stats::{append_itl_ms, RequestMetrics, RequestSample};

use crate::error::CompareError;

/// One side of a comparison: the runs pooled under one label.
#[derive(Debug, Clone)]
pub struct Side {
    /// The label shown in headers (the argument as given).
    pub label: String,
    /// The runs, sorted by path.
    pub runs: Vec<Run>,
}

/// One record with the per-request values of its sidecar.
#[derive(Debug, Clone)]
pub struct Run {
    /// The record file.
    pub path: PathBuf,
    /// The record.
    pub record: Record,
    /// Per-cell request values keyed by `(shape, concurrency)`; `None`
    /// when the record names no sidecar or the file is not beside it.
    pub samples: Option<BTreeMap<(String, u64), CellSamples>>,
}

/// The measured (not warm-up), successful requests of one cell.
#[derive(Debug, Clone, Default)]
pub struct CellSamples {
    /// Per-request metrics, in the sidecar's order.
    pub requests: Vec<RequestMetrics>,
    /// Every inter-token latency of those requests, ms.
    pub itl_ms: Vec<f64>,
}

/// The record files an argument names: the file itself, every record below
/// a folder (`tokbench_record::record_paths`), or the matches of a glob
/// (`glob` crate syntax; a folder matched by it is walked too). Sorted, no
/// duplicates.
///
/// # Errors
/// [`CompareError::NoRecords`] when nothing matches,
/// [`CompareError::BadGlob`], or a folder that cannot be listed.
pub fn expand(arg: &str) -> Result<Vec<PathBuf>, CompareError> {
    let path = Path::new(arg);
    let mut out = if path.is_file() {
        vec![path.to_owned()]
    } else if path.is_dir() {
        record_paths(path)?
    } else {
        let matches = glob::glob(arg).map_err(|e| CompareError::BadGlob {
            arg: arg.to_owned(),
            message: e.to_string(),
        })?;
        let mut out = Vec::new();
        for p in matches.flatten() {
            if p.is_dir() {
                out.extend(record_paths(&p)?);
            } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
                out.push(p);
            }
        }
        out
    };
    out.sort();
    out.dedup();
    if out.is_empty() {
        return Err(CompareError::NoRecords {
            arg: arg.to_owned(),
        });
    }
    Ok(out)
}

/// Loads one side: every record the argument names, with its samples.
///
/// # Errors
/// As [`expand`], plus the first bad record or sidecar line (file and line
/// named). A bad file stops the comparison rather than silently shrinking
/// a side.
pub fn load_side(arg: &str) -> Result<Side, CompareError> {
    load_pooled(arg, &[arg])
}

/// Loads one side from several arguments (`tokbench gate RUNS…`): every
/// record any of them names, once, in path order, under `label`.
///
/// # Errors
/// As [`load_side`].
pub fn load_pooled<S: AsRef<str>>(label: &str, args: &[S]) -> Result<Side, CompareError> {
    let mut paths = Vec::new();
    for a in args {
        paths.extend(expand(a.as_ref())?);
    }
    paths.sort();
    paths.dedup();
    let runs = load_runs(&paths)?;
    if runs.is_empty() {
        return Err(CompareError::NoRecords {
            arg: label.to_owned(),
        });
    }
    Ok(Side {
        label: label.to_owned(),
        runs,
    })
}

/// The crossval records the arguments name (files, folders, globs, as
/// [`expand`]), in path order; run records among them are left out.
///
/// # Errors
/// As [`expand`], plus the first unreadable record (file and line named).
pub fn load_crossvals<S: AsRef<str>>(
    args: &[S],
) -> Result<Vec<(PathBuf, CrossvalRecord)>, CompareError> {
    let mut paths = Vec::new();
    for a in args {
        paths.extend(expand(a.as_ref())?);
    }
    paths.sort();
    paths.dedup();
    let mut out = Vec::new();
    for p in paths {
        if let AnyRecord::Crossval(r) = read_any(&p)? {
            out.push((p, *r));
        }
    }
    Ok(out)
}

/// Loads run records (and sidecars) in parallel, keeping the order of
/// `paths`; crossval and sweep records among them are left out.
///
/// # Errors
/// The first failure in path order.
pub fn load_runs(paths: &[PathBuf]) -> Result<Vec<Run>, CompareError> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = paths.len().div_ceil(workers).max(1);
    let results: Vec<Result<Vec<Run>, CompareError>> = std::thread::scope(|s| {
        let handles: Vec<_> = paths
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .filter_map(|p| load_run(p).transpose())
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let mut runs = Vec::with_capacity(paths.len());
    for r in results {
        runs.extend(r?);
    }
    Ok(runs)
}

/// Loads one run record and its sidecar; `None` for a crossval or sweep
/// record.
///
/// # Errors
/// As [`load_side`].
pub fn load_run(path: &Path) -> Result<Option<Run>, CompareError> {
    // A crossval or sweep record (`kind: crossval`, `kind: sweep`) in a
    // runs folder is not a run.
    let record = match read_any(path)? {
        AnyRecord::Run(r) => *r,
        AnyRecord::Crossval(_) | AnyRecord::Sweep(_) => return Ok(None),
    };
    let samples = match sidecar_path(path, record.run.samples_file.as_deref()) {
        Some(p) => Some(read_samples(&p)?),
        None => None,
    };
    Ok(Some(Run {
        path: path.to_owned(),
        record,
        samples,
    }))
}

/// The cell a sidecar line belongs to (fields added by the runner).
#[derive(Deserialize)]
struct LineKey {
    shape: String,
    concurrency: u64,
    /// Set on a polled engine gauge line, which is not a request.
    #[serde(default)]
    engine_gauge: Option<String>,
}

/// Reads a samples sidecar (`docs/record-format.md`, "Sidecar"): measured,
/// successful requests per `(shape, concurrency)`; engine gauge lines are
/// skipped.
///
/// # Errors
/// [`CompareError::SamplesIo`], or [`CompareError::SamplesLine`] naming the
/// line that is not a sample.
pub fn read_samples(path: &Path) -> Result<BTreeMap<(String, u64), CellSamples>, CompareError> {
    let io = |source| CompareError::SamplesIo {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut out: BTreeMap<(String, u64), CellSamples> = BTreeMap::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(io)?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |e: serde_json::Error| CompareError::SamplesLine {
            path: path.to_owned(),
            line: i + 1,
            message: e.to_string(),
        };
        let key: LineKey = serde_json::from_str(&line).map_err(bad)?;
        if key.engine_gauge.is_some() {
            continue;
        }
        let sample: RequestSample = serde_json::from_str(&line).map_err(bad)?;
        if sample.warmup || !sample.is_ok() {
            continue;
        }
        let cell = out.entry((key.shape, key.concurrency)).or_default();
        append_itl_ms(&sample, &mut cell.itl_ms);
        cell.requests.push(RequestMetrics::from_sample(&sample));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sidecar_lines_are_grouped_and_bad_lines_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.samples.jsonl");
        let line = |id: u64, warm: bool, shape: &str| {
            let mut s = RequestSample::new(id, warm, 0, 0);
            s.events = vec![
                tokbench_stats::TokenEvent {
                    t_us: 1000,
                    bytes: 1,
                    channel: tokbench_stats::Channel::Content,
                },
                tokbench_stats::TokenEvent {
                    t_us: 3000,
                    bytes: 1,
                    channel: tokbench_stats::Channel::Content,
                },
            ];
            s.end_us = Some(3000);
            let mut v = serde_json::to_value(&s).unwrap();
            v["shape"] = shape.into();
            v["concurrency"] = 1.into();
            v.to_string()
        };
        let gauge = r#"{"shape":"chat","concurrency":1,"engine_gauge":"llamacpp:requests_processing","t_us":250000,"value":1.0}"#;
        let text = [
            line(0, true, "chat"),
            line(1, false, "chat"),
            gauge.to_owned(),
            line(2, false, "rag"),
        ];
        std::fs::write(&p, text.join("\n")).unwrap();
        let got = read_samples(&p).unwrap();
        assert_eq!(
            got[&("chat".into(), 1)].requests.len(),
            1,
            "warm-up left out"
        );
        assert_eq!(got[&("rag".into(), 1)].requests[0].ttft_ms, Some(1.0));
        assert_eq!(got[&("rag".into(), 1)].itl_ms, vec![2.0]);
        std::fs::write(&p, format!("{}\n{{\"shape\":1}}\n", line(0, false, "chat"))).unwrap();
        let err = read_samples(&p).unwrap_err().to_string();
        assert!(err.contains("r.samples.jsonl:2:"), "{err}");
    }

    #[test]
    fn sweep_and_crossval_records_in_a_runs_folder_are_not_runs() {
        use tokbench_record::fixture::{example_record, ExampleSpec};
        let dir = tempfile::tempdir().unwrap();
        let spec = ExampleSpec::default();
        let run = tokbench_record::write_record(dir.path(), &example_record(&spec)).unwrap();
        let sweep = tokbench_record::sweep_fixture::example_sweep("sw", &spec);
        let sw = tokbench_record::write_sweep(dir.path(), &sweep).unwrap();
        let crossval = tokbench_record::crossval_fixture::example_crossval("cv", &spec);
        let cv = tokbench_record::write_crossval(dir.path(), &crossval).unwrap();
        assert!(load_run(&sw).unwrap().is_none());
        assert!(load_run(&cv).unwrap().is_none());
        let arg = dir.path().display().to_string();
        let runs = load_runs(&expand(&arg).unwrap()).unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].path, run);
        assert_eq!(load_crossvals(&[arg]).unwrap().len(), 1);
    }

    #[test]
    fn expand_reports_empty_arguments() {
        let dir = tempfile::tempdir().unwrap();
        let arg = dir.path().join("*.yaml").display().to_string();
        let err = expand(&arg).unwrap_err().to_string();
        assert!(err.contains("no record"), "{err}");
    }
}
