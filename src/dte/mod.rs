//! Byte-level discipline of the command state: `AT` prefix hunt, S3/S5 editing, `A/`, line limit,
//! echo decisions, and the V0/V1/Q framing of information text, result codes and URCs.

pub mod escape;

/// What the discipline needs from the registers, read fresh for every byte.
#[derive(Debug, Clone, Copy)]
pub struct LineRegisters {
    /// S3, the line terminator.
    pub terminator: u8,
    /// S5, the backspace character.
    pub backspace: u8,
    /// Characters allowed after the `AT` prefix (SIM900 556, Telit 80).
    pub max_chars: usize,
}

/// What a completed line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineEvent {
    /// A line: the bytes after the `AT` prefix (editing applied).
    Line(Vec<u8>),
    /// The line was longer than the profile allows: nothing may run.
    TooLong { chars: usize },
    /// `A/`: run the previous line again.
    Repeat,
}

/// The result of feeding one byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Whether this byte is echoed when echo (E1) is on.
    pub echo: bool,
    pub event: Option<LineEvent>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for `A`/`a`; everything else is discarded.
    Hunting,
    /// Saw `A`/`a`; `T` starts a line, `/` repeats.
    GotA,
    /// Inside a line, after `AT`.
    InLine,
}

/// Collects command lines out of a byte stream, one byte at a time.
#[derive(Debug, Clone)]
pub struct LineDiscipline {
    phase: Phase,
    /// Characters after the prefix; never grows past `max_chars + 1`.
    buffer: Vec<u8>,
    /// Characters typed after the prefix, including any not kept because of the limit.
    typed: usize,
    /// The last byte was the terminator of a line (a following LF is swallowed).
    after_terminator: bool,
}

impl Default for LineDiscipline {
    fn default() -> Self {
        Self::new()
    }
}

impl LineDiscipline {
    pub fn new() -> Self {
        Self {
            phase: Phase::Hunting,
            buffer: Vec::new(),
            typed: 0,
            after_terminator: false,
        }
    }

    /// Forgets a partly typed line (DTE closed, reboot).
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// Whether a line is being typed (the prefix has started).
    pub fn is_typing(&self) -> bool {
        self.phase != Phase::Hunting
    }

    pub fn feed(&mut self, byte: u8, regs: LineRegisters) -> Step {
        let after_terminator = std::mem::replace(&mut self.after_terminator, false);
        if byte == b'\n' {
            // LF is ignored in command state; the one right after the terminating CR is not echoed.
            return Step {
                echo: !after_terminator,
                event: None,
            };
        }
        if byte == regs.backspace {
            self.backspace();
            return Step {
                echo: true,
                event: None,
            };
        }
        let event = match self.phase {
            Phase::Hunting => {
                if byte.eq_ignore_ascii_case(&b'a') {
                    self.phase = Phase::GotA;
                }
                if byte == regs.terminator {
                    self.after_terminator = true;
                }
                None
            }
            Phase::GotA => {
                if byte.eq_ignore_ascii_case(&b't') {
                    self.phase = Phase::InLine;
                    self.buffer.clear();
                    self.typed = 0;
                    None
                } else if byte == b'/' {
                    self.phase = Phase::Hunting;
                    Some(LineEvent::Repeat)
                } else {
                    if !byte.eq_ignore_ascii_case(&b'a') {
                        self.phase = Phase::Hunting;
                    }
                    if byte == regs.terminator {
                        self.after_terminator = true;
                    }
                    None
                }
            }
            Phase::InLine => {
                if byte == regs.terminator {
                    self.phase = Phase::Hunting;
                    self.after_terminator = true;
                    let line = std::mem::take(&mut self.buffer);
                    if self.typed > regs.max_chars {
                        Some(LineEvent::TooLong { chars: self.typed })
                    } else {
                        Some(LineEvent::Line(line))
                    }
                } else {
                    self.typed = self.typed.saturating_add(1);
                    if self.buffer.len() <= regs.max_chars {
                        self.buffer.push(byte);
                    }
                    None
                }
            }
        };
        Step { echo: true, event }
    }

