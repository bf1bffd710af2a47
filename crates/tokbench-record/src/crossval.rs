//! The crossval record (`kind: crossval`, schema version 1): the result of
//! one `tokbench crossval A B`, written as YAML beside the run records.
//!
//! A crossval record answers *same weights, same answer?* for two sides
//! (two servers, two configurations of one server, or a server and a
//! golden file): per prompt, identical or the first divergent token and its
//! classification, top-1 agreement and KL on the shared top-k support; per
//! side, self-consistency (a second run at concurrency 1) and optionally
//! batch invariance (a run at `-c N`). Definitions:
//! `docs/methodology.md#crossval`; fields: `docs/record-format.md`,
//! section "Crossval records"; machine schema:
//! `docs/crossval-record.schema.json` ([`crossval_json_schema`]).
//!
//! Run records have no `kind` field; a document whose top-level `kind` is
//! `crossval` is a crossval record, one whose `kind` is `sweep` a sweep
//! record ([`crate::sweep`]) ([`document_kind`]).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::schema::{BackendSection, ModelSection, Provenance, SystemSection};
use crate::system::HostLoadSummary;

/// The crossval schema version this crate writes.
pub const CROSSVAL_SCHEMA_VERSION: u32 = 1;

/// Which kind of record a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// A run record ([`crate::Record`]); written without a `kind` field.
    Run,
    /// A crossval record ([`CrossvalRecord`]).
    Crossval,
    /// A sweep record (`SweepRecord`).
    Sweep,
}

/// The kind of a parsed document: its top-level `kind` field, and
/// [`RecordKind::Run`] when it has none (or one this build does not know,
/// which then fails run-record validation with its own message).
pub fn document_kind(value: &serde_json::Value) -> RecordKind {
    match value.get("kind").and_then(serde_json::Value::as_str) {
        Some("crossval") => RecordKind::Crossval,
        Some("sweep") => RecordKind::Sweep,
        _ => RecordKind::Run,
    }
}

/// A complete crossval record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CrossvalRecord {
    /// Always [`CROSSVAL_SCHEMA_VERSION`] for records written by this
    /// version.
    pub schema_version: u32,
    /// Always [`RecordKind::Crossval`].
    pub kind: RecordKind,
    /// The invocation.
    pub run: CrossvalRun,
    /// The machine the servers ran on.
    pub system: SystemSection,
    /// The prompts both sides answered.
    pub prompt_set: PromptSetInfo,
    /// How requests were made and divergences classified.
    pub settings: CrossvalSettings,
    /// Side A (the reference) then side B.
    pub sides: Vec<CrossvalSide>,
    /// Counts and pooled statistics over every prompt.
    pub summary: CrossvalSummary,
    /// One entry per prompt, in prompt-set order.
    pub prompts: Vec<CrossvalPrompt>,
    /// How to reproduce the comparison.
    pub provenance: Provenance,
}

/// The invocation of a crossval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CrossvalRun {
    /// Unique id, also the file stem:
    /// `YYYY-MM-DD-crossval-<model>-<short id>`.
    pub id: String,
    /// Start, UTC, RFC 3339.
    pub started_utc: String,
    /// End, UTC, RFC 3339.
    pub ended_utc: Option<String>,
    /// tokbench version (`CARGO_PKG_VERSION`).
    pub tokbench_version: String,
    /// Git commit tokbench was built from, when known.
    pub tokbench_commit: Option<String>,
    /// The command line, with secrets replaced by `***`.
    pub command_line: Vec<String>,
    /// Host load before and during the comparison.
    pub host_load: Option<HostLoadSummary>,
    /// Anything else worth knowing (fallbacks used, skipped checks).
    #[serde(default)]
    pub notes: Vec<String>,
    /// Why the comparison is incomplete (a side's server failed; the
    /// prompts it answered before are still compared); absent when
    /// complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete_reason: Option<String>,
}

/// The prompt set: which prompts, exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PromptSetInfo {
    /// `builtin-v1` for the built-in set, else the file name given with
    /// `--prompts`.
    pub name: String,
    /// SHA-256 (lower-case hex) of the prompt set's canonical JSON Lines
    /// text: a golden file answering other prompts is refused.
    pub sha256: String,
    /// Number of prompts.
    pub prompts: u64,
}

