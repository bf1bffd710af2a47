//! Well-formed files: every value type, arrays, tensor infos, byte orders.

use super::parse;
use crate::write::GgufWriter;
use crate::{GgmlType, MetaArray, MetaValue, ValueType, MAX_KEPT_ARRAY_LEN};

fn array(elem_type: ValueType, values: Vec<MetaValue>) -> MetaValue {
    MetaValue::Array(MetaArray {
        elem_type,
        len: values.len() as u64,
        values: Some(values),
    })
}

/// One pair of every spec type (0..=12), nested arrays included.
fn every_type() -> Vec<(&'static str, MetaValue)> {
    vec![
        ("t.u8", MetaValue::U8(200)),
        ("t.i8", MetaValue::I8(-100)),
        ("t.u16", MetaValue::U16(60_000)),
        ("t.i16", MetaValue::I16(-30_000)),
        ("t.u32", MetaValue::U32(4_000_000_000)),
        ("t.i32", MetaValue::I32(-2_000_000_000)),
        ("t.f32", MetaValue::F32(1.5)),
        ("t.bool_true", MetaValue::Bool(true)),
        ("t.bool_false", MetaValue::Bool(false)),
        ("t.string", MetaValue::String("héllo ✓".to_owned())),
        ("t.empty", MetaValue::String(String::new())),
        ("t.u64", MetaValue::U64(u64::MAX)),
        ("t.i64", MetaValue::I64(i64::MIN)),
        ("t.f64", MetaValue::F64(-2.25e300)),
        (
            "t.array_i32",
            array(ValueType::I32, vec![MetaValue::I32(1), MetaValue::I32(-2)]),
        ),
        (
            "t.array_str",
            array(
                ValueType::String,
                vec![
                    MetaValue::String("a".into()),
                    MetaValue::String("bc".into()),
                ],
            ),
        ),
        (
            "t.array_nested",
            array(
                ValueType::Array,
                vec![
                    array(ValueType::U8, vec![MetaValue::U8(7)]),
                    array(ValueType::U8, vec![]),
                ],
            ),
        ),
        ("t.array_empty", array(ValueType::F64, vec![])),
    ]
}

fn check_every_type(big_endian: bool) {
    let mut w = GgufWriter::new().big_endian(big_endian);
    for (k, v) in every_type() {
        w = w.kv(k, v);
    }
    let f = parse(&w.to_bytes()).unwrap();
    assert_eq!(f.big_endian, big_endian);
    assert_eq!(f.version, 3);
    assert_eq!(f.metadata.len(), every_type().len());
    for (k, v) in every_type() {
        assert_eq!(f.get(k), Some(&v), "key {k}");
    }
}

#[test]
fn every_value_type_round_trips_little_endian() {
    check_every_type(false);
}

#[test]
fn every_value_type_round_trips_big_endian() {
    check_every_type(true);
}

#[test]
fn accessors_convert_integers_and_strings() {
    let f = parse(
        &GgufWriter::new()
            .kv("a", MetaValue::U16(7))
            .kv("b", MetaValue::I32(-1))
            .kv("c", MetaValue::I64(5))
            .kv_str("general.architecture", "llama")
            .to_bytes(),
    )
    .unwrap();
    assert_eq!(f.get_u64("a"), Some(7));
    assert_eq!(f.get_u64("b"), None, "negative");
    assert_eq!(f.get_u64("c"), Some(5));
    assert_eq!(f.get_str("a"), None);
    assert_eq!(f.architecture(), Some("llama"));
    assert_eq!(f.get("missing"), None);
}

