//! The parser's tests: statements of every kind, precedence, literals,
//! error positions and messages, splitting, round trips through `Display`
//! and ksqlDB's conformance corpus.

use super::*;

fn p(sql: &str) -> Statement {
    match parse_statement(sql, Pos { line: 1, col: 1 }) {
        Ok(s) => s,
        Err(e) => panic!("{sql}\n  -> {e}"),
    }
}

fn err(sql: &str) -> (Pos, String) {
    match parse_statement(sql, Pos { line: 1, col: 1 }) {
        Err(crate::Error::Parse { pos, message }) => (pos, message),
        other => panic!("expected a parse error for {sql}, got {other:?}"),
    }
}

fn col(name: &str) -> Expr {
    Expr::Column {
        qualifier: None,
        name: name.into(),
    }
}

fn int(i: i64) -> Expr {
    Expr::Literal(Literal::Integer(i))
}

fn query(sql: &str) -> Query {
    match p(sql) {
        Statement::Query(q) => *q,
        other => panic!("not a query: {other:?}"),
    }
}

#[test]
fn create_stream_with_columns() {
    let s = p("create stream s (id string key, `Val` int, h array<struct<`KEY` string, `VALUE` bytes>> headers, \
               x bytes header('k')) with (kafka_topic='t', partitions=2, wrap_single_value=false);");
    let Statement::CreateSource(c) = s else {
        panic!("not a create")
    };
    assert_eq!(c.kind, SourceKind::Stream);
    assert_eq!(c.name, "S");
    assert_eq!(c.elements[0].name, "ID");
    assert_eq!(c.elements[0].constraint, ColumnConstraint::Key);
    assert_eq!(c.elements[1].name, "Val");
    assert_eq!(c.elements[1].ty, SqlType::Int);
    assert_eq!(c.elements[2].constraint, ColumnConstraint::Headers);
    assert_eq!(
        c.elements[3].constraint,
        ColumnConstraint::Header("k".into())
    );
    assert_eq!(
        c.properties,
        vec![
            ("KAFKA_TOPIC".into(), PropValue::String("t".into())),
            ("PARTITIONS".into(), PropValue::Number("2".into())),
            ("WRAP_SINGLE_VALUE".into(), PropValue::Bool(false)),
        ]
    );
}

#[test]
fn create_as_select_and_clauses() {
    let s = p(
        "CREATE TABLE IF NOT EXISTS t WITH (kafka_topic='o') AS SELECT k, COUNT(*) AS c \
               FROM s WINDOW TUMBLING (SIZE 1 MINUTE, GRACE PERIOD 10 SECONDS) WHERE x > 1 \
               GROUP BY k HAVING COUNT(*) > 2 EMIT FINAL",
    );
    let Statement::CreateAsSelect(c) = s else {
        panic!("not a CTAS")
    };
    assert!(c.if_not_exists);
    let q = c.query;
    assert_eq!(q.group_by, vec![col("K")]);
    assert_eq!(q.emit, Some(Emit::Final));
    assert_eq!(
        q.window,
        Some(WindowSpec::Tumbling {
            size: Duration {
                amount: 1,
                unit: TimeUnit::Minutes
            },
            retention: None,
            grace: Some(Duration {
                amount: 10,
                unit: TimeUnit::Seconds
            }),
        })
    );
}

#[test]
fn joins() {
    let q = query(
        "SELECT * FROM a x LEFT OUTER JOIN b AS y WITHIN (1 SECOND, 2 SECONDS) GRACE PERIOD 3 SECONDS \
         ON x.id = y.id FULL JOIN c ON x.id = c.id JOIN d WITHIN 5 MINUTES ON d.k = x.k EMIT CHANGES",
    );
    assert_eq!(q.from.alias.as_deref(), Some("X"));
    assert_eq!(q.joins.len(), 3);
    assert_eq!(q.joins[0].kind, JoinKind::Left);
    let w = q.joins[0].within.as_ref().unwrap();
    assert!(w.asymmetric);
    assert_eq!(w.after.amount, 2);
    assert_eq!(w.grace.unwrap().amount, 3);
    assert_eq!(q.joins[1].kind, JoinKind::Full);
    assert_eq!(q.joins[2].kind, JoinKind::Inner);
    assert!(!q.joins[2].within.as_ref().unwrap().asymmetric);
}

