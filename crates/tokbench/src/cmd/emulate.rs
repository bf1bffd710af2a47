//! `tokbench emulate`: serve the built-in emulated OpenAI-compatible backend
//! (see the `tokbench-emulator` crate) until Ctrl-C.
//!
//! The first Ctrl-C shuts down gracefully (no new connections; in-flight
//! responses run to their end); a second one stops at once.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

use anyhow::{ensure, Context};
use tokbench_emulator::{
    DivergeKind, Divergence, EmulatorConfig, FaultConfig, FaultMode, MetricsFlavor, Prefill,
    ReasoningSwitch,
};
use tokio::sync::oneshot;

/// Default of `--fault-after-tokens`.
const DEFAULT_FAULT_AFTER_TOKENS: u32 = 8;
/// Default of `--fault-stall-ms`.
const DEFAULT_FAULT_STALL_MS: u64 = 1000;
/// Default of `--retry-after-s`.
const DEFAULT_RETRY_AFTER_S: u32 = 1;

/// Which fault `--fault` injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FaultKind {
    /// Pause `--fault-stall-ms` after `--fault-after-tokens` tokens, then continue.
    #[value(name = "stall")]
    Stall,
    /// Close the connection after `--fault-after-tokens` tokens (no `[DONE]`).
    #[value(name = "close")]
    Close,
    /// Answer HTTP 500.
    #[value(name = "http500")]
    Http500,
    /// Answer HTTP 429 with `Retry-After: --retry-after-s`.
    #[value(name = "http429")]
    Http429,
    /// Send one invalid-JSON event after `--fault-after-tokens` tokens.
    #[value(name = "malformed")]
    Malformed,
    /// Never send the usage chunk, even when asked for.
    #[value(name = "no-usage")]
    NoUsage,
}

/// Which token `--diverge-at` picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DivergeKindArg {
    /// The runner-up, within 0.05 nats of the top (both in the top-k).
    #[value(name = "near-tie")]
    NearTie,
    /// A token outside the top 21, more than 1 nat below its own runner-up.
    #[value(name = "hard")]
    Hard,
}

/// What `--reasoning-switch` does with a request that switches thinking off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReasoningSwitchArg {
    /// Send no reasoning tokens (the content tokens stay as many).
    Honour,
    /// Send the reasoning tokens anyway.
    Ignore,
}

impl From<ReasoningSwitchArg> for ReasoningSwitch {
    fn from(arg: ReasoningSwitchArg) -> Self {
        match arg {
            ReasoningSwitchArg::Honour => ReasoningSwitch::Honour,
            ReasoningSwitchArg::Ignore => ReasoningSwitch::Ignore,
        }
    }
}

impl From<DivergeKindArg> for DivergeKind {
    fn from(kind: DivergeKindArg) -> Self {
        match kind {
            DivergeKindArg::NearTie => DivergeKind::NearTie,
            DivergeKindArg::Hard => DivergeKind::Hard,
        }
    }
}

/// Which engine's `/metrics` `--metrics` serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MetricsArg {
    /// No metrics: /metrics answers 501, like llama-server without --metrics.
    #[value(name = "none")]
    None,
    /// llama-server's `llamacpp:` series.
    #[value(name = "llamacpp")]
    Llamacpp,
    /// vLLM's `vllm:` series (with histograms).
    #[value(name = "vllm")]
    Vllm,
    /// SGLang's `sglang:` series.
    #[value(name = "sglang")]
    Sglang,
}

impl From<MetricsArg> for MetricsFlavor {
    fn from(arg: MetricsArg) -> Self {
        match arg {
            MetricsArg::None => MetricsFlavor::None,
            MetricsArg::Llamacpp => MetricsFlavor::Llamacpp,
            MetricsArg::Vllm => MetricsFlavor::Vllm,
            MetricsArg::Sglang => MetricsFlavor::Sglang,
        }
    }
}

