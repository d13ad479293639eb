//! Time helpers: RFC 3339 rendering, local wall-clock times in IANA zones, DST-safe conversion.

use chrono::{
    DateTime, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, TimeZone, Utc,
};
use chrono_tz::Tz;
use model::UnixMs;

/// Renders Unix milliseconds as RFC 3339 UTC (`2026-03-29T04:00:00Z`).
pub fn rfc3339(at_ms: UnixMs) -> String {
    DateTime::<Utc>::from_timestamp_millis(at_ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn parse_tz(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>().map_err(|_| {
        format!("unknown time zone {name:?} (use an IANA name such as \"Europe/Berlin\")")
    })
}

pub fn parse_hh_mm(text: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(text.trim(), "%H:%M")
        .map_err(|_| format!("{text:?} is not a HH:MM time"))
}

pub fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| format!("{text:?} is not a YYYY-MM-DD date"))
}

pub fn parse_local_datetime(text: &str) -> Result<NaiveDateTime, String> {
    let text = text.trim();
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M"))
        .map_err(|_| format!("{text:?} is not a local date-time (YYYY-MM-DDTHH:MM)"))
}

/// The instant a local wall-clock time names in `tz`. When the clocks jump forward over it (it does not
/// exist) the first instant after the gap is taken; when they fall back (it exists twice) the earlier one.
pub fn local_to_utc_ms(tz: Tz, local: NaiveDateTime) -> UnixMs {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(at) => at.timestamp_millis(),
        LocalResult::Ambiguous(earlier, _) => earlier.timestamp_millis(),
        LocalResult::None => {
            // Gaps are at most a few hours; walk forward a minute at a time to the first valid time.
            let mut probe = local;
            for _ in 0..(24 * 60) {
                probe += chrono::Duration::minutes(1);
                if let Some(at) = tz.from_local_datetime(&probe).earliest() {
                    return at.timestamp_millis();
                }
            }
            Utc.from_utc_datetime(&local).timestamp_millis()
        }
    }
}

/// The local wall-clock time of an instant in `tz`.
pub fn utc_ms_to_local(tz: Tz, at_ms: UnixMs) -> NaiveDateTime {
    tz.timestamp_millis_opt(at_ms)
        .single()
        .map(|at| at.naive_local())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_utc_with_a_z() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn nonexistent_local_times_move_past_the_gap() {
        let berlin = parse_tz("Europe/Berlin").unwrap();
        // 2026-03-29 02:30 does not exist in Berlin: 03:00 CEST = 01:00 UTC.
        let at = local_to_utc_ms(berlin, parse_local_datetime("2026-03-29T02:30").unwrap());
        assert_eq!(rfc3339(at), "2026-03-29T01:00:00Z");
    }
}
