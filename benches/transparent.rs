//! Transparent data mode (`AT+CIPMODE=1`) against socat in the same run: throughput each way
//! between the PTY and a real loopback TCP socket (SHA-256 checked), and socket↔PTY latency.
//!
//! Two sides, each a PTY slave opened like a client (`O_RDWR | O_NOCTTY`, `cfmakeraw`) plus the
//! accepted end of a loopback TCP connection (a `TcpListener` on 127.0.0.1 in this process):
//!
//! - simodem: one SIM900 (`simodem::host::start`) on a tokio current-thread runtime in its own
//!   thread, as the binary runs it; the client sends the sequence of `tests/tcpip.rs`
//!   (`ATE0`, `AT+CIPMODE=1`, `AT+CIPCCFG=5,2,1024,1`, `AT+CSTT`, `AT+CIICR`, `AT+CIFSR`,
//!   `AT+CIPSTART="TCP","127.0.0.1",<port>`) and gets `CONNECT`;
//! - the baseline: `socat pty,raw,echo=0,link=<path> tcp:127.0.0.1:<port>`.
//!
//! The very same code drives both: a PTY fd in non-blocking mode (read/write, `poll` only when
//! the kernel says `EAGAIN`), a blocking `TcpStream`, 64 KiB chunks on every side.
//!
//! - Throughput: N MiB of pseudo-random bytes with runs of `+`, 0x1A and 0x1B, DTE→TCP, TCP→DTE
//!   and both at once, in rounds that alternate which side goes first; the bytes that arrived
//!   are checked by length and SHA-256 after the clock stopped. Each run also records the CPU
//!   time of the relay (simodem's runtime thread, or the socat process) from `schedstat`: per MB
//!   moved it is steadier than MB/s on a small, shared machine.
//! - Latency: one message at a time, written on one end and timed until all of it was read on
//!   the other, with the threads pinned (all on CPU 0; relay on CPU 1): unpinned, the figures
//!   jump between a same-CPU and a cross-CPU wake-up from run to run. DTE→TCP uses 1,024-byte
//!   messages: `+CIPCCFG` SendSz is 1,024, so a shorter message waits WaitTm (200 ms) before it
//!   is sent, by design (the module packs data the same way).
//!
//! `cargo bench --bench transparent` runs the full measurement and writes
//! `target/bench-transparent.json`; without `--bench` (as under `cargo test --all-targets`) it
//! runs a short smoke version. Environment: `SIMODEM_BENCH_MIB` (default 64),
//! `SIMODEM_BENCH_ROUNDS` (7), `SIMODEM_BENCH_SAMPLES` (latency samples per side and kind, 2000),
//! `SIMODEM_BENCH_PARTS` (`up,down,both,latency`), `SIMODEM_BENCH_THROUGHPUT_AT` (`free`) and
//! `SIMODEM_BENCH_LATENCY_AT` (`same,split`) from `free`/`same`/`split`, `SIMODEM_BENCH_SOCAT`
//! (`/usr/bin/socat`), `SIMODEM_BENCH_JSON` (where the results go).

mod common;

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use common::{
    Client, Emulator, Summary, affinity, check, cpu_model, kernel, micros, one_cpu, read_some,
    readable_within, set_affinity, summarize, write_all,
};

/// Every read and write buffer, on every side.
const CHUNK: usize = 64 * 1024;
/// The modem's boot timeline (SIM start-up, registration timers) is over well before this.
const BOOT_SETTLE: Duration = Duration::from_millis(1200);
/// A hang guard for any one read, write or answer (not a measurement).
const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// How long to wait for bytes nobody should have sent.
const QUIET: Duration = Duration::from_millis(50);
const TARGET_RATIO: f64 = 0.95;
const DEFAULT_SOCAT: &str = "/usr/bin/socat";

struct Plan {
    /// Which runs to make (`SIMODEM_BENCH_PARTS`, e.g. `up,latency`; default all).
    parts: Vec<String>,
    mib: usize,
    rounds: usize,
    warmup_mib: usize,
    samples: usize,
    latency_rounds: usize,
    latency_warmup: usize,
    /// Where throughput runs (`SIMODEM_BENCH_THROUGHPUT_AT`, default `free`).
    throughput_at: Vec<Placement>,
    /// Where latency runs (`SIMODEM_BENCH_LATENCY_AT`, default `same,split`).
    latency_at: Vec<Placement>,
}

