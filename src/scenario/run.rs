//! Runs a scenario against the core on a virtual clock: time jumps from one deadline or step to
//! the next, so a minute of guard times takes microseconds and every run gives the same bytes.

use serde_json::Value;

use super::{Action, Scenario, Step};
use crate::control::Verb;
use crate::modem::{EventKind, Input, Instant, Modem, Output};
use crate::network::{ResolvedModem, find_modem};

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

struct Slot {
    modem: Modem,
    /// Output not yet consumed by an expectation.
    pending: Vec<u8>,
}

/// Every modem of the scenario's world, on one virtual clock.
struct Bench {
    resolved: Vec<ResolvedModem>,
    slots: Vec<Slot>,
    now: Instant,
    /// Modem time (µs) when the current step started.
    started_at: u64,
    happenings: Vec<Happening>,
}

impl Bench {
    fn new(resolved: Vec<ResolvedModem>) -> Bench {
        let slots = resolved
            .iter()
            .map(|r| Slot {
                modem: Modem::new(r.config.clone(), Instant(0)),
                pending: Vec::new(),
            })
            .collect();
        let mut bench = Bench {
            resolved,
            slots,
            now: Instant(0),
            started_at: 0,
            happenings: Vec::new(),
        };
        // The client has the port open from the start.
        for index in 0..bench.slots.len() {
            bench.handle(index, Input::DteOpened);
        }
        bench
    }

    fn handle(&mut self, index: usize, input: Input) {
        if let Input::Dte(bytes) = &input {
            self.happenings.push(Happening {
                at: self.now,
                modem: index,
                what: What::Sent(bytes.clone()),
            });
        }
        let now = self.now;
        self.slots[index].modem.handle(now, input);
        self.drain(index);
    }

