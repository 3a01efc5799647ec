//! What the client's bytes mean right now: command lines, a `> ` prompt's payload, or data for a
//! link (transparent TCP/UDP, a Telit online socket, a dial-up call) with the `+++` escape,
//! `ATO`, DTR and carrier loss.

use super::ip::{LinkState, prefix};
use super::sockets::Transport;
use super::{EventKind, Modem, TimerKind};
use crate::dte::ResultCode;
use crate::dte::escape::{EscapeDetector, Expired, Passed};

/// The connection data mode carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DataLink {
    /// Transparent mode on link `n` (`+CIPMODE=1`).
    Socket(usize),
    /// Telit online mode on socket `<connId>` 1..=6 (`#SD`, `#SA`, `#SO`, `#SKTD`…).
    TelitSocket(usize),
    /// `ATD*99#`: a packet data call (PPP is not emulated: its bytes are dropped).
    DialUp,
}

/// What a `> ` prompt collects the payload for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PromptPurpose {
    /// `+CIPSEND` on link `n`.
    CipSend { link: usize },
    /// `+CMGS`/`+CMGW`: a message's text or PDU.
    Sms(super::sms::SmsPrompt),
    /// Telit `#SSEND` (up to Ctrl-Z, BS deletes, excess dropped) / `#SSENDEXT` (fixed length)
    /// on socket `conn`; `hex`: typed as hex pairs (sendDataMode=1).
    TelitSend { conn: usize, hex: bool },
    /// Telit `#WSCRIPT`: exactly `<size>` raw bytes of a script file (prompt `\r\n>>>`).
    Script(super::scripts::ScriptUpload),
}

/// A payload being typed after `> `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Prompt {
    pub purpose: PromptPurpose,
    /// Exactly this many bytes (binary, no terminator), or up to Ctrl-Z / ESC.
    pub fixed_len: Option<usize>,
    pub data: Vec<u8>,
    /// Most bytes a variable-length payload may have; more make the send fail.
    pub max: usize,
    pub overflow: bool,
    /// The LF right after the command's CR is not payload.
    pub skip_lf: bool,
    /// Echo what is typed (`E1`, and for PDUs the profile's choice).
    pub echo: bool,
}

impl Prompt {
    /// A prompt opened by the command line just ended: nothing typed yet, the LF right after
    /// the command's CR not payload.
    pub(crate) fn new(
        purpose: PromptPurpose,
        fixed_len: Option<usize>,
        max: usize,
        echo: bool,
    ) -> Prompt {
        Prompt {
            purpose,
            fixed_len,
            data: Vec::new(),
            max,
            overflow: false,
            skip_lf: true,
            echo,
        }
    }
}

/// How a prompt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PromptEnd {
    /// Ctrl-Z or the fixed length reached (or the `+CIPATS` timer).
    Done(Vec<u8>),
    /// ESC.
    Cancelled,
    /// More than the maximum before Ctrl-Z.
    TooLong,
}

/// What the client's bytes are for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PortMode {
    Command,
    Prompt(Prompt),
    Data,
}

/// A command whose final result comes later; the client's input waits meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Awaiting {
    /// `+CIICR` bringing the context up.
    Ciicr,
    /// `+CIPSEND` waiting for its bytes to leave (`SEND OK`).
    SendOk { link: usize },
    /// `+CMGS`/`+CMSS` waiting for the network to acknowledge message `mr`.
    SmsSubmit {
        mr: u8,
        command: super::sms::SendCommand,
    },
    /// Telit socket `conn` connecting (`#SD`, `#SKTD`, `#SKTOP`) or being accepted (`#SA`).
    TelitOpen { conn: usize },
    /// Telit socket `conn` starting to listen (`#SL`, `#SLUDP`, `#SKTL`).
    TelitListen { conn: usize },
    /// Telit `#QDNS` waiting for DNS answer `query`.
    Qdns { query: u32 },
    /// `#TCPATRUND=1` waiting for the service's first connect.
    TcpAtrunDial,
    /// `#TCPATRUNL=1` waiting for the service's socket to listen.
    TcpAtrunListen,
}

