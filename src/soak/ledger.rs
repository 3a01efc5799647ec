//! The soak's bookkeeping: every SMS attempted and every TCP session, with the only losses the
//! emulator documents (a deliberate reboot or network loss mid-transfer) kept apart.

use std::sync::Mutex;

use super::echo::{Fnv, ServerSide};

/// What became of one `AT+CMGS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsOutcome {
    /// Ctrl-Z sent, no answer yet.
    Pending,
    /// `+CMGS: <mr>`: must arrive exactly once.
    Confirmed,
    /// `+CMS ERROR`: must never arrive.
    Refused,
    /// The sender was rebooted on purpose between Ctrl-Z and the answer: at most once.
    Uncertain,
}

#[derive(Debug, Clone, Copy)]
struct SmsRecord {
    to: u16,
    outcome: SmsOutcome,
    arrivals: u8,
}

/// How a TCP session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// Closed by the client (`+++` when online, then `AT+CIPCLOSE` / `AT#SH`): nothing may be lost.
    Escape,
    /// A DTR drop under `&D2` with nothing in flight: nothing may be lost.
    DtrClose,
    /// `ctl network none` with a chunk in flight: that chunk's tail may be lost.
    NetworkLoss,
    /// `ctl reboot` with a chunk in flight: that chunk's tail may be lost.
    Reboot,
    /// The client gave up on an unexpected answer (already a failure).
    Broken,
}

impl SessionEnd {
    fn may_lose(self) -> bool {
        matches!(self, SessionEnd::NetworkLoss | SessionEnd::Reboot)
    }
}

/// One finished session as the client saw it, with the server's side.
#[derive(Debug, Clone)]
pub struct SessionReport {
    pub modem: usize,
    pub session: u64,
    pub end: SessionEnd,
    /// Bytes written to the PTY in data mode.
    pub sent: u64,
    /// Echoed bytes read back and compared equal.
    pub verified: u64,
    /// The chunk a deliberate disruption caught in flight: all that may be lost, each way.
    pub in_flight: u64,
    /// The FNV hash of the first `server.received` bytes sent (when the server saw any).
    pub sent_prefix_hash: Option<Fnv>,
    pub server: Option<ServerSide>,
}

/// Totals for the summary.
#[derive(Debug, Clone, Default)]
pub struct Totals {
    pub sms_attempted: u64,
    pub sms_confirmed: u64,
    pub sms_refused: u64,
    pub sms_uncertain: u64,
    pub sms_pending: u64,
    pub sms_arrived: u64,
    pub sms_confirmed_arrived_once: u64,
    pub sms_confirmed_missing: u64,
    pub sms_refused_arrived: u64,
    pub sms_uncertain_arrived: u64,
    pub sms_duplicates: u64,
    pub sms_strays: u64,

    pub tcp_sessions: u64,
    pub tcp_clean: u64,
    pub tcp_disrupted: u64,
    pub tcp_broken: u64,
    pub bytes_sent: u64,
    pub bytes_server_received: u64,
    pub bytes_echoed: u64,
    pub bytes_verified: u64,
    pub bytes_lost_allowed: u64,
    pub tcp_violations: u64,

    pub escapes: u64,
    pub dtr_resumes: u64,
    pub dtr_closes: u64,
    pub dtr_idle: u64,
    pub network_losses: u64,
    pub reboots: u64,
    pub reboots_mid_sms: u64,
    pub retries: u64,
    pub held_echoes: u64,
    pub command_mode_sessions: u64,
}

#[derive(Default)]
struct Inner {
    /// Per sender, by sequence number.
    sms: Vec<Vec<SmsRecord>>,
    totals: Totals,
    failures: Vec<String>,
    failure_count: u64,
}

/// Shared by every driver.
pub struct Ledger {
    inner: Mutex<Inner>,
    /// The modems' numbers, by index.
    numbers: Vec<String>,
}

/// At most this many failure lines are kept for the report.
const KEPT_FAILURES: usize = 30;

/// The text of SMS `seq` from `from` to `to`: the route, the number and a check value.
pub fn sms_text(from: usize, seq: usize, to: usize) -> String {
    let body = format!("soak {from}-{seq} to {to}");
    let check = Fnv::of(body.as_bytes()) as u32;
    format!("{body} {check:08x}")
}