#[test]
fn precedence() {
    let e = parse_expr("a OR b AND NOT c = 1 + 2 * -3").unwrap();
    let expected = Expr::Binary {
        op: BinaryOp::Or,
        left: Box::new(col("A")),
        right: Box::new(Expr::Binary {
            op: BinaryOp::And,
            left: Box::new(col("B")),
            right: Box::new(Expr::Unary {
                op: UnaryOp::Not,
                expr: Box::new(Expr::Binary {
                    op: BinaryOp::Eq,
                    left: Box::new(col("C")),
                    right: Box::new(Expr::Binary {
                        op: BinaryOp::Add,
                        left: Box::new(int(1)),
                        right: Box::new(Expr::Binary {
                            op: BinaryOp::Mul,
                            left: Box::new(int(2)),
                            right: Box::new(int(-3)),
                        }),
                    }),
                }),
            }),
        }),
    };
    assert_eq!(e, expected);
    let e = parse_expr("a || b + c").unwrap();
    assert!(matches!(
        e,
        Expr::Binary {
            op: BinaryOp::Concat,
            ..
        }
    ));
    let e = parse_expr("1 - 2 - 3").unwrap();
    let Expr::Binary { left, .. } = e else {
        panic!()
    };
    assert!(matches!(
        *left,
        Expr::Binary {
            op: BinaryOp::Sub,
            ..
        }
    ));
}

#[test]
fn literals() {
    assert_eq!(
        parse_expr("1.5").unwrap(),
        Expr::Literal(Literal::Decimal("1.5".into()))
    );
    assert_eq!(
        parse_expr(".5").unwrap(),
        Expr::Literal(Literal::Decimal(".5".into()))
    );
    assert_eq!(
        parse_expr("1e3").unwrap(),
        Expr::Literal(Literal::Double("1e3".into()))
    );
    assert_eq!(
        parse_expr("-1.5E-3").unwrap(),
        Expr::Literal(Literal::Double("-1.5E-3".into()))
    );
    assert_eq!(
        parse_expr("-9223372036854775808").unwrap(),
        Expr::Literal(Literal::Integer(i64::MIN))
    );
    assert!(parse_expr("9223372036854775808").is_err());
    assert_eq!(
        parse_expr("'it''s'").unwrap(),
        Expr::Literal(Literal::String("it's".into()))
    );
}

#[test]
fn expression_forms() {
    let e = parse_expr("s.a->b->c[1]").unwrap();
    let Expr::Subscript { expr, .. } = e else {
        panic!()
    };
    let Expr::Deref { expr, field } = *expr else {
        panic!()
    };
    assert_eq!(field, "C");
    assert!(matches!(*expr, Expr::Deref { .. }));
    let e = parse_expr("TRANSFORM(m, (k, v) => k, x => x + 1)").unwrap();
    let Expr::Function { args, .. } = e else {
        panic!()
    };
    assert!(matches!(&args[1], Expr::Lambda { params, .. } if params.len() == 2));
    assert!(matches!(&args[2], Expr::Lambda { params, .. } if params == &["X"]));
    assert!(matches!(
        parse_expr("count(*)").unwrap(),
        Expr::Function { star: true, .. }
    ));
    assert!(matches!(
        parse_expr("count(distinct x)").unwrap(),
        Expr::Function { distinct: true, .. }
    ));
    assert_eq!(
        parse_expr("TIMESTAMPADD(SECONDS, 5, ts)").unwrap(),
        Expr::Function {
            name: "TIMESTAMPADD".into(),
            args: vec![col("SECONDS"), int(5), col("TS")],
            star: false,
            distinct: false
        }
    );
    assert!(matches!(
        parse_expr("x NOT LIKE 'a%' ESCAPE '\\'").unwrap(),
        Expr::Like {
            negated: true,
            escape: Some(_),
            ..
        }
    ));
    assert!(matches!(
        parse_expr("x IS NOT DISTINCT FROM y").unwrap(),
        Expr::IsDistinctFrom { negated: true, .. }
    ));
    // Non-reserved keywords are names.
    assert_eq!(parse_expr("key").unwrap(), col("KEY"));
    assert_eq!(parse_expr("`key`").unwrap(), col("key"));
    assert_eq!(parse_expr("\"a\"\"b\"").unwrap(), col("a\"b"));
    assert!(parse_expr("array").is_ok());
    assert!(parse_expr("from").is_err());
}

