//! Typed expressions: SQL expressions resolved against an input scope and
//! compiled into a tree that evaluates on one row at a time. This file owns
//! the scope an expression compiles in and the compiled tree itself;
//! `compile` builds trees from the AST (type checking), `eval` evaluates
//! them, `typing` holds ksqlDB's rules for result types and `cast` its
//! CAST. The functions themselves live in `crate::functions`.

mod cast;
mod compile;
mod eval;
mod typing;

pub use cast::{cast_supported, cast_value};
pub use compile::{implicit_name, ExprCompiler};
pub use eval::like;
pub use typing::{coerce_to, common_type};

use crate::error::{Error, Result};
use crate::functions::ScalarImpl;
use crate::sql::ast::BinaryOp;
use crate::types::{resolve_custom, SqlType, Value};
use std::sync::Arc;

/// One column visible to an expression.
#[derive(Debug, Clone)]
pub struct ScopeColumn {
    /// The source alias it can be qualified with (`a.col`), if any.
    pub qualifier: Option<String>,
    pub name: String,
    pub ty: SqlType,
}

/// The columns an expression can refer to, by position in the row.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub columns: Vec<ScopeColumn>,
    /// Custom types declared with CREATE TYPE, for CAST targets.
    pub custom_types: Vec<(String, SqlType)>,
}

impl Scope {
    pub fn new(columns: Vec<ScopeColumn>) -> Self {
        Scope {
            columns,
            custom_types: Vec::new(),
        }
    }

