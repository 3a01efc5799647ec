//! The benchmark suite: every figure of the issue side by side with its baseline measured in the
//! same run, one table (figure, value, baseline, ratio, target, met?) and one JSON file.
//!
//! 1. `AT\r` → `\r\nOK\r\n` round trip over the PTY, p50 and p99, against a bare PTY echo
//!    (`common::pty_rtt`, as `benches/roundtrip.rs`).
//! 2. Transparent data mode throughput each way and both at once, SIM900 `+CIPMODE=1` and Telit
//!    `#SD` online mode (factory `#SCFG`), against `socat pty,raw,echo=0 tcp:…` moving the same
//!    bytes (`common::relay`, as `benches/transparent.rs` and `benches/telit.rs`).
//! 3. Density: N = 10, 100, 1000 modems in one process, each on its own PTY — start-up, RSS per
//!    modem, idle CPU, round-trip p99 with all N clients sending at once — against N bare PTY
//!    echoes served by one `poll` thread (`common::density`, each N in a child process).
//! 4. Scenario replay on the virtual clock: modem-seconds per wall-second over `scenarios/*.json`,
//!    against one scenario replayed in real time (`common::replay`, as `benches/world.rs`).
//! 5. SMS between two modems through the full AT path, messages per second (`common::sms`, as
//!    `benches/sms.rs`), against what five PTY exchanges per message at the bare echo's p50
//!    of figure 1 would allow.
//!
//! `cargo bench --bench suite` runs the full measurement (about three minutes) and writes
//! `target/bench-suite.json` (or `SIMODEM_BENCH_JSON`); without `--bench` (as under
//! `cargo test --all-targets`) it runs a smoke version of a few seconds and writes no JSON. The
//! `SIMODEM_BENCH_*` knobs of `benches/transparent.rs` apply to figure 2.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::relay::{
    self, Endpoint, ModeResult, Payload, SEND_SZ, json_path, loadavg, machine_busy_before, median,
    sim900_transparent, socat_path, socat_version,
};
use common::replay::{self, ReplayRow};
use common::telit::{ONLINE_300, Telit, VARIANTS};
use common::{Summary, affinity, cpu_model, density, kernel, micros, pty_rtt, sms, summarize};

/// A run of figure 2 is a whole number of SIM900 SendSz and Telit 1,500-byte packets, so no byte
/// waits for a timer at the end of a run.
const RUN_MULTIPLE: usize = 384_000;
const _: () = assert!(RUN_MULTIPLE.is_multiple_of(SEND_SZ) && RUN_MULTIPLE.is_multiple_of(1500));
const TARGET_THROUGHPUT: f64 = relay::TARGET_RATIO;
const TARGET_REPLAY: f64 = 1000.0;
/// The scenario replayed in real time as figure 4's baseline (3.2 s of modem time).
const REALTIME_SCENARIO: &str = "echo-and-framing.json";
/// PTY exchanges per SMS on the critical path (A: `AT+CMGS` → `> `, text → `+CMGS`; B: `+CMTI`,
/// `AT+CMGR`, `AT+CMGD`).
const SMS_EXCHANGES: f64 = 5.0;

/// What a figure is held to.
#[derive(Clone, Copy)]
enum Target {
    /// The ratio value / baseline at most this.
    RatioAtMost(f64),
    /// The ratio at least this.
    RatioAtLeast(f64),
    /// The value itself at most this (in the row's unit).
    ValueAtMost(f64),
    /// The value itself below this.
    ValueBelow(f64),
}

impl Target {
    fn describe(self, unit: &str) -> String {
        match self {
            Target::RatioAtMost(t) => format!("≤ {t}×"),
            Target::RatioAtLeast(t) => format!("≥ {t}×"),
            Target::ValueAtMost(t) => format!("≤ {t} {unit}"),
            Target::ValueBelow(t) => format!("< {t} {unit}"),
        }
    }

    fn met(self, value: f64, ratio: Option<f64>) -> Option<bool> {
        match self {
            Target::RatioAtMost(t) => ratio.map(|r| r <= t),
            Target::RatioAtLeast(t) => ratio.map(|r| r >= t),
            Target::ValueAtMost(t) => Some(value <= t),
            Target::ValueBelow(t) => Some(value < t),
        }
    }
}

/// One line of the table.
struct Row {
    figure: String,
    unit: &'static str,
    value: Result<f64, String>,
    baseline: Option<f64>,
    target: Option<Target>,
}