    fn backspace(&mut self) {
        match self.phase {
            Phase::Hunting => {}
            Phase::GotA => self.phase = Phase::Hunting,
            Phase::InLine => {
                if self.typed == 0 {
                    self.phase = Phase::GotA;
                } else {
                    if self.typed <= self.buffer.len() {
                        self.buffer.pop();
                    }
                    self.typed -= 1;
                }
            }
        }
    }
}

/// How results and information text are framed (ATV, ATQ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Framing {
    pub verbose: bool,
    pub quiet: bool,
}

/// A final result code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResultCode {
    Ok,
    Connect,
    Ring,
    NoCarrier,
    Error,
    NoDialtone,
    Busy,
    NoAnswer,
    /// `+CME ERROR: <n or text>` / `+CMS ERROR: ...` or a command's own final text (`SHUT OK`).
    Text(String),
}

impl ResultCode {
    fn numeric(&self) -> Option<u8> {
        Some(match self {
            ResultCode::Ok => 0,
            ResultCode::Connect => 1,
            ResultCode::Ring => 2,
            ResultCode::NoCarrier => 3,
            ResultCode::Error => 4,
            ResultCode::NoDialtone => 6,
            ResultCode::Busy => 7,
            ResultCode::NoAnswer => 8,
            ResultCode::Text(_) => return None,
        })
    }

    pub fn verbose_text(&self) -> &str {
        match self {
            ResultCode::Ok => "OK",
            ResultCode::Connect => "CONNECT",
            ResultCode::Ring => "RING",
            ResultCode::NoCarrier => "NO CARRIER",
            ResultCode::Error => "ERROR",
            ResultCode::NoDialtone => "NO DIALTONE",
            ResultCode::Busy => "BUSY",
            ResultCode::NoAnswer => "NO ANSWER",
            ResultCode::Text(t) => t,
        }
    }
}

impl Framing {
    /// Information text lines: V1 `\r\nA\r\nB\r\n`, V0 `A\r\nB\r\n`.
    pub fn info(&self, lines: &[String], out: &mut Vec<u8>) {
        if lines.is_empty() {
            return;
        }
        if self.verbose {
            out.extend_from_slice(b"\r\n");
        }
        for line in lines {
            push_te_chars(line, out);
            out.extend_from_slice(b"\r\n");
        }
    }