    fn drain(&mut self, index: usize) {
        let slot = &mut self.slots[index];
        while let Some(output) = slot.modem.poll_output() {
            let what = match output {
                Output::Dte(bytes) => {
                    slot.pending.extend_from_slice(&bytes);
                    What::Received(bytes)
                }
                Output::Event(event) => match event.kind {
                    EventKind::Why => What::Why(event.message),
                    other => What::Step(format!("{}: {}", other.name(), event.message)),
                },
                Output::SaveNvm(_) => continue,
            };
            self.happenings.push(Happening {
                at: self.now,
                modem: index,
                what,
            });
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.slots
            .iter()
            .filter_map(|s| s.modem.next_deadline())
            .min()
    }

    /// Moves the clock to `target`, firing every deadline on the way in order.
    fn advance_to(&mut self, target: Instant) {
        while let Some(deadline) = self.next_deadline() {
            if deadline > target {
                break;
            }
            self.now = self.now.max(deadline);
            for index in 0..self.slots.len() {
                if self.slots[index]
                    .modem
                    .next_deadline()
                    .is_some_and(|at| at <= self.now)
                {
                    self.handle(index, Input::Timer);
                }
            }
        }
        self.now = self.now.max(target);
    }

    /// Waits until `done` finds what it wants in the modem's pending output (returning how many
    /// bytes to consume), or fails when `mismatch` says the output went wrong or time runs out.
    fn wait_for(
        &mut self,
        index: usize,
        within: Instant,
        done: impl Fn(&[u8]) -> Option<usize>,
        mismatch: impl Fn(&[u8]) -> bool,
    ) -> Result<(), String> {
        loop {
            let pending = &self.slots[index].pending;
            if let Some(consumed) = done(pending) {
                self.slots[index].pending.drain(..consumed);
                return Ok(());
            }
            if mismatch(pending) {
                return Err("the modem printed something else".into());
            }
            match self.next_deadline() {
                Some(next) if next <= within => self.advance_to(next),
                _ => {
                    self.advance_to(within);
                    return Err(format!(
                        "timed out after {} ms",
                        format_ms(within.0.saturating_sub(self.started_at))
                    ));
                }
            }
        }
    }
}

/// Replays a scenario on the virtual clock.
pub fn run_virtual(scenario: &Scenario) -> Outcome {
    let resolved = match scenario.world.resolve() {
        Ok(resolved) => resolved,
        Err(reason) => {
            return Outcome {
                steps_run: 0,
                ended: Instant(0),
                failure: Some(Failure {
                    step: 0,
                    line: 1,
                    action: "world",
                    modem: 0,
                    started: Instant(0),
                    at: Instant(0),
                    reason,
                    expected: None,
                    actual: None,
                }),
                happenings: Vec::new(),
            };
        }
    };
    let mut bench = Bench::new(resolved);
    let mut steps_run = 0;
    let mut failure = None;
    for (index, step) in scenario.steps.iter().enumerate() {
        bench.started_at = bench.now.0;
        if let Err(fail) = run_step(&mut bench, step) {
            failure = Some(Failure {
                step: index,
                line: step.line,
                action: step.action.name(),
                started: Instant(bench.started_at),
                at: bench.now,
                ..*fail
            });
            break;
        }
        steps_run += 1;
    }
    Outcome {
        steps_run,
        ended: bench.now,
        failure,
        happenings: bench.happenings,
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

fn run_step(bench: &mut Bench, step: &Step) -> Result<(), Box<Failure>> {
    let address = match &step.action {
        Action::Ctl { request, .. } => request.modem.as_ref().or(step.modem.as_ref()),
        _ => step.modem.as_ref(),
    };
    let index = match address {
        Some(address) => find_modem(&bench.resolved, address).map_err(|e| fail(0, e))?,
        None => 0,
    };
    match &step.action {
        Action::Send { bytes, pace_ms } => {
            if *pace_ms <= 0.0 {
                bench.handle(index, Input::Dte(bytes.clone()));
            } else {
                let start = bench.now;
                for (k, byte) in bytes.iter().enumerate() {
                    bench.advance_to(Instant(start.0 + ms(pace_ms * k as f64)));
                    bench.handle(index, Input::Dte(vec![*byte]));
                }
            }
            Ok(())
        }
        Action::Expect { bytes, within_ms } => {
            let within = Instant(bench.now.0 + ms(*within_ms));
            let wanted = bytes.as_slice();
            bench
                .wait_for(
                    index,
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
                        actual: Some(bench.slots[index].pending.clone()),
                        ..*fail(index, reason)
                    })
                })
        }
        Action::ExpectRegex {
            pattern,
            regex,
            within_ms,
        } => {
            let within = Instant(bench.now.0 + ms(*within_ms));
            bench
                .wait_for(
                    index,
                    within,
                    |pending| regex.find(pending).map(|m| m.end()),
                    |_| false,
                )
                .map_err(|reason| {
                    Box::new(Failure {
                        expected: Some(format!("/{pattern}/").into_bytes()),
                        actual: Some(bench.slots[index].pending.clone()),
                        ..*fail(index, reason)
                    })
                })
        }
        Action::ExpectSilence { ms: quiet } => {
            let before = bench.slots[index].pending.len();
            bench.advance_to(Instant(bench.now.0 + ms(*quiet)));
            let pending = &bench.slots[index].pending;
            if pending.len() > before {
                Err(Box::new(Failure {
                    expected: Some(Vec::new()),
                    actual: Some(pending[before..].to_vec()),
                    ..*fail(index, format!("the modem spoke within {quiet} ms"))
                }))
            } else {
                Ok(())
            }
        }
        Action::Wait { ms: wait } => {
            bench.advance_to(Instant(bench.now.0 + ms(*wait)));
            Ok(())
        }
        Action::At { ms: at } => {
            bench.advance_to(Instant(ms(*at)));
            Ok(())
        }
        Action::Open => {
            bench.note(index, "client opens the port");
            bench.handle(index, Input::DteOpened);
            Ok(())
        }
        Action::Close => {
            bench.note(index, "client closes the port");
            bench.handle(index, Input::DteClosed);
            Ok(())
        }
        Action::Ctl {
            request,
            expect_state,
        } => {
            bench.note(index, &format!("ctl {}", request.to_json()));
            match &request.verb {
                Verb::Act(input) => {
                    bench.handle(index, input.clone());
                    Ok(())
                }
                Verb::State => {
                    let state = serde_json::to_value(bench.slots[index].modem.state())
                        .map_err(|e| fail(index, format!("state: {e}")))?;
                    match expect_state {
                        Some(wanted) => subset_mismatch(wanted, &state, "state")
                            .map_or(Ok(()), |reason| Err(fail(index, reason))),
                        None => Ok(()),
                    }
                }
                Verb::Modems | Verb::Events => Err(fail(
                    index,
                    format!("ctl {} is not available in a scenario", request.verb.name()),
                )),
            }
        }
    }
}

impl Bench {
    fn note(&mut self, index: usize, text: &str) {
        self.happenings.push(Happening {
            at: self.now,
            modem: index,
            what: What::Step(text.to_string()),
        });
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
