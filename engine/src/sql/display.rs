//! Printing the AST back to SQL. The output parses to an equal tree:
//! identifiers are quoted with backticks when needed, strings escaped, and
//! sub-expressions parenthesized wherever precedence requires it. Statements
//! print on one line without a trailing `;`.

use std::fmt::{self, Display, Formatter, Write as _};

use super::ast::*;
use crate::types::{fmt_ident, needs_quotes};

/// Writes a name; beyond [`fmt_ident`]'s rules also quotes the words that
/// start constructors (`ARRAY[`, `MAP(`, `STRUCT(`), which are not reserved
/// but would be read as constructors in some positions.
fn fmt_name(f: &mut Formatter<'_>, name: &str) -> fmt::Result {
    if matches!(name, "ARRAY" | "MAP" | "STRUCT") {
        write!(f, "`{name}`")
    } else {
        fmt_ident(f, name)
    }
}

/// Writes a name, always quoted when it is one of `words` (statement words
/// that would otherwise be read as keywords in that position).
fn fmt_name_not(f: &mut Formatter<'_>, name: &str, words: &[&str]) -> fmt::Result {
    if words.contains(&name) && !needs_quotes(name) {
        write!(f, "`{name}`")
    } else {
        fmt_ident(f, name)
    }
}

/// Writes a single-quoted string literal, doubling embedded quotes.
fn fmt_string(f: &mut Formatter<'_>, s: &str) -> fmt::Result {
    f.write_char('\'')?;
    for c in s.chars() {
        if c == '\'' {
            f.write_str("''")?;
        } else {
            f.write_char(c)?;
        }
    }
    f.write_char('\'')
}

/// Writes items separated by `, `.
fn comma_list<T>(
    f: &mut Formatter<'_>,
    items: &[T],
    mut each: impl FnMut(&mut Formatter<'_>, &T) -> fmt::Result,
) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        each(f, item)?;
    }
    Ok(())
}

fn kind_word(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Stream => "STREAM",
        SourceKind::Table => "TABLE",
    }
}

fn fmt_properties(f: &mut Formatter<'_>, props: &Properties) -> fmt::Result {
    if props.is_empty() {
        return Ok(());
    }
    f.write_str(" WITH (")?;
    comma_list(f, props, |f, (k, v)| {
        fmt_ident(f, k)?;
        write!(f, "={v}")
    })?;
    f.write_str(")")
}

impl Display for PropValue {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            PropValue::String(s) => fmt_string(f, s),
            PropValue::Number(n) => f.write_str(n),
            PropValue::Bool(b) => f.write_str(if *b { "TRUE" } else { "FALSE" }),
        }
    }
}

impl Display for SourceKind {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(kind_word(*self))
    }
}

impl Display for ColumnConstraint {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            ColumnConstraint::None => Ok(()),
            ColumnConstraint::Key => f.write_str("KEY"),
            ColumnConstraint::PrimaryKey => f.write_str("PRIMARY KEY"),
            ColumnConstraint::Headers => f.write_str("HEADERS"),
            ColumnConstraint::Header(k) => {
                f.write_str("HEADER(")?;
                fmt_string(f, k)?;
                f.write_str(")")
            }
        }
    }
}

impl Display for TableElement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        fmt_ident(f, &self.name)?;
        write!(f, " {}", self.ty)?;
        if self.constraint != ColumnConstraint::None {
            write!(f, " {}", self.constraint)?;
        }
        Ok(())
    }
}

impl Display for CreateSource {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("CREATE ")?;
        if self.or_replace {
            f.write_str("OR REPLACE ")?;
        }
        if self.is_source {
            f.write_str("SOURCE ")?;
        }
        write!(f, "{} ", self.kind)?;
        if self.if_not_exists {
            f.write_str("IF NOT EXISTS ")?;
        }
        fmt_ident(f, &self.name)?;
        if !self.elements.is_empty() {
            f.write_str(" (")?;
            comma_list(f, &self.elements, |f, e| write!(f, "{e}"))?;
            f.write_str(")")?;
        }
        fmt_properties(f, &self.properties)
    }
}

