//! A world of modems on a tokio current-thread runtime in its own thread (as the binary runs
//! it), and what the benches read about this process (`VmRSS`, CPU time) from `/proc`.

use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use simodem::host::{HostedModem, ModemInfo, start_world};
use simodem::network::{ModemSpec, WorldSpec, replicate};

use super::spawn_runtime_thread;

// ----- a world on a current-thread runtime in its own thread -----

pub struct WorldThread {
    pub modems: Vec<ModemInfo>,
    /// How long `start_world` took to return.
    pub start_took: Duration,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl WorldThread {
    pub fn start(
        resolved: Vec<HostedModem>,
        control: Option<PathBuf>,
    ) -> Result<WorldThread, String> {
        type Ready = Result<(Vec<ModemInfo>, Duration), String>;
        let (ready_tx, ready_rx) = mpsc::channel::<Ready>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = spawn_runtime_thread("simodem-world", ready_tx, move |ready_tx| async move {
            let started = Instant::now();
            match start_world(resolved, control, None).await {
                Ok(world) => {
                    let took = started.elapsed();
                    let _ = ready_tx.send(Ok((world.handle().modems(), took)));
                    let _ = stop_rx.await;
                    if let Err(e) = world.stop().await {
                        eprintln!("world stop: {e}");
                    }
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string()));
                }
            }
        })
        .map_err(|e| format!("spawn: {e}"))?;
        let ready = ready_rx
            .recv()
            .map_err(|_| "world thread died before it was ready".to_string())
            .and_then(|r| r);
        match ready {
            Ok((modems, start_took)) => Ok(WorldThread {
                modems,
                start_took,
                stop: Some(stop_tx),
                thread: Some(thread),
            }),
            Err(e) => {
                let _ = thread.join();
                Err(e)
            }
        }
    }

    pub fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

pub fn resolve(spec: ModemSpec, count: usize) -> Result<Vec<HostedModem>, String> {
    WorldSpec {
        modems: replicate(&spec, count)?,
        ..WorldSpec::default()
    }
    .resolve()
}

/// `VmRSS` of this process in KiB.
pub fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

pub fn read_proc(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|e| format!("unreadable ({e})"))
}

/// CPU time (user + system) this process has used so far, from `/proc/self/stat`.
pub fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (hz > 0).then(|| Duration::from_secs_f64(ticks as f64 / hz as f64))
}

/// How many inotify instances this process holds (`anon_inode:inotify` in `/proc/self/fd`).
pub fn inotify_instances() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .filter(|e| {
                    std::fs::read_link(e.path())
                        .is_ok_and(|t| t.to_string_lossy() == "anon_inode:inotify")
                })
                .count()
        })
        .unwrap_or(0)
}
