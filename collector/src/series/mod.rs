//! Bounded in-memory series windows and Prometheus-style selectors.
//!
//! [`SeriesStore`] keeps the last [`SeriesLimits::points_per_series`] points of at most
//! [`SeriesLimits::max_series`] series, so its memory is bounded whatever the targets expose. It is
//! shared as `Arc<SeriesStore>` by the scrape engine (writes) and the HTTP layer (reads); every
//! method takes `&self`.
//!
//! Typical use by a scrape loop:
//! ```
//! use collector::exposition::{Format, ParseLimits};
//! use collector::series::{Batch, Selector, SeriesLimits, SeriesStore};
//!
//! let store = SeriesStore::new(SeriesLimits::default());
//! let body = "# TYPE up gauge\nup{job=\"node\"} 1\n";
//! let (batch, stats) = Batch::from_exposition(body, Format::Text, &ParseLimits::default()).unwrap();
//! assert_eq!(stats.bad_lines, 0);
//! let outcome = store.ingest_batch(&batch, &[("target", "node-1")], 1_700_000_000_000);
//! assert_eq!(outcome.new_series, 1);
//! let selector = Selector::parse(r#"up{target="node-1"}"#).unwrap();
//! assert_eq!(store.latest(&selector)[0].value, 1.0);
//! ```

mod batch;
mod selector;
mod store;

pub use batch::Batch;
pub use selector::{MatchOp, Matcher, Selector, SelectorError};
pub use store::{
    BatchOutcome, IngestOutcome, LatestPoint, SeriesLimits, SeriesPoints, SeriesStore, StoreStats,
};
