//! What the control plane does to a modem, on a virtual clock: DTR, calls, network changes,
//! SIM moves, reboots and raw URCs, with the exact bytes the client sees.

use super::Harness;
use crate::modem::*;

fn quiet() -> Harness {
    let mut h = Harness::sim900();
    assert_eq!(h.send(b"ATE0\r"), b"ATE0\r\r\nOK\r\n");
    h
}

#[test]
fn ring_prints_ring_and_clip_every_interval_until_ata() {
    let mut h = quiet();
    assert_eq!(h.cmd("AT+CLIP=1"), "\r\nOK\r\n");
    assert_eq!(
        h.apply(Input::Ring("+393460000001".into())),
        b"\r\nRING\r\n\r\n+CLIP: \"+393460000001\",145,\"\",0,\"\",0\r\n"
    );
    assert_eq!(h.cmd("AT+CPAS"), "\r\n+CPAS: 3\r\n\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT+CLCC"),
        "\r\n+CLCC: 1,1,4,0,0,\"+393460000001\",145,\"\"\r\n\r\nOK\r\n"
    );
    assert_eq!(h.advance(4999), b"");
    assert_eq!(
        h.advance(1),
        b"\r\nRING\r\n\r\n+CLIP: \"+393460000001\",145,\"\",0,\"\",0\r\n"
    );
    assert_eq!(h.cmd("ATA;+CSQ"), "\r\nOK\r\n", "ATA ends the line");
    assert_eq!(h.cmd("AT+CPAS"), "\r\n+CPAS: 4\r\n\r\nOK\r\n");
    assert_eq!(h.advance(20_000), b"", "no more rings once answered");
    assert_eq!(h.cmd("ATH"), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CLCC"), "\r\nOK\r\n");
}

#[test]
fn ring_under_v0_and_crc_and_caller_giving_up() {
    let mut h = quiet();
    assert_eq!(h.cmd("ATV0"), "0\r");
    assert_eq!(h.apply(Input::Ring("5551234".into())), b"2\r");
    assert_eq!(h.cmd("ATV1+CRC=1"), "\r\nOK\r\n");
    assert_eq!(h.advance(5000), b"\r\n+CRING: VOICE\r\n");
    // Six rings in all, then the caller hangs up.
    let rest = h.advance(5000 * 4);
    assert_eq!(rest, b"\r\n+CRING: VOICE\r\n".repeat(4));
    assert_eq!(h.advance(5000), b"\r\nNO CARRIER\r\n");
    assert_eq!(h.cmd("ATA"), "\r\nNO CARRIER\r\n");
}

#[test]
fn s0_auto_answers_after_that_many_rings() {
    let mut h = quiet();
    assert_eq!(h.cmd("ATS0=2"), "\r\nOK\r\n");
    assert_eq!(h.apply(Input::Ring("+1555".into())), b"\r\nRING\r\n");
    assert_eq!(h.advance(5000), b"\r\nRING\r\n");
    assert_eq!(h.cmd("AT+CPAS"), "\r\n+CPAS: 4\r\n\r\nOK\r\n");
}

#[test]
fn remote_hang_up_of_an_active_call_is_no_carrier() {
    let mut h = quiet();
    h.apply(Input::Ring("+1555".into()));
    assert_eq!(h.cmd("ATA"), "\r\nOK\r\n");
    assert_eq!(h.apply(Input::RemoteHangUp), b"\r\nNO CARRIER\r\n");
    assert_eq!(
        h.apply(Input::RemoteHangUp),
        b"",
        "no call: nothing to print"
    );
}

#[test]
fn ring_is_not_offered_while_unregistered() {
    let mut h = quiet();
    h.apply(Input::Network(NetworkChange {
        service: Some(Service::None),
        ..Default::default()
    }));
    assert_eq!(h.apply(Input::Ring("+1555".into())), b"");
    assert_eq!(h.cmd("AT+CPAS"), "\r\n+CPAS: 0\r\n\r\nOK\r\n");
}

#[test]
fn dtr_drop_hangs_up_only_under_ampersand_d2() {
    for (mode, expected) in [(0, &b""[..]), (1, b""), (2, b"\r\nNO CARRIER\r\n")] {
        let mut h = quiet();
        assert_eq!(h.cmd(&format!("AT&D{mode}")), "\r\nOK\r\n");
        h.apply(Input::Ring("+1555".into()));
        assert_eq!(h.cmd("ATA"), "\r\nOK\r\n");
        assert_eq!(h.apply(Input::Dtr(false)), expected, "&D{mode}");
        let cpas = if mode == 2 { 0 } else { 4 };
        assert_eq!(h.cmd("AT+CPAS"), format!("\r\n+CPAS: {cpas}\r\n\r\nOK\r\n"));
        assert_eq!(h.apply(Input::Dtr(true)), b"");
        assert!(h.modem.state().dtr);
    }
}

