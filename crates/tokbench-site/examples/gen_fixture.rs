//! Writes N synthetic, schema-valid run records into DIR, for timing
//! `tokbench site` at scale:
//!
//! ```text
//! cargo run --release -p tokbench-site --example gen_fixture -- 10000 /tmp/runs10k
//! cargo run --release -p tokbench -- site /tmp/runs10k --out /tmp/site10k
//! ```
//!
//! Records come from `tokbench_record::fixture::example_record` with varied
//! families, variants, quants, rigs, GPUs and backends. Computing a record's
//! metrics (bootstrap CIs) is the slow part, so a few base records are
//! computed once per (shape set, concurrency set) and then re-labelled, with
//! their rate metrics scaled by a per-record factor.

use std::path::PathBuf;
use std::process::ExitCode;

use tokbench_record::fixture::{example_record, ExampleSpec};
use tokbench_record::{write_record, GpuInfo, GpuSource, Record, Summary, VramFit};

const FAMILIES: &[(&str, &[&str])] = &[
    (
        "SmolLM2",
        &["135M-Instruct", "360M-Instruct", "1.7B-Instruct"],
    ),
    ("Qwen2.5", &["0.5B-Instruct", "7B-Instruct", "14B-Instruct"]),
    ("Qwen3", &["0.6B", "4B", "8B", "30B-A3B"]),
    ("Gemma-3", &["1b-it", "4b-it", "12b-it", "27b-it"]),
    ("Llama-3.2", &["1B-Instruct", "3B-Instruct"]),
    ("Phi-4", &["mini-instruct", "14B"]),
    ("Mistral-Small-3.1", &["24B-Instruct"]),
    ("gpt-oss", &["20b", "120b"]),
    ("DeepSeek-R1-Distill-Qwen", &["1.5B", "7B", "14B"]),
    ("TinyLlama", &["1.1B-Chat"]),
    ("Granite-3.3", &["2b-instruct", "8b-instruct"]),
    ("UnknownLab-Model", &["7B"]),
];
const QUANTS: &[&str] = &["Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0", "Q4_0", "IQ4_XS", "F16"];
const RIGS: &[(&str, Option<&str>)] = &[
    ("quad-3090", Some("NVIDIA GeForce RTX 3090")),
    ("gaming-5070", Some("NVIDIA GeForce RTX 5070")),
    ("strix-halo", Some("AMD Radeon 8060S")),
    ("lab-a100", Some("NVIDIA A100-SXM4-80GB")),
    ("ci-box", None),
    ("old-1080", Some("NVIDIA GeForce GTX 1080 Ti")),
];
const BACKENDS: &[(&str, &str)] = &[
    ("llama.cpp", "b7100"),
    ("llama.cpp", "b7250"),
    ("vLLM", "0.11.0"),
    ("Ollama", "0.12.3"),
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(n), Some(dir)) = (args.first().and_then(|a| a.parse().ok()), args.get(1)) else {
        eprintln!("usage: gen_fixture N DIR");
        return ExitCode::from(2);
    };
    match generate(n, &PathBuf::from(dir)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen_fixture: {e}");
            ExitCode::FAILURE
        }
    }
}

fn generate(n: usize, dir: &std::path::Path) -> Result<(), tokbench_record::RecordError> {
    let shapes = |names: &[(&str, u64, u64)]| {
        names
            .iter()
            .map(|(s, p, o)| ((*s).to_owned(), *p, *o))
            .collect::<Vec<_>>()
    };
    let base_specs = [
        ExampleSpec {
            shapes: shapes(&[
                ("chat", 200, 64),
                ("rag", 4000, 64),
                ("codegen", 300, 256),
                ("agent", 1500, 128),
            ]),
            concurrency: vec![1, 4],
            ..ExampleSpec::default()
        },
        ExampleSpec {
            shapes: shapes(&[("pp512", 512, 2), ("tg128", 16, 128)]),
            concurrency: vec![1],
            ..ExampleSpec::default()
        },
    ];
    let bases: Vec<Record> = base_specs.iter().map(example_record).collect();
    for i in 0..n {
        let record = vary(&bases[usize::from(i % 10 == 9)], i);
        write_record(dir, &record)?;
    }
    println!("wrote {n} records to {}", dir.display());
    Ok(())
}

