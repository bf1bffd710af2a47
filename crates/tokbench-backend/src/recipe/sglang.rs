//! SGLang `python3 -m sglang.launch_server` arguments.

use super::{disable_caching, push_opt};
use crate::LaunchSpec;

/// `--model-path M --host H --port P --max-running-requests N
/// [--context-length C] [--disable-radix-cache]` (after the `-m
/// sglang.launch_server` prefix; the last unless
/// [`LaunchSpec::prefix_caching`] or `extra_args` name the radix cache).
/// `threads` is ignored.
pub(super) fn args(spec: &LaunchSpec, port: u16) -> Vec<String> {
    let mut a = vec![
        "--model-path".to_owned(),
        spec.model.display().to_string(),
        "--host".to_owned(),
        spec.host.clone(),
        "--port".to_owned(),
        port.to_string(),
        "--max-running-requests".to_owned(),
        spec.parallel.to_string(),
    ];
    push_opt(&mut a, "--context-length", spec.ctx_size);
    if disable_caching(spec, "radix-cache") {
        a.push("--disable-radix-cache".to_owned());
    }
    a
}