#[test]
fn network_change_raises_the_registration_urcs_the_client_asked_for() {
    let mut h = quiet();
    assert_eq!(h.cmd("AT+CREG=2;+CGREG=1"), "\r\nOK\r\n");
    let lost = Input::Network(NetworkChange {
        service: Some(Service::Searching),
        ..Default::default()
    });
    assert_eq!(h.apply(lost), b"\r\n+CREG: 2\r\n\r\n+CGREG: 2\r\n");
    assert_eq!(h.cmd("AT+CREG?"), "\r\n+CREG: 2,2\r\n\r\nOK\r\n");
    let roaming = Input::Network(NetworkChange {
        service: Some(Service::Roaming),
        operator: Some("vodafone IT".into()),
        operator_code: Some("22210".into()),
        csq: Some(7),
        ..Default::default()
    });
    assert_eq!(
        h.apply(roaming),
        b"\r\n+CREG: 5,\"1A2B\",\"0C3D\"\r\n\r\n+CGREG: 5\r\n"
    );
    assert_eq!(h.cmd("AT+CSQ"), "\r\n+CSQ: 7,0\r\n\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT+COPS?"),
        "\r\n+COPS: 0,0,\"vodafone IT\"\r\n\r\nOK\r\n"
    );
    let moved = Input::Network(NetworkChange {
        lac: Some(0x00FF),
        cell_id: Some(0xBEEF),
        ..Default::default()
    });
    assert_eq!(h.apply(moved), b"\r\n+CREG: 5,\"00FF\",\"BEEF\"\r\n");
    let state = h.modem.state();
    assert_eq!(state.registration.creg, 5);
    assert_eq!(state.network.operator, "vodafone IT");
}

#[test]
fn urcs_wait_while_the_client_types_a_line() {
    let mut h = quiet();
    assert_eq!(h.send(b"AT+CS"), b"");
    assert_eq!(h.apply(Input::Urc("+CMTI: \"SM\",1".into())), b"");
    assert_eq!(
        h.send(b"Q\r"),
        b"\r\n+CSQ: 20,0\r\n\r\nOK\r\n\r\n+CMTI: \"SM\",1\r\n"
    );
    assert_eq!(h.apply(Input::Urc("hello".into())), b"\r\nhello\r\n");
}

#[test]
fn sim_removal_and_insertion() {
    let mut h = quiet();
    assert_eq!(h.cmd("AT+CREG=1"), "\r\nOK\r\n");
    assert_eq!(
        h.apply(Input::Sim(SimChange::Removed)),
        b"\r\n+CPIN: NOT READY\r\n\r\n+CREG: 0\r\n"
    );
    assert_eq!(h.cmd("AT+CPIN?"), "\r\nERROR\r\n");
    assert_eq!(h.apply(Input::Sim(SimChange::Removed)), b"");
    assert_eq!(h.apply(Input::Sim(SimChange::Inserted)), b"");
    assert_eq!(h.advance(200), b"\r\n+CPIN: READY\r\n\r\n+CREG: 2\r\n");
    assert_eq!(h.advance(500), b"\r\n+CREG: 1\r\n");
}

#[test]
fn reboot_restarts_with_the_stored_profile_and_powers_on_after_cpowd() {
    let mut h = quiet();
    assert_eq!(h.cmd("AT+IPR=115200;&W"), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CPOWD=1"), "\r\nNORMAL POWER DOWN\r\n");
    assert_eq!(h.send(b"AT\r"), b"");
    assert_eq!(h.apply(Input::Reboot), b"");
    assert_eq!(
        h.advance(1000),
        b"\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\nCall Ready\r\n"
    );
    assert_eq!(h.cmd("AT"), "\r\nOK\r\n", "E0 was stored by &W");
    assert_eq!(h.modem.state().mode, "command");
}

#[test]
fn raw_urc_respects_framing_and_is_lost_without_a_client() {
    let mut h = quiet();
    assert_eq!(h.cmd("ATV0"), "0\r");
    assert_eq!(h.apply(Input::Urc("+CUSD: 0".into())), b"+CUSD: 0\r\n");
    h.apply(Input::DteClosed);
    assert_eq!(h.apply(Input::Urc("lost".into())), b"");
    h.apply(Input::DteOpened);
    assert_eq!(
        h.advance(10),
        b"",
        "a URC raised while nobody listened is never delivered"
    );
}

#[test]
fn a_timer_noticed_late_keeps_its_cadence() {
    let mut h = quiet();
    h.apply(Input::Ring("+1555".into()));
    // The host notices the second ring 700 ms late; the third is still due at 10 s.
    h.now = Instant::from_millis(h.now.as_millis() + 5700);
    assert_eq!(h.apply(Input::Timer), b"\r\nRING\r\n");
    assert_eq!(
        h.modem.next_deadline(),
        Some(Instant::from_millis(h.now.as_millis() - 700 + 5000))
    );
}
