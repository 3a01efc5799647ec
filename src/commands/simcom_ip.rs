//! SIMCom TCP/IP commands (`+CSTT`, `+CIICR`, `+CIFSR`, `+CIPSTART`, `+CIPSEND`, `+CIPRXGET`,
//! `+CIPSERVER`, `+CIPSTATUS`…), the PDP commands, `+SAPBR`, and `ATD*99#`/`ATO`/`ATH` for data.

use std::net::Ipv4Addr;

use super::{
    CmdError, CmdResult, Done, at_most, basic_value, int_param, params, required_int, str_param,
    test_or_read,
};
use crate::at::{Command, Form};
use crate::dte::ResultCode;
use crate::modem::Modem;
use crate::modem::TimerKind;
use crate::modem::data_mode::{Awaiting, DataLink, PortMode, Prompt, PromptPurpose};
use crate::modem::ip::{Bearer, DnsPurpose, IpSettings, LINKS, LinkState, PdpContext, prefix};
use crate::modem::sockets::{SocketCommand, Transport};

// ----- helpers -----

/// Whether GPRS service is there (registered and attached).
fn packet_service(modem: &Modem) -> bool {
    matches!(modem.radio.cgreg_stat(&modem.config.network), 1 | 5)
}

/// A connection is open (connecting or connected) on any link.
fn any_link_open(modem: &Modem) -> bool {
    modem.ip.links.iter().flatten().any(|l| l.is_open())
}

/// A numeric TCP/IP setting: `=?` range, `?` value, `=<n>` within `0..=max` when `may_change`.
fn ip_setting(
    modem: &mut Modem,
    command: &Command,
    range_text: &str,
    max: u32,
    field: fn(&mut IpSettings) -> &mut u32,
    locked_while_connected: bool,
) -> CmdResult {
    let name = command.name.clone();
    match &command.form {
        Form::Test => {
            modem.info.push(format!("{name}: {range_text}"));
            Ok(Done::Ok)
        }
        Form::Read => {
            let value = *field(&mut modem.ip.settings);
            modem.info.push(format!("{name}: {value}"));
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            at_most(command, 1)?;
            let value = required_int(command, 0, 0, max).map_err(|_| CmdError::Plain)?;
            if locked_while_connected && any_link_open(modem) {
                modem.explain(format!(
                    "{name} cannot change while a connection is open → ERROR"
                ));
                return Err(CmdError::Plain);
            }
            *field(&mut modem.ip.settings) = value;
            Ok(Done::Ok)
        }
        _ => Err(CmdError::Plain),
    }
}

/// A port number `1..=65535`, quoted or not.
fn port_param(command: &Command, index: usize) -> Result<u16, CmdError> {
    let text = str_param(command, index).ok_or(CmdError::Plain)?;
    text.parse::<u16>()
        .ok()
        .filter(|&p| p != 0)
        .ok_or(CmdError::Plain)
}

/// `TCP` / `UDP`, quoted or not, any case.
fn transport_param(command: &Command, index: usize) -> Result<Transport, CmdError> {
    match str_param(command, index)
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        Some("TCP") => Ok(Transport::Tcp),
        Some("UDP") => Ok(Transport::Udp),
        _ => Err(CmdError::Plain),
    }
}

/// The connection number a multi-mode command names (`0..=7`).
fn link_param(command: &Command, index: usize) -> Result<usize, CmdError> {
    Ok(required_int(command, index, 0, (LINKS - 1) as u32).map_err(|_| CmdError::Plain)? as usize)
}

/// Brings the context up as `+CSTT`, `+CIICR`, `+CIFSR` would, with the stored APN
/// (single-mode `+CIPSTART`/`+CIPSERVER` from IP INITIAL).
fn implicit_bring_up(modem: &mut Modem) -> Result<(), CmdError> {
    if !packet_service(modem) {
        modem.explain("no GPRS service: the context cannot come up → ERROR");
        return Err(CmdError::Plain);
    }
    modem.explain(format!(
        "IP INITIAL: the module runs CSTT/CIICR/CIFSR itself with APN {:?}",
        modem.ip.settings.apn
    ));
    modem.ip.bearer = Bearer::Status;
    Ok(())
}

// ----- bearer -----

/// `AT+CSTT`: APN, user, password; IP INITIAL → IP START.
pub fn cstt(modem: &mut Modem, command: &Command) -> CmdResult {
    match &command.form {
        Form::Test => {
            modem.info.push("+CSTT: \"APN\",\"USER\",\"PWD\"".into());
            Ok(Done::Ok)
        }
        Form::Read => {
            let s = &modem.ip.settings;
            let line = format!("+CSTT: \"{}\",\"{}\",\"{}\"", s.apn, s.user, s.password);
            modem.info.push(line);
            Ok(Done::Ok)
        }
        Form::Action | Form::Set(_) => {
            at_most(command, 3)?;
            if modem.ip.bearer != Bearer::Initial {
                modem.explain(format!(
                    "+CSTT only in IP INITIAL, not {} → ERROR",
                    modem.ip.state_text()
                ));
                return Err(CmdError::Plain);
            }
            if let Form::Set(_) = command.form {
                let field = |i| str_param(command, i).unwrap_or("").to_string();
                modem.ip.settings.apn = field(0);
                modem.ip.settings.user = field(1);
                modem.ip.settings.password = field(2);
            }
            modem.ip.bearer = Bearer::Start;
            modem.explain(format!("APN {:?} set → IP START", modem.ip.settings.apn));
            Ok(Done::Ok)
        }
        _ => Err(CmdError::Plain),
    }
}

