//! ksqlDB's collections functions.
use super::FunctionRegistry;

/// Registers this family's functions.
pub fn register(_reg: &mut FunctionRegistry) {}
