//! TP-DCS and TP-UD: alphabets, classes, user data headers (concatenation, ports) and the
//! splitting of long texts into concatenated parts.

use super::PduError;
use super::gsm7;

/// Septets of 7-bit user data one SMS carries (TP-UDL maximum for the default alphabet).
pub const MAX_SEPTETS: usize = 160;
/// Octets of 8-bit or UCS2 user data one SMS carries.
pub const MAX_OCTETS: usize = 140;

/// IEI of the 8-bit-reference concatenation element.
pub const IEI_CONCAT_8: u8 = 0x00;
/// IEI of the 8-bit application port element.
pub const IEI_PORTS_8: u8 = 0x04;
/// IEI of the 16-bit application port element.
pub const IEI_PORTS_16: u8 = 0x05;
/// IEI of the 16-bit-reference concatenation element.
pub const IEI_CONCAT_16: u8 = 0x08;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alphabet {
    Gsm7,
    Eight,
    Ucs2,
}

/// TP-DCS as an octet with accessors (23.038 §4: general coding groups 00xx/01xx, message
/// waiting 1100/1101/1110, data coding/message class 1111; 1000..1011 are reserved).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dcs(pub u8);

impl Dcs {
    /// The alphabet the DCS selects. Reserved groups and the reserved alphabet 11 of the general
    /// groups are [`PduError::ReservedDcs`]; compressed text (bit 5 in 00xx/01xx) is
    /// [`PduError::Compressed`].
    pub fn alphabet(self) -> Result<Alphabet, PduError> {
        let b = self.0;
        match b >> 4 {
            0x0..=0x7 => {
                if b & 0x20 != 0 {
                    return Err(PduError::Compressed);
                }
                match (b >> 2) & 0x03 {
                    0 => Ok(Alphabet::Gsm7),
                    1 => Ok(Alphabet::Eight),
                    2 => Ok(Alphabet::Ucs2),
                    _ => Err(PduError::ReservedDcs),
                }
            }
            0x8..=0xB => Err(PduError::ReservedDcs),
            0xC | 0xD => Ok(Alphabet::Gsm7),
            0xE => Ok(Alphabet::Ucs2),
            _ if b & 0x04 != 0 => Ok(Alphabet::Eight),
            _ => Ok(Alphabet::Gsm7),
        }
    }

    /// The message class 0..=3 when the DCS carries one (general groups with bit 4 set, or
    /// group 1111).
    pub fn class(self) -> Option<u8> {
        let b = self.0;
        match b >> 4 {
            0x0..=0x7 if b & 0x10 != 0 => Some(b & 0x03),
            0xF => Some(b & 0x03),
            _ => None,
        }
    }

    /// The plain DCS of an alphabet, no class: 0x00 / 0x04 / 0x08.
    pub fn for_alphabet(alphabet: Alphabet) -> Dcs {
        match alphabet {
            Alphabet::Gsm7 => Dcs(0x00),
            Alphabet::Eight => Dcs(0x04),
            Alphabet::Ucs2 => Dcs(0x08),
        }
    }

    /// The DCS of an alphabet with a message class (general group, bit 4 set): 0x10 | …
    pub fn with_class(alphabet: Alphabet, class: u8) -> Dcs {
        Dcs(0x10 | Dcs::for_alphabet(alphabet).0 | (class & 0x03))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InformationElement {
    pub id: u8,
    pub data: Vec<u8>,
}

/// A concatenation element: IEI 00 (8-bit reference) or 08 (16-bit, `wide_reference`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Concat {
    pub reference: u16,
    pub total: u8,
    pub sequence: u8,
    pub wide_reference: bool,
}

/// TP-UD split into header and body. For Gsm7, `body` holds SEPTET VALUES (unpacked, one per
/// u8); for Eight/Ucs2 it holds the octets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserData {
    pub header: Vec<InformationElement>,
    pub body: Vec<u8>,
}

