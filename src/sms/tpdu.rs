//! TPDUs of 23.040: SMS-SUBMIT, SMS-DELIVER and SMS-STATUS-REPORT with their addresses,
//! timestamps and validity periods, and the whole PDU with its SMSC field.

use super::user_data::Alphabet;
use super::{Dcs, UserData, gsm7, hex};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PduError {
    OddHex,
    NotHex,
    Truncated,
    TrailingBytes,
    LengthMismatch,
    AddressLength,
    BadAddress,
    SmscLength,
    ReservedDcs,
    Compressed,
    UserDataLength,
    HeaderLength,
    BadTimestamp,
    UnknownType,
    BadValidity,
}

impl std::fmt::Display for PduError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PduError::OddHex => "the hex has an odd number of digits",
            PduError::NotHex => "the PDU has a character that is not a hex digit",
            PduError::Truncated => "the PDU ends before its fields do",
            PduError::TrailingBytes => "the PDU has octets after its last field",
            PduError::LengthMismatch => "the TPDU is not as long as the declared length",
            PduError::AddressLength => "the address is longer than 20 digits",
            PduError::BadAddress => "the address has a character its type cannot carry",
            PduError::SmscLength => "the SMSC field is longer than 11 octets",
            PduError::ReservedDcs => "the data coding scheme is reserved",
            PduError::Compressed => "compressed user data is not supported",
            PduError::UserDataLength => "the user data length runs past the PDU or the SMS",
            PduError::HeaderLength => "the user data header length runs past the user data",
            PduError::BadTimestamp => "the timestamp has a digit that is not decimal",
            PduError::UnknownType => "the message type is not one this direction carries",
            PduError::BadValidity => "the validity period format is reserved",
        })
    }
}

impl std::error::Error for PduError {}

/// Digits an address or SMSC field may hold (23.040 §9.1.2.5).
pub const MAX_ADDRESS_DIGITS: usize = 20;
/// Septets an alphanumeric address holds (20 semi-octets).
pub const MAX_ALPHANUMERIC_SEPTETS: usize = 11;
/// The longest SMSC length octet: TON/NPI plus 10 octets of digits.
pub const MAX_SMSC_LENGTH: u8 = 11;

/// An address: `number` is the digits with a leading '+' when TON is international (0x91
/// etc.), the decoded text when TON is alphanumeric (0xD0), otherwise the digits (semi-octets
/// 0-9 * # a b c allowed as "*#abc").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub number: String,
    pub toa: u8,
}

/// TON bits of a type of address (bits 6-4).
fn ton(toa: u8) -> u8 {
    (toa >> 4) & 0x07
}
const TON_INTERNATIONAL: u8 = 1;
const TON_ALPHANUMERIC: u8 = 5;

/// A semi-octet value for an address digit.
fn digit_nibble(c: char) -> Option<u8> {
    match c {
        '0'..='9' => Some(c as u8 - b'0'),
        '*' => Some(0xA),
        '#' => Some(0xB),
        'a' | 'A' => Some(0xC),
        'b' | 'B' => Some(0xD),
        'c' | 'C' => Some(0xE),
        _ => None,
    }
}

/// The address digit of a semi-octet value (0xF, the filler, is none).
fn nibble_digit(n: u8) -> Option<char> {
    match n {
        0..=9 => Some(char::from(b'0' + n)),
        0xA => Some('*'),
        0xB => Some('#'),
        0xC => Some('a'),
        0xD => Some('b'),
        0xE => Some('c'),
        _ => None,
    }
}

/// Checks address digits (no '+'), returning them normalised (a b c lower case).
fn checked_digits(digits: &str) -> Result<String, PduError> {
    let mut out = String::with_capacity(digits.len());
    for c in digits.chars() {
        let n = digit_nibble(c).ok_or(PduError::BadAddress)?;
        out.push(nibble_digit(n).unwrap_or(c));
    }
    if out.len() > MAX_ADDRESS_DIGITS {
        return Err(PduError::AddressLength);
    }
    Ok(out)
}

/// Digits as swapped semi-octets, padded with F.
fn pack_digits(digits: &str, out: &mut Vec<u8>) -> Result<(), PduError> {
    let nibbles = digits
        .chars()
        .map(|c| digit_nibble(c).ok_or(PduError::BadAddress))
        .collect::<Result<Vec<u8>, _>>()?;
    for pair in nibbles.chunks(2) {
        let low = pair.first().copied().unwrap_or(0xF);
        let high = pair.get(1).copied().unwrap_or(0xF);
        out.push((high << 4) | low);
    }
    Ok(())
}

/// `count` digits from swapped semi-octets (the filler of an odd count is not checked).
fn unpack_digits(octets: &[u8], count: usize) -> Result<String, PduError> {
    (0..count)
        .map(|i| {
            let octet = octets.get(i / 2).copied().ok_or(PduError::Truncated)?;
            let nibble = if i % 2 == 0 { octet & 0x0F } else { octet >> 4 };
            nibble_digit(nibble).ok_or(PduError::BadAddress)
        })
        .collect()
}

impl Address {
    /// `"+4477…"` → toa 0x91 and those digits; anything else → toa 0x81. More than 20 digits
    /// is [`PduError::AddressLength`]; a char other than 0-9 * # a b c is
    /// [`PduError::BadAddress`].
    pub fn from_text(number: &str) -> Result<Address, PduError> {
        match number.strip_prefix('+') {
            Some(digits) => Ok(Address {
                number: format!("+{}", checked_digits(digits)?),
                toa: 0x91,
            }),
            None => Ok(Address {
                number: checked_digits(number)?,
                toa: 0x81,
            }),
        }
    }

    /// An address with an explicit type: an international TON (e.g. 145) adds or keeps the
    /// '+', an alphanumeric TON (e.g. 0xD0) takes `number` as text, any other drops a leading
    /// '+' and keeps the digits.
    pub fn with_toa(number: &str, toa: u8) -> Result<Address, PduError> {
        match ton(toa) {
            TON_ALPHANUMERIC => Ok(Address {
                toa,
                ..Address::alphanumeric(number)?
            }),
            t => {
                let digits = checked_digits(number.strip_prefix('+').unwrap_or(number))?;
                let number = if t == TON_INTERNATIONAL {
                    format!("+{digits}")
                } else {
                    digits
                };
                Ok(Address { number, toa })
            }
        }
    }

    /// An alphanumeric address (toa 0xD0): up to 11 septets of the GSM default alphabet
    /// (extension chars count 2). Longer is [`PduError::AddressLength`], a char outside the
    /// alphabet [`PduError::BadAddress`].
    pub fn alphanumeric(text: &str) -> Result<Address, PduError> {
        let septets = gsm7::septet_len(text).ok_or(PduError::BadAddress)?;
        if septets > MAX_ALPHANUMERIC_SEPTETS {
            return Err(PduError::AddressLength);
        }
        Ok(Address {
            number: text.to_string(),
            toa: 0xD0,
        })
    }

    /// The number without its '+' (the text of an alphanumeric address).
    pub fn digits(&self) -> &str {
        self.number.strip_prefix('+').unwrap_or(&self.number)
    }

