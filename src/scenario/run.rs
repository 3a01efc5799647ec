//! Runs a scenario's steps against a `Driver` (the virtual clock, or real PTYs in real time):
//! sends, byte and regex expectations with modem-time limits, silence, waits, control verbs, peers.

use std::collections::VecDeque;
use std::net::Ipv4Addr;

use serde_json::Value;

use super::{Action, Scenario, Step};
use crate::control::Verb;
use crate::modem::{Instant, Transport};
use crate::network::sms::SentRecord;
use crate::network::{ResolvedModem, find_modem};

pub use super::virtual_clock::run_virtual;

/// One line of what happened, for failure reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Happening {
    pub at: Instant,
    pub modem: usize,
    pub what: What,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum What {
    /// Client → modem.
    Sent(Vec<u8>),
    /// Modem → client.
    Received(Vec<u8>),
    /// Client → modem on the own port of AT instance 2 or 3.
    InstanceSent(u8, Vec<u8>),
    /// Modem → client on the own port of AT instance 2 or 3.
    InstanceReceived(u8, Vec<u8>),
    /// The modem's reason for something.
    Why(String),
    /// A step of the scenario that is not bytes (ctl, open, close).
    Step(String),
    /// A peer wrote bytes into the network (to a modem, or to another peer).
    PeerSent { peer: String, bytes: Vec<u8> },
    /// Bytes a peer received.
    PeerReceived { peer: String, bytes: Vec<u8> },
    /// The loopback network: a listen, connect, accept, close or reset by a modem or a peer.
    Net(String),
}

impl What {
    /// Whether this is about the network (peers and sockets) rather than one modem's port.
    pub fn is_network(&self) -> bool {
        matches!(
            self,
            What::PeerSent { .. } | What::PeerReceived { .. } | What::Net(_)
        )
    }
}

/// Why a step failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// 0-based index of the step.
    pub step: usize,
    pub line: usize,
    pub action: &'static str,
    pub modem: usize,
    /// The peer of a peer step.
    pub peer: Option<String>,
    /// Modem time when the step started and when it failed.
    pub started: Instant,
    pub at: Instant,
    pub reason: String,
    /// For byte expectations: what was wanted and what the modem printed.
    pub expected: Option<Vec<u8>>,
    pub actual: Option<Vec<u8>>,
}

/// The result of one replay.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub steps_run: usize,
    /// Modem time at the end.
    pub ended: Instant,
    pub failure: Option<Failure>,
    pub happenings: Vec<Happening>,
}

/// Milliseconds (fractions allowed) as modem time.
pub fn ms(ms: f64) -> u64 {
    (ms * 1000.0).round() as u64
}

/// One client port: a modem and its AT instance (1: the modem's own port; 2, 3: the Telit's
/// instance ports `<link>-2`, `<link>-3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRef {
    pub modem: usize,
    pub instance: u8,
}

/// What the step runner needs from whatever hosts the modems.
pub trait Driver {
    /// Modem time now.
    fn now(&self) -> Instant;
    /// The world's modems, for addressing steps.
    fn modems(&self) -> &[ResolvedModem];
    /// The client writes bytes.
    fn send(&mut self, port: PortRef, bytes: &[u8]) -> Result<(), String>;
    /// The client opens or closes the port.
    fn set_port(&mut self, port: PortRef, open: bool) -> Result<(), String>;
    /// A control verb that acts on the modem (`Verb::Act`, `Verb::SmsDeliver`).
    fn act(&mut self, modem: usize, request: &super::Request) -> Result<(), String>;
    /// Every SMS the modems sent outside the world so far, oldest first.
    fn sms_sent(&mut self) -> Result<Vec<SentRecord>, String>;
    /// The modem's state as `ctl state` shows it.
    fn state(&mut self, modem: usize) -> Result<Value, String>;
    /// Output not yet consumed by an expectation.
    fn pending(&mut self, port: PortRef) -> &mut Vec<u8>;
    /// Lets time pass until `until`; with `until_output`, returns as soon as new output came.
    fn pass_time(&mut self, until: Instant, until_output: bool);
    /// Records a non-byte step in the transcript.
    fn note(&mut self, modem: usize, text: String);
    /// The transcript so far.
    fn take_happenings(&mut self) -> Vec<Happening>;
    /// Extra time an expectation may take (µs): none on the virtual clock, where a deadline is
    /// exact; some in real time, where the scheduler and the PTY add delay.
    fn slack(&self) -> u64 {
        0
    }

