//! Helpers of the Telit ATRUN integration tests: a `simodem run --config` world of a Telit
//! and a SIM900 "mobile", PTY and TCP peers read with deadlines, SMS PDUs built and parsed
//! by hand (independently of simodem's codec), and the emulator's descriptors and memory.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use md5::{Digest, Md5};
use serde_json::json;

use super::{Ctl, Emulator, Port, scratch};

/// The Telit's subscriber number: the application note's (`+393468686711`).
pub const TELIT_NUMBER: &str = "+393468686711";
/// The second modem of the world, "the mobile" of the application note.
pub const MOBILE_NUMBER: &str = "+393290000000";
/// The application note's SMS ATRUN password.
pub const PASSWORD: &str = "1234567890123456";
/// What context 1 gets (`#SGACT: 10.64.0.2`).
pub const ADDRESS: &str = "10.64.0.2";
/// How long to wait for something that should come at once (a hang guard, not a measure).
pub const WAIT: Duration = Duration::from_secs(5);
/// How long to wait for a reboot and its context auto-activation.
pub const BOOT_WAIT: Duration = Duration::from_secs(20);

/// How the emulator of a test is started.
#[derive(Debug, Default, Clone)]
pub struct Options {
    /// `--trace`, stderr to `<dir>/trace.log`.
    pub trace: bool,
    /// The mobile (a SIM900) next to the Telit.
    pub mobile: bool,
    /// `--state` for the Telit (its NVM kept in `<dir>/state`).
    pub state: bool,
}

/// `simodem run --config <dir>/world.json`: the Telit on `<dir>/telit` (instances 2 and 3
/// on `telit-2`, `telit-3`), optionally the mobile on `<dir>/mobile`; the operator is
/// "vodafone IT" and the network delivers and acknowledges SMS at once.
pub struct AtrunWorld {
    pub emulator: Emulator,
    pub dir: PathBuf,
    pub control: PathBuf,
    pub telit: PathBuf,
    pub mobile: PathBuf,
    pub trace: PathBuf,
}

impl AtrunWorld {
    pub fn start(name: &str, options: Options) -> AtrunWorld {
        let dir = scratch("atrun", name);
        let control = dir.join("ctl");
        let telit = dir.join("telit");
        let mobile = dir.join("mobile");
        let trace = dir.join("trace.log");
        let mut modems = vec![json!({
            "model": "telit",
            "link": telit,
            "number": TELIT_NUMBER,
        })];
        if options.state {
            modems[0]["state"] = json!(dir.join("state"));
        }
        if options.mobile {
            modems.push(json!({"link": mobile, "number": MOBILE_NUMBER}));
        }
        let world = json!({
            "control": control,
            "operator": "vodafone IT",
            "sms_delay_ms": 0,
            "sms_ack_ms": 0,
            "modems": modems,
        });
        let config = dir.join("world.json");
        std::fs::write(&config, world.to_string()).expect("write the world file");
        let config = config.to_str().expect("utf-8 path").to_string();
        let emulator = if options.trace {
            let log = std::fs::File::create(&trace).expect("trace log");
            Emulator::start_with_stderr(&["--config", &config, "--trace"], Stdio::from(log))
        } else {
            Emulator::start(&["--config", &config])
        };
        let world = AtrunWorld {
            emulator,
            dir,
            control,
            telit,
            mobile,
            trace,
        };
        let mut ctl = world.ctl();
        ctl.wait_state(0, |s| s["registration"]["creg"] == 1);
        if options.mobile {
            ctl.wait_state(1, |s| s["registration"]["creg"] == 1);
        }
        world
    }

    pub fn ctl(&self) -> Ctl {
        Ctl::connect(&self.control)
    }

    pub fn pid(&self) -> u32 {
        self.emulator.child.id()
    }

    /// The Telit's instance `instance` (1..=3), opened, nothing sent yet.
    pub fn telit_port(&self, instance: u8) -> AtPort {
        let path = match instance {
            1 => self.telit.clone(),
            n => simodem::network::instance_link(&self.telit, n),
        };
        AtPort::open(&path)
    }

