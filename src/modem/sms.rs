//! The modem's SMS side: message memories (SM/ME), `+CNMI` routing of what the network
//! delivers, `+CNMA` acknowledgement, messages the network holds, and sending.

use std::collections::VecDeque;

use super::settings::{SavedMessage, SavedMessages};
use super::{Modem, TimerKind};
use crate::network::sms::{Incoming, Submission};
use crate::sms::charset::{self, Charset};
use crate::sms::{Address, Alphabet, Direction, Pdu, Tpdu, hex};

/// `<stat>` of a stored message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    RecUnread,
    RecRead,
    StoUnsent,
    StoSent,
}

impl Status {
    pub(crate) const ALL: [Status; 4] = [
        Status::RecUnread,
        Status::RecRead,
        Status::StoUnsent,
        Status::StoSent,
    ];

    pub(crate) fn number(self) -> u32 {
        match self {
            Status::RecUnread => 0,
            Status::RecRead => 1,
            Status::StoUnsent => 2,
            Status::StoSent => 3,
        }
    }

    pub(crate) fn text(self) -> &'static str {
        match self {
            Status::RecUnread => "REC UNREAD",
            Status::RecRead => "REC READ",
            Status::StoUnsent => "STO UNSENT",
            Status::StoSent => "STO SENT",
        }
    }

    pub(crate) fn from_number(n: u32) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.number() == n)
    }

    pub(crate) fn from_text(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.text() == text)
    }

    /// Which way a message with this status travelled: received (a DELIVER or a report) or to
    /// be sent (a SUBMIT).
    pub(crate) fn direction(self) -> Direction {
        match self {
            Status::RecUnread | Status::RecRead => Direction::FromNetwork,
            Status::StoUnsent | Status::StoSent => Direction::ToNetwork,
        }
    }
}

/// One stored message: a received SMS-DELIVER or status report, or an SMS-SUBMIT written by
/// the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredSms {
    pub status: Status,
    pub pdu: Pdu,
}

/// One memory (`SM`, `ME`): numbered slots from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Memory {
    pub name: &'static str,
    pub slots: Vec<Option<StoredSms>>,
}

impl Memory {
    pub(crate) fn used(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// The lowest free slot (1-based), or `None` when full.
    pub(crate) fn free_index(&self) -> Option<usize> {
        self.slots.iter().position(Option::is_none).map(|i| i + 1)
    }

    /// Stores in the lowest free slot; its 1-based index, or `None` when full.
    pub(crate) fn store(&mut self, sms: StoredSms) -> Option<usize> {
        let index = self.free_index()?;
        self.put(index, sms);
        Some(index)
    }

    /// Puts a message in slot `index` (1-based; outside the memory it is not stored).
    pub(crate) fn put(&mut self, index: usize, sms: StoredSms) {
        if let Some(slot) = self.get_mut(index) {
            *slot = Some(sms);
        }
    }

    pub(crate) fn get_mut(&mut self, index: usize) -> Option<&mut Option<StoredSms>> {
        index.checked_sub(1).and_then(|i| self.slots.get_mut(i))
    }
}

/// Which command a prompt or an acknowledgement belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SendCommand {
    /// `+CMGS`: send what is typed.
    Send,
    /// `+CMGW`: store what is typed.
    Write,
    /// `+CMSS`: send a stored message.
    SendStored,
}

/// What the `+CMGS`/`+CMGW` prompt expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SmsPromptFormat {
    /// Hex of SMSC field + TPDU; the TPDU is `tpdu_len` octets.
    Pdu { tpdu_len: usize },
    /// Text for (or from) this address.
    Text { address: Address },
}

/// A message being typed after `> `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SmsPrompt {
    pub command: SendCommand,
    pub format: SmsPromptFormat,
    /// The `<stat>` a written message gets (and so whether it is a SUBMIT or a DELIVER).
    pub status: Status,
    /// Telit `#SMSMODE=1`, text mode: each CR typed re-issues `\r\n> ` (telit.md §C.1).
    pub reprompt_on_cr: bool,
}

