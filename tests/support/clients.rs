//! Shared by the real-client tests (tests/real_clients.rs, tests/sms_clients.rs,
//! tests/telit_sockets.rs): finding the clients, a `simodem run --trace` child with its own test
//! directory, and running a client.

use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// How long the emulator may take to print its ready line (or its whole banner).
pub const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// How long one client run may take (gammu's init alone is about 4 s).
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a process may take to stop after SIGTERM.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Time from the ready line (or banner) until the emulated modems have registered (about 0.7 s
/// after power-on). Clients are started after this, like on a modem that was switched on a
/// moment ago: python-gsmmodem reads `networkName` as None before registration, and gammu's
/// networkinfo would show "searching".
pub const BOOT_SETTLE: Duration = Duration::from_millis(1500);

// ---------------------------------------------------------------------------------------------
// Finding the clients
// ---------------------------------------------------------------------------------------------

pub fn skip_missing_allowed() -> bool {
    std::env::var("SIMODEM_SKIP_REAL_CLIENTS").is_ok_and(|v| v == "1")
}

/// Fails the test (or, with SIMODEM_SKIP_REAL_CLIENTS=1, prints a notice and returns false)
/// when a client is missing.
pub fn client_missing(test: &str, what: &str, install: &str) -> bool {
    if skip_missing_allowed() {
        eprintln!(
            "NOTICE: {test}: skipped because {what} is not installed \
             (SIMODEM_SKIP_REAL_CLIENTS=1); to run it: {install}"
        );
        false
    } else {
        panic!(
            "{test}: {what} is not installed; install it with `{install}` \
             (or set SIMODEM_SKIP_REAL_CLIENTS=1 to skip real-client tests)"
        );
    }
}

/// The first executable `program` in the directories of PATH, then in `extra_dirs`.
pub fn find_program(program: &str, extra_dirs: &[&str]) -> Option<PathBuf> {
    let path_dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    path_dirs
        .into_iter()
        .chain(extra_dirs.iter().map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| {
            fs::metadata(candidate)
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

/// Path of the gammu binary, or None when the test should return (skip allowed).
pub fn gammu(test: &str) -> Option<PathBuf> {
    let found = find_program("gammu", &[]);
    if found.is_none() {
        client_missing(test, "gammu", "apt-get install gammu");
    }
    found
}

/// Path of smstools' smsd, or None when the test should return (skip allowed). smsd lives in
/// /usr/sbin, which a non-root PATH often lacks.
pub fn smsd(test: &str) -> Option<PathBuf> {
    let found = find_program("smsd", &["/usr/sbin", "/usr/local/sbin"]);
    if found.is_none() {
        client_missing(test, "smsd", "apt-get install smstools");
    }
    found
}

/// Whether python3 with python-gsmmodem-new and pyserial is there.
pub fn python_gsmmodem(test: &str) -> bool {
    python_modules(
        test,
        "import gsmmodem.modem, serial",
        "python-gsmmodem-new (with pyserial)",
        "pip install python-gsmmodem-new pyserial",
    )
}

/// Whether python3 with pyserial is there (the scripts that talk AT themselves).
pub fn python_pyserial(test: &str) -> bool {
    python_modules(test, "import serial", "pyserial", "pip install pyserial")
}

/// Whether python3 runs `import_line`; if not, says what is missing and how to install it.
fn python_modules(test: &str, import_line: &str, what: &str, install: &str) -> bool {
    if find_program("python3", &[]).is_none() {
        return client_missing(test, "python3", "apt-get install python3 python3-pip");
    }
    let output = Command::new("python3")
        .args(["-c", import_line])
        .stdin(Stdio::null())
        .output()
        .expect("run python3");
    if output.status.success() {
        true
    } else {
        eprintln!("{}", String::from_utf8_lossy(&output.stderr));
        client_missing(test, what, install)
    }
}

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------

/// SIGTERM to the child; kill(2)'s return code.
pub fn terminate(child: &mut Child) -> libc::c_int {
    let pid = libc::pid_t::try_from(child.id()).expect("pid fits pid_t");
    // SAFETY: plain kill(2) on a child we spawned and have not reaped yet.
    unsafe { libc::kill(pid, libc::SIGTERM) }
}

pub fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// The lines of a child's stdout as they come; the pipe is drained to its end even when
/// nobody listens any more, so the child never blocks on it.
pub fn line_channel(stdout: ChildStdout) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel::<String>();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    rx
}

/// Reads the pipe to its end on a thread of its own.
pub fn reader(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

/// What a client (or `simodem ctl`) printed, and how it ended.
pub struct ClientRun {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    pub timed_out: bool,
}

impl ClientRun {
    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    pub fn describe(&self) -> String {
        format!(
            "{}{} after {:.1?}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.status,
            if self.timed_out {
                " (killed: time limit)"
            } else {
                ""
            },
            self.elapsed,
            self.stdout,
            self.stderr
        )
    }
}

/// Waits for a spawned child with piped stdout/stderr, killing it at the time limit.
pub fn collect(child: &mut Child, timeout: Duration) -> ClientRun {
    let started = Instant::now();
    let out = reader(child.stdout.take().expect("stdout piped"));
    let err = reader(child.stderr.take().expect("stderr piped"));
    let status = wait_timeout(child, timeout);
    let timed_out = status.is_none();
    let status = match status {
        Some(status) => status,
        None => {
            let _ = child.kill();
            child.wait().expect("wait for killed child")
        }
    };
    ClientRun {
        status,
        stdout: String::from_utf8_lossy(&out.join().unwrap_or_default()).into_owned(),
        stderr: String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned(),
        elapsed: started.elapsed(),
        timed_out,
    }
}

/// Spawns `command` with stdin closed and stdout/stderr piped (for `collect`).
pub fn spawn_piped(command: &mut Command) -> std::io::Result<Child> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
}

// ---------------------------------------------------------------------------------------------
// The emulator
// ---------------------------------------------------------------------------------------------

/// A `simodem run` child for one test: its own directory (removed at the end, kept and named on
/// failure) and its `--trace` log there.
pub struct Simodem {
    pub name: String,
    pub dir: PathBuf,
    pub log: PathBuf,
    child: Option<Child>,
    /// When the ready line (or banner) arrived; set by the caller.
    pub ready_at: Instant,
}

impl Simodem {
    /// A fresh `<temp>/simodem-<suite>-<name>-<pid>`.
    pub fn fresh_dir(suite: &str, name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("simodem-{}-{}-{}", suite, name, std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create test dir");
        dir
    }

    /// Starts `simodem run <args>` with its stderr in `<dir>/simodem-trace.log`; its stdout
    /// comes line by line through the receiver.
    pub fn spawn<I, S>(name: &str, dir: PathBuf, args: I) -> (Simodem, mpsc::Receiver<String>)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let log = dir.join("simodem-trace.log");
        let log_file = fs::File::create(&log).expect("create trace log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_simodem"))
            .arg("run")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .spawn()
            .expect("spawn simodem");
        let lines = line_channel(child.stdout.take().expect("simodem stdout"));
        let simodem = Simodem {
            name: name.to_string(),
            dir,
            log,
            child: Some(child),
            ready_at: Instant::now(),
        };
        (simodem, lines)
    }

    /// Waits until the modems have booted and registered (see BOOT_SETTLE).
    pub fn wait_booted(&self) {
        let settled = self.ready_at + BOOT_SETTLE;
        let now = Instant::now();
        if settled > now {
            thread::sleep(settled - now);
        }
    }

    /// Panics with the message, the test directory and the end of the emulator's trace.
    pub fn fail(&self, message: &str) -> ! {
        let trace = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = trace.lines().collect();
        let tail = lines[lines.len().saturating_sub(40)..].join("\n");
        panic!(
            "{}: {message}\n(test dir kept: {}; full emulator trace: {})\n--- last emulator trace lines ---\n{tail}",
            self.name,
            self.dir.display(),
            self.log.display()
        );
    }

    /// SIGTERM and wait for a clean exit (status 0 within STOP_TIMEOUT).
    pub fn stop(&mut self) {
        let mut child = self.child.take().expect("emulator still running");
        assert_eq!(terminate(&mut child), 0, "kill(SIGTERM) failed");
        let status = match wait_timeout(&mut child, STOP_TIMEOUT) {
            Some(status) => status,
            None => {
                let _ = child.kill();
                let _ = child.wait();
                self.fail(&format!(
                    "simodem did not stop within {STOP_TIMEOUT:?} of SIGTERM"
                ));
            }
        };
        if !status.success() {
            self.fail(&format!(
                "simodem exited with {status} after SIGTERM; want 0"
            ));
        }
    }
}

impl Drop for Simodem {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if thread::panicking() {
            eprintln!("{}: test dir kept: {}", self.name, self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}
