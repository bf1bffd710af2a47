//! Pure statistics and metric definitions for tokbench.
//!
//! This crate never depends on an async runtime: it turns raw per-request
//! measurements ([`sample`]) into the metrics defined in
//! `docs/methodology.md` ([`metrics`]) and summarises them with documented
//! estimators (quantiles, bootstrap confidence intervals).

pub mod sample;

pub use sample::{Channel, ErrorKind, Outcome, RequestSample, ServerTimings, TokenEvent, Usage};
