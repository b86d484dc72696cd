//! ksqlDB's aggregate functions (UDAFs). Each is resolved at plan time from
//! its argument types (and its literal parameters, like TOPK's `k`) to an
//! accumulator over a state `Value` of a declared SQL type, so the state can
//! be kept in stores and written to changelogs like any other row.
//!
//! Stream aggregations only `add`; aggregations over tables also `retract`
//! the old value of a changed row; session windows `merge` two states.

use crate::error::{Error, Result};
use crate::types::{SqlType, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

/// Folds one input row's argument values into the state.
pub type AddFn = Arc<dyn Fn(&mut Value, &[Value]) + Send + Sync>;
/// Combines another state into this one.
pub type MergeFn = Arc<dyn Fn(&mut Value, &Value) + Send + Sync>;
/// The state's current result.
pub type ResultFn = Arc<dyn Fn(&Value) -> Value + Send + Sync>;

/// An aggregate resolved for particular argument types.
#[derive(Clone)]
pub struct ResolvedAggregate {
    /// The type of the aggregate's result column.
    pub return_type: SqlType,
    /// The type of the accumulator state (for stores and changelogs).
    pub state_type: SqlType,
    /// The state before any row was added.
    pub initial: Value,
    pub add: AddFn,
    /// Undoes `add` for the same arguments; None when the function cannot
    /// be used on a table (ksqlDB rejects those, e.g. MIN/MAX on tables).
    pub retract: Option<AddFn>,
    /// Merges two states (session windows); None when not mergeable.
    pub merge: Option<MergeFn>,
    pub result: ResultFn,
}

/// Picks an implementation. `args` are the types of the column arguments;
/// `literals` the values of trailing literal parameters (TOPK's k, ...),
/// `None` for arguments that are not literals.
pub type AggregateResolver =
    fn(args: &[SqlType], literals: &[Option<Value>]) -> Result<ResolvedAggregate>;

/// A named aggregate function.
#[derive(Clone)]
pub struct AggregateFunction {
    pub name: &'static str,
    pub description: &'static str,
    pub resolve: AggregateResolver,
}

/// Every aggregate function by upper-case name.
pub struct AggregateRegistry {
    functions: BTreeMap<&'static str, AggregateFunction>,
}

impl AggregateRegistry {
    fn new() -> Self {
        let mut reg = AggregateRegistry {
            functions: BTreeMap::new(),
        };
        register_all(&mut reg);
        reg
    }

    /// The process-wide registry.
    pub fn global() -> &'static AggregateRegistry {
        static REG: OnceLock<AggregateRegistry> = OnceLock::new();
        REG.get_or_init(AggregateRegistry::new)
    }

    pub fn add(
        &mut self,
        name: &'static str,
        description: &'static str,
        resolve: AggregateResolver,
    ) {
        self.functions.insert(
            name,
            AggregateFunction {
                name,
                description,
                resolve,
            },
        );
    }

    pub fn get(&self, name: &str) -> Option<&AggregateFunction> {
        self.functions.get(name.to_ascii_uppercase().as_str())
    }

    pub fn all(&self) -> impl Iterator<Item = &AggregateFunction> {
        self.functions.values()
    }

    /// Resolves `name(args)`, with ksqlDB's error when nothing fits.
    pub fn resolve(
        &self,
        name: &str,
        args: &[SqlType],
        literals: &[Option<Value>],
    ) -> Result<ResolvedAggregate> {
        let f = self.get(name).ok_or_else(|| {
            Error::plan(format!(
                "Can't find any functions with the name '{}'",
                name.to_ascii_uppercase()
            ))
        })?;
        (f.resolve)(args, literals)
    }
}

/// Registers every built-in aggregate.
fn register_all(_reg: &mut AggregateRegistry) {}
