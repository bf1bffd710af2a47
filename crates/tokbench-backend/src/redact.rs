//! Hides secrets in command lines before they are logged or recorded.
//!
//! Rules, applied token by token:
//! - the token after `--api-key`, `--hf-token` or `--token` becomes `***`;
//! - a `NAME=value` token whose `NAME` looks like a flag or an environment
//!   variable (`[-]*[A-Za-z_][A-Za-z0-9_-]*`) and contains `KEY`, `TOKEN`,
//!   `SECRET` or `PASSWORD` (any case) becomes `NAME=***` — this covers
//!   `--api-key=…`, `HF_TOKEN=…` and `OPENAI_API_KEY=…`;
//! - the JSON after `--extra-body` (next token, or `--extra-body=JSON`)
//!   has the value of every secret key ([`is_secret_json_key`]), at any
//!   depth, replaced by `"***"`; JSON that does not parse is replaced
//!   whole by `***` ([`redact_json`]);
//! - a command template after `--backend-cmd`, `--a-backend-cmd` or
//!   `--b-backend-cmd` (next token, or `--backend-cmd=TEMPLATE`) is split
//!   into words like a shell would, redacted by these rules and joined
//!   again ([`redact_template`]);
//! - the user-info of every URL in a token (`scheme://user:pass@host`)
//!   loses its password, or, without a password, its user (which may be a
//!   token): `https://user:***@host/`, `https://***@host/`
//!   ([`redact_url_userinfo`]).
//!
//! Dotted names such as `tokenizer.ggml.add_bos_token=bool:false` (a
//! llama.cpp `--override-kv` value) are not environment-like and are kept.

use serde_json::Value;

/// What a secret is replaced with.
pub const REDACTED: &str = "***";

/// Flags whose following argument is a secret.
pub const SECRET_FLAGS: [&str; 3] = ["--api-key", "--hf-token", "--token"];

/// Words that make a `NAME=value` name secret (matched case-insensitively).
pub const SECRET_WORDS: [&str; 4] = ["KEY", "TOKEN", "SECRET", "PASSWORD"];

/// Flags whose value is a command template ([`redact_template`]).
pub const TEMPLATE_FLAGS: [&str; 3] = ["--backend-cmd", "--a-backend-cmd", "--b-backend-cmd"];

/// The flag whose value is a JSON object merged into request bodies.
pub const JSON_FLAG: &str = "--extra-body";

/// JSON keys whose values are secret, lower case without `_` or `-`
/// (compared with the key normalised the same way).
pub const SECRET_JSON_KEYS: [&str; 14] = [
    "apikey",
    "token",
    "accesstoken",
    "refreshtoken",
    "authtoken",
    "bearertoken",
    "idtoken",
    "authorization",
    "password",
    "passwd",
    "secret",
    "clientsecret",
    "secretkey",
    "privatekey",
];

/// Endings of normalised JSON keys that make them secret (as
/// [`SECRET_JSON_KEYS`]): `openai_api_key`, `db_password`, `x-client-secret`.
pub const SECRET_JSON_KEY_ENDINGS: [&str; 3] = ["apikey", "password", "secret"];

/// What the next token is, after the one just read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Next {
    /// An ordinary token.
    Plain,
    /// The value of a [`SECRET_FLAGS`] flag.
    Secret,
    /// The JSON of [`JSON_FLAG`].
    Json,
    /// The command template of a [`TEMPLATE_FLAGS`] flag.
    Template,
}

/// Returns `args` with secrets replaced by [`REDACTED`] (see the module
/// rules); other tokens are unchanged and the length is preserved.
pub fn redact_args<S: AsRef<str>>(args: &[S]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut next = Next::Plain;
    for arg in args {
        let arg = arg.as_ref();
        let token = match next {
            Next::Secret => REDACTED.to_owned(),
            Next::Json => redact_json(arg),
            Next::Template => redact_template(arg),
            Next::Plain => redact_token(arg),
        };
        next = match (next, arg) {
            (Next::Plain, a) if SECRET_FLAGS.contains(&a) => Next::Secret,
            (Next::Plain, a) if TEMPLATE_FLAGS.contains(&a) => Next::Template,
            (Next::Plain, JSON_FLAG) => Next::Json,
            _ => Next::Plain,
        };
        out.push(redact_url_userinfo(&token));
    }
    out
}

