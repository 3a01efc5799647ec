//! Figure 1: the `AT\r` → `\r\nOK\r\n` round trip through the PTY, measured side by side with a
//! bare PTY echo (`AT\r` → `AT\r`, the floor any PTY-hosted emulator sits on) in alternating rounds.
//!
//! Both sides are driven by the same client code: the slave opened with `O_RDWR | O_NOCTTY`,
//! raw termios (`cfmakeraw`), one `write` of the command, blocking `read`s until the whole answer
//! arrived. The baseline is an OS thread echoing every byte it reads on a `libc::openpty` master;
//! simodem runs `simodem::host::start` on a tokio current-thread runtime in its own thread, as
//! the binary does. Used by `benches/roundtrip.rs` and `benches/suite.rs`.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Client, Emulator, check, make_raw, percentile, read_some, write_all};

pub const COMMAND: &[u8] = b"AT\r";
pub const MODEM_ANSWER: &[u8] = b"\r\nOK\r\n";
/// The modem's boot timeline (SIM start-up, registration timers) is over well before this.
pub const BOOT_SETTLE: Duration = Duration::from_millis(1200);
pub const TARGET_P50: f64 = 1.15;
pub const TARGET_P99: f64 = 1.3;

pub struct Plan {
    pub warmup: usize,
    pub rounds: usize,
    pub per_round: usize,
    /// Unrecorded round trips at the start of every round, after switching sides.
    pub round_warmup: usize,
}

pub const FULL: Plan = Plan {
    warmup: 1_000,
    rounds: 20,
    per_round: 500,
    round_warmup: 50,
};

pub const SMOKE: Plan = Plan {
    warmup: 50,
    rounds: 2,
    per_round: 100,
    round_warmup: 10,
};

// ----- baseline: a bare PTY echo on its own OS thread -----

/// A PTY pair from `openpty`, the slave raw; returns (master, slave, slave path).
pub fn open_pty() -> io::Result<(OwnedFd, OwnedFd, PathBuf)> {
    let mut master: libc::c_int = -1;
    let mut slave: libc::c_int = -1;
    // SAFETY: out-pointers are valid; name, termios and winsize may be null.
    check(
        unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        },
        "openpty",
    )?;
    // SAFETY: openpty succeeded: both fds are open and now owned here.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    make_raw(slave.as_raw_fd())?;
    let mut name = [0 as libc::c_char; 128];
    // SAFETY: name is valid for name.len() bytes; ptsname_r NUL-terminates on success.
    let rc = unsafe { libc::ptsname_r(master.as_raw_fd(), name.as_mut_ptr(), name.len()) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    // SAFETY: ptsname_r succeeded, so name is NUL-terminated.
    let name = unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) };
    let slave_path = PathBuf::from(name.to_string_lossy().into_owned());
    Ok((master, slave, slave_path))
}

pub struct Echo {
    pub slave_path: PathBuf,
    /// Held like simodem holds its slave; dropping it (and the client) ends the thread.
    held_slave: Option<OwnedFd>,
    thread: Option<JoinHandle<()>>,
}

impl Echo {
    pub fn start() -> io::Result<Echo> {
        let (master, slave, slave_path) = open_pty()?;
        let thread = std::thread::Builder::new()
            .name("pty-echo".into())
            .spawn(move || {
                let fd = master.as_raw_fd();
                let mut buf = [0u8; 4096];
                // Ends with EIO once every slave fd is closed.
                while let Ok(n) = read_some(fd, &mut buf) {
                    if n == 0 || write_all(fd, &buf[..n]).is_err() {
                        break;
                    }
                }
            })?;
        Ok(Echo {
            slave_path,
            held_slave: Some(slave),
            thread: Some(thread),
        })
    }

