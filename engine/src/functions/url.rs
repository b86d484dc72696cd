//! ksqlDB's URL functions: extracting the parts of a URI (parsed the way
//! `java.net.URI` parses RFC 2396 / 3986 URIs, with percent-escapes decoded
//! in the path, query and fragment) and encoding or decoding query-parameter
//! values as `application/x-www-form-urlencoded`.
//!
//! A string that is not a syntactically valid URI is an evaluation error.

use super::args::{any_null, fits, str_of};
use super::{no_signature, FunctionRegistry, Resolved};
use crate::error::{Error, Result};
use crate::types::{SqlType, Value};

const CATEGORY: &str = "URL";

/// Registers this family's functions.
pub fn register(reg: &mut FunctionRegistry) {
    reg.add(
        "URL_ENCODE_PARAM",
        CATEGORY,
        "Escapes a value for use as a URL query parameter.",
        |a| string_fn("URL_ENCODE_PARAM", a, |s| Ok(Some(encode_param(s)))),
    );
    reg.add(
        "URL_DECODE_PARAM",
        CATEGORY,
        "Unescapes a URL-query-parameter-encoded value.",
        |a| string_fn("URL_DECODE_PARAM", a, |s| decode_param(s).map(Some)),
    );
    reg.add(
        "URL_EXTRACT_FRAGMENT",
        CATEGORY,
        "The decoded fragment of a URL, or NULL.",
        |a| string_fn("URL_EXTRACT_FRAGMENT", a, |s| Ok(Uri::parse(s)?.fragment())),
    );
    reg.add(
        "URL_EXTRACT_HOST",
        CATEGORY,
        "The host name of a URL, or NULL.",
        |a| string_fn("URL_EXTRACT_HOST", a, |s| Ok(Uri::parse(s)?.host)),
    );
    reg.add(
        "URL_EXTRACT_PATH",
        CATEGORY,
        "The decoded path of a URL; empty when it has none.",
        |a| string_fn("URL_EXTRACT_PATH", a, |s| Ok(Uri::parse(s)?.path())),
    );
    reg.add(
        "URL_EXTRACT_PROTOCOL",
        CATEGORY,
        "The protocol (scheme) of a URL, or NULL.",
        |a| string_fn("URL_EXTRACT_PROTOCOL", a, |s| Ok(Uri::parse(s)?.scheme)),
    );
    reg.add(
        "URL_EXTRACT_QUERY",
        CATEGORY,
        "The decoded query string of a URL, or NULL.",
        |a| string_fn("URL_EXTRACT_QUERY", a, |s| Ok(Uri::parse(s)?.query())),
    );
    reg.add(
        "URL_EXTRACT_PORT",
        CATEGORY,
        "The explicit port of a URL, or NULL.",
        extract_port,
    );
    reg.add(
        "URL_EXTRACT_PARAMETER",
        CATEGORY,
        "The decoded value of a named query parameter of a URL, or NULL.",
        extract_parameter,
    );
}

/// A resolver body for `STRING -> STRING` URL functions: NULL in, NULL out.
fn string_fn(
    name: &str,
    args: &[SqlType],
    f: impl Fn(&str) -> Result<Option<String>> + Send + Sync + 'static,
) -> Result<Resolved> {
    if !fits(&[SqlType::String], args) {
        return Err(no_signature(name, args));
    }
    Ok(Resolved::new(SqlType::String, move |v| {
        if any_null(v) {
            return Ok(Value::Null);
        }
        Ok(f(str_of(&v[0])?)?.map_or(Value::Null, Value::String))
    }))
}

fn extract_port(args: &[SqlType]) -> Result<Resolved> {
    if !fits(&[SqlType::String], args) {
        return Err(no_signature("URL_EXTRACT_PORT", args));
    }
    Ok(Resolved::new(SqlType::Int, |v| {
        if any_null(v) {
            return Ok(Value::Null);
        }
        Ok(Uri::parse(str_of(&v[0])?)?
            .port
            .map_or(Value::Null, Value::Int))
    }))
}

fn extract_parameter(args: &[SqlType]) -> Result<Resolved> {
    if !fits(&[SqlType::String, SqlType::String], args) {
        return Err(no_signature("URL_EXTRACT_PARAMETER", args));
    }
    Ok(Resolved::new(SqlType::String, |v| {
        if v[0].is_null() {
            return Ok(Value::Null);
        }
        let Some(query) = Uri::parse(str_of(&v[0])?)?.query() else {
            return Ok(Value::Null);
        };
        let wanted = v[1].as_str();
        for param in query.split('&') {
            let (key, value) = match param.split_once('=') {
                Some((k, val)) => (k, val),
                None => (param, ""),
            };
            if Some(key) == wanted {
                return Ok(Value::String(value.to_string()));
            }
        }
        Ok(Value::Null)
    }))
}

