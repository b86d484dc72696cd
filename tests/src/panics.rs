//! Turning a panic inside a case into that case's failure.
//!
//! A process-wide panic hook records the message and location of a panic
//! raised on a thread that is running a case (instead of printing it), and
//! leaves every other panic to the hook that was there before, so test
//! assertions still report as usual.

use crate::runner::Outcome;
use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    static IN_CASE: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if IN_CASE.with(Cell::get) {
                let payload = info.payload();
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(no message)".to_string());
                let location = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{message}{location}")));
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `f`, turning a panic into [`Outcome::Fail`] with its message.
pub fn catch(f: impl FnOnce() -> Outcome) -> Outcome {
    install_hook();
    IN_CASE.with(|c| c.set(true));
    LAST_PANIC.with(|p| p.borrow_mut().take());
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    IN_CASE.with(|c| c.set(false));
    match result {
        Ok(outcome) => outcome,
        Err(_) => {
            let message = LAST_PANIC
                .with(|p| p.borrow_mut().take())
                .unwrap_or_else(|| "(no message)".to_string());
            Outcome::Fail(format!("panic: {message}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_failure() {
        let outcome = catch(|| panic!("boom {}", 7));
        match outcome {
            Outcome::Fail(reason) => assert!(reason.contains("boom 7"), "{reason}"),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(catch(|| Outcome::Pass), Outcome::Pass);
    }
}
