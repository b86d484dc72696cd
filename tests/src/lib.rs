//! Sluice's conformance runner: loads ksqlDB QTT/RQTT case files
//! ([`case`]), runs each case against a fresh in-process engine
//! ([`runner`]), compares what it produced with what the case expects
//! ([`compare`], [`post`], [`queries`]) and gathers the outcomes into a
//! [`Report`]. The `qtt` binary and the crate's integration tests are thin
//! layers over [`run_paths`]. In REST mode ([`run_files_over_http`]) each
//! case runs through a server started in process instead ([`rest`],
//! [`http`]).

pub mod case;
pub mod compare;
pub mod http;
mod panics;
pub mod post;
pub mod queries;
pub mod rest;
pub mod runner;

pub use case::{Case, CaseFileRef};
pub use runner::{run_case, run_case_over_http, Outcome};

use case::FileContents;
use serde_json::json;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The outcome of one case, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    /// The file, relative to the folder given (see [`CaseFileRef::rel`]).
    pub file: String,
    /// The case's name.
    pub name: String,
    /// What happened.
    pub outcome: Outcome,
}

impl CaseResult {
    /// `file/name`, the case's identity in reports and in `passing.txt`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.file, self.name)
    }

    /// The report line: `PASS|FAIL|SKIP <file>/<name>[: reason]`.
    pub fn line(&self) -> String {
        match self.outcome.reason() {
            Some(r) => format!("{} {}: {r}", self.outcome.label(), self.id()),
            None => format!("{} {}", self.outcome.label(), self.id()),
        }
    }
}

/// The outcomes of a run, in the order the cases ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// One entry per case.
    pub cases: Vec<CaseResult>,
}

impl Report {
    fn count(&self, label: &str) -> usize {
        self.cases
            .iter()
            .filter(|c| c.outcome.label() == label)
            .count()
    }

    /// How many cases passed.
    pub fn passed(&self) -> usize {
        self.count("PASS")
    }

    /// How many cases failed.
    pub fn failed(&self) -> usize {
        self.count("FAIL")
    }

    /// How many cases were skipped.
    pub fn skipped(&self) -> usize {
        self.count("SKIP")
    }

    /// The result lines of the cases that did not pass.
    pub fn not_passing(&self) -> Vec<String> {
        self.cases
            .iter()
            .filter(|c| c.outcome.label() != "PASS")
            .map(|c| c.line())
            .collect()
    }

    /// `N passed, M failed` and, when there are any, `, K skipped`.
    pub fn summary(&self) -> String {
        let mut s = format!("{} passed, {} failed", self.passed(), self.failed());
        if self.skipped() > 0 {
            s.push_str(&format!(", {} skipped", self.skipped()));
        }
        s
    }

    /// `{"cases":[{"file","name","status","reason"}]}`.
    pub fn to_json(&self) -> serde_json::Value {
        let cases: Vec<serde_json::Value> = self
            .cases
            .iter()
            .map(|c| {
                json!({
                    "file": c.file,
                    "name": c.name,
                    "status": c.outcome.label(),
                    "reason": c.outcome.reason(),
                })
            })
            .collect();
        json!({ "cases": cases })
    }
}

/// Runs every case of the given files and folders (folders recursed) whose
/// `file/name` contains `filter`.
pub fn run_paths(paths: &[PathBuf], filter: Option<&str>) -> Report {
    run_paths_with(paths, filter, |_| {})
}

/// [`run_paths`], calling `on_case` as each case finishes.
pub fn run_paths_with(
    paths: &[PathBuf],
    filter: Option<&str>,
    on_case: impl FnMut(&CaseResult),
) -> Report {
    run_paths_selected(paths, filter, None, None, &[], on_case)
}

/// [`run_paths_selected`] in REST mode: each case through a server of its
/// own over real HTTP ([`run_case_over_http`]).
pub fn run_paths_over_http(
    paths: &[PathBuf],
    filter: Option<&str>,
    only: Option<&HashSet<String>>,
    properties: &[(String, String)],
    on_case: impl FnMut(&CaseResult),
) -> Report {
    let selection = Selection {
        filter,
        only,
        kafka: None,
        properties,
        http: true,
    };
    run_paths_into(paths, &selection, on_case)
}

