//! `--dry-run` output: each configuration and its command line
//! ([`dry_run_text`]).

use crate::error::SweepError;
use crate::space::Config;

/// The dry-run text: per configuration a line `[1/8] threads=1, flash-attn=on`
/// then, indented by four spaces, the words `args_of` gives for it (quoted
/// like a shell would need where they hold spaces or quotes), and finally
/// `8 configurations`.
///
/// # Errors
/// The first error of `args_of`.
pub fn dry_run_text(
    configs: &[Config],
    args_of: impl Fn(&Config) -> Result<Vec<String>, SweepError>,
) -> Result<String, SweepError> {
    let mut out = String::new();
    let total = configs.len();
    for (i, config) in configs.iter().enumerate() {
        let words: Vec<String> = args_of(config)?.iter().map(|w| quote(w)).collect();
        out.push_str(&format!("[{}/{total}] {}\n", i + 1, config.label));
        out.push_str(&format!("    {}\n", words.join(" ")));
    }
    let noun = if total == 1 {
        "configuration"
    } else {
        "configurations"
    };
    out.push_str(&format!("{total} {noun}\n"));
    Ok(out)
}

/// `word` as a shell would need it: as is when it has only safe
/// characters, else in single quotes.
fn quote(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_.,/:=+@%".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::recipe::{config_args, Recipe};
    use crate::space::Space;

    #[test]
    fn one_block_per_configuration_then_the_count() {
        let sets = [
            ("threads".to_owned(), vec!["1".to_owned(), "2".to_owned()]),
            ("flash-attn".to_owned(), vec!["on".to_owned()]),
        ];
        let configs = Space::from_sets(&sets).unwrap().configs();
        let text = dry_run_text(&configs, |c| {
            let mut words = vec![
                "llama-server".to_owned(),
                "-m".to_owned(),
                "my model.gguf".to_owned(),
            ];
            words.extend(config_args(&Recipe::LlamaCpp, c)?);
            Ok(words)
        })
        .unwrap();
        assert_eq!(
            text,
            "[1/2] threads=1, flash-attn=on\n    llama-server -m 'my model.gguf' --threads 1 --flash-attn on\n\
             [2/2] threads=2, flash-attn=on\n    llama-server -m 'my model.gguf' --threads 2 --flash-attn on\n\
             2 configurations\n"
        );
    }

    #[test]
    fn errors_pass_through_and_one_is_singular() {
        let sets = [("parallel".to_owned(), vec!["4".to_owned()])];
        let configs = Space::from_sets(&sets).unwrap().configs();
        let e = dry_run_text(&configs, |c| config_args(&Recipe::LlamaCpp, c)).unwrap_err();
        assert!(matches!(e, SweepError::Refused { .. }), "{e}");
        let text = dry_run_text(&configs, |_| Ok(vec!["it's".to_owned()])).unwrap();
        assert_eq!(text, "[1/1] parallel=4\n    'it'\\''s'\n1 configuration\n");
    }
}
