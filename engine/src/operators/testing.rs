//! A harness for testing one operator at a time: rows written in a small
//! text notation go in, and what comes out is compared, as text, with the
//! rows expected.
//!
//! # Row notation
//!
//! One row per line; values are separated by spaces and laid out (and, for
//! input rows, typed) by a [`Layout`] such as `"K STRING, V BIGINT"`:
//!
//! ```text
//! + a 5 @1000               an insert or upsert: values, then event time
//! - a 5 @1000               a tombstone (`row.tombstone`), with the values it carries
//! + a 5 @1000 old(a 4)      a table change and the row it replaces (`row.old`)
//! + a 3 [0,10000) @1000     a windowed row (`row.window`, shown as [start,end))
//! + a 5 @1000 nokey         a record without a key (`row.null_key`)
//! ```
//!
//! Values: `null`; numbers; `true`/`false`; strings bare when they look like
//! identifiers, otherwise quoted (`'a b'`, `'5'`, quotes doubled inside);
//! arrays as `[1,2,3]`. In input rows the event time defaults to 0 and the
//! annotations may come in any order; output rows are always shown in the
//! order above, with their time (and `headers(n)` when they carry headers).
//! Session windows use the same brackets, though their end is inclusive.
//! Lines that are empty or start with `#` are skipped. Join inputs prefix
//! each line with its side: `left: + a 1 @10`.
//!
//! Everything the tests use from the rest of the crate is re-exported here,
//! so the test files import only `crate::operators::testing::*`.

pub(crate) use crate::catalog::WindowInfo;
pub(crate) use crate::expr::{Compiled, Scope, ScopeColumn};
pub(crate) use crate::functions::aggregate::AggregateRegistry;
pub(crate) use crate::operators::aggregate::{AggregateCall, AggregateOperator, WindowAssigner};
pub(crate) use crate::operators::fk_join::FkJoinOperator;
pub(crate) use crate::operators::join_row::JoinLayout;
pub(crate) use crate::operators::materialize::MaterializeOperator;
pub(crate) use crate::operators::stream_stream_join::StreamStreamJoinOperator;
pub(crate) use crate::operators::stream_table_join::StreamTableJoinOperator;
pub(crate) use crate::operators::table_table_join::TableTableJoinOperator;
pub(crate) use crate::operators::{Context, JoinOperator, Operator, ProcessingError, Row, Window};
pub(crate) use crate::operators::{
    FilterOperator, FlatMapOperator, ProjectOperator, TableFunction, TimestampOperator,
};
pub(crate) use crate::sql::ast::{Expr, JoinKind};
pub(crate) use crate::types::{Decimal, SqlType, Value};

use crate::sql::parser::{parse_expr, parse_type};

/// Named, typed columns: the layout of the rows an operator reads, against
/// which expressions are compiled and input rows are parsed.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    columns: Vec<ScopeColumn>,
}

/// A layout from column definitions: `"K STRING, V BIGINT, A.X INT"` (a
/// `Q.` prefix sets the column's qualifier).
pub(crate) fn layout(spec: &str) -> Layout {
    let columns = split_top_level(spec, ',')
        .into_iter()
        .map(|def| {
            let def = def.trim();
            let (name, ty) = def
                .split_once(char::is_whitespace)
                .unwrap_or_else(|| panic!("column definition without a type: {def:?}"));
            let ty = parse_type(ty.trim()).unwrap_or_else(|e| panic!("bad type in {def:?}: {e}"));
            let (qualifier, name) = match name.split_once('.') {
                Some((q, n)) => (Some(q.to_string()), n.to_string()),
                None => (None, name.to_string()),
            };
            ScopeColumn {
                qualifier,
                name,
                ty,
            }
        })
        .collect();
    Layout { columns }
}

impl Layout {
    /// The scope expressions over these rows are compiled in.
    pub(crate) fn scope(&self) -> Scope {
        Scope::new(self.columns.clone())
    }

    /// The number of columns.
    pub(crate) fn len(&self) -> usize {
        self.columns.len()
    }

