//! Shared by the benches: raw PTY plumbing over libc, the PTY client every side is driven by
//! (opened like pyserial/gammu, timed round trips), and latency statistics (percentiles in µs).
#![allow(dead_code)] // each bench uses its own subset

pub mod density;
pub mod pty_rtt;
pub mod relay;
pub mod replay;
pub mod sms;
pub mod telit;
pub mod world;

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use simodem::host::{HostedModem, PortOptions};
use simodem::modem::ModemConfig;
use simodem::modem::profile::Profile;

pub fn check(rc: libc::c_int, what: &str) -> io::Result<libc::c_int> {
    if rc < 0 {
        let e = io::Error::last_os_error();
        Err(io::Error::new(e.kind(), format!("{what}: {e}")))
    } else {
        Ok(rc)
    }
}

/// `cfmakeraw` + `tcsetattr(TCSANOW)`.
pub fn make_raw(fd: RawFd) -> io::Result<()> {
    // SAFETY: termios is plain data, filled by tcgetattr before use.
    let mut termios: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: termios points to writable memory of the right type.
    check(unsafe { libc::tcgetattr(fd, &mut termios) }, "tcgetattr")?;
    // SAFETY: termios was initialised by tcgetattr.
    unsafe { libc::cfmakeraw(&mut termios) };
    // SAFETY: termios is initialised.
    check(
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &termios) },
        "tcsetattr",
    )?;
    Ok(())
}

pub fn write_all(fd: RawFd, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        // SAFETY: bytes is valid for bytes.len() bytes.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        bytes = &bytes[n as usize..];
    }
    Ok(())
}

/// One blocking `read`; `Ok(0)` is end of file.
pub fn read_some(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: buf is valid for buf.len() writable bytes.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Whether `fd` becomes readable within `timeout`.
pub fn readable_within(fd: RawFd, timeout: Duration) -> io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let n = check(
        unsafe { libc::poll(&mut pfd, 1, timeout.as_millis() as libc::c_int) },
        "poll",
    )?;
    Ok(n > 0)
}

// ----- the PTY client: identical for every side measured -----

/// The slave side, opened the way serial-port clients (pyserial, gammu) open it.
pub struct Client {
    pub fd: OwnedFd,
}

impl Client {
    pub fn open(path: &Path) -> io::Result<Client> {
        let c_path = CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        // SAFETY: valid NUL-terminated path.
        let fd = check(
            unsafe {
                libc::open(
                    c_path.as_ptr(),
                    libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
                )
            },
            "open slave",
        )?;
        // SAFETY: fd was just opened and is owned here.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        make_raw(fd.as_raw_fd())?;
        Ok(Client { fd })
    }

    /// Writes `command` and reads until `answer.len()` bytes came back. Only this is timed.
    pub fn round_trip(&self, command: &[u8], answer: &mut [u8]) -> io::Result<Duration> {
        let fd = self.fd.as_raw_fd();
        let start = Instant::now();
        write_all(fd, command)?;
        let mut got = 0;
        while got < answer.len() {
            let n = read_some(fd, &mut answer[got..])?;
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "PTY closed"));
            }
            got += n;
        }
        Ok(start.elapsed())
    }

    /// Reads until `tail` was seen (or `timeout` passed); returns everything read.
    pub fn read_until(&self, tail: &[u8], timeout: Duration) -> io::Result<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        let mut buf = [0u8; 256];
        while !seen.ends_with(tail) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !readable_within(self.fd.as_raw_fd(), left)? {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "waiting for {tail:?}, got {:?}",
                        String::from_utf8_lossy(&seen)
                    ),
                ));
            }
            let n = read_some(self.fd.as_raw_fd(), &mut buf)?;
            seen.extend_from_slice(&buf[..n]);
        }
        Ok(seen)
    }

    /// Bytes that arrive unasked within `quiet`.
    pub fn stray_bytes(&self, quiet: Duration) -> io::Result<Vec<u8>> {
        let mut stray = Vec::new();
        let mut buf = [0u8; 256];
        while readable_within(self.fd.as_raw_fd(), quiet)? {
            let n = read_some(self.fd.as_raw_fd(), &mut buf)?;
            if n == 0 {
                break;
            }
            stray.extend_from_slice(&buf[..n]);
        }
        Ok(stray)
    }
}

