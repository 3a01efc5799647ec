//! The tokio shell around one `Modem`: real time, the PTY / TCP / Unix ports of its AT channel,
//! timers and NVM files. It feeds the core timestamped inputs and carries out its outputs.

pub mod pty;

use std::io;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::modem::{Input, Instant, Modem, ModemConfig, Nvm, Output};
use pty::{PortActivity, VirtualPort};

pub use crate::network::PortOptions;

/// One modem to host.
#[derive(Debug, Clone)]
pub struct HostedModem {
    pub config: ModemConfig,
    pub ports: PortOptions,
    /// Directory for NVM (`&W` profile); `None` keeps it in memory.
    pub state_dir: Option<PathBuf>,
}

/// Why a modem could not start.
#[derive(Debug)]
pub enum StartError {
    Pty(io::Error),
    Link(pty::LinkError),
    Bind(String, io::Error),
    State(PathBuf, io::Error),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Pty(e) => write!(f, "cannot create a PTY: {e}"),
            StartError::Link(e) => write!(f, "{e}"),
            StartError::Bind(what, e) => write!(f, "cannot listen on {what}: {e}"),
            StartError::State(dir, e) => {
                write!(f, "cannot use state directory {}: {e}", dir.display())
            }
        }
    }
}

impl std::error::Error for StartError {}

/// A modem running on the current tokio runtime.
pub struct RunningModem {
    /// The real `/dev/pts/N`.
    pub slave_path: Option<PathBuf>,
    pub link: Option<PathBuf>,
    /// The bound TCP address (useful with port 0).
    pub tcp: Option<SocketAddr>,
    pub unix: Option<PathBuf>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningModem {
    /// Stops the modem and removes its link and socket files.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningModem {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn nvm_path(dir: &Path, config: &ModemConfig) -> PathBuf {
    dir.join(format!(
        "{}-{}.json",
        config.profile.id, config.identity.imei
    ))
}

fn load_nvm(path: &Path) -> Nvm {
    match std::fs::read(path) {
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(nvm) => nvm,
            Err(e) => {
                tracing::warn!(path = %path.display(), "NVM file unreadable ({e}); starting from factory values");
                Nvm::default()
            }
        },
        Err(_) => Nvm::default(),
    }
}

fn save_nvm(path: &Path, nvm: &Nvm) {
    let tmp = path.with_extension("json.tmp");
    let result = serde_json::to_vec_pretty(nvm)
        .map_err(io::Error::other)
        .and_then(|bytes| std::fs::write(&tmp, bytes))
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = result {
        tracing::error!(path = %path.display(), "cannot save NVM: {e}");
    }
}

/// Starts a modem: creates its ports, loads NVM, and runs it until `stop()`.
pub async fn start(hosted: HostedModem) -> Result<RunningModem, StartError> {
    let HostedModem {
        mut config,
        ports,
        state_dir,
    } = hosted;
    let nvm_file = match &state_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| StartError::State(dir.clone(), e))?;
            let path = nvm_path(dir, &config);
            config.nvm = load_nvm(&path);
            Some(path)
        }
        None => None,
    };

    let port = match &ports.pty_link {
        Some(link) => {
            let port = VirtualPort::open().map_err(StartError::Pty)?;
            pty::create_link(link, &port.slave_path).map_err(StartError::Link)?;
            Some(port)
        }
        None => None,
    };
    let tcp_listener = match ports.tcp {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .map_err(|e| StartError::Bind(addr.to_string(), e))?,
        ),
        None => None,
    };
    let tcp = tcp_listener.as_ref().and_then(|l| l.local_addr().ok());
    let unix_listener = match &ports.unix {
        Some(path) => {
            if std::fs::symlink_metadata(path)
                .is_ok_and(|m| std::os::unix::fs::FileTypeExt::is_socket(&m.file_type()))
            {
                let _ = std::fs::remove_file(path);
            }
            let listener = UnixListener::bind(path)
                .map_err(|e| StartError::Bind(path.display().to_string(), e))?;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| StartError::Bind(path.display().to_string(), e))?;
            Some(listener)
        }
        None => None,
    };

    let slave_path = port.as_ref().map(|p| p.slave_path.clone());
    let clock = tokio::time::Instant::now();
    let modem = Modem::new(config, Instant(0));
    let (stop_tx, stop_rx) = oneshot::channel();
    let session = Session {
        modem,
        clock,
        port,
        pty_clients: 0,
        pty_open_implied: false,
        tcp_listener,
        tcp_client: None,
        unix_listener,
        unix_client: None,
        told_attached: false,
        nvm_file,
    };
    let link = ports.pty_link.clone();
    let cleanup_link = link.clone().zip(slave_path.clone());
    let cleanup_unix = ports.unix.clone();
    let task = tokio::spawn(async move {
        session.run(stop_rx).await;
        if let Some((link, target)) = cleanup_link {
            pty::remove_link(&link, &target);
        }
        if let Some(path) = cleanup_unix {
            let _ = std::fs::remove_file(path);
        }
    });
    Ok(RunningModem {
        slave_path,
        link,
        tcp,
        unix: ports.unix,
        stop: Some(stop_tx),
        task: Some(task),
    })
}

