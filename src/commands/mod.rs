//! The command table: every command a model answers, its family and its handler.
//! `AT+CLAC`, the README's command list and the unknown-command path all read this one table.

mod atrun;
mod basic;
mod call;
mod identity;
mod mux;
mod network;
mod simcom_ip;
mod sms;
mod sms_store;
mod telit_context;
mod telit_moni;
mod telit_radio;
mod telit_script;
mod telit_socket;

use crate::at::{Command, Form, Param};
use crate::dte::ResultCode;
use crate::modem::{Modem, Profile};

/// A group of commands a profile enables as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// ITU-T V.250 basic commands (`E`, `Q`, `V`, `S`, `&F`…).
    V250,
    /// 3GPP 27.007/27.005 commands every GSM module has.
    Gsm27007,
    /// SIMCom proprietary commands (`+CLTS`, `+CPOWD`, `+CCID`…).
    Simcom,
    /// Telit proprietary commands (`#SELINT`, `#CGMM`…).
    Telit,
    /// Telit IP Easy: its contexts (`+CGDCONT` 1..5, `#SGACT`) and sockets (`#SD`…).
    TelitIp,
}

/// How a command that succeeded ends its part of the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    /// Go on; `OK` at the end of the line.
    Ok,
    /// No final result when this is the last command (`+CIFSR`).
    NoFinalIfLast,
    /// A text replacing `OK` when last (`SHUT OK`).
    Final(String),
    /// A result code replacing `OK` (`NO CARRIER` for `ATO` on Telit).
    Result(ResultCode),
    /// End the line here with this result (or none) and ignore the rest (`+CPOWD`, `+CFUN=1,1`).
    Stop(Option<ResultCode>),
}

/// Why a command failed; the modem turns it into `ERROR` or `+CME ERROR` per `+CMEE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmdError {
    /// Unknown command or malformed line (`+CME ERROR: 100` / `unknown`).
    Unknown,
    /// The command exists but not in this form (`AT+CGMI?`).
    UnsupportedForm,
    /// A parameter is missing, not a number or out of range.
    InvalidParameter,
    /// A V.250 basic command's plain `ERROR`, whatever `+CMEE` says.
    Plain,
    /// A specific `+CME ERROR` code.
    Cme(u16),
    /// A `+CMS ERROR` code (27.005): printed whatever `+CMEE` says.
    Cms(u16),
}

impl CmdError {
    pub fn reason(&self) -> String {
        match self {
            CmdError::Unknown => "unknown command".into(),
            CmdError::UnsupportedForm => "this form of the command is not supported".into(),
            CmdError::InvalidParameter => "invalid parameter".into(),
            CmdError::Plain => "invalid value".into(),
            CmdError::Cme(code) => format!("+CME ERROR {code}"),
            CmdError::Cms(code) => format!("+CMS ERROR {code}"),
        }
    }
}

pub type CmdResult = Result<Done, CmdError>;
pub type Handler = fn(&mut Modem, &Command) -> CmdResult;

/// One row of the command table.
pub struct Entry {
    /// As typed after `AT`, upper case: `E`, `&W`, `S`, `+CSQ`, `#SELINT`.
    pub name: &'static str,
    pub family: Family,
    pub handler: Handler,
    /// One line for the README.
    pub summary: &'static str,
}

macro_rules! entry {
    ($name:expr, $family:ident, $handler:path, $summary:expr) => {
        Entry {
            name: $name,
            family: Family::$family,
            handler: $handler,
            summary: $summary,
        }
    };
}

