//! World-level figures: scenario replay speed on the virtual clock, control-plane latency against
//! a bare Unix-socket line echo, and how many PTY-hosted modems one process carries.
//!
//! 1. Replay: every `scenarios/*.json` run through `scenario::run::run_virtual`, repeated; modem
//!    time (the outcome's `ended`) against the wall time one replay pass takes.
//! 2. Control plane: a world of one SIM900 (no port) with a control socket; a blocking std
//!    `UnixStream` client sends one JSON request at a time (`state`, then `urc`) and reads the
//!    response line. The baseline is a bare line echo on a Unix socket (tokio current-thread
//!    runtime in its own thread, `read_line` + `write_all`), driven by the same client code, in
//!    alternating rounds.
//! 3. Modems per process: worlds of N SIM900s with PTY links, each world on a tokio
//!    current-thread runtime in its own thread (as the binary runs it); time for `start_world` to
//!    return, `VmRSS` growth, and the `AT\r` round trip on the first and last modem. Every modem
//!    currently holds one inotify instance (link watching), and the kernel allows
//!    `fs.inotify.max_user_instances` per user, so N stops at 100.
//!
//! `cargo bench --bench world` runs the full measurement; without `--bench` (as under
//! `cargo test --all-targets`) it runs a short smoke version.

mod common;

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::replay::{self, ReplayRow};
use common::world::{WorldThread, read_proc, resolve, rss_kib};

use common::{
    Client, affinity, micros, one_cpu, set_affinity, spawn_runtime_thread, summarize, write_all,
};
use std::os::fd::AsRawFd;

use simodem::host::ModemInfo;
use simodem::network::ModemSpec;

/// The modem's boot timeline (SIM start-up, registration timers) is over well before this.
const BOOT_SETTLE: Duration = Duration::from_millis(1200);

struct Plan {
    replay_passes: usize,
    control_warmup: usize,
    control_rounds: usize,
    control_per_round: usize,
    world_sizes: &'static [usize],
    at_round_trips: usize,
}

const FULL: Plan = Plan {
    replay_passes: 200,
    control_warmup: 500,
    control_rounds: 10,
    control_per_round: 500,
    world_sizes: &[1, 50, 100],
    at_round_trips: 1_000,
};

const SMOKE: Plan = Plan {
    replay_passes: 5,
    control_warmup: 20,
    control_rounds: 2,
    control_per_round: 50,
    world_sizes: &[1, 5],
    at_round_trips: 50,
};

// ----- 1. replay speed -----

fn replay_speed(plan: &Plan) -> Result<(), String> {
    let rows = replay::replay_speed(plan.replay_passes)?;
    println!();
    println!(
        "Replay on the virtual clock: {} passes per scenario",
        plan.replay_passes
    );
    println!(
        "{:<44} {:>6} {:>12} {:>14} {:>10}",
        "scenario", "steps", "modem ms", "wall µs/pass", "speed-up"
    );
    let (mut total_modem_us, mut total_wall) = (0u64, Duration::ZERO);
    for row in &rows {
        let (name, steps, modem_us, wall) = match row {
            ReplayRow::Broken { name, why } => {
                println!("{name:<44} {why}");
                continue;
            }
            ReplayRow::Measured {
                name,
                steps,
                modem_us,
                wall,
            } => (name, steps, *modem_us, *wall),
        };
        total_modem_us += modem_us;
        total_wall += wall;
        let speed_up = if modem_us == 0 {
            "-".to_string()
        } else {
            format!("{:.0}x", modem_us as f64 / micros(wall))
        };
        println!(
            "{name:<44} {steps:>6} {:>12.1} {:>14.1} {speed_up:>10}",
            modem_us as f64 / 1e3,
            micros(wall),
        );
    }
    println!(
        "{:<44} {:>6} {:>12.1} {:>14.1} {:>9.0}x",
        "all scenarios",
        "",
        total_modem_us as f64 / 1e3,
        micros(total_wall),
        total_modem_us as f64 / micros(total_wall)
    );
    Ok(())
}

// ----- 2. control-plane latency -----

/// A bare line echo on a Unix socket: serves one connection, then ends.
struct LineEcho {
    thread: Option<JoinHandle<()>>,
}

