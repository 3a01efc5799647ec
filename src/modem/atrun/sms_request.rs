//! Whether a received SMS is an SMS ATRUN request (simple or digest), and the `#SMSATWL`
//! white list that decides it (spec ../shared/spec/telit.md §B.4, §B.5, §B.6).
// Nothing outside the tests uses this until the SMS ATRUN service is wired in.

use serde::{Deserialize, Serialize};

use crate::sms::atrun_digest::{self, DigestHeader};
use crate::sms::tpdu::MAX_ADDRESS_DIGITS;
use crate::sms::{Address, Alphabet, Deliver};

/// Slots of the white list: `#SMSATWL` index 1..=8 (spec §B.4).
pub const WHITELIST_SLOTS: usize = 8;
/// Password entries the white list holds at most (spec §B.4).
pub const MAX_PASSWORDS: usize = 2;
/// Characters of a white-list password, exactly (spec §B.4).
pub const PASSWORD_CHARS: usize = 16;

/// One `#SMSATWL` entry: entryType 0 (phone number) or 1 (password).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WhitelistEntry {
    /// Optional leading `+`, 1..=20 digits, optional trailing `*` (prefix match).
    Number(String),
    /// Exactly 16 characters; used to verify digest requests.
    Password(String),
}

impl WhitelistEntry {
    /// The `<entryType>` of `#SMSATWL`: 0 phone number, 1 password.
    pub fn entry_type(&self) -> u8 {
        match self {
            WhitelistEntry::Number(_) => 0,
            WhitelistEntry::Password(_) => 1,
        }
    }

    /// The `<string>` as stored.
    pub fn text(&self) -> &str {
        match self {
            WhitelistEntry::Number(text) | WhitelistEntry::Password(text) => text,
        }
    }
}

/// Why `#SMSATWL` refuses a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WhitelistError {
    /// Index outside 1..=8.
    BadIndex,
    /// Not an optional `+`, 1..=20 digits and an optional trailing `*`.
    BadNumber,
    /// Not exactly 16 characters.
    BadPassword,
    /// A third password: the list holds at most two.
    TooManyPasswords,
}

impl std::fmt::Display for WhitelistError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WhitelistError::BadIndex => "the white-list index is not 1..8",
            WhitelistError::BadNumber => {
                "a white-list number is an optional '+', 1 to 20 digits and an optional '*'"
            }
            WhitelistError::BadPassword => "a white-list password is exactly 16 characters",
            WhitelistError::TooManyPasswords => "the white list holds at most 2 passwords",
        })
    }
}

impl std::error::Error for WhitelistError {}

/// A number entry split up: whether it has a `+`, its digits, whether it ends in `*`.
struct NumberPattern<'a> {
    international: bool,
    digits: &'a str,
    wildcard: bool,
}

impl<'a> NumberPattern<'a> {
    fn parse(text: &'a str) -> Option<NumberPattern<'a>> {
        let (international, rest) = match text.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (wildcard, digits) = match rest.strip_suffix('*') {
            Some(digits) => (true, digits),
            None => (false, rest),
        };
        let valid = (1..=MAX_ADDRESS_DIGITS).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit());
        valid.then_some(NumberPattern {
            international,
            digits,
            wildcard,
        })
    }

    /// An entry with `+` wants an international originator (one printed with `+`); an entry
    /// without `+` compares digits only, so `"39349*"` also admits `"+393491234567"`.
    fn admits(&self, originator: &str) -> bool {
        let (originator_international, originator_digits) = match originator.strip_prefix('+') {
            Some(digits) => (true, digits),
            None => (false, originator),
        };
        if self.international && !originator_international {
            return false;
        }
        if self.wildcard {
            originator_digits.starts_with(self.digits)
        } else {
            originator_digits == self.digits
        }
    }
}

/// The `#SMSATWL` white list (NVM [INFERRED], spec §B.4): index 1..=8 is `slots[0..8]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Whitelist {
    pub slots: [Option<WhitelistEntry>; WHITELIST_SLOTS],
}

impl Whitelist {
    fn slot_of(index: usize) -> Result<usize, WhitelistError> {
        index
            .checked_sub(1)
            .filter(|slot| *slot < WHITELIST_SLOTS)
            .ok_or(WhitelistError::BadIndex)
    }

