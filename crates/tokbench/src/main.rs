//! `tokbench`: benchmark LLM inference servers.
//!
//! The binary is thin: argument parsing lives in [`cli`], each subcommand in
//! its own module under [`cmd`]. Exit codes ([`cli::EXIT_CODES`], shown by
//! `--help`): 0 success, 1 runtime failure, 2 usage error (clap's, and the
//! mode checks of [`cli::Cli::parse_checked`]), 3 run completed but
//! incomplete, 4 some measured requests failed, 5 `selftest --check` missed
//! a fidelity bar.

mod cli;
mod cmd;
mod export;
mod progress;
mod report;

/// mimalloc instead of glibc's malloc: building a site allocates and frees
/// millions of small strings and tree nodes on every core, where glibc
/// spends about a sixth of the CPU time (`scripts/bench-site`).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse_checked();
    match cmd::dispatch(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::from(1)
        }
    }
}
