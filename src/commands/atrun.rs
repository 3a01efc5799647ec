//! Telit ATRUN configuration: `#SMSATRUN`, `#SMSATRUNCFG`, `#SMSATWL`, `#ATRUNDELAY`, and
//! `#TCPATRUNCFG`/`L`/`D`/`FRWL`/`AUTH`/`CLOSE`, `#TCPATCMDSEQ`, `#TCPATCONSER` (telit.md §B).

use super::telit_context::firewall_command;
use super::{
    CmdError, CmdResult, Done, at_most, int_param, numeric_setting, params, required_int, str_param,
};
use crate::at::{Command, Form};
use crate::dte::ResultCode;
use crate::modem::Modem;
use crate::modem::atrun::sms_request::WhitelistEntry;
use crate::modem::atrun::{Service, TcpAtrunConfig};
use crate::modem::data_mode::Awaiting;

/// `AT<name>=<mod>` of a service: `?` `<name>: <mod>,<stat>`, `=?` `<name>: (0,1)`.
fn mode_lines(modem: &Modem, name: &str, mode: bool, stat: u32) -> String {
    let space = if modem.profile.atrun.read_with_space {
        " "
    } else {
        ""
    };
    format!("{name}: {},{space}{stat}", u32::from(mode))
}

/// Fails with `ERROR` when the other service already reserves `instance` (B.1, B.8).
fn instance_free_for(modem: &mut Modem, service: Service, instance: u8) -> Result<(), CmdError> {
    match modem.atrun_reserver(instance) {
        Some(other) if other != service => {
            modem.explain(format!(
                "instance {instance} is already reserved by the other ATRUN service"
            ));
            Err(CmdError::Plain)
        }
        _ => Ok(()),
    }
}

// ----- SMS ATRUN -----

