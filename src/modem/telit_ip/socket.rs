//! The six IP Easy sockets at work: dial, listen, accept, send, receive, online mode with
//! packetisation and `+++`, suspend and resume, `SRING`, closure.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::super::data_mode::{Awaiting, DataLink, PortMode, PromptEnd, take_whole_packets};
use super::super::sockets::{SocketCommand, SocketEvent, SocketFailure, SocketId, Transport};
use super::super::{Modem, TimerKind};
use super::{Activation, CONN_IDS, Origin, SocketState, TelitSocket};
use crate::commands::CmdError;
use crate::dte::ResultCode;
use crate::sms::hex;

/// What opening a socket (`#SD`, `#SKTD`, `#SKTOP`) asks for.
#[derive(Debug, Clone)]
pub(crate) struct Dial {
    pub transport: Transport,
    pub host: String,
    pub port: u16,
    /// UDP `<lPort>`.
    pub local_port: Option<u16>,
    pub closure: u32,
    /// `<connMode>` 0: `CONNECT` and online; 1: `OK`, command mode.
    pub online: bool,
    pub origin: Origin,
}

/// What listening (`#SL`, `#SLUDP`, `#SKTL`) asks for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Listen {
    pub transport: Transport,
    pub port: u16,
    pub closure: u32,
    pub origin: Origin,
}

/// How a command waiting for a socket ends.
#[derive(Debug, Clone)]
enum Answer {
    /// `CONNECT`, and the instance goes online on the socket.
    Online,
    Ok,
    NoCarrier,
    Error(CmdError),
}

/// `<connId>` 1..=6 as an index into `TelitIp::sockets`.
fn index(conn: usize) -> Option<usize> {
    conn.checked_sub(1).filter(|&i| i < CONN_IDS)
}

