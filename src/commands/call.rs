//! Voice-call commands: `ATA` answers the ringing call, `ATH`/`+CHUP` hang up, `+CLCC` lists the
//! call, `+CPAS` reports ringing/in-call activity.

use super::{CmdError, CmdResult, Done, basic_value};
use crate::at::{Command, Form};
use crate::dte::ResultCode;
use crate::modem::{CallState, Modem};

/// `ATA`: answer. It ends the command line (V.250); with nothing ringing it is `NO CARRIER`.
pub fn answer(modem: &mut Modem, command: &Command) -> CmdResult {
    basic_value(command, &[0])?;
    if modem.answer_call() {
        modem.explain("ATA: call answered; the rest of the line is ignored");
        Ok(Done::Stop(Some(ResultCode::Ok)))
    } else {
        modem.explain("ATA: no incoming call → NO CARRIER");
        Ok(Done::Stop(Some(ResultCode::NoCarrier)))
    }
}

/// `ATH[0]`: hang up whatever call there is; `OK` either way.
pub fn hook(modem: &mut Modem, command: &Command) -> CmdResult {
    basic_value(command, &[0])?;
    modem.end_call("ATH");
    super::simcom_ip::hang_up_data(modem);
    Ok(Done::Ok)
}

/// `AT+CHUP`: hang up.
pub fn chup(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Action => {
            modem.end_call("AT+CHUP");
            Ok(Done::Ok)
        }
        Form::Test => Ok(Done::Ok),
        _ => Err(CmdError::UnsupportedForm),
    }
}

/// `AT+CLCC`: one line per call, nothing without one.
pub fn clcc(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Action => {
            if let Some(call) = &modem.call {
                // <id>,<dir 1=MT>,<stat 0 active / 4 incoming>,<mode 0 voice>,<mpty 0>
                let stat = match call.state {
                    CallState::Active => 0,
                    CallState::Ringing => 4,
                };
                let line = format!(
                    "+CLCC: 1,1,{stat},0,0,\"{}\",{},\"\"",
                    call.from,
                    call.number_type()
                );
                modem.info.push(line);
            }
            Ok(Done::Ok)
        }
        Form::Test => Ok(Done::Ok),
        _ => Err(CmdError::UnsupportedForm),
    }
}

/// `AT+CPAS`: 0 ready, 3 ringing, 4 call in progress.
pub fn cpas(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Action => {
            let status = match modem.call.as_ref().map(|c| c.state) {
                None => 0,
                Some(CallState::Ringing) => 3,
                Some(CallState::Active) => 4,
            };
            modem.info.push(format!("+CPAS: {status}"));
            Ok(Done::Ok)
        }
        Form::Test => {
            modem.info.push("+CPAS: (0-5)".into());
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}
