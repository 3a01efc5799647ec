//! The SIMCom TCP/IP application stack's state (bearer, links 0-7, server, receive buffers) and
//! what socket events do to it: `CONNECT OK`, `CLOSED`, `+IPD`, `+RECEIVE`, `+CIPRXGET: 1`, `SEND OK`.

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddr};

use serde::{Deserialize, Serialize};

use super::data_mode::DataLink;
use super::sockets::{Resolution, SocketCommand, SocketEvent, SocketFailure, SocketId, Transport};
use super::{Modem, Output, TimerKind};
use crate::dte::ResultCode;

/// Connection numbers 0..7 (`C: 0` … `C: 7`).
pub(crate) const LINKS: usize = 8;

/// The bearer part of the `+CIPSTATUS` state machine (spec §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bearer {
    Initial,
    Start,
    /// `+CIICR` is bringing the context up.
    Config,
    GprsAct,
    /// The local address was read (`+CIFSR`); connections may be opened.
    Status,
    /// The network took the context away; only `+CIPSHUT` helps.
    PdpDeact,
}

impl Bearer {
    /// A context is up (connections and DNS may be used).
    pub(crate) fn is_active(self) -> bool {
        matches!(self, Bearer::GprsAct | Bearer::Status)
    }
}

/// One connection's state as `+CIPSTATUS` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LinkState {
    Connecting,
    Connected,
    /// Closed by the peer, our side, or a failure; the slot may be reused.
    Closed,
}

/// A `+CIPSEND` waiting for its bytes to leave (`SEND OK`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SendWait {
    /// Bytes of this send not yet reported sent.
    pub remaining: usize,
}

/// One connection (client or accepted by the server).
#[derive(Debug, Clone)]
pub(crate) struct Link {
    pub socket: SocketId,
    pub transport: Transport,
    /// The host as the client gave it (or the peer's address for an accepted client).
    pub host: String,
    pub port: u16,
    pub peer: Option<SocketAddr>,
    pub state: LinkState,
    /// Accepted by `+CIPSERVER` (announced with `REMOTE IP:`).
    pub accepted: bool,
    /// Bytes received but not yet given to the client (manual receive, online command state,
    /// paced transparent output).
    pub rx: VecDeque<u8>,
    /// The socket was asked to stop reading because `rx` is full.
    pub paused: bool,
    /// Cumulative bytes handed to the socket and reported sent (`+CIPACK`).
    pub tx_total: u64,
    pub tx_sent: u64,
    pub send_waits: VecDeque<SendWait>,
}

impl Link {
    fn new(socket: SocketId, transport: Transport, host: String, port: u16) -> Link {
        Link {
            socket,
            transport,
            host,
            port,
            peer: None,
            state: LinkState::Connecting,
            accepted: false,
            rx: VecDeque::new(),
            paused: false,
            tx_total: 0,
            tx_sent: 0,
            send_waits: VecDeque::new(),
        }
    }

    /// The remote address as `+CIPSTATUS` prints it.
    pub(crate) fn remote_ip(&self) -> String {
        match self.peer {
            Some(peer) => peer.ip().to_string(),
            None => self.host.clone(),
        }
    }

    pub(crate) fn is_open(&self) -> bool {
        self.state != LinkState::Closed
    }
}

/// `+CIPSERVER`.
#[derive(Debug, Clone)]
pub(crate) struct Server {
    pub socket: SocketId,
    pub port: u16,
    pub listening: bool,
}

/// `+CIPCCFG`: retries, packing of transparent data, escape, paced output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ccfg {
    pub nm_retry: u32,
    /// Idle time (× the profile's unit) before a partial packet is sent.
    pub wait_tm: u32,
    pub send_sz: u32,
    /// `+++` allowed in transparent mode.
    pub esc: u32,
    pub rx_mode: u32,
    pub rx_size: u32,
    pub rx_timer_ms: u32,
}

impl Default for Ccfg {
    fn default() -> Self {
        Ccfg {
            nm_retry: 5,
            wait_tm: 2,
            send_sz: 1024,
            esc: 1,
            rx_mode: 0,
            rx_size: 1460,
            rx_timer_ms: 50,
        }
    }
}

