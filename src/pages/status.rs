//! The public status page model: which components are how healthy, the open incidents with their public
//! updates, scheduled maintenance, and 90-day uptime bars — plus its three renderings (HTML page,
//! Statuspage.io-shaped `summary.json`, Atom feed).
//!
//! How statuses are derived (documented on the page too):
//! - an open incident makes its component **L1 → major outage, L2 → partial outage, L3 → degraded
//!   performance**; **L4 leaves it operational** but its notice is listed ("operational with notice");
//! - a component with no outage inside an active maintenance window is **under maintenance**;
//! - the page indicator is the worst component: major outage → `critical`, partial → `major`,
//!   degraded → `minor`, otherwise `none` (maintenance alone is `none` with a maintenance description);
//! - uptime counts time inside L1/L2 incidents as down; L3 days are coloured but count as up.
//!
//! Vigil-internal incidents (missed heartbeats, on-call coverage gaps) are not public. An incident with no
//! public update yet shows a generic "investigating" update dated at its start, so readers never see a
//! bare title; a resolved one without a "resolved" update gets one dated at its resolution.
//!
//! [`build_model`] is pure (records in, model out) so the rules above are unit-tested without a server.

use std::collections::BTreeSet;

use askama::Template;
use model::Level;
use responder::MaintenancePeriod;
pub use responder::status::{component_name, is_public};
use responder::store::{Incident, IncidentState, TimelineEntry};
use responder::time::rfc3339;
use serde_json::{Value, json};

pub const DAY_MS: i64 = 24 * 3600 * 1000;
/// Days of history in the uptime bars.
pub const UPTIME_DAYS: i64 = 90;
/// Components always listed, in this order; incidents can add more.
pub const BASE_COMPONENTS: [&str; 8] = [
    "chain", "peg", "bridge", "escrow", "auction", "staking", "registry", "api",
];
/// How far back resolved incidents are listed under "Past incidents" and in the feed.
pub const PAST_DAYS: i64 = 14;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ComponentStatus {
    Operational,
    UnderMaintenance,
    DegradedPerformance,
    PartialOutage,
    MajorOutage,
}

impl ComponentStatus {
    /// The Statuspage.io wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Operational => "operational",
            Self::UnderMaintenance => "under_maintenance",
            Self::DegradedPerformance => "degraded_performance",
            Self::PartialOutage => "partial_outage",
            Self::MajorOutage => "major_outage",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Operational => "Operational",
            Self::UnderMaintenance => "Under maintenance",
            Self::DegradedPerformance => "Degraded performance",
            Self::PartialOutage => "Partial outage",
            Self::MajorOutage => "Major outage",
        }
    }

    /// The impact an open incident of `level` has on its component.
    pub fn of_level(level: Level) -> Self {
        match level {
            Level::L1 => Self::MajorOutage,
            Level::L2 => Self::PartialOutage,
            Level::L3 => Self::DegradedPerformance,
            Level::L4 => Self::Operational,
        }
    }
}

/// Statuspage's incident impact names.
pub fn impact_of(level: Level) -> &'static str {
    match level {
        Level::L1 => "critical",
        Level::L2 => "major",
        Level::L3 => "minor",
        Level::L4 => "none",
    }
}

/// What the model is built from; [`crate::pages::Web`] reads it from the store and the responder.
pub struct Inputs {
    pub now_ms: i64,
    pub page_name: String,
    pub base_url: String,
    /// Incidents to list (open, and resolved within [`PAST_DAYS`]) with their timelines.
    pub listed: Vec<(Incident, Vec<TimelineEntry>)>,
    /// Every incident that overlaps the uptime window (open or not).
    pub history: Vec<Incident>,
    /// Maintenance periods from now to a week ahead, plus any in progress.
    pub maintenance: Vec<MaintenancePeriod>,
}

#[derive(Debug, Clone)]
pub struct DayCell {
    pub x: i64,
    pub class: &'static str,
    pub label: String,
}

