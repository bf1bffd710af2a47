//! Judging gates ([`crate::gate_spec`]) on NEW runs (and a baseline):
//! every bar is judged on an interval, never on a point estimate
//! (`docs/methodology.md#gates`).
//!
//! For a bar `≥ b` with interval `[lo, hi]`: pass when `lo ≥ b`, fail when
//! `hi < b`, inconclusive otherwise (and `≤ b` mirrored). A value without
//! an interval (a run quantity measured once, such as a memory peak) is
//! judged on the value itself, and the result says so.

use serde::Serialize;
use tokbench_stats::{
    quantile_ratio_ci, statistic_ci, CompareOptions, Direction, Estimate, Statistic,
};

use crate::engine::{gather, versus_of, Gathered};
use crate::error::CompareError;
use crate::gate_spec::{CellFilter, Gate, GateKind, GateSpec, Op, Toward};
use crate::load::Side;
use crate::matching::{cells_of, CellKey};
use crate::quantity::{sig, stat_name};
use crate::report::Source;

/// The outcome of one gate on one cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The interval lies wholly on the good side of the bar.
    Pass,
    /// The interval lies wholly on the bad side of the bar.
    Fail,
    /// The interval straddles the bar, or the data cannot decide.
    Inconclusive,
}

impl Status {
    /// `✓`, `✗` or `?`.
    pub fn mark(self) -> &'static str {
        match self {
            Status::Pass => "✓",
            Status::Fail => "✗",
            Status::Inconclusive => "?",
        }
    }
}

/// One gate judged on one cell.
#[derive(Debug, Clone, Serialize)]
pub struct GateResult {
    /// The gate's label.
    pub gate: String,
    /// Its line in the spec.
    pub line: usize,
    /// The cell (`None` when no cell matched the gate).
    pub cell: Option<CellKey>,
    /// The bar as written for people: `≥ 1.10×`, `p99/p50 ≤ 3×`, `≤ 11.80 GB`.
    pub bar: String,
    /// The judged value (ratio, or a value in the metric's unit).
    pub value: Option<f64>,
    /// Its interval, when there is one.
    pub interval: Option<(f64, f64)>,
    /// The value and interval for people: `1.062× [1.051, 1.073]`.
    pub shown: String,
    /// The values behind the judged one, labelled, for the log: the
    /// baseline's and NEW's statistic (speedup and baseline gates), or
    /// NEW's two quantiles (tail ratios); empty for bounds.
    pub detail: Vec<(String, String)>,
    /// The verdict.
    pub status: Status,
    /// Why a result is inconclusive, or how it was judged when not on an
    /// interval.
    pub reason: Option<String>,
}

/// Judges `value` with optional interval against `op bound`.
pub fn judge(op: Op, bound: f64, value: f64, interval: Option<(f64, f64)>) -> Status {
    let (lo, hi) = interval.unwrap_or((value, value));
    let (good, bad) = match op {
        Op::AtLeast => (lo >= bound, hi < bound),
        Op::AtMost => (hi <= bound, lo > bound),
    };
    if good {
        Status::Pass
    } else if bad {
        Status::Fail
    } else {
        Status::Inconclusive
    }
}

fn matches(filter: Option<&CellFilter>, key: &CellKey) -> bool {
    filter.is_none_or(|f| {
        f.shape.as_ref().is_none_or(|s| *s == key.shape)
            && f.concurrency.is_none_or(|c| c == key.concurrency)
    })
}

/// Judges every gate of `spec` on every matching cell of `new`.
///
/// # Errors
/// [`CompareError::Spec`] when a speedup or baseline gate is given without
/// a baseline; [`CompareError::Stats`] for invalid options.
pub fn evaluate(
    spec: &GateSpec,
    new: &Side,
    base: Option<&Side>,
    opts: &CompareOptions,
) -> Result<Vec<GateResult>, CompareError> {
    opts.validate()?;
    let new_cells = cells_of(new);
    let base_cells = base.map(cells_of);
    let mut out = Vec::new();
    for g in &spec.gates {
        let needs_base = matches!(g.kind, GateKind::Speedup { .. } | GateKind::Baseline(_));
        if needs_base && base.is_none() {
            return Err(CompareError::Spec {
                path: spec.path.clone(),
                line: g.line,
                message: format!(
                    "gate {:?} compares with a baseline: pass --baseline RUNS",
                    g.name
                ),
            });
        }
        let before = out.len();
        for (key, occ) in new_cells
            .iter()
            .filter(|(k, _)| matches(g.cell.as_ref(), k))
        {
            let new_g = gather(new, occ, g.metric);
            let base_g = match (base, &base_cells) {
                (Some(b), Some(bc)) => bc.get(key).map(|o| gather(b, o, g.metric)),
                _ => None,
            };
            out.push(one(g, key, &new_g, base_g.as_ref(), opts)?);
        }
        if out.len() == before {
            out.push(unjudged(
                g,
                None,
                "no cell of the NEW runs matches this gate",
            ));
        }
    }
    Ok(out)
}

