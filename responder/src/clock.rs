//! Wall-clock time behind a trait, so timelines, escalation and maintenance windows can be pinned and
//! advanced in tests. Pacing (sleeps, intervals) stays on `tokio::time`; records take their time from here.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use model::UnixMs;

/// A source of wall-clock time in Unix milliseconds.
pub trait Clock: Send + Sync + 'static {
    fn now_ms(&self) -> UnixMs;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> UnixMs {
        model::now_ms()
    }
}

/// A clock that only moves when told to; cheap to clone (clones share the time).
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn new(start_ms: UnixMs) -> Self {
        Self(Arc::new(AtomicI64::new(start_ms)))
    }

    pub fn set(&self, at_ms: UnixMs) {
        self.0.store(at_ms, Ordering::SeqCst);
    }

    pub fn advance(&self, by: std::time::Duration) {
        self.0.fetch_add(
            i64::try_from(by.as_millis()).unwrap_or(i64::MAX),
            Ordering::SeqCst,
        );
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> UnixMs {
        self.0.load(Ordering::SeqCst)
    }
}
