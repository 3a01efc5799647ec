//! Multiplexer behaviour with exact bytes on the wire; expected frames were computed independently
//! from 27.010 Annex B (and match captures of real CMUX clients such as zephyr's test vectors).

use super::*;
use MuxEvent::{Closed, Data, Dropped, Ended, Opened, Reply, Started};

fn hex(text: &str) -> Vec<u8> {
    text.split_whitespace()
        .map(|h| u8::from_str_radix(h, 16).unwrap())
        .collect()
}

fn telit() -> Multiplexer {
    Multiplexer::new(3, TELIT_N1)
}

/// A Telit multiplexer with DLCI 0 and the given data DLCIs open.
fn opened(dlcis: &[u8]) -> Multiplexer {
    let mut mux = telit();
    assert_eq!(
        mux.receive(&client_sabm(0)),
        [Reply(hex("F9 03 73 01 D7 F9")), Started]
    );
    for &d in dlcis {
        let events = mux.receive(&client_sabm(d));
        assert_eq!(events[1], Opened(d));
    }
    mux
}

fn dsr_cts() -> Signals {
    Signals {
        rtc: true,
        rtr: true,
        ..Signals::default()
    }
}

#[test]
fn sabm_on_dlci_0_starts_with_the_standard_bytes() {
    assert_eq!(client_sabm(0), hex("F9 03 3F 01 1C F9"));
    let mut mux = telit();
    assert!(!mux.is_started());
    assert_eq!(
        mux.receive(&hex("F9 03 3F 01 1C F9")),
        [Reply(hex("F9 03 73 01 D7 F9")), Started]
    );
    assert!(mux.is_started() && mux.is_open(0));
    // A second SABM on DLCI 0 is acknowledged again, nothing restarts.
    assert_eq!(
        mux.receive(&client_sabm(0)),
        [Reply(hex("F9 03 73 01 D7 F9"))]
    );
}

#[test]
fn sabm_opens_dlcis_1_to_3_with_ua() {
    let mut mux = opened(&[]);
    let expected = [
        (1, "F9 07 3F 01 DE F9", "F9 07 73 01 15 F9"),
        (2, "F9 0B 3F 01 59 F9", "F9 0B 73 01 92 F9"),
        (3, "F9 0F 3F 01 9B F9", "F9 0F 73 01 50 F9"),
    ];
    for (d, sabm, ua) in expected {
        assert_eq!(client_sabm(d), hex(sabm));
        assert_eq!(mux.receive(&hex(sabm)), [Reply(hex(ua)), Opened(d)]);
        assert!(mux.is_open(d));
        // Already open: UA again, no second Opened.
        assert_eq!(mux.receive(&hex(sabm)), [Reply(hex(ua))]);
    }
    assert_eq!(mux.open_dlcis().collect::<Vec<_>>(), [1, 2, 3]);
}

#[test]
fn sabm_above_max_dlci_or_before_dlci_0_gets_dm() {
    let mut mux = telit();
    let events = mux.receive(&client_sabm(1));
    assert_eq!(events[0], Reply(hex("F9 07 1F 01 F4 F9")));
    assert!(matches!(&events[1], Dropped(why) if why.contains("before DLCI 0")));
    assert!(!mux.is_open(1));
    let mut mux = opened(&[]);
    let events = mux.receive(&client_sabm(4));
    assert_eq!(events[0], Reply(hex("F9 13 1F 01 BC F9")));
    assert!(matches!(&events[1], Dropped(why) if why.contains("1..=3")));
    assert!(!mux.is_open(4));
}

#[test]
fn uih_round_trip() {
    let mut mux = opened(&[1, 2]);
    assert_eq!(
        mux.receive(&hex("F9 07 EF 05 41 54 30 F9")),
        [Data(1, b"AT".to_vec())]
    );
    assert_eq!(
        mux.receive(&client_uih(2, b"AT+CSQ\r")),
        [Data(2, b"AT+CSQ\r".to_vec())]
    );
    // The modem's UIH frames carry C/R = 0 (it is the responder).
    let wire = mux.send(1, b"\r\nOK\r\n");
    assert_eq!(wire, hex("F9 05 EF 0D 0D 0A 4F 4B 0D 0A 5F F9"));
    let frames = Deframer::new(TELIT_N1).frames(&wire);
    assert_eq!(
        frames,
        [Frame {
            dlci: 1,
            cr: false,
            kind: Kind::Uih,
            pf: false,
            info: b"\r\nOK\r\n".to_vec()
        }]
    );
    assert!(mux.send(3, b"closed").is_empty());
    assert!(mux.send(0, b"control").is_empty());
    assert!(mux.send(1, b"").is_empty());
}

