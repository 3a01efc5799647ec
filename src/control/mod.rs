//! Control-plane requests as data: parsed from a JSON line (socket, scenario steps) or from
//! `simodem ctl` words, validated, and turned into modem inputs. No I/O here.

use serde_json::{Map, Value, json};

use crate::modem::{Input, NetworkChange, Service, SimChange};
use crate::network::sms::Injected;
use crate::network::{parse_cell_hex, parse_csq, parse_number, parse_operator, parse_plmn};
use crate::sms::Alphabet;

/// Every verb, as error messages list them.
const VERBS: &str =
    "modems, state, events, dtr, ring, hangup, network, sim, reboot, urc, sms_deliver, sms_sent";

/// Longest raw URC the control plane accepts.
pub const MAX_URC_CHARS: usize = 1024;

/// One request: which modem, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Index, number or link path; `None`: the first modem.
    pub modem: Option<String>,
    pub verb: Verb,
}

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verb {
    /// List the world's modems.
    Modems,
    /// The addressed modem's state.
    State,
    /// Stream every event of every modem.
    Events,
    /// Something that happens to the modem.
    Act(Input),
    /// The network hands the addressed modem an SMS (`sms deliver`): from `from` (required for
    /// a text; replaces a PDU's originator when given).
    SmsDeliver {
        from: Option<String>,
        message: Injected,
    },
    /// What the modems sent to numbers outside the world (`sms sent`), only those to `to` if given.
    SmsSent { to: Option<String> },
}

impl Verb {
    /// The request's verb word.
    pub fn name(&self) -> &'static str {
        match self {
            Verb::Modems => "modems",
            Verb::State => "state",
            Verb::Events => "events",
            Verb::SmsDeliver { .. } => "sms_deliver",
            Verb::SmsSent { .. } => "sms_sent",
            Verb::Act(input) => match input {
                Input::Dtr(_) => "dtr",
                Input::Ring(_) => "ring",
                Input::RemoteHangUp => "hangup",
                Input::Network(_) => "network",
                Input::Sim(_) => "sim",
                Input::Reboot => "reboot",
                Input::Urc(_) => "urc",
                Input::Sms(_) => "sms",
                Input::Dte(_)
                | Input::DteOpened
                | Input::DteClosed
                | Input::Timer
                | Input::Socket(..)
                | Input::Resolved { .. }
                | Input::Instance(..) => "input",
            },
        }
    }
}

impl Request {
    /// Parses one JSON request line.
    pub fn from_json(line: &str) -> Result<Request, String> {
        let value: Value = serde_json::from_str(line).map_err(|e| format!("bad JSON: {e}"))?;
        Request::from_value(&value)
    }

