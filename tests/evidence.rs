//! Evidence bundles (issue 8): export from a history of several drills, verify; every kind of
//! tampering (a flipped byte in a report, a deleted file, an added file, an edited history
//! row, a foreign key) is named, with exit 50; a gold drill with no passing run within its
//! interval is a gap in the control sections; the S3 upload carries Object Lock retention
//! that moto enforces.
//!
//! No restore runs here: the history is built with the library (`write_reports` and
//! `append_history`, as a run does), so these tests take a second.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, Duration, Utc};
use restore_drill::provider::{RecoveryPoint, Target};
use restore_drill::report::{
    CheckOutcome, CheckReport, DrillRef, Finding, Measured, Operator, Outcome, PhaseReport,
    RestoreReport, RpoSource, RunReport, TeardownReport, TierRef, Verdict, append_history,
    write_reports,
};
use serde_json::Value;

// --- the harness ---------------------------------------------------------------------------

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `restore-drill ARGS` in `dir` with `env` set and no signing key variables inherited.
fn rd(dir: &Path, args: &[&str], env: &[(&str, String)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_restore-drill"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("RESTORE_DRILL_SIGNING_KEY")
        .env_remove("RESTORE_DRILL_PUBLIC_KEY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("the restore-drill binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("bad fixture time {text}: {e}"))
        .with_timezone(&Utc)
}

// --- the history: four drills, fourteen runs ------------------------------------------------

/// One run of the fixture.
struct Spec {
    drill: &'static str,
    tier: &'static str,
    started: &'static str,
    verdict: Verdict,
    /// `rds` (isolated subnet group), `public` (publicly accessible RDS), `s3` or `pg`.
    target: &'static str,
}

const fn spec(
    drill: &'static str,
    tier: &'static str,
    started: &'static str,
    verdict: Verdict,
    target: &'static str,
) -> Spec {
    Spec {
        drill,
        tier,
        started,
        verdict,
        target,
    }
}

/// In history order. The period exported is 2026-01-01 to 2026-03-31: the first and last
/// runs are outside it. `ledger` (gold, every 30 days) passes on 3 January and then only
/// misses, so from 2 February on it is a gap; `orders-db` (gold) is covered throughout,
/// partly by its December pass; `archive` restored into a publicly accessible instance.
const RUNS: [Spec; 14] = [
    spec(
        "orders-db",
        "gold",
        "2025-12-10T06:00:00Z",
        Verdict::Met,
        "rds",
    ),
    spec("ledger", "gold", "2026-01-03T06:00:00Z", Verdict::Met, "pg"),
    spec(
        "orders-db",
        "gold",
        "2026-01-05T06:00:00Z",
        Verdict::Met,
        "rds",
    ),
    spec(
        "invoices",
        "silver",
        "2026-01-10T06:00:00Z",
        Verdict::Met,
        "s3",
    ),
    spec(
        "orders-db",
        "gold",
        "2026-02-01T06:00:00Z",
        Verdict::Met,
        "rds",
    ),
    spec(
        "archive",
        "bronze",
        "2026-02-01T07:00:00Z",
        Verdict::Met,
        "public",
    ),
    spec(
        "orders-db",
        "gold",
        "2026-02-15T06:00:00Z",
        Verdict::Failed,
        "rds",
    ),
    spec(
        "ledger",
        "gold",
        "2026-02-20T06:00:00Z",
        Verdict::Missed,
        "pg",
    ),
    spec(
        "orders-db",
        "gold",
        "2026-03-01T06:00:00Z",
        Verdict::Met,
        "rds",
    ),
    spec(
        "invoices",
        "silver",
        "2026-03-05T06:00:00Z",
        Verdict::Error,
        "s3",
    ),
    spec(
        "ledger",
        "gold",
        "2026-03-10T06:00:00Z",
        Verdict::Missed,
        "pg",
    ),
    spec(
        "orders-db",
        "gold",
        "2026-03-20T06:00:00Z",
        Verdict::Met,
        "rds",
    ),
    spec(
        "archive",
        "bronze",
        "2026-03-25T06:00:00Z",
        Verdict::Met,
        "public",
    ),
    spec("ledger", "gold", "2026-04-05T06:00:00Z", Verdict::Met, "pg"),
];
/// Source history lines of the first and last run in the period (line 1 is the header).
const FIRST_LINE: usize = 3;
const LAST_LINE: usize = 14;

const SINCE: &str = "2026-01-01";
const UNTIL: &str = "2026-03-31";

fn run_id(s: &Spec, i: usize) -> String {
    format!("{}-{i:04x}", at(s.started).format("%Y%m%dT%H%M%SZ"))
}

/// The bundle's history line of run `i` (the header is line 1).
fn bundle_line(i: usize) -> usize {
    i + 2 - FIRST_LINE + 2
}

fn phase(name: &str, start: DateTime<Utc>, seconds: f64, outcome: Outcome) -> PhaseReport {
    PhaseReport {
        name: name.into(),
        started_at: start,
        seconds,
        polls: 3,
        resolution_seconds: 1.0,
        outcome,
        error: (outcome == Outcome::Failed).then(|| "restore failed: storage full".into()),
        expected_seconds: None,
    }
}

fn report(s: &Spec, i: usize, drill_file: &str, drill_sha: &str) -> RunReport {
    let start = at(s.started);
    let (rto_target, rpo_target) = match s.tier {
        "gold" => (900.0, 300.0),
        "silver" => (14_400.0, 3_600.0),
        _ => (86_400.0, 86_400.0),
    };
    let id = run_id(s, i);
    let (restore_kind, point, target) = match s.target {
        "rds" | "public" => (
            "rds_pitr",
            RecoveryPoint {
                kind: "pitr".into(),
                id: format!("{}-prod", s.drill),
                time: Some(start - Duration::seconds(3)),
                latest_restorable: Some(start - Duration::seconds(3)),
                notes: Vec::new(),
            },
            Target {
                kind: "rds_instance".into(),
                name: format!("drill-{}-{}", s.drill, id.to_lowercase()),
                address: Some(format!(
                    "drill-{}.c9x2.us-west-2.rds.amazonaws.com:5432",
                    s.drill
                )),
                details: if s.target == "rds" {
                    BTreeMap::from([
                        ("region".into(), "us-west-2".into()),
                        ("subnet_group".into(), "drill-isolated".into()),
                        ("security_groups".into(), "sg-0drill".into()),
                        ("publicly_accessible".into(), "false".into()),
                    ])
                } else {
                    BTreeMap::from([
                        ("region".into(), "us-west-2".into()),
                        ("publicly_accessible".into(), "true".into()),
                    ])
                },
            },
        ),
        "s3" => (
            "s3_versions",
            RecoveryPoint {
                kind: "object_versions".into(),
                id: "invoices-prod/2026/".into(),
                time: Some(start),
                latest_restorable: None,
                notes: Vec::new(),
            },
            Target {
                kind: "s3_prefix".into(),
                name: format!("invoices-drill/{id}/"),
                address: None,
                details: BTreeMap::new(),
            },
        ),
        _ => (
            "pg_pitr",
            RecoveryPoint {
                kind: "pitr".into(),
                id: "backups/base/2026-01-01".into(),
                time: Some(start - Duration::seconds(30)),
                latest_restorable: Some(start - Duration::seconds(1)),
                notes: Vec::new(),
            },
            Target {
                kind: "postgresql".into(),
                name: format!("/var/tmp/restore-drill/{id}"),
                address: Some("127.0.0.1:55432".into()),
                details: BTreeMap::from([("database".into(), "ledger".into())]),
            },
        ),
    };
    let failed = s.verdict == Verdict::Failed;
    let rto = match s.verdict {
        Verdict::Met => Some(rto_target * 0.6),
        Verdict::Missed => Some(rto_target * 1.5),
        _ => None,
    };
    let check_outcome = if failed {
        CheckOutcome::Failed
    } else {
        CheckOutcome::Passed
    };
    RunReport {
        format_version: 1,
        tool_version: "0.1.0".into(),
        drill: DrillRef {
            name: s.drill.into(),
            file: drill_file.into(),
            sha256: drill_sha.into(),
        },
        run_id: id,
        started_at: start,
        finished_at: start + Duration::minutes(12),
        seconds: 720.0,
        incident_at: start,
        tier: TierRef {
            name: s.tier.into(),
            rto_seconds: rto_target,
            rpo_seconds: rpo_target,
        },
        verdict: s.verdict,
        verdict_reason: format!("fixture run {i}: {}", s.verdict.as_str()),
        measured: Measured {
            rto_seconds: rto,
            rpo_seconds: rto.map(|_| 42.5),
            rpo_source: rto.map(|_| RpoSource::Data),
            detect_allowance_seconds: 300.0,
        },
        restores: vec![RestoreReport {
            id: "main".into(),
            kind: restore_kind.into(),
            recovery_point: Some(point),
            target: Some(target),
            phases: vec![
                phase("resolve", start, 0.8, Outcome::Ok),
                phase(
                    "restore",
                    start + Duration::seconds(1),
                    400.0,
                    if failed { Outcome::Failed } else { Outcome::Ok },
                ),
                phase(
                    "teardown",
                    start + Duration::seconds(402),
                    30.0,
                    Outcome::Ok,
                ),
            ],
            newest_data_at: None,
            warmup: None,
        }],
        checks: vec![CheckReport {
            restore: "main".into(),
            kind: "sql".into(),
            name: "rows are back".into(),
            outcome: check_outcome,
            findings: if failed {
                vec![Finding {
                    kind: "mismatch".into(),
                    object: "orders".into(),
                    expected: ">= 1000".into(),
                    found: "0".into(),
                    message: "no rows".into(),
                }]
            } else {
                Vec::new()
            },
            seconds: 0.4,
            found: None,
        }],
        teardown: TeardownReport {
            outcome: "done".into(),
            leaked: Vec::new(),
        },
        interrupted_by: None,
        operator: i.is_multiple_of(2).then(|| Operator {
            user: Some("runner".into()),
            host: Some("ci-7".into()),
            ci: Some("github-actions".into()),
            ci_run_url: Some(format!(
                "https://github.com/acme/dr/actions/runs/{}",
                1000 + i
            )),
            ci_actor: Some("octocat".into()),
        }),
        aws: None,
    }
}

struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    /// Run ids, in `RUNS` order.
    ids: Vec<String>,
    key: PathBuf,
    public: PathBuf,
    /// The secret key file's text, to prove it never leaks.
    secret_text: String,
}