#[test]
fn adjacent_data_for_one_dlci_is_merged() {
    let mut mux = opened(&[1, 2]);
    let mut wire = client_uih(1, b"AT");
    wire.extend(client_uih(1, b"+CSQ\r"));
    wire.extend(client_uih(2, b"ATI\r"));
    wire.extend(client_uih(1, b"AT\r"));
    assert_eq!(
        mux.receive(&wire),
        [
            Data(1, b"AT+CSQ\r".to_vec()),
            Data(2, b"ATI\r".to_vec()),
            Data(1, b"AT\r".to_vec())
        ]
    );
}

#[test]
fn send_splits_at_n1() {
    let mux = opened(&[1]);
    let data: Vec<u8> = (0..300u32).map(|i| i as u8).collect();
    let frames = Deframer::new(TELIT_N1).frames(&mux.send(1, &data));
    let sizes: Vec<usize> = frames.iter().map(|f| f.info.len()).collect();
    assert_eq!(sizes, [128, 128, 44]);
    let joined: Vec<u8> = frames.into_iter().flat_map(|f| f.info).collect();
    assert_eq!(joined, data);
    // The client helper splits the same way, and the modem takes 128-byte frames.
    let mut mux = opened(&[1]);
    assert_eq!(mux.receive(&client_uih(1, &data)), [Data(1, data)]);
}

#[test]
fn a_frame_longer_than_n1_is_dropped() {
    let mut mux = opened(&[1]);
    let long = encode_frame(1, true, Kind::Uih, false, &[b'A'; 129]);
    let events = mux.receive(&long);
    assert!(
        matches!(&events[0], Dropped(why) if why.contains("length 129 above N1 128")),
        "{events:?}"
    );
    assert!(!events.iter().any(|e| matches!(e, Data(..))));
    assert!(mux.buffered() <= TELIT_N1 + 6);
    assert_eq!(
        mux.receive(&client_uih(1, b"AT\r")),
        [Data(1, b"AT\r".to_vec())]
    );
}

#[test]
fn pn_is_answered_and_lowers_n1() {
    let mut mux = opened(&[]);
    let proposal = Params {
        dlci: 1,
        frame_type: 0,
        convergence_layer: 0,
        priority: 0,
        t1: 10,
        n1: 64,
        n2: 3,
        k: 0,
    };
    assert_eq!(
        mux.receive(&client_pn(proposal)),
        [Reply(hex(
            "F9 01 EF 15 81 11 01 00 00 0A 40 00 03 00 8F F9"
        ))]
    );
    assert_eq!(mux.receive(&client_sabm(1))[1], Opened(1));
    assert_eq!(mux.send_n1(1), 64);
    let frames = Deframer::new(TELIT_N1).frames(&mux.send(1, &[0; 100]));
    assert_eq!(
        frames.iter().map(|f| f.info.len()).collect::<Vec<_>>(),
        [64, 36]
    );
    // A larger proposal is answered with the configured N1; I frames and layer 2 with UIH, layer 1.
    let greedy = Params {
        dlci: 2,
        frame_type: 2,
        convergence_layer: 1,
        n1: 1500,
        ..proposal
    };
    let events = mux.receive(&client_pn(greedy));
    let [Reply(wire)] = &events[..] else {
        panic!("{events:?}")
    };
    let frame = &Deframer::new(TELIT_N1).frames(wire)[0];
    let answer = control::messages(&frame.info);
    assert_eq!(answer[0].command, Command::Pn);
    assert!(!answer[0].is_command);
    assert_eq!(
        Params::parse(answer[0].value),
        Some(Params {
            frame_type: 0,
            convergence_layer: 0,
            n1: 128,
            ..greedy
        })
    );
    // Closing DLCI 1 forgets its negotiated N1.
    mux.receive(&client_disc(1));
    assert_eq!(mux.send_n1(1), 128);
}