#[test]
fn types() {
    assert_eq!(
        parse_type("MAP<STRING, ARRAY<DECIMAL(4, 2)>>").unwrap(),
        SqlType::Map(
            Box::new(SqlType::String),
            Box::new(SqlType::Array(Box::new(SqlType::Decimal(4, 2))))
        )
    );
    assert_eq!(
        parse_type("STRUCT<a INT, `b` varchar>").unwrap(),
        SqlType::Struct(vec![
            ("A".into(), SqlType::Int),
            ("b".into(), SqlType::String)
        ])
    );
    assert_eq!(
        parse_type("address").unwrap(),
        SqlType::Custom("ADDRESS".into())
    );
    assert!(parse_type("DECIMAL(4)").is_err());
}

#[test]
fn partition_and_group_by_order() {
    let q = query("SELECT * FROM s PARTITION BY a, b EMIT CHANGES");
    assert_eq!(q.partition_by, vec![col("A"), col("B")]);
    let q = query("SELECT a, COUNT(*) FROM s GROUP BY (a, b) HAVING COUNT(*) > 1");
    assert_eq!(q.group_by, vec![col("A"), col("B")]);
    let q = query("SELECT a FROM s GROUP BY (a + 1) * 2");
    assert!(matches!(
        q.group_by[0],
        Expr::Binary {
            op: BinaryOp::Mul,
            ..
        }
    ));
    // ksqlDB rejects boolean operators and nested lists here.
    assert!(parse_statement("SELECT * FROM s GROUP BY a AND b", Pos::default()).is_err());
    assert!(parse_statement("SELECT * FROM s GROUP BY a, (b, c)", Pos::default()).is_err());
    assert!(parse_statement("SELECT * FROM s WHERE x IN ( )", Pos::default()).is_err());
}

#[test]
fn error_positions() {
    let (pos, msg) = err("CREATE STREEM s (a INT);");
    assert_eq!(pos, Pos { line: 1, col: 8 });
    assert_eq!(
        msg,
        "expected one of STREAM, TABLE, TYPE after CREATE, found 'STREEM'"
    );
    let (pos, msg) = err("SELECT a,\n  b\n  FROM s\n  WHERE x = \n  GROUP BY a;");
    assert_eq!(pos, Pos { line: 5, col: 3 });
    assert!(msg.contains("expected an expression"), "{msg}");
    assert!(msg.contains("'GROUP'"), "{msg}");
    let (pos, msg) = err("SELECT * FROM s\nWHERE a = 'x\n");
    assert_eq!(pos, Pos { line: 2, col: 11 });
    assert!(msg.contains("unterminated string"), "{msg}");
    let (pos, _) = err("ASSERT VALUES foo (id INT) VALUES (123);");
    assert_eq!(pos, Pos { line: 1, col: 8 });
    let (pos, msg) = err("RUN SCRIPT 'foo';");
    assert_eq!(pos, Pos { line: 1, col: 1 });
    assert!(msg.contains("unknown statement 'RUN'"), "{msg}");
    // Like ksqlDB: 'line 1:32: ... Expecting {'STRING', INTEGER_VALUE}'.
    let (pos, msg) = err("CREATE STREAM INPUT (K STRING (KEY)) WITH (kafka_topic='input');");
    assert_eq!(pos, Pos { line: 1, col: 32 });
    assert_eq!(
        msg,
        "expected a type parameter (a number or STRING), found 'KEY'"
    );
    let (pos, msg) = err("SELECT * FROM s EMIT CHANGES extra");
    assert_eq!(pos, Pos { line: 1, col: 30 });
    assert!(msg.contains("'extra'"), "{msg}");
    // Offsets: a statement starting at 3:5 in its script.
    match parse_statement("SELECT *\nFROM", Pos { line: 3, col: 5 }) {
        Err(crate::Error::Parse { pos, .. }) => assert_eq!(pos, Pos { line: 4, col: 5 }),
        other => panic!("{other:?}"),
    }
    match parse_statement("SELECT * FROM", Pos { line: 3, col: 5 }) {
        Err(crate::Error::Parse { pos, .. }) => assert_eq!(pos, Pos { line: 3, col: 18 }),
        other => panic!("{other:?}"),
    }
}

