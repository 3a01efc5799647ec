//! Voice calls the network offers the modem (`ctl ring`): RING / +CRING / +CLIP, auto-answer by S0,
//! ATA, ATH, the caller giving up, and the &D2 DTR clear-down.

use super::{Modem, TimerKind};
use crate::dte::ResultCode;

/// Where a call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    /// Incoming, not yet answered.
    Ringing,
    /// Answered (by ATA or S0).
    Active,
}

/// The one call a modem can have.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Call {
    /// The caller's number, empty when withheld.
    pub from: String,
    pub state: CallState,
    /// RINGs printed so far.
    pub rings: u32,
}

impl Call {
    /// `+CLIP`/`+CLCC` type of address: 145 international, 129 otherwise.
    pub fn number_type(&self) -> u32 {
        if self.from.starts_with('+') { 145 } else { 129 }
    }
}

impl Modem {
    /// The network offers an incoming voice call.
    pub(crate) fn incoming_call(&mut self, from: String) {
        if let Some(call) = &self.call {
            self.explain(format!(
                "call from {from:?} not offered: a call from {:?} is already {:?}",
                call.from, call.state
            ));
            return;
        }
        if !self.powered || !self.radio.is_registered(&self.config.network) {
            self.explain(format!(
                "call from {from:?} cannot reach the modem: it is not registered"
            ));
            return;
        }
        self.explain(format!("incoming voice call from {from:?}: ringing"));
        self.call = Some(Call {
            from,
            state: CallState::Ringing,
            rings: 0,
        });
        self.ring();
    }

    /// One ring: `RING` (or `+CRING: VOICE`), `+CLIP` when enabled, then auto-answer or the
    /// next ring, or the caller gives up.
    pub(crate) fn ring(&mut self) {
        let Some(call) = self.call.as_mut() else {
            return;
        };
        if call.state != CallState::Ringing {
            return;
        }
        if call.rings >= self.profile.call.caller_gives_up_after_rings {
            let rings = call.rings;
            self.call = None;
            self.explain(format!(
                "the caller gave up after {rings} rings → NO CARRIER"
            ));
            self.urc_code(ResultCode::NoCarrier);
            return;
        }
        call.rings += 1;
        let rings = call.rings;
        let clip = format!(
            "+CLIP: \"{}\",{},\"\",0,\"\",0",
            call.from,
            call.number_type()
        );
        self.mux_signals_changed(true);
        if self.settings.crc == 1 {
            self.urc("+CRING: VOICE");
        } else {
            self.urc_code(ResultCode::Ring);
        }
        if self.settings.clip == 1 {
            self.urc(clip);
        }
        let auto_answer = self.settings.s_register(0);
        if auto_answer > 0 && rings >= auto_answer && self.dtr {
            self.explain(format!("S0={auto_answer}: answered after {rings} rings"));
            self.answer_call();
            return;
        }
        self.schedule(self.profile.call.ring_interval_ms, TimerKind::Ring);
    }

    /// ATA or auto-answer: the ringing call becomes active.
    pub(crate) fn answer_call(&mut self) -> bool {
        match self.call.as_mut() {
            Some(call) if call.state == CallState::Ringing => {
                call.state = CallState::Active;
                self.cancel_timers(TimerKind::Ring);
                true
            }
            _ => false,
        }
    }

    /// ATH, the remote party or a DTR drop ends the call; returns whether there was one.
    pub(crate) fn end_call(&mut self, why: &str) -> bool {
        match self.call.take() {
            Some(call) => {
                self.cancel_timers(TimerKind::Ring);
                self.explain(format!("call with {:?} ended: {why}", call.from));
                true
            }
            None => false,
        }
    }

    /// The remote party hangs up (or the caller stops ringing): `NO CARRIER`.
    pub(crate) fn remote_hang_up(&mut self) {
        if self.end_call("the other party hung up → NO CARRIER") {
            self.urc_code(ResultCode::NoCarrier);
        } else {
            self.explain("hang-up from the network ignored: no call");
        }
    }
}
