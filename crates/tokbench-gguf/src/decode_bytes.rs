//! Bytes one decoded token reads from memory: the input of the decode
//! roofline (`docs/methodology.md`, "Decode roofline").
//!
//! Single-stream decode reads, for every generated token, each weight the
//! token's forward pass uses once, plus the KV cache of every earlier
//! position. This module derives both from the GGUF header alone (tensor
//! shapes and types, the `{arch}.*` hyper-parameters), following how
//! llama.cpp's graph builders use the tensors:
//!
//! - **Lookups** (`token_embd`, `per_layer_token_embd`, `position_embd`,
//!   `token_types`): one row per token ([`DecodeBytes::lookup_bytes`]).
//! - **Output head**: `output.weight` is read in full; a model without one
//!   ties its output to `token_embd` (SmolLM2, Gemma 3), and then the whole
//!   embedding matrix is read by the output matmul ([`DecodeBytes::output_tied`]).
//! - **Routed experts**: tensors whose name ends in `_exps.weight` or
//!   `_exps.bias` (llama.cpp's `ffn_gate_exps`, `ffn_up_exps`,
//!   `ffn_down_exps`, `ffn_gate_up_exps`) hold every expert; a token reads
//!   `{arch}.expert_used_count / {arch}.expert_count` of them. Shared
//!   experts (`_shexp`) and the router (`ffn_gate_inp`) are dense.
//! - **Everything else** (attention, dense FFN, norms) is read in full.
//! - **KV cache**: per position of context, every layer reads
//!   `head_count_kv × key_length` K elements and `head_count_kv ×
//!   value_length` V elements, in the cache type in use (f16 unless the
//!   launch said otherwise) ([`KvGeometry`]).
//!
//! Not modelled, and said so in the methodology: activations, logits and
//! scratch buffers (under 1% for the models tokbench ships); sliding-window
//! layers (counted as reading the full context, exact below the window);
//! multi-head latent attention caches (`attention.kv_lora_rank`: the KV term
//! is left out and [`KvGeometry`] is `None`).

use serde::{Deserialize, Serialize};

use crate::{GgmlType, GgufFile, MetaValue};

/// Tensors read one row per token (embedding lookups), by name.
const LOOKUP_TENSORS: &[&str] = &[
    "token_embd.weight",
    "per_layer_token_embd.weight",
    "position_embd.weight",
    "token_types.weight",
];

/// Why the bytes per token cannot be derived from a header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeBytesError {
    /// A tensor's ggml type is unknown to this crate, so its size is too.
    #[error("tensor {tensor} has a ggml type this version does not know ({ggml_type})")]
    UnknownTensorType {
        /// Tensor name.
        tensor: String,
        /// Its type, as displayed (`ggml_type#N`).
        ggml_type: String,
    },
    /// Expert tensors exist but `{arch}.expert_count` / `expert_used_count`
    /// do not, or say nonsense (0 experts, more used than exist).
    #[error("the model has routed-expert tensors ({tensor}, …) but {reason}")]
    ExpertCounts {
        /// One expert tensor.
        tensor: String,
        /// What is wrong with the counts.
        reason: String,
    },
}

/// Shape of the KV cache, from the `{arch}.*` hyper-parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvGeometry {
    /// `{arch}.block_count`: layers, each with its own cache.
    pub layers: u64,
    /// K elements per position summed over layers: Σ `head_count_kv(l) ×
    /// key_length` (`head_count_kv` may be one number or one per layer).
    pub k_elements_per_position: u64,
    /// V elements per position summed over layers.
    pub v_elements_per_position: u64,
}

impl KvGeometry {
    /// Bytes of K and V cache per position of context for the given cache
    /// element types (llama.cpp `--cache-type-k`/`--cache-type-v`).
    /// Quantised types are counted per element as block bytes ÷ block size
    /// (`q8_0`: 34/32 bytes). `None` for a type this crate does not know.
    pub fn bytes_per_position(&self, k: GgmlType, v: GgmlType) -> Option<f64> {
        Some(
            per_element(k)? * self.k_elements_per_position as f64
                + per_element(v)? * self.v_elements_per_position as f64,
        )
    }
}

