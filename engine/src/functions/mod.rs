//! ksqlDB's built-in functions, one family per file. Scalar functions are
//! resolved at plan time from their argument types to a return type and an
//! implementation over evaluated argument values.
//!
//! Lambda-taking functions (TRANSFORM, FILTER, REDUCE) and table functions
//! (EXPLODE, CUBE_EXPLODE) need the evaluator or the operator graph and live
//! with them; they are listed here only so `SHOW FUNCTIONS` knows them.

pub mod aggregate;
mod args;
pub mod bytes;
pub mod collections;
pub mod datetime;
pub mod encoding;
pub mod json;
pub mod math;
pub mod nulls;
pub mod string;
pub mod url;

use crate::error::{Error, Result};
use crate::types::{SqlType, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

/// A scalar function's implementation: evaluated arguments in, value out.
/// An `Err` is a per-record evaluation error (logged, row skipped or the
/// column nulled, as ksqlDB does).
pub type ScalarImpl = Arc<dyn Fn(&[Value]) -> Result<Value> + Send + Sync>;

/// A function resolved for particular argument types.
#[derive(Clone)]
pub struct Resolved {
    pub return_type: SqlType,
    pub eval: ScalarImpl,
}

impl Resolved {
    pub fn new(
        return_type: SqlType,
        eval: impl Fn(&[Value]) -> Result<Value> + Send + Sync + 'static,
    ) -> Self {
        Resolved {
            return_type,
            eval: Arc::new(eval),
        }
    }
}

/// Picks an implementation for the argument types, or explains why none fits.
pub type Resolver = fn(&[SqlType]) -> Result<Resolved>;

/// A named scalar function.
#[derive(Clone)]
pub struct ScalarFunction {
    /// Upper-case name, as `SHOW FUNCTIONS` lists it.
    pub name: &'static str,
    /// The family (STRING, MATH, DATE / TIME, ...) shown by SHOW FUNCTIONS.
    pub category: &'static str,
    /// One line for DESCRIBE FUNCTION.
    pub description: &'static str,
    pub resolve: Resolver,
}

/// Every scalar function by upper-case name.
pub struct FunctionRegistry {
    functions: BTreeMap<&'static str, ScalarFunction>,
}

impl FunctionRegistry {
    fn new() -> Self {
        let mut reg = FunctionRegistry {
            functions: BTreeMap::new(),
        };
        string::register(&mut reg);
        math::register(&mut reg);
        collections::register(&mut reg);
        json::register(&mut reg);
        datetime::register(&mut reg);
        url::register(&mut reg);
        bytes::register(&mut reg);
        nulls::register(&mut reg);
        reg.add(
            "AS_VALUE",
            "OTHER",
            "Copies a value as it is; used to copy a key column into the value.",
            |args| match args {
                [t] => Ok(Resolved::new(t.clone(), |v| Ok(v[0].clone()))),
                _ => Err(no_signature("AS_VALUE", args)),
            },
        );
        reg
    }

    /// The process-wide registry of built-in functions.
    pub fn global() -> &'static FunctionRegistry {
        static REG: OnceLock<FunctionRegistry> = OnceLock::new();
        REG.get_or_init(FunctionRegistry::new)
    }

    /// Adds a function; a later registration under the same name replaces
    /// an earlier one.
    pub fn add(
        &mut self,
        name: &'static str,
        category: &'static str,
        description: &'static str,
        resolve: Resolver,
    ) {
        self.functions.insert(
            name,
            ScalarFunction {
                name,
                category,
                description,
                resolve,
            },
        );
    }

    pub fn get(&self, name: &str) -> Option<&ScalarFunction> {
        self.functions.get(name.to_ascii_uppercase().as_str())
    }

    pub fn all(&self) -> impl Iterator<Item = &ScalarFunction> {
        self.functions.values()
    }

    /// Resolves `name(args)`; the error names the function and the types.
    pub fn resolve(&self, name: &str, args: &[SqlType]) -> Result<Resolved> {
        let f = self.get(name).ok_or_else(|| {
            Error::plan(format!(
                "Can't find any functions with the name '{}'",
                name.to_ascii_uppercase()
            ))
        })?;
        (f.resolve)(args)
    }
}

/// True when `name` is an aggregate function (planned by the aggregation
/// operator, not as a scalar function).
pub fn is_aggregate(name: &str) -> bool {
    aggregate::AggregateRegistry::global().get(name).is_some()
}

/// Names of ksqlDB's table functions.
pub fn table_function_names() -> &'static [&'static str] {
    &["EXPLODE", "CUBE_EXPLODE"]
}

/// The error a resolver returns when no signature takes these arguments.
pub fn no_signature(name: &str, args: &[SqlType]) -> Error {
    let list: Vec<String> = args.iter().map(|t| t.to_string()).collect();
    Error::plan(format!(
        "Function '{}' does not accept parameters ({}).",
        name,
        list.join(", ")
    ))
}

/// True when a value of type `actual` may be passed where `wanted` is
/// declared: the same type, NULL, or ksqlDB's implicit widening
/// (INT -> BIGINT -> DECIMAL -> DOUBLE).
pub fn accepts(wanted: &SqlType, actual: &SqlType) -> bool {
    use SqlType::*;
    match (wanted, actual) {
        (_, Null) | (Any, _) => true,
        (BigInt, Int) => true,
        (Double, Int | BigInt | Decimal(..)) => true,
        (Decimal(..), Int | BigInt | Decimal(..)) => true,
        (Array(a), Array(b)) => accepts(a, b),
        (Map(ka, va), Map(kb, vb)) => accepts(ka, kb) && accepts(va, vb),
        (a, b) => a == b,
    }
}

/// Converts a value to the declared parameter type, following `accepts`.
pub fn coerce(value: Value, wanted: &SqlType) -> Value {
    match (wanted, value) {
        (SqlType::BigInt, Value::Int(v)) => Value::BigInt(v as i64),
        (SqlType::Double, v @ (Value::Int(_) | Value::BigInt(_) | Value::Decimal(_))) => {
            Value::Double(v.as_f64().unwrap_or(f64::NAN))
        }
        (SqlType::Decimal(..), v @ (Value::Int(_) | Value::BigInt(_))) => {
            v.as_decimal().map(Value::Decimal).unwrap_or(Value::Null)
        }
        (_, v) => v,
    }
}