impl Plan {
    fn new(full: bool) -> Result<Plan, String> {
        let env = |name: &str, default: usize| -> Result<usize, String> {
            match std::env::var(name) {
                Ok(v) => v
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("{name}={v:?} is not a positive whole number")),
                Err(_) => Ok(default),
            }
        };
        let (mib, rounds, samples) = if full { (64, 7, 2000) } else { (4, 1, 100) };
        let mib = env("SIMODEM_BENCH_MIB", mib)?;
        let samples = env("SIMODEM_BENCH_SAMPLES", samples)?;
        let latency_rounds = if full { 10 } else { 2 };
        let placements = |name: &str, default: &str| -> Result<Vec<Placement>, String> {
            let list = std::env::var(name).unwrap_or_else(|_| default.into());
            let nproc = std::thread::available_parallelism().map_or(1, |n| n.get());
            let mut placements = Vec::new();
            for word in list.split(',').map(str::trim) {
                let placement = Placement::parse(word)
                    .ok_or_else(|| format!("{name}: {word:?} is not one of free, same, split"))?;
                if placement == Placement::SplitCpus && nproc < 2 {
                    eprintln!("NOTICE: one CPU: no split placement");
                    continue;
                }
                placements.push(placement);
            }
            Ok(placements)
        };
        let parts = std::env::var("SIMODEM_BENCH_PARTS")
            .unwrap_or_else(|_| "up,down,both,latency".into())
            .split(',')
            .map(|p| p.trim().to_string())
            .collect();
        Ok(Plan {
            parts,
            mib,
            rounds: env("SIMODEM_BENCH_ROUNDS", rounds)?,
            warmup_mib: mib.min(8),
            samples: samples.div_ceil(latency_rounds) * latency_rounds,
            latency_rounds,
            latency_warmup: if full { 200 } else { 20 },
            throughput_at: placements("SIMODEM_BENCH_THROUGHPUT_AT", "free")?,
            latency_at: placements("SIMODEM_BENCH_LATENCY_AT", "same,split")?,
        })
    }
}

impl Plan {
    fn wants(&self, part: &str) -> bool {
        self.parts.iter().any(|p| p == part)
    }
}

// ----- PTY I/O: non-blocking fd, poll only on EAGAIN (the same for both sides) -----

fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on an open fd with integer arguments.
    let flags = check(unsafe { libc::fcntl(fd, libc::F_GETFL) }, "F_GETFL")?;
    // SAFETY: as above.
    check(
        unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) },
        "F_SETFL",
    )?;
    Ok(())
}

/// Waits until `fd` reports `events`; `TimedOut` after `timeout`.
fn wait_for(fd: RawFd, events: libc::c_short, timeout: Duration) -> io::Result<()> {
    let mut pfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    loop {
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, timeout.as_millis() as libc::c_int) };
        if n > 0 {
            return Ok(());
        }
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "PTY poll timed out",
            ));
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// One read of what the PTY holds (at least one byte).
fn pty_read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: buf is valid for buf.len() writable bytes.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n > 0 {
            return Ok(n as usize);
        }
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "PTY closed"));
        }
        let e = io::Error::last_os_error();
        match e.kind() {
            io::ErrorKind::WouldBlock => wait_for(fd, libc::POLLIN, IO_TIMEOUT)?,
            io::ErrorKind::Interrupted => {}
            _ => return Err(e),
        }
    }
}

fn pty_write_all(fd: RawFd, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        // SAFETY: bytes is valid for bytes.len() readable bytes.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n >= 0 {
            bytes = &bytes[n as usize..];
            continue;
        }
        let e = io::Error::last_os_error();
        match e.kind() {
            io::ErrorKind::WouldBlock => wait_for(fd, libc::POLLOUT, IO_TIMEOUT)?,
            io::ErrorKind::Interrupted => {}
            _ => return Err(e),
        }
    }
    Ok(())
}

fn pty_read_exact(fd: RawFd, buf: &mut [u8]) -> io::Result<()> {
    let mut got = 0;
    while got < buf.len() {
        got += pty_read(fd, &mut buf[got..])?;
    }
    Ok(())
}

/// Bytes `fd` (or the socket) delivers within `QUIET`: there should be none.
fn pty_stray(fd: RawFd) -> io::Result<Vec<u8>> {
    let mut stray = Vec::new();
    let mut buf = [0u8; 4096];
    while wait_for(fd, libc::POLLIN, QUIET).is_ok() {
        match pty_read(fd, &mut buf) {
            Ok(n) => stray.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    Ok(stray)
}

fn socket_stray(peer: &TcpStream) -> io::Result<Vec<u8>> {
    peer.set_nonblocking(true)?;
    std::thread::sleep(QUIET);
    let mut stray = Vec::new();
    let mut buf = [0u8; 4096];
    let result = loop {
        match (&*peer).read(&mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => stray.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    peer.set_nonblocking(false)?;
    result.map(|()| stray)
}

// ----- where the threads run -----

/// Which CPUs the bench's threads and the relays may use.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Placement {
    /// Wherever the scheduler puts them.
    Free,
    /// The bench's threads and the relay all on CPU 0: every wake-up stays on one CPU.
    SameCpu,
    /// The bench's threads on CPU 0, the relay on CPU 1.
    SplitCpus,
}

impl Placement {
    fn parse(name: &str) -> Option<Placement> {
        match name {
            "free" => Some(Placement::Free),
            "same" => Some(Placement::SameCpu),
            "split" => Some(Placement::SplitCpus),
            _ => None,
        }
    }

    fn key(self) -> &'static str {
        match self {
            Placement::Free => "free",
            Placement::SameCpu => "same",
            Placement::SplitCpus => "split",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Placement::Free => "unpinned",
            Placement::SameCpu => "bench threads and relay on CPU 0",
            Placement::SplitCpus => "bench threads on CPU 0, relay on CPU 1",
        }
    }
}

/// Puts the calling thread (so the bench threads it spawns) and both relays where `placement`
/// says; `all` is the mask to go back to for `Free`.
fn place(placement: Placement, sides: [&Endpoint; 2], all: &libc::cpu_set_t) -> io::Result<()> {
    let (bench, relay) = match placement {
        Placement::Free => (*all, *all),
        Placement::SameCpu => (one_cpu(0), one_cpu(0)),
        Placement::SplitCpus => (one_cpu(0), one_cpu(1)),
    };
    set_affinity(0, &bench)?;
    for side in sides {
        set_affinity(side.relay, &relay)?;
    }
    Ok(())
}

// ----- the data -----

/// Pseudo-random bytes (xorshift64) with runs of `+` (up to 8, so `+++` too), 0x1A and 0x1B.
fn awkward_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let run = (state >> 8) as usize % 8 + 1;
        match state % 16 {
            0 => out.extend(std::iter::repeat_n(b'+', run)),
            1 => out.extend(std::iter::repeat_n(0x1a, run)),
            2 => out.extend(std::iter::repeat_n(0x1b, run)),
            _ => out.extend_from_slice(&state.to_le_bytes()),
        }
    }
    out.truncate(len);
    out
}

