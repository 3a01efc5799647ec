//! Peers for `--realtime` replays: real non-blocking std::net sockets on 127.0.0.1, read
//! whenever the real-time driver polls, so peer steps meet the host's real sockets.

use std::collections::{BTreeMap, VecDeque};
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use super::run::{Happening, What};
use super::virtual_net::loopback;
use crate::modem::{Instant, Transport};

/// How long a peer's write may wait for room in the socket before the step fails.
const SEND_STALL: Duration = Duration::from_secs(5);

/// The largest datagram a peer receives.
const DATAGRAM_MAX: usize = 65_536;

enum ListenSocket {
    Tcp(TcpListener),
    Udp(UdpSocket),
}

/// A connection that reached a listener and waits for an `accept` step.
enum Waiting {
    Tcp(TcpStream, SocketAddr),
    /// UDP: a new sender, and what it sent so far.
    Udp(SocketAddr, Vec<u8>),
}

struct RealListener {
    socket: ListenSocket,
    waiting: VecDeque<Waiting>,
}

enum Io {
    Tcp(TcpStream),
    Udp(UdpSocket),
    /// A UDP sender accepted on a listener: the listener's socket, this remote.
    UdpVia {
        listener: String,
        remote: SocketAddr,
    },
}

struct RealConnection {
    /// `None` once this peer reset (or closed a UDP socket).
    io: Option<Io>,
    received: Vec<u8>,
    eof: bool,
    reset: bool,
    fin_sent: bool,
}

impl RealConnection {
    fn new(io: Io, received: Vec<u8>) -> RealConnection {
        RealConnection {
            io: Some(io),
            received,
            eof: false,
            reset: false,
            fin_sent: false,
        }
    }
}

/// What a polled descriptor belongs to.
#[derive(Debug, Clone)]
pub(super) enum PollTarget {
    Listener(String),
    Connection(String),
}

/// The scenario's peers in real time.
#[derive(Default)]
pub(super) struct RealPeers {
    listeners: BTreeMap<String, RealListener>,
    connections: BTreeMap<String, RealConnection>,
    /// Connections whose name went to a newer one: kept open, no longer read.
    retired: Vec<RealConnection>,
    happenings: Vec<Happening>,
}

fn transport_name(transport: Transport) -> &'static str {
    match transport {
        Transport::Tcp => "tcp",
        Transport::Udp => "udp",
    }
}