/// Input held while a command waits for its result: beyond this it is dropped.
const HELD_INPUT_LIMIT: usize = 64 * 1024;

const CTRL_Z: u8 = 0x1a;
const ESC: u8 = 0x1b;
const BACKSPACE: u8 = 0x08;

impl Modem {
    pub(crate) fn in_data_mode(&self) -> bool {
        self.port_mode == PortMode::Data
    }

    pub(crate) fn data_link_is(&self, link: DataLink) -> bool {
        self.data_link == Some(link)
    }

    /// Switches the port to data mode for `link` (after `CONNECT` was written).
    pub(crate) fn enter_data_mode(&mut self, link: DataLink) {
        let carrier_rises = self.data_link.is_none();
        self.data_link = Some(link);
        if carrier_rises {
            self.mux_signals_changed(false);
        }
        self.port_mode = PortMode::Data;
        self.line.reset();
        let (escape_char, guard_ms, enabled) = self.escape_rules(link);
        self.escape = EscapeDetector::new(self.now, escape_char, guard_ms, enabled);
        self.event(EventKind::Mode, "data".into());
        self.explain(format!(
            "data mode on {}: bytes pass raw; {}",
            describe_link(link),
            if enabled {
                format!(
                    "escape is {guard_ms} ms silence, {0}{0}{0}, {guard_ms} ms silence",
                    char::from(escape_char)
                )
            } else {
                "+++ is data (+CIPCCFG esc=0); DTR still leaves".into()
            }
        ));
        if let DataLink::Socket(n) = link {
            self.pace_rx();
            let waiting = self.ip.links[n].as_ref().map_or(0, |l| l.rx.len());
            if waiting > 0 && self.ip.settings.ccfg.rx_mode == 0 {
                let bytes = self.take_rx(n, waiting);
                self.write_dte_owned(bytes);
            }
        }
        if let DataLink::TelitSocket(conn) = link {
            self.telit_went_online(conn);
        }
    }

    /// S2, the guard time (S12 in 1/50 s) and whether `+++` may escape at all on this link.
    fn escape_rules(&self, link: DataLink) -> (u8, u64, bool) {
        let escape_char = u8::try_from(self.settings.s_register(2)).unwrap_or(b'+');
        let s12_ms = u64::from(self.settings.s_register(12)) * 20;
        let (guard_ms, enabled) = match link {
            DataLink::Socket(_) => (s12_ms, self.ip.settings.ccfg.esc == 1),
            // `#E2ESC` (seconds) overrides S12 when set.
            DataLink::TelitSocket(_) if self.telit.e2esc_s > 0 => {
                (u64::from(self.telit.e2esc_s) * 1000, true)
            }
            DataLink::TelitSocket(_) | DataLink::DialUp => (s12_ms, true),
        };
        // Under CMUX the module does not look for `+++`: an MSC break escapes instead.
        let enabled = enabled && self.mux.is_none();
        (escape_char, guard_ms, enabled)
    }

    /// Leaves data mode keeping the link: online command state.
    pub(crate) fn leave_data_mode(&mut self, why: &str) {
        if self.port_mode != PortMode::Data {
            return;
        }
        self.port_mode = PortMode::Command;
        self.cancel_timers(TimerKind::EscapeGuard);
        self.cancel_timers(TimerKind::RxPace);
        self.explain(format!(
            "{why} → command mode, the link stays up (ATO returns)"
        ));
        self.event(EventKind::Mode, "command".into());
        if let Some(DataLink::TelitSocket(conn)) = self.data_link {
            self.telit_suspend(conn);
        }
    }

