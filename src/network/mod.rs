//! The simulated world as data: which modems exist, their identities and ports, and what they
//! share (the operator and its signal). Parsed from `--config`/scenario JSON or built from the CLI.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::modem::{ModemConfig, NetworkView, Profile};

pub mod sms;

/// Where a modem's AT channel is served, and where its listening sockets bind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortOptions {
    /// Create a PTY and keep this symlink to it (`None`: no PTY, only the sockets below).
    pub pty_link: Option<PathBuf>,
    /// Raw TCP, one client at a time.
    pub tcp: Option<SocketAddr>,
    /// A Unix stream socket, one client at a time.
    pub unix: Option<PathBuf>,
    /// The address the modem's own listeners (`AT+CIPSERVER`, `#SL`) bind to.
    pub listen_address: IpAddr,
}

/// Where modems listen unless told otherwise: this machine only.
pub const DEFAULT_LISTEN_ADDRESS: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

impl Default for PortOptions {
    fn default() -> Self {
        PortOptions {
            pty_link: None,
            tcp: None,
            unix: None,
            listen_address: DEFAULT_LISTEN_ADDRESS,
        }
    }
}

/// A world file (`simodem run --config`, and the `world` of a scenario).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WorldSpec {
    /// The control socket (default: next to the first modem's link, `<link>.ctl`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<PathBuf>,
    /// Defaults every modem inherits unless it says otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    #[serde(
        default,
        alias = "operator-code",
        skip_serializing_if = "Option::is_none"
    )]
    pub operator_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csq: Option<u32>,
    /// How long the network takes to deliver an SMS, in ms (default 1000; 0 allowed).
    #[serde(
        default,
        alias = "sms-delay-ms",
        skip_serializing_if = "Option::is_none"
    )]
    pub sms_delay_ms: Option<u64>,
    /// How long the network takes to acknowledge a sent SMS (Ctrl-Z to `+CMGS: <mr>`), in ms
    /// (default: the model's, 1000; 0 allowed).
    #[serde(default, alias = "sms-ack-ms", skip_serializing_if = "Option::is_none")]
    pub sms_ack_ms: Option<u64>,
    #[serde(default)]
    pub modems: Vec<ModemSpec>,
}

/// One modem of a world: every option of `simodem run`, all optional.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModemSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<PathBuf>,
    #[serde(default, alias = "no-pty", skip_serializing_if = "std::ops::Not::not")]
    pub no_pty: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unix: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imei: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imsi: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iccid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    #[serde(
        default,
        alias = "operator-code",
        skip_serializing_if = "Option::is_none"
    )]
    pub operator_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csq: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub puk: Option<String>,
    #[serde(default, alias = "no-sim", skip_serializing_if = "std::ops::Not::not")]
    pub no_sim: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smsc: Option<String>,
    /// NVM directory (`--state`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<PathBuf>,
    /// The IP address the modem's listeners bind to (`--listen-address`, default 127.0.0.1).
    #[serde(
        default,
        alias = "listen-address",
        skip_serializing_if = "Option::is_none"
    )]
    pub listen_address: Option<String>,
    /// Accept `AT+CNMI` ds=2 (status reports stored, `+CDSI`) even where the model answers
    /// `ERROR` (the SIM900 does; python-gsmmodem asks for it first).
    #[serde(
        default,
        alias = "cnmi-ds2",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub cnmi_ds2: bool,
    /// AT parser instances (Telit: 1-3, default 3; instances 2 and 3 get `<link>-2`, `<link>-3`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instances: Option<u8>,
}

/// Where AT instance `instance` (2, 3) of the modem at `link` is served: `<link>-<instance>`.
pub fn instance_link(link: &std::path::Path, instance: u8) -> PathBuf {
    let mut text = link.as_os_str().to_owned();
    text.push(format!("-{instance}"));
    PathBuf::from(text)
}

/// One modem ready to build: its core configuration and where it is served.
#[derive(Debug, Clone)]
pub struct ResolvedModem {
    pub config: ModemConfig,
    pub ports: PortOptions,
    pub state_dir: Option<PathBuf>,
}

