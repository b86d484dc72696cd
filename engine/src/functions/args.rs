//! Helpers the function families share for checking argument types and
//! reading argument values.

use super::accepts;
use crate::error::{Error, Result};
use crate::types::{SqlType, Value};

/// True when `args` match `params` in number and each argument is accepted
/// where its parameter is declared.
pub(crate) fn fits(params: &[SqlType], args: &[SqlType]) -> bool {
    params.len() == args.len() && params.iter().zip(args).all(|(p, a)| accepts(p, a))
}

/// True when any of the values is NULL.
pub(crate) fn any_null(values: &[Value]) -> bool {
    values.iter().any(Value::is_null)
}

/// The string in a value already known to be a non-null STRING.
pub(crate) fn str_of(v: &Value) -> Result<&str> {
    v.as_str()
        .ok_or_else(|| Error::eval(format!("expected a STRING, got {v:?}")))
}

/// The bytes in a value already known to be a non-null BYTES.
pub(crate) fn bytes_of(v: &Value) -> Result<&[u8]> {
    match v {
        Value::Bytes(b) => Ok(b),
        _ => Err(Error::eval(format!("expected BYTES, got {v:?}"))),
    }
}