    /// The row index and type of `[qualifier.]name`.
    pub fn resolve(&self, qualifier: Option<&str>, name: &str) -> Result<(usize, SqlType)> {
        let matches: Vec<usize> = (0..self.columns.len())
            .filter(|&i| {
                let c = &self.columns[i];
                c.name == name
                    && match qualifier {
                        Some(q) => c.qualifier.as_deref() == Some(q),
                        None => true,
                    }
            })
            .collect();
        // After a join, an unqualified pseudo-column means the first
        // (left-most) source's.
        let pseudo = matches!(
            name,
            "ROWTIME" | "ROWPARTITION" | "ROWOFFSET" | "WINDOWSTART" | "WINDOWEND"
        );
        match matches.as_slice() {
            [i] => Ok((*i, self.columns[*i].ty.clone())),
            [i, ..] if pseudo && qualifier.is_none() => Ok((*i, self.columns[*i].ty.clone())),
            [] => Err(Error::plan(match qualifier {
                Some(q) => format!("Column '{q}.{name}' cannot be resolved."),
                None => format!("Column '{name}' cannot be resolved."),
            })),
            _ => Err(Error::plan(format!(
                "Column '{name}' is ambiguous. Could be any of: {}",
                matches
                    .iter()
                    .map(|i| format!(
                        "{}.{}",
                        self.columns[*i].qualifier.as_deref().unwrap_or(""),
                        self.columns[*i].name
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Replaces custom type names with their definitions.
    pub fn resolve_type(&self, ty: &SqlType) -> Result<SqlType> {
        resolve_custom(ty, &self.custom_types)
    }
}

/// A compiled, typed expression.
#[derive(Clone)]
pub struct Compiled {
    pub ty: SqlType,
    node: Node,
    /// The SQL it stands for, for plans: the expression it was compiled
    /// from, or what the planner named it.
    text: Option<Arc<str>>,
}

/// The SQL the expression stands for; without one, a column prints as
/// `#position` and a literal as its value.
impl std::fmt::Display for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.text, &self.node) {
            (Some(text), _) => f.write_str(text),
            (None, Node::Column(i)) => write!(f, "#{i}"),
            (None, Node::Literal(v)) => write!(f, "{v}"),
            (None, _) => f.write_str("<expression>"),
        }
    }
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Compiled({})", self.ty)
    }
}

#[derive(Clone)]
enum Node {
    Literal(Value),
    Column(usize),
    /// A lambda parameter: index into the lambda environment.
    LambdaVar(usize),
    Not(Box<Compiled>),
    Neg(Box<Compiled>),
    Arith(ArithOp, Box<Compiled>, Box<Compiled>),
    Compare(BinaryOp, Box<Compiled>, Box<Compiled>),
    And(Box<Compiled>, Box<Compiled>),
    Or(Box<Compiled>, Box<Compiled>),
    IsNull(Box<Compiled>, bool),
    IsDistinct(Box<Compiled>, Box<Compiled>, bool),
    Like(Box<Compiled>, Box<Compiled>, Option<char>, bool),
    Between(Box<Compiled>, Box<Compiled>, Box<Compiled>, bool),
    InList(Box<Compiled>, Vec<Compiled>, bool),
    Case(Vec<(Compiled, Compiled)>, Option<Box<Compiled>>),
    Cast(Box<Compiled>),
    Call(ScalarImpl, Vec<Compiled>),
    Deref(Box<Compiled>, usize),
    Subscript(Box<Compiled>, Box<Compiled>),
    MakeArray(Vec<Compiled>),
    MakeMap(Vec<(Compiled, Compiled)>),
    MakeStruct(Vec<(String, Compiled)>),
    /// TRANSFORM / FILTER / REDUCE over an array or map.
    Lambda(LambdaFn, Vec<Compiled>, Box<Compiled>, Vec<Compiled>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Concat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LambdaFn {
    TransformArray,
    TransformMap,
    FilterArray,
    FilterMap,
    ReduceArray,
    ReduceMap,
}

impl Compiled {
    fn new(ty: SqlType, node: Node) -> Self {
        Compiled {
            ty,
            node,
            text: None,
        }
    }

    /// The same expression, shown in plans as `text`.
    pub fn with_text(mut self, text: impl Into<Arc<str>>) -> Self {
        self.text = Some(text.into());
        self
    }

    /// A constant.
    pub fn literal(value: Value, ty: SqlType) -> Self {
        Compiled::new(ty, Node::Literal(value))
    }

    /// A plain column reference.
    pub fn column(index: usize, ty: SqlType) -> Self {
        Compiled::new(ty, Node::Column(index))
    }

    /// The row index this expression reads, when it is a bare column.
    pub fn as_column(&self) -> Option<usize> {
        match self.node {
            Node::Column(i) => Some(i),
            _ => None,
        }
    }

    /// Appends the row positions this expression reads.
    pub fn references(&self, out: &mut Vec<usize>) {
        let mut visit = |c: &Compiled| c.references(out);
        match &self.node {
            Node::Literal(_) | Node::LambdaVar(_) => {}
            Node::Column(i) => out.push(*i),
            Node::Not(a)
            | Node::Neg(a)
            | Node::IsNull(a, _)
            | Node::Cast(a)
            | Node::Deref(a, _) => visit(a),
            Node::Arith(_, a, b)
            | Node::Compare(_, a, b)
            | Node::And(a, b)
            | Node::Or(a, b)
            | Node::IsDistinct(a, b, _)
            | Node::Like(a, b, _, _)
            | Node::Subscript(a, b) => {
                visit(a);
                visit(b);
            }
            Node::Between(a, b, c, _) => {
                visit(a);
                visit(b);
                visit(c);
            }
            Node::InList(a, list, _) => {
                visit(a);
                list.iter().for_each(visit);
            }
            Node::Case(whens, e) => {
                for (w, t) in whens {
                    visit(w);
                    visit(t);
                }
                if let Some(e) = e {
                    visit(e);
                }
            }
            Node::Call(_, args) | Node::MakeArray(args) => args.iter().for_each(visit),
            Node::MakeMap(entries) => entries.iter().for_each(|(k, v)| {
                visit(k);
                visit(v);
            }),
            Node::MakeStruct(fields) => fields.iter().for_each(|(_, v)| visit(v)),
            Node::Lambda(_, inputs, body, extra) => {
                inputs.iter().for_each(&mut visit);
                visit(body);
                extra.iter().for_each(visit);
            }
        }
    }

    /// The constant value, when it is a literal.
    pub fn as_literal(&self) -> Option<&Value> {
        match &self.node {
            Node::Literal(v) => Some(v),
            _ => None,
        }
    }
}

/// A shared, immutable compiled expression.
pub type CompiledRef = Arc<Compiled>;
