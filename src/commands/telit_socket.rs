//! Telit IP Easy socket commands: `#SD`, `#SO`, `#SH`, `#SS`, `#SI`, `#SL`, `#SLUDP`, `#SA`,
//! `#SRECV`, `#SSEND`, `#SSENDEXT` and the legacy `#SKTD`, `#SKTL`, `#SKTOP`.

use super::{CmdError, CmdResult, Done, at_most, int_param, params, required_int, str_param};
use crate::at::{Command, Form};
use crate::dte::ResultCode;
use crate::modem::Modem;
use crate::modem::data_mode::{DataLink, PortMode, Prompt, PromptPurpose};
use crate::modem::sockets::Transport;
use crate::modem::telit_ip::socket::{Dial, Listen, as_text};
use crate::modem::telit_ip::{CONN_IDS, LegacyTarget, Origin, SocketState, TelitSocket};
use crate::sms::hex;

// ----- helpers -----

/// `<connId>` 1..=6.
fn conn_param(command: &Command, index: usize) -> Result<usize, CmdError> {
    Ok(required_int(command, index, 1, CONN_IDS as u32)? as usize)
}

/// `<closureType>`: 0 (default) or 255.
fn closure_param(command: &Command, index: usize) -> Result<u32, CmdError> {
    match int_param(command, index, 0, 255)? {
        None | Some(0) => Ok(0),
        Some(255) => Ok(255),
        Some(_) => Err(CmdError::InvalidParameter),
    }
}

/// `<txProt>` / `<socket type>`: 0 TCP, 1 UDP.
fn transport_param(command: &Command, index: usize) -> Result<Option<Transport>, CmdError> {
    Ok(int_param(command, index, 0, 1)?.map(|t| {
        if t == 1 {
            Transport::Udp
        } else {
            Transport::Tcp
        }
    }))
}

fn socket(modem: &Modem, conn: usize) -> &TelitSocket {
    &modem.telit.sockets[conn - 1]
}

/// `=?` prints `line`; other forms than `Set` fail.
fn test_only(modem: &mut Modem, command: &Command, line: &str) -> Result<bool, CmdError> {
    match command.form {
        Form::Test => {
            modem.info.push(line.to_string());
            Ok(true)
        }
        Form::Set(_) => Ok(false),
        _ => Err(CmdError::UnsupportedForm),
    }
}

/// The context socket `conn` uses must be up through `#SGACT`/`#GPRS` (else 556).
fn context_of(modem: &mut Modem, conn: usize) -> Result<(u32, std::net::Ipv4Addr), CmdError> {
    let cid = modem.telit.config(conn).cid;
    match modem.telit.ip_easy_address(cid) {
        Some(ip) => Ok((cid, ip)),
        None => {
            modem.explain(format!(
                "socket {conn} uses context {cid}, which #SGACT has not activated → 556"
            ));
            Err(CmdError::Cme(556))
        }
    }
}

/// Socket `conn` must be closed (else 551).
fn must_be_closed(modem: &mut Modem, conn: usize) -> Result<(), CmdError> {
    if socket(modem, conn).state == SocketState::Closed {
        return Ok(());
    }
    modem.explain(format!("socket {conn} is not closed → 551"));
    Err(CmdError::Cme(551))
}

/// A command on socket `conn` must come from the instance that owns it.
fn must_own(modem: &mut Modem, conn: usize, code: u16) -> Result<(), CmdError> {
    let owner = socket(modem, conn).owner;
    if owner == modem.instance() {
        return Ok(());
    }
    modem.explain(format!(
        "socket {conn} belongs to instance {owner}, not {} → {code}",
        modem.instance()
    ));
    Err(CmdError::Cme(code))
}

// ----- dial, resume, close -----

/// `AT#SD=<connId>,<txProt>,<rPort>,<IPaddr>[,<closureType>[,<lPort>[,<connMode>]]]`:
/// `CONNECT` (online) or `OK` (command mode) once connected.
pub fn sd(modem: &mut Modem, command: &Command) -> CmdResult {
    if test_only(
        modem,
        command,
        "#SD: (1-6),(0,1),(1-65535),,(0,255),(1-65535),(0,1)",
    )? {
        return Ok(Done::Ok);
    }
    at_most(command, 7)?;
    let conn = conn_param(command, 0)?;
    let transport = transport_param(command, 1)?.ok_or(CmdError::InvalidParameter)?;
    let port = required_int(command, 2, 1, 65535)? as u16;
    let host = str_param(command, 3)
        .filter(|h| !h.is_empty())
        .ok_or(CmdError::InvalidParameter)?
        .to_string();
    let closure = closure_param(command, 4)?;
    // Clients pass 0 for "no local port".
    let local_port = int_param(command, 5, 0, 65535)?
        .filter(|&p| p != 0)
        .map(|p| p as u16);
    let online = int_param(command, 6, 0, 1)?.unwrap_or(0) == 0;
    let (cid, ip) = context_of(modem, conn)?;
    must_be_closed(modem, conn)?;
    let dial = Dial {
        transport,
        host,
        port,
        local_port,
        closure,
        online,
        origin: Origin::IpEasy,
    };
    modem.telit_dial(conn, cid, ip, dial);
    Ok(Done::Stop(None))
}