#[test]
fn huge_arrays_are_skipped_but_counted_and_later_keys_still_read() {
    let tokens = MetaValue::Array(MetaArray {
        elem_type: ValueType::String,
        len: 300_000,
        values: None, // written as 300k empty strings
    });
    let scores = MetaValue::Array(MetaArray {
        elem_type: ValueType::F32,
        len: 300_000,
        values: None,
    });
    let kept: Vec<MetaValue> = (0..MAX_KEPT_ARRAY_LEN as u32).map(MetaValue::U32).collect();
    let f = parse(
        &GgufWriter::new()
            .kv("tokenizer.ggml.tokens", tokens)
            .kv("tokenizer.ggml.scores", scores)
            .kv("per_layer", array(ValueType::U32, kept.clone()))
            .kv_str("after", "still here")
            .to_bytes(),
    )
    .unwrap();
    let t = f
        .get("tokenizer.ggml.tokens")
        .and_then(MetaValue::as_array)
        .unwrap();
    assert_eq!(
        (t.elem_type, t.len, t.values.is_none()),
        (ValueType::String, 300_000, true)
    );
    let s = f
        .get("tokenizer.ggml.scores")
        .and_then(MetaValue::as_array)
        .unwrap();
    assert_eq!((s.len, s.values.is_none()), (300_000, true));
    let p = f.get("per_layer").and_then(MetaValue::as_array).unwrap();
    assert_eq!(
        p.values.as_deref(),
        Some(&kept[..]),
        "arrays up to the limit are kept"
    );
    assert_eq!(f.get_str("after"), Some("still here"));
}

#[test]
fn invalid_utf8_is_replaced_not_rejected() {
    let mut bytes = GgufWriter::new().kv_str("k", "ab").to_bytes();
    let pos = bytes.windows(2).position(|w| w == b"ab").unwrap();
    bytes[pos] = 0xff;
    let f = parse(&bytes).unwrap();
    assert_eq!(f.get_str("k"), Some("\u{fffd}b"));
}

#[test]
fn tensor_infos_dims_types_offsets_and_data_offset() {
    let bytes = GgufWriter::new()
        .kv_str("general.architecture", "llama")
        .tensor("token_embd.weight", &[64, 10], GgmlType::Q4_0)
        .tensor("output_norm.weight", &[64], GgmlType::F32)
        .tensor("blk.0.attn_q.weight", &[32, 4, 2], GgmlType::Q8_0)
        .to_bytes();
    let f = parse(&bytes).unwrap();
    assert_eq!(f.alignment, 32);
    assert_eq!(f.data_offset % 32, 0);
    let names: Vec<&str> = f.tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "token_embd.weight",
            "output_norm.weight",
            "blk.0.attn_q.weight"
        ]
    );
    assert_eq!(f.tensors[0].dims, [64, 10]);
    assert_eq!(f.tensors[1].ggml_type, GgmlType::F32);
    assert_eq!(f.tensors[2].n_elements(), 256);
    assert_eq!(f.tensors[2].n_bytes(), Some(8 * 34));
    // Offsets follow each other, aligned: 64*10 Q4_0 = 360 bytes -> 384.
    assert_eq!(f.tensors[0].offset, 0);
    assert_eq!(f.tensors[1].offset, 384);
    assert_eq!(f.tensors[2].offset, 384 + 256);
    assert_eq!(f.parameter_count(), 640 + 64 + 256);
    assert_eq!(f.file_size, bytes.len() as u64);
    assert_eq!(f.data_offset + 384 + 256 + 272, f.file_size);
}

#[test]
fn custom_alignment_is_honoured() {
    let f = parse(
        &GgufWriter::new()
            .kv("general.alignment", MetaValue::U32(256))
            .tensor("a", &[3], GgmlType::F32)
            .tensor("b", &[3], GgmlType::F32)
            .to_bytes(),
    )
    .unwrap();
    assert_eq!(f.alignment, 256);
    assert_eq!(f.data_offset % 256, 0);
    assert_eq!(f.tensors[1].offset, 256);
}

#[test]
fn version_2_is_read_and_tensorless_files_are_fine() {
    let f = parse(&GgufWriter::new().version(2).to_bytes()).unwrap();
    assert_eq!((f.version, f.tensors.len(), f.metadata.len()), (2, 0, 0));
    assert_eq!(f.parameter_count(), 0);
}

#[test]
fn unknown_tensor_types_are_kept_without_size() {
    let f = parse(
        &GgufWriter::new()
            .tensor("x", &[5, 5], GgmlType(77))
            .to_bytes(),
    )
    .unwrap();
    assert_eq!(f.tensors[0].ggml_type, GgmlType(77));
    assert_eq!(f.tensors[0].n_bytes(), None);
    assert_eq!(f.parameter_count(), 25);
}