// ----- statistics -----

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub struct Summary {
    pub mean: f64,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

pub fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

pub fn summarize(samples: &[Duration]) -> Summary {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let total: Duration = sorted.iter().sum();
    Summary {
        mean: micros(total) / sorted.len() as f64,
        p50: micros(percentile(&sorted, 50.0)),
        p99: micros(percentile(&sorted, 99.0)),
        max: micros(sorted[sorted.len() - 1]),
    }
}

// ----- simodem on a current-thread runtime in its own thread -----

/// One modem on a PTY, hosted as the binary hosts it; stopped when dropped.
pub struct Emulator {
    pub slave_path: PathBuf,
    /// The runtime thread's id: all of the modem's work runs on it.
    pub tid: libc::pid_t,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// Runs `body` on a new thread called `name`, inside a current-thread tokio runtime of its own;
/// `body` gets `ready` to report on. A runtime that cannot be built is reported there instead.
pub fn spawn_runtime_thread<T, F, Fut>(
    name: &str,
    ready: mpsc::Sender<Result<T, String>>,
    body: F,
) -> io::Result<JoinHandle<()>>
where
    T: Send + 'static,
    F: FnOnce(mpsc::Sender<Result<T, String>>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = ready.send(Err(format!("runtime: {e}")));
                    return;
                }
            };
            runtime.block_on(body(ready));
        })
}

impl Emulator {
    /// A SIM900 (`simodem run`).
    pub fn start(link: PathBuf) -> Result<Emulator, String> {
        Emulator::start_model(&simodem::modem::profile::SIM900, link)
    }

    /// A modem of `profile`'s model with factory settings (`simodem run --model …`).
    pub fn start_model(profile: &'static Profile, link: PathBuf) -> Result<Emulator, String> {
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(PathBuf, libc::pid_t), String>>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = spawn_runtime_thread("simodem", ready_tx, move |ready_tx| async move {
            let hosted = HostedModem {
                config: ModemConfig::new(profile),
                ports: PortOptions {
                    pty_link: Some(link),
                    ..PortOptions::default()
                },
                state_dir: None,
            };
            match simodem::host::start(hosted).await {
                Ok(running) => {
                    let Some(slave) = running.slave_path.clone() else {
                        let _ = ready_tx.send(Err("no PTY was created".into()));
                        return;
                    };
                    // SAFETY: gettid has no preconditions.
                    let tid = unsafe { libc::gettid() };
                    let _ = ready_tx.send(Ok((slave, tid)));
                    let _ = stop_rx.await;
                    running.stop().await;
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string()));
                }
            }
        })
        .map_err(|e| format!("spawn: {e}"))?;
        let (slave_path, tid) = ready_rx
            .recv()
            .map_err(|_| "simodem thread died before it was ready".to_string())??;
        Ok(Emulator {
            slave_path,
            tid,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

// ----- the machine: CPU placement and what the reports name -----

/// A CPU mask of one CPU.
pub fn one_cpu(cpu: usize) -> libc::cpu_set_t {
    // SAFETY: cpu_set_t is plain data; CPU_ZERO/CPU_SET only write inside it.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    unsafe {
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(cpu, &mut set);
    }
    set
}

/// Sets the CPU mask of thread `tid` (0: the calling thread; threads it spawns later inherit it).
pub fn set_affinity(tid: libc::pid_t, set: &libc::cpu_set_t) -> io::Result<()> {
    // SAFETY: set is a valid cpu_set_t of the size given.
    check(
        unsafe { libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), set) },
        "sched_setaffinity",
    )?;
    Ok(())
}

/// The calling thread's CPU mask.
pub fn affinity() -> io::Result<libc::cpu_set_t> {
    // SAFETY: cpu_set_t is plain data that sched_getaffinity fills.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: set is a valid, writable cpu_set_t of the size given.
    check(
        unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) },
        "sched_getaffinity",
    )?;
    Ok(set)
}

/// `sysname release machine` from uname(2).
pub fn kernel() -> String {
    // SAFETY: utsname is plain data that uname fills.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: uts is valid writable memory of the right type.
    if unsafe { libc::uname(&mut uts) } != 0 {
        return "unknown kernel".into();
    }
    let field = |f: &[libc::c_char]| {
        // SAFETY: uname NUL-terminates every field.
        unsafe { std::ffi::CStr::from_ptr(f.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    };
    format!(
        "{} {} {}",
        field(&uts.sysname),
        field(&uts.release),
        field(&uts.machine)
    )
}

/// The CPU model from /proc/cpuinfo.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, model)| model.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}
