//! The chart of one sweep objective: a horizontal bar per ranked
//! configuration (its median), with the 95% confidence interval drawn as a
//! whisker, laid out here and drawn as inline SVG by the `sweep_chart`
//! macro of `templates/macros.html` (no JavaScript; every label is escaped
//! by the template engine). Bars keep the objective's ranking order; the
//! winner is marked and configurations that cannot win are greyed.

use serde::Serialize;
use tokbench_record::{RankedConfig, SweepObjective};

use crate::charts::shorten;
use crate::format;

/// Chart width, px.
const WIDTH: u32 = 760;
/// Height of one bar row, px.
const ROW: u32 = 36;
/// Where bars start, px (labels sit left of it).
const BAR_X: u32 = 300;
/// Longest bar (the largest value or CI end), px: leaves room for the
/// value after a whisker.
const BAR_MAX: f64 = 340.0;
/// Longest configuration label kept, characters.
const LABEL_CHARS: usize = 40;

/// One bar: a configuration's median and its interval.
#[derive(Debug, Clone, Serialize)]
pub struct SweepBar {
    /// Top of the row, px.
    pub y: u32,
    /// Bar length, px (at least 1).
    pub w: u32,
    /// Whisker ends, px from the left edge, when the record has an
    /// interval.
    pub ci: Option<(u32, u32)>,
    /// Where the value text starts, px.
    pub value_x: u32,
    /// Configuration label (shortened).
    pub label: String,
    /// `winner`, `not eligible` or empty.
    pub meta: String,
    /// Tooltip: full label, value, interval.
    pub title: String,
    /// The median with its unit.
    pub value: String,
    /// CSS class of the row: `winner`, `ineligible` or empty.
    pub class: &'static str,
}

/// The chart of one objective.
#[derive(Debug, Clone, Serialize)]
pub struct SweepChart {
    /// The objective's label, e.g. `decode_tok_s@chat@1`.
    pub objective: String,
    /// `higher is better` or `lower is better`.
    pub direction: &'static str,
    /// SVG width, px.
    pub width: u32,
    /// SVG height, px.
    pub height: u32,
    /// Bar start, px.
    pub bar_x: u32,
    /// One bar per ranked configuration, in ranking order.
    pub bars: Vec<SweepBar>,
}

/// `value unit`, formatted for tables and charts.
pub fn with_unit(v: f64, unit: &str) -> String {
    format!("{} {unit}", format::num(Some(v)))
}

/// The interval `low–high` of `c`, `—` when the record has none.
pub fn ci_text(c: &RankedConfig) -> String {
    match (c.ci_low, c.ci_high) {
        (Some(lo), Some(hi)) => format!("{}–{}", format::num(Some(lo)), format::num(Some(hi))),
        _ => "—".into(),
    }
}

/// The chart of objective `o`.
pub fn sweep_chart(o: &SweepObjective) -> SweepChart {
    let max = o
        .ranking
        .iter()
        .flat_map(|c| [Some(c.median), c.ci_high])
        .flatten()
        .filter(|v| v.is_finite())
        .fold(f64::MIN_POSITIVE, f64::max);
    let px = |v: f64| BAR_X + ((v.max(0.0) / max) * BAR_MAX).round().min(BAR_MAX) as u32;
    let bars: Vec<SweepBar> = o
        .ranking
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let end = px(c.median).max(BAR_X + 1);
            let ci = c.ci_low.zip(c.ci_high).map(|(lo, hi)| (px(lo), px(hi)));
            let winner = o.winner.as_deref() == Some(c.label.as_str());
            let (class, meta) = match (winner, c.eligible) {
                (true, _) => ("winner", "★ winner"),
                (false, false) => ("ineligible", "not eligible (quality or SLO)"),
                (false, true) => ("", ""),
            };
            let value = with_unit(c.median, &o.unit);
            SweepBar {
                y: i as u32 * ROW,
                w: end - BAR_X,
                value_x: end.max(ci.map_or(0, |(_, hi)| hi)) + 6,
                ci,
                label: shorten(&c.label, LABEL_CHARS),
                meta: meta.into(),
                title: format!("{} — {value}, 95% CI {}", c.label, ci_text(c)),
                value,
                class,
            }
        })
        .collect();
    SweepChart {
        objective: o.label.clone(),
        direction: if o.higher_is_better {
            "higher is better"
        } else {
            "lower is better"
        },
        width: WIDTH,
        height: (bars.len() as u32 * ROW).max(ROW),
        bar_x: BAR_X,
        bars,
    }
}

#[cfg(test)]
mod tests {
    use tokbench_record::fixture::ExampleSpec;
    use tokbench_record::sweep_fixture::example_sweep;

    use super::*;

    #[test]
    fn bars_keep_ranking_order_and_scale_to_the_largest_value() {
        let r = example_sweep("s", &ExampleSpec::default());
        let c = sweep_chart(&r.objectives[0]);
        let labels: Vec<&str> = c.bars.iter().map(|b| b.label.as_str()).collect();
        let ranked: Vec<&str> = r.objectives[0]
            .ranking
            .iter()
            .map(|c| c.label.as_str())
            .collect();
        assert_eq!(labels, ranked);
        assert_eq!(c.bars[0].class, "winner");
        assert_eq!(c.bars[3].class, "ineligible");
        // The largest CI end (101 + 2 tok/s) is the full bar length.
        let (_, hi) = c.bars[3].ci.unwrap();
        assert_eq!(hi, BAR_X + BAR_MAX as u32);
        assert!(c.bars.iter().all(|b| b.value_x > BAR_X + b.w));
        let (lo, hi) = c.bars[0].ci.unwrap();
        assert!(lo < BAR_X + c.bars[0].w && BAR_X + c.bars[0].w < hi);
        assert_eq!(c.height, 5 * ROW);
    }
}
