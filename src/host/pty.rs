//! The virtual serial port: a PTY whose slave is raw from birth and held open by us, a stable
//! symlink to it, and inotify watching client opens and closes (PTYs carry no DTR line).

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use inotify::{Inotify, WatchMask};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// The master side of the PTY, registered for read readiness only.
///
/// pty-process registers its master for reading and writing; every time the client drains its
/// input the kernel then reports the master writable and the runtime wakes for nothing. Reads
/// here clear readiness after a short read instead of reading again for `EAGAIN`, and writes are
/// plain `write(2)`: what the client's buffer has no room for waits in an [`Outbox`].
pub struct PtyMaster {
    fd: AsyncFd<OwnedFd>,
}

impl PtyMaster {
    fn new(pty: pty_process::Pty) -> io::Result<Self> {
        let fd = OwnedFd::from(pty);
        // SAFETY: the OwnedFd owns the (non-blocking) master and keeps it open while registered.
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
            .map_err(|e| e.into_parts().1)?;
        Ok(PtyMaster { fd })
    }

    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.fd.readable().await?;
            // SAFETY: buf is valid for buf.len() writable bytes.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n >= 0 {
                let n = n as usize;
                if n < buf.len() {
                    // The kernel had no more: the next edge will report new data.
                    guard.clear_ready();
                }
                return Ok(n);
            }
            let error = io::Error::last_os_error();
            if error.kind() == io::ErrorKind::WouldBlock {
                guard.clear_ready();
                continue;
            }
            return Err(error);
        }
    }

    /// Reads what the kernel holds now without waiting; `Ok(0)` when nothing is there.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: buf is valid for buf.len() writable bytes.
        let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let error = io::Error::last_os_error();
        if error.kind() == io::ErrorKind::WouldBlock {
            Ok(0)
        } else {
            Err(error)
        }
    }

    /// Writes what the client's buffer takes now, without waiting; `Ok(0)` when it is full.
    pub fn try_write(&self, bytes: &[u8]) -> io::Result<usize> {
        // SAFETY: bytes is valid for bytes.len() readable bytes.
        let n = unsafe { libc::write(self.fd.as_raw_fd(), bytes.as_ptr().cast(), bytes.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let error = io::Error::last_os_error();
        if error.kind() == io::ErrorKind::WouldBlock {
            Ok(0)
        } else {
            Err(error)
        }
    }

    /// A write watch on a duplicate of the master: registering the master itself for writing
    /// would wake the runtime every time the client drains its input.
    fn write_watch(&self) -> io::Result<AsyncFd<OwnedFd>> {
        let dup = self.fd.get_ref().try_clone()?;
        // SAFETY: dup is an owned duplicate of the master, open for the life of the watch.
        unsafe { AsyncFd::register_with_interest(dup, Interest::WRITABLE) }
            .map_err(|e| e.into_parts().1)
    }
}

/// Output for the client that its PTY buffer had no room for yet, oldest first, written as the
/// client reads: the session never waits in a write, so it keeps reading while output drains.
/// The outputs are kept as they came (no copy), the first one partly written.
#[derive(Default)]
pub struct Outbox {
    chunks: VecDeque<Vec<u8>>,
    /// How much of the first chunk is already written.
    written: usize,
    /// Bytes waiting, over all chunks.
    len: usize,
    /// The write watch, from the first full buffer until a write finds room again.
    watch: Option<AsyncFd<OwnedFd>>,
}

impl Outbox {
    /// Bytes waiting for room.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Writes `bytes` after whatever is waiting: now, as far as the client has room, and the
    /// rest later ([`Outbox::drain_below`]).
    pub fn queue(&mut self, master: &PtyMaster, bytes: Vec<u8>) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        if self.is_empty() {
            let written = master.try_write(&bytes)?;
            if written == bytes.len() {
                // Room again: the watch is not needed until the next full buffer.
                self.watch = None;
                return Ok(());
            }
            self.written = written;
            self.len = bytes.len() - written;
        } else {
            self.len += bytes.len();
        }
        self.chunks.push_back(bytes);
        Ok(())
    }

    /// Writes as the client makes room until fewer than `level` bytes wait (at least until
    /// none does for a `level` of 0 or 1). Cancel-safe: every write is complete when it returns.
    pub async fn drain_below(&mut self, master: &PtyMaster, level: usize) -> io::Result<()> {
        let level = level.max(1);
        while self.len >= level {
            let Some(front) = self.chunks.front() else {
                break;
            };
            let written = master.try_write(&front[self.written..])?;
            if written > 0 {
                self.consumed(written);
                continue;
            }
            if self.watch.is_none() {
                self.watch = Some(master.write_watch()?);
            }
            if let Some(watch) = &self.watch {
                // Cleared before the next write: an edge after it is kept, so none is missed.
                watch.writable().await?.clear_ready();
            }
        }
        Ok(())
    }

    /// Writes what fits now and forgets the rest (the port is going away).
    pub fn write_what_fits(&mut self, master: &PtyMaster) {
        while let Some(front) = self.chunks.front() {
            match master.try_write(&front[self.written..]) {
                Ok(written) if written > 0 => self.consumed(written),
                _ => break,
            }
        }
        self.clear();
    }

    /// Forgets everything waiting (the client left, or writing failed).
    pub fn clear(&mut self) {
        self.chunks = VecDeque::new();
        self.written = 0;
        self.len = 0;
        self.watch = None;
    }

    fn consumed(&mut self, written: usize) {
        self.written += written;
        self.len -= written;
        if self.chunks.front().is_some_and(|f| self.written == f.len()) {
            self.chunks.pop_front();
            self.written = 0;
        }
    }
}

