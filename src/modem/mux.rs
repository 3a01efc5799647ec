//! The physical port in CMUX mode (`AT+CMUX=0`, 27.010 basic option): frames carry DLCI 1..3
//! to AT instances 1..3, MSC carries each channel's DTR and break; DLCI 0 closing ends it.

use super::{EventKind, Modem, Output, PortEvent, TimerKind};
use crate::cmux::{Multiplexer, MuxEvent, Signals};
use crate::dte::ResultCode;

/// How long the module waits for the client's SABM on DLCI 0 after `+CMUX` [DOC CMUX guide].
pub(crate) const START_TIMEOUT_MS: u64 = 5000;
/// Largest information field (N1), fixed on the Telit.
pub(crate) const N1: usize = 128;

/// The multiplexer running on the physical port.
pub(crate) struct MuxPort {
    pub engine: Multiplexer,
    /// DLCI 0 is open: the client started the multiplexer.
    pub started: bool,
}

impl Modem {
    /// Whether `instance`'s output and input travel in CMUX frames now.
    pub(crate) fn carried_by_mux(&self, instance: u8) -> bool {
        self.mux
            .as_ref()
            .is_some_and(|mux| mux.engine.is_open(instance))
    }

    /// `+CMUX` said OK on the plain port: from now on the port speaks 27.010.
    pub(crate) fn start_mux(&mut self) {
        self.flush();
        let mut engine = Multiplexer::new(self.config.instances, N1);
        for instance in 1..=self.config.instances {
            engine.set_refused(instance, self.atrun_reserver(instance).is_some());
        }
        self.mux = Some(MuxPort {
            engine,
            started: false,
        });
        self.cancel_timers(TimerKind::MuxStart);
        self.schedule(START_TIMEOUT_MS, TimerKind::MuxStart);
        self.event(EventKind::Mode, "cmux".into());
        self.explain(format!(
            "+CMUX: the port now carries 27.010 frames (DLCI 1-{} = AT instances); back to AT \
             unless DLCI 0 opens within {START_TIMEOUT_MS} ms",
            self.config.instances
        ));
    }

    /// Nobody opened DLCI 0 in time.
    pub(crate) fn mux_start_timed_out(&mut self) {
        if self.mux.as_ref().is_some_and(|mux| !mux.started) {
            self.explain("no SABM on DLCI 0 within 5 s: the port is back in AT mode");
            self.end_mux();
        }
    }

    /// The multiplexer is over: every channel closed, instance 1 back on the plain port.
    pub(crate) fn end_mux(&mut self) {
        let Some(mux) = self.mux.take() else {
            return;
        };
        for dlci in 1..=self.config.instances {
            if mux.engine.is_open(dlci) {
                self.on_instance(dlci, |m| m.set_dte_open(false));
            }
        }
        self.cancel_timers(TimerKind::MuxStart);
        self.event(EventKind::Mode, "command".into());
    }

    /// Bytes from the client while the port is multiplexed; what follows the end of the
    /// multiplexer is plain AT for instance 1 again. A frame cut by the end of `bytes` waits in
    /// the engine for the rest of it.
    pub(crate) fn mux_receive(&mut self, bytes: &[u8]) {
        let Some(mux) = self.mux.as_mut() else {
            return;
        };
        let events = mux.engine.receive(bytes);
        let ended = events.contains(&MuxEvent::Ended);
        let rest = if ended {
            mux.engine.take_unprocessed()
        } else {
            Vec::new()
        };
        for event in events {
            self.mux_event(event);
        }
        if self.mux.is_none() && !rest.is_empty() && self.switch_to(1) {
            self.feed_port(PortEvent::Bytes(rest));
        }
    }

    fn mux_event(&mut self, event: MuxEvent) {
        match event {
            MuxEvent::Reply(frames) => self.write_frames(frames),
            MuxEvent::Started => {
                if let Some(mux) = self.mux.as_mut() {
                    mux.started = true;
                }
                self.cancel_timers(TimerKind::MuxStart);
                self.explain("CMUX: DLCI 0 opened, the multiplexer runs");
            }
            MuxEvent::Opened(dlci) => {
                self.explain(format!("CMUX: DLCI {dlci} opened → AT instance {dlci}"));
                // The module's own V.24 signals for the new channel: ready, no carrier.
                self.on_instance(dlci, |m| {
                    m.mux_signals_changed(false);
                    m.set_dte_open(true);
                });
            }
            MuxEvent::Closed(dlci) => {
                // Like its client closing the port: the line goes, `&D` applies.
                self.explain(format!("CMUX: DLCI {dlci} closed"));
                self.on_instance(dlci, |m| m.set_dte_open(false));
            }
            MuxEvent::Data(dlci, bytes) => {
                if self.switch_to(dlci) {
                    self.feed_port(PortEvent::Bytes(bytes));
                }
            }
            MuxEvent::Signals(dlci, signals) => {
                self.on_instance(dlci, |m| m.channel_signals(dlci, signals));
            }
            MuxEvent::Ended => {
                self.explain("CMUX: DLCI 0 closed → the port is back in AT mode");
                self.end_mux();
            }
            MuxEvent::Dropped(reason) => self.explain(format!("CMUX frame dropped: {reason}")),
        }
    }

    /// MSC from the client: DTR (RTC) for the instance, and break as the escape from data mode
    /// (under CMUX the module does not look for `+++`).
    fn channel_signals(&mut self, dlci: u8, signals: Signals) {
        if signals.rtc != self.dtr {
            self.set_dtr(signals.rtc, &format!("CMUX MSC on DLCI {dlci}"));
        }
        if signals.break_signal && self.in_data_mode() {
            self.leave_data_mode(&format!("CMUX MSC break on DLCI {dlci}"));
            self.write_result(&ResultCode::Ok);
            self.flush_urcs();
        }
    }

    /// The module's V.24 signals for the running instance's channel changed: DCD follows the
    /// data link (`&C1`; always on under `&C0`), and `ring` pulses RI for one MSC.
    pub(crate) fn mux_signals_changed(&mut self, ring: bool) {
        let instance = self.current;
        let dcd = self.settings.dcd_mode == 0 || self.data_link.is_some();
        let Some(mux) = self.mux.as_ref().filter(|m| m.engine.is_open(instance)) else {
            return;
        };
        let signals = |ring| Signals {
            rtc: true,
            rtr: true,
            dcd,
            ring,
            ..Signals::default()
        };
        let mut frames = mux.engine.modem_status(instance, signals(ring));
        if ring {
            frames.extend(mux.engine.modem_status(instance, signals(false)));
        }
        self.write_frames(frames);
    }

    /// Frames the multiplexer itself answers with, written on the physical port as they are.
    fn write_frames(&mut self, frames: Vec<u8>) {
        if frames.is_empty() {
            return;
        }
        self.flush();
        self.outputs.push_back(Output::Dte(frames));
    }
}
