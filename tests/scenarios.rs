//! Replays every scenario in `scenarios/` on the virtual clock, and checks what a failing replay
//! reports: the step's file and line, expected and actual bytes, and the transcript.

use std::path::{Path, PathBuf};

use simodem::scenario::{Scenario, report, run};

fn scenario_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenarios/")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_scenario_in_the_folder_replays_green() {
    let files = scenario_files();
    assert!(files.len() >= 8, "only {} scenarios", files.len());
    let mut failures = String::new();
    for path in &files {
        let scenario = match Scenario::from_file(path) {
            Ok(scenario) => scenario,
            Err(e) => {
                failures.push_str(&format!("{e}\n"));
                continue;
            }
        };
        assert!(
            !scenario.description.is_empty(),
            "{} has no description",
            path.display()
        );
        let outcome = run::run_virtual(&scenario);
        if outcome.failure.is_some() {
            failures.push_str(&report::describe(&scenario, &outcome, 0.0));
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

#[test]
fn replays_are_byte_for_byte_the_same_every_run() {
    for path in scenario_files() {
        let scenario = Scenario::from_file(&path).expect("parse");
        let first = run::run_virtual(&scenario);
        let second = run::run_virtual(&scenario);
        assert_eq!(first.happenings, second.happenings, "{}", path.display());
        assert_eq!(first.ended, second.ended);
    }
}

const WRONG: &str = r#"{
  "description": "expects the wrong answer",
  "steps": [
    {"send": "AT\r"},
    {"expect": "AT\r\r\nOK\r\n"},
    {"send": "ATE0\r"},
    {"expect": "ATE0\r\r\nOK\r\n"},
    {"send": "AT+CSQ\r"},
    {"expect": "\r\n+CSQ: 31,0\r\n\r\nOK\r\n"}
  ]
}"#;

#[test]
fn a_failing_replay_shows_the_step_line_bytes_and_transcript() {
    let scenario = Scenario::parse(Path::new("wrong.json"), WRONG).expect("parse");
    let outcome = run::run_virtual(&scenario);
    assert_eq!(outcome.steps_run, 5);
    let text = report::describe(&scenario, &outcome, 0.0);
    let expected = r#"FAIL  wrong.json:9: step 6 (expect, modem 0) — expects the wrong answer
      the modem printed something else (step began at 0 ms, failed at 0 ms)
      expected: "\r\n+CSQ: 31,0\r\n\r\nOK\r\n"
      actual:   "\r\n+CSQ: 20,0\r\n\r\nOK\r\n"
                           ^ first difference at byte 8
      transcript of modem 0 (last 10 events):
"#;
    assert!(
        text.starts_with(&expected[..expected.find("      transcript").expect("marker")]),
        "{text}"
    );
    let tail = r#"               0 ms why power on with +IPR=0 (auto-baud): silent until the first AT
               0 ms step mode: command
               0 ms why client opened the port
               0 ms → "AT\r"
               0 ms why auto-baud: rate detected from "AT"
               0 ms ← "AT\r\r\nOK\r\n"
               0 ms → "ATE0\r"
               0 ms ← "ATE0\r\r\nOK\r\n"
               0 ms → "AT+CSQ\r"
               0 ms ← "\r\n+CSQ: 20,0\r\n\r\nOK\r\n"
"#;
    assert!(text.ends_with(tail), "{text}");
}

#[test]
fn a_missing_answer_times_out_in_modem_time() {
    let text = r#"{"steps": [{"expect": "\r\nRDY\r\n", "within_ms": 60000}]}"#;
    let scenario = Scenario::parse(Path::new("t.json"), text).expect("parse");
    let outcome = run::run_virtual(&scenario);
    let failure = outcome.failure.expect("fails");
    assert_eq!(failure.reason, "timed out after 60000 ms");
    assert_eq!(failure.at.as_millis(), 60_000);
    assert_eq!(failure.actual.as_deref(), Some(&b""[..]));
}

#[test]
fn junit_report_lists_each_scenario_and_its_failure() {
    let wrong = Scenario::parse(Path::new("wrong.json"), WRONG).expect("parse");
    let good = Scenario::parse(
        Path::new("good.json"),
        r#"{"description": "at <ok> & \"fine\"", "steps": [{"send": "AT\r"}, {"expect": "AT\r\r\nOK\r\n"}]}"#,
    )
    .expect("parse");
    let wrong_outcome = run::run_virtual(&wrong);
    let good_outcome = run::run_virtual(&good);
    let results = [
        (&good, &good_outcome, 1.5, String::from("ok")),
        (&wrong, &wrong_outcome, 2.0, String::from("FAIL <here>\n")),
    ];
    assert_eq!(
        report::junit(&results),
        r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="2" failures="1" time="0.004">
  <testsuite name="simodem replay" tests="2" failures="1" time="0.004">
    <testcase classname="good.json" name="at &lt;ok&gt; &amp; &quot;fine&quot;" time="0.002"/>
    <testcase classname="wrong.json" name="expects the wrong answer" time="0.002">
      <failure message="line 9: step 6 expect: the modem printed something else">FAIL &lt;here&gt;
</failure>
    </testcase>
  </testsuite>
</testsuites>
"#
    );
}

#[test]
fn scenarios_replay_green_in_real_time_over_real_ptys() {
    // The two shortest scenarios that still cover ports, DTR, calls and framing (~6 s).
    for name in [
        "echo-and-framing.json",
        "dtr-drop-under-each-ampersand-d.json",
    ] {
        replays_green_in_real_time(name);
    }
}

/// Replays a file of `scenarios/` in real time and asserts that every step held.
fn replays_green_in_real_time(name: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name);
    let scenario = Scenario::from_file(&path).expect("parse");
    let outcome = simodem::scenario::run_realtime(&scenario);
    assert!(
        outcome.failure.is_none(),
        "{}",
        report::describe(&scenario, &outcome, 0.0)
    );
    assert_eq!(outcome.steps_run, scenario.steps.len());
}

