//! SMS wire formats (3GPP TS 23.040 / 23.038) with no I/O: TPDUs both ways, addresses,
//! timestamps, coding schemes, the GSM 7-bit alphabet, user data headers and text-mode charsets.

pub mod atrun_digest;
pub mod charset;
pub mod gsm7;
pub mod hex;
pub mod random;
pub mod tpdu;
pub mod user_data;

pub use tpdu::{
    Address, Deliver, Direction, Pdu, PduError, StatusReport, Submit, Timestamp, Tpdu, Validity,
};
pub use user_data::{Alphabet, Concat, Dcs, InformationElement, UserData};