    /// The data link is gone (closed, carrier lost): command mode, nothing to return to.
    pub(crate) fn drop_data_link(&mut self) {
        let was_data = self.port_mode == PortMode::Data;
        let had_carrier = self.data_link.take().is_some();
        if had_carrier {
            self.mux_signals_changed(false);
        }
        if was_data {
            self.port_mode = PortMode::Command;
            self.event(EventKind::Mode, "command".into());
        }
        self.cancel_timers(TimerKind::EscapeGuard);
        self.cancel_timers(TimerKind::RxPace);
    }

    /// `ATO`: back to data mode if the link is still there.
    pub(crate) fn resume_data_mode(&mut self) -> bool {
        let Some(link) = self.data_link else {
            return false;
        };
        let alive = match link {
            DataLink::Socket(n) => self.ip.links[n]
                .as_ref()
                .is_some_and(|l| l.state == LinkState::Connected),
            DataLink::TelitSocket(conn) => self.telit_resumable(conn),
            DataLink::DialUp => true,
        };
        if !alive {
            self.data_link = None;
        }
        alive
    }

    /// Hangs up the data link (`ATH`, DTR under `&D2`); returns what it was.
    pub(crate) fn hang_up_data_link(&mut self, why: &str) -> Option<DataLink> {
        let link = self.data_link?;
        match link {
            DataLink::Socket(n) => self.close_link(n, false, why),
            DataLink::TelitSocket(conn) => self.telit_close(conn, false, why),
            DataLink::DialUp => {
                self.explain(format!("data call ended: {why}"));
                self.drop_data_link();
            }
        }
        Some(link)
    }

    /// Client bytes while in data mode, all arrived together at `self.now`.
    pub(crate) fn feed_data(&mut self, bytes: Vec<u8>) {
        match self.escape.feed(self.now, &bytes) {
            Passed::Whole => self.forward_data(bytes),
            Passed::Bytes(passed) => {
                if !passed.is_empty() {
                    self.forward_data(passed);
                }
            }
        }
        self.cancel_timers(TimerKind::EscapeGuard);
        if let Some(at) = self.escape.deadline() {
            self.schedule_at(at, TimerKind::EscapeGuard);
        }
    }

    /// The escape detector's guard time ended.
    pub(crate) fn escape_guard_elapsed(&mut self) {
        match self.escape.expire(self.now) {
            Expired::Escape => {
                if let Some(DataLink::TelitSocket(conn)) = self.data_link {
                    let escape_char = u8::try_from(self.settings.s_register(2)).unwrap_or(b'+');
                    self.telit_escape(conn, escape_char);
                } else {
                    self.leave_data_mode("+++ with guard time before and after");
                    self.write_result(&ResultCode::Ok);
                }
                self.flush_urcs();
            }
            Expired::Data(bytes) => {
                self.explain("escape characters not followed by a full escape: they are data");
                self.forward_data(bytes);
            }
            Expired::Nothing => {}
        }
        if let Some(at) = self.escape.deadline() {
            self.schedule_at(at, TimerKind::EscapeGuard);
        }
    }

    /// Data-mode bytes toward the link.
    fn forward_data(&mut self, bytes: Vec<u8>) {
        match self.data_link {
            Some(DataLink::Socket(n)) => self.pack_transparent(n, bytes),
            Some(DataLink::TelitSocket(conn)) => self.telit_online_data(conn, bytes),
            Some(DataLink::DialUp) | None => {}
        }
    }

    /// `+CIPCCFG` packing: full packets of SendSz go at once, the rest after WaitTm idle.
    fn pack_transparent(&mut self, n: usize, bytes: Vec<u8>) {
        let size = (self.ip.settings.ccfg.send_sz as usize).max(1);
        let ready = take_whole_packets(&mut self.ip.tx_pending, bytes, size);
        if !ready.is_empty() {
            let udp = self.ip.links[n]
                .as_ref()
                .is_some_and(|l| l.transport == Transport::Udp);
            if udp {
                for packet in ready.chunks(size) {
                    self.link_send(n, packet.to_vec(), false);
                }
            } else {
                self.link_send(n, ready, false);
            }
        }
        self.cancel_timers(TimerKind::TxIdle);
        if !self.ip.tx_pending.is_empty() {
            let idle_ms =
                u64::from(self.ip.settings.ccfg.wait_tm) * self.profile.ip.wait_tm_unit_ms;
            self.schedule(idle_ms, TimerKind::TxIdle);
        }
    }

