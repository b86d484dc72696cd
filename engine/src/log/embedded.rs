//! The embedded, file-backed Log (to be written).
/// The embedded log.
pub struct EmbeddedLog;