/// The SMS state of one modem. The memories and the message reference live on the SIM and in
/// flash: a power cycle keeps them.
#[derive(Debug, Clone)]
pub(crate) struct SmsState {
    pub memories: Vec<Memory>,
    /// `+CPMS` mem1 (read, list, delete), mem2 (write, send) and mem3 (received): indexes into
    /// `memories`.
    pub roles: [usize; 3],
    /// `+CSMS` service (1: `+CMT`/`+CDS` need `+CNMA`).
    pub service: u32,
    /// The TP-MR of the last message sent (`None` before the first).
    pub last_mr: Option<u8>,
    /// Messages the network keeps for this modem until it can take them (memory full, not
    /// registered, an unacknowledged `+CMT`).
    pub held_by_network: VecDeque<Incoming>,
    /// A `+CMT`/`+CDS` shown to the client and waiting for its `+CNMA`.
    pub awaiting_ack: Option<Incoming>,
    /// Indications kept in the TA under `+CNMI` mode 0.
    pub buffered_indications: Vec<String>,
}

impl SmsState {
    pub(crate) fn new(profile: &super::Profile) -> Self {
        SmsState {
            memories: profile
                .sms
                .memories
                .iter()
                .map(|m| Memory {
                    name: m.name,
                    slots: vec![None; m.capacity],
                })
                .collect(),
            roles: [0; 3],
            service: 0,
            last_mr: None,
            held_by_network: VecDeque::new(),
            awaiting_ack: None,
            buffered_indications: Vec::new(),
        }
    }

    /// A memory by its `+CPMS` name (or an alias the profile accepts).
    pub(crate) fn memory_named(&self, profile: &super::Profile, name: &str) -> Option<usize> {
        let real = profile
            .sms
            .memory_aliases
            .iter()
            .find(|(alias, _)| *alias == name)
            .map_or(name, |(_, real)| real);
        self.memories.iter().position(|m| m.name == real)
    }

    /// A power cycle: the memories and the message reference stay (SIM and flash); the
    /// volatile settings go; an unacknowledged `+CMT` stays with the network.
    pub(crate) fn power_cycled(&mut self) {
        self.roles = [0; 3];
        self.service = 0;
        self.buffered_indications.clear();
        if let Some(waiting) = self.awaiting_ack.take() {
            self.held_by_network.push_front(waiting);
        }
    }

    /// The memories as the state file keeps them.
    pub(crate) fn saved(&self) -> SavedMessages {
        let mut messages = Vec::new();
        for memory in &self.memories {
            for (i, slot) in memory.slots.iter().enumerate() {
                if let Some(stored) = slot {
                    messages.push(SavedMessage {
                        memory: memory.name.to_string(),
                        index: i + 1,
                        status: stored.status.number(),
                        pdu: pdu_hex(&stored.pdu).0,
                    });
                }
            }
        }
        SavedMessages {
            messages,
            last_message_reference: self.last_mr,
        }
    }

    /// Puts back what the state file kept; entries that no longer decode are skipped.
    pub(crate) fn restore(&mut self, saved: &SavedMessages) {
        for message in &saved.messages {
            let Some(status) = Status::from_number(message.status) else {
                continue;
            };
            let Ok(pdu) = Pdu::decode_hex(&message.pdu, None, status.direction()) else {
                continue;
            };
            if let Some(memory) = self.memories.iter_mut().find(|m| m.name == message.memory) {
                memory.put(message.index, StoredSms { status, pdu });
            }
        }
        self.last_mr = saved.last_message_reference;
    }

    /// The TP-MR for the next message sent: 0 first, then counting up and wrapping.
    pub(crate) fn next_mr(&mut self) -> u8 {
        let mr = self.last_mr.map_or(0, |last| last.wrapping_add(1));
        self.last_mr = Some(mr);
        mr
    }
}

/// The `+CMT`/`+CDS`/`+CMTI` decision for one delivery under the current `+CNMI`.
enum Route {
    /// Store in mem3, with `+CMTI`/`+CDSI` or silently.
    Store { indicate: bool },
    /// Show it directly (`+CMT`, `+CDS`), not stored.
    Direct,
    /// Drop it (a status report with ds=0).
    Discard,
}

impl Modem {
    /// The memories changed: the state file keeps them (SIM and flash survive everything).
    pub(crate) fn sms_changed(&mut self) {
        self.nvm.sms = Some(self.sms.saved());
        self.save_nvm();
    }