    /// Stores `entry` at `index` (1..=8), replacing what was there. A number must be an
    /// optional `+`, 1..=20 digits and an optional trailing `*`; a password exactly 16
    /// characters (any characters; the digest uses its UTF-8 bytes), and at most two
    /// passwords may be stored — replacing a password by a password is fine.
    pub fn set(&mut self, index: usize, entry: WhitelistEntry) -> Result<(), WhitelistError> {
        let slot = Self::slot_of(index)?;
        match &entry {
            WhitelistEntry::Number(text) => {
                NumberPattern::parse(text).ok_or(WhitelistError::BadNumber)?;
            }
            WhitelistEntry::Password(text) => {
                if text.chars().count() != PASSWORD_CHARS {
                    return Err(WhitelistError::BadPassword);
                }
                let others = self
                    .entries()
                    .filter(|(i, e)| *i != index && matches!(e, WhitelistEntry::Password(_)))
                    .count();
                if others >= MAX_PASSWORDS {
                    return Err(WhitelistError::TooManyPasswords);
                }
            }
        }
        if let Some(place) = self.slots.get_mut(slot) {
            *place = Some(entry);
        }
        Ok(())
    }

    /// Empties `index` (1..=8); emptying an empty slot is not an error (undocumented;
    /// [INFERRED]).
    pub fn delete(&mut self, index: usize) -> Result<(), WhitelistError> {
        let slot = Self::slot_of(index)?;
        if let Some(place) = self.slots.get_mut(slot) {
            *place = None;
        }
        Ok(())
    }

    /// The entry at `index` (1..=8); `None` for an empty slot or an index out of range.
    pub fn get(&self, index: usize) -> Option<&WhitelistEntry> {
        Self::slot_of(index)
            .ok()
            .and_then(|slot| self.slots.get(slot))
            .and_then(Option::as_ref)
    }

    /// The stored entries with their index (1..=8), in index order.
    pub fn entries(&self) -> impl Iterator<Item = (usize, &WhitelistEntry)> {
        self.slots
            .iter()
            .zip(1..)
            .filter_map(|(slot, index)| slot.as_ref().map(|entry| (index, entry)))
    }

    /// Whether an originator (as [`Address`] prints it: `+` and digits when international)
    /// matches a number entry, exactly or by the prefix before a trailing `*` (spec §B.4,
    /// §B.5). The `+` comparison is a choice [INFERRED]: an entry with `+` only admits
    /// international originators (`"+39349*"` admits `"+393491234567"` but not
    /// `"393491234567"`); an entry without `+` compares digits only and admits both.
    pub fn number_allowed(&self, number: &str) -> bool {
        self.slots.iter().flatten().any(|entry| match entry {
            WhitelistEntry::Number(text) => {
                NumberPattern::parse(text).is_some_and(|pattern| pattern.admits(number))
            }
            WhitelistEntry::Password(_) => false,
        })
    }

    /// The stored passwords, in index order (at most two).
    pub fn passwords(&self) -> Vec<&str> {
        self.slots
            .iter()
            .flatten()
            .filter_map(|entry| match entry {
                WhitelistEntry::Password(text) => Some(text.as_str()),
                WhitelistEntry::Number(_) => None,
            })
            .collect()
    }
}

/// How a request arrived; the reply takes the same kind and alphabet (spec §B.5 point 6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RequestKind {
    /// Plain text from a white-listed number: `Gsm7` or `Eight`.
    Simple { alphabet: Alphabet },
    /// 8-bit with the digest header, verified with `password` (spec §B.6).
    Digest {
        header: DigestHeader,
        password: String,
    },
}

/// An accepted SMS ATRUN request: processed and discarded, never stored (spec §B.5 point 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SmsRequest {
    pub kind: RequestKind,
    /// The originator, where an `AT…` reply goes.
    pub sender: Address,
    /// The useful text as received (`AT+COPS?`, `HAT#GPIO=2,1`): the `#SMSATRUN: <text>` URC.
    pub text: Vec<u8>,
    /// `true` for `AT…` (a reply SMS is sent), `false` for `HAT…` (none).
    pub reply: bool,
    /// What the reserved instance runs: `text` without a leading `H`, so starting `AT`.
    pub command_line: Vec<u8>,
}

