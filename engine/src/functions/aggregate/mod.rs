//! ksqlDB's aggregate functions (UDAFs). Each is resolved at plan time from
//! its argument types (and its literal parameters, like TOPK's `k`) to an
//! accumulator over a state `Value` of a declared SQL type, so the state can
//! be kept in stores and written to changelogs like any other row.
//!
//! Stream aggregations only `add`; aggregations over tables also `retract`
//! the old value of a changed row; session windows `merge` two states.
//!
//! Families: `basic` (COUNT, SUM, AVG, MIN, MAX), `collect` (COLLECT_LIST,
//! COLLECT_SET, HISTOGRAM, TOPK, TOPKDISTINCT), `offset`
//! (EARLIEST_BY_OFFSET, LATEST_BY_OFFSET), `stats` (STDDEV_SAMP,
//! STDDEV_SAMPLE, CORRELATION) and `misc` (COUNT_DISTINCT, ATTR, SUM_LIST).
//!
//! Calling convention, as the resolvers read it: `args` has one type per
//! argument of the call and `literals` says which of them are literals,
//! aligned with `args` (a shorter `literals` is aligned with the trailing
//! arguments; entries beyond `args` are extra literal parameters). At run
//! time `add` and `retract` read the column arguments by position from the
//! front of the values they are given; a column argument that is a literal
//! and is missing from those values takes the literal's value. `COUNT(*)`
//! and `COUNT()` have no arguments.
//!
//! Accumulators cannot return errors; the few ksqlDB raises while
//! aggregating (DECIMAL overflow in SUM) are left on the calling thread for
//! [`take_error`], and the state is left as it was.

mod basic;
mod collect;
mod misc;
mod offset;
mod stats;

pub use collect::{collect_list_with_limit, collect_set_with_limit, DEFAULT_COLLECT_LIMIT};

use crate::error::{Error, Result};
use crate::types::{SqlType, Value};
use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering as AtomicOrdering};
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
    /// The function's name, for plans (set by [`AggregateRegistry::resolve`]).
    pub name: &'static str,
    /// The literal parameters it was resolved with (TOPK's k), for plans.
    pub literals: Vec<Value>,
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
        let mut resolved = (f.resolve)(args, literals)?;
        resolved.name = f.name;
        resolved.literals = literals.iter().flatten().cloned().collect();
        Ok(resolved)
    }
}

impl ResolvedAggregate {
    /// An aggregate that can only `add` (no retract, no merge).
    pub fn new(
        return_type: SqlType,
        state_type: SqlType,
        initial: Value,
        add: impl Fn(&mut Value, &[Value]) + Send + Sync + 'static,
        result: impl Fn(&Value) -> Value + Send + Sync + 'static,
    ) -> Self {
        ResolvedAggregate {
            return_type,
            state_type,
            initial,
            add: Arc::new(add),
            retract: None,
            merge: None,
            result: Arc::new(result),
            name: "",
            literals: Vec::new(),
        }
    }

    /// Adds an undo for `add`, making the aggregate usable on tables.
    pub fn with_retract(
        mut self,
        retract: impl Fn(&mut Value, &[Value]) + Send + Sync + 'static,
    ) -> Self {
        self.retract = Some(Arc::new(retract));
        self
    }

    /// Adds a merge of two states, for session windows.
    pub fn with_merge(
        mut self,
        merge: impl Fn(&mut Value, &Value) + Send + Sync + 'static,
    ) -> Self {
        self.merge = Some(Arc::new(merge));
        self
    }
}

/// Registers every built-in aggregate.
fn register_all(reg: &mut AggregateRegistry) {
    basic::register(reg);
    collect::register(reg);
    offset::register(reg);
    stats::register(reg);
    misc::register(reg);
}

thread_local! {
    static PENDING_ERROR: RefCell<Option<Error>> = const { RefCell::new(None) };
}

/// Leaves an error raised inside an accumulator for [`take_error`].
fn raise(err: Error) {
    PENDING_ERROR.with(|p| *p.borrow_mut() = Some(err));
}

/// Takes the error the last `add`, `retract` or `merge` called on this
/// thread raised, if any (ksqlDB fails the query with it, e.g. "Numeric
/// field overflow" from SUM over DECIMAL). Call it right after the call.
pub fn take_error() -> Option<Error> {
    PENDING_ERROR.with(|p| p.borrow_mut().take())
}