    pub fn stop(mut self) {
        self.held_slave = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

// ----- measurement -----

pub struct Side {
    pub name: &'static str,
    pub client: Client,
    pub expected: &'static [u8],
    pub samples: Vec<Duration>,
    pub round_p50: Vec<Duration>,
}

impl Side {
    pub fn new(name: &'static str, client: Client, expected: &'static [u8]) -> Side {
        Side {
            name,
            client,
            expected,
            samples: Vec::new(),
            round_p50: Vec::new(),
        }
    }

    pub fn run(&mut self, count: usize, record: bool) -> io::Result<()> {
        let mut answer = [0u8; 16];
        let answer = &mut answer[..self.expected.len()];
        let mut round = Vec::with_capacity(count);
        for _ in 0..count {
            let took = self.client.round_trip(COMMAND, answer)?;
            if answer != self.expected {
                return Err(io::Error::other(format!(
                    "{}: expected {:?}, got {:?}",
                    self.name,
                    String::from_utf8_lossy(self.expected),
                    String::from_utf8_lossy(answer)
                )));
            }
            round.push(took);
        }
        if record {
            let mut sorted = round.clone();
            sorted.sort_unstable();
            self.round_p50.push(percentile(&sorted, 50.0));
            self.samples.extend_from_slice(&round);
        }
        Ok(())
    }
}

/// Brings the modem out of auto-baud, turns echo off, and checks nothing else is pending.
pub fn prepare_modem(client: &Client) -> io::Result<()> {
    write_all(client.fd.as_raw_fd(), b"ATE0\r")?;
    client.read_until(b"OK\r\n", Duration::from_secs(5))?;
    let stray = client.stray_bytes(Duration::from_millis(100))?;
    if !stray.is_empty() {
        return Err(io::Error::other(format!(
            "unexpected bytes after ATE0: {:?}",
            String::from_utf8_lossy(&stray)
        )));
    }
    Ok(())
}

/// Both sides' samples: every recorded round trip (µs order of the run), and each round's p50.
pub struct RoundTrips {
    pub baseline: Vec<Duration>,
    pub modem: Vec<Duration>,
    pub baseline_round_p50: Vec<Duration>,
    pub modem_round_p50: Vec<Duration>,
}

/// One SIM900 (PTY link in the temp dir) and one bare echo, `plan.rounds` alternating rounds.
pub fn measure(plan: &Plan) -> Result<RoundTrips, Box<dyn std::error::Error>> {
    let link = std::env::temp_dir().join(format!("simodem-bench-{}.pty", std::process::id()));
    let emulator = Emulator::start(link)?;
    let booted = Instant::now();
    let echo = Echo::start()?;

    let mut baseline = Side::new("bare PTY echo", Client::open(&echo.slave_path)?, b"AT\r");
    let modem_client = Client::open(&emulator.slave_path)?;
    // Let the boot timeline run out while the modem is still silent (auto-baud).
    std::thread::sleep(BOOT_SETTLE.saturating_sub(booted.elapsed()));
    prepare_modem(&modem_client)?;
    let mut modem = Side::new("simodem", modem_client, MODEM_ANSWER);

    baseline.run(plan.warmup, false)?;
    modem.run(plan.warmup, false)?;
    for round in 0..plan.rounds {
        // Alternate which side goes first so neither always follows the other.
        let order: [&mut Side; 2] = if round % 2 == 0 {
            [&mut baseline, &mut modem]
        } else {
            [&mut modem, &mut baseline]
        };
        for side in order {
            side.run(plan.round_warmup, false)?;
            side.run(plan.per_round, true)?;
        }
    }
    let stray = modem.client.stray_bytes(Duration::from_millis(20))?;
    if !stray.is_empty() {
        return Err(format!(
            "simodem sent unasked bytes: {:?}",
            String::from_utf8_lossy(&stray)
        )
        .into());
    }
    let result = RoundTrips {
        baseline: std::mem::take(&mut baseline.samples),
        modem: std::mem::take(&mut modem.samples),
        baseline_round_p50: std::mem::take(&mut baseline.round_p50),
        modem_round_p50: std::mem::take(&mut modem.round_p50),
    };
    // The echo thread ends once its client and the held slave are closed.
    drop(baseline);
    echo.stop();
    drop(modem);
    drop(emulator);
    Ok(result)
}