impl Display for CreateAsSelect {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("CREATE ")?;
        if self.or_replace {
            f.write_str("OR REPLACE ")?;
        }
        write!(f, "{} ", self.kind)?;
        if self.if_not_exists {
            f.write_str("IF NOT EXISTS ")?;
        }
        fmt_ident(f, &self.name)?;
        fmt_properties(f, &self.properties)?;
        write!(f, " AS {}", self.query)
    }
}

impl Display for ShowWhat {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ShowWhat::Streams => "STREAMS",
            ShowWhat::Tables => "TABLES",
            ShowWhat::Queries => "QUERIES",
            ShowWhat::Topics { all: false } => "TOPICS",
            ShowWhat::Topics { all: true } => "ALL TOPICS",
            ShowWhat::Properties => "PROPERTIES",
            ShowWhat::Functions => "FUNCTIONS",
            ShowWhat::Types => "TYPES",
            ShowWhat::Variables => "VARIABLES",
        })
    }
}

impl Display for DescribeTarget {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            DescribeTarget::Streams => f.write_str("STREAMS"),
            DescribeTarget::Tables => f.write_str("TABLES"),
            DescribeTarget::Source(name) => {
                fmt_name_not(f, name, &["STREAMS", "TABLES", "FUNCTION", "EXTENDED"])
            }
        }
    }
}

impl Display for QueryTarget {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            QueryTarget::All => f.write_str("ALL"),
            QueryTarget::Id(id) => fmt_name_not(f, id, &["ALL"]),
        }
    }
}

impl Display for Duration {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.unit.name())
    }
}

impl Display for TimeUnit {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Display for AssertStatement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("ASSERT ")?;
        if self.not_exists {
            f.write_str("NOT EXISTS ")?;
        }
        match &self.kind {
            AssertKind::Topic { name, properties } => {
                f.write_str("TOPIC ")?;
                fmt_ident(f, name)?;
                fmt_properties(f, properties)?;
            }
            AssertKind::Schema { subject, id } => {
                f.write_str("SCHEMA")?;
                if let Some(s) = subject {
                    f.write_str(" SUBJECT ")?;
                    fmt_ident(f, s)?;
                }
                if let Some(id) = id {
                    write!(f, " ID {id}")?;
                }
            }
        }
        if let Some(t) = &self.timeout {
            write!(f, " TIMEOUT {t}")?;
        }
        Ok(())
    }
}

