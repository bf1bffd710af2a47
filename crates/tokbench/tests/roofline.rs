//! The decode roofline end to end: `tokbench run` launching the emulator as
//! a template engine for a synthetic GGUF file with known tensor sizes.
//! With a rig-file bandwidth the record's ceiling and efficiency are known
//! answers; without one the CPU is measured; `--no-bandwidth` leaves the
//! ceiling out and says why; in attach mode the flag is a usage error.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use assert_cmd::cargo::CommandCargoExt;
use tokbench_gguf::write::GgufWriter;
use tokbench_gguf::{GgmlType, MetaValue};
use tokbench_record::{BandwidthSource, Record};

/// Weights one token reads from [`model`]: two 64 × 64 F16 matrices
/// (16,384 B), the 64 × 1,000 Q8_0 embedding read whole by the tied output
/// head (68,000 B) and one 68-byte row of it for the lookup.
const WEIGHTS: u64 = 16_384 + 68_000 + 68;
/// KV bytes per position, f16: 2 layers × 2 KV heads × 16 dims × 2 (K, V) × 2 B.
const KV_F16: f64 = 256.0;

/// A tiny two-layer llama GGUF with zero weights.
fn model(dir: &Path) -> PathBuf {
    let bytes = GgufWriter::new()
        .kv_str("general.architecture", "llama")
        .kv("llama.block_count", MetaValue::U32(2))
        .kv("llama.embedding_length", MetaValue::U32(64))
        .kv("llama.attention.head_count", MetaValue::U32(4))
        .kv("llama.attention.head_count_kv", MetaValue::U32(2))
        .tensor("token_embd.weight", &[64, 1000], GgmlType::Q8_0)
        .tensor("blk.0.attn_q.weight", &[64, 64], GgmlType::F16)
        .tensor("blk.1.attn_q.weight", &[64, 64], GgmlType::F16)
        .with_data(true)
        .to_bytes();
    let path = dir.join("tiny.gguf");
    std::fs::write(&path, bytes).unwrap();
    path
}

fn template() -> String {
    format!(
        "{} emulate --port {{port}} --slots {{parallel}} --decode-tok-s 400",
        assert_cmd::cargo::cargo_bin("tokbench").display()
    )
}

/// `tokbench run tiny.gguf` on the emulator at c=1,2 with `extra` flags.
fn run(dir: &Path, extra: &[&str]) -> (Output, Option<Record>) {
    let runs = dir.join("runs");
    let out = Command::cargo_bin("tokbench")
        .unwrap()
        .arg("run")
        .arg(model(dir))
        .args(["--backend-cmd", &template(), "--no-progress", "--runs-dir"])
        .arg(&runs)
        .args(["--prompt-tokens", "40", "--output-tokens", "12", "-n", "3"])
        .args(["-c", "1,2", "--health-timeout", "20s"])
        .args(extra)
        .output()
        .unwrap();
    let record = std::fs::read_dir(&runs).ok().and_then(|d| {
        let path = d
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "yaml"))?;
        Some(tokbench_record::read_record(&path).unwrap())
    });
    (out, record)
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_rig_file_bandwidth_gives_the_known_ceiling_at_concurrency_one() {
    let dir = tempfile::tempdir().unwrap();
    let rig = dir.path().join("rig.yaml");
    std::fs::write(
        &rig,
        "name: test-rig\nmemory_bandwidth_gb_s: 0.5\nmemory_bandwidth_source: a test's word\n",
    )
    .unwrap();
    let (out, r) = run(dir.path(), &["--rig", rig.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let r = r.expect("a record");
    let rl = r.roofline.as_ref().expect("roofline inputs");
    assert_eq!(rl.bandwidth_gb_s, Some(0.5));
    assert_eq!(rl.bandwidth_source, Some(BandwidthSource::RigFile));
    assert_eq!(rl.bandwidth_source_detail.as_deref(), Some("a test's word"));
    assert_eq!(rl.cpu_bandwidth, None, "a declared figure is not measured");
    assert_eq!(rl.decode_bytes.as_ref().unwrap().weights_bytes, WEIGHTS);
    assert!(rl.decode_bytes.as_ref().unwrap().output_tied);
    assert_eq!(rl.kv_bytes_per_position, Some(KV_F16));
    assert_eq!(
        (rl.kv_cache_type_k.as_str(), rl.kv_cache_type_v.as_str()),
        ("f16", "f16")
    );
    let c1 = r.cells.iter().find(|c| c.concurrency == 1).unwrap();
    let fig = c1.roofline.expect("c=1 has figures");
    let context = c1.prompt_tokens_actual.unwrap() + c1.output_tokens_actual.unwrap() / 2.0;
    let bytes = WEIGHTS as f64 + context * KV_F16;
    assert_eq!(fig.bytes_per_token, bytes);
    assert!((fig.decode_ceiling_tok_s - 0.5e9 / bytes).abs() < 1e-6);
    let gen = c1
        .metrics
        .as_ref()
        .unwrap()
        .decode_tok_s
        .as_ref()
        .unwrap()
        .median;
    let eff = fig.decode_bandwidth_efficiency_pct.unwrap();
    assert!((eff - gen * bytes / 0.5e9 * 100.0).abs() < 1e-6, "{eff}");
    let c2 = r.cells.iter().find(|c| c.concurrency == 2).unwrap();
    assert_eq!(c2.roofline, None, "no ceiling at c=2");
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("% of BW bound"), "{table}");
    assert!(table.contains("0.5 GB/s rig file"), "{table}");
    let problems = tokbench_record::validate_record(&r);
    assert!(problems.is_empty(), "{problems:?}");
}

#[test]
fn without_a_declared_figure_the_cpu_is_measured_and_no_bandwidth_turns_it_off() {
    let dir = tempfile::tempdir().unwrap();
    let (out, r) = run(dir.path(), &["--threads", "1"]);
    assert!(out.status.success(), "{}", text(&out));
    let rl = r.unwrap().roofline.unwrap();
    assert_eq!(rl.device, "cpu");
    assert_eq!(rl.bandwidth_source, Some(BandwidthSource::Measured));
    let m = rl.cpu_bandwidth.expect("a measurement");
    assert_eq!((m.threads, m.repeats, m.samples_gb_s.len()), (1, 5, 5));
    assert_eq!(rl.bandwidth_gb_s, Some(m.median_gb_s));
    assert!(m.median_gb_s > 0.0 && m.sweeps_per_repeat >= 1);
    assert!(m.host_load.is_some());

    let dir = tempfile::tempdir().unwrap();
    let (out, r) = run(dir.path(), &["--no-bandwidth"]);
    assert!(out.status.success(), "{}", text(&out));
    let r = r.unwrap();
    let rl = r.roofline.as_ref().unwrap();
    assert_eq!((rl.bandwidth_gb_s, rl.cpu_bandwidth.as_ref()), (None, None));
    assert!(
        rl.notes.iter().any(|n| n.contains("--no-bandwidth")),
        "{:?}",
        rl.notes
    );
    assert!(r.cells.iter().all(|c| c.roofline.is_none()));
    assert_eq!(rl.decode_bytes.as_ref().unwrap().weights_bytes, WEIGHTS);
}

#[test]
fn no_bandwidth_means_nothing_in_attach_mode() {
    let out = Command::cargo_bin("tokbench")
        .unwrap()
        .args(["run", "--url", "http://127.0.0.1:9", "--no-bandwidth"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("--no-bandwidth has no effect in attach mode"),
        "{}",
        text(&out)
    );
}
