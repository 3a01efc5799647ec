//! Telit IP Easy contexts and configuration: `+CGDCONT`/`+CGACT`/`+CGPADDR` (cids 1..5),
//! `#SGACT`, `#SGACTCFG`, `#GPRS`, `#QDNS`, `#FRWL`, `#SCFG*`, and the legacy `#PKTSZ`…`#SKTRST`.

use std::net::Ipv4Addr;

use super::{
    CmdError, CmdResult, Done, at_most, int_param, numeric_setting, params, required_int,
    str_param, test_or_read,
};
use crate::at::{Command, Form};
use crate::modem::Modem;
use crate::modem::data_mode::Awaiting;
use crate::modem::telit_ip::{
    Activation, CIDS, CONN_IDS, ContextDefinition, LegacyTarget, SocketConfig, SocketState,
    TelitDns,
};

// ----- helpers -----

/// Writes the IP Easy NVM part and asks the host to persist it.
fn save_telit_nvm(modem: &mut Modem) {
    modem.nvm.telit_ip = Some(modem.telit.nvm.clone());
    modem.save_nvm();
}

/// `(1,2)`: a list of cids as the test forms print it.
fn cid_list(cids: &[u32]) -> String {
    let texts: Vec<String> = cids.iter().map(u32::to_string).collect();
    format!("({})", texts.join(","))
}

/// A dotted IPv4 address; octets may carry leading zeros (`"123.255.020.001"` in Telit's
/// examples), read as decimal.
pub(crate) fn parse_dotted(text: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = text.split('.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *octet = part.parse().ok()?;
    }
    parts.next().is_none().then(|| Ipv4Addr::from(octets))
}

/// A string parameter (omitted → empty) no longer than the profile's `#USERID` limit.
fn auth_string(modem: &Modem, command: &Command, index: usize) -> Result<String, CmdError> {
    let text = str_param(command, index).unwrap_or("");
    if text.chars().count() > modem.profile.telit_ip.auth_max_len {
        return Err(CmdError::InvalidParameter);
    }
    Ok(text.to_string())
}

fn context_active(modem: &Modem, cid: u32) -> bool {
    modem.telit.is_active(cid)
}

/// `<name>: <cid>,<0|1>` for every defined context (`+CGACT?`, `#SGACT?`).
fn activation_lines(modem: &Modem, name: &str) -> Vec<String> {
    modem
        .telit
        .defined_cids()
        .into_iter()
        .map(|cid| format!("{name}: {cid},{}", u8::from(context_active(modem, cid))))
        .collect()
}

/// The address `+CGPADDR`/`#CGPADDR` print: the one in use, else a static one from
/// `+CGDCONT`, else empty.
fn context_address_text(modem: &Modem, cid: u32) -> String {
    match modem.telit.context(cid).and_then(|c| c.active) {
        Some((ip, _)) => ip.to_string(),
        None => modem
            .telit
            .definition(cid)
            .map(|d| d.pdp_addr.clone())
            .unwrap_or_default(),
    }
}

/// The socket the legacy single-socket commands act on: connId = this AT instance (spec
/// A.22); refused when that socket uses the GSM context.
fn legacy_socket(modem: &mut Modem, name: &str) -> Result<usize, CmdError> {
    let conn = usize::from(modem.instance());
    if !(1..=CONN_IDS).contains(&conn) {
        return Err(CmdError::Cme(3));
    }
    if modem.telit.config(conn).cid == 0 {
        modem.explain(format!(
            "{name} acts on socket {conn}, which is bound to the GSM context → not allowed"
        ));
        return Err(CmdError::Cme(3));
    }
    Ok(conn)
}

// ----- PDP contexts (27.007 forms) -----

