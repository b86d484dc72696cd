//! Every script in `sql-examples/` runs with `sluice -f` and exits 0; for the
//! known ones a second process then checks what the script's persistent
//! queries wrote. Persistent queries run on background threads (and resume
//! in the second process), so the checks use push queries with a `LIMIT`,
//! which wait until that many rows exist, before any pull query.

use super::common::{data_dir, execute, printed_values, single_table, sluice, tables};
use std::path::PathBuf;

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../sql-examples")
}

/// Runs one example script in a fresh data directory, which is returned
/// for the checks that follow; the script's own output is returned too.
fn run_example(name: &str) -> (tempfile::TempDir, String) {
    let dir = data_dir();
    let file = examples_dir().join(name);
    let out = sluice(dir.path(), &["-f", file.to_str().unwrap()]);
    assert!(
        out.success,
        "sluice -f {name} exited with {:?}\n--- stdout:\n{}\n--- stderr:\n{}",
        out.code, out.stdout, out.stderr
    );
    assert!(
        out.stderr.is_empty(),
        "{name} wrote to stderr:\n{}",
        out.stderr
    );
    (dir, out.stdout)
}

#[test]
fn every_example_runs() {
    let mut names: Vec<String> = std::fs::read_dir(examples_dir())
        .expect("reading sql-examples/")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    names.sort();
    assert!(names.len() >= 4, "examples missing: {names:?}");
    for name in &names {
        let (_dir, stdout) = run_example(name);
        assert!(
            stdout.contains("Stream created") || stdout.contains("Table created"),
            "{name} created nothing:\n{stdout}"
        );
    }
}

#[test]
fn quickstart_upper_cases_home_and_help() {
    let (dir, stdout) = run_example("quickstart.sql");
    // The script ends with a push query of its own.
    let pushed = single_table(&stdout);
    assert_eq!(pushed.header, ["USER_ID", "PAGE"]);
    // pageviews has two partitions: rows of different keys may interleave.
    let mut rows = pushed.rows();
    rows.sort();
    assert_eq!(rows, [["u1", "/HOME"], ["u3", "/HELP"]]);
    assert!(stdout.contains("Limit Reached"), "{stdout}");

    // A new process: a pull query over the stream reads what is there now.
    let out = execute(dir.path(), "SELECT * FROM home;");
    let pulled = single_table(&out.stdout);
    assert_eq!(pulled.header, ["USER_ID", "PAGE"]);
    let mut rows = pulled.rows();
    rows.sort();
    assert_eq!(rows, [["u1", "/HOME"], ["u3", "/HELP"]]);
}

#[test]
fn filter_by_amount_keeps_big_orders() {
    let (dir, _) = run_example("filter-by-amount.sql");
    let out = execute(
        dir.path(),
        "SET 'auto.offset.reset'='earliest'; SELECT * FROM big_orders EMIT CHANGES LIMIT 2;",
    );
    let pushed = single_table(&out.stdout);
    assert_eq!(
        pushed.header,
        ["ORDER_ID", "CUSTOMER", "AMOUNT", "REWARD_POINTS"]
    );
    assert_eq!(
        pushed.rows(),
        [
            ["2", "bob", "150.0", "15.0"],
            ["4", "dave", "1000.0", "100.0"]
        ]
    );
    assert!(out.stdout.contains("Limit Reached"), "{}", out.stdout);

    // Order 4 was the last input, so nothing else can arrive: a pull query
    // (in yet another process) sees exactly these two rows.
    let out = execute(
        dir.path(),
        "SELECT order_id, reward_points FROM big_orders;",
    );
    assert_eq!(
        single_table(&out.stdout).rows(),
        [["2", "15.0"], ["4", "100.0"]]
    );
}

#[test]
fn branch_by_department_writes_delimited_topics() {
    let (dir, _) = run_example("branch-by-department.sql");
    let out = execute(
        dir.path(),
        "SET 'auto.offset.reset'='earliest';
         SELECT * FROM sales_books EMIT CHANGES LIMIT 2;
         SELECT * FROM sales_garden EMIT CHANGES LIMIT 1;",
    );
    let all = tables(&out.stdout);
    assert_eq!(all.len(), 2, "{}", out.stdout);
    assert_eq!(all[0].header, ["SALE_ID", "ITEM", "PRICE"]);
    // Input is one partition in sale order: a garden sale wrongly kept
    // would show up among the first two books rows.
    assert_eq!(
        all[0].rows(),
        [["1", "novel", "9.99"], ["3", "atlas", "35.0"]]
    );
    assert_eq!(all[1].header, ["SALE_ID", "ITEM", "PRICE"]);
    assert_eq!(all[1].rows(), [["2", "rake", "24.5"]]);

    // The topics hold DELIMITED values (the key is not in the value).
    let out = execute(
        dir.path(),
        "PRINT 'sales_books' FROM BEGINNING LIMIT 2; PRINT 'sales_garden' FROM BEGINNING LIMIT 1;",
    );
    assert_eq!(
        printed_values(&out.stdout),
        [vec!["novel,9.99", "atlas,35.0"], vec!["rake,24.5"]],
        "{}",
        out.stdout
    );
}

#[test]
fn card_masking_keeps_last_four_digits() {
    let (dir, _) = run_example("purchases-card-masking.sql");
    let out = execute(
        dir.path(),
        "SET 'auto.offset.reset'='earliest'; SELECT * FROM purchases_masked EMIT CHANGES LIMIT 2;",
    );
    let pushed = single_table(&out.stdout);
    assert_eq!(
        pushed.header,
        [
            "ORDER_ID",
            "CUSTOMER",
            "CARD_NUMBER",
            "AMOUNT",
            "DEPARTMENT"
        ]
    );
    assert_eq!(
        pushed.rows(),
        [
            ["1", "alice", "nnnn-nnnn-nnnn-1234", "12.50", "books"],
            ["2", "bob", "nnnn-nnnn-nnnn-9876", "250.00", "electronics"],
        ]
    );

    // What downstream consumers of the output topic read is masked too.
    let out = execute(
        dir.path(),
        "PRINT 'PURCHASES_MASKED' FROM BEGINNING LIMIT 2;",
    );
    let mut all = printed_values(&out.stdout);
    assert_eq!(all.len(), 1, "{}", out.stdout);
    let values = all.remove(0);
    assert_eq!(values.len(), 2, "{values:?}");
    assert!(
        values[0].contains(r#""CARD_NUMBER":"nnnn-nnnn-nnnn-1234""#),
        "{values:?}"
    );
    assert!(
        values[1].contains(r#""CARD_NUMBER":"nnnn-nnnn-nnnn-9876""#),
        "{values:?}"
    );
    assert!(!out.stdout.contains("4111-1111"), "{}", out.stdout);
}
