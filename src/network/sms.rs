//! The SMS centre of the simulated world, sans-I/O: routes what modems submit to the modem
//! with that number (after the network's delay), returns status reports, records the rest.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::modem::Instant;
use crate::sms::user_data::{split_octets, split_text};
use crate::sms::{
    Address, Alphabet, Dcs, Deliver, Direction, Pdu, StatusReport, Submit, Timestamp, Tpdu,
    UserData, hex,
};

/// A message a modem handed to the network (`+CMGS`, `+CMSS`). `submit.message_reference` is
/// the modem's own TP-MR, the one `+CMGS: <mr>` printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// The service centre the modem addressed (its `+CSCA`, or the PDU's own SMSC field).
    pub smsc: Address,
    pub submit: Submit,
}

/// What the network hands a modem: an SMS-DELIVER or an SMS-STATUS-REPORT, as sent by `smsc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub smsc: Address,
    pub tpdu: Tpdu,
}

/// What `sms deliver` injects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Injected {
    /// A text, split into concatenated parts when it does not fit one SMS.
    Text { text: String, alphabet: Alphabet },
    /// A whole SMS-DELIVER as hex, with or without the SMSC field in front.
    Pdu(String),
}

/// How long the network takes to deliver a message unless the world says otherwise.
pub const DEFAULT_DELAY_MS: u64 = 1000;

/// One modem as the centre knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    /// Its number (`+CNUM`), possibly empty (then nothing reaches it by number).
    pub number: String,
    /// The SMSC on its SIM, which injected messages come from.
    pub smsc: String,
}

/// The concatenation header of a message part, as the records show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConcatInfo {
    pub reference: u16,
    pub total: u8,
    pub sequence: u8,
}

/// A message a modem sent to a number outside the world (`sms sent`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentRecord {
    /// The sending modem's index and number.
    pub modem: usize,
    pub from: String,
    /// The destination as the modem addressed it (`+` when international).
    pub to: String,
    /// The TP-MR the modem printed in `+CMGS: <mr>`.
    pub mr: u8,
    pub pid: u8,
    pub dcs: u8,
    /// The text, when the DCS says GSM 7-bit or UCS2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Present when the message is one part of a concatenated one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concat: Option<ConcatInfo>,
    /// Whether the modem asked for a status report.
    pub srr: bool,
    /// The TP-UD as sent (header, fill bits and 7-bit packing included), uppercase hex.
    pub ud: String,
    /// Modem time of the submission (ms since the world started) and the wall clock then.
    pub at_ms: u64,
    pub time: String,
}

/// A summary of what the centre hands a modem, for events and transcripts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum IncomingSummary {
    Deliver {
        from: String,
        smsc: String,
        dcs: u8,
        #[serde(skip_serializing_if = "Option::is_none")]
        text: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        concat: Option<ConcatInfo>,
        ud: String,
    },
    StatusReport {
        mr: u8,
        recipient: String,
        status: u8,
    },
}

impl Incoming {
    /// The whole PDU as a modem stores and prints it: the centre's address, then the TPDU.
    pub fn into_pdu(self) -> Pdu {
        Pdu {
            smsc: Some(self.smsc),
            tpdu: self.tpdu,
        }
    }

    /// What the message is, in a few fields.
    pub fn summary(&self) -> IncomingSummary {
        match &self.tpdu {
            Tpdu::StatusReport(report) => IncomingSummary::StatusReport {
                mr: report.message_reference,
                recipient: report.recipient.number.clone(),
                status: report.status,
            },
            Tpdu::Deliver(deliver) => IncomingSummary::Deliver {
                from: deliver.originator.number.clone(),
                smsc: self.smsc.number.clone(),
                dcs: deliver.dcs.0,
                text: text_of(deliver.dcs, &deliver.user_data),
                concat: concat_of(&deliver.user_data),
                ud: ud_hex(deliver.dcs, &deliver.user_data),
            },
            // A centre never sends a SUBMIT to a modem; say what it is all the same.
            Tpdu::Submit(submit) => IncomingSummary::Deliver {
                from: String::new(),
                smsc: self.smsc.number.clone(),
                dcs: submit.dcs.0,
                text: text_of(submit.dcs, &submit.user_data),
                concat: concat_of(&submit.user_data),
                ud: ud_hex(submit.dcs, &submit.user_data),
            },
        }
    }
}

