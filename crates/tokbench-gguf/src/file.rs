//! The GGUF header, metadata and tensor infos (never the tensor data).
//!
//! Layout (ggml `docs/gguf.md`, versions 2 and 3; all numbers little-endian,
//! or all big-endian in the rare big-endian files, detected by the version):
//!
//! ```text
//! magic "GGUF" | u32 version | u64 tensor_count | u64 metadata_kv_count
//! metadata_kv_count × (string key | u32 value_type | value)
//! tensor_count × (string name | u32 n_dims | n_dims × u64 dim | u32 ggml_type | u64 offset)
//! padding to general.alignment (default 32) | tensor data
//! ```
//! Strings are a u64 byte length followed by UTF-8 bytes.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use crate::error::{GgufError, Result};
use crate::reader::{Reader, MAX_KEY_LEN};
use crate::types::GgmlType;
use crate::value::{MetaValue, MAX_ARRAY_DEPTH};

/// Alignment of tensor data when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;

/// Most dimensions a tensor may have (`GGML_MAX_DIMS`).
pub const MAX_DIMS: u32 = 4;

/// Hard cap on tensor and metadata counts (the file size bounds them too).
const MAX_COUNT: u64 = 1 << 24;

/// Most entries reserved up front from a count read from the file.
pub(crate) const PREALLOC_ITEMS: u64 = 1024;

/// Smallest encoded metadata pair: empty key (8) + type (4) + a u8 value (1).
const MIN_KV_SIZE: u64 = 13;

/// Smallest encoded tensor info: empty name (8) + n_dims (4) + type (4) + offset (8).
const MIN_TENSOR_INFO_SIZE: u64 = 24;

/// Read buffer for files: large enough that skipping token lists is cheap.
const READ_BUFFER: usize = 1 << 20;

/// One tensor's description from the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    /// Tensor name, e.g. `blk.0.attn_q.weight`.
    pub name: String,
    /// Dimensions, innermost (contiguous) first, as stored (ggml `ne`).
    pub dims: Vec<u64>,
    /// Element type.
    pub ggml_type: GgmlType,
    /// Offset of the data, in bytes, relative to [`GgufFile::data_offset`].
    pub offset: u64,
}

impl TensorInfo {
    /// Number of elements: the product of the dimensions (1 for 0 dims).
    pub fn n_elements(&self) -> u64 {
        // Checked at parse time to fit in i64.
        self.dims.iter().product()
    }

    /// Size of the data in bytes, `None` for a ggml type this crate does
    /// not know.
    pub fn n_bytes(&self) -> Option<u64> {
        self.ggml_type.bytes_for(self.n_elements())
    }
}

/// A parsed GGUF header: version, metadata and tensor infos.
#[derive(Debug, Clone, PartialEq)]
pub struct GgufFile {
    /// Format version (2 or 3).
    pub version: u32,
    /// Whether the file is big-endian (rare; s390x builds).
    pub big_endian: bool,
    /// Size of the file (or buffer) in bytes.
    pub file_size: u64,
    /// Metadata by key.
    pub metadata: BTreeMap<String, MetaValue>,
    /// Tensor infos in file order.
    pub tensors: Vec<TensorInfo>,
    /// Alignment of tensor data in bytes (`general.alignment`, default 32).
    pub alignment: u64,
    /// Offset of the tensor data section from the start of the file.
    pub data_offset: u64,
}