    /// WaitTm passed with a partial packet: send it.
    pub(crate) fn transparent_idle(&mut self) {
        let pending = std::mem::take(&mut self.ip.tx_pending);
        if pending.is_empty() {
            return;
        }
        match self.data_link {
            Some(DataLink::Socket(n)) => self.link_send(n, pending, false),
            _ => self.explain("partial packet dropped: the link is gone"),
        }
    }

    /// Paced transparent output (`+CIPCCFG` Rxmode=1): RxSize bytes every Rxtimer ms.
    pub(crate) fn pace_rx(&mut self) {
        let Some(DataLink::Socket(n)) = self.data_link else {
            return;
        };
        if !self.in_data_mode() || self.ip.settings.ccfg.rx_mode == 0 {
            return;
        }
        if self.timer_pending(TimerKind::RxPace) {
            return;
        }
        let size = self.ip.settings.ccfg.rx_size as usize;
        let bytes = self.take_rx(n, size);
        if bytes.is_empty() {
            return;
        }
        self.write_dte_owned(bytes);
        self.schedule(
            u64::from(self.ip.settings.ccfg.rx_timer_ms),
            TimerKind::RxPace,
        );
    }

    /// Bytes typed after `> `; returns how many of `bytes` the prompt took.
    pub(crate) fn feed_prompt(&mut self, bytes: &[u8]) -> usize {
        let PortMode::Prompt(prompt) = &mut self.port_mode else {
            return 0;
        };
        let mut used = 0;
        let prompt_echo = prompt.echo;
        let reprompt = matches!(&prompt.purpose, PromptPurpose::Sms(sms) if sms.reprompt_on_cr);
        let uploading = matches!(prompt.purpose, PromptPurpose::Script(_));
        if prompt.skip_lf {
            prompt.skip_lf = false;
            if bytes.first() == Some(&b'\n') {
                used = 1;
            }
        }
        let rest = &bytes[used..];
        let mut end = None;
        let taken = match prompt.fixed_len {
            Some(len) => {
                let take = rest.len().min(len - prompt.data.len());
                prompt.data.extend_from_slice(&rest[..take]);
                if prompt.data.len() == len {
                    end = Some(PromptEnd::Done(std::mem::take(&mut prompt.data)));
                }
                take
            }
            None => {
                let stop = rest.iter().position(|&b| b == CTRL_Z || b == ESC);
                let body = &rest[..stop.unwrap_or(rest.len())];
                if let PromptPurpose::TelitSend { .. } = prompt.purpose {
                    // `#SSEND`: BS takes back the byte before it; beyond the maximum bytes
                    // are dropped and the rest is still sent.
                    for &byte in body {
                        if byte == BACKSPACE {
                            prompt.data.pop();
                        } else if prompt.data.len() < prompt.max {
                            prompt.data.push(byte);
                        }
                    }
                } else if prompt.data.len() + body.len() > prompt.max {
                    prompt.overflow = true;
                } else {
                    prompt.data.extend_from_slice(body);
                }
                match stop {
                    Some(i) => {
                        end = Some(if rest[i] == ESC {
                            PromptEnd::Cancelled
                        } else if prompt.overflow {
                            PromptEnd::TooLong
                        } else {
                            PromptEnd::Done(std::mem::take(&mut prompt.data))
                        });
                        i + 1
                    }
                    None => rest.len(),
                }
            }
        };
        if reprompt {
            self.echo_sms_text_reprompting(&rest[..taken], prompt_echo);
        } else if prompt_echo {
            let echoed: Vec<u8> = rest[..taken]
                .iter()
                .copied()
                .filter(|&b| b != CTRL_Z && b != ESC)
                .collect();
            self.write_dte(&echoed);
        }
        if uploading && taken > 0 && end.is_none() {
            self.script_upload_progressed();
        }
        if let Some(end) = end {
            self.end_prompt(end);
        }
        used + taken
    }

