//! Round-trip latency through the PTY: `AT\r` → `\r\nOK\r\n` from simodem, measured side by side
//! with a bare PTY echo (the floor any PTY-hosted emulator sits on) in the same run.
//!
//! Both sides are driven by the same client code: the slave opened with `O_RDWR | O_NOCTTY`,
//! raw termios (`cfmakeraw`), one `write` of the command, blocking `read`s until the whole answer
//! arrived. The baseline is an OS thread echoing every byte it reads on a `libc::openpty` master;
//! simodem runs `simodem::host::start` on a tokio current-thread runtime in its own thread, as
//! the binary does. The two are measured in alternating rounds so machine noise hits both alike.
//!
//! Round trips this short are dominated by wake-ups (client → tty kworker → server → kworker →
//! client), so the result depends on the scheduler keeping that chain on one CPU; where waking an
//! idle CPU is dear (VMs: an IPI and a halted vCPU) a few extra syscalls or spurious wake-ups on
//! the server side show up as multiples, not percents.
//!
//! `cargo bench --bench roundtrip` runs the full measurement; without `--bench` (as under
//! `cargo test --all-targets`) it runs a short smoke version.

mod common;

use common::pty_rtt::{self, TARGET_P50, TARGET_P99};
use common::{kernel, micros, summarize};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let full = std::env::args().any(|a| a == "--bench");
    let plan = if full { pty_rtt::FULL } else { pty_rtt::SMOKE };
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());

    let measured = pty_rtt::measure(&plan)?;
    let base = summarize(&measured.baseline);
    let emu = summarize(&measured.modem);
    let ratio_p50 = emu.p50 / base.p50;
    let ratio_p99 = emu.p99 / base.p99;
    let verdict = |ratio: f64, target: f64| if ratio <= target { "ok" } else { "MISSED" };

    println!();
    println!(
        "PTY round trip{}: nproc={nproc} ({}), {} samples per side ({} alternating rounds of {}, \
         after {} warm-up)",
        if full {
            ""
        } else {
            " (smoke run; use cargo bench)"
        },
        kernel(),
        measured.baseline.len(),
        plan.rounds,
        plan.per_round,
        plan.warmup
    );
    println!(
        "{:<36} {:>9} {:>9} {:>9} {:>9}",
        "µs", "mean", "p50", "p99", "max"
    );
    for (label, s) in [
        ("baseline: bare echo  AT\\r → AT\\r", &base),
        ("simodem:  AT\\r → \\r\\nOK\\r\\n", &emu),
    ] {
        println!(
            "{label:<36} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
            s.mean, s.p50, s.p99, s.max
        );
    }
    println!(
        "{:<36} {:>8.2}x {:>8.2}x {:>8.2}x",
        "ratio simodem / baseline",
        emu.mean / base.mean,
        ratio_p50,
        ratio_p99
    );
    println!(
        "target p50 ≤ {TARGET_P50}x: {}, p99 ≤ {TARGET_P99}x: {}",
        verdict(ratio_p50, TARGET_P50),
        verdict(ratio_p99, TARGET_P99)
    );
    let per_round: Vec<String> = measured
        .baseline_round_p50
        .iter()
        .zip(&measured.modem_round_p50)
        .map(|(b, m)| format!("{:.2}", micros(*m) / micros(*b)))
        .collect();
    println!("p50 ratio per round: {}", per_round.join(" "));

    Ok(())
}
