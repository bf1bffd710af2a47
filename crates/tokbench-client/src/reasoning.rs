//! Asking a model to think or not (`tokbench run --reasoning on|off|auto`):
//! the per-family table of switches (docs/methodology.md#reasoning).
//!
//! No OpenAI-compatible API has one switch for "thinking": each chat
//! template reads its own variable, so the switch depends on the model's
//! family. The table (first matching row wins; matched case-insensitively
//! against the record's `model.family`, `model.architecture` and the model
//! id):
//!
//! | family (match) | `off` | `on` |
//! |---|---|---|
//! | DeepSeek-R1 distills (`r1-distill`, `deepseek-r1`) | nothing: no switch known | nothing |
//! | gpt-oss (`gpt-oss`) | `reasoning_effort: "low"` (cannot be fully off) | nothing (always reasons) |
//! | SmolLM3 (`smollm3`) | `/no_think` at the end of the system message | `/think` |
//! | Granite (`granite`) | `chat_template_kwargs: {"thinking": false}` | `{"thinking": true}` |
//! | Qwen3, QwQ (`qwen3`, `qwq`) | `chat_template_kwargs: {"enable_thinking": false}` | `{"enable_thinking": true}` |
//! | anything else | `chat_template_kwargs: {"enable_thinking": false}` | `{"enable_thinking": true}` |
//!
//! `chat_template_kwargs` is accepted by llama-server (with `--jinja`, the
//! default) and by vLLM and SGLang; a template that does not read the
//! variable ignores it, which is why the fallback row is harmless.
//! `reasoning_effort` is only sent to gpt-oss (vLLM accepts only
//! `low`/`medium`/`high`).

use serde_json::{json, Map, Value};

/// What the run asks of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReasoningMode {
    /// Send nothing; record what happened.
    #[default]
    Auto,
    /// Ask the model to think.
    On,
    /// Ask the model not to think.
    Off,
}

impl ReasoningMode {
    /// `auto`, `on` or `off`, as written in records.
    pub fn as_str(self) -> &'static str {
        match self {
            ReasoningMode::Auto => "auto",
            ReasoningMode::On => "on",
            ReasoningMode::Off => "off",
        }
    }
}

/// How a request asks for a [`ReasoningMode`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReasoningSwitch {
    /// Top-level fields merged into every request body.
    pub body: Map<String, Value>,
    /// Text appended (after a newline) to the system message of every chat
    /// request, e.g. SmolLM3's `/no_think`.
    pub system_marker: Option<String>,
    /// What was sent, in words, for the record (`chat_template_kwargs:
    /// {"enable_thinking":false}`, `no switch known`, …).
    pub description: String,
}

/// Which row of the [module's table](self) a model falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    R1Distill,
    GptOss,
    SmolLm3,
    Granite,
    Qwen3,
    Other,
}

fn family_of(names: &[&str]) -> Family {
    let text = names.join(" ").to_ascii_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| text.contains(n));
    if has(&["r1-distill", "deepseek-r1"]) {
        Family::R1Distill
    } else if has(&["gpt-oss", "gpt_oss", "gptoss"]) {
        Family::GptOss
    } else if has(&["smollm3"]) {
        Family::SmolLm3
    } else if has(&["granite"]) {
        Family::Granite
    } else if has(&["qwen3", "qwq"]) {
        Family::Qwen3
    } else {
        Family::Other
    }
}

/// The switch for `mode` on a model named by `names` (family,
/// architecture, model id; any may be empty). `None` for
/// [`ReasoningMode::Auto`], which sends nothing.
pub fn reasoning_switch(mode: ReasoningMode, names: &[&str]) -> Option<ReasoningSwitch> {
    let on = match mode {
        ReasoningMode::Auto => return None,
        ReasoningMode::On => true,
        ReasoningMode::Off => false,
    };
    let kwarg = |key: &str| {
        let mut body = Map::new();
        body.insert("chat_template_kwargs".into(), json!({ key: on }));
        ReasoningSwitch {
            body,
            system_marker: None,
            description: format!("chat_template_kwargs: {{\"{key}\": {on}}}"),
        }
    };
    let nothing = |why: &str| ReasoningSwitch {
        description: why.to_owned(),
        ..ReasoningSwitch::default()
    };
    Some(match family_of(names) {
        Family::R1Distill => nothing("no switch known (DeepSeek-R1 distills always reason)"),
        Family::GptOss if on => nothing("nothing sent (gpt-oss always reasons)"),
        Family::GptOss => {
            let mut body = Map::new();
            body.insert("reasoning_effort".into(), json!("low"));
            ReasoningSwitch {
                body,
                system_marker: None,
                description: "reasoning_effort: low (gpt-oss cannot stop reasoning)".into(),
            }
        }
        Family::SmolLm3 => {
            let marker = if on { "/think" } else { "/no_think" };
            ReasoningSwitch {
                body: Map::new(),
                system_marker: Some(marker.to_owned()),
                description: format!("{marker} in the system message"),
            }
        }
        Family::Granite => kwarg("thinking"),
        Family::Qwen3 | Family::Other => kwarg("enable_thinking"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn off(names: &[&str]) -> ReasoningSwitch {
        reasoning_switch(ReasoningMode::Off, names).unwrap_or_default()
    }

    #[test]
    fn auto_sends_nothing() {
        assert_eq!(reasoning_switch(ReasoningMode::Auto, &["Qwen3"]), None);
    }

    #[test]
    fn families_get_their_switch() {
        let qwen = off(&["Qwen3", "qwen3"]);
        assert_eq!(
            qwen.body["chat_template_kwargs"],
            json!({"enable_thinking": false})
        );
        let qwq = off(&["QwQ", "qwen2"]);
        assert_eq!(qwq.body, qwen.body);
        let granite = off(&["granite-3.3", "granite"]);
        assert_eq!(
            granite.body["chat_template_kwargs"],
            json!({"thinking": false})
        );
        let smol = off(&["SmolLM3", "smollm3"]);
        assert!(smol.body.is_empty());
        assert_eq!(smol.system_marker.as_deref(), Some("/no_think"));
        let oss = off(&["gpt-oss", "gpt-oss"]);
        assert_eq!(oss.body["reasoning_effort"], json!("low"));
        // An R1 distill on a Qwen architecture: the distill row wins.
        let r1 = off(&["DeepSeek-R1-Distill-Qwen", "qwen2"]);
        assert!(r1.body.is_empty() && r1.system_marker.is_none());
        assert!(r1.description.contains("no switch known"));
        let other = off(&["mystery", ""]);
        assert_eq!(other.body, qwen.body);
    }

    #[test]
    fn on_sends_the_opposite_where_meaningful() {
        let on = |names: &[&str]| reasoning_switch(ReasoningMode::On, names).unwrap_or_default();
        assert_eq!(
            on(&["Qwen3"]).body["chat_template_kwargs"],
            json!({"enable_thinking": true})
        );
        assert_eq!(on(&["SmolLM3"]).system_marker.as_deref(), Some("/think"));
        assert!(on(&["gpt-oss"]).body.is_empty());
        assert_eq!(ReasoningMode::On.as_str(), "on");
    }
}