#[test]
fn error_messages() {
    for (sql, expected) in [
        (
            "SELECT a, FROM s",
            "line 1:11: expected an expression, found 'FROM'",
        ),
        (
            "SELECT * FROM select",
            "line 1:15: expected a stream or table name, found reserved word 'select' \
             (quote it with backticks to use it as a name)",
        ),
        (
            "SELECT f(a b) FROM s",
            "line 1:12: expected ',' or ')', found 'b'",
        ),
        (
            "SELECT * FROM s LEFT JOIN t x = y",
            "line 1:31: expected WITHIN or ON, found '='",
        ),
        (
            "SELECT * FROM s WHERE a = 1 FETCH 5",
            "line 1:29: expected one of GROUP BY, PARTITION BY, HAVING, EMIT, ORDER BY, LIMIT, ';', \
             found 'FETCH'",
        ),
        ("", "line 1:1: expected a statement, found end of input"),
    ] {
        let e = parse_statement(sql, Pos::default()).unwrap_err();
        assert_eq!(e.to_string(), expected, "{sql}");
    }
}

#[test]
fn error_display() {
    let e = parse("SELECT * FROM s;\n\nDROP STREEM x;").unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 3:6: expected one of STREAM, TABLE, TYPE after DROP, found 'STREEM'"
    );
}

#[test]
fn split() {
    let script =
        "SELECT ';' FROM s; -- a; comment\n/* b; */ SELECT `x;y` FROM \"t;\";\n  ;; SHOW STREAMS";
    let parts = split_statements(script).unwrap();
    assert_eq!(parts.len(), 3, "{parts:?}");
    assert_eq!(parts[0].text, "SELECT ';' FROM s;");
    assert_eq!(parts[0].pos, Pos { line: 1, col: 1 });
    assert_eq!(parts[1].text, "SELECT `x;y` FROM \"t;\";");
    assert_eq!(parts[1].pos, Pos { line: 2, col: 10 });
    assert_eq!(parts[2].text, "SHOW STREAMS");
    assert_eq!(parts[2].pos, Pos { line: 3, col: 6 });
    // Trailing comments and whitespace are dropped.
    let parts = split_statements("SHOW TABLES;\n -- done\n /* really */ \n").unwrap();
    assert_eq!(parts.len(), 1);
    // An unterminated string is an incomplete trailing piece.
    let parts = split_statements("SHOW TABLES; SELECT 'abc;").unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[1].text, "SELECT 'abc;");
    assert!(split_statements("").unwrap().is_empty());
    let all = parse("SHOW TABLES; LIST STREAMS EXTENDED;\nDESCRIBE s;").unwrap();
    assert_eq!(all.len(), 3);
}