/// `AT+CIICR`: bring the context up (IP START → IP CONFIG → IP GPRSACT).
pub fn ciicr(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => Ok(Done::Ok),
        Form::Action => {
            if modem.ip.bearer != Bearer::Start {
                modem.explain(format!(
                    "+CIICR only in IP START, not {} → ERROR",
                    modem.ip.state_text()
                ));
                return Err(CmdError::Plain);
            }
            if !packet_service(modem) {
                modem.explain(
                    "+CIICR without GPRS service (not registered or not attached) → ERROR",
                );
                return Err(CmdError::Plain);
            }
            modem.ip.bearer = Bearer::Config;
            modem.awaiting = Some(Awaiting::Ciicr);
            modem.schedule(modem.profile.ip.ciicr_ms, TimerKind::Ciicr);
            modem.explain(format!(
                "IP CONFIG: activating the context, OK in {} ms",
                modem.profile.ip.ciicr_ms
            ));
            Ok(Done::Stop(None))
        }
        _ => Err(CmdError::Plain),
    }
}

impl Modem {
    /// `+CIICR` finished.
    pub(crate) fn ciicr_done(&mut self) {
        if self.ip.bearer == Bearer::Config {
            self.ip.bearer = Bearer::GprsAct;
            self.explain("context active → IP GPRSACT");
            self.finish_awaiting(Some(ResultCode::Ok));
        }
    }

    /// GPRS service went away: `+PDP: DEACT`, a data call ends, contexts drop.
    pub(crate) fn packet_service_lost(&mut self) {
        self.pdp_deactivated("GPRS service lost");
        if self.data_link == Some(DataLink::DialUp) {
            self.explain("GPRS service lost → the data call ends, NO CARRIER");
            self.drop_data_link();
            self.urc_code(ResultCode::NoCarrier);
        }
        for context in &mut self.ip.contexts {
            context.active = false;
        }
        let mut lost = Vec::new();
        for (index, profile) in self.ip.sapbr.iter_mut().enumerate() {
            if profile.open {
                profile.open = false;
                lost.push(index + 1);
            }
        }
        for cid in lost {
            self.urc(format!("+SAPBR {cid}: DEACT"));
        }
    }
}

/// `AT+CIFSR`: the local address, bare, with no `OK` when last on the line.
pub fn cifsr(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => Ok(Done::Ok),
        Form::Action => {
            if !modem.ip.bearer.is_active() {
                modem.explain(format!(
                    "+CIFSR needs an active context, state is {} → ERROR",
                    modem.ip.state_text()
                ));
                return Err(CmdError::Plain);
            }
            if modem.ip.bearer == Bearer::GprsAct {
                modem.ip.bearer = Bearer::Status;
            }
            let ip = modem.local_ip().to_string();
            modem.info.push(ip);
            Ok(Done::NoFinalIfLast)
        }
        _ => Err(CmdError::Plain),
    }
}

/// `AT+CIPSHUT`: everything closed, context down, IP INITIAL; `SHUT OK`.
pub fn cipshut(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => Ok(Done::Ok),
        Form::Action => {
            modem.close_everything("AT+CIPSHUT");
            modem.ip.bearer = Bearer::Initial;
            modem.explain("+CIPSHUT: every connection closed, context down → IP INITIAL");
            Ok(Done::Final("SHUT OK".into()))
        }
        _ => Err(CmdError::Plain),
    }
}

/// `AT+CIPSTATUS`: `OK` first, then the state (and in multi mode every connection).
pub fn cipstatus(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => Ok(Done::Ok),
        Form::Action => {
            let mut lines = vec![format!("STATE: {}", modem.ip.state_text())];
            if modem.ip.settings.mux {
                lines.push(String::new());
                if let Some(server) = &modem.ip.server {
                    let state = if server.listening {
                        "LISTENING"
                    } else {
                        "OPENING"
                    };
                    lines.push(format!("S: 0,0,\"{}\",\"{state}\"", server.port));
                }
                lines.extend((0..LINKS).map(|n| format!("C: {}", modem.ip.link_status(n))));
            }
            modem.write_result(&ResultCode::Ok);
            modem.write_info(&lines);
            Ok(Done::Stop(None))
        }
        Form::Set(_) => {
            at_most(command, 1)?;
            if !modem.ip.settings.mux {
                return Err(CmdError::Plain);
            }
            let n = link_param(command, 0)?;
            let line = format!("+CIPSTATUS: {}", modem.ip.link_status(n));
            modem.info.push(line);
            Ok(Done::Ok)
        }
        _ => Err(CmdError::Plain),
    }
}

// ----- DNS -----

/// `AT+CDNSCFG`: primary and secondary DNS server.
pub fn cdnscfg(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => {
            modem
                .info
                .push("+CDNSCFG: (\"PrimaryDNS\"),(\"SecondaryDNS\")".into());
            Ok(Done::Ok)
        }
        Form::Read => {
            let (primary, secondary) = modem.ip.settings.dns.clone();
            modem.info.push(format!("PrimaryDns: {primary}"));
            modem.info.push(format!("SecondaryDns: {secondary}"));
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            at_most(command, 2)?;
            let primary = str_param(command, 0).ok_or(CmdError::Plain)?;
            let secondary = str_param(command, 1).unwrap_or("0.0.0.0");
            for address in [primary, secondary] {
                address.parse::<Ipv4Addr>().map_err(|_| CmdError::Plain)?;
            }
            modem.ip.settings.dns = (primary.to_string(), secondary.to_string());
            Ok(Done::Ok)
        }
        _ => Err(CmdError::Plain),
    }
}

