//! 27.005 settings and call-presentation settings clients set up at connect time: `+CSMS`,
//! `+CMGF`, `+CSCA`, `+CSMP`, `+CSDH`, `+CPMS`, `+CNMI`, `+CNMA`, `+CLIP`, `+CRC`, `+CVHU`.

use super::{
    CmdError, CmdResult, Done, at_most, int_param, numeric_setting, params, required_int, str_param,
};
use crate::at::{Command, Form};
use crate::modem::Modem;
use crate::sms::Address;
use crate::sms::charset;

/// The `+CMS ERROR` for SMS commands while the SIM cannot be used (310 absent, 311 PIN,
/// 316 PUK, 313 failure, 314 busy starting up).
pub(crate) fn require_sms_sim(modem: &Modem) -> Result<(), CmdError> {
    match modem.radio.sim.access_error() {
        None => Ok(()),
        Some(10) => Err(CmdError::Cms(310)),
        Some(11) => Err(CmdError::Cms(311)),
        Some(12) => Err(CmdError::Cms(316)),
        Some(14) => Err(CmdError::Cms(314)),
        Some(_) => Err(CmdError::Cms(313)),
    }
}

/// A text-mode address parameter in the `+CSCS` set with its optional type (145 with `+`,
/// else 129); `None` when it is not a dialable number (digits, `*`, `#`) of at most 20 digits.
pub(crate) fn te_address(modem: &Modem, text: &str, toa: Option<u32>) -> Option<Address> {
    let number = charset::te_to_text(text.as_bytes(), modem.charset()).ok()?;
    let digits = number.strip_prefix('+').unwrap_or(&number);
    if !digits
        .chars()
        .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
    {
        return None;
    }
    match toa {
        Some(toa) => Address::with_toa(&number, u8::try_from(toa).ok()?).ok(),
        None => Address::from_text(&number).ok(),
    }
}

/// `+CSMS=<service>`: 1 makes `+CMT`/`+CDS` wait for `+CNMA`. Answers `<mt>,<mo>,<bm>`.
pub fn csms(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => modem.info.push("+CSMS: (0,1)".into()),
        Form::Read => modem
            .info
            .push(format!("+CSMS: {},1,1,1", modem.sms.service)),
        Form::Set(_) => {
            at_most(command, 1)?;
            modem.sms.service = required_int(command, 0, 0, 1)?;
            modem.info.push("+CSMS: 1,1,1".into());
        }
        _ => return Err(CmdError::UnsupportedForm),
    }
    Ok(Done::Ok)
}

pub fn csdh(modem: &mut Modem, command: &Command) -> CmdResult {
    numeric_setting(modem, command, "(0,1)", 1, 0, |m| &mut m.settings.csdh)
}

/// `+CPMS=<mem1>[,<mem2>[,<mem3>]]`: the memories to read/delete, write/send and receive in.
pub fn cpms(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => modem.info.push(modem.profile.sms.cpms_test.into()),
        Form::Read => {
            require_sms_sim(modem)?;
            modem.info.push(cpms_line(modem, true));
        }
        Form::Set(_) => {
            require_sms_sim(modem)?;
            at_most(command, 3)?;
            let mut roles = modem.sms.roles;
            for (role, param) in params(command).iter().enumerate() {
                if param.is_omitted() && role > 0 {
                    continue;
                }
                let Some(mem) = modem.sms.memory_named(modem.profile, &param.text) else {
                    modem.explain(format!("no memory {:?} → 302", param.text));
                    return Err(CmdError::Cms(302));
                };
                roles[role] = mem;
            }
            modem.sms.roles = roles;
            modem.info.push(cpms_line(modem, false));
        }
        _ => return Err(CmdError::UnsupportedForm),
    }
    Ok(Done::Ok)
}

/// `+CPMS: ` and `<used>,<total>` of the three memories in use, each after its quoted name
/// when `named` (the read form; the set form prints counts only).
fn cpms_line(modem: &Modem, named: bool) -> String {
    let fields: Vec<String> = modem
        .sms
        .roles
        .iter()
        .map(|&m| {
            let memory = &modem.sms.memories[m];
            let counts = format!("{},{}", memory.used(), memory.capacity());
            if named {
                format!("\"{}\",{counts}", memory.name)
            } else {
                counts
            }
        })
        .collect();
    format!("+CPMS: {}", fields.join(","))
}