pub const DEFAULT_NUMBER: &str = "+15550000001";
pub const DEFAULT_IMEI: &str = "490154203237518";
pub const DEFAULT_IMSI: &str = "001010123456789";
pub const DEFAULT_ICCID: &str = "89010100000123456789";
pub const DEFAULT_SMSC: &str = "+15550009999";
pub const DEFAULT_PUK: &str = "12345678";
pub const DEFAULT_OPERATOR: &str = "simodem";
pub const DEFAULT_OPERATOR_CODE: &str = "00101";
pub const DEFAULT_CSQ: u32 = 20;

impl WorldSpec {
    /// Reads a world file; errors name the file, line and column.
    pub fn from_file(path: &Path) -> Result<WorldSpec, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}:{}:{}: {}",
                path.display(),
                e.line(),
                e.column(),
                strip_position(&e)
            )
        })
    }

    /// Checks every modem and gives each its configuration; the first error names the modem.
    /// Modems without their own number or IMEI get distinct ones derived from the defaults.
    pub fn resolve(&self) -> Result<Vec<ResolvedModem>, String> {
        if self.modems.is_empty() {
            return Err("the world has no modems (\"modems\": [...] is empty)".into());
        }
        let mut resolved = Vec::new();
        for (index, spec) in self.modems.iter().enumerate() {
            let modem = spec
                .resolve(index, self.modems.len(), self)
                .map_err(|e| format!("modem {index}: {e}"))?;
            resolved.push(modem);
        }
        check_unique(&resolved, "number", |m| {
            Some(m.config.identity.number.clone()).filter(|n| !n.is_empty())
        })?;
        check_unique(&resolved, "IMEI", |m| Some(m.config.identity.imei.clone()))?;
        check_unique(&resolved, "link", |m| {
            m.ports.pty_link.as_ref().map(|p| p.display().to_string())
        })?;
        check_unique(&resolved, "tcp address", |m| {
            m.ports
                .tcp
                .map(|a| a.to_string())
                .filter(|a| !a.ends_with(":0"))
        })?;
        check_unique(&resolved, "unix path", |m| {
            m.ports.unix.as_ref().map(|p| p.display().to_string())
        })?;
        Ok(resolved)
    }

    /// The control socket path: as given, else `<first link>.ctl`, else `./simodem.ctl`.
    pub fn control_path(&self, resolved: &[ResolvedModem]) -> PathBuf {
        if let Some(path) = &self.control {
            return path.clone();
        }
        match resolved.iter().find_map(|m| m.ports.pty_link.as_ref()) {
            Some(link) => {
                let mut text = link.clone().into_os_string();
                text.push(".ctl");
                PathBuf::from(text)
            }
            None => PathBuf::from("./simodem.ctl"),
        }
    }
}

fn check_unique(
    modems: &[ResolvedModem],
    what: &str,
    key: impl Fn(&ResolvedModem) -> Option<String>,
) -> Result<(), String> {
    let mut seen: Vec<(String, usize)> = Vec::new();
    for (index, modem) in modems.iter().enumerate() {
        if let Some(value) = key(modem) {
            if let Some((_, first)) = seen.iter().find(|(v, _)| *v == value) {
                return Err(format!(
                    "modems {first} and {index} have the same {what} {value:?}"
                ));
            }
            seen.push((value, index));
        }
    }
    Ok(())
}