/// `(from, seq, to)` of a soak text whose check value holds.
fn parse_sms_text(text: &str) -> Option<(usize, usize, usize)> {
    let (body, check) = text.trim_end().rsplit_once(' ')?;
    if format!("{:08x}", Fnv::of(body.as_bytes()) as u32) != check {
        return None;
    }
    let mut words = body.split(' ');
    if words.next()? != "soak" {
        return None;
    }
    let (from, seq) = words.next()?.split_once('-')?;
    if words.next()? != "to" {
        return None;
    }
    let to = words.next()?.parse().ok()?;
    Some((from.parse().ok()?, seq.parse().ok()?, to))
}

/// Counters drivers bump.
#[derive(Debug, Clone, Copy)]
pub enum Event {
    Escape,
    DtrResume,
    DtrClose,
    DtrIdle,
    NetworkLoss,
    Reboot,
    RebootMidSms,
    Retry,
    /// Echo that reached the modem while it was out of data mode, given after `ATO`/`#SO`.
    HeldEcho,
    /// A SIM900 session in command mode (`+CIPSEND`, `+IPD`).
    CommandModeSession,
}

impl Ledger {
    pub fn new(numbers: Vec<String>) -> Ledger {
        Ledger {
            inner: Mutex::new(Inner {
                sms: vec![Vec::new(); numbers.len()],
                ..Inner::default()
            }),
            numbers,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Something the emulator did that it must not: fails the soak.
    pub fn fail(&self, what: String) {
        tracing::error!("soak: {what}");
        let mut inner = self.lock();
        inner.failure_count += 1;
        if inner.failures.len() < KEPT_FAILURES {
            inner.failures.push(what);
        }
    }

    pub fn count(&self, event: Event) {
        let mut inner = self.lock();
        let t = &mut inner.totals;
        match event {
            Event::Escape => t.escapes += 1,
            Event::DtrResume => t.dtr_resumes += 1,
            Event::DtrClose => t.dtr_closes += 1,
            Event::DtrIdle => t.dtr_idle += 1,
            Event::NetworkLoss => t.network_losses += 1,
            Event::Reboot => t.reboots += 1,
            Event::RebootMidSms => t.reboots_mid_sms += 1,
            Event::Retry => t.retries += 1,
            Event::HeldEcho => t.held_echoes += 1,
            Event::CommandModeSession => t.command_mode_sessions += 1,
        }
    }

    /// A new SMS from `from` to `to`, before its Ctrl-Z: its sequence number.
    pub fn sms_attempt(&self, from: usize, to: usize) -> usize {
        let mut inner = self.lock();
        inner.totals.sms_attempted += 1;
        let records = &mut inner.sms[from];
        records.push(SmsRecord {
            to: to as u16,
            outcome: SmsOutcome::Pending,
            arrivals: 0,
        });
        records.len() - 1
    }

    pub fn sms_outcome(&self, from: usize, seq: usize, outcome: SmsOutcome) {
        let mut inner = self.lock();
        if let Some(record) = inner.sms[from].get_mut(seq) {
            record.outcome = outcome;
        }
    }

    /// Modem `to` read a message from `originator` with `text`.
    pub fn sms_arrived(&self, to: usize, originator: &str, text: &str) {
        let parsed = parse_sms_text(text);
        let mut inner = self.lock();
        inner.totals.sms_arrived += 1;
        let Some((from, seq, addressed)) = parsed else {
            drop(inner);
            self.fail(format!("modem {to} read a message nobody sent: {text:?}"));
            return;
        };
        let expected_originator = self.numbers.get(from).map(String::as_str);
        let record = inner.sms.get_mut(from).and_then(|r| r.get_mut(seq));
        let problem = match record {
            None => Some(format!("modem {to} read SMS {from}-{seq}, never sent")),
            Some(record) => {
                record.arrivals = record.arrivals.saturating_add(1);
                if addressed != to || usize::from(record.to) != to {
                    Some(format!(
                        "SMS {from}-{seq} for {addressed} arrived at modem {to}"
                    ))
                } else if expected_originator != Some(originator) {
                    Some(format!(
                        "SMS {from}-{seq} arrived from {originator:?}, not {expected_originator:?}"
                    ))
                } else if record.arrivals > 1 {
                    Some(format!(
                        "SMS {from}-{seq} arrived {} times at modem {to}",
                        record.arrivals
                    ))
                } else if record.outcome == SmsOutcome::Refused {
                    Some(format!(
                        "SMS {from}-{seq} arrived though the modem refused it"
                    ))
                } else {
                    None
                }
            }
        };
        drop(inner);
        if let Some(problem) = problem {
            self.fail(problem);
        }
    }

    /// Messages to `to` that must still arrive (pending or confirmed, not yet read).
    pub fn sms_owed_to(&self, to: usize) -> usize {
        self.lock()
            .sms
            .iter()
            .flatten()
            .filter(|r| {
                usize::from(r.to) == to
                    && r.arrivals == 0
                    && matches!(r.outcome, SmsOutcome::Pending | SmsOutcome::Confirmed)
            })
            .count()
    }

    /// Checks one finished session against the server's view and adds it up.
    pub fn tcp_session(&self, r: &SessionReport) {
        let mut problems = Vec::new();
        let (received, echoed) = match &r.server {
            Some(s) => (s.received, s.echoed),
            None => (0, 0),
        };
        match &r.server {
            None if r.end != SessionEnd::Broken => {
                problems.push("the server never saw the session".to_string());
            }
            None => {}
            Some(s) => {
                if !s.closed {
                    problems.push("the modem left the connection open".into());
                }
                if s.received > r.sent {
                    problems.push(format!(
                        "the server received {} bytes, more than the {} sent",
                        s.received, r.sent
                    ));
                } else if r.sent_prefix_hash != Some(s.hash) {
                    problems.push(format!(
                        "the {} bytes the server received differ from those sent",
                        s.received
                    ));
                }
                if r.verified > s.echoed {
                    problems.push(format!(
                        "the client read {} echoed bytes, the server echoed {}",
                        r.verified, s.echoed
                    ));
                }
            }
        }
        let complete = received == r.sent && r.verified == r.sent && echoed == r.sent;
        let lost_up = r.sent.saturating_sub(received);
        let lost_down = echoed.saturating_sub(r.verified);
        if r.end.may_lose() && (lost_up > r.in_flight || lost_down > r.in_flight) {
            problems.push(format!(
                "lost {lost_up} bytes up and {lost_down} down, more than the {} in flight",
                r.in_flight
            ));
        }
        if !r.end.may_lose() && r.end != SessionEnd::Broken && !complete {
            problems.push(format!(
                "bytes lost without a disruption: sent {}, server received {}, echoed {}, read back {}",
                r.sent, received, echoed, r.verified
            ));
        }
        {
            let mut inner = self.lock();
            let t = &mut inner.totals;
            t.tcp_sessions += 1;
            match r.end {
                SessionEnd::Broken => t.tcp_broken += 1,
                end if end.may_lose() => t.tcp_disrupted += 1,
                _ => t.tcp_clean += 1,
            }
            t.bytes_sent += r.sent;
            t.bytes_server_received += received;
            t.bytes_echoed += echoed;
            t.bytes_verified += r.verified;
            if r.end.may_lose() && problems.is_empty() {
                t.bytes_lost_allowed += lost_up + lost_down;
            }
            if !problems.is_empty() {
                t.tcp_violations += 1;
            }
        }
        for p in problems {
            self.fail(format!(
                "modem {} session {} ({:?}): {p}",
                r.modem, r.session, r.end
            ));
        }
    }

    /// The totals with the SMS checks worked out.
    pub fn totals(&self) -> Totals {
        let inner = self.lock();
        let mut t = inner.totals.clone();
        for record in inner.sms.iter().flatten() {
            match record.outcome {
                SmsOutcome::Pending => t.sms_pending += 1,
                SmsOutcome::Confirmed => {
                    t.sms_confirmed += 1;
                    match record.arrivals {
                        0 => t.sms_confirmed_missing += 1,
                        1 => t.sms_confirmed_arrived_once += 1,
                        _ => {}
                    }
                }
                SmsOutcome::Refused => {
                    t.sms_refused += 1;
                    if record.arrivals > 0 {
                        t.sms_refused_arrived += 1;
                    }
                }
                SmsOutcome::Uncertain => {
                    t.sms_uncertain += 1;
                    if record.arrivals > 0 {
                        t.sms_uncertain_arrived += 1;
                    }
                }
            }
            if record.arrivals > 1 {
                t.sms_duplicates += u64::from(record.arrivals - 1);
            }
        }
        let known: u64 = inner
            .sms
            .iter()
            .flatten()
            .map(|r| u64::from(r.arrivals))
            .sum();
        t.sms_strays = t.sms_arrived.saturating_sub(known);
        t
    }

    /// The failures kept, and how many there were.
    pub fn failures(&self) -> (Vec<String>, u64) {
        let inner = self.lock();
        (inner.failures.clone(), inner.failure_count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger() -> Ledger {
        Ledger::new(vec!["+1".into(), "+2".into(), "+3".into()])
    }

    #[test]
    fn sms_texts_carry_their_route_and_a_check() {
        let text = sms_text(2, 17, 0);
        assert_eq!(parse_sms_text(&text), Some((2, 17, 0)));
        assert_eq!(parse_sms_text(&text.replace("17", "18")), None);
        assert_eq!(parse_sms_text("hello"), None);
    }

    #[test]
    fn a_confirmed_sms_must_arrive_exactly_once() {
        let l = ledger();
        let a = l.sms_attempt(0, 1);
        let b = l.sms_attempt(0, 2);
        let c = l.sms_attempt(1, 0);
        let d = l.sms_attempt(2, 0);
        l.sms_outcome(0, a, SmsOutcome::Confirmed);
        l.sms_outcome(0, b, SmsOutcome::Confirmed);
        l.sms_outcome(1, c, SmsOutcome::Refused);
        l.sms_outcome(2, d, SmsOutcome::Uncertain);
        assert_eq!(l.sms_owed_to(1), 1);
        l.sms_arrived(1, "+1", &sms_text(0, a, 1));
        assert_eq!(l.sms_owed_to(1), 0);
        assert_eq!(l.failures().1, 0);
        l.sms_arrived(1, "+1", &sms_text(0, a, 1));
        l.sms_arrived(0, "+2", &sms_text(1, c, 0));
        l.sms_arrived(0, "+9", &sms_text(2, d, 0));
        l.sms_arrived(0, "+1", "not ours");
        let t = l.totals();
        assert_eq!(t.sms_confirmed, 2);
        assert_eq!(t.sms_confirmed_arrived_once, 0);
        assert_eq!(t.sms_confirmed_missing, 1);
        assert_eq!(t.sms_duplicates, 1);
        assert_eq!(t.sms_refused_arrived, 1);
        assert_eq!(t.sms_uncertain_arrived, 1);
        assert_eq!(t.sms_strays, 1);
        // Duplicate, refused yet arrived, wrong originator, stray.
        assert_eq!(l.failures().1, 4);
    }

    fn report(end: SessionEnd, sent: &[u8], received: usize, verified: u64) -> SessionReport {
        let in_flight = if end == SessionEnd::Escape { 0 } else { 4 };
        let mut hash = Fnv::default();
        hash.update(&sent[..received]);
        SessionReport {
            modem: 0,
            session: 1,
            end,
            sent: sent.len() as u64,
            verified,
            in_flight,
            sent_prefix_hash: Some(hash),
            server: Some(ServerSide {
                received: received as u64,
                hash,
                echoed: received as u64,
                closed: true,
            }),
        }
    }

    #[test]
    fn only_a_disrupted_session_may_lose_its_tail() {
        let l = ledger();
        let data = b"0123456789";
        l.tcp_session(&report(SessionEnd::Escape, data, 10, 10));
        l.tcp_session(&report(SessionEnd::Reboot, data, 6, 4));
        assert_eq!(l.failures().1, 0);
        // More than the chunk in flight.
        l.tcp_session(&report(SessionEnd::Reboot, data, 5, 5));
        l.tcp_session(&report(SessionEnd::Escape, data, 6, 6));
        let mut corrupt = report(SessionEnd::NetworkLoss, data, 6, 6);
        corrupt.sent_prefix_hash = Some(Fnv(1));
        l.tcp_session(&corrupt);
        let t = l.totals();
        assert_eq!(t.tcp_sessions, 5);
        assert_eq!(t.bytes_lost_allowed, 4 + 2);
        assert_eq!(t.tcp_violations, 3);
        assert_eq!(l.failures().1, 3);
    }
}
