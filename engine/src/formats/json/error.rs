//! How decoding fails before it becomes an [`Error`]: malformed JSON or a
//! value that does not convert, with the path to it.

use crate::error::Error;

/// A decoding failure before it becomes an [`Error`]: malformed JSON, or a
/// value that does not convert, with the path to it.
#[derive(Debug)]
pub(super) enum JErr {
    Syntax(String),
    Coerce { msg: String, path: String },
}

impl JErr {
    pub(super) fn coerce(msg: impl Into<String>) -> JErr {
        JErr::Coerce {
            msg: msg.into(),
            path: String::new(),
        }
    }

    /// Prefixes the path of a conversion failure with `part`.
    pub(super) fn at(self, part: &str) -> JErr {
        match self {
            JErr::Coerce { msg, path } => JErr::Coerce {
                msg,
                path: format!("{part}{path}"),
            },
            other => other,
        }
    }

    pub(super) fn into_error(self) -> Error {
        match self {
            JErr::Syntax(m) => Error::format(format!("Invalid JSON: {m}")),
            JErr::Coerce { msg, path } if path.is_empty() => Error::format(msg),
            JErr::Coerce { msg, path } => Error::format(format!("{msg}, path: {path}")),
        }
    }
}