impl Fixture {
    fn dir(&self, i: usize) -> String {
        format!("runs/{}/{}", RUNS[i].drill, self.ids[i])
    }

    fn export(&self, out: &str, extra: &[&str]) -> Run {
        let key = self.key.to_string_lossy().into_owned();
        let mut args = vec![
            "evidence",
            "export",
            "--since",
            SINCE,
            "--until",
            UNTIL,
            "--signing-key",
            &key,
            "--out",
            out,
        ];
        args.extend_from_slice(extra);
        let r = rd(&self.root, &args, &[]);
        self.assert_no_secret(&r);
        r
    }

    fn verify(&self, path: &str) -> Run {
        let public = self.public.to_string_lossy().into_owned();
        let r = rd(
            &self.root,
            &["evidence", "verify", path, "--public-key", &public],
            &[],
        );
        self.assert_no_secret(&r);
        r
    }

    fn assert_no_secret(&self, r: &Run) {
        let seed = secret_hex(&self.secret_text);
        assert!(
            !r.stdout.contains(&seed) && !r.stderr.contains(&seed),
            "the secret key appeared in the output"
        );
    }
}

fn secret_hex(text: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix("ed25519-secret-key "))
        .expect("a secret key line")
        .trim()
        .to_owned()
}

/// Drill files under `defs/` (not a drills folder: they are plain text here). `orders-db`
/// and `invoices` still match what their runs recorded; `ledger`'s was edited since; and
/// `archive`'s is gone.
fn fixture() -> Fixture {
    let tmp = tempfile::Builder::new()
        .prefix("rd-evidence-")
        .tempdir()
        .unwrap();
    let root = tmp.path().to_owned();
    std::fs::create_dir_all(root.join("defs")).unwrap();
    let mut shas = BTreeMap::new();
    for d in ["orders-db", "ledger", "invoices", "archive"] {
        let text = format!("name = \"{d}\"\n# fixture drill file\n");
        std::fs::write(root.join(format!("defs/{d}.toml")), &text).unwrap();
        shas.insert(d, restore_drill::drill::sha256_hex(text.as_bytes()));
    }
    let reports = root.join("reports");
    let history = reports.join("history.csv");
    let mut ids = Vec::new();
    for (i, s) in RUNS.iter().enumerate() {
        let r = report(s, i, &format!("defs/{}.toml", s.drill), &shas[s.drill]);
        let (_, sha) = write_reports(&reports, &r).unwrap();
        append_history(&history, &r, &sha).unwrap();
        ids.push(r.run_id);
    }
    std::fs::write(
        root.join("defs/ledger.toml"),
        "name = \"ledger\"\n# edited\n",
    )
    .unwrap();
    std::fs::remove_file(root.join("defs/archive.toml")).unwrap();

    let keygen = rd(
        &root,
        &["evidence", "keygen", "--out", "keys/evidence.key"],
        &[],
    );
    // keygen does not create folders for the key: a typo must not scatter secrets.
    assert_eq!(keygen.code, 30, "{}", keygen.stderr);
    std::fs::create_dir_all(root.join("keys")).unwrap();
    let keygen = rd(
        &root,
        &["evidence", "keygen", "--out", "keys/evidence.key"],
        &[],
    );
    assert_eq!(keygen.code, 0, "{}", keygen.stderr);
    let key = root.join("keys/evidence.key");
    let secret_text = std::fs::read_to_string(&key).unwrap();
    Fixture {
        _tmp: tmp,
        public: root.join("keys/evidence.key.pub"),
        root,
        ids,
        key,
        secret_text,
    }
}

