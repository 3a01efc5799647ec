//! Figure 3: density — N modems in one process, each on its own PTY, against N bare PTY echoes
//! served by one thread, each N and side in a fresh child process of the bench.
//!
//! Per child: the time to start (simodem: `start_world` of N SIM900s with PTY links, on one tokio
//! current-thread runtime as the binary runs it; baseline: `openpty` N times and start one
//! `poll` thread that echoes every master), `VmRSS` growth per modem, CPU time of the whole
//! process over an idle period with all N clients open (from every thread's `schedstat`), and
//! the `AT\r` round trip with all N clients sending at once: one driver thread writes `AT\r` to
//! every PTY, then `poll`s all of them and times each client from its own write to the last
//! byte of its answer (`\r\nOK\r\n` after `ATE0`; the echo's `AT\r`), every answer checked.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use simodem::network::ModemSpec;

use super::pty_rtt::open_pty;
use super::world::{WorldThread, inotify_instances, read_proc, resolve, rss_kib};
use super::{Client, Summary, check, micros, read_some, summarize, write_all};

/// The modem's boot timeline (SIM start-up, registration timers) is over well before this.
const BOOT_SETTLE: Duration = Duration::from_millis(1200);
/// A hang guard for one round of answers (not a measurement).
const ROUND_TIMEOUT: Duration = Duration::from_secs(30);
/// Set in a child process: `sim <N>` or `echo <N>`; it prints one `DENSITY <json>` line.
const CHILD_ENV: &str = "SIMODEM_BENCH_DENSITY";
const CHILD_DIR_ENV: &str = "SIMODEM_BENCH_DENSITY_DIR";
/// PTYs left for everybody else on the machine when N is cut to what the kernel has free.
const PTY_RESERVE: usize = 32;
pub const TARGET_RSS_KIB: f64 = 200.0;
pub const TARGET_IDLE_CPU_PERCENT: f64 = 1.0;
/// The N the targets are stated for.
pub const TARGET_N: usize = 1000;

pub struct Plan {
    pub sizes: &'static [usize],
    pub idle: Duration,
    /// At least this many timed round trips per N (whole rounds of N), and at least `min_rounds`.
    pub samples: usize,
    pub min_rounds: usize,
}

pub const FULL: Plan = Plan {
    sizes: &[10, 100, 1000],
    idle: Duration::from_secs(10),
    samples: 5000,
    min_rounds: 10,
};

pub const SMOKE: Plan = Plan {
    sizes: &[10],
    idle: Duration::from_millis(500),
    samples: 50,
    min_rounds: 3,
};

impl Plan {
    pub fn rounds(&self, n: usize) -> usize {
        self.samples.div_ceil(n.max(1)).max(self.min_rounds)
    }
}

/// What one child measured.
pub struct Side {
    /// How many were asked for, and how many ran (fewer only when the kernel lacks PTYs).
    pub asked: usize,
    pub n: usize,
    pub start_ms: f64,
    /// `VmRSS` growth from before the start to after the load, KiB per modem (or PTY).
    pub rss_kib_per: f64,
    pub rss_growth_kib: f64,
    pub idle_cpu_percent: f64,
    pub round_trip: Summary,
    pub samples: usize,
    /// simodem: modems whose PTY inotify could watch (the rest run without open/close events).
    pub watched: Option<usize>,
    /// simodem: `VmRSS` growth after `start_world`, after the clients' first command, at the end.
    pub rss_stages: Value,
}

pub struct Row {
    pub simodem: Result<Side, String>,
    pub echo: Result<Side, String>,
}

// ----- the parent -----

/// PTYs the kernel can still hand out (`kernel/pty/max` − `kernel/pty/nr`).
pub fn ptys_free() -> Option<usize> {
    let max: usize = read_proc("/proc/sys/kernel/pty/max").parse().ok()?;
    let nr: usize = read_proc("/proc/sys/kernel/pty/nr").parse().ok()?;
    Some(max.saturating_sub(nr))
}

/// Every N of the plan, simodem and the echo each in a child process.
pub fn measure(plan: &Plan, full: bool, dir: &Path) -> Vec<Row> {
    let mut rows = Vec::new();
    for &asked in plan.sizes {
        // Cut N to what the kernel has free rather than fail: the report says so.
        let n = match ptys_free() {
            Some(free) if free < asked + PTY_RESERVE => free.saturating_sub(PTY_RESERVE).max(1),
            _ => asked,
        };
        let simodem = child(full, "sim", asked, n, dir);
        let echo = child(full, "echo", asked, n, dir);
        eprint!(".");
        rows.push(Row { simodem, echo });
    }
    eprintln!();
    rows
}

