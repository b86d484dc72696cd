//! Operator tests: each feeds rows to one operator (or an aggregation and
//! its HAVING filter, wired as the planner wires them) through the harness
//! in `operators::testing` and checks what comes out.

mod aggregate;
mod describe;
mod filter_project;
mod flat_map_timestamp;
mod joins;
mod stream_stream_join;
mod windows;
