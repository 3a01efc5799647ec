//! Scenario files: a world to start and the steps of a session (send, expect, wait, control
//! verbs, TCP/UDP peers), parsed with file:line errors; `run` replays them, `report` prints diffs.

mod real_net;
mod realtime;
pub mod report;
pub mod run;
mod virtual_clock;
pub mod virtual_net;

pub use realtime::run_realtime;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use regex::bytes::Regex;
use serde_json::{Map, Value};

use crate::control::Request;
use crate::modem::Transport;
use crate::network::{WorldSpec, strip_position};

/// How long an `expect` waits when the step does not say (modem time).
pub const DEFAULT_WITHIN_MS: f64 = 1000.0;

/// One parsed scenario file.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub path: PathBuf,
    pub description: String,
    pub world: WorldSpec,
    pub steps: Vec<Step>,
}

/// One step and where it is written.
#[derive(Debug, Clone)]
pub struct Step {
    /// 1-based line of the step in its file.
    pub line: usize,
    /// Which modem (index, number or link); `None`: modem 0.
    pub modem: Option<String>,
    /// Which of the modem's AT instance ports the client step uses (`"instance": 2`); 1 is
    /// the modem's own port.
    pub instance: u8,
    /// The peer the step is about (`listen`/`accept`/`connect` name it; byte steps, `close`,
    /// `reset` and `expect_closed` carry it as `"peer"`); `None`: the modem's client.
    pub peer: Option<String>,
    pub action: Action,
}

/// What a step does.
#[derive(Debug, Clone)]
pub enum Action {
    /// The client (or the step's peer) writes bytes, all at once or one every `pace_ms`.
    Send {
        bytes: Vec<u8>,
        pace_ms: f64,
    },
    /// The next bytes from the modem (to the client, or to the step's peer) are exactly these,
    /// within the time limit.
    Expect {
        bytes: Vec<u8>,
        within_ms: f64,
    },
    /// Output matching the pattern arrives within the time limit; consumed through the match.
    ExpectRegex {
        pattern: String,
        regex: Regex,
        within_ms: f64,
    },
    /// The modem prints nothing for this long.
    ExpectSilence {
        ms: f64,
    },
    /// Time passes.
    Wait {
        ms: f64,
    },
    /// Time passes until this modem time (no-op when already later).
    At {
        ms: f64,
    },
    /// The client opens / closes the port; with a peer, the peer closes its side (FIN).
    Open,
    Close,
    /// A peer listens on 127.0.0.1:`port`.
    Listen {
        transport: Transport,
        port: u16,
    },
    /// The oldest connection waiting on the step's listener arrives within the time limit; it
    /// is called `name` from then on.
    Accept {
        name: String,
        within_ms: f64,
    },
    /// The step's peer connects from `from` (a loopback address, 127.0.0.1 unless the step
    /// says `"from"`) to 127.0.0.1:`port`, accepted within the time limit.
    Connect {
        transport: Transport,
        port: u16,
        from: Ipv4Addr,
        within_ms: f64,
    },
    /// The step's peer resets its connection (RST).
    Reset,
    /// The modem closes (or resets) the step's peer connection within the time limit.
    ExpectClosed {
        within_ms: f64,
    },
    /// A control-plane request; `state` may carry the subset of the state it must match.
    Ctl {
        request: Request,
        expect_state: Option<Value>,
    },
    /// The network hands the step's modem an SMS (an `sms_deliver` request).
    SmsIn {
        request: Request,
    },
    /// The next SMS the modems send outside the world comes within the time limit and has
    /// these fields (a subset of what `sms sent` shows).
    ExpectSmsOut {
        wanted: Value,
        within_ms: f64,
    },
}

/// The fields an `expect_sms_out` may match.
pub const SMS_OUT_FIELDS: [&str; 12] = [
    "modem", "from", "to", "mr", "pid", "dcs", "text", "concat", "srr", "ud", "at_ms", "time",
];