impl Display for Statement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Statement::CreateSource(c) => write!(f, "{c}"),
            Statement::CreateAsSelect(c) => write!(f, "{c}"),
            Statement::InsertInto { target, query } => {
                f.write_str("INSERT INTO ")?;
                fmt_ident(f, target)?;
                write!(f, " {query}")
            }
            Statement::InsertValues {
                target,
                columns,
                values,
            } => {
                f.write_str("INSERT INTO ")?;
                fmt_ident(f, target)?;
                if let Some(cols) = columns {
                    f.write_str(" (")?;
                    comma_list(f, cols, |f, c| fmt_ident(f, c))?;
                    f.write_str(")")?;
                }
                f.write_str(" VALUES (")?;
                comma_list(f, values, |f, v| write!(f, "{v}"))?;
                f.write_str(")")
            }
            Statement::Query(q) => write!(f, "{q}"),
            Statement::Show { what, extended } => {
                write!(f, "SHOW {what}")?;
                if *extended {
                    f.write_str(" EXTENDED")?;
                }
                Ok(())
            }
            Statement::Describe { target, extended } => {
                write!(f, "DESCRIBE {target}")?;
                if *extended {
                    f.write_str(" EXTENDED")?;
                }
                Ok(())
            }
            Statement::DescribeFunction(name) => {
                f.write_str("DESCRIBE FUNCTION ")?;
                fmt_name_not(f, name, &["EXTENDED"])
            }
            Statement::Explain(ExplainTarget::QueryId(id)) => {
                f.write_str("EXPLAIN ")?;
                fmt_ident(f, id)
            }
            Statement::Explain(ExplainTarget::Statement(s)) => write!(f, "EXPLAIN {s}"),
            Statement::Drop {
                kind,
                if_exists,
                name,
                delete_topic,
            } => {
                write!(f, "DROP {kind} ")?;
                if *if_exists {
                    f.write_str("IF EXISTS ")?;
                }
                fmt_ident(f, name)?;
                if *delete_topic {
                    f.write_str(" DELETE TOPIC")?;
                }
                Ok(())
            }
            Statement::DropType { if_exists, name } => {
                f.write_str("DROP TYPE ")?;
                if *if_exists {
                    f.write_str("IF EXISTS ")?;
                }
                fmt_ident(f, name)
            }
            Statement::CreateConnector(c) => {
                let kind = match c.kind {
                    ConnectorKind::Source => "SOURCE",
                    ConnectorKind::Sink => "SINK",
                };
                write!(f, "CREATE {kind} CONNECTOR ")?;
                if c.if_not_exists {
                    f.write_str("IF NOT EXISTS ")?;
                }
                fmt_ident(f, &c.name)?;
                f.write_str(" WITH (")?;
                comma_list(f, &c.config, |f, (k, v)| {
                    fmt_string(f, k)?;
                    f.write_str("=")?;
                    fmt_string(f, v)
                })?;
                f.write_str(")")
            }
            Statement::ShowConnectors(kind) => {
                f.write_str("SHOW ")?;
                match kind {
                    Some(ConnectorKind::Source) => f.write_str("SOURCE ")?,
                    Some(ConnectorKind::Sink) => f.write_str("SINK ")?,
                    None => {}
                }
                f.write_str("CONNECTORS")
            }
            Statement::DescribeConnector(name) => {
                f.write_str("DESCRIBE CONNECTOR ")?;
                fmt_ident(f, name)
            }
            Statement::DropConnector { if_exists, name } => {
                f.write_str("DROP CONNECTOR ")?;
                if *if_exists {
                    f.write_str("IF EXISTS ")?;
                }
                fmt_ident(f, name)
            }
            Statement::PauseConnector(name) => {
                f.write_str("PAUSE CONNECTOR ")?;
                fmt_ident(f, name)
            }
            Statement::ResumeConnector(name) => {
                f.write_str("RESUME CONNECTOR ")?;
                fmt_ident(f, name)
            }
            Statement::Terminate(t) => write!(f, "TERMINATE {t}"),
            Statement::Pause(t) => write!(f, "PAUSE {t}"),
            Statement::Resume(t) => write!(f, "RESUME {t}"),
            Statement::Set { name, value } => {
                f.write_str("SET ")?;
                fmt_string(f, name)?;
                f.write_str(" = ")?;
                fmt_string(f, value)
            }
            Statement::Unset { name } => {
                f.write_str("UNSET ")?;
                fmt_string(f, name)
            }
            Statement::Define { name, value } => {
                f.write_str("DEFINE ")?;
                fmt_ident(f, name)?;
                f.write_str(" = ")?;
                fmt_string(f, value)
            }
            Statement::Undefine { name } => {
                f.write_str("UNDEFINE ")?;
                fmt_ident(f, name)
            }
            Statement::Print {
                topic,
                from_beginning,
                interval,
                limit,
            } => {
                f.write_str("PRINT ")?;
                fmt_string(f, topic)?;
                if *from_beginning {
                    f.write_str(" FROM BEGINNING")?;
                }
                if let Some(i) = interval {
                    write!(f, " INTERVAL {i}")?;
                }
                if let Some(l) = limit {
                    write!(f, " LIMIT {l}")?;
                }
                Ok(())
            }
            Statement::CreateType {
                if_not_exists,
                name,
                ty,
            } => {
                f.write_str("CREATE TYPE ")?;
                if *if_not_exists {
                    f.write_str("IF NOT EXISTS ")?;
                }
                fmt_ident(f, name)?;
                write!(f, " AS {ty}")
            }
            Statement::Assert(a) => write!(f, "{a}"),
            Statement::Alter {
                kind,
                name,
                add_columns,
            } => {
                write!(f, "ALTER {kind} ")?;
                fmt_ident(f, name)?;
                f.write_str(" ")?;
                comma_list(f, add_columns, |f, (c, t)| {
                    f.write_str("ADD COLUMN ")?;
                    fmt_ident(f, c)?;
                    write!(f, " {t}")
                })
            }
        }
    }
}

impl Display for Relation {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        fmt_ident(f, &self.name)?;
        if let Some(a) = &self.alias {
            f.write_str(" AS ")?;
            fmt_ident(f, a)?;
        }
        Ok(())
    }
}

