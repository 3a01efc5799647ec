//! Transparent data mode (`AT+CIPMODE=1`) against socat in the same run: throughput each way
//! between the PTY and a real loopback TCP socket (SHA-256 checked), and socket↔PTY latency.
//!
//! Two sides, each a PTY slave opened like a client (`O_RDWR | O_NOCTTY`, `cfmakeraw`) plus the
//! accepted end of a loopback TCP connection (a `TcpListener` on 127.0.0.1 in this process):
//!
//! - simodem: one SIM900 (`simodem::host::start`) on a tokio current-thread runtime in its own
//!   thread, as the binary runs it; the client sends the sequence of `tests/tcpip.rs`
//!   (`ATE0`, `AT+CIPMODE=1`, `AT+CIPCCFG=5,2,1024,1`, `AT+CSTT`, `AT+CIICR`, `AT+CIFSR`,
//!   `AT+CIPSTART="TCP","127.0.0.1",<port>`) and gets `CONNECT`;
//! - the baseline: `socat pty,raw,echo=0,link=<path> tcp:127.0.0.1:<port>`.
//!
//! The very same code drives both: a PTY fd in non-blocking mode (read/write, `poll` only when
//! the kernel says `EAGAIN`), a blocking `TcpStream`, 64 KiB chunks on every side.
//!
//! - Throughput: N MiB of pseudo-random bytes with runs of `+`, 0x1A and 0x1B, DTE→TCP, TCP→DTE
//!   and both at once, in rounds that alternate which side goes first; the bytes that arrived
//!   are checked by length and SHA-256 after the clock stopped. Each run also records the CPU
//!   time of the relay (simodem's runtime thread, or the socat process) from `schedstat`: per MB
//!   moved it is steadier than MB/s on a small, shared machine.
//! - Latency: one message at a time, written on one end and timed until all of it was read on
//!   the other, with the threads pinned (all on CPU 0; relay on CPU 1): unpinned, the figures
//!   jump between a same-CPU and a cross-CPU wake-up from run to run. DTE→TCP uses 1,024-byte
//!   messages: `+CIPCCFG` SendSz is 1,024, so a shorter message waits WaitTm (200 ms) before it
//!   is sent, by design (the module packs data the same way).
//!
//! `cargo bench --bench transparent` runs the full measurement and writes
//! `target/bench-transparent.json`; without `--bench` (as under `cargo test --all-targets`) it
//! runs a short smoke version. Environment: `SIMODEM_BENCH_MIB` (default 64),
//! `SIMODEM_BENCH_ROUNDS` (7), `SIMODEM_BENCH_SAMPLES` (latency samples per side and kind, 2000),
//! `SIMODEM_BENCH_PARTS` (`up,down,both,latency`), `SIMODEM_BENCH_THROUGHPUT_AT` (`free`) and
//! `SIMODEM_BENCH_LATENCY_AT` (`same,split`) from `free`/`same`/`split`, `SIMODEM_BENCH_SOCAT`
//! (`/usr/bin/socat`), `SIMODEM_BENCH_JSON` (where the results go).

mod common;

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::relay::{
    CHUNK, Endpoint, ModeResult, Payload, Placement, Plan, TARGET_RATIO, cell, json_path, loadavg,
    machine_busy_before, median, place, pty_read_exact, pty_write_all, sim900_transparent,
    socat_path, socat_version, summary_json, throughput, verdict,
};
use common::{Summary, affinity, cpu_model, kernel, summarize};

/// Where the sides are in every list of them.
const SIMODEM: usize = 0;
const SOCAT: usize = 1;

// ----- latency -----

#[derive(Clone, Copy)]
enum Hop {
    /// Written on the server socket, read on the PTY.
    Down,
    /// Written on the PTY, read on the server socket.
    Up,
}

struct LatencyKind {
    label: &'static str,
    key: &'static str,
    hop: Hop,
    size: usize,
}

const LATENCY_KINDS: [LatencyKind; 3] = [
    LatencyKind {
        label: "TCP→DTE 1 B",
        key: "tcp_to_dte_1",
        hop: Hop::Down,
        size: 1,
    },
    LatencyKind {
        label: "TCP→DTE 1024 B",
        key: "tcp_to_dte_1024",
        hop: Hop::Down,
        size: 1024,
    },
    LatencyKind {
        label: "DTE→TCP 1024 B",
        key: "dte_to_tcp_1024",
        hop: Hop::Up,
        size: 1024,
    },
];

