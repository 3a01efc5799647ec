//! Command-line surface (clap): `simodem run` and its options, with validation of what users type.
//! No behaviour lives here; it builds a `HostedModem` and hands it to `host`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::host::{HostedModem, PortOptions};
use crate::modem::{ModemConfig, NetworkView, Profile};
use crate::network::{
    parse_iccid, parse_imei, parse_imsi, parse_model, parse_number, parse_pin, parse_plmn,
};

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
    /// Start an emulated modem on a new PTY (and/or TCP / Unix socket) until Ctrl-C.
    Run(Box<RunArgs>),
    /// Replay scenario files on a virtual clock; exit 0 when every expectation held, 1 otherwise.
    Replay(ReplayArgs),
}

#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Scenario files (JSON).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Also write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Modem model: sim900 (SIMCom SIM900) or telit (Telit GE865 family).
    #[arg(long, default_value = "sim900", value_parser = parse_model)]
    pub model: &'static Profile,

    /// Stable symlink to the PTY; the real /dev/pts/N is printed at start.
    #[arg(long, default_value = "./ttySIM0")]
    pub link: PathBuf,

    /// Do not create a PTY; serve the AT channel only on --tcp / --unix.
    #[arg(long)]
    pub no_pty: bool,

    /// Also serve the AT channel as raw TCP on ADDR (one client at a time), e.g. 127.0.0.1:7000.
    #[arg(long, value_name = "ADDR")]
    pub tcp: Option<SocketAddr>,

    /// Also serve the AT channel on a Unix stream socket at PATH (mode 0600).
    #[arg(long, value_name = "PATH")]
    pub unix: Option<PathBuf>,

    /// Subscriber number shown by +CNUM.
    #[arg(long, default_value = "+15550000001", value_parser = parse_number)]
    pub number: String,

    /// IMEI (15 digits).
    #[arg(long, default_value = "490154203237518", value_parser = parse_imei)]
    pub imei: String,

    /// IMSI (6 to 15 digits).
    #[arg(long, default_value = "001010123456789", value_parser = parse_imsi)]
    pub imsi: String,

    /// SIM ICCID (19 or 20 characters: digits, may end in F).
    #[arg(long, default_value = "89010100000123456789", value_parser = parse_iccid)]
    pub iccid: String,

    /// Operator name shown by +COPS.
    #[arg(long, default_value = "simodem")]
    pub operator: String,

    /// Operator numeric code (MCC+MNC, 5 or 6 digits).
    #[arg(long, default_value = "00101", value_parser = parse_plmn)]
    pub operator_code: String,

    /// Signal quality reported by +CSQ (rssi 0-31).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(0..=31))]
    pub csq: u32,

    /// Lock the SIM with this PIN (4-8 digits): +CPIN? answers SIM PIN until it is entered.
    #[arg(long, value_parser = parse_pin)]
    pub pin: Option<String>,

    /// The SIM's PUK (8 digits), used after three wrong PINs.
    #[arg(long, default_value = "12345678", value_parser = parse_pin)]
    pub puk: String,

    /// Start with no SIM card inserted.
    #[arg(long)]
    pub no_sim: bool,

    /// SMS service centre stored on the SIM (+CSCA).
    #[arg(long, default_value = "+15550009999", value_parser = parse_number)]
    pub smsc: String,

    /// Keep NVM (the &W profile) in DIR so it survives a restart; default: in memory.
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,

    /// Print every byte each way and why the modem did what it did (same as RUST_LOG=simodem=debug).
    #[arg(long)]
    pub trace: bool,
}

impl RunArgs {
    pub fn hosted_modem(&self) -> HostedModem {
        let mut config = ModemConfig::new(self.model);
        config.identity.imei = self.imei.clone();
        config.identity.imsi = self.imsi.clone();
        config.identity.iccid = self.iccid.clone();
        config.identity.number = self.number.clone();
        config.identity.smsc = self.smsc.clone();
        config.pin = self.pin.clone();
        config.puk = self.puk.clone();
        config.sim_inserted = !self.no_sim;
        config.network = NetworkView {
            operator_long: self.operator.clone(),
            operator_short: self.operator.clone(),
            operator_numeric: self.operator_code.clone(),
            rssi: self.csq,
            ..NetworkView::default()
        };
        config.rtc_epoch_unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        HostedModem {
            config,
            ports: PortOptions {
                pty_link: (!self.no_pty).then(|| self.link.clone()),
                tcp: self.tcp,
                unix: self.unix.clone(),
            },
            state_dir: self.state.clone(),
        }
    }
}
