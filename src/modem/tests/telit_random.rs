//! Seeded random sessions on a Telit: IP Easy commands on three instances, CMUX frames, random
//! bytes and socket events in any order. Nothing panics and every instance still answers.

use super::*;
use crate::cmux::{client_disc, client_msc, client_sabm, client_uih};

// Weighted by repetition: contexts up and command-mode dials often, so sessions go deep.
const LINES: &[&str] = &[
    "AT#SGACT=1,1",
    "AT#SGACT=1,1",
    "AT#SGACT=1,1",
    "AT#SD=2,0,5000,\"127.0.0.1\",0,0,1",
    "AT#SD=2,0,5000,\"127.0.0.1\",0,0,1",
    "AT#SGACT=1,0",
    "AT#SGACT=2,1",
    "AT#GPRS=1",
    "AT#SCFG=1,1,10,2,10,1",
    "AT#SCFGEXT=1,2,1,0,1,1",
    "AT#SCFGEXT=2,1,0,0,0,0",
    "AT#SD=1,0,5000,\"127.0.0.1\"",
    "AT#SD=2,0,5000,\"127.0.0.1\",0,0,1",
    "AT#SD=3,1,5001,\"localhost\",255,6000,1",
    "AT#SO=1",
    "AT#SH=1",
    "AT#SH=2",
    "AT#SS",
    "AT#SI",
    "AT#SRECV=2,10",
    "AT#SSEND=2",
    "AT#SSENDEXT=2,3",
    "AT#SL=4,1,8000",
    "AT#SA=4",
    "AT#SLUDP=5,1,8001",
    "AT#FRWL=1,\"127.0.0.1\",\"255.0.0.0\"",
    "AT#SKTD=0,5000,\"127.0.0.1\"",
    "AT#SKTL=1,0,8002",
    "AT#SKTOP",
    "AT#QDNS=\"localhost\"",
    "AT+CGATT=0",
    "AT+CGATT=1",
    "AT+CMUX=0",
    "ATO",
    "ATH",
    "AT&D2",
    "+++",
];