impl Action {
    /// The step's kind in words, for reports.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Send { .. } => "send",
            Action::Expect { .. } => "expect",
            Action::ExpectRegex { .. } => "expect_regex",
            Action::ExpectSilence { .. } => "expect_silence_ms",
            Action::Wait { .. } => "wait_ms",
            Action::At { .. } => "at_ms",
            Action::Open => "open",
            Action::Close => "close",
            Action::Listen { .. } => "listen",
            Action::Accept { .. } => "accept",
            Action::Connect { .. } => "connect",
            Action::Reset => "reset",
            Action::ExpectClosed { .. } => "expect_closed",
            Action::Ctl { .. } => "ctl",
            Action::SmsIn { .. } => "sms_in",
            Action::ExpectSmsOut { .. } => "expect_sms_out",
        }
    }
}

impl Scenario {
    /// Reads and checks a scenario file; every error names the file and line.
    pub fn from_file(path: &Path) -> Result<Scenario, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        Scenario::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Scenario, String> {
        let at = |line: usize, reason: String| format!("{}:{line}: {reason}", path.display());
        let value: Value = serde_json::from_str(text)
            .map_err(|e| at(e.line(), format!("bad JSON: {}", strip_position(&e))))?;
        let Value::Object(mut top) = value else {
            return Err(at(1, "a scenario is a JSON object with \"steps\"".into()));
        };
        let description = match top.remove("description") {
            Some(Value::String(s)) => s,
            None => String::new(),
            Some(_) => return Err(at(1, "\"description\" must be a string".into())),
        };
        let world = match top.remove("world") {
            None => WorldSpec {
                modems: vec![Default::default()],
                ..Default::default()
            },
            Some(world) => serde_json::from_value(world).map_err(|e| {
                at(
                    key_line(text, "world"),
                    format!("world: {}", strip_position(&e)),
                )
            })?,
        };
        if let Err(e) = world.resolve() {
            return Err(at(key_line(text, "world"), format!("world: {e}")));
        }
        let steps_value = top
            .remove("steps")
            .ok_or_else(|| at(1, "missing \"steps\": [...]".into()))?;
        if let Some(extra) = top.keys().next() {
            return Err(at(
                key_line(text, extra),
                format!("unknown field {extra:?}; a scenario has description, world, steps"),
            ));
        }
        let Value::Array(step_values) = steps_value else {
            return Err(at(
                key_line(text, "steps"),
                "\"steps\" must be an array".into(),
            ));
        };
        let lines = step_lines(text);
        let mut steps = Vec::new();
        for (index, step) in step_values.into_iter().enumerate() {
            let line = lines.get(index).copied().unwrap_or(1);
            let step =
                parse_step(step, line).map_err(|e| at(line, format!("step {}: {e}", index + 1)))?;
            steps.push(step);
        }
        Ok(Scenario {
            path: path.to_path_buf(),
            description,
            world,
            steps,
        })
    }
}

/// Every step kind, in the order error messages list them.
const STEP_KINDS: [&str; 18] = [
    "send",
    "send_hex",
    "expect",
    "expect_hex",
    "expect_regex",
    "expect_silence_ms",
    "wait_ms",
    "at_ms",
    "open",
    "close",
    "ctl",
    "listen",
    "accept",
    "connect",
    "reset",
    "expect_closed",
    "sms_in",
    "expect_sms_out",
];

