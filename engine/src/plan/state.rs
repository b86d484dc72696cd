//! The state the planning steps advance, one step after the other: the
//! layout of the rows the next step reads (their scope, key columns and
//! visible columns), the SELECT items as rewritten so far, the operators
//! planned so far, and what the steps decided about the query.

use super::join::JoinedInput;
use super::names::NameGenerator;
use super::PlanOptions;
use crate::catalog::{Source, WindowInfo};
use crate::expr::Scope;
use crate::operators::Operator;
use crate::runtime::spec::RepartitionSpec;
use crate::sql::ast::{Expr, Query, SelectItem, SourceKind};
use std::collections::HashSet;

/// A query being planned.
pub struct Planning<'a> {
    /// The query being planned.
    pub query: &'a Query,
    /// How to plan it.
    pub options: &'a PlanOptions,
    /// The first (or only) source, whose formats a sink inherits.
    pub source: Source,
    /// The name the first source's columns are qualified with.
    pub qualifier: String,
    /// The joined inputs, when the query joins.
    pub joined: Option<JoinedInput>,
    /// The input is a table (or a join that produces one).
    pub table_input: bool,
    /// The query aggregates: GROUP BY, WINDOW, HAVING or aggregate calls.
    pub aggregating: bool,
    /// The columns of the rows the next step reads.
    pub scope: Scope,
    /// Columns that are keys in the current layout, by position.
    pub key_positions: Vec<usize>,
    /// How many leading columns `*` shows.
    pub visible: usize,
    /// After a join the key positions are alternatives: each holds the key.
    pub key_alternatives: bool,
    /// After a join: how its key must be selected, and whether it is the
    /// synthesized ROWKEY.
    pub key_hint: Option<(String, bool)>,
    /// The expression behind each key column (PARTITION BY, GROUP BY), so
    /// a SELECT item repeating it (maybe aliased) is recognised as that key.
    pub partition_exprs: Vec<Option<Expr>>,
    /// Column names both sides of a join have: selected qualified, they
    /// are named ALIAS_COLUMN.
    pub ambiguous: HashSet<String>,
    /// Names for unnamed result columns.
    pub names: NameGenerator,
    /// The SELECT items, as the steps rewrite them (table functions and
    /// aggregate calls become references to generated columns).
    pub select: Vec<SelectItem>,
    /// Operators of the input itself (a table's materialization).
    pub input_operators: Vec<Box<dyn Operator>>,
    /// The operators after the inputs (and the join).
    pub operators: Vec<Box<dyn Operator>>,
    /// The internal topic a stream grouped by something other than its
    /// key is re-keyed through, where it is.
    pub group_repartition: Option<String>,
    /// That re-keying, once the aggregation step planned it.
    pub group_repartition_spec: Option<RepartitionSpec>,
    /// Rows meet in the query's state only with rows of the same input
    /// partition.
    pub partition_local: bool,
    /// Whether the result is a stream or a table.
    pub result_kind: SourceKind,
    /// The window of the result's keys.
    pub window_info: Option<WindowInfo>,
    /// State changelog topics the operators write to.
    pub changelogs: Vec<String>,
}

impl Planning<'_> {
    /// The rows are a join's: `*` keeps the sources' column order and
    /// qualified columns are named ALIAS_COLUMN.
    pub fn join_naming(&self) -> bool {
        self.joined.is_some()
    }
}
