//! "History": per series of a model or rig page (one rig, model file,
//! backend configuration, mode, shape and concurrency; `tokbench-history`),
//! a line chart of the median decode tok/s of each run over its start date,
//! with the change points found by E-divisive means marked by a dashed
//! vertical line and the shift of the mean. Laid out here and drawn as
//! inline SVG by the `history_chart` macro of `templates/macros.html`, like
//! the bar charts of [`crate::charts`] (no JavaScript; every label escaped
//! by the template engine).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use tokbench_history::{
    build_series, percent, ChangePoint, ChangePointOptions, History, Metric, Segment, Series,
    SeriesKey,
};

use crate::format;
use crate::site::Site;

/// Fewest points a series needs to be drawn.
pub const MIN_POINTS: usize = 3;
/// Most points drawn (and analysed) per series: the latest ones.
pub const MAX_POINTS: usize = 100;
/// Chart width and height, px.
const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 220.0;
/// Plot area: left (y labels), right, top (change labels), bottom (dates).
const LEFT: f64 = 56.0;
const RIGHT: f64 = WIDTH - 16.0;
const TOP: f64 = 24.0;
const BOTTOM: f64 = HEIGHT - 28.0;

/// A label at a position along one axis, px.
#[derive(Debug, Clone, Serialize)]
pub struct Tick {
    /// x (date labels) or y (value labels), px.
    pub pos: f64,
    /// The text.
    pub label: String,
    /// SVG `text-anchor` of the label.
    pub anchor: &'static str,
}

/// One run.
#[derive(Debug, Clone, Serialize)]
pub struct Dot {
    /// Centre, px.
    pub x: f64,
    /// Centre, px.
    pub y: f64,
    /// Date, commit, version, run and value, for the tooltip.
    pub title: String,
    /// Run page stem; empty when the run has no page in this group.
    pub slug: String,
}

/// The mean of a segment between change points, drawn under the line.
#[derive(Debug, Clone, Serialize)]
pub struct Level {
    /// From, px.
    pub x1: f64,
    /// To, px.
    pub x2: f64,
    /// The mean, px.
    pub y: f64,
    /// `mean 50.1 tok/s over 12 runs`.
    pub title: String,
}

/// A change point: a dashed vertical line between the last run of a
/// segment and the first of the next.
#[derive(Debug, Clone, Serialize)]
pub struct Marker {
    /// Where, px.
    pub x: f64,
    /// `▼ −10.8 %`.
    pub label: String,
    /// `decode_tok_s 50.1 → 44.7 (−10.8 %) at run X / commit Y`.
    pub title: String,
    /// SVG `text-anchor` of the label (`end` near the right edge).
    pub anchor: &'static str,
    /// `improvement`, `regression` or `change` (a CSS class).
    pub verdict: &'static str,
}

/// One history chart.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryChart {
    /// `chat c=1`.
    pub load: String,
    /// Rig name.
    pub rig: String,
    /// `Family Variant Quant`.
    pub model: String,
    /// Backend without its version, with the mode when not `baseline`.
    pub backend: String,
    /// Runs drawn.
    pub n: usize,
    /// Runs in the series (more than `n` when only the latest are drawn).
    pub total: usize,
    /// SVG size, px.
    pub width: f64,
    /// SVG size, px.
    pub height: f64,
    /// Plot area, px.
    pub left: f64,
    /// Plot area, px.
    pub right: f64,
    /// Plot area, px.
    pub top: f64,
    /// Plot area, px.
    pub bottom: f64,
    /// The polyline's `points` attribute.
    pub line: String,
    /// The runs.
    pub dots: Vec<Dot>,
    /// Value gridlines (tok/s).
    pub y_ticks: Vec<Tick>,
    /// Dates of the first and last run.
    pub x_ticks: Vec<Tick>,
    /// Segment means.
    pub levels: Vec<Level>,
    /// Change points.
    pub changes: Vec<Marker>,
}

/// The change points already found, by series (its key, and the run id
/// and value of each point): a model page and a rig page usually draw the
/// same series, and the permutation tests are the costly part.
#[derive(Debug, Default)]
pub struct Analysed(BTreeMap<SeriesId, Found>);

/// A series: its key, and the run id and value (bits) of each point.
type SeriesId = (SeriesKey, Vec<(String, u64)>);
/// What the analysis of a series found.
type Found = (Vec<Segment>, Vec<ChangePoint>);

