//! The Telit IP Easy sockets on a virtual clock: `#SD` online and command mode, packetisation,
//! `+++`, `#SO`/`ATO`, `SRING`/`#SRECV`/`#SSEND`, listen/accept, legacy `#SKT*`, closure.

use std::net::{Ipv4Addr, SocketAddr};

use super::Harness;
use crate::modem::telit_ip::Activation;
use crate::modem::*;

/// The address context 1 (and 2) got.
const CTX_IP: Ipv4Addr = Ipv4Addr::new(10, 64, 0, 2);

fn addr(text: &str) -> SocketAddr {
    text.parse().expect("test address")
}

fn connected(peer_port: u16) -> SocketEvent {
    SocketEvent::Connected {
        local: addr("127.0.0.1:40000"),
        peer: addr(&format!("127.0.0.1:{peer_port}")),
    }
}

fn req(id: u32, command: SocketCommand) -> Output {
    Output::Socket(SocketId(id), command)
}

fn tcp(host: &str, port: u16) -> SocketCommand {
    SocketCommand::Connect {
        transport: Transport::Tcp,
        host: host.into(),
        port,
        local_port: None,
    }
}

fn send(bytes: &[u8]) -> SocketCommand {
    SocketCommand::Send(bytes.to_vec())
}

const CLOSE: SocketCommand = SocketCommand::Close { abort: false };
const ABORT: SocketCommand = SocketCommand::Close { abort: true };

/// A Telit with echo off, contexts 1 and 2 up through `#SGACT`.
fn telit_up() -> Harness {
    let mut h = Harness::telit();
    assert_eq!(h.send(b"ATE0\r"), b"ATE0\r\r\nOK\r\n");
    h.modem.telit.contexts[0].active = Some((CTX_IP, Activation::IpEasy));
    h.modem.telit.contexts[1].active = Some((CTX_IP, Activation::IpEasy));
    h
}

/// `telit_up` and socket 1 online to 127.0.0.1:5000 (real socket 1).
fn online() -> Harness {
    let mut h = telit_up();
    assert_eq!(h.cmd("AT#SD=1,0,5000,\"127.0.0.1\""), "");
    assert_eq!(h.requests(), vec![req(1, tcp("127.0.0.1", 5000))]);
    assert_eq!(h.net(1, connected(5000)), b"\r\nCONNECT\r\n");
    h
}

/// `telit_up` and socket 1 connected in command mode (`#SD` connMode 1).
fn command_mode() -> Harness {
    let mut h = telit_up();
    assert_eq!(h.cmd("AT#SD=1,0,5000,\"127.0.0.1\",0,0,1"), "");
    assert_eq!(h.requests(), vec![req(1, tcp("127.0.0.1", 5000))]);
    assert_eq!(h.net(1, connected(5000)), b"\r\nOK\r\n");
    h
}

/// `online` and a valid `+++`: suspended, `OK`.
fn suspended() -> Harness {
    let mut h = online();
    h.advance(1000);
    assert_eq!(h.send(b"+++"), b"");
    assert_eq!(h.advance(1000), b"\r\nOK\r\n");
    assert_eq!(h.requests(), vec![req(1, send(b"+++"))]);
    h
}

// ----- #SD -----

#[test]
fn sd_online_answers_connect_when_connected_and_bytes_flow_both_ways() {
    let mut h = online();
    assert_eq!(
        h.net(1, SocketEvent::Data(b"pong\r\n".to_vec())),
        b"pong\r\n"
    );
    assert_eq!(h.send(b"ping"), b"", "no echo online");
    assert!(h.requests().is_empty(), "less than pktSz waits for txTo");
    assert_eq!(h.advance(4999), b"");
    assert!(h.requests().is_empty());
    h.advance(1);
    assert_eq!(h.requests(), vec![req(1, send(b"ping"))]);
    assert_eq!(h.modem.state().mode, "data");
}

#[test]
fn sd_command_mode_answers_ok_and_stays_in_command_mode() {
    let mut h = command_mode();
    assert_eq!(
        h.cmd("AT#SS=1"),
        "\r\n#SS: 1,2,10.64.0.2,40000,127.0.0.1,5000\r\n\r\nOK\r\n"
    );
    assert_eq!(h.modem.state().mode, "command");
}

#[test]
fn sd_needs_the_socket_context_active_through_sgact() {
    let mut h = telit_up();
    h.cmd("AT+CMEE=1");
    h.modem.telit.nvm.sockets[4].cid = 3;
    assert_eq!(
        h.cmd("AT#SD=5,0,5000,\"127.0.0.1\""),
        "\r\n+CME ERROR: 556\r\n"
    );
    h.modem.telit.nvm.sockets[4].cid = 1;
    h.modem.telit.contexts[0].active = Some((CTX_IP, Activation::Cgact));
    assert_eq!(
        h.cmd("AT#SD=5,0,5000,\"127.0.0.1\""),
        "\r\n+CME ERROR: 556\r\n",
        "a +CGACT context is no IP Easy context"
    );
}

#[test]
fn sd_on_a_socket_not_closed_is_551() {
    let mut h = command_mode();
    h.cmd("AT+CMEE=1");
    assert_eq!(
        h.cmd("AT#SD=1,0,5001,\"127.0.0.1\""),
        "\r\n+CME ERROR: 551\r\n"
    );
    assert!(h.requests().is_empty());
}

#[test]
fn sd_rejects_bad_parameters() {
    let mut h = telit_up();
    h.cmd("AT+CMEE=1");
    for line in [
        "AT#SD=0,0,5000,\"127.0.0.1\"",
        "AT#SD=7,0,5000,\"127.0.0.1\"",
        "AT#SD=1,2,5000,\"127.0.0.1\"",
        "AT#SD=1,0,0,\"127.0.0.1\"",
        "AT#SD=1,0,5000,\"\"",
        "AT#SD=1,0,5000",
        "AT#SD=1,0,5000,\"127.0.0.1\",1",
        "AT#SD=1,0,5000,\"127.0.0.1\",0,0,2",
    ] {
        assert_eq!(h.cmd(line), "\r\n+CME ERROR: 4\r\n", "{line}");
    }
    assert!(h.requests().is_empty());
    assert_eq!(
        h.cmd("AT#SD=?"),
        "\r\n#SD: (1-6),(0,1),(1-65535),,(0,255),(1-65535),(0,1)\r\n\r\nOK\r\n"
    );
}

