//! ksqlDB's date and time functions, and reading the text forms of DATE,
//! TIME and TIMESTAMP values (`types::datetime_text` writes them).
//!
//! Values: DATE is days since 1970-01-01, TIME is milliseconds since
//! midnight, TIMESTAMP is milliseconds since the epoch (UTC).
//!
//! The heart of the module is a re-implementation of the pattern language of
//! Java's `DateTimeFormatter` (which ksqlDB exposes in FORMAT_TIMESTAMP,
//! PARSE_TIMESTAMP, the `TIMESTAMP_FORMAT` property and friends): a pattern
//! is compiled once into a list of [`Item`]s (cached, as patterns are nearly
//! always literals) that drive both formatting and parsing. Parsing is case
//! insensitive and fills missing fields the way ksqlDB does: a missing date
//! is 1970-01-01, missing time fields are zero, and a missing zone is the
//! caller's default (UTC unless a zone argument is given).
//!
//! Time zones are IANA names (`America/Los_Angeles`), `UTC`, `GMT`, `Z`,
//! offsets (`+05:00`, `-0800`, `GMT+1`) and the common abbreviations
//! (`PST`, `BST`, `CET`, ...), which stand for their region so that daylight
//! saving applies as it does in Java.
//!
//! Known simplifications: week-based fields (`Y`, `w`, `W`, `e`, `c`, `F`)
//! format fully (US week rules, weeks starting on Sunday) but are ignored
//! when parsing, and a parsed day-of-week is only checked against complete
//! dates.

use super::{accepts, no_signature, FunctionRegistry, Resolved, Resolver};
use crate::error::{Error, Result};
use crate::types::{SqlType, Value};
use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    TimeZone, Timelike,
};
use chrono_tz::{OffsetName, Tz};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

const CATEGORY: &str = "DATE / TIME";
const MS_PER_DAY: i64 = 86_400_000;
const NANOS_PER_MS: i64 = 1_000_000;
const NANOS_PER_SEC: i64 = 1_000_000_000;
const NANOS_PER_DAY: i64 = 86_400 * NANOS_PER_SEC;

// ---------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------

/// Registers this family's functions.
pub fn register(reg: &mut FunctionRegistry) {
    let functions: [(&'static str, &'static str, Resolver); 21] = [
        (
            "UNIX_DATE",
            "Returns the current date, or the given DATE, as days since 1970-01-01.",
            unix_date,
        ),
        (
            "UNIX_TIMESTAMP",
            "Returns the current time, or the given TIMESTAMP, as milliseconds since the epoch.",
            unix_timestamp,
        ),
        (
            "DATETOSTRING",
            "Formats an INT number of days since the epoch with a DateTimeFormatter pattern.",
            datetostring,
        ),
        (
            "STRINGTODATE",
            "Parses a string with a DateTimeFormatter pattern into days since the epoch (INT).",
            stringtodate,
        ),
        (
            "TIMESTAMPTOSTRING",
            "Formats a BIGINT epoch-millisecond timestamp with a pattern and optional time zone.",
            timestamptostring,
        ),
        (
            "STRINGTOTIMESTAMP",
            "Parses a string with a pattern and optional time zone into epoch milliseconds (BIGINT).",
            stringtotimestamp,
        ),
        (
            "FORMAT_DATE",
            "Formats a DATE with a DateTimeFormatter pattern.",
            format_date_fn,
        ),
        (
            "PARSE_DATE",
            "Parses a string into a DATE with a DateTimeFormatter pattern.",
            parse_date_fn,
        ),
        (
            "FORMAT_TIME",
            "Formats a TIME with a DateTimeFormatter pattern.",
            format_time_fn,
        ),
        (
            "PARSE_TIME",
            "Parses a string into a TIME with a DateTimeFormatter pattern.",
            parse_time_fn,
        ),
        (
            "FORMAT_TIMESTAMP",
            "Formats a TIMESTAMP with a DateTimeFormatter pattern and optional time zone.",
            format_timestamp_fn,
        ),
        (
            "PARSE_TIMESTAMP",
            "Parses a string into a TIMESTAMP with a pattern and optional time zone.",
            parse_timestamp_fn,
        ),
        (
            "CONVERT_TZ",
            "Converts a TIMESTAMP from one time zone to another.",
            convert_tz,
        ),
        (
            "FROM_UNIXTIME",
            "Converts BIGINT milliseconds since the epoch into a TIMESTAMP.",
            from_unixtime,
        ),
        (
            "FROM_DAYS",
            "Converts an INT number of days since the epoch into a DATE.",
            from_days,
        ),
        (
            "DATEADD",
            "Adds an interval of a time unit to a DATE.",
            dateadd,
        ),
        (
            "DATESUB",
            "Subtracts an interval of a time unit from a DATE.",
            datesub,
        ),
        (
            "TIMEADD",
            "Adds an interval of a time unit to a TIME, wrapping around midnight.",
            timeadd,
        ),
        (
            "TIMESUB",
            "Subtracts an interval of a time unit from a TIME, wrapping around midnight.",
            timesub,
        ),
        (
            "TIMESTAMPADD",
            "Adds an interval of a time unit to a TIMESTAMP.",
            timestampadd,
        ),
        (
            "TIMESTAMPSUB",
            "Subtracts an interval of a time unit from a TIMESTAMP.",
            timestampsub,
        ),
    ];
    for (name, description, resolver) in functions {
        reg.add(name, CATEGORY, description, resolver);
    }
}

static NULL: Value = Value::Null;

/// The i-th argument, or NULL when absent.
fn arg(args: &[Value], i: usize) -> &Value {
    args.get(i).unwrap_or(&NULL)
}

/// True when the argument types fit the parameter types one for one.
fn sig(args: &[SqlType], params: &[SqlType]) -> bool {
    args.len() == params.len() && params.iter().zip(args).all(|(p, a)| accepts(p, a))
}

fn date_arg(v: &Value) -> Option<i32> {
    match v {
        Value::Date(d) => Some(*d),
        _ => None,
    }
}

fn time_arg(v: &Value) -> Option<i64> {
    match v {
        Value::Time(t) => Some(*t),
        _ => None,
    }
}

fn ts_arg(v: &Value) -> Option<i64> {
    match v {
        Value::Timestamp(t) => Some(*t),
        _ => None,
    }
}

fn unix_date(args: &[SqlType]) -> Result<Resolved> {
    if args.is_empty() {
        return Ok(Resolved::new(SqlType::Int, |_| {
            Ok(Value::Int(chrono::Utc::now().date_naive().to_epoch_days()))
        }));
    }
    if sig(args, &[SqlType::Date]) {
        return Ok(Resolved::new(SqlType::Int, |a| {
            Ok(date_arg(arg(a, 0)).map(Value::Int).unwrap_or(Value::Null))
        }));
    }
    Err(no_signature("unix_date", args))
}

fn unix_timestamp(args: &[SqlType]) -> Result<Resolved> {
    if args.is_empty() {
        return Ok(Resolved::new(SqlType::BigInt, |_| {
            Ok(Value::BigInt(chrono::Utc::now().timestamp_millis()))
        }));
    }
    if sig(args, &[SqlType::Timestamp]) {
        return Ok(Resolved::new(SqlType::BigInt, |a| {
            Ok(ts_arg(arg(a, 0)).map(Value::BigInt).unwrap_or(Value::Null))
        }));
    }
    Err(no_signature("unix_timestamp", args))
}

fn datetostring(args: &[SqlType]) -> Result<Resolved> {
    if !sig(args, &[SqlType::Int, SqlType::String]) {
        return Err(no_signature("datetostring", args));
    }
    Ok(Resolved::new(SqlType::String, |a| {
        let (Some(days), Some(p)) = (arg(a, 0).as_i64(), arg(a, 1).as_str()) else {
            return Ok(Value::Null);
        };
        format_date_with(days, p).map(Value::String)
    }))
}

fn stringtodate(args: &[SqlType]) -> Result<Resolved> {
    if !sig(args, &[SqlType::String, SqlType::String]) {
        return Err(no_signature("stringtodate", args));
    }
    Ok(Resolved::new(SqlType::Int, |a| {
        let (Some(text), Some(p)) = (arg(a, 0).as_str(), arg(a, 1).as_str()) else {
            return Ok(Value::Null);
        };
        parse_date_with(text, p).map(Value::Int)
    }))
}

fn timestamptostring(args: &[SqlType]) -> Result<Resolved> {
    let two = sig(args, &[SqlType::BigInt, SqlType::String]);
    let three = sig(args, &[SqlType::BigInt, SqlType::String, SqlType::String]);
    if !two && !three {
        return Err(no_signature("timestamptostring", args));
    }
    Ok(Resolved::new(SqlType::String, move |a| {
        let (Some(ms), Some(p)) = (arg(a, 0).as_i64(), arg(a, 1).as_str()) else {
            return Ok(Value::Null);
        };
        let zone = if three {
            match arg(a, 2).as_str() {
                Some(z) => zone_arg(z)?,
                None => return Ok(Value::Null),
            }
        } else {
            Zone::utc()
        };
        format_timestamp_with(ms, p, zone).map(Value::String)
    }))
}

fn stringtotimestamp(args: &[SqlType]) -> Result<Resolved> {
    let two = sig(args, &[SqlType::String, SqlType::String]);
    let three = sig(args, &[SqlType::String, SqlType::String, SqlType::String]);
    if !two && !three {
        return Err(no_signature("stringtotimestamp", args));
    }
    Ok(Resolved::new(SqlType::BigInt, move |a| {
        parse_timestamp_args(a, three).map(|v| v.map(Value::BigInt).unwrap_or(Value::Null))
    }))
}

/// Shared by STRINGTOTIMESTAMP and PARSE_TIMESTAMP: None for a null input.
fn parse_timestamp_args(a: &[Value], with_zone: bool) -> Result<Option<i64>> {
    let (Some(text), Some(p)) = (arg(a, 0).as_str(), arg(a, 1).as_str()) else {
        return Ok(None);
    };
    let zone = if with_zone {
        match arg(a, 2).as_str() {
            Some(z) => zone_arg(z)?,
            None => return Ok(None),
        }
    } else {
        Zone::utc()
    };
    parse_timestamp_with(text, p, zone).map(Some)
}

fn format_date_fn(args: &[SqlType]) -> Result<Resolved> {
    if !sig(args, &[SqlType::Date, SqlType::String]) {
        return Err(no_signature("format_date", args));
    }
    Ok(Resolved::new(SqlType::String, |a| {
        let (Some(days), Some(p)) = (date_arg(arg(a, 0)), arg(a, 1).as_str()) else {
            return Ok(Value::Null);
        };
        format_date_with(days as i64, p).map(Value::String)
    }))
}

fn parse_date_fn(args: &[SqlType]) -> Result<Resolved> {
    if !sig(args, &[SqlType::String, SqlType::String]) {
        return Err(no_signature("parse_date", args));
    }
    Ok(Resolved::new(SqlType::Date, |a| {
        let (Some(text), Some(p)) = (arg(a, 0).as_str(), arg(a, 1).as_str()) else {
            return Ok(Value::Null);
        };
        parse_date_with(text, p).map(Value::Date)
    }))
}

fn format_time_fn(args: &[SqlType]) -> Result<Resolved> {
    if !sig(args, &[SqlType::Time, SqlType::String]) {
        return Err(no_signature("format_time", args));
    }
    Ok(Resolved::new(SqlType::String, |a| {
        let (Some(ms), Some(p)) = (time_arg(arg(a, 0)), arg(a, 1).as_str()) else {
            return Ok(Value::Null);
        };
        format_time_with(ms, p).map(Value::String)
    }))
}

fn parse_time_fn(args: &[SqlType]) -> Result<Resolved> {
    if !sig(args, &[SqlType::String, SqlType::String]) {
        return Err(no_signature("parse_time", args));
    }
    Ok(Resolved::new(SqlType::Time, |a| {
        let (Some(text), Some(p)) = (arg(a, 0).as_str(), arg(a, 1).as_str()) else {
            return Ok(Value::Null);
        };
        parse_time_with(text, p).map(Value::Time)
    }))
}

fn format_timestamp_fn(args: &[SqlType]) -> Result<Resolved> {
    let two = sig(args, &[SqlType::Timestamp, SqlType::String]);
    let three = sig(
        args,
        &[SqlType::Timestamp, SqlType::String, SqlType::String],
    );
    if !two && !three {
        return Err(no_signature("format_timestamp", args));
    }
    Ok(Resolved::new(SqlType::String, move |a| {
        let (Some(ms), Some(p)) = (ts_arg(arg(a, 0)), arg(a, 1).as_str()) else {
            return Ok(Value::Null);
        };
        let zone = if three {
            match arg(a, 2).as_str() {
                Some(z) => zone_arg(z)?,
                None => return Ok(Value::Null),
            }
        } else {
            Zone::utc()
        };
        format_timestamp_with(ms, p, zone).map(Value::String)
    }))
}