/// Sets SO_LINGER to 0 so that closing the socket sends RST instead of FIN.
fn linger_zero(stream: &TcpStream) -> std::io::Result<()> {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket fd and a pointer to a `linger` of the size given.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// The IPv4 socket address `ip:port` as the C library takes it.
fn sockaddr_in(ip: Ipv4Addr, port: u16) -> libc::sockaddr_in {
    // SAFETY: all-zero bytes are a valid `sockaddr_in` (plain integers); the fields that
    // matter are set below, the rest (padding, BSD's sin_len) may stay 0.
    let mut address: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    address.sin_family = libc::AF_INET as libc::sa_family_t;
    address.sin_port = port.to_be();
    address.sin_addr.s_addr = u32::from(ip).to_be();
    address
}

/// A TCP connection from loopback address `from` (any port) to 127.0.0.1:`port`: std cannot
/// bind before connecting, so the socket is bound through libc. On the loopback the connect
/// completes or is refused at once; `wait` bounds it all the same (SO_SNDTIMEO).
fn tcp_connect_from(from: Ipv4Addr, port: u16, wait: Duration) -> std::io::Result<TcpStream> {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket(2); the result is checked before use.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh socket nobody else owns; the stream closes it on every path.
    let stream = unsafe { TcpStream::from_raw_fd(fd) };
    stream.set_write_timeout(Some(wait))?;
    let size = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    let local = sockaddr_in(from, 0);
    // SAFETY: a valid socket fd and a pointer to a `sockaddr_in` of the size given.
    if unsafe { libc::bind(fd, (&local as *const libc::sockaddr_in).cast(), size) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let remote = sockaddr_in(Ipv4Addr::LOCALHOST, port);
    // SAFETY: as for bind.
    if unsafe { libc::connect(fd, (&remote as *const libc::sockaddr_in).cast(), size) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    stream.set_write_timeout(None)?;
    Ok(stream)
}

/// Waits (bounded) until `fd` can be written.
fn wait_writable(fd: RawFd, wait: Duration) -> bool {
    let mut pollfd = libc::pollfd {
        fd,
        events: libc::POLLOUT,
        revents: 0,
    };
    let timeout = wait.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: one valid pollfd.
    let ready = unsafe { libc::poll(&mut pollfd, 1, timeout) };
    ready > 0
}

impl RealPeers {
    /// Transcript lines since the last call.
    pub fn take_happenings(&mut self) -> Vec<Happening> {
        std::mem::take(&mut self.happenings)
    }

    /// The descriptors to watch for readability: listeners, and connections still open for
    /// reading (a connection at EOF is not watched, or poll would wake at once forever).
    pub fn poll_fds(&self) -> Vec<(RawFd, PollTarget)> {
        let mut fds = Vec::new();
        for (name, listener) in &self.listeners {
            let fd = match &listener.socket {
                ListenSocket::Tcp(socket) => socket.as_raw_fd(),
                ListenSocket::Udp(socket) => socket.as_raw_fd(),
            };
            fds.push((fd, PollTarget::Listener(name.clone())));
        }
        for (name, connection) in &self.connections {
            if connection.eof || connection.reset {
                continue;
            }
            let fd = match &connection.io {
                Some(Io::Tcp(stream)) => stream.as_raw_fd(),
                Some(Io::Udp(socket)) => socket.as_raw_fd(),
                Some(Io::UdpVia { .. }) | None => continue,
            };
            fds.push((fd, PollTarget::Connection(name.clone())));
        }
        fds
    }

    /// Reads what a ready descriptor has; whether a peer noticed anything.
    pub fn on_ready(&mut self, now: Instant, target: &PollTarget) -> bool {
        match target {
            PollTarget::Listener(name) => self.drain_listener(now, name),
            PollTarget::Connection(name) => self.read_connection(now, name),
        }
    }

    pub fn listen(
        &mut self,
        now: Instant,
        name: &str,
        transport: Transport,
        port: u16,
    ) -> Result<(), String> {
        if self.listeners.contains_key(name) {
            return Err(format!("{name} already listens"));
        }
        let address = loopback(port);
        let cannot = |e: std::io::Error| {
            format!(
                "{name} cannot listen on {} {address}: {e}",
                transport_name(transport)
            )
        };
        let socket = match transport {
            Transport::Tcp => {
                let listener = TcpListener::bind(address).map_err(cannot)?;
                listener.set_nonblocking(true).map_err(cannot)?;
                ListenSocket::Tcp(listener)
            }
            Transport::Udp => {
                let socket = UdpSocket::bind(address).map_err(cannot)?;
                socket.set_nonblocking(true).map_err(cannot)?;
                ListenSocket::Udp(socket)
            }
        };
        self.listeners.insert(
            name.to_string(),
            RealListener {
                socket,
                waiting: VecDeque::new(),
            },
        );
        self.note(
            now,
            format!("{name} listens on {} {address}", transport_name(transport)),
        );
        Ok(())
    }

    pub fn accept(&mut self, now: Instant, listener: &str, name: &str) -> Result<bool, String> {
        if !self.listeners.contains_key(listener) {
            return Err(format!("no peer listens as {listener}"));
        }
        self.drain_listener(now, listener);
        let Some(waiting) = self
            .listeners
            .get_mut(listener)
            .and_then(|l| l.waiting.pop_front())
        else {
            return Ok(false);
        };
        let (connection, from) = match waiting {
            Waiting::Tcp(stream, from) => (RealConnection::new(Io::Tcp(stream), Vec::new()), from),
            Waiting::Udp(from, received) => {
                let io = Io::UdpVia {
                    listener: listener.to_string(),
                    remote: from,
                };
                (RealConnection::new(io, received), from)
            }
        };
        self.note(now, format!("{listener} accepts {from} as {name}"));
        if !connection.received.is_empty() {
            let bytes = connection.received.clone();
            self.happen(
                now,
                What::PeerReceived {
                    peer: name.to_string(),
                    bytes,
                },
            );
        }
        self.name_connection(name, connection);
        // Bytes that came before the accept are read now.
        self.read_connection(now, name);
        Ok(true)
    }

    pub fn connect(
        &mut self,
        now: Instant,
        name: &str,
        transport: Transport,
        port: u16,
        from: Ipv4Addr,
        wait: Duration,
    ) -> Result<(), String> {
        let address = loopback(port);
        let target = format!("{} {address}", transport_name(transport));
        let cannot = |e: std::io::Error| format!("{name} cannot connect to {target}: {e}");
        let io = match transport {
            Transport::Tcp => {
                let wait = wait.max(Duration::from_millis(1));
                let connected = if from == Ipv4Addr::LOCALHOST {
                    TcpStream::connect_timeout(&address, wait)
                } else {
                    tcp_connect_from(from, port, wait)
                };
                let stream = match connected {
                    // The kernel completed the handshake and the listener's owner reset the
                    // connection before `connect` looked: connected, then reset by the peer
                    // (a firewall turning a caller away), not a failure to connect.
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                        self.note(now, format!("{name} connects to {target}: reset at once"));
                        let turned_away = RealConnection {
                            io: None,
                            received: Vec::new(),
                            eof: false,
                            reset: true,
                            fin_sent: false,
                        };
                        self.name_connection(name, turned_away);
                        return Ok(());
                    }
                    other => other.map_err(cannot)?,
                };
                stream.set_nonblocking(true).map_err(cannot)?;
                stream.set_nodelay(true).map_err(cannot)?;
                Io::Tcp(stream)
            }
            Transport::Udp => {
                let socket =
                    UdpSocket::bind(SocketAddr::new(IpAddr::V4(from), 0)).map_err(cannot)?;
                socket.connect(address).map_err(cannot)?;
                socket.set_nonblocking(true).map_err(cannot)?;
                Io::Udp(socket)
            }
        };
        let local = match &io {
            Io::Tcp(stream) => stream.local_addr().ok(),
            Io::Udp(socket) => socket.local_addr().ok(),
            Io::UdpVia { .. } => None,
        };
        let from = local.map(|a| format!(" from {a}")).unwrap_or_default();
        self.note(now, format!("{name} connects to {target}{from}"));
        self.name_connection(name, RealConnection::new(io, Vec::new()));
        Ok(())
    }

    pub fn connected(&self, name: &str) -> Result<bool, String> {
        self.connection(name).map(|_| true)
    }

    pub fn send(&mut self, now: Instant, name: &str, bytes: &[u8]) -> Result<(), String> {
        let connection = self.connection(name)?;
        if connection.fin_sent {
            return Err(format!("{name} closed its side already"));
        }
        if connection.reset {
            return Err(format!("{name}'s connection was reset by the other end"));
        }
        self.happen(
            now,
            What::PeerSent {
                peer: name.to_string(),
                bytes: bytes.to_vec(),
            },
        );
        let failed = |e: std::io::Error| format!("{name} cannot send: {e}");
        let connection = self.connection(name)?;
        match &connection.io {
            None => Err(format!("{name} was reset")),
            Some(Io::Tcp(stream)) => {
                let mut stream = stream;
                let mut written = 0;
                while written < bytes.len() {
                    match stream.write(&bytes[written..]) {
                        Ok(n) => written += n,
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {
                            if !wait_writable(stream.as_raw_fd(), SEND_STALL) {
                                return Err(format!(
                                    "{name} cannot send: nobody read for {} s",
                                    SEND_STALL.as_secs()
                                ));
                            }
                        }
                        Err(e) => return Err(failed(e)),
                    }
                }
                Ok(())
            }
            Some(Io::Udp(socket)) => socket.send(bytes).map(|_| ()).map_err(failed),
            Some(Io::UdpVia { listener, remote }) => match self.listeners.get(listener) {
                Some(RealListener {
                    socket: ListenSocket::Udp(socket),
                    ..
                }) => socket.send_to(bytes, remote).map(|_| ()).map_err(failed),
                _ => Err(format!("{name}: listener {listener} is gone")),
            },
        }
    }

    pub fn close(&mut self, now: Instant, name: &str, abort: bool) -> Result<(), String> {
        let connection = self
            .connections
            .get_mut(name)
            .ok_or_else(|| no_connection(name))?;
        if connection.io.is_none() {
            return Err(format!("{name} was reset already"));
        }
        if connection.fin_sent && !abort {
            return Err(format!("{name} closed its side already"));
        }
        connection.fin_sent = true;
        if abort {
            if let Some(Io::Tcp(stream)) = &connection.io {
                linger_zero(stream).map_err(|e| format!("{name} cannot reset: {e}"))?;
            }
            // Closing the socket with SO_LINGER 0 sends the RST.
            connection.io = None;
        } else {
            match &connection.io {
                Some(Io::Tcp(stream)) => stream
                    .shutdown(Shutdown::Write)
                    .map_err(|e| format!("{name} cannot close: {e}"))?,
                // UDP has no FIN: the socket just goes.
                _ => connection.io = None,
            }
        }
        let how = if abort {
            "resets (RST)"
        } else {
            "closes (FIN)"
        };
        self.note(now, format!("{name} {how}"));
        Ok(())
    }

    pub fn pending(&mut self, name: &str) -> Result<&mut Vec<u8>, String> {
        self.connections
            .get_mut(name)
            .map(|c| &mut c.received)
            .ok_or_else(|| no_connection(name))
    }

    pub fn closed(&self, name: &str) -> Result<bool, String> {
        self.connection(name).map(|c| c.eof || c.reset)
    }

    // ----- internals -----

    fn connection(&self, name: &str) -> Result<&RealConnection, String> {
        self.connections
            .get(name)
            .ok_or_else(|| no_connection(name))
    }

    fn name_connection(&mut self, name: &str, connection: RealConnection) {
        if let Some(old) = self.connections.insert(name.to_string(), connection) {
            self.retired.push(old);
        }
    }

    /// Takes every connection the kernel has for this listener into its queue (TCP), or reads
    /// every datagram (UDP), so poll does not wake for them again.
    fn drain_listener(&mut self, now: Instant, name: &str) -> bool {
        let Some(listener) = self.listeners.get_mut(name) else {
            return false;
        };
        let mut notes = Vec::new();
        let mut datagrams = Vec::new();
        match &listener.socket {
            ListenSocket::Tcp(socket) => loop {
                match socket.accept() {
                    Ok((stream, from)) => {
                        let _ = stream.set_nodelay(true);
                        match stream.set_nonblocking(true) {
                            Ok(()) => {
                                notes.push(format!(
                                    "a connection from {from} waits for {name} to accept"
                                ));
                                listener.waiting.push_back(Waiting::Tcp(stream, from));
                            }
                            Err(e) => notes.push(format!("{name} drops {from}: {e}")),
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => {
                        notes.push(format!("{name} cannot accept: {e}"));
                        break;
                    }
                }
            },
            ListenSocket::Udp(socket) => {
                let mut buf = vec![0u8; DATAGRAM_MAX];
                loop {
                    match socket.recv_from(&mut buf) {
                        Ok((n, from)) => datagrams.push((from, buf[..n].to_vec())),
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        Err(_) => break,
                    }
                }
            }
        }
        let heard = !notes.is_empty() || !datagrams.is_empty();
        for text in notes {
            self.note(now, text);
        }
        for (from, bytes) in datagrams {
            self.route_datagram(now, name, from, bytes);
        }
        heard
    }

    /// A datagram on a UDP listener: to the connection accepted for its sender, or queued.
    fn route_datagram(&mut self, now: Instant, listener: &str, from: SocketAddr, bytes: Vec<u8>) {
        let accepted = self.connections.iter_mut().find(|(_, c)| {
            matches!(&c.io, Some(Io::UdpVia { listener: l, remote }) if l == listener && *remote == from)
        });
        if let Some((peer, connection)) = accepted {
            connection.received.extend_from_slice(&bytes);
            let peer = peer.clone();
            self.happen(now, What::PeerReceived { peer, bytes });
            return;
        }
        let Some(listening) = self.listeners.get_mut(listener) else {
            return;
        };
        let known = listening.waiting.iter_mut().find_map(|w| match w {
            Waiting::Udp(sender, held) if *sender == from => Some(held),
            _ => None,
        });
        match known {
            Some(held) => held.extend_from_slice(&bytes),
            None => {
                listening.waiting.push_back(Waiting::Udp(from, bytes));
                self.note(
                    now,
                    format!("a datagram from {from} waits for {listener} to accept"),
                );
            }
        }
    }

    /// Reads what a connection has (until it would block), noting EOF and resets.
    fn read_connection(&mut self, now: Instant, name: &str) -> bool {
        let Some(connection) = self.connections.get_mut(name) else {
            return false;
        };
        if connection.eof || connection.reset {
            return false;
        }
        let mut received = Vec::new();
        let mut ended = None;
        let mut buf = vec![0u8; DATAGRAM_MAX];
        match &connection.io {
            Some(Io::Tcp(stream)) => {
                let mut stream = stream;
                loop {
                    match stream.read(&mut buf) {
                        Ok(0) => {
                            ended = Some(false);
                            break;
                        }
                        Ok(n) => received.extend_from_slice(&buf[..n]),
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(_) => {
                            ended = Some(true);
                            break;
                        }
                    }
                }
            }
            Some(Io::Udp(socket)) => loop {
                match socket.recv(&mut buf) {
                    Ok(n) => received.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    // ICMP port unreachable shows up as a refused recv: nobody listens yet.
                    Err(e) if e.kind() == ErrorKind::ConnectionRefused => {}
                    Err(_) => break,
                }
            },
            Some(Io::UdpVia { .. }) | None => return false,
        }
        connection.received.extend_from_slice(&received);
        match ended {
            Some(true) => connection.reset = true,
            Some(false) => connection.eof = true,
            None => {}
        }
        let heard = !received.is_empty() || ended.is_some();
        if !received.is_empty() {
            let peer = name.to_string();
            self.happen(
                now,
                What::PeerReceived {
                    peer,
                    bytes: received,
                },
            );
        }
        match ended {
            Some(true) => self.note(now, format!("{name} sees the connection reset")),
            Some(false) => self.note(now, format!("{name} sees the other end close (EOF)")),
            None => {}
        }
        heard
    }

    fn note(&mut self, now: Instant, text: String) {
        self.happen(now, What::Net(text));
    }

    fn happen(&mut self, at: Instant, what: What) {
        self.happenings.push(Happening { at, modem: 0, what });
    }
}

fn no_connection(name: &str) -> String {
    format!("no peer connection is called {name}: connect or accept it first")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Instant = Instant(0);

    /// Polls the peers' sockets until `done` holds (at most 5 s), reading what comes.
    fn poll_until(peers: &mut RealPeers, done: impl Fn(&mut RealPeers) -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !done(peers) {
            let now = std::time::Instant::now();
            assert!(now < deadline, "timed out");
            let targets = peers.poll_fds();
            let mut fds: Vec<libc::pollfd> = targets
                .iter()
                .map(|(fd, _)| libc::pollfd {
                    fd: *fd,
                    events: libc::POLLIN,
                    revents: 0,
                })
                .collect();
            let wait = (deadline - now).as_millis() as i32;
            // SAFETY: a valid array of pollfd of the given length.
            unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, wait) };
            for ((_, target), pollfd) in targets.iter().zip(&fds) {
                if pollfd.revents != 0 {
                    peers.on_ready(NOW, target);
                }
            }
        }
    }

    fn notes(peers: &mut RealPeers) -> Vec<String> {
        peers
            .take_happenings()
            .into_iter()
            .filter_map(|h| match h.what {
                What::Net(text) => Some(text),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn real_tcp_peers_talk_half_close_and_reset_with_rst() {
        let mut peers = RealPeers::default();
        peers
            .listen(NOW, "srv", Transport::Tcp, 47120)
            .expect("listen");
        let wait = Duration::from_secs(1);
        peers
            .connect(NOW, "cli", Transport::Tcp, 47120, LOCALHOST, wait)
            .expect("connect");
        assert_eq!(peers.connected("cli"), Ok(true));
        poll_until(&mut peers, |p| p.accept(NOW, "srv", "conn") == Ok(true));
        peers.send(NOW, "cli", b"AT\r").expect("send");
        poll_until(&mut peers, |p| p.pending("conn").map(|b| b.len()) == Ok(3));
        assert_eq!(peers.pending("conn").expect("conn").as_slice(), b"AT\r");
        peers.close(NOW, "cli", false).expect("FIN");
        poll_until(&mut peers, |p| p.closed("conn") == Ok(true));
        // Half-closed: cli still receives.
        peers.send(NOW, "conn", b"OK\r\n").expect("send");
        poll_until(&mut peers, |p| p.pending("cli").map(|b| b.len()) == Ok(4));
        assert_eq!(peers.pending("cli").expect("cli").as_slice(), b"OK\r\n");
        peers.close(NOW, "conn", true).expect("RST");
        poll_until(&mut peers, |p| p.closed("cli") == Ok(true));
        let notes = notes(&mut peers);
        assert_eq!(notes[0], "srv listens on tcp 127.0.0.1:47120");
        assert!(notes.contains(&"conn sees the other end close (EOF)".to_string()));
        assert_eq!(
            notes.last().map(String::as_str),
            Some("cli sees the connection reset"),
            "{notes:?}"
        );
        assert_eq!(
            peers.send(NOW, "cli", b"x"),
            Err("cli closed its side already".into())
        );
        assert_eq!(
            peers.close(NOW, "conn", true),
            Err("conn was reset already".into())
        );
    }

    #[test]
    fn a_real_udp_listener_accepts_a_sender_by_its_first_datagram() {
        let mut peers = RealPeers::default();
        peers
            .listen(NOW, "echo", Transport::Udp, 47121)
            .expect("listen");
        peers
            .connect(NOW, "a", Transport::Udp, 47121, LOCALHOST, SECOND)
            .expect("connect");
        assert_eq!(peers.accept(NOW, "echo", "e"), Ok(false));
        peers.send(NOW, "a", b"one").expect("send");
        poll_until(&mut peers, |p| p.accept(NOW, "echo", "e") == Ok(true));
        peers.send(NOW, "a", b"two").expect("send");
        poll_until(&mut peers, |p| p.pending("e").map(|b| b.len()) == Ok(6));
        assert_eq!(peers.pending("e").expect("e").as_slice(), b"onetwo");
        peers.send(NOW, "e", b"back").expect("send");
        poll_until(&mut peers, |p| p.pending("a").map(|b| b.len()) == Ok(4));
        assert_eq!(peers.pending("a").expect("a").as_slice(), b"back");
    }

    const LOCALHOST: Ipv4Addr = Ipv4Addr::LOCALHOST;
    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn a_real_peer_connects_from_another_loopback_address() {
        let mut peers = RealPeers::default();
        peers
            .listen(NOW, "srv", Transport::Tcp, 47123)
            .expect("listen");
        let far = Ipv4Addr::new(127, 0, 0, 2);
        peers
            .connect(NOW, "far", Transport::Tcp, 47123, far, SECOND)
            .expect("connect");
        poll_until(&mut peers, |p| p.accept(NOW, "srv", "conn") == Ok(true));
        let notes = notes(&mut peers);
        assert!(
            notes
                .iter()
                .any(|n| n.starts_with("far connects to tcp 127.0.0.1:47123 from 127.0.0.2:")),
            "{notes:?}"
        );
        assert!(
            notes
                .iter()
                .any(|n| n.starts_with("a connection from 127.0.0.2:")),
            "{notes:?}"
        );
        assert!(
            peers
                .connect(NOW, "nobody", Transport::Tcp, 47125, far, SECOND)
                .is_err(),
            "refused: nobody listens"
        );
    }
}
