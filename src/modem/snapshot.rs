//! A serialisable picture of one modem for `ctl state` and scenario checks: mode, registers,
//! registration, network, call, and the (so far empty) PDP contexts, sockets and SMS store.

use serde::Serialize;

use super::data_mode::PortMode;
use super::ip::{LinkState, PdpContext};
use super::{Call, Modem, Service, Settings};

/// What `ctl state` reports.
#[derive(Debug, Clone, Serialize)]
pub struct ModemState {
    pub model: &'static str,
    /// `off` (powered down), `command`, `online-command` (a data link held), `prompt`, `data`.
    pub mode: &'static str,
    pub time_ms: u64,
    pub client_attached: bool,
    pub dtr: bool,
    /// False while an auto-baud modem waits for its first `AT`.
    pub baud_detected: bool,
    pub settings: Settings,
    /// The Telit's AT instances (empty for a modem with one).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub instances: Vec<InstanceState>,
    /// The physical port runs the CMUX multiplexer.
    pub cmux: bool,
    pub sim: &'static str,
    pub cfun: u32,
    pub registration: Registration,
    pub network: NetworkState,
    pub call: Option<Call>,
    /// The SIMCom TCP/IP stack (absent on other models): its contexts, `+CIPSTATUS` state,
    /// local address, server and connections.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdp_contexts: Option<Vec<PdpContext>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sockets: Option<Vec<SocketState>>,
    /// The Telit IP Easy stack: contexts and `#SD` sockets (absent on other models).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_easy: Option<IpEasyState>,
    /// The Telit ATRUN services: which instance each reserves, and what runs (absent on other
    /// models).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub atrun: Option<AtrunState>,
    /// The Telit module's GPIO pins as `#GPIO` sets and reads them (absent on other models).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpio: Option<Vec<super::scripts::GpioPinState>>,
    pub sms: SmsSummary,
    pub identity: IdentityState,
}

