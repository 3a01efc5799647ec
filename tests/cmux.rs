//! A CMUX client on the real PTY of a Telit: `AT+CMUX=0`, SABM on DLCI 0-3, AT commands on
//! each channel as UIH frames, MSC, then DISC on DLCI 0 back to plain AT. Exact bytes.

mod support;

use std::io::Read;
use std::time::Instant;

use simodem::cmux::{
    Deframer, Frame, Kind, Signals, TELIT_N1, client_disc, client_msc, client_sabm, client_uih,
    control, payload_on,
};
use simodem::network::ModemSpec;
use support::{Port, TIMEOUT, World};

/// Reads frames from the port until `done` holds for what arrived so far.
fn read_frames(
    port: &mut Port,
    deframer: &mut Deframer,
    done: impl Fn(&[Frame]) -> bool,
) -> Vec<Frame> {
    let deadline = Instant::now() + TIMEOUT;
    let mut frames = Vec::new();
    let mut buf = [0u8; 4096];
    while !done(&frames) {
        assert!(
            Instant::now() < deadline,
            "timed out; frames so far: {frames:?}"
        );
        match port.file.read(&mut buf) {
            Ok(n) if n > 0 => frames.extend(deframer.frames(&buf[..n])),
            _ => {}
        }
    }
    frames
}

fn telit(dir: &std::path::Path) -> World {
    World::start(
        dir,
        vec![ModemSpec {
            model: Some("telit".into()),
            ..ModemSpec::default()
        }],
        None,
    )
}

#[test]
fn a_cmux_client_runs_three_instances_over_one_pty_and_returns_to_at() {
    let dir = support::scratch("cmux", "three");
    let world = telit(&dir);
    let mut port = world.port(0);
    port.exchange(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    port.exchange(b"AT+CMUX=0\r", b"\r\nOK\r\n");
    let mut deframer = Deframer::new(TELIT_N1);
    port.send(&client_sabm(0));
    let ua = read_frames(&mut port, &mut deframer, |f| !f.is_empty());
    assert_eq!(ua[0].encode(), b"\xf9\x03\x73\x01\xd7\xf9", "UA on DLCI 0");
    for dlci in 1..=3 {
        port.send(&client_sabm(dlci));
        let opened = read_frames(&mut port, &mut deframer, |f| f.len() >= 2);
        assert_eq!((opened[0].dlci, opened[0].kind), (dlci, Kind::Ua));
        let (msc_dlci, signals) = control::messages(&opened[1].info)
            .first()
            .and_then(|m| m.msc())
            .expect("the module's MSC");
        assert_eq!(msc_dlci, dlci);
        assert!(signals.rtc && signals.rtr && !signals.dcd);
    }
    // DLCI 1 is instance 1 with the settings it had on the plain port (E0).
    for (dlci, command, answer) in [
        (1u8, &b"AT+CGMM\r"[..], &b"\r\nGE865\r\n\r\nOK\r\n"[..]),
        (2, b"AT+CGMI\r", b"AT+CGMI\r\r\nTelit\r\n\r\nOK\r\n"),
        (
            3,
            b"AT#SELINT?\r",
            b"AT#SELINT?\r\r\n#SELINT: 2\r\n\r\nOK\r\n",
        ),
    ] {
        port.send(&client_uih(dlci, command));
        let got = read_frames(&mut port, &mut deframer, |f| {
            payload_on(f, dlci).len() >= answer.len()
        });
        assert_eq!(
            String::from_utf8_lossy(&payload_on(&got, dlci)),
            String::from_utf8_lossy(answer)
        );
    }
    // MSC with DTR down on DLCI 2: answered on DLCI 0, nothing on the channel.
    port.send(&client_msc(
        2,
        Signals {
            rtr: true,
            ..Signals::default()
        },
    ));
    let msc = read_frames(&mut port, &mut deframer, |f| !f.is_empty());
    assert_eq!((msc[0].dlci, msc[0].kind), (0, Kind::Uih));
    port.send(&client_disc(0));
    let closed = read_frames(&mut port, &mut deframer, |f| !f.is_empty());
    assert_eq!((closed[0].dlci, closed[0].kind), (0, Kind::Ua));
    port.exchange(b"AT\r", b"\r\nOK\r\n");
    world.stop();
}