impl ModemSpec {
    fn resolve(
        &self,
        index: usize,
        count: usize,
        world: &WorldSpec,
    ) -> Result<ResolvedModem, String> {
        let model = self.model.as_deref().unwrap_or("sim900");
        let profile = parse_model(model)?;
        let mut config = ModemConfig::new(profile);
        let number = match &self.number {
            Some(n) => parse_number(n)?,
            None => nth_identity(DEFAULT_NUMBER, index),
        };
        let imei = match &self.imei {
            Some(i) => parse_imei(i)?,
            None => nth_imei(index),
        };
        config.identity.number = number;
        config.identity.imei = imei;
        config.identity.imsi = match &self.imsi {
            Some(i) => parse_imsi(i)?,
            None => nth_identity(DEFAULT_IMSI, index),
        };
        config.identity.iccid = match &self.iccid {
            Some(i) => parse_iccid(i)?,
            None => nth_identity(DEFAULT_ICCID, index),
        };
        config.identity.smsc = parse_number(self.smsc.as_deref().unwrap_or(DEFAULT_SMSC))?;
        config.pin = self.pin.as_deref().map(parse_pin).transpose()?;
        config.puk = parse_pin(self.puk.as_deref().unwrap_or(DEFAULT_PUK))?;
        config.sim_inserted = !self.no_sim;
        config.cnmi_ds2 = self.cnmi_ds2;
        config.instances = match self.instances {
            Some(n) if (1..=profile.at_instances).contains(&n) => n,
            Some(n) => {
                return Err(format!(
                    "instances {n}: the {} has {} AT instance{}",
                    profile.id,
                    if profile.at_instances == 1 {
                        "one"
                    } else {
                        "1 to 3"
                    },
                    if profile.at_instances == 1 { "" } else { "s" }
                ));
            }
            None => profile.at_instances,
        };
        config.sms_ack_ms = world.sms_ack_ms.unwrap_or(profile.sms.submit_ms);
        let operator = self
            .operator
            .clone()
            .or_else(|| world.operator.clone())
            .unwrap_or_else(|| DEFAULT_OPERATOR.into());
        let operator_code = self
            .operator_code
            .as_deref()
            .or(world.operator_code.as_deref())
            .unwrap_or(DEFAULT_OPERATOR_CODE);
        let csq = self.csq.or(world.csq).unwrap_or(DEFAULT_CSQ);
        config.network = NetworkView {
            operator_long: parse_operator(&operator)?,
            operator_short: operator,
            operator_numeric: parse_plmn(operator_code)?,
            rssi: parse_csq(csq)?,
            ..NetworkView::default()
        };
        let pty_link = if self.no_pty {
            None
        } else {
            Some(self.link.clone().unwrap_or_else(|| {
                if count == 1 {
                    PathBuf::from("./ttySIM0")
                } else {
                    PathBuf::from(format!("./ttySIM{index}"))
                }
            }))
        };
        let tcp = self
            .tcp
            .as_deref()
            .map(|a| {
                a.parse::<SocketAddr>()
                    .map_err(|_| format!("tcp {a:?} is not an address like 127.0.0.1:7000"))
            })
            .transpose()?;
        if pty_link.is_none() && tcp.is_none() && self.unix.is_none() {
            return Err("no_pty needs tcp or unix, or the modem has no port".into());
        }
        let listen_address = match &self.listen_address {
            Some(text) => {
                parse_listen_address(text).map_err(|e| format!("listen_address {text:?}: {e}"))?
            }
            None => DEFAULT_LISTEN_ADDRESS,
        };
        Ok(ResolvedModem {
            config,
            ports: PortOptions {
                pty_link,
                tcp,
                unix: self.unix.clone(),
                listen_address,
            },
            state_dir: self.state.clone(),
        })
    }
}

/// What a modem can be addressed by (besides its index).
#[derive(Debug, Clone)]
pub struct Addressable<'a> {
    pub number: &'a str,
    pub link: Option<&'a Path>,
    /// The real `/dev/pts/N` behind the link, when running.
    pub pts: Option<&'a Path>,
    /// How to name the modem's port in an error (link, tcp address, socket path).
    pub port: Option<String>,
}

impl ResolvedModem {
    pub fn address(&self) -> Addressable<'_> {
        Addressable {
            number: &self.config.identity.number,
            link: self.ports.pty_link.as_deref(),
            pts: None,
            port: self
                .ports
                .pty_link
                .as_ref()
                .map(|l| l.display().to_string()),
        }
    }
}

/// A path made absolute with its directory resolved (the file itself may be a dangling link).
fn path_key(path: &Path) -> Option<PathBuf> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(path)
    };
    let name = absolute.file_name()?;
    let dir = absolute.parent()?;
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    Some(dir.join(name))
}