#[test]
fn peers_talk_through_the_real_loopback_in_real_time() {
    replays_green_in_real_time("peers-on-the-loopback.json");
}

#[test]
fn a_modem_talks_to_real_peers_and_to_another_modem_in_real_time() {
    // The same files as on the virtual clock, over the host's real sockets (~11 s).
    for name in [
        "tcp-client-to-a-peer.json",
        "tcp-server-and-modem-to-modem.json",
        "tcp-transparent-mode-with-a-peer.json",
    ] {
        replays_green_in_real_time(name);
    }
}

const WRONG_PEER: &str = r#"{
  "description": "a peer expects the wrong bytes",
  "steps": [
    {"listen": "srv", "port": 47110},
    {"connect": "cli", "port": 47110},
    {"accept": "srv", "as": "conn"},
    {"peer": "cli", "send": "GET /\r\n"},
    {"peer": "conn", "expect": "GET /index\r\n", "within_ms": 200}
  ]
}"#;

#[test]
fn a_failing_peer_step_shows_the_peer_its_bytes_and_the_network() {
    let scenario = Scenario::parse(Path::new("peer.json"), WRONG_PEER).expect("parse");
    let outcome = run::run_virtual(&scenario);
    assert_eq!(outcome.steps_run, 4);
    let text = report::describe(&scenario, &outcome, 0.0);
    assert_eq!(
        text,
        r#"FAIL  peer.json:8: step 5 (expect, peer conn) — a peer expects the wrong bytes
      conn received something else (step began at 0 ms, failed at 0 ms)
      expected: "GET /index\r\n"
      actual:   "GET /\r\n"
                      ^ first difference at byte 5
      transcript of modem 0 and the network (last 9 events):
               0 ms why power on with +IPR=0 (auto-baud): silent until the first AT
               0 ms step mode: command
               0 ms why client opened the port
               0 ms net srv listens on tcp 127.0.0.1:47110
               0 ms net cli connects to tcp 127.0.0.1:47110 from 127.0.0.1:40000
               0 ms net a connection from 127.0.0.1:40000 waits for srv to accept
               0 ms net srv accepts 127.0.0.1:40000 (peer cli) as conn
               0 ms cli ⇒ "GET /\r\n"
               0 ms conn ⇐ "GET /\r\n"
"#
    );
    let results = [(&scenario, &outcome, 1.0, String::from("FAIL\n"))];
    assert!(
        report::junit(&results).contains(
            r#"<failure message="line 8: step 5 expect (peer conn): conn received something else">"#
        ),
        "{}",
        report::junit(&results)
    );
}

#[test]
fn a_peer_waiting_for_a_connection_times_out_in_modem_time() {
    let text = r#"{"steps": [
  {"listen": "srv", "port": 47111},
  {"accept": "srv", "within_ms": 30000},
  {"send": "AT\r"}
]}"#;
    let scenario = Scenario::parse(Path::new("t.json"), text).expect("parse");
    let outcome = run::run_virtual(&scenario);
    let failure = outcome.failure.expect("fails");
    assert_eq!(failure.step, 1);
    assert_eq!(failure.peer.as_deref(), Some("srv"));
    assert_eq!(
        failure.reason,
        "no connection came to srv: timed out after 30000 ms"
    );
    assert_eq!(failure.at.as_millis(), 30_000);
}

