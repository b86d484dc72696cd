//! The cache of planned key lookups: pull queries over a table's
//! materialized view whose only condition is `key = literal`, kept by
//! their statement's shape (the text with the key's literal taken out) and
//! session properties, so a repeated lookup of any key skips parsing and
//! planning. Every statement that changes the catalog invalidates it.

use super::{EngineInner, SessionState};
use crate::catalog::Source;
use crate::error::{Pos, Result};
use crate::operators::{Context, Operator};
use crate::plan::planner::plan_query;
use crate::results::{ResultColumn, RowSet, StatementResult};
use crate::runtime::view::TableView;
use crate::sql::ast::{BinaryOp, Expr, Literal, Query, SourceKind};
use crate::sql::lexer::{tokenize, TokenKind};
use crate::types::{SqlType, Value};
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// How many statement shapes (with their properties) are kept; past it
/// the cache starts over.
const CAPACITY: usize = 1024;

/// Planned key lookups by statement shape.
#[derive(Default)]
pub(crate) struct PullCache {
    /// Bumped by every statement that changes the catalog: an entry
    /// planned under another version is stale.
    version: AtomicU64,
    entries: Mutex<HashMap<String, Vec<Arc<Prepared>>>>,
}

/// A statement's shape and the literal taken out of it.
pub(crate) struct Shape {
    text: String,
    literal: LiteralToken,
}

/// The one literal of a cacheable statement, as lexed.
enum LiteralToken {
    String(String),
    Number(String),
}

/// One planned lookup: the view, the key's type and the operators after
/// the lookup (stateless, so every lookup may reuse them).
struct Prepared {
    version: u64,
    properties: BTreeMap<String, String>,
    source: String,
    view: Arc<TableView>,
    key_type: SqlType,
    columns: Vec<ResultColumn>,
    operators: Mutex<Vec<Box<dyn Operator>>>,
}

impl PullCache {
    /// Forgets every entry (the catalog changed).
    pub(crate) fn invalidate(&self) {
        self.version.fetch_add(1, Ordering::AcqRel);
        self.entries.lock().clear();
    }

    fn find(&self, shape: &Shape, session: &SessionState) -> Option<Arc<Prepared>> {
        let version = self.version.load(Ordering::Acquire);
        self.entries
            .lock()
            .get(&shape.text)?
            .iter()
            .find(|p| p.version == version && p.properties == session.properties)
            .cloned()
    }

    fn insert(&self, shape: &Shape, prepared: Arc<Prepared>) {
        let mut entries = self.entries.lock();
        if prepared.version != self.version.load(Ordering::Acquire) {
            return;
        }
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries
            .entry(shape.text.clone())
            .or_default()
            .push(prepared);
    }
}

/// The shape of `text` when it is one statement with exactly one string
/// or number literal (a key lookup's key), or None.
pub(crate) fn shape(text: &str) -> Option<Shape> {
    let tokens = tokenize(text, Pos::default()).ok()?;
    let mut out = String::with_capacity(text.len());
    let mut literal = None;
    let mut ended = false;
    for t in &tokens {
        if ended && !matches!(t.kind, TokenKind::Eof) {
            return None;
        }
        match &t.kind {
            TokenKind::Ident { value, quoted } => {
                out.push_str(if *quoted { "\u{1}\"" } else { "\u{1}" });
                out.push_str(value);
            }
            TokenKind::Symbol(";") => ended = true,
            TokenKind::Symbol(s) => {
                out.push('\u{2}');
                out.push_str(s);
            }
            TokenKind::String(s) if literal.is_none() => {
                out.push_str("\u{3}s");
                literal = Some(LiteralToken::String(s.clone()));
            }
            TokenKind::Number(n) if literal.is_none() => {
                out.push_str("\u{3}n");
                literal = Some(LiteralToken::Number(n.clone()));
            }
            TokenKind::String(_) | TokenKind::Number(_) => return None,
            TokenKind::Eof => {}
        }
    }
    Some(Shape {
        text: out,
        literal: literal?,
    })
}

