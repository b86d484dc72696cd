//! A small PostgreSQL client speaking the frontend/backend protocol (v3)
//! over TCP: start-up with trust, cleartext or MD5 password
//! authentication, and the simple query protocol, whose answers come as
//! text with each column's type OID. Enough for the JDBC source's
//! queries; SCRAM authentication is not spoken (configure md5 or trust).

use crate::error::{Error, Result};
use md5::{Digest, Md5};
use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Where a `jdbc:postgresql://host[:port]/database[?user=..&password=..]`
/// URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgTarget {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: Option<String>,
    pub password: Option<String>,
}

impl PgTarget {
    /// Reads a JDBC URL.
    pub fn parse(url: &str) -> Result<PgTarget> {
        let bad = || {
            Error::plan(format!(
                "connection.url {url} is not jdbc:postgresql://host[:port]/database"
            ))
        };
        let rest = url.strip_prefix("jdbc:postgresql://").ok_or_else(bad)?;
        let (addr, rest) = rest.split_once('/').ok_or_else(bad)?;
        let (database, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (host, port) = match addr.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().map_err(|_| bad())?),
            None => (addr, 5432),
        };
        let mut target = PgTarget {
            host: host.to_string(),
            port,
            database: database.to_string(),
            user: None,
            password: None,
        };
        for kv in query.split('&').filter(|s| !s.is_empty()) {
            match kv.split_once('=') {
                Some(("user", v)) => target.user = Some(v.to_string()),
                Some(("password", v)) => target.password = Some(v.to_string()),
                _ => {}
            }
        }
        if target.host.is_empty() || target.database.is_empty() {
            return Err(bad());
        }
        Ok(target)
    }
}

/// A query's answer: columns (name, type OID) and rows of text values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answer {
    pub columns: Vec<(String, u32)>,
    pub rows: Vec<Vec<Option<String>>>,
}

/// An open connection.
pub struct PgClient {
    stream: BufReader<TcpStream>,
}

fn pg_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Io(std::io::Error::other(format!("PostgreSQL {what}: {e}")))
}

impl PgClient {
    /// Connects and authenticates.
    pub fn connect(target: &PgTarget) -> Result<PgClient> {
        let user = target
            .user
            .clone()
            .unwrap_or_else(|| "postgres".to_string());
        let stream = TcpStream::connect((target.host.as_str(), target.port))
            .map_err(|e| pg_error(&format!("connection to {}:{}", target.host, target.port), e))?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        let mut client = PgClient {
            stream: BufReader::new(stream),
        };
        let mut body = Vec::new();
        body.extend_from_slice(&196_608i32.to_be_bytes());
        for (k, v) in [
            ("user", user.as_str()),
            ("database", target.database.as_str()),
        ] {
            body.extend_from_slice(k.as_bytes());
            body.push(0);
            body.extend_from_slice(v.as_bytes());
            body.push(0);
        }
        body.push(0);
        let mut msg = ((body.len() + 4) as i32).to_be_bytes().to_vec();
        msg.extend_from_slice(&body);
        client.stream.get_mut().write_all(&msg)?;
        loop {
            let (tag, body) = client.read_message()?;
            match tag {
                b'R' => {
                    let code = be_i32(&body, 0)?;
                    match code {
                        0 => {}
                        3 => {
                            let pw = password(target)?;
                            client.send(b'p', &cstring(&pw))?;
                        }
                        5 => {
                            let pw = password(target)?;
                            let salt = body.get(4..8).ok_or_else(|| pg_error("start-up", "short MD5 request"))?;
                            let inner = hex::encode(Md5::digest(format!("{pw}{user}").as_bytes()));
                            let mut outer = Md5::new();
                            outer.update(inner.as_bytes());
                            outer.update(salt);
                            let answer = format!("md5{}", hex::encode(outer.finalize()));
                            client.send(b'p', &cstring(&answer))?;
                        }
                        other => {
                            return Err(pg_error(
                                "authentication",
                                format!("method {other} (SCRAM and others) is not supported: use md5, password or trust"),
                            ))
                        }
                    }
                }
                b'E' => return Err(pg_error("start-up", error_text(&body))),
                b'Z' => return Ok(client),
                _ => {}
            }
        }
    }