impl Display for SelectItem {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            SelectItem::Star(None) => f.write_str("*"),
            SelectItem::Star(Some(q)) => {
                fmt_ident(f, q)?;
                f.write_str(".*")
            }
            SelectItem::Expr {
                expr: Expr::Deref { expr, field },
                alias: None,
            } if field == "*" => {
                fmt_operand(f, expr, PREC_PRIMARY)?;
                f.write_str("->*")
            }
            SelectItem::Expr { expr, alias } => {
                write!(f, "{expr}")?;
                if let Some(a) = alias {
                    f.write_str(" AS ")?;
                    fmt_ident(f, a)?;
                }
                Ok(())
            }
        }
    }
}

impl Display for JoinKind {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JoinKind::Inner => "INNER JOIN",
            JoinKind::Left => "LEFT JOIN",
            JoinKind::Right => "RIGHT JOIN",
            JoinKind::Full => "FULL OUTER JOIN",
        })
    }
}

impl Display for Within {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.asymmetric || self.before != self.after {
            write!(f, "WITHIN ({}, {})", self.before, self.after)?;
        } else {
            write!(f, "WITHIN {}", self.before)?;
        }
        if let Some(g) = &self.grace {
            write!(f, " GRACE PERIOD {g}")?;
        }
        Ok(())
    }
}

impl Display for Join {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.right)?;
        if let Some(w) = &self.within {
            write!(f, " {w}")?;
        }
        write!(f, " ON {}", self.on)
    }
}

impl Display for WindowSpec {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let (retention, grace) = match self {
            WindowSpec::Tumbling {
                size,
                retention,
                grace,
            } => {
                write!(f, "TUMBLING (SIZE {size}")?;
                (retention, grace)
            }
            WindowSpec::Hopping {
                size,
                advance,
                retention,
                grace,
            } => {
                write!(f, "HOPPING (SIZE {size}, ADVANCE BY {advance}")?;
                (retention, grace)
            }
            WindowSpec::Session {
                gap,
                retention,
                grace,
            } => {
                write!(f, "SESSION ({gap}")?;
                (retention, grace)
            }
        };
        if let Some(r) = retention {
            write!(f, ", RETENTION {r}")?;
        }
        if let Some(g) = grace {
            write!(f, ", GRACE PERIOD {g}")?;
        }
        f.write_str(")")
    }
}

impl Display for Emit {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Emit::Changes => "CHANGES",
            Emit::Final => "FINAL",
        })
    }
}

/// GROUP BY and PARTITION BY items are value expressions: anything looser
/// than `||` needs parentheses.
fn fmt_grouping(f: &mut Formatter<'_>, items: &[Expr]) -> fmt::Result {
    comma_list(f, items, |f, e| fmt_operand(f, e, PREC_CONCAT))
}

impl Display for Query {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("SELECT ")?;
        comma_list(f, &self.select, |f, s| write!(f, "{s}"))?;
        write!(f, " FROM {}", self.from)?;
        for j in &self.joins {
            write!(f, " {j}")?;
        }
        if let Some(w) = &self.window {
            write!(f, " WINDOW {w}")?;
        }
        if let Some(w) = &self.where_clause {
            write!(f, " WHERE {w}")?;
        }
        if !self.group_by.is_empty() {
            f.write_str(" GROUP BY ")?;
            fmt_grouping(f, &self.group_by)?;
        }
        if !self.partition_by.is_empty() {
            f.write_str(" PARTITION BY ")?;
            fmt_grouping(f, &self.partition_by)?;
        }
        if let Some(h) = &self.having {
            write!(f, " HAVING {h}")?;
        }
        if let Some(e) = &self.emit {
            write!(f, " EMIT {e}")?;
        }
        for (i, (e, desc)) in self.order_by.iter().enumerate() {
            f.write_str(if i == 0 { " ORDER BY " } else { ", " })?;
            write!(f, "{e}")?;
            if *desc {
                f.write_str(" DESC")?;
            }
        }
        if let Some(l) = &self.limit {
            write!(f, " LIMIT {l}")?;
        }
        Ok(())
    }
}

impl Display for Literal {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Null => f.write_str("NULL"),
            Literal::Bool(b) => f.write_str(if *b { "TRUE" } else { "FALSE" }),
            Literal::Integer(i) => write!(f, "{i}"),
            Literal::Decimal(s) | Literal::Double(s) => f.write_str(s),
            Literal::String(s) => fmt_string(f, s),
        }
    }
}

