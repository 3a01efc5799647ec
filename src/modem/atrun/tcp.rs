//! TCP ATRUN at work: the service socket (server or client mode) on a real loopback socket,
//! the firewall and login, command lines to the reserved instance, and `#TCPATCONSER`.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::{Blocked, Job, Service, service_name};
use crate::dte::ResultCode;
use crate::modem::data_mode::Awaiting;
use crate::modem::sockets::{SocketCommand, SocketEvent, Transport};
use crate::modem::telit_ip::{Origin, SocketState, TelitSocket};
use crate::modem::{Modem, TimerKind};

/// Where a server-mode caller is in the login dialogue (B.12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Login {
    /// Logged in, or client mode (no login): lines are commands.
    #[default]
    Done,
    /// authMode 0: the user line, then the password line, nothing prompted.
    AutoUser,
    AutoPassword,
    /// authMode 1: after `Username:`, then after `Password:`.
    StepUser,
    StepPassword,
}

/// TCP ATRUN's volatile state.
#[derive(Debug, Clone, Default)]
pub(crate) struct TcpRun {
    /// A peer is connected on the service socket.
    pub connected: bool,
    pub login: Login,
    /// The user name given, until its password arrives.
    pub user: String,
    /// A line being received.
    pub partial: Vec<u8>,
    /// Lines `#TCPATCMDSEQ=1` keeps for after the running one.
    pub queue: VecDeque<Vec<u8>>,
    pub job: Option<Job>,
    pub blocked: Option<Blocked>,
    /// Client mode: retries made since the last connection, and whether one more is due.
    pub attempts: u32,
    pub retrying: bool,
    /// `#TCPATCONSER` asked for the bridge (it starts once its `CONNECT` is out) / runs.
    pub bridge_requested: bool,
    pub bridge: bool,
    /// The server could not listen (its port is taken): the service stays on but idle
    /// instead of listening again at once, over and over.
    pub listen_failed: bool,
}

impl TcpRun {
    /// Whether the connected peer may send commands (logged in, or client mode).
    pub(crate) fn logged_in(&self) -> bool {
        self.login == Login::Done
    }
}

/// The peer's IPv4 address (an IPv4-mapped IPv6 one too).
fn ipv4_of(peer: SocketAddr) -> Option<Ipv4Addr> {
    match peer.ip() {
        IpAddr::V4(ip) => Some(ip),
        IpAddr::V6(ip) => ip.to_ipv4_mapped(),
    }
}

impl Modem {
    /// The connId (1..=6) of the service socket.
    fn tcp_atrun_conn(&self) -> usize {
        self.atrun.nvm.tcp.conn_id.clamp(1, 6) as usize
    }

    fn tcp_atrun_socket(&self) -> Option<&TelitSocket> {
        self.telit.sockets.get(self.tcp_atrun_conn() - 1)
    }

    /// Whether the service socket is the service's own (not a user's `#SD`).
    pub(crate) fn tcp_atrun_owns_socket(&self) -> bool {
        self.tcp_atrun_socket()
            .is_some_and(|s| s.origin == Origin::Atrun && s.state != SocketState::Closed)
    }

    /// `#TCPATRUNL?`/`#TCPATRUND?` `<stat>`: 0 idle, 1 listening/connecting/connected,
    /// 2 (client) waiting to retry.
    pub(crate) fn tcp_atrun_stat(&self) -> u32 {
        if self.tcp_atrun_owns_socket() {
            1
        } else if self.atrun.tcp.retrying {
            2
        } else {
            0
        }
    }

