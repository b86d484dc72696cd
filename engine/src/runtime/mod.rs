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
pub mod writes;

/// The stack of every thread that runs queries (persistent queries, push
/// query feeds, the command follower), and what callers of
/// `Engine::execute` and `PushQuery::next_rows` should give theirs: enough
/// for expressions nested to the parser's limit
/// (`sql::parser::MAX_NESTING`) to be typed, compiled and evaluated, with
/// room to spare even in unoptimized builds. Only the pages used are
/// committed.
pub const THREAD_STACK: usize = 64 << 20;