impl LineEcho {
    fn start(path: PathBuf) -> Result<LineEcho, String> {
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
        let thread = spawn_runtime_thread("line-echo", ready_tx, move |ready_tx| async move {
            use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
            let listener = match tokio::net::UnixListener::bind(&path) {
                Ok(l) => l,
                Err(e) => {
                    let _ = ready_tx.send(Err(format!("bind {}: {e}", path.display())));
                    return;
                }
            };
            let _ = ready_tx.send(Ok(()));
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (read, mut write) = stream.into_split();
            let mut reader = tokio::io::BufReader::new(read);
            let mut line = String::new();
            loop {
                line.clear();
                match reader.read_line(&mut line).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if write.write_all(line.as_bytes()).await.is_err() {
                            break;
                        }
                    }
                }
            }
        })
        .map_err(|e| format!("spawn: {e}"))?;
        ready_rx
            .recv()
            .map_err(|_| "echo thread died before it was ready".to_string())??;
        Ok(LineEcho {
            thread: Some(thread),
        })
    }

    /// Call after the client was dropped.
    fn join(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One blocking request/response client: identical for both sides.
struct LineClient {
    writer: UnixStream,
    reader: BufReader<UnixStream>,
    line: String,
}

impl LineClient {
    fn connect(path: &Path) -> io::Result<LineClient> {
        let writer = UnixStream::connect(path)?;
        let reader = BufReader::new(writer.try_clone()?);
        Ok(LineClient {
            writer,
            reader,
            line: String::new(),
        })
    }

    /// Sends `request` (with its newline) and reads one response line. Only this is timed.
    fn round_trip(&mut self, request: &[u8]) -> io::Result<Duration> {
        self.line.clear();
        let start = Instant::now();
        self.writer.write_all(request)?;
        let n = self.reader.read_line(&mut self.line)?;
        let took = start.elapsed();
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "socket closed",
            ));
        }
        Ok(took)
    }
}

struct LineSide {
    client: LineClient,
    request: &'static [u8],
    /// A response must start with this.
    expect: &'static str,
    samples: Vec<Duration>,
}

impl LineSide {
    fn run(&mut self, count: usize, record: bool) -> io::Result<()> {
        for _ in 0..count {
            let took = self.client.round_trip(self.request)?;
            if !self.client.line.starts_with(self.expect) {
                return Err(io::Error::other(format!(
                    "expected a response starting {:?}, got {:?}",
                    self.expect, self.client.line
                )));
            }
            if record {
                self.samples.push(took);
            }
        }
        Ok(())
    }
}

/// Where the control-plane client and the servers run. Unpinned, the result is bimodal: a
/// request costs a few µs when the scheduler keeps client and server on one CPU and tens of µs
/// when every hop wakes the other CPU, so both placements are measured, pinned.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Placement {
    /// Client, world and echo all on CPU 0.
    SameCpu,
    /// Client on CPU 0; world and echo on CPU 1.
    SplitCpus,
}

fn control_latency(plan: &Plan, dir: &Path, placement: Placement) -> Result<(), String> {
    let nproc = std::thread::available_parallelism().map_or(1, |n| n.get());
    if placement == Placement::SplitCpus && nproc < 2 {
        println!();
        println!("Control-plane latency, split CPUs: skipped (one CPU)");
        return Ok(());
    }
    let original = affinity().map_err(|e| e.to_string())?;
    let server_cpu = match placement {
        Placement::SameCpu => 0,
        Placement::SplitCpus => 1,
    };
    set_affinity(0, &one_cpu(server_cpu)).map_err(|e| e.to_string())?;
    let result = control_latency_pinned(plan, dir, placement);
    // Back to the mask the thread had; a failure only leaves it pinned for the rest.
    let _ = set_affinity(0, &original);
    result
}

