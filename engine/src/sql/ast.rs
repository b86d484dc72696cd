//! The statement AST of ksqlDB's dialect. Every node prints back to SQL
//! (`sql/display.rs`) that parses to an equal tree.

use crate::types::SqlType;

/// A parsed statement with the position of its first token.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// CREATE [OR REPLACE] [SOURCE] STREAM|TABLE [IF NOT EXISTS] name (cols) WITH (...)
    CreateSource(CreateSource),
    /// CREATE [OR REPLACE] STREAM|TABLE [IF NOT EXISTS] name [WITH (...)] AS SELECT ...
    CreateAsSelect(CreateAsSelect),
    /// INSERT INTO name SELECT ...
    InsertInto { target: String, query: Box<Query> },
    /// INSERT INTO name [(cols)] VALUES (exprs)
    InsertValues {
        target: String,
        columns: Option<Vec<String>>,
        values: Vec<Expr>,
    },
    /// A push (EMIT CHANGES) or pull query.
    Query(Box<Query>),
    /// SHOW|LIST what [EXTENDED]
    Show { what: ShowWhat, extended: bool },
    /// DESCRIBE [STREAMS|TABLES|name] [EXTENDED]
    Describe {
        target: DescribeTarget,
        extended: bool,
    },
    /// DESCRIBE FUNCTION name
    DescribeFunction(String),
    /// EXPLAIN query-id | EXPLAIN statement
    Explain(ExplainTarget),
    /// DROP STREAM|TABLE [IF EXISTS] name [DELETE TOPIC]
    Drop {
        kind: SourceKind,
        if_exists: bool,
        name: String,
        delete_topic: bool,
    },
    /// DROP TYPE [IF EXISTS] name
    DropType { if_exists: bool, name: String },
    /// TERMINATE query-id | TERMINATE ALL
    Terminate(QueryTarget),
    /// PAUSE query-id | ALL
    Pause(QueryTarget),
    /// RESUME query-id | ALL
    Resume(QueryTarget),
    /// SET 'name' = 'value'
    Set { name: String, value: String },
    /// UNSET 'name'
    Unset { name: String },
    /// DEFINE name = 'value'
    Define { name: String, value: String },
    /// UNDEFINE name
    Undefine { name: String },
    /// PRINT topic [FROM BEGINNING] [INTERVAL n] [LIMIT n]
    Print {
        topic: String,
        from_beginning: bool,
        interval: Option<u64>,
        limit: Option<u64>,
    },
    /// CREATE TYPE [IF NOT EXISTS] name AS type
    CreateType {
        if_not_exists: bool,
        name: String,
        ty: SqlType,
    },
    /// ASSERT [NOT EXISTS] TOPIC name [WITH (...)] [TIMEOUT n unit]
    /// ASSERT [NOT EXISTS] SCHEMA [SUBJECT name] [ID n] [TIMEOUT n unit]
    Assert(AssertStatement),
    /// CREATE SOURCE|SINK CONNECTOR [IF NOT EXISTS] name WITH (...)
    CreateConnector(CreateConnector),
    /// SHOW|LIST [SOURCE|SINK] CONNECTORS
    ShowConnectors(Option<ConnectorKind>),
    /// DESCRIBE CONNECTOR name
    DescribeConnector(String),
    /// DROP CONNECTOR [IF EXISTS] name
    DropConnector { if_exists: bool, name: String },
    /// PAUSE CONNECTOR name (Sluice's: ksqlDB has no statement for it)
    PauseConnector(String),
    /// RESUME CONNECTOR name (Sluice's, as PAUSE CONNECTOR)
    ResumeConnector(String),
    /// ALTER STREAM|TABLE name ADD [COLUMN] col type, ...
    Alter {
        kind: SourceKind,
        name: String,
        add_columns: Vec<(String, SqlType)>,
    },
}

/// Which way a connector moves records: into topics or out of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectorKind {
    Source,
    Sink,
}

impl ConnectorKind {
    /// `source` or `sink`, as Kafka Connect and ksqlDB's entities write it.
    pub fn lower(&self) -> &'static str {
        match self {
            ConnectorKind::Source => "source",
            ConnectorKind::Sink => "sink",
        }
    }
}

