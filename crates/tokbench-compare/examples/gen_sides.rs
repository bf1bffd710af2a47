//! Writes a synthetic side: N records with samples sidecars whose requests
//! decode at RATE tok/s (±2 % jitter), for timing `tokbench compare`:
//!
//! ```text
//! cargo run --release -p tokbench-compare --example gen_sides -- 1000 50 SEED /tmp/base
//! ```

#[path = "../tests/common/synth.rs"]
mod synth;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = (
        args.first().and_then(|a| a.parse().ok()),
        args.get(1).and_then(|a| a.parse().ok()),
        args.get(2).and_then(|a| a.parse().ok()),
        args.get(3),
    );
    let (Some(records), Some(rate), Some(seed), Some(dir)) = parsed else {
        eprintln!("usage: gen_sides N RATE SEED DIR");
        return ExitCode::from(2);
    };
    let spec = synth::Synth {
        records,
        decode_tok_s: rate,
        seed,
        ..synth::Synth::default()
    };
    match synth::write_side(&PathBuf::from(dir), &spec) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen_sides: {e}");
            ExitCode::FAILURE
        }
    }
}
