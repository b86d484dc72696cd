//! The lexer: turns SQL text into tokens, each with the 1-based line and
//! column where it starts.
//!
//! Unquoted identifiers are upper-cased (ksqlDB is case-insensitive for
//! them); identifiers quoted with backticks or double quotes keep their case,
//! a doubled quote character standing for itself. String literals use single
//! quotes with `''` as the escape. `--` starts a comment to the end of the
//! line and `/* ... */` a block comment.

use crate::error::{Error, Pos, Result};

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenKind {
    /// An identifier or keyword. `value` is upper-cased when unquoted and
    /// kept as written (without the quotes) when quoted.
    Ident { value: String, quoted: bool },
    /// A single-quoted string literal, unescaped.
    String(String),
    /// A numeric literal as written (`1`, `1.5`, `.5`, `1e3`).
    Number(String),
    /// An operator or punctuation: one of `= <> < <= > >= + - * / % || ->
    /// => := , ; ( ) [ ] .` (`!=` is reported as `<>`).
    Symbol(&'static str),
    /// The end of the text.
    Eof,
}

/// A token with where it starts and the text it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// What the token is.
    pub kind: TokenKind,
    /// Where the token starts (1-based line and column).
    pub pos: Pos,
    /// The token as written in the source.
    pub text: String,
}

impl Token {
    /// True for an unquoted identifier equal to `kw` (given in upper case).
    pub fn is_keyword(&self, kw: &str) -> bool {
        matches!(&self.kind, TokenKind::Ident { value, quoted: false } if value == kw)
    }

    /// True for the symbol `sym`.
    pub fn is_symbol(&self, sym: &str) -> bool {
        matches!(&self.kind, TokenKind::Symbol(s) if *s == sym)
    }

    /// A short description for error messages: the token quoted, or
    /// "end of input".
    pub fn describe(&self) -> String {
        match self.kind {
            TokenKind::Eof => "end of input".to_string(),
            _ => format!("'{}'", self.text),
        }
    }
}

const SYMBOLS: &[&str] = &[
    "<>", "!=", "<=", ">=", "||", "->", "=>", ":=", "=", "<", ">", "+", "-", "*", "/", "%", ",",
    ";", "(", ")", "[", "]", ".",
];

