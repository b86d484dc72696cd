//! ksqlDB's identifier rules on standard SQL text: unquoted identifiers
//! are upper-cased and backquoted ones kept as written (as double-quoted
//! identifiers, which DataFusion keeps), so `SELECT symbol FROM trades`
//! finds column `SYMBOL` of stream `TRADES`. Strings and comments are
//! left alone. DataFusion then parses with identifier normalization off.

use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};
use sluice_engine::analytic::PARSE_ERROR;
use sluice_engine::{Error, Result};

/// The statement with ksqlDB's identifier case applied, and without its
/// trailing `;`.
pub fn ksql_identifiers(sql: &str) -> Result<String> {
    let dialect = GenericDialect {};
    let tokens = Tokenizer::new(&dialect, sql)
        .tokenize()
        .map_err(|e| Error::plan(format!("{PARSE_ERROR}: {e}")))?;
    let mut out = String::with_capacity(sql.len());
    for token in tokens {
        match token {
            Token::Word(mut w) => {
                match w.quote_style {
                    None => w.value = w.value.to_ascii_uppercase(),
                    Some('`') => w.quote_style = Some('"'),
                    Some(_) => {}
                }
                if w.quote_style == Some('"') {
                    out.push('"');
                    out.push_str(&w.value.replace('"', "\"\""));
                    out.push('"');
                } else {
                    out.push_str(&w.to_string());
                }
            }
            other => out.push_str(&other.to_string()),
        }
    }
    Ok(out.trim().trim_end_matches(';').trim_end().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquoted_names_are_upper_cased_and_quoted_ones_kept() {
        assert_eq!(
            ksql_identifiers("select symbol, `Mixed` from trades t where t.x = 'abc';").unwrap(),
            "SELECT SYMBOL, \"Mixed\" FROM TRADES T WHERE T.X = 'abc'"
        );
    }
}
