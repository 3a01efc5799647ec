//! The SIM900 TCP/IP stack on a virtual clock: bearer states, connections, sends, receive
//! paths, the server, transparent mode with `+++`, dial-up data, with the exact bytes and requests.

use std::net::SocketAddr;

use super::Harness;
use crate::modem::*;

fn addr(text: &str) -> SocketAddr {
    text.parse().expect("test address")
}

fn connected(port: u16) -> SocketEvent {
    SocketEvent::Connected {
        local: addr("127.0.0.1:40000"),
        peer: addr(&format!("127.0.0.1:{port}")),
    }
}

fn connect(host: &str, port: u16) -> SocketCommand {
    SocketCommand::Connect {
        transport: Transport::Tcp,
        host: host.into(),
        port,
        local_port: None,
    }
}

/// A SIM900 with echo off, registered, its context up (IP STATUS).
fn gprs_up() -> Harness {
    let mut h = Harness::sim900();
    assert_eq!(h.send(b"ATE0\r"), b"ATE0\r\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CSTT=\"internet\",\"\",\"\""), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CIICR"), "");
    assert_eq!(h.advance(500), b"\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CIFSR"), "\r\n10.64.0.2\r\n");
    h
}

/// `gprs_up` and one TCP connection (socket 1) to 127.0.0.1:5000.
fn connected_single() -> Harness {
    let mut h = gprs_up();
    assert_eq!(
        h.cmd("AT+CIPSTART=\"TCP\",\"127.0.0.1\",5000"),
        "\r\nOK\r\n"
    );
    assert_eq!(
        h.requests(),
        vec![Output::Socket(SocketId(1), connect("127.0.0.1", 5000))]
    );
    assert_eq!(h.net(1, connected(5000)), b"\r\nCONNECT OK\r\n");
    h
}

#[test]
fn bearer_states_in_order_with_cipstatus_ok_first() {
    let mut h = Harness::sim900();
    h.send(b"ATE0\r");
    let status = |h: &mut Harness| h.cmd("AT+CIPSTATUS");
    assert_eq!(status(&mut h), "\r\nOK\r\n\r\nSTATE: IP INITIAL\r\n");
    assert_eq!(
        h.cmd("AT+CSTT?"),
        "\r\n+CSTT: \"CMNET\",\"\",\"\"\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT+CSTT=\"internet\""), "\r\nOK\r\n");
    assert_eq!(status(&mut h), "\r\nOK\r\n\r\nSTATE: IP START\r\n");
    assert_eq!(h.cmd("AT+CIICR"), "");
    assert_eq!(h.modem.state().ip.expect("SIMCom stack").state, "IP CONFIG");
    // Input typed while +CIICR runs waits for its OK.
    assert_eq!(h.cmd("AT+CIPSTATUS"), "");
    assert_eq!(
        h.advance(500),
        b"\r\nOK\r\n\r\nOK\r\n\r\nSTATE: IP GPRSACT\r\n"
    );
    assert_eq!(h.cmd("AT+CIFSR;E0"), "\r\n10.64.0.2\r\n\r\nOK\r\n");
    assert_eq!(status(&mut h), "\r\nOK\r\n\r\nSTATE: IP STATUS\r\n");
    assert_eq!(h.cmd("AT+CIPSHUT"), "\r\nSHUT OK\r\n");
    assert_eq!(status(&mut h), "\r\nOK\r\n\r\nSTATE: IP INITIAL\r\n");
}

#[test]
fn commands_out_of_order_are_errors() {
    let mut h = Harness::sim900();
    h.send(b"ATE0\r");
    assert_eq!(h.cmd("AT+CIICR"), "\r\nERROR\r\n");
    assert_eq!(h.cmd("AT+CIFSR"), "\r\nERROR\r\n");
    assert_eq!(h.cmd("AT+CIPSEND=5"), "\r\nERROR\r\n");
    assert_eq!(h.cmd("AT+CIPCLOSE"), "\r\nERROR\r\n");
    assert_eq!(h.cmd("AT+CSTT=\"a\""), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CSTT=\"b\""), "\r\nERROR\r\n");
    assert_eq!(h.cmd("AT+CIPMUX=1"), "\r\nERROR\r\n");
    assert_eq!(
        h.cmd("AT+CIPSTART=\"TCP\",\"127.0.0.1\",80"),
        "\r\nERROR\r\n"
    );
    assert_eq!(
        h.cmd("AT+CIPSTART=\"TCP\",\"127.0.0.1\",0"),
        "\r\nERROR\r\n"
    );
    assert_eq!(
        h.cmd("AT+CIPSTART=\"XYZ\",\"127.0.0.1\",80"),
        "\r\nERROR\r\n"
    );
    assert!(h.requests().is_empty());
}