/// Every command simodem knows, in `+CLAC` order.
pub static TABLE: &[Entry] = &[
    entry!("&C", V250, basic::ampersand_c, "DCD mode"),
    entry!("&D", V250, basic::ampersand_d, "DTR mode"),
    entry!("&F", V250, basic::ampersand_f, "factory settings"),
    entry!("&K", V250, basic::ampersand_k, "flow control"),
    entry!("&V", V250, basic::ampersand_v, "show profiles"),
    entry!("&W", V250, basic::ampersand_w, "store profile"),
    entry!("E", V250, basic::echo, "command echo"),
    entry!("A", V250, call::answer, "answer a call"),
    entry!("D", V250, simcom_ip::dial, "dial (*99# packet data)"),
    entry!("H", V250, call::hook, "hang up"),
    entry!("I", V250, identity::ati, "identification"),
    entry!("L", V250, basic::speaker_volume, "speaker volume"),
    entry!("M", V250, basic::speaker_mode, "speaker mode"),
    entry!("O", V250, simcom_ip::online, "return to data mode"),
    entry!("Q", V250, basic::quiet, "result code suppression"),
    entry!("S", V250, basic::s_register, "S-registers"),
    entry!("V", V250, basic::verbose, "verbose result codes"),
    entry!("X", V250, basic::x_level, "result code set"),
    entry!("Z", V250, basic::reset_profile, "restore stored profile"),
    entry!("+CBC", Gsm27007, network::cbc, "battery charge"),
    entry!("+CCID", Simcom, identity::ccid, "SIM ICCID"),
    entry!("+CCLK", Gsm27007, network::cclk, "real-time clock"),
    entry!("+CFUN", Gsm27007, network::cfun, "phone functionality"),
    entry!("+CGATT", Gsm27007, network::cgatt, "GPRS attach"),
    entry!("+CGCLASS", Telit, telit_radio::cgclass, "GPRS mobile class"),
    entry!("+CGMI", Gsm27007, identity::manufacturer, "manufacturer"),
    entry!("+CGMM", Gsm27007, identity::model, "model"),
    entry!("+CGMR", Gsm27007, identity::revision, "revision"),
    entry!("+CGREG", Gsm27007, network::cgreg, "GPRS registration"),
    entry!("+CGSN", Gsm27007, identity::imei, "IMEI"),
    entry!(
        "+CGSMS",
        Telit,
        telit_radio::cgsms,
        "SMS service over GPRS or GSM"
    ),
    entry!("+CIMI", Gsm27007, identity::imsi, "IMSI"),
    entry!("+CDNSCFG", Simcom, simcom_ip::cdnscfg, "DNS servers"),
    entry!(
        "+CDNSGIP",
        Simcom,
        simcom_ip::cdnsgip,
        "resolve a host name"
    ),
    entry!("+CGACT", Simcom, simcom_ip::cgact, "PDP context activation"),
    entry!(
        "+CGACT",
        TelitIp,
        telit_context::cgact,
        "PDP context activation"
    ),
    entry!(
        "+CGDCONT",
        Simcom,
        simcom_ip::cgdcont,
        "PDP context definition"
    ),
    entry!(
        "+CGDCONT",
        TelitIp,
        telit_context::cgdcont,
        "PDP context definition"
    ),
    entry!("+CGPADDR", Simcom, simcom_ip::cgpaddr, "PDP address"),
    entry!("+CGPADDR", TelitIp, telit_context::cgpaddr, "PDP address"),
    entry!("+CIFSR", Simcom, simcom_ip::cifsr, "local IP address"),
    entry!(
        "+CIICR",
        Simcom,
        simcom_ip::ciicr,
        "bring up the GPRS context"
    ),
    entry!(
        "+CIPACK",
        Simcom,
        simcom_ip::cipack,
        "data sent and acknowledged"
    ),
    entry!("+CIPATS", Simcom, simcom_ip::cipats, "auto-send timer"),
    entry!(
        "+CIPCCFG",
        Simcom,
        simcom_ip::cipccfg,
        "transparent mode configuration"
    ),
    entry!(
        "+CIPCLOSE",
        Simcom,
        simcom_ip::cipclose,
        "close a connection"
    ),
    entry!(
        "+CIPCSGP",
        Simcom,
        simcom_ip::cipcsgp,
        "connection mode and APN"
    ),
    entry!("+CIPDPDP", Simcom, simcom_ip::cipdpdp, "PDP detection"),
    entry!(
        "+CIPHEAD",
        Simcom,
        simcom_ip::ciphead,
        "+IPD header on received data"
    ),
    entry!("+CIPMODE", Simcom, simcom_ip::cipmode, "transparent mode"),
    entry!("+CIPMUX", Simcom, simcom_ip::cipmux, "multiple connections"),
    entry!("+CIPQSEND", Simcom, simcom_ip::cipqsend, "quick send"),
    entry!("+CIPRXGET", Simcom, simcom_ip::ciprxget, "manual receive"),
    entry!(
        "+CIPSCONT",
        Simcom,
        simcom_ip::cipscont,
        "save TCP/IP settings"
    ),
    entry!("+CIPSEND", Simcom, simcom_ip::cipsend, "send data"),
    entry!("+CIPSERVER", Simcom, simcom_ip::cipserver, "TCP server"),
    entry!(
        "+CIPSHOWTP",
        Simcom,
        simcom_ip::cipshowtp,
        "protocol in +IPD"
    ),
    entry!(
        "+CIPSHUT",
        Simcom,
        simcom_ip::cipshut,
        "shut every connection"
    ),
    entry!("+CIPSPRT", Simcom, simcom_ip::cipsprt, "send prompt"),
    entry!(
        "+CIPSRIP",
        Simcom,
        simcom_ip::cipsrip,
        "show sender address"
    ),
    entry!(
        "+CIPSTART",
        Simcom,
        simcom_ip::cipstart,
        "open a connection"
    ),
    entry!(
        "+CIPSTATUS",
        Simcom,
        simcom_ip::cipstatus,
        "connection status"
    ),
    entry!("+CIURC", Simcom, basic::ciurc, "Call Ready URC"),
    entry!("+CLAC", Gsm27007, identity::clac, "list commands"),
    entry!("+CHUP", Gsm27007, call::chup, "hang up"),
    entry!("+CLCC", Gsm27007, call::clcc, "list calls"),
    entry!("+CLIP", Gsm27007, sms::clip, "caller id"),
    entry!("+CLPORT", Simcom, simcom_ip::clport, "local port"),
    entry!("+CLTS", Simcom, network::clts, "network time sync"),
    entry!("+CMEE", Gsm27007, basic::cmee, "error format"),
    entry!("+CMGD", Gsm27007, sms_store::cmgd, "delete SMS"),
    entry!("+CMGDA", Simcom, sms_store::cmgda, "delete SMS by type"),
    entry!("+CMGF", Gsm27007, sms::cmgf, "SMS format"),
    entry!("+CMGL", Gsm27007, sms_store::cmgl, "list SMS"),
    entry!("+CMGR", Gsm27007, sms_store::cmgr, "read SMS"),
    entry!("+CMGS", Gsm27007, sms_store::cmgs, "send SMS"),
    entry!("+CMGW", Gsm27007, sms_store::cmgw, "write SMS to memory"),
    entry!("+CMSS", Gsm27007, sms_store::cmss, "send SMS from memory"),
    entry!("+CMUX", Telit, mux::cmux, "start the CMUX multiplexer"),
    entry!("+CNMA", Gsm27007, sms::cnma, "acknowledge a direct SMS"),
    entry!("+CNMI", Gsm27007, sms::cnmi, "new SMS indications"),
    entry!("+CNUM", Gsm27007, identity::cnum, "own number"),
    entry!("+COPS", Gsm27007, network::cops, "operator selection"),
    entry!("+CPAS", Gsm27007, call::cpas, "activity status"),
    entry!("+CPIN", Gsm27007, network::cpin, "SIM PIN"),
    entry!("+CPMS", Gsm27007, sms::cpms, "SMS memories"),
    entry!("+CPOWD", Simcom, network::cpowd, "power down"),
    entry!("+CRC", Gsm27007, sms::crc, "extended ring"),
    entry!("+CREG", Gsm27007, network::creg, "network registration"),
    entry!("+CRES", Gsm27007, sms::csas_cres, "restore SMS settings"),
    entry!("+CSAS", Gsm27007, sms::csas_cres, "save SMS settings"),
    entry!("+CSCA", Gsm27007, sms::csca, "SMS centre"),
    entry!("+CSCLK", Simcom, basic::csclk, "slow clock"),
    entry!("+CSCS", Gsm27007, basic::cscs, "character set"),
    entry!("+CSDH", Gsm27007, sms::csdh, "show SMS text-mode header"),
    entry!("+CSMINS", Simcom, network::csmins, "SIM inserted"),
    entry!("+CSMP", Gsm27007, sms::csmp, "SMS text parameters"),
    entry!("+CSMS", Gsm27007, sms::csms, "SMS service"),
    entry!("+CSPN", Simcom, network::cspn, "service provider name"),
    entry!("+CSQ", Gsm27007, network::csq, "signal quality"),
    entry!("+CSTT", Simcom, simcom_ip::cstt, "APN, user, password"),
    entry!("+CVHU", Simcom, sms::cvhu, "voice hang-up"),
    entry!("+GCAP", Gsm27007, identity::gcap, "capabilities"),
    entry!("+GMI", Gsm27007, identity::manufacturer, "manufacturer"),
    entry!("+GMM", Gsm27007, identity::model, "model"),
    entry!("+GMR", Gsm27007, identity::revision, "revision"),
    entry!("+GOI", Simcom, identity::goi, "object id"),
    entry!("+GSN", Gsm27007, identity::gsn, "serial number"),
    entry!("+GSV", Simcom, identity::gsv, "product information"),
    entry!("+ICF", Gsm27007, basic::icf, "character framing"),
    entry!("+IFC", Gsm27007, basic::ifc, "flow control"),
    entry!("+IPR", Gsm27007, basic::ipr, "baud rate"),
    entry!("+SAPBR", Simcom, simcom_ip::sapbr, "bearer profiles"),
    entry!(
        "#ATRUNDELAY",
        TelitIp,
        atrun::atrundelay,
        "ATRUN delay before each command"
    ),
    entry!("#BND", Telit, telit_radio::bnd, "GSM band"),
    entry!("#CCID", Telit, identity::telit_ccid, "SIM ICCID"),
    entry!("#CGMI", Telit, identity::telit_manufacturer, "manufacturer"),
    entry!("#CGMM", Telit, identity::telit_model, "model"),
    entry!("#CGMR", Telit, identity::telit_revision, "revision"),
    entry!(
        "#CGPADDR",
        TelitIp,
        telit_context::hash_cgpaddr,
        "PDP address"
    ),
    entry!("#CGSN", Telit, identity::telit_imei, "IMEI"),
    entry!("#DSCRIPT", Telit, telit_script::dscript, "delete a script"),
    entry!(
        "#DSTO",
        TelitIp,
        telit_context::dsto,
        "data sending timeout (legacy)"
    ),
    entry!("#E2ESC", TelitIp, telit_context::e2esc, "escape guard time"),
    entry!("#ESCRIPT", Telit, telit_script::escript, "start-up script"),
    entry!(
        "#EXECSCR",
        Telit,
        telit_script::execscr,
        "run the script now"
    ),
    entry!("#FRWL", TelitIp, telit_context::frwl, "firewall"),
    entry!("#GPIO", Telit, telit_script::gpio, "GPIO pins"),
    entry!(
        "#GPRS",
        TelitIp,
        telit_context::gprs,
        "context 1 activation"
    ),
    entry!(
        "#LCSCRIPT",
        Telit,
        telit_script::lcscript,
        "list scripts with CRC16"
    ),
    entry!("#LSCRIPT", Telit, telit_script::lscript, "list scripts"),
    entry!("#MONI", Telit, telit_moni::moni, "cell monitor"),
    entry!(
        "#PASSW",
        TelitIp,
        telit_context::passw,
        "authentication password"
    ),
    entry!(
        "#PKTSZ",
        TelitIp,
        telit_context::pktsz,
        "packet size (legacy)"
    ),
    entry!("#QDNS", TelitIp, telit_context::qdns, "resolve a host name"),
    entry!("#REBOOT", Telit, network::telit_reboot, "reboot"),
    entry!("#RSCRIPT", Telit, telit_script::rscript, "read a script"),
    entry!("#SA", TelitIp, telit_socket::sa, "accept a connection"),
    entry!(
        "#SCFG",
        TelitIp,
        telit_context::scfg,
        "socket configuration"
    ),
    entry!(
        "#SCFGEXT",
        TelitIp,
        telit_context::scfgext,
        "socket configuration (extended)"
    ),
    entry!(
        "#SCFGEXT2",
        TelitIp,
        telit_context::scfgext2,
        "socket configuration (extended 2)"
    ),
    entry!("#SD", TelitIp, telit_socket::sd, "socket dial"),
    entry!("#SELINT", Telit, basic::selint, "interface style"),
    entry!(
        "#SGACT",
        TelitIp,
        telit_context::sgact,
        "context activation"
    ),
    entry!(
        "#SGACTAUTH",
        TelitIp,
        telit_context::sgactauth,
        "authentication type"
    ),
    entry!(
        "#SGACTCFG",
        TelitIp,
        telit_context::sgactcfg,
        "automatic context activation"
    ),
    entry!("#SH", TelitIp, telit_socket::sh, "socket shutdown"),
    entry!("#SHDN", Telit, network::telit_shutdown, "power off"),
    entry!("#SI", TelitIp, telit_socket::si, "socket information"),
    entry!("#SIMDET", Telit, telit_radio::simdet, "SIM detection mode"),
    entry!(
        "#SKIPESC",
        TelitIp,
        telit_context::skipesc,
        "keep +++ from the peer"
    ),
    entry!(
        "#SKTCT",
        TelitIp,
        telit_context::sktct,
        "connect timeout (legacy)"
    ),
    entry!("#SKTD", TelitIp, telit_socket::sktd, "legacy socket dial"),
    entry!("#SKTL", TelitIp, telit_socket::sktl, "legacy socket listen"),
    entry!(
        "#SKTOP",
        TelitIp,
        telit_socket::sktop,
        "legacy socket open (#SKTSET target)"
    ),
    entry!(
        "#SKTRST",
        TelitIp,
        telit_context::sktrst,
        "legacy socket parameters to factory"
    ),
    entry!(
        "#SKTSAV",
        TelitIp,
        telit_context::sktsav,
        "save legacy socket parameters"
    ),
    entry!(
        "#SKTSET",
        TelitIp,
        telit_context::sktset,
        "legacy socket target"
    ),
    entry!(
        "#SKTTO",
        TelitIp,
        telit_context::sktto,
        "inactivity timeout (legacy)"
    ),
    entry!("#SL", TelitIp, telit_socket::sl, "socket listen (TCP)"),
    entry!(
        "#SLUDP",
        TelitIp,
        telit_socket::sludp,
        "socket listen (UDP)"
    ),
    entry!("#SMSATRUN", TelitIp, atrun::smsatrun, "SMS ATRUN on/off"),
    entry!(
        "#SMSATRUNCFG",
        TelitIp,
        atrun::smsatruncfg,
        "SMS ATRUN instance, URC, timeout"
    ),
    entry!("#SMSATWL", TelitIp, atrun::smsatwl, "SMS ATRUN white list"),
    entry!(
        "#SMSMODE",
        Telit,
        telit_script::smsmode,
        "improved SMS commands mode"
    ),
    entry!("#SO", TelitIp, telit_socket::so, "socket restore (online)"),
    entry!(
        "#SRECV",
        TelitIp,
        telit_socket::srecv,
        "receive in command mode"
    ),
    entry!("#SS", TelitIp, telit_socket::ss, "socket status"),
    entry!(
        "#SSEND",
        TelitIp,
        telit_socket::ssend,
        "send in command mode"
    ),
    entry!(
        "#SSENDEXT",
        TelitIp,
        telit_socket::ssendext,
        "send raw bytes in command mode"
    ),
    entry!(
        "#STARTMODESCR",
        Telit,
        telit_script::startmodescr,
        "script start mode"
    ),
    entry!(
        "#TCPATCMDSEQ",
        TelitIp,
        atrun::tcpatcmdseq,
        "TCP ATRUN command queueing"
    ),
    entry!(
        "#TCPATCONSER",
        TelitIp,
        atrun::tcpatconser,
        "TCP ATRUN serial bridge"
    ),
    entry!(
        "#TCPATRUNAUTH",
        TelitIp,
        atrun::tcpatrunauth,
        "TCP ATRUN users"
    ),
    entry!(
        "#TCPATRUNCFG",
        TelitIp,
        atrun::tcpatruncfg,
        "TCP ATRUN configuration"
    ),
    entry!(
        "#TCPATRUNCLOSE",
        TelitIp,
        atrun::tcpatrunclose,
        "close the TCP ATRUN connection"
    ),
    entry!(
        "#TCPATRUND",
        TelitIp,
        atrun::tcpatrund,
        "TCP ATRUN client mode"
    ),
    entry!(
        "#TCPATRUNFRWL",
        TelitIp,
        atrun::tcpatrunfrwl,
        "TCP ATRUN firewall"
    ),
    entry!(
        "#TCPATRUNL",
        TelitIp,
        atrun::tcpatrunl,
        "TCP ATRUN server mode"
    ),
    entry!(
        "#USERID",
        TelitIp,
        telit_context::userid,
        "authentication user"
    ),
    entry!("#WSCRIPT", Telit, telit_script::wscript, "write a script"),
];