/// `(reply, command line)` when `text` starts with `AT` or `HAT` in any letter case. The spec
/// leaves case open (§B.5 lists the prefix as `AT`/`HAT`); like the DTE's own prefix hunt,
/// `at`, `At`, `hat`, `Hat`… are accepted too, which phones that capitalise the first letter
/// need.
fn split_prefix(text: &[u8]) -> Option<(bool, &[u8])> {
    let starts_with_at = |bytes: &[u8]| {
        bytes
            .get(..2)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"AT"))
    };
    if starts_with_at(text) {
        return Some((true, text));
    }
    match text.split_first() {
        Some((first, rest)) if first.eq_ignore_ascii_case(&b'H') && starts_with_at(rest) => {
            Some((false, rest))
        }
        _ => None,
    }
}

/// A request from its useful text, or why the text is not one.
fn request(kind: RequestKind, sender: &Address, text: Vec<u8>) -> Result<SmsRequest, String> {
    let Some((reply, command_line)) = split_prefix(&text) else {
        return Err("the text does not start with AT or HAT".into());
    };
    let command_line = command_line.to_vec();
    Ok(SmsRequest {
        kind,
        sender: sender.clone(),
        text,
        reply,
        command_line,
    })
}

/// `Ok` when `deliver` is an SMS ATRUN request (spec §B.5); `Err` says in words why not, and
/// the SMS is then an ordinary one. Rules:
/// * any user data header (concatenation, ports) → never a request: requests are single SMS
///   and the digest layout has no UDHI (§B.5 point 6, §B.6);
/// * UCS2 or an unusable DCS → never;
/// * 8-bit user data starting `D0 D0 D0` → digest: verified against the (≤2) white-list
///   passwords, the sender not checked; failing verification it is not tried as simple;
/// * otherwise (GSM 7-bit or 8-bit) → simple: the text must start with `AT`/`HAT` and the
///   sender must be a white-listed number (an alphanumeric sender never is).
///
/// 7-bit text is the decoded characters as UTF-8; 8-bit text is the octets as they came.
pub(crate) fn classify(deliver: &Deliver, whitelist: &Whitelist) -> Result<SmsRequest, String> {
    let user_data = &deliver.user_data;
    if user_data.has_header() {
        return Err(
            "it has a user data header (concatenated or port-addressed SMS are never ATRUN requests)"
                .into(),
        );
    }
    let alphabet = deliver
        .dcs
        .alphabet()
        .map_err(|e| format!("its DCS {:02X} is unusable: {e}", deliver.dcs.0))?;
    let sender = &deliver.originator;
    match alphabet {
        Alphabet::Ucs2 => Err("it is UCS2; requests are GSM 7-bit or 8-bit".into()),
        Alphabet::Eight if user_data.body.starts_with(&atrun_digest::REQUEST_CODE) => {
            let passwords = whitelist.passwords();
            let (header, password, text) =
                atrun_digest::verify_request(&user_data.body, &passwords)
                    .map_err(|e| format!("its digest header fails verification: {e}"))?;
            let kind = RequestKind::Digest {
                header,
                password: password.to_string(),
            };
            request(kind, sender, text)
        }
        Alphabet::Gsm7 | Alphabet::Eight => {
            let text = match alphabet {
                Alphabet::Eight => user_data.body.clone(),
                _ => user_data.text(alphabet).unwrap_or_default().into_bytes(),
            };
            let accepted = request(RequestKind::Simple { alphabet }, sender, text)?;
            if sender.is_alphanumeric() || !whitelist.number_allowed(&sender.number) {
                return Err(format!(
                    "the sender {} is not on the #SMSATWL white list",
                    sender.number
                ));
            }
            Ok(accepted)
        }
    }
}

