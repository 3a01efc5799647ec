//! The Telit IP Easy stack's state: PDP contexts 1..5 (`#SGACT`, `+CGACT`), the six sockets
//! shared by every AT instance (`#SCFG`…`#SD`), the firewall, and what of it lives in NVM.

pub(crate) mod context;
pub(crate) mod socket;

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddr};

use serde::{Deserialize, Serialize};

use super::Instant;
use super::sockets::{SocketId, Transport};

/// Socket numbers `<connId>` 1..=6.
pub(crate) const CONN_IDS: usize = 6;
/// PDP context ids `<cid>` 1..=5.
pub(crate) const CIDS: usize = 5;

/// `#SCFG` + `#SCFGEXT` + `#SCFGEXT2` of one socket (NVM).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SocketConfig {
    /// Context the socket uses (0 = GSM context).
    pub cid: u32,
    /// Online-mode packet size; 0 means automatic (300).
    pub pkt_sz: u32,
    /// Inactivity timeout in seconds; 0 = none.
    pub max_to: u32,
    /// Connect timeout in 100 ms units (10..1200).
    pub conn_to: u32,
    /// Data-sending timeout in 100 ms units; 0 = wait for a full packet.
    pub tx_to: u32,
    /// `#SCFGEXT` srMode 0/1/2.
    pub sr_mode: u32,
    /// `#SCFGEXT` recvDataMode: 0 text, 1 hex.
    pub recv_hex: bool,
    /// `#SCFGEXT` keepalive minutes (0 off).
    pub keepalive: u32,
    /// `#SCFGEXT` ListenAutoRsp.
    pub listen_auto_rsp: bool,
    /// `#SCFGEXT` sendDataMode: 0 text, 1 hex.
    pub send_hex: bool,
    /// `#SCFGEXT2` bufferStart: 1 restarts txTo on every byte.
    pub buffer_start: u32,
    /// `#SCFGEXT2` abortConnAttempt.
    pub abort_conn_attempt: u32,
}

impl SocketConfig {
    /// The factory configuration of `conn_id` (1..=6): cid 1 for 1-3, 2 for 4-6.
    pub fn factory(conn_id: usize) -> SocketConfig {
        SocketConfig {
            cid: if conn_id <= 3 { 1 } else { 2 },
            pkt_sz: 300,
            max_to: 90,
            conn_to: 600,
            tx_to: 50,
            sr_mode: 0,
            recv_hex: false,
            keepalive: 0,
            listen_auto_rsp: false,
            send_hex: false,
            buffer_start: 0,
            abort_conn_attempt: 0,
        }
    }

    /// The packet size online data is cut into (0 → 300).
    pub fn packet_size(&self) -> usize {
        if self.pkt_sz == 0 {
            300
        } else {
            self.pkt_sz as usize
        }
    }
}

impl Default for SocketConfig {
    fn default() -> Self {
        SocketConfig::factory(1)
    }
}

/// `#SGACTCFG` of one context: retries (0 = off) and delay; urcmode is per instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AutoActivation {
    pub retry: u32,
    pub delay_s: u32,
}

impl Default for AutoActivation {
    fn default() -> Self {
        AutoActivation {
            retry: 0,
            delay_s: 180,
        }
    }
}

/// The target of the legacy `#SKTOP`/`#SKTD` (`#SKTSET`), saved by `#SKTSAV`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LegacyTarget {
    pub transport: u32,
    pub port: u32,
    pub address: String,
    pub closure: u32,
    pub local_port: u32,
}

impl Default for LegacyTarget {
    fn default() -> Self {
        LegacyTarget {
            transport: 0,
            port: 3333,
            address: String::new(),
            closure: 0,
            local_port: 0,
        }
    }
}

/// A `+CGDCONT` definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContextDefinition {
    pub pdp_type: String,
    pub apn: String,
    pub pdp_addr: String,
    pub d_comp: u32,
    pub h_comp: u32,
}