/// Request settings and classification parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CrossvalSettings {
    /// Most tokens generated per prompt (`max_tokens`, `--tokens`); an
    /// output may be shorter when the model ends it.
    pub tokens: u64,
    /// Sampling temperature sent (always 0: greedy).
    pub temperature: f64,
    /// `top_k` sent where the backend accepts it (1); absent when not sent.
    pub top_k: Option<u64>,
    /// Sampling seed sent.
    pub seed: u64,
    /// Top-k log-probabilities asked for per position (`--top-logprobs`).
    pub top_logprobs: u64,
    /// Near-tie threshold ε, nats (`--epsilon`).
    pub epsilon_nats: f64,
    /// Concurrency of the batch-invariance run (`-c`); 1 when none was
    /// asked for.
    pub concurrency: u64,
}

/// Where a side's outputs came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SideSource {
    /// A server tokbench launched from a model file.
    Launched,
    /// A running server tokbench attached to by URL.
    Attached,
    /// A golden file written by an earlier `crossval --save-golden`.
    Golden,
}

/// How a side's generated tokens were identified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenSource {
    /// Per-token entries of the response's `logprobs` (ids when sent).
    Logprobs,
    /// The output text, tokenized through the server's `/tokenize`.
    Tokenize,
    /// The output text split into Unicode characters (no logprobs and no
    /// `/tokenize`): agreement is character for character.
    Characters,
}

/// One side of the comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CrossvalSide {
    /// `A` or `B`.
    pub label: String,
    /// Where the outputs came from.
    pub source: SideSource,
    /// One line: backend, version, model file and flags, or the golden
    /// file and what produced it.
    pub description: String,
    /// The server, when the side is one (absent for a golden file).
    pub backend: Option<BackendSection>,
    /// The model, when known.
    pub model: Option<ModelSection>,
    /// The golden file's name, for a golden side.
    pub golden_file: Option<String>,
    /// How generated tokens were identified.
    pub token_source: TokenSource,
    /// Whether the side's positions carried top-k log-probabilities.
    pub top_logprobs: bool,
    /// The side against its own second run at concurrency 1; absent for a
    /// golden side (recorded once) or with `--no-self-check`.
    pub self_consistency: Option<Consistency>,
    /// The side's run at `-c N` against its first run at concurrency 1;
    /// absent unless `-c N` (N > 1) was given.
    pub batch_invariance: Option<Consistency>,
}

/// A side against another run of itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Consistency {
    /// Prompts identical token for token on both runs.
    pub identical: u64,
    /// Prompts compared.
    pub of: u64,
    /// Concurrency of the second run.
    pub concurrency: u64,
    /// First-divergence token index of each prompt that differed,
    /// ascending.
    #[serde(default)]
    pub divergence_indices: Vec<u64>,
}

/// Counts and pooled statistics over every prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CrossvalSummary {
    /// One line, e.g. `7/10 identical; 3 diverge at tokens 41, 88, 203 —
    /// 2 near-ties, 1 hard`.
    pub headline: String,
    /// Prompts in the set.
    pub prompts: u64,
    /// Prompts whose outputs were compared (tokenization agreed).
    pub compared: u64,
    /// Compared prompts whose outputs are identical.
    pub identical: u64,
    /// Compared prompts whose outputs diverge.
    pub diverged: u64,
    /// Divergences classified near-tie.
    pub near_tie: u64,
    /// Divergences classified hard.
    pub hard: u64,
    /// Divergences without enough log-probability information to classify.
    pub unclassified: u64,
    /// Divergences where one side stopped early.
    pub length: u64,
    /// Prompts the two sides tokenized differently: not compared, and
    /// never counted as model divergences.
    pub tokenization_mismatch: u64,
    /// Prompts a side did not answer (its server failed): not compared.
    #[serde(default)]
    pub not_answered: u64,
    /// First-divergence token index of each diverging prompt, ascending.
    pub divergence_indices: Vec<u64>,
    /// Σ top-1 agreements over compared positions.
    pub top1_agreed: u64,
    /// Σ compared positions (agreeing prefix + the divergent position).
    pub top1_positions: u64,
    /// `top1_agreed / top1_positions`, in `[0, 1]`.
    pub top1_agreement: Option<f64>,
    /// Mean KL divergence on the shared top-k support over the agreeing
    /// prefixes, nats (position-weighted).
    pub kl_mean_nats: Option<f64>,
    /// Largest per-position KL, nats.
    pub kl_max_nats: Option<f64>,
    /// Positions with a KL value.
    pub kl_positions: u64,
}

