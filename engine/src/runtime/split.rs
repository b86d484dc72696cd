//! Stateful queries split by partition across the processes of a service:
//! the query's consumer group hands out the partitions of its first input,
//! and this process runs one copy of the query (a task) per partition it
//! owns. Each task reads that partition of every (co-partitioned) input,
//! keeps its state in the same partition of the changelogs, commits only
//! its partition's offsets, and is rebuilt from them wherever the
//! partition moves.

use super::task::{PersistentTask, Work};
use crate::error::Result;
use crate::log::{GroupMember, Log};
use std::collections::BTreeMap;

/// Builds the task of one partition, its state restored.
pub type TaskFactory = Box<dyn FnMut(i32) -> Result<PersistentTask> + Send>;

/// This process's share of a split query.
pub struct SplitQuery {
    pub query_id: String,
    pub member: Box<dyn GroupMember>,
    /// The topic whose partitions are the tasks.
    pub anchor: String,
    pub make: TaskFactory,
    tasks: BTreeMap<i32, PersistentTask>,
    owned: Option<Vec<i32>>,
}

impl SplitQuery {
    pub fn new(
        query_id: String,
        member: Box<dyn GroupMember>,
        anchor: String,
        make: TaskFactory,
    ) -> Self {
        SplitQuery {
            query_id,
            member,
            anchor,
            make,
            tasks: BTreeMap::new(),
            owned: None,
        }
    }

    /// Takes up the partitions the group gives this process and lets go
    /// of those it takes away.
    fn follow_group(&mut self, log: &dyn Log) -> Result<()> {
        let Some(owned) = self.member.poll()? else {
            return Ok(());
        };
        let parts: Vec<i32> = owned
            .iter()
            .filter(|(t, _)| *t == self.anchor)
            .map(|(_, p)| *p)
            .collect();
        if self.owned.as_ref() == Some(&parts) {
            return Ok(());
        }
        let lost: Vec<i32> = self
            .tasks
            .keys()
            .copied()
            .filter(|p| !parts.contains(p))
            .collect();
        for p in lost {
            if let Some(mut task) = self.tasks.remove(&p) {
                // Results of a partition that moved: write them (the commit
                // may be refused; the new owner then redoes that input).
                if task.has_pending() {
                    if let Err(e) = task.flush(log) {
                        tracing::warn!("query {} partition {p}: {e}", self.query_id);
                    }
                }
            }
        }
        for p in &parts {
            if !self.tasks.contains_key(p) {
                let task = (self.make)(*p)?;
                self.tasks.insert(*p, task);
            }
        }
        let here: Vec<String> = parts.iter().map(|p| p.to_string()).collect();
        tracing::info!(
            "query {} runs partitions [{}] of {} on this process",
            self.query_id,
            here.join(", "),
            self.anchor
        );
        self.owned = Some(parts);
        Ok(())
    }
}

impl Work for SplitQuery {
    fn poll(&mut self, log: &dyn Log) -> Result<usize> {
        self.follow_group(log)?;
        let mut read = 0;
        for task in self.tasks.values_mut() {
            read += task.poll(log)?;
        }
        Ok(read)
    }

    fn has_pending(&self) -> bool {
        self.tasks.values().any(|t| t.has_pending())
    }

    fn flush(&mut self, log: &dyn Log) -> Result<()> {
        for task in self.tasks.values_mut() {
            task.flush(log)?;
        }
        Ok(())
    }
}