#[derive(Debug, Clone)]
pub struct ComponentRow {
    pub id: String,
    pub name: String,
    pub status: ComponentStatus,
    pub uptime: String,
    pub days: Vec<DayCell>,
}

/// Consecutive days of the same colour, drawn as one patterned rectangle: a quiet quarter is one element
/// instead of ninety, which keeps the page small (it is the hottest public response).
#[derive(Debug, Clone, PartialEq)]
pub struct DayRun {
    pub x: i64,
    pub width: i64,
    pub class: &'static str,
    pub label: String,
}

impl ComponentRow {
    pub fn runs(&self) -> Vec<DayRun> {
        let mut runs: Vec<DayRun> = Vec::new();
        let mut first_label = String::new();
        for day in &self.days {
            let text = day.label.split_once(": ").map_or("", |(_, text)| text);
            match runs.last_mut() {
                Some(run) if run.class == day.class && run.label.ends_with(text) => {
                    run.width += 5;
                    let date = day.label.split_once(": ").map_or("", |(date, _)| date);
                    run.label = format!("{first_label} to {date}: {text}");
                }
                _ => {
                    first_label = day
                        .label
                        .split_once(": ")
                        .map_or("", |(date, _)| date)
                        .to_owned();
                    runs.push(DayRun {
                        x: day.x,
                        width: 5,
                        class: day.class,
                        label: day.label.clone(),
                    });
                }
            }
        }
        runs
    }
}

#[derive(Debug, Clone)]
pub struct PublicUpdate {
    pub id: String,
    pub status: String,
    pub body: String,
    pub at: String,
}

#[derive(Debug, Clone)]
pub struct PublicIncident {
    pub id: String,
    pub name: String,
    pub level: Level,
    pub impact: &'static str,
    pub status: String,
    pub component: String,
    pub component_name: String,
    pub created_at: String,
    pub updated_at: String,
    pub resolved_at: Option<String>,
    pub monitoring_at: Option<String>,
    /// Newest first.
    pub updates: Vec<PublicUpdate>,
}

impl PublicIncident {
    pub fn is_open(&self) -> bool {
        self.resolved_at.is_none()
    }

    pub fn status_label(&self) -> String {
        component_name(&self.status)
    }
}

#[derive(Debug, Clone)]
pub struct MaintenanceNotice {
    pub id: String,
    pub name: String,
    pub components: Vec<String>,
    pub scheduled_for: String,
    pub scheduled_until: String,
    pub in_progress: bool,
}

impl MaintenanceNotice {
    pub fn components_text(&self) -> String {
        if self.components.is_empty() {
            "all components".to_owned()
        } else {
            self.components
                .iter()
                .map(|c| component_name(c))
                .collect::<Vec<_>>()
                .join(", ")
        }
    }
}

#[derive(Debug, Clone)]
pub struct StatusModel {
    pub page_name: String,
    pub base_url: String,
    pub updated_at: String,
    pub indicator: &'static str,
    pub description: &'static str,
    pub components: Vec<ComponentRow>,
    pub open: Vec<PublicIncident>,
    pub past: Vec<PublicIncident>,
    pub maintenance: Vec<MaintenanceNotice>,
}

