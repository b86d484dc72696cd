//! The README's connector quick start, typed into the embedded shell in a
//! real terminal: datagen feeds a windowed aggregate that a push query
//! shows, with no other service; SHOW and DESCRIBE CONNECTOR print as
//! ksqlDB's CLI prints them.

use super::shell::{boxed, Terminal};

#[test]
fn the_readme_quick_start_feeds_a_query_from_datagen() {
    let Some(term) = Terminal::start("the_readme_quick_start_feeds_a_query_from_datagen") else {
        return;
    };
    term.run(&["SET 'auto.offset.reset' = 'earliest';"]);
    let created = term.run(&[
        "CREATE SOURCE CONNECTOR pageviews_gen WITH (",
        "  \"connector.class\" = 'io.confluent.kafka.connect.datagen.DatagenConnector',",
        "  \"kafka.topic\" = 'pageviews', \"quickstart\" = 'pageviews',",
        "  \"schema.keyfield\" = 'userid', \"max.interval\" = 100);",
    ]);
    assert!(
        boxed(&created, "Created connector PAGEVIEWS_GEN"),
        "{created}"
    );
    term.run(&[
        "CREATE STREAM pageviews (userid STRING KEY, viewtime BIGINT, pageid STRING)",
        "  WITH (kafka_topic='pageviews', value_format='JSON');",
    ]);
    term.run(&[
        "CREATE TABLE views_per_user AS SELECT userid, COUNT(*) AS views",
        "  FROM pageviews WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY userid EMIT CHANGES;",
    ]);
    let rows = term.run(&["SELECT userid, views FROM views_per_user EMIT CHANGES LIMIT 3;"]);
    let data: Vec<&str> = rows.lines().filter(|l| l.starts_with("| User_")).collect();
    assert_eq!(data.len(), 3, "{rows}");
    assert!(rows.contains("Limit Reached"), "{rows}");
    let list = term.run(&["SHOW CONNECTORS;"]);
    assert!(list.contains("Connector Name"), "{list}");
    assert!(
        list.lines().any(|l| l.contains("PAGEVIEWS_GEN")
            && l.contains("SOURCE")
            && l.contains("io.confluent.kafka.connect.datagen.DatagenConnector")
            && l.contains("RUNNING (1/1 tasks RUNNING)")),
        "{list}"
    );
    let described = term.run(&["DESCRIBE CONNECTOR pageviews_gen;"]);
    for expected in [
        "Name                 : PAGEVIEWS_GEN",
        "Class                : io.confluent.kafka.connect.datagen.DatagenConnector",
        "Type                 : source",
        "State                : RUNNING",
        " Task ID | State   | Error Trace",
        " PAGEVIEWS          | pageviews   | STREAM",
        " Related Topics",
        " pageviews",
    ] {
        assert!(
            described.lines().any(|l| l.trim_end() == expected),
            "no {expected:?} in:\n{described}"
        );
    }
    assert!(
        described.contains("Delivery             : exactly-once"),
        "{described}"
    );
    let dropped = term.run(&["DROP CONNECTOR pageviews_gen;"]);
    assert!(
        boxed(&dropped, "Dropped connector \"PAGEVIEWS_GEN\""),
        "{dropped}"
    );
}