impl Display for UnaryOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UnaryOp::Neg => "-",
            UnaryOp::Plus => "+",
            UnaryOp::Not => "NOT",
        })
    }
}

impl Display for BinaryOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::Concat => "||",
            BinaryOp::Eq => "=",
            BinaryOp::NotEq => "<>",
            BinaryOp::Lt => "<",
            BinaryOp::LtEq => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::GtEq => ">=",
            BinaryOp::And => "AND",
            BinaryOp::Or => "OR",
        })
    }
}

const PREC_LAMBDA: u8 = 0;
const PREC_OR: u8 = 1;
const PREC_AND: u8 = 2;
const PREC_NOT: u8 = 3;
const PREC_PREDICATE: u8 = 4;
const PREC_CONCAT: u8 = 5;
const PREC_ADD: u8 = 6;
const PREC_MUL: u8 = 7;
const PREC_UNARY: u8 = 8;
const PREC_PRIMARY: u8 = 9;

fn binary_prec(op: BinaryOp) -> u8 {
    match op {
        BinaryOp::Or => PREC_OR,
        BinaryOp::And => PREC_AND,
        BinaryOp::Eq
        | BinaryOp::NotEq
        | BinaryOp::Lt
        | BinaryOp::LtEq
        | BinaryOp::Gt
        | BinaryOp::GtEq => PREC_PREDICATE,
        BinaryOp::Concat => PREC_CONCAT,
        BinaryOp::Add | BinaryOp::Sub => PREC_ADD,
        BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod => PREC_MUL,
    }
}

fn is_negative_number(lit: &Literal) -> bool {
    match lit {
        Literal::Integer(i) => *i < 0,
        Literal::Decimal(s) | Literal::Double(s) => s.starts_with('-'),
        _ => false,
    }
}

fn is_number(lit: &Literal) -> bool {
    matches!(
        lit,
        Literal::Integer(_) | Literal::Decimal(_) | Literal::Double(_)
    )
}

/// How tightly an expression binds when printed.
fn prec(e: &Expr) -> u8 {
    match e {
        Expr::Literal(l) if is_negative_number(l) => PREC_UNARY,
        Expr::Unary {
            op: UnaryOp::Not, ..
        } => PREC_NOT,
        Expr::Unary { .. } => PREC_UNARY,
        Expr::Binary { op, .. } => binary_prec(*op),
        Expr::IsNull { .. }
        | Expr::IsDistinctFrom { .. }
        | Expr::Like { .. }
        | Expr::Between { .. }
        | Expr::InList { .. } => PREC_PREDICATE,
        Expr::Lambda { .. } => PREC_LAMBDA,
        _ => PREC_PRIMARY,
    }
}

/// Writes `e`, parenthesized unless it binds at least as tightly as `min`.
fn fmt_operand(f: &mut Formatter<'_>, e: &Expr, min: u8) -> fmt::Result {
    if prec(e) < min {
        write!(f, "({e})")
    } else {
        write!(f, "{e}")
    }
}

