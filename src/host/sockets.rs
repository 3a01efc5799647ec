//! Real TCP/UDP sockets for one modem: carries out the core's `SocketCommand`s and name
//! lookups with a tokio task per socket, and brings every event back through one channel.
//!
//! Each socket task owns its stream and takes the core's commands from a channel of its own;
//! everything the tasks report goes through one bounded channel that the session polls
//! ([`SocketHost::next_input`]). That channel is the back-pressure from peers to the modem: a
//! reader waits while it is full, so the kernel's receive window closes. The other way, the
//! host counts the bytes handed to `Send` and not yet `Sent` ([`SocketHost::backlogged`]) so
//! the session can stop reading its client while a peer is slow.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::modem::{
    Input, Resolution, SocketCommand, SocketEvent, SocketFailure, SocketId, Transport,
};

/// The most one read takes from a peer (and so the largest UDP datagram).
const READ_SIZE: usize = 64 * 1024;

/// Reports the socket tasks of one modem may have waiting for the session (with data, about
/// `REPORT_QUEUE * READ_SIZE` bytes); a task with more to say waits, and stops reading.
const REPORT_QUEUE: usize = 16;

/// While more bytes than this were handed to `Send` and not yet reported `Sent`, the host is
/// [`SocketHost::backlogged`] and the session stops reading its client.
pub const SEND_BACKLOG_LIMIT: usize = 1 << 20;

/// Clients a listener holds for the modem to accept or reject; beyond that it stops
/// accepting and the kernel's listen backlog holds the rest.
const HELD_CLIENTS: usize = 16;

/// How long a graceful close waits for the peer to take the last bytes before resetting.
const CLOSE_FLUSH_LIMIT: Duration = Duration::from_secs(30);

/// How long a listener waits after a failed accept (out of descriptors, say) to try again.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// What the socket tasks tell the host.
enum Report {
    Socket(SocketId, SocketEvent),
    Resolved {
        query: u32,
        result: Resolution,
    },
    /// A listener gives its oldest client to the host, which makes it connection `as_id`
    /// (UDP: with the datagrams that client sent before the accept).
    Accepted {
        as_id: SocketId,
        link: Link,
        local: SocketAddr,
        peer: SocketAddr,
        held: Vec<Vec<u8>>,
    },
}

/// One socket the core has open, as the host sees it.
struct SocketEntry {
    /// The socket task's commands.
    commands: mpsc::UnboundedSender<SocketCommand>,
    /// For a connection being accepted: its commands, until the listener hands its stream over.
    awaiting_stream: Option<mpsc::UnboundedReceiver<SocketCommand>>,
    /// Bytes handed to `Send` and not yet reported `Sent`.
    unsent: usize,
}

/// The real sockets of one modem. Dropping it (or [`SocketHost::shutdown`]) ends every socket
/// task and so closes every socket.
pub struct SocketHost {
    /// Where `Listen` binds.
    listen_address: IpAddr,
    sockets: HashMap<SocketId, SocketEntry>,
    reports_tx: mpsc::Sender<Report>,
    reports: mpsc::Receiver<Report>,
    /// Answers the host gives itself (a command it cannot carry out), delivered first.
    own_answers: VecDeque<Input>,
    /// Every socket and lookup task.
    tasks: JoinSet<()>,
    /// The sum of the sockets' `unsent`.
    unsent: usize,
}

impl SocketHost {
    /// No sockets yet; listeners will bind to `listen_address`.
    pub fn new(listen_address: IpAddr) -> SocketHost {
        let (reports_tx, reports) = mpsc::channel(REPORT_QUEUE);
        SocketHost {
            listen_address,
            sockets: HashMap::new(),
            reports_tx,
            reports,
            own_answers: VecDeque::new(),
            tasks: JoinSet::new(),
            unsent: 0,
        }
    }

    /// Carries out one command of the core (never waits: sockets act in their own tasks).
    pub fn command(&mut self, id: SocketId, command: SocketCommand) {
        self.reap_finished_tasks();
        match command {
            SocketCommand::Connect {
                transport,
                host,
                port,
                local_port,
            } => {
                let commands = self.add_socket(id);
                let reporter = self.reporter(id);
                let target = Target {
                    transport,
                    host,
                    port,
                    local: local_port.map(|p| SocketAddr::new(self.listen_address, p)),
                };
                self.tasks.spawn(async move {
                    // `Err` means the host is gone: nobody left to tell.
                    let _ = connect_and_serve(reporter, target, commands).await;
                });
            }
            SocketCommand::Listen { transport, port } => {
                let commands = self.add_socket(id);
                let reporter = self.reporter(id);
                let address = SocketAddr::new(self.listen_address, port);
                self.tasks.spawn(async move {
                    let _ = match transport {
                        Transport::Tcp => listen(reporter, address, commands).await,
                        Transport::Udp => listen_udp(reporter, address, commands).await,
                    };
                });
            }
            SocketCommand::Accept { as_id } => {
                let forwarded = self
                    .sockets
                    .get(&id)
                    .map(|listener| listener.commands.send(command).is_ok());
                let why_not = match forwarded {
                    Some(true) => {
                        let commands = self.add_socket(as_id);
                        if let Some(entry) = self.sockets.get_mut(&as_id) {
                            entry.awaiting_stream = Some(commands);
                        }
                        return;
                    }
                    None => "no such listener",
                    // It failed; its `Failed` is on the way.
                    Some(false) => "the listener is gone",
                };
                let failure = SocketFailure::Other(why_not.into());
                self.own_answers
                    .push_back(Input::Socket(as_id, SocketEvent::Failed(failure)));
            }
            SocketCommand::Send(bytes) => {
                let Some(entry) = self.sockets.get_mut(&id) else {
                    tracing::debug!(socket = id.0, "send on a socket that is gone: dropped");
                    return;
                };
                let length = bytes.len();
                // A task that ended has reported why (`Reset`), and the core will hear of it.
                if entry.commands.send(SocketCommand::Send(bytes)).is_ok() {
                    entry.unsent += length;
                    self.unsent += length;
                }
            }
            SocketCommand::Close { .. } => {
                if let Some(entry) = self.sockets.remove(&id) {
                    self.unsent -= entry.unsent;
                    let _ = entry.commands.send(command);
                }
            }
            SocketCommand::Pause | SocketCommand::Resume | SocketCommand::Reject => {
                if let Some(entry) = self.sockets.get(&id) {
                    let _ = entry.commands.send(command);
                }
            }
        }
    }

