//! `tokbench site` as a standalone example, for timing release builds of
//! the site generator before the subcommand is wired into the CLI. It
//! compiles the subcommand's own source file:
//!
//! ```text
//! cargo run --release -p tokbench-site --example gen_fixture -- 10000 /tmp/runs10k
//! cargo run --release -p tokbench-site --example site -- /tmp/runs10k --out /tmp/site10k
//! ```

#[path = "../../tokbench/src/cmd/site.rs"]
mod site;

use std::process::ExitCode;

use clap::Parser;

/// Build the static results website from run records.
#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    args: site::SiteArgs,
}

fn main() -> ExitCode {
    match site::run(Cli::parse().args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