/// Everything one modem's task owns.
struct Session {
    modem: Modem,
    clock: tokio::time::Instant,
    port: Option<VirtualPort>,
    /// Clients holding the PTY slave open, as inotify counted them.
    pty_clients: u32,
    /// Bytes arrived before inotify reported the open that must have preceded them.
    pty_open_implied: bool,
    tcp_listener: Option<TcpListener>,
    tcp_client: Option<TcpStream>,
    unix_listener: Option<UnixListener>,
    unix_client: Option<UnixStream>,
    /// Whether the core was last told a client is attached.
    told_attached: bool,
    nvm_file: Option<PathBuf>,
}

/// What woke the session.
enum Wake {
    Pty(io::Result<usize>),
    PtyActivity(io::Result<Vec<PortActivity>>),
    TcpAccept(io::Result<(TcpStream, SocketAddr)>),
    TcpRead(io::Result<usize>),
    UnixAccept(io::Result<(UnixStream, tokio::net::unix::SocketAddr)>),
    UnixRead(io::Result<usize>),
    Timer,
    Stop,
}

async fn read_pty_or_wait(
    master: Option<&mut pty::PtyMaster>,
    buf: &mut [u8],
) -> io::Result<usize> {
    match master {
        Some(master) => master.read(buf).await,
        None => std::future::pending().await,
    }
}

async fn read_or_wait<R: AsyncReadExt + Unpin>(
    reader: Option<&mut R>,
    buf: &mut [u8],
) -> io::Result<usize> {
    match reader {
        Some(reader) => reader.read(buf).await,
        None => std::future::pending().await,
    }
}

impl Session {
    fn now(&self) -> Instant {
        Instant(self.clock.elapsed().as_micros() as u64)
    }

    async fn run(mut self, mut stop: oneshot::Receiver<()>) {
        let mut pty_buf = vec![0u8; 65536];
        let mut tcp_buf = vec![0u8; 65536];
        let mut unix_buf = vec![0u8; 65536];
        self.carry_out_outputs().await;
        loop {
            let deadline = self.modem.next_deadline();
            let wake = {
                let timer = async {
                    match deadline {
                        Some(at) => {
                            tokio::time::sleep_until(
                                self.clock + std::time::Duration::from_micros(at.0),
                            )
                            .await
                        }
                        None => std::future::pending().await,
                    }
                };
                let (master, watcher) = match self.port.as_mut() {
                    Some(port) => (Some(&mut port.master), port.watcher.as_mut()),
                    None => (None, None),
                };
                let activity = async {
                    match watcher {
                        Some(watcher) => pty::read_activity(watcher).await,
                        None => std::future::pending().await,
                    }
                };
                let tcp_accept = async {
                    match &self.tcp_listener {
                        Some(l) => l.accept().await,
                        None => std::future::pending().await,
                    }
                };
                let unix_accept = async {
                    match &self.unix_listener {
                        Some(l) => l.accept().await,
                        None => std::future::pending().await,
                    }
                };
                // Biased, opens and closes first: the runtime learns of all ready descriptors
                // before it polls us, so a close and reopen are handled before the bytes that
                // followed them, without an extra inotify read per PTY read.
                tokio::select! {
                    biased;
                    _ = &mut stop => Wake::Stop,
                    a = activity => Wake::PtyActivity(a),
                    r = read_pty_or_wait(master, &mut pty_buf) => Wake::Pty(r),
                    r = read_or_wait(self.tcp_client.as_mut(), &mut tcp_buf) => Wake::TcpRead(r),
                    r = read_or_wait(self.unix_client.as_mut(), &mut unix_buf) => Wake::UnixRead(r),
                    c = tcp_accept => Wake::TcpAccept(c),
                    c = unix_accept => Wake::UnixAccept(c),
                    () = timer => Wake::Timer,
                }
            };
            match wake {
                Wake::Stop => break,
                Wake::Pty(Ok(n)) if n > 0 => {
                    if self.pty_clients == 0 {
                        self.pty_clients = 1;
                        self.pty_open_implied = true;
                        self.sync_attached();
                    }
                    self.dte_input(&pty_buf[..n]);
                }
                Wake::Pty(result) => {
                    tracing::error!("PTY master read failed: {result:?}; closing the PTY port");
                    self.port = None;
                    self.pty_clients = 0;
                    self.sync_attached();
                }
                Wake::PtyActivity(Ok(events)) => {
                    // One at a time: a close and a reopen in one batch are a DTR drop and a raise.
                    for event in events {
                        self.pty_event(event);
                        self.sync_attached();
                    }
                }
                Wake::PtyActivity(Err(e)) => {
                    tracing::warn!("cannot watch the PTY for opens and closes: {e}");
                    if let Some(port) = self.port.as_mut() {
                        port.stop_watching();
                    }
                }
                Wake::TcpAccept(Ok((stream, peer))) => {
                    if self.tcp_client.is_some() {
                        tracing::warn!(%peer, "refusing a second TCP client: one at a time");
                        drop(stream);
                    } else {
                        tracing::info!(%peer, "TCP client attached");
                        let _ = stream.set_nodelay(true);
                        self.tcp_client = Some(stream);
                        self.sync_attached();
                    }
                }
                Wake::TcpAccept(Err(e)) => tracing::warn!("TCP accept failed: {e}"),
                Wake::TcpRead(Ok(n)) if n > 0 => self.dte_input(&tcp_buf[..n]),
                Wake::TcpRead(_) => {
                    tracing::info!("TCP client detached");
                    self.tcp_client = None;
                    self.sync_attached();
                }
                Wake::UnixAccept(Ok((stream, _))) => {
                    if self.unix_client.is_some() {
                        tracing::warn!("refusing a second Unix-socket client: one at a time");
                        drop(stream);
                    } else {
                        self.unix_client = Some(stream);
                        self.sync_attached();
                    }
                }
                Wake::UnixAccept(Err(e)) => tracing::warn!("Unix accept failed: {e}"),
                Wake::UnixRead(Ok(n)) if n > 0 => self.dte_input(&unix_buf[..n]),
                Wake::UnixRead(_) => {
                    self.unix_client = None;
                    self.sync_attached();
                }
                Wake::Timer => {
                    let now = self.now();
                    self.modem.handle(now, Input::Timer);
                }
            }
            self.carry_out_outputs().await;
        }
    }

