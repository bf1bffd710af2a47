//! The record of one target while it is being measured, and where it
//! goes: written atomically after every cell, samples appended to the
//! sidecar, so that a crash or Ctrl-C loses nothing.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;
use tokbench_record::{write_record, Record};
use tokbench_stats::RequestSample;

use crate::engine_metrics::GaugeLine;
use crate::RunError;

/// The record being built for one target, and where it goes.
pub struct Session {
    /// The record so far.
    pub record: Record,
    /// Runs folder, when recording.
    pub dir: Option<PathBuf>,
}

impl Session {
    /// Writes the record (atomically) and returns its path.
    ///
    /// # Errors
    /// [`RunError::Record`]: I/O failures naming the file.
    pub fn save(&self) -> Result<Option<PathBuf>, RunError> {
        match &self.dir {
            None => Ok(None),
            Some(dir) => Ok(Some(write_record(dir, &self.record)?)),
        }
    }

    /// Appends one cell's samples to the sidecar JSON Lines file (one
    /// object per request, with `shape` and `concurrency` added), then its
    /// polled engine gauges (one object per value: `shape`, `concurrency`,
    /// `engine_gauge`, `t_us`, `value`); never rewrites what is there.
    ///
    /// # Errors
    /// [`RunError::Samples`] naming the file.
    pub fn append_samples(
        &self,
        shape: &str,
        c: usize,
        samples: &[RequestSample],
        gauges: &[GaugeLine],
    ) -> Result<(), RunError> {
        let (Some(dir), Some(name)) = (&self.dir, &self.record.run.samples_file) else {
            return Ok(());
        };
        let path = dir.join(name);
        let fail = |source: std::io::Error| RunError::Samples {
            path: path.clone(),
            source,
        };
        let mut buf = Vec::new();
        let requests = samples.iter().map(serde_json::to_value);
        let gauges = gauges.iter().map(|g| {
            Ok(serde_json::json!({
                "engine_gauge": g.engine_gauge, "t_us": g.t_us, "value": g.value,
            }))
        });
        for v in requests.chain(gauges) {
            let mut v = v.map_err(|e| fail(e.into()))?;
            v["shape"] = Value::from(shape);
            v["concurrency"] = Value::from(c);
            serde_json::to_writer(&mut buf, &v).map_err(|e| fail(e.into()))?;
            buf.push(b'\n');
        }
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(&buf))
            .map_err(fail)
    }

    /// Flags the record incomplete with `reason`.
    pub fn mark_incomplete(&mut self, reason: &str) {
        self.record.run.flags.incomplete = true;
        self.record.run.incomplete_reason = Some(reason.to_owned());
    }
}

/// Fails early, before any server starts, when `dir` cannot hold records.
///
/// # Errors
/// [`RunError::RunsDir`]: the directory cannot be created or written.
pub fn check_runs_dir(dir: &Path) -> Result<(), RunError> {
    let fail = |what, source| RunError::RunsDir {
        path: dir.to_owned(),
        what,
        source,
    };
    std::fs::create_dir_all(dir).map_err(|e| fail("cannot be created", e))?;
    let probe = dir.join(format!(".tokbench-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| fail("is not writable", e))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}