/// `AT#SO=<connId>`: back online on a suspended socket (`CONNECT`, then what arrived
/// meanwhile); `NO CARRIER` on a closed one.
pub fn so(modem: &mut Modem, command: &Command) -> CmdResult {
    if test_only(modem, command, "#SO: (1-6)")? {
        return Ok(Done::Ok);
    }
    at_most(command, 1)?;
    let conn = conn_param(command, 0)?;
    let s = socket(modem, conn);
    match s.state {
        SocketState::Closed | SocketState::Connecting => {
            modem.explain(format!("#SO: socket {conn} is not connected → NO CARRIER"));
            return Ok(Done::Result(ResultCode::NoCarrier));
        }
        SocketState::Suspended if s.gone && s.rx.is_empty() => {
            modem.explain(format!("#SO: socket {conn} was reset → NO CARRIER"));
            return Ok(Done::Result(ResultCode::NoCarrier));
        }
        SocketState::Suspended => must_own(modem, conn, 566)?,
        _ => {
            modem.explain(format!("#SO: socket {conn} cannot be resumed → 566"));
            return Err(CmdError::Cme(566));
        }
    }
    modem.write_result(&ResultCode::Connect);
    modem.enter_data_mode(DataLink::TelitSocket(conn));
    Ok(Done::Stop(None))
}

/// `AT#SH=<connId>`: close (also a listener, refusing a waiting connection); `OK` on a
/// closed socket too.
pub fn sh(modem: &mut Modem, command: &Command) -> CmdResult {
    if test_only(modem, command, "#SH: (1-6)")? {
        return Ok(Done::Ok);
    }
    at_most(command, 1)?;
    let conn = conn_param(command, 0)?;
    if socket(modem, conn).state == SocketState::Closed {
        return Ok(Done::Ok);
    }
    must_own(modem, conn, 551)?;
    modem.telit_close(conn, false, "#SH");
    Ok(Done::Ok)
}

// ----- status -----

/// `AT#SS[=<connId>]`: `#SS: <connId>,<state>[,<locIP>,<locPort>[,<remIP>,<remPort>]]`.
pub fn ss(modem: &mut Modem, command: &Command) -> CmdResult {
    per_socket(modem, command, "#SS: (1-6)", Modem::telit_ss_line)
}

/// `AT#SI[=<connId>]`: `#SI: <connId>,<sent>,<received>,<buff_in>,<ack_waiting>`.
pub fn si(modem: &mut Modem, command: &Command) -> CmdResult {
    per_socket(modem, command, "#SI: (1-6)", Modem::telit_si_line)
}

/// A line per socket, or the one asked for.
fn per_socket(
    modem: &mut Modem,
    command: &Command,
    test: &str,
    line: fn(&Modem, usize) -> String,
) -> CmdResult {
    match command.form {
        Form::Test => modem.info.push(test.to_string()),
        Form::Action => {
            let lines: Vec<String> = (1..=CONN_IDS).map(|conn| line(modem, conn)).collect();
            modem.info.extend(lines);
        }
        Form::Set(_) => {
            at_most(command, 1)?;
            let conn = conn_param(command, 0)?;
            let text = line(modem, conn);
            modem.info.push(text);
        }
        _ => return Err(CmdError::UnsupportedForm),
    }
    Ok(Done::Ok)
}

// ----- listen and accept -----

/// `AT#SL=<connId>,<listenState>,<listenPort>[,<closureType>]` (TCP).
pub fn sl(modem: &mut Modem, command: &Command) -> CmdResult {
    listen_command(modem, command, Transport::Tcp)
}

/// `AT#SLUDP=<connId>,<listenState>,<listenPort>` (UDP).
pub fn sludp(modem: &mut Modem, command: &Command) -> CmdResult {
    listen_command(modem, command, Transport::Udp)
}