    /// Compiles a SQL expression over these rows.
    #[track_caller]
    pub(crate) fn expr(&self, sql: &str) -> Compiled {
        let parsed = parse_expr(sql).unwrap_or_else(|e| panic!("cannot parse {sql:?}: {e}"));
        Compiled::compile(&parsed, &self.scope())
            .unwrap_or_else(|e| panic!("cannot compile {sql:?}: {e}"))
    }

    /// An aggregate call such as `SUM(V)` or `COUNT(*)`, resolved as the
    /// planner resolves it (literal parameters after the first argument are
    /// passed by value).
    #[track_caller]
    pub(crate) fn aggregate(&self, sql: &str) -> AggregateCall {
        let parsed = parse_expr(sql).unwrap_or_else(|e| panic!("cannot parse {sql:?}: {e}"));
        let Expr::Function { name, args, .. } = parsed else {
            panic!("not a function call: {sql:?}");
        };
        let mut arg_exprs = Vec::new();
        let mut types = Vec::new();
        let mut literals = Vec::new();
        for (i, a) in args.iter().enumerate() {
            let c = Compiled::compile(a, &self.scope())
                .unwrap_or_else(|e| panic!("cannot compile {a} in {sql:?}: {e}"));
            types.push(c.ty.clone());
            match c.as_literal() {
                Some(v) if i > 0 => literals.push(Some(v.clone())),
                _ => {
                    literals.push(None);
                    arg_exprs.push(c);
                }
            }
        }
        let function = AggregateRegistry::global()
            .resolve(&name, &types, &literals)
            .unwrap_or_else(|e| panic!("cannot resolve {sql:?}: {e}"));
        AggregateCall {
            args: arg_exprs,
            function,
        }
    }

    /// Parses rows, one per line (see the module's notation).
    #[track_caller]
    pub(crate) fn rows(&self, text: &str) -> Vec<Row> {
        lines(text).map(|l| self.row(l)).collect()
    }

    /// Parses one row (see the module's notation).
    #[track_caller]
    pub(crate) fn row(&self, line: &str) -> Row {
        let tokens = tokenize(line);
        let (sign, rest) = tokens
            .split_first()
            .unwrap_or_else(|| panic!("empty row: {line:?}"));
        let mut row = Row {
            tombstone: match sign.as_str() {
                "+" => false,
                "-" => true,
                other => panic!("a row starts with + or -, not {other:?}: {line:?}"),
            },
            ..Row::default()
        };
        let mut values = Vec::new();
        for tok in rest {
            if let Some(ts) = tok.strip_prefix('@') {
                row.ts = ts
                    .parse()
                    .unwrap_or_else(|_| panic!("bad time {tok:?} in {line:?}"));
            } else if tok == "nokey" {
                row.null_key = true;
            } else if let Some(inner) = tok.strip_prefix("old(") {
                let inner = inner
                    .strip_suffix(')')
                    .unwrap_or_else(|| panic!("unclosed old( in {line:?}"));
                row.old = Some(self.values(&tokenize(inner), line));
            } else if let Some(w) = parse_window(tok) {
                row.window = Some(w);
            } else {
                values.push(tok.clone());
            }
        }
        row.values = self.values(&values, line);
        row
    }

    fn values(&self, tokens: &[String], line: &str) -> Vec<Value> {
        assert_eq!(
            tokens.len(),
            self.columns.len(),
            "{line:?} has {} values {tokens:?}, the layout {} columns: {:?}",
            tokens.len(),
            self.columns.len(),
            self.columns.iter().map(|c| &c.name).collect::<Vec<_>>()
        );
        tokens
            .iter()
            .zip(&self.columns)
            .map(|(t, c)| parse_value(t, &c.ty))
            .collect()
    }
}

/// The non-empty, non-comment lines of a block of rows, trimmed.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// Splits on `sep` outside brackets and quotes.
fn split_top_level(text: &str, sep: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut depth = 0i32;
    let mut quoted = false;
    for ch in text.chars() {
        match ch {
            '\'' => quoted = !quoted,
            '[' | '(' | '{' | '<' if !quoted => depth += 1,
            ']' | ')' | '}' | '>' if !quoted => depth -= 1,
            _ => {}
        }
        if ch == sep && depth == 0 && !quoted {
            parts.push(std::mem::take(&mut current));
        } else {
            current.push(ch);
        }
    }
    parts.push(current);
    parts
}