fn parse_timestamp_fn(args: &[SqlType]) -> Result<Resolved> {
    let two = sig(args, &[SqlType::String, SqlType::String]);
    let three = sig(args, &[SqlType::String, SqlType::String, SqlType::String]);
    if !two && !three {
        return Err(no_signature("parse_timestamp", args));
    }
    Ok(Resolved::new(SqlType::Timestamp, move |a| {
        parse_timestamp_args(a, three).map(|v| v.map(Value::Timestamp).unwrap_or(Value::Null))
    }))
}

fn convert_tz(args: &[SqlType]) -> Result<Resolved> {
    if !sig(
        args,
        &[SqlType::Timestamp, SqlType::String, SqlType::String],
    ) {
        return Err(no_signature("convert_tz", args));
    }
    Ok(Resolved::new(SqlType::Timestamp, |a| {
        let (Some(ms), Some(from), Some(to)) =
            (ts_arg(arg(a, 0)), arg(a, 1).as_str(), arg(a, 2).as_str())
        else {
            return Ok(Value::Null);
        };
        let (from, to) = (zone_arg(from)?, zone_arg(to)?);
        let utc = DateTime::from_timestamp_millis(ms)
            .ok_or_else(|| Error::eval(format!("Timestamp out of range: {ms}")))?
            .naive_utc();
        let shift = (to.offset_at(&utc) as i64 - from.offset_at(&utc) as i64) * 1000;
        ms.checked_add(shift)
            .map(Value::Timestamp)
            .ok_or_else(|| Error::eval(format!("Timestamp out of range: {ms}")))
    }))
}

fn from_unixtime(args: &[SqlType]) -> Result<Resolved> {
    if !sig(args, &[SqlType::BigInt]) {
        return Err(no_signature("from_unixtime", args));
    }
    Ok(Resolved::new(SqlType::Timestamp, |a| {
        Ok(arg(a, 0)
            .as_i64()
            .map(Value::Timestamp)
            .unwrap_or(Value::Null))
    }))
}

fn from_days(args: &[SqlType]) -> Result<Resolved> {
    if !sig(args, &[SqlType::Int]) {
        return Err(no_signature("from_days", args));
    }
    Ok(Resolved::new(SqlType::Date, |a| {
        Ok(match arg(a, 0).as_i64() {
            Some(d) => Value::Date(
                i32::try_from(d).map_err(|_| Error::eval(format!("Date out of range: {d}")))?,
            ),
            None => Value::Null,
        })
    }))
}

/// Nanoseconds in one of a time unit, named as ksqlDB names them (DAYS,
/// HOURS, MINUTES, SECONDS, MILLISECONDS; also MICROSECONDS, NANOSECONDS and
/// singular forms), ignoring case.
fn unit_nanos(unit: &str) -> Result<i128> {
    let upper = unit.trim().to_ascii_uppercase();
    let single = upper.strip_suffix('S').unwrap_or(&upper);
    Ok(match single {
        "NANOSECOND" => 1,
        "MICROSECOND" => 1_000,
        "MILLISECOND" => NANOS_PER_MS as i128,
        "SECOND" => NANOS_PER_SEC as i128,
        "MINUTE" => 60 * NANOS_PER_SEC as i128,
        "HOUR" => 3_600 * NANOS_PER_SEC as i128,
        "DAY" => NANOS_PER_DAY as i128,
        _ => return Err(Error::eval(format!("Unknown time unit: '{unit}'"))),
    })
}

/// `interval` units in milliseconds, truncated toward zero like Java's
/// `TimeUnit.toMillis`.
fn unit_millis(unit: &str, interval: i64) -> Result<i128> {
    Ok(unit_nanos(unit)? * interval as i128 / NANOS_PER_MS as i128)
}

/// The three arguments of the *ADD / *SUB family: unit, interval, value.
fn interval_args(a: &[Value]) -> Option<(&str, i64, &Value)> {
    let unit = arg(a, 0).as_str()?;
    let interval = arg(a, 1).as_i64()?;
    let v = arg(a, 2);
    (!v.is_null()).then_some((unit, interval, v))
}

fn add_to_date(a: &[Value], sign: i64) -> Result<Value> {
    let Some((unit, n, v)) = interval_args(a) else {
        return Ok(Value::Null);
    };
    let Some(days) = date_arg(v) else {
        return Ok(Value::Null);
    };
    let ms = days as i128 * MS_PER_DAY as i128 + sign as i128 * unit_millis(unit, n)?;
    let days = ms / MS_PER_DAY as i128;
    i32::try_from(days)
        .map(Value::Date)
        .map_err(|_| Error::eval(format!("Date out of range: {days} days")))
}

fn add_to_time(a: &[Value], sign: i64) -> Result<Value> {
    let Some((unit, n, v)) = interval_args(a) else {
        return Ok(Value::Null);
    };
    let Some(ms) = time_arg(v) else {
        return Ok(Value::Null);
    };
    let nanos = ms as i128 * NANOS_PER_MS as i128 + sign as i128 * n as i128 * unit_nanos(unit)?;
    let wrapped = nanos.rem_euclid(NANOS_PER_DAY as i128);
    Ok(Value::Time((wrapped / NANOS_PER_MS as i128) as i64))
}

fn add_to_timestamp(a: &[Value], sign: i64) -> Result<Value> {
    let Some((unit, n, v)) = interval_args(a) else {
        return Ok(Value::Null);
    };
    let Some(ms) = ts_arg(v) else {
        return Ok(Value::Null);
    };
    let total = ms as i128 + sign as i128 * unit_millis(unit, n)?;
    i64::try_from(total)
        .map(Value::Timestamp)
        .map_err(|_| Error::eval(format!("Timestamp out of range: {total}")))
}

fn interval_sig(args: &[SqlType], target: SqlType) -> bool {
    sig(args, &[SqlType::String, SqlType::BigInt, target])
}

fn dateadd(args: &[SqlType]) -> Result<Resolved> {
    if !interval_sig(args, SqlType::Date) {
        return Err(no_signature("dateadd", args));
    }
    Ok(Resolved::new(SqlType::Date, |a| add_to_date(a, 1)))
}

fn datesub(args: &[SqlType]) -> Result<Resolved> {
    if !interval_sig(args, SqlType::Date) {
        return Err(no_signature("datesub", args));
    }
    Ok(Resolved::new(SqlType::Date, |a| add_to_date(a, -1)))
}

fn timeadd(args: &[SqlType]) -> Result<Resolved> {
    if !interval_sig(args, SqlType::Time) {
        return Err(no_signature("timeadd", args));
    }
    Ok(Resolved::new(SqlType::Time, |a| add_to_time(a, 1)))
}

fn timesub(args: &[SqlType]) -> Result<Resolved> {
    if !interval_sig(args, SqlType::Time) {
        return Err(no_signature("timesub", args));
    }
    Ok(Resolved::new(SqlType::Time, |a| add_to_time(a, -1)))
}

fn timestampadd(args: &[SqlType]) -> Result<Resolved> {
    if !interval_sig(args, SqlType::Timestamp) {
        return Err(no_signature("timestampadd", args));
    }
    Ok(Resolved::new(SqlType::Timestamp, |a| {
        add_to_timestamp(a, 1)
    }))
}

fn timestampsub(args: &[SqlType]) -> Result<Resolved> {
    if !interval_sig(args, SqlType::Timestamp) {
        return Err(no_signature("timestampsub", args));
    }
    Ok(Resolved::new(SqlType::Timestamp, |a| {
        add_to_timestamp(a, -1)
    }))
}

// ---------------------------------------------------------------------------
// Default text forms, read back (`types::datetime_text` writes them)
// ---------------------------------------------------------------------------

/// Parses ksqlDB's ISO-like timestamp text, as accepted by `CAST(... AS
/// TIMESTAMP)` and comparisons of ROWTIME with strings: `yyyy[-MM[-dd]]`,
/// optionally followed by `T` (or a space) and `HH[:mm[:ss[.fraction]]]`,
/// optionally followed by a zone: `Z`, `+HH`, `+HHmm`, `+HH:mm` or an IANA
/// name in brackets. Text without a zone is UTC. Returns epoch
/// milliseconds, or None when the text is not of that form.
pub fn parse_timestamp_text(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date_part, rest) = match s.find(['T', 't', ' ']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let date = parse_iso_date(date_part)?;
    let (nanos, offset) = match rest {
        None => (0, 0),
        Some(rest) => {
            let rest = rest.trim();
            let (time_part, zone_part) = split_zone_suffix(rest);
            let nanos = if time_part.is_empty() {
                0
            } else {
                parse_iso_time(time_part)?
            };
            let offset = match zone_part {
                None => Zone::utc(),
                Some(z) => parse_zone_suffix(z)?,
            };
            (nanos, offset_for_zone(&offset, date, nanos))
        }
    };
    let local = date.and_time(NaiveTime::MIN).and_utc().timestamp_millis();
    Some(local + nanos / NANOS_PER_MS - offset as i64 * 1000)
}

/// The UTC offset in seconds that a zone has at a local date and time.
fn offset_for_zone(zone: &Zone, date: NaiveDate, nanos: i64) -> i32 {
    let local = date.and_time(NaiveTime::MIN) + Duration::nanoseconds(nanos);
    let utc = zone.local_to_utc(&local);
    ((local - utc).num_seconds()) as i32
}

/// Splits `HH:mm:ss.fffZ` style text into the time and the zone suffix.
fn split_zone_suffix(s: &str) -> (&str, Option<&str>) {
    if let Some(i) = s.find(['+', '-', 'Z', 'z', '[', ' ']) {
        (s[..i].trim(), Some(s[i..].trim()))
    } else {
        (s, None)
    }
}

fn parse_zone_suffix(z: &str) -> Option<Zone> {
    let z = z.trim();
    let z = match z.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        Some(inner) => inner,
        None => z,
    };
    Zone::parse(z)
}

/// Parses `yyyy`, `yyyy-MM` or `yyyy-MM-dd`; missing parts are 1.
fn parse_iso_date(s: &str) -> Option<NaiveDate> {
    let mut parts = s.split('-');
    let year = parts.next()?;
    if year.len() < 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: i32 = year.parse().ok()?;
    let field = |p: Option<&str>| -> Option<u32> {
        match p {
            None => Some(1),
            Some(p) if p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok(),
            Some(_) => None,
        }
    };
    let month = field(parts.next())?;
    let day = field(parts.next())?;
    if parts.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    NaiveDate::from_ymd_opt(year, month, day.min(days_in_month(year, month)))
}

/// Parses `HH`, `HH:mm`, `HH:mm:ss` or `HH:mm:ss.f` (1 to 9 digits) into
/// nanoseconds of the day.
fn parse_iso_time(s: &str) -> Option<i64> {
    let (hms, frac) = match s.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    };
    let mut parts = hms.split(':');
    let mut next = |max: i64, required: bool| -> Option<i64> {
        match parts.next() {
            None if !required => Some(0),
            Some(p) if p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse().ok().filter(|v| *v <= max)
            }
            _ => None,
        }
    };
    let h = next(23, true)?;
    let m = next(59, false)?;
    let sec = next(59, false)?;
    if parts.next().is_some() {
        return None;
    }
    let nanos = match frac {
        None => 0,
        Some(f) if (1..=9).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit()) => {
            f.parse::<i64>().ok()? * 10i64.pow(9 - f.len() as u32)
        }
        Some(_) => return None,
    };
    if frac.is_some() && hms.matches(':').count() != 2 {
        return None;
    }
    Some(((h * 60 + m) * 60 + sec) * NANOS_PER_SEC + nanos)
}

/// Parses DATE text, `yyyy-MM-dd` (or the partial `yyyy-MM`, `yyyy`), into
/// days since the epoch.
pub fn parse_date_text(s: &str) -> Option<i32> {
    parse_iso_date(s.trim()).map(|d| d.to_epoch_days())
}

/// Parses TIME text, `HH:mm:ss[.fraction]` (or the partial `HH:mm`, `HH`),
/// into milliseconds since midnight.
pub fn parse_time_text(s: &str) -> Option<i64> {
    parse_iso_time(s.trim()).map(|n| n / NANOS_PER_MS)
}

// ---------------------------------------------------------------------------
// Pattern-based formatting and parsing entry points
// ---------------------------------------------------------------------------

/// Formats epoch milliseconds with a Java `DateTimeFormatter` pattern in a
/// time zone (UTC when None).
pub fn format_with_pattern(ms: i64, pattern: &str, zone: Option<&str>) -> Result<String> {
    let zone = match zone {
        Some(z) => zone_arg(z)?,
        None => Zone::utc(),
    };
    format_timestamp_with(ms, pattern, zone)
}

