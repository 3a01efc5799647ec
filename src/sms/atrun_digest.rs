//! Telit's digest SMS ATRUN format: the 30-byte header (code, ids, segment, MD5 digest) that
//! starts the 8-bit user data of a request or reply (spec ../shared/spec/telit.md §B.6).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use md5::{Digest as _, Md5};

/// First three user-data bytes of a request (spec §B.6 "RUNAT request code").
pub const REQUEST_CODE: [u8; 3] = [0xD0; 3];
/// First three user-data bytes of a reply (spec §B.6).
pub const REPLY_CODE: [u8; 3] = [0xD1; 3];
/// Bytes of the digest field: standard base64 of 16 MD5 bytes, `==` padding included.
pub const DIGEST_LEN: usize = 24;
/// code(3) + transaction(1) + segment(1) + session(1) + digest(24).
pub const HEADER_LEN: usize = 3 + 3 + DIGEST_LEN;
/// Useful text one 8-bit SMS carries after the header: 140 − 30 (spec §B.6 [INFERRED]).
pub const MAX_TEXT_PER_SMS: usize = 140 - HEADER_LEN;
/// The most parts a reply has: the segment byte holds the total in a nibble, and the
/// application note truncates long outputs to 15 SMS (spec §B.5 point 6).
pub const MAX_PARTS: usize = 15;

const TRANSACTION_OFFSET: usize = 3;
const SEGMENT_OFFSET: usize = 4;
const SESSION_OFFSET: usize = 5;
const DIGEST_OFFSET: usize = 6;

/// The three id bytes that follow the code. `segment` is (segment number << 4) | total
/// segments, e.g. 0x11 for "1 of 1" (spec §B.6 [INFERRED] from the app note's example).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigestHeader {
    pub transaction: u8,
    pub segment: u8,
    pub session: u8,
}

/// Why user data is not a valid digest request (or reply).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DigestError {
    /// Starts with the expected code but is shorter than the 30-byte header.
    TooShort,
    /// Does not start with `D0 D0 D0` (or `D1 D1 D1` when a reply was expected).
    NotARequest,
    /// The digest field matches none of the passwords tried (none, if the list is empty).
    NoPasswordMatches,
}

impl std::fmt::Display for DigestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DigestError::TooShort => "shorter than the 30-byte digest header",
            DigestError::NotARequest => "does not start with the digest code",
            DigestError::NoPasswordMatches => "the digest matches no white-list password",
        })
    }
}

impl std::error::Error for DigestError {}

/// Standard base64 (with padding) of the MD5 of `bytes`: 24 ASCII chars.
fn b64_md5(bytes: &[u8]) -> String {
    BASE64.encode(Md5::digest(bytes))
}

/// `B64(MD5( B64(MD5(password)) ":" B64(MD5(text)) ))`, 24 chars (spec §B.6). The password
/// counts as its UTF-8 bytes.
pub fn digest(password: &str, text: &[u8]) -> String {
    let mut inner = b64_md5(password.as_bytes()).into_bytes();
    inner.push(b':');
    inner.extend_from_slice(b64_md5(text).as_bytes());
    b64_md5(&inner)
}

/// The header and the digest-verified text of user data that starts with `code`, checked
/// against each password in turn; `Ok` names the first password that matched.
fn verify<'a>(
    code: [u8; 3],
    ud: &[u8],
    passwords: &[&'a str],
) -> Result<(DigestHeader, &'a str, Vec<u8>), DigestError> {
    let code_seen = ud.get(..code.len()).unwrap_or(ud);
    if code.get(..code_seen.len()) != Some(code_seen) {
        return Err(DigestError::NotARequest);
    }
    let (Some(&transaction), Some(&segment), Some(&session), Some(field), Some(text)) = (
        ud.get(TRANSACTION_OFFSET),
        ud.get(SEGMENT_OFFSET),
        ud.get(SESSION_OFFSET),
        ud.get(DIGEST_OFFSET..HEADER_LEN),
        ud.get(HEADER_LEN..),
    ) else {
        return Err(DigestError::TooShort);
    };
    let header = DigestHeader {
        transaction,
        segment,
        session,
    };
    passwords
        .iter()
        .find(|password| digest(password, text).as_bytes() == field)
        .map(|password| (header, *password, text.to_vec()))
        .ok_or(DigestError::NoPasswordMatches)
}