fn listen_command(modem: &mut Modem, command: &Command, transport: Transport) -> CmdResult {
    let udp = transport == Transport::Udp;
    let name = if udp { "#SLUDP" } else { "#SL" };
    match command.form {
        Form::Test => {
            modem.info.push(if udp {
                "#SLUDP: (1-6),(0,1),(1-65535)".into()
            } else {
                "#SL: (1-6),(0,1),(1-65535),(0,255)".into()
            });
            return Ok(Done::Ok);
        }
        Form::Read => {
            // [UNSURE] format undocumented: one line per listening socket.
            let lines: Vec<String> = (1..=CONN_IDS)
                .filter_map(|conn| {
                    let s = socket(modem, conn);
                    let listening =
                        matches!(s.state, SocketState::Listening | SocketState::Incoming)
                            && s.origin == Origin::IpEasy
                            && s.transport == Some(transport);
                    let port = s.listen_port?;
                    listening.then(|| {
                        if udp {
                            format!("{name}: {conn},{port}")
                        } else {
                            format!("{name}: {conn},{port},{}", s.closure)
                        }
                    })
                })
                .collect();
            modem.info.extend(lines);
            return Ok(Done::Ok);
        }
        Form::Set(_) => {}
        _ => return Err(CmdError::UnsupportedForm),
    }
    at_most(command, if udp { 3 } else { 4 })?;
    let conn = conn_param(command, 0)?;
    let start = required_int(command, 1, 0, 1)? == 1;
    if !start {
        int_param(command, 2, 0, 65535)?;
        let s = socket(modem, conn);
        let listening = matches!(s.state, SocketState::Listening | SocketState::Incoming)
            && s.origin == Origin::IpEasy
            && s.transport == Some(transport);
        if listening {
            must_own(modem, conn, 551)?;
            modem.telit_close(conn, false, &format!("{name}={conn},0"));
        }
        return Ok(Done::Ok);
    }
    let port = required_int(command, 2, 1, 65535)? as u16;
    let closure = if udp { 0 } else { closure_param(command, 3)? };
    let (cid, ip) = context_of(modem, conn)?;
    let taken = (1..=CONN_IDS).find(|&other| {
        let s = socket(modem, other);
        matches!(s.state, SocketState::Listening | SocketState::Incoming)
            && s.transport == Some(transport)
            && s.listen_port == Some(port)
    });
    if let Some(other) = taken {
        modem.explain(format!(
            "port {port} is already listened on by socket {other} → 564"
        ));
        return Err(CmdError::Cme(564));
    }
    must_be_closed(modem, conn)?;
    let listen = Listen {
        transport,
        port,
        closure,
        origin: Origin::IpEasy,
    };
    modem.telit_listen(conn, cid, ip, listen);
    Ok(Done::Stop(None))
}

/// `AT#SA=<connId>[,<connMode>]`: accept the connection `SRING` announced.
pub fn sa(modem: &mut Modem, command: &Command) -> CmdResult {
    if test_only(modem, command, "#SA: (1-6),(0,1)")? {
        return Ok(Done::Ok);
    }
    at_most(command, 2)?;
    let conn = conn_param(command, 0)?;
    let online = int_param(command, 1, 0, 1)?.unwrap_or(0) == 0;
    if socket(modem, conn).state != SocketState::Incoming {
        modem.explain(format!("#SA: no connection waits on socket {conn} → 551"));
        return Err(CmdError::Cme(551));
    }
    modem.telit_accept(conn, online, true);
    Ok(Done::Stop(None))
}

// ----- command-mode data -----

/// `AT#SRECV=<connId>,<maxByte>`: `#SRECV: <connId>,<n>` and the bytes (hex with
/// recvDataMode=1) on the next line.
pub fn srecv(modem: &mut Modem, command: &Command) -> CmdResult {
    let max = modem.profile.telit_ip.max_recv;
    if test_only(modem, command, &format!("#SRECV: (1-6),(1-{max})"))? {
        return Ok(Done::Ok);
    }
    at_most(command, 2)?;
    let conn = conn_param(command, 0)?;
    let wanted = required_int(command, 1, 1, max as u32)? as usize;
    let s = socket(modem, conn);
    if s.state != SocketState::Suspended || s.rx.is_empty() {
        modem.explain(format!("#SRECV: nothing to read on socket {conn} → 551"));
        return Err(CmdError::Cme(551));
    }
    let hex = modem.telit.config(conn).recv_hex;
    let upper = modem.profile.telit_ip.hex_upper;
    let data = modem.telit_take_rx(conn, wanted);
    modem.info.push(format!("#SRECV: {conn},{}", data.len()));
    modem.info.push(if hex {
        hex::encode(&data, upper)
    } else {
        as_text(&data)
    });
    Ok(Done::Ok)
}

