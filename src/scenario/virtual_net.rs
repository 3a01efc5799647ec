//! The loopback network of the virtual clock: the modems' sockets and the scenario's peers meet
//! on 127.0.0.1, and every connect, byte and close is carried out at once, in a fixed order.

use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::report::escape_bytes;
use super::run::{Happening, What};
use crate::modem::{
    Input, Instant, Output, SocketCommand, SocketEvent, SocketFailure, SocketId, Transport,
};

/// The first port given to the connecting side of a connection.
pub const FIRST_EPHEMERAL_PORT: u16 = 40000;

/// What a modem end is told when the other end resets.
pub const RESET_BY_PEER: &str = "connection reset by peer";

/// The side of a connection that connected.
const CONNECTING: usize = 0;
/// The side that listened (and accepts).
const LISTENING: usize = 1;

/// Who holds a listener or one end of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Holder {
    Modem(usize, SocketId),
    Peer(String),
}

impl Holder {
    fn label(&self) -> String {
        match self {
            Holder::Modem(modem, id) => format!("modem {modem} socket {}", id.0),
            Holder::Peer(name) => format!("peer {name}"),
        }
    }
}

struct Listener {
    transport: Transport,
    port: u16,
    holder: Holder,
    /// Connections not accepted yet, oldest first.
    waiting: VecDeque<usize>,
}

/// How far a connection got, as its connecting side sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stage {
    /// Waiting for a modem listener's `Accept`.
    Connecting,
    Established,
    /// Rejected, or the listener closed before accepting: "was refused by …".
    Refused(String),
}

#[derive(Debug, Default)]
struct End {
    addr: Option<SocketAddr>,
    /// `None`: the listening side before an accept.
    holder: Option<Holder>,
    /// A peer's received bytes not consumed yet; a modem's bytes held while paused (or not
    /// accepted yet).
    inbox: Vec<u8>,
    /// The other end closed (FIN) / reset.
    fin_received: bool,
    reset_received: bool,
    /// A modem holder was told `Closed` / `Reset` already.
    fin_told: bool,
    reset_told: bool,
    /// This end sent its FIN (a peer still receives after).
    fin_sent: bool,
    /// A modem closed this socket, or a peer reset it: nothing more goes in or out.
    gone: bool,
    /// A modem end that stopped reading.
    paused: bool,
}

struct Connection {
    transport: Transport,
    /// The listening port it was made to.
    port: u16,
    stage: Stage,
    /// UDP: the first datagram went to a listener.
    announced: bool,
    ends: [End; 2],
}

impl Connection {
    fn addr(&self, side: usize) -> SocketAddr {
        self.ends[side]
            .addr
            .unwrap_or_else(|| loopback(if side == LISTENING { self.port } else { 0 }))
    }
}

/// What a modem's socket number stands for.
#[derive(Debug, Clone, Copy)]
enum ModemSocket {
    Listener,
    End(usize, usize),
}

/// The loopback network of one virtual world.
///
/// A modem's `Output::Socket`/`Output::Resolve` goes to [`VirtualNet::carry_out`], a peer step
/// to the `peer_*` methods; the inputs for modems that result wait in a queue the caller drains
/// ([`VirtualNet::take_inputs`]), so nothing recurses. Rules (the modem's host does the same with
/// real sockets, as far as a loopback can tell):
///
/// - Names: `localhost` and IPv4 literals resolve; anything else fails (`Dns`). Only 127.x.y.z
///   is reachable (else `Unreachable`); every 127 address is the one loopback.
/// - TCP: a connect to a port nobody listens on is `Refused`. To a peer's listener it completes
///   at once (as in the kernel) and waits on the listener for an `accept` step; to a modem's
///   listener the modem is told `Incoming`, and a peer's connect completes at once as well (the
///   host's kernel holds it in its backlog: what the peer sends waits for the `Accept`, a
///   `Reject` resets it, the listener closing closes it), while another modem's completes on
///   the `Accept` (a `Reject` refuses it). The connecting side gets port 40000, 40001, …
///   (listeners' ports skipped).
/// - UDP: a connect always succeeds; the first datagram to a listener puts the "connection"
///   on its queue (`Incoming` for a modem); datagrams to a port nobody listens on are dropped.
/// - Bytes reach the other end at once, and the sender is told `Sent(n)`; a paused modem end,
///   or an end not accepted yet, holds them. A FIN reaches the other end after the bytes; an
///   abort is a reset at once. Bytes for an end whose socket is closed reset the sender (TCP).
pub struct VirtualNet {
    listeners: Vec<Listener>,
    /// Every connection ever made, by number (never removed: a scenario makes few).
    connections: Vec<Connection>,
    modem_sockets: BTreeMap<(usize, SocketId), ModemSocket>,
    /// Peer connections by name: (connection, side).
    peer_ends: BTreeMap<String, (usize, usize)>,
    next_port: u16,
    inputs: Vec<(usize, Input)>,
    happenings: Vec<Happening>,
    now: Instant,
    /// Counts what a peer could notice: bytes, a close, a connection waiting or completing.
    peer_changes: u64,
}

impl Default for VirtualNet {
    fn default() -> Self {
        VirtualNet::new()
    }
}

/// 127.0.0.1:`port`.
pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
}

/// The address a host name stands for: `localhost` or an IPv4 literal.
pub fn resolve_name(name: &str) -> Result<Ipv4Addr, SocketFailure> {
    if name.eq_ignore_ascii_case("localhost") {
        return Ok(Ipv4Addr::LOCALHOST);
    }
    name.parse().map_err(|_| SocketFailure::Dns)
}

fn transport_name(transport: Transport) -> &'static str {
    match transport {
        Transport::Tcp => "tcp",
        Transport::Udp => "udp",
    }
}

impl VirtualNet {
    pub fn new() -> VirtualNet {
        VirtualNet {
            listeners: Vec::new(),
            connections: Vec::new(),
            modem_sockets: BTreeMap::new(),
            peer_ends: BTreeMap::new(),
            next_port: FIRST_EPHEMERAL_PORT,
            inputs: Vec::new(),
            happenings: Vec::new(),
            now: Instant(0),
            peer_changes: 0,
        }
    }

    /// Inputs for modems (`(modem, input)`) in the order they arose; the caller hands them to
    /// the modems, and whatever those answer comes back through `carry_out`.
    pub fn take_inputs(&mut self) -> Vec<(usize, Input)> {
        std::mem::take(&mut self.inputs)
    }