    /// Looks `name` up (an IP address stands for itself); answered by `Input::Resolved`.
    pub fn resolve(&mut self, query: u32, name: String) {
        self.reap_finished_tasks();
        let reports = self.reports_tx.clone();
        self.tasks.spawn(async move {
            let result = lookup(&name).await;
            let _ = reports.send(Report::Resolved { query, result }).await;
        });
    }

    /// The next thing to tell the core about its sockets. Cancel-safe: a `select!` may drop
    /// the future and call again without losing anything.
    pub async fn next_input(&mut self) -> Input {
        loop {
            if let Some(input) = self.own_answers.pop_front() {
                return input;
            }
            // Never `None`: the host holds a sender itself.
            let Some(report) = self.reports.recv().await else {
                return std::future::pending().await;
            };
            if let Some(input) = self.take_report(report) {
                return input;
            }
        }
    }

    /// Bytes handed to `Send` whose `Sent` has not come back.
    pub fn unsent(&self) -> usize {
        self.unsent
    }

    /// Whether so much is waiting to be sent that the client should wait (see
    /// [`SEND_BACKLOG_LIMIT`]).
    pub fn backlogged(&self) -> bool {
        self.unsent > SEND_BACKLOG_LIMIT
    }

    /// Ends every socket and lookup task and waits until they are gone (their sockets closed).
    pub async fn shutdown(mut self) {
        self.sockets.clear();
        self.tasks.shutdown().await;
    }

    /// Turns a report into the core's input, or `None` when it concerns a socket the core
    /// closed (reports that raced the `Close`).
    fn take_report(&mut self, report: Report) -> Option<Input> {
        match report {
            Report::Socket(id, event) => {
                let entry = self.sockets.get_mut(&id)?;
                match &event {
                    SocketEvent::Sent(length) => {
                        let length = (*length).min(entry.unsent);
                        entry.unsent -= length;
                        self.unsent -= length;
                    }
                    SocketEvent::Failed(_) | SocketEvent::Reset(_) => {
                        self.unsent -= entry.unsent;
                        self.sockets.remove(&id);
                    }
                    _ => {}
                }
                Some(Input::Socket(id, event))
            }
            Report::Resolved { query, result } => Some(Input::Resolved { query, result }),
            Report::Accepted {
                as_id,
                link,
                local,
                peer,
                held,
            } => {
                // Closed before its stream came: dropping the stream closes it.
                let commands = self.sockets.get_mut(&as_id)?.awaiting_stream.take()?;
                let reporter = self.reporter(as_id);
                self.tasks.spawn(async move {
                    // What a UDP client sent before the accept comes right after `Connected`.
                    for datagram in held {
                        if reporter.send(SocketEvent::Data(datagram)).await.is_err() {
                            return;
                        }
                    }
                    let _ = serve(reporter, link, commands, Flow::default()).await;
                });
                Some(Input::Socket(as_id, SocketEvent::Connected { local, peer }))
            }
        }
    }

    /// A new socket `id` and the receiving end of its commands, for its task.
    fn add_socket(&mut self, id: SocketId) -> mpsc::UnboundedReceiver<SocketCommand> {
        let (commands, receiver) = mpsc::unbounded_channel();
        let replaced = self.sockets.insert(
            id,
            SocketEntry {
                commands,
                awaiting_stream: None,
                unsent: 0,
            },
        );
        if let Some(old) = replaced {
            tracing::warn!(
                socket = id.0,
                "socket number reused; the old socket is closed"
            );
            self.unsent -= old.unsent;
        }
        receiver
    }

    fn reporter(&self, id: SocketId) -> Reporter {
        Reporter {
            id,
            reports: self.reports_tx.clone(),
        }
    }

    /// Forgets tasks that ended (a `JoinSet` keeps them until asked).
    fn reap_finished_tasks(&mut self) {
        while let Some(ended) = self.tasks.try_join_next() {
            if let Err(e) = ended
                && e.is_panic()
            {
                tracing::error!("a socket task panicked: {e}");
            }
        }
    }

    /// Waits until every task has ended (tests: after closing everything).
    #[cfg(test)]
    async fn settle(&mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}

/// The host stopped listening: the task has nobody to report to and ends.
struct HostGone;

/// How a socket task reports.
struct Reporter {
    id: SocketId,
    reports: mpsc::Sender<Report>,
}

impl Reporter {
    /// Waits while the session is behind (that is the back-pressure).
    async fn send(&self, event: SocketEvent) -> Result<(), HostGone> {
        self.report(Report::Socket(self.id, event)).await
    }

    async fn report(&self, report: Report) -> Result<(), HostGone> {
        self.reports.send(report).await.map_err(|_| HostGone)
    }
}

/// A connected socket of either transport.
enum Link {
    Tcp(TcpStream),
    Udp(UdpSocket),
}

impl Link {
    async fn readable(&self) -> io::Result<()> {
        match self {
            Link::Tcp(stream) => stream.readable().await,
            Link::Udp(socket) => socket.readable().await,
        }
    }

    async fn writable(&self) -> io::Result<()> {
        match self {
            Link::Tcp(stream) => stream.writable().await,
            Link::Udp(socket) => socket.writable().await,
        }
    }

    /// TCP: what the kernel has (0 at the peer's FIN); UDP: one datagram.
    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Link::Tcp(stream) => stream.try_read(buf),
            Link::Udp(socket) => socket.try_recv(buf),
        }
    }

    fn try_write(&self, bytes: &[u8]) -> io::Result<usize> {
        match self {
            Link::Tcp(stream) => stream.try_write(bytes),
            Link::Udp(socket) => socket.try_send(bytes),
        }
    }

    fn is_datagram(&self) -> bool {
        matches!(self, Link::Udp(_))
    }

    fn addresses(&self) -> io::Result<(SocketAddr, SocketAddr)> {
        match self {
            Link::Tcp(stream) => Ok((stream.local_addr()?, stream.peer_addr()?)),
            Link::Udp(socket) => Ok((socket.local_addr()?, socket.peer_addr()?)),
        }
    }
}

/// A connection's commands so far: bytes to send, in order, and whether reading is paused.
#[derive(Default)]
struct Flow {
    pending: VecDeque<Vec<u8>>,
    /// How much of the first pending buffer is already written.
    written: usize,
    paused: bool,
}

