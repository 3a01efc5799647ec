//! `simodem soak`: a world of SIM900s and Telits on real PTYs, driven at once by one client
//! thread each for N minutes, then checked: every SMS and byte accounted for, no fd/RSS growth.

pub mod driver;
pub mod echo;
pub mod ledger;
pub mod port;
pub mod process;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use driver::{Driver, Model, Shared};
use echo::EchoServer;
use ledger::{Ledger, Totals};
use process::Sample;

use crate::network::{ModemSpec, WorldSpec};

/// What to soak.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long activities keep starting (the drain comes after).
    pub duration: Duration,
    /// Modems: even indices SIM900, odd ones Telit.
    pub modems: usize,
    pub seed: u64,
}

/// Descriptors the process may hold at the end beyond what it held after the warm-up.
pub const FD_SLACK: usize = 4;
/// RSS the process may gain after the warm-up: this many KiB plus a quarter of the warm-up RSS.
pub const RSS_SLACK_KIB: u64 = 16 * 1024;
/// Threads beyond the warm-up count the end may show.
pub const THREAD_SLACK: u64 = 2;

/// Panics anywhere in the process since the soak started.
static PANICS: AtomicUsize = AtomicUsize::new(0);

fn count_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        previous(info);
    }));
}

/// One line of the checks table.
struct Check {
    name: &'static str,
    ok: bool,
    detail: String,
}

