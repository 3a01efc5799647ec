//! The `simodem` binary: `run` (a world until Ctrl-C or SIGTERM), `ctl`, `replay` and `soak`.
//! Exit codes: 0 clean stop / ok, 1 runtime failure / refused request, 2 bad options or ports.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use simodem::cli::{Cli, CliCommand, CtlArgs, ReplayArgs, RunArgs, SoakArgs};
use simodem::host::trace;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::prelude::*;
use tracing_subscriber::{EnvFilter, fmt};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        CliCommand::Run(args) => run(*args),
        CliCommand::Ctl(args) => ctl(args),
        CliCommand::Replay(args) => replay(args),
        CliCommand::Soak(args) => soak(args),
    }
}

fn soak(args: SoakArgs) -> ExitCode {
    // The world's own warnings and errors, and the soak's failures as they happen.
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("simodem=warn"));
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt::layer().with_writer(std::io::stderr))
        .init();
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
    });
    let options = simodem::soak::Options {
        duration: std::time::Duration::from_secs_f64(args.minutes * 60.0),
        modems: usize::from(args.modems),
        seed,
    };
    match simodem::soak::run(&options, &mut std::io::stdout()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("simodem soak: {e}");
            ExitCode::from(2)
        }
    }
}

fn replay(args: ReplayArgs) -> ExitCode {
    let mut stdout = std::io::stdout();
    match simodem::scenario::replay_files(
        &args.files,
        args.junit.as_deref(),
        args.realtime,
        &mut stdout,
    ) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("simodem: {e}");
            ExitCode::from(2)
        }
    }
}

/// Logs on stderr; transcript lines (`simodem::trace`) bare, without time, level or target.
fn init_logging(trace_all: bool) {
    let filter = if trace_all {
        EnvFilter::new("simodem=debug")
    } else {
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("simodem=info"))
    };
    let transcript = fmt::layer()
        .with_writer(std::io::stderr)
        .without_time()
        .with_level(false)
        .with_target(false)
        .with_ansi(false)
        .with_filter(filter_fn(|meta| meta.target() == trace::TARGET));
    let logs = fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(filter_fn(|meta| meta.target() != trace::TARGET));
    tracing_subscriber::registry()
        .with(filter)
        .with(transcript)
        .with(logs)
        .init();
}

fn run(args: RunArgs) -> ExitCode {
    init_logging(args.trace);
    let plan = match args.plan() {
        Ok(plan) => plan,
        Err(e) => {
            eprintln!("simodem: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("simodem: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async move {
        let started = simodem::host::world::start_world_with(
            plan.modems,
            Some(plan.control),
            plan.record,
            plan.sms_delay_ms,
        )
        .await;
        let world = match started {
            Ok(world) => world,
            Err(e) => {
                eprintln!("simodem: {e}");
                return ExitCode::from(2);
            }
        };
        // Listen for signals before announcing readiness, so a SIGTERM right after the banner
        // still stops the modems cleanly and removes their links.
        let shutdown = match ShutdownSignals::new() {
            Ok(signals) => signals,
            Err(e) => {
                eprintln!("simodem: cannot watch SIGTERM/SIGINT: {e}");
                let _ = world.stop().await;
                return ExitCode::from(1);
            }
        };
        let mut stdout = std::io::stdout();
        for line in world.banner_lines() {
            let _ = writeln!(stdout, "{line}");
        }
        let _ = stdout.flush();
        shutdown.wait().await;
        match world.stop().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("simodem: cannot write the recording: {e}");
                ExitCode::from(1)
            }
        }
    })
}

fn ctl(args: CtlArgs) -> ExitCode {
    let request = match args.request() {
        Ok(request) => request,
        Err(e) => {
            eprintln!("simodem ctl: {e}; see simodem ctl --help");
            return ExitCode::from(2);
        }
    };
    let path = args.control_path();
    if args.readable_sms_sent() {
        let mut response = Vec::new();
        return match simodem::host::control::ctl(&path, &request, &mut response) {
            Ok(ok) => {
                let text = String::from_utf8_lossy(&response);
                match simodem::cli::sms_sent_lines(&text) {
                    Ok(lines) if ok => {
                        let mut stdout = std::io::stdout();
                        for line in lines {
                            let _ = writeln!(stdout, "{line}");
                        }
                        ExitCode::SUCCESS
                    }
                    _ => {
                        print!("{text}");
                        ExitCode::from(1)
                    }
                }
            }
            Err(e) => {
                eprintln!("simodem ctl: {e}");
                ExitCode::from(2)
            }
        };
    }
    match simodem::host::control::ctl(&path, &request, &mut std::io::stdout()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("simodem ctl: {e}");
            ExitCode::from(2)
        }
    }
}

/// SIGTERM and SIGINT, registered up front.
struct ShutdownSignals {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

impl ShutdownSignals {
    fn new() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(ShutdownSignals {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    async fn wait(mut self) {
        tokio::select! {
            _ = self.terminate.recv() => {}
            _ = self.interrupt.recv() => {}
        }
    }
}
