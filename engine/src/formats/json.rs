//! The JSON format.
use crate::error::Result;
use crate::formats::Codec;
use crate::types::{Column, Value};

/// JSON codec (to be written).
pub struct JsonCodec {
    columns: Vec<Column>,
    unwrap: bool,
}
impl JsonCodec {
    pub fn new(columns: Vec<Column>, unwrap: bool) -> Self {
        JsonCodec { columns, unwrap }
    }
}
impl Codec for JsonCodec {
    fn encode(&self, _values: &[Value]) -> Result<Option<Vec<u8>>> {
        let _ = (&self.columns, self.unwrap);
        todo!()
    }
    fn decode(&self, _bytes: Option<&[u8]>) -> Result<Option<Vec<Value>>> {
        todo!()
    }
}
