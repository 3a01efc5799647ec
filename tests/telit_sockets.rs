//! The Telit IP Easy sockets end to end: a client on the real PTYs, the modem's sockets real
//! loopback sockets, servers and callers in the test; a pyserial client following Telit's IP
//! Easy User Guide, command-mode sockets, listen/accept with the firewall, three AT instances
//! online at once, 1,000 open/close cycles with the descriptors counted, NVM across a reboot
//! and a restart, and a peer closing under online mode.
//!
//! Everything talks to 127.0.0.1 only (the refused caller of the firewall test comes from
//! 127.0.0.2, also loopback); ports the modem listens on are in 47701-47799.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use simodem::network::{ModemSpec, instance_link};
use support::clients::{CLIENT_TIMEOUT, collect, python_pyserial, spawn_piped};
use support::{ClosingServer, Ctl, Emulator, Port, TIMEOUT, World, read_exactly, reset, scratch};

const SUITE: &str = "telit-sockets";
/// The address context 1 gets (`#SGACT: 10.64.0.2`), shown as the local one by `#SS`.
const ADDRESS: &str = "10.64.0.2";
/// S12 = 50: one second of silence before and after `+++`; a margin for the scheduler.
const GUARD: Duration = Duration::from_millis(1200);

// ---------------------------------------------------------------------------------------------
// The modem
// ---------------------------------------------------------------------------------------------

fn telit_spec() -> ModemSpec {
    ModemSpec {
        model: Some("telit".into()),
        ..ModemSpec::default()
    }
}

/// A world of one registered GE865 (instances on `<dir>/tty0`, `-2`, `-3`) with instance 1's
/// port open and echo off.
fn ready(name: &str) -> (World, Port) {
    let world = World::start(&scratch(SUITE, name), vec![telit_spec()], None);
    let mut port = world.port(0);
    world.ctl().wait_registered(0);
    port.exchange(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    (world, port)
}

/// Context 1 up through `#SGACT` (sockets 1-3 use it).
fn activate(port: &mut Port) {
    port.exchange(
        b"AT#SGACT=1,1\r",
        format!("\r\n#SGACT: {ADDRESS}\r\n\r\nOK\r\n").as_bytes(),
    );
}

/// Reads while `more` says what came is not complete yet, or until `timeout` passes.
fn read_while(port: &mut Port, more: impl Fn(&[u8]) -> bool, timeout: Duration) -> Vec<u8> {
    let deadline = Instant::now() + timeout;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while more(&got) && Instant::now() < deadline {
        match port.file.read(&mut buf) {
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => panic!("read: {e}"),
        }
    }
    got
}

/// Reads until what came ends with `suffix` or `timeout` passes; everything read.
fn read_until(port: &mut Port, suffix: &[u8], timeout: Duration) -> Vec<u8> {
    read_while(port, |got| !got.ends_with(suffix), timeout)
}

/// Nothing at all arrives on the port for `quiet`.
fn assert_silent(port: &mut Port, quiet: Duration) {
    let got = read_until(port, b"\0never\0", quiet);
    assert_eq!(String::from_utf8_lossy(&got), "", "the port said something");
}

/// Sends `command` until it answers `expected` (for counters the host updates on its own
/// schedule), failing with the last answer at the hang guard.
fn poll_until(port: &mut Port, command: &[u8], expected: &[u8]) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        port.send(command);
        let got = read_until(port, b"OK\r\n", TIMEOUT);
        if got == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{:?} never answered {:?}; last {:?}",
            String::from_utf8_lossy(command),
            String::from_utf8_lossy(expected),
            String::from_utf8_lossy(&got)
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// `+++` with the guard time before it; `expected` is what follows (after the trailing guard).
fn escape(port: &mut Port, expected: &[u8]) {
    thread::sleep(GUARD);
    port.send(b"+++");
    port.expect(expected);
}

fn all_closed() -> String {
    let lines: String = (1..=6).map(|n| format!("#SS: {n},0\r\n")).collect();
    format!("\r\n{lines}\r\nOK\r\n")
}

// ---------------------------------------------------------------------------------------------
// Loopback peers
// ---------------------------------------------------------------------------------------------

/// A loopback listener on a free port.
fn server() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    (listener, port)
}

fn accept(listener: &TcpListener) -> (TcpStream, SocketAddr) {
    listener.set_nonblocking(false).expect("blocking");
    let (stream, peer) = listener.accept().expect("accept");
    stream.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    (stream, peer)
}

/// What an echo server saw on one connection.
#[derive(Debug, Clone)]
struct Echoed {
    peer: SocketAddr,
    received: Vec<u8>,
    /// The modem closed it (EOF).
    closed: bool,
}

