//! A small blocking HTTP/1.1 client on [`std::net::TcpStream`] (keep-alive,
//! `Content-Length` and chunked bodies, streamed chunked request bodies)
//! and [`ServerProcess`], the release `sluice server` spawned next to the
//! bench binary on a free loopback port and a temporary data directory.
//! The HTTP benchmarks (`httpserve`, `startup`) use both.

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The head of a response: its status and how its body is framed.
#[derive(Debug, Clone, Copy)]
pub struct Head {
    /// The status code.
    pub status: u16,
    /// `Transfer-Encoding: chunked`.
    pub chunked: bool,
    /// `Content-Length`, when given.
    pub length: Option<usize>,
}

/// Reads a response head from `r`.
pub fn read_head<R: BufRead>(r: &mut R) -> Result<Head> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        bail!("the connection closed before a response");
    }
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("bad status line {line:?}"))?;
    let mut head = Head {
        status,
        chunked: false,
        length: None,
    };
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            bail!("the connection closed in a response head");
        }
        let l = line.trim_end();
        if l.is_empty() {
            return Ok(head);
        }
        if let Some((name, value)) = l.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("transfer-encoding") {
                head.chunked = value.eq_ignore_ascii_case("chunked");
            } else if name.eq_ignore_ascii_case("content-length") {
                head.length = Some(value.parse().context("Content-Length")?);
            }
        }
    }
}

/// A chunked body's decoded bytes, read from the connection as they come.
pub struct ChunkedBody<R: BufRead> {
    inner: R,
    left: usize,
    started: bool,
    done: bool,
}

impl<R: BufRead> ChunkedBody<R> {
    /// Decodes the chunked body that follows a head on `inner`.
    pub fn new(inner: R) -> Self {
        ChunkedBody {
            inner,
            left: 0,
            started: false,
            done: false,
        }
    }
}

impl<R: BufRead> Read for ChunkedBody<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            let mut line = String::new();
            if self.started {
                // The CRLF that ends the previous chunk's data.
                self.inner.read_line(&mut line)?;
                line.clear();
            }
            self.started = true;
            if self.inner.read_line(&mut line)? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let size = line.trim().split(';').next().unwrap_or("");
            self.left = usize::from_str_radix(size, 16).map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::InvalidData, "bad chunk size")
            })?;
            if self.left == 0 {
                // Trailers (none expected) end with an empty line.
                loop {
                    line.clear();
                    if self.inner.read_line(&mut line)? == 0 || line.trim().is_empty() {
                        break;
                    }
                }
                self.done = true;
                return Ok(0);
            }
        }
        let n = buf.len().min(self.left);
        let n = self.inner.read(&mut buf[..n])?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        self.left -= n;
        Ok(n)
    }
}

/// Writes a request head (and a `Content-Length` body if given; else a
/// chunked body follows).
pub fn write_request<W: Write>(
    w: &mut W,
    method: &str,
    path: &str,
    accept: &str,
    body: Option<&[u8]>,
) -> Result<()> {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nAccept: {accept}\r\nContent-Type: application/json\r\n"
    );
    match body {
        Some(b) => head += &format!("Content-Length: {}\r\n\r\n", b.len()),
        None => head += "Transfer-Encoding: chunked\r\n\r\n",
    }
    let mut out = head.into_bytes();
    out.extend_from_slice(body.unwrap_or_default());
    w.write_all(&out)?;
    Ok(())
}

/// Writes one chunk of a chunked request body (empty: the last one).
pub fn write_chunk<W: Write>(w: &mut W, data: &[u8]) -> Result<()> {
    // The last chunk is `0\r\n` and the empty line that ends the trailers.
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    w.write_all(&out)?;
    Ok(())
}

/// One keep-alive HTTP/1.1 connection.
pub struct Conn {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Conn {
    /// Connects to `addr` (Nagle off: requests are small and latency counts).
    pub fn connect(addr: SocketAddr) -> Result<Conn> {
        let stream = TcpStream::connect(addr).with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            reader: BufReader::with_capacity(64 * 1024, stream.try_clone()?),
            writer: stream,
        })
    }

    /// Sends a request and reads the whole answer: (status, body).
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        accept: &str,
        body: &[u8],
    ) -> Result<(u16, Vec<u8>)> {
        write_request(&mut self.writer, method, path, accept, Some(body))?;
        let head = read_head(&mut self.reader)?;
        let mut out = Vec::new();
        if head.chunked {
            ChunkedBody::new(&mut self.reader).read_to_end(&mut out)?;
        } else if let Some(n) = head.length {
            out.resize(n, 0);
            self.reader.read_exact(&mut out)?;
        } else {
            self.reader.read_to_end(&mut out)?;
        }
        Ok((head.status, out))
    }

    /// Sends a request whose answer is streamed: its head, then the
    /// connection's reader positioned at the body.
    pub fn stream(
        mut self,
        path: &str,
        accept: &str,
        body: &[u8],
    ) -> Result<(Head, BufReader<TcpStream>)> {
        write_request(&mut self.writer, "POST", path, accept, Some(body))?;
        let head = read_head(&mut self.reader)?;
        Ok((head, self.reader))
    }

    /// The connection's two halves, for a request whose body streams while
    /// its answer is read.
    pub fn split(self) -> (TcpStream, BufReader<TcpStream>) {
        (self.writer, self.reader)
    }

    /// Runs statements through `/ksql`; an error unless the answer is 200.
    pub fn ksql(&mut self, sql: &str) -> Result<Value> {
        let body = json!({"ksql": sql, "streamsProperties": {}}).to_string();
        let (status, out) = self.request("POST", "/ksql", "application/json", body.as_bytes())?;
        let text = String::from_utf8_lossy(&out);
        if status != 200 {
            bail!("{sql} answered {status}: {text}");
        }
        serde_json::from_slice(&out).with_context(|| format!("{sql} answered {text}"))
    }
}

