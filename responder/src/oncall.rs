//! On-call schedules: members take turns, handing off at a local time of day in an IANA time zone.
//!
//! Hand-offs are computed on the local calendar (the n-th hand-off is `start + n × rotation` days at the
//! hand-off time, converted to UTC on its own date), so a 06:00 Europe/Berlin hand-off stays at 06:00
//! local on both sides of a DST change instead of drifting by an hour as `start + n × 24h` would.
//! Overrides replace the rotation for their period; optional `hours` restrict coverage to part of the
//! day, and any time nobody covers is a coverage gap, which Vigil reports as an incident.

use chrono::{NaiveDate, NaiveTime};
use chrono_tz::Tz;
use model::UnixMs;
use serde::Serialize;

use crate::config::ScheduleConfig;
use crate::time;

#[derive(Debug, Clone)]
struct Override {
    start_ms: UnixMs,
    end_ms: UnixMs,
    member: String,
}

/// A validated on-call schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    name: String,
    tz: Tz,
    handoff: NaiveTime,
    rotation_days: i64,
    start: NaiveDate,
    members: Vec<String>,
    hours: Option<(NaiveTime, NaiveTime)>,
    overrides: Vec<Override>,
}

/// Who is on call at a time, for the API and the `/oncall` page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OnCallView {
    pub schedule: String,
    pub time_zone: String,
    /// `None` during a coverage gap.
    pub on_call: Option<String>,
    pub next_handoff: Option<String>,
    /// Coverage gaps in the next seven days, as RFC 3339 `[start, end)` pairs.
    pub gaps: Vec<[String; 2]>,
}

