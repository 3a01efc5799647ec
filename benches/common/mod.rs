//! Shared by the benches: raw PTY plumbing over libc, the PTY client every side is driven by
//! (opened like pyserial/gammu, timed round trips), and latency statistics (percentiles in µs).
#![allow(dead_code)] // each bench uses its own subset

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::time::{Duration, Instant};

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
