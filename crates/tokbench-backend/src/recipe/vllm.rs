//! vLLM `vllm serve` arguments.

use super::{disable_caching, push_opt};
use crate::LaunchSpec;

/// `MODEL --host H --port P --max-num-seqs N [--max-model-len C]
/// [--no-enable-prefix-caching]` (after the `serve` prefix; the last unless
/// [`LaunchSpec::prefix_caching`] or `extra_args` name prefix caching). `threads` is ignored: vLLM's CPU backend takes its
/// thread binding from `VLLM_CPU_OMP_THREADS_BIND` (set it via `env`).
pub(super) fn args(spec: &LaunchSpec, port: u16) -> Vec<String> {
    let mut a = vec![
        spec.model.display().to_string(),
        "--host".to_owned(),
        spec.host.clone(),
        "--port".to_owned(),
        port.to_string(),
        "--max-num-seqs".to_owned(),
        spec.parallel.to_string(),
    ];
    push_opt(&mut a, "--max-model-len", spec.ctx_size);
    if disable_caching(spec, "prefix-caching") {
        a.push("--no-enable-prefix-caching".to_owned());
    }
    a
}