/// Arguments of `tokbench emulate`.
#[derive(Debug, Clone, clap::Args)]
pub struct EmulateArgs {
    /// IP address to listen on (0.0.0.0 for all interfaces).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port to listen on (0 = any free port; the bound address is printed).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Model id reported by /v1/models and in completions.
    #[arg(long, default_value = "tokbench-emulator")]
    pub model: String,
    /// Fixed prefill time, ms [default: 100 unless --prefill-tok-s].
    #[arg(long, conflicts_with = "prefill_tok_s")]
    pub prefill_ms: Option<f64>,
    /// Prefill speed, prompt tokens per second (prefill = prompt tokens / rate;
    /// one token per whitespace-separated word).
    #[arg(long)]
    pub prefill_tok_s: Option<f64>,
    /// Decode speed per request, tok/s.
    #[arg(long, default_value_t = 50.0)]
    pub decode_tok_s: f64,
    /// Requests served concurrently; more wait in a FIFO queue.
    #[arg(long, default_value_t = 4)]
    pub slots: usize,
    /// Per-token jitter, ms: uniform offset in [0, jitter] on each deadline.
    #[arg(long, default_value_t = 0.0)]
    pub jitter_ms: f64,
    /// Tokens sent as delta.reasoning_content before the content (chat only).
    #[arg(long, default_value_t = 0)]
    pub reasoning_tokens: u32,
    /// A request that switches thinking off (chat_template_kwargs
    /// enable_thinking/thinking false, reasoning_effort "none", /no_think in
    /// a system or user message): honour → no reasoning tokens, ignore →
    /// the --reasoning-tokens anyway.
    #[arg(long, value_enum, default_value_t = ReasoningSwitchArg::Honour)]
    pub reasoning_switch: ReasoningSwitchArg,
    /// Tokens per SSE event, sent at the deadline of the group's last token.
    #[arg(long, default_value_t = 1)]
    pub tokens_per_chunk: u32,
    /// SSE events per network write: events keep their deadlines but are
    /// written N at a time, at the N-th one's deadline (a server's stream
    /// interval, or a buffering proxy).
    #[arg(long, default_value_t = 1)]
    pub events_per_write: u32,
    /// Output tokens when a request sets no max_tokens.
    #[arg(long, default_value_t = 128)]
    pub max_tokens_default: u32,
    /// Do not attach the llama.cpp-style `timings` object.
    #[arg(long)]
    pub no_timings: bool,
    /// Inject a fault into requests (see --fault-probability).
    #[arg(long, value_enum)]
    pub fault: Option<FaultKind>,
    /// Tokens before a stall, close or malformed fault [default: 8].
    #[arg(long, requires = "fault")]
    pub fault_after_tokens: Option<u32>,
    /// Length of the stall fault, ms [default: 1000].
    #[arg(long, requires = "fault")]
    pub fault_stall_ms: Option<u64>,
    /// Retry-After of the http429 fault, s [default: 1].
    #[arg(long, requires = "fault")]
    pub retry_after_s: Option<u32>,
    /// Probability in [0, 1] that a request shows the fault [default: 1].
    #[arg(long, requires = "fault")]
    pub fault_probability: Option<f64>,
    /// Seed of the jitter and fault draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Deterministic text: tokens and their log-probabilities (when a request
    /// asks for them) are a function of this seed, the prompt and the tokens
    /// before; /tokenize gives generated tokens their stream ids.
    #[arg(long)]
    pub text_seed: Option<u64>,
    /// Token index (0-based) from which the text differs from the seed's
    /// (one token, then deterministic on the new context).
    #[arg(long, requires = "text_seed")]
    pub diverge_at: Option<u32>,
    /// How the token at --diverge-at differs [default: near-tie].
    #[arg(long, value_enum, requires = "text_seed", requires = "diverge_at")]
    pub diverge_kind: Option<DivergeKindArg>,
    /// Which engine's Prometheus /metrics to serve, with values that follow
    /// the schedule.
    #[arg(long, value_enum, default_value = "llamacpp")]
    pub metrics: MetricsArg,
    /// Context size per slot, tokens: n_ctx in /slots and the denominator of
    /// the KV-usage gauges.
    #[arg(long, default_value_t = 4096)]
    pub ctx_per_slot: u32,
}

