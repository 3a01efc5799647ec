//! One modem's task: it owns the `Modem` and its ports, turns reads, opens/closes, timers and
//! control requests into timestamped inputs, carries out the outputs and publishes events.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::events::{EventBody, WorldEvent};
use super::pty::{self, PortActivity, VirtualPort};
use super::sockets::SocketHost;
use super::{save_nvm, trace, world};
use crate::control::{Request, Verb};
use crate::modem::{Input, Instant, Modem, Output, PortEvent};
use crate::network::sms::Incoming;

/// While more output than this waits for a PTY client, the session takes no socket input (most
/// of that output): the socket tasks then stop reading and the peers' TCP windows close.
const OUTPUT_BACKLOG: usize = 64 * 1024;

/// While more than this waits, the session takes nothing that could write to a PTY client (not
/// even the client's own bytes, which may be echoed) until the client reads: memory stays bounded.
const OUTPUT_HOLD: usize = 1 << 20;

/// A control request for one modem, with where its one response line goes.
pub(crate) struct ControlMsg {
    pub verb: Verb,
    pub reply: oneshot::Sender<String>,
}

/// The own PTY of AT instance 2 or 3 and the clients holding it open.
pub(crate) struct InstancePty {
    pub instance: u8,
    pub port: VirtualPort,
    pub clients: u32,
    /// Bytes arrived before inotify reported the open that must have preceded them.
    pub open_implied: bool,
    /// Whether the core was last told a client is attached.
    pub told_attached: bool,
}

impl InstancePty {
    pub(crate) fn new(instance: u8, _link: PathBuf, port: VirtualPort) -> InstancePty {
        InstancePty {
            instance,
            port,
            clients: 0,
            open_implied: false,
            told_attached: false,
        }
    }
}

/// Everything one modem's task owns.
pub(crate) struct Session {
    pub modem: Modem,
    /// Index in the world, and `model#index` for the transcript.
    pub index: usize,
    pub who: String,
    /// The world's clock: modem time zero.
    pub clock: tokio::time::Instant,
    pub port: Option<VirtualPort>,
    /// The ports of AT instances 2 and 3 (at most two).
    pub instance_ports: Vec<InstancePty>,
    /// Clients holding the PTY slave open, as inotify counted them.
    pub pty_clients: u32,
    /// Bytes arrived before inotify reported the open that must have preceded them.
    pub pty_open_implied: bool,
    pub tcp_listener: Option<TcpListener>,
    pub tcp_client: Option<TcpStream>,
    pub unix_listener: Option<UnixListener>,
    pub unix_client: Option<UnixStream>,
    /// Whether the core was last told a client is attached.
    pub told_attached: bool,
    pub nvm_file: Option<PathBuf>,
    pub bus: broadcast::Sender<WorldEvent>,
    pub control: mpsc::Receiver<ControlMsg>,
    /// Messages the SMS centre hands this modem.
    pub sms_in: mpsc::UnboundedReceiver<Incoming>,
    /// Where the modem's submissions go.
    pub centre: mpsc::UnboundedSender<world::CentreMsg>,
    /// The time of the last input, which the outputs it caused carry.
    pub at: Instant,
    /// Outputs being carried out (kept to reuse its allocation).
    pub outputs: Vec<Output>,
    /// The modem's real TCP/UDP sockets and name lookups.
    pub sockets: SocketHost,
}

/// What woke the session.
enum Wake {
    Pty(io::Result<usize>),
    PtyActivity(io::Result<Vec<PortActivity>>),
    /// The main PTY took what waited in its outbox (down to the level asked for).
    PtyWritten(io::Result<()>),
    /// A read from / opens and closes on / a write to `instance_ports[slot]`.
    InstancePty(usize, io::Result<usize>),
    InstanceWritten(usize, io::Result<()>),
    InstanceActivity(usize, io::Result<Vec<PortActivity>>),
    TcpAccept(io::Result<(TcpStream, SocketAddr)>),
    TcpRead(io::Result<usize>),
    UnixAccept(io::Result<(UnixStream, tokio::net::unix::SocketAddr)>),
    UnixRead(io::Result<usize>),
    Timer,
    /// Something happened to a socket, or a lookup finished.
    Socket(Input),
    Control(Option<ControlMsg>),
    Sms(Option<Incoming>),
    Stop,
}

