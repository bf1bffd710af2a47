//! Gate specs: performance gates as data (`gates.yaml`), read with
//! serde-saphyr so that every error names the file and line.
//!
//! ```yaml
//! gates:
//!   - name: Decode speedup c=1            # optional label
//!     metric: decode_tok_s                # a quantity, optionally :p99 etc.
//!     cell: {shape: chat, concurrency: 1} # optional; default every cell
//!     speedup: ">= 1.10"                  # NEW vs --baseline, on the interval's lower bound
//!   - metric: ttft_ms
//!     tail_ratio: "<= 3"                  # p99/p50 of NEW (tail: p99/p50 by default)
//!   - metric: gpu_peak_memory_bytes
//!     max: 11.8 GB                        # absolute bound, unit checked against the metric
//!   - metric: decode_tok_s
//!     min: 30
//!   - metric: ttft_ms
//!     baseline: fewer                     # fewer | greater than the baseline
//! ```
//!
//! A `crossval:` section holds bars on crossval records instead
//! ([`crate::crossval_gate`]); a spec needs gates, that section, or both.
//!
//! Each gate has exactly one of `speedup`, `tail_ratio`, `max`, `min`,
//! `baseline`. How each is judged is `crate::gate`'s and
//! `docs/methodology.md#gates`.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_saphyr::Spanned;
use tokbench_stats::Statistic;

use crate::crossval_gate::{CrossvalBars, RawCrossvalBars};
use crate::error::CompareError;
use crate::quantity::{parse_statistic, MetricSpec};

/// A parsed gate spec.
#[derive(Debug, Clone, PartialEq)]
pub struct GateSpec {
    /// The file it was read from.
    pub path: PathBuf,
    /// The gates, in file order.
    pub gates: Vec<Gate>,
    /// Bars on crossval records (`crossval:` section), when given.
    pub crossval: Option<CrossvalBars>,
}

/// One gate.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    /// Label (given, or `metric kind`).
    pub name: String,
    /// 1-based line of the gate's `metric:` in the spec.
    pub line: usize,
    /// What is gated.
    pub metric: MetricSpec,
    /// Which cells; `None`: every cell of the NEW runs.
    pub cell: Option<CellFilter>,
    /// The kind of bar.
    pub kind: GateKind,
}

/// Restricts a gate to some cells.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CellFilter {
    /// Workload shape, e.g. `chat`.
    pub shape: Option<String>,
    /// Concurrency.
    pub concurrency: Option<u64>,
}

/// `≥` or `≤`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// The value must be at least the bound.
    AtLeast,
    /// The value must be at most the bound.
    AtMost,
}

impl Op {
    /// `≥` or `≤`.
    pub fn symbol(self) -> &'static str {
        match self {
            Op::AtLeast => "≥",
            Op::AtMost => "≤",
        }
    }
}

/// Which side of the baseline NEW must lie on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Toward {
    /// NEW's statistic below the baseline's.
    Fewer,
    /// NEW's statistic above the baseline's.
    Greater,
}