fn fmt_args(f: &mut Formatter<'_>, args: &[Expr]) -> fmt::Result {
    comma_list(f, args, |f, a| write!(f, "{a}"))
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Column { qualifier, name } => {
                if let Some(q) = qualifier {
                    fmt_ident(f, q)?;
                    f.write_str(".")?;
                    fmt_ident(f, name)
                } else {
                    fmt_name(f, name)
                }
            }
            Expr::Literal(l) => write!(f, "{l}"),
            Expr::Unary {
                op: UnaryOp::Not,
                expr,
            } => {
                f.write_str("NOT ")?;
                fmt_operand(f, expr, PREC_NOT)
            }
            Expr::Unary { op, expr } => {
                f.write_str(if *op == UnaryOp::Neg { "-" } else { "+" })?;
                // `-5` would read back as a negative literal, `--` as a
                // comment: parenthesize numbers and signed operands.
                let needs_parens = match expr.as_ref() {
                    Expr::Literal(l) => is_number(l),
                    Expr::Unary { op, .. } => *op != UnaryOp::Not,
                    _ => false,
                };
                if needs_parens {
                    write!(f, "({expr})")
                } else {
                    fmt_operand(f, expr, PREC_UNARY)
                }
            }
            Expr::Binary { op, left, right } => {
                let p = binary_prec(*op);
                // Comparisons do not chain: both sides must be value
                // expressions. The other operators associate to the left.
                let (lmin, rmin) = if p == PREC_PREDICATE {
                    (PREC_CONCAT, PREC_CONCAT)
                } else {
                    (p, p + 1)
                };
                fmt_operand(f, left, lmin)?;
                write!(f, " {op} ")?;
                fmt_operand(f, right, rmin)
            }
            Expr::IsNull { expr, negated } => {
                fmt_operand(f, expr, PREC_CONCAT)?;
                f.write_str(if *negated { " IS NOT NULL" } else { " IS NULL" })
            }
            Expr::IsDistinctFrom {
                left,
                right,
                negated,
            } => {
                fmt_operand(f, left, PREC_CONCAT)?;
                f.write_str(if *negated {
                    " IS NOT DISTINCT FROM "
                } else {
                    " IS DISTINCT FROM "
                })?;
                fmt_operand(f, right, PREC_CONCAT)
            }
            Expr::Like {
                expr,
                pattern,
                escape,
                negated,
            } => {
                fmt_operand(f, expr, PREC_CONCAT)?;
                f.write_str(if *negated { " NOT LIKE " } else { " LIKE " })?;
                fmt_operand(f, pattern, PREC_CONCAT)?;
                if let Some(e) = escape {
                    f.write_str(" ESCAPE ")?;
                    fmt_string(f, e)?;
                }
                Ok(())
            }
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => {
                fmt_operand(f, expr, PREC_CONCAT)?;
                f.write_str(if *negated {
                    " NOT BETWEEN "
                } else {
                    " BETWEEN "
                })?;
                fmt_operand(f, low, PREC_CONCAT)?;
                f.write_str(" AND ")?;
                fmt_operand(f, high, PREC_CONCAT)
            }
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                fmt_operand(f, expr, PREC_CONCAT)?;
                f.write_str(if *negated { " NOT IN (" } else { " IN (" })?;
                fmt_args(f, list)?;
                f.write_str(")")
            }
            Expr::Case {
                operand,
                whens,
                else_result,
            } => {
                f.write_str("CASE")?;
                if let Some(o) = operand {
                    write!(f, " {o}")?;
                }
                for (w, t) in whens {
                    write!(f, " WHEN {w} THEN {t}")?;
                }
                if let Some(e) = else_result {
                    write!(f, " ELSE {e}")?;
                }
                f.write_str(" END")
            }
            Expr::Cast { expr, ty } => write!(f, "CAST({expr} AS {ty})"),
            Expr::Function {
                name,
                args,
                star,
                distinct,
            } => {
                fmt_name(f, name)?;
                f.write_str("(")?;
                if *star {
                    f.write_str("*")?;
                } else {
                    if *distinct {
                        f.write_str("DISTINCT ")?;
                    }
                    fmt_args(f, args)?;
                }
                f.write_str(")")
            }
            Expr::Deref { expr, field } => {
                fmt_operand(f, expr, PREC_PRIMARY)?;
                f.write_str("->")?;
                fmt_ident(f, field)
            }
            Expr::Subscript { expr, index } => {
                fmt_operand(f, expr, PREC_PRIMARY)?;
                write!(f, "[{index}]")
            }
            Expr::Array(items) => {
                f.write_str("ARRAY[")?;
                fmt_args(f, items)?;
                f.write_str("]")
            }
            Expr::Map(entries) => {
                f.write_str("MAP(")?;
                comma_list(f, entries, |f, (k, v)| write!(f, "{k} := {v}"))?;
                f.write_str(")")
            }
            Expr::Struct(fields) => {
                f.write_str("STRUCT(")?;
                comma_list(f, fields, |f, (n, v)| {
                    fmt_ident(f, n)?;
                    write!(f, " := {v}")
                })?;
                f.write_str(")")
            }
            Expr::Lambda { params, body } => {
                if let [p] = params.as_slice() {
                    fmt_ident(f, p)?;
                } else {
                    f.write_str("(")?;
                    comma_list(f, params, |f, p| fmt_ident(f, p))?;
                    f.write_str(")")?;
                }
                write!(f, " => {body}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::parser::{parse_expr, parse_statement};
    use super::*;
    use crate::error::Pos;
    use crate::types::SqlType;

    fn col(name: &str) -> Expr {
        Expr::Column {
            qualifier: None,
            name: name.into(),
        }
    }

    fn lit(l: Literal) -> Expr {
        Expr::Literal(l)
    }

    fn bin(op: BinaryOp, l: Expr, r: Expr) -> Expr {
        Expr::Binary {
            op,
            left: Box::new(l),
            right: Box::new(r),
        }
    }

    fn assert_expr_round_trips(e: &Expr) {
        let printed = e.to_string();
        match parse_expr(&printed) {
            Ok(back) => assert_eq!(&back, e, "printed as {printed}"),
            Err(err) => panic!("{e:?}\nprinted as {printed}\n  -> {err}"),
        }
    }

    fn assert_stmt_round_trips(s: &Statement) {
        let printed = s.to_string();
        match parse_statement(&printed, Pos { line: 1, col: 1 }) {
            Ok(back) => assert_eq!(&back, s, "printed as {printed}"),
            Err(err) => panic!("{s:?}\nprinted as {printed}\n  -> {err}"),
        }
    }

    #[test]
    fn constructed_expressions() {
        let five = lit(Literal::Integer(5));
        let cases = vec![
            // A negation of a positive literal is not a negative literal.
            Expr::Unary {
                op: UnaryOp::Neg,
                expr: Box::new(five.clone()),
            },
            Expr::Unary {
                op: UnaryOp::Neg,
                expr: Box::new(lit(Literal::Integer(-5))),
            },
            Expr::Unary {
                op: UnaryOp::Neg,
                expr: Box::new(Expr::Unary {
                    op: UnaryOp::Neg,
                    expr: Box::new(col("X")),
                }),
            },
            Expr::Unary {
                op: UnaryOp::Plus,
                expr: Box::new(lit(Literal::Decimal("-1.5".into()))),
            },
            bin(BinaryOp::Sub, col("A"), lit(Literal::Integer(-5))),
            bin(
                BinaryOp::Sub,
                col("A"),
                bin(BinaryOp::Sub, col("B"), col("C")),
            ),
            bin(
                BinaryOp::Concat,
                col("A"),
                bin(BinaryOp::Concat, col("B"), col("C")),
            ),
            bin(
                BinaryOp::Eq,
                bin(BinaryOp::Eq, col("A"), col("B")),
                col("C"),
            ),
            Expr::IsNull {
                expr: Box::new(Expr::IsNull {
                    expr: Box::new(col("A")),
                    negated: false,
                }),
                negated: true,
            },
            Expr::Between {
                expr: Box::new(col("X")),
                low: Box::new(bin(BinaryOp::And, col("A"), col("B"))),
                high: Box::new(col("C")),
                negated: false,
            },
            // A column called ARRAY, subscripted; a function called MAP.
            Expr::Subscript {
                expr: Box::new(col("ARRAY")),
                index: Box::new(five.clone()),
            },
            Expr::Function {
                name: "MAP".into(),
                args: vec![five.clone()],
                star: false,
                distinct: false,
            },
            Expr::Deref {
                expr: Box::new(lit(Literal::Integer(-1))),
                field: "from".into(),
            },
            Expr::Cast {
                expr: Box::new(col("weird name")),
                ty: SqlType::Struct(vec![("select".into(), SqlType::Custom("My".into()))]),
            },
            Expr::Column {
                qualifier: Some("NULL".into()),
                name: "1X".into(),
            },
            lit(Literal::String("a'b''c".into())),
        ];
        for e in &cases {
            assert_expr_round_trips(e);
        }
        assert_eq!(cases[0].to_string(), "-(5)");
        assert_eq!(cases[5].to_string(), "A - (B - C)");
        assert_eq!(cases[15].to_string(), "'a''b''''c'");
    }

    #[test]
    fn constructed_statements() {
        let cases = vec![
            Statement::Describe {
                target: DescribeTarget::Source("FUNCTION".into()),
                extended: true,
            },
            Statement::Describe {
                target: DescribeTarget::Source("TABLES".into()),
                extended: false,
            },
            Statement::DescribeFunction("EXTENDED".into()),
            Statement::Terminate(QueryTarget::Id("ALL".into())),
            Statement::Explain(ExplainTarget::QueryId("SELECT".into())),
            Statement::Print {
                topic: "it's".into(),
                from_beginning: false,
                interval: None,
                limit: Some(3),
            },
            Statement::Define {
                name: "lower".into(),
                value: "v".into(),
            },
        ];
        for s in &cases {
            assert_stmt_round_trips(s);
        }
    }

    /// A small deterministic generator of random expressions: every tree it
    /// builds must print to SQL that parses back to the same tree.
    struct Gen(u64);

    impl Gen {
        fn next(&mut self, n: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) % n
        }

        fn expr(&mut self, depth: u32) -> Expr {
            if depth == 0 {
                return match self.next(6) {
                    0 => col(["A", "b c", "KEY", "ARRAY", "SELECT"][self.next(5) as usize]),
                    1 => lit(Literal::Integer(self.next(20) as i64 - 10)),
                    2 => lit(Literal::Decimal(
                        ["1.5", "-0.25", ".5"][self.next(3) as usize].into(),
                    )),
                    3 => lit(Literal::Double(
                        ["1e3", "-2.5E-3"][self.next(2) as usize].into(),
                    )),
                    4 => lit(Literal::String("x'y".into())),
                    _ => lit([Literal::Null, Literal::Bool(true)][self.next(2) as usize].clone()),
                };
            }
            let d = depth - 1;
            let ops = [
                BinaryOp::Add,
                BinaryOp::Sub,
                BinaryOp::Mul,
                BinaryOp::Div,
                BinaryOp::Mod,
                BinaryOp::Concat,
                BinaryOp::Eq,
                BinaryOp::NotEq,
                BinaryOp::Lt,
                BinaryOp::GtEq,
                BinaryOp::And,
                BinaryOp::Or,
            ];
            match self.next(16) {
                0..=5 => {
                    let op = ops[self.next(ops.len() as u64) as usize];
                    bin(op, self.expr(d), self.expr(d))
                }
                6 => Expr::Unary {
                    op: [UnaryOp::Neg, UnaryOp::Plus, UnaryOp::Not][self.next(3) as usize],
                    expr: Box::new(self.expr(d)),
                },
                7 => Expr::IsNull {
                    expr: Box::new(self.expr(d)),
                    negated: self.next(2) == 0,
                },
                8 => Expr::Between {
                    expr: Box::new(self.expr(d)),
                    low: Box::new(self.expr(d)),
                    high: Box::new(self.expr(d)),
                    negated: self.next(2) == 0,
                },
                9 => Expr::Like {
                    expr: Box::new(self.expr(d)),
                    pattern: Box::new(self.expr(d)),
                    escape: (self.next(2) == 0).then(|| "!".to_string()),
                    negated: self.next(2) == 0,
                },
                10 => Expr::InList {
                    expr: Box::new(self.expr(d)),
                    list: vec![self.expr(d), self.expr(d)],
                    negated: self.next(2) == 0,
                },
                11 => Expr::Subscript {
                    expr: Box::new(self.expr(d)),
                    index: Box::new(self.expr(d)),
                },
                12 => Expr::Deref {
                    expr: Box::new(self.expr(d)),
                    field: "F".into(),
                },
                13 => Expr::IsDistinctFrom {
                    left: Box::new(self.expr(d)),
                    right: Box::new(self.expr(d)),
                    negated: self.next(2) == 0,
                },
                14 => Expr::Function {
                    name: "F".into(),
                    args: vec![
                        self.expr(d),
                        Expr::Lambda {
                            params: vec!["X".into(), "Y".into()],
                            body: Box::new(self.expr(d)),
                        },
                    ],
                    star: false,
                    distinct: false,
                },
                _ => Expr::Case {
                    operand: (self.next(2) == 0).then(|| Box::new(self.expr(d))),
                    whens: vec![(self.expr(d), self.expr(d))],
                    else_result: Some(Box::new(self.expr(d))),
                },
            }
        }
    }

    #[test]
    fn random_expressions_round_trip() {
        let mut g = Gen(42);
        for _ in 0..3000 {
            let depth = 1 + g.next(4) as u32;
            let e = g.expr(depth);
            assert_expr_round_trips(&e);
        }
    }
}
