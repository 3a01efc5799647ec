//! 27.010 basic-option wire format: flag, address, control, length, information and FCS, both ways.
//! `decode` reads one frame; `Deframer` cuts a byte stream into frames and resyncs on the next flag.

use std::fmt;

/// The basic option's opening and closing flag (27.010 §5.2.6).
pub const FLAG: u8 = 0xF9;
/// The P/F (poll/final) bit of the control field (27.010 §5.2.1.3).
pub const PF: u8 = 0x10;
/// The longest information field a two-octet length can say (15 bits, 27.010 §5.2.1.5).
pub const MAX_INFO: usize = 0x7FFF;

const EA: u8 = 0x01;
const CR: u8 = 0x02;

/// Frame types of 27.010 §5.2.1.3 (control field without the P/F bit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Set Asynchronous Balanced Mode: open a DLCI (0x2F).
    Sabm,
    /// Unnumbered Acknowledgement (0x63).
    Ua,
    /// Disconnected Mode: the DLCI is not open (0x0F).
    Dm,
    /// Disconnect: close a DLCI (0x43).
    Disc,
    /// Unnumbered Information with Header check only: data, FCS over the header (0xEF).
    Uih,
    /// Unnumbered Information: data, FCS over the whole frame (0x03).
    Ui,
    /// Any other control value (P/F bit cleared), e.g. the error-recovery mode's I/RR/RNR/REJ.
    Other(u8),
}

impl Kind {
    /// The frame type of a control octet; the P/F bit is ignored.
    pub fn from_control(control: u8) -> Kind {
        match control & !PF {
            0x2F => Kind::Sabm,
            0x63 => Kind::Ua,
            0x0F => Kind::Dm,
            0x43 => Kind::Disc,
            0xEF => Kind::Uih,
            0x03 => Kind::Ui,
            other => Kind::Other(other),
        }
    }

    /// The control octet with the P/F bit clear.
    pub fn control(self) -> u8 {
        match self {
            Kind::Sabm => 0x2F,
            Kind::Ua => 0x63,
            Kind::Dm => 0x0F,
            Kind::Disc => 0x43,
            Kind::Uih => 0xEF,
            Kind::Ui => 0x03,
            Kind::Other(control) => control & !PF,
        }
    }

    /// UIH frames leave the information field out of the FCS; every other type includes it
    /// (27.010 §5.2.1.6).
    fn fcs_covers_info(self) -> bool {
        self != Kind::Uih
    }
}

/// One decoded frame. `cr` is the address field's C/R bit as sent; what it means (command or
/// response) depends on which side started the multiplexer (27.010 §5.2.1.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub dlci: u8,
    pub cr: bool,
    pub kind: Kind,
    pub pf: bool,
    pub info: Vec<u8>,
}

impl Frame {
    /// The frame on the wire, opening and closing flag included.
    pub fn encode(&self) -> Vec<u8> {
        encode_frame(self.dlci, self.cr, self.kind, self.pf, &self.info)
    }
}

/// The CRC-8 of 27.010 Annex B: polynomial x^8 + x^2 + x + 1, processed LSB first (reflected,
/// 0xE0), register preset to 0xFF. Built at compile time.
const CRC_TABLE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xE0
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// What the receiver's CRC register holds after the covered fields and a correct FCS (Annex B).
const GOOD_FCS: u8 = 0xCF;

fn crc(mut register: u8, bytes: &[u8]) -> u8 {
    for &b in bytes {
        register = CRC_TABLE[usize::from(register ^ b)];
    }
    register
}

/// The FCS octet for the covered fields: the ones' complement of the CRC register.
pub fn fcs(covered: &[u8]) -> u8 {
    0xFF - crc(0xFF, covered)
}

/// A frame on the wire: `F9 address control length [info] FCS F9`. The address carries `dlci`
/// (low six bits used) with EA set; the length takes two octets above 127 bytes of info.
///
/// # Panics
/// If `info` is longer than [`MAX_INFO`], which no length field can say: callers split data first.
pub fn encode_frame(dlci: u8, cr: bool, kind: Kind, pf: bool, info: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(info.len() + 7);
    encode_frame_into(&mut out, dlci, cr, kind, pf, info);
    out
}

