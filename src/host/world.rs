//! Many modems in one process on one clock: starts their ports and session tasks, addresses
//! them by index, number or link, answers control requests and shares one event bus.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

use super::control::{self, ControlServer};
use super::events::EventBody;
use super::events::{BUS_CAPACITY, WorldEvent};
use super::pty::{self, VirtualPort};
use super::record::{self, Recorder};
use super::session::{ControlMsg, InstancePty, Session};
use super::sockets::SocketHost;
use super::trace;
use super::{StartError, load_nvm, nvm_path};
use crate::control::{Request, Verb};
use crate::modem::{Input, Instant, Modem, ModemState};
use crate::network::sms::{
    DEFAULT_DELAY_MS, Incoming, Injected, Routed, SentRecord, SmsCentre, Submission, Subscriber,
};
use crate::network::{Addressable, ResolvedModem, find_modem};

/// Control requests a modem may have waiting before a requester has to wait its turn.
const CONTROL_QUEUE: usize = 32;

/// What `modems` reports about one modem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModemInfo {
    pub index: usize,
    /// The profile id: `sim900`, `telit`.
    pub model: &'static str,
    pub number: String,
    pub imei: String,
    pub link: Option<PathBuf>,
    /// The real `/dev/pts/N`.
    pub pts: Option<PathBuf>,
    /// The bound address (useful with port 0).
    pub tcp: Option<SocketAddr>,
    pub unix: Option<PathBuf>,
    /// The own ports of AT instances 2 and 3.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub instance_links: Vec<InstanceLink>,
    /// What the module calls itself (`SIMCOM_SIM900`), for the banner.
    #[serde(skip)]
    pub product: &'static str,
}

/// Where one more AT instance is served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceLink {
    pub instance: u8,
    pub link: PathBuf,
    pub pts: PathBuf,
}

struct ModemEntry {
    info: ModemInfo,
    /// The link made absolute with its directory resolved, for addressing by path.
    control: mpsc::Sender<ControlMsg>,
}

struct WorldShared {
    modems: Vec<ModemEntry>,
    bus: broadcast::Sender<WorldEvent>,
    /// The SMS centre's task.
    centre: mpsc::UnboundedSender<CentreMsg>,
}

/// What the SMS centre's task is asked to do.
pub(crate) enum CentreMsg {
    /// A modem submitted a message at modem time `at`.
    Submit {
        from: usize,
        at: Instant,
        submission: Submission,
    },
    /// `sms deliver`: the number of parts, or why not.
    Deliver {
        to: usize,
        from: Option<String>,
        message: Injected,
        reply: oneshot::Sender<Result<usize, String>>,
    },
    /// `sms sent`.
    Sent {
        to: Option<String>,
        reply: oneshot::Sender<Vec<SentRecord>>,
    },
}

/// A cheap, clonable way to talk to a running world: requests and the event bus.
#[derive(Clone)]
pub struct WorldHandle {
    shared: Arc<WorldShared>,
}

// ----- responses, one JSON line each, `ok` first -----

#[derive(Serialize)]
struct ErrorResponse<'a> {
    ok: bool,
    error: &'a str,
}

#[derive(Serialize)]
struct ActedResponse {
    ok: bool,
    modem: usize,
}

#[derive(Serialize)]
struct StateResponse<'a> {
    ok: bool,
    modem: usize,
    state: &'a ModemState,
}

#[derive(Serialize)]
struct ModemsResponse<'a> {
    ok: bool,
    modems: Vec<&'a ModemInfo>,
}

#[derive(Serialize)]
struct DeliveredResponse {
    ok: bool,
    modem: usize,
    parts: usize,
}

#[derive(Serialize)]
struct SentResponse<'a> {
    ok: bool,
    sent: &'a [SentRecord],
}

#[derive(Serialize)]
struct SubscribedResponse {
    ok: bool,
    events: &'static str,
}

fn to_line(value: &impl Serialize) -> String {
    serde_json::to_string(value)
        .unwrap_or_else(|e| error_line(&format!("cannot encode the response: {e}")))
}

