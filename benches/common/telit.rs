//! The Telit sides of the data-mode benches: a booted, registered Telit (`simodem run --model
//! telit`), optionally under CMUX on DLCI 1, configured with `#SCFG` and taken online with `#SD`
//! to a loopback listener. Used by `benches/telit.rs` and `benches/suite.rs`.

use std::path::Path;
use std::time::Instant;

use simodem::cmux::{Deframer, FLAG, Frame, Kind, TELIT_N1, client_sabm, control};
use simodem::modem::profile::TELIT;

use super::relay::{Dte, Endpoint, IO_TIMEOUT, Wire, pty_read, ready_modem};
use super::{Emulator, readable_within, write_all};

/// The channel the CMUX sides use (AT instance 1).
pub const DLCI: u8 = 1;
/// The factory `#SCFG` pktSz, and the one `BIG_PACKETS` sets.
pub const FACTORY_PKT: usize = 300;
pub const BIG_PKT: usize = 1500;
pub const BIG_PACKETS: &str = "AT#SCFG=1,1,1500,90,600,1\r";
/// Every run moves a whole number of packets of both sizes.
pub const RUN_MULTIPLE: usize = BIG_PKT;

/// The simodem sides, in the order of every per-side list; socat comes last.
pub struct Variant {
    pub name: &'static str,
    pub wire: Wire,
    /// `#SCFG` to send before dialling (`None`: factory).
    pub scfg: Option<&'static str>,
    pub pkt: usize,
}

pub const VARIANTS: [Variant; 4] = [
    Variant {
        name: "online-300",
        wire: Wire::Raw,
        scfg: None,
        pkt: FACTORY_PKT,
    },
    Variant {
        name: "online-1500",
        wire: Wire::Raw,
        scfg: Some(BIG_PACKETS),
        pkt: BIG_PKT,
    },
    Variant {
        name: "cmux-300",
        wire: Wire::Cmux { dlci: DLCI },
        scfg: None,
        pkt: FACTORY_PKT,
    },
    Variant {
        name: "cmux-1500",
        wire: Wire::Cmux { dlci: DLCI },
        scfg: Some(BIG_PACKETS),
        pkt: BIG_PKT,
    },
];
pub const ONLINE_300: usize = 0;
pub const ONLINE_1500: usize = 1;
pub const CMUX_300: usize = 2;
pub const CMUX_1500: usize = 3;
pub const SOCAT: usize = 4;

// ----- a Telit in command mode -----

/// A booted Telit, registered, echo off; under CMUX with DLCI 0 and 1 open.
pub struct Telit {
    pub variant: &'static Variant,
    pub dte: Dte,
    pub emulator: Emulator,
}

/// Reads whole frames from `fd` until `count` arrived (setup only; a hang guard, no timing).
pub fn read_frames(fd: i32, deframer: &mut Deframer, count: usize) -> Result<Vec<Frame>, String> {
    let deadline = Instant::now() + IO_TIMEOUT;
    let mut frames = Vec::new();
    let mut buf = [0u8; 512];
    while frames.len() < count {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || !readable_within(fd, left).map_err(|e| e.to_string())? {
            return Err(format!("waiting for {count} frame(s), got {frames:?}"));
        }
        let n = pty_read(fd, &mut buf).map_err(|e| e.to_string())?;
        frames.extend(deframer.frames(&buf[..n]));
    }
    Ok(frames)
}

impl Telit {
    pub fn boot(dir: &Path, variant: &'static Variant) -> Result<Telit, String> {
        let started = Instant::now();
        let emulator = Emulator::start_model(&TELIT, dir.join(variant.name))?;
        let dte = ready_modem(&emulator, started)?;
        let dte = match variant.wire {
            Wire::Raw => dte,
            Wire::Cmux { dlci } => {
                dte.expect("AT+CMUX=0\r", "\r\nOK\r\n")?;
                let fd = dte.fd();
                let mut deframer = Deframer::new(TELIT_N1);
                write_all(fd, &client_sabm(0)).map_err(|e| e.to_string())?;
                let ua = read_frames(fd, &mut deframer, 1)?;
                if (ua[0].dlci, ua[0].kind) != (0, Kind::Ua) {
                    return Err(format!("SABM on DLCI 0 answered {ua:?}"));
                }
                // UA on the DLCI, then the module's MSC for it on DLCI 0.
                write_all(fd, &client_sabm(dlci)).map_err(|e| e.to_string())?;
                let opened = read_frames(fd, &mut deframer, 2)?;
                let msc = (opened[1].dlci == 0 && opened[1].kind == Kind::Uih)
                    .then(|| control::messages(&opened[1].info).first()?.msc())
                    .flatten();
                if (opened[0].dlci, opened[0].kind) != (dlci, Kind::Ua)
                    || msc.map(|(d, _)| d) != Some(dlci)
                {
                    return Err(format!("SABM on DLCI {dlci} answered {opened:?}"));
                }
                // Only the last closing flag is held (it could open the next frame).
                if deframer.take_buffered().iter().any(|&b| b != FLAG) {
                    return Err("a partial frame after the SABMs".into());
                }
                Dte::new(dte.pty, variant.wire)
            }
        };
        // AT works on the channel the data will use.
        dte.expect("AT\r", "\r\nOK\r\n")?;
        Ok(Telit {
            variant,
            dte,
            emulator,
        })
    }

    /// `#SCFG` (if the variant sets one) and what `AT#SCFG?` then says of socket 1.
    pub fn configure(&self) -> Result<String, String> {
        if let Some(scfg) = self.variant.scfg {
            self.dte.expect(scfg, "\r\nOK\r\n")?;
        }
        let all = self
            .dte
            .answer("AT#SCFG?\r", &|seen| seen.ends_with(b"OK\r\n"))?;
        all.lines()
            .find(|l| l.starts_with("#SCFG: 1,"))
            .map(|l| l.trim().to_string())
            .ok_or_else(|| format!("AT#SCFG? answered {all:?}"))
    }

    /// `#SGACT`, `#SD` → `CONNECT`: online on socket 1, connected to a listener of this process.
    pub fn go_online(self) -> Result<Endpoint, String> {
        let (listener, port) = Endpoint::listener().map_err(|e| format!("listen: {e}"))?;
        let sgact = self
            .dte
            .answer("AT#SGACT=1,1\r", &|seen| seen.ends_with(b"OK\r\n"))?;
        if !sgact.starts_with("\r\n#SGACT: ") {
            return Err(format!("AT#SGACT=1,1 answered {sgact:?}"));
        }
        self.dte.expect(
            &format!("AT#SD=1,0,{port},\"127.0.0.1\"\r"),
            "\r\nCONNECT\r\n",
        )?;
        let peer = Endpoint::accept(&listener, || Ok(()))?;
        let Telit {
            variant,
            dte,
            emulator,
        } = self;
        let relay = emulator.tid;
        // One full packet checks the link: it leaves at once, without txTo.
        Endpoint::finish(
            variant.name,
            dte,
            peer,
            relay,
            Box::new(emulator),
            variant.pkt,
        )
        .map_err(|e| format!("{}: {e}", variant.name))
    }
}
