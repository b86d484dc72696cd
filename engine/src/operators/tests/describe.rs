//! Tests of how operators name and describe themselves for plans: every
//! operator's parameters, with expressions printed as SQL.

use crate::operators::testing::*;

#[test]
fn filters_show_their_predicate_and_how_they_treat_tables() {
    let l = layout("K STRING, V BIGINT");
    let f = FilterOperator::new(l.expr("V > 3"));
    assert_eq!(
        (f.name(), f.describe().as_str()),
        ("Filter", "predicate: V > 3")
    );
    assert_eq!(
        FilterOperator::for_table(l.expr("V > 3")).describe(),
        "predicate: V > 3 | table changes: a row that stops matching is deleted"
    );
    assert_eq!(
        FilterOperator::having(l.expr("V > 3"), vec![0]).describe(),
        "predicate: V > 3 | keyed: a key that stops matching is deleted (passing keys kept in memory)"
    );
}

#[test]
fn projections_show_expressions_with_aliases_and_keys() {
    let l = layout("K STRING, V BIGINT");
    let p = ProjectOperator::new(vec![l.expr("K"), l.expr("V * 2")], vec![0])
        .named(vec!["K".into(), "V2".into()]);
    assert_eq!(p.name(), "Project");
    assert_eq!(p.describe(), "key: K | columns: K, V * 2 AS V2");
    // Without names, the expressions alone.
    let p = ProjectOperator::new(vec![l.expr("V")], vec![]);
    assert_eq!(p.describe(), "columns: V");
}

#[test]
fn a_re_key_shows_its_new_key() {
    let l = layout("K STRING, V BIGINT");
    let p = ProjectOperator::rekey(vec![l.expr("V"), l.expr("K")], vec![])
        .named(vec!["V".into(), "K".into()])
        .with_new_keys(1);
    assert_eq!(
        (p.name(), p.describe().as_str()),
        ("PartitionBy", "new key: V")
    );
    let none = ProjectOperator::rekey(vec![l.expr("K")], vec![]).with_new_keys(0);
    assert_eq!(none.describe(), "new key: none (PARTITION BY NULL)");
}

#[test]
fn table_functions_materialize_and_timestamps_describe_themselves() {
    let l = layout("K STRING, XS ARRAY<INT>");
    let f = FlatMapOperator::new(vec![
        TableFunction::Explode(l.expr("XS")),
        TableFunction::CubeExplode(l.expr("XS")),
    ]);
    assert_eq!(f.name(), "FlatMap");
    assert_eq!(
        f.describe(),
        "table functions: EXPLODE(XS), CUBE_EXPLODE(XS)"
    );
    let m = MaterializeOperator::new(vec![0]);
    assert_eq!(m.name(), "Materialize");
    assert!(m
        .describe()
        .starts_with("store: the latest row of each key"));
    let t = TimestampOperator::new(2, "TS", Some("yyyy-MM-dd".into()));
    assert_eq!(t.name(), "Timestamp");
    assert_eq!(t.describe(), "ROWTIME from: TS | format: 'yyyy-MM-dd'");
}

#[test]
fn aggregates_show_keys_calls_window_emit_and_store() {
    let l = layout("K STRING, V BIGINT");
    let op = AggregateOperator::new(
        vec![l.expr("K")],
        vec![
            l.aggregate("COUNT(*)"),
            l.aggregate("SUM(V)"),
            l.aggregate("TOPK(V, 2)"),
        ],
        Some(WindowAssigner::Hopping {
            size: 60_000,
            advance: 10_000,
            grace: 0,
        }),
        Some("changelog-topic".into()),
        false,
    )
    .emit_final()
    .with_retention(Some(7_200_000));
    assert_eq!(op.name(), "Aggregate");
    assert_eq!(
        op.describe(),
        "group by: K | aggregates: COUNT(*), SUM(V), TOPK(V, 2) \
         | window: HOPPING (SIZE 1 MINUTE, ADVANCE BY 10 SECONDS, GRACE PERIOD 0 MILLISECONDS, RETENTION 2 HOURS) \
         | emit: FINAL | store: local (a cache over disk) | changelog: changelog-topic"
    );
    let session = AggregateOperator::new(
        vec![l.expr("K")],
        vec![l.aggregate("COUNT(V)")],
        Some(WindowAssigner::Session {
            gap: 30_000,
            grace: 86_400_000,
        }),
        None,
        true,
    );
    assert_eq!(
        session.describe(),
        "group by: K | aggregates: COUNT(V) | window: SESSION (30 SECONDS, GRACE PERIOD 1 DAY) \
         | emit: CHANGES | input: table changes (the replaced row is retracted) | store: local (a cache over disk)"
    );
}

#[test]
fn joins_show_kind_key_window_and_state() {
    let l = layout("L.ID STRING, L.FK STRING");
    let r = layout("R.ID STRING, R.W BIGINT");
    let st = StreamTableJoinOperator::new(join_layout(&l, &r), l.expr("FK"), 0, true);
    assert_eq!(st.name(), "StreamTableJoin");
    assert!(st
        .describe()
        .starts_with("kind: LEFT | on: FK = R.ID | store:"));
    let tt = TableTableJoinOperator::new(join_layout(&l, &r), 0, 0, JoinKind::Full);
    assert_eq!(tt.name(), "TableTableJoin");
    assert!(tt
        .describe()
        .starts_with("kind: FULL OUTER | on: L.ID = R.ID | store:"));
    let fk = FkJoinOperator::new(join_layout(&l, &r), vec![0], l.expr("FK"), 0, false);
    assert_eq!(fk.name(), "ForeignKeyJoin");
    assert!(fk
        .describe()
        .starts_with("kind: INNER | on: FK = R.ID | key: L.ID | store:"));
    let ss = StreamStreamJoinOperator::new(
        join_layout(&l, &r),
        [l.expr("ID"), r.expr("ID")],
        JoinKind::Left,
        (60_000, 120_000, 1_000),
        true,
        None,
    );
    assert_eq!(ss.name(), "StreamStreamJoin");
    assert_eq!(
        ss.describe(),
        "kind: LEFT | on: ID = ID | within: (1 MINUTE, 2 MINUTES) | grace: 1 SECOND \
         | unmatched rows: held until their window closes \
         | store: each side's rows by key for 181 SECONDS, in memory (rebuilt from the inputs)"
    );
}
