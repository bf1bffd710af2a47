use serde_json::json;

use super::*;

#[test]
fn llama_props_fill_slots_ctx_and_version() {
    let props: Value = serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/props_llama.json"
    )))
    .unwrap();
    let mut info = BackendInfo::new(BackendKind::LlamaCpp);
    apply_llama_props(&mut info, props);
    assert_eq!(info.total_slots, Some(2));
    assert_eq!(info.n_ctx, Some(1024));
    assert_eq!(info.version.as_deref(), Some("4821"));
    assert_eq!(info.commit.as_deref(), Some("7ab36439"));
    assert_eq!(info.build.as_deref(), Some("b4821-7ab36439"));
    let props = info.props.as_ref().unwrap();
    assert!(props["model_path"].as_str().unwrap().ends_with(".gguf"));
}

#[test]
fn version_output_wins_over_build_info() {
    let mut info = BackendInfo::new(BackendKind::LlamaCpp);
    info.version = Some("9000".into());
    info.build = Some("clang for x86_64".into());
    apply_llama_props(&mut info, json!({"build_info": "b1-abc", "n_ctx": 512}));
    assert_eq!(info.version.as_deref(), Some("9000"));
    assert_eq!(info.commit.as_deref(), Some("abc"));
    assert_eq!(info.build.as_deref(), Some("clang for x86_64"));
    assert_eq!(info.n_ctx, Some(512));
    assert_eq!(info.total_slots, None);
}

#[test]
fn models_give_vllm_context() {
    let mut info = BackendInfo::new(BackendKind::Vllm);
    apply_models(
        &mut info,
        Some(json!({"data": [{"id": "m", "max_model_len": 4096}]})),
    );
    assert_eq!(info.n_ctx, Some(4096));
    assert!(info.props.is_some());
    assert_eq!(
        version_field(&json!({"version": "0.8.5"})).as_deref(),
        Some("0.8.5")
    );
    assert_eq!(version_field(&json!({"v": 1})), None);
}

#[test]
fn info_serialises_with_snake_case_kind() {
    let mut info = BackendInfo::new(BackendKind::Ollama);
    info.version = Some("0.5.7".into());
    let v = serde_json::to_value(&info).unwrap();
    assert_eq!(v["kind"], "ollama");
    assert_eq!(v["version"], "0.5.7");
    let back: BackendInfo = serde_json::from_value(v).unwrap();
    assert_eq!(back, info);
}

#[tokio::test]
async fn run_capture_returns_both_streams_and_times_out() {
    let sh = std::path::Path::new("/bin/sh");
    let env = [("GREETING".to_owned(), "hi".to_owned())];
    let out = run_capture(
        sh,
        &["-c", "echo out $GREETING; echo err >&2; exit 3"],
        &env,
        PROBE_TIMEOUT,
    )
    .await
    .unwrap();
    assert!(out.contains("out hi") && out.contains("err"), "{out}");
    let slow = run_capture(sh, &["-c", "sleep 5"], &[], Duration::from_millis(100)).await;
    assert_eq!(slow, None);
    assert_eq!(
        run_capture(
            std::path::Path::new("/nonexistent/x"),
            &[],
            &[],
            PROBE_TIMEOUT
        )
        .await,
        None
    );
}
