//! Many modems in one process: addressing, `--count`, a `--config` world driven by `simodem ctl`
//! subprocesses, `--trace`, and `--record` (its file replayed with the scenario runner).

mod support;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};
use simodem::network::ModemSpec;
use support::{Ctl, Emulator, Port, World, scratch};

const BIN: &str = env!("CARGO_BIN_EXE_simodem");

fn dir(name: &str) -> PathBuf {
    scratch("world", name)
}

#[test]
fn modems_are_addressed_by_index_number_and_link() {
    let dir = dir("address");
    let world = World::start(&dir, vec![ModemSpec::default(), ModemSpec::default()], None);
    let mut ctl = world.ctl();
    let mut zero = world.port(0);
    let mut one = world.port(1);
    zero.exchange(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    one.exchange(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    let link = world.link(1);
    let pts = world.running().modems[1].pts.clone().expect("pts");
    let dotted = dir.join(".").join("tty1");
    let urc = |modem: Value, text: &str| {
        let mut request = json!({"verb": "urc", "text": text});
        if !modem.is_null() {
            request["modem"] = modem;
        }
        request.to_string()
    };
    let acted_one = r#"{"ok":true,"modem":1}"#;
    assert_eq!(ctl.request(&urc(json!("1"), "by index")), acted_one);
    one.expect(b"\r\nby index\r\n");
    assert_eq!(ctl.request(&urc(json!(1), "by JSON number")), acted_one);
    one.expect(b"\r\nby JSON number\r\n");
    assert_eq!(
        ctl.request(&urc(json!("+15550000002"), "by number")),
        acted_one
    );
    one.expect(b"\r\nby number\r\n");
    assert_eq!(
        ctl.request(&urc(json!(link.display().to_string()), "by link")),
        acted_one
    );
    one.expect(b"\r\nby link\r\n");
    assert_eq!(
        ctl.request(&urc(
            json!(dotted.display().to_string()),
            "by another spelling"
        )),
        acted_one
    );
    one.expect(b"\r\nby another spelling\r\n");
    assert_eq!(
        ctl.request(&urc(json!(pts.display().to_string()), "by pts")),
        acted_one
    );
    one.expect(b"\r\nby pts\r\n");
    assert_eq!(
        ctl.request(&urc(Value::Null, "the first")),
        r#"{"ok":true,"modem":0}"#
    );
    zero.expect(b"\r\nthe first\r\n");
    // Nothing else reached either port.
    zero.exchange(b"AT\r", b"\r\nOK\r\n");
    one.exchange(b"AT\r", b"\r\nOK\r\n");
    assert_eq!(
        ctl.request_json(r#"{"verb":"state","modem":"1"}"#)["state"]["identity"]["number"],
        "+15550000002"
    );
    assert_eq!(
        ctl.request(&urc(json!("+999"), "nobody")),
        format!(
            r#"{{"ok":false,"error":"no modem \"+999\"; modems: 0 +15550000001 {}, 1 +15550000002 {}"}}"#,
            world.link(0).display(),
            link.display()
        )
    );
    world.stop();
}

#[test]
fn count_3_gives_three_links_with_distinct_numbers() {
    let dir = dir("count");
    let link = dir.join("sim%d");
    let control = dir.join("ctl");
    let emu = Emulator::start(&[
        "--count",
        "3",
        "--link",
        link.to_str().expect("utf-8"),
        "--control",
        control.to_str().expect("utf-8"),
    ]);
    assert_eq!(emu.banner.len(), 4);
    for i in 0..3 {
        let link = dir.join(format!("sim{i}"));
        assert!(emu.banner[i].starts_with("simodem: SIMCOM_SIM900 on /dev/pts/"));
        assert!(
            emu.banner[i].ends_with(&format!("(link {})", link.display())),
            "{}",
            emu.banner[i]
        );
    }
    assert_eq!(
        emu.banner[3],
        format!("simodem: control socket {}", control.display())
    );
    let mut ctl = Ctl::connect(&control);
    for i in 0..3 {
        ctl.wait_state(i, |s| s["sim"] == "READY");
        let mut port = Port::open(&dir.join(format!("sim{i}")));
        port.exchange(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
        port.exchange(
            b"AT+CNUM\r",
            format!(
                "\r\n+CNUM: \"\",\"+155500000{:02}\",145,7,4\r\n\r\nOK\r\n",
                i + 1
            )
            .as_bytes(),
        );
    }
    drop(ctl);
    assert!(emu.terminate().success());
    for i in 0..3 {
        assert!(std::fs::symlink_metadata(dir.join(format!("sim{i}"))).is_err());
    }
    assert!(std::fs::symlink_metadata(&control).is_err());
}

fn ctl(args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("ctl")
        .args(args)
        .env_remove("SIMODEM_CONTROL")
        .stdin(Stdio::null())
        .output()
        .expect("run simodem ctl")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_config_world_is_driven_by_simodem_ctl_and_stops_cleanly() {
    let dir = dir("config");
    let control = dir.join("world.ctl");
    let (a, b) = (dir.join("a"), dir.join("b"));
    let file = dir.join("world.json");
    let world = json!({
        "operator": "TIM",
        "control": control,
        "modems": [
            {"link": a, "number": "+393470000001"},
            {"model": "telit", "link": b, "csq": 9, "instances": 1}
        ]
    });
    std::fs::write(&file, world.to_string()).expect("world file");
    let emu = Emulator::start(&["--config", file.to_str().expect("utf-8")]);
    assert_eq!(emu.banner.len(), 3);
    assert!(emu.banner[0].starts_with("simodem: SIMCOM_SIM900 on /dev/pts/"));
    assert!(emu.banner[0].ends_with(&format!("(link {})", a.display())));
    assert!(emu.banner[1].starts_with("simodem: GE865 on /dev/pts/"));
    assert!(emu.banner[1].ends_with(&format!("(link {})", b.display())));
    assert_eq!(
        emu.banner[2],
        format!("simodem: control socket {}", control.display())
    );
    let path = control.to_str().expect("utf-8");

    let out = ctl(&["--control", path, "state"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let state: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(state["modem"], 0);
    assert_eq!(state["state"]["network"]["operator"], "TIM");
    assert_eq!(state["state"]["identity"]["number"], "+393470000001");

    let out = ctl(&[
        "--control",
        path,
        "--modem",
        "1",
        "network",
        "roaming",
        "--csq",
        "5",
    ]);
    assert_eq!(
        (out.status.code(), stdout(&out).as_str()),
        (Some(0), "{\"ok\":true,\"modem\":1}\n")
    );
    let out = ctl(&["--control", path, "--modem", "1", "state"]);
    let state: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(state["state"]["model"], "telit");
    assert_eq!(
        (
            &state["state"]["network"]["service"],
            &state["state"]["network"]["csq"]
        ),
        (&json!("roaming"), &json!(5))
    );

    // The events stream, from another `simodem ctl`.
    let mut events = Command::new(BIN)
        .args(["ctl", "--control", path, "events"])
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .expect("ctl events");
    let mut events_out = BufReader::new(events.stdout.take().expect("stdout"));
    let mut line = String::new();
    events_out.read_line(&mut line).expect("ack");
    assert_eq!(line, "{\"ok\":true,\"events\":\"subscribed\"}\n");

    let mut port = Port::open(&b);
    port.exchange(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    let out = ctl(&[
        "--control",
        path,
        "--modem",
        b.to_str().expect("utf-8"),
        "urc",
        "+CMTI: \"SM\",3",
    ]);
    assert_eq!(
        (out.status.code(), stdout(&out).as_str()),
        (Some(0), "{\"ok\":true,\"modem\":1}\n")
    );
    port.expect(b"\r\n+CMTI: \"SM\",3\r\n");
    loop {
        line.clear();
        events_out.read_line(&mut line).expect("event");
        assert!(!line.is_empty(), "events ended early");
        let event: Value = serde_json::from_str(&line).expect("JSON");
        if event["kind"] == "ctl" {
            assert_eq!(event["modem"], 1);
            assert_eq!(
                event["request"],
                json!({"verb": "urc", "text": "+CMTI: \"SM\",3"})
            );
            break;
        }
    }

    // A relative link path is the caller's, wherever the emulator runs.
    let out = Command::new(BIN)
        .args(["ctl", "--control", path, "--modem", "./b", "hangup"])
        .current_dir(&dir)
        .output()
        .expect("ctl");
    assert_eq!(
        (out.status.code(), stdout(&out).as_str()),
        (Some(0), "{\"ok\":true,\"modem\":1}\n")
    );

    // SIMODEM_CONTROL stands in for --control.
    let out = Command::new(BIN)
        .args(["ctl", "hangup"])
        .env("SIMODEM_CONTROL", &control)
        .output()
        .expect("ctl");
    assert_eq!(
        (out.status.code(), stdout(&out).as_str()),
        (Some(0), "{\"ok\":true,\"modem\":0}\n")
    );

    // Refused by the emulator: exit 1, the answer on stdout.
    let out = ctl(&["--control", path, "--modem", "9", "state"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        format!(
            "{{\"ok\":false,\"error\":\"no modem \\\"9\\\"; modems: 0 +393470000001 {}, 1 +15550000002 {}\"}}\n",
            a.display(),
            b.display()
        )
    );
    // Not a request: exit 2, the reason on stderr, nothing sent.
    let out = ctl(&["--control", path, "flap"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stderr(&out),
        "simodem ctl: unknown verb \"flap\"; verbs: modems, state, events, dtr, ring, hangup, network, sim, reboot, urc, sms_deliver, sms_sent; see simodem ctl --help\n"
    );
    let out = ctl(&["--control", path, "network", "--csq", "40"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "simodem ctl: csq must be 0-31 or 99, not 40; see simodem ctl --help\n"
    );
    // Nobody listening: exit 2 and what to do.
    let nowhere = dir.join("nowhere.ctl");
    let out = ctl(&["--control", nowhere.to_str().expect("utf-8"), "state"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        format!(
            "simodem ctl: cannot reach the control socket {}: No such file or directory (os error 2); is `simodem run` running? Pass --control PATH (or set SIMODEM_CONTROL) to the path it printed\n",
            nowhere.display()
        )
    );

    drop(port);
    assert!(emu.terminate().success());
    // The world stopped: the stream ends and `ctl events` exits 0.
    let mut rest = String::new();
    events_out
        .read_to_string(&mut rest)
        .expect("rest of events");
    assert_eq!(events.wait().expect("wait").code(), Some(0));
    for gone in [&a, &b, &control] {
        assert!(
            std::fs::symlink_metadata(gone).is_err(),
            "{} left behind",
            gone.display()
        );
    }
}

#[test]
fn bad_world_files_and_options_exit_2_with_the_reason() {
    let dir = dir("badconfig");
    let run = |args: &[&str]| {
        Command::new(BIN)
            .arg("run")
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("run")
    };
    let missing = dir.join("missing.json");
    let out = run(&["--config", missing.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        format!(
            "simodem: {}: cannot read: No such file or directory (os error 2)\n",
            missing.display()
        )
    );
    let nokia = dir.join("nokia.json");
    std::fs::write(&nokia, r#"{"modems": [{}, {"model": "nokia"}]}"#).expect("write");
    let out = run(&["--config", nokia.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "simodem: modem 1: unknown model \"nokia\"; use sim900 or telit\n"
    );
    let typo = dir.join("typo.json");
    std::fs::write(&typo, "{\"modems\": [\n  {\"modle\": \"telit\"}]}").expect("write");
    let out = run(&["--config", typo.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with(&format!(
            "simodem: {}:2:10: unknown field `modle`, expected one of",
            typo.display()
        )),
        "{}",
        stderr(&out)
    );
    let out = run(&["--config", "x.json", "--imei", "490154203237518"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["--count", "3"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "simodem: --count needs a --link with %d, e.g. --link /tmp/sim%d\n"
    );
    let left: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(left.len(), 2, "nothing but the world files: {left:?}");
}

#[test]
fn trace_prints_one_transcript_line_per_chunk() {
    let dir = dir("trace");
    let link = dir.join("tty");
    let log = dir.join("trace.log");
    let emu = Emulator::start_with_stderr(
        &["--link", link.to_str().expect("utf-8"), "--trace"],
        Stdio::from(std::fs::File::create(&log).expect("log")),
    );
    let mut port = Port::open(&link);
    port.exchange(b"AT\r", b"AT\r\r\nOK\r\n");
    port.exchange(b"AT+CGMM\r", b"AT+CGMM\r\r\nSIMCOM_SIM900\r\n\r\nOK\r\n");
    drop(port);
    assert!(emu.terminate().success());
    let text = std::fs::read_to_string(&log).expect("log");
    // `   12.345 ms  sim900#0 …`: the time, then exactly what happened.
    let lines: Vec<&str> = text
        .lines()
        .filter_map(|line| {
            let (time, rest) = line.split_once(" ms  ")?;
            let (whole, fraction) = time.trim_start().split_once('.')?;
            let numeric = !whole.is_empty()
                && whole.bytes().all(|b| b.is_ascii_digit())
                && fraction.len() == 3
                && fraction.bytes().all(|b| b.is_ascii_digit());
            numeric.then_some(rest)
        })
        .collect();
    let wanted = [
        "sim900#0 why: power on with +IPR=0 (auto-baud): silent until the first AT",
        "sim900#0 port opened",
        "sim900#0 → AT\\r",
        "sim900#0 why: auto-baud: rate detected from \"AT\"",
        "sim900#0 ← AT\\r\\r\\nOK\\r\\n",
        "sim900#0 → AT+CGMM\\r",
        "sim900#0 ← AT+CGMM\\r\\r\\nSIMCOM_SIM900\\r\\n\\r\\nOK\\r\\n",
    ];
    let mut from = 0;
    for want in wanted {
        match lines[from..].iter().position(|l| *l == want) {
            Some(i) => from += i + 1,
            None => panic!("{want:?} missing (in order) from the transcript:\n{text}"),
        }
    }
    assert!(
        text.lines().all(|l| !l.contains("DEBUG")),
        "transcript lines are bare:\n{text}"
    );
}

fn at_ms(step: &Value) -> f64 {
    step["at_ms"].as_f64().expect("an at_ms step")
}

#[test]
fn record_writes_a_scenario_that_replays_the_session() {
    let dir = dir("record");
    let file = dir.join("session.json");
    let world = World::start(
        &dir,
        vec![ModemSpec::default(), ModemSpec::default()],
        Some(file.clone()),
    );
    let mut ctl = world.ctl();
    let mut port = world.port(0);
    port.exchange(b"AT\r", b"AT\r\r\nOK\r\n");
    port.exchange(b"AT+CSQ\r", b"AT+CSQ\r\r\n+CSQ: 20,0\r\n\r\nOK\r\n");
    assert_eq!(
        ctl.request(r#"{"verb":"urc","text":"hello"}"#),
        r#"{"ok":true,"modem":0}"#
    );
    port.expect(b"\r\nhello\r\n");
    assert_eq!(
        ctl.request(r#"{"verb":"dtr","state":"down","modem":"1"}"#),
        r#"{"ok":true,"modem":1}"#
    );
    drop(port);
    ctl.wait_attached(0, false);
    drop(ctl);
    world.stop();

    let text = std::fs::read_to_string(&file).expect("recording written");
    assert!(!Path::new(&format!("{}.tmp", file.display())).exists());
    let scenario: Value = serde_json::from_str(&text).expect("JSON");
    let description = scenario["description"].as_str().expect("description");
    assert!(
        description.starts_with("recorded by simodem run --record on "),
        "{description}"
    );
    let modem = |number: &str, imei: &str, imsi: &str, iccid: &str| {
        json!({"model": "sim900", "number": number, "imei": imei, "imsi": imsi,
               "iccid": iccid, "smsc": "+15550009999", "operator": "simodem",
               "operator_code": "00101", "csq": 20})
    };
    assert_eq!(
        scenario["world"],
        json!({"modems": [
            modem("+15550000001", "490154203237518", "001010123456789", "89010100000123456789"),
            modem("+15550000002", "490154203237526", "001010123456790", "89010100000123456790"),
        ]})
    );
    let steps = scenario["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 17, "{text}");
    let times = [2, 4, 7, 10, 13, 15];
    let t: Vec<f64> = times.map(|i| at_ms(&steps[i])).to_vec();
    assert!(t.windows(2).all(|w| w[0] <= w[1]), "time order: {t:?}");
    // The times as recorded: a whole millisecond is written as an integer (`1`, not `1.0`).
    let t: Vec<Value> = times.map(|i| steps[i]["at_ms"].clone()).to_vec();
    let csq = "AT+CSQ\r\r\n+CSQ: 20,0\r\n\r\nOK\r\n";
    assert_eq!(
        Value::Array(steps.clone()),
        json!([
            {"close": true},
            {"close": true, "modem": 1},
            {"at_ms": t[0]}, {"open": true},
            {"at_ms": t[1]}, {"send": "AT\r"},
            {"expect": "AT\r\r\nOK\r\n", "within_ms": 1000},
            {"at_ms": t[2]}, {"send": "AT+CSQ\r"},
            {"expect": csq, "within_ms": 1000},
            {"at_ms": t[3]}, {"ctl": {"verb": "urc", "text": "hello", "modem": 0}},
            {"expect": "\r\nhello\r\n", "within_ms": 1000},
            {"at_ms": t[4]}, {"ctl": {"verb": "dtr", "state": "down", "modem": 1}},
            {"at_ms": t[5]}, {"close": true},
        ])
    );
    // One step per line in the file.
    assert_eq!(text.lines().count(), 4 + 17 + 2);
    // And `simodem replay` replays it green on the virtual clock.
    let parsed = simodem::scenario::Scenario::parse(&file, &text).expect("a valid scenario");
    let outcome = simodem::scenario::run::run_virtual(&parsed);
    assert_eq!(outcome.failure, None);
    assert_eq!(outcome.steps_run, 17);
}
