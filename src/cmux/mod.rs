//! 3GPP TS 27.010 basic-option multiplexer, modem (responding) side, no I/O and no clock; wire
//! format in `frame`, DLCI 0 messages in `control`, the DTE's side for tests in `client`.

pub mod client;
pub mod control;
pub mod frame;

pub use client::{
    TELIT_N1, client_cld, client_control, client_disc, client_msc, client_pn, client_sabm,
    client_test, client_uih,
};
pub use control::{Command, Message, Params, Signals};
pub use frame::{
    DecodeError, Deframed, Deframer, FLAG, Frame, Kind, MAX_INFO, PF, decode, encode_frame,
    encode_frame_into, fcs,
};