/// Checks a request's user data (TP-UD with no header, spec §B.6) against each password (the
/// ≤2 white-list passwords; the sender is not checked). `Ok` gives the header, the first
/// password that matched and the useful text; whether that text starts with `AT`/`HAT` is the
/// caller's question. User data not starting with `D0 D0 D0` (as far as it goes) is
/// [`DigestError::NotARequest`]; starting with it but shorter than 30 bytes is
/// [`DigestError::TooShort`].
pub fn verify_request<'a>(
    ud: &[u8],
    passwords: &[&'a str],
) -> Result<(DigestHeader, &'a str, Vec<u8>), DigestError> {
    verify(REQUEST_CODE, ud, passwords)
}

/// Checks one reply part (code `D1 D1 D1`) against a password: the header and that part's
/// text. For peers and tests checking what the module sent.
pub fn verify_reply(ud: &[u8], password: &str) -> Result<(DigestHeader, Vec<u8>), DigestError> {
    verify(REPLY_CODE, ud, &[password]).map(|(header, _, text)| (header, text))
}

fn header_bytes(code: [u8; 3], header: DigestHeader, password: &str, text: &[u8]) -> Vec<u8> {
    let mut ud = Vec::with_capacity(HEADER_LEN + text.len());
    ud.extend_from_slice(&code);
    ud.extend_from_slice(&[header.transaction, header.segment, header.session]);
    ud.extend_from_slice(digest(password, text).as_bytes());
    ud.extend_from_slice(text);
    ud
}

/// A request's user data: `D0 D0 D0`, the header's ids, the digest of `text`, then `text`
/// (what a peer sends; no length check — over 110 bytes of text does not fit one SMS).
pub fn request(header: DigestHeader, password: &str, text: &[u8]) -> Vec<u8> {
    header_bytes(REQUEST_CODE, header, password, text)
}