    /// A final result code: V1 `\r\nOK\r\n`, V0 `0\r`; nothing under Q1.
    /// Texts with no number (`+CME ERROR: 3`) are framed `text\r\n` under V0.
    pub fn result(&self, code: &ResultCode, out: &mut Vec<u8>) {
        if self.quiet {
            return;
        }
        if self.verbose {
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(code.verbose_text().as_bytes());
            out.extend_from_slice(b"\r\n");
        } else if let Some(n) = code.numeric() {
            out.extend_from_slice(n.to_string().as_bytes());
            out.push(b'\r');
        } else {
            out.extend_from_slice(code.verbose_text().as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// Text as the TE's byte-wide character sets carry it: every char up to U+00FF is one byte
/// (GSM codes, 8859-1), anything wider goes out as UTF-8 (only ever in text the user supplied).
fn push_te_chars(line: &str, out: &mut Vec<u8>) {
    if line.is_ascii() {
        out.extend_from_slice(line.as_bytes());
        return;
    }
    for c in line.chars() {
        match u8::try_from(u32::from(c)) {
            Ok(byte) => out.push(byte),
            Err(_) => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
}

/// Printable ASCII as is; `\r`, `\n`, `\\` and `\xNN` for everything else.
pub fn escape_into(bytes: &[u8], out: &mut String) {
    for &b in bytes {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = std::fmt::Write::write_fmt(out, format_args!("\\x{b:02x}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGS: LineRegisters = LineRegisters {
        terminator: b'\r',
        backspace: 8,
        max_chars: 10,
    };

    fn feed_all(d: &mut LineDiscipline, bytes: &[u8]) -> (Vec<u8>, Vec<LineEvent>) {
        let mut echoed = Vec::new();
        let mut events = Vec::new();
        for &b in bytes {
            let step = d.feed(b, REGS);
            if step.echo {
                echoed.push(b);
            }
            events.extend(step.event);
        }
        (echoed, events)
    }

    #[test]
    fn prefix_is_case_insensitive_and_leading_junk_is_dropped() {
        for input in [
            &b"xxAT+CSQ\r"[..],
            b"at+CSQ\r",
            b"aT+CSQ\r",
            b"At+CSQ\r",
            b"AAT+CSQ\r",
        ] {
            let mut d = LineDiscipline::new();
            let (_, events) = feed_all(&mut d, input);
            assert_eq!(events, vec![LineEvent::Line(b"+CSQ".to_vec())], "{input:?}");
        }
    }

    #[test]
    fn every_byte_is_echoed_except_the_lf_after_cr() {
        let mut d = LineDiscipline::new();
        let (echoed, _) = feed_all(&mut d, b"AT\r\nAT\n\r");
        assert_eq!(echoed, b"AT\rAT\n\r");
    }

    #[test]
    fn lf_inside_a_line_is_ignored() {
        let mut d = LineDiscipline::new();
        let (_, events) = feed_all(&mut d, b"AT+C\nSQ\r");
        assert_eq!(events, vec![LineEvent::Line(b"+CSQ".to_vec())]);
    }

    #[test]
    fn backspace_edits_the_line_and_can_remove_the_prefix() {
        let mut d = LineDiscipline::new();
        let (echoed, events) = feed_all(&mut d, b"AT+CSX\x08Q\r");
        assert_eq!(echoed, b"AT+CSX\x08Q\r");
        assert_eq!(events, vec![LineEvent::Line(b"+CSQ".to_vec())]);
        let (_, events) = feed_all(&mut d, b"AT\x08\x08XAT\r");
        assert_eq!(events, vec![LineEvent::Line(Vec::new())]);
    }

    #[test]
    fn repeat_fires_on_the_slash() {
        let mut d = LineDiscipline::new();
        let (_, events) = feed_all(&mut d, b"a/");
        assert_eq!(events, vec![LineEvent::Repeat]);
        let (_, events) = feed_all(&mut d, b"\r");
        assert!(events.is_empty());
    }

    #[test]
    fn overlong_line_is_reported_and_memory_stays_bounded() {
        let mut d = LineDiscipline::new();
        let mut input = b"AT".to_vec();
        input.extend(std::iter::repeat_n(b'E', 100_000));
        input.push(b'\r');
        let (_, events) = feed_all(&mut d, &input);
        assert_eq!(events, vec![LineEvent::TooLong { chars: 100_000 }]);
        let (_, events) = feed_all(&mut d, b"AT1234567890\r");
        assert_eq!(events, vec![LineEvent::Line(b"1234567890".to_vec())]);
        let (_, events) = feed_all(&mut d, b"AT12345678901\r");
        assert_eq!(events, vec![LineEvent::TooLong { chars: 11 }]);
    }

    #[test]
    fn backspace_brings_an_overlong_line_back_under_the_limit() {
        let mut d = LineDiscipline::new();
        let (_, events) = feed_all(&mut d, b"AT123456789012\x08\x08\r");
        assert_eq!(events, vec![LineEvent::Line(b"1234567890".to_vec())]);
    }

    #[test]
    fn verbose_and_numeric_framing() {
        let v1 = Framing {
            verbose: true,
            quiet: false,
        };
        let v0 = Framing {
            verbose: false,
            quiet: false,
        };
        let q1 = Framing {
            verbose: true,
            quiet: true,
        };
        let mut out = Vec::new();
        v1.info(&["+CSQ: 20,0".into()], &mut out);
        v1.result(&ResultCode::Ok, &mut out);
        assert_eq!(out, b"\r\n+CSQ: 20,0\r\n\r\nOK\r\n");
        out.clear();
        v0.info(&["A".into(), "B".into()], &mut out);
        v0.result(&ResultCode::Error, &mut out);
        v0.result(&ResultCode::Text("+CME ERROR: 3".into()), &mut out);
        assert_eq!(out, b"A\r\nB\r\n4\r+CME ERROR: 3\r\n");
        out.clear();
        q1.info(&["X".into()], &mut out);
        q1.result(&ResultCode::Ok, &mut out);
        assert_eq!(out, b"\r\nX\r\n");
    }
}