/// Parses text with a Java `DateTimeFormatter` pattern into epoch
/// milliseconds; text without a zone of its own is read in `zone` (UTC when
/// None). Missing date fields default to 1970-01-01, missing time fields to 0.
pub fn parse_with_pattern(text: &str, pattern: &str, zone: Option<&str>) -> Result<i64> {
    let zone = match zone {
        Some(z) => zone_arg(z)?,
        None => Zone::utc(),
    };
    parse_timestamp_with(text, pattern, zone)
}

fn format_timestamp_with(ms: i64, pattern: &str, zone: Zone) -> Result<String> {
    let fail = |e: String| {
        Error::eval(format!(
            "Failed to format timestamp {ms} with formatter '{pattern}': {e}"
        ))
    };
    let p = compile_cached(pattern).map_err(fail)?;
    let utc = DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| fail("timestamp out of range".into()))?
        .naive_utc();
    let offset = zone.offset_at(&utc);
    let local = utc + Duration::seconds(offset as i64);
    let moment = Moment {
        date: Some(local.date()),
        time: Some(local.time()),
        zone: Some(ZoneAt {
            abbreviation: zone.abbreviation_at(&utc),
            zone,
            utc,
            offset,
        }),
    };
    p.format(&moment).map_err(fail)
}

fn format_date_with(days: i64, pattern: &str) -> Result<String> {
    let fail = |e: String| {
        Error::eval(format!(
            "Failed to format date {days} with formatter '{pattern}': {e}"
        ))
    };
    let p = compile_cached(pattern).map_err(fail)?;
    let date = i32::try_from(days)
        .ok()
        .and_then(NaiveDate::from_epoch_days)
        .ok_or_else(|| fail("date out of range".into()))?;
    let moment = Moment {
        date: Some(date),
        time: None,
        zone: None,
    };
    p.format(&moment).map_err(fail)
}

fn format_time_with(ms: i64, pattern: &str) -> Result<String> {
    let fail = |e: String| {
        Error::eval(format!(
            "Failed to format time {ms} with formatter '{pattern}': {e}"
        ))
    };
    let p = compile_cached(pattern).map_err(fail)?;
    let nanos = ms.rem_euclid(MS_PER_DAY) * NANOS_PER_MS;
    let time = NaiveTime::from_num_seconds_from_midnight_opt(
        (nanos / NANOS_PER_SEC) as u32,
        (nanos % NANOS_PER_SEC) as u32,
    )
    .ok_or_else(|| fail("time out of range".into()))?;
    let moment = Moment {
        date: None,
        time: Some(time),
        zone: None,
    };
    p.format(&moment).map_err(fail)
}

fn parse_timestamp_with(text: &str, pattern: &str, zone: Zone) -> Result<i64> {
    let fail = |e: String| {
        Error::eval(format!(
            "Failed to parse timestamp '{text}' with formatter '{pattern}': {e}"
        ))
    };
    let p = compile_cached(pattern).map_err(fail)?;
    let parts = p.parse(text).map_err(fail)?;
    let local = parts.date.and_time(NaiveTime::MIN) + Duration::nanoseconds(parts.nanos_of_day);
    let zone = parts.zone.unwrap_or(zone);
    let utc = zone.local_to_utc(&local);
    Ok(utc.and_utc().timestamp_millis())
}

fn parse_date_with(text: &str, pattern: &str) -> Result<i32> {
    let fail = |e: String| {
        Error::eval(format!(
            "Failed to parse date '{text}' with formatter '{pattern}': {e}"
        ))
    };
    let p = compile_cached(pattern).map_err(fail)?;
    let parts = p.parse(text).map_err(fail)?;
    if parts.has_time {
        return Err(fail("Date format contains time field.".into()));
    }
    Ok(parts.date.to_epoch_days())
}

fn parse_time_with(text: &str, pattern: &str) -> Result<i64> {
    let fail = |e: String| {
        Error::eval(format!(
            "Failed to parse time '{text}' with formatter '{pattern}': {e}"
        ))
    };
    let p = compile_cached(pattern).map_err(fail)?;
    let parts = p.parse(text).map_err(fail)?;
    if parts.has_date {
        return Err(fail("Time format contains date field.".into()));
    }
    Ok(parts.nanos_of_day / NANOS_PER_MS)
}

// ---------------------------------------------------------------------------
// Time zones
// ---------------------------------------------------------------------------

/// A time zone: a fixed offset (seconds east of UTC) or an IANA region.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Zone {
    Fixed(i32),
    Region(Tz),
}

/// Common zone abbreviations and long names, with the region Java reads
/// them as (so that daylight saving still applies).
const ZONE_NAMES: &[(&str, &str, Tz)] = &[
    ("UTC", "Coordinated Universal Time", Tz::UTC),
    ("GMT", "Greenwich Mean Time", Tz::GMT),
    ("UT", "Universal Time", Tz::UTC),
    ("PST", "Pacific Standard Time", Tz::America__Los_Angeles),
    ("PDT", "Pacific Daylight Time", Tz::America__Los_Angeles),
    ("PT", "Pacific Time", Tz::America__Los_Angeles),
    ("MST", "Mountain Standard Time", Tz::America__Denver),
    ("MDT", "Mountain Daylight Time", Tz::America__Denver),
    ("CST", "Central Standard Time", Tz::America__Chicago),
    ("CDT", "Central Daylight Time", Tz::America__Chicago),
    ("EST", "Eastern Standard Time", Tz::America__New_York),
    ("EDT", "Eastern Daylight Time", Tz::America__New_York),
    ("AKST", "Alaska Standard Time", Tz::America__Anchorage),
    ("AKDT", "Alaska Daylight Time", Tz::America__Anchorage),
    (
        "HST",
        "Hawaii-Aleutian Standard Time",
        Tz::Pacific__Honolulu,
    ),
    ("BST", "British Summer Time", Tz::Europe__London),
    ("IST", "India Standard Time", Tz::Asia__Kolkata),
    ("CET", "Central European Standard Time", Tz::Europe__Paris),
    ("CEST", "Central European Summer Time", Tz::Europe__Paris),
    ("EET", "Eastern European Standard Time", Tz::Europe__Athens),
    ("EEST", "Eastern European Summer Time", Tz::Europe__Athens),
    ("WET", "Western European Standard Time", Tz::Europe__Lisbon),
    ("WEST", "Western European Summer Time", Tz::Europe__Lisbon),
    ("MSK", "Moscow Standard Time", Tz::Europe__Moscow),
    ("JST", "Japan Standard Time", Tz::Asia__Tokyo),
    ("KST", "Korean Standard Time", Tz::Asia__Seoul),
    ("HKT", "Hong Kong Standard Time", Tz::Asia__Hong_Kong),
    ("SGT", "Singapore Standard Time", Tz::Asia__Singapore),
    (
        "AEST",
        "Australian Eastern Standard Time",
        Tz::Australia__Sydney,
    ),
    (
        "AEDT",
        "Australian Eastern Daylight Time",
        Tz::Australia__Sydney,
    ),
    (
        "ACST",
        "Australian Central Standard Time",
        Tz::Australia__Adelaide,
    ),
    (
        "ACDT",
        "Australian Central Daylight Time",
        Tz::Australia__Adelaide,
    ),
    (
        "AWST",
        "Australian Western Standard Time",
        Tz::Australia__Perth,
    ),
    ("NZST", "New Zealand Standard Time", Tz::Pacific__Auckland),
    ("NZDT", "New Zealand Daylight Time", Tz::Pacific__Auckland),
];

/// IANA zone names by lower-case name, for case-insensitive lookups.
fn zones_by_lower_name() -> &'static HashMap<String, Tz> {
    static MAP: OnceLock<HashMap<String, Tz>> = OnceLock::new();
    MAP.get_or_init(|| {
        chrono_tz::TZ_VARIANTS
            .iter()
            .map(|tz| (tz.name().to_ascii_lowercase(), *tz))
            .collect()
    })
}

/// Resolves a zone argument, with ksqlDB's error for unknown zones.
fn zone_arg(s: &str) -> Result<Zone> {
    Zone::parse(s).ok_or_else(|| Error::eval(format!("Unknown time-zone ID: {s}")))
}

impl Zone {
    fn utc() -> Zone {
        Zone::Region(Tz::UTC)
    }

    /// A zone from its ID: an IANA name, `Z`, an offset, `UTC+01:00` /
    /// `GMT-5` style offsets, or a common abbreviation.
    fn parse(s: &str) -> Option<Zone> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        if s.eq_ignore_ascii_case("Z") {
            return Some(Zone::Fixed(0));
        }
        if s.starts_with(['+', '-']) {
            return parse_offset_id(s).map(Zone::Fixed);
        }
        for prefix in ["UTC", "GMT", "UT"] {
            if s.len() > prefix.len()
                && s[..prefix.len()].eq_ignore_ascii_case(prefix)
                && s[prefix.len()..].starts_with(['+', '-'])
            {
                return parse_offset_id(&s[prefix.len()..]).map(Zone::Fixed);
            }
        }
        if let Ok(tz) = Tz::from_str(s) {
            return Some(Zone::Region(tz));
        }
        if let Some((_, _, tz)) = ZONE_NAMES
            .iter()
            .find(|(a, _, _)| a.eq_ignore_ascii_case(s))
        {
            return Some(Zone::Region(*tz));
        }
        zones_by_lower_name()
            .get(&s.to_ascii_lowercase())
            .map(|tz| Zone::Region(*tz))
    }

    /// The offset (seconds east of UTC) in force at a UTC date-time.
    fn offset_at(&self, utc: &NaiveDateTime) -> i32 {
        match self {
            Zone::Fixed(secs) => *secs,
            Zone::Region(tz) => tz.offset_from_utc_datetime(utc).fix().local_minus_utc(),
        }
    }

    /// The zone's short name at a UTC date-time (PDT, BST...), when it has
    /// one.
    fn abbreviation_at(&self, utc: &NaiveDateTime) -> Option<String> {
        match self {
            Zone::Fixed(_) => None,
            Zone::Region(tz) => tz
                .offset_from_utc_datetime(utc)
                .abbreviation()
                .filter(|a| a.starts_with(|c: char| c.is_ascii_alphabetic()))
                .map(str::to_string),
        }
    }

    /// The UTC date-time of a local date-time in this zone. In an overlap
    /// the earlier offset wins; in a gap the time moves forward by the gap,
    /// as Java's `ZonedDateTime.ofLocal` does.
    fn local_to_utc(&self, local: &NaiveDateTime) -> NaiveDateTime {
        match self {
            Zone::Fixed(secs) => *local - Duration::seconds(*secs as i64),
            Zone::Region(tz) => match tz.offset_from_local_datetime(local) {
                LocalResult::Single(o) => {
                    *local - Duration::seconds(o.fix().local_minus_utc() as i64)
                }
                LocalResult::Ambiguous(a, b) => {
                    let off = a.fix().local_minus_utc().max(b.fix().local_minus_utc());
                    *local - Duration::seconds(off as i64)
                }
                LocalResult::None => {
                    let before = tz
                        .offset_from_utc_datetime(&(*local - Duration::days(1)))
                        .fix()
                        .local_minus_utc();
                    *local - Duration::seconds(before as i64)
                }
            },
        }
    }

    /// Java's ID of the zone: the region name, or `Z` / `+HH:MM[:SS]`.
    fn id(&self) -> String {
        match self {
            Zone::Region(tz) => tz.name().to_string(),
            Zone::Fixed(secs) => offset_id(*secs),
        }
    }
}

/// `Z` or `+HH:MM[:SS]`, as Java prints a `ZoneOffset`.
fn offset_id(secs: i32) -> String {
    if secs == 0 {
        return "Z".into();
    }
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.unsigned_abs();
    let (h, m, s) = (a / 3600, a / 60 % 60, a % 60);
    if s == 0 {
        format!("{sign}{h:02}:{m:02}")
    } else {
        format!("{sign}{h:02}:{m:02}:{s:02}")
    }
}

/// Parses a whole offset: `+h`, `+hh`, `+hh:mm`, `+hhmm`, `+hh:mm:ss` or
/// `+hhmmss`, within +/-18 hours.
fn parse_offset_id(s: &str) -> Option<i32> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let b = rest.as_bytes();
    let all_digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let num = |r: std::ops::Range<usize>| rest.get(r).and_then(|d| d.parse::<i32>().ok());
    let (h, m, sec) = match b.len() {
        1 | 2 if all_digits(0..b.len()) => (num(0..b.len())?, 0, 0),
        4 if all_digits(0..4) => (num(0..2)?, num(2..4)?, 0),
        5 if all_digits(0..2) && b[2] == b':' && all_digits(3..5) => (num(0..2)?, num(3..5)?, 0),
        6 if all_digits(0..6) => (num(0..2)?, num(2..4)?, num(4..6)?),
        8 if all_digits(0..2)
            && b[2] == b':'
            && all_digits(3..5)
            && b[5] == b':'
            && all_digits(6..8) =>
        {
            (num(0..2)?, num(3..5)?, num(6..8)?)
        }
        _ => return None,
    };
    if h > 18 || m > 59 || sec > 59 || (h == 18 && (m > 0 || sec > 0)) {
        return None;
    }
    Some(sign * (h * 3600 + m * 60 + sec))
}

