//! Run-level settings that qualify per-cell figures: the per-request
//! latency SLOs of goodput (`tokbench run --slo`) and the reasoning switch
//! (`tokbench run --reasoning`). Both are absent from records of runs
//! without the flag and from older records.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Per-request latency limits of goodput, ms (`--slo ttft_ms=500,…`;
/// docs/methodology.md#goodput). A request is good when it succeeded and
/// each set limit holds (`≤`); an absent limit is not checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GoodputSlo {
    /// Maximum time to first token, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_ms: Option<f64>,
    /// Maximum time per output token, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpot_ms: Option<f64>,
    /// Maximum end-to-end latency, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e2e_ms: Option<f64>,
}

/// What the run asked of a reasoning model and whether it obeyed
/// (docs/methodology.md#reasoning).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReasoningSection {
    /// `auto` (nothing sent), `on` or `off` (`--reasoning`).
    pub mode: String,
    /// How the request asked, in words (`chat_template_kwargs:
    /// {"enable_thinking": false}`, `/no_think in the system message`,
    /// `no switch known …`); absent for `auto`.
    pub switch: Option<String>,
    /// `true` when the model did as asked, `false` when not (mode `off` and
    /// some successful measured request still streamed or reported
    /// reasoning tokens; mode `on` and none did), `null` for `auto` or when
    /// no request succeeded.
    pub obeyed: Option<bool>,
    /// Σ reasoning tokens over the measured cells' successful requests.
    pub reasoning_tokens: u64,
}
