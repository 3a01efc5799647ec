//! Shared by the modem-driving fuzz targets: the host harness and the command-line dictionary.
//! Each target uses part of it.

pub mod harness;
pub mod lines;
