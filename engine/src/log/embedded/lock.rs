//! The data directory's lock: one process at a time opens a data directory.
//!
//! Opening takes an exclusive operating-system lock on `dir/LOCK` and
//! writes the holder's pid and command line into it (and a server adds the
//! URL it serves, see [`advertise`]). The lock goes away with
//! the process, however it ends (a killed holder does not block the next
//! start); the file's contents are only read to name the holder when another
//! process finds the directory locked.

use crate::error::{Error, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// The lock file's name inside a data directory.
pub const LOCK_FILE: &str = "LOCK";

/// Holds a data directory's lock while alive.
#[derive(Debug)]
pub struct DirLock {
    /// The locked file: closing it releases the lock.
    _file: File,
}

impl DirLock {
    /// Takes `dir`'s lock (creating `dir` if needed), or fails naming the
    /// process that holds it.
    pub fn acquire(dir: &Path) -> Result<DirLock> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                // Best effort: the holder may not have written itself yet.
                let _ = file.read_to_string(&mut holder);
                return Err(in_use(dir, &holder));
            }
            Err(TryLockError::Error(e)) => {
                return Err(Error::log(format!(
                    "cannot lock data directory {}: {e}",
                    dir.display()
                )))
            }
        }
        // Naming the holder is best effort: a full disk must not keep the
        // directory from opening.
        let command: Vec<String> = std::env::args().collect();
        let named = file
            .set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| {
                writeln!(file, "{}", std::process::id())?;
                writeln!(file, "{}", command.join(" "))?;
                file.flush()
            });
        if let Err(e) = named {
            tracing::warn!(dir = %dir.display(), error = %e, "could not write the lock holder's name");
        }
        Ok(DirLock { _file: file })
    }
}

/// Records in the lock file of `dir` (held by this process) the URL the
/// process serves the directory's engine at, so a second process that
/// finds the directory locked says how to connect instead.
pub fn advertise(dir: &Path, url: &str) -> Result<()> {
    let path = dir.join(LOCK_FILE);
    let holder = std::fs::read_to_string(&path)?;
    let mut lines: Vec<&str> = holder.lines().take(2).collect();
    lines.resize(2, "");
    let pid = std::process::id().to_string();
    if lines[0].trim() != pid {
        return Err(Error::log(format!(
            "{} is not held by this process",
            path.display()
        )));
    }
    let text = format!("{}\n{}\n{url}\n", lines[0], lines[1]);
    let mut file = OpenOptions::new().write(true).open(&path)?;
    file.set_len(0)?;
    file.write_all(text.as_bytes())?;
    file.flush()?;
    Ok(())
}

/// The error for a directory another process holds; `holder` is what the
/// lock file says (the pid, the command line, and a server's URL).
fn in_use(dir: &Path, holder: &str) -> Error {
    let mut lines = holder.lines();
    let pid = lines.next().map(str::trim).filter(|p| !p.is_empty());
    let command = lines.next().map(str::trim).filter(|c| !c.is_empty());
    let url = lines.next().map(str::trim).filter(|u| !u.is_empty());
    let who = match (pid, command) {
        (Some(pid), Some(command)) => format!("another process (pid {pid}: {command})"),
        (Some(pid), None) => format!("another process (pid {pid})"),
        _ => "another process".to_string(),
    };
    let instead = match url {
        Some(url) => format!("connect to it instead: sluice {url}"),
        None => "connect to it instead".to_string(),
    };
    Error::log(format!(
        "data directory {} is in use by {who}: stop it, or {instead}",
        dir.display()
    ))
}