#[test]
fn connect_ok_already_connect_and_status() {
    let mut h = connected_single();
    assert_eq!(h.cmd("AT+CIPSTATUS"), "\r\nOK\r\n\r\nSTATE: CONNECT OK\r\n");
    assert_eq!(
        h.cmd("AT+CIPSTART=\"TCP\",\"127.0.0.1\",5000"),
        "\r\nALREADY CONNECT\r\n"
    );
    assert!(h.requests().is_empty());
}

#[test]
fn refused_connection_is_connect_fail_and_a_retry_works() {
    let mut h = gprs_up();
    assert_eq!(h.cmd("AT+CIPSTART=TCP,localhost,\"5001\""), "\r\nOK\r\n");
    assert_eq!(
        h.requests(),
        vec![Output::Socket(SocketId(1), connect("localhost", 5001))]
    );
    assert_eq!(
        h.net(1, SocketEvent::Failed(SocketFailure::Refused)),
        b"\r\nCONNECT FAIL\r\n"
    );
    assert_eq!(h.cmd("AT+CIPSTATUS"), "\r\nOK\r\n\r\nSTATE: IP STATUS\r\n");
    assert_eq!(
        h.cmd("AT+CIPSTART=\"TCP\",\"localhost\",5001"),
        "\r\nOK\r\n"
    );
    assert_eq!(
        h.requests(),
        vec![Output::Socket(SocketId(2), connect("localhost", 5001))]
    );
}

#[test]
fn an_unanswered_connection_fails_after_the_profile_timeout() {
    let mut h = gprs_up();
    h.cmd("AT+CIPSTART=\"TCP\",\"127.0.0.2\",9");
    h.requests();
    assert_eq!(h.advance(74_999), b"");
    assert_eq!(h.advance(1), b"\r\nCONNECT FAIL\r\n");
    assert_eq!(
        h.requests(),
        vec![Output::Socket(
            SocketId(1),
            SocketCommand::Close { abort: true }
        )]
    );
}

#[test]
fn cipsend_fixed_length_prompt_then_send_ok_after_the_bytes_leave() {
    let mut h = connected_single();
    assert_eq!(h.send(b"AT+CIPSEND=5\r\n"), b"\r\n> ");
    // Binary-safe: Ctrl-Z and ESC inside a fixed-length payload are data.
    assert_eq!(h.send(b"a\x1a\x1bbc"), b"");
    assert_eq!(
        h.requests(),
        vec![Output::Socket(
            SocketId(1),
            SocketCommand::Send(b"a\x1a\x1bbc".to_vec())
        )]
    );
    // A command typed before SEND OK waits for it.
    assert_eq!(h.send(b"AT\r"), b"");
    assert_eq!(h.net(1, SocketEvent::Sent(5)), b"\r\nSEND OK\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CIPACK"), "\r\n+CIPACK: 5,5,0\r\n\r\nOK\r\n");
}

#[test]
fn a_payload_may_start_with_lf_once_the_prompt_is_out() {
    let mut h = connected_single();
    assert_eq!(h.send(b"AT+CIPSEND=3\r"), b"\r\n> ");
    assert_eq!(h.send(b"\nab"), b"");
    assert_eq!(
        h.requests(),
        vec![Output::Socket(
            SocketId(1),
            SocketCommand::Send(b"\nab".to_vec())
        )]
    );
    // The LF of a CRLF in the command's own read is still not payload.
    assert_eq!(h.net(1, SocketEvent::Sent(3)), b"\r\nSEND OK\r\n");
    assert_eq!(h.send(b"AT+CIPSEND=2\r\nxy"), b"\r\n> ");
    assert_eq!(
        h.requests(),
        vec![Output::Socket(
            SocketId(1),
            SocketCommand::Send(b"xy".to_vec())
        )]
    );
}

