//! A host for one sans-I/O modem under the fuzzer: virtual time, every port, a socket peer that
//! keeps the host contract, and the invariants checked on everything the modem writes.
//! Panics (the fuzzer's findings) say which invariant broke.

#![allow(dead_code)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use simodem::modem::profile::{SIM900, TELIT};
use simodem::modem::{
    EventKind, Input, Instant, Modem, ModemConfig, Output, PortEvent, SocketCommand, SocketEvent,
    SocketFailure, SocketId, Transport,
};

/// Timers fired at one instant before the harness calls it a storm (a deadline that does not
/// go away would spin a real host).
const TIMER_STORM: usize = 2000;
/// Bytes of each port's input kept for the escape check.
const LOG_BYTES: usize = 8;
/// Where socket input is logged: `SOCKET_LOG + id`.
const SOCKET_LOG: u32 = 1000;

/// Reads the fuzzer's bytes as small numbers; past the end everything reads as 0.
pub struct Bytes<'a> {
    data: &'a [u8],
}

impl<'a> Bytes<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Bytes { data }
    }
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }
    pub fn take(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head.to_vec()
    }
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[usize::from(self.byte()) % items.len()]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SockState {
    Connecting,
    ListenAsked,
    Listening { waiting: usize },
    Accepting,
    Connected { unacked: usize, peer_closed: bool },
}

#[derive(Debug, Clone, Copy)]
struct Sock {
    id: SocketId,
    transport: Transport,
    state: SockState,
}

/// One modem, its time and its ports, driven by the fuzzer.
pub struct Harness {
    pub modem: Modem,
    /// Modem time in microseconds.
    pub now: u64,
    pub telit: bool,
    /// Last bytes each input stream received, with their arrival times: ports 1..=3 by number,
    /// socket `n` as `SOCKET_LOG + n` (a TCP ATRUN peer types into an AT instance too).
    logs: HashMap<u32, VecDeque<(u64, u8)>>,
    /// Every escape guard time (ms) the modem announced on entering data mode.
    guards_ms: Vec<u64>,
    sockets: Vec<Sock>,
    closed: HashSet<u32>,
    resolves: Vec<u32>,
    /// What the modem wrote on each port since the last `take_port`.
    port_out: HashMap<u8, Vec<u8>>,
    /// Bytes the modem sent on sockets (for the TCP ATRUN target's look at the answers).
    pub socket_out: Vec<(SocketId, Vec<u8>)>,
    pub escapes: usize,
    pub probes: usize,
    /// `FUZZ_TRACE=1`: print every input and output (for reading a crash).
    trace: bool,
}

impl Harness {
    pub fn new(telit: bool) -> Self {
        let profile = if telit { &TELIT } else { &SIM900 };
        let mut config = ModemConfig::new(profile);
        config.sms_ack_ms = 500;
        let modem = Modem::new(config, Instant(0));
        let mut h = Harness {
            modem,
            now: 0,
            telit,
            logs: Default::default(),
            guards_ms: Vec::new(),
            sockets: Vec::new(),
            closed: HashSet::new(),
            resolves: Vec::new(),
            port_out: HashMap::new(),
            socket_out: Vec::new(),
            escapes: 0,
            probes: 0,
            trace: std::env::var_os("FUZZ_TRACE").is_some(),
        };
        h.drain(None);
        h.input(Input::DteOpened);
        h
    }

    /// Hands the modem one input at the current time and checks what it wrote.
    pub fn input(&mut self, input: Input) {
        let port_bytes = match &input {
            Input::Dte(bytes) => Some((1, bytes.clone())),
            Input::Instance(n, PortEvent::Bytes(bytes)) => Some((u32::from(*n), bytes.clone())),
            Input::Socket(id, SocketEvent::Data(bytes)) => Some((SOCKET_LOG + id.0, bytes.clone())),
            _ => None,
        };
        if self.trace {
            eprintln!("{:>12} µs <- {input:?}", self.now);
        }
        self.modem.handle(Instant(self.now), input);
        self.drain(None);
        // Logged after the check: bytes arriving at a deadline come after what it fired.
        if let Some((stream, bytes)) = port_bytes {
            let log = self.logs.entry(stream).or_default();
            for b in bytes {
                log.push_back((self.now, b));
                if log.len() > LOG_BYTES {
                    log.pop_front();
                }
            }
        }
    }

