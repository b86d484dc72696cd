//! Planner golden tests. Each `NAME.sql` in this folder holds setup
//! statements, then the one statement under test. The runner runs the
//! setup on a fresh engine, EXPLAINs the last statement, and compares what
//! it gets — the typed `QueryDescription` rendered by [`render`], or the
//! error — with `NAME.expected`. A persistent statement (CREATE ... AS
//! SELECT, INSERT INTO) is then run too: an error running it is recorded,
//! and otherwise EXPLAIN of its query id must show the same plan.
//!
//! `PLANNER_GOLDEN_WRITE=1 cargo test -p sluice-engine --test main planner`
//! rewrites the expectations (review them before committing).

use sluice_engine::results::{QueryDescription, StatementResult};
use sluice_engine::sql::parser::split_statements;
use sluice_engine::{Engine, EngineConfig};
use std::path::{Path, PathBuf};

/// The folder holding the cases.
fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/planner")
}

/// A description as the expectations hold it: the statement, sources,
/// sinks, window, result fields, then the plan as a tree, each node
/// indented under the node that reads it.
fn render(d: &QueryDescription) -> String {
    let mut out = vec![format!("Statement: {}", d.statement)];
    out.push(format!("Sources: {}", d.sources.join(", ")));
    if !d.sinks.is_empty() {
        out.push(format!("Sinks: {}", d.sinks.join(", ")));
    }
    if let Some(w) = &d.window_type {
        out.push(format!("Window: {w}"));
    }
    out.push("Fields:".to_string());
    for c in &d.schema.columns {
        let key = if c.is_key() { " KEY" } else { "" };
        out.push(format!("  {} {}{key}", c.name, c.ty));
    }
    out.push("Plan:".to_string());
    fn walk(d: &QueryDescription, node: usize, depth: usize, out: &mut Vec<String>) {
        let n = &d.plan[node];
        out.push(format!(
            "{}> {} | {}",
            "  ".repeat(depth + 1),
            n.name,
            n.description
        ));
        for &input in &n.inputs {
            walk(d, input, depth + 1, out);
        }
    }
    let read: Vec<usize> = d.plan.iter().flat_map(|n| n.inputs.clone()).collect();
    for n in d.plan.iter().rev().filter(|n| !read.contains(&n.id)) {
        walk(d, n.id, 0, &mut out);
    }
    out.join("\n") + "\n"
}

/// The EXPLAIN result of one statement (its only result).
fn description(result: Vec<StatementResult>) -> QueryDescription {
    match result.into_iter().last() {
        Some(StatementResult::QueryDescription(d)) => d,
        other => panic!("EXPLAIN answered {other:?}"),
    }
}

/// Runs one case and returns what it produced, as `NAME.expected` holds it.
fn run_case(name: &str, sql: &str) -> String {
    let statements =
        split_statements(sql).unwrap_or_else(|e| panic!("{name}: cannot split statements: {e}"));
    let Some((last, setup)) = statements.split_last() else {
        panic!("{name}: no statements");
    };
    let engine = Engine::open(EngineConfig::default()).expect("engine opens");
    for s in setup {
        if let Err(e) = engine.execute(&s.text) {
            panic!("{name}: setup statement failed: {}\n{e}", s.text);
        }
    }
    let statement = last.text.trim();
    let explained = match engine.execute(&format!("EXPLAIN {statement}")) {
        Ok(result) => description(result),
        Err(e) => return format!("ERROR: {e}\n"),
    };
    let mut out = render(&explained);
    let upper = statement.to_ascii_uppercase();
    if upper.starts_with("CREATE") || upper.starts_with("INSERT") {
        match engine.execute(statement) {
            Err(e) => out.push_str(&format!("RUN ERROR: {e}\n")),
            Ok(result) => {
                let id = match result.last() {
                    Some(StatementResult::Status(s)) => s.query_id.clone(),
                    other => panic!("{name}: running answered {other:?}"),
                };
                let id = id.unwrap_or_else(|| panic!("{name}: no query started"));
                let running = description(
                    engine
                        .execute(&format!("EXPLAIN {id};"))
                        .unwrap_or_else(|e| panic!("{name}: EXPLAIN {id}: {e}")),
                );
                assert_eq!(
                    running.plan, explained.plan,
                    "{name}: the running query's plan differs from the statement's"
                );
            }
        }
    }
    out
}

#[test]
fn planner_golden_cases() {
    let write = std::env::var("PLANNER_GOLDEN_WRITE").is_ok_and(|v| v == "1");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("read tests/planner")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 40, "only {} planner cases", cases.len());
    let mut failures = Vec::new();
    for path in &cases {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("case name")
            .to_string();
        let sql = std::fs::read_to_string(path).expect("read case");
        let actual = run_case(&name, &sql);
        let expected_path = path.with_extension("expected");
        if write {
            std::fs::write(&expected_path, &actual).expect("write expectation");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if actual != expected {
            failures.push(format!(
                "--- {name}: expected\n{expected}--- {name}: got\n{actual}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} planner cases differ (PLANNER_GOLDEN_WRITE=1 rewrites them):\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
