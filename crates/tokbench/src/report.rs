//! Human-readable columns over run records.
//!
//! Records (`tokbench-record`) are the exported type of a run: the same
//! values are written as YAML, printed as a table, and published by the
//! site. The columns are defined once here; every text exporter uses them.

use tokbench_record::{BandwidthSource, Cell, Record};

/// One column of the human-readable outputs (table, Markdown, CSV).
pub struct Column {
    /// Header text (units included).
    pub header: &'static str,
    /// Renders the value for one cell of one record.
    pub value: fn(&Record, &Cell) -> String,
}

fn fmt1(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.1}"))
}

fn fmt2(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.2}"))
}

/// `family variant`, or the model id when no identity is known.
pub fn model_label(r: &Record) -> String {
    let m = &r.model;
    if m.variant.is_empty() {
        m.family.clone()
    } else {
        format!("{} {}", m.family, m.variant)
    }
}

/// `rig · GPU (VRAM)` or `rig · CPU model`.
pub fn hardware_label(r: &Record) -> String {
    let s = &r.system;
    match s.gpus.first() {
        Some(g) => {
            let vram = g
                .vram_total_bytes
                .map(|b| format!(" · {:.0} GiB", b as f64 / f64::from(1u32 << 30)))
                .unwrap_or_default();
            format!("{} · {}{vram}", s.rig_name, g.name)
        }
        None => {
            let cpu = s.host.cpu.model_name.as_deref().unwrap_or("CPU");
            format!(
                "{} · {cpu} ({} threads)",
                s.rig_name, s.host.cpu.logical_threads
            )
        }
    }
}

/// `name version (device)`.
pub fn backend_label(r: &Record) -> String {
    let b = &r.backend;
    match &b.version {
        Some(v) => format!("{} {v} ({})", b.name, b.device),
        None => format!("{} ({})", b.name, b.device),
    }
}

fn gen_cell(_: &Record, c: &Cell) -> String {
    let Some(s) = c.metrics.as_ref().and_then(|m| m.decode_tok_s.as_ref()) else {
        return c
            .skipped
            .as_ref()
            .map_or_else(|| "-".into(), |_| "skipped".into());
    };
    let mark = if c.noisy { " *" } else { "" };
    format!("{:.1} ({:.1}–{:.1}){mark}", s.median, s.min, s.max)
}

/// `value` with ` †` when the cell is flagged `prompt_cache`.
fn cache_marked(value: String, c: &Cell) -> String {
    if c.prompt_cache {
        format!("{value} †")
    } else {
        value
    }
}

/// Share of the cell's prompt tokens the server served from its cache, by
/// its own account; `-` when it gave none.
fn cached_share(_: &Record, c: &Cell) -> String {
    match c.prompt_cache_check.as_ref().and_then(|p| p.cached_share) {
        Some(share) => format!("{:.1}", share * 100.0),
        None => "-".into(),
    }
}

fn gen_ci(_: &Record, c: &Cell) -> String {
    match c
        .metrics
        .as_ref()
        .and_then(|m| m.decode_tok_s.as_ref())
        .and_then(|s| s.ci95_median.as_ref())
    {
        None => "-".into(),
        Some(ci) => format!("{:.1}–{:.1}", ci.lo, ci.hi),
    }
}