#[test]
fn cipsend_variable_length_ctrl_z_esc_and_echo() {
    let mut h = connected_single();
    h.send(b"ATE1\r");
    assert_eq!(h.send(b"AT+CIPSEND\r"), b"AT+CIPSEND\r\r\n> ");
    assert_eq!(h.send(b"hi\x1a"), b"hi");
    assert_eq!(
        h.requests(),
        vec![Output::Socket(
            SocketId(1),
            SocketCommand::Send(b"hi".to_vec())
        )]
    );
    assert_eq!(h.net(1, SocketEvent::Sent(2)), b"\r\nSEND OK\r\n");
    assert_eq!(h.send(b"AT+CIPSEND\r"), b"AT+CIPSEND\r\r\n> ");
    assert_eq!(h.send(b"xx\x1b"), b"xx\r\nOK\r\n");
    assert_eq!(h.send(b"AT+CIPSEND\r"), b"AT+CIPSEND\r\r\n> ");
    assert_eq!(h.send(b"\x1a"), b"\r\nERROR\r\n");
    assert!(h.requests().is_empty());
    assert_eq!(
        h.send(b"AT+CIPSEND=1461\r"),
        b"AT+CIPSEND=1461\r\r\nERROR\r\n"
    );
}

#[test]
fn quick_send_answers_data_accept_at_once() {
    let mut h = gprs_up();
    h.cmd("AT+CIPSHUT");
    assert_eq!(h.cmd("AT+CIPMUX=1"), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CIPQSEND=1"), "\r\nOK\r\n");
    h.cmd("AT+CSTT=\"internet\"");
    h.cmd("AT+CIICR");
    h.advance(500);
    h.cmd("AT+CIFSR");
    assert_eq!(
        h.cmd("AT+CIPSTART=3,\"TCP\",\"127.0.0.1\",5000"),
        "\r\nOK\r\n"
    );
    h.requests();
    assert_eq!(h.net(1, connected(5000)), b"\r\n3, CONNECT OK\r\n");
    assert_eq!(h.send(b"AT+CIPSEND=3,4\r"), b"\r\n> ");
    assert_eq!(h.send(b"ping"), b"\r\nDATA ACCEPT:3,4\r\n");
    assert_eq!(h.net(1, SocketEvent::Sent(4)), b"");
    assert_eq!(
        h.cmd("AT+CIPSTATUS=3"),
        "\r\n+CIPSTATUS: 3,0,\"TCP\",\"127.0.0.1\",\"5000\",\"CONNECTED\"\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd("AT+CIPSTATUS=2"),
        "\r\n+CIPSTATUS: 2,,\"\",\"\",\"\",\"INITIAL\"\r\n\r\nOK\r\n"
    );
}

#[test]
fn received_data_raw_with_ipd_header_and_peer_close() {
    let mut h = connected_single();
    assert_eq!(
        h.net(1, SocketEvent::Data(b"AT+CSQ\r".to_vec())),
        b"AT+CSQ\r"
    );
    assert_eq!(h.cmd("AT+CIPHEAD=1"), "\r\nOK\r\n");
    assert_eq!(
        h.net(1, SocketEvent::Data(b"hello".to_vec())),
        b"\r\n+IPD,5:hello"
    );
    h.cmd("AT+CIPSHOWTP=1");
    assert_eq!(
        h.net(1, SocketEvent::Data(b"x".to_vec())),
        b"\r\n+IPD,1,TCP:x"
    );
    assert_eq!(h.net(1, SocketEvent::Closed), b"\r\nCLOSED\r\n");
    assert_eq!(
        h.requests(),
        vec![Output::Socket(
            SocketId(1),
            SocketCommand::Close { abort: false }
        )]
    );
    assert_eq!(h.cmd("AT+CIPSTATUS"), "\r\nOK\r\n\r\nSTATE: TCP CLOSED\r\n");
    assert_eq!(h.cmd("AT+CIPCLOSE"), "\r\nERROR\r\n");
}

#[test]
fn received_data_waits_while_a_line_is_typed() {
    let mut h = connected_single();
    assert_eq!(h.send(b"AT+C"), b"");
    assert_eq!(h.net(1, SocketEvent::Data(b"abc".to_vec())), b"");
    assert_eq!(h.send(b"SQ\r"), b"\r\n+CSQ: 20,0\r\n\r\nOK\r\nabc");
}

#[test]
fn multi_mode_receive_status_table_close_and_server() {
    let mut h = Harness::sim900();
    h.send(b"ATE0\r");
    assert_eq!(h.cmd("AT+CIPMUX=1"), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CIPSERVER=1,8888"), "\r\nERROR\r\n");
    h.cmd("AT+CSTT=\"internet\"");
    h.cmd("AT+CIICR");
    h.advance(500);
    h.cmd("AT+CIFSR");
    assert_eq!(
        h.cmd("AT+CIPSTART=0,\"TCP\",\"127.0.0.1\",5000"),
        "\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT+CIPSERVER=1,8888"), "\r\nOK\r\n");
    assert_eq!(
        h.requests(),
        vec![
            Output::Socket(SocketId(1), connect("127.0.0.1", 5000)),
            Output::Socket(
                SocketId(2),
                SocketCommand::Listen {
                    transport: Transport::Tcp,
                    port: 8888
                }
            ),
        ]
    );
    assert_eq!(h.net(1, connected(5000)), b"\r\n0, CONNECT OK\r\n");
    assert_eq!(
        h.net(
            2,
            SocketEvent::Listening {
                local: addr("127.0.0.1:8888")
            }
        ),
        b"\r\nSERVER OK\r\n"
    );
    assert_eq!(
        h.net(
            2,
            SocketEvent::Incoming {
                peer: addr("127.0.0.1:41000")
            }
        ),
        b""
    );
    assert_eq!(
        h.requests(),
        vec![Output::Socket(
            SocketId(2),
            SocketCommand::Accept { as_id: SocketId(3) }
        )]
    );
    assert_eq!(
        h.net(
            3,
            SocketEvent::Connected {
                local: addr("127.0.0.1:8888"),
                peer: addr("127.0.0.1:41000")
            }
        ),
        b"\r\n1, REMOTE IP: 127.0.0.1\r\n"
    );
    assert_eq!(
        h.net(3, SocketEvent::Data(b"hey".to_vec())),
        b"\r\n+RECEIVE,1,3:\r\nhey"
    );
    let mut table =
        String::from("\r\nOK\r\n\r\nSTATE: IP PROCESSING\r\n\r\nS: 0,0,\"8888\",\"LISTENING\"\r\n");
    table.push_str("C: 0,0,\"TCP\",\"127.0.0.1\",\"5000\",\"CONNECTED\"\r\n");
    table.push_str("C: 1,0,\"TCP\",\"127.0.0.1\",\"41000\",\"CONNECTED\"\r\n");
    for n in 2..8 {
        table.push_str(&format!("C: {n},,\"\",\"\",\"\",\"INITIAL\"\r\n"));
    }
    assert_eq!(h.cmd("AT+CIPSTATUS"), table);
    assert_eq!(h.cmd("AT+CIPCLOSE=0,1"), "\r\n0, CLOSE OK\r\n");
    assert_eq!(
        h.requests(),
        vec![Output::Socket(
            SocketId(1),
            SocketCommand::Close { abort: true }
        )]
    );
    assert_eq!(
        h.net(3, SocketEvent::Reset("peer reset".into())),
        b"\r\n1, CLOSED\r\n"
    );
    assert_eq!(h.cmd("AT+CIPSERVER=0"), "\r\nOK\r\n\r\nSERVER CLOSE\r\n");
    assert_eq!(
        h.requests(),
        vec![Output::Socket(
            SocketId(2),
            SocketCommand::Close { abort: true }
        )]
    );
}

#[test]
fn manual_receive_urc_query_raw_and_hex_reads() {
    let mut h = gprs_up();
    h.cmd("AT+CIPSHUT");
    h.cmd("AT+CIPMUX=1");
    assert_eq!(h.cmd("AT+CIPRXGET=1"), "\r\nOK\r\n");
    h.cmd("AT+CSTT");
    h.cmd("AT+CIICR");
    h.advance(500);
    h.cmd("AT+CIFSR");
    h.cmd("AT+CIPSTART=0,\"TCP\",\"127.0.0.1\",5000");
    h.requests();
    h.net(1, connected(5000));
    assert_eq!(h.cmd("AT+CIPRXGET=0"), "\r\nERROR\r\n");
    assert_eq!(
        h.net(1, SocketEvent::Data(b"hello".to_vec())),
        b"\r\n+CIPRXGET: 1,0\r\n"
    );
    // More data while some waits: no second URC.
    assert_eq!(h.net(1, SocketEvent::Data(b"!".to_vec())), b"");
    assert_eq!(
        h.cmd("AT+CIPRXGET=4,0"),
        "\r\n+CIPRXGET: 4,0,6\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd("AT+CIPRXGET=2,0,3"),
        "\r\n+CIPRXGET: 2,0,3,3\r\nhel\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd("AT+CIPRXGET=3,0,100"),
        "\r\n+CIPRXGET: 3,0,3,0\r\n6C6F21\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd("AT+CIPRXGET=2,0,10"),
        "\r\n+CIPRXGET: 2,0,0,0\r\n\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT+CIPRXGET=2,0,1461"), "\r\nERROR\r\n");
}

