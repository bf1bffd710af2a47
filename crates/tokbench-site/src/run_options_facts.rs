//! Facts of a run page about goodput (`--slo`) and reasoning
//! (`--reasoning`, answer tok/s): the run-level settings and, per cell,
//! the values they produced (docs/methodology.md#goodput, #reasoning).
//! Text only; the templates escape it.

use tokbench_record::{CellMetrics, Record};

use crate::facts::Fact;
use crate::format;

/// `Goodput SLOs: ttft_ms ≤ 500 ms, tpot_ms ≤ 50 ms` when the run had
/// `--slo`; `Reasoning: off via … — obeyed` when the record says.
pub fn run_facts(r: &Record) -> Vec<Fact> {
    let mut out = Vec::new();
    if let Some(slo) = &r.run.slo {
        let limits: Vec<String> = [
            ("ttft_ms", slo.ttft_ms),
            ("tpot_ms", slo.tpot_ms),
            ("e2e_ms", slo.e2e_ms),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k} ≤ {v} ms")))
        .collect();
        out.push(
            Fact::new("Goodput SLOs (per request)", limits.join(", "))
                .link("methodology.html#goodput".into()),
        );
    }
    if let Some(x) = &r.run.reasoning {
        let obeyed = match x.obeyed {
            Some(true) => "obeyed",
            Some(false) => "NOT obeyed",
            None => "nothing asked or nothing measured",
        };
        let switch = x
            .switch
            .as_deref()
            .map_or(String::new(), |s| format!(" via {s}"));
        let value = format!(
            "{}{switch} — {obeyed}; {} reasoning tokens",
            x.mode, x.reasoning_tokens
        );
        out.push(Fact::new("Reasoning", value).link("methodology.html#reasoning".into()));
    }
    out
}

/// `1.25 (5 of 6 ok requests good, 83.3%)`, when the cell has goodput.
pub fn goodput_text(m: &CellMetrics) -> Option<String> {
    let good = m.good_requests?;
    let pct = m
        .goodput_pct
        .map_or_else(String::new, |p| format!(", {}", format::percent(p / 100.0)));
    Some(format!(
        "{} ({good} of {} ok requests good{pct})",
        format::num(m.goodput_rps),
        m.ok
    ))
}

/// `133 (gen 200; 4 reasoning + 8 content tokens per request, medians)`,
/// when the cell saw reasoning tokens.
pub fn answer_text(m: &CellMetrics) -> Option<String> {
    let answer = m.answer_tok_s.as_ref()?;
    let median = |s: Option<&tokbench_record::Summary>| format::num(s.map(|s| s.median));
    Some(format!(
        "{} (gen {}; {} reasoning + {} content tokens per request, medians)",
        format::num(Some(answer.median)),
        median(m.decode_tok_s.as_ref()),
        median(m.reasoning_tokens.as_ref()),
        median(m.content_tokens.as_ref()),
    ))
}
