//! Where the shell's text goes: stdout, and the spool file while `SPOOL`
//! is on; and how results are printed (`OUTPUT TABULAR|JSON`, `SET CLI
//! WRAP`, `SET CLI COLUMN-WIDTH`).

use crate::args::OutputFormat;
use crate::table::Layout;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct Output {
    pub format: OutputFormat,
    pub layout: Layout,
    /// The spool file and its path, while `SPOOL` is on.
    spool: Option<(PathBuf, File)>,
}

impl Output {
    pub fn new(format: OutputFormat) -> Output {
        Output {
            format,
            layout: Layout::default(),
            spool: None,
        }
    }

    /// The table settings with the terminal's current width (None when
    /// stdout is not a terminal: piped output is never cut).
    pub fn layout(&self) -> Layout {
        Layout {
            terminal: terminal_width(),
            ..self.layout
        }
    }

    /// Prints `text` as it is (no newline added) and flushes.
    pub fn write(&mut self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
        self.spooled(text);
    }

    /// Prints `text` and a newline.
    pub fn line(&mut self, text: &str) {
        self.write(&format!("{text}\n"));
    }

    /// Writes `text` to the spool file only (what the user typed, which the
    /// terminal already shows).
    pub fn spooled(&mut self, text: &str) {
        if let Some((path, file)) = &mut self.spool {
            if let Err(e) = file.write_all(text.as_bytes()) {
                tracing::warn!(error = %e, path = %path.display(), "writing the spool file");
            }
        }
    }

    /// `SPOOL file`: from now on everything printed (and typed) is also
    /// appended to `path`.
    pub fn start_spool(&mut self, path: &Path) -> std::io::Result<()> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        self.spool = Some((path.to_path_buf(), file));
        Ok(())
    }

    /// `SPOOL OFF`: the file spooled to, if one was.
    pub fn stop_spool(&mut self) -> Option<PathBuf> {
        self.spool.take().map(|(path, _)| path)
    }
}

/// The width of the terminal stdout writes to, if it is one.
pub fn terminal_width() -> Option<usize> {
    // SAFETY: TIOCGWINSZ only fills the winsize struct passed, which is
    // plain data owned here.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_col > 0).then_some(usize::from(size.ws_col))
}
