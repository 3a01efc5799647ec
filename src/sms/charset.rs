//! The text-mode character sets of `+CSCS` (GSM, IRA, HEX, UCS2, 8859-1): what the client
//! types after `+CMGS=` into text, and text back into what `+CMGR`/`+CMGL`/`+CMT` print.

use super::{gsm7, hex};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    Gsm,
    Ira,
    Hex,
    Ucs2,
    /// "8859-1"
    Latin1,
    /// "PCCP437" (and "PCDN"), treated as the Latin-1 subset
    Pccp437,
}

impl Charset {
    pub const ALL: [Charset; 6] = [
        Charset::Gsm,
        Charset::Ira,
        Charset::Hex,
        Charset::Ucs2,
        Charset::Latin1,
        Charset::Pccp437,
    ];

    /// The charset of a `+CSCS` name (case-insensitive): "GSM", "IRA", "HEX", "UCS2",
    /// "8859-1", "PCCP437", "PCDN" (served as PCCP437).
    pub fn from_name(name: &str) -> Option<Charset> {
        const NAMES: [(&str, Charset); 7] = [
            ("GSM", Charset::Gsm),
            ("IRA", Charset::Ira),
            ("HEX", Charset::Hex),
            ("UCS2", Charset::Ucs2),
            ("8859-1", Charset::Latin1),
            ("PCCP437", Charset::Pccp437),
            ("PCDN", Charset::Pccp437),
        ];
        NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, c)| c)
    }

    /// The name `+CSCS?` shows.
    pub fn name(self) -> &'static str {
        match self {
            Charset::Gsm => "GSM",
            Charset::Ira => "IRA",
            Charset::Hex => "HEX",
            Charset::Ucs2 => "UCS2",
            Charset::Latin1 => "8859-1",
            Charset::Pccp437 => "PCCP437",
        }
    }
}

/// GSM default-alphabet codes (0x00-0x7F) to text; a code over 0x7F is malformed.
fn gsm_codes_to_text(codes: &[u8]) -> Result<String, ()> {
    if codes.iter().any(|&c| c > 0x7F) {
        return Err(());
    }
    Ok(gsm7::decode(codes))
}

/// Text to GSM codes, '?' for what the alphabet lacks.
fn text_to_gsm_codes(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        let (septets, n) = gsm7::char_septets(c).unwrap_or(([0x3F, 0], 1));
        out.extend_from_slice(&septets[..n]);
    }
    out
}

/// Text from the TE (typed after `+CMGS=`) into chars. Gsm: each byte is a GSM
/// default-alphabet code (0x1B pairs decode the extension); Ira: ASCII only; Latin1/Pccp437:
/// bytes as U+00xx; Hex: pairs of hex digits, each a GSM code; Ucs2: groups of 4 hex digits,
/// UTF-16 units (surrogate pairs combine). `Err(())` on malformed input (a byte over 0x7F
/// for Gsm/Ira/Hex, bad hex, a count of UCS2 digits not a multiple of 4, a lone surrogate).
#[allow(clippy::result_unit_err)]
pub fn te_to_text(input: &[u8], charset: Charset) -> Result<String, ()> {
    match charset {
        Charset::Gsm => gsm_codes_to_text(input),
        Charset::Ira => {
            if input.is_ascii() {
                Ok(input.iter().map(|&b| char::from(b)).collect())
            } else {
                Err(())
            }
        }
        Charset::Latin1 | Charset::Pccp437 => Ok(input.iter().map(|&b| char::from(b)).collect()),
        Charset::Hex => {
            let text = std::str::from_utf8(input).map_err(|_| ())?;
            gsm_codes_to_text(&hex::decode(text).map_err(|_| ())?)
        }
        Charset::Ucs2 => {
            if !input.len().is_multiple_of(4) {
                return Err(());
            }
            let text = std::str::from_utf8(input).map_err(|_| ())?;
            let octets = hex::decode(text).map_err(|_| ())?;
            let units = octets
                .chunks_exact(2)
                .map(|pair| u16::from_be_bytes([pair[0], pair[1]]));
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .map_err(|_| ())
        }
    }
}

