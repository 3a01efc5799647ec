//! simodem: a software twin of SIM900 and Telit GSM/GPRS modems on a virtual serial port.
//! The core (`at`, `dte`, `commands`, `modem`) is sans-I/O; `host` runs it under tokio.

pub mod at;
pub mod calendar;
pub mod cli;
pub mod cmux;
pub mod commands;
pub mod control;
pub mod dte;
pub mod host;
pub mod modem;
pub mod network;
pub mod scenario;
pub mod sms;
pub mod soak;