    /// Parses a request already decoded from JSON (a scenario's `ctl` step).
    pub fn from_value(value: &Value) -> Result<Request, String> {
        let Value::Object(fields) = value else {
            return Err("a request is a JSON object like {\"verb\": \"state\"}".into());
        };
        let mut fields = Fields(fields.clone());
        let mut modem = match fields.0.remove("modem") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(_) => return Err("\"modem\" is an index, a number or a link path".into()),
        };
        let verb_word = fields.required_str("verb")?;
        let verb = match verb_word.as_str() {
            "modems" => Verb::Modems,
            "state" => Verb::State,
            "events" => Verb::Events,
            "sms_deliver" => {
                // `to` is the modem, like `modem`.
                if let Some(to) = fields.optional_str("to")? {
                    if modem.as_ref().is_some_and(|m| *m != to) {
                        return Err(
                            "sms_deliver: \"to\" and \"modem\" name different modems".into()
                        );
                    }
                    modem = Some(to);
                }
                let from = fields.optional_str("from")?;
                let text = fields.optional_str("text")?;
                let pdu = fields.optional_str("pdu")?;
                let alphabet = fields.optional_str("alphabet")?;
                let message = match (text, pdu) {
                    (Some(text), None) => Injected::Text {
                        text,
                        alphabet: parse_alphabet(alphabet.as_deref().unwrap_or("gsm"))?,
                    },
                    (None, Some(pdu)) => {
                        if alphabet.is_some() {
                            return Err("sms_deliver: alphabet goes with text, not pdu".into());
                        }
                        Injected::Pdu(pdu)
                    }
                    (Some(_), Some(_)) => {
                        return Err("sms_deliver: give text or pdu, not both".into());
                    }
                    (None, None) => return Err("sms_deliver needs text or pdu".into()),
                };
                match from.as_deref() {
                    Some("") => return Err("sms_deliver: the sender number (from) is empty".into()),
                    Some(number) => {
                        parse_number(number)?;
                    }
                    None if matches!(message, Injected::Text { .. }) => {
                        return Err("sms_deliver: a text needs the sender's number (from)".into());
                    }
                    None => {}
                }
                Verb::SmsDeliver { from, message }
            }
            "sms_sent" => {
                let to = fields.optional_str("to")?;
                if modem.is_some() {
                    return Err("sms_sent lists every modem's messages: no \"modem\"".into());
                }
                Verb::SmsSent { to }
            }
            "reboot" => Verb::Act(Input::Reboot),
            "hangup" => Verb::Act(Input::RemoteHangUp),
            "dtr" => {
                let state = fields.required_str("state")?;
                Verb::Act(Input::Dtr(parse_dtr(&state)?))
            }
            "ring" => {
                let from = fields.optional_str("from")?.unwrap_or_default();
                Verb::Act(Input::Ring(parse_number(&from)?))
            }
            "sim" => {
                let action = fields.required_str("action")?;
                Verb::Act(Input::Sim(parse_sim(&action)?))
            }
            "urc" => {
                let text = fields.required_str("text")?;
                Verb::Act(Input::Urc(parse_urc(&text)?))
            }
            "network" => {
                let change = NetworkChange {
                    service: fields
                        .optional_str("service")?
                        .map(|s| parse_service(&s))
                        .transpose()?,
                    operator: fields
                        .optional_str("operator")?
                        .map(|s| parse_operator(&s))
                        .transpose()?,
                    operator_code: fields
                        .optional_str("operator_code")?
                        .map(|s| parse_plmn(&s))
                        .transpose()?,
                    csq: fields.optional_u32("csq")?.map(parse_csq).transpose()?,
                    lac: fields
                        .optional_str("lac")?
                        .map(|s| parse_cell_hex(&s, "lac"))
                        .transpose()?,
                    cell_id: fields
                        .optional_str("ci")?
                        .map(|s| parse_cell_hex(&s, "ci"))
                        .transpose()?,
                };
                if change == NetworkChange::default() {
                    return Err("network needs at least one of service, operator, operator_code, csq, lac, ci".into());
                }
                Verb::Act(Input::Network(change))
            }
            other => {
                return Err(format!("unknown verb {other:?}; verbs: {VERBS}"));
            }
        };
        if let Some(extra) = fields.0.keys().next() {
            return Err(format!("{verb_word}: unknown field {extra:?}"));
        }
        Ok(Request { modem, verb })
    }

    /// Parses `simodem ctl` words after the global options: `dtr down`, `network roaming
    /// --operator X --csq 5`, `urc "+CMTI: \"SM\",1"`, ...
    pub fn from_words(modem: Option<String>, words: &[String]) -> Result<Request, String> {
        let mut value = words_to_json(words)?;
        if let (Some(modem), Value::Object(object)) = (modem, &mut value)
            && !object.contains_key("to")
        {
            object.insert("modem".into(), json!(modem));
        }
        Request::from_value(&value)
    }

    /// The request as one JSON object (what `simodem ctl` sends).
    pub fn to_json(&self) -> Value {
        let mut object = Map::new();
        object.insert("verb".into(), json!(self.verb.name()));
        if let Some(modem) = &self.modem {
            object.insert("modem".into(), json!(modem));
        }
        if let Verb::SmsDeliver { from, message } = &self.verb {
            if let Some(modem) = object.remove("modem") {
                object.insert("to".into(), modem);
            }
            if let Some(from) = from {
                object.insert("from".into(), json!(from));
            }
            match message {
                Injected::Text { text, alphabet } => {
                    object.insert("text".into(), json!(text));
                    object.insert("alphabet".into(), json!(alphabet_name(*alphabet)));
                }
                Injected::Pdu(pdu) => {
                    object.insert("pdu".into(), json!(pdu));
                }
            }
        }
        if let Verb::SmsSent { to: Some(to) } = &self.verb {
            object.insert("to".into(), json!(to));
        }
        if let Verb::Act(input) = &self.verb {
            match input {
                Input::Dtr(up) => {
                    object.insert("state".into(), json!(if *up { "up" } else { "down" }));
                }
                Input::Ring(from) => {
                    object.insert("from".into(), json!(from));
                }
                Input::Sim(change) => {
                    let action = match change {
                        SimChange::Removed => "remove",
                        SimChange::Inserted => "insert",
                    };
                    object.insert("action".into(), json!(action));
                }
                Input::Urc(text) => {
                    object.insert("text".into(), json!(text));
                }
                Input::Network(change) => {
                    if let Some(service) = change.service {
                        object.insert("service".into(), json!(service.name()));
                    }
                    if let Some(operator) = &change.operator {
                        object.insert("operator".into(), json!(operator));
                    }
                    if let Some(code) = &change.operator_code {
                        object.insert("operator_code".into(), json!(code));
                    }
                    if let Some(csq) = change.csq {
                        object.insert("csq".into(), json!(csq));
                    }
                    if let Some(lac) = change.lac {
                        object.insert("lac".into(), json!(format!("{lac:04X}")));
                    }
                    if let Some(ci) = change.cell_id {
                        object.insert("ci".into(), json!(format!("{ci:04X}")));
                    }
                }
                _ => {}
            }
        }
        Value::Object(object)
    }
}