/// Where a submission went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routed {
    /// To modem `index`, delivered at `at`.
    ToModem { index: usize, at: Instant },
    /// Outside the world; recorded.
    Outside(SentRecord),
}

/// The world's one SMS centre. No clock: every call takes the time.
#[derive(Debug, Clone)]
pub struct SmsCentre {
    subscribers: Vec<Subscriber>,
    delay_us: u64,
    epoch_unix: i64,
    /// What is on its way, by (delivery time, order of queueing).
    queue: BTreeMap<(Instant, u64), (usize, Incoming)>,
    queued: u64,
    sent: Vec<SentRecord>,
    /// The concatenation reference of the next injected long text.
    reference: u8,
}

impl SmsCentre {
    /// A centre for these modems (by index), delivering after `delay_ms`, whose wall clock at
    /// modem time zero is `epoch_unix` (UTC).
    pub fn new(subscribers: Vec<Subscriber>, delay_ms: u64, epoch_unix: i64) -> SmsCentre {
        SmsCentre {
            subscribers,
            delay_us: delay_ms.saturating_mul(1000),
            epoch_unix,
            queue: BTreeMap::new(),
            queued: 0,
            sent: Vec::new(),
            reference: 0,
        }
    }

    /// The modem whose number is `number`: the same text, or the same digits with or without a
    /// leading `+`. Empty numbers match nothing.
    pub fn find_number(&self, number: &str) -> Option<usize> {
        let wanted = digits(number);
        if wanted.is_empty() {
            return None;
        }
        self.subscribers
            .iter()
            .position(|s| s.number == number)
            .or_else(|| {
                self.subscribers
                    .iter()
                    .position(|s| digits(&s.number) == wanted)
            })
    }

    /// The SCTS / discharge time stamp of modem time `at` (UTC).
    pub fn timestamp(&self, at: Instant) -> Timestamp {
        Timestamp::from_unix(self.unix_seconds(at), 0)
    }

    fn unix_seconds(&self, at: Instant) -> i64 {
        self.epoch_unix + (at.0 / 1_000_000) as i64
    }

    /// `2026-01-01T00:00:05Z` for modem time `at`.
    pub fn iso_time(&self, at: Instant) -> String {
        crate::calendar::iso_utc(self.unix_seconds(at))
    }

    fn enqueue(&mut self, at: Instant, index: usize, incoming: Incoming) {
        self.queue.insert((at, self.queued), (index, incoming));
        self.queued += 1;
    }

