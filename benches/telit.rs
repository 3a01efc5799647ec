//! Telit IP Easy online mode (`AT#SD=…,0,…` → `CONNECT`) against socat in the same run, on the
//! plain port and through CMUX: throughput each way between the PTY and a real loopback TCP
//! socket (length and SHA-256 checked), and the `AT\r` → `OK` round trip plain and on DLCI 1.
//!
//! Five sides, each a PTY slave opened like a client (`O_RDWR | O_NOCTTY`, `cfmakeraw`) plus the
//! accepted end of a loopback TCP connection (a `TcpListener` on 127.0.0.1 in this process):
//!
//! - `online-300` and `online-1500`: one Telit each (`simodem::host::start` with the Telit
//!   profile, as `simodem run --model telit` runs it: a tokio current-thread runtime in its own
//!   thread); the client sends `ATE0`, waits for `+CREG: 0,1`, then `AT#SGACT=1,1` and
//!   `AT#SD=1,0,<port>,"127.0.0.1"` and gets `CONNECT`. `online-300` keeps the factory
//!   `#SCFG` (pktSz 300, maxTo 90 s, connTo 60 s, txTo 5 s); `online-1500` first sends
//!   `AT#SCFG=1,1,1500,90,600,1` (pktSz 1500, txTo 100 ms);
//! - `cmux-300` and `cmux-1500`: the same, but after `ATE0` the client sends `AT+CMUX=0`, SABM
//!   on DLCI 0 and 1, and everything after that (`#SCFG`, `#SGACT`, `#SD`, the bulk data) travels
//!   in UIH frames of at most N1 = 128 bytes on DLCI 1, both ways;
//! - the baseline: `socat pty,raw,echo=0,link=<path> tcp:127.0.0.1:<port>`.
//!
//! The very same code drives every side (`common::relay`): a PTY fd in non-blocking mode, a
//! blocking `TcpStream`, 64 KiB chunks. The DTE→TCP bytes of a CMUX side are cut into frames
//! before the clock starts; of its TCP→DTE frames only the headers are read while the clock runs
//! (to see the last payload byte), and they are taken apart after it stopped (every frame must
//! be a UIH frame on DLCI 1). A run moves a whole number of 1,500-byte packets, so no byte waits
//! for txTo at the end of a run. Last, the emulator core alone: the same four set-ups driven
//! through `Modem::handle` on a virtual clock (no PTY, socket or runtime), µs per MB each way.
//!
//! `cargo bench --bench telit` runs the full measurement and writes `target/bench-telit.json`;
//! without `--bench` (as under `cargo test --all-targets`) it runs a short smoke version. Without
//! socat it says so and measures nothing. Environment as `benches/transparent.rs`:
//! `SIMODEM_BENCH_MIB` (default 32), `SIMODEM_BENCH_ROUNDS` (7), `SIMODEM_BENCH_SAMPLES` (AT round
//! trips per side, 2000), `SIMODEM_BENCH_PARTS` (`up,down,both,latency`),
//! `SIMODEM_BENCH_THROUGHPUT_AT` (`free`) and `SIMODEM_BENCH_LATENCY_AT` (`same,split`),
//! `SIMODEM_BENCH_SOCAT` (`/usr/bin/socat`), `SIMODEM_BENCH_JSON` (where the results go).

mod common;

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use simodem::cmux::{Deframer, FLAG, Kind, TELIT_N1, client_sabm, client_uih};
use simodem::modem::profile::TELIT;
use simodem::modem::{
    Input, Instant as ModemInstant, Modem, ModemConfig, Output, SocketCommand, SocketEvent,
    SocketId,
};

use common::relay::{
    CHUNK, Endpoint, ModeResult, Payload, PerSide, Placement, Plan, TARGET_RATIO, Wire, cell,
    json_path, loadavg, machine_busy_before, median, place, socat_path, socat_version,
    summary_json, throughput, verdict,
};
use common::telit::{
    CMUX_300, CMUX_1500, DLCI, ONLINE_300, ONLINE_1500, RUN_MULTIPLE, SOCAT, Telit, VARIANTS,
    Variant,
};
use common::{Summary, affinity, cpu_model, kernel, micros, summarize};

// ----- the AT round trip, plain and on DLCI 1 -----