/// Splits a row into tokens at spaces outside brackets and quotes.
fn tokenize(line: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut depth = 0i32;
    let mut quoted = false;
    for ch in line.chars() {
        match ch {
            '\'' => quoted = !quoted,
            '[' | '(' | '{' if !quoted => depth += 1,
            ']' | ')' | '}' if !quoted => depth -= 1,
            _ => {}
        }
        if ch.is_whitespace() && depth == 0 && !quoted {
            if !current.is_empty() {
                tokens.push(std::mem::take(&mut current));
            }
        } else {
            current.push(ch);
        }
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

/// `[start,end)` as a window.
fn parse_window(tok: &str) -> Option<Window> {
    let inner = tok.strip_prefix('[')?.strip_suffix(')')?;
    let (start, end) = inner.split_once(',')?;
    Some(Window {
        start: start.trim().parse().ok()?,
        end: end.trim().parse().ok()?,
    })
}

/// A value of type `ty` written in the notation.
fn parse_value(tok: &str, ty: &SqlType) -> Value {
    if tok == "null" {
        return Value::Null;
    }
    let bad = || -> ! { panic!("cannot read {tok:?} as {ty}") };
    match ty {
        SqlType::Boolean => Value::Bool(tok.parse().unwrap_or_else(|_| bad())),
        SqlType::Int => Value::Int(tok.parse().unwrap_or_else(|_| bad())),
        SqlType::BigInt => Value::BigInt(tok.parse().unwrap_or_else(|_| bad())),
        SqlType::Double => Value::Double(tok.parse().unwrap_or_else(|_| bad())),
        SqlType::Decimal(..) => Value::Decimal(Decimal::parse(tok).unwrap_or_else(|| bad())),
        SqlType::Timestamp => Value::Timestamp(tok.parse().unwrap_or_else(|_| bad())),
        SqlType::String => Value::String(unquote(tok)),
        SqlType::Array(elem) => {
            let inner = tok
                .strip_prefix('[')
                .and_then(|t| t.strip_suffix(']'))
                .unwrap_or_else(|| bad());
            if inner.trim().is_empty() {
                return Value::Array(Vec::new());
            }
            Value::Array(
                split_top_level(inner, ',')
                    .iter()
                    .map(|item| parse_value(item.trim(), elem))
                    .collect(),
            )
        }
        _ => panic!("the row notation does not read {ty} values ({tok:?})"),
    }
}

/// A string token: quoted (`'a b'`, `''` for a quote) or bare.
fn unquote(tok: &str) -> String {
    match tok.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
        Some(inner) => inner.replace("''", "'"),
        None => tok.to_string(),
    }
}

/// A value in the notation (one token).
pub(crate) fn render_value(v: &Value) -> String {
    match v {
        Value::String(s) => {
            let bare = s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !matches!(s.as_str(), "null" | "true" | "false" | "nokey");
            if bare {
                s.clone()
            } else {
                format!("'{}'", s.replace('\'', "''"))
            }
        }
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(render_value).collect::<Vec<_>>().join(",")
        ),
        Value::Map(entries) => format!(
            "{{{}}}",
            entries
                .iter()
                .map(|(k, v)| format!("{}={}", render_value(k), render_value(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        Value::Struct(fields) => format!(
            "{{{}}}",
            fields
                .iter()
                .map(|(k, v)| format!("{k}:{}", render_value(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        other => other.to_string(),
    }
}

/// A row in the notation.
pub(crate) fn render_row(row: &Row) -> String {
    let mut parts = vec![if row.tombstone { "-" } else { "+" }.to_string()];
    parts.extend(row.values.iter().map(render_value));
    if let Some(w) = row.window {
        parts.push(format!("[{},{})", w.start, w.end));
    }
    parts.push(format!("@{}", row.ts));
    if row.null_key {
        parts.push("nokey".into());
    }
    if let Some(h) = &row.headers {
        parts.push(format!("headers({})", h.len()));
    }
    if let Some(old) = &row.old {
        let old: Vec<String> = old.iter().map(render_value).collect();
        parts.push(format!("old({})", old.join(" ")));
    }
    parts.join(" ")
}

/// A line of expected output with its spacing made canonical.
fn normalize(line: &str) -> String {
    tokenize(line)
        .into_iter()
        .map(
            |t| match t.strip_prefix("old(").and_then(|t| t.strip_suffix(')')) {
                Some(inner) => format!("old({})", tokenize(inner).join(" ")),
                None => t,
            },
        )
        .collect::<Vec<_>>()
        .join(" ")
}

/// Asserts that `actual` are the rows written in `expected` (in order),
/// showing both sides when they differ.
#[track_caller]
pub(crate) fn assert_rows(actual: &[Row], expected: &str) {
    let got: Vec<String> = actual.iter().map(render_row).collect();
    let want: Vec<String> = lines(expected).map(normalize).collect();
    if got == want {
        return;
    }
    let width = want.iter().map(String::len).max().unwrap_or(0).max(8);
    let mut report = format!(
        "operator output differs ({} rows expected, {} produced)\n  {:width$} | actual\n",
        want.len(),
        got.len(),
        "expected"
    );
    for i in 0..want.len().max(got.len()) {
        let w = want.get(i).map(String::as_str).unwrap_or("");
        let g = got.get(i).map(String::as_str).unwrap_or("");
        let mark = if w == g { ' ' } else { '>' };
        report.push_str(&format!("{mark} {w:width$} | {g}\n"));
    }
    panic!("{report}");
}

/// The messages of the processing errors reported so far.
pub(crate) fn error_messages(ctx: &Context) -> Vec<String> {
    ctx.errors
        .iter()
        .map(|e| match e {
            ProcessingError::Processing { message, row } => format!("{message} in {row}"),
            other => format!("{other:?}"),
        })
        .collect()
}

/// Operators run one after another, as a query's pipeline runs them (an
/// aggregation and its HAVING filter, say).
pub(crate) struct Chain(pub(crate) Vec<Box<dyn Operator>>);

impl Operator for Chain {
    fn process(&mut self, rows: Vec<Row>, ctx: &mut Context) -> crate::error::Result<Vec<Row>> {
        let mut rows = rows;
        for op in &mut self.0 {
            rows = op.process(rows, ctx)?;
        }
        Ok(rows)
    }

    fn name(&self) -> &'static str {
        "Chain"
    }

    fn describe(&self) -> String {
        self.0
            .iter()
            .map(|op| op.name())
            .collect::<Vec<_>>()
            .join(" -> ")
    }
}

/// One operator, its input layout and its context.
pub(crate) struct OpHarness<O> {
    pub(crate) op: O,
    pub(crate) input: Layout,
    pub(crate) ctx: Context,
}

impl<O: Operator> OpHarness<O> {
    /// An operator reading rows of `input`.
    pub(crate) fn new(input: Layout, op: O) -> Self {
        OpHarness {
            op,
            input,
            ctx: Context::default(),
        }
    }

    /// Feeds the rows written in `input` as one batch; returns the output.
    #[track_caller]
    pub(crate) fn process(&mut self, input: &str) -> Vec<Row> {
        let rows = self.input.rows(input);
        self.op
            .process(rows, &mut self.ctx)
            .unwrap_or_else(|e| panic!("the operator failed: {e}"))
    }

    /// Feeds one batch and asserts its output.
    #[track_caller]
    pub(crate) fn check(&mut self, input: &str, expected: &str) {
        let out = self.process(input);
        assert_rows(&out, expected);
    }

    /// Feeds each row of `input` as a batch of its own and asserts the
    /// output of all of them.
    #[track_caller]
    pub(crate) fn check_each(&mut self, input: &str, expected: &str) {
        let mut out = Vec::new();
        for line in lines(input) {
            out.extend(self.process(line));
        }
        assert_rows(&out, expected);
    }

    /// The processing errors reported so far.
    pub(crate) fn errors(&self) -> Vec<String> {
        error_messages(&self.ctx)
    }
}

/// The layout of a join of two sides without pseudo-columns: left values,
/// right values, then the join key (ROWKEY).
pub(crate) fn join_layout(left: &Layout, right: &Layout) -> JoinLayout {
    let names = |l: &Layout| {
        l.columns
            .iter()
            .map(|c| match &c.qualifier {
                Some(q) => format!("{q}.{}", c.name),
                None => c.name.clone(),
            })
            .collect()
    };
    JoinLayout {
        left: (left.len(), left.len()),
        right: (right.len(), right.len()),
        names: [names(left), names(right)],
    }
}

/// One join operator, its two input layouts and its context.
pub(crate) struct JoinHarness<J> {
    pub(crate) op: J,
    pub(crate) left: Layout,
    pub(crate) right: Layout,
    pub(crate) ctx: Context,
}

impl<J: JoinOperator> JoinHarness<J> {
    /// A join reading rows of `left` (side 0) and `right` (side 1).
    pub(crate) fn new(left: Layout, right: Layout, op: J) -> Self {
        JoinHarness {
            op,
            left,
            right,
            ctx: Context::default(),
        }
    }

    /// Feeds rows prefixed by their side (`left:` or `right:`); consecutive
    /// rows of one side go in as one batch. Returns all output.
    #[track_caller]
    pub(crate) fn process(&mut self, input: &str) -> Vec<Row> {
        let mut batches: Vec<(usize, Vec<Row>)> = Vec::new();
        for line in lines(input) {
            let (side, row) = if let Some(r) = line.strip_prefix("left:") {
                (0, self.left.row(r))
            } else if let Some(r) = line.strip_prefix("right:") {
                (1, self.right.row(r))
            } else {
                panic!("a join input line starts with left: or right:, not {line:?}");
            };
            match batches.last_mut() {
                Some((s, rows)) if *s == side => rows.push(row),
                _ => batches.push((side, vec![row])),
            }
        }
        let mut out = Vec::new();
        for (side, rows) in batches {
            out.extend(
                self.op
                    .process(side, rows, &mut self.ctx)
                    .unwrap_or_else(|e| panic!("the join failed: {e}")),
            );
        }
        out
    }

    /// Feeds rows (see [`JoinHarness::process`]) and asserts the output.
    #[track_caller]
    pub(crate) fn check(&mut self, input: &str, expected: &str) {
        let out = self.process(input);
        assert_rows(&out, expected);
    }

    /// The processing errors reported so far.
    pub(crate) fn errors(&self) -> Vec<String> {
        error_messages(&self.ctx)
    }
}

mod tests {
    use super::*;

    #[test]
    fn rows_read_and_render_in_the_notation() {
        let l = layout("K STRING, V BIGINT, XS ARRAY<INT>");
        let row = l.row("+ 'a b'  5 [1, 2] [0,10) @7 nokey old(x null [])");
        assert_eq!(
            row,
            Row {
                values: vec![
                    Value::String("a b".into()),
                    Value::BigInt(5),
                    Value::Array(vec![Value::Int(1), Value::Int(2)]),
                ],
                ts: 7,
                null_key: true,
                window: Some(Window { start: 0, end: 10 }),
                old: Some(vec![
                    Value::String("x".into()),
                    Value::Null,
                    Value::Array(Vec::new())
                ]),
                ..Row::default()
            }
        );
        assert_eq!(
            render_row(&row),
            "+ 'a b' 5 [1,2] [0,10) @7 nokey old(x null [])"
        );
        assert_rows(&[row], "+ 'a b' 5 [1,2]   [0,10) @7 nokey old( x null [] )");
        assert_eq!(render_row(&l.row("- '5' null null")), "- '5' null null @0");
    }

    #[test]
    #[should_panic(expected = "operator output differs")]
    fn a_difference_fails_the_assertion() {
        let l = layout("K STRING");
        assert_rows(&l.rows("+ a @1"), "+ a @2");
    }
}