#[test]
fn sd_connect_timeout_is_559_and_closes_the_socket() {
    let mut h = telit_up();
    h.cmd("AT+CMEE=1");
    h.modem.telit.nvm.sockets[0].conn_to = 10;
    assert_eq!(h.cmd("AT#SD=1,0,5000,\"127.0.0.1\""), "");
    h.requests();
    assert_eq!(h.advance(999), b"");
    assert_eq!(h.advance(1), b"\r\n+CME ERROR: 559\r\n");
    assert_eq!(h.requests(), vec![req(1, ABORT)]);
    assert_eq!(h.cmd("AT#SS=1"), "\r\n#SS: 1,0\r\n\r\nOK\r\n");
    assert_eq!(h.net(1, connected(5000)), b"", "a late connect is ignored");
}

#[test]
fn sd_refused_is_562_and_dns_failure_is_558() {
    let mut h = telit_up();
    h.cmd("AT+CMEE=1");
    h.cmd("AT#SD=1,0,5000,\"127.0.0.1\"");
    assert_eq!(
        h.net(1, SocketEvent::Failed(SocketFailure::Refused)),
        b"\r\n+CME ERROR: 562\r\n"
    );
    h.cmd("AT+CMEE=2");
    h.cmd("AT#SD=1,0,80,nowhere.invalid");
    assert_eq!(
        h.net(2, SocketEvent::Failed(SocketFailure::Dns)),
        b"\r\n+CME ERROR: can not resolve DN\r\n"
    );
    assert_eq!(
        h.requests(),
        vec![
            req(1, tcp("127.0.0.1", 5000)),
            req(2, tcp("nowhere.invalid", 80))
        ],
        "a failed socket is gone: no Close owed"
    );
}

#[test]
fn sd_reset_while_connecting_is_562() {
    let mut h = telit_up();
    h.cmd("AT+CMEE=1");
    h.cmd("AT#SD=1,0,5000,\"127.0.0.1\"");
    assert_eq!(
        h.net(1, SocketEvent::Reset("boom".into())),
        b"\r\n+CME ERROR: 562\r\n"
    );
    assert_eq!(h.requests(), vec![req(1, tcp("127.0.0.1", 5000))]);
}

#[test]
fn sd_input_typed_while_connecting_waits_and_goes_online_after_connect() {
    let mut h = telit_up();
    h.modem.telit.nvm.sockets[0].pkt_sz = 5;
    assert_eq!(h.send(b"AT#SD=1,0,5000,\"127.0.0.1\"\r\nhello"), b"");
    assert_eq!(h.net(1, connected(5000)), b"\r\nCONNECT\r\n");
    assert_eq!(
        h.requests(),
        vec![req(1, tcp("127.0.0.1", 5000)), req(1, send(b"hello"))]
    );
}

#[test]
fn sd_abort_conn_attempt_lets_any_byte_abort_with_error() {
    let mut h = telit_up();
    h.cmd("AT+CMEE=1");
    h.modem.telit.nvm.sockets[0].abort_conn_attempt = 1;
    assert_eq!(h.send(b"AT#SD=1,0,5000,\"127.0.0.1\"\r\n"), b"");
    assert_eq!(h.send(b"x"), b"\r\nERROR\r\n");
    assert_eq!(
        h.requests(),
        vec![req(1, tcp("127.0.0.1", 5000)), req(1, ABORT)]
    );
    assert_eq!(h.cmd("AT"), "\r\nOK\r\n");
    assert_eq!(h.net(1, connected(5000)), b"");
}

#[test]
fn sd_udp_connects_with_its_local_port() {
    let mut h = telit_up();
    assert_eq!(h.cmd("AT#SD=2,1,6000,\"127.0.0.1\",0,5555,1"), "");
    assert_eq!(
        h.requests(),
        vec![req(
            1,
            SocketCommand::Connect {
                transport: Transport::Udp,
                host: "127.0.0.1".into(),
                port: 6000,
                local_port: Some(5555),
            }
        )]
    );
    let event = SocketEvent::Connected {
        local: addr("127.0.0.1:5555"),
        peer: addr("127.0.0.1:6000"),
    };
    assert_eq!(h.net(1, event), b"\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT#SS=2"),
        "\r\n#SS: 2,2,10.64.0.2,5555,127.0.0.1,6000\r\n\r\nOK\r\n"
    );
}

// ----- online mode -----

#[test]
fn online_bytes_go_in_packets_of_pktsz_and_the_rest_after_txto() {
    let mut h = telit_up();
    h.modem.telit.nvm.sockets[0].pkt_sz = 4;
    h.cmd("AT#SD=1,0,5000,\"127.0.0.1\"");
    h.net(1, connected(5000));
    h.requests();
    h.send(b"abcdefghij");
    assert_eq!(h.requests(), vec![req(1, send(b"abcdefgh"))]);
    h.advance(2000);
    h.send(b"k");
    assert_eq!(h.advance(2999), b"");
    assert!(
        h.requests().is_empty(),
        "txTo counts from the first byte buffered"
    );
    h.advance(1);
    assert_eq!(h.requests(), vec![req(1, send(b"ijk"))]);
}

#[test]
fn online_udp_sends_one_datagram_per_packet() {
    let mut h = telit_up();
    h.modem.telit.nvm.sockets[0].pkt_sz = 3;
    h.cmd("AT#SD=1,1,5000,\"127.0.0.1\"");
    h.net(1, connected(5000));
    h.requests();
    h.send(b"abcdefg");
    assert_eq!(
        h.requests(),
        vec![req(1, send(b"abc")), req(1, send(b"def"))]
    );
}

#[test]
fn buffer_start_1_restarts_txto_on_every_byte() {
    let mut h = telit_up();
    h.modem.telit.nvm.sockets[0].buffer_start = 1;
    h.modem.telit.nvm.sockets[0].tx_to = 10;
    h.cmd("AT#SD=1,0,5000,\"127.0.0.1\"");
    h.net(1, connected(5000));
    h.requests();
    h.send(b"a");
    h.advance(900);
    h.send(b"b");
    h.advance(999);
    assert!(h.requests().is_empty());
    h.advance(1);
    assert_eq!(h.requests(), vec![req(1, send(b"ab"))]);
}

