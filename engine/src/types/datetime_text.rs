//! The default text forms of DATE, TIME and TIMESTAMP values, as ksqlDB
//! prints them (and as `Value`'s Display writes them).

use chrono::{DateTime, NaiveDate};

/// A DATE (days since epoch) as `yyyy-MM-dd`.
pub fn format_date(days: i32) -> String {
    match NaiveDate::from_epoch_days(days) {
        Some(d) => d.format("%Y-%m-%d").to_string(),
        None => days.to_string(),
    }
}

/// A TIME (ms since midnight) as `HH:mm:ss` (with `.SSS` when not whole).
pub fn format_time(ms: i64) -> String {
    let (h, m, s, f) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    if f == 0 {
        format!("{h:02}:{m:02}:{s:02}")
    } else {
        format!("{h:02}:{m:02}:{s:02}.{f:03}")
    }
}

/// A TIMESTAMP (ms since epoch, UTC) as `yyyy-MM-ddTHH:mm:ss.SSS`.
pub fn format_timestamp(ms: i64) -> String {
    match DateTime::from_timestamp_millis(ms) {
        Some(d) => d.format("%Y-%m-%dT%H:%M:%S%.3f").to_string(),
        None => ms.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_text_forms() {
        assert_eq!(format_date(-1), "1969-12-31");
        assert_eq!(format_time(5_000), "00:00:05");
        assert_eq!(format_timestamp(10), "1970-01-01T00:00:00.010");
    }
}
