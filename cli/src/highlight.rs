//! Colours and hints while typing: SQL keywords in bold blue, string
//! literals in green, comments in grey, the bracket matching the one at
//! the cursor in reverse video, and the rest of the only keyword a word
//! being typed can become, greyed after the cursor (Right arrow takes it).
//! Only escape codes are added, so the line keeps its display width.

use crate::complete::SqlHelper;
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use std::borrow::Cow;

const KEYWORD: &str = "\x1b[1;34m";
const STRING: &str = "\x1b[32m";
const COMMENT: &str = "\x1b[90m";
const BRACKET: &str = "\x1b[7m";
const HINT: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

/// The words highlighted as keywords (and hinted), ksqlDB's statements
/// and clauses.
const KEYWORDS: &[&str] = &[
    "ADVANCE",
    "ALL",
    "AND",
    "ARRAY",
    "AS",
    "ASC",
    "ASSERT",
    "BEGINNING",
    "BETWEEN",
    "BY",
    "CASE",
    "CAST",
    "CHANGES",
    "CONNECTOR",
    "CONNECTORS",
    "CREATE",
    "DEFINE",
    "DELETE",
    "DESC",
    "DESCRIBE",
    "DISTINCT",
    "DROP",
    "ELSE",
    "EMIT",
    "END",
    "EXISTS",
    "EXPLAIN",
    "EXTENDED",
    "FALSE",
    "FINAL",
    "FROM",
    "FULL",
    "FUNCTION",
    "FUNCTIONS",
    "GRACE",
    "GROUP",
    "HAVING",
    "HEADER",
    "HEADERS",
    "HOPPING",
    "IF",
    "IN",
    "INNER",
    "INSERT",
    "INTERVAL",
    "INTO",
    "IS",
    "JOIN",
    "KEY",
    "LEFT",
    "LIKE",
    "LIMIT",
    "LIST",
    "MAP",
    "NOT",
    "NULL",
    "ON",
    "OR",
    "ORDER",
    "OUTER",
    "PARTITION",
    "PARTITIONS",
    "PERIOD",
    "PRIMARY",
    "PRINT",
    "PROPERTIES",
    "QUERIES",
    "REPLACE",
    "RETENTION",
    "RIGHT",
    "RUN",
    "SCRIPT",
    "SELECT",
    "SESSION",
    "SET",
    "SHOW",
    "SINK",
    "SIZE",
    "SOURCE",
    "STREAM",
    "STREAMS",
    "STRUCT",
    "TABLE",
    "TABLES",
    "TERMINATE",
    "THEN",
    "TOPIC",
    "TOPICS",
    "TRUE",
    "TUMBLING",
    "TYPE",
    "TYPES",
    "UNDEFINE",
    "UNSET",
    "VALUES",
    "VARIABLES",
    "WHEN",
    "WHERE",
    "WINDOW",
    "WITH",
    "WITHIN",
];

fn is_keyword(word: &str) -> bool {
    let upper = word.to_ascii_uppercase();
    KEYWORDS.binary_search(&upper.as_str()).is_ok()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Keyword,
    Word,
    String,
    Comment,
    /// A quoted identifier (never a keyword).
    Quoted,
}

/// A token: its byte range and kind.
type Span = (usize, usize, Kind);
/// A bracket outside literals and comments: its byte offset and itself.
type Bracket = (usize, char);

/// The line's words, literals and comments as byte ranges, and where its
/// brackets outside them are.
fn scan(line: &str) -> (Vec<Span>, Vec<Bracket>) {
    let mut spans = Vec::new();
    let mut brackets = Vec::new();
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let end_of = |i: usize| chars.get(i).map_or(line.len(), |(b, _)| *b);
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        let next = chars.get(i + 1).map(|(_, c)| *c);
        if c == '\'' || c == '`' || c == '"' {
            // To the closing quote (a doubled one stays inside), or the end.
            let mut j = i + 1;
            while j < chars.len() {
                if chars[j].1 == c {
                    if chars.get(j + 1).map(|(_, d)| *d) == Some(c) {
                        j += 2;
                        continue;
                    }
                    break;
                }
                j += 1;
            }
            let kind = if c == '\'' {
                Kind::String
            } else {
                Kind::Quoted
            };
            spans.push((start, end_of(j + 1), kind));
            i = j + 1;
        } else if c == '-' && next == Some('-') {
            spans.push((start, line.len(), Kind::Comment));
            break;
        } else if c == '/' && next == Some('*') {
            let mut j = i + 2;
            while j < chars.len()
                && !(chars[j].1 == '*' && chars.get(j + 1).map(|(_, d)| *d) == Some('/'))
            {
                j += 1;
            }
            spans.push((start, end_of(j + 2), Kind::Comment));
            i = j + 2;
        } else if c.is_alphabetic() || c == '_' {
            let mut j = i + 1;
            while j < chars.len() && (chars[j].1.is_alphanumeric() || chars[j].1 == '_') {
                j += 1;
            }
            let end = end_of(j);
            let kind = if is_keyword(&line[start..end]) {
                Kind::Keyword
            } else {
                Kind::Word
            };
            spans.push((start, end, kind));
            i = j;
        } else {
            if matches!(c, '(' | ')' | '[' | ']' | '{' | '}') {
                brackets.push((start, c));
            }
            i += 1;
        }
    }
    (spans, brackets)
}