#[test]
fn txto_0_waits_for_a_full_packet() {
    let mut h = telit_up();
    h.modem.telit.nvm.sockets[0].tx_to = 0;
    h.modem.telit.nvm.sockets[0].max_to = 0;
    h.modem.telit.nvm.sockets[0].pkt_sz = 3;
    h.cmd("AT#SD=1,0,5000,\"127.0.0.1\"");
    h.net(1, connected(5000));
    h.requests();
    h.send(b"ab");
    h.advance(600_000);
    assert!(h.requests().is_empty());
    h.send(b"c");
    assert_eq!(h.requests(), vec![req(1, send(b"abc"))]);
}

#[test]
fn maxto_inactivity_closes_an_online_socket_with_no_carrier() {
    let mut h = telit_up();
    h.modem.telit.nvm.sockets[0].max_to = 2;
    h.cmd("AT#SD=1,0,5000,\"127.0.0.1\"");
    h.net(1, connected(5000));
    h.requests();
    h.advance(1500);
    h.net(1, SocketEvent::Data(b"x".to_vec()));
    assert_eq!(h.advance(1999), b"", "a byte restarts maxTo");
    assert_eq!(h.advance(1), b"\r\nNO CARRIER\r\n");
    assert_eq!(h.requests(), vec![req(1, CLOSE)]);
    assert_eq!(h.cmd("AT#SS=1"), "\r\n#SS: 1,0\r\n\r\nOK\r\n");
}