/// Bytes per element of a ggml type, fractional for block types.
fn per_element(t: GgmlType) -> Option<f64> {
    Some(t.block_bytes()? as f64 / t.block_size()? as f64)
}

/// Weight bytes one decoded token reads, and the KV geometry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecodeBytes {
    /// Weight bytes read per token: `dense_bytes + expert_bytes_read +
    /// lookup_bytes + output_bytes`.
    pub weights_bytes: u64,
    /// Tensors read in full (attention, dense FFN, shared experts, router,
    /// norms), excluding the output head.
    pub dense_bytes: u64,
    /// All routed-expert tensors (0 for a dense model).
    pub expert_bytes_total: u64,
    /// The used share of them: `expert_bytes_total × used ÷ count`, rounded.
    pub expert_bytes_read: u64,
    /// `{arch}.expert_count`, when the model has routed experts.
    pub experts_count: Option<u64>,
    /// `{arch}.expert_used_count`, when the model has routed experts.
    pub experts_used: Option<u64>,
    /// One row of each lookup tensor.
    pub lookup_bytes: u64,
    /// The output matmul's matrix: `output.weight`, or `token_embd.weight`
    /// when tied.
    pub output_bytes: u64,
    /// The model has no `output.weight`: its output head is `token_embd`.
    pub output_tied: bool,
    /// Sum of every tensor's bytes (the weights in memory).
    pub total_weight_bytes: u64,
    /// KV cache shape; `None` when not modelled (see the module docs).
    pub kv: Option<KvGeometry>,
}

impl DecodeBytes {
    /// Derives the bytes per token from a parsed header.
    ///
    /// # Errors
    /// [`DecodeBytesError`] for a tensor of unknown type, or expert tensors
    /// without usable expert counts.
    pub fn from_gguf(gguf: &GgufFile) -> Result<Self, DecodeBytesError> {
        let arch = gguf.architecture().unwrap_or_default().to_string();
        let mut out = Self::empty();
        let mut first_expert = None;
        let (mut embd_bytes, mut head_bytes) = (0, None);
        for t in &gguf.tensors {
            let bytes = t
                .n_bytes()
                .ok_or_else(|| DecodeBytesError::UnknownTensorType {
                    tensor: t.name.clone(),
                    ggml_type: t.ggml_type.to_string(),
                })?;
            out.total_weight_bytes += bytes;
            if LOOKUP_TENSORS.contains(&t.name.as_str()) {
                let rows = t.dims.get(1..).map_or(1, |d| d.iter().product::<u64>());
                out.lookup_bytes += bytes / rows.max(1);
                if t.name == "token_embd.weight" {
                    embd_bytes = bytes;
                }
            } else if t.name == "output.weight" {
                head_bytes = Some(bytes);
            } else if t.name.ends_with("_exps.weight") || t.name.ends_with("_exps.bias") {
                first_expert.get_or_insert_with(|| t.name.clone());
                out.expert_bytes_total += bytes;
            } else {
                out.dense_bytes += bytes;
            }
        }
        out.output_tied = head_bytes.is_none();
        out.output_bytes = head_bytes.unwrap_or(embd_bytes);
        if let Some(tensor) = first_expert {
            out.apply_experts(gguf, &arch, tensor)?;
        }
        out.weights_bytes =
            out.dense_bytes + out.expert_bytes_read + out.lookup_bytes + out.output_bytes;
        out.kv = kv_geometry(gguf, &arch);
        Ok(out)
    }

    fn empty() -> Self {
        Self {
            weights_bytes: 0,
            dense_bytes: 0,
            expert_bytes_total: 0,
            expert_bytes_read: 0,
            experts_count: None,
            experts_used: None,
            lookup_bytes: 0,
            output_bytes: 0,
            output_tied: true,
            total_weight_bytes: 0,
            kv: None,
        }
    }