#[test]
fn a_full_receive_buffer_pauses_the_socket_until_read() {
    let mut h = gprs_up();
    h.cmd("AT+CIPRXGET=1");
    h.cmd("AT+CIPSTART=\"TCP\",\"127.0.0.1\",5000");
    h.requests();
    h.net(1, connected(5000));
    h.net(1, SocketEvent::Data(vec![b'x'; 16 * 1024]));
    assert_eq!(
        h.requests(),
        vec![Output::Socket(SocketId(1), SocketCommand::Pause)]
    );
    for _ in 0..6 {
        h.cmd("AT+CIPRXGET=2,1460");
    }
    assert_eq!(
        h.requests(),
        vec![Output::Socket(SocketId(1), SocketCommand::Resume)]
    );
}

/// A transparent-mode connection (socket 1) in data mode at 10 s.
fn transparent() -> Harness {
    let mut h = gprs_up();
    h.cmd("AT+CIPSHUT");
    assert_eq!(h.cmd("AT+CIPMODE=1"), "\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT+CIPSTART=\"TCP\",\"127.0.0.1\",5000"),
        "\r\nOK\r\n"
    );
    h.requests();
    assert_eq!(h.net(1, connected(5000)), b"\r\nCONNECT\r\n");
    assert_eq!(h.modem.state().mode, "data");
    h.advance(10_000);
    h
}

