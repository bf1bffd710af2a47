//! [`ModelIdentity`]: what a benchmark report needs to name a model file.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::decode_bytes::DecodeBytes;
use crate::error::Result;
use crate::file::{GgufFile, TensorInfo};
use crate::hash::{sha256_file, Sha256Cache};
use crate::types::{FileType, GgmlType};

/// Where [`ModelIdentity::quant`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuantSource {
    /// `general.file_type`, mapped through llama.cpp's `enum llama_ftype`.
    FileType,
    /// No `general.file_type`: the most common type among the tensors with
    /// two or more dimensions (ties: more elements), as llama.cpp guesses.
    DominantTensorType,
}

/// The identity of a GGUF model file.
///
/// Optional fields are `None` when the file lacks the key; they are left
/// out when serialised. Keys `<arch>.*` use the file's
/// `general.architecture` as prefix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelIdentity {
    /// File name without directories.
    pub file_name: String,
    /// File size in bytes.
    pub file_size: u64,
    /// Lowercase hex sha256 of the whole file (`None` when not computed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// `general.architecture`, e.g. `llama`, `gemma3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    /// `general.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `general.basename`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basename: Option<String>,
    /// `general.finetune`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finetune: Option<String>,
    /// `general.size_label` as written by the converter, e.g. `135M`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_label: Option<String>,
    /// Parameter count rounded as gguf-py does, e.g. `135M`, `7.6B`.
    pub params: String,
    /// Parameters: the sum over tensors of the product of their dims.
    pub parameter_count: u64,
    /// Quantisation scheme, e.g. `Q4_K_M` (see [`ModelIdentity::quant_source`]).
    pub quant: String,
    /// Where `quant` came from.
    pub quant_source: QuantSource,
    /// Raw `general.file_type` (`enum llama_ftype`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_type: Option<u32>,
    /// `<arch>.context_length`: training context in tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_length: Option<u64>,
    /// `<arch>.block_count`: transformer layers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_count: Option<u64>,
    /// `<arch>.embedding_length`: hidden size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding_length: Option<u64>,
    /// `<arch>.expert_count` (mixture-of-experts models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expert_count: Option<u64>,
    /// `<arch>.expert_used_count`: experts active per token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expert_used_count: Option<u64>,
    /// `tokenizer.ggml.model`, e.g. `gpt2`, `llama`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokenizer_model: Option<String>,
    /// Tokens in `tokenizer.ggml.tokens`, else `<arch>.vocab_size`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vocab_size: Option<u64>,
    /// GGUF format version (2 or 3).
    pub gguf_version: u32,
    /// Number of tensors.
    pub tensor_count: u64,
    /// Bytes one decoded token reads ([`DecodeBytes::from_gguf`]); `None`
    /// when they cannot be derived ([`ModelIdentity::decode_bytes_error`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decode_bytes: Option<DecodeBytes>,
    /// Why [`ModelIdentity::decode_bytes`] is `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decode_bytes_error: Option<String>,
}

/// How [`identify`] obtains the sha256.
#[derive(Debug)]
pub enum Hashing<'a> {
    /// Leave [`ModelIdentity::sha256`] empty.
    Skip,
    /// Hash the file now.
    Uncached,
    /// Use (and fill) a cache.
    Cached(&'a mut Sha256Cache),
}