/// `AT+CDNSGIP="name"`: `OK`, then `+CDNSGIP: 1,"name","ip"` from the host's resolver.
pub fn cdnsgip(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => Ok(Done::Ok),
        Form::Set(_) => {
            at_most(command, 1)?;
            let name = str_param(command, 0).ok_or(CmdError::Plain)?.to_string();
            if !modem.ip.bearer.is_active() {
                modem.explain("+CDNSGIP needs an active context → ERROR");
                return Err(CmdError::Plain);
            }
            let query = modem.ip.new_query();
            modem
                .ip
                .dns_queries
                .push((query, DnsPurpose::Cdnsgip(name.clone())));
            modem.explain(format!("DNS: looking up {name:?}"));
            modem.push_output(crate::modem::Output::Resolve { query, name });
            Ok(Done::Ok)
        }
        _ => Err(CmdError::Plain),
    }
}

// ----- connection settings -----

/// `AT+CIPMUX`: one connection or eight; only in IP INITIAL.
pub fn cipmux(modem: &mut Modem, command: &Command) -> CmdResult {
    if let Form::Set(_) = command.form {
        at_most(command, 1)?;
        let mux = required_int(command, 0, 0, 1).map_err(|_| CmdError::Plain)? == 1;
        if modem.ip.bearer != Bearer::Initial || any_link_open(modem) || modem.ip.server.is_some() {
            modem.explain(format!(
                "+CIPMUX only in IP INITIAL with nothing open, not {} → ERROR",
                modem.ip.state_text()
            ));
            return Err(CmdError::Plain);
        }
        if mux && modem.ip.settings.transparent {
            modem.explain("+CIPMUX=1 with +CIPMODE=1 → ERROR");
            return Err(CmdError::Plain);
        }
        modem.ip.settings.mux = mux;
        return Ok(Done::Ok);
    }
    let read = format!("+CIPMUX: {}", u8::from(modem.ip.settings.mux));
    test_or_read(modem, command, "+CIPMUX: (0,1)", read, CmdError::Plain)
}

/// `AT+CIPMODE`: transparent mode (single connection only).
pub fn cipmode(modem: &mut Modem, command: &Command) -> CmdResult {
    if let Form::Set(_) = command.form {
        at_most(command, 1)?;
        let transparent = required_int(command, 0, 0, 1).map_err(|_| CmdError::Plain)? == 1;
        if (transparent && modem.ip.settings.mux) || any_link_open(modem) {
            modem.explain("+CIPMODE needs +CIPMUX=0 and no open connection → ERROR");
            return Err(CmdError::Plain);
        }
        modem.ip.settings.transparent = transparent;
        return Ok(Done::Ok);
    }
    let read = format!("+CIPMODE: {}", u8::from(modem.ip.settings.transparent));
    test_or_read(
        modem,
        command,
        "+CIPMODE: (0-NORMAL MODE,1-TRANSPARENT MODE)",
        read,
        CmdError::Plain,
    )
}

/// `AT+CIPCCFG`: transparent-mode packing, escape and paced output (4 or 7 parameters).
pub fn cipccfg(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => {
            modem.info.push("+CIPCCFG: (NmRetry:3-8),(WaitTm:2-10),(SendSz:1-1460),(esc:0,1) ,(Rxmode:0,1),(RxSize:50-1460),(Rxtimer:20-1000)".into());
            Ok(Done::Ok)
        }
        Form::Read => {
            let c = modem.ip.settings.ccfg;
            modem.info.push(format!(
                "+CIPCCFG: {},{},{},{},{},{},{}",
                c.nm_retry, c.wait_tm, c.send_sz, c.esc, c.rx_mode, c.rx_size, c.rx_timer_ms
            ));
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            let count = params(command).len();
            if !(count == 4 || count == 7) || modem.ip.settings.mux {
                return Err(CmdError::Plain);
            }
            let mut c = modem.ip.settings.ccfg;
            let get = |i, min, max| required_int(command, i, min, max).map_err(|_| CmdError::Plain);
            c.nm_retry = get(0, 3, 8)?;
            c.wait_tm = get(1, 2, 10)?;
            c.send_sz = get(2, 1, 1460)?;
            c.esc = get(3, 0, 1)?;
            if count == 7 {
                c.rx_mode = get(4, 0, 1)?;
                c.rx_size = get(5, 50, 1460)?;
                c.rx_timer_ms = get(6, 20, 1000)?;
            }
            modem.ip.settings.ccfg = c;
            Ok(Done::Ok)
        }
        _ => Err(CmdError::Plain),
    }
}

pub fn cipqsend(modem: &mut Modem, command: &Command) -> CmdResult {
    ip_setting(modem, command, "(0,1)", 1, |s| &mut s.qsend, true)
}

pub fn ciphead(modem: &mut Modem, command: &Command) -> CmdResult {
    ip_setting(modem, command, "(0,1)", 1, |s| &mut s.head, false)
}

