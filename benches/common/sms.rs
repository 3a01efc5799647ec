//! Figure 5: SMS from modem to modem through the full AT path, over the real PTYs of a
//! `simodem run --config` world (the release binary), text mode, `"sms_delay_ms": 0`.
//!
//! One message, for a pair of modems (A sends, B receives):
//!   A: `AT+CMGS="<B>"\r` → `\r\n> ` → `<text>\x1a` → … `\r\n+CMGS: <mr>\r\n\r\nOK\r\n`
//!   B: `\r\n+CMTI: "SM",<i>\r\n` → `AT+CMGR=<i>\r` → the record with A's number and the text →
//!      `AT+CMGD=<i>\r` → `\r\nOK\r\n`
//! A sends its next message once it has its `OK` and B has deleted the one before (a closed
//! loop). Every answer is checked byte for byte (timestamps by their shape). Used by
//! `benches/sms.rs` and `benches/suite.rs`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::Client;

/// Time from the banner until every modem has registered.
pub const BOOT_SETTLE: Duration = Duration::from_millis(1500);
/// A hang guard for any single answer (not a measurement).
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Plan {
    pub pairs: &'static [usize],
    /// Messages per pair with the model's 1 s acknowledgement, and with `sms_ack_ms` 0 (the
    /// emulator's own cost, so more of them).
    pub messages_per_pair: usize,
    pub messages_per_pair_unpaced: usize,
}

pub const FULL: Plan = Plan {
    pairs: &[1, 4, 16],
    messages_per_pair: 20,
    messages_per_pair_unpaced: 500,
};

pub const SMOKE: Plan = Plan {
    pairs: &[1, 2],
    messages_per_pair: 2,
    messages_per_pair_unpaced: 5,
};

pub fn number(index: usize) -> String {
    format!("+1555{:07}", 1 + index)
}

/// A `simodem run --config` child; SIGTERM and wait when dropped.
pub struct World {
    pub child: Child,
    pub links: Vec<PathBuf>,
}

impl World {
    /// `ack_ms`: the world's `sms_ack_ms` (`None`: the model's 1 s).
    pub fn start(dir: &Path, modems: usize, ack_ms: Option<u64>) -> Result<World, String> {
        let links: Vec<PathBuf> = (0..modems).map(|i| dir.join(format!("m{i}"))).collect();
        let control = dir.join("ctl");
        let mut config = serde_json::json!({
            "control": control,
            "sms_delay_ms": 0,
            "modems": links.iter().enumerate().map(|(i, link)| {
                serde_json::json!({"link": link, "number": number(i)})
            }).collect::<Vec<_>>(),
        });
        if let Some(ms) = ack_ms {
            config["sms_ack_ms"] = ms.into();
        }
        let path = dir.join("world.json");
        std::fs::write(&path, config.to_string()).map_err(|e| format!("world file: {e}"))?;
        let mut child = Command::new(env!("CARGO_BIN_EXE_simodem"))
            .arg("run")
            .arg("--config")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("spawn simodem: {e}"))?;
        let stdout = child.stdout.take().expect("stdout piped");
        let (tx, rx) = mpsc::channel::<String>();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let mut world = World { child, links };
        let last = format!("simodem: control socket {}", control.display());
        loop {
            match rx.recv_timeout(ANSWER_TIMEOUT) {
                Ok(line) if line == last => break,
                Ok(_) => {}
                Err(e) => {
                    world.stop();
                    return Err(format!("no banner from simodem ({e})"));
                }
            }
        }
        thread::sleep(BOOT_SETTLE);
        Ok(world)
    }

    pub fn stop(&mut self) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid fits pid_t");
        // SAFETY: kill(2) on our own child, not yet reaped.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
    }
}