/// A loopback echo server: every connection gets its bytes back as they come, and what it
/// received is kept.
struct EchoServer {
    port: u16,
    connections: Arc<Mutex<Vec<Echoed>>>,
    stop: Arc<AtomicBool>,
    acceptor: Option<thread::JoinHandle<()>>,
}

impl EchoServer {
    fn start() -> EchoServer {
        let (listener, port) = server();
        listener.set_nonblocking(true).expect("nonblocking");
        let connections = Arc::new(Mutex::new(Vec::<Echoed>::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let connections = connections.clone();
            let stop = stop.clone();
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let Ok((stream, peer)) = listener.accept() else {
                        thread::sleep(Duration::from_millis(2));
                        continue;
                    };
                    let index = {
                        let mut list = connections.lock().expect("lock");
                        list.push(Echoed {
                            peer,
                            received: Vec::new(),
                            closed: false,
                        });
                        list.len() - 1
                    };
                    let connections = connections.clone();
                    thread::spawn(move || echo(stream, index, &connections));
                }
            })
        };
        EchoServer {
            port,
            connections,
            stop,
            acceptor: Some(acceptor),
        }
    }

    /// The connections so far.
    fn seen(&self) -> Vec<Echoed> {
        self.connections.lock().expect("lock").clone()
    }

    /// Waits until `count` connections were made and the modem closed every one.
    fn wait_closed(&self, count: usize) -> Vec<Echoed> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let seen = self.seen();
            if seen.len() == count && seen.iter().all(|c| c.closed) {
                return seen;
            }
            assert!(
                Instant::now() < deadline,
                "want {count} connections closed by the modem, have {seen:?}"
            );
            thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn echo(mut stream: TcpStream, index: usize, connections: &Mutex<Vec<Echoed>>) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                connections.lock().expect("lock")[index]
                    .received
                    .extend_from_slice(&buf[..n]);
                if stream.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    connections.lock().expect("lock")[index].closed = true;
}

// ---------------------------------------------------------------------------------------------
// 1. A pyserial client written after Telit's IP Easy User Guide
// ---------------------------------------------------------------------------------------------

/// 300 printable bytes: one `<pktSz>` packet, so it leaves the modem at once.
fn ip_easy_payload() -> String {
    (0..75).map(|i| format!("{i:03}.")).collect()
}

/// tests/clients/telit_ip_easy.py goes through the guide's outgoing-connection flow (§3.2.1):
/// `+CGDCONT`, `#SCFG`, `#SGACT` (address parsed), `#SD` → `CONNECT`, a packet echoed by a real
/// loopback server, `+++` → `OK` and the echoed `+++` announced by `SRING: 1`, `#SH`, `#SGACT=1,0`.
#[test]
fn a_pyserial_client_follows_the_ip_easy_guide_against_a_loopback_echo_server() {
    let test = "telit_ip_easy_py";
    if !python_pyserial(test) {
        return;
    }
    let world = World::start(&scratch(SUITE, "ip-easy-py"), vec![telit_spec()], None);
    world.ctl().wait_registered(0);
    let echo = EchoServer::start();
    let payload = ip_easy_payload();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/telit_ip_easy.py");
    let mut child = spawn_piped(
        Command::new("python3")
            .arg(&script)
            .arg(world.link(0))
            .arg(echo.port.to_string())
            .arg(&payload),
    )
    .expect("start python3");
    let run = collect(&mut child, CLIENT_TIMEOUT);
    assert!(
        run.status.success() && !run.timed_out,
        "{test}: {}",
        run.describe()
    );
    let dial = format!("AT#SD=1,0,{},\"127.0.0.1\": CONNECT", echo.port);
    let echo_line = format!("echo: {payload}");
    assert_eq!(
        run.lines(),
        [
            "ATE0: OK",
            "AT+CGDCONT=1,\"IP\",\"apn\": OK",
            "AT#SCFG=1,1,300,90,600,50: OK",
            "AT#SGACT=1,1: 10.64.0.2",
            dial.as_str(),
            echo_line.as_str(),
            "+++: OK",
            "urc: SRING: 1",
            "AT#SH=1: OK",
            "AT#SGACT=1,0: OK",
        ],
        "{test}: {}",
        run.describe()
    );
    // The server got the packet, then the escape characters (#SKIPESC=0), then the close.
    let seen = echo.wait_closed(1);
    assert_eq!(seen[0].peer.ip().to_string(), "127.0.0.1");
    assert_eq!(
        String::from_utf8_lossy(&seen[0].received),
        format!("{payload}+++")
    );
    // The client's settings stay with the instance; everything is closed and down.
    let mut port = world.port(0);
    port.exchange(b"AT#SS\r", all_closed().as_bytes());
    port.exchange(b"AT#SGACT?\r", b"\r\n#SGACT: 1,0\r\n\r\nOK\r\n");
    port.exchange(
        b"AT+CGDCONT?\r",
        b"\r\n+CGDCONT: 1,\"IP\",\"apn\",\"\",0,0\r\n\r\nOK\r\n",
    );
    world.stop();
}

