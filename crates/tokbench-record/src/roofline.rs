//! The decode roofline: how close single-stream decode came to what the
//! memory of the decoding device can deliver (`docs/methodology.md`,
//! "Decode roofline").
//!
//! Decoding one token reads the active weights and the KV cache of every
//! earlier position once, so `decode tok/s ≤ bandwidth ÷ bytes per token`.
//! [`Roofline`] holds the run-wide inputs (bytes per token from the GGUF
//! header, the bandwidth and where it came from); [`CellRoofline`] the
//! figures of one cell, computed by [`Roofline::cell_figures`] for cells at
//! concurrency 1 only.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::schema::Cell;
use crate::system::HostLoadSummary;

/// GB as used for bandwidth: 10⁹ bytes.
pub const GB: f64 = 1e9;

/// Where the bandwidth figure came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum BandwidthSource {
    /// Measured on this CPU by tokbench's STREAM-style read
    /// ([`Roofline::cpu_bandwidth`]).
    Measured,
    /// NVIDIA theoretical peak from NVML: 2 × max memory clock × bus width.
    NvmlTheoretical,
    /// Declared in the rig file (`memory_bandwidth_gb_s`, with its source).
    RigFile,
}

/// A CPU read-bandwidth measurement (`tokbench probe --bandwidth`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CpuBandwidthMeasurement {
    /// Method name, e.g. `stream-read-sum`: every thread sums its share of
    /// one buffer.
    pub method: String,
    /// Buffer size, bytes (several times the last-level cache).
    pub buffer_bytes: u64,
    /// Last-level cache size, bytes, when sysfs gives it.
    pub llc_bytes: Option<u64>,
    /// Threads reading (the backend's thread count).
    pub threads: u64,
    /// Timed repeats.
    pub repeats: u64,
    /// Sweeps of the whole buffer per repeat (each repeat lasts ≥ 200 ms).
    #[serde(default)]
    pub sweeps_per_repeat: u64,
    /// Bandwidth of each repeat, GB/s (10⁹ bytes/s).
    pub samples_gb_s: Vec<f64>,
    /// Median of the repeats, GB/s.
    pub median_gb_s: f64,
    /// (max − min) ÷ median of the repeats, percent.
    pub spread_pct: f64,
    /// Host load while measuring.
    pub host_load: Option<HostLoadSummary>,
}

/// Weight bytes one decoded token reads, from the GGUF header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DecodeBytesSection {
    /// Weight bytes read per token: dense + used experts + lookups + output.
    pub weights_bytes: u64,
    /// Tensors read in full (attention, dense FFN, shared experts, router,
    /// norms), output head excluded.
    pub dense_bytes: u64,
    /// All routed-expert tensors (`*_exps.weight`), bytes; 0 when dense.
    pub expert_bytes_total: u64,
    /// Their used share: total × used ÷ count, bytes.
    pub expert_bytes_read: u64,
    /// Routed experts per layer, when the model has them.
    pub experts_count: Option<u64>,
    /// Experts used per token, when the model has them.
    pub experts_used: Option<u64>,
    /// One row of each embedding lookup table, bytes.
    pub lookup_bytes: u64,
    /// The output matmul's matrix, bytes.
    pub output_bytes: u64,
    /// No `output.weight`: the output head is `token_embd`.
    pub output_tied: bool,
    /// All weights in the file, bytes.
    pub total_weight_bytes: u64,
}

/// Run-wide inputs of the decode roofline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Roofline {
    /// Device whose memory decode reads: `cpu` or `gpu`.
    pub device: String,
    /// Memory bandwidth used for the ceiling, GB/s (10⁹ bytes/s); `None`
    /// when unknown (see `notes`).
    pub bandwidth_gb_s: Option<f64>,
    /// Where [`Roofline::bandwidth_gb_s`] came from.
    pub bandwidth_source: Option<BandwidthSource>,
    /// The GPU's name (NVML), or the rig file's stated source.
    pub bandwidth_source_detail: Option<String>,
    /// The CPU measurement, when one was taken.
    pub cpu_bandwidth: Option<CpuBandwidthMeasurement>,
    /// Weight bytes per token; `None` when the header does not give them.
    pub decode_bytes: Option<DecodeBytesSection>,
    /// KV cache element type of K (`f16` unless the launch flags say).
    pub kv_cache_type_k: String,
    /// KV cache element type of V.
    pub kv_cache_type_v: String,
    /// KV cache bytes read per position of context (all layers, K and V);
    /// `None` when not modelled (see `notes`).
    pub kv_bytes_per_position: Option<f64>,
    /// Assumptions and anything that could not be known.
    #[serde(default)]
    pub notes: Vec<String>,
}

