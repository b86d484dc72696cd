//! Sluice's REST API, shaped like ksqlDB's (`/ksql`, `/query`, `/info`).
//! The HTTP front end arrives with its own issue; until then the crate only
//! re-exports the engine facade the server will sit on.

pub use sluice_engine::Engine;
