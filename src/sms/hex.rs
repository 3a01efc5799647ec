//! Hex text as 27.005 PDU mode prints and reads it (upper-case out, either case in), also used
//! by socket data in hex mode and the event JSON. Errors are PDU errors (malformed hex is a malformed PDU).

use super::PduError;

/// The bytes as upper-case hex, two digits per byte: `[0x00, 0x11, 0xAB]` → `"0011AB"`.
pub fn encode_upper(bytes: &[u8]) -> String {
    encode(bytes, true)
}

/// The bytes as hex, two digits per byte, in upper or lower case.
pub fn encode(bytes: &[u8], upper: bool) -> String {
    let digits: &[u8; 16] = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(digits[usize::from(b >> 4)]));
        out.push(char::from(digits[usize::from(b & 0x0F)]));
    }
    out
}

/// Hex text (either case, no separators) into bytes. A non-hex character is
/// [`PduError::NotHex`] (checked first); an odd number of digits is [`PduError::OddHex`].
pub fn decode(text: &str) -> Result<Vec<u8>, PduError> {
    let digits = text
        .bytes()
        .map(|c| char::from(c).to_digit(16).ok_or(PduError::NotHex))
        .collect::<Result<Vec<u32>, _>>()?;
    if !digits.len().is_multiple_of(2) {
        return Err(PduError::OddHex);
    }
    Ok(digits
        .chunks_exact(2)
        .map(|pair| ((pair[0] << 4) | pair[1]) as u8)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_upper_case() {
        assert_eq!(encode_upper(&[0x00, 0x11, 0xAB, 0xff]), "0011ABFF");
        assert_eq!(encode_upper(&[]), "");
        assert_eq!(encode(&[0xAB, 0x0f], false), "ab0f");
    }

    #[test]
    fn decodes_either_case() {
        assert_eq!(decode("0011abAB").unwrap(), vec![0x00, 0x11, 0xAB, 0xAB]);
        assert_eq!(decode("").unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn rejects_odd_and_non_hex() {
        assert_eq!(decode("001"), Err(PduError::OddHex));
        assert_eq!(decode("0G"), Err(PduError::NotHex));
        assert_eq!(decode("0 11"), Err(PduError::NotHex));
        assert_eq!(decode("é0"), Err(PduError::NotHex));
        assert_eq!(decode("+1"), Err(PduError::NotHex));
    }

    #[test]
    fn round_trips_every_byte() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(decode(&encode_upper(&all)).unwrap(), all);
    }
}