/// The CLI grammar mapped onto the JSON fields.
fn words_to_json(words: &[String]) -> Result<Value, String> {
    let Some((verb, rest)) = words.split_first() else {
        return Err(
            "no verb given; verbs: modems, state, events, dtr, ring, hangup, network, sim, reboot, urc, sms"
                .into(),
        );
    };
    if verb == "sms" {
        return sms_words_to_json(rest);
    }
    let mut object = Map::new();
    object.insert("verb".into(), json!(verb));
    let positional = |name: &str, object: &mut Map<String, Value>| -> Result<(), String> {
        match rest {
            [value] => {
                object.insert(name.into(), json!(value));
                Ok(())
            }
            [] => Err(format!("{verb} needs its {name}")),
            _ => Err(format!("{verb} takes one {name}, got {}", rest.len())),
        }
    };
    match verb.as_str() {
        "dtr" => positional("state", &mut object)?,
        "sim" => positional("action", &mut object)?,
        "urc" => positional("text", &mut object)?,
        "ring" => match rest {
            [] => {}
            [from] => {
                object.insert("from".into(), json!(from));
            }
            [flag, from] if flag == "--from" => {
                object.insert("from".into(), json!(from));
            }
            _ => return Err("usage: ring [--from] [NUMBER]".into()),
        },
        "network" => {
            let mut rest = rest;
            if let Some((first, tail)) = rest.split_first()
                && !first.starts_with("--")
            {
                object.insert("service".into(), json!(first));
                rest = tail;
            }
            while let Some((flag, tail)) = rest.split_first() {
                let Some((value, tail)) = tail.split_first() else {
                    return Err(format!("{flag} needs a value"));
                };
                let (field, value) = match flag.as_str() {
                    "--operator" => ("operator", json!(value)),
                    "--operator-code" => ("operator_code", json!(value)),
                    "--csq" => (
                        "csq",
                        json!(
                            value
                                .parse::<u32>()
                                .map_err(|_| format!("--csq {value:?} is not a number"))?
                        ),
                    ),
                    "--lac" => ("lac", json!(value)),
                    "--ci" => ("ci", json!(value)),
                    other => {
                        return Err(format!(
                            "network: unknown option {other:?}; options: --operator, --operator-code, --csq, --lac, --ci"
                        ));
                    }
                };
                object.insert(field.into(), value);
                rest = tail;
            }
        }
        _ => {
            if let Some(extra) = rest.first() {
                return Err(format!("{verb} takes no arguments, got {extra:?}"));
            }
        }
    }
    Ok(Value::Object(object))
}

