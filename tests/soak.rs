//! `simodem soak` through the binary: a short soak of four modems passes every check and prints
//! its summary; bad options are exit 2. (CI also runs a 1-minute soak: `.ci/run`.)

use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_simodem");

#[test]
fn a_short_soak_passes_and_prints_its_summary() {
    // 9 s of activities, then the drain and the checks: about 15 s in all.
    let output = Command::new(BIN)
        .args(["soak", "--minutes", "0.15", "--modems", "4", "--seed", "8"])
        .stdin(Stdio::null())
        .output()
        .expect("run simodem soak");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout
            .starts_with("simodem soak: 4 modems (2 SIM900, 2 Telit), 9 s of activities, seed 8\n"),
        "{stdout}"
    );
    for line in [
        "every confirmed SMS arrived exactly once",
        "no refused, stray or unresolved SMS arrived",
        "every TCP byte accounted for",
        "no unexpected answer from a modem",
        "no panic",
        "fds: end <= warm-up + slack, none left after stop",
        "RSS: end <= warm-up * 1.25 + 16 MiB",
        "threads and echo connections: none left over",
    ] {
        let row = stdout
            .lines()
            .find(|l| l.trim_start().starts_with(line))
            .unwrap_or_else(|| panic!("no check {line:?} in\n{stdout}"));
        assert!(row.contains(" ok "), "{row}");
    }
    let count = |name: &str| -> u64 {
        stdout
            .lines()
            .find_map(|l| l.trim_start().strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no count {name:?} in\n{stdout}"))
    };
    // Both kinds of traffic happened and every confirmed SMS was read.
    assert!(count("SMS confirmed (+CMGS)") > 0, "{stdout}");
    assert!(count("TCP sessions ended cleanly") > 0, "{stdout}");
    assert!(count("TCP bytes read back and compared") > 0, "{stdout}");
    assert!(stdout.ends_with("soak: PASS\n"), "{stdout}");
}

#[test]
fn bad_soak_options_are_exit_2() {
    for args in [
        &["soak"][..],
        &["soak", "--minutes", "0"],
        &["soak", "--minutes", "x"],
        &["soak", "--minutes", "1", "--modems", "1"],
    ] {
        let output = Command::new(BIN)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run simodem soak");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
    }
}
