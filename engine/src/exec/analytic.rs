//! Routing SELECTs to the installed analytic engine: which queries are
//! ksqlDB's own pull-query forms (answered here, with ksqlDB's semantics
//! and errors) and which go to [`AnalyticSql`], and the snapshots of
//! streams and tables it reads.

use super::{EngineInner, SessionState};
use crate::analytic::{AnalyticSql, SnapshotReader, SourceSnapshot, PARSE_ERROR};
use crate::error::{Error, Pos, Result};
use crate::plan::contains_aggregate;
use crate::results::{PlanNode, QueryDescription, RowSet, RuntimeStats, StatementResult};
use crate::sql::ast::{Query, SelectItem, SourceKind, Statement};
use crate::sql::parser::parse_statement;
use std::sync::Arc;

/// True when `q` is for the analytic engine: a query without EMIT that is
/// not one of ksqlDB's pull-query forms and uses none of ksqlDB's own
/// streaming clauses (WINDOW, WITHIN, PARTITION BY), whose errors stay
/// ksqlDB's.
pub(super) fn is_analytic(q: &Query) -> bool {
    q.emit.is_none()
        && q.window.is_none()
        && q.partition_by.is_empty()
        && q.joins.iter().all(|j| j.within.is_none())
        && !is_ksql_pull(q)
}

/// True when `q` is one of ksqlDB's pull-query forms: one source, no
/// EMIT, join, window, grouping, aggregate, HAVING or ORDER BY (a key
/// lookup, a range, or a scan with WHERE and LIMIT).
pub(super) fn is_ksql_pull(q: &Query) -> bool {
    q.emit.is_none()
        && q.joins.is_empty()
        && q.window.is_none()
        && q.group_by.is_empty()
        && q.partition_by.is_empty()
        && q.having.is_none()
        && q.order_by.is_empty()
        && !q.select.iter().any(|item| match item {
            SelectItem::Expr { expr, .. } => contains_aggregate(expr),
            SelectItem::Star(_) => false,
        })
}

/// What a statement's text is, judged by its first words, for a text the
/// engine's own parser rejected (standard SQL it does not speak: CTEs,
/// set operations, subqueries, window functions).
enum Shape<'a> {
    Select(&'a str),
    Explain(&'a str),
    Other,
}

fn shape(text: &str) -> Shape<'_> {
    let t = text.trim_start();
    let first: String = t
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_uppercase();
    let analytic = |s: &str| {
        let s = s.trim_start();
        let word: String = s
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect::<String>()
            .to_ascii_uppercase();
        // A push query (EMIT ...) is never analytic.
        let emits = s
            .to_ascii_uppercase()
            .split_whitespace()
            .any(|w| w == "EMIT");
        !emits && (word == "SELECT" || word == "WITH" || s.starts_with('('))
    };
    if t.starts_with('(') || first == "SELECT" || first == "WITH" {
        if analytic(t) {
            return Shape::Select(t);
        }
    } else if first == "EXPLAIN" {
        let rest = &t[first.len()..];
        if analytic(rest) {
            return Shape::Explain(rest.trim_start());
        }
    }
    Shape::Other
}

impl EngineInner {
    /// Installs the engine analytic SELECTs run on.
    pub fn set_analytic(&self, analytic: Arc<dyn AnalyticSql>) {
        *self.analytic.lock() = Some(analytic);
    }

    fn analytic(&self) -> Option<Arc<dyn AnalyticSql>> {
        self.analytic.lock().clone()
    }