    /// Moves time forward by `us`, firing every deadline on the way as a host would.
    pub fn advance(&mut self, us: u64) {
        let target = self.now.saturating_add(us);
        let mut same_instant = 0;
        while let Some(at) = self.modem.next_deadline() {
            if at.0 > target {
                break;
            }
            if at.0 <= self.now {
                same_instant += 1;
                assert!(
                    same_instant < TIMER_STORM,
                    "timer storm: the deadline {} µs stays due at {} µs",
                    at.0,
                    self.now
                );
            } else {
                same_instant = 0;
                self.now = at.0;
            }
            if self.trace {
                eprintln!("{:>12} µs <- Timer", self.now);
            }
            self.modem.handle(Instant(self.now), Input::Timer);
            self.drain(None);
        }
        self.now = target;
    }

    pub fn advance_ms(&mut self, ms: u64) {
        self.advance(ms.saturating_mul(1000));
    }

    /// Everything the modem wrote on `port` (1: the physical port) since the last call.
    pub fn take_port(&mut self, port: u8) -> Vec<u8> {
        self.port_out.remove(&port).unwrap_or_default()
    }

    fn drain(&mut self, _why: Option<&str>) {
        let mut escape_at = None;
        while let Some(output) = self.modem.poll_output() {
            if self.trace {
                match &output {
                    Output::Dte(bytes) | Output::InstanceDte(_, bytes) => {
                        eprintln!(
                            "{:>12} µs -> {output:?} {:?}",
                            self.now,
                            String::from_utf8_lossy(bytes)
                        )
                    }
                    _ => eprintln!("{:>12} µs -> {output:?}", self.now),
                }
            }
            match output {
                Output::Dte(bytes) => self.port_out.entry(1).or_default().extend(bytes),
                Output::InstanceDte(n, bytes) => {
                    assert!(
                        (2..=self.modem.instances()).contains(&n),
                        "output on instance {n} of a modem with {}",
                        self.modem.instances()
                    );
                    self.port_out.entry(n).or_default().extend(bytes);
                }
                Output::Socket(id, command) => self.socket_command(id, command),
                Output::Resolve { query, .. } => self.resolves.push(query),
                Output::SaveNvm(_) | Output::SubmitSms(_) => {}
                Output::Event(event) => {
                    assert!(
                        event.at.0 <= self.now,
                        "event at {} µs after now {} µs: {}",
                        event.at.0,
                        self.now,
                        event.message
                    );
                    if event.kind == EventKind::Why {
                        if let Some(guard) = announced_guard(&event.message) {
                            self.guards_ms.push(guard);
                        }
                        if is_escape(&event.message) {
                            escape_at = Some(event.at.0);
                        }
                    }
                }
            }
        }
        if let Some(at) = escape_at {
            self.check_escape(at);
        }
    }

    /// `+++` left data mode at `at`: some input stream's last three bytes must be one escape
    /// character each within the guard of the one before, after guard silence and followed by it.
    fn check_escape(&mut self, at: u64) {
        self.escapes += 1;
        let Some(&guard_ms) = self.guards_ms.iter().min() else {
            panic!("escape at {at} µs, but no data mode announced its guard time");
        };
        let guard = guard_ms * 1000;
        let ok = self.logs.values().any(|log| {
            let log: Vec<(u64, u8)> = log.iter().copied().collect();
            let n = log.len();
            if n < 3 {
                return false;
            }
            let (t1, c1) = log[n - 3];
            let (t2, c2) = log[n - 2];
            let (t3, c3) = log[n - 1];
            let before_ok = n < 4 || t1.saturating_sub(log[n - 4].0) >= guard;
            c1 == c2
                && c2 == c3
                && before_ok
                && t2 - t1 <= guard
                && t3 - t2 <= guard
                && at.saturating_sub(t3) >= guard
        });
        assert!(
            ok,
            "escape at {at} µs without guard silence (guard {guard_ms} ms); input: {:?}",
            self.logs
        );
    }

    fn socket_command(&mut self, id: SocketId, command: SocketCommand) {
        assert!(
            !self.closed.contains(&id.0),
            "{command:?} on socket {} after Close",
            id.0
        );
        match command {
            SocketCommand::Connect { transport, .. } => self.sockets.push(Sock {
                id,
                transport,
                state: SockState::Connecting,
            }),
            SocketCommand::Listen { transport, .. } => self.sockets.push(Sock {
                id,
                transport,
                state: SockState::ListenAsked,
            }),
            SocketCommand::Accept { as_id } => {
                let transport = self.sock(id).map_or(Transport::Tcp, |s| s.transport);
                if let Some(s) = self.sock_mut(id)
                    && let SockState::Listening { waiting } = &mut s.state
                {
                    *waiting = waiting.saturating_sub(1);
                }
                if transport == Transport::Udp {
                    self.sockets.retain(|s| s.id != id);
                }
                self.sockets.push(Sock {
                    id: as_id,
                    transport,
                    state: SockState::Accepting,
                });
            }
            SocketCommand::Reject => {
                if let Some(s) = self.sock_mut(id)
                    && let SockState::Listening { waiting } = &mut s.state
                {
                    *waiting = waiting.saturating_sub(1);
                }
            }
            SocketCommand::Send(bytes) => {
                if let Some(s) = self.sock_mut(id)
                    && let SockState::Connected { unacked, .. } = &mut s.state
                {
                    *unacked += bytes.len();
                }
                self.socket_out.push((id, bytes));
            }
            SocketCommand::Pause | SocketCommand::Resume => {}
            SocketCommand::Close { .. } => {
                self.closed.insert(id.0);
                self.sockets.retain(|s| s.id != id);
            }
        }
    }

