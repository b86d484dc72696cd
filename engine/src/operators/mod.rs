//! The operators of a query pipeline, one per file: decoding records
//! (`source`), grouping (`aggregate`, with its state in a local store), filtering, projecting, expanding (table functions), re-keying
//! (PARTITION BY) and encoding results (`sink`); and the contract they all
//! implement (`contract`), with the checkpoints stateful ones restore from
//! and the helpers they describe themselves with in plans (`describe`).

pub mod aggregate;
pub mod chain_join;
pub mod checkpoint;
pub mod contract;
pub mod describe;
pub mod filter;
pub mod fk_join;
pub mod flat_map;
pub mod internal_row;
pub mod join_row;
pub mod materialize;
pub mod project;
pub mod rekey;
pub mod sink;
pub mod source;
pub mod stream_stream_join;
pub mod stream_table_join;
pub mod table_table_join;
pub mod timestamp;

pub use contract::{Context, JoinLink, JoinOperator, Operator, ProcessingError, Row, Window};
pub use filter::FilterOperator;
pub use flat_map::{FlatMapOperator, TableFunction};
pub use project::ProjectOperator;
pub use sink::SinkEncoder;
pub use source::SourceDecoder;
pub use timestamp::TimestampOperator;

#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;
