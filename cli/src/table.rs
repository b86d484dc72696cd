//! Rendering results as aligned text tables, like ksqlDB's CLI: cells
//! measured by their display width (CJK and emoji take two columns),
//! columns fitted to the terminal, `SET CLI COLUMN-WIDTH` (a fixed width
//! per column) and `SET CLI WRAP` (cells wider than their column wrap onto
//! more lines, or are cut with `...`); maps, arrays and structs printed as
//! ksqlDB prints them; control characters escaped.

use sluice_engine::types::Value;
use unicode_width::UnicodeWidthChar;

/// The narrowest a column is squeezed to when fitting the terminal.
const MIN_WIDTH: usize = 5;
/// What ends a cell cut short (WRAP OFF).
const CLIPPED: &str = "...";

/// `s` with its control characters written as escapes (`\u{1b}`, `\t`),
/// newlines kept when `keep_newlines`: text from the engine or a server
/// cannot move the cursor or recolour the terminal.
pub fn escape_controls(s: &str, keep_newlines: bool) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c == '\n' && keep_newlines {
            out.push(c);
        } else if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// How many terminal columns `s` takes (control characters, which cells
/// never hold once escaped, count as one).
pub fn width(s: &str) -> usize {
    s.chars().map(|c| c.width().unwrap_or(1)).sum()
}

fn cell(v: &Value) -> String {
    escape_controls(&ksql_text(v), false)
}

