//! `tokbench inspect` (being built).

use std::process::ExitCode;

/// Arguments of `tokbench inspect`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {}

/// Runs `tokbench inspect`.
pub fn run(_args: InspectArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("tokbench inspect is not built yet")
}
