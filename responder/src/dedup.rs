//! Dedup keys: what makes two observations "the same problem", so they fold into one open incident.
//!
//! - Detector signals: `signal/<component>/<category>`. Every anomalous series of one component and
//!   category (say, the chain's head age, height and block time all going wrong at once) is one problem.
//! - Alertmanager alerts: `alert/` plus the values of the configured `alert_group_by` labels (default
//!   `alertname`, `component`, `service`, `chain`), like Alertmanager's own `group_by`. Alerts differing
//!   only in other labels (instance, pod) fold together.
//! - Manual incidents: `manual/<incident id>` (never folded).
//! - Heartbeats: `heartbeat/<name>`; on-call coverage gaps: `oncall-gap/<schedule>`.
//!
//! A key is unique among unresolved incidents (a partial unique index), so concurrent replicas cannot open
//! two incidents for one problem. Once resolved, the next observation opens a new incident.

use model::{Labels, Signal};

pub fn signal_key(signal: &Signal) -> String {
    component_key(&signal.component, signal.category.as_str())
}

/// The key of "this component has this kind of problem": detector signals and chain alerts share it.
pub fn component_key(component: &str, category: &str) -> String {
    format!("signal/{component}/{category}")
}

pub fn alert_key(labels: &Labels, group_by: &[String]) -> String {
    let parts: Vec<String> = group_by
        .iter()
        .map(|name| {
            format!(
                "{name}={}",
                labels.get(name).map(String::as_str).unwrap_or("")
            )
        })
        .collect();
    format!("alert/{}", parts.join(","))
}

pub fn heartbeat_key(name: &str) -> String {
    format!("heartbeat/{name}")
}

pub fn oncall_gap_key(schedule: &str) -> String {
    format!("oncall-gap/{schedule}")
}
