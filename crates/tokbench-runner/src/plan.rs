//! What to measure: the [`Plan`] of a run (shapes × concurrency levels, how
//! many requests each cell runs, how requests are made and sent) and the
//! request template of each cell.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use tokbench_client::prompt::shared_prefix_text;
use tokbench_client::{
    AdaptiveStop, ClientConfig, DecodeCiRule, Endpoint, LoadConfig, ReasoningMode, RequestTemplate,
    Shape, StopReason,
};
use tokbench_record::CellStop;
use tokbench_stats::{Slo, SummaryOptions};

use crate::target::{CacheControl, LaunchSizing, Target};

/// Everything a run measures, the same for every target of an invocation.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Selected shapes (name, shape), already scaled.
    pub shapes: Vec<(String, Shape)>,
    /// Concurrency levels, each ≥ 1.
    pub concurrency: Vec<usize>,
    /// How many requests each cell runs.
    pub cells: CellPlan,
    /// Endpoint to drive.
    pub endpoint: Endpoint,
    /// Send `ignore_eos` / `min_tokens` so that every request generates its
    /// output budget.
    pub force_length: bool,
    /// Extra JSON merged into every request body.
    pub extra_body: Map<String, Value>,
    /// Words per token given by the user (skips calibration).
    pub words_per_token: Option<f64>,
    /// How prompts relate to the server's prompt cache.
    pub prompts: PromptPolicy,
    /// How requests are sent.
    pub client: ClientSettings,
    /// Per-request latency SLOs of goodput (`--slo`); `None` = no goodput
    /// in the record (docs/methodology.md#goodput).
    pub slo: Option<Slo>,
    /// What to ask of a reasoning model (`--reasoning`;
    /// docs/methodology.md#reasoning).
    pub reasoning: ReasoningMode,
}

impl Plan {
    /// Launch settings that follow from the plan: as many slots as the
    /// largest concurrency, room for the largest request plus 25%
    /// (prompts are calibrated approximately), the server's own prefix
    /// cache only when prompt caching is allowed.
    pub fn launch_sizing(&self, default_threads: usize) -> LaunchSizing {
        let max_tokens = self
            .shapes
            .iter()
            .map(|(_, s)| s.prompt_tokens + s.output_tokens)
            .max()
            .unwrap_or(512);
        LaunchSizing {
            parallel: self.concurrency.iter().copied().max().unwrap_or(1),
            max_request_tokens: max_tokens + max_tokens / 4,
            default_threads,
            prefix_caching: self.prompts.cache_allowed,
        }
    }
}

/// How requests are sent (docs/methodology.md#timing-points).
#[derive(Debug, Clone, Copy)]
pub struct ClientSettings {
    /// Reuse HTTP connections between requests (default: one connection
    /// per request).
    pub keep_alive: bool,
    /// Longest wait for the next bytes of a response before it counts as
    /// stalled.
    pub stall_timeout: Duration,
}

impl ClientSettings {
    /// The client configuration for a server at `url`.
    pub fn config(&self, url: &str, api_key: Option<String>) -> ClientConfig {
        let mut cfg = ClientConfig::new(url);
        cfg.api_key = api_key;
        cfg.keep_alive = self.keep_alive;
        cfg.stall_timeout = self.stall_timeout;
        cfg
    }
}

/// How a run's prompts relate to the server's prompt cache
/// (docs/methodology.md#prompt-cache). The seed itself is
/// [`CellPlan::seed`].
#[derive(Debug, Clone, Copy, Default)]
pub struct PromptPolicy {
    /// The seed came from `--seed` (else it was drawn fresh).
    pub seed_given: bool,
    /// The server may reuse cached prompts (`--allow-prompt-cache`,
    /// `--prefix-cache`).
    pub cache_allowed: bool,
    /// Tokens of the deliberately shared prefix (`--prefix-cache N`).
    pub prefix_cache_tokens: Option<u64>,
}

/// The fewest measured requests an adaptive cell stops at, whatever its
/// concurrency: `tokbench compare` gives a verdict only from this many
/// values per side (`tokbench_stats::CompareOptions::min_samples`), so a
/// default-plan record can always be compared
/// (`docs/methodology.md#convergence`).
pub const MIN_COMPARABLE_REQUESTS: u64 = 10;

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
    /// Adaptive: minimum measured requests per slot (and never fewer than
    /// [`MIN_COMPARABLE_REQUESTS`] in all).
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
    /// Poll interval of the engine's `/metrics` during each cell
    /// ([`crate::scrape`]); `None` = not scraped.
    pub engine_metrics: Option<Duration>,
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
        let min = (self.min_per_slot * c as u64)
            .max(MIN_COMPARABLE_REQUESTS)
            .min(cap);
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

    pub(crate) fn cell_stop(&self, stop: StopReason) -> CellStop {
        match (stop, self.is_fixed()) {
            (StopReason::Cancelled, _) => CellStop::Interrupted,
            (_, true) => CellStop::Fixed,
            (StopReason::Converged, false) => CellStop::Converged,
            (StopReason::Requests, false) => CellStop::RequestCap,
            (StopReason::Duration, false) => CellStop::TimeCap,
        }
    }
}

/// The request template of `shape` as cell number `cell` of the run:
/// unique prompts per run nonce and cell, the deliberate shared prefix of
/// `--prefix-cache`, `cache_prompt: false` where the server takes it and
/// the shape shares nothing on purpose, and the reasoning switch of
/// `--reasoning` (a field given with `--extra-body` wins).
pub(crate) fn template_for(
    target: &Target,
    plan: &Plan,
    shape: &Shape,
    wpt: f64,
    cell: u64,
) -> RequestTemplate {
    let mut t = shape.template(&target.model_id);
    t.endpoint = plan.endpoint;
    t.force_length = plan.force_length;
    t.extra = plan.extra_body.clone();
    t.words_per_token = wpt;
    t.seed = plan.cells.seed;
    t.cell = cell;
    if let Some(switch) = crate::reasoning::switch_for(plan.reasoning, plan.endpoint, target) {
        for (key, value) in switch.body {
            t.extra.entry(key).or_insert(value);
        }
        t.system_marker = switch.system_marker;
    }
    if let Some(n) = plan.prompts.prefix_cache_tokens {
        t.shared_prefix = Some(shared_prefix_text(n, wpt, t.seed));
        t.prompt_tokens = t.prompt_tokens.saturating_sub(n).max(4);
    }
    let ask = !plan.prompts.cache_allowed
        && target.cache_control == CacheControl::RequestField
        && t.shared_text().is_none();
    if ask && !t.extra.contains_key("cache_prompt") {
        t.cache_prompt = Some(false);
    }
    t
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
            engine_metrics: None,
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
        let floor = l.adaptive.as_ref().unwrap().min_requests;
        assert_eq!(
            floor, MIN_COMPARABLE_REQUESTS,
            "3 per slot, but never under 10"
        );
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
