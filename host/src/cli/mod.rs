//! Command-line interface. `serve` runs the server; `admin` manages accounts and keys (also
//! while a server runs) and the embedded PostgreSQL's standbys (`admin pg`); `bench` drives
//! any S3 endpoint with load; `policy eval` runs a policy module offline.

mod admin;
mod bench;
mod database;
mod pg;
mod policy;
mod replay;
mod serve;
mod storage;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Coffer: S3-compatible object storage with programmable access policies.
#[derive(Debug, Parser)]
#[command(name = "coffer", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    // Boxed: the server's many flags make it far larger than the other commands.
    Serve(Box<serve::ServeArgs>),
    /// Manage accounts and access keys.
    Admin(admin::AdminArgs),
    /// Drive an S3 endpoint with load and report throughput and latency.
    // Boxed for the same reason.
    Bench(Box<bench::BenchArgs>),
    /// Work with policy modules offline (evaluate one on a JSON request).
    Policy(policy::PolicyArgs),
}

/// Where the database is: shared by `serve` and `admin`.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// Data directory: embedded PostgreSQL, master key and default volume.
    #[arg(long, default_value = "./coffer-data", env = "COFFER_DATA_DIR")]
    pub data_dir: PathBuf,
    /// Use this PostgreSQL instead of the embedded one.
    #[arg(long, env = "COFFER_DATABASE_URL")]
    pub database_url: Option<String>,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    // Colours only on a terminal: a log written to a file or a pipe stays plain text.
    let log = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .finish();
    // The log as it is, plus sqlx's query and acquire events for /metrics.
    let _ = coffer::metrics::db::install(log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::run(*args).await,
            Command::Admin(args) => admin::run(args).await,
            Command::Bench(args) => bench::run(*args).await,
            Command::Policy(args) => policy::run(args),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