pub fn cipshowtp(modem: &mut Modem, command: &Command) -> CmdResult {
    ip_setting(modem, command, "(0,1)", 1, |s| &mut s.showtp, false)
}

pub fn cipsrip(modem: &mut Modem, command: &Command) -> CmdResult {
    ip_setting(modem, command, "(0,1)", 1, |s| &mut s.srip, false)
}

pub fn cipsprt(modem: &mut Modem, command: &Command) -> CmdResult {
    ip_setting(modem, command, "(0,1,2)", 2, |s| &mut s.sprt, false)
}

/// `AT+CIPATS`: send prompt data automatically after a time.
pub fn cipats(modem: &mut Modem, command: &Command) -> CmdResult {
    if let Form::Set(_) = command.form {
        at_most(command, 2)?;
        let mode = required_int(command, 0, 0, 1).map_err(|_| CmdError::Plain)?;
        let time = int_param(command, 1, 1, 100)
            .map_err(|_| CmdError::Plain)?
            .unwrap_or(modem.ip.settings.ats.1);
        modem.ip.settings.ats = (mode, time);
        return Ok(Done::Ok);
    }
    let (mode, time) = modem.ip.settings.ats;
    test_or_read(
        modem,
        command,
        "+CIPATS: (0,1),(1-100)",
        format!("+CIPATS: {mode},{time}"),
        CmdError::Plain,
    )
}

/// `AT+CIPDPDP`: PDP detection (accepted and reported; the network tells loss directly).
pub fn cipdpdp(modem: &mut Modem, command: &Command) -> CmdResult {
    if let Form::Set(_) = command.form {
        at_most(command, 3)?;
        let old = modem.ip.settings.dpdp;
        let mode = required_int(command, 0, 0, 1).map_err(|_| CmdError::Plain)?;
        let interval = int_param(command, 1, 1, 180)
            .map_err(|_| CmdError::Plain)?
            .unwrap_or(old.1);
        let timer = int_param(command, 2, 1, 10)
            .map_err(|_| CmdError::Plain)?
            .unwrap_or(old.2);
        modem.ip.settings.dpdp = (mode, interval, timer);
        return Ok(Done::Ok);
    }
    let (mode, interval, timer) = modem.ip.settings.dpdp;
    test_or_read(
        modem,
        command,
        "+CIPDPDP: (0,1),(1-180),(1-10)",
        format!("+CIPDPDP: {mode},{interval},{timer}"),
        CmdError::Plain,
    )
}

/// `AT+CIPCSGP=1,"apn","user","pwd"`: the APN for the module's own bring-up.
pub fn cipcsgp(modem: &mut Modem, command: &Command) -> CmdResult {
    if let Form::Set(_) = command.form {
        at_most(command, 4)?;
        let mode = required_int(command, 0, 0, 1).map_err(|_| CmdError::Plain)?;
        if mode != 1 {
            modem.explain("+CIPCSGP=0 (CSD) is not emulated → ERROR");
            return Err(CmdError::Plain);
        }
        let field = |i| str_param(command, i).unwrap_or("").to_string();
        modem.ip.settings.apn = field(1);
        modem.ip.settings.user = field(2);
        modem.ip.settings.password = field(3);
        return Ok(Done::Ok);
    }
    let s = &modem.ip.settings;
    let read = format!(
        "+CIPCSGP: 1,\"{}\",\"{}\",\"{}\"",
        s.apn, s.user, s.password
    );
    test_or_read(
        modem,
        command,
        "+CIPCSGP: 0-CSD,1-GPRS",
        read,
        CmdError::Plain,
    )
}

/// `AT+CLPORT`: accepted; the host picks the local port (noted in the trace).
pub fn clport(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => {
            modem
                .info
                .push("+CLPORT: (\"TCP\",\"UDP\"),(0-65535)".into());
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            let first = if modem.ip.settings.mux { 1 } else { 0 };
            transport_param(command, first)?;
            required_int(command, first + 1, 0, 65535).map_err(|_| CmdError::Plain)?;
            modem.explain("+CLPORT noted: the host's stack picks the local port");
            Ok(Done::Ok)
        }
        _ => Err(CmdError::Plain),
    }
}

/// `AT+CIPSCONT`: save the TCP/IP settings; `?` lists them.
pub fn cipscont(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => Ok(Done::Ok),
        Form::Action => {
            modem.nvm.ip_settings = Some(modem.ip.settings.clone());
            modem.save_nvm();
            modem.explain("TCP/IP settings saved to NVM");
            Ok(Done::Ok)
        }
        Form::Read => {
            let saved = u8::from(modem.nvm.ip_settings.as_ref() == Some(&modem.ip.settings));
            let s = modem.ip.settings.clone();
            let c = s.ccfg;
            modem.info.extend([
                format!("+CIPSCONT: {saved}"),
                "+CIPCSGP: 1".into(),
                format!("Gprs Config APN: {}", s.apn),
                format!("Gprs Config UserId: {}", s.user),
                format!("Gprs Config Password: {}", s.password),
                format!("+CIPHEAD: {}", s.head),
                format!("+CIPSHOWTP: {}", s.showtp),
                format!("+CIPSRIP: {}", s.srip),
                format!("+CIPATS: {},{}", s.ats.0, s.ats.1),
                format!("+CIPSPRT: {}", s.sprt),
                format!("+CIPQSEND: {}", s.qsend),
                format!("+CIPMODE: {}", u8::from(s.transparent)),
                format!(
                    "+CIPCCFG: {},{},{},{},{},{},{}",
                    c.nm_retry, c.wait_tm, c.send_sz, c.esc, c.rx_mode, c.rx_size, c.rx_timer_ms
                ),
                format!("+CIPMUX: {}", u8::from(s.mux)),
                format!("+CIPDPDP: {},{},{}", s.dpdp.0, s.dpdp.1, s.dpdp.2),
                format!("+CIPRXGET: {}", u8::from(s.manual_rx)),
            ]);
            Ok(Done::Ok)
        }
        _ => Err(CmdError::Plain),
    }
}