/// Runs with the calling thread pinned to the servers' CPU: they inherit it when spawned.
fn control_latency_pinned(plan: &Plan, dir: &Path, placement: Placement) -> Result<(), String> {
    let tag = match placement {
        Placement::SameCpu => "same",
        Placement::SplitCpus => "split",
    };
    let control = dir.join(format!("world-{tag}.ctl"));
    let resolved = resolve(
        ModemSpec {
            no_pty: true,
            // An AT channel nobody connects to: whatever the modem says goes nowhere.
            unix: Some(dir.join(format!("at-{tag}.sock"))),
            ..ModemSpec::default()
        },
        1,
    )?;
    let world = WorldThread::start(resolved, Some(control.clone()))?;
    let echo_path = dir.join(format!("echo-{tag}.sock"));
    let echo = LineEcho::start(echo_path.clone())?;
    // The client: CPU 0.
    set_affinity(0, &one_cpu(0)).map_err(|e| e.to_string())?;

    let requests: [(&str, &'static [u8], &'static str); 2] = [
        ("state", b"{\"verb\":\"state\"}\n", "{\"ok\":true"),
        (
            "urc",
            b"{\"verb\":\"urc\",\"text\":\"x\"}\n",
            "{\"ok\":true",
        ),
    ];
    let mut rows = Vec::new();
    let mut echo_side = LineSide {
        client: LineClient::connect(&echo_path).map_err(|e| format!("echo connect: {e}"))?,
        request: b"",
        expect: "",
        samples: Vec::new(),
    };
    for (verb, request, expect) in requests {
        let mut world_side = LineSide {
            client: LineClient::connect(&control).map_err(|e| format!("control connect: {e}"))?,
            request,
            expect,
            samples: Vec::new(),
        };
        // The echo is sent the very same bytes and answers them unchanged.
        echo_side.request = request;
        echo_side.expect = "{\"verb\"";
        echo_side.samples.clear();
        let io_err = |e: io::Error| format!("{verb}: {e}");
        world_side.run(plan.control_warmup, false).map_err(io_err)?;
        echo_side.run(plan.control_warmup, false).map_err(io_err)?;
        for round in 0..plan.control_rounds {
            let order: [&mut LineSide; 2] = if round % 2 == 0 {
                [&mut echo_side, &mut world_side]
            } else {
                [&mut world_side, &mut echo_side]
            };
            for side in order {
                side.run(plan.control_per_round, true).map_err(io_err)?;
            }
        }
        rows.push((
            verb,
            summarize(&echo_side.samples),
            summarize(&world_side.samples),
            world_side.samples.len(),
        ));
    }
    drop(echo_side);
    echo.join();
    world.stop();

    println!();
    println!(
        "Control-plane latency, {}: one request at a time over a Unix socket, {} per verb per \
         side ({} alternating rounds)",
        match placement {
            Placement::SameCpu => "client and servers on CPU 0",
            Placement::SplitCpus => "client on CPU 0, servers on CPU 1",
        },
        plan.control_rounds * plan.control_per_round,
        plan.control_rounds
    );
    println!("{:<36} {:>9} {:>9} {:>9}", "µs", "p50", "p99", "max");
    for (verb, base, world, _) in &rows {
        println!(
            "{:<36} {:>9.1} {:>9.1} {:>9.1}",
            format!("baseline: line echo ({verb} bytes)"),
            base.p50,
            base.p99,
            base.max
        );
        println!(
            "{:<36} {:>9.1} {:>9.1} {:>9.1}",
            format!("simodem:  {verb}"),
            world.p50,
            world.p99,
            world.max
        );
        println!(
            "{:<36} {:>8.2}x {:>8.2}x",
            format!("ratio {verb} / baseline"),
            world.p50 / base.p50,
            world.p99 / base.p99
        );
    }
    Ok(())
}

// ----- 3. modems per process -----

const AT: &[u8] = b"AT\r";
/// Echo is on by default: the command, then the result.
const AT_ANSWER: &[u8] = b"AT\r\r\nOK\r\n";

/// Trains auto-baud with the first `AT\r`, checks nothing else is pending, then times `count`
/// round trips; returns the p50 in µs.
fn at_round_trip_p50(path: &Path, count: usize) -> io::Result<f64> {
    let client = Client::open(path)?;
    write_all(client.fd.as_raw_fd(), AT)?;
    let first = client.read_until(b"OK\r\n", Duration::from_secs(5))?;
    if first != AT_ANSWER {
        return Err(io::Error::other(format!(
            "first AT answered {:?}",
            String::from_utf8_lossy(&first)
        )));
    }
    let stray = client.stray_bytes(Duration::from_millis(50))?;
    if !stray.is_empty() {
        return Err(io::Error::other(format!(
            "unexpected bytes after the first AT: {:?}",
            String::from_utf8_lossy(&stray)
        )));
    }
    let mut answer = [0u8; AT_ANSWER.len()];
    let mut samples = Vec::with_capacity(count);
    for _ in 0..count {
        let took = client.round_trip(AT, &mut answer)?;
        if answer != AT_ANSWER {
            return Err(io::Error::other(format!(
                "AT answered {:?}",
                String::from_utf8_lossy(&answer)
            )));
        }
        samples.push(took);
    }
    Ok(summarize(&samples).p50)
}

/// Set in a child process: measure one world of this many modems and print its `ROW` line.
const CHILD_ENV: &str = "SIMODEM_BENCH_WORLD_SIZE";
/// The child's temp dir.
const CHILD_DIR_ENV: &str = "SIMODEM_BENCH_WORLD_DIR";