    /// The prompt is over: carry out what it was for.
    pub(crate) fn end_prompt(&mut self, end: PromptEnd) {
        let PortMode::Prompt(prompt) = std::mem::replace(&mut self.port_mode, PortMode::Command)
        else {
            return;
        };
        self.cancel_timers(TimerKind::AutoSend);
        match prompt.purpose {
            PromptPurpose::CipSend { link } => self.cipsend_payload(link, end),
            PromptPurpose::Sms(sms) => self.sms_prompt_ended(sms, end),
            PromptPurpose::TelitSend { conn, hex } => self.telit_send_payload(conn, hex, end),
            PromptPurpose::Script(upload) => self.script_upload_ended(upload, end),
        }
    }

    /// `+CIPATS` timer: send what was typed so far.
    pub(crate) fn auto_send(&mut self) {
        if let PortMode::Prompt(prompt) = &mut self.port_mode {
            let data = std::mem::take(&mut prompt.data);
            self.explain("+CIPATS timer: the typed data is sent");
            self.end_prompt(PromptEnd::Done(data));
        }
    }

    /// The `+CIPSEND` payload is complete (or cancelled).
    fn cipsend_payload(&mut self, n: usize, end: PromptEnd) {
        let mux = self.ip.settings.mux;
        let prefix = prefix(mux, n);
        let connected = self.ip.links[n]
            .as_ref()
            .is_some_and(|l| l.state == LinkState::Connected);
        match end {
            PromptEnd::Cancelled => {
                self.explain("ESC: the send is cancelled, nothing sent");
                self.write_result(&ResultCode::Ok);
            }
            PromptEnd::TooLong => {
                self.explain(format!(
                    "more than {} bytes before Ctrl-Z → ERROR, nothing sent",
                    self.profile.ip.max_send
                ));
                let code = self.error_result(&crate::commands::CmdError::Plain);
                self.write_result(&code);
            }
            PromptEnd::Done(data) if data.is_empty() => {
                self.explain("Ctrl-Z with no data → ERROR");
                self.write_result(&ResultCode::Error);
            }
            PromptEnd::Done(_) if !connected => {
                self.explain(format!("connection {n} is gone → {prefix}SEND FAIL"));
                self.write_result(&ResultCode::Text(format!("{prefix}SEND FAIL")));
            }
            PromptEnd::Done(data) => {
                let len = data.len();
                let quick = self.ip.settings.qsend == 1;
                let report = self.ip.settings.sprt != 2;
                self.link_send(n, data, !quick && report);
                if quick {
                    self.explain(format!("{len} bytes buffered (+CIPQSEND=1) → DATA ACCEPT"));
                    let text = if mux {
                        format!("DATA ACCEPT:{n},{len}")
                    } else {
                        format!("DATA ACCEPT:{len}")
                    };
                    self.write_result(&ResultCode::Text(text));
                } else if report {
                    self.explain(format!(
                        "{len} bytes handed to the socket; SEND OK once sent"
                    ));
                    self.awaiting = Some(Awaiting::SendOk { link: n });
                    return;
                }
            }
        }
        self.flush_urcs();
    }

    /// A command that was waiting ends with this result; held input runs afterwards.
    pub(crate) fn finish_awaiting(&mut self, code: Option<ResultCode>) {
        if self.awaiting.take().is_none() {
            return;
        }
        if let Some(code) = code {
            self.write_result(&code);
        }
        self.flush_urcs();
        let held = std::mem::take(&mut self.held_input);
        if !held.is_empty() {
            self.feed_dte(held);
        }
    }

