//! llama.cpp `llama-server` arguments.

use super::{push_opt, HelpFlags};
use crate::LaunchSpec;

/// `-m MODEL --host H --port P --parallel N [--ctx-size C] [--threads T]
/// [--metrics] [--no-ui | --no-webui]`.
pub(super) fn args(spec: &LaunchSpec, port: u16, help: Option<&HelpFlags>) -> Vec<String> {
    let mut a = vec![
        "-m".to_owned(),
        spec.model.display().to_string(),
        "--host".to_owned(),
        spec.host.clone(),
        "--port".to_owned(),
        port.to_string(),
        "--parallel".to_owned(),
        spec.parallel.to_string(),
    ];
    push_opt(&mut a, "--ctx-size", spec.ctx_size);
    push_opt(&mut a, "--threads", spec.threads);
    let known = help.filter(|h| !h.is_empty());
    if known.is_none_or(|h| h.supports("--metrics")) {
        a.push("--metrics".to_owned());
    }
    // Newer builds call it --no-ui and log --no-webui as deprecated.
    if let Some(flag) = ["--no-ui", "--no-webui"]
        .into_iter()
        .find(|f| known.is_some_and(|h| h.supports(f)))
    {
        a.push(flag.to_owned());
    }
    a
}