/// The reply's user data parts: `D1 D1 D1`, the request's transaction and session ids, the
/// segment byte `(n << 4) | total` (0x11 for 1 of 1, as in the app note), the digest of that
/// part's own text (spec §B.6), then the text. The text is cut into [`MAX_TEXT_PER_SMS`]
/// chunks; `max_parts` is clamped to 1..=[`MAX_PARTS`] and text past that many parts is
/// dropped (spec §B.5 point 6). Empty text gives one part holding just the header. How the
/// module numbers multi-part digest replies is undocumented (spec §B.6 [UNSURE]): the nibble
/// layout is inferred from the 0x11 of the example.
pub fn reply_parts(
    request: DigestHeader,
    password: &str,
    text: &[u8],
    max_parts: usize,
) -> Vec<Vec<u8>> {
    let max_parts = max_parts.clamp(1, MAX_PARTS);
    let mut chunks: Vec<&[u8]> = text.chunks(MAX_TEXT_PER_SMS).take(max_parts).collect();
    if chunks.is_empty() {
        chunks.push(&[]);
    }
    // At most 15 chunks, so the count and each number fit a nibble.
    let total = chunks.len() as u8;
    chunks
        .into_iter()
        .zip(1u8..)
        .map(|(chunk, number)| {
            let header = DigestHeader {
                segment: (number << 4) | total,
                ..request
            };
            header_bytes(REPLY_CODE, header, password, chunk)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWORD: &str = "1234567890123456";
    const REPLY_TEXT: &[u8] = b"\r\n+COPS: 0,0,\"vodafone IT\"\r\n\r\nOK\r\n";
    const APP_NOTE_HEADER: DigestHeader = DigestHeader {
        transaction: 0x00,
        segment: 0x11,
        session: 0x01,
    };

    fn app_note_request() -> Vec<u8> {
        let mut ud = vec![0xD0, 0xD0, 0xD0, 0x00, 0x11, 0x01];
        ud.extend_from_slice(b"WijCp2qV3sNv+aru20ZUaw==");
        ud.extend_from_slice(b"AT+COPS?");
        ud
    }

    #[test]
    fn golden_vectors_of_the_app_note() {
        assert_eq!(b64_md5(PASSWORD.as_bytes()), "q+rAfTwowb755zAALHU+1A==");
        assert_eq!(b64_md5(b"AT+COPS?"), "mfNxtEBxhS51Zr95hCGgkQ==");
        assert_eq!(digest(PASSWORD, b"AT+COPS?"), "WijCp2qV3sNv+aru20ZUaw==");
        assert_eq!(REPLY_TEXT.len(), 34);
        assert_eq!(b64_md5(REPLY_TEXT), "+57czD4ZLzMEMZnycN4xfA==");
        assert_eq!(digest(PASSWORD, REPLY_TEXT), "Junra7r0kIEcH9qV542n3Q==");
    }

    #[test]
    fn digests_match_the_app_note_hex() {
        // The app note prints the digests as hex: 57696A43…3D3D and 4A756E72…3D3D.
        let request = digest(PASSWORD, b"AT+COPS?");
        assert!(request.as_bytes().starts_with(&[0x57, 0x69, 0x6A, 0x43]));
        assert!(request.as_bytes().ends_with(&[0x3D, 0x3D]));
        let reply = digest(PASSWORD, REPLY_TEXT);
        assert!(reply.as_bytes().starts_with(&[0x4A, 0x75, 0x6E, 0x72]));
        assert_eq!(reply.len(), DIGEST_LEN);
    }

    #[test]
    fn constants_follow_the_layout() {
        assert_eq!(HEADER_LEN, 30);
        assert_eq!(MAX_TEXT_PER_SMS, 110);
    }

    #[test]
    fn app_note_request_verifies() {
        let ud = app_note_request();
        assert_eq!(ud.len(), 38); // UDL 38 = 30 + 8
        assert_eq!(request(APP_NOTE_HEADER, PASSWORD, b"AT+COPS?"), ud);
        let (header, password, text) = verify_request(&ud, &[PASSWORD]).unwrap();
        assert_eq!(header, APP_NOTE_HEADER);
        assert_eq!(password, PASSWORD);
        assert_eq!(text, b"AT+COPS?");
    }

    #[test]
    fn app_note_reply_is_exact() {
        let parts = reply_parts(APP_NOTE_HEADER, PASSWORD, REPLY_TEXT, 15);
        let mut expected = vec![0xD1, 0xD1, 0xD1, 0x00, 0x11, 0x01];
        expected.extend_from_slice(b"Junra7r0kIEcH9qV542n3Q==");
        expected.extend_from_slice(REPLY_TEXT);
        assert_eq!(expected.len(), 64); // UDL 64 = 30 + 34
        assert_eq!(parts, vec![expected]);
        assert_eq!(
            verify_reply(&parts[0], PASSWORD),
            Ok((APP_NOTE_HEADER, REPLY_TEXT.to_vec()))
        );
    }

    #[test]
    fn second_password_matches_and_is_named() {
        let ud = app_note_request();
        let (_, password, _) = verify_request(&ud, &["abcdefghijklmnop", PASSWORD]).unwrap();
        assert_eq!(password, PASSWORD);
    }

    #[test]
    fn wrong_or_missing_password_is_rejected() {
        let ud = app_note_request();
        assert_eq!(
            verify_request(&ud, &["1234567890123457"]),
            Err(DigestError::NoPasswordMatches)
        );
        assert_eq!(
            verify_request(&ud, &[]),
            Err(DigestError::NoPasswordMatches)
        );
    }

    #[test]
    fn tampered_text_or_digest_is_rejected() {
        let mut ud = app_note_request();
        if let Some(last) = ud.last_mut() {
            *last = b'!';
        }
        assert_eq!(
            verify_request(&ud, &[PASSWORD]),
            Err(DigestError::NoPasswordMatches)
        );
        let mut ud = app_note_request();
        ud[DIGEST_OFFSET] = b'X';
        assert_eq!(
            verify_request(&ud, &[PASSWORD]),
            Err(DigestError::NoPasswordMatches)
        );
    }

    #[test]
    fn every_truncated_header_is_too_short() {
        let ud = app_note_request();
        for len in 0..HEADER_LEN {
            assert_eq!(
                verify_request(&ud[..len], &[PASSWORD]),
                Err(DigestError::TooShort),
                "length {len}"
            );
        }
    }

    #[test]
    fn missing_request_code_is_not_a_request() {
        assert_eq!(
            verify_request(b"AT+COPS?", &[PASSWORD]),
            Err(DigestError::NotARequest)
        );
        assert_eq!(
            verify_request(b"A", &[PASSWORD]),
            Err(DigestError::NotARequest)
        );
        let mut ud = app_note_request();
        ud[2] = 0xD1;
        assert_eq!(
            verify_request(&ud, &[PASSWORD]),
            Err(DigestError::NotARequest)
        );
        assert_eq!(
            verify_request(&[0xD0, 0xD1], &[PASSWORD]),
            Err(DigestError::NotARequest)
        );
        // A reply is not a request, and the other way round.
        let reply = reply_parts(APP_NOTE_HEADER, PASSWORD, b"OK", 1);
        assert_eq!(
            verify_request(&reply[0], &[PASSWORD]),
            Err(DigestError::NotARequest)
        );
        assert_eq!(
            verify_reply(&app_note_request(), PASSWORD),
            Err(DigestError::NotARequest)
        );
    }

    #[test]
    fn empty_text_verifies_with_a_bare_header() {
        let ud = request(APP_NOTE_HEADER, PASSWORD, b"");
        assert_eq!(ud.len(), HEADER_LEN);
        let (_, _, text) = verify_request(&ud, &[PASSWORD]).unwrap();
        assert!(text.is_empty());
    }

    fn text_of(len: usize) -> Vec<u8> {
        (0..len).map(|i| b'a' + (i % 26) as u8).collect()
    }

    /// Checks every part and returns the concatenated texts.
    fn check_parts(parts: &[Vec<u8>]) -> Vec<u8> {
        let total = parts.len() as u8;
        let mut joined = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            assert!(part.len() <= 140);
            let (header, text) = verify_reply(part, PASSWORD).unwrap();
            assert_eq!(header.transaction, 0x00);
            assert_eq!(header.session, 0x01);
            assert_eq!(header.segment, ((i as u8 + 1) << 4) | total);
            joined.extend(text);
        }
        joined
    }

    #[test]
    fn part_counts_and_truncation() {
        for (len, count, kept) in [
            (0, 1, 0),
            (1, 1, 1),
            (110, 1, 110),
            (111, 2, 111),
            (220, 2, 220),
            (221, 3, 221),
            (1650, 15, 1650),
            (1651, 15, 1650),
            (2000, 15, 1650),
        ] {
            let text = text_of(len);
            let parts = reply_parts(APP_NOTE_HEADER, PASSWORD, &text, 15);
            assert_eq!(parts.len(), count, "length {len}");
            assert_eq!(check_parts(&parts), text[..kept], "length {len}");
        }
    }

    #[test]
    fn segment_bytes_number_the_parts() {
        let parts = reply_parts(APP_NOTE_HEADER, PASSWORD, &text_of(111), 15);
        let segments: Vec<u8> = parts.iter().map(|p| p[SEGMENT_OFFSET]).collect();
        assert_eq!(segments, [0x12, 0x22]);
        assert_eq!(parts[0].len(), 140);
        assert_eq!(parts[1].len(), 31);
        let parts = reply_parts(APP_NOTE_HEADER, PASSWORD, &text_of(2000), 15);
        assert_eq!(parts[0][SEGMENT_OFFSET], 0x1F);
        assert_eq!(parts[14][SEGMENT_OFFSET], 0xFF);
    }

    #[test]
    fn each_part_digests_its_own_text() {
        let text = text_of(111);
        let parts = reply_parts(APP_NOTE_HEADER, PASSWORD, &text, 15);
        assert_eq!(
            &parts[1][DIGEST_OFFSET..HEADER_LEN],
            digest(PASSWORD, &text[110..]).as_bytes()
        );
    }

    #[test]
    fn max_parts_is_clamped() {
        let text = text_of(2000);
        assert_eq!(reply_parts(APP_NOTE_HEADER, PASSWORD, &text, 3).len(), 3);
        assert_eq!(reply_parts(APP_NOTE_HEADER, PASSWORD, &text, 0).len(), 1);
        assert_eq!(reply_parts(APP_NOTE_HEADER, PASSWORD, &text, 100).len(), 15);
        let parts = reply_parts(APP_NOTE_HEADER, PASSWORD, &text, 3);
        assert_eq!(parts[2][SEGMENT_OFFSET], 0x33);
        assert_eq!(check_parts(&parts), text[..330]);
    }

    #[test]
    fn reply_copies_the_request_ids() {
        let request = DigestHeader {
            transaction: 0x7E,
            segment: 0x11,
            session: 0x42,
        };
        let parts = reply_parts(request, PASSWORD, b"\r\nOK\r\n", 15);
        assert_eq!(parts[0][..6], [0xD1, 0xD1, 0xD1, 0x7E, 0x11, 0x42]);
    }
}
