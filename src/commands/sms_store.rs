//! 27.005 message commands: sending (`+CMGS`, `+CMSS`), writing (`+CMGW`), reading
//! (`+CMGR`, `+CMGL`) and deleting (`+CMGD`, SIMCom `+CMGDA`) in PDU and text mode.

use super::sms::{require_sms_sim, te_address};
use super::{CmdError, CmdResult, Done, at_most, int_param, params, str_param};
use crate::at::{Command, Form};
use crate::modem::Modem;
use crate::modem::data_mode::{PortMode, Prompt, PromptPurpose};
use crate::modem::sms::{SendCommand, SmsPrompt, SmsPromptFormat, Status, StoredSms, pdu_hex};
use crate::sms::{Tpdu, Validity};

const INVALID_INDEX: u16 = 321;
const NOT_ALLOWED: u16 = 302;
const INVALID_PDU: u16 = 304;
const INVALID_TEXT: u16 = 305;
/// Most bytes a prompt takes before Ctrl-Z (hex of the longest PDU with room for spaces).
const PROMPT_MAX: usize = 4096;

/// `+CMGS`: PDU `=<length>` or text `="<da>"[,<toda>]`, then the `> ` prompt.
pub fn cmgs(modem: &mut Modem, command: &Command) -> CmdResult {
    open_prompt(modem, command, SendCommand::Send)
}

/// `+CMGW`: like `+CMGS` but stores the message (`+CMGW: <index>`); PDU `=<length>[,<stat>]`,
/// text `[="<oa/da>"[,<toda>[,<stat>]]]`.
pub fn cmgw(modem: &mut Modem, command: &Command) -> CmdResult {
    open_prompt(modem, command, SendCommand::Write)
}

fn open_prompt(modem: &mut Modem, command: &Command, what: SendCommand) -> CmdResult {
    let text_mode = modem.text_mode();
    match command.form {
        Form::Test => return Ok(Done::Ok),
        Form::Set(_) => {}
        Form::Action if what == SendCommand::Write && text_mode => {}
        _ => return Err(CmdError::UnsupportedForm),
    }
    require_sms_sim(modem)?;
    let status_index = if text_mode { 2 } else { 1 };
    let status = match params(command)
        .get(status_index)
        .filter(|p| !p.is_omitted())
    {
        None => Status::StoUnsent,
        Some(_) if what == SendCommand::Send => return Err(CmdError::InvalidParameter),
        Some(p) => parse_status(modem, &p.text, p.quoted).ok_or(CmdError::Cms(if text_mode {
            INVALID_TEXT
        } else {
            INVALID_PDU
        }))?,
    };
    let format = if text_mode {
        at_most(command, 3)?;
        let address = match str_param(command, 0) {
            Some(text) => {
                let toda =
                    int_param(command, 1, 0, 255).map_err(|_| CmdError::Cms(INVALID_TEXT))?;
                te_address(modem, text, toda).ok_or(CmdError::Cms(INVALID_TEXT))?
            }
            None if what == SendCommand::Write => crate::sms::Address {
                number: String::new(),
                toa: 129,
            },
            None => return Err(CmdError::Cms(INVALID_TEXT)),
        };
        SmsPromptFormat::Text { address }
    } else {
        at_most(command, 2)?;
        let tpdu_len = int_param(command, 0, 1, 164)
            .ok()
            .flatten()
            .ok_or(CmdError::Cms(INVALID_PDU))?;
        SmsPromptFormat::Pdu {
            tpdu_len: tpdu_len as usize,
        }
    };
    let echo = modem.settings.echo && (text_mode || modem.profile.sms.echo_pdu);
    modem.port_mode = PortMode::Prompt(Prompt::new(
        PromptPurpose::Sms(SmsPrompt {
            command: what,
            format,
            status,
            reprompt_on_cr: text_mode && modem.improved_sms_mode(),
        }),
        None,
        PROMPT_MAX,
        echo,
    ));
    modem.write_dte(b"\r\n> ");
    modem.explain(if text_mode {
        "prompt: the text up to Ctrl-Z (ESC cancels)"
    } else {
        "prompt: the PDU in hex up to Ctrl-Z (ESC cancels)"
    });
    Ok(Done::Stop(None))
}

