//! Sluice's engine: SQL text is parsed (`sql`), resolved against the catalog
//! and planned into a graph of operators (`plan`), run continuously over
//! records read from the Log (`runtime`, `operators`, `log`), with values
//! decoded and encoded by `formats` and computed by `functions`.

pub mod error;
pub mod formats;
pub mod functions;
pub mod log;
pub mod sql;
pub mod types;

pub use error::{Error, Result};

/// The engine facade (grows with the runtime).
pub struct Engine;
