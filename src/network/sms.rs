//! The SMS centre of the simulated world, sans-I/O: routes what modems submit to the modem
//! with that number (after the network's delay), returns status reports, records the rest.

use crate::sms::{Address, Alphabet, Submit, Tpdu};

/// A message a modem handed to the network (`+CMGS`, `+CMSS`). `submit.message_reference` is
/// the modem's own TP-MR, the one `+CMGS: <mr>` printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// The service centre the modem addressed (its `+CSCA`, or the PDU's own SMSC field).
    pub smsc: Address,
    pub submit: Submit,
}

/// What the network hands a modem: an SMS-DELIVER or an SMS-STATUS-REPORT, as sent by `smsc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub smsc: Address,
    pub tpdu: Tpdu,
}

/// What `sms deliver` injects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Injected {
    /// A text, split into concatenated parts when it does not fit one SMS.
    Text { text: String, alphabet: Alphabet },
    /// A whole SMS-DELIVER as hex, with or without the SMSC field in front.
    Pdu(String),
}
