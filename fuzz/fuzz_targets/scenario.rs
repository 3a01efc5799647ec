#![no_main]
//! Fuzz target: the scenario file parser (`Scenario::parse`) on any text. Checks no panic and
//! that every error names the file and a line, as the runner prints it.

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use simodem::scenario::Scenario;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Err(e) = Scenario::parse(Path::new("fuzz.json"), &text) {
        let line = e
            .strip_prefix("fuzz.json:")
            .and_then(|rest| rest.split_once(':'))
            .map(|(line, _)| line.parse::<usize>());
        assert!(
            matches!(line, Some(Ok(n)) if n >= 1),
            "error without file and line: {e}"
        );
    }
});