/// The bytes one direction sends, and the SHA-256 of each length a run moves (a prefix).
struct Payload {
    bytes: Vec<u8>,
    digests: Vec<(usize, Vec<u8>)>,
}

impl Payload {
    fn new(lengths: &[usize], seed: u64) -> Payload {
        let len = lengths.iter().copied().max().unwrap_or(0);
        let bytes = awkward_bytes(len, seed);
        let digests = lengths
            .iter()
            .map(|&n| (n, Sha256::digest(&bytes[..n]).to_vec()))
            .collect();
        Payload { bytes, digests }
    }

    fn digest(&self, len: usize) -> Option<&[u8]> {
        self.digests
            .iter()
            .find(|(n, _)| *n == len)
            .map(|(_, d)| d.as_slice())
    }
}

// ----- socat as a child process, killed when dropped -----

struct Socat {
    child: Child,
    link: PathBuf,
}

impl Drop for Socat {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.link);
    }
}

fn socat_path() -> PathBuf {
    std::env::var_os("SIMODEM_BENCH_SOCAT").map_or_else(|| PathBuf::from(DEFAULT_SOCAT), Into::into)
}

fn socat_version(socat: &Path) -> String {
    Command::new(socat)
        .arg("-V")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .find(|l| l.starts_with("socat version"))
                .map(|l| l.split(" on ").next().unwrap_or(l).trim().to_string())
        })
        .unwrap_or_else(|| "socat (version unknown)".into())
}

/// Writes `command` (if any) and reads the answer until `done` says it is complete.
fn at_answer(pty: &Client, command: &str, done: &dyn Fn(&[u8]) -> bool) -> Result<String, String> {
    let fd = pty.fd.as_raw_fd();
    write_all(fd, command.as_bytes()).map_err(|e| format!("{command:?}: {e}"))?;
    let deadline = Instant::now() + IO_TIMEOUT;
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !done(&seen) {
        let left = deadline.saturating_duration_since(Instant::now());
        let ready = readable_within(fd, left).map_err(|e| format!("{command:?}: {e}"))?;
        if left.is_zero() || !ready {
            return Err(format!(
                "{command:?}: no full answer, got {:?}",
                String::from_utf8_lossy(&seen)
            ));
        }
        let n = read_some(fd, &mut buf).map_err(|e| format!("{command:?}: {e}"))?;
        if n == 0 {
            return Err(format!("{command:?}: the PTY closed"));
        }
        seen.extend_from_slice(&buf[..n]);
    }
    Ok(String::from_utf8_lossy(&seen).into_owned())
}

// ----- one side: the PTY client and the server's end of the connection -----

struct Endpoint {
    name: &'static str,
    pty: Client,
    peer: TcpStream,
    /// The thread that relays the bytes: simodem's runtime thread, or socat (one thread).
    relay: libc::pid_t,
    /// The emulator or socat behind the PTY (dropped last: stopped or killed).
    _owner: Box<dyn std::any::Any>,
}

impl Endpoint {
    fn fd(&self) -> RawFd {
        self.pty.fd.as_raw_fd()
    }

    /// CPU time the relay has used so far (the first field of `schedstat`, in ns).
    fn relay_cpu(&self) -> io::Result<Duration> {
        let path = format!("/proc/{}/schedstat", self.relay);
        let stat = std::fs::read_to_string(&path)?;
        stat.split_whitespace()
            .next()
            .and_then(|ns| ns.parse().ok())
            .map(Duration::from_nanos)
            .ok_or_else(|| io::Error::other(format!("{path}: unreadable")))
    }

