//! Model identity: quant mapping, parameter counts and labels, sha cache.

use std::fs;
use std::io::Cursor;
use std::path::Path;

use crate::write::GgufWriter;
use crate::{
    dominant_tensor_type, identify, params_label, sha256_file, CacheStatus, GgmlType, GgufFile,
    Hashing, MetaArray, MetaValue, ModelIdentity, QuantSource, Sha256Cache, ValueType,
};

fn identity_of(w: &GgufWriter) -> ModelIdentity {
    let bytes = w.to_bytes();
    let f = GgufFile::from_reader(Cursor::new(&bytes), bytes.len() as u64, Path::new("m.gguf"))
        .unwrap();
    ModelIdentity::from_gguf(&f, "m.gguf".to_owned(), None)
}

/// A tiny two-layer "model" with the usual mix of types.
fn model(arch: &str) -> GgufWriter {
    GgufWriter::new()
        .kv_str("general.architecture", arch)
        .tensor("token_embd.weight", &[256, 8], GgmlType::Q6_K)
        .tensor("blk.0.attn_norm.weight", &[256], GgmlType::F32)
        .tensor("blk.0.attn_q.weight", &[256, 4], GgmlType::Q4_K)
        .tensor("blk.0.ffn_up.weight", &[256, 4], GgmlType::Q4_K)
        .tensor("blk.1.attn_norm.weight", &[256], GgmlType::F32)
        .tensor("blk.1.attn_q.weight", &[256, 4], GgmlType::Q4_K)
        .tensor("output_norm.weight", &[256], GgmlType::F32)
}

#[test]
fn file_type_maps_to_the_llama_cpp_quant_name() {
    for (ft, quant) in [
        (15, "Q4_K_M"),
        (3, "Q4_1"),
        (7, "Q8_0"),
        (32, "BF16"),
        (99, "file_type#99"),
    ] {
        let id = identity_of(&model("llama").kv("general.file_type", MetaValue::U32(ft)));
        assert_eq!((id.quant.as_str(), id.file_type), (quant, Some(ft)));
        assert_eq!(id.quant_source, QuantSource::FileType);
    }
}

#[test]
fn without_file_type_the_dominant_matrix_type_is_the_quant() {
    let id = identity_of(&model("llama"));
    assert_eq!(
        id.quant, "Q4_K",
        "3 Q4_K matrices beat 1 Q6_K and 3 1-D F32 norms"
    );
    assert_eq!(id.quant_source, QuantSource::DominantTensorType);
    assert_eq!(id.file_type, None);
    assert_eq!(identity_of(&GgufWriter::new()).quant, "unknown");
}

#[test]
fn dominant_type_breaks_ties_by_elements_and_falls_back_to_vectors() {
    let f = |w: GgufWriter| {
        let bytes = w.to_bytes();
        GgufFile::from_reader(Cursor::new(&bytes), bytes.len() as u64, Path::new("x")).unwrap()
    };
    let tie = f(GgufWriter::new()
        .tensor("a", &[32, 1], GgmlType::Q8_0)
        .tensor("b", &[32, 9], GgmlType::Q4_0));
    assert_eq!(dominant_tensor_type(&tie.tensors), Some(GgmlType::Q4_0));
    let vectors = f(GgufWriter::new().tensor("a", &[4], GgmlType::F16));
    assert_eq!(dominant_tensor_type(&vectors.tensors), Some(GgmlType::F16));
    assert_eq!(dominant_tensor_type(&[]), None);
}

#[test]
fn parameter_count_is_the_sum_of_tensor_sizes() {
    let id = identity_of(&model("llama"));
    assert_eq!(id.parameter_count, 256 * 8 + 3 * 256 + 3 * 256 * 4);
    assert_eq!(id.params, "5.9K");
    assert_eq!(id.tensor_count, 7);
}

#[test]
fn params_labels_match_gguf_py_rounding() {
    let cases = [
        (0, "0"),
        (999, "1.0K"),
        (1_500, "1.5K"),
        (134_515_008, "135M"),
        (268_098_176, "268M"),
        (1_000_000_000, "1000M"),
        (1_235_814_400, "1.2B"),
        (7_615_616_512, "7.6B"),
        (13_015_864_320, "13B"),
        (70_553_706_496, "71B"),
        (1_600_000_000_000, "1.6T"),
    ];
    for (n, label) in cases {
        assert_eq!(params_label(n), label, "{n}");
    }
}

fn str_array(n: usize) -> MetaValue {
    MetaValue::Array(MetaArray {
        elem_type: ValueType::String,
        len: n as u64,
        values: None,
    })
}

