//! The control socket: a Unix socket (mode 0600) speaking JSON lines, one response per request,
//! or a stream of events after `events`; and the blocking client behind `simodem ctl`.

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{broadcast, oneshot};
use tokio::task::{JoinHandle, JoinSet};

use super::StartError;
use super::events::{WorldEvent, lagged_line};
use super::world::{WorldHandle, error_line, subscribed_response};
use crate::control::{Request, Verb};

/// The longest request line (without its newline) the server reads.
pub const MAX_LINE: usize = 65536;
/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 8192;
/// Control connections served at once; more are told so and closed.
const MAX_CONNECTIONS: usize = 256;
/// Event lines gathered into one write for a streaming client.
const STREAM_BATCH_BYTES: usize = 65536;

/// Binds a Unix stream socket at `path` with mode 0600. Anything that is not a socket is
/// refused. A leftover socket is replaced; with `refuse_live`, only when nobody listens on it
/// (found by connecting, so not for AT channels: that would look like a client to their modem).
pub(crate) fn bind_owner_only(path: &Path, refuse_live: bool) -> Result<UnixListener, StartError> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(StartError::NotASocket(path.to_path_buf()));
        }
        if refuse_live && std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(StartError::SocketInUse(path.to_path_buf()));
        }
        std::fs::remove_file(path).map_err(|e| StartError::Bind(path.display().to_string(), e))?;
    }
    let listener =
        UnixListener::bind(path).map_err(|e| StartError::Bind(path.display().to_string(), e))?;
    if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
        let _ = std::fs::remove_file(path);
        return Err(StartError::Bind(path.display().to_string(), e));
    }
    Ok(listener)
}

/// The running control server.
pub(crate) struct ControlServer {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl ControlServer {
    pub(crate) fn spawn(listener: UnixListener, path: PathBuf, world: WorldHandle) -> Self {
        let (stop_tx, stop_rx) = oneshot::channel();
        let task = tokio::spawn(serve(listener, path, world, stop_rx));
        ControlServer {
            stop: Some(stop_tx),
            task: Some(task),
        }
    }

    pub(crate) fn signal_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Closes every connection and removes the socket file.
    pub(crate) async fn stop(mut self) {
        self.signal_stop();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

async fn serve(
    listener: UnixListener,
    path: PathBuf,
    world: WorldHandle,
    mut stop: oneshot::Receiver<()>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    if connections.len() >= MAX_CONNECTIONS {
                        connections.spawn(refuse(stream));
                    } else {
                        connections.spawn(connection(stream, world.clone()));
                    }
                }
                Err(e) => {
                    tracing::warn!("control socket accept failed: {e}");
                    // Out of descriptors, say: let the connections that hold them finish.
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
        }
    }
    drop(listener);
    if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_socket()) {
        let _ = std::fs::remove_file(&path);
    }
    connections.shutdown().await;
}

async fn refuse(mut stream: UnixStream) {
    let line = error_line(&format!(
        "too many control connections ({MAX_CONNECTIONS}); close one and retry"
    ));
    let _ = stream.write_all(format!("{line}\n").as_bytes()).await;
}

/// Why no line came.
enum LineError {
    /// The client sent more than [`MAX_LINE`] bytes without a newline.
    TooLong,
    Io,
}

/// Splits a byte stream into lines, holding at most [`MAX_LINE`] + one read of bytes.
struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    /// How much of `buf` is known to hold no newline.
    scanned: usize,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    fn new(inner: R) -> Self {
        LineReader {
            inner,
            buf: Vec::with_capacity(READ_CHUNK),
            scanned: 0,
        }
    }

    /// The next line without its `\n` (and a `\r` before it); `None` at end of stream (a
    /// partial last line is dropped).
    async fn next_line(&mut self) -> Result<Option<Vec<u8>>, LineError> {
        let mut chunk = [0u8; READ_CHUNK];
        loop {
            if let Some(pos) = self.buf[self.scanned..].iter().position(|&b| b == b'\n') {
                let end = self.scanned + pos;
                let mut line: Vec<u8> = self.buf.drain(..=end).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                self.scanned = 0;
                if line.len() > MAX_LINE {
                    return Err(LineError::TooLong);
                }
                return Ok(Some(line));
            }
            self.scanned = self.buf.len();
            if self.buf.len() > MAX_LINE {
                return Err(LineError::TooLong);
            }
            match self.inner.read(&mut chunk).await {
                Ok(0) => return Ok(None),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(_) => return Err(LineError::Io),
            }
        }
    }

    /// Reads and forgets whatever arrives; returns when the client closes (or fails).
    async fn drain_until_closed(&mut self) {
        self.buf.clear();
        let mut chunk = [0u8; READ_CHUNK];
        while let Ok(n) = self.inner.read(&mut chunk).await {
            if n == 0 {
                break;
            }
        }
    }
}

async fn write_line(writer: &mut OwnedWriteHalf, line: &str) -> io::Result<()> {
    let mut bytes = Vec::with_capacity(line.len() + 1);
    bytes.extend_from_slice(line.as_bytes());
    bytes.push(b'\n');
    writer.write_all(&bytes).await
}

