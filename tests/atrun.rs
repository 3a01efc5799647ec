//! Telit ATRUN end to end on the real binary: SMS ATRUN between two emulated modems (the
//! application note's digest vectors), TCP ATRUN server and client mode on real loopback
//! sockets, `#TCPATCMDSEQ`, `#TCPATCONSER`, a script uploaded and enabled over TCP ATRUN
//! across `#REBOOT`, a thousand hostile attempts, and passwords kept out of `--trace`.
//!
//! Everything talks to 127.0.0.0/8 only; the ports the modem listens on are odd ones in
//! 47801-47899.

mod support;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::atrun::*;

// ---------------------------------------------------------------------------------------------
// 1. SMS ATRUN between two emulated modems
// ---------------------------------------------------------------------------------------------

/// The application note's reply text and its digest with `PASSWORD`.
const COPS_REPLY: &[u8] = b"\r\n+COPS: 0,0,\"vodafone IT\"\r\n\r\nOK\r\n";
const REQUEST_DIGEST: &[u8] = b"WijCp2qV3sNv+aru20ZUaw==";
const REPLY_DIGEST: &[u8] = b"Junra7r0kIEcH9qV542n3Q==";

/// SMS ATRUN on from instance 1: the mobile whitelisted, the password too; `+CNMI` set so an
/// ordinary SMS would show `+CMTI`.
fn sms_atrun_on(telit: &mut AtPort) {
    telit.ok(&format!("AT#SMSATWL=0,1,0,\"{MOBILE_NUMBER}\""));
    telit.ok(&format!("AT#SMSATWL=0,2,1,\"{PASSWORD}\""));
    telit.ok("AT+CNMI=2,1");
    telit.ok("AT#SMSATRUN=1");
    telit.exchange(b"AT#SMSATRUN?\r", b"\r\n#SMSATRUN: 1,1\r\n\r\nOK\r\n");
}

#[test]
fn sms_digest_request_from_the_mobile_gets_the_app_note_reply() {
    let world = AtrunWorld::start(
        "sms-digest",
        Options {
            mobile: true,
            ..Options::default()
        },
    );
    let mut telit = world.telit_ready();
    sms_atrun_on(&mut telit);
    let mut mobile = world.mobile_ready();
    mobile.ok("AT+CNMI=2,1");
    mobile.ok("AT+CMGF=0");

    // The app note's request: D0D0D0 00 11 01, the digest, AT+COPS?; DCS 0x15.
    let mut ud = vec![0xD0, 0xD0, 0xD0, 0x00, 0x11, 0x01];
    ud.extend_from_slice(REQUEST_DIGEST);
    ud.extend_from_slice(b"AT+COPS?");
    assert_eq!(
        digest_request(PASSWORD, b"AT+COPS?"),
        ud,
        "the vectors agree"
    );
    let (pdu, length) = submit_pdu(TELIT_NUMBER, 0x15, &ud);
    assert_eq!(length, 52, "telit.md B.6: the TPDU is 52 octets");
    mobile.exchange(format!("AT+CMGS={length}\r").as_bytes(), b"\r\n> ");
    mobile.send(format!("{pdu}\x1a").as_bytes());
    // The network delivers and acknowledges at once: the reply's +CMTI follows the OK.
    mobile.expect(b"\r\n+CMGS: 0\r\n\r\nOK\r\n\r\n+CMTI: \"SM\",1\r\n");
    // Announced on instance 1, never stored.
    telit.expect(b"\r\n#SMSATRUN: AT+COPS?\r\n");
    telit.exchange(
        b"AT+CPMS?\r",
        b"\r\n+CPMS: \"SM\",0,30,\"SM\",0,30,\"SM\",0,30\r\n\r\nOK\r\n",
    );

    mobile.send(b"AT+CMGR=1\r");
    let read = mobile.read_until(b"\r\nOK\r\n");
    let text = String::from_utf8_lossy(&read).into_owned();
    let pdu_hex = text
        .lines()
        .nth(2)
        .unwrap_or_else(|| panic!("no PDU line in {text:?}"));
    let reply = parse_deliver(&unhex(pdu_hex));
    let mut expected_ud = vec![0xD1, 0xD1, 0xD1, 0x00, 0x11, 0x01];
    expected_ud.extend_from_slice(REPLY_DIGEST);
    expected_ud.extend_from_slice(COPS_REPLY);
    assert_eq!(
        String::from_utf8_lossy(&reply.user_data),
        String::from_utf8_lossy(&expected_ud)
    );
    assert_eq!(reply.user_data, expected_ud);
    // Every byte: the Telit's SMSC (+15550009999), SMS-DELIVER with no more messages
    // (0x04, as the app note's reply), the Telit as originator, PID 0, DCS 0x15, the network's
    // timestamp, UDL 64 = 30 + 34, the user data.
    let expected_pdu = format!(
        "07915155009099F904{}0015{}40{}",
        hex(&address_octets(TELIT_NUMBER)),
        hex(&reply.timestamp),
        hex(&expected_ud)
    );
    assert_eq!(
        text,
        format!("\r\n+CMGR: 0,\"\",83\r\n{expected_pdu}\r\n\r\nOK\r\n"),
        "telit.md B.6: 83 octets, as the app note's +CMGR: 0,\"\",83"
    );
    world.stop();
}

