//! ksqlDB's SQL dialect: the lexer, the statement AST (which prints back to
//! SQL) and the parser.

pub mod ast;
mod display;
pub mod lexer;
pub mod parser;

pub use parser::{parse, parse_expr, parse_statement, parse_type, split_statements, StatementText};

/// Words that must be quoted to be used as identifiers: ksqlDB's reserved
/// words that the parser gives structure to. ksqlDB's non-reserved keywords
/// (`KEY`, `VALUE`, `TYPE`, `DATE`, `TOPIC`, `SOURCE`, `PARTITION`, `MAP`...)
/// can name columns and sources unquoted.
pub fn is_reserved(word: &str) -> bool {
    const RESERVED: &[&str] = &[
        "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "AS", "BY", "GROUP", "HAVING", "WINDOW",
        "JOIN", "LEFT", "RIGHT", "FULL", "OUTER", "INNER", "CROSS", "ON", "WITHIN", "LIMIT",
        "CREATE", "INSERT", "INTO", "VALUES", "TRUE", "FALSE", "NULL", "CASE", "WHEN", "THEN",
        "ELSE", "END", "CAST", "IS", "IN", "LIKE", "BETWEEN", "WITH", "TABLE", "STREAM", "DROP",
        "EXISTS", "DISTINCT",
    ];
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(word))
}
