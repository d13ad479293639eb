//! Parsing the timestamp forms replay accepts: NAB's naive `YYYY-MM-DD HH:MM:SS[.ffffff]` (read as UTC),
//! RFC 3339, and Unix seconds or milliseconds.

use chrono::{DateTime, NaiveDateTime};

use model::UnixMs;

/// Unix numbers at or above this are taken as milliseconds (1e11 s is the year 5138).
const MILLIS_CUTOFF: f64 = 1e11;

/// Parses one timestamp; the error says what forms are accepted.
pub(crate) fn parse_timestamp(text: &str) -> Result<UnixMs, String> {
    let text = text.trim();
    for format in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(naive.and_utc().timestamp_millis());
        }
    }
    if let Ok(parsed) = DateTime::parse_from_rfc3339(text) {
        return Ok(parsed.timestamp_millis());
    }
    if let Ok(number) = text.parse::<f64>()
        && number.is_finite()
    {
        return Ok(if number.abs() >= MILLIS_CUTOFF {
            number as i64
        } else {
            (number * 1000.0) as i64
        });
    }
    Err(format!(
        "unparsable timestamp {text:?}; expected \"YYYY-MM-DD HH:MM:SS\", RFC 3339 or unix seconds/milliseconds"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_every_documented_form() {
        let expected = 1_396_310_400_000; // 2014-04-01 00:00:00 UTC
        assert_eq!(parse_timestamp("2014-04-01 00:00:00").unwrap(), expected);
        assert_eq!(
            parse_timestamp("2014-04-01 00:00:00.000000").unwrap(),
            expected
        );
        assert_eq!(parse_timestamp("2014-04-01T00:00:00Z").unwrap(), expected);
        assert_eq!(
            parse_timestamp("2014-04-01T02:00:00+02:00").unwrap(),
            expected
        );
        assert_eq!(parse_timestamp("1396310400").unwrap(), expected);
        assert_eq!(parse_timestamp("1396310400000").unwrap(), expected);
    }

    #[test]
    fn rejects_garbage_with_the_accepted_forms() {
        let error = parse_timestamp("yesterday").unwrap_err();
        assert!(
            error.contains("\"yesterday\"") && error.contains("RFC 3339"),
            "{error}"
        );
    }
}
