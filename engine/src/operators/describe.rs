//! How operators describe themselves in plans: parameters as `label:
//! value` fields joined by ` | `, durations as SQL writes them, join kinds
//! as ksqlDB names them.

use crate::sql::ast::JoinKind;
use std::fmt::Display;

/// One line of `label: value` fields, joined by ` | `.
pub fn fields(parts: &[(&str, String)]) -> String {
    parts
        .iter()
        .map(|(label, value)| format!("{label}: {value}"))
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Items joined by `, `.
pub fn list<T: Display>(items: &[T]) -> String {
    items
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A duration in milliseconds as SQL writes it, in the largest unit that
/// divides it: `10 SECONDS`, `1 DAY`, `1500 MILLISECONDS`.
pub fn duration(ms: i64) -> String {
    const UNITS: [(i64, &str, &str); 5] = [
        (86_400_000, "DAY", "DAYS"),
        (3_600_000, "HOUR", "HOURS"),
        (60_000, "MINUTE", "MINUTES"),
        (1_000, "SECOND", "SECONDS"),
        (1, "MILLISECOND", "MILLISECONDS"),
    ];
    for (unit, one, many) in UNITS {
        if ms != 0 && ms % unit == 0 {
            let n = ms / unit;
            return format!("{n} {}", if n == 1 { one } else { many });
        }
    }
    "0 MILLISECONDS".to_string()
}

/// A join kind as ksqlDB writes it: INNER, LEFT, RIGHT, FULL OUTER.
pub fn join_kind(kind: JoinKind) -> &'static str {
    match kind {
        JoinKind::Inner => "INNER",
        JoinKind::Left => "LEFT",
        JoinKind::Right => "RIGHT",
        JoinKind::Full => "FULL OUTER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_use_the_largest_whole_unit() {
        assert_eq!(duration(10_000), "10 SECONDS");
        assert_eq!(duration(86_400_000), "1 DAY");
        assert_eq!(duration(7_200_000), "2 HOURS");
        assert_eq!(duration(1_500), "1500 MILLISECONDS");
        assert_eq!(duration(0), "0 MILLISECONDS");
    }

    #[test]
    fn fields_are_labelled_and_joined() {
        let line = fields(&[("a", "1".to_string()), ("b", list(&["x", "y"]))]);
        assert_eq!(line, "a: 1 | b: x, y");
    }
}