/// The TCP/IP settings `+CIPSCONT` saves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct IpSettings {
    pub apn: String,
    pub user: String,
    pub password: String,
    pub mux: bool,
    /// `+CIPMODE=1`.
    pub transparent: bool,
    pub qsend: u32,
    pub head: u32,
    pub showtp: u32,
    pub srip: u32,
    pub sprt: u32,
    /// `+CIPATS`: auto-send mode and seconds.
    pub ats: (u32, u32),
    /// `+CIPRXGET=1`: data waits for `+CIPRXGET=2/3`.
    pub manual_rx: bool,
    pub ccfg: Ccfg,
    pub dpdp: (u32, u32, u32),
    pub dns: (String, String),
}

impl Default for IpSettings {
    fn default() -> Self {
        IpSettings {
            apn: "CMNET".into(),
            user: String::new(),
            password: String::new(),
            mux: false,
            transparent: false,
            qsend: 0,
            head: 0,
            showtp: 0,
            srip: 0,
            sprt: 1,
            ats: (0, 1),
            manual_rx: false,
            ccfg: Ccfg::default(),
            dpdp: (0, 10, 3),
            dns: ("211.136.20.203".into(), "0.0.0.0".into()),
        }
    }
}

/// A 27.007 PDP context (`+CGDCONT`) and whether `+CGACT` activated it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PdpContext {
    pub cid: u32,
    pub pdp_type: String,
    pub apn: String,
    pub active: bool,
}

/// A `+SAPBR` bearer profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SapbrProfile {
    /// Tag (upper case) → value.
    pub params: Vec<(String, String)>,
    pub open: bool,
}

/// What a DNS query is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DnsPurpose {
    /// `+CDNSGIP="name"`.
    Cdnsgip(String),
}

/// Everything the TCP/IP stack holds.
#[derive(Debug, Clone)]
pub(crate) struct IpStack {
    pub settings: IpSettings,
    pub bearer: Bearer,
    pub links: [Option<Link>; LINKS],
    pub server: Option<Server>,
    pub contexts: Vec<PdpContext>,
    pub sapbr: [SapbrProfile; 3],
    pub dns_queries: Vec<(u32, DnsPurpose)>,
    next_socket: u32,
    next_query: u32,
    /// Transparent-mode bytes from the client not yet packed into a packet.
    pub tx_pending: Vec<u8>,
}

impl IpStack {
    pub(crate) fn new(settings: IpSettings) -> IpStack {
        IpStack {
            settings,
            bearer: Bearer::Initial,
            links: Default::default(),
            server: None,
            contexts: vec![PdpContext {
                cid: 1,
                pdp_type: "IP".into(),
                apn: String::new(),
                active: false,
            }],
            sapbr: Default::default(),
            dns_queries: Vec::new(),
            next_socket: 1,
            next_query: 1,
            tx_pending: Vec::new(),
        }
    }

    /// A fresh stack (as `new`) that goes on numbering sockets and DNS queries where this one
    /// stopped: the host may still hold events of the old numbers, which must reach nothing.
    pub(crate) fn restarted(&self, settings: IpSettings) -> IpStack {
        IpStack {
            next_socket: self.next_socket,
            next_query: self.next_query,
            ..IpStack::new(settings)
        }
    }

    pub(crate) fn new_socket(&mut self) -> SocketId {
        let id = SocketId(self.next_socket);
        self.next_socket = self.next_socket.wrapping_add(1).max(1);
        id
    }

    pub(crate) fn new_query(&mut self) -> u32 {
        let query = self.next_query;
        self.next_query = self.next_query.wrapping_add(1);
        query
    }

    pub(crate) fn link_of(&self, socket: SocketId) -> Option<usize> {
        self.links
            .iter()
            .position(|l| l.as_ref().is_some_and(|l| l.socket == socket))
    }

    /// Whether any connection or the server exists (multi mode `IP PROCESSING`).
    pub(crate) fn busy(&self) -> bool {
        self.server.is_some() || self.links.iter().flatten().any(Link::is_open)
    }

