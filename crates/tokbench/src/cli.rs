//! Command-line definition (clap derive). Metric definitions referenced in
//! help texts live in `docs/methodology.md`.

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::cmd;

/// The exit codes every subcommand uses, listed in `tokbench --help`.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  failure (bad input file, missing binary or model, unreachable server)
  2  usage error (unknown flag, value out of range, flag that means nothing in the mode)
  3  run, crossval, sweep: incomplete (Ctrl-C or the backend died); completed requests are kept
  4  run: some measured requests failed
  5  selftest --check: a fidelity bar was missed
  6  gate: a gate failed; crossval: a --min-identical/--max-hard/--min-top1 bar was missed
  7  gate: no gate failed, but one was inconclusive";

/// The exit codes of `tokbench run`, listed in `tokbench run --help`.
pub const EXIT_CODES_RUN: &str = "\
Exit codes:
  0  every measured request succeeded
  1  failure before or outside measurement (bad input, missing binary or model,
     unreachable server, VRAM spill)
  2  usage error (value out of range, flag that means nothing in the mode)
  3  incomplete (Ctrl-C or the backend died): completed requests are reported
     and recorded
  4  some measured requests failed";

/// Benchmark LLM inference servers: TTFT, prefill and decode tok/s, ITL/TPOT,
/// end-to-end latency and throughput. Metric definitions: docs/methodology.md.
#[derive(Debug, Parser)]
#[command(name = "tokbench", version, about, long_about = None, after_help = EXIT_CODES)]
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
    /// Append to or verify the append-only performance log (docs/perflog.md).
    Perflog(cmd::perflog::PerflogArgs),
    /// Did NEW get faster than BASE? Ratios with intervals, tests and verdicts per cell.
    Compare(Box<cmd::compare::CompareArgs>),
    /// Same weights, same answer? Token-for-token agreement of two backends or configurations.
    Crossval(Box<cmd::crossval::CrossvalArgs>),
    /// Judge performance gates from a spec (speedup, tail ratio, bounds) on intervals.
    Gate(Box<cmd::gate::GateArgs>),
    /// A metric's history over run records, per configuration, with change points.
    History(cmd::history::HistoryArgs),
    /// Find the fastest server configuration: value lists or a space file, racing, one record per configuration.
    Sweep(Box<cmd::sweep::SweepArgs>),
}

impl Cli {
    /// Parses the process's arguments (`args_os`, so a non-UTF-8 argument
    /// is a clap error, not a panic) and runs the checks clap's derive
    /// cannot express. Prints the error with the usage line and exits 2 on
    /// a usage error, as clap does for its own.
    pub fn parse_checked() -> Self {
        let matches = Self::command().get_matches();
        let cli = Self::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        if let Err(e) = cli.check_usage(&matches) {
            let mut cmd = Self::command();
            // Building names each subcommand `tokbench <sub>` in its usage line.
            cmd.build();
            let sub = matches.subcommand_name().unwrap_or_default().to_owned();
            match cmd.find_subcommand_mut(&sub) {
                Some(sc) => sc.clone().error(e.kind, e.message).exit(),
                None => cmd.error(e.kind, e.message).exit(),
            }
        }
        cli
    }

    fn check_usage(&self, matches: &ArgMatches) -> Result<(), cmd::run::UsageError> {
        match (&self.command, matches.subcommand()) {
            (Command::Run(args), Some((_, sub))) => args.check_usage(sub),
            (Command::Crossval(args), _) => {
                args.check_usage().map_err(|message| cmd::run::UsageError {
                    kind: clap::error::ErrorKind::ArgumentConflict,
                    message,
                })
            }
            _ => Ok(()),
        }
    }
}