#[test]
fn statement_kinds() {
    assert_eq!(
        p("show all topics extended"),
        Statement::Show {
            what: ShowWhat::Topics { all: true },
            extended: true
        }
    );
    assert_eq!(
        p("DESCRIBE streams extended"),
        Statement::Describe {
            target: DescribeTarget::Streams,
            extended: true
        }
    );
    assert_eq!(
        p("DESCRIBE FUNCTION concat"),
        Statement::DescribeFunction("CONCAT".into())
    );
    assert_eq!(
        p("EXPLAIN CSAS_OUTPUT_0"),
        Statement::Explain(ExplainTarget::QueryId("CSAS_OUTPUT_0".into()))
    );
    assert!(matches!(
        p("EXPLAIN SELECT * FROM s"),
        Statement::Explain(ExplainTarget::Statement(_))
    ));
    assert_eq!(p("TERMINATE ALL"), Statement::Terminate(QueryTarget::All));
    assert_eq!(
        p("PRINT 'my-topic' FROM BEGINNING SAMPLE 2 LIMIT 10"),
        Statement::Print {
            topic: "my-topic".into(),
            from_beginning: true,
            interval: Some(2),
            limit: Some(10)
        }
    );
    assert_eq!(
        p("SET 'auto.offset.reset' = 'earliest'"),
        Statement::Set {
            name: "auto.offset.reset".into(),
            value: "earliest".into()
        }
    );
    assert!(matches!(
        p("ASSERT NOT EXISTS SCHEMA SUBJECT `s-value` ID 3 TIMEOUT 1 SECOND"),
        Statement::Assert(AssertStatement {
            not_exists: true,
            kind: AssertKind::Schema { id: Some(3), .. },
            timeout: Some(_)
        })
    ));
    assert_eq!(
        p("ALTER TABLE t ADD COLUMN a INT, ADD b STRING"),
        Statement::Alter {
            kind: SourceKind::Table,
            name: "T".into(),
            add_columns: vec![("A".into(), SqlType::Int), ("B".into(), SqlType::String)]
        }
    );
    assert_eq!(
        p("INSERT INTO s (a, `b`) VALUES (1, 'x')"),
        Statement::InsertValues {
            target: "S".into(),
            columns: Some(vec!["A".into(), "b".into()]),
            values: vec![int(1), Expr::Literal(Literal::String("x".into()))]
        }
    );
}

