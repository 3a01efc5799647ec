//! SMS throughput and latency from one modem to another through the full AT path, over the real
//! PTYs of a `simodem run --config` world (the release binary, as a user runs it) whose network
//! delivers at once (`"sms_delay_ms": 0`).
//!
//! One message, for a pair of modems (A sends, B receives), both in text mode:
//!   A: `AT+CMGS="<B>"\r` → `\r\n> ` → `<text>\x1a` → … `\r\n+CMGS: <mr>\r\n\r\nOK\r\n`
//!   B: `\r\n+CMTI: "SM",<i>\r\n` → `AT+CMGR=<i>\r` → the record with A's number and the text →
//!      `AT+CMGD=<i>\r` → `\r\nOK\r\n`
//! The sender sends the next message once it has its `OK`. The SIM900 profile answers `+CMGS:`
//! only after about 1 s of modelled network acknowledgement, so one pair is bound to about one
//! message a second; the bench therefore runs 1, 4 and 16 pairs at once (one world of 2, 8, 32
//! modems; a thread per modem) and reports the aggregate rate.
//!
//! Per message it reports two latencies: **delivery** — from A writing `AT+CMGS` to B's `OK` after
//! `AT+CMGD` (the message went through the network and was read and deleted at B), and **send
//! cycle** — from A writing `AT+CMGS` to A's final `OK`. Every answer is checked byte for byte
//! (timestamps by their shape); a benchmark reports numbers and asserts nothing else.
//!
//! `cargo bench --bench sms` runs the full measurement; without `--bench` (as under
//! `cargo test --all-targets`) it runs a short smoke version.

mod common;

use std::thread;
use std::time::Duration;

use common::sms::{FULL, SMOKE, run_pairs};
use common::{cpu_model, kernel, micros, percentile};

fn millis(d: Duration) -> f64 {
    micros(d) / 1000.0
}

fn machine() -> String {
    let nproc = thread::available_parallelism().map_or(0, |n| n.get());
    format!("nproc={nproc}, {}, {}", cpu_model(), kernel())
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let plan = if full { FULL } else { SMOKE };
    println!();
    println!(
        "SMS through the full AT path{}: {}",
        if full {
            ""
        } else {
            " (smoke run; use cargo bench)"
        },
        machine()
    );
    println!(
        "text mode; sms_delay_ms 0; ack: the network's acknowledgement (model 1000 ms, or the \
         world's sms_ack_ms 0); latencies in ms"
    );
    println!(
        "{:>6} {:>5} {:>8} {:>8} {:>8} {:>14} {:>12} {:>12} {:>12} {:>12}",
        "ack ms",
        "pairs",
        "modems",
        "messages",
        "wall s",
        "SMS/s (total)",
        "deliv p50",
        "deliv p99",
        "cycle p50",
        "cycle p99"
    );
    let dir = std::env::temp_dir().join(format!("simodem-bench-sms-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let mut failed = false;
    let runs = [
        (None, plan.messages_per_pair),
        (Some(0), plan.messages_per_pair_unpaced),
    ];
    for (ack_ms, messages) in runs {
        for &pairs in plan.pairs {
            match run_pairs(&dir, pairs, messages, ack_ms) {
                Ok(o) => println!(
                    "{:>6} {:>5} {:>8} {:>8} {:>8.2} {:>14.2} {:>12.2} {:>12.2} {:>12.1} {:>12.1}",
                    ack_ms.map_or("1000".to_string(), |ms| ms.to_string()),
                    o.pairs,
                    2 * o.pairs,
                    o.messages,
                    o.wall.as_secs_f64(),
                    o.messages as f64 / o.wall.as_secs_f64(),
                    millis(percentile(&o.delivery, 50.0)),
                    millis(percentile(&o.delivery, 99.0)),
                    millis(percentile(&o.cycle, 50.0)),
                    millis(percentile(&o.cycle, 99.0)),
                ),
                Err(e) => {
                    println!("{pairs:>5} pairs FAILED: {e}");
                    failed = true;
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    if failed {
        std::process::exit(1);
    }
}
