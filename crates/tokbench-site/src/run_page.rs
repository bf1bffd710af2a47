//! The per-run page: every cell and every metric of one record (median,
//! p90, p99, 95% CI), its flags, resources, host load and how to reproduce
//! it, with links to the record itself and its sidecar files.

use serde::Serialize;
use tokbench_record::{
    Cell, CellMetrics, CellStop, HostLoadSummary, PowerSummary, PromptCacheCheck, Record, Summary,
    VramFit,
};

use crate::definitions::{Definition, Definitions};
use crate::engine_facts::engine_facts;
use crate::facts::{self, Fact};
use crate::format;
use crate::roofline_facts::{cell_texts, roofline_facts};
use crate::site::RunView;

/// Links of a run page to files copied next to it (relative to `runs/`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunFiles {
    /// The record, as committed.
    pub yaml: String,
    /// Per-request samples (JSON Lines), when present beside the record.
    pub samples: Option<String>,
    /// Server log, when present beside the record.
    pub log: Option<String>,
}

/// One metric row of a cell.
#[derive(Debug, Serialize)]
struct MetricRow<'d> {
    /// Definition key; the row's header is the template global
    /// `metric_heads[key]`, rendered once per build.
    key: &'d str,
    label: &'d str,
    median: String,
    p90: String,
    p99: String,
    ci: String,
    mean: String,
    n: String,
}

/// One cell.
#[derive(Debug, Serialize)]
struct CellView<'d> {
    id: String,
    shape: &'d str,
    conc: String,
    sentence: &'d str,
    stop: &'static str,
    skipped: Option<String>,
    noisy: bool,
    prompt_cache: bool,
    facts: Vec<Fact>,
    metrics: Vec<MetricRow<'d>>,
    /// Metrics without a value in this cell (e.g. server timings from a
    /// backend that reports none), named once instead of a row of dashes.
    not_measured: Vec<MetricRow<'d>>,
}

/// Everything the run template shows.
#[derive(Debug, Serialize)]
pub struct RunPage<'a> {
    run: &'a RunView,
    files: RunFiles,
    model: Vec<Fact>,
    backend: Vec<Fact>,
    system: Vec<Fact>,
    run_facts: Vec<Fact>,
    incomplete_reason: Option<String>,
    notes: Vec<String>,
    cells: Vec<CellView<'a>>,
    resources: Vec<Fact>,
    roofline: Vec<Fact>,
    host_load: Vec<Fact>,
    reproduce: String,
    details: Vec<Fact>,
    command_line: String,
}

/// The page of record `r` (viewed as `run`). The definitions list at the
/// end of the page is the template global `definitions_html`, rendered once
/// per build from [`definitions_list`]: the same on every page.
pub fn run_page<'a>(
    r: &'a Record,
    run: &'a RunView,
    files: RunFiles,
    defs: &'a Definitions,
) -> RunPage<'a> {
    let mut run_facts = vec![
        Fact::new("Run id", r.run.id.clone()),
        Fact::new("Started (UTC)", r.run.started_utc.clone()),
        Fact::new(
            "Ended (UTC)",
            r.run
                .ended_utc
                .clone()
                .unwrap_or_else(|| "— (did not finish)".into()),
        ),
        Fact::new("Mode", r.run.mode.clone()),
        Fact::new(
            "tokbench",
            format!(
                "{} {}",
                r.run.tokbench_version,
                r.run.tokbench_commit.as_deref().unwrap_or("")
            ),
        ),
        Fact::new("Rig", r.system.rig_name.clone()).link(format!("hw/{}.html", run.rig_slug)),
        Fact::new("Model", run.model_label.clone()).link(format!("model/{}.html", run.model_slug)),
    ];
    run_facts.extend(crate::run_options_facts::run_facts(r));
    run_facts.retain(|f| !f.value.trim().is_empty());
    RunPage {
        run,
        files,
        model: facts::model(r),
        backend: facts::backend(r),
        system: facts::system(&r.system),
        run_facts,
        incomplete_reason: r.run.incomplete_reason.clone(),
        notes: r.run.notes.clone(),
        cells: cell_views(&r.cells, defs),
        resources: resources(r, &run.rig_slug),
        roofline: r.roofline.as_ref().map(roofline_facts).unwrap_or_default(),
        host_load: r.run.host_load.as_ref().map(host_load).unwrap_or_default(),
        reproduce: r.provenance.reproduce.clone(),
        details: r
            .provenance
            .details
            .iter()
            .map(|(k, v)| Fact::new(k.clone(), v.clone()))
            .collect(),
        command_line: facts::shell_join(&r.run.command_line),
    }
}

