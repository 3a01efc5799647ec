//! The soak's clients: a blocking AT client on a modem's PTY (raw termios, like pyserial) that
//! splits what comes into lines and data, and a control-socket client (one JSON line each way).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// Why an exchange with the modem did not give what the client waited for.
#[derive(Debug)]
pub enum PortError {
    Io(io::Error),
    /// Nothing conclusive within the deadline: what had come meanwhile.
    Timeout(String),
}

impl std::fmt::Display for PortError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PortError::Io(e) => write!(f, "port I/O: {e}"),
            PortError::Timeout(got) => write!(f, "timed out; last bytes {got:?}"),
        }
    }
}

impl From<io::Error> for PortError {
    fn from(e: io::Error) -> Self {
        PortError::Io(e)
    }
}

/// What a command ended with, and the lines before it (URCs included).
#[derive(Debug, Clone)]
pub struct Reply {
    pub lines: Vec<String>,
    pub last: String,
}

impl Reply {
    pub fn ok(&self) -> bool {
        self.last == "OK"
    }
}

/// The final lines of an ordinary command.
pub const FINALS: &[&str] = &["OK", "ERROR", "+CME ERROR", "+CMS ERROR"];

/// The client side of one PTY, opened like a serial port; bytes read but not yet consumed wait
/// in `pending`.
pub struct AtPort {
    file: std::fs::File,
    pending: Vec<u8>,
}

/// At most this many bytes of what came are shown in an error.
const SHOWN: usize = 200;

fn shown(bytes: &[u8]) -> String {
    let start = bytes.len().saturating_sub(SHOWN);
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

impl AtPort {
    /// Opens `path` read-write without making it the controlling terminal, raw at 115200, reads
    /// returning after 100 ms without data.
    pub fn open(path: &Path) -> io::Result<AtPort> {
        let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path with a NUL"))?;
        // SAFETY: a valid NUL-terminated path.
        let fd = unsafe { libc::open(c_path.as_ptr(), libc::O_RDWR | libc::O_NOCTTY) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd was just opened and is owned here.
        let file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
        let raw = file.as_raw_fd();
        // SAFETY: termios is plain data and `raw` an open tty.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(raw, &mut t) != 0 {
                return Err(io::Error::last_os_error());
            }
            libc::cfmakeraw(&mut t);
            libc::cfsetispeed(&mut t, libc::B115200);
            libc::cfsetospeed(&mut t, libc::B115200);
            t.c_cc[libc::VMIN] = 0;
            t.c_cc[libc::VTIME] = 1;
            if libc::tcsetattr(raw, libc::TCSANOW, &t) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(AtPort {
            file,
            pending: Vec::new(),
        })
    }

    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)
    }

    /// One read (up to 100 ms) into `pending`; the number of bytes.
    fn fill(&mut self) -> io::Result<usize> {
        let mut buf = [0u8; 8192];
        match self.file.read(&mut buf) {
            Ok(n) => {
                self.pending.extend_from_slice(&buf[..n]);
                Ok(n)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                Ok(0)
            }
            Err(e) => Err(e),
        }
    }

    /// Reads and throws away everything that arrives until the port has been quiet for `quiet`
    /// (or `limit` passed); how many bytes went.
    pub fn drain(&mut self, quiet: Duration, limit: Duration) -> io::Result<usize> {
        let end = Instant::now() + limit;
        let mut last = Instant::now();
        let mut dropped = self.pending.len();
        self.pending.clear();
        while Instant::now() < end && last.elapsed() < quiet {
            let n = self.fill()?;
            if n > 0 {
                last = Instant::now();
                dropped += n;
                self.pending.clear();
            }
        }
        Ok(dropped)
    }

    /// Takes exactly `len` data bytes (data mode), waiting up to `timeout`.
    pub fn take_data(&mut self, len: usize, timeout: Duration) -> Result<Vec<u8>, PortError> {
        let end = Instant::now() + timeout;
        while self.pending.len() < len {
            if Instant::now() >= end {
                return Err(PortError::Timeout(shown(&self.pending)));
            }
            self.fill()?;
        }
        let rest = self.pending.split_off(len);
        Ok(std::mem::replace(&mut self.pending, rest))
    }

    /// Waits until `pattern` has come and returns everything before it (the pattern consumed).
    pub fn take_until(&mut self, pattern: &[u8], timeout: Duration) -> Result<Vec<u8>, PortError> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(at) = find(&self.pending, pattern) {
                let before = self.pending[..at].to_vec();
                self.pending.drain(..at + pattern.len());
                return Ok(before);
            }
            if Instant::now() >= end {
                return Err(PortError::Timeout(shown(&self.pending)));
            }
            self.fill()?;
        }
    }

    /// Reads lines (empty ones skipped) until one equals a `finals` entry or starts with one
    /// followed by `:`; the bytes after that line stay pending (data after `CONNECT`).
    pub fn until_final(&mut self, finals: &[&str], timeout: Duration) -> Result<Reply, PortError> {
        let end = Instant::now() + timeout;
        let mut lines = Vec::new();
        loop {
            while let Some(at) = find(&self.pending, b"\r\n") {
                let line = String::from_utf8_lossy(&self.pending[..at]).into_owned();
                self.pending.drain(..at + 2);
                if line.is_empty() {
                    continue;
                }
                let is_final = finals.iter().any(|f| {
                    line == *f || (line.starts_with(f) && line[f.len()..].starts_with(':'))
                });
                if is_final {
                    return Ok(Reply { lines, last: line });
                }
                lines.push(line);
            }
            if Instant::now() >= end {
                return Err(PortError::Timeout(format!(
                    "{lines:?} then {:?}",
                    shown(&self.pending)
                )));
            }
            self.fill()?;
        }
    }

    /// Sends `command` and a CR, then reads to the final line.
    pub fn command(
        &mut self,
        command: &str,
        finals: &[&str],
        timeout: Duration,
    ) -> Result<Reply, PortError> {
        self.send(format!("{command}\r").as_bytes())?;
        self.until_final(finals, timeout)
    }

    /// An ordinary command (`OK`, `ERROR`, `+CME ERROR`, `+CMS ERROR`).
    pub fn at(&mut self, command: &str, timeout: Duration) -> Result<Reply, PortError> {
        self.command(command, FINALS, timeout)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A client of the world's control socket.
pub struct ControlClient {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl ControlClient {
    pub fn connect(path: &Path) -> io::Result<ControlClient> {
        let stream = UnixStream::connect(path)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let writer = stream.try_clone()?;
        Ok(ControlClient {
            reader: BufReader::new(stream),
            writer,
        })
    }

    /// One request line, its response parsed; `Err` unless it answered `"ok":true`.
    pub fn request(&mut self, request: &serde_json::Value) -> Result<serde_json::Value, String> {
        let line = format!("{request}\n");
        self.writer
            .write_all(line.as_bytes())
            .map_err(|e| format!("control write: {e}"))?;
        let mut answer = String::new();
        self.reader
            .read_line(&mut answer)
            .map_err(|e| format!("control read: {e}"))?;
        let value: serde_json::Value = serde_json::from_str(answer.trim_end())
            .map_err(|e| format!("control answer {answer:?}: {e}"))?;
        if value["ok"] == true {
            Ok(value)
        } else {
            Err(format!("control refused {request}: {answer}"))
        }
    }
}
