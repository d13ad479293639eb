//! Maintenance windows: one-off or recurring (cron or weekly) periods, in a time zone, during which the
//! listed components are not paged for. Detectors can also ask for the periods to leave them out of
//! baselines, and the status page can show a notice.

use chrono::TimeZone;
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds};
use model::UnixMs;
use serde::Serialize;

use crate::config::MaintenanceConfig;
use crate::time;

/// One occurrence of a maintenance window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MaintenancePeriod {
    pub name: String,
    /// Empty means every component.
    pub components: Vec<String>,
    pub start_ms: UnixMs,
    pub end_ms: UnixMs,
}

#[derive(Debug, Clone)]
enum Recurrence {
    Once { start_ms: UnixMs },
    Cron(Box<Cron>),
}

/// A validated maintenance window.
#[derive(Debug, Clone)]
pub struct MaintenanceWindow {
    name: String,
    components: Vec<String>,
    tz: Tz,
    recurrence: Recurrence,
    duration_ms: i64,
}

const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

impl MaintenanceWindow {
    pub fn from_config(config: &MaintenanceConfig) -> Result<Self, String> {
        let tz = time::parse_tz(&config.time_zone)?;
        let parser = CronParser::builder().seconds(Seconds::Optional).build();
        let recurrence = match (&config.start, &config.cron, &config.weekly) {
            (Some(start), None, None) => Recurrence::Once {
                start_ms: time::local_to_utc_ms(tz, time::parse_local_datetime(start)?),
            },
            (None, Some(cron), None) => Recurrence::Cron(Box::new(
                parser
                    .parse(cron)
                    .map_err(|error| format!("cron {cron:?} is invalid: {error}"))?,
            )),
            (None, None, Some(weekly)) => {
                let at = time::parse_hh_mm(&weekly.at)?;
                if weekly.days.is_empty() {
                    return Err("weekly.days needs at least one day".to_owned());
                }
                let mut days = Vec::new();
                for day in &weekly.days {
                    let lower = day.trim().to_ascii_lowercase();
                    let index = WEEKDAYS
                        .iter()
                        .position(|name| lower.starts_with(name))
                        .ok_or_else(|| format!("weekly.days: {day:?} is not a day (mon … sun)"))?;
                    days.push(index.to_string());
                }
                use chrono::Timelike;
                let pattern = format!("0 {} {} * * {}", at.minute(), at.hour(), days.join(","));
                Recurrence::Cron(Box::new(
                    parser
                        .parse(&pattern)
                        .map_err(|error| format!("weekly schedule is invalid: {error}"))?,
                ))
            }
            _ => return Err("give exactly one of start, cron or weekly".to_owned()),
        };
        let duration_ms = i64::try_from(config.duration.get().as_millis()).unwrap_or(i64::MAX);
        if duration_ms <= 0 {
            return Err("duration must be longer than 0s".to_owned());
        }
        Ok(Self {
            name: config.name.clone(),
            components: config
                .components
                .iter()
                .filter(|component| component.as_str() != "*")
                .cloned()
                .collect(),
            tz,
            recurrence,
            duration_ms,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the window applies to `component`.
    pub fn covers(&self, component: &str) -> bool {
        self.components.is_empty() || self.components.iter().any(|c| c == component)
    }

    /// The occurrence in force at `at_ms`, if any.
    pub fn period_at(&self, at_ms: UnixMs) -> Option<MaintenancePeriod> {
        let start_ms = match &self.recurrence {
            Recurrence::Once { start_ms } => *start_ms,
            Recurrence::Cron(cron) => {
                let at = self.tz.timestamp_millis_opt(at_ms).single()?;
                cron.find_previous_occurrence(&at, true)
                    .ok()?
                    .timestamp_millis()
            }
        };
        (start_ms <= at_ms && at_ms < start_ms + self.duration_ms).then(|| self.period(start_ms))
    }

    /// Occurrences overlapping `[from_ms, to_ms)`, at most 1,000.
    pub fn periods_between(&self, from_ms: UnixMs, to_ms: UnixMs) -> Vec<MaintenancePeriod> {
        let overlaps = |start: UnixMs| start < to_ms && start + self.duration_ms > from_ms;
        match &self.recurrence {
            Recurrence::Once { start_ms } => {
                if overlaps(*start_ms) {
                    vec![self.period(*start_ms)]
                } else {
                    Vec::new()
                }
            }
            Recurrence::Cron(cron) => {
                let mut periods = Vec::new();
                let Some(mut cursor) = self
                    .tz
                    .timestamp_millis_opt(from_ms - self.duration_ms)
                    .single()
                else {
                    return periods;
                };
                let mut inclusive = true;
                while periods.len() < 1000 {
                    let Ok(next) = cron.find_next_occurrence(&cursor, inclusive) else {
                        break;
                    };
                    let start = next.timestamp_millis();
                    if start >= to_ms {
                        break;
                    }
                    if overlaps(start) {
                        periods.push(self.period(start));
                    }
                    cursor = next;
                    inclusive = false;
                }
                periods
            }
        }
    }

    fn period(&self, start_ms: UnixMs) -> MaintenancePeriod {
        MaintenancePeriod {
            name: self.name.clone(),
            components: self.components.clone(),
            start_ms,
            end_ms: start_ms + self.duration_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::WeeklyConfig;
    use model::HumanDuration;

    fn at(text: &str) -> UnixMs {
        chrono::DateTime::parse_from_rfc3339(text)
            .unwrap()
            .timestamp_millis()
    }

    fn config(name: &str) -> MaintenanceConfig {
        MaintenanceConfig {
            name: name.to_owned(),
            components: vec!["bridge".to_owned()],
            time_zone: "Europe/Berlin".to_owned(),
            start: None,
            cron: None,
            weekly: None,
            duration: HumanDuration::from_secs(2 * 3600),
        }
    }

    #[test]
    fn a_one_off_window_covers_its_components_for_its_duration() {
        let mut one_off = config("upgrade");
        one_off.start = Some("2026-06-01T02:00".to_owned());
        let window = MaintenanceWindow::from_config(&one_off).unwrap();
        // 02:00 CEST is 00:00 UTC.
        assert!(window.period_at(at("2026-06-01T00:00:00Z")).is_some());
        assert!(window.period_at(at("2026-06-01T01:59:59Z")).is_some());
        assert!(window.period_at(at("2026-06-01T02:00:00Z")).is_none());
        assert!(window.period_at(at("2026-05-31T23:59:59Z")).is_none());
        assert!(window.covers("bridge"));
        assert!(!window.covers("escrow"));
    }

    #[test]
    fn a_weekly_window_recurs_at_local_time_across_dst() {
        let mut weekly = config("sunday-backup");
        weekly.weekly = Some(WeeklyConfig {
            days: vec!["sun".to_owned()],
            at: "03:00".to_owned(),
        });
        let window = MaintenanceWindow::from_config(&weekly).unwrap();
        // Winter: 03:00 CET = 02:00 UTC. Summer: 03:00 CEST = 01:00 UTC.
        assert!(window.period_at(at("2026-03-22T02:30:00Z")).is_some());
        assert!(window.period_at(at("2026-03-22T01:30:00Z")).is_none());
        assert!(window.period_at(at("2026-04-05T01:30:00Z")).is_some());
        assert!(
            window.period_at(at("2026-04-06T01:30:00Z")).is_none(),
            "a monday"
        );
        let periods =
            window.periods_between(at("2026-03-16T00:00:00Z"), at("2026-04-06T00:00:00Z"));
        let starts: Vec<String> = periods.iter().map(|p| time::rfc3339(p.start_ms)).collect();
        assert_eq!(
            starts,
            [
                "2026-03-22T02:00:00Z",
                "2026-03-29T01:00:00Z",
                "2026-04-05T01:00:00Z"
            ]
        );
    }

    #[test]
    fn a_cron_window_and_a_bad_one() {
        let mut cron = config("nightly");
        cron.cron = Some("0 30 1 * * *".to_owned());
        let window = MaintenanceWindow::from_config(&cron).unwrap();
        assert!(
            window.period_at(at("2026-01-10T00:45:00Z")).is_some(),
            "01:45 CET"
        );
        let mut bad = config("bad");
        bad.cron = Some("every night".to_owned());
        assert!(
            MaintenanceWindow::from_config(&bad)
                .unwrap_err()
                .contains("cron")
        );
        let mut both = config("both");
        both.cron = Some("0 0 1 * * *".to_owned());
        both.start = Some("2026-01-01T00:00".to_owned());
        assert!(
            MaintenanceWindow::from_config(&both)
                .unwrap_err()
                .contains("exactly one")
        );
    }
}