fn stop_label(s: CellStop) -> &'static str {
    match s {
        CellStop::Converged => "converged (95% CI of median gen tok/s within target)",
        CellStop::RequestCap => "request cap reached before convergence",
        CellStop::TimeCap => "time cap reached before convergence",
        CellStop::Fixed => "fixed request count or duration done",
        CellStop::Interrupted => "interrupted",
        CellStop::Skipped => "skipped",
    }
}

fn cell_view<'d>(i: usize, c: &'d Cell, defs: &'d Definitions) -> CellView<'d> {
    let conc = match c.rate_rps {
        Some(rate) => format!(
            "{} (open loop, {} req/s)",
            c.concurrency,
            format::num(Some(rate))
        ),
        None => c.concurrency.to_string(),
    };
    let mut facts = vec![Fact::new(
        "Prompt → output tokens",
        format!(
            "target {} → {}; median actual {} → {}",
            c.prompt_tokens_target,
            c.output_tokens_target,
            format::num(c.prompt_tokens_actual),
            format::num(c.output_tokens_actual)
        ),
    )];
    let (metrics, not_measured) = match &c.metrics {
        Some(m) => {
            cell_facts(&mut facts, c, m, defs);
            metric_rows(m, defs)
                .into_iter()
                .partition(|row| row.n != "—")
        }
        None => (Vec::new(), Vec::new()),
    };
    if let Some(p) = &c.prompt_cache_check {
        facts.push(prompt_cache_fact(p));
    }
    if let Some(h) = &c.host_load {
        facts.extend(host_load(h));
    }
    if let Some(e) = &c.engine_metrics {
        facts.extend(engine_facts(e));
    }
    CellView {
        id: format!("cell-{i}"),
        shape: &c.shape,
        conc,
        sentence: defs.shape_sentence(&c.shape),
        stop: stop_label(c.stop),
        skipped: c.skipped.clone(),
        noisy: c.noisy,
        prompt_cache: c.prompt_cache,
        facts,
        metrics,
        not_measured,
    }
}

/// The cells of a record; the sentence on what a shape stresses is kept
/// only at the shape's first cell.
fn cell_views<'d>(cells: &'d [Cell], defs: &'d Definitions) -> Vec<CellView<'d>> {
    let mut seen = std::collections::HashSet::new();
    cells
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut view = cell_view(i, c, defs);
            if !seen.insert(c.shape.as_str()) {
                view.sentence = "";
            }
            view
        })
        .collect()
}

fn defined(def: Option<&Definition>, value: String) -> Fact {
    let mut f = Fact::new(def.map_or("", |d| d.label.as_str()), value);
    f.def = def.map(|d| d.key.clone());
    f
}

/// One entry of the run pages' definitions list.
#[derive(Debug, Serialize)]
pub struct DefEntry {
    key: String,
    label: String,
    unit: Option<String>,
    text: String,
    href: Option<String>,
}

/// Definitions of every metric, cell value and summary statistic, listed
/// at the end of every run page (metric names link there).
pub fn definitions_list(defs: &Definitions) -> Vec<DefEntry> {
    let stats = ["median", "p90", "p99", "ci", "mean", "n"];
    let summary = defs
        .columns
        .iter()
        .filter(|d| stats.contains(&d.key.as_str()));
    defs.metrics
        .iter()
        .chain(&defs.cell_values)
        .chain(summary)
        .map(|d| DefEntry {
            key: d.key.clone(),
            label: d.label.clone(),
            unit: d.unit.clone(),
            text: d.title(),
            href: d.href(),
        })
        .collect()
}

