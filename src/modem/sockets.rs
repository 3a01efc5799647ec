//! The contract between the core and whoever owns real sockets: what the modem asks for
//! (`SocketCommand`, `Output::Resolve`) and what it is told (`SocketEvent`, `Input::Resolved`).

use std::net::{IpAddr, SocketAddr};

/// A socket of one modem. The core numbers them (never reusing a number) and the host keeps
/// one real socket per number; a listener and every connection it accepted have their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SocketId(pub u32);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Tcp,
    Udp,
}

impl Transport {
    /// `TCP` / `UDP`, as the modem prints it.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "TCP",
            Transport::Udp => "UDP",
        }
    }
}

/// What the modem asks the host to do with one socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketCommand {
    /// Open a connection (TCP) or a connected datagram socket (UDP) to `host:port`; the host
    /// resolves a name itself. Answered by `Connected` or `Failed`.
    Connect {
        transport: Transport,
        host: String,
        port: u16,
        /// Bind this port of the host's listen address first (Telit `#SD` lPort); `None`: any.
        local_port: Option<u16>,
    },
    /// Listen on `port` of the host's listen address (127.0.0.1 unless the user chose
    /// another). Answered by `Listening` or `Failed`; each client then by `Incoming`. UDP: the
    /// first datagram of a new sender is its `Incoming`; `Accept` gives the socket (connected
    /// to that sender, with what it sent so far) to the new id and the listener ends.
    Listen {
        transport: Transport,
        port: u16,
    },
    /// Take the oldest connection waiting on this listener as socket `as_id` (answered by
    /// `Connected` for `as_id`).
    Accept {
        as_id: SocketId,
    },
    /// Refuse (reset) the oldest connection waiting on this listener.
    Reject,
    /// Bytes for the peer, in order; UDP: one datagram. Answered by `Sent`.
    Send(Vec<u8>),
    /// Stop reading from the peer (the modem's receive buffer is full) / read again.
    Pause,
    Resume,
    /// Close: gracefully after what was sent (FIN), or at once (`abort`: RST).
    /// No event follows; the number is never used again.
    Close {
        abort: bool,
    },
}

/// Why a socket could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketFailure {
    /// The peer refused the connection (RST to the SYN).
    Refused,
    /// No route, network or host unreachable.
    Unreachable,
    /// The name does not resolve.
    Dns,
    /// The port to listen on is taken.
    AddressInUse,
    /// Anything else, in words.
    Other(String),
}

impl std::fmt::Display for SocketFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SocketFailure::Refused => f.write_str("connection refused"),
            SocketFailure::Unreachable => f.write_str("network unreachable"),
            SocketFailure::Dns => f.write_str("the name does not resolve"),
            SocketFailure::AddressInUse => f.write_str("the port is in use"),
            SocketFailure::Other(text) => f.write_str(text),
        }
    }
}

/// What happened to a socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketEvent {
    /// A `Connect` or `Accept` completed.
    Connected { local: SocketAddr, peer: SocketAddr },
    /// A `Connect` or `Listen` failed; the socket is gone.
    Failed(SocketFailure),
    /// A `Listen` is bound.
    Listening { local: SocketAddr },
    /// A client connected to this listener; the core answers `Accept` or `Reject`.
    Incoming { peer: SocketAddr },
    /// Bytes from the peer (UDP: one datagram).
    Data(Vec<u8>),
    /// This many bytes of earlier `Send`s were handed to the network.
    Sent(usize),
    /// The peer closed its side (after every `Data`).
    Closed,
    /// The connection broke (peer reset, error); the socket is gone.
    Reset(String),
}

/// The answer to `Output::Resolve`.
pub type Resolution = Result<Vec<IpAddr>, SocketFailure>;
