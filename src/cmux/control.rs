//! 27.010 control-channel messages (the information of UIH frames on DLCI 0, §5.4.6): type octet
//! with EA and C/R, EA-coded length, value; plus the MSC and PN value layouts. Codec only.

use std::fmt;

const EA: u8 = 0x01;
const CR: u8 = 0x02;

/// Control-channel message types (27.010 §5.4.6.3). The type octet is `EA | C/R << 1 | type << 2`;
/// [`Command::type_octet`] builds it for a command (C/R = 1) or a response (C/R = 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// DLC parameter negotiation (type octet 0x83 / 0x81).
    Pn,
    /// Power saving control (0x43 / 0x41).
    Psc,
    /// Multiplexer close down (0xC3 / 0xC1).
    Cld,
    /// Test (0x23 / 0x21).
    Test,
    /// Flow control on: the sender can receive again (0xA3 / 0xA1).
    FcOn,
    /// Flow control off: the sender cannot receive (0x63 / 0x61).
    FcOff,
    /// Modem status: V.24 signals of one DLCI (0xE3 / 0xE1).
    Msc,
    /// Non-supported command response (0x11).
    Nsc,
    /// Remote port negotiation (0x93 / 0x91).
    Rpn,
    /// Remote line status (0x53 / 0x51).
    Rls,
    /// Service negotiation (0xD3 / 0xD1).
    Snc,
    /// Anything else: the first type octet as received.
    Unknown(u8),
}

impl Command {
    /// The command a type octet names; C/R is ignored.
    pub fn from_type_octet(octet: u8) -> Command {
        match (octet & !CR) | EA {
            0x81 => Command::Pn,
            0x41 => Command::Psc,
            0xC1 => Command::Cld,
            0x21 => Command::Test,
            0xA1 => Command::FcOn,
            0x61 => Command::FcOff,
            0xE1 => Command::Msc,
            0x11 => Command::Nsc,
            0x91 => Command::Rpn,
            0x51 => Command::Rls,
            0xD1 => Command::Snc,
            _ => Command::Unknown(octet),
        }
    }

    /// The type octet, with C/R set for a command and clear for a response.
    pub fn type_octet(self, is_command: bool) -> u8 {
        let response = match self {
            Command::Pn => 0x81,
            Command::Psc => 0x41,
            Command::Cld => 0xC1,
            Command::Test => 0x21,
            Command::FcOn => 0xA1,
            Command::FcOff => 0x61,
            Command::Msc => 0xE1,
            Command::Nsc => 0x11,
            Command::Rpn => 0x91,
            Command::Rls => 0x51,
            Command::Snc => 0xD1,
            Command::Unknown(octet) => (octet & !CR) | EA,
        };
        if is_command { response | CR } else { response }
    }
}

/// One control-channel message, borrowing its value from the frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    pub command: Command,
    /// The first type octet exactly as received (what an NSC response echoes).
    pub type_octet: u8,
    /// C/R of the type octet: a command (true) or a response (false).
    pub is_command: bool,
    pub value: &'a [u8],
}

impl<'a> Message<'a> {
    /// The DLCI and signals of an MSC message, if this is a well-formed one.
    pub fn msc(&self) -> Option<(u8, Signals)> {
        if self.command == Command::Msc {
            parse_msc(self.value)
        } else {
            None
        }
    }
}

/// Why control-channel bytes are not a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ControlError {
    /// The type or length field runs past the end.
    Truncated,
    /// The length says more value octets than the frame holds.
    ValueTooLong { len: usize, available: usize },
}

impl fmt::Display for ControlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ControlError::Truncated => write!(f, "control message truncated"),
            ControlError::ValueTooLong { len, available } => write!(
                f,
                "control message length {len} with {available} value bytes"
            ),
        }
    }
}

impl std::error::Error for ControlError {}

