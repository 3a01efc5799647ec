#![no_main]
//! Fuzz target: the control-plane request parser. The input is a JSON line for
//! `Request::from_json`, or (first byte odd) `simodem ctl` words separated by NUL or newline for
//! `Request::from_words`. Whatever parses must survive `to_json` → `from_value` unchanged.

use libfuzzer_sys::fuzz_target;
use simodem::control::Request;

fn round_trip(request: &Request) {
    let json = request.to_json();
    match Request::from_value(&json) {
        Ok(again) => assert_eq!(&again, request, "{json} parses differently"),
        Err(e) => panic!("{request:?} as {json} does not parse: {e}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    if mode & 1 == 0 {
        if let Ok(request) = Request::from_json(&text) {
            round_trip(&request);
        }
    } else {
        let mut words: Vec<String> = text.split(['\0', '\n']).map(str::to_string).collect();
        let modem = (mode & 2 != 0).then(|| words.remove(0));
        if let Ok(request) = Request::from_words(modem, &words) {
            round_trip(&request);
        }
    }
});