/// Fuzzing entry point (`fuzz/fuzz_targets/atrun_sms.rs`): [`classify`] against a white list
/// of `numbers` then `passwords` in slots 1.. (entries the list refuses are left out). An
/// accepted request gives whether a reply SMS goes back and the command line it runs.
#[doc(hidden)]
pub fn fuzz_classify(
    deliver: &Deliver,
    numbers: &[&str],
    passwords: &[&str],
) -> Result<(bool, Vec<u8>), String> {
    let mut whitelist = Whitelist::default();
    let entries = numbers
        .iter()
        .map(|n| WhitelistEntry::Number((*n).to_string()))
        .chain(
            passwords
                .iter()
                .map(|p| WhitelistEntry::Password((*p).to_string())),
        );
    let mut index = 1;
    for entry in entries {
        if index > WHITELIST_SLOTS {
            break;
        }
        if whitelist.set(index, entry).is_ok() {
            index += 1;
        }
    }
    classify(deliver, &whitelist).map(|request| (request.reply, request.command_line))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sms::atrun_digest::{REPLY_CODE, request as digest_request};
    use crate::sms::{Concat, Dcs, Direction, Timestamp, Tpdu, UserData, gsm7};

    const PASSWORD: &str = "1234567890123456";
    const OTHER_PASSWORD: &str = "abcdefghijklmnop";
    const SENDER: &str = "+393468686711";
    const APP_NOTE_HEADER: DigestHeader = DigestHeader {
        transaction: 0x00,
        segment: 0x11,
        session: 0x01,
    };

    fn number(text: &str) -> WhitelistEntry {
        WhitelistEntry::Number(text.into())
    }

    fn password(text: &str) -> WhitelistEntry {
        WhitelistEntry::Password(text.into())
    }

    fn deliver_from(originator: Address, dcs: u8, body: Vec<u8>) -> Deliver {
        Deliver {
            more_messages_to_send: false,
            reply_path: false,
            status_report_indication: false,
            originator,
            pid: 0,
            dcs: Dcs(dcs),
            timestamp: Timestamp::from_unix(0, 0),
            user_data: UserData {
                header: Vec::new(),
                body,
            },
        }
    }

    fn deliver(originator: &str, dcs: u8, body: Vec<u8>) -> Deliver {
        deliver_from(Address::from_text(originator).unwrap(), dcs, body)
    }

    fn text7(originator: &str, text: &str) -> Deliver {
        deliver(originator, 0x00, gsm7::encode(text).unwrap())
    }

    fn list(entries: &[(usize, WhitelistEntry)]) -> Whitelist {
        let mut whitelist = Whitelist::default();
        for (index, entry) in entries {
            whitelist.set(*index, entry.clone()).unwrap();
        }
        whitelist
    }

    fn sender_listed() -> Whitelist {
        list(&[(1, number(SENDER)), (2, password(PASSWORD))])
    }

    // ---- white list ----

    #[test]
    fn set_get_delete_by_index() {
        let mut whitelist = Whitelist::default();
        assert_eq!(whitelist.set(1, number("+39*")), Ok(()));
        assert_eq!(whitelist.set(8, number("0612345678")), Ok(()));
        assert_eq!(whitelist.get(1), Some(&number("+39*")));
        assert_eq!(whitelist.slots[7], Some(number("0612345678")));
        assert_eq!(whitelist.get(2), None);
        assert_eq!(whitelist.delete(1), Ok(()));
        assert_eq!(whitelist.get(1), None);
        assert_eq!(whitelist.delete(1), Ok(()));
        let indexes: Vec<usize> = whitelist.entries().map(|(i, _)| i).collect();
        assert_eq!(indexes, [8]);
    }

    #[test]
    fn indexes_outside_1_to_8_are_refused() {
        let mut whitelist = Whitelist::default();
        for index in [0, 9, usize::MAX] {
            assert_eq!(
                whitelist.set(index, number("1")),
                Err(WhitelistError::BadIndex)
            );
            assert_eq!(whitelist.delete(index), Err(WhitelistError::BadIndex));
            assert_eq!(whitelist.get(index), None);
        }
        assert_eq!(whitelist, Whitelist::default());
    }

    #[test]
    fn numbers_are_validated() {
        let mut whitelist = Whitelist::default();
        let twenty = "12345678901234567890";
        for good in [
            "+39*",
            "+39349*",
            "1",
            "+393468686711",
            twenty,
            "+12345678901234567890*",
        ] {
            assert_eq!(whitelist.set(1, number(good)), Ok(()), "{good}");
        }
        let twenty_one = "123456789012345678901";
        for bad in [
            "", "+", "*", "+*", "39**", "3*9", "++39", "39+", "+39 349", "abc", "#31#", twenty_one,
        ] {
            assert_eq!(
                whitelist.set(1, number(bad)),
                Err(WhitelistError::BadNumber),
                "{bad}"
            );
        }
    }

    #[test]
    fn passwords_are_16_chars_and_at_most_two() {
        let mut whitelist = Whitelist::default();
        for bad in ["", "123456789012345", "12345678901234567"] {
            assert_eq!(
                whitelist.set(1, password(bad)),
                Err(WhitelistError::BadPassword)
            );
        }
        assert_eq!(whitelist.set(1, password(PASSWORD)), Ok(()));
        assert_eq!(whitelist.set(5, password(OTHER_PASSWORD)), Ok(()));
        assert_eq!(
            whitelist.set(2, password("0000000000000000")),
            Err(WhitelistError::TooManyPasswords)
        );
        // Replacing a password slot by a password, or a number by a number, is fine.
        assert_eq!(whitelist.set(1, password("0000000000000000")), Ok(()));
        assert_eq!(whitelist.set(2, number("+39*")), Ok(()));
        assert_eq!(whitelist.passwords(), ["0000000000000000", OTHER_PASSWORD]);
        // A password slot can become a number, freeing a password place.
        assert_eq!(whitelist.set(1, number("+44*")), Ok(()));
        assert_eq!(whitelist.set(3, password(PASSWORD)), Ok(()));
        assert_eq!(whitelist.passwords(), [PASSWORD, OTHER_PASSWORD]);
    }

    #[test]
    fn entry_type_and_text_for_the_read_command() {
        assert_eq!(number("+39*").entry_type(), 0);
        assert_eq!(number("+39*").text(), "+39*");
        assert_eq!(password(PASSWORD).entry_type(), 1);
        assert_eq!(password(PASSWORD).text(), PASSWORD);
    }

    #[test]
    fn exact_and_wildcard_number_matching() {
        let whitelist = list(&[(1, number("+393468686711")), (2, number("+44*"))]);
        assert!(whitelist.number_allowed("+393468686711"));
        assert!(!whitelist.number_allowed("+3934686867110"));
        assert!(!whitelist.number_allowed("+39346868671"));
        assert!(whitelist.number_allowed("+447700900123"));
        assert!(whitelist.number_allowed("+44"));
        assert!(!whitelist.number_allowed("+4"));
        assert!(!whitelist.number_allowed("+337700900123"));
        assert!(!Whitelist::default().number_allowed("+393468686711"));
    }

    #[test]
    fn plus_in_the_entry_wants_an_international_originator() {
        let with_plus = list(&[(1, number("+39349*"))]);
        assert!(with_plus.number_allowed("+393491234567"));
        assert!(!with_plus.number_allowed("393491234567"));
        let without_plus = list(&[(1, number("39349*"))]);
        assert!(without_plus.number_allowed("+393491234567"));
        assert!(without_plus.number_allowed("393491234567"));
        let exact = list(&[(1, number("393491234567"))]);
        assert!(exact.number_allowed("+393491234567"));
        assert!(exact.number_allowed("393491234567"));
    }

    #[test]
    fn passwords_never_match_numbers() {
        let whitelist = list(&[(1, password("1234567890123456"))]);
        assert!(!whitelist.number_allowed("1234567890123456"));
    }

    #[test]
    fn whitelist_round_trips_through_json() {
        let whitelist = sender_listed();
        let json = serde_json::to_string(&whitelist).unwrap();
        let back: Whitelist = serde_json::from_str(&json).unwrap();
        assert_eq!(back, whitelist);
        let empty: Whitelist = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, Whitelist::default());
    }

    // ---- classification: simple ----

    #[test]
    fn simple_7bit_request_from_a_listed_number() {
        let request = classify(&text7(SENDER, "AT+COPS?"), &sender_listed()).unwrap();
        assert_eq!(
            request,
            SmsRequest {
                kind: RequestKind::Simple {
                    alphabet: Alphabet::Gsm7
                },
                sender: Address::from_text(SENDER).unwrap(),
                text: b"AT+COPS?".to_vec(),
                reply: true,
                command_line: b"AT+COPS?".to_vec(),
            }
        );
    }

    #[test]
    fn hat_runs_without_the_h_and_asks_no_reply() {
        let request = classify(&text7(SENDER, "HAT#GPIO=2,1"), &sender_listed()).unwrap();
        assert_eq!(request.text, b"HAT#GPIO=2,1");
        assert_eq!(request.command_line, b"AT#GPIO=2,1");
        assert!(!request.reply);
    }

    #[test]
    fn simple_8bit_request() {
        let deliver = deliver(SENDER, 0x04, b"AT+CGMR;+CGSN".to_vec());
        let request = classify(&deliver, &sender_listed()).unwrap();
        assert_eq!(
            request.kind,
            RequestKind::Simple {
                alphabet: Alphabet::Eight
            }
        );
        assert_eq!(request.command_line, b"AT+CGMR;+CGSN");
        // 8-bit bodies are passed on as they came, bytes outside ASCII included.
        let deliver = deliver_from(
            Address::from_text(SENDER).unwrap(),
            0xF5,
            b"AT\\Q3\xFF".to_vec(),
        );
        let request = classify(&deliver, &sender_listed()).unwrap();
        assert_eq!(request.command_line, b"AT\\Q3\xFF");
    }

    #[test]
    fn prefix_letter_case_is_free() {
        let whitelist = sender_listed();
        for (text, reply, line) in [
            ("at+cops?", true, "at+cops?"),
            ("At+cops?", true, "At+cops?"),
            ("aT", true, "aT"),
            ("AT", true, "AT"),
            ("hat+cfun=1", false, "at+cfun=1"),
            ("Hat+cfun=1", false, "at+cfun=1"),
            ("HAT", false, "AT"),
        ] {
            let request = classify(&text7(SENDER, text), &whitelist).unwrap();
            assert_eq!(request.reply, reply, "{text}");
            assert_eq!(request.command_line, line.as_bytes(), "{text}");
        }
    }

    #[test]
    fn text_must_start_with_at_or_hat() {
        let whitelist = sender_listed();
        for text in ["", "A", "H", "HA", " AT+COPS?", "Hello", "HHAT", "TA"] {
            let why = classify(&text7(SENDER, text), &whitelist).unwrap_err();
            assert!(why.contains("AT or HAT"), "{text}: {why}");
        }
    }

    #[test]
    fn unlisted_or_alphanumeric_sender_is_refused() {
        let whitelist = sender_listed();
        let why = classify(&text7("+393468686712", "AT+COPS?"), &whitelist).unwrap_err();
        assert!(why.contains("+393468686712"), "{why}");
        let why = classify(&text7(SENDER, "AT"), &Whitelist::default()).unwrap_err();
        assert!(why.contains("white list"), "{why}");
        let alpha = deliver_from(
            Address::alphanumeric("3934686867").unwrap(),
            0x00,
            gsm7::encode("AT").unwrap(),
        );
        let whitelist = list(&[(1, number("39*"))]);
        assert!(classify(&alpha, &whitelist).is_err());
    }

    #[test]
    fn wildcard_entry_admits_a_simple_request() {
        let whitelist = list(&[(3, number("+39346*"))]);
        assert!(classify(&text7(SENDER, "AT+CSQ"), &whitelist).is_ok());
        assert!(classify(&text7("+393471111111", "AT+CSQ"), &whitelist).is_err());
    }

    #[test]
    fn ucs2_and_reserved_dcs_are_never_requests() {
        let ucs2: Vec<u8> = "AT+COPS?"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        let why = classify(&deliver(SENDER, 0x08, ucs2), &sender_listed()).unwrap_err();
        assert!(why.contains("UCS2"), "{why}");
        let why = classify(&deliver(SENDER, 0x80, b"AT".to_vec()), &sender_listed()).unwrap_err();
        assert!(why.contains("DCS 80"), "{why}");
        let compressed = deliver(SENDER, 0x24, b"AT".to_vec());
        assert!(classify(&compressed, &sender_listed()).is_err());
    }

    #[test]
    fn any_user_data_header_rules_a_request_out() {
        let mut concatenated = text7(SENDER, "AT+COPS?");
        concatenated.user_data = concatenated.user_data.with_concat(Concat {
            reference: 1,
            total: 1,
            sequence: 1,
            wide_reference: false,
        });
        let why = classify(&concatenated, &sender_listed()).unwrap_err();
        assert!(why.contains("header"), "{why}");
        let mut digest = deliver(
            SENDER,
            0x15,
            digest_request(APP_NOTE_HEADER, PASSWORD, b"AT"),
        );
        digest.user_data = digest.user_data.with_ports(1000, 1000);
        assert!(classify(&digest, &sender_listed()).is_err());
    }

    // ---- classification: digest ----

    fn app_note_digest(originator: &str) -> Deliver {
        deliver(
            originator,
            0x15,
            digest_request(APP_NOTE_HEADER, PASSWORD, b"AT+COPS?"),
        )
    }

    #[test]
    fn app_note_digest_request_from_any_sender() {
        // The sender is not checked: no number entry at all.
        let whitelist = list(&[(4, password(OTHER_PASSWORD)), (6, password(PASSWORD))]);
        let request = classify(&app_note_digest("+15551234567"), &whitelist).unwrap();
        assert_eq!(
            request.kind,
            RequestKind::Digest {
                header: APP_NOTE_HEADER,
                password: PASSWORD.into()
            }
        );
        assert_eq!(request.sender.number, "+15551234567");
        assert_eq!(request.text, b"AT+COPS?");
        assert_eq!(request.command_line, b"AT+COPS?");
        assert!(request.reply);
    }

    #[test]
    fn app_note_digest_request_through_a_pdu() {
        // As the receiving module sees it: DELIVER, OA +393468686711, DCS 0x15, UDL 38.
        let sms = app_note_digest(SENDER);
        let octets = Tpdu::Deliver(sms.clone()).encode().unwrap();
        let Ok(Tpdu::Deliver(decoded)) = Tpdu::decode(&octets, Direction::FromNetwork) else {
            panic!("not a DELIVER")
        };
        assert_eq!(decoded.user_data.body.len(), 38);
        let request = classify(&decoded, &list(&[(1, password(PASSWORD))])).unwrap();
        assert_eq!(request.command_line, b"AT+COPS?");
    }

    #[test]
    fn digest_hat_request_asks_no_reply() {
        let sms = deliver(
            SENDER,
            0x04,
            digest_request(APP_NOTE_HEADER, PASSWORD, b"HAT#GPIO=2,1"),
        );
        let request = classify(&sms, &list(&[(1, password(PASSWORD))])).unwrap();
        assert!(!request.reply);
        assert_eq!(request.text, b"HAT#GPIO=2,1");
        assert_eq!(request.command_line, b"AT#GPIO=2,1");
    }

    #[test]
    fn failed_digest_is_not_tried_as_simple() {
        // The sender is listed, but the digest fails: not a request at all.
        let whitelist = list(&[(1, number(SENDER)), (2, password(OTHER_PASSWORD))]);
        let why = classify(&app_note_digest(SENDER), &whitelist).unwrap_err();
        assert!(why.contains("digest"), "{why}");
        let why = classify(&app_note_digest(SENDER), &list(&[(1, number(SENDER))])).unwrap_err();
        assert!(why.contains("digest"), "{why}");
    }

    #[test]
    fn truncated_digest_header_is_refused() {
        let sms = deliver(SENDER, 0x04, vec![0xD0, 0xD0, 0xD0, 0x00, 0x11]);
        let why = classify(&sms, &sender_listed()).unwrap_err();
        assert!(why.contains("30-byte"), "{why}");
    }

    #[test]
    fn verified_digest_must_still_start_with_at() {
        let whitelist = list(&[(1, password(PASSWORD))]);
        for text in [&b""[..], b"+COPS?", b"hello"] {
            let sms = deliver(
                SENDER,
                0x04,
                digest_request(APP_NOTE_HEADER, PASSWORD, text),
            );
            let why = classify(&sms, &whitelist).unwrap_err();
            assert!(why.contains("AT or HAT"), "{why}");
        }
    }

    #[test]
    fn a_digest_reply_is_not_a_request() {
        let mut body = digest_request(APP_NOTE_HEADER, PASSWORD, b"AT+COPS?");
        body[..3].copy_from_slice(&REPLY_CODE);
        let sms = deliver(SENDER, 0x15, body);
        let why = classify(&sms, &list(&[(1, password(PASSWORD))])).unwrap_err();
        assert!(why.contains("AT or HAT"), "{why}");
    }

    #[test]
    fn seven_bit_dcs_with_a_d0_looking_body_is_not_a_digest() {
        // The digest octets read as 7-bit: septets, never D0 D0 D0, so the simple path
        // judges it — and its text does not start with AT.
        let octets = digest_request(APP_NOTE_HEADER, PASSWORD, b"AT+COPS?");
        let septets = gsm7::unpack(&octets, octets.len() * 8 / 7, 0);
        let sms = deliver(SENDER, 0x00, septets);
        let why = classify(&sms, &sender_listed()).unwrap_err();
        assert!(why.contains("AT or HAT"), "{why}");
    }
}