fn sent(h: &mut Harness) -> Vec<u8> {
    h.requests()
        .into_iter()
        .filter_map(|r| match r {
            Output::Socket(SocketId(1), SocketCommand::Send(bytes)) => Some(bytes),
            _ => None,
        })
        .flatten()
        .collect()
}

#[test]
fn transparent_mode_passes_bytes_both_ways_and_packs_by_cipccfg() {
    let mut h = transparent();
    assert_eq!(
        h.net(1, SocketEvent::Data(b"AT+CSQ\r".to_vec())),
        b"AT+CSQ\r"
    );
    // Not a command: nothing answers it, and client bytes are not echoed.
    assert_eq!(h.send(b"AT\r"), b"");
    assert_eq!(sent(&mut h), b"");
    // A partial packet waits WaitTm (2 × 100 ms) of idle time.
    assert_eq!(h.advance(199), b"");
    assert_eq!(sent(&mut h), b"");
    h.advance(1);
    assert_eq!(sent(&mut h), b"AT\r");
    // Full SendSz packets (1024) leave at once; the rest waits.
    h.send(&vec![b'z'; 2100]);
    assert_eq!(sent(&mut h).len(), 2048);
    h.advance(200);
    assert_eq!(sent(&mut h).len(), 52);
}

#[test]
fn plus_escape_with_guard_times_then_commands_then_ato() {
    let mut h = transparent();
    assert_eq!(h.send(b"+++"), b"");
    assert_eq!(h.advance(999), b"");
    assert_eq!(h.advance(1), b"\r\nOK\r\n");
    assert_eq!(h.modem.state().mode, "online-command");
    // Data arriving now waits for ATO.
    assert_eq!(h.net(1, SocketEvent::Data(b"later".to_vec())), b"");
    assert_eq!(h.cmd("AT+CSQ"), "\r\n+CSQ: 20,0\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CIPSTATUS"), "\r\nOK\r\n\r\nSTATE: CONNECT OK\r\n");
    assert_eq!(h.cmd("ATO"), "\r\nCONNECT\r\nlater");
    assert_eq!(h.modem.state().mode, "data");
    assert_eq!(h.net(1, SocketEvent::Data(b"more".to_vec())), b"more");
    assert_eq!(sent(&mut h), b"");
}

#[test]
fn plus_signs_without_guard_silence_are_data_for_the_peer() {
    let mut h = transparent();
    h.send(b"x");
    h.advance(500);
    assert_eq!(h.send(b"+++"), b"");
    assert_eq!(h.advance(3000), b"");
    assert_eq!(sent(&mut h), b"x+++");
    assert_eq!(h.modem.state().mode, "data");
}

