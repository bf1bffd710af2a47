//! One exporter per output format of `tokbench compare`: a terminal table,
//! Markdown (a pull-request comment or `$GITHUB_STEP_SUMMARY`), JSON (the
//! whole [`Report`]) and CSV (one line per cell, metric and side).

mod csv;
mod json;
mod markdown;
mod table;

use tokbench_stats::Verdict;

use crate::error::CompareError;
use crate::quantity::sig;
use crate::report::{CellTable, MetricRow, Report, Source, Versus};

pub use self::csv::CsvExporter;
pub use self::json::JsonExporter;
pub use self::markdown::MarkdownExporter;
pub use self::table::TableExporter;

/// Renders a comparison in one format.
pub trait Exporter {
    /// The rendered text.
    ///
    /// # Errors
    /// [`CompareError::Render`] when serialisation fails.
    fn render(&self, report: &Report) -> Result<String, CompareError>;
}

/// The methodology section every output links to.
pub const METHODOLOGY: &str = "docs/methodology.md#comparing-runs";

/// Lines above the tables: the sides, what differs, what is the same, the
/// statistics used, and the whole-report notes.
pub fn header_lines(report: &Report) -> Vec<String> {
    let mut out = Vec::new();
    for (i, s) in report.sides.iter().enumerate() {
        let role = if i == 0 { "BASE" } else { "NEW" };
        let tag = if report.sides.len() > 2 && i > 0 {
            format!("{role}{i}")
        } else {
            role.to_owned()
        };
        out.push(format!(
            "{tag}: {} ({} run(s), {} with samples)",
            s.label, s.runs, s.runs_with_samples
        ));
    }
    let (differs, same): (Vec<_>, Vec<_>) = report.properties.iter().partition(|p| p.differs);
    let differs: Vec<String> = differs
        .iter()
        .map(|p| format!("{}: {}", p.name, p.values.join(" → ")))
        .collect();
    let same: Vec<String> = same
        .iter()
        .map(|p| {
            format!(
                "{}: {}",
                p.name,
                p.values.first().map_or("", String::as_str)
            )
        })
        .collect();
    out.push(format!(
        "Differs: {}",
        if differs.is_empty() {
            "nothing recorded".to_owned()
        } else {
            differs.join(" · ")
        }
    ));
    out.push(format!("Same: {}", same.join(" · ")));
    let o = &report.options;
    out.push(format!(
        "Ratios NEW/BASE of the median (or p99) with {}% bootstrap intervals ({} resamples, seed {}); \
         p: Mann–Whitney U, Holm-adjusted per table; noise ±{}%, alpha {}, at least {} values per side \
         for a verdict; MDE: smallest change the interval resolves. Definitions: {METHODOLOGY}",
        pct(o.level),
        o.resamples,
        o.seed,
        pct(o.noise),
        o.alpha,
        o.min_samples
    ));
    if report.across_rigs {
        out.push(
            "ACROSS RIGS: the sides were measured on different machines (--across-rigs)".to_owned(),
        );
    }
    out.extend(report.notes.iter().cloned());
    if !report.unmatched.is_empty() {
        let list: Vec<String> = report
            .unmatched
            .iter()
            .map(|u| {
                let sides: Vec<String> = u
                    .sides
                    .iter()
                    .map(|&i| report.sides[i].label.clone())
                    .collect();
                format!("{} (only in {})", u.key, sides.join(", "))
            })
            .collect();
        out.push(format!(
            "Not compared (not measured on every side): {}",
            list.join("; ")
        ));
    }
    out
}

/// A fraction as a percentage without trailing zeros: 0.95 → `95`,
/// 0.025 → `2.5`.
pub fn pct(fraction: f64) -> String {
    let s = format!("{:.3}", fraction * 100.0);
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// The title of a cell's table, with the across-rigs warning when it applies.
pub fn cell_title(report: &Report, t: &CellTable) -> String {
    let warn = if report.across_rigs {
        " — ACROSS RIGS"
    } else {
        ""
    };
    format!("{}{warn}", t.key)
}

/// A value in the row's unit, or `—`.
pub fn value(row: &MetricRow, v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |v| row.unit.show(v))
}

/// `1.06× [1.04, 1.08]`, `1.06×` without an interval, `—` without a
/// ratio; `‡` marks a ratio from the recorded summaries.
pub fn ratio(v: &Versus) -> String {
    let mark = if v.source == Source::Summaries {
        " ‡"
    } else {
        ""
    };
    match (v.ratio, v.comparison) {
        (_, Some(c)) => format!(
            "{}× [{}, {}]{mark}",
            ratio_digits(c.estimate.ratio),
            ratio_digits(c.estimate.lo),
            ratio_digits(c.estimate.hi)
        ),
        (Some(r), None) => format!("{}× (no interval){mark}", ratio_digits(r)),
        (None, None) => "—".to_owned(),
    }
}

fn ratio_digits(r: f64) -> String {
    format!("{r:.3}")
}

/// The Holm-adjusted p-value, or `—`.
pub fn p_value(v: &Versus) -> String {
    v.comparison.map_or_else(
        || "—".to_owned(),
        |c| {
            if c.p_adjusted < 0.001 {
                "<0.001".to_owned()
            } else {
                format!("{:.3}", c.p_adjusted)
            }
        },
    )
}

/// The minimum detectable effect as `±3.1%`, or `—`.
pub fn mde(v: &Versus) -> String {
    v.comparison
        .filter(|c| c.mde.is_finite())
        .map_or_else(|| "—".to_owned(), |c| format!("±{}%", sig(c.mde * 100.0)))
}

/// `▲ faster`, `▼ slower`, `= same`, `? inconclusive`.
pub fn verdict(v: Verdict) -> &'static str {
    match v {
        Verdict::Faster => "▲ faster",
        Verdict::Slower => "▼ slower",
        Verdict::Same => "= same",
        Verdict::Inconclusive => "? inconclusive",
    }
}

/// The legend printed under the tables when a `‡` appears.
pub fn legend(report: &Report) -> Option<&'static str> {
    report
        .tables
        .iter()
        .flat_map(|t| &t.rows)
        .flat_map(|r| &r.versus)
        .any(|v| v.source == Source::Summaries)
        .then_some("‡ from the recorded summaries: a side has no samples sidecar")
}

/// Column headers of one cell table: metric, BASE, then per other side its
/// value, ratio with interval, p, verdict and MDE.
pub fn headers(report: &Report) -> Vec<String> {
    let mut h = vec!["metric".to_owned(), "BASE".to_owned()];
    let many = report.sides.len() > 2;
    for i in 1..report.sides.len() {
        let tag = if many {
            format!("NEW{i}")
        } else {
            "NEW".to_owned()
        };
        h.push(tag.clone());
        h.push(format!("{tag}/BASE [{}% CI]", pct(report.options.level)));
        h.push("p (Holm)".to_owned());
        h.push("verdict".to_owned());
        h.push("MDE".to_owned());
    }
    h
}

/// The cells of one row, matching [`headers`].
pub fn row_cells(row: &MetricRow) -> Vec<String> {
    let mut c = vec![row.metric.clone(), value(row, row.base)];
    for v in &row.versus {
        c.push(value(row, v.value));
        c.push(ratio(v));
        c.push(p_value(v));
        c.push(verdict(v.verdict).to_owned());
        c.push(mde(v));
    }
    c
}
