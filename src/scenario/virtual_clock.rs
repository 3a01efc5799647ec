//! The virtual-clock driver: every modem of the world in memory, time jumping from one deadline
//! or step to the next, so a minute of guard times takes microseconds and every run is the same.

use std::collections::VecDeque;
use std::net::Ipv4Addr;

use serde_json::Value;

use super::Scenario;
use super::run::{Driver, Happening, Outcome, PortRef, What, failed_to_start, run_steps};
use super::virtual_net::VirtualNet;
use crate::control::{Request, Verb};
use crate::modem::{EventKind, Input, Instant, Modem, Output, PortEvent, Transport};
use crate::network::ResolvedModem;
use crate::network::sms::{DEFAULT_DELAY_MS, Routed, SentRecord, SmsCentre, Subscriber};

/// Replays a scenario on the virtual clock.
pub fn run_virtual(scenario: &Scenario) -> Outcome {
    match scenario.world.resolve() {
        Ok(resolved) => {
            let delay = scenario.world.sms_delay_ms.unwrap_or(DEFAULT_DELAY_MS);
            run_steps(&mut Bench::new(resolved, delay), scenario)
        }
        Err(reason) => failed_to_start(reason),
    }
}

struct Slot {
    modem: Modem,
    /// Output not yet consumed by an expectation: the modem's port, then instances 2 and 3.
    pending: [Vec<u8>; 3],
}

/// Every modem of the scenario's world, on one virtual clock and one loopback network.
struct Bench {
    resolved: Vec<ResolvedModem>,
    slots: Vec<Slot>,
    now: Instant,
    happenings: Vec<Happening>,
    /// Output arrived since the last `pass_time` began.
    heard: bool,
    net: VirtualNet,
    /// Inputs the network produced for modems, handled in order (never recursively).
    queue: VecDeque<(usize, Input)>,
    /// The world's SMS centre, on the virtual clock.
    sms: SmsCentre,
}

impl Bench {
    fn new(resolved: Vec<ResolvedModem>, sms_delay_ms: u64) -> Bench {
        let subscribers = resolved
            .iter()
            .map(|r| Subscriber {
                number: r.config.identity.number.clone(),
                smsc: r.config.identity.smsc.clone(),
            })
            .collect();
        let epoch = resolved.first().map_or(0, |r| r.config.rtc_epoch_unix);
        let sms = SmsCentre::new(subscribers, sms_delay_ms, epoch);
        let slots = resolved
            .iter()
            .map(|r| Slot {
                modem: Modem::new(r.config.clone(), Instant(0)),
                pending: Default::default(),
            })
            .collect();
        let mut bench = Bench {
            resolved,
            slots,
            now: Instant(0),
            happenings: Vec::new(),
            heard: false,
            net: VirtualNet::new(),
            queue: VecDeque::new(),
            sms,
        };
        // The client has every port open from the start.
        for index in 0..bench.slots.len() {
            bench.handle(index, Input::DteOpened);
            for instance in 2..=bench.slots[index].modem.instances() {
                bench.handle(index, Input::Instance(instance, PortEvent::Opened));
            }
        }
        bench
    }

    /// Hands `input` to a modem, then whatever the network makes of its answers, until quiet.
    fn handle(&mut self, index: usize, input: Input) {
        self.queue.push_back((index, input));
        self.run_queue();
    }

    fn run_queue(&mut self) {
        while let Some((index, input)) = self.queue.pop_front() {
            let sent = match &input {
                Input::Dte(bytes) => Some(What::Sent(bytes.clone())),
                Input::Instance(instance, PortEvent::Bytes(bytes)) => {
                    Some(What::InstanceSent(*instance, bytes.clone()))
                }
                _ => None,
            };
            if let Some(what) = sent {
                self.happenings.push(Happening {
                    at: self.now,
                    modem: index,
                    what,
                });
            }
            let now = self.now;
            self.slots[index].modem.handle(now, input);
            self.drain(index);
        }
    }