/// `AT#SSEND=<connId>`: the prompt; bytes up to Ctrl-Z are sent (hex pairs with
/// sendDataMode=1).
pub fn ssend(modem: &mut Modem, command: &Command) -> CmdResult {
    if test_only(modem, command, "#SSEND: (1-6)")? {
        return Ok(Done::Ok);
    }
    at_most(command, 1)?;
    let conn = conn_param(command, 0)?;
    let hex = modem.telit.config(conn).send_hex;
    let max = modem.profile.telit_ip.max_send;
    open_prompt(modem, conn, hex, None, if hex { 2 * max } else { max })
}

/// `AT#SSENDEXT=<connId>,<bytestosend>`: exactly that many raw bytes after the prompt.
pub fn ssendext(modem: &mut Modem, command: &Command) -> CmdResult {
    let max = modem.profile.telit_ip.max_send;
    if test_only(modem, command, &format!("#SSENDEXT: (1-6),(1-{max})"))? {
        return Ok(Done::Ok);
    }
    at_most(command, 2)?;
    let conn = conn_param(command, 0)?;
    let count = required_int(command, 1, 1, max as u32)? as usize;
    open_prompt(modem, conn, false, Some(count), max)
}

/// The send prompt on socket `conn`, once it is known to be connected.
fn open_prompt(
    modem: &mut Modem,
    conn: usize,
    hex: bool,
    fixed_len: Option<usize>,
    max: usize,
) -> CmdResult {
    let s = socket(modem, conn);
    if !s.is_connected() {
        modem.explain(format!("socket {conn} is not connected → 551"));
        return Err(CmdError::Cme(551));
    }
    if s.peer_closed || s.gone {
        modem.explain(format!("the peer of socket {conn} has closed → 561"));
        return Err(CmdError::Cme(561));
    }
    modem.port_mode = PortMode::Prompt(Prompt::new(
        PromptPurpose::TelitSend { conn, hex },
        fixed_len,
        max,
        modem.settings.echo,
    ));
    let prompt = modem.profile.telit_ip.send_prompt;
    modem.write_dte(prompt.as_bytes());
    modem.explain(match fixed_len {
        Some(len) => format!("prompt: the next {len} bytes go to socket {conn}"),
        None => format!("prompt: bytes up to Ctrl-Z go to socket {conn} (ESC cancels)"),
    });
    Ok(Done::Stop(None))
}

// ----- legacy single-socket commands (socket = the instance number) -----

/// The legacy socket of this instance (instance 1 → connId 1…).
fn legacy_conn(modem: &Modem) -> usize {
    usize::from(modem.instance()).clamp(1, CONN_IDS)
}

/// `AT#SKTD=[<type>,<port>,<addr>[,<closure>[,<lport>]]]`: dial online; `+++` closes.
pub fn sktd(modem: &mut Modem, command: &Command) -> CmdResult {
    let conn = legacy_conn(modem);
    match command.form {
        Form::Test => {
            modem
                .info
                .push("#SKTD: (0,1),(1-65535),,(0,255),(0-65535)".into());
            return Ok(Done::Ok);
        }
        Form::Read => {
            let last = socket(modem, conn).last_sktd.clone().unwrap_or_default();
            modem.info.push(format!(
                "#SKTD: {},{},\"{}\",{},{}",
                last.transport, last.port, last.address, last.closure, last.local_port
            ));
            return Ok(Done::Ok);
        }
        Form::Set(_) | Form::Action => {}
        _ => return Err(CmdError::UnsupportedForm),
    }
    at_most(command, 5)?;
    let last = socket(modem, conn).last_sktd.clone().unwrap_or_default();
    let transport = transport_param(command, 0)?.unwrap_or(if last.transport == 1 {
        Transport::Udp
    } else {
        Transport::Tcp
    });
    let port = int_param(command, 1, 1, 65535)?.unwrap_or(last.port);
    let address = str_param(command, 2)
        .map(str::to_string)
        .unwrap_or(last.address);
    let closure = if params(command).get(3).is_some_and(|p| !p.is_omitted()) {
        closure_param(command, 3)?
    } else {
        last.closure
    };
    let local_port = int_param(command, 4, 0, 65535)?.unwrap_or(last.local_port);
    if address.is_empty() || port == 0 || port > 65535 {
        return Err(CmdError::InvalidParameter);
    }
    let (cid, ip) = context_of(modem, conn)?;
    must_be_closed(modem, conn)?;
    let remembered = LegacyTarget {
        transport: u32::from(transport == Transport::Udp),
        port,
        address: address.clone(),
        closure,
        local_port,
    };
    let dial = Dial {
        transport,
        host: address,
        port: port as u16,
        local_port: u16::try_from(local_port).ok().filter(|&p| p != 0),
        closure,
        online: true,
        origin: Origin::LegacyDial,
    };
    modem.telit_dial(conn, cid, ip, dial);
    modem.telit.sockets[conn - 1].last_sktd = Some(remembered);
    Ok(Done::Stop(None))
}

