//! The `restore-drill` command line: parse arguments, start logging, run a command, exit with
//! its code (see `exit.rs`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use restore_drill::{commands, exit};

const EXIT_CODES: &str = "\
Exit codes:
  0    every drill met its targets (validate: every file is valid)
  10   a target (RTO or RPO) was missed
  11   a restore, phase or check failed
  20   a drill file is invalid
  30   harness or infrastructure error (credentials, endpoint unreachable)
  40   teardown left resources behind
  130  interrupted (after teardown)";

/// Proves that backups restore, and measures recovery time (RTO) and data loss (RPO).
///
/// A drill file says what to restore (an RDS database, an S3 prefix as of a moment, an AWS
/// Backup recovery point, or a self-managed PostgreSQL from base backups and WAL), where to
/// restore it (an isolated target), which integrity checks to run, and which tier's RTO/RPO
/// targets to meet.
#[derive(Debug, Parser)]
#[command(name = "restore-drill", version, after_help = EXIT_CODES)]
struct Cli {
    /// More log output on stderr (-v: debug, -vv: trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check drill files and report every problem, with file, line and key.
    ///
    /// Reads each drill, and the tiers.toml beside it if there is one, without contacting
    /// any provider. Every problem in a file is reported at once, as FILE:LINE:COLUMN.
    /// Exits 0 when every file is valid, 20 when any is not.
    #[command(
        after_help = "Examples:\n  restore-drill validate                  # every *.toml under drills/\n  restore-drill validate drills/orders.toml ci/drills/"
    )]
    Validate {
        /// Drill files, or directories searched recursively for *.toml (tiers.toml excepted).
        #[arg(default_value = "drills")]
        paths: Vec<PathBuf>,
    },
    /// Print what a drill would do, without doing it.
    ///
    /// Shows the tier targets, each restore's recovery point and source, the target it would
    /// create (names, region, isolation, tags), how checks connect, and every check. Nothing
    /// is contacted. An invalid drill prints its problems and exits 20.
    #[command(after_help = "Example:\n  restore-drill plan drills/orders.toml")]
    Plan {
        /// The drill file.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
    let code = match &cli.command {
        Command::Validate { paths } => commands::validate(paths, &mut out, &mut err),
        Command::Plan { file } => commands::plan(file, &mut out, &mut err),
    };
    debug_assert!(code != exit::INTERRUPTED || cfg!(unix));
    ExitCode::from(code)
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "restore_drill=debug",
        _ => "restore_drill=trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
