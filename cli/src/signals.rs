//! Signals: SIGINT stops the running push query (at the prompt the
//! terminal is raw and Ctrl-C is a key rustyline reads); SIGTERM and SIGHUP
//! stop push queries and end the shell, at once when it waits at its
//! prompt (the terminal restored first).

use anyhow::{Context, Result};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// What the signal thread tells the shell, and what it needs to exit.
pub struct Signals {
    interrupted: AtomicBool,
    terminate: AtomicBool,
    at_prompt: AtomicBool,
    /// The terminal's settings before the editor changed them.
    termios: Option<libc::termios>,
    /// Makes what was written durable before an exit from the prompt.
    on_terminate: Mutex<Option<Box<dyn Fn() + Send + Sync>>>,
}

impl Signals {
    /// Starts the thread that handles SIGINT, SIGTERM and SIGHUP.
    pub fn install() -> Result<Arc<Signals>> {
        let signals = Arc::new(Signals {
            interrupted: AtomicBool::new(false),
            terminate: AtomicBool::new(false),
            at_prompt: AtomicBool::new(false),
            termios: saved_termios(),
            on_terminate: Mutex::new(None),
        });
        let mut incoming = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
            .context("installing the signal handlers")?;
        let state = signals.clone();
        std::thread::Builder::new()
            .name("sluice-signals".into())
            .spawn(move || {
                for signal in incoming.forever() {
                    if signal == SIGINT {
                        state.interrupted.store(true, Ordering::SeqCst);
                        continue;
                    }
                    tracing::info!(signal, "terminating");
                    state.terminate.store(true, Ordering::SeqCst);
                    if state.at_prompt.load(Ordering::SeqCst) {
                        state.exit_from_prompt();
                    }
                }
            })
            .context("starting the signal thread")?;
        Ok(signals)
    }

    /// Whether Ctrl-C was pressed since the last call.
    pub fn take_interrupt(&self) -> bool {
        self.interrupted.swap(false, Ordering::SeqCst)
    }

    /// Whether SIGTERM or SIGHUP arrived.
    pub fn terminating(&self) -> bool {
        self.terminate.load(Ordering::SeqCst)
    }

    /// The shell waits for input at its prompt (true) or runs something.
    pub fn set_at_prompt(&self, yes: bool) {
        self.at_prompt.store(yes, Ordering::SeqCst);
        if yes && self.terminating() {
            self.exit_from_prompt();
        }
    }

    pub fn set_on_terminate(&self, f: Box<dyn Fn() + Send + Sync>) {
        if let Ok(mut slot) = self.on_terminate.lock() {
            *slot = Some(f);
        }
    }

    /// The editor holds the terminal in raw mode and the main thread in a
    /// read: restore the terminal, flush, say goodbye and exit.
    fn exit_from_prompt(&self) -> ! {
        if let Some(t) = &self.termios {
            // SAFETY: tcsetattr reads a termios that tcgetattr filled.
            unsafe {
                libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, t);
            }
        }
        let mut out = std::io::stdout().lock();
        // Bracketed paste off again, then the goodbye on its own line.
        let _ = write!(out, "\x1b[?2004l\nExiting Sluice.\n");
        let _ = out.flush();
        if let Ok(slot) = self.on_terminate.lock() {
            if let Some(f) = slot.as_ref() {
                f();
            }
        }
        std::process::exit(0)
    }
}

fn saved_termios() -> Option<libc::termios> {
    // SAFETY: isatty and tcgetattr only read; the termios is plain data
    // that tcgetattr fills before it is used.
    unsafe {
        if libc::isatty(libc::STDIN_FILENO) != 1 {
            return None;
        }
        let mut t: libc::termios = std::mem::zeroed();
        (libc::tcgetattr(libc::STDIN_FILENO, &mut t) == 0).then_some(t)
    }
}
