//! SMS ATRUN at work: which received SMS are requests, running them one at a time on the
//! reserved instance, and the reply SMS with exactly what the instance printed (B.5, B.6).

use std::collections::VecDeque;

use super::sms_request::{RequestKind, SmsRequest, classify};
use super::{Blocked, Job, Service};
use crate::modem::Modem;
use crate::network::sms::{Incoming, Submission};
use crate::sms::user_data::{Concat, split_octets, split_text};
use crate::sms::{Alphabet, Dcs, Submit, Tpdu, UserData, Validity, atrun_digest, gsm7};

/// A request accepted and waiting for its turn, with the DCS its reply copies.
#[derive(Debug, Clone)]
pub(crate) struct PendingRequest {
    pub request: SmsRequest,
    pub dcs: Dcs,
}

/// SMS ATRUN's volatile state.
#[derive(Debug, Clone, Default)]
pub(crate) struct SmsRun {
    /// Accepted requests not yet run, oldest first.
    pub pending: VecDeque<PendingRequest>,
    /// The request whose line is waiting or running.
    pub current: Option<PendingRequest>,
    pub job: Option<Job>,
    pub blocked: Option<Blocked>,
    /// The running command keeps the reply from leaving (B.19 S1, S2, S9).
    pub no_reply: bool,
    /// Concatenation reference of the last multi-part reply.
    pub reference: u8,
}

impl Modem {
    /// A message the network hands over while SMS ATRUN is on: an ATRUN request is taken
    /// (never stored, no `+CMTI`); anything else comes back for ordinary `+CNMI` routing.
    pub(crate) fn sms_atrun_take(&mut self, incoming: Incoming) -> Option<Incoming> {
        if !self.atrun.nvm.sms_enabled {
            return Some(incoming);
        }
        let Tpdu::Deliver(deliver) = &incoming.tpdu else {
            return Some(incoming);
        };
        let request = match classify(deliver, &self.atrun.nvm.whitelist) {
            Ok(request) => request,
            Err(why) => {
                self.explain(format!(
                    "SMS from {} is not an SMS ATRUN request ({why}): an ordinary message",
                    deliver.originator.number
                ));
                return Some(incoming);
            }
        };
        let text = String::from_utf8_lossy(&request.text).into_owned();
        let kind = match request.kind {
            RequestKind::Simple { .. } => "simple (whitelisted sender)",
            RequestKind::Digest { .. } => "digest (password verified)",
        };
        self.explain(format!(
            "SMS ATRUN request from {}: {kind}, {text} — taken, not stored",
            deliver.originator.number
        ));
        if self.atrun.nvm.sms_urc {
            let enabled_on = self.atrun.nvm.sms_enabled_on;
            self.on_instance(enabled_on, |m| {
                m.urc(format!("#SMSATRUN: {text}"));
                m.flush_urcs_unless_typing();
            });
        }
        if let Some(blocked) = self.atrun.sms.blocked {
            self.explain(format!(
                "SMS ATRUN is blocked ({blocked:?}): the request is discarded"
            ));
            return None;
        }
        if self.atrun.sms.pending.len() >= self.profile.atrun.max_pending_requests {
            self.explain(format!(
                "SMS ATRUN already has {} requests waiting: this one is discarded",
                self.atrun.sms.pending.len()
            ));
            return None;
        }
        self.atrun.sms.pending.push_back(PendingRequest {
            request,
            dcs: deliver.dcs,
        });
        self.sms_atrun_next();
        None
    }

    /// Starts the oldest waiting request when none runs.
    pub(crate) fn sms_atrun_next(&mut self) {
        if self.atrun.sms.current.is_some() || self.atrun.sms.blocked.is_some() {
            return;
        }
        let Some(pending) = self.atrun.sms.pending.pop_front() else {
            return;
        };
        let line = pending.request.command_line.clone();
        self.atrun.sms.no_reply = false;
        self.atrun.sms.current = Some(pending);
        self.atrun_start_job(Service::Sms, line);
    }

    /// The reserved instance stopped at a prompt: an SMS cannot carry its payload (B.5 item 7),
    /// so it is cancelled with ESC and no reply goes.
    pub(crate) fn sms_atrun_prompt_refused(&mut self, instance: u8) {
        self.explain(
            "SMS ATRUN: the command asks for a prompt's payload, which an SMS never delivers → \
             cancelled, no reply",
        );
        self.atrun.sms.no_reply = true;
        self.atrun_feed_raw(instance, vec![0x1b]);
    }

