//! Message and call-presentation settings that clients set up at connect time:
//! `+CMGF`, `+CSCA`, `+CSMP`, `+CLIP`, `+CRC`, `+CVHU`. Storage and sending come with the SMS issue.

use super::{
    CmdError, CmdResult, Done, at_most, int_param, numeric_setting, required_int, str_param,
};
use crate::at::{Command, Form};
use crate::modem::Modem;

pub fn cmgf(modem: &mut Modem, command: &Command) -> CmdResult {
    numeric_setting(modem, command, "(0,1)", 1, 0, |s| &mut s.sms_text_mode)
}

pub fn crc(modem: &mut Modem, command: &Command) -> CmdResult {
    numeric_setting(modem, command, "(0,1)", 1, 0, |s| &mut s.crc)
}

pub fn cvhu(modem: &mut Modem, command: &Command) -> CmdResult {
    numeric_setting(modem, command, "(0,1)", 1, 0, |s| &mut s.cvhu)
}

/// `+CLIP`: the read form adds the network's provisioning status (1, provisioned).
pub fn clip(modem: &mut Modem, command: &Command) -> CmdResult {
    if command.form == Form::Read {
        let line = format!("+CLIP: {},1", modem.settings.clip);
        modem.info.push(line);
        return Ok(Done::Ok);
    }
    numeric_setting(modem, command, "(0,1)", 1, 0, |s| &mut s.clip)
}

/// `+CSCA`: the service centre stored on the SIM.
pub fn csca(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => Ok(Done::Ok),
        Form::Read => {
            let smsc = &modem.config.identity.smsc;
            if smsc.is_empty() {
                return Err(CmdError::Cms(330));
            }
            let kind = if smsc.starts_with('+') { 145 } else { 129 };
            let line = format!("+CSCA: \"{smsc}\",{kind}");
            modem.info.push(line);
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            at_most(command, 2)?;
            let number = str_param(command, 0).unwrap_or("");
            let digits = number.strip_prefix('+').unwrap_or(number);
            if digits.len() > 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(CmdError::InvalidParameter);
            }
            int_param(command, 1, 129, 255)?;
            modem.config.identity.smsc = number.to_string();
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

/// `+CSMP`: text-mode parameters for sending (first octet, validity, PID, DCS).
pub fn csmp(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => Ok(Done::Ok),
        Form::Read => {
            let (fo, vp, pid, dcs) = modem.settings.csmp;
            modem.info.push(format!("+CSMP: {fo},{vp},{pid},{dcs}"));
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            at_most(command, 4)?;
            let (_, vp, pid, dcs) = modem.settings.csmp;
            let fo = required_int(command, 0, 0, 255)?;
            let vp = int_param(command, 1, 0, 255)?.unwrap_or(vp);
            let pid = int_param(command, 2, 0, 255)?.unwrap_or(pid);
            let dcs = int_param(command, 3, 0, 255)?.unwrap_or(dcs);
            modem.settings.csmp = (fo, vp, pid, dcs);
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}
