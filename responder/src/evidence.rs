//! Evidence: facts that belong on an incident's timeline but are no reason to open one — the outflow
//! transactions of a falling contract balance, seen by chain watching.
//!
//! Evidence often arrives *before* the incident it belongs to: the transfer is in the block the watcher
//! reads, while the detector's signal needs that read to fire. So evidence for a component with no open
//! incident waits here for [`HOLD_MS`], and is written to the incident's timeline when one opens with the
//! same key; otherwise it is dropped (it was an ordinary withdrawal).

use std::collections::VecDeque;
use std::sync::Mutex;

use model::Labels;

use crate::dedup;
use crate::error::Result;
use crate::service::{AlertInput, IngestOutcome, Responder};

/// How long evidence waits for its incident.
const HOLD_MS: i64 = 120_000;
/// Evidence kept waiting at most (oldest dropped first).
const MAX_WAITING: usize = 1_000;

const CATEGORIES: [&str; 5] = ["chain", "peg", "security", "infra", "ux"];

/// The category of a chain alert: its `category` label when it is a known one, else `chain`.
pub(crate) fn chain_category(labels: &Labels) -> String {
    labels
        .get("category")
        .filter(|category| CATEGORIES.contains(&category.as_str()))
        .cloned()
        .unwrap_or_else(|| "chain".to_owned())
}

struct Waiting {
    key: String,
    at_ms: i64,
    actor: String,
    text: String,
}

#[derive(Default)]
pub(crate) struct EvidenceBuffer {
    waiting: Mutex<VecDeque<Waiting>>,
}

impl EvidenceBuffer {
    fn push(&self, item: Waiting) {
        let mut waiting = self
            .waiting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let horizon = item.at_ms - HOLD_MS;
        waiting.retain(|kept| kept.at_ms >= horizon);
        if waiting.len() >= MAX_WAITING {
            waiting.pop_front();
        }
        waiting.push_back(item);
    }

    fn take(&self, key: &str, now_ms: i64) -> Vec<Waiting> {
        let mut waiting = self
            .waiting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let horizon = now_ms - HOLD_MS;
        let (mine, rest): (VecDeque<Waiting>, VecDeque<Waiting>) = waiting
            .drain(..)
            .filter(|kept| kept.at_ms >= horizon)
            .partition(|kept| kept.key == key);
        *waiting = rest;
        mine.into()
    }
}

impl Responder {
    /// An evidence alert: onto the open incident of its component and category, or waiting for one.
    pub(crate) async fn ingest_evidence(&self, alert: &AlertInput) -> Result<IngestOutcome> {
        let component = alert
            .labels
            .get("component")
            .cloned()
            .unwrap_or_else(|| "chain".to_owned());
        let key = dedup::component_key(&component, &chain_category(&alert.labels));
        let text = alert
            .annotations
            .get("description")
            .or_else(|| alert.annotations.get("summary"))
            .cloned()
            .unwrap_or_else(|| format!("evidence {}", alert.fingerprint));
        if let Some(incident) = self.inner.store.open_incident_by_key(&key).await? {
            self.append_evidence(&incident.id, "chain", &text).await?;
            return Ok(IngestOutcome {
                incident_id: Some(incident.id),
                opened: false,
                escalated: false,
            });
        }
        self.inner.evidence.push(Waiting {
            key,
            at_ms: self.now(),
            actor: "chain".to_owned(),
            text,
        });
        Ok(IngestOutcome {
            incident_id: None,
            opened: false,
            escalated: false,
        })
    }

    /// Writes the evidence that waited for the incident just opened under `key`.
    pub(crate) async fn attach_evidence(&self, key: &str, incident_id: &str) {
        for item in self.inner.evidence.take(key, self.now()) {
            if let Err(error) = self
                .append_evidence(incident_id, &item.actor, &item.text)
                .await
            {
                tracing::warn!(incident = %incident_id, %error, "cannot add evidence to the timeline");
            }
        }
    }
}