/// CREATE SOURCE|SINK CONNECTOR: the connector's configuration keeps its
/// keys exactly as written (`"connector.class"`), values as text.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateConnector {
    pub kind: ConnectorKind,
    pub if_not_exists: bool,
    pub name: String,
    pub config: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    Stream,
    Table,
}

/// What a column declaration binds to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnConstraint {
    None,
    /// KEY (streams)
    Key,
    /// PRIMARY KEY (tables)
    PrimaryKey,
    /// HEADERS: all headers, ARRAY<STRUCT<KEY STRING, VALUE BYTES>>
    Headers,
    /// HEADER('name'): one header's bytes
    Header(String),
}

/// One column in CREATE STREAM/TABLE.
#[derive(Debug, Clone, PartialEq)]
pub struct TableElement {
    /// As the user wrote it: upper-cased unless quoted.
    pub name: String,
    pub ty: SqlType,
    pub constraint: ColumnConstraint,
}

/// A literal in a WITH clause or SET.
#[derive(Debug, Clone, PartialEq)]
pub enum PropValue {
    String(String),
    Number(String),
    Bool(bool),
}

/// `WITH (NAME = value, ...)`; names upper-cased, in written order.
pub type Properties = Vec<(String, PropValue)>;

#[derive(Debug, Clone, PartialEq)]
pub struct CreateSource {
    pub kind: SourceKind,
    pub or_replace: bool,
    pub if_not_exists: bool,
    /// CREATE SOURCE STREAM/TABLE: read-only.
    pub is_source: bool,
    pub name: String,
    pub elements: Vec<TableElement>,
    pub properties: Properties,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreateAsSelect {
    pub kind: SourceKind,
    pub or_replace: bool,
    pub if_not_exists: bool,
    pub name: String,
    pub properties: Properties,
    pub query: Box<Query>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShowWhat {
    Streams,
    Tables,
    Queries,
    /// TOPICS or ALL TOPICS
    Topics {
        all: bool,
    },
    Properties,
    Functions,
    Types,
    Variables,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DescribeTarget {
    Source(String),
    /// DESCRIBE STREAMS
    Streams,
    /// DESCRIBE TABLES
    Tables,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExplainTarget {
    QueryId(String),
    Statement(Box<Statement>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryTarget {
    Id(String),
    All,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AssertStatement {
    pub not_exists: bool,
    pub kind: AssertKind,
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AssertKind {
    Topic {
        name: String,
        properties: Properties,
    },
    Schema {
        subject: Option<String>,
        id: Option<i64>,
    },
}

/// A span of time as written (`10 SECONDS`): amount and unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duration {
    pub amount: u64,
    pub unit: TimeUnit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeUnit {
    Milliseconds,
    Seconds,
    Minutes,
    Hours,
    Days,
}

impl TimeUnit {
    /// Accepts singular and plural unit words, any case.
    pub fn parse(word: &str) -> Option<TimeUnit> {
        Some(match word.to_ascii_uppercase().as_str() {
            "MILLISECOND" | "MILLISECONDS" => TimeUnit::Milliseconds,
            "SECOND" | "SECONDS" => TimeUnit::Seconds,
            "MINUTE" | "MINUTES" => TimeUnit::Minutes,
            "HOUR" | "HOURS" => TimeUnit::Hours,
            "DAY" | "DAYS" => TimeUnit::Days,
            _ => return None,
        })
    }
    pub fn millis(&self) -> u64 {
        match self {
            TimeUnit::Milliseconds => 1,
            TimeUnit::Seconds => 1_000,
            TimeUnit::Minutes => 60_000,
            TimeUnit::Hours => 3_600_000,
            TimeUnit::Days => 86_400_000,
        }
    }
    pub fn name(&self) -> &'static str {
        match self {
            TimeUnit::Milliseconds => "MILLISECONDS",
            TimeUnit::Seconds => "SECONDS",
            TimeUnit::Minutes => "MINUTES",
            TimeUnit::Hours => "HOURS",
            TimeUnit::Days => "DAYS",
        }
    }
}

impl Duration {
    pub fn millis(&self) -> i64 {
        (self.amount * self.unit.millis()) as i64
    }
}

/// SELECT ... FROM ... [WINDOW] [WHERE] [GROUP BY] [HAVING] [PARTITION BY]
/// [EMIT CHANGES|FINAL] [LIMIT n]
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub select: Vec<SelectItem>,
    pub from: Relation,
    pub joins: Vec<Join>,
    pub window: Option<WindowSpec>,
    pub where_clause: Option<Expr>,
    pub group_by: Vec<Expr>,
    pub partition_by: Vec<Expr>,
    pub having: Option<Expr>,
    pub emit: Option<Emit>,
    /// ORDER BY (pull queries only, beyond ksqlDB): expressions and whether
    /// each sorts descending.
    pub order_by: Vec<(Expr, bool)>,
    pub limit: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    /// `*` or `alias.*`
    Star(Option<String>),
    Expr {
        expr: Expr,
        alias: Option<String>,
    },
}

/// A source in FROM or JOIN, with its optional alias.
#[derive(Debug, Clone, PartialEq)]
pub struct Relation {
    pub name: String,
    pub alias: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    Inner,
    Left,
    Right,
    Full,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Join {
    pub kind: JoinKind,
    pub right: Relation,
    pub within: Option<Within>,
    pub on: Expr,
}

/// `WITHIN n unit` or `WITHIN (before, after)`, with optional grace.
#[derive(Debug, Clone, PartialEq)]
pub struct Within {
    pub before: Duration,
    /// Equal to `before` when a single span was given.
    pub after: Duration,
    /// True when written as `(before, after)`.
    pub asymmetric: bool,
    pub grace: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum WindowSpec {
    Tumbling {
        size: Duration,
        retention: Option<Duration>,
        grace: Option<Duration>,
    },
    Hopping {
        size: Duration,
        advance: Duration,
        retention: Option<Duration>,
        grace: Option<Duration>,
    },
    Session {
        gap: Duration,
        retention: Option<Duration>,
        grace: Option<Duration>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emit {
    Changes,
    Final,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Bool(bool),
    /// An integer literal, as written.
    Integer(i64),
    /// A literal with a decimal point and no exponent: ksqlDB types it DECIMAL.
    Decimal(String),
    /// A literal with an exponent: DOUBLE.
    Double(String),
    String(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Plus,
    Not,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    /// `||`, string concatenation
    Concat,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    And,
    Or,
}

/// A SQL expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `name` or `source.name` (names upper-cased unless quoted).
    Column {
        qualifier: Option<String>,
        name: String,
    },
    Literal(Literal),
    Unary {
        op: UnaryOp,
        expr: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    /// `a IS [NOT] DISTINCT FROM b`
    IsDistinctFrom {
        left: Box<Expr>,
        right: Box<Expr>,
        negated: bool,
    },
    Like {
        expr: Box<Expr>,
        pattern: Box<Expr>,
        escape: Option<String>,
        negated: bool,
    },
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    InList {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    Case {
        operand: Option<Box<Expr>>,
        whens: Vec<(Expr, Expr)>,
        else_result: Option<Box<Expr>>,
    },
    Cast {
        expr: Box<Expr>,
        ty: SqlType,
    },
    /// `name(args)`, `name(*)` (star), `name(DISTINCT args)`.
    Function {
        name: String,
        args: Vec<Expr>,
        star: bool,
        distinct: bool,
    },
    /// `expr->field`
    Deref {
        expr: Box<Expr>,
        field: String,
    },
    /// `expr[index]`
    Subscript {
        expr: Box<Expr>,
        index: Box<Expr>,
    },
    /// `ARRAY[a, b]`
    Array(Vec<Expr>),
    /// `MAP(k := v, ...)`
    Map(Vec<(Expr, Expr)>),
    /// `STRUCT(name := v, ...)`
    Struct(Vec<(String, Expr)>),
    /// `x => body`, `(x, y) => body`
    Lambda {
        params: Vec<String>,
        body: Box<Expr>,
    },
}
