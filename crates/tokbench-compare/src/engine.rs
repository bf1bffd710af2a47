//! The comparison itself: gather each side's values for a paired cell and
//! metric, estimate the NEW/BASE ratio with its interval and test, then
//! Holm-correct and judge each table (`docs/methodology.md#comparing-runs`).

use std::collections::BTreeSet;

use tokbench_stats::{
    adjust_and_judge, compare, quantile_sorted, summary_ratio, CompareOptions, MetricComparison,
    Statistic, SummaryPoint, Verdict,
};

use crate::error::CompareError;
use crate::load::Side;
use crate::matching::{cells_of, differences, rigs, CellKey};
use crate::quantity::{MetricSpec, Quantity, DEFAULT_METRICS};
use crate::report::{CellTable, MetricRow, Report, SideInfo, Source, Unmatched, Versus};

/// What to compare and how.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The statistics' options (`--noise`, `--level`, `--seed`, …).
    pub stats: CompareOptions,
    /// The rows of every table, in order.
    pub metrics: Vec<MetricSpec>,
    /// Compare sides measured on different rigs (otherwise an error).
    pub across_rigs: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            stats: CompareOptions::default(),
            metrics: DEFAULT_METRICS.to_vec(),
            across_rigs: false,
        }
    }
}

/// Which runs of a side measured a cell: `(run index, cell index)`.
pub type Occurrences = [(usize, usize)];

/// One side's values of one metric in one cell.
#[derive(Debug, Clone)]
pub struct Gathered {
    /// Per run: per-request values (samples) or one value (run quantity).
    pub runs: Vec<Vec<f64>>,
    /// Per run: the recorded median and its interval (request quantities).
    pub summaries: Vec<SummaryPoint>,
    /// Per run: the recorded statistic (request quantities), when the
    /// summary holds it (p50, p90, p99 or the median).
    pub recorded: Vec<f64>,
    /// Requests counted by the recorded summaries.
    pub recorded_n: usize,
    /// Where `runs` came from; `Summaries` when a run has no sidecar.
    pub source: Source,
}

impl Gathered {
    /// The statistic of the pooled values (samples or runs), or the mean of
    /// the recorded per-run statistic (summaries).
    pub fn value(&self, stat: Statistic) -> Option<f64> {
        if self.source == Source::Summaries {
            return self.recorded_value();
        }
        let mut all: Vec<f64> = self.runs.iter().flatten().copied().collect();
        all.sort_unstable_by(f64::total_cmp);
        let q = match stat {
            Statistic::Median => 0.5,
            Statistic::Quantile(q) => q,
        };
        quantile_sorted(&all, q).ok().flatten()
    }

    /// The mean of the recorded per-run statistic, whatever the source.
    pub fn recorded_value(&self) -> Option<f64> {
        let k = self.recorded.len();
        (k > 0).then(|| self.recorded.iter().sum::<f64>() / k as f64)
    }

    /// Values counted: pooled values, or the summaries' request count.
    pub fn n(&self) -> usize {
        match self.source {
            Source::Summaries => self.recorded_n,
            _ => self.runs.iter().map(Vec::len).sum(),
        }
    }
}

/// Gathers one side's values of `metric` over the runs in `occ`.
pub fn gather(side: &Side, occ: &Occurrences, metric: MetricSpec) -> Gathered {
    let q = metric.quantity;
    let mut g = Gathered {
        runs: Vec::new(),
        summaries: Vec::new(),
        recorded: Vec::new(),
        recorded_n: 0,
        source: if q.per_request() {
            Source::Samples
        } else {
            Source::Runs
        },
    };
    for &(ri, ci) in occ {
        let run = &side.runs[ri];
        let cell = &run.record.cells[ci];
        if !q.per_request() {
            g.runs.extend(q.of_run(&run.record, cell).map(|v| vec![v]));
            continue;
        }
        record_summary(&mut g, cell, metric);
        let key = (cell.shape.clone(), cell.concurrency);
        match run.samples.as_ref().and_then(|s| s.get(&key)) {
            Some(cs) if q == Quantity::ItlMs => g.runs.push(cs.itl_ms.clone()),
            Some(cs) => g
                .runs
                .push(cs.requests.iter().filter_map(|m| q.of_request(m)).collect()),
            None => g.source = Source::Summaries,
        }
    }
    g
}