/// [`encode_frame`] appending to `out`, for callers that write many frames into one buffer.
pub fn encode_frame_into(out: &mut Vec<u8>, dlci: u8, cr: bool, kind: Kind, pf: bool, info: &[u8]) {
    assert!(
        info.len() <= MAX_INFO,
        "27.010 info field of {} bytes",
        info.len()
    );
    out.push(FLAG);
    let start = out.len();
    out.push(((dlci & 0x3F) << 2) | if cr { CR } else { 0 } | EA);
    out.push(kind.control() | if pf { PF } else { 0 });
    let len = info.len();
    if len <= 0x7F {
        out.push(((len as u8) << 1) | EA);
    } else {
        out.push(((len & 0x7F) as u8) << 1);
        out.push((len >> 7) as u8);
    }
    let header_end = out.len();
    out.extend_from_slice(info);
    let covered = if kind.fcs_covers_info() {
        &out[start..]
    } else {
        &out[start..header_end]
    };
    let check = fcs(covered);
    out.push(check);
    out.push(FLAG);
}

/// Why bytes starting at a flag are not a frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The bytes end before the frame does; more may come.
    Incomplete,
    /// The first byte is not the flag.
    NotAFlag,
    /// The address octet's EA bit is clear (the basic option has one-octet addresses).
    BadAddress(u8),
    /// The length field says more than the receiver accepts (N1).
    TooLong { len: usize, max: usize },
    /// The byte after the FCS is not the closing flag.
    NoClosingFlag,
    /// The FCS does not check.
    BadFcs { dlci: u8, got: u8, expected: u8 },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Incomplete => write!(f, "incomplete frame"),
            DecodeError::NotAFlag => write!(f, "frame does not start with the F9 flag"),
            DecodeError::BadAddress(a) => {
                write!(
                    f,
                    "address octet {a:#04X} without EA bit (not a basic-option frame)"
                )
            }
            DecodeError::TooLong { len, max } => {
                write!(f, "length {len} above N1 {max}")
            }
            DecodeError::NoClosingFlag => write!(f, "no closing flag where the length says"),
            DecodeError::BadFcs {
                dlci,
                got,
                expected,
            } => write!(
                f,
                "bad FCS on DLCI {dlci}: {got:#04X}, expected {expected:#04X}"
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

/// One frame from the start of `bytes`, which must begin with its opening flag. Returns the frame
/// and the bytes it used **without** its closing flag: in the basic option that flag may also open
/// the next frame. Information longer than `max_info` is refused as soon as the length is read.
pub fn decode(bytes: &[u8], max_info: usize) -> Result<(Frame, usize), DecodeError> {
    let Some((&first, rest)) = bytes.split_first() else {
        return Err(DecodeError::Incomplete);
    };
    if first != FLAG {
        return Err(DecodeError::NotAFlag);
    }
    // Refuse a non-address at once: garbage after a closing flag must not wait for more bytes.
    if let Some(&address) = rest.first()
        && address & EA == 0
    {
        return Err(DecodeError::BadAddress(address));
    }
    let [address, control, len0, ..] = *rest else {
        return Err(DecodeError::Incomplete);
    };
    let (len, header_end) = if len0 & EA != 0 {
        (usize::from(len0 >> 1), 4)
    } else {
        let Some(&len1) = bytes.get(4) else {
            return Err(DecodeError::Incomplete);
        };
        (usize::from(len0 >> 1) | (usize::from(len1) << 7), 5)
    };
    if len > max_info {
        return Err(DecodeError::TooLong { len, max: max_info });
    }
    let fcs_at = header_end + len;
    let (Some(&got), Some(&closing)) = (bytes.get(fcs_at), bytes.get(fcs_at + 1)) else {
        return Err(DecodeError::Incomplete);
    };
    if closing != FLAG {
        return Err(DecodeError::NoClosingFlag);
    }
    let kind = Kind::from_control(control);
    let covered = if kind.fcs_covers_info() {
        &bytes[1..fcs_at]
    } else {
        &bytes[1..header_end]
    };
    let dlci = address >> 2;
    if crc(crc(0xFF, covered), &[got]) != GOOD_FCS {
        return Err(DecodeError::BadFcs {
            dlci,
            got,
            expected: fcs(covered),
        });
    }
    let frame = Frame {
        dlci,
        cr: address & CR != 0,
        kind,
        pf: control & PF != 0,
        info: bytes[header_end..fcs_at].to_vec(),
    };
    Ok((frame, fcs_at + 1))
}

/// What a [`Deframer`] found next in the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Deframed {
    /// A frame whose FCS checked.
    Frame(Frame),
    /// This many bytes outside any frame (not flags) were skipped, or a flag was followed by an
    /// octet that cannot be an address.
    Skipped(usize),
    /// Bytes starting at a flag were not a frame; they were skipped up to the next flag. (A bad
    /// FCS on a UIH frame means a damaged header, so its length is not trusted either.)
    Invalid(DecodeError),
}