    /// A command that was waiting goes on into online mode on `link`: URCs first, `CONNECT`,
    /// then data mode, and what the client typed meanwhile is data for the link.
    pub(crate) fn finish_awaiting_online(&mut self, link: DataLink) {
        if self.awaiting.take().is_none() {
            return;
        }
        self.flush_urcs();
        self.write_result(&ResultCode::Connect);
        self.enter_data_mode(link);
        let held = std::mem::take(&mut self.held_input);
        if !held.is_empty() {
            self.feed_dte(held);
        }
    }

    /// Keeps input that arrived while a command waits for its result.
    pub(crate) fn hold_input(&mut self, bytes: &[u8]) {
        let mut bytes = bytes;
        if let Some(Awaiting::TelitOpen { conn }) = self.awaiting {
            // The LF of the command's own CR LF is no byte typed while connecting (nor data
            // once online).
            if let Some((b'\n', rest)) = bytes.split_first()
                && self.held_input.is_empty()
            {
                bytes = rest;
            }
            let typed = bytes;
            if !typed.is_empty() && self.telit_abort_on_input(conn) {
                // The aborting byte is used up; what follows is typed in command mode.
                let rest = typed[1..].to_vec();
                if !rest.is_empty() {
                    self.feed_dte(rest);
                }
                return;
            }
        }
        let room = HELD_INPUT_LIMIT.saturating_sub(self.held_input.len());
        if bytes.len() > room {
            self.explain(format!(
                "{} bytes typed while a command runs were dropped (more than {HELD_INPUT_LIMIT} waiting)",
                bytes.len() - room
            ));
        }
        self.held_input
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// The client dropped DTR while a data link exists: `&D` decides.
    /// Returns false when there is no data link (the caller handles calls).
    pub(crate) fn dtr_dropped_on_data_link(&mut self, why: &str) -> bool {
        let Some(link) = self.data_link else {
            return false;
        };
        match self.settings.dtr_mode {
            0 => self.explain(format!(
                "{why}: DTR dropped, &D0 → ignored, data mode goes on"
            )),
            1 => {
                if self.in_data_mode() {
                    self.leave_data_mode(&format!("{why}: DTR dropped under &D1"));
                    self.write_result(&ResultCode::Ok);
                    self.flush_urcs();
                } else {
                    self.explain(format!("{why}: DTR dropped, &D1 → already in command mode"));
                }
            }
            _ => {
                self.hang_up_data_link(&format!("{why}: DTR dropped under &D2"));
                match link {
                    DataLink::Socket(n) => {
                        let prefix = prefix(self.ip.settings.mux, n);
                        self.urc(format!("{prefix}CLOSED"));
                    }
                    DataLink::TelitSocket(_) | DataLink::DialUp => {
                        self.urc_code(ResultCode::NoCarrier)
                    }
                }
            }
        }
        true
    }
}

/// Adds `bytes` to what `buffer` holds and takes the whole packets of `size` out of it (empty
/// if not one is complete); the partial rest stays. Moves the buffers rather than copying.
pub(crate) fn take_whole_packets(buffer: &mut Vec<u8>, bytes: Vec<u8>, size: usize) -> Vec<u8> {
    let mut pending = if buffer.is_empty() {
        bytes
    } else {
        let mut pending = std::mem::take(buffer);
        pending.extend_from_slice(&bytes);
        pending
    };
    let whole = pending.len() - pending.len() % size;
    *buffer = pending.split_off(whole);
    pending
}

fn describe_link(link: DataLink) -> String {
    match link {
        DataLink::Socket(n) => format!("connection {n} (transparent)"),
        DataLink::TelitSocket(conn) => format!("socket {conn} (online)"),
        DataLink::DialUp => "the packet data call (PPP is not emulated; bytes are dropped)".into(),
    }
}