// ---------------------------------------------------------------------------------------------
// 2. Command-mode socket
// ---------------------------------------------------------------------------------------------

/// `#SD` with connMode 1 → `OK`; the server's bytes are announced `SRING: 1,<n>` (srMode 1),
/// read with `#SRECV`; `#SSEND` and `#SSENDEXT` reach the server byte for byte; dialling a
/// connected socket is 551, a refused port 562.
#[test]
fn command_mode_socket_srings_receives_and_sends_exact_bytes() {
    let (world, mut port) = ready("command-mode");
    activate(&mut port);
    let (listener, server_port) = server();
    port.exchange(b"AT#SCFGEXT=1,1,0,0\r", b"\r\nOK\r\n");
    port.exchange(
        format!("AT#SD=1,0,{server_port},\"127.0.0.1\",0,0,1\r").as_bytes(),
        b"\r\nOK\r\n",
    );
    let (mut peer, modem_end) = accept(&listener);
    let ss = format!(
        "#SS: 1,{{}},{ADDRESS},{},127.0.0.1,{server_port}",
        modem_end.port()
    );
    port.exchange(
        b"AT#SS=1\r",
        format!("\r\n{}\r\n\r\nOK\r\n", ss.replace("{}", "2")).as_bytes(),
    );
    peer.write_all(b"hello from server").expect("peer write");
    port.expect(b"\r\nSRING: 1,17\r\n");
    port.exchange(
        b"AT#SS=1\r",
        format!("\r\n{}\r\n\r\nOK\r\n", ss.replace("{}", "3")).as_bytes(),
    );
    port.exchange(b"AT#SI=1\r", b"\r\n#SI: 1,0,17,17,0\r\n\r\nOK\r\n");
    port.exchange(b"AT#SRECV=1,5\r", b"\r\n#SRECV: 1,5\r\nhello\r\n\r\nOK\r\n");
    port.exchange(
        b"AT#SRECV=1,1500\r",
        b"\r\n#SRECV: 1,12\r\n from server\r\n\r\nOK\r\n",
    );
    port.exchange(b"AT#SI=1\r", b"\r\n#SI: 1,0,17,0,0\r\n\r\nOK\r\n");
    port.exchange(b"AT+CMEE=1;#SRECV=1,10\r", b"\r\n+CME ERROR: 551\r\n");
    // #SSEND: the prompt, text up to Ctrl-Z (a backspace takes the typo back).
    port.exchange(b"AT#SSEND=1\r", b"\r\n> ");
    port.exchange(b"payloadX\x08 one\x1a", b"\r\nOK\r\n");
    assert_eq!(read_exactly(&mut peer, 11), b"payload one");
    // #SSENDEXT: exactly n raw bytes, Ctrl-Z, ESC and NUL included.
    port.exchange(b"AT#SSENDEXT=1,6\r", b"\r\n> ");
    port.exchange(b"\x00\x1a\x1b\xff\r\n", b"\r\nOK\r\n");
    assert_eq!(read_exactly(&mut peer, 6), b"\x00\x1a\x1b\xff\r\n");
    poll_until(
        &mut port,
        b"AT#SI=1\r",
        b"\r\n#SI: 1,17,17,0,0\r\n\r\nOK\r\n",
    );
    // A socket that is not closed cannot be dialled again.
    port.exchange(
        format!("AT#SD=1,0,{server_port},\"127.0.0.1\",0,0,1\r").as_bytes(),
        b"\r\n+CME ERROR: 551\r\n",
    );
    port.exchange(b"AT#SH=1\r", b"\r\nOK\r\n");
    let mut rest = Vec::new();
    peer.read_to_end(&mut rest).expect("EOF from the modem");
    assert_eq!(rest, b"", "nothing more, then the close");
    port.exchange(b"AT#SS=1\r", b"\r\n#SS: 1,0\r\n\r\nOK\r\n");
    // A port nobody listens on refuses: 562, and the socket stays closed.
    let (gone, gone_port) = server();
    drop(gone);
    port.exchange(
        format!("AT#SD=1,0,{gone_port},\"127.0.0.1\",0,0,1\r").as_bytes(),
        b"\r\n+CME ERROR: 562\r\n",
    );
    port.exchange(b"AT#SS=1\r", b"\r\n#SS: 1,0\r\n\r\nOK\r\n");
    world.stop();
}