fn parse_step(value: Value, line: usize) -> Result<Step, String> {
    let Value::Object(fields) = value else {
        return Err("a step is a JSON object like {\"send\": \"AT\\r\"}".into());
    };
    let mut fields = StepFields(fields);
    let modem = match fields.0.remove("modem") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(_) => return Err("\"modem\" is an index, a number or a link path".into()),
    };
    let instance = match fields.0.remove("instance") {
        None => 1,
        Some(Value::Number(n)) => match n.as_u64() {
            Some(i @ 1..=3) => i as u8,
            _ => return Err("\"instance\" is an AT instance, 1 to 3".into()),
        },
        Some(_) => return Err("\"instance\" is an AT instance, 1 to 3".into()),
    };
    let peer = match fields.0.remove("peer") {
        None => None,
        Some(Value::String(name)) if !name.is_empty() => Some(name),
        Some(_) => return Err("\"peer\" must be the name of a peer connection".into()),
    };
    let keys: Vec<&str> = STEP_KINDS
        .into_iter()
        .filter(|k| fields.0.contains_key(*k))
        .collect();
    let kind = match keys.as_slice() {
        [one] => *one,
        [] => {
            return Err(format!("no action: use one of {}", STEP_KINDS.join(", ")));
        }
        many => return Err(format!("one action per step, got {}", many.join(", "))),
    };
    if instance != 1 && (peer.is_some() || matches!(kind, "sms_in" | "expect_sms_out")) {
        return Err(format!("{kind} does not go with \"instance\""));
    }
    match (kind, &peer) {
        ("wait_ms" | "at_ms" | "open" | "ctl" | "sms_in" | "expect_sms_out", Some(_)) => {
            return Err(format!("{kind} does not go with \"peer\""));
        }
        ("listen" | "accept" | "connect", Some(_)) => {
            return Err(format!(
                "{kind} names its peer itself: {{\"{kind}\": \"name\"}}, without \"peer\""
            ));
        }
        ("reset" | "expect_closed", None) => {
            return Err(format!(
                "{kind} needs \"peer\": the name of a peer connection"
            ));
        }
        ("send" | "send_hex", Some(_)) if fields.0.contains_key("pace_ms") => {
            return Err("pace_ms is for the modem's client, not a peer".into());
        }
        _ => {}
    }
    let mut peer = peer;
    let action = match kind {
        "send" | "send_hex" => {
            let bytes = fields.bytes(kind)?;
            let pace_ms = fields.optional_ms("pace_ms")?.unwrap_or(0.0);
            Action::Send { bytes, pace_ms }
        }
        "expect" | "expect_hex" => {
            let bytes = fields.bytes(kind)?;
            if bytes.is_empty() {
                return Err("expect of nothing: use expect_silence_ms".into());
            }
            let within_ms = fields.within_ms()?;
            Action::Expect { bytes, within_ms }
        }
        "expect_regex" => {
            let pattern = fields.string(kind)?;
            let regex =
                Regex::new(&pattern).map_err(|e| format!("expect_regex {pattern:?}: {e}"))?;
            let within_ms = fields.within_ms()?;
            Action::ExpectRegex {
                pattern,
                regex,
                within_ms,
            }
        }
        "expect_silence_ms" => Action::ExpectSilence {
            ms: fields.required_ms(kind)?,
        },
        "wait_ms" => Action::Wait {
            ms: fields.required_ms(kind)?,
        },
        "at_ms" => Action::At {
            ms: fields.required_ms(kind)?,
        },
        "open" | "close" | "reset" => {
            fields.flag(kind)?;
            match kind {
                "open" => Action::Open,
                "close" => Action::Close,
                _ => Action::Reset,
            }
        }
        "expect_closed" => {
            fields.flag(kind)?;
            Action::ExpectClosed {
                within_ms: fields.within_ms()?,
            }
        }
        "listen" => {
            peer = Some(fields.name(kind)?);
            Action::Listen {
                transport: fields.transport()?,
                port: fields.port(kind)?,
            }
        }
        "accept" => {
            let listener = fields.name(kind)?;
            let name = match fields.0.remove("as") {
                None => listener.clone(),
                Some(Value::String(name)) if !name.is_empty() => name,
                Some(_) => return Err("\"as\" must be a name for the connection".into()),
            };
            peer = Some(listener);
            Action::Accept {
                name,
                within_ms: fields.within_ms()?,
            }
        }
        "connect" => {
            peer = Some(fields.name(kind)?);
            Action::Connect {
                transport: fields.transport()?,
                port: fields.port(kind)?,
                from: fields.source()?,
                within_ms: fields.within_ms()?,
            }
        }
        "sms_in" => {
            let Some(Value::Object(mut message)) = fields.0.remove(kind) else {
                return Err(
                    "sms_in is an object like {\"from\": \"+393331234567\", \"text\": \"hi\"}"
                        .into(),
                );
            };
            if let Some(key) = ["to", "modem", "verb"]
                .iter()
                .find(|k| message.contains_key(**k))
            {
                return Err(format!(
                    "sms_in: no {key:?} inside; the step's \"modem\" names the modem"
                ));
            }
            message.insert("verb".into(), Value::String("sms_deliver".into()));
            let request = Request::from_value(&Value::Object(message))?;
            Action::SmsIn { request }
        }
        "expect_sms_out" => {
            let wanted = match fields.0.remove(kind) {
                Some(Value::Object(wanted)) => wanted,
                _ => {
                    return Err(
                        "expect_sms_out is an object like {\"to\": \"+4477\", \"text\": \"hi\"}"
                            .into(),
                    );
                }
            };
            if let Some(key) = wanted
                .keys()
                .find(|k| !SMS_OUT_FIELDS.contains(&k.as_str()))
            {
                return Err(format!(
                    "expect_sms_out: unknown field {key:?}; fields: {}",
                    SMS_OUT_FIELDS.join(", ")
                ));
            }
            Action::ExpectSmsOut {
                wanted: Value::Object(wanted),
                within_ms: fields.within_ms()?,
            }
        }
        _ => {
            let request = match fields.0.remove("ctl") {
                Some(Value::String(words)) => {
                    let words = split_words(&words)?;
                    Request::from_words(None, &words)?
                }
                Some(value) => Request::from_value(&value)?,
                None => return Err("ctl needs a request".into()),
            };
            let expect_state = fields.0.remove("expect_state");
            if expect_state.is_some() && request.verb != crate::control::Verb::State {
                return Err("expect_state goes with ctl \"state\"".into());
            }
            let modem = request.modem.clone().or(modem.clone());
            if instance != 1 {
                return Err("ctl acts on a modem, not on one of its instances".into());
            }
            return finish(
                fields,
                Step {
                    line,
                    modem,
                    instance,
                    peer: None,
                    action: Action::Ctl {
                        request,
                        expect_state,
                    },
                },
            );
        }
    };
    finish(
        fields,
        Step {
            line,
            modem,
            instance,
            peer,
            action,
        },
    )
}

