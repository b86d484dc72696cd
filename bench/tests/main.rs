//! The benchmark queries are correct: every workload runs on a tiny input
//! and Sluice's output must equal the reference computed in plain Rust; and
//! the comparison itself rejects wrong answers.

use sluice_bench::events::GenConfig;
use sluice_bench::workloads::{compare, Expected};
use sluice_bench::{check, RunOptions, Workload};

fn options(events: u64, ms_per_event: i64) -> RunOptions {
    with_caching(events, ms_per_event, true)
}

fn with_caching(events: u64, ms_per_event: i64, caching: bool) -> RunOptions {
    RunOptions {
        caching,
        events,
        gen: GenConfig {
            seed: 7,
            ms_per_event,
        },
        batch: 500,
        in_memory: true,
        check: true,
    }
}

#[test]
fn every_workload_matches_its_reference_on_a_small_input() {
    let mut failures = Vec::new();
    // Dense event time (1 ms apart) fills windows and joins; sparse (97 ms)
    // spreads the input over many windows and across join bounds. Record
    // caching on coalesces changes (operators hold them until the commit),
    // off writes each: the final answers are the same.
    for ms in [1, 97] {
        for caching in [true, false] {
            for w in Workload::ALL {
                // EMIT FINAL over 10 s and 30 s windows needs more than
                // 3 s of event time to close any.
                let n = if w.name().ends_with("-final") && ms == 1 {
                    45_000
                } else {
                    3000
                };
                match check(w, &with_caching(n, ms, caching)) {
                    Ok(report) => assert_eq!(report.events, n, "{}", w.name()),
                    Err(e) => failures.push(format!(
                        "{} at {ms} ms/event, caching {caching}: {e:#}",
                        w.name()
                    )),
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn a_wrong_answer_does_not_pass() {
    let gen = options(0, 1).gen;
    let events: Vec<_> = Workload::Q2.events(&gen, 3000).collect();
    let expected = Workload::Q2.reference(&gen, &[], &events);
    let Expected::Rows(rows) = &expected else {
        panic!("q2 is a stream")
    };
    assert!(!rows.is_empty());
    let mut fewer = rows.clone();
    fewer.pop();
    assert!(compare(Workload::Q2, &expected, &Expected::Rows(fewer)).is_err());
    let mut changed = rows.clone();
    changed[0] = "[0,0]".into();
    changed.sort();
    assert!(compare(Workload::Q2, &expected, &Expected::Rows(changed)).is_err());

    let events: Vec<_> = Workload::Q4.events(&gen, 3000).collect();
    let expected = Workload::Q4.reference(&gen, &[], &events);
    let Expected::Table(table) = &expected else {
        panic!("q4 is a table")
    };
    assert!(!table.is_empty());
    let mut off = table.clone();
    if let Some(v) = off.values_mut().next() {
        let x = v[0].as_f64().expect("an average");
        v[0] = serde_json::json!(x * (1.0 + 1e-6));
    }
    assert!(compare(Workload::Q4, &expected, &Expected::Table(off)).is_err());
    let mut more = table.clone();
    more.insert("99".into(), vec![serde_json::json!(1.0)]);
    assert!(compare(Workload::Q4, &expected, &Expected::Table(more)).is_err());
    assert!(compare(Workload::Q4, &expected, &expected).is_ok());
}