impl Row {
    fn new(
        figure: impl Into<String>,
        unit: &'static str,
        value: f64,
        baseline: Option<f64>,
    ) -> Row {
        Row {
            figure: figure.into(),
            unit,
            value: Ok(value),
            baseline,
            target: None,
        }
    }

    fn failed(figure: impl Into<String>, why: String) -> Row {
        Row {
            figure: figure.into(),
            unit: "",
            value: Err(why),
            baseline: None,
            target: None,
        }
    }

    fn target(mut self, target: Target) -> Row {
        self.target = Some(target);
        self
    }

    fn ratio(&self) -> Option<f64> {
        match (&self.value, self.baseline) {
            (Ok(v), Some(b)) if b > 0.0 => Some(v / b),
            _ => None,
        }
    }

    fn met(&self) -> Option<bool> {
        let value = *self.value.as_ref().ok()?;
        self.target?.met(value, self.ratio())
    }

    fn json(&self) -> Value {
        json!({
            "figure": self.figure,
            "unit": self.unit,
            "value": self.value.as_ref().ok(),
            "error": self.value.as_ref().err(),
            "baseline": self.baseline,
            "ratio": self.ratio(),
            "target": self.target.map(|t| t.describe(self.unit)),
            "met": self.met(),
        })
    }
}