/// `sms deliver --to M --from N (--text T [--alphabet A] | --pdu HEX)`, `sms sent [--to N]`.
fn sms_words_to_json(words: &[String]) -> Result<Value, String> {
    let usage = "usage: sms deliver --to MODEM --from NUMBER (--text TEXT [--alphabet gsm|ucs2|8bit] | --pdu HEX), or sms sent [--to NUMBER]";
    let (verb, options): (&str, &[&str]) = match words.first().map(String::as_str) {
        Some("deliver") => ("sms_deliver", &["to", "from", "text", "alphabet", "pdu"]),
        Some("sent") => ("sms_sent", &["to"]),
        _ => return Err(usage.into()),
    };
    let mut object = Map::new();
    object.insert("verb".into(), json!(verb));
    let mut rest = &words[1..];
    while let Some((flag, tail)) = rest.split_first() {
        let name = flag
            .strip_prefix("--")
            .filter(|name| options.contains(name))
            .ok_or_else(|| format!("sms {}: unknown option {flag:?}; {usage}", words[0]))?;
        let Some((value, tail)) = tail.split_first() else {
            return Err(format!("{flag} needs a value"));
        };
        if object.insert(name.into(), json!(value)).is_some() {
            return Err(format!("{flag} given twice"));
        }
        rest = tail;
    }
    Ok(Value::Object(object))
}

/// `gsm`, `ucs2` or `8bit` (also `7bit`, `data`).
pub fn parse_alphabet(text: &str) -> Result<Alphabet, String> {
    match text.to_ascii_lowercase().as_str() {
        "gsm" | "gsm7" | "7bit" => Ok(Alphabet::Gsm7),
        "ucs2" => Ok(Alphabet::Ucs2),
        "8bit" | "data" => Ok(Alphabet::Eight),
        _ => Err(format!("alphabet must be gsm, ucs2 or 8bit, not {text:?}")),
    }
}

/// The name `parse_alphabet` reads back.
pub fn alphabet_name(alphabet: Alphabet) -> &'static str {
    match alphabet {
        Alphabet::Gsm7 => "gsm",
        Alphabet::Ucs2 => "ucs2",
        Alphabet::Eight => "8bit",
    }
}

fn parse_dtr(text: &str) -> Result<bool, String> {
    match text {
        "up" => Ok(true),
        "down" => Ok(false),
        other => Err(format!("dtr state must be up or down, not {other:?}")),
    }
}

fn parse_sim(text: &str) -> Result<SimChange, String> {
    match text {
        "remove" => Ok(SimChange::Removed),
        "insert" => Ok(SimChange::Inserted),
        other => Err(format!(
            "sim action must be remove or insert, not {other:?}"
        )),
    }
}

fn parse_service(text: &str) -> Result<Service, String> {
    Service::from_name(text).ok_or_else(|| {
        format!("network service must be home, roaming, searching, denied or none, not {text:?}")
    })
}

fn parse_urc(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err("urc text is empty".into());
    }
    if text.chars().count() > MAX_URC_CHARS {
        return Err(format!(
            "urc text is longer than {MAX_URC_CHARS} characters"
        ));
    }
    if text.contains(['\r', '\n']) {
        return Err("urc text is one line: no CR or LF (the modem frames it)".into());
    }
    Ok(text.to_string())
}

/// The fields of a request object, consumed as they are read so leftovers can be reported.
struct Fields(Map<String, Value>);

