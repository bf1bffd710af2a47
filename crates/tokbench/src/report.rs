//! Exported result types: what `tokbench run` prints and serialises.
//!
//! These are deliberately separate from the measurement types of
//! `tokbench-stats` (as in hyperfine): exporters read a [`RunReport`], and
//! the table columns are defined once, in [`columns`].

use serde::Serialize;
use tokbench_client::StopReason;
use tokbench_stats::CellMetrics;
use tokbench_stats::Summary;

/// The result of one `tokbench run` invocation.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// tokbench version that produced the report.
    pub tokbench_version: String,
    /// Server and model measured.
    pub target: Target,
    /// One entry per concurrency level, in the order run.
    pub cells: Vec<CellReport>,
}

/// Server and model measured.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// Base URL of the server.
    pub url: String,
    /// Model id sent in requests.
    pub model: String,
    /// `chat` or `completions`.
    pub endpoint: String,
}

/// One measured cell: a workload at one concurrency level.
#[derive(Debug, Clone, Serialize)]
pub struct CellReport {
    /// Workload shape name (`custom` for --prompt-tokens/--output-tokens).
    pub shape: String,
    /// Requests in flight (closed loop) or in-flight cap (open loop).
    pub concurrency: usize,
    /// Open-loop arrival rate, requests/s.
    pub rate_rps: Option<f64>,
    /// Target prompt length, tokens.
    pub prompt_tokens_target: u64,
    /// Target output length, tokens.
    pub output_tokens_target: u64,
    /// Why issuing stopped.
    pub stop: StopReason,
    /// Every metric, summarised (see docs/methodology.md).
    pub metrics: CellMetrics,
}

/// One column of the human-readable outputs (table, Markdown, CSV).
pub struct Column {
    /// Header text (units included).
    pub header: &'static str,
    /// Renders the cell's value.
    pub value: fn(&CellReport) -> String,
}

fn fmt1(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.1}"))
}

fn med(s: &Option<Summary>) -> Option<f64> {
    s.as_ref().map(|s| s.median)
}

fn gen_cell(c: &CellReport) -> String {
    match &c.metrics.decode_tok_s {
        None => "-".into(),
        Some(s) => format!("{:.1} ({:.1}–{:.1})", s.median, s.min, s.max),
    }
}

fn gen_ci(c: &CellReport) -> String {
    match c
        .metrics
        .decode_tok_s
        .as_ref()
        .and_then(|s| s.ci95_median.as_ref())
    {
        None => "-".into(),
        Some(ci) => format!("{:.1}–{:.1}", ci.lo, ci.hi),
    }
}

fn errors(c: &CellReport) -> String {
    let m = &c.metrics;
    if m.errors_by_kind.is_empty() {
        return "0".into();
    }
    m.errors_by_kind
        .iter()
        .map(|(k, n)| {
            format!(
                "{n} {}",
                serde_json::to_value(k)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The columns of `tokbench run` output, in order.
pub fn columns() -> Vec<Column> {
    vec![
        Column {
            header: "Shape",
            value: |c| c.shape.clone(),
        },
        Column {
            header: "Conc.",
            value: |c| c.concurrency.to_string(),
        },
        Column {
            header: "Rate req/s",
            value: |c| c.rate_rps.map_or_else(|| "-".into(), |r| format!("{r:.2}")),
        },
        Column {
            header: "Requests ok/total",
            value: |c| format!("{}/{}", c.metrics.ok, c.metrics.requests),
        },
        Column {
            header: "Gen tok/s median (min–max)",
            value: gen_cell,
        },
        Column {
            header: "Gen tok/s 95% CI",
            value: gen_ci,
        },
        Column {
            header: "TTFT ms p50",
            value: |c| fmt1(med(&c.metrics.ttft_ms)),
        },
        Column {
            header: "TTFT ms p99",
            value: |c| fmt1(c.metrics.ttft_ms.as_ref().map(|s| s.p99)),
        },
        Column {
            header: "Prefill tok/s",
            value: |c| fmt1(med(&c.metrics.prefill_tok_s)),
        },
        Column {
            header: "TPOT ms",
            value: |c| fmt1(med(&c.metrics.tpot_ms)),
        },
        Column {
            header: "ITL ms p99",
            value: |c| fmt1(c.metrics.itl_ms.as_ref().map(|s| s.p99)),
        },
        Column {
            header: "E2E ms p50",
            value: |c| fmt1(med(&c.metrics.e2e_ms)),
        },
        Column {
            header: "Agg tok/s",
            value: |c| fmt1(c.metrics.aggregate_output_tok_s),
        },
        Column {
            header: "Req/s",
            value: |c| {
                c.metrics
                    .request_throughput_rps
                    .map_or_else(|| "-".into(), |r| format!("{r:.2}"))
            },
        },
        Column {
            header: "Errors",
            value: errors,
        },
    ]
}
