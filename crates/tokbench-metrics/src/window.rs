//! A measured window: start, intermediate and end snapshots, and their summary.
//!
//! # Definitions
//!
//! - **Counter delta**: the increase of a counter series over the window,
//!   from every poll, not just the two ends. Consecutive polls `p, c`
//!   contribute `c − p` when `c ≥ p`. When `c < p` the counter was reset (the
//!   server restarted): the pair contributes `c`, i.e. the count restarts
//!   from zero, exactly as Prometheus' `increase()`/`rate()` treat "breaks in
//!   monotonicity" (<https://prometheus.io/docs/prometheus/latest/querying/functions/#increase>),
//!   and a note names the series and the drop. A delta is never negative. A
//!   series first seen after the start poll is counted from zero (labelled
//!   series are created on first use) and noted. `rate_per_s` is the delta
//!   over the window's duration (last poll's `at_s` − first poll's).
//! - **Gauge summary**: min, mean and max over the polls, and every
//!   `(at_s, value)` sample for plotting against the request timeline. The
//!   mean is the plain mean of the polled values, each poll weighted
//!   equally; with the runner's fixed poll interval this is the time average
//!   up to half an interval at each end. NaN samples are skipped. Gauges
//!   named `*_created` (`prometheus_client`'s creation timestamps) are not
//!   summarised.
//! - **Histogram delta**: bucket, `_sum` and `_count` increases with the same
//!   reset rule (a drop of `_count` is a reset), then mean and p50/p90/p99
//!   by [`bucket_quantile`](crate::bucket_quantile). Summaries get count, sum
//!   and mean only.
//! - A series or canonical quantity that is not exported is absent from the
//!   summary, never 0.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::canonical::{canonical_figures, CanonicalFigures};
use crate::histogram::{bucket_add, bucket_diff, same_bounds, HistogramDelta};
use crate::names::{detect, effective_kind, Engine};
use crate::snapshot::{Bucket, Kind, SeriesKey, Snapshot, Value};

/// A counter's increase over the window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CounterDelta {
    /// Increase, in the counter's unit; never negative.
    pub delta: f64,
    /// `delta` per second of window; `None` for a zero-length window.
    pub rate_per_s: Option<f64>,
    /// Resets seen (drops between consecutive polls).
    pub resets: u32,
}

/// A gauge over the window's polls.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GaugeSummary {
    /// Smallest polled value.
    pub min: f64,
    /// Mean of the polled values, each poll weighted equally.
    pub mean: f64,
    /// Largest polled value.
    pub max: f64,
    /// `(at_s, value)` per poll where the gauge was exported, in time order.
    pub samples: Vec<(f64, f64)>,
}

impl GaugeSummary {
    /// Summary of `(at_s, value)` samples; NaN values are dropped. `None`
    /// when no sample is left.
    pub fn from_samples(samples: Vec<(f64, f64)>) -> Option<Self> {
        let samples: Vec<(f64, f64)> = samples.into_iter().filter(|s| !s.1.is_nan()).collect();
        if samples.is_empty() {
            return None;
        }
        let values = samples.iter().map(|s| s.1);
        let min = values.clone().fold(f64::INFINITY, f64::min);
        let max = values.clone().fold(f64::NEG_INFINITY, f64::max);
        let mean = values.sum::<f64>() / samples.len() as f64;
        Some(Self {
            min,
            mean,
            max,
            samples,
        })
    }
}

/// Everything a window's polls say, keyed by series (`name{labels}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowSummary {
    /// Engine detected from the end snapshot (else the start snapshot).
    pub engine: Engine,
    /// Last poll's `at_s` minus the first's, seconds.
    pub duration_s: f64,
    /// Number of snapshots used, start and end included.
    pub polls: usize,
    /// Every counter series' delta, by `name{labels}`.
    pub counters: BTreeMap<String, CounterDelta>,
    /// Every gauge and untyped series' summary, by `name{labels}`.
    pub gauges: BTreeMap<String, GaugeSummary>,
    /// Every histogram and summary series' increase, by `name{labels}`.
    pub histograms: BTreeMap<String, HistogramDelta>,
    /// Engine-independent figures from the [name table](crate::NAMES).
    pub canonical: CanonicalFigures,
    /// Resets, series that appeared or vanished, absent table metrics,
    /// parse warnings.
    pub notes: Vec<String>,
}

/// The snapshots of one measured window.
#[derive(Debug, Clone)]
pub struct Window {
    polls: Vec<Snapshot>,
}

