//! ksqlDB's SQL dialect: the lexer, the statement AST (which prints back to
//! SQL) and the parser.

pub mod ast;

/// Words that must be quoted to be used as identifiers.
pub fn is_reserved(word: &str) -> bool {
    const RESERVED: &[&str] = &[
        "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "AS", "BY", "GROUP", "HAVING", "WINDOW",
        "JOIN", "LEFT", "RIGHT", "FULL", "OUTER", "INNER", "ON", "WITHIN", "EMIT", "LIMIT",
        "CREATE", "INSERT", "INTO", "VALUES", "TRUE", "FALSE", "NULL", "CASE", "WHEN", "THEN",
        "ELSE", "END", "CAST", "IS", "IN", "LIKE", "BETWEEN", "PARTITION", "WITH", "TABLE",
        "STREAM", "DROP", "EXISTS", "IF", "DISTINCT", "STRUCT", "ARRAY", "MAP", "INTERVAL",
    ];
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(word))
}
