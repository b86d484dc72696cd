//! The left side of the next join of a chain: the first source, or the
//! result of the joins before.

use crate::catalog::Source;
use crate::expr::Scope;
use crate::sql::ast::SourceKind;

/// The left side of the next join: the first source, or everything joined
/// so far.
pub struct LeftSide {
    /// Its rows' layout.
    pub scope: Scope,
    /// How many leading columns `*` shows.
    pub visible: usize,
    /// A stream, or a table.
    pub kind: SourceKind,
    /// Positions holding the left side's key (a source's primary key, or a
    /// previous join's key group).
    pub key_group: Vec<usize>,
    /// The base source, when nothing was joined yet.
    pub source: Option<Source>,
    /// Names of the sources joined so far.
    pub names: Vec<String>,
}
