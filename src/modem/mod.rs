//! The sans-I/O modem: `handle(now, Input)`, `poll_output()`, `next_deadline()`.
//! It never reads a clock and does no I/O; the host (or a test) feeds it time and bytes.

pub(crate) mod atrun;
mod call;
pub(crate) mod data_mode;
pub(crate) mod ip;
pub(crate) mod mux;
pub mod profile;
pub(crate) mod scripts;
pub mod settings;
pub(crate) mod sms;
mod sms_compose;
mod snapshot;
pub mod sockets;
mod state;
mod stimulus;
pub(crate) mod telit_ip;

use std::collections::VecDeque;

use crate::at::{self, Command};
use crate::commands::{self, CmdError, Done};
use crate::dte::{Framing, LineDiscipline, LineEvent, LineRegisters, ResultCode};

#[doc(hidden)]
pub use atrun::sms_request::fuzz_classify;
pub use call::{Call, CallState};
pub use profile::Profile;
pub use settings::{Nvm, Settings};
pub use snapshot::ModemState;
pub use sockets::{Resolution, SocketCommand, SocketEvent, SocketFailure, SocketId, Transport};
pub use state::{Identity, NetworkView, Radio, Service, Sim};
pub use stimulus::{NetworkChange, SimChange};

/// Modem time: microseconds since the world started. Real or virtual, the core cannot tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(pub u64);

impl Instant {
    pub fn from_millis(ms: u64) -> Self {
        Instant(ms.saturating_mul(1000))
    }
    pub fn plus_millis(self, ms: u64) -> Self {
        Instant(self.0.saturating_add(ms.saturating_mul(1000)))
    }
    pub fn as_millis(self) -> u64 {
        self.0 / 1000
    }
}

/// Everything that can happen to a modem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Bytes the client wrote, as one read returned them.
    Dte(Vec<u8>),
    /// A client opened the port (DTR raised).
    DteOpened,
    /// The client closed the port (DTR dropped).
    DteClosed,
    /// A deadline from `next_deadline()` was reached.
    Timer,
    /// Circuit 108/2 (DTR) set from the control plane while the port stays open.
    Dtr(bool),
    /// The network offers an incoming voice call from this number (empty: withheld).
    Ring(String),
    /// The other party of the current call hangs up.
    RemoteHangUp,
    /// Coverage, registration, operator or signal changed.
    Network(NetworkChange),
    /// The SIM card was pulled out or pushed in.
    Sim(SimChange),
    /// A power cycle (the power key, or `ctl reboot`); also powers on after `+CPOWD`.
    Reboot,
    /// A raw unsolicited line, framed and queued like any URC.
    Urc(String),
    /// Something happened to one of the modem's sockets.
    Socket(SocketId, SocketEvent),
    /// The answer to an `Output::Resolve`.
    Resolved { query: u32, result: Resolution },
    /// The network hands this modem a message or a status report.
    Sms(crate::network::sms::Incoming),
    /// Something on the own port of AT instance 2 or 3 (`<link>-2`, `<link>-3`); the plain
    /// `Dte*` inputs are instance 1's, the physical serial port.
    Instance(u8, PortEvent),
}

/// What happens on one AT instance's port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortEvent {
    /// Bytes the client wrote.
    Bytes(Vec<u8>),
    /// A client opened the port (DTR raised).
    Opened,
    /// The client closed it (DTR dropped).
    Closed,
}

/// Everything a modem does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Bytes for the client on the physical port (instance 1, or CMUX frames for all).
    Dte(Vec<u8>),
    /// Bytes for the client on the own port of AT instance 2 or 3.
    InstanceDte(u8, Vec<u8>),
    /// Non-volatile memory changed; the host persists it (with `--state`).
    SaveNvm(Box<Nvm>),
    /// Do something with a real socket.
    Socket(SocketId, SocketCommand),
    /// Look a host name up (`+CDNSGIP`); answered by `Input::Resolved` with the same query.
    Resolve { query: u32, name: String },
    /// A message sent into the network (`+CMGS`, `+CMSS`), already acknowledged to the client.
    SubmitSms(crate::network::sms::Submission),
    /// An explanation for logs, the trace and the control plane.
    Event(TraceEvent),
}

/// Why the modem did something, in words a person reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceEvent {
    pub at: Instant,
    pub kind: EventKind,
    pub message: String,
}

/// What sort of thing an event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A reason for something the modem did.
    Why,
    /// The modem changed mode (`off`, `command`; data modes come with data calls).
    Mode,
}

impl EventKind {
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Why => "why",
            EventKind::Mode => "mode",
        }
    }
}

/// An unsolicited line waiting for the end of the command line being typed or run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Urc {
    /// Text framed like information text (`\r\nTEXT\r\n` under V1, `TEXT\r\n` under V0).
    Line(String),
    /// Bytes exactly as they are (data received on a connection, with its header).
    Raw(Vec<u8>),
    /// A result code (`RING`, `NO CARRIER`): `2\r` under V0, nothing under Q1.
    Code(ResultCode),
}

/// Everything needed to build one modem.
#[derive(Debug, Clone)]
pub struct ModemConfig {
    pub profile: &'static Profile,
    pub identity: Identity,
    /// The SIM's PIN; `None` means the SIM asks for none.
    pub pin: Option<String>,
    pub puk: String,
    pub sim_inserted: bool,
    pub network: NetworkView,
    /// What `--state` held at start.
    pub nvm: Nvm,
    /// Wall-clock time (Unix seconds, UTC) at modem time zero, for the RTC.
    pub rtc_epoch_unix: i64,
    /// The address the network gives this modem's PDP context (`+CIFSR`).
    pub pdp_address: std::net::Ipv4Addr,
    /// Compatibility switch: accept `+CNMI` ds=2 (status reports stored, `+CDSI`) even where the
    /// model refuses it (the SIM900 answers `ERROR`, which costs python-gsmmodem a retry).
    pub cnmi_ds2: bool,
    /// How long the network takes to acknowledge a sent SMS (Ctrl-Z to `+CMGS: <mr>`).
    pub sms_ack_ms: u64,
    /// AT parser instances (Telit: 3, each with its own port; SIM900: 1).
    pub instances: u8,
}

