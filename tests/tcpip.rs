//! The SIM900 TCP/IP stack end to end: a client on the real PTY, the modem's sockets real
//! loopback sockets, a server in the test; TinyGSM's sequence, transparent mode, faults, fds.

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use support::{Port, TIMEOUT, World, read_exactly, reset, scratch};

fn dir(name: &str) -> PathBuf {
    scratch("tcpip", name)
}

/// A loopback listener on a free port.
fn server() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    (listener, port)
}

fn accept(listener: &TcpListener) -> TcpStream {
    listener.set_nonblocking(false).expect("blocking");
    let (stream, _) = listener.accept().expect("accept");
    stream.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    stream
}

/// A world of one registered SIM900 with echo off and its port open.
fn ready(name: &str) -> (World, Port) {
    let world = World::one(&dir(name));
    let mut port = world.port(0);
    world.ctl().wait_registered(0);
    port.exchange(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    (world, port)
}

fn bring_up(port: &mut Port) {
    port.exchange(b"AT+CSTT=\"internet\",\"\",\"\"\r", b"\r\nOK\r\n");
    port.exchange(b"AT+CIICR\r", b"\r\nOK\r\n");
    port.exchange(b"AT+CIFSR\r", b"\r\n10.64.0.2\r\n");
}

/// TinyGSM's SIM800 class (which drives the SIM900) as spec §6.1 lists it: init, GPRS connect,
/// a socket with quick send and manual receive, liveness by `+CIPSTATUS=<n>`, the close URC.
#[test]
fn tinygsm_sequence_against_a_real_loopback_server() {
    let (world, mut port) = ready("tinygsm");
    for (command, answer) in [
        (&b"AT\r"[..], &b"\r\nOK\r\n"[..]),
        (b"AT+CMEE=0\r", b"\r\nOK\r\n"),
        (b"AT+CLTS=1\r", b"\r\nOK\r\n"),
        (b"AT+CPIN?\r", b"\r\n+CPIN: READY\r\n\r\nOK\r\n"),
        (b"AT+CIPSHUT\r", b"\r\nSHUT OK\r\n"),
        (b"AT+CGATT=0\r", b"\r\nOK\r\n"),
        (b"AT+SAPBR=3,1,\"Contype\",\"GPRS\"\r", b"\r\nOK\r\n"),
        (b"AT+SAPBR=3,1,\"APN\",\"internet\"\r", b"\r\nOK\r\n"),
        (b"AT+CGDCONT=1,\"IP\",\"internet\"\r", b"\r\nOK\r\n"),
        (b"AT+CGACT=1,1\r", b"\r\nOK\r\n"),
        (b"AT+SAPBR=1,1\r", b"\r\nOK\r\n"),
        (
            b"AT+SAPBR=2,1\r",
            b"\r\n+SAPBR: 1,1,\"10.64.0.2\"\r\n\r\nOK\r\n",
        ),
        (b"AT+CGATT=1\r", b"\r\nOK\r\n"),
        (b"AT+CIPMUX=1\r", b"\r\nOK\r\n"),
        (b"AT+CIPQSEND=1\r", b"\r\nOK\r\n"),
        (b"AT+CIPRXGET=1\r", b"\r\nOK\r\n"),
        (b"AT+CSTT=\"internet\",\"\",\"\"\r", b"\r\nOK\r\n"),
        (b"AT+CIICR\r", b"\r\nOK\r\n"),
        (b"AT+CIFSR;E0\r", b"\r\n10.64.0.2\r\n\r\nOK\r\n"),
        (b"AT+CDNSCFG=\"8.8.8.8\",\"8.8.4.4\"\r", b"\r\nOK\r\n"),
    ] {
        port.exchange(command, answer);
    }
    let (listener, server_port) = server();
    port.exchange(b"AT+CIPCLOSE=1,1\r", b"\r\nERROR\r\n");
    port.exchange(
        format!("AT+CIPSTART=1,\"TCP\",\"localhost\",{server_port}\r").as_bytes(),
        b"\r\nOK\r\n\r\n1, CONNECT OK\r\n",
    );
    let mut peer = accept(&listener);
    port.exchange(b"AT+CIPSEND=1,5\r", b"\r\n> ");
    port.exchange(b"hello", b"\r\nDATA ACCEPT:1,5\r\n");
    assert_eq!(read_exactly(&mut peer, 5), b"hello");
    peer.write_all(b"world!").expect("peer write");
    port.expect(b"\r\n+CIPRXGET: 1,1\r\n");
    port.exchange(b"AT+CIPRXGET=4,1\r", b"\r\n+CIPRXGET: 4,1,6\r\n\r\nOK\r\n");
    port.exchange(
        b"AT+CIPRXGET=2,1,1460\r",
        b"\r\n+CIPRXGET: 2,1,6,0\r\nworld!\r\n\r\nOK\r\n",
    );
    port.exchange(
        b"AT+CIPSTATUS=1\r",
        format!("\r\n+CIPSTATUS: 1,0,\"TCP\",\"127.0.0.1\",\"{server_port}\",\"CONNECTED\"\r\n\r\nOK\r\n")
            .as_bytes(),
    );
    drop(peer);
    port.expect(b"\r\n1, CLOSED\r\n");
    port.exchange(
        b"AT+CIPSTATUS=1\r",
        format!(
            "\r\n+CIPSTATUS: 1,0,\"TCP\",\"127.0.0.1\",\"{server_port}\",\"CLOSED\"\r\n\r\nOK\r\n"
        )
        .as_bytes(),
    );
    world.stop();
}

#[test]
fn refused_port_and_unresolvable_name_are_connect_fail_and_the_modem_goes_on() {
    let (world, mut port) = ready("refused");
    bring_up(&mut port);
    let (listener, closed_port) = server();
    drop(listener);
    port.exchange(
        format!("AT+CIPSTART=\"TCP\",\"127.0.0.1\",{closed_port}\r").as_bytes(),
        b"\r\nOK\r\n\r\nCONNECT FAIL\r\n",
    );
    port.exchange(
        b"AT+CIPSTART=\"TCP\",\"no-such-host.invalid\",80\r",
        b"\r\nOK\r\n\r\nCONNECT FAIL\r\n",
    );
    port.exchange(
        b"AT+CDNSGIP=\"no-such-host.invalid\"\r",
        b"\r\nOK\r\n\r\n+CDNSGIP: 0,8\r\n",
    );
    port.exchange(
        b"AT+CDNSGIP=\"localhost\"\r",
        b"\r\nOK\r\n\r\n+CDNSGIP: 1,\"localhost\",\"127.0.0.1\"\r\n",
    );
    port.exchange(b"AT\r", b"\r\nOK\r\n");
    world.stop();
}

#[test]
fn udp_connection_sends_and_receives_datagrams() {
    let (world, mut port) = ready("udp");
    bring_up(&mut port);
    let server = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    server.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    let server_port = server.local_addr().expect("addr").port();
    port.exchange(
        format!("AT+CIPSTART=\"UDP\",\"127.0.0.1\",{server_port}\r").as_bytes(),
        b"\r\nOK\r\n\r\nCONNECT OK\r\n",
    );
    port.exchange(b"AT+CIPSEND=4\r", b"\r\n> ");
    port.exchange(b"ping", b"\r\nSEND OK\r\n");
    let mut buf = [0u8; 64];
    let (n, from) = server.recv_from(&mut buf).expect("datagram");
    assert_eq!(&buf[..n], b"ping");
    server.send_to(b"pong", from).expect("reply");
    port.expect(b"pong");
    port.exchange(b"AT+CIPSTATUS\r", b"\r\nOK\r\n\r\nSTATE: CONNECT OK\r\n");
    port.exchange(b"AT+CIPCLOSE\r", b"\r\nCLOSE OK\r\n");
    port.exchange(b"AT+CIPSTATUS\r", b"\r\nOK\r\n\r\nSTATE: UDP CLOSED\r\n");
    world.stop();
}

#[test]
fn cipserver_accepts_a_real_client_and_peer_reset_is_closed() {
    let (world, mut port) = ready("server");
    bring_up(&mut port);
    let probe = TcpListener::bind("127.0.0.1:0").expect("bind");
    let listen_port = probe.local_addr().expect("addr").port();
    drop(probe);
    port.exchange(
        format!("AT+CIPSERVER=1,{listen_port}\r").as_bytes(),
        b"\r\nOK\r\n\r\nSERVER OK\r\n",
    );
    let mut client = TcpStream::connect(("127.0.0.1", listen_port)).expect("connect to the modem");
    client.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    port.expect(b"\r\nREMOTE IP: 127.0.0.1\r\n");
    client.write_all(b"ping").expect("write");
    port.expect(b"ping");
    port.exchange(b"AT+CIPSEND=4\r", b"\r\n> ");
    port.exchange(b"pong", b"\r\nSEND OK\r\n");
    assert_eq!(read_exactly(&mut client, 4), b"pong");
    // An RST from the peer.
    reset(client);
    port.expect(b"\r\nCLOSED\r\n");
    port.exchange(b"AT+CIPSERVER=0\r", b"\r\nOK\r\n\r\nSERVER CLOSE\r\n");
    world.stop();
}

/// Opens transparent mode to `listener` and returns the server's end.
fn transparent(port: &mut Port, listener: &TcpListener, server_port: u16) -> TcpStream {
    port.exchange(b"AT+CIPMODE=1\r", b"\r\nOK\r\n");
    port.exchange(b"AT+CIPCCFG=5,2,1024,1\r", b"\r\nOK\r\n");
    bring_up(port);
    port.exchange(
        format!("AT+CIPSTART=\"TCP\",\"127.0.0.1\",{server_port}\r").as_bytes(),
        b"\r\nOK\r\n\r\nCONNECT\r\n",
    );
    accept(listener)
}

/// Random bytes with runs of `+`, 0x1A and 0x1B mixed in.
fn awkward_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        match state % 16 {
            0 => out.extend(std::iter::repeat_n(b'+', (state >> 8) as usize % 5 + 1)),
            1 => out.push(0x1a),
            2 => out.push(0x1b),
            _ => out.extend_from_slice(&state.to_le_bytes()),
        }
    }
    out.truncate(len);
    out
}

