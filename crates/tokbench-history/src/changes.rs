//! Change points of a series ([`tokbench_stats::e_divisive`]) and the
//! segments between them.

use serde::Serialize;
use tokbench_record::Record;
use tokbench_stats::{e_divisive, ChangePointOptions};

use crate::error::HistoryError;
use crate::metric::{Better, Metric};
use crate::series::{build_series, Series};

/// Points `start..end` of a series between two change points.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Segment {
    /// First point (index into [`Series::points`]).
    pub start: usize,
    /// One past the last point.
    pub end: usize,
    /// Mean value of its points, in the metric's unit.
    pub mean: f64,
}

/// Whether a shift is good news, given [`Metric::better`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The metric moved the better way.
    Improvement,
    /// The metric moved the worse way.
    Regression,
    /// Neither: a token count, or equal segment means (a change of spread).
    Change,
}

impl Verdict {
    /// `improvement`, `regression` or `change` (as serialised).
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Improvement => "improvement",
            Verdict::Regression => "regression",
            Verdict::Change => "change",
        }
    }
}

/// A point where a new segment starts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangePoint {
    /// The first point of the new segment (index into [`Series::points`]).
    pub index: usize,
    /// Mean of the segment before, in the metric's unit.
    pub before: f64,
    /// Mean of the segment it starts, in the metric's unit.
    pub after: f64,
    /// `after / before − 1` (−0.108 = −10.8 %); `None` when `before` is 0.
    pub relative_change: Option<f64>,
    /// Better or worse.
    pub verdict: Verdict,
}

impl ChangePoint {
    /// `▲` when the mean went up, `▼` when down, `◆` when equal.
    pub fn arrow(&self) -> char {
        if self.after > self.before {
            '▲'
        } else if self.after < self.before {
            '▼'
        } else {
            '◆'
        }
    }

    /// `50.1 → 44.7 (−10.8 %)`.
    pub fn shift(&self) -> String {
        let rel = self
            .relative_change
            .map(|r| format!(" ({})", percent(r)))
            .unwrap_or_default();
        format!("{} → {}{rel}", number(self.before), number(self.after))
    }
}

/// A series with its segments and change points.
#[derive(Debug, Clone, Serialize)]
pub struct History {
    /// The series analysed.
    pub series: Series,
    /// The segments, in order, covering every point (one when there is no
    /// change point; none for an empty series).
    pub segments: Vec<Segment>,
    /// Where segments 1.. start, with the shift of the mean.
    pub change_points: Vec<ChangePoint>,
}

impl History {
    /// Finds the change points of `series` with E-divisive means
    /// (docs/methodology.md, "Change points in a history"). A series
    /// shorter than `2 · opts.min_size` has none.
    ///
    /// # Errors
    /// [`HistoryError::ChangePoint`] when `opts` are invalid (`alpha_sig`
    /// outside `(0, 1)`, zero permutations).
    pub fn analyse(series: Series, opts: &ChangePointOptions) -> Result<Self, HistoryError> {
        let values: Vec<f64> = series.points.iter().map(|p| p.value).collect();
        let starts = e_divisive(&values, opts)?;
        let mut edges = vec![0];
        edges.extend(&starts);
        edges.push(values.len());
        let segments: Vec<Segment> = edges
            .windows(2)
            .filter(|w| w[1] > w[0])
            .map(|w| Segment {
                start: w[0],
                end: w[1],
                mean: values[w[0]..w[1]].iter().sum::<f64>() / (w[1] - w[0]) as f64,
            })
            .collect();
        let change_points = segments
            .windows(2)
            .map(|s| change_point(series.metric, s[0].mean, s[1]))
            .collect();
        Ok(History {
            series,
            segments,
            change_points,
        })
    }

    /// The change point that starts at point `index`, if one does.
    pub fn change_at(&self, index: usize) -> Option<&ChangePoint> {
        self.change_points.iter().find(|c| c.index == index)
    }

    /// The segment holding point `index`.
    pub fn segment_of(&self, index: usize) -> Option<&Segment> {
        self.segments
            .iter()
            .find(|s| (s.start..s.end).contains(&index))
    }

    /// One line for a change point:
    /// `decode_tok_s 50.1 → 44.7 (−10.8 %) at run X / commit Y`.
    pub fn describe(&self, change: &ChangePoint) -> String {
        let mut out = format!("{} {}", self.series.metric, change.shift());
        if let Some(p) = self.series.points.get(change.index) {
            out.push_str(&format!(" at run {}", p.run_id));
            if let Some(c) = &p.commit {
                out.push_str(&format!(" / commit {c}"));
            }
        }
        out
    }
}

fn change_point(metric: Metric, before: f64, next: Segment) -> ChangePoint {
    let after = next.mean;
    let up = after > before;
    let verdict = match metric.better() {
        _ if after == before => Verdict::Change,
        Better::Higher if up => Verdict::Improvement,
        Better::Lower if !up => Verdict::Improvement,
        Better::Higher | Better::Lower => Verdict::Regression,
        Better::Neither => Verdict::Change,
    };
    ChangePoint {
        index: next.start,
        before,
        after,
        relative_change: (before != 0.0).then(|| after / before - 1.0),
        verdict,
    }
}

/// The histories of `metric` over `records`: [`build_series`], then
/// [`History::analyse`] on each series.
///
/// # Errors
/// As [`History::analyse`].
pub fn histories<'a>(
    records: impl IntoIterator<Item = &'a Record>,
    metric: Metric,
    opts: &ChangePointOptions,
) -> Result<Vec<History>, HistoryError> {
    build_series(records, metric)
        .into_iter()
        .map(|s| History::analyse(s, opts))
        .collect()
}

/// A value for people: one decimal from 10 up, else three significant
/// digits (`50.1`, `1234.5`, `0.532`).
pub fn number(v: f64) -> String {
    if v.abs() >= 10.0 || v == 0.0 {
        format!("{v:.1}")
    } else {
        let decimals = (2 - v.abs().log10().floor() as i32).clamp(0, 12);
        format!("{v:.*}", decimals as usize)
    }
}

/// A relative change as a signed percentage with one decimal and a real
/// minus sign: `−10.8 %`, `+3.0 %`.
pub fn percent(rel: f64) -> String {
    let p = rel * 100.0;
    let text = format!("{:.1}", p.abs());
    if text == "0.0" {
        "±0.0 %".to_owned()
    } else if p < 0.0 {
        format!("−{text} %")
    } else {
        format!("+{text} %")
    }
}