    /// The service centre on the SIM (`+CSCA`); `None` when it was cleared.
    pub(crate) fn smsc_address(&self) -> Option<Address> {
        let smsc = &self.config.identity.smsc;
        if smsc.is_empty() {
            return None;
        }
        Address::from_text(smsc).ok()
    }

    pub(crate) fn charset(&self) -> Charset {
        Charset::from_name(&self.settings.charset).unwrap_or(Charset::Ira)
    }

    pub(crate) fn text_mode(&self) -> bool {
        self.settings.sms_text_mode == 1
    }

    /// Telit `#SMSMODE=1` text typed after `> `: echoed as usual, and each CR (kept in the text)
    /// re-issues `\r\n> ` ([DOC] telit.md §C.1). [INFERRED] the CR's own echo comes first.
    pub(crate) fn echo_sms_text_reprompting(&mut self, typed: &[u8], echo: bool) {
        const CTRL_Z: u8 = 0x1a;
        const ESC: u8 = 0x1b;
        for chunk in typed.split_inclusive(|&b| b == b'\r') {
            if echo {
                let echoed: Vec<u8> = chunk
                    .iter()
                    .copied()
                    .filter(|&b| b != CTRL_Z && b != ESC)
                    .collect();
                self.write_dte(&echoed);
            }
            if chunk.last() == Some(&b'\r') {
                self.write_dte(b"\r\n> ");
            }
        }
    }

    /// The network hands over a message or status report.
    /// Behind any the network already keeps for this modem: older messages first.
    pub(crate) fn sms_from_network(&mut self, incoming: Incoming) {
        if !self.can_take_sms() || self.sms.awaiting_ack.is_some() {
            self.explain(
                "the network keeps the message: the modem cannot take it now (not registered, or a +CMT waits for +CNMA)",
            );
        }
        self.sms.held_by_network.push_back(incoming);
        self.deliver_held_sms();
    }

    /// Whether the modem is on the network and able to receive now.
    fn can_take_sms(&self) -> bool {
        self.powered && self.radio.is_registered(&self.config.network)
    }

    /// Delivers what the network kept, oldest first, while the modem can take it.
    pub(crate) fn deliver_held_sms(&mut self) {
        while self.can_take_sms() && self.sms.awaiting_ack.is_none() {
            let Some(incoming) = self.sms.held_by_network.pop_front() else {
                return;
            };
            if let Some(incoming) = self.take_sms(incoming) {
                self.sms.held_by_network.push_front(incoming);
                return;
            }
        }
    }

    /// Routes one delivery per `+CNMI`; gives it back when memory is full.
    fn take_sms(&mut self, incoming: Incoming) -> Option<Incoming> {
        // SMS ATRUN looks at every message first (telit.md B.5).
        let incoming = self.sms_atrun_take(incoming)?;
        let (mode, mt, _bm, ds, _bfr) = self.settings.cnmi;
        let is_report = matches!(incoming.tpdu, Tpdu::StatusReport(_));
        let route = if is_report {
            match ds {
                1 => Route::Direct,
                2 => Route::Store { indicate: true },
                _ => Route::Discard,
            }
        } else {
            let class = incoming.tpdu.dcs().and_then(|d| d.class());
            match (mt, class) {
                (0, _) => Route::Store { indicate: false },
                (2, Some(2)) => Route::Store { indicate: true },
                (2, _) | (3, Some(3)) => Route::Direct,
                _ => Route::Store { indicate: true },
            }
        };
        // Direct routing needs a TE that listens: with no client on the port, under mode 0,
        // or under mode 1 in data mode it would be lost, so the message is stored with an
        // indication instead (27.005 §3.4.1).
        let listening = self.dte_open && mode != 0 && !(mode == 1 && self.in_data_mode());
        let route = match route {
            Route::Direct if !listening => Route::Store { indicate: true },
            other => other,
        };
        match route {
            Route::Discard => {
                self.explain("status report received; +CNMI ds=0 → not routed to the client");
                None
            }
            Route::Store { indicate } => {
                let mem = self.sms.roles[2];
                let name = self.sms.memories[mem].name;
                let Some(index) = self.sms.memories[mem].free_index() else {
                    self.explain(format!(
                        "memory {name} is full: the network keeps the message until a slot is free"
                    ));
                    return Some(incoming);
                };
                self.sms.memories[mem].put(
                    index,
                    StoredSms {
                        status: Status::RecUnread,
                        pdu: incoming.into_pdu(),
                    },
                );
                self.explain(format!(
                    "{} stored in {name} at {index}",
                    if is_report { "status report" } else { "SMS" }
                ));
                self.sms_changed();
                if indicate {
                    let word = if is_report { "+CDSI" } else { "+CMTI" };
                    self.sms_indication(format!("{word}: \"{name}\",{index}"));
                }
                None
            }
            Route::Direct => {
                let (header, body) = self.direct_lines(&incoming);
                let mut text = header;
                if let Some(body) = body {
                    text.push_str("\r\n");
                    text.push_str(&body);
                }
                self.explain(format!(
                    "{} routed directly to the client (+CNMI)",
                    if is_report { "status report" } else { "SMS" }
                ));
                self.sms_indication(text);
                if self.sms.service == 1 {
                    self.sms.awaiting_ack = Some(incoming);
                    self.schedule(self.profile.sms.cnma_timeout_ms, TimerKind::CnmaTimeout);
                }
                None
            }
        }
    }

