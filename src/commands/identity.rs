//! Identification: `ATI`, `+CGMI/+CGMM/+CGMR/+CGSN` and their `+G…` twins, `+GCAP`, `+CIMI`,
//! `+CCID`, `+CNUM`, `+CLAC`, and the Telit `#CG…` forms. Strings come from the profile.

use super::{CmdError, CmdResult, Done, clac_lines};
use crate::at::{Command, Form};
use crate::modem::Modem;

/// Action form prints `lines`; test form prints nothing; other forms are unsupported.
fn info_command(modem: &mut Modem, command: &Command, lines: Vec<String>) -> CmdResult {
    match command.form {
        Form::Action => {
            modem.info.extend(lines);
            Ok(Done::Ok)
        }
        Form::Test => Ok(Done::Ok),
        _ => Err(CmdError::UnsupportedForm),
    }
}

/// Like `info_command`, for data on the SIM: fails with the SIM's access error first.
fn sim_info_command(modem: &mut Modem, command: &Command, line: String) -> CmdResult {
    if command.form == Form::Action
        && let Some(code) = modem.radio.sim.access_error()
    {
        return Err(CmdError::Cme(code));
    }
    info_command(modem, command, vec![line])
}

pub fn ati(modem: &mut Modem, command: &Command) -> CmdResult {
    let Form::Basic(value) = command.form else {
        return Err(CmdError::Unknown);
    };
    let n = value.unwrap_or(0);
    let Some((_, lines)) = modem.profile.ati.iter().find(|(i, _)| *i == n) else {
        return Err(CmdError::Plain);
    };
    modem.info.extend(lines.iter().map(|l| l.to_string()));
    Ok(Done::Ok)
}

pub fn manufacturer(modem: &mut Modem, command: &Command) -> CmdResult {
    let line = modem.profile.manufacturer.to_string();
    info_command(modem, command, vec![line])
}

pub fn model(modem: &mut Modem, command: &Command) -> CmdResult {
    let line = modem.profile.model.to_string();
    info_command(modem, command, vec![line])
}

pub fn revision(modem: &mut Modem, command: &Command) -> CmdResult {
    let line = modem.profile.revision.to_string();
    info_command(modem, command, vec![line])
}

pub fn imei(modem: &mut Modem, command: &Command) -> CmdResult {
    let line = modem.config.identity.imei.clone();
    info_command(modem, command, vec![line])
}

/// `+GSN`: the IMEI, or the board serial on models that print one.
pub fn gsn(modem: &mut Modem, command: &Command) -> CmdResult {
    let line = match modem.profile.board_serial {
        Some(serial) => serial.to_string(),
        None => modem.config.identity.imei.clone(),
    };
    info_command(modem, command, vec![line])
}

pub fn gcap(modem: &mut Modem, command: &Command) -> CmdResult {
    let line = modem.profile.gcap.to_string();
    info_command(modem, command, vec![line])
}

/// SIMCom `+GOI`: the object id, the model without the vendor prefix.
pub fn goi(modem: &mut Modem, command: &Command) -> CmdResult {
    let model = modem.profile.model;
    let line = model.rsplit('_').next().unwrap_or(model).to_string();
    info_command(modem, command, vec![line])
}

/// SIMCom `+GSV`: manufacturer, model, revision.
pub fn gsv(modem: &mut Modem, command: &Command) -> CmdResult {
    let lines = vec![
        modem.profile.manufacturer.to_string(),
        modem.profile.model.to_string(),
        modem.profile.revision.to_string(),
    ];
    info_command(modem, command, lines)
}

pub fn imsi(modem: &mut Modem, command: &Command) -> CmdResult {
    let line = modem.config.identity.imsi.clone();
    sim_info_command(modem, command, line)
}

/// SIMCom `+CCID`: bare ICCID; readable without the PIN, not without a SIM.
pub fn ccid(modem: &mut Modem, command: &Command) -> CmdResult {
    if modem.radio.sim == crate::modem::Sim::Absent && command.form == Form::Action {
        return Err(CmdError::Cme(10));
    }
    let line = modem.config.identity.iccid.clone();
    info_command(modem, command, vec![line])
}

pub fn cnum(modem: &mut Modem, command: &Command) -> CmdResult {
    if command.form == Form::Action
        && let Some(code) = modem.radio.sim.access_error()
    {
        return Err(CmdError::Cme(code));
    }
    let number = &modem.config.identity.number;
    let lines = if number.is_empty() {
        Vec::new()
    } else {
        let kind = if number.starts_with('+') { 145 } else { 129 };
        vec![format!(
            "+CNUM: \"\",\"{number}\",{kind}{}",
            modem.profile.cnum_suffix
        )]
    };
    info_command(modem, command, lines)
}

pub fn clac(modem: &mut Modem, command: &Command) -> CmdResult {
    let lines = clac_lines(modem.profile);
    info_command(modem, command, lines)
}

/// Telit `#CGMI`-style commands print `#NAME: value`.
fn telit_prefixed(modem: &mut Modem, command: &Command, value: String) -> CmdResult {
    let line = format!("{}: {value}", command.name);
    info_command(modem, command, vec![line])
}

pub fn telit_manufacturer(modem: &mut Modem, command: &Command) -> CmdResult {
    telit_prefixed(modem, command, modem.profile.manufacturer.to_string())
}

pub fn telit_model(modem: &mut Modem, command: &Command) -> CmdResult {
    telit_prefixed(modem, command, modem.profile.model.to_string())
}

pub fn telit_revision(modem: &mut Modem, command: &Command) -> CmdResult {
    telit_prefixed(modem, command, modem.profile.revision.to_string())
}

pub fn telit_imei(modem: &mut Modem, command: &Command) -> CmdResult {
    telit_prefixed(modem, command, modem.config.identity.imei.clone())
}

pub fn telit_ccid(modem: &mut Modem, command: &Command) -> CmdResult {
    if modem.radio.sim == crate::modem::Sim::Absent && command.form == Form::Action {
        return Err(CmdError::Cme(10));
    }
    telit_prefixed(modem, command, modem.config.identity.iccid.clone())
}