/// A fresh, increasing sequence number, standing in for the offset of the
/// record being added (EARLIEST/LATEST_BY_OFFSET keep it in their state to
/// order merged session windows). It starts at the clock's microseconds so
/// it keeps increasing across restarts.
fn next_sequence() -> i64 {
    static SEQ: OnceLock<AtomicI64> = OnceLock::new();
    SEQ.get_or_init(|| {
        let micros = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as i64)
            .unwrap_or(0);
        AtomicI64::new(micros)
    })
    .fetch_add(1, AtomicOrdering::Relaxed)
}

/// One argument of an aggregate call: its type, and its value when it is
/// a literal.
#[derive(Debug, Clone)]
struct CallArg {
    ty: SqlType,
    literal: Option<Value>,
}

/// Pairs argument types with literal values (see the module docs).
fn call_args(args: &[SqlType], literals: &[Option<Value>]) -> Vec<CallArg> {
    let mut out: Vec<CallArg> = args
        .iter()
        .map(|t| CallArg {
            ty: t.clone(),
            literal: None,
        })
        .collect();
    if literals.len() <= args.len() {
        let offset = args.len() - literals.len();
        for (i, lit) in literals.iter().enumerate() {
            out[offset + i].literal = lit.clone();
        }
    } else {
        // More literals than types: `args` only has the column arguments.
        // Either `literals` covers every argument (None for the columns)
        // or only the trailing literal parameters.
        let covers_all = literals[..args.len()].iter().all(Option::is_none);
        let extra = if covers_all {
            &literals[args.len()..]
        } else {
            literals
        };
        out.extend(extra.iter().map(|lit| {
            CallArg {
                ty: lit
                    .as_ref()
                    .map(Value::natural_type)
                    .unwrap_or(SqlType::Null),
                literal: lit.clone(),
            }
        }));
    }
    out
}

static NULL: Value = Value::Null;

/// The value of column argument `i` in one row, falling back to the
/// argument's literal when the row does not carry it.
fn value_at<'a>(values: &'a [Value], i: usize, literal: &'a Option<Value>) -> &'a Value {
    match values.get(i) {
        Some(v) => v,
        None => literal.as_ref().unwrap_or(&NULL),
    }
}

/// The error for a parameter that must be a literal but is not.
fn not_literal(name: &str, index: usize) -> Error {
    Error::plan(format!(
        "Parameter {} passed to function {} must be a literal constant",
        index + 1,
        name
    ))
}

/// A literal integer parameter (TOPK's k, EARLIEST_BY_OFFSET's n).
fn int_literal(name: &str, index: usize, arg: &CallArg) -> Result<i64> {
    match &arg.literal {
        Some(v) => v.as_i64().ok_or_else(|| {
            Error::plan(format!(
                "Parameter {} passed to function {} must be an integer, but was: {}",
                index + 1,
                name,
                v
            ))
        }),
        None => Err(not_literal(name, index)),
    }
}

/// A STRUCT state value with the given fields.
fn make_struct(fields: Vec<(&str, Value)>) -> Value {
    Value::Struct(
        fields
            .into_iter()
            .map(|(n, v)| (n.to_string(), v))
            .collect(),
    )
}

/// Field `i` of a STRUCT state, NULL when absent.
fn field(state: &Value, i: usize) -> &Value {
    match state {
        Value::Struct(fields) => fields.get(i).map(|(_, v)| v).unwrap_or(&NULL),
        _ => &NULL,
    }
}

/// Replaces field `i` of a STRUCT state.
fn set_field(state: &mut Value, i: usize, value: Value) {
    if let Value::Struct(fields) = state {
        if let Some(f) = fields.get_mut(i) {
            f.1 = value;
        }
    }
}

/// The items of an ARRAY state (empty for anything else), for reading.
fn items(state: &Value) -> &[Value] {
    match state {
        Value::Array(items) => items,
        _ => &[],
    }
}

/// The items of an ARRAY state, for changing; a non-array becomes empty.
fn items_mut(state: &mut Value) -> &mut Vec<Value> {
    if !matches!(state, Value::Array(_)) {
        *state = Value::Array(Vec::new());
    }
    match state {
        Value::Array(items) => items,
        _ => unreachable!("state was just made an array"),
    }
}

