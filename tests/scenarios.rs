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
}