#[test]
fn msc_from_the_dte_gives_signals_and_a_response() {
    let mut mux = opened(&[1]);
    let dtr_rts = dsr_cts();
    // MSC command: type E3, length 2, DLCI 1 address 07, signals RTC|RTR|EA = 0D.
    let command = client_msc(1, dtr_rts);
    assert_eq!(command, hex("F9 03 EF 09 E3 05 07 0D FB F9"));
    assert_eq!(
        mux.receive(&command),
        [
            Reply(hex("F9 01 EF 09 E1 05 07 0D 9A F9")),
            MuxEvent::Signals(1, dtr_rts)
        ]
    );
    // DTR dropped, with a break.
    let drop = Signals {
        rtr: true,
        break_signal: true,
        ..Signals::default()
    };
    let events = mux.receive(&client_msc(1, drop));
    assert_eq!(events[1], MuxEvent::Signals(1, drop));
    // MSC for a DLCI that is not open is answered but not reported as signals.
    let events = mux.receive(&client_msc(2, dtr_rts));
    assert!(matches!(&events[0], Reply(_)));
    assert!(matches!(&events[1], Dropped(why) if why.contains("DLCI 2")));
    // A malformed MSC (no signal octet) is dropped without an answer.
    let events = mux.receive(&client_control(Command::Msc, &[0x07]));
    assert!(matches!(&events[..], [Dropped(why)] if why.contains("malformed MSC")));
}

#[test]
fn modem_status_sends_an_msc_command() {
    let mux = opened(&[1]);
    let signals = Signals {
        dcd: true,
        ..dsr_cts()
    };
    let wire = mux.modem_status(1, signals);
    assert_eq!(wire, hex("F9 01 EF 09 E3 05 07 8D 9A F9"));
    // A client reads it back.
    let frame = &Deframer::new(TELIT_N1).frames(&wire)[0];
    let message = control::messages(&frame.info)[0];
    assert!(message.is_command);
    assert_eq!(message.msc(), Some((1, signals)));
    assert!(mux.modem_status(2, signals).is_empty());
    assert!(mux.modem_status(0, signals).is_empty());
    // The DTE's MSC response is consumed silently.
    let mut mux = mux;
    let response = encode_frame(
        0,
        true,
        Kind::Uih,
        false,
        &control::encode(Command::Msc, false, &[0x07, 0x8D]),
    );
    assert_eq!(mux.receive(&response), []);
}

#[test]
fn disc_closes_an_open_dlci_and_dm_answers_a_closed_one() {
    let mut mux = opened(&[1]);
    assert_eq!(
        mux.receive(&hex("F9 07 53 01 3F F9")),
        [Reply(hex("F9 07 73 01 15 F9")), Closed(1)]
    );
    assert!(!mux.is_open(1));
    assert_eq!(
        mux.receive(&client_disc(1)),
        [Reply(hex("F9 07 1F 01 F4 F9"))]
    );
    // Data on the closed DLCI: DM (F = P = 0) and a trace line.
    let events = mux.receive(&client_uih(1, b"AT\r"));
    assert_eq!(events[0], Reply(hex("F9 07 0F 01 E1 F9")));
    assert!(matches!(&events[1], Dropped(why) if why.contains("DLCI 1, which is not open")));
}

#[test]
fn disc_on_dlci_0_closes_everything_and_ends() {
    let mut mux = opened(&[1, 3]);
    let mut wire = client_disc(0);
    wire.extend_from_slice(b"AT\r");
    assert_eq!(
        mux.receive(&wire),
        [Reply(hex("F9 03 73 01 D7 F9")), Closed(1), Closed(3), Ended]
    );
    assert!(!mux.is_started() && !mux.is_open(1));
    assert_eq!(mux.take_unprocessed(), b"AT\r");
    assert_eq!(mux.buffered(), 0);
}

#[test]
fn cld_is_answered_then_ends() {
    let mut mux = opened(&[2]);
    let cld = client_cld();
    assert_eq!(cld, hex("F9 03 EF 05 C3 01 F2 F9"));
    assert_eq!(
        mux.receive(&cld),
        [Reply(hex("F9 01 EF 05 C1 01 93 F9")), Closed(2), Ended]
    );
    assert!(!mux.is_started());
    // Afterwards, a new SABM on DLCI 0 would start again; DISC on DLCI 0 gets DM.
    assert_eq!(
        mux.receive(&client_disc(0)),
        [Reply(hex("F9 03 1F 01 36 F9"))]
    );
}

