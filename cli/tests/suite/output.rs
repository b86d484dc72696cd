//! What the shell prints, read as ksqlDB users read it: DESCRIBE EXTENDED
//! and EXPLAIN in ksqlDB's shapes, PRINT's header and record lines, wide
//! characters aligned, collections as ksqlDB prints them, errors with a
//! caret, tables fitted to the terminal (wrapped or cut per `SET CLI
//! WRAP`), and a script's inserts as separate moments.

use super::common::{data_dir, execute, single_table, sluice, tables};
use super::shell::Terminal;
use unicode_width::UnicodeWidthStr;

const CLICKS: &str = "CREATE STREAM clicks (id STRING KEY, url STRING, tags ARRAY<STRING>, \
       m MAP<STRING, INT>) WITH (kafka_topic='clicks', value_format='JSON', partitions=1);
     SET 'auto.offset.reset'='earliest';";

#[test]
fn describe_extended_and_explain_read_as_ksqldb_prints_them() {
    let dir = data_dir();
    execute(
        dir.path(),
        &format!(
            "{CLICKS}
             CREATE TABLE per_id AS SELECT id, COUNT(*) AS n FROM clicks
               WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY id EMIT CHANGES;"
        ),
    );
    let out = execute(dir.path(), "DESCRIBE clicks; DESCRIBE per_id EXTENDED;");
    let text = &out.stdout;
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    for expected in [
        "Name                 : CLICKS",
        " ID    | VARCHAR(STRING)  (key)",
        " TAGS  | ARRAY<VARCHAR(STRING)>",
        " M     | MAP<STRING, INTEGER>",
        "For runtime statistics and query details run: DESCRIBE <Stream,Table> EXTENDED;",
        "Name                 : PER_ID",
        "Type                 : TABLE",
        "Timestamp field      : Not set - using <ROWTIME>",
        "Key format           : KAFKA",
        "Value format         : JSON",
        "Kafka topic          : PER_ID (partitions: 1, replication: 1)",
        " ID    | VARCHAR(STRING)  (primary key) (Window type: TUMBLING)",
        "Queries that write from this TABLE",
        "Local runtime statistics",
        "(Statistics of the local Sluice process's interaction with the topic PER_ID)",
    ] {
        assert!(lines.contains(&expected), "no {expected:?} in:\n{text}");
    }
    assert!(
        lines.iter().any(|l| l.starts_with("CTAS_PER_ID_")
            && l.contains(
                " (RUNNING) : CREATE TABLE per_id AS SELECT id, COUNT(*) AS n FROM clicks WINDOW"
            )),
        "{text}"
    );
    // The plain DESCRIBE has no details.
    let plain: Vec<&str> = lines
        .iter()
        .take_while(|l| !l.starts_with("For runtime"))
        .copied()
        .collect();
    assert!(!plain.iter().any(|l| l.starts_with("Type ")), "{text}");

    let id = lines
        .iter()
        .find_map(|l| {
            l.split(" (RUNNING)")
                .next()
                .filter(|id| id.starts_with("CTAS_"))
        })
        .unwrap_or_else(|| panic!("no query id in {text}"));
    let out = execute(dir.path(), &format!("EXPLAIN {id};"));
    let lines: Vec<&str> = out.stdout.lines().map(str::trim_end).collect();
    for expected in [
        format!("ID                   : {id}"),
        "Query Type           : PERSISTENT".to_string(),
        "Status               : RUNNING".to_string(),
        " ID    | VARCHAR(STRING)  (key) (Window type: TUMBLING)".to_string(),
        "Sources that this query reads from:".to_string(),
        "CLICKS".to_string(),
        "Sinks that this query writes to:".to_string(),
        "PER_ID".to_string(),
        "Execution plan".to_string(),
    ] {
        assert!(
            lines.iter().any(|l| *l == expected),
            "no {expected:?} in:\n{}",
            out.stdout
        );
    }
}

#[test]
fn print_shows_the_formats_then_one_line_per_record() {
    let dir = data_dir();
    execute(
        dir.path(),
        &format!(
            "{CLICKS}
             INSERT INTO clicks (id, url, ROWTIME) VALUES ('u1', '/a', 1796663392286);
             INSERT INTO clicks (id, url, ROWTIME) VALUES ('u2', '/b', 1796663392290);"
        ),
    );
    let out = execute(dir.path(), "PRINT 'clicks' FROM BEGINNING LIMIT 2;");
    assert_eq!(
        out.stdout,
        "Key format: KAFKA_STRING\n\
         Value format: JSON\n\
         rowtime: 2026/12/07 17:09:52.286 Z, key: u1, value: {\"URL\":\"/a\",\"TAGS\":null,\"M\":null}, partition: 0\n\
         rowtime: 2026/12/07 17:09:52.290 Z, key: u2, value: {\"URL\":\"/b\",\"TAGS\":null,\"M\":null}, partition: 0\n\
         Topic printing ceased\n"
    );
}