/// 4 MiB each way at once through transparent mode (the benchmark moves 64 MiB), with a DTE
/// that reads slowly: the digests match, so nothing was lost, duplicated or taken for `+++`.
#[test]
fn transparent_mode_moves_bytes_both_ways_intact_with_a_slow_reader() {
    const SIZE: usize = 4 << 20;
    let (world, mut port) = ready("integrity");
    let (listener, server_port) = server();
    let mut peer = transparent(&mut port, &listener, server_port);
    let up = awkward_bytes(SIZE, 1);
    let down = awkward_bytes(SIZE, 2);
    let up_digest = Sha256::digest(&up);
    let down_digest = Sha256::digest(&down);

    let mut peer_reader = peer.try_clone().expect("clone");
    peer_reader
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let server_side = thread::spawn(move || {
        let mut got = Vec::with_capacity(SIZE);
        let mut buf = vec![0u8; 65536];
        while got.len() < SIZE {
            match peer_reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => panic!("server read after {} bytes: {e}", got.len()),
            }
        }
        got
    });
    let peer_writer = thread::spawn(move || {
        peer.write_all(&down).expect("server write");
        peer
    });
    let mut dte_writer = port.file.try_clone().expect("clone port");
    let writer = thread::spawn(move || {
        for chunk in up.chunks(65536) {
            dte_writer.write_all(chunk).expect("DTE write");
        }
    });
    // The slow reader: small reads with pauses, so back-pressure must hold the server.
    let mut got = Vec::with_capacity(SIZE);
    let mut buf = vec![0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut reads = 0u64;
    while got.len() < SIZE && Instant::now() < deadline {
        match port.file.read(&mut buf) {
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("DTE read: {e}"),
        }
        reads += 1;
        if reads.is_multiple_of(64) {
            thread::sleep(Duration::from_millis(1));
        }
    }
    writer.join().expect("writer");
    let _peer = peer_writer.join().expect("peer writer");
    let received_up = server_side.join().expect("server");
    assert_eq!(got.len(), SIZE, "TCP→DTE byte count");
    assert_eq!(received_up.len(), SIZE, "DTE→TCP byte count");
    assert_eq!(Sha256::digest(&got), down_digest, "TCP→DTE digest");
    assert_eq!(Sha256::digest(&received_up), up_digest, "DTE→TCP digest");
    world.stop();
}