/// The entry for `name` if the profile answers it.
pub fn lookup(profile: &Profile, name: &str) -> Option<&'static Entry> {
    TABLE
        .iter()
        .find(|e| e.name == name && profile.has_family(e.family))
}

/// The commands a profile answers, in table order.
pub fn supported(profile: &Profile) -> impl Iterator<Item = &'static Entry> + '_ {
    TABLE.iter().filter(|e| profile.has_family(e.family))
}

/// The `+CLAC` lines for a profile: `AT` + name, S-registers one by one.
pub fn clac_lines(profile: &Profile) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for entry in supported(profile) {
        let line = format!("AT{}", entry.name);
        if lines.contains(&line) {
            continue;
        }
        if entry.name == "S" {
            lines.extend(
                profile
                    .s_registers
                    .iter()
                    .map(|r| format!("ATS{}", r.index)),
            );
        } else {
            lines.push(line);
        }
    }
    lines
}

/// The README's command table: one row per command, a column per model.
pub fn markdown_table() -> String {
    use crate::modem::profile::PROFILES;
    let mut out = String::from("| command | what it does |");
    for profile in PROFILES {
        out.push_str(&format!(" {} |", profile.id));
    }
    out.push_str("\n|---|---|");
    for _ in PROFILES {
        out.push_str("---|");
    }
    out.push('\n');
    // One row per name: a name several families define (`+CGACT`) is one command to a reader.
    for (index, entry) in TABLE.iter().enumerate() {
        if TABLE[..index].iter().any(|e| e.name == entry.name) {
            continue;
        }
        let shown = match entry.name {
            "S" => "`ATSn?` `ATSn=`".to_string(),
            name => format!("`AT{name}`"),
        };
        out.push_str(&format!("| {shown} | {} |", entry.summary));
        for profile in PROFILES {
            let answered = TABLE
                .iter()
                .any(|e| e.name == entry.name && profile.has_family(e.family));
            out.push_str(if answered { " yes |" } else { " — |" });
        }
        out.push('\n');
    }
    out
}

