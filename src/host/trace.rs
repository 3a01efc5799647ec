//! The `--trace` transcript: one human-readable line per event (bytes each way with escapes,
//! reasons, modes, port and control activity), logged on the `simodem::trace` target.

use super::events::EventBody;
use crate::dte::escape_into;
use crate::modem::EventKind;

/// The tracing target of transcript lines (`RUST_LOG=simodem::trace=debug` shows only them).
pub const TARGET: &str = "simodem::trace";

/// Whether transcript lines are wanted now.
pub fn enabled() -> bool {
    tracing::enabled!(target: TARGET, tracing::Level::DEBUG)
}

/// `   12.345 ms  sim900#0 → AT+CSQ\r`: modem time in ms, the modem, and what happened.
pub fn transcript_line(at_us: u64, who: &str, body: &EventBody) -> String {
    let mut line = format!("{:>5}.{:03} ms  {who} ", at_us / 1000, at_us % 1000);
    let body = match body {
        EventBody::Instance(instance, body) => {
            line.push_str(&format!("[{instance}] "));
            &**body
        }
        body => body,
    };
    match body {
        EventBody::Instance(..) => {}
        EventBody::DteIn(bytes) => {
            line.push_str("→ ");
            escape_masked(bytes, &mut line);
        }
        EventBody::DteOut(bytes) => {
            line.push_str("← ");
            escape_masked(bytes, &mut line);
        }
        EventBody::Core {
            kind: EventKind::Why,
            message,
        } => {
            line.push_str("why: ");
            line.push_str(message);
        }
        EventBody::Core {
            kind: EventKind::Mode,
            message,
        } => {
            line.push_str("mode: ");
            line.push_str(message);
        }
        EventBody::Port { opened } => {
            line.push_str(if *opened {
                "port opened"
            } else {
                "port closed"
            });
        }
        EventBody::Ctl(request) => {
            line.push_str("ctl: ");
            line.push_str(&request.to_string());
        }
        EventBody::SmsIn(_) | EventBody::SmsSent(_) => {
            line.push_str(body.kind());
            line.push_str(": ");
            let fields = match body {
                EventBody::SmsIn(summary) => super::events::sms_fields(&**summary),
                EventBody::SmsSent(record) => super::events::sms_fields(&**record),
                _ => serde_json::Map::new(),
            };
            line.push_str(&serde_json::Value::Object(fields).to_string());
        }
    }
    line
}

/// Serial bytes escaped, passwords (`#TCPATRUNAUTH`, `#SMSATWL`, `#PASSW`…) shown as `***`.
/// A password typed one character per read cannot be recognised; clients send whole lines.
fn escape_masked(bytes: &[u8], line: &mut String) {
    match crate::commands::mask_secrets(bytes) {
        Some(masked) => escape_into(&masked, line),
        None => escape_into(bytes, line),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcript_lines_show_time_modem_direction_and_escaped_bytes() {
        let input = EventBody::DteIn(b"AT+CSQ\r"[..].into());
        assert_eq!(
            transcript_line(12_345, "sim900#0", &input),
            "   12.345 ms  sim900#0 → AT+CSQ\\r"
        );
        let output = EventBody::DteOut(b"\r\n+CSQ: 20,0\r\n\r\nOK\r\n\x00\xff\\"[..].into());
        assert_eq!(
            transcript_line(12_401, "sim900#0", &output),
            "   12.401 ms  sim900#0 ← \\r\\n+CSQ: 20,0\\r\\n\\r\\nOK\\r\\n\\x00\\xff\\\\"
        );
        let why = EventBody::Core {
            kind: EventKind::Why,
            message: "line exceeds 556 characters → ERROR, nothing executed".into(),
        };
        assert_eq!(
            transcript_line(12_401, "sim900#0", &why),
            "   12.401 ms  sim900#0 why: line exceeds 556 characters → ERROR, nothing executed"
        );
        assert_eq!(
            transcript_line(1_234_567_890, "telit#3", &EventBody::Port { opened: true }),
            "1234567.890 ms  telit#3 port opened"
        );
        let secret = EventBody::DteIn(b"AT#TCPATRUNAUTH=1,\"bob\",\"hunter2\"\r"[..].into());
        assert_eq!(
            transcript_line(0, "telit#0", &secret),
            "    0.000 ms  telit#0 → AT#TCPATRUNAUTH=1,\"bob\",\"***\"\\r"
        );
    }
}