impl Analysed {
    /// `series` with its change points, found once per distinct series.
    fn history(&mut self, series: Series, opts: &ChangePointOptions) -> History {
        let points = series
            .points
            .iter()
            .map(|p| (p.run_id.clone(), p.value.to_bits()))
            .collect();
        let key = (series.key.clone(), points);
        if let Some((segments, change_points)) = self.0.get(&key) {
            return History {
                series,
                segments: segments.clone(),
                change_points: change_points.clone(),
            };
        }
        let h = analyse(series, opts);
        self.0
            .insert(key, (h.segments.clone(), h.change_points.clone()));
        h
    }
}

/// The history charts of the records `runs` (indices into [`Site::runs`]):
/// one per series of median decode tok/s with at least [`MIN_POINTS`] runs,
/// in series-key order, each of its latest [`MAX_POINTS`] runs. Series
/// analysed before are taken from `analysed`.
pub fn history_charts(
    site: &Site<'_>,
    runs: &[usize],
    analysed: &mut Analysed,
) -> Vec<HistoryChart> {
    let records = runs.iter().map(|&i| &site.records[i].record);
    let mut slugs: HashMap<&str, &str> = HashMap::new();
    for &i in runs {
        let id = site.records[i].record.run.id.as_str();
        slugs.entry(id).or_insert(site.runs[i].slug.as_str());
    }
    let opts = ChangePointOptions::default();
    build_series(records, Metric::DECODE_TOK_S)
        .into_iter()
        .filter(|s| s.points.len() >= MIN_POINTS)
        .map(|mut s| {
            let total = s.points.len();
            s.points.drain(..total.saturating_sub(MAX_POINTS));
            let history = analysed.history(s, &opts);
            layout(&history, total, &slugs)
        })
        .collect()
}

/// The series with its change points. The default options are valid and
/// the values finite, so analysis cannot fail; were it to, the series is
/// drawn without change points rather than left out.
fn analyse(series: Series, opts: &ChangePointOptions) -> History {
    match History::analyse(series.clone(), opts) {
        Ok(h) => h,
        Err(_) => History {
            series,
            segments: Vec::new(),
            change_points: Vec::new(),
        },
    }
}