/// Where passwords travel on the serial line: in a command's parameters (`name=…`) or in an
/// answer's fields (`name: …`). `index` is the parameter holding the secret; `only_if` names
/// another parameter and the value it must have (a `#SMSATWL` entry of type 1 is a password,
/// type 0 a phone number).
struct SecretField {
    name: &'static str,
    answer: bool,
    index: usize,
    only_if: Option<(usize, &'static str)>,
}

const SECRET_FIELDS: &[SecretField] = &[
    SecretField {
        name: "#PASSW",
        answer: false,
        index: 0,
        only_if: None,
    },
    SecretField {
        name: "#SGACT",
        answer: false,
        index: 3,
        only_if: None,
    },
    SecretField {
        name: "+CSTT",
        answer: false,
        index: 2,
        only_if: None,
    },
    SecretField {
        name: "#SMSATWL",
        answer: false,
        index: 3,
        only_if: Some((2, "1")),
    },
    SecretField {
        name: "#SMSATWL",
        answer: true,
        index: 1,
        only_if: Some((0, "1")),
    },
    SecretField {
        name: "#TCPATRUNAUTH",
        answer: false,
        index: 2,
        only_if: None,
    },
    SecretField {
        name: "#TCPATRUNAUTH",
        answer: true,
        index: 1,
        only_if: None,
    },
];

/// Whether parameter `index` of `name` is a password, kept out of explanations.
pub(crate) fn is_secret(name: &str, index: usize) -> bool {
    SECRET_FIELDS
        .iter()
        .any(|f| !f.answer && f.name == name && f.index == index)
}

/// `text` (bytes on the serial line) with every password replaced by `***`, for the trace;
/// `None` when there is none. Commands are found in any letter case, answers as printed.
pub fn mask_secrets(bytes: &[u8]) -> Option<Vec<u8>> {
    let text = String::from_utf8_lossy(bytes);
    let upper = text.to_ascii_uppercase();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for field in SECRET_FIELDS {
        let marker = format!("{}{}", field.name, if field.answer { ": " } else { "=" });
        let mut from = 0;
        while let Some(found) = upper[from..].find(&marker) {
            let start = from + found + marker.len();
            from = start;
            let params = split_params(&text[start..]);
            let wanted = |i: usize, value: &str| {
                params
                    .get(i)
                    .is_some_and(|&(a, b)| text[start + a..start + b].trim_matches('"') == value)
            };
            if field.only_if.is_some_and(|(i, value)| !wanted(i, value)) {
                continue;
            }
            if let Some(&(a, b)) = params.get(field.index)
                && b > a
            {
                spans.push((start + a, start + b));
            }
        }
    }
    if spans.is_empty() {
        return None;
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (a, b) in spans {
        if a < at {
            continue;
        }
        out.push_str(&text[at..a]);
        let quoted = text[a..b].starts_with('"');
        out.push_str(if quoted { "\"***\"" } else { "***" });
        at = b;
    }
    out.push_str(&text[at..]);
    Some(out.into_bytes())
}

/// Byte ranges of the comma-separated parameters at the start of `text`, up to the end of the
/// line or command (`\r`, `\n`, `;` outside quotes); quotes stay inside a range.
fn split_params(text: &str) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                ranges.push((start, i));
                start = i + 1;
            }
            '\r' | '\n' | ';' if !quoted => {
                ranges.push((start, i));
                return ranges;
            }
            _ => {}
        }
    }
    ranges.push((start, text.len()));
    ranges
}

