//! Telit ATRUN: the services that run AT commands arriving by SMS or over TCP on an AT
//! instance they reserve, and send the answers back.

pub(crate) mod rules;
pub(crate) mod sms_request;
