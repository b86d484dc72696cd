//! Tab completion: keywords by context (after `CREATE`: STREAM, TABLE,
//! SOURCE, TYPE...), and stream, table, column, function, topic, query id
//! and variable names from the live catalog, asked of the backend (so
//! remote mode completes from the server's).

use crate::backend::{quiet, Backend};
use rustyline::completion::{Completer, Pair};
use rustyline::validate::Validator;
use rustyline::Helper;
use sluice_engine::results::StatementResult;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

const STATEMENTS: &[&str] = &[
    "ASSERT",
    "CLEAR",
    "CREATE",
    "DEFINE",
    "DESCRIBE",
    "DROP",
    "EXIT",
    "EXPLAIN",
    "HELP",
    "HISTORY",
    "INSERT",
    "LIST",
    "OUTPUT",
    "PAUSE",
    "PRINT",
    "QUIT",
    "RESUME",
    "RUN",
    "SELECT",
    "SET",
    "SHOW",
    "SPOOL",
    "TERMINATE",
    "UNDEFINE",
    "UNSET",
    "VERSION",
];
const AFTER_CREATE: &[&str] = &["OR", "SINK", "SOURCE", "STREAM", "TABLE", "TYPE"];
const SHOWABLE: &[&str] = &[
    "CONNECTORS",
    "FUNCTIONS",
    "PROPERTIES",
    "QUERIES",
    "STREAMS",
    "TABLES",
    "TOPICS",
    "TYPES",
    "VARIABLES",
];
const CLAUSES: &[&str] = &[
    "AND",
    "AS",
    "BETWEEN",
    "BY",
    "CASE",
    "CAST",
    "CHANGES",
    "DISTINCT",
    "ELSE",
    "EMIT",
    "END",
    "FINAL",
    "FROM",
    "FULL",
    "GRACE",
    "GROUP",
    "HAVING",
    "HOPPING",
    "IN",
    "INNER",
    "IS",
    "JOIN",
    "KEY",
    "LEFT",
    "LIKE",
    "LIMIT",
    "NOT",
    "NULL",
    "ON",
    "OR",
    "OUTER",
    "PARTITION",
    "PERIOD",
    "RIGHT",
    "SELECT",
    "SESSION",
    "THEN",
    "TUMBLING",
    "VALUES",
    "WHEN",
    "WHERE",
    "WINDOW",
    "WITH",
    "WITHIN",
];

/// The names completion offers, refreshed from the backend when stale.
#[derive(Default)]
struct Catalog {
    streams: Vec<String>,
    tables: Vec<String>,
    topics: Vec<String>,
    queries: Vec<String>,
    variables: Vec<String>,
    functions: Vec<String>,
    /// Columns by source (upper case), asked for on first use.
    columns: HashMap<String, Vec<String>>,
}

/// The editor's helper: completion here, highlighting and hints in
/// [`crate::highlight`] (no validation: a statement ends at its `;`,
/// which the shell checks).
pub struct SqlHelper {
    backend: Rc<RefCell<Box<dyn Backend>>>,
    stale: Rc<Cell<bool>>,
    catalog: RefCell<Catalog>,
    /// The lines of the statement typed so far (before the current one).
    pub pending: Rc<RefCell<String>>,
    /// Whether the bracket matching the one at the cursor is shown (not in
    /// the final drawing of a line once Enter is pressed).
    pub(crate) show_bracket: Cell<bool>,
}

impl SqlHelper {
    pub fn new(backend: Rc<RefCell<Box<dyn Backend>>>, stale: Rc<Cell<bool>>) -> SqlHelper {
        stale.set(true);
        SqlHelper {
            backend,
            stale,
            catalog: RefCell::new(Catalog::default()),
            pending: Rc::new(RefCell::new(String::new())),
            show_bracket: Cell::new(true),
        }
    }

