//! The command topic: replaying the metastore at start, and following the
//! statements other processes of the service record.

use super::{EngineInner, SessionState};
use crate::catalog::metastore::Metastore;
use crate::error::{Pos, Result};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

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
        }
        self.replaying.store(false, Ordering::SeqCst);
        Ok(())
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
