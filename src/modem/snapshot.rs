//! A serialisable picture of one modem for `ctl state` and scenario checks: mode, registers,
//! registration, network, call, and the (so far empty) PDP contexts, sockets and SMS store.

use serde::Serialize;

use super::{Call, Modem, Service, Settings};

/// What `ctl state` reports.
#[derive(Debug, Clone, Serialize)]
pub struct ModemState {
    pub model: &'static str,
    /// `off` (powered down), `command`.
    pub mode: &'static str,
    pub time_ms: u64,
    pub client_attached: bool,
    pub dtr: bool,
    /// False while an auto-baud modem waits for its first `AT`.
    pub baud_detected: bool,
    pub settings: Settings,
    pub sim: &'static str,
    pub cfun: u32,
    pub registration: Registration,
    pub network: NetworkState,
    pub call: Option<Call>,
    pub pdp_contexts: Vec<serde_json::Value>,
    pub sockets: Vec<serde_json::Value>,
    pub sms: SmsSummary,
    pub identity: IdentityState,
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
    pub stored: usize,
    pub unread: usize,
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
    /// The modem as `ctl state` shows it.
    pub fn state(&self) -> ModemState {
        let network = &self.config.network;
        let identity = &self.config.identity;
        ModemState {
            model: self.profile.id,
            mode: if self.powered { "command" } else { "off" },
            time_ms: self.now.as_millis(),
            client_attached: self.dte_open,
            dtr: self.dtr,
            baud_detected: self.baud_detected,
            settings: self.settings.clone(),
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
            pdp_contexts: Vec::new(),
            sockets: Vec::new(),
            sms: SmsSummary {
                stored: 0,
                unread: 0,
            },
            identity: IdentityState {
                number: identity.number.clone(),
                imei: identity.imei.clone(),
                imsi: identity.imsi.clone(),
                iccid: identity.iccid.clone(),
            },
        }
    }
}