    /// The `STATE:` text of `+CIPSTATUS`.
    pub(crate) fn state_text(&self) -> String {
        match self.bearer {
            Bearer::Initial => "IP INITIAL".into(),
            Bearer::Start => "IP START".into(),
            Bearer::Config => "IP CONFIG".into(),
            Bearer::GprsAct => "IP GPRSACT".into(),
            Bearer::PdpDeact => "PDP DEACT".into(),
            Bearer::Status if self.settings.mux => {
                if self.busy() {
                    "IP PROCESSING".into()
                } else {
                    "IP STATUS".into()
                }
            }
            Bearer::Status => match &self.links[0] {
                Some(link) => {
                    let transport = link.transport.name();
                    match link.state {
                        LinkState::Connecting => format!("{transport} CONNECTING"),
                        LinkState::Connected => "CONNECT OK".into(),
                        LinkState::Closed => format!("{transport} CLOSED"),
                    }
                }
                None if self.server.is_some() => "SERVER LISTENING".into(),
                None => "IP STATUS".into(),
            },
        }
    }

    /// A `C:` / `+CIPSTATUS:` entry: `n,0,"TCP","ip","port","CONNECTED"`.
    pub(crate) fn link_status(&self, n: usize) -> String {
        match &self.links[n] {
            Some(link) => {
                let state = match link.state {
                    LinkState::Connecting => "CONNECTING",
                    LinkState::Connected => "CONNECTED",
                    LinkState::Closed => "CLOSED",
                };
                format!(
                    "{n},0,\"{}\",\"{}\",\"{}\",\"{state}\"",
                    link.transport.name(),
                    link.remote_ip(),
                    link.port
                )
            }
            None => format!("{n},,\"\",\"\",\"\",\"INITIAL\""),
        }
    }
}

/// The result-line prefix of connection `n` in multi mode (`0, `), nothing in single mode.
pub(crate) fn prefix(mux: bool, n: usize) -> String {
    if mux { format!("{n}, ") } else { String::new() }
}

impl Modem {
    /// The address `+CIFSR` prints.
    pub(crate) fn local_ip(&self) -> Ipv4Addr {
        self.config.pdp_address
    }

    pub(crate) fn socket_command(&mut self, socket: SocketId, command: SocketCommand) {
        self.push_output(Output::Socket(socket, command));
    }

    /// Opens link `n` to `host:port`; the outcome arrives as a socket event.
    pub(crate) fn open_link(&mut self, n: usize, transport: Transport, host: String, port: u16) {
        let socket = self.ip.new_socket();
        self.explain(format!(
            "connection {n}: opening {} to {host}:{port} (socket {})",
            transport.name(),
            socket.0
        ));
        self.ip.links[n] = Some(Link::new(socket, transport, host.clone(), port));
        self.socket_command(
            socket,
            SocketCommand::Connect {
                transport,
                host,
                port,
                local_port: None,
            },
        );
        self.schedule(
            self.profile.ip.connect_timeout_ms,
            TimerKind::ConnectTimeout(socket),
        );
    }

    /// Ends link `n` from this side: the socket is closed and the slot shows CLOSED.
    pub(crate) fn close_link(&mut self, n: usize, abort: bool, why: &str) {
        let Some(link) = self.ip.links[n].as_mut() else {
            return;
        };
        let socket = link.socket;
        let was_open = link.is_open();
        link.state = LinkState::Closed;
        link.send_waits.clear();
        self.cancel_timers(TimerKind::ConnectTimeout(socket));
        if was_open {
            self.explain(format!("connection {n} closed: {why}"));
            self.socket_command(socket, SocketCommand::Close { abort });
        }
        if self.data_link_is(DataLink::Socket(n)) {
            self.drop_data_link();
        }
    }

    /// Closes every connection and the server (`+CIPSHUT`, PDP loss, power).
    pub(crate) fn close_everything(&mut self, why: &str) {
        for n in 0..LINKS {
            self.close_link(n, true, why);
            self.ip.links[n] = None;
        }
        if let Some(server) = self.ip.server.take() {
            self.socket_command(server.socket, SocketCommand::Close { abort: true });
        }
        self.ip.tx_pending.clear();
        self.cancel_timers(TimerKind::TxIdle);
    }

    /// The network took the context away: `+PDP: DEACT`, every connection gone.
    pub(crate) fn pdp_deactivated(&mut self, why: &str) {
        if !matches!(
            self.ip.bearer,
            Bearer::Config | Bearer::GprsAct | Bearer::Status
        ) {
            return;
        }
        self.explain(format!("{why} → +PDP: DEACT, every connection closed"));
        let in_data = self.data_link.is_some();
        self.fail_pending_send(None);
        self.close_everything(why);
        self.cancel_timers(TimerKind::Ciicr);
        if self.awaiting == Some(super::data_mode::Awaiting::Ciicr) {
            self.finish_awaiting(Some(ResultCode::Error));
        }
        self.ip.bearer = Bearer::PdpDeact;
        if in_data {
            self.urc("CLOSED");
        }
        self.urc("+PDP: DEACT");
    }