/// One token that is not a flag's value: a secret `NAME=value` pair, or
/// `--extra-body=JSON`, redacted; anything else unchanged.
fn redact_token(token: &str) -> String {
    if let Some(json) = token
        .strip_prefix(JSON_FLAG)
        .and_then(|rest| rest.strip_prefix('='))
    {
        return format!("{JSON_FLAG}={}", redact_json(json));
    }
    for flag in TEMPLATE_FLAGS {
        if let Some(t) = token.strip_prefix(flag).and_then(|r| r.strip_prefix('=')) {
            return format!("{flag}={}", redact_template(t));
        }
    }
    redact_pair(token).unwrap_or_else(|| token.to_owned())
}

/// `Some("NAME=***")` when `token` is a `NAME=value` pair with a secret
/// name (see the module rules), else `None`.
pub fn redact_pair(token: &str) -> Option<String> {
    let (name, _value) = token.split_once('=')?;
    (is_env_or_flag_name(name) && is_secret_name(name)).then(|| format!("{name}={REDACTED}"))
}

/// A command template (one string, split like a shell would) with its
/// secrets redacted word by word ([`redact_args`]) and joined again with
/// shell quoting; unchanged when it holds no secret; [`REDACTED`] as a
/// whole when it cannot be split.
pub fn redact_template(template: &str) -> String {
    let Some(words) = shlex::split(template) else {
        return REDACTED.to_owned();
    };
    let redacted = redact_args(&words);
    if redacted == words {
        return template.to_owned();
    }
    shlex::try_join(redacted.iter().map(String::as_str)).unwrap_or_else(|_| REDACTED.to_owned())
}

/// Whether `name` contains one of [`SECRET_WORDS`] (any case).
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_WORDS.iter().any(|w| upper.contains(w))
}