pub fn build_model(inputs: &Inputs) -> StatusModel {
    let now = inputs.now_ms;
    let mut ids: Vec<String> = BASE_COMPONENTS.iter().map(|c| (*c).to_owned()).collect();
    let extra: BTreeSet<&str> = inputs
        .history
        .iter()
        .chain(inputs.listed.iter().map(|(incident, _)| incident))
        .filter(|incident| is_public(incident))
        .map(|incident| incident.component.as_str())
        .filter(|component| !component.is_empty() && !BASE_COMPONENTS.contains(component))
        .collect();
    ids.extend(extra.into_iter().map(str::to_owned));

    let active_maintenance: Vec<&MaintenancePeriod> = inputs
        .maintenance
        .iter()
        .filter(|period| period.start_ms <= now && now < period.end_ms)
        .collect();

    let today_start = now.div_euclid(DAY_MS) * DAY_MS;
    let window_start = today_start - (UPTIME_DAYS - 1) * DAY_MS;
    let mut components = Vec::with_capacity(ids.len());
    for id in ids {
        let mut status = inputs
            .listed
            .iter()
            .map(|(incident, _)| incident)
            .filter(|incident| {
                incident.state != IncidentState::Resolved
                    && incident.component == id
                    && is_public(incident)
            })
            .map(|incident| ComponentStatus::of_level(incident.level))
            .max()
            .unwrap_or(ComponentStatus::Operational);
        let in_maintenance = active_maintenance
            .iter()
            .any(|period| period.components.is_empty() || period.components.contains(&id));
        if in_maintenance && status <= ComponentStatus::DegradedPerformance {
            status = ComponentStatus::UnderMaintenance;
        }
        let intervals: Vec<(i64, i64, Level)> = inputs
            .history
            .iter()
            .filter(|incident| incident.component == id && is_public(incident))
            .map(|incident| {
                (
                    incident.opened_at_ms,
                    incident.resolved_at_ms.unwrap_or(now),
                    incident.level,
                )
            })
            .collect();
        let (days, down_ms) = uptime_days(&intervals, window_start, now);
        let window = (now - window_start).max(1);
        let uptime = 100.0 * (1.0 - down_ms as f64 / window as f64);
        components.push(ComponentRow {
            name: component_name(&id),
            id,
            status,
            uptime: format!("{:.2}", uptime.clamp(0.0, 100.0)),
            days,
        });
    }

    let worst = components
        .iter()
        .map(|row| row.status)
        .max()
        .unwrap_or(ComponentStatus::Operational);
    let (indicator, description) = match worst {
        ComponentStatus::MajorOutage => ("critical", "Major System Outage"),
        ComponentStatus::PartialOutage => ("major", "Partial System Outage"),
        ComponentStatus::DegradedPerformance => ("minor", "Minor Service Outage"),
        ComponentStatus::UnderMaintenance => ("none", "Service Under Maintenance"),
        ComponentStatus::Operational => ("none", "All Systems Operational"),
    };

    let mut open = Vec::new();
    let mut past = Vec::new();
    for (incident, timeline) in &inputs.listed {
        if !is_public(incident) {
            continue;
        }
        let public = public_incident(incident, timeline);
        if public.is_open() {
            open.push(public);
        } else {
            past.push(public);
        }
    }
    // Most severe first, then newest.
    open.sort_by(|a, b| {
        a.level
            .cmp(&b.level)
            .then_with(|| b.created_at.cmp(&a.created_at))
    });
    past.sort_by(|a, b| b.created_at.cmp(&a.created_at));

    let maintenance = inputs
        .maintenance
        .iter()
        .filter(|period| period.end_ms > now)
        .map(|period| MaintenanceNotice {
            id: format!("{}-{}", slug(&period.name), period.start_ms),
            name: period.name.clone(),
            components: period.components.clone(),
            scheduled_for: rfc3339(period.start_ms),
            scheduled_until: rfc3339(period.end_ms),
            in_progress: period.start_ms <= now,
        })
        .collect();

    StatusModel {
        page_name: inputs.page_name.clone(),
        base_url: inputs.base_url.trim_end_matches('/').to_owned(),
        updated_at: rfc3339(now),
        indicator,
        description,
        components,
        open,
        past,
        maintenance,
    }
}

