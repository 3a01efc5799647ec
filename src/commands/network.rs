//! SIM, radio and network (27.007): `+CPIN`, `+CFUN`, `+CREG`, `+CGREG`, `+CGATT`, `+COPS`,
//! `+CSQ`, `+CBC`, `+CCLK`, `+CLTS`, power down and reboot.

use super::{
    CmdError, CmdResult, Done, at_most, int_param, numeric_setting, required_int, str_param,
    test_or_read,
};
use crate::at::{Command, Form};
use crate::calendar::{civil_from_days, days_from_civil};
use crate::dte::ResultCode;
use crate::modem::profile::BootUrc;
use crate::modem::{Modem, Sim, TimerKind};

fn require_sim(modem: &Modem) -> Result<(), CmdError> {
    match modem.radio.sim.access_error() {
        Some(code) => Err(CmdError::Cme(code)),
        None => Ok(()),
    }
}

// ----- SIM -----

pub fn cpin(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => Ok(Done::Ok),
        Form::Read => {
            let line = match modem.radio.sim {
                Sim::Absent => return Err(CmdError::Cme(10)),
                Sim::Initialising => return Err(CmdError::Cme(14)),
                Sim::Blocked => return Err(CmdError::Cme(13)),
                sim => format!("+CPIN: {}", sim.cpin_text()),
            };
            modem.info.push(line);
            Ok(Done::Ok)
        }
        Form::Set(_) => enter_pin(modem, command),
        _ => Err(CmdError::UnsupportedForm),
    }
}

fn is_pin_text(text: &str) -> bool {
    (4..=8).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit())
}

fn enter_pin(modem: &mut Modem, command: &Command) -> CmdResult {
    at_most(command, 2)?;
    let code = str_param(command, 0).ok_or(CmdError::InvalidParameter)?;
    let new_pin = str_param(command, 1);
    if !is_pin_text(code) || new_pin.is_some_and(|p| !is_pin_text(p)) {
        return Err(CmdError::InvalidParameter);
    }
    match modem.radio.sim {
        Sim::Ready => Err(CmdError::Cme(3)),
        Sim::PinRequired { attempts_left } => {
            if modem.radio.pin.as_deref() == Some(code) {
                sim_unlocked(modem, "PIN accepted");
                Ok(Done::Ok)
            } else {
                let left = attempts_left.saturating_sub(1);
                modem.radio.sim = if left == 0 {
                    Sim::PukRequired { attempts_left: 10 }
                } else {
                    Sim::PinRequired {
                        attempts_left: left,
                    }
                };
                modem.explain(format!("wrong PIN: {left} attempts left"));
                Err(CmdError::Cme(16))
            }
        }
        Sim::PukRequired { attempts_left } => {
            let Some(new_pin) = new_pin else {
                return Err(CmdError::Cme(12));
            };
            if code == modem.config.puk {
                modem.radio.pin = Some(new_pin.to_string());
                modem.config.pin = Some(new_pin.to_string());
                sim_unlocked(modem, "PUK accepted, new PIN set");
                Ok(Done::Ok)
            } else {
                let left = attempts_left.saturating_sub(1);
                modem.radio.sim = if left == 0 {
                    Sim::Blocked
                } else {
                    Sim::PukRequired {
                        attempts_left: left,
                    }
                };
                modem.explain(format!("wrong PUK: {left} attempts left"));
                Err(CmdError::Cme(16))
            }
        }
        other => Err(CmdError::Cme(other.access_error().unwrap_or(3))),
    }
}

fn sim_unlocked(modem: &mut Modem, why: &str) {
    modem.radio.sim = Sim::Ready;
    modem.explain(format!("{why}: SIM ready"));
    modem.urc("+CPIN: READY");
    if modem
        .profile
        .boot
        .urcs
        .iter()
        .any(|(_, u)| *u == BootUrc::CallReady)
        && modem.settings.call_ready_urc == 1
    {
        modem.urc("Call Ready");
    }
    if modem
        .profile
        .boot
        .urcs
        .iter()
        .any(|(_, u)| *u == BootUrc::SmsReady)
    {
        modem.urc("SMS Ready");
    }
    modem.start_network_search();
}

// ----- radio -----

pub fn cfun(modem: &mut Modem, command: &Command) -> CmdResult {
    if command.form != Form::Test && command.form != Form::Read {
        if !matches!(command.form, Form::Set(_)) {
            return Err(CmdError::UnsupportedForm);
        }
        return set_cfun(modem, command);
    }
    let read = format!("+CFUN: {}", modem.radio.cfun);
    test_or_read(
        modem,
        command,
        "+CFUN: (0,1,4),(0,1)",
        read,
        CmdError::UnsupportedForm,
    )
}

