//! The one launch → measure → record path of tokbench.
//!
//! Every subcommand that measures a server goes through this crate:
//!
//! * a **target** ([`TargetSpec`] → [`Target`]): a backend tokbench launches
//!   from a model file (waiting until healthy, checking the VRAM fit) or a
//!   running server it attaches to; stopped cleanly afterwards;
//! * a **plan** ([`Plan`]): shapes × concurrency levels, how many requests
//!   each cell runs ([`CellPlan`]), how requests are made and sent;
//! * a **session** ([`Session`]): the record of one target, written
//!   atomically after every cell with per-request samples appended to its
//!   sidecar, so that a crash or Ctrl-C loses nothing.
//!
//! [`Runner::run`] strings them together for one target; the pieces are
//! public for callers that need another order (e.g. several plans against
//! one launched server). Errors are [`RunError`]; request failures are
//! never errors, they are counted in the record. This crate prints
//! nothing: progress goes to a [`ProgressSink`], notes into the record.

pub mod assemble;
mod calibrate;
pub mod cell;
pub mod convert;
pub mod crossval;
pub mod engine_metrics;
mod error;
pub mod measure;
pub mod model;
pub mod plan;
pub mod progress;
pub mod reasoning;
pub mod roofline;
pub mod scrape;
pub mod session;
pub mod target;

use std::path::PathBuf;
use std::sync::Arc;

use tokbench_client::Cancel;
use tokbench_probe::{GpuProbe, Rig};
use tokbench_record::{Record, RunInfo};

pub use assemble::Invocation;
pub use crossval::{collect_side, GreedySettings, SideRun};
pub use error::RunError;
pub use measure::{initial_resources, measure_target, Observers};
pub use plan::{CellPlan, ClientSettings, Plan, PromptPolicy, MIN_COMPARABLE_REQUESTS};
pub use progress::{CellProgress, NoProgress, ProgressSink};
pub use roofline::{roofline_inputs, BandwidthSettings};
pub use session::{check_runs_dir, Session};
pub use target::{attach, launch, CacheControl, LaunchOptions, LaunchSizing, Target, TargetSpec};

/// Runs a [`Plan`] against targets and records each run.
pub struct Runner<'a> {
    /// What to measure.
    pub plan: &'a Plan,
    /// The machine (probed once per invocation).
    pub rig: &'a Rig,
    /// GPUs: VRAM snapshots around a launch, power sampling.
    pub gpus: Arc<dyn GpuProbe>,
    /// The command line and labels recorded with every run.
    pub invocation: &'a Invocation,
    /// Where records go; `None` = no record is written (the record is
    /// still returned).
    pub runs_dir: Option<PathBuf>,
    /// Ctrl-C.
    pub cancel: Cancel,
    /// Told when each cell starts.
    pub progress: &'a dyn ProgressSink,
}

/// One target's finished run.
#[derive(Debug)]
pub struct Outcome {
    /// The record (flagged incomplete when interrupted).
    pub record: Record,
    /// Where it was written, when recording.
    pub path: Option<PathBuf>,
}

impl Runner<'_> {
    /// Launches or attaches to `spec`, measures every cell of the plan,
    /// stops the server (a failure to stop is noted in the record) and
    /// writes the record. `salt` makes record ids of targets of one
    /// invocation distinct.
    ///
    /// # Errors
    /// Anything that prevents measuring or recording ([`RunError`]).
    pub async fn run(&self, spec: &TargetSpec, salt: u64) -> Result<Outcome, RunError> {
        let model_label = spec.model_label();
        let mut run = assemble::run_info(&model_label, spec.backend_label(), self.invocation, salt);
        let mut target = self.connect(spec, &mut run).await?;
        let mut session = Session {
            record: self.skeleton(run, &target),
            dir: self.runs_dir.clone(),
        };
        if let TargetSpec::Launch { options, .. } = spec {
            session.record.roofline = roofline_inputs(&target, self.rig, options.bandwidth).await;
        }
        let observers = Observers {
            cancel: &self.cancel,
            progress: self.progress,
            gpus: self.gpus.clone(),
        };
        let result = measure_target(&mut target, self.plan, &mut session, &observers).await;
        if let Err(e) = target.stop().await {
            (session.record.run.notes).push(format!("stopping the backend failed: {e}"));
        }
        result?;
        let path = session.save()?;
        Ok(Outcome {
            record: session.record,
            path,
        })
    }

    /// Launches (server log next to the record, else in the temp folder)
    /// or attaches.
    async fn connect(&self, spec: &TargetSpec, run: &mut RunInfo) -> Result<Target, RunError> {
        match spec {
            TargetSpec::Launch { model, options } => {
                let log_name = format!("{}.server.log", run.id);
                let log_dir = self.runs_dir.clone().unwrap_or_else(std::env::temp_dir);
                run.server_log_file = Some(log_name.clone());
                let cpu = &self.rig.system.cpu;
                let threads = cpu.physical_cores.unwrap_or(cpu.logical_threads.max(1));
                let sizing = self.plan.launch_sizing(threads);
                let log = log_dir.join(log_name);
                launch(
                    model,
                    options,
                    &sizing,
                    &self.plan.client,
                    &log,
                    self.gpus.as_ref(),
                )
                .await
            }
            TargetSpec::Attach {
                url,
                model,
                api_key,
            } => attach(url, model.clone(), api_key.clone(), &self.plan.client).await,
        }
    }

    /// The record before the first cell.
    fn skeleton(&self, mut run: RunInfo, target: &Target) -> Record {
        run.flags.spill = target.vram.fit.is_spill();
        let drawn = (!self.plan.prompts.seed_given).then_some(self.plan.cells.seed);
        Record {
            schema_version: tokbench_record::SCHEMA_VERSION,
            provenance: assemble::provenance(
                &run.command_line,
                drawn,
                target.backend.version.as_deref(),
            ),
            run,
            system: assemble::system_section(self.rig),
            backend: target.backend.clone(),
            model: target.model.clone(),
            cells: Vec::new(),
            resources: initial_resources(target),
            roofline: None,
        }
    }
}
