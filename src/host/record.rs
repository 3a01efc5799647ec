//! `--record FILE`: collects the event bus while the world runs and, at stop, writes it as a
//! scenario (world + timed steps) that `simodem replay` plays back against fresh modems.

use std::io;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use tokio::sync::{broadcast, oneshot};
use tokio::task::JoinHandle;

use super::StartError;
use super::events::{EventBody, WorldEvent, bytes_field};
use crate::network::{ModemSpec, ResolvedModem, WorldSpec};

/// Slack added to each expectation's window: the time since the previous step, plus this.
pub const WITHIN_SLACK_MS: u64 = 1000;
/// A client that attached this early (within the clock's resolution of modem time 0) counts
/// as attached from the start; any later open is a step of its own.
const ATTACHED_AT_START_US: u64 = 1;

/// Fails early, at start, when the recording could not be written at stop.
pub(crate) fn check_writable(path: &Path) -> Result<(), StartError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(StartError::Record(
                path.to_path_buf(),
                io::Error::new(
                    io::ErrorKind::NotADirectory,
                    "its directory is not a directory",
                ),
            ));
        }
        Err(e) => return Err(StartError::Record(path.to_path_buf(), e)),
    }
    if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
        return Err(StartError::Record(
            path.to_path_buf(),
            io::Error::new(io::ErrorKind::IsADirectory, "it is a directory"),
        ));
    }
    Ok(())
}

/// The world as a scenario states it: each modem's identities and network, no ports or files.
pub fn world_spec(resolved: &[ResolvedModem]) -> WorldSpec {
    let modems = resolved
        .iter()
        .map(|m| {
            let config = &m.config;
            ModemSpec {
                model: Some(config.profile.id.to_string()),
                number: Some(config.identity.number.clone()),
                imei: Some(config.identity.imei.clone()),
                imsi: Some(config.identity.imsi.clone()),
                iccid: Some(config.identity.iccid.clone()),
                smsc: Some(config.identity.smsc.clone()),
                operator: Some(config.network.operator_long.clone()),
                operator_code: Some(config.network.operator_numeric.clone()),
                csq: Some(config.network.rssi),
                pin: config.pin.clone(),
                puk: config.pin.as_ref().map(|_| config.puk.clone()),
                no_sim: !config.sim_inserted,
                cnmi_ds2: config.cnmi_ds2,
                instances: (config.instances != config.profile.at_instances)
                    .then_some(config.instances),
                ..ModemSpec::default()
            }
        })
        .collect();
    // The acknowledgement time is the world's, the same for every modem; a model's own is left
    // out.
    let sms_ack_ms = resolved.first().map(|m| m.config.sms_ack_ms).filter(|&ms| {
        resolved
            .iter()
            .any(|m| m.config.profile.sms.submit_ms != ms)
    });
    WorldSpec {
        modems,
        sms_ack_ms,
        ..WorldSpec::default()
    }
}

/// What the recorder collected.
struct Recording {
    events: Vec<WorldEvent>,
    missed: u64,
}

/// The recorder task and where it writes.
pub(crate) struct Recorder {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Recording>,
    path: PathBuf,
    world: WorldSpec,
}

impl Recorder {
    pub(crate) fn start(
        events: broadcast::Receiver<WorldEvent>,
        path: PathBuf,
        world: WorldSpec,
    ) -> Self {
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(collect(events, stopped));
        Recorder {
            stop,
            task,
            path,
            world,
        }
    }

    /// Takes the last events and writes the scenario (temp file, then rename).
    pub(crate) async fn finish(self) -> io::Result<()> {
        let _ = self.stop.send(());
        let recording = self.task.await.map_err(io::Error::other)?;
        if recording.missed > 0 {
            tracing::warn!(
                missed = recording.missed,
                "the recorder fell behind: the recording lacks {} events",
                recording.missed
            );
        }
        let description = format!(
            "recorded by simodem run --record on {}",
            utc_timestamp(std::time::SystemTime::now())
        );
        let text = scenario_text(
            &description,
            &self.world,
            &recording.events,
            self.world.modems.len(),
        );
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &self.path).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
    }
}

/// Adds one received event (or the count of lost ones); false once the bus is gone.
fn keep(
    received: Result<WorldEvent, broadcast::error::RecvError>,
    recording: &mut Recording,
) -> bool {
    match received {
        Ok(event) => {
            recording.events.push(event);
            true
        }
        Err(broadcast::error::RecvError::Lagged(n)) => {
            recording.missed += n;
            true
        }
        Err(broadcast::error::RecvError::Closed) => false,
    }
}