/// One cell per day of the window, coloured by the worst incident that day, and the total downtime.
fn uptime_days(
    intervals: &[(i64, i64, Level)],
    window_start: i64,
    now: i64,
) -> (Vec<DayCell>, i64) {
    let mut cells = Vec::with_capacity(UPTIME_DAYS as usize);
    let mut down_total = 0;
    for day in 0..UPTIME_DAYS {
        let from = window_start + day * DAY_MS;
        let to = (from + DAY_MS).min(now.max(from));
        let mut worst: Option<Level> = None;
        let mut count = 0;
        // Overlapping outages on one day must not count twice: merge them before summing.
        let mut down: Vec<(i64, i64)> = Vec::new();
        for &(start, end, level) in intervals {
            let (lo, hi) = (start.max(from), end.min(from + DAY_MS));
            if lo >= hi && !(start >= from && start < from + DAY_MS) {
                continue;
            }
            count += 1;
            worst = Some(worst.map_or(level, |w| w.min(level)));
            if matches!(level, Level::L1 | Level::L2) && hi > lo {
                down.push((lo, hi.min(to.max(lo))));
            }
        }
        down.sort_unstable();
        let mut merged_end = i64::MIN;
        for (lo, hi) in down {
            let lo = lo.max(merged_end);
            if hi > lo {
                down_total += hi - lo;
            }
            merged_end = merged_end.max(hi);
        }
        let date = rfc3339(from)[..10].to_owned();
        let (class, text) = match worst.map(ComponentStatus::of_level) {
            None if from > now => ("none", "no data".to_owned()),
            None | Some(ComponentStatus::Operational) => (
                "op",
                if count == 0 {
                    "no incidents".to_owned()
                } else {
                    format!("{count} minor notice(s)")
                },
            ),
            Some(status) => (
                match status {
                    ComponentStatus::MajorOutage => "major",
                    ComponentStatus::PartialOutage => "partial",
                    _ => "degraded",
                },
                format!("{} ({count} incident(s))", status.label().to_lowercase()),
            ),
        };
        cells.push(DayCell {
            x: day * 5,
            class,
            label: format!("{date}: {text}"),
        });
    }
    (cells, down_total)
}

fn public_incident(incident: &Incident, timeline: &[TimelineEntry]) -> PublicIncident {
    let mut updates: Vec<PublicUpdate> = timeline
        .iter()
        .filter(|entry| entry.kind == "status_update")
        .map(|entry| {
            let (status, body) = entry
                .text
                .split_once(": ")
                .unwrap_or(("investigating", entry.text.as_str()));
            PublicUpdate {
                id: entry.id.to_string(),
                status: status.to_owned(),
                body: body.to_owned(),
                at: rfc3339(entry.at_ms),
            }
        })
        .collect();
    let component = component_name(&incident.component);
    if updates.is_empty() {
        updates.push(PublicUpdate {
            id: format!("{}-opened", incident.id),
            status: "investigating".to_owned(),
            body: format!("We are investigating a problem affecting {component}."),
            at: rfc3339(incident.opened_at_ms),
        });
    }
    if let Some(resolved) = incident.resolved_at_ms
        && updates.last().is_some_and(|last| last.status != "resolved")
    {
        updates.push(PublicUpdate {
            id: format!("{}-resolved", incident.id),
            status: "resolved".to_owned(),
            body: "This incident has been resolved.".to_owned(),
            at: rfc3339(resolved),
        });
    }
    let monitoring_at = updates
        .iter()
        .find(|update| update.status == "monitoring")
        .map(|update| update.at.clone());
    let status = if incident.resolved_at_ms.is_some() {
        "resolved".to_owned()
    } else {
        updates
            .last()
            .map_or_else(|| "investigating".to_owned(), |u| u.status.clone())
    };
    let updated_at = updates
        .last()
        .map_or_else(|| rfc3339(incident.opened_at_ms), |u| u.at.clone());
    updates.reverse();
    PublicIncident {
        id: incident.id.clone(),
        name: incident.title.clone(),
        level: incident.level,
        impact: impact_of(incident.level),
        status,
        component: incident.component.clone(),
        component_name: component,
        created_at: rfc3339(incident.opened_at_ms),
        updated_at,
        resolved_at: incident.resolved_at_ms.map(rfc3339),
        monitoring_at,
        updates,
    }
}

