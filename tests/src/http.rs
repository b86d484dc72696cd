//! A minimal HTTP/1.1 client over [`std::net::TcpStream`], enough for the
//! conformance runner's REST mode: one POST per connection
//! (`Connection: close`), the response head read up front and the body
//! (chunked, sized or up to the close) read as it arrives, so a push
//! query's rows can be read while the engine is driven.

use anyhow::{bail, Context, Result};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// How long reading a response head may take.
const HEAD_BUDGET: Duration = Duration::from_secs(8);

/// How the body's end is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// `Content-Length`: this many bytes are still to come.
    Length(usize),
    /// Neither: the body ends when the server closes.
    UntilClose,
}

/// A response being read.
pub struct HttpResponse {
    sock: TcpStream,
    /// The status code.
    pub status: u16,
    /// The header fields, names lower-cased.
    pub headers: Vec<(String, String)>,
    framing: Framing,
    /// Bytes read but not yet decoded.
    raw: Vec<u8>,
    /// The decoded body so far.
    body: Vec<u8>,
    ended: bool,
}

impl HttpResponse {
    /// POSTs `body` (JSON) to `path` on `addr` and reads the response head.
    pub fn post(addr: SocketAddr, path: &str, body: &str) -> Result<HttpResponse> {
        let mut sock = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .with_context(|| format!("connecting to {addr}"))?;
        sock.set_nodelay(true)?;
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\n\
             Content-Type: application/vnd.ksql.v1+json\r\n\
             Accept: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        sock.write_all(request.as_bytes())
            .with_context(|| format!("sending POST {path}"))?;
        let mut response = HttpResponse {
            sock,
            status: 0,
            headers: Vec::new(),
            framing: Framing::UntilClose,
            raw: Vec::new(),
            body: Vec::new(),
            ended: false,
        };
        response.read_head(path)?;
        Ok(response)
    }

    fn read_head(&mut self, path: &str) -> Result<()> {
        let deadline = Instant::now() + HEAD_BUDGET;
        let end = loop {
            if let Some(at) = find(&self.raw, b"\r\n\r\n") {
                break at;
            }
            let now = Instant::now();
            if now >= deadline {
                bail!("POST {path}: no response head within {HEAD_BUDGET:?}");
            }
            if !self.fill(deadline - now)? && self.ended {
                bail!("POST {path}: the connection closed before a response head");
            }
        };
        let head = String::from_utf8_lossy(&self.raw[..end]).into_owned();
        self.raw.drain(..end + 4);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        self.status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("POST {path}: bad status line {status_line:?}"))?;
        for line in lines {
            if let Some((name, value)) = line.split_once(':') {
                self.headers
                    .push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
            }
        }
        self.framing = if self
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
        {
            Framing::Chunked
        } else if let Some(n) = self.header("content-length") {
            Framing::Length(n.parse().context("a bad Content-Length")?)
        } else {
            Framing::UntilClose
        };
        self.decode()?;
        Ok(())
    }

    /// A header field's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Reads what arrives within `wait`; false when nothing did. Sets
    /// `ended` when the server closed the connection.
    fn fill(&mut self, wait: Duration) -> Result<bool> {
        if self.ended {
            return Ok(false);
        }
        self.sock
            .set_read_timeout(Some(wait.max(Duration::from_millis(1))))?;
        let mut buf = [0u8; 16 * 1024];
        match self.sock.read(&mut buf) {
            Ok(0) => {
                self.ended = true;
                Ok(false)
            }
            Ok(n) => {
                self.raw.extend_from_slice(&buf[..n]);
                Ok(true)
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Ok(false),
            Err(e) if e.kind() == ErrorKind::Interrupted => Ok(true),
            Err(e) => Err(e).context("reading the response"),
        }
    }

    /// Moves complete body pieces from `raw` to `body`.
    fn decode(&mut self) -> Result<()> {
        match self.framing {
            Framing::UntilClose => self.body.append(&mut self.raw),
            Framing::Length(left) => {
                let n = left.min(self.raw.len());
                self.body.extend(self.raw.drain(..n));
                self.framing = Framing::Length(left - n);
                if left == n {
                    self.ended = true;
                }
            }
            Framing::Chunked => {
                while let Some(line_end) = find(&self.raw, b"\r\n") {
                    let size_text = String::from_utf8_lossy(&self.raw[..line_end]);
                    let size_text = size_text.split(';').next().unwrap_or_default().trim();
                    let size = usize::from_str_radix(size_text, 16)
                        .with_context(|| format!("a bad chunk size {size_text:?}"))?;
                    if size == 0 {
                        self.raw.clear();
                        self.ended = true;
                        break;
                    }
                    let start = line_end + 2;
                    if self.raw.len() < start + size + 2 {
                        break;
                    }
                    self.body.extend_from_slice(&self.raw[start..start + size]);
                    self.raw.drain(..start + size + 2);
                }
            }
        }
        Ok(())
    }

    /// Waits up to `wait` for more of the body; true when some came.
    pub fn poll(&mut self, wait: Duration) -> Result<bool> {
        if self.is_complete() {
            return Ok(false);
        }
        let before = self.body.len();
        if self.fill(wait)? {
            self.decode()?;
        }
        Ok(self.body.len() > before)
    }

    /// Whether the whole body has been read.
    pub fn is_complete(&self) -> bool {
        match self.framing {
            Framing::Length(0) => true,
            _ => self.ended,
        }
    }

    /// Reads the rest of the body, failing after `budget`.
    pub fn read_to_end(&mut self, budget: Duration) -> Result<()> {
        let deadline = Instant::now() + budget;
        while !self.is_complete() {
            let now = Instant::now();
            if now >= deadline {
                bail!("the response did not end within {budget:?}");
            }
            self.poll(deadline - now)?;
        }
        Ok(())
    }

    /// The body read so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// Serves one canned response to one connection.
    fn serve_once(reply: &'static [u8]) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            s.write_all(reply).unwrap();
        });
        addr
    }

    #[test]
    fn chunked_bodies_are_decoded() {
        let addr = serve_once(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\n[{}\r\n2\r\n,1\r\n1\r\n]\r\n0\r\n\r\n",
        );
        let mut r = HttpResponse::post(addr, "/query", "{}").unwrap();
        r.read_to_end(Duration::from_secs(5)).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.text(), "[{},1]");
    }

    #[test]
    fn sized_bodies_are_read() {
        let addr = serve_once(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 4\r\n\r\n{\"a\"");
        let mut r = HttpResponse::post(addr, "/ksql", "{}").unwrap();
        r.read_to_end(Duration::from_secs(5)).unwrap();
        assert_eq!((r.status, r.text().as_str()), (400, "{\"a\""));
    }
}
