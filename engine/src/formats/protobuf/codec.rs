//! The `Codec` implementation of [`ProtobufCodec`]: encoding and decoding
//! rows through the message writer and reader.

use super::decode::Reader;
use super::encode::field_number;
use super::*;

impl Codec for ProtobufCodec {
    fn encode(&self, values: &[Value]) -> Result<Option<Vec<u8>>> {
        if values.len() != self.columns.len() {
            return Err(Error::format(format!(
                "Column count mismatch on serialization. expected: {}, got: {}",
                self.columns.len(),
                values.len()
            )));
        }
        if self.columns.is_empty() {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(64);
        if self.framed {
            out.push(0);
            out.extend_from_slice(&self.schema_id.to_be_bytes());
            // Message indexes: the first message of the schema.
            out.push(0);
        }
        for (i, (c, v)) in self.columns.iter().zip(values).enumerate() {
            self.put_field(&mut out, field_number(i)?, &c.ty, v)?;
        }
        Ok(Some(out))
    }

    fn decode(&self, bytes: Option<&[u8]>) -> Result<Option<Vec<Value>>> {
        let Some(bytes) = bytes else {
            return Ok(None);
        };
        if self.columns.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let mut r = Reader::new(bytes);
        if self.framed {
            r.skip_framing()?;
        }
        let types: Vec<&SqlType> = self.columns.iter().map(|c| &c.ty).collect();
        let values = self.read_message(r, &types)?;
        Ok(Some(values))
    }
}