// ---------------------------------------------------------------------------------------------
// 3. Listen and accept
// ---------------------------------------------------------------------------------------------

/// A TCP connection to 127.0.0.1:`port` from `source` (an address of the loopback net).
fn connect_from(world: &World, source: &str, port: u16) -> std::io::Result<TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(format!("{source}:0").parse().expect("address"))?;
    let target: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
    let stream = world.runtime.block_on(socket.connect(target))?.into_std()?;
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    Ok(stream)
}

/// The modem ended the connection (reset or EOF) without sending anything; the reset may
/// come before the connect has even returned.
fn assert_turned_away(stream: std::io::Result<TcpStream>) {
    let mut stream = match stream {
        Ok(stream) => stream,
        Err(e) if e.kind() == ErrorKind::ConnectionReset => return,
        Err(e) => panic!("want a reset or EOF, connect failed: {e}"),
    };
    let mut buf = [0u8; 16];
    match stream.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        other => panic!("want a reset or EOF, got {other:?}"),
    }
}

/// `#SL=<conn>,1,<port>` on the first port from `first` up to 47799 the host lets the modem
/// bind (557 otherwise: 47701-47799 lies in Linux's ephemeral range, so an outgoing connection
/// of another test, or its TIME_WAIT, may hold one); the port it listens on. Needs `+CMEE=1`.
fn listen(port: &mut Port, conn: usize, first: u16) -> u16 {
    for listen_port in first..=47799 {
        port.send(format!("AT#SL={conn},1,{listen_port}\r").as_bytes());
        // One framed line: "\r\n<result>\r\n".
        let got = read_while(
            port,
            |got| got.len() < 3 || !got.ends_with(b"\r\n"),
            TIMEOUT,
        );
        match &got[..] {
            b"\r\nOK\r\n" => return listen_port,
            b"\r\n+CME ERROR: 557\r\n" => {
                eprintln!("port {listen_port} is taken on this host; trying the next one");
            }
            other => panic!(
                "#SL={conn},1,{listen_port}: {:?}",
                String::from_utf8_lossy(other)
            ),
        }
    }
    panic!("no port of {first}-47799 could be listened on");
}

/// `#FRWL` lets 127.0.0.1 in: its connection rings `SRING: 1` (state 5), `#SA` takes it online
/// with bytes both ways; a caller from 127.0.0.2 matches no rule and is turned away without a
/// `SRING`, the listener going on; `#SH` refuses a waiting caller.
#[test]
fn listen_accepts_a_firewalled_loopback_caller_and_refuses_others() {
    let (world, mut port) = ready("listen");
    activate(&mut port);
    port.exchange(
        b"AT#FRWL=1,\"127.0.0.1\",\"255.255.255.255\"\r",
        b"\r\nOK\r\n",
    );
    // txTo 100 ms: what is typed online leaves soon; +++ stays here.
    port.exchange(b"AT#SCFG=1,1,300,90,600,1;#SKIPESC=1\r", b"\r\nOK\r\n");
    port.exchange(b"AT+CMEE=1\r", b"\r\nOK\r\n");
    let first = listen(&mut port, 1, 47711);
    port.exchange(
        b"AT#SS=1\r",
        format!("\r\n#SS: 1,4,{ADDRESS},{first}\r\n\r\nOK\r\n").as_bytes(),
    );
    let mut caller = connect_from(&world, "127.0.0.1", first).expect("connect");
    let caller_port = caller.local_addr().expect("addr").port();
    port.expect(b"\r\nSRING: 1\r\n");
    port.exchange(
        b"AT#SS=1\r",
        format!("\r\n#SS: 1,5,{ADDRESS},{first},127.0.0.1,{caller_port}\r\n\r\nOK\r\n").as_bytes(),
    );
    port.exchange(b"AT#SA=1\r", b"\r\nCONNECT\r\n");
    caller.write_all(b"to the modem").expect("caller write");
    port.expect(b"to the modem");
    port.send(b"to the caller");
    assert_eq!(read_exactly(&mut caller, 13), b"to the caller");
    escape(&mut port, b"\r\nOK\r\n");
    port.exchange(
        b"AT#SS=1\r",
        format!("\r\n#SS: 1,2,{ADDRESS},{first},127.0.0.1,{caller_port}\r\n\r\nOK\r\n").as_bytes(),
    );
    port.exchange(b"AT#SI=1\r", b"\r\n#SI: 1,13,12,0,0\r\n\r\nOK\r\n");
    port.exchange(b"AT#SH=1\r", b"\r\nOK\r\n");
    let mut rest = Vec::new();
    caller.read_to_end(&mut rest).expect("EOF from the modem");
    assert_eq!(rest, b"", "no +++ (#SKIPESC=1), then the close");

    // Accepting ended the listening; socket 2 listens now. 127.0.0.2 matches no rule.
    let second = listen(&mut port, 2, first + 1);
    let stranger = connect_from(&world, "127.0.0.2", second);
    assert_turned_away(stranger);
    port.exchange(
        b"AT#SS\r",
        format!(
            "\r\n#SS: 1,0\r\n#SS: 2,4,{ADDRESS},{second}\r\n#SS: 3,0\r\n#SS: 4,0\r\n#SS: 5,0\r\n\
             #SS: 6,0\r\n\r\nOK\r\n"
        )
        .as_bytes(),
    );
    // Still listening: a caller the rule lets in rings, and #SH refuses it.
    let waiting = connect_from(&world, "127.0.0.1", second).expect("connect");
    port.expect(b"\r\nSRING: 2\r\n");
    port.exchange(b"AT#SH=2\r", b"\r\nOK\r\n");
    assert_turned_away(Ok(waiting));
    port.exchange(b"AT#SS\r", all_closed().as_bytes());
    world.stop();
}