/// Copies a bundle folder, so each tampering starts from the same good bundle.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}

fn problems(r: &Run) -> Vec<String> {
    r.stdout
        .lines()
        .filter(|l| !l.starts_with("NOT VERIFIED") && !l.starts_with("verified"))
        .map(str::to_owned)
        .collect()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn bundle_json(dir: &Path) -> Value {
    serde_json::from_str(&read(&dir.join("bundle.json"))).unwrap()
}

// --- the tests -----------------------------------------------------------------------------

#[test]
fn export_then_verify_holds_for_the_folder_and_the_archive() {
    let f = fixture();
    let r = f.export("out/q1", &[]);
    assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    let dir = f.root.join("out/q1");
    assert!(
        r.stdout.starts_with("bundle written to out/q1 ("),
        "{}",
        r.stdout
    );
    assert!(f.root.join("out/q1.tar.gz").is_file());

    // Every run of the period is there with all its report files, and none outside it.
    let in_period: Vec<usize> = (1..=12).collect();
    for i in 0..RUNS.len() {
        let d = dir.join(f.dir(i));
        assert_eq!(
            d.is_dir(),
            in_period.contains(&i),
            "run {i} in {}",
            d.display()
        );
    }
    for i in &in_period {
        for file in ["report.json", "report.md", "report.html", "phases.csv"] {
            let copy = read(&dir.join(f.dir(*i)).join(file));
            let orig = read(&f.root.join("reports").join(&f.dir(*i)[5..]).join(file));
            assert_eq!(copy, orig, "{} of run {i}", file);
        }
    }

    // The history rows of the period, byte for byte, under the header.
    let source = read(&f.root.join("reports/history.csv"));
    let src: Vec<&str> = source.lines().collect();
    let mut want = vec![src[0]];
    want.extend(&src[FIRST_LINE - 1..LAST_LINE]);
    assert_eq!(read(&dir.join("history.csv")), want.join("\n") + "\n");
    let info = bundle_json(&dir);
    assert_eq!(info["history"]["source_first_line"], FIRST_LINE);
    assert_eq!(info["history"]["source_last_line"], LAST_LINE);
    assert_eq!(info["runs"].as_array().unwrap().len(), 12);

    // The manifest covers every file but itself and its signature, sha256sum-style.
    let manifest = read(&dir.join("MANIFEST.sha256"));
    let listed: BTreeSet<&str> = manifest.lines().map(|l| &l[66..]).collect();
    let mut on_disk = BTreeSet::new();
    walk(&dir, "", &mut on_disk);
    on_disk.remove("MANIFEST.sha256");
    on_disk.remove("MANIFEST.sha256.sig");
    assert_eq!(listed, on_disk.iter().map(String::as_str).collect());
    for line in manifest.lines() {
        let bytes = std::fs::read(dir.join(&line[66..])).unwrap();
        assert_eq!(&line[..64], restore_drill::drill::sha256_hex(&bytes));
    }

    // The index lists what an auditor asks for, per run.
    let md = read(&dir.join("index.md"));
    let orders = &f.ids[4];
    for needle in [
        format!("### orders-db / {orders}"),
        "Verdict: **met** — fixture run 4: met".to_owned(),
        "Tier gold: RTO 9m against a target of 15m (detection allowance 5m included); RPO \
         42.50s, from the data against a target of 5m."
            .to_owned(),
        "| `main` | rds\\_pitr | pitr `orders-db-prod` | 2026-02-01T05:59:57Z | rds\\_instance \
         `drill-orders-db-20260201t060000z-0004` at drill-orders-db.c9x2.us-west-2.rds.amazonaws.com:5432 \
         | **segregated**: in its own subnet group / security groups, not publicly accessible \
         (`publicly_accessible=false, subnet_group=drill-isolated, security_groups=sg-0drill, \
         region=us-west-2, address=drill-orders-db.c9x2.us-west-2.rds.amazonaws.com:5432`) |"
            .to_owned(),
        "| `main` | rows are back | sql | **passed** | none |".to_owned(),
        "Tool: restore-drill 0.1.0. Operator: runner@ci-7, github-actions \
         https://github.com/acme/dr/actions/runs/1004 (triggered by octocat)."
            .to_owned(),
        format!("[report.html](<runs/orders-db/{orders}/report.html>)"),
    ] {
        assert!(md.contains(&needle), "index.md lacks:\n{needle}\n\n{md}");
    }
    // The drill files: copied when unchanged, else said why not.
    let orders_sha =
        restore_drill::drill::sha256_hex(b"name = \"orders-db\"\n# fixture drill file\n");
    assert!(md.contains(&format!(
        "Drill file `defs/orders-db.toml`, SHA-256 `{orders_sha}`: copied as \
         [drills/{orders_sha}/orders-db.toml](<drills/{orders_sha}/orders-db.toml>)."
    )));
    assert_eq!(
        read(&dir.join(format!("drills/{orders_sha}/orders-db.toml"))),
        read(&f.root.join("defs/orders-db.toml"))
    );
    assert!(md.contains(": not copied, the file has changed since the run (its SHA-256 is now "));
    assert!(md.contains(": not copied, the file no longer exists."));
    let html = read(&dir.join("index.html"));
    assert!(html.contains(&format!("<h3 id=\"run-orders-db-{}\">", orders)));
    assert!(html.contains("<span class=\"b b-partly-answered\">partly answered</span>"));

    // Verify: the folder and the archive.
    for path in ["out/q1", "out/q1.tar.gz"] {
        let v = f.verify(path);
        assert_eq!(v.code, 0, "{path}:\n{}{}", v.stdout, v.stderr);
        let kind = if path.ends_with(".tar.gz") {
            "tar.gz"
        } else {
            "directory"
        };
        assert!(
            v.stdout
                .starts_with(&format!("verified: {path} ({kind}): signature by ed25519:")),
            "{}",
            v.stdout
        );
        assert!(
            v.stdout.ends_with(&format!(
                "{} files match MANIFEST.sha256, 12 history rows chained, 12 reports match \
                 their history rows, 0 runs signed when they ended\n",
                listed.len()
            )),
            "{}",
            v.stdout
        );
    }

    // The secret key is in no file of the bundle.
    let seed = secret_hex(&f.secret_text);
    for rel in &on_disk {
        assert!(
            !read(&dir.join(rel)).contains(&seed),
            "{rel} holds the secret key"
        );
    }
    // sha256sum agrees, for auditors without this tool.
    let sum = Command::new("sha256sum")
        .args(["-c", "--quiet", "MANIFEST.sha256"])
        .current_dir(&dir)
        .output();
    if let Ok(sum) = sum {
        assert!(
            sum.status.success(),
            "{}",
            String::from_utf8_lossy(&sum.stdout)
        );
    }
}

fn walk(dir: &Path, rel: &str, out: &mut BTreeSet<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        let r = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        if e.file_type().unwrap().is_dir() {
            walk(&e.path(), &r, out);
        } else {
            out.insert(r);
        }
    }
}

