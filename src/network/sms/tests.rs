//! The SMS centre on virtual time: routing between modems, status reports, what goes outside,
//! injected texts and PDUs, and the order of what is due.

use super::*;
use crate::sms::{Concat, Validity};

const EPOCH: i64 = 1_767_225_600; // 2026-01-01 00:00:00 UTC

fn centre(delay_ms: u64) -> SmsCentre {
    let subscriber = |number: &str| Subscriber {
        number: number.into(),
        smsc: "+15550009999".into(),
    };
    SmsCentre::new(
        vec![subscriber("+15550000001"), subscriber("+15550000002")],
        delay_ms,
        EPOCH,
    )
}

fn address(number: &str) -> Address {
    Address {
        number: number.into(),
        toa: if number.starts_with('+') { 0x91 } else { 0x81 },
    }
}

/// A GSM 7-bit SUBMIT of ASCII letters (their septet values are their ASCII codes).
fn submission(to: &str, mr: u8, srr: bool, text: &str) -> Submission {
    Submission {
        smsc: address("+15550009999"),
        submit: Submit {
            reject_duplicates: false,
            reply_path: false,
            status_report_request: srr,
            message_reference: mr,
            destination: address(to),
            pid: 0,
            dcs: Dcs(0),
            validity: Validity::None,
            user_data: UserData {
                header: Vec::new(),
                body: text.bytes().collect(),
            },
        },
    }
}

fn at_second(second: u8) -> Timestamp {
    Timestamp {
        year: 26,
        month: 1,
        day: 1,
        hour: 0,
        minute: 0,
        second,
        tz_quarters: 0,
    }
}

#[test]
fn a_message_to_another_modem_arrives_after_the_delay_and_its_report_follows() {
    let mut centre = centre(1000);
    let routed = centre.submit(
        Instant(5_000_000),
        0,
        submission("+15550000002", 7, true, "hi"),
    );
    assert_eq!(
        routed,
        Routed::ToModem {
            index: 1,
            at: Instant(6_000_000)
        }
    );
    assert_eq!(centre.next_deadline(), Some(Instant(6_000_000)));
    assert_eq!(centre.due(Instant(5_999_999)), Vec::new());
    let due = centre.due(Instant(6_000_000));
    let deliver = Deliver {
        more_messages_to_send: false,
        reply_path: false,
        status_report_indication: true,
        originator: address("+15550000001"),
        pid: 0,
        dcs: Dcs(0),
        timestamp: at_second(5),
        user_data: UserData {
            header: Vec::new(),
            body: b"hi".to_vec(),
        },
    };
    let report = StatusReport {
        more_messages_to_send: false,
        status_report_qualifier: false,
        message_reference: 7,
        recipient: address("+15550000002"),
        timestamp: at_second(5),
        discharge: at_second(6),
        status: 0,
        pid: None,
        dcs: None,
        user_data: None,
    };
    assert_eq!(
        due,
        vec![
            (
                1,
                Incoming {
                    smsc: address("+15550009999"),
                    tpdu: Tpdu::Deliver(deliver)
                }
            ),
            (
                0,
                Incoming {
                    smsc: address("+15550009999"),
                    tpdu: Tpdu::StatusReport(report)
                }
            ),
        ]
    );
    assert_eq!(centre.next_deadline(), None);
    assert_eq!(centre.sent(None), Vec::new());
}

#[test]
fn numbers_match_exactly_or_by_digits_with_or_without_plus() {
    let centre = centre(1000);
    assert_eq!(centre.find_number("+15550000002"), Some(1));
    assert_eq!(centre.find_number("15550000002"), Some(1));
    assert_eq!(centre.find_number("+15550000001"), Some(0));
    assert_eq!(centre.find_number("5550000002"), None);
    assert_eq!(centre.find_number(""), None);
    assert_eq!(centre.find_number("+"), None);
}

#[test]
fn concatenated_parts_stay_parts_between_modems() {
    let mut centre = centre(0);
    let mut part = submission("15550000002", 1, false, "abc");
    part.submit.user_data = part.submit.user_data.with_concat(Concat {
        reference: 9,
        total: 2,
        sequence: 1,
        wide_reference: false,
    });
    let header = part.submit.user_data.header.clone();
    centre.submit(Instant(10), 0, part);
    let due = centre.due(Instant(10));
    assert_eq!(due.len(), 1);
    let Tpdu::Deliver(deliver) = &due[0].1.tpdu else {
        panic!("not a deliver: {due:?}");
    };
    assert_eq!(deliver.user_data.header, header);
    assert_eq!(deliver.user_data.body, b"abc".to_vec());
}