/// Bytes as a line of text: each byte one character (the framing writes them back as bytes).
pub(crate) fn as_text(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// The IPv4 address `#FRWL` and `+CONN FROM:` see for a peer.
fn peer_ipv4(peer: SocketAddr) -> Option<Ipv4Addr> {
    match peer.ip() {
        IpAddr::V4(ip) => Some(ip),
        IpAddr::V6(ip) => ip.to_ipv4_mapped(),
    }
}

impl Modem {
    fn telit_socket(&self, conn: usize) -> Option<&TelitSocket> {
        self.telit.sockets.get(index(conn)?)
    }

    fn telit_socket_mut(&mut self, conn: usize) -> Option<&mut TelitSocket> {
        self.telit.sockets.get_mut(index(conn)?)
    }

    // ----- opening -----

    /// Starts connecting socket `conn` (state checked by the caller); the command's result
    /// waits for the outcome (`Awaiting::TelitOpen`).
    pub(crate) fn telit_dial(&mut self, conn: usize, cid: u32, local_ip: Ipv4Addr, dial: Dial) {
        let Some(i) = index(conn) else { return };
        let id = self.ip.new_socket();
        let conn_to_ms = u64::from(self.telit.config(conn).conn_to) * 100;
        self.explain(format!(
            "socket {conn}: opening {} to {}:{} on context {cid} (socket {}), {} when connected, \
             connTo {conn_to_ms} ms",
            dial.transport.name(),
            dial.host,
            dial.port,
            id.0,
            if dial.online {
                "online"
            } else {
                "command mode"
            }
        ));
        let last_sktd = self.telit.sockets[i].last_sktd.take();
        self.telit.sockets[i] = TelitSocket {
            state: SocketState::Connecting,
            last_sktd,
            owner: self.instance(),
            socket: Some(id),
            transport: Some(dial.transport),
            cid,
            local_ip: Some(local_ip),
            closure: dial.closure,
            online_when_connected: dial.online,
            awaited: true,
            origin: dial.origin,
            last_activity: self.now,
            ..TelitSocket::default()
        };
        let local_port = match dial.transport {
            Transport::Udp => dial.local_port,
            Transport::Tcp => None,
        };
        self.socket_command(
            id,
            SocketCommand::Connect {
                transport: dial.transport,
                host: dial.host,
                port: dial.port,
                local_port,
            },
        );
        self.schedule(conn_to_ms, TimerKind::TelitConnectTimeout(id));
        self.awaiting = Some(Awaiting::TelitOpen { conn });
    }

    /// Starts listening on socket `conn` (checks done by the caller); the command's `OK`
    /// waits for the host's answer (`Awaiting::TelitListen`).
    pub(crate) fn telit_listen(
        &mut self,
        conn: usize,
        cid: u32,
        local_ip: Ipv4Addr,
        listen: Listen,
    ) {
        let Some(i) = index(conn) else { return };
        let id = self.ip.new_socket();
        self.explain(format!(
            "socket {conn}: listening on {} port {} (socket {})",
            listen.transport.name(),
            listen.port,
            id.0
        ));
        let last_sktd = self.telit.sockets[i].last_sktd.take();
        self.telit.sockets[i] = TelitSocket {
            state: SocketState::Listening,
            last_sktd,
            owner: self.instance(),
            socket: Some(id),
            transport: Some(listen.transport),
            cid,
            local_ip: Some(local_ip),
            closure: listen.closure,
            awaited: true,
            origin: listen.origin,
            listen_port: Some(listen.port),
            last_activity: self.now,
            ..TelitSocket::default()
        };
        self.socket_command(
            id,
            SocketCommand::Listen {
                transport: listen.transport,
                port: listen.port,
            },
        );
        self.awaiting = Some(Awaiting::TelitListen { conn });
    }

    /// Takes the connection waiting on listening socket `conn` as the socket itself: the
    /// listener ends (a connId is one socket; `#SL` again to listen anew).
    pub(crate) fn telit_accept(&mut self, conn: usize, online: bool, awaited: bool) {
        let id = self.ip.new_socket();
        let instance = self.instance();
        let now = self.now;
        let Some(s) = self.telit_socket_mut(conn) else {
            return;
        };
        let Some(listener) = s.socket else { return };
        s.state = SocketState::Connecting;
        s.socket = Some(id);
        s.online_when_connected = online;
        s.awaited = awaited;
        s.sent = 0;
        s.received = 0;
        s.acked = 0;
        s.last_activity = now;
        if awaited {
            s.owner = instance;
        }
        self.explain(format!(
            "socket {conn}: accepting the waiting connection as socket {}; listening ends",
            id.0
        ));
        self.socket_command(listener, SocketCommand::Accept { as_id: id });
        self.socket_command(listener, SocketCommand::Close { abort: false });
        if awaited {
            self.awaiting = Some(Awaiting::TelitOpen { conn });
        }
    }

    // ----- answers to waiting commands -----

    /// Ends the command of instance `owner` waiting for socket `conn`.
    fn telit_answer(&mut self, owner: u8, conn: usize, answer: Answer) {
        self.on_instance(owner, |m| {
            let waits_for_it = matches!(
                m.awaiting,
                Some(Awaiting::TelitOpen { conn: c } | Awaiting::TelitListen { conn: c }) if c == conn
            );
            if !waits_for_it {
                return;
            }
            match answer {
                Answer::Online => m.finish_awaiting_online(DataLink::TelitSocket(conn)),
                Answer::Ok => m.finish_awaiting(Some(ResultCode::Ok)),
                Answer::NoCarrier => m.finish_awaiting(Some(ResultCode::NoCarrier)),
                Answer::Error(error) => {
                    let code = m.error_result(&error);
                    m.finish_awaiting(Some(code));
                }
            }
            m.flush_urcs_unless_typing();
        });
    }

    /// The connect of socket `conn` failed this way: its command gets the matching result.
    fn telit_open_failed(&mut self, conn: usize, why: &str, code: u16) {
        let Some(s) = self.telit_socket_mut(conn) else {
            return;
        };
        let (owner, awaited, legacy) = (s.owner, s.awaited, s.origin.is_legacy());
        s.awaited = false;
        let answer = if legacy {
            Answer::NoCarrier
        } else {
            Answer::Error(CmdError::Cme(code))
        };
        self.explain(format!(
            "socket {conn}: {why} → {}",
            if legacy {
                "NO CARRIER".to_string()
            } else {
                format!("error {code}")
            }
        ));
        self.telit_release(conn, true, false, why);
        if awaited {
            self.telit_answer(owner, conn, answer);
        }
    }

    // ----- closing -----

    /// Ends socket `conn` from this side (`#SH`, `ATH`, DTR): state 0, no `NO CARRIER`.
    pub(crate) fn telit_close(&mut self, conn: usize, abort: bool, why: &str) {
        self.telit_release(conn, abort, false, why);
    }

    /// Ends socket `conn`: the real socket is closed (or rejected while a caller waits), an
    /// instance online on it returns to command mode — with `NO CARRIER` when `announce` —,
    /// a command still waiting for it ends in `ERROR`, and the state is 0 (`#SI` counters
    /// stay). `#SKTOP` takes down the context it brought up.
    fn telit_release(&mut self, conn: usize, abort: bool, announce: bool, why: &str) {
        let Some(s) = self.telit_socket_mut(conn) else {
            return;
        };
        if s.state == SocketState::Closed {
            return;
        }
        let (owner, origin, socket, gone, state, awaited) =
            (s.owner, s.origin, s.socket, s.gone, s.state, s.awaited);
        s.reset_keeping_counters();
        self.explain(format!("socket {conn} closed: {why}"));
        if let Some(id) = socket {
            if !gone {
                if state == SocketState::Incoming {
                    self.socket_command(id, SocketCommand::Reject);
                }
                self.socket_command(id, SocketCommand::Close { abort });
            }
            self.cancel_timers(TimerKind::TelitConnectTimeout(id));
            self.cancel_timers(TimerKind::TelitTxTimeout(id));
            self.cancel_timers(TimerKind::TelitInactivity(id));
        }
        self.on_instance(owner, |m| {
            if m.data_link == Some(DataLink::TelitSocket(conn)) {
                let online = m.in_data_mode();
                m.drop_data_link();
                if online && announce {
                    m.urc_code(ResultCode::NoCarrier);
                }
            }
            m.flush_urcs_unless_typing();
        });
        if awaited {
            self.telit_answer(owner, conn, Answer::Error(CmdError::Plain));
        }
        if let Origin::LegacyOpen { activated: true } = origin {
            self.explain("the #SKTOP socket closed: context 1, which it brought up, goes down");
            self.telit_context_down(1);
        }
        if origin == Origin::Atrun {
            self.tcp_atrun_closed(why);
        }
    }

    /// The sockets bound to context `cid` lost it: they close (`NO CARRIER` when online,
    /// `#SL: ABORTED` for a listener, an error for a command still waiting).
    pub(crate) fn telit_sockets_lost_context(&mut self, cid: u32) {
        for conn in 1..=CONN_IDS {
            let Some(s) = self.telit_socket(conn) else {
                continue;
            };
            if s.state == SocketState::Closed || s.cid != cid {
                continue;
            }
            let listening = matches!(s.state, SocketState::Listening | SocketState::Incoming);
            let (owner, awaited) = (s.owner, s.awaited);
            let aborted = self.telit_aborted_urc(conn);
            if let Some(s) = self.telit_socket_mut(conn) {
                s.awaited = false;
            }
            self.telit_release(conn, true, true, &format!("context {cid} went down"));
            if awaited {
                self.telit_answer(owner, conn, Answer::Error(CmdError::Cme(556)));
            } else if listening {
                self.on_instance(owner, |m| {
                    m.urc(aborted);
                    m.flush_urcs_unless_typing();
                });
            }
        }
    }

    /// `#SL: ABORTED`, `#SLUDP: ABORTED` or `#SKTL: ABORTED` for a listener of socket `conn`.
    fn telit_aborted_urc(&self, conn: usize) -> String {
        match self.telit_socket(conn) {
            Some(s) if s.origin == Origin::LegacyListen => "#SKTL: ABORTED".into(),
            Some(s) if s.transport == Some(Transport::Udp) => "#SLUDP: ABORTED".into(),
            _ => "#SL: ABORTED".into(),
        }
    }

    /// Power off or reboot: every real socket is closed (the state itself is rebuilt).
    pub(crate) fn telit_close_all(&mut self, why: &str) {
        for conn in 1..=CONN_IDS {
            let Some(s) = self.telit_socket(conn) else {
                continue;
            };
            if let (Some(id), false) = (s.socket, s.gone) {
                self.explain(format!("socket {conn} closed: {why}"));
                self.socket_command(id, SocketCommand::Close { abort: true });
            }
        }
    }

    // ----- socket events -----

    /// Something happened to the real socket of `conn`.
    pub(crate) fn telit_socket_event(&mut self, conn: usize, event: SocketEvent) {
        let Some(s) = self.telit_socket(conn) else {
            return;
        };
        if s.origin == Origin::Atrun {
            self.tcp_atrun_socket_event(conn, event);
            return;
        }
        let state = s.state;
        match (state, event) {
            (SocketState::Connecting, SocketEvent::Connected { local, peer }) => {
                self.telit_connected(conn, local, peer)
            }
            (SocketState::Connecting, SocketEvent::Failed(failure)) => {
                if let Some(s) = self.telit_socket_mut(conn) {
                    s.gone = true;
                }
                let code = match failure {
                    SocketFailure::Dns => 558,
                    _ => 562,
                };
                self.telit_open_failed(conn, &failure.to_string(), code);
            }
            (SocketState::Connecting, SocketEvent::Reset(reason)) => {
                if let Some(s) = self.telit_socket_mut(conn) {
                    s.gone = true;
                }
                self.telit_open_failed(conn, &format!("reset while connecting ({reason})"), 562);
            }
            (SocketState::Listening, SocketEvent::Listening { local }) => {
                let Some(s) = self.telit_socket_mut(conn) else {
                    return;
                };
                let (owner, awaited) = (s.owner, s.awaited);
                s.awaited = false;
                self.explain(format!("socket {conn}: listening on {local}"));
                if awaited {
                    self.telit_answer(owner, conn, Answer::Ok);
                }
            }
            (
                SocketState::Listening | SocketState::Incoming,
                SocketEvent::Failed(_) | SocketEvent::Reset(_) | SocketEvent::Closed,
            ) => {
                let Some(s) = self.telit_socket_mut(conn) else {
                    return;
                };
                let (owner, awaited) = (s.owner, s.awaited);
                s.awaited = false;
                s.gone = true;
                let aborted = self.telit_aborted_urc(conn);
                self.telit_release(conn, true, false, "the listener failed");
                if awaited {
                    // [UNSURE] the real module never meets a taken host port.
                    self.telit_answer(owner, conn, Answer::Error(CmdError::Cme(557)));
                } else {
                    self.on_instance(owner, |m| {
                        m.urc(aborted);
                        m.flush_urcs_unless_typing();
                    });
                }
            }
            (SocketState::Listening, SocketEvent::Incoming { peer }) => {
                self.telit_incoming(conn, peer)
            }
            (SocketState::Online | SocketState::Suspended, SocketEvent::Data(bytes)) => {
                self.telit_data(conn, bytes)
            }
            (SocketState::Online | SocketState::Suspended, SocketEvent::Sent(count)) => {
                if let Some(s) = self.telit_socket_mut(conn) {
                    s.acked = s.acked.saturating_add(count as u64);
                }
            }
            (SocketState::Online | SocketState::Suspended, SocketEvent::Closed) => {
                self.telit_peer_closed(conn, false)
            }
            (SocketState::Online | SocketState::Suspended, SocketEvent::Reset(reason)) => {
                self.explain(format!("socket {conn}: reset ({reason})"));
                self.telit_peer_closed(conn, true)
            }
            (_, SocketEvent::Incoming { peer }) => {
                // One connection waits per connId; more are refused.
                self.explain(format!(
                    "socket {conn}: a connection from {peer} is refused, one already waits"
                ));
                if let Some(id) = self.telit_socket(conn).and_then(|s| s.socket) {
                    self.socket_command(id, SocketCommand::Reject);
                }
            }
            (state, other) => {
                self.explain(format!(
                    "socket {conn} in state {state:?}: {other:?} ignored"
                ));
            }
        }
    }

    fn telit_connected(&mut self, conn: usize, local: SocketAddr, peer: SocketAddr) {
        let max_to = self.telit.config(conn).max_to;
        let now = self.now;
        let Some(s) = self.telit_socket_mut(conn) else {
            return;
        };
        s.state = SocketState::Suspended;
        s.local = Some(local);
        s.peer = Some(peer);
        s.last_activity = now;
        let (owner, awaited, online, id) = (s.owner, s.awaited, s.online_when_connected, s.socket);
        s.awaited = false;
        if let Some(id) = id {
            self.cancel_timers(TimerKind::TelitConnectTimeout(id));
            if max_to > 0 {
                self.schedule(u64::from(max_to) * 1000, TimerKind::TelitInactivity(id));
            }
        }
        self.explain(format!("socket {conn}: {local} ↔ {peer} established"));
        if awaited {
            let answer = if online { Answer::Online } else { Answer::Ok };
            self.telit_answer(owner, conn, answer);
            return;
        }
        // An automatic accept (ListenAutoRsp=1, #SKTL): online at once if the owner is free.
        self.on_instance(owner, |m| {
            let free = m.port_mode == PortMode::Command && m.awaiting.is_none();
            if online && free {
                m.flush_urcs();
                m.write_result(&ResultCode::Connect);
                m.enter_data_mode(DataLink::TelitSocket(conn));
            } else {
                m.explain(format!(
                    "socket {conn}: accepted in command mode (the instance is busy)"
                ));
            }
            m.flush_urcs_unless_typing();
        });
    }

    /// A connection reached listening socket `conn`: the firewall, then `SRING` or an
    /// automatic accept.
    fn telit_incoming(&mut self, conn: usize, peer: SocketAddr) {
        let auto = self.telit.config(conn).listen_auto_rsp;
        let Some(s) = self.telit_socket(conn) else {
            return;
        };
        let (owner, origin, listener) = (s.owner, s.origin, s.socket);
        if s.awaited {
            // A host reports the bind first; a caller before it cannot be announced yet.
            self.explain(format!(
                "socket {conn}: a connection from {peer} before the listener was bound is refused"
            ));
            if let Some(id) = listener {
                self.socket_command(id, SocketCommand::Reject);
            }
            return;
        }
        let ip = peer_ipv4(peer);
        if !ip.is_some_and(|ip| self.telit.firewall_accepts(ip)) {
            self.explain(format!(
                "socket {conn}: a connection from {peer} is refused by the #FRWL rules"
            ));
            if let Some(id) = listener {
                self.socket_command(id, SocketCommand::Reject);
            }
            return;
        }
        if let Some(s) = self.telit_socket_mut(conn) {
            s.peer = Some(peer);
        }
        let owner_free = self.on_instance(owner, |m| {
            m.port_mode == PortMode::Command && m.awaiting.is_none()
        });
        if origin == Origin::LegacyListen {
            let from = ip.map_or_else(|| peer.ip().to_string(), |ip| ip.to_string());
            self.explain(format!("socket {conn} (#SKTL): {peer} accepted"));
            self.on_instance(owner, |m| {
                m.urc(format!("+CONN FROM: {from}"));
                m.flush_urcs_unless_typing();
            });
            self.telit_accept(conn, true, false);
        } else if auto && owner_free {
            self.explain(format!(
                "socket {conn}: {peer} accepted at once (ListenAutoRsp=1)"
            ));
            self.telit_accept(conn, true, false);
        } else {
            if let Some(s) = self.telit_socket_mut(conn) {
                s.state = SocketState::Incoming;
            }
            self.explain(format!("socket {conn}: {peer} waits for #SA / #SH → SRING"));
            self.on_instance(owner, |m| {
                m.urc(format!("SRING: {conn}"));
                m.flush_urcs_unless_typing();
            });
        }
    }

    /// Bytes from the peer of socket `conn`: raw to the client online, else kept (or shown
    /// whole by srMode 2) and announced by `SRING` on the owner.
    fn telit_data(&mut self, conn: usize, bytes: Vec<u8>) {
        let config = *self.telit.config(conn);
        let upper = self.profile.telit_ip.hex_upper;
        let now = self.now;
        let Some(s) = self.telit_socket_mut(conn) else {
            return;
        };
        s.received = s.received.saturating_add(bytes.len() as u64);
        s.last_activity = now;
        let (owner, state) = (s.owner, s.state);
        if state == SocketState::Online {
            let here = self.on_instance(owner, |m| {
                m.data_link == Some(DataLink::TelitSocket(conn)) && m.in_data_mode()
            });
            if here {
                self.on_instance(owner, move |m| m.write_dte_owned(bytes));
            } else {
                self.telit_buffer_rx(conn, bytes);
            }
            return;
        }
        let count = bytes.len();
        let text = match config.sr_mode {
            2 => {
                let data = if config.recv_hex {
                    hex::encode(&bytes, upper)
                } else {
                    as_text(&bytes)
                };
                format!("SRING: {conn},{count},{data}")
            }
            1 => {
                self.telit_buffer_rx(conn, bytes);
                format!("SRING: {conn},{count}")
            }
            _ => {
                self.telit_buffer_rx(conn, bytes);
                format!("SRING: {conn}")
            }
        };
        self.on_instance(owner, |m| {
            m.urc(text);
            m.flush_urcs_unless_typing();
        });
    }

    /// Keeps received bytes for `#SRECV`/`#SO`; the socket stops reading when they fill the
    /// buffer.
    fn telit_buffer_rx(&mut self, conn: usize, bytes: Vec<u8>) {
        let limit = self.profile.ip.rx_buffer_bytes;
        let Some(s) = self.telit_socket_mut(conn) else {
            return;
        };
        s.rx.extend(bytes);
        if s.rx.len() >= limit && !s.paused && !s.gone {
            s.paused = true;
            if let Some(id) = s.socket {
                self.explain(format!(
                    "socket {conn}: {limit} bytes unread → the socket stops reading"
                ));
                self.socket_command(id, SocketCommand::Pause);
            }
        }
    }

    /// Takes up to `max` unread bytes of socket `conn`; the socket reads again when room is
    /// made, and a socket the peer closed ends once everything is read.
    pub(crate) fn telit_take_rx(&mut self, conn: usize, max: usize) -> Vec<u8> {
        let taken = self.telit_take_rx_raw(conn, max);
        let drained_after_close = self
            .telit_socket(conn)
            .is_some_and(|s| s.rx.is_empty() && (s.gone || (s.peer_closed && s.closure == 0)));
        if drained_after_close {
            self.telit_release(
                conn,
                false,
                false,
                "everything the closed peer sent has been read",
            );
        }
        taken
    }

    /// The peer closed (FIN) or reset the connection of socket `conn`.
    fn telit_peer_closed(&mut self, conn: usize, reset: bool) {
        let Some(s) = self.telit_socket_mut(conn) else {
            return;
        };
        s.peer_closed = true;
        if reset {
            s.gone = true;
        }
        let (state, closure, unread) = (s.state, s.closure, !s.rx.is_empty());
        let why = if reset {
            "the connection was reset"
        } else {
            "the peer closed the connection"
        };
        let keep = match state {
            // closureType 255 waits for +++ (a reset closes at once).
            SocketState::Online => closure == 255 && !reset,
            _ => unread || (closure == 255 && !reset),
        };
        if keep {
            self.explain(format!(
                "socket {conn}: {why}; it stays until {}",
                if unread {
                    "its data is read"
                } else {
                    "+++ / #SH (closureType 255)"
                }
            ));
        } else {
            self.telit_release(conn, false, true, why);
        }
    }

    // ----- online mode -----

    /// The owner went online on socket `conn` (`CONNECT` written): state 1, the bytes
    /// received meanwhile follow at once.
    pub(crate) fn telit_went_online(&mut self, conn: usize) {
        let instance = self.instance();
        let Some(s) = self.telit_socket_mut(conn) else {
            return;
        };
        s.state = SocketState::Online;
        s.owner = instance;
        let pending = s.rx.len();
        let ended = s.gone || (s.peer_closed && s.closure == 0);
        if pending > 0 {
            let bytes = self.telit_take_rx_raw(conn, pending);
            self.write_dte_owned(bytes);
        }
        if ended {
            self.telit_release(conn, false, true, "the peer had closed the connection");
        }
    }

    /// Takes up to `max` unread bytes without ending the socket (reading, or going online);
    /// a paused socket reads again once less than half its buffer is full.
    fn telit_take_rx_raw(&mut self, conn: usize, max: usize) -> Vec<u8> {
        let limit = self.profile.ip.rx_buffer_bytes;
        let Some(s) = self.telit_socket_mut(conn) else {
            return Vec::new();
        };
        let count = max.min(s.rx.len());
        let taken = s.rx.drain(..count).collect();
        if s.paused && s.rx.len() < limit / 2 {
            s.paused = false;
            if !s.gone
                && let Some(id) = s.socket
            {
                self.socket_command(id, SocketCommand::Resume);
            }
        }
        taken
    }

    /// The owner left online mode keeping socket `conn` (`+++`, DTR under `&D1`): state 2/3,
    /// what was typed for it is sent.
    pub(crate) fn telit_suspend(&mut self, conn: usize) {
        let Some(s) = self.telit_socket_mut(conn) else {
            return;
        };
        if s.state != SocketState::Online {
            return;
        }
        s.state = SocketState::Suspended;
        let pending = std::mem::take(&mut s.tx);
        if let Some(id) = s.socket {
            self.cancel_timers(TimerKind::TelitTxTimeout(id));
        }
        if !pending.is_empty() {
            self.telit_send(conn, pending);
        }
    }

    /// `ATO` may take this instance back online on socket `conn`.
    pub(crate) fn telit_resumable(&self, conn: usize) -> bool {
        self.telit_socket(conn).is_some_and(|s| {
            s.state == SocketState::Suspended
                && s.owner == self.instance()
                && !(s.gone && s.rx.is_empty())
        })
    }

    /// A valid `+++` on socket `conn`: `OK` and suspended (`#SD`/`#SA`/`#SO` sockets), or
    /// closed with `NO CARRIER` (legacy sockets, and closureType 255 after the peer closed).
    /// The escape characters go to the peer too unless `#SKIPESC=1`.
    pub(crate) fn telit_escape(&mut self, conn: usize, escape_char: u8) {
        let skip = self.telit.skip_esc == 1;
        let Some(s) = self.telit_socket_mut(conn) else {
            self.leave_data_mode("+++");
            self.write_result(&ResultCode::Ok);
            return;
        };
        let mut out = std::mem::take(&mut s.tx);
        if !skip {
            out.extend_from_slice(&[escape_char; 3]);
        }
        let (origin, peer_closed, id) = (s.origin, s.peer_closed, s.socket);
        if let Some(id) = id {
            self.cancel_timers(TimerKind::TelitTxTimeout(id));
        }
        if !out.is_empty() {
            self.telit_send(conn, out);
        }
        if origin.is_legacy() || peer_closed {
            let why = if origin.is_legacy() {
                "+++ on a legacy (#SKTD/#SKTL/#SKTOP) socket closes it"
            } else {
                "+++ after the peer closed (closureType 255)"
            };
            self.telit_release(conn, false, false, why);
            self.write_result(&ResultCode::NoCarrier);
        } else {
            self.leave_data_mode("+++ with guard time before and after: the socket is suspended");
            self.write_result(&ResultCode::Ok);
        }
    }

    /// Client bytes online on socket `conn`: full packets (`<pktSz>`) go at once, the rest
    /// after `<txTo>` (from the first byte, or the last with bufferStart=1).
    pub(crate) fn telit_online_data(&mut self, conn: usize, bytes: Vec<u8>) {
        let config = *self.telit.config(conn);
        let size = config.packet_size().max(1);
        let now = self.now;
        let Some(s) = self.telit_socket_mut(conn) else {
            return;
        };
        let Some(id) = s.socket.filter(|_| !s.gone) else {
            return;
        };
        s.last_activity = now;
        let was_empty = s.tx.is_empty();
        let udp = s.transport == Some(Transport::Udp);
        let ready = take_whole_packets(&mut s.tx, bytes, size);
        let waiting = !s.tx.is_empty();
        let restart = !ready.is_empty() || was_empty || config.buffer_start == 1;
        if !ready.is_empty() {
            if udp {
                for packet in ready.chunks(size) {
                    self.telit_send(conn, packet.to_vec());
                }
            } else {
                self.telit_send(conn, ready);
            }
        }
        if restart {
            self.cancel_timers(TimerKind::TelitTxTimeout(id));
            if waiting && config.tx_to > 0 {
                self.schedule(u64::from(config.tx_to) * 100, TimerKind::TelitTxTimeout(id));
            }
        }
    }

    /// Bytes to the peer of socket `conn`, counted for `#SI`.
    pub(crate) fn telit_send(&mut self, conn: usize, bytes: Vec<u8>) {
        let now = self.now;
        let Some(s) = self.telit_socket_mut(conn) else {
            return;
        };
        let Some(id) = s.socket.filter(|_| !s.gone) else {
            return;
        };
        s.sent = s.sent.saturating_add(bytes.len() as u64);
        s.last_activity = now;
        self.socket_command(id, SocketCommand::Send(bytes));
    }

    // ----- timers -----

    /// `<connTo>` passed with no answer: `559` (legacy: `NO CARRIER`), the socket closed.
    pub(crate) fn telit_connect_timed_out(&mut self, id: SocketId) {
        let Some(conn) = self.telit.conn_of(id) else {
            return;
        };
        if self.telit_socket(conn).map(|s| s.state) != Some(SocketState::Connecting) {
            return;
        }
        self.telit_open_failed(conn, "no answer within connTo", 559);
    }

    /// `<txTo>` passed since the buffered online bytes of the socket began: they go.
    pub(crate) fn telit_tx_timed_out(&mut self, id: SocketId) {
        let Some(conn) = self.telit.conn_of(id) else {
            return;
        };
        let Some(s) = self.telit_socket_mut(conn) else {
            return;
        };
        if !s.is_connected() || s.tx.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut s.tx);
        self.explain(format!(
            "socket {conn}: txTo passed → {} buffered bytes sent",
            pending.len()
        ));
        self.telit_send(conn, pending);
    }

    /// `<maxTo>` check: no byte either way for that long closes the socket.
    pub(crate) fn telit_inactivity(&mut self, id: SocketId) {
        let Some(conn) = self.telit.conn_of(id) else {
            return;
        };
        let max_to = self.telit.config(conn).max_to;
        let Some(s) = self.telit_socket(conn) else {
            return;
        };
        if !s.is_connected() || max_to == 0 {
            return;
        }
        let due = s.last_activity.plus_millis(u64::from(max_to) * 1000);
        if due > self.now {
            self.schedule_at(due, TimerKind::TelitInactivity(id));
            return;
        }
        self.telit_release(
            conn,
            false,
            true,
            &format!("no data either way for maxTo = {max_to} s"),
        );
    }

    // ----- command mode -----

    /// `#SSEND`/`#SSENDEXT` payload typed: send it, `OK`; ESC: nothing sent, `OK`.
    pub(crate) fn telit_send_payload(&mut self, conn: usize, hex: bool, end: PromptEnd) {
        let result = match end {
            PromptEnd::Cancelled => {
                self.explain("ESC: nothing sent");
                ResultCode::Ok
            }
            PromptEnd::TooLong => self.error_result(&CmdError::Plain),
            PromptEnd::Done(typed) => {
                let payload = if hex {
                    std::str::from_utf8(&typed)
                        .ok()
                        .and_then(|text| crate::sms::hex::decode(text).ok())
                } else {
                    Some(typed)
                };
                let open = self
                    .telit_socket(conn)
                    .is_some_and(|s| s.is_connected() && !s.peer_closed && !s.gone);
                match payload {
                    None => {
                        self.explain("#SSEND in hex mode: not hex pairs → ERROR, nothing sent");
                        self.error_result(&CmdError::InvalidParameter)
                    }
                    Some(_) if !open => {
                        self.explain(format!("socket {conn} closed while typing → error 561"));
                        self.error_result(&CmdError::Cme(561))
                    }
                    Some(payload) => {
                        self.explain(format!("socket {conn}: {} bytes sent", payload.len()));
                        if !payload.is_empty() {
                            self.telit_send(conn, payload);
                        }
                        ResultCode::Ok
                    }
                }
            }
        };
        self.write_result(&result);
        self.flush_urcs();
    }

    /// A byte typed while socket `conn` connects: with abortConnAttempt=1 the attempt ends
    /// with `ERROR`. Returns whether it did.
    pub(crate) fn telit_abort_on_input(&mut self, conn: usize) -> bool {
        if self.telit.config(conn).abort_conn_attempt != 1 {
            return false;
        }
        let Some(s) = self.telit_socket_mut(conn) else {
            return false;
        };
        if s.state != SocketState::Connecting {
            return false;
        }
        let owner = s.owner;
        s.awaited = false;
        self.explain(format!(
            "socket {conn}: a byte typed while connecting aborts it (abortConnAttempt=1) → ERROR"
        ));
        self.telit_release(conn, true, false, "connection attempt aborted");
        self.telit_answer(owner, conn, Answer::Error(CmdError::Plain));
        true
    }

    /// `#SKTOP`: context 1 up for the legacy socket if it is not; whether this brought it up.
    pub(crate) fn telit_legacy_activate(&mut self) -> Result<bool, ()> {
        if self.telit.ip_easy_address(1).is_some() {
            return Ok(false);
        }
        self.telit_activate(1, Activation::IpEasy)
            .map(|_| true)
            .map_err(|_| ())
    }

    /// `#SS` line of socket `conn`.
    pub(crate) fn telit_ss_line(&self, conn: usize) -> String {
        let Some(s) = self.telit_socket(conn) else {
            return format!("#SS: {conn},0");
        };
        let local_ip = s
            .local_ip
            .map_or_else(|| "0.0.0.0".to_string(), |ip| ip.to_string());
        let state = s.ss_state();
        match s.state {
            SocketState::Closed | SocketState::Connecting => format!("#SS: {conn},0"),
            SocketState::Listening => {
                format!("#SS: {conn},4,{local_ip},{}", s.listen_port.unwrap_or(0))
            }
            SocketState::Incoming => {
                let (rip, rport) = s
                    .peer
                    .map_or((String::new(), 0), |p| (p.ip().to_string(), p.port()));
                format!(
                    "#SS: {conn},5,{local_ip},{},{rip},{rport}",
                    s.listen_port.unwrap_or(0)
                )
            }
            SocketState::Online | SocketState::Suspended => {
                let lport = s.local.map_or(0, |a| a.port());
                let (rip, rport) = s
                    .peer
                    .map_or((String::new(), 0), |p| (p.ip().to_string(), p.port()));
                format!("#SS: {conn},{state},{local_ip},{lport},{rip},{rport}")
            }
        }
    }

    /// `#SI` line of socket `conn`.
    pub(crate) fn telit_si_line(&self, conn: usize) -> String {
        let Some(s) = self.telit_socket(conn) else {
            return format!("#SI: {conn},0,0,0,0");
        };
        let waiting = if s.transport == Some(Transport::Udp) || s.state == SocketState::Closed {
            0
        } else {
            s.sent.saturating_sub(s.acked)
        };
        format!(
            "#SI: {conn},{},{},{},{waiting}",
            s.sent,
            s.received,
            s.rx.len()
        )
    }
}
