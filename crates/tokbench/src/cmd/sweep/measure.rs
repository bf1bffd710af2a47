//! Measuring one configuration for one round: a launch → measure → record
//! run through `tokbench-runner` (the path `tokbench run` uses) with the
//! configuration's flags and its label as the record's mode; the
//! per-request values of every objective from the record's samples; a
//! failure classified (`OOM`, `refused: …`, `crashed`, `failed: …`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use tokbench_compare::{load_run, Run};
use tokbench_runner::{Invocation, Runner, TargetSpec};

use super::args::Objective;

/// What one round of one configuration gave.
pub enum Measured {
    /// Measured: the record, its values per objective (index into the
    /// objectives), measured requests.
    Ok {
        /// The record's path.
        path: PathBuf,
        /// Per objective: the per-request values of its cell.
        values: BTreeMap<usize, Vec<f64>>,
        /// Measured requests of every cell (warm-up excluded).
        requests: u64,
        /// The server's command line (redacted), as recorded.
        command: Option<Vec<String>>,
    },
    /// The configuration failed; `path` is the record when one was written
    /// (a crash during measurement keeps the completed requests).
    Failed {
        /// `OOM`, `refused: …`, `crashed`, `interrupted` or `failed: …`.
        reason: String,
        /// The incomplete record, when one was written.
        path: Option<PathBuf>,
    },
}

/// Runs one configuration once. `salt` keeps record ids distinct.
pub async fn measure_config(
    runner: &Runner<'_>,
    spec: &TargetSpec,
    objectives: &[Objective],
    salt: u64,
) -> Measured {
    let outcome = match runner.run(spec, salt).await {
        Ok(o) => o,
        Err(e) => {
            return Measured::Failed {
                reason: classify(&format!("{e:#}")),
                path: None,
            }
        }
    };
    let record = &outcome.record;
    if record.run.flags.incomplete {
        let why = record.run.incomplete_reason.clone().unwrap_or_default();
        let reason = if why.contains("interrupted") {
            "interrupted".to_owned()
        } else {
            "crashed".to_owned()
        };
        return Measured::Failed {
            reason,
            path: outcome.path,
        };
    }
    let Some(path) = outcome.path else {
        return Measured::Failed {
            reason: "failed: no record was written".into(),
            path: None,
        };
    };
    match load_run(&path) {
        Ok(Some(run)) => Measured::Ok {
            values: objective_values(&run, objectives),
            requests: measured_requests(&run),
            command: run.record.backend.launch_command.clone(),
            path,
        },
        Ok(None) => Measured::Failed {
            reason: "failed: the record is not a run record".into(),
            path: Some(path),
        },
        Err(e) => Measured::Failed {
            reason: format!("failed: {e}"),
            path: Some(path),
        },
    }
}

/// The values of each series' cell (an objective, or an SLO's metric on
/// one measured cell): per-request values from the samples, or the one
/// run-level value (peak memory, energy) of the record's cell.
fn objective_values(run: &Run, series: &[Objective]) -> BTreeMap<usize, Vec<f64>> {
    let mut out = BTreeMap::new();
    for (i, o) in series.iter().enumerate() {
        if !o.quantity.per_request() {
            let cell = run
                .record
                .cells
                .iter()
                .find(|c| c.shape == o.shape && c.concurrency == o.concurrency as u64);
            if let Some(v) = cell.and_then(|c| o.quantity.of_run(&run.record, c)) {
                out.insert(i, vec![v]);
            }
            continue;
        }
        let key = (o.shape.clone(), o.concurrency as u64);
        if let Some(cell) = run.samples.as_ref().and_then(|s| s.get(&key)) {
            let v: Vec<f64> = if o.quantity.name() == "itl_ms" {
                cell.itl_ms.clone()
            } else {
                cell.requests
                    .iter()
                    .filter_map(|m| o.quantity.of_request(m))
                    .collect()
            };
            out.insert(i, v);
        }
    }
    out
}

fn measured_requests(run: &Run) -> u64 {
    (run.record.cells.iter())
        .filter_map(|c| c.metrics.as_ref())
        .map(|m| m.requests)
        .sum()
}

/// A launch failure as the sweep reports it: the server ran out of memory
/// (`OOM`), refused a flag at start-up (`refused: <its words>`), or
/// anything else (`failed: <first line>`).
pub fn classify(error: &str) -> String {
    let lower = error.to_ascii_lowercase();
    let oom = [
        "out of memory",
        "failed to allocate",
        "cudamalloc failed",
        "oom",
        "cannot allocate memory",
    ];
    if oom.iter().any(|w| lower.contains(w)) {
        return "OOM".into();
    }
    let refused = [
        "invalid argument",
        "unknown argument",
        "unexpected argument",
        "unrecognized",
        "invalid value",
        "error: unknown",
    ];
    if let Some(line) = error
        .lines()
        .find(|l| refused.iter().any(|w| l.to_ascii_lowercase().contains(w)))
    {
        return format!("refused: {}", line.trim());
    }
    let first = error.lines().next().unwrap_or_default().trim();
    format!("failed: {first}")
}

/// The invocation of one configuration: the sweep's command line, the
/// configuration's label as the mode.
pub fn invocation(base: &Invocation, label: &str) -> Invocation {
    Invocation {
        mode: label.to_owned(),
        ..base.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_classified_by_the_servers_words() {
        assert_eq!(classify("backend exited\nggml_cuda: out of memory"), "OOM");
        assert_eq!(
            classify("server exited during start-up; log tail:\nerror: invalid argument: --cache-type-k q9"),
            "refused: error: invalid argument: --cache-type-k q9"
        );
        assert_eq!(classify("port in use\nmore"), "failed: port in use");
    }
}