    fn sock(&self, id: SocketId) -> Option<&Sock> {
        self.sockets.iter().find(|s| s.id == id)
    }

    fn sock_mut(&mut self, id: SocketId) -> Option<&mut Sock> {
        self.sockets.iter_mut().find(|s| s.id == id)
    }

    /// The peer side acts on one of the modem's sockets, as the host contract allows next.
    pub fn socket_step(&mut self, input: &mut Bytes) {
        if self.sockets.is_empty() {
            return;
        }
        let index = usize::from(input.byte()) % self.sockets.len();
        let sock = self.sockets[index];
        let choice = input.byte();
        let local = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 47000);
        let peer = SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + choice % 2)),
            40000 + u16::from(choice),
        );
        let event = match sock.state {
            SockState::Connecting | SockState::Accepting => {
                if choice.is_multiple_of(5) {
                    self.sockets.remove(index);
                    SocketEvent::Failed(if choice.is_multiple_of(2) {
                        SocketFailure::Refused
                    } else {
                        SocketFailure::Dns
                    })
                } else {
                    self.sockets[index].state = SockState::Connected {
                        unacked: 0,
                        peer_closed: false,
                    };
                    SocketEvent::Connected { local, peer }
                }
            }
            SockState::ListenAsked => {
                if choice.is_multiple_of(7) {
                    self.sockets.remove(index);
                    SocketEvent::Failed(SocketFailure::AddressInUse)
                } else {
                    self.sockets[index].state = SockState::Listening { waiting: 0 };
                    SocketEvent::Listening { local }
                }
            }
            SockState::Listening { waiting } => {
                self.sockets[index].state = SockState::Listening {
                    waiting: waiting + 1,
                };
                SocketEvent::Incoming { peer }
            }
            SockState::Connected {
                unacked,
                peer_closed,
            } => match choice % 8 {
                0..=3 if !peer_closed => {
                    let n = usize::from(input.byte() % 64) + 1;
                    SocketEvent::Data(input.take(n))
                }
                4 if unacked > 0 => {
                    self.sockets[index].state = SockState::Connected {
                        unacked: 0,
                        peer_closed,
                    };
                    SocketEvent::Sent(unacked)
                }
                5 if !peer_closed => {
                    self.sockets[index].state = SockState::Connected {
                        unacked,
                        peer_closed: true,
                    };
                    SocketEvent::Closed
                }
                6 => {
                    self.sockets.remove(index);
                    SocketEvent::Reset("connection reset by peer".into())
                }
                _ => return,
            },
        };
        self.input(Input::Socket(sock.id, event));
    }

    /// Sends `bytes` from the peer on the first connected socket, if there is one; returns it.
    pub fn peer_send(&mut self, bytes: Vec<u8>) -> Option<SocketId> {
        let id = self
            .sockets
            .iter()
            .find(|s| {
                matches!(
                    s.state,
                    SockState::Connected {
                        peer_closed: false,
                        ..
                    }
                )
            })?
            .id;
        self.input(Input::Socket(id, SocketEvent::Data(bytes)));
        Some(id)
    }

    /// Answers the oldest DNS query.
    pub fn resolve_step(&mut self, input: &mut Bytes) {
        if self.resolves.is_empty() {
            return;
        }
        let query = self.resolves.remove(0);
        let result = if input.byte().is_multiple_of(3) {
            Err(SocketFailure::Dns)
        } else {
            Ok(vec![IpAddr::V4(Ipv4Addr::LOCALHOST)])
        };
        self.input(Input::Resolved { query, result });
    }

    /// Answers every socket and DNS request at once, successfully (for set-up sequences).
    pub fn settle(&mut self) {
        for _ in 0..8 {
            let local = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 47000);
            let peer = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 40000);
            let mut events = Vec::new();
            for sock in &mut self.sockets {
                match sock.state {
                    SockState::Connecting | SockState::Accepting => {
                        sock.state = SockState::Connected {
                            unacked: 0,
                            peer_closed: false,
                        };
                        events.push((sock.id, SocketEvent::Connected { local, peer }));
                    }
                    SockState::ListenAsked => {
                        sock.state = SockState::Listening { waiting: 0 };
                        events.push((sock.id, SocketEvent::Listening { local }));
                    }
                    _ => {}
                }
            }
            let queries = std::mem::take(&mut self.resolves);
            if events.is_empty() && queries.is_empty() {
                return;
            }
            for (id, event) in events {
                self.input(Input::Socket(id, event));
            }
            for query in queries {
                let result = Ok(vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]);
                self.input(Input::Resolved { query, result });
            }
            self.advance_ms(10);
        }
    }

    /// Types a command line on port 1, waits `wait_ms` and answers the sockets it opened.
    pub fn command(&mut self, line: &str, wait_ms: u64) -> Vec<u8> {
        self.take_port(1);
        self.input(Input::Dte(line.as_bytes().to_vec()));
        self.advance_ms(wait_ms);
        self.settle();
        self.advance_ms(wait_ms);
        self.take_port(1)
    }

    /// The framing probe: in plain command mode with V1 (results `\r\n…\r\n`), `AT` after an
    /// empty line answers CR LF framed lines up to `\r\nOK\r\n`, or is held (nothing). Under
    /// V0 the answer holds `0\r`.
    pub fn probe(&mut self) {
        // The empty line ends whatever was typed; that line may change the settings.
        if self.modem.state().settings.s_register(3) != 13 {
            return;
        }
        self.input(Input::Dte(b"\r".to_vec()));
        let state = self.modem.state();
        let s = &state.settings;
        let plain = state.mode == "command"
            && !state.cmux
            && state.client_attached
            && state.dtr
            && !s.quiet
            && s.s_register(3) == 13
            && s.s_register(4) == 10
            && s.s_register(5) == 8
            && state.atrun.as_ref().is_none_or(|a| {
                a.sms.instance != Some(1) && a.tcp.instance != Some(1) && !a.tcp_bridge
            });
        if !plain {
            return;
        }
        let verbose = s.verbose;
        let echo = s.echo;
        self.take_port(1);
        self.input(Input::Dte(b"AT\r".to_vec()));
        let out = self.take_port(1);
        let body = if echo {
            match out.strip_prefix(b"AT\r") {
                Some(rest) => rest,
                None if out.is_empty() => return,
                None => panic!("echo of AT\\r missing: {:?}", String::from_utf8_lossy(&out)),
            }
        } else {
            &out[..]
        };
        if body.is_empty() {
            return;
        }
        self.probes += 1;
        let text = String::from_utf8_lossy(body);
        if verbose {
            // URCs held while a line was being typed may follow the result; the answer itself
            // is everything up to the first `\r\nOK\r\n`.
            let end = body
                .windows(6)
                .position(|w| w == b"\r\nOK\r\n")
                .unwrap_or_else(|| panic!("V1 answer to AT without \\r\\nOK\\r\\n: {text:?}"));
            let answer = &body[..end + 6];
            assert!(
                answer.starts_with(b"\r\n") && crlf_paired(answer),
                "V1 answer to AT is not \\r\\n-framed lines: {text:?}"
            );
        } else {
            assert!(
                body.windows(2).any(|w| w == b"0\r"),
                "V0 answer to AT without 0\\r: {text:?}"
            );
        }
    }
}