/// Bytes the PTY holds for the client to read (FIONREAD).
fn readable(port: &Port) -> usize {
    use std::os::fd::AsRawFd;
    let mut n: libc::c_int = 0;
    // SAFETY: the port's fd is open and n is a valid c_int to write to.
    let rc = unsafe { libc::ioctl(port.file.as_raw_fd(), libc::FIONREAD, &mut n) };
    assert_eq!(rc, 0, "FIONREAD: {}", std::io::Error::last_os_error());
    n as usize
}

/// While TCP→DTE output waits for a client that reads none of it, the modem still takes what
/// the client writes: the session never stops reading its PTY for a write. Then all of both
/// arrives, in order.
#[test]
fn transparent_mode_takes_the_clients_bytes_while_its_output_waits() {
    const DOWN: usize = 1 << 20;
    const UP: usize = 256 << 10;
    let (world, mut port) = ready("output-waits");
    let (listener, server_port) = server();
    let mut peer = transparent(&mut port, &listener, server_port);
    let up = awkward_bytes(UP, 3);
    let down = awkward_bytes(DOWN, 4);
    let down_digest = Sha256::digest(&down);
    let mut peer_reader = peer.try_clone().expect("clone");
    let peer_writer = thread::spawn(move || {
        peer.write_all(&down).expect("server write");
        peer
    });
    // The PTY's buffer toward the client fills up: from here the modem's output waits.
    let deadline = Instant::now() + TIMEOUT;
    while readable(&port) < 2048 {
        assert!(Instant::now() < deadline, "no output reached the PTY");
        thread::sleep(Duration::from_millis(1));
    }
    let mut dte_writer = port.file.try_clone().expect("clone port");
    let (written_tx, written) = std::sync::mpsc::channel();
    let up_copy = up.clone();
    thread::spawn(move || {
        let result = dte_writer.write_all(&up_copy);
        let _ = written_tx.send(result.map_err(|e| e.to_string()));
    });
    match written.recv_timeout(TIMEOUT) {
        Ok(result) => result.expect("DTE write"),
        Err(_) => panic!("the modem stopped reading its client while output waited"),
    }
    let got = read_exactly(&mut port.file, DOWN);
    assert_eq!(got.len(), DOWN, "TCP→DTE byte count");
    assert_eq!(Sha256::digest(&got), down_digest, "TCP→DTE digest");
    let received_up = read_exactly(&mut peer_reader, UP);
    assert!(received_up == up, "DTE→TCP bytes differ");
    let _peer = peer_writer.join().expect("peer writer");
    world.stop();
}