impl GgufFile {
    /// Reads the header of the GGUF file at `path` with buffered reads,
    /// leaving tensor data unread.
    ///
    /// # Errors
    /// [`GgufError::Io`] if the file cannot be opened or read, and the
    /// format errors of [`GgufFile::from_reader`].
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| GgufError::io(path, "open", e))?;
        let size = file
            .metadata()
            .map_err(|e| GgufError::io(path, "stat", e))?
            .len();
        Self::from_reader(BufReader::with_capacity(READ_BUFFER, file), size, path)
    }

    /// Parses a GGUF header from `reader`, which holds `file_size` bytes in
    /// all; `path` only labels errors.
    ///
    /// # Errors
    /// [`GgufError::NotGguf`], [`GgufError::UnsupportedVersion`],
    /// [`GgufError::Truncated`] (the header or any tensor's data runs past
    /// the end), [`GgufError::StringTooLong`],
    /// [`GgufError::ImplausibleCount`], [`GgufError::UnknownValueType`],
    /// [`GgufError::Invalid`] (duplicate key or tensor name, bad
    /// `general.alignment`, a tensor shape or data offset out of range).
    pub fn from_reader<R: BufRead>(reader: R, file_size: u64, path: &Path) -> Result<Self> {
        let mut r = Reader::new(reader, file_size, path);
        let (version, big_endian) = read_preamble(&mut r)?;
        let tensor_count = r.count(MIN_TENSOR_INFO_SIZE, MAX_COUNT, "tensor count")?;
        let kv_count = r.count(MIN_KV_SIZE, MAX_COUNT, "metadata kv count")?;
        let metadata = read_metadata(&mut r, kv_count)?;
        let alignment = metadata
            .get(ALIGNMENT_KEY)
            .and_then(alignment_of)
            .unwrap_or(DEFAULT_ALIGNMENT);
        let tensors = read_tensor_infos(&mut r, tensor_count, alignment)?;
        let data_offset = r.offset().div_ceil(alignment).saturating_mul(alignment);
        check_tensor_data(&r, &tensors, data_offset)?;
        Ok(Self {
            version,
            big_endian,
            file_size,
            metadata,
            tensors,
            alignment,
            data_offset,
        })
    }

    /// The metadata value under `key`.
    pub fn get(&self, key: &str) -> Option<&MetaValue> {
        self.metadata.get(key)
    }

    /// The string under `key`, if present and a string.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(MetaValue::as_str)
    }

    /// The non-negative integer under `key`, if present and one.
    pub fn get_u64(&self, key: &str) -> Option<u64> {
        self.get(key).and_then(MetaValue::as_u64)
    }

    /// `general.architecture` (e.g. `llama`, `gemma3`).
    pub fn architecture(&self) -> Option<&str> {
        self.get_str("general.architecture")
    }

    /// Number of parameters: the sum over tensors of the product of dims.
    pub fn parameter_count(&self) -> u64 {
        self.tensors
            .iter()
            .fold(0u64, |acc, t| acc.saturating_add(t.n_elements()))
    }
}

/// Magic and version. Returns `(version, big_endian)`.
fn read_preamble<R: BufRead>(r: &mut Reader<'_, R>) -> Result<(u32, bool)> {
    let have = r.file_size().min(4) as usize;
    let mut magic = [0u8; 4];
    r.read_exact(&mut magic[..have], "magic")?;
    if magic[..have] != b"GGUF"[..have] {
        return Err(GgufError::NotGguf {
            path: r.path().to_path_buf(),
            found: magic[..have].to_vec(),
        });
    }
    if have < 4 {
        return Err(r.truncated(0, 4, "magic"));
    }
    let version = r.u32("version")?;
    let swapped = version.swap_bytes();
    let (version, big_endian) = if version < 0x1_0000 || swapped >= 0x1_0000 {
        (version, false)
    } else {
        // A big-endian file: its small version reads as a huge number here.
        (swapped, true)
    };
    if !(2..=3).contains(&version) {
        return Err(GgufError::UnsupportedVersion {
            path: r.path().to_path_buf(),
            version,
        });
    }
    r.set_big_endian(big_endian);
    Ok((version, big_endian))
}

fn read_metadata<R: BufRead>(
    r: &mut Reader<'_, R>,
    kv_count: u64,
) -> Result<BTreeMap<String, MetaValue>> {
    let mut metadata = BTreeMap::new();
    for _ in 0..kv_count {
        let at = r.offset();
        let key = r.string(MAX_KEY_LEN, "metadata key")?;
        let ty = r.value_type()?;
        let value = r.value(ty, MAX_ARRAY_DEPTH)?;
        if metadata.contains_key(&key) {
            return Err(r.invalid(at, format!("duplicate metadata key {key:?}")));
        }
        if key == ALIGNMENT_KEY && alignment_of(&value).is_none() {
            return Err(r.invalid(
                at,
                format!("{ALIGNMENT_KEY} must be a non-zero power of two u32, got {value:?}"),
            ));
        }
        metadata.insert(key, value);
    }
    Ok(metadata)
}

