//! `tokbench selftest`: the client's own fidelity and ceiling on this host.
//!
//! Starts the built-in emulator in-process, on its own tokio runtime (so
//! the figures include the emulator's own CPU cost, as a worst case, but
//! not a wait in the client's task queues) and:
//!
//! 1. **Fidelity**: at each concurrency level, runs requests against a known
//!    schedule (fixed prefill, fixed decode rate, a slot per stream) and
//!    compares the measured median and p99 TTFT and the median decode
//!    tok/s with the truth.
//! 2. **Coalescing**: at concurrency 1, an emulator that writes several SSE
//!    events per network write (`--coalesce-events`, as servers with a
//!    stream interval do) at a known decode rate; compares the measured
//!    median decode tok/s with the truth (the first arrival's tokens must
//!    not count as decoded).
//! 3. **Ceiling**: at a fixed number of streams, doubles the per-stream
//!    decode rate until the median decode-rate error exceeds 1%, and reports
//!    the highest aggregate streamed tok/s that stayed within it.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use serde::Serialize;
use tokbench_client::{
    run_load, Cancel, Client, ClientConfig, LoadConfig, Progress, RequestTemplate,
};
use tokbench_emulator::{EmulatorConfig, Prefill};
use tokbench_probe::procfs;
use tokbench_stats::CellMetrics;
use tokbench_stats::SummaryOptions;
use tokio::runtime::Handle;

/// Arguments of `tokbench selftest`.
#[derive(Debug, clap::Args)]
pub struct SelftestArgs {
    /// Emulated per-stream decode rate, tok/s.
    #[arg(long, default_value_t = 50.0)]
    pub decode_tok_s: f64,
    /// Emulated fixed prefill time, ms.
    #[arg(long, default_value_t = 200.0)]
    pub prefill_ms: f64,
    /// Output tokens per request.
    #[arg(long, default_value_t = 64)]
    pub output_tokens: u64,
    /// Concurrency levels of the fidelity check.
    #[arg(long, value_delimiter = ',', default_value = "1,64,256")]
    pub concurrency: Vec<usize>,
    /// Streams used by the ceiling search (0 skips it).
    #[arg(long, default_value_t = 256)]
    pub ceiling_streams: usize,
    /// Highest per-stream decode rate the ceiling search tries, tok/s.
    #[arg(long, default_value_t = 3200.0)]
    pub ceiling_max_tok_s: f64,
    /// SSE events per network write of the coalescing check (0 skips it).
    #[arg(long, default_value_t = 4)]
    pub coalesce_events: u32,
    /// Decode rate of the coalescing check, tok/s.
    #[arg(long, default_value_t = 200.0)]
    pub coalesce_decode_tok_s: f64,
    /// Open a new connection per request (as `tokbench run` does by
    /// default) instead of reusing connections set up during warm-up; TTFT
    /// then includes TCP connect time, which grows when many streams start
    /// at once.
    #[arg(long)]
    pub fresh_connections: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

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
}

/// The 1-minute load average (Linux `/proc/loadavg`).
fn load_avg_1m() -> Option<f64> {
    procfs::read_loadavg(Path::new("/")).map(|l| l.one)
}

/// Runs `tokbench selftest`.
pub fn run(args: SelftestArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.decode_tok_s > 0.0, "--decode-tok-s must be positive");
    anyhow::ensure!(
        args.coalesce_decode_tok_s.is_finite() && args.coalesce_decode_tok_s > 0.0,
        "--coalesce-decode-tok-s must be positive"
    );
    anyhow::ensure!(
        args.output_tokens >= 2,
        "--output-tokens must be at least 2"
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    // The emulator gets its own runtime, as a real server has its own
    // process: sharing the client's task queues, it would read requests
    // late when a burst of them starts, and that delay would be charged to
    // the client's TTFT.
    let emu_rt = tokio::runtime::Builder::new_multi_thread()
        .thread_name("emulator")
        .enable_all()
        .build()
        .context("could not start the emulator's runtime")?;
    let report = rt.block_on(selftest(&args, emu_rt.handle()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report));
    }
    Ok(ExitCode::SUCCESS)
}