/// The byte offset of the bracket matching the one at the cursor (or just
/// before it), if both are there.
fn matching_bracket(brackets: &[(usize, char)], line: &str, cursor: usize) -> Option<usize> {
    let at = |pos: usize| brackets.iter().position(|(b, _)| *b == pos);
    let before = line[..cursor.min(line.len())]
        .char_indices()
        .next_back()
        .map(|(b, _)| b);
    let index = at(cursor).or_else(|| before.and_then(at))?;
    let (_, c) = brackets[index];
    let (open, close, forward) = match c {
        '(' => ('(', ')', true),
        '[' => ('[', ']', true),
        '{' => ('{', '}', true),
        ')' => ('(', ')', false),
        ']' => ('[', ']', false),
        _ => ('{', '}', false),
    };
    let mut depth = 0usize;
    let order: Box<dyn Iterator<Item = &(usize, char)>> = if forward {
        Box::new(brackets[index + 1..].iter())
    } else {
        Box::new(brackets[..index].iter().rev())
    };
    let (same, other) = if forward {
        (open, close)
    } else {
        (close, open)
    };
    for (b, d) in order {
        if *d == same {
            depth += 1;
        } else if *d == other {
            if depth == 0 {
                return Some(*b);
            }
            depth -= 1;
        }
    }
    None
}

/// `line` with colour codes: keywords, strings, comments, and (with
/// `cursor`) the bracket matching the one at the cursor.
pub fn colour(line: &str, cursor: Option<usize>) -> String {
    let (spans, brackets) = scan(line);
    let matched = cursor.and_then(|c| matching_bracket(&brackets, line, c));
    let mut marks: Vec<(usize, usize, &str)> = spans
        .iter()
        .filter_map(|(s, e, kind)| match kind {
            Kind::Keyword => Some((*s, *e, KEYWORD)),
            Kind::String => Some((*s, *e, STRING)),
            Kind::Comment => Some((*s, *e, COMMENT)),
            Kind::Word | Kind::Quoted => None,
        })
        .collect();
    if let Some(b) = matched {
        marks.push((b, b + 1, BRACKET));
    }
    marks.sort_unstable();
    let mut out = String::with_capacity(line.len() + marks.len() * 10);
    let mut at = 0;
    for (s, e, code) in marks {
        out.push_str(&line[at..s]);
        out.push_str(code);
        out.push_str(&line[s..e]);
        out.push_str(RESET);
        at = e;
    }
    out.push_str(&line[at..]);
    out
}

/// The rest of the only keyword the word ending the line can become (in
/// the case it is typed in), when the cursor is at the end of the line.
pub fn keyword_hint(line: &str, cursor: usize) -> Option<String> {
    if cursor != line.len() {
        return None;
    }
    let (spans, _) = scan(line);
    let &(start, end, kind) = spans.last()?;
    if end != line.len() || !matches!(kind, Kind::Word | Kind::Keyword) {
        return None;
    }
    let word = &line[start..end];
    if word.chars().count() < 2 {
        return None;
    }
    let upper = word.to_ascii_uppercase();
    let mut found = KEYWORDS.iter().filter(|k| k.starts_with(&upper));
    let only = found.next()?;
    if found.next().is_some() || only.len() == upper.len() {
        return None;
    }
    let rest = &only[upper.len()..];
    Some(if word.chars().any(|c| c.is_ascii_lowercase()) {
        rest.to_ascii_lowercase()
    } else {
        rest.to_string()
    })
}

impl Highlighter for SqlHelper {
    fn highlight<'l>(&self, line: &'l str, pos: usize) -> Cow<'l, str> {
        let cursor = self.show_bracket.get().then_some(pos);
        Cow::Owned(colour(line, cursor))
    }

    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        Cow::Owned(format!("{HINT}{hint}{RESET}"))
    }

    fn highlight_char(&self, _line: &str, _pos: usize, kind: CmdKind) -> bool {
        // Every change may start or end a string or move onto a bracket;
        // the final drawing (Enter) shows no bracket.
        self.show_bracket.set(kind != CmdKind::ForcedRefresh);
        true
    }
}

impl Hinter for SqlHelper {
    type Hint = String;

    fn hint(&self, line: &str, pos: usize, _ctx: &rustyline::Context<'_>) -> Option<String> {
        keyword_hint(line, pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_sorted_for_lookup() {
        assert!(KEYWORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn keywords_strings_and_comments_are_coloured() {
        let out = colour("select 'from' , `select` from t -- where", None);
        assert_eq!(
            out,
            "\x1b[1;34mselect\x1b[0m \x1b[32m'from'\x1b[0m , `select` \x1b[1;34mfrom\x1b[0m t \x1b[90m-- where\x1b[0m"
        );
    }

    #[test]
    fn the_matching_bracket_is_shown() {
        let line = "SELECT f(a, (b)) FROM t";
        // The cursor just after the last ')': its '(' is the one after f.
        let out = colour(line, Some(16));
        assert!(out.contains("f\x1b[7m(\x1b[0ma"), "{out:?}");
        // On the inner '(' the inner ')' is shown; a ')' in a string is not
        // a bracket.
        let out = colour("x(('a)'))", Some(2));
        assert!(out.contains("'\x1b[0m\x1b[7m)\x1b[0m)"), "{out:?}");
        assert_eq!(colour("f(a", Some(2)), "f(a");
    }

    #[test]
    fn a_word_that_can_become_one_keyword_is_hinted() {
        assert_eq!(keyword_hint("SELECT * FR", 11).as_deref(), Some("OM"));
        assert_eq!(keyword_hint("sel", 3).as_deref(), Some("ect"));
        // Several keywords (TABLE, TABLES) or none: no hint.
        assert_eq!(keyword_hint("TAB", 3), None);
        assert_eq!(keyword_hint("'FR", 3), None);
        assert_eq!(keyword_hint("SELECT * FR", 5), None);
    }
}