fn record_summary(g: &mut Gathered, cell: &tokbench_record::Cell, metric: MetricSpec) {
    let Some(s) = metric
        .quantity
        .summary_key()
        .and_then(|k| cell.metrics.as_ref()?.summary(k))
    else {
        return;
    };
    g.recorded_n += s.n as usize;
    g.summaries.push(SummaryPoint {
        median: s.median,
        ci: s.ci95_median.as_ref().map(|c| (c.lo, c.hi, c.level)),
    });
    let recorded = match metric.statistic {
        Statistic::Median => Some(s.median),
        Statistic::Quantile(p) if (p - 0.5).abs() < 1e-9 => Some(s.p50),
        Statistic::Quantile(p) if (p - 0.9).abs() < 1e-9 => Some(s.p90),
        Statistic::Quantile(p) if (p - 0.99).abs() < 1e-9 => Some(s.p99),
        Statistic::Quantile(_) => None,
    };
    g.recorded.extend(recorded);
}

/// Compares every side with the first.
///
/// # Errors
/// [`CompareError::AcrossRigs`] when the sides (or the runs of one side)
/// come from different rigs and `settings.across_rigs` is off;
/// [`CompareError::NothingInCommon`] when no cell of the baseline was
/// measured on another side; [`CompareError::Stats`] for invalid options.
pub fn compare_sides(sides: &[Side], settings: &Settings) -> Result<Report, CompareError> {
    settings.stats.validate()?;
    let one_rig = check_rigs(sides, settings.across_rigs)?;
    let mut cells: Vec<_> = sides.iter().map(cells_of).collect();
    if settings.stats.paired {
        for (side, map) in sides.iter().zip(&mut cells) {
            map.values_mut().for_each(|occ| sort_by_launch(side, occ));
        }
    }
    let mut tables = Vec::new();
    for (key, base_occ) in &cells[0] {
        let others: Vec<Option<&Vec<(usize, usize)>>> =
            cells[1..].iter().map(|c| c.get(key)).collect();
        if others.iter().all(Option::is_none) {
            continue;
        }
        tables.push(table(sides, key, base_occ, &others, settings)?);
    }
    if tables.is_empty() {
        return Err(CompareError::NothingInCommon {
            base: sides[0].label.clone(),
            new: sides.get(1).map_or_else(String::new, |s| s.label.clone()),
        });
    }
    Ok(Report {
        sides: sides.iter().map(side_info).collect(),
        properties: differences(sides),
        across_rigs: !one_rig,
        options: settings.stats,
        unmatched: unmatched(&cells),
        notes: report_notes(&tables, settings.stats.paired),
        tables,
    })
}

/// `Ok(true)` when every run of every side comes from one rig; `Ok(false)`
/// when not but `across_rigs` allows it.
///
/// # Errors
/// [`CompareError::AcrossRigs`] listing each side's rigs otherwise.
pub fn check_rigs(sides: &[Side], across_rigs: bool) -> Result<bool, CompareError> {
    let rig_sets = rigs(sides);
    let one_rig =
        rig_sets.iter().all(|s| s.len() == 1) && rig_sets.windows(2).all(|w| w[0] == w[1]);
    if one_rig || across_rigs {
        return Ok(one_rig);
    }
    let rigs = rig_sets
        .iter()
        .zip(sides)
        .map(|(r, s)| {
            let list: Vec<&str> = r.iter().map(String::as_str).collect();
            format!("{}: {}", s.label, list.join(" + "))
        })
        .collect::<Vec<_>>()
        .join("; ");
    Err(CompareError::AcrossRigs { rigs })
}