async fn read_pty_or_wait(master: Option<&pty::PtyMaster>, buf: &mut [u8]) -> io::Result<usize> {
    match master {
        Some(master) => master.read(buf).await,
        None => std::future::pending().await,
    }
}

/// A port's master with its outbox, to write what waits.
type Writer<'a> = (&'a pty::PtyMaster, &'a mut pty::Outbox);

/// The master, the open/close watcher and the outbox of a port, if there is one.
fn port_parts(
    port: Option<&mut VirtualPort>,
) -> (
    Option<&pty::PtyMaster>,
    Option<&mut tokio::io::unix::AsyncFd<inotify::Inotify>>,
    Option<Writer<'_>>,
) {
    match port {
        Some(port) => (
            Some(&port.master),
            port.watcher.as_mut(),
            Some((&port.master, &mut port.outbox)),
        ),
        None => (None, None, None),
    }
}

/// Writes a port's waiting output as its client makes room, until less than `level` waits;
/// never ends while nothing waits.
async fn drain_or_wait(port: Option<Writer<'_>>, level: usize) -> io::Result<()> {
    match port {
        Some((master, outbox)) if !outbox.is_empty() => outbox.drain_below(master, level).await,
        _ => std::future::pending().await,
    }
}

/// How far a port's outbox is drained before the session looks again: below the back-pressure
/// limit while it is over it (so socket input resumes), else until empty.
fn drain_level(waiting: usize) -> usize {
    if waiting >= OUTPUT_BACKLOG {
        OUTPUT_BACKLOG
    } else {
        1
    }
}

async fn activity_or_wait(
    watcher: Option<&mut tokio::io::unix::AsyncFd<inotify::Inotify>>,
) -> io::Result<Vec<PortActivity>> {
    match watcher {
        Some(watcher) => pty::read_activity(watcher).await,
        None => std::future::pending().await,
    }
}

