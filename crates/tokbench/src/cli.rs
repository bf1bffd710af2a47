//! Command-line definition (clap derive). Metric definitions referenced in
//! help texts live in `docs/methodology.md`.

use clap::{Parser, Subcommand};

use crate::cmd;

/// Benchmark LLM inference servers: TTFT, prefill and decode tok/s, ITL/TPOT,
/// end-to-end latency and throughput. Metric definitions: docs/methodology.md.
#[derive(Debug, Parser)]
#[command(name = "tokbench", version, about, long_about = None)]
pub struct Cli {
    /// Subcommand to run.
    #[command(subcommand)]
    pub command: Command,
}

/// tokbench subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Benchmark models through a backend it launches (or --url to attach): shapes × concurrency.
    Run(Box<cmd::run::RunArgs>),
    /// Serve an emulated OpenAI-compatible backend with an exact token schedule.
    Emulate(cmd::emulate::EmulateArgs),
    /// Measure the client's own timing fidelity and throughput ceiling.
    Selftest(cmd::selftest::SelftestArgs),
    /// Show the identity of a GGUF model file.
    Inspect(cmd::inspect::InspectArgs),
    /// Show the identity of this machine (CPU, RAM, GPUs, OS, load).
    Probe(cmd::probe::ProbeArgs),
    /// Check run records against the record schema (docs/record-format.md).
    Validate(cmd::validate::ValidateArgs),
    /// Build the static benchmark website from a runs folder.
    Site(cmd::site::SiteArgs),
}