fn cell_facts(out: &mut Vec<Fact>, c: &Cell, m: &CellMetrics, defs: &Definitions) {
    let cv = |k: &str| defs.cell_values.iter().find(|d| d.key == k);
    let errors: Vec<String> = m
        .errors_by_kind
        .iter()
        .map(|(k, n)| {
            format!(
                "{} {n}",
                serde_json::to_value(k)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            )
        })
        .collect();
    out.push(Fact::new(
        "Requests",
        format!(
            "{} measured, {} ok, {} warm-up excluded{}",
            m.requests,
            m.ok,
            m.warmup_excluded,
            if errors.is_empty() {
                String::new()
            } else {
                format!("; errors: {}", errors.join(", "))
            }
        ),
    ));
    out.push(defined(
        cv("aggregate_output_tok_s"),
        format::num(m.aggregate_output_tok_s),
    ));
    out.push(defined(
        cv("request_throughput_rps"),
        format::num(m.request_throughput_rps),
    ));
    if let Some(text) = crate::run_options_facts::goodput_text(m) {
        out.push(defined(cv("goodput_rps"), text));
    }
    out.push(defined(cv("window_s"), format::num(m.window_s)));
    let ci = c
        .decode_ci_rel_half_width
        .map_or_else(|| "—".into(), |w| format!("±{}", format::percent(w)));
    out.push(defined(cv("decode_ci_rel_half_width"), ci));
    if let Some(text) = crate::run_options_facts::answer_text(m) {
        out.push(defined(cv("answer_tok_s"), text));
    }
    if let Some(rl) = &c.roofline {
        let (ceiling, eff) = cell_texts(rl);
        out.push(defined(cv("decode_ceiling_tok_s"), ceiling));
        out.push(defined(cv("decode_bandwidth_efficiency_pct"), eff));
    }
    out.push(Fact::new(
        "Output tokens (total)",
        format!(
            "{} ({} reasoning, {} content); counted from usage in {} requests, from stream events in {}",
            m.total_output_tokens, m.total_reasoning_tokens, m.total_content_tokens, m.token_source_usage, m.token_source_stream
        ),
    ));
    if let Some(d) = m.mean_token_count_discrepancy {
        out.push(Fact::new(
            "Mean token-count discrepancy",
            format::num(Some(d)),
        ));
    }
}

fn metric_rows<'d>(m: &CellMetrics, defs: &'d Definitions) -> Vec<MetricRow<'d>> {
    defs.metrics
        .iter()
        .map(|d| {
            let s = metric(m, &d.key);
            let f = |v: Option<f64>| format::num(v);
            MetricRow {
                key: &d.key,
                label: &d.label,
                median: f(s.map(|s| s.median)),
                p90: f(s.map(|s| s.p90)),
                p99: f(s.map(|s| s.p99)),
                ci: s.and_then(|s| s.ci95_median.as_ref()).map_or_else(
                    || "—".into(),
                    |ci| format!("{}–{}", f(Some(ci.lo)), f(Some(ci.hi))),
                ),
                mean: f(s.map(|s| s.mean)),
                n: s.map_or_else(|| "—".into(), |s| s.n.to_string()),
            }
        })
        .collect()
}

/// The summary of metric `key` in `m`.
fn metric<'m>(m: &'m CellMetrics, key: &str) -> Option<&'m Summary> {
    m.summary(key)
}

fn fit_text(fit: &VramFit) -> String {
    match fit {
        VramFit::Fit {
            delta_bytes,
            model_bytes,
        } => format!(
            "fit: GPU memory grew by {}, at least the model file's {}",
            format::bytes(*delta_bytes),
            format::bytes(*model_bytes)
        ),
        VramFit::Spill {
            delta_bytes,
            model_bytes,
            message,
        } => format!(
            "SPILL: GPU memory grew by only {} for a {} model file. {message}",
            format::bytes(*delta_bytes),
            format::bytes(*model_bytes)
        ),
        VramFit::NotApplicable { reason } => format!("not applicable: {reason}"),
    }
}