/// A `<stat>` as the mode writes it: `"REC UNREAD"` in text mode, `0` in PDU mode.
fn parse_status(modem: &Modem, text: &str, quoted: bool) -> Option<Status> {
    if modem.text_mode() {
        quoted.then(|| Status::from_text(text)).flatten()
    } else if quoted {
        None
    } else {
        text.parse().ok().and_then(Status::from_number)
    }
}

/// `+CMSS=<index>[,<da>[,<toda>]]`: sends a stored message (`+CMSS: <mr>`).
pub fn cmss(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => return Ok(Done::Ok),
        Form::Set(_) => {}
        _ => return Err(CmdError::UnsupportedForm),
    }
    require_sms_sim(modem)?;
    at_most(command, 3)?;
    let mem = modem.sms.roles[1];
    let index = message_index(modem, command, mem)?;
    let Some(stored) = stored_at(modem, mem, index).cloned() else {
        return Err(CmdError::Cms(INVALID_INDEX));
    };
    let Tpdu::Submit(mut submit) = stored.pdu.tpdu else {
        modem.explain("+CMSS of a received message → 302");
        return Err(CmdError::Cms(NOT_ALLOWED));
    };
    if let Some(text) = str_param(command, 1) {
        let toda = int_param(command, 2, 0, 255)?;
        submit.destination = te_address(modem, text, toda).ok_or(CmdError::InvalidParameter)?;
    }
    if submit.destination.number.is_empty() {
        modem.explain("the stored message has no destination → 304");
        return Err(CmdError::Cms(INVALID_PDU));
    }
    modem
        .send_submit(stored.pdu.smsc, submit, SendCommand::SendStored)
        .map_err(CmdError::Cms)?;
    if let Some(Some(slot)) = modem.sms.memories[mem].get_mut(index) {
        slot.status = Status::StoSent;
    }
    modem.sms_changed();
    Ok(Done::Stop(None))
}

/// The `<index>` parameter: 1..capacity of memory `mem`, else 321.
fn message_index(modem: &Modem, command: &Command, mem: usize) -> Result<usize, CmdError> {
    let capacity = modem.sms.memories[mem].capacity() as u32;
    match int_param(command, 0, 1, capacity.max(1)) {
        Ok(Some(index)) => Ok(index as usize),
        _ => Err(CmdError::Cms(INVALID_INDEX)),
    }
}

fn stored_at(modem: &Modem, mem: usize, index: usize) -> Option<&StoredSms> {
    modem.sms.memories[mem]
        .slots
        .get(index.checked_sub(1)?)
        .and_then(Option::as_ref)
}

/// `+CMGR=<index>[,<mode>]`: one message; reading marks REC UNREAD as REC READ (mode 1 does
/// not).
pub fn cmgr(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => return Ok(Done::Ok),
        Form::Set(_) => {}
        _ => return Err(CmdError::UnsupportedForm),
    }
    require_sms_sim(modem)?;
    at_most(command, 2)?;
    let mem = modem.sms.roles[0];
    let index = message_index(modem, command, mem)?;
    let keep_unread = int_param(command, 1, 0, 1)? == Some(1);
    let Some(stored) = stored_at(modem, mem, index).cloned() else {
        modem.explain(format!("slot {index} is empty"));
        return match modem.profile.sms.empty_slot_read_error {
            Some(code) => Err(CmdError::Cms(code)),
            None => Ok(Done::Ok),
        };
    };
    let (header, data) = describe_stored(modem, &stored, None);
    modem.info.push(format!("+CMGR: {header}"));
    modem.info.extend(data);
    if !keep_unread && mark_read(modem, mem, index) {
        modem.sms_changed();
    }
    Ok(Done::Ok)
}

/// REC UNREAD → REC READ; whether it changed anything.
fn mark_read(modem: &mut Modem, mem: usize, index: usize) -> bool {
    match modem.sms.memories[mem].get_mut(index) {
        Some(Some(slot)) if slot.status == Status::RecUnread => {
            slot.status = Status::RecRead;
            true
        }
        _ => false,
    }
}

