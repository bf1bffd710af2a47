//! Measuring one cell: a workload shape at one concurrency level.
//!
//! Warm-up first (excluded), then either a fixed plan (`-n`/`--duration`)
//! or repetitions that stop when the answer is known: at least
//! `min_per_slot` requests per slot, then until the 95% CI of the median
//! decode tok/s is within ±`ci_target` of the median, or a request/time cap
//! is hit — which the record then states.

use std::sync::Arc;
use std::time::Duration;

use tokbench_client::{
    run_load, AdaptiveStop, Cancel, Client, DecodeCiRule, LoadConfig, Progress, RequestTemplate,
    StopReason,
};
use tokbench_probe::{HostLoadConfig, HostLoadSampler, HostLoadSummary};
use tokbench_record::{Cell, CellStop};
use tokbench_stats::{CellMetrics, PromptCacheCheck, RequestSample, SummaryOptions};

use super::convert;
use crate::progress::ProgressDisplay;

/// How many requests a cell runs.
#[derive(Debug, Clone)]
pub struct CellPlan {
    /// Fixed number of measured requests (`-n`); disables adaptive stop.
    pub requests: Option<u64>,
    /// Fixed duration (`--duration`); disables adaptive stop.
    pub duration: Option<Duration>,
    /// Open-loop arrival rate, requests/s.
    pub rate: Option<f64>,
    /// Warm-up requests; `None` = one per slot.
    pub warmup: Option<u64>,
    /// Adaptive: minimum measured requests per slot.
    pub min_per_slot: u64,
    /// Adaptive: request cap per cell (`None` = 20 per slot, at least 30).
    pub max_requests: Option<u64>,
    /// Adaptive: time cap per cell.
    pub max_time: Duration,
    /// Adaptive: target relative half-width of the decode CI.
    pub ci_target: f64,
    /// Seed of prompts and arrivals.
    pub seed: u64,
    /// Closed loop: spread the first requests of each phase over this long.
    pub ramp_up: Duration,
}

impl CellPlan {
    fn is_fixed(&self) -> bool {
        self.requests.is_some() || self.duration.is_some()
    }

    /// The engine settings for concurrency `c`.
    pub fn load_config(&self, c: usize) -> LoadConfig {
        let warmup = self.warmup.unwrap_or(c as u64);
        if self.is_fixed() {
            return LoadConfig {
                concurrency: c,
                rate: self.rate,
                requests: self.requests,
                duration: self.duration,
                warmup,
                seed: self.seed,
                adaptive: None,
                ramp_up: self.ramp_up,
            };
        }
        let cap = self.max_requests.unwrap_or((20 * c as u64).max(30));
        let min = (self.min_per_slot * c as u64).min(cap);
        LoadConfig {
            concurrency: c,
            rate: self.rate,
            requests: Some(cap),
            duration: Some(self.max_time),
            warmup,
            seed: self.seed,
            ramp_up: self.ramp_up,
            adaptive: Some(AdaptiveStop {
                min_requests: min,
                rule: Arc::new(DecodeCiRule {
                    rel: self.ci_target,
                    options: SummaryOptions::default(),
                }),
            }),
        }
    }

    fn cell_stop(&self, stop: StopReason) -> CellStop {
        match (stop, self.is_fixed()) {
            (StopReason::Cancelled, _) => CellStop::Interrupted,
            (_, true) => CellStop::Fixed,
            (StopReason::Converged, false) => CellStop::Converged,
            (StopReason::Requests, false) => CellStop::RequestCap,
            (StopReason::Duration, false) => CellStop::TimeCap,
        }
    }
}

/// Everything one cell produced.
pub struct CellOutcome {
    /// The record entry.
    pub cell: Cell,
    /// Every request, warm-up included.
    pub samples: Vec<RequestSample>,
    /// Whether issuing stopped because of Ctrl-C.
    pub cancelled: bool,
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
    /// Draw a progress bar.
    pub progress: bool,
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
) -> anyhow::Result<CellOutcome> {
    let load = plan.load_config(job.concurrency);
    let (prompt_target, output_target) = (job.template.prompt_tokens, job.template.output_tokens);
    let progress = Arc::new(Progress::default());
    let display = ProgressDisplay::start(
        format!("{} c={}", job.shape, job.concurrency),
        load.requests.map(|n| n + load.warmup),
        progress.clone(),
        job.progress,
    );
    let sampler = HostLoadSampler::start(HostLoadConfig {
        tracked_pids: job.tracked_pids.clone(),
        ..HostLoadConfig::default()
    })
    .ok();
    let result = run_load(
        client.clone(),
        Arc::new(job.template),
        &load,
        cancel.clone(),
        progress,
    )
    .await;
    display.finish();
    let host_load: Option<HostLoadSummary> = sampler.and_then(|s| s.stop().ok());
    let result = result?;
    let metrics = CellMetrics::compute(&result.samples, &SummaryOptions::default());
    let check = PromptCacheCheck::compute(&result.samples, job.intended_shared_tokens);
    let cell = Cell {
        shape: job.shape.to_owned(),
        concurrency: job.concurrency as u64,
        rate_rps: plan.rate,
        prompt_tokens_target: prompt_target,
        output_tokens_target: output_target,
        prompt_tokens_actual: metrics.prompt_tokens.as_ref().map(|s| s.median),
        output_tokens_actual: metrics.output_tokens.as_ref().map(|s| s.median),
        stop: plan.cell_stop(result.stop),
        decode_ci_rel_half_width: metrics
            .decode_tok_s
            .as_ref()
            .and_then(|s| s.ci_relative_half_width()),
        skipped: None,
        noisy: host_load.as_ref().is_some_and(|h| h.noisy),
        host_load: host_load.map(convert::host_load),
        prompt_cache: check.flagged,
        prompt_cache_check: Some(convert::prompt_cache_check(check)),
        metrics: Some(convert::cell_metrics(metrics)),
    };
    Ok(CellOutcome {
        cell,
        samples: result.samples,
        cancelled: result.stop == StopReason::Cancelled,
    })
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> CellPlan {
        CellPlan {
            requests: None,
            duration: None,
            rate: None,
            warmup: None,
            min_per_slot: 3,
            max_requests: None,
            max_time: Duration::from_secs(60),
            ci_target: 0.03,
            seed: 1,
            ramp_up: Duration::ZERO,
        }
    }

    #[test]
    fn adaptive_plan_has_floor_and_caps() {
        let l = plan().load_config(4);
        assert_eq!(l.requests, Some(80));
        assert_eq!(l.warmup, 4);
        assert_eq!(l.adaptive.as_ref().unwrap().min_requests, 12);
        let l = plan().load_config(1);
        assert_eq!(l.requests, Some(30));
    }

    #[test]
    fn fixed_plan_disables_adaptive() {
        let p = CellPlan {
            requests: Some(5),
            warmup: Some(0),
            ..plan()
        };
        let l = p.load_config(2);
        assert!(l.adaptive.is_none());
        assert_eq!((l.requests, l.warmup), (Some(5), 0));
        assert_eq!(p.cell_stop(StopReason::Requests), CellStop::Fixed);
        assert_eq!(plan().cell_stop(StopReason::Requests), CellStop::RequestCap);
        assert_eq!(plan().cell_stop(StopReason::Duration), CellStop::TimeCap);
        assert_eq!(
            plan().cell_stop(StopReason::Cancelled),
            CellStop::Interrupted
        );
    }
}
