//! Responder integration tests: real channels against real peers (an SMTP server, an HTTP receiver).

mod email;
mod healthchecks;
mod pause;
mod runbooks;
mod webhook;

use std::sync::Arc;

use model::{Level, SeriesKey, Signal, SignalCategory};

/// A fresh SQLite store in a temp dir (kept alive by the returned guard).
pub async fn sqlite_store() -> (Arc<dyn responder::Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/vigil.db", dir.path().display());
    (responder::connect(&url).await.unwrap(), dir)
}

pub fn l1_signal(id: &str) -> Signal {
    Signal {
        id: id.to_owned(),
        series: SeriesKey::new("chain_head_age_seconds"),
        category: SignalCategory::Chain,
        component: "chain".to_owned(),
        score: 0.99,
        level: Level::L1,
        reason: "no new head for 25 s > 18 s".to_owned(),
        started_at_ms: model::now_ms(),
        updated_at_ms: model::now_ms(),
        active: true,
        evidence: Vec::new(),
    }
}