fn errors(_: &Record, c: &Cell) -> String {
    let Some(m) = &c.metrics else {
        return "-".into();
    };
    if m.errors_by_kind.is_empty() {
        return "0".into();
    }
    m.errors_by_kind
        .iter()
        .map(|(k, n)| {
            let name = serde_json::to_value(k)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            format!("{n} {name}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

macro_rules! metric {
    ($field:ident, $how:expr) => {
        |_: &Record, c: &Cell| fmt1(c.metrics.as_ref().and_then(|m| m.$field.as_ref()).map($how))
    };
}

/// A column: header and how to render a cell's value.
fn col(header: &'static str, value: fn(&Record, &Cell) -> String) -> Column {
    Column { header, value }
}

/// `true` when some cell of `records` saw reasoning tokens.
fn any_reasoning(records: &[Record]) -> bool {
    rows(records).any(|(_, c)| {
        c.metrics
            .as_ref()
            .is_some_and(|m| m.total_reasoning_tokens > 0)
    })
}

/// `true` when some record was run with goodput SLOs (`--slo`).
fn any_goodput(records: &[Record]) -> bool {
    records.iter().any(|r| r.run.slo.is_some())
}

/// `goodput_rps (good/ok %)`, e.g. `2.4 (66.7%)`; `-` without `--slo`.
fn goodput(_: &Record, c: &Cell) -> String {
    let Some(m) = &c.metrics else {
        return "-".into();
    };
    match (m.goodput_rps, m.goodput_pct) {
        (Some(rps), Some(pct)) => format!("{rps:.2} ({pct:.1}%)"),
        (Some(rps), None) => format!("{rps:.2}"),
        (None, _) => "-".into(),
    }
}

/// The columns of `tokbench run` output for `records`, in order: "Answer
/// tok/s" only when some cell saw reasoning tokens, "Goodput" only when
/// some record has SLOs (docs/methodology.md#reasoning, #goodput).
pub fn columns(records: &[Record]) -> Vec<Column> {
    let mut cols = base_columns();
    if any_reasoning(records) {
        let at = cols
            .iter()
            .position(|c| c.header == "Gen tok/s 95% CI")
            .map_or(0, |i| i + 1);
        cols.insert(
            at,
            col("Answer tok/s median", metric!(answer_tok_s, |s| s.median)),
        );
    }
    if any_goodput(records) {
        let at = cols
            .iter()
            .position(|c| c.header == "Requests ok/total")
            .unwrap_or(cols.len());
        cols.insert(at, col("Goodput req/s (good %)", goodput));
    }
    cols
}

fn base_columns() -> Vec<Column> {
    vec![
        col("Model", |r, _| model_label(r)),
        col("Quant", |r, _| {
            r.model.quant.clone().unwrap_or_else(|| "-".into())
        }),
        col("Hardware", |r, _| hardware_label(r)),
        col("Backend", |r, _| backend_label(r)),
        col("Load s", |r, _| {
            fmt2(r.backend.load_time.map(|l| l.healthy_s))
        }),
        col("Shape", |_, c| c.shape.clone()),
        col("Conc.", |_, c| c.concurrency.to_string()),
        col("Gen tok/s median (min–max)", gen_cell),
        col("Gen tok/s 95% CI", gen_ci),
        col("% of BW bound", |_, c| {
            fmt1(c.roofline.and_then(|r| r.decode_bandwidth_efficiency_pct))
        }),
        col("TTFT ms p50", |r, c| {
            cache_marked(metric!(ttft_ms, |s| s.median)(r, c), c)
        }),
        col("Prefill tok/s", |r, c| {
            cache_marked(metric!(prefill_tok_s, |s| s.median)(r, c), c)
        }),
        col("Cached prompt %", cached_share),
        col("TPOT ms", metric!(tpot_ms, |s| s.median)),
        col("ITL ms p99", metric!(itl_ms, |s| s.p99)),
        col("E2E ms p50", metric!(e2e_ms, |s| s.median)),
        col("Engine gen tok/s", engine_gen),
        col("Queue max", |_, c| {
            let waiting = c.engine_metrics.as_ref();
            fmt1(
                waiting
                    .and_then(|e| e.figures.requests_waiting)
                    .map(|g| g.max),
            )
        }),
        col("Agg tok/s", |_, c| {
            fmt1(c.metrics.as_ref().and_then(|m| m.aggregate_output_tok_s))
        }),
        col("Requests ok/total", |_, c| {
            c.metrics
                .as_ref()
                .map_or_else(|| "-".into(), |m| format!("{}/{}", m.ok, m.requests))
        }),
        col("Errors", errors),
    ]
}

/// The engine's own generation rate from `/metrics`, with `‡` when one of
/// its figures disagrees with tokbench's by more than 5 %.
fn engine_gen(_: &Record, c: &Cell) -> String {
    let Some(e) = c.engine_metrics.as_ref() else {
        return "-".into();
    };
    let value = fmt1(e.figures.generation_tok_s);
    match disagreeing(c).is_some() {
        true => format!("{value} ‡"),
        false => value,
    }
}

/// Rows of every record, in order.
pub fn rows(records: &[Record]) -> impl Iterator<Item = (&Record, &Cell)> {
    records
        .iter()
        .flat_map(|r| r.cells.iter().map(move |c| (r, c)))
}

/// Footnotes for flags present in `records` (noisy cells, prompt-cache
/// reuse, goodput SLOs, a reasoning switch not obeyed, incomplete runs,
/// VRAM spill).
pub fn footnotes(records: &[Record]) -> Vec<String> {
    let mut notes = Vec::new();
    if rows(records).any(|(_, c)| c.noisy) {
        notes.push("* noisy: other processes loaded the host during this cell (see host_load in the record)".into());
    }
    if rows(records).any(|(_, c)| c.prompt_cache) {
        notes.push(
            "† prompt cache: the server served more of some prompts from its cache than the \
             shape shares, so TTFT and prefill are not (all) prompt processing \
             (see prompt_cache_check in the record; docs/methodology.md#prompt-cache)"
                .into(),
        );
    }
    if rows(records).any(|(_, c)| disagreeing(c).is_some()) {
        notes.push(
            "‡ engine metrics: the server's /metrics and tokbench disagree by more than 5 % on \
             a figure of this cell (see engine_metrics.comparisons in the record; \
             docs/methodology.md#engine-metrics)"
                .into(),
        );
    }
    for r in records {
        if let Some(note) = roofline_note(r) {
            notes.push(note);
        }
        if let Some(load) = r.backend.load_time {
            let first = load
                .first_token_s
                .map_or_else(String::new, |s| format!(", first token at {s:.2} s"));
            notes.push(format!(
                "{}: load time — healthy {:.2} s after start{first} (docs/methodology.md#load-time)",
                r.run.id, load.healthy_s
            ));
        }
        if r.run.flags.incomplete {
            notes.push(format!(
                "{}: INCOMPLETE — {}",
                r.run.id,
                r.run
                    .incomplete_reason
                    .as_deref()
                    .unwrap_or("stopped early")
            ));
        }
        notes.extend(goodput_note(r));
        if let Some(reasoning) = r.run.reasoning.as_ref().filter(|x| x.obeyed == Some(false)) {
            notes.push(format!(
                "{}: --reasoning {} was not obeyed ({} reasoning tokens; asked with {})",
                r.run.id,
                reasoning.mode,
                reasoning.reasoning_tokens,
                reasoning.switch.as_deref().unwrap_or("nothing")
            ));
        }
        if r.run.flags.spill {
            notes.push(format!(
                "{}: model spilled out of VRAM (recorded with --allow-spill)",
                r.run.id
            ));
        }
    }
    notes
}

/// The first comparison of `c`'s engine metrics that disagrees.
fn disagreeing(c: &Cell) -> Option<&tokbench_record::EngineComparison> {
    c.engine_metrics
        .as_ref()
        .and_then(|e| e.comparisons.iter().find(|x| x.disagrees))
}

/// The SLOs goodput was counted against:
/// `{id}: goodput = requests/s meeting ttft_ms ≤ 500, tpot_ms ≤ 50 (…)`.
fn goodput_note(r: &Record) -> Option<String> {
    let slo = r.run.slo.as_ref()?;
    let limits: Vec<String> = [
        ("ttft_ms", slo.ttft_ms),
        ("tpot_ms", slo.tpot_ms),
        ("e2e_ms", slo.e2e_ms),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| format!("{k} ≤ {v}")))
    .collect();
    Some(format!(
        "{}: goodput = successful requests/s meeting {} (docs/methodology.md#goodput)",
        r.run.id,
        limits.join(", ")
    ))
}

/// What "% of BW bound" divides by, for a record with roofline figures:
/// `{id}: % of BW bound = gen tok/s ÷ ceiling; ceiling = 20.0 GB/s (measured)
/// ÷ 90.0 MB/token + KV (docs/methodology.md#decode-roofline)`.
fn roofline_note(r: &Record) -> Option<String> {
    if !r.cells.iter().any(|c| c.roofline.is_some()) {
        return None;
    }
    let rl = r.roofline.as_ref()?;
    let source = match rl.bandwidth_source? {
        BandwidthSource::Measured => "measured",
        BandwidthSource::NvmlTheoretical => "NVML theoretical peak",
        BandwidthSource::RigFile => "rig file",
    };
    let weights_mb = rl.decode_bytes.as_ref()?.weights_bytes as f64 / 1e6;
    Some(format!(
        "{}: % of BW bound = median gen tok/s ÷ ({:.1} GB/s {source} ÷ ({weights_mb:.1} MB of \
         weights + KV cache) per token), c=1 only (docs/methodology.md#decode-roofline)",
        r.run.id, rl.bandwidth_gb_s?,
    ))
}