/// One client: request lines in, response lines out, until it closes or asks for events.
async fn connection(stream: UnixStream, world: WorldHandle) {
    let (reader, mut writer) = stream.into_split();
    let mut lines = LineReader::new(reader);
    loop {
        let line = match lines.next_line().await {
            Ok(Some(line)) => line,
            Ok(None) | Err(LineError::Io) => return,
            Err(LineError::TooLong) => {
                let reason = format!("request line longer than {MAX_LINE} bytes");
                let _ = write_line(&mut writer, &error_line(&reason)).await;
                return;
            }
        };
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let response = match std::str::from_utf8(&line) {
            Err(_) => error_line("bad JSON: the request is not UTF-8"),
            Ok(text) => match Request::from_json(text) {
                Err(reason) => error_line(&reason),
                Ok(request) if request.verb == Verb::Events => {
                    let only = match request.modem.as_deref() {
                        None => None,
                        Some(wanted) => match world.find(Some(wanted)) {
                            Ok(index) => Some(index),
                            Err(reason) => {
                                if write_line(&mut writer, &error_line(&reason)).await.is_err() {
                                    return;
                                }
                                continue;
                            }
                        },
                    };
                    // Subscribed before the acknowledgement: nothing after it is missed.
                    let events = world.subscribe();
                    if write_line(&mut writer, &subscribed_response())
                        .await
                        .is_err()
                    {
                        return;
                    }
                    stream_events(events, only, &mut lines, &mut writer).await;
                    return;
                }
                Ok(request) => world.request(&request).await,
            },
        };
        if write_line(&mut writer, &response).await.is_err() {
            return;
        }
    }
}

/// Writes every event (of modem `only`, if given) until the client closes or the world stops.
async fn stream_events<R: AsyncRead + Unpin>(
    mut events: broadcast::Receiver<WorldEvent>,
    only: Option<usize>,
    lines: &mut LineReader<R>,
    writer: &mut OwnedWriteHalf,
) {
    let wanted = |event: &WorldEvent| only.is_none_or(|m| m == event.modem);
    let mut batch = String::new();
    loop {
        let first = tokio::select! {
            received = events.recv() => received,
            () = lines.drain_until_closed() => return,
        };
        batch.clear();
        let mut next = Some(first);
        // Whatever else is already waiting goes out in the same write.
        while let Some(received) = next.take() {
            match received {
                Ok(event) => {
                    if wanted(&event) {
                        batch.push_str(&event.to_line());
                        batch.push('\n');
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    batch.push_str(&lagged_line(missed));
                    batch.push('\n');
                }
                Err(broadcast::error::RecvError::Closed) => {
                    let _ = writer.write_all(batch.as_bytes()).await;
                    return;
                }
            }
            if batch.len() < STREAM_BATCH_BYTES {
                next = match events.try_recv() {
                    Ok(event) => Some(Ok(event)),
                    Err(broadcast::error::TryRecvError::Lagged(missed)) => {
                        Some(Err(broadcast::error::RecvError::Lagged(missed)))
                    }
                    Err(broadcast::error::TryRecvError::Closed) => {
                        Some(Err(broadcast::error::RecvError::Closed))
                    }
                    Err(broadcast::error::TryRecvError::Empty) => None,
                };
            }
        }
        if !batch.is_empty() {
            let written = tokio::select! {
                result = writer.write_all(batch.as_bytes()) => result,
                () = lines.drain_until_closed() => return,
            };
            if written.is_err() {
                return;
            }
        }
    }
}

// ----- the client side: `simodem ctl` -----

/// Why `simodem ctl` could not get an answer.
#[derive(Debug)]
pub enum CtlError {
    /// Nothing listens at the path.
    Connect(PathBuf, io::Error),
    /// The connection failed or closed before the response.
    Io(PathBuf, io::Error),
}

impl std::fmt::Display for CtlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CtlError::Connect(path, e) => write!(
                f,
                "cannot reach the control socket {}: {e}; is `simodem run` running? \
                 Pass --control PATH (or set SIMODEM_CONTROL) to the path it printed",
                path.display()
            ),
            CtlError::Io(path, e) => {
                write!(f, "control socket {}: {e}", path.display())
            }
        }
    }
}

impl std::error::Error for CtlError {}

/// Sends `request` to the control socket at `path` and copies the response line to `out`
/// (for `events`, every line until the world stops). Returns the response's `ok`.
pub fn ctl(path: &Path, request: &Request, out: &mut dyn Write) -> Result<bool, CtlError> {
    let io_error = |e| CtlError::Io(path.to_path_buf(), e);
    let mut stream = std::os::unix::net::UnixStream::connect(path)
        .map_err(|e| CtlError::Connect(path.to_path_buf(), e))?;
    let mut line = request.to_json().to_string();
    line.push('\n');
    stream.write_all(line.as_bytes()).map_err(io_error)?;
    let mut reader = BufReader::new(stream);
    let mut response = String::new();
    let n = reader.read_line(&mut response).map_err(io_error)?;
    if n == 0 || !response.ends_with('\n') {
        return Err(io_error(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "closed before answering",
        )));
    }
    out.write_all(response.as_bytes()).map_err(io_error)?;
    out.flush().map_err(io_error)?;
    let ok = serde_json::from_str::<serde_json::Value>(&response)
        .is_ok_and(|v| v.get("ok") == Some(&serde_json::Value::Bool(true)));
    if ok && request.verb == Verb::Events {
        let mut event = String::new();
        loop {
            event.clear();
            match reader.read_line(&mut event) {
                Ok(0) => break,
                Ok(_) => {
                    out.write_all(event.as_bytes()).map_err(io_error)?;
                    out.flush().map_err(io_error)?;
                }
                // The world stopped under us: the stream simply ends.
                Err(_) => break,
            }
        }
    }
    Ok(ok)
}