    /// A pending `+CIPSEND` (on link `only`, or on any link) ends in `SEND FAIL`.
    fn fail_pending_send(&mut self, only: Option<usize>) {
        if let Some(super::data_mode::Awaiting::SendOk { link }) = self.awaiting
            && only.is_none_or(|n| n == link)
        {
            let prefix = prefix(self.ip.settings.mux, link);
            self.finish_awaiting(Some(ResultCode::Text(format!("{prefix}SEND FAIL"))));
        }
    }

    pub(crate) fn socket_event(&mut self, socket: SocketId, event: SocketEvent) {
        if let Some(conn) = self.telit.conn_of(socket) {
            self.telit_socket_event(conn, event);
        } else if let Some(n) = self.ip.link_of(socket) {
            self.link_event(n, event);
        } else if self.ip.server.as_ref().is_some_and(|s| s.socket == socket) {
            self.server_event(event);
        } else {
            // A socket already closed from this side: its late news changes nothing.
            if let SocketEvent::Incoming { .. } = event {
                self.socket_command(socket, SocketCommand::Reject);
            }
            self.explain(format!(
                "socket {} no longer in use: {} ignored",
                socket.0,
                event_name(&event)
            ));
        }
    }

    fn link_event(&mut self, n: usize, event: SocketEvent) {
        let mux = self.ip.settings.mux;
        let prefix = prefix(mux, n);
        let Some(link) = self.ip.links[n].as_mut() else {
            return;
        };
        if link.state == LinkState::Closed {
            self.explain(format!(
                "connection {n} already closed: {} ignored",
                event_name(&event)
            ));
            return;
        }
        match event {
            SocketEvent::Connected { local, peer } => {
                link.state = LinkState::Connected;
                link.peer = Some(peer);
                let accepted = link.accepted;
                let socket = link.socket;
                self.cancel_timers(TimerKind::ConnectTimeout(socket));
                self.explain(format!("connection {n}: {local} ↔ {peer} established"));
                if accepted {
                    self.urc(format!("{prefix}REMOTE IP: {}", peer.ip()));
                }
                if self.ip.settings.transparent && !mux {
                    // Everything queued goes out before `CONNECT`; after it the port is a pipe.
                    self.flush_urcs();
                    self.write_result(&ResultCode::Connect);
                    self.enter_data_mode(DataLink::Socket(n));
                } else if !accepted {
                    self.urc(format!("{prefix}CONNECT OK"));
                }
            }
            SocketEvent::Failed(failure) => {
                let socket = link.socket;
                self.cancel_timers(TimerKind::ConnectTimeout(socket));
                self.explain(format!("connection {n}: {} → CONNECT FAIL", failure));
                self.ip.links[n] = None;
                self.urc(format!("{prefix}CONNECT FAIL"));
            }
            SocketEvent::Data(bytes) => self.link_data(n, bytes),
            SocketEvent::Sent(count) => self.link_sent(n, count),
            SocketEvent::Closed | SocketEvent::Reset(_) => {
                let reset = matches!(event, SocketEvent::Reset(_));
                let socket = link.socket;
                link.state = LinkState::Closed;
                self.explain(format!(
                    "connection {n}: {} → {prefix}CLOSED",
                    match &event {
                        SocketEvent::Reset(reason) => format!("reset ({reason})"),
                        _ => "the peer closed it".into(),
                    }
                ));
                if !reset {
                    self.socket_command(socket, SocketCommand::Close { abort: false });
                }
                self.fail_pending_send(Some(n));
                if self.data_link_is(DataLink::Socket(n)) {
                    self.drop_data_link();
                }
                self.urc(format!("{prefix}CLOSED"));
            }
            SocketEvent::Listening { .. } | SocketEvent::Incoming { .. } => {
                self.explain(format!("connection {n}: unexpected {}", event_name(&event)));
            }
        }
    }