impl EmulateArgs {
    /// The socket address to bind.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }

    /// The emulator configuration these flags describe.
    ///
    /// # Errors
    /// A message naming the flag when a value is out of range: decode or
    /// prefill rate not > 0, negative prefill ms or jitter, `--slots`,
    /// `--tokens-per-chunk` or `--events-per-write` below 1, probability
    /// outside [0, 1].
    pub fn to_config(&self) -> anyhow::Result<EmulatorConfig> {
        ensure!(
            self.decode_tok_s.is_finite() && self.decode_tok_s > 0.0,
            "--decode-tok-s must be > 0 (got {})",
            self.decode_tok_s
        );
        ensure!(self.slots >= 1, "--slots must be at least 1");
        if let Some(p) = self.fault_probability {
            ensure!(
                (0.0..=1.0).contains(&p),
                "--fault-probability must be in [0, 1] (got {p})"
            );
        }
        ensure!(
            self.jitter_ms.is_finite() && self.jitter_ms >= 0.0,
            "--jitter-ms must be >= 0 (got {})",
            self.jitter_ms
        );
        ensure!(
            self.tokens_per_chunk >= 1,
            "--tokens-per-chunk must be at least 1"
        );
        ensure!(
            self.events_per_write >= 1,
            "--events-per-write must be at least 1"
        );
        ensure!(self.ctx_per_slot >= 1, "--ctx-per-slot must be at least 1");
        let cfg = EmulatorConfig::default()
            .with_model(self.model.clone())
            .with_prefill(self.prefill()?)
            .with_decode_tok_s(self.decode_tok_s)
            .with_slots(self.slots)
            .with_jitter_ms(self.jitter_ms)
            .with_reasoning_tokens(self.reasoning_tokens)
            .with_reasoning_switch(self.reasoning_switch.into())
            .with_tokens_per_chunk(self.tokens_per_chunk)
            .with_events_per_write(self.events_per_write)
            .with_default_max_tokens(self.max_tokens_default)
            .with_emit_timings(!self.no_timings)
            .with_fault(self.fault_config())
            .with_seed(self.seed)
            .with_text_seed(self.text_seed)
            .with_diverge(self.diverge_at.map(|at| Divergence {
                at,
                kind: self.diverge_kind.unwrap_or(DivergeKindArg::NearTie).into(),
            }))
            .with_metrics(self.metrics.into())
            .with_ctx_per_slot(self.ctx_per_slot);
        cfg.validate()?;
        Ok(cfg)
    }

    fn prefill(&self) -> anyhow::Result<Prefill> {
        match (self.prefill_ms, self.prefill_tok_s) {
            (_, Some(tok_s)) => {
                ensure!(
                    tok_s.is_finite() && tok_s > 0.0,
                    "--prefill-tok-s must be > 0 (got {tok_s})"
                );
                Ok(Prefill::Rate { tok_s })
            }
            (Some(ms), None) => {
                ensure!(
                    ms.is_finite() && ms >= 0.0,
                    "--prefill-ms must be >= 0 (got {ms})"
                );
                Ok(Prefill::Fixed { ms })
            }
            (None, None) => Ok(EmulatorConfig::default().prefill),
        }
    }

    fn fault_config(&self) -> Option<FaultConfig> {
        let after_tokens = self
            .fault_after_tokens
            .unwrap_or(DEFAULT_FAULT_AFTER_TOKENS);
        let mode = match self.fault? {
            FaultKind::Stall => FaultMode::StallMidStream {
                after_tokens,
                stall_ms: self.fault_stall_ms.unwrap_or(DEFAULT_FAULT_STALL_MS),
            },
            FaultKind::Close => FaultMode::CloseMidStream { after_tokens },
            FaultKind::Http500 => FaultMode::Http500,
            FaultKind::Http429 => FaultMode::Http429 {
                retry_after_s: self.retry_after_s.unwrap_or(DEFAULT_RETRY_AFTER_S),
            },
            FaultKind::Malformed => FaultMode::MalformedChunk { after_tokens },
            FaultKind::NoUsage => FaultMode::NoUsage,
        };
        Some(FaultConfig::always(mode).with_probability(self.fault_probability.unwrap_or(1.0)))
    }
}