    /// Starts (or restarts) the service socket if the service is on, not blocked, and its
    /// context is up: listen (server) or dial (client).
    pub(crate) fn tcp_atrun_start(&mut self) {
        let nvm = &self.atrun.nvm;
        if !nvm.tcp_enabled() || self.tcp_atrun_owns_socket() {
            return;
        }
        if self.atrun.tcp.blocked == Some(Blocked::ForGood) {
            self.explain("TCP ATRUN is blocked for good: it does not start");
            return;
        }
        let conn = self.tcp_atrun_conn();
        let cid = self.telit.config(conn).cid;
        let Some(local_ip) = self.telit.ip_easy_address(cid) else {
            self.explain(format!(
                "TCP ATRUN waits for context {cid} (socket {conn}'s, #SCFG) to be active"
            ));
            return;
        };
        if self
            .tcp_atrun_socket()
            .is_some_and(|s| s.state != SocketState::Closed)
        {
            self.explain(format!(
                "TCP ATRUN cannot start: socket {conn} is in use (#SH it first)"
            ));
            return;
        }
        let owner = self.atrun.nvm.tcp.instance;
        let id = self.ip.new_socket();
        let server = self.atrun.nvm.tcp_server;
        let socket = TelitSocket {
            owner,
            socket: Some(id),
            transport: Some(Transport::Tcp),
            cid,
            local_ip: Some(local_ip),
            origin: Origin::Atrun,
            last_activity: self.now,
            ..TelitSocket::default()
        };
        self.atrun.tcp.login = Login::Done;
        if server {
            let port = self.atrun.nvm.tcp.tcp_port;
            self.explain(format!(
                "TCP ATRUN server: socket {conn} listens on port {port} (socket {})",
                id.0
            ));
            self.telit.sockets[conn - 1] = TelitSocket {
                state: SocketState::Listening,
                listen_port: Some(port),
                ..socket
            };
            self.socket_command(
                id,
                SocketCommand::Listen {
                    transport: Transport::Tcp,
                    port,
                },
            );
        } else {
            let (host, port) = (
                self.atrun.nvm.tcp.host.clone(),
                self.atrun.nvm.tcp.host_port,
            );
            let conn_to_ms = u64::from(self.telit.config(conn).conn_to) * 100;
            self.explain(format!(
                "TCP ATRUN client: socket {conn} dials {host}:{port} (socket {})",
                id.0
            ));
            self.telit.sockets[conn - 1] = TelitSocket {
                state: SocketState::Connecting,
                ..socket
            };
            self.socket_command(
                id,
                SocketCommand::Connect {
                    transport: Transport::Tcp,
                    host,
                    port,
                    local_port: None,
                },
            );
            self.schedule(conn_to_ms, TimerKind::TelitConnectTimeout(id));
        }
    }

    /// Context `cid` came up: the service starts if it was waiting for it.
    pub(crate) fn tcp_atrun_context_up(&mut self, cid: u32) {
        if self.atrun.nvm.tcp_enabled() && self.telit.config(self.tcp_atrun_conn()).cid == cid {
            self.tcp_atrun_start();
        }
    }