/// The Telit IP Easy stack as `ctl state` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct IpEasyState {
    /// Active contexts: cid, address and whether `#SGACT`/`#GPRS` (not `+CGACT`) brought it up.
    pub contexts: Vec<IpEasyContext>,
    /// Sockets not closed, as `#SS` numbers their states.
    pub sockets: Vec<IpEasySocket>,
    pub firewall_rules: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct IpEasyContext {
    pub cid: u32,
    pub address: String,
    pub ip_easy: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct IpEasySocket {
    pub conn_id: usize,
    /// `#SS` state 1..5.
    pub state: u8,
    pub owner: u8,
    pub protocol: &'static str,
    pub peer: Option<String>,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub bytes_unread: usize,
}

/// The ATRUN services as `ctl state` shows them (passwords never appear).
#[derive(Debug, Clone, Serialize)]
pub struct AtrunState {
    pub sms: AtrunServiceState,
    pub tcp: AtrunServiceState,
    /// TCP ATRUN: `server`, `client` or `off`; a peer connected, logged in; the `#TCPATCONSER`
    /// bridge running.
    pub tcp_mode: &'static str,
    pub tcp_connected: bool,
    pub tcp_logged_in: bool,
    pub tcp_bridge: bool,
}

/// One ATRUN service.
#[derive(Debug, Clone, Serialize)]
pub struct AtrunServiceState {
    pub enabled: bool,
    /// The AT instance it reserves (while enabled).
    pub instance: Option<u8>,
    /// The command line running now (or waiting for `#ATRUNDELAY`).
    pub running: Option<String>,
    /// Requests or lines waiting for it.
    pub waiting: usize,
    /// Why it takes nothing now (table B.19), if it does not.
    pub blocked: Option<String>,
}

/// One AT instance as `ctl state` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct InstanceState {
    pub instance: u8,
    pub mode: &'static str,
    pub client_attached: bool,
    pub dtr: bool,
    /// Its CMUX DLCI is open (its own port is then ignored).
    pub cmux_channel: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct IpState {
    pub state: String,
    pub local_address: String,
    pub multi: bool,
    pub transparent: bool,
    pub server_port: Option<u16>,
}

/// One connection as `ctl state` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SocketState {
    pub link: usize,
    pub protocol: &'static str,
    pub remote: String,
    pub state: &'static str,
    pub accepted: bool,
    pub bytes_sent: u64,
    pub bytes_unread: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Registration {
    /// `+CREG` / `+CGREG` `<stat>` as the modem would answer now.
    pub creg: u32,
    pub cgreg: u32,
    pub gprs_attached: bool,
    pub cops_mode: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct NetworkState {
    pub service: &'static str,
    pub operator: String,
    pub operator_code: String,
    pub csq: u32,
    pub ber: u32,
    pub lac: String,
    pub cell_id: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SmsSummary {
    /// Messages in all memories, and how many of them are REC UNREAD.
    pub stored: usize,
    pub unread: usize,
    /// Per memory: name, used, capacity.
    pub memories: Vec<MemoryState>,
    /// Messages the network keeps for this modem (memory full, not registered, waiting +CNMA).
    pub held_by_network: usize,
    /// The TP-MR of the last message sent (`None` before the first).
    pub last_message_reference: Option<u8>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MemoryState {
    pub name: &'static str,
    pub used: usize,
    pub capacity: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct IdentityState {
    pub number: String,
    pub imei: String,
    pub imsi: String,
    pub iccid: String,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Service::Home => "home",
            Service::Roaming => "roaming",
            Service::Searching => "searching",
            Service::Denied => "denied",
            Service::None => "none",
        }
    }

    pub fn from_name(name: &str) -> Option<Service> {
        [
            Service::Home,
            Service::Roaming,
            Service::Searching,
            Service::Denied,
            Service::None,
        ]
        .into_iter()
        .find(|s| s.name() == name)
    }
}

impl Modem {
    /// `off`, `command`, `online-command`, `prompt` or `data` for one instance's port.
    fn mode_name(&self, view: &super::PortView<'_>) -> &'static str {
        match (view.port_mode, view.data_link) {
            _ if !self.powered => "off",
            (PortMode::Data, _) => "data",
            (PortMode::Prompt(_), _) => "prompt",
            (PortMode::Command, true) => "online-command",
            (PortMode::Command, false) => "command",
        }
    }

    fn atrun_state(&self) -> AtrunState {
        use super::atrun::{Service, line_text};
        let atrun = &self.atrun;
        let service = |service: Service, waiting: usize| AtrunServiceState {
            enabled: atrun.nvm.instance_of(service).is_some(),
            instance: atrun.nvm.instance_of(service),
            running: atrun.job_line(service).map(line_text),
            waiting,
            blocked: atrun.blocked(service).map(|b| format!("{b:?}")),
        };
        AtrunState {
            sms: service(Service::Sms, atrun.sms.pending.len()),
            tcp: service(Service::Tcp, atrun.tcp.queue.len()),
            tcp_mode: if atrun.nvm.tcp_server {
                "server"
            } else if atrun.nvm.tcp_client {
                "client"
            } else {
                "off"
            },
            tcp_connected: atrun.tcp.connected,
            tcp_logged_in: atrun.tcp.connected && atrun.tcp.logged_in(),
            tcp_bridge: atrun.tcp.bridge,
        }
    }

    fn ip_easy_state(&self) -> IpEasyState {
        let telit = &self.telit;
        IpEasyState {
            contexts: (1..=super::telit_ip::CIDS as u32)
                .filter_map(|cid| {
                    let (ip, how) = telit.context(cid)?.active?;
                    Some(IpEasyContext {
                        cid,
                        address: ip.to_string(),
                        ip_easy: how == super::telit_ip::Activation::IpEasy,
                    })
                })
                .collect(),
            sockets: telit
                .sockets
                .iter()
                .enumerate()
                .filter(|(_, s)| s.ss_state() != 0)
                .map(|(i, s)| IpEasySocket {
                    conn_id: i + 1,
                    state: s.ss_state(),
                    owner: s.owner,
                    protocol: s.transport.map_or("", |t| t.name()),
                    peer: s.peer.map(|p| p.to_string()),
                    bytes_sent: s.sent,
                    bytes_received: s.received,
                    bytes_unread: s.rx.len(),
                })
                .collect(),
            firewall_rules: telit.firewall.len(),
        }
    }

    /// The modem as `ctl state` shows it.
    pub fn state(&self) -> ModemState {
        let network = &self.config.network;
        let identity = &self.config.identity;
        let main = self.port_view(1);
        let simcom = self.profile.has_family(crate::commands::Family::Simcom);
        ModemState {
            model: self.profile.id,
            mode: self.mode_name(&main),
            time_ms: self.now.as_millis(),
            client_attached: main.dte_open,
            dtr: main.dtr,
            baud_detected: main.baud_detected,
            settings: main.settings.clone(),
            instances: if self.config.instances > 1 {
                (1..=self.config.instances)
                    .map(|instance| {
                        let view = self.port_view(instance);
                        InstanceState {
                            instance,
                            mode: self.mode_name(&view),
                            client_attached: view.dte_open,
                            dtr: view.dtr,
                            cmux_channel: self.carried_by_mux(instance),
                        }
                    })
                    .collect()
            } else {
                Vec::new()
            },
            cmux: self.mux.is_some(),
            sim: self.radio.sim.cpin_text(),
            cfun: self.radio.cfun,
            registration: Registration {
                creg: self.radio.creg_stat(network),
                cgreg: self.radio.cgreg_stat(network),
                gprs_attached: self.radio.gprs_attached,
                cops_mode: self.radio.cops_mode,
            },
            network: NetworkState {
                service: network.service.name(),
                operator: network.operator_long.clone(),
                operator_code: network.operator_numeric.clone(),
                csq: network.rssi,
                ber: network.ber,
                lac: format!("{:04X}", network.lac),
                cell_id: format!("{:04X}", network.cell_id),
            },
            call: self.call.clone(),
            pdp_contexts: simcom.then(|| self.ip.contexts.clone()),
            ip: simcom.then(|| IpState {
                state: self.ip.state_text(),
                local_address: self.local_ip().to_string(),
                multi: self.ip.settings.mux,
                transparent: self.ip.settings.transparent,
                server_port: self.ip.server.as_ref().map(|s| s.port),
            }),
            sockets: simcom.then(|| {
                (0..super::ip::LINKS)
                    .filter_map(|n| {
                        let link = self.ip.links[n].as_ref()?;
                        Some(SocketState {
                            link: n,
                            protocol: link.transport.name(),
                            remote: format!("{}:{}", link.remote_ip(), link.port),
                            state: match link.state {
                                LinkState::Connecting => "connecting",
                                LinkState::Connected => "connected",
                                LinkState::Closed => "closed",
                            },
                            accepted: link.accepted,
                            bytes_sent: link.tx_sent,
                            bytes_unread: link.rx.len(),
                        })
                    })
                    .collect()
            }),
            ip_easy: self
                .profile
                .has_family(crate::commands::Family::TelitIp)
                .then(|| self.ip_easy_state()),
            atrun: self
                .profile
                .has_family(crate::commands::Family::TelitIp)
                .then(|| self.atrun_state()),
            gpio: self
                .profile
                .has_family(crate::commands::Family::Telit)
                .then(|| self.gpio.states()),
            sms: self.sms_summary(),
            identity: IdentityState {
                number: identity.number.clone(),
                imei: identity.imei.clone(),
                imsi: identity.imsi.clone(),
                iccid: identity.iccid.clone(),
            },
        }
    }
}

impl Modem {
    fn sms_summary(&self) -> SmsSummary {
        let messages = self
            .sms
            .memories
            .iter()
            .flat_map(|m| m.slots.iter().flatten());
        SmsSummary {
            stored: messages.clone().count(),
            unread: messages
                .filter(|s| s.status == super::sms::Status::RecUnread)
                .count(),
            memories: self
                .sms
                .memories
                .iter()
                .map(|m| MemoryState {
                    name: m.name,
                    used: m.used(),
                    capacity: m.capacity(),
                })
                .collect(),
            held_by_network: self.sms.held_by_network.len(),
            last_message_reference: self.sms.last_mr,
        }
    }
}