/// `v` rounded to 0.1 px.
fn px(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// x of each point: by start time when every date parses and they differ,
/// else evenly spaced.
fn xs(series: &Series) -> Vec<f64> {
    let n = series.points.len();
    let times: Option<Vec<i64>> = series.points.iter().map(|p| p.unix_s).collect();
    let span = |t: &[i64]| Some((*t.first()?, *t.last()?)).filter(|(a, b)| b > a);
    match times.as_deref().and_then(|t| span(t).map(|s| (t, s))) {
        Some((t, (t0, t1))) => t
            .iter()
            .map(|&ti| px(LEFT + (ti - t0) as f64 / (t1 - t0) as f64 * (RIGHT - LEFT)))
            .collect(),
        None => (0..n)
            .map(|i| px(LEFT + i as f64 / (n.max(2) - 1) as f64 * (RIGHT - LEFT)))
            .collect(),
    }
}

/// A round step (1, 2 or 5 × 10^k) giving three to seven intervals over
/// `range`.
fn nice_step(range: f64) -> f64 {
    let raw = range / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let m = raw / mag;
    let nice = if m <= 1.5 {
        1.0
    } else if m <= 3.0 {
        2.0
    } else if m <= 7.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

/// The value axis `(lo, hi, ticks)`: the values padded by 5 % (±5 % of the
/// value for a flat series), gridlines at round values.
fn value_axis(values: &[f64]) -> (f64, f64, Vec<f64>) {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let pad = if max > min {
        (max - min) * 0.05
    } else {
        (min.abs() * 0.05).max(1e-9)
    };
    let (lo, hi) = (min - pad, max + pad);
    let step = nice_step(hi - lo);
    let mut ticks = Vec::new();
    let mut t = (lo / step).ceil() * step;
    while t <= hi && ticks.len() < 12 {
        ticks.push(t);
        t += step;
    }
    (lo, hi, ticks)
}

fn layout(h: &History, total: usize, slugs: &HashMap<&str, &str>) -> HistoryChart {
    let s = &h.series;
    let xs = xs(s);
    let values: Vec<f64> = s.points.iter().map(|p| p.value).collect();
    let (lo, hi, ticks) = value_axis(&values);
    let y = |v: f64| px(BOTTOM - (v - lo) / (hi - lo) * (BOTTOM - TOP));
    let dots: Vec<Dot> = s
        .points
        .iter()
        .zip(&xs)
        .map(|(p, &x)| Dot {
            x,
            y: y(p.value),
            title: dot_title(p),
            slug: slugs.get(p.run_id.as_str()).copied().unwrap_or("").into(),
        })
        .collect();
    let line = dots
        .iter()
        .map(|d| format!("{},{}", d.x, d.y))
        .collect::<Vec<_>>()
        .join(" ");
    let mode = if s.key.mode == "baseline" {
        String::new()
    } else {
        format!(" · mode {}", s.key.mode)
    };
    HistoryChart {
        load: s.key.load_label(),
        rig: s.key.rig.clone(),
        model: s.model_label.clone(),
        backend: format!("{}{mode}", s.key.backend),
        n: s.points.len(),
        total,
        width: WIDTH,
        height: HEIGHT,
        left: LEFT,
        right: RIGHT,
        top: TOP,
        bottom: BOTTOM,
        line,
        y_ticks: ticks
            .into_iter()
            .map(|t| Tick {
                pos: y(t),
                label: format::num(Some(t)),
                anchor: "end",
            })
            .collect(),
        x_ticks: date_ticks(s, &xs),
        dots,
        levels: levels(h, &xs, &y),
        changes: markers(h, &xs),
    }
}

/// The segment means, each under its segment's runs.
fn levels(h: &History, xs: &[f64], y: &dyn Fn(f64) -> f64) -> Vec<Level> {
    h.segments
        .iter()
        .map(|seg| Level {
            x1: xs[seg.start],
            x2: xs[seg.end - 1],
            y: y(seg.mean),
            title: format!(
                "mean {} tok/s over {} runs",
                format::num(Some(seg.mean)),
                seg.end - seg.start
            ),
        })
        .collect()
}

/// The change points, each midway between the last run before it and the
/// first after (a change point never starts at index 0).
fn markers(h: &History, xs: &[f64]) -> Vec<Marker> {
    h.change_points
        .iter()
        .map(|c| {
            let x = px((xs[c.index.saturating_sub(1)] + xs[c.index]) / 2.0);
            let rel = c.relative_change.map(percent).unwrap_or_default();
            Marker {
                x,
                label: format!("{} {rel}", c.arrow()).trim_end().to_owned(),
                title: h.describe(c),
                anchor: if x > RIGHT - 80.0 { "end" } else { "start" },
                verdict: c.verdict.as_str(),
            }
        })
        .collect()
}

fn dot_title(p: &tokbench_history::Point) -> String {
    let mut t = p.started_utc.clone();
    for part in [&p.commit, &p.version].into_iter().flatten() {
        t.push_str(" · ");
        t.push_str(part);
    }
    t.push_str(&format!(
        " · {} · {} tok/s",
        p.run_id,
        format::num(Some(p.value))
    ));
    if p.noisy {
        t.push_str(" (noisy)");
    }
    t
}

/// The first and last run's dates (`YYYY-MM-DD`), under the axis ends; one
/// label when they are the same day.
fn date_ticks(s: &Series, xs: &[f64]) -> Vec<Tick> {
    let day = |i: usize| -> String { s.points[i].started_utc.chars().take(10).collect() };
    let last = s.points.len() - 1;
    let mut ticks = vec![Tick {
        pos: xs[0],
        label: day(0),
        anchor: "start",
    }];
    if day(last) != day(0) {
        ticks.push(Tick {
            pos: xs[last],
            label: day(last),
            anchor: "end",
        });
    }
    ticks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_round_and_cover_the_range() {
        assert_eq!(nice_step(4.0), 1.0);
        assert_eq!(nice_step(7.0), 2.0);
        assert_eq!(nice_step(0.4), 0.1);
        assert_eq!(nice_step(180.0), 50.0);
        assert_eq!(nice_step(10.4), 2.0);
        let (lo, hi, ticks) = value_axis(&[44.0, 50.0, 47.0]);
        assert!(lo < 44.0 && hi > 50.0);
        assert!(ticks.iter().all(|t| (lo..=hi).contains(t)));
        assert!(ticks.len() >= 3, "{ticks:?}");
        let (lo, hi, _) = value_axis(&[80.0, 80.0]);
        assert!(lo < 80.0 && hi > 80.0);
    }
}
