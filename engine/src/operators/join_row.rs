//! The layout of a joined row, shared by the join operators: the visible
//! columns of each side, the synthesized join key (ROWKEY), then each
//! side's pseudo-columns.

use crate::operators::Row;
use crate::types::Value;

/// How a joined row is assembled from the two sides' rows.
#[derive(Debug, Clone)]
pub struct JoinLayout {
    /// Left side: (visible columns, total columns incl. pseudo-columns).
    pub left: (usize, usize),
    /// Right side: the same.
    pub right: (usize, usize),
    /// Each side's column names (`A.ID`), for plans; empty when unknown.
    pub names: [Vec<String>; 2],
}

impl JoinLayout {
    /// The name of column `i` of `side` (0: left, 1: right), for plans:
    /// its name, or `#i` when the layout has none.
    pub fn column_name(&self, side: usize, i: usize) -> String {
        self.names[side]
            .get(i)
            .cloned()
            .unwrap_or_else(|| format!("#{i}"))
    }

    /// The joined values; a missing side is all NULL.
    pub fn join(&self, left: Option<&[Value]>, right: Option<&[Value]>, key: &Value) -> Vec<Value> {
        let mut out = Vec::with_capacity(self.left.1 + self.right.1 + 1);
        let side = |out: &mut Vec<Value>, v: Option<&[Value]>, from: usize, to: usize| {
            for i in from..to {
                out.push(v.and_then(|v| v.get(i).cloned()).unwrap_or(Value::Null));
            }
        };
        side(&mut out, left, 0, self.left.0);
        side(&mut out, right, 0, self.right.0);
        out.push(key.clone());
        side(&mut out, left, self.left.0, self.left.1);
        side(&mut out, right, self.right.0, self.right.1);
        out
    }

    /// A joined result row.
    pub fn row(
        &self,
        left: Option<&[Value]>,
        right: Option<&[Value]>,
        key: &Value,
        ts: i64,
    ) -> Row {
        Row {
            values: self.join(left, right, key),
            ts,
            ..Row::default()
        }
    }

    /// The position of ROWKEY in a joined row.
    pub fn rowkey(&self) -> usize {
        self.left.0 + self.right.0
    }
}

/// A canonical byte form of a join key value, for hashing.
pub fn join_key_bytes(v: &Value) -> Vec<u8> {
    // Numbers of different integral types must meet: normalize them.
    let v = match v {
        Value::Int(i) => Value::BigInt(*i as i64),
        other => other.clone(),
    };
    let mut out = String::new();
    crate::formats::json::write_json(&mut out, &v);
    out.into_bytes()
}