/// The metadata key holding the alignment.
pub(crate) const ALIGNMENT_KEY: &str = "general.alignment";

/// The alignment a `general.alignment` value stands for, if valid.
pub(crate) fn alignment_of(value: &MetaValue) -> Option<u64> {
    match value {
        MetaValue::U32(a) if a.is_power_of_two() => Some(u64::from(*a)),
        _ => None,
    }
}

fn read_tensor_infos<R: BufRead>(
    r: &mut Reader<'_, R>,
    count: u64,
    alignment: u64,
) -> Result<Vec<TensorInfo>> {
    // The count is only bounded by the file size (a huge model's header may
    // lie): reserve for at most PREALLOC_ITEMS and grow as entries parse.
    let mut tensors = Vec::with_capacity(usize::try_from(count.min(PREALLOC_ITEMS)).unwrap_or(0));
    let mut names = HashSet::new();
    for _ in 0..count {
        let at = r.offset();
        let info = read_tensor_info(r)?;
        if info.offset % alignment != 0 {
            return Err(r.invalid(
                at,
                format!(
                    "tensor {:?} data offset {} is not a multiple of the alignment {alignment}",
                    info.name, info.offset
                ),
            ));
        }
        if !names.insert(info.name.clone()) {
            return Err(r.invalid(at, format!("duplicate tensor name {:?}", info.name)));
        }
        tensors.push(info);
    }
    Ok(tensors)
}

fn read_tensor_info<R: BufRead>(r: &mut Reader<'_, R>) -> Result<TensorInfo> {
    let name = r.string(MAX_KEY_LEN, "tensor name")?;
    let dims_at = r.offset();
    let n_dims = r.u32("tensor n_dims")?;
    if n_dims > MAX_DIMS {
        return Err(GgufError::ImplausibleCount {
            path: r.path().to_path_buf(),
            offset: dims_at,
            what: "tensor n_dims",
            count: n_dims.into(),
            limit: MAX_DIMS.into(),
        });
    }
    let mut dims = Vec::with_capacity(MAX_DIMS as usize);
    let mut elements: u64 = 1;
    for _ in 0..n_dims {
        let at = r.offset();
        let dim = r.u64("tensor dim")?;
        elements = elements
            .checked_mul(dim)
            .filter(|&n| i64::try_from(n).is_ok())
            .ok_or_else(|| {
                r.invalid(
                    at,
                    format!("tensor {name:?} has more than i64::MAX elements"),
                )
            })?;
        dims.push(dim);
    }
    let type_at = r.offset();
    let ggml_type = GgmlType(r.u32("tensor type")?);
    if let (Some(block), Some(&ne0)) = (ggml_type.block_size(), dims.first()) {
        if ne0 % block != 0 {
            return Err(r.invalid(
                type_at,
                format!("tensor {name:?}: dim 0 ({ne0}) is not a multiple of the {ggml_type} block size {block}"),
            ));
        }
    }
    let offset = r.u64("tensor offset")?;
    Ok(TensorInfo {
        name,
        dims,
        ggml_type,
        offset,
    })
}

/// Every tensor of a known type must lie inside the file: a cut download
/// fails here rather than in the server.
fn check_tensor_data<R: BufRead>(
    r: &Reader<'_, R>,
    tensors: &[TensorInfo],
    data_offset: u64,
) -> Result<()> {
    for t in tensors {
        let Some(bytes) = t.n_bytes() else { continue };
        let Some(end) = data_offset
            .checked_add(t.offset)
            .and_then(|s| s.checked_add(bytes))
        else {
            return Err(r.invalid(
                data_offset,
                format!("tensor {:?} data offset {} overflows", t.name, t.offset),
            ));
        };
        if end > r.file_size() {
            let what = format!(
                "data of tensor {:?} ({bytes} bytes at data offset {})",
                t.name, t.offset
            );
            return Err(r.truncated(r.file_size(), end - r.file_size(), &what));
        }
    }
    Ok(())
}