#[test]
fn peer_close_in_data_mode_prints_closed_and_returns_to_commands() {
    let mut h = transparent();
    assert_eq!(h.net(1, SocketEvent::Closed), b"\r\nCLOSED\r\n");
    assert_eq!(h.modem.state().mode, "command");
    assert_eq!(h.cmd("AT"), "\r\nOK\r\n");
    assert_eq!(h.cmd("ATO"), "\r\nERROR\r\n");
}

#[test]
fn dtr_drop_in_data_mode_follows_ampersand_d() {
    let mut h = transparent();
    assert_eq!(h.apply(Input::Dtr(false)), b"\r\nOK\r\n");
    assert_eq!(h.modem.state().mode, "online-command");
    h.apply(Input::Dtr(true));
    assert_eq!(h.cmd("AT&D2"), "\r\nOK\r\n");
    assert_eq!(h.cmd("ATO"), "\r\nCONNECT\r\n");
    assert_eq!(h.apply(Input::Dtr(false)), b"\r\nCLOSED\r\n");
    assert_eq!(h.modem.state().mode, "command");
    assert_eq!(
        h.requests(),
        vec![Output::Socket(
            SocketId(1),
            SocketCommand::Close { abort: false }
        )]
    );
}

#[test]
fn ath_in_online_command_state_closes_the_transparent_link() {
    let mut h = transparent();
    h.send(b"+++");
    h.advance(1000);
    assert_eq!(h.cmd("ATH"), "\r\nOK\r\n");
    assert_eq!(
        h.requests(),
        vec![Output::Socket(
            SocketId(1),
            SocketCommand::Close { abort: false }
        )]
    );
    assert_eq!(h.cmd("ATO"), "\r\nERROR\r\n");
}

#[test]
fn dial_up_data_call_connect_escape_ato_ath_and_dtr() {
    let mut h = Harness::sim900();
    h.send(b"ATE0\r");
    assert_eq!(h.cmd("ATD*99#"), "\r\nCONNECT\r\n");
    assert_eq!(h.modem.state().mode, "data");
    h.advance(1500);
    h.send(b"+++");
    assert_eq!(h.advance(1000), b"\r\nOK\r\n");
    assert_eq!(h.cmd("ATO"), "\r\nCONNECT\r\n");
    h.advance(1500);
    h.send(b"+++");
    h.advance(1000);
    assert_eq!(h.cmd("ATH"), "\r\nOK\r\n");
    assert_eq!(h.cmd("ATO"), "\r\nERROR\r\n");
    h.cmd("AT&D2");
    assert_eq!(h.cmd("ATD*99***1#"), "\r\nCONNECT\r\n");
    assert_eq!(h.apply(Input::Dtr(false)), b"\r\nNO CARRIER\r\n");
    assert_eq!(h.modem.state().mode, "command");
}

#[test]
fn losing_gprs_deactivates_the_context_until_cipshut() {
    let mut h = connected_single();
    let lost = h.apply(Input::Network(NetworkChange {
        service: Some(Service::None),
        ..Default::default()
    }));
    assert_eq!(lost, b"\r\n+PDP: DEACT\r\n");
    assert_eq!(
        h.requests(),
        vec![Output::Socket(
            SocketId(1),
            SocketCommand::Close { abort: true }
        )]
    );
    assert_eq!(h.cmd("AT+CIPSTATUS"), "\r\nOK\r\n\r\nSTATE: PDP DEACT\r\n");
    assert_eq!(
        h.cmd("AT+CIPSTART=\"TCP\",\"127.0.0.1\",5000"),
        "\r\nERROR\r\n"
    );
    assert_eq!(h.cmd("AT+CIPSHUT"), "\r\nSHUT OK\r\n");
    assert_eq!(h.cmd("AT+CIPSTATUS"), "\r\nOK\r\n\r\nSTATE: IP INITIAL\r\n");
}

#[test]
fn detaching_in_transparent_mode_closes_and_deactivates() {
    let mut h = transparent();
    h.send(b"+++");
    h.advance(1000);
    assert_eq!(
        h.cmd("AT+CGATT=0"),
        "\r\nOK\r\n\r\nCLOSED\r\n\r\n+PDP: DEACT\r\n"
    );
}

