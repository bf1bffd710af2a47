//! `/proc/cpuinfo` parsing: model name, vendor, logical processor count and
//! the ISA flags that matter for inference kernels.

use std::collections::BTreeSet;

/// x86 flags (as spelled in `/proc/cpuinfo` `flags`) that llama.cpp, vLLM and
/// friends select kernels on. Any flag starting with `amx` is kept as well.
pub const X86_FLAGS_OF_INTEREST: &[&str] = &[
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx_vnni",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
];

/// Arm flags (as spelled in `/proc/cpuinfo` `Features`) of interest. `asimd`
/// (AArch64 Advanced SIMD) is reported as `neon`, the name users know.
pub const ARM_FLAGS_OF_INTEREST: &[&str] = &[
    "neon", "asimdhp", "asimddp", "i8mm", "bf16", "sve", "sve2", "sme",
];

/// What `/proc/cpuinfo` says about the CPU.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuInfoText {
    /// `model name` (x86, some Arm kernels) or `Hardware` (32-bit Arm).
    pub model_name: Option<String>,
    /// `vendor_id` (x86, e.g. `GenuineIntel`) or `CPU implementer` (Arm, e.g. `0x41`).
    pub vendor: Option<String>,
    /// Number of `processor` entries (logical CPUs online at read time).
    pub logical_processors: usize,
    /// Every flag of the first processor (`flags` on x86, `Features` on Arm).
    pub all_flags: BTreeSet<String>,
}

impl CpuInfoText {
    /// The flags of interest present on this CPU, in the order of
    /// [`X86_FLAGS_OF_INTEREST`] then `amx*` (sorted), or
    /// [`ARM_FLAGS_OF_INTEREST`].
    pub fn isa_flags_of_interest(&self) -> Vec<String> {
        let has = |f: &str| self.all_flags.contains(f);
        let mut out: Vec<String> = X86_FLAGS_OF_INTEREST
            .iter()
            .filter(|f| has(f))
            .map(|f| (*f).to_string())
            .collect();
        out.extend(
            self.all_flags
                .iter()
                .filter(|f| f.starts_with("amx"))
                .cloned(),
        );
        for f in ARM_FLAGS_OF_INTEREST {
            let present = has(f) || (*f == "neon" && has("asimd"));
            if present && !out.iter().any(|o| o == f) {
                out.push((*f).to_string());
            }
        }
        out
    }

    /// True when the CPU reports the `hypervisor` flag (x86 guests).
    pub fn has_hypervisor_flag(&self) -> bool {
        self.all_flags.contains("hypervisor")
    }
}

/// Parses the text of `/proc/cpuinfo` (x86 or Arm layout). Never fails:
/// unknown keys are ignored and missing ones stay `None`/empty.
pub fn parse_cpuinfo(text: &str) -> CpuInfoText {
    let mut info = CpuInfoText::default();
    let mut flags_seen = false;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        match key {
            "processor" if value.parse::<u32>().is_ok() => info.logical_processors += 1,
            "model name" | "Hardware" if info.model_name.is_none() && !value.is_empty() => {
                info.model_name = Some(value.to_string());
            }
            "vendor_id" | "CPU implementer" if info.vendor.is_none() && !value.is_empty() => {
                info.vendor = Some(value.to_string());
            }
            "flags" | "Features" if !flags_seen => {
                flags_seen = true;
                info.all_flags = value.split_whitespace().map(str::to_string).collect();
            }
            _ => {}
        }
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    const X86: &str = "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\n\
model name\t: Intel(R) Xeon(R) Platinum 8480+\nflags\t\t: fpu sse4_2 avx avx2 fma f16c \
hypervisor avx512f avx512bw avx512vl avx512_vnni avx512_bf16 avx_vnni amx_bf16 amx_tile amx_int8\n\
\nprocessor\t: 1\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\n\
flags\t\t: fpu sse4_2\n";

    const ARM: &str = "processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd evtstrm aes \
pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp sve i8mm bf16\n\
CPU implementer\t: 0x41\nCPU architecture: 8\nCPU part\t: 0xd40\n\n\
processor\t: 1\nFeatures\t: fp asimd\nCPU implementer\t: 0x41\n";

    #[test]
    fn x86_fields_and_flags() {
        let c = parse_cpuinfo(X86);
        assert_eq!(c.logical_processors, 2);
        assert_eq!(c.vendor.as_deref(), Some("GenuineIntel"));
        assert_eq!(
            c.model_name.as_deref(),
            Some("Intel(R) Xeon(R) Platinum 8480+")
        );
        assert!(c.has_hypervisor_flag());
        assert_eq!(
            c.isa_flags_of_interest(),
            [
                "sse4_2",
                "avx",
                "avx2",
                "fma",
                "f16c",
                "avx_vnni",
                "avx512f",
                "avx512bw",
                "avx512vl",
                "avx512_vnni",
                "avx512_bf16",
                "amx_bf16",
                "amx_int8",
                "amx_tile"
            ]
        );
    }

    #[test]
    fn arm_features_map_asimd_to_neon() {
        let c = parse_cpuinfo(ARM);
        assert_eq!(c.logical_processors, 2);
        assert_eq!(c.vendor.as_deref(), Some("0x41"));
        assert_eq!(c.model_name, None);
        assert!(!c.has_hypervisor_flag());
        assert_eq!(
            c.isa_flags_of_interest(),
            ["neon", "asimdhp", "asimddp", "i8mm", "bf16", "sve"]
        );
    }

    #[test]
    fn empty_text_gives_empty_facts() {
        let c = parse_cpuinfo("");
        assert_eq!(c, CpuInfoText::default());
        assert!(c.isa_flags_of_interest().is_empty());
    }
}
