//! Figure 4: scenario replay speed on the virtual clock — every `scenarios/*.json` replayed with
//! `scenario::run::run_virtual`, modem time (the outcome's `ended`) against wall time per pass.
//! The reference, real time, is `scenario::run_realtime` on one scenario in the same run.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use simodem::scenario::{Scenario, run::run_virtual, run_realtime};

/// Every `scenarios/*.json` of the crate, sorted.
pub fn scenario_paths() -> Result<Vec<PathBuf>, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    Ok(paths)
}

pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// One scenario's replay on the virtual clock.
pub enum ReplayRow {
    Measured {
        name: String,
        steps: usize,
        /// Modem time when the last step finished, µs.
        modem_us: u64,
        /// Wall time of one replay pass.
        wall: Duration,
    },
    /// It cannot be loaded, or its first replay fails: not timed.
    Broken { name: String, why: String },
}

/// `passes` virtual-clock replays of every scenario (after one checked replay each).
pub fn replay_speed(passes: usize) -> Result<Vec<ReplayRow>, String> {
    let mut rows = Vec::new();
    for path in scenario_paths()? {
        let name = file_name(&path);
        let scenario = match Scenario::from_file(&path) {
            Ok(s) => s,
            Err(e) => {
                rows.push(ReplayRow::Broken {
                    name,
                    why: format!("cannot load: {e}"),
                });
                continue;
            }
        };
        let first = run_virtual(&scenario);
        if let Some(failure) = &first.failure {
            rows.push(ReplayRow::Broken {
                name,
                why: format!(
                    "FAILS at step {} (line {}): {}",
                    failure.step, failure.line, failure.reason
                ),
            });
            continue;
        }
        let started = Instant::now();
        for _ in 0..passes {
            std::hint::black_box(run_virtual(std::hint::black_box(&scenario)));
        }
        rows.push(ReplayRow::Measured {
            name,
            steps: first.steps_run,
            modem_us: first.ended.0,
            wall: started.elapsed() / passes.max(1) as u32,
        });
    }
    Ok(rows)
}

/// One real-time replay of `scenarios/<name>`: (modem µs, wall time). The baseline of the
/// virtual clock's speed-up: a modem in real time simulates one modem-second per second.
pub fn realtime_replay(name: &str) -> Result<(u64, Duration), String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name);
    let scenario = Scenario::from_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let started = Instant::now();
    let outcome = run_realtime(&scenario);
    let wall = started.elapsed();
    if let Some(failure) = &outcome.failure {
        return Err(format!(
            "{name} in real time fails at step {} (line {}): {}",
            failure.step, failure.line, failure.reason
        ));
    }
    Ok((outcome.ended.0, wall))
}