/// Cuts a byte stream into frames. Feed with [`push`](Deframer::push) in chunks of any size, then
/// iterate until `None`: once drained it holds less than one frame (at most `max_info + 6` bytes),
/// whatever was pushed. Runs of flags collapse; bytes between frames are skipped and counted.
/// A frame's closing flag may open the next one, so stray bytes after a frame that happen to look
/// like a header are taken for one until its length is in or its closing flag is missing; then
/// the deframer resyncs on the flag after it, and no later frame is lost.
#[derive(Clone, Debug)]
pub struct Deframer {
    buf: Vec<u8>,
    pos: usize,
    max_info: usize,
}

impl Deframer {
    /// A deframer accepting information fields up to `max_info` bytes (N1; capped at [`MAX_INFO`]).
    pub fn new(max_info: usize) -> Self {
        Deframer {
            buf: Vec::new(),
            pos: 0,
            max_info: max_info.min(MAX_INFO),
        }
    }

    /// Appends bytes from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes held that are not yet a whole frame.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Takes the bytes held (a partial frame, or whatever was not iterated yet) and empties the
    /// deframer.
    pub fn take_buffered(&mut self) -> Vec<u8> {
        let rest = self.buf.split_off(self.pos);
        self.buf.clear();
        self.pos = 0;
        rest
    }

    /// Pushes `bytes` and returns the whole frames now complete, ignoring skipped and invalid
    /// bytes: the short form for a test client reading the modem's side of the link.
    pub fn frames(&mut self, bytes: &[u8]) -> Vec<Frame> {
        self.push(bytes);
        self.filter_map(|item| match item {
            Deframed::Frame(frame) => Some(frame),
            Deframed::Skipped(_) | Deframed::Invalid(_) => None,
        })
        .collect()
    }

    /// Moves past the opening flag at `pos` and up to the next flag.
    fn resync(&mut self) {
        let after = self.pos + 1;
        let next = self.buf[after..]
            .iter()
            .position(|&b| b == FLAG)
            .map_or(self.buf.len(), |i| after + i);
        self.pos = next;
    }
}

impl Iterator for Deframer {
    type Item = Deframed;