/// Reads an EA-extended field (bits 2..8 of each octet, least significant first, last octet has
/// EA set). Returns the value and the octets used; at most four octets are read.
fn read_ea(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut value = 0usize;
    for (i, &b) in bytes.iter().take(4).enumerate() {
        value |= usize::from(b >> 1) << (7 * i);
        if b & EA != 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// One message from the start of a DLCI 0 information field; returns it and the bytes used, so a
/// frame holding several messages can be walked.
pub fn parse(info: &[u8]) -> Result<(Message<'_>, usize), ControlError> {
    let &type_octet = info.first().ok_or(ControlError::Truncated)?;
    // An extended type (EA clear) names nothing 27.010 defines: keep the first octet, skip the rest.
    let (_, type_len) = read_ea(info).ok_or(ControlError::Truncated)?;
    let command = if type_len == 1 {
        Command::from_type_octet(type_octet)
    } else {
        Command::Unknown(type_octet)
    };
    let (len, len_len) = read_ea(&info[type_len..]).ok_or(ControlError::Truncated)?;
    let start = type_len + len_len;
    let available = info.len() - start;
    if len > available {
        return Err(ControlError::ValueTooLong { len, available });
    }
    let message = Message {
        command,
        type_octet,
        is_command: type_octet & CR != 0,
        value: &info[start..start + len],
    };
    Ok((message, start + len))
}

/// The messages of a DLCI 0 information field, up to the first malformed one.
pub fn messages(info: &[u8]) -> Vec<Message<'_>> {
    let mut out = Vec::new();
    let mut rest = info;
    while let Ok((message, used)) = parse(rest) {
        out.push(message);
        rest = &rest[used..];
    }
    out
}

/// Appends a message (type octet, EA length, value) to `out`.
pub fn encode_into(out: &mut Vec<u8>, command: Command, is_command: bool, value: &[u8]) {
    out.push(command.type_octet(is_command));
    let mut len = value.len();
    loop {
        let low = ((len & 0x7F) as u8) << 1;
        len >>= 7;
        if len == 0 {
            out.push(low | EA);
            break;
        }
        out.push(low);
    }
    out.extend_from_slice(value);
}

/// A message as bytes (the information field of a DLCI 0 UIH frame).
pub fn encode(command: Command, is_command: bool, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 3);
    encode_into(&mut out, command, is_command, value);
    out
}

/// The V.24 signals an MSC carries for one DLCI (27.010 §5.4.6.3.7). From the DTE, `rtc` is DTR
/// and `rtr` is RTS; from the modem, `rtc` is DSR, `rtr` is CTS, `ring` is RI and `dcd` is DCD.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Signals {
    /// Flow control: the sender cannot accept frames on this DLCI.
    pub fc: bool,
    /// Ready to communicate (DTR / DSR).
    pub rtc: bool,
    /// Ready to receive (RTS / CTS).
    pub rtr: bool,
    /// Incoming call indicator (RI).
    pub ring: bool,
    /// Data valid (DCD).
    pub dcd: bool,
    /// A break signal (the optional break octet with B1 set).
    pub break_signal: bool,
}

const SIG_FC: u8 = 0x02;
const SIG_RTC: u8 = 0x04;
const SIG_RTR: u8 = 0x08;
const SIG_IC: u8 = 0x40;
const SIG_DV: u8 = 0x80;
const BREAK_B1: u8 = 0x02;

impl Signals {
    /// The control-signal octet (EA set: no break octet follows).
    pub fn octet(&self) -> u8 {
        let mut octet = EA;
        for (on, bit) in [
            (self.fc, SIG_FC),
            (self.rtc, SIG_RTC),
            (self.rtr, SIG_RTR),
            (self.ring, SIG_IC),
            (self.dcd, SIG_DV),
        ] {
            if on {
                octet |= bit;
            }
        }
        octet
    }

    fn from_octets(signal: u8, brk: Option<u8>) -> Signals {
        Signals {
            fc: signal & SIG_FC != 0,
            rtc: signal & SIG_RTC != 0,
            rtr: signal & SIG_RTR != 0,
            ring: signal & SIG_IC != 0,
            dcd: signal & SIG_DV != 0,
            break_signal: brk.is_some_and(|b| b & BREAK_B1 != 0),
        }
    }
}

/// The value of an MSC: DLCI address octet (EA, bit 2 set, DLCI), signal octet, and a break octet
/// (EA | B1, no duration) when `signals.break_signal`.
pub fn msc_value(dlci: u8, signals: Signals) -> Vec<u8> {
    let address = ((dlci & 0x3F) << 2) | CR | EA;
    if signals.break_signal {
        vec![address, signals.octet() & !EA, EA | BREAK_B1]
    } else {
        vec![address, signals.octet()]
    }
}

/// DLCI and signals of an MSC value; `None` when the address or signal octet is missing or the
/// address is extended.
pub fn parse_msc(value: &[u8]) -> Option<(u8, Signals)> {
    let (&address, rest) = value.split_first()?;
    if address & EA == 0 {
        return None;
    }
    let (&signal, rest) = rest.split_first()?;
    let brk = if signal & EA == 0 {
        rest.first().copied()
    } else {
        None
    };
    Some((address >> 2, Signals::from_octets(signal, brk)))
}