    /// Something happened to the service socket.
    pub(crate) fn tcp_atrun_socket_event(&mut self, conn: usize, event: SocketEvent) {
        let Some(s) = self.telit.sockets.get(conn - 1) else {
            return;
        };
        let (state, listener) = (s.state, s.socket);
        match (state, event) {
            (SocketState::Listening, SocketEvent::Listening { local }) => {
                self.explain(format!("TCP ATRUN: listening on {local}"));
                self.tcp_atrun_answer(Awaiting::TcpAtrunListen, ResultCode::Ok);
            }
            (SocketState::Listening, SocketEvent::Incoming { peer }) => {
                let accepted = ipv4_of(peer).is_some_and(|ip| self.atrun.nvm.firewall_accepts(ip));
                if !accepted {
                    self.explain(format!(
                        "TCP ATRUN: a connection from {peer} is dropped by #TCPATRUNFRWL (policy DROP)"
                    ));
                    if let Some(id) = listener {
                        self.socket_command(id, SocketCommand::Reject);
                    }
                    return;
                }
                self.explain(format!("TCP ATRUN: {peer} passes #TCPATRUNFRWL"));
                self.telit_accept(conn, false, false);
            }
            (SocketState::Connecting, SocketEvent::Connected { local, peer }) => {
                self.tcp_atrun_connected(conn, local, peer)
            }
            (SocketState::Online, SocketEvent::Data(bytes)) => {
                let now = self.now;
                if let Some(s) = self.telit.sockets.get_mut(conn - 1) {
                    s.received = s.received.saturating_add(bytes.len() as u64);
                    s.last_activity = now;
                }
                self.tcp_atrun_input(bytes);
            }
            (SocketState::Online, SocketEvent::Sent(count)) => {
                if let Some(s) = self.telit.sockets.get_mut(conn - 1) {
                    s.acked = s.acked.saturating_add(count as u64);
                }
            }
            (_, SocketEvent::Incoming { peer }) => {
                self.explain(format!(
                    "TCP ATRUN: a connection from {peer} is refused, the service is busy"
                ));
                if let Some(id) = listener {
                    self.socket_command(id, SocketCommand::Reject);
                }
            }
            (SocketState::Listening, SocketEvent::Failed(failure)) => {
                self.atrun.tcp.listen_failed = true;
                let port = self.atrun.nvm.tcp.tcp_port;
                self.tcp_atrun_gone(
                    conn,
                    true,
                    &format!("the server cannot listen on port {port}: {failure}"),
                )
            }
            (_, SocketEvent::Failed(failure)) => {
                self.tcp_atrun_gone(conn, true, &format!("the socket failed: {failure}"))
            }
            (_, SocketEvent::Reset(reason)) => {
                self.tcp_atrun_gone(conn, true, &format!("the connection was reset ({reason})"))
            }
            (_, SocketEvent::Closed) => {
                self.tcp_atrun_gone(conn, false, "the peer closed the connection")
            }
            (state, other) => self.explain(format!(
                "TCP ATRUN socket {conn} in state {state:?}: {other:?} ignored"
            )),
        }
    }

    /// The real socket ended from the other side: the service socket closes.
    fn tcp_atrun_gone(&mut self, conn: usize, broken: bool, why: &str) {
        if broken && let Some(s) = self.telit.sockets.get_mut(conn - 1) {
            s.gone = true;
        }
        self.telit_close(conn, broken, why);
    }

    fn tcp_atrun_connected(&mut self, conn: usize, local: SocketAddr, peer: SocketAddr) {
        let max_to = self.telit.config(conn).max_to;
        let now = self.now;
        let Some(s) = self.telit.sockets.get_mut(conn - 1) else {
            return;
        };
        s.state = SocketState::Online;
        s.local = Some(local);
        s.peer = Some(peer);
        s.last_activity = now;
        let id = s.socket;
        if let Some(id) = id {
            self.cancel_timers(TimerKind::TelitConnectTimeout(id));
            if max_to > 0 {
                self.schedule(u64::from(max_to) * 1000, TimerKind::TelitInactivity(id));
            }
        }
        let run = &mut self.atrun.tcp;
        run.connected = true;
        run.partial.clear();
        run.queue.clear();
        run.attempts = 0;
        run.retrying = false;
        let server = self.atrun.nvm.tcp_server;
        self.explain(format!("TCP ATRUN: {local} ↔ {peer} connected"));
        if self.atrun.nvm.tcp.urc {
            let ip = ipv4_of(peer).map_or_else(|| peer.ip().to_string(), |ip| ip.to_string());
            let enabled_on = self.atrun.nvm.tcp_enabled_on;
            self.on_instance(enabled_on, |m| {
                m.urc(format!("#TCPATRUN: {ip}"));
                m.flush_urcs_unless_typing();
            });
        }
        if server {
            let step = self.atrun.nvm.tcp.auth_mode == 1;
            self.atrun.tcp.login = if step {
                Login::StepUser
            } else {
                Login::AutoUser
            };
            self.explain(if step {
                "TCP ATRUN: step-by-step login (authMode 1): Username:"
            } else {
                "TCP ATRUN: automatic login (authMode 0): the caller sends user and password lines"
            });
            if step {
                self.telit_send(conn, b"Username:\r\n".to_vec());
            }
            self.schedule(
                self.profile.atrun.login_timeout_ms,
                TimerKind::TcpAtrunLogin,
            );
        } else {
            self.atrun.tcp.login = Login::Done;
            self.tcp_atrun_answer(Awaiting::TcpAtrunDial, ResultCode::Ok);
        }
    }

