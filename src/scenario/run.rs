//! Runs a scenario's steps against a `Driver` (the virtual clock, or real PTYs in real time):
//! sends, byte and regex expectations with modem-time limits, silence, waits and control verbs.

use std::collections::VecDeque;

use serde_json::Value;

use super::{Action, Scenario, Step};
use crate::control::Verb;
use crate::modem::Instant;
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
    /// The modem's reason for something.
    Why(String),
    /// A step of the scenario that is not bytes (ctl, open, close).
    Step(String),
}

/// Why a step failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// 0-based index of the step.
    pub step: usize,
    pub line: usize,
    pub action: &'static str,
    pub modem: usize,
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

/// What the step runner needs from whatever hosts the modems.
pub trait Driver {
    /// Modem time now.
    fn now(&self) -> Instant;
    /// The world's modems, for addressing steps.
    fn modems(&self) -> &[ResolvedModem];
    /// The client writes bytes.
    fn send(&mut self, modem: usize, bytes: &[u8]) -> Result<(), String>;
    /// The client opens or closes the port.
    fn set_port(&mut self, modem: usize, open: bool) -> Result<(), String>;
    /// A control verb that acts on the modem (`Verb::Act`).
    fn act(&mut self, modem: usize, request: &super::Request) -> Result<(), String>;
    /// The modem's state as `ctl state` shows it.
    fn state(&mut self, modem: usize) -> Result<Value, String>;
    /// Output not yet consumed by an expectation.
    fn pending(&mut self, modem: usize) -> &mut Vec<u8>;
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
}

/// Bytes of paced `send`s still to be typed, typed as time passes while later steps run (as
/// `chat` writes a byte, then reads what came back).
struct Typist<'a> {
    driver: &'a mut dyn Driver,
    queue: VecDeque<(Instant, usize, u8)>,
}

impl Typist<'_> {
    /// Types the first byte now and the others `pace_ms` apart, after anything still queued.
    fn type_paced(&mut self, modem: usize, bytes: &[u8], pace_ms: f64) -> Result<(), String> {
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
        started: Instant(0),
        at: Instant(0),
        reason,
        expected: None,
        actual: None,
    })
}

/// Waits until `done` finds what it wants in the modem's pending output (returning how many
/// bytes to consume), or fails when `mismatch` says the output went wrong or time runs out.
fn wait_for(
    typist: &mut Typist,
    modem: usize,
    started: Instant,
    within: Instant,
    done: impl Fn(&[u8]) -> Option<usize>,
    mismatch: impl Fn(&[u8]) -> bool,
) -> Result<(), String> {
    loop {
        let pending = typist.driver.pending(modem);
        if let Some(consumed) = done(pending) {
            pending.drain(..consumed);
            return Ok(());
        }
        if mismatch(pending) {
            return Err("the modem printed something else".into());
        }
        if typist.driver.now() >= within {
            return Err(format!(
                "timed out after {} ms",
                format_ms(within.0.saturating_sub(started.0))
            ));
        }
        typist.pass_time(within, true)?;
    }
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
    match &step.action {
        Action::Send { bytes, pace_ms } => {
            if *pace_ms <= 0.0 && typist.queue.is_empty() {
                typist.driver.send(index, bytes).map_err(failed)
            } else {
                typist.type_paced(index, bytes, *pace_ms).map_err(failed)
            }
        }
        Action::Expect { bytes, within_ms } => {
            let within = Instant(started.0 + ms(*within_ms) + typist.driver.slack());
            let wanted = bytes.as_slice();
            wait_for(
                typist,
                index,
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
                    actual: Some(typist.driver.pending(index).clone()),
                    ..*failed(reason)
                })
            })
        }
        Action::ExpectRegex {
            pattern,
            regex,
            within_ms,
        } => {
            let within = Instant(started.0 + ms(*within_ms) + typist.driver.slack());
            wait_for(
                typist,
                index,
                started,
                within,
                |pending| regex.find(pending).map(|m| m.end()),
                |_| false,
            )
            .map_err(|reason| {
                Box::new(Failure {
                    expected: Some(format!("/{pattern}/").into_bytes()),
                    actual: Some(typist.driver.pending(index).clone()),
                    ..*failed(reason)
                })
            })
        }
        Action::ExpectSilence { ms: quiet } => {
            // In real time, output due right at the end of the window may come a little early
            // by the client's clock: only the window less the driver's slack must be silent.
            let end = Instant(started.0 + ms(*quiet));
            let checked_until = Instant(end.0.saturating_sub(typist.driver.slack()).max(started.0));
            let before = typist.driver.pending(index).len();
            typist.pass_time(checked_until, false).map_err(failed)?;
            let pending = typist.driver.pending(index);
            if pending.len() > before {
                Err(Box::new(Failure {
                    expected: Some(Vec::new()),
                    actual: Some(pending[before..].to_vec()),
                    ..*failed(format!("the modem spoke within {quiet} ms"))
                }))
            } else {
                typist.pass_time(end, false).map_err(failed)
            }
        }
        Action::Wait { ms: wait } => typist
            .pass_time(Instant(started.0 + ms(*wait)), false)
            .map_err(failed),
        Action::At { ms: at } => typist.pass_time(Instant(ms(*at)), false).map_err(failed),
        Action::Open | Action::Close => {
            let open = matches!(step.action, Action::Open);
            let text = if open {
                "client opens the port"
            } else {
                "client closes the port"
            };
            typist.driver.note(index, text.into());
            typist.driver.set_port(index, open).map_err(failed)
        }
        Action::Ctl {
            request,
            expect_state,
        } => {
            typist
                .driver
                .note(index, format!("ctl {}", request.to_json()));
            match &request.verb {
                Verb::Act(_) => typist.driver.act(index, request).map_err(failed),
                Verb::State => {
                    let state = typist.driver.state(index).map_err(failed)?;
                    match expect_state {
                        Some(wanted) => subset_mismatch(wanted, &state, "state")
                            .map_or(Ok(()), |reason| Err(failed(reason))),
                        None => Ok(()),
                    }
                }
                Verb::Modems | Verb::Events => Err(failed(format!(
                    "ctl {} is not available in a scenario",
                    request.verb.name()
                ))),
            }
        }
    }
}

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