/// `count` round trips of `AT\r` → `\r\nOK\r\n` on `telit`'s channel (the frame around each under
/// CMUX); only the write and the read of the answer's bytes are timed, the answer is checked
/// after.
fn at_round_trips(telit: &Telit, count: usize) -> io::Result<Vec<Duration>> {
    const OK: &[u8] = b"\r\nOK\r\n";
    let (command, answer_len) = match telit.dte.wire {
        Wire::Raw => (b"AT\r".to_vec(), OK.len()),
        // One frame: flag, address, control, one length octet, the text, FCS, flag.
        Wire::Cmux { dlci } => (client_uih(dlci, b"AT\r"), OK.len() + 6),
    };
    let mut answer = vec![0u8; answer_len];
    let mut samples = Vec::with_capacity(count);
    for _ in 0..count {
        samples.push(telit.dte.pty.round_trip(&command, &mut answer)?);
        let good = match telit.dte.wire {
            Wire::Raw => answer == OK,
            Wire::Cmux { dlci } => {
                let mut deframer = Deframer::new(TELIT_N1);
                let frames = deframer.frames(&answer);
                deframer.take_buffered().iter().all(|&b| b == FLAG)
                    && matches!(&frames[..], [f] if f.dlci == dlci && f.kind == Kind::Uih && f.info == OK)
            }
        };
        if !good {
            return Err(io::Error::other(format!(
                "{}: AT answered {:?}",
                telit.variant.name,
                String::from_utf8_lossy(&answer)
            )));
        }
    }
    Ok(samples)
}

struct AtRow {
    placement: Placement,
    plain: Summary,
    mux: Summary,
    samples: usize,
}

/// Alternating rounds of round trips on the plain port of one Telit and on DLCI 1 of another,
/// at each placement of the plan (relay: the modem's runtime thread).
fn at_latency(
    plan: &Plan,
    plain: &Telit,
    mux: &Telit,
    all_cpus: &libc::cpu_set_t,
) -> io::Result<Vec<AtRow>> {
    let mut rows = Vec::new();
    if !plan.wants("latency") {
        return Ok(rows);
    }
    let relays = [plain.emulator.tid, mux.emulator.tid];
    let per_round = plan.samples / plan.latency_rounds;
    for &placement in &plan.latency_at {
        place(placement, &relays, all_cpus)?;
        let (mut on_plain, mut on_mux) = (Vec::new(), Vec::new());
        at_round_trips(plain, plan.latency_warmup)?;
        at_round_trips(mux, plan.latency_warmup)?;
        for round in 0..plan.latency_rounds {
            if round % 2 == 0 {
                on_plain.extend(at_round_trips(plain, per_round)?);
                on_mux.extend(at_round_trips(mux, per_round)?);
            } else {
                on_mux.extend(at_round_trips(mux, per_round)?);
                on_plain.extend(at_round_trips(plain, per_round)?);
            }
        }
        eprint!(".");
        rows.push(AtRow {
            placement,
            samples: on_plain.len(),
            plain: summarize(&on_plain),
            mux: summarize(&on_mux),
        });
    }
    place(Placement::Free, &relays, all_cpus)?;
    eprintln!();
    Ok(rows)
}

// ----- the emulator core alone -----

/// A Telit core (`simodem::modem::Modem`) driven on a virtual clock as the host drives it, but
/// with no PTY, socket or runtime: what the modem's own work costs per byte, per variant.
struct Core {
    modem: Modem,
    now: ModemInstant,
    wire: Wire,
    socket: SocketId,
}

/// What one input made the core do: bytes for the client, bytes for the peer.
#[derive(Default)]
struct CoreOut {
    dte: Vec<u8>,
    sent: Vec<u8>,
    commands: Vec<(SocketId, SocketCommand)>,
}

impl Core {
    fn feed(&mut self, input: Input, out: &mut CoreOut) {
        self.modem.handle(self.now, input);
        while self.modem.next_deadline().is_some_and(|at| at <= self.now) {
            self.modem.handle(self.now, Input::Timer);
        }
        while let Some(output) = self.modem.poll_output() {
            match output {
                Output::Dte(bytes) => out.dte.extend_from_slice(&bytes),
                Output::Socket(id, SocketCommand::Send(bytes)) => {
                    out.sent.extend_from_slice(&bytes);
                    // The host reports every send handed to the kernel.
                    self.modem
                        .handle(self.now, Input::Socket(id, SocketEvent::Sent(bytes.len())));
                }
                Output::Socket(id, command) => out.commands.push((id, command)),
                _ => {}
            }
        }
    }