/// Octets of a header of `header_octets` (UDHL included) in septets, and the fill bits that
/// follow it so the 7-bit body starts on a septet boundary.
fn header_septets(header_octets: usize) -> (usize, u8) {
    let septets = (header_octets * 8).div_ceil(7);
    (septets, (septets * 7 - header_octets * 8) as u8)
}

/// The octets TP-UD occupies for a TP-UDL in an alphabet.
pub fn ud_octets(alphabet: Alphabet, udl: u8) -> usize {
    match alphabet {
        Alphabet::Gsm7 => (usize::from(udl) * 7).div_ceil(8),
        Alphabet::Eight | Alphabet::Ucs2 => usize::from(udl),
    }
}

/// Parses the IEs of a header (the octets after UDHL).
fn parse_header(mut octets: &[u8]) -> Result<Vec<InformationElement>, PduError> {
    let mut out = Vec::new();
    while let [id, len, rest @ ..] = octets {
        let len = usize::from(*len);
        let data = rest.get(..len).ok_or(PduError::HeaderLength)?;
        out.push(InformationElement {
            id: *id,
            data: data.to_vec(),
        });
        octets = &rest[len..];
    }
    if octets.is_empty() {
        Ok(out)
    } else {
        Err(PduError::HeaderLength)
    }
}

impl UserData {
    pub fn has_header(&self) -> bool {
        !self.header.is_empty()
    }

    /// The first concatenation element (IEI 00 with 3 octets or 08 with 4).
    pub fn concat(&self) -> Option<Concat> {
        self.header
            .iter()
            .find_map(|ie| match (ie.id, ie.data.as_slice()) {
                (IEI_CONCAT_8, &[reference, total, sequence]) => Some(Concat {
                    reference: u16::from(reference),
                    total,
                    sequence,
                    wide_reference: false,
                }),
                (IEI_CONCAT_16, &[hi, lo, total, sequence]) => Some(Concat {
                    reference: u16::from_be_bytes([hi, lo]),
                    total,
                    sequence,
                    wide_reference: true,
                }),
                _ => None,
            })
    }

    /// The application ports (destination, originator): IEI 05 (16-bit) or 04 (8-bit).
    pub fn ports(&self) -> Option<(u16, u16)> {
        self.header
            .iter()
            .find_map(|ie| match (ie.id, ie.data.as_slice()) {
                (IEI_PORTS_16, &[d1, d2, o1, o2]) => {
                    Some((u16::from_be_bytes([d1, d2]), u16::from_be_bytes([o1, o2])))
                }
                (IEI_PORTS_8, &[d, o]) => Some((u16::from(d), u16::from(o))),
                _ => None,
            })
    }

    /// Replaces any concatenation element with `c` (IEI 08 when `wide_reference`, else IEI 00
    /// with the low octet of the reference), placed first in the header.
    pub fn with_concat(mut self, c: Concat) -> Self {
        self.header
            .retain(|ie| ie.id != IEI_CONCAT_8 && ie.id != IEI_CONCAT_16);
        let ie = if c.wide_reference {
            let [hi, lo] = c.reference.to_be_bytes();
            InformationElement {
                id: IEI_CONCAT_16,
                data: vec![hi, lo, c.total, c.sequence],
            }
        } else {
            InformationElement {
                id: IEI_CONCAT_8,
                data: vec![c.reference as u8, c.total, c.sequence],
            }
        };
        self.header.insert(0, ie);
        self
    }

    /// Replaces any port element with a 16-bit one (IEI 05), appended to the header.
    pub fn with_ports(mut self, dest: u16, orig: u16) -> Self {
        self.header
            .retain(|ie| ie.id != IEI_PORTS_8 && ie.id != IEI_PORTS_16);
        let [d1, d2] = dest.to_be_bytes();
        let [o1, o2] = orig.to_be_bytes();
        self.header.push(InformationElement {
            id: IEI_PORTS_16,
            data: vec![d1, d2, o1, o2],
        });
        self
    }