    fn send(&mut self, tag: u8, body: &[u8]) -> Result<()> {
        let mut msg = vec![tag];
        msg.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
        msg.extend_from_slice(body);
        self.stream.get_mut().write_all(&msg)?;
        Ok(())
    }

    fn read_message(&mut self) -> Result<(u8, Vec<u8>)> {
        let mut head = [0u8; 5];
        self.stream.read_exact(&mut head)?;
        let len = i32::from_be_bytes([head[1], head[2], head[3], head[4]]);
        let len =
            usize::try_from(len - 4).map_err(|_| pg_error("protocol", "bad message length"))?;
        let mut body = vec![0u8; len];
        self.stream.read_exact(&mut body)?;
        Ok((head[0], body))
    }

    /// Runs one statement with the simple query protocol.
    pub fn query(&mut self, sql: &str) -> Result<Answer> {
        self.send(b'Q', &cstring(sql))?;
        let mut answer = Answer::default();
        let mut failure = None;
        loop {
            let (tag, body) = self.read_message()?;
            match tag {
                b'T' => {
                    let n = be_i16(&body, 0)?;
                    let mut at = 2;
                    for _ in 0..n {
                        let end = body[at..]
                            .iter()
                            .position(|&b| b == 0)
                            .ok_or_else(|| pg_error("protocol", "bad row description"))?;
                        let name = String::from_utf8_lossy(&body[at..at + end]).into_owned();
                        at += end + 1;
                        let oid = be_i32(&body, at + 6)? as u32;
                        at += 18;
                        answer.columns.push((name, oid));
                    }
                }
                b'D' => {
                    let n = be_i16(&body, 0)?;
                    let mut at = 2;
                    let mut row = Vec::with_capacity(n as usize);
                    for _ in 0..n {
                        let len = be_i32(&body, at)?;
                        at += 4;
                        if len < 0 {
                            row.push(None);
                        } else {
                            let len = len as usize;
                            let bytes = body
                                .get(at..at + len)
                                .ok_or_else(|| pg_error("protocol", "short data row"))?;
                            row.push(Some(String::from_utf8_lossy(bytes).into_owned()));
                            at += len;
                        }
                    }
                    answer.rows.push(row);
                }
                b'E' => failure = Some(error_text(&body)),
                b'Z' => break,
                _ => {}
            }
        }
        match failure {
            Some(e) => Err(pg_error("query", e)),
            None => Ok(answer),
        }
    }
}

fn password(target: &PgTarget) -> Result<String> {
    target.password.clone().ok_or_else(|| {
        pg_error(
            "authentication",
            "the server asks for a password: set connection.password",
        )
    })
}

fn cstring(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

fn be_i32(b: &[u8], at: usize) -> Result<i32> {
    b.get(at..at + 4)
        .map(|s| i32::from_be_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| pg_error("protocol", "short message"))
}

fn be_i16(b: &[u8], at: usize) -> Result<i16> {
    b.get(at..at + 2)
        .map(|s| i16::from_be_bytes([s[0], s[1]]))
        .ok_or_else(|| pg_error("protocol", "short message"))
}

/// An ErrorResponse's severity, code and message.
fn error_text(body: &[u8]) -> String {
    let mut parts = Vec::new();
    for field in body.split(|&b| b == 0) {
        if let Some((&kind, text)) = field.split_first() {
            if matches!(kind, b'S' | b'C' | b'M') {
                parts.push(String::from_utf8_lossy(text).into_owned());
            }
        }
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jdbc_urls_are_read() {
        let t = PgTarget::parse("jdbc:postgresql://db.local:6543/shop?user=u&password=p").unwrap();
        assert_eq!(
            t,
            PgTarget {
                host: "db.local".into(),
                port: 6543,
                database: "shop".into(),
                user: Some("u".into()),
                password: Some("p".into()),
            }
        );
        assert_eq!(PgTarget::parse("jdbc:postgresql://h/d").unwrap().port, 5432);
        assert!(PgTarget::parse("jdbc:mysql://h/d").is_err());
    }
}