/// A value as ksqlDB's CLI prints it in a table: strings as they are,
/// arrays as `[a, b]`, maps and structs as `{K=v, L=w}`, null as `null`.
pub fn ksql_text(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(ksql_text).collect::<Vec<_>>().join(", ")
        ),
        Value::Map(entries) => format!(
            "{{{}}}",
            entries
                .iter()
                .map(|(k, v)| format!("{}={}", ksql_text(k), ksql_text(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Struct(fields) => format!(
            "{{{}}}",
            fields
                .iter()
                .map(|(k, v)| format!("{k}={}", ksql_text(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

fn line(widths: &[usize]) -> String {
    let mut s = String::from("+");
    for w in widths {
        s.push_str(&"-".repeat(w + 2));
        s.push('+');
    }
    s
}

/// The shell's `SET CLI` settings for tables, and the terminal's width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Every column this wide (None: fitted to the contents).
    pub column_width: Option<usize>,
    /// Cells wider than their column wrap (true) or are cut (false).
    pub wrap: bool,
    /// The terminal's width, when the output is a terminal: tables fitted
    /// to their contents are narrowed to it.
    pub terminal: Option<usize>,
}

impl Default for Layout {
    fn default() -> Self {
        Layout {
            column_width: None,
            wrap: true,
            terminal: None,
        }
    }
}

/// Natural column widths narrowed so that the table fits `terminal`
/// columns: the widest columns are cut down to a common width, none below
/// [`MIN_WIDTH`] (a terminal too narrow for that gets wider lines).
pub fn fit(natural: &[usize], terminal: Option<usize>) -> Vec<usize> {
    let Some(terminal) = terminal else {
        return natural.to_vec();
    };
    // Each column takes its width and " | "; the table one more "|".
    let budget = terminal.saturating_sub(3 * natural.len() + 1);
    if natural.iter().sum::<usize>() <= budget {
        return natural.to_vec();
    }
    let within = |cap: usize| natural.iter().map(|w| (*w).min(cap)).sum::<usize>() <= budget;
    let widest = natural.iter().copied().max().unwrap_or(MIN_WIDTH);
    let (mut lo, mut hi) = (MIN_WIDTH, widest);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if within(mid) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    natural.iter().map(|w| (*w).min(lo)).collect()
}

/// `text` in pieces of at most `width` display columns (a character wider
/// than that on its own).
fn split_width(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut piece = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(1);
        if used + w > width && !piece.is_empty() {
            out.push(std::mem::take(&mut piece));
            used = 0;
        }
        piece.push(c);
        used += w;
    }
    if !piece.is_empty() || out.is_empty() {
        out.push(piece);
    }
    out
}

/// A cell's lines in a column `width` wide: wrapped, or (when `wrap` is
/// off) its first line with `...` in place of what does not fit.
fn cell_lines(text: &str, width: usize, wrap: bool) -> Vec<String> {
    if self::width(text) <= width {
        return vec![text.to_string()];
    }
    if wrap {
        return split_width(text, width);
    }
    if width <= CLIPPED.len() {
        return split_width(text, width).into_iter().take(1).collect();
    }
    let kept = split_width(text, width - CLIPPED.len())
        .into_iter()
        .next()
        .unwrap_or_default();
    vec![format!("{kept}{CLIPPED}")]
}

fn row_line(cells: &[String], widths: &[usize]) -> String {
    let mut s = String::from("|");
    for (c, w) in cells.iter().zip(widths) {
        s.push(' ');
        s.push_str(c);
        s.push_str(&" ".repeat(w.saturating_sub(width(c)) + 1));
        s.push('|');
    }
    s
}

/// A row's lines: one per line of its tallest cell (headers always wrap).
fn row_lines(cells: &[String], widths: &[usize], wrap: bool) -> String {
    let pieces: Vec<Vec<String>> = cells
        .iter()
        .zip(widths)
        .map(|(c, w)| cell_lines(c, (*w).max(1), wrap))
        .collect();
    let height = pieces.iter().map(Vec::len).max().unwrap_or(1);
    (0..height)
        .map(|i| {
            let line: Vec<String> = pieces
                .iter()
                .map(|p| p.get(i).cloned().unwrap_or_default())
                .collect();
            row_line(&line, widths)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A whole table with widths fitted to its contents and the terminal (or
/// as the layout fixes them).
pub fn render(columns: &[String], rows: &[Vec<Value>], layout: Layout) -> String {
    let cells: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(cell).collect()).collect();
    let widths = match layout.column_width {
        Some(w) => vec![w.max(1); columns.len()],
        None => {
            let mut natural: Vec<usize> = columns.iter().map(|n| width(n)).collect();
            for r in &cells {
                for (i, c) in r.iter().enumerate() {
                    if i < natural.len() {
                        natural[i] = natural[i].max(width(c));
                    }
                }
            }
            fit(&natural, layout.terminal)
        }
    };
    let mut out = vec![
        line(&widths),
        row_lines(columns, &widths, true),
        line(&widths),
    ];
    for r in &cells {
        out.push(row_lines(r, &widths, layout.wrap));
    }
    out.push(line(&widths));
    out.join("\n")
}

/// A one-cell table holding a message.
pub fn message(m: &str) -> String {
    let m = escape_controls(m, true);
    let width = m.lines().map(width).max().unwrap_or(0).max(7);
    let mut out = vec![format!(" {:<width$} ", "Message"), "-".repeat(width + 2)];
    for l in m.lines() {
        let pad = " ".repeat(width - self::width(l));
        out.push(format!(" {l}{pad} "));
    }
    out.push("-".repeat(width + 2));
    out.join("\n")
}

/// ksqlDB's plain table (DESCRIBE's fields): ` a | b ` lines under a
/// header and between rules, no outer border; the rules no wider than the
/// terminal.
pub fn plain(headers: &[&str], rows: &[Vec<String>], terminal: Option<usize>) -> Vec<String> {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| escape_controls(c, false)).collect())
        .collect();
    let widths: Vec<usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| width(c))
                .max()
                .unwrap_or(0)
                .max(width(h))
        })
        .collect();
    let format = |cells: Vec<&str>| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w.saturating_sub(width(c)))))
            .collect();
        format!(" {} ", parts.join(" | "))
    };
    let total = widths
        .iter()
        .map(|w| w + 3)
        .sum::<usize>()
        .saturating_sub(1);
    let rule = "-".repeat(terminal.map_or(total, |t| total.min(t)));
    let mut out = vec![format(headers.to_vec()), rule.clone()];
    for r in &rows {
        out.push(format(r.iter().map(String::as_str).collect()));
    }
    out.push(rule);
    out
}