    /// Decodes TP-UD given UDHI, the DCS alphabet and TP-UDL. `ud` must be exactly the octets
    /// UDL implies ([`ud_octets`]): fewer, or UDL over 160 septets / 140 octets, is
    /// [`PduError::UserDataLength`]; more is [`PduError::TrailingBytes`]. A UDHL running past
    /// the user data, IEs running past the header, or UDHI with an empty header (UDHL 0, which
    /// could not be re-encoded as such) are [`PduError::HeaderLength`].
    pub fn decode(
        udhi: bool,
        alphabet: Alphabet,
        udl: u8,
        ud: &[u8],
    ) -> Result<UserData, PduError> {
        let limit = match alphabet {
            Alphabet::Gsm7 => MAX_SEPTETS,
            Alphabet::Eight | Alphabet::Ucs2 => MAX_OCTETS,
        };
        if usize::from(udl) > limit {
            return Err(PduError::UserDataLength);
        }
        let needed = ud_octets(alphabet, udl);
        if ud.len() < needed {
            return Err(PduError::UserDataLength);
        }
        if ud.len() > needed {
            return Err(PduError::TrailingBytes);
        }
        let (header, header_octets) = if udhi {
            let udhl = usize::from(*ud.first().ok_or(PduError::HeaderLength)?);
            if udhl == 0 {
                return Err(PduError::HeaderLength);
            }
            let ies = ud.get(1..1 + udhl).ok_or(PduError::HeaderLength)?;
            (parse_header(ies)?, 1 + udhl)
        } else {
            (Vec::new(), 0)
        };
        let body = match alphabet {
            Alphabet::Gsm7 => {
                let (septets, fill) = header_septets(header_octets);
                let count = usize::from(udl)
                    .checked_sub(septets)
                    .ok_or(PduError::HeaderLength)?;
                let rest = ud.get(header_octets..).unwrap_or_default();
                let body = gsm7::unpack(rest, count, fill);
                if body.len() != count {
                    return Err(PduError::UserDataLength);
                }
                body
            }
            Alphabet::Eight | Alphabet::Ucs2 => ud
                .get(header_octets..)
                .ok_or(PduError::HeaderLength)?
                .to_vec(),
        };
        Ok(UserData { header, body })
    }

    /// Returns (TP-UDL, TP-UD octets) with the header, fill bits and packing.
    /// [`PduError::UserDataLength`] if over 160 septets / 140 octets (an IE over 255 octets
    /// cannot fit either). Gsm7 septet values above 0x7F are masked to 7 bits.
    pub fn encode(&self, alphabet: Alphabet) -> Result<(u8, Vec<u8>), PduError> {
        let mut octets = Vec::with_capacity(MAX_OCTETS);
        if self.has_header() {
            octets.push(0);
            for ie in &self.header {
                let len = u8::try_from(ie.data.len()).map_err(|_| PduError::UserDataLength)?;
                octets.push(ie.id);
                octets.push(len);
                octets.extend_from_slice(&ie.data);
            }
            octets[0] = u8::try_from(octets.len() - 1).map_err(|_| PduError::UserDataLength)?;
        }
        let udl = match alphabet {
            Alphabet::Gsm7 => {
                let (septets, fill) = if octets.is_empty() {
                    (0, 0)
                } else {
                    header_septets(octets.len())
                };
                let udl = septets + self.body.len();
                if udl > MAX_SEPTETS {
                    return Err(PduError::UserDataLength);
                }
                octets.extend(gsm7::pack(&self.body, fill));
                udl
            }
            Alphabet::Eight | Alphabet::Ucs2 => {
                octets.extend_from_slice(&self.body);
                octets.len()
            }
        };
        if octets.len() > MAX_OCTETS {
            return Err(PduError::UserDataLength);
        }
        let udl = u8::try_from(udl).map_err(|_| PduError::UserDataLength)?;
        Ok((udl, octets))
    }

