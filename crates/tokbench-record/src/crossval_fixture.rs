//! A deterministic example crossval record, for tests (here, in the site
//! generator and the binary) and documentation.
//!
//! Three prompts against two launched llama.cpp servers of the example run
//! record ([`crate::fixture::example_record`]): one identical, one
//! near-tie divergence at token 41, one hard divergence at token 88. The
//! counts, indices and headline agree with each other.

use crate::crossval::{
    Consistency, CrossvalPrompt, CrossvalRecord, CrossvalRun, CrossvalSettings, CrossvalSide,
    CrossvalSummary, DivergenceClass, DivergencePoint, Gap, PromptSetInfo, PromptVerdict,
    RecordKind, SideSource, TokenSource, TokenizationCheck, TokenizationStatus,
    CROSSVAL_SCHEMA_VERSION,
};
use crate::fixture::{example_record, ExampleSpec};
use crate::schema::Provenance;

/// The example crossval record with id `id`, sides built from
/// [`example_record`] of `spec` (side B adds `-fa on` to its flags).
pub fn example_crossval(id: &str, spec: &ExampleSpec) -> CrossvalRecord {
    let run = example_record(spec);
    let side = |label: &str, flags: Vec<String>| {
        let mut backend = run.backend.clone();
        backend.flags = flags;
        CrossvalSide {
            label: label.into(),
            source: SideSource::Launched,
            description: format!("llama-server {label}"),
            backend: Some(backend),
            model: Some(run.model.clone()),
            golden_file: None,
            token_source: TokenSource::Logprobs,
            top_logprobs: true,
            self_consistency: Some(Consistency {
                identical: 3,
                of: 3,
                concurrency: 1,
                divergence_indices: Vec::new(),
            }),
            batch_invariance: None,
        }
    };
    let prompts = vec![
        prompt("chat-short", PromptVerdict::Identical, None),
        prompt(
            "code",
            PromptVerdict::Diverged,
            Some(divergence(41, DivergenceClass::NearTie, 0.02)),
        ),
        prompt(
            "arithmetic",
            PromptVerdict::Diverged,
            Some(divergence(88, DivergenceClass::Hard, 1.7)),
        ),
    ];
    CrossvalRecord {
        schema_version: CROSSVAL_SCHEMA_VERSION,
        kind: RecordKind::Crossval,
        run: CrossvalRun {
            id: id.into(),
            started_utc: "2026-11-22T07:00:00Z".into(),
            ended_utc: Some("2026-11-22T07:01:30Z".into()),
            tokbench_version: "0.1.0".into(),
            tokbench_commit: Some("0123abc".into()),
            command_line: vec!["tokbench".into(), "crossval".into(), "model.gguf".into()],
            host_load: None,
            notes: Vec::new(),
            incomplete_reason: None,
        },
        system: run.system.clone(),
        prompt_set: PromptSetInfo {
            name: "builtin-v1".into(),
            sha256: "ab".repeat(32),
            prompts: 3,
        },
        settings: CrossvalSettings {
            tokens: 128,
            temperature: 0.0,
            top_k: Some(1),
            seed: 42,
            top_logprobs: 5,
            epsilon_nats: 0.1,
            concurrency: 1,
        },
        sides: vec![
            side("A", Vec::new()),
            side("B", vec!["-fa".into(), "on".into()]),
        ],
        summary: CrossvalSummary {
            headline: "1/3 identical; 2 diverge at tokens 41, 88 — 1 near-tie, 1 hard".into(),
            prompts: 3,
            compared: 3,
            identical: 1,
            diverged: 2,
            near_tie: 1,
            hard: 1,
            unclassified: 0,
            length: 0,
            tokenization_mismatch: 0,
            not_answered: 0,
            divergence_indices: vec![41, 88],
            top1_agreed: 128 + 41 + 88,
            top1_positions: 128 + 42 + 89,
            top1_agreement: Some(257.0 / 259.0),
            kl_mean_nats: Some(0.0004),
            kl_max_nats: Some(0.003),
            kl_positions: 257,
        },
        prompts,
        provenance: Provenance {
            reproduce: "tokbench crossval model.gguf --b-arg=-fa --b-arg=on".into(),
            details: Default::default(),
        },
    }
}

fn prompt(id: &str, verdict: PromptVerdict, divergence: Option<DivergencePoint>) -> CrossvalPrompt {
    let at = divergence.as_ref().map_or(128, |d| d.token_index);
    CrossvalPrompt {
        id: id.into(),
        category: id.into(),
        prompt_excerpt: format!("Prompt {id}"),
        verdict,
        tokenization: TokenizationCheck {
            status: TokenizationStatus::Same,
            prompt_tokens_a: Some(30),
            prompt_tokens_b: Some(30),
            first_difference: None,
            template_same: Some(true),
            note: None,
        },
        tokens_a: 128,
        tokens_b: 128,
        top1_agreed: at,
        top1_positions: at + u64::from(divergence.is_some()),
        divergence,
        kl_mean_nats: Some(0.0004),
        kl_max_nats: Some(0.003),
        text_a: format!("Answer to {id} from A"),
        text_b: format!("Answer to {id} from B"),
    }
}

fn divergence(at: u64, kind: DivergenceClass, gap: f64) -> DivergencePoint {
    DivergencePoint {
        token_index: at,
        kind,
        token_a: Some(" the".into()),
        token_b: Some(" a".into()),
        context_before: vec![" is".into(), " in".into()],
        after_a: vec![" end".into()],
        after_b: vec![" start".into()],
        gap_a: Some(Gap {
            nats: gap,
            exact: true,
        }),
        gap_b: Some(Gap {
            nats: gap,
            exact: true,
        }),
    }
}
