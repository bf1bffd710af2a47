//! Measuring every cell of a plan against one target, writing the record
//! after each cell; and the run-wide samplers (host load, power) whose
//! start or stop failures are noted in the record, not dropped.

use std::sync::Arc;

use tokbench_client::Cancel;
use tokbench_probe::{
    GpuProbe, HostLoadConfig, HostLoadSampler, PowerSampler, PowerSamplerConfig, PowerSummary,
};
use tokbench_record::{BackendSection, Resources};
use tokbench_stats::{RequestMetrics, RequestSample};

use crate::calibrate::{intended_shared_tokens, prompt_settings, words_per_token};
use crate::cell::{measure_cell, skipped_cell, CellJob, CellOutcome};
use crate::convert;
use crate::plan::{template_for, Plan};
use crate::progress::ProgressSink;
use crate::session::Session;
use crate::target::Target;
use crate::RunError;

/// What watches and interrupts a measurement.
#[derive(Clone)]
pub struct Observers<'a> {
    /// Cancelled on Ctrl-C: the cell in flight finishes with the requests
    /// completed so far and the record is flagged incomplete.
    pub cancel: &'a Cancel,
    /// Told when each cell starts.
    pub progress: &'a dyn ProgressSink,
    /// GPUs, for the power sampler.
    pub gpus: Arc<dyn GpuProbe>,
}

/// Measures every cell of `plan` against `target`, saving the session's
/// record after each. The record is complete when this returns `Ok` (also
/// when interrupted: then it is flagged incomplete).
///
/// # Errors
/// Record I/O failures and invalid load settings; request failures are
/// recorded, not returned.
pub async fn measure_target(
    target: &mut Target,
    plan: &Plan,
    session: &mut Session,
    obs: &Observers<'_>,
) -> Result<(), RunError> {
    let wpt = words_per_token(target, plan, &mut session.record.run.notes).await;
    session.record.run.prompts = Some(prompt_settings(target, plan));
    session.record.run.slo = plan.slo.map(convert::goodput_slo);
    let samplers = RunSamplers::start(target, obs.gpus.clone(), &mut session.record.run.notes);
    let result = match session.save() {
        Ok(_) => measure_cells(target, plan, session, obs, wpt, &samplers.tracked).await,
        Err(e) => Err(e),
    };
    samplers.finish(session);
    record_reasoning(target, plan, session);
    result
}

/// Sets `run.reasoning` (and a note when the model did not obey).
fn record_reasoning(target: &Target, plan: &Plan, session: &mut Session) {
    let switch = crate::reasoning::switch_for(plan.reasoning, plan.endpoint, target);
    let run = &mut session.record;
    let (section, note) = crate::reasoning::section(plan.reasoning, switch.as_ref(), &run.cells);
    run.run.reasoning = Some(section);
    run.run.notes.extend(note);
}