fn i64_of(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

fn i32_of(v: &Value) -> i32 {
    v.as_i64().unwrap_or(0) as i32
}

fn f64_of(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

/// The Java number type of a running sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NumKind {
    Int,
    Long,
    Double,
}

impl NumKind {
    /// The kind summing values of `t` exactly, if any.
    fn of(t: &SqlType) -> Option<NumKind> {
        match t {
            SqlType::Int => Some(NumKind::Int),
            SqlType::BigInt => Some(NumKind::Long),
            SqlType::Double => Some(NumKind::Double),
            _ => None,
        }
    }

    fn sql_type(self) -> SqlType {
        match self {
            NumKind::Int => SqlType::Int,
            NumKind::Long => SqlType::BigInt,
            NumKind::Double => SqlType::Double,
        }
    }

    fn zero(self) -> Value {
        match self {
            NumKind::Int => Value::Int(0),
            NumKind::Long => Value::BigInt(0),
            NumKind::Double => Value::Double(0.0),
        }
    }

    /// `a + sign * b`, wrapping like Java's int and long.
    fn combine(self, a: &Value, b: &Value, sign: i32) -> Value {
        match self {
            NumKind::Int => Value::Int(i32_of(a).wrapping_add(i32_of(b).wrapping_mul(sign))),
            NumKind::Long => {
                Value::BigInt(i64_of(a).wrapping_add(i64_of(b).wrapping_mul(i64::from(sign))))
            }
            NumKind::Double => Value::Double(f64_of(a) + f64_of(b) * f64::from(sign)),
        }
    }
}

/// True for types MIN, MAX and TOPK can order.
fn is_orderable(t: &SqlType) -> bool {
    matches!(
        t,
        SqlType::Int
            | SqlType::BigInt
            | SqlType::Double
            | SqlType::Decimal(..)
            | SqlType::String
            | SqlType::Bytes
            | SqlType::Date
            | SqlType::Time
            | SqlType::Timestamp
    )
}

/// Java's `compareTo` between two non-null values: doubles with NaN
/// greatest and -0.0 below 0.0, strings by UTF-16 unit, bytes as signed
/// bytes; everything else by SQL order.
fn java_cmp(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Double(x), Value::Double(y)) => x.total_cmp(y),
        (Value::String(x), Value::String(y)) => x.encode_utf16().cmp(y.encode_utf16()),
        (Value::Bytes(x), Value::Bytes(y)) => {
            x.iter().map(|b| *b as i8).cmp(y.iter().map(|b| *b as i8))
        }
        _ => a.total_cmp(b),
    }
}

#[cfg(test)]
mod test_support {
    //! Drives accumulators the way the aggregation operator does.

    use super::*;

    /// Resolves `name` and panics with the error if it does not resolve.
    pub fn resolve(name: &str, args: &[SqlType], literals: &[Option<Value>]) -> ResolvedAggregate {
        match AggregateRegistry::global().resolve(name, args, literals) {
            Ok(r) => r,
            Err(e) => panic!("{name}: {e}"),
        }
    }

    /// The resolve error's message.
    pub fn resolve_err(name: &str, args: &[SqlType], literals: &[Option<Value>]) -> String {
        match AggregateRegistry::global().resolve(name, args, literals) {
            Ok(_) => panic!("{name} resolved"),
            Err(e) => e.to_string(),
        }
    }

    /// Adds each row in turn and returns the result after each.
    pub fn run(agg: &ResolvedAggregate, rows: &[Vec<Value>]) -> Vec<Value> {
        let mut state = agg.initial.clone();
        rows.iter()
            .map(|row| {
                (agg.add)(&mut state, row);
                (agg.result)(&state)
            })
            .collect()
    }

    /// The state after adding every row.
    pub fn fold(agg: &ResolvedAggregate, rows: &[Vec<Value>]) -> Value {
        let mut state = agg.initial.clone();
        for row in rows {
            (agg.add)(&mut state, row);
        }
        state
    }

    /// Retracts one row from a state.
    pub fn retract(agg: &ResolvedAggregate, state: &mut Value, row: &[Value]) {
        let f = agg.retract.as_ref().expect("retractable");
        f(state, row);
    }

    /// Merges `b` into `a` and returns the result.
    pub fn merged(agg: &ResolvedAggregate, a: &Value, b: &Value) -> Value {
        let f = agg.merge.as_ref().expect("mergeable");
        let mut s = a.clone();
        f(&mut s, b);
        (agg.result)(&s)
    }

