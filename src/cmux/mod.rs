//! 3GPP TS 27.010 basic-option multiplexer, modem (responding) side, no I/O and no clock; wire
//! format in `frame`, DLCI 0 messages in `control`, the DTE's side for tests in `client`.

pub mod client;
pub mod control;
pub mod frame;

#[cfg(test)]
mod tests;

pub use client::{
    TELIT_N1, client_cld, client_control, client_disc, client_msc, client_pn, client_sabm,
    client_test, client_uih, payload_on,
};
pub use control::{Command, Message, Params, Signals};
pub use frame::{
    DecodeError, Deframed, Deframer, FLAG, Frame, Kind, MAX_INFO, PF, decode, encode_frame,
    encode_frame_into, fcs,
};

/// DLCIs the address field can name (six bits).
const DLCIS: usize = 64;

/// What the DTE's bytes did, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MuxEvent {
    /// Frames to write back to the DTE (UA, DM, control responses); adjacent replies are merged.
    Reply(Vec<u8>),
    /// SABM on DLCI 0: the multiplexer is running (stop the 5 s start timer).
    Started,
    /// A data DLCI (1..=max_dlci) opened by SABM.
    Opened(u8),
    /// A data DLCI closed by DISC, or by the multiplexer closing down.
    Closed(u8),
    /// Payload of UIH/UI frames on an open DLCI; adjacent data for the same DLCI is merged.
    Data(u8, Vec<u8>),
    /// An MSC command from the DTE for an open DLCI: DTR (`rtc`), RTS (`rtr`), break.
    Signals(u8, Signals),
    /// DISC on DLCI 0 or CLD: mux mode is over, the port is back to plain AT.
    Ended,
    /// Something was dropped or refused, and why (for the trace).
    Dropped(String),
}

/// One port in multiplexer mode: the DLCI states and the partial frame between reads.
///
/// Choices where 27.010 leaves room (the DTE is the initiator: it sends SABM on DLCI 0):
/// * Frames the modem sends: responses (UA, DM) with C/R = 1, UIH with C/R = 0 (§5.2.1.2,
///   §5.4.3.1). Received C/R bits are not checked unless [`Multiplexer::set_strict_cr`] is on
///   (a real Telit ME910 ignores UIH frames from the DTE with C/R = 0: zephyr issue #63577).
/// * Frames with a bad FCS, a length above N1 or no closing flag get no answer (27.010 discards
///   them); they are traced as `Dropped` and the deframer resyncs on the next flag.
/// * A command frame on a DLCI that is not open (UIH/UI on a closed or unknown DLCI, SABM above
///   `max_dlci` or before DLCI 0, DISC on a closed DLCI) is answered with DM, F = the received P;
///   data on it is dropped and traced.
/// * UA and DM from the DTE are traced and ignored (the modem never sends SABM or DISC); frame
///   types of the error-recovery option (I, RR, RNR, REJ) are traced and ignored.
/// * PN is answered with the DTE's proposal except: UIH frames, convergence layer 1, and
///   N1 = min(proposed, configured) (the configured value when 0 is proposed); that N1 then splits
///   what [`Multiplexer::send`] writes on the DLCI.
/// * MSC, Test, RLS are echoed as responses; FCon/FCoff/PSC answered with an empty response; CLD
///   answered, then every DLCI closes; RPN, SNC and unknown types get NSC (value: the type octet
///   as received). Responses from the DTE (to the modem's MSC) are consumed silently.
/// * After DISC on DLCI 0 or CLD, `receive` stops at `Ended`: the bytes that followed are the
///   plain AT stream again and wait in [`Multiplexer::take_unprocessed`].
#[derive(Clone, Debug)]
pub struct Multiplexer {
    max_dlci: u8,
    n1: usize,
    deframer: Deframer,
    started: bool,
    open: [bool; DLCIS],
    /// N1 for frames the modem sends on each DLCI (PN may lower it).
    send_n1: [usize; DLCIS],
    dte_flow_off: bool,
    strict_cr: bool,
    /// DLCIs whose channel is taken by something else (an ATRUN service): SABM gets DM.
    refused: [bool; DLCIS],
}