/// `count` messages of `kind`, one at a time; the time from the write to the last byte read.
fn one_way(ep: &Endpoint, kind: &LatencyKind, count: usize) -> io::Result<Vec<Duration>> {
    // No escape character: a lone message after a pause must never look like `+++`.
    let message: Vec<u8> = (0..kind.size).map(|i| b'a' + (i % 26) as u8).collect();
    let mut got = vec![0u8; kind.size];
    let mut samples = Vec::with_capacity(count);
    for _ in 0..count {
        let start = Instant::now();
        match kind.hop {
            Hop::Down => {
                (&ep.peer).write_all(&message)?;
                pty_read_exact(ep.fd(), &mut got)?;
            }
            Hop::Up => {
                pty_write_all(ep.fd(), &message)?;
                (&ep.peer).read_exact(&mut got)?;
            }
        }
        samples.push(start.elapsed());
        if got != message {
            return Err(io::Error::other(format!(
                "{}: {} arrived changed",
                ep.name, kind.label
            )));
        }
    }
    Ok(samples)
}

struct LatencyRow {
    placement: Placement,
    kind: &'static LatencyKind,
    simodem: Summary,
    socat: Summary,
    samples: usize,
}

fn latency(
    plan: &Plan,
    sides: [&Endpoint; 2],
    all_cpus: &libc::cpu_set_t,
) -> io::Result<Vec<LatencyRow>> {
    let relays = sides.map(|s| s.relay);
    let per_round = plan.samples / plan.latency_rounds;
    let mut rows = Vec::new();
    if !plan.wants("latency") {
        return Ok(rows);
    }
    let runs = plan
        .latency_at
        .iter()
        .flat_map(|&placement| LATENCY_KINDS.iter().map(move |kind| (placement, kind)));
    for (placement, kind) in runs {
        place(placement, &relays, all_cpus)?;
        let (mut simodem, mut socat) = (Vec::new(), Vec::new());
        for side in sides {
            one_way(side, kind, plan.latency_warmup)?;
        }
        for round in 0..plan.latency_rounds {
            let order = if round % 2 == 0 {
                sides
            } else {
                [sides[1], sides[0]]
            };
            for side in order {
                let samples = one_way(side, kind, per_round)?;
                match side.name {
                    "simodem" => simodem.extend(samples),
                    _ => socat.extend(samples),
                }
            }
        }
        for side in sides {
            side.expect_quiet()?;
        }
        eprint!(".");
        rows.push(LatencyRow {
            placement,
            kind,
            samples: simodem.len(),
            simodem: summarize(&simodem),
            socat: summarize(&socat),
        });
    }
    place(Placement::Free, &relays, all_cpus)?;
    eprintln!();
    Ok(rows)
}

// ----- report -----