    /// The loopback listener both sides connect to.
    fn listener() -> io::Result<(TcpListener, u16)> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        Ok((listener, port))
    }

    /// Accepts one connection within `IO_TIMEOUT`; `alive` says whether to keep waiting.
    fn accept(
        listener: &TcpListener,
        mut alive: impl FnMut() -> Result<(), String>,
    ) -> Result<TcpStream, String> {
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let deadline = Instant::now() + IO_TIMEOUT;
        loop {
            match listener.accept() {
                Ok((stream, _)) => return Ok(stream),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(format!("accept: {e}")),
            }
            alive()?;
            if Instant::now() > deadline {
                return Err("nobody connected to the listener".into());
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn finish(
        name: &'static str,
        pty: Client,
        peer: TcpStream,
        relay: libc::pid_t,
        owner: Box<dyn std::any::Any>,
    ) -> io::Result<Self> {
        peer.set_nonblocking(false)?;
        peer.set_nodelay(true)?;
        peer.set_read_timeout(Some(IO_TIMEOUT))?;
        peer.set_write_timeout(Some(IO_TIMEOUT))?;
        set_nonblocking(pty.fd.as_raw_fd())?;
        let endpoint = Endpoint {
            name,
            pty,
            peer,
            relay,
            _owner: owner,
        };
        endpoint.check_link()?;
        Ok(endpoint)
    }

    /// One message each way, and nothing else pending.
    fn check_link(&self) -> io::Result<()> {
        // A full SendSz packet, so simodem sends it at once.
        let up = vec![b'u'; 1024];
        pty_write_all(self.fd(), &up)?;
        let mut got = vec![0u8; up.len()];
        (&self.peer).read_exact(&mut got)?;
        if got != up {
            return Err(io::Error::other(format!(
                "{}: DTE→TCP check failed",
                self.name
            )));
        }
        (&self.peer).write_all(b"down")?;
        let mut got = [0u8; 4];
        pty_read_exact(self.fd(), &mut got)?;
        if &got != b"down" {
            return Err(io::Error::other(format!(
                "{}: TCP→DTE check got {:?}",
                self.name,
                String::from_utf8_lossy(&got)
            )));
        }
        self.expect_quiet()
    }

    fn expect_quiet(&self) -> io::Result<()> {
        let stray = pty_stray(self.fd())?;
        if !stray.is_empty() {
            return Err(io::Error::other(format!(
                "{}: {} stray bytes on the PTY: {:?}",
                self.name,
                stray.len(),
                String::from_utf8_lossy(&stray[..stray.len().min(80)])
            )));
        }
        let stray = socket_stray(&self.peer)?;
        if !stray.is_empty() {
            return Err(io::Error::other(format!(
                "{}: {} stray bytes on the socket",
                self.name,
                stray.len()
            )));
        }
        Ok(())
    }

    fn simodem(dir: &Path) -> Result<Endpoint, String> {
        let (listener, port) = Endpoint::listener().map_err(|e| format!("listen: {e}"))?;
        let emulator = Emulator::start(dir.join("simodem.pty"))?;
        let booted = Instant::now();
        let pty = Client::open(&emulator.slave_path).map_err(|e| format!("open: {e}"))?;
        // Let the boot timeline run out while the modem is still silent (auto-baud).
        std::thread::sleep(BOOT_SETTLE.saturating_sub(booted.elapsed()));
        let say = |command: &str, done: &dyn Fn(&[u8]) -> bool| at_answer(&pty, command, done);
        let expect = |command: &str, answer: &str| -> Result<(), String> {
            let got = say(command, &|seen| seen.len() >= answer.len())?;
            if got != answer {
                return Err(format!("{command:?} answered {got:?}, not {answer:?}"));
            }
            Ok(())
        };
        let ends_ok = |seen: &[u8]| seen.ends_with(b"OK\r\n");
        say("ATE0\r", &ends_ok)?;
        let stray = pty
            .stray_bytes(Duration::from_millis(100))
            .map_err(|e| e.to_string())?;
        if !stray.is_empty() {
            return Err(format!(
                "unexpected bytes after ATE0: {:?}",
                String::from_utf8_lossy(&stray)
            ));
        }
        let deadline = Instant::now() + IO_TIMEOUT;
        loop {
            let creg = say("AT+CREG?\r", &ends_ok)?;
            if creg.contains("+CREG: 0,1") || creg.contains("+CREG: 0,5") {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("not registered: {creg:?}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        expect("AT+CIPMODE=1\r", "\r\nOK\r\n")?;
        expect("AT+CIPCCFG=5,2,1024,1\r", "\r\nOK\r\n")?;
        expect("AT+CSTT=\"internet\",\"\",\"\"\r", "\r\nOK\r\n")?;
        expect("AT+CIICR\r", "\r\nOK\r\n")?;
        // `\r\n<address>\r\n`, no OK.
        let address = say("AT+CIFSR\r", &|seen| {
            seen.windows(2).filter(|w| w == b"\r\n").count() >= 2
        })?;
        if address.trim().parse::<std::net::Ipv4Addr>().is_err() {
            return Err(format!("AT+CIFSR answered {address:?}"));
        }
        expect(
            &format!("AT+CIPSTART=\"TCP\",\"127.0.0.1\",{port}\r"),
            "\r\nOK\r\n\r\nCONNECT\r\n",
        )?;
        let peer = Endpoint::accept(&listener, || Ok(()))?;
        let relay = emulator.tid;
        Endpoint::finish("simodem", pty, peer, relay, Box::new(emulator))
            .map_err(|e| format!("simodem: {e}"))
    }

    fn socat(dir: &Path, socat: &Path) -> Result<Endpoint, String> {
        let (listener, port) = Endpoint::listener().map_err(|e| format!("listen: {e}"))?;
        let link = dir.join("socat.pty");
        let child = Command::new(socat)
            .arg(format!("pty,raw,echo=0,link={}", link.display()))
            .arg(format!("tcp:127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", socat.display()))?;
        let mut socat = Socat { child, link };
        let peer = Endpoint::accept(&listener, || match socat.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!("socat exited: {status}")),
            Err(e) => Err(format!("socat: {e}")),
        })?;
        // socat makes the link before it connects.
        let pty =
            Client::open(&socat.link).map_err(|e| format!("open {}: {e}", socat.link.display()))?;
        let relay = libc::pid_t::try_from(socat.child.id()).expect("a pid fits pid_t");
        Endpoint::finish("socat", pty, peer, relay, Box::new(socat))
            .map_err(|e| format!("socat: {e}"))
    }
}

// ----- throughput -----

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Up,
    Down,
    Both,
}

impl Mode {
    fn up(self) -> bool {
        self != Mode::Down
    }
    fn down(self) -> bool {
        self != Mode::Up
    }
}

/// Receive buffers, reused from run to run.
struct Sinks {
    up: Vec<u8>,
    down: Vec<u8>,
}

/// How long each direction took, from the start to its last byte read.
struct Timing {
    up: Option<Duration>,
    down: Option<Duration>,
    /// CPU time the relay used for the whole run.
    relay_cpu: Duration,
}

fn mb_per_s(bytes: usize, took: Duration) -> f64 {
    bytes as f64 / 1e6 / took.as_secs_f64()
}

fn verify(what: &str, got: &[u8], sent: &Payload) -> io::Result<()> {
    let expected = sent
        .digest(got.len())
        .expect("a digest for every length a run moves");
    if Sha256::digest(got).as_slice() == expected {
        return Ok(());
    }
    let at = got
        .iter()
        .zip(&sent.bytes)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(sent.bytes.len()));
    Err(io::Error::other(format!(
        "{what}: SHA-256 differs (first difference at byte {at} of {})",
        got.len()
    )))
}

/// A direction's writer and reader threads; the reader returns when it had the last byte.
type Pair<'s> = (
    std::thread::ScopedJoinHandle<'s, io::Result<()>>,
    std::thread::ScopedJoinHandle<'s, io::Result<Instant>>,
);