// ---------------------------------------------------------------------------------------------
// 4. Three AT instances online at once
// ---------------------------------------------------------------------------------------------

/// What instance `conn` sends: 100 packets of 300 bytes, its own pattern, its number first.
fn instance_data(conn: usize) -> Vec<u8> {
    (0..30_000usize)
        .map(|i| {
            if i == 0 {
                b'0' + conn as u8
            } else {
                ((i * (conn * 2 + 1) + conn * 37) % 251) as u8
            }
        })
        .collect()
}

/// Online on socket `conn` of its instance: the data goes out in chunks while the echo is
/// read back at the same time; then `+++`.
fn instance_session(mut port: Port, conn: usize, echo_port: u16, start: &Barrier) -> Port {
    port.exchange(
        format!("AT#SD={conn},0,{echo_port},\"127.0.0.1\"\r").as_bytes(),
        b"\r\nCONNECT\r\n",
    );
    start.wait();
    let data = instance_data(conn);
    let writer = {
        let mut file = port.file.try_clone().expect("clone the port");
        let data = data.clone();
        thread::spawn(move || {
            for chunk in data.chunks(1024) {
                file.write_all(chunk).expect("write online data");
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut echoed = Vec::with_capacity(data.len());
    let mut buf = [0u8; 4096];
    while echoed.len() < data.len() && Instant::now() < deadline {
        match port.file.read(&mut buf) {
            Ok(n) => echoed.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => panic!("read: {e}"),
        }
    }
    writer.join().expect("writer");
    assert_eq!(echoed.len(), data.len(), "instance {conn}: echo length");
    assert!(echoed == data, "instance {conn}: the echo differs");
    escape(&mut port, b"\r\nOK\r\n");
    port
}

/// Instances 1, 2 and 3 (`<link>`, `<link>-2`, `<link>-3`) each dial their own socket online
/// to one echo server and move 30,000 bytes each way at the same time; every stream comes
/// back intact on its own port, `#SS`/`#SI` account for each socket, and suspended, the echo
/// of what each sends with `#SSEND` rings `SRING` on its own instance only.
#[test]
fn three_instances_move_data_online_at_once_on_their_own_sockets() {
    let (world, mut one) = ready("instances");
    let link = world.link(0);
    let mut two = Port::open(&instance_link(&link, 2));
    let mut three = Port::open(&instance_link(&link, 3));
    two.exchange(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    three.exchange(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    activate(&mut one);
    // #SKIPESC is global: no +++ reaches the echo server (or comes back as SRING).
    two.exchange(b"AT#SKIPESC=1\r", b"\r\nOK\r\n");
    let echo = EchoServer::start();
    let start = Arc::new(Barrier::new(3));
    let sessions: Vec<_> = [one, two, three]
        .into_iter()
        .enumerate()
        .map(|(i, port)| {
            let start = start.clone();
            let echo_port = echo.port;
            thread::spawn(move || instance_session(port, i + 1, echo_port, &start))
        })
        .collect();
    let mut ports: Vec<Port> = sessions
        .into_iter()
        .map(|s| s.join().expect("instance session"))
        .collect();
    // Each connection of the server belongs to the instance whose number came first.
    let seen = echo.seen();
    assert_eq!(seen.len(), 3, "{seen:?}");
    let local_port = |conn: usize| {
        seen.iter()
            .find(|c| c.received.first() == Some(&(b'0' + conn as u8)))
            .unwrap_or_else(|| panic!("no connection from instance {conn}"))
            .peer
            .port()
    };
    for (i, port) in ports.iter_mut().enumerate() {
        let conn = i + 1;
        poll_until(
            port,
            format!("AT#SI={conn}\r").as_bytes(),
            format!("\r\n#SI: {conn},30000,30000,0,0\r\n\r\nOK\r\n").as_bytes(),
        );
        // Suspended, each instance sends in command mode; the echo rings on its own port.
        port.exchange(format!("AT#SSEND={conn}\r").as_bytes(), b"\r\n> ");
        port.exchange(
            format!("ping {conn}\x1a").as_bytes(),
            format!("\r\nOK\r\n\r\nSRING: {conn}\r\n").as_bytes(),
        );
    }
    for (i, port) in ports.iter_mut().enumerate() {
        let conn = i + 1;
        // Exact answers: no other instance's SRING came here.
        port.exchange(
            format!("AT#SS={conn}\r").as_bytes(),
            format!(
                "\r\n#SS: {conn},3,{ADDRESS},{},127.0.0.1,{}\r\n\r\nOK\r\n",
                local_port(conn),
                echo.port
            )
            .as_bytes(),
        );
        port.exchange(
            format!("AT#SRECV={conn},100\r").as_bytes(),
            format!("\r\n#SRECV: {conn},6\r\nping {conn}\r\n\r\nOK\r\n").as_bytes(),
        );
        poll_until(
            port,
            format!("AT#SI={conn}\r").as_bytes(),
            format!("\r\n#SI: {conn},30006,30006,0,0\r\n\r\nOK\r\n").as_bytes(),
        );
    }
    // Only the owner may close its socket.
    ports[0].exchange(b"AT+CMEE=1;#SH=2\r", b"\r\n+CME ERROR: 551\r\n");
    for (i, port) in ports.iter_mut().enumerate() {
        port.exchange(format!("AT#SH={}\r", i + 1).as_bytes(), b"\r\nOK\r\n");
    }
    for connection in echo.wait_closed(3) {
        let conn = usize::from(connection.received[0] - b'0');
        let mut want = instance_data(conn);
        want.extend_from_slice(format!("ping {conn}").as_bytes());
        assert!(
            connection.received == want,
            "the server got instance {conn}'s bytes exactly"
        );
    }
    ports[0].exchange(b"AT#SS\r", all_closed().as_bytes());
    world.stop();
}

// ---------------------------------------------------------------------------------------------
// 5. 1,000 open/close cycles and the descriptors
// ---------------------------------------------------------------------------------------------

/// The control socket path from a `simodem run` banner.
fn control_path(emulator: &Emulator) -> PathBuf {
    let last = emulator.banner.last().expect("banner");
    PathBuf::from(
        last.strip_prefix("simodem: control socket ")
            .expect("control socket line"),
    )
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .expect("read the emulator's /proc/PID/fd")
}

/// 1,000 `#SD` (command mode) / `#SH` cycles through a `simodem run` child leave it with no
/// more descriptors than before, the server sees every connection closed, and `#SS` shows
/// all six sockets closed.
#[test]
fn a_thousand_dial_and_close_cycles_leave_no_descriptor_behind() {
    let dir = scratch(SUITE, "fds");
    let link = dir.join("tty");
    let emulator = Emulator::start(&["--model", "telit", "--link", link.to_str().expect("path")]);
    let pid = emulator.child.id();
    Ctl::connect(&control_path(&emulator)).wait_registered(0);
    let mut port = Port::open(&link);
    port.exchange(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    activate(&mut port);

    let server = ClosingServer::start();
    let server_port = server.port;
    let dial = format!("AT#SD=1,0,{server_port},\"127.0.0.1\",0,0,1\r");
    port.exchange(dial.as_bytes(), b"\r\nOK\r\n");
    port.exchange(b"AT#SH=1\r", b"\r\nOK\r\n");
    server.settled(1);
    let before = open_fds(pid);
    for _ in 0..1000 {
        port.exchange(dial.as_bytes(), b"\r\nOK\r\n");
        port.exchange(b"AT#SH=1\r", b"\r\nOK\r\n");
    }
    port.exchange(b"AT#SS\r", all_closed().as_bytes());
    server.settled(1001);
    let deadline = Instant::now() + TIMEOUT;
    while open_fds(pid) > before && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        open_fds(pid),
        before,
        "the emulator's descriptors after 1,000 cycles"
    );
    drop(server);
    drop(port);
    assert!(emulator.terminate().success());
}

// ---------------------------------------------------------------------------------------------
// 6. NVM across #REBOOT and a process restart
// ---------------------------------------------------------------------------------------------

/// Sends `AT` until the answer carries the echo again (a rebooted module is back at `E1`).
fn wait_rebooted(port: &mut Port) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        port.send(b"AT\r");
        let got = read_until(port, b"OK\r\n", Duration::from_millis(500));
        if got == b"AT\r\r\nOK\r\n" {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no echo after #REBOOT; last answer {:?}",
            String::from_utf8_lossy(&got)
        );
    }
}

/// Polls `AT#SGACT?` until `#SGACTCFG` has brought context 1 up by itself.
fn wait_auto_activated(port: &mut Port) {
    poll_until(port, b"AT#SGACT?\r", b"\r\n#SGACT: 1,1\r\n\r\nOK\r\n");
}

const SCFG_SET: &str = "\r\n#SCFG: 1,1,300,90,600,50\r\n#SCFG: 2,1,512,120,300,20\r\n\
    #SCFG: 3,1,300,90,600,50\r\n#SCFG: 4,2,300,90,600,50\r\n#SCFG: 5,2,300,90,600,50\r\n\
    #SCFG: 6,2,300,90,600,50\r\n\r\nOK\r\n";
const SCFGEXT_SET: &str = "\r\n#SCFGEXT: 1,0,0,0,0,0\r\n#SCFGEXT: 2,1,1,10,1,1\r\n\
    #SCFGEXT: 3,0,0,0,0,0\r\n#SCFGEXT: 4,0,0,0,0,0\r\n#SCFGEXT: 5,0,0,0,0,0\r\n\
    #SCFGEXT: 6,0,0,0,0,0\r\n\r\nOK\r\n";
const SCFGEXT2_SET: &str = "\r\n#SCFGEXT2: 1,0,0,0,0,0\r\n#SCFGEXT2: 2,1,0,0,0,0\r\n\
    #SCFGEXT2: 3,0,0,0,0,0\r\n#SCFGEXT2: 4,0,0,0,0,0\r\n#SCFGEXT2: 5,0,0,0,0,0\r\n\
    #SCFGEXT2: 6,0,0,0,0,0\r\n\r\nOK\r\n";
const SGACTCFG_SET: &str = "\r\n#SGACTCFG: 1,1,180,0\r\n#SGACTCFG: 2,0,180,0\r\n\
    #SGACTCFG: 3,0,180,0\r\n#SGACTCFG: 4,0,180,0\r\n#SGACTCFG: 5,0,180,0\r\n\r\nOK\r\n";

/// The NVM settings are there; with `volatile_set`, so are the firewall rule and CHAP,
/// otherwise both are back at their defaults (no rule, PAP).
fn assert_settings(port: &mut Port, volatile_set: bool) {
    port.exchange(b"AT#SCFG?\r", SCFG_SET.as_bytes());
    port.exchange(b"AT#SCFGEXT?\r", SCFGEXT_SET.as_bytes());
    port.exchange(b"AT#SCFGEXT2?\r", SCFGEXT2_SET.as_bytes());
    port.exchange(b"AT#SGACTCFG?\r", SGACTCFG_SET.as_bytes());
    if volatile_set {
        port.exchange(
            b"AT#FRWL?\r",
            b"\r\n#FRWL: \"127.0.0.1\",\"255.255.255.255\"\r\n\r\nOK\r\n",
        );
        port.exchange(b"AT#SGACTAUTH?\r", b"\r\n#SGACTAUTH: 2\r\n\r\nOK\r\n");
    } else {
        port.exchange(b"AT#FRWL?\r", b"\r\nOK\r\n");
        port.exchange(b"AT#SGACTAUTH?\r", b"\r\n#SGACTAUTH: 1\r\n\r\nOK\r\n");
    }
}

/// `#SCFG`, `#SCFGEXT`, `#SCFGEXT2` and `#SGACTCFG` survive `AT#REBOOT` and, with `--state`, a
/// restart of the process; `#FRWL` rules and `#SGACTAUTH` do not. `#SGACTCFG=1,1` brings
/// context 1 up by itself after each power-on.
#[test]
fn socket_configuration_survives_reboot_and_restart_and_auto_activation_follows() {
    let dir = scratch(SUITE, "nvm");
    let link = dir.join("tty");
    let state = dir.join("state");
    std::fs::create_dir_all(&state).expect("state dir");
    let args = [
        "--model",
        "telit",
        "--link",
        link.to_str().expect("path"),
        "--state",
        state.to_str().expect("path"),
    ];
    let emulator = Emulator::start(&args);
    let mut ctl = Ctl::connect(&control_path(&emulator));
    ctl.wait_registered(0);
    let mut port = Port::open(&link);
    port.exchange(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    for command in [
        &b"AT#SCFG=2,1,512,120,300,20\r"[..],
        b"AT#SCFGEXT=2,1,1,10,1,1\r",
        b"AT#SCFGEXT2=2,1\r",
        b"AT#SGACTCFG=1,1\r",
        b"AT#FRWL=1,\"127.0.0.1\",\"255.255.255.255\"\r",
        b"AT#SGACTAUTH=2\r",
    ] {
        port.exchange(command, b"\r\nOK\r\n");
    }
    assert_settings(&mut port, true);
    // Auto-activation starts with the next attach (or power-on), not at once.
    port.exchange(b"AT#SGACT?\r", b"\r\n#SGACT: 1,0\r\n\r\nOK\r\n");

    port.exchange(b"AT#REBOOT\r", b"\r\nOK\r\n");
    wait_rebooted(&mut port);
    port.exchange(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    ctl.wait_registered(0);
    wait_auto_activated(&mut port);
    assert_settings(&mut port, false);

    drop((port, ctl));
    assert!(emulator.terminate().success(), "clean exit on SIGTERM");
    let emulator = Emulator::start(&args);
    Ctl::connect(&control_path(&emulator)).wait_registered(0);
    let mut port = Port::open(&link);
    port.exchange(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    wait_auto_activated(&mut port);
    assert_settings(&mut port, false);
    // The auto-activated context carries sockets like one #SGACT brought up.
    let echo = EchoServer::start();
    port.exchange(
        format!("AT#SD=2,0,{},\"127.0.0.1\",0,0,1\r", echo.port).as_bytes(),
        b"\r\nOK\r\n",
    );
    port.exchange(b"AT#SH=2\r", b"\r\nOK\r\n");
    echo.wait_closed(1);
    drop(port);
    assert!(emulator.terminate().success(), "clean exit on SIGTERM");
}

// ---------------------------------------------------------------------------------------------
// 7. The peer closes under online mode
// ---------------------------------------------------------------------------------------------

/// A peer that sends and closes ends online mode with its bytes then `NO CARRIER`, and the
/// socket is closed (`#SS: 1,0`); a reset does the same; with closureType 255 the socket stays
/// online after the close until `+++`, which answers `NO CARRIER`.
#[test]
fn a_peer_closing_under_online_mode_is_no_carrier_and_the_socket_closed() {
    let (world, mut port) = ready("peer-close");
    activate(&mut port);
    let (listener, server_port) = server();
    let dial = format!("AT#SD=1,0,{server_port},\"127.0.0.1\"\r");

    port.exchange(dial.as_bytes(), b"\r\nCONNECT\r\n");
    let (mut peer, _) = accept(&listener);
    peer.write_all(b"bye").expect("peer write");
    drop(peer);
    port.expect(b"bye\r\nNO CARRIER\r\n");
    port.exchange(b"AT#SS=1\r", b"\r\n#SS: 1,0\r\n\r\nOK\r\n");
    port.exchange(b"AT#SO=1\r", b"\r\nNO CARRIER\r\n");

    port.exchange(dial.as_bytes(), b"\r\nCONNECT\r\n");
    let (peer, _) = accept(&listener);
    reset(peer);
    port.expect(b"\r\nNO CARRIER\r\n");
    port.exchange(b"AT#SS=1\r", b"\r\n#SS: 1,0\r\n\r\nOK\r\n");

    port.exchange(
        format!("AT#SD=1,0,{server_port},\"127.0.0.1\",255\r").as_bytes(),
        b"\r\nCONNECT\r\n",
    );
    let (mut peer, _) = accept(&listener);
    peer.write_all(b"last words").expect("peer write");
    drop(peer);
    port.expect(b"last words");
    assert_silent(&mut port, Duration::from_millis(300));
    escape(&mut port, b"\r\nNO CARRIER\r\n");
    port.exchange(b"AT#SS=1\r", b"\r\n#SS: 1,0\r\n\r\nOK\r\n");
    port.exchange(b"AT\r", b"\r\nOK\r\n");
    world.stop();
}