    /// A command line on the variant's channel; returns what the client read (unframed).
    fn at(&mut self, line: &str) -> Result<String, String> {
        let bytes = match self.wire {
            Wire::Raw => line.as_bytes().to_vec(),
            Wire::Cmux { dlci } => client_uih(dlci, line.as_bytes()),
        };
        let mut out = CoreOut::default();
        self.feed(Input::Dte(bytes), &mut out);
        let mut text = self.unframe(&out.dte);
        if !out.commands.is_empty() {
            // #SD: the host connects, the modem answers CONNECT.
            let (id, _) = out.commands[0];
            self.socket = id;
            let local = "127.0.0.1:40000".parse().expect("address");
            let peer = "127.0.0.1:40001".parse().expect("address");
            let mut connected = CoreOut::default();
            self.feed(
                Input::Socket(id, SocketEvent::Connected { local, peer }),
                &mut connected,
            );
            text.extend(self.unframe(&connected.dte));
        }
        Ok(String::from_utf8_lossy(&text).into_owned())
    }

    /// What the client reads in `bytes`: themselves, or what UIH frames on the DLCI carry.
    fn unframe(&self, bytes: &[u8]) -> Vec<u8> {
        match self.wire {
            Wire::Raw => bytes.to_vec(),
            Wire::Cmux { dlci } => Deframer::new(TELIT_N1)
                .frames(bytes)
                .into_iter()
                .filter(|f| f.dlci == dlci && f.kind == Kind::Uih)
                .flat_map(|f| f.info)
                .collect(),
        }
    }

    /// A booted Telit online on socket 1 as `variant` sets it up.
    fn online(variant: &Variant) -> Result<Core, String> {
        let mut core = Core {
            modem: Modem::new(ModemConfig::new(&TELIT), ModemInstant(0)),
            now: ModemInstant(0),
            wire: Wire::Raw,
            socket: SocketId(0),
        };
        let mut out = CoreOut::default();
        core.feed(Input::DteOpened, &mut out);
        core.now = ModemInstant::from_millis(2000);
        core.feed(Input::Timer, &mut out);
        core.at("ATE0\r")?;
        if let Wire::Cmux { dlci } = variant.wire {
            core.at("AT+CMUX=0\r")?;
            core.feed(Input::Dte(client_sabm(0)), &mut out);
            core.feed(Input::Dte(client_sabm(dlci)), &mut out);
            core.wire = variant.wire;
        }
        if let Some(scfg) = variant.scfg {
            core.at(scfg)?;
        }
        core.at("AT#SGACT=1,1\r")?;
        let connect = core.at("AT#SD=1,0,40001,\"127.0.0.1\"\r")?;
        if connect != "\r\nCONNECT\r\n" {
            return Err(format!("core {}: #SD answered {connect:?}", variant.name));
        }
        Ok(core)
    }

    /// Client bytes as `read`-sized reads of the PTY; returns the time and what the peer got.
    /// The clock moves as if the bytes came at 100 MB/s (no txTo or guard time passes).
    /// `out` is cleared first (reused so that no pass pays for fresh pages).
    fn up(&mut self, wire: &[u8], read: usize, out: &mut CoreOut) -> Duration {
        out.sent.clear();
        let start = Instant::now();
        for chunk in wire.chunks(read) {
            self.now = ModemInstant(self.now.0 + chunk.len() as u64 / 100);
            self.feed(Input::Dte(chunk.to_vec()), out);
        }
        start.elapsed()
    }

    /// Peer bytes as `read`-sized socket reads; returns the time and what the client got.
    fn down(&mut self, payload: &[u8], read: usize, out: &mut CoreOut) -> Duration {
        out.dte.clear();
        let start = Instant::now();
        for chunk in payload.chunks(read) {
            self.now = ModemInstant(self.now.0 + chunk.len() as u64 / 100);
            self.feed(
                Input::Socket(self.socket, SocketEvent::Data(chunk.to_vec())),
                out,
            );
        }
        start.elapsed()
    }
}

