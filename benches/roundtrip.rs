//! Round-trip latency through the PTY: `AT\r` → `\r\nOK\r\n` from simodem, measured side by side
//! with a bare PTY echo (the floor any PTY-hosted emulator sits on) in the same run.
//!
//! Both sides are driven by the same client code: the slave opened with `O_RDWR | O_NOCTTY`,
//! raw termios (`cfmakeraw`), one `write` of the command, blocking `read`s until the whole answer
//! arrived. The baseline is an OS thread echoing every byte it reads on a `libc::openpty` master;
//! simodem runs `simodem::host::start` on a tokio current-thread runtime in its own thread, as
//! the binary does. The two are measured in alternating rounds so machine noise hits both alike.
//!
//! Round trips this short are dominated by wake-ups (client → tty kworker → server → kworker →
//! client), so the result depends on the scheduler keeping that chain on one CPU; where waking an
//! idle CPU is dear (VMs: an IPI and a halted vCPU) a few extra syscalls or spurious wake-ups on
//! the server side show up as multiples, not percents.
//!
//! `cargo bench --bench roundtrip` runs the full measurement; without `--bench` (as under
//! `cargo test --all-targets`) it runs a short smoke version.

mod common;

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{
    Client, Emulator, check, kernel, make_raw, micros, percentile, read_some, summarize, write_all,
};

const COMMAND: &[u8] = b"AT\r";
const MODEM_ANSWER: &[u8] = b"\r\nOK\r\n";
/// The modem's boot timeline (SIM start-up, registration timers) is over well before this.
const BOOT_SETTLE: Duration = Duration::from_millis(1200);
const TARGET_P50: f64 = 1.15;
const TARGET_P99: f64 = 1.3;

struct Plan {
    warmup: usize,
    rounds: usize,
    per_round: usize,
    /// Unrecorded round trips at the start of every round, after switching sides.
    round_warmup: usize,
}

const FULL: Plan = Plan {
    warmup: 1_000,
    rounds: 20,
    per_round: 500,
    round_warmup: 50,
};

const SMOKE: Plan = Plan {
    warmup: 50,
    rounds: 2,
    per_round: 100,
    round_warmup: 10,
};

// ----- baseline: a bare PTY echo on its own OS thread -----

struct Echo {
    slave_path: PathBuf,
    /// Held like simodem holds its slave; dropping it (and the client) ends the thread.
    held_slave: Option<OwnedFd>,
    thread: Option<JoinHandle<()>>,
}

impl Echo {
    fn start() -> io::Result<Echo> {
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
        let (master, slave) =
            unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
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

    fn stop(mut self) {
        self.held_slave = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

// ----- measurement -----

struct Side {
    name: &'static str,
    client: Client,
    expected: &'static [u8],
    samples: Vec<Duration>,
    round_p50: Vec<Duration>,
}

impl Side {
    fn new(name: &'static str, client: Client, expected: &'static [u8]) -> Side {
        Side {
            name,
            client,
            expected,
            samples: Vec::new(),
            round_p50: Vec::new(),
        }
    }

    fn run(&mut self, count: usize, record: bool) -> io::Result<()> {
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
fn prepare_modem(client: &Client) -> io::Result<()> {
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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let full = std::env::args().any(|a| a == "--bench");
    let plan = if full { FULL } else { SMOKE };
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());

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

    let base = summarize(&baseline.samples);
    let emu = summarize(&modem.samples);
    let ratio_p50 = emu.p50 / base.p50;
    let ratio_p99 = emu.p99 / base.p99;
    let verdict = |ratio: f64, target: f64| if ratio <= target { "ok" } else { "MISSED" };

    println!();
    println!(
        "PTY round trip{}: nproc={nproc} ({}), {} samples per side ({} alternating rounds of {}, \
         after {} warm-up)",
        if full {
            ""
        } else {
            " (smoke run; use cargo bench)"
        },
        kernel(),
        baseline.samples.len(),
        plan.rounds,
        plan.per_round,
        plan.warmup
    );
    println!(
        "{:<36} {:>9} {:>9} {:>9} {:>9}",
        "µs", "mean", "p50", "p99", "max"
    );
    for (label, s) in [
        ("baseline: bare echo  AT\\r → AT\\r", &base),
        ("simodem:  AT\\r → \\r\\nOK\\r\\n", &emu),
    ] {
        println!(
            "{label:<36} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
            s.mean, s.p50, s.p99, s.max
        );
    }
    println!(
        "{:<36} {:>8.2}x {:>8.2}x {:>8.2}x",
        "ratio simodem / baseline",
        emu.mean / base.mean,
        ratio_p50,
        ratio_p99
    );
    println!(
        "target p50 ≤ {TARGET_P50}x: {}, p99 ≤ {TARGET_P99}x: {}",
        verdict(ratio_p50, TARGET_P50),
        verdict(ratio_p99, TARGET_P99)
    );
    let per_round: Vec<String> = baseline
        .round_p50
        .iter()
        .zip(&modem.round_p50)
        .map(|(b, m)| format!("{:.2}", micros(*m) / micros(*b)))
        .collect();
    println!("p50 ratio per round: {}", per_round.join(" "));

    drop(baseline);
    echo.stop();
    drop(modem);
    drop(emulator);
    Ok(())
}