    /// The line of the current request has its final result: the reply goes (for `AT…`).
    pub(crate) fn sms_atrun_done(&mut self, job: Job) {
        let Some(pending) = self.atrun.sms.current.take() else {
            return;
        };
        if !pending.request.reply {
            self.explain("SMS ATRUN: a HAT request gets no reply");
        } else if self.atrun.sms.no_reply {
            self.explain("SMS ATRUN: no reply for this command");
        } else {
            self.sms_atrun_reply(&pending, &job.output);
        }
        self.sms_atrun_next();
    }

    /// The reply SMS: the same kind and DCS as the request, to its sender.
    fn sms_atrun_reply(&mut self, pending: &PendingRequest, output: &[u8]) {
        let max_parts = self.profile.atrun.max_reply_parts;
        self.atrun.sms.reference = self.atrun.sms.reference.wrapping_add(1);
        let reference = self.atrun.sms.reference;
        let parts: Vec<UserData> = match &pending.request.kind {
            RequestKind::Digest { header, password } => {
                atrun_digest::reply_parts(*header, password, output, max_parts)
                    .into_iter()
                    .map(|body| UserData {
                        header: Vec::new(),
                        body,
                    })
                    .collect()
            }
            RequestKind::Simple {
                alphabet: Alphabet::Gsm7,
            } => gsm7_reply(output, reference, max_parts),
            RequestKind::Simple { .. } => {
                let fits = output
                    .len()
                    .min(if max_parts > 1 { max_parts * 134 } else { 140 });
                split_octets(&output[..fits], reference)
            }
        };
        if !self.radio.is_registered(&self.config.network) {
            self.explain("SMS ATRUN: the reply is lost, the module is not on the network");
            return;
        }
        let Some(smsc) = self.smsc_address() else {
            self.explain("SMS ATRUN: the reply is lost, no SMS centre number (+CSCA) is set");
            return;
        };
        let count = parts.len();
        self.explain(format!(
            "SMS ATRUN: reply of {} bytes to {} in {count} SMS",
            output.len(),
            pending.request.sender.number
        ));
        for user_data in parts {
            let submit = Submit {
                reject_duplicates: false,
                reply_path: false,
                status_report_request: false,
                message_reference: 0,
                destination: pending.request.sender.clone(),
                pid: 0,
                dcs: pending.dcs,
                validity: Validity::None,
                user_data,
            };
            self.submit_sms(Submission {
                smsc: smsc.clone(),
                submit,
            });
        }
    }
}

/// A GSM 7-bit reply: characters the alphabet lacks become `?`, and a text longer than
/// `max_parts` concatenated SMS is cut to fit them (B.5 item 6).
fn gsm7_reply(output: &[u8], reference: u8, max_parts: usize) -> Vec<UserData> {
    let limit = if max_parts > 1 { max_parts * 153 } else { 160 };
    let mut septets = 0;
    let mut text = String::new();
    for c in String::from_utf8_lossy(output).chars() {
        let (c, n) = match gsm7::char_septets(c) {
            Some((_, n)) => (c, n),
            None => ('?', 1),
        };
        // The last part may not end in half an escape pair: stop before the limit.
        if septets + n > limit {
            break;
        }
        septets += n;
        text.push(c);
    }
    match split_text(&text, Alphabet::Gsm7, reference) {
        Ok(parts) if parts.len() <= max_parts => parts,
        // Escape pairs kept whole can need one part more than the septet count says.
        Ok(parts) => renumber(parts.into_iter().take(max_parts).collect(), reference),
        Err(_) => Vec::new(),
    }
}

/// Parts cut from a longer concatenation, numbered again as a whole message.
fn renumber(parts: Vec<UserData>, reference: u8) -> Vec<UserData> {
    let total = u8::try_from(parts.len()).unwrap_or(u8::MAX);
    parts
        .into_iter()
        .enumerate()
        .map(|(i, part)| {
            part.with_concat(Concat {
                reference: u16::from(reference),
                total,
                sequence: u8::try_from(i + 1).unwrap_or(u8::MAX),
                wide_reference: false,
            })
        })
        .collect()
}