#[test]
fn test_fcon_fcoff_and_unknown_commands() {
    let mut mux = opened(&[]);
    assert_eq!(
        mux.receive(&client_test(b"ping")),
        [Reply(hex("F9 01 EF 0D 21 09 70 69 6E 67 9D F9"))]
    );
    assert_eq!(
        mux.receive(&client_control(Command::FcOff, &[])),
        [Reply(hex("F9 01 EF 05 61 01 93 F9"))]
    );
    assert!(mux.dte_flow_stopped());
    let events = mux.receive(&client_control(Command::FcOn, &[]));
    assert!(matches!(&events[..], [Reply(_)]));
    assert!(!mux.dte_flow_stopped());
    // RPN is not supported: NSC echoing the type octet.
    let events = mux.receive(&client_control(Command::Rpn, &[0x07]));
    assert_eq!(events[0], Reply(hex("F9 01 EF 07 11 03 93 70 F9")));
    assert!(matches!(&events[1], Dropped(why) if why.contains("0x93")));
    let events = mux.receive(&client_control(Command::Unknown(0xFF), &[]));
    let [Reply(wire), Dropped(_)] = &events[..] else {
        panic!("{events:?}")
    };
    let frame = &Deframer::new(TELIT_N1).frames(wire)[0];
    let nsc = control::messages(&frame.info)[0];
    assert_eq!((nsc.command, nsc.value), (Command::Nsc, &[0xFF][..]));
}

#[test]
fn several_control_messages_in_one_frame_are_all_answered() {
    let mut mux = opened(&[1]);
    let mut info = control::encode(Command::Test, true, b"a");
    info.extend(control::encode(
        Command::Msc,
        true,
        &control::msc_value(1, dsr_cts()),
    ));
    let events = mux.receive(&encode_frame(0, true, Kind::Uih, false, &info));
    let [Reply(wire), MuxEvent::Signals(1, _)] = &events[..] else {
        panic!("{events:?}")
    };
    assert_eq!(Deframer::new(TELIT_N1).frames(wire).len(), 2);
}

#[test]
fn a_bad_fcs_is_dropped_and_the_next_frame_still_arrives() {
    let mut mux = opened(&[1]);
    let mut bad = client_uih(1, b"AT\r");
    let fcs_at = bad.len() - 2;
    bad[fcs_at] ^= 0x40;
    let mut wire = bad;
    wire.extend(client_uih(1, b"ATI\r"));
    let events = mux.receive(&wire);
    assert!(
        matches!(&events[0], Dropped(why) if why.contains("bad FCS")),
        "{events:?}"
    );
    assert_eq!(events[1..], [Data(1, b"ATI\r".to_vec())]);
    // The FCS of a UI frame covers its information: a damaged payload is caught.
    let mut ui = encode_frame(1, true, Kind::Ui, false, b"AT\r");
    ui[5] ^= 0x01;
    assert!(matches!(&mux.receive(&ui)[..], [Dropped(why)] if why.contains("bad FCS")));
}

#[test]
fn an_unknown_dlci_gets_dm() {
    let mut mux = opened(&[1]);
    let events = mux.receive(&client_uih(5, b"AT\r"));
    assert_eq!(events[0], Reply(hex("F9 17 0F 01 6B F9")));
    assert!(matches!(&events[1], Dropped(why) if why.contains("DLCI 5")));
}

#[test]
fn garbage_and_repeated_flags_between_frames_are_skipped() {
    let mut mux = opened(&[1]);
    let mut wire = b"\r\nnoise".to_vec();
    wire.extend([FLAG; 5]);
    wire.extend(client_uih(1, b"A"));
    wire.extend([FLAG; 3]);
    wire.extend(client_uih(1, b"T"));
    let events = mux.receive(&wire);
    // The last frame's closing flag could open another: "\r\n" passes for a header, then the
    // deframer resyncs on the next flag.
    assert!(matches!(&events[0], Dropped(_)), "{events:?}");
    assert_eq!(events[1..], [Data(1, b"AT".to_vec())]);
}

#[test]
fn ua_dm_and_error_recovery_frames_from_the_dte_are_ignored() {
    let mut mux = opened(&[1]);
    for kind in [Kind::Ua, Kind::Dm, Kind::Other(0x01)] {
        let events = mux.receive(&encode_frame(1, false, kind, true, &[]));
        assert!(matches!(&events[..], [Dropped(_)]), "{kind:?}: {events:?}");
    }
    assert!(mux.is_open(1));
}

#[test]
fn strict_cr_drops_frames_marked_as_responses() {
    let mut mux = opened(&[1]);
    let wrong = encode_frame(1, false, Kind::Uih, false, b"AT\r");
    assert_eq!(mux.receive(&wrong), [Data(1, b"AT\r".to_vec())]);
    mux.set_strict_cr(true);
    assert!(matches!(&mux.receive(&wrong)[..], [Dropped(why)] if why.contains("C/R")));
    assert_eq!(
        mux.receive(&client_uih(1, b"AT\r")),
        [Data(1, b"AT\r".to_vec())]
    );
}

