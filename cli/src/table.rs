//! Rendering results as aligned text tables, like ksqlDB's CLI.

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

/// A whole table with widths fitted to its contents.
pub fn render(columns: &[String], rows: &[Vec<Value>]) -> String {
    let cells: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(cell).collect()).collect();
    let mut widths: Vec<usize> = columns.iter().map(|n| n.chars().count()).collect();
    for r in &cells {
        for (i, c) in r.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
    }
    let mut out = vec![line(&widths), row_line(columns, &widths), line(&widths)];
    for r in &cells {
        out.push(row_line(r, &widths));
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
}

impl Streaming {
    pub fn new(names: &[String]) -> Self {
        Streaming {
            names: names.to_vec(),
            widths: names.iter().map(|n| n.chars().count().max(16)).collect(),
        }
    }

    pub fn header(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            line(&self.widths),
            row_line(&self.names, &self.widths),
            line(&self.widths)
        )
    }

    pub fn row(&self, values: &[Value]) -> String {
        let cells: Vec<String> = values.iter().map(cell).collect();
        format!("{}\n", row_line(&cells, &self.widths))
    }

    pub fn footer(&self) -> String {
        line(&self.widths)
    }
}
