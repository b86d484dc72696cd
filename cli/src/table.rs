//! Rendering results as aligned text tables, like ksqlDB's CLI, with its
//! `SET CLI COLUMN-WIDTH` (a fixed width per column) and `SET CLI WRAP`
//! (cells wider than that wrap onto more lines, or are cut).

use sluice_engine::types::Value;

fn cell(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::String(s) => s.clone(),
        other => crate::table::json_like(other),
    }
}

/// Nested values as ksqlDB's CLI shows them (JSON-ish).
pub fn json_like(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::String(s) => format!("\"{}\"", s.replace('"', "\\\"")),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(json_like).collect::<Vec<_>>().join(", ")
        ),
        Value::Map(entries) => format!(
            "{{{}}}",
            entries
                .iter()
                .map(|(k, v)| format!("{}={}", cell(k), json_like(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Struct(fields) => format!(
            "{{{}}}",
            fields
                .iter()
                .map(|(k, v)| format!("{k}={}", json_like(v)))
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

/// The shell's `SET CLI` settings for tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Every column this wide (None: fitted to the contents).
    pub column_width: Option<usize>,
    /// Cells wider than their column wrap (true) or are cut (false).
    pub wrap: bool,
}

impl Default for Layout {
    fn default() -> Self {
        Layout {
            column_width: None,
            wrap: true,
        }
    }
}

fn row_line(cells: &[String], widths: &[usize]) -> String {
    let mut s = String::from("|");
    for (c, w) in cells.iter().zip(widths) {
        s.push(' ');
        s.push_str(c);
        s.push_str(&" ".repeat(w.saturating_sub(c.chars().count()) + 1));
        s.push('|');
    }
    s
}

/// A row's lines: one, or (with a fixed width) as many as its widest
/// wrapped cell needs; cut cells keep their first `width` characters.
fn row_lines(cells: &[String], widths: &[usize], layout: Layout) -> String {
    let Some(width) = layout.column_width else {
        return row_line(cells, widths);
    };
    let width = width.max(1);
    let pieces: Vec<Vec<String>> = cells
        .iter()
        .map(|c| {
            let chars: Vec<char> = c.chars().collect();
            if chars.is_empty() {
                return vec![String::new()];
            }
            let chunks = chars.chunks(width).map(|p| p.iter().collect::<String>());
            if layout.wrap {
                chunks.collect()
            } else {
                chunks.take(1).collect()
            }
        })
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

/// A whole table with widths fitted to its contents (or as the layout
/// fixes them).
pub fn render(columns: &[String], rows: &[Vec<Value>], layout: Layout) -> String {
    let cells: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(cell).collect()).collect();
    let mut widths: Vec<usize> = columns.iter().map(|n| n.chars().count()).collect();
    match layout.column_width {
        Some(w) => widths.iter_mut().for_each(|x| *x = w.max(1)),
        None => {
            for r in &cells {
                for (i, c) in r.iter().enumerate() {
                    if i < widths.len() {
                        widths[i] = widths[i].max(c.chars().count());
                    }
                }
            }
        }
    }
    let mut out = vec![
        line(&widths),
        row_lines(columns, &widths, layout),
        line(&widths),
    ];
    for r in &cells {
        out.push(row_lines(r, &widths, layout));
    }
    out.push(line(&widths));
    out.join("\n")
}

/// A one-cell table holding a message.
pub fn message(m: &str) -> String {
    let width = m
        .lines()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
        .max(7);
    let mut out = vec![format!(" {:<width$} ", "Message"), "-".repeat(width + 2)];
    for l in m.lines() {
        out.push(format!(" {l:<width$} "));
    }
    out.push("-".repeat(width + 2));
    out.join("\n")
}

/// A table printed row by row as a push query's rows arrive: column widths
/// are fixed up front.
pub struct Streaming {
    names: Vec<String>,
    widths: Vec<usize>,
    layout: Layout,
}

impl Streaming {
    pub fn new(names: &[String], layout: Layout) -> Self {
        let widths = match layout.column_width {
            Some(w) => vec![w.max(1); names.len()],
            None => names.iter().map(|n| n.chars().count().max(16)).collect(),
        };
        Streaming {
            names: names.to_vec(),
            widths,
            layout,
        }
    }

    pub fn header(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            line(&self.widths),
            row_lines(&self.names, &self.widths, self.layout),
            line(&self.widths)
        )
    }

    pub fn row(&self, values: &[Value]) -> String {
        let cells: Vec<String> = values.iter().map(cell).collect();
        format!("{}\n", row_lines(&cells, &self.widths, self.layout))
    }

    pub fn footer(&self) -> String {
        line(&self.widths)
    }
}