pub fn command(client: &Client, command: &str, want: &str) -> Result<(), String> {
    let got = exchange(client, command.as_bytes(), want.as_bytes())?;
    if got != want.as_bytes() {
        return Err(format!(
            "{command:?} answered {:?}; want {want:?}",
            String::from_utf8_lossy(&got)
        ));
    }
    Ok(())
}

pub fn exchange(client: &Client, bytes: &[u8], tail: &[u8]) -> Result<Vec<u8>, String> {
    super::write_all(std::os::fd::AsRawFd::as_raw_fd(&client.fd), bytes)
        .map_err(|e| format!("write: {e}"))?;
    client
        .read_until(tail, ANSWER_TIMEOUT)
        .map_err(|e| e.to_string())
}

/// Echo off, text mode, `+CMTI` for every new message, SIM memory for everything.
pub fn setup(client: &Client) -> Result<(), String> {
    // The first AT trains auto-baud; its echo depends on the power-on state.
    exchange(client, b"AT\r", b"\r\nOK\r\n")?;
    command(client, "ATE0\r", "ATE0\r\r\nOK\r\n")?;
    command(client, "AT+CMGF=1\r", "\r\nOK\r\n")?;
    command(client, "AT+CNMI=2,1,0,0,0\r", "\r\nOK\r\n")?;
    command(
        client,
        "AT+CPMS=\"SM\",\"SM\",\"SM\"\r",
        "\r\n+CPMS: 0,30,0,30,0,30\r\n\r\nOK\r\n",
    )
}

pub fn text(pair: usize, k: usize) -> String {
    format!("bench pair {pair} message {k}")
}

/// Sends the pair's messages one after another, each once the receiver has deleted the one
/// before (a closed loop, so a sender never outruns its receiver); hands each start time to the
/// receiver and returns the send cycles.
pub fn sender(
    client: Client,
    pair: usize,
    to: String,
    messages: usize,
    starts: mpsc::Sender<Instant>,
    deleted: mpsc::Receiver<()>,
) -> Result<Vec<Duration>, String> {
    let mut cycles = Vec::with_capacity(messages);
    for k in 0..messages {
        let start = Instant::now();
        let _ = starts.send(start);
        command(&client, &format!("AT+CMGS=\"{to}\"\r"), "\r\n> ")?;
        let got = exchange(
            &client,
            format!("{}\x1a", text(pair, k)).as_bytes(),
            b"\r\n\r\nOK\r\n",
        )?;
        let want = format!("\r\n+CMGS: {}\r\n\r\nOK\r\n", k % 256);
        if got != want.as_bytes() {
            return Err(format!(
                "pair {pair}: message {k} answered {:?}; want {want:?}",
                String::from_utf8_lossy(&got)
            ));
        }
        cycles.push(start.elapsed());
        deleted
            .recv_timeout(ANSWER_TIMEOUT)
            .map_err(|e| format!("pair {pair}: message {k} never deleted at the receiver: {e}"))?;
    }
    Ok(cycles)
}

