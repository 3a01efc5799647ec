//! The `+++` escape detector of data mode: guard silence, three escape characters each within the
//! guard time of the last, guard silence again; everything else is data, forwarded in order.

use crate::modem::Instant;

/// What the detector made of a chunk of data-mode bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum Passed {
    /// Forward the chunk exactly as it came (the common case: no escape character in it).
    Whole,
    /// Forward these bytes instead (escape characters held earlier released, some held now).
    Bytes(Vec<u8>),
}

/// What a deadline of the detector brought.
#[derive(Debug, PartialEq, Eq)]
pub enum Expired {
    /// The trailing guard time passed after three escape characters: leave data mode.
    Escape,
    /// Escape characters that turned out to be data: forward them.
    Data(Vec<u8>),
    Nothing,
}

/// Watches data-mode input for the escape sequence, deciding by arrival times only.
#[derive(Debug, Clone)]
pub struct EscapeDetector {
    /// S12 as microseconds.
    guard_us: u64,
    /// S2.
    escape_char: u8,
    /// `+CIPCCFG` esc=0 turns the escape off (DTR still works).
    enabled: bool,
    /// When the last byte that is data (not a held escape character) arrived.
    last_data_at: Instant,
    /// Escape characters held back (0-3), and when the last of them arrived.
    held: u8,
    last_held_at: Instant,
}

impl EscapeDetector {
    /// A detector for data mode entered at `now`: the guard time counts from there.
    pub fn new(now: Instant, escape_char: u8, guard_ms: u64, enabled: bool) -> Self {
        EscapeDetector {
            guard_us: guard_ms.saturating_mul(1000),
            escape_char,
            enabled,
            last_data_at: now,
            held: 0,
            last_held_at: now,
        }
    }

    /// Escape characters held, waiting to see whether they are an escape.
    pub fn held(&self) -> u8 {
        self.held
    }

    /// Bytes that arrived together at `now`.
    pub fn feed(&mut self, now: Instant, bytes: &[u8]) -> Passed {
        if bytes.is_empty() {
            return Passed::Whole;
        }
        if self.held == 0 && (!self.enabled || !bytes.contains(&self.escape_char)) {
            self.last_data_at = now;
            return Passed::Whole;
        }
        let mut out = Vec::with_capacity(bytes.len() + 3);
        for &byte in bytes {
            self.step(now, byte, &mut out);
        }
        Passed::Bytes(out)
    }

    fn step(&mut self, now: Instant, byte: u8, out: &mut Vec<u8>) {
        let is_escape = self.enabled && byte == self.escape_char;
        match self.held {
            0 => {
                if is_escape && now.0.saturating_sub(self.last_data_at.0) >= self.guard_us {
                    self.hold(now);
                    return;
                }
            }
            1 | 2 => {
                if is_escape && now.0.saturating_sub(self.last_held_at.0) <= self.guard_us {
                    self.hold(now);
                    return;
                }
                self.release(out);
            }
            _ => self.release(out),
        }
        out.push(byte);
        self.last_data_at = now;
    }

    fn hold(&mut self, now: Instant) {
        self.held += 1;
        self.last_held_at = now;
    }

    /// The held characters were data after all; they arrived last at `last_held_at`.
    fn release(&mut self, out: &mut Vec<u8>) {
        out.extend(std::iter::repeat_n(
            self.escape_char,
            usize::from(self.held),
        ));
        self.held = 0;
        self.last_data_at = self.last_held_at;
    }

    /// When the detector must look again (end of the guard after the last held character).
    pub fn deadline(&self) -> Option<Instant> {
        (self.held > 0).then(|| Instant(self.last_held_at.0.saturating_add(self.guard_us)))
    }

