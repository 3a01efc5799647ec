#![no_main]
//! Fuzz target: the Telit TCP ATRUN service (server or client mode, automatic or step-by-step
//! login, a firewall rule for one address or a range) fed random bytes through socket events:
//! logins right, wrong and torn across segments, command lines, `+++`, `#TCPATCONSER`
//! bridging, peers that close or reset, timers, and the serial port's own lines between.
//! Invariants are the modem harness's (no panic, no timer storm, socket contract, escape
//! guard) plus: a peer that has not logged in hears nothing but the login prompts.

mod common;

use common::harness::{Bytes, Harness};
use common::lines::TELIT_LINES;
use libfuzzer_sys::fuzz_target;
use simodem::modem::Input;

const MAX_OPS: usize = 200;

/// What the service may say to a peer that has not logged in (step-by-step login).
const PROMPTS: &[&[u8]] = &[b"Username:\r\n", b"Password:\r\n", b"Login successful.\r\n"];

const PEER_LINES: &[&[u8]] = &[
    b"testuser\r",
    b"testpassw\r",
    b"testuser\rtestpassw\r",
    b"testuser\r\ntestpassw\r\n",
    b"testuser\rwrong\r",
    b"secret\rAT+CMEE=2\r",
    b"AT\r",
    b"ATE1\r",
    b"AT#MONI\r",
    b"AT+CMEE=1\rAT+CMEE?\r",
    b"at#sgactcfg=2,1\rat#sgact=2,1\rat#ss\r",
    b"AT#TCPATCONSER=1,115200\r",
    b"AT#TCPATCONSER=0,115200\r",
    b"AT+CGATT=0\r",
    b"AT#TCPATRUNL=0\r",
    b"AT#SKTD=0,47799,\"127.0.0.1\"\r",
    b"+++",
    b"+",
    b"\r",
    b"\n",
    b"\x08",
    b"hello device\r\n",
];

fuzz_target!(|data: &[u8]| {
    let mut input = Bytes::new(data);
    let setup = input.byte();
    let mut h = Harness::new(true);
    h.advance_ms(5000);
    h.command("ATE0\r", 50);
    h.command("AT#SGACT=1,1\r", 2000);
    h.command("AT#SCFG=1,1,300,0,600,1\r", 50);
    let step_by_step = setup & 1;
    let client = setup & 2 != 0;
    if client {
        h.command(
            &format!("AT#TCPATRUNCFG=1,2,47707,47705,\"127.0.0.1\",1,5,{step_by_step},2,1\r"),
            50,
        );
    } else {
        h.command(
            &format!("AT#TCPATRUNCFG=1,2,47701,12345,\"\",1,5,{step_by_step},5,2\r"),
            50,
        );
    }
    // The firewall lets 127.0.0.1 in (or all of 127/8); callers from 127.0.0.2 are dropped.
    let mask = if setup & 4 != 0 {
        "255.0.0.0"
    } else {
        "255.255.255.255"
    };
    h.command(&format!("AT#TCPATRUNFRWL=1,\"127.0.0.1\",\"{mask}\"\r"), 50);
    h.command("AT#TCPATRUNAUTH=1,\"testuser\",\"testpassw\"\r", 50);
    if client {
        h.command("AT#TCPATRUND=1\r", 500);
    } else {
        h.command("AT#TCPATRUNL=1\r", 500);
        // A first caller, accepted and connected.
        h.socket_step(&mut Bytes::new(&[0, 0]));
        h.settle();
    }
    let mut ops = 0;
    while !input.is_empty() && ops < MAX_OPS {
        ops += 1;
        h.socket_out.clear();
        let logged_in_before = h.modem.state().atrun.is_some_and(|a| a.tcp_logged_in);
        let mut peer = None;
        match input.byte() % 10 {
            0..=2 => {
                let bytes = input.pick(PEER_LINES).to_vec();
                let split = usize::from(input.byte()) % (bytes.len() + 1);
                peer = h.peer_send(bytes[..split].to_vec());
                if peer.is_some() && split < bytes.len() {
                    h.peer_send(bytes[split..].to_vec());
                }
            }
            3 | 4 => {
                let n = usize::from(input.byte() % 32) + 1;
                let bytes = input.take(n);
                peer = h.peer_send(bytes);
            }
            5 => {
                h.socket_step(&mut input);
                h.settle();
            }
            6 => h.socket_step(&mut input),
            7 => {
                let ms = u64::from(input.byte()) * 50;
                h.advance_ms(ms);
            }
            8 => {
                let line = input.pick(TELIT_LINES).as_bytes().to_vec();
                h.input(Input::Dte(line));
            }
            _ => {
                let ms = u64::from(input.u16()) * 10;
                h.advance_ms(ms);
            }
        }
        // A peer still connected and not logged in heard nothing but the login prompts.
        let waiting_login = h
            .modem
            .state()
            .atrun
            .is_some_and(|a| a.tcp_connected && !a.tcp_logged_in);
        if let Some(id) = peer
            && waiting_login
            && !logged_in_before
        {
            for (to, bytes) in &h.socket_out {
                assert!(
                    *to != id || PROMPTS.contains(&bytes.as_slice()),
                    "{:?} sent to a peer that has not logged in",
                    String::from_utf8_lossy(bytes)
                );
            }
        }
    }
    h.advance_ms(60_000);
    h.probe();
});
