//! Telit ATRUN on a virtual clock: SMS ATRUN (simple and digest requests, replies, delays,
//! blocking rows) and TCP ATRUN (server, client, firewall, login, sequencing, bridge).

use std::net::SocketAddr;

use super::Harness;
use crate::modem::profile::TELIT;
use crate::modem::telit_ip::Activation;
use crate::modem::*;
use crate::network::sms::Incoming;
use crate::sms::atrun_digest::{self, DigestHeader};
use crate::sms::{Address, Alphabet, Dcs, Deliver, Timestamp, Tpdu, UserData};

const PASSWORD: &str = "1234567890123456";
const MOBILE: &str = "+393468686711";

/// A Telit named "vodafone IT", registered, echo off on instance 1.
fn telit() -> Harness {
    let mut config = ModemConfig::new(&TELIT);
    config.network.operator_long = "vodafone IT".into();
    let mut h = Harness::booted(config);
    h.advance(3000);
    assert_eq!(h.send(b"ATE0\r"), b"ATE0\r\r\nOK\r\n");
    h
}

/// `telit()` with SMS ATRUN on (instance 3), `MOBILE` and the password whitelisted.
fn sms_atrun() -> Harness {
    let mut h = telit();
    assert_eq!(h.cmd("AT#SMSATWL=0,1,0,\"+39346*\""), "\r\nOK\r\n");
    assert_eq!(
        h.cmd(&format!("AT#SMSATWL=0,2,1,\"{PASSWORD}\"")),
        "\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT#SMSATRUN=1"), "\r\nOK\r\n");
    h
}

fn deliver(from: &str, dcs: u8, body: Vec<u8>) -> Incoming {
    Incoming {
        smsc: Address::from_text("+393492000200").expect("smsc"),
        tpdu: Tpdu::Deliver(Deliver {
            more_messages_to_send: false,
            reply_path: false,
            status_report_indication: false,
            originator: Address::from_text(from).expect("originator"),
            pid: 0,
            dcs: Dcs(dcs),
            timestamp: Timestamp::from_unix(1_767_225_600, 4),
            user_data: UserData {
                header: Vec::new(),
                body,
            },
        }),
    }
}

fn text_sms(from: &str, text: &str) -> Incoming {
    let ud = UserData::from_text(text, Alphabet::Gsm7).expect("gsm7 text");
    deliver(from, 0x00, ud.body)
}

fn digest_sms(text: &str, password: &str) -> Incoming {
    let header = DigestHeader {
        transaction: 0,
        segment: 0x11,
        session: 1,
    };
    deliver(
        "+393290000000",
        0x15,
        atrun_digest::request(header, password, text.as_bytes()),
    )
}

/// The text of a submitted 7-bit or 8-bit message part.
fn body_text(h: &Harness, index: usize) -> String {
    let submit = &h.submitted[index].submit;
    match submit.dcs.alphabet() {
        Ok(Alphabet::Gsm7) => submit.user_data.text(Alphabet::Gsm7).unwrap_or_default(),
        _ => String::from_utf8_lossy(&submit.user_data.body).into_owned(),
    }
}

// ----- configuration -----