async fn selftest(args: &SelftestArgs, emu_rt: &Handle) -> anyhow::Result<SelftestReport> {
    let load_before = load_avg_1m();
    let mut fidelity = Vec::new();
    for &c in &args.concurrency {
        anyhow::ensure!(c >= 1, "concurrency levels must be at least 1");
        eprintln!("[selftest] fidelity at concurrency {c} …");
        let n = (2 * c as u64).max(5);
        let m = measure(
            args,
            emu_rt,
            args.decode_tok_s,
            args.prefill_ms,
            args.output_tokens,
            c,
            n,
        )
        .await?;
        let decode = m.decode_tok_s.as_ref().map_or(f64::NAN, |s| s.median);
        let ttft = m.ttft_ms.as_ref().map_or(f64::NAN, |s| s.median);
        let ttft_p99 = m.ttft_ms.as_ref().map_or(f64::NAN, |s| s.p99);
        fidelity.push(FidelityRow {
            concurrency: c,
            decode_true_tok_s: args.decode_tok_s,
            decode_median_tok_s: decode,
            decode_error_pct: 100.0 * (decode - args.decode_tok_s) / args.decode_tok_s,
            ttft_true_ms: args.prefill_ms,
            ttft_median_ms: ttft,
            ttft_error_ms: ttft - args.prefill_ms,
            ttft_p99_ms: ttft_p99,
            ttft_p99_error_ms: ttft_p99 - args.prefill_ms,
            requests: m.requests,
            ok: m.ok,
        });
    }
    let coalescing = coalesce_check(args, emu_rt).await?;
    let ceiling = ceiling_search(args, emu_rt).await?;
    let ceiling_tok_s = ceiling
        .iter()
        .take_while(|r| r.pass)
        .map(|r| r.aggregate_tok_s)
        .last();
    Ok(SelftestReport {
        fresh_connections: args.fresh_connections,
        fidelity,
        coalescing,
        ceiling,
        ceiling_tok_s,
        peak_rss_bytes: peak_rss_bytes(),
        load_avg_1m: (load_before, load_avg_1m()),
    })
}

async fn ceiling_search(args: &SelftestArgs, emu_rt: &Handle) -> anyhow::Result<Vec<CeilingRow>> {
    let mut rows = Vec::new();
    let streams = args.ceiling_streams;
    let mut rate = args.decode_tok_s;
    while streams > 0 && rate <= args.ceiling_max_tok_s {
        eprintln!("[selftest] ceiling: {streams} streams × {rate} tok/s …");
        // About two seconds of decode per request, at least 64 tokens.
        let tokens = ((rate * 2.0) as u64).max(64);
        let m = measure(args, emu_rt, rate, 0.0, tokens, streams, streams as u64).await?;
        let decode = m.decode_tok_s.as_ref().map_or(f64::NAN, |s| s.median);
        let err = 100.0 * (decode - rate) / rate;
        let pass = err.abs() <= 1.0 && m.ok == m.requests;
        rows.push(CeilingRow {
            streams,
            per_stream_tok_s: rate,
            aggregate_tok_s: rate * streams as f64,
            decode_error_pct: err,
            pass,
        });
        if !pass {
            break;
        }
        rate *= 2.0;
    }
    Ok(rows)
}