/// DLC parameters of a PN message (27.010 §5.4.6.3.1), eight value octets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    pub dlci: u8,
    /// I1..I4: 0 = UIH frames, 1 = UI frames, 2 = I frames.
    pub frame_type: u8,
    /// CL1..CL4: 0 = convergence layer type 1 (plain data) … 3 = type 4.
    pub convergence_layer: u8,
    pub priority: u8,
    /// T1, acknowledgement timer in hundredths of a second.
    pub t1: u8,
    /// N1, the largest information field.
    pub n1: u16,
    /// N2, retransmissions.
    pub n2: u8,
    /// k, window size (error-recovery mode only).
    pub k: u8,
}

impl Params {
    /// Parameters from a PN value; `None` when shorter than eight octets.
    pub fn parse(value: &[u8]) -> Option<Params> {
        let [d, icl, p, t1, n1_lo, n1_hi, n2, k, ..] = *value else {
            return None;
        };
        Some(Params {
            dlci: d & 0x3F,
            frame_type: icl & 0x0F,
            convergence_layer: icl >> 4,
            priority: p & 0x3F,
            t1,
            n1: u16::from_le_bytes([n1_lo, n1_hi]),
            n2,
            k: k & 0x07,
        })
    }

    /// The eight value octets.
    pub fn encode(&self) -> [u8; 8] {
        let [n1_lo, n1_hi] = self.n1.to_le_bytes();
        [
            self.dlci & 0x3F,
            (self.frame_type & 0x0F) | (self.convergence_layer << 4),
            self.priority & 0x3F,
            self.t1,
            n1_lo,
            n1_hi,
            self.n2,
            self.k & 0x07,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_octets_follow_the_standard() {
        assert_eq!(Command::Msc.type_octet(true), 0xE3);
        assert_eq!(Command::Msc.type_octet(false), 0xE1);
        assert_eq!(Command::Cld.type_octet(true), 0xC3);
        assert_eq!(Command::FcOn.type_octet(true), 0xA3);
        assert_eq!(Command::FcOff.type_octet(false), 0x61);
        assert_eq!(Command::Test.type_octet(true), 0x23);
        assert_eq!(Command::Pn.type_octet(true), 0x83);
        assert_eq!(Command::Nsc.type_octet(false), 0x11);
        for octet in 0..=255u8 {
            let command = Command::from_type_octet(octet);
            if !matches!(command, Command::Unknown(_)) {
                assert_eq!(command.type_octet(octet & CR != 0), octet | EA);
            }
        }
    }

    #[test]
    fn parses_and_encodes_messages() {
        let wire = encode(Command::Test, true, b"ping");
        assert_eq!(wire, [0x23, 0x09, b'p', b'i', b'n', b'g']);
        let (m, used) = parse(&wire).unwrap();
        assert_eq!(used, wire.len());
        assert_eq!(m.command, Command::Test);
        assert!(m.is_command);
        assert_eq!(m.value, b"ping");
        let long = vec![7u8; 200];
        let wire = encode(Command::Test, false, &long);
        assert_eq!(
            &wire[..3],
            &[0x21, (200 & 0x7F) << 1, ((200 >> 7) << 1) | 1]
        );
        assert_eq!(parse(&wire).unwrap().0.value, &long[..]);
    }

    #[test]
    fn rejects_truncated_messages() {
        assert_eq!(parse(&[]), Err(ControlError::Truncated));
        assert_eq!(parse(&[0xE3]), Err(ControlError::Truncated));
        assert_eq!(parse(&[0xE3, 0x04]), Err(ControlError::Truncated));
        assert_eq!(
            parse(&[0xE3, 0x05, 0x07]),
            Err(ControlError::ValueTooLong {
                len: 2,
                available: 1
            })
        );
    }

    #[test]
    fn msc_values_both_ways() {
        let s = Signals {
            rtc: true,
            rtr: true,
            dcd: true,
            ..Signals::default()
        };
        assert_eq!(msc_value(1, s), [0x07, 0x8D]);
        assert_eq!(parse_msc(&[0x07, 0x8D]), Some((1, s)));
        let b = Signals {
            break_signal: true,
            ..s
        };
        assert_eq!(msc_value(2, b), [0x0B, 0x8C, 0x03]);
        assert_eq!(parse_msc(&[0x0B, 0x8C, 0x03]), Some((2, b)));
        assert_eq!(parse_msc(&[0x07]), None);
        assert_eq!(parse_msc(&[0x06, 0x8D]), None);
    }

    #[test]
    fn pn_params_round_trip() {
        let p = Params {
            dlci: 2,
            frame_type: 0,
            convergence_layer: 0,
            priority: 7,
            t1: 10,
            n1: 300,
            n2: 3,
            k: 2,
        };
        let v = p.encode();
        assert_eq!(v, [2, 0, 7, 10, 0x2C, 0x01, 3, 2]);
        assert_eq!(Params::parse(&v), Some(p));
        assert_eq!(Params::parse(&v[..7]), None);
    }
}