fn report(
    plan: &Plan,
    full: bool,
    socat_version: &str,
    results: &[ModeResult],
    latencies: &[LatencyRow],
    load: (String, String),
    busy_before: Option<f64>,
) -> Value {
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!();
    println!(
        "Transparent data mode vs socat{}: {} MiB per run, {} round(s) per direction (alternating \
         order), {} KiB chunks; nproc={nproc}, {}, {}; {socat_version}",
        if full {
            ""
        } else {
            " (smoke run; use cargo bench)"
        },
        plan.mib,
        plan.rounds,
        CHUNK / 1024,
        cpu_model(),
        kernel(),
    );
    println!(
        "{:<24} {:>26} {:>26} {:>8}",
        "MB/s, median [min–max]", "simodem", "socat", "ratio"
    );
    let mut throughput_json = Vec::new();
    let mut shown = None;
    for result in results {
        if shown != Some(result.placement) {
            shown = Some(result.placement);
            println!("  {}:", result.placement.describe());
        }
        for (rates, direction, key) in [
            (&result.up, "DTE→TCP", "dte_to_tcp"),
            (&result.down, "TCP→DTE", "tcp_to_dte"),
        ] {
            let Some(rates) = rates else { continue };
            let (sim, soc) = (median(&rates[SIMODEM]), median(&rates[SOCAT]));
            let ratio = sim / soc;
            let label = if result.key == "both" {
                format!("{}: {direction}", result.label)
            } else {
                direction.to_string()
            };
            println!(
                "{label:<24} {:>26} {:>26} {ratio:>7.3}x {}",
                cell(&rates[SIMODEM]),
                cell(&rates[SOCAT]),
                verdict(ratio)
            );
            throughput_json.push(json!({
                "placement": result.placement.key(),
                "run": result.key,
                "direction": key,
                "simodem_mb_s": rates[SIMODEM],
                "socat_mb_s": rates[SOCAT],
                "simodem_median_mb_s": sim,
                "socat_median_mb_s": soc,
                "ratio": ratio,
                "target_met": ratio >= TARGET_RATIO,
            }));
        }
    }
    println!(
        "target: simodem / socat ≥ {TARGET_RATIO}x (MB = 10^6 bytes; SHA-256 checked every run)"
    );
    println!();
    println!(
        "{:<24} {:>26} {:>26} {:>8}",
        "relay CPU µs per MB", "simodem", "socat", "ratio"
    );
    let mut cpu_json = Vec::new();
    let mut shown = None;
    for result in results {
        if shown != Some(result.placement) {
            shown = Some(result.placement);
            println!("  {}:", result.placement.describe());
        }
        let (sim, soc) = (median(&result.cpu[SIMODEM]), median(&result.cpu[SOCAT]));
        println!(
            "{:<24} {:>26} {:>26} {:>7.3}x",
            result.label,
            cell(&result.cpu[SIMODEM]),
            cell(&result.cpu[SOCAT]),
            sim / soc
        );
        cpu_json.push(json!({
            "placement": result.placement.key(),
            "run": result.key,
            "simodem_us_per_mb": result.cpu[SIMODEM],
            "socat_us_per_mb": result.cpu[SOCAT],
            "simodem_median_us_per_mb": sim,
            "socat_median_us_per_mb": soc,
        }));
    }
    println!();
    println!(
        "Latency, one message at a time, {} samples per side ({} alternating rounds)",
        latencies.first().map_or(0, |l| l.samples),
        plan.latency_rounds
    );
    println!(
        "{:<16} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8}",
        "µs",
        "sim p50",
        "sim p99",
        "sim max",
        "socat p50",
        "socat p99",
        "socat max",
        "p50 ×",
        "p99 ×"
    );
    let mut latency_json = Vec::new();
    let mut shown = None;
    for row in latencies {
        if shown != Some(row.placement) {
            shown = Some(row.placement);
            println!("  {}:", row.placement.describe());
        }
        let (s, b) = (&row.simodem, &row.socat);
        println!(
            "{:<16} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>7.2}x {:>7.2}x",
            row.kind.label,
            s.p50,
            s.p99,
            s.max,
            b.p50,
            b.p99,
            b.max,
            s.p50 / b.p50,
            s.p99 / b.p99
        );
        latency_json.push(json!({
            "placement": row.placement.key(),
            "kind": row.kind.key,
            "bytes": row.kind.size,
            "samples": row.samples,
            "simodem": summary_json(s),
            "socat": summary_json(b),
            "ratio_p50": s.p50 / b.p50,
            "ratio_p99": s.p99 / b.p99,
        }));
    }
    println!(
        "machine busy in the 1 s before the runs: {}; /proc/loadavg before: {}; after: {}",
        busy_before.map_or("?".into(), |b| format!("{b:.0}%")),
        load.0,
        load.1
    );
    json!({
        "bench": "transparent",
        "full": full,
        "mib": plan.mib,
        "rounds": plan.rounds,
        "chunk_bytes": CHUNK,
        "nproc": nproc,
        "cpu": cpu_model(),
        "kernel": kernel(),
        "socat": socat_version,
        "unix_time": std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        "machine_busy_before_percent": busy_before,
        "loadavg_before": load.0,
        "loadavg_after": load.1,
        "throughput": throughput_json,
        "relay_cpu": cpu_json,
        "latency": latency_json,
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let full = std::env::args().any(|a| a == "--bench");
    let plan = Plan::new(full, 64, 7)?;
    let socat = socat_path();
    if !socat.exists() {
        if !full && std::env::var("SIMODEM_SKIP_REAL_CLIENTS").is_ok_and(|v| v == "1") {
            eprintln!(
                "NOTICE: {} is not installed; smoke run skipped",
                socat.display()
            );
            return Ok(());
        }
        return Err(format!(
            "{} is not installed (apt-get install socat, or set SIMODEM_BENCH_SOCAT)",
            socat.display()
        )
        .into());
    }
    let version = socat_version(&socat);
    let dir =
        std::env::temp_dir().join(format!("simodem-bench-transparent-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;

    let result = (|| -> Result<Value, Box<dyn std::error::Error>> {
        let lengths = [plan.mib << 20, plan.warmup_mib << 20];
        let up = Payload::new(&lengths, 1, None);
        let down = Payload::new(&lengths, 2, None);
        let simodem = sim900_transparent(&dir)?;
        let baseline = Endpoint::socat(&dir, &socat)?;
        let sides = [&simodem, &baseline];
        let busy = machine_busy_before();
        let load_before = loadavg();
        let all_cpus = affinity()?;
        let results = throughput(
            &plan,
            &sides,
            &all_cpus,
            (lengths[0], lengths[1]),
            &up,
            &down,
        )?;
        let latencies = latency(&plan, sides, &all_cpus)?;
        let load = (load_before, loadavg());
        Ok(report(
            &plan, full, &version, &results, &latencies, load, busy,
        ))
        // Both sides drop here: simodem stops, socat is killed.
    })();
    let _ = std::fs::remove_dir_all(&dir);
    let results = result?;
    if full {
        let path = json_path("bench-transparent.json");
        std::fs::write(&path, serde_json::to_string_pretty(&results)? + "\n")
            .map_err(|e| format!("{}: {e}", path.display()))?;
        println!("results: {}", path.display());
    }
    Ok(())
}