impl Default for ContextDefinition {
    /// `"IP"` with the subscribed APN (empty) and a dynamic address.
    fn default() -> Self {
        ContextDefinition {
            pdp_type: "IP".into(),
            apn: String::new(),
            pdp_addr: String::new(),
            d_comp: 0,
            h_comp: 0,
        }
    }
}

/// What of the IP Easy stack survives a reboot (spec §6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TelitIpNvm {
    /// `+CGDCONT` of cids 1..5 ([DOC] §3.3: stored in NVM as soon as set).
    pub definitions: [Option<ContextDefinition>; CIDS],
    pub sockets: [SocketConfig; CONN_IDS],
    pub auto_activation: [AutoActivation; CIDS],
    /// `#SKTSET` as `#SKTSAV` stored it.
    pub legacy_target: LegacyTarget,
    /// `#USERID`/`#PASSW` as `#SKTSAV` stored them.
    pub legacy_user: String,
    pub legacy_password: String,
}

impl Default for TelitIpNvm {
    fn default() -> Self {
        TelitIpNvm {
            // [OBS] a fresh GE865 has context 1 defined with an empty APN.
            definitions: [Some(ContextDefinition::default()), None, None, None, None],
            sockets: std::array::from_fn(|i| SocketConfig::factory(i + 1)),
            auto_activation: [AutoActivation::default(); CIDS],
            legacy_target: LegacyTarget::default(),
            legacy_user: String::new(),
            legacy_password: String::new(),
        }
    }
}

/// How a context came up: IP Easy sockets may only use one `#SGACT`/`#GPRS` activated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Activation {
    /// `#SGACT`, `#GPRS`, `#SKTOP` or auto-activation.
    IpEasy,
    /// `+CGACT`: up, but not usable by `#SD`.
    Cgact,
}

/// One PDP context's state (its definition is in `TelitIpNvm::definitions`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Context {
    /// The address and how it was activated, while active.
    pub active: Option<(Ipv4Addr, Activation)>,
}

/// `#SS` states 0..5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum SocketState {
    #[default]
    Closed,
    /// Online on its owner instance (state 1).
    Online,
    /// Suspended or command-mode connection (2, or 3 with unread data).
    Suspended,
    /// `#SL`/`#SLUDP` listening (4).
    Listening,
    /// A connection waits for `#SA`/`#SH` (5).
    Incoming,
    /// `#SD` under way (shown as 0 on 10.00.xx: states 6/7 are later firmware).
    Connecting,
}

/// Which command family opened a socket: it decides what `+++` and a close do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Origin {
    /// `#SD`, `#SL`/`#SLUDP` + `#SA`: `+++` suspends.
    #[default]
    IpEasy,
    /// `#SKTD`: `+++` closes with `NO CARRIER`.
    LegacyDial,
    /// `#SKTL`: as `#SKTD`, and `+CONN FROM:` announces the caller.
    LegacyListen,
    /// `#SKTOP`: as `#SKTD`; when it brought context 1 up, closing takes it down again.
    LegacyOpen { activated: bool },
    /// The TCP ATRUN service's socket (`#TCPATRUNL`/`#TCPATRUND`).
    Atrun,
}

impl Origin {
    pub(crate) fn is_legacy(self) -> bool {
        matches!(
            self,
            Origin::LegacyDial | Origin::LegacyListen | Origin::LegacyOpen { .. }
        )
    }
}

