//! Deterministic example records, for tests (here, in the site generator)
//! and documentation.
//!
//! Metrics follow in closed form from a synthetic schedule (request `i` of
//! a cell sent at `i` s, a fixed prefill, then tokens at a rate that varies
//! by up to 4 % between requests), so they are internally consistent
//! (totals, rates, window and summaries agree) without depending on
//! `tokbench-stats`: this crate only describes records.

use std::collections::BTreeMap;

use crate::engine_fixture::{example_engine_metrics, example_load_time};
use crate::metrics::{CellMetrics, Ci, PromptCacheCheck, Summary};
use crate::roofline::{BandwidthSource, CpuBandwidthMeasurement, DecodeBytesSection, Roofline};
use crate::schema::{
    BackendSection, Cell, CellStop, Flags, ModelSection, PromptSettings, Provenance, Record,
    Resources, RunInfo, SystemSection, SCHEMA_VERSION,
};
use crate::system::{
    CpuSummary, GpuInfo, GpuSource, MemorySummary, OsInfo, SystemInfo, Virtualization, VramFit,
};

/// What varies between example records.
#[derive(Debug, Clone)]
pub struct ExampleSpec {
    /// Record id (file stem).
    pub id: String,
    /// Model family.
    pub family: String,
    /// Model variant.
    pub variant: String,
    /// Quant name.
    pub quant: String,
    /// Rig name.
    pub rig: String,
    /// GPU name, or `None` for a CPU-only rig.
    pub gpu: Option<String>,
    /// Backend name and version.
    pub backend: (String, String),
    /// Decode rate of the synthetic samples at concurrency 1, tok/s.
    pub decode_tok_s: f64,
    /// Shapes (name, prompt tokens, output tokens).
    pub shapes: Vec<(String, u64, u64)>,
    /// Concurrency levels.
    pub concurrency: Vec<u64>,
}

impl Default for ExampleSpec {
    fn default() -> Self {
        Self {
            id: "2026-11-22-smollm2-135m-instruct-llama.cpp-0a1b2c".into(),
            family: "SmolLM2".into(),
            variant: "135M-Instruct".into(),
            quant: "Q4_1".into(),
            rig: "ci-box".into(),
            gpu: None,
            backend: ("llama.cpp".into(), "0.0.7100".into()),
            decode_tok_s: 80.0,
            shapes: vec![("chat".into(), 200, 64), ("rag".into(), 1000, 32)],
            concurrency: vec![1, 2],
        }
    }
}

fn system(spec: &ExampleSpec) -> SystemSection {
    let mut gpus = Vec::new();
    if let Some(name) = &spec.gpu {
        let mut g = GpuInfo::named(0, GpuSource::Fake, name.clone());
        g.vram_total_bytes = Some(24 * (1 << 30));
        g.driver_version = Some("595.58.03".into());
        g.power.limit_w = Some(250.0);
        g.power.max_limit_w = Some(300.0);
        gpus.push(g);
    }
    SystemSection {
        rig_name: spec.rig.clone(),
        host: SystemInfo {
            cpu: CpuSummary {
                model_name: Some("Example CPU 8-Core".into()),
                vendor: Some("AuthenticAMD".into()),
                arch: "x86_64".into(),
                physical_cores: Some(8),
                logical_threads: 16,
                isa_flags: vec!["avx2".into(), "fma".into()],
                governor: Some("performance".into()),
                cpufreq_driver: None,
            },
            memory: MemorySummary {
                ram_total_bytes: 64 * (1 << 30),
                ram_available_bytes: 60 * (1 << 30),
                swap_total_bytes: 0,
                swap_free_bytes: 0,
                cgroup_limit_bytes: None,
            },
            os: OsInfo {
                pretty_name: Some("Debian GNU/Linux 12 (bookworm)".into()),
                id: Some("debian".into()),
                version_id: Some("12".into()),
                kernel_release: Some("6.1.0-28-amd64".into()),
            },
            hostname: None,
            virtualization: Virtualization::default(),
            notes: Vec::new(),
        },
        gpus,
        gpu_notes: Vec::new(),
        rig: None,
    }
}