fn resources(r: &Record, rig_slug: &str) -> Vec<Fact> {
    let res = &r.resources;
    let per_gpu = |v: &[Option<u64>]| {
        v.iter()
            .map(|b| format::opt_bytes(*b))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out =
        vec![Fact::new("VRAM fit", fit_text(&res.vram_fit))
            .link(format!("hw/{rig_slug}.html#vram-fit"))];
    if !res.vram_before_bytes.is_empty() {
        out.push(Fact::new(
            "GPU memory used before server start",
            per_gpu(&res.vram_before_bytes),
        ));
    }
    if !res.vram_after_bytes.is_empty() {
        out.push(Fact::new(
            "GPU memory used once healthy",
            per_gpu(&res.vram_after_bytes),
        ));
    }
    out.push(Fact::new(
        "Backend peak RSS",
        format::opt_bytes(res.backend_peak_rss_bytes),
    ));
    if let Some(p) = &res.power {
        out.extend(power_facts(p));
    }
    out.push(Fact::new(
        "Energy per output token",
        format!("{} J/token", format::num(res.j_per_output_token)),
    ));
    out
}

/// Power sampling and energy.
fn power_facts(p: &PowerSummary) -> Vec<Fact> {
    let mut out = Vec::new();
    out.push(Fact::new(
        "Power sampling",
        format!(
            "every {} ms over {} s",
            p.interval_ms,
            format::num(Some(p.duration_s))
        ),
    ));
    for g in &p.gpus {
        out.push(Fact::new(
            format!("GPU {} energy / power", g.index),
            format!(
                "{} J; mean {} W, max {} W; peak VRAM {}",
                format::num(g.energy_j),
                format::num(g.power_mean_w),
                format::num(g.power_max_w),
                format::opt_bytes(g.vram_peak_used_bytes)
            ),
        ));
    }
    out.push(Fact::new(
        "GPU energy",
        format!("{} J", format::num(p.gpu_energy_j)),
    ));
    out.push(Fact::new(
        "CPU package energy",
        format!("{} J", format::num(p.cpu_package_energy_j)),
    ));
    out.extend(p.notes.iter().map(|n| Fact::new("Power note", n.clone())));
    out
}

/// What the server said it served from its prompt cache in a cell.
fn prompt_cache_fact(p: &PromptCacheCheck) -> Fact {
    let value = match p.cached_share {
        None => format!(
            "no account from the server ({} requests): reuse unverified",
            p.requests
        ),
        Some(share) => format!(
            "{:.1}% of {} prompt tokens served from the server's cache \
             ({} intended shared per request); {} of {} requests reused more than intended",
            share * 100.0,
            p.prompt_tokens,
            p.intended_shared_tokens,
            p.requests_over_threshold,
            p.requests_with_account
        ),
    };
    Fact::new("Prompt cache", value)
}

/// The facts of a host-load summary (run pages, cells and crossval pages).
pub fn host_load(h: &HostLoadSummary) -> Vec<Fact> {
    let mut out = vec![Fact::new(
        "Host load",
        format!(
            "{} samples every {} ms over {} s on {} logical CPUs",
            h.samples,
            h.interval_ms,
            format::num(Some(h.duration_s)),
            h.logical_cpus
        ),
    )];
    if let Some(l) = &h.load_avg_before {
        out.push(Fact::new(
            "Load average before",
            format!("{:.2} {:.2} {:.2}", l.one, l.five, l.fifteen),
        ));
    }
    if let Some(max) = h.load_avg_1m_max {
        out.push(Fact::new(
            "Highest 1-minute load average",
            format!("{max:.2}"),
        ));
    }
    out.push(Fact::new(
        "Busy (all / other processes)",
        format!(
            "mean {}% / {}% (max {}%); other processes used {} cores on average (max {})",
            format::num(h.busy_pct_mean),
            format::num(h.others_busy_pct_mean),
            format::num(h.others_busy_pct_max),
            format::num(h.others_busy_cores_mean),
            format::num(h.others_busy_cores_max)
        ),
    ));
    let verdict = if h.noisy {
        format!("noisy: {}", h.noisy_reason.as_deref().unwrap_or(""))
    } else {
        "quiet".into()
    };
    out.push(Fact::new("Verdict", verdict));
    out.extend(
        h.notes
            .iter()
            .map(|n| Fact::new("Host-load note", n.clone())),
    );
    out
}

#[cfg(test)]
mod tests {
    use tokbench_record::fixture::{example_record, ExampleSpec};

    use super::*;

    #[test]
    fn shape_sentence_once_and_missing_metrics_named_not_dashed() {
        let defs = Definitions::builtin().unwrap();
        let spec = ExampleSpec {
            shapes: vec![("chat".into(), 200, 64), ("rag".into(), 1000, 32)],
            concurrency: vec![1, 2],
            ..ExampleSpec::default()
        };
        let record = example_record(&spec);
        let cells = cell_views(&record.cells, &defs);
        let sentences: Vec<bool> = cells.iter().map(|c| !c.sentence.is_empty()).collect();
        let firsts: Vec<bool> = record
            .cells
            .iter()
            .enumerate()
            .map(|(i, c)| record.cells[..i].iter().all(|p| p.shape != c.shape))
            .collect();
        assert_eq!(sentences, firsts);
        assert!(
            sentences.iter().any(|s| !s),
            "a shape repeats in the fixture"
        );
        for c in &cells {
            assert!(c.metrics.iter().all(|m| m.n != "—"));
            assert!(c.not_measured.iter().all(|m| m.median == "—"));
            assert_eq!(c.metrics.len() + c.not_measured.len(), defs.metrics.len());
        }
        assert!(cells.iter().any(|c| !c.not_measured.is_empty()));
    }
}
