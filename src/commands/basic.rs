//! V.250 basic commands and the serial-link settings: echo, framing, S-registers, profiles
//! (`&F`, `Z`, `&W`, `&V`), `+CMEE`, `+CSCS`, `+IPR`, `+IFC`, `+ICF`.

use super::{
    CmdError, CmdResult, Done, at_most, basic_value, int_param, numeric_setting, required_int,
    str_param,
};
use crate::at::{Command, Form};
use crate::modem::Modem;
use crate::modem::profile::SRegisterFormat;

fn set_flag(modem: &mut Modem, command: &Command, field: fn(&mut Modem) -> &mut bool) -> CmdResult {
    let value = basic_value(command, &[0, 1])?;
    *field(modem) = value == 1;
    Ok(Done::Ok)
}

pub fn echo(modem: &mut Modem, command: &Command) -> CmdResult {
    set_flag(modem, command, |m| &mut m.settings.echo)
}

pub fn quiet(modem: &mut Modem, command: &Command) -> CmdResult {
    set_flag(modem, command, |m| &mut m.settings.quiet)
}

pub fn verbose(modem: &mut Modem, command: &Command) -> CmdResult {
    set_flag(modem, command, |m| &mut m.settings.verbose)
}

pub fn x_level(modem: &mut Modem, command: &Command) -> CmdResult {
    modem.settings.x_level = basic_value(command, &[0, 1, 2, 3, 4])?;
    Ok(Done::Ok)
}

pub fn ampersand_c(modem: &mut Modem, command: &Command) -> CmdResult {
    modem.settings.dcd_mode = basic_value(command, &[0, 1])?;
    Ok(Done::Ok)
}

pub fn ampersand_d(modem: &mut Modem, command: &Command) -> CmdResult {
    modem.settings.dtr_mode = basic_value(command, modem.profile.dtr_modes)?;
    Ok(Done::Ok)
}

pub fn ampersand_k(modem: &mut Modem, command: &Command) -> CmdResult {
    modem.settings.flow_control = basic_value(command, &[0, 3, 4, 5, 6])?;
    Ok(Done::Ok)
}

pub fn speaker_volume(_modem: &mut Modem, command: &Command) -> CmdResult {
    basic_value(command, &[0, 1, 2, 3])?;
    Ok(Done::Ok)
}

pub fn speaker_mode(_modem: &mut Modem, command: &Command) -> CmdResult {
    basic_value(command, &[0, 1, 2])?;
    Ok(Done::Ok)
}

pub fn ampersand_f(modem: &mut Modem, command: &Command) -> CmdResult {
    basic_value(command, &[0])?;
    modem.settings.restore_factory_keeping_uart(modem.profile);
    Ok(Done::Ok)
}

pub fn reset_profile(modem: &mut Modem, command: &Command) -> CmdResult {
    basic_value(command, &[0])?;
    let saved = modem
        .nvm
        .stored_profile
        .clone()
        .unwrap_or_else(|| crate::modem::Settings::factory(modem.profile));
    modem.settings.restore_saved_keeping_uart(&saved);
    Ok(Done::Ok)
}

pub fn ampersand_w(modem: &mut Modem, command: &Command) -> CmdResult {
    basic_value(command, &[0])?;
    modem.nvm.stored_profile = Some(modem.settings.clone());
    modem.save_nvm();
    Ok(Done::Ok)
}

fn format_s_value(modem: &Modem, value: u32) -> String {
    match modem.profile.s_register_format {
        SRegisterFormat::Plain => value.to_string(),
        SRegisterFormat::ThreeDigits => format!("{value:03}"),
    }
}

/// `AT&V`: the active profile, the S-registers and the stored profile.
pub fn ampersand_v(modem: &mut Modem, command: &Command) -> CmdResult {
    basic_value(command, &[0])?;
    let mut lines = vec!["ACTIVE PROFILE:".to_string(), modem.settings.summary()];
    let registers: Vec<String> = modem
        .profile
        .s_registers
        .iter()
        .map(|r| format!("S{}: {}", r.index, modem.settings.s_register(r.index)))
        .collect();
    lines.push(registers.join(", "));
    lines.push(String::new());
    lines.push("STORED PROFILE:".to_string());
    match &modem.nvm.stored_profile {
        Some(stored) => lines.push(stored.summary()),
        None => lines.push(crate::modem::Settings::factory(modem.profile).summary()),
    }
    modem.info.extend(lines);
    Ok(Done::Ok)
}

/// `ATSn?` / `ATSn=v`.
pub fn s_register(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::SRead(index) => {
            let Some(register) = modem.profile.s_register(index) else {
                return Err(CmdError::Plain);
            };
            let value = modem.settings.s_register(register.index);
            let text = format_s_value(modem, value);
            modem.info.push(text);
            Ok(Done::Ok)
        }
        Form::SSet(index, value) => {
            let Some(register) = modem.profile.s_register(index).copied() else {
                return Err(CmdError::Plain);
            };
            if value < register.min || value > register.max {
                return Err(CmdError::Plain);
            }
            if register.read_only {
                modem.explain(format!(
                    "S{index}={value} accepted but has no effect on this model"
                ));
            } else {
                modem.settings.s_registers.insert(index, value);
            }
            Ok(Done::Ok)
        }
        _ => Err(CmdError::Unknown),
    }
}

