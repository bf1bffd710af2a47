//! Measuring one cell: a shape at one concurrency level, with the host
//! load sampled alongside; and the record entry of a cell that was skipped.

use std::sync::Arc;

use tokbench_client::{run_load, Cancel, Client, Progress, RequestTemplate, StopReason};
use tokbench_probe::{HostLoadConfig, HostLoadSampler, HostLoadSummary};
use tokbench_record::{Cell, CellStop};
use tokbench_stats::{goodput, CellMetrics, PromptCacheCheck, RequestSample, Slo, SummaryOptions};

use crate::convert;
use crate::engine_metrics::{engine_outcome, ClientSide, GaugeLine};
use crate::measure::or_note;
use crate::plan::CellPlan;
use crate::progress::ProgressSink;
use crate::scrape::Scraper;
use crate::RunError;

/// Everything one cell produced.
pub struct CellOutcome {
    /// The record entry.
    pub cell: Cell,
    /// Every request, warm-up included.
    pub samples: Vec<RequestSample>,
    /// Whether issuing stopped because of Ctrl-C.
    pub cancelled: bool,
    /// What could not be observed (e.g. the host-load sampler did not
    /// start), for the record's notes.
    pub notes: Vec<String>,
    /// Polled engine gauge values, for the samples sidecar.
    pub gauge_lines: Vec<GaugeLine>,
}

/// What the cell is and how to observe it.
pub struct CellJob<'a> {
    /// Shape name.
    pub shape: &'a str,
    /// Concurrency level.
    pub concurrency: usize,
    /// Request template of the shape.
    pub template: RequestTemplate,
    /// Prompt tokens the shape shares between requests on purpose (its
    /// system prompt), for the prompt-cache check.
    pub intended_shared_tokens: u64,
    /// Processes whose CPU use is not "noise" (tokbench, the backend).
    pub tracked_pids: Vec<u32>,
    /// Per-request SLOs of goodput; `None` = no goodput.
    pub slo: Option<Slo>,
}

/// Runs one cell.
///
/// # Errors
/// Only invalid settings; request failures are recorded in the cell.
pub async fn measure_cell(
    client: &Client,
    job: CellJob<'_>,
    plan: &CellPlan,
    cancel: &Cancel,
    observer: &dyn ProgressSink,
) -> Result<CellOutcome, RunError> {
    let load = plan.load_config(job.concurrency);
    let (prompt_target, output_target) = (job.template.prompt_tokens, job.template.output_tokens);
    let progress = Arc::new(Progress::default());
    let label = format!("{} c={}", job.shape, job.concurrency);
    let display = observer.cell_started(
        label.clone(),
        load.requests.map(|n| n + load.warmup),
        progress.clone(),
    );
    let mut notes = Vec::new();
    let sampler = HostLoadSampler::start(HostLoadConfig {
        tracked_pids: job.tracked_pids.clone(),
        ..HostLoadConfig::default()
    });
    let sampler = or_note(
        sampler,
        &mut notes,
        &format!("{label}: host-load sampler did not start"),
    );
    let meta = job.meta();
    let scraper = plan.engine_metrics.and_then(|interval| {
        let s = Scraper::start(client, interval, progress.clone(), load.warmup);
        or_note(
            s,
            &mut notes,
            &format!("{label}: engine metrics not polled"),
        )
    });
    let result = run_load(
        client.clone(),
        Arc::new(job.template),
        &load,
        cancel.clone(),
        progress,
    )
    .await;
    let scrape = match scraper {
        Some(s) => Some(s.finish().await),
        None => None,
    };
    display.finish();
    let host_load: Option<HostLoadSummary> = sampler.and_then(|s| {
        or_note(
            s.stop(),
            &mut notes,
            &format!("{label}: host-load sampler failed"),
        )
    });
    let result = result?;
    let stop = plan.cell_stop(result.stop);
    let template = (prompt_target, output_target);
    let mut cell = measured_cell(&meta, plan, stop, template, &result.samples, host_load);
    let engine = scrape.map(|s| {
        let ttft = cell.metrics.as_ref().and_then(|m| m.ttft_ms.as_ref());
        let client = ClientSide {
            samples: &result.samples,
            ttft_ms_mean: ttft.map(|t| t.mean),
            concurrency: cell.concurrency,
        };
        engine_outcome(s, client)
    });
    let engine = engine.unwrap_or_default();
    cell.engine_metrics = engine.metrics;
    Ok(CellOutcome {
        cell,
        samples: result.samples,
        cancelled: result.stop == StopReason::Cancelled,
        notes,
        gauge_lines: engine.gauge_lines,
    })
}