/// [`run_paths_with`], running only the cases whose `file/name` is in
/// `only` (when given), against the Kafka cluster at `kafka` (when given),
/// with `properties` set for every case (its own come on top).
pub fn run_paths_selected(
    paths: &[PathBuf],
    filter: Option<&str>,
    only: Option<&HashSet<String>>,
    kafka: Option<&str>,
    properties: &[(String, String)],
    on_case: impl FnMut(&CaseResult),
) -> Report {
    let selection = Selection {
        filter,
        only,
        kafka,
        properties,
        http: false,
    };
    run_paths_into(paths, &selection, on_case)
}

fn run_paths_into(
    paths: &[PathBuf],
    selection: &Selection<'_>,
    mut on_case: impl FnMut(&CaseResult),
) -> Report {
    let mut report = Report::default();
    for path in paths {
        match case::discover(path) {
            Ok(files) => run_files_into(&files, selection, &mut on_case, &mut report),
            Err(e) => {
                let result = CaseResult {
                    file: path.display().to_string(),
                    name: "(files)".into(),
                    outcome: Outcome::Fail(format!("cannot read: {e}")),
                };
                on_case(&result);
                report.cases.push(result);
            }
        }
    }
    report
}

/// Runs every case of the given files whose `file/name` contains `filter`.
pub fn run_files(
    files: &[CaseFileRef],
    filter: Option<&str>,
    on_case: impl FnMut(&CaseResult),
) -> Report {
    run_files_selected(files, filter, false, on_case)
}

/// [`run_files`] in REST mode ([`run_case_over_http`]).
pub fn run_files_over_http(
    files: &[CaseFileRef],
    filter: Option<&str>,
    on_case: impl FnMut(&CaseResult),
) -> Report {
    run_files_selected(files, filter, true, on_case)
}

fn run_files_selected(
    files: &[CaseFileRef],
    filter: Option<&str>,
    http: bool,
    mut on_case: impl FnMut(&CaseResult),
) -> Report {
    let mut report = Report::default();
    let selection = Selection {
        filter,
        only: None,
        kafka: None,
        properties: &[],
        http,
    };
    run_files_into(files, &selection, &mut on_case, &mut report);
    report
}

/// Which cases to run: those whose `file/name` contains `filter` and, when
/// `only` is given, is in it.
struct Selection<'a> {
    filter: Option<&'a str>,
    only: Option<&'a HashSet<String>>,
    /// Bootstrap servers of the cluster to run on instead of the embedded
    /// log.
    kafka: Option<&'a str>,
    /// Properties set for every case before its own.
    properties: &'a [(String, String)],
    /// Run each case through a server over HTTP.
    http: bool,
}

/// Reads a list of case ids (`file/name`), one per line; blank lines and
/// lines starting with `#` are ignored.
pub fn read_case_list(path: &Path) -> Result<HashSet<String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect())
}

fn run_files_into(
    files: &[CaseFileRef],
    selection: &Selection<'_>,
    on_case: &mut impl FnMut(&CaseResult),
    report: &mut Report,
) {
    let wanted = |id: &str| {
        selection.filter.is_none_or(|f| id.contains(f))
            && selection.only.is_none_or(|o| o.contains(id.trim_end()))
    };
    for file in files {
        let mut emit = |name: String, outcome: Outcome| {
            let result = CaseResult {
                file: file.rel.clone(),
                name,
                outcome,
            };
            if wanted(&result.id()) {
                on_case(&result);
                report.cases.push(result);
            }
        };
        match case::load_file(&file.path) {
            Ok(FileContents::NotACaseFile) => {}
            Err(e) => emit("(file)".into(), Outcome::Fail(e)),
            Ok(FileContents::Cases(entries)) => {
                for entry in entries {
                    if !wanted(&format!("{}/{}", file.rel, entry.name)) {
                        continue;
                    }
                    let outcome = match &entry.case {
                        Ok(c) => {
                            let mut c = c.clone();
                            let mut properties = selection.properties.to_vec();
                            properties.append(&mut c.properties);
                            c.properties = properties;
                            match selection.kafka {
                                Some(servers) => runner::run_case_on_kafka(&c, servers),
                                None if selection.http => run_case_over_http(&c),
                                None => run_case(&c),
                            }
                        }
                        Err(e) => Outcome::Fail(format!("cannot read the case: {e}")),
                    };
                    emit(entry.name, outcome);
                }
            }
        }
    }
}

/// The shared ksqlDB cases next to the workspace (`../shared/qtt` seen from
/// the workspace root), when they are there.
pub fn shared_cases_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/qtt");
    dir.is_dir().then_some(dir)
}