/// Which modem an address names: its index, its number, its link path (as given, relative to
/// here, or the `/dev/pts/N` it points to).
pub fn find_modem(modems: &[Addressable], wanted: &str) -> Result<usize, String> {
    if let Ok(index) = wanted.parse::<usize>()
        && index < modems.len()
    {
        return Ok(index);
    }
    if let Some(index) = modems
        .iter()
        .position(|m| !m.number.is_empty() && m.number == wanted)
    {
        return Ok(index);
    }
    let path = Path::new(wanted);
    let key = path_key(path);
    let resolved = path.canonicalize().ok();
    if let Some(index) = modems.iter().position(|m| {
        m.link == Some(path)
            || (key.is_some() && m.link.and_then(path_key) == key)
            || (resolved.is_some() && m.pts.map(Path::to_path_buf) == resolved)
    }) {
        return Ok(index);
    }
    let list: Vec<String> = modems
        .iter()
        .enumerate()
        .map(|(index, m)| {
            let port = m.port.as_deref().unwrap_or("-");
            format!("{index} {} {port}", m.number)
        })
        .collect();
    Err(format!("no modem {wanted:?}; modems: {}", list.join(", ")))
}

/// `N` identical modems (`--count`): `%d` in the link, tcp port + i, distinct identities.
pub fn replicate(spec: &ModemSpec, count: usize) -> Result<Vec<ModemSpec>, String> {
    if count == 0 {
        return Err("--count must be at least 1".into());
    }
    let link_text = spec.link.as_ref().map(|l| l.display().to_string());
    if count > 1 && !spec.no_pty && !link_text.as_deref().is_some_and(|l| l.contains("%d")) {
        return Err("--count needs a --link with %d, e.g. --link /tmp/sim%d".into());
    }
    let mut specs = Vec::new();
    for index in 0..count {
        let mut copy = spec.clone();
        copy.link = link_text
            .as_ref()
            .map(|l| PathBuf::from(l.replace("%d", &index.to_string())));
        if let Some(unix) = &spec.unix {
            let text = unix.display().to_string();
            if count > 1 && !text.contains("%d") {
                return Err("--count with --unix needs %d in the path".into());
            }
            copy.unix = Some(PathBuf::from(text.replace("%d", &index.to_string())));
        }
        if let Some(tcp) = &spec.tcp {
            let addr: SocketAddr = tcp
                .parse()
                .map_err(|_| format!("tcp {tcp:?} is not an address like 127.0.0.1:7000"))?;
            let port = if addr.port() == 0 {
                0
            } else {
                u16::try_from(usize::from(addr.port()) + index)
                    .map_err(|_| format!("tcp port {} + {index} is past 65535", addr.port()))?
            };
            copy.tcp = Some(SocketAddr::new(addr.ip(), port).to_string());
        }
        copy.number = Some(nth_identity(
            spec.number.as_deref().unwrap_or(DEFAULT_NUMBER),
            index,
        ));
        copy.imei = Some(match &spec.imei {
            Some(imei) => nth_identity(imei, index),
            None => nth_imei(index),
        });
        copy.imsi = Some(nth_identity(
            spec.imsi.as_deref().unwrap_or(DEFAULT_IMSI),
            index,
        ));
        copy.iccid = Some(nth_identity(
            spec.iccid.as_deref().unwrap_or(DEFAULT_ICCID),
            index,
        ));
        specs.push(copy);
    }
    Ok(specs)
}

/// `base` with `index` added to its trailing digits (wrapping within their width).
fn nth_identity(base: &str, index: usize) -> String {
    let digits_start = base
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_digit())
        .last()
        .map(|(i, _)| i)
        .unwrap_or(base.len());
    let (prefix, digits) = base.split_at(digits_start);
    let width = digits.len().min(18);
    if width == 0 {
        return base.to_string();
    }
    let (keep, tail) = digits.split_at(digits.len() - width);
    let modulus = 10u64.pow(width as u32);
    let value = tail.parse::<u64>().unwrap_or(0);
    let next = (value + index as u64) % modulus;
    format!("{prefix}{keep}{next:0width$}")
}

/// A valid IMEI (Luhn check digit) for the n-th modem.
fn nth_imei(index: usize) -> String {
    let body = nth_identity(&DEFAULT_IMEI[..14], index);
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let doubled = d * 2;
                doubled / 10 + doubled % 10
            } else {
                d
            }
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// serde_json's message without its " at line L column C" tail (we print the position first).
pub fn strip_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

