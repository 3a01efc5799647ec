//! The SMS network of a real world: two modems over PTYs sending each other messages, messages
//! to outside numbers in `sms_sent`, `sms_deliver` injection and its errors, and SMS events.

mod support;

use std::io::Read;
use std::time::Instant;

use serde_json::json;
use simodem::network::ModemSpec;
use support::{Port, TIMEOUT, World, scratch};

fn two_modems(name: &str) -> World {
    let dir = scratch("sms", name);
    World::start(&dir, vec![ModemSpec::default(), ModemSpec::default()], None)
}

/// Reads until the bytes end with `end` (or the hang guard) and returns them as text.
fn read_until(port: &mut Port, end: &str) -> String {
    let deadline = Instant::now() + TIMEOUT;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.ends_with(end.as_bytes()) && Instant::now() < deadline {
        match port.file.read(&mut buf) {
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("read: {e}"),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// Echo off and text mode.
fn text_mode(port: &mut Port) {
    port.exchange(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    port.exchange(b"AT+CMGF=1\r", b"\r\nOK\r\n");
}

#[test]
fn sms_sent_starts_empty_and_bad_deliveries_say_why() {
    let world = two_modems("errors");
    let mut ctl = world.ctl();
    assert_eq!(
        ctl.request(r#"{"verb":"sms_sent"}"#),
        r#"{"ok":true,"sent":[]}"#
    );
    let links: Vec<String> = (0..2)
        .map(|i| world.link(i).display().to_string())
        .collect();
    let cases = [
        (
            r#"{"verb":"sms_deliver","to":"7","from":"+39","text":"x"}"#.to_string(),
            format!(
                "no modem \"7\"; modems: 0 +15550000001 {}, 1 +15550000002 {}",
                links[0], links[1]
            ),
        ),
        (
            r#"{"verb":"sms_deliver","to":"1","from":"+39","text":"x","pdu":"00"}"#.into(),
            "sms_deliver: give text or pdu, not both".into(),
        ),
        (
            r#"{"verb":"sms_deliver","to":"1","from":"+39"}"#.into(),
            "sms_deliver needs text or pdu".into(),
        ),
        (
            r#"{"verb":"sms_deliver","to":"1","from":"+39","text":"x","alphabet":"ebcdic"}"#.into(),
            "alphabet must be gsm, ucs2 or 8bit, not \"ebcdic\"".into(),
        ),
        (
            r#"{"verb":"sms_deliver","to":"1","from":"","text":"x"}"#.into(),
            "sms_deliver: the sender number (from) is empty".into(),
        ),
        (
            r#"{"verb":"sms_deliver","to":"1","pdu":""}"#.into(),
            "the PDU is empty".into(),
        ),
    ];
    for (request, error) in cases {
        assert_eq!(
            ctl.request(&request),
            json!({"ok": false, "error": error}).to_string(),
            "{request}"
        );
    }
    world.stop();
}

#[test]
fn a_modem_texts_another_and_an_outside_number_and_receives_an_injected_sms() {
    let world = two_modems("exchange");
    let mut ctl = world.ctl();
    ctl.wait_registered(0);
    ctl.wait_registered(1);
    let mut events = world.ctl();
    assert_eq!(
        events.request(r#"{"verb":"events"}"#),
        r#"{"ok":true,"events":"subscribed"}"#
    );
    let mut sender = world.port(0);
    let mut receiver = world.port(1);
    text_mode(&mut sender);
    text_mode(&mut receiver);
    receiver.exchange(b"AT+CNMI=2,1\r", b"\r\nOK\r\n");

    sender.exchange(b"AT+CMGS=\"+15550000002\"\r", b"\r\n> ");
    sender.send(b"hello\x1a");
    sender.expect(b"\r\n+CMGS: 0\r\n\r\nOK\r\n");
    receiver.expect(b"\r\n+CMTI: \"SM\",1\r\n");
    receiver.send(b"AT+CMGR=1\r");
    let read = read_until(&mut receiver, "\r\nOK\r\n");
    let header = "\r\n+CMGR: \"REC UNREAD\",\"+15550000001\",\"\",\"";
    assert!(read.starts_with(header), "{read:?}");
    assert!(read.ends_with("+00\"\r\nhello\r\n\r\nOK\r\n"), "{read:?}");

    sender.exchange(b"AT+CMGS=\"+447700900123\"\r", b"\r\n> ");
    sender.send(b"bye\x1a");
    sender.expect(b"\r\n+CMGS: 1\r\n\r\nOK\r\n");
    let mut sent = ctl.request_json(r#"{"verb":"sms_sent","to":"447700900123"}"#);
    let record = &mut sent["sent"][0];
    assert!(
        record["time"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{record}"
    );
    record["time"] = json!("T");
    record["at_ms"] = json!(0);
    assert_eq!(
        sent,
        json!({"ok": true, "sent": [{"modem": 0, "from": "+15550000001", "to": "+447700900123",
            "mr": 1, "pid": 0, "dcs": 0, "text": "bye", "srr": false, "ud": "E27C19",
            "at_ms": 0, "time": "T"}]})
    );

    assert_eq!(
        ctl.request(
            r#"{"verb":"sms_deliver","to":"+15550000002","from":"+393331234567","text":"ciao"}"#
        ),
        r#"{"ok":true,"modem":1,"parts":1}"#
    );
    receiver.expect(b"\r\n+CMTI: \"SM\",2\r\n");
    assert_eq!(
        ctl.request(
            r#"{"verb":"sms_deliver","to":"1","pdu":"0006070B912143658709F0621010000050006210100000600000"}"#
        ),
        json!({"ok": false, "error": "the PDU is an SMS-STATUS-REPORT, not an SMS-DELIVER"})
            .to_string()
    );

    // The events: the first delivery, what went outside, the injected one.
    let mut kinds = Vec::new();
    let deadline = Instant::now() + TIMEOUT;
    while kinds.len() < 4 && Instant::now() < deadline {
        let line: serde_json::Value = serde_json::from_str(&events.read_line()).expect("JSON");
        let kind = line["kind"].as_str().unwrap_or_default().to_string();
        if kind.starts_with("sms") || (kind == "ctl" && line["request"]["verb"] == "sms_deliver") {
            kinds.push((kind, line["modem"].clone()));
        }
    }
    assert_eq!(
        kinds,
        vec![
            ("sms_in".to_string(), json!(1)),
            ("sms_sent".to_string(), json!(0)),
            ("ctl".to_string(), json!(1)),
            ("sms_in".to_string(), json!(1)),
        ]
    );
    world.stop();
}