fn finish(fields: StepFields, step: Step) -> Result<Step, String> {
    match fields.0.keys().next() {
        Some(extra) => Err(format!(
            "unknown field {extra:?} in a {} step",
            step.action.name()
        )),
        None => Ok(step),
    }
}

/// Splits `dtr down` / `urc "+CMTI: \"SM\",1"` like a shell would (double quotes, backslash).
fn split_words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut current: Option<String> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                let word = current.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(escaped) => word.push(escaped),
                            None => return Err(format!("unfinished escape in {text:?}")),
                        },
                        Some(other) => word.push(other),
                        None => return Err(format!("unterminated quote in {text:?}")),
                    }
                }
            }
            c if c.is_whitespace() => {
                if let Some(word) = current.take() {
                    words.push(word);
                }
            }
            c => current.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(current);
    Ok(words)
}

struct StepFields(Map<String, Value>);

impl StepFields {
    fn string(&mut self, name: &str) -> Result<String, String> {
        match self.0.remove(name) {
            Some(Value::String(s)) => Ok(s),
            _ => Err(format!("{name} must be a string")),
        }
    }

    /// `send`/`expect` text as UTF-8 bytes, or `*_hex` as hex digit pairs.
    fn bytes(&mut self, name: &str) -> Result<Vec<u8>, String> {
        let text = self.string(name)?;
        if !name.ends_with("_hex") {
            return Ok(text.into_bytes());
        }
        let clean: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        if !clean.len().is_multiple_of(2) {
            return Err(format!("{name}: odd number of hex digits"));
        }
        clean
            .chunks(2)
            .map(|pair| {
                std::str::from_utf8(pair)
                    .ok()
                    .and_then(|p| u8::from_str_radix(p, 16).ok())
                    .ok_or_else(|| {
                        format!("{name}: {:?} is not hex", String::from_utf8_lossy(pair))
                    })
            })
            .collect()
    }

