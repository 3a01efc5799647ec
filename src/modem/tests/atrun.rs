//! Telit ATRUN on a virtual clock: SMS ATRUN (simple and digest requests, replies, delays,
//! blocking rows) and TCP ATRUN (server, client, firewall, login, sequencing, bridge).

use std::net::SocketAddr;

use super::Harness;
use crate::modem::profile::TELIT;
use crate::modem::*;
use crate::network::sms::Incoming;
use crate::sms::atrun_digest::{self, DigestHeader};
use crate::sms::{Address, Alphabet, Dcs, Deliver, Timestamp, Tpdu, UserData};

const PASSWORD: &str = "1234567890123456";
const MOBILE: &str = "+393468686711";

/// A Telit named "vodafone IT", registered, echo off on instance 1.
fn telit() -> Harness {
    Harness::telit_on("vodafone IT")
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

// ----- TCP ATRUN -----

fn addr(text: &str) -> SocketAddr {
    text.parse().expect("test address")
}

impl Harness {
    /// Bytes the modem sent on socket `id` since the last call (other requests dropped).
    fn sent_on(&mut self, id: u32) -> Vec<u8> {
        let mut bytes = Vec::new();
        for request in self.requests() {
            if let Output::Socket(SocketId(n), SocketCommand::Send(b)) = request
                && n == id
            {
                bytes.extend(b);
            }
        }
        bytes
    }
}

fn req(id: u32, command: SocketCommand) -> Output {
    Output::Socket(SocketId(id), command)
}

fn data(text: &[u8]) -> SocketEvent {
    SocketEvent::Data(text.to_vec())
}

const LISTEN_6000: SocketCommand = SocketCommand::Listen {
    transport: Transport::Tcp,
    port: 6000,
};

/// `telit()` with context 1 up, socket 1's txTo 0.1 s, a user `alice`/`secret1` and a
/// firewall that lets in 127.0.0.1 only; TCP ATRUN server on port 6000 with `auth_mode`.
fn tcp_server(auth_mode: u32) -> Harness {
    let mut h = telit();
    assert_eq!(h.cmd("AT#SCFG=1,1,300,90,600,1"), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT#SGACT=1,1"), "\r\n#SGACT: 10.64.0.2\r\n\r\nOK\r\n");
    assert_eq!(
        h.cmd(&format!(
            "AT#TCPATRUNCFG=1,2,6000,6001,\"\",1,5,{auth_mode},0,2"
        )),
        "\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd("AT#TCPATRUNAUTH=1,\"alice\",\"secret1\""),
        "\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd("AT#TCPATRUNFRWL=1,\"127.0.0.1\",\"255.255.255.255\""),
        "\r\nOK\r\n"
    );
    h.requests();
    // `OK` once the socket listens, as #SL.
    assert_eq!(h.cmd("AT#TCPATRUNL=1"), "");
    assert_eq!(h.requests(), vec![req(1, LISTEN_6000)]);
    let local = addr("127.0.0.1:6000");
    assert_eq!(h.net(1, SocketEvent::Listening { local }), b"\r\nOK\r\n");
    h
}

/// `tcp_server` with a caller from 127.0.0.1 accepted as real socket 2.
fn tcp_caller(auth_mode: u32) -> Harness {
    let mut h = tcp_server(auth_mode);
    let peer = addr("127.0.0.1:41000");
    assert_eq!(h.net(1, SocketEvent::Incoming { peer }), b"");
    assert_eq!(
        h.requests(),
        vec![
            req(1, SocketCommand::Accept { as_id: SocketId(2) }),
            req(1, SocketCommand::Close { abort: false })
        ]
    );
    let connected = SocketEvent::Connected {
        local: addr("127.0.0.1:6000"),
        peer,
    };
    assert_eq!(h.net(2, connected), b"\r\n#TCPATRUN: 127.0.0.1\r\n");
    h
}

/// `tcp_caller(0)` logged in automatically.
fn logged_in() -> Harness {
    let mut h = tcp_caller(0);
    h.net(2, data(b"alice\rsecret1\r"));
    assert_eq!(h.sent_on(2), b"");
    h
}

#[test]
fn tcp_atrun_configuration_has_ten_parameters_ranges_and_refuses_changes_while_on() {
    let mut h = telit();
    assert_eq!(
        h.cmd("AT#TCPATRUNCFG?"),
        "\r\n#TCPATRUNCFG: 1,2,1024,1024,\"\",1,5,0,0,2\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd("AT#TCPATRUNCFG=1,2,1024,12345,\"212.141.125.127\",1,5,1,5,2"),
        "\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd("AT#TCPATRUNCFG?"),
        "\r\n#TCPATRUNCFG: 1,2,1024,12345,\"212.141.125.127\",1,5,1,5,2\r\n\r\nOK\r\n"
    );
    for bad in [
        "AT#TCPATRUNCFG=0,2,1024,1024,\"\"",
        "AT#TCPATRUNCFG=7,2,1024,1024,\"\"",
        "AT#TCPATRUNCFG=1,1,1024,1024,\"\"",
        "AT#TCPATRUNCFG=1,2,0,1024,\"\"",
        "AT#TCPATRUNCFG=1,2,1024,65536,\"\"",
        "AT#TCPATRUNCFG=1,2,1024,1024",
        "AT#TCPATRUNCFG=1,2,1024,1024,\"\",2",
        "AT#TCPATRUNCFG=1,2,1024,1024,\"\",1,6",
        "AT#TCPATRUNCFG=1,2,1024,1024,\"\",1,5,2",
        "AT#TCPATRUNCFG=1,2,1024,1024,\"\",1,5,0,6",
        "AT#TCPATRUNCFG=1,2,1024,1024,\"\",1,5,0,0,3601",
    ] {
        assert_eq!(h.cmd(bad), "\r\nERROR\r\n", "{bad}");
    }
    assert_eq!(h.cmd("AT#TCPATRUNL=1"), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT#TCPATRUNCFG=1,3,1024,1024,\"\""), "\r\nERROR\r\n");
    assert_eq!(h.cmd("AT#TCPATRUND=1"), "\r\nERROR\r\n");
    // No context yet: enabled but not listening.
    assert_eq!(h.cmd("AT#TCPATRUNL?"), "\r\n#TCPATRUNL: 1,0\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#TCPATRUNL=0"), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT#TCPATRUNCFG=1,3,1024,1024,\"\""), "\r\nOK\r\n");
}

#[test]
fn sms_and_tcp_atrun_cannot_share_an_instance() {
    let mut h = telit();
    assert_eq!(h.cmd("AT#TCPATRUNCFG=1,3,1024,1024,\"\""), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT#SMSATRUN=1"), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT#TCPATRUNL=1"), "\r\nERROR\r\n");
    assert_eq!(h.cmd("AT#SMSATRUN=0"), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT#TCPATRUNL=1"), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT#SMSATRUN=1"), "\r\nERROR\r\n");
}

#[test]
fn the_server_listens_on_the_socket_and_ss_shows_it() {
    let mut h = tcp_server(0);
    assert_eq!(h.cmd("AT#TCPATRUNL?"), "\r\n#TCPATRUNL: 1,1\r\n\r\nOK\r\n");
    let ss = h.cmd("AT#SS");
    assert!(
        ss.starts_with("\r\n#SS: 1,4,10.64.0.2,6000\r\n#SS: 2,0\r\n"),
        "{ss}"
    );
}

#[test]
fn the_firewall_drops_callers_that_match_no_rule() {
    let mut h = tcp_server(0);
    let stranger = addr("127.0.0.2:41000");
    assert_eq!(h.net(1, SocketEvent::Incoming { peer: stranger }), b"");
    assert_eq!(h.requests(), vec![req(1, SocketCommand::Reject)]);
    assert_eq!(h.cmd("AT#TCPATRUNL?"), "\r\n#TCPATRUNL: 1,1\r\n\r\nOK\r\n");
}

#[test]
fn automatic_login_then_commands_answer_on_the_socket() {
    let mut h = logged_in();
    h.net(2, data(b"AT+CGMI\r\n"));
    assert_eq!(h.sent_on(2), b"");
    h.advance(100);
    assert_eq!(h.sent_on(2), b"\r\nTelit\r\n\r\nOK\r\n");
    // The reserved instance starts with echo off; ATE1 brings it.
    h.net(2, data(b"ATE1\r"));
    h.net(2, data(b"AT\r"));
    h.advance(100);
    assert_eq!(h.sent_on(2), b"\r\nOK\r\nAT\r\r\nOK\r\n");
}

#[test]
fn step_by_step_login_prompts_and_does_not_echo() {
    let mut h = tcp_caller(1);
    assert_eq!(h.sent_on(2), b"Username:\r\n");
    h.net(2, data(b"alice\r\n"));
    assert_eq!(h.sent_on(2), b"Password:\r\n");
    h.net(2, data(b"secret1\r\n"));
    assert_eq!(h.sent_on(2), b"Login successful.\r\n");
    h.net(2, data(b"AT#MONI\r"));
    h.advance(100);
    let answer = String::from_utf8(h.sent_on(2)).expect("text");
    assert!(
        answer.ends_with("\r\nOK\r\n") || answer == "\r\nERROR\r\n",
        "{answer:?}"
    );
}

#[test]
fn a_wrong_password_or_unknown_user_closes_with_nothing_run() {
    for (mode, input) in [
        (0, &b"alice\rwrong\rAT+CMEE=2\r"[..]),
        (0, b"mallory\rsecret1\rAT+CMEE=2\r"),
        (0, b"AT+CMEE=2\rAT+CMEE=2\r"),
        (1, b"mallory\r"),
        (1, b"alice\rsecret2\r"),
    ] {
        let mut h = tcp_caller(mode);
        h.requests();
        let out = h.net(2, data(input));
        assert_eq!(out, b"\r\n#TCPATRUN: DISCONNECT\r\n");
        let reqs = h.requests();
        assert!(
            reqs.contains(&req(2, SocketCommand::Close { abort: false })),
            "{reqs:?}"
        );
        assert!(reqs.contains(&req(3, LISTEN_6000)), "{reqs:?}");
        assert!(!reqs.iter().any(|r| matches!(r, Output::Socket(_, SocketCommand::Send(b)) if b.windows(2).any(|w| w == b"OK"))));
        // Nothing ran: the reserved instance's CMEE is still 0.
        h.modem.on_instance(2, |m| assert_eq!(m.settings.cmee, 0));
    }
}

#[test]
fn no_login_within_the_timeout_closes_the_connection() {
    let mut h = tcp_caller(0);
    h.net(2, data(b"alice\r"));
    h.requests();
    let out = h.advance(60_000);
    assert_eq!(out, b"\r\n#TCPATRUN: DISCONNECT\r\n");
    assert_eq!(
        h.requests(),
        vec![
            req(2, SocketCommand::Close { abort: false }),
            req(3, LISTEN_6000)
        ]
    );
}

#[test]
fn cmdseq_off_drops_a_line_arriving_while_one_runs_and_on_queues_it() {
    let mut h = logged_in();
    // B.14's example: the second line of one segment comes while the first runs.
    h.net(2, data(b"AT+CMEE=1\rAT+CMEE?\r"));
    h.advance(200);
    assert_eq!(h.sent_on(2), b"\r\nOK\r\n");
    assert_eq!(h.cmd("AT#ATRUNDELAY=0,1"), "\r\nOK\r\n");
    h.net(2, data(b"AT+CMEE=1\rAT+CMEE?\r"));
    h.advance(2000);
    assert_eq!(h.sent_on(2), b"\r\nOK\r\n");
    assert_eq!(h.cmd("AT#TCPATCMDSEQ=1"), "\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT#TCPATCMDSEQ?"),
        "\r\n#TCPATCMDSEQ: 1\r\n\r\nOK\r\n"
    );
    h.net(2, data(b"AT+CMEE=2\rAT+CMEE?\r"));
    h.advance(1000);
    h.advance(1000);
    h.advance(200);
    assert_eq!(h.sent_on(2), b"\r\nOK\r\n\r\n+CMEE: 2\r\n\r\nOK\r\n");
}

#[test]
fn the_peer_closing_reports_disconnect_and_the_server_listens_again() {
    let mut h = logged_in();
    h.requests();
    assert_eq!(
        h.net(2, SocketEvent::Closed),
        b"\r\n#TCPATRUN: DISCONNECT\r\n"
    );
    assert_eq!(
        h.requests(),
        vec![
            req(2, SocketCommand::Close { abort: false }),
            req(3, LISTEN_6000)
        ]
    );
}

#[test]
fn tcpatrunclose_closes_and_the_service_restarts() {
    let mut h = logged_in();
    h.requests();
    assert_eq!(
        h.cmd("AT#TCPATRUNCLOSE"),
        "\r\nOK\r\n\r\n#TCPATRUN: DISCONNECT\r\n"
    );
    assert_eq!(
        h.requests(),
        vec![
            req(2, SocketCommand::Close { abort: false }),
            req(3, LISTEN_6000)
        ]
    );
}

#[test]
fn the_client_dials_answers_ok_when_connected_and_retries_after_a_loss() {
    let mut h = telit();
    assert_eq!(h.cmd("AT#SCFG=1,1,300,90,600,1"), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT#SGACT=1,1"), "\r\n#SGACT: 10.64.0.2\r\n\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT#TCPATRUNCFG=1,2,6000,7000,\"127.0.0.1\",1,5,0,2,1"),
        "\r\nOK\r\n"
    );
    h.requests();
    assert_eq!(h.cmd("AT#TCPATRUND=1"), "");
    let dial = SocketCommand::Connect {
        transport: Transport::Tcp,
        host: "127.0.0.1".into(),
        port: 7000,
        local_port: None,
    };
    assert_eq!(h.requests(), vec![req(1, dial.clone())]);
    let connected = SocketEvent::Connected {
        local: addr("127.0.0.1:45000"),
        peer: addr("127.0.0.1:7000"),
    };
    assert_eq!(
        h.net(1, connected.clone()),
        b"\r\nOK\r\n\r\n#TCPATRUN: 127.0.0.1\r\n"
    );
    assert_eq!(h.cmd("AT#TCPATRUND?"), "\r\n#TCPATRUND: 1,1\r\n\r\nOK\r\n");
    // No login in client mode.
    h.net(1, data(b"AT+CGMI\r"));
    h.advance(100);
    assert_eq!(h.sent_on(1), b"\r\nTelit\r\n\r\nOK\r\n");
    // The server goes away: retry after a minute, twice at most.
    assert_eq!(
        h.net(1, SocketEvent::Closed),
        b"\r\n#TCPATRUN: DISCONNECT\r\n"
    );
    assert_eq!(h.cmd("AT#TCPATRUND?"), "\r\n#TCPATRUND: 1,2\r\n\r\nOK\r\n");
    h.requests();
    h.advance(60_000);
    assert_eq!(h.requests(), vec![req(2, dial.clone())]);
    h.net(2, SocketEvent::Failed(SocketFailure::Refused));
    h.advance(60_000);
    assert_eq!(h.requests(), vec![req(3, dial.clone())]);
    h.net(3, SocketEvent::Failed(SocketFailure::Refused));
    h.advance(600_000);
    assert_eq!(h.requests(), vec![]);
    assert_eq!(h.cmd("AT#TCPATRUND?"), "\r\n#TCPATRUND: 1,0\r\n\r\nOK\r\n");
}

#[test]
fn a_failed_first_dial_answers_error() {
    let mut h = telit();
    assert_eq!(h.cmd("AT#SGACT=1,1"), "\r\n#SGACT: 10.64.0.2\r\n\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT#TCPATRUNCFG=1,2,6000,7000,\"127.0.0.1\""),
        "\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT#TCPATRUND=1"), "");
    assert_eq!(
        h.net(1, SocketEvent::Failed(SocketFailure::Refused)),
        b"\r\nERROR\r\n"
    );
}

#[test]
fn conser_bridges_the_peer_and_the_serial_port_until_plus_plus_plus() {
    let mut h = logged_in();
    h.net(2, data(b"AT#TCPATCONSER=0,115200\r"));
    h.advance(100);
    assert_eq!(h.sent_on(2), b"\r\nCONNECT\r\n");
    assert_eq!(h.net(2, data(b"hello device")), b"hello device");
    h.send(b"hello server");
    h.advance(100);
    assert_eq!(h.sent_on(2), b"hello server");
    assert_eq!(h.net(2, data(b"+++")), b"");
    h.advance(100);
    assert_eq!(h.sent_on(2), b"\r\nOK\r\n");
    // The serial port is instance 1's again.
    assert_eq!(h.cmd("AT"), "\r\nOK\r\n");
}

#[test]
fn conser_is_refused_outside_a_tcp_atrun_session_and_for_asc1() {
    let mut h = logged_in();
    assert_eq!(h.cmd("AT#TCPATCONSER=0,115200"), "\r\nERROR\r\n");
    h.net(2, data(b"AT#TCPATCONSER=1,115200\rAT#TCPATCONSER=0,1000\r"));
    h.advance(100);
    assert_eq!(h.sent_on(2), b"\r\nERROR\r\n");
    h.net(2, data(b"AT#TCPATCONSER=0,1000\r"));
    h.advance(100);
    assert_eq!(h.sent_on(2), b"\r\nERROR\r\n");
}

#[test]
fn a_tcp_command_that_runs_too_long_reboots_the_module() {
    let mut h = logged_in();
    h.net(2, data(b"ATD*99#\r"));
    h.advance(5 * 60_000 - 1);
    assert_eq!(h.cmd("AT"), "\r\nOK\r\n");
    h.advance(1);
    assert_eq!(h.send(b"AT\r"), b"AT\r\r\nOK\r\n");
}

#[test]
fn the_server_restarts_at_boot_when_auto_activation_brings_its_context_up() {
    let mut h = tcp_server(0);
    assert_eq!(h.cmd("AT#SGACTCFG=1,3"), "\r\nOK\r\n");
    h.requests();
    let saved = h.nvm_saves.last().cloned().expect("saved");
    let mut config = ModemConfig::new(&TELIT);
    config.nvm = saved;
    let mut h = Harness::new(config);
    h.advance(5000);
    assert_eq!(h.requests(), vec![req(1, LISTEN_6000)]);
}

// ----- tables B.18 and B.19, one test per row -----

/// Whether the modem explained something containing `text`.
fn explained(h: &Harness, text: &str) -> bool {
    h.explanations.iter().any(|e| e.contains(text))
}

/// On `h` (context 1 up or not): TCP ATRUN server on socket `conn`, instance 2, port 6000,
/// a caller from 127.0.0.1 logged in automatically; returns the connection's socket id.
fn tcp_login(h: &mut Harness, conn: u32) -> u32 {
    if !h.modem.telit.is_active(1) {
        assert_eq!(h.cmd("AT#SGACT=1,1"), "\r\n#SGACT: 10.64.0.2\r\n\r\nOK\r\n");
    }
    let cid = h.modem.telit.config(conn as usize).cid;
    assert_eq!(
        h.cmd(&format!("AT#SCFG={conn},{cid},300,90,600,1")),
        "\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd(&format!("AT#TCPATRUNCFG={conn},2,6000,6001,\"\"")),
        "\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd("AT#TCPATRUNAUTH=1,\"alice\",\"secret1\""),
        "\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd("AT#TCPATRUNFRWL=1,\"127.0.0.0\",\"255.0.0.0\""),
        "\r\nOK\r\n"
    );
    h.requests();
    assert_eq!(h.cmd("AT#TCPATRUNL=1"), "");
    let listener = match h.requests().as_slice() {
        [Output::Socket(SocketId(id), SocketCommand::Listen { .. })] => *id,
        other => panic!("expected a listen, got {other:?}"),
    };
    let bound = SocketEvent::Listening {
        local: addr("127.0.0.1:6000"),
    };
    assert_eq!(h.net(listener, bound), b"\r\nOK\r\n");
    let peer = addr("127.0.0.1:41000");
    h.net(listener, SocketEvent::Incoming { peer });
    let id = match h.requests().first() {
        Some(Output::Socket(_, SocketCommand::Accept { as_id })) => as_id.0,
        other => panic!("expected an accept, got {other:?}"),
    };
    let local = addr("127.0.0.1:6000");
    h.net(id, SocketEvent::Connected { local, peer });
    h.net(id, data(b"alice\rsecret1\r"));
    id
}

/// A command line over TCP ATRUN; returns what the peer got within 200 ms.
fn tcp_run(h: &mut Harness, id: u32, line: &str) -> String {
    h.net(id, data(format!("{line}\r").as_bytes()));
    h.advance(200);
    String::from_utf8_lossy(&h.sent_on(id)).into_owned()
}

/// An SMS ATRUN request from the whitelisted mobile; returns the texts of the replies sent.
fn sms_run(h: &mut Harness, text: &str) -> Vec<String> {
    let before = h.submitted.len();
    h.apply(Input::Sms(text_sms(MOBILE, text)));
    (before..h.submitted.len())
        .map(|i| body_text(h, i))
        .collect()
}

#[test]
fn b18_suggested_delays_are_explained_until_the_delay_is_set() {
    let mut h = sms_atrun();
    let id = tcp_login(&mut h, 1);
    sms_run(&mut h, "AT+COPS=?");
    assert!(explained(&h, "suggests #ATRUNDELAY 10 s before AT+COPS=?"));
    sms_run(&mut h, "AT+CGATT?");
    assert!(explained(&h, "suggests #ATRUNDELAY 5 s before AT+CGATT?"));
    tcp_run(&mut h, id, "AT+COPS=?");
    assert!(explained(
        &h,
        "TCP ATRUN: the application note suggests #ATRUNDELAY 10 s"
    ));
    h.explanations.clear();
    assert_eq!(h.cmd("AT#ATRUNDELAY=1,10"), "\r\nOK\r\n");
    sms_run(&mut h, "AT+COPS=?");
    assert!(!explained(&h, "suggests"));
}

#[test]
fn s1_reboot_by_sms_runs_without_a_reply() {
    let mut h = sms_atrun();
    assert_eq!(sms_run(&mut h, "AT#REBOOT"), Vec::<String>::new());
    assert!(explained(&h, "row S1"));
    // Rebooted: instance 1 echoes again.
    h.advance(5000);
    assert_eq!(h.send(b"AT\r"), b"AT\r\r\nOK\r\n");
}

#[test]
fn s2_s6_deregistering_by_sms_sends_no_reply_and_blocks_until_tcp_atrun_undoes_it() {
    let mut h = sms_atrun();
    let id = tcp_login(&mut h, 1);
    assert_eq!(sms_run(&mut h, "AT+COPS=2"), Vec::<String>::new());
    assert!(explained(&h, "row S2"));
    assert!(explained(
        &h,
        "blocked until the setting is changed back through TCP ATRUN"
    ));
    // Deregistered, the TCP ATRUN session lost its context too: bring both back locally.
    assert!(!h.modem.atrun.tcp.connected);
    assert_eq!(h.cmd("AT+COPS=0"), "\r\nOK\r\n");
    h.advance(5000);
    assert_eq!(sms_run(&mut h, "AT+CMEE?"), Vec::<String>::new());
    assert_eq!(h.cmd("AT#TCPATRUNL=0"), "\r\nOK\r\n");
    let _ = id;
    let id = tcp_login(&mut h, 1);
    assert_eq!(tcp_run(&mut h, id, "AT+COPS=0"), "\r\nOK\r\n");
    assert!(explained(&h, "SMS ATRUN unblocked"));
    h.advance(5000);
    assert_eq!(sms_run(&mut h, "AT+CMEE?"), ["\r\n+CMEE: 0\r\n\r\nOK\r\n"]);
}

#[test]
fn s3_quiet_mode_by_sms_blocks_until_the_timeout_reboots() {
    let mut h = sms_atrun();
    assert_eq!(sms_run(&mut h, "ATQ1"), Vec::<String>::new());
    assert_eq!(sms_run(&mut h, "AT+CMEE?"), Vec::<String>::new());
    assert!(explained(
        &h,
        "SMS ATRUN is blocked (UntilTimeout): the request is discarded"
    ));
    h.advance(5 * 60_000);
    h.advance(5000);
    assert_eq!(sms_run(&mut h, "AT+CMEE?"), ["\r\n+CMEE: 0\r\n\r\nOK\r\n"]);
}

#[test]
fn s4_a_band_change_by_sms_blocks_for_good_even_after_a_reboot() {
    let mut h = sms_atrun();
    assert_eq!(sms_run(&mut h, "AT#BND=3"), ["\r\nOK\r\n"]);
    assert_eq!(sms_run(&mut h, "AT+CMEE?"), Vec::<String>::new());
    assert_eq!(h.cmd("AT#SMSATRUN?"), "\r\n#SMSATRUN: 1,0\r\n\r\nOK\r\n");
    h.apply(Input::Reboot);
    h.advance(5000);
    assert_eq!(
        h.send(b"AT#SMSATRUN?\r"),
        b"AT#SMSATRUN?\r\r\n#SMSATRUN: 1,0\r\n\r\nOK\r\n"
    );
    assert_eq!(sms_run(&mut h, "AT+CMEE?"), Vec::<String>::new());
    // Enabling it again locally is the way back.
    assert_eq!(h.send(b"AT#SMSATRUN=1\r"), b"AT#SMSATRUN=1\r\r\nOK\r\n");
    assert_eq!(sms_run(&mut h, "AT+CMEE?"), ["\r\n+CMEE: 0\r\n\r\nOK\r\n"]);
}

#[test]
fn s5_sms_over_gprs_only_blocks_until_cgsms_runs_through_tcp_atrun() {
    let mut h = sms_atrun();
    let id = tcp_login(&mut h, 1);
    assert_eq!(sms_run(&mut h, "AT+CGSMS=0"), ["\r\nOK\r\n"]);
    assert_eq!(sms_run(&mut h, "AT+CGSMS?"), Vec::<String>::new());
    assert_eq!(tcp_run(&mut h, id, "AT+CGMI"), "\r\nTelit\r\n\r\nOK\r\n");
    assert_eq!(sms_run(&mut h, "AT+CGSMS?"), Vec::<String>::new());
    assert_eq!(tcp_run(&mut h, id, "AT+CGSMS=3"), "\r\nOK\r\n");
    assert_eq!(
        sms_run(&mut h, "AT+CGSMS?"),
        ["\r\n+CGSMS: 3\r\n\r\nOK\r\n"]
    );
}

#[test]
fn s7_fdn_is_not_emulated_so_the_refused_command_blocks_nothing() {
    let mut h = sms_atrun();
    assert_eq!(
        sms_run(&mut h, "AT+CLCK=\"FD\",1,\"1234\""),
        ["\r\nERROR\r\n"]
    );
    assert!(explained(&h, "row S7"));
    assert_eq!(sms_run(&mut h, "AT+CMEE?"), ["\r\n+CMEE: 0\r\n\r\nOK\r\n"]);
}

#[test]
fn s8_a_data_call_by_sms_holds_the_reply_while_it_lasts() {
    let mut h = sms_atrun();
    assert_eq!(sms_run(&mut h, "ATD*99#"), Vec::<String>::new());
    assert!(explained(&h, "row S8"));
    h.advance(4 * 60_000);
    assert!(h.submitted.is_empty());
}

#[test]
fn s9_prompt_commands_cannot_run_by_sms() {
    let mut h = sms_atrun();
    assert_eq!(
        sms_run(&mut h, "AT+CMGS=\"+393331234567\""),
        Vec::<String>::new()
    );
    assert!(explained(&h, "row S9"));
    // Nothing waits at a prompt: the next request runs.
    assert_eq!(sms_run(&mut h, "AT+CMEE?"), ["\r\n+CMEE: 0\r\n\r\nOK\r\n"]);
}

#[test]
fn s10_network_survey_is_not_emulated_and_long_replies_are_cut() {
    let mut h = sms_atrun();
    assert_eq!(sms_run(&mut h, "AT#CSURV"), ["\r\nERROR\r\n"]);
    assert!(explained(&h, "row S10"));
    // The 15-SMS cut itself: `a_reply_longer_than_fifteen_sms_is_cut_to_fifteen`.
}

#[test]
fn s11_t8_atz_answers_error_while_a_data_call_is_up() {
    let mut h = sms_atrun();
    let id = tcp_login(&mut h, 1);
    assert_eq!(sms_run(&mut h, "ATZ"), ["\r\nOK\r\n"]);
    assert_eq!(tcp_run(&mut h, id, "ATZ"), "\r\nOK\r\n");
    assert_eq!(h.cmd("ATD*99#"), "\r\nCONNECT\r\n");
    assert_eq!(sms_run(&mut h, "ATZ"), ["\r\nERROR\r\n"]);
    assert!(explained(&h, "row S11"));
    assert_eq!(tcp_run(&mut h, id, "ATZ"), "\r\nERROR\r\n");
    assert!(explained(&h, "row T8"));
}

#[test]
fn t1_legacy_socket_commands_need_the_service_socket_apart_from_the_instance() {
    let mut h = telit();
    let id = tcp_login(&mut h, 2);
    assert_eq!(tcp_run(&mut h, id, "AT#SKTSAV"), "\r\nERROR\r\n");
    assert!(explained(&h, "row T1"));
    let mut h = telit();
    let id = tcp_login(&mut h, 1);
    assert_eq!(tcp_run(&mut h, id, "AT#SKTSAV"), "\r\nOK\r\n");
}

#[test]
fn t2_t3_t4_qdns_gprs_and_sktop_need_their_documented_settings() {
    let mut h = telit();
    let id = tcp_login(&mut h, 1);
    assert_eq!(
        tcp_run(&mut h, id, "AT#QDNS=\"localhost\""),
        "\r\nERROR\r\n"
    );
    assert!(explained(&h, "row T2"));
    assert_eq!(tcp_run(&mut h, id, "AT#GPRS?"), "\r\nERROR\r\n");
    assert!(explained(&h, "row T3"));
    assert_eq!(tcp_run(&mut h, id, "AT#SKTOP"), "\r\nERROR\r\n");
    assert!(explained(&h, "row T4"));
}

#[test]
fn t3_gprs_runs_when_the_service_socket_uses_another_context() {
    let mut h = telit();
    assert_eq!(h.cmd("AT+CGDCONT=2,\"IP\",\"apn2\""), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT#SCFG=1,2,300,90,600,1"), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT#SGACT=2,1"), "\r\n#SGACT: 10.64.0.3\r\n\r\nOK\r\n");
    let id = tcp_login(&mut h, 1);
    assert_eq!(
        tcp_run(&mut h, id, "AT#GPRS?"),
        "\r\n#GPRS: 1\r\n\r\nOK\r\n"
    );
}

#[test]
fn t5_legacy_settings_change_the_service_socket_when_it_is_numbered_as_the_instance() {
    let mut h = telit();
    let id = tcp_login(&mut h, 2);
    assert_eq!(tcp_run(&mut h, id, "AT#PKTSZ=100"), "\r\nOK\r\n");
    assert!(explained(&h, "row T5"));
    assert_eq!(h.modem.telit.config(2).pkt_sz, 100);
}

#[test]
fn t6_detaching_through_tcp_atrun_blocks_it_for_good() {
    let mut h = telit();
    let id = tcp_login(&mut h, 1);
    h.requests();
    let out = h.net(id, data(b"AT+CGATT=0\r"));
    assert_eq!(out, b"\r\n#TCPATRUN: DISCONNECT\r\n");
    assert!(explained(&h, "TCP ATRUN blocked for good"));
    assert_eq!(h.cmd("AT+CGATT=1"), "\r\nOK\r\n");
    h.requests();
    assert_eq!(h.cmd("AT#SGACT=1,1"), "\r\n#SGACT: 10.64.0.2\r\n\r\nOK\r\n");
    assert_eq!(h.requests(), vec![]);
    assert!(explained(
        &h,
        "TCP ATRUN is blocked for good: it does not start"
    ));
}

#[test]
fn t7_t9_survey_and_operator_scan_through_tcp_atrun() {
    let mut h = telit();
    let id = tcp_login(&mut h, 1);
    assert_eq!(tcp_run(&mut h, id, "AT#CSURV"), "\r\nERROR\r\n");
    assert!(explained(&h, "row T7"));
    let scan = tcp_run(&mut h, id, "AT+COPS=?");
    assert!(scan.starts_with("\r\n+COPS: ("), "{scan:?}");
    assert!(explained(&h, "row T9"));
}

#[test]
fn a_script_uploads_through_tcp_atrun_with_its_prompt_and_is_enabled() {
    let mut h = telit();
    let id = tcp_login(&mut h, 1);
    let script = b"import MDM\r\nMDM.send('AT\\r', 0)\r\n";
    let line = format!("AT#WSCRIPT=\"ciclo3.py\",{}", script.len());
    assert_eq!(tcp_run(&mut h, id, &line), "\r\n>>>");
    h.net(id, data(script));
    h.advance(200);
    assert_eq!(h.sent_on(id), b"\r\nOK\r\n");
    assert_eq!(
        tcp_run(&mut h, id, "AT#ESCRIPT=\"ciclo3.py\""),
        "\r\nOK\r\n"
    );
    let listing = tcp_run(&mut h, id, "AT#LSCRIPT");
    assert!(
        listing.starts_with(&format!("\r\n#LSCRIPT: \"ciclo3.py\",{}\r\n", script.len())),
        "{listing:?}"
    );
    assert_eq!(
        tcp_run(&mut h, id, "AT#RSCRIPT=\"ciclo3.py\""),
        format!("\r\n<<<{}\r\nOK\r\n", String::from_utf8_lossy(script))
    );
}

#[test]
fn hat_sets_a_gpio_by_sms_and_the_pin_reads_back() {
    let mut h = sms_atrun();
    assert_eq!(sms_run(&mut h, "HAT#GPIO=2,1,1"), Vec::<String>::new());
    assert_eq!(h.cmd("AT#GPIO=2,2"), "\r\n#GPIO: 1,1\r\n\r\nOK\r\n");
}

#[test]
fn a_taken_server_port_leaves_the_service_on_without_listening_again_and_again() {
    let mut h = telit();
    assert_eq!(h.cmd("AT#SGACT=1,1"), "\r\n#SGACT: 10.64.0.2\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#TCPATRUNCFG=1,2,6000,6001,\"\""), "\r\nOK\r\n");
    h.requests();
    assert_eq!(h.cmd("AT#TCPATRUNL=1"), "");
    assert_eq!(h.requests(), vec![req(1, LISTEN_6000)]);
    // The service is on all the same: OK, and #TCPATRUNL? says it does not listen.
    assert_eq!(
        h.net(1, SocketEvent::Failed(SocketFailure::AddressInUse)),
        b"\r\nOK\r\n"
    );
    let listens = |reqs: Vec<Output>| {
        reqs.iter()
            .filter(|r| matches!(r, Output::Socket(_, SocketCommand::Listen { .. })))
            .count()
    };
    assert_eq!(
        listens(h.requests()),
        0,
        "no second listen on the taken port"
    );
    assert_eq!(h.cmd("AT#TCPATRUNL?"), "\r\n#TCPATRUNL: 1,0\r\n\r\nOK\r\n");
    // Enabled again, it tries once more.
    assert_eq!(h.cmd("AT#TCPATRUNL=0"), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT#TCPATRUNL=1"), "");
    assert_eq!(listens(h.requests()), 1);
}
