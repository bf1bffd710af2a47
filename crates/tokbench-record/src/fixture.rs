//! Deterministic example records, for tests (here, in the site generator)
//! and documentation. Metrics are computed by `tokbench-stats` from
//! synthetic samples on an exact schedule, so they are internally
//! consistent.

use tokbench_probe::system::{CpuSummary, MemorySummary, OsInfo, Virtualization};
use tokbench_probe::{GpuInfo, GpuSource, SystemInfo, VramFit};
use tokbench_stats::{
    CellMetrics, Channel, PromptCacheCheck, RequestSample, SummaryOptions, TokenEvent, Usage,
};

use crate::schema::{
    BackendSection, Cell, CellStop, Flags, ModelSection, PromptSettings, Provenance, Record,
    Resources, RunInfo, SystemSection, SCHEMA_VERSION,
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

/// Synthetic samples: `n` requests, prefill `ttft_ms`, `tokens` at `rate`.
pub fn samples(n: u64, ttft_ms: f64, tokens: u32, rate: f64, prompt: u64) -> Vec<RequestSample> {
    (0..n)
        .map(|i| {
            let jitter = 1.0 + 0.01 * (i % 5) as f64;
            let mut s = RequestSample::new(i, false, i * 1_000_000, i * 1_000_000);
            let first = (ttft_ms * 1000.0) as u32;
            let gap = 1e6 / (rate / jitter);
            s.events = (0..tokens)
                .map(|k| TokenEvent {
                    t_us: first + (f64::from(k) * gap) as u32,
                    bytes: 4,
                    channel: Channel::Content,
                })
                .collect();
            s.end_us = s.events.last().map(|e| e.t_us + 100);
            s.headers_us = Some(500);
            s.usage = Some(Usage {
                prompt_tokens: prompt,
                completion_tokens: u64::from(tokens),
                reasoning_tokens: None,
                cached_tokens: None,
            });
            s.finish_reason = Some("length".into());
            s
        })
        .collect()
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
            let s = samples(3 * c.max(2), ttft, *output as u32, rate, *prompt);
            let metrics = CellMetrics::compute(&s, &SummaryOptions::default());
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
                prompt_cache_check: Some(PromptCacheCheck::compute(&s, 0)),
                metrics: Some(metrics),
            });
        }
    }
    out
}

/// A complete, schema-valid example record.
pub fn example_record(spec: &ExampleSpec) -> Record {
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
    }
}
