//! The GSM 03.38 default alphabet with its extension table, and 7-bit packing.
//! Septets are kept one per byte; packing turns them into TP-UD octets.

/// The escape septet that selects the extension table for the next septet.
pub const ESCAPE: u8 = 0x1B;

/// The default alphabet (23.038 §6.2.1), indexed by septet value. 0x1B (the escape) is
/// shown as a space, as 23.038 asks of a receiver that meets a lone escape.
const BASIC: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', ' ', 'Æ', 'æ', 'ß', 'É', //
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
];

/// The extension table (23.038 §6.2.1.1): septet after the escape → char.
const EXTENSION: [(u8, char); 10] = [
    (0x0A, '\u{0C}'),
    (0x14, '^'),
    (0x28, '{'),
    (0x29, '}'),
    (0x2F, '\\'),
    (0x3C, '['),
    (0x3D, '~'),
    (0x3E, ']'),
    (0x40, '|'),
    (0x65, '€'),
];

/// The septet(s) for one char: `[code]` from the default alphabet or `[0x1B, code]` from the
/// extension table; `None` when neither has it.
pub fn char_septets(c: char) -> Option<([u8; 2], usize)> {
    if let Some(&(code, _)) = EXTENSION.iter().find(|&&(_, e)| e == c) {
        return Some(([ESCAPE, code], 2));
    }
    // 0x1B is the escape itself, never a char of its own (its table slot shows a space).
    BASIC
        .iter()
        .enumerate()
        .find(|&(code, &b)| b == c && code != usize::from(ESCAPE))
        .map(|(code, _)| ([code as u8, 0], 1))
}

/// Chars → septet values (extension chars become `0x1B, x`); `Err` names the first char the
/// default alphabet and its extension table cannot carry.
pub fn encode(text: &str) -> Result<Vec<u8>, char> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        let (septets, n) = char_septets(c).ok_or(c)?;
        out.extend_from_slice(&septets[..n]);
    }
    Ok(out)
}

/// Septet values → text. Values above 0x7F are masked to 7 bits. An escape followed by a code
/// the extension table lacks shows the default-alphabet char for that code (23.038 §6.2.1.1);
/// a doubled escape or a trailing one shows a space. Never fails.
pub fn decode(septets: &[u8]) -> String {
    let mut out = String::with_capacity(septets.len());
    let mut iter = septets.iter().map(|&s| s & 0x7F);
    while let Some(s) = iter.next() {
        if s != ESCAPE {
            out.push(BASIC[usize::from(s)]);
            continue;
        }
        match iter.next() {
            None | Some(ESCAPE) => out.push(' '),
            Some(x) => out.push(
                EXTENSION
                    .iter()
                    .find(|&&(code, _)| code == x)
                    .map_or(BASIC[usize::from(x)], |&(_, c)| c),
            ),
        }
    }
    out
}

/// Septets the text needs (extension chars count 2); `None` if a char is not encodable.
pub fn septet_len(text: &str) -> Option<usize> {
    text.chars().map(|c| char_septets(c).map(|(_, n)| n)).sum()
}

/// 7-bit packing, LSB first: septet i occupies bits `fill_bits + 7·i ..` of the output.
/// `fill_bits` (clamped to 0..=6) zero bits come first, as after a user data header.
/// Values above 0x7F are masked to 7 bits.
pub fn pack(septets: &[u8], fill_bits: u8) -> Vec<u8> {
    let fill = usize::from(fill_bits.min(6));
    let bits = fill + 7 * septets.len();
    let mut out = vec![0u8; bits.div_ceil(8)];
    for (i, &s) in septets.iter().enumerate() {
        let bit = fill + 7 * i;
        let (octet, shift) = (bit / 8, bit % 8);
        let value = u16::from(s & 0x7F) << shift;
        out[octet] |= value as u8;
        if shift > 1 {
            out[octet + 1] |= (value >> 8) as u8;
        }
    }
    out
}

