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
//!
//! With `--check`, the fidelity and coalescing rows are held to bars
//! ([`check`]) and the exit code says whether all were met:
//! [`EXIT_BAR_MISSED`] when any was missed. `--emulator-stall-ms` injects a
//! server-side stall that the truth leaves out, so the bars can be seen to
//! fail.

mod check;
mod report;

pub use check::EXIT_BAR_MISSED;

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use tokbench_client::{
    run_load, Cancel, Client, ClientConfig, LoadConfig, Progress, RequestTemplate,
};
use tokbench_emulator::{EmulatorConfig, FaultConfig, FaultMode, Prefill};
use tokbench_probe::procfs;
use tokbench_stats::CellMetrics;
use tokbench_stats::SummaryOptions;
use tokio::runtime::Handle;

use report::{render, CeilingRow, CoalesceRow, FidelityRow, InjectedStall, SelftestReport};

/// Arguments of `tokbench selftest`.
/// Output formats of `tokbench selftest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SelftestFormat {
    /// A terminal table.
    Table,
    /// The whole report as JSON (the `--check` verdict also on stderr).
    Json,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 done (with --check: every bar met), 1 runtime failure, \
2 usage error, 5 --check: a fidelity bar missed (each named on a `missed:` line)."
)]
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
    /// Output format: a table, or the whole report as JSON.
    #[arg(long, value_enum, default_value_t = SelftestFormat::Table)]
    pub format: SelftestFormat,
    /// Hold the client to its fidelity bars and exit 5 if any is missed
    /// (naming it): at concurrency ≤ 64, median TTFT within 2 ms of the
    /// truth and median decode tok/s within 1%; above 64, decode within 2%;
    /// coalescing check within 1%; no failed request. Exit 0 when all are
    /// met. The bars apply to the levels measured (--concurrency).
    #[arg(long)]
    pub check: bool,
    /// Fault injection, to see --check fail: every emulator this selftest
    /// starts pauses this many ms (a server-side stall) before token
    /// --emulator-stall-after of each response, while the truth the rows
    /// compare with stays the configured schedule. 0: no stall.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub emulator_stall_ms: u64,
    /// Index of the first token the stall delays: 0 delays the first token
    /// (TTFT misses its bar), 1 or more delays the decode phase (decode
    /// tok/s misses).
    #[arg(long, default_value_t = 0, value_name = "TOKENS")]
    pub emulator_stall_after: u32,
}

impl SelftestArgs {
    /// The stall of `--emulator-stall-ms`, if any.
    fn injected_stall(&self) -> Option<InjectedStall> {
        (self.emulator_stall_ms > 0).then_some(InjectedStall {
            stall_ms: self.emulator_stall_ms,
            after_tokens: self.emulator_stall_after,
        })
    }
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
    let mut report = rt.block_on(selftest(&args, emu_rt.handle()))?;
    let missed = if args.check {
        let bars = check::evaluate(&report);
        let missed = check::missed(&bars);
        report.check = Some(bars);
        missed
    } else {
        Vec::new()
    };
    if args.format == SelftestFormat::Json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        // The verdict also goes to stderr, where the JSON does not go.
        if let Some(bars) = &report.check {
            eprint!("{}", check::render(bars));
        }
    } else {
        print!("{}", render(&report));
    }
    if missed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::from(EXIT_BAR_MISSED))
    }
}

async fn selftest(args: &SelftestArgs, emu_rt: &Handle) -> anyhow::Result<SelftestReport> {
    let load_before = load_avg_1m();
    let fidelity = fidelity_check(args, emu_rt).await?;
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
        injected_stall: args.injected_stall(),
        check: None,
    })
}

/// The fidelity rows: `max(2c, 5)` requests at each concurrency level `c`.
async fn fidelity_check(args: &SelftestArgs, emu_rt: &Handle) -> anyhow::Result<Vec<FidelityRow>> {
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
    Ok(fidelity)
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
    let cfg = emulator_config(args, rate, args.prefill_ms, 1).with_events_per_write(events);
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

/// The emulator of a measurement: fixed prefill, `c` slots, no `timings`,
/// and the stall of `--emulator-stall-ms` on every request, if any.
fn emulator_config(
    args: &SelftestArgs,
    decode_tok_s: f64,
    prefill_ms: f64,
    c: usize,
) -> EmulatorConfig {
    let fault = args.injected_stall().map(|s| {
        FaultConfig::always(FaultMode::StallMidStream {
            after_tokens: s.after_tokens,
            stall_ms: s.stall_ms,
        })
    });
    EmulatorConfig::default()
        .with_decode_tok_s(decode_tok_s)
        .with_prefill(Prefill::Fixed { ms: prefill_ms })
        .with_slots(c)
        .with_emit_timings(false)
        .with_fault(fault)
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
    let cfg = emulator_config(args, decode_tok_s, prefill_ms, c);
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
fn peak_rss_bytes() -> Option<u64> {
    procfs::read_peak_rss_bytes(Path::new("/"), std::process::id())
}