/// `{"ok":false,"error":reason}`.
pub fn error_line(reason: &str) -> String {
    serde_json::to_string(&ErrorResponse {
        ok: false,
        error: reason,
    })
    .unwrap_or_else(|_| r#"{"ok":false,"error":"unprintable error"}"#.to_string())
}

/// `{"ok":true,"modem":index}`.
pub(crate) fn acted_response(index: usize) -> String {
    to_line(&ActedResponse {
        ok: true,
        modem: index,
    })
}

/// `{"ok":true,"modem":index,"state":{...}}`.
pub(crate) fn state_response(index: usize, state: &ModemState) -> String {
    to_line(&StateResponse {
        ok: true,
        modem: index,
        state,
    })
}

/// `{"ok":true,"events":"subscribed"}`.
pub(crate) fn subscribed_response() -> String {
    to_line(&SubscribedResponse {
        ok: true,
        events: "subscribed",
    })
}

impl WorldHandle {
    /// The world's modems, in index order.
    pub fn modems(&self) -> Vec<ModemInfo> {
        self.shared.modems.iter().map(|m| m.info.clone()).collect()
    }

    /// Every event of every modem from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<WorldEvent> {
        self.shared.bus.subscribe()
    }

    /// Hands modem `to` an SMS from the network now; the number of parts, or why not. The
    /// request shows on the bus as a `ctl` event of that modem, before the messages.
    pub async fn sms_deliver(
        &self,
        to: usize,
        from: Option<String>,
        message: Injected,
    ) -> Result<usize, String> {
        let (reply, answer) = oneshot::channel();
        let msg = CentreMsg::Deliver {
            to,
            from,
            message,
            reply,
        };
        let stopped = || "the SMS centre has stopped".to_string();
        self.shared.centre.send(msg).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// What the modems sent outside the world, oldest first (only to `to` when given).
    pub async fn sms_sent(&self, to: Option<String>) -> Vec<SentRecord> {
        let (reply, answer) = oneshot::channel();
        if self
            .shared
            .centre
            .send(CentreMsg::Sent { to, reply })
            .is_err()
        {
            return Vec::new();
        }
        answer.await.unwrap_or_default()
    }

    /// Finds a modem by index, number or link path; `None` is modem 0.
    pub fn find(&self, modem: Option<&str>) -> Result<usize, String> {
        let Some(wanted) = modem else {
            return Ok(0);
        };
        let addresses: Vec<Addressable> = self
            .shared
            .modems
            .iter()
            .map(|m| Addressable {
                number: &m.info.number,
                link: m.info.link.as_deref(),
                pts: m.info.pts.as_deref(),
                port: match (&m.info.link, m.info.tcp, &m.info.unix) {
                    (Some(link), _, _) => Some(link.display().to_string()),
                    (None, Some(addr), _) => Some(addr.to_string()),
                    (None, None, Some(path)) => Some(path.display().to_string()),
                    (None, None, None) => None,
                },
            })
            .collect();
        find_modem(&addresses, wanted)
    }

    /// Answers one request with one JSON line (no newline). `events` is a stream: use
    /// [`WorldHandle::subscribe`].
    pub async fn request(&self, request: &Request) -> String {
        match &request.verb {
            Verb::Modems => to_line(&ModemsResponse {
                ok: true,
                modems: self.shared.modems.iter().map(|m| &m.info).collect(),
            }),
            Verb::Events => error_line("events is a stream: subscribe to it"),
            Verb::Act(Input::Dte(_) | Input::DteOpened | Input::DteClosed | Input::Timer) => {
                error_line(
                    "client bytes, port opens and timers come from the port, not the control plane",
                )
            }
            Verb::SmsDeliver { from, message } => {
                let index = match self.find(request.modem.as_deref()) {
                    Ok(index) => index,
                    Err(reason) => return error_line(&reason),
                };
                match self.sms_deliver(index, from.clone(), message.clone()).await {
                    Ok(parts) => to_line(&DeliveredResponse {
                        ok: true,
                        modem: index,
                        parts,
                    }),
                    Err(reason) => error_line(&reason),
                }
            }
            Verb::SmsSent { to } => {
                let sent = self.sms_sent(to.clone()).await;
                to_line(&SentResponse {
                    ok: true,
                    sent: &sent,
                })
            }
            Verb::State | Verb::Act(_) => {
                let index = match self.find(request.modem.as_deref()) {
                    Ok(index) => index,
                    Err(reason) => return error_line(&reason),
                };
                let (reply, answer) = oneshot::channel();
                let msg = ControlMsg {
                    verb: request.verb.clone(),
                    reply,
                };
                let stopped = || error_line(&format!("modem {index} has stopped"));
                if self.shared.modems[index].control.send(msg).await.is_err() {
                    return stopped();
                }
                answer.await.unwrap_or_else(|_| stopped())
            }
        }
    }
}

/// One modem's running task and how to stop it.
struct SessionTask {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// A world running on the current tokio runtime.
pub struct RunningWorld {
    pub modems: Vec<ModemInfo>,
    /// The control socket, when there is one.
    pub control: Option<PathBuf>,
    handle: WorldHandle,
    sessions: Vec<SessionTask>,
    centre: Option<JoinHandle<()>>,
    control_server: Option<ControlServer>,
    recorder: Option<Recorder>,
}

impl RunningWorld {
    pub fn handle(&self) -> WorldHandle {
        self.handle.clone()
    }

    /// What `simodem run` prints once the world is up: one line per port, then the control socket.
    pub fn banner_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for m in &self.modems {
            if let (Some(pts), Some(link)) = (&m.pts, &m.link) {
                lines.push(format!(
                    "simodem: {} on {} (link {})",
                    m.product,
                    pts.display(),
                    link.display()
                ));
            }
            for extra in &m.instance_links {
                lines.push(format!(
                    "simodem: {} AT instance {} on {} (link {})",
                    m.product,
                    extra.instance,
                    extra.pts.display(),
                    extra.link.display()
                ));
            }
            if let Some(addr) = m.tcp {
                lines.push(format!("simodem: {} AT channel on tcp {addr}", m.product));
            }
            if let Some(path) = &m.unix {
                lines.push(format!(
                    "simodem: {} AT channel on unix {}",
                    m.product,
                    path.display()
                ));
            }
        }
        if let Some(path) = &self.control {
            lines.push(format!("simodem: control socket {}", path.display()));
        }
        lines
    }

    /// Stops the control server and every modem (removing links and socket files), then writes
    /// the `--record` scenario; the error is that file's.
    pub async fn stop(mut self) -> io::Result<()> {
        if let Some(server) = self.control_server.take() {
            server.stop().await;
        }
        for session in &mut self.sessions {
            if let Some(stop) = session.stop.take() {
                let _ = stop.send(());
            }
        }
        for session in &mut self.sessions {
            if let Some(task) = session.task.take() {
                let _ = task.await;
            }
        }
        if let Some(centre) = self.centre.take() {
            centre.abort();
            let _ = centre.await;
        }
        match self.recorder.take() {
            Some(recorder) => recorder.finish().await,
            None => Ok(()),
        }
    }
}

impl Drop for RunningWorld {
    fn drop(&mut self) {
        if let Some(server) = self.control_server.as_mut() {
            server.signal_stop();
        }
        for session in &mut self.sessions {
            if let Some(stop) = session.stop.take() {
                let _ = stop.send(());
            }
        }
        if let Some(centre) = self.centre.take() {
            centre.abort();
        }
    }
}

/// A modem whose ports are open but whose task has not started.
struct Prepared {
    resolved: ResolvedModem,
    port: Option<VirtualPort>,
    /// The own PTYs of AT instances 2 and 3, with their links.
    instance_ports: Vec<(u8, PathBuf, VirtualPort)>,
    tcp_listener: Option<TcpListener>,
    unix_listener: Option<UnixListener>,
    nvm_file: Option<PathBuf>,
}

impl Prepared {
    /// Undoes the files a modem that will never run created.
    fn remove_files(&self) {
        if let (Some(link), Some(port)) = (&self.resolved.ports.pty_link, &self.port) {
            pty::remove_link(link, &port.slave_path);
        }
        for (_, link, port) in &self.instance_ports {
            pty::remove_link(link, &port.slave_path);
        }
        if let (Some(path), Some(_)) = (&self.resolved.ports.unix, &self.unix_listener) {
            let _ = std::fs::remove_file(path);
        }
    }
}

async fn prepare(mut resolved: ResolvedModem) -> Result<Prepared, StartError> {
    let nvm_file = match &resolved.state_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| StartError::State(dir.clone(), e))?;
            let path = nvm_path(dir, &resolved.config);
            resolved.config.nvm = load_nvm(&path);
            Some(path)
        }
        None => None,
    };
    let mut prepared = Prepared {
        port: None,
        instance_ports: Vec::new(),
        tcp_listener: None,
        unix_listener: None,
        nvm_file,
        resolved,
    };
    let ports = prepared.resolved.ports.clone();
    let result = async {
        if let Some(link) = &ports.pty_link {
            let port = VirtualPort::open().map_err(StartError::Pty)?;
            pty::create_link(link, &port.slave_path).map_err(StartError::Link)?;
            prepared.port = Some(port);
            for instance in 2..=prepared.resolved.config.instances {
                let port = VirtualPort::open().map_err(StartError::Pty)?;
                let link = crate::network::instance_link(link, instance);
                pty::create_link(&link, &port.slave_path).map_err(StartError::Link)?;
                prepared.instance_ports.push((instance, link, port));
            }
        }
        if let Some(addr) = ports.tcp {
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|e| StartError::Bind(addr.to_string(), e))?;
            prepared.tcp_listener = Some(listener);
        }
        if let Some(path) = &ports.unix {
            prepared.unix_listener = Some(control::bind_owner_only(path, false)?);
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => Ok(prepared),
        Err(e) => {
            prepared.remove_files();
            Err(e)
        }
    }
}

