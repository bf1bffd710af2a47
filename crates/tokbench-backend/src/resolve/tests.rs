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
    let found = find_in_path("python3", &path);
    let Some(python) = tokbench_testenv::require("python3 (not on PATH)", found, "install python3")
    else {
        return;
    };
    assert!(python_has_module(&python, "json", &path));
    assert!(!python_has_module(
        &python,
        "tokbench_no_such_module",
        &path
    ));
}

/// A fake `scripts/setup` cache with llama-server builds of `versions`.
fn setup_cache(versions: &[&str]) -> tempfile::TempDir {
    let cache = tempfile::tempdir().unwrap();
    for v in versions {
        let bin = cache.path().join("llama.cpp").join(v).join("bin");
        fs::create_dir_all(&bin).unwrap();
        write_exe(&bin, "llama-server", "#!/bin/sh\n");
    }
    cache
}

#[test]
fn llama_server_is_found_in_the_setup_cache_after_path() {
    let cache = setup_cache(&["9.0.0", "11434.0.0", "10000.2.0"]);
    // A version folder without an executable is passed over.
    fs::create_dir_all(cache.path().join("llama.cpp/99999.0.0/bin")).unwrap();
    let empty_path = tempfile::tempdir().unwrap();
    let env = env_of(&[
        ("PATH", empty_path.path().as_os_str()),
        ("TOKBENCH_CACHE_DIR", cache.path().as_os_str()),
    ]);
    let r = resolve_binary_with(BackendKind::LlamaCpp, None, &env).unwrap();
    assert_eq!(r.source, BinarySource::SetupCache);
    assert_eq!(
        r.program,
        cache.path().join("llama.cpp/11434.0.0/bin/llama-server")
    );
    // PATH wins over the cache.
    let on_path = write_exe(empty_path.path(), "llama-server", "#!/bin/sh\n");
    let r = resolve_binary_with(BackendKind::LlamaCpp, None, &env).unwrap();
    assert_eq!((r.program, r.source), (on_path, BinarySource::Path));
}

#[test]
fn the_cache_follows_xdg_then_home_and_only_serves_llama_cpp() {
    let xdg = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let nothing = tempfile::tempdir().unwrap();
    let in_xdg = xdg.path().join("tokbench/llama.cpp/1.0/bin");
    fs::create_dir_all(&in_xdg).unwrap();
    let exe_xdg = write_exe(&in_xdg, "llama-server", "#!/bin/sh\n");
    let in_home = home.path().join(".cache/tokbench/llama.cpp/2.0/bin");
    fs::create_dir_all(&in_home).unwrap();
    let exe_home = write_exe(&in_home, "llama-server", "#!/bin/sh\n");
    let path = nothing.path().as_os_str();
    let both = env_of(&[
        ("PATH", path),
        ("XDG_CACHE_HOME", xdg.path().as_os_str()),
        ("HOME", home.path().as_os_str()),
    ]);
    let r = resolve_binary_with(BackendKind::LlamaCpp, None, &both).unwrap();
    assert_eq!(r.program, exe_xdg);
    let home_only = env_of(&[("PATH", path), ("HOME", home.path().as_os_str())]);
    let r = resolve_binary_with(BackendKind::LlamaCpp, None, &home_only).unwrap();
    assert_eq!(r.program, exe_home);
    let err = resolve_binary_with(BackendKind::Vllm, None, &home_only)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not on PATH"), "{err}");
    let bare = env_of(&[("PATH", path)]);
    let err = resolve_binary_with(BackendKind::LlamaCpp, None, &bare)
        .unwrap_err()
        .to_string();
    assert!(err.contains("nor in tokbench's cache"), "{err}");
}