    fn drain(&mut self, index: usize) {
        while let Some(output) = self.slots[index].modem.poll_output() {
            let what = match output {
                Output::Dte(bytes) => {
                    self.slots[index].pending[0].extend_from_slice(&bytes);
                    self.heard = true;
                    What::Received(bytes)
                }
                Output::InstanceDte(instance, bytes) => {
                    if let Some(pending) = self.slots[index]
                        .pending
                        .get_mut(usize::from(instance).saturating_sub(1))
                    {
                        pending.extend_from_slice(&bytes);
                    }
                    self.heard = true;
                    What::InstanceReceived(instance, bytes)
                }
                Output::Event(event) => match event.kind {
                    EventKind::Why => What::Why(event.message),
                    other => What::Step(format!("{}: {}", other.name(), event.message)),
                },
                request @ (Output::Socket(..) | Output::Resolve { .. }) => {
                    let inputs = self.net.carry_out(self.now, index, request);
                    self.queue.extend(inputs);
                    self.happenings.extend(self.net.take_happenings());
                    continue;
                }
                Output::SubmitSms(submission) => match self.sms.submit(self.now, index, submission)
                {
                    Routed::ToModem { index: to, at } => What::Step(format!(
                        "sms to modem {to}, due at {} ms",
                        super::run::format_ms(at.0)
                    )),
                    Routed::Outside(record) => What::Step(format!(
                        "sms sent outside: {}",
                        serde_json::to_value(&record).unwrap_or_default()
                    )),
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

    /// Input on one of a modem's ports, if the modem has that AT instance.
    fn port_input(&mut self, port: PortRef, input: Input) -> Result<(), String> {
        let instances = self.slots[port.modem].modem.instances();
        if port.instance > instances {
            return Err(format!(
                "modem {} has {instances} AT instance(s), no instance {}",
                port.modem, port.instance
            ));
        }
        self.handle(port.modem, input);
        Ok(())
    }

    /// After a peer step: the network's transcript lines, then its inputs to the modems.
    fn after_peer_step<T>(&mut self, result: Result<T, String>) -> Result<T, String> {
        self.happenings.extend(self.net.take_happenings());
        let inputs = self.net.take_inputs();
        self.queue.extend(inputs);
        self.run_queue();
        result
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.slots
            .iter()
            .filter_map(|s| s.modem.next_deadline())
            .chain(self.sms.next_deadline())
            .min()
    }

    /// Hands every SMS due now to its modem.
    fn deliver_sms(&mut self) {
        for (index, incoming) in self.sms.due(self.now) {
            self.happenings.push(Happening {
                at: self.now,
                modem: index,
                what: What::Step(format!(
                    "sms in {}",
                    serde_json::to_value(incoming.summary()).unwrap_or_default()
                )),
            });
            self.queue.push_back((index, Input::Sms(incoming)));
        }
        self.run_queue();
    }

    /// Fires every modem's deadlines that are due at the next deadline time.
    fn fire_next_deadline(&mut self, deadline: Instant) {
        self.now = self.now.max(deadline);
        self.deliver_sms();
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

    fn send(&mut self, port: PortRef, bytes: &[u8]) -> Result<(), String> {
        let input = match port.instance {
            1 => Input::Dte(bytes.to_vec()),
            n => Input::Instance(n, PortEvent::Bytes(bytes.to_vec())),
        };
        self.port_input(port, input)
    }

    fn set_port(&mut self, port: PortRef, open: bool) -> Result<(), String> {
        let input = match (port.instance, open) {
            (1, true) => Input::DteOpened,
            (1, false) => Input::DteClosed,
            (n, true) => Input::Instance(n, PortEvent::Opened),
            (n, false) => Input::Instance(n, PortEvent::Closed),
        };
        self.port_input(port, input)
    }

    fn act(&mut self, modem: usize, request: &Request) -> Result<(), String> {
        match &request.verb {
            Verb::Act(input) => {
                self.handle(modem, input.clone());
                Ok(())
            }
            Verb::SmsDeliver { from, message } => {
                self.sms
                    .inject(self.now, modem, from.as_deref(), message.clone())?;
                self.deliver_sms();
                Ok(())
            }
            other => Err(format!("ctl {} does not act on a modem", other.name())),
        }
    }

    fn sms_sent(&mut self) -> Result<Vec<SentRecord>, String> {
        Ok(self.sms.sent(None))
    }

    fn state(&mut self, modem: usize) -> Result<Value, String> {
        serde_json::to_value(self.slots[modem].modem.state()).map_err(|e| format!("state: {e}"))
    }

    fn pending(&mut self, port: PortRef) -> &mut Vec<u8> {
        let slot = usize::from(port.instance.clamp(1, 3)) - 1;
        &mut self.slots[port.modem].pending[slot]
    }

    fn pass_time(&mut self, until: Instant, until_output: bool) {
        self.heard = false;
        let peer_changes = self.net.peer_changes();
        while let Some(deadline) = self.next_deadline() {
            if deadline > until {
                break;
            }
            self.fire_next_deadline(deadline);
            if until_output && (self.heard || self.net.peer_changes() != peer_changes) {
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

    fn peer_listen(&mut self, name: &str, transport: Transport, port: u16) -> Result<(), String> {
        let result = self.net.peer_listen(self.now, name, transport, port);
        self.after_peer_step(result)
    }

    fn peer_accept(&mut self, listener: &str, name: &str) -> Result<bool, String> {
        let result = self.net.peer_accept(self.now, listener, name);
        self.after_peer_step(result)
    }

    fn peer_connect(
        &mut self,
        name: &str,
        transport: Transport,
        port: u16,
        from: Ipv4Addr,
        _deadline: Instant,
    ) -> Result<(), String> {
        let result = self
            .net
            .peer_connect_from(self.now, name, transport, port, from);
        self.after_peer_step(result)
    }

    fn peer_connected(&mut self, name: &str) -> Result<bool, String> {
        self.net.peer_connected(name)
    }

    fn peer_send(&mut self, name: &str, bytes: &[u8]) -> Result<(), String> {
        let result = self.net.peer_send(self.now, name, bytes);
        self.after_peer_step(result)
    }

    fn peer_close(&mut self, name: &str, abort: bool) -> Result<(), String> {
        let result = self.net.peer_close(self.now, name, abort);
        self.after_peer_step(result)
    }

    fn peer_pending(&mut self, name: &str) -> Result<&mut Vec<u8>, String> {
        self.net.peer_pending(name)
    }

    fn peer_closed(&mut self, name: &str) -> Result<bool, String> {
        self.net.peer_closed(name)
    }
}