fn child(full: bool, kind: &str, asked: usize, n: usize, dir: &Path) -> Result<Side, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    let child_dir = dir.join(format!("density-{kind}-{n}"));
    std::fs::create_dir_all(&child_dir).map_err(|e| format!("{}: {e}", child_dir.display()))?;
    let mut command = std::process::Command::new(exe);
    if full {
        command.arg("--bench");
    }
    let output = command
        .env(CHILD_ENV, format!("{kind} {n}"))
        .env(CHILD_DIR_ENV, &child_dir)
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run the child: {e}"))?;
    let _ = std::fs::remove_dir_all(&child_dir);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let Some(line) = stdout.lines().find_map(|l| l.strip_prefix("DENSITY ")) else {
        return Err(format!(
            "{kind} N={n} failed ({}): {}",
            output.status,
            stdout.trim().lines().last().unwrap_or("(no output)")
        ));
    };
    let v: Value = serde_json::from_str(line).map_err(|e| format!("{kind} N={n}: {e}"))?;
    if let Some(e) = v.get("error").and_then(Value::as_str) {
        return Err(format!("{kind} N={n}: {e}"));
    }
    let f = |key: &str| v.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN);
    let rss_growth_kib = f("rss_growth_kib");
    Ok(Side {
        asked,
        n,
        start_ms: f("start_ms"),
        rss_kib_per: rss_growth_kib / n as f64,
        rss_growth_kib,
        idle_cpu_percent: f("idle_cpu_percent"),
        round_trip: Summary {
            mean: f("mean_us"),
            p50: f("p50_us"),
            p99: f("p99_us"),
            max: f("max_us"),
        },
        samples: f("samples") as usize,
        watched: v.get("watched").and_then(Value::as_u64).map(|w| w as usize),
        rss_stages: v
            .get("rss_growth_stages_kib")
            .cloned()
            .unwrap_or(Value::Null),
    })
}

pub fn side_json(side: &Result<Side, String>) -> Value {
    match side {
        Ok(s) => json!({
            "asked": s.asked,
            "n": s.n,
            "start_ms": s.start_ms,
            "rss_growth_kib": s.rss_growth_kib,
            "rss_kib_per": s.rss_kib_per,
            "idle_cpu_percent": s.idle_cpu_percent,
            "round_trip_all_at_once": super::relay::summary_json(&s.round_trip),
            "samples": s.samples,
            "watched": s.watched,
            "rss_growth_stages_kib": s.rss_stages,
        }),
        Err(e) => json!({ "error": e }),
    }
}

// ----- the child -----

/// In a child process started by `measure`: measures its side, prints `DENSITY <json>`, and
/// returns true. Otherwise (the parent) returns false at once.
pub fn child_if_asked(plan: &Plan) -> bool {
    let Ok(what) = std::env::var(CHILD_ENV) else {
        return false;
    };
    let dir = PathBuf::from(std::env::var_os(CHILD_DIR_ENV).unwrap_or_default());
    let result = match what.split_once(' ') {
        Some((kind, n)) => match (kind, n.parse::<usize>()) {
            ("sim", Ok(n)) => simodem_side(plan, n, &dir),
            ("echo", Ok(n)) => echo_side(plan, n),
            _ => Err(format!("{CHILD_ENV}={what:?}")),
        },
        None => Err(format!("{CHILD_ENV}={what:?}")),
    };
    let line = result.unwrap_or_else(|e| json!({ "error": e }));
    println!("DENSITY {line}");
    true
}

/// The soft limit of open files up to the hard one: N modems need about 3 N descriptors.
fn raise_fd_limit() {
    // SAFETY: rlimit is plain data that getrlimit fills.
    let mut limit: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: limit is valid writable memory of the right type.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
        limit.rlim_cur = limit.rlim_max;
        // SAFETY: limit is initialised; raising the soft limit to the hard one needs no privilege.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
    }
}

/// CPU time of every thread of this process so far (the first field of each `schedstat`).
fn process_cpu_ns() -> u64 {
    std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .filter_map(|t| t.ok())
                .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
                .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0)
}

/// Percent of one core the whole process used over `idle`, everyone quiet.
fn idle_cpu_percent(idle: Duration) -> f64 {
    let (before, started) = (process_cpu_ns(), Instant::now());
    std::thread::sleep(idle);
    let used = process_cpu_ns().saturating_sub(before);
    100.0 * used as f64 / 1e9 / started.elapsed().as_secs_f64()
}