    /// An indication per `+CNMI` mode: kept in the TA under mode 0, else a URC (which waits for
    /// command mode by itself).
    fn sms_indication(&mut self, text: String) {
        if self.settings.cnmi.0 == 0 {
            self.explain("+CNMI mode 0: the indication is kept in the TA");
            self.sms.buffered_indications.push(text);
        } else {
            self.urc(text);
        }
    }

    /// `+CNMI` left mode 0: buffered indications go out (bfr=0) or are dropped (bfr=1).
    pub(crate) fn release_buffered_indications(&mut self) {
        let buffered = std::mem::take(&mut self.sms.buffered_indications);
        if self.settings.cnmi.0 == 0 || buffered.is_empty() {
            self.sms.buffered_indications = buffered;
            return;
        }
        if self.settings.cnmi.4 == 1 {
            self.explain("+CNMI bfr=1: buffered indications cleared");
            return;
        }
        for text in buffered {
            self.urc(text);
        }
    }

    /// No `+CNMA` in time: routing to the TE is switched off and the message is stored.
    pub(crate) fn cnma_timed_out(&mut self) {
        let Some(waiting) = self.sms.awaiting_ack.take() else {
            return;
        };
        self.explain("no +CNMA in time: +CNMI mt and ds set to 0, the message is stored");
        self.settings.cnmi.1 = 0;
        self.settings.cnmi.3 = 0;
        self.sms.held_by_network.push_front(waiting);
        self.deliver_held_sms();
    }

    /// `+CNMA`: the client acknowledged the direct delivery.
    pub(crate) fn acknowledge_sms(&mut self) -> bool {
        if self.sms.awaiting_ack.take().is_none() {
            return false;
        }
        self.cancel_timers(TimerKind::CnmaTimeout);
        self.deliver_held_sms();
        true
    }

    /// The header line (and data line) of `+CMT`/`+CDS`.
    fn direct_lines(&self, incoming: &Incoming) -> (String, Option<String>) {
        let pdu = incoming.clone().into_pdu();
        let is_report = matches!(incoming.tpdu, Tpdu::StatusReport(_));
        if !self.text_mode() {
            let (hex, len) = pdu_hex(&pdu);
            let header = if is_report {
                format!("+CDS: {len}")
            } else {
                format!("+CMT: \"\",{len}")
            };
            return (header, Some(hex));
        }
        match &incoming.tpdu {
            Tpdu::StatusReport(_) => (format!("+CDS: {}", self.report_fields(&pdu)), None),
            _ => {
                let (fields, data) = self.deliver_fields(&pdu, true);
                (format!("+CMT: {fields}"), Some(data))
            }
        }
    }

    /// A number as text mode shows it: quoted, in the `+CSCS` character set.
    pub(crate) fn te_number(&self, address: &Address) -> String {
        format!(
            "\"{}\"",
            charset::text_to_te(&address.number, self.charset())
        )
    }

