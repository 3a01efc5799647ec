//! The virtual-clock driver: every modem of the world in memory, time jumping from one deadline
//! or step to the next, so a minute of guard times takes microseconds and every run is the same.

use serde_json::Value;

use super::Scenario;
use super::run::{Driver, Happening, Outcome, What, failed_to_start, run_steps};
use crate::control::{Request, Verb};
use crate::modem::{EventKind, Input, Instant, Modem, Output};
use crate::network::ResolvedModem;

/// Replays a scenario on the virtual clock.
pub fn run_virtual(scenario: &Scenario) -> Outcome {
    match scenario.world.resolve() {
        Ok(resolved) => run_steps(&mut Bench::new(resolved), scenario),
        Err(reason) => failed_to_start(reason),
    }
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
    happenings: Vec<Happening>,
    /// Output arrived since the last `pass_time` began.
    heard: bool,
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
            happenings: Vec::new(),
            heard: false,
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
                    self.heard = true;
                    What::Received(bytes)
                }
                Output::Event(event) => match event.kind {
                    EventKind::Why => What::Why(event.message),
                    other => What::Step(format!("{}: {}", other.name(), event.message)),
                },
                Output::SaveNvm(_) | Output::Socket(..) | Output::Resolve { .. } => continue,
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

    /// Fires every modem's deadlines that are due at the next deadline time.
    fn fire_next_deadline(&mut self, deadline: Instant) {
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
}

impl Driver for Bench {
    fn now(&self) -> Instant {
        self.now
    }

    fn modems(&self) -> &[ResolvedModem] {
        &self.resolved
    }

    fn send(&mut self, modem: usize, bytes: &[u8]) -> Result<(), String> {
        self.handle(modem, Input::Dte(bytes.to_vec()));
        Ok(())
    }

    fn set_port(&mut self, modem: usize, open: bool) -> Result<(), String> {
        let input = if open {
            Input::DteOpened
        } else {
            Input::DteClosed
        };
        self.handle(modem, input);
        Ok(())
    }

    fn act(&mut self, modem: usize, request: &Request) -> Result<(), String> {
        match &request.verb {
            Verb::Act(input) => {
                self.handle(modem, input.clone());
                Ok(())
            }
            other => Err(format!("ctl {} does not act on a modem", other.name())),
        }
    }

    fn state(&mut self, modem: usize) -> Result<Value, String> {
        serde_json::to_value(self.slots[modem].modem.state()).map_err(|e| format!("state: {e}"))
    }

    fn pending(&mut self, modem: usize) -> &mut Vec<u8> {
        &mut self.slots[modem].pending
    }

    fn pass_time(&mut self, until: Instant, until_output: bool) {
        self.heard = false;
        while let Some(deadline) = self.next_deadline() {
            if deadline > until {
                break;
            }
            self.fire_next_deadline(deadline);
            if until_output && self.heard {
                return;
            }
        }
        self.now = self.now.max(until);
    }

    fn note(&mut self, modem: usize, text: String) {
        self.happenings.push(Happening {
            at: self.now,
            modem,
            what: What::Step(text),
        });
    }

    fn take_happenings(&mut self) -> Vec<Happening> {
        std::mem::take(&mut self.happenings)
    }
}
