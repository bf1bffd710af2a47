//! Corrupt, truncated and hostile files: every failure names the offset.

use super::{parse, parse_err};
use crate::write::GgufWriter;
use crate::{GgmlType, GgufError, MetaArray, MetaValue, ValueType};

/// A small file with metadata of several kinds, tensors and data.
fn sample() -> Vec<u8> {
    GgufWriter::new()
        .kv_str("general.architecture", "llama")
        .kv("llama.block_count", MetaValue::U32(2))
        .kv(
            "tokenizer.ggml.tokens",
            MetaValue::Array(MetaArray {
                elem_type: ValueType::String,
                len: 2,
                values: Some(vec![
                    MetaValue::String("<s>".into()),
                    MetaValue::String("a".into()),
                ]),
            }),
        )
        .tensor("token_embd.weight", &[32, 2], GgmlType::Q4_0)
        .tensor("output_norm.weight", &[32], GgmlType::F32)
        .to_bytes()
}

#[test]
fn sample_parses() {
    let f = parse(&sample()).unwrap();
    assert_eq!(f.tensors.len(), 2);
}

#[test]
fn every_truncation_fails_naming_an_offset_inside_the_cut() {
    let bytes = sample();
    for cut in 0..bytes.len() {
        match parse_err(&bytes[..cut]) {
            GgufError::Truncated {
                offset,
                needed,
                file_size,
                ..
            } => {
                assert_eq!(file_size, cut as u64);
                assert!(
                    offset <= cut as u64,
                    "cut {cut}: offset {offset} past the end"
                );
                assert!(
                    offset + needed > cut as u64,
                    "cut {cut}: {needed} bytes at {offset} fit"
                );
            }
            other => panic!("cut {cut}: expected Truncated, got {other}"),
        }
    }
}

#[test]
fn truncation_message_names_file_and_offset() {
    let bytes = sample();
    let msg = parse_err(&bytes[..30]).to_string();
    assert!(msg.starts_with("mem.gguf: truncated at offset "), "{msg}");
    assert!(msg.contains("file is 30 bytes"), "{msg}");
}

#[test]
fn bad_magic_is_not_gguf() {
    for magic in [&b"GGML"[..], b"\x89PNG", b"ggu"] {
        let mut bytes = sample();
        bytes[..magic.len()].copy_from_slice(magic);
        match parse_err(&bytes) {
            GgufError::NotGguf { found, .. } => assert_eq!(found, bytes[..4].to_vec()),
            other => panic!("expected NotGguf, got {other}"),
        }
    }
    assert!(matches!(parse_err(b"PK"), GgufError::NotGguf { .. }));
}

#[test]
fn unsupported_versions_are_rejected() {
    for (version, big_endian) in [
        (1, false),
        (4, false),
        (0, false),
        (1, true),
        (0xdead_beef, false),
    ] {
        let bytes = GgufWriter::new()
            .version(version)
            .big_endian(big_endian)
            .to_bytes();
        match parse_err(&bytes) {
            GgufError::UnsupportedVersion { version: v, .. } => assert_eq!(v, version),
            other => panic!("version {version}: got {other}"),
        }
    }
}

fn implausible(bytes: &[u8]) -> (&'static str, u64, u64) {
    match parse_err(bytes) {
        GgufError::ImplausibleCount {
            what,
            offset,
            count,
            ..
        } => (what, offset, count),
        other => panic!("expected ImplausibleCount, got {other}"),
    }
}

#[test]
fn absurd_counts_fail_before_allocating() {
    let (what, offset, count) = implausible(&GgufWriter::new().tensor_count(u64::MAX).to_bytes());
    assert_eq!((what, offset, count), ("tensor count", 8, u64::MAX));
    let (what, offset, _) = implausible(&GgufWriter::new().kv_count(1 << 40).to_bytes());
    assert_eq!((what, offset), ("metadata kv count", 16));
    let huge = MetaValue::Array(MetaArray {
        elem_type: ValueType::U8,
        len: u64::MAX,
        values: Some(vec![]),
    });
    let (what, offset, _) = implausible(&GgufWriter::new().kv("k", huge).to_bytes());
    // magic 4 + version 4 + counts 16 + key (8 + 1) + type 4 + elem type 4
    assert_eq!((what, offset), ("array length", 41));
}

#[test]
fn counts_larger_than_the_file_are_truncation() {
    let bytes = GgufWriter::new().tensor_count(1000).to_bytes();
    match parse_err(&bytes) {
        GgufError::Truncated { offset, needed, .. } => assert_eq!((offset, needed), (16, 24_000)),
        other => panic!("got {other}"),
    }
}