    /// `open`, `close`, `reset`, `expect_closed`: the only value is `true`.
    fn flag(&mut self, name: &str) -> Result<(), String> {
        match self.0.remove(name) {
            Some(Value::Bool(true)) => Ok(()),
            _ => Err(format!("{name} must be true")),
        }
    }

    /// The peer a `listen`/`accept`/`connect` step names.
    fn name(&mut self, name: &str) -> Result<String, String> {
        match self.0.remove(name) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s),
            _ => Err(format!(
                "{name} must be a peer's name, like {{\"{name}\": \"srv\"}}"
            )),
        }
    }

    /// `"transport": "tcp"` (the default) or `"udp"`.
    fn transport(&mut self) -> Result<Transport, String> {
        match self.0.remove("transport") {
            None => Ok(Transport::Tcp),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("tcp") => Ok(Transport::Tcp),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("udp") => Ok(Transport::Udp),
            Some(other) => Err(format!("transport must be \"tcp\" or \"udp\", not {other}")),
        }
    }

    /// `"from"`: the loopback address a peer connects from (127.0.0.1 when absent), so a
    /// firewall can be shown turning away 127.0.0.2.
    fn source(&mut self) -> Result<Ipv4Addr, String> {
        match self.0.remove("from") {
            None => Ok(Ipv4Addr::LOCALHOST),
            Some(Value::String(text)) => match text.parse::<Ipv4Addr>() {
                Ok(ip) if ip.is_loopback() => Ok(ip),
                _ => Err(format!(
                    "from must be a loopback address like \"127.0.0.2\", not {text:?}"
                )),
            },
            Some(other) => Err(format!(
                "from must be a loopback address like \"127.0.0.2\", not {other}"
            )),
        }
    }

    /// A port on 127.0.0.1, 1 to 65535.
    fn port(&mut self, kind: &str) -> Result<u16, String> {
        match self.0.remove("port") {
            None => Err(format!("{kind} needs \"port\": 1 to 65535")),
            Some(Value::Number(n)) => match n.as_u64() {
                Some(port @ 1..=65535) => Ok(port as u16),
                _ => Err(format!("port must be 1 to 65535, not {n}")),
            },
            Some(other) => Err(format!("port must be 1 to 65535, not {other}")),
        }
    }

    /// `within_ms`, or the default limit.
    fn within_ms(&mut self) -> Result<f64, String> {
        Ok(self.optional_ms("within_ms")?.unwrap_or(DEFAULT_WITHIN_MS))
    }

    fn optional_ms(&mut self, name: &str) -> Result<Option<f64>, String> {
        match self.0.remove(name) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_f64() {
                Some(ms) if (0.0..=86_400_000.0).contains(&ms) => Ok(Some(ms)),
                _ => Err(format!("{name} must be 0 to 86400000 ms, not {n}")),
            },
            Some(other) => Err(format!("{name} must be a number of ms, not {other}")),
        }
    }

    fn required_ms(&mut self, name: &str) -> Result<f64, String> {
        self.optional_ms(name)?
            .ok_or_else(|| format!("{name} must be a number of ms"))
    }
}

