//! Typed GGUF metadata values (`gguf_metadata_value_type` in ggml's
//! `docs/gguf.md`) and their decoding.

use std::io::BufRead;

use crate::error::{GgufError, Result};
use crate::reader::{Reader, MAX_STRING_LEN};

/// Arrays up to this many elements are kept; longer ones (token lists,
/// merges, scores) are skipped over and only their length is recorded.
pub const MAX_KEPT_ARRAY_LEN: u64 = 1024;

/// Deepest array nesting accepted (the spec allows arrays of arrays;
/// llama.cpp writes none).
pub const MAX_ARRAY_DEPTH: u32 = 4;

/// Hard cap on one array's length (2^32 elements), on top of the file-size bound.
const MAX_ARRAY_LEN: u64 = 1 << 32;

/// A metadata value type id, stored as u32 before each value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // names are the spec's
pub enum ValueType {
    U8 = 0,
    I8 = 1,
    U16 = 2,
    I16 = 3,
    U32 = 4,
    I32 = 5,
    F32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    U64 = 10,
    I64 = 11,
    F64 = 12,
}

impl ValueType {
    /// The type with spec id `id`, if any.
    pub fn from_id(id: u32) -> Option<Self> {
        use ValueType::*;
        const ALL: [ValueType; 13] = [
            U8, I8, U16, I16, U32, I32, F32, Bool, String, Array, U64, I64, F64,
        ];
        ALL.get(usize::try_from(id).ok()?).copied()
    }

    /// Encoded size of one value in bytes; for strings and arrays the
    /// smallest possible (an empty one).
    pub fn min_size(self) -> u64 {
        match self {
            Self::U8 | Self::I8 | Self::Bool => 1,
            Self::U16 | Self::I16 => 2,
            Self::U32 | Self::I32 | Self::F32 => 4,
            Self::U64 | Self::I64 | Self::F64 | Self::String => 8,
            Self::Array => 12,
        }
    }

    /// Size of every value of this type, `None` for strings and arrays.
    fn fixed_size(self) -> Option<u64> {
        match self {
            Self::String | Self::Array => None,
            other => Some(other.min_size()),
        }
    }
}

/// One metadata value.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)] // variants are the spec's types
pub enum MetaValue {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    /// Stored as one byte; any non-zero byte reads as true (as llama.cpp).
    Bool(bool),
    /// UTF-8; invalid sequences are replaced with U+FFFD.
    String(String),
    U64(u64),
    I64(i64),
    F64(f64),
    Array(MetaArray),
}

/// An array value: element type, length, and the elements when kept.
#[derive(Debug, Clone, PartialEq)]
pub struct MetaArray {
    /// Type of every element.
    pub elem_type: ValueType,
    /// Number of elements in the file.
    pub len: u64,
    /// The elements, or `None` when the array was longer than
    /// [`MAX_KEPT_ARRAY_LEN`] and skipped.
    pub values: Option<Vec<MetaValue>>,
}

impl MetaValue {
    /// The value as u64 if it is a non-negative integer of any width.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Self::U8(v) => Some(v.into()),
            Self::U16(v) => Some(v.into()),
            Self::U32(v) => Some(v.into()),
            Self::U64(v) => Some(v),
            Self::I8(v) => u64::try_from(v).ok(),
            Self::I16(v) => u64::try_from(v).ok(),
            Self::I32(v) => u64::try_from(v).ok(),
            Self::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as a string slice if it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    /// The array if the value is one.
    pub fn as_array(&self) -> Option<&MetaArray> {
        match self {
            Self::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The spec type of the value.
    pub fn value_type(&self) -> ValueType {
        match self {
            Self::U8(_) => ValueType::U8,
            Self::I8(_) => ValueType::I8,
            Self::U16(_) => ValueType::U16,
            Self::I16(_) => ValueType::I16,
            Self::U32(_) => ValueType::U32,
            Self::I32(_) => ValueType::I32,
            Self::F32(_) => ValueType::F32,
            Self::Bool(_) => ValueType::Bool,
            Self::String(_) => ValueType::String,
            Self::Array(_) => ValueType::Array,
            Self::U64(_) => ValueType::U64,
            Self::I64(_) => ValueType::I64,
            Self::F64(_) => ValueType::F64,
        }
    }
}

impl<R: BufRead> Reader<'_, R> {
    /// Reads a u32 type id.
    pub(crate) fn value_type(&mut self) -> Result<ValueType> {
        let at = self.offset();
        let id = self.u32("value type")?;
        ValueType::from_id(id).ok_or_else(|| GgufError::UnknownValueType {
            path: self.path().to_path_buf(),
            offset: at,
            type_id: id,
        })
    }

    /// Reads one value of type `ty`; arrays may nest `depth` more levels.
    pub(crate) fn value(&mut self, ty: ValueType, depth: u32) -> Result<MetaValue> {
        const W: &str = "metadata value";
        Ok(match ty {
            ValueType::U8 => MetaValue::U8(self.u8(W)?),
            ValueType::I8 => MetaValue::I8(self.i8(W)?),
            ValueType::U16 => MetaValue::U16(self.u16(W)?),
            ValueType::I16 => MetaValue::I16(self.i16(W)?),
            ValueType::U32 => MetaValue::U32(self.u32(W)?),
            ValueType::I32 => MetaValue::I32(self.i32(W)?),
            ValueType::F32 => MetaValue::F32(self.f32(W)?),
            ValueType::Bool => MetaValue::Bool(self.u8(W)? != 0),
            ValueType::String => MetaValue::String(self.string(MAX_STRING_LEN, "string value")?),
            ValueType::U64 => MetaValue::U64(self.u64(W)?),
            ValueType::I64 => MetaValue::I64(self.i64(W)?),
            ValueType::F64 => MetaValue::F64(self.f64(W)?),
            ValueType::Array => MetaValue::Array(self.array(depth)?),
        })
    }

    /// Reads an array (element type, u64 length, elements), keeping the
    /// elements only when there are at most [`MAX_KEPT_ARRAY_LEN`].
    fn array(&mut self, depth: u32) -> Result<MetaArray> {
        let at = self.offset();
        if depth == 0 {
            return Err(self.invalid(
                at,
                format!("arrays nested deeper than {MAX_ARRAY_DEPTH} levels"),
            ));
        }
        let elem_type = self.value_type()?;
        let len = self.count(elem_type.min_size(), MAX_ARRAY_LEN, "array length")?;
        if len > MAX_KEPT_ARRAY_LEN {
            self.skip_values(elem_type, len, depth)?;
            return Ok(MetaArray {
                elem_type,
                len,
                values: None,
            });
        }
        let mut values = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        for _ in 0..len {
            values.push(self.value(elem_type, depth - 1)?);
        }
        Ok(MetaArray {
            elem_type,
            len,
            values: Some(values),
        })
    }

    /// Skips `len` values of type `ty` without decoding or allocating.
    fn skip_values(&mut self, ty: ValueType, len: u64, depth: u32) -> Result<()> {
        if let Some(size) = ty.fixed_size() {
            // `count` checked that len * min_size fits in the file.
            return self.skip(len * size, "array elements");
        }
        for _ in 0..len {
            match ty {
                ValueType::String => self.skip_string(MAX_STRING_LEN, "string element")?,
                _ => {
                    self.array(depth - 1)?;
                }
            }
        }
        Ok(())
    }
}