/// An open PTY pair plus the watch on its slave node.
pub struct VirtualPort {
    pub master: PtyMaster,
    /// What the master had no room for yet.
    pub outbox: Outbox,
    /// Held so the port survives a client closing it (no EIO, no POLLHUP busy loop).
    slave: pty_process::Pts,
    pub slave_path: PathBuf,
    /// inotify on the slave node; `None` once watching failed.
    pub watcher: Option<AsyncFd<Inotify>>,
}

/// A client opening or closing the slave side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortActivity {
    Opened,
    Closed,
}

fn slave_name(master: RawFd) -> io::Result<PathBuf> {
    let mut buf = [0 as libc::c_char; 128];
    // SAFETY: buf is valid for buf.len() bytes and ptsname_r NUL-terminates on success.
    let rc = unsafe { libc::ptsname_r(master, buf.as_mut_ptr(), buf.len()) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    // SAFETY: ptsname_r succeeded, so buf holds a NUL-terminated string.
    let name = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
    Ok(PathBuf::from(name.to_string_lossy().into_owned()))
}

/// `cfmakeraw` on the slave, so a client that never sets termios still sees exact bytes.
fn make_raw(fd: RawFd) -> io::Result<()> {
    // SAFETY: termios is plain data; tcgetattr fills it for a valid tty fd.
    let mut termios: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: fd is an open tty and termios points to writable memory.
    if unsafe { libc::tcgetattr(fd, &mut termios) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: termios was initialised by tcgetattr.
    unsafe { libc::cfmakeraw(&mut termios) };
    // SAFETY: fd is an open tty and termios is initialised.
    if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &termios) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// inotify on a slave node for client opens and closes.
fn watch_opens_and_closes(slave_path: &Path) -> io::Result<AsyncFd<Inotify>> {
    let inotify = Inotify::init()?;
    inotify.watches().add(
        slave_path,
        WatchMask::OPEN | WatchMask::CLOSE_WRITE | WatchMask::CLOSE_NOWRITE,
    )?;
    // SAFETY: the Inotify value owns its fd and keeps it open until the AsyncFd drops it.
    unsafe { AsyncFd::register_with_interest(inotify, tokio::io::Interest::READABLE) }
        .map_err(|e| e.into_parts().1)
}

impl VirtualPort {
    pub fn open() -> io::Result<Self> {
        let (master, slave) = pty_process::open().map_err(io::Error::other)?;
        make_raw(slave.as_raw_fd())?;
        let slave_path = slave_name(master.as_raw_fd())?;
        // Without a watch the port still works; only opens and closes (DTR) go unseen. The usual
        // cause is the per-user limit of inotify instances (fs.inotify.max_user_instances).
        let watcher = match watch_opens_and_closes(&slave_path) {
            Ok(watcher) => Some(watcher),
            Err(e) => {
                tracing::warn!(
                    pts = %slave_path.display(),
                    "cannot watch the PTY for opens and closes ({e}); the port works, but a \
                     client closing it is not seen as a DTR drop (raise \
                     fs.inotify.max_user_instances for more modems)"
                );
                None
            }
        };
        Ok(VirtualPort {
            master: PtyMaster::new(master)?,
            outbox: Outbox::default(),
            slave,
            slave_path,
            watcher,
        })
    }

    /// Gives up on open/close detection (the port keeps working without DTR emulation).
    pub fn stop_watching(&mut self) {
        self.watcher = None;
    }

    /// Drops modem output a departed client left unread, so the next client does not get it.
    pub fn discard_unread_output(&self) {
        // SAFETY: the slave fd is open for the life of self.
        unsafe { libc::tcflush(self.slave.as_raw_fd(), libc::TCIFLUSH) };
    }
}

fn to_activity(events: inotify::Events<'_>) -> Vec<PortActivity> {
    events
        .filter_map(|event| {
            if event.mask.contains(inotify::EventMask::OPEN) {
                Some(PortActivity::Opened)
            } else if event
                .mask
                .intersects(inotify::EventMask::CLOSE_WRITE | inotify::EventMask::CLOSE_NOWRITE)
            {
                Some(PortActivity::Closed)
            } else {
                None
            }
        })
        .collect()
}

/// Waits for clients to open or close the slave; returns what happened, in order.
/// Opens and closes already queued, without waiting (empty when there are none).
pub fn pending_activity(watcher: &mut AsyncFd<Inotify>) -> Vec<PortActivity> {
    let mut buffer = [0u8; 1024];
    let mut activity = Vec::new();
    while let Ok(events) = watcher.get_mut().read_events(&mut buffer) {
        let batch = to_activity(events);
        if batch.is_empty() {
            break;
        }
        activity.extend(batch);
    }
    activity
}

pub async fn read_activity(watcher: &mut AsyncFd<Inotify>) -> io::Result<Vec<PortActivity>> {
    let mut buffer = [0u8; 1024];
    loop {
        let mut guard = watcher.readable_mut().await?;
        match guard.try_io(|inner| inner.get_mut().read_events(&mut buffer)) {
            Ok(Ok(events)) => {
                let activity = to_activity(events);
                if !activity.is_empty() {
                    return Ok(activity);
                }
            }
            Ok(Err(e)) => return Err(e),
            Err(_would_block) => continue,
        }
    }
}

/// Why a `--link` path cannot be used.
#[derive(Debug)]
pub enum LinkError {
    NotOurs(PathBuf),
    InUse { path: PathBuf, pid: u32 },
    Io(PathBuf, io::Error),
}

impl std::fmt::Display for LinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LinkError::NotOurs(path) => write!(
                f,
                "{} exists and is not a simodem link to /dev/pts; remove it or pass another --link",
                path.display()
            ),
            LinkError::InUse { path, pid } => write!(
                f,
                "{} is the port of a running simodem (pid {pid}); stop it or pass another --link",
                path.display()
            ),
            LinkError::Io(path, e) => write!(f, "cannot create link {}: {e}", path.display()),
        }
    }
}