    /// Transcript lines about the network since the last call.
    pub fn take_happenings(&mut self) -> Vec<Happening> {
        std::mem::take(&mut self.happenings)
    }

    /// Grows whenever a peer could notice something (see `Driver::pass_time`).
    pub fn peer_changes(&self) -> u64 {
        self.peer_changes
    }

    /// Carries out a socket command or name lookup of `modem` at `now`; returns the inputs for
    /// modems that result, as `take_inputs` does. Other outputs are ignored.
    pub fn carry_out(&mut self, now: Instant, modem: usize, output: Output) -> Vec<(usize, Input)> {
        self.now = now;
        match output {
            Output::Resolve { query, name } => {
                let result = resolve_name(&name).map(|ip| vec![IpAddr::V4(ip)]);
                let answer = match &result {
                    Ok(ips) => format!("{}", ips[0]),
                    Err(failure) => format!("{failure:?}"),
                };
                self.note(modem, format!("modem {modem} resolves {name:?}: {answer}"));
                self.inputs.push((modem, Input::Resolved { query, result }));
            }
            Output::Socket(id, command) => self.socket_command(modem, id, command),
            Output::Dte(_)
            | Output::InstanceDte(..)
            | Output::SaveNvm(_)
            | Output::Event(_)
            | Output::SubmitSms(_) => {}
        }
        self.take_inputs()
    }

    fn socket_command(&mut self, modem: usize, id: SocketId, command: SocketCommand) {
        let holder = Holder::Modem(modem, id);
        match command {
            SocketCommand::Connect {
                transport,
                host,
                port,
                local_port,
            } => self.modem_connect(modem, id, transport, &host, port, local_port),
            SocketCommand::Listen { transport, port } => {
                let port = if port == 0 {
                    self.ephemeral_port()
                } else {
                    port
                };
                let what = format!(
                    "{} listens on {} port {port}",
                    holder.label(),
                    transport_name(transport)
                );
                if let Some(taken) = self.listener_at(transport, port) {
                    let by = self.listeners[taken].holder.label();
                    self.note(modem, format!("{what}: taken by {by}"));
                    self.tell(modem, id, SocketEvent::Failed(SocketFailure::AddressInUse));
                } else {
                    self.listeners.push(Listener {
                        transport,
                        port,
                        holder,
                        waiting: VecDeque::new(),
                    });
                    self.modem_sockets
                        .insert((modem, id), ModemSocket::Listener);
                    self.note(modem, what);
                    let local = loopback(port);
                    self.tell(modem, id, SocketEvent::Listening { local });
                }
            }
            SocketCommand::Accept { as_id } => self.modem_accept(modem, id, as_id),
            SocketCommand::Reject => {
                let Some(conn) = self.pop_waiting(&holder) else {
                    self.note(
                        modem,
                        format!("{} rejects, but nothing waits", holder.label()),
                    );
                    return;
                };
                let from = self.connections[conn].addr(CONNECTING);
                self.note(modem, format!("{} rejects {from}", holder.label()));
                self.refuse(
                    conn,
                    format!("was refused by {} (reset)", holder.label()),
                    true,
                );
            }
            SocketCommand::Send(bytes) => {
                let Some(ModemSocket::End(conn, side)) =
                    self.modem_sockets.get(&(modem, id)).copied()
                else {
                    self.note(
                        modem,
                        format!(
                            "{} sends on a socket that is not open: dropped",
                            holder.label()
                        ),
                    );
                    return;
                };
                let count = bytes.len();
                if self.transmit(conn, side, bytes) {
                    self.tell(modem, id, SocketEvent::Sent(count));
                }
            }
            SocketCommand::Pause | SocketCommand::Resume => {
                if let Some(ModemSocket::End(conn, side)) =
                    self.modem_sockets.get(&(modem, id)).copied()
                {
                    self.connections[conn].ends[side].paused = command == SocketCommand::Pause;
                    self.flush(conn, side);
                }
            }
            SocketCommand::Close { abort } => self.modem_close(modem, id, abort),
        }
    }

    fn modem_connect(
        &mut self,
        modem: usize,
        id: SocketId,
        transport: Transport,
        host: &str,
        port: u16,
        local_port: Option<u16>,
    ) {
        let holder = Holder::Modem(modem, id);
        let what = format!(
            "{} connects to {} {host}:{port}",
            holder.label(),
            transport_name(transport)
        );
        let failure = match resolve_name(host) {
            Err(failure) => Some(failure),
            Ok(ip) if !ip.is_loopback() => Some(SocketFailure::Unreachable),
            Ok(_) => None,
        };
        let listener = self.listener_at(transport, port);
        let failure = failure.or(match (transport, listener) {
            (Transport::Tcp, None) => Some(SocketFailure::Refused),
            _ => None,
        });
        let failure = failure.or(local_port
            .filter(|&p| self.port_in_use(transport, p))
            .map(|_| SocketFailure::AddressInUse));
        if let Some(failure) = failure {
            self.note(modem, format!("{what}: {failure:?}"));
            self.tell(modem, id, SocketEvent::Failed(failure));
            return;
        }
        let conn = self.open_connection(transport, port, holder, local_port);
        self.modem_sockets
            .insert((modem, id), ModemSocket::End(conn, CONNECTING));
        let local = self.connections[conn].addr(CONNECTING);
        self.note(modem, format!("{what} from {local}"));
        match (transport, listener) {
            (Transport::Tcp, Some(listener)) => self.knock(listener, conn),
            _ => {
                // UDP: nothing to wait for; the first datagram finds the listener.
                self.connections[conn].stage = Stage::Established;
                let peer = loopback(port);
                self.tell(modem, id, SocketEvent::Connected { local, peer });
            }
        }
    }

    fn modem_accept(&mut self, modem: usize, id: SocketId, as_id: SocketId) {
        let holder = Holder::Modem(modem, id);
        let Some(conn) = self.pop_waiting(&holder) else {
            self.note(
                modem,
                format!("{} accepts, but nothing waits", holder.label()),
            );
            let reason = "no connection is waiting".to_string();
            self.tell(
                modem,
                as_id,
                SocketEvent::Failed(SocketFailure::Other(reason)),
            );
            return;
        };
        let accepted = Holder::Modem(modem, as_id);
        let connection = &mut self.connections[conn];
        connection.ends[LISTENING].holder = Some(accepted.clone());
        let (local, peer) = (connection.addr(LISTENING), connection.addr(CONNECTING));
        self.modem_sockets
            .insert((modem, as_id), ModemSocket::End(conn, LISTENING));
        self.note(
            modem,
            format!("{} accepts {peer} as {}", holder.label(), accepted.label()),
        );
        self.tell(modem, as_id, SocketEvent::Connected { local, peer });
        if self.connections[conn].stage == Stage::Connecting {
            self.establish(conn);
        }
        self.flush(conn, LISTENING);
    }

