//! SMS on a virtual clock: sending, writing, reading, listing and deleting in PDU and text
//! mode, `+CNMI` routing, `+CNMA`, status reports, memory full and every bad-input error.

use super::*;
use crate::network::sms::Incoming;
use crate::sms::{Direction, Pdu};

/// The spec's worked SMS-DELIVER: "hello" from +447700900123 via +447785016005,
/// 2024-01-15 10:30:00 +01:00 (sim900.md §3.7).
const HELLO_DELIVER: &str = "0791447758100650040C9144770009103200004210510103004005E8329BFD06";
/// The spec's worked SMS-SUBMIT: "hello" to +447700900123, relative VP 170.
const HELLO_SUBMIT: &str = "0011000C914477000910320000AA05E8329BFD06";

fn incoming(hex: &str) -> Incoming {
    let pdu = Pdu::decode_hex(hex, None, Direction::FromNetwork).expect("a valid PDU");
    Incoming {
        smsc: pdu.smsc.expect("an SMSC"),
        tpdu: pdu.tpdu,
    }
}

fn registered_sim900() -> Harness {
    let mut h = quiet_sim900();
    h.advance(1000);
    assert_eq!(h.cmd("AT+CREG?"), "\r\n+CREG: 0,1\r\n\r\nOK\r\n");
    h
}

fn text_mode(h: &mut Harness) {
    assert_eq!(h.cmd("AT+CMGF=1"), "\r\nOK\r\n");
}

/// Sends the PDU at a prompt and returns everything up to the network's acknowledgement.
fn send_pdu(h: &mut Harness, len: usize, hex: &str) -> String {
    assert_eq!(h.cmd(&format!("AT+CMGS={len}")), "\r\n> ");
    let mut out = h.send(format!("{hex}\x1a").as_bytes());
    out.extend(h.advance(1000));
    String::from_utf8_lossy(&out).into_owned()
}

fn send_text(h: &mut Harness, to: &str, text: &str) -> String {
    assert_eq!(h.cmd(&format!("AT+CMGS=\"{to}\"")), "\r\n> ");
    let mut out = h.send(format!("{text}\x1a").as_bytes());
    out.extend(h.advance(1000));
    String::from_utf8_lossy(&out).into_owned()
}

// ----- sending -----

#[test]
fn cmgs_pdu_prompt_then_mr_after_the_network_acknowledges() {
    let mut h = registered_sim900();
    assert_eq!(h.cmd("AT+CMGS=19"), "\r\n> ");
    assert_eq!(h.send(format!("{HELLO_SUBMIT}\x1a").as_bytes()), b"");
    assert_eq!(h.advance(999), b"", "the answer waits for the network");
    assert_eq!(h.advance(1), b"\r\n+CMGS: 0\r\n\r\nOK\r\n");
    assert_eq!(h.submitted.len(), 1);
    let sent = &h.submitted[0];
    assert_eq!(sent.smsc.number, "+15550009999", "00 uses +CSCA");
    assert_eq!(sent.submit.destination.number, "+447700900123");
    assert_eq!(sent.submit.message_reference, 0);
    assert_eq!(
        sent.submit
            .user_data
            .text(crate::sms::Alphabet::Gsm7)
            .as_deref(),
        Some("hello")
    );
    assert_eq!(
        send_pdu(&mut h, 19, HELLO_SUBMIT),
        "\r\n+CMGS: 1\r\n\r\nOK\r\n",
        "each message gets the next reference"
    );
}

#[test]
fn cmgs_echoes_the_pdu_under_e1_and_takes_ctrl_z_in_a_later_write() {
    let mut h = Harness::sim900();
    h.advance(1000);
    assert_eq!(h.cmd("AT+CMGS=19"), "AT+CMGS=19\r\r\n> ");
    assert_eq!(
        h.send(HELLO_SUBMIT.as_bytes()),
        HELLO_SUBMIT.as_bytes(),
        "echoed as typed"
    );
    assert_eq!(h.advance(500), b"", "gammu sends ^Z half a second later");
    assert_eq!(h.send(b"\x1a"), b"");
    assert_eq!(h.advance(1000), b"\r\n+CMGS: 0\r\n\r\nOK\r\n");
}