/// `application/x-www-form-urlencoded` encoding of a string's UTF-8 bytes:
/// letters, digits and `.-*_` stay, a space becomes `+`, the rest `%XX`.
fn encode_param(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Undoes [`encode_param`]: `+` is a space, `%XX` a byte; a malformed
/// escape is an error.
fn decode_param(s: &str) -> Result<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        Error::eval(format!(
                            "URLDecoder: Illegal hex characters in escape (%) pattern: {s}"
                        ))
                    })?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// The parts of a URI, raw (still percent-encoded) where `java.net.URI`
/// decodes them on access.
#[derive(Debug, Default, PartialEq)]
struct Uri {
    scheme: Option<String>,
    host: Option<String>,
    port: Option<i32>,
    /// None for an opaque URI such as `mailto:a@b.c`.
    raw_path: Option<String>,
    raw_query: Option<String>,
    raw_fragment: Option<String>,
}

/// Decodes `%XX` escapes as UTF-8, replacing malformed sequences.
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

fn syntax_error(url: &str, why: &str) -> Error {
    Error::eval(format!("URL input has invalid syntax: {url}: {why}"))
}

impl Uri {
    /// Parses a URI reference, failing on characters a URI may not hold or
    /// on malformed escapes.
    fn parse(url: &str) -> Result<Uri> {
        validate(url)?;
        let mut uri = Uri::default();
        let (rest, fragment) = match url.split_once('#') {
            Some((r, f)) => (r, Some(f)),
            None => (url, None),
        };
        uri.raw_fragment = fragment.map(str::to_string);

        let mut rest = rest;
        if let Some(colon) = rest.find(':') {
            let candidate = &rest[..colon];
            let is_scheme = candidate.starts_with(|c: char| c.is_ascii_alphabetic())
                && candidate
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
            if is_scheme {
                uri.scheme = Some(candidate.to_string());
                rest = &rest[colon + 1..];
                if rest.is_empty() {
                    return Err(syntax_error(url, "Expected scheme-specific part"));
                }
                if !rest.starts_with('/') {
                    // Opaque: no authority, path or query.
                    return Ok(uri);
                }
            }
        } else if url.is_empty() {
            uri.raw_path = Some(String::new());
            return Ok(uri);
        }

        if let Some(after) = rest.strip_prefix("//") {
            let end = after.find(['/', '?']).unwrap_or(after.len());
            uri.parse_authority(url, &after[..end])?;
            rest = &after[end..];
        }
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        uri.raw_path = Some(path.to_string());
        uri.raw_query = query.map(str::to_string);
        Ok(uri)
    }

    /// Reads `[userinfo@]host[:port]`. An authority that is not of that form
    /// (a registry name) leaves host and port unset, as Java does.
    fn parse_authority(&mut self, url: &str, authority: &str) -> Result<()> {
        let host_port = match authority.rfind('@') {
            Some(at) => &authority[at + 1..],
            None => authority,
        };
        let (host, port) = if host_port.starts_with('[') {
            let close = host_port
                .find(']')
                .ok_or_else(|| syntax_error(url, "Expected closing bracket for IPv6 address"))?;
            let after = &host_port[close + 1..];
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p),
                None if after.is_empty() => None,
                None => return Ok(()),
            };
            (&host_port[..=close], port)
        } else {
            match host_port.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (host_port, None),
            }
        };
        let valid_host = !host.is_empty()
            && (host.starts_with('[')
                || host
                    .split('.')
                    .all(|label| !label.starts_with('-') && !label.ends_with('-'))
                    && host
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'));
        if !valid_host {
            return Ok(());
        }
        let port = match port {
            None | Some("") => None,
            Some(p) if p.chars().all(|c| c.is_ascii_digit()) => Some(
                p.parse::<i32>()
                    .map_err(|_| syntax_error(url, "Malformed port"))?,
            ),
            Some(_) => return Ok(()),
        };
        self.host = Some(host.to_string());
        self.port = port;
        Ok(())
    }

    fn path(&self) -> Option<String> {
        self.raw_path.as_deref().map(percent_decode)
    }

    fn query(&self) -> Option<String> {
        self.raw_query.as_deref().map(percent_decode)
    }

    fn fragment(&self) -> Option<String> {
        self.raw_fragment.as_deref().map(percent_decode)
    }
}