/// Re-labels `base` as record number `i` and scales its rates.
fn vary(base: &Record, i: usize) -> Record {
    let mut r = base.clone();
    let (family, variants) = FAMILIES[i % FAMILIES.len()];
    let variant = variants[(i / FAMILIES.len()) % variants.len()];
    let quant = QUANTS[(i / 7) % QUANTS.len()];
    let (rig, gpu) = RIGS[(i / 3) % RIGS.len()];
    let (backend, version) = BACKENDS[(i / 11) % BACKENDS.len()];
    r.run.id = format!("2026-11-22-{family}-{variant}-{backend}-{i:05x}").to_lowercase();
    r.run.samples_file = None;
    r.run.server_log_file = None;
    r.run.flags.noisy = i % 17 == 0;
    r.run.mode = if i % 13 == 0 {
        "spec-decode"
    } else {
        "baseline"
    }
    .into();
    r.model.family = family.into();
    r.model.variant = variant.into();
    r.model.id = format!("{family}-{variant}");
    r.model.quant = Some(quant.into());
    // One file per model and quant, as real records have (the history
    // series are keyed by it).
    let file = format!("{family}-{variant}-{quant}");
    r.model.sha256 = Some(tokbench_site::load::hex(
        &<sha2::Sha256 as sha2::Digest>::digest(file.as_bytes()),
    ));
    r.system.rig_name = rig.into();
    r.backend.name = backend.into();
    r.backend.version = Some(version.into());
    r.backend.device = match (gpu, rig) {
        (None, _) => "cpu",
        (Some(_), "strix-halo") => "rocm",
        (Some(_), "gaming-5070") if i % 2 == 0 => "vulkan",
        _ => "cuda",
    }
    .into();
    set_gpu(&mut r, gpu, i);
    let factor = 0.2 + ((i * 7919) % 1000) as f64 / 250.0;
    for cell in &mut r.cells {
        if let Some(m) = cell.metrics.as_mut() {
            for s in [&mut m.decode_tok_s, &mut m.prefill_tok_s] {
                scale(s.as_mut(), factor);
            }
            for s in [
                &mut m.ttft_ms,
                &mut m.ttfc_ms,
                &mut m.tpot_ms,
                &mut m.itl_ms,
                &mut m.e2e_ms,
            ] {
                scale(s.as_mut(), 1.0 / factor);
            }
        }
    }
    r
}

/// Names the GPU (or removes it on CPU rigs) and sets the VRAM-fit verdict.
fn set_gpu(r: &mut Record, gpu: Option<&str>, i: usize) {
    let Some(name) = gpu else {
        r.system.gpus.clear();
        return;
    };
    if r.system.gpus.is_empty() {
        r.system.gpus.push(GpuInfo::named(0, GpuSource::Fake, name));
    }
    let g = &mut r.system.gpus[0];
    g.name = name.into();
    g.vram_total_bytes = Some(24 << 30);
    g.driver_version = Some("595.58.03".into());
    g.power.limit_w = Some(250.0);
    g.power.max_limit_w = Some(350.0);
    let model_bytes = r.model.file_bytes.unwrap_or(0);
    let before = 600u64 << 20;
    let spill = i % 29 == 0;
    let delta = if spill {
        model_bytes / 2
    } else {
        model_bytes + (900 << 20)
    };
    r.resources.vram_before_bytes = vec![Some(before)];
    r.resources.vram_after_bytes = vec![Some(before + delta)];
    r.run.flags.spill = spill;
    r.resources.vram_fit = if spill {
        VramFit::Spill {
            delta_bytes: delta,
            model_bytes,
            message: "GPU memory grew by less than the model file".into(),
        }
    } else {
        VramFit::Fit {
            delta_bytes: delta,
            model_bytes,
        }
    };
}

/// Multiplies every location statistic of `s` by `f` (> 0).
fn scale(s: Option<&mut Summary>, f: f64) {
    let Some(s) = s else { return };
    for v in [
        &mut s.mean,
        &mut s.stddev,
        &mut s.min,
        &mut s.max,
        &mut s.median,
        &mut s.p50,
        &mut s.p90,
        &mut s.p99,
    ] {
        *v *= f;
    }
    if let Some(ci) = s.ci95_median.as_mut() {
        ci.lo *= f;
        ci.hi *= f;
    }
}