fn slug(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

// ---- renderings --------------------------------------------------------------------------------------

/// `GET /api/v1/status/summary.json`, in the Statuspage.io v2 summary shape.
pub fn summary_json(model: &StatusModel) -> Value {
    let page_id = "vigil";
    let incident_json = |incident: &PublicIncident| {
        json!({
            "id": incident.id,
            "name": incident.name,
            "status": incident.status,
            "impact": incident.impact,
            "created_at": incident.created_at,
            "updated_at": incident.updated_at,
            "started_at": incident.created_at,
            "monitoring_at": incident.monitoring_at,
            "resolved_at": incident.resolved_at,
            "shortlink": format!("{}/#incident-{}", model.base_url, incident.id),
            "page_id": page_id,
            "incident_updates": incident.updates.iter().map(|update| json!({
                "id": update.id,
                "incident_id": incident.id,
                "status": update.status,
                "body": update.body,
                "created_at": update.at,
                "updated_at": update.at,
                "display_at": update.at,
                "affected_components": [{"code": incident.component, "name": incident.component_name}],
            })).collect::<Vec<_>>(),
            "components": [{"id": incident.component, "name": incident.component_name}],
        })
    };
    json!({
        "page": {
            "id": page_id,
            "name": model.page_name,
            "url": model.base_url,
            "time_zone": "Etc/UTC",
            "updated_at": model.updated_at,
        },
        "status": {"indicator": model.indicator, "description": model.description},
        "components": model.components.iter().enumerate().map(|(position, row)| json!({
            "id": row.id,
            "name": row.name,
            "status": row.status.as_str(),
            "position": position + 1,
            "description": null,
            "showcase": true,
            "group": false,
            "group_id": null,
            "only_show_if_degraded": false,
            "page_id": page_id,
            "updated_at": model.updated_at,
            "uptime_90d_percent": row.uptime,
        })).collect::<Vec<_>>(),
        "incidents": model.open.iter().map(incident_json).collect::<Vec<_>>(),
        "scheduled_maintenances": model.maintenance.iter().map(|m| json!({
            "id": m.id,
            "name": m.name,
            "status": if m.in_progress { "in_progress" } else { "scheduled" },
            "impact": "maintenance",
            "scheduled_for": m.scheduled_for,
            "scheduled_until": m.scheduled_until,
            "page_id": page_id,
            "incident_updates": [],
            "components": m.components.iter().map(|c| json!({"id": c, "name": component_name(c)})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

#[derive(Template)]
#[template(path = "status.html")]
pub struct StatusPage<'a> {
    pub model: &'a StatusModel,
    /// `email`, `webhook`: the subscription kinds offered (none: no form).
    pub subscribe_kinds: &'a [&'static str],
    pub live: bool,
    pub section: &'static str,
}

impl StatusPage<'_> {
    /// The label of the subscribe form's address field for the kinds offered.
    pub fn address_label(&self) -> &'static str {
        match self.subscribe_kinds {
            ["email"] => "Email address",
            ["webhook"] => "Webhook URL",
            _ => "Email address or webhook URL",
        }
    }
}

pub fn kind_label(kind: &str) -> &'static str {
    match kind {
        "email" => "Email",
        _ => "Webhook (JSON POST)",
    }
}

#[derive(Template)]
#[template(path = "feed.xml")]
pub struct Feed<'a> {
    pub model: &'a StatusModel,
    /// Open first, then past: every incident the page lists.
    pub entries: Vec<&'a PublicIncident>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incident(
        id: &str,
        component: &str,
        level: Level,
        opened: i64,
        resolved: Option<i64>,
    ) -> Incident {
        Incident {
            id: id.into(),
            dedup_key: id.into(),
            title: format!("{component} trouble <b>"),
            level,
            state: if resolved.is_some() {
                IncidentState::Resolved
            } else {
                IncidentState::Triggered
            },
            component: component.into(),
            category: "security".into(),
            source: "manual".into(),
            summary: String::new(),
            runbook: None,
            commander: None,
            assignees: vec![],
            labels: Default::default(),
            public_status: None,
            opened_at_ms: opened,
            acked_at_ms: None,
            acked_by: None,
            resolved_at_ms: resolved,
            last_signal_at_ms: opened,
            clear_since_ms: None,
            active_sources: BTreeSet::new(),
            signal_count: 1,
            esc_level: level,
            esc_step: 0,
            esc_round: 0,
            next_escalation_at_ms: None,
            suppressed: None,
            paged_channels: BTreeSet::new(),
            version: 1,
        }
    }

    fn entry(id: i64, incident: &str, at: i64, kind: &str, text: &str) -> TimelineEntry {
        TimelineEntry {
            id,
            incident_id: incident.into(),
            at_ms: at,
            kind: kind.into(),
            actor: "ops".into(),
            text: text.into(),
        }
    }

    const NOW: i64 = 1_780_000_000_000;

    fn inputs(listed: Vec<(Incident, Vec<TimelineEntry>)>) -> Inputs {
        Inputs {
            now_ms: NOW,
            page_name: "Vigil".into(),
            base_url: "http://127.0.0.1:8080/".into(),
            history: listed.iter().map(|(i, _)| i.clone()).collect(),
            listed,
            maintenance: vec![],
        }
    }

    fn status_of<'a>(model: &'a StatusModel, id: &str) -> &'a ComponentRow {
        model.components.iter().find(|row| row.id == id).unwrap()
    }

    #[test]
    fn levels_map_to_component_impact_and_the_worst_sets_the_indicator() {
        let model = build_model(&inputs(vec![
            (
                incident("a", "bridge", Level::L1, NOW - 60_000, None),
                vec![],
            ),
            (incident("b", "peg", Level::L3, NOW - 60_000, None), vec![]),
            (
                incident("c", "staking", Level::L4, NOW - 60_000, None),
                vec![],
            ),
        ]));
        assert_eq!(
            status_of(&model, "bridge").status,
            ComponentStatus::MajorOutage
        );
        assert_eq!(
            status_of(&model, "peg").status,
            ComponentStatus::DegradedPerformance
        );
        assert_eq!(
            status_of(&model, "staking").status,
            ComponentStatus::Operational
        );
        assert_eq!(
            status_of(&model, "chain").status,
            ComponentStatus::Operational
        );
        assert_eq!(model.indicator, "critical");
        assert_eq!(model.open.len(), 3, "L4 notices are still listed");
        assert_eq!(model.open[0].id, "a", "most severe first");
    }

    #[test]
    fn all_clear_and_maintenance() {
        let mut input = inputs(vec![]);
        assert_eq!(build_model(&input).indicator, "none");
        assert_eq!(build_model(&input).description, "All Systems Operational");
        input.maintenance = vec![MaintenancePeriod {
            name: "bridge upgrade".into(),
            components: vec!["bridge".into()],
            start_ms: NOW - 1000,
            end_ms: NOW + 3_600_000,
        }];
        let model = build_model(&input);
        assert_eq!(
            status_of(&model, "bridge").status,
            ComponentStatus::UnderMaintenance
        );
        assert_eq!(
            status_of(&model, "chain").status,
            ComponentStatus::Operational
        );
        assert!(model.maintenance[0].in_progress);
        assert_eq!(model.description, "Service Under Maintenance");
    }

    #[test]
    fn public_updates_newest_first_and_internal_incidents_hidden() {
        let open = incident("a", "bridge", Level::L2, NOW - 120_000, None);
        let timeline = vec![
            entry(1, "a", NOW - 120_000, "detected", "signal"),
            entry(
                2,
                "a",
                NOW - 100_000,
                "status_update",
                "investigating: Looking into it",
            ),
            entry(
                3,
                "a",
                NOW - 50_000,
                "status_update",
                "identified: Found: a bad relayer",
            ),
            entry(4, "a", NOW - 40_000, "note", "internal only"),
        ];
        let mut hidden = incident("h", "vigil", Level::L2, NOW - 1000, None);
        hidden.category = "heartbeat".into();
        let model = build_model(&inputs(vec![(open, timeline), (hidden, vec![])]));
        assert_eq!(model.open.len(), 1);
        let updates = &model.open[0].updates;
        assert_eq!(updates.len(), 2, "notes are not public");
        assert_eq!(updates[0].status, "identified");
        assert_eq!(updates[0].body, "Found: a bad relayer");
        assert_eq!(model.open[0].status, "identified");
        assert!(!model.components.iter().any(|row| row.id == "vigil"));
    }

    #[test]
    fn resolved_incidents_are_past_with_a_resolved_update_and_count_in_uptime() {
        // Down for 9 of the last 90 days' worth of hours? Use one day fully down.
        let started = NOW - 3 * DAY_MS;
        let resolved = incident("r", "bridge", Level::L1, started, Some(started + DAY_MS));
        let model = build_model(&inputs(vec![(resolved, vec![])]));
        assert!(model.open.is_empty());
        assert_eq!(model.past[0].status, "resolved");
        assert_eq!(model.past[0].updates[0].status, "resolved");
        assert_eq!(model.past[0].updates[1].status, "investigating");
        let bridge = status_of(&model, "bridge");
        assert_eq!(bridge.status, ComponentStatus::Operational);
        assert_eq!(bridge.days.len(), UPTIME_DAYS as usize);
        assert!(bridge.days.iter().any(|day| day.class == "major"));
        let uptime: f64 = bridge.uptime.parse().unwrap();
        let window_days = (UPTIME_DAYS - 1) as f64 + (NOW % DAY_MS) as f64 / DAY_MS as f64;
        let expected = 100.0 * (1.0 - 1.0 / window_days);
        assert!((uptime - expected).abs() < 0.02, "{uptime} vs {expected}");
        assert_eq!(status_of(&model, "chain").uptime, "100.00");
    }

    #[test]
    fn quiet_days_collapse_into_runs() {
        let started = NOW - 3 * DAY_MS;
        let resolved = incident("r", "bridge", Level::L1, started, Some(started + 1000));
        let model = build_model(&inputs(vec![(resolved, vec![])]));
        let runs = status_of(&model, "bridge").runs();
        assert_eq!(runs.len(), 3, "{runs:?}");
        assert_eq!(runs[0].class, "op");
        assert_eq!(runs[0].width, 5 * (UPTIME_DAYS - 4));
        assert!(runs[0].label.contains(" to "));
        assert_eq!(runs[1].class, "major");
        assert_eq!(runs[1].x, 5 * (UPTIME_DAYS - 4));
        assert_eq!(
            runs.iter().map(|run| run.width).sum::<i64>(),
            5 * UPTIME_DAYS
        );
        assert_eq!(status_of(&model, "chain").runs().len(), 1);
    }

    #[test]
    fn summary_has_the_statuspage_shape() {
        let open = incident("a", "bridge", Level::L1, NOW - 60_000, None);
        let model = build_model(&inputs(vec![(open, vec![])]));
        let summary = summary_json(&model);
        assert_eq!(summary["page"]["url"], "http://127.0.0.1:8080");
        assert_eq!(summary["status"]["indicator"], "critical");
        let bridge = summary["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "bridge")
            .unwrap();
        assert_eq!(bridge["status"], "major_outage");
        assert_eq!(summary["incidents"][0]["impact"], "critical");
        assert_eq!(
            summary["incidents"][0]["incident_updates"][0]["status"],
            "investigating"
        );
        assert!(
            summary["scheduled_maintenances"]
                .as_array()
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn pages_escape_incident_text() {
        let open = incident("a", "bridge", Level::L1, NOW - 60_000, None);
        let model = build_model(&inputs(vec![(open, vec![])]));
        let html = StatusPage {
            model: &model,
            subscribe_kinds: &["email", "webhook"],
            live: true,
            section: "status",
        }
        .render()
        .unwrap();
        assert!(
            html.contains("bridge trouble &#60;b&#62;")
                || html.contains("bridge trouble &lt;b&gt;")
        );
        assert!(!html.contains("trouble <b>"));
        let entries = model.open.iter().collect();
        let feed = Feed {
            model: &model,
            entries,
        }
        .render()
        .unwrap();
        assert!(feed.starts_with("<?xml"));
        assert!(!feed.contains("trouble <b>"));
    }
}
