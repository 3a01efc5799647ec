//! The control socket of an in-process world: every verb with the exact bytes the client sees
//! on the PTY, the exact JSON answers and events, and clients that misbehave.

mod support;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

use serde_json::json;
use simodem::host::StartError;
use simodem::network::ModemSpec;
use support::{Ctl, World, scratch, split_time};

fn dir(name: &str) -> std::path::PathBuf {
    scratch("control", name)
}

const ACTED: &str = r#"{"ok":true,"modem":0}"#;

#[test]
fn state_reports_identity_network_and_settings_as_json() {
    let dir = dir("state");
    let world = World::one(&dir);
    let mut ctl = world.ctl();
    ctl.wait_registered(0);
    let line = ctl.request(r#"{"verb":"state"}"#);
    assert!(
        line.starts_with(r#"{"ok":true,"modem":0,"state":{"model":"sim900","mode":"command","#),
        "{line}"
    );
    let response: serde_json::Value = serde_json::from_str(&line).expect("JSON");
    let state = &response["state"];
    assert_eq!(
        state["identity"],
        json!({"number": "+15550000001", "imei": "490154203237518",
               "imsi": "001010123456789", "iccid": "89010100000123456789"})
    );
    assert_eq!(
        state["network"],
        json!({"service": "home", "operator": "simodem", "operator_code": "00101",
               "csq": 20, "ber": 0, "lac": "1A2B", "cell_id": "0C3D"})
    );
    assert_eq!(
        state["registration"],
        json!({"creg": 1, "cgreg": 1, "gprs_attached": true, "cops_mode": 0})
    );
    assert_eq!(state["sim"], "READY");
    assert_eq!(state["client_attached"], false);
    assert_eq!(state["dtr"], true);
    assert_eq!(state["call"], serde_json::Value::Null);
    assert_eq!(state["settings"]["echo"], true);
    world.stop();
}

#[test]
fn modems_lists_every_modem_with_its_ports() {
    let dir = dir("modems");
    let unix = dir.join("at.sock");
    let world = World::start(
        &dir,
        vec![
            ModemSpec::default(),
            ModemSpec {
                model: Some("telit".into()),
                no_pty: true,
                tcp: Some("127.0.0.1:0".into()),
                unix: Some(unix.clone()),
                number: Some("+393470000001".into()),
                ..ModemSpec::default()
            },
        ],
        None,
    );
    let info = &world.running().modems;
    let pts = info[0].pts.as_ref().expect("pts").display().to_string();
    let tcp = info[1].tcp.expect("tcp").to_string();
    let mut ctl = world.ctl();
    assert_eq!(
        ctl.request(r#"{"verb":"modems"}"#),
        format!(
            r#"{{"ok":true,"modems":[{{"index":0,"model":"sim900","number":"+15550000001","imei":"490154203237518","link":"{}","pts":"{pts}","tcp":null,"unix":null}},{{"index":1,"model":"telit","number":"+393470000001","imei":"490154203237526","link":null,"pts":null,"tcp":"{tcp}","unix":"{}"}}]}}"#,
            dir.join("tty0").display(),
            unix.display()
        )
    );
    world.stop();
}

#[test]
fn dtr_drop_under_d2_hangs_up_an_answered_call() {
    let dir = dir("dtr");
    let world = World::one(&dir);
    let mut ctl = world.ctl();
    let mut port = world.port(0);
    port.exchange(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    port.exchange(b"AT&D2\r", b"\r\nOK\r\n");
    ctl.wait_registered(0);
    assert_eq!(
        ctl.request(r#"{"verb":"ring","from":"+393460000001"}"#),
        ACTED
    );
    port.expect(b"\r\nRING\r\n");
    port.exchange(b"ATA\r", b"\r\nOK\r\n");
    assert_eq!(ctl.request(r#"{"verb":"dtr","state":"down"}"#), ACTED);
    port.expect(b"\r\nNO CARRIER\r\n");
    assert_eq!(ctl.request(r#"{"verb":"dtr","state":"up"}"#), ACTED);
    port.exchange(b"AT+CPAS\r", b"\r\n+CPAS: 0\r\n\r\nOK\r\n");
    world.stop();
}

#[test]
fn ring_shows_ring_and_clip_and_hangup_ends_the_call() {
    let dir = dir("ring");
    let world = World::one(&dir);
    let mut ctl = world.ctl();
    let mut port = world.port(0);
    port.exchange(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    port.exchange(b"AT+CLIP=1\r", b"\r\nOK\r\n");
    ctl.wait_registered(0);
    assert_eq!(
        ctl.request(r#"{"verb":"ring","from":"+393460000001"}"#),
        ACTED
    );
    port.expect(b"\r\nRING\r\n\r\n+CLIP: \"+393460000001\",145,\"\",0,\"\",0\r\n");
    port.exchange(b"ATA\r", b"\r\nOK\r\n");
    assert_eq!(
        ctl.request_json(r#"{"verb":"state"}"#)["state"]["call"],
        json!({"from": "+393460000001", "state": "active", "rings": 1})
    );
    assert_eq!(ctl.request(r#"{"verb":"hangup"}"#), ACTED);
    port.expect(b"\r\nNO CARRIER\r\n");
    port.exchange(b"AT+CLCC\r", b"\r\nOK\r\n");
    world.stop();
}

#[test]
fn network_changes_raise_the_creg_urcs_the_client_asked_for() {
    let dir = dir("network");
    let world = World::one(&dir);
    let mut ctl = world.ctl();
    let mut port = world.port(0);
    port.exchange(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    ctl.wait_registered(0);
    port.exchange(b"AT+CREG=1\r", b"\r\nOK\r\n");
    assert_eq!(
        ctl.request(r#"{"verb":"network","service":"searching"}"#),
        ACTED
    );
    port.expect(b"\r\n+CREG: 2\r\n");
    assert_eq!(
        ctl.request(r#"{"verb":"network","service":"roaming","operator":"vodafone IT","csq":7}"#),
        ACTED
    );
    port.expect(b"\r\n+CREG: 5\r\n");
    port.exchange(b"AT+CSQ\r", b"\r\n+CSQ: 7,0\r\n\r\nOK\r\n");
    port.exchange(
        b"AT+COPS?\r",
        b"\r\n+COPS: 0,0,\"vodafone IT\"\r\n\r\nOK\r\n",
    );
    world.stop();
}

#[test]
fn sim_remove_and_insert_are_announced() {
    let dir = dir("sim");
    let world = World::one(&dir);
    let mut ctl = world.ctl();
    let mut port = world.port(0);
    port.exchange(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    ctl.wait_registered(0);
    port.exchange(b"AT+CREG=1\r", b"\r\nOK\r\n");
    assert_eq!(ctl.request(r#"{"verb":"sim","action":"remove"}"#), ACTED);
    port.expect(b"\r\n+CPIN: NOT READY\r\n\r\n+CREG: 0\r\n");
    port.exchange(b"AT+CPIN?\r", b"\r\nERROR\r\n");
    assert_eq!(ctl.request(r#"{"verb":"sim","action":"insert"}"#), ACTED);
    port.expect(b"\r\n+CPIN: READY\r\n\r\n+CREG: 2\r\n\r\n+CREG: 1\r\n");
    port.exchange(b"AT+CPIN?\r", b"\r\n+CPIN: READY\r\n\r\nOK\r\n");
    world.stop();
}

#[test]
fn reboot_brings_back_the_power_on_settings() {
    let dir = dir("reboot");
    let world = World::one(&dir);
    let mut ctl = world.ctl();
    let mut port = world.port(0);
    port.exchange(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    port.exchange(b"AT\r", b"\r\nOK\r\n");
    assert_eq!(ctl.request(r#"{"verb":"reboot"}"#), ACTED);
    // Factory settings again: auto-baud until "AT", and echo on.
    port.exchange(b"AT\r", b"AT\r\r\nOK\r\n");
    world.stop();
}

#[test]
fn urc_is_framed_like_any_unsolicited_line() {
    let dir = dir("urc");
    let world = World::one(&dir);
    let mut ctl = world.ctl();
    let mut port = world.port(0);
    port.exchange(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    assert_eq!(
        ctl.request(r#"{"verb":"urc","text":"+CMTI: \"SM\",1"}"#),
        ACTED
    );
    port.expect(b"\r\n+CMTI: \"SM\",1\r\n");
    port.exchange(b"ATV0\r", b"0\r");
    assert_eq!(ctl.request(r#"{"verb":"urc","text":"+CUSD: 0"}"#), ACTED);
    port.expect(b"+CUSD: 0\r\n");
    world.stop();
}

#[test]
fn events_stream_the_exchange_as_json_lines() {
    let dir = dir("events");
    let world = World::one(&dir);
    let mut events = world.ctl();
    assert_eq!(
        events.request(r#"{"verb":"events"}"#),
        r#"{"ok":true,"events":"subscribed"}"#
    );
    let mut port = world.port(0);
    port.exchange(b"AT\r", b"AT\r\r\nOK\r\n");
    port.exchange(b"\xff\r", b"\xff\r");
    world.ctl().request(r#"{"verb":"urc","text":"hi"}"#);
    port.expect(b"\r\nhi\r\n");

    let mut seen = Vec::new();
    while seen.len() < 7 {
        let line = events.read_line();
        let (at, rest) = split_time(&line);
        // Only what crossed the port and the control request; reasons are for people.
        if rest.contains(r#""kind":"why""#) || rest.contains(r#""kind":"mode""#) {
            continue;
        }
        assert_eq!(line, format!(r#"{{"at_us":{at},{}"#, &rest[1..]));
        seen.push(rest);
    }
    assert_eq!(
        seen,
        [
            r#"{"modem":0,"kind":"port","state":"opened"}"#,
            r#"{"modem":0,"kind":"dte_in","data":"AT\r"}"#,
            r#"{"modem":0,"kind":"dte_out","data":"AT\r\r\nOK\r\n"}"#,
            r#"{"modem":0,"kind":"dte_in","hex":"ff0d"}"#,
            r#"{"modem":0,"kind":"dte_out","hex":"ff0d"}"#,
            r#"{"modem":0,"kind":"ctl","request":{"verb":"urc","text":"hi"}}"#,
            r#"{"modem":0,"kind":"dte_out","data":"\r\nhi\r\n"}"#,
        ]
    );
    world.stop();
}

#[test]
fn bad_requests_get_the_reason_and_the_connection_still_answers() {
    let dir = dir("bad");
    let world = World::one(&dir);
    let mut ctl = world.ctl();
    let cases = [
        (
            "{",
            r#"{"ok":false,"error":"bad JSON: EOF while parsing an object at line 1 column 1"}"#
                .to_string(),
        ),
        (
            r#"{"verb":"fly"}"#,
            r#"{"ok":false,"error":"unknown verb \"fly\"; verbs: modems, state, events, dtr, ring, hangup, network, sim, reboot, urc, sms_deliver, sms_sent"}"#
                .to_string(),
        ),
        (
            r#"{"verb":"state","modem":"7"}"#,
            format!(
                r#"{{"ok":false,"error":"no modem \"7\"; modems: 0 +15550000001 {}"}}"#,
                dir.join("tty0").display()
            ),
        ),
        (
            r#"{"verb":"network","csq":32}"#,
            r#"{"ok":false,"error":"csq must be 0-31 or 99, not 32"}"#.to_string(),
        ),
        (
            r#"{"verb":"dtr","state":"sideways"}"#,
            r#"{"ok":false,"error":"dtr state must be up or down, not \"sideways\""}"#
                .to_string(),
        ),
        (
            "\u{0}\u{1}garbage",
            r#"{"ok":false,"error":"bad JSON: expected value at line 1 column 1"}"#.to_string(),
        ),
    ];
    for (request, expected) in cases {
        assert_eq!(ctl.request(request), expected, "{request}");
    }
    ctl.writer.write_all(b"\xff\xfe\n").expect("send");
    assert_eq!(
        ctl.read_line(),
        r#"{"ok":false,"error":"bad JSON: the request is not UTF-8"}"#
    );
    // Blank lines are skipped, CRLF is accepted.
    ctl.writer
        .write_all(b"\n  \n{\"verb\":\"reboot\"}\r\n")
        .expect("send");
    assert_eq!(ctl.read_line(), ACTED);
    assert_eq!(ctl.request_json(r#"{"verb":"state"}"#)["ok"], true);
    world.stop();
}

#[test]
fn a_10_mb_line_is_refused_and_the_modem_does_not_notice() {
    let dir = dir("huge");
    let world = World::one(&dir);
    let mut port = world.port(0);
    port.exchange(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    let mut ctl = world.ctl();
    let mut writer = ctl.writer.try_clone().expect("clone");
    let flood = std::thread::spawn(move || {
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..10 {
            // The emulator hangs up after 64 KiB: the write fails then, as it should.
            if writer.write_all(&chunk).is_err() {
                return;
            }
        }
    });
    assert_eq!(
        ctl.read_line(),
        r#"{"ok":false,"error":"request line longer than 65536 bytes"}"#
    );
    let mut rest = Vec::new();
    // End of stream (or a reset, since the rest of the 10 MB was never read): closed either way.
    let _ = ctl.reader.read_to_end(&mut rest);
    assert_eq!(rest, b"");
    flood.join().expect("flood thread");
    port.exchange(b"AT\r", b"\r\nOK\r\n");
    assert_eq!(world.ctl().request(r#"{"verb":"reboot"}"#), ACTED);
    world.stop();
}

#[test]
fn clients_leaving_mid_line_mid_request_or_mid_stream_do_not_disturb_the_modem() {
    let dir = dir("leave");
    let world = World::one(&dir);
    let mut port = world.port(0);
    port.exchange(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    {
        let mut half = UnixStream::connect(&world.control).expect("connect");
        half.write_all(br#"{"verb":"sta"#).expect("half a line");
    }
    {
        let mut gone = UnixStream::connect(&world.control).expect("connect");
        gone.write_all(b"{\"verb\":\"urc\",\"text\":\"still here\"}\n{\"verb\":\"state\"}\n")
            .expect("requests");
    }
    port.expect(b"\r\nstill here\r\n");
    {
        let mut stream = world.ctl();
        stream.request(r#"{"verb":"events"}"#);
    }
    {
        // A subscriber that never reads and then leaves.
        let mut idle = UnixStream::connect(&world.control).expect("connect");
        idle.write_all(b"{\"verb\":\"events\"}\n")
            .expect("subscribe");
    }
    for _ in 0..20 {
        port.exchange(b"AT\r", b"\r\nOK\r\n");
    }
    assert_eq!(world.ctl().request(r#"{"verb":"hangup"}"#), ACTED);
    world.stop();
}

#[test]
fn a_flood_of_requests_and_many_clients_are_all_answered() {
    let dir = dir("flood");
    let world = World::one(&dir);
    let mut port = world.port(0);
    port.exchange(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    // One client writes 5,000 requests without reading a single answer first.
    let mut flooder = world.ctl();
    let mut writer = flooder.writer.try_clone().expect("clone");
    let requests = std::thread::spawn(move || {
        let line = "{\"verb\":\"modems\"}\n{\"verb\":\"state\"}\n".repeat(2500);
        writer.write_all(line.as_bytes()).expect("flood");
    });
    // Twenty more at the same time.
    let clients: Vec<_> = (0..20)
        .map(|_| {
            let path = world.control.clone();
            std::thread::spawn(move || {
                let mut ctl = Ctl::connect(&path);
                for _ in 0..50 {
                    assert_eq!(
                        ctl.request(r#"{"verb":"dtr","state":"up"}"#),
                        r#"{"ok":true,"modem":0}"#
                    );
                }
            })
        })
        .collect();
    for _ in 0..20 {
        port.exchange(b"AT\r", b"\r\nOK\r\n");
    }
    for client in clients {
        client.join().expect("client");
    }
    for i in 0..5000 {
        let line = flooder.read_line();
        if i % 2 == 0 {
            assert!(
                line.starts_with(r#"{"ok":true,"modems":[{"index":0,"#),
                "{line}"
            );
        } else {
            assert!(
                line.starts_with(r#"{"ok":true,"modem":0,"state":{"#),
                "{line}"
            );
        }
    }
    requests.join().expect("flooder");
    port.exchange(b"AT\r", b"\r\nOK\r\n");
    world.stop();
}

#[test]
fn a_subscriber_that_falls_behind_gets_a_lagged_line() {
    let dir = dir("lagged");
    let world = World::one(&dir);
    let mut slow = world.ctl();
    assert_eq!(
        slow.request(r#"{"verb":"events"}"#),
        r#"{"ok":true,"events":"subscribed"}"#
    );
    // Each urc is at least three events; nobody is on the port, so they are lost there.
    let mut ctl = world.ctl();
    for _ in 0..6000 {
        assert_eq!(ctl.request(r#"{"verb":"urc","text":"x"}"#), ACTED);
    }
    let mut missed = None;
    for _ in 0..20_000 {
        let line = slow.read_line();
        let value: serde_json::Value = serde_json::from_str(&line).expect("JSON");
        if value["kind"] == "lagged" {
            let n = value["missed"].as_u64().expect("missed");
            assert_eq!(line, format!(r#"{{"kind":"lagged","missed":{n}}}"#));
            missed = Some(n);
            break;
        }
    }
    assert!(missed.is_some_and(|n| n > 0), "no lagged line");
    world.stop();
}

#[test]
fn the_control_socket_is_owner_only_and_removed_at_stop() {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let dir = dir("socket");
    let world = World::one(&dir);
    let meta = std::fs::symlink_metadata(&world.control).expect("socket exists");
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let control = world.control.clone();
    let link = world.link(0);
    world.stop();
    assert!(
        std::fs::symlink_metadata(&control).is_err(),
        "socket removed"
    );
    assert!(std::fs::symlink_metadata(&link).is_err(), "link removed");
}

#[test]
fn a_stale_socket_is_replaced_a_live_one_or_a_file_refused() {
    let dir = dir("stale");
    let control = dir.join("ctl");
    // A socket file nobody listens on any more.
    drop(std::os::unix::net::UnixListener::bind(&control).expect("bind"));
    let world = World::one(&dir);
    assert_eq!(world.ctl().request(r#"{"verb":"hangup"}"#), ACTED);

    let other = dir.join("other");
    std::fs::create_dir_all(&other).expect("dir");
    match World::try_start(&other, vec![ModemSpec::default()], control.clone(), None) {
        Err(StartError::SocketInUse(path)) => assert_eq!(path, control),
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("took over a live control socket"),
    }
    assert!(
        std::fs::symlink_metadata(other.join("tty0")).is_err(),
        "the link of the world that did not start is removed"
    );
    world.stop();

    std::fs::write(&control, b"precious").expect("file");
    match World::try_start(&dir, vec![ModemSpec::default()], control.clone(), None) {
        Err(e @ StartError::NotASocket(_)) => assert_eq!(
            e.to_string(),
            format!(
                "{} exists and is not a socket; remove it or pass another path",
                control.display()
            )
        ),
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("replaced a regular file"),
    }
    assert_eq!(std::fs::read(&control).expect("file kept"), b"precious");
}