#[test]
fn cmgs_pdu_skips_spaces_and_line_breaks_and_accepts_an_smsc_field() {
    let mut h = registered_sim900();
    let with_smsc = "07914477581006501100 0C9144770009\r\n10320000AA05E8329BFD06";
    assert_eq!(
        send_pdu(&mut h, 19, with_smsc),
        "\r\n+CMGS: 0\r\n\r\nOK\r\n"
    );
    assert_eq!(h.submitted[0].smsc.number, "+447785016005");
}

#[test]
fn cmgs_text_mode_sends_the_text_to_the_quoted_number() {
    let mut h = registered_sim900();
    text_mode(&mut h);
    assert_eq!(
        send_text(&mut h, "+447700900123", "hello world"),
        "\r\n+CMGS: 0\r\n\r\nOK\r\n"
    );
    let submit = &h.submitted[0].submit;
    assert_eq!(submit.destination.toa, 145);
    assert!(!submit.status_report_request, "+CSMP fo 17 asks for none");
    assert_eq!(
        submit.user_data.text(crate::sms::Alphabet::Gsm7).as_deref(),
        Some("hello world")
    );
    assert_eq!(h.cmd("AT+CSMP=49,167,0,0"), "\r\nOK\r\n");
    send_text(&mut h, "07700900123", "again");
    let submit = &h.submitted[1].submit;
    assert!(submit.status_report_request, "fo 49 sets SRR");
    assert_eq!(submit.destination.toa, 129);
}

#[test]
fn cmgs_text_keeps_cr_and_lf_typed_inside_the_text() {
    let mut h = registered_sim900();
    text_mode(&mut h);
    assert_eq!(
        send_text(&mut h, "+447700900123", "line one\r\nline two"),
        "\r\n+CMGS: 0\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.submitted[0]
            .submit
            .user_data
            .text(crate::sms::Alphabet::Gsm7)
            .as_deref(),
        Some("line one\r\nline two")
    );
}

