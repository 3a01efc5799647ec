//! Command-line surface (clap): `simodem run` (one modem, `--count N`, or a `--config` world),
//! `simodem ctl`, `replay` and `soak`. No behaviour lives here: options become a spec or a request.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::control::Request;
use crate::modem::Profile;
use crate::network::{
    ModemSpec, ResolvedModem, WorldSpec, parse_iccid, parse_imei, parse_imsi, parse_listen_address,
    parse_model, parse_number, parse_pin, parse_plmn, replicate,
};

/// The control socket `simodem ctl` talks to without `--control` or `SIMODEM_CONTROL`.
pub const DEFAULT_CONTROL: &str = "./ttySIM0.ctl";

#[derive(Debug, Parser)]
#[command(
    name = "simodem",
    version,
    about = "A software twin of SIM900 and Telit GSM/GPRS modems on a virtual serial port"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: CliCommand,
}

#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Start emulated modems on new PTYs (and/or TCP / Unix sockets) until Ctrl-C or SIGTERM.
    Run(Box<RunArgs>),
    /// Talk to a running simodem over its control socket (JSON lines).
    Ctl(CtlArgs),
    /// Replay scenario files; exit 0 when every expectation held, 1 otherwise, 2 for bad files.
    Replay(ReplayArgs),
    /// Run many modems doing everything at once for a while, then check nothing was lost and
    /// nothing grew; exit 0 when every check held, 1 otherwise, 2 for bad options.
    Soak(SoakArgs),
}

#[derive(Debug, clap::Args)]
pub struct SoakArgs {
    /// How long activities go on (fractions allowed, e.g. 0.25); the final checks follow.
    #[arg(long, value_name = "N", value_parser = parse_minutes)]
    pub minutes: f64,

    /// How many modems: SIM900s and Telits alternating (2-64).
    #[arg(long, value_name = "M", default_value_t = 8,
          value_parser = clap::value_parser!(u16).range(2..=64))]
    pub modems: u16,

    /// Seed of the activities' random choices. [default: from the clock, printed]
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
}

fn parse_minutes(text: &str) -> Result<f64, String> {
    let minutes: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of minutes"))?;
    if !(minutes > 0.0 && minutes <= 10_000.0) {
        return Err("minutes must be more than 0 and at most 10000".into());
    }
    Ok(minutes)
}

#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Scenario files (JSON).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Also write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,

    /// Run in real time over real PTYs and the control socket instead of the virtual clock.
    #[arg(long)]
    pub realtime: bool,
}