/// Every CR is followed by LF and every LF follows a CR.
fn crlf_paired(bytes: &[u8]) -> bool {
    bytes.iter().enumerate().all(|(i, &b)| match b {
        b'\r' => bytes.get(i + 1) == Some(&b'\n'),
        b'\n' => i > 0 && bytes[i - 1] == b'\r',
        _ => true,
    })
}

/// `FUZZ_COUNT=1`: one line per input saying how often the escape and framing checks ran
/// (to see that a corpus reaches them: `… -runs=0 corpus/modem 2>&1 | grep ^checked`).
impl Drop for Harness {
    fn drop(&mut self) {
        if std::env::var_os("FUZZ_COUNT").is_some() {
            eprintln!("checked escapes={} probes={}", self.escapes, self.probes);
        }
    }
}

/// The guard time a data-mode entry announced ("escape is 1000 ms silence, …").
fn announced_guard(message: &str) -> Option<u64> {
    let rest = message.split_once("escape is ")?.1;
    rest.split_once(" ms silence")?.0.parse().ok()
}

/// A reason line that says `+++` ended data mode (or, on a legacy Telit socket, the socket).
fn is_escape(message: &str) -> bool {
    message.starts_with("+++ with guard")
        || message.starts_with("+++ →")
        || message.contains(": +++ on a legacy")
        || message.contains(": +++ after the peer closed")
}