#[test]
fn sms_atrun_configuration_reads_tests_and_refuses_changes_while_on() {
    let mut h = telit();
    assert_eq!(h.cmd("AT#SMSATRUN?"), "\r\n#SMSATRUN: 0,0\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#SMSATRUN=?"), "\r\n#SMSATRUN: (0,1)\r\n\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT#SMSATRUNCFG?"),
        "\r\n#SMSATRUNCFG: 3,1,5\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd("AT#SMSATRUNCFG=?"),
        "\r\n#SMSATRUNCFG: (2,3),(0,1),(1-60)\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT#SMSATRUNCFG=2,0,60"), "\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT#SMSATRUNCFG?"),
        "\r\n#SMSATRUNCFG: 2,0,60\r\n\r\nOK\r\n"
    );
    for bad in [
        "AT#SMSATRUNCFG=1",
        "AT#SMSATRUNCFG=4",
        "AT#SMSATRUNCFG=2,2",
        "AT#SMSATRUNCFG=2,1,0",
        "AT#SMSATRUNCFG=2,1,61",
    ] {
        assert_eq!(h.cmd(bad), "\r\nERROR\r\n", "{bad}");
    }
    assert_eq!(h.cmd("AT#SMSATRUN=1"), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT#SMSATRUN?"), "\r\n#SMSATRUN: 1,1\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#SMSATRUNCFG=3"), "\r\nERROR\r\n");
    assert_eq!(h.cmd("AT#SMSATRUN=2"), "\r\nERROR\r\n");
    assert_eq!(h.cmd("AT#SMSATRUN=0"), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT#SMSATRUNCFG=3"), "\r\nOK\r\n");
}

#[test]
fn whitelist_adds_prints_deletes_and_enforces_its_limits() {
    let mut h = telit();
    assert_eq!(h.cmd("AT#SMSATWL?"), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT#SMSATWL=0,1,0,\"+39349*\""), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT#SMSATWL=0,3,1,\"1234567890123456\""), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT#SMSATWL=0,4,1,\"abcdefghijklmnop\""), "\r\nOK\r\n");
    // A third password, a 15-character one, a letter in a number, index 9.
    assert_eq!(
        h.cmd("AT#SMSATWL=0,5,1,\"ABCDEFGHIJKLMNOP\""),
        "\r\nERROR\r\n"
    );
    assert_eq!(
        h.cmd("AT#SMSATWL=0,5,1,\"123456789012345\""),
        "\r\nERROR\r\n"
    );
    assert_eq!(h.cmd("AT#SMSATWL=0,5,0,\"+39A\""), "\r\nERROR\r\n");
    assert_eq!(h.cmd("AT#SMSATWL=0,9,0,\"+39\""), "\r\nERROR\r\n");
    assert_eq!(h.cmd("AT#SMSATWL=3,1"), "\r\nERROR\r\n");
    assert_eq!(
        h.cmd("AT#SMSATWL?"),
        "\r\n#SMSATWL: 0,\"+39349*\"\r\n#SMSATWL: 1,\"1234567890123456\"\r\n#SMSATWL: 1,\"abcdefghijklmnop\"\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd("AT#SMSATWL=2,3"),
        "\r\n#SMSATWL: 1,\"1234567890123456\"\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT#SMSATWL=2,2"), "\r\nERROR\r\n");
    assert_eq!(h.cmd("AT#SMSATWL=1,4"), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT#SMSATWL=0,5,1,\"ABCDEFGHIJKLMNOP\""), "\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT#SMSATWL=?"),
        "\r\n#SMSATWL: (0-2),(1-8),(0,1),20\r\n\r\nOK\r\n"
    );
}

#[test]
fn atrundelay_reads_both_services_and_checks_ranges() {
    let mut h = telit();
    assert_eq!(
        h.cmd("AT#ATRUNDELAY?"),
        "\r\n#ATRUNDELAY: 0,0\r\n#ATRUNDELAY: 1,0\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT#ATRUNDELAY=1,10"), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT#ATRUNDELAY=0,30"), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT#ATRUNDELAY=0,31"), "\r\nERROR\r\n");
    assert_eq!(h.cmd("AT#ATRUNDELAY=2,1"), "\r\nERROR\r\n");
    assert_eq!(
        h.cmd("AT#ATRUNDELAY?"),
        "\r\n#ATRUNDELAY: 0,30\r\n#ATRUNDELAY: 1,10\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd("AT#ATRUNDELAY=?"),
        "\r\n#ATRUNDELAY: (0,1),(0-30)\r\n\r\nOK\r\n"
    );
}

// ----- simple requests -----

#[test]
fn a_simple_request_runs_on_instance_3_announces_and_replies_with_exact_bytes() {
    let mut h = sms_atrun();
    let out = h.apply(Input::Sms(text_sms(MOBILE, "AT+COPS?")));
    assert_eq!(out, b"\r\n#SMSATRUN: AT+COPS?\r\n");
    assert_eq!(h.submitted.len(), 1);
    let reply = &h.submitted[0].submit;
    assert_eq!(reply.destination.number, MOBILE);
    assert_eq!(reply.dcs, Dcs(0x00));
    assert_eq!(
        body_text(&h, 0),
        "\r\n+COPS: 0,0,\"vodafone IT\"\r\n\r\nOK\r\n"
    );
    // Never stored, no +CMTI.
    assert_eq!(
        h.cmd("AT+CPMS?"),
        "\r\n+CPMS: \"SM\",0,30,\"SM\",0,30,\"SM\",0,30\r\n\r\nOK\r\n"
    );
}

#[test]
fn hat_runs_without_a_reply_and_gpio_state_changes() {
    let mut h = sms_atrun();
    h.apply(Input::Sms(text_sms(MOBILE, "HAT+CMEE=2")));
    assert!(h.submitted.is_empty());
    // The reserved instance's own settings changed.
    h.apply(Input::Sms(text_sms(MOBILE, "AT+CMEE?")));
    assert_eq!(body_text(&h, 0), "\r\n+CMEE: 2\r\n\r\nOK\r\n");
}

#[test]
fn senders_off_the_whitelist_and_texts_not_at_are_ordinary_sms() {
    let mut h = sms_atrun();
    assert_eq!(h.cmd("AT+CNMI=2,1"), "\r\nOK\r\n");
    let out = h.apply(Input::Sms(text_sms("+441234567890", "AT+COPS?")));
    assert_eq!(out, b"\r\n+CMTI: \"SM\",1\r\n");
    let out = h.apply(Input::Sms(text_sms(MOBILE, "hello AT+COPS?")));
    assert_eq!(out, b"\r\n+CMTI: \"SM\",2\r\n");
    assert!(h.submitted.is_empty());
}

#[test]
fn the_reserved_port_is_mute_until_the_service_is_disabled() {
    let mut h = telit();
    h.open_instance(3);
    assert_eq!(h.send_on(3, b"AT\r"), b"AT\r\r\nOK\r\n");
    assert_eq!(h.cmd("AT#SMSATRUN=1"), "\r\nOK\r\n");
    assert_eq!(h.send_on(3, b"AT\r"), b"");
    assert_eq!(h.cmd("AT#SMSATRUN=0"), "\r\nOK\r\n");
    assert_eq!(h.send_on(3, b"AT\r"), b"AT\r\r\nOK\r\n");
}

#[test]
fn the_sms_delay_holds_the_command_and_later_requests_wait_their_turn() {
    let mut h = sms_atrun();
    assert_eq!(h.cmd("AT#ATRUNDELAY=1,5"), "\r\nOK\r\n");
    h.apply(Input::Sms(text_sms(MOBILE, "AT+CMEE=1")));
    h.apply(Input::Sms(text_sms(MOBILE, "AT+CMEE?")));
    h.advance(4999);
    assert!(h.submitted.is_empty());
    h.advance(1);
    assert_eq!(h.submitted.len(), 1);
    assert_eq!(body_text(&h, 0), "\r\nOK\r\n");
    h.advance(5000);
    assert_eq!(body_text(&h, 1), "\r\n+CMEE: 1\r\n\r\nOK\r\n");
}

#[test]
fn a_long_reply_is_concatenated() {
    let mut h = sms_atrun();
    // 12 IMEIs: 234 characters, two 7-bit parts.
    let line = format!("AT{}", ["+CGSN"; 12].join(";"));
    h.apply(Input::Sms(text_sms(MOBILE, &line)));
    assert_eq!(h.submitted.len(), 2);
    let concat = h.submitted[0]
        .submit
        .user_data
        .concat()
        .expect("concatenated");
    assert_eq!((concat.total, concat.sequence), (2, 1));
    let whole = body_text(&h, 0) + &body_text(&h, 1);
    let imei = "\r\n490154203237518\r\n";
    assert_eq!(whole, imei.repeat(12) + "\r\nOK\r\n");
}

#[test]
fn a_reply_longer_than_fifteen_sms_is_cut_to_fifteen() {
    let mut h = sms_atrun();
    h.apply(Input::Sms(text_sms(MOBILE, "AT+CLAC;+CLAC")));
    let parts = h.submitted.len();
    assert_eq!(parts, 15);
    for (i, submission) in h.submitted.iter().enumerate() {
        let concat = submission.submit.user_data.concat().expect("concatenated");
        assert_eq!((concat.total, concat.sequence), (15, i as u8 + 1));
    }
    let whole: String = (0..parts).map(|i| body_text(&h, i)).collect();
    assert_eq!(whole.len(), 15 * 153);
    assert!(whole.starts_with("\r\nAT&C\r\n"), "{whole:?}");
}

// ----- digest requests -----

#[test]
fn the_app_note_digest_request_gets_the_app_note_digest_reply() {
    let mut h = sms_atrun();
    let out = h.apply(Input::Sms(digest_sms("AT+COPS?", PASSWORD)));
    assert_eq!(out, b"\r\n#SMSATRUN: AT+COPS?\r\n");
    assert_eq!(h.submitted.len(), 1);
    let reply = &h.submitted[0].submit;
    assert_eq!(reply.dcs, Dcs(0x15));
    assert_eq!(reply.destination.number, "+393290000000");
    let mut expected = vec![0xD1, 0xD1, 0xD1, 0x00, 0x11, 0x01];
    expected.extend_from_slice(b"Junra7r0kIEcH9qV542n3Q==");
    expected.extend_from_slice(b"\r\n+COPS: 0,0,\"vodafone IT\"\r\n\r\nOK\r\n");
    assert_eq!(reply.user_data.body, expected);
}

#[test]
fn malformed_digests_never_run_anything() {
    let mut h = sms_atrun();
    assert_eq!(h.cmd("AT+CNMI=2,1"), "\r\nOK\r\n");
    // Wrong password, 7-bit DCS, truncated header.
    h.apply(Input::Sms(digest_sms("AT+CMEE=2", "6543210987654321")));
    let mut seven_bit = digest_sms("AT+CMEE=2", PASSWORD);
    if let Tpdu::Deliver(d) = &mut seven_bit.tpdu {
        d.dcs = Dcs(0x00);
        d.user_data.body.iter_mut().for_each(|b| *b &= 0x7f);
    }
    h.apply(Input::Sms(seven_bit));
    let mut short = digest_sms("AT+CMEE=2", PASSWORD);
    if let Tpdu::Deliver(d) = &mut short.tpdu {
        d.user_data.body.truncate(20);
    }
    h.apply(Input::Sms(short));
    assert!(h.submitted.is_empty());
    assert_eq!(
        h.cmd("AT+CPMS?"),
        "\r\n+CPMS: \"SM\",3,30,\"SM\",3,30,\"SM\",3,30\r\n\r\nOK\r\n"
    );
    h.apply(Input::Sms(text_sms(MOBILE, "AT+CMEE?")));
    assert_eq!(body_text(&h, 0), "\r\n+CMEE: 0\r\n\r\nOK\r\n");
}

// ----- timeout, NVM -----

#[test]
fn a_command_that_never_ends_reboots_the_module_after_the_timeout() {
    let mut h = sms_atrun();
    assert_eq!(h.cmd("AT#SMSATRUN=0"), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT#SMSATRUNCFG=3,1,1"), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT#SMSATRUN=1"), "\r\nOK\r\n");
    // A data call never ends by itself: its reply waits for NO CARRIER.
    h.apply(Input::Sms(text_sms(MOBILE, "ATD*99#")));
    h.advance(59_999);
    assert!(h.submitted.is_empty());
    assert_eq!(h.cmd("AT"), "\r\nOK\r\n");
    h.advance(1);
    // Rebooted: instance 1 is back to echo on, and SMS ATRUN is on again (NVM).
    assert_eq!(h.send(b"AT\r"), b"AT\r\r\nOK\r\n");
    assert_eq!(
        h.send(b"AT#SMSATRUN?\r"),
        b"AT#SMSATRUN?\r\r\n#SMSATRUN: 1,1\r\n\r\nOK\r\n"
    );
}

#[test]
fn configuration_survives_a_reboot() {
    let mut h = sms_atrun();
    assert_eq!(h.cmd("AT#ATRUNDELAY=1,3"), "\r\nOK\r\n");
    let saved = h.nvm_saves.last().cloned().expect("saved");
    let mut config = ModemConfig::new(&TELIT);
    config.nvm = saved;
    let mut h = Harness::booted(config);
    assert_eq!(h.send(b"ATE0\r"), b"ATE0\r\r\nOK\r\n");
    assert_eq!(h.cmd("AT#SMSATRUN?"), "\r\n#SMSATRUN: 1,1\r\n\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT#SMSATWL?"),
        "\r\n#SMSATWL: 0,\"+39346*\"\r\n#SMSATWL: 1,\"1234567890123456\"\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd("AT#ATRUNDELAY?"),
        "\r\n#ATRUNDELAY: 0,0\r\n#ATRUNDELAY: 1,3\r\n\r\nOK\r\n"
    );
    h.open_instance(3);
    assert_eq!(h.send_on(3, b"AT\r"), b"");
}

#[allow(dead_code)]
fn addr(text: &str) -> SocketAddr {
    text.parse().expect("test address")
}

#[allow(dead_code)]
fn up(h: &mut Harness) {
    h.modem.telit.contexts[0].active =
        Some((std::net::Ipv4Addr::new(10, 64, 0, 2), Activation::IpEasy));
}