fn cells(spec: &ExampleSpec) -> Vec<Cell> {
    let mut out = Vec::new();
    for (si, (shape, prompt, output)) in spec.shapes.iter().enumerate() {
        for &c in &spec.concurrency {
            let rate =
                spec.decode_tok_s / (1.0 + 0.15 * (c as f64 - 1.0)) / (1.0 + 0.05 * si as f64);
            let ttft = 20.0 + *prompt as f64 / 50.0;
            let n = 3 * c.max(2);
            let metrics = cell_metrics(n, ttft, *output, rate, *prompt);
            out.push(Cell {
                shape: shape.clone(),
                concurrency: c,
                rate_rps: None,
                prompt_tokens_target: *prompt,
                output_tokens_target: *output,
                prompt_tokens_actual: Some(*prompt as f64),
                output_tokens_actual: Some(*output as f64),
                stop: CellStop::Converged,
                decode_ci_rel_half_width: metrics
                    .decode_tok_s
                    .as_ref()
                    .and_then(|d| d.ci_relative_half_width()),
                skipped: None,
                host_load: None,
                noisy: false,
                prompt_cache: false,
                prompt_cache_check: Some(no_cache_account(n)),
                engine_metrics: Some(example_engine_metrics(&metrics, c)),
                metrics: Some(metrics),
                roofline: None,
            });
        }
    }
    out
}

/// A complete, schema-valid example record, with the decode roofline of
/// [`example_roofline`] filled in for its concurrency-1 cells.
pub fn example_record(spec: &ExampleSpec) -> Record {
    let mut record = bare_record(spec);
    set_example_roofline(&mut record, spec.gpu.is_some());
    record
}

/// Gives `record` the roofline inputs of [`example_roofline`] and its
/// concurrency-1 cells their figures (for fixtures that add a GPU later).
pub fn set_example_roofline(record: &mut Record, gpu: bool) {
    let roofline = example_roofline(gpu);
    for cell in &mut record.cells {
        cell.roofline = roofline.cell_figures(cell);
    }
    record.roofline = Some(roofline);
}

/// Roofline inputs of the example: 90 MB of weights per token, 23 040 KV
/// bytes per position (f16), and either a CPU measured at 20 GB/s or a GPU
/// at its 936 GB/s theoretical peak.
pub fn example_roofline(gpu: bool) -> Roofline {
    let (device, bandwidth, source) = if gpu {
        ("gpu", 936.0, BandwidthSource::NvmlTheoretical)
    } else {
        ("cpu", 20.0, BandwidthSource::Measured)
    };
    Roofline {
        device: device.into(),
        bandwidth_gb_s: Some(bandwidth),
        bandwidth_source: Some(source),
        bandwidth_source_detail: None,
        cpu_bandwidth: (!gpu).then(|| CpuBandwidthMeasurement {
            method: "stream-read-sum".into(),
            buffer_bytes: 256 << 20,
            llc_bytes: Some(32 << 20),
            threads: 8,
            repeats: 3,
            sweeps_per_repeat: 16,
            samples_gb_s: vec![19.5, 20.0, 20.4],
            median_gb_s: 20.0,
            spread_pct: 4.5,
            host_load: None,
        }),
        decode_bytes: Some(DecodeBytesSection {
            weights_bytes: 90_000_000,
            dense_bytes: 60_000_000,
            expert_bytes_total: 0,
            expert_bytes_read: 0,
            experts_count: None,
            experts_used: None,
            lookup_bytes: 600,
            output_bytes: 29_999_400,
            output_tied: true,
            total_weight_bytes: 89_999_400,
        }),
        kv_cache_type_k: "f16".into(),
        kv_cache_type_v: "f16".into(),
        kv_bytes_per_position: Some(23_040.0),
        notes: Vec::new(),
    }
}

