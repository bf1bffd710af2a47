//! Known answers for the bytes one decoded token reads.

use super::parse;
use crate::write::GgufWriter;
use crate::{DecodeBytes, DecodeBytesError, GgmlType, MetaArray, MetaValue, ValueType};

fn decode_bytes(w: &GgufWriter) -> Result<DecodeBytes, DecodeBytesError> {
    DecodeBytes::from_gguf(&parse(&w.to_bytes()).expect("parses"))
}

/// A two-layer "llama" with vocab 1000, n_embd 64, 4 heads, 2 KV heads.
fn dense(tied: bool) -> GgufWriter {
    dense_with(tied, MetaValue::U32(2))
}

fn dense_with(tied: bool, kv_heads: MetaValue) -> GgufWriter {
    let mut w = GgufWriter::new()
        .kv_str("general.architecture", "llama")
        .kv("llama.block_count", MetaValue::U32(2))
        .kv("llama.embedding_length", MetaValue::U32(64))
        .kv("llama.attention.head_count", MetaValue::U32(4))
        .kv("llama.attention.head_count_kv", kv_heads)
        // 1000 × 64 Q8_0: 64 000 elements = 2000 blocks × 34 B = 68 000 B.
        .tensor("token_embd.weight", &[64, 1000], GgmlType::Q8_0)
        .tensor("output_norm.weight", &[64], GgmlType::F32);
    for l in 0..2 {
        w = w
            // 64 × 64 Q4_0: 4096 elements = 128 blocks × 18 B = 2304 B.
            .tensor(&format!("blk.{l}.attn_q.weight"), &[64, 64], GgmlType::Q4_0)
            // 64 × 128 F16 = 16 384 B.
            .tensor(&format!("blk.{l}.ffn_up.weight"), &[64, 128], GgmlType::F16)
            .tensor(&format!("blk.{l}.attn_norm.weight"), &[64], GgmlType::F32);
    }
    if !tied {
        // 64 × 1000 F16 = 128 000 B.
        w = w.tensor("output.weight", &[64, 1000], GgmlType::F16);
    }
    w
}

const LAYER: u64 = 2304 + 16_384 + 256;
const EMBD: u64 = 68_000;

#[test]
fn tied_output_reads_the_whole_embedding_and_one_row_for_the_lookup() {
    let b = decode_bytes(&dense(true)).unwrap();
    assert!(b.output_tied);
    assert_eq!(b.dense_bytes, 2 * LAYER + 256);
    assert_eq!(b.lookup_bytes, EMBD / 1000);
    assert_eq!(b.output_bytes, EMBD);
    assert_eq!(b.weights_bytes, 2 * LAYER + 256 + 68 + EMBD);
    assert_eq!(b.total_weight_bytes, 2 * LAYER + 256 + EMBD);
    assert_eq!(b.expert_bytes_total, 0);
    assert_eq!(b.experts_count, None);
}

#[test]
fn untied_output_reads_output_weight_and_only_a_row_of_the_embedding() {
    let b = decode_bytes(&dense(false)).unwrap();
    assert!(!b.output_tied);
    assert_eq!(b.output_bytes, 128_000);
    assert_eq!(b.dense_bytes, 2 * LAYER + 256);
    assert_eq!(b.weights_bytes, 2 * LAYER + 256 + 68 + 128_000);
    assert_eq!(b.total_weight_bytes, 2 * LAYER + 256 + EMBD + 128_000);
}

#[test]
fn kv_bytes_follow_layers_kv_heads_and_cache_type() {
    let b = decode_bytes(&dense(true)).unwrap();
    let kv = b.kv.clone().unwrap();
    // head_dim = 64 / 4 = 16; 2 KV heads × 16 × 2 layers = 64 elements each.
    assert_eq!(kv.k_elements_per_position, 64);
    assert_eq!(kv.v_elements_per_position, 64);
    let f16 = GgmlType::F16;
    assert_eq!(b.kv_bytes(f16, f16), Some(256.0));
    let q8 = GgmlType::Q8_0;
    assert_eq!(b.kv_bytes(q8, q8), Some(128.0 * 34.0 / 32.0));
    assert_eq!(b.kv_bytes(q8, f16), Some(64.0 * 34.0 / 32.0 + 128.0));
    let q4 = GgmlType::Q4_0;
    assert_eq!(b.kv_bytes(q4, q4), Some(128.0 * 18.0 / 32.0));
    let at_100 = b.bytes_per_token(100.0, f16, f16);
    assert_eq!(at_100, b.weights_bytes as f64 + 25_600.0);
    assert_eq!(b.kv_bytes(GgmlType(999), f16), None);
    assert_eq!(
        b.bytes_per_token(10.0, GgmlType(999), f16),
        b.weights_bytes as f64
    );
}