    fn modem_close(&mut self, modem: usize, id: SocketId, abort: bool) {
        let holder = Holder::Modem(modem, id);
        let how = if abort { "resets" } else { "closes" };
        match self.modem_sockets.remove(&(modem, id)) {
            None => self.note(
                modem,
                format!("{} {how} a socket that is not open", holder.label()),
            ),
            Some(ModemSocket::Listener) => {
                self.note(modem, format!("{} stops listening", holder.label()));
                if let Some(index) = self.listeners.iter().position(|l| l.holder == holder) {
                    let listener = self.listeners.remove(index);
                    for conn in listener.waiting {
                        let reason = format!("was refused: {} stopped listening", holder.label());
                        self.refuse(conn, reason, false);
                    }
                }
            }
            Some(ModemSocket::End(conn, side)) => {
                self.note(modem, format!("{} {how}", holder.label()));
                self.close_end(conn, side, abort);
            }
        }
    }

    /// Peer listener `name` listens on 127.0.0.1:`port`.
    pub fn peer_listen(
        &mut self,
        now: Instant,
        name: &str,
        transport: Transport,
        port: u16,
    ) -> Result<(), String> {
        self.now = now;
        let holder = Holder::Peer(name.to_string());
        if self.listeners.iter().any(|l| l.holder == holder) {
            return Err(format!("{name} already listens"));
        }
        if let Some(taken) = self.listener_at(transport, port) {
            return Err(format!(
                "{} port {port} is taken by {}",
                transport_name(transport),
                self.listeners[taken].holder.label()
            ));
        }
        self.listeners.push(Listener {
            transport,
            port,
            holder,
            waiting: VecDeque::new(),
        });
        self.note(
            0,
            format!(
                "{name} listens on {} {}",
                transport_name(transport),
                loopback(port)
            ),
        );
        Ok(())
    }

    /// Takes the oldest connection waiting on listener `listener` as peer `name`; `Ok(false)`
    /// when none waits.
    pub fn peer_accept(
        &mut self,
        now: Instant,
        listener: &str,
        name: &str,
    ) -> Result<bool, String> {
        self.now = now;
        let holder = Holder::Peer(listener.to_string());
        if !self.listeners.iter().any(|l| l.holder == holder) {
            return Err(format!("no peer listens as {listener}"));
        }
        let Some(conn) = self.pop_waiting(&holder) else {
            return Ok(false);
        };
        self.connections[conn].ends[LISTENING].holder = Some(Holder::Peer(name.to_string()));
        self.peer_ends.insert(name.to_string(), (conn, LISTENING));
        let connection = &self.connections[conn];
        let from = connection.ends[CONNECTING]
            .holder
            .as_ref()
            .map(Holder::label)
            .unwrap_or_default();
        let modem = self.modem_of(conn);
        let text = format!(
            "{listener} accepts {} ({from}) as {name}",
            connection.addr(CONNECTING)
        );
        self.note(modem, text);
        // What came before the accept is received now.
        let end = &self.connections[conn].ends[LISTENING];
        let (held, fin, reset) = (end.inbox.clone(), end.fin_received, end.reset_received);
        if !held.is_empty() {
            self.happen(
                modem,
                What::PeerReceived {
                    peer: name.to_string(),
                    bytes: held,
                },
            );
        }
        if fin || reset {
            self.note(
                modem,
                format!(
                    "{name} sees the other end {}",
                    if reset { "reset" } else { "close (EOF)" }
                ),
            );
        }
        Ok(true)
    }

    /// Peer `name` connects from 127.0.0.1 to 127.0.0.1:`port`. Refused at once when nobody
    /// listens (TCP).
    pub fn peer_connect(
        &mut self,
        now: Instant,
        name: &str,
        transport: Transport,
        port: u16,
    ) -> Result<(), String> {
        self.peer_connect_from(now, name, transport, port, Ipv4Addr::LOCALHOST)
    }

    /// Peer `name` connects from loopback address `from` (every 127 address is the one
    /// loopback; the modem sees the caller's address, as a firewall does) to
    /// 127.0.0.1:`port`.
    pub fn peer_connect_from(
        &mut self,
        now: Instant,
        name: &str,
        transport: Transport,
        port: u16,
        from: Ipv4Addr,
    ) -> Result<(), String> {
        self.now = now;
        let listener = self.listener_at(transport, port);
        let target = format!("{} {}", transport_name(transport), loopback(port));
        if transport == Transport::Tcp && listener.is_none() {
            return Err(format!(
                "{name} cannot connect to {target}: connection refused"
            ));
        }
        let conn = self.open_connection(transport, port, Holder::Peer(name.to_string()), None);
        if let Some(local) = self.connections[conn].ends[CONNECTING].addr.as_mut() {
            local.set_ip(IpAddr::V4(from));
        }
        self.peer_ends.insert(name.to_string(), (conn, CONNECTING));
        let local = self.connections[conn].addr(CONNECTING);
        let modem = listener.and_then(|l| match self.listeners[l].holder {
            Holder::Modem(modem, _) => Some(modem),
            Holder::Peer(_) => None,
        });
        self.note(
            modem.unwrap_or(0),
            format!("{name} connects to {target} from {local}"),
        );
        match (transport, listener) {
            (Transport::Tcp, Some(listener)) => self.knock(listener, conn),
            _ => self.connections[conn].stage = Stage::Established,
        }
        Ok(())
    }

    /// Whether peer `name`'s connect completed; `Err` when it was refused.
    pub fn peer_connected(&self, name: &str) -> Result<bool, String> {
        let (conn, _) = self.peer_end(name)?;
        match &self.connections[conn].stage {
            Stage::Connecting => Ok(false),
            Stage::Established => Ok(true),
            Stage::Refused(reason) => Err(format!("{name}'s connection {reason}")),
        }
    }

