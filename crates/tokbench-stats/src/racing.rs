//! Racing: measuring many configurations without measuring all of them to
//! full precision (`docs/methodology.md#racing`).
//!
//! After each round every surviving configuration has more requests. The
//! **leader** is the survivor with the best point statistic (highest for a
//! rate, lowest for a latency). A survivor is **dropped** when the ratio of
//! its statistic to the leader's is significantly worse than the noise
//! threshold: for a higher-is-better objective, the upper end of the
//! bootstrap interval of `survivor / leader` ([`ratio_ci`]) is below
//! `1 − noise`; for lower-is-better, the lower end of the interval is above
//! `1 + noise`. This is the F-Race idea (Birattari et al., *A Racing
//! Algorithm for Configuring Metaheuristics*, GECCO 2002) with the
//! bootstrap ratio interval and noise threshold that `tokbench compare`
//! uses for its verdicts instead of the Friedman test: a configuration is
//! only dropped on the same evidence that would make `compare` call it
//! slower. Sides with fewer than [`CompareOptions::min_samples`] requests,
//! or fewer than [`MIN_RUNS_TO_DROP`] runs, are never dropped.

use crate::compare::{ratio_ci, CompareOptions, RatioEstimate, Statistic};
use crate::StatsError;

/// Runs (rounds, each a fresh server launch) that both a configuration and
/// the leader need before the configuration can be dropped: 2. One launch
/// shows only the spread of requests within that launch; the same
/// configuration launched again can land several percent away (SmolLM2 on a
/// 2-core VM: run medians 64.5, 67.8 and 71.2 tok/s for identical
/// settings), and only with two runs per side does the two-level bootstrap
/// of [`ratio_ci`] see that launch-to-launch variation.
pub const MIN_RUNS_TO_DROP: usize = 2;

/// What a round decided for one configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RaceDecision {
    /// Still in the race (the leader is always kept).
    Keep,
    /// Significantly worse than the leader: measure it no further.
    Drop {
        /// Index of the leader it lost to.
        leader: usize,
        /// `this / leader` with its interval.
        ratio: RatioEstimate,
    },
}

/// One round's decisions, parallel to the configurations given.
#[derive(Debug, Clone, PartialEq)]
pub struct RaceRound {
    /// Index of the leader among the configurations given.
    pub leader: Option<usize>,
    /// One decision per configuration; `None` for a configuration that was
    /// not in the race (no values).
    pub decisions: Vec<Option<RaceDecision>>,
}

/// Decides a round.
///
/// * `values[i]`: configuration `i`'s per-request values of the objective
///   (all rounds so far, one `Vec` per run); an empty configuration is not
///   in the race (already dropped, or it failed).
/// * `higher_is_better`: `true` for rates (tok/s), `false` for latencies.
/// * `stat`: the statistic raced (normally the median).
///
/// # Errors
/// Those of [`ratio_ci`] (non-finite values, bad options).
pub fn race_round(
    values: &[Vec<Vec<f64>>],
    higher_is_better: bool,
    stat: Statistic,
    opts: &CompareOptions,
) -> Result<RaceRound, StatsError> {
    let points = values
        .iter()
        .map(|v| point(v, stat))
        .collect::<Result<Vec<Option<f64>>, StatsError>>()?;
    let leader = points
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.map(|p| (i, p)))
        .reduce(|best, x| {
            let better = if higher_is_better {
                x.1 > best.1
            } else {
                x.1 < best.1
            };
            if better {
                x
            } else {
                best
            }
        })
        .map(|(i, _)| i);
    let mut decisions = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        let decision = match (leader, points[i]) {
            (_, None) => None,
            (Some(l), Some(_)) if l != i => {
                Some(decide(&values[l], v, l, higher_is_better, stat, opts)?)
            }
            _ => Some(RaceDecision::Keep),
        };
        decisions.push(decision);
    }
    Ok(RaceRound { leader, decisions })
}

/// Keep or drop one challenger against the leader.
fn decide(
    leader_values: &[Vec<f64>],
    values: &[Vec<f64>],
    leader: usize,
    higher_is_better: bool,
    stat: Statistic,
    opts: &CompareOptions,
) -> Result<RaceDecision, StatsError> {
    let n = |v: &[Vec<f64>]| v.iter().map(Vec::len).sum::<usize>();
    if n(values) < opts.min_samples || n(leader_values) < opts.min_samples {
        return Ok(RaceDecision::Keep);
    }
    if values.len() < MIN_RUNS_TO_DROP || leader_values.len() < MIN_RUNS_TO_DROP {
        return Ok(RaceDecision::Keep);
    }
    let Some(ratio) = ratio_ci(leader_values, values, stat, opts)? else {
        return Ok(RaceDecision::Keep);
    };
    let worse = if higher_is_better {
        ratio.hi < 1.0 - opts.noise
    } else {
        ratio.lo > 1.0 + opts.noise
    };
    Ok(if worse {
        RaceDecision::Drop { leader, ratio }
    } else {
        RaceDecision::Keep
    })
}

