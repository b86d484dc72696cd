//! The operators of a query pipeline, one per file: decoding records
//! (`source`), filtering, projecting, expanding (table functions), re-keying
//! (PARTITION BY) and encoding results (`sink`).

pub mod aggregate;
pub mod filter;
pub mod fk_join;
pub mod flat_map;
pub mod join_row;
pub mod materialize;
pub mod project;
pub mod sink;
pub mod source;
pub mod stream_stream_join;
pub mod stream_table_join;
pub mod table_table_join;
pub mod timestamp;

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