/// The coalescing check: 5 requests at concurrency 1 against an emulator
/// writing `--coalesce-events` events per write; `None` when that is 0.
async fn coalesce_check(
    args: &SelftestArgs,
    emu_rt: &Handle,
) -> anyhow::Result<Option<CoalesceRow>> {
    let (events, rate) = (args.coalesce_events, args.coalesce_decode_tok_s);
    if events == 0 {
        return Ok(None);
    }
    eprintln!("[selftest] coalescing: {events} events per write at {rate} tok/s …");
    let cfg = emulator_config(rate, args.prefill_ms, 1).with_events_per_write(events);
    let m = measure_config(args, emu_rt, cfg, args.output_tokens, 1, 5).await?;
    let decode = m.decode_tok_s.as_ref().map_or(f64::NAN, |s| s.median);
    Ok(Some(CoalesceRow {
        concurrency: 1,
        events_per_write: events,
        decode_true_tok_s: rate,
        decode_median_tok_s: decode,
        decode_error_pct: 100.0 * (decode - rate) / rate,
        requests: m.requests,
        ok: m.ok,
    }))
}

/// The emulator of a fidelity measurement: fixed prefill, `c` slots, no
/// `timings`.
fn emulator_config(decode_tok_s: f64, prefill_ms: f64, c: usize) -> EmulatorConfig {
    EmulatorConfig::default()
        .with_decode_tok_s(decode_tok_s)
        .with_prefill(Prefill::Fixed { ms: prefill_ms })
        .with_slots(c)
        .with_emit_timings(false)
}

/// Runs `n` requests at concurrency `c` against a fresh emulator, served
/// on `emu_rt`.
async fn measure(
    args: &SelftestArgs,
    emu_rt: &Handle,
    decode_tok_s: f64,
    prefill_ms: f64,
    output_tokens: u64,
    c: usize,
    n: u64,
) -> anyhow::Result<CellMetrics> {
    let cfg = emulator_config(decode_tok_s, prefill_ms, c);
    measure_config(args, emu_rt, cfg, output_tokens, c, n).await
}

/// Runs `n` requests at concurrency `c` against a fresh emulator with
/// configuration `cfg`, served on `emu_rt`.
async fn measure_config(
    args: &SelftestArgs,
    emu_rt: &Handle,
    cfg: EmulatorConfig,
    output_tokens: u64,
    c: usize,
    n: u64,
) -> anyhow::Result<CellMetrics> {
    let decode_tok_s = cfg.decode_tok_s;
    let emu = emu_rt
        .spawn(tokbench_emulator::spawn(([127, 0, 0, 1], 0).into(), cfg))
        .await
        .context("the emulator's runtime stopped")?
        .context("could not start the emulator")?;
    let mut client_cfg = ClientConfig::new(emu.base_url());
    client_cfg.keep_alive = !args.fresh_connections;
    let client = Client::new(&client_cfg)?;
    let template = Arc::new(RequestTemplate::chat(
        "tokbench-emulator",
        32,
        output_tokens,
    ));
    let load = LoadConfig {
        concurrency: c,
        rate: None,
        requests: Some(n),
        duration: None,
        warmup: c as u64,
        seed: 1,
        adaptive: None,
        // Spread the streams' starts over one decode gap: steady-state
        // concurrency, not N first tokens in the same instant.
        ramp_up: std::time::Duration::from_secs_f64(1.0 / decode_tok_s),
    };
    let result = run_load(
        client,
        template,
        &load,
        Cancel::new(),
        Arc::new(Progress::default()),
    )
    .await;
    emu.shutdown().await;
    let result = result?;
    Ok(CellMetrics::compute(
        &result.samples,
        &SummaryOptions::default().without_bootstrap(),
    ))
}

/// Peak resident set size of this process (VmHWM), Linux only.
pub fn peak_rss_bytes() -> Option<u64> {
    procfs::read_peak_rss_bytes(Path::new("/"), std::process::id())
}

fn render(r: &SelftestReport) -> String {
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
    for f in &r.fidelity {
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
    let conn = if r.fresh_connections {
        "a new connection per request"
    } else {
        "connections kept alive after warm-up"
    };
    let mut out = format!("Client fidelity against the built-in emulator ({conn})\n{t}\n");
    out.push_str(&render_coalescing(r.coalescing.as_ref()));
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