impl Flow {
    fn apply(&mut self, command: SocketCommand) {
        match command {
            SocketCommand::Send(bytes) => self.pending.push_back(bytes),
            SocketCommand::Pause => self.paused = true,
            SocketCommand::Resume => self.paused = false,
            other => tracing::debug!("{other:?} means nothing to a connection; ignored"),
        }
    }

    /// Writes what the socket takes without waiting; returns the length of the `Send`s that
    /// are now completely written. UDP: a datagram the network refuses is lost, not an error.
    fn write_some(&mut self, link: &Link) -> io::Result<usize> {
        let mut completed = 0;
        while let Some(front) = self.pending.front() {
            match link.try_write(&front[self.written..]) {
                Ok(0) if front.len() > self.written => {
                    return Err(io::ErrorKind::WriteZero.into());
                }
                Ok(length) => self.written += length,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if link.is_datagram() => {
                    tracing::debug!("UDP datagram of {} bytes lost: {e}", front.len());
                    self.written = front.len();
                }
                Err(e) => return Err(e),
            }
            if self.written == front.len() {
                completed += front.len();
                self.written = 0;
                self.pending.pop_front();
            }
        }
        Ok(completed)
    }

    /// Writes everything still pending, waiting for the peer as long as it takes.
    async fn flush(&mut self, stream: &mut TcpStream) -> io::Result<()> {
        while let Some(front) = self.pending.pop_front() {
            stream.write_all(&front[self.written..]).await?;
            self.written = 0;
        }
        Ok(())
    }
}

/// Where a `Connect` goes, and from which local address if one was asked for.
struct Target {
    transport: Transport,
    host: String,
    port: u16,
    local: Option<SocketAddr>,
}

/// `Connect`: resolve, connect, report, then serve the connection. Commands that come while
/// connecting are kept (a `Close` ends the attempt).
async fn connect_and_serve(
    reporter: Reporter,
    target: Target,
    mut commands: mpsc::UnboundedReceiver<SocketCommand>,
) -> Result<(), HostGone> {
    let mut flow = Flow::default();
    let opening = open(&target);
    tokio::pin!(opening);
    let link = loop {
        tokio::select! {
            biased;
            command = commands.recv() => match command {
                None | Some(SocketCommand::Close { .. }) => return Ok(()),
                Some(command) => flow.apply(command),
            },
            opened = &mut opening => match opened {
                Ok(link) => break link,
                Err(failure) => return reporter.send(SocketEvent::Failed(failure)).await,
            },
        }
    };
    match link.addresses() {
        Ok((local, peer)) => {
            reporter
                .send(SocketEvent::Connected { local, peer })
                .await?;
        }
        Err(e) => return reporter.send(SocketEvent::Failed(failure(&e))).await,
    }
    serve(reporter, link, commands, flow).await
}

/// Connects to the first address of the target's host that answers, IPv4 before IPv6 (only
/// addresses of the local address's family when one is given).
async fn open(target: &Target) -> Result<Link, SocketFailure> {
    let mut addresses: Vec<SocketAddr> =
        tokio::net::lookup_host((unbracket(&target.host), target.port))
            .await
            .map_err(|_| SocketFailure::Dns)?
            .collect();
    if let Some(local) = target.local {
        addresses.retain(|a| a.is_ipv4() == local.is_ipv4());
    }
    addresses.sort_by_key(SocketAddr::is_ipv6);
    let mut last_error = None;
    for address in addresses {
        let attempt = match target.transport {
            Transport::Tcp => connect_tcp(address, target.local).await.map(|stream| {
                // Small writes (AT-paced sends) go out at once, as on the module.
                let _ = stream.set_nodelay(true);
                Link::Tcp(stream)
            }),
            Transport::Udp => connect_udp(address, target.local).await.map(Link::Udp),
        };
        match attempt {
            Ok(link) => return Ok(link),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.map_or(SocketFailure::Dns, |e| failure(&e)))
}

/// A TCP connection to `peer`, from `local` when given.
async fn connect_tcp(peer: SocketAddr, local: Option<SocketAddr>) -> io::Result<TcpStream> {
    let Some(local) = local else {
        return TcpStream::connect(peer).await;
    };
    let socket = if local.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.bind(local)?;
    socket.connect(peer).await
}

/// A UDP socket that talks to `peer` only: bound to `local` when given, else to loopback when
/// `peer` is on loopback.
async fn connect_udp(peer: SocketAddr, local: Option<SocketAddr>) -> io::Result<UdpSocket> {
    let local = local.unwrap_or_else(|| {
        let ip: IpAddr = match peer.ip() {
            IpAddr::V4(ip) if ip.is_loopback() => Ipv4Addr::LOCALHOST.into(),
            IpAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
            IpAddr::V6(ip) if ip.is_loopback() => Ipv6Addr::LOCALHOST.into(),
            IpAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
        };
        SocketAddr::new(ip, 0)
    });
    let socket = UdpSocket::bind(local).await?;
    socket.connect(peer).await?;
    Ok(socket)
}

/// `[::1]` → `::1`; anything else as it is.
fn unbracket(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

/// A name's addresses, IPv4 first, each once; an IP address is its own answer.
async fn lookup(name: &str) -> Resolution {
    let name = unbracket(name);
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Ok(vec![ip]);
    }
    let found = tokio::net::lookup_host((name, 0))
        .await
        .map_err(|_| SocketFailure::Dns)?;
    let mut ips: Vec<IpAddr> = Vec::new();
    for address in found {
        if !ips.contains(&address.ip()) {
            ips.push(address.ip());
        }
    }
    ips.sort_by_key(IpAddr::is_ipv6);
    if ips.is_empty() {
        Err(SocketFailure::Dns)
    } else {
        Ok(ips)
    }
}

/// What the core is told about an error opening a socket.
fn failure(error: &io::Error) -> SocketFailure {
    match error.raw_os_error() {
        Some(libc::ECONNREFUSED) => SocketFailure::Refused,
        Some(libc::ENETUNREACH | libc::EHOSTUNREACH) => SocketFailure::Unreachable,
        Some(libc::EADDRINUSE) => SocketFailure::AddressInUse,
        _ => SocketFailure::Other(error.to_string()),
    }
}

/// Moves bytes both ways until the core closes the connection or it breaks. Reads stop at the
/// peer's FIN (`Closed`) and while paused; writes never hold up reads or commands.
async fn serve(
    reporter: Reporter,
    link: Link,
    mut commands: mpsc::UnboundedReceiver<SocketCommand>,
    mut flow: Flow,
) -> Result<(), HostGone> {
    let mut buf = vec![0u8; READ_SIZE];
    let mut peer_open = true;
    loop {
        tokio::select! {
            // Commands first, so a `Pause` or `Close` takes effect before the next read.
            biased;
            command = commands.recv() => match command {
                None => return Ok(()),
                Some(SocketCommand::Close { abort }) => {
                    close(link, flow, abort).await;
                    return Ok(());
                }
                Some(command) => flow.apply(command),
            },
            ready = link.writable(), if !flow.pending.is_empty() => {
                match ready.and_then(|()| flow.write_some(&link)) {
                    Ok(0) => {}
                    Ok(sent) => reporter.send(SocketEvent::Sent(sent)).await?,
                    Err(e) => return reporter.send(SocketEvent::Reset(e.to_string())).await,
                }
            },
            ready = link.readable(), if peer_open && !flow.paused => {
                match ready.and_then(|()| link.try_read(&mut buf)) {
                    Ok(0) if !link.is_datagram() => {
                        peer_open = false;
                        reporter.send(SocketEvent::Closed).await?;
                    }
                    Ok(length) => reporter.send(SocketEvent::Data(buf[..length].to_vec())).await?,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    // An ICMP answer to an earlier datagram: UDP does not tell its user.
                    Err(e) if link.is_datagram() && e.kind() == io::ErrorKind::ConnectionRefused => {}
                    Err(e) => return reporter.send(SocketEvent::Reset(e.to_string())).await,
                }
            },
        }
    }
}

/// `Close`: TCP gracefully (what was sent reaches the peer, then FIN) or with a reset.
async fn close(link: Link, mut flow: Flow, abort: bool) {
    let Link::Tcp(mut stream) = link else {
        return;
    };
    if abort {
        reset_on_drop(&stream);
        return;
    }
    match tokio::time::timeout(CLOSE_FLUSH_LIMIT, flow.flush(&mut stream)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::debug!("closing: the last bytes could not be sent: {e}");
            return;
        }
        Err(_) => {
            tracing::debug!("closing: the peer took no data for {CLOSE_FLUSH_LIMIT:?}; resetting");
            reset_on_drop(&stream);
            return;
        }
    }
    let _ = stream.shutdown().await;
    discard_unread(&stream);
}