/// `AT#SKTL=[<mode>,<type>,<port>[,<closure>]]`: listen; a caller the firewall lets in is
/// announced `+CONN FROM: <ip>` and taken online at once.
pub fn sktl(modem: &mut Modem, command: &Command) -> CmdResult {
    let conn = legacy_conn(modem);
    let listening = |s: &TelitSocket| {
        matches!(s.state, SocketState::Listening | SocketState::Incoming)
            && s.origin == Origin::LegacyListen
    };
    match command.form {
        Form::Test => {
            modem
                .info
                .push("#SKTL: (0,1),(0,1),(1-65535),(0,255)".into());
            return Ok(Done::Ok);
        }
        Form::Read => {
            let s = socket(modem, conn);
            let line = if listening(s) {
                format!(
                    "#SKTL: 1,{},{},{}",
                    u8::from(s.transport == Some(Transport::Udp)),
                    s.listen_port.unwrap_or(0),
                    s.closure
                )
            } else {
                "#SKTL: 0,0,0,0".into()
            };
            modem.info.push(line);
            return Ok(Done::Ok);
        }
        Form::Set(_) => {}
        _ => return Err(CmdError::UnsupportedForm),
    }
    at_most(command, 4)?;
    let start = required_int(command, 0, 0, 1)? == 1;
    if !start {
        if listening(socket(modem, conn)) {
            modem.telit_close(conn, false, "#SKTL=0");
        }
        return Ok(Done::Ok);
    }
    let transport = transport_param(command, 1)?.unwrap_or(Transport::Tcp);
    let port = required_int(command, 2, 1, 65535)? as u16;
    let closure = closure_param(command, 3)?;
    let (cid, ip) = context_of(modem, conn)?;
    must_be_closed(modem, conn)?;
    let listen = Listen {
        transport,
        port,
        closure,
        origin: Origin::LegacyListen,
    };
    modem.telit_listen(conn, cid, ip, listen);
    Ok(Done::Stop(None))
}

/// `AT#SKTOP`: context 1 up if needed, then the `#SKTSET` target online: `CONNECT` or
/// `NO CARRIER`. Closing the socket takes down the context it brought up.
pub fn sktop(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => return Ok(Done::Ok),
        Form::Action => {}
        _ => return Err(CmdError::UnsupportedForm),
    }
    let conn = legacy_conn(modem);
    must_be_closed(modem, conn)?;
    let target = modem.telit.legacy_target.clone();
    let port = u16::try_from(target.port).ok().filter(|&p| p != 0);
    let (Some(port), false) = (port, target.address.is_empty()) else {
        modem.explain("#SKTOP: no #SKTSET address/port to dial → NO CARRIER");
        return Ok(Done::Result(ResultCode::NoCarrier));
    };
    let Ok(activated) = modem.telit_legacy_activate() else {
        modem.explain("#SKTOP: no GPRS service, context 1 cannot come up → NO CARRIER");
        return Ok(Done::Result(ResultCode::NoCarrier));
    };
    let Some(ip) = modem.telit.ip_easy_address(1) else {
        return Ok(Done::Result(ResultCode::NoCarrier));
    };
    let transport = if target.transport == 1 {
        Transport::Udp
    } else {
        Transport::Tcp
    };
    let dial = Dial {
        transport,
        host: target.address,
        port,
        local_port: u16::try_from(target.local_port).ok().filter(|&p| p != 0),
        closure: target.closure,
        online: true,
        origin: Origin::LegacyOpen { activated },
    };
    modem.telit_dial(conn, 1, ip, dial);
    Ok(Done::Stop(None))
}
