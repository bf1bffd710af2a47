//! llama-server launched through a backends-file template on SmolLM2
//! (installed by scripts/setup): the record names the engine, its version
//! command's answer and the GGUF identity, every cell is measured, and no
//! llama-server is left. SKIP locally without the set-up, a failure under
//! CI.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{records, serial, setup, tokbench};

#[test]
fn llama_server_through_a_template_is_measured_like_the_recipe() {
    let Some(s) = setup() else {
        return;
    };
    let _one = serial();
    let dir = tempfile::tempdir().unwrap();
    let mark = format!("tmpl-llama-{}", std::process::id());
    let file = dir.path().join("engines.yaml");
    let yaml = format!(
        "engines:\n  llama-template:\n    command: {srv} -m {{model}} --host {{host}} --port {{port}} \
         --parallel {{parallel}} --ctx-size {{ctx_size}} --threads {{threads}} --alias {mark} {{args}}\n    \
         version: {srv} --version\n",
        srv = s.server.display()
    );
    std::fs::write(&file, yaml).unwrap();
    let runs = dir.path().join("runs");
    let out = tokbench(&s)
        .arg("run")
        .arg(&s.model)
        .args([
            "--backend-file",
            file.to_str().unwrap(),
            "--engine",
            "llama-template",
        ])
        .args([
            "--shape", "chat", "--scale", "0.125", "-n", "4", "--warmup", "1",
        ])
        .args(["--threads", "2", "--no-progress", "--runs-dir"])
        .arg(&runs)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = records(&runs).pop().unwrap();
    assert_eq!(r.backend.name, "llama-template");
    assert_eq!(
        r.backend.build_info.as_deref(),
        Some("template backend (engines.yaml)")
    );
    assert!(r.backend.version.is_some(), "from `llama-server --version`");
    assert_eq!(r.model.id, mark, "the id the engine lists (--alias)");
    assert_eq!(r.model.quant.as_deref(), Some("Q4_1"), "GGUF identity read");
    // It answers /props as llama-server, so its requests say
    // `cache_prompt: false` as the built-in recipe's do, and it reuses no
    // prompt token (without it, the chat template's first 3 tokens were
    // reused on every request: 4 % less prompt work than the recipe's).
    let prompts = r.run.prompts.as_ref().unwrap();
    assert_eq!(
        prompts.cache_control.as_deref(),
        Some("cache_prompt: false")
    );
    let requested: u64 = r
        .backend
        .launch_command
        .as_ref()
        .unwrap()
        .windows(2)
        .find(|w| w[0] == "--ctx-size")
        .map(|w| w[1].parse().unwrap())
        .unwrap();
    let ctx = r.backend.ctx_size.unwrap();
    assert!(
        ctx >= requested,
        "the server's own n_ctx {ctx} (asked {requested})"
    );
    for c in &r.cells {
        let m = c.metrics.as_ref().unwrap();
        assert_eq!(m.ok, m.requests);
        assert!(m.ok >= 4);
        let check = c.prompt_cache_check.as_ref().unwrap();
        assert_eq!(check.requests_with_account, check.requests);
        assert_eq!(check.cached_tokens, 0, "{check:?}");
    }
    let left = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .filter(|c| String::from_utf8_lossy(c).contains(&mark))
        .count();
    assert_eq!(left, 0, "a llama-server with {mark} is still running");
}
