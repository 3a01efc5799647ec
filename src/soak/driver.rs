//! One modem's client during a soak: a loop of random activities (SMS, TCP sessions through the
//! echo server with +++/ATO and DTR cycles, network loss, reboots) that reports to the ledger.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::json;

use super::echo::{EchoServer, Fnv, HEADER_LEN, header};
use super::ledger::{Event, Ledger, SessionEnd, SessionReport, SmsOutcome, sms_text};
use super::port::{AtPort, ControlClient, FINALS, PortError};

/// Which module a driver talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    Sim900,
    Telit,
}

/// Everything the drivers share.
pub struct Shared {
    pub ledger: Ledger,
    pub echo: EchoServer,
    pub links: Vec<PathBuf>,
    pub models: Vec<Model>,
    pub numbers: Vec<String>,
    pub control: PathBuf,
    /// No new activity starts after this.
    pub deadline: Instant,
    /// Drivers that sent their last SMS.
    pub done_sending: AtomicUsize,
    /// Drivers that finished.
    pub finished: AtomicUsize,
    pub next_session: AtomicU64,
}

/// How long an ordinary command may take (a hang guard, not a measurement).
const COMMAND: Duration = Duration::from_secs(20);
/// Registration, boot, the network's SMS acknowledgement: generous.
const SLOW: Duration = Duration::from_secs(60);
/// How long after the last SMS anyone sent the drivers keep reading their memories.
const SMS_SETTLE: Duration = Duration::from_secs(4);
/// How long the final drain may wait for messages still owed.
const DRAIN_LIMIT: Duration = Duration::from_secs(120);

/// What ended an activity early: an answer the emulator should not have given.
type Step<T> = Result<T, String>;

fn port_err(what: &str) -> impl Fn(PortError) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// How a session's data exchange goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Interlude {
    /// Write a chunk, read its echo.
    Plain,
    /// Write a chunk, wait the guard time, `+++`, a command, `ATO`/`#SO`, the rest of the echo.
    Escape,
    /// Write a chunk, read its echo, DTR down under `&D1` (`OK`), up, `ATO`.
    DtrResume,
}

pub struct Driver {
    index: usize,
    model: Model,
    port: AtPort,
    ctl: ControlClient,
    rng: StdRng,
    shared: Arc<Shared>,
    /// The bearer is up for the next connection (SIM900 `+CIICR`, Telit `#SGACT`).
    ip_ready: bool,
    /// SIM900: the bearer was set up for transparent mode (`+CIPMODE=1`); otherwise sessions
    /// stay in command mode with `+CIPSEND` and `+IPD`.
    transparent: bool,
}

impl Driver {
    pub fn new(index: usize, seed: u64, shared: Arc<Shared>) -> Result<Driver, String> {
        let port = AtPort::open(&shared.links[index])
            .map_err(|e| format!("modem {index}: cannot open its port: {e}"))?;
        let ctl = ControlClient::connect(&shared.control)
            .map_err(|e| format!("modem {index}: cannot reach the control socket: {e}"))?;
        Ok(Driver {
            index,
            model: shared.models[index],
            port,
            ctl,
            rng: StdRng::seed_from_u64(seed),
            shared,
            ip_ready: false,
            transparent: true,
        })
    }

    fn fail(&self, what: String) {
        self.shared
            .ledger
            .fail(format!("modem {} ({:?}): {what}", self.index, self.model));
    }

    /// The whole life of the driver: start-up, activities until the deadline, the final drain.
    pub fn run(mut self) {
        if let Err(e) = self.init() {
            self.fail(format!("start-up: {e}"));
        }
        let mut trouble = 0;
        while Instant::now() < self.shared.deadline && trouble < 5 {
            let result = self.activity().and_then(|()| self.sms_poll());
            match result {
                Ok(()) => trouble = 0,
                Err(e) => {
                    self.fail(e);
                    trouble += 1;
                    if let Err(e) = self.recover() {
                        self.fail(format!("recovery: {e}"));
                    }
                }
            }
        }
        if trouble >= 5 {
            self.fail("gave up after five failures in a row".into());
        }
        self.shared.done_sending.fetch_add(1, Ordering::SeqCst);
        self.drain_sms();
        self.shared.finished.fetch_add(1, Ordering::SeqCst);
    }

