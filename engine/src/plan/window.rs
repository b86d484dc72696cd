//! Windows of an aggregation: a WINDOW clause becomes the assigner the
//! aggregate operator uses (with its grace period: ksqlDB's default 24
//! hours, or none with EMIT FINAL) and the window type of the result's
//! keys.

use crate::catalog::WindowInfo;
use crate::error::{Error, Result};
use crate::operators::aggregate::WindowAssigner;
use crate::sql::ast::{Emit, Query, WindowSpec};

const DEFAULT_GRACE_MS: i64 = 24 * 3_600_000;

/// The query's window: how rows are assigned to windows, and the window
/// of the result's keys (both None without a WINDOW clause).
pub fn plan_window(query: &Query) -> Result<(Option<WindowAssigner>, Option<WindowInfo>)> {
    // EMIT FINAL without a GRACE PERIOD closes windows at their end; with
    // EMIT CHANGES late rows are accepted for ksqlDB's default 24 hours.
    let emit_final = query.emit == Some(Emit::Final);
    let default_grace = if emit_final { 0 } else { DEFAULT_GRACE_MS };
    Ok(match &query.window {
        None => (None, None),
        Some(WindowSpec::Tumbling { size, grace, .. }) => (
            Some(WindowAssigner::Tumbling {
                size: size.millis(),
                grace: grace.map(|g| g.millis()).unwrap_or(default_grace),
            }),
            Some(WindowInfo::Tumbling {
                size: size.millis(),
            }),
        ),
        Some(WindowSpec::Hopping {
            size,
            advance,
            grace,
            ..
        }) => {
            if advance.millis() > size.millis() {
                return Err(Error::plan(format!(
                    "Hopping window ADVANCE BY ({}) must not be larger than its SIZE ({}).",
                    advance.millis(),
                    size.millis()
                )));
            }
            (
                Some(WindowAssigner::Hopping {
                    size: size.millis(),
                    advance: advance.millis(),
                    grace: grace.map(|g| g.millis()).unwrap_or(default_grace),
                }),
                Some(WindowInfo::Hopping {
                    size: size.millis(),
                    advance: advance.millis(),
                }),
            )
        }
        Some(WindowSpec::Session { gap, grace, .. }) => (
            Some(WindowAssigner::Session {
                gap: gap.millis(),
                grace: grace.map(|g| g.millis()).unwrap_or(default_grace),
            }),
            Some(WindowInfo::Session),
        ),
    })
}

/// The window's explicit RETENTION, in milliseconds.
pub fn retention(query: &Query) -> Option<i64> {
    match &query.window {
        Some(WindowSpec::Tumbling { retention, .. })
        | Some(WindowSpec::Hopping { retention, .. })
        | Some(WindowSpec::Session { retention, .. }) => retention.map(|r| r.millis()),
        None => None,
    }
}