#[test]
fn peer_close_while_online_is_no_carrier_and_state_0() {
    let mut h = online();
    h.requests();
    assert_eq!(
        h.net(1, SocketEvent::Data(b"bye".to_vec())),
        b"bye",
        "data before the FIN still comes"
    );
    assert_eq!(h.net(1, SocketEvent::Closed), b"\r\nNO CARRIER\r\n");
    assert_eq!(h.requests(), vec![req(1, CLOSE)]);
    assert_eq!(h.cmd("AT#SS=1"), "\r\n#SS: 1,0\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("ATO"), "\r\nNO CARRIER\r\n");
}

#[test]
fn closure_255_stays_online_after_the_peer_closes_until_the_escape() {
    let mut h = telit_up();
    h.cmd("AT#SD=1,0,5000,\"127.0.0.1\",255");
    h.net(1, connected(5000));
    h.requests();
    assert_eq!(h.net(1, SocketEvent::Closed), b"");
    h.advance(1000);
    h.send(b"+++");
    assert_eq!(h.advance(1000), b"\r\nNO CARRIER\r\n");
    assert_eq!(h.requests(), vec![req(1, send(b"+++")), req(1, CLOSE)]);
}

#[test]
fn escape_suspends_the_socket_with_ok_and_the_plus_signs_reach_the_peer() {
    let mut h = suspended();
    assert_eq!(
        h.cmd("AT#SS=1"),
        "\r\n#SS: 1,2,10.64.0.2,40000,127.0.0.1,5000\r\n\r\nOK\r\n"
    );
    assert_eq!(h.modem.state().mode, "online-command");
    assert_eq!(
        h.net(1, SocketEvent::Data(b"late".to_vec())),
        b"\r\nSRING: 1\r\n"
    );
    assert_eq!(
        h.cmd("AT#SS"),
        "\r\n#SS: 1,3,10.64.0.2,40000,127.0.0.1,5000\r\n#SS: 2,0\r\n#SS: 3,0\r\n#SS: 4,0\r\n\
         #SS: 5,0\r\n#SS: 6,0\r\n\r\nOK\r\n"
    );
}

#[test]
fn escape_sends_what_was_buffered_first() {
    let mut h = online();
    h.requests();
    h.send(b"data");
    h.advance(1000);
    h.send(b"+++");
    assert_eq!(h.advance(1000), b"\r\nOK\r\n");
    assert_eq!(h.requests(), vec![req(1, send(b"data+++"))]);
}

#[test]
fn skipesc_1_keeps_the_escape_from_the_peer() {
    let mut h = online();
    h.requests();
    h.modem.telit.skip_esc = 1;
    h.advance(1000);
    h.send(b"+++");
    assert_eq!(h.advance(1000), b"\r\nOK\r\n");
    assert!(h.requests().is_empty());
}

#[test]
fn plus_signs_without_guard_time_are_data() {
    let mut h = online();
    h.requests();
    h.advance(500);
    h.send(b"+++");
    assert_eq!(h.advance(6000), b"");
    assert_eq!(h.requests(), vec![req(1, send(b"+++"))]);
    assert_eq!(h.modem.state().mode, "data");
}

#[test]
fn e2esc_overrides_s12_as_the_guard_time() {
    let mut h = online();
    h.requests();
    h.modem.telit.e2esc_s = 2;
    // Data mode was entered with S12's second: the new guard applies from the next CONNECT.
    h.advance(1000);
    h.send(b"+++");
    assert_eq!(h.advance(1000), b"\r\nOK\r\n");
    assert_eq!(h.cmd("ATO"), "\r\nCONNECT\r\n");
    h.advance(1000);
    h.send(b"+++");
    assert_eq!(h.advance(2000), b"", "1 s is not #E2ESC's 2 s guard");
    h.advance(2000);
    h.send(b"+++");
    assert_eq!(h.advance(1999), b"");
    assert_eq!(h.advance(1), b"\r\nOK\r\n");
}

#[test]
fn s12_sets_the_guard_time_and_s2_the_escape_character() {
    let mut h = telit_up();
    h.cmd("ATS12=25S2=42");
    h.cmd("AT#SD=1,0,5000,\"127.0.0.1\"");
    h.net(1, connected(5000));
    h.requests();
    h.advance(500);
    h.send(b"***");
    assert_eq!(h.advance(500), b"\r\nOK\r\n");
    assert_eq!(h.requests(), vec![req(1, send(b"***"))]);
}

#[test]
fn so_resumes_with_connect_and_flushes_what_came_meanwhile() {
    let mut h = suspended();
    h.net(1, SocketEvent::Data(b"one ".to_vec()));
    h.net(1, SocketEvent::Data(b"two".to_vec()));
    assert_eq!(h.cmd("AT#SO=1"), "\r\nCONNECT\r\none two");
    assert_eq!(h.modem.state().mode, "data");
    assert_eq!(h.net(1, SocketEvent::Data(b"!".to_vec())), b"!");
}

#[test]
fn so_on_a_closed_socket_is_no_carrier() {
    let mut h = telit_up();
    assert_eq!(h.cmd("AT#SO=3"), "\r\nNO CARRIER\r\n");
    assert_eq!(h.cmd("AT#SO=?"), "\r\n#SO: (1-6)\r\n\r\nOK\r\n");
}

#[test]
fn so_and_sh_from_another_instance_are_errors() {
    let mut h = suspended();
    h.cmd("AT+CMEE=1");
    h.modem.telit.sockets[0].owner = 2;
    assert_eq!(h.cmd("AT#SO=1"), "\r\n+CME ERROR: 566\r\n");
    assert_eq!(h.cmd("AT#SH=1"), "\r\n+CME ERROR: 551\r\n");
    assert!(h.requests().is_empty());
}

#[test]
fn ato_after_escape_resumes_the_suspended_socket() {
    let mut h = suspended();
    h.net(1, SocketEvent::Data(b"queued".to_vec()));
    assert_eq!(h.cmd("ATO"), "\r\nCONNECT\r\nqueued");
    assert_eq!(h.cmd("AT#SS=1").len(), 0, "online: the line is data");
    h.advance(5000);
    assert_eq!(h.requests(), vec![req(1, send(b"AT#SS=1\r"))]);
}

#[test]
fn ato_after_the_socket_closed_while_suspended_is_no_carrier() {
    let mut h = suspended();
    assert_eq!(h.net(1, SocketEvent::Closed), b"", "no URC in command mode");
    assert_eq!(h.cmd("ATO"), "\r\nNO CARRIER\r\n");
    assert_eq!(h.cmd("AT#SO=1"), "\r\nNO CARRIER\r\n");
}

#[test]
fn ath_closes_the_suspended_socket() {
    let mut h = suspended();
    assert_eq!(h.cmd("ATH"), "\r\nOK\r\n");
    assert_eq!(h.requests(), vec![req(1, CLOSE)]);
    assert_eq!(h.cmd("AT#SS=1"), "\r\n#SS: 1,0\r\n\r\nOK\r\n");
}

#[test]
fn dtr_drop_under_d2_closes_the_online_socket_with_no_carrier() {
    let mut h = online();
    h.requests();
    h.modem.settings.dtr_mode = 2;
    assert_eq!(h.apply(Input::Dtr(false)), b"\r\nNO CARRIER\r\n");
    assert_eq!(h.requests(), vec![req(1, CLOSE)]);
}

#[test]
fn dtr_drop_under_d1_suspends_the_online_socket_with_ok() {
    let mut h = online();
    h.requests();
    h.modem.settings.dtr_mode = 1;
    assert_eq!(h.apply(Input::Dtr(false)), b"\r\nOK\r\n");
    h.apply(Input::Dtr(true));
    assert_eq!(
        h.cmd("AT#SS=1"),
        "\r\n#SS: 1,2,10.64.0.2,40000,127.0.0.1,5000\r\n\r\nOK\r\n"
    );
}

// ----- command-mode sockets -----

#[test]
fn sring_follows_srmode_one_per_arrival() {
    let mut h = command_mode();
    assert_eq!(
        h.net(1, SocketEvent::Data(b"abc".to_vec())),
        b"\r\nSRING: 1\r\n"
    );
    h.modem.telit.nvm.sockets[0].sr_mode = 1;
    assert_eq!(
        h.net(1, SocketEvent::Data(b"de".to_vec())),
        b"\r\nSRING: 1,2\r\n"
    );
    assert_eq!(
        h.cmd("AT#SI=1"),
        "\r\n#SI: 1,0,5,5,0\r\n\r\nOK\r\n",
        "srMode 0/1 keep the data"
    );
    h.modem.telit.nvm.sockets[0].sr_mode = 2;
    assert_eq!(
        h.net(1, SocketEvent::Data(b"hi there".to_vec())),
        b"\r\nSRING: 1,8,hi there\r\n"
    );
    h.modem.telit.nvm.sockets[0].recv_hex = true;
    assert_eq!(
        h.net(1, SocketEvent::Data(b"\x00\xffUD".to_vec())),
        b"\r\nSRING: 1,4,00FF5544\r\n"
    );
    assert_eq!(
        h.cmd("AT#SI=1"),
        "\r\n#SI: 1,0,17,5,0\r\n\r\nOK\r\n",
        "srMode 2 consumes what it shows"
    );
}

#[test]
fn sring_waits_while_the_owner_is_online_on_another_socket() {
    let mut h = command_mode();
    h.cmd("AT#SD=2,0,5001,\"127.0.0.1\"");
    assert_eq!(h.net(2, connected(5001)), b"\r\nCONNECT\r\n");
    assert_eq!(h.net(1, SocketEvent::Data(b"x".to_vec())), b"");
    h.advance(1000);
    h.send(b"+++");
    assert_eq!(h.advance(1000), b"\r\nOK\r\n\r\nSRING: 1\r\n");
}

#[test]
fn sring_waits_while_the_owner_types_a_line() {
    let mut h = command_mode();
    assert_eq!(h.send(b"AT+CS"), b"");
    assert_eq!(h.net(1, SocketEvent::Data(b"x".to_vec())), b"");
    assert_eq!(
        h.send(b"Q\r"),
        b"\r\n+CSQ: 20,0\r\n\r\nOK\r\n\r\nSRING: 1\r\n"
    );
}

#[test]
fn srecv_reads_text_and_hex_and_551_when_nothing_waits() {
    let mut h = command_mode();
    h.cmd("AT+CMEE=1");
    assert_eq!(h.cmd("AT#SRECV=1,10"), "\r\n+CME ERROR: 551\r\n");
    h.net(1, SocketEvent::Data(b"stringa di test".to_vec()));
    assert_eq!(
        h.cmd("AT#SRECV=1,100"),
        "\r\n#SRECV: 1,15\r\nstringa di test\r\n\r\nOK\r\n"
    );
    h.net(1, SocketEvent::Data(b"\x01\xabcd".to_vec()));
    h.modem.telit.nvm.sockets[0].recv_hex = true;
    assert_eq!(
        h.cmd("AT#SRECV=1,3"),
        "\r\n#SRECV: 1,3\r\n01AB63\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT#SRECV=1,3"), "\r\n#SRECV: 1,1\r\n64\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#SRECV=1,0"), "\r\n+CME ERROR: 4\r\n");
    assert_eq!(h.cmd("AT#SRECV=1,1501"), "\r\n+CME ERROR: 4\r\n");
    assert_eq!(h.cmd("AT#SRECV=2,10"), "\r\n+CME ERROR: 551\r\n");
}

