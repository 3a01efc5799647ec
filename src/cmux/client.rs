//! The DTE's (initiating) side of 27.010 for tests and benchmarks that drive the emulator as a
//! CMUX client: builds its frames (commands with C/R = 1); read the modem's with `Deframer`.

use super::control::{self, Command, Params, Signals};
use super::frame::{Kind, encode_frame, encode_frame_into};

/// Telit's fixed N1 (information bytes per frame) in `+CMUX=0` [telit.md D.3].
pub const TELIT_N1: usize = 128;

/// The bytes the modem's UIH frames carried on `dlci`, in order.
pub fn payload_on(frames: &[super::frame::Frame], dlci: u8) -> Vec<u8> {
    frames
        .iter()
        .filter(|f| f.dlci == dlci && f.kind == Kind::Uih)
        .flat_map(|f| f.info.iter().copied())
        .collect()
}

/// SABM (P = 1) opening `dlci`; on DLCI 0 it starts the multiplexer.
pub fn client_sabm(dlci: u8) -> Vec<u8> {
    encode_frame(dlci, true, Kind::Sabm, true, &[])
}

/// DISC (P = 1) closing `dlci`; on DLCI 0 it ends the multiplexer.
pub fn client_disc(dlci: u8) -> Vec<u8> {
    encode_frame(dlci, true, Kind::Disc, true, &[])
}

/// UIH frames carrying `data` on `dlci`, split at [`TELIT_N1`]; empty for empty data.
pub fn client_uih(dlci: u8, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len().div_ceil(TELIT_N1) * 7);
    for chunk in data.chunks(TELIT_N1) {
        encode_frame_into(&mut out, dlci, true, Kind::Uih, false, chunk);
    }
    out
}

/// Any control-channel command (C/R = 1 in the type octet) in a DLCI 0 UIH frame.
pub fn client_control(command: Command, value: &[u8]) -> Vec<u8> {
    encode_frame(
        0,
        true,
        Kind::Uih,
        false,
        &control::encode(command, true, value),
    )
}

/// MSC command with the DTE's signals for `dlci` (DTR in `rtc`, RTS in `rtr`, break).
pub fn client_msc(dlci: u8, signals: Signals) -> Vec<u8> {
    client_control(Command::Msc, &control::msc_value(dlci, signals))
}

/// CLD: close the multiplexer down.
pub fn client_cld() -> Vec<u8> {
    client_control(Command::Cld, &[])
}

/// Test command carrying `pattern`, which the modem echoes.
pub fn client_test(pattern: &[u8]) -> Vec<u8> {
    client_control(Command::Test, pattern)
}

/// PN command proposing `params`.
pub fn client_pn(params: Params) -> Vec<u8> {
    client_control(Command::Pn, &params.encode())
}