/// A release binary of the workspace next to the running one.
pub fn sibling(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe().context("finding sluice-bench's own path")?;
    let dir = exe
        .parent()
        .ok_or_else(|| anyhow!("{} has no directory", exe.display()))?;
    Ok(dir.join(name))
}

/// The `sluice` binary next to the bench, or an error saying how to build it.
pub fn sluice_binary() -> Result<PathBuf> {
    let bin = sibling("sluice")?;
    if !bin.is_file() {
        bail!(
            "{} not found: the HTTP and start-up benchmarks spawn the release binary next to \
             sluice-bench; build it first (cargo build --release -p sluice-cli -p sluice-bench)",
            bin.display()
        );
    }
    Ok(bin)
}

/// A free loopback port (bound, read and released).
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A running `sluice server` on loopback with its own data directory;
/// stopped with SIGTERM when dropped (or by [`ServerProcess::stop`]).
pub struct ServerProcess {
    child: Option<Child>,
    /// Where it listens.
    pub addr: SocketAddr,
    /// From spawn to the first 200 from `/info`.
    pub ready: Duration,
    _dir: tempfile::TempDir,
}

/// How long a server may take to answer `/info` or to exit.
const SERVER_TIMEOUT: Duration = Duration::from_secs(30);

impl ServerProcess {
    /// Spawns the server and waits for its first successful `/info`.
    pub fn start(bin: &Path) -> Result<ServerProcess> {
        let dir = tempfile::tempdir().context("creating a data directory")?;
        let port = free_port()?;
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let start = Instant::now();
        let mut child = Command::new(bin)
            .arg("server")
            .args(["--listeners", &format!("http://127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {} server", bin.display()))?;
        loop {
            if let Some(status) = child.try_wait()? {
                bail!("the server exited before answering: {status}");
            }
            if start.elapsed() > SERVER_TIMEOUT {
                child.kill().ok();
                child.wait().ok();
                bail!("the server did not answer /info within {SERVER_TIMEOUT:?}");
            }
            let answered = Conn::connect(addr)
                .and_then(|mut c| c.request("GET", "/info", "application/json", b""))
                .ok();
            match answered {
                Some((200, body)) if String::from_utf8_lossy(&body).contains("KsqlServerInfo") => {
                    break
                }
                Some((status, body)) => bail!(
                    "/info answered {status}: {}",
                    String::from_utf8_lossy(&body)
                ),
                None => std::thread::sleep(Duration::from_micros(500)),
            }
        }
        Ok(ServerProcess {
            ready: start.elapsed(),
            child: Some(child),
            addr,
            _dir: dir,
        })
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Sends SIGTERM and waits for the exit; an error unless it exits
    /// successfully within the timeout.
    pub fn stop(mut self) -> Result<()> {
        self.terminate()
    }

    fn terminate(&mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        if !sent.is_ok_and(|s| s.success()) {
            child.kill().ok();
            child.wait().ok();
            bail!("could not send SIGTERM to the server");
        }
        let deadline = Instant::now() + SERVER_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait()? {
                if !status.success() {
                    bail!("the server exited with {status} after SIGTERM");
                }
                return Ok(());
            }
            if Instant::now() >= deadline {
                child.kill().ok();
                child.wait().ok();
                bail!("the server did not exit within {SERVER_TIMEOUT:?} of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Err(e) = self.terminate() {
            eprintln!("stopping the server: {e:#}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_and_chunked_bodies_are_decoded() {
        let raw: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: x\r\ntransfer-encoding: chunked\r\n\r\n\
            5\r\nhello\r\n7\r\n world\n\r\n0\r\n\r\nHTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\nno";
        let mut r = BufReader::new(raw);
        let head = read_head(&mut r).unwrap();
        assert_eq!((head.status, head.chunked, head.length), (200, true, None));
        let mut body = String::new();
        ChunkedBody::new(&mut r).read_to_string(&mut body).unwrap();
        assert_eq!(body, "hello world\n");
        let head = read_head(&mut r).unwrap();
        assert_eq!((head.status, head.length), (404, Some(2)));

        let mut out = Vec::new();
        write_request(&mut out, "POST", "/x", "*/*", None).unwrap();
        write_chunk(&mut out, b"ab").unwrap();
        write_chunk(&mut out, b"").unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("POST /x HTTP/1.1\r\n"));
        assert!(text.ends_with("chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n"));
    }
}