/// The literal as a key of type `ty`, as a key lookup reads it, or None
/// when it is not one (the statement then runs the long way).
fn key_value(literal: &LiteralToken, ty: &SqlType) -> Option<Value> {
    match (literal, ty) {
        (LiteralToken::String(s), SqlType::String) => Some(Value::String(s.clone())),
        (LiteralToken::Number(n), SqlType::Int | SqlType::BigInt)
            if n.bytes().all(|b| b.is_ascii_digit()) =>
        {
            let i = n.parse::<i64>().ok()?;
            match ty {
                SqlType::Int => i32::try_from(i).ok().map(Value::Int),
                _ => Some(Value::BigInt(i)),
            }
        }
        _ => None,
    }
}

impl EngineInner {
    /// Answers `text`, one statement, from the cache when it is a key
    /// lookup planned before; None otherwise (nothing was run).
    pub(crate) fn pull_if_cached(
        &self,
        session: &SessionState,
        text: &str,
    ) -> Option<Result<StatementResult>> {
        if text.contains("${") {
            return None;
        }
        self.cached_pull(session, &shape(text)?)
    }

    /// Answers `text` from the cache when its shape was planned under the
    /// current catalog with the session's properties.
    pub(super) fn cached_pull(
        &self,
        session: &SessionState,
        shape: &Shape,
    ) -> Option<Result<StatementResult>> {
        let prepared = self.pull_cache.find(shape, session)?;
        let key = key_value(&shape.literal, &prepared.key_type)?;
        Some(self.answer(&prepared, &key))
    }

    /// Plans `q` (whose text has `shape`) for the cache when it is a key
    /// lookup in a table's view, and answers it; None when it is not one
    /// (the caller runs it as any statement).
    pub(super) fn prepare_pull(
        &self,
        session: &SessionState,
        q: &Query,
        shape: &Shape,
    ) -> Option<Result<StatementResult>> {
        if q.emit.is_some()
            || !q.joins.is_empty()
            || !q.order_by.is_empty()
            || q.limit.is_some()
            || q.window.is_some()
            || !q.group_by.is_empty()
            || !q.partition_by.is_empty()
            || q.having.is_some()
        {
            return None;
        }
        let version = self.pull_cache.version.load(Ordering::Acquire);
        let source = {
            let st = self.state.lock();
            st.catalog.find_source(&q.from.name)?.clone()
        };
        if source.kind != SourceKind::Table || (source.created_by.is_none() && !source.is_source) {
            return None;
        }
        let key_column = only_key(&source)?;
        // The condition is `key = literal` alone, and the literal the shape
        // took out reads as the same key.
        let Some(Expr::Binary {
            op: BinaryOp::Eq,
            left,
            right,
        }) = &q.where_clause
        else {
            return None;
        };
        let lit = match (left.as_ref(), right.as_ref()) {
            (Expr::Column { name, .. }, Expr::Literal(l))
            | (Expr::Literal(l), Expr::Column { name, .. })
                if *name == key_column.0 =>
            {
                l
            }
            _ => return None,
        };
        let parsed = match (lit, &key_column.1) {
            (Literal::String(s), SqlType::String) => Value::String(s.clone()),
            (Literal::Integer(i), SqlType::Int) => Value::Int(i32::try_from(*i).ok()?),
            (Literal::Integer(i), SqlType::BigInt) => Value::BigInt(*i),
            _ => return None,
        };
        if key_value(&shape.literal, &key_column.1).as_ref() != Some(&parsed) {
            return None;
        }
        let options = self.plan_options(session, None, true, None);
        // The whole statement plans (its condition is valid); the lookup
        // runs the plan without the condition, which the view's lookup of
        // the key does.
        {
            let catalog = &self.state.lock().catalog;
            if let Err(e) = plan_query(q, catalog, &options) {
                return Some(Err(e));
            }
        }
        let mut unconditioned = q.clone();
        unconditioned.where_clause = None;
        let plan = {
            let catalog = &self.state.lock().catalog;
            plan_query(&unconditioned, catalog, &options).ok()?
        };
        let [input] = plan.inputs.as_slice() else {
            return None;
        };
        // The view is the table read (its Materialize step) already.
        if plan.join.is_some()
            || input.operators.iter().any(|op| op.name() != "Materialize")
            || input.repartition.is_some()
            || input.rekeyed.is_some()
            || plan.operators.iter().any(|op| op.keeps_state())
        {
            return None;
        }
        let view = match self.view_of(&source) {
            Ok(view) => view,
            Err(e) => return Some(Err(e)),
        };
        let prepared = Arc::new(Prepared {
            version,
            properties: session.properties.clone(),
            source: plan.source.name.clone(),
            view,
            key_type: key_column.1,
            columns: super::query::result_columns(&plan.schema),
            operators: Mutex::new(plan.operators),
        });
        self.pull_cache.insert(shape, prepared.clone());
        Some(self.answer(&prepared, &parsed))
    }