impl ModemConfig {
    /// A modem of the given model with test identities and the default network.
    pub fn new(profile: &'static Profile) -> Self {
        ModemConfig {
            profile,
            identity: Identity::default(),
            pin: None,
            puk: "12345678".into(),
            sim_inserted: true,
            network: NetworkView::default(),
            nvm: Nvm::default(),
            rtc_epoch_unix: 1_767_225_600, // 2026-01-01 00:00:00 UTC
            pdp_address: std::net::Ipv4Addr::new(10, 64, 0, 2),
            cnmi_ds2: false,
            sms_ack_ms: profile.sms.submit_ms,
            instances: profile.at_instances,
        }
    }
}

/// Work the core has scheduled for itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimerKind {
    BootUrc(profile::BootUrc),
    SimReady,
    /// A SIM pushed in while powered has finished initialising.
    SimInserted,
    Registered,
    /// The next RING of an incoming call.
    Ring,
    /// The guard time after held escape characters.
    EscapeGuard,
    /// `+CIICR` finished bringing the context up.
    Ciicr,
    /// A connection attempt gives up.
    ConnectTimeout(SocketId),
    /// A partial transparent-mode packet waited `WaitTm`.
    TxIdle,
    /// The next slice of paced transparent output (`+CIPCCFG` Rxmode=1).
    RxPace,
    /// `+CIPATS`: send the prompt's data typed so far.
    AutoSend,
    /// The network acknowledged a sent SMS (`+CMGS: <mr>`, `+CMSS: <mr>`).
    SmsSubmitted,
    /// A `+CMT`/`+CDS` went unacknowledged (`+CSMS=1`).
    CnmaTimeout,
    /// `+CMUX` waits this long for the client to open DLCI 0.
    MuxStart,
    /// A Telit `#SD`/`#SKTD`/`#SKTOP` connect took `<connTo>`.
    TelitConnectTimeout(SocketId),
    /// Online bytes of a Telit socket waited `<txTo>`.
    TelitTxTimeout(SocketId),
    /// A Telit socket may have been idle for `<maxTo>`.
    TelitInactivity(SocketId),
    /// Telit `#SGACTCFG`: the next automatic activation attempt of context `cid`.
    TelitAutoActivation(u32),
    /// Telit `#QDNS` DNS query `n` went unanswered.
    QdnsTimeout(u32),
    /// `#ATRUNDELAY` passed: the service's instance takes its line.
    AtrunDelay(atrun::Service),
    /// A command run by a service took its timeout: the module reboots.
    AtrunTimeout(atrun::Service),
    /// A TCP ATRUN caller did not log in in time.
    TcpAtrunLogin,
    /// TCP ATRUN client mode dials again.
    TcpAtrunRetry,
    /// Telit `#WSCRIPT`: no byte of the script came for the idle timeout.
    ScriptUpload,
}

impl TimerKind {
    /// Timers of one port's own work (escape guard, packing, a prompt, a command's result):
    /// cancelling one leaves the other instances' alone.
    fn belongs_to_port(self) -> bool {
        matches!(
            self,
            TimerKind::EscapeGuard
                | TimerKind::TxIdle
                | TimerKind::RxPace
                | TimerKind::AutoSend
                | TimerKind::SmsSubmitted
                | TimerKind::ScriptUpload
        )
    }
}

/// A deadline, the instance that set it (it fires there) and what it is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timer {
    pub at: Instant,
    pub instance: u8,
    pub kind: TimerKind,
}

/// What each AT instance has of its own; the running instance's is in `Modem`'s fields, the
/// others wait here (see `Modem::switch_to`).
#[derive(Debug)]
struct InstancePort {
    settings: Settings,
    line: LineDiscipline,
    last_line: Vec<u8>,
    urc_queue: Vec<Urc>,
    baud_detected: bool,
    baud_saw_a: bool,
    dte_open: bool,
    dtr: bool,
    port_mode: data_mode::PortMode,
    data_link: Option<data_mode::DataLink>,
    escape: crate::dte::escape::EscapeDetector,
    awaiting: Option<data_mode::Awaiting>,
    held_input: Vec<u8>,
}

impl InstancePort {
    /// An instance as power-on leaves it: no client, command mode.
    fn fresh(now: Instant, settings: Settings) -> InstancePort {
        InstancePort {
            baud_detected: true,
            settings,
            line: LineDiscipline::new(),
            last_line: Vec::new(),
            urc_queue: Vec::new(),
            baud_saw_a: false,
            dte_open: false,
            dtr: true,
            port_mode: data_mode::PortMode::Command,
            data_link: None,
            escape: crate::dte::escape::EscapeDetector::new(now, b'+', 1000, true),
            awaiting: None,
            held_input: Vec::new(),
        }
    }
}

/// What `ctl state` reads of one instance's port.
pub(crate) struct PortView<'a> {
    pub settings: &'a Settings,
    pub port_mode: &'a data_mode::PortMode,
    pub data_link: bool,
    pub dte_open: bool,
    pub dtr: bool,
    pub baud_detected: bool,
}