// ----- validators shared by the CLI, world files and the control plane -----

pub fn parse_model(text: &str) -> Result<&'static Profile, String> {
    Profile::by_id(text).ok_or_else(|| format!("unknown model {text:?}; use sim900 or telit"))
}

fn digits_between(text: &str, min: usize, max: usize, what: &str) -> Result<String, String> {
    if (min..=max).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit()) {
        Ok(text.to_string())
    } else if min == max {
        Err(format!("{what} must be {min} digits, not {text:?}"))
    } else {
        Err(format!(
            "{what} must be {min} to {max} digits, not {text:?}"
        ))
    }
}

pub fn parse_imei(text: &str) -> Result<String, String> {
    digits_between(text, 15, 15, "an IMEI")
}

pub fn parse_imsi(text: &str) -> Result<String, String> {
    digits_between(text, 6, 15, "an IMSI")
}

pub fn parse_plmn(text: &str) -> Result<String, String> {
    digits_between(text, 5, 6, "an operator code")
}

/// The address a modem's listeners bind to: an IPv4 or IPv6 address, no port.
pub fn parse_listen_address(text: &str) -> Result<IpAddr, String> {
    text.parse::<IpAddr>()
        .map_err(|_| "not an IP address like 127.0.0.1, 0.0.0.0 or ::1 (no port)".to_string())
}

pub fn parse_pin(text: &str) -> Result<String, String> {
    digits_between(text, 4, 8, "a PIN or PUK")
}

pub fn parse_number(text: &str) -> Result<String, String> {
    let digits = text.strip_prefix('+').unwrap_or(text);
    digits_between(digits, 0, 20, "a phone number (optional +)")?;
    Ok(text.to_string())
}

pub fn parse_iccid(text: &str) -> Result<String, String> {
    let body = text.trim_end_matches(['F', 'f']);
    if (19..=20).contains(&text.len()) && body.bytes().all(|b| b.is_ascii_digit()) {
        Ok(text.to_string())
    } else {
        Err(format!(
            "an ICCID must be 19 or 20 digits (it may end in F), not {text:?}"
        ))
    }
}

/// `+CSQ` rssi: 0-31, or 99 for "not known".
pub fn parse_csq(value: u32) -> Result<u32, String> {
    if value <= 31 || value == 99 {
        Ok(value)
    } else {
        Err(format!("csq must be 0-31 or 99, not {value}"))
    }
}

/// An operator name: printable, no quotes, at most 24 characters (the +COPS long form).
pub fn parse_operator(text: &str) -> Result<String, String> {
    if text.is_empty() || text.chars().count() > 24 {
        return Err(format!(
            "an operator name must be 1 to 24 characters, not {text:?}"
        ));
    }
    if text.chars().any(|c| c.is_control() || c == '"') {
        return Err(format!(
            "an operator name cannot hold quotes or control characters: {text:?}"
        ));
    }
    Ok(text.to_string())
}