#[test]
fn cdnsgip_resolves_through_the_host() {
    let mut h = gprs_up();
    assert_eq!(h.cmd("AT+CDNSGIP=\"localhost\""), "\r\nOK\r\n");
    assert_eq!(
        h.requests(),
        vec![Output::Resolve {
            query: 1,
            name: "localhost".into()
        }]
    );
    h.modem.handle(
        h.now,
        Input::Resolved {
            query: 1,
            result: Ok(vec!["127.0.0.1".parse().expect("ip")]),
        },
    );
    assert_eq!(
        h.drain(),
        b"\r\n+CDNSGIP: 1,\"localhost\",\"127.0.0.1\"\r\n"
    );
    h.cmd("AT+CDNSGIP=nowhere.invalid");
    h.modem.handle(
        h.now,
        Input::Resolved {
            query: 2,
            result: Err(SocketFailure::Dns),
        },
    );
    assert_eq!(h.drain(), b"\r\n+CDNSGIP: 0,8\r\n");
}

#[test]
fn reboot_closes_every_socket() {
    let mut h = connected_single();
    h.apply(Input::Reboot);
    assert_eq!(
        h.requests(),
        vec![Output::Socket(
            SocketId(1),
            SocketCommand::Close { abort: true }
        )]
    );
    assert_eq!(h.modem.state().sockets.map(|s| s.len()), Some(0));
}

#[test]
fn settings_read_test_and_cipscont_saves() {
    let mut h = Harness::sim900();
    h.send(b"ATE0\r");
    assert_eq!(
        h.cmd("AT+CIPCCFG?"),
        "\r\n+CIPCCFG: 5,2,1024,1,0,1460,50\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT+CIPCCFG=3,2,256,1"), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CIPCCFG=3,2,256,1,0,1460"), "\r\nERROR\r\n");
    assert_eq!(h.cmd("AT+CIPCCFG=9,2,256,1"), "\r\nERROR\r\n");
    assert_eq!(h.cmd("AT+CIPMUX?"), "\r\n+CIPMUX: 0\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CIPSPRT=?"), "\r\n+CIPSPRT: (0,1,2)\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CIPHEAD=2"), "\r\nERROR\r\n");
    assert_eq!(h.cmd("AT+CIPSCONT"), "\r\nOK\r\n");
    assert_eq!(
        h.nvm_saves
            .last()
            .and_then(|n| n.ip_settings.as_ref())
            .map(|s| s.ccfg.send_sz),
        Some(256)
    );
    assert_eq!(h.cmd("AT+CGDCONT=1,\"IP\",\"apn\",,0,0"), "\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT+CGDCONT?"),
        "\r\n+CGDCONT: 1,\"IP\",\"apn\",\"0.0.0.0\",0,0\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT+CGACT=1,1"), "\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT+CGPADDR=1"),
        "\r\n+CGPADDR: 1,\"10.64.0.2\"\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT+SAPBR=3,1,\"Contype\",\"GPRS\""), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT+SAPBR=1,1"), "\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT+SAPBR=2,1"),
        "\r\n+SAPBR: 1,1,\"10.64.0.2\"\r\n\r\nOK\r\n"
    );
}