/// Core µs per MB of payload, DTE→TCP (4 KiB PTY reads) and TCP→DTE (64 KiB socket reads),
/// per variant: the best of three passes over `payload`, every pass checked.
fn core_costs(up: &Payload, down: &Payload, len: usize) -> Result<Vec<(f64, f64)>, String> {
    let mut costs = Vec::new();
    for variant in &VARIANTS {
        let mut core = Core::online(variant)?;
        let (mut best_up, mut best_down) = (Duration::MAX, Duration::MAX);
        let mut out = CoreOut {
            dte: Vec::with_capacity(len + len / 16),
            sent: Vec::with_capacity(len),
            commands: Vec::new(),
        };
        for _ in 0..3 {
            let wire = up.wire(variant.wire, len);
            best_up = best_up.min(core.up(wire, 4096, &mut out));
            if out.sent != up.bytes[..len] || !out.commands.is_empty() {
                return Err(format!("core {}: DTE→TCP bytes differ", variant.name));
            }
            best_down = best_down.min(core.down(&down.bytes[..len], 64 * 1024, &mut out));
            if core.unframe(&out.dte) != down.bytes[..len] {
                return Err(format!("core {}: TCP→DTE bytes differ", variant.name));
            }
        }
        let per_mb = |took: Duration| micros(took) / (len as f64 / 1e6);
        costs.push((per_mb(best_up), per_mb(best_down)));
    }
    Ok(costs)
}

// ----- report -----

struct Measured {
    /// What `AT#SCFG?` said of socket 1 on each simodem side.
    scfg: Vec<String>,
    results: Vec<ModeResult>,
    at: Vec<AtRow>,
    /// The core alone: µs per MB DTE→TCP and TCP→DTE, per simodem side.
    core: Vec<(f64, f64)>,
    len: usize,
    busy_before: Option<f64>,
    load: (String, String),
}

/// The rows of one kind of run: (label, direction key, MB/s per side, wire bytes per payload
/// byte per side).
fn directions(result: &ModeResult) -> Vec<(String, &'static str, &PerSide, &PerSide)> {
    let mut rows = Vec::new();
    for (rates, wire, direction, key) in [
        (&result.up, &result.wire_up, "DTE→TCP", "dte_to_tcp"),
        (&result.down, &result.wire_down, "TCP→DTE", "tcp_to_dte"),
    ] {
        let Some(rates) = rates else { continue };
        let label = if result.key == "both" {
            format!("{}: {direction}", result.label)
        } else {
            direction.to_string()
        };
        rows.push((label, key, rates, wire));
    }
    rows
}