/// The emulated module.
pub struct Modem {
    pub(crate) profile: &'static Profile,
    pub(crate) config: ModemConfig,
    pub(crate) now: Instant,
    pub(crate) settings: Settings,
    pub(crate) nvm: Nvm,
    pub(crate) radio: Radio,
    pub(crate) line: LineDiscipline,
    pub(crate) last_line: Vec<u8>,
    /// Information text of the command being executed.
    pub(crate) info: Vec<String>,
    /// URCs raised while a line runs, printed after its final result.
    pub(crate) urc_queue: Vec<Urc>,
    pub(crate) timers: Vec<Timer>,
    /// The AT instance (1-based) whose port state is in the fields above.
    current: u8,
    /// Every instance's own state while another runs (index = instance - 1).
    parked: Vec<InstancePort>,
    /// The physical port speaks CMUX (after `+CMUX`).
    pub(crate) mux: Option<mux::MuxPort>,
    /// `+CMUX` succeeded: the port switches once its `OK` is out.
    pub(crate) mux_requested: bool,
    pub(crate) powered: bool,
    /// With `+IPR=0` the modem says nothing until it has seen `AT`/`At`.
    pub(crate) baud_detected: bool,
    baud_saw_a: bool,
    pub(crate) dte_open: bool,
    /// DTR as the control plane last set it (a port open raises it, a close drops it).
    pub(crate) dtr: bool,
    pub(crate) call: Option<Call>,
    /// RTC offset set by `+CCLK=` (seconds), and its time zone in quarter hours.
    pub(crate) rtc_offset_s: i64,
    pub(crate) rtc_zone_q: i32,
    pub(crate) reboot_requested: bool,
    /// The instance whose command line is being executed now: its URCs wait for the end.
    line_running_on: Option<u8>,
    pub(crate) power_off_requested: bool,
    /// What the client's bytes are for (command lines, a prompt's payload, data).
    pub(crate) port_mode: data_mode::PortMode,
    /// The data link held while in data mode or online command state.
    pub(crate) data_link: Option<data_mode::DataLink>,
    pub(crate) escape: crate::dte::escape::EscapeDetector,
    /// A command whose final result comes later (`+CIICR`, `+CIPSEND`).
    pub(crate) awaiting: Option<data_mode::Awaiting>,
    /// Client input that arrived while `awaiting`.
    pub(crate) held_input: Vec<u8>,
    pub(crate) ip: ip::IpStack,
    pub(crate) sms: sms::SmsState,
    /// The Telit IP Easy stack (contexts, `#SD` sockets); unused by the SIM900.
    pub(crate) telit: telit_ip::TelitIp,
    /// Telit ATRUN services (SMS and TCP).
    pub(crate) atrun: atrun::Atrun,
    /// The Telit module's GPIO pins (`#GPIO`); volatile, unused by the SIM900.
    pub(crate) gpio: scripts::GpioBank,
    dte_out: Vec<u8>,
    outputs: VecDeque<Output>,
}

impl Modem {
    /// Powers the modem on at `now`.
    pub fn new(config: ModemConfig, now: Instant) -> Self {
        let profile = config.profile;
        let nvm = config.nvm.clone();
        let mut modem = Modem {
            profile,
            settings: Settings::factory(profile),
            nvm,
            radio: Radio::new(&config),
            config,
            now,
            line: LineDiscipline::new(),
            last_line: Vec::new(),
            info: Vec::new(),
            urc_queue: Vec::new(),
            timers: Vec::new(),
            current: 1,
            parked: Vec::new(),
            mux: None,
            mux_requested: false,
            powered: false,
            baud_detected: false,
            baud_saw_a: false,
            dte_open: false,
            dtr: true,
            call: None,
            rtc_offset_s: 0,
            rtc_zone_q: 0,
            reboot_requested: false,
            line_running_on: None,
            power_off_requested: false,
            port_mode: data_mode::PortMode::Command,
            data_link: None,
            escape: crate::dte::escape::EscapeDetector::new(now, b'+', 1000, true),
            awaiting: None,
            held_input: Vec::new(),
            ip: ip::IpStack::new(ip::IpSettings::default()),
            sms: sms::SmsState::new(profile),
            telit: telit_ip::TelitIp::new(telit_ip::TelitIpNvm::default()),
            atrun: atrun::Atrun::default(),
            gpio: scripts::GpioBank::factory(&profile.telit_module),
            dte_out: Vec::new(),
            outputs: VecDeque::new(),
        };
        if let Some(saved) = modem.nvm.sms.clone() {
            modem.sms.restore(&saved);
        }
        modem.power_on();
        modem.flush();
        modem
    }

    pub fn profile(&self) -> &'static Profile {
        self.profile
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The AT instance (1..=3) whose state the handlers see now.
    pub(crate) fn instance(&self) -> u8 {
        self.current
    }

    /// How many AT instances the modem has.
    pub fn instances(&self) -> u8 {
        self.config.instances
    }

    /// Runs `f` as AT instance `instance` (its settings, port and URC queue); URCs it raises
    /// there go out unless that instance's client is typing or waiting for a result.
    pub(crate) fn on_instance<R>(&mut self, instance: u8, f: impl FnOnce(&mut Modem) -> R) -> R {
        let previous = self.current;
        if !self.switch_to(instance) {
            return f(self);
        }
        let result = f(self);
        if instance != previous {
            self.flush_urcs_unless_typing();
        }
        self.switch_to(previous);
        result
    }

    /// Runs `f` on each instance in turn (each reports a shared change by its own settings).
    pub(crate) fn on_every_instance(&mut self, f: impl Fn(&mut Modem)) {
        for instance in 1..=self.config.instances {
            self.on_instance(instance, &f);
        }
    }