async fn collect(
    mut events: broadcast::Receiver<WorldEvent>,
    mut stop: oneshot::Receiver<()>,
) -> Recording {
    let mut recording = Recording {
        events: Vec::new(),
        missed: 0,
    };
    loop {
        tokio::select! {
            biased;
            received = events.recv() => {
                if !keep(received, &mut recording) {
                    return recording;
                }
            }
            _ = &mut stop => break,
        }
    }
    // The modems have stopped: take what is still queued.
    loop {
        let received = match events.try_recv() {
            Ok(event) => Ok(event),
            Err(broadcast::error::TryRecvError::Lagged(n)) => {
                Err(broadcast::error::RecvError::Lagged(n))
            }
            Err(_) => break,
        };
        keep(received, &mut recording);
    }
    recording
}

/// `t` µs as milliseconds: a whole number when it is one, else fractional.
fn ms(at_us: u64) -> Value {
    if at_us.is_multiple_of(1000) {
        json!(at_us / 1000)
    } else {
        json!(at_us as f64 / 1000.0)
    }
}

/// `{key: value}` plus `"modem": index` unless it is modem 0.
fn step(key: &str, value: Value, modem: usize) -> Value {
    let mut object = serde_json::Map::new();
    object.insert(key.into(), value);
    if modem != 0 {
        object.insert("modem".into(), json!(modem));
    }
    Value::Object(object)
}

/// The steps that replay `events` (of a world of `modems` modems) against fresh modems.
pub fn scenario_steps(events: &[WorldEvent], modems: usize) -> Vec<Value> {
    let mut events: Vec<&WorldEvent> = events.iter().collect();
    events.sort_by_key(|e| e.at_us);
    let mut steps = Vec::new();
    // A replay starts with every port open; a port nobody attached to at once starts closed.
    let mut ports: Vec<(usize, u8)> = (0..modems).map(|m| (m, 1)).collect();
    for event in &events {
        if let EventBody::Instance(instance, _) = &event.body
            && !ports.contains(&(event.modem, *instance))
        {
            ports.push((event.modem, *instance));
        }
    }
    let mut skip_first_open = Vec::new();
    for &(modem, instance) in &ports {
        let first_port = events.iter().find_map(|e| match port_event(&e.body) {
            (i, EventBody::Port { opened }) if e.modem == modem && i == instance => {
                Some((e.at_us, *opened))
            }
            _ => None,
        });
        match first_port {
            Some((at, true)) if at < ATTACHED_AT_START_US => {
                skip_first_open.push((modem, instance))
            }
            _ => steps.push(on_instance(step("close", json!(true), modem), instance)),
        }
    }
    let mut last_us = 0u64;
    for event in events {
        let modem = event.modem;
        let at = event.at_us;
        let (instance, body) = port_event(&event.body);
        let first = steps.len();
        match body {
            EventBody::DteIn(bytes) => {
                let (field, value) = bytes_field(bytes);
                let key = if field == "data" { "send" } else { "send_hex" };
                steps.push(json!({"at_ms": ms(at)}));
                steps.push(step(key, json!(value), modem));
                last_us = at;
            }
            EventBody::DteOut(bytes) => {
                let (field, value) = bytes_field(bytes);
                let key = if field == "data" {
                    "expect"
                } else {
                    "expect_hex"
                };
                let within = at.saturating_sub(last_us).div_ceil(1000) + WITHIN_SLACK_MS;
                let mut expect = step(key, json!(value), modem);
                if let Value::Object(fields) = &mut expect {
                    fields.insert("within_ms".into(), json!(within));
                }
                steps.push(expect);
                last_us = at;
            }
            EventBody::Port { opened } => {
                if *opened
                    && let Some(i) = skip_first_open.iter().position(|&p| p == (modem, instance))
                {
                    skip_first_open.remove(i);
                    continue;
                }
                let key = if *opened { "open" } else { "close" };
                steps.push(json!({"at_ms": ms(at)}));
                steps.push(step(key, json!(true), modem));
                last_us = at;
            }
            EventBody::Ctl(request) if request.get("verb") == Some(&json!("sms_deliver")) => {
                // `sms deliver` replays as an `sms_in` step: the request without verb and modem.
                let mut message = request.clone();
                if let Value::Object(fields) = &mut message {
                    fields.remove("verb");
                    fields.remove("to");
                }
                steps.push(json!({"at_ms": ms(at)}));
                steps.push(step("sms_in", message, modem));
                last_us = at;
            }
            EventBody::Ctl(request) => {
                let mut request = request.clone();
                if let Value::Object(fields) = &mut request {
                    fields.insert("modem".into(), json!(modem));
                }
                steps.push(json!({"at_ms": ms(at)}));
                steps.push(json!({ "ctl": request }));
                last_us = at;
            }
            // What the network does follows from the steps.
            EventBody::Core { .. }
            | EventBody::SmsIn(_)
            | EventBody::SmsSent(_)
            | EventBody::Instance(..) => {}
        }
        if instance != 1 {
            for added in &mut steps[first..] {
                *added = on_instance(added.take(), instance);
            }
        }
    }
    steps
}

