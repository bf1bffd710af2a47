//! `tokbench validate DIR…`: checks every record below the folders, run
//! records, crossval records (`kind: crossval`) and sweep records
//! (`kind: sweep`), against their JSON Schemas (docs/record-format.md). Exit code 0 when all
//! are valid, 1 when any is not (each problem is named with its file and
//! field, or line for YAML syntax errors).

use std::path::PathBuf;
use std::process::ExitCode;

use tokbench_record::{load_dirs_all, LoadedAll, RecordError};

/// Arguments of `tokbench validate`.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Runs folders to check (recursively): run, crossval and sweep
    /// records.
    #[arg(default_value = "runs")]
    pub dirs: Vec<PathBuf>,
}

/// Runs `tokbench validate`.
pub fn run(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    for d in &args.dirs {
        anyhow::ensure!(d.is_dir(), "{} is not a folder", d.display());
    }
    let LoadedAll {
        runs: good,
        crossvals,
        sweeps,
        bad,
    } = load_dirs_all(&args.dirs)?;
    let mut missing = 0;
    for (path, record) in &good {
        let dir = path.parent().map(PathBuf::from).unwrap_or_default();
        if let Some(f) = &record.run.samples_file {
            if !dir.join(f).is_file() {
                missing += 1;
                println!(
                    "warning: {}: field /run/samples_file: {f} not found",
                    path.display()
                );
            }
        }
    }
    for e in &bad {
        match e {
            RecordError::Invalid { path, problems } => {
                for p in problems {
                    println!("{}: {p}", path.display());
                }
            }
            other => println!("{other}"),
        }
    }
    println!(
        "{} valid, {} invalid record(s){}",
        good.len() + crossvals.len() + sweeps.len(),
        bad.len(),
        if missing > 0 {
            format!(", {missing} missing sidecar file(s)")
        } else {
            String::new()
        }
    );
    Ok(if bad.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