#[test]
fn a_failing_statement_is_shown_with_a_caret_under_the_error() {
    let dir = data_dir();
    let out = sluice(
        dir.path(),
        &[
            "-e",
            &format!("{CLICKS}\nSELECT * FROM clicks\n  WHERE url = = 'x' EMIT CHANGES;"),
        ],
    );
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.ends_with(
            "line 4:15: expected an expression, found '='\n\
             SELECT * FROM clicks\n  WHERE url = = 'x' EMIT CHANGES;\n              ^\n"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn wide_characters_line_up_and_collections_print_as_in_ksqldb() {
    let dir = data_dir();
    execute(
        dir.path(),
        &format!(
            "{CLICKS}
             INSERT INTO clicks (id, url, tags, m) VALUES ('東京', '/天気', ARRAY['a', 'b'], MAP('x' := 1));
             INSERT INTO clicks (id, url, tags) VALUES ('🦀', '/x', ARRAY['c']);"
        ),
    );
    let out = execute(
        dir.path(),
        "SET 'auto.offset.reset'='earliest'; SELECT * FROM clicks EMIT CHANGES LIMIT 2;",
    );
    let table = single_table(&out.stdout);
    assert_eq!(
        table.rows(),
        [
            ["東京", "/天気", "[a, b]", "{x=1}"],
            ["🦀", "/x", "[c]", "null"]
        ]
    );
    let box_lines: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with('|') || l.starts_with('+'))
        .collect();
    let width = box_lines[0].width();
    assert!(
        box_lines.iter().all(|l| l.width() == width),
        "{}",
        out.stdout
    );
}

#[test]
fn long_cells_wrap_or_are_cut_to_fit_the_terminal() {
    let Some(term) = Terminal::start("long_cells_wrap_or_are_cut_to_fit_the_terminal") else {
        return;
    };
    let long: String = (0..30).map(|i| format!("word{i:02}-ok ")).collect();
    let long = long.trim_end();
    term.run(&["CREATE STREAM notes (id INT KEY, body STRING) WITH (kafka_topic='notes', value_format='JSON', partitions=1);"]);
    term.run(&["SET 'auto.offset.reset'='earliest';"]);
    term.run(&[&format!(
        "INSERT INTO notes (id, body) VALUES (1, '{long}');"
    )]);
    // The terminal is 200 columns wide: a wider table would be broken up
    // by the terminal itself.
    let wrapped = term.run(&["SELECT id, body, body AS again FROM notes EMIT CHANGES LIMIT 1;"]);
    let rows: Vec<&str> = wrapped.lines().filter(|l| l.starts_with("| ")).collect();
    assert!(rows.len() > 2, "{wrapped}");
    assert!(wrapped.lines().all(|l| l.width() <= 200), "{wrapped}");
    let body: String = rows[1..]
        .iter()
        .map(|l| {
            l.split('|')
                .nth(2)
                .unwrap_or("")
                .trim_end()
                .trim_start_matches(' ')
        })
        .collect::<Vec<_>>()
        .join("");
    assert_eq!(body.replace(' ', ""), long.replace(' ', ""), "{wrapped}");

    term.run(&["SET CLI WRAP OFF;"]);
    let cut = term.run(&["SELECT id, body, body AS again FROM notes EMIT CHANGES LIMIT 1;"]);
    let rows: Vec<&str> = cut.lines().filter(|l| l.starts_with("| ")).collect();
    assert_eq!(rows.len(), 2, "{cut}");
    assert!(rows[1].ends_with("... |"), "{cut}");
    assert!(cut.lines().all(|l| l.width() <= 200), "{cut}");
}

#[test]
fn a_script_inserting_users_then_pageviews_joins_them() {
    let dir = data_dir();
    let script = dir.path().join("tutorial.sql");
    std::fs::write(
        &script,
        "CREATE TABLE users (id STRING PRIMARY KEY, name STRING)
           WITH (kafka_topic='users', value_format='JSON', partitions=1);
         CREATE STREAM pageviews (uid STRING KEY, page STRING)
           WITH (kafka_topic='pageviews', value_format='JSON', partitions=1);
         SET 'auto.offset.reset'='earliest';
         CREATE STREAM enriched AS SELECT pageviews.uid, page, name
           FROM pageviews JOIN users ON pageviews.uid = users.id EMIT CHANGES;
         INSERT INTO users (id, name) VALUES ('u1', 'Ann');
         INSERT INTO users (id, name) VALUES ('u2', 'Bob');
         INSERT INTO pageviews (uid, page) VALUES ('u1', '/a');
         INSERT INTO pageviews (uid, page) VALUES ('u2', '/b');
         SELECT uid, page, name, ROWTIME FROM enriched EMIT CHANGES LIMIT 2;",
    )
    .expect("writing the script");
    let path = script.to_string_lossy().to_string();
    let out = sluice(dir.path(), &["-f", &path]);
    assert!(out.success, "{}\n{}", out.stdout, out.stderr);
    let all = tables(&out.stdout);
    let joined = all.last().unwrap_or_else(|| panic!("{}", out.stdout));
    let rows = joined.rows();
    assert_eq!(
        rows.iter().map(|r| r[..3].to_vec()).collect::<Vec<_>>(),
        [["u1", "/a", "Ann"], ["u2", "/b", "Bob"]]
    );
    // Each insert was its own moment.
    let times: Vec<i64> = rows.iter().map(|r| r[3].parse().unwrap_or(0)).collect();
    assert!(times[0] < times[1], "{times:?}");
}
