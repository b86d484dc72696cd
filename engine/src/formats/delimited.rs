//! The DELIMITED format.
use crate::error::Result;
use crate::formats::Codec;
use crate::types::{Column, Value};

/// DELIMITED codec (to be written).
pub struct DelimitedCodec {
    columns: Vec<Column>,
    delimiter: char,
}
impl DelimitedCodec {
    pub fn new(columns: Vec<Column>, delimiter: char) -> Result<Self> {
        Ok(DelimitedCodec { columns, delimiter })
    }
}
impl Codec for DelimitedCodec {
    fn encode(&self, _values: &[Value]) -> Result<Option<Vec<u8>>> {
        let _ = (&self.columns, self.delimiter);
        todo!()
    }
    fn decode(&self, _bytes: Option<&[u8]>) -> Result<Option<Vec<Value>>> {
        todo!()
    }
}