/// Starts every modem on one clock (modem time 0 is now), the control socket at `control`
/// (if any) and the recorder writing `record` at stop (if any). Nothing is left behind on error.
/// SMS take the default delay ([`DEFAULT_DELAY_MS`]).
pub async fn start_world(
    resolved: Vec<ResolvedModem>,
    control: Option<PathBuf>,
    record: Option<PathBuf>,
) -> Result<RunningWorld, StartError> {
    start_world_with(resolved, control, record, DEFAULT_DELAY_MS).await
}

/// [`start_world`] with the network's SMS delivery delay (the world file's `sms_delay_ms`).
pub async fn start_world_with(
    resolved: Vec<ResolvedModem>,
    control: Option<PathBuf>,
    record: Option<PathBuf>,
    sms_delay_ms: u64,
) -> Result<RunningWorld, StartError> {
    if let Some(path) = &record {
        record::check_writable(path)?;
    }
    let mut world_spec = record::world_spec(&resolved);
    if sms_delay_ms != DEFAULT_DELAY_MS {
        world_spec.sms_delay_ms = Some(sms_delay_ms);
    }
    let mut prepared: Vec<Prepared> = Vec::new();
    for modem in resolved {
        match prepare(modem).await {
            Ok(p) => prepared.push(p),
            Err(e) => {
                prepared.iter().for_each(Prepared::remove_files);
                return Err(e);
            }
        }
    }
    let control_listener = match &control {
        Some(path) => match control::bind_owner_only(path, true) {
            Ok(listener) => Some(listener),
            Err(e) => {
                prepared.iter().for_each(Prepared::remove_files);
                return Err(e);
            }
        },
        None => None,
    };

    let (bus, _) = broadcast::channel(BUS_CAPACITY);
    // Subscribed before any modem starts, so the recording misses nothing.
    let recorder = record.map(|path| Recorder::start(bus.subscribe(), path, world_spec));
    let rtc_epoch_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);

    let clock = tokio::time::Instant::now();
    let mut entries = Vec::new();
    let mut sessions = Vec::new();
    let (centre_tx, centre_rx) = mpsc::unbounded_channel();
    let mut centre_feeds = Vec::new();
    let subscribers: Vec<Subscriber> = prepared
        .iter()
        .map(|p| Subscriber {
            number: p.resolved.config.identity.number.clone(),
            smsc: p.resolved.config.identity.smsc.clone(),
        })
        .collect();
    let centre = SmsCentre::new(subscribers, sms_delay_ms, rtc_epoch_unix);
    for (index, p) in prepared.into_iter().enumerate() {
        let Prepared {
            mut resolved,
            port,
            instance_ports,
            tcp_listener,
            unix_listener,
            nvm_file,
        } = p;
        resolved.config.rtc_epoch_unix = rtc_epoch_unix;
        let profile = resolved.config.profile;
        let info = ModemInfo {
            index,
            model: profile.id,
            number: resolved.config.identity.number.clone(),
            imei: resolved.config.identity.imei.clone(),
            link: resolved.ports.pty_link.clone(),
            pts: port.as_ref().map(|p| p.slave_path.clone()),
            tcp: tcp_listener.as_ref().and_then(|l| l.local_addr().ok()),
            unix: resolved.ports.unix.clone(),
            instance_links: instance_ports
                .iter()
                .map(|(instance, link, port)| InstanceLink {
                    instance: *instance,
                    link: link.clone(),
                    pts: port.slave_path.clone(),
                })
                .collect(),
            product: profile.model,
        };
        let (control_tx, control_rx) = mpsc::channel(CONTROL_QUEUE);
        let (sms_tx, sms_rx) = mpsc::unbounded_channel();
        centre_feeds.push((sms_tx, format!("{}#{index}", profile.id)));
        entries.push(ModemEntry {
            info: info.clone(),
            control: control_tx,
        });
        let session = Session {
            modem: Modem::new(resolved.config, Instant(0)),
            index,
            who: format!("{}#{index}", profile.id),
            clock,
            port,
            instance_ports: instance_ports
                .into_iter()
                .map(|(instance, link, port)| InstancePty::new(instance, link, port))
                .collect(),
            pty_clients: 0,
            pty_open_implied: false,
            tcp_listener,
            tcp_client: None,
            unix_listener,
            unix_client: None,
            told_attached: false,
            nvm_file,
            bus: bus.clone(),
            control: control_rx,
            sms_in: sms_rx,
            centre: centre_tx.clone(),
            at: Instant(0),
            outputs: Vec::new(),
            sockets: SocketHost::new(resolved.ports.listen_address),
        };
        let (stop_tx, stop_rx) = oneshot::channel();
        let cleanup_link = info.link.clone().zip(info.pts.clone());
        let cleanup_unix = info.unix.clone();
        let cleanup_instances: Vec<(PathBuf, PathBuf)> = info
            .instance_links
            .iter()
            .map(|l| (l.link.clone(), l.pts.clone()))
            .collect();
        let task = tokio::spawn(async move {
            session.run(stop_rx).await;
            if let Some((link, target)) = cleanup_link {
                pty::remove_link(&link, &target);
            }
            for (link, target) in cleanup_instances {
                pty::remove_link(&link, &target);
            }
            if let Some(path) = cleanup_unix {
                let _ = std::fs::remove_file(path);
            }
        });
        sessions.push(SessionTask {
            stop: Some(stop_tx),
            task: Some(task),
        });
    }
    let centre_task = tokio::spawn(run_centre(
        centre,
        clock,
        centre_rx,
        centre_feeds,
        bus.clone(),
    ));
    let handle = WorldHandle {
        shared: Arc::new(WorldShared {
            modems: entries,
            bus,
            centre: centre_tx,
        }),
    };
    let control_server = control_listener
        .zip(control.clone())
        .map(|(listener, path)| ControlServer::spawn(listener, path, handle.clone()));
    Ok(RunningWorld {
        modems: handle.modems(),
        control,
        handle,
        sessions,
        centre: Some(centre_task),
        control_server,
        recorder,
    })
}

