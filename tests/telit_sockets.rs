//! The Telit IP Easy sockets end to end: a client on the real PTYs, the modem's sockets real
//! loopback sockets, servers and callers in the test; a pyserial client following Telit's IP
//! Easy User Guide.
//!
//! Everything talks to 127.0.0.1 only.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use simodem::network::ModemSpec;
use support::clients::{CLIENT_TIMEOUT, collect, python_pyserial, spawn_piped};
use support::{TIMEOUT, World, scratch};

const SUITE: &str = "telit-sockets";

// ---------------------------------------------------------------------------------------------
// The modem
// ---------------------------------------------------------------------------------------------

fn telit_spec() -> ModemSpec {
    ModemSpec {
        model: Some("telit".into()),
        ..ModemSpec::default()
    }
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