/// Rejects characters no part of a URI may contain, malformed `%` escapes
/// and a second `#`.
fn validate(url: &str) -> Result<()> {
    let bytes = url.as_bytes();
    let mut hashes = 0;
    for (i, c) in url.char_indices() {
        match c {
            '%' => {
                let ok = bytes.len() > i + 2
                    && bytes[i + 1].is_ascii_hexdigit()
                    && bytes[i + 2].is_ascii_hexdigit();
                if !ok {
                    return Err(syntax_error(
                        url,
                        &format!("Malformed escape pair at index {i}"),
                    ));
                }
            }
            '#' => {
                hashes += 1;
                if hashes > 1 {
                    return Err(syntax_error(
                        url,
                        &format!("Illegal character in fragment at index {i}"),
                    ));
                }
            }
            ' ' | '"' | '<' | '>' | '\\' | '^' | '`' | '{' | '|' | '}' => {
                return Err(syntax_error(
                    url,
                    &format!("Illegal character at index {i}"),
                ));
            }
            c if c.is_control() || c.is_whitespace() => {
                return Err(syntax_error(
                    url,
                    &format!("Illegal character at index {i}"),
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: Vec<Value>) -> Result<Value> {
        let types: Vec<SqlType> = args.iter().map(Value::natural_type).collect();
        let f = FunctionRegistry::global().resolve(name, &types)?;
        (f.eval)(&args)
    }

    fn s(v: &str) -> Value {
        Value::String(v.to_string())
    }

    fn one(name: &str, url: &str) -> Value {
        call(name, vec![s(url)]).unwrap_or_else(|e| panic!("{name}({url}): {e}"))
    }

    #[test]
    fn encode_and_decode_params() {
        assert_eq!(one("URL_ENCODE_PARAM", "?foo $bar"), s("%3Ffoo+%24bar"));
        assert_eq!(one("URL_ENCODE_PARAM", "hello&world"), s("hello%26world"));
        assert_eq!(one("URL_ENCODE_PARAM", "é"), s("%C3%A9"));
        assert_eq!(one("URL_DECODE_PARAM", "%3Ffoo+%24bar"), s("?foo $bar"));
        assert_eq!(one("URL_DECODE_PARAM", "url%20encoded"), s("url encoded"));
        assert!(call("URL_DECODE_PARAM", vec![s("bad%2")]).is_err());
    }

    #[test]
    fn extract_parts() {
        assert_eq!(
            one("URL_EXTRACT_HOST", "http://www.test.com/?query#fragment"),
            s("www.test.com")
        );
        assert_eq!(
            one("URL_EXTRACT_HOST", "http://test@confluent.io:8080"),
            s("confluent.io")
        );
        assert_eq!(
            one("URL_EXTRACT_PATH", "http://www.test.com?query#fragment"),
            s("")
        );
        assert_eq!(
            one(
                "URL_EXTRACT_PATH",
                "http://test@confluent.io:8080/nested/path?query&jobs"
            ),
            s("/nested/path")
        );
        assert_eq!(
            one("URL_EXTRACT_PORT", "http://test@confluent.io"),
            Value::Null
        );
        assert_eq!(
            one("URL_EXTRACT_PORT", "http://confluent.io:8080/p"),
            Value::Int(8080)
        );
        assert_eq!(
            one("URL_EXTRACT_PROTOCOL", "https://test@confluent.io:8080/x"),
            s("https")
        );
        assert_eq!(one("URL_EXTRACT_PROTOCOL", "www.confluent.io"), Value::Null);
        assert_eq!(
            one("URL_EXTRACT_QUERY", "http://www.test.com/path?q1&q2"),
            s("q1&q2")
        );
        assert_eq!(
            one("URL_EXTRACT_QUERY", "http://test.com?a=foo%20bar&b=baz"),
            s("a=foo bar&b=baz")
        );
        assert_eq!(
            one("URL_EXTRACT_QUERY", "http://confluent.io:8080/path"),
            Value::Null
        );
        assert_eq!(
            one("URL_EXTRACT_FRAGMENT", "http://test.com#frag%20space"),
            s("frag space")
        );
        assert_eq!(one("URL_EXTRACT_FRAGMENT", "http://test.com"), Value::Null);
        assert!(call("URL_EXTRACT_HOST", vec![s("http://bad host")]).is_err());
        assert_eq!(
            one("URL_EXTRACT_HOST", "mailto:someone@example.com"),
            Value::Null
        );
    }

    #[test]
    fn extract_parameter_values() {
        let p =
            |url: &str, name: &str| call("URL_EXTRACT_PARAMETER", vec![s(url), s(name)]).unwrap();
        assert_eq!(p("http://test.com?a%20b=c%20d", "a b"), s("c d"));
        assert_eq!(p("http://test.com?a=foo&b=bar", "b"), s("bar"));
        assert_eq!(p("http://test.com?a=foo&flag", "flag"), s(""));
        assert_eq!(p("http://test.com?a=foo", "c"), Value::Null);
        assert_eq!(p("http://test.com", "a"), Value::Null);
    }
}