    /// The body as text: Gsm7 via [`gsm7::decode`], Ucs2 as UTF-16BE (lone surrogates become
    /// U+FFFD, an odd trailing octet is ignored); Eight is not text (`None`).
    pub fn text(&self, alphabet: Alphabet) -> Option<String> {
        match alphabet {
            Alphabet::Gsm7 => Some(gsm7::decode(&self.body)),
            Alphabet::Ucs2 => Some(utf16be_to_string(&self.body)),
            Alphabet::Eight => None,
        }
    }

    /// A single body from text in the alphabet (Gsm7: septets; Ucs2: UTF-16BE; Eight: the
    /// text's UTF-8 bytes), with no header and no length check. `Err` names the first char
    /// Gsm7 cannot carry.
    pub fn from_text(text: &str, alphabet: Alphabet) -> Result<UserData, char> {
        let body = match alphabet {
            Alphabet::Gsm7 => gsm7::encode(text)?,
            Alphabet::Ucs2 => text.encode_utf16().flat_map(u16::to_be_bytes).collect(),
            Alphabet::Eight => text.as_bytes().to_vec(),
        };
        Ok(UserData {
            header: Vec::new(),
            body,
        })
    }
}

/// UTF-16BE octets to text; lone surrogates become U+FFFD, an odd trailing octet is ignored.
pub fn utf16be_to_string(octets: &[u8]) -> String {
    char::decode_utf16(
        octets
            .chunks_exact(2)
            .map(|pair| u16::from_be_bytes([pair[0], pair[1]])),
    )
    .map(|unit| unit.unwrap_or(char::REPLACEMENT_CHARACTER))
    .collect()
}

/// Groups atoms (each the encoding of one char, never split) into parts: one part if all fit
/// `single`, else parts of at most `per_part`. `Err` names the first char of a 256th part.
fn group(
    atoms: Vec<(char, Vec<u8>)>,
    single: usize,
    per_part: usize,
    reference: u8,
) -> Result<Vec<UserData>, char> {
    let total: usize = atoms.iter().map(|(_, a)| a.len()).sum();
    if total <= single {
        let body = atoms.into_iter().flat_map(|(_, a)| a).collect();
        return Ok(vec![UserData {
            header: Vec::new(),
            body,
        }]);
    }
    let mut parts: Vec<Vec<u8>> = vec![Vec::new()];
    for (c, atom) in atoms {
        let fits = parts
            .last()
            .is_some_and(|p| p.len() + atom.len() <= per_part);
        if !fits {
            if parts.len() == 255 {
                return Err(c);
            }
            parts.push(Vec::new());
        }
        if let Some(part) = parts.last_mut() {
            part.extend(atom);
        }
    }
    Ok(concat_parts(parts, reference))
}

fn concat_parts(parts: Vec<Vec<u8>>, reference: u8) -> Vec<UserData> {
    let total = parts.len() as u8;
    parts
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            UserData {
                header: Vec::new(),
                body,
            }
            .with_concat(Concat {
                reference: u16::from(reference),
                total,
                sequence: i as u8 + 1,
                wide_reference: false,
            })
        })
        .collect()
}