/// A LAC or cell id: 1 to 4 hex digits.
pub fn parse_cell_hex(text: &str, what: &str) -> Result<u16, String> {
    if (1..=4).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        u16::from_str_radix(text, 16).map_err(|e| format!("{what} {text:?}: {e}"))
    } else {
        Err(format!("{what} must be 1 to 4 hex digits, not {text:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_address_defaults_to_loopback_and_must_be_an_ip() {
        let resolve = |listen_address: Option<&str>| {
            WorldSpec {
                modems: vec![ModemSpec {
                    listen_address: listen_address.map(str::to_string),
                    ..Default::default()
                }],
                ..Default::default()
            }
            .resolve()
        };
        let default = resolve(None).expect("resolve");
        assert_eq!(default[0].ports.listen_address.to_string(), "127.0.0.1");
        let any = resolve(Some("0.0.0.0")).expect("resolve");
        assert_eq!(any[0].ports.listen_address.to_string(), "0.0.0.0");
        let v6 = resolve(Some("::1")).expect("resolve");
        assert_eq!(v6[0].ports.listen_address.to_string(), "::1");
        let error = resolve(Some("127.0.0.1:80")).expect_err("a port is not an address");
        assert!(
            error.contains("listen_address \"127.0.0.1:80\"") && error.contains("not an IP"),
            "{error}"
        );
        let spec: WorldSpec =
            serde_json::from_str(r#"{"modems": [{"listen-address": "10.0.0.1"}]}"#).expect("json");
        assert_eq!(spec.modems[0].listen_address.as_deref(), Some("10.0.0.1"));
    }

    #[test]
    fn the_sms_acknowledgement_time_is_the_models_unless_the_world_says() {
        let resolve = |json: &str| {
            let spec: WorldSpec = serde_json::from_str(json).expect("json");
            spec.resolve().expect("resolve")[0].config.sms_ack_ms
        };
        assert_eq!(resolve(r#"{"modems": [{}]}"#), 1000);
        assert_eq!(resolve(r#"{"sms_ack_ms": 0, "modems": [{}]}"#), 0);
        assert_eq!(resolve(r#"{"sms-ack-ms": 250, "modems": [{}]}"#), 250);
    }

    #[test]
    fn the_cnmi_ds2_switch_reaches_the_modem_config() {
        let spec: WorldSpec =
            serde_json::from_str(r#"{"modems": [{"cnmi_ds2": true}, {"cnmi-ds2": false}, {}]}"#)
                .expect("json");
        let resolved = spec.resolve().expect("resolve");
        let switched: Vec<bool> = resolved.iter().map(|m| m.config.cnmi_ds2).collect();
        assert_eq!(switched, [true, false, false]);
    }

    #[test]
    fn identities_of_replicated_modems_are_distinct_and_imeis_pass_luhn() {
        assert_eq!(nth_imei(0), DEFAULT_IMEI);
        assert_eq!(nth_identity("+15550000001", 2), "+15550000003");
        assert_eq!(nth_identity("+393469999999", 1), "+393470000000");
        let spec = ModemSpec {
            link: Some("/tmp/sim%d".into()),
            ..Default::default()
        };
        let specs = replicate(&spec, 3).expect("replicate");
        let world = WorldSpec {
            modems: specs,
            ..Default::default()
        };
        let modems = world.resolve().expect("resolve");
        let links: Vec<_> = modems
            .iter()
            .map(|m| m.ports.pty_link.clone().expect("link"))
            .collect();
        assert_eq!(
            links,
            ["/tmp/sim0", "/tmp/sim1", "/tmp/sim2"].map(PathBuf::from)
        );
        assert_eq!(modems[1].config.identity.number, "+15550000002");
        assert_eq!(modems[2].config.identity.imei, "490154203237534");
    }

    #[test]
    fn world_file_errors_name_the_modem_and_the_field() {
        let world: WorldSpec = serde_json::from_str(
            r#"{"operator": "vodafone IT", "modems": [{"model": "telit"}, {"model": "nokia"}]}"#,
        )
        .expect("json");
        assert_eq!(
            world.resolve().err().as_deref(),
            Some("modem 1: unknown model \"nokia\"; use sim900 or telit")
        );
        let error = serde_json::from_str::<WorldSpec>(r#"{"modems": [{"modle": "telit"}]}"#)
            .expect_err("unknown field");
        assert!(
            error.to_string().starts_with("unknown field `modle`"),
            "{error}"
        );
        let twins: WorldSpec = serde_json::from_str(
            r#"{"modems": [{"number": "+391"}, {"number": "+391", "link": "b"}]}"#,
        )
        .expect("json");
        assert_eq!(
            twins.resolve().err().as_deref(),
            Some("modems 0 and 1 have the same number \"+391\"")
        );
    }

    #[test]
    fn world_operator_is_inherited_and_control_defaults_next_to_the_link() {
        let world: WorldSpec = serde_json::from_str(
            r#"{"operator": "vodafone IT", "modems": [{"link": "/tmp/field"}, {"link": "/tmp/m", "operator": "TIM"}]}"#,
        )
        .expect("json");
        let modems = world.resolve().expect("resolve");
        assert_eq!(modems[0].config.network.operator_long, "vodafone IT");
        assert_eq!(modems[1].config.network.operator_long, "TIM");
        assert_eq!(world.control_path(&modems), PathBuf::from("/tmp/field.ctl"));
    }
}