    /// Ends the `#TCPATRUNL=1` (`TcpAtrunListen`: `OK` once listening, or once the port
    /// proved taken) or `#TCPATRUND=1` (`TcpAtrunDial`: `OK` connected, `ERROR` not) that waits
    /// on the enabling instance.
    fn tcp_atrun_answer(&mut self, waiting: Awaiting, code: ResultCode) {
        let enabled_on = self.atrun.nvm.tcp_enabled_on;
        self.on_instance(enabled_on, |m| {
            if m.awaiting == Some(waiting) {
                m.finish_awaiting(Some(code));
            }
        });
    }

    /// The service socket closed (`telit_release` of an ATRUN socket): the session ends, a
    /// `DISCONNECT` URC if a peer was there, and the service starts again — the server
    /// listens anew, the client dials after `retryDelay` while attempts are left.
    pub(crate) fn tcp_atrun_closed(&mut self, why: &str) {
        let run = &mut self.atrun.tcp;
        let was_connected = std::mem::take(&mut run.connected);
        run.login = Login::Done;
        run.user.clear();
        run.partial.clear();
        run.queue.clear();
        run.bridge = false;
        run.bridge_requested = false;
        self.cancel_timers(TimerKind::TcpAtrunLogin);
        if was_connected {
            self.explain(format!("TCP ATRUN session ended: {why}"));
            if self.atrun.nvm.tcp.urc {
                let text = self.profile.atrun.disconnect_urc;
                let enabled_on = self.atrun.nvm.tcp_enabled_on;
                self.on_instance(enabled_on, |m| {
                    m.urc(text);
                    m.flush_urcs_unless_typing();
                });
            }
        }
        self.tcp_atrun_answer(Awaiting::TcpAtrunDial, ResultCode::Error);
        if !self.atrun.nvm.tcp_enabled() {
            return;
        }
        if self.atrun.nvm.tcp_server {
            if std::mem::take(&mut self.atrun.tcp.listen_failed) {
                self.tcp_atrun_answer(Awaiting::TcpAtrunListen, ResultCode::Ok);
                self.explain(
                    "TCP ATRUN server stays enabled without listening (#TCPATRUNL: 1,0) until it \
                     is enabled again or its context comes up again",
                );
                return;
            }
            self.tcp_atrun_start();
            return;
        }
        let (count, delay) = (
            self.atrun.nvm.tcp.retry_count,
            self.atrun.nvm.tcp.retry_delay_min,
        );
        if was_connected {
            self.atrun.tcp.attempts = 0;
        }
        if self.atrun.tcp.attempts < count {
            self.atrun.tcp.retrying = true;
            self.explain(format!(
                "TCP ATRUN client dials again in {delay} min (retry {} of {count})",
                self.atrun.tcp.attempts + 1
            ));
            self.cancel_timers(TimerKind::TcpAtrunRetry);
            self.schedule(u64::from(delay) * 60_000, TimerKind::TcpAtrunRetry);
        } else {
            self.atrun.tcp.retrying = false;
            self.explain(format!(
                "TCP ATRUN client gives up after {count} retries (#TCPATRUND stays 1)"
            ));
        }
    }

    /// `retryDelay` passed: one more attempt.
    pub(crate) fn tcp_atrun_retry_due(&mut self) {
        self.atrun.tcp.retrying = false;
        self.atrun.tcp.attempts += 1;
        self.tcp_atrun_start();
    }

    /// The login timeout passed without a complete login: the caller is put off.
    pub(crate) fn tcp_atrun_login_timed_out(&mut self) {
        if self.atrun.tcp.connected && self.atrun.tcp.login != Login::Done {
            let conn = self.tcp_atrun_conn();
            self.telit_close(conn, false, "no complete login within the login timeout");
        }
    }

