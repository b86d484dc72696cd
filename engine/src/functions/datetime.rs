//! ksqlDB's date and time functions, and the text forms of DATE, TIME and
//! TIMESTAMP values.
use super::FunctionRegistry;

/// Registers this family's functions.
pub fn register(_reg: &mut FunctionRegistry) {}

/// A DATE (days since epoch) as `yyyy-MM-dd`.
pub fn format_date(days: i32) -> String {
    let d = chrono::DateTime::from_timestamp(days as i64 * 86_400, 0).unwrap_or_default();
    d.format("%Y-%m-%d").to_string()
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
    let d = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
    d.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()
}