fn bar(g: &Gate) -> String {
    match g.kind {
        GateKind::Speedup { op, bound } => format!("speedup {} {}×", op.symbol(), sig(bound)),
        GateKind::TailRatio {
            num,
            den,
            op,
            bound,
        } => {
            format!(
                "{}/{} {} {}×",
                name(num),
                name(den),
                op.symbol(),
                sig(bound)
            )
        }
        GateKind::Bound { op, bound } => {
            format!("{} {}", op.symbol(), g.metric.quantity.unit().show(bound))
        }
        GateKind::Baseline(Toward::Fewer) => "fewer than baseline".to_owned(),
        GateKind::Baseline(Toward::Greater) => "greater than baseline".to_owned(),
    }
}

fn name(s: Statistic) -> String {
    match s {
        Statistic::Median => "p50".to_owned(),
        Statistic::Quantile(q) => stat_name(q),
    }
}

fn unjudged(g: &Gate, cell: Option<&CellKey>, reason: &str) -> GateResult {
    GateResult {
        gate: g.name.clone(),
        line: g.line,
        cell: cell.cloned(),
        bar: bar(g),
        value: None,
        interval: None,
        shown: "—".to_owned(),
        detail: Vec::new(),
        status: Status::Inconclusive,
        reason: Some(reason.to_owned()),
    }
}

fn ratio_shown(v: f64, iv: Option<(f64, f64)>) -> String {
    match iv {
        Some((lo, hi)) => format!("{v:.3}× [{lo:.3}, {hi:.3}]"),
        None => format!("{v:.3}×"),
    }
}

fn one(
    g: &Gate,
    key: &CellKey,
    new: &Gathered,
    base: Option<&Gathered>,
    opts: &CompareOptions,
) -> Result<GateResult, CompareError> {
    let unit = g.metric.quantity.unit();
    let show = |v: Option<f64>| v.map(|v| unit.show(v));
    let mut r = unjudged(g, Some(key), "");
    r.reason = None;
    if new.n() < opts.min_samples && new.source != Source::Runs {
        r.reason = Some(format!(
            "{} values, fewer than --min-samples {}",
            new.n(),
            opts.min_samples
        ));
        return Ok(r);
    }
    match g.kind {
        GateKind::Speedup { .. } | GateKind::Baseline(_) => {
            let Some(base) = base else {
                r.reason = Some("the baseline did not measure this cell".to_owned());
                return Ok(r);
            };
            let label = g.metric.label();
            r.detail = [("baseline", base), ("new", new)]
                .into_iter()
                .filter_map(|(side, gd)| {
                    let v = show(gd.value(g.metric.statistic))?;
                    Some((format!("{label} ({side})"), v))
                })
                .collect();
            match g.kind {
                GateKind::Speedup { op, bound } => speedup(&mut r, g, base, new, op, bound, opts)?,
                GateKind::Baseline(toward) => versus_baseline(&mut r, g, base, new, toward, opts)?,
                _ => {}
            }
        }
        GateKind::TailRatio {
            num,
            den,
            op,
            bound,
        } => {
            r.detail = [num, den]
                .into_iter()
                .filter_map(|st| {
                    let v = show(new.value(st))?;
                    Some((format!("{} {}", g.metric.quantity.name(), name(st)), v))
                })
                .collect();
            let est = if new.source == Source::Samples {
                quantile_ratio_ci(&new.runs, num, den, opts)?
            } else {
                None
            };
            set_estimate(
                &mut r,
                est,
                op,
                bound,
                ratio_shown,
                "no per-request samples",
            );
        }
        GateKind::Bound { op, bound } => {
            let est = match new.source {
                Source::Samples => statistic_ci(&new.runs, g.metric.statistic, opts)?,
                Source::Runs if new.runs.len() >= 2 => {
                    statistic_ci(&new.runs, g.metric.statistic, opts)?
                }
                _ => recorded_estimate(new, g.metric.statistic),
            };
            let fmt = |v: f64, iv: Option<(f64, f64)>| match iv {
                Some((lo, hi)) => {
                    format!("{} [{}, {}]", unit.show(v), unit.show(lo), unit.show(hi))
                }
                None => unit.show(v),
            };
            let why = if new.source == Source::Summaries {
                "recorded summaries only"
            } else {
                "measured once"
            };
            set_estimate(&mut r, est, op, bound, fmt, why);
        }
    }
    Ok(r)
}

