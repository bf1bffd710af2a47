//! Unit tests of `target.rs`: template engines' device and cache control.
use super::*;

fn reading(index: usize, used: Option<u64>) -> GpuMemoryReading {
    GpuMemoryReading {
        index,
        used_bytes: used,
    }
}

#[test]
fn a_template_engine_is_judged_as_a_gpu_only_when_gpu_memory_rose() {
    let before = [reading(0, Some(100)), reading(1, Some(50))];
    let rose = [reading(0, Some(100)), reading(1, Some(900))];
    let same = [reading(0, Some(100)), reading(1, None)];
    assert_eq!(template_device(None, &before, &rose), ComputeDevice::Cuda);
    assert_eq!(template_device(None, &before, &same), ComputeDevice::Cpu);
    assert_eq!(template_device(None, &[], &[]), ComputeDevice::Cpu);
    let named = Some(ComputeDevice::Rocm);
    assert_eq!(template_device(named, &before, &same), ComputeDevice::Rocm);
}

#[test]
fn a_template_engine_is_asked_not_to_cache_only_when_props_says_it_can_be() {
    // llama-server's /props (trimmed): per-slot n_ctx rounded up to 256.
    let llama = serde_json::json!({
        "default_generation_settings": {"n_ctx": 256},
        "total_slots": 1,
        "build_info": "b7000-abc"
    });
    let emulator = serde_json::json!({"build_info": "tokbench-emulator 0.1.0", "total_slots": 1});
    let other = serde_json::json!({"version": "1.2"});
    let got = |p: Option<serde_json::Value>, allowed| template_cache_control(p, allowed);
    assert_eq!(
        got(Some(llama.clone()), false),
        (CacheControl::RequestField, Some(256))
    );
    // As for the recipe: the field is sent only when caching is not allowed
    // (plan.rs), so the control stays the request field.
    assert_eq!(got(Some(llama), true).0, CacheControl::RequestField);
    assert_eq!(
        got(Some(emulator), false),
        (CacheControl::RequestField, None)
    );
    assert_eq!(got(Some(other), false), (CacheControl::Unavailable, None));
    assert_eq!(got(None, false), (CacheControl::Unavailable, None));
    assert_eq!(got(None, true), (CacheControl::LaunchedWithCache, None));
}

#[test]
fn a_template_engine_records_cuda_only_when_named_or_seen_on_an_nvidia_gpu() {
    // llama-server through a template on an H200 (2026-12-04): its log named
    // no device at the default verbosity, GPU memory grew by 0.82 GB.
    let before = [reading(0, Some(0))];
    let after = [reading(0, Some(816_644_096))];
    let judged = template_device(None, &before, &after);
    assert_eq!(template_device_label(None, judged), "cuda");
    let judged = template_device(None, &before, &before);
    assert_eq!(template_device_label(None, judged), "unknown");
    let named = Some(ComputeDevice::Vulkan);
    let judged = template_device(named, &before, &after);
    assert_eq!(template_device_label(named, judged), "vulkan");
    let named = Some(ComputeDevice::Cpu);
    assert_eq!(
        template_device_label(named, template_device(named, &before, &after)),
        "cpu"
    );
}
