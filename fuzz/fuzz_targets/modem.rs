#![no_main]
//! Fuzz target: the byte-level discipline of a whole modem (SIM900 or Telit) through
//! `Modem::handle`: random bytes and command lines at random times on every port, timers as a
//! host fires them, socket and DNS answers that keep the host contract, network, SIM, call and
//! SMS events, CMUX frames. Invariants (see `common/harness.rs`): no panic, no timer storm, no
//! socket command after `Close`, output only on existing instances, `+++` leaves data mode only
//! after guard silence, and `AT` in plain command mode answers `\r\n…\r\nOK\r\n` (V1) / `0\r`.

mod common;

use common::harness::{Bytes, Harness};
use common::lines::{SIM900_LINES, TELIT_LINES};
use libfuzzer_sys::fuzz_target;
use simodem::cmux::frame::{Kind, encode_frame};
use simodem::modem::{Input, NetworkChange, PortEvent, Service, SimChange};
use simodem::network::sms::Incoming;
use simodem::sms::{Address, Alphabet, Dcs, Deliver, Timestamp, Tpdu, UserData};

/// Most operations one input runs (keeps executions short and comparable).
const MAX_OPS: usize = 300;

const FRAGMENTS: &[&[u8]] = &[
    b"+++",
    b"+",
    b"++",
    b"hello",
    b"\x1a",
    b"\x1b",
    b"\x08",
    b"\r",
    b"\n",
    b"A/",
    b"a/",
    b"0011000C9144770009103200000AE8329BFD4697D9EC37\x1a",
    b"hello there\x1a",
];

const GAPS_MS: [u64; 10] = [0, 0, 1, 20, 500, 999, 1000, 1001, 1100, 3000];

const SMS_TEXTS: &[&str] = &[
    "hello",
    "AT+CSQ",
    "HAT#GPIO=2,1,1",
    "AT#MONI",
    "at+cops?",
    "ATD+15550000002;",
    "AT+CMGS=\"+15550000002\"",
];

fn prelude(h: &mut Harness, which: u8) {
    h.advance_ms(5000);
    h.command("ATE0\r", 50);
    match (h.telit, which % 3) {
        (false, 1) => {
            h.command("AT+CIPMODE=1\r", 50);
            h.command("AT+CSTT=\"internet\"\r", 50);
            h.command("AT+CIICR\r", 2000);
            h.command("AT+CIFSR\r", 50);
            h.command("AT+CIPSTART=\"TCP\",\"127.0.0.1\",47000\r", 500);
        }
        (false, 2) => {
            h.command("ATD*99#\r", 500);
        }
        (true, 1) => {
            h.command("AT#SGACT=1,1\r", 2000);
            h.command("AT#SD=1,0,47000,\"127.0.0.1\"\r", 500);
        }
        (true, 2) => {
            h.command("AT+CMUX=0\r", 50);
            for dlci in 0..=3 {
                let sabm = encode_frame(dlci, true, Kind::Sabm, true, &[]);
                h.input(Input::Dte(sabm));
            }
            h.advance_ms(100);
        }
        _ => {}
    }
}

fn sms(input: &mut Bytes) -> Input {
    let text = input.pick(SMS_TEXTS);
    let alphabet = if input.byte().is_multiple_of(2) {
        Alphabet::Gsm7
    } else {
        Alphabet::Eight
    };
    let user_data = UserData::from_text(text, alphabet).unwrap_or(UserData {
        header: Vec::new(),
        body: text.as_bytes().to_vec(),
    });
    let number = input.pick(&["+393468686711", "+15550000002", "12345"]);
    let Ok(originator) = Address::from_text(number) else {
        return Input::Timer;
    };
    let Ok(smsc) = Address::from_text("+15550000000") else {
        return Input::Timer;
    };
    Input::Sms(Incoming {
        smsc,
        tpdu: Tpdu::Deliver(Deliver {
            more_messages_to_send: false,
            reply_path: false,
            status_report_indication: false,
            originator,
            pid: 0,
            dcs: Dcs::for_alphabet(alphabet),
            timestamp: Timestamp::from_unix(1_767_225_600, 4),
            user_data,
        }),
    })
}