/// One of the six sockets.
#[derive(Debug, Clone, Default)]
pub(crate) struct TelitSocket {
    pub state: SocketState,
    /// AT instance (1..=3) that opened it; `#SO`/`#SH` must come from there.
    pub owner: u8,
    /// The real socket behind it (connection or listener).
    pub socket: Option<SocketId>,
    pub transport: Option<Transport>,
    pub local: Option<SocketAddr>,
    pub peer: Option<SocketAddr>,
    /// Received and not yet given to the client.
    pub rx: VecDeque<u8>,
    /// `#SI` counters since the socket was opened.
    pub sent: u64,
    pub received: u64,
    /// Bytes the network reported sent (`#SI` ack_waiting = sent - acked).
    pub acked: u64,
    /// The context it uses, and that context's address, from when it was opened.
    pub cid: u32,
    pub local_ip: Option<Ipv4Addr>,
    /// `<closureType>`: 0 closes when the peer does, 255 waits for `+++` / `#SH`.
    pub closure: u32,
    /// Once connected: online (`CONNECT`) or command mode (`OK`).
    pub online_when_connected: bool,
    /// A command (`#SD`, `#SA`, `#SL`, `#SKTD`…) waits for the socket's answer.
    pub awaited: bool,
    pub origin: Origin,
    /// The port `#SL`/`#SLUDP`/`#SKTL` listens on (kept while the caller waits).
    pub listen_port: Option<u16>,
    /// The peer closed (FIN): the socket stays for `<closureType>` 255 or unread data.
    pub peer_closed: bool,
    /// The real socket is gone (reset): nothing to send it, no `Close` owed.
    pub gone: bool,
    /// The real socket was asked to stop reading (`rx` full).
    pub paused: bool,
    /// Online bytes from the client not yet sent (less than a packet, waiting for txTo).
    pub tx: Vec<u8>,
    /// The last byte either way (`<maxTo>` counts from here).
    pub last_activity: Instant,
    /// The last `#SKTD` parameters (`#SKTD?`, and defaults for omitted ones).
    pub last_sktd: Option<LegacyTarget>,
}

impl TelitSocket {
    /// Whether a connection is up (online or suspended).
    pub(crate) fn is_connected(&self) -> bool {
        matches!(self.state, SocketState::Online | SocketState::Suspended)
    }

    /// The `#SS` state number: 0..5.
    pub(crate) fn ss_state(&self) -> u8 {
        match self.state {
            SocketState::Closed | SocketState::Connecting => 0,
            SocketState::Online => 1,
            SocketState::Suspended if self.rx.is_empty() => 2,
            SocketState::Suspended => 3,
            SocketState::Listening => 4,
            SocketState::Incoming => 5,
        }
    }

    /// Closed again: everything goes but the `#SI` counters and the last `#SKTD`.
    pub(crate) fn reset_keeping_counters(&mut self) {
        *self = TelitSocket {
            sent: self.sent,
            received: self.received,
            acked: self.acked,
            last_sktd: self.last_sktd.take(),
            ..TelitSocket::default()
        };
    }
}

/// Firewall ACCEPT rules (address, mask), policy DROP: `ip` passes when
/// `ip & mask == address & mask` for one of them (`#FRWL`, `#TCPATRUNFRWL`).
pub(crate) fn firewall_accepts(rules: &[(Ipv4Addr, Ipv4Addr)], ip: Ipv4Addr) -> bool {
    rules
        .iter()
        .any(|(rule, mask)| u32::from(ip) & u32::from(*mask) == u32::from(*rule) & u32::from(*mask))
}

/// What a DNS query of the IP Easy stack is for (query ids come from `IpStack::new_query`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TelitDns {
    /// `#QDNS=<name>`: the command's final result waits for the answer.
    Qdns(String),
}

