#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ffi::OsString;

use super::*;

#[test]
fn ci_flag_follows_the_usual_convention() {
    for (value, ci) in [
        (None, false),
        (Some(""), false),
        (Some("0"), false),
        (Some("false"), false),
        (Some("FALSE"), false),
        (Some("true"), true),
        (Some("1"), true),
        (Some("yes"), true),
    ] {
        let os = value.map(OsString::from);
        assert_eq!(ci_flag(os.as_deref()), ci, "CI={value:?}");
    }
}

#[test]
fn present_set_up_is_returned_in_and_out_of_ci() {
    assert_eq!(require_in(true, "x", Some(3), "get x"), Some(3));
    assert_eq!(require_in(false, "x", Some(3), "get x"), Some(3));
}

#[test]
fn missing_set_up_skips_outside_ci() {
    assert_eq!(require_in::<u8>(false, "x", None, "get x"), None);
}

#[test]
fn missing_set_up_fails_under_ci_naming_what_and_how() {
    let err = std::panic::catch_unwind(|| {
        require_in::<u8>(true, "llama-server (not in /c/llama.cpp)", None, "run it")
    })
    .unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert_eq!(
        msg,
        "MISSING SET-UP: llama-server (not in /c/llama.cpp) (run it); CI must provide it"
    );
}

#[test]
fn newest_llama_server_compares_versions_as_numbers() {
    let root = tempfile::tempdir().unwrap();
    for v in ["9.0.0", "11434.0.0", "10000.2.0", "99999.0.0"] {
        let bin = root.path().join(v).join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        // 99999.0.0 has no executable: passed over.
        if v != "99999.0.0" {
            std::fs::write(bin.join("llama-server"), "").unwrap();
        }
    }
    assert_eq!(
        newest_llama_server(root.path()).unwrap(),
        root.path().join("11434.0.0/bin/llama-server")
    );
    assert_eq!(newest_llama_server(&root.path().join("absent")), None);
}

#[test]
fn find_program_needs_an_executable_file() {
    // `sh` is on every PATH the tests run with; a made-up name is not.
    assert!(find_program(&["tokbench-no-such-program", "sh"]).is_some_and(|p| p.ends_with("sh")));
    assert_eq!(find_program(&["tokbench-no-such-program"]), None);
}