#[test]
fn data_left_after_the_peer_closed_can_still_be_read_then_the_socket_closes() {
    let mut h = command_mode();
    h.requests();
    h.net(1, SocketEvent::Data(b"last".to_vec()));
    assert_eq!(h.net(1, SocketEvent::Closed), b"");
    assert_eq!(
        h.cmd("AT#SS=1"),
        "\r\n#SS: 1,3,10.64.0.2,40000,127.0.0.1,5000\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT#SRECV=1,2"), "\r\n#SRECV: 1,2\r\nla\r\n\r\nOK\r\n");
    assert!(h.requests().is_empty());
    assert_eq!(h.cmd("AT#SRECV=1,2"), "\r\n#SRECV: 1,2\r\nst\r\n\r\nOK\r\n");
    assert_eq!(h.requests(), vec![req(1, CLOSE)]);
    assert_eq!(h.cmd("AT#SS=1"), "\r\n#SS: 1,0\r\n\r\nOK\r\n");
}

#[test]
fn a_full_receive_buffer_pauses_the_socket_until_read() {
    let mut h = command_mode();
    h.requests();
    let limit = h.modem.profile().ip.rx_buffer_bytes;
    h.net(1, SocketEvent::Data(vec![b'x'; limit]));
    assert_eq!(h.requests(), vec![req(1, SocketCommand::Pause)]);
    for _ in 0..(limit / 2 / 1500) {
        h.cmd("AT#SRECV=1,1500");
    }
    assert!(h.requests().is_empty());
    h.cmd("AT#SRECV=1,1500");
    assert_eq!(h.requests(), vec![req(1, SocketCommand::Resume)]);
}

#[test]
fn ssend_prompts_and_ctrl_z_sends() {
    let mut h = command_mode();
    h.requests();
    assert_eq!(h.cmd("AT#SSEND=1"), "\r\n> ");
    assert_eq!(h.send(b"hello"), b"");
    assert_eq!(h.send(b"\x1a"), b"\r\nOK\r\n");
    assert_eq!(h.requests(), vec![req(1, send(b"hello"))]);
    assert_eq!(h.cmd("AT#SI=1"), "\r\n#SI: 1,5,0,0,5\r\n\r\nOK\r\n");
    h.net(1, SocketEvent::Sent(5));
    assert_eq!(h.cmd("AT#SI=1"), "\r\n#SI: 1,5,0,0,0\r\n\r\nOK\r\n");
}

#[test]
fn ssend_echoes_under_e1_and_bs_deletes() {
    let mut h = command_mode();
    h.requests();
    h.cmd("ATE1");
    assert_eq!(h.send(b"AT#SSEND=1\r"), b"AT#SSEND=1\r\r\n> ");
    assert_eq!(h.send(b"helo\x08lo\x1a"), b"helo\x08lo\r\nOK\r\n");
    assert_eq!(h.requests(), vec![req(1, send(b"hello"))]);
}

#[test]
fn ssend_esc_aborts_with_ok_and_sends_nothing() {
    let mut h = command_mode();
    h.requests();
    h.cmd("AT#SSEND=1");
    assert_eq!(h.send(b"never\x1b"), b"\r\nOK\r\n");
    assert!(h.requests().is_empty());
}

#[test]
fn ssend_drops_bytes_beyond_1500() {
    let mut h = command_mode();
    h.requests();
    h.cmd("AT#SSEND=1");
    let mut typed = vec![b'a'; 1500];
    typed.extend_from_slice(b"bbb\x1a");
    assert_eq!(h.send(&typed), b"\r\nOK\r\n");
    assert_eq!(h.requests(), vec![req(1, send(&[b'a'; 1500]))]);
}

#[test]
fn ssend_in_hex_mode_takes_hex_pairs() {
    let mut h = command_mode();
    h.requests();
    h.cmd("AT+CMEE=1");
    h.modem.telit.nvm.sockets[0].send_hex = true;
    h.cmd("AT#SSEND=1");
    assert_eq!(h.send(b"00ff41\x1a"), b"\r\nOK\r\n");
    assert_eq!(h.requests(), vec![req(1, send(b"\x00\xffA"))]);
    h.cmd("AT#SSEND=1");
    assert_eq!(h.send(b"0g\x1a"), b"\r\n+CME ERROR: 4\r\n");
    assert!(h.requests().is_empty());
}

#[test]
fn ssend_on_a_socket_not_connected_is_551_before_the_prompt() {
    let mut h = telit_up();
    h.cmd("AT+CMEE=1");
    assert_eq!(h.cmd("AT#SSEND=1"), "\r\n+CME ERROR: 551\r\n");
    assert_eq!(h.cmd("AT#SSENDEXT=1,3"), "\r\n+CME ERROR: 551\r\n");
    assert_eq!(h.cmd("AT"), "\r\nOK\r\n");
}

#[test]
fn ssendext_takes_exactly_n_raw_bytes() {
    let mut h = command_mode();
    h.requests();
    assert_eq!(h.cmd("AT#SSENDEXT=1,4"), "\r\n> ");
    assert_eq!(h.send(b"\x1a\x1b\x08"), b"");
    assert_eq!(h.send(b"zAT\r"), b"\r\nOK\r\n\r\nOK\r\n");
    assert_eq!(h.requests(), vec![req(1, send(b"\x1a\x1b\x08z"))]);
}

#[test]
fn sh_closes_and_is_ok_on_a_closed_socket() {
    let mut h = command_mode();
    h.requests();
    assert_eq!(h.cmd("AT#SH=1"), "\r\nOK\r\n");
    assert_eq!(h.requests(), vec![req(1, CLOSE)]);
    assert_eq!(h.cmd("AT#SH=1"), "\r\nOK\r\n");
    assert!(h.requests().is_empty());
    assert_eq!(h.cmd("AT#SH=?"), "\r\n#SH: (1-6)\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#SH=7"), "\r\nERROR\r\n");
}