    /// Answers a statement the engine's parser rejected with `parse_error`
    /// when it is a SELECT (or EXPLAIN of one) in standard SQL and an
    /// analytic engine is installed; otherwise the parse error. When the
    /// analytic engine cannot parse it either, the engine's own error is
    /// the clearer one.
    pub(super) fn analytic_fallback(
        &self,
        session: &SessionState,
        text: &str,
        parse_error: Error,
    ) -> Result<StatementResult> {
        let Some(analytic) = self.analytic() else {
            return Err(parse_error);
        };
        let reader = Snapshots {
            engine: self,
            session,
        };
        let answer = match shape(text) {
            Shape::Select(sql) => analytic.query(sql, &reader).map(StatementResult::Rows),
            Shape::Explain(sql) => analytic
                .explain(sql, &reader)
                .map(|plan| explained(sql, plan)),
            Shape::Other => return Err(parse_error),
        };
        answer.map_err(|e| {
            if e.to_string().starts_with(PARSE_ERROR) {
                parse_error
            } else {
                e
            }
        })
    }

    /// Runs a parsed query on the analytic engine when it is not one of
    /// ksqlDB's pull forms (or a push query) and one is installed; None
    /// otherwise (run it here).
    pub(super) fn analytic_select(
        &self,
        session: &SessionState,
        q: &Query,
        text: &str,
    ) -> Option<Result<StatementResult>> {
        if !is_analytic(q) {
            return None;
        }
        let analytic = self.analytic()?;
        let reader = Snapshots {
            engine: self,
            session,
        };
        Some(analytic.query(text, &reader).map(StatementResult::Rows))
    }

    /// EXPLAIN of a parsed query the analytic engine answers; None when it
    /// is not one (see [`EngineInner::analytic_select`]).
    pub(super) fn analytic_explain(
        &self,
        session: &SessionState,
        stmt: &Statement,
        text: &str,
    ) -> Option<Result<StatementResult>> {
        let Statement::Query(q) = stmt else {
            return None;
        };
        if !is_analytic(q) {
            return None;
        }
        let analytic = self.analytic()?;
        let Shape::Explain(sql) = shape(text) else {
            return None;
        };
        let reader = Snapshots {
            engine: self,
            session,
        };
        Some(
            analytic
                .explain(sql, &reader)
                .map(|plan| explained(sql, plan)),
        )
    }
}

/// EXPLAIN's answer for an analytic SELECT: the analytic engine's plan.
fn explained(sql: &str, plan: Vec<PlanNode>) -> StatementResult {
    StatementResult::QueryDescription(QueryDescription {
        id: None,
        statement: sql.trim().trim_end_matches(';').to_string() + ";",
        sources: Vec::new(),
        sinks: Vec::new(),
        sink_topics: Vec::new(),
        schema: Default::default(),
        window_type: None,
        state: None,
        error: None,
        statistics: RuntimeStats::default(),
        plan,
    })
}

/// Streams and tables read for an analytic query, through the engine's
/// own pull queries: a table's current rows from its materialized view, a
/// stream's records up to its current end.
struct Snapshots<'a> {
    engine: &'a EngineInner,
    session: &'a SessionState,
}

impl SnapshotReader for Snapshots<'_> {
    fn snapshot(&self, name: &str) -> Result<Option<SourceSnapshot>> {
        let source = {
            let st = self.engine.state.lock();
            match st.catalog.find_source(name) {
                Some(s) => s.clone(),
                None => return Ok(None),
            }
        };
        let quoted = source.name.replace('`', "``");
        let is_stream = source.kind == SourceKind::Stream;
        let sql = if is_stream {
            format!("SELECT *, ROWTIME, ROWPARTITION, ROWOFFSET FROM `{quoted}`;")
        } else {
            format!("SELECT * FROM `{quoted}`;")
        };
        let Statement::Query(q) = parse_statement(&sql, Pos::default())? else {
            return Err(Error::internal(format!("not a query: {sql}")));
        };
        let StatementResult::Rows(RowSet { columns, rows, .. }) =
            self.engine.select(self.session, &q)?
        else {
            return Err(Error::internal(format!("{sql} returned no rows")));
        };
        Ok(Some(SourceSnapshot {
            name: source.name.clone(),
            is_stream,
            columns,
            rows,
        }))
    }
}
