//! Pure statistics and metric definitions for tokbench.
//!
//! This crate never depends on an async runtime: it turns raw per-request
//! measurements ([`sample`]) into the metrics defined in
//! `docs/methodology.md` ([`metrics`], [`cell`]) and summarises them with
//! documented estimators.
//!
//! | Module | Concept |
//! |---|---|
//! | [`sample`] | Raw per-request contract filled by the client |
//! | [`metrics`] | Per-request metrics: TTFT, TTFC, E2E, prefill/decode tok/s, TPOT, queue delay |
//! | [`prompt_cache`] | Cached vs evaluated prompt tokens, the per-cell prompt-cache check |
//! | [`tokens`] | Token counting (usage first, else stream events), reasoning split, per-event apportionment |
//! | [`itl`] | Inter-token latency normalised per token |
//! | [`cell`] | Cell aggregation: counts, errors, window, throughput, summaries |
//! | [`goodput`](mod@goodput) | Requests meeting latency SLOs per second |
//! | [`quantile`] | Hyndman & Fan type 7 quantiles |
//! | [`summary`] | Mean, sample stddev, percentiles, CI of the median |
//! | [`bootstrap`] | Seeded percentile-bootstrap CI (Efron & Tibshirani 1993) |
//! | [`compare`](mod@compare) | NEW/BASE ratio CIs (one- or two-level bootstrap), Mann–Whitney U, Holm, verdicts, MDE |
//! | [`one_sample`] | One side's statistic or tail ratio with an interval (gates); ratio from recorded summaries |
//! | [`significance`] | Mann–Whitney U test and Holm correction (re-exported by [`compare`](mod@compare)) |
//! | [`changepoint`] | E-divisive means change points in a history (Matteson & James 2014) |
//! | [`racing`] | Racing configurations: drop those significantly worse than the leader (sweeps) |
//! | [`error`] | Typed errors |
//!
//! Typical use: `CellMetrics::compute(&samples, &SummaryOptions::default())`,
//! then `cell.decode_converged(0.03)` to decide whether an adaptive
//! repetition loop may stop.

pub mod bootstrap;
pub mod cell;
pub mod changepoint;
pub mod compare;
pub mod error;
pub mod goodput;
pub mod itl;
pub mod metrics;
pub mod one_sample;
pub mod prompt_cache;
pub mod quantile;
pub mod racing;
pub mod sample;
pub mod significance;
pub mod summary;
#[cfg(test)]
mod test_support;
pub mod tokens;

pub use bootstrap::{bootstrap_median_ci, Ci};
pub use cell::{measurement_window_s, CellMetrics};
pub use changepoint::{e_divisive, ChangePointOptions};
pub use compare::{
    adjust_and_judge, compare, holm, mann_whitney, min_detectable_effect, ratio_ci, verdict,
    CompareOptions, Direction, MannWhitney, MetricComparison, RatioEstimate, Statistic, Verdict,
};
pub use error::StatsError;
pub use goodput::{goodput, Goodput, Slo};
pub use itl::{append_itl_ms, itl_ms};
pub use metrics::RequestMetrics;
pub use one_sample::{
    quantile_ratio_ci, statistic_ci, summary_ratio, z_two_sided, Estimate, SummaryPoint,
};
pub use prompt_cache::PromptCacheCheck;
pub use quantile::quantile_sorted;
pub use racing::{race_round, RaceDecision, RaceRound, MIN_RUNS_TO_DROP};
pub use sample::{Channel, ErrorKind, Outcome, RequestSample, ServerTimings, TokenEvent, Usage};
pub use summary::{Summary, SummaryOptions, DEFAULT_SEED};
pub use tokens::{
    apportion_tokens, first_arrival_len, output_tokens, tokens_in_first_arrival, TokenCounts,
    TokenSource,
};
