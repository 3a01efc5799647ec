//! What the client types after the `+CMGS`/`+CMGW` prompt becomes a message: PDU hex or
//! text in the `+CSCS` set under `+CSMP`; then it is sent (and acknowledged) or stored.

use super::data_mode::{Awaiting, PromptEnd};
use super::sms::{SendCommand, SmsPrompt, SmsPromptFormat, Status, StoredSms};
use super::{Modem, TimerKind};
use crate::commands::CmdError;
use crate::dte::ResultCode;
use crate::network::sms::Submission;
use crate::sms::charset;
use crate::sms::{
    Address, Alphabet, Dcs, Deliver, Direction, Pdu, Submit, Timestamp, Tpdu, UserData, Validity,
    hex,
};

/// 27.005 `+CMS ERROR` codes the composing can end with.
const INVALID_PDU: u16 = 304;
const INVALID_TEXT: u16 = 305;
const MEMORY_FULL: u16 = 322;
const SMSC_UNKNOWN: u16 = 330;
const NO_NETWORK: u16 = 331;

/// How a composed message ended, when it did not fail.
enum Outcome {
    /// An information line (or none) and `OK` now.
    Answer(Option<String>),
    /// Handed to the network: the answer comes with its acknowledgement.
    Sent,
}

impl Modem {
    /// The prompt of `+CMGS`/`+CMGW` ended.
    pub(crate) fn sms_prompt_ended(&mut self, prompt: SmsPrompt, end: PromptEnd) {
        let bad_input = match prompt.format {
            SmsPromptFormat::Pdu { .. } => INVALID_PDU,
            SmsPromptFormat::Text { .. } => INVALID_TEXT,
        };
        let outcome = match end {
            PromptEnd::Cancelled => {
                self.explain("ESC: the message is cancelled, nothing sent or stored");
                Ok(Outcome::Answer(None))
            }
            PromptEnd::TooLong => {
                self.explain("more input than any message holds before Ctrl-Z");
                Err(bad_input)
            }
            PromptEnd::Done(data) => self
                .compose(&prompt, &data)
                .and_then(|pdu| self.carry_out(prompt.command, prompt.status, pdu)),
        };
        match outcome {
            Ok(Outcome::Sent) => return,
            Ok(Outcome::Answer(None)) => self.write_result(&ResultCode::Ok),
            Ok(Outcome::Answer(Some(line))) => {
                self.write_info(&[line]);
                self.write_result(&ResultCode::Ok);
            }
            Err(code) => {
                let result = self.error_result(&CmdError::Cms(code));
                self.write_result(&result);
            }
        }
        self.flush_urcs();
    }

    /// The typed input as a PDU (SMSC field `None` when it is `00` or in text mode).
    fn compose(&mut self, prompt: &SmsPrompt, data: &[u8]) -> Result<Pdu, u16> {
        match &prompt.format {
            SmsPromptFormat::Pdu { tpdu_len } => {
                let hex: String = data
                    .iter()
                    .filter(|b| !b.is_ascii_whitespace())
                    .map(|&b| char::from(b))
                    .collect();
                let direction = prompt.status.direction();
                let pdu = Pdu::decode_hex(&hex, Some(*tpdu_len), direction).map_err(|e| {
                    self.explain(format!("the PDU is not valid ({e}) → +CMS ERROR: 304"));
                    INVALID_PDU
                })?;
                let fits = matches!(
                    (&pdu.tpdu, direction),
                    (Tpdu::Submit(_), Direction::ToNetwork)
                        | (Tpdu::Deliver(_), Direction::FromNetwork)
                );
                if !fits {
                    self.explain("the PDU is not of the kind this status stores → 304");
                    return Err(INVALID_PDU);
                }
                Ok(pdu)
            }
            SmsPromptFormat::Text { address } => {
                let tpdu = self.compose_text(address, prompt.status, data)?;
                Ok(Pdu { smsc: None, tpdu })
            }
        }
    }

