//! Telit radio settings the ATRUN tables name (B.19): `+CGCLASS`, `+CGSMS`, `#SIMDET`, `#BND`.
//! They are stored and read back; what they would do to the radio is not emulated.

use super::{CmdError, CmdResult, Done, at_most, numeric_setting, str_param};
use crate::at::{Command, Form};
use crate::modem::Modem;

/// `AT+CGCLASS=<class>`: `"B"` (factory), `"CG"` (GPRS only), `"CC"` (GSM only).
pub fn cgclass(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => {
            modem.info.push("+CGCLASS: (\"B\",\"CG\",\"CC\")".into());
            Ok(Done::Ok)
        }
        Form::Read => {
            let line = format!("+CGCLASS: \"{}\"", modem.radio.gprs_class);
            modem.info.push(line);
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            at_most(command, 1)?;
            let class = str_param(command, 0).ok_or(CmdError::InvalidParameter)?;
            if !["B", "CG", "CC"].contains(&class) {
                return Err(CmdError::InvalidParameter);
            }
            modem.explain(format!(
                "+CGCLASS \"{class}\" kept; simodem does not change the radio for it"
            ));
            modem.radio.gprs_class = class.to_string();
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

/// `AT+CGSMS=<service>`: 0 GPRS, 1 circuit switched, 2 GPRS preferred, 3 CS preferred
/// ([INFERRED] factory 3).
pub fn cgsms(modem: &mut Modem, command: &Command) -> CmdResult {
    numeric_setting(modem, command, "(0-3)", 3, 3, |m| &mut m.radio.sms_service)
}

/// `AT#SIMDET=<mode>`: 0 SIM not inserted, 1 inserted, 2 automatic (factory); read
/// `#SIMDET: <mode>,<simin>`.
pub fn simdet(modem: &mut Modem, command: &Command) -> CmdResult {
    if command.form == Form::Read {
        let inserted = u32::from(modem.radio.sim != crate::modem::Sim::Absent);
        let line = format!("#SIMDET: {},{inserted}", modem.radio.sim_detect);
        modem.info.push(line);
        return Ok(Done::Ok);
    }
    numeric_setting(modem, command, "(0-2)", 2, 2, |m| &mut m.radio.sim_detect)
}

/// `AT#BND=<band>`: the GSM band pair 0..3 (factory 0).
pub fn bnd(modem: &mut Modem, command: &Command) -> CmdResult {
    numeric_setting(modem, command, "(0-3)", 3, 0, |m| &mut m.radio.band)
}