/// `+CNMI=[<mode>[,<mt>[,<bm>[,<ds>[,<bfr>]]]]]`: how new messages and reports are indicated.
pub fn cnmi(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => modem.info.push(modem.profile.sms.cnmi_test.into()),
        Form::Read => {
            let (mode, mt, bm, ds, bfr) = modem.settings.cnmi;
            modem
                .info
                .push(format!("+CNMI: {mode},{mt},{bm},{ds},{bfr}"));
        }
        Form::Set(_) => {
            at_most(command, 5)?;
            let (mode, mt, bm, ds, bfr) = modem.settings.cnmi;
            let mut values = [mode, mt, bm, ds, bfr];
            for (i, allowed) in modem.profile.sms.cnmi_values.iter().enumerate() {
                if let Some(v) = int_param(command, i, 0, u32::MAX)? {
                    let switched_on = i == 3 && v == 2 && modem.config.cnmi_ds2;
                    if !allowed.contains(&v) && !switched_on {
                        modem.explain(format!("+CNMI parameter {} = {v} is not supported", i + 1));
                        return Err(CmdError::InvalidParameter);
                    }
                    values[i] = v;
                }
            }
            let [mode, mt, bm, ds, bfr] = values;
            modem.settings.cnmi = (mode, mt, bm, ds, bfr);
            modem.release_buffered_indications();
        }
        _ => return Err(CmdError::UnsupportedForm),
    }
    Ok(Done::Ok)
}

/// `+CNMA`: acknowledges a `+CMT`/`+CDS` (with `+CSMS=1`); 340 when none waits.
pub fn cnma(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => {
            if !modem.text_mode() {
                modem.info.push("+CNMA: (0-2)".into());
            }
            return Ok(Done::Ok);
        }
        Form::Action => {}
        Form::Set(_) if !modem.text_mode() => {
            at_most(command, 2)?;
            int_param(command, 0, 0, 2)?;
            if int_param(command, 1, 0, 0).is_err() {
                // An RP-ACK PDU of its own would need a prompt; not supported.
                return Err(CmdError::Cms(304));
            }
        }
        _ => return Err(CmdError::UnsupportedForm),
    }
    if modem.sms.service != 1 || !modem.acknowledge_sms() {
        modem.explain("+CNMA with no +CMT/+CDS waiting → 340");
        return Err(CmdError::Cms(340));
    }
    Ok(Done::Ok)
}

/// `+CSAS`/`+CRES`: save and restore SMS settings (kept with the profile here).
pub fn csas_cres(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => modem.info.push(format!("{}: (0)", command.name)),
        Form::Action | Form::Set(_) => {
            int_param(command, 0, 0, 0)?;
        }
        _ => return Err(CmdError::UnsupportedForm),
    }
    Ok(Done::Ok)
}

pub fn cmgf(modem: &mut Modem, command: &Command) -> CmdResult {
    numeric_setting(modem, command, "(0,1)", 1, 0, |m| {
        &mut m.settings.sms_text_mode
    })
}

pub fn crc(modem: &mut Modem, command: &Command) -> CmdResult {
    numeric_setting(modem, command, "(0,1)", 1, 0, |m| &mut m.settings.crc)
}

pub fn cvhu(modem: &mut Modem, command: &Command) -> CmdResult {
    numeric_setting(modem, command, "(0,1)", 1, 0, |m| &mut m.settings.cvhu)
}

/// `+CLIP`: the read form adds the network's provisioning status (1, provisioned).
pub fn clip(modem: &mut Modem, command: &Command) -> CmdResult {
    if command.form == Form::Read {
        let line = format!("+CLIP: {},1", modem.settings.clip);
        modem.info.push(line);
        return Ok(Done::Ok);
    }
    numeric_setting(modem, command, "(0,1)", 1, 0, |m| &mut m.settings.clip)
}

/// `+CSCA`: the service centre stored on the SIM.
pub fn csca(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => Ok(Done::Ok),
        Form::Read => {
            let Some(smsc) = modem.smsc_address() else {
                return Err(CmdError::Cms(330));
            };
            let line = format!("+CSCA: \"{}\",{}", modem.config.identity.smsc, smsc.toa);
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
