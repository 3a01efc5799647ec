//! TPDUs of 23.040: SMS-SUBMIT, SMS-DELIVER and SMS-STATUS-REPORT with their addresses,
//! timestamps and validity periods, and the whole PDU with its SMSC field.

use super::{Dcs, UserData};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PduError {
    OddHex,
    NotHex,
    Truncated,
    TrailingBytes,
    LengthMismatch,
    AddressLength,
    BadAddress,
    SmscLength,
    ReservedDcs,
    Compressed,
    UserDataLength,
    HeaderLength,
    BadTimestamp,
    UnknownType,
    BadValidity,
}

impl std::fmt::Display for PduError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub number: String,
    pub toa: u8,
}

impl Address {
    pub fn from_text(number: &str) -> Result<Address, PduError> {
        todo!("{number}")
    }
    pub fn with_toa(number: &str, toa: u8) -> Result<Address, PduError> {
        todo!("{number}{toa}")
    }
    pub fn alphanumeric(text: &str) -> Result<Address, PduError> {
        todo!("{text}")
    }
    pub fn digits(&self) -> &str {
        todo!()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    pub year: u8,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub tz_quarters: i8,
}

impl Timestamp {
    pub fn from_unix(seconds: i64, tz_quarters: i8) -> Timestamp {
        todo!("{seconds}{tz_quarters}")
    }
    pub fn text(&self) -> String {
        todo!()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    None,
    Relative(u8),
    Absolute(Timestamp),
    Enhanced([u8; 7]),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submit {
    pub reject_duplicates: bool,
    pub reply_path: bool,
    pub status_report_request: bool,
    pub message_reference: u8,
    pub destination: Address,
    pub pid: u8,
    pub dcs: Dcs,
    pub validity: Validity,
    pub user_data: UserData,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deliver {
    pub more_messages_to_send: bool,
    pub reply_path: bool,
    pub status_report_indication: bool,
    pub originator: Address,
    pub pid: u8,
    pub dcs: Dcs,
    pub timestamp: Timestamp,
    pub user_data: UserData,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    pub more_messages_to_send: bool,
    pub status_report_qualifier: bool,
    pub message_reference: u8,
    pub recipient: Address,
    pub timestamp: Timestamp,
    pub discharge: Timestamp,
    pub status: u8,
    pub pid: Option<u8>,
    pub dcs: Option<Dcs>,
    pub user_data: Option<UserData>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tpdu {
    Submit(Submit),
    Deliver(Deliver),
    StatusReport(StatusReport),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    ToNetwork,
    FromNetwork,
}

impl Tpdu {
    pub fn decode(octets: &[u8], direction: Direction) -> Result<Tpdu, PduError> {
        todo!("{octets:?}{direction:?}")
    }
    pub fn encode(&self) -> Result<Vec<u8>, PduError> {
        todo!()
    }
    pub fn first_octet(&self) -> u8 {
        todo!()
    }
    pub fn dcs(&self) -> Option<Dcs> {
        todo!()
    }
    pub fn user_data(&self) -> Option<&UserData> {
        todo!()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pdu {
    pub smsc: Option<Address>,
    pub tpdu: Tpdu,
}

impl Pdu {
    pub fn decode_hex(
        hex: &str,
        declared_tpdu_len: Option<usize>,
        direction: Direction,
    ) -> Result<Pdu, PduError> {
        todo!("{hex}{declared_tpdu_len:?}{direction:?}")
    }
    pub fn decode(octets: &[u8], direction: Direction) -> Result<Pdu, PduError> {
        todo!("{octets:?}{direction:?}")
    }
    pub fn encode(&self) -> Result<Vec<u8>, PduError> {
        todo!()
    }
    pub fn tpdu_len(&self) -> Result<usize, PduError> {
        todo!()
    }
}