/// The text of a `+CME ERROR` code under `+CMEE=2`.
pub fn cme_text(profile: &Profile, code: u16) -> &'static str {
    if let Some((_, text)) = profile.cme_text_overrides.iter().find(|(c, _)| *c == code) {
        return text;
    }
    match code {
        0 => "phone failure",
        1 => "no connection to phone",
        2 => "phone-adaptor link reserved",
        3 => "operation not allowed",
        4 => "operation not supported",
        5 => "PH-SIM PIN required",
        10 => "SIM not inserted",
        11 => "SIM PIN required",
        12 => "SIM PUK required",
        13 => "SIM failure",
        14 => "SIM busy",
        15 => "SIM wrong",
        16 => "incorrect password",
        17 => "SIM PIN2 required",
        18 => "SIM PUK2 required",
        20 => "memory full",
        21 => "invalid index",
        22 => "not found",
        23 => "memory failure",
        24 => "text string too long",
        25 => "invalid characters in text string",
        26 => "dial string too long",
        27 => "invalid characters in dial string",
        30 => "no network service",
        31 => "network timeout",
        32 => "network not allowed - emergency call only",
        100 => "unknown",
        // Telit IP Easy (SELINT 2).
        550 => "generic undocumented error",
        551 => "wrong state",
        552 => "wrong mode",
        553 => "context already activated",
        554 => "stack already active",
        555 => "activation failed",
        556 => "context not opened",
        557 => "cannot setup socket",
        558 => "cannot resolve DN",
        559 => "time-out in opening socket",
        560 => "cannot open socket",
        561 => "remote disconnected or time-out",
        562 => "connection failed",
        563 => "tx error",
        564 => "already listening",
        566 => "can not resume socket",
        567 => "wrong APN",
        568 => "wrong PDP",
        569 => "service not supported",
        570 => "QOS not accepted",
        571 => "NSAPI already used",
        572 => "LLC or SNDCP failure",
        573 => "network reject",
        765 => "invalid input value",
        766 => "Unsupported mode",
        767 => "Operation failed",
        _ => "unknown",
    }
}