    /// After a failure: whatever mode the modem is in, back to a known command state.
    fn recover(&mut self) -> Step<()> {
        let _ = self.control(json!({"verb": "network", "service": "home"}));
        let _ = self.control(json!({"verb": "dtr", "state": "up"}));
        std::thread::sleep(Duration::from_millis(1200));
        let _ = self.port.send(b"+++");
        std::thread::sleep(Duration::from_millis(1200));
        let _ = self
            .port
            .drain(Duration::from_millis(300), Duration::from_secs(5));
        // A connection the failure left open goes, as a real client would close it.
        self.wake()?;
        let close = match self.model {
            Model::Sim900 => "AT+CIPSHUT",
            Model::Telit => "AT#SH=1",
        };
        let _ = self
            .port
            .command(close, &["SHUT OK", "OK", "ERROR", "+CME ERROR"], COMMAND);
        self.init()
    }

    fn control(&mut self, request: serde_json::Value) -> Step<serde_json::Value> {
        let mut request = request;
        request["modem"] = json!(self.index);
        self.ctl.request(&request)
    }

    fn at(&mut self, command: &str) -> Step<super::port::Reply> {
        let reply = self.port.at(command, COMMAND).map_err(port_err(command))?;
        if !reply.ok() {
            return Err(format!("{command}: {} {:?}", reply.last, reply.lines));
        }
        Ok(reply)
    }

    /// Ends whatever half line the modem holds and sends `AT` until it answers `OK` (the
    /// SIM900's auto-baud waits for one after power-on); then lets the port fall quiet.
    fn wake(&mut self) -> Step<()> {
        let end = Instant::now() + SLOW;
        self.port.send(b"\r").map_err(|e| format!("CR: {e}"))?;
        let _ = self
            .port
            .drain(Duration::from_millis(150), Duration::from_secs(2));
        loop {
            self.port.send(b"AT\r").map_err(|e| format!("AT: {e}"))?;
            if let Ok(reply) = self
                .port
                .until_final(&["OK", "ERROR"], Duration::from_millis(700))
                && reply.ok()
            {
                break;
            }
            if Instant::now() > end {
                return Err("the modem never answered AT".into());
            }
        }
        let _ = self
            .port
            .drain(Duration::from_millis(150), Duration::from_secs(2));
        Ok(())
    }

    /// Wakes the modem (the SIM900's auto-baud waits for `AT`), sets it up, waits for the network.
    fn init(&mut self) -> Step<()> {
        self.wake()?;
        self.at("ATE0")?;
        self.at("AT+CMEE=1")?;
        self.at("AT+CMGF=1")?;
        self.at("AT+CPMS=\"SM\",\"SM\",\"SM\"")?;
        match self.model {
            Model::Sim900 => self.at("AT+CNMI=2,1,0,0,0")?,
            Model::Telit => self.at("AT+CNMI=1,1,0,0,0")?,
        };
        self.at("AT&D1")?;
        if self.model == Model::Telit {
            // 0.5 s guard time; +++ stays off the wire; small packets go after 100 ms.
            self.at("ATS12=25")?;
            self.at("AT#SKIPESC=1")?;
            self.at("AT#SCFG=1,1,300,90,600,1")?;
            self.at("AT+CGDCONT=1,\"IP\",\"internet\"")?;
        }
        self.ip_ready = false;
        self.wait_registered()
    }

    fn guard(&self) -> Duration {
        match self.model {
            // S12 is fixed at 1 s on the SIM900.
            Model::Sim900 => Duration::from_millis(1250),
            Model::Telit => Duration::from_millis(750),
        }
    }

