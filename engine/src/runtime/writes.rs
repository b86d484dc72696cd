//! The writes that finish a step of a query on a log without transactions,
//! in their order (results, re-keyed rows, state changes, the input
//! offsets, checkpoints, processing-log records), each kept until it is
//! done: after a write the log refuses (a full disk) they resume from that
//! write, so nothing is written twice (as redoing the step would) and
//! nothing is dropped.

use super::processing_log;
use crate::error::Result;
use crate::log::{Log, Record};
use crate::operators::checkpoint::Positions;
use crate::operators::ProcessingError;
use std::collections::VecDeque;
use std::sync::Arc;

/// One write.
pub enum Write {
    Append {
        topic: Arc<str>,
        partition: Option<i32>,
        record: Record,
    },
    /// A checkpoint record for a state changelog: its offset is handed to
    /// the local stores once every write is done.
    Checkpoint {
        topic: String,
        partition: Option<i32>,
        record: Record,
    },
    /// The input offsets a consumer group has processed.
    Commit { group: String, positions: Positions },
    /// A record that failed, for the processing log.
    Report {
        query_id: String,
        error: ProcessingError,
    },
}

/// Writes waiting to be done, in order.
#[derive(Default)]
pub struct Writes {
    queue: VecDeque<Write>,
    /// The topic of the latest append, shared by the appends after it to
    /// the same topic (most go to the sink).
    last_topic: Option<Arc<str>>,
    /// The latest checkpoint written to each changelog: (topic, offset).
    checkpoints: Vec<(String, i64)>,
    /// The input positions the queued checkpoints name, for the local
    /// stores once they are written.
    state_positions: Option<Positions>,
}

impl Writes {
    pub fn push(&mut self, write: Write) {
        self.queue.push_back(write);
    }

    pub fn append(&mut self, topic: &str, partition: Option<i32>, record: Record) {
        let topic = match &self.last_topic {
            Some(last) if **last == *topic => last.clone(),
            _ => {
                let fresh: Arc<str> = Arc::from(topic);
                self.last_topic = Some(fresh.clone());
                fresh
            }
        };
        self.push(Write::Append {
            topic,
            partition,
            record,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Asks for the stores' commit at `positions` once the queue is done.
    pub fn commit_state_after(&mut self, positions: Positions) {
        self.state_positions = Some(positions);
    }

    /// When every write is done and a stores' commit was asked for: the
    /// checkpoints written and the positions they name.
    pub fn take_state_commit(&mut self) -> Option<(Vec<(String, i64)>, Positions)> {
        if !self.queue.is_empty() {
            return None;
        }
        let positions = self.state_positions.take()?;
        Some((std::mem::take(&mut self.checkpoints), positions))
    }

    /// Does the writes in order. On a failure the failed write and those
    /// after it stay, for the next call.
    pub fn perform(&mut self, log: &dyn Log) -> Result<()> {
        while let Some(write) = self.queue.pop_front() {
            let done = match write {
                Write::Append {
                    topic,
                    partition,
                    record,
                } => match log.append_or_return(&topic, partition, record) {
                    Ok(_) => Ok(()),
                    Err((e, record)) => {
                        self.queue.push_front(Write::Append {
                            topic,
                            partition,
                            record,
                        });
                        return Err(e);
                    }
                },
                Write::Checkpoint {
                    topic,
                    partition,
                    record,
                } => match log.append_or_return(&topic, partition, record) {
                    Ok((_, offset)) => {
                        self.checkpoints.retain(|(t, _)| *t != topic);
                        self.checkpoints.push((topic, offset));
                        Ok(())
                    }
                    Err((e, record)) => {
                        self.queue.push_front(Write::Checkpoint {
                            topic,
                            partition,
                            record,
                        });
                        return Err(e);
                    }
                },
                Write::Commit { group, positions } => {
                    let done = log.commit_offsets(&group, &positions);
                    if done.is_err() {
                        self.queue.push_front(Write::Commit { group, positions });
                    }
                    done
                }
                Write::Report { query_id, error } => {
                    let done = processing_log::write(log, &query_id, &error);
                    if done.is_err() {
                        self.queue.push_front(Write::Report { query_id, error });
                    }
                    done
                }
            };
            done?;
        }
        Ok(())
    }
}