/// One-line summary of `cfg` for the startup banner.
fn describe(cfg: &EmulatorConfig) -> String {
    let prefill = match cfg.prefill {
        Prefill::Fixed { ms } => format!("{ms} ms"),
        Prefill::Rate { tok_s } => format!("{tok_s} tok/s"),
    };
    let mut out = format!(
        "model {}, decode {} tok/s, prefill {prefill}, slots {}",
        cfg.model, cfg.decode_tok_s, cfg.slots
    );
    if cfg.events_per_write > 1 {
        out.push_str(&format!(", {} events per write", cfg.events_per_write));
    }
    if let Some(fault) = &cfg.fault {
        out.push_str(&format!(", fault {:?} p={}", fault.mode, fault.probability));
    }
    if let Some(seed) = cfg.text_seed {
        out.push_str(&format!(", text seed {seed}"));
    }
    if let Some(d) = cfg.diverge {
        out.push_str(&format!(", diverge at {} ({:?})", d.at, d.kind));
    }
    out.push_str(&format!(", /metrics {:?}", cfg.metrics));
    out
}

/// Runs `tokbench emulate`.
pub fn run(args: EmulateArgs) -> anyhow::Result<ExitCode> {
    let cfg = args.to_config()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    rt.block_on(serve_until_ctrl_c(args.addr(), cfg))?;
    Ok(ExitCode::SUCCESS)
}