fn report(plan: &Plan, full: bool, socat_version: &str, m: &Measured) -> Value {
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!();
    println!(
        "Telit online mode (#SD) and CMUX vs socat{}: {:.2} MB per run, {} round(s) per direction \
         (rotating order), {} KiB chunks; nproc={nproc}, {}, {}; {socat_version}",
        if full {
            ""
        } else {
            " (smoke run; use cargo bench)"
        },
        m.len as f64 / 1e6,
        plan.rounds,
        CHUNK / 1024,
        cpu_model(),
        kernel(),
    );
    for (variant, scfg) in VARIANTS.iter().zip(&m.scfg) {
        println!(
            "  {:<12} {:<27} {}",
            variant.name,
            match variant.scfg {
                Some(_) => "AT#SCFG=1,1,1500,90,600,1",
                None => "factory #SCFG",
            },
            scfg
        );
    }
    let ratio = |rates: &PerSide, a: usize, b: usize| median(&rates[a]) / median(&rates[b]);
    println!();
    println!(
        "{:<24} {:>22} {:>22} {:>22} {:>12} {:>12}",
        "online, MB/s med [range]", "pktSz 300", "pktSz 1500", "socat", "300/socat", "1500/socat"
    );
    let mut throughput_json = Vec::new();
    let mut shown = None;
    for result in &m.results {
        if shown != Some(result.placement) {
            shown = Some(result.placement);
            println!("  {}:", result.placement.describe());
        }
        for (label, key, rates, wire) in directions(result) {
            let (small, big) = (
                ratio(rates, ONLINE_300, SOCAT),
                ratio(rates, ONLINE_1500, SOCAT),
            );
            println!(
                "{label:<24} {:>22} {:>22} {:>22} {:>6.3}x {:<4} {:>6.3}x {}",
                cell(&rates[ONLINE_300]),
                cell(&rates[ONLINE_1500]),
                cell(&rates[SOCAT]),
                small,
                verdict(small),
                big,
                verdict(big)
            );
            let mut sides = serde_json::Map::new();
            for (i, name) in VARIANTS.iter().map(|v| v.name).chain(["socat"]).enumerate() {
                sides.insert(
                    name.into(),
                    json!({
                        "mb_s": rates[i],
                        "median_mb_s": median(&rates[i]),
                        "wire_bytes_per_payload_byte": wire[i],
                    }),
                );
            }
            throughput_json.push(json!({
                "placement": result.placement.key(),
                "run": result.key,
                "direction": key,
                "sides": sides,
                "online_300_vs_socat": small,
                "online_1500_vs_socat": big,
                "cmux_300_vs_online_300": ratio(rates, CMUX_300, ONLINE_300),
                "cmux_1500_vs_online_1500": ratio(rates, CMUX_1500, ONLINE_1500),
                "target_met": small >= TARGET_RATIO && big >= TARGET_RATIO,
            }));
        }
    }
    println!(
        "target: simodem / socat ≥ {TARGET_RATIO}x (MB = 10^6 bytes; SHA-256 checked every run)"
    );
    println!();
    println!(
        "{:<24} {:>22} {:>22} {:>10} {:>10} {:>9} {:>9}",
        "CMUX DLCI 1, MB/s", "pktSz 300", "pktSz 1500", "÷online", "÷online", "wire/B", "wire/B"
    );
    let mut shown = None;
    for result in &m.results {
        if shown != Some(result.placement) {
            shown = Some(result.placement);
            println!("  {}:", result.placement.describe());
        }
        for (label, _, rates, wire) in directions(result) {
            println!(
                "{label:<24} {:>22} {:>22} {:>9.3}x {:>9.3}x {:>9.4} {:>9.4}",
                cell(&rates[CMUX_300]),
                cell(&rates[CMUX_1500]),
                ratio(rates, CMUX_300, ONLINE_300),
                ratio(rates, CMUX_1500, ONLINE_1500),
                median(&wire[CMUX_300]),
                median(&wire[CMUX_1500]),
            );
        }
    }
    println!(
        "÷online: CMUX MB/s over the plain port's with the same #SCFG; wire/B: bytes on the PTY \
         per payload byte (median)"
    );
    println!();
    println!(
        "{:<24} {:>14} {:>14} {:>14} {:>14} {:>14}",
        "relay CPU µs per MB", "online-300", "online-1500", "cmux-300", "cmux-1500", "socat"
    );
    let mut cpu_json = Vec::new();
    let mut shown = None;
    for result in &m.results {
        if shown != Some(result.placement) {
            shown = Some(result.placement);
            println!("  {}:", result.placement.describe());
        }
        let cpu: Vec<f64> = result.cpu.iter().map(|v| median(v)).collect();
        println!(
            "{:<24} {:>14.0} {:>14.0} {:>14.0} {:>14.0} {:>14.0}",
            result.label, cpu[0], cpu[1], cpu[2], cpu[3], cpu[4]
        );
        cpu_json.push(json!({
            "placement": result.placement.key(),
            "run": result.key,
            "us_per_mb": result.cpu,
            "median_us_per_mb": cpu,
        }));
    }
    println!(
        "  (sides in this order: {}, socat)",
        side_names().join(", ")
    );
    println!();
    println!(
        "{:<24} {:>14} {:>14} {:>14} {:>14}",
        "core alone, µs per MB", "online-300", "online-1500", "cmux-300", "cmux-1500"
    );
    for (label, pick) in [("DTE→TCP (4 KiB reads)", 0), ("TCP→DTE (64 KiB reads)", 1)] {
        let cost: Vec<f64> = m
            .core
            .iter()
            .map(|c| if pick == 0 { c.0 } else { c.1 })
            .collect();
        println!(
            "{label:<24} {:>14.0} {:>14.0} {:>14.0} {:>14.0}",
            cost[0], cost[1], cost[2], cost[3]
        );
    }
    println!("  (Modem::handle on a virtual clock, no PTY, socket or runtime; best of 3 passes)");
    println!();
    println!(
        "AT\\r → OK round trip, µs, {} samples per side ({} alternating rounds)",
        m.at.first().map_or(0, |r| r.samples),
        plan.latency_rounds
    );
    println!(
        "{:<40} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8}",
        "", "plain p50", "plain p99", "DLCI1 p50", "DLCI1 p99", "p50 ×", "p99 ×"
    );
    let mut at_json = Vec::new();
    for row in &m.at {
        let (p, x) = (&row.plain, &row.mux);
        println!(
            "{:<40} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>7.2}x {:>7.2}x",
            row.placement.describe(),
            p.p50,
            p.p99,
            x.p50,
            x.p99,
            x.p50 / p.p50,
            x.p99 / p.p99
        );
        at_json.push(json!({
            "placement": row.placement.key(),
            "samples": row.samples,
            "plain": summary_json(p),
            "dlci1": summary_json(x),
            "ratio_p50": x.p50 / p.p50,
            "ratio_p99": x.p99 / p.p99,
        }));
    }
    println!(
        "machine busy in the 1 s before the runs: {}; /proc/loadavg before: {}; after: {}",
        m.busy_before.map_or("?".into(), |b| format!("{b:.0}%")),
        m.load.0,
        m.load.1
    );
    json!({
        "bench": "telit",
        "full": full,
        "bytes_per_run": m.len,
        "rounds": plan.rounds,
        "chunk_bytes": CHUNK,
        "nproc": nproc,
        "cpu": cpu_model(),
        "kernel": kernel(),
        "socat": socat_version,
        "unix_time": std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        "machine_busy_before_percent": m.busy_before,
        "loadavg_before": m.load.0,
        "loadavg_after": m.load.1,
        "scfg": side_names().iter().zip(&m.scfg).map(|(n, s)| json!({"side": n, "scfg": s})).collect::<Vec<_>>(),
        "throughput": throughput_json,
        "relay_cpu": cpu_json,
        "at_round_trip": at_json,
        "core_us_per_mb": side_names().iter().zip(&m.core).map(|(n, (up, down))| {
            json!({"side": n, "dte_to_tcp": up, "tcp_to_dte": down})
        }).collect::<Vec<_>>(),
    })
}

