//! Asking for the server's password on the terminal (`-u` without `-p`),
//! with echo turned off while it is typed, as ksqlDB's CLI does.

use anyhow::{anyhow, Context, Result};
use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsRawFd;

/// Echo turned off on a terminal until dropped.
struct NoEcho {
    fd: i32,
    saved: libc::termios,
}

impl NoEcho {
    fn new(fd: i32) -> Option<NoEcho> {
        // SAFETY: tcgetattr fills the plain-data termios before it is read;
        // tcsetattr only reads the one passed.
        unsafe {
            let mut saved: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(fd, &mut saved) != 0 {
                return None;
            }
            let mut quiet = saved;
            quiet.c_lflag &= !libc::ECHO;
            quiet.c_lflag |= libc::ECHONL;
            (libc::tcsetattr(fd, libc::TCSANOW, &quiet) == 0).then_some(NoEcho { fd, saved })
        }
    }
}

impl Drop for NoEcho {
    fn drop(&mut self) {
        // SAFETY: restores the settings read in `new` on the same fd.
        unsafe {
            libc::tcsetattr(self.fd, libc::TCSANOW, &self.saved);
        }
    }
}

/// Asks for `user`'s password on the controlling terminal (`/dev/tty`, so
/// a script on stdin does not answer it), without echoing it.
pub fn ask(user: &str) -> Result<String> {
    let tty = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|e| {
            anyhow!("--user {user} needs --password: there is no terminal to ask on ({e})")
        })?;
    let mut out = tty.try_clone().context("opening the terminal")?;
    let guard = NoEcho::new(tty.as_raw_fd());
    write!(out, "Enter password for {user}: ").context("writing to the terminal")?;
    out.flush().context("writing to the terminal")?;
    let mut line = String::new();
    BufReader::new(tty)
        .read_line(&mut line)
        .context("reading the password")?;
    drop(guard);
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}
