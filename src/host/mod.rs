//! The tokio shell around the modems: real time, the PTY / TCP / Unix ports of their AT
//! channels, their real TCP/UDP sockets, timers, NVM files, the control socket, the event bus,
//! `--trace` and `--record`.

pub mod control;
pub mod events;
pub mod pty;
pub mod record;
mod session;
pub mod sockets;
pub mod trace;
pub mod world;

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::modem::{ModemConfig, Nvm};

pub use crate::network::{PortOptions, ResolvedModem as HostedModem};
pub use world::{ModemInfo, RunningWorld, WorldHandle, start_world};

/// Why a modem (or the world) could not start.
#[derive(Debug)]
pub enum StartError {
    Pty(io::Error),
    Link(pty::LinkError),
    Bind(String, io::Error),
    /// A live program already listens on this Unix socket.
    SocketInUse(PathBuf),
    /// The socket path holds something that is not a socket.
    NotASocket(PathBuf),
    State(PathBuf, io::Error),
    /// The `--record` file could not be written at stop.
    Record(PathBuf, io::Error),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Pty(e) => write!(f, "cannot create a PTY: {e}"),
            StartError::Link(e) => write!(f, "{e}"),
            StartError::Bind(what, e) => write!(f, "cannot listen on {what}: {e}"),
            StartError::SocketInUse(path) => write!(
                f,
                "{} is the socket of a running program; stop it or pass another path",
                path.display()
            ),
            StartError::NotASocket(path) => write!(
                f,
                "{} exists and is not a socket; remove it or pass another path",
                path.display()
            ),
            StartError::State(dir, e) => {
                write!(f, "cannot use state directory {}: {e}", dir.display())
            }
            StartError::Record(path, e) => {
                write!(f, "cannot record to {}: {e}", path.display())
            }
        }
    }
}

impl std::error::Error for StartError {}

/// One modem running on the current tokio runtime (a world of one, without a control socket).
pub struct RunningModem {
    /// The real `/dev/pts/N`.
    pub slave_path: Option<PathBuf>,
    pub link: Option<PathBuf>,
    /// The bound TCP address (useful with port 0).
    pub tcp: Option<SocketAddr>,
    pub unix: Option<PathBuf>,
    world: RunningWorld,
}

impl RunningModem {
    /// Stops the modem and removes its link and socket files.
    pub async fn stop(self) {
        // Without --record stopping cannot fail.
        let _ = self.world.stop().await;
    }

    pub fn handle(&self) -> WorldHandle {
        self.world.handle()
    }
}

/// Starts a modem: creates its ports, loads NVM, and runs it until `stop()`.
pub async fn start(hosted: HostedModem) -> Result<RunningModem, StartError> {
    let world = start_world(vec![hosted], None, None).await?;
    let info = world.modems[0].clone();
    Ok(RunningModem {
        slave_path: info.pts,
        link: info.link,
        tcp: info.tcp,
        unix: info.unix,
        world,
    })
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