    /// Closes the service socket from this side (`#TCPATRUNCLOSE`, disabling, a failed
    /// login); the service restarts if it is still on.
    pub(crate) fn tcp_atrun_close(&mut self, why: &str) {
        if self.tcp_atrun_owns_socket() {
            let conn = self.tcp_atrun_conn();
            self.telit_close(conn, false, why);
        } else {
            self.cancel_timers(TimerKind::TcpAtrunRetry);
            self.atrun.tcp.retrying = false;
        }
    }

    /// Bytes from the TCP peer: login lines, command lines, a prompt's payload, or the
    /// `#TCPATCONSER` bridge.
    fn tcp_atrun_input(&mut self, bytes: Vec<u8>) {
        if self.atrun.tcp.bridge {
            self.tcp_atrun_bridge_in(bytes);
            return;
        }
        let Some(instance) = self.atrun.nvm.instance_of(Service::Tcp) else {
            return;
        };
        let max = self.profile.atrun.max_line_bytes;
        let mut started_here = false;
        let mut rest: &[u8] = &bytes;
        while !rest.is_empty() && self.atrun.tcp.connected {
            let running = self.atrun.tcp.job.as_ref().is_some_and(|j| j.running);
            if self.atrun.tcp.login == Login::Done
                && running
                && (self.atrun_instance_at_prompt(instance)
                    || self.atrun_instance_in_data_mode(instance))
            {
                self.atrun_feed_raw(instance, rest.to_vec());
                self.atrun_check_done();
                return;
            }
            let Some(cr) = rest.iter().position(|&b| b == b'\r') else {
                let partial = &mut self.atrun.tcp.partial;
                let room = max.saturating_sub(partial.len());
                partial.extend(rest.iter().take(room).filter(|&&b| b != b'\n'));
                return;
            };
            let mut line = std::mem::take(&mut self.atrun.tcp.partial);
            let room = max.saturating_sub(line.len());
            line.extend(rest[..cr].iter().take(room).filter(|&&b| b != b'\n'));
            rest = &rest[cr + 1..];
            if rest.first() == Some(&b'\n') {
                rest = &rest[1..];
            }
            if self.atrun.tcp.login == Login::Done && !line.is_empty() {
                // Lines that came in one segment behind a command arrive while it runs
                // (B.14: `AT#SGACT=1,1\rAT#SS\r` loses `#SS` under `#TCPATCMDSEQ=0`).
                if started_here && self.atrun.nvm.cmdseq == 0 {
                    self.explain(format!(
                        "TCP ATRUN: {} dropped, it came while the line before it ran \
                         (#TCPATCMDSEQ=0)",
                        String::from_utf8_lossy(&line)
                    ));
                    continue;
                }
                started_here = true;
            }
            self.tcp_atrun_line(line);
        }
    }

    /// One line from the peer.
    fn tcp_atrun_line(&mut self, line: Vec<u8>) {
        match self.atrun.tcp.login {
            Login::Done => self.tcp_atrun_command_line(line),
            Login::AutoUser | Login::StepUser => {
                let user = String::from_utf8_lossy(&line).into_owned();
                let known = self.atrun.nvm.tcp_users.iter().any(|(u, _)| *u == user);
                if self.atrun.tcp.login == Login::StepUser {
                    if !known {
                        self.tcp_atrun_login_failed();
                        return;
                    }
                    let conn = self.tcp_atrun_conn();
                    self.telit_send(conn, b"Password:\r\n".to_vec());
                    self.atrun.tcp.login = Login::StepPassword;
                } else {
                    self.atrun.tcp.login = Login::AutoPassword;
                }
                self.atrun.tcp.user = user;
            }
            Login::AutoPassword | Login::StepPassword => {
                let password = String::from_utf8_lossy(&line);
                let user = std::mem::take(&mut self.atrun.tcp.user);
                let good = self
                    .atrun
                    .nvm
                    .tcp_users
                    .iter()
                    .any(|(u, p)| *u == user && **p == *password);
                if !good {
                    self.tcp_atrun_login_failed();
                    return;
                }
                let step = self.atrun.tcp.login == Login::StepPassword;
                self.atrun.tcp.login = Login::Done;
                self.cancel_timers(TimerKind::TcpAtrunLogin);
                self.explain(format!(
                    "TCP ATRUN: {user} logged in (password checked, not shown)"
                ));
                if step {
                    let conn = self.tcp_atrun_conn();
                    self.telit_send(conn, b"Login successful.\r\n".to_vec());
                }
            }
        }
    }

