//! SMS with real, unmodified clients (gammu, python-gsmmodem-new, smstools' smsd) against the
//! `simodem` binary running a world of two SIM900s (`simodem run --config`).
//!
//! Modem A (`+15550000001`) and modem B (`+15550000002`) share one SMS network. A message to the
//! other modem's number arrives there (`+CMTI`, stored in its memory); a message to any other
//! number is kept by the network and listed by `simodem ctl sms sent --json`. Incoming messages
//! are injected with `simodem ctl sms deliver`. Each test checks the exact lines the client
//! prints (or writes to its spool), the exact JSON record of what was sent, or the exact bytes
//! of modem B read through its PTY. Wall-clock timestamps are replaced by `<time>` before the
//! comparison, after their format was checked.
//!
//! Every test has its own temp directory (world file, control socket, PTY links, client
//! configs, the emulator's `--trace` log); on failure it is kept and named in the panic message.
//! Every wait has a time limit. A missing client fails the test with the package to install;
//! `SIMODEM_SKIP_REAL_CLIENTS=1` turns that into a notice (as in tests/real_clients.rs).

mod support;

use std::ffi::OsStr;
use std::fs;
use std::io::{Read, Write};
use std::ops::Deref;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use regex::Regex;
use serde_json::{Value, json};
use support::Port;
use support::clients::{
    CLIENT_TIMEOUT, ClientRun, READY_TIMEOUT, STOP_TIMEOUT, Simodem, collect, gammu, line_channel,
    python_gsmmodem, reader, smsd, spawn_piped, wait_timeout,
};

const NUMBER_A: &str = "+15550000001";
const NUMBER_B: &str = "+15550000002";
/// Modem B's identities as `simodem` counts them up from the defaults (index 1).
const IMSI_B: &str = "001010123456790";
const IMEI_B: &str = "490154203237526";

/// How long `simodem ctl` may take.
const CTL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long smsd may take to send a spool file or to fetch a message (it polls every second).
const SMSD_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a PTY exchange with modem B may take.
const PORT_TIMEOUT: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------------------------
// The emulator: a world of two SIM900s
// ---------------------------------------------------------------------------------------------

struct World {
    simodem: Simodem,
    control: PathBuf,
    /// PTY links of modem A and modem B.
    links: [PathBuf; 2],
}

/// The test's name and directory, `fail` and `wait_booted`.
impl Deref for World {
    type Target = Simodem;
    fn deref(&self) -> &Simodem {
        &self.simodem
    }
}