/// The record entry of a measured cell: every metric summarised, the
/// prompt-cache check, the host load.
fn measured_cell(
    job: &JobMeta<'_>,
    plan: &CellPlan,
    stop: CellStop,
    (prompt_target, output_target): (u64, u64),
    samples: &[RequestSample],
    host_load: Option<HostLoadSummary>,
) -> Cell {
    let metrics = CellMetrics::compute(samples, &SummaryOptions::default());
    let ok = metrics.ok;
    let check = PromptCacheCheck::compute(samples, job.intended_shared_tokens);
    Cell {
        shape: job.shape.to_owned(),
        concurrency: job.concurrency as u64,
        rate_rps: plan.rate,
        prompt_tokens_target: prompt_target,
        output_tokens_target: output_target,
        prompt_tokens_actual: metrics.prompt_tokens.as_ref().map(|s| s.median),
        output_tokens_actual: metrics.output_tokens.as_ref().map(|s| s.median),
        stop,
        decode_ci_rel_half_width: metrics
            .decode_tok_s
            .as_ref()
            .and_then(|s| s.ci_relative_half_width()),
        skipped: None,
        noisy: host_load.as_ref().is_some_and(|h| h.noisy),
        host_load: host_load.map(convert::host_load),
        prompt_cache: check.flagged,
        prompt_cache_check: Some(convert::prompt_cache_check(check)),
        metrics: Some(with_goodput(
            convert::cell_metrics(metrics),
            job.slo.map(|slo| (slo, samples, ok)),
        )),
        roofline: None,
        engine_metrics: None,
    }
}

/// `metrics` with the goodput fields set from `(slo, samples, ok)`
/// (docs/methodology.md#goodput), or unchanged without SLOs.
fn with_goodput(
    mut metrics: tokbench_record::CellMetrics,
    slo: Option<(Slo, &[RequestSample], u64)>,
) -> tokbench_record::CellMetrics {
    if let Some((slo, samples, ok)) = slo {
        let g = goodput(samples, &slo);
        metrics.good_requests = Some(g.good_requests);
        metrics.goodput_rps = g.goodput_rps;
        metrics.goodput_pct = (ok > 0).then(|| g.good_requests as f64 / ok as f64 * 100.0);
    }
    metrics
}

/// The parts of a [`CellJob`] that outlive its template.
struct JobMeta<'a> {
    shape: &'a str,
    concurrency: usize,
    intended_shared_tokens: u64,
    slo: Option<Slo>,
}

impl<'a> CellJob<'a> {
    fn meta(&self) -> JobMeta<'a> {
        JobMeta {
            shape: self.shape,
            concurrency: self.concurrency,
            intended_shared_tokens: self.intended_shared_tokens,
            slo: self.slo,
        }
    }
}

/// A cell that was not measured, with the reason.
pub fn skipped_cell(
    shape: &str,
    concurrency: usize,
    template: &RequestTemplate,
    reason: String,
) -> Cell {
    Cell {
        shape: shape.to_owned(),
        concurrency: concurrency as u64,
        rate_rps: None,
        prompt_tokens_target: template.prompt_tokens,
        output_tokens_target: template.output_tokens,
        prompt_tokens_actual: None,
        output_tokens_actual: None,
        stop: CellStop::Skipped,
        decode_ci_rel_half_width: None,
        skipped: Some(reason),
        host_load: None,
        noisy: false,
        prompt_cache: false,
        prompt_cache_check: None,
        metrics: None,
        roofline: None,
        engine_metrics: None,
    }
}