/// The pid of a live simodem process (other than us) holding `device` open, if any.
fn simodem_holding(device: &Path) -> Option<u32> {
    let me = std::process::id();
    let entries = std::fs::read_dir("/proc").ok()?;
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == me {
            continue;
        }
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        if comm.trim() != "simodem" {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        if fds
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|t| t == device))
        {
            return Some(pid);
        }
    }
    None
}

/// Points `link` at `target`, replacing a leftover simodem link no live simodem holds.
pub fn create_link(link: &Path, target: &Path) -> Result<(), LinkError> {
    if let Ok(meta) = std::fs::symlink_metadata(link) {
        if !meta.file_type().is_symlink() {
            return Err(LinkError::NotOurs(link.to_path_buf()));
        }
        let old = std::fs::read_link(link).map_err(|e| LinkError::Io(link.to_path_buf(), e))?;
        if !old.starts_with("/dev/pts/") {
            return Err(LinkError::NotOurs(link.to_path_buf()));
        }
        if let Some(pid) = simodem_holding(&old) {
            return Err(LinkError::InUse {
                path: link.to_path_buf(),
                pid,
            });
        }
        tracing::info!(link = %link.display(), old = %old.display(), "replacing a stale simodem link");
        std::fs::remove_file(link).map_err(|e| LinkError::Io(link.to_path_buf(), e))?;
    }
    std::os::unix::fs::symlink(target, link).map_err(|e| LinkError::Io(link.to_path_buf(), e))
}