/// The inverse of [`pack`]: `count` septets starting after `fill_bits` bits. Stops early when
/// the octets run out (the caller compares the length it gets with `count`).
pub fn unpack(octets: &[u8], count: usize, fill_bits: u8) -> Vec<u8> {
    let fill = usize::from(fill_bits.min(6));
    let available = (octets.len() * 8).saturating_sub(fill) / 7;
    let count = count.min(available);
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let bit = fill + 7 * i;
        let (octet, shift) = (bit / 8, bit % 8);
        let low = u16::from(octets.get(octet).copied().unwrap_or(0));
        let high = u16::from(octets.get(octet + 1).copied().unwrap_or(0));
        out.push((((high << 8) | low) >> shift) as u8 & 0x7F);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_positions_match_the_spec() {
        assert_eq!(encode("@").unwrap(), [0x00]);
        assert_eq!(encode("§¿").unwrap(), [0x5F, 0x60]);
        assert_eq!(
            encode("¤¡ÄÖÑÜäöñüà").unwrap(),
            [
                0x24, 0x40, 0x5B, 0x5C, 0x5D, 0x5E, 0x7B, 0x7C, 0x7D, 0x7E, 0x7F
            ]
        );
        assert_eq!(encode("ΔΞÉ\n\r").unwrap(), [0x10, 0x1A, 0x1F, 0x0A, 0x0D]);
        assert_eq!(encode("hello").unwrap(), [0x68, 0x65, 0x6C, 0x6C, 0x6F]);
    }

    #[test]
    fn extension_chars_are_escaped_pairs() {
        assert_eq!(
            encode("^{}\\[~]|€\u{0C}").unwrap(),
            [
                0x1B, 0x14, 0x1B, 0x28, 0x1B, 0x29, 0x1B, 0x2F, 0x1B, 0x3C, 0x1B, 0x3D, 0x1B, 0x3E,
                0x1B, 0x40, 0x1B, 0x65, 0x1B, 0x0A
            ]
        );
        assert_eq!(septet_len("a€"), Some(3));
        assert_eq!(septet_len("a\u{1B}"), None);
    }

    #[test]
    fn unencodable_chars_are_named() {
        assert_eq!(encode("ab`c"), Err('`'));
        assert_eq!(encode("中"), Err('中'));
        assert_eq!(septet_len("x中"), None);
    }

    #[test]
    fn every_septet_decodes_and_reencodes() {
        for s in 0u8..0x80 {
            if s == ESCAPE {
                continue;
            }
            let text = decode(&[s]);
            assert_eq!(encode(&text).unwrap(), [s], "septet {s:#04X}");
        }
        let ext: Vec<u8> = EXTENSION.iter().flat_map(|&(c, _)| [ESCAPE, c]).collect();
        assert_eq!(encode(&decode(&ext)).unwrap(), ext);
    }

    #[test]
    fn odd_escapes_decode_without_failing() {
        assert_eq!(decode(&[0x1B, 0x41]), "A");
        assert_eq!(decode(&[0x41, 0x1B]), "A ");
        assert_eq!(decode(&[0x1B, 0x1B, 0x42]), " B");
        assert_eq!(decode(&[0xC1]), "A");
    }

    #[test]
    fn packs_hello() {
        let septets = encode("hello").unwrap();
        assert_eq!(pack(&septets, 0), [0xE8, 0x32, 0x9B, 0xFD, 0x06]);
        assert_eq!(unpack(&[0xE8, 0x32, 0x9B, 0xFD, 0x06], 5, 0), septets);
    }

    #[test]
    fn packs_eight_septets_into_seven_octets() {
        // "12345678" is the classic 23.038 example: 31 D9 8C 56 B3 DD 70.
        let septets = encode("12345678").unwrap();
        assert_eq!(
            pack(&septets, 0),
            [0x31, 0xD9, 0x8C, 0x56, 0xB3, 0xDD, 0x70]
        );
        assert_eq!(unpack(&pack(&septets, 0), 8, 0), septets);
        // Seven septets leave seven zero bits that would read as '@': exact counts avoid it.
        let seven = encode("1234567").unwrap();
        assert_eq!(pack(&seven, 0).len(), 7);
        assert_eq!(unpack(&pack(&seven, 0), 7, 0), seven);
    }

    #[test]
    fn packs_with_every_fill() {
        // One fill bit: "hello" shifted left by one.
        assert_eq!(
            pack(&encode("hello").unwrap(), 1),
            [0xD0, 0x65, 0x36, 0xFB, 0x0D]
        );
        let septets: Vec<u8> = (0..30).map(|i| (i * 37 % 128) as u8).collect();
        for fill in 0..=6u8 {
            let packed = pack(&septets, fill);
            assert_eq!(packed.len(), (usize::from(fill) + 7 * 30).div_ceil(8));
            assert_eq!(packed[0] & ((1u8 << fill) - 1), 0, "fill bits are zero");
            assert_eq!(unpack(&packed, 30, fill), septets, "fill {fill}");
        }
    }

    #[test]
    fn unpack_stops_when_octets_run_out() {
        assert_eq!(unpack(&[0xE8, 0x32], 5, 0).len(), 2);
        assert_eq!(unpack(&[], 5, 3), Vec::<u8>::new());
        assert_eq!(unpack(&[0xFF], 2, 6), Vec::<u8>::new());
    }
}
