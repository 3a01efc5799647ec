//! What the data-mode benches (`transparent.rs`, `telit.rs`) share: a PTY client in non-blocking
//! mode, optionally speaking 27.010 CMUX on one DLCI; the server's end of a loopback TCP
//! connection; socat as the baseline relay; the bulk transfer (pseudo-random bytes each way,
//! checked by length and SHA-256 after the clock stopped) with the relay's CPU time; thread
//! placement; the environment knobs; and how busy the machine was.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use simodem::cmux::{Deframed, Deframer, FLAG, Frame, Kind, TELIT_N1, client_uih, control};

use super::{
    Client, Emulator, Summary, check, micros, one_cpu, read_some, readable_within, set_affinity,
};

/// Every bulk read and write buffer, on every side.
pub const CHUNK: usize = 64 * 1024;
/// A hang guard for any one read, write or answer (not a measurement).
pub const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// A modem's boot timeline (SIM start-up, registration timers) is over well before this.
const BOOT_SETTLE: Duration = Duration::from_millis(1200);
/// How long to wait for bytes nobody should have sent.
pub const QUIET: Duration = Duration::from_millis(50);
pub const TARGET_RATIO: f64 = 0.95;
const DEFAULT_SOCAT: &str = "/usr/bin/socat";

// ----- what to run -----

/// The runs a bench makes, from its defaults and the `SIMODEM_BENCH_*` environment.
pub struct Plan {
    /// Which runs to make (`SIMODEM_BENCH_PARTS`, e.g. `up,latency`; default all).
    pub parts: Vec<String>,
    pub mib: usize,
    pub rounds: usize,
    pub warmup_mib: usize,
    pub samples: usize,
    pub latency_rounds: usize,
    pub latency_warmup: usize,
    /// Where throughput runs (`SIMODEM_BENCH_THROUGHPUT_AT`, default `free`).
    pub throughput_at: Vec<Placement>,
    /// Where latency runs (`SIMODEM_BENCH_LATENCY_AT`, default `same,split`).
    pub latency_at: Vec<Placement>,
}

