//! The `restore-drill` command line: parse arguments, start logging, run a command, exit with
//! its code (see `exit.rs`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use restore_drill::commands;

/// Where `demo` writes unless told otherwise: apart from `reports/`, so a demo run never counts
/// as compliance evidence for drills/demo-local.toml.
const DEMO_REPORTS: &str = "reports-demo";

const EXIT_CODES: &str = "\
Exit codes:
  0    every drill met its targets (validate: every file is valid)
  10   a target (RTO or RPO) was missed
  11   a restore, phase or check failed
  20   a drill file is invalid
  30   harness or infrastructure error (credentials, endpoint unreachable)
  40   teardown left resources behind
  50   evidence does not verify (evidence verify / export)
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
    /// More log output on stderr: -v shows each AWS call (operation, attempt, HTTP status,
    /// latency) and each poll of a wait; -vv everything at trace level. RUST_LOG overrides.
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
        after_help = "Examples:\n  restore-drill validate                  # every *.toml under drills/\n  restore-drill validate drills/*.toml       # a tiers.toml among them is checked as a tiers file"
    )]
    Validate {
        /// Drill files, or directories searched recursively for *.toml (tiers.toml excepted
        /// there; a tiers.toml named as a file is checked as a tiers file).
        #[arg(default_value = "drills")]
        paths: Vec<PathBuf>,
    },
    /// Print what a drill would do, without doing it.
    ///
    /// Shows the tier targets, each restore's recovery point and source, the target it would
    /// create (names, region, isolation, tags), how checks connect, and every check. Nothing
    /// is contacted, unless --resolve: then each restore's recovery point is also looked up
    /// now, read-only (describe and list calls only; nothing is created or changed), e.g. the
    /// snapshot or AWS Backup recovery point a run would use, or an RDS restorable window.
    /// An invalid drill prints its problems and exits 20; with --resolve, a point that
    /// cannot be found exits 11, and AWS that cannot be asked exits 30.
    #[command(
        after_help = "Examples:\n  restore-drill plan drills/orders-rds-pitr.toml\n  restore-drill plan drills/\n  restore-drill plan drills/orders-rds-pitr.toml --resolve --incident-at 2026-11-21T13:00:00Z"
    )]
    Plan {
        /// Drill files, or directories searched recursively for *.toml.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Also resolve each restore's recovery point now, read-only.
        #[arg(long)]
        resolve: bool,
        /// With --resolve: the incident time, instead of the drill's (RFC 3339; no zone = UTC).
        #[arg(long, value_name = "TIME", value_parser = parse_time, requires = "resolve")]
        incident_at: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Run drills: restore, check, measure RTO and RPO, report, tear down.
    ///
    /// Every drill is validated first; if any is invalid nothing runs (exit 20). Drills then
    /// run one after the other, or up to --jobs at once. Each run writes reports/<drill>/<run_id>/report.json and
    /// report.md, shows live progress on stderr, and tears its targets down on success,
    /// failure, timeout and Ctrl-C / SIGTERM (then exits 130). The exit code is the worst of
    /// all runs (see below).
    #[command(after_help = concat!(
        "Examples:\n",
        "  restore-drill run drills/orders-rds-pitr.toml\n",
        "  restore-drill run drills/ --format json > results.json\n",
        "  restore-drill run drills/orders-rds-pitr.toml --keep-on-failure\n",
        "  restore-drill run drills/orders-rds-pitr.toml --incident-at 2026-11-21T13:00:00Z\n\n",
        "Times without a zone are UTC.\n\n",
        "Exit codes: 0 met, 10 a target missed, 11 a restore or check failed, 20 invalid drill,\n",
        "30 harness error, 40 teardown left resources behind, 130 interrupted (after teardown)."
    ))]
    Run {
        /// Drill files, or directories searched recursively for *.toml.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Leave every target up after the run (prints how to reach it; remove it yourself).
        #[arg(long)]
        keep: bool,
        /// Leave targets up only when the run fails, for investigation.
        #[arg(long)]
        keep_on_failure: bool,
        /// The incident time, instead of the drill's [incident] at (RFC 3339; no zone = UTC).
        #[arg(long, value_name = "TIME", value_parser = parse_time)]
        incident_at: Option<chrono::DateTime<chrono::Utc>>,
        /// Where reports go: <DIR>/<drill>/<run_id>/.
        #[arg(long, value_name = "DIR", default_value = "reports")]
        reports: PathBuf,
        /// Keep reports and the history in a store in S3 shared by every runner, instead of
        /// --reports: s3://BUCKET/PREFIX (else the RESTORE_DRILL_STORE variable). Rows are
        /// appended with S3 conditional writes, safe from many machines at once.
        #[arg(long, value_name = "S3_URL", conflicts_with = "reports")]
        store: Option<String>,
        /// With a store in S3 under Object Lock: write every object (reports, signature,
        /// history row) locked for N days from the moment it exists.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=36500))]
        store_retain_days: Option<u32>,
        /// The Object Lock mode of --store-retain-days.
        #[arg(
            long,
            value_enum,
            default_value = "compliance",
            requires = "store_retain_days"
        )]
        store_lock_mode: commands::LockModeArg,
        /// What to print on stdout for each run.
        #[arg(long, value_enum, default_value = "md")]
        format: FormatArg,
        /// Also write one JUnit XML file for all runs (a test case per restore, check and
        /// target), for CI pages.
        #[arg(long, value_name = "PATH")]
        junit: Option<PathBuf>,
        /// Also write Prometheus metrics of the history (last RTO/RPO, verdict, phase seconds,
        /// last success) for node_exporter's textfile collector.
        #[arg(long, value_name = "PATH")]
        metrics_file: Option<PathBuf>,
        /// Run up to N drills at once (default 1: one after the other). AWS calls of all of
        /// them are paced together per account, region and service, below the documented
        /// API limits; the exit code is the worst of all drills.
        #[arg(long, short = 'j', value_name = "N", default_value_t = 1,
              value_parser = clap::value_parser!(u16).range(1..=512))]
        jobs: u16,
    },
    /// Delete what killed runs left on AWS: RDS instances, clusters and snapshot copies
    /// tagged by restore-drill, the object versions under s3_versions target prefixes
    /// holding a run marker (.restore-drill-run.json), and buckets a run created, whose
    /// restore-drill:expires-at has passed.
    ///
    /// Teardown runs on success, failure, timeout and Ctrl-C; only a run killed outright
    /// (SIGKILL, a lost host) leaves resources behind. Only resources carrying the
    /// restore-drill:run-id tag or a run marker are ever considered, so a source is never
    /// touched. AWS
    /// settings come from the usual places (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL, the
    /// credential chain) or the flags. Exits 0 when nothing stale remains, 40 when something
    /// could not be deleted, 30 when AWS could not be asked.
    #[command(after_help = concat!(
        "Examples:\n",
        "  restore-drill sweep --dry-run                      # what is past its expiry\n",
        "  restore-drill sweep --region us-east-1 --region us-west-2\n",
        "  restore-drill sweep --older-than 6h                # by age instead of the expiry tag\n",
        "  restore-drill sweep --run-id 20261121T130501Z-7f3a # one run's leftovers, now\n",
        "  restore-drill sweep --local-work-dir /var/tmp      # killed local PostgreSQL restores"
    ))]
    Sweep {
        /// A region to look in (repeat for several); default: the configured region.
        #[arg(long = "region", value_name = "REGION")]
        regions: Vec<String>,
        /// Treat resources created longer ago than this as stale (e.g. 6h, 2d), instead of
        /// those past their restore-drill:expires-at tag.
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        older_than: Option<std::time::Duration>,
        /// Only this run's resources, whatever their age.
        #[arg(long, value_name = "RUN_ID", conflicts_with = "older_than")]
        run_id: Option<String>,
        /// List what would be deleted; delete nothing.
        #[arg(long)]
        dry_run: bool,
        /// The AWS profile (default: AWS_PROFILE or the default profile).
        #[arg(long)]
        profile: Option<String>,
        /// Another endpoint (an emulator or a VPC endpoint); default: AWS_ENDPOINT_URL or AWS.
        #[arg(long, value_name = "URL")]
        endpoint_url: Option<String>,
        /// Also look in every region the runs under DIR recorded (a DR region's copies).
        #[arg(long, value_name = "DIR", default_value = "reports")]
        reports: PathBuf,
        /// Sweep local PostgreSQL restores instead: remove the run dirs under DIR (a pg_pitr
        /// target.work_dir, or the temp dir) whose restore-drill process is gone and whose
        /// server no longer runs. Nothing on AWS is contacted.
        #[arg(long, value_name = "DIR", conflicts_with_all = ["regions", "older_than", "profile", "endpoint_url"])]
        local_work_dir: Option<PathBuf>,
    },
    /// Be the validator of an AWS Backup restore testing plan: run a drill's checks against
    /// what a restore job restored, and report SUCCESSFUL or FAILED to AWS Backup.
    ///
    /// Reads the job (DescribeRestoreJob), finds the RDS instance it created, sets the
    /// drill's master password on it when connect.password_env is given, runs the checks of
    /// the drill's backup_recovery_point restore through connect (via, tls), and calls
    /// PutRestoreValidationResult with the outcome and the first failing check. The
    /// restored resource is left to AWS Backup, which deletes it after validation. Exits 0
    /// when validation succeeded, 11 when it failed, 20 for an invalid drill, 30 when AWS
    /// could not be asked.
    #[command(after_help = concat!(
        "Example (e.g. from an EventBridge rule on 'Restore Job State Change', COMPLETED):\n",
        "  restore-drill validate-restore-job --restore-job-id 8A3F...-B2 --drill drills/payments-backup.toml"
    ))]
    ValidateRestoreJob {
        /// The AWS Backup restore job to validate.
        #[arg(long, value_name = "ID")]
        restore_job_id: String,
        /// The drill whose checks to run.
        #[arg(long, value_name = "FILE")]
        drill: PathBuf,
        /// Which restore of the drill (needed only when it has several backup_recovery_point
        /// restores).
        #[arg(long, value_name = "ID")]
        restore: Option<String>,
    },
    /// Record a reference manifest: row counts, hashes per key range and schema of a database,
    /// or keys, sizes and SHA-256 of the objects under an S3 prefix.
    ///
    /// table_checksum and schema checks compare a restore with it (reference = { manifest =
    /// "PATH" }), s3_manifest checks (manifest = "PATH") a restored prefix. Take it from a
    /// database at a known time, e.g. a replica with replay paused, or the source while writes
    /// are paused; for S3, --at records the versions current at a past moment. Only counts and
    /// hashes are recorded, never rows or object contents.
    #[command(after_help = concat!(
        "Examples:\n",
        "  restore-drill manifest --host 10.0.0.5 --database orders --user ro --password-env RO_PW \\\n",
        "      --table orders:id --table order_lines:order_id,line_no --schema public \\\n",
        "      --out drills/manifests/orders.json\n",
        "  restore-drill manifest --s3 s3://invoices-prod/2026/ --at 2026-11-21T13:00:00Z \\\n",
        "      --region us-east-1 --out drills/manifests/invoices-2026.json\n\n",
        "Times without a zone are UTC. AWS credentials come from the usual chain (environment,\n",
        "profile, SSO, instance role)."
    ))]
    Manifest {
        /// Database host.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Database port.
        #[arg(long, default_value_t = 5432)]
        port: u16,
        /// Database name.
        #[arg(long, required_unless_present = "s3")]
        database: Option<String>,
        /// User to connect as (read access is enough).
        #[arg(long, required_unless_present = "s3")]
        user: Option<String>,
        /// Record the objects under this S3 bucket/prefix instead of a database
        /// (s3://BUCKET/PREFIX).
        #[arg(long, value_name = "URL", conflicts_with_all = ["tables", "schemas"])]
        s3: Option<String>,
        /// S3: record the versions current at this moment instead of now (RFC 3339; no zone =
        /// UTC).
        #[arg(long, value_name = "TIME", value_parser = parse_time, requires = "s3")]
        at: Option<chrono::DateTime<chrono::Utc>>,
        /// S3: the AWS region (else AWS_REGION).
        #[arg(long, requires = "s3")]
        region: Option<String>,
        /// S3: the AWS profile.
        #[arg(long, requires = "s3")]
        profile: Option<String>,
        /// S3: an S3-compatible endpoint (path-style addressing), else AWS_ENDPOINT_URL.
        #[arg(long, value_name = "URL", requires = "s3")]
        endpoint_url: Option<String>,
        /// Environment variable holding the password (never the password itself).
        #[arg(long, value_name = "VAR")]
        password_env: Option<String>,
        /// TLS to the database, as a drill's connect.tls: disable, require (encrypt, any
        /// certificate) or verify-full (chain and name, needs --ca-bundle). Default: disable
        /// for a loopback host, require otherwise.
        #[arg(long, value_name = "MODE", value_parser = ["disable", "require", "verify-full"])]
        tls: Option<String>,
        /// CA certificates (PEM) to verify the server with, for --tls verify-full (for RDS,
        /// the region's bundle, e.g. global-bundle.pem).
        #[arg(long, value_name = "FILE")]
        ca_bundle: Option<PathBuf>,
        /// A table and its key columns, as TABLE:KEY or TABLE:KEY1,KEY2 (repeatable).
        #[arg(long = "table", value_name = "TABLE:KEY")]
        tables: Vec<String>,
        /// A schema whose tables, columns, indexes and constraints to record (repeatable).
        #[arg(long = "schema", value_name = "SCHEMA")]
        schemas: Vec<String>,
        /// Key ranges per table: more ranges locate a difference more precisely.
        #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=65536))]
        ranges: u32,
        /// Where to write the manifest (JSON).
        #[arg(long, value_name = "PATH")]
        out: PathBuf,
    },
    /// Statistics over the history of runs: per drill and phase p50/p90/p99/max, pass rate,
    /// last pass, and the RTO trend, with a warning when RTO grows toward the target.
    #[command(after_help = concat!(
        "Examples:\n",
        "  restore-drill report\n",
        "  restore-drill report --drill orders-db --since 2026-01-01 --html history.html\n\n",
        "A TIME is a date (YYYY-MM-DD, from its start) or an RFC 3339 time; without a zone, UTC."
    ))]
    Report {
        /// The reports folder holding history.csv.
        #[arg(long, value_name = "DIR", default_value = "reports")]
        reports: PathBuf,
        /// Keep reports and the history in a store in S3 shared by every runner, instead of
        /// --reports: s3://BUCKET/PREFIX (else the RESTORE_DRILL_STORE variable). Rows are
        /// appended with S3 conditional writes, safe from many machines at once.
        #[arg(long, value_name = "S3_URL", conflicts_with = "reports")]
        store: Option<String>,
        /// Only this drill.
        #[arg(long, value_name = "NAME")]
        drill: Option<String>,
        /// Only runs started at or after this time (a date or RFC 3339; no zone = UTC).
        #[arg(long, value_name = "TIME", value_parser = parse_time)]
        since: Option<chrono::DateTime<chrono::Utc>>,
        /// Also write a self-contained HTML page of the history: per drill, RTO and RPO of
        /// every run against the targets, pass rate, percentiles, the next due date, and a
        /// link to each run's report.
        #[arg(long, value_name = "PATH")]
        html: Option<PathBuf>,
    },
    /// List drills that are overdue: no passing run within their schedule and tier interval.
    ///
    /// For each drill, the last passing run in <REPORTS>/history.csv against its schedule
    /// (weekly, monthly = 30 days, quarterly = 90 days, or the next cron occurrence) and its
    /// tier's longest allowed interval, whichever comes first. Exits 10 when any drill is
    /// overdue or has never passed, for monitoring.
    #[command(
        after_help = "Examples:\n  restore-drill due\n  restore-drill due drills/ --reports /var/lib/restore-drill/reports"
    )]
    Due {
        /// Drill files, or directories searched recursively for *.toml.
        #[arg(default_value = "drills")]
        paths: Vec<PathBuf>,
        /// The reports folder holding history.csv.
        #[arg(long, value_name = "DIR", default_value = "reports")]
        reports: PathBuf,
        /// Keep reports and the history in a store in S3 shared by every runner, instead of
        /// --reports: s3://BUCKET/PREFIX (else the RESTORE_DRILL_STORE variable). Rows are
        /// appended with S3 conditional writes, safe from many machines at once.
        #[arg(long, value_name = "S3_URL", conflicts_with = "reports")]
        store: Option<String>,
    },
    /// Scheduler definitions for drills: Kubernetes CronJobs, EventBridge Scheduler, GitHub
    /// Actions, systemd timers, cron.
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// Run the demo: a real PostgreSQL point-in-time restore on this machine, end to end.
    ///
    /// Starts a throw-away "production" PostgreSQL with WAL archiving, loads orders, takes a
    /// base backup, keeps writing, then drops the orders table (the incident). Runs the demo
    /// drill (drills/demo-local.toml) to restore to just before the drop, checks the orders,
    /// measures RTO and RPO against the gold tier, prints the report, and removes everything
    /// it created except the report. Needs the PostgreSQL server binaries.
    ///
    /// The report and its history row go to reports-demo/, not reports/: a demo run is not a
    /// drill of anything real, so it must not count as evidence for drills/demo-local.toml.
    #[command(
        after_help = "Example:\n  restore-drill demo\n  restore-drill demo --reports /tmp/demo-reports"
    )]
    Demo {
        /// Where the report goes: <DIR>/demo-local/<run_id>/, and the history <DIR>/history.csv.
        #[arg(long, value_name = "DIR", default_value = DEMO_REPORTS)]
        reports: PathBuf,
    },
    /// Print a shell completion script for restore-drill on stdout.
    ///
    /// Generated from this program's own command definitions, so it always matches the
    /// installed version.
    #[command(after_help = concat!(
        "Examples:\n",
        "  restore-drill completions bash > ~/.local/share/bash-completion/completions/restore-drill\n",
        "  restore-drill completions zsh > ~/.zfunc/_restore-drill   # with fpath+=~/.zfunc\n",
        "  restore-drill completions fish > ~/.config/fish/completions/restore-drill.fish"
    ))]
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) on stdout, generated from the same definitions as --help.
    #[command(after_help = concat!(
        "Examples:\n",
        "  restore-drill man | man -l -\n",
        "  restore-drill man > /usr/local/share/man/man1/restore-drill.1"
    ))]
    Man,
    /// Compliance evidence: export signed bundles of runs for auditors, verify them, make keys.
    ///
    /// A bundle maps the runs of a period to SOC 2 A1.3, ISO 27001 A.8.13, PCI DSS 12.10.2,
    /// HIPAA 164.308(a)(7)(ii)(D) and DORA Art. 12, says what is missing, and is signed
    /// (Ed25519 over a SHA-256 manifest of every file) so any later edit is named by verify.
    #[command(
        subcommand,
        after_help = "Examples:\n  restore-drill evidence keygen --out evidence.key\n  restore-drill evidence export --since 2026-01-01 --until 2026-03-31 \\\n      --signing-key evidence.key --out evidence-2026q1\n  restore-drill evidence verify evidence-2026q1.tar.gz --public-key evidence.key.pub"
    )]
    Evidence(restore_drill::commands::EvidenceCommand),
    /// Deliver one file from a WAL archive to PostgreSQL: the restore_command of pg_pitr.
    ///
    /// pg_pitr restores set `restore_command` to this, so that compressed archives (.gz,
    /// .lz4, .zst, .bz2) restore without any other tool installed. The file ARCHIVE/NAME (or
    /// NAME.gz, ...) is decompressed to DEST, a segment is checked against its own header.
    /// Exits 0 when delivered, 1 when the archive does not hold NAME (the normal end of
    /// recovery), 200 when it holds it but it cannot be read (PostgreSQL then stops recovery
    /// instead of taking it for the end of the archive).
    #[command(
        after_help = "Example (postgresql.conf):\n  restore_command = '/usr/local/bin/restore-drill wal-fetch /backups/wal %f %p'"
    )]
    WalFetch {
        /// Append one line per request to this file (ok / missing / error, with the reason).
        #[arg(long, value_name = "FILE")]
        log: Option<PathBuf>,
        /// The WAL archive folder.
        archive: PathBuf,
        /// The file PostgreSQL asks for (%f).
        name: String,
        /// Where to write it (%p).
        dest: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum ScheduleCommand {
    /// Write one scheduler definition per drill, from its `schedule` and timeouts, plus a
    /// daily `sweep` and `due`.
    ///
    /// Every definition bounds a run: the drill's phase timeouts plus 15 minutes, after which
    /// the scheduler stops it (SIGTERM first: teardown runs), so a hung run never blocks the
    /// next one. Never two runs of one drill at once, and a failed drill is not retried.
    /// Named schedules (weekly, monthly, quarterly) get a fixed time from a hash of the
    /// drill's name, between 01:00 and 05:59 UTC, so a fleet does not start all at once;
    /// cron schedules are kept. Prints the files written.
    #[command(after_help = concat!(
        "Examples:\n",
        "  restore-drill schedule export --to kubernetes --image registry.example.com/restore-drill:1.4 drills/\n",
        "  restore-drill schedule export --to github --out .github/workflows drills/\n",
        "  restore-drill schedule export --to eventbridge --ecs-cluster ARN --task-definition ARN \\\n",
        "      --scheduler-role ARN --subnet subnet-0abc --security-group sg-0def drills/\n",
        "  restore-drill schedule export --to systemd --out /etc/systemd/system drills/"
    ))]
    Export {
        /// Drill files, or directories searched recursively for *.toml.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The scheduler.
        #[arg(long, value_enum)]
        to: ToArg,
        /// Where the definitions go.
        #[arg(long, value_name = "DIR", default_value = "schedules")]
        out: PathBuf,
        /// The container image to run (kubernetes, eventbridge), with the drills in it.
        #[arg(long, value_name = "IMAGE")]
        image: Option<String>,
        /// Where the drill files are where the scheduler runs (default /drills in a
        /// container, /etc/restore-drill/drills on a host, the paths as given for github).
        #[arg(long, value_name = "DIR")]
        drills_dir: Option<String>,
        /// Where reports and the history are kept between runs (default /reports in a
        /// container, /var/lib/restore-drill/reports on a host, reports for github).
        #[arg(long, value_name = "DIR")]
        reports: Option<String>,
        /// Record every run in this store in S3 (s3://BUCKET/PREFIX) instead of a reports
        /// folder: the runs, `due` and every scheduler share one history; Kubernetes jobs then
        /// need no volume for reports.
        #[arg(long, value_name = "S3_URL", conflicts_with = "reports")]
        store: Option<String>,
        /// Kubernetes namespace.
        #[arg(long, default_value = "restore-drill")]
        namespace: String,
        /// Kubernetes ServiceAccount the runs use (IRSA: annotate it with the drill role).
        #[arg(long, default_value = "restore-drill")]
        service_account: String,
        /// Kubernetes PersistentVolumeClaim that keeps the reports.
        #[arg(long, default_value = "restore-drill-reports")]
        reports_claim: String,
        /// EventBridge: the ECS cluster ARN the task runs in.
        #[arg(long, value_name = "ARN")]
        ecs_cluster: Option<String>,
        /// EventBridge: the task definition ARN (the restore-drill image).
        #[arg(long, value_name = "ARN")]
        task_definition: Option<String>,
        /// EventBridge: the role EventBridge Scheduler runs the task with.
        #[arg(long, value_name = "ARN")]
        scheduler_role: Option<String>,
        /// EventBridge: a subnet of the task (repeat for more).
        #[arg(long, value_name = "ID")]
        subnet: Vec<String>,
        /// EventBridge: a security group of the task (repeat for more).
        #[arg(long, value_name = "ID")]
        security_group: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ToArg {
    Kubernetes,
    Eventbridge,
    Github,
    Systemd,
    Cron,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum FormatArg {
    /// The Markdown report.
    Md,
    /// report.json.
    Json,
    /// Nothing (reports are still written).
    None,
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(text).map_err(|e| format!("{e} (examples: 30m, 6h, 2d)"))
}

/// Every time argument: a date (its first moment, UTC) or an RFC 3339 time, as `evidence`
/// reads its `--since`.
fn parse_time(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    restore_drill::drill::parse_time_arg(text)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    // Not locked for the whole run: progress and signal messages come from other threads.
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    let code = match &cli.command {
        Command::Validate { paths } => commands::validate(paths, &mut out, &mut err),
        Command::Plan {
            paths,
            resolve: false,
            ..
        } => commands::plan(paths, &mut out, &mut err),
        Command::Plan {
            paths,
            resolve: true,
            incident_at,
        } => commands::plan_resolved_all(paths, *incident_at, &mut out, &mut err),
        Command::Run {
            paths,
            keep,
            keep_on_failure,
            incident_at,
            reports,
            store,
            store_retain_days,
            store_lock_mode,
            format,
            junit,
            metrics_file,
            jobs,
        } => {
            let store = match commands::chosen_store(store.as_deref(), reports) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("error: {e}");
                    std::process::exit(i32::from(restore_drill::exit::ERROR));
                }
            };
            let retention = store_retain_days.map(|days| restore_drill::store::Retention {
                mode: match store_lock_mode {
                    commands::LockModeArg::Compliance => restore_drill::store::LockMode::Compliance,
                    commands::LockModeArg::Governance => restore_drill::store::LockMode::Governance,
                },
                days,
            });
            let args = commands::RunArgs {
                opts: restore_drill::engine::RunOptions {
                    keep: *keep,
                    keep_on_failure: *keep_on_failure,
                    incident_at: *incident_at,
                    ..Default::default()
                },
                reports: reports.clone(),
                format: match format {
                    FormatArg::Md => commands::Format::Md,
                    FormatArg::Json => commands::Format::Json,
                    FormatArg::None => commands::Format::None,
                },
                junit: junit.clone(),
                metrics_file: metrics_file.clone(),
                jobs: usize::from(*jobs),
                store,
                retention,
            };
            commands::run(paths, &args, &mut out, &mut err)
        }
        Command::Demo { reports } => commands::demo(reports, &mut out, &mut err),
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "restore-drill", &mut out);
            restore_drill::exit::OK
        }
        Command::Man => match clap_mangen::Man::new(Cli::command()).render(&mut out) {
            Ok(()) => restore_drill::exit::OK,
            Err(e) => {
                eprintln!("error: cannot write the manual page: {e}");
                restore_drill::exit::ERROR
            }
        },
        Command::WalFetch {
            log,
            archive,
            name,
            dest,
        } => restore_drill::provider::local::wal_fetch(archive, name, dest, log.as_deref()),
        Command::Evidence(cmd) => restore_drill::commands::evidence(cmd, &mut out, &mut err),
        Command::Report {
            reports,
            store,
            drill,
            since,
            html,
        } => {
            let in_store = matches!(
                commands::chosen_store(store.as_deref(), reports),
                Ok(Some(_))
            );
            commands::with_reports(store.as_deref(), reports, &mut err, |dir, err| {
                commands::report(
                    dir,
                    in_store,
                    drill.as_deref(),
                    *since,
                    html.as_deref(),
                    &mut out,
                    err,
                )
            })
        }
        Command::Schedule(ScheduleCommand::Export {
            paths,
            to,
            out: out_dir,
            image,
            drills_dir,
            reports,
            namespace,
            service_account,
            store,
            reports_claim,
            ecs_cluster,
            task_definition,
            scheduler_role,
            subnet,
            security_group,
        }) => {
            use restore_drill::scheduler::{Options, Target};
            let target = match to {
                ToArg::Kubernetes => Target::Kubernetes,
                ToArg::Eventbridge => Target::Eventbridge,
                ToArg::Github => Target::Github,
                ToArg::Systemd => Target::Systemd,
                ToArg::Cron => Target::Cron,
            };
            let opts = Options {
                image: image.clone(),
                drills_dir: drills_dir.clone(),
                reports: match store {
                    Some(url) => match restore_drill::store::StoreUrl::parse(url) {
                        Ok(url) => Some(url.to_string()),
                        Err(e) => {
                            eprintln!("error: --store: {e}");
                            return ExitCode::from(restore_drill::exit::INVALID);
                        }
                    },
                    None => reports.clone(),
                },
                namespace: namespace.clone(),
                service_account: service_account.clone(),
                reports_claim: reports_claim.clone(),
                ecs_cluster: ecs_cluster.clone(),
                task_definition: task_definition.clone(),
                scheduler_role: scheduler_role.clone(),
                subnets: subnet.clone(),
                security_groups: security_group.clone(),
            };
            commands::schedule_export(target, paths, &opts, out_dir, &mut out, &mut err)
        }
        Command::Due {
            paths,
            reports,
            store,
        } => commands::with_reports(store.as_deref(), reports, &mut err, |dir, err| {
            commands::due(paths, dir, chrono::Utc::now(), &mut out, err)
        }),
        Command::ValidateRestoreJob {
            restore_job_id,
            drill,
            restore,
        } => commands::validate_restore_job(
            drill,
            restore.as_deref(),
            restore_job_id,
            &mut out,
            &mut err,
        ),
        Command::Sweep {
            local_work_dir: Some(dir),
            run_id,
            dry_run,
            ..
        } => commands::sweep_local(dir, run_id.as_deref(), *dry_run, &mut out, &mut err),
        Command::Sweep {
            regions,
            older_than,
            run_id,
            dry_run,
            profile,
            endpoint_url,
            reports,
            local_work_dir: None,
        } => {
            let spec = restore_drill::drill::ProviderSpec::Aws {
                region: regions.first().cloned(),
                profile: profile.clone(),
                endpoint_url: endpoint_url.clone(),
                role: None,
            };
            let settings = restore_drill::provider::aws::AwsSettings::of(&spec)
                .expect("an AWS provider spec has AWS settings");
            let args = restore_drill::provider::aws::sweep::SweepArgs {
                settings,
                regions: regions.clone(),
                older_than: *older_than,
                run_id: run_id.clone(),
                dry_run: *dry_run,
            };
            commands::sweep(&args, Some(reports), &mut out, &mut err)
        }
        Command::Manifest {
            host,
            port,
            database,
            user,
            password_env,
            tls,
            ca_bundle,
            tables,
            schemas,
            ranges,
            out: path,
            s3,
            at,
            region,
            profile,
            endpoint_url,
        } => {
            let args = commands::ManifestArgs {
                host: host.clone(),
                port: *port,
                database: database.clone().unwrap_or_default(),
                user: user.clone().unwrap_or_default(),
                s3: s3.as_ref().map(|url| commands::S3ManifestArgs {
                    url: url.clone(),
                    at: *at,
                    region: region.clone(),
                    profile: profile.clone(),
                    endpoint_url: endpoint_url.clone(),
                }),
                password_env: password_env.clone(),
                tls: tls.clone(),
                ca_bundle: ca_bundle.clone(),
                tables: tables.clone(),
                schemas: schemas.clone(),
                ranges: *ranges,
                out: path.clone(),
            };
            commands::manifest(&args, &mut out, &mut err)
        }
    };
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
    // Colours only on a terminal: a log redirected to a file (or read by CI) stays plain text.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}
