//! RQTT: the rows of pull and push queries, compared with the `responses`
//! a case expects from ksqlDB's REST API (header schema and rows).

use crate::case::{Case, Response};
use crate::compare::{compare_rows, value_to_json};
use crate::post::parse_schema;
use serde_json::Value as Json;
use sluice_engine::{Engine, PushQuery, ResultColumn, RowSet};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long one poll of a push query waits for rows.
const POLL: Duration = Duration::from_millis(50);
/// How long a push query is read at most.
const PUSH_BUDGET: Duration = Duration::from_secs(3);
/// Empty polls in a row after which a push query is taken to be idle.
const IDLE_POLLS: u32 = 3;

/// What a query statement returned.
pub struct QueryOutput {
    /// The result's columns, when the engine reports them.
    columns: Option<Vec<ResultColumn>>,
    /// The rows read so far, as REST JSON.
    rows: Vec<Vec<Json>>,
    /// The push query still being read.
    handle: Option<PushQuery>,
    /// Whether this is a push query (compared in order).
    is_push: bool,
    /// Whether the push query said it finished (its LIMIT was reached).
    ended: bool,
}

impl QueryOutput {
    /// The complete result of a pull query.
    pub fn pull(rows: RowSet) -> Self {
        QueryOutput {
            columns: Some(rows.columns),
            rows: rows
                .rows
                .iter()
                .map(|r| r.iter().map(value_to_json).collect())
                .collect(),
            handle: None,
            is_push: false,
            ended: true,
        }
    }

    /// A push query whose rows are read by [`QueryOutput::collect`].
    pub fn push(handle: PushQuery) -> Self {
        QueryOutput {
            columns: Some(handle.columns()),
            rows: Vec::new(),
            handle: Some(handle),
            is_push: true,
            ended: false,
        }
    }

    /// Reads a push query's rows, driving the engine, until it ends, it has
    /// `expected` rows and nothing more arrives, or it stays idle.
    pub fn collect(&mut self, engine: &Engine, expected: Option<usize>) -> Result<(), String> {
        let Some(handle) = self.handle.as_mut() else {
            return Ok(());
        };
        let deadline = Instant::now() + PUSH_BUDGET;
        let mut empty = 0;
        loop {
            engine
                .run_until_idle()
                .map_err(|e| format!("running the push query: {e}"))?;
            match handle.next_rows(POLL) {
                Ok(None) => {
                    self.ended = true;
                    break;
                }
                Ok(Some(rows)) if rows.is_empty() => empty += 1,
                Ok(Some(rows)) => {
                    empty = 0;
                    self.rows
                        .extend(rows.iter().map(|r| r.iter().map(value_to_json).collect()));
                }
                Err(e) => return Err(format!("reading the push query: {e}")),
            }
            let enough = expected.is_some_and(|n| self.rows.len() >= n);
            if (enough && empty >= 1) || empty >= IDLE_POLLS || Instant::now() > deadline {
                break;
            }
        }
        self.handle = None;
        Ok(())
    }
}

/// The number of rows each query statement is expected to return.
pub fn expected_row_counts(case: &Case) -> HashMap<usize, usize> {
    let mut counts = HashMap::new();
    for (i, r) in case.responses.iter().flatten().enumerate() {
        if let Response::Query(q) = r {
            counts.insert(i, q.rows.len());
        }
    }
    counts
}

/// Compares each statement's expected response with what it returned.
pub fn check_responses(
    responses: &[Response],
    results: &[Option<QueryOutput>],
) -> Result<(), String> {
    for (i, response) in responses.iter().enumerate() {
        let Response::Query(expected) = response else {
            continue;
        };
        let at = format!("statement #{}", i + 1);
        let Some(Some(actual)) = results.get(i) else {
            return Err(format!(
                "{at}: expected query rows, the statement returned none"
            ));
        };
        if let (Some(schema), Some(columns)) = (&expected.schema, &actual.columns) {
            check_header(schema, columns).map_err(|e| format!("{at}: {e}"))?;
        }
        if let Some(why) = compare_rows(&expected.rows, &actual.rows, actual.is_push) {
            return Err(format!("{at}: {why}"));
        }
        let limit_reached = expected
            .final_message
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case("Limit Reached"));
        if actual.is_push && limit_reached && !actual.ended {
            return Err(format!("{at}: the push query did not end at its LIMIT"));
        }
    }
    Ok(())
}

/// Compares a header schema such as `` `ID` STRING KEY, `N` BIGINT `` with
/// the result's columns: their names and types.
fn check_header(schema: &str, columns: &[ResultColumn]) -> Result<(), String> {
    let expected =
        parse_schema(schema).map_err(|e| format!("cannot parse header {schema}: {e}"))?;
    let rendered = || {
        columns
            .iter()
            .map(|c| format!("`{}` {}", c.name, c.ty))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let names_match = expected.columns.len() == columns.len()
        && expected
            .columns
            .iter()
            .zip(columns)
            .all(|(e, c)| e.name == c.name);
    let types_match = || {
        expected
            .columns
            .iter()
            .zip(columns)
            .all(|(e, c)| e.ty == c.ty)
    };
    if names_match && types_match() {
        Ok(())
    } else {
        Err(format!("header is `{}`, expected `{schema}`", rendered()))
    }
}