    // Peers: the scenario's own sockets on 127.0.0.1, shared by every modem of the world.
    // `pass_time(_, true)` also returns when a peer receives bytes, a close, or a connection.

    /// Peer listener `name` listens on 127.0.0.1:`port`.
    fn peer_listen(&mut self, name: &str, transport: Transport, port: u16) -> Result<(), String>;
    /// Takes the oldest connection waiting on listener `listener` and calls it `name`;
    /// `Ok(false)` when none is waiting yet.
    fn peer_accept(&mut self, listener: &str, name: &str) -> Result<bool, String>;
    /// Peer `name` connects from loopback address `from` to 127.0.0.1:`port`; a driver that
    /// must block to connect gives up at `deadline`. `Err` when refused.
    fn peer_connect(
        &mut self,
        name: &str,
        transport: Transport,
        port: u16,
        from: Ipv4Addr,
        deadline: Instant,
    ) -> Result<(), String>;
    /// Whether peer `name`'s connection is established: `Ok(false)` while the modem has not
    /// accepted it yet, `Err` when it was refused.
    fn peer_connected(&mut self, name: &str) -> Result<bool, String>;
    /// Peer `name` writes bytes.
    fn peer_send(&mut self, name: &str, bytes: &[u8]) -> Result<(), String>;
    /// Peer `name` closes its side (FIN; it still receives) or, with `abort`, resets (RST).
    fn peer_close(&mut self, name: &str, abort: bool) -> Result<(), String>;
    /// What peer `name` received that no expectation consumed yet.
    fn peer_pending(&mut self, name: &str) -> Result<&mut Vec<u8>, String>;
    /// Whether peer `name` saw the other end close (EOF) or reset the connection.
    fn peer_closed(&mut self, name: &str) -> Result<bool, String>;
}

/// Bytes of paced `send`s still to be typed, typed as time passes while later steps run (as
/// `chat` writes a byte, then reads what came back).
struct Typist<'a> {
    driver: &'a mut dyn Driver,
    queue: VecDeque<(Instant, PortRef, u8)>,
    /// How many SMS sent outside `expect_sms_out` steps have consumed.
    sms_seen: usize,
}

impl Typist<'_> {
    /// Types the first byte now and the others `pace_ms` apart, after anything still queued.
    fn type_paced(&mut self, modem: PortRef, bytes: &[u8], pace_ms: f64) -> Result<(), String> {
        let mut at = self.driver.now();
        if let Some((last, _, _)) = self.queue.back() {
            at = Instant(last.0 + ms(pace_ms));
        }
        for &byte in bytes {
            self.queue.push_back((at, modem, byte));
            at = Instant(at.0 + ms(pace_ms));
        }
        self.type_due()
    }

    fn type_due(&mut self) -> Result<(), String> {
        while let Some(&(at, modem, byte)) = self.queue.front() {
            if at > self.driver.now() {
                break;
            }
            self.queue.pop_front();
            self.driver.send(modem, &[byte])?;
        }
        Ok(())
    }

    /// Like `Driver::pass_time`, typing queued bytes when their time comes.
    fn pass_time(&mut self, until: Instant, until_output: bool) -> Result<(), String> {
        while let Some(&(at, _, _)) = self.queue.front() {
            if at > until {
                break;
            }
            self.driver.pass_time(at, until_output);
            if until_output && self.driver.now() < at {
                return Ok(());
            }
            self.type_due()?;
            if until_output {
                // The caller looks at the output again; what was typed may have been echoed.
                return Ok(());
            }
        }
        self.driver.pass_time(until, until_output);
        Ok(())
    }

    /// Types whatever is still queued.
    fn finish(&mut self) -> Result<(), String> {
        match self.queue.back() {
            Some(&(last, _, _)) => self.pass_time(last, false),
            None => Ok(()),
        }
    }
}

