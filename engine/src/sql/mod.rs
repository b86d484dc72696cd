//! ksqlDB's SQL dialect: the lexer, the statement AST (which prints back to
//! SQL) and the parser.

pub mod ast;
mod display;
pub mod lexer;
pub mod parser;

pub use parser::{parse, parse_expr, parse_statement, parse_type, split_statements, StatementText};

/// The reserved words live with the identifier quoting rules in `types`;
/// the parser reads them from here.
pub use crate::types::is_reserved;