fn is_env_or_flag_name(name: &str) -> bool {
    let bare = name.trim_start_matches('-');
    let mut chars = bare.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Whether a JSON object key names a secret: lower-cased and stripped of
/// `_` and `-`, it is one of [`SECRET_JSON_KEYS`] or ends with one of
/// [`SECRET_JSON_KEY_ENDINGS`]. `max_tokens` and `cache_prompt` are not.
pub fn is_secret_json_key(key: &str) -> bool {
    let norm: String = key
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    SECRET_JSON_KEYS.contains(&norm.as_str())
        || SECRET_JSON_KEY_ENDINGS.iter().any(|e| norm.ends_with(e))
}

/// `text` (a JSON document) with the value of every secret key
/// ([`is_secret_json_key`]), in objects at any depth, replaced by the
/// string `"***"`. Unchanged, byte for byte, when it holds no secret key;
/// re-serialised compactly (keys sorted) when it does; [`REDACTED`] as a
/// whole when it is not valid JSON, since its secrets cannot be told apart.
pub fn redact_json(text: &str) -> String {
    let Ok(mut value) = serde_json::from_str::<Value>(text) else {
        return REDACTED.to_owned();
    };
    if !redact_json_value(&mut value) {
        return text.to_owned();
    }
    serde_json::to_string(&value).unwrap_or_else(|_| REDACTED.to_owned())
}

/// Replaces secret values in `value` in place; `true` if any was.
fn redact_json_value(value: &mut Value) -> bool {
    match value {
        Value::Object(map) => {
            let mut changed = false;
            for (key, v) in map.iter_mut() {
                if is_secret_json_key(key) {
                    *v = Value::String(REDACTED.to_owned());
                    changed = true;
                } else {
                    changed |= redact_json_value(v);
                }
            }
            changed
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, v| redact_json_value(v) | changed),
        _ => false,
    }
}

/// Characters that end a URL's authority: its delimiters (`/ ? #`) and
/// characters no authority holds, which end a URL inside other text
/// (quotes, spaces, brackets).
fn ends_authority(c: char) -> bool {
    matches!(
        c,
        '/' | '?' | '#' | '"' | '<' | '>' | '\\' | '^' | '`' | '{' | '|' | '}' | '[' | ']'
    ) || c.is_whitespace()
}

/// `text` with the user-info of every `scheme://user[:password]@host`
/// hidden: `user:password@` becomes `user:***@`, a bare `user@` (which may
/// be a token) becomes `***@`. The user-info ends at the last `@` before
/// the authority ends: at `/`, `?`, `#`, whitespace, a double quote, a
/// bracket, or at the scheme of a next URL (`…,https://…`). Text without
/// a URL with user-info is returned unchanged.
pub fn redact_url_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        // The next URL's scheme (`…,https://…`) ends this authority too,
        // so that its user-info is not skipped.
        let end = tail.find(ends_authority).unwrap_or(tail.len());
        let end = match tail.find("://") {
            Some(next) if next < end => tail[..next]
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
                .map_or(0, |i| i + 1),
            _ => end,
        };
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                let userinfo = &authority[..at];
                match userinfo.split_once(':') {
                    Some((user, _password)) => out.push_str(&format!("{user}:{REDACTED}")),
                    None => out.push_str(REDACTED),
                }
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(args: &[&str]) -> Vec<String> {
        redact_args(args)
    }

    #[test]
    fn command_templates_are_redacted_inside() {
        let t = "eng --port {port} --api-key sk-SECRET 'a b' HF_TOKEN=hf";
        let out = r(&[
            "tokbench",
            "run",
            "--backend-cmd",
            t,
            "--a-backend-cmd=eng --token x1",
        ]);
        assert_eq!(
            out[3],
            "eng --port '{port}' --api-key '***' 'a b' 'HF_TOKEN=***'"
        );
        // Re-splitting gives the redacted words, placeholders intact.
        let words = shlex::split(&out[3]).unwrap();
        assert_eq!(words[2], "{port}");
        assert_eq!(words[4], "***");
        assert_eq!(out[4], "--a-backend-cmd=eng --token '***'");
        assert!(!out.join(" ").contains("SECRET") && !out.join(" ").contains("x1"));
        let plain = "eng --port {port} {args}";
        assert_eq!(
            r(&["--b-backend-cmd", plain])[1],
            plain,
            "unchanged without secrets"
        );
        assert_eq!(redact_template("eng 'unclosed --api-key k"), REDACTED);
    }

    #[test]
    fn hides_values_after_secret_flags() {
        assert_eq!(
            r(&[
                "serve",
                "--api-key",
                "sk-1",
                "--hf-token",
                "hf_x",
                "--token",
                "t",
                "--port",
                "80"
            ]),
            [
                "serve",
                "--api-key",
                "***",
                "--hf-token",
                "***",
                "--token",
                "***",
                "--port",
                "80"
            ]
        );
    }

    #[test]
    fn hides_secret_pairs_in_flags_and_env() {
        assert_eq!(
            r(&[
                "HF_TOKEN=hf_x",
                "OPENAI_API_KEY=sk",
                "db_password=p",
                "--api-key=sk",
                "MY_SECRET=s"
            ]),
            [
                "HF_TOKEN=***",
                "OPENAI_API_KEY=***",
                "db_password=***",
                "--api-key=***",
                "MY_SECRET=***"
            ]
        );
    }

    #[test]
    fn keeps_harmless_tokens() {
        let args = [
            "OLLAMA_HOST=127.0.0.1:80",
            "-ngl=99",
            "--override-kv",
            "tokenizer.ggml.add_bos_token=bool:false",
            "--ctx-size",
            "2048",
            "a=b=c",
        ];
        assert_eq!(r(&args), args);
    }

    #[test]
    fn a_trailing_secret_flag_is_harmless_and_length_is_kept() {
        assert_eq!(r(&["x", "--api-key"]), ["x", "--api-key"]);
        assert_eq!(
            r(&["--api-key", "--api-key", "v"]),
            ["--api-key", "***", "v"]
        );
    }

    #[test]
    fn secret_name_matching_is_case_insensitive() {
        assert!(is_secret_name("hf_token"));
        assert!(is_secret_name("ApiKey"));
        assert!(!is_secret_name("OLLAMA_HOST"));
        assert_eq!(redact_pair("Password=x").as_deref(), Some("Password=***"));
        assert_eq!(redact_pair("no-equals-key"), None);
    }

    #[test]
    fn hides_url_userinfo_anywhere_in_a_token() {
        assert_eq!(
            r(&[
                "--url",
                "https://user:pa55@host.example/v1",
                "--url=http://alice:s3cret@10.0.0.1:8080",
                "DATABASE_URL=postgres://db:pw@db.local/x?sslmode=require",
                "https://ghp_abc@github.com/o/r.git",
                "http://u:p@[::1]:8000/",
                "a=http://x:y@h1,b=https://z:w@h2/p",
            ]),
            [
                "--url",
                "https://user:***@host.example/v1",
                "--url=http://alice:***@10.0.0.1:8080",
                "DATABASE_URL=postgres://db:***@db.local/x?sslmode=require",
                "https://***@github.com/o/r.git",
                "http://u:***@[::1]:8000/",
                "a=http://x:***@h1,b=https://z:***@h2/p",
            ]
        );
    }

    #[test]
    fn url_userinfo_ends_at_the_last_at_sign_of_the_authority() {
        // An unescaped `@` in the password: everything before the last one
        // is user-info. An `@` in the path or query is not.
        assert_eq!(
            redact_url_userinfo("https://u:p@ss@h/x@y?to=a@b"),
            "https://u:***@h/x@y?to=a@b"
        );
        assert_eq!(
            redact_url_userinfo("http://h/a@b and http://h2?x=@"),
            "http://h/a@b and http://h2?x=@"
        );
        // A URL without user-info right before one with it.
        assert_eq!(
            redact_url_userinfo("http://h1,git+ssh://me:pw@h2"),
            "http://h1,git+ssh://me:***@h2"
        );
    }

    #[test]
    fn keeps_urls_without_userinfo_and_text_without_urls() {
        for text in [
            "http://127.0.0.1:8080/v1",
            "user@example.com",
            "hf://org/model@main",
            "",
            "://",
        ] {
            assert_eq!(redact_url_userinfo(text), text);
        }
    }

    #[test]
    fn hides_secret_keys_in_extra_body_json_at_any_depth() {
        let body = r#"{"api_key":"sk-1","cache_prompt":true,"max_tokens":8,
            "nested":{"Access-Token":"t","list":[{"PASSWORD":"p"},{"n":1}]},
            "Authorization":{"scheme":"Bearer"},"openai_api_key":"sk-2"}"#;
        let out = r(&["run", "--extra-body", body]);
        assert_eq!(out[..2], ["run", "--extra-body"]);
        let v: Value = serde_json::from_str(&out[2]).unwrap();
        let expected: Value = serde_json::json!({
            "api_key": "***",
            "cache_prompt": true,
            "max_tokens": 8,
            "nested": {"Access-Token": "***", "list": [{"PASSWORD": "***"}, {"n": 1}]},
            "Authorization": "***",
            "openai_api_key": "***",
        });
        assert_eq!(v, expected);
        assert!(!out[2].contains("sk-"));
    }

    #[test]
    fn extra_body_as_a_pair_and_inner_urls_are_redacted() {
        assert_eq!(
            r(&[r#"--extra-body={"token":"t","x":1}"#]),
            [r#"--extra-body={"token":"***","x":1}"#]
        );
        assert_eq!(
            r(&["--extra-body", r#"{"proxy":"http://u:p@h:3128"}"#]),
            ["--extra-body", r#"{"proxy":"http://u:***@h:3128"}"#]
        );
    }

    #[test]
    fn extra_body_without_secrets_is_kept_byte_for_byte() {
        let body = r#"{ "z": 1, "cache_prompt": false, "max_tokens": 4, "top_k": 2 }"#;
        assert_eq!(r(&["--extra-body", body]), ["--extra-body", body]);
    }

    #[test]
    fn unparseable_extra_body_is_hidden_whole() {
        assert_eq!(
            r(&["--extra-body", r#"{"api_key": "sk-1""#, "--port", "8"]),
            ["--extra-body", "***", "--port", "8"]
        );
        assert_eq!(r(&["--extra-body=not json"]), ["--extra-body=***"]);
    }

    #[test]
    fn secret_json_keys_are_matched_after_normalising() {
        for key in [
            "api_key",
            "apikey",
            "API-KEY",
            "x-api-key",
            "token",
            "access_token",
            "Authorization",
            "password",
            "db_password",
            "secret",
            "client_secret",
        ] {
            assert!(is_secret_json_key(key), "{key}");
        }
        for key in [
            "max_tokens",
            "add_bos_token",
            "cache_prompt",
            "keys",
            "n_predict",
            "tokenizer",
        ] {
            assert!(!is_secret_json_key(key), "{key}");
        }
    }
}