/// A table printed row by row as a push query's rows arrive: column widths
/// are fixed up front. In a terminal the columns share its width (at
/// least 16 each, narrowed if that does not fit) and wider cells wrap or
/// are cut; in a pipe cells wider than 16 widen their line instead.
pub struct Streaming {
    names: Vec<String>,
    widths: Vec<usize>,
    layout: Layout,
    /// Cells keep to their column's width (a fixed width or a terminal).
    fixed: bool,
}

impl Streaming {
    pub fn new(names: &[String], layout: Layout) -> Self {
        let widths = match (layout.column_width, layout.terminal) {
            (Some(w), _) => vec![w.max(1); names.len()],
            (None, terminal) => {
                let share = terminal.map_or(0, |t| {
                    (t.saturating_sub(1) / names.len().max(1)).saturating_sub(3)
                });
                let natural: Vec<usize> =
                    names.iter().map(|n| width(n).max(16).max(share)).collect();
                fit(&natural, terminal)
            }
        };
        Streaming {
            names: names.to_vec(),
            widths,
            layout,
            fixed: layout.column_width.is_some() || layout.terminal.is_some(),
        }
    }

    pub fn header(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            line(&self.widths),
            row_lines(&self.names, &self.widths, true),
            line(&self.widths)
        )
    }

    pub fn row(&self, values: &[Value]) -> String {
        let cells: Vec<String> = values.iter().map(cell).collect();
        if !self.fixed {
            return format!("{}\n", row_line(&cells, &self.widths));
        }
        format!("{}\n", row_lines(&cells, &self.widths, self.layout.wrap))
    }

    pub fn footer(&self) -> String {
        line(&self.widths)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::String(v.to_string())
    }

    #[test]
    fn wide_characters_are_aligned_by_display_width() {
        let out = render(
            &["NAME".to_string(), "N".to_string()],
            &[vec![s("東京"), Value::Int(1)], vec![s("ab"), Value::Int(2)]],
            Layout::default(),
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[3], "| 東京 | 1 |");
        assert_eq!(lines[4], "| ab   | 2 |");
        assert!(lines.iter().all(|l| width(l) == width(lines[0])), "{out}");
    }

    #[test]
    fn tables_narrow_to_the_terminal_and_wrap_or_cut() {
        let long = "abcdefghijklmnopqrstuvwxyz".repeat(2);
        let rows = vec![vec![s("k"), s(&long)]];
        let names = ["K".to_string(), "TEXT".to_string()];
        let wrapped = render(
            &names,
            &rows,
            Layout {
                terminal: Some(30),
                ..Layout::default()
            },
        );
        assert!(wrapped.lines().all(|l| width(l) <= 30), "{wrapped}");
        let joined: String = wrapped
            .lines()
            .skip(3)
            .filter(|l| l.starts_with('|'))
            .map(|l| l.split('|').nth(2).unwrap_or("").trim().to_string())
            .collect();
        assert_eq!(joined, long);
        let cut = render(
            &names,
            &rows,
            Layout {
                terminal: Some(30),
                wrap: false,
                ..Layout::default()
            },
        );
        let row = cut.lines().nth(3).unwrap_or("");
        assert!(row.ends_with("... |"), "{cut}");
        assert_eq!(cut.lines().count(), 5, "{cut}");
    }

    #[test]
    fn collections_print_as_ksqldb_prints_them() {
        let v = Value::Map(vec![(s("a"), Value::Array(vec![s("x"), Value::Null]))]);
        assert_eq!(ksql_text(&v), "{a=[x, null]}");
        let st = Value::Struct(vec![("F".to_string(), Value::Int(3))]);
        assert_eq!(ksql_text(&st), "{F=3}");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape_controls("a\u{1b}[2Jb\nc", true), "a\\u{1b}[2Jb\nc");
        assert_eq!(escape_controls("a\tb\nc", false), "a\\tb\\nc");
        assert!(!message("bad \u{7} bell").contains('\u{7}'));
    }
}