/// Runs every step in order until one fails.
pub fn run_steps(driver: &mut dyn Driver, scenario: &Scenario) -> Outcome {
    let mut steps_run = 0;
    let mut failure = None;
    let mut typist = Typist {
        driver,
        queue: VecDeque::new(),
        sms_seen: 0,
    };
    for (index, step) in scenario.steps.iter().enumerate() {
        let started = typist.driver.now();
        let result = run_step(&mut typist, step, started).and_then(|()| {
            if index + 1 == scenario.steps.len() {
                typist.finish().map_err(|e| fail(0, e))
            } else {
                Ok(())
            }
        });
        if let Err(fail) = result {
            failure = Some(Failure {
                step: index,
                line: step.line,
                action: step.action.name(),
                peer: step.peer.clone(),
                started,
                at: typist.driver.now(),
                ..*fail
            });
            break;
        }
        steps_run += 1;
    }
    Outcome {
        steps_run,
        ended: typist.driver.now(),
        failure,
        happenings: typist.driver.take_happenings(),
    }
}

/// An outcome that failed before any step (the world could not start).
pub fn failed_to_start(reason: String) -> Outcome {
    Outcome {
        steps_run: 0,
        ended: Instant(0),
        failure: Some(Failure {
            step: 0,
            line: 1,
            action: "world",
            ..*fail(0, reason)
        }),
        happenings: Vec::new(),
    }
}

fn fail(modem: usize, reason: String) -> Box<Failure> {
    Box::new(Failure {
        step: 0,
        line: 0,
        action: "",
        modem,
        peer: None,
        started: Instant(0),
        at: Instant(0),
        reason,
        expected: None,
        actual: None,
    })
}

/// Whose received bytes an expectation reads: a modem's output to its client, or a peer's.
#[derive(Debug, Clone, Copy)]
enum Source<'a> {
    Modem(PortRef),
    Peer(&'a str),
}

impl Source<'_> {
    fn received(self, driver: &mut dyn Driver) -> Result<&mut Vec<u8>, String> {
        match self {
            Source::Modem(port) => Ok(driver.pending(port)),
            Source::Peer(name) => driver.peer_pending(name),
        }
    }

    /// A copy of what is pending, for a failure report.
    fn snapshot(self, driver: &mut dyn Driver) -> Vec<u8> {
        self.received(driver).map(|p| p.clone()).unwrap_or_default()
    }

    /// Who got the unexpected bytes, as a report says it.
    fn got_else(self) -> String {
        match self {
            Source::Modem(_) => "the modem printed something else".into(),
            Source::Peer(name) => format!("{name} received something else"),
        }
    }
}

/// Waits until `done` finds what it wants in the pending bytes (returning how many to consume),
/// or fails when `mismatch` says they went wrong, a peer's connection closed first, or time
/// runs out.
fn wait_for(
    typist: &mut Typist,
    source: Source,
    started: Instant,
    within: Instant,
    done: impl Fn(&[u8]) -> Option<usize>,
    mismatch: impl Fn(&[u8]) -> bool,
) -> Result<(), String> {
    loop {
        let pending = source.received(&mut *typist.driver)?;
        if let Some(consumed) = done(pending) {
            pending.drain(..consumed);
            return Ok(());
        }
        if mismatch(pending) {
            return Err(source.got_else());
        }
        if let Source::Peer(name) = source
            && typist.driver.peer_closed(name)?
        {
            return Err(format!("{name}'s connection closed first"));
        }
        if typist.driver.now() >= within {
            return Err(timed_out(started, within));
        }
        typist.pass_time(within, true)?;
    }
}

/// Waits until `ready` says yes (or fails), or time runs out (`what` says what was awaited).
fn wait_until(
    typist: &mut Typist,
    started: Instant,
    within: Instant,
    what: &str,
    ready: impl Fn(&mut dyn Driver) -> Result<bool, String>,
) -> Result<(), String> {
    loop {
        if ready(&mut *typist.driver)? {
            return Ok(());
        }
        if typist.driver.now() >= within {
            return Err(format!("{what}: {}", timed_out(started, within)));
        }
        typist.pass_time(within, true)?;
    }
}

fn timed_out(started: Instant, within: Instant) -> String {
    format!(
        "timed out after {} ms",
        format_ms(within.0.saturating_sub(started.0))
    )
}