    fn apply_experts(
        &mut self,
        gguf: &GgufFile,
        arch: &str,
        tensor: String,
    ) -> Result<(), DecodeBytesError> {
        let count = gguf.get_u64(&format!("{arch}.expert_count"));
        let used = gguf.get_u64(&format!("{arch}.expert_used_count"));
        let err = |reason: String| DecodeBytesError::ExpertCounts {
            tensor: tensor.clone(),
            reason,
        };
        let (count, used) = match (count, used) {
            (Some(c), Some(u)) => (c, u),
            _ => {
                return Err(err(format!(
                    "{arch}.expert_count or {arch}.expert_used_count is missing"
                )))
            }
        };
        if count == 0 || used == 0 || used > count {
            return Err(err(format!("uses {used} of {count} experts")));
        }
        self.experts_count = Some(count);
        self.experts_used = Some(used);
        let read = self.expert_bytes_total as u128 * used as u128 / count as u128;
        self.expert_bytes_read = u64::try_from(read).unwrap_or(u64::MAX);
        Ok(())
    }

    /// Bytes one decoded token reads at `context_tokens` positions of
    /// context with the given KV cache types: `weights_bytes +
    /// context_tokens × kv.bytes_per_position(k, v)`. Without a modelled KV
    /// cache (or with an unknown cache type) the KV term is 0.
    pub fn bytes_per_token(&self, context_tokens: f64, k: GgmlType, v: GgmlType) -> f64 {
        self.weights_bytes as f64 + context_tokens.max(0.0) * self.kv_bytes(k, v).unwrap_or(0.0)
    }

    /// KV bytes per position of context, `None` when not modelled.
    pub fn kv_bytes(&self, k: GgmlType, v: GgmlType) -> Option<f64> {
        self.kv.as_ref()?.bytes_per_position(k, v)
    }
}

/// KV geometry from `{arch}.block_count`, `.attention.head_count_kv`
/// (number or per-layer array; defaults to `head_count`),
/// `.attention.key_length`/`.value_length` (default `embedding_length ÷
/// head_count`). `None` for MLA models or when a key is missing.
fn kv_geometry(gguf: &GgufFile, arch: &str) -> Option<KvGeometry> {
    let key = |k: &str| format!("{arch}.{k}");
    if gguf.get(&key("attention.kv_lora_rank")).is_some() {
        return None;
    }
    let layers = gguf.get_u64(&key("block_count"))?;
    let heads = per_layer(gguf.get(&key("attention.head_count"))?, layers)?;
    let kv_heads = match gguf.get(&key("attention.head_count_kv")) {
        Some(v) => per_layer(v, layers)?,
        None => heads.clone(),
    };
    let embd = gguf.get_u64(&key("embedding_length"));
    let head0 = heads.iter().copied().find(|&h| h > 0)?;
    let default_len = embd.map(|e| e / head0);
    let k_len = gguf.get_u64(&key("attention.key_length")).or(default_len)?;
    let v_len = gguf
        .get_u64(&key("attention.value_length"))
        .or(default_len)?;
    let kv_total: u64 = kv_heads.iter().sum();
    Some(KvGeometry {
        layers,
        k_elements_per_position: kv_total.checked_mul(k_len)?,
        v_elements_per_position: kv_total.checked_mul(v_len)?,
    })
}

/// A hyper-parameter given as one number for every layer or an array of
/// one per layer.
fn per_layer(value: &MetaValue, layers: u64) -> Option<Vec<u64>> {
    match value {
        MetaValue::Array(a) => {
            let values = a.values.as_ref()?;
            let out: Option<Vec<u64>> = values.iter().map(MetaValue::as_u64).collect();
            out.filter(|v| v.len() as u64 == layers)
        }
        v => Some(vec![v.as_u64()?; usize::try_from(layers).ok()?]),
    }
}