// ----- connections -----

/// `AT+CIPSTART=["n",]"TCP"|"UDP","host",port`: `OK`, later `CONNECT OK` / `CONNECT` / `CONNECT FAIL`.
pub fn cipstart(modem: &mut Modem, command: &Command) -> CmdResult {
    let mux = modem.ip.settings.mux;
    match command.form {
        Form::Test => {
            let head = if mux { "(0-7)," } else { "" };
            modem.info.push(format!(
                "+CIPSTART: {head}(\"TCP\",\"UDP\"),(\"(0-255).(0-255).(0-255).(0-255)\"),(1-65535)"
            ));
            modem.info.push(format!(
                "+CIPSTART: {head}(\"TCP\",\"UDP\"),(\"DOMAIN NAME\"),(1-65535)"
            ));
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            let first = usize::from(mux);
            if params(command).len() != first + 3 {
                return Err(CmdError::Plain);
            }
            let n = if mux { link_param(command, 0)? } else { 0 };
            let transport = transport_param(command, first)?;
            let host = str_param(command, first + 1)
                .filter(|h| !h.is_empty())
                .ok_or(CmdError::Plain)?
                .to_string();
            let port = port_param(command, first + 2)?;
            if modem.ip.links[n].as_ref().is_some_and(|l| l.is_open()) {
                modem.explain(format!("connection {n} is already open → ALREADY CONNECT"));
                return Ok(Done::Final(format!("{}ALREADY CONNECT", prefix(mux, n))));
            }
            match modem.ip.bearer {
                Bearer::Status => {}
                Bearer::Initial if !mux => implicit_bring_up(modem)?,
                _ => {
                    modem.explain(format!(
                        "+CIPSTART not allowed in {} → ERROR",
                        modem.ip.state_text()
                    ));
                    return Err(CmdError::Plain);
                }
            }
            modem.open_link(n, transport, host, port);
            Ok(Done::Ok)
        }
        _ => Err(CmdError::Plain),
    }
}

/// `AT+CIPSEND[=[n,]len]`: the `> ` prompt; the payload ends at the length or Ctrl-Z.
pub fn cipsend(modem: &mut Modem, command: &Command) -> CmdResult {
    let mux = modem.ip.settings.mux;
    let max = modem.profile.ip.max_send;
    let (n, fixed_len) = match command.form {
        Form::Test => {
            modem.info.push(if mux {
                format!("+CIPSEND: (0-7),{max}")
            } else {
                format!("+CIPSEND: {max}")
            });
            return Ok(Done::Ok);
        }
        Form::Read => {
            if mux {
                for n in 0..LINKS {
                    let size = if link_connected(modem, n) { max } else { 0 };
                    modem.info.push(format!("+CIPSEND: {n},{size}"));
                }
            } else {
                modem.info.push(format!("+CIPSEND: {max}"));
            }
            return Ok(Done::Ok);
        }
        Form::Action if !mux => (0, None),
        Form::Set(_) => {
            let len_index = usize::from(mux);
            at_most(command, len_index + 1)?;
            let n = if mux { link_param(command, 0)? } else { 0 };
            let len = int_param(command, len_index, 1, max as u32).map_err(|_| CmdError::Plain)?;
            (n, len.map(|l| l as usize))
        }
        _ => return Err(CmdError::Plain),
    };
    if modem.ip.settings.transparent {
        modem.explain("+CIPSEND in transparent mode → ERROR");
        return Err(CmdError::Plain);
    }
    if !link_connected(modem, n) {
        modem.explain(format!("connection {n} is not connected → ERROR"));
        return Err(CmdError::Plain);
    }
    modem.port_mode = PortMode::Prompt(Prompt::new(
        PromptPurpose::CipSend { link: n },
        fixed_len,
        max,
        modem.settings.echo,
    ));
    if modem.ip.settings.sprt == 1 {
        modem.write_dte(b"\r\n> ");
    }
    let (ats_mode, ats_seconds) = modem.ip.settings.ats;
    if ats_mode == 1 && fixed_len.is_none() {
        modem.schedule(u64::from(ats_seconds) * 1000, TimerKind::AutoSend);
    }
    modem.explain(match fixed_len {
        Some(len) => format!("prompt: the next {len} bytes go to connection {n}"),
        None => format!("prompt: bytes up to Ctrl-Z go to connection {n} (ESC cancels)"),
    });
    Ok(Done::Stop(None))
}

fn link_connected(modem: &Modem, n: usize) -> bool {
    modem.ip.links[n]
        .as_ref()
        .is_some_and(|l| l.state == LinkState::Connected)
}

