//! How a replay is told: one `ok` line per scenario, or the failing step with expected and actual
//! bytes, where they differ, and the modem's recent transcript; plus a JUnit XML report for CI.

use std::fmt::Write;

use super::Scenario;
use super::run::{Outcome, What, format_ms};
use crate::dte::escape_into;

/// Bytes as the transcript shows them: printable ASCII as is, `\r`, `\n`, `\\`, else `\xNN`.
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len());
    escape_into(bytes, &mut text);
    text
}

/// Transcript lines shown with a failure.
const TRANSCRIPT_TAIL: usize = 12;

/// The text `simodem replay` prints for one scenario.
pub fn describe(scenario: &Scenario, outcome: &Outcome, wall_ms: f64) -> String {
    let path = scenario.path.display();
    let Some(failure) = &outcome.failure else {
        return format!(
            "ok    {path}: {} steps, {} ms of modem time in {wall_ms:.1} ms{}\n",
            outcome.steps_run,
            format_ms(outcome.ended.0),
            description_suffix(scenario)
        );
    };
    let mut text = String::new();
    let whose = match &failure.peer {
        Some(peer) => format!("peer {peer}"),
        None => format!("modem {}", failure.modem),
    };
    let _ = writeln!(
        text,
        "FAIL  {path}:{}: step {} ({}, {whose}){}",
        failure.line,
        failure.step + 1,
        failure.action,
        description_suffix(scenario)
    );
    let _ = writeln!(
        text,
        "      {} (step began at {} ms, failed at {} ms)",
        failure.reason,
        format_ms(failure.started.0),
        format_ms(failure.at.0)
    );
    if let (Some(expected), Some(actual)) = (&failure.expected, &failure.actual) {
        let _ = writeln!(text, "      expected: \"{}\"", escape_bytes(expected));
        let _ = writeln!(text, "      actual:   \"{}\"", escape_bytes(actual));
        if let Some(at) = expected.iter().zip(actual.iter()).position(|(a, b)| a != b) {
            let column = escape_bytes(&expected[..at]).len();
            let _ = writeln!(
                text,
                "                 {}^ first difference at byte {at}",
                " ".repeat(column)
            );
        }
    }
    // The network is shared by every modem: its lines go with any modem's transcript.
    let lines: Vec<_> = outcome
        .happenings
        .iter()
        .filter(|h| h.modem == failure.modem || h.what.is_network())
        .collect();
    let skip = lines.len().saturating_sub(TRANSCRIPT_TAIL);
    let and_network = if lines[skip..].iter().any(|h| h.what.is_network()) {
        " and the network"
    } else {
        ""
    };
    let _ = writeln!(
        text,
        "      transcript of modem {}{and_network} (last {} events):",
        failure.modem,
        lines.len() - skip
    );
    for happening in &lines[skip..] {
        let line = match &happening.what {
            What::Sent(bytes) => format!("→ \"{}\"", escape_bytes(bytes)),
            What::Received(bytes) => format!("← \"{}\"", escape_bytes(bytes)),
            What::InstanceSent(instance, bytes) => {
                format!("→[{instance}] \"{}\"", escape_bytes(bytes))
            }
            What::InstanceReceived(instance, bytes) => {
                format!("←[{instance}] \"{}\"", escape_bytes(bytes))
            }
            What::Why(reason) => format!("why {reason}"),
            What::Step(step) => format!("step {step}"),
            What::PeerSent { peer, bytes } => format!("{peer} ⇒ \"{}\"", escape_bytes(bytes)),
            What::PeerReceived { peer, bytes } => {
                format!("{peer} ⇐ \"{}\"", escape_bytes(bytes))
            }
            What::Net(event) => format!("net {event}"),
        };
        let _ = writeln!(text, "      {:>10} ms {line}", format_ms(happening.at.0));
    }
    text
}

fn description_suffix(scenario: &Scenario) -> String {
    if scenario.description.is_empty() {
        String::new()
    } else {
        format!(" — {}", scenario.description)
    }
}

/// A JUnit XML report: one test case per scenario.
pub fn junit(results: &[(&Scenario, &Outcome, f64, String)]) -> String {
    let failures = results
        .iter()
        .filter(|(_, outcome, _, _)| outcome.failure.is_some())
        .count();
    let total_s: f64 = results.iter().map(|(_, _, wall, _)| wall / 1000.0).sum();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites tests=\"{}\" failures=\"{failures}\" time=\"{total_s:.3}\">",
        results.len()
    );
    let _ = writeln!(
        xml,
        "  <testsuite name=\"simodem replay\" tests=\"{}\" failures=\"{failures}\" time=\"{total_s:.3}\">",
        results.len()
    );
    for (scenario, outcome, wall_ms, text) in results {
        let name = if scenario.description.is_empty() {
            scenario.path.display().to_string()
        } else {
            scenario.description.clone()
        };
        let _ = write!(
            xml,
            "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
            xml_escape(&scenario.path.display().to_string()),
            xml_escape(&name),
            wall_ms / 1000.0
        );
        match &outcome.failure {
            None => xml.push_str("/>\n"),
            Some(failure) => {
                let _ = writeln!(
                    xml,
                    ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                    xml_escape(&format!(
                        "line {}: step {} {}{}: {}",
                        failure.line,
                        failure.step + 1,
                        failure.action,
                        failure
                            .peer
                            .as_ref()
                            .map(|peer| format!(" (peer {peer})"))
                            .unwrap_or_default(),
                        failure.reason
                    )),
                    xml_escape(text)
                );
            }
        }
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 cannot carry other control characters at all.
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => out.push('?'),
            c => out.push(c),
        }
    }
    out
}