// ---------------------------------------------------------------------------
// Pattern compiler
// ---------------------------------------------------------------------------

/// A date or time field a pattern letter stands for, named as Java names
/// them in error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Era,
    YearOfEra,
    Year,
    WeekBasedYear,
    QuarterOfYear,
    MonthOfYear,
    WeekOfWeekBasedYear,
    WeekOfMonth,
    DayOfYear,
    DayOfMonth,
    DayOfWeek,
    LocalizedDayOfWeek,
    AlignedDayOfWeekInMonth,
    AmPmOfDay,
    HourOfDay,
    ClockHourOfDay,
    HourOfAmPm,
    ClockHourOfAmPm,
    MinuteOfHour,
    SecondOfMinute,
    MilliOfDay,
    NanoOfSecond,
    NanoOfDay,
}

const FIELD_COUNT: usize = Field::NanoOfDay as usize + 1;

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::Era => "Era",
            Field::YearOfEra => "YearOfEra",
            Field::Year => "Year",
            Field::WeekBasedYear => "WeekBasedYear",
            Field::QuarterOfYear => "QuarterOfYear",
            Field::MonthOfYear => "MonthOfYear",
            Field::WeekOfWeekBasedYear => "WeekOfWeekBasedYear",
            Field::WeekOfMonth => "WeekOfMonth",
            Field::DayOfYear => "DayOfYear",
            Field::DayOfMonth => "DayOfMonth",
            Field::DayOfWeek => "DayOfWeek",
            Field::LocalizedDayOfWeek => "LocalizedDayOfWeek",
            Field::AlignedDayOfWeekInMonth => "AlignedDayOfWeekInMonth",
            Field::AmPmOfDay => "AmPmOfDay",
            Field::HourOfDay => "HourOfDay",
            Field::ClockHourOfDay => "ClockHourOfDay",
            Field::HourOfAmPm => "HourOfAmPm",
            Field::ClockHourOfAmPm => "ClockHourOfAmPm",
            Field::MinuteOfHour => "MinuteOfHour",
            Field::SecondOfMinute => "SecondOfMinute",
            Field::MilliOfDay => "MilliOfDay",
            Field::NanoOfSecond => "NanoOfSecond",
            Field::NanoOfDay => "NanoOfDay",
        }
    }

    fn is_time(self) -> bool {
        self as usize >= Field::AmPmOfDay as usize
    }

    /// The values Java accepts when resolving a parsed field.
    fn range(self) -> (i64, i64) {
        match self {
            Field::Era | Field::AmPmOfDay => (0, 1),
            Field::YearOfEra => (1, 999_999_999),
            Field::Year | Field::WeekBasedYear => (-999_999_999, 999_999_999),
            Field::QuarterOfYear => (1, 4),
            Field::MonthOfYear => (1, 12),
            Field::WeekOfWeekBasedYear => (1, 53),
            Field::WeekOfMonth => (0, 6),
            Field::DayOfYear => (1, 366),
            Field::DayOfMonth => (1, 31),
            Field::DayOfWeek | Field::LocalizedDayOfWeek | Field::AlignedDayOfWeekInMonth => (1, 7),
            Field::HourOfDay => (0, 23),
            Field::ClockHourOfDay => (1, 24),
            Field::HourOfAmPm => (0, 11),
            Field::ClockHourOfAmPm => (1, 12),
            Field::MinuteOfHour | Field::SecondOfMinute => (0, 59),
            Field::MilliOfDay => (0, MS_PER_DAY - 1),
            Field::NanoOfSecond => (0, NANOS_PER_SEC - 1),
            Field::NanoOfDay => (0, NANOS_PER_DAY - 1),
        }
    }
}

/// How long a text field is written: `MMM` (Jan), `MMMM` (January) or
/// `MMMMM` (J).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Width {
    Short,
    Full,
    Narrow,
}

/// How an offset is written (`X`, `x` and `Z` letters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OffsetStyle {
    colon: bool,
    /// Minutes are written even when zero (otherwise only when non-zero).
    minutes_always: bool,
    /// Seconds are written when non-zero.
    seconds: bool,
    /// The text for a zero offset.
    zero: &'static str,
}

/// One element of a compiled pattern.
#[derive(Debug, Clone, PartialEq)]
enum Item {
    Literal(String),
    /// A number of `min..=max` digits; `exceeds_pad` writes a `+` when the
    /// value needs more than `min` digits (Java's EXCEEDS_PAD sign style).
    Number {
        field: Field,
        min: usize,
        max: usize,
        exceeds_pad: bool,
    },
    /// A two-digit year in 2000..2099 (`yy`).
    Reduced(Field),
    /// The fraction of the second to `width` digits (`SSS`).
    Fraction(usize),
    Text(Field, Width),
    Offset(OffsetStyle),
    /// `GMT+1` (short) or `GMT+01:00` (full).
    LocalizedOffset {
        full: bool,
    },
    /// A zone's name: `PDT` (short) or `Pacific Daylight Time` (full).
    ZoneText {
        full: bool,
    },
    /// A zone's ID (`VV`).
    ZoneId,
    Optional(Vec<Item>),
    /// The next item padded on the left with spaces (`p`).
    Pad(usize, Box<Item>),
}

impl Item {
    /// The fixed number of digits the item consumes, for adjacent value
    /// parsing (`yyyyMMdd`).
    fn fixed_digits(&self) -> Option<usize> {
        match self {
            Item::Number { min, max, .. } if min == max => Some(*min),
            Item::Reduced(_) => Some(2),
            Item::Fraction(w) => Some(*w),
            _ => None,
        }
    }
}

/// A compiled `DateTimeFormatter` pattern.
#[derive(Debug, Clone, PartialEq)]
struct Pattern {
    items: Vec<Item>,
}

const MAX_CACHED_PATTERNS: usize = 1024;

/// Compiles a pattern, reusing earlier compilations of the same text.
fn compile_cached(pattern: &str) -> std::result::Result<Arc<Pattern>, String> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Pattern>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(p) = cache.lock().get(pattern) {
        return Ok(p.clone());
    }
    let compiled = Arc::new(compile(pattern)?);
    let mut guard = cache.lock();
    if guard.len() >= MAX_CACHED_PATTERNS {
        guard.clear();
    }
    guard.insert(pattern.to_string(), compiled.clone());
    Ok(compiled)
}

/// Compiles a pattern into items, with Java's errors for bad patterns.
fn compile(pattern: &str) -> std::result::Result<Pattern, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut stack: Vec<Vec<Item>> = vec![Vec::new()];
    let mut pad: Option<usize> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let item = if c.is_ascii_alphabetic() {
            let start = i;
            while i < chars.len() && chars[i] == c {
                i += 1;
            }
            let count = i - start;
            if c == 'p' {
                pad = Some(count);
                continue;
            }
            letter_item(c, count)?
        } else if c == '\'' {
            i += 1;
            let mut lit = String::new();
            if chars.get(i) == Some(&'\'') {
                lit.push('\'');
                i += 1;
            } else {
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(format!(
                                "Pattern ends with an incomplete string literal: {pattern}"
                            ))
                        }
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            lit.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            lit.push(*ch);
                            i += 1;
                        }
                    }
                }
            }
            Item::Literal(lit)
        } else if c == '[' {
            i += 1;
            stack.push(Vec::new());
            continue;
        } else if c == ']' {
            i += 1;
            if stack.len() == 1 {
                return Err("Pattern invalid as it contains ] without previous [".into());
            }
            let inner = stack.pop().unwrap_or_default();
            Item::Optional(inner)
        } else if matches!(c, '{' | '}' | '#') {
            return Err(format!("Pattern includes reserved character: '{c}'"));
        } else {
            i += 1;
            Item::Literal(c.to_string())
        };
        let level = stack.len() - 1;
        let items = &mut stack[level];
        match (pad.take(), item) {
            (Some(w), item) => items.push(Item::Pad(w, Box::new(item))),
            (None, Item::Literal(s)) => match items.last_mut() {
                Some(Item::Literal(prev)) => prev.push_str(&s),
                _ => items.push(Item::Literal(s)),
            },
            (None, item) => items.push(item),
        }
    }
    while stack.len() > 1 {
        let inner = stack.pop().unwrap_or_default();
        let level = stack.len() - 1;
        stack[level].push(Item::Optional(inner));
    }
    Ok(Pattern {
        items: stack.pop().unwrap_or_default(),
    })
}

fn text_width(c: char, count: usize) -> std::result::Result<Width, String> {
    match count {
        1..=3 => Ok(Width::Short),
        4 => Ok(Width::Full),
        5 => Ok(Width::Narrow),
        _ => Err(format!("Too many pattern letters: {c}")),
    }
}

fn number(field: Field, min: usize, max: usize) -> Item {
    Item::Number {
        field,
        min,
        max,
        exceeds_pad: false,
    }
}

fn offset(colon: bool, minutes_always: bool, seconds: bool, zero: &'static str) -> Item {
    Item::Offset(OffsetStyle {
        colon,
        minutes_always,
        seconds,
        zero,
    })
}

/// The item for `count` repetitions of the pattern letter `c`.
fn letter_item(c: char, count: usize) -> std::result::Result<Item, String> {
    let too_many = || Err(format!("Too many pattern letters: {c}"));
    let item = match c {
        'G' => Item::Text(Field::Era, text_width(c, count)?),
        'y' | 'u' | 'Y' => {
            let field = match c {
                'y' => Field::YearOfEra,
                'u' => Field::Year,
                _ => Field::WeekBasedYear,
            };
            match count {
                2 => Item::Reduced(field),
                1 | 3 => number(field, count, 19),
                _ if count <= 19 => Item::Number {
                    field,
                    min: count,
                    max: 19,
                    exceeds_pad: true,
                },
                _ => return too_many(),
            }
        }
        'Q' | 'q' => match count {
            1 => number(Field::QuarterOfYear, 1, 19),
            2 => number(Field::QuarterOfYear, 2, 2),
            _ => Item::Text(Field::QuarterOfYear, text_width(c, count)?),
        },
        'M' | 'L' => match count {
            1 => number(Field::MonthOfYear, 1, 19),
            2 => number(Field::MonthOfYear, 2, 2),
            _ => Item::Text(Field::MonthOfYear, text_width(c, count)?),
        },
        'w' => match count {
            1 => number(Field::WeekOfWeekBasedYear, 1, 2),
            2 => number(Field::WeekOfWeekBasedYear, 2, 2),
            _ => return too_many(),
        },
        'W' => match count {
            1 => number(Field::WeekOfMonth, 1, 1),
            _ => return too_many(),
        },
        'E' => Item::Text(Field::DayOfWeek, text_width(c, count)?),
        'e' | 'c' => match count {
            1 => number(Field::LocalizedDayOfWeek, 1, 1),
            2 if c == 'e' => number(Field::LocalizedDayOfWeek, 2, 2),
            2 => return Err("Invalid pattern \"cc\"".into()),
            _ => Item::Text(Field::DayOfWeek, text_width(c, count)?),
        },
        'F' => match count {
            1 => number(Field::AlignedDayOfWeekInMonth, 1, 19),
            _ => return too_many(),
        },
        'a' => match count {
            1 => Item::Text(Field::AmPmOfDay, Width::Short),
            _ => return too_many(),
        },
        'h' | 'K' | 'k' | 'H' | 'm' | 's' | 'd' => {
            let field = match c {
                'h' => Field::ClockHourOfAmPm,
                'K' => Field::HourOfAmPm,
                'k' => Field::ClockHourOfDay,
                'H' => Field::HourOfDay,
                'm' => Field::MinuteOfHour,
                's' => Field::SecondOfMinute,
                _ => Field::DayOfMonth,
            };
            match count {
                1 => number(field, 1, 19),
                2 => number(field, 2, 2),
                _ => return too_many(),
            }
        }
        'D' => match count {
            1 => number(Field::DayOfYear, 1, 19),
            2 => number(Field::DayOfYear, 2, 3),
            3 => number(Field::DayOfYear, 3, 3),
            _ => return too_many(),
        },
        'S' => match count {
            1..=9 => Item::Fraction(count),
            _ => return too_many(),
        },
        'A' | 'n' | 'N' if count <= 19 => {
            let field = match c {
                'A' => Field::MilliOfDay,
                'n' => Field::NanoOfSecond,
                _ => Field::NanoOfDay,
            };
            number(field, count, 19)
        }
        'V' => match count {
            2 => Item::ZoneId,
            _ => return Err(format!("Pattern letter count must be 2: {c}")),
        },
        'v' => match count {
            1 => Item::ZoneText { full: false },
            4 => Item::ZoneText { full: true },
            _ => return Err(format!("Wrong number of pattern letters: {c}")),
        },
        'z' => match count {
            1..=3 => Item::ZoneText { full: false },
            4 => Item::ZoneText { full: true },
            _ => return too_many(),
        },
        'O' => match count {
            1 => Item::LocalizedOffset { full: false },
            4 => Item::LocalizedOffset { full: true },
            _ => return Err(format!("Pattern letter count must be 1 or 4: {c}")),
        },
        'X' | 'x' => {
            let zero = |z: &'static str, x: &'static str| if c == 'X' { z } else { x };
            match count {
                1 => offset(false, false, false, zero("Z", "+00")),
                2 => offset(false, true, false, zero("Z", "+0000")),
                3 => offset(true, true, false, zero("Z", "+00:00")),
                4 => offset(false, true, true, zero("Z", "+0000")),
                5 => offset(true, true, true, zero("Z", "+00:00")),
                _ => return too_many(),
            }
        }
        'Z' => match count {
            1..=3 => offset(false, true, false, "+0000"),
            4 => Item::LocalizedOffset { full: true },
            5 => offset(true, true, true, "Z"),
            _ => return too_many(),
        },
        _ => return Err(format!("Unknown pattern letter: {c}")),
    };
    Ok(item)
}

