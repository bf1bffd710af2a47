//! The reader on the real demo models placed by `scripts/setup` in
//! `$TOKBENCH_MODELS_DIR` (else `$CACHE/models`). A model that is not there
//! is skipped with a line saying so; the facts asserted come from the
//! models' own cards (SmolLM2-135M-Instruct, Gemma 3 270M).

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::path::{Path, PathBuf};

use tokbench_gguf::{identify, GgmlType, GgufFile, Hashing, ModelIdentity, QuantSource};

/// Where `scripts/setup` puts the models.
fn models_dir() -> Option<PathBuf> {
    match std::env::var_os("TOKBENCH_MODELS_DIR") {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => tokbench_dirs::cache_dir("models"),
    }
}

/// The model file `name`, or `None` after printing a skip line.
fn model(name: &str) -> Option<PathBuf> {
    let path = models_dir()?.join(name);
    if path.is_file() {
        Some(path)
    } else {
        println!("skipped: {} not found (run scripts/setup)", path.display());
        None
    }
}

/// The sha256 pinned for `name` in scripts/lib/models.sha256.
fn pinned_sha256(name: &str) -> String {
    let sums = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/lib/models.sha256");
    let text = std::fs::read_to_string(&sums).unwrap();
    text.lines()
        .filter_map(|l| l.split_once("  "))
        .find(|(_, n)| *n == name)
        .map(|(sha, _)| sha.to_owned())
        .unwrap()
}

/// Identity with the sha256, checked against the pinned sum.
fn checked_identity(path: &Path) -> ModelIdentity {
    let id = identify(path, Hashing::Uncached).unwrap();
    let name = path.file_name().unwrap().to_string_lossy();
    assert_eq!(id.sha256.as_deref(), Some(&*pinned_sha256(&name)));
    assert_eq!(id.file_size, std::fs::metadata(path).unwrap().len());
    println!("{}", serde_json::to_string(&id).unwrap());
    id
}

#[test]
fn smollm2_135m_instruct_q4_1() {
    let Some(path) = model("smollm2-135m-instruct-q4_1.gguf") else {
        return;
    };
    let id = checked_identity(&path);
    assert_eq!(id.architecture.as_deref(), Some("llama"));
    assert_eq!(
        (id.quant.as_str(), id.quant_source),
        ("Q4_1", QuantSource::FileType)
    );
    assert!(
        (130_000_000..140_000_000).contains(&id.parameter_count),
        "{}",
        id.parameter_count
    );
    assert_eq!(id.params, "135M");
    assert_eq!(id.block_count, Some(30));
    assert_eq!(id.embedding_length, Some(576));
    assert_eq!(id.vocab_size, Some(49_152));
    assert_eq!(id.expert_count, None);
}

#[test]
fn gemma_3_270m_q4_k_m() {
    let Some(path) = model("gemma-3-270m-q4_k_m.gguf") else {
        return;
    };
    let id = checked_identity(&path);
    assert_eq!(id.architecture.as_deref(), Some("gemma3"));
    assert_eq!(
        (id.quant.as_str(), id.quant_source),
        ("Q4_K_M", QuantSource::FileType)
    );
    assert!(
        (250_000_000..290_000_000).contains(&id.parameter_count),
        "{}",
        id.parameter_count
    );
    assert_eq!(id.block_count, Some(18));
    assert_eq!(id.embedding_length, Some(640));
    assert_eq!(id.vocab_size, Some(262_144));
    assert_eq!(id.context_length, Some(32_768));
}

#[test]
fn real_headers_are_consistent() {
    for name in [
        "smollm2-135m-instruct-q4_1.gguf",
        "gemma-3-270m-q4_k_m.gguf",
    ] {
        let Some(path) = model(name) else { continue };
        let f = GgufFile::open(&path).unwrap();
        // Tensor data is the last section and is fully inside the file.
        let end = f
            .tensors
            .iter()
            .map(|t| f.data_offset + t.offset + t.n_bytes().unwrap())
            .max()
            .unwrap();
        assert!(
            end <= f.file_size && f.file_size - end < f.alignment,
            "{name}"
        );
        // The big token list was skipped, not kept.
        let tokens = f.get("tokenizer.ggml.tokens").unwrap().as_array().unwrap();
        assert!(tokens.values.is_none() && tokens.len > 40_000, "{name}");
        // Norms stay F32 in every quant.
        let norm = f
            .tensors
            .iter()
            .find(|t| t.name == "output_norm.weight")
            .unwrap();
        assert_eq!(norm.ggml_type, GgmlType::F32, "{name}");
    }
}