    /// The Telit's instance 1 with echo off.
    pub fn telit_ready(&self) -> AtPort {
        let mut port = self.telit_port(1);
        port.exchange(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
        port
    }

    /// The mobile with echo off.
    pub fn mobile_ready(&self) -> AtPort {
        let mut port = AtPort::open(&self.mobile);
        port.exchange(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
        port
    }

    /// Stops the emulator (SIGTERM) and returns the trace log written so far.
    pub fn stop(self) -> String {
        let status = self.emulator.terminate();
        assert!(status.success(), "simodem exited with {status}");
        std::fs::read_to_string(&self.trace).unwrap_or_default()
    }
}

// ---------------------------------------------------------------------------------------------
// PTYs
// ---------------------------------------------------------------------------------------------

/// An AT port read with deadlines.
pub struct AtPort {
    pub port: Port,
}

impl AtPort {
    pub fn open(path: &Path) -> AtPort {
        AtPort {
            port: Port::open(path),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.port.send(bytes);
    }

    /// Reads while `more` holds for what came, or until `timeout`.
    pub fn read_while(&mut self, more: impl Fn(&[u8]) -> bool, timeout: Duration) -> Vec<u8> {
        let deadline = Instant::now() + timeout;
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while more(&got) && Instant::now() < deadline {
            match self.port.file.read(&mut buf) {
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => panic!("read: {e}"),
            }
        }
        got
    }

    /// Reads until what came ends with `suffix` (or `WAIT` passes).
    pub fn read_until(&mut self, suffix: &[u8]) -> Vec<u8> {
        self.read_while(|got| !got.ends_with(suffix), WAIT)
    }

    /// Reads exactly as many bytes as `expected` has (extras in the same read kept) and
    /// compares.
    #[track_caller]
    pub fn expect(&mut self, expected: &[u8]) {
        let got = self.read_while(|got| got.len() < expected.len(), WAIT);
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(expected)
        );
    }

    #[track_caller]
    pub fn exchange(&mut self, command: &[u8], expected: &[u8]) {
        self.send(command);
        self.expect(expected);
    }

    /// `command` answered `\r\nOK\r\n` (echo off).
    #[track_caller]
    pub fn ok(&mut self, command: &str) {
        self.exchange(format!("{command}\r").as_bytes(), b"\r\nOK\r\n");
    }

    /// Nothing arrives for `quiet`.
    #[track_caller]
    pub fn silent(&mut self, quiet: Duration) {
        let got = self.read_while(|_| true, quiet);
        assert_eq!(String::from_utf8_lossy(&got), "", "the port said something");
    }
}

// ---------------------------------------------------------------------------------------------
// TCP peers
// ---------------------------------------------------------------------------------------------

/// The first odd port from `first` (up to 47899) that 127.0.0.1 lets us bind now: the modem
/// is configured to listen there (the range lies in Linux's ephemeral ports; another
/// connection may hold one).
pub fn free_odd_port(first: u16) -> u16 {
    let first = first | 1;
    (first..=47899)
        .step_by(2)
        .find(|&p| TcpListener::bind(("127.0.0.1", p)).is_ok())
        .expect("a free odd port in 47801-47899")
}

/// A TCP connection to 127.0.0.1:`port` from `source` (an address of 127.0.0.0/8).
pub fn connect_from(source: &str, port: u16) -> std::io::Result<TcpStream> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(format!("{source}:0").parse().expect("source address"))?;
    let target = SocketAddr::from(([127, 0, 0, 1], port));
    let stream = runtime.block_on(socket.connect(target))?.into_std()?;
    stream.set_nonblocking(false)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_millis(20)))?;
    Ok(stream)
}

