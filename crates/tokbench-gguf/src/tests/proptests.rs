//! Arbitrary and mutated bytes never panic (the allocation bound for lying
//! length fields is measured in `tests/alloc_bound.rs`).

use proptest::prelude::*;

use super::parse;
use crate::write::GgufWriter;
use crate::{GgmlType, MetaValue};

fn valid() -> Vec<u8> {
    GgufWriter::new()
        .kv_str("general.architecture", "llama")
        .kv("general.file_type", MetaValue::U32(15))
        .tensor("a", &[32, 2], GgmlType::Q8_0)
        .tensor("b", &[32], GgmlType::F32)
        .to_bytes()
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse(&bytes);
    }

    #[test]
    fn arbitrary_bytes_after_the_magic_never_panic(
        tail in proptest::collection::vec(any::<u8>(), 0..512),
        version in 0u32..5,
    ) {
        let mut bytes = b"GGUF".to_vec();
        bytes.extend_from_slice(&version.to_le_bytes());
        bytes.extend_from_slice(&tail);
        let _ = parse(&bytes);
    }

    #[test]
    fn mutated_valid_files_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = valid();
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        let keep = cut.index(bytes.len() + 1);
        let _ = parse(&bytes[..keep]);
    }
}