/// The per-modem options: none of them may be combined with --config.
const MODEM_OPTIONS: [&str; 21] = [
    "model",
    "link",
    "no_pty",
    "tcp",
    "unix",
    "number",
    "imei",
    "imsi",
    "iccid",
    "operator",
    "operator_code",
    "csq",
    "pin",
    "puk",
    "no_sim",
    "smsc",
    "state",
    "listen_address",
    "cnmi_ds2",
    "instances",
    "count",
];

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Modem model: sim900 (SIMCom SIM900) or telit (Telit GE865 family). [default: sim900]
    #[arg(long, value_parser = parse_model)]
    pub model: Option<&'static Profile>,

    /// Stable symlink to the PTY; the real /dev/pts/N is printed at start. With --count, %d is
    /// the modem's index (e.g. /tmp/sim%d). [default: ./ttySIM0]
    #[arg(long)]
    pub link: Option<PathBuf>,

    /// Do not create a PTY; serve the AT channel only on --tcp / --unix.
    #[arg(long)]
    pub no_pty: bool,

    /// Also serve the AT channel as raw TCP on ADDR (one client at a time), e.g. 127.0.0.1:7000.
    /// With --count, modem i listens on port + i.
    #[arg(long, value_name = "ADDR")]
    pub tcp: Option<SocketAddr>,

    /// Also serve the AT channel on a Unix stream socket at PATH (mode 0600). With --count, PATH
    /// needs %d.
    #[arg(long, value_name = "PATH")]
    pub unix: Option<PathBuf>,

    /// Subscriber number shown by +CNUM. [default: +15550000001]
    #[arg(long, value_parser = parse_number)]
    pub number: Option<String>,

    /// IMEI (15 digits). [default: 490154203237518]
    #[arg(long, value_parser = parse_imei)]
    pub imei: Option<String>,

    /// IMSI (6 to 15 digits). [default: 001010123456789]
    #[arg(long, value_parser = parse_imsi)]
    pub imsi: Option<String>,

    /// SIM ICCID (19 or 20 characters: digits, may end in F). [default: 89010100000123456789]
    #[arg(long, value_parser = parse_iccid)]
    pub iccid: Option<String>,

    /// Operator name shown by +COPS. [default: simodem]
    #[arg(long)]
    pub operator: Option<String>,

    /// Operator numeric code (MCC+MNC, 5 or 6 digits). [default: 00101]
    #[arg(long, value_parser = parse_plmn)]
    pub operator_code: Option<String>,

    /// Signal quality reported by +CSQ (rssi 0-31). [default: 20]
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=31))]
    pub csq: Option<u32>,

    /// Lock the SIM with this PIN (4-8 digits): +CPIN? answers SIM PIN until it is entered.
    #[arg(long, value_parser = parse_pin)]
    pub pin: Option<String>,

    /// The SIM's PUK (8 digits), used after three wrong PINs. [default: 12345678]
    #[arg(long, value_parser = parse_pin)]
    pub puk: Option<String>,

    /// Start with no SIM card inserted.
    #[arg(long)]
    pub no_sim: bool,

    /// Accept AT+CNMI ds=2 (status reports stored, +CDSI) where the model answers ERROR.
    #[arg(long)]
    pub cnmi_ds2: bool,

    /// AT parser instances (Telit 1-3, default 3): instance 2 and 3 are served on LINK-2 and
    /// LINK-3 next to the link, and as CMUX DLCIs 2 and 3 on the link itself.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=3))]
    pub instances: Option<u8>,

    /// SMS service centre stored on the SIM (+CSCA). [default: +15550009999]
    #[arg(long, value_parser = parse_number)]
    pub smsc: Option<String>,

    /// Keep NVM (the &W profile) in DIR so it survives a restart; default: in memory.
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,

    /// The IP address the modem's own servers (AT+CIPSERVER, AT#SL) listen on, e.g. 0.0.0.0 to
    /// accept connections from other machines. [default: 127.0.0.1]
    #[arg(long, value_name = "ADDR", value_parser = parse_listen_address)]
    pub listen_address: Option<IpAddr>,

    /// Run N identical modems with distinct numbers, IMEIs, IMSIs and ICCIDs (needs --link
    /// with %d).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub count: Option<u32>,

    /// Run the world described in FILE (JSON: {"modems": [{...}, ...]}); see the README.
    #[arg(long, value_name = "FILE", conflicts_with_all = MODEM_OPTIONS)]
    pub config: Option<PathBuf>,

    /// The control socket (JSON lines, mode 0600). [default: the first link + ".ctl", e.g.
    /// ./ttySIM0.ctl; ./simodem.ctl without a PTY]
    #[arg(long, value_name = "PATH")]
    pub control: Option<PathBuf>,

    /// At stop, write everything that happened as a scenario file for `simodem replay`.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,

    /// Print every byte each way and why the modem did what it did (same as RUST_LOG=simodem=debug).
    #[arg(long)]
    pub trace: bool,
}

/// The world `simodem run` was asked for, ready to start.
#[derive(Debug)]
pub struct RunPlan {
    pub modems: Vec<ResolvedModem>,
    pub control: PathBuf,
    pub record: Option<PathBuf>,
    /// How long the network takes to deliver an SMS (the world file's `sms_delay_ms`).
    pub sms_delay_ms: u64,
}

impl RunArgs {
    /// The per-modem options as one modem of a world.
    pub fn modem_spec(&self) -> ModemSpec {
        ModemSpec {
            model: self.model.map(|p| p.id.to_string()),
            link: self.link.clone(),
            no_pty: self.no_pty,
            tcp: self.tcp.map(|a| a.to_string()),
            unix: self.unix.clone(),
            number: self.number.clone(),
            imei: self.imei.clone(),
            imsi: self.imsi.clone(),
            iccid: self.iccid.clone(),
            operator: self.operator.clone(),
            operator_code: self.operator_code.clone(),
            csq: self.csq,
            pin: self.pin.clone(),
            puk: self.puk.clone(),
            no_sim: self.no_sim,
            smsc: self.smsc.clone(),
            state: self.state.clone(),
            listen_address: self.listen_address.map(|a| a.to_string()),
            cnmi_ds2: self.cnmi_ds2,
            instances: self.instances,
        }
    }