/// Reads the header of the GGUF file at `path` and, as `hashing` says,
/// its sha256.
///
/// # Errors
/// Those of [`GgufFile::open`] and of hashing ([`crate::GgufError::Io`]).
pub fn identify(path: &Path, hashing: Hashing<'_>) -> Result<ModelIdentity> {
    let gguf = GgufFile::open(path)?;
    let sha256 = match hashing {
        Hashing::Skip => None,
        Hashing::Uncached => Some(sha256_file(path)?),
        Hashing::Cached(cache) => Some(cache.sha256(path)?.0),
    };
    let file_name = path.file_name().map_or_else(
        || path.to_string_lossy().into_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok(ModelIdentity::from_gguf(&gguf, file_name, sha256))
}

impl ModelIdentity {
    /// The identity of a parsed header; `file_name` and `sha256` are
    /// taken as given.
    pub fn from_gguf(gguf: &GgufFile, file_name: String, sha256: Option<String>) -> Self {
        let arch = gguf.architecture().map(str::to_owned);
        let arch_u64 = |suffix: &str| {
            arch.as_deref()
                .and_then(|a| gguf.get_u64(&format!("{a}.{suffix}")))
        };
        let text = |key: &str| gguf.get_str(key).map(str::to_owned);
        let file_type = gguf
            .get_u64("general.file_type")
            .and_then(|v| u32::try_from(v).ok());
        let (quant, quant_source) = match file_type {
            Some(ft) => (FileType(ft).to_string(), QuantSource::FileType),
            None => (
                dominant_tensor_type(&gguf.tensors)
                    .map_or_else(|| "unknown".to_owned(), |t| t.to_string()),
                QuantSource::DominantTensorType,
            ),
        };
        let vocab_size = gguf
            .get("tokenizer.ggml.tokens")
            .and_then(|v| v.as_array())
            .map(|a| a.len)
            .or_else(|| arch_u64("vocab_size"));
        let parameter_count = gguf.parameter_count();
        let (decode_bytes, decode_bytes_error) = match DecodeBytes::from_gguf(gguf) {
            Ok(b) => (Some(b), None),
            Err(e) => (None, Some(e.to_string())),
        };
        Self {
            file_name,
            file_size: gguf.file_size,
            sha256,
            name: text("general.name"),
            basename: text("general.basename"),
            finetune: text("general.finetune"),
            size_label: text("general.size_label"),
            params: params_label(parameter_count),
            parameter_count,
            quant,
            quant_source,
            file_type,
            context_length: arch_u64("context_length"),
            block_count: arch_u64("block_count"),
            embedding_length: arch_u64("embedding_length"),
            expert_count: arch_u64("expert_count"),
            expert_used_count: arch_u64("expert_used_count"),
            tokenizer_model: text("tokenizer.ggml.model"),
            vocab_size,
            gguf_version: gguf.version,
            tensor_count: gguf.tensors.len() as u64,
            architecture: arch,
            decode_bytes,
            decode_bytes_error,
        }
    }
}

/// The most common type among tensors with two or more dims (ties: the
/// type with more elements); among all tensors if none has two dims.
/// `None` without tensors.
pub fn dominant_tensor_type(tensors: &[TensorInfo]) -> Option<GgmlType> {
    let matrices: Vec<&TensorInfo> = tensors.iter().filter(|t| t.dims.len() >= 2).collect();
    let pool: Vec<&TensorInfo> = if matrices.is_empty() {
        tensors.iter().collect()
    } else {
        matrices
    };
    let mut tally: BTreeMap<GgmlType, (usize, u64)> = BTreeMap::new();
    for t in pool {
        let e = tally.entry(t.ggml_type).or_default();
        e.0 += 1;
        e.1 = e.1.saturating_add(t.n_elements());
    }
    tally
        .into_iter()
        .max_by_key(|&(_, score)| score)
        .map(|(ty, _)| ty)
}

/// A parameter count rounded to a short label with at least two
/// significant digits: `135M`, `268M`, `7.6B`, `1.2T`. Port of gguf-py's
/// `model_weight_count_rounded_notation` (K below a million). `0` for 0.
pub fn params_label(count: u64) -> String {
    if count == 0 {
        return "0".to_owned();
    }
    let n = count as f64;
    let (scaled, suffix) = if n > 1e12 {
        (n * 1e-12, "T")
    } else if n > 1e9 {
        (n * 1e-9, "B")
    } else if n > 1e6 {
        (n * 1e-6, "M")
    } else {
        (n * 1e-3, "K")
    };
    let rounded = scaled.round_ties_even();
    let int_digits = if rounded < 1.0 {
        0
    } else {
        format!("{rounded:.0}").len()
    };
    let decimals = 2usize.saturating_sub(int_digits);
    format!("{scaled:.decimals$}{suffix}")
}
