//! Did the model fit in VRAM? And which kind of device does a backend use?
//!
//! llama.cpp silently keeps layers on the CPU when `-ngl` is too low or the
//! model does not fit, and the benchmark then measures a CPU/GPU hybrid.
//! [`check_vram_fit`] catches that from GPU memory snapshots taken before and
//! after the server loaded the model.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::gpu::GpuMemoryReading;
use crate::util::gib;

/// The kind of device a backend computes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ComputeDevice {
    /// CPU only.
    Cpu,
    /// NVIDIA CUDA.
    Cuda,
    /// AMD ROCm / HIP.
    Rocm,
    /// Vulkan (any vendor).
    Vulkan,
    /// Apple Metal (unified memory).
    Metal,
}

impl ComputeDevice {
    /// Lower-case name: `cpu`, `cuda`, `rocm`, `vulkan`, `metal`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Cuda => "cuda",
            Self::Rocm => "rocm",
            Self::Vulkan => "vulkan",
            Self::Metal => "metal",
        }
    }

    /// True for every GPU backend.
    pub fn is_gpu(self) -> bool {
        self != Self::Cpu
    }

    /// True when the device has memory of its own whose growth can be
    /// measured (CUDA, ROCm, Vulkan); false for CPU and Metal (unified).
    pub fn has_separate_vram(self) -> bool {
        matches!(self, Self::Cuda | Self::Rocm | Self::Vulkan)
    }

    /// Classifies one backend or device name as llama.cpp and others print
    /// it: `CUDA0`, `cuda`, `ROCm1`, `HIP`, `Vulkan0`, `Metal`, `MTL0`,
    /// `CPU`. Case-insensitive; a trailing device number is ignored. `None`
    /// for anything else (`BLAS`, `SYCL0`, `RPC[...]`).
    pub fn from_backend_name(name: &str) -> Option<Self> {
        let lower = name.trim().to_ascii_lowercase();
        let base = lower.trim_end_matches(|c: char| c.is_ascii_digit());
        match base {
            "cpu" => Some(Self::Cpu),
            "cuda" => Some(Self::Cuda),
            "rocm" | "hip" => Some(Self::Rocm),
            "vulkan" | "vk" => Some(Self::Vulkan),
            "metal" | "mtl" => Some(Self::Metal),
            _ => None,
        }
    }

    /// The device a backend computes on, from all the backend/device names it
    /// reports (e.g. `["CPU", "CUDA0"]`): the first GPU name wins; with none,
    /// [`ComputeDevice::Cpu`].
    pub fn classify<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        names
            .into_iter()
            .filter_map(Self::from_backend_name)
            .find(|d| d.is_gpu())
            .unwrap_or(Self::Cpu)
    }
}

impl fmt::Display for ComputeDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ComputeDevice {
    type Err = String;

    /// Accepts what [`ComputeDevice::from_backend_name`] accepts.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_backend_name(s).ok_or_else(|| {
            format!("unknown device `{s}` (expected cpu, cuda, rocm, vulkan or metal)")
        })
    }
}

/// Verdict of [`check_vram_fit`]; serialized with a `verdict` tag
/// (`fit`, `spill`, `not_applicable`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum VramFit {
    /// GPU memory grew by at least the model size.
    Fit {
        /// Growth of used GPU memory, summed over GPUs, bytes.
        delta_bytes: u64,
        /// Bytes the model needs on the GPU, as given.
        model_bytes: u64,
    },
    /// GPU memory grew by less than the model size: part of it is elsewhere.
    Spill {
        /// Growth of used GPU memory, summed over GPUs, bytes.
        delta_bytes: u64,
        /// Bytes the model needs on the GPU, as given.
        model_bytes: u64,
        /// What happened and what to do, for the user.
        message: String,
    },
    /// The check does not apply (CPU-only, unified memory, no readings).
    NotApplicable {
        /// Why.
        reason: String,
    },
}

impl VramFit {
    /// True for [`VramFit::Spill`].
    pub fn is_spill(&self) -> bool {
        matches!(self, Self::Spill { .. })
    }
}