fn join_pair(pair: Option<Pair<'_>>, what: &str) -> io::Result<Option<Instant>> {
    let Some((writer, reader)) = pair else {
        return Ok(None);
    };
    let panicked = |_| io::Error::other(format!("{what}: a thread panicked"));
    let wrote = writer.join().map_err(panicked)?;
    let read = reader.join().map_err(panicked)?;
    wrote.map_err(|e| io::Error::new(e.kind(), format!("{what} writer: {e}")))?;
    read.map(Some)
        .map_err(|e| io::Error::new(e.kind(), format!("{what} reader: {e}")))
}

/// Moves `len` bytes of `up` and/or `down` through `ep`; checks them after the clock stopped.
fn transfer(
    ep: &Endpoint,
    mode: Mode,
    len: usize,
    up: &Payload,
    down: &Payload,
    sinks: &mut Sinks,
) -> io::Result<Timing> {
    let fd = ep.fd();
    let peer = &ep.peer;
    let (sent_up, sent_down) = (&up.bytes[..len], &down.bytes[..len]);
    let (sink_up, sink_down) = (&mut sinks.up[..len], &mut sinks.down[..len]);
    let cpu_before = ep.relay_cpu()?;
    let start = Instant::now();
    let (up_done, down_done) = std::thread::scope(|scope| {
        let up_threads = mode.up().then(|| {
            let writer = scope.spawn(move || -> io::Result<()> {
                for chunk in sent_up.chunks(CHUNK) {
                    pty_write_all(fd, chunk)?;
                }
                Ok(())
            });
            let reader = scope.spawn(move || -> io::Result<Instant> {
                let mut got = 0;
                while got < len {
                    let end = (got + CHUNK).min(len);
                    match (&*peer).read(&mut sink_up[got..end])? {
                        0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                        n => got += n,
                    }
                }
                Ok(Instant::now())
            });
            (writer, reader)
        });
        let down_threads = mode.down().then(|| {
            let writer = scope.spawn(move || -> io::Result<()> {
                for chunk in sent_down.chunks(CHUNK) {
                    (&*peer).write_all(chunk)?;
                }
                Ok(())
            });
            let reader = scope.spawn(move || -> io::Result<Instant> {
                let mut got = 0;
                while got < len {
                    let end = (got + CHUNK).min(len);
                    got += pty_read(fd, &mut sink_down[got..end])?;
                }
                Ok(Instant::now())
            });
            (writer, reader)
        });
        (
            join_pair(up_threads, "DTE→TCP"),
            join_pair(down_threads, "TCP→DTE"),
        )
    });
    let relay_cpu = ep.relay_cpu()?.saturating_sub(cpu_before);
    let timing = Timing {
        up: up_done?.map(|at| at - start),
        down: down_done?.map(|at| at - start),
        relay_cpu,
    };
    if mode.up() {
        verify(&format!("{} DTE→TCP", ep.name), &sinks.up[..len], up)?;
    }
    if mode.down() {
        verify(&format!("{} TCP→DTE", ep.name), &sinks.down[..len], down)?;
    }
    ep.expect_quiet()?;
    Ok(timing)
}