/// `AT+CIPACK[=n]`: bytes sent, acknowledged, not yet acknowledged.
pub fn cipack(modem: &mut Modem, command: &Command) -> CmdResult {
    let mux = modem.ip.settings.mux;
    let n = match command.form {
        Form::Test => return Ok(Done::Ok),
        Form::Action if !mux => 0,
        Form::Set(_) if mux => {
            at_most(command, 1)?;
            link_param(command, 0)?
        }
        _ => return Err(CmdError::Plain),
    };
    let Some(link) = modem.ip.links[n].as_ref() else {
        return Err(CmdError::Plain);
    };
    let line = format!(
        "+CIPACK: {},{},{}",
        link.tx_total,
        link.tx_sent,
        link.tx_total.saturating_sub(link.tx_sent)
    );
    modem.info.push(line);
    Ok(Done::Ok)
}

/// `AT+CIPCLOSE[=[n,]mode]`: `CLOSE OK` / `n, CLOSE OK`.
pub fn cipclose(modem: &mut Modem, command: &Command) -> CmdResult {
    let mux = modem.ip.settings.mux;
    let (n, quick) = match command.form {
        Form::Test => return Ok(Done::Ok),
        Form::Action if !mux => (0, false),
        Form::Set(_) => {
            if mux {
                at_most(command, 2)?;
                let n = link_param(command, 0)?;
                let quick = int_param(command, 1, 0, 1).map_err(|_| CmdError::Plain)?;
                (n, quick == Some(1))
            } else {
                at_most(command, 1)?;
                let quick = required_int(command, 0, 0, 1).map_err(|_| CmdError::Plain)?;
                (0, quick == 1)
            }
        }
        _ => return Err(CmdError::Plain),
    };
    if !modem.ip.links[n].as_ref().is_some_and(|l| l.is_open()) {
        modem.explain(format!("connection {n} is not open → ERROR"));
        return Err(CmdError::Plain);
    }
    modem.close_link(n, quick, "AT+CIPCLOSE");
    Ok(Done::Final(format!("{}CLOSE OK", prefix(mux, n))))
}

/// `AT+CIPSERVER=1,port` / `=0`: listen on a real port; `SERVER OK`, `REMOTE IP:`.
pub fn cipserver(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => {
            modem
                .info
                .push("+CIPSERVER: (0-CLOSE SERVER, 1-OPEN SERVER),(1,65535)".into());
            Ok(Done::Ok)
        }
        Form::Read => {
            let line = match &modem.ip.server {
                Some(server) => format!("+CIPSERVER: 1,{},\"TCP\",0", server.port),
                None => "+CIPSERVER: 0".into(),
            };
            modem.info.push(line);
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            at_most(command, 2)?;
            let open = required_int(command, 0, 0, 1).map_err(|_| CmdError::Plain)? == 1;
            if !open {
                let Some(server) = modem.ip.server.take() else {
                    return Err(CmdError::Plain);
                };
                modem.socket_command(server.socket, SocketCommand::Close { abort: true });
                modem.explain("server closed; its clients stay connected");
                modem.urc("SERVER CLOSE");
                return Ok(Done::Ok);
            }
            let port = port_param(command, 1)?;
            if modem.ip.server.is_some() {
                modem.explain("a server is already listening → ERROR");
                return Err(CmdError::Plain);
            }
            match modem.ip.bearer {
                Bearer::Status => {}
                Bearer::Initial if !modem.ip.settings.mux => implicit_bring_up(modem)?,
                _ => {
                    modem.explain(format!(
                        "+CIPSERVER not allowed in {} → ERROR",
                        modem.ip.state_text()
                    ));
                    return Err(CmdError::Plain);
                }
            }
            let socket = modem.ip.new_socket();
            modem.ip.server = Some(crate::modem::ip::Server {
                socket,
                port,
                listening: false,
            });
            modem.explain(format!(
                "server: listening on port {port} (socket {})",
                socket.0
            ));
            modem.socket_command(
                socket,
                SocketCommand::Listen {
                    transport: Transport::Tcp,
                    port,
                },
            );
            Ok(Done::Ok)
        }
        _ => Err(CmdError::Plain),
    }
}

/// `AT+CIPRXGET`: manual receive — mode 0/1, read 2 (raw) / 3 (hex), 4 (how much waits).
pub fn ciprxget(modem: &mut Modem, command: &Command) -> CmdResult {
    let mux = modem.ip.settings.mux;
    match command.form {
        Form::Test => {
            modem.info.push(if mux {
                "+CIPRXGET: (0-4),(0-7),(1-1460)".into()
            } else {
                "+CIPRXGET: (0-4),(1-1460)".into()
            });
            Ok(Done::Ok)
        }
        Form::Read => {
            let line = format!("+CIPRXGET: {}", u8::from(modem.ip.settings.manual_rx));
            modem.info.push(line);
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            let mode = required_int(command, 0, 0, 4).map_err(|_| CmdError::Plain)?;
            if mode <= 1 {
                at_most(command, 1)?;
                if any_link_open(modem) {
                    modem.explain("+CIPRXGET=0/1 only before a connection is opened → ERROR");
                    return Err(CmdError::Plain);
                }
                modem.ip.settings.manual_rx = mode == 1;
                return Ok(Done::Ok);
            }
            if !modem.ip.settings.manual_rx {
                modem.explain("+CIPRXGET read without +CIPRXGET=1 → ERROR");
                return Err(CmdError::Plain);
            }
            let n = if mux { link_param(command, 1)? } else { 0 };
            let len_index = 1 + usize::from(mux);
            let Some(link) = modem.ip.links[n].as_ref() else {
                return Err(CmdError::Plain);
            };
            let waiting = link.rx.len();
            let head = if mux { format!("{n},") } else { String::new() };
            if mode == 4 {
                at_most(command, len_index)?;
                modem.info.push(format!("+CIPRXGET: 4,{head}{waiting}"));
                return Ok(Done::Ok);
            }
            at_most(command, len_index + 1)?;
            let limit = if mode == 2 { 1460 } else { 730 };
            let len = required_int(command, len_index, 1, limit).map_err(|_| CmdError::Plain)?;
            let bytes = modem.take_rx(n, len as usize);
            let left = modem.ip.links[n].as_ref().map_or(0, |l| l.rx.len());
            let mut out = Vec::new();
            modem.framing().info(
                &[format!("+CIPRXGET: {mode},{head}{},{left}", bytes.len())],
                &mut out,
            );
            if mode == 2 {
                out.extend_from_slice(&bytes);
            } else {
                out.extend_from_slice(crate::sms::hex::encode_upper(&bytes).as_bytes());
            }
            out.extend_from_slice(b"\r\n");
            modem.write_dte(&out);
            Ok(Done::Ok)
        }
        _ => Err(CmdError::Plain),
    }
}