/// Statements covering every statement kind and expression form; each
/// must print back to SQL that parses to an equal tree.
pub(crate) const ROUND_TRIP: &[&str] = &[
    "CREATE STREAM s (id STRING KEY, v INT) WITH (kafka_topic='t', value_format='JSON')",
    "CREATE OR REPLACE SOURCE TABLE IF NOT EXISTS `t` (id BIGINT PRIMARY KEY, `Mixed` DOUBLE, d DECIMAL(10, 2)) WITH (kafka_topic='t', format='AVRO', partitions=4, replicas=-1, x=1.5, y=TRUE)",
    "CREATE STREAM h (hs ARRAY<STRUCT<`KEY` STRING, `VALUE` BYTES>> HEADERS, one BYTES HEADER('a''b'), m MAP<STRING, ARRAY<INT>>, st STRUCT<a DATE, `b c` TIME, d TIMESTAMP>, c ADDRESS) WITH (kafka_topic='h')",
    "CREATE STREAM kw (key STRING KEY, value INT, type STRING, topic STRING, source BYTES, `window` INT) WITH (kafka_topic='kw')",
    "SELECT * FROM s WHERE type = 'a' AND source = 'b' AND `window` > 1",
    "CREATE STREAM inferred WITH (kafka_topic='x', value_format='AVRO')",
    "CREATE TABLE t AS SELECT k, COUNT(*) AS cnt FROM s GROUP BY k EMIT CHANGES",
    "CREATE OR REPLACE STREAM o WITH (kafka_topic='o') AS SELECT * FROM s PARTITION BY a, b->c",
    "INSERT INTO o SELECT a.*, b.x FROM a JOIN b WITHIN 1 HOUR ON a.k = b.k",
    "INSERT INTO o VALUES (1, 'a', NULL, TRUE, 1.50, 2e10, -3)",
    "INSERT INTO o (`k`, v) VALUES ('x', ARRAY[1, 2])",
    "SELECT * FROM t WHERE k = 'a'",
    "SELECT * FROM s EMIT CHANGES LIMIT 5",
    "SELECT x, y AS z FROM s AS q LEFT JOIN t ON q.id = t.id RIGHT OUTER JOIN u ON u.id = q.id FULL OUTER JOIN v ON v.id = q.id INNER JOIN w WITHIN (1 SECOND, 2 MINUTES) GRACE PERIOD 3 DAYS ON w.id = q.id EMIT CHANGES",
    "SELECT k, SUM(v) FROM s WINDOW TUMBLING (SIZE 1 MINUTE, RETENTION 2 DAYS, GRACE PERIOD 10 SECONDS) GROUP BY k EMIT FINAL",
    "SELECT k, COUNT(*) FROM s WINDOW HOPPING (SIZE 30 SECONDS, ADVANCE BY 10 SECONDS) WHERE v > 0 GROUP BY k HAVING COUNT(*) > 1 EMIT CHANGES",
    "SELECT k, WINDOWSTART, WINDOWEND FROM s WINDOW SESSION (5 MINUTES, GRACE PERIOD 1 MINUTE) GROUP BY k, (a + b) EMIT CHANGES",
    "SELECT a OR b AND NOT c, (a OR b) AND c, NOT (a = b), a = (b = c) FROM s",
    "SELECT 1 + 2 * 3, (1 + 2) * 3, 1 - (2 - 3), 1 - 2 - 3, -x, -(-x), - (5), -5, - -5, +x, a % b / c FROM s",
    "SELECT a || b || c, a || (b || c), (a + 1) || 'x' FROM s",
    "SELECT x IS NULL, x IS NOT NULL, x IS DISTINCT FROM y, x IS NOT DISTINCT FROM y, (a = b) IS NULL FROM s",
    "SELECT x LIKE 'a%', x NOT LIKE '%b' ESCAPE '!', x BETWEEN 1 AND 10, x NOT BETWEEN a + 1 AND b * 2, x IN (1, 2, 3), x NOT IN ('a') FROM s",
    "SELECT CASE WHEN a > 1 THEN 'big' WHEN a < 0 THEN 'neg' ELSE 'small' END, CASE a WHEN 1 THEN 'one' END FROM s",
    "SELECT CAST(a AS STRING), CAST(b AS DECIMAL(5, 2)), CAST(c AS ARRAY<MAP<STRING, BIGINT>>), CAST(d AS STRUCT<X BOOLEAN>) FROM s",
    "SELECT COUNT(*), COUNT(DISTINCT x), LATEST_BY_OFFSET(v, 2), NOW(), `myUdf`(a) FROM s GROUP BY k",
    "SELECT s->a->b, arr[1], arr[i + 1]->f, m['k'], (-5)[1], s.col->`x y` FROM s",
    "SELECT ARRAY[1, 2, 3], ARRAY[], MAP('a' := 1, 'b' := 2), MAP(), STRUCT(a := 1, `b` := 'x'), STRUCT() FROM s",
    "SELECT TRANSFORM(arr, x => x * 2), TRANSFORM(m, (k, v) => UCASE(k), (k, v) => v + 1), REDUCE(arr, 0, (s, x) => s + x), FILTER(arr, x => x > 1 AND x < 5) FROM s",
    "SELECT v1->*, s.a->b->*, arr[1]->*, F(x)->*, ROUND(v, -1) AS 1R FROM s WINDOW w TUMBLING (SIZE 1 SECOND)",
    "CREATE STREAM p (k VARCHAR(STRING) KEY, v VARCHAR(10), w STRING) WITH (kafka_topic='p')",
    "SELECT TIMESTAMPADD(SECONDS, 5, ts), DATEADD(DAYS, 1, d) FROM s",
    "SELECT key, value, `timestamp`, date, time, type, topic, source, partition, emit FROM s",
    "SELECT 'it''s', 1.5, .5, 1e3, 1.5E-3, -1.5, 9223372036854775807, -9223372036854775808, NULL, TRUE, FALSE FROM s",
    "SELECT `Select`, `with space`, `back``tick`, \"dq\" FROM `from`",
    "SHOW STREAMS",
    "SHOW TABLES EXTENDED",
    "LIST QUERIES",
    "SHOW TOPICS",
    "SHOW ALL TOPICS EXTENDED",
    "SHOW PROPERTIES",
    "SHOW FUNCTIONS",
    "SHOW TYPES",
    "SHOW VARIABLES",
    "DESCRIBE s",
    "DESCRIBE s EXTENDED",
    "DESCRIBE STREAMS",
    "DESCRIBE TABLES EXTENDED",
    "DESCRIBE `STREAMS`",
    "DESCRIBE FUNCTION concat",
    "EXPLAIN CSAS_X_1",
    "EXPLAIN SELECT * FROM s EMIT CHANGES",
    "EXPLAIN CREATE STREAM o AS SELECT * FROM s",
    "DROP STREAM s",
    "DROP TABLE IF EXISTS t DELETE TOPIC",
    "DROP TYPE IF EXISTS address",
    "DROP TYPE address",
    "TERMINATE CSAS_X_1",
    "TERMINATE ALL",
    "TERMINATE `ALL`",
    "PAUSE q1",
    "PAUSE ALL",
    "RESUME q1",
    "RESUME ALL",
    "SET 'auto.offset.reset'='earliest'",
    "UNSET 'auto.offset.reset'",
    "DEFINE topic_name = 'a''b'",
    "UNDEFINE topic_name",
    "PRINT 'my-topic'",
    "PRINT topic FROM BEGINNING INTERVAL 3 LIMIT 10",
    "CREATE TYPE address AS STRUCT<street STRING, `zip` INT>",
    "CREATE TYPE IF NOT EXISTS ids AS ARRAY<BIGINT>",
    "ASSERT TOPIC `my-topic` WITH (partitions=1) TIMEOUT 10 SECONDS",
    "ASSERT NOT EXISTS TOPIC t",
    "ASSERT SCHEMA SUBJECT `s-value` ID 12 TIMEOUT 3 MINUTES",
    "ASSERT NOT EXISTS SCHEMA ID 4",
    "ALTER STREAM s ADD COLUMN a INT, ADD COLUMN b ARRAY<STRING>",
    "ALTER TABLE t ADD c STRING",
    "CREATE SOURCE CONNECTOR IF NOT EXISTS `dg-1` WITH (\"connector.class\"='x', 'kafka.topic'='it''s', iterations=10)",
    "CREATE SINK CONNECTOR s WITH (\"topics\"='a,b')",
    "SHOW CONNECTORS",
    "LIST SOURCE CONNECTORS",
    "SHOW SINK CONNECTORS",
    "DESCRIBE CONNECTOR `my-conn`",
    "DROP CONNECTOR IF EXISTS c",
    "PAUSE CONNECTOR c",
    "RESUME CONNECTOR `c`",
];