#[test]
fn identity_collects_general_arch_and_tokenizer_keys() {
    let id = identity_of(
        &model("qwen3moe")
            .kv_str("general.name", "Qwen3 30B A3B")
            .kv_str("general.basename", "Qwen3")
            .kv_str("general.size_label", "30B-A3B")
            .kv_str("general.finetune", "Instruct")
            .kv("general.file_type", MetaValue::U32(15))
            .kv("qwen3moe.context_length", MetaValue::U32(40_960))
            .kv("qwen3moe.block_count", MetaValue::U32(48))
            .kv("qwen3moe.embedding_length", MetaValue::U64(2048))
            .kv("qwen3moe.expert_count", MetaValue::U32(128))
            .kv("qwen3moe.expert_used_count", MetaValue::U32(8))
            .kv("llama.block_count", MetaValue::U32(1))
            .kv_str("tokenizer.ggml.model", "gpt2")
            .kv("tokenizer.ggml.tokens", str_array(151_936)),
    );
    assert_eq!(id.architecture.as_deref(), Some("qwen3moe"));
    assert_eq!(id.name.as_deref(), Some("Qwen3 30B A3B"));
    assert_eq!(id.basename.as_deref(), Some("Qwen3"));
    assert_eq!(id.size_label.as_deref(), Some("30B-A3B"));
    assert_eq!(id.finetune.as_deref(), Some("Instruct"));
    assert_eq!(id.context_length, Some(40_960));
    assert_eq!(
        id.block_count,
        Some(48),
        "only keys of the file's own architecture"
    );
    assert_eq!(id.embedding_length, Some(2048));
    assert_eq!(
        (id.expert_count, id.expert_used_count),
        (Some(128), Some(8))
    );
    assert_eq!(id.tokenizer_model.as_deref(), Some("gpt2"));
    assert_eq!(id.vocab_size, Some(151_936));
    assert_eq!(id.gguf_version, 3);
    let json = serde_json::to_string(&id).unwrap();
    assert_eq!(serde_json::from_str::<ModelIdentity>(&json).unwrap(), id);
}

#[test]
fn missing_keys_stay_empty_and_vocab_falls_back_to_arch_key() {
    let id = identity_of(&model("llama").kv("llama.vocab_size", MetaValue::U32(32_000)));
    assert_eq!(id.vocab_size, Some(32_000));
    assert_eq!(
        (id.name.clone(), id.expert_count, id.context_length),
        (None, None, None)
    );
    let json = serde_json::to_value(&id).unwrap();
    assert!(
        json.get("expert_count").is_none(),
        "None fields are left out: {json}"
    );
    assert!(json.get("sha256").is_none());
}

#[test]
fn sha256_matches_known_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("abc");
    fs::write(&p, b"abc").unwrap();
    assert_eq!(
        sha256_file(&p).unwrap(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    fs::write(&p, b"").unwrap();
    assert_eq!(
        sha256_file(&p).unwrap(),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn sha_cache_hits_until_the_file_changes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.gguf");
    fs::write(&file, model("llama").to_bytes()).unwrap();
    let cache_path = dir.path().join("cache/sha256-cache.json");

    let mut cache = Sha256Cache::load(&cache_path).unwrap();
    let (first, status) = cache.sha256(&file).unwrap();
    assert_eq!(status, CacheStatus::Miss);
    assert_eq!(first, sha256_file(&file).unwrap());
    assert_eq!(
        cache.sha256(&file).unwrap(),
        (first.clone(), CacheStatus::Hit)
    );
    cache.save().unwrap();

    // A new process (fresh load) hits, also through another path spelling.
    let mut cache = Sha256Cache::load(&cache_path).unwrap();
    let other_spelling = dir.path().join("cache/../m.gguf");
    assert_eq!(
        cache.sha256(&other_spelling).unwrap(),
        (first.clone(), CacheStatus::Hit)
    );

    // The cache trusts size+mtime: prove it by planting a fake digest...
    let text = fs::read_to_string(&cache_path)
        .unwrap()
        .replace(&first, "feed");
    fs::write(&cache_path, text).unwrap();
    let mut cache = Sha256Cache::load(&cache_path).unwrap();
    assert_eq!(
        cache.sha256(&file).unwrap(),
        ("feed".to_owned(), CacheStatus::Hit)
    );

    // ...which a changed file (new size) no longer matches.
    fs::write(&file, model("gemma3").to_bytes()).unwrap();
    let (second, status) = cache.sha256(&file).unwrap();
    assert_eq!(status, CacheStatus::Miss);
    assert_eq!(second, sha256_file(&file).unwrap());
}

#[test]
fn sha_cache_survives_garbage_and_drops_deleted_files() {
    let dir = tempfile::tempdir().unwrap();
    let cache_path = dir.path().join("sha256-cache.json");
    fs::write(&cache_path, "not json").unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    fs::write(&a, b"a").unwrap();
    fs::write(&b, b"b").unwrap();
    let mut cache = Sha256Cache::load(&cache_path).unwrap();
    cache.sha256(&a).unwrap();
    cache.sha256(&b).unwrap();
    fs::remove_file(&a).unwrap();
    cache.save().unwrap();
    let saved = fs::read_to_string(&cache_path).unwrap();
    assert!(
        !saved.contains("\"a\"") && saved.contains(&*b.canonicalize().unwrap().to_string_lossy())
    );
    assert_eq!(cache.path(), cache_path);
}

#[test]
fn identify_reads_a_file_with_and_without_hash() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tiny.gguf");
    fs::write(&file, model("llama").to_bytes()).unwrap();
    let id = identify(&file, Hashing::Skip).unwrap();
    assert_eq!(
        (id.file_name.as_str(), id.sha256.as_deref()),
        ("tiny.gguf", None)
    );
    assert_eq!(id.file_size, fs::metadata(&file).unwrap().len());
    let id = identify(&file, Hashing::Uncached).unwrap();
    assert_eq!(id.sha256, Some(sha256_file(&file).unwrap()));
    let mut cache = Sha256Cache::load(&dir.path().join("c.json")).unwrap();
    assert_eq!(identify(&file, Hashing::Cached(&mut cache)).unwrap(), id);
    let missing = identify(&dir.path().join("nope.gguf"), Hashing::Skip).unwrap_err();
    assert!(missing.to_string().contains("nope.gguf: open"), "{missing}");
}
