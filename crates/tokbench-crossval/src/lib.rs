//! Pure core of `tokbench crossval`: do two backends (or two configurations
//! of one backend) produce the same greedy output, token for token, on the
//! same weights?
//!
//! No HTTP and no async runtime: the command collects one [`Output`] per
//! prompt and side (the tokens a greedy request returned, with their
//! log-probabilities and top-k candidates when the server sends them), and
//! this crate compares them. Definitions: `docs/methodology.md`,
//! section "Cross-validation (crossval)" (anchor `#crossval`).
//!
//! | Module | Concept |
//! |---|---|
//! | [`output`] | One side's greedy output for one prompt; token identity (id, else text) |
//! | [`divergence`] | [`compare_output`]: identical, or the first divergence and its kind (near-tie, hard, unclassified, length) |
//! | [`kl`] | KL divergence on the shared top-k support (Kullback & Leibler 1951) |
//! | [`summary`](mod@summary) | Pairing sides by prompt, [`Summary`] over many prompts and its headline, [`SelfConsistency`] |
//! | [`precheck`](mod@precheck) | The tokenization pre-check: same prompt tokens on both sides, else not compared |
//! | [`prompts`] | The built-in prompt set (versioned, hashed) and JSON Lines prompt files |
//! | [`response`] | Reading an OpenAI-style response (logprobs with ids and top-k) into steps |
//! | [`golden`] | Golden files: a reference side written atomically as JSON, read back with file:line errors |
//! | [`error`] | Typed errors |
//!
//! Typical use: `compare_sides(&a, &b, &DivergenceOptions::default())?`,
//! then `Summary::from_results(&results).headline()`.

pub mod divergence;
pub mod error;
pub mod golden;
pub mod kl;
pub mod output;
pub mod precheck;
pub mod prompts;
pub mod response;
pub mod summary;

pub use divergence::{
    compare_output, Divergence, DivergenceKind, DivergenceOptions, LogprobGap, PromptResult,
};
pub use error::{CrossvalError, Side};
pub use golden::{read_golden, write_golden, Golden, GOLDEN_VERSION};
pub use kl::{kl_on_shared_support, KlStats};
pub use output::{Output, TokenStep, TopCandidate};
pub use precheck::{precheck, Precheck, PrecheckStatus};
pub use prompts::{builtin, read_prompts, Message, Prompt, PromptSet, BUILTIN_NAME};
pub use response::{parse_response, ParsedResponse};
pub use summary::{compare_sides, self_consistency, SelfConsistency, Summary};
