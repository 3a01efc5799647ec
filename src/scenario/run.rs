//! Runs a scenario's steps against a `Driver` (the virtual clock, or real PTYs in real time):
//! sends, byte and regex expectations with modem-time limits, silence, waits and control verbs.

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

/// Runs every step in order until one fails.
pub fn run_steps(driver: &mut dyn Driver, scenario: &Scenario) -> Outcome {
    let mut steps_run = 0;
    let mut failure = None;
    for (index, step) in scenario.steps.iter().enumerate() {
        let started = driver.now();
        if let Err(fail) = run_step(driver, step, started) {
            failure = Some(Failure {
                step: index,
                line: step.line,
                action: step.action.name(),
                started,
                at: driver.now(),
                ..*fail
            });
            break;
        }
        steps_run += 1;
    }
    Outcome {
        steps_run,
        ended: driver.now(),
        failure,
        happenings: driver.take_happenings(),
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
    driver: &mut dyn Driver,
    modem: usize,
    started: Instant,
    within: Instant,
    done: impl Fn(&[u8]) -> Option<usize>,
    mismatch: impl Fn(&[u8]) -> bool,
) -> Result<(), String> {
    loop {
        let pending = driver.pending(modem);
        if let Some(consumed) = done(pending) {
            pending.drain(..consumed);
            return Ok(());
        }
        if mismatch(pending) {
            return Err("the modem printed something else".into());
        }
        if driver.now() >= within {
            return Err(format!(
                "timed out after {} ms",
                format_ms(within.0.saturating_sub(started.0))
            ));
        }
        driver.pass_time(within, true);
    }
}

fn run_step(driver: &mut dyn Driver, step: &Step, started: Instant) -> Result<(), Box<Failure>> {
    let address = match &step.action {
        Action::Ctl { request, .. } => request.modem.as_ref().or(step.modem.as_ref()),
        _ => step.modem.as_ref(),
    };
    let index = match address {
        Some(address) => find_modem(driver.modems(), address).map_err(|e| fail(0, e))?,
        None => 0,
    };
    let failed = |reason: String| fail(index, reason);
    match &step.action {
        Action::Send { bytes, pace_ms } => {
            if *pace_ms <= 0.0 {
                driver.send(index, bytes).map_err(failed)
            } else {
                for (k, byte) in bytes.iter().enumerate() {
                    driver.pass_time(Instant(started.0 + ms(pace_ms * k as f64)), false);
                    driver.send(index, &[*byte]).map_err(failed)?;
                }
                Ok(())
            }
        }
        Action::Expect { bytes, within_ms } => {
            let within = Instant(started.0 + ms(*within_ms) + driver.slack());
            let wanted = bytes.as_slice();
            wait_for(
                driver,
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
                    actual: Some(driver.pending(index).clone()),
                    ..*failed(reason)
                })
            })
        }
        Action::ExpectRegex {
            pattern,
            regex,
            within_ms,
        } => {
            let within = Instant(started.0 + ms(*within_ms) + driver.slack());
            wait_for(
                driver,
                index,
                started,
                within,
                |pending| regex.find(pending).map(|m| m.end()),
                |_| false,
            )
            .map_err(|reason| {
                Box::new(Failure {
                    expected: Some(format!("/{pattern}/").into_bytes()),
                    actual: Some(driver.pending(index).clone()),
                    ..*failed(reason)
                })
            })
        }
        Action::ExpectSilence { ms: quiet } => {
            let before = driver.pending(index).len();
            driver.pass_time(Instant(started.0 + ms(*quiet)), false);
            let pending = driver.pending(index);
            if pending.len() > before {
                Err(Box::new(Failure {
                    expected: Some(Vec::new()),
                    actual: Some(pending[before..].to_vec()),
                    ..*failed(format!("the modem spoke within {quiet} ms"))
                }))
            } else {
                Ok(())
            }
        }
        Action::Wait { ms: wait } => {
            driver.pass_time(Instant(started.0 + ms(*wait)), false);
            Ok(())
        }
        Action::At { ms: at } => {
            driver.pass_time(Instant(ms(*at)), false);
            Ok(())
        }
        Action::Open | Action::Close => {
            let open = matches!(step.action, Action::Open);
            let text = if open {
                "client opens the port"
            } else {
                "client closes the port"
            };
            driver.note(index, text.into());
            driver.set_port(index, open).map_err(failed)
        }
        Action::Ctl {
            request,
            expect_state,
        } => {
            driver.note(index, format!("ctl {}", request.to_json()));
            match &request.verb {
                Verb::Act(_) => driver.act(index, request).map_err(failed),
                Verb::State => {
                    let state = driver.state(index).map_err(failed)?;
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