#[test]
fn escape_commands_and_ato_on_real_sockets() {
    let (world, mut port) = ready("escape");
    let (listener, server_port) = server();
    let mut peer = transparent(&mut port, &listener, server_port);
    peer.write_all(b"AT+CSQ\r").expect("write");
    port.expect(b"AT+CSQ\r");
    thread::sleep(Duration::from_millis(1100));
    port.send(b"+++");
    port.expect(b"\r\nOK\r\n");
    port.exchange(b"AT+CSQ\r", b"\r\n+CSQ: 20,0\r\n\r\nOK\r\n");
    peer.write_all(b"held").expect("write");
    thread::sleep(Duration::from_millis(100));
    port.exchange(b"ATO\r", b"\r\nCONNECT\r\nheld");
    port.send(b"x+++");
    assert_eq!(read_exactly(&mut peer, 4), b"x+++");
    world.stop();
}

/// The client closing the PTY is a DTR drop: `&D1` keeps the link (ATO resumes), `&D2` closes it.
#[test]
fn closing_the_port_mid_transfer_follows_ampersand_d() {
    let (world, mut port) = ready("dtr");
    let (listener, server_port) = server();
    let mut peer = transparent(&mut port, &listener, server_port);
    port.send(&[b'a'; 3000]);
    drop(port);
    world.ctl().wait_attached(0, false);
    let mut port = world.port(0);
    world.ctl().wait_attached(0, true);
    port.exchange(b"AT\r", b"\r\nOK\r\n");
    port.exchange(b"ATO\r", b"\r\nCONNECT\r\n");
    assert_eq!(read_exactly(&mut peer, 3000), vec![b'a'; 3000]);
    thread::sleep(Duration::from_millis(1100));
    port.send(b"+++");
    port.expect(b"\r\nOK\r\n");
    port.exchange(b"AT&D2\r", b"\r\nOK\r\n");
    port.exchange(b"ATO\r", b"\r\nCONNECT\r\n");
    drop(port);
    let mut rest = Vec::new();
    peer.read_to_end(&mut rest)
        .expect("the server sees the close");
    assert!(rest.is_empty(), "no stray bytes: {rest:?}");
    let mut port = world.port(0);
    world.ctl().wait_attached(0, true);
    port.exchange(b"AT+CIPSTATUS\r", b"\r\nOK\r\n\r\nSTATE: TCP CLOSED\r\n");
    world.stop();
}