fn bare_record(spec: &ExampleSpec) -> Record {
    let device = if spec.gpu.is_some() { "cuda" } else { "cpu" };
    Record {
        schema_version: SCHEMA_VERSION,
        run: RunInfo {
            id: spec.id.clone(),
            started_utc: "2026-11-22T06:00:00Z".into(),
            ended_utc: Some("2026-11-22T06:05:00Z".into()),
            tokbench_version: "0.1.0".into(),
            tokbench_commit: Some("0123abc".into()),
            command_line: vec!["tokbench".into(), "run".into(), "model.gguf".into()],
            mode: "baseline".into(),
            flags: Flags::default(),
            incomplete_reason: None,
            host_load: None,
            samples_file: Some(format!("{}.samples.jsonl", spec.id)),
            server_log_file: Some(format!("{}.server.log", spec.id)),
            notes: Vec::new(),
            prompts: Some(PromptSettings {
                seed: 0x5eed,
                seed_given: false,
                cache_allowed: false,
                cache_control: Some("cache_prompt: false".into()),
                shared_prefix_tokens: None,
            }),
            slo: None,
            reasoning: None,
        },
        system: system(spec),
        backend: BackendSection {
            name: spec.backend.0.clone(),
            version: Some(spec.backend.1.clone()),
            commit: None,
            device: device.into(),
            url: "http://127.0.0.1:40123".into(),
            launched: true,
            launch_command: Some(vec![
                "llama-server".into(),
                "-m".into(),
                "model.gguf".into(),
            ]),
            parallel: Some(2),
            ctx_size: Some(4096),
            threads: Some(8),
            flags: Vec::new(),
            build_info: None,
            load_time: Some(example_load_time()),
        },
        model: ModelSection {
            id: format!("{}-{}", spec.family, spec.variant),
            family: spec.family.clone(),
            variant: spec.variant.clone(),
            architecture: Some("llama".into()),
            quant: Some(spec.quant.clone()),
            params: Some(134_515_008),
            params_label: Some("135M".into()),
            file_name: Some("model.gguf".into()),
            file_bytes: Some(92_000_000),
            sha256: Some("0".repeat(64)),
            context_length: Some(8192),
            experts: None,
            tokenizer: Some("gpt2".into()),
        },
        cells: cells(spec),
        resources: Resources {
            vram_before_bytes: Vec::new(),
            vram_after_bytes: Vec::new(),
            vram_fit: VramFit::NotApplicable {
                reason: "CPU-only run".into(),
            },
            backend_peak_rss_bytes: Some(300_000_000),
            power: None,
            j_per_output_token: None,
        },
        provenance: Provenance {
            reproduce: "tokbench run model.gguf --shape chat,rag -c 1,2".into(),
            details: Default::default(),
        },
        roofline: None,
    }
}

/// Metrics of a cell of `n` synthetic requests, request `i` sent at `i` s:
/// each spends `ttft_ms` before its first token, then streams `tokens`
/// output tokens (one per event, counts confirmed by `usage`) at
/// `rate / (1 + 0.01·(i mod 5))` tok/s and ends 0.1 ms after the last one;
/// each has `prompt` prompt tokens. Nothing fails, nothing is cached.
fn cell_metrics(n: u64, ttft_ms: f64, tokens: u64, rate: f64, prompt: u64) -> CellMetrics {
    let gaps = tokens.saturating_sub(1);
    let gap_ms: Vec<f64> = (0..n)
        .map(|i| (1.0 + 0.01 * (i % 5) as f64) * 1000.0 / rate)
        .collect();
    let e2e_ms: Vec<f64> = gap_ms
        .iter()
        .map(|g| ttft_ms + g * gaps as f64 + 0.1)
        .collect();
    let window_s = (0u32..)
        .zip(&e2e_ms)
        .map(|(i, e)| f64::from(i) + e / 1000.0)
        .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))))
        .filter(|&w| w > 0.0);
    let decode: Vec<f64> = gap_ms.iter().map(|g| 1000.0 / g).collect();
    let itl: Vec<f64> = gap_ms
        .iter()
        .flat_map(|&g| std::iter::repeat_n(g, gaps as usize))
        .collect();
    let each = |v: f64| (0..n).map(|_| v).collect::<Vec<f64>>();
    let total_output = n * tokens;
    CellMetrics {
        requests: n,
        warmup_excluded: 0,
        ok: n,
        errors_by_kind: BTreeMap::new(),
        window_s,
        aggregate_output_tok_s: window_s.map(|w| total_output as f64 / w),
        request_throughput_rps: window_s.map(|w| n as f64 / w),
        ttft_ms: summarise(each(ttft_ms), true),
        ttfc_ms: summarise(each(ttft_ms), true),
        prefill_tok_s: summarise(each(prompt as f64 * 1000.0 / ttft_ms), true),
        server_prefill_tok_s: None,
        decode_tok_s: summarise(decode, true),
        server_decode_tok_s: None,
        tpot_ms: summarise(gap_ms, true),
        itl_ms: summarise(itl, false),
        e2e_ms: summarise(e2e_ms, true),
        queue_delay_ms: summarise(each(0.0), true),
        output_tokens: summarise(each(tokens as f64), true),
        prompt_tokens: summarise(each(prompt as f64), true),
        total_output_tokens: total_output,
        total_reasoning_tokens: 0,
        total_content_tokens: total_output,
        total_prompt_tokens: n * prompt,
        token_source_usage: n,
        token_source_stream: 0,
        mean_token_count_discrepancy: (n > 0).then_some(0.0),
        reasoning_tokens: None,
        content_tokens: None,
        answer_tok_s: None,
        good_requests: None,
        goodput_rps: None,
        goodput_pct: None,
    }
}

/// The prompt-cache check of `n` successful requests whose server gave no
/// account of cached prompt tokens.
fn no_cache_account(n: u64) -> PromptCacheCheck {
    PromptCacheCheck {
        intended_shared_tokens: 0,
        requests: n,
        requests_with_account: 0,
        prompt_tokens: 0,
        cached_tokens: 0,
        cached_share: None,
        unintended_cached_tokens: 0,
        requests_over_threshold: 0,
        flagged: false,
    }
}

