//! `+CMUX` on the Telit: 27.010 frames on the physical port, DLCI 1..3 as AT instances 1..3,
//! MSC as DTR and break, and the way back to plain AT.

use super::*;
use crate::cmux::{Deframer, Frame, Kind, Signals, TELIT_N1};
use crate::cmux::{client_disc, client_msc, client_sabm, client_uih, payload_on};

/// A Telit whose port runs the multiplexer with DLCI 1..3 open; the frames so far are read.
fn muxed() -> (Harness, Deframer) {
    let mut h = Harness::telit();
    assert_eq!(h.send(b"AT+CMUX=0\r"), b"AT+CMUX=0\r\r\nOK\r\n");
    let mut frames = Deframer::new(TELIT_N1);
    let ua0 = frames.frames(&h.send(&client_sabm(0)));
    assert_eq!(kinds(&ua0), vec![(0, Kind::Ua)]);
    for dlci in 1..=3 {
        let opened = frames.frames(&h.send(&client_sabm(dlci)));
        assert_eq!(
            kinds(&opened),
            vec![(dlci, Kind::Ua), (0, Kind::Uih)],
            "UA, then the module's MSC for the new channel"
        );
    }
    (h, frames)
}

fn kinds(frames: &[Frame]) -> Vec<(u8, Kind)> {
    frames.iter().map(|f| (f.dlci, f.kind)).collect()
}

#[test]
fn each_dlci_is_an_at_instance_with_its_own_settings() {
    let (mut h, mut frames) = muxed();
    let out = frames.frames(&h.send(&client_uih(2, b"ATE0\r")));
    assert_eq!(payload_on(&out, 2), b"ATE0\r\r\nOK\r\n");
    let out = frames.frames(&h.send(&client_uih(2, b"AT+CGMI\r")));
    assert_eq!(payload_on(&out, 2), b"\r\nTelit\r\n\r\nOK\r\n");
    let out = frames.frames(&h.send(&client_uih(1, b"AT\r")));
    assert_eq!(payload_on(&out, 1), b"AT\r\r\nOK\r\n", "DLCI 1 keeps E1");
    let out = frames.frames(&h.send(&client_uih(3, b"AT#SELINT?\r")));
    assert_eq!(kinds(&out), vec![(3, Kind::Uih)]);
    assert_eq!(
        payload_on(&out, 3),
        b"AT#SELINT?\r\r\n#SELINT: 2\r\n\r\nOK\r\n"
    );
}

#[test]
fn a_long_answer_is_split_at_n1() {
    let (mut h, mut frames) = muxed();
    let out = frames.frames(&h.send(&client_uih(1, b"AT+CLAC\r")));
    assert!(out.len() > 1, "more than N1 bytes need several frames");
    assert!(out.iter().all(|f| f.info.len() <= TELIT_N1));
    let text = String::from_utf8(payload_on(&out, 1)).expect("text");
    assert!(text.starts_with("AT+CLAC\r\r\nAT&C\r\n"), "{text}");
    assert!(text.ends_with("\r\nOK\r\n"), "{text}");
}

#[test]
fn a_line_split_across_frames_is_one_line() {
    let (mut h, mut frames) = muxed();
    let mut out = frames.frames(&h.send(&client_uih(2, b"AT+CG")));
    out.extend(frames.frames(&h.send(&client_uih(2, b"MM\r"))));
    assert_eq!(payload_on(&out, 2), b"AT+CGMM\r\r\nGE865\r\n\r\nOK\r\n");
}

#[test]
fn a_frame_cut_between_two_reads_is_one_frame() {
    let (mut h, mut frames) = muxed();
    let frame = client_uih(2, b"AT+CGMI\r");
    // Every place a read can end inside the frame, from just after its opening flag to just
    // before its closing one; the first part alone is no frame and gets no answer.
    for cut in 1..frame.len() {
        let first = h.send(&frame[..cut]);
        assert!(first.is_empty(), "cut at {cut}: {first:?}");
        let out = frames.frames(&h.send(&frame[cut..]));
        assert_eq!(
            String::from_utf8_lossy(&payload_on(&out, 2)),
            "AT+CGMI\r\r\nTelit\r\n\r\nOK\r\n",
            "cut at {cut}"
        );
    }
}