/// `AT+CGDCONT`: define (or with only `<cid>`, undefine) contexts 1..5.
pub fn cgdcont(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => {
            modem
                .info
                .push("+CGDCONT: (1-5),\"IP\",,,(0,1),(0,1)".into());
            Ok(Done::Ok)
        }
        Form::Read => {
            let lines: Vec<String> = (1..=CIDS as u32)
                .filter_map(|cid| {
                    let d = modem.telit.definition(cid)?;
                    Some(format!(
                        "+CGDCONT: {cid},\"{}\",\"{}\",\"{}\",{},{}",
                        d.pdp_type, d.apn, d.pdp_addr, d.d_comp, d.h_comp
                    ))
                })
                .collect();
            modem.info.extend(lines);
            Ok(Done::Ok)
        }
        Form::Set(ref list) if list.is_empty() => Ok(Done::Ok),
        Form::Set(_) => {
            at_most(command, 6)?;
            let cid = required_int(command, 0, 1, CIDS as u32)?;
            let Some(pdp_type) = str_param(command, 1) else {
                if context_active(modem, cid) {
                    modem.explain(format!(
                        "context {cid} is active: it cannot be undefined → not allowed"
                    ));
                    return Err(CmdError::Cme(3));
                }
                modem.telit.nvm.definitions[cid as usize - 1] = None;
                save_telit_nvm(modem);
                return Ok(Done::Ok);
            };
            if pdp_type != "IP" {
                return Err(CmdError::InvalidParameter);
            }
            let d_comp = int_param(command, 4, 0, 1)?.unwrap_or(0);
            let h_comp = int_param(command, 5, 0, 1)?.unwrap_or(0);
            let definition = ContextDefinition {
                pdp_type: pdp_type.to_string(),
                apn: str_param(command, 2).unwrap_or("").to_string(),
                pdp_addr: str_param(command, 3).unwrap_or("").to_string(),
                d_comp,
                h_comp,
            };
            modem.telit.nvm.definitions[cid as usize - 1] = Some(definition);
            save_telit_nvm(modem);
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

/// `AT+CGACT`: activate or deactivate contexts; activated this way they are up but not
/// usable by IP Easy sockets.
pub fn cgact(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => {
            modem.info.push("+CGACT: (0,1)".into());
            Ok(Done::Ok)
        }
        Form::Read => {
            let lines = activation_lines(modem, "+CGACT");
            modem.info.extend(lines);
            Ok(Done::Ok)
        }
        Form::Set(ref list) if list.is_empty() => Ok(Done::Ok),
        Form::Set(_) => {
            let activate = required_int(command, 0, 0, 1)? == 1;
            let cids: Vec<u32> = if params(command).len() > 1 {
                (1..params(command).len())
                    .map(|i| required_int(command, i, 1, CIDS as u32))
                    .collect::<Result<_, _>>()?
            } else {
                modem.telit.defined_cids()
            };
            if !activate {
                for cid in cids {
                    if context_active(modem, cid) {
                        modem.explain(format!("+CGACT: context {cid} deactivated"));
                        modem.telit_context_down(cid);
                    }
                }
                return Ok(Done::Ok);
            }
            if !modem.radio.is_registered(&modem.config.network) {
                modem.explain("+CGACT=1 while not registered → no network service");
                return Err(CmdError::Cme(30));
            }
            modem.radio.gprs_attached = true;
            modem.radio.gprs_detached_by_user = false;
            modem.sync_registration();
            for cid in cids {
                if !context_active(modem, cid) {
                    modem.telit_activate(cid, Activation::Cgact)?;
                }
            }
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

/// `+CGPADDR=…` / `#CGPADDR=…`: `<prefix>: <cid>,"<addr>"` per cid (all defined ones when
/// none is given); `lowest` is the smallest cid accepted (0, the GSM context, for `#CGPADDR`).
fn pdp_addresses(modem: &mut Modem, command: &Command, prefix: &str, lowest: u32) -> CmdResult {
    let cids: Vec<u32> = if params(command).is_empty() {
        modem.telit.defined_cids()
    } else {
        (0..params(command).len())
            .map(|i| required_int(command, i, lowest, CIDS as u32))
            .collect::<Result<_, _>>()?
    };
    for cid in cids {
        let address = context_address_text(modem, cid);
        modem.info.push(format!("{prefix}: {cid},\"{address}\""));
    }
    Ok(Done::Ok)
}

/// `AT+CGPADDR=[<cid>…]`; `AT+CGPADDR` and `AT+CGPADDR?` are plain `ERROR` ([OBS]).
pub fn cgpaddr(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => {
            let list = cid_list(&modem.telit.defined_cids());
            modem.info.push(format!("+CGPADDR: {list}"));
            Ok(Done::Ok)
        }
        Form::Set(_) => pdp_addresses(modem, command, "+CGPADDR", 1),
        _ => Err(CmdError::Plain),
    }
}

/// `AT#CGPADDR=[<cid>…]`; without `=` → operation not allowed ([OBS]).
pub fn hash_cgpaddr(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => {
            let list = cid_list(&modem.telit.defined_cids());
            modem.info.push(format!("#CGPADDR: {list}"));
            Ok(Done::Ok)
        }
        Form::Set(_) => pdp_addresses(modem, command, "#CGPADDR", 0),
        _ => Err(CmdError::Cme(3)),
    }
}

// ----- IP Easy activation -----

/// `ERROR` when no socket is bound (`#SCFG`) to `cid` ([DOC] #SGACT, #GPRS).
fn require_bound_socket(modem: &mut Modem, cid: u32, name: &str) -> Result<(), CmdError> {
    if modem.telit.socket_bound_to(cid) {
        return Ok(());
    }
    modem.explain(format!(
        "{name}: no socket is bound to context {cid} (#SCFG) → ERROR"
    ));
    Err(CmdError::Plain)
}

/// `AT#SGACT=<cid>,<stat>[,<userId>,<pwd>]`: `#SGACT: <ip>` (unquoted, [OBS]) then `OK`.
pub fn sgact(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        // [UNSURE] the test text is undocumented (spec A.2 suggestion).
        Form::Test => {
            modem.info.push("#SGACT: (0-5),(0,1)".into());
            Ok(Done::Ok)
        }
        Form::Read => {
            let lines = activation_lines(modem, "#SGACT");
            modem.info.extend(lines);
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            at_most(command, 4)?;
            let cid = required_int(command, 0, 0, CIDS as u32)?;
            let activate = required_int(command, 1, 0, 1)? == 1;
            let user = auth_string(modem, command, 2)?;
            let password_given = !auth_string(modem, command, 3)?.is_empty();
            if cid == 0 {
                modem.explain("#SGACT: the GSM context (cid 0) is not emulated");
                return Err(CmdError::InvalidParameter);
            }
            require_bound_socket(modem, cid, "#SGACT")?;
            if !activate {
                if context_active(modem, cid) {
                    modem.explain(format!("#SGACT: context {cid} deactivated"));
                    modem.telit_context_down(cid);
                } else {
                    modem.explain(format!("#SGACT: context {cid} was not active"));
                }
                return Ok(Done::Ok);
            }
            if context_active(modem, cid) {
                modem.explain(format!("#SGACT: context {cid} is already active → 553"));
                return Err(CmdError::Cme(553));
            }
            if !user.is_empty() || password_given {
                modem.explain(format!(
                    "#SGACT: user {user:?} given{}",
                    if password_given { ", password set" } else { "" }
                ));
            }
            let ip = modem.telit_activate(cid, Activation::IpEasy)?;
            modem.info.push(format!("#SGACT: {ip}"));
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

/// `AT#GPRS=[<mode>]`: context 1 on (`+IP: <ip>`) or off; `?` → `#GPRS: <0|1>`.
pub fn gprs(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => {
            modem.info.push("#GPRS: (0,1)".into());
            Ok(Done::Ok)
        }
        Form::Read => {
            let status = u8::from(context_active(modem, 1));
            modem.info.push(format!("#GPRS: {status}"));
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            at_most(command, 1)?;
            let activate = int_param(command, 0, 0, 1)?.unwrap_or(0) == 1;
            require_bound_socket(modem, 1, "#GPRS")?;
            if !activate {
                if context_active(modem, 1) {
                    modem.explain("#GPRS=0: context 1 deactivated");
                    modem.telit_context_down(1);
                }
                return Ok(Done::Ok);
            }
            if context_active(modem, 1) {
                modem.explain("#GPRS=1: context 1 is already active → 553");
                return Err(CmdError::Cme(553));
            }
            let ip = modem.telit_activate(1, Activation::IpEasy)?;
            modem.info.push(format!("+IP: {ip}"));
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

/// `AT#SGACTAUTH=<type>`: 0 none, 1 PAP, 2 CHAP; volatile.
pub fn sgactauth(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Set(_) => {
            at_most(command, 1)?;
            modem.telit.auth_type = required_int(command, 0, 0, 2)?;
            Ok(Done::Ok)
        }
        _ => {
            let read = format!("#SGACTAUTH: {}", modem.telit.auth_type);
            test_or_read(
                modem,
                command,
                "#SGACTAUTH: (0-2)",
                read,
                CmdError::UnsupportedForm,
            )
        }
    }
}

/// `AT#SGACTCFG=<cid>,<retry>[,<delay>[,<urcmode>]]`: automatic activation after attach.
/// Retry and delay are global (NVM); urcmode belongs to this AT instance.
pub fn sgactcfg(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => {
            modem
                .info
                .push("#SGACTCFG: (1-5),(0-15),(180-3600),(0,1)".into());
            Ok(Done::Ok)
        }
        Form::Read => {
            let lines: Vec<String> = (0..CIDS)
                .map(|i| {
                    let config = modem.telit.nvm.auto_activation[i];
                    format!(
                        "#SGACTCFG: {},{},{},{}",
                        i + 1,
                        config.retry,
                        config.delay_s,
                        modem.settings.sgact_urc_mode[i]
                    )
                })
                .collect();
            modem.info.extend(lines);
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            at_most(command, 4)?;
            let cid = required_int(command, 0, 1, CIDS as u32)?;
            let retry = required_int(command, 1, 0, 15)?;
            let index = cid as usize - 1;
            // [UNSURE] an omitted delay or urcmode keeps its current value.
            let delay = int_param(command, 2, 180, 3600)?
                .unwrap_or(modem.telit.nvm.auto_activation[index].delay_s);
            let urc = int_param(command, 3, 0, 1)?.unwrap_or(modem.settings.sgact_urc_mode[index]);
            modem.telit.nvm.auto_activation[index].retry = retry;
            modem.telit.nvm.auto_activation[index].delay_s = delay;
            modem.settings.sgact_urc_mode[index] = urc;
            modem.explain(format!(
                "#SGACTCFG: context {cid} {} (from the next GPRS attach)",
                if retry == 0 {
                    "no longer activated automatically".to_string()
                } else {
                    format!("activated automatically, {retry} attempts {delay} s apart")
                }
            ));
            save_telit_nvm(modem);
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

/// `AT#USERID=[<user>]`; `?` → `#USERID: "<user>"`; `=?` → the longest accepted.
pub fn userid(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Set(_) => {
            at_most(command, 1)?;
            legacy_socket(modem, "#USERID")?;
            modem.telit.user_id = auth_string(modem, command, 0)?;
            Ok(Done::Ok)
        }
        _ => {
            let test = format!("#USERID: {}", modem.profile.telit_ip.auth_max_len);
            let read = format!("#USERID: \"{}\"", modem.telit.user_id);
            test_or_read(modem, command, &test, read, CmdError::UnsupportedForm)
        }
    }
}

/// `AT#PASSW=[<pwd>]`; no read form. The password never reaches an explanation.
pub fn passw(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Set(_) => {
            at_most(command, 1)?;
            legacy_socket(modem, "#PASSW")?;
            modem.telit.password = auth_string(modem, command, 0)?;
            modem.explain("#PASSW: password set");
            Ok(Done::Ok)
        }
        Form::Test => {
            let test = format!("#PASSW: {}", modem.profile.telit_ip.auth_max_len);
            modem.info.push(test);
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

// ----- DNS and firewall -----

/// `AT#QDNS=<name>`: `#QDNS: "<name>","<ip>"` then `OK` once the host answers; a dotted
/// address answers at once. Failure → 558.
pub fn qdns(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => Ok(Done::Ok),
        Form::Set(_) => {
            at_most(command, 1)?;
            let name = str_param(command, 0).unwrap_or("").to_string();
            if name.is_empty() {
                return Err(CmdError::InvalidParameter);
            }
            // [DOC] #QDNS overwrites the #SKTSET address ([UNSURE] with the name asked for).
            modem.telit.legacy_target.address = name.clone();
            if let Some(ip) = parse_dotted(&name) {
                modem.info.push(format!("#QDNS: \"{name}\",\"{ip}\""));
                return Ok(Done::Ok);
            }
            if !modem.telit_packet_service() {
                modem.explain("#QDNS without GPRS service: context 1 cannot come up → 558");
                return Err(CmdError::Cme(558));
            }
            let query = modem.ip.new_query();
            modem
                .telit
                .dns_queries
                .push((query, TelitDns::Qdns(name.clone())));
            modem.awaiting = Some(Awaiting::Qdns { query });
            modem.schedule(
                modem.profile.telit_ip.qdns_timeout_ms,
                crate::modem::TimerKind::QdnsTimeout(query),
            );
            modem.explain(format!(
                "#QDNS: looking up {name:?}; the result waits for the answer"
            ));
            modem.push_output(crate::modem::Output::Resolve { query, name });
            Ok(Done::Stop(None))
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

/// `#FRWL: "<ip>","<mask>"` per rule. The manual calls both fields string type without
/// showing the quotes; a client capture (`#FRWL: "213.12.250.214","255.255.255.0"`) has them,
/// so they are quoted.
/// `AT#FRWL=<action>,<ip>,<mask>`: 0 remove a rule, 1 add an ACCEPT rule, 2 remove all.
/// Volatile; the socket stack asks `TelitIp::firewall_accepts`.
pub fn frwl(modem: &mut Modem, command: &Command) -> CmdResult {
    let max = modem.profile.telit_ip.firewall_max_rules;
    firewall_command(modem, command, max, |m| &mut m.telit.firewall)
}

/// `<name>: "<ip>","<mask>"` per rule.
fn list_firewall(
    modem: &mut Modem,
    name: &str,
    rules: fn(&mut Modem) -> &mut Vec<(Ipv4Addr, Ipv4Addr)>,
) {
    let lines: Vec<String> = rules(modem)
        .iter()
        .map(|(ip, mask)| format!("{name}: \"{ip}\",\"{mask}\""))
        .collect();
    modem.info.extend(lines);
}

/// A firewall command (`#FRWL`, `#TCPATRUNFRWL`): `=<action>,<ip>,<mask>` with 0 remove a
/// rule, 1 add an ACCEPT rule (at most `max`), 2 remove all; `?` (and `=` alone, as SELINT 0/1
/// documents [UNSURE]) lists `<name>: "<ip>","<mask>"` per rule. The caller persists changes.
pub(crate) fn firewall_command(
    modem: &mut Modem,
    command: &Command,
    max: usize,
    rules: fn(&mut Modem) -> &mut Vec<(Ipv4Addr, Ipv4Addr)>,
) -> CmdResult {
    let name = command.name.clone();
    match command.form {
        Form::Test => {
            modem.info.push(format!("{name}: (0-2)"));
            Ok(Done::Ok)
        }
        Form::Read => {
            list_firewall(modem, &name, rules);
            Ok(Done::Ok)
        }
        Form::Set(ref list) if list.is_empty() => {
            list_firewall(modem, &name, rules);
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            at_most(command, 3)?;
            let action = required_int(command, 0, 0, 2)?;
            if action == 2 {
                rules(modem).clear();
                modem.explain(format!(
                    "{name}: every rule removed, incoming connections are dropped"
                ));
                return Ok(Done::Ok);
            }
            let address = |i| str_param(command, i).and_then(parse_dotted);
            let (Some(ip), Some(mask)) = (address(1), address(2)) else {
                return Err(CmdError::InvalidParameter);
            };
            let rule = (ip, mask);
            let present = rules(modem).contains(&rule);
            if action == 0 {
                rules(modem).retain(|r| *r != rule);
                if !present {
                    modem.explain(format!("{name}: no rule {ip}/{mask} to remove"));
                }
                return Ok(Done::Ok);
            }
            if present {
                return Ok(Done::Ok);
            }
            if rules(modem).len() >= max {
                modem.explain(format!("{name}: {max} rules already, the most kept"));
                return Err(CmdError::Cme(3));
            }
            rules(modem).push(rule);
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

// ----- socket configuration (NVM) -----

/// `AT#SCFG=<connId>,<cid>,<pktSz>,<maxTo>,<connTo>,<txTo>` (all six), saved at once.
pub fn scfg(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        // [UNSURE] the test text is undocumented (spec A.6 suggestion).
        Form::Test => {
            modem
                .info
                .push("#SCFG: (1-6),(0-5),(0-1500),(0-65535),(10-1200),(0-255)".into());
            Ok(Done::Ok)
        }
        Form::Read => {
            let lines: Vec<String> = (1..=CONN_IDS)
                .map(|conn| {
                    let c = modem.telit.config(conn);
                    format!(
                        "#SCFG: {conn},{},{},{},{},{}",
                        c.cid, c.pkt_sz, c.max_to, c.conn_to, c.tx_to
                    )
                })
                .collect();
            modem.info.extend(lines);
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            at_most(command, 6)?;
            let conn = required_int(command, 0, 1, CONN_IDS as u32)? as usize;
            let cid = required_int(command, 1, 0, CIDS as u32)?;
            let pkt_sz = required_int(command, 2, 0, 1500)?;
            let max_to = required_int(command, 3, 0, 65535)?;
            let conn_to = required_int(command, 4, 10, 1200)?;
            let tx_to = required_int(command, 5, 0, 255)?;
            if modem.telit.sockets[conn - 1].state != SocketState::Closed {
                modem.explain(format!("#SCFG: socket {conn} is not closed → ERROR"));
                return Err(CmdError::Plain);
            }
            let old_cid = modem.telit.config(conn).cid;
            let auto_on = |cid: u32| {
                (1..=CIDS as u32).contains(&cid)
                    && modem.telit.nvm.auto_activation[cid as usize - 1].retry > 0
            };
            if cid != old_cid && (auto_on(old_cid) || auto_on(cid)) {
                modem.explain(format!(
                    "#SCFG: socket {conn} cannot move from context {old_cid} to {cid} while \
                     #SGACTCFG activates one of them automatically → ERROR"
                ));
                return Err(CmdError::Plain);
            }
            let config = &mut modem.telit.nvm.sockets[conn - 1];
            config.cid = cid;
            config.pkt_sz = pkt_sz;
            config.max_to = max_to;
            config.conn_to = conn_to;
            config.tx_to = tx_to;
            save_telit_nvm(modem);
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

/// `AT#SCFGEXT=<connId>,<srMode>,<recvDataMode>,<keepalive>[,<ListenAutoRsp>[,<sendDataMode>]]`.
pub fn scfgext(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => {
            modem
                .info
                .push("#SCFGEXT: (1-6),(0-2),(0,1),(0-240),(0,1),(0,1)".into());
            Ok(Done::Ok)
        }
        Form::Read => {
            let lines: Vec<String> = (1..=CONN_IDS)
                .map(|conn| {
                    let c = modem.telit.config(conn);
                    format!(
                        "#SCFGEXT: {conn},{},{},{},{},{}",
                        c.sr_mode,
                        u8::from(c.recv_hex),
                        c.keepalive,
                        u8::from(c.listen_auto_rsp),
                        u8::from(c.send_hex)
                    )
                })
                .collect();
            modem.info.extend(lines);
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            at_most(command, 6)?;
            let conn = required_int(command, 0, 1, CONN_IDS as u32)? as usize;
            let sr_mode = required_int(command, 1, 0, 2)?;
            let recv_hex = required_int(command, 2, 0, 1)? == 1;
            let keepalive = required_int(command, 3, 0, 240)?;
            let auto_rsp = int_param(command, 4, 0, 1)?;
            let send_hex = int_param(command, 5, 0, 1)?;
            let config = &mut modem.telit.nvm.sockets[conn - 1];
            config.sr_mode = sr_mode;
            config.recv_hex = recv_hex;
            config.keepalive = keepalive;
            // [UNSURE] omitted optional parameters keep their values.
            if let Some(value) = auto_rsp {
                config.listen_auto_rsp = value == 1;
            }
            if let Some(value) = send_hex {
                config.send_hex = value == 1;
            }
            save_telit_nvm(modem);
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

/// `AT#SCFGEXT2=<connId>,<bufferStart>[,<abortConnAttempt>[,<unused>…]]`.
pub fn scfgext2(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => {
            modem
                .info
                .push("#SCFGEXT2: (1-6),(0,1),(0,1),(0),(0),(0)".into());
            Ok(Done::Ok)
        }
        // [UNSURE] the read form prints abortConnAttempt as 0, as the manual's example does.
        Form::Read => {
            let lines: Vec<String> = (1..=CONN_IDS)
                .map(|conn| {
                    let c = modem.telit.config(conn);
                    format!("#SCFGEXT2: {conn},{},0,0,0,0", c.buffer_start)
                })
                .collect();
            modem.info.extend(lines);
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            at_most(command, 6)?;
            let conn = required_int(command, 0, 1, CONN_IDS as u32)? as usize;
            let buffer_start = required_int(command, 1, 0, 1)?;
            let abort = int_param(command, 2, 0, 1)?;
            for unused in 3..6 {
                int_param(command, unused, 0, 0)?;
            }
            let config = &mut modem.telit.nvm.sockets[conn - 1];
            config.buffer_start = buffer_start;
            if let Some(value) = abort {
                config.abort_conn_attempt = value;
            }
            save_telit_nvm(modem);
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

// ----- legacy single-socket parameters (spec A.22) -----

/// One legacy parameter of the instance's socket, kept in its `#SCFG` field. [DOC] §3.3 has
/// `#SKTSAV` store these, so a change alone does not ask for an NVM save (a later save of
/// the socket configuration takes it along, the fields being the same).
fn legacy_param(
    modem: &mut Modem,
    command: &Command,
    range: (u32, u32),
    omitted: u32,
    field: fn(&mut SocketConfig) -> &mut u32,
    shown: fn(&SocketConfig) -> u32,
) -> CmdResult {
    let name = command.name.clone();
    match command.form {
        Form::Test => {
            modem
                .info
                .push(format!("{name}: ({}-{})", range.0, range.1));
            Ok(Done::Ok)
        }
        Form::Read => {
            let conn = legacy_socket(modem, &name)?;
            let value = shown(modem.telit.config(conn));
            modem.info.push(format!("{name}: {value}"));
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            at_most(command, 1)?;
            let value = int_param(command, 0, range.0, range.1)?.unwrap_or(omitted);
            let conn = legacy_socket(modem, &name)?;
            *field(&mut modem.telit.nvm.sockets[conn - 1]) = value;
            modem.explain(format!(
                "{name}={value} on socket {conn} (kept in NVM by #SKTSAV)"
            ));
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

/// `AT#PKTSZ=[<size>]`: the packet size; 0 (automatic) reads back as 300.
pub fn pktsz(modem: &mut Modem, command: &Command) -> CmdResult {
    legacy_param(
        modem,
        command,
        (0, 1500),
        0,
        |c| &mut c.pkt_sz,
        |c| c.packet_size() as u32,
    )
}

/// `AT#DSTO=[<tout>]`: the data-sending timeout (`#SCFG` txTo).
pub fn dsto(modem: &mut Modem, command: &Command) -> CmdResult {
    legacy_param(modem, command, (0, 255), 0, |c| &mut c.tx_to, |c| c.tx_to)
}

/// `AT#SKTTO=[<tout>]`: the inactivity timeout (`#SCFG` maxTo).
pub fn sktto(modem: &mut Modem, command: &Command) -> CmdResult {
    legacy_param(
        modem,
        command,
        (0, 65535),
        0,
        |c| &mut c.max_to,
        |c| c.max_to,
    )
}

/// `AT#SKTCT=[<tout>]`: the connect timeout (`#SCFG` connTo); omitted → 600 [UNSURE].
pub fn sktct(modem: &mut Modem, command: &Command) -> CmdResult {
    legacy_param(
        modem,
        command,
        (10, 1200),
        600,
        |c| &mut c.conn_to,
        |c| c.conn_to,
    )
}

fn sktset_line(target: &LegacyTarget) -> String {
    format!(
        "#SKTSET: {},{},\"{}\",{},{}",
        target.transport, target.port, target.address, target.closure, target.local_port
    )
}

/// `AT#SKTSET=<type>,<port>,<addr>[,<closure>[,<lport>]]`: the `#SKTOP` target (working copy,
/// `#SKTSAV` keeps it).
pub fn sktset(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => {
            modem
                .info
                .push("#SKTSET: (0,1),(0-65535),,(0,255),(0-65535)".into());
            Ok(Done::Ok)
        }
        Form::Read => {
            legacy_socket(modem, "#SKTSET")?;
            let line = sktset_line(&modem.telit.legacy_target);
            modem.info.push(line);
            Ok(Done::Ok)
        }
        // All parameters omitted: the same as the read form ([DOC] SELINT 0/1 note).
        Form::Set(ref list) if list.is_empty() => {
            legacy_socket(modem, "#SKTSET")?;
            let line = sktset_line(&modem.telit.legacy_target);
            modem.info.push(line);
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            at_most(command, 5)?;
            let transport = required_int(command, 0, 0, 1)?;
            let port = required_int(command, 1, 0, 65535)?;
            let Some(address) = params(command).get(2).map(|p| p.text.clone()) else {
                return Err(CmdError::InvalidParameter);
            };
            let closure = int_param(command, 3, 0, 255)?.unwrap_or(0);
            if closure != 0 && closure != 255 {
                return Err(CmdError::InvalidParameter);
            }
            let local_port = int_param(command, 4, 0, 65535)?.unwrap_or(0);
            legacy_socket(modem, "#SKTSET")?;
            modem.telit.legacy_target = LegacyTarget {
                transport,
                port,
                address,
                closure,
                local_port,
            };
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

/// `AT#SKTSAV`: the `#SKTSET` target, `#USERID` and `#PASSW` (and the socket's parameters)
/// into NVM.
pub fn sktsav(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => Ok(Done::Ok),
        Form::Action => {
            let conn = legacy_socket(modem, "#SKTSAV")?;
            modem.telit.nvm.legacy_target = modem.telit.legacy_target.clone();
            modem.telit.nvm.legacy_user = modem.telit.user_id.clone();
            modem.telit.nvm.legacy_password = modem.telit.password.clone();
            modem.explain(format!(
                "#SKTSAV: target, user id, password and socket {conn} parameters saved"
            ));
            save_telit_nvm(modem);
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

/// `AT#SKTRST`: the legacy parameters back to factory values, saved.
pub fn sktrst(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => Ok(Done::Ok),
        Form::Action => {
            let conn = legacy_socket(modem, "#SKTRST")?;
            let factory = SocketConfig::factory(conn);
            let config = &mut modem.telit.nvm.sockets[conn - 1];
            config.pkt_sz = factory.pkt_sz;
            config.max_to = factory.max_to;
            config.conn_to = factory.conn_to;
            config.tx_to = factory.tx_to;
            modem.telit.legacy_target = LegacyTarget::default();
            modem.telit.user_id.clear();
            modem.telit.password.clear();
            modem.telit.nvm.legacy_target = LegacyTarget::default();
            modem.telit.nvm.legacy_user.clear();
            modem.telit.nvm.legacy_password.clear();
            modem.explain(format!(
                "#SKTRST: socket {conn} parameters, target, user and password back to factory"
            ));
            save_telit_nvm(modem);
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

// ----- online-mode escape settings -----

/// `AT#SKIPESC=<mode>`: 1 keeps `+++` from reaching the peer.
pub fn skipesc(modem: &mut Modem, command: &Command) -> CmdResult {
    numeric_setting(modem, command, "(0,1)", 1, 0, |m| &mut m.telit.skip_esc)
}

/// `AT#E2ESC=<gt>`: the escape guard time in seconds (0 uses S12).
pub fn e2esc(modem: &mut Modem, command: &Command) -> CmdResult {
    numeric_setting(modem, command, "(0-10)", 10, 0, |m| &mut m.telit.e2esc_s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_addresses_take_leading_zeros_as_decimal() {
        assert_eq!(
            parse_dotted("123.255.020.001"),
            Some(Ipv4Addr::new(123, 255, 20, 1))
        );
        assert_eq!(parse_dotted("0.0.0.0"), Some(Ipv4Addr::UNSPECIFIED));
        for bad in [
            "",
            "1.2.3",
            "1.2.3.4.5",
            "256.1.1.1",
            "a.b.c.d",
            "1..2.3",
            "0001.2.3.4",
        ] {
            assert_eq!(parse_dotted(bad), None, "{bad}");
        }
    }
}