/// A cursor over the characters of a text that tracks line and column.
#[derive(Clone)]
pub(crate) struct Cursor<'a> {
    src: &'a str,
    /// Byte offset of the next character.
    pub(crate) offset: usize,
    pub(crate) line: u32,
    pub(crate) col: u32,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(src: &'a str, start: Pos) -> Self {
        Cursor {
            src,
            offset: 0,
            line: start.line.max(1),
            col: start.col.max(1),
        }
    }

    pub(crate) fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            col: self.col,
        }
    }

    pub(crate) fn rest(&self) -> &'a str {
        &self.src[self.offset..]
    }

    pub(crate) fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    pub(crate) fn peek_at(&self, n: usize) -> Option<char> {
        self.rest().chars().nth(n)
    }

    pub(crate) fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.offset += c.len_utf8();
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    pub(crate) fn slice(&self, from: usize) -> &'a str {
        &self.src[from..self.offset]
    }

    /// Skips whitespace and comments. Fails on an unterminated block comment.
    pub(crate) fn skip_trivia(&mut self) -> Result<()> {
        loop {
            match self.peek() {
                Some(c) if c.is_whitespace() => {
                    self.bump();
                }
                Some('-') if self.peek_at(1) == Some('-') => {
                    while let Some(c) = self.peek() {
                        if c == '\n' {
                            break;
                        }
                        self.bump();
                    }
                }
                Some('/') if self.peek_at(1) == Some('*') => {
                    let start = self.pos();
                    self.bump();
                    self.bump();
                    loop {
                        match self.peek() {
                            None => {
                                return Err(parse_error(start, "unterminated block comment"));
                            }
                            Some('*') if self.peek_at(1) == Some('/') => {
                                self.bump();
                                self.bump();
                                break;
                            }
                            Some(_) => {
                                self.bump();
                            }
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    /// Reads a quoted section whose opening quote is the next character; a
    /// doubled quote stands for one. Returns the unescaped content.
    pub(crate) fn quoted(&mut self, quote: char, what: &str) -> Result<String> {
        let start = self.pos();
        self.bump();
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err(parse_error(start, format!("unterminated {what}"))),
                Some(c) if c == quote => {
                    if self.peek() == Some(quote) {
                        self.bump();
                        out.push(quote);
                    } else {
                        return Ok(out);
                    }
                }
                Some(c) => out.push(c),
            }
        }
    }
}

pub(crate) fn parse_error(pos: Pos, message: impl Into<String>) -> Error {
    Error::Parse {
        pos,
        message: message.into(),
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '@' || c == '$'
}

/// Splits `src` into tokens; positions start at `start` (the position of
/// `src`'s first character in the whole script). The last token is always
/// [`TokenKind::Eof`].
pub fn tokenize(src: &str, start: Pos) -> Result<Vec<Token>> {
    let mut cur = Cursor::new(src, start);
    let mut out = Vec::new();
    loop {
        cur.skip_trivia()?;
        let pos = cur.pos();
        let from = cur.offset;
        let Some(c) = cur.peek() else {
            out.push(Token {
                kind: TokenKind::Eof,
                pos,
                text: String::new(),
            });
            return Ok(out);
        };
        let kind = if is_ident_start(c) {
            while matches!(cur.peek(), Some(c) if is_ident_char(c)) {
                cur.bump();
            }
            TokenKind::Ident {
                value: cur.slice(from).to_uppercase(),
                quoted: false,
            }
        } else if c == '`' || c == '"' {
            let value = cur.quoted(c, "quoted identifier")?;
            if value.is_empty() {
                return Err(parse_error(pos, "empty quoted identifier"));
            }
            TokenKind::Ident {
                value,
                quoted: true,
            }
        } else if c == '\'' {
            TokenKind::String(cur.quoted('\'', "string literal")?)
        } else if c.is_ascii_digit()
            || (c == '.' && matches!(cur.peek_at(1), Some(d) if d.is_ascii_digit()))
        {
            lex_number(&mut cur)
        } else if let Some(sym) = SYMBOLS.iter().find(|s| cur.rest().starts_with(**s)) {
            for _ in 0..sym.len() {
                cur.bump();
            }
            TokenKind::Symbol(if *sym == "!=" { "<>" } else { sym })
        } else {
            return Err(parse_error(pos, format!("unexpected character '{c}'")));
        };
        out.push(Token {
            kind,
            pos,
            text: cur.slice(from).to_string(),
        });
    }
}

fn lex_number(cur: &mut Cursor<'_>) -> TokenKind {
    let from = cur.offset;
    let digits = |cur: &mut Cursor<'_>| {
        while matches!(cur.peek(), Some(d) if d.is_ascii_digit()) {
            cur.bump();
        }
    };
    digits(cur);
    if cur.peek() == Some('.') {
        cur.bump();
        digits(cur);
    }
    if matches!(cur.peek(), Some('e' | 'E')) {
        let sign = matches!(cur.peek_at(1), Some('+' | '-'));
        let digit_at = if sign { 2 } else { 1 };
        if matches!(cur.peek_at(digit_at), Some(d) if d.is_ascii_digit()) {
            cur.bump();
            if sign {
                cur.bump();
            }
            digits(cur);
        }
    }
    // Like ksqlDB, a run of digits and letters without a decimal point is
    // an identifier (`1R`); a number with one ends where the letters start.
    if !cur.slice(from).contains('.') && matches!(cur.peek(), Some(c) if is_ident_char(c)) {
        while matches!(cur.peek(), Some(c) if is_ident_char(c)) {
            cur.bump();
        }
        return TokenKind::Ident {
            value: cur.slice(from).to_uppercase(),
            quoted: false,
        };
    }
    TokenKind::Number(cur.slice(from).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<TokenKind> {
        tokenize(src, Pos { line: 1, col: 1 })
            .unwrap()
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    fn ident(v: &str, quoted: bool) -> TokenKind {
        TokenKind::Ident {
            value: v.to_string(),
            quoted,
        }
    }

    #[test]
    fn identifiers_and_quoting() {
        assert_eq!(
            kinds("abc `Mixed``q` \"dq\"\"x\" a_1@$"),
            vec![
                ident("ABC", false),
                ident("Mixed`q", true),
                ident("dq\"x", true),
                ident("A_1@$", false),
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn strings_numbers_symbols() {
        assert_eq!(
            kinds("'it''s' 1 1.5 .5 1e3 1.5E-3 1. != <> -> => := || <= >="),
            vec![
                TokenKind::String("it's".into()),
                TokenKind::Number("1".into()),
                TokenKind::Number("1.5".into()),
                TokenKind::Number(".5".into()),
                TokenKind::Number("1e3".into()),
                TokenKind::Number("1.5E-3".into()),
                TokenKind::Number("1.".into()),
                TokenKind::Symbol("<>"),
                TokenKind::Symbol("<>"),
                TokenKind::Symbol("->"),
                TokenKind::Symbol("=>"),
                TokenKind::Symbol(":="),
                TokenKind::Symbol("||"),
                TokenKind::Symbol("<="),
                TokenKind::Symbol(">="),
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn comments_and_positions() {
        let toks = tokenize("a -- c\n /* x\n y */ b", Pos { line: 1, col: 1 }).unwrap();
        assert_eq!(toks[0].pos, Pos { line: 1, col: 1 });
        assert_eq!(toks[1].pos, Pos { line: 3, col: 7 });
        let toks = tokenize("a b", Pos { line: 4, col: 10 }).unwrap();
        assert_eq!(toks[1].pos, Pos { line: 4, col: 12 });
    }

    #[test]
    fn errors() {
        assert!(tokenize("'abc", Pos::default()).is_err());
        assert!(tokenize("/* abc", Pos::default()).is_err());
        assert_eq!(
            kinds("1abc 1.5x")[..3],
            [
                ident("1ABC", false),
                TokenKind::Number("1.5".into()),
                ident("X", false)
            ]
        );
        assert!(tokenize("a # b", Pos::default()).is_err());
    }
}
