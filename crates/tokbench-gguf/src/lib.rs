//! A small GGUF reader: model identity, quant, parameter count, sha256.
//!
//! GGUF is the model file format of ggml/llama.cpp (spec: `docs/gguf.md` in
//! the ggml and llama.cpp trees). This crate reads only what comes before
//! the tensor data - the header, the typed metadata and the tensor infos -
//! with buffered reads; huge metadata arrays (token lists with 256k
//! strings) are skipped, keeping only their length. Every length and count
//! is checked against the file size before anything is allocated, so a
//! corrupt or hostile header fails with a [`GgufError`] naming the file and
//! byte offset instead of exhausting memory.
//!
//! | Item | Concept |
//! |---|---|
//! | [`GgufFile`] | Parsed header: version, metadata by key, tensor infos |
//! | [`MetaValue`], [`MetaArray`] | Typed metadata values |
//! | [`TensorInfo`], [`GgmlType`] | Tensor name, dims, element type, data offset |
//! | [`FileType`] | llama.cpp's `general.file_type` and its quant name |
//! | [`ModelIdentity`], [`identify`] | What a report needs to name a model |
//! | [`DecodeBytes`], [`KvGeometry`] | Bytes one decoded token reads (decode roofline) |
//! | [`Sha256Cache`], [`sha256_file`] | Streamed sha256 with a persistent cache |
//! | [`write::GgufWriter`] | Synthetic GGUF files for tests |
//!
//! ```no_run
//! use tokbench_gguf::{identify, Hashing, Sha256Cache};
//! # fn main() -> Result<(), tokbench_gguf::GgufError> {
//! let mut cache = Sha256Cache::load_default()?;
//! let id = identify("model.gguf".as_ref(), Hashing::Cached(&mut cache))?;
//! cache.save()?;
//! println!("{} {} {} params", id.architecture.unwrap_or_default(), id.quant, id.params);
//! # Ok(())
//! # }
//! ```

mod decode_bytes;
mod error;
mod file;
mod hash;
mod identity;
mod reader;
mod types;
mod value;
pub mod write;

pub use decode_bytes::{DecodeBytes, DecodeBytesError, KvGeometry};
pub use error::{GgufError, Result};
pub use file::{GgufFile, TensorInfo, DEFAULT_ALIGNMENT, MAX_DIMS};
pub use hash::{sha256_file, CacheStatus, Sha256Cache, CACHE_FILE_NAME};
pub use identity::{
    dominant_tensor_type, identify, params_label, Hashing, ModelIdentity, QuantSource,
};
pub use reader::{MAX_KEY_LEN, MAX_STRING_LEN};
pub use types::{FileType, GgmlType};
pub use value::{MetaArray, MetaValue, ValueType, MAX_ARRAY_DEPTH, MAX_KEPT_ARRAY_LEN};

#[cfg(test)]
mod tests;