fn world_event(input: &mut Bytes) -> Input {
    match input.byte() % 9 {
        0 => Input::Ring("+15550000002".into()),
        1 => Input::RemoteHangUp,
        2 => Input::Network(NetworkChange {
            service: Some(input.pick(&[
                Service::Home,
                Service::Roaming,
                Service::Searching,
                Service::Denied,
                Service::None,
            ])),
            csq: Some(u32::from(input.byte() % 33)),
            ..NetworkChange::default()
        }),
        3 => Input::Sim(if input.byte().is_multiple_of(2) {
            SimChange::Removed
        } else {
            SimChange::Inserted
        }),
        4 => Input::Reboot,
        5 => Input::Urc(
            input
                .pick(&["+CUSD: 0", "+CMTI: \"SM\",1", "RING", ""])
                .into(),
        ),
        _ => sms(input),
    }
}

fn line(h: &Harness, input: &mut Bytes) -> &'static str {
    if h.telit {
        input.pick(TELIT_LINES)
    } else {
        input.pick(SIM900_LINES)
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Bytes::new(data);
    let setup = input.byte();
    let mut h = Harness::new(setup & 1 == 1);
    prelude(&mut h, setup >> 1);
    let mut ops = 0;
    while !input.is_empty() && ops < MAX_OPS {
        ops += 1;
        match input.byte() % 16 {
            0 | 1 => {
                let gap = input.pick(&GAPS_MS);
                let n = usize::from(input.byte() % 24) + 1;
                let bytes = input.take(n);
                h.advance_ms(gap);
                h.input(Input::Dte(bytes));
            }
            2 | 3 => {
                let text = line(&h, &mut input).as_bytes();
                let gap = u64::from(input.byte() % 4) * 10;
                let split = usize::from(input.byte()) % (text.len() + 1);
                h.advance_ms(gap);
                h.input(Input::Dte(text[..split].to_vec()));
                if split < text.len() {
                    h.input(Input::Dte(text[split..].to_vec()));
                }
            }
            4 => {
                let bytes = input.pick(FRAGMENTS).to_vec();
                let gap = input.pick(&GAPS_MS);
                h.advance_ms(gap);
                h.input(Input::Dte(bytes));
            }
            5 => {
                let us = u64::from(input.u16());
                h.advance(us);
            }
            6 => {
                let ms = u64::from(input.byte()) * 250;
                h.advance_ms(ms);
            }
            7 => {
                let guard = input.pick(&[20u64, 999, 1000, 1001, 1100, 2100]);
                let spaced = input.byte().is_multiple_of(2);
                h.advance_ms(guard);
                if spaced {
                    for _ in 0..3 {
                        h.input(Input::Dte(b"+".to_vec()));
                        h.advance_ms(100);
                    }
                } else {
                    h.input(Input::Dte(b"+++".to_vec()));
                }
                h.advance_ms(guard);
            }
            8 => {
                if h.telit {
                    let n = 2 + input.byte() % 2;
                    let event = match input.byte() % 4 {
                        0 => PortEvent::Opened,
                        1 => PortEvent::Closed,
                        2 => PortEvent::Bytes(line(&h, &mut input).as_bytes().to_vec()),
                        _ => {
                            let len = usize::from(input.byte() % 16) + 1;
                            PortEvent::Bytes(input.take(len))
                        }
                    };
                    h.input(Input::Instance(n, event));
                }
            }
            9 | 10 => h.socket_step(&mut input),
            11 => h.resolve_step(&mut input),
            12 => {
                let event = match input.byte() % 4 {
                    0 => Input::DteOpened,
                    1 => Input::DteClosed,
                    2 => Input::Dtr(false),
                    _ => Input::Dtr(true),
                };
                h.input(event);
            }
            13 => {
                let event = world_event(&mut input);
                h.input(event);
            }
            14 => h.probe(),
            _ => {
                let address = input.byte();
                let kind = input.pick(&[Kind::Sabm, Kind::Uih, Kind::Uih, Kind::Disc, Kind::Ui]);
                let info = if address & 0x80 != 0 {
                    line(&h, &mut input).as_bytes().to_vec()
                } else {
                    let len = usize::from(input.byte() % 16);
                    input.take(len)
                };
                let frame = encode_frame(address % 4, address & 0x40 != 0, kind, true, &info);
                h.input(Input::Dte(frame));
            }
        }
    }
    // Whatever happened, the modem settles: a minute of timers ends with nothing due.
    h.advance_ms(60_000);
    h.probe();
});