impl Window {
    /// Starts a window at `start` (its `at_s` is normally 0).
    pub fn new(start: Snapshot) -> Self {
        Self { polls: vec![start] }
    }

    /// Adds an intermediate poll (gauge samples, and reset detection).
    pub fn sample(&mut self, snapshot: Snapshot) {
        self.polls.push(snapshot);
    }

    /// The snapshots so far, in the order given.
    pub fn polls(&self) -> &[Snapshot] {
        &self.polls
    }

    /// Ends the window at `end` and summarises it. Polls are ordered by
    /// `at_s` first (ties keep their order).
    pub fn finish(mut self, end: Snapshot) -> WindowSummary {
        self.polls.push(end);
        self.polls.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
        summarise(&self.polls)
    }
}

/// Per-series results keyed by [`SeriesKey`], before stringification.
pub(crate) struct SeriesResults {
    pub counters: BTreeMap<SeriesKey, CounterDelta>,
    pub gauges: BTreeMap<SeriesKey, GaugeSummary>,
    pub histograms: BTreeMap<SeriesKey, HistogramDelta>,
}

fn summarise(polls: &[Snapshot]) -> WindowSummary {
    let (first, last) = match (polls.first(), polls.last()) {
        (Some(f), Some(l)) => (f, l),
        // `Window` always holds at least the start and the end.
        _ => return empty_summary(),
    };
    let duration_s = last.at_s - first.at_s;
    let engine = match detect(last) {
        Engine::Unknown => detect(first),
        e => e,
    };
    let mut notes = parse_warnings(polls);
    let results = series_results(polls, duration_s, &mut notes);
    let canonical = canonical_figures(engine, polls, &results, &mut notes);
    WindowSummary {
        engine,
        duration_s,
        polls: polls.len(),
        counters: stringify(results.counters),
        gauges: stringify(results.gauges),
        histograms: stringify(results.histograms),
        canonical,
        notes,
    }
}

/// Each distinct parse warning once, with the first poll and how many had it.
fn parse_warnings(polls: &[Snapshot]) -> Vec<String> {
    let mut seen: Vec<(&str, f64, usize)> = Vec::new();
    for p in polls {
        for w in &p.warnings {
            match seen.iter_mut().find(|s| s.0 == w) {
                Some(s) => s.2 += 1,
                None => seen.push((w, p.at_s, 1)),
            }
        }
    }
    seen.into_iter()
        .map(|(w, at, n)| {
            format!(
                "parse warning (first at {at}s, {n} of {} polls): {w}",
                polls.len()
            )
        })
        .collect()
}

fn empty_summary() -> WindowSummary {
    WindowSummary {
        engine: Engine::Unknown,
        duration_s: 0.0,
        polls: 0,
        counters: BTreeMap::new(),
        gauges: BTreeMap::new(),
        histograms: BTreeMap::new(),
        canonical: CanonicalFigures::default(),
        notes: Vec::new(),
    }
}

fn stringify<T>(m: BTreeMap<SeriesKey, T>) -> BTreeMap<String, T> {
    m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn series_results(polls: &[Snapshot], duration_s: f64, notes: &mut Vec<String>) -> SeriesResults {
    let mut kinds: BTreeMap<&SeriesKey, Kind> = BTreeMap::new();
    for p in polls {
        for (k, s) in &p.series {
            kinds.entry(k).or_insert(effective_kind(&k.name, s.kind));
        }
    }
    let mut out = SeriesResults {
        counters: BTreeMap::new(),
        gauges: BTreeMap::new(),
        histograms: BTreeMap::new(),
    };
    for (key, kind) in kinds {
        match kind {
            Kind::Counter => {
                if let Some(d) = counter_delta(key, polls, duration_s, notes) {
                    out.counters.insert(key.clone(), d);
                }
            }
            Kind::Gauge | Kind::Untyped => {
                if key.name.ends_with("_created") {
                    continue;
                }
                let samples = polls
                    .iter()
                    .filter_map(|p| Some((p.at_s, p.series.get(key)?.scalar()?)))
                    .collect();
                if let Some(g) = GaugeSummary::from_samples(samples) {
                    out.gauges.insert(key.clone(), g);
                }
            }
            Kind::Histogram | Kind::Summary => {
                if let Some(h) = histogram_delta(key, polls, notes) {
                    out.histograms.insert(key.clone(), h);
                }
            }
        }
    }
    out
}

fn note_vanished(key: &SeriesKey, polls: &[Snapshot], notes: &mut Vec<String>) {
    if let Some(last) = polls.last() {
        if !last.series.contains_key(key) {
            notes.push(format!(
                "series {key} is not exported by the end poll; its figures stop at its last poll"
            ));
        }
    }
}

fn counter_delta(
    key: &SeriesKey,
    polls: &[Snapshot],
    duration_s: f64,
    notes: &mut Vec<String>,
) -> Option<CounterDelta> {
    let mut delta = 0.0;
    let mut resets = 0;
    let mut prev: Option<(f64, f64)> = None;
    for (i, p) in polls.iter().enumerate() {
        let Some(v) = p.series.get(key).and_then(|s| s.scalar()) else {
            continue;
        };
        if v.is_nan() {
            continue;
        }
        match prev {
            None if i > 0 => {
                delta += v;
                notes.push(format!(
                    "counter {key} first appeared at {}s; counted from zero",
                    p.at_s
                ));
            }
            None => {}
            Some((_, pv)) if v >= pv => delta += v - pv,
            Some((t0, pv)) => {
                resets += 1;
                delta += v;
                notes.push(format!(
                    "counter {key} went down from {pv} to {v} between {t0}s and {}s: \
                     the server restarted or reset it; counted from zero after the drop",
                    p.at_s
                ));
            }
        }
        prev = Some((p.at_s, v));
    }
    prev?;
    note_vanished(key, polls, notes);
    let rate_per_s = (duration_s > 0.0).then(|| delta / duration_s);
    Some(CounterDelta {
        delta,
        rate_per_s,
        resets,
    })
}

/// Count, sum and cumulative buckets of a histogram or summary at one poll.
type HistParts<'a> = (f64, f64, &'a [Bucket]);