/// Replies concatenated, data concatenated per run of one DLCI, other events in order.
type Streams = (Vec<u8>, Vec<(u8, Vec<u8>)>, Vec<MuxEvent>);

/// Splits events into comparable streams, whatever the chunking merged.
fn normalise(events: &[MuxEvent]) -> Streams {
    let mut replies = Vec::new();
    let mut data: Vec<(u8, Vec<u8>)> = Vec::new();
    let mut others = Vec::new();
    for event in events {
        match event {
            Reply(bytes) => replies.extend_from_slice(bytes),
            Data(d, bytes) => match data.last_mut() {
                Some((last, previous)) if last == d => previous.extend_from_slice(bytes),
                _ => data.push((*d, bytes.clone())),
            },
            other => others.push(other.clone()),
        }
    }
    (replies, data, others)
}

fn session() -> Vec<u8> {
    let mut wire = client_sabm(0);
    wire.extend(client_sabm(1));
    wire.extend(client_msc(1, dsr_cts()));
    wire.extend(client_uih(1, &[b'x'; 300]));
    wire.extend(client_sabm(2));
    wire.extend(client_test(b"keepalive"));
    wire.extend(client_uih(2, b"AT+CREG?\r"));
    wire.extend(client_disc(2));
    wire.extend(client_cld());
    wire
}

#[test]
fn one_byte_at_a_time_gives_the_same_result() {
    let whole = telit().receive(&session());
    assert_eq!(whole.last(), Some(&Ended));
    let mut mux = telit();
    let mut pieces = Vec::new();
    for &byte in &session() {
        pieces.extend(mux.receive(&[byte]));
        assert!(mux.buffered() <= TELIT_N1 + 6);
    }
    assert_eq!(normalise(&pieces), normalise(&whole));
    let (_, data, others) = normalise(&whole);
    assert_eq!(data, [(1, vec![b'x'; 300]), (2, b"AT+CREG?\r".to_vec())]);
    assert_eq!(
        others,
        [
            Started,
            Opened(1),
            MuxEvent::Signals(1, dsr_cts()),
            Opened(2),
            Closed(2),
            Closed(1),
            Ended
        ]
    );
}

#[test]
fn random_bytes_never_panic_and_state_stays_bounded() {
    use rand::{RngExt, SeedableRng, rngs::StdRng};
    let mut rng = StdRng::seed_from_u64(0x5EED_0C3C);
    let valid: Vec<Vec<u8>> = vec![
        client_sabm(0),
        client_sabm(1),
        client_sabm(3),
        client_sabm(9),
        client_disc(1),
        client_disc(0),
        client_uih(1, b"AT\r"),
        client_uih(2, &[0xF9; 40]),
        client_msc(1, dsr_cts()),
        client_cld(),
        client_test(&[0xF9, 0x01]),
        client_control(Command::Unknown(0x07), &[1, 2, 3]),
        client_pn(Params {
            dlci: 1,
            frame_type: 0,
            convergence_layer: 0,
            priority: 0,
            t1: 10,
            n1: 20,
            n2: 3,
            k: 0,
        }),
    ];
    let mut mux = telit();
    let mut events = 0usize;
    for round in 0..100_000 {
        let mut input = Vec::new();
        match rng.random_range(0..3) {
            0 => input.extend((0..rng.random_range(0..64)).map(|_| rng.random::<u8>())),
            1 => {
                for _ in 0..rng.random_range(1..5) {
                    input.extend_from_slice(&valid[rng.random_range(0..valid.len())]);
                }
            }
            _ => {
                for _ in 0..rng.random_range(1..5) {
                    let mut frame = valid[rng.random_range(0..valid.len())].clone();
                    let at = rng.random_range(0..frame.len());
                    match rng.random_range(0..4) {
                        0 => frame[at] ^= 1 << rng.random_range(0..8),
                        1 => frame.truncate(at),
                        2 => frame.insert(at, rng.random::<u8>()),
                        _ => frame[at] = FLAG,
                    }
                    input.extend(frame);
                }
            }
        }
        for chunk in input.chunks(rng.random_range(1..80)) {
            let out = mux.receive(chunk);
            events += out.len();
            if out.contains(&Ended) {
                mux.take_unprocessed();
            }
            assert!(mux.buffered() <= TELIT_N1 + 6, "round {round}");
            for event in &out {
                if let Data(d, _) | Opened(d) | MuxEvent::Signals(d, _) = event {
                    assert!((1..=3).contains(d), "round {round}: {event:?}");
                }
            }
        }
        if round % 1000 == 0 {
            mux = telit();
        }
    }
    assert!(events > 100_000);
}