/// Everything the IP Easy stack holds.
#[derive(Debug, Clone)]
pub(crate) struct TelitIp {
    pub nvm: TelitIpNvm,
    pub contexts: [Context; CIDS],
    pub sockets: [TelitSocket; CONN_IDS],
    /// `#FRWL` ACCEPT rules (address, mask); volatile.
    pub firewall: Vec<(Ipv4Addr, Ipv4Addr)>,
    /// `#SKIPESC`: 1 keeps `+++` from reaching the peer.
    pub skip_esc: u32,
    /// `#E2ESC` guard time in seconds; 0 uses S12.
    pub e2esc_s: u32,
    /// `#SKTSET` (the working copy; `#SKTSAV` stores it in `nvm`).
    pub legacy_target: LegacyTarget,
    /// `#USERID` / `#PASSW` (working copies).
    pub user_id: String,
    pub password: String,
    /// `#SGACTAUTH`: 0 none, 1 PAP (factory), 2 CHAP; volatile.
    pub auth_type: u32,
    /// GPRS service as last seen (attach and loss are edges for auto-activation).
    pub attached: bool,
    /// `#SGACTCFG` activation attempts made since the last attach, per context.
    pub auto_attempts: [u32; CIDS],
    /// DNS queries waiting for `Input::Resolved`.
    pub dns_queries: Vec<(u32, TelitDns)>,
}

impl TelitIp {
    pub(crate) fn new(nvm: TelitIpNvm) -> TelitIp {
        TelitIp {
            legacy_target: nvm.legacy_target.clone(),
            user_id: nvm.legacy_user.clone(),
            password: nvm.legacy_password.clone(),
            nvm,
            contexts: Default::default(),
            sockets: Default::default(),
            firewall: Vec::new(),
            skip_esc: 0,
            e2esc_s: 0,
            auth_type: 1,
            attached: false,
            auto_attempts: [0; CIDS],
            dns_queries: Vec::new(),
        }
    }

    /// Context `cid` (1..=5), or `None` out of range.
    pub(crate) fn context(&self, cid: u32) -> Option<&Context> {
        self.contexts.get((cid as usize).checked_sub(1)?)
    }

    pub(crate) fn context_mut(&mut self, cid: u32) -> Option<&mut Context> {
        self.contexts.get_mut((cid as usize).checked_sub(1)?)
    }

    /// The `+CGDCONT` definition of context `cid` (1..=5).
    pub(crate) fn definition(&self, cid: u32) -> Option<&ContextDefinition> {
        self.nvm
            .definitions
            .get((cid as usize).checked_sub(1)?)?
            .as_ref()
    }

    /// Whether context `cid` is up, however it was activated.
    pub(crate) fn is_active(&self, cid: u32) -> bool {
        self.context(cid).is_some_and(|c| c.active.is_some())
    }

    /// The cids (1..=5) defined with `+CGDCONT`, in order.
    pub(crate) fn defined_cids(&self) -> Vec<u32> {
        (1..=CIDS as u32)
            .filter(|&cid| self.definition(cid).is_some())
            .collect()
    }

    /// Whether at least one socket is bound (`#SCFG`) to context `cid`.
    pub(crate) fn socket_bound_to(&self, cid: u32) -> bool {
        self.nvm.sockets.iter().any(|s| s.cid == cid)
    }

    /// How many contexts are up, however they were activated.
    pub(crate) fn active_contexts(&self) -> usize {
        self.contexts.iter().filter(|c| c.active.is_some()).count()
    }

    /// The configuration of `conn_id` (1..=6).
    pub(crate) fn config(&self, conn_id: usize) -> &SocketConfig {
        &self.nvm.sockets[conn_id - 1]
    }

    /// The address of context `cid` (1..=5) if `#SGACT`/`#GPRS` brought it up.
    pub(crate) fn ip_easy_address(&self, cid: u32) -> Option<Ipv4Addr> {
        let context = self.contexts.get((cid as usize).checked_sub(1)?)?;
        match context.active {
            Some((ip, Activation::IpEasy)) => Some(ip),
            _ => None,
        }
    }

    /// `#FRWL`: an incoming connection from `ip` passes when a rule matches.
    pub(crate) fn firewall_accepts(&self, ip: Ipv4Addr) -> bool {
        firewall_accepts(&self.firewall, ip)
    }

    /// The connId (1..=6) whose real socket is `socket`.
    pub(crate) fn conn_of(&self, socket: SocketId) -> Option<usize> {
        self.sockets
            .iter()
            .position(|s| s.socket == Some(socket))
            .map(|i| i + 1)
    }
}
