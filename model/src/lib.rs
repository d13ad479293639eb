//! Shared domain types that the Vigil pipeline passes between its parts.
//!
//! `model` is the leaf of the workspace: collectors produce [`Sample`]s keyed by [`SeriesKey`], the
//! detector turns them into [`Signal`]s with a [`Level`], and the responder stores incidents that refer to
//! them. Nothing here does I/O, so every other crate can depend on it without pulling in a runtime.

pub mod duration;
pub mod error;
pub mod level;
pub mod series;
pub mod signal;

pub use duration::HumanDuration;
pub use error::{ErrorKind, HasKind};
pub use level::Level;
pub use series::{Labels, Sample, SeriesKey};
pub use signal::{Evidence, Signal, SignalCategory};

/// Milliseconds since the Unix epoch, the time unit of every sample and signal.
pub type UnixMs = i64;

/// Returns the current wall-clock time in Unix milliseconds.
pub fn now_ms() -> UnixMs {
    chrono::Utc::now().timestamp_millis()
}
