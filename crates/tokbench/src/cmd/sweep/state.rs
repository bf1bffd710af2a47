//! Where each configuration of a sweep stands: its flags, its values per
//! objective (one `Vec` per round, so the comparison statistics treat
//! rounds as runs), its records, and whether it is still in the race.

use std::collections::BTreeMap;
use std::path::PathBuf;

use tokbench_stats::RatioEstimate;
use tokbench_sweep::Config;

use super::quality::Quality;

/// Whether a configuration is still measured.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// Measured in the next round.
    Active,
    /// Significantly worse than the leader on the first objective.
    Dropped {
        /// The round after which it was dropped (1-based).
        round: u64,
        /// The leader's label.
        leader: String,
        /// `this / leader` of the first objective, with its interval.
        ratio: RatioEstimate,
    },
    /// It could not be measured.
    Failed {
        /// `OOM`, `refused: …`, `crashed`, `interrupted`, `failed: …`.
        reason: String,
        /// The incomplete record kept, when one was written.
        path: Option<PathBuf>,
    },
}

/// One configuration of a sweep.
#[derive(Debug, Clone)]
pub struct ConfigState {
    /// Its parameters and label.
    pub config: Config,
    /// The server flags it adds.
    pub args: Vec<String>,
    /// The launch's CPU threads, when the configuration sets them.
    pub threads: Option<usize>,
    /// Per series (objectives first, then each SLO's metric per measured
    /// cell), per round, the per-request values.
    pub values: BTreeMap<usize, Vec<Vec<f64>>>,
    /// Records written for it.
    pub records: Vec<PathBuf>,
    /// The server's command line of its last measured round (redacted).
    pub command: Option<Vec<String>>,
    /// Measured requests over every round.
    pub requests: u64,
    /// Where it stands.
    pub status: Status,
    /// Its result at the quality gate (`None`: not checked).
    pub quality: Option<Quality>,
    /// The SLOs it missed, as shown.
    pub slo_misses: Vec<String>,
    /// Rounds it was measured in.
    pub rounds: u64,
}

impl ConfigState {
    /// A configuration not measured yet.
    pub fn new(config: Config, args: Vec<String>) -> Self {
        Self {
            config,
            args,
            threads: None,
            values: BTreeMap::new(),
            records: Vec::new(),
            command: None,
            requests: 0,
            status: Status::Active,
            quality: None,
            slo_misses: Vec::new(),
            rounds: 0,
        }
    }

    /// Whether it passed the quality gate (or was not checked).
    pub fn quality_ok(&self) -> bool {
        self.quality.as_ref().is_none_or(|q| q.passed)
    }

    /// Whether it can win: still in the race, quality kept, every SLO met.
    pub fn can_win(&self) -> bool {
        self.status == Status::Active && self.quality_ok() && self.slo_misses.is_empty()
    }

    /// The label, with ` (reference)` after the reference's.
    pub fn label_marked(&self, reference: bool) -> String {
        if reference {
            format!("{} (reference)", self.config.label)
        } else {
            self.config.label.clone()
        }
    }
}