/// Reads and drops what the peer sent and the modem never took: closing a socket with unread
/// bytes makes the kernel send a reset instead of the FIN.
fn discard_unread(stream: &TcpStream) {
    let mut scratch = [0u8; 4096];
    while let Ok(length) = stream.try_read(&mut scratch) {
        if length == 0 {
            break;
        }
    }
}

/// Makes dropping `stream` send a reset (RST) rather than a FIN: `SO_LINGER` with timeout 0.
// tokio deprecates `set_linger` because a non-zero linger makes `close` block the thread; a
// zero linger never blocks (the kernel discards the socket at once).
#[allow(deprecated)]
fn reset_on_drop(stream: &TcpStream) {
    if let Err(e) = stream.set_linger(Some(Duration::ZERO)) {
        tracing::debug!("cannot set SO_LINGER 0; the close will be a FIN: {e}");
    }
}

/// `Listen` (TCP): bind on the host's listen address, hold each client until the core accepts
/// or rejects it, and hand accepted ones to the host.
async fn listen(
    reporter: Reporter,
    address: SocketAddr,
    mut commands: mpsc::UnboundedReceiver<SocketCommand>,
) -> Result<(), HostGone> {
    let listener = match TcpListener::bind(address).await {
        Ok(listener) => listener,
        Err(e) => return reporter.send(SocketEvent::Failed(failure(&e))).await,
    };
    match listener.local_addr() {
        Ok(local) => reporter.send(SocketEvent::Listening { local }).await?,
        Err(e) => return reporter.send(SocketEvent::Failed(failure(&e))).await,
    }
    let mut held: VecDeque<(TcpStream, SocketAddr)> = VecDeque::new();
    loop {
        tokio::select! {
            biased;
            command = commands.recv() => match command {
                None | Some(SocketCommand::Close { .. }) => return Ok(()),
                Some(SocketCommand::Accept { as_id }) => {
                    reporter.report(hand_over(as_id, held.pop_front())).await?;
                }
                Some(SocketCommand::Reject) => {
                    if let Some((stream, _)) = held.pop_front() {
                        reset_on_drop(&stream);
                    }
                }
                Some(other) => tracing::debug!("{other:?} means nothing to a listener; ignored"),
            },
            accepted = listener.accept(), if held.len() < HELD_CLIENTS => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    held.push_back((stream, peer));
                    reporter.send(SocketEvent::Incoming { peer }).await?;
                }
                Err(e) => {
                    tracing::warn!(%address, "accept failed: {e}");
                    tokio::time::sleep(ACCEPT_RETRY).await;
                }
            },
        }
    }
}

/// The report for `Accept`: the oldest held client, or why there is none.
fn hand_over(as_id: SocketId, client: Option<(TcpStream, SocketAddr)>) -> Report {
    let failed = |failure| Report::Socket(as_id, SocketEvent::Failed(failure));
    match client {
        None => failed(SocketFailure::Other("no connection is waiting".into())),
        Some((stream, peer)) => match stream.local_addr() {
            Ok(local) => Report::Accepted {
                as_id,
                link: Link::Tcp(stream),
                local,
                peer,
                held: Vec::new(),
            },
            Err(e) => failed(failure(&e)),
        },
    }
}

/// Datagrams a UDP listener keeps from its waiting sender until the accept; later ones are lost.
const HELD_DATAGRAMS: usize = 16;