impl Fields {
    fn optional_str(&mut self, name: &str) -> Result<Option<String>, String> {
        match self.0.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(format!("{name:?} must be a string, not {other}")),
        }
    }

    fn required_str(&mut self, name: &str) -> Result<String, String> {
        self.optional_str(name)?
            .ok_or_else(|| format!("missing field {name:?}"))
    }

    fn optional_u32(&mut self, name: &str) -> Result<Option<u32>, String> {
        match self.0.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| format!("{name:?} must be a whole number, not {n}")),
            Some(other) => Err(format!("{name:?} must be a number, not {other}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &[&str]) -> Vec<String> {
        text.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn cli_words_and_json_give_the_same_request() {
        let from_words = Request::from_words(
            Some("1".into()),
            &words(&[
                "network",
                "roaming",
                "--operator",
                "TIM",
                "--csq",
                "7",
                "--lac",
                "ff",
            ]),
        )
        .expect("words");
        let from_json = Request::from_json(
            r#"{"verb":"network","modem":1,"service":"roaming","operator":"TIM","csq":7,"lac":"FF"}"#,
        )
        .expect("json");
        assert_eq!(from_words, from_json);
        assert_eq!(
            Request::from_value(&from_json.to_json()).expect("round trip"),
            from_json
        );
        for line in [
            vec!["dtr", "down"],
            vec!["ring", "+3912"],
            vec!["sim", "remove"],
            vec!["urc", "+CMTI: \"SM\",1"],
            vec!["reboot"],
            vec!["state"],
            vec!["events"],
            vec!["hangup"],
        ] {
            let request = Request::from_words(None, &words(&line)).expect("parse");
            assert_eq!(
                Request::from_value(&request.to_json()).expect("again"),
                request
            );
        }
    }

    #[test]
    fn bad_requests_say_why() {
        let cases = [
            (
                "{",
                "bad JSON: EOF while parsing an object at line 1 column 1",
            ),
            (
                "[1]",
                "a request is a JSON object like {\"verb\": \"state\"}",
            ),
            (
                r#"{"verb":"fly"}"#,
                "unknown verb \"fly\"; verbs: modems, state, events, dtr, ring, hangup, network, sim, reboot, urc, sms_deliver, sms_sent",
            ),
            (
                r#"{"verb":"dtr","state":"sideways"}"#,
                "dtr state must be up or down, not \"sideways\"",
            ),
            (r#"{"verb":"dtr"}"#, "missing field \"state\""),
            (
                r#"{"verb":"network","csq":32}"#,
                "csq must be 0-31 or 99, not 32",
            ),
            (
                r#"{"verb":"network","csq":-1}"#,
                "\"csq\" must be a whole number, not -1",
            ),
            (
                r#"{"verb":"network"}"#,
                "network needs at least one of service, operator, operator_code, csq, lac, ci",
            ),
            (
                r#"{"verb":"network","service":"mars"}"#,
                "network service must be home, roaming, searching, denied or none, not \"mars\"",
            ),
            (
                r#"{"verb":"urc","text":"a\r\nb"}"#,
                "urc text is one line: no CR or LF (the modem frames it)",
            ),
            (
                r#"{"verb":"state","colour":1}"#,
                "state: unknown field \"colour\"",
            ),
            (
                r#"{"verb":"ring","from":"abc"}"#,
                "a phone number (optional +) must be 0 to 20 digits, not \"abc\"",
            ),
        ];
        for (line, reason) in cases {
            assert_eq!(
                Request::from_json(line).err().as_deref(),
                Some(reason),
                "{line}"
            );
        }
        assert_eq!(
            Request::from_words(None, &words(&["dtr"])).err().as_deref(),
            Some("dtr needs its state")
        );
    }

    #[test]
    fn sms_words_and_json_give_the_same_request() {
        let deliver = Request::from_words(
            None,
            &words(&[
                "sms",
                "deliver",
                "--to",
                "1",
                "--from",
                "+3933",
                "--text",
                "ciao",
                "--alphabet",
                "ucs2",
            ]),
        )
        .expect("words");
        assert_eq!(
            deliver,
            Request {
                modem: Some("1".into()),
                verb: Verb::SmsDeliver {
                    from: Some("+3933".into()),
                    message: Injected::Text {
                        text: "ciao".into(),
                        alphabet: Alphabet::Ucs2
                    }
                }
            }
        );
        assert_eq!(
            deliver.to_json().to_string(),
            r#"{"verb":"sms_deliver","to":"1","from":"+3933","text":"ciao","alphabet":"ucs2"}"#
        );
        assert_eq!(Request::from_value(&deliver.to_json()), Ok(deliver));
        let pdu = Request::from_words(
            Some("+1555".into()),
            &words(&["sms", "deliver", "--pdu", "00AB"]),
        )
        .expect("pdu");
        assert_eq!(pdu.modem.as_deref(), Some("+1555"));
        assert_eq!(Request::from_value(&pdu.to_json()), Ok(pdu));
        let sent =
            Request::from_words(None, &words(&["sms", "sent", "--to", "+44"])).expect("sent");
        assert_eq!(
            sent.verb,
            Verb::SmsSent {
                to: Some("+44".into())
            }
        );
        assert_eq!(Request::from_value(&sent.to_json()), Ok(sent));
    }

    #[test]
    fn bad_sms_requests_say_why() {
        let usage = "usage: sms deliver --to MODEM --from NUMBER (--text TEXT [--alphabet gsm|ucs2|8bit] | --pdu HEX), or sms sent [--to NUMBER]";
        let colour = format!("sms deliver: unknown option \"--colour\"; {usage}");
        let cases: [(&[&str], &str); 9] = [
            (&["sms"], usage),
            (
                &["sms", "deliver", "--from", "+39"],
                "sms_deliver needs text or pdu",
            ),
            (
                &[
                    "sms", "deliver", "--from", "+39", "--text", "a", "--pdu", "00",
                ],
                "sms_deliver: give text or pdu, not both",
            ),
            (
                &["sms", "deliver", "--text", "a"],
                "sms_deliver: a text needs the sender's number (from)",
            ),
            (
                &["sms", "deliver", "--from", "", "--text", "a"],
                "sms_deliver: the sender number (from) is empty",
            ),
            (
                &[
                    "sms",
                    "deliver",
                    "--from",
                    "+39",
                    "--text",
                    "a",
                    "--alphabet",
                    "latin",
                ],
                "alphabet must be gsm, ucs2 or 8bit, not \"latin\"",
            ),
            (
                &["sms", "deliver", "--pdu", "00", "--alphabet", "gsm"],
                "sms_deliver: alphabet goes with text, not pdu",
            ),
            (
                &[
                    "sms", "deliver", "--from", "+39", "--text", "a", "--colour", "red",
                ],
                &colour,
            ),
            (&["sms", "sent", "--to"], "--to needs a value"),
        ];
        for (line, reason) in cases {
            assert_eq!(
                Request::from_words(None, &words(line)).err().as_deref(),
                Some(reason),
                "{line:?}"
            );
        }
        let json_cases = [
            (
                r#"{"verb":"sms_deliver","to":"0","modem":"1","pdu":"00"}"#,
                "sms_deliver: \"to\" and \"modem\" name different modems",
            ),
            (
                r#"{"verb":"sms_sent","modem":"1"}"#,
                "sms_sent lists every modem's messages: no \"modem\"",
            ),
            (
                r#"{"verb":"sms_deliver","from":"abc","text":"x"}"#,
                "a phone number (optional +) must be 0 to 20 digits, not \"abc\"",
            ),
            (
                r#"{"verb":"sms_deliver","pdu":"00","colour":1}"#,
                "sms_deliver: unknown field \"colour\"",
            ),
        ];
        for (line, reason) in json_cases {
            assert_eq!(
                Request::from_json(line).err().as_deref(),
                Some(reason),
                "{line}"
            );
        }
    }
}
