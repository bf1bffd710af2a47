//! The selftest's report: its rows, and the table printed without `--format json`.

use serde::Serialize;

use super::check::{self, BarCheck};

/// One fidelity measurement.
#[derive(Debug, Clone, Serialize)]
pub struct FidelityRow {
    /// Concurrent streams.
    pub concurrency: usize,
    /// Configured decode rate, tok/s.
    pub decode_true_tok_s: f64,
    /// Measured median decode rate, tok/s.
    pub decode_median_tok_s: f64,
    /// Relative error of the median, percent.
    pub decode_error_pct: f64,
    /// Configured prefill (= TTFT truth), ms.
    pub ttft_true_ms: f64,
    /// Measured median TTFT, ms.
    pub ttft_median_ms: f64,
    /// Measured median TTFT minus truth, ms.
    pub ttft_error_ms: f64,
    /// Measured 99th-percentile TTFT, ms (the tail that a burst of
    /// simultaneous sends inflates when the client delays them).
    pub ttft_p99_ms: f64,
    /// Measured p99 TTFT minus truth, ms.
    pub ttft_p99_error_ms: f64,
    /// Requests measured / succeeded.
    pub requests: u64,
    /// Requests that succeeded.
    pub ok: u64,
}

/// The coalescing check: decode fidelity when the server writes
/// `events_per_write` SSE events per network write.
#[derive(Debug, Clone, Serialize)]
pub struct CoalesceRow {
    /// Concurrent streams (1).
    pub concurrency: usize,
    /// SSE events per network write.
    pub events_per_write: u32,
    /// Configured decode rate, tok/s.
    pub decode_true_tok_s: f64,
    /// Measured median decode rate, tok/s.
    pub decode_median_tok_s: f64,
    /// Relative error of the median, percent.
    pub decode_error_pct: f64,
    /// Requests measured.
    pub requests: u64,
    /// Requests that succeeded.
    pub ok: u64,
}

/// Result of the ceiling search.
#[derive(Debug, Clone, Serialize)]
pub struct CeilingRow {
    /// Streams in flight.
    pub streams: usize,
    /// Per-stream rate tried, tok/s.
    pub per_stream_tok_s: f64,
    /// Aggregate offered rate, tok/s.
    pub aggregate_tok_s: f64,
    /// Median decode-rate error, percent.
    pub decode_error_pct: f64,
    /// Within 1%?
    pub pass: bool,
}

/// Full selftest output.
#[derive(Debug, Clone, Serialize)]
pub struct SelftestReport {
    /// Whether each request opened its own connection.
    pub fresh_connections: bool,
    /// Fidelity rows.
    pub fidelity: Vec<FidelityRow>,
    /// The coalescing check (`None` when skipped).
    pub coalescing: Option<CoalesceRow>,
    /// Ceiling steps, in order tried.
    pub ceiling: Vec<CeilingRow>,
    /// Highest aggregate tok/s within 1% median decode error.
    pub ceiling_tok_s: Option<f64>,
    /// Peak resident set of this process, bytes (Linux VmHWM).
    pub peak_rss_bytes: Option<u64>,
    /// 1-minute load average before and after the selftest (figures taken
    /// on a loaded host are not trustworthy).
    pub load_avg_1m: (Option<f64>, Option<f64>),
    /// The stall injected into every emulator (`--emulator-stall-ms`), not
    /// part of the truth the rows compare with; absent when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub injected_stall: Option<InjectedStall>,
    /// Every fidelity bar and whether it was met (`--check` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<Vec<BarCheck>>,
}

/// A server-side stall injected with `--emulator-stall-ms`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct InjectedStall {
    /// Length of the stall, ms.
    pub stall_ms: u64,
    /// Index of the first delayed token (0: the first token, so TTFT).
    pub after_tokens: u32,
}

/// The whole report as text: the fidelity table, the coalescing table, the
/// ceiling steps, host figures and (with `--check`) the bars.
pub(super) fn render(r: &SelftestReport) -> String {
    let conn = if r.fresh_connections {
        "a new connection per request"
    } else {
        "connections kept alive after warm-up"
    };
    let mut out = format!(
        "Client fidelity against the built-in emulator ({conn})\n{}\n",
        render_fidelity(&r.fidelity)
    );
    out.push_str(&render_coalescing(r.coalescing.as_ref()));
    out.push_str(&render_ceiling(r));
    out.push_str(&render_host(r));
    if let Some(bars) = &r.check {
        out.push_str(&check::render(bars));
    }
    out
}