    fn next(&mut self) -> Option<Deframed> {
        loop {
            let rest = &self.buf[self.pos..];
            let &first = rest.first()?;
            if first != FLAG {
                let skip = rest.iter().position(|&b| b == FLAG).unwrap_or(rest.len());
                self.pos += skip;
                return Some(Deframed::Skipped(skip));
            }
            // A run of flags (a closing flag, then an opening one, or idle fill): keep the last.
            let run = rest.iter().position(|&b| b != FLAG).unwrap_or(rest.len());
            if run > 1 {
                self.pos += run - 1;
                continue;
            }
            return match decode(rest, self.max_info) {
                Ok((frame, used)) => {
                    self.pos += used;
                    Some(Deframed::Frame(frame))
                }
                Err(DecodeError::Incomplete) => None,
                Err(DecodeError::BadAddress(_)) => {
                    // A flag, then no frame: most likely a closing flag followed by stray bytes.
                    let flag = self.pos;
                    self.resync();
                    Some(Deframed::Skipped(self.pos - flag - 1))
                }
                Err(error) => {
                    self.resync();
                    Some(Deframed::Invalid(error))
                }
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fcs_matches_the_standard_check_value() {
        // SABM on DLCI 0 (27.010 examples and common captures): F9 03 3F 01 1C F9.
        assert_eq!(fcs(&[0x03, 0x3F, 0x01]), 0x1C);
        // Receiver side: register over fields + FCS ends at 0xCF.
        assert_eq!(crc(crc(0xFF, &[0x03, 0x3F, 0x01]), &[0x1C]), GOOD_FCS);
        // The reflected table starts as the standard's does.
        assert_eq!(
            &CRC_TABLE[..8],
            &[0x00, 0x91, 0xE3, 0x72, 0x07, 0x96, 0xE4, 0x75]
        );
    }

    #[test]
    fn encodes_known_frames() {
        assert_eq!(
            encode_frame(0, true, Kind::Sabm, true, &[]),
            [0xF9, 0x03, 0x3F, 0x01, 0x1C, 0xF9]
        );
        assert_eq!(
            encode_frame(0, true, Kind::Ua, true, &[]),
            [0xF9, 0x03, 0x73, 0x01, 0xD7, 0xF9]
        );
        assert_eq!(
            encode_frame(1, true, Kind::Disc, true, &[]),
            [0xF9, 0x07, 0x53, 0x01, 0x3F, 0xF9]
        );
        // UIH: the FCS covers the header only.
        assert_eq!(
            encode_frame(1, true, Kind::Uih, false, b"AT"),
            [0xF9, 0x07, 0xEF, 0x05, 0x41, 0x54, 0x30, 0xF9]
        );
        assert_eq!(
            encode_frame(1, true, Kind::Uih, false, b"\r\n"),
            [0xF9, 0x07, 0xEF, 0x05, 0x0D, 0x0A, 0x30, 0xF9]
        );
    }

    #[test]
    fn ui_fcs_covers_the_information() {
        let a = encode_frame(1, true, Kind::Ui, false, b"AT");
        let b = encode_frame(1, true, Kind::Ui, false, b"AU");
        assert_ne!(a[a.len() - 2], b[b.len() - 2]);
        assert_eq!(decode(&a, 128).unwrap().0.info, b"AT");
    }

    #[test]
    fn two_octet_length_round_trips() {
        let info: Vec<u8> = (0..300u16).map(|i| i as u8).collect();
        let wire = encode_frame(2, false, Kind::Uih, false, &info);
        assert_eq!(&wire[..5], &[0xF9, 0x09, 0xEF, 0x58, 0x02]); // 300 = 44 + 2 << 7
        let (frame, used) = decode(&wire, 1000).unwrap();
        assert_eq!(used, wire.len() - 1);
        assert_eq!(
            frame,
            Frame {
                dlci: 2,
                cr: false,
                kind: Kind::Uih,
                pf: false,
                info
            }
        );
    }

    #[test]
    fn decode_reports_each_defect() {
        let good = encode_frame(1, true, Kind::Uih, false, b"hello");
        for cut in 0..good.len() {
            assert_eq!(
                decode(&good[..cut], 128),
                Err(DecodeError::Incomplete),
                "{cut}"
            );
        }
        assert_eq!(decode(&good[1..], 128), Err(DecodeError::NotAFlag));
        assert_eq!(
            decode(&good, 4),
            Err(DecodeError::TooLong { len: 5, max: 4 })
        );
        let mut bad_fcs = good.clone();
        bad_fcs[good.len() - 2] ^= 1;
        assert!(matches!(
            decode(&bad_fcs, 128),
            Err(DecodeError::BadFcs { dlci: 1, .. })
        ));
        let mut no_close = good.clone();
        *no_close.last_mut().unwrap() = 0x00;
        assert_eq!(decode(&no_close, 128), Err(DecodeError::NoClosingFlag));
        assert_eq!(
            decode(&[0xF9, 0x06, 0xEF, 0x01, 0x00, 0xF9], 128),
            Err(DecodeError::BadAddress(0x06))
        );
    }

    #[test]
    fn deframer_skips_garbage_and_flag_runs() {
        let a = encode_frame(0, true, Kind::Sabm, true, &[]);
        let b = encode_frame(1, true, Kind::Uih, false, b"AT\r");
        let mut stream = b"AT\r".to_vec();
        stream.extend_from_slice(&[FLAG, FLAG, FLAG]);
        stream.extend_from_slice(&a);
        stream.extend_from_slice(&b[1..]); // shares a's closing flag
        stream.extend_from_slice(b"xx");
        let mut d = Deframer::new(128);
        d.push(&stream);
        let got: Vec<Deframed> = d.by_ref().collect();
        assert_eq!(got.len(), 4, "{got:?}");
        assert_eq!(got[0], Deframed::Skipped(3));
        assert!(matches!(&got[1], Deframed::Frame(f) if f.kind == Kind::Sabm));
        assert!(matches!(&got[2], Deframed::Frame(f) if f.info == b"AT\r"));
        assert_eq!(got[3], Deframed::Skipped(2));
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn deframer_reassembles_one_byte_at_a_time() {
        let mut stream = Vec::new();
        for i in 0..5u8 {
            stream.extend(encode_frame(i % 4, true, Kind::Uih, false, &[i; 200]));
        }
        let mut d = Deframer::new(300);
        let mut frames = Vec::new();
        for &byte in &stream {
            frames.extend(d.frames(&[byte]));
            assert!(d.buffered() <= 300 + 6);
        }
        assert_eq!(frames.len(), 5);
        assert!(
            frames
                .iter()
                .enumerate()
                .all(|(i, f)| f.info == [i as u8; 200])
        );
    }

    #[test]
    fn deframer_resyncs_after_bad_frames() {
        let good = encode_frame(1, true, Kind::Uih, false, b"ok");
        let mut bad_fcs = encode_frame(1, true, Kind::Uih, false, b"xyz");
        let fcs_at = bad_fcs.len() - 2;
        bad_fcs[fcs_at] ^= 0xFF;
        let mut truncated = encode_frame(2, true, Kind::Uih, false, b"truncated");
        truncated.truncate(6);
        let too_long = encode_frame(1, true, Kind::Uih, false, &[0x55; 200]);
        let mut stream = Vec::new();
        for part in [&bad_fcs, &good, &truncated, &good, &too_long, &good] {
            stream.extend_from_slice(part);
        }
        let mut d = Deframer::new(128);
        d.push(&stream);
        let items: Vec<Deframed> = d.by_ref().collect();
        let ok = |i: &Deframed| matches!(i, Deframed::Frame(f) if f.info == b"ok");
        assert!(
            matches!(items[0], Deframed::Invalid(DecodeError::BadFcs { .. })),
            "{items:?}"
        );
        assert!(ok(&items[1]), "{items:?}");
        assert!(
            items
                .iter()
                .any(|i| matches!(i, Deframed::Invalid(DecodeError::TooLong { .. })))
        );
        assert_eq!(items.iter().filter(|i| ok(i)).count(), 3, "{items:?}");
        // Only the last closing flag is held: it may open the next frame.
        assert_eq!(d.buffered(), 1);
    }

    #[test]
    fn deframer_recovers_after_a_damaged_frame_with_a_flag_inside() {
        let mut bad = encode_frame(1, true, Kind::Ui, false, &[1, FLAG, 2, 3]);
        let fcs_at = bad.len() - 2;
        bad[fcs_at] ^= 0x01;
        let good = encode_frame(1, true, Kind::Uih, false, b"ok");
        let mut d = Deframer::new(128);
        d.push(&bad);
        for _ in 0..3 {
            d.push(&good);
        }
        let frames: Vec<Frame> = d
            .by_ref()
            .filter_map(|i| match i {
                Deframed::Frame(f) => Some(f),
                _ => None,
            })
            .collect();
        assert!(
            frames.len() >= 2 && frames.iter().all(|f| f.info == b"ok"),
            "{frames:?}"
        );
    }

    #[test]
    fn take_buffered_returns_the_partial_frame() {
        let good = encode_frame(1, true, Kind::Uih, false, b"ok");
        let mut d = Deframer::new(128);
        assert_eq!(d.frames(&good[..4]), vec![]);
        assert_eq!(d.take_buffered(), &good[..4]);
        assert_eq!(d.buffered(), 0);
    }
}
