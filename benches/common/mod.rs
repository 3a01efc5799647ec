//! Shared by the benches: raw PTY plumbing over libc (open raw, write all, read with a deadline)
//! and latency statistics (nearest-rank percentiles, summaries in µs).
#![allow(dead_code)] // each bench uses its own subset

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

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