/// Removes `link` if it still points at `target`.
pub fn remove_link(link: &Path, target: &Path) {
    if std::fs::read_link(link).is_ok_and(|t| t == target) {
        let _ = std::fs::remove_file(link);
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::os::fd::FromRawFd;

    use super::*;

    /// The slave opened like a client: blocking reads (the reader runs on a thread of its own).
    fn client(port: &VirtualPort) -> std::fs::File {
        let path = std::ffi::CString::new(port.slave_path.as_os_str().as_encoded_bytes())
            .expect("path without NUL");
        // SAFETY: a valid NUL-terminated path.
        let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDWR | libc::O_NOCTTY) };
        assert!(fd >= 0, "open: {}", io::Error::last_os_error());
        // SAFETY: fd was just opened and is owned here.
        std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    #[tokio::test]
    async fn queue_never_waits_and_the_outbox_drains_in_order_as_the_client_reads() {
        const SIZE: usize = 1 << 20;
        let mut port = VirtualPort::open().expect("pty");
        let mut reader = client(&port);
        let data = pattern(SIZE);
        // A client that reads nothing yet: the PTY takes a few KiB, the outbox the rest.
        let (first, second) = data.split_at(SIZE / 2);
        port.outbox
            .queue(&port.master, first.to_vec())
            .expect("queue");
        let waiting = port.outbox.len();
        assert!(waiting > 0 && waiting < SIZE / 2, "{waiting} bytes waiting");
        port.outbox
            .queue(&port.master, second.to_vec())
            .expect("queue");
        assert_eq!(port.outbox.len(), waiting + SIZE / 2);

        let got = std::thread::spawn(move || {
            let mut got = vec![0u8; SIZE];
            reader.read_exact(&mut got).map(|()| got)
        });
        port.outbox
            .drain_below(&port.master, 1)
            .await
            .expect("drain");
        assert!(port.outbox.is_empty());
        let got = got.join().expect("reader").expect("read");
        assert!(got == data, "the client got other bytes than were queued");
    }

    #[tokio::test]
    async fn drain_below_stops_at_its_level_and_clear_forgets_the_rest() {
        const SIZE: usize = 256 << 10;
        let mut port = VirtualPort::open().expect("pty");
        let mut reader = client(&port);
        port.outbox
            .queue(&port.master, pattern(SIZE))
            .expect("queue");
        let waiting = port.outbox.len();
        assert!(waiting > 64 << 10, "{waiting} bytes waiting");
        // Reads until the outbox is below 64 KiB, then stops reading.
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let reading = std::thread::spawn(move || {
            let mut buf = vec![0u8; 4096];
            let mut total = 0;
            while done_rx.try_recv().is_err() {
                total += reader.read(&mut buf).expect("read");
            }
            (reader, total)
        });
        port.outbox
            .drain_below(&port.master, 64 << 10)
            .await
            .expect("drain");
        let left = port.outbox.len();
        assert!(left < 64 << 10, "{left} bytes left");
        done_tx.send(()).expect("stop the reader");
        // The reader may be waiting in a read: give it something to return with.
        port.outbox.clear();
        assert!(port.outbox.is_empty());
        port.master.try_write(b"x").expect("write");
        let (_reader, total) = reading.join().expect("reader");
        assert!(total > 0, "the client read nothing");
    }
}
