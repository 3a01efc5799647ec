//! The `simodem` binary: parses the command line and runs the host until Ctrl-C or SIGTERM.
//! Exit codes: 0 clean stop, 1 runtime failure, 2 bad options or a port that cannot be used.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use simodem::cli::{Cli, CliCommand, ReplayArgs, RunArgs};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        CliCommand::Run(args) => run(*args),
        CliCommand::Replay(args) => replay(args),
    }
}

fn replay(args: ReplayArgs) -> ExitCode {
    let mut stdout = std::io::stdout();
    match simodem::scenario::replay_files(&args.files, args.junit.as_deref(), &mut stdout) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("simodem: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: RunArgs) -> ExitCode {
    let filter = if args.trace {
        EnvFilter::new("simodem=debug")
    } else {
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("simodem=info"))
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    if args.no_pty && args.tcp.is_none() && args.unix.is_none() {
        eprintln!("simodem: --no-pty needs --tcp or --unix, or the modem has no port");
        return ExitCode::from(2);
    }
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
        let hosted = args.hosted_modem();
        let model = hosted.config.profile.model;
        let running = match simodem::host::start(hosted).await {
            Ok(running) => running,
            Err(e) => {
                eprintln!("simodem: {e}");
                return ExitCode::from(2);
            }
        };
        // Listen for signals before announcing readiness, so a SIGTERM right after the banner
        // still stops the modem cleanly and removes its link.
        let shutdown = match ShutdownSignals::new() {
            Ok(signals) => signals,
            Err(e) => {
                eprintln!("simodem: cannot watch SIGTERM/SIGINT: {e}");
                running.stop().await;
                return ExitCode::from(1);
            }
        };
        let mut stdout = std::io::stdout();
        if let (Some(pts), Some(link)) = (&running.slave_path, &running.link) {
            let _ = writeln!(
                stdout,
                "simodem: {model} on {} (link {})",
                pts.display(),
                link.display()
            );
        }
        if let Some(addr) = running.tcp {
            let _ = writeln!(stdout, "simodem: {model} AT channel on tcp {addr}");
        }
        if let Some(path) = &running.unix {
            let _ = writeln!(
                stdout,
                "simodem: {model} AT channel on unix {}",
                path.display()
            );
        }
        let _ = stdout.flush();
        shutdown.wait().await;
        running.stop().await;
        ExitCode::SUCCESS
    })
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
