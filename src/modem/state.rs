//! Identity, SIM and radio state of one modem, and the network as that modem sees it.
//! Registration status is derived from these, never stored twice.

use super::ModemConfig;

/// Numbers that identify the module and its SIM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub imei: String,
    pub imsi: String,
    pub iccid: String,
    /// The subscriber number (`+CNUM`), empty when the SIM does not store one.
    pub number: String,
    /// The SMS service centre provisioned on the SIM.
    pub smsc: String,
}

impl Default for Identity {
    fn default() -> Self {
        Identity {
            imei: "490154203237518".into(),
            imsi: "001010123456789".into(),
            iccid: "89010100000123456789".into(),
            number: "+15550000001".into(),
            smsc: "+15550009999".into(),
        }
    }
}

/// What the serving network offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Home,
    Roaming,
    Searching,
    Denied,
    None,
}

/// The network as seen from this modem's cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkView {
    pub service: Service,
    pub operator_long: String,
    pub operator_short: String,
    /// MCC+MNC, e.g. `00101`.
    pub operator_numeric: String,
    pub lac: u16,
    pub cell_id: u16,
    /// `+CSQ` rssi (0-31) and ber (0-7).
    pub rssi: u32,
    pub ber: u32,
}

impl Default for NetworkView {
    fn default() -> Self {
        NetworkView {
            service: Service::Home,
            operator_long: "simodem".into(),
            operator_short: "simodem".into(),
            operator_numeric: "00101".into(),
            lac: 0x1A2B,
            cell_id: 0x0C3D,
            rssi: 20,
            ber: 0,
        }
    }
}

/// The SIM as the module sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sim {
    Absent,
    /// Powering up (boot, `+CFUN=1` after `+CFUN=0`).
    Initialising,
    PinRequired {
        attempts_left: u8,
    },
    PukRequired {
        attempts_left: u8,
    },
    /// Too many wrong PUKs.
    Blocked,
    Ready,
}

impl Sim {
    /// The `+CPIN:` word for this state.
    pub fn cpin_text(&self) -> &'static str {
        match self {
            Sim::Absent => "NOT INSERTED",
            Sim::Initialising | Sim::Blocked => "NOT READY",
            Sim::PinRequired { .. } => "SIM PIN",
            Sim::PukRequired { .. } => "SIM PUK",
            Sim::Ready => "READY",
        }
    }

    /// The error a command that needs the SIM gets, if any.
    pub fn access_error(&self) -> Option<u16> {
        match self {
            Sim::Absent => Some(10),
            Sim::Initialising => Some(14),
            Sim::PinRequired { .. } => Some(11),
            Sim::PukRequired { .. } => Some(12),
            Sim::Blocked => Some(13),
            Sim::Ready => None,
        }
    }
}

/// Radio, registration and operator selection.
#[derive(Debug, Clone)]
pub struct Radio {
    /// `+CFUN`: 0 minimum, 1 full, 4 RF off.
    pub cfun: u32,
    pub sim: Sim,
    /// The current PIN (changes after a PUK unblock).
    pub pin: Option<String>,
    /// The network search has finished and the modem sits on a cell.
    pub camped: bool,
    /// `+COPS` mode (0 auto, 1 manual, 2 deregistered, 4 manual/auto) and read format.
    pub cops_mode: u32,
    pub cops_format: u32,
    pub gprs_attached: bool,
    pub gprs_detached_by_user: bool,
    /// The statuses the client was last told of (for URCs on change).
    pub reported_creg: u32,
    pub reported_cgreg: u32,
    /// Telit `+CGCLASS` (`B`, `CG`, `CC`), `+CGSMS` service, `#SIMDET` mode and `#BND` band:
    /// kept and read back; their radio effects are not emulated.
    pub gprs_class: String,
    pub sms_service: u32,
    pub sim_detect: u32,
    pub band: u32,
    /// Telit `#MONI=<number>`: the cell `AT#MONI` reports (0 serving, 1..6 a neighbour, 7 the
    /// table of all seven); volatile, 0 at power-on.
    pub moni_cell: u32,
}

impl Radio {
    pub fn new(config: &ModemConfig) -> Self {
        Radio {
            cfun: 1,
            sim: if config.sim_inserted {
                Sim::Initialising
            } else {
                Sim::Absent
            },
            pin: config.pin.clone(),
            camped: false,
            cops_mode: 0,
            cops_format: 0,
            gprs_attached: false,
            gprs_detached_by_user: false,
            reported_creg: 0,
            reported_cgreg: 0,
            gprs_class: "B".into(),
            sms_service: 3,
            sim_detect: 2,
            band: 0,
            moni_cell: 0,
        }
    }

    /// Whether a network search can run now.
    pub fn can_search(&self) -> bool {
        self.cfun == 1 && self.sim == Sim::Ready && self.cops_mode != 2
    }

    /// `+CREG` `<stat>`: 0 idle, 1 home, 2 searching, 3 denied, 5 roaming.
    pub fn creg_stat(&self, network: &NetworkView) -> u32 {
        if !self.can_search() {
            return 0;
        }
        if !self.camped {
            return 2;
        }
        match network.service {
            Service::Home => 1,
            Service::Roaming => 5,
            Service::Searching => 2,
            Service::Denied => 3,
            Service::None => 0,
        }
    }

    pub fn is_registered(&self, network: &NetworkView) -> bool {
        matches!(self.creg_stat(network), 1 | 5)
    }

    /// `+CGREG` `<stat>`: the CS status while GPRS-attached, else 0.
    pub fn cgreg_stat(&self, network: &NetworkView) -> u32 {
        let creg = self.creg_stat(network);
        match creg {
            1 | 5 if self.gprs_attached => creg,
            1 | 5 => 0,
            other => other,
        }
    }
}