    fn server_event(&mut self, event: SocketEvent) {
        let Some(server) = self.ip.server.as_mut() else {
            return;
        };
        match event {
            SocketEvent::Listening { local } => {
                server.listening = true;
                self.explain(format!("server listening on {local}"));
                self.urc("SERVER OK");
            }
            SocketEvent::Failed(failure) => {
                self.explain(format!(
                    "server could not listen: {} → SERVER CLOSE",
                    failure
                ));
                self.ip.server = None;
                self.urc("SERVER CLOSE");
            }
            SocketEvent::Incoming { peer } => {
                let listener = server.socket;
                let port = server.port;
                let slots = if self.ip.settings.mux { LINKS } else { 1 };
                let free =
                    (0..slots).find(|&n| self.ip.links[n].as_ref().is_none_or(|l| !l.is_open()));
                match free {
                    Some(n) => {
                        let socket = self.ip.new_socket();
                        let mut link =
                            Link::new(socket, Transport::Tcp, peer.ip().to_string(), port);
                        link.accepted = true;
                        link.port = peer.port();
                        self.ip.links[n] = Some(link);
                        self.explain(format!("server: client {peer} accepted as connection {n}"));
                        self.socket_command(listener, SocketCommand::Accept { as_id: socket });
                    }
                    None => {
                        self.explain(format!(
                            "server: client {peer} refused, every connection number is in use"
                        ));
                        self.socket_command(listener, SocketCommand::Reject);
                    }
                }
            }
            other => self.explain(format!("server: unexpected {}", event_name(&other))),
        }
    }

    /// Bytes from the peer of link `n`, routed as the settings and the mode say.
    fn link_data(&mut self, n: usize, bytes: Vec<u8>) {
        let mux = self.ip.settings.mux;
        if self.data_link_is(DataLink::Socket(n)) {
            if self.in_data_mode() && self.ip.settings.ccfg.rx_mode == 0 {
                self.write_dte_owned(bytes);
            } else {
                self.buffer_rx(n, bytes);
                if self.in_data_mode() {
                    self.pace_rx();
                }
            }
            return;
        }
        if self.ip.settings.manual_rx {
            let was_empty = self.ip.links[n].as_ref().is_none_or(|l| l.rx.is_empty());
            self.buffer_rx(n, bytes);
            if was_empty {
                self.urc(if mux {
                    format!("+CIPRXGET: 1,{n}")
                } else {
                    "+CIPRXGET: 1".into()
                });
            }
            return;
        }
        let Some(link) = self.ip.links[n].as_ref() else {
            return;
        };
        let from = link
            .peer
            .map(|p| format!("{}:{}", p.ip(), p.port()))
            .unwrap_or_default();
        let transport = link.transport.name();
        let settings = &self.ip.settings;
        let mut framed = Vec::with_capacity(bytes.len() + 40);
        if mux {
            if settings.srip == 1 {
                framed.extend_from_slice(
                    format!("\r\n+RECEIVE,{n},{},{from}:\r\n", bytes.len()).as_bytes(),
                );
            } else {
                framed
                    .extend_from_slice(format!("\r\n+RECEIVE,{n},{}:\r\n", bytes.len()).as_bytes());
            }
        } else {
            if settings.srip == 1 {
                framed.extend_from_slice(format!("\r\nRECV FROM:{from}\r\n").as_bytes());
            }
            if settings.head == 1 {
                if settings.showtp == 1 {
                    framed.extend_from_slice(
                        format!("\r\n+IPD,{},{transport}:", bytes.len()).as_bytes(),
                    );
                } else {
                    framed.extend_from_slice(format!("\r\n+IPD,{}:", bytes.len()).as_bytes());
                }
            }
        }
        framed.extend_from_slice(&bytes);
        self.queue_raw(framed);
    }

    /// Keeps received bytes for later; stops the socket reading when the buffer is full.
    fn buffer_rx(&mut self, n: usize, bytes: Vec<u8>) {
        let limit = self.profile.ip.rx_buffer_bytes;
        let Some(link) = self.ip.links[n].as_mut() else {
            return;
        };
        link.rx.extend(bytes);
        if link.rx.len() >= limit && !link.paused {
            link.paused = true;
            let socket = link.socket;
            self.explain(format!(
                "connection {n}: {} bytes waiting (limit {limit}) → the socket stops reading",
                self.ip.links[n].as_ref().map_or(0, |l| l.rx.len())
            ));
            self.socket_command(socket, SocketCommand::Pause);
        }
    }