    /// Text mode: the input under `+CSCS` and `+CSMP` as an SMS-SUBMIT (or an SMS-DELIVER for
    /// a received status given to `+CMGW`).
    fn compose_text(
        &mut self,
        address: &Address,
        status: Status,
        data: &[u8],
    ) -> Result<Tpdu, u16> {
        let (fo, vp, pid, dcs) = self.settings.csmp;
        let dcs = Dcs(dcs as u8);
        let Ok(alphabet) = dcs.alphabet() else {
            self.explain("+CSMP names a reserved coding scheme → 305");
            return Err(INVALID_TEXT);
        };
        if data.is_empty() {
            self.explain("Ctrl-Z with no text");
            return Err(self.profile.sms.empty_text_error);
        }
        let user_data = match alphabet {
            Alphabet::Gsm7 => {
                let text = charset::te_to_text(data, self.charset()).map_err(|()| {
                    self.explain(format!("the text is not valid {}", self.settings.charset));
                    INVALID_TEXT
                })?;
                let user_data = UserData::from_text(&text, Alphabet::Gsm7).map_err(|c| {
                    self.explain(format!("{c:?} has no GSM 7-bit code → 305"));
                    INVALID_TEXT
                })?;
                if user_data.body.len() > 160 {
                    self.explain("more than 160 GSM characters → 305");
                    return Err(INVALID_TEXT);
                }
                user_data
            }
            Alphabet::Eight | Alphabet::Ucs2 => {
                let text: String = data.iter().map(|&b| char::from(b)).collect();
                let octets = hex::decode(text.trim()).map_err(|_| {
                    self.explain("8-bit/UCS2 text mode takes hex → 305");
                    INVALID_TEXT
                })?;
                if octets.len() > 140 {
                    self.explain("more than 140 octets → 305");
                    return Err(INVALID_TEXT);
                }
                let udhi = fo & 0x40 != 0;
                let len = u8::try_from(octets.len()).unwrap_or(u8::MAX);
                UserData::decode(udhi, alphabet, len, &octets).map_err(|e| {
                    self.explain(format!("the user data header is not valid ({e}) → 305"));
                    INVALID_TEXT
                })?
            }
        };
        if matches!(status, Status::RecUnread | Status::RecRead) {
            return Ok(Tpdu::Deliver(Deliver {
                more_messages_to_send: false,
                reply_path: false,
                status_report_indication: false,
                originator: address.clone(),
                pid: pid as u8,
                dcs,
                timestamp: self.sms_timestamp(),
                user_data,
            }));
        }
        let validity = match (fo >> 3) & 3 {
            0 => Validity::None,
            _ => Validity::Relative(vp as u8),
        };
        Ok(Tpdu::Submit(Submit {
            reject_duplicates: fo & 0x04 != 0,
            reply_path: fo & 0x80 != 0,
            status_report_request: fo & 0x20 != 0,
            message_reference: 0,
            destination: address.clone(),
            pid: pid as u8,
            dcs,
            validity,
            user_data,
        }))
    }

    /// The RTC as an SMS timestamp (for messages written as received).
    pub(crate) fn sms_timestamp(&self) -> Timestamp {
        Timestamp::from_unix(self.rtc_utc(), self.rtc_zone_q as i8)
    }

    /// Sends or stores the composed message.
    fn carry_out(
        &mut self,
        command: SendCommand,
        status: Status,
        pdu: Pdu,
    ) -> Result<Outcome, u16> {
        match command {
            SendCommand::Write => {
                let mem = self.sms.roles[1];
                let name = self.sms.memories[mem].name;
                match self.sms.memories[mem].store(StoredSms { status, pdu }) {
                    Some(index) => {
                        self.explain(format!("message written to {name} at {index}"));
                        self.sms_changed();
                        Ok(Outcome::Answer(Some(format!("+CMGW: {index}"))))
                    }
                    None => {
                        self.explain(format!("memory {name} is full → 322"));
                        Err(MEMORY_FULL)
                    }
                }
            }
            SendCommand::Send | SendCommand::SendStored => {
                let Tpdu::Submit(submit) = pdu.tpdu else {
                    return Err(INVALID_PDU);
                };
                self.send_submit(pdu.smsc, submit, command)?;
                Ok(Outcome::Sent)
            }
        }
    }

    /// Hands an SMS-SUBMIT to the network if the modem is registered and knows an SMSC; the
    /// `+CMGS`/`+CMSS` answer follows the network's acknowledgement.
    pub(crate) fn send_submit(
        &mut self,
        smsc: Option<Address>,
        submit: Submit,
        command: SendCommand,
    ) -> Result<u8, u16> {
        if !self.radio.is_registered(&self.config.network) {
            self.explain("not registered on a network → +CMS ERROR: 331");
            return Err(NO_NETWORK);
        }
        let Some(smsc) = smsc.or_else(|| self.smsc_address()) else {
            self.explain("no service centre: +CSCA is empty and the PDU has none → 330");
            return Err(SMSC_UNKNOWN);
        };
        let mr = self.submit_sms(Submission { smsc, submit });
        self.awaiting = Some(Awaiting::SmsSubmit { mr, command });
        self.schedule(self.config.sms_ack_ms, TimerKind::SmsSubmitted);
        Ok(mr)
    }

    /// The network acknowledged: `+CMGS: <mr>` / `+CMSS: <mr>` and `OK`.
    pub(crate) fn sms_submitted(&mut self) {
        let Some(Awaiting::SmsSubmit { mr, command }) = self.awaiting else {
            return;
        };
        let word = match command {
            SendCommand::SendStored => "+CMSS",
            _ => "+CMGS",
        };
        self.write_info(&[format!("{word}: {mr}")]);
        self.finish_awaiting(Some(ResultCode::Ok));
    }
}