/// `+CMGL[=<stat>[,<mode>]]`: every message with that status (REC UNREAD when omitted).
pub fn cmgl(modem: &mut Modem, command: &Command) -> CmdResult {
    let text_mode = modem.text_mode();
    match command.form {
        Form::Test => {
            modem.info.push(if text_mode {
                "+CMGL: (\"REC UNREAD\",\"REC READ\",\"STO UNSENT\",\"STO SENT\",\"ALL\")".into()
            } else {
                "+CMGL: (0-4)".into()
            });
            return Ok(Done::Ok);
        }
        Form::Set(_) | Form::Action => {}
        _ => return Err(CmdError::UnsupportedForm),
    }
    require_sms_sim(modem)?;
    at_most(command, 2)?;
    // `None`: all.
    let wanted = match params(command).first().filter(|p| !p.is_omitted()) {
        None => Some(Status::RecUnread),
        Some(p) if text_mode && p.quoted && p.text == "ALL" => None,
        Some(p) if !text_mode && !p.quoted && p.text == "4" => None,
        Some(p) => Some(parse_status(modem, &p.text, p.quoted).ok_or(CmdError::Cms(NOT_ALLOWED))?),
    };
    let keep_unread = int_param(command, 1, 0, 1)? == Some(1);
    let mem = modem.sms.roles[0];
    let listed: Vec<(usize, StoredSms)> = modem.sms.memories[mem]
        .slots
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.as_ref().map(|s| (i + 1, s.clone())))
        .filter(|(_, s)| wanted.is_none_or(|w| s.status == w))
        .collect();
    let mut marked = false;
    for (index, stored) in &listed {
        let (header, data) = describe_stored(modem, stored, Some(*index));
        modem.info.push(format!("+CMGL: {header}"));
        modem.info.extend(data);
        if !keep_unread {
            marked |= mark_read(modem, mem, *index);
        }
    }
    if marked {
        modem.sms_changed();
    }
    Ok(Done::Ok)
}

/// The fields after `+CMGR: ` (or `+CMGL: ` with its index) and the data line, if any.
fn describe_stored(
    modem: &Modem,
    stored: &StoredSms,
    list_index: Option<usize>,
) -> (String, Option<String>) {
    let index = list_index.map_or(String::new(), |i| format!("{i},"));
    if !modem.text_mode() {
        let (hex, len) = pdu_hex(&stored.pdu);
        return (
            format!("{index}{},\"\",{len}", stored.status.number()),
            Some(hex),
        );
    }
    let status = format!("{index}\"{}\"", stored.status.text());
    let listing = list_index.is_some();
    match &stored.pdu.tpdu {
        Tpdu::Deliver(_) => {
            let (fields, data) = modem.deliver_fields(&stored.pdu, !listing);
            (format!("{status},{fields}"), Some(data))
        }
        Tpdu::StatusReport(_) => (
            format!("{status},{}", modem.report_fields(&stored.pdu)),
            None,
        ),
        Tpdu::Submit(submit) => {
            let (data, length) = modem.te_data(&stored.pdu.tpdu);
            let da = modem.te_number(&submit.destination);
            let mut header = format!("{status},{da},\"\"");
            if modem.settings.csdh == 1 {
                let toda = submit.destination.toa;
                if listing {
                    header.push_str(&format!(",,{toda},{length}"));
                } else {
                    let vp = match submit.validity {
                        Validity::Relative(v) => v.to_string(),
                        Validity::Absolute(t) => format!("\"{}\"", t.text()),
                        Validity::None | Validity::Enhanced(_) => String::new(),
                    };
                    let (sca, tosca) = match &stored.pdu.smsc {
                        Some(a) => (modem.te_number(a), a.toa.to_string()),
                        None => ("\"\"".into(), String::new()),
                    };
                    header.push_str(&format!(
                        ",{toda},{},{},{},{vp},{sca},{tosca},{length}",
                        stored.pdu.tpdu.first_octet(),
                        submit.pid,
                        submit.dcs.0
                    ));
                }
            }
            (header, Some(data))
        }
    }
}