#[test]
fn disc_on_dlci_0_returns_the_port_to_plain_at() {
    let (mut h, mut frames) = muxed();
    let out = frames.frames(&h.send(&client_disc(0)));
    assert_eq!(kinds(&out), vec![(0, Kind::Ua)]);
    assert_eq!(h.send(b"AT\r"), b"AT\r\r\nOK\r\n");
}

#[test]
fn plain_at_right_behind_the_disc_is_answered_plainly() {
    let (mut h, _) = muxed();
    let mut bytes = client_disc(0);
    bytes.extend_from_slice(b"AT\r");
    let out = h.send(&bytes);
    assert!(out.ends_with(b"AT\r\r\nOK\r\n"), "{out:?}");
}

#[test]
fn without_sabm_within_five_seconds_the_port_is_at_again() {
    let mut h = Harness::telit();
    assert_eq!(h.send(b"AT+CMUX=0\r"), b"AT+CMUX=0\r\r\nOK\r\n");
    h.advance(4999);
    assert_eq!(h.send(b"AT\r"), b"", "still waiting for frames");
    h.advance(1);
    assert_eq!(h.send(b"AT\r"), b"AT\r\r\nOK\r\n");
}

#[test]
fn bad_frames_are_dropped_and_the_channels_keep_working() {
    let (mut h, mut frames) = muxed();
    let mut bad = client_uih(1, b"AT\r");
    let fcs = bad.len() - 2;
    bad[fcs] ^= 0xff;
    assert_eq!(h.send(&bad), b"", "bad FCS: dropped silently");
    assert_eq!(h.send(b"\x00garbage\xf9\xf9\xf9"), b"");
    let out = frames.frames(&h.send(&client_uih(9, b"AT\r")));
    assert_eq!(kinds(&out), vec![(9, Kind::Dm)], "unknown DLCI: DM");
    let out = frames.frames(&h.send(&client_uih(1, b"AT\r")));
    assert_eq!(payload_on(&out, 1), b"AT\r\r\nOK\r\n");
}

#[test]
fn cmux_is_refused_off_instance_one_and_for_other_modes() {
    let mut h = Harness::telit();
    h.open_instance(2);
    assert_eq!(h.send_on(2, b"AT+CMUX=0\r"), b"AT+CMUX=0\r\r\nERROR\r\n");
    assert_eq!(h.send(b"AT+CMUX=1\r"), b"AT+CMUX=1\r\r\nERROR\r\n");
    assert_eq!(
        h.send(b"AT+CMUX?\r"),
        b"AT+CMUX?\r\r\n+CMUX: 0,0\r\n\r\nOK\r\n"
    );
    assert_eq!(h.send(b"AT\r"), b"AT\r\r\nOK\r\n");
}

#[test]
fn an_open_dlci_owns_its_instance_and_the_own_port_is_ignored() {
    let (mut h, _) = muxed();
    h.open_instance(2);
    h.send_on(2, b"AT\r");
    assert_eq!(h.take_instance(2), b"");
}

#[test]
fn selint_cannot_change_under_cmux() {
    let (mut h, mut frames) = muxed();
    let out = frames.frames(&h.send(&client_uih(1, b"AT#SELINT=2\r")));
    assert_eq!(payload_on(&out, 1), b"AT#SELINT=2\r\r\nERROR\r\n");
}

#[test]
fn msc_dtr_drop_under_d2_is_a_dtr_drop_for_that_instance_only() {
    let (mut h, mut frames) = muxed();
    let dtr_down = Signals {
        rtc: false,
        rtr: true,
        ..Signals::default()
    };
    let out = frames.frames(&h.send(&client_msc(2, dtr_down)));
    assert_eq!(kinds(&out), vec![(0, Kind::Uih)], "the MSC response");
    assert!(!h.modem.on_instance(2, |m| m.dtr));
    assert!(h.modem.on_instance(1, |m| m.dtr));
}

