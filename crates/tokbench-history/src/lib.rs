//! Histories of a metric over many tokbench run records, with the points
//! where they changed level.
//!
//! A **series** ([`Series`]) follows one metric of one configuration over
//! time. Its [`SeriesKey`] is everything that must stay the same for the
//! points to be comparable: the rig (`system.rig_name`), the model file
//! (`model.sha256`, else `model.id`), the backend configuration without its
//! version ([`BackendConfig`]: name, device, threads, parallel slots,
//! context size, extra flags), the run's mode (`run.mode`), and the cell's
//! shape, concurrency and open-loop rate. The backend's version and commit
//! are *not* in the key: they are what a history is over.
//!
//! A **point** ([`Point`]) is one record's cell: its date
//! (`run.started_utc`), the commit (`backend.commit`, else
//! `run.tokbench_commit`), the run id, and the value of the [`Metric`]
//! (the recorded median of a summary such as `decode_tok_s` in tok/s or
//! `ttft_ms` in ms, or the cell's `aggregate_output_tok_s` /
//! `request_throughput_rps`; see [`METRICS`]). Points are in time order;
//! skipped cells and cells without the metric are left out.
//!
//! A **history** ([`History`]) is a series with its change points, found
//! by E-divisive means ([`tokbench_stats::e_divisive`], options
//! [`ChangePointOptions`]; method in `docs/methodology.md`, "Change points
//! in a history"), and the [`Segment`]s between them with their means, so
//! that a change reads `decode_tok_s 50.1 → 44.7 (−10.8 %) at run X /
//! commit Y` ([`History::describe`]).
//!
//! ```
//! use tokbench_history::{histories, ChangePointOptions, Metric};
//! use tokbench_record::fixture::{example_record, ExampleSpec};
//!
//! let records = [example_record(&ExampleSpec::default())];
//! let metric = Metric::parse("decode_tok_s")?;
//! let found = histories(&records, metric, &ChangePointOptions::default())?;
//! // The fixture has 2 shapes × 2 concurrency levels: four one-point series.
//! assert_eq!(found.len(), 4);
//! assert!(found.iter().all(|h| h.change_points.is_empty()));
//! # Ok::<(), tokbench_history::HistoryError>(())
//! ```
//!
//! Errors are typed ([`HistoryError`]): an unknown metric name (listing
//! the valid ones) and invalid change-point options. This crate has no
//! async runtime and does no I/O: callers load the records
//! (`tokbench_record::load_dirs`, `read_record`).

mod changes;
mod error;
mod metric;
mod series;
mod time;

pub use changes::{histories, number, percent, ChangePoint, History, Segment, Verdict};
pub use error::HistoryError;
pub use metric::{Better, Metric, METRICS};
pub use series::{build_series, BackendConfig, Point, Series, SeriesKey};
pub use time::unix_seconds;
pub use tokbench_stats::ChangePointOptions;

#[cfg(test)]
mod tests;