/// The AT instance an event happened on and the event itself.
fn port_event(body: &EventBody) -> (u8, &EventBody) {
    match body {
        EventBody::Instance(instance, inner) => (*instance, &**inner),
        body => (1, body),
    }
}

/// A step for instance `instance`'s port (`"instance": n`); `at_ms` steps stay as they are.
fn on_instance(mut step: Value, instance: u8) -> Value {
    if instance != 1
        && let Value::Object(fields) = &mut step
        && !fields.contains_key("at_ms")
    {
        fields.insert("instance".into(), json!(instance));
    }
    step
}

/// The scenario file: description, world and one step per line.
pub fn scenario_text(
    description: &str,
    world: &WorldSpec,
    events: &[WorldEvent],
    modems: usize,
) -> String {
    let steps: Vec<String> = scenario_steps(events, modems)
        .iter()
        .map(|s| format!("    {s}"))
        .collect();
    let steps = if steps.is_empty() {
        "[]".to_string()
    } else {
        format!("[\n{}\n  ]", steps.join(",\n"))
    };
    let world = serde_json::to_string(world).unwrap_or_else(|_| "{}".into());
    format!(
        "{{\n  \"description\": {},\n  \"world\": {world},\n  \"steps\": {steps}\n}}\n",
        json!(description)
    )
}

/// `2026-05-01T10:20:30Z`.
pub fn utc_timestamp(time: std::time::SystemTime) -> String {
    let secs = time
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    crate::calendar::iso_utc(i64::try_from(secs).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn event(at_us: u64, modem: usize, body: EventBody) -> WorldEvent {
        WorldEvent { at_us, modem, body }
    }

    #[test]
    fn events_become_timed_steps_with_windows_from_the_previous_step() {
        let events = [
            event(0, 0, EventBody::Port { opened: true }),
            event(
                250,
                0,
                EventBody::Core {
                    kind: crate::modem::EventKind::Why,
                    message: "ignored".into(),
                },
            ),
            event(1_500_250, 0, EventBody::DteIn(Arc::from(&b"AT\r"[..]))),
            event(
                1_500_400,
                0,
                EventBody::DteOut(Arc::from(&b"AT\r\r\nOK\r\n"[..])),
            ),
            event(2_000_000, 1, EventBody::Port { opened: true }),
            event(2_100_000, 1, EventBody::DteIn(Arc::from(&b"\xff\r"[..]))),
            event(
                2_100_000,
                1,
                EventBody::Ctl(json!({"verb": "dtr", "state": "down"})),
            ),
            event(3_500_001, 1, EventBody::DteOut(Arc::from(&b"\xff"[..]))),
            event(4_000_000, 0, EventBody::Port { opened: false }),
        ];
        let steps = scenario_steps(&events, 2);
        let expected = vec![
            json!({"close": true, "modem": 1}),
            json!({"at_ms": 1500.25}),
            json!({"send": "AT\r"}),
            json!({"expect": "AT\r\r\nOK\r\n", "within_ms": 1001}),
            json!({"at_ms": 2000}),
            json!({"open": true, "modem": 1}),
            json!({"at_ms": 2100}),
            json!({"send_hex": "ff0d", "modem": 1}),
            json!({"at_ms": 2100}),
            json!({"ctl": {"verb": "dtr", "state": "down", "modem": 1}}),
            json!({"expect_hex": "ff", "within_ms": 2401, "modem": 1}),
            json!({"at_ms": 4000}),
            json!({"close": true}),
        ];
        assert_eq!(steps, expected);
    }

    #[test]
    fn scenario_text_is_json_with_one_step_per_line() {
        let world = WorldSpec {
            modems: vec![ModemSpec {
                model: Some("sim900".into()),
                csq: Some(20),
                ..ModemSpec::default()
            }],
            ..WorldSpec::default()
        };
        let text = scenario_text("d", &world, &[], 1);
        assert_eq!(
            text,
            "{\n  \"description\": \"d\",\n  \"world\": {\"modems\":[{\"model\":\"sim900\",\"csq\":20}]},\n  \"steps\": [\n    {\"close\":true}\n  ]\n}\n"
        );
    }

    #[test]
    fn utc_timestamps_are_iso_8601() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_767_225_600 + 3_723);
        assert_eq!(utc_timestamp(t), "2026-01-01T01:02:03Z");
        let leap = std::time::UNIX_EPOCH + std::time::Duration::from_secs(951_782_400);
        assert_eq!(utc_timestamp(leap), "2000-02-29T00:00:00Z");
    }
}