#[test]
fn cmgs_ucs2_text_mode_takes_hex_for_number_and_text() {
    let mut h = registered_sim900();
    text_mode(&mut h);
    assert_eq!(h.cmd("AT+CSCS=\"UCS2\""), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CSMP=17,167,0,8"), "\r\nOK\r\n");
    // "+4477" and "Привет"
    assert_eq!(
        send_text(&mut h, "002B0034003400370037", "041F04400438043204350442"),
        "\r\n+CMGS: 0\r\n\r\nOK\r\n"
    );
    let submit = &h.submitted[0].submit;
    assert_eq!(submit.destination.number, "+4477");
    assert_eq!(
        submit.user_data.text(crate::sms::Alphabet::Ucs2).as_deref(),
        Some("Привет")
    );
}

#[test]
fn esc_cancels_the_message_with_ok_and_sends_nothing() {
    let mut h = registered_sim900();
    assert_eq!(h.cmd("AT+CMGS=19"), "\r\n> ");
    assert_eq!(h.send(b"0011000C91\x1b"), b"\r\nOK\r\n");
    assert_eq!(h.advance(2000), b"");
    assert!(h.submitted.is_empty());
    assert_eq!(h.cmd("AT"), "\r\nOK\r\n");
}

#[test]
fn bad_pdus_give_304_store_nothing_and_the_next_command_works() {
    let mut h = registered_sim900();
    let cases: &[(usize, &str, &str)] = &[
        (
            19,
            "0011000C914477000910320000AA05E8329BFD0",
            "odd hex digits",
        ),
        (19, "0011000C914477000910320000AA05E8329BFDZZ", "not hex"),
        (18, HELLO_SUBMIT, "declared length one short"),
        (
            19,
            "0011000C914477000910320000AA09E8329BFD06",
            "UDL beyond the data",
        ),
        (
            19,
            "0011000C9144770009103200 0CAA05E8329BFD06",
            "reserved DCS",
        ),
        (
            30,
            "0011001E91111111111111111111111111111111000000AA01E8",
            "an address of 30 digits",
        ),
        (
            19,
            "C811000C914477000910320000AA05E8329BFD06",
            "SMSC length 200",
        ),
        (0, "", "nothing at all"),
    ];
    for (len, hex, what) in cases {
        let out = if *len == 0 {
            h.cmd("AT+CMGS=0")
        } else {
            send_pdu(&mut h, *len, hex)
        };
        assert_eq!(out, "\r\n+CMS ERROR: 304\r\n", "{what}");
        assert_eq!(h.cmd("AT"), "\r\nOK\r\n", "after {what}");
    }
    assert!(h.submitted.is_empty());
    assert_eq!(
        h.cmd("AT+CPMS?"),
        "\r\n+CPMS: \"SM\",0,30,\"SM\",0,30,\"SM\",0,30\r\n\r\nOK\r\n"
    );
}

#[test]
fn a_pdu_that_is_not_a_submit_cannot_be_sent() {
    let mut h = registered_sim900();
    assert_eq!(
        send_pdu(&mut h, 24, HELLO_DELIVER),
        "\r\n+CMS ERROR: 304\r\n"
    );
}

#[test]
fn bad_text_gives_305() {
    let mut h = registered_sim900();
    text_mode(&mut h);
    assert_eq!(h.cmd("AT+CMGS=\"+447700900123\""), "\r\n> ");
    assert_eq!(
        h.send(b"\x1a"),
        b"\r\n+CMS ERROR: 305\r\n",
        "Ctrl-Z with no text"
    );
    assert_eq!(h.cmd("AT+CMGS=\"+447700900123\""), "\r\n> ");
    assert_eq!(
        h.send(b"caf\xe9\x1a"),
        b"\r\n+CMS ERROR: 305\r\n",
        "IRA has no byte 0xE9"
    );
    assert_eq!(
        h.cmd("AT+CMGS=\"+4477009001231234567890123\""),
        "\r\n+CMS ERROR: 305\r\n"
    );
    assert_eq!(h.cmd("AT+CMGS=\"+44abc\""), "\r\n+CMS ERROR: 305\r\n");
    assert_eq!(h.cmd("AT+CSCS=\"UCS2\""), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CMGS=\"002B0034\""), "\r\n> ");
    assert_eq!(
        h.send(b"4E2D\x1a"),
        b"\r\n+CMS ERROR: 305\r\n",
        "a character with no GSM 7-bit code"
    );
    assert_eq!(h.cmd("AT+CMGS=\"002B0034\""), "\r\n> ");
    assert_eq!(
        h.send(b"4E2\x1a"),
        b"\r\n+CMS ERROR: 305\r\n",
        "not UCS2 hex"
    );
    assert!(h.submitted.is_empty());
    assert_eq!(h.cmd("AT"), "\r\nOK\r\n");
}