fn side_info(s: &Side) -> SideInfo {
    SideInfo {
        label: s.label.clone(),
        runs: s.runs.len(),
        runs_with_samples: s.runs.iter().filter(|r| r.samples.is_some()).count(),
    }
}

fn unmatched(cells: &[std::collections::BTreeMap<CellKey, Vec<(usize, usize)>>]) -> Vec<Unmatched> {
    let all: BTreeSet<&CellKey> = cells.iter().flat_map(|c| c.keys()).collect();
    all.into_iter()
        .filter_map(|k| {
            let sides: Vec<usize> = (0..cells.len())
                .filter(|&i| cells[i].contains_key(k))
                .collect();
            (sides.len() < cells.len()).then(|| Unmatched {
                key: k.clone(),
                sides,
            })
        })
        .collect()
}

/// Launch order (start time, then path) of a side's runs: the order in
/// which a paired comparison pairs them.
fn sort_by_launch(side: &Side, occ: &mut [(usize, usize)]) {
    occ.sort_by(|a, b| {
        let (ra, rb) = (&side.runs[a.0], &side.runs[b.0]);
        (&ra.record.run.started_utc, &ra.path).cmp(&(&rb.record.run.started_utc, &rb.path))
    });
}

fn report_notes(tables: &[CellTable], paired: bool) -> Vec<String> {
    let fallback = tables
        .iter()
        .flat_map(|t| &t.rows)
        .flat_map(|r| &r.versus)
        .any(|v| v.source == Source::Summaries);
    let mut notes = Vec::new();
    if paired {
        notes.push(
            "paired: run i of each side is paired with run i of the baseline, in launch \
             order, and the bootstrap resamples the pairs (docs/methodology.md#paired)"
                .to_owned(),
        );
    }
    if fallback {
        notes.push(
            "some runs have no samples sidecar: their request metrics are compared on the \
             recorded summaries (normal approximation on the log scale; tails without an \
             interval)"
                .to_owned(),
        );
    }
    notes
}