#[test]
fn overlong_strings_fail_with_their_offset() {
    let mut bytes = GgufWriter::new().kv_str("k", "v").to_bytes();
    // The key's length prefix sits right after the 24-byte preamble.
    bytes[24..32].copy_from_slice(&u64::MAX.to_le_bytes());
    match parse_err(&bytes) {
        GgufError::StringTooLong {
            offset, len, limit, ..
        } => {
            assert_eq!((offset, len, limit), (24, u64::MAX, crate::MAX_KEY_LEN));
        }
        other => panic!("got {other}"),
    }
    let long_key = "k".repeat(70_000);
    assert!(matches!(
        parse_err(&GgufWriter::new().kv_str(&long_key, "v").to_bytes()),
        GgufError::StringTooLong {
            offset: 24,
            len: 70_000,
            ..
        }
    ));
}

#[test]
fn a_string_longer_than_the_file_is_truncation_not_an_allocation() {
    let mut bytes = GgufWriter::new().kv_str("k", "v").to_bytes();
    // Value length prefix: preamble 24 + key 9 + type 4.
    bytes[37..45].copy_from_slice(&(60u64 << 20).to_le_bytes());
    match parse_err(&bytes) {
        GgufError::Truncated { offset, needed, .. } => assert_eq!((offset, needed), (45, 60 << 20)),
        other => panic!("got {other}"),
    }
}

#[test]
fn unknown_value_type_names_its_offset() {
    let mut bytes = GgufWriter::new().kv("k", MetaValue::U8(1)).to_bytes();
    bytes[33..37].copy_from_slice(&13u32.to_le_bytes());
    match parse_err(&bytes) {
        GgufError::UnknownValueType {
            offset, type_id, ..
        } => assert_eq!((offset, type_id), (33, 13)),
        other => panic!("got {other}"),
    }
}

fn invalid_reason(bytes: &[u8]) -> (u64, String) {
    match parse_err(bytes) {
        GgufError::Invalid { offset, reason, .. } => (offset, reason),
        other => panic!("expected Invalid, got {other}"),
    }
}

#[test]
fn structural_rules_are_enforced() {
    let dup = GgufWriter::new()
        .kv("k", MetaValue::U8(1))
        .kv("k", MetaValue::U8(2));
    let (offset, reason) = invalid_reason(&dup.to_bytes());
    assert_eq!(offset, 24 + 14);
    assert!(reason.contains("duplicate metadata key"), "{reason}");

    for bad in [MetaValue::U32(0), MetaValue::U32(48), MetaValue::U64(32)] {
        let w = GgufWriter::new().kv("general.alignment", bad);
        assert!(invalid_reason(&w.to_bytes())
            .1
            .contains("general.alignment"));
    }

    let dup_tensor =
        GgufWriter::new()
            .tensor("t", &[4], GgmlType::F32)
            .tensor("t", &[4], GgmlType::F32);
    assert!(invalid_reason(&dup_tensor.to_bytes())
        .1
        .contains("duplicate tensor name"));

    let partial_block = GgufWriter::new().tensor("t", &[48, 2], GgmlType::Q4_0);
    assert!(invalid_reason(&partial_block.to_bytes())
        .1
        .contains("block size 32"));

    let overflow = GgufWriter::new().tensor("t", &[1 << 32, 1 << 32], GgmlType(99));
    assert!(invalid_reason(&overflow.to_bytes()).1.contains("i64::MAX"));
}

#[test]
fn too_many_dims_and_deep_nesting_are_rejected() {
    let five = GgufWriter::new().tensor("t", &[1, 1, 1, 1, 1], GgmlType::F32);
    assert_eq!(implausible(&five.to_bytes()).0, "tensor n_dims");

    let mut nested = MetaValue::U8(1);
    for _ in 0..=crate::MAX_ARRAY_DEPTH {
        nested = MetaValue::Array(MetaArray {
            elem_type: nested.value_type(),
            len: 1,
            values: Some(vec![nested]),
        });
    }
    let (_, reason) = invalid_reason(&GgufWriter::new().kv("k", nested).to_bytes());
    assert!(reason.contains("nested deeper"), "{reason}");
}

#[test]
fn misaligned_tensor_offset_is_rejected() {
    let mut bytes = GgufWriter::new()
        .tensor("t", &[8], GgmlType::F32)
        .to_bytes();
    // Tensor info: preamble 24 + name (8 + 1) + n_dims 4 + dim 8 + type 4 = offset at 49.
    bytes[49..57].copy_from_slice(&4u64.to_le_bytes());
    let (offset, reason) = invalid_reason(&bytes);
    assert_eq!(offset, 24);
    assert!(
        reason.contains("not a multiple of the alignment 32"),
        "{reason}"
    );
}

#[test]
fn missing_tensor_data_is_truncation_at_the_end_of_file() {
    let bytes = GgufWriter::new()
        .tensor("t", &[1024], GgmlType::F32)
        .with_data(false)
        .to_bytes();
    match parse_err(&bytes) {
        GgufError::Truncated {
            offset,
            needed,
            what,
            ..
        } => {
            assert_eq!((offset, needed), (bytes.len() as u64, 4096));
            assert!(what.contains("\"t\""), "{what}");
        }
        other => panic!("got {other}"),
    }
}
