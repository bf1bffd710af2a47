//! A small GGUF writer for fixtures: synthetic files in tests of this crate
//! and of its users (e.g. `tokbench inspect`), without real models.
//!
//! It writes the layout [`crate::GgufFile`] reads, zero-filled tensor data
//! included, and can be told to lie (counts, version, missing data) so
//! tests can build corrupt files.

use crate::file::{alignment_of, ALIGNMENT_KEY, DEFAULT_ALIGNMENT};
use crate::types::GgmlType;
use crate::value::{MetaArray, MetaValue, ValueType};

/// Builder of an in-memory GGUF file.
#[derive(Debug, Clone)]
pub struct GgufWriter {
    version: u32,
    big_endian: bool,
    kvs: Vec<(String, MetaValue)>,
    tensors: Vec<(String, Vec<u64>, GgmlType)>,
    tensor_count: Option<u64>,
    kv_count: Option<u64>,
    with_data: bool,
}

impl Default for GgufWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl GgufWriter {
    /// An empty version-3 little-endian file with tensor data.
    pub fn new() -> Self {
        Self {
            version: 3,
            big_endian: false,
            kvs: Vec::new(),
            tensors: Vec::new(),
            tensor_count: None,
            kv_count: None,
            with_data: true,
        }
    }

    /// Sets the version field (any number, for tests of rejection).
    pub fn version(mut self, version: u32) -> Self {
        self.version = version;
        self
    }

    /// Writes every number big-endian.
    pub fn big_endian(mut self, big_endian: bool) -> Self {
        self.big_endian = big_endian;
        self
    }

    /// Adds a metadata pair. An array's `len` is written as is; when its
    /// `values` is `None`, `len` zero values follow (empty strings, empty
    /// arrays of `U8`) - a cheap way to make huge token lists.
    pub fn kv(mut self, key: &str, value: MetaValue) -> Self {
        self.kvs.push((key.to_owned(), value));
        self
    }

    /// Adds a string metadata pair.
    pub fn kv_str(self, key: &str, value: &str) -> Self {
        self.kv(key, MetaValue::String(value.to_owned()))
    }

    /// Adds a tensor; its data offset follows the previous one, aligned.
    pub fn tensor(mut self, name: &str, dims: &[u64], ggml_type: GgmlType) -> Self {
        self.tensors
            .push((name.to_owned(), dims.to_vec(), ggml_type));
        self
    }

    /// Writes `count` as the tensor count instead of the real one.
    pub fn tensor_count(mut self, count: u64) -> Self {
        self.tensor_count = Some(count);
        self
    }

    /// Writes `count` as the metadata pair count instead of the real one.
    pub fn kv_count(mut self, count: u64) -> Self {
        self.kv_count = Some(count);
        self
    }

    /// Whether to append the (zero) tensor data; without it the file ends
    /// after the header padding.
    pub fn with_data(mut self, with_data: bool) -> Self {
        self.with_data = with_data;
        self
    }

    /// Alignment the file will declare (`general.alignment` if set as a
    /// valid u32, else 32).
    fn alignment(&self) -> u64 {
        self.kvs
            .iter()
            .find_map(|(k, v)| alignment_of(v).filter(|_| k == ALIGNMENT_KEY))
            .unwrap_or(DEFAULT_ALIGNMENT)
    }

    /// The file's bytes. Tensor data is zeros; tensors of unknown types
    /// or with an overflowing shape take no data bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Out {
            buf: Vec::new(),
            big_endian: self.big_endian,
        };
        let align = self.alignment();
        w.buf.extend_from_slice(b"GGUF");
        w.u32(self.version);
        w.u64(self.tensor_count.unwrap_or(self.tensors.len() as u64));
        w.u64(self.kv_count.unwrap_or(self.kvs.len() as u64));
        for (key, value) in &self.kvs {
            w.string(key);
            w.u32(value.value_type() as u32);
            w.value(value);
        }
        let mut offset = 0u64;
        let mut data_len = 0u64;
        for (name, dims, ty) in &self.tensors {
            w.string(name);
            w.u32(dims.len() as u32);
            dims.iter().for_each(|&d| w.u64(d));
            w.u32(ty.0);
            w.u64(offset);
            let bytes = dims
                .iter()
                .try_fold(1u64, |n, &d| n.checked_mul(d))
                .and_then(|n| ty.bytes_for(n))
                .unwrap_or(0);
            data_len = offset.saturating_add(bytes);
            offset = data_len.div_ceil(align).saturating_mul(align);
        }
        let header_end = (w.buf.len() as u64).div_ceil(align) * align;
        w.buf.resize(header_end as usize, 0);
        if self.with_data {
            w.buf.resize((header_end + data_len) as usize, 0);
        }
        w.buf
    }
}

/// Output buffer with the file's byte order.
struct Out {
    buf: Vec<u8>,
    big_endian: bool,
}

macro_rules! put_num {
    ($name:ident, $ty:ty) => {
        fn $name(&mut self, v: $ty) {
            let bytes = if self.big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            };
            self.buf.extend_from_slice(&bytes);
        }
    };
}

impl Out {
    put_num!(u8, u8);
    put_num!(i8, i8);
    put_num!(u16, u16);
    put_num!(i16, i16);
    put_num!(u32, u32);
    put_num!(i32, i32);
    put_num!(u64, u64);
    put_num!(i64, i64);
    put_num!(f32, f32);
    put_num!(f64, f64);

    fn string(&mut self, s: &str) {
        self.u64(s.len() as u64);
        self.buf.extend_from_slice(s.as_bytes());
    }

    fn value(&mut self, v: &MetaValue) {
        match v {
            MetaValue::U8(x) => self.u8(*x),
            MetaValue::I8(x) => self.i8(*x),
            MetaValue::U16(x) => self.u16(*x),
            MetaValue::I16(x) => self.i16(*x),
            MetaValue::U32(x) => self.u32(*x),
            MetaValue::I32(x) => self.i32(*x),
            MetaValue::F32(x) => self.f32(*x),
            MetaValue::Bool(x) => self.u8(u8::from(*x)),
            MetaValue::String(s) => self.string(s),
            MetaValue::U64(x) => self.u64(*x),
            MetaValue::I64(x) => self.i64(*x),
            MetaValue::F64(x) => self.f64(*x),
            MetaValue::Array(a) => self.array(a),
        }
    }

    fn array(&mut self, a: &MetaArray) {
        self.u32(a.elem_type as u32);
        self.u64(a.len);
        match &a.values {
            Some(values) => values.iter().for_each(|v| self.value(v)),
            None => (0..a.len).for_each(|_| self.zero(a.elem_type)),
        }
    }

    fn zero(&mut self, ty: ValueType) {
        match ty {
            ValueType::Array => {
                self.u32(ValueType::U8 as u32);
                self.u64(0);
            }
            other => {
                let n = other.min_size() as usize;
                self.buf.resize(self.buf.len() + n, 0);
            }
        }
    }
}