/// The roofline figures of one cell (concurrency 1 only).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CellRoofline {
    /// Typical context during decode: median prompt tokens + half the
    /// median output tokens, tokens.
    pub context_tokens: f64,
    /// Bytes read per decoded token at that context: weights + context ×
    /// KV bytes per position.
    pub bytes_per_token: f64,
    /// bandwidth ÷ bytes per token: the fastest single-stream decode this
    /// memory allows, tok/s.
    pub decode_ceiling_tok_s: f64,
    /// Median gen (decode) tok/s ÷ ceiling × 100; `None` without a decode
    /// median.
    pub decode_bandwidth_efficiency_pct: Option<f64>,
}

impl Roofline {
    /// The figures of `cell`, or `None` when it is not a measured cell at
    /// concurrency 1 or the bandwidth or bytes per token are unknown.
    ///
    /// Formula (docs/methodology.md, "Decode roofline"): `ceiling =
    /// bandwidth_gb_s × 10⁹ ÷ (weights_bytes + context ×
    /// kv_bytes_per_position)`, `context = prompt_tokens_actual +
    /// output_tokens_actual ÷ 2`.
    pub fn cell_figures(&self, cell: &Cell) -> Option<CellRoofline> {
        if cell.concurrency != 1 {
            return None;
        }
        let bandwidth = self.bandwidth_gb_s.filter(|b| b.is_finite() && *b > 0.0)?;
        let weights = self.decode_bytes.as_ref()?.weights_bytes as f64;
        let metrics = cell.metrics.as_ref()?;
        let context = cell.prompt_tokens_actual.unwrap_or(0.0)
            + cell.output_tokens_actual.unwrap_or(0.0) / 2.0;
        let bytes = weights + context * self.kv_bytes_per_position.unwrap_or(0.0);
        if bytes <= 0.0 {
            return None;
        }
        let ceiling = bandwidth * GB / bytes;
        let gen = metrics.decode_tok_s.as_ref().map(|s| s.median);
        Some(CellRoofline {
            context_tokens: context,
            bytes_per_token: bytes,
            decode_ceiling_tok_s: ceiling,
            decode_bandwidth_efficiency_pct: gen.map(|g| g / ceiling * 100.0),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use crate::fixture::{example_record, example_roofline, ExampleSpec};

    #[test]
    fn a_concurrency_one_cell_gets_the_known_ceiling_and_efficiency() {
        let r = example_record(&ExampleSpec::default());
        let rl = example_roofline(false);
        let cell = r.cells.iter().find(|c| c.concurrency == 1).unwrap();
        let got = rl.cell_figures(cell).unwrap();
        let prompt = cell.prompt_tokens_actual.unwrap();
        let output = cell.output_tokens_actual.unwrap();
        let context = prompt + output / 2.0;
        assert_eq!(got.context_tokens, context);
        let bytes = 90_000_000.0 + context * 23_040.0;
        assert_eq!(got.bytes_per_token, bytes);
        assert_eq!(got.decode_ceiling_tok_s, 20e9 / bytes);
        let gen = cell
            .metrics
            .as_ref()
            .unwrap()
            .decode_tok_s
            .as_ref()
            .unwrap()
            .median;
        let eff = got.decode_bandwidth_efficiency_pct.unwrap();
        assert!((eff - gen / (20e9 / bytes) * 100.0).abs() < 1e-9, "{eff}");
        // The example record carries exactly these figures.
        assert_eq!(cell.roofline, Some(got));
    }

    #[test]
    fn no_figures_at_higher_concurrency_or_without_inputs() {
        let r = example_record(&ExampleSpec::default());
        let rl = example_roofline(false);
        let c2 = r.cells.iter().find(|c| c.concurrency == 2).unwrap();
        assert_eq!(rl.cell_figures(c2), None);
        assert_eq!(c2.roofline, None);
        let c1 = r.cells.iter().find(|c| c.concurrency == 1).unwrap();
        let mut no_bw = rl.clone();
        no_bw.bandwidth_gb_s = None;
        assert_eq!(no_bw.cell_figures(c1), None);
        let mut no_bytes = rl.clone();
        no_bytes.decode_bytes = None;
        assert_eq!(no_bytes.cell_figures(c1), None);
        let mut unmeasured = c1.clone();
        unmeasured.metrics = None;
        assert_eq!(rl.cell_figures(&unmeasured), None);
    }

    #[test]
    fn without_a_kv_model_only_the_weights_count() {
        let r = example_record(&ExampleSpec::default());
        let mut rl = example_roofline(true);
        rl.kv_bytes_per_position = None;
        let c1 = r.cells.iter().find(|c| c.concurrency == 1).unwrap();
        let got = rl.cell_figures(c1).unwrap();
        assert_eq!(got.bytes_per_token, 90_000_000.0);
        assert_eq!(got.decode_ceiling_tok_s, 936e9 / 90e6);
    }
}