    /// Text-mode fields of a received message after `+CMT: ` / the status of `+CMGR`:
    /// `"<oa>","","<scts>"[,<tooa>,<fo>,<pid>,<dcs>,"<sca>",<tosca>,<length>]`, and its data.
    /// `full` adds the `+CSDH=1` tail with all fields (`+CMT`, `+CMGR`).
    pub(crate) fn deliver_fields(&self, pdu: &Pdu, full: bool) -> (String, String) {
        let Tpdu::Deliver(deliver) = &pdu.tpdu else {
            return (String::new(), String::new());
        };
        let (data, length) = self.te_data(&pdu.tpdu);
        let mut fields = format!(
            "{},\"\",\"{}\"",
            self.te_number(&deliver.originator),
            deliver.timestamp.text()
        );
        if self.settings.csdh == 1 {
            if full {
                let (sca, tosca) = smsc_fields(self, pdu);
                fields.push_str(&format!(
                    ",{},{},{},{},{sca},{tosca},{length}",
                    deliver.originator.toa,
                    pdu.tpdu.first_octet(),
                    deliver.pid,
                    deliver.dcs.0,
                ));
            } else {
                fields.push_str(&format!(",{},{length}", deliver.originator.toa));
            }
        }
        (fields, data)
    }

    /// Text-mode fields of a status report: `<fo>,<mr>,"<ra>",<tora>,"<scts>","<dt>",<st>`.
    pub(crate) fn report_fields(&self, pdu: &Pdu) -> String {
        let Tpdu::StatusReport(report) = &pdu.tpdu else {
            return String::new();
        };
        format!(
            "{},{},{},{},\"{}\",\"{}\",{}",
            pdu.tpdu.first_octet(),
            report.message_reference,
            self.te_number(&report.recipient),
            report.recipient.toa,
            report.timestamp.text(),
            report.discharge.text(),
            report.status
        )
    }

    /// The data line of a message in text mode and its `<length>`: text in the `+CSCS` set for
    /// plain 7-bit messages, hex of the octets for 8-bit/UCS2, hex of the whole TP-UD with a
    /// header.
    pub(crate) fn te_data(&self, tpdu: &Tpdu) -> (String, usize) {
        let (Some(dcs), Some(ud)) = (tpdu.dcs(), tpdu.user_data()) else {
            return (String::new(), 0);
        };
        let alphabet = dcs.alphabet().unwrap_or(Alphabet::Eight);
        if ud.has_header() {
            let octets = ud.encode(alphabet).map(|(_, o)| o).unwrap_or_default();
            return (hex::encode_upper(&octets), octets.len());
        }
        match (alphabet, ud.text(alphabet)) {
            (Alphabet::Gsm7, Some(text)) => {
                (charset::text_to_te(&text, self.charset()), ud.body.len())
            }
            _ => (hex::encode_upper(&ud.body), ud.body.len()),
        }
    }

    /// Hands a message to the network (`+CMGS`, `+CMSS`) with a fresh TP-MR; returns it.
    pub(crate) fn submit_sms(&mut self, mut submission: Submission) -> u8 {
        let mr = self.sms.next_mr();
        submission.submit.message_reference = mr;
        self.explain(format!(
            "SMS to {} handed to the network (TP-MR {mr})",
            submission.submit.destination.number
        ));
        self.push_output(super::Output::SubmitSms(submission));
        self.sms_changed();
        mr
    }
}

/// `"<sca>",<tosca>` of a stored PDU (the modem's `+CSCA` when the PDU has none).
fn smsc_fields(modem: &Modem, pdu: &Pdu) -> (String, u8) {
    match pdu.smsc.clone().or_else(|| modem.smsc_address()) {
        Some(a) => (modem.te_number(&a), a.toa),
        None => ("\"\"".into(), 129),
    }
}

/// The hex of a whole PDU and its TPDU length, as PDU mode prints them.
pub(crate) fn pdu_hex(pdu: &Pdu) -> (String, usize) {
    match pdu.encode_counted() {
        Ok((octets, len)) => (hex::encode_upper(&octets), len),
        Err(_) => (String::new(), 0),
    }
}