#[test]
fn ss_and_si_list_all_six_sockets() {
    let mut h = telit_up();
    assert_eq!(
        h.cmd("AT#SS"),
        "\r\n#SS: 1,0\r\n#SS: 2,0\r\n#SS: 3,0\r\n#SS: 4,0\r\n#SS: 5,0\r\n#SS: 6,0\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd("AT#SI"),
        "\r\n#SI: 1,0,0,0,0\r\n#SI: 2,0,0,0,0\r\n#SI: 3,0,0,0,0\r\n#SI: 4,0,0,0,0\r\n\
         #SI: 5,0,0,0,0\r\n#SI: 6,0,0,0,0\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT#SS=?"), "\r\n#SS: (1-6)\r\n\r\nOK\r\n");
}

#[test]
fn si_counts_since_the_socket_opened_and_keeps_them_after_close() {
    let mut h = online();
    h.net(1, SocketEvent::Data(b"12345".to_vec()));
    h.send(b"abc");
    h.advance(5000);
    h.net(1, SocketEvent::Sent(3));
    h.net(1, SocketEvent::Closed);
    assert_eq!(h.cmd("AT#SI=1"), "\r\n#SI: 1,3,5,0,0\r\n\r\nOK\r\n");
    h.cmd("AT#SD=1,0,5000,\"127.0.0.1\",0,0,1");
    h.net(2, connected(5000));
    assert_eq!(h.cmd("AT#SI=1"), "\r\n#SI: 1,0,0,0,0\r\n\r\nOK\r\n");
}

// ----- listen and accept -----

/// `telit_up`, an accept-all firewall rule, and socket 2 listening on TCP port 3500
/// (real socket 1).
fn listening() -> Harness {
    let mut h = telit_up_open_to_loopback();
    listens(&mut h, "AT#SL=2,1,3500", Transport::Tcp, 3500);
    h
}

/// `telit_up` with an ACCEPT rule for 127.0.0.0/8.
fn telit_up_open_to_loopback() -> Harness {
    let mut h = telit_up();
    h.modem
        .telit
        .firewall
        .push((Ipv4Addr::new(127, 0, 0, 0), Ipv4Addr::new(255, 0, 0, 0)));
    h
}

/// `line` asks for a listener on `port` (real socket 1, the first the modem opens), which
/// the host binds: the command then answers `OK`. Returns the bound address.
fn listens(h: &mut Harness, line: &str, transport: Transport, port: u16) -> SocketAddr {
    assert_eq!(h.cmd(line), "");
    assert_eq!(
        h.requests(),
        vec![req(1, SocketCommand::Listen { transport, port })]
    );
    let local = addr(&format!("127.0.0.1:{port}"));
    assert_eq!(h.net(1, SocketEvent::Listening { local }), b"\r\nOK\r\n");
    local
}

fn incoming(port: u16) -> SocketEvent {
    SocketEvent::Incoming {
        peer: addr(&format!("127.0.0.1:{port}")),
    }
}

fn accepted(port: u16) -> SocketEvent {
    SocketEvent::Connected {
        local: addr("127.0.0.1:3500"),
        peer: addr(&format!("127.0.0.1:{port}")),
    }
}

#[test]
fn sl_listens_and_ss_shows_state_4_with_the_context_address() {
    let mut h = listening();
    assert_eq!(
        h.cmd("AT#SS=2"),
        "\r\n#SS: 2,4,10.64.0.2,3500\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT#SL?"), "\r\n#SL: 2,3500,0\r\n\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT#SL=?"),
        "\r\n#SL: (1-6),(0,1),(1-65535),(0,255)\r\n\r\nOK\r\n"
    );
}

#[test]
fn sl_on_a_port_another_socket_listens_on_is_564() {
    let mut h = listening();
    h.cmd("AT+CMEE=1");
    assert_eq!(h.cmd("AT#SL=3,1,3500"), "\r\n+CME ERROR: 564\r\n");
    assert_eq!(h.cmd("AT#SL=2,1,3500"), "\r\n+CME ERROR: 564\r\n");
    assert_eq!(h.cmd("AT#SL=2,1,3501"), "\r\n+CME ERROR: 551\r\n");
    h.modem.telit.contexts[0].active = None;
    assert_eq!(h.cmd("AT#SL=1,1,3502"), "\r\n+CME ERROR: 556\r\n");
    assert!(h.requests().is_empty());
}

#[test]
fn incoming_connection_rings_and_sa_accepts_online() {
    let mut h = listening();
    assert_eq!(h.net(1, incoming(40001)), b"\r\nSRING: 2\r\n");
    assert_eq!(
        h.cmd("AT#SS=2"),
        "\r\n#SS: 2,5,10.64.0.2,3500,127.0.0.1,40001\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT#SA=2"), "");
    assert_eq!(
        h.requests(),
        vec![
            req(1, SocketCommand::Accept { as_id: SocketId(2) }),
            req(1, CLOSE)
        ]
    );
    assert_eq!(h.net(2, accepted(40001)), b"\r\nCONNECT\r\n");
    assert_eq!(h.net(2, SocketEvent::Data(b"hi".to_vec())), b"hi");
    assert_eq!(h.net(1, incoming(40002)), b"", "the old listener is gone");
    assert_eq!(h.requests(), vec![req(1, SocketCommand::Reject)]);
}

#[test]
fn sa_in_command_mode_answers_ok() {
    let mut h = listening();
    h.net(1, incoming(40001));
    h.cmd("AT#SA=2,1");
    assert_eq!(h.net(2, accepted(40001)), b"\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT#SS=2"),
        "\r\n#SS: 2,2,10.64.0.2,3500,127.0.0.1,40001\r\n\r\nOK\r\n"
    );
}

#[test]
fn sa_without_a_waiting_connection_is_an_error() {
    let mut h = listening();
    h.cmd("AT+CMEE=1");
    assert_eq!(h.cmd("AT#SA=2"), "\r\n+CME ERROR: 551\r\n");
    assert_eq!(h.cmd("AT#SA=1"), "\r\n+CME ERROR: 551\r\n");
    assert!(h.requests().is_empty());
}

#[test]
fn sh_refuses_a_waiting_connection_and_stops_listening() {
    let mut h = listening();
    h.net(1, incoming(40001));
    assert_eq!(h.cmd("AT#SH=2"), "\r\nOK\r\n");
    assert_eq!(
        h.requests(),
        vec![req(1, SocketCommand::Reject), req(1, CLOSE)]
    );
    assert_eq!(h.cmd("AT#SS=2"), "\r\n#SS: 2,0\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#SL?"), "\r\nOK\r\n");
}