fn side_names() -> Vec<&'static str> {
    VARIANTS.iter().map(|v| v.name).collect()
}

/// The largest whole number of `RUN_MULTIPLE`-byte packets in `mib` MiB.
fn run_bytes(mib: usize) -> usize {
    let bytes = mib << 20;
    (bytes - bytes % RUN_MULTIPLE).max(RUN_MULTIPLE)
}

fn measure(plan: &Plan, dir: &Path, socat: &Path) -> Result<Measured, Box<dyn std::error::Error>> {
    let (len, warmup) = (run_bytes(plan.mib), run_bytes(plan.warmup_mib));
    let up = Payload::new(&[len, warmup], 1, Some(DLCI));
    let down = Payload::new(&[len, warmup], 2, None);
    // The four modems boot side by side.
    let telits: Vec<Telit> = std::thread::scope(|scope| {
        let booting: Vec<_> = VARIANTS
            .iter()
            .map(|variant| scope.spawn(move || Telit::boot(dir, variant)))
            .collect();
        booting
            .into_iter()
            .map(|b| b.join().unwrap_or_else(|_| Err("boot panicked".into())))
            .collect::<Result<Vec<_>, String>>()
    })?;
    let busy_before = machine_busy_before();
    let load_before = loadavg();
    let all_cpus = affinity()?;
    let at = at_latency(plan, &telits[ONLINE_300], &telits[CMUX_300], &all_cpus)?;
    let scfg = telits
        .iter()
        .map(Telit::configure)
        .collect::<Result<Vec<_>, _>>()?;
    let mut sides = telits
        .into_iter()
        .map(Telit::go_online)
        .collect::<Result<Vec<_>, _>>()?;
    sides.push(Endpoint::socat(dir, socat)?);
    let refs: Vec<&Endpoint> = sides.iter().collect();
    let results = throughput(plan, &refs, &all_cpus, (len, warmup), &up, &down)?;
    let core = core_costs(&up, &down, len)?;
    Ok(Measured {
        scfg,
        results,
        at,
        core,
        len,
        busy_before,
        load: (load_before, loadavg()),
    })
    // Every side drops here: the modems stop, socat is killed.
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let full = std::env::args().any(|a| a == "--bench");
    let plan = Plan::new(full, 32, 7)?;
    let socat = socat_path();
    if !socat.exists() {
        println!(
            "telit bench SKIPPED: {} is not installed, and it is the baseline (apt-get install \
             socat, as .ci/run does, or set SIMODEM_BENCH_SOCAT); nothing was measured",
            socat.display()
        );
        return Ok(());
    }
    let version = socat_version(&socat);
    let dir = std::env::temp_dir().join(format!("simodem-bench-telit-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let measured = measure(&plan, &dir, &socat);
    let _ = std::fs::remove_dir_all(&dir);
    let results = report(&plan, full, &version, &measured?);
    if full {
        let path = json_path("bench-telit.json");
        std::fs::write(&path, serde_json::to_string_pretty(&results)? + "\n")
            .map_err(|e| format!("{}: {e}", path.display()))?;
        println!("results: {}", path.display());
    }
    Ok(())
}
