//! The command topic: replaying the metastore at start, and following the
//! statements other processes of the service record.

use super::{EngineInner, SessionState};
use crate::catalog::metastore::Metastore;
use crate::error::{Pos, Result};
use parking_lot::{Condvar, Mutex};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The highest command-topic offset applied in this process (-1 before
/// any), which requests naming a `commandSequenceNumber` wait for.
pub(super) struct Applied {
    through: Mutex<i64>,
    advanced: Condvar,
}

impl Default for Applied {
    fn default() -> Self {
        Applied {
            through: Mutex::new(-1),
            advanced: Condvar::new(),
        }
    }
}

impl Applied {
    /// The command at `offset` was applied (or recorded) here.
    pub(super) fn note(&self, offset: i64) {
        let mut through = self.through.lock();
        if offset > *through {
            *through = offset;
            self.advanced.notify_all();
        }
    }

    pub(super) fn through(&self) -> i64 {
        *self.through.lock()
    }

    /// Waits until `offset` was applied or `until`; true if it was.
    fn wait(&self, offset: i64, until: Instant) -> bool {
        let mut through = self.through.lock();
        while *through < offset {
            if self.advanced.wait_until(&mut through, until).timed_out() {
                return *through >= offset;
            }
        }
        true
    }
}

/// How often a wait for a command reads the command topic (Kafka).
const WAIT_POLL: Duration = Duration::from_millis(50);

impl EngineInner {
    /// Applies the command topic's commands from `*applied` on (skipping
    /// this process's own unless `all`) and advances `*applied` past them.
    pub(super) fn apply_commands(&self, applied: &mut i64, all: bool) -> Result<()> {
        let commands = Metastore::read_from(self.log.as_ref(), &self.command_topic, *applied)?;
        if commands.is_empty() {
            return Ok(());
        }
        self.replaying.store(true, Ordering::SeqCst);
        for (offset, cmd) in commands {
            *applied = offset + 1;
            if !all && cmd.origin.as_deref() == Some(self.instance.as_str()) {
                self.commands_seen.note(offset);
                continue;
            }
            // A recorded statement runs with the properties it ran with.
            let mut session = SessionState::new(cmd.properties.clone());
            let r = self.execute_one(&mut session, &cmd.statement, Pos { line: 1, col: 1 }, false);
            match r {
                Err(e) if all => tracing::warn!(
                    "skipping stored statement that no longer runs: {e}: {}",
                    cmd.statement
                ),
                Err(e) => tracing::warn!(
                    "a statement another process of the service ran fails here: {e}: {}",
                    cmd.statement
                ),
                Ok(_) if !all => tracing::info!(
                    "applied a statement from another process of the service: {}",
                    cmd.statement
                ),
                Ok(_) => {}
            }
            self.commands_seen.note(offset);
        }
        self.replaying.store(false, Ordering::SeqCst);
        Ok(())
    }

    /// True once the command recorded at command-topic offset `sequence`
    /// (a `commandSequenceNumber`) has been applied in this process.
    pub(crate) fn command_applied(&self, sequence: i64) -> bool {
        self.commands_seen.through() >= sequence
    }

    /// Waits up to `timeout` for the command at `sequence` to be applied
    /// here, reading what other processes recorded meanwhile (on Kafka);
    /// true once it is.
    pub(crate) fn await_command(&self, sequence: i64, timeout: Duration) -> bool {
        let until = Instant::now() + timeout;
        loop {
            if self.command_applied(sequence) {
                return true;
            }
            if self.follow_commands {
                if let Some(mut applied) = self.applied.try_lock_until(until) {
                    if let Err(e) = self.apply_commands(&mut applied, false) {
                        tracing::warn!("reading the command topic: {e}");
                    }
                }
            }
            let now = Instant::now();
            if now >= until {
                return self.command_applied(sequence);
            }
            if self
                .commands_seen
                .wait(sequence, until.min(now + WAIT_POLL))
            {
                return true;
            }
        }
    }

    /// Starts the thread that applies the statements other processes of the
    /// service record (new streams, tables and queries, TERMINATE, ...), as
    /// ksqlDB's servers follow their command topic. It ends with the engine.
    pub(super) fn follow_commands(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        let spawned = std::thread::Builder::new()
            .name("command-follower".into())
            .stack_size(crate::runtime::THREAD_STACK)
            .spawn(move || loop {
                std::thread::sleep(FOLLOW_INTERVAL);
                let Some(inner) = weak.upgrade() else { return };
                let mut applied = inner.applied.lock();
                if let Err(e) = inner.apply_commands(&mut applied, false) {
                    tracing::warn!("reading the command topic: {e}");
                }
            });
        if let Err(e) = spawned {
            tracing::error!("cannot follow the command topic: {e}");
        }
    }
}

/// How often a process looks for statements other processes recorded.
pub(super) const FOLLOW_INTERVAL: Duration = Duration::from_millis(500);