/// Counts the clients holding a PTY open as inotify reports opens and closes; an open that
/// bytes already implied is not counted twice.
fn count_clients(clients: &mut u32, open_implied: &mut bool, event: PortActivity) {
    match event {
        PortActivity::Opened => {
            if *open_implied {
                *open_implied = false;
            } else {
                *clients += 1;
            }
        }
        PortActivity::Closed => {
            *open_implied = false;
            *clients = clients.saturating_sub(1);
        }
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

    /// Hands the core one input; the outputs it causes carry the same time.
    fn feed(&mut self, now: Instant, input: Input) {
        self.at = now;
        self.modem.handle(now, input);
    }

    /// Whether anyone looks at events (the transcript or a bus subscriber): if not, none is built.
    fn observed(&self) -> bool {
        trace::enabled() || self.bus.receiver_count() > 0
    }

    fn publish(&self, at: Instant, body: EventBody) {
        if trace::enabled() {
            tracing::debug!(target: trace::TARGET, "{}", trace::transcript_line(at.0, &self.who, &body));
        }
        if self.bus.receiver_count() > 0 {
            // An error means the last subscriber left in the meantime: nobody to tell.
            let _ = self.bus.send(WorldEvent {
                at_us: at.0,
                modem: self.index,
                body,
            });
        }
    }

    pub(crate) async fn run(mut self, mut stop: oneshot::Receiver<()>) {
        let mut pty_buf = vec![0u8; 65536];
        let mut tcp_buf = vec![0u8; 65536];
        let mut unix_buf = vec![0u8; 65536];
        let mut instance_bufs = [vec![0u8; 65536], vec![0u8; 65536]];
        let mut control_open = true;
        let mut sms_open = true;
        self.carry_out_outputs().await;
        loop {
            // While a PTY client reads the modem's output more slowly than it comes, stop taking
            // socket input (and past OUTPUT_HOLD, anything that could write to the client).
            let waiting = self.output_waiting();
            let holding = waiting >= OUTPUT_HOLD;
            let taking_sockets = waiting < OUTPUT_BACKLOG;
            let deadline = self.modem.next_deadline().filter(|_| !holding);
            // While peers take the modem's data more slowly than the client sends it, stop
            // reading the client: the kernel's buffers then slow it down.
            let reading_client = !self.sockets.backlogged() && !holding;
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
                let (master, watcher, out) = port_parts(self.port.as_mut());
                let out_level = drain_level(out.as_ref().map_or(0, |(_, o)| o.len()));
                let master = master.filter(|_| reading_client);
                let mut extra = self.instance_ports.iter_mut();
                let (extra_master_a, extra_watcher_a, extra_out_a) =
                    port_parts(extra.next().map(|p| &mut p.port));
                let (extra_master_b, extra_watcher_b, extra_out_b) =
                    port_parts(extra.next().map(|p| &mut p.port));
                let extra_level_a = drain_level(extra_out_a.as_ref().map_or(0, |(_, o)| o.len()));
                let extra_level_b = drain_level(extra_out_b.as_ref().map_or(0, |(_, o)| o.len()));
                let extra_master_a = extra_master_a.filter(|_| reading_client);
                let extra_master_b = extra_master_b.filter(|_| reading_client);
                let [buf_a, buf_b] = &mut instance_bufs;
                let tcp_client = self.tcp_client.as_mut().filter(|_| reading_client);
                let unix_client = self.unix_client.as_mut().filter(|_| reading_client);
                let activity = async {
                    match watcher {
                        Some(watcher) => pty::read_activity(watcher).await,
                        None => std::future::pending().await,
                    }
                };
                let tcp_accept = async {
                    match &self.tcp_listener {
                        Some(l) if !holding => l.accept().await,
                        _ => std::future::pending().await,
                    }
                };
                let unix_accept = async {
                    match &self.unix_listener {
                        Some(l) if !holding => l.accept().await,
                        _ => std::future::pending().await,
                    }
                };
                let socket_input = async {
                    if taking_sockets {
                        self.sockets.next_input().await
                    } else {
                        std::future::pending().await
                    }
                };
                let control = async {
                    if control_open && !holding {
                        self.control.recv().await
                    } else {
                        std::future::pending().await
                    }
                };
                // Biased, opens and closes first: the runtime learns of all ready descriptors
                // before it polls us, so a close and reopen are handled before the bytes that
                // followed them, without an extra inotify read per PTY read. Control requests
                // come last, so a flood of them never holds up the client's bytes or a timer.
                // Socket events come after timers, so a busy peer cannot delay a deadline; a
                // busy client cannot starve them either, as its reads stop at the backlog.
                // Writes of waiting output come right after the PTY reads: neither direction
                // waits for the other.
                let sms = async {
                    if sms_open && !holding {
                        self.sms_in.recv().await
                    } else {
                        std::future::pending().await
                    }
                };
                tokio::select! {
                    biased;
                    _ = &mut stop => Wake::Stop,
                    a = activity => Wake::PtyActivity(a),
                    r = read_pty_or_wait(master, &mut pty_buf) => Wake::Pty(r),
                    a = activity_or_wait(extra_watcher_a) => Wake::InstanceActivity(0, a),
                    a = activity_or_wait(extra_watcher_b) => Wake::InstanceActivity(1, a),
                    r = read_pty_or_wait(extra_master_a, buf_a) => Wake::InstancePty(0, r),
                    r = read_pty_or_wait(extra_master_b, buf_b) => Wake::InstancePty(1, r),
                    r = drain_or_wait(out, out_level) => Wake::PtyWritten(r),
                    r = drain_or_wait(extra_out_a, extra_level_a) => Wake::InstanceWritten(0, r),
                    r = drain_or_wait(extra_out_b, extra_level_b) => Wake::InstanceWritten(1, r),
                    r = read_or_wait(tcp_client, &mut tcp_buf) => Wake::TcpRead(r),
                    r = read_or_wait(unix_client, &mut unix_buf) => Wake::UnixRead(r),
                    c = tcp_accept => Wake::TcpAccept(c),
                    c = unix_accept => Wake::UnixAccept(c),
                    () = timer => Wake::Timer,
                    input = socket_input => Wake::Socket(input),
                    incoming = sms => Wake::Sms(incoming),
                    m = control => Wake::Control(m),
                }
            };
            match wake {
                Wake::Stop => {
                    // What the clients have room for still reaches them; the rest is lost.
                    for port in self.ports_mut() {
                        port.outbox.write_what_fits(&port.master);
                    }
                    break;
                }
                Wake::PtyWritten(Ok(())) => {}
                Wake::PtyWritten(Err(e)) => {
                    tracing::error!("PTY write failed: {e}");
                    if let Some(port) = self.port.as_mut() {
                        port.outbox.clear();
                    }
                }
                Wake::InstanceWritten(_, Ok(())) => {}
                Wake::InstanceWritten(slot, Err(e)) => {
                    tracing::error!("PTY write failed on an instance port: {e}");
                    if let Some(port) = self.instance_ports.get_mut(slot) {
                        port.port.outbox.clear();
                    }
                }
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
                Wake::PtyActivity(Ok(mut events)) => {
                    // A reopen queued right behind the close must be seen before deciding
                    // whose bytes are waiting in the PTY.
                    if events.contains(&PortActivity::Closed)
                        && let Some(watcher) = self.port.as_mut().and_then(|p| p.watcher.as_mut())
                    {
                        events.extend(pty::pending_activity(watcher));
                    }
                    // One at a time: a close and a reopen in one batch are a DTR drop and a raise.
                    for (i, event) in events.iter().enumerate() {
                        // Bytes the client wrote and then closed the port: they came first.
                        let reopened = events[i..].contains(&PortActivity::Opened);
                        if *event == PortActivity::Closed && !reopened {
                            self.take_input_written_before_close();
                        }
                        self.pty_event(*event);
                        self.sync_attached();
                    }
                }
                Wake::PtyActivity(Err(e)) => {
                    tracing::warn!("cannot watch the PTY for opens and closes: {e}");
                    if let Some(port) = self.port.as_mut() {
                        port.stop_watching();
                    }
                }
                Wake::InstancePty(slot, Ok(n)) if n > 0 => {
                    let bytes = instance_bufs[slot][..n].to_vec();
                    self.instance_input(slot, bytes);
                }
                Wake::InstancePty(slot, result) => {
                    tracing::error!(
                        "PTY master read failed: {result:?}; closing the instance port"
                    );
                    if let Some(port) = self.instance_ports.get_mut(slot) {
                        port.clients = 0;
                        port.port.stop_watching();
                    }
                    self.sync_instance_attached(slot);
                    if slot < self.instance_ports.len() {
                        self.instance_ports.remove(slot);
                    }
                }
                Wake::InstanceActivity(slot, Ok(mut events)) => {
                    if events.contains(&PortActivity::Closed)
                        && let Some(watcher) = self
                            .instance_ports
                            .get_mut(slot)
                            .and_then(|p| p.port.watcher.as_mut())
                    {
                        events.extend(pty::pending_activity(watcher));
                    }
                    for (i, event) in events.iter().enumerate() {
                        let reopened = events[i..].contains(&PortActivity::Opened);
                        if *event == PortActivity::Closed && !reopened {
                            self.take_instance_input_written_before_close(slot);
                        }
                        if let Some(port) = self.instance_ports.get_mut(slot) {
                            count_clients(&mut port.clients, &mut port.open_implied, *event);
                            if port.clients == 0 {
                                port.port.discard_unread_output();
                                port.port.outbox.clear();
                            }
                        }
                        self.sync_instance_attached(slot);
                    }
                }
                Wake::InstanceActivity(slot, Err(e)) => {
                    tracing::warn!("cannot watch an instance PTY for opens and closes: {e}");
                    if let Some(port) = self.instance_ports.get_mut(slot) {
                        port.port.stop_watching();
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
                    self.feed(now, Input::Timer);
                }
                Wake::Socket(input) => {
                    let now = self.now();
                    self.feed(now, input);
                }
                Wake::Control(Some(msg)) => self.control_request(msg).await,
                Wake::Control(None) => control_open = false,
                Wake::Sms(Some(incoming)) => {
                    let now = self.now();
                    self.feed(now, Input::Sms(incoming));
                }
                Wake::Sms(None) => sms_open = false,
            }
            self.carry_out_outputs().await;
        }
        // Every socket closed and every socket task ended before the modem counts as stopped.
        self.sockets.shutdown().await;
    }

    /// `state`, or something the control plane does to the modem; replies once its bytes are out.
    async fn control_request(&mut self, msg: ControlMsg) {
        let line = match msg.verb {
            Verb::State => world::state_response(self.index, &self.modem.state()),
            Verb::Act(input) => {
                let now = self.now();
                if self.observed() {
                    let request = Request {
                        modem: None,
                        verb: Verb::Act(input.clone()),
                    };
                    self.publish(now, EventBody::Ctl(request.to_json()));
                }
                self.feed(now, input);
                self.carry_out_outputs().await;
                self.flush_outboxes().await;
                world::acted_response(self.index)
            }
            Verb::Modems | Verb::Events | Verb::SmsDeliver { .. } | Verb::SmsSent { .. } => {
                world::error_line("not a request for one modem")
            }
        };
        // The requester may have gone away; the modem carries on.
        let _ = msg.reply.send(line);
    }

    /// Feeds what the client wrote before a close the watcher reported ahead of the bytes.
    fn take_input_written_before_close(&mut self) {
        if self.pty_clients == 0 {
            return;
        }
        let mut buf = vec![0u8; 65536];
        loop {
            let read = match self.port.as_ref() {
                Some(port) => port.master.try_read(&mut buf),
                None => return,
            };
            match read {
                Ok(n) if n > 0 => self.dte_input(&buf[..n]),
                _ => return,
            }
        }
    }

    fn pty_event(&mut self, event: PortActivity) {
        count_clients(&mut self.pty_clients, &mut self.pty_open_implied, event);
        if self.pty_clients == 0
            && let Some(port) = self.port.as_mut()
        {
            port.discard_unread_output();
            port.outbox.clear();
        }
    }

    /// Every PTY of the modem: the main port and the instance ports.
    fn ports_mut(&mut self) -> impl Iterator<Item = &mut VirtualPort> {
        self.port
            .iter_mut()
            .chain(self.instance_ports.iter_mut().map(|p| &mut p.port))
    }

    /// Output waiting for PTY clients to make room, over all ports.
    fn output_waiting(&self) -> usize {
        let main = self.port.as_ref().map_or(0, |p| p.outbox.len());
        main + self
            .instance_ports
            .iter()
            .map(|p| p.port.outbox.len())
            .sum::<usize>()
    }

    /// Waits until every PTY client has taken all the output waiting for it.
    async fn flush_outboxes(&mut self) {
        for port in self.ports_mut() {
            if let Err(e) = port.outbox.drain_below(&port.master, 1).await {
                tracing::error!("PTY write failed: {e}");
                port.outbox.clear();
            }
        }
    }

    /// Bytes from the client of instance port `slot`.
    fn instance_input(&mut self, slot: usize, bytes: Vec<u8>) {
        let Some(port) = self.instance_ports.get_mut(slot) else {
            return;
        };
        let instance = port.instance;
        if port.clients == 0 {
            port.clients = 1;
            port.open_implied = true;
            self.sync_instance_attached(slot);
        }
        let now = self.now();
        if self.observed() {
            self.publish(
                now,
                EventBody::on_instance(instance, EventBody::DteIn(Arc::from(&bytes[..]))),
            );
        }
        self.feed(now, Input::Instance(instance, PortEvent::Bytes(bytes)));
    }

    /// Feeds what a client of instance port `slot` wrote before a close reported first.
    fn take_instance_input_written_before_close(&mut self, slot: usize) {
        let mut buf = vec![0u8; 65536];
        loop {
            let read = match self.instance_ports.get(slot) {
                Some(port) if port.clients > 0 => port.port.master.try_read(&mut buf),
                _ => return,
            };
            match read {
                Ok(n) if n > 0 => self.instance_input(slot, buf[..n].to_vec()),
                _ => return,
            }
        }
    }

    /// Tells the core when instance port `slot` gained its first client or lost its last.
    fn sync_instance_attached(&mut self, slot: usize) {
        let Some(port) = self.instance_ports.get_mut(slot) else {
            return;
        };
        let attached = port.clients > 0;
        if attached == port.told_attached {
            return;
        }
        port.told_attached = attached;
        let instance = port.instance;
        let now = self.now();
        if self.observed() {
            self.publish(
                now,
                EventBody::on_instance(instance, EventBody::Port { opened: attached }),
            );
        }
        let event = if attached {
            PortEvent::Opened
        } else {
            PortEvent::Closed
        };
        self.feed(now, Input::Instance(instance, event));
    }

    /// Bytes for the client of AT instance `instance`'s own port, if one is there: written
    /// as far as it has room, the rest when it reads.
    fn write_instance(&mut self, instance: u8, bytes: Vec<u8>) {
        if let Some(port) = self
            .instance_ports
            .iter_mut()
            .find(|p| p.instance == instance && p.clients > 0)
            && let Err(e) = port.port.outbox.queue(&port.port.master, bytes)
        {
            tracing::error!("PTY write failed on instance {instance}: {e}");
            port.port.outbox.clear();
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
            if self.observed() {
                self.publish(now, EventBody::Port { opened: attached });
            }
            let input = if attached {
                Input::DteOpened
            } else {
                Input::DteClosed
            };
            self.feed(now, input);
        }
    }

    fn dte_input(&mut self, bytes: &[u8]) {
        let now = self.now();
        if self.observed() {
            self.publish(now, EventBody::DteIn(Arc::from(bytes)));
        }
        self.feed(now, Input::Dte(bytes.to_vec()));
    }

    async fn carry_out_outputs(&mut self) {
        let mut outputs = std::mem::take(&mut self.outputs);
        loop {
            // Take what the last input caused before acting on it: a write that finds the
            // client gone is itself an input, with outputs and a time of its own.
            let at = self.at;
            outputs.extend(std::iter::from_fn(|| self.modem.poll_output()));
            if outputs.is_empty() {
                break;
            }
            let observed = self.observed();
            for output in outputs.drain(..) {
                match output {
                    Output::Dte(bytes) => {
                        if observed {
                            self.publish(at, EventBody::DteOut(Arc::from(&bytes[..])));
                        }
                        self.write_dte(bytes).await;
                    }
                    Output::InstanceDte(instance, bytes) => {
                        if observed {
                            self.publish(
                                at,
                                EventBody::on_instance(
                                    instance,
                                    EventBody::DteOut(Arc::from(&bytes[..])),
                                ),
                            );
                        }
                        self.write_instance(instance, bytes);
                    }
                    Output::Socket(id, command) => self.sockets.command(id, command),
                    Output::Resolve { query, name } => self.sockets.resolve(query, name),
                    Output::SubmitSms(submission) => {
                        // The centre outlives every session; a send fails only while stopping.
                        let _ = self.centre.send(world::CentreMsg::Submit {
                            from: self.index,
                            at,
                            submission,
                        });
                    }
                    Output::SaveNvm(nvm) => {
                        if let Some(path) = &self.nvm_file {
                            save_nvm(path, &nvm);
                        }
                    }
                    Output::Event(event) => {
                        if observed {
                            self.publish(
                                event.at,
                                EventBody::Core {
                                    kind: event.kind,
                                    message: event.message,
                                },
                            );
                        }
                    }
                }
            }
        }
        self.outputs = outputs;
    }

    /// Bytes for the clients: the PTY's as far as it has room (the rest when it reads, so the
    /// session never stops reading for it); a socket client's as it takes them.
    async fn write_dte(&mut self, bytes: Vec<u8>) {
        if let Some(client) = self.tcp_client.as_mut()
            && client.write_all(&bytes).await.is_err()
        {
            self.tcp_client = None;
            self.sync_attached();
        }
        if let Some(client) = self.unix_client.as_mut()
            && client.write_all(&bytes).await.is_err()
        {
            self.unix_client = None;
            self.sync_attached();
        }
        if self.pty_clients > 0
            && let Some(port) = self.port.as_mut()
            && let Err(e) = port.outbox.queue(&port.master, bytes)
        {
            tracing::error!("PTY write failed: {e}");
            port.outbox.clear();
        }
    }
}