    /// Takes up to `max` received bytes of link `n`, letting the socket read again when room is made.
    pub(crate) fn take_rx(&mut self, n: usize, max: usize) -> Vec<u8> {
        let limit = self.profile.ip.rx_buffer_bytes;
        let Some(link) = self.ip.links[n].as_mut() else {
            return Vec::new();
        };
        let count = max.min(link.rx.len());
        let taken: Vec<u8> = link.rx.drain(..count).collect();
        if link.paused && link.rx.len() < limit / 2 {
            link.paused = false;
            let socket = link.socket;
            if link.is_open() {
                self.socket_command(socket, SocketCommand::Resume);
            }
        }
        taken
    }

    fn link_sent(&mut self, n: usize, mut count: usize) {
        let mux = self.ip.settings.mux;
        let Some(link) = self.ip.links[n].as_mut() else {
            return;
        };
        link.tx_sent = link.tx_sent.saturating_add(count as u64);
        let mut finished = 0;
        while count > 0 {
            let Some(wait) = link.send_waits.front_mut() else {
                break;
            };
            let used = count.min(wait.remaining);
            wait.remaining -= used;
            count -= used;
            if wait.remaining == 0 {
                link.send_waits.pop_front();
                finished += 1;
            }
        }
        for _ in 0..finished {
            if matches!(self.awaiting, Some(super::data_mode::Awaiting::SendOk { link }) if link == n)
            {
                let text = format!("{}SEND OK", prefix(mux, n));
                self.finish_awaiting(Some(ResultCode::Text(text)));
            }
        }
    }

    /// Sends `bytes` on link `n`, counting them for `+CIPACK`.
    pub(crate) fn link_send(&mut self, n: usize, bytes: Vec<u8>, wait_for_sent: bool) {
        let Some(link) = self.ip.links[n].as_mut() else {
            return;
        };
        link.tx_total = link.tx_total.saturating_add(bytes.len() as u64);
        if wait_for_sent {
            link.send_waits.push_back(SendWait {
                remaining: bytes.len(),
            });
        }
        let socket = link.socket;
        self.socket_command(socket, SocketCommand::Send(bytes));
    }

    /// A connection attempt took too long: `CONNECT FAIL`.
    pub(crate) fn connect_timed_out(&mut self, socket: SocketId) {
        if let Some(n) = self.ip.link_of(socket)
            && self.ip.links[n]
                .as_ref()
                .is_some_and(|l| l.state == LinkState::Connecting)
        {
            let prefix = prefix(self.ip.settings.mux, n);
            self.explain(format!(
                "connection {n}: no answer in {} ms → CONNECT FAIL",
                self.profile.ip.connect_timeout_ms
            ));
            self.socket_command(socket, SocketCommand::Close { abort: true });
            self.ip.links[n] = None;
            self.urc(format!("{prefix}CONNECT FAIL"));
        }
    }

    pub(crate) fn resolved(&mut self, query: u32, result: Resolution) {
        let Some(index) = self.ip.dns_queries.iter().position(|(q, _)| *q == query) else {
            self.telit_resolved(query, result);
            return;
        };
        let (_, purpose) = self.ip.dns_queries.remove(index);
        match purpose {
            DnsPurpose::Cdnsgip(name) => match result {
                Ok(addresses) if !addresses.is_empty() => {
                    let shown: Vec<String> = addresses
                        .iter()
                        .take(2)
                        .map(|a| format!("\"{a}\""))
                        .collect();
                    self.explain(format!("DNS: {name} resolved"));
                    self.urc(format!("+CDNSGIP: 1,\"{name}\",{}", shown.join(",")));
                }
                other => {
                    let code = match other {
                        Err(SocketFailure::Unreachable) => 3,
                        _ => 8,
                    };
                    self.explain(format!("DNS: {name} does not resolve → +CDNSGIP: 0,{code}"));
                    self.urc(format!("+CDNSGIP: 0,{code}"));
                }
            },
        }
    }
}

fn event_name(event: &SocketEvent) -> &'static str {
    match event {
        SocketEvent::Connected { .. } => "connected",
        SocketEvent::Failed(_) => "failure",
        SocketEvent::Listening { .. } => "listening",
        SocketEvent::Incoming { .. } => "incoming connection",
        SocketEvent::Data(_) => "data",
        SocketEvent::Sent(_) => "sent report",
        SocketEvent::Closed => "close",
        SocketEvent::Reset(_) => "reset",
    }
}
