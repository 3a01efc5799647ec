//! SMS throughput and latency from one modem to another through the full AT path, over the real
//! PTYs of a `simodem run --config` world (the release binary, as a user runs it) whose network
//! delivers at once (`"sms_delay_ms": 0`).
//!
//! One message, for a pair of modems (A sends, B receives), both in text mode:
//!   A: `AT+CMGS="<B>"\r` → `\r\n> ` → `<text>\x1a` → … `\r\n+CMGS: <mr>\r\n\r\nOK\r\n`
//!   B: `\r\n+CMTI: "SM",<i>\r\n` → `AT+CMGR=<i>\r` → the record with A's number and the text →
//!      `AT+CMGD=<i>\r` → `\r\nOK\r\n`
//! The sender sends the next message once it has its `OK`. The SIM900 profile answers `+CMGS:`
//! only after about 1 s of modelled network acknowledgement, so one pair is bound to about one
//! message a second; the bench therefore runs 1, 4 and 16 pairs at once (one world of 2, 8, 32
//! modems; a thread per modem) and reports the aggregate rate.
//!
//! Per message it reports two latencies: **delivery** — from A writing `AT+CMGS` to B's `OK` after
//! `AT+CMGD` (the message went through the network and was read and deleted at B), and **send
//! cycle** — from A writing `AT+CMGS` to A's final `OK`. Every answer is checked byte for byte
//! (timestamps by their shape); a benchmark reports numbers and asserts nothing else.
//!
//! `cargo bench --bench sms` runs the full measurement; without `--bench` (as under
//! `cargo test --all-targets`) it runs a short smoke version.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::{Client, cpu_model, kernel, micros, percentile};

/// Time from the banner until every modem has registered.
const BOOT_SETTLE: Duration = Duration::from_millis(1500);
/// A hang guard for any single answer (not a measurement).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

struct Plan {
    pairs: &'static [usize],
    /// Messages per pair with the model's 1 s acknowledgement, and with `sms_ack_ms` 0 (the
    /// emulator's own cost, so more of them).
    messages_per_pair: usize,
    messages_per_pair_unpaced: usize,
}

const FULL: Plan = Plan {
    pairs: &[1, 4, 16],
    messages_per_pair: 20,
    messages_per_pair_unpaced: 500,
};

const SMOKE: Plan = Plan {
    pairs: &[1, 2],
    messages_per_pair: 2,
    messages_per_pair_unpaced: 5,
};

fn number(index: usize) -> String {
    format!("+1555{:07}", 1 + index)
}

/// A `simodem run --config` child; SIGTERM and wait when dropped.
struct World {
    child: Child,
    links: Vec<PathBuf>,
}

impl World {
    /// `ack_ms`: the world's `sms_ack_ms` (`None`: the model's 1 s).
    fn start(dir: &Path, modems: usize, ack_ms: Option<u64>) -> Result<World, String> {
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

    fn stop(&mut self) {
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

fn command(client: &Client, command: &str, want: &str) -> Result<(), String> {
    let got = exchange(client, command.as_bytes(), want.as_bytes())?;
    if got != want.as_bytes() {
        return Err(format!(
            "{command:?} answered {:?}; want {want:?}",
            String::from_utf8_lossy(&got)
        ));
    }
    Ok(())
}

fn exchange(client: &Client, bytes: &[u8], tail: &[u8]) -> Result<Vec<u8>, String> {
    common::write_all(std::os::fd::AsRawFd::as_raw_fd(&client.fd), bytes)
        .map_err(|e| format!("write: {e}"))?;
    client
        .read_until(tail, ANSWER_TIMEOUT)
        .map_err(|e| e.to_string())
}

/// Echo off, text mode, `+CMTI` for every new message, SIM memory for everything.
fn setup(client: &Client) -> Result<(), String> {
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

fn text(pair: usize, k: usize) -> String {
    format!("bench pair {pair} message {k}")
}

/// Sends the pair's messages one after another, each once the receiver has deleted the one
/// before (a closed loop, so a sender never outruns its receiver); hands each start time to the
/// receiver and returns the send cycles.
fn sender(
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
fn receiver(
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

struct Outcome {
    pairs: usize,
    messages: usize,
    wall: Duration,
    delivery: Vec<Duration>,
    cycle: Vec<Duration>,
}

fn run_pairs(
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

fn millis(d: Duration) -> f64 {
    micros(d) / 1000.0
}

fn machine() -> String {
    let nproc = thread::available_parallelism().map_or(0, |n| n.get());
    format!("nproc={nproc}, {}, {}", cpu_model(), kernel())
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let plan = if full { FULL } else { SMOKE };
    println!();
    println!(
        "SMS through the full AT path{}: {}",
        if full {
            ""
        } else {
            " (smoke run; use cargo bench)"
        },
        machine()
    );
    println!(
        "text mode; sms_delay_ms 0; ack: the network's acknowledgement (model 1000 ms, or the \
         world's sms_ack_ms 0); latencies in ms"
    );
    println!(
        "{:>6} {:>5} {:>8} {:>8} {:>8} {:>14} {:>12} {:>12} {:>12} {:>12}",
        "ack ms",
        "pairs",
        "modems",
        "messages",
        "wall s",
        "SMS/s (total)",
        "deliv p50",
        "deliv p99",
        "cycle p50",
        "cycle p99"
    );
    let dir = std::env::temp_dir().join(format!("simodem-bench-sms-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let mut failed = false;
    let runs = [
        (None, plan.messages_per_pair),
        (Some(0), plan.messages_per_pair_unpaced),
    ];
    for (ack_ms, messages) in runs {
        for &pairs in plan.pairs {
            match run_pairs(&dir, pairs, messages, ack_ms) {
                Ok(o) => println!(
                    "{:>6} {:>5} {:>8} {:>8} {:>8.2} {:>14.2} {:>12.2} {:>12.2} {:>12.1} {:>12.1}",
                    ack_ms.map_or("1000".to_string(), |ms| ms.to_string()),
                    o.pairs,
                    2 * o.pairs,
                    o.messages,
                    o.wall.as_secs_f64(),
                    o.messages as f64 / o.wall.as_secs_f64(),
                    millis(percentile(&o.delivery, 50.0)),
                    millis(percentile(&o.delivery, 99.0)),
                    millis(percentile(&o.cycle, 50.0)),
                    millis(percentile(&o.cycle, 99.0)),
                ),
                Err(e) => {
                    println!("{pairs:>5} pairs FAILED: {e}");
                    failed = true;
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    if failed {
        std::process::exit(1);
    }
}
