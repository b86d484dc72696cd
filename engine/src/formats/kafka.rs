//! The KAFKA format.
use crate::error::Result;
use crate::formats::Codec;
use crate::types::{Column, Value};

/// KAFKA codec (to be written).
pub struct KafkaCodec {
    columns: Vec<Column>,

}
impl KafkaCodec {
    pub fn new(columns: Vec<Column>) -> Result<Self> {
        Ok(KafkaCodec { columns })
    }
}
impl Codec for KafkaCodec {
    fn encode(&self, _values: &[Value]) -> Result<Option<Vec<u8>>> {
        let _ = &self.columns;
        todo!()
    }
    fn decode(&self, _bytes: Option<&[u8]>) -> Result<Option<Vec<Value>>> {
        todo!()
    }
}