// ----- 27.007 packet domain -----

/// The context `cid`, if defined.
fn context(modem: &mut Modem, cid: u32) -> Option<&mut PdpContext> {
    modem.ip.contexts.iter_mut().find(|c| c.cid == cid)
}

/// `AT+CGDCONT`: define PDP contexts 1-3.
pub fn cgdcont(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => {
            modem
                .info
                .push("+CGDCONT: (1-3),\"IP\",,,(0,1),(0,1)".into());
            Ok(Done::Ok)
        }
        Form::Read => {
            let lines: Vec<String> = modem
                .ip
                .contexts
                .iter()
                .map(|c| {
                    format!(
                        "+CGDCONT: {},\"{}\",\"{}\",\"0.0.0.0\",0,0",
                        c.cid, c.pdp_type, c.apn
                    )
                })
                .collect();
            modem.info.extend(lines);
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            at_most(command, 6)?;
            let cid = required_int(command, 0, 1, 3)?;
            let Some(pdp_type) = str_param(command, 1) else {
                modem.ip.contexts.retain(|c| c.cid != cid);
                return Ok(Done::Ok);
            };
            let pdp_type = pdp_type.to_ascii_uppercase();
            if pdp_type != "IP" && pdp_type != "PPP" {
                return Err(CmdError::InvalidParameter);
            }
            int_param(command, 4, 0, 1)?;
            int_param(command, 5, 0, 1)?;
            let apn = str_param(command, 2).unwrap_or("").to_string();
            match context(modem, cid) {
                Some(c) => {
                    c.pdp_type = pdp_type;
                    c.apn = apn;
                }
                None => {
                    modem.ip.contexts.push(PdpContext {
                        cid,
                        pdp_type,
                        apn,
                        active: false,
                    });
                    modem.ip.contexts.sort_by_key(|c| c.cid);
                }
            }
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

/// `AT+CGACT`: activate or deactivate contexts (attaching as needed).
pub fn cgact(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => {
            modem.info.push("+CGACT: (0,1)".into());
            Ok(Done::Ok)
        }
        Form::Read => {
            let lines: Vec<String> = modem
                .ip
                .contexts
                .iter()
                .map(|c| format!("+CGACT: {},{}", c.cid, u8::from(c.active)))
                .collect();
            modem.info.extend(lines);
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            let activate = required_int(command, 0, 0, 1)? == 1;
            let cids: Vec<u32> = if params(command).len() > 1 {
                (1..params(command).len())
                    .map(|i| required_int(command, i, 1, 3))
                    .collect::<Result<_, _>>()?
            } else {
                modem.ip.contexts.iter().map(|c| c.cid).collect()
            };
            if activate {
                if !modem.radio.is_registered(&modem.config.network) {
                    return Err(CmdError::Cme(30));
                }
                modem.radio.gprs_attached = true;
                modem.radio.gprs_detached_by_user = false;
                modem.sync_registration();
            }
            for cid in cids {
                let Some(c) = context(modem, cid) else {
                    return Err(CmdError::InvalidParameter);
                };
                c.active = activate;
            }
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

/// `AT+CGPADDR[=cid]`: the address of active contexts.
pub fn cgpaddr(modem: &mut Modem, command: &Command) -> CmdResult {
    let cids: Vec<u32> = match command.form {
        Form::Test => {
            modem.info.push("+CGPADDR: (1-3)".into());
            return Ok(Done::Ok);
        }
        Form::Action => modem.ip.contexts.iter().map(|c| c.cid).collect(),
        Form::Set(_) => (0..params(command).len())
            .map(|i| required_int(command, i, 1, 3))
            .collect::<Result<_, _>>()?,
        _ => return Err(CmdError::UnsupportedForm),
    };
    let ip = modem.local_ip();
    for cid in cids {
        let active = modem.ip.contexts.iter().any(|c| c.cid == cid && c.active);
        let address = if active {
            ip.to_string()
        } else {
            "0.0.0.0".into()
        };
        modem.info.push(format!("+CGPADDR: {cid},\"{address}\""));
    }
    Ok(Done::Ok)
}

/// `AT+SAPBR`: the bearer profiles of the SIMCom application layer (HTTP, FTP…).
pub fn sapbr(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => {
            modem
                .info
                .push("+SAPBR: (0-4),(1-3),\"ConParamTag\",\"ConParamValue\"".into());
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            let action = required_int(command, 0, 0, 4).map_err(|_| CmdError::Plain)?;
            let cid = required_int(command, 1, 1, 3).map_err(|_| CmdError::Plain)?;
            let index = (cid - 1) as usize;
            match action {
                3 => {
                    at_most(command, 4)?;
                    let tag = str_param(command, 2)
                        .ok_or(CmdError::Plain)?
                        .to_ascii_uppercase();
                    let known = ["CONTYPE", "APN", "USER", "PWD", "PHONENUM", "RATE"];
                    if !known.contains(&tag.as_str()) {
                        return Err(CmdError::Plain);
                    }
                    let value = str_param(command, 3).unwrap_or("").to_string();
                    let profile = &mut modem.ip.sapbr[index];
                    profile.params.retain(|(t, _)| *t != tag);
                    profile.params.push((tag, value));
                    Ok(Done::Ok)
                }
                1 => {
                    at_most(command, 2)?;
                    if !packet_service(modem) || modem.ip.sapbr[index].open {
                        return Err(CmdError::Plain);
                    }
                    modem.ip.sapbr[index].open = true;
                    Ok(Done::Ok)
                }
                0 => {
                    at_most(command, 2)?;
                    if !modem.ip.sapbr[index].open {
                        return Err(CmdError::Plain);
                    }
                    modem.ip.sapbr[index].open = false;
                    Ok(Done::Ok)
                }
                2 => {
                    at_most(command, 2)?;
                    let (status, ip) = if modem.ip.sapbr[index].open {
                        (1, modem.local_ip().to_string())
                    } else {
                        (3, "0.0.0.0".to_string())
                    };
                    modem.info.push(format!("+SAPBR: {cid},{status},\"{ip}\""));
                    Ok(Done::Ok)
                }
                _ => {
                    at_most(command, 2)?;
                    let value = |tag: &str, default: &str| {
                        modem.ip.sapbr[index]
                            .params
                            .iter()
                            .find(|(t, _)| t == tag)
                            .map_or(default.to_string(), |(_, v)| v.clone())
                    };
                    let lines = vec![
                        "+SAPBR:".to_string(),
                        format!("CONTYPE: {}", value("CONTYPE", "GPRS")),
                        format!("APN: {}", value("APN", "")),
                        format!("PHONENUM: {}", value("PHONENUM", "")),
                        format!("USER: {}", value("USER", "")),
                        format!("PWD: {}", value("PWD", "")),
                        format!("RATE: {}", value("RATE", "2")),
                    ];
                    modem.info.extend(lines);
                    Ok(Done::Ok)
                }
            }
        }
        _ => Err(CmdError::Plain),
    }
}

// ----- V.250 data calls -----

/// `ATD`: `*99#` / `*99***<cid>#` start a packet data call (`CONNECT`); voice dialling is not
/// emulated (`NO CARRIER`).
pub fn dial(modem: &mut Modem, command: &Command) -> CmdResult {
    let Form::Dial(text) = &command.form else {
        return Err(CmdError::Plain);
    };
    let number = text.trim();
    let is_packet = number.starts_with("*99") && number.ends_with('#');
    if !is_packet {
        modem.explain(format!(
            "ATD{number}: outgoing voice calls are not emulated → NO CARRIER"
        ));
        return Ok(Done::Stop(Some(ResultCode::NoCarrier)));
    }
    if modem.data_link.is_some() {
        modem.explain("ATD: a data link is already up → ERROR");
        return Err(CmdError::Plain);
    }
    if !modem.radio.is_registered(&modem.config.network) {
        modem.explain("ATD*99#: no network → NO CARRIER");
        return Ok(Done::Stop(Some(ResultCode::NoCarrier)));
    }
    if !modem.radio.gprs_attached {
        modem.radio.gprs_attached = true;
        modem.radio.gprs_detached_by_user = false;
        modem.explain("ATD*99#: attaching to GPRS first");
        modem.sync_registration();
    }
    modem.explain(format!(
        "ATD{number}: packet data call up; the rest of the line is ignored"
    ));
    modem.write_result(&ResultCode::Connect);
    modem.enter_data_mode(DataLink::DialUp);
    Ok(Done::Stop(None))
}

/// `ATO[0]`: back to data mode with `CONNECT`, if a data link is held.
pub fn online(modem: &mut Modem, command: &Command) -> CmdResult {
    basic_value(command, &[0])?;
    if modem.resume_data_mode()
        && let Some(link) = modem.data_link
    {
        modem.write_result(&ResultCode::Connect);
        modem.enter_data_mode(link);
        return Ok(Done::Stop(None));
    }
    modem.explain("ATO: no data connection to return to");
    if modem.profile.online_without_connection_is_no_carrier {
        Ok(Done::Result(ResultCode::NoCarrier))
    } else {
        Err(CmdError::Plain)
    }
}

/// `ATH` on a held data link: the call or transparent connection ends; `OK`.
pub(crate) fn hang_up_data(modem: &mut Modem) {
    if modem.hang_up_data_link("ATH").is_some() {
        modem.explain("ATH: the data link is closed");
    }
}