fn set_cfun(modem: &mut Modem, command: &Command) -> CmdResult {
    at_most(command, 2)?;
    let fun = required_int(command, 0, 0, 4)?;
    if fun == 2 || fun == 3 {
        return Err(CmdError::InvalidParameter);
    }
    let reset = int_param(command, 1, 0, 1)?.unwrap_or(0);
    if reset == 1 {
        modem.explain("+CFUN with reset: OK, then the module restarts");
        modem.reboot_requested = true;
        return Ok(Done::Stop(Some(ResultCode::Ok)));
    }
    let current = modem.radio.cfun;
    if current == fun {
        return Ok(Done::Ok);
    }
    if (current == 0 && fun == 4) || (current == 4 && fun == 0) {
        return Err(CmdError::Cme(3));
    }
    modem.radio.cfun = fun;
    modem.radio.camped = false;
    modem.cancel_timers(TimerKind::Registered);
    match fun {
        0 => {
            modem.explain("+CFUN=0: minimum functionality, radio and SIM off");
            if modem.profile.cfun0_announces_sim_not_ready && modem.radio.sim != Sim::Absent {
                modem.cancel_timers(TimerKind::SimReady);
                modem.radio.sim = Sim::Initialising;
                modem.urc("+CPIN: NOT READY");
            }
        }
        4 => modem.explain("+CFUN=4: radio off"),
        _ => {
            modem.explain("+CFUN=1: full functionality, searching for the network");
            if modem.radio.sim == Sim::Initialising {
                let ms = modem.profile.boot.sim_ready_ms;
                modem.schedule(ms, TimerKind::BootUrc(BootUrc::CpinState));
                if modem
                    .profile
                    .boot
                    .urcs
                    .iter()
                    .any(|(_, u)| *u == BootUrc::CallReady)
                {
                    modem.schedule(ms, TimerKind::BootUrc(BootUrc::CallReady));
                }
            }
        }
    }
    modem.start_network_search();
    Ok(Done::Ok)
}

// ----- registration -----

fn registration_setting(modem: &mut Modem, command: &Command, gprs: bool) -> CmdResult {
    let network = modem.config.network.clone();
    let (mode, stat) = if gprs {
        (modem.settings.cgreg_mode, modem.radio.cgreg_stat(&network))
    } else {
        (modem.settings.creg_mode, modem.radio.creg_stat(&network))
    };
    match command.form {
        Form::Read => {
            let cell = if mode == 2 {
                modem.cell_suffix(stat)
            } else {
                String::new()
            };
            modem
                .info
                .push(format!("{}: {mode},{stat}{cell}", command.name));
            Ok(Done::Ok)
        }
        _ if gprs => numeric_setting(modem, command, "(0-2)", 2, 0, |m| {
            &mut m.settings.cgreg_mode
        }),
        _ => numeric_setting(modem, command, "(0-2)", 2, 0, |m| &mut m.settings.creg_mode),
    }
}

pub fn creg(modem: &mut Modem, command: &Command) -> CmdResult {
    registration_setting(modem, command, false)
}

pub fn cgreg(modem: &mut Modem, command: &Command) -> CmdResult {
    registration_setting(modem, command, true)
}

pub fn cgatt(modem: &mut Modem, command: &Command) -> CmdResult {
    if let Form::Set(_) = command.form {
        at_most(command, 1)?;
        let attach = required_int(command, 0, 0, 1)? == 1;
        if attach {
            if !modem.radio.is_registered(&modem.config.network) {
                return Err(CmdError::Cme(30));
            }
            modem.radio.gprs_attached = true;
            modem.radio.gprs_detached_by_user = false;
            modem.explain("GPRS attached");
        } else {
            modem.radio.gprs_attached = false;
            modem.radio.gprs_detached_by_user = true;
            modem.explain("GPRS detached by the client");
        }
        modem.sync_registration();
        return Ok(Done::Ok);
    }
    let read = format!("+CGATT: {}", u8::from(modem.radio.gprs_attached));
    test_or_read(
        modem,
        command,
        "+CGATT: (0,1)",
        read,
        CmdError::UnsupportedForm,
    )
}

/// The operator name in `+COPS` format 0 (long), 1 (short) or 2 (numeric).
fn operator_name(modem: &Modem, format: u32) -> String {
    let network = &modem.config.network;
    match format {
        1 => network.operator_short.clone(),
        2 => network.operator_numeric.clone(),
        _ => network.operator_long.clone(),
    }
}