#[test]
fn each_tampering_is_named_and_fails() {
    let f = fixture();
    assert_eq!(f.export("good", &[]).code, 0);
    let good = f.root.join("good");
    let ledger = f.dir(7);
    let orders = f.dir(4);

    // Flip one byte in a report.
    let t = f.root.join("flipped");
    copy_dir(&good, &t);
    let path = t.join(&ledger).join("report.json");
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
    let v = f.verify("flipped");
    assert_eq!(v.code, 50, "{}", v.stdout);
    assert_eq!(
        problems(&v),
        [
            format!("changed: {ledger}/report.json"),
            format!(
                "{ledger}/report.json: SHA-256 differs from the one its history row recorded \
                 (history.csv line {})",
                bundle_line(7)
            ),
        ]
    );
    assert_eq!(
        v.stdout.lines().last().unwrap(),
        "NOT VERIFIED: flipped (directory): 2 problems"
    );

    // Delete one file.
    let t = f.root.join("deleted");
    copy_dir(&good, &t);
    std::fs::remove_file(t.join(&orders).join("phases.csv")).unwrap();
    let v = f.verify("deleted");
    assert_eq!(v.code, 50);
    assert_eq!(problems(&v), [format!("removed: {orders}/phases.csv")]);

    // Add one file.
    let t = f.root.join("added");
    copy_dir(&good, &t);
    std::fs::write(t.join(&orders).join("notes.txt"), "all fine, trust me\n").unwrap();
    let v = f.verify("added");
    assert_eq!(v.code, 50);
    assert_eq!(problems(&v), [format!("added: {orders}/notes.txt")]);

    // Edit one history row: ledger's missed run of 20 February becomes a pass.
    let t = f.root.join("edited");
    copy_dir(&good, &t);
    let history = read(&t.join("history.csv"));
    let line = bundle_line(7);
    let edited: Vec<String> = history
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i + 1 == line {
                assert!(
                    l.contains(",gold,missed,"),
                    "line {line} is ledger's miss: {l}"
                );
                l.replace(",gold,missed,", ",gold,met,")
            } else {
                l.to_owned()
            }
        })
        .collect();
    std::fs::write(t.join("history.csv"), edited.join("\n") + "\n").unwrap();
    let v = f.verify("edited");
    assert_eq!(v.code, 50);
    assert_eq!(
        problems(&v),
        [
            "changed: history.csv".to_owned(),
            format!("history.csv line {line}: row hash does not match its fields (edited?)"),
        ]
    );

    // The same in the archive: one entry changed, one appended.
    let src = f.root.join("good.tar.gz");
    let dst = f.root.join("tampered.tar.gz");
    rewrite_tar(&src, &dst, &format!("good/{orders}/report.md"));
    let v = f.verify("tampered.tar.gz");
    assert_eq!(v.code, 50, "{}", v.stdout);
    assert_eq!(
        problems(&v),
        [
            "added: extra.txt".to_owned(),
            format!("changed: {orders}/report.md"),
        ]
    );

    // Without its signature, or without its manifest: named, never "verified".
    let t = f.root.join("unsigned");
    copy_dir(&good, &t);
    std::fs::remove_file(t.join("MANIFEST.sha256.sig")).unwrap();
    let v = f.verify("unsigned");
    assert_eq!(v.code, 50);
    assert_eq!(
        problems(&v),
        ["removed: MANIFEST.sha256.sig (the bundle is not signed)"]
    );
    let t = f.root.join("no-manifest");
    copy_dir(&good, &t);
    std::fs::remove_file(t.join("MANIFEST.sha256")).unwrap();
    let v = f.verify("no-manifest");
    assert_eq!(v.code, 50);
    assert_eq!(
        problems(&v),
        ["removed: MANIFEST.sha256 (without it no file can be checked)"]
    );

    // An empty manifest, signed with the real key, over an empty folder: it lists nothing,
    // so nothing could be checked, and that is not a verified bundle.
    let t = f.root.join("empty");
    std::fs::create_dir_all(&t).unwrap();
    std::fs::write(t.join("MANIFEST.sha256"), "").unwrap();
    let key = restore_drill::evidence::parse_secret_key(&f.secret_text, "evidence.key").unwrap();
    std::fs::write(t.join("MANIFEST.sha256.sig"), key.sign_file(b"")).unwrap();
    let v = f.verify("empty");
    assert_eq!(v.code, 50, "{}", v.stdout);
    assert_eq!(
        problems(&v),
        [
            "MANIFEST.sha256 does not list bundle.json: not a complete evidence bundle",
            "MANIFEST.sha256 does not list history.csv: not a complete evidence bundle",
        ]
    );

    // The good bundle still verifies: the copies were tampered, not it.
    assert_eq!(f.verify("good").code, 0);
}