#[test]
fn seeded_random_tcpip_sessions_never_break_the_modem() {
    use rand::{RngExt, SeedableRng, rngs::StdRng};
    let mut rng = StdRng::seed_from_u64(0x5EED_0004);
    let lines: &[&str] = &[
        "AT+CIPSHUT",
        "AT+CSTT",
        "AT+CIICR",
        "AT+CIFSR",
        "AT+CIPMUX=1",
        "AT+CIPMUX=0",
        "AT+CIPMODE=1",
        "AT+CIPMODE=0",
        "AT+CIPSTART=\"TCP\",\"127.0.0.1\",5000",
        "AT+CIPSTART=1,\"UDP\",\"localhost\",7",
        "AT+CIPSEND",
        "AT+CIPSEND=3",
        "AT+CIPSEND=1,2",
        "AT+CIPCLOSE",
        "AT+CIPCLOSE=1",
        "AT+CIPSERVER=1,8888",
        "AT+CIPSERVER=0",
        "ATO",
        "ATH",
        "ATD*99#",
        "AT+CIPRXGET=1",
        "AT+CIPRXGET=2,1,5",
        "AT+CIPRXGET=3,10",
        "AT+CIPSTATUS",
        "AT+CIPSTATUS=1",
        "AT+CIPQSEND=1",
        "AT+CIPHEAD=1",
        "AT+CDNSGIP=x",
        "AT+CGATT=0",
        "AT+CGATT=1",
        "AT&D2",
        "AT&D1",
        "AT+CIPCCFG=3,2,8,1",
        "+++",
    ];
    let mut h = gprs_up();
    for round in 0..20_000u32 {
        match rng.random_range(0..10) {
            0..=3 => {
                let line = lines[rng.random_range(0..lines.len())];
                h.send(format!("{line}\r").as_bytes());
            }
            4 => {
                let len = rng.random_range(0..20);
                let bytes: Vec<u8> = (0..len).map(|_| rng.random::<u8>()).collect();
                h.send(&bytes);
            }
            5 | 6 => {
                let socket = rng.random_range(0..6);
                let event = match rng.random_range(0..8) {
                    0 => connected(5000),
                    1 => SocketEvent::Failed(SocketFailure::Refused),
                    2 => SocketEvent::Data(vec![b'+'; rng.random_range(0..3000)]),
                    3 => SocketEvent::Sent(rng.random_range(0..10)),
                    4 => SocketEvent::Closed,
                    5 => SocketEvent::Reset("x".into()),
                    6 => SocketEvent::Incoming {
                        peer: addr("127.0.0.1:1"),
                    },
                    _ => SocketEvent::Listening {
                        local: addr("127.0.0.1:8888"),
                    },
                };
                h.net(socket, event);
            }
            7 => {
                h.apply(Input::Dtr(rng.random_bool(0.5)));
            }
            _ => {
                h.advance(rng.random_range(0..3000));
            }
        }
        h.requests();
        if round % 500 == 499 {
            // Whatever state it is in, the modem can be brought back to answering commands.
            h.apply(Input::Dtr(true));
            h.send(b"AT&D1\r");
            h.advance(1500);
            h.send(b"+++");
            h.advance(1500);
            h.send(b"\x1b\rATH\r");
            h.advance(76_000);
            h.send(b"AT+CIPSHUT;E0\r");
            assert_eq!(h.cmd("AT"), "\r\nOK\r\n", "round {round}");
            h.cmd("AT+CGATT=1");
            h.cmd("AT+CSTT");
            h.cmd("AT+CIICR");
            h.advance(500);
            h.cmd("AT+CIFSR");
        }
    }
}

/// Found by `fuzz/fuzz_targets/modem.rs` (input `xiMjClOjo7ejowyN9/cnn5+fn5+fn5+fn5+fn5/3ja0e`,
/// base64): `+CIPSERVER` listened on socket 1, `+CFUN=1,1` closed it, and after the restart
/// `+CIPSTART` connected on socket 1 again. The host may still hold events of the closed
/// socket (or a DNS answer to a query from before the reboot), which then land on the new one:
/// numbers are never reused, across reboots too.
#[test]
fn socket_and_query_numbers_are_not_reused_after_a_reboot() {
    let mut h = connected_single();
    assert_eq!(h.cmd("AT+CDNSGIP=\"localhost\""), "\r\nOK\r\n");
    assert_eq!(
        h.requests(),
        vec![Output::Resolve {
            query: 1,
            name: "localhost".into()
        }]
    );
    assert_eq!(h.cmd("AT+CFUN=1,1"), "\r\nOK\r\n");
    assert_eq!(
        h.requests(),
        vec![Output::Socket(
            SocketId(1),
            SocketCommand::Close { abort: true }
        )]
    );
    h.advance(3000);
    assert_eq!(h.send(b"AT\r"), b"AT\r\r\nOK\r\n");
    assert_eq!(h.send(b"ATE0\r"), b"ATE0\r\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT+CIPSTART=\"TCP\",\"127.0.0.1\",5000"),
        "\r\nOK\r\n"
    );
    assert_eq!(
        h.requests(),
        vec![Output::Socket(SocketId(2), connect("127.0.0.1", 5000))]
    );
    // A late event of the socket closed by the reboot reaches nothing.
    assert_eq!(h.net(1, connected(5000)), b"");
    assert_eq!(h.net(2, connected(5000)), b"\r\nCONNECT OK\r\n");
    assert_eq!(h.cmd("AT+CDNSGIP=\"localhost\""), "\r\nOK\r\n");
    assert_eq!(
        h.requests(),
        vec![Output::Resolve {
            query: 2,
            name: "localhost".into()
        }]
    );
    // The answer to the query from before the reboot is not this one's.
    h.modem.handle(
        h.now,
        Input::Resolved {
            query: 1,
            result: Ok(vec!["127.0.0.1".parse().expect("ip")]),
        },
    );
    assert_eq!(h.drain(), b"");
}