#[test]
fn sending_needs_the_network_and_a_service_centre() {
    let mut h = quiet_sim900();
    h.advance(1000);
    h.apply(Input::Network(NetworkChange {
        service: Some(Service::None),
        ..NetworkChange::default()
    }));
    assert_eq!(
        send_pdu(&mut h, 19, HELLO_SUBMIT),
        "\r\n+CMS ERROR: 331\r\n"
    );
    h.apply(Input::Network(NetworkChange {
        service: Some(Service::Home),
        ..NetworkChange::default()
    }));
    h.advance(1000);
    assert_eq!(h.cmd("AT+CSCA=\"\""), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CSCA?"), "\r\n+CMS ERROR: 330\r\n");
    assert_eq!(
        send_pdu(&mut h, 19, HELLO_SUBMIT),
        "\r\n+CMS ERROR: 330\r\n"
    );
    let with_smsc = "0791447758100650";
    assert_eq!(
        send_pdu(&mut h, 19, &format!("{with_smsc}{}", &HELLO_SUBMIT[2..])),
        "\r\n+CMGS: 0\r\n\r\nOK\r\n",
        "a PDU with its own SMSC needs no +CSCA"
    );
}

#[test]
fn input_typed_while_the_network_acknowledges_waits_for_ok() {
    let mut h = registered_sim900();
    assert_eq!(h.cmd("AT+CMGS=19"), "\r\n> ");
    assert_eq!(h.send(format!("{HELLO_SUBMIT}\x1aAT\r").as_bytes()), b"");
    assert_eq!(h.advance(1000), b"\r\n+CMGS: 0\r\n\r\nOK\r\n\r\nOK\r\n");
}

// ----- receiving -----

#[test]
fn a_delivered_sms_is_stored_with_cmti_and_read_in_pdu_and_text_mode() {
    let mut h = registered_sim900();
    assert_eq!(
        h.apply(Input::Sms(incoming(HELLO_DELIVER))),
        b"\r\n+CMTI: \"SM\",1\r\n"
    );
    assert_eq!(
        h.cmd("AT+CPMS?"),
        "\r\n+CPMS: \"SM\",1,30,\"SM\",1,30,\"SM\",1,30\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd("AT+CMGR=1"),
        format!("\r\n+CMGR: 0,\"\",24\r\n{HELLO_DELIVER}\r\n\r\nOK\r\n")
    );
    assert_eq!(
        h.cmd("AT+CMGR=1"),
        format!("\r\n+CMGR: 1,\"\",24\r\n{HELLO_DELIVER}\r\n\r\nOK\r\n"),
        "reading marked it REC READ"
    );
    text_mode(&mut h);
    assert_eq!(
        h.cmd("AT+CMGR=1"),
        "\r\n+CMGR: \"REC READ\",\"+447700900123\",\"\",\"24/01/15,10:30:00+04\"\r\nhello\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT+CSDH=1"), "\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT+CMGR=1"),
        "\r\n+CMGR: \"REC READ\",\"+447700900123\",\"\",\"24/01/15,10:30:00+04\",145,4,0,0,\"+447785016005\",145,5\r\nhello\r\n\r\nOK\r\n"
    );
}

#[test]
fn cmgr_mode_1_keeps_unread_and_bad_indexes_give_321() {
    let mut h = registered_sim900();
    h.apply(Input::Sms(incoming(HELLO_DELIVER)));
    assert!(h.cmd("AT+CMGR=1,1").starts_with("\r\n+CMGR: 0,"));
    assert!(h.cmd("AT+CMGR=1").starts_with("\r\n+CMGR: 0,"));
    assert_eq!(
        h.cmd("AT+CMGR=2"),
        "\r\nOK\r\n",
        "an empty slot within the memory"
    );
    assert_eq!(h.cmd("AT+CMGR=31"), "\r\n+CMS ERROR: 321\r\n");
    assert_eq!(h.cmd("AT+CMGR=0"), "\r\n+CMS ERROR: 321\r\n");
    assert_eq!(h.cmd("AT+CMGR=x"), "\r\n+CMS ERROR: 321\r\n");
}

#[test]
fn cmgl_filters_by_status_in_both_modes_and_marks_read() {
    let mut h = registered_sim900();
    h.apply(Input::Sms(incoming(HELLO_DELIVER)));
    h.apply(Input::Sms(incoming(HELLO_DELIVER)));
    h.cmd("AT+CMGR=1");
    assert_eq!(
        h.cmd("AT+CMGL"),
        format!("\r\n+CMGL: 2,0,\"\",24\r\n{HELLO_DELIVER}\r\n\r\nOK\r\n"),
        "no parameter: unread only"
    );
    assert_eq!(
        h.cmd("AT+CMGL=4"),
        format!(
            "\r\n+CMGL: 1,1,\"\",24\r\n{HELLO_DELIVER}\r\n+CMGL: 2,1,\"\",24\r\n{HELLO_DELIVER}\r\n\r\nOK\r\n"
        )
    );
    assert_eq!(h.cmd("AT+CMGL=0"), "\r\nOK\r\n", "nothing unread any more");
    assert_eq!(h.cmd("AT+CMGL=\"ALL\""), "\r\n+CMS ERROR: 302\r\n");
    text_mode(&mut h);
    assert_eq!(
        h.cmd("AT+CMGL=\"ALL\""),
        "\r\n+CMGL: 1,\"REC READ\",\"+447700900123\",\"\",\"24/01/15,10:30:00+04\"\r\nhello\r\n\
         +CMGL: 2,\"REC READ\",\"+447700900123\",\"\",\"24/01/15,10:30:00+04\"\r\nhello\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd("AT+CMGL=4"),
        "\r\n+CMS ERROR: 302\r\n",
        "a PDU-mode number in text mode"
    );
    assert_eq!(h.cmd("AT+CMGL=\"REC UNREAD\""), "\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT+CMGL=?"),
        "\r\n+CMGL: (\"REC UNREAD\",\"REC READ\",\"STO UNSENT\",\"STO SENT\",\"ALL\")\r\n\r\nOK\r\n"
    );
}