#[test]
fn sl_0_stops_listening() {
    let mut h = listening();
    assert_eq!(h.cmd("AT#SL=2,0,0"), "\r\nOK\r\n");
    assert_eq!(h.requests(), vec![req(1, CLOSE)]);
    assert_eq!(h.cmd("AT#SL=2,0,3500"), "\r\nOK\r\n");
    assert!(h.requests().is_empty());
}

#[test]
fn the_firewall_refuses_a_peer_without_a_matching_rule() {
    let mut h = listening();
    h.modem.telit.firewall.clear();
    h.modem
        .telit
        .firewall
        .push((Ipv4Addr::new(10, 0, 0, 0), Ipv4Addr::new(255, 0, 0, 0)));
    assert_eq!(h.net(1, incoming(40001)), b"");
    assert_eq!(h.requests(), vec![req(1, SocketCommand::Reject)]);
    assert_eq!(
        h.cmd("AT#SS=2"),
        "\r\n#SS: 2,4,10.64.0.2,3500\r\n\r\nOK\r\n"
    );
}

#[test]
fn listen_auto_rsp_goes_online_at_once() {
    let mut h = telit_up();
    h.modem.telit.firewall.push((
        Ipv4Addr::new(127, 0, 0, 1),
        Ipv4Addr::new(255, 255, 255, 255),
    ));
    h.modem.telit.nvm.sockets[1].listen_auto_rsp = true;
    h.cmd("AT#SL=2,1,3500");
    h.net(
        1,
        SocketEvent::Listening {
            local: addr("127.0.0.1:3500"),
        },
    );
    h.requests();
    assert_eq!(h.net(1, incoming(40001)), b"");
    assert_eq!(
        h.requests(),
        vec![
            req(1, SocketCommand::Accept { as_id: SocketId(2) }),
            req(1, CLOSE)
        ]
    );
    assert_eq!(h.net(2, accepted(40001)), b"\r\nCONNECT\r\n");
    assert_eq!(h.modem.state().mode, "data");
}

#[test]
fn a_listener_the_host_cannot_open_is_557_and_a_later_failure_is_aborted() {
    let mut h = telit_up();
    h.cmd("AT+CMEE=1");
    h.cmd("AT#SL=1,1,80");
    assert_eq!(
        h.net(1, SocketEvent::Failed(SocketFailure::AddressInUse)),
        b"\r\n+CME ERROR: 557\r\n"
    );
    let mut h = listening();
    assert_eq!(
        h.net(1, SocketEvent::Reset("gone".into())),
        b"\r\n#SL: ABORTED\r\n"
    );
    assert_eq!(h.cmd("AT#SS=2"), "\r\n#SS: 2,0\r\n\r\nOK\r\n");
}

#[test]
fn sludp_listens_on_udp_and_accepts_the_first_sender() {
    let mut h = telit_up_open_to_loopback();
    let local = listens(&mut h, "AT#SLUDP=3,1,4000", Transport::Udp, 4000);
    assert_eq!(h.cmd("AT#SLUDP?"), "\r\n#SLUDP: 3,4000\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#SL?"), "\r\nOK\r\n");
    assert_eq!(h.net(1, incoming(40005)), b"\r\nSRING: 3\r\n");
    h.cmd("AT#SA=3,1");
    let event = SocketEvent::Connected {
        local,
        peer: addr("127.0.0.1:40005"),
    };
    assert_eq!(h.net(2, event), b"\r\nOK\r\n");
    assert_eq!(
        h.net(2, SocketEvent::Data(b"dgram".to_vec())),
        b"\r\nSRING: 3\r\n"
    );
}

// ----- legacy single-socket commands -----

#[test]
fn sktd_goes_online_and_the_escape_closes_with_no_carrier() {
    let mut h = telit_up();
    assert_eq!(h.cmd("AT#SKTD=0,1024,\"127.0.0.1\",255"), "");
    assert_eq!(h.requests(), vec![req(1, tcp("127.0.0.1", 1024))]);
    assert_eq!(h.net(1, connected(1024)), b"\r\nCONNECT\r\n");
    h.advance(1000);
    h.send(b"+++");
    assert_eq!(h.advance(1000), b"\r\nNO CARRIER\r\n");
    assert_eq!(h.requests(), vec![req(1, send(b"+++")), req(1, CLOSE)]);
    assert_eq!(h.cmd("AT#SS=1"), "\r\n#SS: 1,0\r\n\r\nOK\r\n");
    assert!(
        h.modem.telit.ip_easy_address(1).is_some(),
        "the context stays"
    );
    assert_eq!(
        h.cmd("AT#SKTD?"),
        "\r\n#SKTD: 0,1024,\"127.0.0.1\",255,0\r\n\r\nOK\r\n"
    );
}

#[test]
fn sktd_that_cannot_connect_is_no_carrier() {
    let mut h = telit_up();
    h.cmd("AT#SKTD=0,1024,\"127.0.0.1\"");
    assert_eq!(
        h.net(1, SocketEvent::Failed(SocketFailure::Refused)),
        b"\r\nNO CARRIER\r\n"
    );
}

#[test]
fn sktl_announces_the_caller_then_connects() {
    let mut h = telit_up_open_to_loopback();
    let local = listens(&mut h, "AT#SKTL=1,0,1025", Transport::Tcp, 1025);
    assert_eq!(h.cmd("AT#SKTL?"), "\r\n#SKTL: 1,0,1025,0\r\n\r\nOK\r\n");
    assert_eq!(h.net(1, incoming(40009)), b"\r\n+CONN FROM: 127.0.0.1\r\n");
    assert_eq!(
        h.requests(),
        vec![
            req(1, SocketCommand::Accept { as_id: SocketId(2) }),
            req(1, CLOSE)
        ]
    );
    let event = SocketEvent::Connected {
        local,
        peer: addr("127.0.0.1:40009"),
    };
    assert_eq!(h.net(2, event), b"\r\nCONNECT\r\n");
    h.advance(1000);
    h.send(b"+++");
    assert_eq!(h.advance(1000), b"\r\nNO CARRIER\r\n");
    assert_eq!(h.cmd("AT#SKTL?"), "\r\n#SKTL: 0,0,0,0\r\n\r\nOK\r\n");
}