    /// Whether the TON is alphanumeric.
    pub fn is_alphanumeric(&self) -> bool {
        ton(self.toa) == TON_ALPHANUMERIC
    }

    /// TP-OA/TP-DA/TP-RA: digit (or semi-octet) count, toa, swapped semi-octets.
    fn write(&self, out: &mut Vec<u8>) -> Result<(), PduError> {
        if self.is_alphanumeric() {
            let septets = gsm7::encode(&self.number).map_err(|_| PduError::BadAddress)?;
            if septets.len() > MAX_ALPHANUMERIC_SEPTETS {
                return Err(PduError::AddressLength);
            }
            out.push((septets.len() * 7).div_ceil(4) as u8);
            out.push(self.toa);
            out.extend(gsm7::pack(&septets, 0));
        } else {
            let digits = self.digits();
            if digits.len() > MAX_ADDRESS_DIGITS {
                return Err(PduError::AddressLength);
            }
            out.push(digits.len() as u8);
            out.push(self.toa);
            pack_digits(digits, out)?;
        }
        Ok(())
    }

    fn read(r: &mut Reader) -> Result<Address, PduError> {
        let len = usize::from(r.u8()?);
        let toa = r.u8()?;
        if len > MAX_ADDRESS_DIGITS {
            return Err(PduError::AddressLength);
        }
        let octets = r.take(len.div_ceil(2))?;
        let number = match ton(toa) {
            TON_ALPHANUMERIC => gsm7::decode(&gsm7::unpack(octets, len * 4 / 7, 0)),
            TON_INTERNATIONAL => format!("+{}", unpack_digits(octets, len)?),
            _ => unpack_digits(octets, len)?,
        };
        Ok(Address { number, toa })
    }

    /// The SMSC field: octet count (toa included), toa, swapped semi-octets. Always digits.
    fn write_smsc(smsc: Option<&Address>, out: &mut Vec<u8>) -> Result<(), PduError> {
        let Some(smsc) = smsc else {
            out.push(0);
            return Ok(());
        };
        let digits = smsc.digits();
        if digits.len() > MAX_ADDRESS_DIGITS {
            return Err(PduError::SmscLength);
        }
        out.push(1 + digits.len().div_ceil(2) as u8);
        out.push(smsc.toa);
        pack_digits(digits, out)
    }

    fn read_smsc(r: &mut Reader) -> Result<Option<Address>, PduError> {
        let len = r.u8()?;
        if len == 0 {
            return Ok(None);
        }
        if len > MAX_SMSC_LENGTH {
            return Err(PduError::SmscLength);
        }
        let toa = r.u8()?;
        let octets = r.take(usize::from(len) - 1)?;
        let mut count = octets.len() * 2;
        if octets.last().is_some_and(|&o| o >> 4 == 0xF) {
            count -= 1;
        }
        let digits = unpack_digits(octets, count)?;
        let number = if ton(toa) == TON_INTERNATIONAL {
            format!("+{digits}")
        } else {
            digits
        };
        Ok(Some(Address { number, toa }))
    }
}

/// TP-SCTS / TP-DT: 7 semi-octets; tz in quarter hours, signed (any value fitting the
/// nibbles, -79..=79).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    pub year: u8,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub tz_quarters: i8,
}

/// A swapped BCD octet → 0..=99.
fn read_bcd(octet: u8) -> Result<u8, PduError> {
    let (tens, units) = (octet & 0x0F, octet >> 4);
    if tens > 9 || units > 9 {
        return Err(PduError::BadTimestamp);
    }
    Ok(tens * 10 + units)
}

fn write_bcd(value: u8) -> Result<u8, PduError> {
    if value > 99 {
        return Err(PduError::BadTimestamp);
    }
    Ok(((value % 10) << 4) | (value / 10))
}

impl Timestamp {
    /// The local time `tz_quarters` quarter hours ahead of UTC at Unix time `seconds`.
    pub fn from_unix(seconds: i64, tz_quarters: i8) -> Timestamp {
        let local = seconds.saturating_add(i64::from(tz_quarters) * 15 * 60);
        let (days, secs) = (local.div_euclid(86_400), local.rem_euclid(86_400));
        let (year, month, day) = crate::calendar::civil_from_days(days);
        Timestamp {
            year: year.rem_euclid(100) as u8,
            month: month as u8,
            day: day as u8,
            hour: (secs / 3600) as u8,
            minute: (secs / 60 % 60) as u8,
            second: (secs % 60) as u8,
            tz_quarters,
        }
    }

    /// 27.005 text mode: `yy/MM/dd,hh:mm:ss±zz` (zz in quarter hours), e.g.
    /// `24/01/15,10:30:00+04`.
    pub fn text(&self) -> String {
        let sign = if self.tz_quarters < 0 { '-' } else { '+' };
        format!(
            "{:02}/{:02}/{:02},{:02}:{:02}:{:02}{sign}{:02}",
            self.year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            self.tz_quarters.unsigned_abs()
        )
    }

    /// The 7 octets. A field over 99 or a zone beyond ±79 quarters is
    /// [`PduError::BadTimestamp`].
    pub fn to_octets(&self) -> Result<[u8; 7], PduError> {
        let tz = self.tz_quarters.unsigned_abs();
        if tz > 79 {
            return Err(PduError::BadTimestamp);
        }
        let sign = if self.tz_quarters < 0 { 0x08 } else { 0 };
        Ok([
            write_bcd(self.year)?,
            write_bcd(self.month)?,
            write_bcd(self.day)?,
            write_bcd(self.hour)?,
            write_bcd(self.minute)?,
            write_bcd(self.second)?,
            write_bcd(tz)? | sign,
        ])
    }

    /// From 7 octets; a semi-octet A-F is [`PduError::BadTimestamp`]. Dates are not
    /// range-checked (a month 00 decodes as such).
    pub fn from_octets(octets: [u8; 7]) -> Result<Timestamp, PduError> {
        let tz = octets[6];
        let quarters = read_bcd(tz & !0x08)? as i8;
        Ok(Timestamp {
            year: read_bcd(octets[0])?,
            month: read_bcd(octets[1])?,
            day: read_bcd(octets[2])?,
            hour: read_bcd(octets[3])?,
            minute: read_bcd(octets[4])?,
            second: read_bcd(octets[5])?,
            tz_quarters: if tz & 0x08 != 0 { -quarters } else { quarters },
        })
    }
}

/// TP-VP in the format TP-VPF names: none, relative (1 octet), absolute (a timestamp) or
/// enhanced (7 octets, kept raw).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    None,
    Relative(u8),
    Absolute(Timestamp),
    Enhanced([u8; 7]),
}

impl Validity {
    /// TP-VPF (bits 4-3 of the SUBMIT first octet, unshifted).
    fn vpf(&self) -> u8 {
        match self {
            Validity::None => 0x00,
            Validity::Enhanced(_) => 0x08,
            Validity::Relative(_) => 0x10,
            Validity::Absolute(_) => 0x18,
        }
    }

