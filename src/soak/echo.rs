//! The soak's loopback echo server: every connection gets its bytes back (as they come, or after
//! the delay its 16-byte session header asks for); what each session sent is counted and hashed.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// Every session's first bytes: `SK`, the echo delay in ms (4 digits), the session number (9
/// digits), `\n`.
pub const HEADER_LEN: usize = 16;

pub fn header(session: u64, delay_ms: u64) -> Vec<u8> {
    format!(
        "SK{:04}{:09}\n",
        delay_ms.min(9999),
        session % 1_000_000_000
    )
    .into_bytes()
}

/// `(session, delay_ms)`.
fn parse_header(bytes: &[u8]) -> Option<(u64, u64)> {
    let text = std::str::from_utf8(bytes.get(..HEADER_LEN)?).ok()?;
    let digits = text.strip_prefix("SK")?.strip_suffix('\n')?;
    let delay = digits.get(..4)?.parse().ok()?;
    let session = digits.get(4..)?.parse().ok()?;
    Some((session, delay))
}

/// FNV-1a, 64 bits: enough to tell a prefix that differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fnv(pub u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    pub fn update(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    pub fn of(bytes: &[u8]) -> u64 {
        let mut h = Fnv::default();
        h.update(bytes);
        h.0
    }
}

/// What the server saw on one session's connection.
#[derive(Debug, Clone, Default)]
pub struct ServerSide {
    pub received: u64,
    pub hash: Fnv,
    pub echoed: u64,
    /// The modem closed the connection (EOF or reset).
    pub closed: bool,
}

/// Sessions by number; connections that never sent a whole header are counted apart.
#[derive(Default)]
struct Book {
    sessions: HashMap<u64, ServerSide>,
    anonymous: u64,
}

pub struct EchoServer {
    pub port: u16,
    book: Arc<Mutex<Book>>,
    stop: Arc<AtomicBool>,
    open: Arc<AtomicU64>,
    acceptor: Option<JoinHandle<()>>,
}

impl EchoServer {
    pub fn start() -> io::Result<EchoServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        listener.set_nonblocking(true)?;
        let book = Arc::new(Mutex::new(Book::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let open = Arc::new(AtomicU64::new(0));
        let acceptor = {
            let (book, stop, open) = (book.clone(), stop.clone(), open.clone());
            thread::Builder::new()
                .name("soak-echo".into())
                .spawn(move || accept_loop(listener, book, stop, open))?
        };
        Ok(EchoServer {
            port,
            book,
            stop,
            open,
            acceptor: Some(acceptor),
        })
    }

    /// The server's view of `session`, if a connection announced it.
    pub fn session(&self, session: u64) -> Option<ServerSide> {
        lock(&self.book).sessions.get(&session).cloned()
    }

    /// Forgets a session once it has been accounted for.
    pub fn forget(&self, session: u64) {
        lock(&self.book).sessions.remove(&session);
    }

    /// Connections that closed before sending a whole header.
    pub fn anonymous(&self) -> u64 {
        lock(&self.book).anonymous
    }

    /// Connections still open on the server's side.
    pub fn open_connections(&self) -> u64 {
        self.open.load(Ordering::SeqCst)
    }

    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn lock(book: &Mutex<Book>) -> std::sync::MutexGuard<'_, Book> {
    book.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn accept_loop(
    listener: TcpListener,
    book: Arc<Mutex<Book>>,
    stop: Arc<AtomicBool>,
    open: Arc<AtomicU64>,
) {
    let mut workers: Vec<JoinHandle<()>> = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        workers.retain(|w| !w.is_finished());
        match listener.accept() {
            Ok((stream, _)) => {
                let (book, stop, open) = (book.clone(), stop.clone(), open.clone());
                open.fetch_add(1, Ordering::SeqCst);
                let spawned =
                    thread::Builder::new()
                        .name("soak-echo-conn".into())
                        .spawn(move || {
                            serve(stream, &book, &stop);
                            open.fetch_sub(1, Ordering::SeqCst);
                        });
                match spawned {
                    Ok(worker) => workers.push(worker),
                    Err(e) => tracing::error!("soak echo server: cannot start a thread: {e}"),
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(5));
            }
            Err(e) => {
                tracing::warn!("soak echo server: accept failed: {e}");
                thread::sleep(Duration::from_millis(50));
            }
        }
    }
    for worker in workers {
        let _ = worker.join();
    }
}

/// Echoes one connection until the modem closes it (or the soak stops).
fn serve(mut stream: TcpStream, book: &Mutex<Book>, stop: &AtomicBool) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let _ = stream.set_nodelay(true);
    let mut head = Vec::with_capacity(HEADER_LEN);
    let mut session: Option<u64> = None;
    let mut delay = Duration::ZERO;
    let mut buf = vec![0u8; 16384];
    loop {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let n = match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let data = &buf[..n];
        if !delay.is_zero() {
            thread::sleep(delay);
        }
        let echoed = stream.write_all(data).is_ok();
        match session {
            Some(id) => {
                let mut book = lock(book);
                if let Some(side) = book.sessions.get_mut(&id) {
                    side.received += n as u64;
                    side.hash.update(data);
                    if echoed {
                        side.echoed += n as u64;
                    }
                }
            }
            None => {
                head.extend_from_slice(data);
                if head.len() >= HEADER_LEN {
                    match parse_header(&head) {
                        Some((id, delay_ms)) => {
                            delay = Duration::from_millis(delay_ms);
                            let mut side = ServerSide {
                                received: head.len() as u64,
                                echoed: if echoed { n as u64 } else { 0 },
                                ..ServerSide::default()
                            };
                            // Bytes echoed before this read were counted as they went.
                            side.echoed += (head.len() - n) as u64;
                            side.hash.update(&head);
                            lock(book).sessions.insert(id, side);
                            session = Some(id);
                        }
                        None => {
                            tracing::error!("soak echo server: a connection without a header");
                            break;
                        }
                    }
                }
            }
        }
        if !echoed {
            break;
        }
    }
    let mut book = lock(book);
    match session {
        // A session the client already accounted for (and forgot) is not reopened.
        Some(id) => {
            if let Some(side) = book.sessions.get_mut(&id) {
                side.closed = true;
            }
        }
        None => book.anonymous += 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_names_the_session_and_the_delay() {
        let h = header(1234, 250);
        assert_eq!(h.len(), HEADER_LEN);
        assert_eq!(parse_header(&h), Some((1234, 250)));
        assert_eq!(parse_header(b"SK0250000001234"), None);
        assert_eq!(parse_header(b"XX0250000001234\n"), None);
    }
}
