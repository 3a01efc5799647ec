//! What the world and the hardware do to a modem besides its client's bytes: DTR, calls,
//! coverage and operator changes, SIM removal, power cycles and raw URCs from the control plane.

use super::{Input, Modem, Service, Sim, TimerKind};
use crate::dte::ResultCode;

/// A change of the network as this modem sees it; `None` fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkChange {
    pub service: Option<Service>,
    pub operator: Option<String>,
    /// MCC+MNC.
    pub operator_code: Option<String>,
    /// `+CSQ` rssi, 0-31 or 99.
    pub csq: Option<u32>,
    pub lac: Option<u16>,
    pub cell_id: Option<u16>,
}

/// The SIM card moving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimChange {
    Removed,
    Inserted,
}

impl Modem {
    /// Everything except client bytes, port opens/closes and timers.
    pub(super) fn stimulus(&mut self, input: Input) {
        match input {
            Input::Dtr(up) => {
                let why = if up {
                    "the control plane raised DTR"
                } else {
                    "the control plane dropped DTR"
                };
                self.set_dtr(up, why);
            }
            Input::Ring(from) => self.incoming_call(from),
            Input::Sms(incoming) => self.sms_from_network(incoming),
            Input::RemoteHangUp => self.remote_hang_up(),
            Input::Network(change) => self.network_changed(change),
            Input::Sim(SimChange::Removed) => self.sim_removed(),
            Input::Sim(SimChange::Inserted) => self.sim_inserted(),
            Input::Reboot => {
                self.explain("power cycled from outside");
                self.power_on();
            }
            Input::Urc(text) => {
                self.explain(format!("control plane raised URC {text:?}"));
                self.urc(text);
            }
            Input::Socket(id, event) => self.socket_event(id, event),
            Input::Resolved { query, result } => self.resolved(query, result),
            Input::Dte(_)
            | Input::DteOpened
            | Input::DteClosed
            | Input::Instance(..)
            | Input::Timer => {}
        }
        self.flush_urcs_unless_typing();
    }

    /// DTR moved: `&D` decides what a drop does.
    pub(crate) fn set_dtr(&mut self, up: bool, why: &str) {
        if up == self.dtr {
            self.explain(format!(
                "{why}: DTR already {}",
                if up { "up" } else { "down" }
            ));
            return;
        }
        self.dtr = up;
        if up {
            self.explain(format!("{why}: DTR raised"));
            return;
        }
        if self.dtr_dropped_on_data_link(why) {
            return;
        }
        let has_call = self.call.is_some();
        match self.settings.dtr_mode {
            0 => self.explain(format!("{why}: DTR dropped, &D0 → ignored")),
            1 => self.explain(format!(
                "{why}: DTR dropped, &D1 → stay in command mode (no data connection to leave)"
            )),
            _ if has_call => {
                self.explain(format!("{why}: DTR dropped, &D2 → hang up"));
                self.end_call("DTR dropped under &D2 → NO CARRIER");
                self.urc_code(ResultCode::NoCarrier);
            }
            _ => self.explain(format!(
                "{why}: DTR dropped, &D2 → hang up (no call to hang up)"
            )),
        }
    }

    fn network_changed(&mut self, change: NetworkChange) {
        let network = &mut self.config.network;
        let mut changes = Vec::new();
        if let Some(service) = change.service {
            network.service = service;
            changes.push(format!("service {service:?}"));
        }
        if let Some(name) = change.operator {
            network.operator_long = name.clone();
            network.operator_short = name.clone();
            changes.push(format!("operator {name:?}"));
        }
        if let Some(code) = change.operator_code {
            changes.push(format!("operator code {code}"));
            network.operator_numeric = code;
        }
        if let Some(csq) = change.csq {
            network.rssi = csq;
            changes.push(format!("CSQ {csq}"));
        }
        let old_cell = (network.lac, network.cell_id);
        if let Some(lac) = change.lac {
            network.lac = lac;
            changes.push(format!("LAC {lac:04X}"));
        }
        if let Some(cell_id) = change.cell_id {
            network.cell_id = cell_id;
            changes.push(format!("CI {cell_id:04X}"));
        }
        let cell_moved = old_cell != (network.lac, network.cell_id);
        self.explain(format!("network changed: {}", changes.join(", ")));
        if !self.powered {
            return;
        }
        if self.call.is_some() && !self.radio.is_registered(&self.config.network) {
            self.end_call("coverage lost → NO CARRIER");
            self.urc_code(ResultCode::NoCarrier);
        }
        let reported = (self.radio.reported_creg, self.radio.reported_cgreg);
        self.sync_registration();
        // With n=2 a move to another cell is reported even when the status stays the same.
        if cell_moved && reported == (self.radio.reported_creg, self.radio.reported_cgreg) {
            let creg = self.radio.reported_creg;
            let cgreg = self.radio.reported_cgreg;
            if matches!(creg, 1 | 5) && self.settings.creg_mode == 2 {
                let cell = self.cell_suffix(creg);
                self.urc(format!("+CREG: {creg}{cell}"));
            }
            if matches!(cgreg, 1 | 5) && self.settings.cgreg_mode == 2 {
                let cell = self.cell_suffix(cgreg);
                self.urc(format!("+CGREG: {cgreg}{cell}"));
            }
        }
    }

    fn sim_removed(&mut self) {
        if self.radio.sim == Sim::Absent {
            self.explain("SIM removal ignored: no SIM is inserted");
            return;
        }
        self.config.sim_inserted = false;
        self.radio.sim = Sim::Absent;
        self.radio.camped = false;
        self.cancel_timers(TimerKind::SimReady);
        self.cancel_timers(TimerKind::SimInserted);
        self.cancel_timers(TimerKind::Registered);
        self.explain("SIM removed: registration is lost");
        if self.powered {
            if self.call.is_some() {
                self.end_call("SIM removed → NO CARRIER");
                self.urc_code(ResultCode::NoCarrier);
            }
            if let Some(text) = self.profile.sim_hotplug.removed_urc {
                self.urc(text);
            }
            self.sync_registration();
        }
    }

    fn sim_inserted(&mut self) {
        if self.radio.sim != Sim::Absent {
            self.explain("SIM insertion ignored: a SIM is already inserted");
            return;
        }
        self.config.sim_inserted = true;
        if !self.powered {
            self.explain("SIM inserted into a powered-down modem: read at the next power-on");
            return;
        }
        self.radio.sim = Sim::Initialising;
        self.explain("SIM inserted: initialising");
        self.schedule(self.profile.boot.sim_ready_ms, TimerKind::SimInserted);
    }
}