/// A number with a sensible number of digits for the table.
fn num(v: f64) -> String {
    if !v.is_finite() {
        "?".into()
    } else if v.abs() >= 1000.0 {
        let whole = format!("{:.0}", v);
        // Thousands separated by commas.
        let (sign, digits) = whole
            .strip_prefix('-')
            .map_or(("", whole.as_str()), |d| ("-", d));
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        format!("{sign}{out}")
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else if v.abs() >= 0.1 || v == 0.0 {
        format!("{v:.2}")
    } else {
        // Small shares (idle CPU): two significant digits.
        let digits = (1 - v.abs().log10().floor() as i32).clamp(2, 9) as usize;
        format!("{v:.digits$}")
    }
}

// ----- figure 1 -----

fn figure_1(full: bool, details: &mut Value) -> (Vec<Row>, Option<Summary>) {
    let plan = if full { pty_rtt::FULL } else { pty_rtt::SMOKE };
    let (p50, p99) = (
        "1. AT→OK round trip p50 (vs bare PTY echo)",
        "1. AT→OK round trip p99 (vs bare PTY echo)",
    );
    match pty_rtt::measure(&plan) {
        Ok(m) => {
            let (base, emu) = (summarize(&m.baseline), summarize(&m.modem));
            details["round_trip"] = json!({
                "samples_per_side": m.baseline.len(),
                "rounds": plan.rounds,
                "baseline": relay::summary_json(&base),
                "simodem": relay::summary_json(&emu),
                "p50_ratio_per_round": m.baseline_round_p50.iter().zip(&m.modem_round_p50)
                    .map(|(b, s)| micros(*s) / micros(*b)).collect::<Vec<_>>(),
            });
            let rows = vec![
                Row::new(p50, "µs", emu.p50, Some(base.p50))
                    .target(Target::RatioAtMost(pty_rtt::TARGET_P50)),
                Row::new(p99, "µs", emu.p99, Some(base.p99))
                    .target(Target::RatioAtMost(pty_rtt::TARGET_P99)),
            ];
            (rows, Some(base))
        }
        Err(e) => (
            vec![
                Row::failed(p50, e.to_string()),
                Row::failed(p99, e.to_string()),
            ],
            None,
        ),
    }
}

// ----- figure 2 -----

const SIDES: [&str; 3] = ["SIM900 +CIPMODE=1", "Telit #SD online", "socat"];

fn figure_2(full: bool, dir: &Path, details: &mut Value) -> Vec<Row> {
    let socat = socat_path();
    if !socat.exists() {
        return vec![Row::failed(
            "2. transparent throughput (vs socat)",
            format!(
                "not measured: {} is not installed (apt-get install socat)",
                socat.display()
            ),
        )];
    }
    match throughput(full, dir, &socat) {
        Ok((results, plan_json)) => {
            let mut rows = Vec::new();
            let mut runs = Vec::new();
            for (side, name) in SIDES.iter().enumerate().take(2) {
                for result in &results {
                    for (rates, direction) in [(&result.up, "DTE→TCP"), (&result.down, "TCP→DTE")]
                    {
                        let Some(rates) = rates else { continue };
                        let label = if result.key == "both" {
                            format!("both at once: {direction}")
                        } else {
                            direction.to_string()
                        };
                        rows.push(
                            Row::new(
                                format!("2. {name} {label}, median (vs socat)"),
                                "MB/s",
                                median(&rates[side]),
                                Some(median(&rates[2])),
                            )
                            .target(Target::RatioAtLeast(TARGET_THROUGHPUT)),
                        );
                        runs.push(json!({
                            "side": name, "run": result.key, "direction": direction,
                            "mb_s": rates[side], "socat_mb_s": rates[2],
                            "relay_cpu_us_per_mb": result.cpu[side],
                            "socat_cpu_us_per_mb": result.cpu[2],
                        }));
                    }
                }
            }
            details["throughput"] = json!({
                "plan": plan_json,
                "socat": socat_version(&socat),
                "runs": runs,
            });
            rows
        }
        Err(e) => vec![Row::failed("2. transparent throughput (vs socat)", e)],
    }
}

fn throughput(full: bool, dir: &Path, socat: &Path) -> Result<(Vec<ModeResult>, Value), String> {
    let plan = relay::Plan::new(full, 32, 7)?;
    let len = ((plan.mib << 20) / RUN_MULTIPLE).max(1) * RUN_MULTIPLE;
    let warmup = ((plan.warmup_mib << 20) / RUN_MULTIPLE).max(1) * RUN_MULTIPLE;
    let up = Payload::new(&[len, warmup], 1, None);
    let down = Payload::new(&[len, warmup], 2, None);
    // The two modems boot side by side (an `Endpoint` stays on the thread that made it).
    let (sim900, telit) = std::thread::scope(|scope| {
        let telit = scope.spawn(|| {
            let telit = Telit::boot(dir, &VARIANTS[ONLINE_300])?;
            telit.configure()?;
            Ok::<_, String>(telit)
        });
        let sim900 = sim900_transparent(dir);
        let telit = telit
            .join()
            .unwrap_or_else(|_| Err("Telit set-up panicked".into()));
        (sim900, telit)
    });
    let telit = telit?.go_online()?;
    let sides = [sim900?, telit, Endpoint::socat(dir, socat)?];
    let refs: Vec<&Endpoint> = sides.iter().collect();
    let all_cpus = affinity().map_err(|e| e.to_string())?;
    let results = relay::throughput(&plan, &refs, &all_cpus, (len, warmup), &up, &down)
        .map_err(|e| e.to_string())?;
    Ok((
        results,
        json!({ "bytes_per_run": len, "warmup_bytes": warmup, "rounds": plan.rounds }),
    ))
    // The sides drop here: the modems stop, socat is killed.
}

// ----- figure 3 -----

fn figure_3(full: bool, dir: &Path, details: &mut Value) -> (Vec<Row>, Vec<String>) {
    let plan = if full { density::FULL } else { density::SMOKE };
    let rows = density::measure(&plan, full, dir);
    let mut table = Vec::new();
    let mut notes = Vec::new();
    let mut json_rows = Vec::new();
    for row in &rows {
        json_rows.push(json!({
            "simodem": density::side_json(&row.simodem),
            "echo": density::side_json(&row.echo),
        }));
        let (sim, echo) = match (&row.simodem, &row.echo) {
            (Ok(sim), echo) => (sim, echo.as_ref().ok()),
            (Err(e), _) => {
                table.push(Row::failed("3. density", e.clone()));
                continue;
            }
        };
        let n = if sim.n == sim.asked {
            format!("N={}", sim.n)
        } else {
            format!("N={} (of {} asked: PTYs)", sim.n, sim.asked)
        };
        let at_target = sim.asked == density::TARGET_N;
        let mut rss = Row::new(
            format!("3. {n}: RSS per modem (vs per echoed PTY)"),
            "KiB",
            sim.rss_kib_per,
            echo.map(|e| e.rss_kib_per),
        );
        let mut idle = Row::new(
            format!(
                "3. {n}: idle CPU over {} s, % of a core (vs echo)",
                plan.idle.as_secs_f64()
            ),
            "%",
            sim.idle_cpu_percent,
            echo.map(|e| e.idle_cpu_percent),
        );
        if at_target {
            rss = rss.target(Target::ValueAtMost(density::TARGET_RSS_KIB));
            idle = idle.target(Target::ValueBelow(density::TARGET_IDLE_CPU_PERCENT));
        }
        table.push(Row::new(
            format!("3. {n}: start-up (vs openpty ×N + echo thread)"),
            "ms",
            sim.start_ms,
            echo.map(|e| e.start_ms),
        ));
        table.push(rss);
        table.push(idle);
        table.push(Row::new(
            format!("3. {n}: AT→OK p99, all N at once (vs echo)"),
            "µs",
            sim.round_trip.p99,
            echo.map(|e| e.round_trip.p99),
        ));
        if let Some(watched) = sim.watched.filter(|w| *w < sim.n) {
            notes.push(format!(
                "{n}: inotify watched {watched} of {} PTYs (fs.inotify.max_user_instances = {} \
                 per user, one per modem); the other {} modems ran without open/close detection",
                sim.n,
                common::world::read_proc("/proc/sys/fs/inotify/max_user_instances"),
                sim.n - watched
            ));
        }
        if let Err(e) = &row.echo {
            notes.push(format!("{n}: the echo baseline failed: {e}"));
        }
    }
    // What one more modem costs, without the runtime and the fixed costs: between the two
    // largest N.
    let measured: Vec<&density::Side> = rows
        .iter()
        .filter_map(|r| r.simodem.as_ref().ok())
        .collect();
    if let [.., small, large] = measured[..]
        && large.n > small.n
    {
        let marginal = (large.rss_growth_kib - small.rss_growth_kib) / (large.n - small.n) as f64;
        notes.push(format!(
            "RSS per extra modem from N={} to N={}: {} KiB (the per-modem rows include the \
             runtime and everything else the first modem pays for)",
            small.n,
            large.n,
            num(marginal)
        ));
    }
    details["density"] = json!({
        "idle_s": plan.idle.as_secs_f64(),
        "rows": json_rows,
        "pty_max": common::world::read_proc("/proc/sys/kernel/pty/max"),
        "inotify_max_user_instances":
            common::world::read_proc("/proc/sys/fs/inotify/max_user_instances"),
    });
    (table, notes)
}

// ----- figure 4 -----

fn figure_4(full: bool, details: &mut Value) -> Vec<Row> {
    let passes = if full { 200 } else { 3 };
    let rows = match replay::replay_speed(passes) {
        Ok(rows) => rows,
        Err(e) => return vec![Row::failed("4. scenario replay", e)],
    };
    let mut table = Vec::new();
    let (mut modem_us, mut wall, mut count) = (0u64, Duration::ZERO, 0);
    let mut slowest: Option<(String, f64)> = None;
    let mut per_scenario = Vec::new();
    for row in &rows {
        match row {
            ReplayRow::Broken { name, why } => {
                table.push(Row::failed(format!("4. replay {name}"), why.clone()));
            }
            ReplayRow::Measured {
                name,
                steps,
                modem_us: m,
                wall: w,
            } => {
                modem_us += m;
                wall += *w;
                count += 1;
                let speed = *m as f64 / micros(*w);
                if *m > 0 && slowest.as_ref().is_none_or(|(_, s)| speed < *s) {
                    slowest = Some((name.clone(), speed));
                }
                per_scenario.push(json!({
                    "scenario": name, "steps": steps, "modem_us": m,
                    "wall_us_per_pass": micros(*w), "speed_up": speed,
                }));
            }
        }
    }
    // The baseline: a modem in real time, measured (full run only; 1× by definition otherwise).
    let realtime = if full {
        match replay::realtime_replay(REALTIME_SCENARIO) {
            Ok((m, w)) => Ok(m as f64 / micros(w)),
            Err(e) => Err(e),
        }
    } else {
        Ok(1.0)
    };
    details["replay"] = json!({
        "passes": passes,
        "scenarios": per_scenario,
        "realtime_scenario": REALTIME_SCENARIO,
        "realtime_measured": full,
        "realtime_speed": realtime.as_ref().ok(),
    });
    let baseline = match realtime {
        Ok(speed) => Some(speed),
        Err(e) => {
            table.push(Row::failed("4. real-time replay (the baseline)", e));
            None
        }
    };
    let vs = if full {
        "vs the same in real time"
    } else {
        "vs real time, 1× not measured in a smoke run"
    };
    table.push(
        Row::new(
            format!("4. replay, all {count} scenarios, modem-s per wall-s ({vs})"),
            "×",
            modem_us as f64 / micros(wall),
            baseline,
        )
        .target(Target::RatioAtLeast(TARGET_REPLAY)),
    );
    if let Some((name, speed)) = slowest {
        table.push(
            Row::new(
                format!("4. replay, slowest: {}", name.trim_end_matches(".json")),
                "×",
                speed,
                baseline,
            )
            .target(Target::RatioAtLeast(TARGET_REPLAY)),
        );
    }
    table
}

// ----- figure 5 -----

/// The rows, and which of them takes the PTY floor from figure 1 as its baseline.
fn figure_5(full: bool, dir: &Path, details: &mut Value) -> (Vec<Row>, Option<usize>) {
    let runs: &[(usize, usize, Option<u64>)] = if full {
        &[(1, 500, Some(0)), (16, 500, Some(0)), (1, 5, None)]
    } else {
        &[(1, 5, Some(0))]
    };
    let mut table = Vec::new();
    let mut outcomes = Vec::new();
    let mut floor_row = None;
    for &(pairs, messages, ack_ms) in runs {
        let ack = match ack_ms {
            Some(ms) => format!("sms_ack_ms {ms}"),
            None => "the model's 1 s network ack".into(),
        };
        let figure = if (pairs, ack_ms) == (1, Some(0)) {
            floor_row = Some(table.len());
            format!("5. SMS/s, 1 pair, {ack} (vs 5 bare-echo exchanges at fig. 1's p50)")
        } else {
            let pairs = if pairs == 1 {
                "1 pair".to_string()
            } else {
                format!("{pairs} pairs")
            };
            format!("5. SMS/s, {pairs}, {ack}")
        };
        match sms::run_pairs(dir, pairs, messages, ack_ms) {
            Ok(o) => {
                let rate = o.messages as f64 / o.wall.as_secs_f64();
                outcomes.push(json!({
                    "pairs": pairs, "messages": o.messages, "ack_ms": ack_ms,
                    "wall_s": o.wall.as_secs_f64(), "sms_per_s": rate,
                    "delivery_p50_ms": micros(common::percentile(&o.delivery, 50.0)) / 1e3,
                    "delivery_p99_ms": micros(common::percentile(&o.delivery, 99.0)) / 1e3,
                    "send_cycle_p50_ms": micros(common::percentile(&o.cycle, 50.0)) / 1e3,
                }));
                table.push(Row::new(figure, "SMS/s", rate, None));
            }
            Err(e) => table.push(Row::failed(figure, e)),
        }
    }
    details["sms"] = json!({ "runs": outcomes });
    (table, floor_row)
}

// ----- report -----

fn print_table(rows: &[Row]) {
    let width = rows
        .iter()
        .map(|r| r.figure.chars().count())
        .max()
        .unwrap_or(10);
    println!(
        "{:<width$}  {:>14}  {:>14}  {:>9}  {:>12}  {:>5}",
        "figure", "value", "baseline", "ratio", "target", "met?"
    );
    for row in rows {
        let value = match &row.value {
            Ok(v) => format!("{} {}", num(*v), row.unit),
            Err(e) => {
                println!("{:<width$}  FAILED: {e}", row.figure);
                continue;
            }
        };
        let baseline = row
            .baseline
            .map_or("–".into(), |b| format!("{} {}", num(b), row.unit));
        let ratio = row.ratio().map_or("–".into(), |r| format!("{}×", num(r)));
        let target = row.target.map_or("–".into(), |t| t.describe(row.unit));
        let met = match row.met() {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "–",
        };
        println!(
            "{:<width$}  {value:>14}  {baseline:>14}  {ratio:>9}  {target:>12}  {met:>5}",
            row.figure
        );
    }
}

/// Best effort: the commit the bench was built from.
fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    let rev = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let dirty = std::process::Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .is_some_and(|o| !o.stdout.is_empty());
    (!rev.is_empty()).then(|| if dirty { format!("{rev}+dirty") } else { rev })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let full = std::env::args().any(|a| a == "--bench");
    let density_plan = if full { density::FULL } else { density::SMOKE };
    if density::child_if_asked(&density_plan) {
        return Ok(());
    }
    let started = Instant::now();
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let command = if full {
        "cargo bench --bench suite"
    } else {
        "cargo test --bench suite (smoke run; cargo bench --bench suite measures)"
    };
    let machine = format!("nproc={nproc}, {}, {}", cpu_model(), kernel());
    eprintln!("simodem bench suite: {command}; {machine}");
    let busy_before = if full { machine_busy_before() } else { None };
    let load_before = loadavg();
    let dir = std::env::temp_dir().join(format!("simodem-bench-suite-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;

    // A full run measures one figure at a time; a smoke run runs them side by side (most of
    // its time is modems booting).
    let (mut d1, mut d2, mut d3, mut d4, mut d5) =
        (json!({}), json!({}), json!({}), json!({}), json!({}));
    let ((fig1, echo), fig2, (fig3, notes), fig4, (mut fig5, floor_row)) = if full {
        eprintln!("1. round trip");
        let f1 = figure_1(full, &mut d1);
        eprintln!("2. transparent throughput");
        let f2 = figure_2(full, &dir, &mut d2);
        eprintln!("3. density");
        let f3 = figure_3(full, &dir, &mut d3);
        eprintln!("4. replay");
        let f4 = figure_4(full, &mut d4);
        eprintln!("5. SMS");
        let f5 = figure_5(full, &dir, &mut d5);
        (f1, f2, f3, f4, f5)
    } else {
        std::thread::scope(|scope| {
            let dir = &dir;
            let f1 = scope.spawn(|| figure_1(full, &mut d1));
            let f2 = scope.spawn(|| figure_2(full, dir, &mut d2));
            let f3 = scope.spawn(|| figure_3(full, dir, &mut d3));
            let f5 = scope.spawn(|| figure_5(full, dir, &mut d5));
            let f4 = figure_4(full, &mut d4);
            let join = |what: &str| format!("figure {what} panicked");
            (
                f1.join()
                    .unwrap_or_else(|_| (vec![Row::failed("1.", join("1"))], None)),
                f2.join()
                    .unwrap_or_else(|_| vec![Row::failed("2.", join("2"))]),
                f3.join()
                    .unwrap_or_else(|_| (vec![Row::failed("3.", join("3"))], Vec::new())),
                f4,
                f5.join()
                    .unwrap_or_else(|_| (vec![Row::failed("5.", join("5"))], None)),
            )
        })
    };
    // Figure 5's bound from figure 1: every PTY exchange of a message at the bare echo's p50.
    let floor = echo.map(|e| 1e6 / (SMS_EXCHANGES * e.p50));
    if let Some(row) = floor_row.and_then(|i| fig5.get_mut(i)) {
        row.baseline = floor;
    }
    d5["sms"]["floor_sms_per_s"] = json!(floor);
    let mut details = json!({});
    for d in [d1, d2, d3, d4, d5] {
        if let (Some(all), Value::Object(part)) = (details.as_object_mut(), d) {
            all.extend(part);
        }
    }
    let rows: Vec<Row> = [fig1, fig2, fig3, fig4, fig5]
        .into_iter()
        .flatten()
        .collect();
    let _ = std::fs::remove_dir_all(&dir);

    let load_after = loadavg();
    println!();
    println!(
        "simodem bench suite{}: {machine}; {} s",
        if full { "" } else { " (smoke run)" },
        started.elapsed().as_secs()
    );
    print_table(&rows);
    for note in &notes {
        println!("note: {note}");
    }
    println!(
        "machine busy in the 1 s before: {}; /proc/loadavg before: {load_before}; after: \
         {load_after}",
        busy_before.map_or("?".into(), |b| format!("{b:.0}%"))
    );
    let failed = rows.iter().filter(|r| r.value.is_err()).count();
    if full {
        let report = json!({
            "bench": "suite",
            "command": command,
            "commit": git_commit(),
            "machine": {
                "nproc": nproc,
                "cpu": cpu_model(),
                "kernel": kernel(),
                "pty_max": common::world::read_proc("/proc/sys/kernel/pty/max"),
                "inotify_max_user_instances":
                    common::world::read_proc("/proc/sys/fs/inotify/max_user_instances"),
            },
            "unix_time": std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            "seconds": started.elapsed().as_secs_f64(),
            "machine_busy_before_percent": busy_before,
            "loadavg_before": load_before,
            "loadavg_after": load_after,
            "rows": rows.iter().map(Row::json).collect::<Vec<_>>(),
            "notes": notes,
            "details": details,
        });
        let path = json_path("bench-suite.json");
        std::fs::write(&path, serde_json::to_string_pretty(&report)? + "\n")
            .map_err(|e| format!("{}: {e}", path.display()))?;
        println!("results: {}", path.display());
    }
    if failed > 0 {
        return Err(format!("{failed} figure(s) failed").into());
    }
    Ok(())
}