    /// Modem `from` submitted a message at `now`: to a modem of the world after the delay, or
    /// recorded as sent outside. A status report follows the delivery when the modem asked.
    pub fn submit(&mut self, now: Instant, from: usize, submission: Submission) -> Routed {
        let Submission { smsc, submit } = submission;
        let delivered_at = Instant(now.0.saturating_add(self.delay_us));
        let sender_number = self
            .subscribers
            .get(from)
            .map(|s| s.number.clone())
            .unwrap_or_default();
        let destination = self.find_number(&submit.destination.number);
        let routed = match destination {
            Some(index) => {
                let originator = Address::from_text(&sender_number).unwrap_or_else(|_| Address {
                    number: sender_number.clone(),
                    toa: 0x81,
                });
                let deliver = Deliver {
                    more_messages_to_send: false,
                    reply_path: submit.reply_path,
                    status_report_indication: submit.status_report_request,
                    originator,
                    pid: submit.pid,
                    dcs: submit.dcs,
                    timestamp: self.timestamp(now),
                    user_data: submit.user_data.clone(),
                };
                self.enqueue(
                    delivered_at,
                    index,
                    Incoming {
                        smsc: smsc.clone(),
                        tpdu: Tpdu::Deliver(deliver),
                    },
                );
                Routed::ToModem {
                    index,
                    at: delivered_at,
                }
            }
            None => {
                let record = SentRecord {
                    modem: from,
                    from: sender_number,
                    to: submit.destination.number.clone(),
                    mr: submit.message_reference,
                    pid: submit.pid,
                    dcs: submit.dcs.0,
                    text: text_of(submit.dcs, &submit.user_data),
                    concat: concat_of(&submit.user_data),
                    srr: submit.status_report_request,
                    ud: ud_hex(submit.dcs, &submit.user_data),
                    at_ms: now.0 / 1000,
                    time: self.iso_time(now),
                };
                self.sent.push(record.clone());
                Routed::Outside(record)
            }
        };
        if submit.status_report_request {
            let report = StatusReport {
                more_messages_to_send: false,
                status_report_qualifier: false,
                message_reference: submit.message_reference,
                recipient: submit.destination.clone(),
                timestamp: self.timestamp(now),
                discharge: self.timestamp(delivered_at),
                status: 0,
                pid: None,
                dcs: None,
                user_data: None,
            };
            self.enqueue(
                delivered_at,
                from,
                Incoming {
                    smsc,
                    tpdu: Tpdu::StatusReport(report),
                },
            );
        }
        routed
    }

    /// `sms deliver`: a message from `from` (a number; a PDU carries its own, which `from`
    /// replaces when given) to modem `to`, handed over at `now`. Returns how many parts.
    pub fn inject(
        &mut self,
        now: Instant,
        to: usize,
        from: Option<&str>,
        injected: Injected,
    ) -> Result<usize, String> {
        let Some(subscriber) = self.subscribers.get(to) else {
            return Err(format!(
                "no modem {to}; the world has {}",
                self.subscribers.len()
            ));
        };
        let smsc_number = subscriber.smsc.clone();
        if let Injected::Pdu(text) = &injected
            && text.trim().is_empty()
        {
            return Err("the PDU is empty".into());
        }
        let originator = match from {
            None => None,
            Some("") => return Err("the sender number is empty".into()),
            Some(number) => Some(
                Address::from_text(number)
                    .map_err(|e| format!("sender {number:?} is not a phone number: {e}"))?,
            ),
        };
        let modem_smsc = Address::from_text(&smsc_number)
            .or_else(|_| Address::from_text(super::DEFAULT_SMSC))
            .map_err(|e| format!("the modem's SMSC {smsc_number:?}: {e}"))?;
        let parts: Vec<Incoming> = match injected {
            Injected::Text { text, alphabet } => {
                let Some(originator) = originator else {
                    return Err("a text needs the sender's number (from)".into());
                };
                let reference = self.reference;
                let bodies = match alphabet {
                    Alphabet::Eight => split_octets(text.as_bytes(), reference),
                    _ => split_text(&text, alphabet, reference).map_err(|c| {
                        format!("{c:?} cannot be written in the GSM 7-bit alphabet; use ucs2")
                    })?,
                };
                if bodies.len() > 1 {
                    self.reference = self.reference.wrapping_add(1);
                }
                bodies
                    .into_iter()
                    .map(|user_data| Incoming {
                        smsc: modem_smsc.clone(),
                        tpdu: Tpdu::Deliver(Deliver {
                            more_messages_to_send: false,
                            reply_path: false,
                            status_report_indication: false,
                            originator: originator.clone(),
                            pid: 0,
                            dcs: Dcs::for_alphabet(alphabet),
                            timestamp: self.timestamp(now),
                            user_data,
                        }),
                    })
                    .collect()
            }
            Injected::Pdu(text) => {
                let (smsc, mut deliver) = parse_deliver(&text)?;
                if let Some(originator) = originator {
                    deliver.originator = originator;
                }
                vec![Incoming {
                    smsc: smsc.unwrap_or(modem_smsc),
                    tpdu: Tpdu::Deliver(deliver),
                }]
            }
        };
        let count = parts.len();
        for part in parts {
            self.enqueue(now, to, part);
        }
        Ok(count)
    }

