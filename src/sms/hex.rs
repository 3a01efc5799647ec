//! Hex text as 27.005 PDU mode prints and reads it: upper-case out, either case in.
//! Errors are PDU errors, since malformed hex is a malformed PDU.

use super::PduError;

pub fn encode_upper(bytes: &[u8]) -> String {
    todo!("{bytes:?}")
}

pub fn decode(text: &str) -> Result<Vec<u8>, PduError> {
    todo!("{text}")
}
