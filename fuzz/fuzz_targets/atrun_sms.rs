#![no_main]
//! Fuzz target: the SMS ATRUN digest and request classification. Random user data goes to
//! `atrun_digest::verify_request`/`verify_reply` (whatever verifies must rebuild to the same
//! octets); random texts through `request` and `reply_parts` must verify back; and an
//! SMS-DELIVER built from the input (any alphabet, header or not, white-listed sender or not,
//! a real digest request or a damaged one) goes to the classifier, whose accepted command
//! lines always start with `AT`.

use libfuzzer_sys::fuzz_target;
use simodem::modem::fuzz_classify;
use simodem::sms::atrun_digest::{
    self, DigestError, DigestHeader, HEADER_LEN, MAX_PARTS, REQUEST_CODE,
};
use simodem::sms::{Address, Alphabet, Concat, Dcs, Deliver, Timestamp, UserData};

const PASSWORDS: [&str; 3] = ["1234567890123456", "abcdefghijklmnop", "short"];
const NUMBERS: [&str; 4] = ["+39*", "+393468686711", "12345", "+"];
const SENDERS: [&str; 4] = ["+393468686711", "+15550000002", "12345", "+3934"];

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn rest(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.0).to_vec()
    }
}

fuzz_target!(|data: &[u8]| {
    // The raw octets as request and reply user data.
    let passwords: Vec<&str> = PASSWORDS[..2].to_vec();
    match atrun_digest::verify_request(data, &passwords) {
        Ok((header, password, text)) => {
            assert!(passwords.contains(&password));
            assert_eq!(
                atrun_digest::request(header, password, &text),
                data,
                "a verified request does not rebuild to its octets"
            );
        }
        Err(DigestError::TooShort) => {
            let code_seen = &data[..data.len().min(REQUEST_CODE.len())];
            assert!(data.len() < HEADER_LEN && REQUEST_CODE.starts_with(code_seen));
        }
        Err(_) => {}
    }
    if let Ok((header, text)) = atrun_digest::verify_reply(data, PASSWORDS[0]) {
        let rebuilt = atrun_digest::reply_parts(header, PASSWORDS[0], &text, 1);
        if header.segment == 0x11 && text.len() <= atrun_digest::MAX_TEXT_PER_SMS {
            assert_eq!(
                rebuilt,
                vec![data.to_vec()],
                "a verified reply does not rebuild"
            );
        }
    }

    let mut input = Input(data);
    let shape = input.byte();
    let header = DigestHeader {
        transaction: input.byte(),
        segment: input.byte(),
        session: input.byte(),
    };
    let password = PASSWORDS[usize::from(shape % 3)];
    let sender = SENDERS[usize::from(shape >> 2) % SENDERS.len()];
    let damage = input.byte();
    let text = input.rest();

    // Built requests and replies verify back to what went in.
    let request = atrun_digest::request(header, password, &text);
    assert_eq!(
        atrun_digest::verify_request(&request, &[password]),
        Ok((header, password, text.clone())),
        "a built request does not verify"
    );
    let max_parts = usize::from(damage % 17);
    let parts = atrun_digest::reply_parts(header, password, &text, max_parts);
    assert!(!parts.is_empty() && parts.len() <= MAX_PARTS);
    let mut joined = Vec::new();
    for part in &parts {
        match atrun_digest::verify_reply(part, password) {
            Ok((h, t)) => {
                assert_eq!(
                    (h.transaction, h.session),
                    (header.transaction, header.session)
                );
                joined.extend(t);
            }
            Err(e) => panic!("a reply part does not verify: {e}"),
        }
    }
    assert!(text.starts_with(&joined), "reply parts lose or change text");

    // The classifier on an SMS-DELIVER made of it.
    let mut body = match (shape >> 4) % 4 {
        0 => request,
        1 => text.clone(),
        2 => [b"AT".as_slice(), &text].concat(),
        _ => [b"HaT".as_slice(), &text].concat(),
    };
    if damage & 0x80 != 0 && !body.is_empty() {
        let i = usize::from(damage) % body.len();
        body[i] ^= 1 << (damage % 8);
    }
    let alphabet = match (shape >> 6) % 4 {
        0 | 1 => Alphabet::Eight,
        2 => Alphabet::Gsm7,
        _ => Alphabet::Ucs2,
    };
    let mut user_data = UserData {
        header: Vec::new(),
        body,
    };
    if alphabet == Alphabet::Gsm7 {
        let as_text: String = user_data
            .body
            .iter()
            .map(|&b| char::from(b & 0x7F))
            .collect();
        user_data = UserData::from_text(&as_text, Alphabet::Gsm7).unwrap_or(user_data);
    }
    if damage & 0x40 != 0 {
        user_data = user_data.with_concat(Concat {
            reference: 1,
            total: 1,
            sequence: 1,
            wide_reference: false,
        });
    }
    let Ok(originator) = Address::from_text(sender) else {
        return;
    };
    let deliver = Deliver {
        more_messages_to_send: false,
        reply_path: false,
        status_report_indication: false,
        originator,
        pid: 0,
        dcs: Dcs::for_alphabet(alphabet),
        timestamp: Timestamp::from_unix(1_767_225_600, 4),
        user_data,
    };
    let numbers = &NUMBERS[..usize::from(damage % 5)];
    if let Ok((reply, line)) = fuzz_classify(&deliver, numbers, &passwords) {
        assert!(
            line.get(..2).is_some_and(|p| p.eq_ignore_ascii_case(b"AT")),
            "accepted command line {:?} does not start with AT",
            String::from_utf8_lossy(&line)
        );
        let _ = reply;
    }
});
