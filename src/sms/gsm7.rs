//! The GSM 03.38 default alphabet with its extension table, and 7-bit packing.
//! Septets are kept one per byte; packing turns them into TP-UD octets.

pub fn encode(text: &str) -> Result<Vec<u8>, char> {
    todo!("{text}")
}
pub fn decode(septets: &[u8]) -> String {
    todo!("{septets:?}")
}
pub fn septet_len(text: &str) -> Option<usize> {
    todo!("{text}")
}
pub fn pack(septets: &[u8], fill_bits: u8) -> Vec<u8> {
    todo!("{septets:?}{fill_bits}")
}
pub fn unpack(octets: &[u8], count: usize, fill_bits: u8) -> Vec<u8> {
    todo!("{octets:?}{count}{fill_bits}")
}