    /// The world file, or the options (times `--count`), checked and resolved.
    pub fn plan(&self) -> Result<RunPlan, String> {
        let world = match &self.config {
            Some(file) => WorldSpec::from_file(file)?,
            None => {
                if self.no_pty && self.tcp.is_none() && self.unix.is_none() {
                    return Err("--no-pty needs --tcp or --unix, or the modem has no port".into());
                }
                let spec = self.modem_spec();
                WorldSpec {
                    modems: match self.count {
                        Some(count) => replicate(&spec, count as usize)?,
                        None => vec![spec],
                    },
                    ..WorldSpec::default()
                }
            }
        };
        let modems = world.resolve()?;
        let control = self
            .control
            .clone()
            .unwrap_or_else(|| world.control_path(&modems));
        Ok(RunPlan {
            modems,
            control,
            record: self.record.clone(),
            sms_delay_ms: world
                .sms_delay_ms
                .unwrap_or(crate::network::sms::DEFAULT_DELAY_MS),
        })
    }
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Verbs:
  modems                                   list the modems (index, number, link, pts, ...)
  state                                    the modem's state as JSON
  events                                   stream every event as JSON lines until the world stops
  dtr up|down                              raise or drop DTR (&D decides what a drop does)
  ring [--from] [NUMBER]                   an incoming voice call (RING, +CLIP)
  hangup                                   the other party hangs up
  network [home|roaming|searching|denied|none] [--operator NAME] [--operator-code MCCMNC]
          [--csq N] [--lac HEX] [--ci HEX] coverage, operator or signal changes
  sim remove|insert                        pull the SIM out or push it in
  reboot                                   power cycle (also powers on after +CPOWD)
  urc TEXT                                 a raw unsolicited line, framed like any URC
  sms deliver --to MODEM --from NUMBER (--text TEXT [--alphabet gsm|ucs2|8bit] | --pdu HEX)
                                           the network hands MODEM an SMS (long texts in parts)
  sms sent [--to NUMBER] [--json]          what the modems sent to numbers outside the world

Exit codes: 0 ok, 1 the emulator refused the request, 2 the request is malformed or the
control socket cannot be reached.")]
pub struct CtlArgs {
    /// The control socket of the running simodem (or set SIMODEM_CONTROL). [default:
    /// ./ttySIM0.ctl]
    #[arg(long, value_name = "PATH")]
    pub control: Option<PathBuf>,

    /// Which modem: its index, its number (+1555...) or its link path. [default: the first]
    #[arg(long, value_name = "MODEM")]
    pub modem: Option<String>,

    /// The verb and its arguments (see below).
    #[arg(
        value_name = "VERB",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub words: Vec<String>,
}

impl CtlArgs {
    /// `--control`, else `$SIMODEM_CONTROL`, else `./ttySIM0.ctl`.
    pub fn control_path(&self) -> PathBuf {
        self.control
            .clone()
            .or_else(|| {
                std::env::var_os("SIMODEM_CONTROL")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            })
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CONTROL))
    }

    /// The request; a `--modem` that names a path is made absolute (the emulator may run
    /// elsewhere).
    pub fn request(&self) -> Result<Request, String> {
        let modem = self.modem.as_ref().map(|m| {
            if m.contains('/') && !m.starts_with('/') {
                std::env::current_dir()
                    .map(|dir| dir.join(m).display().to_string())
                    .unwrap_or_else(|_| m.clone())
            } else {
                m.clone()
            }
        });
        let words: Vec<String> = if self.is_sms_sent() {
            self.words
                .iter()
                .filter(|w| *w != "--json")
                .cloned()
                .collect()
        } else {
            self.words.clone()
        };
        Request::from_words(modem, &words)
    }

    fn is_sms_sent(&self) -> bool {
        self.words.first().is_some_and(|w| w == "sms")
            && self.words.get(1).is_some_and(|w| w == "sent")
    }

    /// `sms sent` without `--json`: print one readable line per message instead of the JSON.
    pub fn readable_sms_sent(&self) -> bool {
        self.is_sms_sent() && !self.words.iter().any(|w| w == "--json")
    }
}

/// The readable lines of an `sms_sent` response: time, sender, destination, mr, DCS, then the
/// text (quoted, as JSON escapes it) or the user data in hex.
pub fn sms_sent_lines(response: &str) -> Result<Vec<String>, String> {
    #[derive(serde::Deserialize)]
    struct Sent {
        sent: Vec<crate::network::sms::SentRecord>,
    }
    let parsed: Sent =
        serde_json::from_str(response).map_err(|e| format!("unexpected answer: {e}"))?;
    Ok(parsed
        .sent
        .iter()
        .map(|r| {
            let mut line = format!(
                "{} modem {} ({}) -> {} mr {} dcs 0x{:02X}",
                r.time, r.modem, r.from, r.to, r.mr, r.dcs
            );
            if let Some(c) = r.concat {
                line.push_str(&format!(
                    " part {}/{} ref {}",
                    c.sequence, c.total, c.reference
                ));
            }
            match &r.text {
                Some(text) => line.push_str(&format!(" text {}", serde_json::json!(text))),
                None => line.push_str(&format!(" ud {}", r.ud)),
            }
            line
        })
        .collect())
}