    /// Peer `name` writes bytes to its connection.
    pub fn peer_send(&mut self, now: Instant, name: &str, bytes: &[u8]) -> Result<(), String> {
        self.now = now;
        let (conn, side) = self.peer_end(name)?;
        self.peer_connected(name)?;
        let connection = &self.connections[conn];
        let end = &connection.ends[side];
        if connection.stage == Stage::Connecting {
            return Err(format!("{name} is not connected yet"));
        }
        if end.gone {
            return Err(format!("{name} was reset"));
        }
        if end.fin_sent {
            return Err(format!("{name} closed its side already"));
        }
        if end.reset_received {
            return Err(format!("{name}'s connection was reset by the other end"));
        }
        let modem = self.modem_of(conn);
        self.happen(
            modem,
            What::PeerSent {
                peer: name.to_string(),
                bytes: bytes.to_vec(),
            },
        );
        self.transmit(conn, side, bytes.to_vec());
        Ok(())
    }

    /// Peer `name` closes its side (FIN) or, with `abort`, resets the connection.
    pub fn peer_close(&mut self, now: Instant, name: &str, abort: bool) -> Result<(), String> {
        self.now = now;
        let (conn, side) = self.peer_end(name)?;
        let end = &self.connections[conn].ends[side];
        if end.gone {
            return Err(format!("{name} was reset already"));
        }
        if end.fin_sent && !abort {
            return Err(format!("{name} closed its side already"));
        }
        let modem = self.modem_of(conn);
        let how = if abort {
            "resets (RST)"
        } else {
            "closes (FIN)"
        };
        self.note(modem, format!("{name} {how}"));
        self.close_end(conn, side, abort);
        Ok(())
    }

    /// What peer `name` received that no expectation consumed yet.
    pub fn peer_pending(&mut self, name: &str) -> Result<&mut Vec<u8>, String> {
        let (conn, side) = self.peer_end(name)?;
        Ok(&mut self.connections[conn].ends[side].inbox)
    }

    /// Whether peer `name` saw the other end close or reset.
    pub fn peer_closed(&self, name: &str) -> Result<bool, String> {
        let (conn, side) = self.peer_end(name)?;
        let end = &self.connections[conn].ends[side];
        Ok(end.fin_received || end.reset_received)
    }

    // ----- internals -----

    fn peer_end(&self, name: &str) -> Result<(usize, usize), String> {
        self.peer_ends.get(name).copied().ok_or_else(|| {
            format!("no peer connection is called {name}: connect or accept it first")
        })
    }

    fn listener_at(&self, transport: Transport, port: u16) -> Option<usize> {
        self.listeners
            .iter()
            .position(|l| l.transport == transport && l.port == port)
    }

    fn pop_waiting(&mut self, holder: &Holder) -> Option<usize> {
        self.listeners
            .iter_mut()
            .find(|l| &l.holder == holder)
            .and_then(|l| l.waiting.pop_front())
    }

    /// The next port for a connecting side, skipping ports someone listens on.
    fn ephemeral_port(&mut self) -> u16 {
        for _ in 0..=u16::MAX {
            let port = self.next_port;
            self.next_port = port.checked_add(1).unwrap_or(FIRST_EPHEMERAL_PORT);
            if !self.listeners.iter().any(|l| l.port == port) {
                return port;
            }
        }
        FIRST_EPHEMERAL_PORT
    }

    /// Whether `port` is taken for `transport`: a listener, or a connecting end still open.
    fn port_in_use(&self, transport: Transport, port: u16) -> bool {
        self.listener_at(transport, port).is_some()
            || self.connections.iter().any(|c| {
                let end = &c.ends[CONNECTING];
                c.transport == transport && !end.gone && end.addr.is_some_and(|a| a.port() == port)
            })
    }

    /// A new connection to `port`; its connecting side gets `local` or the next ephemeral port.
    fn open_connection(
        &mut self,
        transport: Transport,
        port: u16,
        holder: Holder,
        local: Option<u16>,
    ) -> usize {
        let local = loopback(local.unwrap_or_else(|| self.ephemeral_port()));
        self.connections.push(Connection {
            transport,
            port,
            stage: Stage::Connecting,
            announced: transport == Transport::Tcp,
            ends: [
                End {
                    addr: Some(local),
                    holder: Some(holder),
                    ..End::default()
                },
                End {
                    addr: Some(loopback(port)),
                    ..End::default()
                },
            ],
        });
        self.connections.len() - 1
    }

    /// Puts a connection on a listener's queue: a peer listener completes a TCP connect at once
    /// (as the kernel does), a modem listener is told `Incoming` (and a peer's connect completes
    /// at once there too).
    fn knock(&mut self, listener: usize, conn: usize) {
        self.listeners[listener].waiting.push_back(conn);
        let from = self.connections[conn].addr(CONNECTING);
        match self.listeners[listener].holder.clone() {
            Holder::Peer(name) => {
                self.peer_changes += 1;
                let modem = self.modem_of(conn);
                self.note(
                    modem,
                    format!("a connection from {from} waits for {name} to accept"),
                );
                if self.connections[conn].stage == Stage::Connecting {
                    self.establish(conn);
                }
            }
            Holder::Modem(modem, id) => {
                self.tell(modem, id, SocketEvent::Incoming { peer: from });
                // A peer's connect completes at once too: the host's kernel has the connection
                // in its backlog before the modem accepts it (what it sends waits meanwhile).
                let by_peer = matches!(
                    self.connections[conn].ends[CONNECTING].holder,
                    Some(Holder::Peer(_))
                );
                if by_peer && self.connections[conn].stage == Stage::Connecting {
                    self.establish(conn);
                }
            }
        }
    }

    /// The connecting side's connect completed.
    fn establish(&mut self, conn: usize) {
        let connection = &mut self.connections[conn];
        connection.stage = Stage::Established;
        let (local, peer) = (connection.addr(CONNECTING), connection.addr(LISTENING));
        // A UDP modem end was told at its connect; a modem that closed meanwhile hears nothing.
        let tell_modem =
            connection.transport == Transport::Tcp && !connection.ends[CONNECTING].gone;
        match connection.ends[CONNECTING].holder.clone() {
            Some(Holder::Modem(modem, id)) if tell_modem => {
                self.tell(modem, id, SocketEvent::Connected { local, peer });
            }
            Some(Holder::Peer(_)) => self.peer_changes += 1,
            Some(Holder::Modem(..)) | None => {}
        }
    }