// The five seed stories of the TCP/IP issue, over real PTYs and the host's real sockets.

#[test]
fn story_1a_server_bytes_reach_the_dte_as_data_in_real_time() {
    replays_green_in_real_time("story-1a-server-bytes-reach-the-dte-as-data.json");
}

#[test]
fn story_1b_escape_command_and_return_with_ato_in_real_time() {
    replays_green_in_real_time("story-1b-escape-command-and-return-with-ato.json");
}

#[test]
fn story_1c_plus_signs_without_guard_are_data_in_real_time() {
    replays_green_in_real_time("story-1c-plus-signs-without-guard-are-data.json");
}

#[test]
fn story_1d_peer_closes_during_transparent_mode_in_real_time() {
    replays_green_in_real_time("story-1d-peer-closes-during-transparent-mode.json");
}

#[test]
fn story_1e_multi_connection_client_and_server_in_real_time() {
    replays_green_in_real_time("story-1e-multi-connection-client-and-server.json");
}

// SMS between the modems of a world and the outside, over real PTYs and the control socket.

#[test]
fn sms_between_modems_and_outside_in_real_time() {
    replays_green_in_real_time("sms-between-modems-and-outside.json");
}

#[test]
fn sms_concatenated_ucs2_with_status_report_in_real_time() {
    replays_green_in_real_time("sms-concatenated-ucs2-with-status-report.json");
}

#[test]
fn sms_memory_full_in_real_time() {
    replays_green_in_real_time("sms-memory-full.json");
}

// The Telit IP Easy sockets, over real PTYs (instance ports included) and the host's real
// sockets. The #SS lines match the host's ephemeral port with \d+ (40000 on the virtual clock).

#[test]
fn telit_online_escape_resume_in_real_time() {
    replays_green_in_real_time("telit-online-escape-resume.json");
}

#[test]
fn telit_command_mode_sring_in_real_time() {
    replays_green_in_real_time("telit-command-mode-sring.json");
}

#[test]
fn telit_listen_accept_in_real_time() {
    replays_green_in_real_time("telit-listen-accept.json");
}

#[test]
fn telit_three_instances_in_real_time() {
    replays_green_in_real_time("telit-three-instances.json");
}

#[test]
fn telit_cmux_socket_on_dlci2_in_real_time() {
    replays_green_in_real_time("telit-cmux-socket-on-dlci2.json");
}

#[test]
fn telit_socket_errors_in_real_time() {
    replays_green_in_real_time("telit-socket-errors.json");
}

// Telit ATRUN, the application note's flows, over real PTYs, the control socket (SMS in and
// out) and the host's real sockets (a caller from 127.0.0.2 for the firewall). The client
// mode file waits a minute for its retry and stays on the virtual clock.

#[test]
fn telit_atrun_sms_simple_request_in_real_time() {
    replays_green_in_real_time("telit-atrun-sms-simple-request.json");
}

#[test]
fn telit_atrun_sms_hat_no_reply_in_real_time() {
    replays_green_in_real_time("telit-atrun-sms-hat-no-reply.json");
}

#[test]
fn telit_atrun_sms_digest_request_in_real_time() {
    replays_green_in_real_time("telit-atrun-sms-digest-request.json");
}

#[test]
fn telit_atrun_sms_gpio_in_real_time() {
    replays_green_in_real_time("telit-atrun-sms-gpio.json");
}

#[test]
fn telit_atrun_tcp_server_login_moni_in_real_time() {
    replays_green_in_real_time("telit-atrun-tcp-server-login-moni.json");
}

#[test]
fn telit_atrun_tcp_cmdseq_in_real_time() {
    replays_green_in_real_time("telit-atrun-tcp-cmdseq.json");
}

#[test]
fn telit_atrun_tcp_conser_bridge_in_real_time() {
    replays_green_in_real_time("telit-atrun-tcp-conser-bridge.json");
}

#[test]
fn telit_atrun_blocked_sms_lifted_by_tcp_in_real_time() {
    replays_green_in_real_time("telit-atrun-blocked-sms-lifted-by-tcp.json");
}

#[test]
fn telit_atrun_blocked_tcp_in_real_time() {
    replays_green_in_real_time("telit-atrun-blocked-tcp.json");
}