    fn tcp_atrun_login_failed(&mut self) {
        self.atrun.tcp.user.clear();
        let conn = self.tcp_atrun_conn();
        self.telit_close(
            conn,
            false,
            "TCP ATRUN login failed (unknown user or wrong password): connection closed",
        );
    }

    /// A command line after login: run now, or (while one runs) queued with `#TCPATCMDSEQ=1`
    /// or dropped (DESIGN.md §8.14: a command runs from its CR to its final result, its
    /// `#ATRUNDELAY` included).
    fn tcp_atrun_command_line(&mut self, line: Vec<u8>) {
        if line.is_empty() {
            return;
        }
        if self.atrun.tcp.blocked.is_some() {
            self.explain("TCP ATRUN is blocked: the line is not run");
            return;
        }
        if self.atrun.tcp.job.is_none() {
            self.atrun_start_job(Service::Tcp, line);
            return;
        }
        let max = self.profile.atrun.max_queued_lines;
        if self.atrun.nvm.cmdseq == 1 && self.atrun.tcp.queue.len() < max {
            self.atrun.tcp.queue.push_back(line);
        } else {
            self.explain(format!(
                "TCP ATRUN: {} dropped, a command is still running ({})",
                String::from_utf8_lossy(&line),
                if self.atrun.nvm.cmdseq == 1 {
                    "the #TCPATCMDSEQ queue is full"
                } else {
                    "#TCPATCMDSEQ=0"
                }
            ));
        }
    }

    /// The running line has its final result: the next queued one runs, or the bridge starts.
    pub(crate) fn tcp_atrun_done(&mut self, _job: Job) {
        if std::mem::take(&mut self.atrun.tcp.bridge_requested) && self.atrun.tcp.connected {
            self.atrun.tcp.bridge = true;
            self.explain(
                "#TCPATCONSER: bytes now pass between the TCP peer and the serial port until +++",
            );
            return;
        }
        if let Some(next) = self.atrun.tcp.queue.pop_front() {
            self.atrun_start_job(Service::Tcp, next);
        }
    }

    /// What the reserved instance wrote: to the peer once logged in, packed as the socket's
    /// `#SCFG` pktSz/txTo say.
    pub(crate) fn tcp_atrun_output(&mut self, bytes: Vec<u8>) {
        if !self.atrun.tcp.connected || self.atrun.tcp.login != Login::Done {
            self.explain(format!(
                "{} bytes of {}'s instance dropped: no logged-in peer",
                bytes.len(),
                service_name(Service::Tcp)
            ));
            return;
        }
        let conn = self.tcp_atrun_conn();
        self.telit_online_data(conn, bytes);
    }

    /// Bytes from the peer during `#TCPATCONSER`: `+++` alone in one segment ends it,
    /// anything else goes to the serial port as it is.
    fn tcp_atrun_bridge_in(&mut self, bytes: Vec<u8>) {
        if bytes == b"+++" {
            self.atrun.tcp.bridge = false;
            self.explain("#TCPATCONSER: +++ in one segment ends the bridge");
            if let Some(instance) = self.atrun.nvm.instance_of(Service::Tcp) {
                self.on_instance(instance, |m| m.write_result(&ResultCode::Ok));
            }
            return;
        }
        self.on_instance(1, |m| m.write_dte_owned(bytes));
    }

    /// Whether the serial port's bytes belong to the `#TCPATCONSER` bridge now.
    pub(crate) fn tcp_atrun_bridging(&self) -> bool {
        self.atrun.tcp.bridge
    }

    /// Bytes from the serial port's client during `#TCPATCONSER`: to the TCP peer.
    pub(crate) fn tcp_atrun_bridge_out(&mut self, bytes: Vec<u8>) {
        let conn = self.tcp_atrun_conn();
        self.telit_online_data(conn, bytes);
    }
}