/// `AT#SMSATRUN=<mod>`: 1 reserves the `#SMSATRUNCFG` instance and tests every SMS.
pub fn smsatrun(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => {
            modem.info.push("#SMSATRUN: (0,1)".into());
            Ok(Done::Ok)
        }
        Form::Read => {
            let nvm = &modem.atrun.nvm;
            let stat = u32::from(nvm.sms_enabled && modem.atrun.blocked(Service::Sms).is_none());
            let line = mode_lines(modem, "#SMSATRUN", nvm.sms_enabled, stat);
            modem.info.push(line);
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            at_most(command, 1)?;
            let on = required_int(command, 0, 0, 1)? == 1;
            let instance = modem.atrun.nvm.sms_instance;
            let was = modem.atrun.nvm.sms_enabled;
            if on {
                instance_free_for(modem, Service::Sms, instance)?;
                modem.atrun.nvm.sms_enabled = true;
                modem.atrun.nvm.sms_enabled_on = modem.instance();
                modem.atrun.nvm.sms_blocked_for_good = false;
                modem.atrun.sms.blocked = None;
                if !was {
                    modem.atrun_reserve(instance, Service::Sms);
                }
            } else if was {
                modem.atrun.nvm.sms_enabled = false;
                modem.atrun.sms = Default::default();
                modem.atrun_release(instance, Service::Sms);
            }
            modem.atrun_save();
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

/// `AT#SMSATRUNCFG=<instance>[,<urcmod>[,<timeout>]]`, refused while the service is on.
pub fn smsatruncfg(modem: &mut Modem, command: &Command) -> CmdResult {
    let min = modem.profile.atrun.min_instance;
    match command.form {
        Form::Test => {
            let instances = if min <= 1 { "(1-3)" } else { "(2,3)" };
            modem
                .info
                .push(format!("#SMSATRUNCFG: {instances},(0,1),(1-60)"));
            Ok(Done::Ok)
        }
        Form::Read => {
            let nvm = &modem.atrun.nvm;
            let line = format!(
                "#SMSATRUNCFG: {},{},{}",
                nvm.sms_instance,
                u32::from(nvm.sms_urc),
                nvm.sms_timeout_min
            );
            modem.info.push(line);
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            at_most(command, 3)?;
            let instance = required_int(command, 0, u32::from(min), 3)? as u8;
            let urc = int_param(command, 1, 0, 1)?;
            let timeout = int_param(command, 2, 1, 60)?;
            if modem.atrun.nvm.sms_enabled {
                modem.explain("#SMSATRUNCFG cannot change while #SMSATRUN is 1");
                return Err(CmdError::Plain);
            }
            let nvm = &mut modem.atrun.nvm;
            nvm.sms_instance = instance;
            if let Some(urc) = urc {
                nvm.sms_urc = urc == 1;
            }
            if let Some(timeout) = timeout {
                nvm.sms_timeout_min = timeout;
            }
            modem.atrun_save();
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

/// `#SMSATWL: <entryType>,"<string>"` for one entry.
fn whitelist_line(entry: &WhitelistEntry) -> String {
    format!("#SMSATWL: {},\"{}\"", entry.entry_type(), entry.text())
}

/// `AT#SMSATWL=<action>,<index>[,<entryType>[,<string>]]`: 0 add, 1 delete, 2 print one;
/// `?` prints every used slot [UNSURE: empty slots are not listed].
pub fn smsatwl(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => {
            modem.info.push("#SMSATWL: (0-2),(1-8),(0,1),20".into());
            Ok(Done::Ok)
        }
        Form::Read => {
            let lines: Vec<String> = modem
                .atrun
                .nvm
                .whitelist
                .slots
                .iter()
                .flatten()
                .map(whitelist_line)
                .collect();
            modem.info.extend(lines);
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            at_most(command, 4)?;
            let action = required_int(command, 0, 0, 2)?;
            let index = required_int(command, 1, 1, 8)? as usize;
            match action {
                0 => {
                    let kind = required_int(command, 2, 0, 1)?;
                    let text = str_param(command, 3).ok_or(CmdError::InvalidParameter)?;
                    let entry = if kind == 0 {
                        WhitelistEntry::Number(text.to_string())
                    } else {
                        WhitelistEntry::Password(text.to_string())
                    };
                    if let Err(error) = modem.atrun.nvm.whitelist.set(index, entry) {
                        modem.explain(format!("#SMSATWL: entry refused ({error})"));
                        return Err(CmdError::InvalidParameter);
                    }
                }
                1 => {
                    if params(command).len() > 2 {
                        return Err(CmdError::InvalidParameter);
                    }
                    if let Err(error) = modem.atrun.nvm.whitelist.delete(index) {
                        modem.explain(format!("#SMSATWL: nothing deleted ({error})"));
                        return Err(CmdError::InvalidParameter);
                    }
                }
                _ => {
                    let Some(entry) = modem.atrun.nvm.whitelist.get(index) else {
                        modem.explain(format!("#SMSATWL: slot {index} is empty"));
                        return Err(CmdError::InvalidParameter);
                    };
                    let line = whitelist_line(entry);
                    modem.info.push(line);
                    return Ok(Done::Ok);
                }
            }
            modem.atrun_save();
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

/// `AT#ATRUNDELAY=<srv>,<delay>`: seconds before each command a service runs (0 TCP, 1 SMS).
pub fn atrundelay(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => {
            modem.info.push("#ATRUNDELAY: (0,1),(0-30)".into());
            Ok(Done::Ok)
        }
        Form::Read => {
            let nvm = &modem.atrun.nvm;
            let lines = [
                format!("#ATRUNDELAY: 0,{}", nvm.tcp_delay_s),
                format!("#ATRUNDELAY: 1,{}", nvm.sms_delay_s),
            ];
            modem.info.extend(lines);
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            at_most(command, 2)?;
            let service = required_int(command, 0, 0, 1)?;
            let delay = required_int(command, 1, 0, 30)?;
            if service == 0 {
                modem.atrun.nvm.tcp_delay_s = delay;
            } else {
                modem.atrun.nvm.sms_delay_s = delay;
            }
            modem.atrun_save();
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

// ----- TCP ATRUN -----

/// `AT#TCPATRUNCFG=<connId>,<instance>,<tcpPort>,<tcpHostPort>,<tcpHost>[,<urcmod>[,<timeout>
/// [,<authMode>[,<retryCnt>[,<retryDelay>]]]]]`, refused while a mode is on.
pub fn tcpatruncfg(modem: &mut Modem, command: &Command) -> CmdResult {
    let min = modem.profile.atrun.min_instance;
    match command.form {
        Form::Test => {
            let instances = if min <= 1 { "(1-3)" } else { "(2,3)" };
            modem.info.push(format!(
                "#TCPATRUNCFG: (1-6),{instances},(1-65535),(1-65535),,(0,1),(1-5),(0,1),(0-5),(1-3600)"
            ));
            Ok(Done::Ok)
        }
        Form::Read => {
            let c = &modem.atrun.nvm.tcp;
            let line = format!(
                "#TCPATRUNCFG: {},{},{},{},\"{}\",{},{},{},{},{}",
                c.conn_id,
                c.instance,
                c.tcp_port,
                c.host_port,
                c.host,
                u32::from(c.urc),
                c.timeout_min,
                c.auth_mode,
                c.retry_count,
                c.retry_delay_min
            );
            modem.info.push(line);
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            at_most(command, 10)?;
            let defaults = TcpAtrunConfig::default();
            let host = str_param(command, 4)
                .ok_or(CmdError::InvalidParameter)?
                .to_string();
            if host.len() > 255 || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(CmdError::InvalidParameter);
            }
            let config = TcpAtrunConfig {
                conn_id: required_int(command, 0, 1, 6)?,
                instance: required_int(command, 1, u32::from(min), 3)? as u8,
                tcp_port: required_int(command, 2, 1, 65535)? as u16,
                host_port: required_int(command, 3, 1, 65535)? as u16,
                host,
                urc: int_param(command, 5, 0, 1)?.map_or(defaults.urc, |v| v == 1),
                timeout_min: int_param(command, 6, 1, 5)?.unwrap_or(defaults.timeout_min),
                auth_mode: int_param(command, 7, 0, 1)?.unwrap_or(defaults.auth_mode),
                retry_count: int_param(command, 8, 0, 5)?.unwrap_or(defaults.retry_count),
                retry_delay_min: int_param(command, 9, 1, 3600)?
                    .unwrap_or(defaults.retry_delay_min),
            };
            if modem.atrun.nvm.tcp_enabled() {
                modem.explain("#TCPATRUNCFG cannot change while #TCPATRUNL or #TCPATRUND is 1");
                return Err(CmdError::Plain);
            }
            modem.atrun.nvm.tcp = config;
            modem.atrun_save();
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

/// Turns a TCP ATRUN mode on or off; `server` picks `#TCPATRUNL`, else `#TCPATRUND`.
fn tcp_mode(modem: &mut Modem, command: &Command, server: bool) -> CmdResult {
    let name = if server { "#TCPATRUNL" } else { "#TCPATRUND" };
    match command.form {
        Form::Test => {
            modem.info.push(format!("{name}: (0,1)"));
            Ok(Done::Ok)
        }
        Form::Read => {
            let nvm = &modem.atrun.nvm;
            let on = if server {
                nvm.tcp_server
            } else {
                nvm.tcp_client
            };
            let stat = if on { modem.tcp_atrun_stat() } else { 0 };
            let stat = if server { stat.min(1) } else { stat };
            let line = mode_lines(modem, name, on, stat);
            modem.info.push(line);
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            at_most(command, 1)?;
            let on = required_int(command, 0, 0, 1)? == 1;
            let instance = modem.atrun.nvm.tcp.instance;
            let (mine, other) = if server {
                (modem.atrun.nvm.tcp_server, modem.atrun.nvm.tcp_client)
            } else {
                (modem.atrun.nvm.tcp_client, modem.atrun.nvm.tcp_server)
            };
            if !on {
                if mine {
                    if server {
                        modem.atrun.nvm.tcp_server = false;
                    } else {
                        modem.atrun.nvm.tcp_client = false;
                    }
                    modem.tcp_atrun_close(&format!("{name}=0"));
                    modem.atrun.tcp = Default::default();
                    modem.atrun_release(instance, Service::Tcp);
                    modem.atrun_save();
                }
                return Ok(Done::Ok);
            }
            if other {
                modem.explain(format!(
                    "{name}=1 refused: TCP ATRUN already runs in the other mode"
                ));
                return Err(CmdError::Plain);
            }
            instance_free_for(modem, Service::Tcp, instance)?;
            if mine {
                return Ok(Done::Ok);
            }
            if server {
                modem.atrun.nvm.tcp_server = true;
            } else {
                modem.atrun.nvm.tcp_client = true;
            }
            modem.atrun.nvm.tcp_enabled_on = modem.instance();
            modem.atrun.nvm.tcp_blocked_for_good = false;
            modem.atrun.tcp = Default::default();
            modem.atrun_reserve(instance, Service::Tcp);
            modem.atrun_save();
            modem.tcp_atrun_start();
            if !server && modem.tcp_atrun_owns_socket() {
                // [APPNOTE §3.3.1] "If the response is OK, the module is connected".
                modem.awaiting = Some(Awaiting::TcpAtrunDial);
                return Ok(Done::Stop(None));
            }
            if server && modem.tcp_atrun_owns_socket() {
                // As #SL: `OK` once the socket listens, so a caller dialling right after it
                // finds the port open [INFERRED].
                modem.awaiting = Some(Awaiting::TcpAtrunListen);
                return Ok(Done::Stop(None));
            }
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

/// `AT#TCPATRUNL=<mod>`: server mode.
pub fn tcpatrunl(modem: &mut Modem, command: &Command) -> CmdResult {
    tcp_mode(modem, command, true)
}

/// `AT#TCPATRUND=<mod>`: client mode.
pub fn tcpatrund(modem: &mut Modem, command: &Command) -> CmdResult {
    tcp_mode(modem, command, false)
}

/// `AT#TCPATRUNFRWL=<action>,<ip_addr>,<net_mask>`: at most 5 ACCEPT rules, policy DROP (NVM).
pub fn tcpatrunfrwl(modem: &mut Modem, command: &Command) -> CmdResult {
    let before = modem.atrun.nvm.tcp_firewall.clone();
    let done = firewall_command(modem, command, 5, |m| &mut m.atrun.nvm.tcp_firewall)?;
    if modem.atrun.nvm.tcp_firewall != before {
        modem.atrun_save();
    }
    Ok(done)
}

/// Longest `#TCPATRUNAUTH` user id or password (B.11).
const AUTH_MAX_CHARS: usize = 50;
/// `#TCPATRUNAUTH` pairs kept at most (B.11).
const AUTH_MAX_PAIRS: usize = 3;

/// `AT#TCPATRUNAUTH=<action>,<userid>,<passw>`: 0 remove, 1 add (at most 3), 2 remove all.
/// The read form shows passwords in clear, as the reference says; the trace never does.
pub fn tcpatrunauth(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => {
            modem.info.push(format!(
                "#TCPATRUNAUTH: (0-2),{AUTH_MAX_CHARS},{AUTH_MAX_CHARS}"
            ));
            Ok(Done::Ok)
        }
        Form::Read => {
            let lines: Vec<String> = modem
                .atrun
                .nvm
                .tcp_users
                .iter()
                .map(|(user, password)| format!("#TCPATRUNAUTH: \"{user}\",\"{password}\""))
                .collect();
            modem.info.extend(lines);
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            at_most(command, 3)?;
            let action = required_int(command, 0, 0, 2)?;
            if action == 2 {
                modem.atrun.nvm.tcp_users.clear();
                modem.atrun_save();
                return Ok(Done::Ok);
            }
            let text = |i| -> Result<String, CmdError> {
                let text = str_param(command, i).ok_or(CmdError::InvalidParameter)?;
                if text.is_empty()
                    || text.chars().count() > AUTH_MAX_CHARS
                    || text.chars().any(|c| c.is_control())
                {
                    return Err(CmdError::InvalidParameter);
                }
                Ok(text.to_string())
            };
            let pair = (text(1)?, text(2)?);
            let users = &mut modem.atrun.nvm.tcp_users;
            if action == 0 {
                let before = users.len();
                users.retain(|p| *p != pair);
                if users.len() == before {
                    modem.explain("#TCPATRUNAUTH: no such pair to remove");
                    return Err(CmdError::Plain);
                }
            } else if !users.contains(&pair) {
                if users.len() >= AUTH_MAX_PAIRS {
                    modem.explain(format!(
                        "#TCPATRUNAUTH: {AUTH_MAX_PAIRS} pairs already, the most kept"
                    ));
                    return Err(CmdError::Plain);
                }
                users.push(pair);
            }
            modem.atrun_save();
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

/// `AT#TCPATRUNCLOSE`: the service connection closes; the service listens or dials again.
pub fn tcpatrunclose(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test | Form::Action => {
            if command.form == Form::Action {
                modem.tcp_atrun_close("#TCPATRUNCLOSE");
            }
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

/// `AT#TCPATCMDSEQ=<mod>`: 1 queues lines that arrive while a command runs.
pub fn tcpatcmdseq(modem: &mut Modem, command: &Command) -> CmdResult {
    let done = numeric_setting(modem, command, "(0,1)", 1, 0, |m| &mut m.atrun.nvm.cmdseq)?;
    if matches!(command.form, Form::Set(_)) {
        modem.atrun_save();
    }
    Ok(done)
}

/// The baud rates `#TCPATCONSER` accepts (B.15).
const CONSER_RATES: [u32; 9] = [300, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200];

/// `AT#TCPATCONSER=<port>,<rate>`: from the TCP ATRUN instance, `CONNECT`, then the peer's
/// bytes pass to the serial port (ASC0, instance 1's link) and back until `+++`.
pub fn tcpatconser(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => {
            modem.info.push(
                "#TCPATCONSER: (0,1),(300,1200,2400,4800,9600,19200,38400,57600,115200)".into(),
            );
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            at_most(command, 2)?;
            let port = required_int(command, 0, 0, 1)?;
            let rate = required_int(command, 1, 300, 115_200)?;
            if !CONSER_RATES.contains(&rate) {
                return Err(CmdError::InvalidParameter);
            }
            let on_service = modem.atrun_reserver(modem.instance()) == Some(Service::Tcp);
            if !on_service || !modem.atrun.tcp.connected {
                modem.explain("#TCPATCONSER works only from a connected TCP ATRUN session");
                return Err(CmdError::Plain);
            }
            if modem.mux.is_some() {
                modem.explain("#TCPATCONSER: not while CMUX runs");
                return Err(CmdError::Plain);
            }
            if port == 1 {
                modem.explain("#TCPATCONSER: simodem has no ASC1 (the module's second UART)");
                return Err(CmdError::Plain);
            }
            modem.atrun.tcp.bridge_requested = true;
            Ok(Done::Result(ResultCode::Connect))
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}