#[test]
fn a_message_to_any_other_number_is_recorded_with_a_report_when_asked() {
    let mut centre = centre(1000);
    let routed = centre.submit(
        Instant(2_500_000),
        1,
        submission("+447700900123", 3, false, "hello"),
    );
    let record = SentRecord {
        modem: 1,
        from: "+15550000002".into(),
        to: "+447700900123".into(),
        mr: 3,
        pid: 0,
        dcs: 0,
        text: Some("hello".into()),
        concat: None,
        srr: false,
        ud: "E8329BFD06".into(),
        at_ms: 2500,
        time: "2026-01-01T00:00:02Z".into(),
    };
    assert_eq!(routed, Routed::Outside(record.clone()));
    assert_eq!(centre.next_deadline(), None);
    assert_eq!(
        serde_json::to_string(&record).expect("json"),
        r#"{"modem":1,"from":"+15550000002","to":"+447700900123","mr":3,"pid":0,"dcs":0,"text":"hello","srr":false,"ud":"E8329BFD06","at_ms":2500,"time":"2026-01-01T00:00:02Z"}"#
    );

    centre.submit(Instant(3_000_000), 0, submission("0771234", 4, true, "x"));
    assert_eq!(centre.next_deadline(), Some(Instant(4_000_000)));
    let due = centre.due(Instant(4_000_000));
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].0, 0);
    assert_eq!(
        due[0].1.summary(),
        IncomingSummary::StatusReport {
            mr: 4,
            recipient: "0771234".into(),
            status: 0
        }
    );
    assert_eq!(centre.sent(Some("447700900123")), vec![record]);
    assert_eq!(centre.sent(Some("+1")), Vec::new());
    assert_eq!(centre.sent(None).len(), 2);
}

#[test]
fn an_injected_long_text_arrives_now_as_parts_with_one_reference_each_time() {
    let mut centre = centre(1000);
    let text = "a".repeat(200);
    let parts = centre.inject(
        Instant(1_000),
        1,
        Some("+393331234567"),
        Injected::Text {
            text: text.clone(),
            alphabet: Alphabet::Gsm7,
        },
    );
    assert_eq!(parts, Ok(2));
    assert_eq!(centre.next_deadline(), Some(Instant(1_000)));
    let due = centre.due(Instant(1_000));
    let concats: Vec<_> = due
        .iter()
        .map(|(index, incoming)| match incoming.summary() {
            IncomingSummary::Deliver {
                from, smsc, concat, ..
            } => (*index, from, smsc, concat),
            other => panic!("not a deliver: {other:?}"),
        })
        .collect();
    let part = |sequence| ConcatInfo {
        reference: 0,
        total: 2,
        sequence,
    };
    assert_eq!(
        concats,
        vec![
            (
                1,
                "+393331234567".into(),
                "+15550009999".into(),
                Some(part(1))
            ),
            (
                1,
                "+393331234567".into(),
                "+15550009999".into(),
                Some(part(2))
            ),
        ]
    );
    centre
        .inject(
            Instant(2_000),
            0,
            Some("+393331234567"),
            Injected::Text {
                text,
                alphabet: Alphabet::Gsm7,
            },
        )
        .expect("inject");
    let again = centre.due(Instant(2_000));
    assert!(matches!(
        again[0].1.summary(),
        IncomingSummary::Deliver {
            concat: Some(ConcatInfo { reference: 1, .. }),
            ..
        }
    ));
    let short = centre.inject(
        Instant(3_000),
        0,
        Some("+39"),
        Injected::Text {
            text: "ciao €".into(),
            alphabet: Alphabet::Ucs2,
        },
    );
    assert_eq!(short, Ok(1));
    match centre.due(Instant(3_000))[0].1.summary() {
        IncomingSummary::Deliver {
            dcs, text, concat, ..
        } => assert_eq!((dcs, text.as_deref(), concat), (8, Some("ciao €"), None)),
        other => panic!("not a deliver: {other:?}"),
    }
}