/// `chat` (from ppp) dials the packet data call as a pppd connect script would.
#[test]
fn chat_dials_star_99_and_gets_connect() {
    let Some(chat) = ["/usr/sbin/chat", "/usr/bin/chat"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
    else {
        if std::env::var("SIMODEM_SKIP_REAL_CLIENTS").is_ok_and(|v| v == "1") {
            eprintln!("NOTICE: chat (package ppp) is not installed; skipped");
            return;
        }
        panic!("chat is not installed; install it with `apt-get install ppp`");
    };
    let world = World::one(&dir("chat"));
    world.ctl().wait_registered(0);
    let link = world.link(0);
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&link)
        .expect("open the link");
    let output = Command::new(chat)
        .args([
            "-t",
            "5",
            "ABORT",
            "ERROR",
            "ABORT",
            "NO CARRIER",
            "",
            "AT",
            "OK",
            "ATE0",
            "OK",
            "ATI;+CSQ;+CPIN?;+COPS?;+CGREG?;&D2",
            "OK",
            "AT+CGDCONT=1,\"IP\",\"internet\",,0,0",
            "OK",
            "ATD*99#",
            "CONNECT",
        ])
        .stdin(tty.try_clone().expect("clone"))
        .stdout(tty)
        .stderr(Stdio::piped())
        .output()
        .expect("run chat");
    assert!(
        output.status.success(),
        "chat failed: {:?} {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    // chat has exited and closed the port: a DTR drop, and the script set &D2 — the call ends.
    let state = world.ctl().wait_state(0, |s| s["client_attached"] == false);
    assert_eq!(state["mode"], "command");
    assert_eq!(state["settings"]["dtr_mode"], 2);
    world.stop();
}
