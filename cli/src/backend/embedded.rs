//! The embedded backend: statements run on an engine in this process, in
//! one session (the shell's properties and variables).

use super::{Backend, Outcome, RowStream, StatementError};
use sluice_engine::results::{PushQuery, ResultColumn, StatementResult};
use sluice_engine::sql::StatementText;
use sluice_engine::types::Value;
use sluice_engine::{Engine, Session};
use std::time::Duration;

/// An engine opened by the shell, and the shell's session on it.
pub struct Embedded {
    session: Session,
    /// What the banner names: the data directory or the Kafka cluster.
    location: String,
}

impl Embedded {
    pub fn new(engine: &Engine, location: String) -> Embedded {
        Embedded {
            session: engine.session(),
            location,
        }
    }
}

impl Backend for Embedded {
    fn run(&mut self, piece: &StatementText) -> Result<Outcome, StatementError> {
        match self.session.execute_statement(piece) {
            Ok(StatementResult::Push(q)) => Ok(Outcome::Push(Box::new(Local(q)))),
            Ok(StatementResult::Print(q)) => Ok(Outcome::Print(Box::new(Local(q)))),
            Ok(other) => Ok(Outcome::Done(Box::new(other))),
            Err(e) => Err(StatementError(e.to_string())),
        }
    }

    fn banner(&self) -> (String, String) {
        (self.location.clone(), "RUNNING".to_string())
    }

    fn on_terminate(&self) -> Box<dyn Fn() + Send + Sync> {
        let log = self.session.engine().log();
        Box::new(move || {
            if let Err(e) = log.flush() {
                tracing::warn!(error = %e, "flushing the log before exiting");
            }
        })
    }
}

/// A push query of the embedded engine.
struct Local(PushQuery);

impl RowStream for Local {
    fn columns(&self) -> Vec<ResultColumn> {
        self.0.columns()
    }

    fn next_rows(&mut self, timeout: Duration) -> anyhow::Result<Option<Vec<Vec<Value>>>> {
        Ok(self.0.next_rows(timeout)?)
    }
}