// ---------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Monday first, as ISO numbers days of the week.
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

const QUARTERS: [&str; 4] = ["1st quarter", "2nd quarter", "3rd quarter", "4th quarter"];

/// The text of a field's value (value as Java numbers it: months 1-12, days
/// of week 1 = Monday, eras 0 = BC, AM = 0).
fn field_text(field: Field, width: Width, value: i64) -> Option<String> {
    let idx = |v: i64| usize::try_from(v).ok();
    let text = match field {
        Field::MonthOfYear => {
            let full = MONTHS.get(idx(value - 1)?)?;
            match width {
                Width::Full => full.to_string(),
                Width::Short => full[..3].to_string(),
                Width::Narrow => full[..1].to_string(),
            }
        }
        Field::DayOfWeek => {
            let full = DAYS.get(idx(value - 1)?)?;
            match width {
                Width::Full => full.to_string(),
                Width::Short => full[..3].to_string(),
                Width::Narrow => full[..1].to_string(),
            }
        }
        Field::Era => {
            let (short, full) = if value == 0 {
                ("BC", "Before Christ")
            } else {
                ("AD", "Anno Domini")
            };
            match width {
                Width::Full => full.to_string(),
                Width::Short => short.to_string(),
                Width::Narrow => short[..1].to_string(),
            }
        }
        Field::AmPmOfDay => (if value == 0 { "AM" } else { "PM" }).to_string(),
        Field::QuarterOfYear => match width {
            Width::Full => QUARTERS.get(idx(value - 1)?)?.to_string(),
            Width::Short => format!("Q{value}"),
            Width::Narrow => value.to_string(),
        },
        _ => return None,
    };
    Some(text)
}

/// The zone of a formatted moment, with what is known about it then.
struct ZoneAt {
    zone: Zone,
    /// The UTC date-time being formatted.
    utc: NaiveDateTime,
    offset: i32,
    abbreviation: Option<String>,
}

/// What a pattern formats: a date, a time and a zone, any of which may be
/// missing (FORMAT_DATE has no time, FORMAT_TIME no date).
struct Moment {
    date: Option<NaiveDate>,
    time: Option<NaiveTime>,
    zone: Option<ZoneAt>,
}

/// Days from the previous Sunday (Sunday = 0), for US week fields.
fn days_from_sunday(d: NaiveDate) -> i64 {
    d.weekday().num_days_from_sunday() as i64
}

/// The US (Sunday-start, one-day minimum) week-based year and week.
fn us_week(d: NaiveDate) -> (i64, i64) {
    let sunday = d - Duration::days(days_from_sunday(d));
    let saturday = sunday + Duration::days(6);
    if saturday.year() > d.year() {
        return (d.year() as i64 + 1, 1);
    }
    let jan1 = NaiveDate::from_ymd_opt(d.year(), 1, 1).unwrap_or(d);
    let week = (d.ordinal0() as i64 + days_from_sunday(jan1)) / 7 + 1;
    (d.year() as i64, week)
}

impl Moment {
    fn value(&self, field: Field) -> std::result::Result<i64, String> {
        let unsupported = || format!("Unsupported field: {}", field.name());
        if field.is_time() {
            let t = self.time.ok_or_else(unsupported)?;
            let secs = t.num_seconds_from_midnight() as i64;
            let nano = t.nanosecond() as i64;
            let hour = secs / 3600;
            return Ok(match field {
                Field::AmPmOfDay => hour / 12,
                Field::HourOfDay => hour,
                Field::ClockHourOfDay => {
                    if hour == 0 {
                        24
                    } else {
                        hour
                    }
                }
                Field::HourOfAmPm => hour % 12,
                Field::ClockHourOfAmPm => {
                    if hour % 12 == 0 {
                        12
                    } else {
                        hour % 12
                    }
                }
                Field::MinuteOfHour => secs / 60 % 60,
                Field::SecondOfMinute => secs % 60,
                Field::MilliOfDay => secs * 1000 + nano / NANOS_PER_MS,
                Field::NanoOfSecond => nano,
                _ => secs * NANOS_PER_SEC + nano,
            });
        }
        let d = self.date.ok_or_else(unsupported)?;
        let year = d.year() as i64;
        Ok(match field {
            Field::Era => i64::from(year > 0),
            Field::YearOfEra => {
                if year > 0 {
                    year
                } else {
                    1 - year
                }
            }
            Field::Year => year,
            Field::WeekBasedYear => us_week(d).0,
            Field::QuarterOfYear => (d.month0() / 3 + 1) as i64,
            Field::MonthOfYear => d.month() as i64,
            Field::WeekOfWeekBasedYear => us_week(d).1,
            Field::WeekOfMonth => {
                let first = d.with_day(1).unwrap_or(d);
                (d.day0() as i64 + days_from_sunday(first)) / 7 + 1
            }
            Field::DayOfYear => d.ordinal() as i64,
            Field::DayOfMonth => d.day() as i64,
            Field::DayOfWeek => d.weekday().number_from_monday() as i64,
            Field::LocalizedDayOfWeek => d.weekday().number_from_sunday() as i64,
            _ => (d.day0() % 7 + 1) as i64,
        })
    }

    fn zone(&self) -> std::result::Result<&ZoneAt, String> {
        self.zone.as_ref().ok_or_else(|| {
            let what = match (self.date, self.time) {
                (Some(d), Some(t)) => format!("{d}T{t}"),
                (Some(d), None) => d.to_string(),
                (None, Some(t)) => t.to_string(),
                (None, None) => String::new(),
            };
            format!("Unable to extract ZoneId from temporal {what}")
        })
    }
}

fn write_offset(out: &mut String, secs: i32, style: &OffsetStyle) {
    if secs == 0 {
        out.push_str(style.zero);
        return;
    }
    let a = secs.unsigned_abs();
    let (h, m, s) = (a / 3600, a / 60 % 60, a % 60);
    out.push(if secs < 0 { '-' } else { '+' });
    out.push_str(&format!("{h:02}"));
    if style.minutes_always || m != 0 || (style.seconds && s != 0) {
        if style.colon {
            out.push(':');
        }
        out.push_str(&format!("{m:02}"));
    }
    if style.seconds && s != 0 {
        if style.colon {
            out.push(':');
        }
        out.push_str(&format!("{s:02}"));
    }
}

fn write_localized_offset(out: &mut String, secs: i32, full: bool) {
    out.push_str("GMT");
    if secs == 0 {
        return;
    }
    let a = secs.unsigned_abs();
    let (h, m, s) = (a / 3600, a / 60 % 60, a % 60);
    out.push(if secs < 0 { '-' } else { '+' });
    if full {
        out.push_str(&format!("{h:02}:{m:02}"));
        if s != 0 {
            out.push_str(&format!(":{s:02}"));
        }
    } else {
        out.push_str(&h.to_string());
        if m != 0 || s != 0 {
            out.push_str(&format!(":{m:02}"));
            if s != 0 {
                out.push_str(&format!(":{s:02}"));
            }
        }
    }
}

/// A zone's display name as Java writes it for `z` / `zzzz`: the
/// abbreviation, or a long name for the well-known ones, falling back to
/// the zone's ID when it has no alphabetic abbreviation.
fn zone_text(z: &ZoneAt, full: bool) -> String {
    let Zone::Region(tz) = z.zone else {
        return z.zone.id();
    };
    let Some(abbr) = &z.abbreviation else {
        return z.zone.id();
    };
    if full {
        // An abbreviation can name different zones (CST is also China's), so
        // the long name must come from the same region or one with the same
        // offset at that moment.
        let same = |region: Tz| region == tz || Zone::Region(region).offset_at(&z.utc) == z.offset;
        if let Some((_, name, _)) = ZONE_NAMES
            .iter()
            .find(|(a, _, region)| a == abbr && same(*region))
        {
            return name.to_string();
        }
    }
    abbr.clone()
}

impl Pattern {
    fn format(&self, m: &Moment) -> std::result::Result<String, String> {
        let mut out = String::new();
        format_items(&self.items, m, &mut out)?;
        Ok(out)
    }
}

fn format_items(items: &[Item], m: &Moment, out: &mut String) -> std::result::Result<(), String> {
    for item in items {
        format_item(item, m, out)?;
    }
    Ok(())
}