/// Mean, sample standard deviation, type 7 quantiles and, with `ci`, the
/// distribution-free CI of the median ([`median_ci`]); `None` for no
/// values.
fn summarise(mut values: Vec<f64>, ci: bool) -> Option<Summary> {
    values.sort_by(f64::total_cmp);
    let (&min, &max) = (values.first()?, values.last()?);
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n as f64;
    let stddev = if n < 2 {
        0.0
    } else {
        let ss: f64 = values.iter().map(|x| (x - mean) * (x - mean)).sum();
        (ss / (n - 1) as f64).sqrt()
    };
    let median = type7(&values, 0.5);
    Some(Summary {
        n: n as u64,
        mean,
        stddev,
        min,
        max,
        median,
        p50: median,
        p90: type7(&values, 0.9),
        p99: type7(&values, 0.99),
        ci95_median: if ci { median_ci(&values) } else { None },
    })
}

/// Type 7 quantile (Hyndman & Fan 1996) at `p` ∈ [0, 1] of sorted,
/// non-empty `sorted`.
fn type7(sorted: &[f64], p: f64) -> f64 {
    let last = sorted.len().saturating_sub(1);
    let h = last as f64 * p;
    let lo = (h.floor() as usize).min(last);
    let hi = (lo + 1).min(last);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Distribution-free 95 % CI of the median of sorted `sorted` (n values):
/// the order statistics `[x(k), x(n+1−k)]` with the largest `k` whose
/// coverage `1 − 2·P(Bin(n, ½) < k)` is at least 0.95. `None` when even
/// `[min, max]` covers less (n < 6). For the few values of a fixture cell
/// (`2^−n` must not underflow).
fn median_ci(sorted: &[f64]) -> Option<Ci> {
    let n = sorted.len();
    let mut pmf = 0.5f64.powi(i32::try_from(n).ok()?);
    let mut below = 0.0;
    let mut best = None;
    for k in 1..=n / 2 {
        below += pmf;
        if 1.0 - 2.0 * below < 0.95 {
            break;
        }
        best = Some(k);
        pmf *= (n + 1 - k) as f64 / k as f64;
    }
    let k = best?;
    Some(Ci {
        lo: sorted[k - 1],
        hi: sorted[n - k],
        level: 0.95,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type7_interpolates_between_order_statistics() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(type7(&v, 0.0), 1.0);
        assert_eq!(type7(&v, 0.5), 2.5);
        assert_eq!(type7(&v, 1.0), 4.0);
        assert!((type7(&v, 0.9) - 3.7).abs() < 1e-12);
    }

    #[test]
    fn median_ci_uses_order_statistics_with_95_percent_coverage() {
        let five: Vec<f64> = (1..=5).map(f64::from).collect();
        assert_eq!(median_ci(&five), None);
        let six: Vec<f64> = (1..=6).map(f64::from).collect();
        let ci = median_ci(&six).unwrap();
        assert_eq!((ci.lo, ci.hi), (1.0, 6.0));
        // n = 20: P(Bin(20, ½) ≤ 5) ≈ 0.0207, so k = 6 covers ≈ 0.959.
        let twenty: Vec<f64> = (1..=20).map(f64::from).collect();
        let ci = median_ci(&twenty).unwrap();
        assert_eq!((ci.lo, ci.hi), (6.0, 15.0));
    }

    #[test]
    fn cell_metrics_are_internally_consistent() {
        let m = cell_metrics(6, 24.0, 64, 80.0, 200);
        assert_eq!((m.requests, m.ok, m.total_output_tokens), (6, 6, 384));
        let decode = m.decode_tok_s.unwrap();
        assert_eq!(decode.max, 80.0);
        assert!(decode.min < decode.median && decode.median < decode.max);
        let ci = decode.ci95_median.unwrap();
        assert_eq!((ci.lo, ci.hi), (decode.min, decode.max));
        // The last request (sent at 5 s, at the full rate) ends last:
        // 24 ms + 63 gaps of 12.5 ms + 0.1 ms.
        let w = m.window_s.unwrap();
        assert!((w - 5.8116).abs() < 1e-9, "{w}");
        assert!((m.aggregate_output_tok_s.unwrap() - 384.0 / w).abs() < 1e-9);
        assert_eq!(m.itl_ms.unwrap().n, 6 * 63);
        assert_eq!(m.ttft_ms.unwrap().stddev, 0.0);
    }
}
