//! The crate's one integration-test binary: our own end-to-end cases in
//! `tests/cases/`, the ratchet over ksqlDB's conformance cases (through the
//! engine, and the REST cases again over real HTTP), and a sample of those
//! cases run against a real Kafka broker.

use std::path::{Path, PathBuf};

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/cases/`: every case must pass.
mod own_cases {
    use super::manifest_dir;
    use sluice_tests::run_paths;

    #[test]
    fn every_own_case_passes() {
        let report = run_paths(&[manifest_dir().join("cases")], None);
        for case in &report.cases {
            println!("{}", case.line());
        }
        println!("{}", report.summary());
        assert!(!report.cases.is_empty(), "no cases found in tests/cases");
        let bad = report.not_passing();
        assert!(
            bad.is_empty(),
            "cases that do not pass:\n{}",
            bad.join("\n")
        );
    }
}

/// ksqlDB's cases in `../shared/qtt`: every case listed in
/// `tests/conformance/passing.txt` must still pass. `QTT_WRITE_PASSING=1`
/// rewrites the list with the cases passing now.
mod conformance {
    use super::{manifest_dir, Path};
    use sluice_tests::case::discover;
    use sluice_tests::{run_files, shared_cases_dir, Report};
    use std::collections::BTreeSet;

    fn passing_list() -> std::path::PathBuf {
        manifest_dir().join("conformance/passing.txt")
    }

    fn read_list(path: &Path) -> BTreeSet<String> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect()
    }

    pub(super) fn write_list(path: &Path, cases: &BTreeSet<String>, header: &str) {
        let mut text = String::from(header);
        for c in cases {
            text.push_str(c);
            text.push('\n');
        }
        std::fs::write(path, text).expect("write the list of passing cases");
    }

    const HEADER: &str = "# ksqlDB conformance cases (../shared/qtt) that Sluice passes, one\n\
         # `file/case name` per line. The integration tests fail when one of\n\
         # them stops passing. Regenerate with:\n\
         #   QTT_WRITE_PASSING=1 cargo test -p sluice-tests --test main conformance\n";

    #[test]
    fn listed_cases_still_pass() {
        let Some(root) = shared_cases_dir() else {
            println!("note: ../shared/qtt is not there; the conformance ratchet is skipped");
            return;
        };
        let files: Vec<_> = discover(&root)
            .expect("list ../shared/qtt")
            .into_iter()
            .filter(|f| f.rel.starts_with("qtt/") || f.rel.starts_with("rqtt/"))
            .collect();
        let report = run_files(&files, None, |_| {});
        println!("conformance: {}", report.summary());
        ratchet(&report, &passing_list(), HEADER);
    }

    /// Checks that every case listed in `list_path` passed in `report`; with
    /// `QTT_WRITE_PASSING=1`, rewrites the list instead.
    pub(super) fn ratchet(report: &Report, list_path: &Path, header: &str) {
        let passing: BTreeSet<String> = report
            .cases
            .iter()
            .filter(|c| c.outcome.label() == "PASS")
            // The list is a text file whose lines lose trailing blanks; a
            // few case names end with one.
            .map(|c| c.id().trim_end().to_string())
            .collect();
        if std::env::var("QTT_WRITE_PASSING").is_ok_and(|v| v == "1") {
            write_list(list_path, &passing, header);
            println!(
                "wrote {} passing cases to {}",
                passing.len(),
                list_path.display()
            );
            return;
        }

        let listed = read_list(list_path);
        let newly: Vec<&String> = passing.difference(&listed).collect();
        if !newly.is_empty() {
            println!(
                "{} cases pass but are not in {} (add them with QTT_WRITE_PASSING=1):",
                newly.len(),
                list_path.display()
            );
            for c in &newly {
                println!("  {c}");
            }
        }
        let regressed: Vec<String> = listed
            .iter()
            .filter(|id| !passing.contains(*id))
            .map(
                |id| match report.cases.iter().find(|c| c.id().trim_end() == id) {
                    Some(c) => c.line(),
                    None => format!("MISSING {id}: no such case"),
                },
            )
            .collect();
        assert!(
            regressed.is_empty(),
            "{} cases listed in {} no longer pass:\n{}",
            regressed.len(),
            list_path.display(),
            regressed.join("\n")
        );
    }
}

/// ksqlDB's REST cases (`../shared/qtt/rqtt`) over real HTTP: each case
/// through a server of its own in this process, its statements sent to
/// `/ksql` and `/query`. Every case listed in
/// `tests/conformance/passing-http.txt` must still pass;
/// `QTT_WRITE_PASSING=1` rewrites the list.
mod conformance_http {
    use super::conformance::ratchet;
    use super::manifest_dir;
    use sluice_tests::case::discover;
    use sluice_tests::{run_files_over_http, shared_cases_dir};

    const HEADER: &str =
        "# ksqlDB's REST conformance cases (../shared/qtt/rqtt) that Sluice passes\n\
         # over real HTTP (/ksql, /query), one `file/case name` per line. The\n\
         # integration tests fail when one of them stops passing. Regenerate with:\n\
         #   QTT_WRITE_PASSING=1 cargo test -p sluice-tests --test main conformance_http\n";

    #[test]
    fn listed_http_cases_still_pass() {
        let Some(root) = shared_cases_dir() else {
            println!("note: ../shared/qtt is not there; the HTTP conformance ratchet is skipped");
            return;
        };
        let files: Vec<_> = discover(&root)
            .expect("list ../shared/qtt")
            .into_iter()
            .filter(|f| f.rel.starts_with("rqtt/"))
            .collect();
        let report = run_files_over_http(&files, None, |_| {});
        println!("conformance over HTTP: {}", report.summary());
        ratchet(
            &report,
            &manifest_dir().join("conformance/passing-http.txt"),
            HEADER,
        );
    }
}

/// Commits on Kafka follow `commit.interval.ms`; restarts resume from them.
mod kafka_commits;

/// The cases in `tests/conformance/kafka-sample.txt`, run against the real
/// Kafka broker that `scripts/test.sh` starts (`SLUICE_TEST_BOOTSTRAP`):
/// each must pass there as it does on the embedded log.
mod kafka_conformance {
    use super::manifest_dir;
    use sluice_tests::{read_case_list, run_paths_selected, shared_cases_dir};

    #[test]
    fn sample_passes_on_kafka() {
        run_sample(|_| true, &[]);
    }

    /// The sample's join cases again, processing exactly once through
    /// Kafka transactions (joins re-key through internal topics, which
    /// the transactions cover too).
    #[test]
    fn sampled_joins_pass_on_kafka_exactly_once() {
        run_sample(
            |id| id.contains("join"),
            &[(
                "processing.guarantee".to_string(),
                "exactly_once_v2".to_string(),
            )],
        );
    }

    fn run_sample(keep: impl Fn(&str) -> bool, properties: &[(String, String)]) {
        let Some(root) = shared_cases_dir() else {
            println!("note: ../shared/qtt is not there; the Kafka sample is skipped");
            return;
        };
        let bootstrap = std::env::var("SLUICE_TEST_BOOTSTRAP").expect(
            "SLUICE_TEST_BOOTSTRAP names no Kafka broker: run scripts/test.sh, which starts one",
        );
        let sample: std::collections::HashSet<String> =
            read_case_list(&manifest_dir().join("conformance/kafka-sample.txt"))
                .expect("read the sample")
                .into_iter()
                .filter(|id| keep(id))
                .collect();
        assert!(!sample.is_empty(), "the sample selects no case");
        let report = run_paths_selected(
            &[root],
            None,
            Some(&sample),
            Some(&bootstrap),
            properties,
            |_| {},
        );
        println!("kafka sample {properties:?}: {}", report.summary());
        let bad = report.not_passing();
        assert!(
            bad.is_empty(),
            "cases failing on Kafka:\n{}",
            bad.join("\n")
        );
        assert_eq!(
            report.cases.len(),
            sample.len(),
            "every sampled case must exist and run"
        );
    }
}
