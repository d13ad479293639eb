//! The postmortem draft: a Markdown document from an incident, its timeline and its pages, with the
//! numbers reviews ask for first (time to acknowledge, time to resolve).

use std::fmt::Write as _;

use model::HumanDuration;

use crate::store::{Incident, PageRecord, PageState, TimelineEntry};
use crate::time::rfc3339;

fn span(from_ms: i64, to_ms: Option<i64>) -> String {
    match to_ms {
        Some(to) => {
            HumanDuration::from_secs(u64::try_from((to - from_ms).max(0) / 1000).unwrap_or(0))
                .to_string()
        }
        None => "not yet".to_owned(),
    }
}

pub(crate) fn draft(
    incident: &Incident,
    timeline: &[TimelineEntry],
    pages: &[PageRecord],
    now_ms: i64,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Postmortem: {} ({})", incident.title, incident.id);
    let _ = writeln!(
        out,
        "\n_Draft generated {} — edit before publishing._\n",
        rfc3339(now_ms)
    );
    let _ = writeln!(out, "## Summary\n");
    let _ = writeln!(
        out,
        "- Level: {} ({})",
        incident.level,
        incident.level.severity()
    );
    let _ = writeln!(out, "- Component: {}", incident.component);
    let _ = writeln!(out, "- State: {}", incident.state.as_str());
    let _ = writeln!(out, "- What broke: {}", incident.summary);
    let _ = writeln!(out, "- Opened: {}", rfc3339(incident.opened_at_ms));
    if let Some(at) = incident.acked_at_ms {
        let _ = writeln!(
            out,
            "- Acknowledged: {} by {}",
            rfc3339(at),
            incident.acked_by.as_deref().unwrap_or("unknown")
        );
    }
    if let Some(at) = incident.resolved_at_ms {
        let _ = writeln!(out, "- Resolved: {}", rfc3339(at));
    }
    let _ = writeln!(
        out,
        "- Time to acknowledge: {}",
        span(incident.opened_at_ms, incident.acked_at_ms)
    );
    let _ = writeln!(
        out,
        "- Time to resolve: {}",
        span(incident.opened_at_ms, incident.resolved_at_ms)
    );
    let _ = writeln!(
        out,
        "- Response target: {} ({})",
        HumanDuration(incident.level.response_target()),
        match incident.acked_at_ms {
            Some(at)
                if (at - incident.opened_at_ms) as u128
                    <= incident.level.response_target().as_millis() =>
                "met",
            Some(_) => "missed",
            None => "no acknowledgement",
        }
    );
    let _ = writeln!(
        out,
        "- Commander: {}",
        incident.commander.as_deref().unwrap_or("none")
    );
    if !incident.assignees.is_empty() {
        let _ = writeln!(out, "- Assignees: {}", incident.assignees.join(", "));
    }
    let _ = writeln!(
        out,
        "- Signals and alerts folded in: {}",
        incident.signal_count
    );
    let _ = writeln!(
        out,
        "- Runbook used: {}",
        incident.runbook.as_deref().unwrap_or("none linked")
    );

    let _ = writeln!(out, "\n## Timeline (UTC)\n");
    for entry in timeline {
        let _ = writeln!(
            out,
            "- {} **{}** ({}): {}",
            rfc3339(entry.at_ms),
            entry.kind,
            entry.actor,
            entry.text
        );
    }

    let _ = writeln!(out, "\n## Pages\n");
    if pages.is_empty() {
        let _ = writeln!(out, "No pages were sent.");
    } else {
        let sent = pages
            .iter()
            .filter(|page| page.state == PageState::Sent)
            .count();
        let failed = pages
            .iter()
            .filter(|page| page.state == PageState::Failed)
            .count();
        let _ = writeln!(
            out,
            "{} page(s): {sent} sent, {failed} failed.\n",
            pages.len()
        );
        for page in pages {
            let _ = writeln!(
                out,
                "- {} {} via {} ({}): {}, {} attempt(s){}",
                rfc3339(page.created_at_ms),
                page.action,
                page.channel,
                page.step,
                page.state.as_str(),
                page.attempts,
                page.last_error
                    .as_deref()
                    .map(|error| format!(", last error: {error}"))
                    .unwrap_or_default()
            );
        }
    }

    let _ = writeln!(out, "\n## Actions taken\n");
    let actions: Vec<&TimelineEntry> = timeline
        .iter()
        .filter(|entry| entry.kind == "action")
        .collect();
    if actions.is_empty() {
        let _ = writeln!(out, "None recorded.");
    }
    for entry in actions {
        let _ = writeln!(
            out,
            "- {} ({}): {}",
            rfc3339(entry.at_ms),
            entry.actor,
            entry.text
        );
    }
    let _ = writeln!(
        out,
        "\n## Root cause\n\n_To be written._\n\n## What went well / what to improve\n\n_To be written._\n\n## Follow-up items\n\n- [ ] _To be written._"
    );
    out
}
