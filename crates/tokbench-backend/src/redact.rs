//! Hides secrets in command lines before they are logged or recorded.
//!
//! Rules, applied token by token:
//! - the token after `--api-key`, `--hf-token` or `--token` becomes `***`;
//! - a `NAME=value` token whose `NAME` looks like a flag or an environment
//!   variable (`[-]*[A-Za-z_][A-Za-z0-9_-]*`) and contains `KEY`, `TOKEN`,
//!   `SECRET` or `PASSWORD` (any case) becomes `NAME=***` — this covers
//!   `--api-key=…`, `HF_TOKEN=…` and `OPENAI_API_KEY=…`.
//!
//! Dotted names such as `tokenizer.ggml.add_bos_token=bool:false` (a
//! llama.cpp `--override-kv` value) are not environment-like and are kept.

/// What a secret is replaced with.
pub const REDACTED: &str = "***";

/// Flags whose following argument is a secret.
pub const SECRET_FLAGS: [&str; 3] = ["--api-key", "--hf-token", "--token"];

/// Words that make a `NAME=value` name secret (matched case-insensitively).
pub const SECRET_WORDS: [&str; 4] = ["KEY", "TOKEN", "SECRET", "PASSWORD"];

/// Returns `args` with secrets replaced by [`REDACTED`]; other tokens are
/// unchanged and the length is preserved.
pub fn redact_args<S: AsRef<str>>(args: &[S]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut hide_next = false;
    for arg in args {
        let arg = arg.as_ref();
        if hide_next {
            out.push(REDACTED.to_owned());
            hide_next = false;
            continue;
        }
        hide_next = SECRET_FLAGS.contains(&arg);
        out.push(redact_pair(arg).unwrap_or_else(|| arg.to_owned()));
    }
    out
}

/// `Some("NAME=***")` when `token` is a `NAME=value` pair with a secret
/// name (see the module rules), else `None`.
pub fn redact_pair(token: &str) -> Option<String> {
    let (name, _value) = token.split_once('=')?;
    (is_env_or_flag_name(name) && is_secret_name(name)).then(|| format!("{name}={REDACTED}"))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn r(args: &[&str]) -> Vec<String> {
        redact_args(args)
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
}