#[test]
fn sms_simple_text_request_from_a_whitelisted_mobile_gets_a_text_reply() {
    let world = AtrunWorld::start(
        "sms-simple",
        Options {
            mobile: true,
            ..Options::default()
        },
    );
    let mut telit = world.telit_ready();
    sms_atrun_on(&mut telit);
    let mut mobile = world.mobile_ready();
    mobile.ok("AT+CNMI=2,1");
    mobile.ok("AT+CMGF=1");
    mobile.exchange(
        format!("AT+CMGS=\"{TELIT_NUMBER}\"\r").as_bytes(),
        b"\r\n> ",
    );
    mobile.send(b"AT+CGMI\x1a");
    mobile.expect(b"\r\n+CMGS: 0\r\n\r\nOK\r\n\r\n+CMTI: \"SM\",1\r\n");
    telit.expect(b"\r\n#SMSATRUN: AT+CGMI\r\n");
    // +CSDH=1: the header shows the reply is 7-bit (DCS 0) like the request, 15 characters.
    mobile.ok("AT+CSDH=1");
    mobile.send(b"AT+CMGR=1\r");
    let read =
        String::from_utf8_lossy(&mobile.read_until(b"\r\nOK\r\n\r\n\r\nOK\r\n")).into_owned();
    let head = format!("\r\n+CMGR: \"REC UNREAD\",\"{TELIT_NUMBER}\",\"\",\"");
    let timestamp = read
        .strip_prefix(&head)
        .and_then(|rest| rest.get(..20))
        .unwrap_or_else(|| panic!("{read:?}"));
    assert!(
        regex::Regex::new(r"^\d\d/\d\d/\d\d,\d\d:\d\d:\d\d\+00$")
            .expect("regex")
            .is_match(timestamp),
        "{timestamp:?}"
    );
    assert_eq!(
        read,
        format!(
            "{head}{timestamp}\",145,4,0,0,\"+15550009999\",145,15\r\n\
             \r\nTelit\r\n\r\nOK\r\n\r\n\r\nOK\r\n"
        )
    );
    telit.exchange(
        b"AT+CPMS?\r",
        b"\r\n+CPMS: \"SM\",0,30,\"SM\",0,30,\"SM\",0,30\r\n\r\nOK\r\n",
    );
    world.stop();
}

// ---------------------------------------------------------------------------------------------
// 2. TCP ATRUN server mode
// ---------------------------------------------------------------------------------------------

const USER: &str = "alice";
const USER_PASSWORD: &str = "s3cret-Pa55";

/// The `#SS` answer with socket 1 as `first` and the others closed.
fn ss_with(first: &str) -> String {
    let rest: String = (2..=6).map(|n| format!("#SS: {n},0\r\n")).collect();
    format!("\r\n#SS: 1,{first}\r\n{rest}\r\nOK\r\n")
}

/// Context 1 up and TCP ATRUN configured on socket 1 (txTo 100 ms) for server mode on
/// `port`, `USER` allowed, 127.0.0.1 only; not enabled yet.
fn configure_server(telit: &mut AtPort, port: u16, auth_mode: u32) {
    telit.ok("AT#SCFG=1,1,300,90,600,1");
    telit.exchange(
        b"AT#SGACT=1,1\r",
        format!("\r\n#SGACT: {ADDRESS}\r\n\r\nOK\r\n").as_bytes(),
    );
    telit.ok(&format!(
        "AT#TCPATRUNCFG=1,2,{port},{port},\"\",1,5,{auth_mode},0,2"
    ));
    telit.ok(&format!("AT#TCPATRUNAUTH=1,\"{USER}\",\"{USER_PASSWORD}\""));
    telit.ok("AT#TCPATRUNFRWL=1,\"127.0.0.1\",\"255.255.255.255\"");
}

/// `configure_server` and `#TCPATRUNL=1`, listening (`#SS` shows it).
fn server(telit: &mut AtPort, port: u16, auth_mode: u32) {
    configure_server(telit, port, auth_mode);
    telit.ok("AT#TCPATRUNL=1");
    telit.exchange(b"AT#TCPATRUNL?\r", b"\r\n#TCPATRUNL: 1,1\r\n\r\nOK\r\n");
    telit.exchange(
        b"AT#SS\r",
        ss_with(&format!("4,{ADDRESS},{port}")).as_bytes(),
    );
}

/// A caller from 127.0.0.1 accepted (`#TCPATRUN: 127.0.0.1` on instance 1) and logged in
/// automatically (authMode 0): nothing comes back for the credentials.
fn logged_in(telit: &mut AtPort, port: u16) -> TcpStream {
    let mut stream = connect_when_listening(port, WAIT);
    telit.expect(b"\r\n#TCPATRUN: 127.0.0.1\r\n");
    stream
        .write_all(format!("{USER}\r{USER_PASSWORD}\r").as_bytes())
        .expect("login");
    stream_exchange(&mut stream, b"AT+CGMI\r", b"\r\nTelit\r\n\r\nOK\r\n");
    stream
}

