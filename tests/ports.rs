//! The running binary through its ports: a PTY opened exactly like a client (raw termios),
//! TCP and Unix sockets, the link file, NVM across restarts, and exit codes. Exact bytes.

mod support;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use support::{Emulator, Port, TIMEOUT, read_exactly};

const BIN: &str = env!("CARGO_BIN_EXE_simodem");

fn scratch(name: &str) -> PathBuf {
    support::scratch("ports", name)
}

/// `simodem run` with `args`; its banner has one line per port, then the control socket's.
fn start(args: &[&str]) -> Emulator {
    let emu = Emulator::start(args);
    let expected = 1 + usize::from(args.contains(&"--tcp")) + usize::from(args.contains(&"--unix"))
        - usize::from(args.contains(&"--no-pty"));
    assert_eq!(emu.banner.len(), expected + 1, "{:?}", emu.banner);
    emu
}

/// Polls AT+CREG? until the modem reports it is registered (start-up takes under a second).
fn wait_registered(port: &mut Port) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        port.send(b"AT+CREG?\r");
        let got = read_exactly(&mut port.file, b"\r\n+CREG: 0,1\r\n\r\nOK\r\n".len());
        if got == b"\r\n+CREG: 0,1\r\n\r\nOK\r\n" {
            return;
        }
        assert!(Instant::now() < deadline, "never registered: {got:?}");
    }
}