/// NEW/BASE as an estimate: the interval when the data gave one, else the
/// ratio alone (`level == 0`), else `None`.
fn ratio_estimate(v: &crate::report::Versus) -> Option<Estimate> {
    match (v.comparison, v.ratio) {
        (Some(c), _) => Some(Estimate {
            value: c.estimate.ratio,
            lo: c.estimate.lo,
            hi: c.estimate.hi,
            level: c.estimate.level,
        }),
        (None, Some(ratio)) => Some(Estimate {
            value: ratio,
            lo: ratio,
            hi: ratio,
            level: 0.0,
        }),
        (None, None) => None,
    }
}

/// Without samples: one run's recorded median with its recorded interval,
/// else the value alone (`level == 0`: no interval).
fn recorded_estimate(g: &Gathered, stat: Statistic) -> Option<Estimate> {
    if let ([p], Statistic::Median) = (g.summaries.as_slice(), stat) {
        if let Some((lo, hi, level)) = p.ci {
            return Some(Estimate {
                value: p.median,
                lo,
                hi,
                level,
            });
        }
    }
    g.value(stat).map(|v| Estimate {
        value: v,
        lo: v,
        hi: v,
        level: 0.0,
    })
}

/// Fills value, interval, shown text and status from an estimate; an
/// estimate with `level == 0` is a value without interval.
fn set_estimate(
    r: &mut GateResult,
    est: Option<Estimate>,
    op: Op,
    bound: f64,
    fmt: impl Fn(f64, Option<(f64, f64)>) -> String,
    why_no_interval: &str,
) {
    let Some(e) = est else {
        r.reason = Some(format!("no value to judge ({why_no_interval})"));
        return;
    };
    let iv = (e.level > 0.0).then_some((e.lo, e.hi));
    if iv.is_none() {
        r.reason = Some(format!(
            "judged on the value: {why_no_interval}, no interval"
        ));
    }
    r.value = Some(e.value);
    r.interval = iv;
    r.shown = fmt(e.value, iv);
    r.status = judge(op, bound, e.value, iv);
}

fn speedup(
    r: &mut GateResult,
    g: &Gate,
    base: &Gathered,
    new: &Gathered,
    op: Op,
    bound: f64,
    opts: &CompareOptions,
) -> Result<(), CompareError> {
    let v = versus_of(1, base, new, g.metric, opts)?;
    let flip = g.metric.quantity.direction() == Direction::LowerIsBetter;
    let est = ratio_estimate(&v).map(|e| {
        if flip {
            Estimate {
                value: 1.0 / e.value,
                lo: 1.0 / e.hi,
                hi: 1.0 / e.lo,
                level: e.level,
            }
        } else {
            e
        }
    });
    let why = if v.source == Source::Summaries {
        "recorded summaries only"
    } else {
        "one run per side"
    };
    set_estimate(r, est, op, bound, ratio_shown, why);
    Ok(())
}

fn versus_baseline(
    r: &mut GateResult,
    g: &Gate,
    base: &Gathered,
    new: &Gathered,
    toward: Toward,
    opts: &CompareOptions,
) -> Result<(), CompareError> {
    let v = versus_of(1, base, new, g.metric, opts)?;
    let est = ratio_estimate(&v);
    let Some(e) = est else {
        r.reason = Some("no value to judge".to_owned());
        return Ok(());
    };
    let iv = (e.level > 0.0).then_some((e.lo, e.hi));
    if iv.is_none() {
        r.reason = Some("judged on the value: one run per side, no interval".to_owned());
    }
    let (lo, hi) = iv.unwrap_or((e.value, e.value));
    // Fewer: NEW/BASE wholly below 1; greater: wholly above 1. A ratio of
    // exactly 1 is neither, so it fails.
    r.status = match toward {
        Toward::Fewer if hi < 1.0 => Status::Pass,
        Toward::Fewer if lo >= 1.0 => Status::Fail,
        Toward::Greater if lo > 1.0 => Status::Pass,
        Toward::Greater if hi <= 1.0 => Status::Fail,
        _ => Status::Inconclusive,
    };
    r.value = Some(e.value);
    r.interval = iv;
    r.shown = ratio_shown(e.value, iv);
    Ok(())
}