    fn refresh(&self) {
        if !self.stale.replace(false) {
            return;
        }
        let Ok(mut backend) = self.backend.try_borrow_mut() else {
            return;
        };
        let backend: &mut dyn Backend = &mut **backend;
        let mut c = self.catalog.borrow_mut();
        c.columns.clear();
        if let Some(StatementResult::Sources(l)) = quiet(backend, "SHOW STREAMS;") {
            c.streams = l.sources.into_iter().map(|s| s.name).collect();
        }
        if let Some(StatementResult::Sources(l)) = quiet(backend, "SHOW TABLES;") {
            c.tables = l.sources.into_iter().map(|s| s.name).collect();
        }
        if let Some(StatementResult::Topics(t)) = quiet(backend, "SHOW TOPICS;") {
            c.topics = t.into_iter().map(|t| t.name).collect();
        }
        if let Some(StatementResult::Queries(q)) = quiet(backend, "SHOW QUERIES;") {
            c.queries = q.into_iter().map(|q| q.id).collect();
        }
        if let Some(StatementResult::Variables(v)) = quiet(backend, "SHOW VARIABLES;") {
            c.variables = v.into_iter().map(|(n, _)| n).collect();
        }
        if c.functions.is_empty() {
            if let Some(StatementResult::Functions(f)) = quiet(backend, "SHOW FUNCTIONS;") {
                c.functions = f.into_iter().map(|f| f.name).collect();
            }
        }
    }

    fn columns(&self, source: &str) -> Vec<String> {
        if let Some(cols) = self.catalog.borrow().columns.get(source) {
            return cols.clone();
        }
        let Ok(mut backend) = self.backend.try_borrow_mut() else {
            return Vec::new();
        };
        let cols = match quiet(&mut **backend, &format!("DESCRIBE `{source}`;")) {
            Some(StatementResult::SourceDescription(d)) => {
                d.schema.columns.into_iter().map(|c| c.name).collect()
            }
            _ => Vec::new(),
        };
        self.catalog
            .borrow_mut()
            .columns
            .insert(source.to_string(), cols.clone());
        cols
    }

    /// The candidates for the word being typed after `before`.
    fn candidates(&self, before: &str, prefix: &str) -> Vec<String> {
        self.refresh();
        if before.ends_with("${") {
            return self.catalog.borrow().variables.clone();
        }
        let words = words(before);
        let last = |n: usize| -> Vec<&str> {
            words[words.len().saturating_sub(n)..]
                .iter()
                .map(String::as_str)
                .collect()
        };
        let keywords = |k: &[&str]| k.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let c = self.catalog.borrow();
        let sources = || [c.streams.clone(), c.tables.clone()].concat();
        let first = words.first().map(String::as_str);
        match last(2).as_slice() {
            [] => return keywords(STATEMENTS),
            [.., "CREATE", "OR"] => return keywords(&["REPLACE"]),
            [.., "OR", "REPLACE"] => return keywords(&["STREAM", "TABLE"]),
            [.., "CREATE", "SOURCE"] => return keywords(&["CONNECTOR", "STREAM", "TABLE"]),
            [.., "CREATE", "SINK"] => return keywords(&["CONNECTOR"]),
            [.., "CREATE"] => return keywords(AFTER_CREATE),
            [.., "SHOW" | "LIST"] => {
                return [keywords(SHOWABLE), keywords(&["SINK", "SOURCE"])].concat()
            }
            [.., "SHOW" | "LIST", "SOURCE" | "SINK"] => return keywords(&["CONNECTORS"]),
            [.., "DROP"] => return keywords(&["CONNECTOR", "STREAM", "TABLE", "TYPE"]),
            [.., "DESCRIBE", "FUNCTION"] => return c.functions.clone(),
            [.., "DESCRIBE"] => {
                return [
                    keywords(&["CONNECTOR", "FUNCTION", "STREAMS", "TABLES"]),
                    sources(),
                ]
                .concat()
            }
            [.., "DROP", "STREAM"] => return c.streams.clone(),
            [.., "DROP", "TABLE"] => return c.tables.clone(),
            [.., "FROM" | "JOIN" | "INTO"] => return sources(),
            [.., "PRINT"] => return c.topics.clone(),
            [.., "PAUSE" | "RESUME"] => {
                return [c.queries.clone(), keywords(&["ALL", "CONNECTOR"])].concat()
            }
            [.., "TERMINATE" | "EXPLAIN"] => {
                return [c.queries.clone(), keywords(&["ALL"])].concat()
            }
            [.., "UNDEFINE"] => return c.variables.clone(),
            [.., "EMIT"] => return keywords(&["CHANGES", "FINAL"]),
            [.., "RUN"] => return keywords(&["SCRIPT"]),
            [.., "STREAMS" | "TABLES"] => return keywords(&["EXTENDED"]),
            _ => {}
        }
        let mut out = keywords(CLAUSES);
        if matches!(first, Some("SELECT" | "CREATE" | "INSERT")) {
            // Columns of the sources the statement names (FROM, JOIN).
            let named: Vec<String> = words
                .windows(2)
                .filter(|w| w[0] == "FROM" || w[0] == "JOIN")
                .map(|w| w[1].clone())
                .collect();
            let known = sources();
            drop(c);
            for source in named {
                if known.contains(&source) {
                    out.extend(self.columns(&source));
                }
            }
            out.extend(self.catalog.borrow().functions.iter().cloned());
        }
        let _ = prefix;
        out
    }
}

