use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;

use super::*;

fn write_exe(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, body).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    p
}

fn env_of(vars: &[(&str, &OsStr)]) -> impl Fn(&str) -> Option<OsString> {
    let map: HashMap<String, OsString> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |k| map.get(k).cloned()
}

#[test]
fn finds_llama_server_on_a_temp_path_and_skips_non_executables() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    fs::write(a.path().join("llama-server"), "not executable").unwrap();
    let exe = write_exe(b.path(), "llama-server", "#!/bin/sh\n");
    let path = std::env::join_paths([a.path(), b.path()]).unwrap();
    let env = env_of(&[("PATH", &path)]);
    let r = resolve_binary_with(BackendKind::LlamaCpp, None, &env).unwrap();
    assert_eq!(r.program, exe);
    assert_eq!(r.source, BinarySource::Path);
    assert!(r.prefix_args.is_empty());
}

#[test]
fn explicit_beats_env_var_beats_path() {
    let dir = tempfile::tempdir().unwrap();
    let on_path = write_exe(dir.path(), "vllm", "#!/bin/sh\n");
    let via_env = write_exe(dir.path(), "vllm-env", "#!/bin/sh\n");
    let explicit = write_exe(dir.path(), "vllm-explicit", "#!/bin/sh\n");
    let path = dir.path().as_os_str();
    let env = env_of(&[("PATH", path), ("TOKBENCH_VLLM", via_env.as_os_str())]);
    let r = resolve_binary_with(BackendKind::Vllm, Some(&explicit), &env).unwrap();
    assert_eq!((r.program, r.source), (explicit, BinarySource::Explicit));
    let r = resolve_binary_with(BackendKind::Vllm, None, &env).unwrap();
    assert_eq!(
        (r.program, r.source),
        (via_env, BinarySource::EnvVar("TOKBENCH_VLLM"))
    );
    assert_eq!(r.prefix_args, ["serve"]);
    let env = env_of(&[("PATH", path)]);
    let r = resolve_binary_with(BackendKind::Vllm, None, &env).unwrap();
    assert_eq!(r.program, on_path);
}

#[test]
fn a_bare_explicit_name_is_searched_on_path() {
    let dir = tempfile::tempdir().unwrap();
    let exe = write_exe(dir.path(), "llama-server-cuda", "#!/bin/sh\n");
    let env = env_of(&[("PATH", dir.path().as_os_str())]);
    let r = resolve_binary_with(
        BackendKind::LlamaCpp,
        Some(Path::new("llama-server-cuda")),
        &env,
    );
    assert_eq!(r.unwrap().program, exe);
}

#[test]
fn missing_llama_server_says_how_to_get_it() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_of(&[("PATH", dir.path().as_os_str())]);
    let err = resolve_binary_with(BackendKind::LlamaCpp, None, &env).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(
        err,
        BackendError::BinaryNotFound {
            kind: BackendKind::LlamaCpp,
            ..
        }
    ));
    assert!(msg.contains("\"llama-server\" is not on PATH"), "{msg}");
    assert!(msg.contains("scripts/setup"), "{msg}");
    assert!(
        msg.contains("TOKBENCH_LLAMA_SERVER=/path/to/llama-server"),
        "{msg}"
    );
}

#[test]
fn a_bad_env_var_is_reported_not_skipped() {
    let dir = tempfile::tempdir().unwrap();
    write_exe(dir.path(), "ollama", "#!/bin/sh\n");
    let env = env_of(&[
        ("PATH", dir.path().as_os_str()),
        ("TOKBENCH_OLLAMA", OsStr::new("/nope/ollama")),
    ]);
    let msg = resolve_binary_with(BackendKind::Ollama, None, &env)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("$TOKBENCH_OLLAMA /nope/ollama is not an executable file"),
        "{msg}"
    );
    assert!(msg.contains("install Ollama"), "{msg}");
}

#[test]
fn a_missing_explicit_binary_names_the_path() {
    let env = env_of(&[]);
    let err = resolve_binary_with(BackendKind::Vllm, Some(Path::new("/opt/none/vllm")), &env);
    let msg = err.unwrap_err().to_string();
    assert!(
        msg.contains("/opt/none/vllm is not an executable file"),
        "{msg}"
    );
    assert!(msg.contains("pip install vllm"), "{msg}");
}

#[test]
fn sglang_needs_a_python_that_can_import_it() {
    let yes = tempfile::tempdir().unwrap();
    let no = tempfile::tempdir().unwrap();
    let good = write_exe(yes.path(), "python3", "#!/bin/sh\nexit 0\n");
    write_exe(no.path(), "python3", "#!/bin/sh\nexit 1\n");
    let env = env_of(&[("PATH", yes.path().as_os_str())]);
    let r = resolve_binary_with(BackendKind::Sglang, None, &env).unwrap();
    assert_eq!(r.program, good);
    assert_eq!(r.prefix_args, ["-m", "sglang.launch_server"]);
    let env = env_of(&[("PATH", no.path().as_os_str())]);
    let msg = resolve_binary_with(BackendKind::Sglang, None, &env)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("cannot import sglang"), "{msg}");
    assert!(msg.contains("pip install"), "{msg}");
}

#[test]
fn python_module_check_uses_find_spec_for_real() {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let Some(python) = find_in_path("python3", &path) else {
        eprintln!("SKIP: no python3 on PATH");
        return;
    };
    assert!(python_has_module(&python, "json", &path));
    assert!(!python_has_module(
        &python,
        "tokbench_no_such_module",
        &path
    ));
}