/// `+CMGD=<index>[,<delflag>]`: 0 that message; 1 all read; 2 read and sent; 3 read, sent and
/// unsent; 4 all.
pub fn cmgd(modem: &mut Modem, command: &Command) -> CmdResult {
    let mem = modem.sms.roles[0];
    match command.form {
        Form::Test => {
            let used: Vec<String> = modem.sms.memories[mem]
                .slots
                .iter()
                .enumerate()
                .filter(|(_, s)| s.is_some())
                .map(|(i, _)| (i + 1).to_string())
                .collect();
            modem
                .info
                .push(format!("+CMGD: ({}),(0-4)", used.join(",")));
            return Ok(Done::Ok);
        }
        Form::Set(_) => {}
        _ => return Err(CmdError::UnsupportedForm),
    }
    require_sms_sim(modem)?;
    at_most(command, 2)?;
    let flag = int_param(command, 1, 0, 4)?.unwrap_or(0);
    let doomed: &[Status] = match flag {
        0 => {
            let index = message_index(modem, command, mem)?;
            if let Some(slot) = modem.sms.memories[mem].get_mut(index) {
                *slot = None;
            }
            modem.explain(format!("message {index} deleted"));
            modem.sms_changed();
            modem.deliver_held_sms();
            return Ok(Done::Ok);
        }
        1 => &[Status::RecRead],
        2 => &[Status::RecRead, Status::StoSent],
        3 => &[Status::RecRead, Status::StoSent, Status::StoUnsent],
        _ => &Status::ALL,
    };
    delete_where(modem, mem, doomed);
    Ok(Done::Ok)
}

fn delete_where(modem: &mut Modem, mem: usize, doomed: &[Status]) {
    let mut count = 0;
    for slot in &mut modem.sms.memories[mem].slots {
        if slot.as_ref().is_some_and(|s| doomed.contains(&s.status)) {
            *slot = None;
            count += 1;
        }
    }
    modem.explain(format!("{count} messages deleted"));
    if count > 0 {
        modem.sms_changed();
    }
    modem.deliver_held_sms();
}

/// SIMCom `+CMGDA`: delete by type — text `"DEL READ"`, `"DEL UNREAD"`, `"DEL SENT"`,
/// `"DEL UNSENT"`, `"DEL INBOX"`, `"DEL ALL"`; PDU mode 1..6 in that order.
pub fn cmgda(modem: &mut Modem, command: &Command) -> CmdResult {
    const KINDS: [(&str, &[Status]); 6] = [
        ("DEL READ", &[Status::RecRead]),
        ("DEL UNREAD", &[Status::RecUnread]),
        ("DEL SENT", &[Status::StoSent]),
        ("DEL UNSENT", &[Status::StoUnsent]),
        ("DEL INBOX", &[Status::RecRead, Status::RecUnread]),
        ("DEL ALL", &Status::ALL),
    ];
    let text_mode = modem.text_mode();
    match command.form {
        Form::Test => {
            modem.info.push(if text_mode {
                "+CMGDA: (\"DEL READ\",\"DEL UNREAD\",\"DEL SENT\",\"DEL UNSENT\",\"DEL INBOX\",\"DEL ALL\")".into()
            } else {
                "+CMGDA: (1-6)".into()
            });
            return Ok(Done::Ok);
        }
        Form::Set(_) => {}
        _ => return Err(CmdError::UnsupportedForm),
    }
    require_sms_sim(modem)?;
    at_most(command, 1)?;
    let Some(param) = params(command).first() else {
        return Err(CmdError::InvalidParameter);
    };
    let kind = if text_mode {
        KINDS
            .iter()
            .position(|(name, _)| param.quoted && *name == param.text)
    } else {
        int_param(command, 0, 1, 6)?.map(|n| n as usize - 1)
    };
    let Some(kind) = kind else {
        return Err(CmdError::InvalidParameter);
    };
    let mem = modem.sms.roles[0];
    delete_where(modem, mem, KINDS[kind].1);
    Ok(Done::Ok)
}