#[test]
fn seeded_random_telit_sessions_never_break_the_modem() {
    use rand::{RngExt, SeedableRng, rngs::StdRng};
    let mut rng = StdRng::seed_from_u64(0x5EED_0006);
    let mut h = Harness::telit();
    h.open_instance(2);
    h.open_instance(3);
    let peer: std::net::SocketAddr = "127.0.0.1:5000".parse().expect("address");
    let local: std::net::SocketAddr = "127.0.0.1:40000".parse().expect("address");
    // Listens the random events may never answer; a real host always does (bound or failed).
    let mut asked: Vec<SocketId> = Vec::new();
    // How often the session reached CONNECT, SRING, an activation and #SS: it must go deep.
    let mut seen = [0usize; 4];
    let mut known: Vec<SocketId> = Vec::new();
    for round in 0..20_000u32 {
        let instance = rng.random_range(1..=3u8);
        let bytes: Vec<u8> = match rng.random_range(0..12) {
            0..=4 => format!("{}\r", LINES[rng.random_range(0..LINES.len())]).into_bytes(),
            5 => (0..rng.random_range(0..20))
                .map(|_| rng.random::<u8>())
                .collect(),
            6 => match rng.random_range(0..5) {
                0 => client_sabm(rng.random_range(0..5)),
                1 => client_disc(rng.random_range(0..5)),
                2 => client_msc(
                    rng.random_range(0..4),
                    crate::cmux::Signals {
                        rtc: rng.random_bool(0.5),
                        break_signal: rng.random_bool(0.3),
                        ..Default::default()
                    },
                ),
                _ => client_uih(
                    rng.random_range(0..4),
                    format!("{}\r", LINES[rng.random_range(0..LINES.len())]).as_bytes(),
                ),
            },
            7 | 8 => {
                // Mostly the sockets the modem opened, sometimes one it never heard of.
                let socket = match known.len() {
                    0 => SocketId(rng.random_range(1..400)),
                    n if rng.random_bool(0.9) => known[rng.random_range(0..n)],
                    _ => SocketId(rng.random_range(1..400)),
                };
                let event = match rng.random_range(0..10) {
                    0..=2 => SocketEvent::Connected { local, peer },
                    3..=5 => {
                        let len = rng.random_range(0..2000);
                        SocketEvent::Data((0..len).map(|_| rng.random::<u8>()).collect())
                    }
                    6 => SocketEvent::Failed(SocketFailure::Refused),
                    7 => SocketEvent::Closed,
                    8 => SocketEvent::Incoming { peer },
                    _ => SocketEvent::Listening { local },
                };
                let out = h.apply(Input::Socket(socket, event));
                count(&mut seen, &out);
                Vec::new()
            }
            9 => {
                h.advance(rng.random_range(0..7000));
                Vec::new()
            }
            _ => {
                h.apply(Input::Dtr(rng.random_bool(0.5)));
                Vec::new()
            }
        };
        if !bytes.is_empty() {
            let out = if instance == 1 {
                h.send(&bytes)
            } else {
                h.send_on(instance, &bytes)
            };
            count(&mut seen, &out);
        }
        // Like a host, mostly answer a connect or a listen at once; the rest is left to chance.
        let requests = std::mem::take(&mut h.socket_requests);
        for request in &requests {
            let answer = match request {
                Output::Socket(id, SocketCommand::Connect { .. }) => {
                    known.push(*id);
                    Some((*id, SocketEvent::Connected { local, peer }))
                }
                Output::Socket(id, SocketCommand::Listen { .. }) => {
                    known.push(*id);
                    Some((*id, SocketEvent::Listening { local }))
                }
                _ => None,
            };
            if let Some((id, event)) = answer.filter(|_| rng.random_bool(0.7)) {
                let out = h.apply(Input::Socket(id, event));
                count(&mut seen, &out);
            }
        }
        h.socket_requests.extend(requests);
        if known.len() > 16 {
            known.drain(..known.len() - 16);
        }
        collect_listens(&mut h, &mut asked);
        for out in std::mem::take(&mut h.instance_out).into_values() {
            count(&mut seen, &out);
        }
        if round % 500 == 499 {
            // However it was left, each instance can be brought back to answering commands.
            // Ports closed and reopened (partly typed lines go), prompts cancelled, the
            // multiplexer closed, DTR up.
            h.send(&client_disc(0));
            h.apply(Input::Dtr(true));
            for instance in 1..=3u8 {
                h.modem.on_instance(instance, |m| m.settings.dtr_mode = 2);
            }
            for instance in 2..=3u8 {
                h.apply(Input::Instance(instance, PortEvent::Closed));
                h.apply(Input::Instance(instance, PortEvent::Opened));
                h.send_on(instance, b"\x1b");
            }
            h.apply(Input::DteClosed);
            h.apply(Input::DteOpened);
            h.send(b"\x1b");
            // A fixed-length payload (#SSENDEXT) takes its bytes whatever they are: fill it.
            for instance in 1..=3u8 {
                let missing = h.modem.on_instance(instance, |m| match &m.port_mode {
                    crate::modem::data_mode::PortMode::Prompt(p) => {
                        p.fixed_len.map(|n| n.saturating_sub(p.data.len()))
                    }
                    _ => None,
                });
                if let Some(n) = missing {
                    let filler = vec![b'x'; n];
                    if instance == 1 {
                        h.send(&filler);
                    } else {
                        h.send_on(instance, &filler);
                    }
                }
            }
            // A dial or a name lookup under way cannot be interrupted: wait out connTo (60 s)
            // and the multiplexer's start time; input held behind one runs after it, and may
            // start another.
            for _ in 0..20 {
                answer_listens(&mut h, &mut asked);
                h.advance(61_000);
                let busy = (1..=3u8).any(|i| h.modem.on_instance(i, |m| m.awaiting.is_some()));
                if !busy {
                    break;
                }
            }
            // Input held behind a command may have started the multiplexer again.
            h.send(&client_disc(0));
            // AT&F on each instance, typed with whatever S3 the random bytes left.
            for instance in 1..=3u8 {
                h.modem.on_instance(instance, |m| {
                    m.settings.restore_factory_keeping_uart(m.profile)
                });
            }
            h.instance_out.clear();
            let answer = h.cmd("ATE0");
            assert_eq!(
                answer,
                "ATE0\r\r\nOK\r\n",
                "round {round}: instance 1 in {:?} waiting for {:?}, cmux {}, dte {}",
                h.modem.state().mode,
                h.modem.on_instance(1, |m| m.awaiting),
                h.modem.mux.is_some(),
                h.modem.state().client_attached,
            );
            let answer = h.send_on(2, b"AT\r");
            assert_eq!(
                String::from_utf8_lossy(&answer),
                "AT\r\r\nOK\r\n",
                "round {round}: instance 2 in {:?} waiting for {:?} {:?}",
                h.modem.state().instances.get(1).map(|i| i.mode),
                h.modem.on_instance(2, |m| m.awaiting),
                h.modem.telit.sockets[1],
            );
            assert_eq!(
                h.send_on(3, b"AT\r"),
                b"AT\r\r\nOK\r\n",
                "round {round}: instance 3"
            );
            h.send(b"ATE1\r");
        }
    }
    assert!(
        seen.iter().all(|&n| n > 5),
        "the random session stayed shallow: {seen:?}"
    );
}

/// Takes the modem's socket requests, keeping the listens it asked for.
fn collect_listens(h: &mut Harness, asked: &mut Vec<SocketId>) {
    for request in h.socket_requests.drain(..) {
        if let Output::Socket(id, SocketCommand::Listen { .. }) = request {
            asked.push(id);
        }
    }
}

/// Answers every listen still unanswered as a host would when the port is taken.
fn answer_listens(h: &mut Harness, asked: &mut Vec<SocketId>) {
    collect_listens(h, asked);
    for id in asked.drain(..) {
        h.apply(Input::Socket(
            id,
            SocketEvent::Failed(SocketFailure::AddressInUse),
        ));
    }
}

/// Counts the outputs that show the session got somewhere (CONNECT, SRING, `#SGACT:`, `#SS:`).
fn count(seen: &mut [usize; 4], out: &[u8]) {
    let text = String::from_utf8_lossy(out);
    for (i, word) in ["CONNECT", "SRING", "#SGACT: ", "#SS: "].iter().enumerate() {
        seen[i] += usize::from(text.contains(word));
    }
}
