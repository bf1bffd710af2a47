//! Crossval gates: bars on crossval records (`tokbench crossval`), the
//! `crossval:` section of a gate spec.
//!
//! ```yaml
//! crossval:
//!   min_identical: 9          # prompts identical token for token, at least
//!   max_hard: 0               # hard divergences, at most
//!   min_top1_agreement: 0.99  # pooled top-1 agreement, at least (0..=1)
//! ```
//!
//! Every crossval record among RUNS is judged on every bar given. The
//! counts are exact (greedy outputs, no sampling noise), so a bar passes
//! or fails outright: there is no interval and no inconclusive verdict,
//! except a top-1 agreement with no compared position.

use serde::Deserialize;
use serde_saphyr::Spanned;
use tokbench_record::CrossvalRecord;

use crate::gate::{GateResult, Status};

/// The raw `crossval:` section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCrossvalBars {
    min_identical: Option<Spanned<u64>>,
    max_hard: Option<Spanned<u64>>,
    min_top1_agreement: Option<Spanned<f64>>,
}

/// A bar and the 1-based line it was written on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar<T> {
    /// The bound.
    pub bound: T,
    /// Its line in the spec.
    pub line: usize,
}

/// The crossval bars of a gate spec.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CrossvalBars {
    /// Prompts identical, at least.
    pub min_identical: Option<Bar<u64>>,
    /// Hard divergences, at most.
    pub max_hard: Option<Bar<u64>>,
    /// Pooled top-1 agreement, at least, in `[0, 1]`.
    pub min_top1_agreement: Option<Bar<f64>>,
}

impl RawCrossvalBars {
    /// The checked bars; `Err((line, message))` for a top-1 bar outside
    /// `[0, 1]` or a section without a bar (`line` is the section's).
    pub(crate) fn check(self, section_line: usize) -> Result<CrossvalBars, (usize, String)> {
        let bar = |s: Spanned<u64>| Bar {
            bound: s.value,
            line: s.referenced.line() as usize,
        };
        let top1 = match self.min_top1_agreement {
            Some(s) if !(0.0..=1.0).contains(&s.value) => {
                return Err((
                    s.referenced.line() as usize,
                    format!(
                        "min_top1_agreement: {} is not a fraction in [0, 1]",
                        s.value
                    ),
                ))
            }
            Some(s) => Some(Bar {
                bound: s.value,
                line: s.referenced.line() as usize,
            }),
            None => None,
        };
        let bars = CrossvalBars {
            min_identical: self.min_identical.map(bar),
            max_hard: self.max_hard.map(bar),
            min_top1_agreement: top1,
        };
        if bars == CrossvalBars::default() {
            return Err((
                section_line,
                "crossval: needs at least one of min_identical, max_hard, min_top1_agreement"
                    .into(),
            ));
        }
        Ok(bars)
    }
}

/// Judges every record on every bar, in record order then bar order.
pub fn evaluate_crossval(bars: &CrossvalBars, records: &[CrossvalRecord]) -> Vec<GateResult> {
    let mut out = Vec::new();
    for r in records {
        let s = &r.summary;
        let of = s.prompts;
        if let Some(b) = bars.min_identical {
            let pass = s.identical >= b.bound;
            out.push(result(
                r,
                "crossval identical",
                b.line,
                format!("≥ {}/{of}", b.bound),
                s.identical as f64,
                format!("{}/{of}", s.identical),
                pass,
            ));
        }
        if let Some(b) = bars.max_hard {
            let pass = s.hard <= b.bound;
            out.push(result(
                r,
                "crossval hard divergences",
                b.line,
                format!("≤ {}", b.bound),
                s.hard as f64,
                s.hard.to_string(),
                pass,
            ));
        }
        if let Some(b) = bars.min_top1_agreement {
            let bar = format!("≥ {:.2}%", 100.0 * b.bound);
            match s.top1_agreement {
                Some(x) => out.push(result(
                    r,
                    "crossval top-1 agreement",
                    b.line,
                    bar,
                    x,
                    format!("{:.2}%", 100.0 * x),
                    x >= b.bound,
                )),
                None => {
                    let mut res = result(
                        r,
                        "crossval top-1 agreement",
                        b.line,
                        bar,
                        f64::NAN,
                        "n/a".into(),
                        false,
                    );
                    res.value = None;
                    res.status = Status::Inconclusive;
                    res.reason = Some("no position was compared".into());
                    out.push(res);
                }
            }
        }
    }
    out
}

fn result(
    r: &CrossvalRecord,
    gate: &str,
    line: usize,
    bar: String,
    value: f64,
    shown: String,
    pass: bool,
) -> GateResult {
    GateResult {
        gate: gate.to_owned(),
        line,
        cell: None,
        bar,
        value: Some(value),
        interval: None,
        shown,
        detail: vec![
            ("record".into(), r.run.id.clone()),
            ("headline".into(), r.summary.headline.clone()),
        ],
        status: if pass { Status::Pass } else { Status::Fail },
        reason: Some("exact count of greedy outputs: no interval".into()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::path::Path;
    use tokbench_record::crossval_fixture::example_crossval;
    use tokbench_record::fixture::ExampleSpec;

    #[test]
    fn bars_pass_and_fail_on_the_exact_counts() {
        // The example: 1/3 identical, 1 hard, top-1 257/259.
        let rec = example_crossval("cv", &ExampleSpec::default());
        let spec = crate::parse_spec(
            "crossval:\n  min_identical: 1\n  max_hard: 0\n  min_top1_agreement: 0.99\n",
            Path::new("g.yaml"),
        )
        .unwrap();
        assert!(spec.gates.is_empty());
        let results = evaluate_crossval(&spec.crossval.unwrap(), &[rec]);
        let got: Vec<(&str, Status, usize)> = results
            .iter()
            .map(|r| (r.gate.as_str(), r.status, r.line))
            .collect();
        assert_eq!(
            got,
            [
                ("crossval identical", Status::Pass, 2),
                ("crossval hard divergences", Status::Fail, 3),
                ("crossval top-1 agreement", Status::Pass, 4),
            ]
        );
        assert_eq!(results[0].shown, "1/3");
    }

    #[test]
    fn bad_sections_are_named_with_their_line() {
        for (text, line, needle) in [
            ("crossval:\n  min_top1_agreement: 1.5\n", 2, "fraction"),
            ("crossval:\n  max_soft: 1\n", 2, "unknown field"),
            ("crossval: {}\n", 1, "at least one"),
        ] {
            let e = crate::parse_spec(text, Path::new("g.yaml"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(&format!("g.yaml:{line}")), "{text:?}: {e}");
            assert!(e.contains(needle), "{text:?}: {e}");
        }
    }
}