async fn measure_cells(
    target: &mut Target,
    plan: &Plan,
    session: &mut Session,
    obs: &Observers<'_>,
    wpt: f64,
    tracked: &[u32],
) -> Result<(), RunError> {
    for (name, shape) in &plan.shapes {
        let mut template = template_for(target, plan, shape, wpt, 0);
        let intended = intended_shared_tokens(target, &template).await;
        for &c in &plan.concurrency {
            template.cell = session.record.cells.len() as u64;
            let need = shape.prompt_tokens + shape.output_tokens;
            if let Some(limit) = target.context_per_request.filter(|&l| need > l) {
                let why =
                    format!("needs {need} tokens per request but the context per slot is {limit}");
                let run = &mut session.record;
                run.run
                    .notes
                    .push(format!("skipped {name} at c={c}: {why}"));
                run.cells.push(skipped_cell(name, c, &template, why));
                continue;
            }
            let job = CellJob {
                shape: name,
                concurrency: c,
                template: template.clone(),
                intended_shared_tokens: intended,
                tracked_pids: tracked.to_vec(),
                slo: plan.slo,
            };
            let out = measure_cell(&target.client, job, &plan.cells, obs.cancel, obs.progress);
            if record_cell(target, session, name, c, out.await?)? {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Adds a measured cell to the session; `true` when measuring must stop
/// (interrupted, or the backend died).
fn record_cell(
    target: &mut Target,
    session: &mut Session,
    name: &str,
    c: usize,
    mut out: CellOutcome,
) -> Result<bool, RunError> {
    session.append_samples(name, c, &out.samples, &out.gauge_lines)?;
    session.record.run.notes.extend(out.notes);
    if session.record.cells.is_empty() {
        first_request_load_time(&mut session.record.backend, &out.samples);
    }
    let roofline = session.record.roofline.as_ref();
    out.cell.roofline = roofline.and_then(|r| r.cell_figures(&out.cell));
    session.record.cells.push(out.cell);
    if out.cancelled {
        session.mark_incomplete("interrupted (Ctrl-C); completed requests are kept");
        return Ok(true);
    }
    if let Some(p) = target.process.as_mut() {
        if !p.is_running() {
            let log = p.log_path().display().to_string();
            session.mark_incomplete(&format!("the backend exited during the run; see {log}"));
            return Ok(true);
        }
    }
    session.save()?;
    Ok(false)
}

/// Completes a launched server's load time with the first generation
/// request of the run (the earliest sent of the first cell): its TTFT, and
/// time to healthy + that TTFT.
fn first_request_load_time(backend: &mut BackendSection, samples: &[RequestSample]) {
    let Some(load) = backend.load_time.as_mut() else {
        return;
    };
    let first = samples.iter().min_by_key(|s| s.actual_send_us);
    let ttft_ms = first.and_then(|s| RequestMetrics::from_sample(s).ttft_ms);
    load.first_request_ttft_ms = ttft_ms;
    load.first_token_s = ttft_ms.map(|t| load.healthy_s + t / 1000.0);
}

/// Host-load and power samplers over the whole run.
struct RunSamplers {
    load: Option<HostLoadSampler>,
    power: Option<PowerSampler>,
    /// Processes whose CPU use is not "noise": tokbench and the backend.
    tracked: Vec<u32>,
}

impl RunSamplers {
    /// Starts both samplers; a sampler that cannot start is noted.
    fn start(target: &Target, gpus: Arc<dyn GpuProbe>, notes: &mut Vec<String>) -> Self {
        let backend_pid = target.process.as_ref().map(|p| p.pid());
        let mut tracked = vec![std::process::id()];
        tracked.extend(backend_pid);
        let load = HostLoadSampler::start(HostLoadConfig {
            tracked_pids: tracked.clone(),
            ..HostLoadConfig::default()
        });
        let load = or_note(load, notes, "host-load sampler did not start");
        let power = PowerSampler::start(
            gpus,
            PowerSamplerConfig {
                backend_pid,
                ..PowerSamplerConfig::default()
            },
        );
        let power = or_note(power, notes, "power sampler did not start");
        RunSamplers {
            load,
            power,
            tracked,
        }
    }

    /// Stops both samplers and completes the record: end time, run flags,
    /// host load, power, peak RSS and energy per output token.
    fn finish(self, session: &mut Session) {
        let r = &mut session.record;
        r.run.ended_utc = Some(crate::assemble::now_utc());
        r.run.host_load = (self.load)
            .and_then(|s| or_note(s.stop(), &mut r.run.notes, "host-load sampler failed"))
            .map(convert::host_load);
        r.run.flags.noisy = r.cells.iter().any(|c| c.noisy);
        r.run.flags.prompt_cache = r.cells.iter().any(|c| c.prompt_cache);
        let power =
            (self.power).and_then(|p| or_note(p.stop(), &mut r.run.notes, "power sampler failed"));
        let tokens: u64 = r
            .cells
            .iter()
            .filter_map(|c| c.metrics.as_ref())
            .map(|m| m.total_output_tokens)
            .sum();
        set_power(&mut r.resources, power, tokens);
    }
}

/// The value of `result`, or `None` with `"{what}: {error}"` added to
/// `notes`: what could not be observed is said in the record, not dropped.
pub(crate) fn or_note<T, E: std::fmt::Display>(
    result: Result<T, E>,
    notes: &mut Vec<String>,
    what: &str,
) -> Option<T> {
    result.map_err(|e| notes.push(format!("{what}: {e}"))).ok()
}

/// Fills the power facts of the resources section.
fn set_power(res: &mut Resources, power: Option<PowerSummary>, output_tokens: u64) {
    let energy = power
        .as_ref()
        .and_then(|p| match (p.gpu_energy_j, p.cpu_package_energy_j) {
            (None, None) => None,
            (g, c) => Some(g.unwrap_or(0.0) + c.unwrap_or(0.0)),
        });
    res.backend_peak_rss_bytes = power.as_ref().and_then(|p| p.backend_peak_rss_bytes);
    res.j_per_output_token = energy
        .filter(|_| output_tokens > 0)
        .map(|e| e / output_tokens as f64);
    res.power = power.map(convert::power);
}

/// The resources section before measurement (VRAM snapshots and verdict).
pub fn initial_resources(target: &Target) -> Resources {
    Resources {
        vram_before_bytes: target.vram.before.iter().map(|r| r.used_bytes).collect(),
        vram_after_bytes: target.vram.after.iter().map(|r| r.used_bytes).collect(),
        vram_fit: convert::vram_fit(target.vram.fit.clone()),
        backend_peak_rss_bytes: None,
        power: None,
        j_per_output_token: None,
    }
}
