//! The append sequence: a counter of appends and the threads blocked until
//! it grows (`Log::wait_for_append` and `Log::wait_for_topic_append`).

use parking_lot::{Condvar, Mutex};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A sequence of appends and the threads waiting for it to grow.
#[derive(Default)]
pub(super) struct Appends {
    pub(super) seq: AtomicU64,
    /// Threads inside `wait`; appends only notify when non-zero.
    waiters: AtomicUsize,
    wake_lock: Mutex<()>,
    wake: Condvar,
}

impl Appends {
    /// Wakes the threads waiting (after `seq` grew).
    pub(super) fn notify(&self) {
        if self.waiters.load(Ordering::SeqCst) > 0 {
            // Taking the lock orders this with a waiter that has checked the
            // sequence but not yet gone to sleep.
            drop(self.wake_lock.lock());
            self.wake.notify_all();
        }
    }

    /// Blocks until `seq` exceeds `seen`, or `timeout` passes; returns it.
    pub(super) fn wait(&self, seen: u64, timeout: Duration) -> u64 {
        let current = self.seq.load(Ordering::SeqCst);
        if current > seen || timeout.is_zero() {
            return current;
        }
        // None: a timeout too long to represent, so no deadline.
        let deadline = Instant::now().checked_add(timeout);
        let mut guard = self.wake_lock.lock();
        self.waiters.fetch_add(1, Ordering::SeqCst);
        while self.seq.load(Ordering::SeqCst) <= seen {
            match deadline {
                Some(deadline) => {
                    if self.wake.wait_until(&mut guard, deadline).timed_out() {
                        break;
                    }
                }
                None => self.wake.wait(&mut guard),
            }
        }
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        self.seq.load(Ordering::SeqCst)
    }
}