#[test]
fn connector_statements() {
    let Statement::CreateConnector(c) =
        p("CREATE SOURCE CONNECTOR dg WITH (\"connector.class\"='Datagen', \"max.interval\"=100, \"tasks.max\"='1', flag=true)")
    else {
        panic!("not a connector")
    };
    assert_eq!(c.kind, ConnectorKind::Source);
    assert_eq!(c.name, "DG");
    assert_eq!(
        c.config,
        vec![
            ("connector.class".to_string(), "Datagen".to_string()),
            ("max.interval".to_string(), "100".to_string()),
            ("tasks.max".to_string(), "1".to_string()),
            ("FLAG".to_string(), "true".to_string()),
        ]
    );
    assert_eq!(
        p("DROP CONNECTOR x"),
        Statement::DropConnector {
            if_exists: false,
            name: "X".into()
        }
    );
    assert_eq!(
        p("PAUSE CONNECTOR x"),
        Statement::PauseConnector("X".into())
    );
    // PAUSE of a query and DESCRIBE of a source are unchanged.
    assert!(matches!(p("PAUSE CSAS_X_1"), Statement::Pause(_)));
    assert!(matches!(
        p("DESCRIBE connector"),
        Statement::Describe { .. }
    ));
    assert!(matches!(
        p("SHOW SINK CONNECTORS"),
        Statement::ShowConnectors(Some(ConnectorKind::Sink))
    ));
}