/// The [`HistParts`] of a histogram or summary value.
fn hist_parts(v: &Value) -> Option<HistParts<'_>> {
    match v {
        Value::Histogram(h) => Some((h.count, h.sum, &h.buckets)),
        Value::Summary { count, sum } => Some((*count, *sum, &[])),
        Value::Scalar(_) => None,
    }
}

struct HistAcc {
    count: f64,
    sum: f64,
    buckets: Option<Vec<Bucket>>,
    started: bool,
}

impl HistAcc {
    fn add(&mut self, inc: (f64, f64, Vec<Bucket>), key: &SeriesKey, notes: &mut Vec<String>) {
        let (count, sum, buckets) = inc;
        self.count += count;
        self.sum += sum;
        if !self.started {
            self.started = true;
            self.buckets = Some(buckets);
            return;
        }
        self.buckets = match self.buckets.take() {
            Some(acc) if same_bounds(&acc, &buckets) => Some(bucket_add(&acc, &buckets)),
            Some(_) => {
                notes.push(format!(
                    "histogram {key} changed its bucket bounds; its quantiles are not estimated"
                ));
                None
            }
            None => None,
        };
    }
}

fn histogram_delta(
    key: &SeriesKey,
    polls: &[Snapshot],
    notes: &mut Vec<String>,
) -> Option<HistogramDelta> {
    let mut acc = HistAcc {
        count: 0.0,
        sum: 0.0,
        buckets: None,
        started: false,
    };
    let mut prev: Option<(f64, HistParts<'_>)> = None;
    for (i, p) in polls.iter().enumerate() {
        let Some(cur) = p.series.get(key).and_then(|s| hist_parts(&s.value)) else {
            continue;
        };
        let (count, sum, buckets) = cur;
        match prev {
            None if i > 0 => acc.add((count, sum, buckets.to_vec()), key, notes),
            None => acc.add((0.0, 0.0, bucket_diff(buckets, buckets)), key, notes),
            Some((_, (pc, ps, pb))) if count >= pc && same_bounds(buckets, pb) => {
                acc.add((count - pc, sum - ps, bucket_diff(buckets, pb)), key, notes)
            }
            Some((t0, (pc, _, _))) => {
                notes.push(format!(
                    "histogram {key} count went down from {pc} to {count} between {t0}s and {}s \
                     (or its buckets changed): treated as a reset, counted from zero",
                    p.at_s
                ));
                acc.add((count, sum, buckets.to_vec()), key, notes);
            }
        }
        prev = Some((p.at_s, cur));
    }
    prev?;
    note_vanished(key, polls, notes);
    Some(HistogramDelta::from_increase(
        acc.count,
        acc.sum,
        acc.buckets.unwrap_or_default(),
    ))
}

/// Series names present in any poll.
pub(crate) fn present_names(polls: &[Snapshot]) -> BTreeSet<&str> {
    polls
        .iter()
        .flat_map(|p| p.series.keys().map(|k| k.name.as_str()))
        .collect()
}