/// Splits text into one UserData (fits a single SMS: 160 septets / 140 octets / 70 UCS2 units)
/// or concatenated parts (153 / 134 / 67 per part; never splits an extension escape pair, a
/// surrogate pair or, for Eight, a UTF-8 sequence), each carrying IEI 00 with `reference` and a
/// 1-based sequence. `Err(char)` names a char Gsm7 cannot carry, or the first char that would
/// need a 256th part.
pub fn split_text(text: &str, alphabet: Alphabet, reference: u8) -> Result<Vec<UserData>, char> {
    let atoms = text
        .chars()
        .map(|c| {
            let atom = match alphabet {
                Alphabet::Gsm7 => {
                    let (septets, n) = gsm7::char_septets(c).ok_or(c)?;
                    septets[..n].to_vec()
                }
                Alphabet::Ucs2 => {
                    let mut units = [0u16; 2];
                    c.encode_utf16(&mut units)
                        .iter()
                        .flat_map(|u| u.to_be_bytes())
                        .collect()
                }
                Alphabet::Eight => c.to_string().into_bytes(),
            };
            Ok((c, atom))
        })
        .collect::<Result<Vec<_>, char>>()?;
    let (single, per_part) = match alphabet {
        Alphabet::Gsm7 => (MAX_SEPTETS, 153),
        Alphabet::Eight | Alphabet::Ucs2 => (MAX_OCTETS, 134),
    };
    group(atoms, single, per_part, reference)
}

