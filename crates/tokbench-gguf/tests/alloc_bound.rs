//! The no-wild-allocation promise of the reader, measured: files whose
//! length fields lie (a count of 2^60, a string of 2^40 bytes, a tensor
//! count a huge file could hold) fail to parse, and no single allocation
//! nor the peak of live memory while parsing grows past a small bound.
//!
//! A counting global allocator sees every allocation of this binary, so it
//! holds one test only (no other test runs alongside to be counted).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Cursor;
use std::path::Path;

use tokbench_gguf::{GgufError, GgufFile};
use tokbench_testenv::{measure, AllocStats, CountingAlloc};

#[global_allocator]
static COUNTING: CountingAlloc = CountingAlloc;

/// What any lying header may cost: far below what its fields announce.
const BOUND: usize = 128 << 10;

/// `GgufFile::open` reads through a 1 MiB buffer, allowed on top.
const READ_BUFFER: usize = 1 << 20;

/// Header bytes: magic, version 3, tensor and metadata counts.
fn header(tensors: u64, kvs: u64) -> Vec<u8> {
    let mut b = b"GGUF".to_vec();
    b.extend_from_slice(&3u32.to_le_bytes());
    b.extend_from_slice(&tensors.to_le_bytes());
    b.extend_from_slice(&kvs.to_le_bytes());
    b
}

/// `bytes` followed by little-endian numbers of 4 or 8 bytes.
fn with(mut bytes: Vec<u8>, fields: &[Field]) -> Vec<u8> {
    for f in fields {
        match *f {
            Field::U32(v) => bytes.extend_from_slice(&v.to_le_bytes()),
            Field::U64(v) => bytes.extend_from_slice(&v.to_le_bytes()),
            Field::Str(s) => {
                bytes.extend_from_slice(&(s.len() as u64).to_le_bytes());
                bytes.extend_from_slice(s.as_bytes());
            }
        }
    }
    bytes
}

#[derive(Clone, Copy)]
enum Field {
    U32(u32),
    U64(u64),
    Str(&'static str),
}
use Field::{Str, U32, U64};

const STRING: u32 = 8;
const ARRAY: u32 = 9;

/// The expected kind of error.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Count,
    TooLong,
    Truncated,
    Invalid,
}

fn kind(e: &GgufError) -> Kind {
    match e {
        GgufError::ImplausibleCount { .. } => Kind::Count,
        GgufError::StringTooLong { .. } => Kind::TooLong,
        GgufError::Truncated { .. } => Kind::Truncated,
        GgufError::Invalid { .. } => Kind::Invalid,
        other => panic!("unexpected error {other}"),
    }
}

/// Lying files, the file size the reader is told (`None`: the real one,
/// after 64 more zero bytes), and the error each must give.
fn cases() -> Vec<(&'static str, Vec<u8>, Option<u64>, Kind)> {
    const TIB: u64 = 1 << 40;
    let one_kv = |fields: &[Field]| with(header(0, 1), fields);
    vec![
        ("tensor count 2^60", header(1 << 60, 0), None, Kind::Count),
        ("metadata count 2^60", header(0, 1 << 60), None, Kind::Count),
        (
            "key length 2^40",
            one_kv(&[U64(1 << 40)]),
            None,
            Kind::TooLong,
        ),
        (
            "string value length 2^40",
            one_kv(&[Str("k"), U32(STRING), U64(1 << 40)]),
            None,
            Kind::TooLong,
        ),
        (
            "array count 2^60",
            one_kv(&[Str("k"), U32(ARRAY), U32(0), U64(1 << 60)]),
            None,
            Kind::Count,
        ),
        (
            "array of 2^32 strings",
            one_kv(&[Str("k"), U32(ARRAY), U32(STRING), U64(1 << 32)]),
            None,
            Kind::Truncated,
        ),
        (
            "tensor name length 2^40",
            with(header(1, 0), &[U64(1 << 40)]),
            None,
            Kind::TooLong,
        ),
        // Told the file holds 1 TiB (a huge model, or one cut while being
        // read): every count below fits the size, the bytes are not there.
        (
            "tensor count 2^24 of 1 TiB",
            header(1 << 24, 0),
            Some(TIB),
            Kind::Truncated,
        ),
        (
            "metadata count 2^24 of 1 TiB",
            header(0, 1 << 24),
            Some(TIB),
            Kind::Truncated,
        ),
        (
            "64 MiB string value of 1 TiB",
            one_kv(&[Str("k"), U32(STRING), U64((64 << 20) - 1)]),
            Some(TIB),
            Kind::Truncated,
        ),
        (
            "1024 strings of 64 MiB of 1 TiB",
            one_kv(&[
                Str("k"),
                U32(ARRAY),
                U32(STRING),
                U64(1024),
                U64((64 << 20) - 1),
            ]),
            Some(TIB),
            Kind::Truncated,
        ),
    ]
}

fn parse(bytes: &[u8], size: u64) -> Result<GgufFile, GgufError> {
    GgufFile::from_reader(Cursor::new(bytes), size, Path::new("lying.gguf"))
}

/// Parses each lying file; asserts its error kind and `bound`.
fn check(
    name: &str,
    parse: impl FnOnce() -> Result<GgufFile, GgufError>,
    want: Kind,
    bound: usize,
) {
    let (res, stats) = measure(|| parse().map(|_| ()));
    let err = res.expect_err(name);
    let AllocStats { largest, peak } = stats;
    println!("{name}: largest allocation {largest} B, peak {peak} B: {err}");
    assert_eq!(kind(&err), want, "{name}: {err}");
    assert!(
        largest <= bound && peak <= bound,
        "{name}: largest allocation {largest} B, peak {peak} B (bound {bound} B)"
    );
}

#[test]
fn lying_length_fields_fail_without_allocating_what_they_announce() {
    // The counter sees allocations (so the bounds below mean something).
    let (_, seen) = measure(|| vec![1u8; 3 << 20]);
    assert!(seen.largest >= 3 << 20, "{seen:?}");
    for (name, mut bytes, size, want) in cases() {
        if size.is_none() {
            // Room for one entry after the lie, so the counts pass the
            // file-size check and the lying field itself is read.
            bytes.resize(bytes.len() + 64, 0);
        }
        let size = size.unwrap_or(bytes.len() as u64);
        check(name, || parse(&bytes, size), want, BOUND);
    }
    // A real 1 TiB (sparse) file whose header announces 2^24 tensors: the
    // count fits the file; the zeros after it read as unnamed tensors, and
    // the second is a duplicate name.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.gguf");
    std::fs::write(&path, header(1 << 24, 0)).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(1 << 40)
        .unwrap();
    let name = "1 TiB sparse file, tensor count 2^24";
    check(
        name,
        || GgufFile::open(&path),
        Kind::Invalid,
        READ_BUFFER + BOUND,
    );
}