/// One world of `count` modems, in a process of its own (so RSS is not flattered by memory an
/// earlier world freed): prints `ROW count start_ms rss_growth_kib first_p50 last_p50`.
fn one_world(plan: &Plan, count: usize, dir: &Path) -> Result<(), String> {
    let resolved = resolve(
        ModemSpec {
            link: Some(dir.join("sim%d")),
            ..ModemSpec::default()
        },
        count,
    )?;
    let rss_before = rss_kib();
    let world = WorldThread::start(resolved, None)?;
    let booted = Instant::now();
    let rss_after = rss_kib();
    let growth = match (rss_before, rss_after) {
        (Some(b), Some(a)) => a.saturating_sub(b).to_string(),
        _ => "?".into(),
    };
    // Let the boot timelines run out while the modems are still silent (auto-baud).
    std::thread::sleep(BOOT_SETTLE.saturating_sub(booted.elapsed()));
    let p50 = |info: Option<&ModemInfo>| -> String {
        let Some(path) = info.and_then(|m| m.link.clone().or(m.pts.clone())) else {
            return "no-PTY".into();
        };
        match at_round_trip_p50(&path, plan.at_round_trips) {
            Ok(p) => format!("{p:.1}"),
            Err(e) => {
                eprintln!("N={count}: {}: {e}", path.display());
                "error".into()
            }
        }
    };
    let first = p50(world.modems.first());
    let last = p50(world.modems.last());
    println!(
        "ROW {count} {:.2} {growth} {first} {last}",
        world.start_took.as_secs_f64() * 1e3
    );
    world.stop();
    Ok(())
}

fn modems_per_process(plan: &Plan, dir: &Path, full: bool) {
    println!();
    println!(
        "Modems per process: SIM900s with PTY links, each N in a fresh process; \
         fs.inotify.max_user_instances = {} (one per modem today)",
        read_proc("/proc/sys/fs/inotify/max_user_instances")
    );
    println!(
        "{:>5} {:>14} {:>10} {:>14} {:>16} {:>16}",
        "N", "start_world ms", "RSS +KiB", "KiB/extra mdm", "AT p50 first µs", "AT p50 last µs"
    );
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            println!("cannot find this executable: {e}");
            return;
        }
    };
    let mut one_modem_rss: Option<f64> = None;
    for &count in plan.world_sizes {
        let size_dir = dir.join(format!("n{count}"));
        if let Err(e) = std::fs::create_dir_all(&size_dir) {
            println!("{count:>5} cannot create {}: {e}", size_dir.display());
            continue;
        }
        let mut command = std::process::Command::new(&exe);
        if full {
            command.arg("--bench");
        }
        let output = command
            .env(CHILD_ENV, count.to_string())
            .env(CHILD_DIR_ENV, &size_dir)
            .stderr(std::process::Stdio::inherit())
            .output();
        let output = match output {
            Ok(o) => o,
            Err(e) => {
                println!("{count:>5} cannot run the child: {e}");
                continue;
            }
        };
        let stdout = String::from_utf8_lossy(&output.stdout);
        let Some(row) = stdout.lines().find_map(|l| l.strip_prefix("ROW ")) else {
            println!(
                "{count:>5} world failed: {}",
                stdout.trim().lines().last().unwrap_or("(no output)")
            );
            continue;
        };
        let fields: Vec<&str> = row.split_whitespace().collect();
        let [_, start_ms, growth, first, last] = fields[..] else {
            println!("{count:>5} unreadable row {row:?}");
            continue;
        };
        let growth_kib: Option<f64> = growth.parse().ok();
        if count == 1 {
            one_modem_rss = growth_kib;
        }
        let per_modem = match (growth_kib, one_modem_rss) {
            (Some(g), Some(one)) if count > 1 => format!("{:.1}", (g - one) / (count - 1) as f64),
            _ => "-".into(),
        };
        println!("{count:>5} {start_ms:>14} {growth:>10} {per_modem:>14} {first:>16} {last:>16}");
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let full = std::env::args().any(|a| a == "--bench");
    let plan = if full { FULL } else { SMOKE };
    if let Ok(count) = std::env::var(CHILD_ENV) {
        let count: usize = count.parse().expect("bad world size from the parent");
        let dir = PathBuf::from(std::env::var_os(CHILD_DIR_ENV).expect("no dir from the parent"));
        if let Err(e) = one_world(&plan, count, &dir) {
            println!("{e}");
        }
        return Ok(());
    }
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!();
    println!(
        "simodem world bench{}: nproc={nproc}",
        if full {
            ""
        } else {
            " (smoke run; use cargo bench)"
        }
    );

    let dir = std::env::temp_dir().join(format!("simodem-bench-world-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("cannot create the bench's temp dir");

    let result = (|| -> Result<(), String> {
        replay_speed(&plan)?;
        for placement in [Placement::SameCpu, Placement::SplitCpus] {
            control_latency(&plan, &dir, placement)?;
        }
        modems_per_process(&plan, &dir, full);
        Ok(())
    })();

    let _ = std::fs::remove_dir_all(&dir);
    result.map_err(Into::into)
}