// ----- parameter helpers shared by the handler files -----

/// The parameters of a set command (empty for other forms).
pub(crate) fn params(command: &Command) -> &[Param] {
    match &command.form {
        Form::Set(params) => params,
        _ => &[],
    }
}

/// Parameter `index` as a number within `min..=max`; `None` when omitted or absent.
pub(crate) fn int_param(
    command: &Command,
    index: usize,
    min: u32,
    max: u32,
) -> Result<Option<u32>, CmdError> {
    let Some(param) = params(command).get(index) else {
        return Ok(None);
    };
    if param.is_omitted() {
        return Ok(None);
    }
    if param.quoted {
        return Err(CmdError::InvalidParameter);
    }
    let value: u32 = param.text.parse().map_err(|_| CmdError::InvalidParameter)?;
    if value < min || value > max {
        return Err(CmdError::InvalidParameter);
    }
    Ok(Some(value))
}

/// A required numeric parameter.
pub(crate) fn required_int(
    command: &Command,
    index: usize,
    min: u32,
    max: u32,
) -> Result<u32, CmdError> {
    int_param(command, index, min, max)?.ok_or(CmdError::InvalidParameter)
}

/// Parameter `index` as text (quoted or not); `None` when omitted or absent.
pub(crate) fn str_param(command: &Command, index: usize) -> Option<&str> {
    params(command)
        .get(index)
        .filter(|p| !p.is_omitted())
        .map(|p| p.text.as_str())
}

