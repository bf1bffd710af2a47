#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn values<'a>(args: &'a [String]) -> TemplateValues<'a> {
    TemplateValues {
        model: Path::new("/models/m 1.gguf"),
        host: "127.0.0.1",
        port: 8123,
        threads: 4,
        ctx_size: 4096,
        parallel: 2,
        args,
    }
}

#[test]
fn expands_every_placeholder_and_args_as_separate_words() {
    let t = CommandTemplate::parse(
        "my-engine serve --model {model} --host={host} --port {port} -t {threads} \
         -c {ctx_size} -np {parallel} {args} --tail 'a b'",
    )
    .unwrap();
    let args = vec!["--kappa".to_owned(), "0.5".to_owned()];
    let words = t.expand(&values(&args));
    assert_eq!(
        words,
        [
            "my-engine",
            "serve",
            "--model",
            "/models/m 1.gguf",
            "--host=127.0.0.1",
            "--port",
            "8123",
            "-t",
            "4",
            "-c",
            "4096",
            "-np",
            "2",
            "--kappa",
            "0.5",
            "--tail",
            "a b",
        ]
    );
    assert_eq!(t.program_name(), "my-engine");
}

#[test]
fn empty_args_expand_to_nothing_and_json_braces_stay_literal() {
    let t = CommandTemplate::parse(r#"/opt/e/bin/eng {args} --cfg '{"a": {"b": 1}}' x{port}y"#)
        .unwrap();
    let words = t.expand(&values(&[]));
    assert_eq!(
        words,
        ["/opt/e/bin/eng", "--cfg", r#"{"a": {"b": 1}}"#, "x8123y"]
    );
    assert_eq!(t.program_name(), "eng");
}

#[test]
fn unknown_placeholder_is_named() {
    let err = CommandTemplate::parse("eng --model {modle} --port {port}").unwrap_err();
    assert_eq!(
        err,
        TemplateError::UnknownPlaceholder {
            name: "modle".into(),
            template: "eng --model {modle} --port {port}".into(),
        }
    );
    let msg = err.to_string();
    assert!(
        msg.contains("{modle}") && msg.contains("{ctx_size}"),
        "{msg}"
    );
}

#[test]
fn args_must_be_its_own_word_after_the_program() {
    for t in ["eng --flags={args}", "{args} eng", "eng '{args}x'"] {
        let err = CommandTemplate::parse(t).unwrap_err();
        assert!(
            matches!(err, TemplateError::ArgsNotAWord { .. }),
            "{t}: {err}"
        );
    }
}

#[test]
fn unsplittable_and_empty_templates_are_errors() {
    let err = CommandTemplate::parse("eng --name 'unclosed").unwrap_err();
    assert!(matches!(err, TemplateError::Split { .. }), "{err}");
    assert_eq!(
        CommandTemplate::parse("   ").unwrap_err(),
        TemplateError::Empty
    );
}

#[test]
fn engine_from_command_is_named_after_its_program_with_default_health() {
    let e = TemplateEngine::from_command("/usr/local/bin/dlmserve --port {port}").unwrap();
    assert_eq!(e.name, "dlmserve");
    assert_eq!(e.health.describe(), "GET /health answers 200");
    assert_eq!(e.build_info(), "template backend (--backend-cmd)");
    let line = e.command_line(&values(&[]), &[("A".into(), "1".into())]);
    assert_eq!(line.program, Path::new("/usr/local/bin/dlmserve"));
    assert_eq!(line.args, ["--port", "8123"]);
    assert_eq!(line.env, [("A".to_owned(), "1".to_owned())]);
}

#[test]
fn secrets_in_a_template_are_redacted_in_the_recorded_command() {
    let e = TemplateEngine::from_command("eng --port {port} --api-key sk-SECRET").unwrap();
    let line = e.command_line(&values(&[]), &[]);
    let recorded = line.redacted().join(" ");
    assert!(!recorded.contains("sk-SECRET"), "{recorded}");
    assert!(recorded.contains("--api-key ***"), "{recorded}");
}

#[test]
fn bad_log_pattern_is_an_error() {
    let err = TemplateHealth::log_line("ready (").unwrap_err();
    assert!(matches!(err, TemplateError::BadPattern { .. }), "{err}");
    assert!(TemplateHealth::log_line("listening on .*:\\d+").is_ok());
}