fn table(
    sides: &[Side],
    key: &CellKey,
    base_occ: &Occurrences,
    others: &[Option<&Vec<(usize, usize)>>],
    settings: &Settings,
) -> Result<CellTable, CompareError> {
    let rows: Vec<Result<Option<MetricRow>, CompareError>> = std::thread::scope(|s| {
        let handles: Vec<_> = settings
            .metrics
            .iter()
            .map(|&m| s.spawn(move || row(sides, base_occ, others, m, &settings.stats)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let mut rows: Vec<MetricRow> = rows
        .into_iter()
        .filter_map(Result::transpose)
        .collect::<Result<_, _>>()?;
    for j in 0..others.len() {
        judge_side(&mut rows, j, &settings.stats);
    }
    Ok(CellTable {
        key: key.clone(),
        notes: cell_notes(sides, base_occ, others),
        rows,
    })
}

/// Holm across the metrics of one side's column, then the verdicts.
fn judge_side(rows: &mut [MetricRow], j: usize, opts: &CompareOptions) {
    let mut family: Vec<MetricComparison> = rows
        .iter()
        .filter_map(|r| r.versus.get(j)?.comparison)
        .collect();
    adjust_and_judge(&mut family, opts);
    let mut judged = family.into_iter();
    for r in rows.iter_mut() {
        if let Some(v) = r.versus.get_mut(j) {
            if v.comparison.is_some() {
                v.comparison = judged.next();
            }
            v.verdict = v.comparison.map_or(Verdict::Inconclusive, |c| c.verdict);
        }
    }
}

fn cell_notes(
    sides: &[Side],
    base_occ: &Occurrences,
    others: &[Option<&Vec<(usize, usize)>>],
) -> Vec<String> {
    let occ = std::iter::once((0, base_occ)).chain(
        others
            .iter()
            .enumerate()
            .filter_map(|(j, o)| o.map(|o| (j + 1, o.as_slice()))),
    );
    let mut notes = Vec::new();
    let mut shares = Vec::new();
    for (si, o) in occ {
        let cells: Vec<&tokbench_record::Cell> = o
            .iter()
            .map(|&(ri, ci)| &sides[si].runs[ri].record.cells[ci])
            .collect();
        let label = &sides[si].label;
        if cells.iter().any(|c| c.prompt_cache) {
            notes.push(format!(
                "{label}: the server reused cached prompt tokens, so prefill_tok_s is not a prefill measurement"
            ));
        }
        if cells.iter().any(|c| c.noisy) {
            notes.push(format!(
                "{label}: the host was busy during this cell (noisy)"
            ));
        }
        shares.push((label, cached_share(&cells)));
    }
    notes.extend(cached_share_notes(&shares));
    notes
}

/// Σ cached / Σ prompt tokens over the cells' prompt-cache checks; `None`
/// when no server account exists.
fn cached_share(cells: &[&tokbench_record::Cell]) -> Option<f64> {
    let (cached, prompt) = cells
        .iter()
        .filter_map(|c| c.prompt_cache_check.as_ref())
        .filter(|k| k.requests_with_account > 0)
        .fold((0u64, 0u64), |(c, p), k| {
            (c + k.cached_tokens, p + k.prompt_tokens)
        });
    (prompt > 0).then(|| cached as f64 / prompt as f64)
}

/// Cached prompt shares that differ from the baseline's by more than this
/// (a fraction of the prompt tokens) get a note: the sides then did
/// different amounts of prompt work per request.
const CACHED_SHARE_DIFF: f64 = 0.01;

/// A note for every side whose cached prompt share differs from the
/// baseline's (the first) by more than [`CACHED_SHARE_DIFF`], even below
/// the per-request `prompt_cache` flag: TTFT then compares different
/// amounts of prompt work (docs/methodology.md#comparing-runs).
fn cached_share_notes(shares: &[(&String, Option<f64>)]) -> Vec<String> {
    let Some(&(base_label, Some(base))) = shares.first() else {
        return Vec::new();
    };
    shares[1..]
        .iter()
        .filter_map(|&(label, share)| {
            let share = share?;
            ((share - base).abs() > CACHED_SHARE_DIFF).then(|| {
                format!(
                    "the server reused {:.1}% of prompt tokens from its cache on {label}, \
                     {:.1}% on {base_label}: ttft_ms compares different prompt work \
                     (prefill_tok_s counts evaluated tokens only)",
                    100.0 * share,
                    100.0 * base
                )
            })
        })
        .collect()
}

fn row(
    sides: &[Side],
    base_occ: &Occurrences,
    others: &[Option<&Vec<(usize, usize)>>],
    metric: MetricSpec,
    opts: &CompareOptions,
) -> Result<Option<MetricRow>, CompareError> {
    let base = gather(&sides[0], base_occ, metric);
    let mut versus = Vec::with_capacity(others.len());
    let mut any = base.n() > 0;
    for (j, occ) in others.iter().enumerate() {
        let new = occ.map(|o| gather(&sides[j + 1], o, metric));
        let v = match new {
            Some(new) => {
                any |= new.n() > 0;
                versus_of(j + 1, &base, &new, metric, opts)?
            }
            None => absent(j + 1, metric),
        };
        versus.push(v);
    }
    if !any {
        return Ok(None);
    }
    let source = mixed_source(&base, &versus);
    Ok(Some(MetricRow {
        metric: metric.label(),
        quantity: metric.quantity,
        statistic: metric.statistic,
        unit: metric.quantity.unit(),
        direction: metric.quantity.direction(),
        base: value_in(&base, source, metric.statistic),
        n_base: base.n(),
        versus,
    }))
}

fn absent(side: usize, _metric: MetricSpec) -> Versus {
    Versus {
        side,
        value: None,
        n: 0,
        source: Source::Samples,
        ratio: None,
        comparison: None,
        verdict: Verdict::Inconclusive,
    }
}

/// The baseline's value as shown: on the summaries when any column fell
/// back to them, so the ratio shown is the ratio of the values shown.
fn mixed_source(base: &Gathered, versus: &[Versus]) -> Source {
    if base.source == Source::Summaries || versus.iter().any(|v| v.source == Source::Summaries) {
        Source::Summaries
    } else {
        base.source
    }
}

fn value_in(g: &Gathered, source: Source, stat: Statistic) -> Option<f64> {
    if source == Source::Summaries {
        g.recorded_value()
    } else {
        g.value(stat)
    }
}

/// One side against the baseline for one metric: value, ratio and, when
/// the data allows, the interval and test (not yet Holm-adjusted or judged).
///
/// # Errors
/// [`CompareError::Stats`] for invalid options or values.
pub(crate) fn versus_of(
    side: usize,
    base: &Gathered,
    new: &Gathered,
    metric: MetricSpec,
    opts: &CompareOptions,
) -> Result<Versus, CompareError> {
    let fallback = base.source == Source::Summaries || new.source == Source::Summaries;
    let source = if fallback {
        Source::Summaries
    } else {
        new.source
    };
    let n = value_in(new, source, metric.statistic);
    let comparison = if fallback {
        summary_comparison(base, new, metric, opts)
    } else if source == Source::Runs && base.runs.len().min(new.runs.len()) < 2 {
        // One value per side: a bootstrap over one run is a point, not an
        // interval.
        None
    } else {
        compare(
            &base.runs,
            &new.runs,
            metric.statistic,
            metric.quantity.direction(),
            opts,
        )?
    };
    // The baseline's value only when there is no estimate to take the
    // ratio from (it costs a sort of the pooled values).
    let ratio = comparison.map(|c| c.estimate.ratio).or_else(|| {
        value_in(base, source, metric.statistic)
            .zip(n)
            .filter(|(b, _)| *b > 0.0)
            .map(|(b, n)| n / b)
    });
    Ok(Versus {
        side,
        value: n,
        n: new.n(),
        source,
        ratio,
        comparison,
        verdict: Verdict::Inconclusive,
    })
}

/// The summary fallback: medians only (no recorded interval exists for a
/// tail), `tokbench_stats::summary_ratio`.
fn summary_comparison(
    base: &Gathered,
    new: &Gathered,
    metric: MetricSpec,
    opts: &CompareOptions,
) -> Option<MetricComparison> {
    if metric.statistic != Statistic::Median {
        return None;
    }
    let (estimate, p) = summary_ratio(&base.summaries, &new.summaries, opts.level)?;
    Some(MetricComparison {
        statistic: metric.statistic,
        direction: metric.quantity.direction(),
        estimate,
        p_value: p,
        p_adjusted: p,
        verdict: Verdict::Inconclusive,
        mde: tokbench_stats::min_detectable_effect(&estimate),
        n_base: base.recorded_n,
        n_new: new.recorded_n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_different_cached_share_is_noted_against_the_baseline() {
        let (base, tmpl, same, unknown) = (
            "builtin".to_owned(),
            "tmpl".to_owned(),
            "again".to_owned(),
            "ollama".to_owned(),
        );
        // 32 of 818 prompt tokens reused (3.9 %) against none: noted.
        let notes = cached_share_notes(&[
            (&base, Some(0.0)),
            (&tmpl, Some(32.0 / 818.0)),
            (&same, Some(0.005)),
            (&unknown, None),
        ]);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].contains("3.9% of prompt tokens")
                && notes[0].contains("on tmpl, 0.0% on builtin"),
            "{}",
            notes[0]
        );
        // Without the baseline's account nothing can be said.
        assert!(cached_share_notes(&[(&unknown, None), (&tmpl, Some(0.5))]).is_empty());
    }
}