fn simodem_side(plan: &Plan, n: usize, dir: &Path) -> Result<Value, String> {
    raise_fd_limit();
    let resolved = resolve(
        ModemSpec {
            link: Some(dir.join("sim%d")),
            ..ModemSpec::default()
        },
        n,
    )?;
    let rss_before = rss_kib().ok_or("no VmRSS")?;
    let world = WorldThread::start(resolved, None)?;
    let booted = Instant::now();
    let rss_started = rss_kib().ok_or("no VmRSS")?;
    let watched = inotify_instances();
    let result = (|| {
        let mut clients = Vec::with_capacity(n);
        for modem in &world.modems {
            let path = modem
                .link
                .clone()
                .or(modem.pts.clone())
                .ok_or("a modem without a PTY")?;
            clients.push(Client::open(&path).map_err(|e| format!("{}: {e}", path.display()))?);
        }
        // Let the boot timelines run out while the modems are still silent (auto-baud).
        std::thread::sleep(BOOT_SETTLE.saturating_sub(booted.elapsed()));
        // The first command trains auto-baud; echo is on until it is done.
        all_at_once(&clients, b"ATE0\r", b"ATE0\r\r\nOK\r\n", 1)
            .map_err(|e| format!("ATE0: {e}"))?;
        expect_quiet(&clients)?;
        let rss_ready = rss_kib().ok_or("no VmRSS")?;
        let idle = idle_cpu_percent(plan.idle);
        all_at_once(&clients, b"AT\r", b"\r\nOK\r\n", 1).map_err(|e| format!("warm-up: {e}"))?;
        let samples = all_at_once(&clients, b"AT\r", b"\r\nOK\r\n", plan.rounds(n))
            .map_err(|e| format!("AT: {e}"))?;
        expect_quiet(&clients)?;
        let rss_after = rss_kib().ok_or("no VmRSS")?;
        let mut value = side_value(
            world.start_took,
            rss_after.saturating_sub(rss_before),
            idle,
            &samples,
            Some(watched),
        );
        // Where the memory comes: `start_world`, then the clients' opens and first commands.
        value["rss_growth_stages_kib"] = json!({
            "started": rss_started.saturating_sub(rss_before),
            "ready": rss_ready.saturating_sub(rss_before),
            "loaded": rss_after.saturating_sub(rss_before),
        });
        Ok::<_, String>(value)
    })();
    world.stop();
    result
}

fn echo_side(plan: &Plan, n: usize) -> Result<Value, String> {
    raise_fd_limit();
    let rss_before = rss_kib().ok_or("no VmRSS")?;
    let started = Instant::now();
    let mut masters = Vec::with_capacity(n);
    let mut slaves = Vec::with_capacity(n);
    let mut paths = Vec::with_capacity(n);
    for _ in 0..n {
        let (master, slave, path) = open_pty().map_err(|e| format!("openpty: {e}"))?;
        masters.push(master);
        slaves.push(slave);
        paths.push(path);
    }
    // The thread ends with the process (it holds the masters, the process the slaves).
    std::thread::Builder::new()
        .name("pty-echo-poll".into())
        .spawn(move || poll_echo(&masters))
        .map_err(|e| format!("spawn: {e}"))?;
    let start_took = started.elapsed();
    let clients = paths
        .iter()
        .map(|p| Client::open(p).map_err(|e| format!("{}: {e}", p.display())))
        .collect::<Result<Vec<_>, _>>()?;
    all_at_once(&clients, b"AT\r", b"AT\r", 1).map_err(|e| format!("first: {e}"))?;
    let idle = idle_cpu_percent(plan.idle);
    all_at_once(&clients, b"AT\r", b"AT\r", 1).map_err(|e| format!("warm-up: {e}"))?;
    let samples =
        all_at_once(&clients, b"AT\r", b"AT\r", plan.rounds(n)).map_err(|e| format!("AT: {e}"))?;
    expect_quiet(&clients)?;
    let rss_after = rss_kib().ok_or("no VmRSS")?;
    drop(slaves);
    Ok(side_value(
        start_took,
        rss_after.saturating_sub(rss_before),
        idle,
        &samples,
        None,
    ))
}

fn side_value(
    start: Duration,
    rss_growth_kib: u64,
    idle_cpu_percent: f64,
    samples: &[Duration],
    watched: Option<usize>,
) -> Value {
    let s = summarize(samples);
    json!({
        "start_ms": micros(start) / 1e3,
        "rss_growth_kib": rss_growth_kib,
        "idle_cpu_percent": idle_cpu_percent,
        "mean_us": s.mean,
        "p50_us": s.p50,
        "p99_us": s.p99,
        "max_us": s.max,
        "samples": samples.len(),
        "watched": watched,
    })
}