    /// Checks that a state value has the shape of the declared state type.
    pub fn conforms(v: &Value, t: &SqlType) -> bool {
        match (v, t) {
            (Value::Null, _) => true,
            (Value::Bool(_), SqlType::Boolean)
            | (Value::Int(_), SqlType::Int)
            | (Value::BigInt(_), SqlType::BigInt)
            | (Value::Double(_), SqlType::Double)
            | (Value::String(_), SqlType::String)
            | (Value::Bytes(_), SqlType::Bytes)
            | (Value::Date(_), SqlType::Date)
            | (Value::Time(_), SqlType::Time)
            | (Value::Timestamp(_), SqlType::Timestamp) => true,
            (Value::Decimal(d), SqlType::Decimal(p, s)) => d.scale == *s && d.fit(*p, *s).is_some(),
            (Value::Array(items), SqlType::Array(e)) => items.iter().all(|i| conforms(i, e)),
            (Value::Map(entries), SqlType::Map(k, v)) => entries
                .iter()
                .all(|(a, b)| conforms(a, k) && conforms(b, v)),
            (Value::Struct(fields), SqlType::Struct(types)) => {
                fields.len() == types.len()
                    && fields
                        .iter()
                        .zip(types.iter())
                        .all(|((n, v), (m, t))| n == m && conforms(v, t))
            }
            _ => false,
        }
    }

    pub fn int(v: i32) -> Value {
        Value::Int(v)
    }
    pub fn big(v: i64) -> Value {
        Value::BigInt(v)
    }
    pub fn dbl(v: f64) -> Value {
        Value::Double(v)
    }
    pub fn s(v: &str) -> Value {
        Value::String(v.to_string())
    }
    pub fn dec(text: &str) -> Value {
        Value::Decimal(crate::types::Decimal::parse(text).expect("decimal literal"))
    }
    pub fn arr(items: Vec<Value>) -> Value {
        Value::Array(items)
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    #[test]
    fn literal_conventions() {
        let rows = [vec![int(5)], vec![int(9)], vec![int(7)]];
        let want = arr(vec![int(9), int(7)]);
        // Aligned with every argument.
        let t = resolve("TOPK", &[SqlType::Int, SqlType::Int], &[None, Some(int(2))]);
        assert_eq!(run(&t, &rows)[2], want);
        // Only the trailing literals.
        let t = resolve("TOPK", &[SqlType::Int, SqlType::Int], &[Some(int(2))]);
        assert_eq!(run(&t, &rows)[2], want);
        // Types of the column arguments only.
        let t = resolve("TOPK", &[SqlType::Int], &[None, Some(int(2))]);
        assert_eq!(run(&t, &rows)[2], want);
        let e = resolve(
            "EARLIEST_BY_OFFSET",
            &[SqlType::Int],
            &[Some(int(2)), Some(Value::Bool(false))],
        );
        assert_eq!(
            run(&e, &[vec![Value::Null], vec![int(1)]])[1],
            arr(vec![Value::Null, int(1)])
        );
    }

    /// Name, argument types, literals and one row.
    type Case = (&'static str, Vec<SqlType>, Vec<Option<Value>>, Vec<Value>);

    #[test]
    fn states_conform_to_their_types() {
        let cases: Vec<Case> = vec![
            ("COUNT", vec![], vec![], vec![]),
            (
                "SUM",
                vec![SqlType::Decimal(5, 2)],
                vec![None],
                vec![dec("1.25")],
            ),
            ("AVG", vec![SqlType::Double], vec![None], vec![dbl(1.5)]),
            ("MIN", vec![SqlType::Date], vec![None], vec![Value::Date(3)]),
            (
                "TOPK",
                vec![SqlType::Double, SqlType::Int],
                vec![None, Some(int(2))],
                vec![dbl(1.0)],
            ),
            (
                "EARLIEST_BY_OFFSET",
                vec![SqlType::String],
                vec![None],
                vec![s("x")],
            ),
            (
                "STDDEV_SAMP",
                vec![SqlType::BigInt],
                vec![None],
                vec![big(4)],
            ),
            (
                "ATTR",
                vec![SqlType::Boolean],
                vec![None],
                vec![Value::Bool(true)],
            ),
        ];
        for (name, args, lits, row) in cases {
            let agg = resolve(name, &args, &lits);
            assert!(conforms(&agg.initial, &agg.state_type), "{name} initial");
            let st = fold(&agg, &[row.clone(), row]);
            assert!(conforms(&st, &agg.state_type), "{name}: {st:?}");
        }
    }
}
