//! The world's event bus: what each modem's session saw and did (client bytes each way, the
//! core's reasons and modes, port opens/closes, control requests), as one JSON object per line.

use std::sync::Arc;

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::modem::EventKind;
use crate::network::sms::{IncomingSummary, SentRecord};

/// How many events the bus holds for a subscriber that has not read them yet; one that falls
/// further behind gets a `lagged` line instead of holding up any modem.
pub const BUS_CAPACITY: usize = 8192;

/// Something that happened to one modem, at modem time (µs since the world started).
#[derive(Debug, Clone, PartialEq)]
pub struct WorldEvent {
    pub at_us: u64,
    /// The modem's index in the world.
    pub modem: usize,
    pub body: EventBody,
}

/// What happened.
#[derive(Debug, Clone, PartialEq)]
pub enum EventBody {
    /// Bytes the client wrote, as one read returned them.
    DteIn(Arc<[u8]>),
    /// Bytes the modem wrote to the client, one write.
    DteOut(Arc<[u8]>),
    /// A reason (`why`) or a mode change (`mode`) from the core.
    Core { kind: EventKind, message: String },
    /// A client attached to (`true`) or left (`false`) the modem's port.
    Port { opened: bool },
    /// A control request acted on the modem: the request as JSON, without its `modem` field.
    Ctl(serde_json::Value),
    /// The network handed the modem an SMS (`sms_in`) or a status report (`sms_report`).
    SmsIn(Arc<IncomingSummary>),
    /// The modem sent an SMS to a number outside the world (`sms_sent`).
    SmsSent(Arc<SentRecord>),
    /// Bytes or a client on the own port of AT instance 2 or 3 (`DteIn`, `DteOut`, `Port`).
    Instance(u8, Box<EventBody>),
}

impl EventBody {
    /// `body` as it happened on AT instance `instance`'s port (instance 1 is the plain form).
    pub fn on_instance(instance: u8, body: EventBody) -> EventBody {
        if instance == 1 {
            body
        } else {
            EventBody::Instance(instance, Box::new(body))
        }
    }

    /// The event's `kind` field.
    pub fn kind(&self) -> &'static str {
        match self {
            EventBody::Instance(_, body) => body.kind(),
            EventBody::DteIn(_) => "dte_in",
            EventBody::DteOut(_) => "dte_out",
            EventBody::Core { kind, .. } => kind.name(),
            EventBody::Port { .. } => "port",
            EventBody::Ctl(_) => "ctl",
            EventBody::SmsIn(summary) => match **summary {
                IncomingSummary::Deliver { .. } => "sms_in",
                IncomingSummary::StatusReport { .. } => "sms_report",
            },
            EventBody::SmsSent(_) => "sms_sent",
        }
    }
}

/// Bytes as JSON: `("data", text)` when they are UTF-8, else `("hex", lowercase hex)`.
pub fn bytes_field(bytes: &[u8]) -> (&'static str, String) {
    match std::str::from_utf8(bytes) {
        Ok(text) => ("data", text.to_string()),
        Err(_) => ("hex", crate::sms::hex::encode(bytes, false)),
    }
}

impl Serialize for WorldEvent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("at_us", &self.at_us)?;
        map.serialize_entry("modem", &self.modem)?;
        map.serialize_entry("kind", self.body.kind())?;
        let body = match &self.body {
            EventBody::Instance(instance, body) => {
                map.serialize_entry("instance", instance)?;
                &**body
            }
            body => body,
        };
        match body {
            EventBody::Instance(..) => {}
            EventBody::DteIn(bytes) | EventBody::DteOut(bytes) => {
                let (field, value) = bytes_field(bytes);
                map.serialize_entry(field, &value)?;
            }
            EventBody::Core {
                kind: EventKind::Why,
                message,
            } => map.serialize_entry("text", message)?,
            EventBody::Core {
                kind: EventKind::Mode,
                message,
            } => map.serialize_entry("mode", message)?,
            EventBody::Port { opened } => {
                map.serialize_entry("state", if *opened { "opened" } else { "closed" })?
            }
            EventBody::Ctl(request) => map.serialize_entry("request", request)?,
            EventBody::SmsIn(summary) => {
                for (key, value) in sms_fields(&**summary) {
                    map.serialize_entry(&key, &value)?;
                }
            }
            EventBody::SmsSent(record) => {
                for (key, value) in sms_fields(&**record) {
                    map.serialize_entry(&key, &value)?;
                }
            }
        }
        map.end()
    }
}

/// The fields of an SMS summary or record, without the summary's `type` tag.
pub fn sms_fields(value: &impl serde::Serialize) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::Object(mut fields)) => {
            fields.remove("type");
            fields
        }
        _ => serde_json::Map::new(),
    }
}

impl WorldEvent {
    /// The event as one JSON line (without the newline).
    pub fn to_line(&self) -> String {
        // Strings, numbers and a JSON value: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_else(|e| unserialisable_line(&e.to_string()))
    }
}

fn unserialisable_line(reason: &str) -> String {
    serde_json::json!({"kind": "error", "error": reason}).to_string()
}

/// What a subscriber that fell behind gets in place of the events it missed.
pub fn lagged_line(missed: u64) -> String {
    format!("{{\"kind\":\"lagged\",\"missed\":{missed}}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(body: EventBody) -> String {
        WorldEvent {
            at_us: 123456,
            modem: 1,
            body,
        }
        .to_line()
    }

    #[test]
    fn events_are_one_json_object_with_fields_in_a_fixed_order() {
        assert_eq!(
            line(EventBody::DteIn(Arc::from(&b"AT\r"[..]))),
            r#"{"at_us":123456,"modem":1,"kind":"dte_in","data":"AT\r"}"#
        );
        assert_eq!(
            line(EventBody::DteOut(Arc::from(&b"A\xff\r"[..]))),
            r#"{"at_us":123456,"modem":1,"kind":"dte_out","hex":"41ff0d"}"#
        );
        assert_eq!(
            line(EventBody::Core {
                kind: EventKind::Why,
                message: "reboot".into()
            }),
            r#"{"at_us":123456,"modem":1,"kind":"why","text":"reboot"}"#
        );
        assert_eq!(
            line(EventBody::Core {
                kind: EventKind::Mode,
                message: "command".into()
            }),
            r#"{"at_us":123456,"modem":1,"kind":"mode","mode":"command"}"#
        );
        assert_eq!(
            line(EventBody::Port { opened: false }),
            r#"{"at_us":123456,"modem":1,"kind":"port","state":"closed"}"#
        );
        assert_eq!(
            line(EventBody::Ctl(serde_json::json!({"verb": "reboot"}))),
            r#"{"at_us":123456,"modem":1,"kind":"ctl","request":{"verb":"reboot"}}"#
        );
        assert_eq!(lagged_line(7), r#"{"kind":"lagged","missed":7}"#);
    }
}