    /// Time passed to `now` with no input.
    pub fn expire(&mut self, now: Instant) -> Expired {
        match self.deadline() {
            Some(at) if at <= now => {
                if self.held == 3 {
                    self.held = 0;
                    self.last_data_at = now;
                    Expired::Escape
                } else {
                    let mut out = Vec::new();
                    self.release(&mut out);
                    Expired::Data(out)
                }
            }
            _ => Expired::Nothing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUARD_MS: u64 = 1000;

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    fn detector() -> EscapeDetector {
        EscapeDetector::new(at(0), b'+', GUARD_MS, true)
    }

    /// Feeds (time, bytes) and expires deadlines in between; returns data forwarded and whether
    /// (and when) the escape happened.
    fn run(
        d: &mut EscapeDetector,
        inputs: &[(u64, &[u8])],
        until_ms: u64,
    ) -> (Vec<u8>, Option<u64>) {
        let mut data = Vec::new();
        let mut escaped = None;
        let mut expire_until = |d: &mut EscapeDetector, limit: u64, data: &mut Vec<u8>| {
            while let Some(deadline) = d.deadline() {
                if deadline.0 > limit * 1000 {
                    break;
                }
                match d.expire(deadline) {
                    Expired::Escape => escaped = Some(deadline.as_millis()),
                    Expired::Data(bytes) => data.extend(bytes),
                    Expired::Nothing => break,
                }
            }
        };
        for &(ms, bytes) in inputs {
            expire_until(d, ms, &mut data);
            match d.feed(at(ms), bytes) {
                Passed::Whole => data.extend_from_slice(bytes),
                Passed::Bytes(bytes) => data.extend(bytes),
            }
        }
        expire_until(d, until_ms, &mut data);
        (data, escaped)
    }

    #[test]
    fn escape_needs_guard_before_and_after() {
        let mut d = detector();
        let (data, escaped) = run(&mut d, &[(100, b"abc"), (1100, b"+++")], 5000);
        assert_eq!(data, b"abc");
        assert_eq!(escaped, Some(2100));
    }

    #[test]
    fn plus_signs_one_by_one_within_the_guard_escape() {
        let mut d = detector();
        let (data, escaped) = run(&mut d, &[(1000, b"+"), (1900, b"+"), (2800, b"+")], 9000);
        assert_eq!(data, b"");
        assert_eq!(escaped, Some(3800));
    }

    #[test]
    fn no_leading_guard_means_data() {
        let mut d = detector();
        let (data, escaped) = run(&mut d, &[(100, b"x"), (900, b"+++")], 5000);
        assert_eq!(data, b"x+++");
        assert_eq!(escaped, None);
    }

    #[test]
    fn guard_counts_from_entering_data_mode() {
        let mut d = detector();
        let (data, escaped) = run(&mut d, &[(999, b"+++")], 5000);
        assert_eq!(data, b"+++");
        assert_eq!(escaped, None);
    }

    #[test]
    fn data_right_after_the_plus_signs_cancels_and_keeps_order() {
        let mut d = detector();
        let (data, escaped) = run(&mut d, &[(2000, b"+++"), (2500, b"AT")], 5000);
        assert_eq!(data, b"+++AT");
        assert_eq!(escaped, None);
    }

    #[test]
    fn plus_signs_in_the_same_chunk_as_data_are_data() {
        let mut d = detector();
        let (data, escaped) = run(&mut d, &[(2000, b"+++x"), (4000, b"a+++b")], 9000);
        assert_eq!(data, b"+++xa+++b");
        assert_eq!(escaped, None);
    }

    #[test]
    fn a_late_second_plus_releases_the_first_and_may_start_again() {
        let mut d = detector();
        // `+` at 2 s, the next only 1.5 s later: the first was data (released at 3 s), and the
        // second has a full guard before it, so it starts a fresh escape.
        let (data, escaped) = run(
            &mut d,
            &[(2000, b"+"), (3500, b"+"), (3600, b"+"), (3700, b"+")],
            9000,
        );
        assert_eq!(data, b"+");
        assert_eq!(escaped, Some(4700));
    }

    #[test]
    fn four_plus_signs_are_data() {
        let mut d = detector();
        let (data, escaped) = run(&mut d, &[(2000, b"++++")], 9000);
        assert_eq!(data, b"++++");
        assert_eq!(escaped, None);
    }

    #[test]
    fn a_byte_exactly_at_the_guard_end_is_too_late() {
        let mut d = detector();
        // The deadline is checked before the byte: the escape has already happened.
        let (data, escaped) = run(&mut d, &[(1000, b"+++"), (2000, b"x")], 9000);
        assert_eq!(escaped, Some(2000));
        assert_eq!(data, b"x");
    }

    #[test]
    fn disabled_detector_forwards_everything() {
        let mut d = EscapeDetector::new(at(0), b'+', GUARD_MS, false);
        let (data, escaped) = run(&mut d, &[(5000, b"+++")], 9000);
        assert_eq!(data, b"+++");
        assert_eq!(escaped, None);
    }

    #[test]
    fn other_escape_character_and_guard() {
        let mut d = EscapeDetector::new(at(0), b'~', 400, true);
        let (data, escaped) = run(&mut d, &[(500, b"+++"), (1000, b"~~~")], 9000);
        assert_eq!(data, b"+++");
        assert_eq!(escaped, Some(1400));
    }
}