#[test]
fn cmgd_deletes_one_or_by_flag() {
    let mut h = registered_sim900();
    for _ in 0..3 {
        h.apply(Input::Sms(incoming(HELLO_DELIVER)));
    }
    h.cmd("AT+CMGR=1");
    assert_eq!(h.cmd("AT+CMGD=?"), "\r\n+CMGD: (1,2,3),(0-4)\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CMGD=2"), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CMGD=2"), "\r\nOK\r\n", "an empty slot");
    assert_eq!(h.cmd("AT+CMGD=31"), "\r\n+CMS ERROR: 321\r\n");
    assert_eq!(h.cmd("AT+CMGD=1,1"), "\r\nOK\r\n", "all read: message 1");
    assert_eq!(h.cmd("AT+CMGD=?"), "\r\n+CMGD: (3),(0-4)\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CMGD=,4"), "\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT+CPMS?"),
        "\r\n+CPMS: \"SM\",0,30,\"SM\",0,30,\"SM\",0,30\r\n\r\nOK\r\n"
    );
}

#[test]
fn cmgda_deletes_by_type_in_both_modes() {
    let mut h = registered_sim900();
    h.apply(Input::Sms(incoming(HELLO_DELIVER)));
    h.apply(Input::Sms(incoming(HELLO_DELIVER)));
    h.cmd("AT+CMGR=1");
    assert_eq!(h.cmd("AT+CMGDA=1"), "\r\nOK\r\n", "PDU mode 1: DEL READ");
    assert_eq!(h.cmd("AT+CMGD=?"), "\r\n+CMGD: (2),(0-4)\r\n\r\nOK\r\n");
    text_mode(&mut h);
    assert_eq!(h.cmd("AT+CMGDA=\"DEL NOTHING\""), "\r\nERROR\r\n");
    assert_eq!(h.cmd("AT+CMGDA=\"DEL ALL\""), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CMGD=?"), "\r\n+CMGD: (),(0-4)\r\n\r\nOK\r\n");
}

#[test]
fn a_full_memory_leaves_the_message_with_the_network_until_a_slot_is_freed() {
    let mut h = registered_sim900();
    for i in 1..=30 {
        assert_eq!(
            h.apply(Input::Sms(incoming(HELLO_DELIVER))),
            format!("\r\n+CMTI: \"SM\",{i}\r\n").into_bytes()
        );
    }
    assert_eq!(
        h.apply(Input::Sms(incoming(HELLO_DELIVER))),
        b"",
        "memory full"
    );
    assert_eq!(h.cmd("AT+CMGD=7"), "\r\nOK\r\n\r\n+CMTI: \"SM\",7\r\n");
    assert_eq!(
        h.cmd("AT+CMGW=19"),
        "\r\n> ",
        "writing into a full memory opens the prompt"
    );
    assert_eq!(
        h.send(format!("{HELLO_SUBMIT}\x1a").as_bytes()),
        b"\r\n+CMS ERROR: 322\r\n"
    );
}

#[test]
fn cnmi_mt2_routes_directly_with_cmt_in_both_modes() {
    let mut h = registered_sim900();
    assert_eq!(h.cmd("AT+CNMI=2,2,0,0,0"), "\r\nOK\r\n");
    assert_eq!(
        h.apply(Input::Sms(incoming(HELLO_DELIVER))),
        format!("\r\n+CMT: \"\",24\r\n{HELLO_DELIVER}\r\n").into_bytes()
    );
    text_mode(&mut h);
    assert_eq!(
        h.apply(Input::Sms(incoming(HELLO_DELIVER))),
        b"\r\n+CMT: \"+447700900123\",\"\",\"24/01/15,10:30:00+04\"\r\nhello\r\n"
    );
    assert_eq!(
        h.cmd("AT+CPMS?"),
        "\r\n+CPMS: \"SM\",0,30,\"SM\",0,30,\"SM\",0,30\r\n\r\nOK\r\n"
    );
}

#[test]
fn cnmi_mt0_stores_silently_and_sim900_refuses_ds2() {
    let mut h = registered_sim900();
    assert_eq!(h.cmd("AT+CNMI=2,1,0,2"), "\r\nERROR\r\n");
    assert_eq!(h.cmd("AT+CNMI?"), "\r\n+CNMI: 2,1,0,0,0\r\n\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT+CNMI=?"),
        "\r\n+CNMI: (0-3),(0-3),(0,2),(0,1),(0,1)\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT+CNMI=2,0"), "\r\nOK\r\n");
    assert_eq!(h.apply(Input::Sms(incoming(HELLO_DELIVER))), b"");
    assert!(h.cmd("AT+CMGR=1").starts_with("\r\n+CMGR: 0,\"\",24"));
}