/// The fidelity rows as a table.
fn render_fidelity(rows: &[FidelityRow]) -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    t.set_header([
        "Conc.",
        "Decode true tok/s",
        "Decode median tok/s",
        "Error %",
        "TTFT true ms",
        "TTFT median ms",
        "TTFT error ms",
        "TTFT p99 ms",
        "p99 error ms",
        "ok/total",
    ]);
    for f in rows {
        t.add_row([
            f.concurrency.to_string(),
            format!("{:.1}", f.decode_true_tok_s),
            format!("{:.2}", f.decode_median_tok_s),
            format!("{:+.2}", f.decode_error_pct),
            format!("{:.1}", f.ttft_true_ms),
            format!("{:.2}", f.ttft_median_ms),
            format!("{:+.2}", f.ttft_error_ms),
            format!("{:.2}", f.ttft_p99_ms),
            format!("{:+.2}", f.ttft_p99_error_ms),
            format!("{}/{}", f.ok, f.requests),
        ]);
    }
    t
}

/// The ceiling steps and the ceiling found.
fn render_ceiling(r: &SelftestReport) -> String {
    let mut out = String::new();
    for c in &r.ceiling {
        out.push_str(&format!(
            "ceiling step: {} streams × {} tok/s = {} tok/s → median decode error {:+.2}% {}\n",
            c.streams,
            c.per_stream_tok_s,
            c.aggregate_tok_s,
            c.decode_error_pct,
            if c.pass { "ok" } else { "over 1%" }
        ));
    }
    match r.ceiling_tok_s {
        Some(v) => out.push_str(&format!(
            "ceiling: {v:.0} streamed tok/s within 1% median decode error\n"
        )),
        None => out.push_str("ceiling: not established\n"),
    }
    out
}

/// Host load, peak RSS and the injected fault, one line each.
fn render_host(r: &SelftestReport) -> String {
    let mut out = String::new();
    let fmt = |v: Option<f64>| v.map_or_else(|| "?".into(), |v| format!("{v:.2}"));
    out.push_str(&format!(
        "host load (1-min average): {} before, {} after, {} CPUs\n",
        fmt(r.load_avg_1m.0),
        fmt(r.load_avg_1m.1),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    ));
    if let Some(rss) = r.peak_rss_bytes {
        out.push_str(&format!("peak RSS: {:.1} MiB\n", rss as f64 / 1048576.0));
    }
    if let Some(s) = r.injected_stall {
        out.push_str(&format!(
            "injected fault: every emulator delays tokens {}.. by {} ms (not in the truth)\n",
            s.after_tokens, s.stall_ms
        ));
    }
    out
}

/// The coalescing check as a one-row table (empty when skipped).
fn render_coalescing(row: Option<&CoalesceRow>) -> String {
    let Some(c) = row else {
        return String::new();
    };
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    t.set_header([
        "Conc.",
        "Events/write",
        "Decode true tok/s",
        "Decode median tok/s",
        "Error %",
        "ok/total",
    ]);
    t.add_row([
        c.concurrency.to_string(),
        c.events_per_write.to_string(),
        format!("{:.1}", c.decode_true_tok_s),
        format!("{:.2}", c.decode_median_tok_s),
        format!("{:+.2}", c.decode_error_pct),
        format!("{}/{}", c.ok, c.requests),
    ]);
    format!("Coalesced writes (several SSE events per network write)\n{t}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coalescing_row_is_rendered_with_its_error() {
        let row = CoalesceRow {
            concurrency: 1,
            events_per_write: 4,
            decode_true_tok_s: 200.0,
            decode_median_tok_s: 201.5,
            decode_error_pct: 0.75,
            requests: 5,
            ok: 5,
        };
        let text = render_coalescing(Some(&row));
        for cell in ["Events/write", "200.0", "201.50", "+0.75", "5/5"] {
            assert!(text.contains(cell), "{cell} missing from\n{text}");
        }
        assert!(render_coalescing(None).is_empty());
    }
}