    /// When the next message is due, if any is on its way.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.queue.keys().next().map(|(at, _)| *at)
    }

    /// The messages due at `now`, in time order (equal times in the order they were queued),
    /// each with the index of the modem it goes to.
    pub fn due(&mut self, now: Instant) -> Vec<(usize, Incoming)> {
        let later = self.queue.split_off(&(Instant(now.0.saturating_add(1)), 0));
        std::mem::replace(&mut self.queue, later)
            .into_values()
            .collect()
    }

    /// What the modems sent outside the world, oldest first; only those to `to` when given
    /// (compared like [`SmsCentre::find_number`]).
    pub fn sent(&self, to: Option<&str>) -> Vec<SentRecord> {
        self.sent
            .iter()
            .filter(|r| to.is_none_or(|to| r.to == to || digits(&r.to) == digits(to)))
            .cloned()
            .collect()
    }
}

/// A number without its leading `+`: how the centre compares numbers.
fn digits(number: &str) -> &str {
    number.strip_prefix('+').unwrap_or(number)
}

/// An SMS-DELIVER from hex: a whole PDU (SMSC field first) or a bare TPDU.
fn parse_deliver(text: &str) -> Result<(Option<Address>, Deliver), String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() {
        return Err("the PDU is empty".into());
    }
    let octets = hex::decode(&compact).map_err(|e| format!("the PDU is not hex: {e}"))?;
    let not_deliver = |tpdu: &Tpdu| {
        let what = match tpdu {
            Tpdu::Submit(_) => "an SMS-SUBMIT",
            Tpdu::StatusReport(_) => "an SMS-STATUS-REPORT",
            Tpdu::Deliver(_) => "an SMS-DELIVER",
        };
        format!("the PDU is {what}, not an SMS-DELIVER")
    };
    let whole = Pdu::decode(&octets, Direction::FromNetwork);
    if let Ok(Pdu {
        smsc,
        tpdu: Tpdu::Deliver(deliver),
    }) = whole
    {
        return Ok((smsc, deliver));
    }
    match Tpdu::decode(&octets, Direction::FromNetwork) {
        Ok(Tpdu::Deliver(deliver)) => Ok((None, deliver)),
        Ok(other) => Err(not_deliver(&other)),
        Err(bare_error) => match whole {
            Ok(pdu) => Err(not_deliver(&pdu.tpdu)),
            Err(error) => Err(format!(
                "the PDU is not an SMS-DELIVER: {error} (as a bare TPDU: {bare_error})"
            )),
        },
    }
}

fn alphabet_of(dcs: Dcs) -> Alphabet {
    dcs.alphabet().unwrap_or(Alphabet::Eight)
}

/// The text of user data when its DCS names a text alphabet.
fn text_of(dcs: Dcs, user_data: &UserData) -> Option<String> {
    match dcs.alphabet() {
        Ok(alphabet @ (Alphabet::Gsm7 | Alphabet::Ucs2)) => user_data.text(alphabet),
        _ => None,
    }
}

fn concat_of(user_data: &UserData) -> Option<ConcatInfo> {
    user_data.concat().map(|c| ConcatInfo {
        reference: c.reference,
        total: c.total,
        sequence: c.sequence,
    })
}

/// The TP-UD octets as they travel, uppercase hex (the body's bytes if it cannot be encoded).
fn ud_hex(dcs: Dcs, user_data: &UserData) -> String {
    match user_data.encode(alphabet_of(dcs)) {
        Ok((_, octets)) => hex::encode_upper(&octets),
        Err(_) => hex::encode_upper(&user_data.body),
    }
}

#[cfg(test)]
mod tests;
