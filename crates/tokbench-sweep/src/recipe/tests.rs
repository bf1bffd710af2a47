#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn args(recipe: &Recipe, name: &str, value: &str) -> Vec<String> {
    flag_args(recipe, name, value).unwrap()
}

#[test]
fn llama_cpp_value_flags() {
    let r = Recipe::LlamaCpp;
    for (name, flag, value) in [
        ("threads", "--threads", "4"),
        ("threads-batch", "--threads-batch", "8"),
        ("batch-size", "--batch-size", "512"),
        ("ubatch-size", "--ubatch-size", "128"),
        ("ctx-size", "--ctx-size", "8192"),
        ("flash-attn", "--flash-attn", "on"),
        ("flash-attn", "--flash-attn", "off"),
        ("flash-attn", "--flash-attn", "auto"),
        ("cache-type-k", "--cache-type-k", "q8_0"),
        ("cache-type-v", "--cache-type-v", "f16"),
        ("n-gpu-layers", "--n-gpu-layers", "99"),
        ("ngl", "--n-gpu-layers", "0"),
        ("n-cpu-moe", "--n-cpu-moe", "10"),
        ("split-mode", "--split-mode", "row"),
        ("load-mode", "--load-mode", "mmap+mlock"),
    ] {
        assert_eq!(args(&r, name, value), [flag, value], "{name}={value}");
    }
}

#[test]
fn llama_cpp_switches_and_values_checked() {
    let r = Recipe::LlamaCpp;
    assert_eq!(args(&r, "cont-batching", "on"), ["--cont-batching"]);
    assert_eq!(args(&r, "cont-batching", "off"), ["--no-cont-batching"]);
    let e = flag_args(&r, "cont-batching", "yes")
        .unwrap_err()
        .to_string();
    assert_eq!(e, "cont-batching=\"yes\": llama.cpp takes one of on, off");
    let e = flag_args(&r, "flash-attn", "maybe")
        .unwrap_err()
        .to_string();
    assert!(e.contains("on, off, auto"), "{e}");
    assert!(flag_args(&r, "split-mode", "diagonal").is_err());
}

#[test]
fn llama_cpp_refuses_what_tokbench_sets_and_removed_flags() {
    let r = Recipe::LlamaCpp;
    let e = flag_args(&r, "parallel", "4").unwrap_err();
    assert!(matches!(e, SweepError::Refused { .. }));
    let e = e.to_string();
    assert!(
        e.starts_with("parallel cannot be swept with llama.cpp:"),
        "{e}"
    );
    assert!(e.contains("concurrency"), "{e}");
    for name in ["mlock", "mmap"] {
        let e = flag_args(&r, name, "on").unwrap_err().to_string();
        assert!(e.contains("load-mode"), "{e}");
    }
    assert!(!r.known_params().contains(&"parallel".to_owned()));
}

#[test]
fn unknown_names_list_the_known_ones() {
    let e = flag_args(&Recipe::LlamaCpp, "thread", "4").unwrap_err();
    let SweepError::UnknownParam {
        name,
        recipe,
        known,
    } = &e
    else {
        panic!("{e}");
    };
    assert_eq!((name.as_str(), recipe.as_str()), ("thread", "llama.cpp"));
    assert!(known.contains(&"threads".to_owned()) && known.contains(&"ngl".to_owned()));
    let msg = e.to_string();
    assert!(
        msg.starts_with("llama.cpp has no sweep parameter \"thread\"; known: threads, threads-batch, batch-size"),
        "{msg}"
    );
    let msg = flag_args(&Recipe::Vllm, "threads", "4")
        .unwrap_err()
        .to_string();
    assert!(
        msg.starts_with("vLLM has no sweep parameter \"threads\"; known: max-num-seqs"),
        "{msg}"
    );
}

#[test]
fn vllm_flags() {
    let r = Recipe::Vllm;
    for (name, flag, value) in [
        ("max-num-seqs", "--max-num-seqs", "256"),
        ("max-num-batched-tokens", "--max-num-batched-tokens", "8192"),
        ("gpu-memory-utilization", "--gpu-memory-utilization", "0.90"),
        ("tensor-parallel-size", "--tensor-parallel-size", "2"),
        ("kv-cache-dtype", "--kv-cache-dtype", "fp8"),
    ] {
        assert_eq!(args(&r, name, value), [flag, value], "{name}={value}");
    }
    assert_eq!(args(&r, "enforce-eager", "on"), ["--enforce-eager"]);
    assert!(args(&r, "enforce-eager", "off").is_empty());
    assert_eq!(
        args(&r, "enable-chunked-prefill", "on"),
        ["--enable-chunked-prefill"]
    );
    assert_eq!(
        args(&r, "enable-chunked-prefill", "off"),
        ["--no-enable-chunked-prefill"]
    );
    let e = flag_args(&r, "max-model-len", "4096")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("max-model-len cannot be swept with vLLM:"),
        "{e}"
    );
}

#[test]
fn template_default_and_mapped_spellings() {
    let mut flags = BTreeMap::new();
    flags.insert("kappa".to_owned(), "--kappa-value".to_owned());
    let mapped = Recipe::Template { flags };
    assert_eq!(args(&mapped, "kappa", "0.5"), ["--kappa-value", "0.5"]);
    assert_eq!(args(&mapped, "tau", "0.60"), ["--tau", "0.60"]);
    let plain = Recipe::Template {
        flags: BTreeMap::new(),
    };
    assert_eq!(args(&plain, "kappa", "0.5"), ["--kappa", "0.5"]);
    assert!(plain.known_params().is_empty());
}

#[test]
fn config_args_in_order_and_checked_before_launch() {
    let space = crate::Space::from_sets(&[
        ("threads".to_owned(), vec!["2".to_owned()]),
        ("mlock".to_owned(), vec!["on".to_owned()]),
    ])
    .unwrap();
    let configs = space.configs();
    assert!(check_configs(&Recipe::LlamaCpp, &configs).is_err());
    let space = crate::Space::from_sets(&[
        ("cont-batching".to_owned(), vec!["off".to_owned()]),
        ("threads".to_owned(), vec!["2".to_owned()]),
    ])
    .unwrap();
    let configs = space.configs();
    check_configs(&Recipe::LlamaCpp, &configs).unwrap();
    assert_eq!(
        config_args(&Recipe::LlamaCpp, &configs[0]).unwrap(),
        ["--no-cont-batching", "--threads", "2"]
    );
}