/// One thread echoing every byte on every master, woken by `poll`.
fn poll_echo(masters: &[OwnedFd]) {
    let mut fds: Vec<libc::pollfd> = masters
        .iter()
        .map(|m| libc::pollfd {
            fd: m.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: fds is a valid array of fds.len() pollfds.
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
        if ready < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        for pfd in fds.iter_mut().filter(|p| p.revents != 0) {
            if pfd.revents & libc::POLLIN == 0 {
                // Hung up: no client any more; stop watching it.
                pfd.fd = -1;
                continue;
            }
            match read_some(pfd.fd, &mut buf) {
                Ok(n) if n > 0 => {
                    if write_all(pfd.fd, &buf[..n]).is_err() {
                        pfd.fd = -1;
                    }
                }
                _ => pfd.fd = -1,
            }
        }
    }
}

/// `rounds` rounds of: `command` written to every client, one after the other, then every
/// answer awaited with `poll`; each client timed from its own write to the last byte of its
/// answer, which must be `answer` exactly.
fn all_at_once(
    clients: &[Client],
    command: &[u8],
    answer: &[u8],
    rounds: usize,
) -> io::Result<Vec<Duration>> {
    let n = clients.len();
    let mut samples = Vec::with_capacity(n * rounds);
    let mut got = vec![Vec::with_capacity(answer.len()); n];
    let mut started = vec![Instant::now(); n];
    let mut pending: Vec<usize> = Vec::with_capacity(n);
    let mut fds: Vec<libc::pollfd> = Vec::with_capacity(n);
    let mut buf = [0u8; 256];
    for _ in 0..rounds {
        pending.clear();
        for (i, client) in clients.iter().enumerate() {
            got[i].clear();
            started[i] = Instant::now();
            write_all(client.fd.as_raw_fd(), command)?;
            pending.push(i);
        }
        let deadline = Instant::now() + ROUND_TIMEOUT;
        while !pending.is_empty() {
            fds.clear();
            fds.extend(pending.iter().map(|&i| libc::pollfd {
                fd: clients[i].fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            }));
            let left = deadline.saturating_duration_since(Instant::now());
            // SAFETY: fds is a valid array of fds.len() pollfds.
            let ready = check(
                unsafe {
                    libc::poll(
                        fds.as_mut_ptr(),
                        fds.len() as libc::nfds_t,
                        left.as_millis() as libc::c_int,
                    )
                },
                "poll",
            )?;
            if ready == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("{} of {n} clients still wait for {answer:?}", pending.len()),
                ));
            }
            let mut done = 0;
            for (k, pfd) in fds.iter().enumerate() {
                if pfd.revents == 0 {
                    continue;
                }
                let i = pending[k];
                let read = read_some(pfd.fd, &mut buf)?;
                if read == 0 {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "PTY closed"));
                }
                got[i].extend_from_slice(&buf[..read]);
                if got[i].len() >= answer.len() {
                    let took = started[i].elapsed();
                    if got[i] != answer {
                        return Err(io::Error::other(format!(
                            "client {i}: expected {:?}, got {:?}",
                            String::from_utf8_lossy(answer),
                            String::from_utf8_lossy(&got[i])
                        )));
                    }
                    samples.push(took);
                    done += 1;
                }
            }
            if done > 0 {
                pending.retain(|&i| got[i].len() < answer.len());
            }
        }
    }
    Ok(samples)
}

/// Nothing unasked on any client within 50 ms.
fn expect_quiet(clients: &[Client]) -> Result<(), String> {
    let mut fds: Vec<libc::pollfd> = clients
        .iter()
        .map(|c| libc::pollfd {
            fd: c.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    // SAFETY: fds is a valid array of fds.len() pollfds.
    let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 50) };
    match ready {
        0 => Ok(()),
        r if r < 0 => Err(format!("poll: {}", io::Error::last_os_error())),
        r => {
            let first = fds.iter().position(|p| p.revents != 0).unwrap_or(0);
            let stray = clients[first]
                .stray_bytes(Duration::from_millis(10))
                .unwrap_or_default();
            Err(format!(
                "{r} client(s) got unasked bytes, e.g. client {first}: {:?}",
                String::from_utf8_lossy(&stray)
            ))
        }
    }
}