/// Runs the soak, prints the summary to `out`; `Ok(true)` when every check held, `Err` when the
/// world could not even start.
pub fn run(options: &Options, out: &mut dyn Write) -> Result<bool, String> {
    if options.modems < 2 {
        return Err("a soak needs at least 2 modems".into());
    }
    count_panics();
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let dir = std::env::temp_dir().join(format!("simodem-soak-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let result = soak(options, &runtime, &dir, started, out);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn world_spec(options: &Options, dir: &Path) -> (WorldSpec, Vec<Model>) {
    let models: Vec<Model> = (0..options.modems)
        .map(|i| {
            if i % 2 == 0 {
                Model::Sim900
            } else {
                Model::Telit
            }
        })
        .collect();
    let modems = models
        .iter()
        .enumerate()
        .map(|(i, model)| ModemSpec {
            model: Some(
                match model {
                    Model::Sim900 => "sim900",
                    Model::Telit => "telit",
                }
                .into(),
            ),
            link: Some(dir.join(format!("tty{i}"))),
            // One AT instance: the soak drives the first.
            instances: (*model == Model::Telit).then_some(1),
            ..ModemSpec::default()
        })
        .collect();
    (
        WorldSpec {
            control: Some(dir.join("ctl")),
            modems,
            ..WorldSpec::default()
        },
        models,
    )
}

fn soak(
    options: &Options,
    runtime: &tokio::runtime::Runtime,
    dir: &Path,
    started: Instant,
    out: &mut dyn Write,
) -> Result<bool, String> {
    let before = process::sample();
    let (spec, models) = world_spec(options, dir);
    let resolved = spec.resolve()?;
    let control: PathBuf = dir.join("ctl");
    let world = runtime
        .block_on(crate::host::world::start_world(
            resolved,
            Some(control.clone()),
            None,
        ))
        .map_err(|e| e.to_string())?;
    let echo = EchoServer::start().map_err(|e| format!("cannot start the echo server: {e}"))?;
    let infos = world.handle().modems();
    let shared = Arc::new(Shared {
        ledger: Ledger::new(infos.iter().map(|m| m.number.clone()).collect()),
        echo,
        links: infos
            .iter()
            .map(|m| m.link.clone().unwrap_or_default())
            .collect(),
        models,
        numbers: infos.iter().map(|m| m.number.clone()).collect(),
        control,
        deadline: Instant::now() + options.duration,
        done_sending: AtomicUsize::new(0),
        finished: AtomicUsize::new(0),
        next_session: AtomicU64::new(1),
    });
    let _ = writeln!(
        out,
        "simodem soak: {} modems ({} SIM900, {} Telit), {} s of activities, seed {}",
        options.modems,
        options.modems.div_ceil(2),
        options.modems / 2,
        options.duration.as_secs(),
        options.seed
    );
    let _ = out.flush();

    let mut threads = Vec::new();
    for index in 0..options.modems {
        let shared = shared.clone();
        let seed = options
            .seed
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(index as u64);
        let spawned = std::thread::Builder::new()
            .name(format!("soak-modem-{index}"))
            .spawn(move || match Driver::new(index, seed, shared.clone()) {
                Ok(driver) => driver.run(),
                Err(e) => {
                    shared.ledger.fail(e);
                    shared.done_sending.fetch_add(1, Ordering::SeqCst);
                    shared.finished.fetch_add(1, Ordering::SeqCst);
                }
            });
        match spawned {
            Ok(thread) => threads.push(thread),
            Err(e) => return Err(format!("cannot start a driver thread: {e}")),
        }
    }

    // The world runs on this thread while the drivers work; samples once a second.
    let warm_at = started + (options.duration / 5).min(Duration::from_secs(300));
    // Activities end at the deadline; the drain and the last session may take a while more.
    let hard_end = shared.deadline + Duration::from_secs(240);
    let (warm, peak_rss) = runtime.block_on(async {
        let mut warm: Option<Sample> = None;
        let mut peak = 0u64;
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let now = process::sample();
            peak = peak.max(now.rss_kib);
            if warm.is_none() && Instant::now() >= warm_at {
                warm = Some(now);
            }
            if shared.finished.load(Ordering::SeqCst) == options.modems || Instant::now() > hard_end
            {
                return (warm.unwrap_or(now), peak);
            }
        }
    });
    let unfinished = options.modems - shared.finished.load(Ordering::SeqCst);
    if unfinished > 0 {
        shared
            .ledger
            .fail(format!("{unfinished} drivers did not finish in time"));
    }
    for thread in threads {
        if thread.is_finished() && thread.join().is_err() {
            shared.ledger.fail("a driver thread panicked".into());
        }
    }
    // Every client has closed its port and control connection; the world still runs.
    let end = process::sample();
    let open_connections = shared.echo.open_connections();
    let anonymous = shared.echo.anonymous();
    runtime
        .block_on(world.stop())
        .map_err(|e| format!("stopping the world: {e}"))?;
    let totals = shared.ledger.totals();
    let (failures, failure_count) = shared.ledger.failures();
    // The echo server's threads go with it.
    match Arc::try_unwrap(shared) {
        Ok(shared) => shared.echo.stop(),
        Err(_) => tracing::warn!("soak: a driver still holds the echo server"),
    }
    let after = process::sample();
    let elapsed = started.elapsed();

    let checks = checks(
        &totals,
        failure_count,
        Measures {
            before,
            warm,
            end,
            after,
            open_connections,
            anonymous,
        },
    );
    print_summary(
        out,
        &totals,
        &checks,
        &failures,
        failure_count,
        Measures {
            before,
            warm,
            end,
            after,
            open_connections,
            anonymous,
        },
        peak_rss,
        elapsed,
    );
    Ok(checks.iter().all(|c| c.ok))
}

#[derive(Clone, Copy)]
struct Measures {
    /// Before the world started.
    before: Sample,
    /// After the warm-up (a fifth of the run, at most 5 minutes).
    warm: Sample,
    /// After the drivers finished, the world still running.
    end: Sample,
    /// After the world and the echo server stopped.
    after: Sample,
    open_connections: u64,
    anonymous: u64,
}

fn checks(t: &Totals, failure_count: u64, m: Measures) -> Vec<Check> {
    let rss_bound = m.warm.rss_kib + RSS_SLACK_KIB + m.warm.rss_kib / 4;
    vec![
        Check {
            name: "every confirmed SMS arrived exactly once",
            ok: t.sms_confirmed_missing == 0
                && t.sms_duplicates == 0
                && t.sms_confirmed_arrived_once == t.sms_confirmed,
            detail: format!(
                "{}/{} once, {} missing, {} duplicates",
                t.sms_confirmed_arrived_once,
                t.sms_confirmed,
                t.sms_confirmed_missing,
                t.sms_duplicates
            ),
        },
        Check {
            name: "no refused, stray or unresolved SMS arrived",
            ok: t.sms_refused_arrived == 0 && t.sms_strays == 0 && t.sms_pending == 0,
            detail: format!(
                "{} refused arrived, {} strays, {} unresolved",
                t.sms_refused_arrived, t.sms_strays, t.sms_pending
            ),
        },
        Check {
            name: "every TCP byte accounted for",
            ok: t.tcp_violations == 0
                && t.bytes_server_received + t.bytes_lost_allowed >= t.bytes_sent
                && t.tcp_sessions > 0,
            detail: format!(
                "{} sessions, {} violations, {} B lost only to deliberate disruptions",
                t.tcp_sessions, t.tcp_violations, t.bytes_lost_allowed
            ),
        },
        Check {
            name: "no unexpected answer from a modem",
            ok: failure_count == 0,
            detail: format!("{failure_count} failures"),
        },
        Check {
            name: "no panic",
            ok: PANICS.load(Ordering::SeqCst) == 0,
            detail: format!("{} panics", PANICS.load(Ordering::SeqCst)),
        },
        Check {
            name: "fds: end <= warm-up + slack, none left after stop",
            ok: m.end.fds <= m.warm.fds + FD_SLACK && m.after.fds <= m.before.fds,
            detail: format!(
                "before {}, warm-up {}, end {}, after stop {}",
                m.before.fds, m.warm.fds, m.end.fds, m.after.fds
            ),
        },
        Check {
            name: "RSS: end <= warm-up * 1.25 + 16 MiB",
            ok: m.end.rss_kib <= rss_bound,
            detail: format!(
                "warm-up {} KiB, end {} KiB, bound {} KiB",
                m.warm.rss_kib, m.end.rss_kib, rss_bound
            ),
        },
        Check {
            name: "threads and echo connections: none left over",
            ok: m.end.threads <= m.warm.threads + THREAD_SLACK
                && m.open_connections == 0
                && m.anonymous == 0,
            detail: format!(
                "threads warm-up {}, end {}; open connections {}, headerless {}",
                m.warm.threads, m.end.threads, m.open_connections, m.anonymous
            ),
        },
    ]
}

#[allow(clippy::too_many_arguments)]
fn print_summary(
    out: &mut dyn Write,
    t: &Totals,
    checks: &[Check],
    failures: &[String],
    failure_count: u64,
    m: Measures,
    peak_rss: u64,
    elapsed: Duration,
) {
    let mut lines: Vec<String> = Vec::new();
    lines.push(format!("soak ran {:.1} s", elapsed.as_secs_f64()));
    lines.push(String::new());
    lines.push(format!("{:<44} {:>12}", "activity", "count"));
    let rows: [(&str, u64); 24] = [
        ("SMS attempted", t.sms_attempted),
        ("SMS confirmed (+CMGS)", t.sms_confirmed),
        ("SMS refused on purpose (no network)", t.sms_refused),
        ("SMS cut by a reboot (may arrive once)", t.sms_uncertain),
        ("SMS read by the receivers", t.sms_arrived),
        ("SMS cut by a reboot that arrived", t.sms_uncertain_arrived),
        ("TCP sessions", t.tcp_sessions),
        ("TCP sessions ended cleanly", t.tcp_clean),
        (
            "TCP sessions in command mode (+CIPSEND)",
            t.command_mode_sessions,
        ),
        ("TCP sessions cut on purpose", t.tcp_disrupted),
        ("TCP sessions broken (failures)", t.tcp_broken),
        ("TCP bytes sent by the clients", t.bytes_sent),
        (
            "TCP bytes received by the echo server",
            t.bytes_server_received,
        ),
        ("TCP bytes echoed", t.bytes_echoed),
        ("TCP bytes read back and compared", t.bytes_verified),
        (
            "TCP bytes lost to deliberate disruptions",
            t.bytes_lost_allowed,
        ),
        ("+++ escapes", t.escapes),
        ("DTR drops under &D1 (ATO after)", t.dtr_resumes),
        ("echo held while out of data mode", t.held_echoes),
        ("DTR drops under &D2 (link closed)", t.dtr_closes),
        ("DTR drops in command mode", t.dtr_idle),
        ("network losses", t.network_losses),
        ("reboots (of which mid-SMS)", t.reboots),
        ("retries a real client makes", t.retries),
    ];
    for (name, value) in rows {
        let value = if name.starts_with("reboots") {
            format!("{value} ({})", t.reboots_mid_sms)
        } else {
            value.to_string()
        };
        lines.push(format!("  {name:<42} {value:>12}"));
    }
    lines.push(String::new());
    lines.push(format!(
        "{:<44} {:>8} {:>8} {:>8} {:>8}",
        "process", "before", "warm-up", "end", "after"
    ));
    lines.push(format!(
        "  {:<42} {:>8} {:>8} {:>8} {:>8}",
        "open fds", m.before.fds, m.warm.fds, m.end.fds, m.after.fds
    ));
    lines.push(format!(
        "  {:<42} {:>8} {:>8} {:>8} {:>8}",
        "RSS KiB", m.before.rss_kib, m.warm.rss_kib, m.end.rss_kib, m.after.rss_kib
    ));
    lines.push(format!(
        "  {:<42} {:>8} {:>8} {:>8} {:>8}",
        "threads", m.before.threads, m.warm.threads, m.end.threads, m.after.threads
    ));
    lines.push(format!("  {:<42} {:>8}", "peak RSS KiB", peak_rss));
    lines.push(String::new());
    lines.push(format!("{:<52} result", "check"));
    for c in checks {
        lines.push(format!(
            "  {:<50} {}  {}",
            c.name,
            if c.ok { "ok  " } else { "FAIL" },
            c.detail
        ));
    }
    if failure_count > 0 {
        lines.push(String::new());
        lines.push(format!(
            "failures ({failure_count}, first {} shown):",
            failures.len()
        ));
        for f in failures {
            lines.push(format!("  {f}"));
        }
    }
    lines.push(String::new());
    let pass = checks.iter().all(|c| c.ok);
    lines.push(format!("soak: {}", if pass { "PASS" } else { "FAIL" }));
    for line in lines {
        let _ = writeln!(out, "{line}");
    }
    let _ = out.flush();
}