pub fn cops(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => {
            require_sim(modem)?;
            if modem.radio.cfun != 1 {
                return Err(CmdError::Cme(3));
            }
            let network = &modem.config.network;
            let list = if network.service == crate::modem::Service::None {
                String::new()
            } else {
                let status = if modem.radio.is_registered(network) {
                    2
                } else {
                    1
                };
                format!(
                    "({status},\"{}\",\"{}\",\"{}\")",
                    network.operator_long, network.operator_short, network.operator_numeric
                )
            };
            let line = format!("+COPS: {list}{}", modem.profile.cops_test_tail);
            modem.info.push(line);
            Ok(Done::Ok)
        }
        Form::Read => {
            let mode = modem.radio.cops_mode;
            let line = if modem.radio.is_registered(&modem.config.network) {
                let format = modem.radio.cops_format;
                format!(
                    "+COPS: {mode},{format},\"{}\"",
                    operator_name(modem, format)
                )
            } else {
                format!("+COPS: {mode}")
            };
            modem.info.push(line);
            Ok(Done::Ok)
        }
        Form::Set(_) => set_cops(modem, command),
        _ => Err(CmdError::UnsupportedForm),
    }
}

fn set_cops(modem: &mut Modem, command: &Command) -> CmdResult {
    at_most(command, 4)?;
    let mode = required_int(command, 0, 0, 4)?;
    let format = int_param(command, 1, 0, 2)?;
    let operator = str_param(command, 2);
    int_param(command, 3, 0, 7)?;
    if mode == 3 {
        modem.radio.cops_format = format.ok_or(CmdError::InvalidParameter)?;
        return Ok(Done::Ok);
    }
    require_sim(modem)?;
    if let Some(format) = format {
        modem.radio.cops_format = format;
    }
    let was_deregistered = modem.radio.cops_mode == 2;
    match mode {
        0 => modem.radio.cops_mode = 0,
        2 => {
            modem.radio.cops_mode = 2;
            modem.radio.camped = false;
            modem.explain("+COPS=2: deregistered from the network");
            modem.start_network_search();
            return Ok(Done::Ok);
        }
        _ => {
            let (Some(format), Some(operator)) = (format, operator) else {
                return Err(CmdError::InvalidParameter);
            };
            let matches = operator_name(modem, format) == operator;
            if matches {
                modem.radio.cops_mode = 1;
            } else if mode == 4 {
                modem.explain("+COPS=4: manual selection failed, falling back to automatic");
                modem.radio.cops_mode = 0;
            } else {
                modem.explain(format!("+COPS=1: operator {operator:?} not available"));
                return Err(CmdError::Cme(32));
            }
        }
    }
    if was_deregistered {
        modem.start_network_search();
    }
    Ok(Done::Ok)
}