#[test]
fn under_cmux_plus_is_data_and_an_msc_break_leaves_online_mode() {
    let (mut h, mut frames) = muxed();
    let out = frames.frames(&h.send(&client_uih(1, b"AT#SGACT=1,1\r")));
    assert_eq!(
        payload_on(&out, 1),
        b"AT#SGACT=1,1\r\r\n#SGACT: 10.64.0.2\r\n\r\nOK\r\n"
    );
    h.send(&client_uih(1, b"AT#SD=1,0,5000,\"127.0.0.1\"\r"));
    let (socket, connected) = h.connect_last();
    let out = frames.frames(&connected);
    assert!(payload_on(&out, 1).ends_with(b"\r\nCONNECT\r\n"));
    h.advance(2000);
    h.send(&client_uih(1, b"+++"));
    h.advance(6000); // past the guard time, and txTo (5 s) sends the partial packet
    let sent: Vec<u8> = h
        .socket_requests
        .iter()
        .filter_map(|r| match r {
            Output::Socket(id, SocketCommand::Send(bytes)) if *id == socket => Some(bytes.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(
        sent, b"+++",
        "no escape under CMUX: the guarded +++ is data"
    );
    let brk = Signals {
        rtc: true,
        rtr: true,
        break_signal: true,
        ..Signals::default()
    };
    let out = frames.frames(&h.send(&client_msc(1, brk)));
    assert_eq!(
        payload_on(&out, 1),
        b"\r\nOK\r\n",
        "MSC break: command mode"
    );
    let out = frames.frames(&h.send(&client_uih(1, b"AT#SS=1\r")));
    assert_eq!(
        payload_on(&out, 1),
        b"AT#SS=1\r\r\n#SS: 1,2,10.64.0.2,40000,127.0.0.1,5000\r\n\r\nOK\r\n"
    );
}

/// The signals of the module's MSC commands among `frames`, per DLCI.
fn modem_signals(frames: &[Frame]) -> Vec<(u8, Signals)> {
    frames
        .iter()
        .filter(|f| f.dlci == 0 && f.kind == Kind::Uih)
        .flat_map(|f| crate::cmux::control::messages(&f.info))
        .filter_map(|m| m.msc())
        .collect()
}

#[test]
fn the_module_signals_ri_on_ring_and_dcd_with_the_carrier() {
    let (mut h, mut frames) = muxed();
    let out = frames.frames(&h.apply(Input::Ring("+15550001234".into())));
    let ring = Signals {
        rtc: true,
        rtr: true,
        ring: true,
        ..Signals::default()
    };
    let idle = Signals {
        ring: false,
        ..ring
    };
    assert_eq!(
        modem_signals(&out),
        vec![(1, ring), (1, idle)],
        "an RI pulse"
    );
    assert_eq!(payload_on(&out, 1), b"\r\nRING\r\n");
    h.apply(Input::RemoteHangUp);
    frames.frames(&h.send(&client_uih(1, b"AT#SGACT=1,1\r")));
    h.send(&client_uih(1, b"AT#SD=1,0,5000,\"127.0.0.1\"\r"));
    let (socket, connected) = h.connect_last();
    let out = frames.frames(&connected);
    let carrier = Signals { dcd: true, ..idle };
    assert_eq!(
        modem_signals(&out),
        vec![(1, carrier)],
        "DCD on with CONNECT"
    );
    let out = frames.frames(&h.apply(Input::Socket(socket, SocketEvent::Closed)));
    assert_eq!(
        modem_signals(&out),
        vec![(1, idle)],
        "DCD off with NO CARRIER"
    );
    assert_eq!(payload_on(&out, 1), b"\r\nNO CARRIER\r\n");
}
