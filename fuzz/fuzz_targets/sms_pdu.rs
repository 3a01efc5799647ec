#![no_main]
//! Fuzz target: the SMS PDU codec on any octets, both directions: whatever `Pdu::decode` or
//! `Tpdu::decode` accepts must encode, and decode again to the same value (also through
//! `decode_hex` with the declared TPDU length); user-data helpers and the `+CSCS` charsets must
//! not panic on it.

use libfuzzer_sys::fuzz_target;
use simodem::sms::charset::{self, Charset};
use simodem::sms::{Dcs, Direction, Pdu, Tpdu, hex};

fuzz_target!(|data: &[u8]| {
    for direction in [Direction::ToNetwork, Direction::FromNetwork] {
        if let Ok(pdu) = Pdu::decode(data, direction) {
            let again = match pdu.encode() {
                Ok(again) => again,
                Err(e) => panic!("decoded {pdu:?} does not re-encode: {e}"),
            };
            let back = match Pdu::decode(&again, direction) {
                Ok(back) => back,
                Err(e) => panic!(
                    "re-encoded {} does not decode: {e}",
                    hex::encode_upper(&again)
                ),
            };
            assert_eq!(back, pdu, "decode → encode → decode changed the PDU");
            if let Some(ud) = pdu.tpdu.user_data() {
                let _ = ud.concat();
                let _ = ud.ports();
                if let Ok(alphabet) = pdu.tpdu.dcs().unwrap_or(Dcs(0)).alphabet() {
                    let _ = ud.text(alphabet);
                }
            }
            let len = match pdu.tpdu_len() {
                Ok(len) => len,
                Err(e) => panic!("tpdu_len of {pdu:?}: {e}"),
            };
            let declared = Pdu::decode_hex(&hex::encode_upper(&again), Some(len), direction);
            assert_eq!(declared.as_ref(), Ok(&pdu), "decode_hex with length {len}");
        }
        if let Ok(tpdu) = Tpdu::decode(data, direction) {
            let again = match tpdu.encode() {
                Ok(again) => again,
                Err(e) => panic!("decoded {tpdu:?} does not re-encode: {e}"),
            };
            let back = Tpdu::decode(&again, direction);
            assert_eq!(back.as_ref(), Ok(&tpdu), "TPDU decode → encode → decode");
        }
    }
    let as_text = String::from_utf8_lossy(data);
    let _ = hex::decode(&as_text);
    for direction in [Direction::ToNetwork, Direction::FromNetwork] {
        let _ = Pdu::decode_hex(&as_text, None, direction);
        let _ = Pdu::decode_hex(&as_text, Some(data.len() / 2), direction);
    }
    for charset in Charset::ALL {
        if let Ok(text) = charset::te_to_text(data, charset) {
            let _ = charset::text_to_te(&text, charset);
        }
    }
});