#[test]
fn cnmi_mode0_keeps_indications_in_the_ta_until_mode_changes() {
    let mut h = registered_sim900();
    assert_eq!(h.cmd("AT+CNMI=0,1"), "\r\nOK\r\n");
    assert_eq!(h.apply(Input::Sms(incoming(HELLO_DELIVER))), b"");
    assert_eq!(h.cmd("AT+CNMI=2,1"), "\r\nOK\r\n\r\n+CMTI: \"SM\",1\r\n");
}

#[test]
fn csms1_cmt_waits_for_cnma_and_unacknowledged_turns_routing_off() {
    let mut h = registered_sim900();
    assert_eq!(h.cmd("AT+CSMS=1"), "\r\n+CSMS: 1,1,1\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CSMS?"), "\r\n+CSMS: 1,1,1,1\r\n\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT+CNMA"),
        "\r\n+CMS ERROR: 340\r\n",
        "nothing to acknowledge"
    );
    h.cmd("AT+CNMI=2,2");
    assert!(!h.apply(Input::Sms(incoming(HELLO_DELIVER))).is_empty());
    assert_eq!(
        h.apply(Input::Sms(incoming(HELLO_DELIVER))),
        b"",
        "the next waits for the acknowledgement"
    );
    assert_eq!(
        h.cmd("AT+CNMA"),
        format!("\r\nOK\r\n\r\n+CMT: \"\",24\r\n{HELLO_DELIVER}\r\n")
    );
    assert_eq!(h.advance(14_999), b"");
    assert_eq!(h.advance(1), b"", "no +CNMA in 15 s");
    assert_eq!(h.cmd("AT+CNMI?"), "\r\n+CNMI: 2,0,0,0,0\r\n\r\nOK\r\n");
    assert!(
        h.cmd("AT+CMGR=1").starts_with("\r\n+CMGR: 0,\"\",24"),
        "stored instead"
    );
}

#[test]
fn status_reports_go_out_as_cds_with_ds1_and_are_dropped_with_ds0() {
    // A STATUS-REPORT for TP-MR 0 to +447700900123, delivered.
    let report =
        "07914477581006500600 0C914477000910324210510103004042105101030140 00".replace(' ', "");
    let mut h = registered_sim900();
    assert_eq!(h.apply(Input::Sms(incoming(&report))), b"", "ds=0");
    h.cmd("AT+CNMI=2,1,0,1");
    let tpdu = &report[16..];
    assert_eq!(
        h.apply(Input::Sms(incoming(&report))),
        format!("\r\n+CDS: {}\r\n{report}\r\n", tpdu.len() / 2).into_bytes()
    );
    text_mode(&mut h);
    assert_eq!(
        h.apply(Input::Sms(incoming(&report))),
        b"\r\n+CDS: 6,0,\"+447700900123\",145,\"24/01/15,10:30:00+04\",\"24/01/15,10:30:10+04\",0\r\n"
    );
}