/// Publishes one SMS event on the bus and the transcript.
fn publish_sms(
    bus: &broadcast::Sender<WorldEvent>,
    who: &str,
    at: Instant,
    modem: usize,
    body: EventBody,
) {
    if trace::enabled() {
        tracing::debug!(target: trace::TARGET, "{}", trace::transcript_line(at.0, who, &body));
    }
    if bus.receiver_count() > 0 {
        let _ = bus.send(WorldEvent {
            at_us: at.0,
            modem,
            body,
        });
    }
}

/// The SMS centre's task: takes submissions and control requests, and hands each message to
/// its modem's session when it is due (the sessions never wait for it: unbounded channels).
async fn run_centre(
    mut centre: SmsCentre,
    clock: tokio::time::Instant,
    mut requests: mpsc::UnboundedReceiver<CentreMsg>,
    modems: Vec<(mpsc::UnboundedSender<Incoming>, String)>,
    bus: broadcast::Sender<WorldEvent>,
) {
    let now = || Instant(clock.elapsed().as_micros() as u64);
    let who = |index: usize| {
        modems
            .get(index)
            .map(|(_, who)| who.as_str())
            .unwrap_or("sms")
    };
    loop {
        let deadline = centre.next_deadline();
        let timer = async {
            match deadline {
                Some(at) => {
                    tokio::time::sleep_until(clock + std::time::Duration::from_micros(at.0)).await
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            msg = requests.recv() => match msg {
                None => return,
                Some(CentreMsg::Submit { from, at, submission }) => {
                    if let Routed::Outside(record) = centre.submit(at, from, submission) {
                        publish_sms(&bus, who(from), at, from, EventBody::SmsSent(Arc::new(record)));
                    }
                }
                Some(CentreMsg::Deliver { to, from, message, reply }) => {
                    let at = now();
                    let request = Request {
                        modem: None,
                        verb: Verb::SmsDeliver { from: from.clone(), message: message.clone() },
                    };
                    let result = centre.inject(at, to, from.as_deref(), message);
                    if result.is_ok() {
                        publish_sms(&bus, who(to), at, to, EventBody::Ctl(request.to_json()));
                    }
                    let _ = reply.send(result);
                }
                Some(CentreMsg::Sent { to, reply }) => {
                    let _ = reply.send(centre.sent(to.as_deref()));
                }
            },
            () = timer => {}
        }
        let at = now();
        for (index, incoming) in centre.due(at) {
            publish_sms(
                &bus,
                who(index),
                at,
                index,
                EventBody::SmsIn(Arc::new(incoming.summary())),
            );
            if let Some((session, _)) = modems.get(index) {
                // Only a stopped modem's session is gone: the world is stopping.
                let _ = session.send(incoming);
            }
        }
    }
}
