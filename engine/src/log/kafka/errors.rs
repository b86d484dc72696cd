//! librdkafka's errors as the engine's, and which of them are transient.

use crate::error::Error;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// Errors a consumer reports while librdkafka recovers from them by
/// itself (a lost connection, every connection of a client lost at once):
/// informational, not failures of the read.
pub(super) fn transient(e: &KafkaError) -> bool {
    matches!(
        e,
        KafkaError::MessageConsumption(
            RDKafkaErrorCode::AllBrokersDown | RDKafkaErrorCode::BrokerTransportFailure
        )
    )
}

pub(super) fn kafka_err(what: &str, e: KafkaError) -> Error {
    Error::log(format!("{what}: {e}"))
}
