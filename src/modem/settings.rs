//! The user profile of V.250 (`&F`, `Z`, `&W`, `&V`): settings that `&W` stores in NVM,
//! with their factory values taken from the model profile.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::profile::Profile;

/// Settings stored by `AT&W` and restored by `ATZ` / power-on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub echo: bool,
    pub quiet: bool,
    pub verbose: bool,
    pub x_level: u32,
    /// `&C`: 0 DCD always on, 1 DCD follows the carrier.
    pub dcd_mode: u32,
    /// `&D`: what a DTR drop does (0 ignore, 1 command mode, 2 hang up).
    pub dtr_mode: u32,
    /// `&K`: flow control as V.250 numbers it.
    pub flow_control: u32,
    pub s_registers: BTreeMap<u32, u32>,
    pub cmee: u32,
    pub creg_mode: u32,
    pub cgreg_mode: u32,
    pub clts: u32,
    pub charset: String,
    /// SIM900 `+CIURC`: print `Call Ready`.
    pub call_ready_urc: u32,
    pub sms_text_mode: u32,
    pub clip: u32,
    pub crc: u32,
    pub cvhu: u32,
    /// `+CSMP` first octet, validity period, protocol id, coding scheme.
    pub csmp: (u32, u32, u32, u32),
    /// `+CSDH`: show the header fields in text mode.
    pub csdh: u32,
    /// `+CNMI` mode, mt, bm, ds, bfr.
    pub cnmi: (u32, u32, u32, u32, u32),
    /// UART settings: not touched by `&F`/`Z`.
    pub ipr: u32,
    pub ifc: (u32, u32),
    pub icf: (u32, u32),
    pub csclk: u32,
    /// Telit `#SGACTCFG` urcmode of this AT instance, per context 1..5: 1 prints
    /// `#SGACT: <ip>` here after an automatic activation.
    pub sgact_urc_mode: [u32; 5],
}

impl Default for Settings {
    fn default() -> Self {
        Settings::factory(&super::profile::SIM900)
    }
}

impl Settings {
    pub fn factory(profile: &Profile) -> Self {
        Settings {
            echo: true,
            quiet: false,
            verbose: true,
            x_level: 4,
            dcd_mode: 1,
            dtr_mode: 1,
            flow_control: if profile.factory_ifc == (2, 2) { 3 } else { 0 },
            s_registers: profile
                .s_registers
                .iter()
                .map(|r| (r.index, r.factory))
                .collect(),
            cmee: 0,
            creg_mode: 0,
            cgreg_mode: 0,
            clts: 0,
            charset: profile.factory_charset.to_string(),
            call_ready_urc: 1,
            sms_text_mode: 0,
            clip: 0,
            crc: 0,
            cvhu: 1,
            csmp: (17, 167, 0, 0),
            csdh: 0,
            cnmi: profile.sms.factory_cnmi,
            ipr: profile.factory_ipr,
            ifc: profile.factory_ifc,
            icf: (3, 3),
            csclk: 0,
            sgact_urc_mode: [0; 5],
        }
    }

    /// `&F`: factory values, keeping the UART settings.
    pub fn restore_factory_keeping_uart(&mut self, profile: &Profile) {
        let mut fresh = Settings::factory(profile);
        fresh.copy_uart_from(self);
        *self = fresh;
    }

    /// `Z`: the stored profile, keeping the UART settings.
    pub fn restore_saved_keeping_uart(&mut self, saved: &Settings) {
        let mut restored = saved.clone();
        restored.copy_uart_from(self);
        *self = restored;
    }

    fn copy_uart_from(&mut self, other: &Settings) {
        self.ipr = other.ipr;
        self.ifc = other.ifc;
        self.icf = other.icf;
        self.csclk = other.csclk;
    }

    pub fn s_register(&self, index: u32) -> u32 {
        self.s_registers.get(&index).copied().unwrap_or(0)
    }

    /// The `ACTIVE PROFILE` style summary line used by `&V`.
    pub fn summary(&self) -> String {
        format!(
            "E{} Q{} V{} X{} &C{} &D{} +IFC: {},{} +CMEE: {} +CREG: {} +CGREG: {} +IPR: {} +CSCS: \"{}\"",
            u8::from(self.echo),
            u8::from(self.quiet),
            u8::from(self.verbose),
            self.x_level,
            self.dcd_mode,
            self.dtr_mode,
            self.ifc.0,
            self.ifc.1,
            self.cmee,
            self.creg_mode,
            self.cgreg_mode,
            self.ipr,
            self.charset
        )
    }
}

/// What survives a power cycle: written by the host to `--state DIR` when the core asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Nvm {
    /// The `&W` profile; `None` means factory values.
    pub stored_profile: Option<Settings>,
    /// The TCP/IP settings saved by `+CIPSCONT`; `None` means factory values.
    pub ip_settings: Option<super::ip::IpSettings>,
    /// The messages on the SIM and in the module's flash, and the last TP-MR used.
    pub sms: Option<SavedMessages>,
    /// Telit socket configuration and auto-activation; `None` means factory values.
    pub telit_ip: Option<super::telit_ip::TelitIpNvm>,
    /// Telit ATRUN configuration; `None` means factory values.
    pub atrun: Option<super::atrun::AtrunNvm>,
    /// Telit Easy Script files, `#ESCRIPT` and `#STARTMODESCR`; `None` before the first change.
    pub easy_script: Option<super::scripts::EasyScriptNvm>,
    /// Telit `#SMSMODE`; `None` means the profile's factory value.
    pub sms_mode: Option<u32>,
}

/// Stored messages as the state file keeps them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct SavedMessages {
    pub messages: Vec<SavedMessage>,
    pub last_message_reference: Option<u8>,
}

/// One stored message: where, its `<stat>` (0-3) and its PDU in hex (SMSC field first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct SavedMessage {
    pub memory: String,
    pub index: usize,
    pub status: u32,
    pub pdu: String,
}