    /// Looks `key` up in the prepared view and runs the rows through the
    /// plan's operators.
    fn answer(&self, prepared: &Prepared, key: &Value) -> Result<StatementResult> {
        prepared.view.catch_up(self.log.as_ref())?;
        let mut rows = prepared.view.lookup(key);
        if !rows.is_empty() {
            let mut ctx = Context::default();
            let mut operators = prepared.operators.lock();
            for op in operators.iter_mut() {
                rows = op.process(rows, &mut ctx)?;
                if rows.is_empty() {
                    break;
                }
            }
        }
        Ok(StatementResult::Rows(RowSet {
            query_id: super::query::transient_query_id(&prepared.source),
            columns: prepared.columns.clone(),
            rows: rows
                .into_iter()
                .filter(|r| !r.tombstone)
                .map(|r| r.values)
                .collect(),
            over_stream: false,
            limit_reached: false,
        }))
    }
}

/// The name and type of a table's one key column.
fn only_key(source: &Source) -> Option<(String, SqlType)> {
    let mut keys = source.schema.keys();
    let key = keys.next()?;
    if keys.next().is_some() {
        return None;
    }
    Some((key.name.clone(), key.ty.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn literal(text: &str) -> Option<String> {
        shape(text).map(|s| match s.literal {
            LiteralToken::String(v) => format!("s:{v}"),
            LiteralToken::Number(v) => format!("n:{v}"),
        })
    }

    #[test]
    fn a_shape_takes_out_the_one_literal() {
        let a = shape("SELECT * FROM t WHERE k = 'a';").map(|s| s.text);
        let b = shape("select *   from T where K='b'").map(|s| s.text);
        assert!(a.is_some());
        // Case of keywords and names, spacing and the final `;` do not count.
        assert_eq!(a, b);
        assert_eq!(
            literal("SELECT * FROM t WHERE k = 'it''s';").as_deref(),
            Some("s:it's")
        );
        assert_eq!(
            literal("SELECT * FROM t WHERE k = 42;").as_deref(),
            Some("n:42")
        );
        // A string and a number are different shapes; so is a quoted name.
        assert_ne!(a, shape("SELECT * FROM t WHERE k = 1;").map(|s| s.text));
        assert_ne!(
            a,
            shape("SELECT * FROM \"t\" WHERE k = 'a';").map(|s| s.text)
        );
        // A negative number keeps its sign in the shape, not the literal.
        assert_ne!(
            shape("SELECT * FROM t WHERE k = -1;").map(|s| s.text),
            shape("SELECT * FROM t WHERE k = 1;").map(|s| s.text)
        );
    }

    #[test]
    fn only_one_statement_with_one_literal_has_a_shape() {
        for text in [
            "SELECT * FROM t;",
            "SELECT * FROM t WHERE k = 'a' AND v = 'b';",
            "SELECT * FROM t WHERE k = 'a' LIMIT 1;",
            "SELECT * FROM t WHERE k = 'a'; SELECT * FROM t WHERE k = 'b';",
            "SELECT * FROM t WHERE k = 'unterminated",
        ] {
            assert!(shape(text).is_none(), "{text}");
        }
    }

    #[test]
    fn a_literal_reads_as_a_key_of_its_type_only() {
        let s = |v: &str| LiteralToken::String(v.to_string());
        let n = |v: &str| LiteralToken::Number(v.to_string());
        assert_eq!(
            key_value(&s("a"), &SqlType::String),
            Some(Value::String("a".into()))
        );
        assert_eq!(key_value(&n("7"), &SqlType::Int), Some(Value::Int(7)));
        assert_eq!(key_value(&n("7"), &SqlType::BigInt), Some(Value::BigInt(7)));
        assert_eq!(key_value(&n("3000000000"), &SqlType::Int), None);
        assert_eq!(key_value(&n("1.5"), &SqlType::BigInt), None);
        assert_eq!(key_value(&n("1e3"), &SqlType::BigInt), None);
        assert_eq!(key_value(&s("7"), &SqlType::Int), None);
        assert_eq!(key_value(&n("7"), &SqlType::String), None);
    }
}