impl Schedule {
    pub fn from_config(config: &ScheduleConfig) -> Result<Self, String> {
        let tz = time::parse_tz(&config.time_zone)?;
        let handoff = time::parse_hh_mm(&config.handoff)?;
        let start = time::parse_date(&config.start)?;
        let rotation_secs = config.rotation.get().as_secs();
        if rotation_secs == 0 || !rotation_secs.is_multiple_of(86_400) {
            return Err(format!(
                "rotation {} must be a whole number of days, e.g. \"1d\" or \"7d\"",
                config.rotation
            ));
        }
        if config.members.is_empty() {
            return Err("members needs at least one person".to_owned());
        }
        let hours = config
            .hours
            .as_deref()
            .map(|text| {
                let (from, to) = text
                    .split_once('-')
                    .ok_or_else(|| format!("hours {text:?} is not HH:MM-HH:MM"))?;
                Ok::<_, String>((time::parse_hh_mm(from)?, time::parse_hh_mm(to)?))
            })
            .transpose()?;
        let mut overrides = Vec::new();
        for entry in &config.overrides {
            let start_ms = time::local_to_utc_ms(tz, time::parse_local_datetime(&entry.start)?);
            let end_ms = time::local_to_utc_ms(tz, time::parse_local_datetime(&entry.end)?);
            if end_ms <= start_ms {
                return Err(format!(
                    "override for {} ends before it starts",
                    entry.member
                ));
            }
            overrides.push(Override {
                start_ms,
                end_ms,
                member: entry.member.clone(),
            });
        }
        Ok(Self {
            name: config.name.clone(),
            tz,
            handoff,
            rotation_days: i64::try_from(rotation_secs / 86_400).unwrap_or(1),
            start,
            members: config.members.clone(),
            hours,
            overrides,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The instant of the `n`-th hand-off (n = 0 is the first, to `members[0]`).
    pub fn handoff_at(&self, n: i64) -> UnixMs {
        let date = self.start + chrono::Duration::days(n * self.rotation_days);
        time::local_to_utc_ms(self.tz, date.and_time(self.handoff))
    }

    /// The index of the last hand-off at or before `at_ms`; `None` before the first.
    fn turn_at(&self, at_ms: UnixMs) -> Option<i64> {
        if at_ms < self.handoff_at(0) {
            return None;
        }
        let local_date = time::utc_ms_to_local(self.tz, at_ms).date();
        let turn = (local_date - self.start)
            .num_days()
            .div_euclid(self.rotation_days);
        // The hand-off of this local date may still be ahead (before 06:00 local).
        Some(if self.handoff_at(turn) <= at_ms {
            turn
        } else {
            turn - 1
        })
    }

    /// Who is on call at `at_ms`; `None` during a coverage gap.
    pub fn on_call_at(&self, at_ms: UnixMs) -> Option<String> {
        if let Some(entry) = self
            .overrides
            .iter()
            .find(|entry| entry.start_ms <= at_ms && at_ms < entry.end_ms)
        {
            return Some(entry.member.clone());
        }
        if let Some((from, to)) = self.hours {
            let local = time::utc_ms_to_local(self.tz, at_ms).time();
            let inside = if from <= to {
                from <= local && local < to
            } else {
                local >= from || local < to
            };
            if !inside {
                return None;
            }
        }
        let turn = self.turn_at(at_ms)?;
        let count = i64::try_from(self.members.len()).unwrap_or(1);
        let index = usize::try_from(turn.rem_euclid(count)).unwrap_or(0);
        self.members.get(index).cloned()
    }

    /// The first rotation hand-off after `at_ms`.
    pub fn next_handoff_after(&self, at_ms: UnixMs) -> UnixMs {
        let next = self.turn_at(at_ms).map_or(0, |turn| turn + 1);
        self.handoff_at(next)
    }

    /// Periods in `[from_ms, to_ms)` when nobody is on call, to the minute.
    pub fn gaps_between(&self, from_ms: UnixMs, to_ms: UnixMs) -> Vec<(UnixMs, UnixMs)> {
        const STEP_MS: i64 = 60_000;
        let mut gaps = Vec::new();
        let mut open: Option<UnixMs> = None;
        let mut at = from_ms;
        while at < to_ms {
            match (self.on_call_at(at).is_none(), open) {
                (true, None) => open = Some(at),
                (false, Some(start)) => {
                    gaps.push((start, at));
                    open = None;
                }
                _ => {}
            }
            at += STEP_MS;
        }
        if let Some(start) = open {
            gaps.push((start, to_ms));
        }
        gaps
    }

    pub fn view_at(&self, at_ms: UnixMs) -> OnCallView {
        OnCallView {
            schedule: self.name.clone(),
            time_zone: self.tz.name().to_owned(),
            on_call: self.on_call_at(at_ms),
            next_handoff: Some(time::rfc3339(self.next_handoff_after(at_ms))),
            gaps: self
                .gaps_between(at_ms, at_ms + 7 * 86_400_000)
                .into_iter()
                .map(|(start, end)| [time::rfc3339(start), time::rfc3339(end)])
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::OverrideConfig;
    use model::HumanDuration;

    fn at(text: &str) -> UnixMs {
        chrono::DateTime::parse_from_rfc3339(text)
            .unwrap()
            .timestamp_millis()
    }

    fn berlin_daily() -> ScheduleConfig {
        ScheduleConfig {
            name: "primary".to_owned(),
            time_zone: "Europe/Berlin".to_owned(),
            handoff: "06:00".to_owned(),
            rotation: HumanDuration::from_secs(86_400),
            start: "2026-03-27".to_owned(),
            members: vec!["alice".to_owned(), "bob".to_owned()],
            hours: None,
            overrides: Vec::new(),
        }
    }

    #[test]
    fn a_06_00_berlin_handoff_stays_at_06_00_local_across_the_spring_dst_change() {
        let schedule = Schedule::from_config(&berlin_daily()).unwrap();
        // Before DST (CET, UTC+1): 06:00 local is 05:00 UTC. 2026-03-28's hand-off goes to bob (turn 1).
        assert_eq!(
            time::rfc3339(schedule.handoff_at(1)),
            "2026-03-28T05:00:00Z"
        );
        assert_eq!(
            schedule.on_call_at(at("2026-03-28T04:59:00Z")).as_deref(),
            Some("alice")
        );
        assert_eq!(
            schedule.on_call_at(at("2026-03-28T05:00:00Z")).as_deref(),
            Some("bob")
        );
        // Clocks go forward at 02:00 on 2026-03-29; 06:00 CEST is 04:00 UTC, not 05:00.
        assert_eq!(
            time::rfc3339(schedule.handoff_at(2)),
            "2026-03-29T04:00:00Z"
        );
        assert_eq!(
            schedule.on_call_at(at("2026-03-29T03:59:00Z")).as_deref(),
            Some("bob")
        );
        assert_eq!(
            schedule.on_call_at(at("2026-03-29T04:00:00Z")).as_deref(),
            Some("alice")
        );
        assert_eq!(
            schedule.on_call_at(at("2026-03-29T04:30:00Z")).as_deref(),
            Some("alice")
        );
        assert_eq!(
            time::rfc3339(schedule.next_handoff_after(at("2026-03-28T12:00:00Z"))),
            "2026-03-29T04:00:00Z"
        );
        // The shift across the change is 23 hours long, and nobody is uncovered.
        assert_eq!(
            schedule.handoff_at(2) - schedule.handoff_at(1),
            23 * 3_600_000
        );
        assert!(
            schedule
                .gaps_between(at("2026-03-27T05:00:00Z"), at("2026-04-01T00:00:00Z"))
                .is_empty()
        );
    }

    #[test]
    fn a_06_00_berlin_handoff_stays_at_06_00_local_across_the_autumn_dst_change() {
        let mut config = berlin_daily();
        config.start = "2026-10-23".to_owned();
        let schedule = Schedule::from_config(&config).unwrap();
        // Clocks go back at 03:00 on 2026-10-25: 06:00 CEST = 04:00 UTC on the 24th, 06:00 CET = 05:00 UTC.
        assert_eq!(
            time::rfc3339(schedule.handoff_at(1)),
            "2026-10-24T04:00:00Z"
        );
        assert_eq!(
            time::rfc3339(schedule.handoff_at(2)),
            "2026-10-25T05:00:00Z"
        );
        assert_eq!(
            schedule.on_call_at(at("2026-10-25T04:30:00Z")).as_deref(),
            Some("bob")
        );
        assert_eq!(
            schedule.on_call_at(at("2026-10-25T05:00:00Z")).as_deref(),
            Some("alice")
        );
    }

    #[test]
    fn overrides_win_and_uncovered_hours_are_reported_as_gaps() {
        let mut config = berlin_daily();
        config.hours = Some("08:00-20:00".to_owned());
        config.overrides = vec![OverrideConfig {
            start: "2026-04-01T20:00".to_owned(),
            end: "2026-04-01T22:00".to_owned(),
            member: "carol".to_owned(),
        }];
        let schedule = Schedule::from_config(&config).unwrap();
        assert_eq!(
            schedule.on_call_at(at("2026-04-01T18:30:00Z")).as_deref(),
            Some("carol"),
            "20:30 CEST"
        );
        assert_eq!(
            schedule.on_call_at(at("2026-04-01T21:00:00Z")),
            None,
            "23:00 CEST"
        );
        let gaps = schedule.gaps_between(at("2026-04-01T12:00:00Z"), at("2026-04-02T12:00:00Z"));
        let gaps: Vec<[String; 2]> = gaps
            .into_iter()
            .map(|(start, end)| [time::rfc3339(start), time::rfc3339(end)])
            .collect();
        assert_eq!(
            gaps,
            vec![[
                "2026-04-01T20:00:00Z".to_owned(),
                "2026-04-02T06:00:00Z".to_owned()
            ]],
            "22:00 to 08:00 CEST"
        );
    }

    #[test]
    fn rotations_must_be_whole_days() {
        let mut config = berlin_daily();
        config.rotation = HumanDuration::from_secs(3600);
        assert!(
            Schedule::from_config(&config)
                .unwrap_err()
                .contains("whole number of days")
        );
    }
}
