//! Shared by the integration tests: a world started in-process on its own tokio runtime, the
//! binary run as a child, the PTY opened like a client (raw termios), and a control client.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use simodem::host::{RunningWorld, StartError, start_world};
use simodem::network::{ModemSpec, WorldSpec};

pub mod atrun;
pub mod clients;

/// How long to wait for bytes or a state before failing (not a measurement: a hang guard).
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// A fresh directory for one test.
pub fn scratch(suite: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("simodem-{suite}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// A world running on a runtime of its own, so the test thread may block on ports.
pub struct World {
    pub runtime: tokio::runtime::Runtime,
    pub running: Option<RunningWorld>,
    pub control: PathBuf,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

impl World {
    /// Modems linked at `<dir>/tty0`, `<dir>/tty1`, ... unless a spec says otherwise; the
    /// control socket at `<dir>/ctl`.
    pub fn start(dir: &Path, specs: Vec<ModemSpec>, record: Option<PathBuf>) -> World {
        let control = dir.join("ctl");
        match Self::try_start(dir, specs, control.clone(), record) {
            Ok(world) => world,
            Err(e) => panic!("world did not start: {e}"),
        }
    }

    pub fn try_start(
        dir: &Path,
        specs: Vec<ModemSpec>,
        control: PathBuf,
        record: Option<PathBuf>,
    ) -> Result<World, StartError> {
        let modems = specs
            .into_iter()
            .enumerate()
            .map(|(i, mut spec)| {
                if spec.link.is_none() && !spec.no_pty {
                    spec.link = Some(dir.join(format!("tty{i}")));
                }
                spec
            })
            .collect();
        let world = WorldSpec {
            modems,
            ..WorldSpec::default()
        };
        let resolved = world.resolve().expect("resolve world");
        let runtime = runtime();
        let running = runtime.block_on(start_world(resolved, Some(control.clone()), record))?;
        Ok(World {
            runtime,
            running: Some(running),
            control,
        })
    }

    /// One default SIM900.
    pub fn one(dir: &Path) -> World {
        World::start(dir, vec![ModemSpec::default()], None)
    }

    pub fn running(&self) -> &RunningWorld {
        self.running.as_ref().expect("running")
    }

    pub fn link(&self, index: usize) -> PathBuf {
        self.running().modems[index].link.clone().expect("link")
    }

    pub fn port(&self, index: usize) -> Port {
        Port::open(&self.link(index))
    }

    pub fn ctl(&self) -> Ctl {
        Ctl::connect(&self.control)
    }

    /// Stops the world (and writes its recording).
    pub fn stop(mut self) {
        if let Some(running) = self.running.take() {
            self.runtime
                .block_on(running.stop())
                .expect("stop (write the recording)");
        }
    }
}

/// A `simodem run` child and its banner (every line up to the control socket's).
pub struct Emulator {
    pub child: Child,
    pub banner: Vec<String>,
}

impl Emulator {
    pub fn start(args: &[&str]) -> Emulator {
        Self::start_with_stderr(args, Stdio::null())
    }

    pub fn start_with_stderr(args: &[&str], stderr: Stdio) -> Emulator {
        let mut child = Command::new(env!("CARGO_BIN_EXE_simodem"))
            .arg("run")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn simodem");
        let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
        let mut banner = Vec::new();
        loop {
            let mut line = String::new();
            let n = reader.read_line(&mut line).expect("read banner");
            assert!(n > 0, "simodem exited before it was ready: {banner:?}");
            let line = line.trim_end().to_string();
            let last = line.starts_with("simodem: control socket ");
            banner.push(line);
            if last {
                break;
            }
        }
        Emulator { child, banner }
    }

    pub fn terminate(mut self) -> std::process::ExitStatus {
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        self.child.wait().expect("wait")
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The client side of a PTY, opened and configured like pyserial or gammu do.
pub struct Port {
    pub file: std::fs::File,
}

impl Port {
    pub fn open(path: &Path) -> Port {
        let c_path =
            std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("path without NUL");
        // SAFETY: valid NUL-terminated path.
        let fd = unsafe { libc::open(c_path.as_ptr(), libc::O_RDWR | libc::O_NOCTTY) };
        assert!(
            fd >= 0,
            "open {}: {}",
            path.display(),
            std::io::Error::last_os_error()
        );
        // SAFETY: fd was just opened and is owned here.
        let file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
        let port = Port { file };
        port.set_speed(libc::B115200);
        port
    }

    /// Raw mode at `speed`; B0 is what gammu leaves a PTY at for its whole session.
    pub fn set_speed(&self, speed: libc::speed_t) {
        let fd = self.file.as_raw_fd();
        // SAFETY: termios is plain data, fd is an open tty.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            assert_eq!(libc::tcgetattr(fd, &mut t), 0);
            libc::cfmakeraw(&mut t);
            libc::cfsetispeed(&mut t, speed);
            libc::cfsetospeed(&mut t, speed);
            t.c_cc[libc::VMIN] = 0;
            t.c_cc[libc::VTIME] = 1;
            assert_eq!(libc::tcsetattr(fd, libc::TCSANOW, &t), 0);
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.file.write_all(bytes).expect("write to port");
    }

    /// Reads until `expected.len()` bytes arrived (or the hang guard), and compares exactly.
    pub fn expect(&mut self, expected: &[u8]) {
        let got = read_exactly(&mut self.file, expected.len());
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(expected)
        );
    }

    pub fn exchange(&mut self, command: &[u8], expected: &[u8]) {
        self.send(command);
        self.expect(expected);
    }
}

/// Reads `len` bytes or whatever came before the hang guard; bytes that arrived in the same read
/// beyond `len` are kept, so an exact comparison also catches extras sent along.
pub fn read_exactly(reader: &mut impl Read, len: usize) -> Vec<u8> {
    let deadline = Instant::now() + TIMEOUT;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while got.len() < len && Instant::now() < deadline {
        match reader.read(&mut buf) {
            Ok(0) => {}
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => panic!("read: {e}"),
        }
    }
    got
}

/// A control-socket client: one JSON line out, one JSON line back.
pub struct Ctl {
    pub reader: BufReader<UnixStream>,
    pub writer: UnixStream,
}

impl Ctl {
    pub fn connect(path: &Path) -> Ctl {
        let stream = UnixStream::connect(path).expect("connect to the control socket");
        stream.set_read_timeout(Some(TIMEOUT)).expect("timeout");
        let writer = stream.try_clone().expect("clone");
        Ctl {
            reader: BufReader::new(stream),
            writer,
        }
    }

    pub fn send_line(&mut self, line: &str) {
        self.writer
            .write_all(format!("{line}\n").as_bytes())
            .expect("send request");
    }

    /// The next line, without its newline.
    pub fn read_line(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("read response");
        assert!(line.ends_with('\n'), "incomplete line {line:?}");
        line.pop();
        line
    }

    /// Sends one request line and returns the response line.
    pub fn request(&mut self, line: &str) -> String {
        self.send_line(line);
        self.read_line()
    }

    pub fn request_json(&mut self, line: &str) -> Value {
        let response = self.request(line);
        serde_json::from_str(&response).expect("response is JSON")
    }

    /// Polls `state` of `modem` until `done` holds (start-up takes under a second).
    pub fn wait_state(&mut self, modem: usize, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let response = self.request_json(&format!(r#"{{"verb":"state","modem":"{modem}"}}"#));
            let state = &response["state"];
            if done(state) {
                return state.clone();
            }
            assert!(Instant::now() < deadline, "state never came: {response}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until modem `modem` is registered on the network.
    pub fn wait_registered(&mut self, modem: usize) {
        self.wait_state(modem, |s| s["registration"]["creg"] == 1);
    }

    /// Waits until modem `modem` sees (or no longer sees) a client.
    pub fn wait_attached(&mut self, modem: usize, attached: bool) {
        self.wait_state(modem, |s| s["client_attached"] == attached);
    }
}

/// `line` with its leading `"at_us":N` taken out, and N.
pub fn split_time(line: &str) -> (u64, String) {
    let value: Value = serde_json::from_str(line).expect("event is JSON");
    let at = value["at_us"].as_u64().expect("at_us");
    (at, line.replacen(&format!(r#""at_us":{at},"#), "", 1))
}

/// A loopback server that holds each connection until the other side closes it, then counts
/// it: for tests that open and close many connections and check nothing is left behind.
pub struct ClosingServer {
    pub port: u16,
    finished: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ClosingServer {
    pub fn start() -> ClosingServer {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let finished = Arc::new(AtomicUsize::new(0));
        let thread = {
            let (stop, finished) = (stop.clone(), finished.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        // Held until the modem closes it, so the modem is always the one closing.
                        Ok((mut stream, _)) => {
                            let _ = stream.set_nonblocking(false);
                            let _ = stream.set_read_timeout(Some(TIMEOUT));
                            let _ = stream.read_to_end(&mut Vec::new());
                            drop(stream);
                            finished.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(1)),
                    }
                }
            })
        };
        ClosingServer {
            port,
            finished,
            stop,
            thread: Some(thread),
        }
    }

    /// Waits (up to the hang guard) until `count` connections were closed by the other side.
    pub fn settled(&self, count: usize) {
        use std::sync::atomic::Ordering;
        let deadline = Instant::now() + TIMEOUT;
        while self.finished.load(Ordering::SeqCst) < count && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(
            self.finished.load(Ordering::SeqCst),
            count,
            "server side closed"
        );
    }
}

impl Drop for ClosingServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Drops `stream` with SO_LINGER 0: the peer gets a reset, not a FIN.
pub fn reset(stream: std::net::TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt on an open socket with a correctly sized linger struct.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "SO_LINGER");
    drop(stream);
}
