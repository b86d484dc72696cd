//! The runtime: the tasks that run persistent and push queries over the
//! Log (reading sources, running a query's operators, writing results and
//! committing offsets), repartition stages, queries split by partition,
//! table views for pull queries, and the processing log.

pub mod deploy;
pub mod processing_log;
pub mod push_hub;
pub mod reader;
pub mod repartition;
pub mod spec;
pub mod split;
pub mod task;
pub mod view;