fn run_step(typist: &mut Typist, step: &Step, started: Instant) -> Result<(), Box<Failure>> {
    let address = match &step.action {
        Action::Ctl { request, .. } => request.modem.as_ref().or(step.modem.as_ref()),
        _ => step.modem.as_ref(),
    };
    let index = match address {
        Some(address) => {
            let addresses: Vec<_> = typist.driver.modems().iter().map(|m| m.address()).collect();
            find_modem(&addresses, address).map_err(|e| fail(0, e))?
        }
        None => 0,
    };
    let failed = |reason: String| fail(index, reason);
    let source = match &step.peer {
        Some(name) => Source::Peer(name),
        None => Source::Modem(PortRef {
            modem: index,
            instance: step.instance,
        }),
    };
    let port = PortRef {
        modem: index,
        instance: step.instance,
    };
    let deadline = |within_ms: f64| Instant(started.0 + ms(within_ms) + typist.driver.slack());
    match (&step.action, &step.peer) {
        (Action::Send { bytes, .. }, Some(peer)) => {
            typist.driver.peer_send(peer, bytes).map_err(failed)
        }
        (Action::Send { bytes, pace_ms }, None) => {
            if *pace_ms <= 0.0 && typist.queue.is_empty() {
                typist.driver.send(port, bytes).map_err(failed)
            } else {
                typist.type_paced(port, bytes, *pace_ms).map_err(failed)
            }
        }
        (Action::Expect { bytes, within_ms }, _) => {
            let within = deadline(*within_ms);
            let wanted = bytes.as_slice();
            wait_for(
                typist,
                source,
                started,
                within,
                |pending| pending.starts_with(wanted).then_some(wanted.len()),
                |pending| {
                    let n = pending.len().min(wanted.len());
                    pending[..n] != wanted[..n]
                },
            )
            .map_err(|reason| {
                Box::new(Failure {
                    expected: Some(wanted.to_vec()),
                    actual: Some(source.snapshot(&mut *typist.driver)),
                    ..*failed(reason)
                })
            })
        }
        (
            Action::ExpectRegex {
                pattern,
                regex,
                within_ms,
            },
            _,
        ) => {
            let within = deadline(*within_ms);
            wait_for(
                typist,
                source,
                started,
                within,
                |pending| regex.find(pending).map(|m| m.end()),
                |_| false,
            )
            .map_err(|reason| {
                Box::new(Failure {
                    expected: Some(format!("/{pattern}/").into_bytes()),
                    actual: Some(source.snapshot(&mut *typist.driver)),
                    ..*failed(reason)
                })
            })
        }
        (Action::ExpectSilence { ms: quiet }, _) => {
            // In real time, output due right at the end of the window may come a little early
            // by the client's clock: only the window less the driver's slack must be silent.
            let end = Instant(started.0 + ms(*quiet));
            let checked_until = Instant(end.0.saturating_sub(typist.driver.slack()).max(started.0));
            let before = source.received(&mut *typist.driver).map_err(failed)?.len();
            typist.pass_time(checked_until, false).map_err(failed)?;
            let pending = source.received(&mut *typist.driver).map_err(failed)?;
            if pending.len() > before {
                let spoke = match source {
                    Source::Modem(_) => format!("the modem spoke within {quiet} ms"),
                    Source::Peer(name) => format!("{name} received bytes within {quiet} ms"),
                };
                Err(Box::new(Failure {
                    expected: Some(Vec::new()),
                    actual: Some(pending[before..].to_vec()),
                    ..*failed(spoke)
                }))
            } else {
                typist.pass_time(end, false).map_err(failed)
            }
        }
        (Action::Wait { ms: wait }, _) => typist
            .pass_time(Instant(started.0 + ms(*wait)), false)
            .map_err(failed),
        (Action::At { ms: at }, _) => typist.pass_time(Instant(ms(*at)), false).map_err(failed),
        (Action::Close, Some(peer)) => typist.driver.peer_close(peer, false).map_err(failed),
        (Action::Reset, Some(peer)) => typist.driver.peer_close(peer, true).map_err(failed),
        (Action::Open | Action::Close, _) => {
            let open = matches!(step.action, Action::Open);
            let text = if open {
                "client opens the port"
            } else {
                "client closes the port"
            };
            typist.driver.note(index, text.into());
            typist.driver.set_port(port, open).map_err(failed)
        }
        (Action::Listen { transport, port }, Some(peer)) => typist
            .driver
            .peer_listen(peer, *transport, *port)
            .map_err(failed),
        (Action::Accept { name, within_ms }, Some(listener)) => wait_until(
            typist,
            started,
            deadline(*within_ms),
            &format!("no connection came to {listener}"),
            |driver| driver.peer_accept(listener, name),
        )
        .map_err(failed),
        (
            Action::Connect {
                transport,
                port,
                from,
                within_ms,
            },
            Some(peer),
        ) => {
            let within = deadline(*within_ms);
            typist
                .driver
                .peer_connect(peer, *transport, *port, *from, within)
                .map_err(failed)?;
            wait_until(
                typist,
                started,
                within,
                &format!("{peer}'s connection was not accepted"),
                |driver| driver.peer_connected(peer),
            )
            .map_err(failed)
        }
        (Action::ExpectClosed { within_ms }, Some(peer)) => wait_until(
            typist,
            started,
            deadline(*within_ms),
            &format!("{peer}'s connection stayed open"),
            |driver| driver.peer_closed(peer),
        )
        .map_err(failed),
        (
            Action::Listen { .. }
            | Action::Accept { .. }
            | Action::Connect { .. }
            | Action::Reset
            | Action::ExpectClosed { .. },
            None,
        ) => Err(failed(format!("{} needs a peer", step.action.name()))),
        (
            Action::Ctl {
                request,
                expect_state,
            },
            _,
        ) => {
            typist
                .driver
                .note(index, format!("ctl {}", request.to_json()));
            match &request.verb {
                Verb::Act(_) | Verb::SmsDeliver { .. } => {
                    typist.driver.act(index, request).map_err(failed)
                }
                Verb::State => {
                    let state = typist.driver.state(index).map_err(failed)?;
                    match expect_state {
                        Some(wanted) => subset_mismatch(wanted, &state, "state")
                            .map_or(Ok(()), |reason| Err(failed(reason))),
                        None => Ok(()),
                    }
                }
                Verb::SmsSent { .. } => Err(failed(
                    "ctl sms_sent is not a step: use expect_sms_out".to_string(),
                )),
                Verb::Modems | Verb::Events => Err(failed(format!(
                    "ctl {} is not available in a scenario",
                    request.verb.name()
                ))),
            }
        }
        (Action::SmsIn { request }, _) => {
            typist
                .driver
                .note(index, format!("sms_in {}", request.to_json()));
            typist.driver.act(index, request).map_err(failed)
        }
        (Action::ExpectSmsOut { wanted, within_ms }, _) => {
            let within = deadline(*within_ms);
            let seen = typist.sms_seen;
            loop {
                let sent = typist.driver.sms_sent().map_err(failed)?;
                if let Some(record) = sent.get(seen) {
                    typist.sms_seen = seen + 1;
                    let actual = serde_json::to_value(record)
                        .map_err(|e| failed(format!("sms record: {e}")))?;
                    break match subset_mismatch(wanted, &actual, "sms") {
                        None => Ok(()),
                        Some(reason) => Err(failed(format!("{reason}; the message: {actual}"))),
                    };
                }
                if typist.driver.now() >= within {
                    break Err(failed(format!(
                        "no SMS sent outside: {}",
                        timed_out(started, within)
                    )));
                }
                // Small steps: a message sent outside need not come with output to wait for.
                let now = typist.driver.now();
                let until = Instant(now.0.saturating_add(SMS_POLL_US)).min(within);
                typist.pass_time(until, true).map_err(failed)?;
            }
        }
    }
}

/// How often `expect_sms_out` looks again (modem time).
const SMS_POLL_US: u64 = 20_000;

/// Where `actual` differs from the fields `wanted` names (a subset match), if anywhere.
fn subset_mismatch(wanted: &Value, actual: &Value, path: &str) -> Option<String> {
    match (wanted, actual) {
        (Value::Object(want), Value::Object(have)) => want.iter().find_map(|(key, value)| {
            let path = format!("{path}.{key}");
            match have.get(key) {
                Some(actual) => subset_mismatch(value, actual, &path),
                None => Some(format!("{path}: no such field")),
            }
        }),
        _ if wanted == actual => None,
        _ => Some(format!("{path}: expected {wanted}, got {actual}")),
    }
}

/// Microseconds as `12.5` / `3` ms text.
pub fn format_ms(us: u64) -> String {
    if us.is_multiple_of(1000) {
        format!("{}", us / 1000)
    } else {
        format!("{:.3}", us as f64 / 1000.0)
    }
}