    /// A read-only look at one instance's port state, wherever it is kept now.
    pub(crate) fn port_view(&self, instance: u8) -> PortView<'_> {
        match self.parked.get(usize::from(instance.max(1) - 1)) {
            Some(parked) if instance != self.current => PortView {
                settings: &parked.settings,
                port_mode: &parked.port_mode,
                data_link: parked.data_link.is_some(),
                dte_open: parked.dte_open,
                dtr: parked.dtr,
                baud_detected: parked.baud_detected,
            },
            _ => PortView {
                settings: &self.settings,
                port_mode: &self.port_mode,
                data_link: self.data_link.is_some(),
                dte_open: self.dte_open,
                dtr: self.dtr,
                baud_detected: self.baud_detected,
            },
        }
    }

    /// Makes `instance` the running one: its port state moves into the modem's fields and the
    /// previous instance's is parked. Returns false for an instance the modem does not have.
    fn switch_to(&mut self, instance: u8) -> bool {
        if instance == self.current {
            return true;
        }
        if instance == 0 || instance > self.config.instances {
            return false;
        }
        // Bytes already written belong to the instance that wrote them.
        self.flush();
        let index = usize::from(instance - 1);
        let mut incoming = std::mem::replace(
            &mut self.parked[index],
            InstancePort::fresh(self.now, Settings::default()),
        );
        self.exchange_port(&mut incoming);
        self.parked[usize::from(self.current - 1)] = incoming;
        self.current = instance;
        true
    }

    /// The running instance starts over as power-on leaves one (stored profile, command mode,
    /// nothing typed), opened by `client_attached`; what it held is dropped.
    pub(crate) fn restart_instance_port(&mut self, client_attached: bool) {
        let settings = self
            .nvm
            .stored_profile
            .clone()
            .unwrap_or_else(|| Settings::factory(self.profile));
        let mut fresh = InstancePort::fresh(self.now, settings);
        fresh.dte_open = client_attached;
        fresh.baud_detected = self.current != 1 || self.settings.ipr != 0;
        self.exchange_port(&mut fresh);
        let instance = self.current;
        self.timers
            .retain(|t| !(t.instance == instance && t.kind.belongs_to_port()));
    }

    /// Swaps the running instance's port state with `other`.
    fn exchange_port(&mut self, other: &mut InstancePort) {
        use std::mem::swap;
        swap(&mut self.settings, &mut other.settings);
        swap(&mut self.line, &mut other.line);
        swap(&mut self.last_line, &mut other.last_line);
        swap(&mut self.urc_queue, &mut other.urc_queue);
        swap(&mut self.baud_detected, &mut other.baud_detected);
        swap(&mut self.baud_saw_a, &mut other.baud_saw_a);
        swap(&mut self.dte_open, &mut other.dte_open);
        swap(&mut self.dtr, &mut other.dtr);
        swap(&mut self.port_mode, &mut other.port_mode);
        swap(&mut self.data_link, &mut other.data_link);
        swap(&mut self.escape, &mut other.escape);
        swap(&mut self.awaiting, &mut other.awaiting);
        swap(&mut self.held_input, &mut other.held_input);
    }

    pub fn is_powered(&self) -> bool {
        self.powered
    }

    pub fn handle(&mut self, now: Instant, input: Input) {
        if now > self.now {
            self.now = now;
        }
        // Whatever was due by `now` happened first, however late the host noticed the
        // deadline: the same inputs at the same times give the same bytes, live or replayed.
        if input != Input::Timer && self.next_deadline().is_some_and(|at| at <= self.now) {
            self.fire_due_timers();
        }
        match input {
            Input::Dte(bytes) => self.port_event(1, PortEvent::Bytes(bytes)),
            Input::DteOpened => self.port_event(1, PortEvent::Opened),
            Input::DteClosed => self.port_event(1, PortEvent::Closed),
            Input::Instance(instance, event) => self.port_event(instance, event),
            Input::Timer => self.fire_due_timers(),
            other => {
                // Shared events (network, SMS, calls) are instance 1's to report; socket
                // code moves to a socket's owner itself.
                self.switch_to(1);
                self.stimulus(other)
            }
        }
        self.atrun_check_done();
        self.flush();
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.iter().map(|t| t.at).min()
    }

    /// Something on instance `instance`'s own port (instance 1's is the physical port).
    fn port_event(&mut self, instance: u8, event: PortEvent) {
        if instance == 1 && self.mux.is_some() {
            match event {
                PortEvent::Bytes(bytes) => self.mux_receive(&bytes),
                PortEvent::Opened => {}
                PortEvent::Closed => {
                    self.explain("the client closed the multiplexed port: CMUX ends");
                    self.end_mux();
                    self.switch_to(1);
                    self.set_dte_open(false);
                }
            }
            return;
        }
        if instance != 1 && self.carried_by_mux(instance) {
            self.explain(format!(
                "input on instance {instance}'s own port ignored: its CMUX channel has it"
            ));
            return;
        }
        if !self.switch_to(instance) {
            self.explain(format!(
                "input for AT instance {instance} ignored: the modem has {}",
                self.config.instances
            ));
            return;
        }
        self.feed_port(event);
    }

    /// Something on the running instance's port (or its CMUX channel).
    fn feed_port(&mut self, event: PortEvent) {
        if self.current == 1
            && self.tcp_atrun_bridging()
            && let PortEvent::Bytes(bytes) = event
        {
            self.tcp_atrun_bridge_out(bytes);
            return;
        }
        if self.atrun_reserver(self.current).is_some() {
            self.atrun_port_input(self.current, &event);
            return;
        }
        match event {
            PortEvent::Bytes(bytes) => {
                if !self.dte_open {
                    self.set_dte_open(true);
                }
                self.feed_dte(bytes);
            }
            PortEvent::Opened => self.set_dte_open(true),
            PortEvent::Closed => self.set_dte_open(false),
        }
    }

    // ----- internals shared with the command handlers -----

    pub(crate) fn explain(&mut self, message: impl Into<String>) {
        self.event(EventKind::Why, message.into());
    }

    pub(crate) fn event(&mut self, kind: EventKind, message: String) {
        self.push_output(Output::Event(TraceEvent {
            at: self.now,
            kind,
            message,
        }));
    }

    pub(crate) fn push_output(&mut self, output: Output) {
        // Keep byte order with events: bytes gathered so far go first.
        self.flush();
        self.outputs.push_back(output);
    }

    /// Bytes the running instance wrote go to its port, or in frames on its CMUX channel.
    fn flush(&mut self) {
        if self.dte_out.is_empty() {
            return;
        }
        let bytes = std::mem::take(&mut self.dte_out);
        if self.atrun_reserver(self.current).is_some() {
            self.atrun_capture(self.current, bytes);
            return;
        }
        let output = match (&self.mux, self.current) {
            (Some(mux), instance) if mux.engine.is_open(instance) => {
                Output::Dte(mux.engine.send(instance, &bytes))
            }
            (Some(_), 1) => Output::Event(TraceEvent {
                at: self.now,
                kind: EventKind::Why,
                message: format!(
                    "{} bytes of instance 1 dropped: the port is multiplexed and DLCI 1 is closed",
                    bytes.len()
                ),
            }),
            (_, 1) => Output::Dte(bytes),
            (_, instance) => Output::InstanceDte(instance, bytes),
        };
        self.outputs.push_back(output);
    }

    pub(crate) fn framing(&self) -> Framing {
        Framing {
            verbose: self.settings.verbose,
            quiet: self.settings.quiet,
        }
    }

    /// Bytes toward the client, if one is there to read them and the line speed is known.
    pub(crate) fn write_dte(&mut self, bytes: &[u8]) {
        if !self.powered {
            return;
        }
        if !self.baud_detected {
            return;
        }
        if !self.dte_open {
            return;
        }
        self.dte_out.extend_from_slice(bytes);
    }

    /// Bytes toward the client, taking the buffer when nothing else is waiting (data mode).
    pub(crate) fn write_dte_owned(&mut self, bytes: Vec<u8>) {
        if self.dte_out.is_empty() && self.powered && self.baud_detected && self.dte_open {
            self.dte_out = bytes;
        } else {
            self.write_dte(&bytes);
        }
    }

    /// Information text framed per V0/V1, written now (outside a command's own response).
    pub(crate) fn write_info(&mut self, lines: &[String]) {
        let mut out = Vec::new();
        self.framing().info(lines, &mut out);
        self.write_dte(&out);
    }

    /// A result code framed per ATV/ATQ, written now.
    pub(crate) fn write_result(&mut self, code: &ResultCode) {
        let mut out = Vec::new();
        self.framing().result(code, &mut out);
        self.write_dte(&out);
    }

    /// Bytes queued like a URC (received data in non-transparent mode).
    pub(crate) fn queue_raw(&mut self, bytes: Vec<u8>) {
        self.queue_urc(Urc::Raw(bytes));
        self.flush_urcs_unless_typing();
    }

    /// Raises an unsolicited result code now (or after the line being executed).
    pub(crate) fn urc(&mut self, text: impl Into<String>) {
        self.queue_urc(Urc::Line(text.into()));
    }

    /// Raises a result code as an unsolicited line (`RING`, `NO CARRIER`).
    pub(crate) fn urc_code(&mut self, code: ResultCode) {
        self.queue_urc(Urc::Code(code));
    }

    fn queue_urc(&mut self, urc: Urc) {
        if !self.powered || !self.baud_detected || !self.dte_open {
            let what = match &urc {
                Urc::Raw(bytes) => format!("{} received bytes", bytes.len()),
                other => format!("URC {other:?}"),
            };
            self.explain(format!(
                "{what} lost: no client is listening at a known speed"
            ));
            return;
        }
        self.urc_queue.push(urc);
    }

    /// Queued URCs go out, unless the port is in data mode, at a prompt or waiting for a
    /// command's result (they wait for command mode).
    pub(crate) fn flush_urcs(&mut self) {
        if self.port_mode != data_mode::PortMode::Command
            || self.awaiting.is_some()
            || self.line_running_on == Some(self.current)
        {
            return;
        }
        let urcs = std::mem::take(&mut self.urc_queue);
        for urc in urcs {
            match urc {
                Urc::Line(text) => self.write_info(std::slice::from_ref(&text)),
                Urc::Code(code) => self.write_result(&code),
                Urc::Raw(bytes) => self.write_dte_owned(bytes),
            }
        }
    }

    /// URCs raised by a timer or the world go out now, unless the client is typing a line.
    pub(crate) fn flush_urcs_unless_typing(&mut self) {
        if !self.line.is_typing() {
            self.flush_urcs();
        }
    }

    pub(crate) fn schedule(&mut self, after_ms: u64, kind: TimerKind) {
        let at = self.now.plus_millis(after_ms);
        self.schedule_at(at, kind);
    }

    /// A timer that fires at `at` on the running instance.
    pub(crate) fn schedule_at(&mut self, at: Instant, kind: TimerKind) {
        let instance = self.current;
        self.timers.push(Timer { at, instance, kind });
    }

    /// Cancels `kind`: on the running instance for a port's own timers, everywhere otherwise.
    pub(crate) fn cancel_timers(&mut self, kind: TimerKind) {
        let current = self.current;
        let port_only = kind.belongs_to_port();
        self.timers
            .retain(|t| t.kind != kind || (port_only && t.instance != current));
    }

    /// Whether a `kind` timer is pending on the running instance.
    pub(crate) fn timer_pending(&self, kind: TimerKind) -> bool {
        self.timers
            .iter()
            .any(|t| t.kind == kind && t.instance == self.current)
    }

    fn set_dte_open(&mut self, open: bool) {
        if open == self.dte_open {
            return;
        }
        self.dte_open = open;
        if open {
            self.explain("client opened the port");
            if !self.dtr {
                self.set_dtr(true, "the client opened the port");
            }
        } else {
            self.line.reset();
            self.urc_queue.clear();
            self.explain("client closed the port: partly typed line discarded");
            self.set_dtr(false, "the client closed the port");
        }
    }

    // ----- power -----

    fn power_on(&mut self) {
        self.powered = true;
        self.settings = self
            .nvm
            .stored_profile
            .clone()
            .unwrap_or_else(|| Settings::factory(self.profile));
        self.radio = Radio::new(&self.config);
        self.line.reset();
        self.last_line.clear();
        self.timers.clear();
        self.urc_queue.clear();
        self.reset_parked_instances();
        self.mux = None;
        self.mux_requested = false;
        self.call = None;
        self.reset_data_state("power on");
        self.sms.power_cycled();
        self.atrun_power_on();
        // Only the physical port (instance 1) has a line speed to detect.
        self.baud_detected = self.settings.ipr != 0 || self.current != 1;
        self.baud_saw_a = false;
        self.explain(if self.baud_detected {
            format!(
                "power on at fixed rate {} baud: boot URCs follow",
                self.settings.ipr
            )
        } else {
            "power on with +IPR=0 (auto-baud): silent until the first AT".to_string()
        });
        // Boot URCs first: at equal times timers fire in the order they were scheduled, and the
        // SIM's own `+CPIN:` announcement finishes its start-up before registration begins.
        // At auto-baud (+IPR=0) the module does not announce its start-up at all.
        if self.settings.ipr != 0 {
            for &(ms, urc) in self.profile.boot.urcs {
                self.schedule(ms, TimerKind::BootUrc(urc));
            }
        }
        self.schedule(self.profile.boot.sim_ready_ms, TimerKind::SimReady);
        // Telit: the pins start as the hardware sets them; a selected Easy Script is explained.
        self.gpio = scripts::GpioBank::factory(&self.profile.telit_module);
        self.explain_easy_script_at_boot();
        self.event(EventKind::Mode, "command".into());
    }

    fn power_off(&mut self) {
        self.powered = false;
        self.mux = None;
        self.timers.clear();
        self.urc_queue.clear();
        self.line.reset();
        self.reset_parked_instances();
        self.call = None;
        self.reset_data_state("power down");
        self.sms.power_cycled();
        self.explain("powered down: input is ignored until reboot");
        self.event(EventKind::Mode, "off".into());
    }

    /// The instances not running now start over with the running one's settings, their
    /// clients still attached.
    fn reset_parked_instances(&mut self) {
        let settings = self.settings.clone();
        let now = self.now;
        // Power-on makes every instance (they start from the stored profile).
        let count = usize::from(self.config.instances);
        if self.parked.len() != count {
            self.parked = (0..count)
                .map(|_| InstancePort::fresh(now, settings.clone()))
                .collect();
        }
        let ipr = self.settings.ipr;
        for (index, slot) in self.parked.iter_mut().enumerate() {
            if index + 1 == usize::from(self.current) {
                continue;
            }
            let mut fresh = InstancePort::fresh(now, settings.clone());
            fresh.dte_open = slot.dte_open;
            fresh.dtr = slot.dtr;
            fresh.baud_detected = index != 0 || ipr != 0;
            *slot = fresh;
        }
    }

    /// Every socket closed, data mode and prompts left, TCP/IP settings as saved by `+CIPSCONT`.
    fn reset_data_state(&mut self, why: &str) {
        self.close_everything(why);
        self.telit_close_all(why);
        self.port_mode = data_mode::PortMode::Command;
        self.data_link = None;
        self.awaiting = None;
        self.held_input.clear();
        let settings = self.nvm.ip_settings.clone().unwrap_or_default();
        self.ip = self.ip.restarted(settings);
        self.telit = telit_ip::TelitIp::new(self.nvm.telit_ip.clone().unwrap_or_default());
    }

    /// Restart as after pressing the power key (`+CFUN=1,1`, `#REBOOT`).
    pub fn reboot(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
        }
        self.explain("reboot");
        self.power_on();
        self.flush();
    }

    // ----- timers -----

    fn fire_due_timers(&mut self) {
        loop {
            let due = self
                .timers
                .iter()
                .enumerate()
                .filter(|(_, t)| t.at <= self.now)
                .min_by_key(|(i, t)| (t.at, *i))
                .map(|(i, _)| i);
            let Some(index) = due else { break };
            let timer = self.timers.remove(index);
            // A timer acts at its own deadline, however late the host noticed it: what it
            // schedules next (the next RING) keeps the cadence a replay has.
            let noticed = self.now;
            self.now = timer.at;
            self.switch_to(timer.instance);
            self.fire(timer.kind);
            self.flush_urcs_unless_typing();
            self.now = noticed;
        }
    }

    fn fire(&mut self, kind: TimerKind) {
        match kind {
            TimerKind::BootUrc(urc) => self.boot_urc(urc),
            TimerKind::SimReady => self.sim_initialised(false),
            TimerKind::SimInserted => {
                self.sim_initialised(self.profile.sim_hotplug.inserted_announces)
            }
            TimerKind::Ring => self.ring(),
            TimerKind::EscapeGuard => self.escape_guard_elapsed(),
            TimerKind::Ciicr => self.ciicr_done(),
            TimerKind::ConnectTimeout(socket) => self.connect_timed_out(socket),
            TimerKind::TxIdle => self.transparent_idle(),
            TimerKind::RxPace => self.pace_rx(),
            TimerKind::AutoSend => self.auto_send(),
            TimerKind::SmsSubmitted => self.sms_submitted(),
            TimerKind::CnmaTimeout => self.cnma_timed_out(),
            TimerKind::MuxStart => self.mux_start_timed_out(),
            TimerKind::TelitConnectTimeout(socket) => self.telit_connect_timed_out(socket),
            TimerKind::TelitTxTimeout(socket) => self.telit_tx_timed_out(socket),
            TimerKind::TelitInactivity(socket) => self.telit_inactivity(socket),
            TimerKind::TelitAutoActivation(cid) => self.telit_auto_activation_due(cid),
            TimerKind::QdnsTimeout(query) => self.telit_qdns_timed_out(query),
            TimerKind::AtrunDelay(service) => self.atrun_run_job(service),
            TimerKind::AtrunTimeout(service) => self.atrun_timed_out(service),
            TimerKind::TcpAtrunLogin => self.tcp_atrun_login_timed_out(),
            TimerKind::TcpAtrunRetry => self.tcp_atrun_retry_due(),
            TimerKind::ScriptUpload => self.script_upload_timed_out(),
            TimerKind::Registered => {
                self.radio.camped = true;
                self.radio.gprs_attached = !self.radio.gprs_detached_by_user;
                self.explain("network search finished: camped on the cell");
                self.sync_registration();
            }
        }
    }

    fn boot_urc(&mut self, urc: profile::BootUrc) {
        use profile::BootUrc;
        match urc {
            BootUrc::Rdy => self.urc("RDY"),
            BootUrc::CfunOne => self.urc("+CFUN: 1"),
            BootUrc::CpinState => {
                if self.radio.sim == Sim::Initialising {
                    self.sim_initialised(true);
                } else {
                    let text = format!("+CPIN: {}", self.radio.sim.cpin_text());
                    self.urc(text);
                }
            }
            BootUrc::CallReady => {
                if self.radio.sim == Sim::Ready && self.settings.call_ready_urc == 1 {
                    self.urc("Call Ready");
                }
            }
            BootUrc::SmsReady => {
                if self.radio.sim == Sim::Ready {
                    self.urc("SMS Ready");
                }
            }
        }
    }

    /// The SIM finished its start-up: ready, or asking for its PIN; `announce` prints `+CPIN:`.
    pub(crate) fn sim_initialised(&mut self, announce: bool) {
        if self.radio.sim != Sim::Initialising {
            return;
        }
        self.radio.sim = if self.radio.pin.is_some() {
            Sim::PinRequired { attempts_left: 3 }
        } else {
            Sim::Ready
        };
        self.explain(format!("SIM initialised: {}", self.radio.sim.cpin_text()));
        if announce {
            self.urc(format!("+CPIN: {}", self.radio.sim.cpin_text()));
        }
        self.start_network_search();
    }

    /// Begins the registration timer when radio, SIM and operator selection allow it.
    pub(crate) fn start_network_search(&mut self) {
        self.cancel_timers(TimerKind::Registered);
        if self.radio.can_search() {
            self.schedule(self.profile.boot.registration_ms, TimerKind::Registered);
        }
        self.sync_registration();
    }

    /// Emits `+CREG`/`+CGREG` URCs when the status the client was last told of has changed.
    pub(crate) fn sync_registration(&mut self) {
        let creg = self.radio.creg_stat(&self.config.network);
        if creg != self.radio.reported_creg {
            self.radio.reported_creg = creg;
            self.on_every_instance(|m| m.registration_urc("+CREG", m.settings.creg_mode, creg));
        }
        let cgreg = self.radio.cgreg_stat(&self.config.network);
        if cgreg != self.radio.reported_cgreg {
            self.radio.reported_cgreg = cgreg;
            self.on_every_instance(|m| m.registration_urc("+CGREG", m.settings.cgreg_mode, cgreg));
        }
        if !matches!(cgreg, 1 | 5) {
            self.packet_service_lost();
        }
        self.telit_packet_service_changed(matches!(cgreg, 1 | 5));
        if matches!(creg, 1 | 5) {
            self.deliver_held_sms();
        }
    }

    /// `+CREG: <stat>` (n=1) or with the cell (n=2); nothing for n=0.
    fn registration_urc(&mut self, name: &str, mode: u32, stat: u32) {
        match mode {
            1 => self.urc(format!("{name}: {stat}")),
            2 => {
                let cell = self.cell_suffix(stat);
                self.urc(format!("{name}: {stat}{cell}"));
            }
            _ => {}
        }
    }

    /// `,"LAC","CI"` when registered, else nothing.
    pub(crate) fn cell_suffix(&self, stat: u32) -> String {
        if stat == 1 || stat == 5 {
            format!(
                ",\"{:04X}\",\"{:04X}\"",
                self.config.network.lac, self.config.network.cell_id
            )
        } else {
            String::new()
        }
    }

    // ----- command state -----

    /// Client bytes that arrived together: command lines, a prompt's payload or data, switching
    /// between them as the bytes themselves ask.
    pub(crate) fn feed_dte(&mut self, bytes: Vec<u8>) {
        if !self.powered {
            return;
        }
        if self.awaiting.is_some() {
            self.hold_input(&bytes);
            return;
        }
        if self.port_mode == data_mode::PortMode::Data && self.baud_detected {
            self.feed_data(bytes);
            return;
        }
        let mut at = 0;
        while at < bytes.len() && self.powered {
            match self.port_mode {
                data_mode::PortMode::Command => {
                    self.feed_command_byte(bytes[at]);
                    at += 1;
                }
                data_mode::PortMode::Prompt(_) => at += self.feed_prompt(&bytes[at..]),
                data_mode::PortMode::Data => {
                    self.feed_data(bytes[at..].to_vec());
                    return;
                }
            }
            if self.awaiting.is_some() {
                self.hold_input(&bytes[at..]);
                return;
            }
            if self.reboot_requested {
                self.reboot_requested = false;
                self.power_on();
                return;
            }
            if self.mux_requested {
                self.mux_requested = false;
                self.start_mux();
                if at < bytes.len() {
                    self.mux_receive(&bytes[at..]);
                }
                return;
            }
            if self.power_off_requested {
                self.power_off_requested = false;
                self.power_off();
                return;
            }
        }
        // Only an LF in the same read as the command's CR is the end of its line: once the
        // client has had the prompt, an LF is payload (a binary payload may start with one).
        if let data_mode::PortMode::Prompt(prompt) = &mut self.port_mode {
            prompt.skip_lf = false;
        }
    }

    /// One byte in command state: echo, line editing, and running complete lines.
    fn feed_command_byte(&mut self, byte: u8) {
        if !self.baud_detected && !self.detect_baud(byte) {
            return;
        }
        let step = self.line.feed(byte, self.line_registers());
        if step.echo && self.settings.echo {
            self.write_dte(&[byte]);
        }
        let event = match step.event {
            // Telit's `AT#/` is the same request as `A/`.
            Some(LineEvent::Line(line)) if line == b"#/" && self.profile.hash_slash_repeats => {
                Some(LineEvent::Repeat)
            }
            other => other,
        };
        match event {
            Some(LineEvent::Line(line)) => self.run_line(line),
            Some(LineEvent::Repeat) => {
                let line = self.last_line.clone();
                self.run_line(line);
            }
            Some(LineEvent::TooLong { chars }) => {
                self.explain(format!(
                    "line of {chars} characters exceeds {} → ERROR, nothing executed",
                    self.profile.max_line_chars
                ));
                self.write_result(&ResultCode::Error);
                self.flush_urcs();
            }
            None => {}
        }
    }

    /// S3, S5 and the profile's line limit, as the discipline needs them for the next byte.
    fn line_registers(&self) -> LineRegisters {
        LineRegisters {
            terminator: self.settings.s_register(3) as u8,
            backspace: self.settings.s_register(5) as u8,
            max_chars: self.profile.max_line_chars,
        }
    }

    /// Auto-baud: bytes are lost until `A` followed by `T` or `t` arrives.
    fn detect_baud(&mut self, byte: u8) -> bool {
        if self.baud_saw_a && (byte == b'T' || byte == b't') {
            self.baud_detected = true;
            self.explain("auto-baud: rate detected from \"AT\"");
            self.line.reset();
            self.line.feed(b'A', self.line_registers());
            if self.settings.echo {
                self.write_dte(b"A");
            }
            return true;
        }
        self.baud_saw_a = byte == b'A';
        false
    }

    fn run_line(&mut self, line: Vec<u8>) {
        let outer_line = self.line_running_on.replace(self.current);
        let parsed = at::parse_line(&line);
        self.last_line = line;
        let count = parsed.commands.len();
        let mut final_code = ResultCode::Ok;
        let mut failed = false;
        let mut silent = false;
        for (i, command) in parsed.commands.iter().enumerate() {
            let is_last = i + 1 == count && parsed.error.is_none();
            self.info.clear();
            let outcome = self.execute(command);
            let info = std::mem::take(&mut self.info);
            let mut out = Vec::new();
            self.framing().info(&info, &mut out);
            self.write_dte(&out);
            match outcome {
                Ok(Done::Ok) => {}
                Ok(Done::NoFinalIfLast) => silent = is_last,
                Ok(Done::Final(text)) => {
                    if is_last {
                        final_code = ResultCode::Text(text);
                    } else {
                        let mut out = Vec::new();
                        self.framing().info(&[text], &mut out);
                        self.write_dte(&out);
                    }
                }
                Ok(Done::Result(code)) => final_code = code,
                Ok(Done::Stop(code)) => {
                    if let Some(code) = code {
                        let mut out = Vec::new();
                        self.framing().result(&code, &mut out);
                        self.write_dte(&out);
                    }
                    silent = true;
                    break;
                }
                Err(error) => {
                    self.explain(format!("{} failed: {}", describe(command), error.reason()));
                    final_code = self.error_result(&error);
                    failed = true;
                    break;
                }
            }
        }
        if !failed
            && !silent
            && let Some(error) = &parsed.error
        {
            self.explain(format!("syntax error in command line: {error:?} → ERROR"));
            final_code = self.error_result(&CmdError::Unknown);
        }
        if !silent || failed {
            let mut out = Vec::new();
            self.framing().result(&final_code, &mut out);
            self.write_dte(&out);
        }
        self.line_running_on = outer_line;
        let answered_error = failed || (!silent && parsed.error.is_some());
        self.atrun_line_ended(!answered_error);
        self.flush_urcs();
    }

    fn execute(&mut self, command: &Command) -> Result<Done, CmdError> {
        match commands::lookup(self.profile, &command.name) {
            Some(entry) => (entry.handler)(self, command),
            None => Err(CmdError::Unknown),
        }
    }

    /// The final result for an error, in the current `+CMEE` format.
    pub(crate) fn error_result(&self, error: &CmdError) -> ResultCode {
        let code = match error {
            CmdError::Plain => return ResultCode::Error,
            CmdError::Cms(code) => return ResultCode::Text(format!("+CMS ERROR: {code}")),
            CmdError::Unknown => 100,
            CmdError::Cme(code) => *code,
            CmdError::InvalidParameter => self.profile.invalid_parameter_error,
            CmdError::UnsupportedForm => self.profile.unsupported_form_error.unwrap_or(100),
        };
        match self.settings.cmee {
            1 => ResultCode::Text(format!("+CME ERROR: {code}")),
            2 => ResultCode::Text(format!(
                "+CME ERROR: {}",
                commands::cme_text(self.profile, code)
            )),
            _ => ResultCode::Error,
        }
    }

    /// Asks the host to persist NVM.
    pub(crate) fn save_nvm(&mut self) {
        let nvm = self.nvm.clone();
        self.push_output(Output::SaveNvm(Box::new(nvm)));
    }
}

/// The command as a person would write it, for explanations.
fn describe(command: &Command) -> String {
    use crate::at::Form;
    let suffix = match &command.form {
        Form::Action => String::new(),
        Form::Read => "?".into(),
        Form::Test => "=?".into(),
        Form::Set(params) => {
            let texts: Vec<String> = params
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    if commands::is_secret(&command.name, i) && !p.is_omitted() {
                        "<password>".to_string()
                    } else if p.quoted {
                        format!("\"{}\"", p.text)
                    } else {
                        p.text.clone()
                    }
                })
                .collect();
            format!("={}", texts.join(","))
        }
        Form::Basic(Some(n)) => n.to_string(),
        Form::Basic(None) => String::new(),
        Form::SRead(n) => format!("{n}?"),
        Form::SSet(n, v) => format!("{n}={v}"),
        Form::Dial(text) => text.clone(),
    };
    format!("AT{}{suffix}", command.name)
}

#[cfg(test)]
mod tests;