/// Connects from 127.0.0.1 once the modem listens again (it re-binds after each session).
#[track_caller]
pub fn connect_when_listening(port: u16, timeout: Duration) -> TcpStream {
    let deadline = Instant::now() + timeout;
    loop {
        match connect_from("127.0.0.1", port) {
            Ok(stream) => return stream,
            Err(e) if Instant::now() < deadline && e.kind() == ErrorKind::ConnectionRefused => {
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => panic!("connect to 127.0.0.1:{port}: {e}"),
        }
    }
}

/// What a read of a TCP peer found.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// Still open when the wait ended.
    Open,
    /// EOF.
    Closed,
    /// RST.
    Reset,
}

/// Reads `stream` while `more` holds for what came, until EOF/RST or `timeout`.
pub fn read_stream_while(
    stream: &mut TcpStream,
    more: impl Fn(&[u8]) -> bool,
    timeout: Duration,
) -> (Vec<u8>, Ended) {
    let deadline = Instant::now() + timeout;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while more(&got) && Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => return (got, Ended::Closed),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return (got, Ended::Reset),
            Err(e) => panic!("read: {e}"),
        }
    }
    (got, Ended::Open)
}

/// Reads exactly as many bytes as `expected` has and compares them.
#[track_caller]
pub fn expect_stream(stream: &mut TcpStream, expected: &[u8]) {
    let (got, _) = read_stream_while(stream, |got| got.len() < expected.len(), WAIT);
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(expected)
    );
}

/// Sends `command` and compares what comes back with `expected`.
#[track_caller]
pub fn stream_exchange(stream: &mut TcpStream, command: &[u8], expected: &[u8]) {
    stream.write_all(command).expect("write to the modem");
    expect_stream(stream, expected);
}

/// The modem ends the connection (EOF or RST) without sending a byte.
#[track_caller]
pub fn expect_dropped(stream: &mut TcpStream) -> Ended {
    let (got, ended) = read_stream_while(stream, |_| true, WAIT);
    assert_eq!(String::from_utf8_lossy(&got), "", "bytes before the close");
    assert_ne!(ended, Ended::Open, "the modem kept the connection");
    ended
}

/// A connection from `source` that the modem turns away: refused at once, or accepted by
/// the kernel and then reset/closed with nothing sent.
#[track_caller]
pub fn expect_turned_away(source: &str, port: u16) {
    match connect_from(source, port) {
        Ok(mut stream) => {
            expect_dropped(&mut stream);
        }
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        Err(e) => panic!("want a reset or EOF, connect failed: {e}"),
    }
}

// ---------------------------------------------------------------------------------------------
// SMS PDUs, by hand
// ---------------------------------------------------------------------------------------------