/// The bar of a gate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GateKind {
    /// Speedup vs the baseline (`NEW/BASE` for rates, `BASE/NEW` for
    /// latencies), judged on its interval.
    Speedup {
        /// Direction of the bar.
        op: Op,
        /// The bar, e.g. 1.10.
        bound: f64,
    },
    /// Ratio of two statistics of NEW, e.g. `p99/p50 ≤ 3`.
    TailRatio {
        /// Numerator statistic (default p99).
        num: Statistic,
        /// Denominator statistic (default p50).
        den: Statistic,
        /// Direction of the bar.
        op: Op,
        /// The bar.
        bound: f64,
    },
    /// An absolute bound on NEW's statistic, in the metric's unit.
    Bound {
        /// Direction of the bar (`max` is `≤`, `min` is `≥`).
        op: Op,
        /// The bar, in the metric's unit (bytes, ms, tok/s, …).
        bound: f64,
    },
    /// NEW fewer or greater than the baseline.
    Baseline(Toward),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    #[serde(default)]
    gates: Vec<RawGate>,
    crossval: Option<Spanned<RawCrossvalBars>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Num(f64),
    Text(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGate {
    name: Option<String>,
    metric: Spanned<String>,
    cell: Option<CellFilter>,
    speedup: Option<Spanned<Scalar>>,
    tail_ratio: Option<Spanned<Scalar>>,
    tail: Option<Spanned<String>>,
    max: Option<Spanned<Scalar>>,
    min: Option<Spanned<Scalar>>,
    baseline: Option<Spanned<String>>,
}

/// Reads and checks a gate spec file.
///
/// # Errors
/// [`CompareError::Spec`] naming the file and line: unreadable file, YAML
/// syntax, unknown field, unknown metric or statistic, a bound that is not
/// a number, a unit that does not fit the metric, no bar or two bars.
pub fn read_spec(path: &Path) -> Result<GateSpec, CompareError> {
    let text = std::fs::read_to_string(path).map_err(|e| CompareError::Spec {
        path: path.to_owned(),
        line: 0,
        message: format!("cannot read the gate spec: {e}"),
    })?;
    parse_spec(&text, path)
}

/// Parses a gate spec; `path` only names the file in errors.
///
/// # Errors
/// As [`read_spec`].
pub fn parse_spec(text: &str, path: &Path) -> Result<GateSpec, CompareError> {
    let raw: RawSpec = serde_saphyr::from_str(text).map_err(|e| CompareError::Spec {
        path: path.to_owned(),
        line: e.location().map_or(0, |l| l.line() as usize),
        message: first_line(&e.to_string()),
    })?;
    let gates = raw
        .gates
        .into_iter()
        .map(|g| {
            gate(g).map_err(|(line, message)| CompareError::Spec {
                path: path.to_owned(),
                line,
                message,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let crossval = match raw.crossval {
        Some(c) => {
            let line = line_of(&c);
            Some(
                c.value
                    .check(line)
                    .map_err(|(line, message)| CompareError::Spec {
                        path: path.to_owned(),
                        line,
                        message,
                    })?,
            )
        }
        None => None,
    };
    if gates.is_empty() && crossval.is_none() {
        return Err(CompareError::Spec {
            path: path.to_owned(),
            line: 1,
            message: "the spec lists no gate".to_owned(),
        });
    }
    Ok(GateSpec {
        path: path.to_owned(),
        gates,
        crossval,
    })
}

/// The message without serde-saphyr's source snippet.
fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or(s).to_owned()
}

type Located<T> = Result<T, (usize, String)>;

fn line_of<T>(s: &Spanned<T>) -> usize {
    s.referenced.line() as usize
}

fn gate(g: RawGate) -> Located<Gate> {
    let line = line_of(&g.metric);
    let metric: MetricSpec = g
        .metric
        .value
        .parse()
        .map_err(|e: CompareError| (line, e.to_string()))?;
    let bars = [
        g.speedup.as_ref().map(|_| "speedup"),
        g.tail_ratio.as_ref().map(|_| "tail_ratio"),
        g.max.as_ref().map(|_| "max"),
        g.min.as_ref().map(|_| "min"),
        g.baseline.as_ref().map(|_| "baseline"),
    ];
    let given: Vec<&str> = bars.iter().flatten().copied().collect();
    if given.len() != 1 {
        return Err((
            line,
            format!(
                "a gate needs exactly one of speedup, tail_ratio, max, min, baseline (found {})",
                if given.is_empty() {
                    "none".to_owned()
                } else {
                    given.join(", ")
                }
            ),
        ));
    }
    if g.tail.is_some() && g.tail_ratio.is_none() {
        return Err((line, "`tail` only goes with `tail_ratio`".to_owned()));
    }
    let kind = kind(&g, metric)?;
    let name = g
        .name
        .unwrap_or_else(|| format!("{} {}", metric.label(), given[0]));
    Ok(Gate {
        name,
        line,
        metric,
        cell: g.cell,
        kind,
    })
}

fn kind(g: &RawGate, metric: MetricSpec) -> Located<GateKind> {
    if let Some(s) = &g.speedup {
        let (op, bound) = ratio_bar(s, Op::AtLeast)?;
        return Ok(GateKind::Speedup { op, bound });
    }
    if let Some(s) = &g.tail_ratio {
        let (op, bound) = ratio_bar(s, Op::AtMost)?;
        let (num, den) = match &g.tail {
            Some(t) => tail(t)?,
            None => (Statistic::Quantile(0.99), Statistic::Quantile(0.5)),
        };
        return Ok(GateKind::TailRatio {
            num,
            den,
            op,
            bound,
        });
    }
    if let Some(b) = &g.baseline {
        return match b.value.as_str() {
            "fewer" | "lower" => Ok(GateKind::Baseline(Toward::Fewer)),
            "greater" | "higher" => Ok(GateKind::Baseline(Toward::Greater)),
            other => Err((
                line_of(b),
                format!("baseline: {other:?} is not fewer or greater"),
            )),
        };
    }
    let (s, op) = match (&g.max, &g.min) {
        (Some(s), _) => (s, Op::AtMost),
        (_, Some(s)) => (s, Op::AtLeast),
        _ => return Err((line_of(&g.metric), "no bar".to_owned())),
    };
    let bound = quantity_bound(s, metric)?;
    Ok(GateKind::Bound { op, bound })
}

fn tail(t: &Spanned<String>) -> Located<(Statistic, Statistic)> {
    let bad = |m: String| (line_of(t), m);
    let (a, b) = t
        .value
        .split_once('/')
        .ok_or_else(|| bad(format!("tail: {:?} is not like p99/p50", t.value)))?;
    Ok((
        parse_statistic(a.trim()).map_err(bad)?,
        parse_statistic(b.trim()).map_err(bad)?,
    ))
}

/// `">= 1.10"`, `"≤ 3×"`, `1.1` (with the default op).
fn ratio_bar(s: &Spanned<Scalar>, default: Op) -> Located<(Op, f64)> {
    let text = match &s.value {
        Scalar::Num(v) => return positive(*v, line_of(s)).map(|v| (default, v)),
        Scalar::Text(t) => t.trim(),
    };
    let (op, rest) = split_op(text, default);
    let rest = rest.trim().trim_end_matches(['×', 'x']).trim();
    let v: f64 = rest.parse().map_err(|_| {
        (
            line_of(s),
            format!("{text:?} is not a ratio like \">= 1.10\" or \"<= 3\""),
        )
    })?;
    positive(v, line_of(s)).map(|v| (op, v))
}

fn split_op(text: &str, default: Op) -> (Op, &str) {
    for (prefix, op) in [
        (">=", Op::AtLeast),
        ("≥", Op::AtLeast),
        ("<=", Op::AtMost),
        ("≤", Op::AtMost),
    ] {
        if let Some(rest) = text.strip_prefix(prefix) {
            return (op, rest);
        }
    }
    (default, text)
}

fn positive(v: f64, line: usize) -> Located<f64> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err((line, format!("{v} is not a positive number")))
    }
}

/// `11.8 GB`, `30`, `250 ms`: a number and a unit that fits the metric.
fn quantity_bound(s: &Spanned<Scalar>, metric: MetricSpec) -> Located<f64> {
    let line = line_of(s);
    let text = match &s.value {
        Scalar::Num(v) => return positive(*v, line),
        Scalar::Text(t) => t.trim(),
    };
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+' || c == 'e'))
        .unwrap_or(text.len());
    let (num, suffix) = text.split_at(split);
    let v: f64 = num.trim().parse().map_err(|_| {
        (
            line,
            format!("{text:?} is not a number with an optional unit"),
        )
    })?;
    let unit = metric.quantity.unit();
    let scale = unit.scale_of(suffix.trim()).ok_or_else(|| {
        (
            line,
            format!(
                "unit {:?} does not fit {} (use {})",
                suffix.trim(),
                metric.quantity.name(),
                unit.suffixes()
            ),
        )
    })?;
    positive(v * scale, line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quantity::Quantity;

    fn err(text: &str) -> String {
        parse_spec(text, Path::new("gates.yaml"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn every_kind_of_the_seed_log_parses() {
        let text = "gates:\n  - metric: decode_tok_s\n    cell: {shape: chat, concurrency: 1}\n    speedup: \">= 1.10\"\n  - metric: ttft_ms\n    tail_ratio: \"<= 3\"\n  - metric: gpu_peak_memory_bytes\n    max: 11.8 GB\n  - metric: decode_tok_s\n    min: 30\n  - metric: ttft_ms:p99\n    baseline: fewer\n";
        let spec = parse_spec(text, Path::new("g.yaml")).unwrap();
        assert_eq!(spec.gates.len(), 5);
        assert_eq!(
            spec.gates[0].kind,
            GateKind::Speedup {
                op: Op::AtLeast,
                bound: 1.10
            }
        );
        assert_eq!(spec.gates[0].line, 2);
        assert_eq!(spec.gates[0].cell.as_ref().unwrap().concurrency, Some(1));
        assert!(
            matches!(spec.gates[1].kind, GateKind::TailRatio { op: Op::AtMost, bound, .. } if bound == 3.0)
        );
        assert_eq!(
            spec.gates[2].kind,
            GateKind::Bound {
                op: Op::AtMost,
                bound: 11.8e9
            }
        );
        assert_eq!(spec.gates[2].line, 7);
        assert_eq!(
            spec.gates[3].kind,
            GateKind::Bound {
                op: Op::AtLeast,
                bound: 30.0
            }
        );
        assert_eq!(spec.gates[4].metric, MetricSpec::p99(Quantity::TtftMs));
        assert_eq!(spec.gates[4].kind, GateKind::Baseline(Toward::Fewer));
    }

    #[test]
    fn unknown_metric_names_file_and_line() {
        let e = err(
            "gates:\n  - metric: decode_tok_s\n    min: 1\n  - metric: decode_tps\n    min: 1\n",
        );
        assert!(
            e.starts_with("gates.yaml:4: unknown metric \"decode_tps\""),
            "{e}"
        );
    }

    #[test]
    fn bad_unit_names_file_and_line() {
        let e = err("gates:\n  - metric: gpu_peak_memory_bytes\n    max: 11.8 ms\n");
        assert!(
            e.starts_with("gates.yaml:3: unit \"ms\" does not fit"),
            "{e}"
        );
        let e = err("gates:\n  - metric: ttft_ms\n    max: fast\n");
        assert!(e.starts_with("gates.yaml:3:"), "{e}");
    }

    #[test]
    fn bad_yaml_and_unknown_fields_name_the_line() {
        let e = err("gates:\n  - metric: ttft_ms\n    max: [1, 2\n");
        assert!(e.starts_with("gates.yaml:"), "{e}");
        assert!(!e.starts_with("gates.yaml:0:"), "a line is named: {e}");
        let e = err("gates:\n  - metric: ttft_ms\n    maximum: 3\n");
        assert!(
            e.starts_with("gates.yaml:3:") && e.contains("maximum"),
            "{e}"
        );
    }

    #[test]
    fn one_bar_per_gate() {
        let e = err("gates:\n  - metric: ttft_ms\n    max: 3\n    min: 1\n");
        assert!(e.contains("exactly one") && e.contains("max, min"), "{e}");
        let e = err("gates:\n  - metric: ttft_ms\n");
        assert!(e.starts_with("gates.yaml:2:") && e.contains("none"), "{e}");
        let e = err("gates: []\n");
        assert!(e.contains("no gate"), "{e}");
    }
}
