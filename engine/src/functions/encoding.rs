//! Text encodings of binary data known to ksqlDB (hex, utf8, ascii,
//! base64): the conversions TO_BYTES, FROM_BYTES and ENCODE share.

use crate::error::{Error, Result};
use base64::Engine as _;

/// A text encoding of binary data known to ksqlDB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Hex,
    Utf8,
    Ascii,
    Base64,
}

impl Encoding {
    /// The encoding with this name, ignoring case.
    pub fn parse(name: &str) -> Option<Encoding> {
        match name.to_ascii_lowercase().as_str() {
            "hex" => Some(Encoding::Hex),
            "utf8" => Some(Encoding::Utf8),
            "ascii" => Some(Encoding::Ascii),
            "base64" => Some(Encoding::Base64),
            _ => None,
        }
    }
}

/// Decodes hex digits of either case; an odd count or a non-hex character
/// is an error.
pub(crate) fn decode_hex(s: &str) -> Result<Vec<u8>> {
    if s.len() % 2 == 1 {
        return Err(Error::eval(format!(
            "Odd number of characters in hex string: {s}"
        )));
    }
    hex::decode(s).map_err(|e| Error::eval(format!("Invalid hex string '{s}': {e}")))
}

/// A string's characters as US-ASCII bytes, `?` for anything else.
pub(crate) fn to_ascii_bytes(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| if c.is_ascii() { c as u8 } else { b'?' })
        .collect()
}

/// US-ASCII bytes as a string, U+FFFD for bytes above 0x7F.
pub(crate) fn from_ascii_bytes(b: &[u8]) -> String {
    b.iter()
        .map(|&x| if x.is_ascii() { x as char } else { '\u{FFFD}' })
        .collect()
}

/// Standard, padded base64.
pub(crate) fn encode_base64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// Base64 with optional padding; anything else that is not base64 is an
/// error.
pub(crate) fn decode_base64(s: &str) -> Result<Vec<u8>> {
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    engine
        .decode(s)
        .map_err(|e| Error::eval(format!("Invalid base64 string '{s}': {e}")))
}

/// Forgiving base64 (standard or URL-safe alphabet): characters outside the
/// alphabet are skipped, decoding stops at the first `=`, and leftover bits
/// that do not make a whole byte are dropped.
pub(crate) fn decode_base64_lenient(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => continue,
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_base64() {
        assert_eq!(
            decode_base64_lenient("RXhh bXBs\nZSE="),
            b"Example!".to_vec()
        );
        assert_eq!(decode_base64_lenient("RXhhbXBsZSE"), b"Example!".to_vec());
    }
}