/// `Listen` (UDP): bind on the host's listen address; the first datagram of a sender is its
/// `Incoming`. `Accept` connects the socket to that sender and hands it over (the listener
/// ends: one socket, one peer, as on the modules); `Reject` forgets the sender. Datagrams from
/// others while one sender waits are dropped.
async fn listen_udp(
    reporter: Reporter,
    address: SocketAddr,
    mut commands: mpsc::UnboundedReceiver<SocketCommand>,
) -> Result<(), HostGone> {
    let socket = match UdpSocket::bind(address).await {
        Ok(socket) => socket,
        Err(e) => return reporter.send(SocketEvent::Failed(failure(&e))).await,
    };
    let local = match socket.local_addr() {
        Ok(local) => local,
        Err(e) => return reporter.send(SocketEvent::Failed(failure(&e))).await,
    };
    reporter.send(SocketEvent::Listening { local }).await?;
    let mut buf = vec![0u8; READ_SIZE];
    let mut waiting: Option<(SocketAddr, Vec<Vec<u8>>)> = None;
    loop {
        tokio::select! {
            biased;
            command = commands.recv() => match command {
                None | Some(SocketCommand::Close { .. }) => return Ok(()),
                Some(SocketCommand::Accept { as_id }) => {
                    let Some((peer, held)) = waiting.take() else {
                        let failure = SocketFailure::Other("no connection is waiting".into());
                        reporter.report(Report::Socket(as_id, SocketEvent::Failed(failure))).await?;
                        continue;
                    };
                    let report = match socket.connect(peer).await {
                        Ok(()) => Report::Accepted {
                            as_id,
                            link: Link::Udp(socket),
                            local,
                            peer,
                            held,
                        },
                        Err(e) => Report::Socket(as_id, SocketEvent::Failed(failure(&e))),
                    };
                    return reporter.report(report).await;
                }
                Some(SocketCommand::Reject) => waiting = None,
                Some(other) => tracing::debug!("{other:?} means nothing to a listener; ignored"),
            },
            received = socket.recv_from(&mut buf) => match received {
                Ok((length, from)) => match &mut waiting {
                    Some((peer, held)) if *peer == from => {
                        if held.len() < HELD_DATAGRAMS {
                            held.push(buf[..length].to_vec());
                        }
                    }
                    Some(_) => tracing::debug!(%from, "datagram while another sender waits: dropped"),
                    None => {
                        waiting = Some((from, vec![buf[..length].to_vec()]));
                        reporter.send(SocketEvent::Incoming { peer: from }).await?;
                    }
                },
                // An ICMP answer to an earlier datagram: UDP does not tell its user.
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {}
                Err(e) => {
                    tracing::warn!(%address, "UDP receive failed: {e}");
                    tokio::time::sleep(ACCEPT_RETRY).await;
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream, UdpSocket};
    use tokio::time::timeout;

    use super::*;

    /// Only a failure guard: every awaited event normally comes at once.
    const GUARD: Duration = Duration::from_secs(20);
    const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
    const SOCKET: SocketId = SocketId(1);
    const LISTENER: SocketId = SocketId(10);
    const ACCEPTED: SocketId = SocketId(11);

    async fn next(host: &mut SocketHost) -> Input {
        timeout(GUARD, host.next_input())
            .await
            .expect("an event within the guard time")
    }

    async fn next_event(host: &mut SocketHost, id: SocketId) -> SocketEvent {
        match next(host).await {
            Input::Socket(got, event) if got == id => event,
            other => panic!("expected an event of socket {id:?}, got {other:?}"),
        }
    }

    /// `Data` of `id` until `length` bytes came; anything else fails the test.
    async fn receive(host: &mut SocketHost, id: SocketId, length: usize) -> Vec<u8> {
        let mut received = Vec::new();
        while received.len() < length {
            match next_event(host, id).await {
                SocketEvent::Data(bytes) => received.extend_from_slice(&bytes),
                other => panic!("expected data, got {other:?}"),
            }
        }
        received
    }

    fn connect(transport: Transport, host: &str, port: u16) -> SocketCommand {
        SocketCommand::Connect {
            transport,
            host: host.into(),
            port,
            local_port: None,
        }
    }

    async fn listener() -> (TcpListener, u16) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        (listener, port)
    }

    async fn accept(listener: &TcpListener) -> (TcpStream, SocketAddr) {
        timeout(GUARD, listener.accept())
            .await
            .expect("a connection within the guard time")
            .expect("accept")
    }

    /// `id` connected to a fresh loopback listener: the peer's end of the connection.
    async fn connected_pair(host: &mut SocketHost, id: SocketId) -> TcpStream {
        let (listener, port) = listener().await;
        host.command(id, connect(Transport::Tcp, "127.0.0.1", port));
        let (peer, client) = accept(&listener).await;
        let expected = SocketEvent::Connected {
            local: client,
            peer: listener.local_addr().expect("address"),
        };
        assert_eq!(next_event(host, id).await, expected);
        peer
    }

    /// Bytes that differ from one position to the next and between `seed`s.
    fn pattern(length: usize, seed: u8) -> Vec<u8> {
        (0..length).map(|i| (i % 251) as u8 ^ seed).collect()
    }

    fn free_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    }

    #[allow(deprecated)]
    fn reset_when_dropped(stream: &TcpStream) {
        stream
            .set_linger(Some(Duration::ZERO))
            .expect("SO_LINGER 0");
    }

    async fn expect_reset(stream: &mut TcpStream) {
        let mut buf = [0u8; 16];
        let read = timeout(GUARD, stream.read(&mut buf)).await.expect("guard");
        match read {
            Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}"),
            Ok(n) => panic!("expected a reset, read {n} bytes"),
        }
    }

    #[tokio::test]
    async fn tcp_connect_carries_exact_bytes_both_ways_and_reports_the_peer_close() {
        let mut host = SocketHost::new(LOOPBACK);
        let mut peer = connected_pair(&mut host, SOCKET).await;

        host.command(SOCKET, SocketCommand::Send(b"GET /\r\n\x00\xff".to_vec()));
        assert_eq!(next_event(&mut host, SOCKET).await, SocketEvent::Sent(9));
        assert_eq!(host.unsent(), 0);
        let mut got = [0u8; 9];
        peer.read_exact(&mut got).await.expect("read");
        assert_eq!(&got, b"GET /\r\n\x00\xff");

        peer.write_all(b"\x00\xffHTTP/1.0 200")
            .await
            .expect("write");
        assert_eq!(
            receive(&mut host, SOCKET, 14).await,
            b"\x00\xffHTTP/1.0 200"
        );

        peer.shutdown().await.expect("FIN");
        assert_eq!(next_event(&mut host, SOCKET).await, SocketEvent::Closed);
        // Half closed: the modem may still send.
        host.command(SOCKET, SocketCommand::Send(b"bye".to_vec()));
        assert_eq!(next_event(&mut host, SOCKET).await, SocketEvent::Sent(3));
        host.command(SOCKET, SocketCommand::Close { abort: false });
        let mut rest = Vec::new();
        timeout(GUARD, peer.read_to_end(&mut rest))
            .await
            .expect("guard")
            .expect("a FIN after the bytes");
        assert_eq!(rest, b"bye");
        host.settle().await;
    }

    #[tokio::test]
    async fn a_name_is_resolved_to_connect_and_ipv4_comes_first() {
        let mut host = SocketHost::new(LOOPBACK);
        let (listener, port) = listener().await;
        host.command(SOCKET, connect(Transport::Tcp, "localhost", port));
        let (_peer, client) = accept(&listener).await;
        let expected = SocketEvent::Connected {
            local: client,
            peer: SocketAddr::new(LOOPBACK, port),
        };
        assert_eq!(next_event(&mut host, SOCKET).await, expected);
    }

    #[tokio::test]
    async fn a_closed_port_is_refused() {
        let mut host = SocketHost::new(LOOPBACK);
        host.command(SOCKET, connect(Transport::Tcp, "127.0.0.1", free_port()));
        assert_eq!(
            next_event(&mut host, SOCKET).await,
            SocketEvent::Failed(SocketFailure::Refused)
        );
        // The socket is gone: what the core still sends it is dropped, not counted.
        host.command(SOCKET, SocketCommand::Send(b"late".to_vec()));
        assert_eq!(host.unsent(), 0);
        host.settle().await;
    }

    #[tokio::test]
    async fn an_unknown_name_fails_with_dns_both_to_connect_and_to_resolve() {
        let mut host = SocketHost::new(LOOPBACK);
        host.command(SOCKET, connect(Transport::Tcp, "no-such-host.invalid", 80));
        assert_eq!(
            next_event(&mut host, SOCKET).await,
            SocketEvent::Failed(SocketFailure::Dns)
        );
        host.resolve(7, "no-such-host.invalid".into());
        assert_eq!(
            next(&mut host).await,
            Input::Resolved {
                query: 7,
                result: Err(SocketFailure::Dns)
            }
        );
        host.resolve(8, "127.0.0.1".into());
        assert_eq!(
            next(&mut host).await,
            Input::Resolved {
                query: 8,
                result: Ok(vec![LOOPBACK])
            }
        );
        host.resolve(9, "localhost".into());
        match next(&mut host).await {
            Input::Resolved {
                query: 9,
                result: Ok(ips),
            } => assert_eq!(ips[0], LOOPBACK, "{ips:?}"),
            other => panic!("expected localhost's addresses, got {other:?}"),
        }
    }

    /// Listens on port 0 of loopback; the bound address.
    async fn listening(host: &mut SocketHost) -> SocketAddr {
        host.command(
            LISTENER,
            SocketCommand::Listen {
                transport: Transport::Tcp,
                port: 0,
            },
        );
        match next_event(host, LISTENER).await {
            SocketEvent::Listening { local } => {
                assert_eq!(local.ip(), LOOPBACK);
                assert_ne!(local.port(), 0);
                local
            }
            other => panic!("expected Listening, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_listener_announces_a_client_and_the_accepted_connection_carries_bytes() {
        let mut host = SocketHost::new(LOOPBACK);
        let local = listening(&mut host).await;
        let mut client = TcpStream::connect(local).await.expect("connect");
        let client_address = client.local_addr().expect("address");
        assert_eq!(
            next_event(&mut host, LISTENER).await,
            SocketEvent::Incoming {
                peer: client_address
            }
        );
        host.command(LISTENER, SocketCommand::Accept { as_id: ACCEPTED });
        assert_eq!(
            next_event(&mut host, ACCEPTED).await,
            SocketEvent::Connected {
                local,
                peer: client_address
            }
        );
        client.write_all(b"hello modem").await.expect("write");
        assert_eq!(receive(&mut host, ACCEPTED, 11).await, b"hello modem");
        host.command(ACCEPTED, SocketCommand::Send(b"hello client".to_vec()));
        assert_eq!(next_event(&mut host, ACCEPTED).await, SocketEvent::Sent(12));
        let mut got = [0u8; 12];
        client.read_exact(&mut got).await.expect("read");
        assert_eq!(&got, b"hello client");
        drop(client);
        assert_eq!(next_event(&mut host, ACCEPTED).await, SocketEvent::Closed);

        // Nobody waiting: the accept fails for the new number.
        host.command(
            LISTENER,
            SocketCommand::Accept {
                as_id: SocketId(12),
            },
        );
        assert_eq!(
            next_event(&mut host, SocketId(12)).await,
            SocketEvent::Failed(SocketFailure::Other("no connection is waiting".into()))
        );
        host.command(ACCEPTED, SocketCommand::Close { abort: false });
        host.command(LISTENER, SocketCommand::Close { abort: false });
        host.settle().await;
        // The port is free again.
        assert!(TcpStream::connect(local).await.is_err());
    }

    #[tokio::test]
    async fn a_rejected_client_is_reset() {
        let mut host = SocketHost::new(LOOPBACK);
        let local = listening(&mut host).await;
        let mut client = TcpStream::connect(local).await.expect("connect");
        assert!(matches!(
            next_event(&mut host, LISTENER).await,
            SocketEvent::Incoming { .. }
        ));
        host.command(LISTENER, SocketCommand::Reject);
        expect_reset(&mut client).await;
    }

    #[tokio::test]
    async fn a_taken_port_cannot_be_listened_on() {
        let mut host = SocketHost::new(LOOPBACK);
        let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = taken.local_addr().expect("address").port();
        host.command(
            LISTENER,
            SocketCommand::Listen {
                transport: Transport::Tcp,
                port,
            },
        );
        assert_eq!(
            next_event(&mut host, LISTENER).await,
            SocketEvent::Failed(SocketFailure::AddressInUse)
        );
    }

    #[tokio::test]
    async fn a_udp_listener_announces_a_sender_and_hands_it_over_with_its_datagrams() {
        let mut host = SocketHost::new(LOOPBACK);
        host.command(
            LISTENER,
            SocketCommand::Listen {
                transport: Transport::Udp,
                port: 0,
            },
        );
        let local = match next_event(&mut host, LISTENER).await {
            SocketEvent::Listening { local } => local,
            other => panic!("expected Listening, got {other:?}"),
        };
        let peer = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        peer.send_to(b"one", local).await.expect("send");
        assert_eq!(
            next_event(&mut host, LISTENER).await,
            SocketEvent::Incoming {
                peer: peer.local_addr().expect("address")
            }
        );
        host.command(LISTENER, SocketCommand::Accept { as_id: ACCEPTED });
        assert_eq!(
            next_event(&mut host, ACCEPTED).await,
            SocketEvent::Connected {
                local,
                peer: peer.local_addr().expect("address")
            }
        );
        assert_eq!(receive(&mut host, ACCEPTED, 3).await, b"one");
        peer.send_to(b"two", local).await.expect("send");
        assert_eq!(receive(&mut host, ACCEPTED, 3).await, b"two");
        host.command(ACCEPTED, SocketCommand::Send(b"back".to_vec()));
        let mut buf = [0u8; 16];
        let (length, from) = timeout(GUARD, peer.recv_from(&mut buf))
            .await
            .expect("guard")
            .expect("receive");
        assert_eq!((&buf[..length], from), (&b"back"[..], local));
        host.command(LISTENER, SocketCommand::Close { abort: false });
        host.command(ACCEPTED, SocketCommand::Close { abort: false });
    }

    #[tokio::test]
    async fn a_udp_connect_binds_the_local_port_it_asks_for() {
        let mut host = SocketHost::new(LOOPBACK);
        let peer = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let peer_port = peer.local_addr().expect("address").port();
        let local_port = UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("bind")
            .local_addr()
            .expect("address")
            .port();
        host.command(
            SOCKET,
            SocketCommand::Connect {
                transport: Transport::Udp,
                host: "127.0.0.1".into(),
                port: peer_port,
                local_port: Some(local_port),
            },
        );
        let expected = SocketEvent::Connected {
            local: SocketAddr::new(LOOPBACK, local_port),
            peer: peer.local_addr().expect("address"),
        };
        assert_eq!(next_event(&mut host, SOCKET).await, expected);
        host.command(SOCKET, SocketCommand::Send(b"hi".to_vec()));
        let mut buf = [0u8; 16];
        let (length, from) = timeout(GUARD, peer.recv_from(&mut buf))
            .await
            .expect("guard")
            .expect("receive");
        assert_eq!((&buf[..length], from.port()), (&b"hi"[..], local_port));
    }

    #[tokio::test]
    async fn a_peer_reset_is_reported() {
        let mut host = SocketHost::new(LOOPBACK);
        let peer = connected_pair(&mut host, SOCKET).await;
        reset_when_dropped(&peer);
        drop(peer);
        assert!(matches!(
            next_event(&mut host, SOCKET).await,
            SocketEvent::Reset(_)
        ));
        host.settle().await;
    }

    #[tokio::test]
    async fn an_aborting_close_resets_the_peer() {
        let mut host = SocketHost::new(LOOPBACK);
        let mut peer = connected_pair(&mut host, SOCKET).await;
        host.command(SOCKET, SocketCommand::Close { abort: true });
        expect_reset(&mut peer).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_graceful_close_delivers_everything_sent_before_the_fin() {
        let mut host = SocketHost::new(LOOPBACK);
        let mut peer = connected_pair(&mut host, SOCKET).await;
        let sent = pattern(4 << 20, 3);
        for chunk in sent.chunks(READ_SIZE) {
            host.command(SOCKET, SocketCommand::Send(chunk.to_vec()));
        }
        // The peer has not read yet: most of it is still queued when the core closes.
        host.command(SOCKET, SocketCommand::Close { abort: false });
        assert_eq!(host.unsent(), 0);
        let mut received = Vec::new();
        // The session keeps taking reports (none may reach the core after the close).
        let reports_after_close = async {
            let input = host.next_input().await;
            panic!("{input:?} came after the close");
        };
        tokio::select! {
            read = timeout(GUARD, peer.read_to_end(&mut received)) => {
                read.expect("guard").expect("read to the FIN");
            }
            () = reports_after_close => {}
        }
        assert!(received == sent, "{} bytes arrived", received.len());
    }

    #[tokio::test]
    async fn events_of_a_closed_socket_never_reach_the_core() {
        let mut host = SocketHost::new(LOOPBACK);
        let (listener, port) = listener().await;
        host.command(SOCKET, connect(Transport::Tcp, "127.0.0.1", port));
        let (mut peer, _) = accept(&listener).await;
        peer.write_all(b"late").await.expect("write");
        host.command(SOCKET, SocketCommand::Close { abort: false });
        host.command(SocketId(2), connect(Transport::Tcp, "127.0.0.1", port));
        let (_second, second_address) = accept(&listener).await;
        assert_eq!(
            next(&mut host).await,
            Input::Socket(
                SocketId(2),
                SocketEvent::Connected {
                    local: second_address,
                    peer: SocketAddr::new(LOOPBACK, port)
                }
            )
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pause_stops_reading_until_resume() {
        let mut host = SocketHost::new(LOOPBACK);
        let mut peer = connected_pair(&mut host, SOCKET).await;
        host.command(SOCKET, SocketCommand::Pause);
        // The peer writes until the kernel's buffers are full: nobody reads.
        let data = pattern(64 << 20, 5);
        let mut written = 0;
        while written < data.len() {
            let end = (written + READ_SIZE).min(data.len());
            match timeout(Duration::from_millis(300), peer.write(&data[written..end])).await {
                Ok(result) => written += result.expect("write"),
                Err(_) => break,
            }
        }
        assert!(written < data.len(), "a paused socket took {written} bytes");
        assert!(
            timeout(Duration::ZERO, host.next_input()).await.is_err(),
            "an event came while paused"
        );
        host.command(SOCKET, SocketCommand::Resume);
        let received = receive(&mut host, SOCKET, written).await;
        assert!(received == data[..written], "the bytes differ");
    }

    #[tokio::test]
    async fn unsent_bytes_are_counted_until_sent_and_forgotten_at_close() {
        let mut host = SocketHost::new(LOOPBACK);
        let mut peer = connected_pair(&mut host, SOCKET).await;
        for _ in 0..4 {
            host.command(SOCKET, SocketCommand::Send(vec![7; 1 << 20]));
        }
        assert_eq!(host.unsent(), 4 << 20);
        assert!(host.backlogged());
        let reader = tokio::spawn(async move {
            let mut received = vec![0u8; 4 << 20];
            peer.read_exact(&mut received).await.expect("read");
            (peer, received)
        });
        let mut sent = 0;
        while sent < 4 << 20 {
            match next_event(&mut host, SOCKET).await {
                SocketEvent::Sent(length) => sent += length,
                other => panic!("expected Sent, got {other:?}"),
            }
        }
        assert_eq!(sent, 4 << 20);
        assert_eq!(host.unsent(), 0);
        assert!(!host.backlogged());
        let (_peer, received) = reader.await.expect("reader");
        assert!(received.iter().all(|&b| b == 7));

        host.command(SOCKET, SocketCommand::Send(vec![8; 8 << 20]));
        assert!(host.backlogged());
        host.command(SOCKET, SocketCommand::Close { abort: true });
        assert_eq!(host.unsent(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sixteen_mebibytes_cross_both_ways_intact() {
        const LENGTH: usize = 16 << 20;
        let mut host = SocketHost::new(LOOPBACK);
        let peer = connected_pair(&mut host, SOCKET).await;
        let up = pattern(LENGTH, 1);
        let down = pattern(LENGTH, 2);
        let (mut peer_reader, mut peer_writer) = peer.into_split();
        let peer_down = down.clone();
        let writer = tokio::spawn(async move {
            peer_writer.write_all(&peer_down).await.expect("write");
            peer_writer
        });
        let reader = tokio::spawn(async move {
            let mut received = vec![0u8; LENGTH];
            peer_reader.read_exact(&mut received).await.expect("read");
            received
        });
        for chunk in up.chunks(READ_SIZE) {
            host.command(SOCKET, SocketCommand::Send(chunk.to_vec()));
        }
        let mut received = Vec::with_capacity(LENGTH);
        let mut sent = 0;
        while received.len() < LENGTH || sent < LENGTH {
            match next_event(&mut host, SOCKET).await {
                SocketEvent::Data(bytes) => received.extend_from_slice(&bytes),
                SocketEvent::Sent(length) => sent += length,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(sent, LENGTH);
        assert!(received == down, "the bytes from the peer differ");
        let arrived = timeout(GUARD, reader)
            .await
            .expect("guard")
            .expect("reader");
        assert!(arrived == up, "the bytes to the peer differ");
        let _ = writer.await;
    }

    #[tokio::test]
    async fn udp_carries_one_datagram_each_way_and_ignores_refusals() {
        let mut host = SocketHost::new(LOOPBACK);
        let peer = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let peer_address = peer.local_addr().expect("address");
        host.command(
            SOCKET,
            connect(Transport::Udp, "127.0.0.1", peer_address.port()),
        );
        let local = match next_event(&mut host, SOCKET).await {
            SocketEvent::Connected { local, peer } => {
                assert_eq!(peer, peer_address);
                assert_eq!(local.ip(), LOOPBACK);
                local
            }
            other => panic!("expected Connected, got {other:?}"),
        };
        host.command(SOCKET, SocketCommand::Send(b"ping".to_vec()));
        assert_eq!(next_event(&mut host, SOCKET).await, SocketEvent::Sent(4));
        let mut buf = [0u8; 64];
        let (length, from) = timeout(GUARD, peer.recv_from(&mut buf))
            .await
            .expect("guard")
            .expect("recv");
        assert_eq!((&buf[..length], from), (&b"ping"[..], local));
        peer.send_to(b"pong", local).await.expect("send");
        peer.send_to(b"", local).await.expect("send");
        assert_eq!(
            next_event(&mut host, SOCKET).await,
            SocketEvent::Data(b"pong".to_vec())
        );
        assert_eq!(
            next_event(&mut host, SOCKET).await,
            SocketEvent::Data(Vec::new())
        );

        // Nobody at the other end: datagrams are lost, the socket lives on.
        drop(peer);
        for _ in 0..3 {
            host.command(SOCKET, SocketCommand::Send(b"anyone?".to_vec()));
            assert_eq!(next_event(&mut host, SOCKET).await, SocketEvent::Sent(7));
        }
        host.command(SOCKET, SocketCommand::Close { abort: false });
        host.settle().await;
    }

    /// How many of this process's descriptors are TCP sockets connected to `port` on loopback.
    fn open_sockets_to(port: u16) -> usize {
        let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
        let inodes: HashSet<String> = table
            .lines()
            .skip(1)
            .filter_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                let remote_port = fields.get(2)?.rsplit(':').next()?;
                let inode = *fields.get(9)?;
                (u16::from_str_radix(remote_port, 16).ok()? == port && inode != "0")
                    .then(|| inode.to_string())
            })
            .collect();
        std::fs::read_dir("/proc/self/fd")
            .expect("/proc/self/fd")
            .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
            .filter(|target| {
                target
                    .to_str()
                    .and_then(|t| t.strip_prefix("socket:[")?.strip_suffix(']'))
                    .is_some_and(|inode| inodes.contains(inode))
            })
            .count()
    }

    // Counts only the sockets these cycles open: other tests of this binary run in parallel
    // and open descriptors of their own.
    #[tokio::test]
    async fn a_thousand_connect_close_cycles_leave_no_descriptor_behind() {
        let mut host = SocketHost::new(LOOPBACK);
        let (listener, port) = listener().await;
        assert_eq!(open_sockets_to(port), 0);
        for cycle in 0..1000u32 {
            let id = SocketId(cycle);
            host.command(id, connect(Transport::Tcp, "127.0.0.1", port));
            let (peer, _) = accept(&listener).await;
            assert!(matches!(
                next_event(&mut host, id).await,
                SocketEvent::Connected { .. }
            ));
            if cycle == 0 {
                assert_eq!(open_sockets_to(port), 1, "the count sees an open socket");
            }
            host.command(
                id,
                SocketCommand::Close {
                    abort: cycle % 2 == 1,
                },
            );
            drop(peer);
            host.settle().await;
        }
        assert_eq!(open_sockets_to(port), 0);
        assert!(host.sockets.is_empty());
    }

    #[tokio::test]
    async fn shutdown_closes_every_socket_and_listener() {
        let mut host = SocketHost::new(LOOPBACK);
        let mut peer = connected_pair(&mut host, SOCKET).await;
        let local = listening(&mut host).await;
        host.command(
            SocketId(30),
            connect(Transport::Tcp, "no-such-host.invalid", 1),
        );
        timeout(GUARD, host.shutdown()).await.expect("guard");
        let mut buf = [0u8; 8];
        let read = timeout(GUARD, peer.read(&mut buf)).await.expect("guard");
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
        assert!(TcpStream::connect(local).await.is_err());
    }
}