/// The 1-based line of each element of the top-level `"steps"` array.
fn step_lines(text: &str) -> Vec<usize> {
    let mut lines = Vec::new();
    let mut line = 1;
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut last_key = String::new();
    let mut string = String::new();
    let mut steps_depth: Option<usize> = None;
    let mut expecting_element = false;
    for c in text.chars() {
        if c == '\n' {
            line += 1;
        }
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
                if depth == 1 {
                    last_key = std::mem::take(&mut string);
                }
            } else if depth == 1 {
                string.push(c);
            }
            continue;
        }
        if expecting_element && !c.is_whitespace() && c != ',' && c != ']' {
            lines.push(line);
            expecting_element = false;
        }
        match c {
            '"' => {
                in_string = true;
                string.clear();
            }
            '{' | '[' => {
                depth += 1;
                if c == '[' && depth == 2 && last_key == "steps" && steps_depth.is_none() {
                    steps_depth = Some(depth);
                    expecting_element = true;
                }
            }
            '}' | ']' => {
                if Some(depth) == steps_depth && c == ']' {
                    steps_depth = None;
                    expecting_element = false;
                }
                depth = depth.saturating_sub(1);
            }
            ',' if steps_depth == Some(depth) => expecting_element = true,
            _ => {}
        }
    }
    lines
}

/// The line where a top-level key is written (1 if it cannot be found).
fn key_line(text: &str, key: &str) -> usize {
    let needle = format!("\"{key}\"");
    text.find(&needle)
        .map(|i| text[..i].matches('\n').count() + 1)
        .unwrap_or(1)
}