/// The statistic over the pooled values, `None` when there are none.
fn point(values: &[Vec<f64>], stat: Statistic) -> Result<Option<f64>, StatsError> {
    let mut pooled: Vec<f64> = values.iter().flatten().copied().collect();
    pooled.sort_by(f64::total_cmp);
    let p = match stat {
        Statistic::Median => 0.5,
        Statistic::Quantile(p) => p,
    };
    crate::quantile::quantile_sorted(&pooled, p)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Two runs of `n` values each, spread evenly ±2% around `centre`.
    fn around(centre: f64, n: usize) -> Vec<Vec<f64>> {
        let step = 0.04 / (n - 1) as f64;
        let run: Vec<f64> = (0..n).map(|i| centre * (0.98 + step * i as f64)).collect();
        vec![run.clone(), run]
    }

    #[test]
    fn a_clearly_slower_configuration_is_dropped_and_a_close_one_kept() {
        let values = vec![around(100.0, 20), around(80.0, 20), around(99.5, 20)];
        let round =
            race_round(&values, true, Statistic::Median, &CompareOptions::default()).unwrap();
        assert_eq!(round.leader, Some(0));
        assert_eq!(round.decisions[0], Some(RaceDecision::Keep));
        match round.decisions[1] {
            Some(RaceDecision::Drop { leader, ratio }) => {
                assert_eq!(leader, 0);
                assert!((ratio.ratio - 0.8).abs() < 1e-9, "{ratio:?}");
                assert!(ratio.hi < 0.98, "{ratio:?}");
            }
            other => panic!("expected a drop, got {other:?}"),
        }
        assert_eq!(round.decisions[2], Some(RaceDecision::Keep), "within noise");
    }

    #[test]
    fn for_latencies_lower_leads_and_higher_is_dropped() {
        let values = vec![around(50.0, 20), around(40.0, 20)];
        let round = race_round(
            &values,
            false,
            Statistic::Median,
            &CompareOptions::default(),
        )
        .unwrap();
        assert_eq!(round.leader, Some(1));
        assert!(matches!(
            round.decisions[0],
            Some(RaceDecision::Drop { leader: 1, .. })
        ));
    }

    #[test]
    fn one_launch_is_never_enough_to_drop() {
        // 20 requests at 80 % of the leader, but from one launch each.
        let one = |c: f64| vec![around(c, 20).swap_remove(0)];
        let values = vec![one(100.0), one(80.0)];
        let round =
            race_round(&values, true, Statistic::Median, &CompareOptions::default()).unwrap();
        assert_eq!(round.decisions[1], Some(RaceDecision::Keep));
        // The same values over two launches each: dropped.
        let values = vec![around(100.0, 10), around(80.0, 10)];
        let round =
            race_round(&values, true, Statistic::Median, &CompareOptions::default()).unwrap();
        assert!(matches!(
            round.decisions[1],
            Some(RaceDecision::Drop { .. })
        ));
    }

    #[test]
    fn too_few_requests_or_no_values_are_never_dropped() {
        let values = vec![around(100.0, 4), around(50.0, 4), Vec::new()];
        let round =
            race_round(&values, true, Statistic::Median, &CompareOptions::default()).unwrap();
        assert_eq!(
            round.decisions[1],
            Some(RaceDecision::Keep),
            "below min_samples"
        );
        assert_eq!(round.decisions[2], None, "not in the race");
        let none = race_round(
            &[Vec::new()],
            true,
            Statistic::Median,
            &CompareOptions::default(),
        )
        .unwrap();
        assert_eq!(none.leader, None);
    }

    #[test]
    fn overlapping_noisy_configurations_stay_in() {
        // Two configurations with the same median and wide spread.
        let wide = |c: f64| {
            let run: Vec<f64> = (0..20).map(|i| c * (0.7 + 0.03 * i as f64)).collect();
            vec![run.clone(), run]
        };
        let round = race_round(
            &[wide(100.0), wide(97.0)],
            true,
            Statistic::Median,
            &CompareOptions::default(),
        )
        .unwrap();
        assert_eq!(round.decisions, vec![Some(RaceDecision::Keep); 2]);
    }
}