impl Plan {
    /// `full`: the measurement (`cargo bench`) with `mib` MiB per run and `rounds` rounds,
    /// otherwise a smoke run (4 MiB, one round, 100 latency samples).
    pub fn new(full: bool, mib: usize, rounds: usize) -> Result<Plan, String> {
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
        let (mib, rounds, samples) = if full {
            (mib, rounds, 2000)
        } else {
            (4, 1, 100)
        };
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

    pub fn wants(&self, part: &str) -> bool {
        self.parts.iter().any(|p| p == part)
    }
}

// ----- PTY I/O: non-blocking fd, poll only on EAGAIN (the same for every side) -----

pub fn set_nonblocking(fd: RawFd) -> io::Result<()> {
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
pub fn wait_for(fd: RawFd, events: libc::c_short, timeout: Duration) -> io::Result<()> {
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
pub fn pty_read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
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

pub fn pty_write_all(fd: RawFd, mut bytes: &[u8]) -> io::Result<()> {
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

pub fn pty_read_exact(fd: RawFd, buf: &mut [u8]) -> io::Result<()> {
    let mut got = 0;
    while got < buf.len() {
        got += pty_read(fd, &mut buf[got..])?;
    }
    Ok(())
}

/// Bytes `fd` delivers within `QUIET`: there should be none.
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
pub enum Placement {
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

    pub fn key(self) -> &'static str {
        match self {
            Placement::Free => "free",
            Placement::SameCpu => "same",
            Placement::SplitCpus => "split",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Placement::Free => "unpinned",
            Placement::SameCpu => "bench threads and relay on CPU 0",
            Placement::SplitCpus => "bench threads on CPU 0, relay on CPU 1",
        }
    }
}

/// Puts the calling thread (so the bench threads it spawns) and every relay where `placement`
/// says; `all` is the mask to go back to for `Free`.
pub fn place(
    placement: Placement,
    relays: &[libc::pid_t],
    all: &libc::cpu_set_t,
) -> io::Result<()> {
    let (bench, relay) = match placement {
        Placement::Free => (*all, *all),
        Placement::SameCpu => (one_cpu(0), one_cpu(0)),
        Placement::SplitCpus => (one_cpu(0), one_cpu(1)),
    };
    set_affinity(0, &bench)?;
    for &tid in relays {
        set_affinity(tid, &relay)?;
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

/// The bytes one direction sends, the SHA-256 of each length a run moves (a prefix), and for
/// CMUX sides each length already cut into UIH frames (built before any clock runs).
pub struct Payload {
    pub bytes: Vec<u8>,
    digests: Vec<(usize, Vec<u8>)>,
    framed: Vec<(usize, Vec<u8>)>,
}

impl Payload {
    /// `framed_dlci`: also cut each length into UIH frames on that DLCI (N1 = 128).
    pub fn new(lengths: &[usize], seed: u64, framed_dlci: Option<u8>) -> Payload {
        let len = lengths.iter().copied().max().unwrap_or(0);
        let bytes = awkward_bytes(len, seed);
        let digests = lengths
            .iter()
            .map(|&n| (n, Sha256::digest(&bytes[..n]).to_vec()))
            .collect();
        let framed = framed_dlci.map_or_else(Vec::new, |dlci| {
            lengths
                .iter()
                .map(|&n| (n, client_uih(dlci, &bytes[..n])))
                .collect()
        });
        Payload {
            bytes,
            digests,
            framed,
        }
    }

    fn digest(&self, len: usize) -> Option<&[u8]> {
        self.digests
            .iter()
            .find(|(n, _)| *n == len)
            .map(|(_, d)| d.as_slice())
    }

    /// What a side writes on its PTY to send the first `len` bytes.
    pub fn wire(&self, wire: Wire, len: usize) -> &[u8] {
        match wire {
            Wire::Raw => &self.bytes[..len],
            Wire::Cmux { .. } => self
                .framed
                .iter()
                .find(|(n, _)| *n == len)
                .map(|(_, f)| f.as_slice())
                .expect("the payload was framed for every length a run moves"),
        }
    }
}

// ----- socat as a child process, killed when dropped -----

pub struct Socat {
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

/// `SIMODEM_BENCH_SOCAT`, or `/usr/bin/socat`.
pub fn socat_path() -> PathBuf {
    std::env::var_os("SIMODEM_BENCH_SOCAT").map_or_else(|| PathBuf::from(DEFAULT_SOCAT), Into::into)
}

pub fn socat_version(socat: &Path) -> String {
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

// ----- the client's end of the PTY: raw bytes, or UIH frames on one DLCI -----

/// How the client's bytes travel on the PTY.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Wire {
    Raw,
    /// 27.010 basic option, UIH frames of at most [`TELIT_N1`] bytes on `dlci` both ways.
    Cmux {
        dlci: u8,
    },
}

/// The PTY slave as a client holds it, and what the bytes on it are wrapped in.
pub struct Dte {
    pub pty: Client,
    pub wire: Wire,
    /// The modem's frames read so far that are not whole yet (CMUX).
    deframer: Mutex<Deframer>,
}

impl Dte {
    pub fn new(pty: Client, wire: Wire) -> Dte {
        Dte {
            pty,
            wire,
            deframer: Mutex::new(Deframer::new(TELIT_N1)),
        }
    }

    pub fn fd(&self) -> RawFd {
        self.pty.fd.as_raw_fd()
    }

    /// Payload bytes toward the modem (in UIH frames under CMUX).
    pub fn send(&self, bytes: &[u8]) -> io::Result<()> {
        match self.wire {
            Wire::Raw => pty_write_all(self.fd(), bytes),
            Wire::Cmux { dlci } => pty_write_all(self.fd(), &client_uih(dlci, bytes)),
        }
    }

    /// What `wire` bytes read from the PTY carry: themselves, or the information fields of the
    /// whole UIH frames on the DLCI. The module's MSC commands on DLCI 0 (its V.24 signals for
    /// the channel, e.g. DCD with `CONNECT`) are passed over; any other frame, or bytes outside
    /// frames, are an error.
    fn unwrap(&self, wire: &[u8], payload: &mut Vec<u8>) -> io::Result<()> {
        let Wire::Cmux { dlci } = self.wire else {
            payload.extend_from_slice(wire);
            return Ok(());
        };
        let mut deframer = self.deframer.lock().expect("deframer lock");
        deframer.push(wire);
        for item in deframer.by_ref() {
            match item {
                Deframed::Frame(frame) if frame.dlci == dlci && frame.kind == Kind::Uih => {
                    payload.extend_from_slice(&frame.info);
                }
                Deframed::Frame(frame) if is_signal_report(&frame, dlci) => {}
                other => {
                    return Err(io::Error::other(format!(
                        "unexpected from the multiplexer: {other:?}"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Exactly `buf.len()` payload bytes from the modem.
    pub fn recv_exact(&self, buf: &mut [u8]) -> io::Result<()> {
        if self.wire == Wire::Raw {
            return pty_read_exact(self.fd(), buf);
        }
        let mut payload = Vec::with_capacity(buf.len());
        let mut wire = [0u8; 4096];
        while payload.len() < buf.len() {
            let n = pty_read(self.fd(), &mut wire)?;
            self.unwrap(&wire[..n], &mut payload)?;
        }
        if payload.len() > buf.len() {
            return Err(io::Error::other(format!(
                "{} bytes more than the {} expected",
                payload.len() - buf.len(),
                buf.len()
            )));
        }
        buf.copy_from_slice(&payload);
        Ok(())
    }

    /// Writes `command` (if any) and reads the answer until `done` says it is complete.
    pub fn answer(&self, command: &str, done: &dyn Fn(&[u8]) -> bool) -> Result<String, String> {
        let fd = self.fd();
        self.send(command.as_bytes())
            .map_err(|e| format!("{command:?}: {e}"))?;
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
            self.unwrap(&buf[..n], &mut seen)
                .map_err(|e| format!("{command:?}: {e}"))?;
        }
        Ok(String::from_utf8_lossy(&seen).into_owned())
    }

    /// `command` must be answered by exactly `answer`.
    pub fn expect(&self, command: &str, answer: &str) -> Result<(), String> {
        let got = self.answer(command, &|seen| seen.len() >= answer.len())?;
        if got != answer {
            return Err(format!("{command:?} answered {got:?}, not {answer:?}"));
        }
        Ok(())
    }

    /// Nothing arrives unasked, and no partial frame is held.
    fn expect_quiet(&self, name: &str) -> io::Result<()> {
        let stray = pty_stray(self.fd())?;
        if !stray.is_empty() {
            return Err(io::Error::other(format!(
                "{name}: {} stray bytes on the PTY: {:?}",
                stray.len(),
                String::from_utf8_lossy(&stray[..stray.len().min(80)])
            )));
        }
        // The last closing flag may be held (it could open the next frame); nothing else.
        let held = self.deframer.lock().expect("deframer lock").take_buffered();
        if held.iter().any(|&b| b != FLAG) {
            return Err(io::Error::other(format!(
                "{name}: {} bytes of an unfinished frame",
                held.len()
            )));
        }
        Ok(())
    }
}

/// Opens the PTY of a modem just started, as a client does; lets the boot timeline run out
/// (silent on an auto-baud SIM900), then `ATE0` (after which nothing may arrive) and
/// `AT+CREG?` until the modem is registered.
pub fn ready_modem(emulator: &Emulator, started: Instant) -> Result<Dte, String> {
    let pty = Client::open(&emulator.slave_path).map_err(|e| format!("open: {e}"))?;
    std::thread::sleep(BOOT_SETTLE.saturating_sub(started.elapsed()));
    let dte = Dte::new(pty, Wire::Raw);
    let ends_ok = |seen: &[u8]| seen.ends_with(b"OK\r\n");
    dte.answer("ATE0\r", &ends_ok)?;
    let stray = dte
        .pty
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
        let creg = dte.answer("AT+CREG?\r", &ends_ok)?;
        if creg.contains("+CREG: 0,1") || creg.contains("+CREG: 0,5") {
            return Ok(dte);
        }
        if Instant::now() > deadline {
            return Err(format!("not registered: {creg:?}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A UIH frame on DLCI 0 made only of MSC commands about `dlci`.
fn is_signal_report(frame: &Frame, dlci: u8) -> bool {
    let messages = control::messages(&frame.info);
    frame.dlci == 0
        && frame.kind == Kind::Uih
        && !messages.is_empty()
        && messages
            .iter()
            .all(|m| m.is_command && m.msc().is_some_and(|(d, _)| d == dlci))
}

// ----- one side: the PTY client and the server's end of the connection -----

pub struct Endpoint {
    pub name: &'static str,
    pub dte: Dte,
    pub peer: TcpStream,
    /// The thread that relays the bytes: simodem's runtime thread, or socat (one thread).
    pub relay: libc::pid_t,
    /// The emulator or socat behind the PTY (dropped last: stopped or killed).
    _owner: Box<dyn std::any::Any>,
}

impl Endpoint {
    pub fn fd(&self) -> RawFd {
        self.dte.fd()
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

    /// The loopback listener a side connects to.
    pub fn listener() -> io::Result<(TcpListener, u16)> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        Ok((listener, port))
    }

    /// Accepts one connection within `IO_TIMEOUT`; `alive` says whether to keep waiting.
    pub fn accept(
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

    /// The side, checked: `check_up` bytes DTE→TCP (a full packet, so a modem sends it at once)
    /// and a few TCP→DTE, and nothing else pending.
    pub fn finish(
        name: &'static str,
        dte: Dte,
        peer: TcpStream,
        relay: libc::pid_t,
        owner: Box<dyn std::any::Any>,
        check_up: usize,
    ) -> io::Result<Self> {
        peer.set_nonblocking(false)?;
        peer.set_nodelay(true)?;
        peer.set_read_timeout(Some(IO_TIMEOUT))?;
        peer.set_write_timeout(Some(IO_TIMEOUT))?;
        set_nonblocking(dte.fd())?;
        let endpoint = Endpoint {
            name,
            dte,
            peer,
            relay,
            _owner: owner,
        };
        endpoint.check_link(check_up)?;
        Ok(endpoint)
    }

    /// One message each way, and nothing else pending.
    fn check_link(&self, check_up: usize) -> io::Result<()> {
        let up = vec![b'u'; check_up];
        self.dte.send(&up)?;
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
        self.dte.recv_exact(&mut got)?;
        if &got != b"down" {
            return Err(io::Error::other(format!(
                "{}: TCP→DTE check got {:?}",
                self.name,
                String::from_utf8_lossy(&got)
            )));
        }
        self.expect_quiet()
    }

    pub fn expect_quiet(&self) -> io::Result<()> {
        self.dte.expect_quiet(self.name)?;
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

    /// `socat pty,raw,echo=0,link=<dir>/socat.pty tcp:127.0.0.1:<port>`.
    pub fn socat(dir: &Path, socat: &Path) -> Result<Endpoint, String> {
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
        Endpoint::finish(
            "socat",
            Dte::new(pty, Wire::Raw),
            peer,
            relay,
            Box::new(socat),
            1024,
        )
        .map_err(|e| format!("socat: {e}"))
    }
}

/// DTE→TCP bytes that leave at once: the `+CIPCCFG` SendSz the bench sets.
pub const SEND_SZ: usize = 1024;

// ----- a SIM900 in transparent mode -----

/// One SIM900 in transparent mode (`+CIPMODE=1`, the sequence of `tests/tcpip.rs`), connected
/// to a listener of this process.
pub fn sim900_transparent(dir: &Path) -> Result<Endpoint, String> {
    let (listener, port) = Endpoint::listener().map_err(|e| format!("listen: {e}"))?;
    let started = Instant::now();
    let emulator = Emulator::start(dir.join("simodem.pty"))?;
    let dte = ready_modem(&emulator, started)?;
    dte.expect("AT+CIPMODE=1\r", "\r\nOK\r\n")?;
    dte.expect(&format!("AT+CIPCCFG=5,2,{SEND_SZ},1\r"), "\r\nOK\r\n")?;
    dte.expect("AT+CSTT=\"internet\",\"\",\"\"\r", "\r\nOK\r\n")?;
    dte.expect("AT+CIICR\r", "\r\nOK\r\n")?;
    // `\r\n<address>\r\n`, no OK.
    let address = dte.answer("AT+CIFSR\r", &|seen| {
        seen.windows(2).filter(|w| w == b"\r\n").count() >= 2
    })?;
    if address.trim().parse::<std::net::Ipv4Addr>().is_err() {
        return Err(format!("AT+CIFSR answered {address:?}"));
    }
    dte.expect(
        &format!("AT+CIPSTART=\"TCP\",\"127.0.0.1\",{port}\r"),
        "\r\nOK\r\n\r\nCONNECT\r\n",
    )?;
    let peer = Endpoint::accept(&listener, || Ok(()))?;
    let relay = emulator.tid;
    // A full SendSz packet checks the link, so simodem sends it at once.
    Endpoint::finish("simodem", dte, peer, relay, Box::new(emulator), SEND_SZ)
        .map_err(|e| format!("simodem: {e}"))
}

// ----- throughput -----

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Up,
    Down,
    Both,
}

impl Mode {
    pub fn up(self) -> bool {
        self != Mode::Down
    }
    pub fn down(self) -> bool {
        self != Mode::Up
    }
}

/// Receive buffers, reused from run to run.
struct Sinks {
    up: Vec<u8>,
    down: Vec<u8>,
    /// The frames a CMUX side read, taken apart after the clock stopped.
    wire: Vec<u8>,
}

/// How long each direction took, from the start to its last byte read.
struct Timing {
    up: Option<Duration>,
    down: Option<Duration>,
    /// CPU time the relay used for the whole run.
    relay_cpu: Duration,
    /// Bytes on the PTY each way (the payload, or the frames carrying it).
    wire_up: usize,
    wire_down: usize,
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

/// A direction's writer and reader threads; the reader returns when it had the last byte (and
/// how many bytes were on the wire).
type Pair<'s> = (
    std::thread::ScopedJoinHandle<'s, io::Result<()>>,
    std::thread::ScopedJoinHandle<'s, io::Result<(Instant, usize)>>,
);

fn join_pair(pair: Option<Pair<'_>>, what: &str) -> io::Result<Option<(Instant, usize)>> {
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

/// Reads `sink.len()` payload bytes from the PTY; returns the bytes read off the wire. A CMUX
/// side's frames go to `wire` as they are: only their headers are looked at (to know when the
/// last payload byte came); they are checked and taken apart after the clock stopped, so the
/// client's own work stays off the measured path, as the frames it sends are built beforehand.
fn read_down(dte: &Dte, sink: &mut [u8], wire: &mut [u8]) -> io::Result<usize> {
    let fd = dte.fd();
    let len = sink.len();
    if dte.wire == Wire::Raw {
        let mut got = 0;
        while got < len {
            let end = (got + CHUNK).min(len);
            got += pty_read(fd, &mut sink[got..end])?;
        }
        return Ok(got);
    }
    let (mut filled, mut walked, mut payload) = (0, 0, 0);
    while payload < len {
        if filled == wire.len() {
            return Err(io::Error::other("more frames than the payload needs"));
        }
        let end = (filled + CHUNK).min(wire.len());
        filled += pty_read(fd, &mut wire[filled..end])?;
        while let Some((info, used)) = frame_at(&wire[walked..filled])? {
            payload += info;
            walked += used;
        }
    }
    Ok(filled)
}

/// The information length of the whole frame `bytes` start with (after any flags), and the
/// bytes up to its closing flag (left to open the next frame); `None` until it is all there.
fn frame_at(bytes: &[u8]) -> io::Result<Option<(usize, usize)>> {
    let Some(start) = bytes.iter().position(|&b| b != FLAG) else {
        return Ok(None);
    };
    if start == 0 {
        return Err(io::Error::other("bytes outside a frame"));
    }
    let header = &bytes[start..];
    let (info, header_len) = match header {
        [_, _, len, ..] if len & 1 == 1 => (usize::from(len >> 1), 3),
        [_, _, len0, len1, ..] => (usize::from(len0 >> 1) | usize::from(*len1) << 7, 4),
        _ => return Ok(None),
    };
    // The FCS, then the closing flag.
    let closing = start + header_len + info + 1;
    match bytes.get(closing) {
        None => Ok(None),
        Some(&FLAG) => Ok(Some((info, closing))),
        Some(_) => Err(io::Error::other("a frame without its closing flag")),
    }
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
    let dte = &ep.dte;
    let (sent_up, sent_down) = (up.wire(dte.wire, len), &down.bytes[..len]);
    let (sink_up, sink_down) = (&mut sinks.up[..len], &mut sinks.down[..len]);
    let wire_down = &mut sinks.wire[..];
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
            let reader = scope.spawn(move || -> io::Result<(Instant, usize)> {
                let mut got = 0;
                while got < len {
                    let end = (got + CHUNK).min(len);
                    match (&*peer).read(&mut sink_up[got..end]).map_err(|e| {
                        io::Error::new(e.kind(), format!("{e} after {got} of {len} bytes"))
                    })? {
                        0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                        n => got += n,
                    }
                }
                Ok((Instant::now(), sent_up.len()))
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
            let reader = scope.spawn(move || -> io::Result<(Instant, usize)> {
                let on_wire = read_down(dte, sink_down, wire_down)?;
                Ok((Instant::now(), on_wire))
            });
            (writer, reader)
        });
        (
            join_pair(up_threads, "DTE→TCP"),
            join_pair(down_threads, "TCP→DTE"),
        )
    });
    let relay_cpu = ep.relay_cpu()?.saturating_sub(cpu_before);
    let named = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", ep.name));
    let (up_done, down_done) = (up_done.map_err(named)?, down_done.map_err(named)?);
    let timing = Timing {
        up: up_done.map(|(at, _)| at - start),
        down: down_done.map(|(at, _)| at - start),
        relay_cpu,
        wire_up: up_done.map_or(0, |(_, n)| n),
        wire_down: down_done.map_or(0, |(_, n)| n),
    };
    if mode.up() {
        verify(&format!("{} DTE→TCP", ep.name), &sinks.up[..len], up)?;
    }
    if mode.down() {
        if dte.wire != Wire::Raw {
            let mut payload = Vec::with_capacity(len);
            dte.unwrap(&sinks.wire[..timing.wire_down], &mut payload)
                .map_err(named)?;
            if payload.len() != len {
                return Err(named(io::Error::other(format!(
                    "TCP→DTE: {} bytes in the frames, not {len}",
                    payload.len()
                ))));
            }
            sinks.down[..len].copy_from_slice(&payload);
        }
        verify(&format!("{} TCP→DTE", ep.name), &sinks.down[..len], down)?;
    }
    ep.expect_quiet()?;
    Ok(timing)
}

/// One value per run, for each side (in the order the sides were given).
pub type PerSide = Vec<Vec<f64>>;

pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

pub fn range(values: &[f64]) -> (f64, f64) {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (min, max)
}

/// `median [min–max]` with one decimal.
pub fn cell(values: &[f64]) -> String {
    let (lo, hi) = range(values);
    format!("{:.1} [{lo:.1}–{hi:.1}]", median(values))
}

/// One kind of run (DTE→TCP, TCP→DTE or both at once), every round of every side.
pub struct ModeResult {
    pub placement: Placement,
    pub label: &'static str,
    pub key: &'static str,
    /// MB/s DTE→TCP, when the mode moves bytes that way.
    pub up: Option<PerSide>,
    pub down: Option<PerSide>,
    /// Relay CPU µs per MB moved (both directions counted in a run of both).
    pub cpu: PerSide,
    /// Bytes on the PTY per payload byte, each way that moves.
    pub wire_up: PerSide,
    pub wire_down: PerSide,
}

/// Every kind of run the plan wants, `len` bytes a run after a `warmup`-byte run per side; each
/// round goes through the sides in a different order (rotated by one each round).
pub fn throughput(
    plan: &Plan,
    sides: &[&Endpoint],
    all_cpus: &libc::cpu_set_t,
    (len, warmup): (usize, usize),
    up: &Payload,
    down: &Payload,
) -> io::Result<Vec<ModeResult>> {
    let mut sinks = Sinks {
        up: vec![0u8; len],
        down: vec![0u8; len],
        // N1 = 128: at most 7 bytes of frame per 128 of payload, and a read's worth more.
        wire: vec![
            0u8;
            if sides.iter().any(|s| s.dte.wire != Wire::Raw) {
                len + len.div_ceil(TELIT_N1) * 7 + CHUNK
            } else {
                0
            }
        ],
    };
    let relays: Vec<libc::pid_t> = sides.iter().map(|s| s.relay).collect();
    let per_side = || vec![Vec::new(); sides.len()];
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
        place(placement, &relays, all_cpus)?;
        for side in sides {
            transfer(side, mode, warmup, up, down, &mut sinks)?;
        }
        let mut result = ModeResult {
            placement,
            label,
            key,
            up: mode.up().then(per_side),
            down: mode.down().then(per_side),
            cpu: per_side(),
            wire_up: per_side(),
            wire_down: per_side(),
        };
        let moved = len * (usize::from(mode.up()) + usize::from(mode.down()));
        for round in 0..plan.rounds {
            for k in 0..sides.len() {
                let i = (k + round) % sides.len();
                let timing = transfer(sides[i], mode, len, up, down, &mut sinks)?;
                let cpu_per_mb = micros(timing.relay_cpu) / (moved as f64 / 1e6);
                result.cpu[i].push(cpu_per_mb);
                for (took, rates, wire, wire_bytes) in [
                    (
                        timing.up,
                        result.up.as_mut(),
                        &mut result.wire_up,
                        timing.wire_up,
                    ),
                    (
                        timing.down,
                        result.down.as_mut(),
                        &mut result.wire_down,
                        timing.wire_down,
                    ),
                ] {
                    if let (Some(took), Some(rates)) = (took, rates) {
                        rates[i].push(mb_per_s(len, took));
                        wire[i].push(wire_bytes as f64 / len as f64);
                    }
                }
            }
            eprint!(".");
        }
        results.push(result);
    }
    place(Placement::Free, &relays, all_cpus)?;
    eprintln!();
    Ok(results)
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
pub fn machine_busy_before() -> Option<f64> {
    let (busy0, total0) = cpu_jiffies()?;
    std::thread::sleep(Duration::from_secs(1));
    let (busy1, total1) = cpu_jiffies()?;
    (total1 > total0).then(|| 100.0 * (busy1 - busy0) as f64 / (total1 - total0) as f64)
}

/// `/proc/loadavg`: whether something else was running.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// `SIMODEM_BENCH_JSON`, or `target/<file>` next to the bench's executable
/// (`target/release/deps/<bench>-…`).
pub fn json_path(file: &str) -> PathBuf {
    if let Some(path) = std::env::var_os("SIMODEM_BENCH_JSON") {
        return path.into();
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
        .unwrap_or_else(std::env::temp_dir)
        .join(file)
}

pub fn summary_json(s: &Summary) -> Value {
    json!({ "mean_us": s.mean, "p50_us": s.p50, "p99_us": s.p99, "max_us": s.max })
}

pub fn verdict(ratio: f64) -> &'static str {
    if ratio >= TARGET_RATIO {
        "ok"
    } else {
        "MISSED"
    }
}