#[test]
fn telit_routes_status_reports_to_memory_with_cdsi_under_ds2() {
    let report =
        "07914477581006500600 0C914477000910324210510103004042105101030140 00".replace(' ', "");
    let mut h = Harness::telit();
    h.cmd("ATE0");
    h.advance(1000);
    assert_eq!(h.cmd("AT+CNMI=2,1,0,2"), "\r\nOK\r\n");
    assert_eq!(
        h.apply(Input::Sms(incoming(&report))),
        b"\r\n+CDSI: \"SM\",1\r\n"
    );
    assert_eq!(
        h.cmd("AT+CMGR=2"),
        "\r\n+CMS ERROR: 321\r\n",
        "Telit: an empty slot"
    );
}

#[test]
fn cmgw_then_cmss_sends_the_stored_message() {
    let mut h = registered_sim900();
    text_mode(&mut h);
    assert_eq!(h.cmd("AT+CMGW=\"+447700900123\""), "\r\n> ");
    assert_eq!(h.send(b"stored text\x1a"), b"\r\n+CMGW: 1\r\n\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT+CMGR=1"),
        "\r\n+CMGR: \"STO UNSENT\",\"+447700900123\",\"\"\r\nstored text\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT+CMSS=1"), "");
    assert_eq!(h.advance(1000), b"\r\n+CMSS: 0\r\n\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT+CMGL=\"STO SENT\""),
        "\r\n+CMGL: 1,\"STO SENT\",\"+447700900123\",\"\"\r\nstored text\r\n\r\nOK\r\n"
    );
    assert_eq!(h.submitted.len(), 1);
    assert_eq!(h.cmd("AT+CMSS=2"), "\r\n+CMS ERROR: 321\r\n");
}

#[test]
fn cmgw_pdu_with_a_status_stores_a_deliver() {
    let mut h = registered_sim900();
    assert_eq!(h.cmd("AT+CMGW=24,1"), "\r\n> ");
    assert_eq!(
        h.send(format!("{HELLO_DELIVER}\x1a").as_bytes()),
        b"\r\n+CMGW: 1\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd("AT+CMGL=1"),
        format!("\r\n+CMGL: 1,1,\"\",24\r\n{HELLO_DELIVER}\r\n\r\nOK\r\n")
    );
    assert_eq!(
        h.cmd("AT+CMSS=1"),
        "\r\n+CMS ERROR: 302\r\n",
        "a received message"
    );
}

#[test]
fn cpms_reads_sets_and_tests_memories() {
    let mut h = registered_sim900();
    assert_eq!(
        h.cmd("AT+CPMS=?"),
        "\r\n+CPMS: (\"SM\",\"ME\",\"SM_P\",\"ME_P\",\"MT\"),(\"SM\",\"ME\",\"SM_P\",\"ME_P\",\"MT\"),(\"SM\",\"ME\",\"SM_P\",\"ME_P\",\"MT\")\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd("AT+CPMS=\"ME\",\"SM\",\"ME\""),
        "\r\n+CPMS: 0,50,0,30,0,50\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.apply(Input::Sms(incoming(HELLO_DELIVER))),
        b"\r\n+CMTI: \"ME\",1\r\n"
    );
    assert_eq!(
        h.cmd("AT+CPMS?"),
        "\r\n+CPMS: \"ME\",1,50,\"SM\",0,30,\"ME\",1,50\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT+CPMS=\"XX\""), "\r\n+CMS ERROR: 302\r\n");
    assert_eq!(
        h.cmd("AT+CPMS=\"SM\""),
        "\r\n+CPMS: 0,30,0,30,1,50\r\n\r\nOK\r\n",
        "only mem1 changes"
    );
}

#[test]
fn sms_commands_need_the_sim() {
    let mut config = ModemConfig::new(&SIM900);
    config.pin = Some("1234".into());
    let mut h = Harness::booted(config);
    h.advance(1000);
    assert_eq!(h.cmd("AT+CMGR=1"), "AT+CMGR=1\r\r\n+CMS ERROR: 311\r\n");
    assert_eq!(h.cmd("AT+CPMS?"), "AT+CPMS?\r\r\n+CMS ERROR: 311\r\n");
}