fn format_item(item: &Item, m: &Moment, out: &mut String) -> std::result::Result<(), String> {
    match item {
        Item::Literal(s) => out.push_str(s),
        Item::Number {
            field,
            min,
            max,
            exceeds_pad,
        } => {
            let v = m.value(*field)?;
            let digits = v.unsigned_abs().to_string();
            if digits.len() > *max {
                return Err(format!(
                    "Field {} cannot be printed as the value {v} exceeds the maximum print width of {max}",
                    field.name()
                ));
            }
            if v < 0 {
                out.push('-');
            } else if *exceeds_pad && digits.len() > *min {
                out.push('+');
            }
            for _ in digits.len()..*min {
                out.push('0');
            }
            out.push_str(&digits);
        }
        Item::Reduced(field) => {
            let v = m.value(*field)?.rem_euclid(100);
            out.push_str(&format!("{v:02}"));
        }
        Item::Fraction(width) => {
            let nanos = m.value(Field::NanoOfSecond)?;
            let digits = format!("{nanos:09}");
            out.push_str(&digits[..*width]);
        }
        Item::Text(field, width) => {
            let v = m.value(*field)?;
            let text = field_text(*field, *width, v)
                .ok_or_else(|| format!("Unsupported field: {}", field.name()))?;
            out.push_str(&text);
        }
        Item::Offset(style) => write_offset(out, m.zone()?.offset, style),
        Item::LocalizedOffset { full } => write_localized_offset(out, m.zone()?.offset, *full),
        Item::ZoneText { full } => out.push_str(&zone_text(m.zone()?, *full)),
        Item::ZoneId => out.push_str(&m.zone()?.zone.id()),
        Item::Optional(inner) => {
            let mut section = String::new();
            if format_items(inner, m, &mut section).is_ok() {
                out.push_str(&section);
            }
        }
        Item::Pad(width, inner) => {
            let mut s = String::new();
            format_item(inner, m, &mut s)?;
            let len = s.chars().count();
            if len > *width {
                return Err(format!(
                    "Cannot print as output of {len} characters exceeds pad width of {width}"
                ));
            }
            for _ in len..*width {
                out.push(' ');
            }
            out.push_str(&s);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

/// Field values read from text, before resolving into a date and time.
#[derive(Debug, Clone, Default)]
struct Parsed {
    fields: [Option<i64>; FIELD_COUNT],
    offset: Option<i32>,
    zone: Option<Zone>,
}

/// Why parsing stopped: at a character index, or for a stated reason.
enum ParseFail {
    At(usize),
    Msg(String),
}

impl Parsed {
    fn get(&self, f: Field) -> Option<i64> {
        self.fields[f as usize]
    }

    fn set(&mut self, f: Field, v: i64) -> std::result::Result<(), ParseFail> {
        match self.fields[f as usize] {
            Some(old) if old != v => Err(ParseFail::Msg(format!(
                "Conflict found: Field {} {old} differs from {} {v}",
                f.name(),
                f.name()
            ))),
            _ => {
                self.fields[f as usize] = Some(v);
                Ok(())
            }
        }
    }
}

/// A parsed date and time, with the zone the text named (if any).
struct Parts {
    date: NaiveDate,
    nanos_of_day: i64,
    zone: Option<Zone>,
    has_date: bool,
    has_time: bool,
}

/// Matches `lit` at byte `pos` of `text` ignoring case; the byte position
/// after the match.
fn match_ci(text: &str, pos: usize, lit: &str) -> Option<usize> {
    let mut rest = text.get(pos..)?.chars();
    let mut end = pos;
    for lc in lit.chars() {
        let tc = rest.next()?;
        if tc != lc && !tc.to_lowercase().eq(lc.to_lowercase()) {
            return None;
        }
        end += tc.len_utf8();
    }
    Some(end)
}

/// The number of ASCII digits starting at byte `pos`.
fn digits_at(text: &str, pos: usize) -> usize {
    text.as_bytes()
        .get(pos..)
        .map(|b| b.iter().take_while(|c| c.is_ascii_digit()).count())
        .unwrap_or(0)
}

fn parse_digits(text: &str, pos: usize, len: usize) -> std::result::Result<i64, ParseFail> {
    text.get(pos..pos + len)
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or(ParseFail::At(pos))
}

/// Reads a run of exactly two digits.
fn two_digits(text: &str, pos: usize) -> Option<i32> {
    let s = text.get(pos..pos + 2)?;
    s.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| s.parse().ok())
        .flatten()
}

/// Parses an offset written in `style` at `pos`; the offset and the end.
fn parse_offset(text: &str, pos: usize, style: &OffsetStyle) -> Option<(i32, usize)> {
    let bytes = text.as_bytes();
    let sign = match bytes.get(pos) {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => {
            return match_ci(text, pos, style.zero).map(|end| (0, end));
        }
    };
    let mut p = pos + 1;
    let h = two_digits(text, p)?;
    p += 2;
    let mut m = 0;
    let mut s = 0;
    let sep = |p: usize| -> Option<usize> {
        if style.colon {
            (bytes.get(p) == Some(&b':')).then_some(p + 1)
        } else {
            Some(p)
        }
    };
    match sep(p).and_then(|q| two_digits(text, q).map(|v| (v, q + 2))) {
        Some((v, q)) => {
            m = v;
            p = q;
            if style.seconds {
                if let Some((v, q)) = sep(p).and_then(|q| two_digits(text, q).map(|v| (v, q + 2))) {
                    s = v;
                    p = q;
                }
            }
        }
        None if style.minutes_always => return None,
        None => {}
    }
    if h > 18 || m > 59 || s > 59 {
        return None;
    }
    Some((sign * (h * 3600 + m * 60 + s), p))
}

/// Parses `GMT`, `GMT+1`, `GMT+01:00`...; the offset and the end.
fn parse_localized_offset(text: &str, pos: usize) -> Option<(i32, usize)> {
    let p = match_ci(text, pos, "GMT")?;
    let sign = match text.as_bytes().get(p) {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return Some((0, p)),
    };
    let mut q = p + 1;
    let hd = digits_at(text, q).min(2);
    if hd == 0 {
        return None;
    }
    let h: i32 = text.get(q..q + hd)?.parse().ok()?;
    q += hd;
    let mut total = h * 3600;
    for unit in [60, 1] {
        if text.as_bytes().get(q) == Some(&b':') {
            if let Some(v) = two_digits(text, q + 1) {
                total += v * unit;
                q += 3;
                continue;
            }
        }
        break;
    }
    (h <= 18).then_some((sign * total, q))
}

/// Parses a zone name or ID at `pos`: an offset, `UTC+01:00`, a long name
/// (`Pacific Standard Time`), an abbreviation or an IANA name.
fn parse_zone_text(text: &str, pos: usize, ids_only: bool) -> Option<(Zone, usize)> {
    let rest = text.get(pos..)?;
    if rest.starts_with(['+', '-']) {
        let style = OffsetStyle {
            colon: true,
            minutes_always: false,
            seconds: true,
            zero: "Z",
        };
        return parse_offset(text, pos, &style)
            .or_else(|| {
                let plain = OffsetStyle {
                    colon: false,
                    ..style
                };
                parse_offset(text, pos, &plain)
            })
            .map(|(o, end)| (Zone::Fixed(o), end));
    }
    for prefix in ["UTC", "GMT", "UT"] {
        if let Some(p) = match_ci(text, pos, prefix) {
            if text[p..].starts_with(['+', '-']) {
                if let Some((z, end)) = parse_zone_text(text, p, true) {
                    return Some((z, end));
                }
            }
        }
    }
    if !ids_only {
        let long = ZONE_NAMES
            .iter()
            .filter_map(|(_, name, tz)| match_ci(text, pos, name).map(|end| (*tz, end)))
            .max_by_key(|(_, end)| *end);
        if let Some((tz, end)) = long {
            return Some((Zone::Region(tz), end));
        }
    }
    let run = rest
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'/' | b'+' | b'-'))
        .count();
    for len in (1..=run).rev() {
        let candidate = &rest[..len];
        let found = if candidate.eq_ignore_ascii_case("Z") {
            Some(Zone::Fixed(0))
        } else if let Ok(tz) = Tz::from_str(candidate) {
            Some(Zone::Region(tz))
        } else {
            let abbreviation = (!ids_only)
                .then(|| {
                    ZONE_NAMES
                        .iter()
                        .find(|(a, _, _)| a.eq_ignore_ascii_case(candidate))
                })
                .flatten()
                .map(|(_, _, tz)| Zone::Region(*tz));
            abbreviation.or_else(|| {
                zones_by_lower_name()
                    .get(&candidate.to_ascii_lowercase())
                    .map(|tz| Zone::Region(*tz))
            })
        };
        if let Some(z) = found {
            return Some((z, pos + len));
        }
    }
    None
}

/// Every spelling of a text field's values, longest first so that a longer
/// name wins over its prefix.
fn text_choices(field: Field, width: Width) -> Vec<(String, i64)> {
    let range: Vec<i64> = match field {
        Field::MonthOfYear => (1..=12).collect(),
        Field::DayOfWeek => (1..=7).collect(),
        Field::Era | Field::AmPmOfDay => vec![0, 1],
        Field::QuarterOfYear => (1..=4).collect(),
        _ => Vec::new(),
    };
    let mut choices: Vec<(String, i64)> = range
        .into_iter()
        .filter_map(|v| field_text(field, width, v).map(|t| (t, v)))
        .collect();
    choices.sort_by_key(|(t, _)| std::cmp::Reverse(t.len()));
    choices
}

/// The index in characters of a byte position, for Java-style messages.
fn char_index(text: &str, pos: usize) -> usize {
    text.get(..pos).map(|s| s.chars().count()).unwrap_or(pos)
}

impl Pattern {
    fn parse(&self, text: &str) -> std::result::Result<Parts, String> {
        let mut parsed = Parsed::default();
        match parse_items(&self.items, text, 0, &mut parsed) {
            Ok(end) if end == text.len() => {}
            Ok(end) => {
                return Err(format!(
                    "Text '{text}' could not be parsed, unparsed text found at index {}",
                    char_index(text, end)
                ))
            }
            Err(ParseFail::At(pos)) => {
                return Err(format!(
                    "Text '{text}' could not be parsed at index {}",
                    char_index(text, pos)
                ))
            }
            Err(ParseFail::Msg(m)) => {
                return Err(format!("Text '{text}' could not be parsed: {m}"))
            }
        }
        resolve(&parsed).map_err(|m| format!("Text '{text}' could not be parsed: {m}"))
    }
}

fn parse_items(
    items: &[Item],
    text: &str,
    mut pos: usize,
    parsed: &mut Parsed,
) -> std::result::Result<usize, ParseFail> {
    for (i, item) in items.iter().enumerate() {
        // Digits to leave for the fixed-width numbers that follow directly,
        // so that `yyyyMMdd` splits `20200131` correctly.
        let reserve: usize = items[i + 1..].iter().map_while(Item::fixed_digits).sum();
        pos = parse_item(item, text, pos, reserve, parsed)?;
    }
    Ok(pos)
}