/// MB/s per round of one side and one direction.
#[derive(Default)]
struct Rates {
    simodem: Vec<f64>,
    socat: Vec<f64>,
}

impl Rates {
    fn side(&mut self, side: &Endpoint) -> &mut Vec<f64> {
        match side.name {
            "simodem" => &mut self.simodem,
            _ => &mut self.socat,
        }
    }
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

fn range(values: &[f64]) -> (f64, f64) {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (min, max)
}

/// One kind of run (DTE→TCP, TCP→DTE or both at once), every round of both sides.
struct ModeResult {
    placement: Placement,
    label: &'static str,
    key: &'static str,
    /// MB/s DTE→TCP, when the mode moves bytes that way.
    up: Option<Rates>,
    down: Option<Rates>,
    /// Relay CPU µs per MB moved (both directions counted in a run of both).
    cpu: Rates,
}

fn throughput(
    plan: &Plan,
    sides: [&Endpoint; 2],
    all_cpus: &libc::cpu_set_t,
    up: &Payload,
    down: &Payload,
) -> io::Result<Vec<ModeResult>> {
    let len = plan.mib << 20;
    let mut sinks = Sinks {
        up: vec![0u8; len],
        down: vec![0u8; len],
    };
    let mut results = Vec::new();
    let runs = [
        (Mode::Up, "DTE→TCP", "dte_to_tcp", "up"),
        (Mode::Down, "TCP→DTE", "tcp_to_dte", "down"),
        (Mode::Both, "both at once", "both", "both"),
    ];
    let runs = plan.throughput_at.iter().flat_map(|&placement| {
        runs.iter()
            .filter(|run| plan.wants(run.3))
            .map(move |&(mode, label, key, _)| (placement, mode, label, key))
    });
    for (placement, mode, label, key) in runs {
        place(placement, sides, all_cpus)?;
        for side in sides {
            transfer(side, mode, plan.warmup_mib << 20, up, down, &mut sinks)?;
        }
        let mut result = ModeResult {
            placement,
            label,
            key,
            up: mode.up().then(Rates::default),
            down: mode.down().then(Rates::default),
            cpu: Rates::default(),
        };
        let moved = len * (usize::from(mode.up()) + usize::from(mode.down()));
        for round in 0..plan.rounds {
            let order = if round % 2 == 0 {
                sides
            } else {
                [sides[1], sides[0]]
            };
            for side in order {
                let timing = transfer(side, mode, len, up, down, &mut sinks)?;
                let cpu_per_mb = micros(timing.relay_cpu) / (moved as f64 / 1e6);
                result.cpu.side(side).push(cpu_per_mb);
                for (took, rates) in [
                    (timing.up, result.up.as_mut()),
                    (timing.down, result.down.as_mut()),
                ] {
                    if let (Some(took), Some(rates)) = (took, rates) {
                        rates.side(side).push(mb_per_s(len, took));
                    }
                }
            }
            eprint!(".");
        }
        results.push(result);
    }
    place(Placement::Free, sides, all_cpus)?;
    eprintln!();
    Ok(results)
}

// ----- latency -----

#[derive(Clone, Copy)]
enum Hop {
    /// Written on the server socket, read on the PTY.
    Down,
    /// Written on the PTY, read on the server socket.
    Up,
}

struct LatencyKind {
    label: &'static str,
    key: &'static str,
    hop: Hop,
    size: usize,
}

const LATENCY_KINDS: [LatencyKind; 3] = [
    LatencyKind {
        label: "TCP→DTE 1 B",
        key: "tcp_to_dte_1",
        hop: Hop::Down,
        size: 1,
    },
    LatencyKind {
        label: "TCP→DTE 1024 B",
        key: "tcp_to_dte_1024",
        hop: Hop::Down,
        size: 1024,
    },
    LatencyKind {
        label: "DTE→TCP 1024 B",
        key: "dte_to_tcp_1024",
        hop: Hop::Up,
        size: 1024,
    },
];

/// `count` messages of `kind`, one at a time; the time from the write to the last byte read.
fn one_way(ep: &Endpoint, kind: &LatencyKind, count: usize) -> io::Result<Vec<Duration>> {
    // No escape character: a lone message after a pause must never look like `+++`.
    let message: Vec<u8> = (0..kind.size).map(|i| b'a' + (i % 26) as u8).collect();
    let mut got = vec![0u8; kind.size];
    let mut samples = Vec::with_capacity(count);
    for _ in 0..count {
        let start = Instant::now();
        match kind.hop {
            Hop::Down => {
                (&ep.peer).write_all(&message)?;
                pty_read_exact(ep.fd(), &mut got)?;
            }
            Hop::Up => {
                pty_write_all(ep.fd(), &message)?;
                (&ep.peer).read_exact(&mut got)?;
            }
        }
        samples.push(start.elapsed());
        if got != message {
            return Err(io::Error::other(format!(
                "{}: {} arrived changed",
                ep.name, kind.label
            )));
        }
    }
    Ok(samples)
}

struct LatencyRow {
    placement: Placement,
    kind: &'static LatencyKind,
    simodem: Summary,
    socat: Summary,
    samples: usize,
}

fn latency(
    plan: &Plan,
    sides: [&Endpoint; 2],
    all_cpus: &libc::cpu_set_t,
) -> io::Result<Vec<LatencyRow>> {
    let per_round = plan.samples / plan.latency_rounds;
    let mut rows = Vec::new();
    if !plan.wants("latency") {
        return Ok(rows);
    }
    let runs = plan
        .latency_at
        .iter()
        .flat_map(|&placement| LATENCY_KINDS.iter().map(move |kind| (placement, kind)));
    for (placement, kind) in runs {
        place(placement, sides, all_cpus)?;
        let (mut simodem, mut socat) = (Vec::new(), Vec::new());
        for side in sides {
            one_way(side, kind, plan.latency_warmup)?;
        }
        for round in 0..plan.latency_rounds {
            let order = if round % 2 == 0 {
                sides
            } else {
                [sides[1], sides[0]]
            };
            for side in order {
                let samples = one_way(side, kind, per_round)?;
                match side.name {
                    "simodem" => simodem.extend(samples),
                    _ => socat.extend(samples),
                }
            }
        }
        for side in sides {
            side.expect_quiet()?;
        }
        eprint!(".");
        rows.push(LatencyRow {
            placement,
            kind,
            samples: simodem.len(),
            simodem: summarize(&simodem),
            socat: summarize(&socat),
        });
    }
    place(Placement::Free, sides, all_cpus)?;
    eprintln!();
    Ok(rows)
}

// ----- the machine -----

/// (busy, total) jiffies of all CPUs from `/proc/stat`.
fn cpu_jiffies() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let total: u64 = fields.iter().take(8).sum();
    // idle and iowait
    let idle = fields.get(3)? + fields.get(4)?;
    Some((total - idle, total))
}