/// Binds, prints the banner, and serves until Ctrl-C (graceful) or a second
/// Ctrl-C (immediate).
async fn serve_until_ctrl_c(addr: SocketAddr, cfg: EmulatorConfig) -> anyhow::Result<()> {
    let listener = tokbench_emulator::bind(addr)
        .await
        .with_context(|| format!("could not listen on {addr}"))?;
    let bound = listener
        .local_addr()
        .context("could not read the bound address")?;
    println!(
        "tokbench emulator listening on http://{bound} ({})",
        describe(&cfg)
    );
    let (first_tx, first_rx) = oneshot::channel::<()>();
    let force = async move {
        if tokio::signal::ctrl_c().await.is_err() {
            // No signal handling here: serve until the process is killed.
            return std::future::pending().await;
        }
        let _ = first_tx.send(());
        eprintln!("shutting down: finishing in-flight responses (Ctrl-C again to stop now)");
        let _ = tokio::signal::ctrl_c().await;
    };
    let graceful = async move {
        let _ = first_rx.await;
    };
    tokio::select! {
        served = tokbench_emulator::serve_with_shutdown(listener, cfg, graceful) => {
            served.context("the emulator failed")?;
        }
        () = force => eprintln!("stopped"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: EmulateArgs,
    }

    fn parse(argv: &[&str]) -> Result<EmulateArgs, clap::Error> {
        let full = std::iter::once("emulate").chain(argv.iter().copied());
        Wrapper::try_parse_from(full).map(|w| w.args)
    }

    #[test]
    fn defaults_match_the_library() -> anyhow::Result<()> {
        let args = parse(&[])?;
        assert_eq!(args.to_config()?, EmulatorConfig::default());
        assert_eq!(args.addr(), SocketAddr::from(([127, 0, 0, 1], 8080)));
        Ok(())
    }

    #[test]
    fn flags_map_to_config() -> anyhow::Result<()> {
        let args = parse(&[
            "--prefill-tok-s",
            "2000",
            "--decode-tok-s",
            "25",
            "--slots",
            "16",
            "--fault",
            "stall",
            "--fault-after-tokens",
            "3",
            "--fault-stall-ms",
            "250",
            "--fault-probability",
            "0.5",
            "--no-timings",
            "--tokens-per-chunk",
            "2",
            "--events-per-write",
            "4",
        ])?;
        let cfg = args.to_config()?;
        assert_eq!(cfg.prefill, Prefill::Rate { tok_s: 2000.0 });
        assert_eq!(
            (cfg.decode_tok_s, cfg.slots, cfg.tokens_per_chunk),
            (25.0, 16, 2)
        );
        assert_eq!(cfg.events_per_write, 4);
        assert!(!cfg.emit_timings);
        let fault = cfg.fault.ok_or_else(|| anyhow::anyhow!("no fault"))?;
        assert_eq!(
            fault.mode,
            FaultMode::StallMidStream {
                after_tokens: 3,
                stall_ms: 250
            }
        );
        assert_eq!(fault.probability, 0.5);
        let http429 = parse(&["--fault", "http429", "--retry-after-s", "9"])?.to_config()?;
        let mode = http429.fault.map(|f| f.mode);
        assert_eq!(mode, Some(FaultMode::Http429 { retry_after_s: 9 }));
        Ok(())
    }

    #[test]
    fn metrics_flag_maps_to_the_flavor() -> anyhow::Result<()> {
        for (arg, flavor) in [
            ("none", MetricsFlavor::None),
            ("llamacpp", MetricsFlavor::Llamacpp),
            ("vllm", MetricsFlavor::Vllm),
            ("sglang", MetricsFlavor::Sglang),
        ] {
            let cfg = parse(&["--metrics", arg, "--ctx-per-slot", "512"])?.to_config()?;
            assert_eq!((cfg.metrics, cfg.ctx_per_slot), (flavor, 512), "{arg}");
        }
        let code = parse(&["--metrics", "tgi"]).err().map(|e| e.exit_code());
        assert_eq!(code, Some(2));
        assert!(parse(&["--ctx-per-slot", "0"])?.to_config().is_err());
        Ok(())
    }

    #[test]
    fn text_mode_flags() -> anyhow::Result<()> {
        let cfg = parse(&["--text-seed", "7"])?.to_config()?;
        assert_eq!((cfg.text_seed, cfg.diverge), (Some(7), None));
        let cfg = parse(&["--text-seed", "7", "--diverge-at", "4"])?.to_config()?;
        let near = Divergence {
            at: 4,
            kind: DivergeKind::NearTie,
        };
        assert_eq!(cfg.diverge, Some(near));
        let argv = [
            "--text-seed",
            "1",
            "--diverge-at",
            "0",
            "--diverge-kind",
            "hard",
        ];
        let cfg = parse(&argv)?.to_config()?;
        assert_eq!(cfg.diverge.map(|d| d.kind), Some(DivergeKind::Hard));
        for bad in [
            &["--diverge-at", "3"][..],
            &["--diverge-kind", "hard"],
            &["--diverge-at", "3", "--diverge-kind", "hard"],
            &["--text-seed", "1", "--diverge-kind", "hard"],
            &[
                "--text-seed",
                "1",
                "--diverge-at",
                "3",
                "--diverge-kind",
                "soft",
            ],
        ] {
            let err = parse(bad).err();
            let code = err.as_ref().map(clap::Error::exit_code);
            assert_eq!(code, Some(2), "{bad:?}: {err:?}");
        }
        Ok(())
    }

    #[test]
    fn rejects_bad_values_and_combinations() -> anyhow::Result<()> {
        assert!(parse(&["--prefill-ms", "5", "--prefill-tok-s", "5"]).is_err());
        assert!(parse(&["--fault-stall-ms", "5"]).is_err(), "needs --fault");
        for bad in [
            &["--decode-tok-s", "0"][..],
            &["--slots", "0"],
            &["--fault", "close", "--fault-probability", "1.5"],
            &["--prefill-tok-s", "0"],
            &["--jitter-ms=-1"],
            &["--events-per-write", "0"],
        ] {
            let err = parse(bad)?.to_config().err();
            assert!(err.is_some(), "{bad:?} accepted");
        }
        Ok(())
    }
}