fn parse_item(
    item: &Item,
    text: &str,
    pos: usize,
    reserve: usize,
    parsed: &mut Parsed,
) -> std::result::Result<usize, ParseFail> {
    match item {
        Item::Literal(s) => match_ci(text, pos, s).ok_or(ParseFail::At(pos)),
        Item::Number {
            field, min, max, ..
        } => {
            let mut start = pos;
            let mut negative = false;
            if *field == Field::Year || *field == Field::WeekBasedYear {
                match text.as_bytes().get(pos) {
                    Some(b'-') => {
                        negative = true;
                        start += 1;
                    }
                    Some(b'+') => start += 1,
                    _ => {}
                }
            }
            let available = digits_at(text, start);
            let take = if min == max {
                *min
            } else {
                available.saturating_sub(reserve).min(*max).max(*min)
            };
            if available < take {
                return Err(ParseFail::At(pos));
            }
            let v = parse_digits(text, start, take)?;
            parsed.set(*field, if negative { -v } else { v })?;
            Ok(start + take)
        }
        Item::Reduced(field) => {
            if digits_at(text, pos) < 2 {
                return Err(ParseFail::At(pos));
            }
            let v = parse_digits(text, pos, 2)?;
            parsed.set(*field, 2000 + v)?;
            Ok(pos + 2)
        }
        Item::Fraction(width) => {
            if digits_at(text, pos) < *width {
                return Err(ParseFail::At(pos));
            }
            let v = parse_digits(text, pos, *width)?;
            parsed.set(Field::NanoOfSecond, v * 10i64.pow(9 - *width as u32))?;
            Ok(pos + width)
        }
        Item::Text(field, width) => {
            let (end, v) = text_choices(*field, *width)
                .into_iter()
                .find_map(|(t, v)| match_ci(text, pos, &t).map(|end| (end, v)))
                .ok_or(ParseFail::At(pos))?;
            parsed.set(*field, v)?;
            Ok(end)
        }
        Item::Offset(style) => {
            let (o, end) = parse_offset(text, pos, style).ok_or(ParseFail::At(pos))?;
            parsed.offset = Some(o);
            Ok(end)
        }
        Item::LocalizedOffset { .. } => {
            let (o, end) = parse_localized_offset(text, pos).ok_or(ParseFail::At(pos))?;
            parsed.offset = Some(o);
            Ok(end)
        }
        Item::ZoneText { .. } | Item::ZoneId => {
            let ids_only = matches!(item, Item::ZoneId);
            let (z, end) = parse_zone_text(text, pos, ids_only).ok_or(ParseFail::At(pos))?;
            parsed.zone = Some(z);
            Ok(end)
        }
        Item::Optional(inner) => {
            let mut attempt = parsed.clone();
            match parse_items(inner, text, pos, &mut attempt) {
                Ok(end) => {
                    *parsed = attempt;
                    Ok(end)
                }
                Err(_) => Ok(pos),
            }
        }
        Item::Pad(width, inner) => {
            let spaces = text
                .get(pos..)
                .map(|s| s.bytes().take(*width).take_while(|b| *b == b' ').count())
                .unwrap_or(0);
            parse_item(inner, text, pos + spaces, reserve, parsed)
        }
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    next.and_then(|n| n.pred_opt())
        .map(|d| d.day())
        .unwrap_or(31)
}

/// Turns parsed fields into a date and time the way ksqlDB does: start from
/// 1970-01-01T00:00 and apply what the text gave, clamping a day-of-month
/// past the month's end as Java's SMART resolver does.
fn resolve(p: &Parsed) -> std::result::Result<Parts, String> {
    for (i, v) in p.fields.iter().enumerate() {
        let (Some(v), Some(field)) = (v, FIELDS.get(i)) else {
            continue;
        };
        let (lo, hi) = field.range();
        if *v < lo || *v > hi {
            return Err(format!(
                "Invalid value for {} (valid values {lo} - {hi}): {v}",
                field.name()
            ));
        }
    }
    let get = |f: Field| p.get(f);
    let has_date = FIELDS.iter().any(|f| !f.is_time() && get(*f).is_some());
    let has_time = FIELDS.iter().any(|f| f.is_time() && get(*f).is_some());

    let year_given = get(Field::Year).is_some() || get(Field::YearOfEra).is_some();
    let year = match (get(Field::Year), get(Field::YearOfEra)) {
        (Some(y), _) => y,
        (None, Some(yoe)) => {
            if get(Field::Era) == Some(0) {
                1 - yoe
            } else {
                yoe
            }
        }
        (None, None) => 1970,
    };
    let year = i32::try_from(year).map_err(|_| format!("Year out of range: {year}"))?;
    let month = get(Field::MonthOfYear);
    let day = get(Field::DayOfMonth);
    let date = match (get(Field::DayOfYear), month, day) {
        (Some(doy), None, None) => NaiveDate::from_yo_opt(year, doy as u32).ok_or_else(|| {
            format!("Invalid date 'DayOfYear {doy}' as '{year}' is not a leap year")
        })?,
        (doy, _, _) => {
            let m = month.unwrap_or(1) as u32;
            let d = (day.unwrap_or(1) as u32).min(days_in_month(year, m));
            let date = NaiveDate::from_ymd_opt(year, m, d)
                .ok_or_else(|| format!("Invalid date: {year}-{m}-{d}"))?;
            if let Some(doy) = doy {
                if date.ordinal() as i64 != doy {
                    return Err(format!(
                        "Conflict found: Field DayOfYear {} differs from DayOfYear {doy} derived from {date}",
                        date.ordinal()
                    ));
                }
            }
            date
        }
    };
    let complete =
        year_given && ((month.is_some() && day.is_some()) || get(Field::DayOfYear).is_some());
    if let (true, Some(dow)) = (complete, get(Field::DayOfWeek)) {
        let actual = date.weekday().number_from_monday() as i64;
        if actual != dow {
            return Err(format!(
                "Conflict found: Field DayOfWeek {actual} differs from DayOfWeek {dow} derived from {date}"
            ));
        }
    }

    let ampm = get(Field::AmPmOfDay);
    let hour = if let Some(h) = get(Field::HourOfDay) {
        if let Some(a) = ampm {
            if h / 12 != a {
                return Err(format!(
                    "Conflict found: Field AmPmOfDay {} differs from AmPmOfDay {a} derived from HourOfDay {h}",
                    h / 12
                ));
            }
        }
        h
    } else if let Some(k) = get(Field::ClockHourOfDay) {
        k % 24
    } else {
        let hap = get(Field::HourOfAmPm).or(get(Field::ClockHourOfAmPm).map(|h| h % 12));
        hap.unwrap_or(0) + 12 * ampm.unwrap_or(0)
    };
    let minute = get(Field::MinuteOfHour).unwrap_or(0);
    let second = get(Field::SecondOfMinute).unwrap_or(0);
    let nano = get(Field::NanoOfSecond).unwrap_or(0);
    let hms_given = [
        Field::AmPmOfDay,
        Field::HourOfDay,
        Field::ClockHourOfDay,
        Field::HourOfAmPm,
        Field::ClockHourOfAmPm,
        Field::MinuteOfHour,
        Field::SecondOfMinute,
    ]
    .iter()
    .any(|f| get(*f).is_some());
    let mut nanos_of_day = ((hour * 60 + minute) * 60 + second) * NANOS_PER_SEC + nano;
    if !hms_given {
        if let Some(n) = get(Field::NanoOfDay) {
            nanos_of_day = n;
        } else if let Some(ms) = get(Field::MilliOfDay) {
            nanos_of_day = ms * NANOS_PER_MS + nano % NANOS_PER_MS;
        }
    }

    let zone = p.zone.or(p.offset.map(Zone::Fixed));
    Ok(Parts {
        date,
        nanos_of_day,
        zone,
        has_date,
        has_time,
    })
}

/// Every field, indexed by discriminant.
const FIELDS: [Field; FIELD_COUNT] = [
    Field::Era,
    Field::YearOfEra,
    Field::Year,
    Field::WeekBasedYear,
    Field::QuarterOfYear,
    Field::MonthOfYear,
    Field::WeekOfWeekBasedYear,
    Field::WeekOfMonth,
    Field::DayOfYear,
    Field::DayOfMonth,
    Field::DayOfWeek,
    Field::LocalizedDayOfWeek,
    Field::AlignedDayOfWeekInMonth,
    Field::AmPmOfDay,
    Field::HourOfDay,
    Field::ClockHourOfDay,
    Field::HourOfAmPm,
    Field::ClockHourOfAmPm,
    Field::MinuteOfHour,
    Field::SecondOfMinute,
    Field::MilliOfDay,
    Field::NanoOfSecond,
    Field::NanoOfDay,
];

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: Vec<Value>) -> Result<Value> {
        let types: Vec<SqlType> = args.iter().map(Value::natural_type).collect();
        let resolved = FunctionRegistry::global().resolve(name, &types)?;
        (resolved.eval)(&args)
    }

    fn s(v: &str) -> Value {
        Value::String(v.to_string())
    }

    fn text(v: Value) -> String {
        match v {
            Value::String(s) => s,
            other => panic!("expected a string, got {other:?}"),
        }
    }

    /// 2018-05-11T21:58:33Z.
    const MAY_2018: i64 = 1_526_075_913_000;

    #[test]
    fn format_timestamp_with_and_without_zone() {
        let out = call(
            "FORMAT_TIMESTAMP",
            vec![Value::Timestamp(MAY_2018), s("yyyy-MM-dd HH:mm:ss.SSS")],
        )
        .unwrap();
        assert_eq!(text(out), "2018-05-11 21:58:33.000");
        let out = call(
            "format_timestamp",
            vec![
                Value::Timestamp(MAY_2018),
                s("yyyy-MM-dd HH:mm:ss zzz"),
                s("America/Los_Angeles"),
            ],
        )
        .unwrap();
        assert_eq!(text(out), "2018-05-11 14:58:33 PDT");
        let out = call(
            "TIMESTAMPTOSTRING",
            vec![
                Value::BigInt(MAY_2018),
                s("yyyy-MM-dd HH:mm:ss zzz"),
                s("Europe/London"),
            ],
        )
        .unwrap();
        assert_eq!(text(out), "2018-05-11 22:58:33 BST");
        let null = call("FORMAT_TIMESTAMP", vec![Value::Null, s("yyyy-MM-dd")]).unwrap();
        assert!(null.is_null());
    }

    #[test]
    fn unknown_zone_is_an_error() {
        let err = call(
            "FORMAT_TIMESTAMP",
            vec![Value::Timestamp(0), s("yyyy"), s("Mars/Olympus")],
        )
        .unwrap_err();
        assert!(err.to_string().contains("Mars/Olympus"), "{err}");
    }

    #[test]
    fn parse_timestamp_with_offsets_and_zone_names() {
        for t in [
            "2018-05-11T21:58:33Z",
            "2018-05-11T21:58:33z",
            "2018-05-11T23:58:33+02",
        ] {
            let out = call("STRINGTOTIMESTAMP", vec![s(t), s("yyyy-MM-dd'T'HH:mm:ssX")]).unwrap();
            assert_eq!(out, Value::BigInt(MAY_2018), "{t}");
        }
        // PST names the Los Angeles region, so May is read as daylight time.
        let out = call(
            "PARSE_TIMESTAMP",
            vec![s("2018-05-11T14:58:33 PST"), s("yyyy-MM-dd'T'HH:mm:ss zzz")],
        )
        .unwrap();
        assert_eq!(out, Value::Timestamp(MAY_2018));
        let out = call(
            "PARSE_TIMESTAMP",
            vec![
                s("2018-05-11 14:58:33"),
                s("yyyy-MM-dd HH:mm:ss"),
                s("America/Los_Angeles"),
            ],
        )
        .unwrap();
        assert_eq!(out, Value::Timestamp(MAY_2018));
        let out = call(
            "PARSE_TIMESTAMP",
            vec![s("2018-05-11 21:58:33"), s("yyyy-MM-dd HH:mm:ss")],
        )
        .unwrap();
        assert_eq!(out, Value::Timestamp(MAY_2018));
    }

    #[test]
    fn parse_failure_is_a_clear_error() {
        let err = call(
            "PARSE_TIMESTAMP",
            vec![s("not a timestamp"), s("yyyy-MM-dd")],
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::Eval(_)));
        assert!(msg.contains("could not be parsed at index 0"), "{msg}");
        let err = parse_with_pattern("2020-01-01x", "yyyy-MM-dd", None).unwrap_err();
        assert!(
            err.to_string().contains("unparsed text found at index 10"),
            "{err}"
        );
    }

    #[test]
    fn dates_parse_and_format() {
        let cases = [
            ("2018-05-11Lit", "yyyy-MM-dd'Lit'", 17662),
            ("11/05/2019", "dd/MM/yyyy", 18027),
            ("01-Jan-2022", "dd-MMM-yyyy", 18993),
            ("01-JAN-2022", "dd-MMM-yyyy", 18993),
            ("March 3, 1970", "MMMM d, yyyy", 61),
        ];
        for (t, p, days) in cases {
            assert_eq!(
                call("STRINGTODATE", vec![s(t), s(p)]).unwrap(),
                Value::Int(days),
                "{t}"
            );
            assert_eq!(
                call("PARSE_DATE", vec![s(t), s(p)]).unwrap(),
                Value::Date(days),
                "{t}"
            );
        }
        let out = call(
            "FORMAT_DATE",
            vec![Value::Date(18993), s("EEEE, d MMMM yyyy")],
        )
        .unwrap();
        assert_eq!(text(out), "Saturday, 1 January 2022");
        let out = call("DATETOSTRING", vec![Value::Int(-1), s("yyyy-MM-dd")]).unwrap();
        assert_eq!(text(out), "1969-12-31");
        // A DATE has no time of day.
        assert!(call("FORMAT_DATE", vec![Value::Date(0), s("HH:mm")]).is_err());
        assert!(call("PARSE_DATE", vec![s("2020-01-01 10"), s("yyyy-MM-dd HH")]).is_err());
    }

    #[test]
    fn times_parse_and_format() {
        let cases = [
            ("00:01:05Lit", "HH:mm:ss'Lit'", 65_000),
            ("11/05/19", "HH/mm/ss", 39_919_000),
            ("01:00:00 PM", "hh:mm:ss a", 46_800_000),
            ("01:00:00 pm", "hh:mm:ss a", 46_800_000),
            ("12:30 AM", "hh:mm a", 1_800_000),
            ("23:59:59.999", "HH:mm:ss.SSS", 86_399_999),
        ];
        for (t, p, ms) in cases {
            assert_eq!(
                call("PARSE_TIME", vec![s(t), s(p)]).unwrap(),
                Value::Time(ms),
                "{t}"
            );
        }
        let out = call("FORMAT_TIME", vec![Value::Time(65_000), s("HH_mm_ss_SSS")]).unwrap();
        assert_eq!(text(out), "00_01_05_000");
        let out = call(
            "FORMAT_TIME",
            vec![Value::Time(1_234_567), s("HHmmss'X'''")],
        )
        .unwrap();
        assert_eq!(text(out), "002034X'");
        let out = call("FORMAT_TIME", vec![Value::Time(46_800_000), s("h a")]).unwrap();
        assert_eq!(text(out), "1 PM");
        assert!(call("FORMAT_TIME", vec![Value::Time(0), s("yyyy")]).is_err());
        assert!(call("FORMAT_TIME", vec![Value::Null, s("HH")])
            .unwrap()
            .is_null());
    }

    #[test]
    fn interval_arithmetic() {
        let d = |v| Value::Date(v);
        assert_eq!(
            call("DATEADD", vec![s("DAYS"), Value::Int(10), d(10)]).unwrap(),
            d(20)
        );
        assert_eq!(
            call("DATEADD", vec![s("DAYS"), Value::Int(-5), d(2)]).unwrap(),
            d(-3)
        );
        assert_eq!(
            call("DATESUB", vec![s("DAYS"), Value::Int(10), d(5)]).unwrap(),
            d(-5)
        );
        assert_eq!(
            call("DATEADD", vec![s("HOURS"), Value::Int(48), d(1)]).unwrap(),
            d(3)
        );
        let t = |v| Value::Time(v);
        assert_eq!(
            call(
                "TIMEADD",
                vec![s("MILLISECONDS"), Value::Int(10), t(86_399_995)]
            )
            .unwrap(),
            t(5)
        );
        assert_eq!(
            call("TIMESUB", vec![s("MILLISECONDS"), Value::Int(10), t(5)]).unwrap(),
            t(86_399_995)
        );
        assert_eq!(
            call("TIMEADD", vec![s("HOURS"), Value::Int(25), t(0)]).unwrap(),
            t(3_600_000)
        );
        let ts = |v| Value::Timestamp(v);
        assert_eq!(
            call(
                "TIMESTAMPADD",
                vec![s("MILLISECONDS"), Value::Int(-5), ts(2)]
            )
            .unwrap(),
            ts(-3)
        );
        assert_eq!(
            call(
                "TIMESTAMPSUB",
                vec![s("SECONDS"), Value::BigInt(1), ts(1000)]
            )
            .unwrap(),
            ts(0)
        );
        assert!(call("DATESUB", vec![s("MILLISECONDS"), Value::Null, d(5)])
            .unwrap()
            .is_null());
        assert!(
            call("TIMEADD", vec![s("SECONDS"), Value::Int(1), Value::Null])
                .unwrap()
                .is_null()
        );
        let err = call("DATESUB", vec![d(1), Value::Int(5), d(1)])
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "Function 'datesub' does not accept parameters (DATE, INTEGER, DATE)."
        );
        assert!(call("DATEADD", vec![s("FORTNIGHTS"), Value::Int(1), d(1)]).is_err());
    }

    #[test]
    fn conversions_and_current_time() {
        assert_eq!(
            call("FROM_UNIXTIME", vec![Value::BigInt(MAY_2018)]).unwrap(),
            Value::Timestamp(MAY_2018)
        );
        assert_eq!(
            call("FROM_DAYS", vec![Value::Int(7)]).unwrap(),
            Value::Date(7)
        );
        assert_eq!(
            call("UNIX_DATE", vec![Value::Date(100)]).unwrap(),
            Value::Int(100)
        );
        assert_eq!(
            call("UNIX_TIMESTAMP", vec![Value::Timestamp(42)]).unwrap(),
            Value::BigInt(42)
        );
        let Value::Int(today) = call("UNIX_DATE", vec![]).unwrap() else {
            panic!("UNIX_DATE() is an INT")
        };
        assert!(today > 19_000);
        let Value::BigInt(now) = call("UNIX_TIMESTAMP", vec![]).unwrap() else {
            panic!("UNIX_TIMESTAMP() is a BIGINT")
        };
        assert!(now / MS_PER_DAY >= today as i64);
        // 14:58:33 in Los Angeles is 21:58:33 UTC in May (PDT, -7).
        let out = call(
            "CONVERT_TZ",
            vec![
                Value::Timestamp(MAY_2018),
                s("UTC"),
                s("America/Los_Angeles"),
            ],
        )
        .unwrap();
        assert_eq!(out, Value::Timestamp(MAY_2018 - 7 * 3_600_000));
        let out = call(
            "CONVERT_TZ",
            vec![Value::Timestamp(MAY_2018), s("+05:30"), s("UTC")],
        )
        .unwrap();
        assert_eq!(out, Value::Timestamp(MAY_2018 - 19_800_000));
    }

    #[test]
    fn iso_text_forms() {
        assert_eq!(parse_timestamp_text("1970-01-01T00:00:00.010"), Some(10));
        assert_eq!(parse_timestamp_text("1970-01-01T00:00:01"), Some(1000));
        assert_eq!(parse_timestamp_text("2018-05-11T21:58:33"), Some(MAY_2018));
        assert_eq!(
            parse_timestamp_text("2018-05-11T21:58:33.000Z"),
            Some(MAY_2018)
        );
        assert_eq!(
            parse_timestamp_text("2018-05-11T23:58:33+0200"),
            Some(MAY_2018)
        );
        assert_eq!(
            parse_timestamp_text("2018-05-11T23:28:33+01:30"),
            Some(MAY_2018)
        );
        assert_eq!(
            parse_timestamp_text("2018-05-11T14:58:33[America/Los_Angeles]"),
            Some(MAY_2018)
        );
        assert_eq!(parse_timestamp_text("2018"), Some(1_514_764_800_000));
        assert_eq!(
            parse_timestamp_text("2018-01-01T00"),
            Some(1_514_764_800_000)
        );
        assert_eq!(parse_timestamp_text("foo"), None);
        assert_eq!(parse_timestamp_text("2018-13-01"), None);
        assert_eq!(parse_timestamp_text("2018-01-01T25:00"), None);
        assert_eq!(parse_date_text("1970-01-10"), Some(9));
        assert_eq!(parse_date_text("1970-01"), Some(0));
        assert_eq!(parse_date_text("1969-12-31"), Some(-1));
        assert_eq!(parse_date_text("foo"), None);
        assert_eq!(parse_time_text("00:00:00.010"), Some(10));
        assert_eq!(parse_time_text("00:01"), Some(60_000));
        assert_eq!(parse_time_text("foo"), None);
        assert_eq!(parse_time_text("24:00"), None);
    }

    #[test]
    fn compile_errors_and_items() {
        assert!(compile("yyyy-MM-dd 'unterminated")
            .unwrap_err()
            .contains("incomplete"));
        assert!(compile("bb")
            .unwrap_err()
            .contains("Unknown pattern letter: b"));
        assert!(compile("HHH")
            .unwrap_err()
            .contains("Too many pattern letters: H"));
        assert!(compile("yyyy#").unwrap_err().contains("reserved"));
        assert!(compile("HH]").is_err());
        let p = compile("'It''s' HH").unwrap();
        assert_eq!(p.items[0], Item::Literal("It's ".into()));
        let p = compile("''").unwrap();
        assert_eq!(p.items, vec![Item::Literal("'".into())]);
        assert!(compile_cached("yyyy").is_ok());
        assert!(Arc::ptr_eq(
            &compile_cached("yyyy").unwrap(),
            &compile_cached("yyyy").unwrap()
        ));
    }

    #[test]
    fn format_then_parse_round_trips() {
        let patterns = [
            "yyyy-MM-dd'T'HH:mm:ss.SSS",
            "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
            "yyyyMMddHHmmssSSS",
            "uuuu-DDD HH:mm:ss.SSS",
            "EEE, dd MMM yyyy HH:mm:ss.SSS Z",
            "EEEE MMMM d yyyy hh:mm:ss.SSS a",
            "dd/MM/yyyy H:m:s.SSS",
            "yyyy-MM-dd HH:mm:ss.SSS VV",
            "yyyy-MM-dd HH:mm:ss.SSS zzz",
            "yyyy-MM-dd HH:mm:ss.SSS OOOO",
            "yyyy-MM-dd HH:mm:ss.SSS xx",
            "yyyy-MM-dd[ HH:mm:ss.SSS]",
            "G yyyy-MM-dd kk:mm:ss.SSS",
            "yyyy-MM-dd A",
        ];
        let instants = [
            0,
            MAY_2018,
            951_782_400_123,
            1_704_067_199_999,
            4_102_444_800_500,
        ];
        for zone in ["UTC", "America/Los_Angeles", "Asia/Kolkata", "+03:00"] {
            for p in patterns {
                for ms in instants {
                    let s = format_with_pattern(ms, p, Some(zone)).unwrap();
                    let back = parse_with_pattern(&s, p, Some(zone))
                        .unwrap_or_else(|e| panic!("{p} / {zone}: {s}: {e}"));
                    assert_eq!(back, ms, "{p} / {zone}: {s}");
                }
            }
        }
    }

    #[test]
    fn formats_like_java() {
        let f = |p: &str, z: &str| format_with_pattern(MAY_2018, p, Some(z)).unwrap();
        assert_eq!(f("yyyy-MM-dd'T'HH:mm:ssX", "UTC"), "2018-05-11T21:58:33Z");
        assert_eq!(f("HH:mmX", "+05:30"), "03:28+0530");
        assert_eq!(f("HH:mmx", "UTC"), "21:58+00");
        assert_eq!(f("HH:mmZ", "America/New_York"), "17:58-0400");
        assert_eq!(f("HH:mm O", "America/New_York"), "17:58 GMT-4");
        assert_eq!(f("zzzz", "America/Los_Angeles"), "Pacific Daylight Time");
        assert_eq!(f("z", "+02:00"), "+02:00");
        assert_eq!(f("VV", "Europe/Paris"), "Europe/Paris");
        assert_eq!(f("D DDD w W e E EEEEE", "UTC"), "131 131 19 2 6 Fri F");
        assert_eq!(f("Q QQQ QQQQ", "UTC"), "2 Q2 2nd quarter");
        assert_eq!(f("yy MMMMM G GGGG", "UTC"), "18 M AD Anno Domini");
        assert_eq!(f("h:mm a, K k", "UTC"), "9:58 PM, 9 21");
        assert_eq!(f("ppH|SSSSSS|n", "UTC"), "21|000000|0");
        assert_eq!(f("[yyyy][ zzz]", "UTC"), "2018 UTC");
        assert_eq!(
            format_with_pattern(-62_167_219_200_000, "yyyy G uuuu", None).unwrap(),
            "0001 BC 0000"
        );
    }

    #[test]
    fn parses_like_java() {
        let p = |t: &str, pat: &str| parse_with_pattern(t, pat, None);
        // Defaults: 1970-01-01 and midnight.
        assert_eq!(p("12:00", "HH:mm").unwrap(), 12 * 3_600_000);
        assert_eq!(p("1971", "yyyy").unwrap(), 365 * MS_PER_DAY);
        assert_eq!(p("02", "MM").unwrap(), 31 * MS_PER_DAY);
        // Days past the month's end are clamped.
        assert_eq!(
            p("2021-02-30", "yyyy-MM-dd").unwrap(),
            p("2021-02-28", "yyyy-MM-dd").unwrap()
        );
        assert!(p("2021-02-32", "yyyy-MM-dd")
            .unwrap_err()
            .to_string()
            .contains("DayOfMonth"));
        assert!(p("2021-13-01", "yyyy-MM-dd").is_err());
        // Day of year, with the year when it is a leap day.
        assert_eq!(
            p("2020-366", "yyyy-DDD").unwrap(),
            p("2020-12-31", "yyyy-MM-dd").unwrap()
        );
        assert!(p("366", "DDD").is_err());
        // A day name must agree with the date.
        assert!(p("Mon 2018-05-11", "EEE yyyy-MM-dd").is_err());
        assert!(p("Fri 2018-05-11", "EEE yyyy-MM-dd").is_ok());
        // Two-digit years are 2000-2099.
        assert_eq!(p("99", "yy").unwrap(), p("2099", "yyyy").unwrap());
        // Variable-width fields leave room for the fixed ones that follow.
        assert_eq!(
            p("2018051121", "yyyyMMddHH").unwrap(),
            p("2018-05-11 21", "yyyy-MM-dd HH").unwrap()
        );
        assert_eq!(
            p("5/1/2018", "M/d/yyyy").unwrap(),
            p("2018-05-01", "yyyy-MM-dd").unwrap()
        );
        // Optional sections.
        assert_eq!(
            p("2018-05-11", "yyyy-MM-dd[ HH:mm]").unwrap(),
            p("2018-05-11 00:00", "yyyy-MM-dd HH:mm").unwrap()
        );
        // Zones in the text win over the default.
        let in_la = parse_with_pattern(
            "2018-05-11 14:58:33",
            "yyyy-MM-dd HH:mm:ss",
            Some("America/Los_Angeles"),
        );
        assert_eq!(in_la.unwrap(), MAY_2018);
        let named = p(
            "2018-05-11 14:58:33 America/Los_Angeles",
            "yyyy-MM-dd HH:mm:ss VV",
        );
        assert_eq!(named.unwrap(), MAY_2018);
        let long = p(
            "2018-05-11 14:58:33 Pacific Daylight Time",
            "yyyy-MM-dd HH:mm:ss zzzz",
        );
        assert_eq!(long.unwrap(), MAY_2018);
        let gmt = p("2018-05-11 23:58:33 GMT+02:00", "yyyy-MM-dd HH:mm:ss z");
        assert_eq!(gmt.unwrap(), MAY_2018);
        // A missing colon where the pattern wants one fails.
        assert!(p("2018-05-11 21:58:33 +0000", "yyyy-MM-dd HH:mm:ss XXX").is_err());
        // Daylight-saving gap: 02:30 does not exist on 2021-03-14 in LA, so it
        // moves forward an hour (to 03:30 PDT = 10:30 UTC).
        let gap = parse_with_pattern(
            "2021-03-14 02:30",
            "yyyy-MM-dd HH:mm",
            Some("America/Los_Angeles"),
        );
        assert_eq!(
            gap.unwrap(),
            p("2021-03-14 10:30", "yyyy-MM-dd HH:mm").unwrap()
        );
        // Overlap: 01:30 on 2021-11-07 happens twice; the earlier (PDT) wins.
        let overlap = parse_with_pattern(
            "2021-11-07 01:30",
            "yyyy-MM-dd HH:mm",
            Some("America/Los_Angeles"),
        );
        assert_eq!(
            overlap.unwrap(),
            p("2021-11-07 08:30", "yyyy-MM-dd HH:mm").unwrap()
        );
    }

    #[test]
    fn zone_ids() {
        assert_eq!(Zone::parse("UTC"), Some(Zone::Region(Tz::UTC)));
        assert_eq!(Zone::parse("Z"), Some(Zone::Fixed(0)));
        assert_eq!(Zone::parse("+05:00"), Some(Zone::Fixed(18_000)));
        assert_eq!(Zone::parse("-0830"), Some(Zone::Fixed(-30_600)));
        assert_eq!(Zone::parse("+5"), Some(Zone::Fixed(18_000)));
        assert_eq!(Zone::parse("GMT+1"), Some(Zone::Fixed(3_600)));
        assert_eq!(
            Zone::parse("PDT"),
            Some(Zone::Region(Tz::America__Los_Angeles))
        );
        assert_eq!(
            Zone::parse("europe/london"),
            Some(Zone::Region(Tz::Europe__London))
        );
        assert_eq!(Zone::parse("+19:00"), None);
        assert_eq!(Zone::parse("Nowhere/Special"), None);
    }
}
