//! The real-time driver (`simodem replay --realtime`): starts the world with real PTYs and a
//! control socket, then plays the client through the PTYs and the peers on real sockets.

use std::ffi::CString;
use std::io::{BufRead, BufReader, Write};
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::Scenario;
use super::real_net::RealPeers;
use super::run::{Driver, Happening, Outcome, PortRef, What, failed_to_start, run_steps};
use crate::control::Request;
use crate::modem::{Instant, Transport};
use crate::network::ResolvedModem;
use crate::network::sms::{DEFAULT_DELAY_MS, SentRecord};

/// Replays a scenario in real time over real PTYs.
pub fn run_realtime(scenario: &Scenario) -> Outcome {
    let resolved = match scenario.world.resolve() {
        Ok(resolved) => resolved,
        Err(reason) => return failed_to_start(reason),
    };
    let dir = std::env::temp_dir().join(format!(
        "simodem-replay-{}-{}",
        std::process::id(),
        NEXT_RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return failed_to_start(format!("cannot create {}: {e}", dir.display()));
    }
    let sms_delay_ms = scenario.world.sms_delay_ms.unwrap_or(DEFAULT_DELAY_MS);
    let outcome = match LiveWorld::start(resolved, &dir, sms_delay_ms) {
        Ok(mut live) => {
            let outcome = run_steps(&mut live, scenario);
            live.stop();
            outcome
        }
        Err(reason) => failed_to_start(reason),
    };
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

/// How late real output may be against the modem's own deadlines (scheduler, PTY, wake-ups).
const REALTIME_SLACK_US: u64 = 100_000;

static NEXT_RUN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// One PTY of the world as the scenario's client holds it.
struct LivePort {
    port: PortRef,
    link: PathBuf,
    client: Option<OwnedFd>,
    /// Output not yet consumed by an expectation.
    pending: Vec<u8>,
}

/// A world running on its own thread, driven through its PTYs and control socket.
struct LiveWorld {
    resolved: Vec<ResolvedModem>,
    /// Every client port of the world: each modem's, then its instance ports.
    ports: Vec<LivePort>,
    control: BufReader<UnixStream>,
    started: std::time::Instant,
    happenings: Vec<Happening>,
    peers: RealPeers,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LiveWorld {
    fn start(
        mut resolved: Vec<ResolvedModem>,
        dir: &Path,
        sms_delay_ms: u64,
    ) -> Result<LiveWorld, String> {
        let mut ports = Vec::new();
        for (index, modem) in resolved.iter_mut().enumerate() {
            let link = dir.join(format!("tty{index}"));
            modem.ports.pty_link = Some(link.clone());
            modem.ports.tcp = None;
            modem.ports.unix = None;
            modem.state_dir = None;
            for instance in 1..=modem.config.instances {
                let link = match instance {
                    1 => link.clone(),
                    n => crate::network::instance_link(&link, n),
                };
                ports.push(LivePort {
                    port: PortRef {
                        modem: index,
                        instance,
                    },
                    link,
                    client: None,
                    pending: Vec::new(),
                });
            }
        }
        let control_path = dir.join("ctl");
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let world_modems = resolved.clone();
        let world_control = control_path.clone();
        let thread = std::thread::spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = ready_tx.send(Err(format!("cannot start a runtime: {e}")));
                    return;
                }
            };
            runtime.block_on(async move {
                let started = crate::host::world::start_world_with(
                    world_modems,
                    Some(world_control),
                    None,
                    sms_delay_ms,
                )
                .await;
                match started {
                    Ok(world) => {
                        let _ = ready_tx.send(Ok(std::time::Instant::now()));
                        let _ = stop_rx.await;
                        let _ = world.stop().await;
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                    }
                }
            });
        });
        let started = ready_rx
            .recv()
            .map_err(|_| "the world thread ended before starting".to_string())??;
        let control = UnixStream::connect(&control_path)
            .map_err(|e| format!("cannot reach the control socket: {e}"))?;
        let mut live = LiveWorld {
            resolved,
            ports,
            control: BufReader::new(control),
            started,
            happenings: Vec::new(),
            peers: RealPeers::default(),
            stop: Some(stop_tx),
            thread: Some(thread),
        };
        let all: Vec<PortRef> = live.ports.iter().map(|p| p.port).collect();
        for port in all {
            live.set_port(port, true)?;
        }
        Ok(live)
    }

    fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.ports.iter_mut().for_each(|p| p.client = None);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    fn request(&mut self, request: &Value) -> Result<Value, String> {
        let mut line = request.to_string();
        line.push('\n');
        self.control
            .get_mut()
            .write_all(line.as_bytes())
            .map_err(|e| format!("control socket: {e}"))?;
        let mut answer = String::new();
        self.control
            .read_line(&mut answer)
            .map_err(|e| format!("control socket: {e}"))?;
        let value: Value =
            serde_json::from_str(&answer).map_err(|e| format!("control answer {answer:?}: {e}"))?;
        if value.get("ok") == Some(&Value::Bool(true)) {
            Ok(value)
        } else {
            Err(format!("control plane refused: {}", answer.trim_end()))
        }
    }

    /// Where `port` is in `ports`.
    fn slot(&self, port: PortRef) -> Result<usize, String> {
        self.ports
            .iter()
            .position(|p| p.port == port)
            .ok_or_else(|| {
                format!(
                    "modem {} has no AT instance {} here",
                    port.modem, port.instance
                )
            })
    }

    /// Reads whatever the modems have written and the peers received, waiting at most `wait`.
    fn read_available(&mut self, wait: Duration) -> bool {
        let mut fds: Vec<libc::pollfd> = self
            .ports
            .iter()
            .map(|p| libc::pollfd {
                fd: p.client.as_ref().map_or(-1, |fd| fd.as_raw_fd()),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        let peer_targets = self.peers.poll_fds();
        fds.extend(peer_targets.iter().map(|(fd, _)| libc::pollfd {
            fd: *fd,
            events: libc::POLLIN,
            revents: 0,
        }));
        let timeout = wait.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: `fds` is a valid array of pollfd of the given length.
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
        if ready <= 0 {
            return false;
        }
        let now = self.now();
        let mut heard = false;
        let peer_fds = fds.split_off(self.ports.len());
        for ((_, target), pollfd) in peer_targets.iter().zip(&peer_fds) {
            if pollfd.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
                heard |= self.peers.on_ready(now, target);
            }
        }
        self.happenings.extend(self.peers.take_happenings());
        let mut buf = [0u8; 4096];
        for (index, pollfd) in fds.iter().enumerate() {
            if pollfd.revents & libc::POLLIN == 0 {
                continue;
            }
            // SAFETY: reading into a stack buffer of the given length from an open fd.
            let n = unsafe { libc::read(pollfd.fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n > 0 {
                let bytes = buf[..n as usize].to_vec();
                let live = &mut self.ports[index];
                live.pending.extend_from_slice(&bytes);
                let what = match live.port.instance {
                    1 => What::Received(bytes),
                    n => What::InstanceReceived(n, bytes),
                };
                self.happenings.push(Happening {
                    at: now,
                    modem: live.port.modem,
                    what,
                });
                heard = true;
            }
        }
        heard
    }
}

/// Opens a PTY slave the way a serial client does: read/write, no controlling tty, raw.
fn open_raw(path: &Path) -> Result<OwnedFd, String> {
    let c_path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| format!("{}: path holds a NUL", path.display()))?;
    // SAFETY: a valid NUL-terminated path; the returned fd is owned below.
    let fd = unsafe {
        libc::open(
            c_path.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_NONBLOCK | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(format!(
            "cannot open {}: {}",
            path.display(),
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: `fd` was just opened and is owned by nobody else.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: termios is plain data; tcgetattr fills it for an open tty fd.
    unsafe {
        let mut termios: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(fd, &mut termios) == 0 {
            libc::cfmakeraw(&mut termios);
            libc::tcsetattr(fd, libc::TCSANOW, &termios);
        }
    }
    Ok(owned)
}

impl Driver for LiveWorld {
    fn now(&self) -> Instant {
        Instant(self.started.elapsed().as_micros() as u64)
    }

    fn modems(&self) -> &[ResolvedModem] {
        &self.resolved
    }

    fn send(&mut self, port: PortRef, bytes: &[u8]) -> Result<(), String> {
        let slot = self.slot(port)?;
        let Some(fd) = self.ports[slot].client.as_ref().map(|fd| fd.as_raw_fd()) else {
            return Err("the port is closed: open it first".into());
        };
        let what = match port.instance {
            1 => What::Sent(bytes.to_vec()),
            n => What::InstanceSent(n, bytes.to_vec()),
        };
        self.happenings.push(Happening {
            at: self.now(),
            modem: port.modem,
            what,
        });
        let mut written = 0;
        while written < bytes.len() {
            let rest = &bytes[written..];
            // SAFETY: writing from a live slice to an open fd.
            let n = unsafe { libc::write(fd, rest.as_ptr().cast(), rest.len()) };
            if n > 0 {
                written += n as usize;
            } else {
                let error = std::io::Error::last_os_error();
                if error.kind() != std::io::ErrorKind::WouldBlock {
                    return Err(format!("PTY write: {error}"));
                }
                self.read_available(Duration::from_millis(1));
            }
        }
        Ok(())
    }

    fn set_port(&mut self, port: PortRef, open: bool) -> Result<(), String> {
        let slot = self.slot(port)?;
        let live = &mut self.ports[slot];
        if open {
            if live.client.is_none() {
                live.client = Some(open_raw(&live.link)?);
            }
        } else {
            live.client = None;
        }
        // Let the host see the open/close before the next step acts.
        std::thread::sleep(Duration::from_millis(20));
        Ok(())
    }

    fn act(&mut self, modem: usize, request: &Request) -> Result<(), String> {
        let mut json = request.to_json();
        json["modem"] = Value::from(modem);
        self.request(&json).map(|_| ())
    }

    fn sms_sent(&mut self) -> Result<Vec<SentRecord>, String> {
        let mut answer = self.request(&serde_json::json!({"verb": "sms_sent"}))?;
        serde_json::from_value(answer["sent"].take()).map_err(|e| format!("sms_sent answer: {e}"))
    }

    fn state(&mut self, modem: usize) -> Result<Value, String> {
        let request = serde_json::json!({"verb": "state", "modem": modem});
        let mut answer = self.request(&request)?;
        Ok(answer["state"].take())
    }

    fn pending(&mut self, port: PortRef) -> &mut Vec<u8> {
        // An unknown port has nothing pending; its send or open step already failed.
        let slot = self.slot(port).unwrap_or(0);
        &mut self.ports[slot].pending
    }

    fn pass_time(&mut self, until: Instant, until_output: bool) {
        loop {
            let now = self.now();
            if now >= until {
                return;
            }
            let wait = Duration::from_micros(until.0 - now.0);
            if self.read_available(wait) && until_output {
                return;
            }
        }
    }

    fn note(&mut self, modem: usize, text: String) {
        let at = self.now();
        self.happenings.push(Happening {
            at,
            modem,
            what: What::Step(text),
        });
    }

    fn take_happenings(&mut self) -> Vec<Happening> {
        std::mem::take(&mut self.happenings)
    }

    fn slack(&self) -> u64 {
        REALTIME_SLACK_US
    }

    fn peer_listen(&mut self, name: &str, transport: Transport, port: u16) -> Result<(), String> {
        let result = self.peers.listen(self.now(), name, transport, port);
        self.happenings.extend(self.peers.take_happenings());
        result
    }

    fn peer_accept(&mut self, listener: &str, name: &str) -> Result<bool, String> {
        let result = self.peers.accept(self.now(), listener, name);
        self.happenings.extend(self.peers.take_happenings());
        result
    }

    fn peer_connect(
        &mut self,
        name: &str,
        transport: Transport,
        port: u16,
        from: Ipv4Addr,
        deadline: Instant,
    ) -> Result<(), String> {
        let now = self.now();
        let wait = Duration::from_micros(deadline.0.saturating_sub(now.0));
        let result = self.peers.connect(now, name, transport, port, from, wait);
        self.happenings.extend(self.peers.take_happenings());
        result
    }

    fn peer_connected(&mut self, name: &str) -> Result<bool, String> {
        self.peers.connected(name)
    }

    fn peer_send(&mut self, name: &str, bytes: &[u8]) -> Result<(), String> {
        let result = self.peers.send(self.now(), name, bytes);
        self.happenings.extend(self.peers.take_happenings());
        result
    }

    fn peer_close(&mut self, name: &str, abort: bool) -> Result<(), String> {
        let result = self.peers.close(self.now(), name, abort);
        self.happenings.extend(self.peers.take_happenings());
        result
    }

    fn peer_pending(&mut self, name: &str) -> Result<&mut Vec<u8>, String> {
        self.peers.pending(name)
    }

    fn peer_closed(&mut self, name: &str) -> Result<bool, String> {
        self.peers.closed(name)
    }
}

impl Drop for LiveWorld {
    fn drop(&mut self) {
        self.stop();
    }
}
