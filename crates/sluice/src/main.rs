//! `sluice`: Apache Kafka Connect, rebuilt in Rust.
//!
//! `sluice standalone worker.properties connector1.properties [connector2.properties ...]` does
//! what `connect-standalone.sh` does; `sluice distributed worker.properties` what
//! `connect-distributed.sh` does. This crate only wires the pieces: it reads files, starts
//! the REST server and the herder, and handles signals. `sluice ctl ...` is a command-line
//! client of any Kafka Connect REST API (kcctl's grammar).

mod ctl;
mod distributed;
mod files;
mod listeners;
mod logging;
mod rest_security;
mod rest_server;
mod standalone;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "sluice",
    version,
    about = "Apache Kafka Connect, rebuilt in Rust"
)]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Runs a single worker with connectors from properties (or JSON) files, like connect-standalone.sh.
    Standalone {
        /// Overrides the worker's `listeners` (e.g. `http://127.0.0.1:18083`), so one worker
        /// file can serve several workers on one machine.
        #[arg(long)]
        listeners: Option<String>,
        /// The worker configuration (`connect-standalone.properties`).
        worker: PathBuf,
        /// Connector configurations, one connector per file.
        connectors: Vec<PathBuf>,
    },
    /// Runs a worker that joins a cluster coordinated through Kafka, like connect-distributed.sh.
    Distributed {
        /// Overrides the worker's `listeners` (e.g. `http://127.0.0.1:18083`), so one worker
        /// file can serve several workers on one machine.
        #[arg(long)]
        listeners: Option<String>,
        /// The worker configuration (`connect-distributed.properties`).
        worker: PathBuf,
    },
    /// A command-line client of the Kafka Connect REST API (kcctl's grammar).
    Ctl(ctl::CtlArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Mode::Ctl(args) = cli.mode {
        // The client logs nothing and needs no more than one thread.
        return match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(ctl::run(args)),
            Err(e) => {
                eprintln!("sluice: could not start the async runtime: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let logging = std::sync::Arc::new(logging::init());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sluice: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.mode {
            Mode::Standalone {
                listeners,
                worker,
                connectors,
            } => standalone::run(&worker, &connectors, listeners.as_deref(), logging).await,
            Mode::Distributed { listeners, worker } => {
                distributed::run(&worker, listeners.as_deref(), logging).await
            }
            Mode::Ctl(_) => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sluice: {e:#}");
            ExitCode::FAILURE
        }
    }
}