impl Multiplexer {
    /// A multiplexer accepting DLCIs 1..=`max_dlci` (at most 63) and information fields up to
    /// `n1` bytes (1..=32767). Telit: `Multiplexer::new(3, 128)`.
    pub fn new(max_dlci: u8, n1: usize) -> Self {
        let n1 = n1.clamp(1, MAX_INFO);
        Multiplexer {
            max_dlci: max_dlci.min(DLCIS as u8 - 1),
            n1,
            deframer: Deframer::new(n1),
            started: false,
            open: [false; DLCIS],
            send_n1: [n1; DLCIS],
            dte_flow_off: false,
            strict_cr: false,
            refused: [false; DLCIS],
        }
    }

    /// Drop frames from the DTE whose C/R bit says "response" where 27.010 wants a command from
    /// the initiator (SABM, DISC, UIH, UI with C/R = 0), as a strict module does. Off by default.
    pub fn set_strict_cr(&mut self, strict: bool) {
        self.strict_cr = strict;
    }

    /// Bytes from the DTE, in chunks of any size; returns what happened, in order. Stops at
    /// [`MuxEvent::Ended`], leaving the rest for [`take_unprocessed`](Self::take_unprocessed).
    pub fn receive(&mut self, bytes: &[u8]) -> Vec<MuxEvent> {
        let mut out = Vec::new();
        self.deframer.push(bytes);
        while let Some(item) = self.deframer.next() {
            match item {
                Deframed::Frame(frame) => self.on_frame(frame, &mut out),
                Deframed::Skipped(n) => drop_(&mut out, format!("{n} byte(s) outside any frame")),
                Deframed::Invalid(error) => drop_(&mut out, format!("frame dropped: {error}")),
            }
            if matches!(out.last(), Some(MuxEvent::Ended)) {
                break;
            }
        }
        out
    }

    /// Bytes received but not consumed, leading flags removed: after [`MuxEvent::Ended`], what
    /// followed the closing frame (plain AT again); otherwise a partial frame.
    pub fn take_unprocessed(&mut self) -> Vec<u8> {
        let mut rest = self.deframer.take_buffered();
        let flags = rest.iter().take_while(|&&b| b == FLAG).count();
        rest.drain(..flags);
        rest
    }

    /// Bytes held between calls (less than one frame once `receive` returns without `Ended`).
    pub fn buffered(&self) -> usize {
        self.deframer.buffered()
    }

    /// UIH frames carrying `bytes` on `dlci` toward the DTE, split at the DLCI's N1; empty if the
    /// DLCI is not an open data DLCI or `bytes` is empty.
    pub fn send(&self, dlci: u8, bytes: &[u8]) -> Vec<u8> {
        if dlci == 0 || !self.is_open(dlci) || bytes.is_empty() {
            return Vec::new();
        }
        let n1 = self.send_n1[usize::from(dlci)];
        let mut out = Vec::with_capacity(bytes.len() + bytes.len().div_ceil(n1) * 7);
        for chunk in bytes.chunks(n1) {
            encode_frame_into(&mut out, dlci, false, Kind::Uih, false, chunk);
        }
        out
    }

    /// An MSC command on DLCI 0 carrying the modem's V.24 signals for `dlci` (DSR in `rtc`, CTS
    /// in `rtr`, RI in `ring`, DCD in `dcd`); empty if the DLCI is not an open data DLCI.
    pub fn modem_status(&self, dlci: u8, signals: Signals) -> Vec<u8> {
        if dlci == 0 || !self.is_open(dlci) {
            return Vec::new();
        }
        let message = control::encode(Command::Msc, true, &control::msc_value(dlci, signals));
        uih(0, &message)
    }

    /// Whether `dlci` is open; DLCI 0 is open while the multiplexer runs.
    pub fn is_open(&self, dlci: u8) -> bool {
        match dlci {
            0 => self.started,
            d => self.started && self.open.get(usize::from(d)).copied().unwrap_or(false),
        }
    }

    /// Refuse (or accept again) SABM on `dlci`: the module's ATRUN services reserve an AT
    /// instance, and its channel cannot be opened meanwhile (telit.md B.1).
    pub fn set_refused(&mut self, dlci: u8, refused: bool) {
        if let Some(slot) = self.refused.get_mut(usize::from(dlci)) {
            *slot = refused;
        }
    }

    /// Whether DLCI 0 has been opened and not closed since.
    pub fn is_started(&self) -> bool {
        self.started
    }