/// The words of `text` in upper case: identifiers and keywords, quoted
/// identifiers without their backquotes; string literals skipped.
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut word = String::new();
    while let Some(ch) = chars.next() {
        match ch {
            '\'' => {
                for n in chars.by_ref() {
                    if n == '\'' {
                        break;
                    }
                }
            }
            '`' => {
                let mut quoted = String::new();
                for n in chars.by_ref() {
                    if n == '`' {
                        break;
                    }
                    quoted.push(n);
                }
                out.push(quoted);
            }
            c if c.is_alphanumeric() || c == '_' || c == '-' => word.push(c),
            _ => {
                if !word.is_empty() {
                    out.push(std::mem::take(&mut word).to_uppercase());
                }
            }
        }
    }
    if !word.is_empty() {
        out.push(word.to_uppercase());
    }
    out
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl Completer for SqlHelper {
    type Candidate = Pair;

    /// Candidates are followed by a space, so a unique one is complete.
    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let head = &line[..pos];
        let start = head
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_word_char(*c))
            .last()
            .map_or(pos, |(i, _)| i);
        let prefix = &head[start..];
        let before = format!("{}{}", self.pending.borrow(), &head[..start]);
        let lower = !prefix.is_empty() && prefix.chars().all(|c| !c.is_uppercase());
        let upper_prefix = prefix.to_uppercase();
        let mut found: Vec<String> = self
            .candidates(&before, prefix)
            .into_iter()
            .filter(|c| c.to_uppercase().starts_with(&upper_prefix))
            .map(|c| {
                let keyword = c.chars().all(|ch| ch.is_ascii_uppercase() || ch == '_');
                if lower && keyword {
                    c.to_lowercase()
                } else {
                    c
                }
            })
            .collect();
        found.sort();
        found.dedup();
        let pairs = found
            .into_iter()
            .map(|c| Pair {
                replacement: format!("{c} "),
                display: c,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Validator for SqlHelper {}

impl Helper for SqlHelper {}

#[cfg(test)]
mod tests {
    use super::words;

    #[test]
    fn words_skip_strings_and_unquote_identifiers() {
        assert_eq!(
            words("select a, `b c` from s where x = 'FROM t' and"),
            ["SELECT", "A", "b c", "FROM", "S", "WHERE", "X", "AND"]
        );
    }
}