pub fn cmee(modem: &mut Modem, command: &Command) -> CmdResult {
    numeric_setting(modem, command, "(0-2)", 2, 0, |m| &mut m.settings.cmee)
}

pub fn ciurc(modem: &mut Modem, command: &Command) -> CmdResult {
    numeric_setting(modem, command, "(0,1)", 1, 1, |m| {
        &mut m.settings.call_ready_urc
    })
}

pub fn csclk(modem: &mut Modem, command: &Command) -> CmdResult {
    numeric_setting(modem, command, "(0-2)", 2, 0, |m| &mut m.settings.csclk)
}

pub fn cscs(modem: &mut Modem, command: &Command) -> CmdResult {
    match &command.form {
        Form::Test => {
            let list: Vec<String> = modem
                .profile
                .charsets
                .iter()
                .map(|c| format!("\"{c}\""))
                .collect();
            modem.info.push(format!("+CSCS: ({})", list.join(",")));
            Ok(Done::Ok)
        }
        Form::Read => {
            let text = format!("+CSCS: \"{}\"", modem.settings.charset);
            modem.info.push(text);
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            at_most(command, 1)?;
            let requested = str_param(command, 0).ok_or(CmdError::InvalidParameter)?;
            let charset = modem
                .profile
                .charsets
                .iter()
                .find(|c| c.eq_ignore_ascii_case(requested))
                .ok_or(CmdError::InvalidParameter)?;
            modem.settings.charset = charset.to_string();
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

pub fn ipr(modem: &mut Modem, command: &Command) -> CmdResult {
    match &command.form {
        Form::Test => {
            modem.info.push(modem.profile.ipr_test.to_string());
            Ok(Done::Ok)
        }
        Form::Read => {
            let text = format!("+IPR: {}", modem.settings.ipr);
            modem.info.push(text);
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            at_most(command, 1)?;
            let rate = required_int(command, 0, 0, u32::MAX)?;
            if !modem.profile.ipr_rates.contains(&rate) {
                return Err(CmdError::InvalidParameter);
            }
            modem.settings.ipr = rate;
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

/// `+IFC` / `+ICF`: two numbers, the second defaulting as V.250 says.
fn pair_setting(
    modem: &mut Modem,
    command: &Command,
    test: &str,
    first_range: (u32, u32),
    second_range: (u32, u32),
    second_default: u32,
    field: fn(&mut Modem) -> &mut (u32, u32),
) -> CmdResult {
    match &command.form {
        Form::Test => {
            modem.info.push(format!("{}: {test}", command.name));
            Ok(Done::Ok)
        }
        Form::Read => {
            let (a, b) = *field(modem);
            modem.info.push(format!("{}: {a},{b}", command.name));
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            at_most(command, 2)?;
            let first = required_int(command, 0, first_range.0, first_range.1)?;
            let second =
                int_param(command, 1, second_range.0, second_range.1)?.unwrap_or(second_default);
            *field(modem) = (first, second);
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

pub fn ifc(modem: &mut Modem, command: &Command) -> CmdResult {
    pair_setting(modem, command, "(0-2),(0-2)", (0, 2), (0, 2), 2, |m| {
        &mut m.settings.ifc
    })
}

pub fn icf(modem: &mut Modem, command: &Command) -> CmdResult {
    pair_setting(modem, command, "(1-6),(0-3)", (1, 6), (0, 3), 3, |m| {
        &mut m.settings.icf
    })
}

/// Telit `#SELINT`: only interface style 2 is emulated.
pub fn selint(modem: &mut Modem, command: &Command) -> CmdResult {
    match &command.form {
        Form::Test => {
            modem.info.push("#SELINT: (0-2)".into());
            Ok(Done::Ok)
        }
        Form::Read => {
            modem.info.push("#SELINT: 2".into());
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            at_most(command, 1)?;
            if modem.mux.is_some() {
                modem.explain("#SELINT cannot change while CMUX runs");
                return Err(CmdError::Plain);
            }
            if modem.improved_sms_mode() {
                // [DOC] §3.5.2.1.1: ERROR while the SMS commands operation mode is enabled.
                modem.explain("#SELINT cannot change while #SMSMODE=1");
                return Err(CmdError::Plain);
            }
            match required_int(command, 0, 0, 2)? {
                2 => Ok(Done::Ok),
                _ => {
                    modem.explain("#SELINT 0/1 are not emulated: only SELINT 2");
                    Err(CmdError::Cme(4))
                }
            }
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}