/// How busy the machine is while this bench does nothing yet (percent of all CPUs over 1 s):
/// other programs running compete for the CPUs the bench needs.
fn machine_busy_before() -> Option<f64> {
    let (busy0, total0) = cpu_jiffies()?;
    std::thread::sleep(Duration::from_secs(1));
    let (busy1, total1) = cpu_jiffies()?;
    (total1 > total0).then(|| 100.0 * (busy1 - busy0) as f64 / (total1 - total0) as f64)
}

/// `/proc/loadavg`: whether something else was running.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// `target/` next to this bench's executable (`target/release/deps/transparent-…`).
fn json_path() -> PathBuf {
    if let Some(path) = std::env::var_os("SIMODEM_BENCH_JSON") {
        return path.into();
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
        .unwrap_or_else(std::env::temp_dir)
        .join("bench-transparent.json")
}

fn summary_json(s: &Summary) -> Value {
    json!({ "mean_us": s.mean, "p50_us": s.p50, "p99_us": s.p99, "max_us": s.max })
}

// ----- report -----

fn verdict(ratio: f64) -> &'static str {
    if ratio >= TARGET_RATIO {
        "ok"
    } else {
        "MISSED"
    }
}

fn report(
    plan: &Plan,
    full: bool,
    socat_version: &str,
    results: &[ModeResult],
    latencies: &[LatencyRow],
    load: (String, String),
    busy_before: Option<f64>,
) -> Value {
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!();
    println!(
        "Transparent data mode vs socat{}: {} MiB per run, {} round(s) per direction (alternating \
         order), {} KiB chunks; nproc={nproc}, {}, {}; {socat_version}",
        if full {
            ""
        } else {
            " (smoke run; use cargo bench)"
        },
        plan.mib,
        plan.rounds,
        CHUNK / 1024,
        cpu_model(),
        kernel(),
    );
    println!(
        "{:<24} {:>26} {:>26} {:>8}",
        "MB/s, median [min–max]", "simodem", "socat", "ratio"
    );
    let cell = |values: &[f64]| {
        let (lo, hi) = range(values);
        format!("{:.1} [{lo:.1}–{hi:.1}]", median(values))
    };
    let mut throughput_json = Vec::new();
    let mut shown = None;
    for result in results {
        if shown != Some(result.placement) {
            shown = Some(result.placement);
            println!("  {}:", result.placement.describe());
        }
        for (rates, direction, key) in [
            (&result.up, "DTE→TCP", "dte_to_tcp"),
            (&result.down, "TCP→DTE", "tcp_to_dte"),
        ] {
            let Some(rates) = rates else { continue };
            let (sim, soc) = (median(&rates.simodem), median(&rates.socat));
            let ratio = sim / soc;
            let label = if result.key == "both" {
                format!("{}: {direction}", result.label)
            } else {
                direction.to_string()
            };
            println!(
                "{label:<24} {:>26} {:>26} {ratio:>7.3}x {}",
                cell(&rates.simodem),
                cell(&rates.socat),
                verdict(ratio)
            );
            throughput_json.push(json!({
                "placement": result.placement.key(),
                "run": result.key,
                "direction": key,
                "simodem_mb_s": rates.simodem,
                "socat_mb_s": rates.socat,
                "simodem_median_mb_s": sim,
                "socat_median_mb_s": soc,
                "ratio": ratio,
                "target_met": ratio >= TARGET_RATIO,
            }));
        }
    }
    println!(
        "target: simodem / socat ≥ {TARGET_RATIO}x (MB = 10^6 bytes; SHA-256 checked every run)"
    );
    println!();
    println!(
        "{:<24} {:>26} {:>26} {:>8}",
        "relay CPU µs per MB", "simodem", "socat", "ratio"
    );
    let mut cpu_json = Vec::new();
    let mut shown = None;
    for result in results {
        if shown != Some(result.placement) {
            shown = Some(result.placement);
            println!("  {}:", result.placement.describe());
        }
        let (sim, soc) = (median(&result.cpu.simodem), median(&result.cpu.socat));
        println!(
            "{:<24} {:>26} {:>26} {:>7.3}x",
            result.label,
            cell(&result.cpu.simodem),
            cell(&result.cpu.socat),
            sim / soc
        );
        cpu_json.push(json!({
            "placement": result.placement.key(),
            "run": result.key,
            "simodem_us_per_mb": result.cpu.simodem,
            "socat_us_per_mb": result.cpu.socat,
            "simodem_median_us_per_mb": sim,
            "socat_median_us_per_mb": soc,
        }));
    }
    println!();
    println!(
        "Latency, one message at a time, {} samples per side ({} alternating rounds)",
        latencies.first().map_or(0, |l| l.samples),
        plan.latency_rounds
    );
    println!(
        "{:<16} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8}",
        "µs",
        "sim p50",
        "sim p99",
        "sim max",
        "socat p50",
        "socat p99",
        "socat max",
        "p50 ×",
        "p99 ×"
    );
    let mut latency_json = Vec::new();
    let mut shown = None;
    for row in latencies {
        if shown != Some(row.placement) {
            shown = Some(row.placement);
            println!("  {}:", row.placement.describe());
        }
        let (s, b) = (&row.simodem, &row.socat);
        println!(
            "{:<16} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>7.2}x {:>7.2}x",
            row.kind.label,
            s.p50,
            s.p99,
            s.max,
            b.p50,
            b.p99,
            b.max,
            s.p50 / b.p50,
            s.p99 / b.p99
        );
        latency_json.push(json!({
            "placement": row.placement.key(),
            "kind": row.kind.key,
            "bytes": row.kind.size,
            "samples": row.samples,
            "simodem": summary_json(s),
            "socat": summary_json(b),
            "ratio_p50": s.p50 / b.p50,
            "ratio_p99": s.p99 / b.p99,
        }));
    }
    println!(
        "machine busy in the 1 s before the runs: {}; /proc/loadavg before: {}; after: {}",
        busy_before.map_or("?".into(), |b| format!("{b:.0}%")),
        load.0,
        load.1
    );
    json!({
        "bench": "transparent",
        "full": full,
        "mib": plan.mib,
        "rounds": plan.rounds,
        "chunk_bytes": CHUNK,
        "nproc": nproc,
        "cpu": cpu_model(),
        "kernel": kernel(),
        "socat": socat_version,
        "unix_time": std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        "machine_busy_before_percent": busy_before,
        "loadavg_before": load.0,
        "loadavg_after": load.1,
        "throughput": throughput_json,
        "relay_cpu": cpu_json,
        "latency": latency_json,
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let full = std::env::args().any(|a| a == "--bench");
    let plan = Plan::new(full)?;
    let socat = socat_path();
    if !socat.exists() {
        if !full && std::env::var("SIMODEM_SKIP_REAL_CLIENTS").is_ok_and(|v| v == "1") {
            eprintln!(
                "NOTICE: {} is not installed; smoke run skipped",
                socat.display()
            );
            return Ok(());
        }
        return Err(format!(
            "{} is not installed (apt-get install socat, or set SIMODEM_BENCH_SOCAT)",
            socat.display()
        )
        .into());
    }
    let version = socat_version(&socat);
    let dir =
        std::env::temp_dir().join(format!("simodem-bench-transparent-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;

    let result = (|| -> Result<Value, Box<dyn std::error::Error>> {
        let lengths = [plan.mib << 20, plan.warmup_mib << 20];
        let up = Payload::new(&lengths, 1);
        let down = Payload::new(&lengths, 2);
        let simodem = Endpoint::simodem(&dir)?;
        let baseline = Endpoint::socat(&dir, &socat)?;
        let sides = [&simodem, &baseline];
        let busy = machine_busy_before();
        let load_before = loadavg();
        let all_cpus = affinity()?;
        let results = throughput(&plan, sides, &all_cpus, &up, &down)?;
        let latencies = latency(&plan, sides, &all_cpus)?;
        let load = (load_before, loadavg());
        Ok(report(
            &plan, full, &version, &results, &latencies, load, busy,
        ))
        // Both sides drop here: simodem stops, socat is killed.
    })();
    let _ = std::fs::remove_dir_all(&dir);
    let results = result?;
    if full {
        let path = json_path();
        std::fs::write(&path, serde_json::to_string_pretty(&results)? + "\n")
            .map_err(|e| format!("{}: {e}", path.display()))?;
        println!("results: {}", path.display());
    }
    Ok(())
}