/// What `simodem replay` does for its files: replay each (on the virtual clock, or in real time
/// over real PTYs), print one report per file to `out`, write JUnit XML if asked. Returns
/// whether every scenario held.
pub fn replay_files(
    paths: &[PathBuf],
    junit_path: Option<&Path>,
    realtime: bool,
    out: &mut dyn std::io::Write,
) -> Result<bool, String> {
    let mut scenarios = Vec::new();
    for path in paths {
        scenarios.push(Scenario::from_file(path)?);
    }
    let mut results = Vec::new();
    for scenario in &scenarios {
        let started = std::time::Instant::now();
        let outcome = if realtime {
            run_realtime(scenario)
        } else {
            run::run_virtual(scenario)
        };
        let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
        let text = report::describe(scenario, &outcome, wall_ms);
        out.write_all(text.as_bytes())
            .map_err(|e| format!("cannot write the report: {e}"))?;
        results.push((scenario, outcome, wall_ms, text));
    }
    let all_held = results.iter().all(|(_, o, _, _)| o.failure.is_none());
    if let Some(junit_path) = junit_path {
        let rows: Vec<_> = results
            .iter()
            .map(|(s, o, w, t)| (*s, o, *w, t.clone()))
            .collect();
        std::fs::write(junit_path, report::junit(&rows))
            .map_err(|e| format!("{}: cannot write JUnit report: {e}", junit_path.display()))?;
    }
    Ok(all_held)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Scenario, String> {
        Scenario::parse(Path::new("s.json"), text)
    }

    #[test]
    fn malformed_scenarios_name_file_line_and_reason() {
        let cases = [
            (
                "{\n \"steps\": [\n",
                "s.json:3: bad JSON: EOF while parsing a list",
            ),
            ("[]", "s.json:1: a scenario is a JSON object with \"steps\""),
            (
                "{\"description\": \"x\"}",
                "s.json:1: missing \"steps\": [...]",
            ),
            (
                "{\n\"steps\": [\n {\"send\": \"AT\\r\"},\n\n {\"expect\": \"OK\", \"whithin_ms\": 5}\n]}",
                "s.json:5: step 2: unknown field \"whithin_ms\" in a expect step",
            ),
            (
                "{\"steps\": [{\"send\": \"A\", \"expect\": \"B\"}]}",
                "s.json:1: step 1: one action per step, got send, expect",
            ),
            (
                "{\"steps\": [\n{\"ctl\": \"dtr sideways\"}]}",
                "s.json:2: step 1: dtr state must be up or down, not \"sideways\"",
            ),
            (
                "{\"steps\": [\n{\"expect_regex\": \"(\"}]}",
                "s.json:2: step 1: expect_regex \"(\": regex parse error:\n    (\n    ^\nerror: unclosed group",
            ),
            (
                "{\"world\": {\"modems\": [{\"model\": \"nokia\"}]},\n\"steps\": []}",
                "s.json:1: world: modem 0: unknown model \"nokia\"; use sim900 or telit",
            ),
            (
                "{\"steps\": [{\"wait_ms\": -5}]}",
                "s.json:1: step 1: wait_ms must be 0 to 86400000 ms, not -5",
            ),
            (
                "{\"steps\": [{\"send_hex\": \"4g\"}]}",
                "s.json:1: step 1: send_hex: \"4g\" is not hex",
            ),
        ];
        for (text, reason) in cases {
            assert_eq!(parse(text).err().as_deref(), Some(reason), "{text}");
        }
    }

    #[test]
    fn steps_know_their_lines_and_ctl_words_split_like_a_shell() {
        let scenario = parse(
            "{\"description\": \"d\",\n \"steps\": [\n  {\"send\": \"[{,\\\"\"},\n  {\"ctl\": \"urc \\\"+CMTI: \\\\\\\"SM\\\\\\\",1\\\"\"},\n  {\"wait_ms\": 5}]}",
        )
        .expect("parse");
        let lines: Vec<usize> = scenario.steps.iter().map(|s| s.line).collect();
        assert_eq!(lines, [3, 4, 5]);
        match &scenario.steps[1].action {
            Action::Ctl { request, .. } => assert_eq!(
                request.verb,
                crate::control::Verb::Act(crate::modem::Input::Urc("+CMTI: \"SM\",1".into()))
            ),
            other => panic!("not ctl: {other:?}"),
        }
    }

    #[test]
    fn peer_steps_parse_with_their_names_ports_and_limits() {
        let scenario = parse(
            r#"{"steps": [
  {"listen": "srv", "port": 47001},
  {"listen": "dns", "port": 47053, "transport": "udp"},
  {"accept": "srv", "within_ms": 500, "as": "first"},
  {"connect": "cli", "port": 47002, "modem": 1},
  {"connect": "far", "port": 47002, "from": "127.0.0.2"},
  {"peer": "first", "send": "AT\r"},
  {"peer": "first", "expect_hex": "4f4b"},
  {"peer": "cli", "expect_regex": "^OK", "within_ms": 20},
  {"peer": "cli", "expect_silence_ms": 100},
  {"peer": "first", "close": true},
  {"peer": "cli", "reset": true},
  {"peer": "first", "expect_closed": true, "within_ms": 250},
  {"close": true}
]}"#,
        )
        .expect("parse");
        let peers: Vec<Option<&str>> = scenario.steps.iter().map(|s| s.peer.as_deref()).collect();
        assert_eq!(
            peers,
            [
                Some("srv"),
                Some("dns"),
                Some("srv"),
                Some("cli"),
                Some("far"),
                Some("first"),
                Some("first"),
                Some("cli"),
                Some("cli"),
                Some("first"),
                Some("cli"),
                Some("first"),
                None
            ]
        );
        let actions: Vec<String> = scenario
            .steps
            .iter()
            .map(|s| match &s.action {
                Action::Listen { transport, port } => format!("listen {} {port}", transport.name()),
                Action::Accept { name, within_ms } => format!("accept as {name} {within_ms}"),
                Action::Connect {
                    transport,
                    port,
                    from,
                    within_ms,
                } => format!(
                    "connect {} {port} from {from} {within_ms}",
                    transport.name()
                ),
                Action::Send { bytes, pace_ms } => format!("send {bytes:?} {pace_ms}"),
                Action::Expect { bytes, within_ms } => format!("expect {bytes:?} {within_ms}"),
                Action::ExpectRegex {
                    pattern, within_ms, ..
                } => format!("regex {pattern} {within_ms}"),
                Action::ExpectSilence { ms } => format!("silence {ms}"),
                Action::ExpectClosed { within_ms } => format!("closed {within_ms}"),
                other => other.name().to_string(),
            })
            .collect();
        assert_eq!(
            actions,
            [
                "listen TCP 47001",
                "listen UDP 47053",
                "accept as first 500",
                "connect TCP 47002 from 127.0.0.1 1000",
                "connect TCP 47002 from 127.0.0.2 1000",
                "send [65, 84, 13] 0",
                "expect [79, 75] 1000",
                "regex ^OK 20",
                "silence 100",
                "close",
                "reset",
                "closed 250",
                "close"
            ]
        );
        assert_eq!(scenario.steps[3].modem.as_deref(), Some("1"));
    }

    #[test]
    fn malformed_peer_steps_name_file_line_and_reason() {
        let cases = [
            (
                r#"{"listen": "srv"}"#,
                "s.json:1: step 1: listen needs \"port\": 1 to 65535",
            ),
            (
                r#"{"listen": "srv", "port": 0}"#,
                "s.json:1: step 1: port must be 1 to 65535, not 0",
            ),
            (
                r#"{"connect": "cli", "port": "47002"}"#,
                "s.json:1: step 1: port must be 1 to 65535, not \"47002\"",
            ),
            (
                r#"{"listen": "srv", "port": 70000}"#,
                "s.json:1: step 1: port must be 1 to 65535, not 70000",
            ),
            (
                r#"{"listen": "srv", "port": 47001, "transport": "sctp"}"#,
                "s.json:1: step 1: transport must be \"tcp\" or \"udp\", not \"sctp\"",
            ),
            (
                r#"{"listen": "", "port": 47001}"#,
                "s.json:1: step 1: listen must be a peer's name, like {\"listen\": \"srv\"}",
            ),
            (
                r#"{"accept": "srv", "as": 3}"#,
                "s.json:1: step 1: \"as\" must be a name for the connection",
            ),
            (
                r#"{"peer": "srv", "accept": "srv"}"#,
                "s.json:1: step 1: accept names its peer itself: {\"accept\": \"name\"}, without \"peer\"",
            ),
            (
                r#"{"peer": "srv", "wait_ms": 5}"#,
                "s.json:1: step 1: wait_ms does not go with \"peer\"",
            ),
            (
                r#"{"reset": true}"#,
                "s.json:1: step 1: reset needs \"peer\": the name of a peer connection",
            ),
            (
                r#"{"expect_closed": true}"#,
                "s.json:1: step 1: expect_closed needs \"peer\": the name of a peer connection",
            ),
            (
                r#"{"peer": "srv", "reset": false}"#,
                "s.json:1: step 1: reset must be true",
            ),
            (
                r#"{"peer": 5, "send": "x"}"#,
                "s.json:1: step 1: \"peer\" must be the name of a peer connection",
            ),
            (
                r#"{"peer": "srv", "send": "x", "pace_ms": 10}"#,
                "s.json:1: step 1: pace_ms is for the modem's client, not a peer",
            ),
            (
                r#"{"connect": "cli", "port": 47002, "from": "10.0.0.1"}"#,
                "s.json:1: step 1: from must be a loopback address like \"127.0.0.2\", not \"10.0.0.1\"",
            ),
            (
                r#"{"connect": "cli", "port": 47002, "from": 2}"#,
                "s.json:1: step 1: from must be a loopback address like \"127.0.0.2\", not 2",
            ),
            (
                r#"{"connect": "cli", "port": 47002, "as": "x"}"#,
                "s.json:1: step 1: unknown field \"as\" in a connect step",
            ),
            (
                r#"{"listen": "srv", "connect": "cli", "port": 1}"#,
                "s.json:1: step 1: one action per step, got listen, connect",
            ),
            (
                r#"{"peer": "srv"}"#,
                "s.json:1: step 1: no action: use one of send, send_hex, expect, expect_hex, expect_regex, expect_silence_ms, wait_ms, at_ms, open, close, ctl, listen, accept, connect, reset, expect_closed, sms_in, expect_sms_out",
            ),
        ];
        for (step, reason) in cases {
            let text = format!("{{\"steps\": [{step}]}}");
            assert_eq!(parse(&text).err().as_deref(), Some(reason), "{step}");
        }
    }
}