    fn pty_event(&mut self, event: PortActivity) {
        match event {
            PortActivity::Opened => {
                if self.pty_open_implied {
                    self.pty_open_implied = false;
                } else {
                    self.pty_clients += 1;
                }
            }
            PortActivity::Closed => {
                self.pty_open_implied = false;
                self.pty_clients = self.pty_clients.saturating_sub(1);
                if self.pty_clients == 0
                    && let Some(port) = &self.port
                {
                    port.discard_unread_output();
                }
            }
        }
    }

    fn attached(&self) -> bool {
        self.pty_clients > 0 || self.tcp_client.is_some() || self.unix_client.is_some()
    }

    fn sync_attached(&mut self) {
        let attached = self.attached();
        if attached != self.told_attached {
            self.told_attached = attached;
            let now = self.now();
            let input = if attached {
                Input::DteOpened
            } else {
                Input::DteClosed
            };
            self.modem.handle(now, input);
        }
    }

    fn dte_input(&mut self, bytes: &[u8]) {
        tracing::debug!(target: "simodem::bytes", "DTE → modem {:?}", String::from_utf8_lossy(bytes));
        let now = self.now();
        self.modem.handle(now, Input::Dte(bytes.to_vec()));
    }

    async fn carry_out_outputs(&mut self) {
        while let Some(output) = self.modem.poll_output() {
            match output {
                Output::Dte(bytes) => self.write_dte(&bytes).await,
                Output::SaveNvm(nvm) => {
                    if let Some(path) = &self.nvm_file {
                        save_nvm(path, &nvm);
                    }
                }
                Output::Event(event) => {
                    tracing::debug!(target: "simodem::why", at_ms = event.at.as_millis(), "{}", event.message);
                }
            }
        }
    }

    async fn write_dte(&mut self, bytes: &[u8]) {
        tracing::debug!(target: "simodem::bytes", "modem → DTE {:?}", String::from_utf8_lossy(bytes));
        if self.pty_clients > 0
            && let Some(port) = self.port.as_mut()
            && let Err(e) = port.master.write_all(bytes).await
        {
            tracing::error!("PTY write failed: {e}");
        }
        if let Some(client) = self.tcp_client.as_mut()
            && client.write_all(bytes).await.is_err()
        {
            self.tcp_client = None;
            self.sync_attached();
        }
        if let Some(client) = self.unix_client.as_mut()
            && client.write_all(bytes).await.is_err()
        {
            self.unix_client = None;
            self.sync_attached();
        }
    }
}