/// Compares GPU memory growth across a server start with the model size.
///
/// `delta_bytes` is the sum over GPUs (multi-GPU splits) of
/// `after − before`, counting only GPUs with both readings and ignoring
/// shrinkage. Growth ≥ `model_bytes` is [`VramFit::Fit`] (weights plus KV
/// cache plus compute buffers normally exceed the file size); growth below it
/// is [`VramFit::Spill`].
///
/// `model_bytes` is what must be on the GPU: the GGUF file size, or better
/// the file size minus tensors llama.cpp always keeps in host memory (the
/// token embedding), which matters for large-vocabulary models run with a
/// small context. Memory allocated by other processes between the two
/// snapshots inflates the growth; take them close to the server start.
pub fn check_vram_fit(
    device: ComputeDevice,
    before: &[GpuMemoryReading],
    after: &[GpuMemoryReading],
    model_bytes: u64,
) -> VramFit {
    let na = |reason: &str| VramFit::NotApplicable {
        reason: reason.to_string(),
    };
    match device {
        ComputeDevice::Cpu => return na("cpu-only backend"),
        ComputeDevice::Metal => return na("metal: unified memory, no separate VRAM to measure"),
        _ => {}
    }
    if model_bytes == 0 {
        return na("model size unknown");
    }
    let pairs: Vec<u64> = after
        .iter()
        .filter_map(|a| {
            let b = before.iter().find(|b| b.index == a.index)?;
            Some(a.used_bytes?.saturating_sub(b.used_bytes?))
        })
        .collect();
    if pairs.is_empty() {
        return na("no GPU memory readings before and after the server started");
    }
    let delta_bytes = pairs.iter().sum();
    if delta_bytes >= model_bytes {
        return VramFit::Fit {
            delta_bytes,
            model_bytes,
        };
    }
    VramFit::Spill {
        delta_bytes,
        model_bytes,
        message: format!(
            "the model did not fit in VRAM: GPU memory grew by {:.2} GiB but the model file \
             is {:.2} GiB; llama.cpp may have silently kept layers on the CPU — check -ngl / \
             --n-gpu-layers, or pass --allow-spill to record it anyway",
            gib(delta_bytes),
            gib(model_bytes)
        ),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const GIB: u64 = 1 << 30;

    fn snap(used: &[Option<u64>]) -> Vec<GpuMemoryReading> {
        used.iter()
            .enumerate()
            .map(|(index, &used_bytes)| GpuMemoryReading { index, used_bytes })
            .collect()
    }

    #[test]
    fn fit_when_growth_exceeds_model() {
        let v = check_vram_fit(
            ComputeDevice::Cuda,
            &snap(&[Some(GIB)]),
            &snap(&[Some(7 * GIB)]),
            5 * GIB,
        );
        assert_eq!(
            v,
            VramFit::Fit {
                delta_bytes: 6 * GIB,
                model_bytes: 5 * GIB
            }
        );
        assert!(!v.is_spill());
    }

    #[test]
    fn exactly_equal_is_a_fit() {
        let v = check_vram_fit(
            ComputeDevice::Rocm,
            &snap(&[Some(0)]),
            &snap(&[Some(4 * GIB)]),
            4 * GIB,
        );
        assert!(matches!(v, VramFit::Fit { delta_bytes, .. } if delta_bytes == 4 * GIB));
        let one_short = check_vram_fit(
            ComputeDevice::Rocm,
            &snap(&[Some(0)]),
            &snap(&[Some(4 * GIB - 1)]),
            4 * GIB,
        );
        assert!(one_short.is_spill());
    }

    #[test]
    fn spill_message_names_sizes_and_remedies() {
        let v = check_vram_fit(
            ComputeDevice::Cuda,
            &snap(&[Some(GIB / 2)]),
            &snap(&[Some(GIB / 2 + 3 * GIB)]),
            (17 * GIB) / 2,
        );
        let VramFit::Spill {
            delta_bytes,
            model_bytes,
            message,
        } = v
        else {
            panic!("expected a spill, got {v:?}");
        };
        assert_eq!((delta_bytes, model_bytes), (3 * GIB, 17 * GIB / 2));
        assert_eq!(
            message,
            "the model did not fit in VRAM: GPU memory grew by 3.00 GiB but the model file is \
             8.50 GiB; llama.cpp may have silently kept layers on the CPU — check -ngl / \
             --n-gpu-layers, or pass --allow-spill to record it anyway"
        );
    }

    #[test]
    fn multi_gpu_growth_is_summed_and_shrinkage_and_gaps_ignored() {
        let before = snap(&[Some(GIB), Some(GIB), Some(5 * GIB), None]);
        let after = snap(&[Some(4 * GIB), Some(4 * GIB), Some(2 * GIB), Some(9 * GIB)]);
        let v = check_vram_fit(ComputeDevice::Vulkan, &before, &after, 6 * GIB);
        assert_eq!(
            v,
            VramFit::Fit {
                delta_bytes: 6 * GIB,
                model_bytes: 6 * GIB
            }
        );
    }

    #[test]
    fn not_applicable_cases() {
        let s = snap(&[Some(0)]);
        let reason = |v: VramFit| match v {
            VramFit::NotApplicable { reason } => reason,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            reason(check_vram_fit(ComputeDevice::Cpu, &s, &s, GIB)),
            "cpu-only backend"
        );
        assert!(reason(check_vram_fit(ComputeDevice::Metal, &s, &s, GIB)).contains("unified"));
        assert!(reason(check_vram_fit(ComputeDevice::Cuda, &[], &[], GIB)).contains("no GPU"));
        let none = snap(&[None]);
        assert!(reason(check_vram_fit(ComputeDevice::Cuda, &none, &s, GIB)).contains("no GPU"));
        assert!(reason(check_vram_fit(ComputeDevice::Cuda, &s, &s, 0)).contains("unknown"));
    }

    #[test]
    fn verdict_serializes_with_a_tag() {
        let v = VramFit::Fit {
            delta_bytes: 2,
            model_bytes: 1,
        };
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"verdict":"fit","delta_bytes":2,"model_bytes":1}"#
        );
        let na: VramFit =
            serde_json::from_str(r#"{"verdict":"not_applicable","reason":"x"}"#).unwrap();
        assert_eq!(na, VramFit::NotApplicable { reason: "x".into() });
    }

    #[test]
    fn device_names() {
        let d = ComputeDevice::from_backend_name;
        assert_eq!(d("CUDA0"), Some(ComputeDevice::Cuda));
        assert_eq!(d("ROCm1"), Some(ComputeDevice::Rocm));
        assert_eq!(d("hip"), Some(ComputeDevice::Rocm));
        assert_eq!(d("Vulkan0"), Some(ComputeDevice::Vulkan));
        assert_eq!(d("MTL0"), Some(ComputeDevice::Metal));
        assert_eq!(d(" CPU "), Some(ComputeDevice::Cpu));
        assert_eq!(d("BLAS"), None);
        assert_eq!(d("SYCL0"), None);
        assert_eq!(
            ComputeDevice::classify(["CPU", "BLAS", "CUDA0", "CUDA1"]),
            ComputeDevice::Cuda
        );
        assert_eq!(ComputeDevice::classify(["CPU"]), ComputeDevice::Cpu);
        assert_eq!(ComputeDevice::classify([]), ComputeDevice::Cpu);
        assert_eq!("vulkan".parse::<ComputeDevice>(), Ok(ComputeDevice::Vulkan));
        assert!("tpu".parse::<ComputeDevice>().is_err());
        assert_eq!(ComputeDevice::Rocm.to_string(), "rocm");
        assert!(ComputeDevice::Vulkan.has_separate_vram());
        assert!(!ComputeDevice::Metal.has_separate_vram());
        assert!(ComputeDevice::Metal.is_gpu());
        assert_eq!(
            serde_json::to_string(&ComputeDevice::Cuda).unwrap(),
            "\"cuda\""
        );
    }
}