/// Whether a prompt's rendered input was tokenized the same on both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenizationStatus {
    /// Both sides gave the same prompt token ids.
    Same,
    /// The ids differ: the outputs are not compared.
    Mismatch,
    /// A side could not say (no `/tokenize`, or a golden file without
    /// prompt ids); the outputs are compared.
    Unchecked,
}

/// The tokenization pre-check of one prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TokenizationCheck {
    /// The verdict.
    pub status: TokenizationStatus,
    /// Prompt tokens on side A, when known.
    pub prompt_tokens_a: Option<u64>,
    /// Prompt tokens on side B, when known.
    pub prompt_tokens_b: Option<u64>,
    /// Index of the first differing prompt token, for a mismatch.
    pub first_difference: Option<u64>,
    /// Whether both sides rendered the chat template to the same text;
    /// absent when a side could not show it.
    pub template_same: Option<bool>,
    /// Why the check was skipped, or what differs.
    pub note: Option<String>,
}

/// One side's log-probability gap at a divergence (methodology: near-tie).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Gap {
    /// Nats, ≥ 0.
    pub nats: f64,
    /// `true` when the other side's token was in this side's top-k;
    /// `false` when `nats` is a lower bound.
    pub exact: bool,
}

/// Classification of a first divergence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DivergenceClass {
    /// Each side's token is in the other's top-k, within ε on both sides.
    NearTie,
    /// One side preferred its token by at least ε.
    Hard,
    /// Not enough log-probability information.
    Unclassified,
    /// One side stopped where the other went on.
    Length,
}

/// The first divergence of one prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DivergencePoint {
    /// 0-based index of the first differing generated token.
    pub token_index: u64,
    /// The classification.
    pub kind: DivergenceClass,
    /// Side A's token text there; absent when A stopped.
    pub token_a: Option<String>,
    /// Side B's token text there; absent when B stopped.
    pub token_b: Option<String>,
    /// Texts of the shared tokens just before it.
    pub context_before: Vec<String>,
    /// Texts of side A's next tokens after it.
    pub after_a: Vec<String>,
    /// Texts of side B's next tokens after it.
    pub after_b: Vec<String>,
    /// Side A's gap, when bounded.
    pub gap_a: Option<Gap>,
    /// Side B's gap, when bounded.
    pub gap_b: Option<Gap>,
}

/// What came of one prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PromptVerdict {
    /// Identical token for token.
    Identical,
    /// The outputs diverge (see the divergence).
    Diverged,
    /// Not compared: the sides tokenized the prompt differently.
    TokenizationMismatch,
    /// Not compared: a side has no output for it (its server failed
    /// before answering; see `run.incomplete_reason`).
    NotAnswered,
}

/// One prompt's comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CrossvalPrompt {
    /// Prompt id in the set.
    pub id: String,
    /// What the prompt exercises (`chat`, `code`, `long-context`, …).
    pub category: String,
    /// The prompt's text (the last user message, or the raw completion
    /// text), cut to 400 characters.
    pub prompt_excerpt: String,
    /// The verdict.
    pub verdict: PromptVerdict,
    /// The tokenization pre-check.
    pub tokenization: TokenizationCheck,
    /// Tokens generated by side A.
    pub tokens_a: u64,
    /// Tokens generated by side B.
    pub tokens_b: u64,
    /// The first divergence, for a diverged prompt.
    pub divergence: Option<DivergencePoint>,
    /// Top-1 agreements over the compared positions.
    pub top1_agreed: u64,
    /// Compared positions.
    pub top1_positions: u64,
    /// Mean KL on the shared top-k support over the agreeing prefix, nats.
    pub kl_mean_nats: Option<f64>,
    /// Largest KL over the agreeing prefix, nats.
    pub kl_max_nats: Option<f64>,
    /// Side A's generated text.
    pub text_a: String,
    /// Side B's generated text.
    pub text_b: String,
}

/// The JSON Schema (draft 2020-12) of [`CrossvalRecord`], as shipped in
/// `docs/crossval-record.schema.json`.
pub fn crossval_json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(CrossvalRecord)).unwrap_or_default()
}