    /// The open data DLCIs, ascending.
    pub fn open_dlcis(&self) -> impl Iterator<Item = u8> + '_ {
        (1..=self.max_dlci).filter(|&d| self.is_open(d))
    }

    /// Whether the DTE's last aggregate flow control was FCoff (it cannot receive).
    pub fn dte_flow_stopped(&self) -> bool {
        self.dte_flow_off
    }

    /// The N1 frames to `dlci` are split at: the configured N1 or what PN agreed.
    pub fn send_n1(&self, dlci: u8) -> usize {
        self.send_n1
            .get(usize::from(dlci))
            .copied()
            .unwrap_or(self.n1)
    }

    fn on_frame(&mut self, frame: Frame, out: &mut Vec<MuxEvent>) {
        let d = frame.dlci;
        let command_type = matches!(frame.kind, Kind::Sabm | Kind::Disc | Kind::Uih | Kind::Ui);
        if self.strict_cr && command_type && !frame.cr {
            let kind = frame.kind;
            drop_(
                out,
                format!("{kind:?} on DLCI {d} with C/R 0 from the DTE (strict C/R)"),
            );
            return;
        }
        match frame.kind {
            Kind::Sabm => self.on_sabm(d, frame.pf, out),
            Kind::Disc => self.on_disc(d, frame.pf, out),
            Kind::Uih | Kind::Ui => self.on_data(frame, out),
            kind @ (Kind::Ua | Kind::Dm) => drop_(
                out,
                format!("unexpected {kind:?} on DLCI {d}: the modem sent no SABM/DISC"),
            ),
            Kind::Other(control) => drop_(
                out,
                format!("control field {control:#04X} on DLCI {d} is not in the basic option"),
            ),
        }
    }

    fn on_sabm(&mut self, d: u8, pf: bool, out: &mut Vec<MuxEvent>) {
        if d == 0 {
            reply(out, response(0, Kind::Ua, pf));
            if !self.started {
                self.started = true;
                out.push(MuxEvent::Started);
            }
        } else if !self.started {
            reply(out, response(d, Kind::Dm, pf));
            drop_(out, format!("SABM on DLCI {d} before DLCI 0 opened: DM"));
        } else if self.refused.get(usize::from(d)).copied().unwrap_or(false) {
            reply(out, response(d, Kind::Dm, pf));
            drop_(
                out,
                format!("SABM on DLCI {d} refused: its instance is reserved (DM)"),
            );
        } else if d > self.max_dlci {
            reply(out, response(d, Kind::Dm, pf));
            let max = self.max_dlci;
            drop_(
                out,
                format!("SABM on DLCI {d} refused (DLCIs 1..={max}): DM"),
            );
        } else {
            reply(out, response(d, Kind::Ua, pf));
            let open = &mut self.open[usize::from(d)];
            if !*open {
                *open = true;
                out.push(MuxEvent::Opened(d));
            }
        }
    }

    fn on_disc(&mut self, d: u8, pf: bool, out: &mut Vec<MuxEvent>) {
        if d == 0 && self.started {
            reply(out, response(0, Kind::Ua, pf));
            self.close_down(out);
        } else if d != 0 && self.is_open(d) {
            reply(out, response(d, Kind::Ua, pf));
            self.open[usize::from(d)] = false;
            self.send_n1[usize::from(d)] = self.n1;
            out.push(MuxEvent::Closed(d));
        } else {
            reply(out, response(d, Kind::Dm, pf));
        }
    }

    fn on_data(&mut self, frame: Frame, out: &mut Vec<MuxEvent>) {
        let d = frame.dlci;
        if d == 0 && self.started {
            self.on_control(&frame.info, out);
        } else if d != 0 && self.is_open(d) {
            if !frame.info.is_empty() {
                data(out, d, frame.info);
            }
        } else {
            reply(out, response(d, Kind::Dm, frame.pf));
            let n = frame.info.len();
            drop_(
                out,
                format!("{n} byte(s) on DLCI {d}, which is not open: DM"),
            );
        }
    }

    /// The messages of a DLCI 0 UIH frame, one after the other.
    fn on_control(&mut self, info: &[u8], out: &mut Vec<MuxEvent>) {
        let mut rest = info;
        while !rest.is_empty() {
            match control::parse(rest) {
                Ok((message, used)) => {
                    rest = &rest[used..];
                    self.on_message(message, out);
                    if !self.started {
                        break;
                    }
                }
                Err(error) => {
                    drop_(out, format!("DLCI 0: {error}"));
                    break;
                }
            }
        }
    }

    fn on_message(&mut self, message: Message<'_>, out: &mut Vec<MuxEvent>) {
        if !message.is_command {
            return; // a response to the modem's MSC (or anything it sent): nothing to do
        }
        let value = message.value;
        match message.command {
            Command::Msc => match control::parse_msc(value) {
                Some((d, signals)) => {
                    reply(out, control_response(Command::Msc, value));
                    if d != 0 && self.is_open(d) {
                        out.push(MuxEvent::Signals(d, signals));
                    } else {
                        drop_(out, format!("MSC for DLCI {d}, which is not open"));
                    }
                }
                None => drop_(out, format!("malformed MSC value {value:02X?}")),
            },
            Command::Pn => match Params::parse(value) {
                Some(proposed) => {
                    let n1 = match usize::from(proposed.n1) {
                        0 => self.n1,
                        n => n.min(self.n1),
                    };
                    let d = proposed.dlci;
                    if (1..=self.max_dlci).contains(&d) {
                        self.send_n1[usize::from(d)] = n1;
                    }
                    let accepted = Params {
                        frame_type: 0,
                        convergence_layer: 0,
                        n1: n1 as u16, // n1 <= MAX_INFO
                        ..proposed
                    };
                    reply(out, control_response(Command::Pn, &accepted.encode()));
                }
                None => drop_(out, format!("malformed PN value {value:02X?}")),
            },
            Command::Test | Command::Rls => reply(out, control_response(message.command, value)),
            Command::Psc => reply(out, control_response(Command::Psc, &[])),
            Command::FcOn => {
                self.dte_flow_off = false;
                reply(out, control_response(Command::FcOn, &[]));
            }
            Command::FcOff => {
                self.dte_flow_off = true;
                reply(out, control_response(Command::FcOff, &[]));
            }
            Command::Cld => {
                reply(out, control_response(Command::Cld, &[]));
                self.close_down(out);
            }
            Command::Nsc | Command::Rpn | Command::Snc | Command::Unknown(_) => {
                reply(out, control_response(Command::Nsc, &[message.type_octet]));
                let octet = message.type_octet;
                drop_(
                    out,
                    format!("control command type {octet:#04X} not supported: NSC"),
                );
            }
        }
    }

    /// Every data DLCI closes, then the multiplexer ends.
    fn close_down(&mut self, out: &mut Vec<MuxEvent>) {
        for d in 1..=self.max_dlci {
            if std::mem::take(&mut self.open[usize::from(d)]) {
                out.push(MuxEvent::Closed(d));
            }
        }
        self.started = false;
        self.send_n1 = [self.n1; DLCIS];
        self.dte_flow_off = false;
        out.push(MuxEvent::Ended);
    }
}