#[test]
fn pty_answers_exact_bytes_with_echo() {
    let dir = scratch("echo");
    let link = dir.join("tty");
    let emu = start(&["--link", link.to_str().unwrap()]);
    assert!(emu.banner[0].starts_with("simodem: SIMCOM_SIM900 on /dev/pts/"));
    assert!(emu.banner[0].ends_with(&format!("(link {})", link.display())));
    let mut port = Port::open(&link);
    port.exchange(b"AT\r", b"AT\r\r\nOK\r\n");
    port.exchange(b"ATI\r", b"ATI\r\r\nSIM900 R11.0\r\n\r\nOK\r\n");
    port.exchange(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    port.exchange(b"AT+CGMM\r", b"\r\nSIMCOM_SIM900\r\n\r\nOK\r\n");
    port.exchange(b"AT+MODE=2\r", b"\r\nERROR\r\n");
    port.exchange(b"ATV0\r", b"0\r");
    port.exchange(b"AT+CSQ\r", b"+CSQ: 20,0\r\n0\r");
    assert!(emu.terminate().success());
    assert!(
        std::fs::symlink_metadata(&link).is_err(),
        "link removed on SIGTERM"
    );
}

#[test]
fn sigterm_right_after_the_banner_still_stops_cleanly() {
    let dir = scratch("early-term");
    let link = dir.join("tty");
    for _ in 0..5 {
        let emu = start(&["--link", link.to_str().unwrap()]);
        assert_eq!(
            emu.banner[1],
            format!("simodem: control socket {}.ctl", link.display())
        );
        assert!(emu.terminate().success());
        assert!(std::fs::symlink_metadata(&link).is_err(), "link removed");
        assert!(
            std::fs::symlink_metadata(dir.join("tty.ctl")).is_err(),
            "control socket removed"
        );
    }
}

#[test]
fn bytes_typed_one_at_a_time_are_a_line() {
    let dir = scratch("bytewise");
    let link = dir.join("tty");
    let _emu = start(&["--link", link.to_str().unwrap()]);
    let mut port = Port::open(&link);
    for &b in b"AT+CGMI\r" {
        port.send(&[b]);
    }
    port.expect(b"AT+CGMI\r\r\nSIMCOM_Ltd\r\n\r\nOK\r\n");
}

#[test]
fn reopening_the_port_keeps_settings_and_drops_the_partial_line() {
    let dir = scratch("reopen");
    let link = dir.join("tty");
    let _emu = start(&["--link", link.to_str().unwrap()]);
    let mut port = Port::open(&link);
    port.exchange(b"AT+CMEE=2\r", b"AT+CMEE=2\r\r\nOK\r\n");
    // The echo proves the modem has taken the partial line before the port closes.
    port.exchange(b"AT+CG", b"AT+CG");
    drop(port);
    let mut port = Port::open(&link);
    // If the partial line had survived, "MI\r" would complete AT+CGMI.
    port.exchange(b"MI\r", b"MI\r");
    port.exchange(b"AT+CMEE?\r", b"AT+CMEE?\r\r\n+CMEE: 2\r\n\r\nOK\r\n");
}

#[test]
fn speed_b0_is_not_a_hang_up() {
    let dir = scratch("b0");
    let link = dir.join("tty");
    let _emu = start(&["--link", link.to_str().unwrap()]);
    let mut port = Port::open(&link);
    port.set_speed(libc::B0);
    port.exchange(b"AT\r", b"AT\r\r\nOK\r\n");
    port.exchange(b"AT+CGMI\r", b"AT+CGMI\r\r\nSIMCOM_Ltd\r\n\r\nOK\r\n");
}

#[test]
fn registration_urcs_reach_the_client() {
    let dir = scratch("creg");
    let link = dir.join("tty");
    let _emu = start(&["--link", link.to_str().unwrap()]);
    let mut port = Port::open(&link);
    port.exchange(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    wait_registered(&mut port);
    port.exchange(b"AT+CREG=1;+COPS=2\r", b"\r\nOK\r\n\r\n+CREG: 0\r\n");
    port.exchange(
        b"AT+COPS=0\r",
        b"\r\nOK\r\n\r\n+CREG: 2\r\n\r\n+CREG: 1\r\n",
    );
}

#[test]
fn a_100_kb_line_without_cr_gets_error_and_the_modem_still_answers() {
    let dir = scratch("longline");
    let link = dir.join("tty");
    let _emu = start(&["--link", link.to_str().unwrap()]);
    let mut port = Port::open(&link);
    port.exchange(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    let mut line = b"AT".to_vec();
    line.extend(std::iter::repeat_n(b'7', 100_000));
    port.send(&line);
    port.exchange(b"\r", b"\r\nERROR\r\n");
    port.exchange(b"\x00\xff\xfe;;;\r", b"");
    port.exchange(b"AT\r", b"\r\nOK\r\n");
}

#[test]
fn tcp_serves_the_same_at_channel_one_client_at_a_time() {
    let dir = scratch("tcp");
    let control = dir.join("ctl");
    let emu = start(&[
        "--no-pty",
        "--tcp",
        "127.0.0.1:0",
        "--control",
        control.to_str().unwrap(),
    ]);
    let addr = emu.banner[0]
        .rsplit(' ')
        .next()
        .expect("address in banner")
        .to_string();
    assert!(emu.banner[0].starts_with("simodem: SIMCOM_SIM900 AT channel on tcp 127.0.0.1:"));
    let mut first = std::net::TcpStream::connect(&addr).expect("connect");
    first
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    first.write_all(b"AT\r").unwrap();
    assert_eq!(read_exactly(&mut first, 9), b"AT\r\r\nOK\r\n");
    let mut second = std::net::TcpStream::connect(&addr).expect("connect second");
    second.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(second.read(&mut buf).expect("closed by the emulator"), 0);
    first.write_all(b"AT+GSN\r").unwrap();
    assert_eq!(
        read_exactly(&mut first, 28),
        b"AT+GSN\r\r\n490154203237518\r\n\r\nOK\r\n"
    );
}

#[test]
fn unix_socket_is_owner_only_and_answers() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("unix");
    let sock = dir.join("at.sock");
    let emu = start(&[
        "--no-pty",
        "--unix",
        sock.to_str().unwrap(),
        "--model",
        "telit",
        "--control",
        dir.join("ctl").to_str().unwrap(),
    ]);
    assert_eq!(
        emu.banner[0],
        format!("simodem: GE865 AT channel on unix {}", sock.display())
    );
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let mut stream = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    stream.write_all(b"AT+CGMM\r").unwrap();
    assert_eq!(
        read_exactly(&mut stream, 21),
        b"AT+CGMM\r\r\nGE865\r\n\r\nOK\r\n"
    );
    assert!(emu.terminate().success());
    assert!(!sock.exists(), "socket file removed on exit");
}

#[test]
fn a_link_path_that_is_not_ours_is_refused_with_exit_2() {
    let dir = scratch("notours");
    let link = dir.join("tty");
    std::fs::write(&link, b"precious").unwrap();
    let out = Command::new(BIN)
        .args(["run", "--link", link.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "simodem: {} exists and is not a simodem link to /dev/pts; remove it or pass another --link\n",
            link.display()
        )
    );
    assert_eq!(std::fs::read(&link).unwrap(), b"precious");
}

#[test]
fn a_stale_link_is_replaced_and_a_live_one_is_refused() {
    let dir = scratch("stale");
    let link = dir.join("tty");
    std::os::unix::fs::symlink("/dev/pts/99999", &link).unwrap();
    let emu = start(&["--link", link.to_str().unwrap()]);
    let target = std::fs::read_link(&link).unwrap();
    assert_ne!(target, PathBuf::from("/dev/pts/99999"));
    let out = Command::new(BIN)
        .args(["run", "--link", link.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "simodem: {} is the port of a running simodem (pid {})",
            link.display(),
            emu.child.id()
        )),
        "{stderr}"
    );
    assert_eq!(std::fs::read_link(&link).unwrap(), target);
}

#[test]
fn stored_profile_survives_a_restart_with_state_dir() {
    let dir = scratch("state");
    let link = dir.join("tty");
    let state = dir.join("nvm");
    let args = [
        "--link",
        link.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
    ];
    let emu = start(&args);
    let mut port = Port::open(&link);
    port.exchange(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    port.exchange(b"AT+CMEE=2;+IPR=115200;&W\r", b"\r\nOK\r\n");
    drop(port);
    assert!(emu.terminate().success());

    let _emu = start(&args);
    let mut port = Port::open(&link);
    // A fixed rate was stored: no auto-baud, so even lower-case "at" is understood at once.
    port.exchange(b"at+cmee?\r", b"\r\n+CMEE: 2\r\n\r\nOK\r\n");
    port.exchange(b"AT+BOGUS\r", b"\r\n+CME ERROR: unknown\r\n");
}

#[test]
fn bad_options_exit_2_with_a_reason() {
    let out = Command::new(BIN)
        .args(["run", "--imei", "12ab"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("an IMEI must be 15 digits"));
    let out = Command::new(BIN)
        .args(["run", "--model", "nokia"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("unknown model \"nokia\"; use sim900 or telit")
    );
    let out = Command::new(BIN)
        .args(["run", "--no-pty"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn help_documents_every_option() {
    let out = Command::new(BIN).args(["run", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for option in [
        "--model",
        "--link",
        "--no-pty",
        "--tcp",
        "--unix",
        "--number",
        "--imei",
        "--imsi",
        "--iccid",
        "--operator",
        "--operator-code",
        "--csq",
        "--pin",
        "--puk",
        "--no-sim",
        "--smsc",
        "--state",
        "--count",
        "--config",
        "--control",
        "--record",
        "--trace",
    ] {
        assert!(help.contains(option), "{option} missing from --help");
    }
}

#[test]
fn telit_instances_two_and_three_have_their_own_ports() {
    let dir = scratch("instances");
    let link = dir.join("tty");
    let second = dir.join("tty-2");
    let third = dir.join("tty-3");
    let emu = Emulator::start(&["--model", "telit", "--link", link.to_str().unwrap()]);
    assert_eq!(emu.banner.len(), 4, "{:?}", emu.banner);
    assert!(emu.banner[1].starts_with("simodem: GE865 AT instance 2 on /dev/pts/"));
    assert!(emu.banner[2].ends_with(&format!("(link {})", third.display())));
    let mut one = Port::open(&link);
    let mut two = Port::open(&second);
    let mut three = Port::open(&third);
    two.exchange(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    two.exchange(b"AT+CGMI\r", b"\r\nTelit\r\n\r\nOK\r\n");
    one.exchange(b"AT+CGMI\r", b"AT+CGMI\r\r\nTelit\r\n\r\nOK\r\n");
    three.exchange(b"AT#SELINT?\r", b"AT#SELINT?\r\r\n#SELINT: 2\r\n\r\nOK\r\n");
    drop((one, two, three));
    assert!(emu.terminate().success());
    for path in [&link, &second, &third] {
        assert!(
            std::fs::symlink_metadata(path).is_err(),
            "{} removed on SIGTERM",
            path.display()
        );
    }
}

#[test]
fn instances_1_leaves_a_telit_with_one_port_and_a_sim900_refuses_more() {
    let dir = scratch("one-instance");
    let link = dir.join("tty");
    let emu = Emulator::start(&[
        "--model",
        "telit",
        "--instances",
        "1",
        "--link",
        link.to_str().unwrap(),
    ]);
    assert_eq!(emu.banner.len(), 2, "{:?}", emu.banner);
    assert!(std::fs::symlink_metadata(dir.join("tty-2")).is_err());
    assert!(emu.terminate().success());
    let out = Command::new(BIN)
        .args(["run", "--instances", "2", "--link"])
        .arg(dir.join("sim"))
        .output()
        .expect("run simodem");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "simodem: modem 0: instances 2: the sim900 has one AT instance\n"
    );
}