#[test]
fn tcp_server_firewall_both_logins_commands_urcs_and_listening_again() {
    let world = AtrunWorld::start("tcp-server", Options::default());
    let mut telit = world.telit_ready();
    let port = free_odd_port(47801);
    server(&mut telit, port, 0);
    // The reserved instance 2 no longer answers its own port.
    let mut second = world.telit_port(2);
    second.send(b"AT\r");
    second.silent(Duration::from_millis(200));

    // The firewall drops 127.0.0.2 (no URC, nothing sent), still listening after it.
    expect_turned_away("127.0.0.2", port);
    telit.exchange(b"AT#TCPATRUNL?\r", b"\r\n#TCPATRUNL: 1,1\r\n\r\nOK\r\n");

    // Automatic login: user CR password CR, then commands.
    let mut stream = connect_when_listening(port, WAIT);
    telit.expect(b"\r\n#TCPATRUN: 127.0.0.1\r\n");
    let (local, peer) = (
        stream.local_addr().expect("local").port(),
        stream.peer_addr().expect("peer").port(),
    );
    assert_eq!(peer, port);
    telit.exchange(
        b"AT#SS=1\r",
        format!("\r\n#SS: 1,1,{ADDRESS},{port},127.0.0.1,{local}\r\n\r\nOK\r\n").as_bytes(),
    );
    stream
        .write_all(format!("{USER}\r{USER_PASSWORD}\r").as_bytes())
        .expect("login");
    stream_exchange(&mut stream, b"AT+CGMI\r", b"\r\nTelit\r\n\r\nOK\r\n");
    // Echo is off on the service instance until ATE1.
    stream_exchange(&mut stream, b"ATE1\r", b"\r\nOK\r\n");
    stream_exchange(&mut stream, b"AT\r", b"AT\r\r\nOK\r\n");
    stream_exchange(&mut stream, b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    drop(stream);
    telit.expect(b"\r\n#TCPATRUN: DISCONNECT\r\n");

    // Listening again: a second session gets in.
    let mut again = logged_in(&mut telit, port);
    stream_exchange(&mut again, b"AT+CGMM\r", b"\r\nGE865\r\n\r\nOK\r\n");
    drop(again);
    telit.expect(b"\r\n#TCPATRUN: DISCONNECT\r\n");

    // Step by step (authMode 1): prompts, credentials not echoed.
    telit.ok("AT#TCPATRUNL=0");
    telit.exchange(b"AT#TCPATRUNL?\r", b"\r\n#TCPATRUNL: 0,0\r\n\r\nOK\r\n");
    telit.ok(&format!("AT#TCPATRUNCFG=1,2,{port},{port},\"\",1,5,1,0,2"));
    telit.ok("AT#TCPATRUNL=1");
    let mut step = connect_when_listening(port, WAIT);
    telit.expect(b"\r\n#TCPATRUN: 127.0.0.1\r\n");
    expect_stream(&mut step, b"Username:\r\n");
    stream_exchange(&mut step, format!("{USER}\r").as_bytes(), b"Password:\r\n");
    stream_exchange(
        &mut step,
        format!("{USER_PASSWORD}\r").as_bytes(),
        b"Login successful.\r\n",
    );
    stream_exchange(&mut step, b"AT+CGMI\r", b"\r\nTelit\r\n\r\nOK\r\n");
    drop(step);
    telit.expect(b"\r\n#TCPATRUN: DISCONNECT\r\n");
    telit.exchange(b"AT#TCPATRUNL?\r", b"\r\n#TCPATRUNL: 1,1\r\n\r\nOK\r\n");
    world.stop();
}

// ---------------------------------------------------------------------------------------------
// 3. TCP ATRUN client mode
// ---------------------------------------------------------------------------------------------

#[test]
fn tcp_client_dials_the_test_server_answers_ok_once_connected_and_runs_its_commands() {
    let world = AtrunWorld::start("tcp-client", Options::default());
    let mut telit = world.telit_ready();
    telit.ok("AT#SCFG=1,1,300,90,600,1");
    telit.exchange(
        b"AT#SGACT=1,1\r",
        format!("\r\n#SGACT: {ADDRESS}\r\n\r\nOK\r\n").as_bytes(),
    );

    // Nobody listens: the dial fails and the command says so.
    let nobody = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let gone = nobody.local_addr().expect("addr").port();
    drop(nobody);
    telit.ok(&format!(
        "AT#TCPATRUNCFG=1,2,1024,{gone},\"127.0.0.1\",1,5,0,0,2"
    ));
    telit.exchange(b"AT#TCPATRUND=1\r", b"\r\nERROR\r\n");
    telit.ok("AT#TCPATRUND=0");

    // A test server: OK comes once the connection is made, then the URC.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let server_port = listener.local_addr().expect("addr").port();
    telit.ok(&format!(
        "AT#TCPATRUNCFG=1,2,1024,{server_port},\"127.0.0.1\",1,5,0,0,2"
    ));
    telit.send(b"AT#TCPATRUND=1\r");
    let (mut stream, from) = listener.accept().expect("the modem dials");
    assert_eq!(from.ip().to_string(), "127.0.0.1");
    stream
        .set_read_timeout(Some(Duration::from_millis(20)))
        .expect("timeout");
    telit.expect(b"\r\nOK\r\n\r\n#TCPATRUN: 127.0.0.1\r\n");
    telit.exchange(b"AT#TCPATRUND?\r", b"\r\n#TCPATRUND: 1,1\r\n\r\nOK\r\n");

    // No login in client mode: the server's lines are commands for instance 2.
    stream_exchange(&mut stream, b"AT+CGMI\r", b"\r\nTelit\r\n\r\nOK\r\n");
    stream_exchange(
        &mut stream,
        b"AT+CGMR;+CMEE?\r",
        b"\r\n10.00.002\r\n\r\n+CMEE: 0\r\n\r\nOK\r\n",
    );
    // The server hangs up: DISCONNECT, and with retryCnt 0 no redial.
    drop(stream);
    telit.expect(b"\r\n#TCPATRUN: DISCONNECT\r\n");
    telit.exchange(b"AT#TCPATRUND?\r", b"\r\n#TCPATRUND: 1,0\r\n\r\nOK\r\n");
    telit.ok("AT#TCPATRUND=0");
    world.stop();
}

// ---------------------------------------------------------------------------------------------
// 4. #TCPATCMDSEQ
// ---------------------------------------------------------------------------------------------

#[test]
fn tcpatcmdseq_runs_lines_sent_at_once_in_order_or_drops_them() {
    let world = AtrunWorld::start("cmdseq", Options::default());
    let mut telit = world.telit_ready();
    let port = free_odd_port(47811);
    server(&mut telit, port, 0);
    telit.ok("AT+CGDCONT=2,\"IP\",\"internet\"");
    telit.ok("AT#TCPATCMDSEQ=1");
    let mut stream = logged_in(&mut telit, port);
    let local = stream.local_addr().expect("local").port();
    stream
        .write_all(b"at#sgactcfg=2,1\rat#sgact=2,1\rat#ss\r")
        .expect("write");
    let ss = ss_with(&format!("1,{ADDRESS},{port},127.0.0.1,{local}"));
    let expected = format!("\r\nOK\r\n\r\n#SGACT: 10.64.0.3\r\n\r\nOK\r\n{ss}");
    assert_eq!(
        String::from_utf8_lossy(&expected_lines(&mut stream, expected.len())),
        expected,
        "telit.md B.14's screenshot: OK, #SGACT, OK, six #SS lines, OK"
    );

    // Off: a line arriving while another runs is dropped. A command runs from its CR to its
    // final result (DESIGN.md §8.14) and #SGACT ends at once here, so #ATRUNDELAY keeps the
    // first line running for a second.
    telit.ok("AT#TCPATCMDSEQ=0");
    telit.exchange(b"AT#TCPATCMDSEQ?\r", b"\r\n#TCPATCMDSEQ: 0\r\n\r\nOK\r\n");
    telit.ok("AT#ATRUNDELAY=0,1");
    stream.write_all(b"at#sgact=2,0\rat#ss\r").expect("write");
    expect_stream(&mut stream, b"\r\nOK\r\n");
    telit.ok("AT#ATRUNDELAY=0,0");
    telit.exchange(
        b"AT#SGACT?\r",
        b"\r\n#SGACT: 1,1\r\n#SGACT: 2,0\r\n\r\nOK\r\n",
    );
    // Had #SS been kept, its lines would come first.
    stream_exchange(&mut stream, b"AT+CGMI\r", b"\r\nTelit\r\n\r\nOK\r\n");
    world.stop();
}

/// Reads `len` bytes of `stream` (or what came before the hang guard).
fn expected_lines(stream: &mut TcpStream, len: usize) -> Vec<u8> {
    read_stream_while(stream, |got| got.len() < len, WAIT).0
}

// ---------------------------------------------------------------------------------------------
// 5. #TCPATCONSER
// ---------------------------------------------------------------------------------------------

#[test]
fn tcpatconser_bridges_the_peer_and_the_serial_port_until_plus_plus_plus() {
    let world = AtrunWorld::start("conser", Options::default());
    let mut telit = world.telit_ready();
    let port = free_odd_port(47821);
    server(&mut telit, port, 0);
    let mut stream = logged_in(&mut telit, port);
    // Not from instance 1: only the TCP ATRUN session may ask for it.
    telit.exchange(b"AT#TCPATCONSER=0,115200\r", b"\r\nERROR\r\n");
    stream_exchange(
        &mut stream,
        b"AT#TCPATCONSER=0,115200\r",
        b"\r\nCONNECT\r\n",
    );
    // Transparent both ways, AT-looking bytes included.
    stream.write_all(b"hello device\r\nAT\r").expect("write");
    telit.expect(b"hello device\r\nAT\r");
    telit.send(b"hello server\x00\xff+++");
    expect_stream(&mut stream, b"hello server\x00\xff+++");
    // +++ with other bytes in its segment is data; alone in one segment it ends the bridge.
    stream.write_all(b"a+++b").expect("write");
    telit.expect(b"a+++b");
    stream.write_all(b"+++").expect("write");
    expect_stream(&mut stream, b"\r\nOK\r\n");
    // Instance 1 is a command port again, the session goes on.
    telit.exchange(b"AT+CGMI\r", b"\r\nTelit\r\n\r\nOK\r\n");
    stream_exchange(&mut stream, b"AT+CGMM\r", b"\r\nGE865\r\n\r\nOK\r\n");
    world.stop();
}

// ---------------------------------------------------------------------------------------------
// 6. A script uploaded and enabled over TCP ATRUN, then #REBOOT
// ---------------------------------------------------------------------------------------------

/// The application note's Python example is not given in full: a script of the same kind.
const CICLO3: &[u8] = b"import MDM\r\nimport MOD\r\n\r\nfor i in range(3):\r\n    MDM.send('AT\\r', 0)\r\n    MOD.sleep(10)\r\n";

#[test]
fn a_script_uploaded_over_tcp_atrun_is_enabled_and_survives_the_reboot() {
    let world = AtrunWorld::start(
        "script",
        Options {
            trace: true,
            ..Options::default()
        },
    );
    let mut telit = world.telit_ready();
    let port = free_odd_port(47831);
    // Context 1 comes up by itself at boot: the server starts again after #REBOOT (B.1).
    telit.ok("AT#SGACTCFG=1,3");
    server(&mut telit, port, 0);
    let mut stream = logged_in(&mut telit, port);
    let size = CICLO3.len();
    stream_exchange(
        &mut stream,
        format!("AT#WSCRIPT=\"ciclo3.py\",{size}\r").as_bytes(),
        b"\r\n>>>",
    );
    stream_exchange(&mut stream, CICLO3, b"\r\nOK\r\n");
    stream_exchange(&mut stream, b"AT#ESCRIPT=\"ciclo3.py\"\r", b"\r\nOK\r\n");
    // The module reboots before its OK leaves (as B.19 S1 says of SMS ATRUN): the session
    // just ends.
    stream.write_all(b"AT#REBOOT\r").expect("write");
    expect_dropped(&mut stream);

    // After the boot, context 1 comes up by itself and the server listens again.
    let mut again = connect_when_listening(port, BOOT_WAIT);
    telit.expect(b"\r\n#TCPATRUN: 127.0.0.1\r\n");
    telit.exchange(
        b"AT#TCPATRUNL?\r",
        b"AT#TCPATRUNL?\r\r\n#TCPATRUNL: 1,1\r\n\r\nOK\r\n",
    );
    again
        .write_all(format!("{USER}\r{USER_PASSWORD}\r").as_bytes())
        .expect("login");
    let free = 1_900_000 - size;
    stream_exchange(
        &mut again,
        b"AT#LSCRIPT\r",
        format!("\r\n#LSCRIPT: \"ciclo3.py\",{size}\r\n#LSCRIPT: free bytes: {free}\r\n\r\nOK\r\n")
            .as_bytes(),
    );
    stream_exchange(
        &mut again,
        b"AT#ESCRIPT?\r",
        b"\r\n#ESCRIPT: \"ciclo3.py\"\r\n\r\nOK\r\n",
    );
    let mut read_back = b"\r\n<<<".to_vec();
    read_back.extend_from_slice(CICLO3);
    read_back.extend_from_slice(b"\r\nOK\r\n");
    stream_exchange(&mut again, b"AT#RSCRIPT=\"ciclo3.py\"\r", &read_back);
    // The boot log says what would run (simodem keeps scripts, it runs no Telit Python).
    let log = world.stop();
    assert!(
        log.contains("Easy Script: \"ciclo3.py\" is enabled and would run at start-up"),
        "{log}"
    );
}

/// A port someone else holds: the server stays idle (`#TCPATRUNL: 1,0`) instead of trying
/// to listen again and again; once the port is free, `#TCPATRUNL=0` then `=1` listens.
#[test]
fn a_taken_port_leaves_the_server_idle_until_it_is_enabled_again() {
    let world = AtrunWorld::start(
        "taken",
        Options {
            trace: true,
            ..Options::default()
        },
    );
    let mut telit = world.telit_ready();
    let port = free_odd_port(47841);
    let holder = std::net::TcpListener::bind(("127.0.0.1", port)).expect("hold the port");
    configure_server(&mut telit, port, 0);
    telit.ok("AT#TCPATRUNL=1");
    poll_until(
        &mut telit,
        b"AT#TCPATRUNL?\r",
        b"\r\n#TCPATRUNL: 1,0\r\n\r\nOK\r\n",
    );
    telit.exchange(b"AT#SS=1\r", b"\r\n#SS: 1,0\r\n\r\nOK\r\n");
    drop(holder);
    telit.ok("AT#TCPATRUNL=0");
    telit.ok("AT#TCPATRUNL=1");
    let _stream = logged_in(&mut telit, port);
    let log = world.stop();
    let attempts = log
        .lines()
        .filter(|l| l.contains("TCP ATRUN server: socket 1 listens on port"))
        .count();
    assert_eq!(attempts, 2, "one listen per enabling:\n{log}");
}

/// Sends `command` until it answers `expected` (for what the host does on its own time).
#[track_caller]
fn poll_until(port: &mut AtPort, command: &[u8], expected: &[u8]) {
    let deadline = Instant::now() + WAIT;
    loop {
        port.send(command);
        let got = port.read_until(b"OK\r\n");
        if got == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "never {:?}; last {:?}",
            String::from_utf8_lossy(expected),
            String::from_utf8_lossy(&got)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

// ---------------------------------------------------------------------------------------------
// 7. Security: a thousand hostile attempts run nothing
// ---------------------------------------------------------------------------------------------

/// Every hostile request tries this; the sentinel read later must still say 0.
const PAYLOAD: &[u8] = b"AT+CMEE=2";
const STRANGER: &str = "+441234567890";

/// Writes what it can: the modem may already have reset the connection.
fn send_anyway(stream: &mut TcpStream, bytes: &[u8]) {
    let _ = stream.write_all(bytes);
}

/// A session from 127.0.0.1 the modem ends without a byte: instance 1 sees it come and go.
#[track_caller]
fn refused_session(telit: &mut AtPort, port: u16, input: &[u8]) {
    let mut stream = connect_when_listening(port, WAIT);
    send_anyway(&mut stream, input);
    expect_dropped(&mut stream);
    telit.expect(b"\r\n#TCPATRUN: 127.0.0.1\r\n\r\n#TCPATRUN: DISCONNECT\r\n");
}

/// A connection from 127.0.0.2 sending `input`: reset or closed with nothing sent back
/// (tried again while the modem is between two listens and refuses outright).
#[track_caller]
fn firewalled_attempt(port: u16, input: &[u8]) {
    let deadline = Instant::now() + WAIT;
    loop {
        match connect_from("127.0.0.2", port) {
            Ok(mut stream) => {
                send_anyway(&mut stream, input);
                expect_dropped(&mut stream);
                return;
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                assert!(Instant::now() < deadline, "never listening: {e}");
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => panic!("connect from 127.0.0.2: {e}"),
        }
    }
}

/// Hostile SMS: each is an ordinary message (`+CMTI`), never a request.
fn hostile_sms(sender_ok: &str) -> Vec<serde_json::Value> {
    let mut wrong_length = digest_request(PASSWORD, PAYLOAD);
    wrong_length.remove(10);
    let mut tampered = digest_request(PASSWORD, b"AT+CMEE?");
    tampered.truncate(30);
    tampered.extend_from_slice(PAYLOAD);
    let truncated = digest_request(PASSWORD, PAYLOAD)[..20].to_vec();
    let seven_bit: Vec<u8> = digest_request(PASSWORD, PAYLOAD)
        .iter()
        .map(|b| b & 0x7F)
        .collect();
    let pdu = |dcs: u8, ud: &[u8]| {
        serde_json::json!({"verb": "sms_deliver", "to": "0",
            "pdu": deliver_pdu(sender_ok, dcs, ud.len() as u8, ud)})
    };
    vec![
        pdu(0x15, &wrong_length),
        pdu(0x15, &digest_request("6543210987654321", PAYLOAD)),
        pdu(0x15, &tampered),
        pdu(0x15, &truncated),
        serde_json::json!({"verb": "sms_deliver", "to": "0", "pdu": deliver_pdu(
            sender_ok, 0x00, seven_bit.len() as u8, &pack_septets(&seven_bit))}),
        serde_json::json!({"verb": "sms_deliver", "to": "0", "from": STRANGER,
            "text": "AT+CMEE=2"}),
        serde_json::json!({"verb": "sms_deliver", "to": "0", "from": STRANGER,
            "text": "HAT+CMEE=2"}),
        serde_json::json!({"verb": "sms_deliver", "to": "0", "from": STRANGER,
            "text": "AT+CMEE=2", "alphabet": "8bit"}),
    ]
}

#[test]
fn a_thousand_hostile_attempts_run_nothing_and_leave_no_trace_behind() {
    let world = AtrunWorld::start("security", Options::default());
    let pid = world.pid();
    let mut telit = world.telit_ready();
    let mut ctl = world.ctl();
    let port = free_odd_port(47851);
    // SMS ATRUN on instance 3 for MOBILE_NUMBER and PASSWORD, TCP ATRUN on instance 2.
    telit.ok(&format!("AT#SMSATWL=0,1,0,\"{MOBILE_NUMBER}\""));
    telit.ok(&format!("AT#SMSATWL=0,2,1,\"{PASSWORD}\""));
    telit.ok("AT+CNMI=2,1");
    telit.ok("AT#SMSATRUN=1");
    server(&mut telit, port, 0);
    let fds = fd_count(pid);
    let rss = rss_kb(pid);
    let started = Instant::now();
    let mut attempts = 0;

    // SMS: 8 kinds × 25, deleted as they are stored.
    let kinds = hostile_sms(MOBILE_NUMBER);
    for _ in 0..25 {
        for (i, request) in kinds.iter().enumerate() {
            let answer = ctl.request_json(&request.to_string());
            assert_eq!(answer["ok"], true, "{request}: {answer}");
            telit.expect(format!("\r\n+CMTI: \"SM\",{}\r\n", i + 1).as_bytes());
            attempts += 1;
        }
        telit.ok("AT+CMGD=1,4");
    }

    // TCP before any login: wrong passwords, unknown users, a CR-less flood.
    let wrong = [
        format!("{USER}\rwrong\r"),
        format!("{USER}\r{USER_PASSWORD}x\r"),
        format!("{USER}\r\r"),
        format!("mallory\r{USER_PASSWORD}\r"),
        format!("{USER_PASSWORD}\r{USER}\r"),
        "\r\r".to_string(),
    ];
    for _ in 0..100 {
        for login in &wrong {
            let mut input = login.clone().into_bytes();
            input.extend_from_slice(PAYLOAD);
            input.push(b'\r');
            refused_session(&mut telit, port, &input);
            attempts += 1;
        }
    }
    // Sources the firewall drops: nothing reaches instance 1.
    for _ in 0..150 {
        let mut login = format!("{USER}\r{USER_PASSWORD}\r").into_bytes();
        login.extend_from_slice(PAYLOAD);
        login.push(b'\r');
        firewalled_attempt(port, &login);
        attempts += 1;
    }
    // 100 KB without a CR before the login: bounded, and no login comes of it.
    let flood: Vec<u8> = PAYLOAD.iter().copied().cycle().take(100_000).collect();
    for _ in 0..10 {
        let mut stream = connect_when_listening(port, WAIT);
        telit.expect(b"\r\n#TCPATRUN: 127.0.0.1\r\n");
        stream.write_all(&flood).expect("flood");
        drop(stream);
        telit.expect(b"\r\n#TCPATRUN: DISCONNECT\r\n");
        attempts += 1;
    }

    // After a correct login: 100 KB lines (refused whole) and binary lines (not commands),
    // queued in order (`#TCPATCMDSEQ=1`: with 0 the lines behind the first of a segment are
    // dropped, and how TCP cuts segments would decide what the test sees).
    telit.ok("AT#TCPATCMDSEQ=1");
    let mut long_line = flood.clone();
    long_line.push(b'\r');
    let binary: Vec<u8> = (0u8..=255)
        .filter(|b| !matches!(b, b'A' | b'a' | b'\r' | b'\n'))
        .collect();
    for _ in 0..5 {
        let mut stream = logged_in(&mut telit, port);
        let mut lines = Vec::new();
        for _ in 0..10 {
            lines.extend_from_slice(&long_line);
            attempts += 1;
        }
        stream_exchange(&mut stream, &lines, &b"\r\nERROR\r\n".repeat(10));
        let mut lines = Vec::new();
        for shift in 0..10 {
            lines.extend(binary.iter().cycle().skip(shift * 37).take(300));
            lines.push(b'\r');
            attempts += 1;
        }
        lines.extend_from_slice(b"AT+CMEE?\r");
        stream_exchange(&mut stream, &lines, b"\r\n+CMEE: 0\r\n\r\nOK\r\n");
        drop(stream);
        telit.expect(b"\r\n#TCPATRUN: DISCONNECT\r\n");
    }
    assert!(attempts >= 1000, "{attempts} attempts");
    eprintln!("{attempts} hostile attempts in {:?}", started.elapsed());

    // Nothing ran, nothing was sent, nothing was said on instance 1.
    assert_eq!(
        ctl.request(r#"{"verb":"sms_sent"}"#),
        r#"{"ok":true,"sent":[]}"#
    );
    telit.silent(Duration::from_millis(100));

    // The legitimate paths still work, and the sentinels are untouched.
    let mut stream = logged_in(&mut telit, port);
    stream_exchange(&mut stream, b"AT+CMEE?\r", b"\r\n+CMEE: 0\r\n\r\nOK\r\n");
    drop(stream);
    telit.expect(b"\r\n#TCPATRUN: DISCONNECT\r\n");
    let simple = serde_json::json!({"verb": "sms_deliver", "to": "0", "from": MOBILE_NUMBER,
        "text": "AT+CMEE?"});
    assert_eq!(ctl.request_json(&simple.to_string())["ok"], true);
    telit.expect(b"\r\n#SMSATRUN: AT+CMEE?\r\n");
    let ud = digest_request(PASSWORD, b"AT+CGMI");
    let request = serde_json::json!({"verb": "sms_deliver", "to": "0",
        "pdu": deliver_pdu(STRANGER, 0x15, ud.len() as u8, &ud)});
    assert_eq!(ctl.request_json(&request.to_string())["ok"], true);
    telit.expect(b"\r\n#SMSATRUN: AT+CGMI\r\n");
    let sent = ctl.request_json(r#"{"verb":"sms_sent"}"#);
    let sent = sent["sent"].as_array().expect("sent");
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(
        (sent[0]["to"].as_str(), sent[0]["text"].as_str()),
        (Some(MOBILE_NUMBER), Some("\r\n+CMEE: 0\r\n\r\nOK\r\n"))
    );
    let mut reply = vec![0xD1, 0xD1, 0xD1, 0x00, 0x11, 0x01];
    let text = b"\r\nTelit\r\n\r\nOK\r\n";
    reply.extend_from_slice(digest(PASSWORD, text).as_bytes());
    reply.extend_from_slice(text);
    assert_eq!(
        (sent[1]["to"].as_str(), sent[1]["ud"].as_str()),
        (Some(STRANGER), Some(hex(&reply).as_str()))
    );

    // Descriptors back to where they were, memory bounded.
    let now = wait_fd_count(pid, fds, WAIT);
    assert_eq!(now, fds, "descriptors before and after");
    let grown = rss_kb(pid).saturating_sub(rss);
    eprintln!("RSS {rss} kB before, grew by {grown} kB");
    assert!(grown < 20 * 1024, "RSS grew by {grown} kB");
    world.stop();
}

// ---------------------------------------------------------------------------------------------
// 8. Passwords never in the trace
// ---------------------------------------------------------------------------------------------

#[test]
fn passwords_never_appear_in_the_trace() {
    const SMS_PASSWORD: &str = "pw16-SECRET-abcd";
    const TCP_PASSWORD: &str = "tcp-Secret-42";
    let world = AtrunWorld::start(
        "trace",
        Options {
            trace: true,
            ..Options::default()
        },
    );
    let mut telit = world.telit_ready();
    let mut ctl = world.ctl();
    let port = free_odd_port(47861);
    // Set, read back (the read form shows them in clear on the port, B.4 and B.11), used.
    telit.ok(&format!("AT#SMSATWL=0,1,1,\"{SMS_PASSWORD}\""));
    telit.exchange(
        b"AT#SMSATWL?\r",
        format!("\r\n#SMSATWL: 1,\"{SMS_PASSWORD}\"\r\n\r\nOK\r\n").as_bytes(),
    );
    telit.ok("AT#SMSATRUN=1");
    telit.ok("AT#SCFG=1,1,300,90,600,1");
    telit.exchange(
        b"AT#SGACT=1,1\r",
        format!("\r\n#SGACT: {ADDRESS}\r\n\r\nOK\r\n").as_bytes(),
    );
    telit.ok(&format!("AT#TCPATRUNCFG=1,2,{port},{port},\"\",1,5,1,0,2"));
    telit.ok(&format!("AT#TCPATRUNAUTH=1,\"{USER}\",\"{TCP_PASSWORD}\""));
    telit.exchange(
        b"AT#TCPATRUNAUTH?\r",
        format!("\r\n#TCPATRUNAUTH: \"{USER}\",\"{TCP_PASSWORD}\"\r\n\r\nOK\r\n").as_bytes(),
    );
    telit.ok("AT#TCPATRUNFRWL=1,\"127.0.0.1\",\"255.255.255.255\"");
    telit.ok("AT#TCPATRUNL=1");

    // A step-by-step login, a wrong one, and a digest request with the SMS password.
    let mut stream = connect_when_listening(port, WAIT);
    telit.expect(b"\r\n#TCPATRUN: 127.0.0.1\r\n");
    expect_stream(&mut stream, b"Username:\r\n");
    stream_exchange(
        &mut stream,
        format!("{USER}\r").as_bytes(),
        b"Password:\r\n",
    );
    stream_exchange(
        &mut stream,
        format!("{TCP_PASSWORD}\r").as_bytes(),
        b"Login successful.\r\n",
    );
    stream_exchange(&mut stream, b"AT+CGMI\r", b"\r\nTelit\r\n\r\nOK\r\n");
    drop(stream);
    telit.expect(b"\r\n#TCPATRUN: DISCONNECT\r\n");
    let mut wrong = connect_when_listening(port, WAIT);
    telit.expect(b"\r\n#TCPATRUN: 127.0.0.1\r\n");
    expect_stream(&mut wrong, b"Username:\r\n");
    stream_exchange(&mut wrong, format!("{USER}\r").as_bytes(), b"Password:\r\n");
    send_anyway(&mut wrong, format!("{TCP_PASSWORD}!\r").as_bytes());
    expect_dropped(&mut wrong);
    telit.expect(b"\r\n#TCPATRUN: DISCONNECT\r\n");
    let ud = digest_request(SMS_PASSWORD, b"AT+CGMI");
    let request = serde_json::json!({"verb": "sms_deliver", "to": "0",
        "pdu": deliver_pdu(STRANGER, 0x15, ud.len() as u8, &ud)});
    assert_eq!(ctl.request_json(&request.to_string())["ok"], true);
    telit.expect(b"\r\n#SMSATRUN: AT+CGMI\r\n");
    let sent = ctl.request_json(r#"{"verb":"sms_sent"}"#);
    assert_eq!(sent["sent"].as_array().map(Vec::len), Some(1), "{sent}");

    let log = world.stop();
    // The trace did record the session: the commands, the login, the request.
    for wanted in [
        "AT#SMSATWL=0,1,1,",
        "AT#TCPATRUNAUTH=1,",
        "logged in",
        "#SMSATRUN: AT+CGMI",
    ] {
        assert!(
            log.contains(wanted),
            "{wanted:?} missing from the trace:\n{log}"
        );
    }
    let leaks: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(SMS_PASSWORD) || l.contains(TCP_PASSWORD))
        .collect();
    assert!(
        leaks.is_empty(),
        "{} trace lines show a password:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
}