/// Copies a bundle archive, appending `x` to the entry `changed` and adding `extra.txt`.
fn rewrite_tar(src: &Path, dst: &Path, changed: &str) {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(
        std::fs::File::open(src).unwrap(),
    ));
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(dst).unwrap(),
        flate2::Compression::default(),
    );
    let mut out = tar::Builder::new(gz);
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).unwrap();
        if path == changed {
            data.push(b'x');
        }
        let mut h = e.header().clone();
        h.set_size(data.len() as u64);
        out.append_data(&mut h, &path, data.as_slice()).unwrap();
    }
    let mut h = tar::Header::new_gnu();
    h.set_size(4);
    h.set_mode(0o644);
    out.append_data(&mut h, "good/extra.txt", &b"hi!\n"[..])
        .unwrap();
    out.into_inner().unwrap().finish().unwrap();
}

#[test]
fn a_wrong_public_key_fails_and_no_key_is_only_integrity() {
    let f = fixture();
    assert_eq!(f.export("b", &[]).code, 0);
    let other = rd(
        &f.root,
        &["evidence", "keygen", "--out", "keys/other.key"],
        &[],
    );
    assert_eq!(other.code, 0);
    let mine = read(&f.public);
    let theirs = read(&f.root.join("keys/other.key.pub"));
    let id = |text: &str| {
        format!(
            "ed25519:{}",
            text.lines()
                .find_map(|l| l.strip_prefix("ed25519-public-key "))
                .unwrap()
        )
    };
    let v = rd(
        &f.root,
        &[
            "evidence",
            "verify",
            "b",
            "--public-key",
            "keys/other.key.pub",
        ],
        &[],
    );
    assert_eq!(v.code, 50);
    assert_eq!(
        problems(&v),
        [format!(
            "signature: made by {}, not by the trusted key {}",
            id(&mine),
            id(&theirs)
        )]
    );
    // The trusted key can come from the environment too.
    let v = rd(
        &f.root,
        &["evidence", "verify", "b"],
        &[("RESTORE_DRILL_PUBLIC_KEY", theirs.clone())],
    );
    assert_eq!(v.code, 50);

    // Re-signing a tampered manifest with another key: caught by the trusted key.
    copy_dir(&f.root.join("b"), &f.root.join("resigned"));
    let t = f.root.join("resigned");
    std::fs::write(t.join(f.dir(4)).join("report.md"), "# all good\n").unwrap();
    let manifest = read(&t.join("MANIFEST.sha256"));
    let fixed: String = manifest
        .lines()
        .map(|l| {
            if l.ends_with("/report.md") && l.contains(&f.ids[4]) {
                format!(
                    "{}  {}\n",
                    restore_drill::drill::sha256_hex(b"# all good\n"),
                    &l[66..]
                )
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(t.join("MANIFEST.sha256"), &fixed).unwrap();
    let other_key = restore_drill::evidence::parse_secret_key(
        &read(&f.root.join("keys/other.key")),
        "other.key",
    )
    .unwrap();
    std::fs::write(
        t.join("MANIFEST.sha256.sig"),
        other_key.sign_file(fixed.as_bytes()),
    )
    .unwrap();
    let v = f.verify("resigned");
    assert_eq!(v.code, 50);
    assert_eq!(
        problems(&v),
        [format!(
            "signature: made by {}, not by the trusted key {}",
            id(&theirs),
            id(&mine)
        )]
    );
    // Without a trusted key the files are as signed, which is all that is claimed.
    let v = rd(&f.root, &["evidence", "verify", "resigned"], &[]);
    assert_eq!(v.code, 0, "{}", v.stdout);
    assert!(
        v.stderr
            .contains("warning: no --public-key (or RESTORE_DRILL_PUBLIC_KEY) was given"),
        "{}",
        v.stderr
    );
    // A signature that does not match the manifest at all.
    std::fs::write(
        t.join("MANIFEST.sha256.sig"),
        read(&f.root.join("b/MANIFEST.sha256.sig")),
    )
    .unwrap();
    let v = f.verify("resigned");
    assert_eq!(
        problems(&v),
        [
            "signature: does not match MANIFEST.sha256 (the manifest was changed after it was \
          signed)"
        ]
    );
}

#[test]
fn a_gold_drill_without_a_pass_in_its_interval_is_a_control_gap() {
    let f = fixture();
    let r = f.export("b", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let info = bundle_json(&f.root.join("b"));
    let ledger_gap = "ledger (gold tier: a passing run at least every 30d): no passing run from \
        2026-02-02T06:00:00Z to 2026-03-31T23:59:59Z (last pass 2026-01-03T06:00:00Z)";
    assert!(
        r.stdout.contains(&format!("gap: {ledger_gap}\n")),
        "{}",
        r.stdout
    );
    // Only ledger has a gap: orders-db is covered, partly by its December pass; its February
    // failure was followed by a pass.
    let gaps: Vec<&str> = info["drills"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["gaps"].as_array().unwrap())
        .map(|g| g["message"].as_str().unwrap())
        .collect();
    assert_eq!(gaps, [ledger_gap]);

    let control = |name: &str| {
        info["controls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["control"] == name)
            .unwrap_or_else(|| panic!("no control {name}"))
            .clone()
    };
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    };
    let label = |i: usize| format!("{}/{}", RUNS[i].drill, f.ids[i]);
    let passes: Vec<String> = [1, 2, 3, 4, 5, 8, 11, 12]
        .iter()
        .map(|&i| label(i))
        .collect();
    let open = [
        format!("{}: verdict missed, and no later run passed", label(7)),
        format!("{}: verdict missed, and no later run passed", label(10)),
    ];

    let soc2 = control("A1.3");
    assert_eq!(soc2["framework"], "SOC 2");
    assert_eq!(soc2["status"], "partly answered");
    assert_eq!(strings(&soc2["answered_by"]), passes);
    let mut want = vec![ledger_gap.to_owned()];
    want.extend(open.iter().cloned());
    assert_eq!(strings(&soc2["missing"]), want);

    let hipaa = control("45 CFR 164.308(a)(7)(ii)(D)");
    assert_eq!(strings(&hipaa["missing"]), want);
    let iso = control("A.8.13");
    assert_eq!(strings(&iso["missing"]), [ledger_gap]);

    // DORA: archive restored into a publicly accessible instance is not segregated.
    let dora = control("Art. 12");
    let archive: Vec<String> = [5, 12]
        .iter()
        .map(|&i| {
            format!(
                "{}: target rds_instance drill-archive-{} of restore main: publicly \
                 accessible, so not segregated from other networks",
                label(i),
                f.ids[i].to_lowercase()
            )
        })
        .collect();
    let mut want = archive;
    want.push(ledger_gap.to_owned());
    assert_eq!(strings(&dora["missing"]), want);
    assert_eq!(
        strings(&dora["answered_by"]),
        [1, 2, 3, 4, 8, 11]
            .iter()
            .map(|&i| label(i))
            .collect::<Vec<_>>()
    );

    // PCI: a pass within 12 months for every drill (ledger's is in January).
    let pci = control("12.10.2");
    assert_eq!(pci["status"], "answered");
    assert_eq!(
        strings(&pci["answered_by"]),
        [label(12), label(3), label(1), label(11)]
    );

    // The index says it where an auditor reads it.
    let md = read(&f.root.join("b/index.md"));
    let soc2_section = md
        .split("### SOC 2 A1.3 — Recovery plan testing")
        .nth(1)
        .unwrap()
        .split("\n### ")
        .next()
        .unwrap();
    assert!(
        soc2_section.contains("**Status:** **partly answered**"),
        "{soc2_section}"
    );
    assert!(
        soc2_section.contains(&format!("- {}", ledger_gap.replace('_', "\\_"))),
        "{soc2_section}"
    );
}

#[test]
fn a_report_edited_before_export_is_flagged_and_fails_verify() {
    let f = fixture();
    let i = 8;
    let path = f
        .root
        .join("reports")
        .join(RUNS[i].drill)
        .join(&f.ids[i])
        .join("report.json");
    let text = read(&path).replace("\"verdict\": \"met\"", "\"verdict\": \"met\" ");
    std::fs::write(&path, text).unwrap();
    let r = f.export("b", &[]);
    assert_eq!(r.code, 50, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "problem: {}/{}: report.json differs from the SHA-256 its history row recorded (",
            RUNS[i].drill, f.ids[i]
        )),
        "{}",
        r.stderr
    );
    let v = f.verify("b");
    assert_eq!(v.code, 50);
    assert_eq!(
        problems(&v),
        [format!(
            "{}/report.json: SHA-256 differs from the one its history row recorded \
             (history.csv line {})",
            f.dir(i),
            bundle_line(i)
        )]
    );
}

#[test]
fn keygen_writes_a_private_secret_and_export_needs_a_key() {
    let f = fixture();
    let mode = std::fs::metadata(&f.key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(read(&f.public).contains("ed25519-public-key "));
    assert!(!read(&f.public).contains(&secret_hex(&f.secret_text)));
    // Never overwritten.
    let again = rd(
        &f.root,
        &["evidence", "keygen", "--out", "keys/evidence.key"],
        &[],
    );
    assert_eq!(again.code, 30);
    assert!(again.stderr.contains("exists; a key is never overwritten"));
    assert_eq!(read(&f.key), f.secret_text);

    // No key: refused, nothing written.
    let r = rd(&f.root, &["evidence", "export", "--out", "nokey"], &[]);
    assert_eq!(r.code, 30);
    assert!(
        r.stderr.starts_with(
            "error: no signing key: pass --signing-key FILE or set \
        RESTORE_DRILL_SIGNING_KEY"
        ),
        "{}",
        r.stderr
    );
    assert!(!f.root.join("nokey").exists());
    // The public key is not a signing key, and the message does not echo a key.
    let r = rd(
        &f.root,
        &[
            "evidence",
            "export",
            "--signing-key",
            "keys/evidence.key.pub",
            "--out",
            "x",
        ],
        &[],
    );
    assert_eq!(r.code, 30);
    assert!(r.stderr.contains("holds a public key, not a secret one"));
    // From the environment, as CI secret stores provide it; an existing bundle is never
    // overwritten.
    let r = rd(
        &f.root,
        &[
            "evidence",
            "export",
            "--until",
            UNTIL,
            "--out",
            "env.tar.gz",
        ],
        &[("RESTORE_DRILL_SIGNING_KEY", f.secret_text.clone())],
    );
    f.assert_no_secret(&r);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(f.root.join("env").is_dir() && f.root.join("env.tar.gz").is_file());
    assert_eq!(f.verify("env.tar.gz").code, 0);
    let r = rd(
        &f.root,
        &["evidence", "export", "--out", "env"],
        &[("RESTORE_DRILL_SIGNING_KEY", secret_hex(&f.secret_text))],
    );
    assert_eq!(r.code, 30);
    assert!(
        r.stderr
            .contains("env exists; evidence is never overwritten"),
        "{}",
        r.stderr
    );
}

#[test]
fn one_drill_only() {
    let f = fixture();
    let r = f.export("ledger", &["--drill", "ledger"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let info = bundle_json(&f.root.join("ledger"));
    let runs: Vec<&str> = info["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap())
        .collect();
    assert_eq!(runs, [&f.ids[1], &f.ids[7], &f.ids[10]]);
    // Rows of other drills between ledger's stay, so the chain can be checked.
    assert_eq!(info["history"]["source_first_line"], 3);
    assert_eq!(info["history"]["source_last_line"], 12);
    assert_eq!(info["history"]["rows_in_period"], 3);
    assert_eq!(f.verify("ledger").code, 0);
}

#[test]
fn a_recorded_run_names_who_ran_it_under_the_history_hash() {
    let tmp = tempfile::tempdir().unwrap();
    let mut r = report(&RUNS[2], 2, "defs/orders-db.toml", &"0".repeat(64));
    // As the engine fills it in for every run.
    r.operator = Some(restore_drill::evidence::current_operator());
    let mut err = Vec::new();
    let code = restore_drill::commands::record_run(tmp.path(), &r, &mut err);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&err));
    let dir = tmp.path().join("orders-db").join(&r.run_id);
    let json = std::fs::read(dir.join("report.json")).unwrap();
    let written: RunReport = serde_json::from_slice(&json).unwrap();
    let op = written.operator.expect("report.json names who ran it");
    assert!(op.user.is_some() && op.host.is_some(), "{op:?}");
    // The history row's hash covers the report with its operator.
    let history = read(&tmp.path().join("history.csv"));
    assert!(history.contains(&restore_drill::drill::sha256_hex(&json)));
}

// --- S3 with Object Lock, on moto -----------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn upload_to_s3_is_locked_and_a_locked_version_cannot_be_deleted() {
    use aws_sdk_s3::types::ObjectLockMode;
    let moto = common::moto::Moto::start();
    let s3 = moto.s3().await;
    s3.create_bucket()
        .bucket("audit-evidence")
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .unwrap();
    s3.create_bucket().bucket("plain").send().await.unwrap();
    let f = fixture();
    let mut env = moto.env();
    env.push(("AWS_ENDPOINT_URL", moto.endpoint()));
    let env: Vec<(&str, String)> = env.into_iter().collect();
    let key = f.key.to_string_lossy().into_owned();
    let root = f.root.clone();
    let export = |out: &'static str, extra: &'static [&'static str]| {
        let mut args = vec![
            "evidence",
            "export",
            "--since",
            SINCE,
            "--until",
            UNTIL,
            "--signing-key",
            &key,
            "--out",
            out,
        ];
        args.extend_from_slice(extra);
        rd(&root, &args, &env)
    };

    // Object Lock settings are required, and a bucket without Object Lock is refused.
    let r = export("s3://audit-evidence/q1", &[]);
    assert_eq!(r.code, 30);
    assert!(
        r.stderr.contains("needs --retain-days N and --lock-mode"),
        "{}",
        r.stderr
    );
    let r = export(
        "s3://plain/q1",
        &["--retain-days", "7", "--lock-mode", "governance"],
    );
    assert_eq!(r.code, 30, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("bucket plain does not have Object Lock enabled"),
        "{}",
        r.stderr
    );
    let listed = s3.list_objects_v2().bucket("plain").send().await.unwrap();
    assert_eq!(listed.key_count(), Some(0));

    let before = Utc::now();
    let r = export(
        "s3://audit-evidence/restore-drill/",
        &["--retain-days", "7", "--lock-mode", "compliance"],
    );
    f.assert_no_secret(&Run {
        code: r.code,
        stdout: r.stdout.clone(),
        stderr: r.stderr.clone(),
    });
    assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains(" objects to s3://audit-evidence/restore-drill/evidence-"),
        "{}",
        r.stdout
    );
    let objects = s3
        .list_objects_v2()
        .bucket("audit-evidence")
        .prefix("restore-drill/")
        .send()
        .await
        .unwrap();
    let keys: Vec<String> = objects
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect();
    let tarball = keys
        .iter()
        .find(|k| k.ends_with(".tar.gz"))
        .expect("the archive was uploaded")
        .clone();
    let name = tarball
        .trim_start_matches("restore-drill/")
        .trim_end_matches(".tar.gz");
    for needed in [
        "MANIFEST.sha256",
        "MANIFEST.sha256.sig",
        "index.html",
        "history.csv",
    ] {
        assert!(
            keys.contains(&format!("restore-drill/{name}/{needed}")),
            "{needed} not in {keys:?}"
        );
    }
    assert!(keys.len() > 12 * 4, "{} objects", keys.len());

    // Every object carries the retention asked for.
    let floor = (before + Duration::days(7)).timestamp() - 5;
    let ceiling = (Utc::now() + Duration::days(7)).timestamp() + 5;
    for k in &keys {
        let head = s3
            .head_object()
            .bucket("audit-evidence")
            .key(k)
            .send()
            .await
            .unwrap();
        assert_eq!(
            head.object_lock_mode(),
            Some(&ObjectLockMode::Compliance),
            "{k}"
        );
        let until = head
            .object_lock_retain_until_date()
            .expect("a retain-until date")
            .secs();
        assert!((floor..=ceiling).contains(&until), "{k}: until {until}");
    }
    // (moto 5.2 does not implement GetObjectRetention: it answers with the object itself,
    // so HeadObject, which S3 answers from the same retention record, is what is checked.)

    // Deleting the locked version is refused by the server, and the object stays.
    let head = s3
        .head_object()
        .bucket("audit-evidence")
        .key(&tarball)
        .send()
        .await
        .unwrap();
    let version = head.version_id().expect("a version id").to_owned();
    let deleted = s3
        .delete_object()
        .bucket("audit-evidence")
        .key(&tarball)
        .version_id(&version)
        .send()
        .await;
    let e = deleted.expect_err("a locked version cannot be deleted");
    let code =
        aws_sdk_s3::error::ProvideErrorMetadata::code(&e.into_service_error()).map(str::to_owned);
    assert_eq!(code.as_deref(), Some("AccessDenied"));
    let still = s3
        .get_object()
        .bucket("audit-evidence")
        .key(&tarball)
        .version_id(&version)
        .send()
        .await
        .unwrap();
    let body = still.body.collect().await.unwrap().into_bytes();
    assert!(body.starts_with(&[0x1f, 0x8b]), "still a gzip archive");
}

/// Timing, not correctness: export and verify a history of many runs (`EVIDENCE_RUNS`,
/// default 2000) with the built binary, and print how long each took:
/// `cargo nextest run --release --test evidence --run-ignored only --no-capture many_runs`.
#[test]
#[ignore = "timing: run with --run-ignored only"]
fn many_runs_export_and_verify() {
    let n: usize = std::env::var("EVIDENCE_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let f = fixture();
    let reports = f.root.join("reports");
    let history = reports.join("history.csv");
    let built = std::time::Instant::now();
    let start = at("2026-01-01T00:00:00Z");
    for i in 0..n {
        let k = RUNS.len() + i;
        let template = &RUNS[k % 12 + 1];
        let started: &'static str = Box::leak(
            (start + Duration::hours(i as i64))
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                .into_boxed_str(),
        );
        let s = spec(
            template.drill,
            template.tier,
            started,
            template.verdict,
            template.target,
        );
        let r = report(&s, k, "defs/orders-db.toml", &"0".repeat(64));
        let (_, sha) = write_reports(&reports, &r).unwrap();
        append_history(&history, &r, &sha).unwrap();
    }
    eprintln!("{n} runs written in {:.2?}", built.elapsed());
    let t = std::time::Instant::now();
    let key = f.key.to_string_lossy().into_owned();
    let args = ["evidence", "export", "--signing-key", &key, "--out", "many"];
    let r = rd(&f.root, &args, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let export = t.elapsed();
    let t = std::time::Instant::now();
    assert_eq!(f.verify("many").code, 0);
    let verify_dir = t.elapsed();
    let t = std::time::Instant::now();
    assert_eq!(f.verify("many.tar.gz").code, 0);
    let verify_tar = t.elapsed();
    let files = read(&f.root.join("many/MANIFEST.sha256")).lines().count();
    let size = std::fs::metadata(f.root.join("many.tar.gz")).unwrap().len();
    eprintln!(
        "{n} runs, {files} files, archive {:.1} MiB: export {export:.2?}, verify folder \
         {verify_dir:.2?}, verify .tar.gz {verify_tar:.2?}",
        size as f64 / (1 << 20) as f64
    );
}

// --- Runs signed when they end (issue 16) ----------------------------------------------------

/// The forgery a hash chain alone cannot see: edit a run's report and its history row, then
/// recompute the chain from there. The bundle exported from that (with the operator's key)
/// verifies as a bundle, but the run's own signature, made when it ended with the runner's
/// key, no longer matches: exit 50 naming the run. A run recorded without a key is flagged.
#[test]
fn a_signed_run_edited_with_its_row_and_a_recomputed_chain_fails_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir_all(root.join("defs")).unwrap();
    std::fs::create_dir_all(root.join("keys")).unwrap();
    let keygen = rd(root, &["evidence", "keygen", "--out", "keys/k"], &[]);
    assert_eq!(keygen.code, 0, "{}", keygen.stderr);
    let key_text = std::fs::read_to_string(root.join("keys/k")).unwrap();
    let key = restore_drill::evidence::parse_secret_key(&key_text, "test").unwrap();
    let reports = root.join("reports");
    let mut ids = Vec::new();
    // Three runs inside the period exported: 1 and 2 on a runner with a key, 3 without.
    for (i, s) in RUNS.iter().enumerate().take(4).skip(1) {
        let text = format!("name = \"{}\"\n", s.drill);
        std::fs::write(root.join(format!("defs/{}.toml", s.drill)), &text).unwrap();
        let sha = restore_drill::drill::sha256_hex(text.as_bytes());
        let r = report(s, i, &format!("defs/{}.toml", s.drill), &sha);
        let k = (i < 3).then_some(&key);
        let mut err = Vec::new();
        let code = restore_drill::commands::record_run_signed(&reports, &r, k, &mut err);
        assert_eq!(code, 0, "{}", String::from_utf8_lossy(&err));
        ids.push(r.run_id);
    }
    let export = |out: &str| {
        rd(
            root,
            &[
                "evidence",
                "export",
                "--since",
                SINCE,
                "--until",
                UNTIL,
                "--signing-key",
                "keys/k",
                "--out",
                out,
            ],
            &[],
        )
    };
    let verify = |path: &str| {
        rd(
            root,
            &["evidence", "verify", path, "--public-key", "keys/k.pub"],
            &[],
        )
    };
    let e = export("good");
    assert_eq!(e.code, 0, "{}", e.stderr);
    let v = verify("good");
    assert_eq!(v.code, 0, "{}\n{}", v.stdout, v.stderr);
    assert!(
        v.stdout.contains("2 runs signed when they ended"),
        "{}",
        v.stdout
    );
    let unsigned = format!("{}/{}", RUNS[3].drill, ids[2]);
    assert!(
        v.stderr.contains("1 run was not signed") && v.stderr.contains(&unsigned),
        "{}",
        v.stderr
    );
    let index = std::fs::read_to_string(root.join("good/index.md")).unwrap();
    assert_eq!(index.matches("UNSIGNED run").count(), 1, "{index}");

    // The forgery: run 2's RTO made smaller, its row's report hash updated, the chain
    // recomputed from that row on.
    let victim = reports
        .join(RUNS[2].drill)
        .join(&ids[1])
        .join("report.json");
    let mut r: RunReport = serde_json::from_slice(&std::fs::read(&victim).unwrap()).unwrap();
    r.measured.rto_seconds = Some(60.0);
    let forged = serde_json::to_vec_pretty(&r).unwrap();
    std::fs::write(&victim, &forged).unwrap();
    let history_path = reports.join("history.csv");
    let history = restore_drill::report::read_history(&history_path).unwrap();
    let mut text = format!("{}\n", restore_drill::report::HistoryRow::HEADER);
    let mut prev = restore_drill::report::HistoryRow::CHAIN_START.to_owned();
    for mut row in history.rows {
        if row.run_id == ids[1] {
            row.rto_seconds = Some(60.0);
            row.report_sha256 = restore_drill::drill::sha256_hex(&forged);
        }
        let row = row.chained(&prev);
        prev = row.row_hash.clone();
        text.push_str(&row.to_line());
    }
    std::fs::write(&history_path, text).unwrap();
    // The chain itself holds: only the run's signature can tell.
    assert_eq!(
        restore_drill::report::read_history(&history_path)
            .unwrap()
            .problems,
        Vec::<String>::new()
    );
    let e = export("forged");
    assert_eq!(
        e.code, 0,
        "the export sees a consistent history: {}",
        e.stderr
    );
    let v = verify("forged");
    assert_eq!(v.code, 50, "{}\n{}", v.stdout, v.stderr);
    assert_eq!(
        problems(&v),
        [format!(
            "run {}/{}: report.json does not match the signature made when the run ended \
             (runs/{}/{}/report.sig): changed after the run",
            RUNS[2].drill, ids[1], RUNS[2].drill, ids[1]
        )]
    );
}

/// A signing key the runner cannot use stops `run` before any restore, without echoing it.
#[test]
fn run_with_an_unusable_signing_key_runs_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let drill = Path::new(env!("CARGO_MANIFEST_DIR")).join("drills/demo-local.toml");
    let bogus = "ed25519:c657818430ea46a1a0e628aad15d06288e7da136a345f047f88e9278e2d61749";
    let r = rd(
        tmp.path(),
        &["run", drill.to_str().unwrap(), "--reports", "reports"],
        &[("RESTORE_DRILL_SIGNING_KEY", bogus.to_owned())],
    );
    assert_eq!(r.code, 30, "{}", r.stderr);
    assert!(
        r.stderr.contains("RESTORE_DRILL_SIGNING_KEY") && r.stderr.contains("nothing was run"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains(bogus),
        "the key was echoed: {}",
        r.stderr
    );
    assert!(!tmp.path().join("reports").exists());
}
