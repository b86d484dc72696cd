//! The shell's own commands, as ksqlDB's CLI has them: they never reach
//! the engine and need no `;` (RUN SCRIPT, SPOOL, OUTPUT, SET CLI, HELP,
//! VERSION, CLEAR, HISTORY, EXIT, QUIT).

use crate::args::OutputFormat;

/// One of the shell's commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    RunScript(String),
    Spool(String),
    SpoolOff,
    /// `OUTPUT` alone shows the format.
    Output(Option<OutputFormat>),
    Wrap(bool),
    ColumnWidth(usize),
    /// `SET CLI` alone shows the settings.
    ShowCli,
    Help,
    Version,
    Clear,
    History,
    Exit,
}

/// The command `text` is (one statement, `;` optional), or None for SQL;
/// `Err` for a command with a bad argument.
pub fn parse(text: &str) -> Option<Result<Command, String>> {
    let text = text.trim();
    let text = text.strip_suffix(';').unwrap_or(text).trim();
    let words: Vec<&str> = text.split_whitespace().collect();
    let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
    let upper: Vec<&str> = upper.iter().map(String::as_str).collect();
    Some(Ok(match upper.as_slice() {
        ["HELP"] => Command::Help,
        ["VERSION"] => Command::Version,
        ["CLEAR"] => Command::Clear,
        ["HISTORY"] => Command::History,
        ["EXIT"] | ["QUIT"] => Command::Exit,
        ["OUTPUT"] => Command::Output(None),
        ["OUTPUT", "JSON"] => Command::Output(Some(OutputFormat::Json)),
        ["OUTPUT", "TABULAR"] => Command::Output(Some(OutputFormat::Tabular)),
        ["OUTPUT", _] => return Some(Err("OUTPUT takes JSON or TABULAR".into())),
        ["SPOOL", "OFF"] => Command::SpoolOff,
        ["SPOOL", ..] if words.len() > 1 => {
            Command::Spool(unquote(text["SPOOL".len()..].trim()).to_string())
        }
        ["RUN", "SCRIPT", ..] if words.len() > 2 => {
            let rest = text[3..].trim_start()["SCRIPT".len()..].trim();
            Command::RunScript(unquote(rest).to_string())
        }
        ["SET", "CLI"] => Command::ShowCli,
        ["SET", "CLI", "WRAP", "ON"] => Command::Wrap(true),
        ["SET", "CLI", "WRAP", "OFF"] => Command::Wrap(false),
        ["SET", "CLI", "WRAP", ..] => return Some(Err("SET CLI WRAP takes ON or OFF".into())),
        ["SET", "CLI", "COLUMN-WIDTH", n] => match n.parse::<usize>() {
            Ok(n) => Command::ColumnWidth(n),
            Err(_) => {
                return Some(Err(
                    "SET CLI COLUMN-WIDTH takes a number of characters (0: fit)".into(),
                ))
            }
        },
        ["SET", "CLI", ..] => {
            return Some(Err("SET CLI takes WRAP ON|OFF or COLUMN-WIDTH <n>".into()))
        }
        _ => return None,
    }))
}

/// `'file'` or `"file"` or `file`.
fn unquote(s: &str) -> &str {
    for q in ['\'', '"'] {
        if let Some(inner) = s.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner;
        }
    }
    s
}

/// What `HELP` prints.
pub const HELP: &str = "\
Statements end with ';' and may span lines. Shell commands need no ';':

  RUN SCRIPT 'file'            run the statements in a file
  SPOOL file | SPOOL OFF       also write what is shown to a file, or stop
  OUTPUT [JSON | TABULAR]      show or set how results are printed
  SET CLI WRAP ON | OFF        wrap cells wider than their column, or cut them
  SET CLI COLUMN-WIDTH n       print every column n characters wide (0: fit)
  HISTORY                      the statements entered (also: up arrow, Ctrl-R)
  CLEAR                        clear the screen
  VERSION                      the shell's version
  HELP                         this text
  EXIT | QUIT                  leave (also Ctrl-D)

Tab completes keywords, streams, tables, columns, functions, topics, query ids
and variables. Ctrl-C clears the line or stops a running query.

SQL (as in ksqlDB): CREATE STREAM|TABLE ... [AS SELECT ...], INSERT INTO ...
VALUES, SELECT ... [EMIT CHANGES], PRINT topic, SHOW|LIST STREAMS|TABLES|
TOPICS|QUERIES|PROPERTIES|FUNCTIONS|TYPES|VARIABLES, DESCRIBE [EXTENDED],
EXPLAIN, TERMINATE, DROP, SET, UNSET, DEFINE, UNDEFINE.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_with_or_without_semicolon() {
        assert_eq!(parse("help"), Some(Ok(Command::Help)));
        assert_eq!(parse("  Exit; "), Some(Ok(Command::Exit)));
        assert_eq!(
            parse("RUN SCRIPT '/tmp/a b.sql';"),
            Some(Ok(Command::RunScript("/tmp/a b.sql".into())))
        );
        assert_eq!(
            parse("spool /tmp/out.txt"),
            Some(Ok(Command::Spool("/tmp/out.txt".into())))
        );
        assert_eq!(parse("SPOOL OFF;"), Some(Ok(Command::SpoolOff)));
        assert_eq!(
            parse("output json"),
            Some(Ok(Command::Output(Some(OutputFormat::Json))))
        );
        assert_eq!(
            parse("SET CLI COLUMN-WIDTH 20"),
            Some(Ok(Command::ColumnWidth(20)))
        );
        assert_eq!(parse("SET CLI WRAP OFF"), Some(Ok(Command::Wrap(false))));
        assert!(matches!(parse("SET CLI WRAP maybe"), Some(Err(_))));
        assert_eq!(parse("SET 'auto.offset.reset'='earliest';"), None);
        assert_eq!(parse("SELECT * FROM s;"), None);
    }
}
