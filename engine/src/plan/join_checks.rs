//! The checks a join must pass before it is planned, with ksqlDB's
//! messages: no KAFKA value formats, windowed sources only with alike
//! windowed sources, supported join orders and kinds, WITHIN exactly for
//! stream-stream joins; windowed sides joined on their keys, keys of one
//! type.

use crate::catalog::Source;
use crate::error::{Error, Result};
use crate::expr::Compiled;
use crate::sql::ast::{Expr, Join, JoinKind, SourceKind};

/// The join kind as ksqlDB's messages name it.
pub fn kind_name(k: JoinKind) -> &'static str {
    match k {
        JoinKind::Inner => "inner",
        JoinKind::Left => "left",
        JoinKind::Right => "right",
        JoinKind::Full => "full-outer",
    }
}

/// The left side of a join as messages name it: `STREAM [A]`, or after
/// earlier joins `STREAM [A, B]`.
pub fn describe_left(source: Option<&Source>, kind: SourceKind, names: &[String]) -> String {
    match source {
        Some(s) => format!("{} [{}]", s.kind_name(), s.name),
        None => format!(
            "{} [{}]",
            if kind == SourceKind::Table {
                "TABLE"
            } else {
                "STREAM"
            },
            names.join(", ")
        ),
    }
}

/// A side as messages name it: `TABLE [B]`.
pub fn describe(s: &Source) -> String {
    format!("{} [{}]", s.kind_name(), s.name)
}

/// The left side of a join, as the checks see it.
pub struct LeftView<'a> {
    /// The base source, when nothing was joined yet.
    pub source: Option<&'a Source>,
    /// A stream, or a table.
    pub kind: SourceKind,
    /// Names of the sources joined so far.
    pub names: &'a [String],
}

/// Rejects joins ksqlDB does not support between `left` and `right`.
pub fn check_join(join: &Join, left: &LeftView<'_>, right: &Source) -> Result<()> {
    let describe_left = describe_left(left.source, left.kind, left.names);
    let mut kafka: Vec<&str> = Vec::new();
    if let Some(s) = left.source {
        if s.value_format.kind == crate::formats::FormatKind::Kafka {
            kafka.push(&s.name);
        }
    }
    if right.value_format.kind == crate::formats::FormatKind::Kafka {
        kafka.push(&right.name);
    }
    if !kafka.is_empty() {
        return Err(Error::plan(format!(
            "Source(s) {} are using the 'KAFKA' value format. This format does not yet support JOIN.",
            kafka.join(", ")
        )));
    }
    let left_window = left.source.and_then(|s| s.window);
    match (left_window, right.window) {
        (Some(a), Some(b)) if (a == crate::catalog::WindowInfo::Session) != (b == crate::catalog::WindowInfo::Session) => {
            return Err(Error::plan(format!(
                "Incompatible windowed sources. Left source: {} Right source: {} Session windowed sources can only be joined to other session windowed sources, and may still not result in expected behaviour as session bounds must be an exact match for a join to work",
                a.type_name(),
                b.type_name()
            )))
        }
        (Some(w), None) => {
            return Err(Error::plan(format!(
                "Can not join windowed source to non-windowed source. `{}` is {} windowed `{}` is not windowed",
                left.names[0],
                w.type_name(),
                right.name
            )))
        }
        (None, Some(w)) => {
            return Err(Error::plan(format!(
                "Can not join windowed source to non-windowed source. `{}` is {} windowed `{}` is not windowed",
                right.name,
                w.type_name(),
                left.names[0]
            )))
        }
        _ => {}
    }
    match (left.kind, right.kind) {
        (SourceKind::Table, SourceKind::Stream) => {
            return Err(Error::plan(format!(
                "Invalid join order: table-stream joins are not supported; only stream-table joins. Got {} {} JOIN {}.",
                describe_left,
                kind_name(join.kind).to_ascii_uppercase(),
                describe(right)
            )))
        }
        (SourceKind::Stream, SourceKind::Table) if matches!(join.kind, JoinKind::Right | JoinKind::Full) => {
            return Err(Error::plan(format!(
                "Invalid join type: {} join not supported for stream-table join. Got {} {} JOIN {}.",
                kind_name(join.kind),
                describe_left,
                if join.kind == JoinKind::Full { "FULL OUTER" } else { "RIGHT" },
                describe(right)
            )))
        }
        (SourceKind::Stream, SourceKind::Stream) if join.within.is_none() => {
            return Err(Error::plan(
                "Stream-Stream joins must have a WITHIN clause specified. None was provided. To learn about how to specify a WITHIN clause with a stream-stream join, please visit: https://docs.confluent.io/current/ksql/docs/syntax-reference.html#create-stream-as-select",
            ))
        }
        (_, SourceKind::Table) | (SourceKind::Table, _) if join.within.is_some() => {
            return Err(Error::plan(
                "A window definition was provided for a Stream-Table join. These joins are not windowed. Please drop the window definition (i.e. the WITHIN clause) and try to execute your join again.",
            ))
        }
        _ => {}
    }
    Ok(())
}

/// Rejects join keys ksqlDB does not support: a windowed side joined on
/// something other than its key, keys of different types.
pub fn check_keys(
    left: Option<&Source>,
    right: &Source,
    (lk, lk_expr): (&Compiled, &Expr),
    (rk, rk_expr): (&Compiled, &Expr),
) -> Result<()> {
    if let Some(s) = left {
        if s.window.is_some()
            && lk.as_column().map(|i| s.schema.key_indexes() == vec![i]) != Some(true)
        {
            return Err(Error::plan(
                "Implicit repartitioning of windowed sources is not supported. See https://github.com/confluentinc/ksql/issues/4385.",
            ));
        }
    }
    if right.window.is_some()
        && rk
            .as_column()
            .map(|i| right.schema.key_indexes() == vec![i])
            != Some(true)
    {
        return Err(Error::plan(
            "Implicit repartitioning of windowed sources is not supported. See https://github.com/confluentinc/ksql/issues/4385.",
        ));
    }
    if lk.ty != rk.ty {
        return Err(Error::plan(format!(
            "Invalid join condition: types don't match. Got {}{{{}}} = {}{{{}}}.",
            lk_expr, lk.ty, rk_expr, rk.ty
        )));
    }
    Ok(())
}