#[test]
fn sktop_brings_context_1_up_dials_the_sktset_target_and_closing_takes_it_down() {
    let mut h = Harness::telit();
    h.cmd("ATE0");
    h.modem.telit.legacy_target.address = "127.0.0.1".into();
    h.modem.telit.legacy_target.port = 7000;
    assert_eq!(h.cmd("AT#SKTOP"), "");
    assert_eq!(h.modem.telit.ip_easy_address(1), Some(h.modem.local_ip()));
    assert_eq!(h.requests(), vec![req(1, tcp("127.0.0.1", 7000))]);
    assert_eq!(h.net(1, connected(7000)), b"\r\nCONNECT\r\n");
    assert_eq!(h.net(1, SocketEvent::Closed), b"\r\nNO CARRIER\r\n");
    assert_eq!(h.modem.telit.ip_easy_address(1), None);
}

#[test]
fn sktop_that_cannot_connect_is_no_carrier_and_leaves_the_context_down() {
    let mut h = Harness::telit();
    h.cmd("ATE0");
    h.modem.telit.legacy_target.address = "127.0.0.1".into();
    h.cmd("AT#SKTOP");
    assert_eq!(
        h.net(1, SocketEvent::Failed(SocketFailure::Refused)),
        b"\r\nNO CARRIER\r\n"
    );
    assert_eq!(h.modem.telit.ip_easy_address(1), None);
    h.modem.telit.legacy_target.address.clear();
    assert_eq!(h.cmd("AT#SKTOP"), "\r\nNO CARRIER\r\n");
}

// ----- the context going down -----

#[test]
fn a_lost_context_closes_its_sockets_with_no_carrier_when_online() {
    let mut h = online();
    h.requests();
    h.modem.telit.contexts[1].active = None;
    h.modem.telit_sockets_lost_context(2);
    assert_eq!(h.apply(Input::Timer), b"", "socket 1 uses context 1");
    h.modem.telit.contexts[0].active = None;
    h.modem.telit_sockets_lost_context(1);
    assert_eq!(h.apply(Input::Timer), b"\r\nNO CARRIER\r\n");
    assert_eq!(h.requests(), vec![req(1, ABORT)]);
    assert_eq!(h.cmd("AT#SS=1"), "\r\n#SS: 1,0\r\n\r\nOK\r\n");
}

#[test]
fn a_lost_context_aborts_listeners_and_pending_dials() {
    let mut h = listening();
    h.cmd("AT+CMEE=1");
    h.cmd("AT#SD=1,0,5000,\"127.0.0.1\"");
    h.requests();
    h.modem.telit.contexts[0].active = None;
    h.modem.telit_sockets_lost_context(1);
    assert_eq!(
        h.apply(Input::Timer),
        b"\r\n+CME ERROR: 556\r\n\r\n#SL: ABORTED\r\n"
    );
    assert_eq!(h.requests(), vec![req(2, ABORT), req(1, ABORT)]);
}

// ----- robustness -----

#[test]
fn events_for_unknown_or_closed_sockets_are_ignored() {
    let mut h = telit_up();
    let events = [
        connected(5000),
        SocketEvent::Failed(SocketFailure::Refused),
        SocketEvent::Listening {
            local: addr("127.0.0.1:1"),
        },
        SocketEvent::Data(b"x".to_vec()),
        SocketEvent::Sent(9),
        SocketEvent::Closed,
        SocketEvent::Reset("r".into()),
    ];
    for id in [0, 1, 7, u32::MAX] {
        for event in events.clone() {
            assert_eq!(h.net(id, event), b"");
        }
    }
    assert!(h.requests().is_empty());
    // A connected socket ignores events that make no sense for it.
    let mut h = command_mode();
    h.requests();
    for event in events[..3].iter().cloned() {
        assert_eq!(h.net(1, event), b"");
    }
    assert_eq!(
        h.cmd("AT#SS=1"),
        "\r\n#SS: 1,2,10.64.0.2,40000,127.0.0.1,5000\r\n\r\nOK\r\n"
    );
}

#[test]
fn a_thousand_open_close_cycles_leak_no_socket() {
    let mut h = telit_up_open_to_loopback();
    let mut next = 1;
    for round in 0..1000 {
        match round % 4 {
            0 => {
                h.cmd("AT#SD=1,0,5000,\"127.0.0.1\",0,0,1");
                h.net(next, connected(5000));
                h.cmd("AT#SH=1");
                next += 1;
            }
            1 => {
                h.cmd("AT#SD=2,0,5000,\"127.0.0.1\"");
                h.net(next, connected(5000));
                h.net(next, SocketEvent::Closed);
                next += 1;
            }
            2 => {
                h.cmd("AT#SL=3,1,3500");
                h.net(
                    next,
                    SocketEvent::Listening {
                        local: addr("127.0.0.1:3500"),
                    },
                );
                h.net(next, incoming(40001));
                h.cmd("AT#SA=3,1");
                h.net(next + 1, accepted(40001));
                h.cmd("AT#SH=3");
                next += 2;
            }
            _ => {
                h.cmd("AT#SD=4,1,5000,\"127.0.0.1\",0,0,1");
                h.net(next, connected(5000));
                h.net(next, SocketEvent::Data(b"x".to_vec()));
                h.cmd("AT#SRECV=4,1");
                h.cmd("AT#SH=4");
                next += 1;
            }
        }
    }
    let requests = h.requests();
    let opened: Vec<SocketId> = requests
        .iter()
        .filter_map(|r| match r {
            Output::Socket(id, SocketCommand::Connect { .. } | SocketCommand::Listen { .. }) => {
                Some(*id)
            }
            Output::Socket(_, SocketCommand::Accept { as_id }) => Some(*as_id),
            _ => None,
        })
        .collect();
    let mut closed: Vec<SocketId> = requests
        .iter()
        .filter_map(|r| match r {
            Output::Socket(id, SocketCommand::Close { .. }) => Some(*id),
            _ => None,
        })
        .collect();
    closed.sort();
    let mut expected = opened.clone();
    expected.sort();
    assert_eq!(opened.len(), 1250);
    assert_eq!(closed, expected, "every socket opened is closed once");
    assert!(
        h.modem
            .telit
            .sockets
            .iter()
            .all(|s| s.state == telit_ip::SocketState::Closed && s.socket.is_none())
    );
    assert!(h.modem.next_deadline().is_none(), "no timer left behind");
}