    /// A waiting connection is rejected (`reset`) or its listener went away.
    fn refuse(&mut self, conn: usize, reason: String, reset: bool) {
        let connection = &mut self.connections[conn];
        connection.ends[LISTENING].gone = true;
        if connection.transport == Transport::Udp {
            return;
        }
        if connection.stage == Stage::Established {
            // A peer whose connect completed in the backlog: a reject resets it, a listener
            // that stops closes it (as the host drops what it held).
            let from = connection.addr(CONNECTING);
            let modem = self.modem_of(conn);
            let what = if reset { "is reset" } else { "is closed" };
            self.note(
                modem,
                format!("the connection from {from} {what}: it {reason}"),
            );
            if reset {
                self.reset(conn, CONNECTING);
            } else {
                self.close_end(conn, LISTENING, false);
            }
            return;
        }
        connection.stage = Stage::Refused(reason);
        match connection.ends[CONNECTING].holder.clone() {
            Some(Holder::Modem(modem, id)) => {
                self.modem_sockets.remove(&(modem, id));
                self.tell(modem, id, SocketEvent::Failed(SocketFailure::Refused));
            }
            Some(Holder::Peer(_)) => self.peer_changes += 1,
            None => {}
        }
    }

    /// Bytes from side `from` to the other end; false when they could not be sent (the
    /// connection is broken).
    fn transmit(&mut self, conn: usize, from: usize, bytes: Vec<u8>) -> bool {
        let to = 1 - from;
        let connection = &mut self.connections[conn];
        if connection.ends[from].reset_received || connection.ends[from].gone {
            return false;
        }
        let transport = connection.transport;
        if transport == Transport::Udp && to == LISTENING && !connection.announced {
            connection.announced = true;
            let port = connection.port;
            match self.listener_at(Transport::Udp, port) {
                Some(listener) => self.knock(listener, conn),
                None => {
                    let modem = self.modem_of(conn);
                    self.note(
                        modem,
                        format!("nobody listens on udp port {port}: datagram dropped"),
                    );
                    self.connections[conn].ends[LISTENING].gone = true;
                    return true;
                }
            }
        }
        let connection = &self.connections[conn];
        if connection.ends[to].gone {
            if transport == Transport::Tcp {
                // A closed socket answers data with a reset.
                self.reset(conn, from);
                return false;
            }
            return true;
        }
        if let (Some(Holder::Modem(a, x)), Some(Holder::Modem(b, y))) =
            (&connection.ends[from].holder, &connection.ends[to].holder)
        {
            let text = format!(
                "modem {a} socket {} ⇒ modem {b} socket {}: \"{}\"",
                x.0,
                y.0,
                escape_bytes(&bytes)
            );
            self.note(*a, text);
        }
        self.deliver(conn, to, bytes);
        true
    }

    fn deliver(&mut self, conn: usize, to: usize, bytes: Vec<u8>) {
        let modem = self.modem_of(conn);
        let end = &mut self.connections[conn].ends[to];
        match end.holder.clone() {
            None => end.inbox.extend_from_slice(&bytes),
            Some(Holder::Peer(peer)) => {
                end.inbox.extend_from_slice(&bytes);
                self.peer_changes += 1;
                self.happen(modem, What::PeerReceived { peer, bytes });
            }
            Some(Holder::Modem(_, _)) => {
                end.inbox.extend_from_slice(&bytes);
                self.flush(conn, to);
            }
        }
    }

    /// Gives a modem end what it holds, unless it is paused: bytes, then a FIN.
    fn flush(&mut self, conn: usize, side: usize) {
        let end = &mut self.connections[conn].ends[side];
        let Some(Holder::Modem(modem, id)) = end.holder.clone() else {
            return;
        };
        if end.paused || end.gone || end.reset_told {
            return;
        }
        let mut events = Vec::new();
        if !end.inbox.is_empty() {
            events.push(SocketEvent::Data(std::mem::take(&mut end.inbox)));
        }
        if end.reset_received {
            end.reset_told = true;
            events.push(SocketEvent::Reset(RESET_BY_PEER.into()));
        } else if end.fin_received && !end.fin_told {
            end.fin_told = true;
            events.push(SocketEvent::Closed);
        }
        for event in events {
            self.tell(modem, id, event);
        }
    }

    /// Side `side` closes (FIN) or aborts; TCP tells the other end.
    fn close_end(&mut self, conn: usize, side: usize, abort: bool) {
        let connection = &mut self.connections[conn];
        let end = &mut connection.ends[side];
        end.fin_sent = true;
        let is_modem = matches!(end.holder, Some(Holder::Modem(..)));
        if abort || is_modem {
            end.gone = true;
        }
        if connection.transport == Transport::Udp {
            return;
        }
        let other = 1 - side;
        if abort {
            self.reset(conn, other);
        } else {
            let modem = self.modem_of(conn);
            let end = &mut self.connections[conn].ends[other];
            if end.gone {
                return;
            }
            end.fin_received = true;
            match end.holder.clone() {
                Some(Holder::Peer(name)) => {
                    self.peer_changes += 1;
                    self.note(modem, format!("{name} sees the other end close (EOF)"));
                }
                Some(Holder::Modem(..)) => self.flush(conn, other),
                None => {}
            }
        }
    }

    /// Side `side` learns that its connection was reset; a modem end drops what it held.
    fn reset(&mut self, conn: usize, side: usize) {
        let modem = self.modem_of(conn);
        let end = &mut self.connections[conn].ends[side];
        if end.gone || end.reset_received {
            return;
        }
        end.reset_received = true;
        match end.holder.clone() {
            Some(Holder::Peer(name)) => {
                self.peer_changes += 1;
                self.note(modem, format!("{name} sees the connection reset"));
            }
            Some(Holder::Modem(..)) => {
                end.inbox.clear();
                end.paused = false;
                self.flush(conn, side);
            }
            None => {}
        }
    }

    /// The modem a connection's transcript lines belong to: the first modem holding an end.
    fn modem_of(&self, conn: usize) -> usize {
        self.connections[conn]
            .ends
            .iter()
            .find_map(|end| match end.holder {
                Some(Holder::Modem(modem, _)) => Some(modem),
                _ => None,
            })
            .unwrap_or(0)
    }

    fn tell(&mut self, modem: usize, id: SocketId, event: SocketEvent) {
        self.inputs.push((modem, Input::Socket(id, event)));
    }

    fn note(&mut self, modem: usize, text: String) {
        self.happen(modem, What::Net(text));
    }