/// A response frame from the modem (the responder): C/R = 1 (27.010 §5.2.1.2).
fn response(dlci: u8, kind: Kind, pf: bool) -> Vec<u8> {
    encode_frame(dlci, true, kind, pf, &[])
}

/// A UIH frame from the modem: C/R = 0 (27.010 §5.4.3.1).
fn uih(dlci: u8, info: &[u8]) -> Vec<u8> {
    encode_frame(dlci, false, Kind::Uih, false, info)
}

/// A control-channel response (C/R of the type octet clear) in a DLCI 0 UIH frame.
fn control_response(command: Command, value: &[u8]) -> Vec<u8> {
    uih(0, &control::encode(command, false, value))
}

fn reply(out: &mut Vec<MuxEvent>, bytes: Vec<u8>) {
    match out.last_mut() {
        Some(MuxEvent::Reply(previous)) => previous.extend_from_slice(&bytes),
        _ => out.push(MuxEvent::Reply(bytes)),
    }
}

fn data(out: &mut Vec<MuxEvent>, dlci: u8, bytes: Vec<u8>) {
    match out.last_mut() {
        Some(MuxEvent::Data(d, previous)) if *d == dlci => previous.extend_from_slice(&bytes),
        _ => out.push(MuxEvent::Data(dlci, bytes)),
    }
}

fn drop_(out: &mut Vec<MuxEvent>, why: String) {
    out.push(MuxEvent::Dropped(why));
}