    fn wait_registered(&mut self) -> Step<()> {
        let end = Instant::now() + SLOW;
        loop {
            let reply = self.at("AT+CREG?")?;
            if reply
                .lines
                .iter()
                .any(|l| l == "+CREG: 0,1" || l == "+CREG: 0,5")
            {
                return Ok(());
            }
            if Instant::now() > end {
                return Err(format!("never registered: {:?}", reply.lines));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// One random activity.
    fn activity(&mut self) -> Step<()> {
        let roll = self.rng.random_range(0..100);
        match roll {
            0..30 => {
                let to = self.other_modem();
                self.sms_send(to, false).map(|_| ())
            }
            30..62 => self.tcp_session(),
            62..69 => self.network_loss_idle(),
            69..75 => self.reboot_idle(),
            75..79 => self.reboot_mid_sms(),
            79..85 => self.dtr_idle(),
            _ => {
                let pause = self.rng.random_range(50..400);
                std::thread::sleep(Duration::from_millis(pause));
                Ok(())
            }
        }
    }

    fn other_modem(&mut self) -> usize {
        let n = self.shared.links.len();
        let pick = self.rng.random_range(0..n - 1);
        if pick >= self.index { pick + 1 } else { pick }
    }

    // ----- SMS -----

    /// Sends one SMS to modem `to`; `Ok(true)` when the network took it. With `refusal_expected`
    /// (no network on purpose) a `+CMS ERROR` is the right answer and `+CMGS` a failure.
    fn sms_send(&mut self, to: usize, refusal_expected: bool) -> Step<bool> {
        let shared = self.shared.clone();
        let ledger = &shared.ledger;
        let seq = ledger.sms_attempt(self.index, to);
        let text = sms_text(self.index, seq, to);
        let number = self.shared.numbers[to].clone();
        self.prompt_and_send(&number, &text, seq)?;
        let reply = self
            .port
            .until_final(FINALS, SLOW)
            .map_err(port_err("AT+CMGS"))?;
        if reply.ok() && reply.lines.iter().any(|l| l.starts_with("+CMGS: ")) {
            ledger.sms_outcome(self.index, seq, SmsOutcome::Confirmed);
            if refusal_expected {
                return Err(format!("SMS {seq} was sent without a network"));
            }
            Ok(true)
        } else {
            ledger.sms_outcome(self.index, seq, SmsOutcome::Refused);
            if refusal_expected && reply.last.starts_with("+CMS ERROR") {
                Ok(false)
            } else {
                Err(format!("SMS {seq}: {} {:?}", reply.last, reply.lines))
            }
        }
    }

    /// `AT+CMGS="<number>"`, the prompt, the text and Ctrl-Z.
    fn prompt_and_send(&mut self, number: &str, text: &str, seq: usize) -> Step<()> {
        let command = format!("AT+CMGS=\"{number}\"\r");
        self.port
            .send(command.as_bytes())
            .map_err(|e| format!("AT+CMGS: {e}"))?;
        self.port
            .take_until(b"> ", COMMAND)
            .map_err(port_err("the AT+CMGS prompt"))?;
        let mut body = text.as_bytes().to_vec();
        body.push(0x1a);
        self.port.send(&body).map_err(|e| format!("SMS {seq}: {e}"))
    }

    /// Reads every stored message (`+CMGL="ALL"`), hands it to the ledger and deletes it.
    fn sms_poll(&mut self) -> Step<()> {
        let reply = self.at("AT+CMGL=\"ALL\"")?;
        let mut lines = reply.lines.iter();
        let mut read = Vec::new();
        while let Some(line) = lines.next() {
            let Some(fields) = line.strip_prefix("+CMGL: ") else {
                continue;
            };
            let parts: Vec<&str> = fields.split(',').collect();
            let index: u32 = parts
                .first()
                .and_then(|i| i.trim().parse().ok())
                .ok_or_else(|| format!("a +CMGL line without an index: {line:?}"))?;
            let originator = parts.get(2).map(|o| o.trim_matches('"')).unwrap_or("");
            let text = lines.next().map(String::as_str).unwrap_or("");
            self.shared.ledger.sms_arrived(self.index, originator, text);
            read.push(index);
        }
        for index in read {
            self.at(&format!("AT+CMGD={index}"))?;
        }
        Ok(())
    }

    /// After the deadline: read messages until nothing more is owed to this modem and every
    /// driver has stopped sending for a while.
    fn drain_sms(&mut self) {
        let started = Instant::now();
        let mut all_done_at: Option<Instant> = None;
        loop {
            if let Err(e) = self.sms_poll() {
                self.fail(format!("final SMS read: {e}"));
                if self.recover().is_err() {
                    return;
                }
            }
            let everyone =
                self.shared.done_sending.load(Ordering::SeqCst) == self.shared.links.len();
            if everyone && all_done_at.is_none() {
                all_done_at = Some(Instant::now());
            }
            let settled = all_done_at.is_some_and(|at| at.elapsed() >= SMS_SETTLE);
            if settled && self.shared.ledger.sms_owed_to(self.index) == 0 {
                // One more read for anything that came with the last check.
                if let Err(e) = self.sms_poll() {
                    self.fail(format!("final SMS read: {e}"));
                }
                return;
            }
            if started.elapsed() > DRAIN_LIMIT {
                return;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    // ----- disruptions outside sessions -----

    /// Network gone: an SMS is refused, then the network returns and the client waits for it.
    fn network_loss_idle(&mut self) -> Step<()> {
        self.control(json!({"verb": "network", "service": "none"}))?;
        self.shared.ledger.count(Event::NetworkLoss);
        self.ip_ready = false;
        std::thread::sleep(Duration::from_millis(self.rng.random_range(100..800)));
        if self.rng.random_bool(0.6) {
            let to = self.other_modem();
            self.sms_send(to, true)?;
        }
        std::thread::sleep(Duration::from_millis(self.rng.random_range(100..1500)));
        self.control(json!({"verb": "network", "service": "home"}))?;
        self.wait_registered()
    }

    fn reboot_idle(&mut self) -> Step<()> {
        self.reboot()
    }

    fn reboot(&mut self) -> Step<()> {
        self.control(json!({"verb": "reboot"}))?;
        self.shared.ledger.count(Event::Reboot);
        let _ = self
            .port
            .drain(Duration::from_millis(200), Duration::from_secs(3));
        self.init()
    }

    /// A reboot between Ctrl-Z and `+CMGS`: the message may arrive once, or not at all.
    fn reboot_mid_sms(&mut self) -> Step<()> {
        let to = self.other_modem();
        let seq = self.shared.ledger.sms_attempt(self.index, to);
        let text = sms_text(self.index, seq, to);
        let number = self.shared.numbers[to].clone();
        self.prompt_and_send(&number, &text, seq)?;
        std::thread::sleep(Duration::from_millis(self.rng.random_range(0..300)));
        self.shared
            .ledger
            .sms_outcome(self.index, seq, SmsOutcome::Uncertain);
        self.shared.ledger.count(Event::RebootMidSms);
        self.reboot()
    }

    /// DTR down and up in command mode: nothing changes, the next `AT` answers.
    fn dtr_idle(&mut self) -> Step<()> {
        self.control(json!({"verb": "dtr", "state": "down"}))?;
        std::thread::sleep(Duration::from_millis(self.rng.random_range(10..200)));
        self.control(json!({"verb": "dtr", "state": "up"}))?;
        self.shared.ledger.count(Event::DtrIdle);
        self.at("AT")?;
        Ok(())
    }

    // ----- TCP -----

    fn ip_up(&mut self) -> Step<()> {
        match self.model {
            Model::Sim900 => {
                let reply = self
                    .port
                    .command("AT+CIPSHUT", &["SHUT OK", "ERROR"], COMMAND)
                    .map_err(port_err("AT+CIPSHUT"))?;
                if reply.last != "SHUT OK" {
                    return Err(format!("AT+CIPSHUT: {}", reply.last));
                }
                self.at("AT+CIPMUX=0")?;
                // Half the bearers carry transparent sessions, half command-mode ones.
                self.transparent = self.rng.random_bool(0.5);
                if self.transparent {
                    self.at("AT+CIPMODE=1")?;
                    self.at("AT+CIPCCFG=5,2,1024,1")?;
                } else {
                    self.at("AT+CIPMODE=0")?;
                    self.at("AT+CIPHEAD=1")?;
                    self.at("AT+CIPQSEND=0")?;
                }
                self.at("AT+CSTT=\"internet\",\"\",\"\"")?;
                self.at("AT+CIICR")?;
                self.at("AT+CIFSR;E0")?;
            }
            Model::Telit => {
                let reply = self
                    .port
                    .at("AT#SGACT=1,1", SLOW)
                    .map_err(port_err("AT#SGACT=1,1"))?;
                // 553: already active (a context that outlived the last session).
                if !reply.ok() && reply.last != "+CME ERROR: 553" {
                    return Err(format!("AT#SGACT=1,1: {} {:?}", reply.last, reply.lines));
                }
            }
        }
        self.ip_ready = true;
        Ok(())
    }

    /// Dials the echo server: `Ok(true)` once online.
    fn dial(&mut self) -> Step<bool> {
        let port = self.shared.echo.port;
        let (command, finals): (String, &[&str]) = match self.model {
            Model::Sim900 => (
                format!("AT+CIPSTART=\"TCP\",\"127.0.0.1\",{port}"),
                &[
                    "CONNECT OK",
                    "CONNECT",
                    "CONNECT FAIL",
                    "ERROR",
                    "+CME ERROR",
                    "ALREADY CONNECT",
                ],
            ),
            Model::Telit => (
                format!("AT#SD=1,0,{port},\"127.0.0.1\""),
                &["CONNECT", "NO CARRIER", "ERROR", "+CME ERROR"],
            ),
        };
        let reply = self
            .port
            .command(&command, finals, SLOW)
            .map_err(port_err(&command))?;
        if reply.last == "CONNECT" || reply.last == "CONNECT OK" {
            return Ok(true);
        }
        tracing::info!(
            modem = self.index,
            "{command}: {} {:?}",
            reply.last,
            reply.lines
        );
        Ok(false)
    }

    fn random_chunk(&mut self) -> Vec<u8> {
        // `AT+CIPSEND` takes at most 1,460 bytes on the SIM900 (`AT+CIPSEND?`).
        let max = if self.online_mode() { 2048 } else { 1461 };
        let len = self.rng.random_range(8..max);
        let mut chunk: Vec<u8> = (0..len).map(|_| self.rng.random()).collect();
        // Never a `+` last: a chunk may not look like the start of an escape.
        if let Some(last) = chunk.last_mut()
            && *last == b'+'
        {
            *last = b'-';
        }
        chunk
    }

    /// One session through the echo server, ended one of four ways, with interludes.
    fn tcp_session(&mut self) -> Step<()> {
        if !self.ip_ready {
            self.ip_up()?;
        }
        let roll = self.rng.random_range(0..100);
        let end = match roll {
            // In command mode a session ends with +CIPCLOSE (and DTR leaves it alone).
            0..65 if !self.online_mode() => SessionEnd::Escape,
            0..45 => SessionEnd::Escape,
            45..65 => SessionEnd::DtrClose,
            65..83 => SessionEnd::NetworkLoss,
            _ => SessionEnd::Reboot,
        };
        let chunks = self.rng.random_range(2..10);
        // The disruption strikes with chunk `strike` in flight.
        let strike = self.rng.random_range(0..chunks);
        if !self.online_mode() {
            self.shared.ledger.count(Event::CommandModeSession);
        }
        if end == SessionEnd::DtrClose {
            self.at("AT&D2")?;
        }
        let mut online = self.dial()?;
        if !online {
            // A real client shuts the bearer and tries again.
            self.shared.ledger.count(Event::Retry);
            self.ip_up()?;
            online = self.dial()?;
        }
        if !online {
            return Err("cannot connect to the echo server".into());
        }
        let session = self.shared.next_session.fetch_add(1, Ordering::SeqCst);
        let mut sent: Vec<u8> = Vec::new();
        let mut verified: u64 = 0;
        let result = self.exchange(session, end, chunks, strike, &mut sent, &mut verified);
        let (end, in_flight) = match &result {
            Ok(ended) => *ended,
            Err(_) => (SessionEnd::Broken, 0),
        };
        // The modem must close its side: wait for the server to see it.
        let deadline = Instant::now() + Duration::from_secs(15);
        let server = loop {
            let side = self.shared.echo.session(session);
            if side.as_ref().is_some_and(|s| s.closed) || Instant::now() > deadline {
                break side;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        self.shared.echo.forget(session);
        let sent_prefix_hash = server.as_ref().map(|s| {
            let n = (s.received as usize).min(sent.len());
            Fnv(Fnv::of(&sent[..n]))
        });
        if end != SessionEnd::Broken {
            self.shared.ledger.tcp_session(&SessionReport {
                modem: self.index,
                session,
                end,
                sent: sent.len() as u64,
                verified,
                in_flight,
                sent_prefix_hash,
                server,
            });
        }
        result.map(|_| ())
    }

    /// Writes `chunk`, records it, and reads its echo back exactly.
    fn lockstep(&mut self, chunk: &[u8], sent: &mut Vec<u8>, verified: &mut u64) -> Step<()> {
        self.send_chunk(chunk, sent)?;
        let back = self.read_echo(chunk.len())?;
        self.check_echo(chunk, &back)?;
        *verified += back.len() as u64;
        Ok(())
    }

    /// Sessions are online (SIM900 transparent mode, Telit `#SD`), not in command mode.
    fn online_mode(&self) -> bool {
        self.model == Model::Telit || self.transparent
    }

    /// Online the bytes themselves; in command mode `AT+CIPSEND=<n>`, the prompt, the bytes.
    fn send_chunk(&mut self, chunk: &[u8], sent: &mut Vec<u8>) -> Step<()> {
        if !self.online_mode() {
            self.port
                .send(format!("AT+CIPSEND={}\r", chunk.len()).as_bytes())
                .map_err(|e| format!("AT+CIPSEND: {e}"))?;
            self.port
                .take_until(b"> ", COMMAND)
                .map_err(port_err("the AT+CIPSEND prompt"))?;
        }
        self.port
            .send(chunk)
            .map_err(|e| format!("data write: {e}"))?;
        sent.extend_from_slice(chunk);
        Ok(())
    }

    /// `len` echoed bytes: online as they come; in command mode `SEND OK`, then `+IPD,<n>:`
    /// frames until `len` bytes came.
    fn read_echo(&mut self, len: usize) -> Step<Vec<u8>> {
        if self.online_mode() {
            return self
                .port
                .take_data(len, COMMAND)
                .map_err(port_err("the echo"));
        }
        let reply = self
            .port
            .until_final(&["SEND OK", "SEND FAIL", "ERROR"], COMMAND)
            .map_err(port_err("SEND OK"))?;
        if reply.last != "SEND OK" {
            return Err(format!("AT+CIPSEND: {} {:?}", reply.last, reply.lines));
        }
        let mut got = Vec::with_capacity(len);
        while got.len() < len {
            self.port
                .take_until(b"+IPD,", COMMAND)
                .map_err(port_err("+IPD"))?;
            let count = self
                .port
                .take_until(b":", COMMAND)
                .map_err(port_err("the +IPD length"))?;
            let count: usize = std::str::from_utf8(&count)
                .ok()
                .and_then(|c| c.parse().ok())
                .ok_or_else(|| format!("+IPD,{:?}", String::from_utf8_lossy(&count)))?;
            got.extend(
                self.port
                    .take_data(count, COMMAND)
                    .map_err(port_err("the +IPD data"))?,
            );
        }
        Ok(got)
    }

    fn check_echo(&self, expected: &[u8], got: &[u8]) -> Step<()> {
        if got.len() > expected.len() || expected[..got.len()] != *got {
            return Err(format!(
                "the echo differs: {} bytes expected, {} came",
                expected.len(),
                got.len()
            ));
        }
        Ok(())
    }

    fn exchange(
        &mut self,
        session: u64,
        end: SessionEnd,
        chunks: usize,
        strike: usize,
        sent: &mut Vec<u8>,
        verified: &mut u64,
    ) -> Step<(SessionEnd, u64)> {
        // Some sessions' echoes come late, so they reach a modem out of data mode and wait.
        let delay = if self.rng.random_bool(0.3) {
            self.rng.random_range(50..300)
        } else {
            0
        };
        let head = header(session, delay);
        debug_assert_eq!(head.len(), HEADER_LEN);
        self.lockstep(&head, sent, verified)?;
        for k in 0..chunks {
            let chunk = self.random_chunk();
            if k == strike && matches!(end, SessionEnd::NetworkLoss | SessionEnd::Reboot) {
                self.disrupt(end, &chunk, sent)?;
                return Ok((end, chunk.len() as u64));
            }
            let interlude = match self.rng.random_range(0..100) {
                _ if !self.online_mode() => Interlude::Plain,
                0..12 => Interlude::Escape,
                12..22 if end != SessionEnd::DtrClose => Interlude::DtrResume,
                _ => Interlude::Plain,
            };
            match interlude {
                Interlude::Plain => self.lockstep(&chunk, sent, verified)?,
                Interlude::Escape => self.escape_cycle(&chunk, sent, verified)?,
                Interlude::DtrResume => self.dtr_cycle(&chunk, sent, verified)?,
            }
        }
        match end {
            _ if !self.online_mode() => self.cipclose()?,
            SessionEnd::DtrClose => self.dtr_close()?,
            _ => self.escape_close()?,
        }
        Ok((end, 0))
    }

    /// Back online after `+++` or a DTR drop: `ATO` or (Telit) `#SO=1`.
    fn resume(&mut self) -> Step<()> {
        let command = if self.model == Model::Telit && self.rng.random_bool(0.5) {
            "AT#SO=1"
        } else {
            "ATO"
        };
        let reply = self
            .port
            .command(
                command,
                &["CONNECT", "NO CARRIER", "ERROR", "+CME ERROR"],
                COMMAND,
            )
            .map_err(port_err(command))?;
        if reply.last != "CONNECT" {
            return Err(format!("{command}: {} {:?}", reply.last, reply.lines));
        }
        Ok(())
    }

    /// `+++` with the guard times; what echo came before the `OK` is returned.
    fn escape(&mut self) -> Step<Vec<u8>> {
        std::thread::sleep(self.guard());
        self.port.send(b"+++").map_err(|e| format!("+++: {e}"))?;
        let before = self
            .port
            .take_until(b"\r\nOK\r\n", COMMAND)
            .map_err(port_err("the OK after +++"))?;
        self.shared.ledger.count(Event::Escape);
        Ok(before)
    }

    /// A chunk in flight, `+++`, a command in online command mode, back online: the rest of the
    /// echo must follow `CONNECT` (the modem held it).
    fn escape_cycle(&mut self, chunk: &[u8], sent: &mut Vec<u8>, verified: &mut u64) -> Step<()> {
        self.port
            .send(chunk)
            .map_err(|e| format!("data write: {e}"))?;
        sent.extend_from_slice(chunk);
        let before = self.escape()?;
        self.check_echo(chunk, &before)?;
        if before.len() < chunk.len() {
            self.shared.ledger.count(Event::HeldEcho);
        }
        let reply = self.at("AT+CSQ")?;
        if !reply.lines.iter().any(|l| l.starts_with("+CSQ: ")) {
            return Err(format!("AT+CSQ in online command mode: {:?}", reply.lines));
        }
        self.resume()?;
        let rest = self
            .port
            .take_data(chunk.len() - before.len(), COMMAND)
            .map_err(port_err("the held echo"))?;
        self.check_echo(&chunk[before.len()..], &rest)?;
        *verified += chunk.len() as u64;
        Ok(())
    }

    /// What the modem has put on the socket of this session so far (`ctl state`).
    fn socket_bytes_sent(&mut self) -> Step<u64> {
        let state = self.control(json!({"verb": "state"}))?;
        let state = &state["state"];
        let sent = match self.model {
            Model::Sim900 => state["sockets"][0]["bytes_sent"].as_u64(),
            Model::Telit => state["ip_easy"]["sockets"]
                .as_array()
                .and_then(|s| s.iter().find(|s| s["conn_id"] == 1))
                .and_then(|s| s["bytes_sent"].as_u64()),
        };
        sent.ok_or_else(|| format!("ctl state shows no connection: {state}"))
    }

    /// A chunk in flight and a DTR drop under `&D1` once the modem has sent it on: `OK`, the
    /// link stays, the echo that comes meanwhile is held; DTR up, back online, the rest follows.
    fn dtr_cycle(&mut self, chunk: &[u8], sent: &mut Vec<u8>, verified: &mut u64) -> Step<()> {
        self.port
            .send(chunk)
            .map_err(|e| format!("data write: {e}"))?;
        sent.extend_from_slice(chunk);
        // The drop must not catch bytes the modem has not read yet: they would be commands.
        let deadline = Instant::now() + COMMAND;
        while self.socket_bytes_sent()? < sent.len() as u64 {
            if Instant::now() > deadline {
                return Err("the modem never sent the chunk on".into());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.control(json!({"verb": "dtr", "state": "down"}))?;
        let before = self
            .port
            .take_until(b"\r\nOK\r\n", COMMAND)
            .map_err(port_err("the OK after a DTR drop under &D1"))?;
        self.check_echo(chunk, &before)?;
        self.control(json!({"verb": "dtr", "state": "up"}))?;
        self.shared.ledger.count(Event::DtrResume);
        if before.len() < chunk.len() {
            self.shared.ledger.count(Event::HeldEcho);
        }
        self.resume()?;
        let rest = self
            .port
            .take_data(chunk.len() - before.len(), COMMAND)
            .map_err(port_err("the held echo"))?;
        self.check_echo(&chunk[before.len()..], &rest)?;
        *verified += chunk.len() as u64;
        Ok(())
    }

    /// Ends the session with nothing in flight: `+++`, then `AT+CIPCLOSE` / `AT#SH=1`.
    fn escape_close(&mut self) -> Step<()> {
        let before = self.escape()?;
        if !before.is_empty() {
            return Err(format!("{} stray bytes before the OK of +++", before.len()));
        }
        match self.model {
            Model::Sim900 => self.cipclose(),
            Model::Telit => self.at("AT#SH=1").map(|_| ()),
        }
    }

    fn cipclose(&mut self) -> Step<()> {
        let reply = self
            .port
            .command("AT+CIPCLOSE", &["CLOSE OK", "ERROR"], COMMAND)
            .map_err(port_err("AT+CIPCLOSE"))?;
        if reply.last != "CLOSE OK" {
            return Err(format!("AT+CIPCLOSE: {} {:?}", reply.last, reply.lines));
        }
        Ok(())
    }

    /// Ends the session with a DTR drop under `&D2` (nothing in flight): the link closes.
    fn dtr_close(&mut self) -> Step<()> {
        self.control(json!({"verb": "dtr", "state": "down"}))?;
        let reply = self
            .port
            .until_final(&["CLOSED", "NO CARRIER", "OK", "ERROR"], COMMAND)
            .map_err(port_err("the answer to a DTR drop under &D2"))?;
        self.control(json!({"verb": "dtr", "state": "up"}))?;
        self.shared.ledger.count(Event::DtrClose);
        if reply.last == "ERROR" {
            return Err(format!("DTR drop under &D2: {:?}", reply.lines));
        }
        // Whatever else the close said (a trailing OK) goes before the next command.
        let _ = self
            .port
            .drain(Duration::from_millis(150), Duration::from_secs(2));
        self.at("AT&D1")?;
        Ok(())
    }

    /// Network loss or reboot with `chunk` in flight; what follows is not data any more.
    fn disrupt(&mut self, end: SessionEnd, chunk: &[u8], sent: &mut Vec<u8>) -> Step<()> {
        self.send_chunk(chunk, sent)?;
        std::thread::sleep(Duration::from_millis(self.rng.random_range(0..60)));
        self.ip_ready = false;
        match end {
            SessionEnd::Reboot => self.reboot()?,
            _ => {
                self.control(json!({"verb": "network", "service": "none"}))?;
                self.shared.ledger.count(Event::NetworkLoss);
                let _ = self
                    .port
                    .drain(Duration::from_millis(300), Duration::from_secs(3));
                std::thread::sleep(Duration::from_millis(self.rng.random_range(100..1000)));
                self.control(json!({"verb": "network", "service": "home"}))?;
                // The unread echo and the URCs went with the drain; the modem is in command
                // mode, perhaps holding half a line of the chunk it had not read yet.
                self.wake()?;
                self.wait_registered()?;
            }
        }
        Ok(())
    }
}