/// Reads, checks and deletes each message as its `+CMTI` comes; returns the delivery latencies.
pub fn receiver(
    client: Client,
    pair: usize,
    from: String,
    messages: usize,
    starts: mpsc::Receiver<Instant>,
    deleted: mpsc::Sender<()>,
) -> Result<Vec<Duration>, String> {
    let mut latencies = Vec::with_capacity(messages);
    for k in 0..messages {
        let start = starts
            .recv_timeout(ANSWER_TIMEOUT)
            .map_err(|e| format!("pair {pair}: no start time for message {k}: {e}"))?;
        let cmti = client
            .read_until(b"\r\n", ANSWER_TIMEOUT)
            .and_then(|mut got| {
                if got.len() == 2 {
                    // The leading CR LF of the URC; the line follows.
                    got.extend(client.read_until(b"\r\n", ANSWER_TIMEOUT)?);
                }
                Ok(got)
            })
            .map_err(|e| format!("pair {pair}: waiting for +CMTI: {e}"))?;
        let cmti = String::from_utf8_lossy(&cmti).into_owned();
        let index = cmti
            .strip_prefix("\r\n+CMTI: \"SM\",")
            .and_then(|rest| rest.strip_suffix("\r\n"))
            .and_then(|i| i.parse::<u32>().ok())
            .ok_or_else(|| format!("pair {pair}: want +CMTI, got {cmti:?}"))?;
        let got = exchange(
            &client,
            format!("AT+CMGR={index}\r").as_bytes(),
            b"\r\n\r\nOK\r\n",
        )?;
        let got = String::from_utf8_lossy(&got);
        let head = format!("\r\n+CMGR: \"REC UNREAD\",\"{from}\",\"\",\"");
        let tail = format!("\"\r\n{}\r\n\r\nOK\r\n", text(pair, k));
        let stamp = got
            .strip_prefix(&head)
            .and_then(|rest| rest.strip_suffix(&tail));
        // "yy/MM/dd,hh:mm:ss+zz"
        let stamp_ok = stamp.is_some_and(|s| {
            s.len() == 20
                && s.bytes().enumerate().all(|(i, b)| match i {
                    2 | 5 => b == b'/',
                    8 => b == b',',
                    11 | 14 => b == b':',
                    17 => b == b'+' || b == b'-',
                    _ => b.is_ascii_digit(),
                })
        });
        if !stamp_ok {
            return Err(format!(
                "pair {pair}: AT+CMGR={index} answered {got:?}; want {head:?}<time>{tail:?}"
            ));
        }
        command(&client, &format!("AT+CMGD={index}\r"), "\r\nOK\r\n")?;
        latencies.push(start.elapsed());
        let _ = deleted.send(());
    }
    Ok(latencies)
}

pub struct Outcome {
    pub pairs: usize,
    pub messages: usize,
    pub wall: Duration,
    pub delivery: Vec<Duration>,
    pub cycle: Vec<Duration>,
}

pub fn run_pairs(
    dir: &Path,
    pairs: usize,
    messages: usize,
    ack_ms: Option<u64>,
) -> Result<Outcome, String> {
    let dir = dir.join(format!("pairs{pairs}-ack{ack_ms:?}"));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let world = World::start(&dir, 2 * pairs, ack_ms)?;
    let mut clients = Vec::new();
    for link in &world.links {
        let client = Client::open(link).map_err(|e| format!("{}: {e}", link.display()))?;
        setup(&client)?;
        clients.push(client);
    }
    let mut clients = clients.into_iter();
    let started = Instant::now();
    let mut threads = Vec::new();
    for pair in 0..pairs {
        let a = clients.next().expect("a sender per pair");
        let b = clients.next().expect("a receiver per pair");
        let (tx, rx) = mpsc::channel();
        let (deleted_tx, deleted_rx) = mpsc::channel();
        let (from, to) = (number(2 * pair), number(2 * pair + 1));
        threads.push((
            thread::spawn(move || sender(a, pair, to, messages, tx, deleted_rx)),
            thread::spawn(move || receiver(b, pair, from, messages, rx, deleted_tx)),
        ));
    }
    let (mut delivery, mut cycle) = (Vec::new(), Vec::new());
    let mut first_error = None;
    for (send, receive) in threads {
        match send.join().expect("sender thread") {
            Ok(c) => cycle.extend(c),
            Err(e) => first_error = first_error.or(Some(e)),
        }
        match receive.join().expect("receiver thread") {
            Ok(d) => delivery.extend(d),
            Err(e) => first_error = first_error.or(Some(e)),
        }
    }
    let wall = started.elapsed();
    drop(world);
    let _ = std::fs::remove_dir_all(&dir);
    if let Some(e) = first_error {
        return Err(e);
    }
    delivery.sort_unstable();
    cycle.sort_unstable();
    Ok(Outcome {
        pairs,
        messages: pairs * messages,
        wall,
        delivery,
        cycle,
    })
}