/// `+393468686711` → `0C 91 93 43 86 68 76 11` (length in digits, type, semi-octets).
pub fn address_octets(number: &str) -> Vec<u8> {
    let (kind, digits) = match number.strip_prefix('+') {
        Some(rest) => (0x91, rest),
        None => (0x81, number),
    };
    let digits: Vec<u8> = digits.bytes().map(|b| b - b'0').collect();
    let mut out = vec![digits.len() as u8, kind];
    for pair in digits.chunks(2) {
        let high = pair.get(1).copied().unwrap_or(0x0F);
        out.push((high << 4) | pair[0]);
    }
    out
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

pub fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

/// An SMS-SUBMIT with the default SMSC (`00`), relative validity `AD` as the app note's:
/// the hex for `AT+CMGS` and the TPDU's length.
pub fn submit_pdu(to: &str, dcs: u8, user_data: &[u8]) -> (String, usize) {
    let mut tpdu = vec![0x11, 0x00];
    tpdu.extend(address_octets(to));
    tpdu.extend([0x00, dcs, 0xAD, user_data.len() as u8]);
    tpdu.extend_from_slice(user_data);
    (format!("00{}", hex(&tpdu)), tpdu.len())
}

/// An SMS-DELIVER (SMSC `+393492000200`) for `ctl sms deliver --pdu`; `udl` is the TP-UDL
/// (octets, or septets for 7-bit) and `packed` the user data as it travels.
pub fn deliver_pdu(from: &str, dcs: u8, udl: u8, packed: &[u8]) -> String {
    let mut pdu = vec![0x07, 0x91, 0x93, 0x43, 0x29, 0x00, 0x20, 0x00];
    pdu.push(0x04);
    pdu.extend(address_octets(from));
    pdu.extend([0x00, dcs]);
    pdu.extend([0x62, 0x10, 0x10, 0x00, 0x00, 0x00, 0x40]);
    pdu.push(udl);
    pdu.extend_from_slice(packed);
    hex(&pdu)
}

/// GSM 7-bit packing of ASCII text without characters the default alphabet maps elsewhere.
pub fn pack_septets(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for &c in text {
        acc |= u32::from(c & 0x7F) << bits;
        bits += 7;
        while bits >= 8 {
            out.push((acc & 0xFF) as u8);
            acc >>= 8;
            bits -= 8;
        }
    }
    if bits > 0 {
        out.push((acc & 0xFF) as u8);
    }
    out
}

/// An SMS-DELIVER as `AT+CMGR` shows it in PDU mode, split into its fields.
#[derive(Debug, PartialEq, Eq)]
pub struct ReadDeliver {
    pub smsc: Vec<u8>,
    pub first_octet: u8,
    pub originator: Vec<u8>,
    pub pid: u8,
    pub dcs: u8,
    pub timestamp: Vec<u8>,
    pub udl: u8,
    pub user_data: Vec<u8>,
}

pub fn parse_deliver(pdu: &[u8]) -> ReadDeliver {
    let smsc_len = usize::from(pdu[0]);
    let mut at = 1 + smsc_len;
    let smsc = pdu[1..at].to_vec();
    let first_octet = pdu[at];
    at += 1;
    let oa_digits = usize::from(pdu[at]);
    let oa_len = 2 + oa_digits.div_ceil(2);
    let originator = pdu[at..at + oa_len].to_vec();
    at += oa_len;
    let (pid, dcs) = (pdu[at], pdu[at + 1]);
    at += 2;
    let timestamp = pdu[at..at + 7].to_vec();
    at += 7;
    let udl = pdu[at];
    ReadDeliver {
        smsc,
        first_octet,
        originator,
        pid,
        dcs,
        timestamp,
        udl,
        user_data: pdu[at + 1..].to_vec(),
    }
}

// ---------------------------------------------------------------------------------------------
// Digests (B.6), computed here with md-5 and base64 directly
// ---------------------------------------------------------------------------------------------

fn b64_md5(bytes: &[u8]) -> String {
    STANDARD.encode(Md5::digest(bytes))
}

/// `B64(MD5(B64(MD5(pwd)) ":" B64(MD5(text))))`.
pub fn digest(password: &str, text: &[u8]) -> String {
    let inner = format!("{}:{}", b64_md5(password.as_bytes()), b64_md5(text));
    b64_md5(inner.as_bytes())
}

/// `D0 D0 D0 00 11 01`, the digest of `text` with `password`, then `text`.
pub fn digest_request(password: &str, text: &[u8]) -> Vec<u8> {
    let mut ud = vec![0xD0, 0xD0, 0xD0, 0x00, 0x11, 0x01];
    ud.extend_from_slice(digest(password, text).as_bytes());
    ud.extend_from_slice(text);
    ud
}

// ---------------------------------------------------------------------------------------------
// The emulator process
// ---------------------------------------------------------------------------------------------

/// Open descriptors of process `pid`.
pub fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("/proc/<pid>/fd")
        .count()
}

/// Resident memory of process `pid` in kB (`VmRSS`).
pub fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// Waits until `pid` has `count` descriptors again; the count last seen.
pub fn wait_fd_count(pid: u32, count: usize, timeout: Duration) -> usize {
    let deadline = Instant::now() + timeout;
    loop {
        let now = fd_count(pid);
        if now == count || Instant::now() >= deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
