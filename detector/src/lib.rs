//! Vigil's detector: streaming anomaly detection, the ensemble score, L1–L4 classification and CSV
//! replay. Pure computation: no async runtime, no I/O apart from replay's and NAB scoring's files.
//!
//! How it fits the pipeline: the binary feeds every collected [`model::Sample`] to a [`Pipeline`],
//! which returns the [`model::Signal`]s that started, changed level or ended, for the responder.
//!
//! - [`detectors`]: the streaming detectors behind the [`Detector`] trait (EWMA z-score, rank/MAD
//!   window, level shift, volatility, seasonal baseline, CUSUM, rate of change). Each reports a
//!   *surprise* (-ln of a tail probability), so different detectors and series share one scale.
//! - [`ensemble`]: combines detectors per series into one calibrated score in [0, 1] and damps repeated
//!   alarms from one event.
//! - [`policy`]: the rules of `alerts/policy.toml` that give signals their level, category, component
//!   and a reason people can read.
//! - [`learn`]: the linfa models — a multivariate model per group of related series and a decision
//!   tree that learns levels from incident commanders' labels.
//! - [`pipeline`]: per-series state, hysteresis and episodes, bounded in memory.
//! - [`replay`] and [`nab`]: batch scoring of CSV streams with the same ensemble, and NAB scoring.
//!
//! ```
//! use std::sync::Arc;
//! use detector::{Pipeline, PipelineConfig, Policy};
//! use model::{Level, Sample, SeriesKey};
//!
//! let mut pipeline = Pipeline::new(PipelineConfig::default(), Policy::default_policy());
//! let key = Arc::new(SeriesKey::new("peg_deviation_percent").with_label("target", "core-price"));
//! let mut signals = Vec::new();
//! for (i, value) in [0.1, 0.2, 4.8, 5.1].into_iter().enumerate() {
//!     signals.extend(pipeline.observe(&Sample { key: Arc::clone(&key), at_ms: i as i64 * 5_000, value }));
//! }
//! assert_eq!(signals[0].level, Level::L2);
//! assert!(signals[0].reason.starts_with("peg deviation"));
//! ```
//!
//! Key design decision: every score is a calibrated tail probability against the series' own recent
//! history (ranks, not Gaussian assumptions), so one threshold means the same thing on every series.

pub mod detectors;
pub mod ensemble;
pub mod learn;
pub mod nab;
pub mod pipeline;
pub mod policy;
pub mod replay;
mod timestamp;
mod window;

pub use detectors::{Detector, DetectorConfig, Observation};
pub use ensemble::{Ensemble, EnsembleConfig, EnsembleOutput};
pub use learn::{GroupModel, GroupModelKind, LearnError, LevelClassifier};
pub use nab::{NabError, NabReport, run_benchmark, score_results};
pub use pipeline::{GroupConfig, Pipeline, PipelineConfig, RefitReport};
pub use policy::{Policy, PolicyError};
pub use replay::{ReplayConfig, ReplayError, ReplayStats, replay_dir, replay_file};