/// `=?` prints `test`, `?` prints `read`; any other form fails with `otherwise`.
pub(crate) fn test_or_read(
    modem: &mut Modem,
    command: &Command,
    test: &str,
    read: String,
    otherwise: CmdError,
) -> CmdResult {
    match command.form {
        Form::Test => {
            modem.info.push(test.to_string());
            Ok(Done::Ok)
        }
        Form::Read => {
            modem.info.push(read);
            Ok(Done::Ok)
        }
        _ => Err(otherwise),
    }
}

/// Fails when more than `max` parameters were given.
pub(crate) fn at_most(command: &Command, max: usize) -> Result<(), CmdError> {
    if params(command).len() > max {
        Err(CmdError::InvalidParameter)
    } else {
        Ok(())
    }
}

/// A basic command's number (missing → 0) if it is one of `allowed`; else plain `ERROR`.
pub(crate) fn basic_value(command: &Command, allowed: &[u32]) -> Result<u32, CmdError> {
    match command.form {
        Form::Basic(value) => {
            let value = value.unwrap_or(0);
            if allowed.contains(&value) {
                Ok(value)
            } else {
                Err(CmdError::Plain)
            }
        }
        _ => Err(CmdError::Unknown),
    }
}

/// A numeric extended setting: `=?` prints `<name>: <range>`, `?` prints `<name>: <value>`,
/// `=<n>` (omitted → `default`) stores it. `field` finds the value: an instance's setting
/// (`|m| &mut m.settings.cmee`) or modem-wide state (`|m| &mut m.telit.skip_esc`).
pub(crate) fn numeric_setting(
    modem: &mut Modem,
    command: &Command,
    range_text: &str,
    max: u32,
    default: u32,
    field: fn(&mut Modem) -> &mut u32,
) -> CmdResult {
    match &command.form {
        Form::Test => {
            modem.info.push(format!("{}: {range_text}", command.name));
            Ok(Done::Ok)
        }
        Form::Read => {
            let value = *field(modem);
            modem.info.push(format!("{}: {value}", command.name));
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            at_most(command, 1)?;
            let value = int_param(command, 0, 0, max)?.unwrap_or(default);
            *field(modem) = value;
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modem::profile::{PROFILES, SIM900, TELIT};

    #[test]
    fn no_profile_answers_one_name_twice() {
        for profile in PROFILES {
            let mut names: Vec<&str> = supported(profile).map(|e| e.name).collect();
            names.sort_unstable();
            let before = names.len();
            names.dedup();
            assert_eq!(before, names.len(), "{}", profile.id);
        }
    }

    #[test]
    fn a_name_of_two_families_is_one_readme_row_and_one_clac_line() {
        let table = markdown_table();
        let rows: Vec<&str> = table
            .lines()
            .filter(|l| l.starts_with("| `AT+CGDCONT`"))
            .collect();
        assert_eq!(
            rows,
            ["| `AT+CGDCONT` | PDP context definition | yes | yes |"]
        );
        for profile in PROFILES {
            let lines = clac_lines(profile);
            let count = lines.iter().filter(|l| *l == "AT+CGACT").count();
            assert_eq!(count, 1, "{}", profile.id);
        }
    }

    #[test]
    fn profiles_answer_only_their_families() {
        assert!(lookup(&SIM900, "+CLTS").is_some());
        assert!(lookup(&TELIT, "+CLTS").is_none());
        assert!(lookup(&TELIT, "#SELINT").is_some());
        assert!(lookup(&SIM900, "#SELINT").is_none());
        for profile in PROFILES {
            assert!(lookup(profile, "+MODE").is_none());
        }
    }

    #[test]
    fn passwords_are_masked_in_commands_and_answers_and_nothing_else_is() {
        let masked = |text: &str| {
            mask_secrets(text.as_bytes()).map(|b| String::from_utf8_lossy(&b).into_owned())
        };
        assert_eq!(
            masked("AT#TCPATRUNAUTH=1,\"alice\",\"secret1\"\r").as_deref(),
            Some("AT#TCPATRUNAUTH=1,\"alice\",\"***\"\r")
        );
        assert_eq!(
            masked("at#smsatwl=0,2,1,\"1234567890123456\";+cmee?\r").as_deref(),
            Some("at#smsatwl=0,2,1,\"***\";+cmee?\r")
        );
        assert_eq!(masked("AT#SMSATWL=0,1,0,\"+39349*\"\r"), None);
        assert_eq!(
            masked("\r\n#SMSATWL: 0,\"+39*\"\r\n#SMSATWL: 1,\"abcdefghijklmnop\"\r\n#TCPATRUNAUTH: \"bob\",\"pw,x\"\r\n").as_deref(),
            Some("\r\n#SMSATWL: 0,\"+39*\"\r\n#SMSATWL: 1,\"***\"\r\n#TCPATRUNAUTH: \"bob\",\"***\"\r\n")
        );
        assert_eq!(
            masked("AT#SGACT=1,1,\"user\",\"pw\"\rAT#PASSW=hidden\r").as_deref(),
            Some("AT#SGACT=1,1,\"user\",\"***\"\rAT#PASSW=***\r")
        );
        assert_eq!(masked("AT+CSQ\r"), None);
        assert_eq!(masked("AT#TCPATRUNAUTH=\r"), None);
    }

    #[test]
    fn clac_lists_s_registers_one_by_one() {
        let lines = clac_lines(&SIM900);
        assert_eq!(lines[0], "AT&C");
        assert!(lines.contains(&"ATS12".to_string()));
        assert!(!lines.contains(&"ATS".to_string()));
        assert!(lines.contains(&"AT+CPOWD".to_string()));
        assert!(!clac_lines(&TELIT).contains(&"AT+CPOWD".to_string()));
    }
}