    fn happen(&mut self, modem: usize, what: What) {
        self.happenings.push(Happening {
            at: self.now,
            modem,
            what,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Instant = Instant(0);

    fn socket(modem: usize, id: u32, command: SocketCommand) -> (usize, Output) {
        (modem, Output::Socket(SocketId(id), command))
    }

    fn run(net: &mut VirtualNet, (modem, output): (usize, Output)) -> Vec<(usize, Input)> {
        net.carry_out(T0, modem, output)
    }

    fn event(modem: usize, id: u32, event: SocketEvent) -> (usize, Input) {
        (modem, Input::Socket(SocketId(id), event))
    }

    fn tcp_connect(host: &str, port: u16) -> SocketCommand {
        SocketCommand::Connect {
            transport: Transport::Tcp,
            host: host.into(),
            port,
            local_port: None,
        }
    }

    fn listen(transport: Transport, port: u16) -> SocketCommand {
        SocketCommand::Listen { transport, port }
    }

    fn connected(local: u16, peer: u16) -> SocketEvent {
        SocketEvent::Connected {
            local: loopback(local),
            peer: loopback(peer),
        }
    }

    #[test]
    fn a_modem_connects_to_a_peer_listener_and_they_talk_both_ways() {
        let mut net = VirtualNet::new();
        net.peer_listen(T0, "srv", Transport::Tcp, 47001)
            .expect("listen");
        assert_eq!(net.peer_accept(T0, "srv", "srv"), Ok(false));
        assert_eq!(
            run(&mut net, socket(0, 1, tcp_connect("127.0.0.1", 47001))),
            [event(0, 1, connected(40000, 47001))]
        );
        assert_eq!(
            run(
                &mut net,
                socket(0, 1, SocketCommand::Send(b"early".to_vec()))
            ),
            [event(0, 1, SocketEvent::Sent(5))]
        );
        assert_eq!(net.peer_accept(T0, "srv", "srv"), Ok(true));
        assert_eq!(net.peer_pending("srv").expect("srv").as_slice(), b"early");
        net.peer_pending("srv").expect("srv").clear();
        assert_eq!(
            run(
                &mut net,
                socket(0, 1, SocketCommand::Send(b"AT\r".to_vec()))
            ),
            [event(0, 1, SocketEvent::Sent(3))]
        );
        assert_eq!(net.peer_pending("srv").expect("srv").as_slice(), b"AT\r");
        net.peer_send(T0, "srv", b"OK\r\n").expect("send");
        assert_eq!(
            net.take_inputs(),
            [event(0, 1, SocketEvent::Data(b"OK\r\n".to_vec()))]
        );
        net.peer_close(T0, "srv", false).expect("close");
        assert_eq!(net.take_inputs(), [event(0, 1, SocketEvent::Closed)]);
        assert_eq!(net.peer_closed("srv"), Ok(false));
        // Half-closed: the peer still receives, then sees the modem's FIN.
        assert_eq!(
            run(&mut net, socket(0, 1, SocketCommand::Send(b"bye".to_vec()))),
            [event(0, 1, SocketEvent::Sent(3))]
        );
        assert!(
            run(
                &mut net,
                socket(0, 1, SocketCommand::Close { abort: false })
            )
            .is_empty()
        );
        assert_eq!(net.peer_pending("srv").expect("srv").as_slice(), b"AT\rbye");
        assert_eq!(net.peer_closed("srv"), Ok(true));
    }

    #[test]
    fn the_transcript_shows_peer_bytes_and_network_events() {
        let mut net = VirtualNet::new();
        net.peer_listen(T0, "srv", Transport::Tcp, 47001)
            .expect("listen");
        run(&mut net, socket(0, 1, tcp_connect("localhost", 47001)));
        net.peer_accept(T0, "srv", "c").expect("accept");
        run(
            &mut net,
            socket(0, 1, SocketCommand::Send(b"hi\r\n".to_vec())),
        );
        net.peer_send(T0, "c", b"yo").expect("send");
        net.peer_close(T0, "c", true).expect("reset");
        let lines: Vec<What> = net.take_happenings().into_iter().map(|h| h.what).collect();
        let net_line = |text: &str| What::Net(text.to_string());
        assert_eq!(
            lines,
            [
                net_line("srv listens on tcp 127.0.0.1:47001"),
                net_line("modem 0 socket 1 connects to tcp localhost:47001 from 127.0.0.1:40000"),
                net_line("a connection from 127.0.0.1:40000 waits for srv to accept"),
                net_line("srv accepts 127.0.0.1:40000 (modem 0 socket 1) as c"),
                What::PeerReceived {
                    peer: "c".into(),
                    bytes: b"hi\r\n".to_vec()
                },
                What::PeerSent {
                    peer: "c".into(),
                    bytes: b"yo".to_vec()
                },
                net_line("c resets (RST)"),
            ]
        );
    }

    #[test]
    fn connects_fail_as_refused_unreachable_or_unresolved() {
        let mut net = VirtualNet::new();
        let failed = |f| [event(0, 1, SocketEvent::Failed(f))];
        assert_eq!(
            run(&mut net, socket(0, 1, tcp_connect("127.0.0.1", 47002))),
            failed(SocketFailure::Refused)
        );
        assert_eq!(
            run(&mut net, socket(0, 1, tcp_connect("10.1.2.3", 80))),
            failed(SocketFailure::Unreachable)
        );
        assert_eq!(
            run(&mut net, socket(0, 1, tcp_connect("example.com", 80))),
            failed(SocketFailure::Dns)
        );
        assert_eq!(
            net.peer_connect(T0, "cli", Transport::Tcp, 47002),
            Err("cli cannot connect to tcp 127.0.0.1:47002: connection refused".into())
        );
        assert_eq!(
            net.carry_out(
                T0,
                2,
                Output::Resolve {
                    query: 7,
                    name: "LocalHost".into()
                }
            ),
            [(
                2,
                Input::Resolved {
                    query: 7,
                    result: Ok(vec![IpAddr::V4(Ipv4Addr::LOCALHOST)])
                }
            )]
        );
        assert_eq!(
            net.carry_out(
                T0,
                0,
                Output::Resolve {
                    query: 8,
                    name: "simcom.example".into()
                }
            ),
            [(
                0,
                Input::Resolved {
                    query: 8,
                    result: Err(SocketFailure::Dns)
                }
            )]
        );
    }

    #[test]
    fn a_peer_connects_to_a_modem_listener_which_accepts_or_rejects() {
        let mut net = VirtualNet::new();
        assert_eq!(
            run(&mut net, socket(0, 0, listen(Transport::Tcp, 47002))),
            [event(
                0,
                0,
                SocketEvent::Listening {
                    local: loopback(47002)
                }
            )]
        );
        assert_eq!(
            run(&mut net, socket(1, 0, listen(Transport::Tcp, 47002))),
            [event(
                1,
                0,
                SocketEvent::Failed(SocketFailure::AddressInUse)
            )]
        );
        assert_eq!(
            net.peer_listen(T0, "srv", Transport::Tcp, 47002),
            Err("tcp port 47002 is taken by modem 0 socket 0".into())
        );
        let changes = net.peer_changes();
        net.peer_connect(T0, "cli", Transport::Tcp, 47002)
            .expect("connect");
        assert_eq!(
            net.take_inputs(),
            [event(
                0,
                0,
                SocketEvent::Incoming {
                    peer: loopback(40000)
                }
            )]
        );
        // As with the host's kernel: connected before the modem accepts; what the peer sends
        // waits for the accept.
        assert_eq!(net.peer_connected("cli"), Ok(true));
        assert!(net.peer_changes() > changes, "a connect step must wake");
        net.peer_send(T0, "cli", b"AT\r").expect("send");
        assert!(net.take_inputs().is_empty(), "not accepted yet");
        assert_eq!(
            run(
                &mut net,
                socket(0, 0, SocketCommand::Accept { as_id: SocketId(4) })
            ),
            [
                event(0, 4, connected(47002, 40000)),
                event(0, 4, SocketEvent::Data(b"AT\r".to_vec()))
            ]
        );
        net.peer_send(T0, "cli", b"+++").expect("send");
        assert_eq!(
            net.take_inputs(),
            [event(0, 4, SocketEvent::Data(b"+++".to_vec()))]
        );

        // A rejected peer was connected: it sees a reset.
        net.peer_connect(T0, "late", Transport::Tcp, 47002)
            .expect("connect");
        net.take_inputs();
        assert_eq!(net.peer_connected("late"), Ok(true));
        assert!(run(&mut net, socket(0, 0, SocketCommand::Reject)).is_empty());
        assert_eq!(net.peer_closed("late"), Ok(true));
        assert_eq!(
            net.peer_send(T0, "late", b"x"),
            Err("late's connection was reset by the other end".into())
        );

        // One still waiting when the listener closes sees the close (EOF).
        net.peer_connect(T0, "last", Transport::Tcp, 47002)
            .expect("connect");
        net.take_inputs();
        assert!(
            run(
                &mut net,
                socket(0, 0, SocketCommand::Close { abort: false })
            )
            .is_empty()
        );
        assert_eq!(net.peer_closed("last"), Ok(true));
    }

    #[test]
    fn a_peer_connecting_from_another_loopback_address_shows_it_to_the_modem() {
        let mut net = VirtualNet::new();
        run(&mut net, socket(0, 0, listen(Transport::Tcp, 47009)));
        let far = Ipv4Addr::new(127, 0, 0, 2);
        net.peer_connect_from(T0, "far", Transport::Tcp, 47009, far)
            .expect("connect");
        let from = SocketAddr::new(IpAddr::V4(far), 40000);
        assert_eq!(
            net.take_inputs(),
            [event(0, 0, SocketEvent::Incoming { peer: from })]
        );
        // Turned away by the modem (a firewall): the peer sees a reset.
        assert!(run(&mut net, socket(0, 0, SocketCommand::Reject)).is_empty());
        assert_eq!(net.peer_closed("far"), Ok(true));
        let lines: Vec<What> = net.take_happenings().into_iter().map(|h| h.what).collect();
        let connects = What::Net("far connects to tcp 127.0.0.1:47009 from 127.0.0.2:40000".into());
        assert!(lines.contains(&connects), "{lines:?}");
    }

    #[test]
    fn two_modems_connect_through_the_loopback_and_an_abort_resets_the_other() {
        let mut net = VirtualNet::new();
        run(&mut net, socket(1, 0, listen(Transport::Tcp, 47003)));
        // Modem 0 connects; modem 1 is told, and modem 0 waits for the accept.
        assert_eq!(
            run(&mut net, socket(0, 2, tcp_connect("127.0.0.1", 47003))),
            [event(
                1,
                0,
                SocketEvent::Incoming {
                    peer: loopback(40000)
                }
            )]
        );
        assert_eq!(
            run(
                &mut net,
                socket(1, 0, SocketCommand::Accept { as_id: SocketId(1) })
            ),
            [
                event(1, 1, connected(47003, 40000)),
                event(0, 2, connected(40000, 47003))
            ]
        );
        assert_eq!(
            run(
                &mut net,
                socket(0, 2, SocketCommand::Send(b"ping".to_vec()))
            ),
            [
                event(1, 1, SocketEvent::Data(b"ping".to_vec())),
                event(0, 2, SocketEvent::Sent(4))
            ]
        );
        assert_eq!(
            run(
                &mut net,
                socket(1, 1, SocketCommand::Send(b"pong".to_vec()))
            ),
            [
                event(0, 2, SocketEvent::Data(b"pong".to_vec())),
                event(1, 1, SocketEvent::Sent(4))
            ]
        );
        assert_eq!(
            run(&mut net, socket(1, 1, SocketCommand::Close { abort: true })),
            [event(0, 2, SocketEvent::Reset(RESET_BY_PEER.into()))]
        );
        // A send after the reset goes nowhere.
        assert!(run(&mut net, socket(0, 2, SocketCommand::Send(b"x".to_vec()))).is_empty());
        // A third connect while modem 1 rejects is refused.
        run(&mut net, socket(0, 3, tcp_connect("127.0.0.1", 47003)));
        assert_eq!(
            run(&mut net, socket(1, 0, SocketCommand::Reject)),
            [event(0, 3, SocketEvent::Failed(SocketFailure::Refused))]
        );
    }

    #[test]
    fn a_paused_modem_end_holds_bytes_and_the_fin_until_it_resumes() {
        let mut net = VirtualNet::new();
        net.peer_listen(T0, "srv", Transport::Tcp, 47004)
            .expect("listen");
        run(&mut net, socket(0, 1, tcp_connect("127.0.0.1", 47004)));
        net.peer_accept(T0, "srv", "srv").expect("accept");
        assert!(run(&mut net, socket(0, 1, SocketCommand::Pause)).is_empty());
        net.peer_send(T0, "srv", b"one ").expect("send");
        net.peer_send(T0, "srv", b"two").expect("send");
        net.peer_close(T0, "srv", false).expect("close");
        assert!(net.take_inputs().is_empty());
        assert_eq!(
            run(&mut net, socket(0, 1, SocketCommand::Resume)),
            [
                event(0, 1, SocketEvent::Data(b"one two".to_vec())),
                event(0, 1, SocketEvent::Closed)
            ]
        );
    }

    #[test]
    fn bytes_for_a_closed_modem_socket_reset_the_sending_peer() {
        let mut net = VirtualNet::new();
        run(&mut net, socket(0, 0, listen(Transport::Tcp, 47005)));
        net.peer_connect(T0, "cli", Transport::Tcp, 47005)
            .expect("connect");
        run(
            &mut net,
            socket(0, 0, SocketCommand::Accept { as_id: SocketId(1) }),
        );
        run(
            &mut net,
            socket(0, 1, SocketCommand::Close { abort: false }),
        );
        assert_eq!(net.peer_closed("cli"), Ok(true));
        net.peer_send(T0, "cli", b"late").expect("send");
        assert!(net.take_inputs().is_empty());
        assert_eq!(
            net.peer_send(T0, "cli", b"again"),
            Err("cli's connection was reset by the other end".into())
        );
        // Stopping the listener closes the connection of whoever still waits on it.
        net.peer_connect(T0, "slow", Transport::Tcp, 47005)
            .expect("connect");
        run(
            &mut net,
            socket(0, 0, SocketCommand::Close { abort: false }),
        );
        assert_eq!(net.peer_connected("slow"), Ok(true));
        assert_eq!(net.peer_closed("slow"), Ok(true));
    }

    #[test]
    fn udp_datagrams_reach_a_listener_on_the_first_send_and_are_dropped_without_one() {
        let mut net = VirtualNet::new();
        let udp = |port| SocketCommand::Connect {
            transport: Transport::Udp,
            host: "127.0.0.1".into(),
            port,
            local_port: None,
        };
        assert_eq!(
            run(&mut net, socket(0, 1, udp(47006))),
            [event(0, 1, connected(40000, 47006))]
        );
        assert_eq!(
            run(
                &mut net,
                socket(0, 1, SocketCommand::Send(b"lost".to_vec()))
            ),
            [event(0, 1, SocketEvent::Sent(4))]
        );
        net.peer_listen(T0, "dns", Transport::Udp, 47007)
            .expect("listen");
        run(&mut net, socket(0, 2, udp(47007)));
        assert_eq!(net.peer_accept(T0, "dns", "dns"), Ok(false));
        run(&mut net, socket(0, 2, SocketCommand::Send(b"q1".to_vec())));
        run(&mut net, socket(0, 2, SocketCommand::Send(b"q2".to_vec())));
        assert_eq!(net.peer_accept(T0, "dns", "dns"), Ok(true));
        assert_eq!(net.peer_pending("dns").expect("dns").as_slice(), b"q1q2");
        net.peer_send(T0, "dns", b"a1").expect("send");
        assert_eq!(
            net.take_inputs(),
            [event(0, 2, SocketEvent::Data(b"a1".to_vec()))]
        );
        // UDP has no FIN.
        net.peer_close(T0, "dns", false).expect("close");
        assert!(net.take_inputs().is_empty());

        // A peer sending to a modem's UDP listener: Incoming on the first datagram.
        run(&mut net, socket(1, 0, listen(Transport::Udp, 47008)));
        net.peer_connect(T0, "cli", Transport::Udp, 47008)
            .expect("connect");
        assert_eq!(net.peer_connected("cli"), Ok(true));
        assert!(net.take_inputs().is_empty());
        net.peer_send(T0, "cli", b"hello").expect("send");
        assert_eq!(
            net.take_inputs(),
            [event(
                1,
                0,
                SocketEvent::Incoming {
                    peer: loopback(40002)
                }
            )]
        );
        assert_eq!(
            run(
                &mut net,
                socket(1, 0, SocketCommand::Accept { as_id: SocketId(3) })
            ),
            [
                event(1, 3, connected(47008, 40002)),
                event(1, 3, SocketEvent::Data(b"hello".to_vec()))
            ]
        );
    }

    #[test]
    fn a_modem_connect_binds_the_local_port_it_asks_for_unless_taken() {
        let mut net = VirtualNet::new();
        let udp = |port, local_port| SocketCommand::Connect {
            transport: Transport::Udp,
            host: "127.0.0.1".into(),
            port,
            local_port,
        };
        assert_eq!(
            run(&mut net, socket(0, 1, udp(47010, Some(5000)))),
            [event(0, 1, connected(5000, 47010))]
        );
        assert_eq!(
            run(&mut net, socket(0, 2, udp(47011, Some(5000)))),
            [event(
                0,
                2,
                SocketEvent::Failed(SocketFailure::AddressInUse)
            )]
        );
        run(
            &mut net,
            socket(0, 1, SocketCommand::Close { abort: false }),
        );
        assert_eq!(
            run(&mut net, socket(0, 3, udp(47011, Some(5000)))),
            [event(0, 3, connected(5000, 47011))]
        );
    }

    #[test]
    fn ephemeral_ports_count_up_from_40000_and_skip_listening_ports() {
        let mut net = VirtualNet::new();
        net.peer_listen(T0, "a", Transport::Tcp, 40001)
            .expect("listen");
        net.peer_connect(T0, "c1", Transport::Tcp, 40001)
            .expect("connect");
        net.peer_connect(T0, "c2", Transport::Tcp, 40001)
            .expect("connect");
        assert_eq!(net.peer_accept(T0, "a", "s1"), Ok(true));
        assert_eq!(net.peer_accept(T0, "a", "s2"), Ok(true));
        net.peer_send(T0, "c2", b"from 40002").expect("send");
        assert_eq!(
            net.peer_pending("s2").expect("s2").as_slice(),
            b"from 40002"
        );
        let accepted: Vec<String> = net
            .take_happenings()
            .into_iter()
            .filter_map(|h| match h.what {
                What::Net(text) if text.starts_with("a accepts") => Some(text),
                _ => None,
            })
            .collect();
        assert_eq!(
            accepted,
            [
                "a accepts 127.0.0.1:40000 (peer c1) as s1",
                "a accepts 127.0.0.1:40002 (peer c2) as s2"
            ]
        );
    }

    #[test]
    fn peer_steps_on_unknown_names_say_what_to_do() {
        let mut net = VirtualNet::new();
        assert_eq!(
            net.peer_send(T0, "srv", b"x"),
            Err("no peer connection is called srv: connect or accept it first".into())
        );
        assert_eq!(
            net.peer_accept(T0, "srv", "srv"),
            Err("no peer listens as srv".into())
        );
        net.peer_listen(T0, "srv", Transport::Tcp, 47009)
            .expect("listen");
        assert_eq!(
            net.peer_listen(T0, "srv", Transport::Tcp, 47010),
            Err("srv already listens".into())
        );
    }
}