pub fn csq(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Action => {
            let network = &modem.config.network;
            let line = if modem.radio.cfun == 1 && network.service != crate::modem::Service::None {
                format!("+CSQ: {},{}", network.rssi, network.ber)
            } else {
                "+CSQ: 99,99".to_string()
            };
            modem.info.push(line);
            Ok(Done::Ok)
        }
        Form::Test => {
            modem.info.push("+CSQ: (0-31,99),(0-7,99)".into());
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

pub fn csmins(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Read => {
            let inserted = u8::from(modem.radio.sim != Sim::Absent);
            modem.info.push(format!("+CSMINS: 0,{inserted}"));
            Ok(Done::Ok)
        }
        Form::Test => {
            modem.info.push("+CSMINS: (0,1)".into());
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            at_most(command, 1)?;
            required_int(command, 0, 0, 1)?;
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

pub fn cspn(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Read => {
            require_sim(modem)?;
            let line = format!("+CSPN: \"{}\",0", modem.config.network.operator_long);
            modem.info.push(line);
            Ok(Done::Ok)
        }
        Form::Test => Ok(Done::Ok),
        _ => Err(CmdError::UnsupportedForm),
    }
}

pub fn cbc(modem: &mut Modem, command: &Command) -> CmdResult {
    let (line, test) = if modem.profile.cbc_voltage {
        ("+CBC: 0,95,4170", "+CBC: (0-2),(1-100),(voltage)")
    } else {
        ("+CBC: 0,95", "+CBC: (0-2),(0-100)")
    };
    match command.form {
        Form::Action => {
            modem.info.push(line.into());
            Ok(Done::Ok)
        }
        Form::Test => {
            modem.info.push(test.into());
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

pub fn clts(modem: &mut Modem, command: &Command) -> CmdResult {
    if command.form == Form::Test {
        modem.info.push("+CLTS: \"yy/MM/dd,hh:mm:ss+/-zz\"".into());
        return Ok(Done::Ok);
    }
    numeric_setting(modem, command, "", 1, 0, |m| &mut m.settings.clts)
}

// ----- clock -----

fn days_in_month(year: i64, month: i64) -> i64 {
    days_from_civil(year + i64::from(month == 12), month % 12 + 1, 1)
        - days_from_civil(year, month, 1)
}

/// Parses `yy/MM/dd,hh:mm:ss±zz` into (local Unix seconds, zone in quarter hours).
fn parse_cclk(text: &str) -> Option<(i64, i32)> {
    let b = text.as_bytes();
    if b.len() != 20
        || b[2] != b'/'
        || b[5] != b'/'
        || b[8] != b','
        || b[11] != b':'
        || b[14] != b':'
    {
        return None;
    }
    let field = |at: usize| -> Option<i64> {
        let s = text.get(at..at + 2)?;
        if !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let (yy, month, day) = (field(0)?, field(3)?, field(6)?);
    let (hour, minute, second) = (field(9)?, field(12)?, field(15)?);
    let sign = match b[17] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let zone = sign * field(18)?;
    let year = 2000 + yy;
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
        || !(-47..=48).contains(&zone)
    {
        return None;
    }
    let local = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    Some((local, zone as i32))
}

impl Modem {
    /// The RTC now, as UTC Unix seconds.
    pub(crate) fn rtc_utc(&self) -> i64 {
        self.config.rtc_epoch_unix + (self.now.0 / 1_000_000) as i64 + self.rtc_offset_s
    }
}

pub fn cclk(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Read => {
            let zone = modem.rtc_zone_q;
            let local = modem.rtc_utc() + i64::from(zone) * 900;
            let (year, month, day) = civil_from_days(local.div_euclid(86_400));
            let secs = local.rem_euclid(86_400);
            let sign = if zone < 0 { '-' } else { '+' };
            modem.info.push(format!(
                "+CCLK: \"{:02}/{:02}/{:02},{:02}:{:02}:{:02}{sign}{:02}\"",
                year.rem_euclid(100),
                month,
                day,
                secs / 3600,
                secs % 3600 / 60,
                secs % 60,
                zone.abs()
            ));
            Ok(Done::Ok)
        }
        Form::Test => Ok(Done::Ok),
        Form::Set(_) => {
            at_most(command, 1)?;
            let text = str_param(command, 0).ok_or(CmdError::InvalidParameter)?;
            let (local, zone) = parse_cclk(text).ok_or(CmdError::InvalidParameter)?;
            let utc = local - i64::from(zone) * 900;
            modem.rtc_offset_s += utc - modem.rtc_utc();
            modem.rtc_zone_q = zone;
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

// ----- power -----

pub fn cpowd(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => {
            modem.info.push("+CPOWD: (0,1)".into());
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            at_most(command, 1)?;
            let normal = required_int(command, 0, 0, 1)? == 1;
            modem.power_off_requested = true;
            let text = modem.profile.power_down_text.filter(|_| normal);
            Ok(Done::Stop(text.map(|t| ResultCode::Text(t.to_string()))))
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

/// A Telit action that answers `OK` and then stops the module (`#REBOOT`, `#SHDN`).
fn telit_power_action(command: &Command, request: &mut bool) -> CmdResult {
    match command.form {
        Form::Action => {
            *request = true;
            Ok(Done::Stop(Some(ResultCode::Ok)))
        }
        Form::Test => Ok(Done::Ok),
        _ => Err(CmdError::UnsupportedForm),
    }
}

pub fn telit_reboot(modem: &mut Modem, command: &Command) -> CmdResult {
    telit_power_action(command, &mut modem.reboot_requested)
}

pub fn telit_shutdown(modem: &mut Modem, command: &Command) -> CmdResult {
    telit_power_action(command, &mut modem.power_off_requested)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip() {
        for days in [-1000, 0, 10_957, 20_000, 20_778] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2026, 12), 31);
    }

    #[test]
    fn cclk_text_is_validated() {
        assert!(parse_cclk("16/11/09,19:50:43+01").is_some());
        assert!(parse_cclk("16/02/30,19:50:43+01").is_none());
        assert!(parse_cclk("16/11/09,24:00:00+00").is_none());
        assert!(parse_cclk("16/11/09,19:50:43+49").is_none());
        assert!(parse_cclk("16/11/09,19:50:43 01").is_none());
        assert!(parse_cclk("16/11/09,19:50:43").is_none());
        assert!(parse_cclk("1a/11/09,19:50:43+01").is_none());
        assert!(parse_cclk("16/11/09,19:50:43+0é").is_none());
    }
}