#[test]
fn explicit_key_and_value_lengths_and_per_layer_kv_heads() {
    let heads = MetaValue::Array(MetaArray {
        elem_type: ValueType::U32,
        len: 2,
        values: Some(vec![MetaValue::U32(1), MetaValue::U32(3)]),
    });
    let w = dense_with(true, heads)
        .kv("llama.attention.key_length", MetaValue::U32(32))
        .kv("llama.attention.value_length", MetaValue::U32(8));
    let kv = decode_bytes(&w).unwrap().kv.unwrap();
    assert_eq!(kv.k_elements_per_position, 4 * 32);
    assert_eq!(kv.v_elements_per_position, 4 * 8);
}

#[test]
fn mla_models_leave_the_kv_term_out() {
    let w = dense(true).kv("llama.attention.kv_lora_rank", MetaValue::U32(512));
    let b = decode_bytes(&w).unwrap();
    assert_eq!(b.kv, None);
    assert_eq!(
        b.bytes_per_token(1000.0, GgmlType::F16, GgmlType::F16),
        b.weights_bytes as f64
    );
}

/// A MoE with 8 experts, 2 used, one layer: expert tensors hold all 8.
fn moe(count: Option<u32>, used: Option<u32>) -> GgufWriter {
    let mut w = dense(true)
        // 64 × 128 × 8 F16 = 131 072 B per tensor, three of them.
        .tensor("blk.0.ffn_gate_exps.weight", &[64, 128, 8], GgmlType::F16)
        .tensor("blk.0.ffn_up_exps.weight", &[64, 128, 8], GgmlType::F16)
        .tensor("blk.0.ffn_down_exps.weight", &[128, 64, 8], GgmlType::F16)
        // Router and shared expert are dense: 64 × 8 F32 = 2048 B, 64 × 128 F16.
        .tensor("blk.0.ffn_gate_inp.weight", &[64, 8], GgmlType::F32)
        .tensor("blk.0.ffn_up_shexp.weight", &[64, 128], GgmlType::F16);
    if let Some(c) = count {
        w = w.kv("llama.expert_count", MetaValue::U32(c));
    }
    if let Some(u) = used {
        w = w.kv("llama.expert_used_count", MetaValue::U32(u));
    }
    w
}

#[test]
fn moe_reads_only_the_used_share_of_the_expert_tensors() {
    let b = decode_bytes(&moe(Some(8), Some(2))).unwrap();
    assert_eq!(b.expert_bytes_total, 3 * 131_072);
    assert_eq!(b.expert_bytes_read, 3 * 131_072 / 4);
    assert_eq!((b.experts_count, b.experts_used), (Some(8), Some(2)));
    let dense_part = 2 * LAYER + 256 + 2048 + 16_384;
    assert_eq!(b.dense_bytes, dense_part);
    assert_eq!(b.weights_bytes, dense_part + 3 * 131_072 / 4 + 68 + EMBD);
    assert_eq!(b.total_weight_bytes, dense_part + 3 * 131_072 + EMBD);
}

#[test]
fn expert_tensors_without_usable_counts_are_an_error() {
    for (count, used, says) in [
        (None, Some(2), "missing"),
        (Some(8), None, "missing"),
        (Some(8), Some(9), "uses 9 of 8"),
        (Some(0), Some(0), "uses 0 of 0"),
    ] {
        let err = decode_bytes(&moe(count, used)).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("blk.0.ffn_gate_exps.weight"), "{text}");
        assert!(text.contains(says), "{text}");
    }
}

#[test]
fn a_tensor_of_unknown_type_is_an_error_naming_it() {
    let w = dense(true).tensor("blk.0.odd.weight", &[64], GgmlType(77));
    assert_eq!(
        decode_bytes(&w).unwrap_err(),
        DecodeBytesError::UnknownTensorType {
            tensor: "blk.0.odd.weight".into(),
            ggml_type: "ggml_type#77".into(),
        }
    );
}

#[test]
fn cache_type_names_parse_case_insensitively() {
    assert_eq!(GgmlType::from_name("q8_0"), Some(GgmlType::Q8_0));
    assert_eq!(GgmlType::from_name("F16"), Some(GgmlType::F16));
    assert_eq!(GgmlType::from_name("iq4_nl"), Some(GgmlType(20)));
    assert_eq!(GgmlType::from_name("q9_9"), None);
}