#[test]
fn messages_and_the_reference_survive_a_reboot() {
    let mut h = registered_sim900();
    h.apply(Input::Sms(incoming(HELLO_DELIVER)));
    send_pdu(&mut h, 19, HELLO_SUBMIT);
    h.apply(Input::Reboot);
    h.advance(2000);
    h.send(b"AT\r");
    h.cmd("ATE0");
    assert!(h.cmd("AT+CMGR=1").starts_with("\r\n+CMGR: 0,\"\",24"));
    assert_eq!(
        send_pdu(&mut h, 19, HELLO_SUBMIT),
        "\r\n+CMGS: 1\r\n\r\nOK\r\n"
    );
}

#[test]
fn a_message_waits_for_command_mode_in_transparent_data_mode() {
    let mut h = registered_sim900();
    h.cmd("ATD*99#");
    assert_eq!(h.apply(Input::Sms(incoming(HELLO_DELIVER))), b"");
    h.advance(1000);
    h.send(b"+++");
    assert_eq!(h.advance(1000), b"\r\nOK\r\n\r\n+CMTI: \"SM\",1\r\n");
}

#[test]
fn messages_survive_a_process_restart_through_the_state_file() {
    let mut h = registered_sim900();
    h.apply(Input::Sms(incoming(HELLO_DELIVER)));
    h.cmd("AT+CMGR=1");
    send_pdu(&mut h, 19, HELLO_SUBMIT);
    let nvm = h
        .nvm_saves
        .last()
        .cloned()
        .expect("the memories were saved");
    let mut config = ModemConfig::new(&SIM900);
    config.nvm = nvm;
    let mut h = Harness::booted(config);
    h.cmd("ATE0");
    h.advance(1000);
    assert_eq!(
        h.cmd("AT+CMGR=1"),
        format!("\r\n+CMGR: 1,\"\",24\r\n{HELLO_DELIVER}\r\n\r\nOK\r\n")
    );
    assert_eq!(
        send_pdu(&mut h, 19, HELLO_SUBMIT),
        "\r\n+CMGS: 1\r\n\r\nOK\r\n"
    );
}

#[test]
fn direct_routing_with_no_client_on_the_port_stores_the_message() {
    let mut h = registered_sim900();
    h.cmd("AT+CNMI=2,2");
    h.apply(Input::DteClosed);
    assert_eq!(h.apply(Input::Sms(incoming(HELLO_DELIVER))), b"");
    h.apply(Input::DteOpened);
    assert!(h.cmd("AT+CMGR=1").starts_with("\r\n+CMGR: 0,\"\",24"));
}

#[test]
fn the_ds2_switch_lets_a_sim900_store_status_reports() {
    let report =
        "07914477581006500600 0C914477000910324210510103004042105101030140 00".replace(' ', "");
    let mut config = ModemConfig::new(&SIM900);
    config.cnmi_ds2 = true;
    let mut h = Harness::booted(config);
    h.cmd("ATE0");
    h.advance(1000);
    assert_eq!(h.cmd("AT+CNMI=2,1,0,2"), "\r\nOK\r\n");
    assert_eq!(
        h.apply(Input::Sms(incoming(&report))),
        b"\r\n+CDSI: \"SM\",1\r\n"
    );
    assert_eq!(
        h.cmd("AT+CMGR=1"),
        format!(
            "\r\n+CMGR: 0,\"\",{}\r\n{report}\r\n\r\nOK\r\n",
            report.len() / 2 - 8
        )
    );
}

#[test]
fn text_mode_data_goes_out_one_byte_per_character_in_8859_1_and_gsm() {
    // "café" from +447700900123: é is GSM code 0x05.
    let mut h = registered_sim900();
    text_mode(&mut h);
    assert_eq!(h.cmd("AT+CSCS=\"8859-1\""), "\r\nOK\r\n");
    h.apply(Input::Sms(incoming(
        "0791447758100650040C9144770009103200004210510103004004E3B0B900",
    )));
    let read = h.send(b"AT+CMGR=1\r");
    assert!(
        read.ends_with(b"\r\ncaf\xe9\r\n\r\nOK\r\n"),
        "{}",
        String::from_utf8_lossy(&read)
    );
    assert_eq!(h.cmd("AT+CSCS=\"GSM\""), "\r\nOK\r\n");
    let read = h.send(b"AT+CMGR=1\r");
    assert!(read.ends_with(b"\r\ncaf\x05\r\n\r\nOK\r\n"));
}