    /// The relative period in minutes (23.040 §9.2.3.12.1), if relative.
    pub fn relative_minutes(&self) -> Option<u32> {
        let Validity::Relative(v) = *self else {
            return None;
        };
        let v = u32::from(v);
        Some(match v {
            0..=143 => (v + 1) * 5,
            144..=167 => 12 * 60 + (v - 143) * 30,
            168..=196 => (v - 166) * 24 * 60,
            _ => (v - 192) * 7 * 24 * 60,
        })
    }

    /// The enhanced format's functionality indicator names a validity format 0..=3; 4..=7 are
    /// reserved ([`PduError::BadValidity`]).
    fn check_enhanced(octets: &[u8; 7]) -> Result<(), PduError> {
        if octets[0] & 0x07 > 3 {
            return Err(PduError::BadValidity);
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submit {
    pub reject_duplicates: bool,
    pub reply_path: bool,
    pub status_report_request: bool,
    pub message_reference: u8,
    pub destination: Address,
    pub pid: u8,
    pub dcs: Dcs,
    pub validity: Validity,
    pub user_data: UserData,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deliver {
    /// TP-MMS = 0 means more messages are waiting: this holds the meaning, not the bit.
    pub more_messages_to_send: bool,
    pub reply_path: bool,
    pub status_report_indication: bool,
    pub originator: Address,
    pub pid: u8,
    pub dcs: Dcs,
    pub timestamp: Timestamp,
    pub user_data: UserData,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    pub more_messages_to_send: bool,
    pub status_report_qualifier: bool,
    pub message_reference: u8,
    pub recipient: Address,
    pub timestamp: Timestamp,
    pub discharge: Timestamp,
    pub status: u8,
    /// optional TP-PI / PID / DCS / UD
    pub pid: Option<u8>,
    pub dcs: Option<Dcs>,
    pub user_data: Option<UserData>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tpdu {
    Submit(Submit),
    Deliver(Deliver),
    StatusReport(StatusReport),
}

/// Which way the TPDU travels: MTI 00 is DELIVER towards the MS and DELIVER-REPORT
/// (unsupported → UnknownType) from it; 01 SUBMIT from MS; 10 STATUS-REPORT to MS (COMMAND
/// from MS: UnknownType).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    ToNetwork,
    FromNetwork,
}

/// A cursor over octets that never reads past the end.
struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    fn u8(&mut self) -> Result<u8, PduError> {
        let (&first, rest) = self.data.split_first().ok_or(PduError::Truncated)?;
        self.data = rest;
        Ok(first)
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], PduError> {
        if self.data.len() < n {
            return Err(PduError::Truncated);
        }
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        Ok(head)
    }
    fn seven(&mut self) -> Result<[u8; 7], PduError> {
        let mut out = [0; 7];
        out.copy_from_slice(self.take(7)?);
        Ok(out)
    }
    fn timestamp(&mut self) -> Result<Timestamp, PduError> {
        Timestamp::from_octets(self.seven()?)
    }
    /// TP-UDL and TP-UD, the last fields: the UD must use up the rest exactly.
    fn user_data(&mut self, udhi: bool, dcs: Dcs) -> Result<UserData, PduError> {
        let alphabet = dcs.alphabet()?;
        let udl = self.u8()?;
        let rest = std::mem::take(&mut self.data);
        UserData::decode(udhi, alphabet, udl, rest)
    }
    fn finish(&self) -> Result<(), PduError> {
        if self.data.is_empty() {
            Ok(())
        } else {
            Err(PduError::TrailingBytes)
        }
    }
}

const MTI_DELIVER: u8 = 0b00;
const MTI_SUBMIT: u8 = 0b01;
const MTI_STATUS_REPORT: u8 = 0b10;
const BIT_MMS_RD: u8 = 0x04;
const BIT_SRI_SRR_SRQ: u8 = 0x20;
const BIT_UDHI: u8 = 0x40;
const BIT_RP: u8 = 0x80;
const PI_PID: u8 = 0x01;
const PI_DCS: u8 = 0x02;
const PI_UDL: u8 = 0x04;

fn bit(set: bool, mask: u8) -> u8 {
    if set { mask } else { 0 }
}

fn write_user_data(ud: &UserData, dcs: Dcs, out: &mut Vec<u8>) -> Result<(), PduError> {
    let (udl, octets) = ud.encode(dcs.alphabet()?)?;
    out.push(udl);
    out.extend(octets);
    Ok(())
}

impl Tpdu {
    /// Decodes a TPDU travelling `direction`. Exact: octets after the TPDU are
    /// [`PduError::TrailingBytes`]; an address over 20 digits is [`PduError::AddressLength`].
    pub fn decode(octets: &[u8], direction: Direction) -> Result<Tpdu, PduError> {
        let mut r = Reader { data: octets };
        let fo = r.u8()?;
        let udhi = fo & BIT_UDHI != 0;
        let tpdu = match (direction, fo & 0x03) {
            (Direction::ToNetwork, MTI_SUBMIT) => {
                let message_reference = r.u8()?;
                let destination = Address::read(&mut r)?;
                let pid = r.u8()?;
                let dcs = Dcs(r.u8()?);
                let validity = match fo & 0x18 {
                    0x00 => Validity::None,
                    0x10 => Validity::Relative(r.u8()?),
                    0x18 => Validity::Absolute(r.timestamp()?),
                    _ => {
                        let octets = r.seven()?;
                        Validity::check_enhanced(&octets)?;
                        Validity::Enhanced(octets)
                    }
                };
                let user_data = r.user_data(udhi, dcs)?;
                Tpdu::Submit(Submit {
                    reject_duplicates: fo & BIT_MMS_RD != 0,
                    reply_path: fo & BIT_RP != 0,
                    status_report_request: fo & BIT_SRI_SRR_SRQ != 0,
                    message_reference,
                    destination,
                    pid,
                    dcs,
                    validity,
                    user_data,
                })
            }
            (Direction::FromNetwork, MTI_DELIVER) => {
                let originator = Address::read(&mut r)?;
                let pid = r.u8()?;
                let dcs = Dcs(r.u8()?);
                let timestamp = r.timestamp()?;
                let user_data = r.user_data(udhi, dcs)?;
                Tpdu::Deliver(Deliver {
                    more_messages_to_send: fo & BIT_MMS_RD == 0,
                    reply_path: fo & BIT_RP != 0,
                    status_report_indication: fo & BIT_SRI_SRR_SRQ != 0,
                    originator,
                    pid,
                    dcs,
                    timestamp,
                    user_data,
                })
            }
            (Direction::FromNetwork, MTI_STATUS_REPORT) => {
                let message_reference = r.u8()?;
                let recipient = Address::read(&mut r)?;
                let timestamp = r.timestamp()?;
                let discharge = r.timestamp()?;
                let status = r.u8()?;
                let pi = if r.data.is_empty() { 0 } else { r.u8()? };
                let pid = if pi & PI_PID != 0 {
                    Some(r.u8()?)
                } else {
                    None
                };
                let dcs = if pi & PI_DCS != 0 {
                    Some(Dcs(r.u8()?))
                } else {
                    None
                };
                let user_data = if pi & PI_UDL != 0 {
                    Some(r.user_data(udhi, dcs.unwrap_or(Dcs(0)))?)
                } else {
                    None
                };
                Tpdu::StatusReport(StatusReport {
                    more_messages_to_send: fo & BIT_MMS_RD == 0,
                    status_report_qualifier: fo & BIT_SRI_SRR_SRQ != 0,
                    message_reference,
                    recipient,
                    timestamp,
                    discharge,
                    status,
                    pid,
                    dcs,
                    user_data,
                })
            }
            _ => return Err(PduError::UnknownType),
        };
        r.finish()?;
        Ok(tpdu)
    }

    /// The TPDU's octets; fails on values the wire cannot carry (a long address, user data
    /// over one SMS, a reserved DCS, a timestamp field over 99, a reserved enhanced VP).
    pub fn encode(&self) -> Result<Vec<u8>, PduError> {
        let mut out = Vec::with_capacity(176);
        out.push(self.first_octet());
        match self {
            Tpdu::Submit(s) => {
                out.push(s.message_reference);
                s.destination.write(&mut out)?;
                out.push(s.pid);
                out.push(s.dcs.0);
                match &s.validity {
                    Validity::None => {}
                    Validity::Relative(v) => out.push(*v),
                    Validity::Absolute(t) => out.extend(t.to_octets()?),
                    Validity::Enhanced(octets) => {
                        Validity::check_enhanced(octets)?;
                        out.extend(octets);
                    }
                }
                write_user_data(&s.user_data, s.dcs, &mut out)?;
            }
            Tpdu::Deliver(d) => {
                d.originator.write(&mut out)?;
                out.push(d.pid);
                out.push(d.dcs.0);
                out.extend(d.timestamp.to_octets()?);
                write_user_data(&d.user_data, d.dcs, &mut out)?;
            }
            Tpdu::StatusReport(s) => {
                out.push(s.message_reference);
                s.recipient.write(&mut out)?;
                out.extend(s.timestamp.to_octets()?);
                out.extend(s.discharge.to_octets()?);
                out.push(s.status);
                let pi = bit(s.pid.is_some(), PI_PID)
                    | bit(s.dcs.is_some(), PI_DCS)
                    | bit(s.user_data.is_some(), PI_UDL);
                if pi != 0 {
                    out.push(pi);
                }
                if let Some(pid) = s.pid {
                    out.push(pid);
                }
                if let Some(dcs) = s.dcs {
                    out.push(dcs.0);
                }
                if let Some(ud) = &s.user_data {
                    write_user_data(ud, s.dcs.unwrap_or(Dcs(0)), &mut out)?;
                }
            }
        }
        Ok(out)
    }

    /// The first octet the fields imply (MTI, flags, TP-VPF, TP-UDHI from the header).
    pub fn first_octet(&self) -> u8 {
        match self {
            Tpdu::Submit(s) => {
                MTI_SUBMIT
                    | bit(s.reject_duplicates, BIT_MMS_RD)
                    | s.validity.vpf()
                    | bit(s.status_report_request, BIT_SRI_SRR_SRQ)
                    | bit(s.user_data.has_header(), BIT_UDHI)
                    | bit(s.reply_path, BIT_RP)
            }
            Tpdu::Deliver(d) => {
                MTI_DELIVER
                    | bit(!d.more_messages_to_send, BIT_MMS_RD)
                    | bit(d.status_report_indication, BIT_SRI_SRR_SRQ)
                    | bit(d.user_data.has_header(), BIT_UDHI)
                    | bit(d.reply_path, BIT_RP)
            }
            Tpdu::StatusReport(s) => {
                MTI_STATUS_REPORT
                    | bit(!s.more_messages_to_send, BIT_MMS_RD)
                    | bit(s.status_report_qualifier, BIT_SRI_SRR_SRQ)
                    | bit(
                        s.user_data.as_ref().is_some_and(UserData::has_header),
                        BIT_UDHI,
                    )
            }
        }
    }

    /// TP-DCS (absent from a status report without one).
    pub fn dcs(&self) -> Option<Dcs> {
        match self {
            Tpdu::Submit(s) => Some(s.dcs),
            Tpdu::Deliver(d) => Some(d.dcs),
            Tpdu::StatusReport(s) => s.dcs,
        }
    }

    /// TP-UD (absent from a status report without it).
    pub fn user_data(&self) -> Option<&UserData> {
        match self {
            Tpdu::Submit(s) => Some(&s.user_data),
            Tpdu::Deliver(d) => Some(&d.user_data),
            Tpdu::StatusReport(s) => s.user_data.as_ref(),
        }
    }

    /// The alphabet of the user data (GSM 7-bit for a status report without a DCS).
    pub fn alphabet(&self) -> Result<Alphabet, PduError> {
        self.dcs().unwrap_or(Dcs(0)).alphabet()
    }
}

/// A whole PDU as +CMGS/+CMGR show it: SMSC field then TPDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pdu {
    pub smsc: Option<Address>,
    pub tpdu: Tpdu,
}

impl Pdu {
    /// Parses the hex of +CMGS/+CMGW input (whitespace already removed by the caller).
    /// `declared_tpdu_len` is the number from `AT+CMGS=<length>`: the TPDU must be exactly
    /// that long, else [`PduError::LengthMismatch`]. An SMSC length octet over 11 is
    /// [`PduError::SmscLength`].
    pub fn decode_hex(
        hex: &str,
        declared_tpdu_len: Option<usize>,
        direction: Direction,
    ) -> Result<Pdu, PduError> {
        let octets = hex::decode(hex)?;
        let smsc_len = usize::from(*octets.first().ok_or(PduError::Truncated)?);
        if smsc_len > usize::from(MAX_SMSC_LENGTH) {
            return Err(PduError::SmscLength);
        }
        if let Some(declared) = declared_tpdu_len {
            let actual = octets.len().checked_sub(1 + smsc_len);
            if actual != Some(declared) {
                return Err(PduError::LengthMismatch);
            }
        }
        Pdu::decode(&octets, direction)
    }

    /// Parses SMSC field + TPDU octets.
    pub fn decode(octets: &[u8], direction: Direction) -> Result<Pdu, PduError> {
        let mut r = Reader { data: octets };
        let smsc = Address::read_smsc(&mut r)?;
        let tpdu = Tpdu::decode(r.data, direction)?;
        Ok(Pdu { smsc, tpdu })
    }

    /// SMSC field (`00` when None) + TPDU.
    pub fn encode(&self) -> Result<Vec<u8>, PduError> {
        self.encode_counted().map(|(octets, _)| octets)
    }

    /// The whole PDU and the length of its TPDU (what `+CMGR: <stat>,"",<length>` prints),
    /// from one encoding.
    pub fn encode_counted(&self) -> Result<(Vec<u8>, usize), PduError> {
        let mut out = Vec::with_capacity(188);
        Address::write_smsc(self.smsc.as_ref(), &mut out)?;
        let tpdu = self.tpdu.encode()?;
        let len = tpdu.len();
        out.extend(tpdu);
        Ok((out, len))
    }

    /// Octets of the TPDU (what `+CMGS=`/`+CMGR:` count: the PDU without the SMSC field).
    pub fn tpdu_len(&self) -> Result<usize, PduError> {
        Ok(self.tpdu.encode()?.len())
    }

    /// The whole PDU as upper-case hex.
    pub fn encode_hex(&self) -> Result<String, PduError> {
        Ok(hex::encode_upper(&self.encode()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sms::user_data::{Concat, InformationElement};
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    const SUBMIT_HELLO: &str = "0011000C914477000910320000AA05E8329BFD06";
    const DELIVER_HELLO: &str = "0791447758100650040C9144770009103200004210510103004005E8329BFD06";

    fn ascii_hex(text: &str) -> String {
        hex::encode_upper(text.as_bytes())
    }

    /// Telit B.6 digest request, rebuilt from the field list there (the spec gives the fields,
    /// not the whole hex): SMSC +393492000200, FO 11, MR 00, DA +393468686711, PID 00,
    /// DCS 15, VP AD, UDL 38 = D0D0D0 00 11 01 + digest + "AT+COPS?".
    fn telit_request() -> String {
        "0791934329002000".to_string()
            + "1100"
            + "0C91934386867611"
            + "0015AD26D0D0D0001101"
            + &ascii_hex("WijCp2qV3sNv+aru20ZUaw==")
            + &ascii_hex("AT+COPS?")
    }

    /// The B.6 reply as an SMS-DELIVER (FO 04, OA +393468686711, DCS 15, UDL 64); the SCTS is
    /// ours (the spec does not give one).
    fn telit_reply() -> String {
        "0791934329002000040C91934386867611001542105101030040".to_string()
            + "40D1D1D1001101"
            + &ascii_hex("Junra7r0kIEcH9qV542n3Q==")
            + &ascii_hex("\r\n+COPS: 0,0,\"vodafone IT\"\r\n\r\nOK\r\n")
    }

    fn hello(alphabet: Alphabet) -> UserData {
        UserData::from_text("hello", alphabet).unwrap()
    }

    fn ts(tz_quarters: i8) -> Timestamp {
        Timestamp {
            year: 24,
            month: 1,
            day: 15,
            hour: 10,
            minute: 30,
            second: 0,
            tz_quarters,
        }
    }

    fn submit_to(destination: Address) -> Submit {
        Submit {
            reject_duplicates: false,
            reply_path: false,
            status_report_request: false,
            message_reference: 0,
            destination,
            pid: 0,
            dcs: Dcs(0),
            validity: Validity::Relative(0xAA),
            user_data: hello(Alphabet::Gsm7),
        }
    }

    fn round_trip(pdu: &Pdu, direction: Direction) -> Vec<u8> {
        let octets = pdu.encode().unwrap();
        assert_eq!(
            &Pdu::decode(&octets, direction).unwrap(),
            pdu,
            "{}",
            hex::encode_upper(&octets)
        );
        octets
    }

    #[test]
    fn golden_submit_hello() {
        let pdu = Pdu {
            smsc: None,
            tpdu: Tpdu::Submit(submit_to(Address::from_text("+447700900123").unwrap())),
        };
        assert_eq!(hex::encode_upper(&pdu.encode().unwrap()), SUBMIT_HELLO);
        assert_eq!(pdu.tpdu_len(), Ok(19));
        assert_eq!(pdu.tpdu.first_octet(), 0x11);
        assert_eq!(
            Pdu::decode_hex(SUBMIT_HELLO, Some(19), Direction::ToNetwork),
            Ok(pdu.clone())
        );
        let lower = SUBMIT_HELLO.to_lowercase();
        assert_eq!(Pdu::decode_hex(&lower, None, Direction::ToNetwork), Ok(pdu));
    }

    #[test]
    fn golden_deliver_hello() {
        let pdu = Pdu::decode_hex(DELIVER_HELLO, Some(24), Direction::FromNetwork).unwrap();
        let expected = Pdu {
            smsc: Some(Address {
                number: "+447785016005".into(),
                toa: 0x91,
            }),
            tpdu: Tpdu::Deliver(Deliver {
                more_messages_to_send: false,
                reply_path: false,
                status_report_indication: false,
                originator: Address::from_text("+447700900123").unwrap(),
                pid: 0,
                dcs: Dcs(0),
                timestamp: ts(4),
                user_data: hello(Alphabet::Gsm7),
            }),
        };
        assert_eq!(pdu, expected);
        assert_eq!(pdu.encode_hex().unwrap(), DELIVER_HELLO);
        assert_eq!(pdu.tpdu_len(), Ok(24));
        let Tpdu::Deliver(d) = &pdu.tpdu else {
            unreachable!()
        };
        assert_eq!(d.timestamp.text(), "24/01/15,10:30:00+04");
        assert_eq!(
            pdu.tpdu
                .user_data()
                .unwrap()
                .text(Alphabet::Gsm7)
                .as_deref(),
            Some("hello")
        );
    }

    #[test]
    fn golden_telit_digest_request_and_reply() {
        let request = telit_request();
        let pdu = Pdu::decode_hex(&request, Some(52), Direction::ToNetwork).unwrap();
        assert_eq!(
            pdu.smsc.as_ref().map(|a| a.number.as_str()),
            Some("+393492000200")
        );
        let Tpdu::Submit(s) = &pdu.tpdu else {
            panic!("not a submit")
        };
        assert_eq!(s.destination, Address::from_text("+393468686711").unwrap());
        assert_eq!((s.dcs, s.validity), (Dcs(0x15), Validity::Relative(0xAD)));
        assert_eq!(s.dcs.alphabet(), Ok(Alphabet::Eight));
        assert_eq!(s.dcs.class(), Some(1));
        assert_eq!(
            &s.user_data.body[..6],
            &[0xD0, 0xD0, 0xD0, 0x00, 0x11, 0x01]
        );
        assert_eq!(&s.user_data.body[30..], b"AT+COPS?");
        assert_eq!(pdu.encode_hex().unwrap(), request);
        // The app note's AT+CMGS=53 is off by one.
        assert_eq!(
            Pdu::decode_hex(&request, Some(53), Direction::ToNetwork),
            Err(PduError::LengthMismatch)
        );

        let reply = telit_reply();
        let pdu = Pdu::decode_hex(&reply, Some(83), Direction::FromNetwork).unwrap();
        assert_eq!(pdu.tpdu_len(), Ok(83));
        let Tpdu::Deliver(d) = &pdu.tpdu else {
            panic!("not a deliver")
        };
        assert_eq!(d.user_data.body.len(), 64);
        assert!(!d.more_messages_to_send);
        assert_eq!(pdu.encode_hex().unwrap(), reply);
    }

    #[test]
    fn addresses() {
        let mut out = Vec::new();
        Address::from_text("+447700900123")
            .unwrap()
            .write(&mut out)
            .unwrap();
        assert_eq!(hex::encode_upper(&out), "0C91447700091032");
        let mut out = Vec::new();
        Address::with_toa("12345", 0x81)
            .unwrap()
            .write(&mut out)
            .unwrap();
        assert_eq!(hex::encode_upper(&out), "05812143F5");
        assert_eq!(
            Address::from_text("0771").unwrap(),
            Address {
                number: "0771".into(),
                toa: 0x81
            }
        );
        assert_eq!(Address::with_toa("447", 145).unwrap().number, "+447");
        assert_eq!(Address::with_toa("+447", 145).unwrap().number, "+447");
        assert_eq!(Address::with_toa("+447", 129).unwrap().number, "447");
        assert_eq!(Address::from_text("*#AbC1").unwrap().number, "*#abc1");
        assert_eq!(Address::from_text("+447").unwrap().digits(), "447");
        assert_eq!(
            Address::from_text(&"1".repeat(20)).map(|a| a.number.len()),
            Ok(20)
        );
        assert_eq!(
            Address::from_text(&"1".repeat(21)),
            Err(PduError::AddressLength)
        );
        assert_eq!(
            Address::from_text(&"1".repeat(30)),
            Err(PduError::AddressLength)
        );
        assert_eq!(Address::from_text("12-34"), Err(PduError::BadAddress));
        assert_eq!(Address::from_text("++1"), Err(PduError::BadAddress));
        assert_eq!(
            Address::alphanumeric("Hello World"),
            Ok(Address {
                number: "Hello World".into(),
                toa: 0xD0
            })
        );
        assert_eq!(
            Address::alphanumeric("Hello World!"),
            Err(PduError::AddressLength)
        );
        assert_eq!(Address::alphanumeric("中"), Err(PduError::BadAddress));
        assert!(Address::with_toa("Shop", 0xD0).unwrap().is_alphanumeric());
        // Alphanumeric "Shop": 4 septets = 28 bits = 7 semi-octets.
        let mut out = Vec::new();
        Address::alphanumeric("Shop")
            .unwrap()
            .write(&mut out)
            .unwrap();
        assert_eq!(hex::encode_upper(&out), "07D053F41B0E");
    }

    #[test]
    fn timestamps() {
        assert_eq!(
            Timestamp::from_octets([0x42, 0x10, 0x51, 0x01, 0x03, 0x00, 0x40]),
            Ok(ts(4))
        );
        assert_eq!(
            ts(4).to_octets(),
            Ok([0x42, 0x10, 0x51, 0x01, 0x03, 0x00, 0x40])
        );
        // -08 quarters: tens 0 with sign bit 8, units 8 → swapped 0x88.
        assert_eq!(ts(-8).to_octets().map(|o| o[6]), Ok(0x88));
        assert_eq!(
            Timestamp::from_octets([0x42, 0x10, 0x51, 0x01, 0x03, 0x00, 0x88]),
            Ok(ts(-8))
        );
        // -22 quarters (-05:30): 2 | 8 = A, units 2 → 0x2A.
        assert_eq!(ts(-22).to_octets().map(|o| o[6]), Ok(0x2A));
        assert_eq!(ts(-22).text(), "24/01/15,10:30:00-22");
        assert_eq!(ts(0).text(), "24/01/15,10:30:00+00");
        assert_eq!(ts(-8).text(), "24/01/15,10:30:00-08");
        assert_eq!(ts(79).to_octets().map(|o| o[6]), Ok(0x97));
        assert_eq!(ts(80).to_octets(), Err(PduError::BadTimestamp));
        assert_eq!(
            Timestamp::from_octets([0x4A, 0x10, 0x51, 0x01, 0x03, 0x00, 0x40]),
            Err(PduError::BadTimestamp)
        );
        assert_eq!(
            Timestamp::from_octets([0x42, 0x10, 0x51, 0x01, 0x03, 0x00, 0xA0]),
            Err(PduError::BadTimestamp)
        );
        // 2024-01-15 09:30:00 UTC shown at +01:00.
        assert_eq!(Timestamp::from_unix(1_705_311_000, 4), ts(4));
        assert_eq!(Timestamp::from_unix(1_705_311_000 + 2 * 3600, -4), ts(-4));
        let leap = Timestamp::from_unix(951_825_600, 0); // 2000-02-29 12:00:00
        assert_eq!((leap.year, leap.month, leap.day, leap.hour), (0, 2, 29, 12));
        let before = Timestamp::from_unix(-1, 0);
        assert_eq!(before.text(), "69/12/31,23:59:59+00");
    }

    #[test]
    fn relative_validity_minutes() {
        let m = |v| Validity::Relative(v).relative_minutes().unwrap();
        assert_eq!(
            (
                m(0),
                m(143),
                m(144),
                m(167),
                m(168),
                m(170),
                m(196),
                m(197),
                m(255)
            ),
            (
                5,
                720,
                750,
                1440,
                2 * 1440,
                4 * 1440,
                30 * 1440,
                5 * 10080,
                63 * 10080
            )
        );
        assert_eq!(Validity::None.relative_minutes(), None);
    }

    #[test]
    fn submit_round_trips() {
        let addresses = [
            Address::from_text("+447700900123").unwrap(),
            Address::from_text("+4477009001234").unwrap(),
            Address::from_text("0771234567").unwrap(),
            Address::from_text("12345").unwrap(),
            Address::from_text("").unwrap(),
            Address::with_toa("*#12abc", 0x81).unwrap(),
            Address::alphanumeric("Shop").unwrap(),
            Address::alphanumeric("Oh{€}x").unwrap(),
        ];
        let validities = [
            Validity::None,
            Validity::Relative(0xA7),
            Validity::Absolute(ts(-22)),
            Validity::Enhanced([0x01, 0x90, 0, 0, 0, 0, 0]),
        ];
        let bodies = [
            (
                Dcs(0x00),
                UserData::from_text("Hi [there] ~ 5€ ^_^ {|}\\", Alphabet::Gsm7).unwrap(),
            ),
            (Dcs(0x10), hello(Alphabet::Gsm7)),
            (
                Dcs(0x04),
                UserData {
                    header: Vec::new(),
                    body: vec![0, 1, 0xFE, 0xFF],
                },
            ),
            (
                Dcs(0xF5),
                UserData {
                    header: Vec::new(),
                    body: vec![0x7F],
                },
            ),
            (
                Dcs(0x08),
                UserData::from_text("Grüße 😀", Alphabet::Ucs2).unwrap(),
            ),
            (
                Dcs(0x19),
                UserData::from_text("flash", Alphabet::Ucs2).unwrap(),
            ),
        ];
        let smscs = [
            None,
            Some(Address::from_text("+447785016005").unwrap()),
            Some(Address::from_text("12345").unwrap()),
        ];
        let mut n = 0;
        for (i, destination) in addresses.iter().enumerate() {
            for (j, validity) in validities.iter().enumerate() {
                for (k, (dcs, user_data)) in bodies.iter().enumerate() {
                    let submit = Submit {
                        reject_duplicates: i % 2 == 0,
                        reply_path: j % 2 == 1,
                        status_report_request: k % 2 == 0,
                        message_reference: (i * 16 + j * 4 + k) as u8,
                        destination: destination.clone(),
                        pid: if k == 3 { 0x41 } else { 0 },
                        dcs: *dcs,
                        validity: *validity,
                        user_data: user_data.clone(),
                    };
                    let pdu = Pdu {
                        smsc: smscs[n % 3].clone(),
                        tpdu: Tpdu::Submit(submit),
                    };
                    round_trip(&pdu, Direction::ToNetwork);
                    n += 1;
                }
            }
        }
        assert_eq!(n, 8 * 4 * 6);
    }

    #[test]
    fn first_octets() {
        let mut s = submit_to(Address::from_text("1").unwrap());
        s.validity = Validity::None;
        assert_eq!(Tpdu::Submit(s.clone()).first_octet(), 0x01);
        s.status_report_request = true;
        s.validity = Validity::Relative(0);
        assert_eq!(Tpdu::Submit(s.clone()).first_octet(), 0x31);
        s.user_data = s.user_data.with_ports(1, 2);
        s.reject_duplicates = true;
        s.reply_path = true;
        s.validity = Validity::Absolute(ts(0));
        assert_eq!(Tpdu::Submit(s.clone()).first_octet(), 0xFD);
        s.validity = Validity::Enhanced([0; 7]);
        assert_eq!(Tpdu::Submit(s).first_octet() & 0x18, 0x08);
    }

    fn deliver(originator: Address, dcs: Dcs, user_data: UserData, tz: i8) -> Deliver {
        Deliver {
            more_messages_to_send: tz % 2 == 0,
            reply_path: false,
            status_report_indication: tz < 0,
            originator,
            pid: 0,
            dcs,
            timestamp: ts(tz),
            user_data,
        }
    }

    #[test]
    fn deliver_round_trips_with_headers() {
        let text_parts =
            crate::sms::user_data::split_text(&"Long [text] ".repeat(30), Alphabet::Gsm7, 0x42)
                .unwrap();
        assert_eq!(text_parts.len(), 3);
        for (i, part) in text_parts.into_iter().enumerate() {
            let d = deliver(
                Address::alphanumeric("Bank").unwrap(),
                Dcs(0),
                part,
                -(i as i8) * 7,
            );
            let pdu = Pdu {
                smsc: Some(Address::from_text("+447785016005").unwrap()),
                tpdu: Tpdu::Deliver(d),
            };
            let octets = round_trip(&pdu, Direction::FromNetwork);
            assert_eq!(octets[8] & 0x40, 0x40, "UDHI set");
        }
        let wide = UserData::from_text("Grüße 😀", Alphabet::Ucs2)
            .unwrap()
            .with_concat(Concat {
                reference: 0xBEEF,
                total: 2,
                sequence: 2,
                wide_reference: true,
            })
            .with_ports(0x0B84, 0x23F0);
        let d = deliver(Address::from_text("+3912345").unwrap(), Dcs(0x08), wide, 40);
        let pdu = Pdu {
            smsc: None,
            tpdu: Tpdu::Deliver(d),
        };
        let octets = round_trip(&pdu, Direction::FromNetwork);
        assert_eq!(octets[1], 0x40, "MMS 0 (more), UDHI");
        let eight = UserData {
            header: vec![InformationElement {
                id: 0x04,
                data: vec![0x10, 0x20],
            }],
            body: vec![1, 2, 3],
        };
        let d = deliver(Address::from_text("99").unwrap(), Dcs(0xF6), eight, -79);
        round_trip(
            &Pdu {
                smsc: None,
                tpdu: Tpdu::Deliver(d),
            },
            Direction::FromNetwork,
        );
        // Message waiting groups decode as their alphabets.
        for dcs in [0xC0, 0xD8, 0xE0] {
            let alphabet = Dcs(dcs).alphabet().unwrap();
            let d = deliver(
                Address::from_text("1").unwrap(),
                Dcs(dcs),
                hello(alphabet),
                1,
            );
            round_trip(
                &Pdu {
                    smsc: None,
                    tpdu: Tpdu::Deliver(d),
                },
                Direction::FromNetwork,
            );
        }
    }

    fn status_report(pi: u8) -> StatusReport {
        StatusReport {
            more_messages_to_send: false,
            status_report_qualifier: pi % 2 == 1,
            message_reference: 0x2C,
            recipient: Address::from_text("+447700900123").unwrap(),
            timestamp: ts(4),
            discharge: ts(-4),
            status: 0,
            pid: (pi & 1 != 0).then_some(0),
            dcs: (pi & 2 != 0).then_some(Dcs(0x08)),
            user_data: (pi & 4 != 0).then(|| {
                let alphabet = if pi & 2 != 0 {
                    Alphabet::Ucs2
                } else {
                    Alphabet::Gsm7
                };
                hello(alphabet)
            }),
        }
    }

    #[test]
    fn status_report_golden_and_round_trips() {
        let pdu = Pdu {
            smsc: None,
            tpdu: Tpdu::StatusReport(status_report(0)),
        };
        assert_eq!(
            pdu.encode_hex().unwrap(),
            "00062C0C914477000910324210510103004042105101030048 00".replace(' ', "")
        );
        for pi in 0..8 {
            let pdu = Pdu {
                smsc: Some(Address::from_text("+1555").unwrap()),
                tpdu: Tpdu::StatusReport(status_report(pi)),
            };
            round_trip(&pdu, Direction::FromNetwork);
        }
        let mut with_header = status_report(4);
        with_header.user_data = with_header.user_data.map(|u| u.with_ports(1, 2));
        let tpdu = Tpdu::StatusReport(with_header);
        assert_eq!(tpdu.first_octet(), 0x46);
        let octets = tpdu.encode().unwrap();
        assert_eq!(Tpdu::decode(&octets, Direction::FromNetwork), Ok(tpdu));
        // A PI of 00 present decodes as no optional fields.
        let octets = hex::decode("06010C9144770009103242105101030040421051010300480000").unwrap();
        let Ok(Tpdu::StatusReport(sr)) = Tpdu::decode(&octets, Direction::FromNetwork) else {
            panic!()
        };
        assert_eq!((sr.pid, sr.dcs, sr.user_data), (None, None, None));
    }

    #[test]
    fn direction_decides_the_type() {
        let submit = hex::decode(&SUBMIT_HELLO[2..]).unwrap();
        assert_eq!(
            Tpdu::decode(&submit, Direction::FromNetwork),
            Err(PduError::UnknownType)
        );
        let deliver = hex::decode(&DELIVER_HELLO[16..]).unwrap();
        assert_eq!(
            Tpdu::decode(&deliver, Direction::ToNetwork),
            Err(PduError::UnknownType)
        );
        assert_eq!(
            Tpdu::decode(&[0x03], Direction::FromNetwork),
            Err(PduError::UnknownType)
        );
        assert_eq!(
            Tpdu::decode(&[0x02], Direction::ToNetwork),
            Err(PduError::UnknownType)
        );
    }

    #[test]
    fn bad_input() {
        let to = Direction::ToNetwork;
        assert_eq!(Pdu::decode_hex("0011000", None, to), Err(PduError::OddHex));
        assert_eq!(Pdu::decode_hex("0011000X", None, to), Err(PduError::NotHex));
        assert_eq!(Pdu::decode_hex("", None, to), Err(PduError::Truncated));
        assert_eq!(
            Pdu::decode_hex(SUBMIT_HELLO, Some(18), to),
            Err(PduError::LengthMismatch)
        );
        assert_eq!(
            Pdu::decode_hex(SUBMIT_HELLO, Some(20), to),
            Err(PduError::LengthMismatch)
        );
        assert_eq!(
            Pdu::decode_hex("07914477", Some(0), to),
            Err(PduError::LengthMismatch)
        );
        // Extra octets after the user data.
        assert_eq!(
            Pdu::decode_hex(&format!("{SUBMIT_HELLO}00"), None, to),
            Err(PduError::TrailingBytes)
        );
        // UDL 06 with 5 octets of 'hello' needs 6 octets.
        let long_udl = SUBMIT_HELLO.replace("AA05E8", "AA06E8");
        assert_eq!(
            Pdu::decode_hex(&long_udl, None, to),
            Err(PduError::UserDataLength)
        );
        // UDL 0xA1 = 161 septets.
        let huge = SUBMIT_HELLO.replace("AA05E8", "AAA1E8");
        assert_eq!(
            Pdu::decode_hex(&huge, None, to),
            Err(PduError::UserDataLength)
        );
        // Reserved DCS 0C and 80, compressed 20.
        for (dcs, err) in [
            ("0C", PduError::ReservedDcs),
            ("80", PduError::ReservedDcs),
            ("20", PduError::Compressed),
        ] {
            let bad = SUBMIT_HELLO.replace("320000AA", &format!("3200{dcs}AA"));
            assert_eq!(Pdu::decode_hex(&bad, None, to), Err(err), "DCS {dcs}");
        }
        // An address of 30 digits (length octet 1E).
        let long_address = format!("0011001E91{}0000AA05E8329BFD06", "21".repeat(15));
        assert_eq!(
            Pdu::decode_hex(&long_address, None, to),
            Err(PduError::AddressLength)
        );
        // An SMSC length of 200 (C8), and of 12.
        assert_eq!(
            Pdu::decode_hex(&format!("C8{}", &SUBMIT_HELLO[2..]), None, to),
            Err(PduError::SmscLength)
        );
        assert_eq!(Pdu::decode(&[0x0C, 0x91], to), Err(PduError::SmscLength));
        // F inside the digits.
        let filler = SUBMIT_HELLO.replace("0C914477", "0C91F477");
        assert_eq!(
            Pdu::decode_hex(&filler, None, to),
            Err(PduError::BadAddress)
        );
        // A reserved enhanced validity format.
        let enhanced = "0009000C91447700091032000007000000000000".to_string() + "05E8329BFD06";
        assert_eq!(
            Pdu::decode_hex(&enhanced, None, to),
            Err(PduError::BadValidity)
        );
        // Bad BCD in the SCTS.
        let bad_scts = DELIVER_HELLO.replace("42105101030040", "421051010300F0");
        assert_eq!(
            Pdu::decode_hex(&bad_scts, None, Direction::FromNetwork),
            Err(PduError::BadTimestamp)
        );
        // UDHI set with a UDHL running past the UD.
        let udh = SUBMIT_HELLO
            .replace("0011000C", "0051000C")
            .replace("05E8329BFD06", "050600030102");
        assert_eq!(Pdu::decode_hex(&udh, None, to), Err(PduError::HeaderLength));
        // Encoding what the wire cannot carry.
        let mut s = submit_to(Address {
            number: "1".repeat(21),
            toa: 0x81,
        });
        assert_eq!(
            Tpdu::Submit(s.clone()).encode(),
            Err(PduError::AddressLength)
        );
        s.destination = Address::from_text("1").unwrap();
        s.dcs = Dcs(0x0C);
        assert_eq!(Tpdu::Submit(s.clone()).encode(), Err(PduError::ReservedDcs));
        let pdu = Pdu {
            smsc: Some(Address {
                number: "1".repeat(21),
                toa: 0x81,
            }),
            tpdu: Tpdu::Submit(submit_to(Address::from_text("1").unwrap())),
        };
        assert_eq!(pdu.encode(), Err(PduError::SmscLength));
    }

    /// SMSC `00`, FO, MR, RA (8 octets), SCTS, DT, ST.
    const STATUS_REPORT_WITHOUT_PI: usize = 1 + 1 + 1 + 8 + 7 + 7 + 1;

    #[test]
    fn every_truncation_of_the_golden_vectors_is_an_error() {
        let vectors = [
            (SUBMIT_HELLO.to_string(), Direction::ToNetwork),
            (DELIVER_HELLO.to_string(), Direction::FromNetwork),
            (telit_request(), Direction::ToNetwork),
            (telit_reply(), Direction::FromNetwork),
            (
                Pdu {
                    smsc: None,
                    tpdu: Tpdu::StatusReport(status_report(7)),
                }
                .encode_hex()
                .unwrap(),
                Direction::FromNetwork,
            ),
        ];
        for (hex_text, direction) in vectors {
            let octets = hex::decode(&hex_text).unwrap();
            assert!(Pdu::decode(&octets, direction).is_ok());
            for cut in 0..octets.len() {
                if cut == STATUS_REPORT_WITHOUT_PI && octets[1] == 0x26 {
                    // The optional part starts here: a status report may end after TP-ST.
                    let Ok(Pdu {
                        tpdu: Tpdu::StatusReport(sr),
                        ..
                    }) = Pdu::decode(&octets[..cut], direction)
                    else {
                        panic!("a status report ending after TP-ST is whole");
                    };
                    assert_eq!((sr.pid, sr.dcs, sr.user_data), (None, None, None));
                    continue;
                }
                assert!(
                    Pdu::decode(&octets[..cut], direction).is_err(),
                    "{hex_text} cut at {cut}"
                );
                assert!(Pdu::decode_hex(&hex_text[..cut * 2], None, direction).is_err());
                assert!(Pdu::decode_hex(&hex_text[..cut * 2 + 1], None, direction).is_err());
            }
        }
    }

    #[test]
    fn errors_display_as_english() {
        assert_eq!(
            PduError::UserDataLength.to_string(),
            "the user data length runs past the PDU or the SMS"
        );
        assert_eq!(
            PduError::SmscLength.to_string(),
            "the SMSC field is longer than 11 octets"
        );
    }

    // ---- the round-trip property over random valid TPDUs ----

    use crate::sms::random::random_pdu;

    #[test]
    fn random_valid_pdus_round_trip() {
        let mut rng = StdRng::seed_from_u64(0x5157_0DE3);
        for _ in 0..10_000 {
            let (pdu, direction) = random_pdu(&mut rng);
            let octets = pdu.encode().unwrap_or_else(|e| panic!("{pdu:?}: {e}"));
            let hex_text = hex::encode_upper(&octets);
            let tpdu_len = pdu.tpdu_len().unwrap();
            let back = Pdu::decode_hex(&hex_text, Some(tpdu_len), direction);
            assert_eq!(back.as_ref(), Ok(&pdu), "{hex_text}");
        }
    }
}