/// Chars to the TE in the charset (for `+CMGR`/`+CMGL`/`+CMT` text-mode data and numbers).
/// Gsm: one char per GSM code (U+0000-U+007F; extension chars as the 0x1B pair); Ira/Latin1/
/// Pccp437: the chars themselves (U+0000-U+007F / U+0000-U+00FF, to be written one byte
/// each); Hex: upper-case hex of the GSM codes; Ucs2: upper-case 4-digit UTF-16 units. Chars
/// the charset cannot show become '?'.
pub fn text_to_te(text: &str, charset: Charset) -> String {
    match charset {
        Charset::Gsm => text_to_gsm_codes(text)
            .into_iter()
            .map(char::from)
            .collect(),
        Charset::Hex => hex::encode_upper(&text_to_gsm_codes(text)),
        Charset::Ira => text
            .chars()
            .map(|c| if c.is_ascii() { c } else { '?' })
            .collect(),
        Charset::Latin1 | Charset::Pccp437 => text
            .chars()
            .map(|c| if u32::from(c) <= 0xFF { c } else { '?' })
            .collect(),
        Charset::Ucs2 => text
            .encode_utf16()
            .map(|unit| format!("{unit:04X}"))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for (name, charset) in [
            ("GSM", Charset::Gsm),
            ("IRA", Charset::Ira),
            ("HEX", Charset::Hex),
            ("UCS2", Charset::Ucs2),
            ("8859-1", Charset::Latin1),
            ("PCCP437", Charset::Pccp437),
            ("PCDN", Charset::Pccp437),
            ("ucs2", Charset::Ucs2),
        ] {
            assert_eq!(Charset::from_name(name), Some(charset), "{name}");
        }
        assert_eq!(Charset::from_name("UTF-8"), None);
        assert_eq!(Charset::from_name(""), None);
        for c in [
            Charset::Gsm,
            Charset::Ira,
            Charset::Hex,
            Charset::Ucs2,
            Charset::Latin1,
            Charset::Pccp437,
        ] {
            assert_eq!(Charset::from_name(c.name()), Some(c));
        }
    }

    #[test]
    fn gsm_bytes_are_alphabet_codes() {
        assert_eq!(
            te_to_text(b"\x00Hi\x1B\x65\x1B\x3C\x11", Charset::Gsm),
            Ok("@Hi€[_".to_string())
        );
        assert_eq!(te_to_text(&[0x80], Charset::Gsm), Err(()));
        assert_eq!(
            text_to_te("@Hi€[_", Charset::Gsm),
            "\u{0}Hi\u{1B}\u{65}\u{1B}\u{3C}\u{11}"
        );
        assert_eq!(text_to_te("a中b", Charset::Gsm), "a?b");
    }

    #[test]
    fn ira_is_ascii() {
        assert_eq!(
            te_to_text(b"Hello, {world}", Charset::Ira),
            Ok("Hello, {world}".to_string())
        );
        assert_eq!(te_to_text(&[b'a', 0xE9], Charset::Ira), Err(()));
        assert_eq!(text_to_te("café", Charset::Ira), "caf?");
    }

    #[test]
    fn latin1_bytes_are_code_points() {
        assert_eq!(
            te_to_text(&[b'c', 0xE9, 0xFF], Charset::Latin1),
            Ok("cé\u{FF}".to_string())
        );
        assert_eq!(te_to_text(&[0xE9], Charset::Pccp437), Ok("é".to_string()));
        assert_eq!(text_to_te("cé€", Charset::Latin1), "cé?");
    }

    #[test]
    fn hex_is_gsm_codes() {
        assert_eq!(te_to_text(b"00481B65", Charset::Hex), Ok("@H€".to_string()));
        assert_eq!(te_to_text(b"6869", Charset::Hex), Ok("hi".to_string()));
        assert_eq!(te_to_text(b"4", Charset::Hex), Err(()));
        assert_eq!(te_to_text(b"4G", Charset::Hex), Err(()));
        assert_eq!(te_to_text(b"FF", Charset::Hex), Err(()));
        assert_eq!(text_to_te("@H€", Charset::Hex), "00481B65");
        assert_eq!(text_to_te("中", Charset::Hex), "3F");
    }

    #[test]
    fn ucs2_is_utf16_hex() {
        assert_eq!(te_to_text(b"00480069", Charset::Ucs2), Ok("Hi".to_string()));
        assert_eq!(
            te_to_text(b"20acd83dde00", Charset::Ucs2),
            Ok("€😀".to_string())
        );
        assert_eq!(te_to_text(b"004", Charset::Ucs2), Err(()));
        assert_eq!(te_to_text(b"D83D", Charset::Ucs2), Err(()));
        assert_eq!(te_to_text(b"DE00D83D", Charset::Ucs2), Err(()));
        assert_eq!(te_to_text(b"00ZZ", Charset::Ucs2), Err(()));
        assert_eq!(text_to_te("Hi€😀", Charset::Ucs2), "0048006920ACD83DDE00");
        assert_eq!(text_to_te("+3912", Charset::Ucs2), "002B0033003900310032");
    }

    #[test]
    fn round_trips() {
        let text = "Hello @£$ [x] {y} €5 ÄÖÑÜ§¿ ^~|\\";
        for charset in [Charset::Gsm, Charset::Hex, Charset::Ucs2] {
            let te = text_to_te(text, charset);
            assert_eq!(
                te_to_text(te.as_bytes(), charset).as_deref(),
                Ok(text),
                "{charset:?}"
            );
        }
        let latin = "Grüße ÿ";
        let te: Vec<u8> = text_to_te(latin, Charset::Latin1)
            .chars()
            .map(|c| c as u8)
            .collect();
        assert_eq!(te_to_text(&te, Charset::Latin1).as_deref(), Ok(latin));
    }

    #[test]
    fn nothing_panics_on_any_bytes() {
        let mut state = 0x1234_5678u32;
        for len in 0..64 {
            let input: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    state as u8
                })
                .collect();
            for charset in Charset::ALL {
                let _ = te_to_text(&input, charset);
            }
        }
    }
}