impl World {
    /// `simodem run --config <dir>/world.json --trace`: modems A and B, the network delivering
    /// at once (`sms_delay_ms` 0), the control socket at `<dir>/ctl`.
    fn start(name: &str) -> World {
        let dir = Simodem::fresh_dir("sms-clients", name);
        let control = dir.join("ctl");
        let links = [dir.join("a"), dir.join("b")];
        let config = dir.join("world.json");
        let world_file = json!({
            "control": control,
            "sms_delay_ms": 0,
            "modems": [
                {"link": links[0], "number": NUMBER_A},
                {"link": links[1], "number": NUMBER_B},
            ],
        });
        fs::write(&config, world_file.to_string()).expect("write world file");
        let (simodem, rx) = Simodem::spawn(
            name,
            dir,
            [
                OsStr::new("--config"),
                config.as_os_str(),
                OsStr::new("--trace"),
            ],
        );
        let mut world = World {
            simodem,
            control,
            links,
        };
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut banner = Vec::new();
        let last = format!("simodem: control socket {}", world.control.display());
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    let done = line == last;
                    banner.push(line);
                    if done {
                        break;
                    }
                }
                Err(e) => world.fail(&format!(
                    "no banner ending in {last:?} within {READY_TIMEOUT:?} ({e}); got {banner:?}"
                )),
            }
        }
        world.simodem.ready_at = Instant::now();
        let want: Vec<String> = world
            .links
            .iter()
            .map(|link| {
                format!(
                    "simodem: SIMCOM_SIM900 on /dev/pts/N (link {})",
                    link.display()
                )
            })
            .chain([last])
            .collect();
        let pts = Regex::new(r"/dev/pts/\d+").expect("regex");
        let got: Vec<String> = banner
            .iter()
            .map(|line| pts.replace(line, "/dev/pts/N").into_owned())
            .collect();
        if got != want {
            world.fail(&format!("banner {banner:?}; want {want:?}"));
        }
        world
    }

    fn link(&self, modem: usize) -> &Path {
        &self.links[modem]
    }

    /// `simodem ctl --control <ctl> ARGS...`; its stdout, which must be one line, after exit 0.
    fn ctl(&self, args: &[&str]) -> String {
        let what = format!("simodem ctl {}", args.join(" "));
        let mut child = Command::new(env!("CARGO_BIN_EXE_simodem"))
            .arg("ctl")
            .arg("--control")
            .arg(&self.control)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| self.fail(&format!("cannot start {what}: {e}")));
        let run = collect(&mut child, CTL_TIMEOUT);
        if run.timed_out || !run.status.success() {
            self.fail(&format!("{what} failed\n{}", run.describe()));
        }
        match run.stdout.strip_suffix('\n') {
            Some(line) if !line.contains('\n') => line.to_string(),
            _ => self.fail(&format!("{what}: want one line\n{}", run.describe())),
        }
    }

    /// Injects a text message for `modem` from `from`.
    fn deliver(&self, modem: usize, from: &str, text: &str, alphabet: &str) {
        let to = modem.to_string();
        let answer = self.ctl(&[
            "sms",
            "deliver",
            "--to",
            &to,
            "--from",
            from,
            "--text",
            text,
            "--alphabet",
            alphabet,
        ]);
        let want = format!(r#"{{"ok":true,"modem":{modem},"parts":1}}"#);
        if answer != want {
            self.fail(&format!("sms deliver answered {answer}; want {want}"));
        }
    }

    /// `sms sent --json` (optionally `--to NUMBER`): the records, each without its two time
    /// fields (`at_ms`, `time`), which are checked to be there.
    fn sent(&self, to: Option<&str>) -> Vec<Value> {
        let mut args = vec!["sms", "sent", "--json"];
        if let Some(to) = to {
            args.extend(["--to", to]);
        }
        let line = self.ctl(&args);
        let mut answer: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| self.fail(&format!("sms sent: not JSON ({e}): {line}")));
        if answer["ok"] != json!(true) {
            self.fail(&format!("sms sent: {line}"));
        }
        let Some(records) = answer["sent"].as_array_mut() else {
            self.fail(&format!("sms sent: no \"sent\" list: {line}"));
        };
        for record in records.iter_mut() {
            let Some(object) = record.as_object_mut() else {
                self.fail(&format!("sms sent: a record is not an object: {line}"));
            };
            let at_ms = object.remove("at_ms");
            let time = object.remove("time");
            if !at_ms.as_ref().is_some_and(Value::is_u64)
                || !time.as_ref().is_some_and(Value::is_string)
            {
                self.fail(&format!("sms sent: record without at_ms/time: {line}"));
            }
        }
        records.clone()
    }

    /// The records of `sms sent --json --to <to>` must be exactly these (without times).
    fn assert_sent(&self, to: &str, want: &[Value]) {
        let got = self.sent(Some(to));
        if got != want {
            self.fail(&format!(
                "sms sent --to {to}\n--- got ---\n{}\n--- want ---\n{}",
                serde_json::to_string_pretty(&got).unwrap_or_default(),
                serde_json::to_string_pretty(&want).unwrap_or_default()
            ));
        }
    }

    /// SIGTERM, wait for a clean exit, and check that the links and the socket were removed.
    fn stop(mut self) {
        self.simodem.stop();
        for path in self.links.iter().chain([&self.control]) {
            if fs::symlink_metadata(path).is_ok() {
                self.fail(&format!(
                    "{} still exists after simodem stopped",
                    path.display()
                ));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Running a client
// ---------------------------------------------------------------------------------------------

/// Runs the client to its end with the time limit; it must exit 0.
fn run_client(world: &World, what: &str, command: &mut Command) -> ClientRun {
    world.wait_booted();
    let mut child =
        spawn_piped(command).unwrap_or_else(|e| world.fail(&format!("cannot start {what}: {e}")));
    let run = collect(&mut child, CLIENT_TIMEOUT);
    eprintln!("{}: {what}: {}", world.name, run.describe());
    if run.timed_out || !run.status.success() {
        world.fail(&format!("{what} failed\n{}", run.describe()));
    }
    run
}

/// `gammu -c <cfg> ARGS` against modem `modem`, in `locale` (C or C.UTF-8).
fn run_gammu(world: &World, gammu: &Path, modem: usize, locale: &str, args: &[&str]) -> ClientRun {
    let config = world.dir.join(format!("gammurc{modem}"));
    fs::write(
        &config,
        format!(
            "[gammu]\ndevice = {}\nconnection = at115200\nlogformat = textall\nlogfile = {}\n",
            world.link(modem).display(),
            world.dir.join(format!("gammu{modem}.log")).display()
        ),
    )
    .expect("write gammu config");
    let what = format!("gammu {}", args.join(" "));
    run_client(
        world,
        &what,
        Command::new(gammu)
            .arg("-c")
            .arg(&config)
            .args(args)
            .env("LC_ALL", locale)
            .env("LANG", locale),
    )
}

fn gsmmodem_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/gsmmodem_sms.py")
}

/// The output's lines must be exactly these.
fn assert_lines(world: &World, what: &str, got: &[String], want: &[&str]) {
    if got != want {
        world.fail(&format!(
            "{what}: lines differ\n--- got ---\n{}\n--- want ---\n{}",
            got.join("\n"),
            want.join("\n")
        ));
    }
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_string).collect()
}

/// Lines of `text` with every match of `pattern` replaced by `with`.
fn normalise(text: &str, pattern: &str, with: &str) -> Vec<String> {
    let re = Regex::new(pattern).expect("regex");
    text.lines()
        .map(|line| re.replace_all(line, with).into_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Modem B through its PTY
// ---------------------------------------------------------------------------------------------

/// Sends `command` to the port (raw, as pyserial opens it) and returns everything up to and
/// including the final result (`\r\nOK\r\n`, or an error line), or what came before the time
/// limit.
fn port_command(port: &mut Port, command: &str) -> String {
    port.file
        .write_all(command.as_bytes())
        .expect("write to port");
    let deadline = Instant::now() + PORT_TIMEOUT;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let done = |got: &[u8]| {
        got.ends_with(b"\r\nOK\r\n")
            || got.ends_with(b"ERROR\r\n")
            || Regex::new(r"\r\n\+CM[SE] ERROR: [^\r]*\r\n$")
                .expect("regex")
                .is_match(&String::from_utf8_lossy(got))
    };
    while !done(&got) && Instant::now() < deadline {
        match port.file.read(&mut buf) {
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => panic!("read: {e}"),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// Sends each command to modem B and compares the whole answer exactly (after `ATE0`), with
/// SMS timestamps (`"yy/MM/dd,hh:mm:ss+zz"`) replaced by `"<time>"`.
fn assert_port_answers(world: &World, modem: usize, exchanges: &[(&str, &str)]) {
    let mut port = Port::open(world.link(modem));
    let timestamp = Regex::new(r#""\d\d/\d\d/\d\d,\d\d:\d\d:\d\d[+-]\d\d""#).expect("regex");
    // Whatever state the port was left in, echo off first (the answer depends on it).
    port_command(&mut port, "ATE0\r");
    for (command, want) in exchanges {
        let got = port_command(&mut port, command);
        let got = timestamp.replace_all(&got, "\"<time>\"");
        if got != *want {
            world.fail(&format!(
                "modem {modem}: {command:?} answered {got:?}; want {want:?}"
            ));
        }
    }
}

/// Both of the modem's memories (SIM and phone) hold no message. Clients pick their own
/// (gammu reads SM; python-gsmmodem chooses ME from `AT+CPMS=?`), so both are selected in turn.
fn assert_memories_empty(world: &World, modem: usize) {
    assert_port_answers(
        world,
        modem,
        &[
            (
                "AT+CPMS=\"SM\",\"SM\",\"SM\"\r",
                "\r\n+CPMS: 0,30,0,30,0,30\r\n\r\nOK\r\n",
            ),
            (
                "AT+CPMS=\"ME\",\"ME\",\"ME\"\r",
                "\r\n+CPMS: 0,50,0,50,0,50\r\n\r\nOK\r\n",
            ),
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// gammu
// ---------------------------------------------------------------------------------------------

/// gammu prints one dot per poll while it waits for `+CMGS:`; how many depends on timing.
fn gammu_sent_lines(run: &ClientRun) -> Vec<String> {
    normalise(&run.stdout, r"network answer\.+OK", "network answer...OK")
}

#[test]
fn gammu_sendsms_reaches_the_other_modem() {
    let test = "gammu_sendsms_to_b";
    let Some(gammu) = gammu(test) else { return };
    let world = World::start(test);
    let run = run_gammu(
        &world,
        &gammu,
        0,
        "C",
        &["sendsms", "TEXT", NUMBER_B, "-text", "hello from gammu"],
    );
    assert_lines(
        &world,
        "gammu sendsms",
        &gammu_sent_lines(&run),
        &["Sending SMS 1/1\u{2026}waiting for network answer...OK, message reference=0"],
    );
    // Modem B has it, unread, in text and in PDU mode; the network kept nothing for outside.
    assert_port_answers(
        &world,
        1,
        &[
            (
                "AT+CPMS?\r",
                "\r\n+CPMS: \"SM\",1,30,\"SM\",1,30,\"SM\",1,30\r\n\r\nOK\r\n",
            ),
            ("AT+CMGF=1\r", "\r\nOK\r\n"),
            (
                "AT+CMGL=\"ALL\"\r",
                "\r\n+CMGL: 1,\"REC UNREAD\",\"+15550000001\",\"\",\"<time>\"\r\nhello from gammu\r\n\r\nOK\r\n",
            ),
        ],
    );
    if !world.sent(None).is_empty() {
        world.fail("a message to a modem of the world shows in `sms sent`");
    }
    world.stop();
}

#[test]
fn gammu_sendsms_to_an_outside_number_is_recorded_by_the_network() {
    let test = "gammu_sendsms_outside";
    let Some(gammu) = gammu(test) else { return };
    let world = World::start(test);
    let run = run_gammu(
        &world,
        &gammu,
        0,
        "C",
        &[
            "sendsms",
            "TEXT",
            "+447700900999",
            "-text",
            "hello from gammu",
        ],
    );
    assert_lines(
        &world,
        "gammu sendsms",
        &gammu_sent_lines(&run),
        &["Sending SMS 1/1\u{2026}waiting for network answer...OK, message reference=0"],
    );
    world.assert_sent(
        "+447700900999",
        &[json!({
            "modem": 0, "from": NUMBER_A, "to": "+447700900999", "mr": 0, "pid": 0, "dcs": 0,
            "text": "hello from gammu", "srr": false, "ud": "E8329BFD0699E5EF36E81C6EB7EB",
        })],
    );
    world.stop();
}

#[test]
fn gammu_getallsms_shows_injected_messages_and_deleteallsms_empties_the_memory() {
    let test = "gammu_getallsms";
    let Some(gammu) = gammu(test) else { return };
    let world = World::start(test);
    world.wait_booted();
    world.deliver(1, "+447700900123", "hello gammu", "gsm");
    world.deliver(1, "+79161234567", "Привет", "ucs2");
    // C.UTF-8: gammu prints non-ASCII text in the locale's charset ("??????" under C).
    let run = run_gammu(&world, &gammu, 1, "C.UTF-8", &["getallsms"]);
    let sent = r"^Sent                 : \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} [+-]\d{4}$";
    let sent_lines = normalise(&run.stdout, sent, "Sent                 : <time>");
    assert_lines(
        &world,
        "gammu getallsms",
        &sent_lines,
        &[
            "Location 1, folder \"Inbox\", SIM memory, Inbox folder",
            "SMS message",
            "SMSC number          : \"+15550009999\"",
            "Sent                 : <time>",
            "Coding               : Default GSM alphabet (no compression)",
            "Remote number        : \"+447700900123\"",
            "Status               : UnRead",
            "",
            "hello gammu",
            "",
            "Location 2, folder \"Inbox\", SIM memory, Inbox folder",
            "SMS message",
            "SMSC number          : \"+15550009999\"",
            "Sent                 : <time>",
            "Coding               : Unicode (no compression)",
            "Remote number        : \"+79161234567\"",
            "Status               : UnRead",
            "",
            "Привет",
            "",
            "",
            "",
            "2 SMS parts in 2 SMS sequences",
        ],
    );
    let run = run_gammu(&world, &gammu, 1, "C", &["deleteallsms", "1"]);
    assert_lines(
        &world,
        "gammu deleteallsms 1",
        &lines(&run.stdout),
        &["Deleting SMS from \"Inbox\" folder: **"],
    );
    let run = run_gammu(&world, &gammu, 1, "C", &["getallsms"]);
    assert_lines(
        &world,
        "gammu getallsms (after deleteallsms)",
        &lines(&run.stdout),
        &["", "", "0 SMS parts in 0 SMS sequences"],
    );
    assert_memories_empty(&world, 1);
    world.stop();
}

// ---------------------------------------------------------------------------------------------
// python-gsmmodem-new
// ---------------------------------------------------------------------------------------------

fn gsmmodem_send(test: &str, mode: &str, to: &str, text: &str, want_sent: Value) {
    if !python_gsmmodem(test) {
        return;
    }
    let world = World::start(test);
    let what = format!("gsmmodem_sms.py send ({mode} mode)");
    let run = run_client(
        &world,
        &what,
        Command::new("python3")
            .arg(gsmmodem_script())
            .args(["send"])
            .arg(world.link(0))
            .args([mode, to, text]),
    );
    let lines = lines(&run.stdout);
    // The reference is the modem's +CMGS: <mr>; status 0 is the library's ENROUTE.
    assert_lines(&world, &what, &lines, &["sent reference=0 status=0"]);
    world.assert_sent(to, &[want_sent]);
    world.stop();
}

#[test]
fn python_gsmmodem_sends_in_pdu_mode() {
    // The library's PDU asks for a status report (first octet 0x21) and uses the stored SMSC.
    gsmmodem_send(
        "gsmmodem_send_pdu",
        "pdu",
        "+447700900111",
        "hello from gsmmodem pdu",
        json!({
            "modem": 0, "from": NUMBER_A, "to": "+447700900111", "mr": 0, "pid": 0, "dcs": 0,
            "text": "hello from gsmmodem pdu", "srr": true,
            "ud": "E8329BFD0699E5EF36E83C6FB7DFE4721B0427D701",
        }),
    );
}

#[test]
fn python_gsmmodem_sends_in_text_mode() {
    // connect() set AT+CSMP=49,167,0,0: first octet 49 asks for a status report.
    gsmmodem_send(
        "gsmmodem_send_text",
        "text",
        "+447700900222",
        "hello from gsmmodem text",
        json!({
            "modem": 0, "from": NUMBER_A, "to": "+447700900222", "mr": 0, "pid": 0, "dcs": 0,
            "text": "hello from gsmmodem text", "srr": true,
            "ud": "E8329BFD0699E5EF36E83C6FB7DFE4721B442FE3E9",
        }),
    );
}

/// Starts the receiving script on modem B, injects each message once the previous one reached
/// the callback, and checks the callback's lines.
fn gsmmodem_receive(test: &str, mode: &str, messages: &[(&str, &str, &str)], want: &[&str]) {
    if !python_gsmmodem(test) {
        return;
    }
    let world = World::start(test);
    world.wait_booted();
    let what = format!("gsmmodem_sms.py receive ({mode} mode)");
    let started = Instant::now();
    let mut child = Command::new("python3")
        .arg(gsmmodem_script())
        .arg("receive")
        .arg(world.link(1))
        .args([mode, &messages.len().to_string(), "40"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| world.fail(&format!("cannot start {what}: {e}")));
    let stdout = child.stdout.take().expect("stdout");
    let err = reader(child.stderr.take().expect("stderr"));
    let rx = line_channel(stdout);
    let mut lines = Vec::new();
    let next_line = |lines: &mut Vec<String>, child: &mut Child| {
        let left = (started + CLIENT_TIMEOUT).saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => lines.push(line),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                world.fail(&format!("{what}: no more output ({e}) after {lines:?}"));
            }
        }
    };
    next_line(&mut lines, &mut child);
    for (from, text, alphabet) in messages {
        world.deliver(1, from, text, alphabet);
        next_line(&mut lines, &mut child);
        next_line(&mut lines, &mut child);
    }
    let status = wait_timeout(&mut child, CLIENT_TIMEOUT).unwrap_or_else(|| {
        let _ = child.kill();
        let _ = child.wait();
        world.fail(&format!("{what} did not exit after {lines:?}"));
    });
    let stderr = String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned();
    eprintln!(
        "{}: {what}: {status} after {:.1?}\n{}\n--- stderr ---\n{stderr}",
        world.name,
        started.elapsed(),
        lines.join("\n")
    );
    while let Ok(line) = rx.try_recv() {
        lines.push(line);
    }
    if !status.success() {
        world.fail(&format!(
            "{what} exited with {status}\n--- stderr ---\n{stderr}"
        ));
    }
    assert_lines(&world, &what, &lines, want);
    // The library deleted each message after its callback.
    assert_memories_empty(&world, 1);
    world.stop();
}

#[test]
fn python_gsmmodem_receives_in_pdu_mode() {
    gsmmodem_receive(
        "gsmmodem_receive_pdu",
        "pdu",
        &[
            ("+447700900123", "hello gsmmodem", "gsm"),
            ("+79161234567", "Привет", "ucs2"),
        ],
        &[
            "ready",
            "from=+447700900123",
            "text=\"hello gsmmodem\"",
            "from=+79161234567",
            "text=\"Привет\"",
        ],
    );
}

#[test]
fn python_gsmmodem_receives_in_text_mode() {
    // In text mode under +CSCS="GSM" a UCS2 message is printed as hex, as on the module; the
    // library hands that hex to the callback unchanged.
    gsmmodem_receive(
        "gsmmodem_receive_text",
        "text",
        &[
            ("+447700900123", "hello gsmmodem", "gsm"),
            ("+79161234567", "Привет", "ucs2"),
        ],
        &[
            "ready",
            "from=+447700900123",
            "text=\"hello gsmmodem\"",
            "from=+79161234567",
            "text=\"041F04400438043204350442\"",
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// smstools (smsd)
// ---------------------------------------------------------------------------------------------

/// A running `smsd -c <conf> -t` in its own process group; stopped (the whole group, by its
/// id) when dropped.
struct Smsd {
    child: Child,
}

impl Smsd {
    fn stop(&mut self) -> Option<ExitStatus> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Some(status);
        }
        let pgid = libc::pid_t::try_from(self.child.id()).expect("pid fits pid_t");
        // SAFETY: kill(2) on the process group our child leads (process_group(0) at spawn).
        unsafe { libc::kill(-pgid, libc::SIGTERM) };
        let status = wait_timeout(&mut self.child, STOP_TIMEOUT);
        // SAFETY: as above; whatever of the group is left.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        match status {
            Some(status) => Some(status),
            None => self.child.wait().ok(),
        }
    }
}

impl Drop for Smsd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Waits until `dir` holds exactly one file, not locked by smsd, and returns its path.
fn wait_for_file(world: &World, dir: &Path, smsd_log: &Path) -> PathBuf {
    let deadline = Instant::now() + SMSD_TIMEOUT;
    loop {
        // smsd locks a file it is working on with a `<name>.LOCK` beside it for a moment.
        let files: Vec<PathBuf> = fs::read_dir(dir)
            .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        let locked = files
            .iter()
            .any(|f| f.extension().is_some_and(|e| e == "LOCK"));
        if let ([file], false) = (files.as_slice(), locked) {
            return file.clone();
        }
        if Instant::now() >= deadline {
            let log = fs::read_to_string(smsd_log).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            world.fail(&format!(
                "no single file in {} within {SMSD_TIMEOUT:?} (got {files:?})\n--- last smsd log lines ---\n{}",
                dir.display(),
                lines[lines.len().saturating_sub(30)..].join("\n")
            ));
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until the file's lines (after `normalise`) are exactly `want`: smsd may still be
/// writing or amending a file it has just put in place.
fn wait_for_lines(
    world: &World,
    file: &Path,
    normalise: impl Fn(&str) -> Vec<String>,
    want: &[&str],
) {
    let deadline = Instant::now() + SMSD_TIMEOUT;
    loop {
        let got = normalise(&fs::read_to_string(file).unwrap_or_default());
        if got == want {
            return;
        }
        if Instant::now() >= deadline {
            assert_lines(world, &file.display().to_string(), &got, want);
        }
        thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn smsd_sends_a_spool_file_and_fetches_an_incoming_message() {
    let test = "smsd";
    let Some(smsd) = smsd(test) else { return };
    let world = World::start(test);
    let spool = world.dir.join("spool");
    let dirs = ["outgoing", "checked", "failed", "incoming", "sent"];
    for dir in dirs {
        fs::create_dir_all(spool.join(dir)).expect("create spool dir");
    }
    let log = world.dir.join("smsd.log");
    let config = world.dir.join("smsd.conf");
    let mut text = format!(
        "devices = GSM1\nlogfile = {}\nloglevel = 7\n",
        log.display()
    );
    for dir in dirs {
        text.push_str(&format!("{dir} = {}\n", spool.join(dir).display()));
    }
    // Poll the modem every second (the default is 10).
    text.push_str("delaytime = 1\n\n[GSM1]\n");
    text.push_str(&format!(
        "device = {}\nincoming = yes\nbaudrate = 115200\nmemory_start = 1\ncheck_memory_method = 1\n",
        world.link(1).display()
    ));
    fs::write(&config, text).expect("write smsd config");
    world.wait_booted();
    let output = fs::File::create(world.dir.join("smsd.out")).expect("smsd output file");
    let child = Command::new(&smsd)
        .arg("-c")
        .arg(&config)
        .arg("-t")
        .arg(format!("-p{}", world.dir.join("smsd.pid").display()))
        .arg(format!("-i{}", world.dir.join("smsd.working").display()))
        .stdin(Stdio::null())
        .stdout(Stdio::from(output.try_clone().expect("dup")))
        .stderr(Stdio::from(output))
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| world.fail(&format!("cannot start smsd: {e}")));
    let mut smsd = Smsd { child };

    // Outgoing: written elsewhere, then renamed in, so smsd never reads half a file.
    let draft = world.dir.join("draft");
    fs::write(&draft, "To: 447700900333\n\nhello from smsd\n").expect("write spool file");
    fs::rename(&draft, spool.join("outgoing/hello")).expect("move into outgoing");
    let sent = wait_for_file(&world, &spool.join("sent"), &log);
    if sent.file_name() != Some("hello".as_ref()) {
        world.fail(&format!("sent/ holds {}; want sent/hello", sent.display()));
    }
    let sent_lines = |text: &str| {
        normalise(
            &normalise(
                text,
                r"^Sent: \d\d-\d\d-\d\d \d\d:\d\d:\d\d$",
                "Sent: <time>",
            )
            .join("\n"),
            r"^Sending_time: \d+$",
            "Sending_time: <s>",
        )
    };
    let imsi = format!("IMSI: {IMSI_B}");
    let imei = format!("IMEI: {IMEI_B}");
    wait_for_lines(
        &world,
        &sent,
        sent_lines,
        &[
            "To: 447700900333",
            "Modem: GSM1",
            "Sent: <time>",
            "Sending_time: <s>",
            &imsi,
            &imei,
            "",
            "hello from smsd",
        ],
    );
    world.assert_sent(
        "+447700900333",
        &[json!({
            "modem": 1, "from": NUMBER_B, "to": "+447700900333", "mr": 0, "pid": 0, "dcs": 0,
            "text": "hello from smsd", "srr": false, "ud": "E8329BFD0699E5EF3668DE9E9301",
        })],
    );

    // Incoming: smsd polls +CPMS?, reads the message, writes it to incoming/, deletes it.
    world.deliver(1, "+447700900123", "hello smsd", "gsm");
    let incoming = wait_for_file(&world, &spool.join("incoming"), &log);
    let incoming_lines = |text: &str| {
        normalise(
            text,
            r"^(Sent|Received): \d\d-\d\d-\d\d \d\d:\d\d:\d\d$",
            "$1: <time>",
        )
    };
    wait_for_lines(
        &world,
        &incoming,
        incoming_lines,
        &[
            "From: 447700900123",
            "From_TOA: 91 international, ISDN/telephone",
            "From_SMSC: 15550009999",
            "Sent: <time>",
            "Received: <time>",
            "Subject: GSM1",
            "Modem: GSM1",
            &imsi,
            &imei,
            "Report: no",
            "Alphabet: ISO",
            "Length: 10",
            "",
            "hello smsd",
        ],
    );
    let status = smsd.stop();
    eprintln!("{test}: smsd stopped: {status:?}");
    world.stop();
}