/// SMSC +15550009999, then a DELIVER from +393331234567, GSM 7-bit "hi", 26/01/01 00:00:05.
const FULL_PDU: &str = "07915155009099F9040C9193331332547600006210100000500002E834";
const BARE_TPDU: &str = "040C9193331332547600006210100000500002E834";

#[test]
fn an_injected_pdu_may_carry_its_smsc_or_not() {
    let mut centre = centre(1000);
    assert_eq!(
        centre.inject(Instant(0), 0, None, Injected::Pdu(FULL_PDU.into())),
        Ok(1)
    );
    assert_eq!(
        centre.inject(Instant(0), 1, None, Injected::Pdu(BARE_TPDU.to_lowercase())),
        Ok(1)
    );
    assert_eq!(
        centre.inject(
            Instant(0),
            1,
            Some("+4412"),
            Injected::Pdu(BARE_TPDU.into())
        ),
        Ok(1)
    );
    let due = centre.due(Instant(0));
    let summary = |from: &str| IncomingSummary::Deliver {
        from: from.into(),
        smsc: "+15550009999".into(),
        dcs: 0,
        text: Some("hi".into()),
        concat: None,
        ud: "E834".into(),
    };
    let got: Vec<_> = due.iter().map(|(i, m)| (*i, m.summary())).collect();
    assert_eq!(
        got,
        vec![
            (0, summary("+393331234567")),
            (1, summary("+393331234567")),
            (1, summary("+4412")),
        ]
    );
}

#[test]
fn bad_injections_say_why() {
    let mut centre = centre(1000);
    let pdu = |hex: &str| Injected::Pdu(hex.into());
    let text = Injected::Text {
        text: "hi".into(),
        alphabet: Alphabet::Gsm7,
    };
    assert_eq!(
        centre.inject(Instant(0), 2, Some("+39"), text.clone()),
        Err("no modem 2; the world has 2".into())
    );
    assert_eq!(
        centre.inject(Instant(0), 0, Some(""), text.clone()),
        Err("the sender number is empty".into())
    );
    assert_eq!(
        centre.inject(Instant(0), 0, None, text),
        Err("a text needs the sender's number (from)".into())
    );
    assert_eq!(
        centre.inject(Instant(0), 0, None, pdu("")),
        Err("the PDU is empty".into())
    );
    let not_hex = centre.inject(Instant(0), 0, None, pdu("0G"));
    assert!(
        not_hex
            .as_ref()
            .is_err_and(|e| e.starts_with("the PDU is not hex: ")),
        "{not_hex:?}"
    );
    // SMSC 00, then a STATUS-REPORT.
    assert_eq!(
        centre.inject(
            Instant(0),
            0,
            None,
            pdu("0006070B912143658709F0621010000050006210100000600000")
        ),
        Err("the PDU is an SMS-STATUS-REPORT, not an SMS-DELIVER".into())
    );
    let truncated = centre.inject(Instant(0), 0, None, pdu(&FULL_PDU[..20]));
    assert!(
        truncated
            .as_ref()
            .is_err_and(|e| e.starts_with("the PDU is not an SMS-DELIVER: ")),
        "{truncated:?}"
    );
    assert_eq!(centre.next_deadline(), None);
}

#[test]
fn what_is_due_at_the_same_time_comes_in_the_order_it_was_queued() {
    let mut centre = centre(0);
    centre.submit(Instant(7), 0, submission("+15550000002", 1, false, "one"));
    centre.submit(Instant(7), 1, submission("+15550000001", 2, false, "two"));
    centre.submit(Instant(5), 1, submission("+15550000001", 3, false, "zero"));
    let bodies: Vec<(usize, Vec<u8>)> = centre
        .due(Instant(7))
        .into_iter()
        .map(|(index, incoming)| match incoming.tpdu {
            Tpdu::Deliver(d) => (index, d.user_data.body),
            other => panic!("not a deliver: {other:?}"),
        })
        .collect();
    assert_eq!(
        bodies,
        vec![
            (0, b"zero".to_vec()),
            (1, b"one".to_vec()),
            (0, b"two".to_vec())
        ]
    );
}

#[test]
fn times_are_utc_from_the_world_epoch() {
    let centre = centre(1000);
    assert_eq!(centre.iso_time(Instant(0)), "2026-01-01T00:00:00Z");
    assert_eq!(
        centre.iso_time(Instant(86_400_000_000 + 3_723_999_999)),
        "2026-01-02T01:02:03Z"
    );
}
