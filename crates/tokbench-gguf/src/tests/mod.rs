//! Unit tests on synthetic GGUF buffers built with [`crate::write::GgufWriter`].

mod corrupt;
mod decode_bytes;
mod identity;
mod parse;
mod proptests;

use std::io::Cursor;
use std::path::Path;

use crate::{GgufError, GgufFile, Result};

/// Parses an in-memory file labelled `mem.gguf`.
fn parse(bytes: &[u8]) -> Result<GgufFile> {
    GgufFile::from_reader(
        Cursor::new(bytes),
        bytes.len() as u64,
        Path::new("mem.gguf"),
    )
}

/// The error of parsing `bytes`, failing the test if it parses.
fn parse_err(bytes: &[u8]) -> GgufError {
    match parse(bytes) {
        Ok(f) => panic!("expected an error, parsed {f:?}"),
        Err(e) => e,
    }
}
