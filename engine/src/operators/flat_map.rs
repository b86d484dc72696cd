//! Table functions (EXPLODE, CUBE_EXPLODE): each input row becomes as many
//! rows as the longest generated list, the generated values appended as
//! extra columns.

use crate::error::Result;
use crate::expr::Compiled;
use crate::operators::{Context, Operator, Row};
use crate::types::Value;

/// One table function call in the SELECT list.
#[derive(Clone)]
pub enum TableFunction {
    /// EXPLODE(array): one row per element.
    Explode(Compiled),
    /// CUBE_EXPLODE(array): one row per combination of each element or NULL.
    CubeExplode(Compiled),
}

impl std::fmt::Display for TableFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TableFunction::Explode(e) => write!(f, "EXPLODE({e})"),
            TableFunction::CubeExplode(e) => write!(f, "CUBE_EXPLODE({e})"),
        }
    }
}

impl TableFunction {
    fn generate(&self, row: &Row) -> Result<Vec<Value>> {
        match self {
            TableFunction::Explode(e) => Ok(match e.eval(&row.values)? {
                Value::Array(items) => items,
                _ => Vec::new(),
            }),
            TableFunction::CubeExplode(e) => Ok(match e.eval(&row.values)? {
                Value::Array(items) => cube(&items),
                _ => Vec::new(),
            }),
        }
    }
}

/// Every combination of keeping or nulling each element, in ksqlDB's order:
/// counting up from all-null, the first element as the highest bit.
fn cube(items: &[Value]) -> Vec<Value> {
    let n = items.len().min(20);
    let total = 1usize << n;
    let mut out = Vec::with_capacity(total);
    for mask in 0..total {
        let combo: Vec<Value> = (0..n)
            .map(|i| {
                if mask & (1 << (n - 1 - i)) != 0 {
                    items[i].clone()
                } else {
                    Value::Null
                }
            })
            .collect();
        // Skip duplicate combinations that differ only in which equal
        // elements were nulled.
        if !out
            .iter()
            .any(|c: &Value| matches!(c, Value::Array(a) if a == &combo))
        {
            out.push(Value::Array(combo));
        }
    }
    out
}

/// Appends one column per table function; rows with no generated values
/// produce nothing.
pub struct FlatMapOperator {
    functions: Vec<TableFunction>,
}

impl FlatMapOperator {
    pub fn new(functions: Vec<TableFunction>) -> Self {
        FlatMapOperator { functions }
    }
}

impl Operator for FlatMapOperator {
    fn process(&mut self, rows: Vec<Row>, ctx: &mut Context) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        for row in rows {
            if row.tombstone {
                continue;
            }
            let mut lists = Vec::with_capacity(self.functions.len());
            let mut failed = false;
            for f in &self.functions {
                match f.generate(&row) {
                    Ok(list) => lists.push(list),
                    Err(e) => {
                        ctx.expression_error(format!("Table function failed: {e}"), &row);
                        failed = true;
                        break;
                    }
                }
            }
            if failed {
                continue;
            }
            let n = lists.iter().map(Vec::len).max().unwrap_or(0);
            for i in 0..n {
                let mut values = row.values.clone();
                for list in &lists {
                    values.push(list.get(i).cloned().unwrap_or(Value::Null));
                }
                out.push(Row {
                    values,
                    ts: row.ts,
                    tombstone: false,
                    null_key: row.null_key,
                    headers: row.headers.clone(),
                    window: row.window,
                    old: None,
                });
            }
        }
        Ok(out)
    }

    fn name(&self) -> &'static str {
        "FlatMap"
    }

    fn describe(&self) -> String {
        super::describe::fields(&[("table functions", super::describe::list(&self.functions))])
    }
}