#[test]
fn round_trips() {
    for sql in ROUND_TRIP {
        let first = p(sql);
        let printed = first.to_string();
        let second = match parse_statement(&printed, Pos { line: 1, col: 1 }) {
            Ok(s) => s,
            Err(e) => panic!("{sql}\nprinted as {printed}\n  -> {e}"),
        };
        assert_eq!(first, second, "{sql}\nprinted as {printed}");
        // Printing is stable.
        assert_eq!(printed, second.to_string());
    }
}

#[test]
fn printed_forms() {
    assert_eq!(
        p("create stream s as select * from t emit changes;").to_string(),
        "CREATE STREAM S AS SELECT * FROM T EMIT CHANGES"
    );
    assert_eq!(parse_expr("a - -5").unwrap().to_string(), "A - -5");
    assert_eq!(
        parse_expr("(a OR b) AND `c d`").unwrap().to_string(),
        "(A OR B) AND `c d`"
    );
}

/// Parses every statement of ksqlDB's conformance cases (when the
/// shared folder is present) and checks each round-trips through
/// Display. Only cases that expect an error may fail to parse.
#[test]
fn qtt_corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/qtt/qtt");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("skipping: {} not found", dir.display());
        return;
    };
    let mut files: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    files.sort();
    let (mut total, mut parsed, mut round_tripped) = (0usize, 0usize, 0usize);
    let mut unexpected = Vec::new();
    let mut expected_failures = Vec::new();
    for path in files {
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let json: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
        for case in doc["tests"].as_array().into_iter().flatten() {
            let expects_error = case.get("expectedException").is_some();
            for stmt in case["statements"].as_array().into_iter().flatten() {
                let sql = stmt.as_str().unwrap().replace("{FORMAT}", "JSON");
                let pieces = match split_statements(&sql) {
                    Ok(p) => p,
                    Err(e) => panic!("split failed: {sql}: {e}"),
                };
                for piece in pieces {
                    total += 1;
                    let where_ = format!("{} / {}", path.display(), case["name"]);
                    match parse_statement(&piece.text, piece.pos) {
                        Ok(ast) => {
                            parsed += 1;
                            let printed = ast.to_string();
                            match parse_statement(&printed, Pos { line: 1, col: 1 }) {
                                Ok(again) if again == ast => round_tripped += 1,
                                Ok(_) => unexpected
                                    .push(format!("{where_}: round trip differs: {sql}\n   printed: {printed}")),
                                Err(e) => unexpected.push(format!(
                                    "{where_}: printed form fails: {sql}\n   printed: {printed}\n   {e}"
                                )),
                            }
                        }
                        Err(e) if expects_error => {
                            expected_failures.push(format!("{where_}: {sql}\n   {e}"))
                        }
                        Err(e) => unexpected.push(format!("{where_}: {sql}\n   {e}")),
                    }
                }
            }
        }
    }
    eprintln!(
        "qtt corpus: {total} statements, {parsed} parsed, {round_tripped} round-tripped, \
         {} failed in cases expecting an error",
        expected_failures.len()
    );
    for f in &expected_failures {
        eprintln!("  expected failure: {f}");
    }
    assert!(
        unexpected.is_empty(),
        "{} unexpected failures:\n{}",
        unexpected.len(),
        unexpected.join("\n")
    );
}