/// The same for raw 8-bit data: one part up to 140 octets, else parts of 134. Data beyond
/// 255 parts (34,170 octets) is dropped, as TP-UDH cannot number more.
pub fn split_octets(data: &[u8], reference: u8) -> Vec<UserData> {
    if data.len() <= MAX_OCTETS {
        return vec![UserData {
            header: Vec::new(),
            body: data.to_vec(),
        }];
    }
    let parts = data.chunks(134).take(255).map(<[u8]>::to_vec).collect();
    concat_parts(parts, reference)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sms::hex;

    fn h(text: &str) -> Vec<u8> {
        hex::decode(text).unwrap()
    }

    #[test]
    fn dcs_alphabets_and_classes() {
        let cases: &[(u8, Result<Alphabet, PduError>, Option<u8>)] = &[
            (0x00, Ok(Alphabet::Gsm7), None),
            (0x04, Ok(Alphabet::Eight), None),
            (0x08, Ok(Alphabet::Ucs2), None),
            (0x0C, Err(PduError::ReservedDcs), None),
            (0x10, Ok(Alphabet::Gsm7), Some(0)),
            (0x14, Ok(Alphabet::Eight), Some(0)),
            (0x18, Ok(Alphabet::Ucs2), Some(0)),
            (0x15, Ok(Alphabet::Eight), Some(1)),
            (0x13, Ok(Alphabet::Gsm7), Some(3)),
            (0x03, Ok(Alphabet::Gsm7), None),
            (0x20, Err(PduError::Compressed), None),
            (0x48, Ok(Alphabet::Ucs2), None),
            (0x52, Ok(Alphabet::Gsm7), Some(2)),
            (0x60, Err(PduError::Compressed), None),
            (0x80, Err(PduError::ReservedDcs), None),
            (0xB4, Err(PduError::ReservedDcs), None),
            (0xC0, Ok(Alphabet::Gsm7), None),
            (0xD8, Ok(Alphabet::Gsm7), None),
            (0xE0, Ok(Alphabet::Ucs2), None),
            (0xF0, Ok(Alphabet::Gsm7), Some(0)),
            (0xF2, Ok(Alphabet::Gsm7), Some(2)),
            (0xF4, Ok(Alphabet::Eight), Some(0)),
            (0xF7, Ok(Alphabet::Eight), Some(3)),
        ];
        for &(octet, ref alphabet, class) in cases {
            assert_eq!(Dcs(octet).alphabet(), *alphabet, "{octet:#04X}");
            assert_eq!(Dcs(octet).class(), class, "{octet:#04X}");
        }
        assert_eq!(Dcs::for_alphabet(Alphabet::Gsm7), Dcs(0x00));
        assert_eq!(Dcs::for_alphabet(Alphabet::Eight), Dcs(0x04));
        assert_eq!(Dcs::for_alphabet(Alphabet::Ucs2), Dcs(0x08));
        assert_eq!(Dcs::with_class(Alphabet::Ucs2, 0), Dcs(0x18));
        assert_eq!(Dcs::with_class(Alphabet::Eight, 1), Dcs(0x15));
    }

    #[test]
    fn gsm7_hello_without_header() {
        let ud = UserData::from_text("hello", Alphabet::Gsm7).unwrap();
        assert_eq!(ud.encode(Alphabet::Gsm7).unwrap(), (5, h("E8329BFD06")));
        let back = UserData::decode(false, Alphabet::Gsm7, 5, &h("E8329BFD06")).unwrap();
        assert_eq!(back, ud);
        assert_eq!(back.text(Alphabet::Gsm7).as_deref(), Some("hello"));
    }

    #[test]
    fn gsm7_with_8bit_concat_header_has_one_fill_bit() {
        // UDH 05 00 03 2A 02 01 = 6 octets = 7 septets (1 fill bit), then "hello" shifted by 1.
        let ud = UserData::from_text("hello", Alphabet::Gsm7)
            .unwrap()
            .with_concat(Concat {
                reference: 0x2A,
                total: 2,
                sequence: 1,
                wide_reference: false,
            });
        let (udl, octets) = ud.encode(Alphabet::Gsm7).unwrap();
        assert_eq!(udl, 12);
        assert_eq!(octets, h("0500032A0201D06536FB0D"));
        let back = UserData::decode(true, Alphabet::Gsm7, udl, &octets).unwrap();
        assert_eq!(back, ud);
        assert_eq!(
            back.concat(),
            Some(Concat {
                reference: 0x2A,
                total: 2,
                sequence: 1,
                wide_reference: false
            })
        );
        assert_eq!(back.ports(), None);
    }

    #[test]
    fn gsm7_with_16bit_concat_header() {
        // UDH 06 08 04 12 34 03 02 = 7 octets = 8 septets, no fill: text is packed as usual.
        let ud = UserData::from_text("hello", Alphabet::Gsm7)
            .unwrap()
            .with_concat(Concat {
                reference: 0x1234,
                total: 3,
                sequence: 2,
                wide_reference: true,
            });
        let (udl, octets) = ud.encode(Alphabet::Gsm7).unwrap();
        assert_eq!(udl, 13);
        assert_eq!(octets, h("06080412340302E8329BFD06"));
        let back = UserData::decode(true, Alphabet::Gsm7, udl, &octets).unwrap();
        assert_eq!(back, ud);
        assert_eq!(back.concat().map(|c| c.reference), Some(0x1234));
    }

    #[test]
    fn gsm7_fill_bits_for_every_header_length() {
        // Header of n octets (UDHL included) needs (7 - 8n % 7) % 7 fill bits; cover fills 0..=6.
        let mut fills = std::collections::BTreeSet::new();
        for data_len in 0..=12usize {
            let header_octets = 1 + 2 + data_len;
            let fill = (7 - (header_octets * 8) % 7) % 7;
            fills.insert(fill);
            let ud = UserData {
                header: vec![InformationElement {
                    id: 0x70,
                    data: vec![0xA5; data_len],
                }],
                body: gsm7::encode("Fill{test}€").unwrap(),
            };
            let (udl, octets) = ud.encode(Alphabet::Gsm7).unwrap();
            let septets = (header_octets * 8).div_ceil(7);
            assert_eq!(usize::from(udl), septets + ud.body.len());
            assert_eq!(octets.len(), (usize::from(udl) * 7).div_ceil(8));
            // The first body septet starts right after the fill bits.
            let first = gsm7::unpack(&octets[header_octets..], 1, fill as u8);
            assert_eq!(first, [ud.body[0]], "header {header_octets}");
            assert_eq!(
                UserData::decode(true, Alphabet::Gsm7, udl, &octets).unwrap(),
                ud
            );
        }
        assert_eq!(fills.len(), 7, "fills 0..=6 all covered: {fills:?}");
    }

    #[test]
    fn eight_bit_with_ports_and_concat() {
        let ud = UserData {
            header: Vec::new(),
            body: vec![0xDE, 0xAD],
        }
        .with_concat(Concat {
            reference: 7,
            total: 2,
            sequence: 2,
            wide_reference: false,
        })
        .with_ports(2948, 9200);
        let (udl, octets) = ud.encode(Alphabet::Eight).unwrap();
        assert_eq!(udl, 14);
        assert_eq!(octets, h("0B000307020205040B8423F0DEAD"));
        let back = UserData::decode(true, Alphabet::Eight, udl, &octets).unwrap();
        assert_eq!(back, ud);
        assert_eq!(back.ports(), Some((2948, 9200)));
        let eight = UserData::decode(true, Alphabet::Eight, 5, &h("0404021050AB")).unwrap_err();
        assert_eq!(eight, PduError::TrailingBytes);
        let eight = UserData::decode(true, Alphabet::Eight, 6, &h("0404021050AB")).unwrap();
        assert_eq!(eight.ports(), Some((0x10, 0x50)));
        assert_eq!(eight.body, [0xAB]);
        assert_eq!(eight.text(Alphabet::Eight), None);
    }

    #[test]
    fn ucs2_text_with_a_surrogate_pair() {
        let ud = UserData::from_text("A€😀", Alphabet::Ucs2).unwrap();
        assert_eq!(ud.body, h("004120ACD83DDE00"));
        let (udl, octets) = ud.encode(Alphabet::Ucs2).unwrap();
        assert_eq!(udl, 8);
        let back = UserData::decode(false, Alphabet::Ucs2, udl, &octets).unwrap();
        assert_eq!(back.text(Alphabet::Ucs2).as_deref(), Some("A€😀"));
        let lone = UserData {
            header: Vec::new(),
            body: h("D83D0041FF"),
        };
        assert_eq!(lone.text(Alphabet::Ucs2).as_deref(), Some("\u{FFFD}A"));
    }

    #[test]
    fn bad_lengths() {
        assert_eq!(
            UserData::decode(false, Alphabet::Gsm7, 161, &[0; 141]),
            Err(PduError::UserDataLength)
        );
        assert_eq!(
            UserData::decode(false, Alphabet::Eight, 141, &[0; 141]),
            Err(PduError::UserDataLength)
        );
        assert_eq!(
            UserData::decode(false, Alphabet::Gsm7, 6, &h("E8329BFD06")),
            Err(PduError::UserDataLength)
        );
        assert_eq!(
            UserData::decode(false, Alphabet::Ucs2, 4, &h("0041")),
            Err(PduError::UserDataLength)
        );
        // UDHL running past the user data, an IE running past the header, an empty header.
        assert_eq!(
            UserData::decode(true, Alphabet::Eight, 3, &h("050003")),
            Err(PduError::HeaderLength)
        );
        assert_eq!(
            UserData::decode(true, Alphabet::Eight, 3, &h("020005")),
            Err(PduError::HeaderLength)
        );
        assert_eq!(
            UserData::decode(true, Alphabet::Eight, 1, &h("00")),
            Err(PduError::HeaderLength)
        );
        assert_eq!(
            UserData::decode(true, Alphabet::Eight, 0, &[]),
            Err(PduError::HeaderLength)
        );
        assert_eq!(
            UserData::decode(true, Alphabet::Gsm7, 2, &h("0500")),
            Err(PduError::HeaderLength)
        );
        // Header fits the octets but its septets exceed UDL.
        assert_eq!(
            UserData::decode(true, Alphabet::Gsm7, 1, &h("01")),
            Err(PduError::HeaderLength)
        );
        let too_long = UserData {
            header: Vec::new(),
            body: vec![0x41; 161],
        };
        assert_eq!(
            too_long.encode(Alphabet::Gsm7),
            Err(PduError::UserDataLength)
        );
        let too_long = UserData {
            header: Vec::new(),
            body: vec![0x41; 141],
        };
        assert_eq!(
            too_long.encode(Alphabet::Eight),
            Err(PduError::UserDataLength)
        );
        let full = UserData {
            header: Vec::new(),
            body: vec![0x41; 160],
        };
        assert_eq!(
            full.encode(Alphabet::Gsm7).map(|(u, o)| (u, o.len())),
            Ok((160, 140))
        );
    }

    #[test]
    fn split_300_gsm_chars_into_153_and_147() {
        let text: String = "abcdefghij".repeat(30);
        let parts = split_text(&text, Alphabet::Gsm7, 9).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].body.len(), 153);
        assert_eq!(parts[1].body.len(), 147);
        for (i, part) in parts.iter().enumerate() {
            let c = part.concat().unwrap();
            assert_eq!(
                (c.reference, c.total, c.sequence, c.wide_reference),
                (9, 2, i as u8 + 1, false)
            );
            let (udl, _) = part.encode(Alphabet::Gsm7).unwrap();
            assert!(udl <= 160);
        }
        let joined: String = parts
            .iter()
            .map(|p| p.text(Alphabet::Gsm7).unwrap())
            .collect();
        assert_eq!(joined, text);
    }

    #[test]
    fn split_keeps_single_messages_whole() {
        let parts = split_text(&"x".repeat(160), Alphabet::Gsm7, 1).unwrap();
        assert_eq!(parts.len(), 1);
        assert!(!parts[0].has_header());
        assert_eq!(
            split_text(&"x".repeat(70), Alphabet::Ucs2, 1)
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            split_text(&"x".repeat(71), Alphabet::Ucs2, 1)
                .unwrap()
                .len(),
            2
        );
        assert_eq!(split_text("", Alphabet::Gsm7, 1).unwrap().len(), 1);
        assert_eq!(split_text("a`", Alphabet::Gsm7, 1), Err('`'));
    }

    #[test]
    fn split_never_breaks_an_escape_pair() {
        // 152 plain chars then '€': the pair cannot start at septet 153, it moves to part 2.
        let text = format!("{}€{}", "a".repeat(152), "b".repeat(20));
        let parts = split_text(&text, Alphabet::Gsm7, 1).unwrap();
        assert_eq!(parts[0].body.len(), 152);
        assert_eq!(&parts[1].body[..2], &[0x1B, 0x65]);
        let text = "€".repeat(200);
        for part in split_text(&text, Alphabet::Gsm7, 1).unwrap() {
            assert_eq!(part.body.len() % 2, 0);
            assert!(part.body.chunks(2).all(|p| p == [0x1B, 0x65]));
        }
    }

    #[test]
    fn split_100_ucs2_chars_never_breaks_a_surrogate_pair() {
        let text: String = (0..100)
            .map(|i| if i % 3 == 0 { '😀' } else { 'é' })
            .collect();
        let parts = split_text(&text, Alphabet::Ucs2, 5).unwrap();
        assert!(parts.len() >= 2);
        let mut joined = String::new();
        for part in &parts {
            assert!(part.body.len() <= 134);
            let first = u16::from_be_bytes([part.body[0], part.body[1]]);
            assert!(
                !(0xDC00..0xE000).contains(&first),
                "part starts with a low surrogate"
            );
            let text = part.text(Alphabet::Ucs2).unwrap();
            assert!(!text.contains('\u{FFFD}'));
            joined.push_str(&text);
        }
        assert_eq!(joined, text);
    }

    #[test]
    fn split_octets_into_134() {
        assert_eq!(split_octets(&[1; 140], 3).len(), 1);
        let parts = split_octets(&[1; 300], 3);
        assert_eq!(
            parts.iter().map(|p| p.body.len()).collect::<Vec<_>>(),
            [134, 134, 32]
        );
        assert_eq!(
            parts[2].concat().map(|c| (c.total, c.sequence)),
            Some((3, 3))
        );
        assert_eq!(parts[0].encode(Alphabet::Eight).unwrap().0, 140);
    }
}
