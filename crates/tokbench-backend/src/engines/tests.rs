#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn err(text: &str) -> EnginesFileError {
    parse_engines(text, Path::new("conf/engines.yaml")).unwrap_err()
}

#[test]
fn reads_every_field_and_health_variant() {
    let text = "engines:\n  a:\n    command: a-serve --port {port} {args}\n    version: a-serve --version\n    env: {A_CACHE: /tmp/c}\n  b:\n    command: b --port {port}\n    health: {models: true}\n  c:\n    command: c --port {port}\n    health: {log: 'listening on \\d+'}\n  d:\n    command: d --port {port}\n    health: {http: /ready}\n";
    let f = parse_engines(text, Path::new("conf/engines.yaml")).unwrap();
    assert_eq!(f.engines.len(), 4);
    let a = f.engine("a").unwrap();
    assert_eq!(a.name, "a");
    assert_eq!(a.origin, "engines.yaml");
    assert_eq!(
        a.version_command.as_deref().unwrap(),
        ["a-serve", "--version"]
    );
    assert_eq!(a.env, [("A_CACHE".to_owned(), "/tmp/c".to_owned())]);
    assert_eq!(a.health.describe(), "GET /health answers 200");
    assert_eq!(
        f.engine("b").unwrap().health.describe(),
        "GET /v1/models lists a model"
    );
    assert!(f
        .engine("c")
        .unwrap()
        .health
        .describe()
        .contains("listening on"));
    assert_eq!(
        f.engine("d").unwrap().health.describe(),
        "GET /ready answers 200"
    );
    let e = f.engine("zz").unwrap_err().to_string();
    assert!(e.contains("\"zz\"") && e.contains("a, b, c, d"), "{e}");
}

#[test]
fn unknown_placeholder_names_file_and_line() {
    let e =
        err("engines:\n  a:\n    command: a --port {port}\n  b:\n    command: b --model {modle}\n");
    assert_eq!(
        (e.line, e.path.as_path()),
        (5, Path::new("conf/engines.yaml"))
    );
    let msg = e.to_string();
    assert!(msg.starts_with("conf/engines.yaml:5: engine b:"), "{msg}");
    assert!(msg.contains("{modle}"), "{msg}");
}

#[test]
fn unknown_field_and_broken_yaml_name_the_line() {
    let e = err("engines:\n  a:\n    command: a --port {port}\n    helth: {http: /h}\n");
    assert_eq!(e.line, 4, "{e}");
    assert!(e.to_string().contains("helth"), "{e}");
    let e = err("engines:\n  a:\n    command: [unclosed\n");
    assert!(e.line >= 3, "{e}");
    assert!(e.to_string().starts_with("conf/engines.yaml:"), "{e}");
}

#[test]
fn health_needs_exactly_one_check_and_a_valid_one() {
    let e = err("engines:\n  a:\n    command: a\n    health: {http: /h, models: true}\n");
    assert_eq!(e.line, 4, "{e}");
    assert!(e.message.contains("exactly one"), "{e}");
    let e = err("engines:\n  a:\n    command: a\n\n    health:\n      http: health\n");
    assert_eq!(e.line, 6, "{e}");
    assert!(e.message.contains("must start with /"), "{e}");
    let e = err("engines:\n  a:\n    command: a\n    health: {log: 'x('}\n");
    assert_eq!(e.line, 4, "{e}");
    let e = err("engines: {}\n");
    assert!(e.message.contains("no engine"), "{e}");
}

#[test]
fn unreadable_file_is_named() {
    let e = read_engines(Path::new("/nonexistent/engines.yaml")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("/nonexistent/engines.yaml: cannot read"),
        "{e}"
    );
}

#[test]
fn the_shipped_example_parses() {
    let text = include_str!("../../../../examples/engines.yaml");
    let f = parse_engines(text, Path::new("examples/engines.yaml")).unwrap();
    let names: Vec<_> = f.engines.keys().map(String::as_str).collect();
    assert_eq!(names, ["emulator", "llama-template", "my-engine"]);
    let llama = f.engine("llama-template").unwrap();
    assert!(llama.command.source().contains("--ctx-size {ctx_size}"));
    assert_eq!(
        f.engine("emulator").unwrap().health.describe(),
        "GET /v1/models lists a model"
    );
}

#[test]
fn flags_map_sweep_names_to_spellings() {
    let text = "engines:\n  diff:\n    command: diff-serve --port {port} {args}\n    flags:\n      kappa: --kappa-value\n      tau: -t\n  plain:\n    command: plain --port {port}\n";
    let f = parse_engines(text, Path::new("conf/engines.yaml")).unwrap();
    let diff = f.engine("diff").unwrap();
    assert_eq!(
        diff.flag_spellings.get("kappa").map(String::as_str),
        Some("--kappa-value")
    );
    assert_eq!(
        diff.flag_spellings.get("tau").map(String::as_str),
        Some("-t")
    );
    assert!(f.engine("plain").unwrap().flag_spellings.is_empty());
    let cmd = TemplateEngine::from_command("x --port {port}").unwrap();
    assert!(cmd.flag_spellings.is_empty());
}

#[test]
fn a_flag_spelling_without_a_dash_names_file_and_line() {
    let e = err("engines:\n  diff:\n    command: d --port {port}\n    flags:\n      tau: --tau\n      kappa: kappa-value\n");
    assert_eq!(e.line, 6, "{e}");
    let msg = e.to_string();
    assert!(
        msg.starts_with("conf/engines.yaml:6: engine diff: flags: kappa:"),
        "{msg}"
    );
    assert!(
        msg.contains("\"kappa-value\"") && msg.contains("starting with -"),
        "{msg}"
    );
    let e = err("engines:\n  diff:\n    command: d\n    flags: {Kappa: --k}\n");
    assert_eq!(e.line, 4, "{e}");
    assert!(e.message.contains("\"Kappa\""), "{e}");
    let e = err("engines:\n  diff:\n    command: d\n    flags: {kappa: --k v}\n");
    assert!(e.message.contains("one word"), "{e}");
}
