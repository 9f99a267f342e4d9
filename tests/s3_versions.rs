//! `s3_versions` restores against both real S3 servers of the tests (moto and SeaweedFS, each
//! test once on each), with generated ground truth: a history
//! of puts, overwrites, deletes, re-creations and same-second changes, over more than a
//! thousand keys with odd names, a page boundary between a delete marker and the version
//! below it, and pages of nothing but delete markers. The restored prefix must equal the
//! truth exactly, the source's version list must not change, checks must find exactly what
//! was broken, and teardown must leave nothing behind.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use aws_sdk_s3::Client;
use chrono::{DateTime, SubsecRound, Utc};
use common::moto::Moto;
use common::s3::*;
use common::seaweed::{S3Server, Seaweed};
use futures_util::StreamExt;
use restore_drill::checks::{restored_set_check, run_object_check};
use restore_drill::drill::{CheckKind, CheckPlan};
use restore_drill::provider::aws::AwsSettings;
use restore_drill::provider::aws::s3::RestoredObjects;

const SOURCE: &str = "src-prod";

/// A small deterministic generator (xorshift), so a failing history can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn percent(&mut self) -> u64 {
        self.next() % 100
    }
}

/// One change to the source, and the truth it leaves behind.
#[derive(Debug, Clone)]
enum Op {
    Put(String, Vec<u8>),
    Delete(String),
}

impl Op {
    fn key(&self) -> &str {
        match self {
            Op::Put(k, _) | Op::Delete(k) => k,
        }
    }
}

/// What the bucket holds, by key, after the ops applied so far.
#[derive(Default)]
struct Truth(BTreeMap<String, Vec<u8>>);

impl Truth {
    fn apply(&mut self, op: &Op) {
        match op {
            Op::Put(k, b) => {
                self.0.insert(k.clone(), b.clone());
            }
            Op::Delete(k) => {
                self.0.remove(k);
            }
        }
    }
}

async fn run_op(s3: &Client, op: &Op) {
    match op {
        Op::Put(k, b) => put(s3, SOURCE, k, b).await,
        Op::Delete(k) => delete(s3, SOURCE, k).await,
    }
}

/// Applies one step: ops on distinct keys, concurrently.
async fn step(s3: &Client, truth: &mut Truth, ops: Vec<Op>) {
    let mut seen = std::collections::HashSet::new();
    for op in &ops {
        assert!(seen.insert(op.key().to_owned()), "one op per key per step");
        truth.apply(op);
    }
    futures_util::stream::iter(&ops)
        .map(|op| run_op(s3, op))
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await;
}

fn body(key: &str, n: u32) -> Vec<u8> {
    format!("{key} version {n} {}", "x".repeat((n as usize * 7) % 23)).into_bytes()
}

/// Leaves `key` with nothing but a delete marker, as a lifecycle rule expiring noncurrent
/// versions does: put, delete, then remove the version below the marker.
async fn marker_only(s3: &Client, key: String) {
    let v = s3
        .put_object()
        .bucket(SOURCE)
        .key(&key)
        .body(b"gone".to_vec().into())
        .send()
        .await
        .unwrap();
    delete(s3, SOURCE, &key).await;
    s3.delete_object()
        .bucket(SOURCE)
        .key(&key)
        .set_version_id(v.version_id().map(str::to_owned))
        .send()
        .await
        .unwrap();
}

/// Waits until the wall clock is early in a second, so a short burst of writes shares it.
async fn start_of_a_second() {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while Utc::now().timestamp_subsec_millis() > 300 {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until the wall clock is past `t`.
async fn past(t: DateTime<Utc>) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while Utc::now() <= t {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

const ODD_KEYS: &[&str] = &[
    "odd/a b.txt",
    "odd/a+b.txt",
    "odd/100%.csv",
    "odd/100%25.csv",
    "odd/한글/x.txt",
    "odd/émoji 🎉.bin",
    "odd/q?x=1#frag",
    "odd/  two  spaces ",
    "odd/plus+/+",
    "odd/a%2Fb",
    "odd/quote\"s'&<amp>",
];

/// Builds the history in moto; returns the truth at T and T. Every write before T has a
/// `LastModified` at or before T, every write after it a later one.
async fn generate(s3: &Client) -> (BTreeMap<String, Vec<u8>>, DateTime<Utc>) {
    let mut rng = Rng(0x5eed_1234_abcd_0042);
    let mut truth = Truth::default();
    let data: Vec<String> = (0..400).map(|i| format!("data/{i:05}")).collect();

    // Round 1, before T. "0dm/": 1,000 keys with nothing but a delete marker (as lifecycle
    // expiry leaves them): the first page of the listing holds only delete markers. "0edge/":
    // 999 keys of one version, then a key whose delete marker is the last entry of the second
    // page and whose version opens the third.
    futures_util::stream::iter(0..1000)
        .map(|i| marker_only(s3, format!("0dm/k{i:04}")))
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await;
    let mut first: Vec<Op> = Vec::new();
    first.extend((0..1000).map(|i| {
        let k = format!("0edge/k{i:04}");
        Op::Put(k.clone(), body(&k, 1))
    }));
    first.extend(data.iter().map(|k| Op::Put(k.clone(), body(k, 1))));
    first.extend(
        ODD_KEYS
            .iter()
            .map(|k| Op::Put((*k).to_owned(), body(k, 1))),
    );
    step(s3, &mut truth, first).await;
    // Deleting a key that never existed leaves only a marker; the truth never had it.
    step(s3, &mut truth, vec![Op::Delete("0edge/k0999".into())]).await;

    // Round 2, before T: overwrites, deletes, re-creations, in steps of distinct keys.
    let mut recreate = Vec::new();
    let mut ops = Vec::new();
    for k in &data {
        match rng.percent() {
            0..=29 => ops.push(Op::Put(k.clone(), body(k, 2))),
            30..=44 => ops.push(Op::Delete(k.clone())),
            45..=54 => {
                ops.push(Op::Delete(k.clone()));
                recreate.push(k.clone());
            }
            _ => {}
        }
    }
    ops.push(Op::Put("odd/a b.txt".into(), body("odd/a b.txt", 2)));
    ops.push(Op::Delete("odd/100%.csv".into()));
    step(s3, &mut truth, ops).await;
    step(
        s3,
        &mut truth,
        recreate
            .iter()
            .map(|k| Op::Put(k.clone(), body(k, 3)))
            .collect(),
    )
    .await;

    // Same-second histories, one op per key per step so no two writes to a key share a
    // millisecond (moto orders those by insertion, S3 by time).
    start_of_a_second().await;
    let tie_steps: [&[(&str, Option<u32>)]; 4] = [
        &[
            ("tie/a", Some(1)),
            ("tie/b", Some(1)),
            ("tie/c", Some(1)),
            ("tie/d", Some(1)),
        ],
        &[
            ("tie/a", Some(2)),
            ("tie/b", Some(2)),
            ("tie/c", None),
            ("tie/d", None),
        ],
        &[("tie/a", None), ("tie/b", None), ("tie/d", Some(2))],
        &[("tie/a", Some(3))],
    ];
    for s in tie_steps {
        let ops = s
            .iter()
            .map(|(k, v)| match v {
                Some(n) => Op::Put((*k).to_owned(), body(k, *n)),
                None => Op::Delete((*k).to_owned()),
            })
            .collect();
        step(s3, &mut truth, ops).await;
    }

    // T: a whole second after the last write before it.
    let t = Utc::now().trunc_subsecs(0) + chrono::Duration::seconds(1);
    past(t + chrono::Duration::seconds(1)).await;
    let at_t = std::mem::take(&mut truth.0);
    let mut after = Truth(at_t.clone());

    // After T: more overwrites and deletes, new keys, a version above a same-second pair.
    let mut ops = Vec::new();
    for k in &data {
        match rng.percent() {
            0..=29 => ops.push(Op::Put(k.clone(), body(k, 4))),
            30..=39 => ops.push(Op::Delete(k.clone())),
            _ => {}
        }
    }
    ops.extend((0..100).map(|i| {
        let k = format!("data/new-{i:03}");
        Op::Put(k.clone(), body(&k, 1))
    }));
    ops.extend(
        ODD_KEYS
            .iter()
            .map(|k| Op::Put((*k).to_owned(), body(k, 9))),
    );
    ops.push(Op::Put("tie/c".into(), body("tie/c", 3)));
    ops.push(Op::Put("tie/d".into(), body("tie/d", 3)));
    step(s3, &mut after, ops).await;
    (at_t, t)
}

fn write_drill(dir: &Path, srv: &impl S3Server, name: &str, target_bucket: &str, extra: &str) {
    let text = format!(
        r#"name = "{name}"
tier = "bronze"
schedule = "quarterly"

[provider]
kind = "aws"
region = "us-east-1"
endpoint_url = "{endpoint}"

[[restore]]
id = "files"
kind = "s3_versions"
bucket = "{SOURCE}"
to = "incident"
concurrency = 32
[restore.target]
bucket = "{target_bucket}"
prefix = "drill/{{run_id}}/"
{extra}
"#,
        endpoint = srv.endpoint()
    );
    std::fs::write(dir.join(format!("{name}.toml")), text).unwrap();
}

fn report_of(dir: &Path, drill: &str) -> serde_json::Value {
    let runs = dir.join("reports").join(drill);
    let mut all: Vec<_> = std::fs::read_dir(&runs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    all.sort();
    let last = all.last().expect("a run dir");
    serde_json::from_slice(&std::fs::read(last.join("report.json")).unwrap()).unwrap()
}

fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restores_a_generated_history_exactly_and_leaves_the_source_alone_on_moto() {
    restores_a_generated_history_exactly_and_leaves_the_source_alone(&Moto::start()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restores_a_generated_history_exactly_and_leaves_the_source_alone_on_seaweedfs() {
    restores_a_generated_history_exactly_and_leaves_the_source_alone(&Seaweed::start()).await;
}

async fn restores_a_generated_history_exactly_and_leaves_the_source_alone(srv: &impl S3Server) {
    let s3 = srv.s3().await;
    create_versioned_bucket(&s3, SOURCE).await;
    s3.create_bucket()
        .bucket("drill-kept")
        .send()
        .await
        .unwrap();
    let (truth, t) = generate(&s3).await;
    assert!(
        truth.len() > 1000,
        "more than a page of keys: {}",
        truth.len()
    );
    assert!(!truth.contains_key("0edge/k0999") && truth.contains_key("0edge/k0998"));
    assert_eq!(truth.get("tie/a"), Some(&body("tie/a", 3)));
    assert!(!truth.contains_key("tie/b") && !truth.contains_key("tie/c"));
    assert_eq!(truth.get("tie/d"), Some(&body("tie/d", 2)));
    assert!(truth.contains_key("odd/a+b.txt") && !truth.contains_key("odd/100%.csv"));
    let before = all_versions(&s3, SOURCE, "").await;
    // The listing's pages fall where the history meant them to.
    let page = |km: Option<&str>, vm: Option<&str>| {
        s3.list_object_versions()
            .bucket(SOURCE)
            .max_keys(1000)
            .set_key_marker(km.map(str::to_owned))
            .set_version_id_marker(vm.map(str::to_owned))
            .send()
    };
    let p1 = page(None, None).await.unwrap();
    assert!(
        p1.versions().is_empty() && p1.delete_markers().len() == 1000,
        "{} versions, {} markers, first {:?}",
        p1.versions().len(),
        p1.delete_markers().len(),
        p1.versions().first().and_then(|v| v.key())
    );
    let p2 = page(p1.next_key_marker(), p1.next_version_id_marker())
        .await
        .unwrap();
    assert_eq!(p2.next_key_marker(), Some("0edge/k0999"));
    assert_eq!(
        p2.delete_markers().last().and_then(|m| m.key()),
        Some("0edge/k0999")
    );
    let p3 = page(p2.next_key_marker(), p2.next_version_id_marker())
        .await
        .unwrap();
    assert_eq!(p3.versions()[0].key(), Some("0edge/k0999"));
    // Whether the same-second burst really stayed within one second (it starts early in one,
    // and takes milliseconds): then tie/c and tie/d need the listing asked.
    let seconds = |k: &str| -> Vec<i64> {
        before
            .iter()
            .filter(|l| l.key == k && l.last_modified <= t.timestamp())
            .map(|l| l.last_modified)
            .collect()
    };
    let tied = ["tie/a", "tie/b", "tie/c", "tie/d"]
        .iter()
        .all(|k| seconds(k).windows(2).all(|w| w[0] == w[1]));

    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("manifests")).unwrap();
    let env = srv.env();
    // A manifest of the source as of T, taken from its versions.
    let m = restore_drill_env(
        dir.path(),
        &[
            "manifest",
            "--s3",
            &format!("s3://{SOURCE}/"),
            "--at",
            &rfc(t),
            "--endpoint-url",
            &srv.endpoint(),
            "--out",
            "manifests/src.json",
        ],
        &env,
    );
    assert_eq!(m.code, 0, "{}{}", m.stdout, m.stderr);
    assert!(
        m.stdout.contains(&format!("{} objects", truth.len())),
        "{}",
        m.stdout
    );

    write_drill(
        dir.path(),
        srv,
        "files",
        "drill-kept",
        r#"
[[check]]
restore = "files"
kind = "s3_manifest"
manifest = "manifests/src.json"

[[check]]
restore = "files"
kind = "freshness"

[[check]]
restore = "files"
kind = "canary"
prefix = "tie/"
"#,
    );
    let run = restore_drill_env(
        dir.path(),
        &[
            "run",
            "files.toml",
            "--keep",
            "--incident-at",
            &rfc(t),
            "--format",
            "none",
        ],
        &env,
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let report = report_of(dir.path(), "files");
    assert_eq!(report["verdict"], "met", "{report:#}");
    assert_eq!(report["measured"]["rpo_source"], "data");
    let target = &report["restores"][0]["target"];
    let name = target["name"].as_str().unwrap();
    let prefix = name.strip_prefix("s3://drill-kept/").unwrap().to_owned();
    assert!(
        prefix.starts_with("drill/") && prefix.ends_with('/'),
        "{name}"
    );
    assert_eq!(target["details"]["objects"], truth.len().to_string());
    assert!(target["details"]["copy_p99_ms"].as_str().is_some());
    // The copies went out without the SDK's orchestrator (`wire.rs`): what follows checks
    // that path against the truth (SeaweedFS verifies each request's signature).
    assert_eq!(target["details"]["copy_client"], "direct", "{report:#}");
    let checks: Vec<(&str, &str)> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["kind"].as_str().unwrap(), c["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        checks,
        [
            ("s3_restored_set", "passed"),
            ("s3_manifest", "passed"),
            ("freshness", "passed"),
            ("canary", "passed")
        ],
        "{report:#}"
    );
    let notes = report["restores"][0]["recovery_point"]["notes"].to_string();
    assert!(
        notes.contains(&format!("{} keys current", truth.len())),
        "{notes}"
    );
    if tied {
        let asked = regex::Regex::new(r"(\d+) by asking the listing").unwrap();
        let n: u64 = asked
            .captures(&notes)
            .and_then(|c| c[1].parse().ok())
            .unwrap_or(0);
        assert!(n >= 2, "tie/c and tie/d need the listing asked: {notes}");
    }

    // The restored prefix is the truth, exactly: same keys, same bytes.
    let restored = contents(&s3, "drill-kept", &prefix).await;
    let mut restored: BTreeMap<String, Vec<u8>> = restored
        .into_iter()
        .map(|(k, v)| (k.strip_prefix(&prefix).unwrap().to_owned(), v))
        .collect();
    // The run marker stays with a kept prefix (sweep takes both once they expire); the
    // restored-set check above passed, so it was not counted as an extra object.
    let marker = restored
        .remove(".restore-drill-run.json")
        .expect("a kept prefix keeps its run marker");
    let marker: serde_json::Value = serde_json::from_slice(&marker).unwrap();
    assert_eq!(marker["prefix"], prefix.as_str(), "{marker}");
    assert_eq!(marker["created-bucket"], false, "{marker}");
    let missing: Vec<&String> = truth
        .keys()
        .filter(|k| !restored.contains_key(*k))
        .collect();
    let extra: Vec<&String> = restored
        .keys()
        .filter(|k| !truth.contains_key(*k))
        .collect();
    let changed: Vec<&String> = truth
        .iter()
        .filter(|(k, v)| restored.get(*k).is_some_and(|r| r != *v))
        .map(|(k, _)| k)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty() && changed.is_empty(),
        "missing {missing:?}\nextra {extra:?}\nchanged {changed:?}"
    );

    // The source's version list is what it was.
    assert_eq!(all_versions(&s3, SOURCE, "").await, before);

    // Again without --keep, into a bucket that does not exist yet, T written without a zone:
    // teardown removes every version it wrote and the bucket it created.
    write_drill(dir.path(), srv, "fresh", "drill-fresh", "");
    let naive = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let run = restore_drill_env(
        dir.path(),
        &[
            "run",
            "fresh.toml",
            "--incident-at",
            &naive,
            "--format",
            "none",
        ],
        &env,
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let report = report_of(dir.path(), "fresh");
    assert_eq!(report["teardown"]["outcome"], "done", "{report:#}");
    let time: DateTime<Utc> =
        serde_json::from_value(report["restores"][0]["recovery_point"]["time"].clone()).unwrap();
    assert_eq!(time, t);
    assert_eq!(
        report["restores"][0]["target"]["details"]["created_bucket"],
        "true"
    );
    let gone = s3.head_bucket().bucket("drill-fresh").send().await;
    assert!(gone.is_err(), "the bucket the run created is gone");
    assert_eq!(all_versions(&s3, SOURCE, "").await, before);
}

/// Attaches to a kept restore the way checks see it.
async fn attach(
    srv: &impl S3Server,
    bucket: &str,
    prefix: &str,
    at: DateTime<Utc>,
) -> RestoredObjects {
    for (k, v) in srv.env() {
        // SAFETY: nextest runs each test in a process of its own, and every test of this file
        // would set the same values; only the SDK's credential chain reads them.
        unsafe { std::env::set_var(k, v) };
    }
    let settings = AwsSettings {
        region: Some("us-east-1".into()),
        profile: None,
        endpoint_url: Some(srv.endpoint()),
        retry_mode: "standard".into(),
        max_attempts: 3,
        initial_backoff_seconds: 0.1,
        max_backoff_seconds: 1.0,
        connect_timeout_seconds: 5.0,
        attempt_timeout_seconds: 30.0,
        operation_timeout_seconds: 60.0,
        copy_attempt_timeout_seconds: 600.0,
        copy_operation_timeout_seconds: 1800.0,
        ..Default::default()
    };
    RestoredObjects::attach(&settings, bucket, prefix, SOURCE, "", at)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_find_exactly_the_object_that_was_changed_deleted_or_added_on_moto() {
    checks_find_exactly_the_object_that_was_changed_deleted_or_added(&Moto::start()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_find_exactly_the_object_that_was_changed_deleted_or_added_on_seaweedfs() {
    checks_find_exactly_the_object_that_was_changed_deleted_or_added(&Seaweed::start()).await;
}

async fn checks_find_exactly_the_object_that_was_changed_deleted_or_added(srv: &impl S3Server) {
    let s3 = srv.s3().await;
    create_versioned_bucket(&s3, SOURCE).await;
    // Two versions of each key; the second after T. One object is above the (lowered)
    // multipart threshold; one has a content type, metadata and tags of its own.
    let big: Vec<u8> = (0..(11u32 << 20)).map(|i| (i % 251) as u8).collect();
    for k in ["a.txt", "b.txt", "c/d.txt"] {
        put(&s3, SOURCE, k, &body(k, 1)).await;
    }
    put(&s3, SOURCE, "big.bin", &big).await;
    s3.put_object()
        .bucket(SOURCE)
        .key("typed.csv")
        .body(b"id,amount\n1,2\n".to_vec().into())
        .content_type("text/csv")
        .metadata("origin", "ledger")
        .tagging("team=billing")
        .send()
        .await
        .unwrap();
    // The source stands in for a replica of "primary", which holds one version more.
    create_versioned_bucket(&s3, "primary").await;
    for k in ["a.txt", "b.txt", "c/d.txt"] {
        put(&s3, "primary", k, &body(k, 1)).await;
    }
    put(&s3, "primary", "big.bin", &big).await;
    put(&s3, "primary", "typed.csv", b"id,amount\n1,2\n").await;
    put(&s3, "primary", "not-replicated-yet", b"late").await;
    let t = Utc::now().trunc_subsecs(0) + chrono::Duration::seconds(1);
    past(t + chrono::Duration::seconds(1)).await;
    for k in ["a.txt", "b.txt", "c/d.txt", "typed.csv"] {
        put(&s3, SOURCE, k, &body(k, 2)).await;
    }

    let dir = tempfile::tempdir().unwrap();
    let mut env = srv.env();
    env.push((
        "RESTORE_DRILL_S3_MULTIPART_THRESHOLD",
        (5u64 << 20).to_string(),
    ));
    let m = restore_drill_env(
        dir.path(),
        &[
            "manifest",
            "--s3",
            &format!("s3://{SOURCE}"),
            "--at",
            &rfc(t),
            "--endpoint-url",
            &srv.endpoint(),
            "--out",
            "src.json",
        ],
        &env,
    );
    assert_eq!(m.code, 0, "{}{}", m.stdout, m.stderr);
    s3.create_bucket().bucket("kept").send().await.unwrap();
    write_drill(dir.path(), srv, "small", "kept", "");
    let run = restore_drill_env(
        dir.path(),
        &[
            "run",
            "small.toml",
            "--keep",
            "--incident-at",
            &rfc(t),
            "--format",
            "none",
        ],
        &env,
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let report = report_of(dir.path(), "small");
    let details = &report["restores"][0]["target"]["details"];
    assert_eq!(details["multipart_copies"], "1", "{report:#}");
    let name = report["restores"][0]["target"]["name"].as_str().unwrap();
    let prefix = name.strip_prefix("s3://kept/").unwrap().to_owned();

    // Copied in parts, byte for byte; content type, metadata and tags carried over.
    assert_eq!(get(&s3, "kept", &format!("{prefix}big.bin")).await, big);
    let head = s3
        .head_object()
        .bucket("kept")
        .key(format!("{prefix}typed.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("text/csv"));
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("origin"))
            .map(String::as_str),
        Some("ledger")
    );
    let tags = s3
        .get_object_tagging()
        .bucket("kept")
        .key(format!("{prefix}typed.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags.tag_set()
            .iter()
            .map(|t| (t.key(), t.value()))
            .collect::<Vec<_>>(),
        [("team", "billing")]
    );

    // Break the kept restore: change one object (same size), delete one, add one.
    let a = get(&s3, "kept", &format!("{prefix}a.txt")).await;
    let mut changed = a.clone();
    changed[0] ^= 0x20;
    put(&s3, "kept", &format!("{prefix}a.txt"), &changed).await;
    delete(&s3, "kept", &format!("{prefix}b.txt")).await;
    put(&s3, "kept", &format!("{prefix}zz-extra"), b"not restored").await;

    let objects = attach(srv, "kept", &prefix, t).await;
    let set = restored_set_check("files", &objects).await;
    let found: Vec<(&str, &str)> = set
        .findings
        .iter()
        .map(|f| (f.kind.as_str(), f.object.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("changed", "a.txt"),
            ("missing", "b.txt"),
            ("extra", "zz-extra")
        ],
        "{set:#?}"
    );
    let check = CheckPlan {
        restore: "files".into(),
        name: "manifest".into(),
        kind: CheckKind::S3Manifest {
            manifest: dir.path().join("src.json"),
        },
    };
    let (manifest, _) = run_object_check(&check, &objects, "").await;
    let found: Vec<(&str, &str)> = manifest
        .findings
        .iter()
        .map(|f| (f.kind.as_str(), f.object.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("changed", "a.txt"),
            ("missing", "b.txt"),
            ("extra", "zz-extra")
        ],
        "{manifest:#?}"
    );
    let sha = &manifest.findings[0];
    assert!(sha.expected.starts_with("sha256 ") && sha.found.starts_with("sha256 "));
    assert_ne!(sha.expected, sha.found);

    // The replica lacks one version the primary had at T: it was complete up to that
    // version's LastModified, which is past a max_lag of zero.
    let lagging = all_versions(&s3, "primary", "not-replicated-yet").await;
    let written = DateTime::from_timestamp(lagging[0].last_modified, 0).unwrap();
    let lag_check = |max: u64| CheckPlan {
        restore: "files".into(),
        name: "lag".into(),
        kind: CheckKind::S3ReplicationLag {
            primary: "primary".into(),
            region: None,
            max_lag: Some(Duration::from_secs(max)),
        },
    };
    let (lag, complete) = run_object_check(&lag_check(0), &objects, "").await;
    assert_eq!(complete, Some(written), "{lag:#?}");
    let found: Vec<(&str, &str)> = lag
        .findings
        .iter()
        .map(|f| (f.kind.as_str(), f.object.as_str()))
        .collect();
    assert_eq!(found, [("lag", "s3://primary/")], "{lag:#?}");
    assert!(
        lag.findings[0]
            .found
            .contains("1 versions not in the replica")
    );
    let (lag, _) = run_object_check(&lag_check(3600), &objects, "").await;
    assert!(lag.findings.is_empty(), "{lag:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_without_versioning_fails_the_restore_not_the_harness_on_moto() {
    a_source_without_versioning_fails_the_restore_not_the_harness(&Moto::start()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_without_versioning_fails_the_restore_not_the_harness_on_seaweedfs() {
    a_source_without_versioning_fails_the_restore_not_the_harness(&Seaweed::start()).await;
}

async fn a_source_without_versioning_fails_the_restore_not_the_harness(srv: &impl S3Server) {
    let s3 = srv.s3().await;
    s3.create_bucket().bucket(SOURCE).send().await.unwrap();
    put(&s3, SOURCE, "a", b"a").await;
    let dir = tempfile::tempdir().unwrap();
    write_drill(dir.path(), srv, "plain", "elsewhere", "");
    let run = restore_drill_env(
        dir.path(),
        &[
            "run",
            "plain.toml",
            "--incident-at",
            "2026-01-01T00:00:00",
            "--format",
            "none",
        ],
        &srv.env(),
    );
    assert_eq!(run.code, 11, "{}{}", run.stdout, run.stderr);
    let report = report_of(dir.path(), "plain");
    let err = report["restores"][0]["phases"][0]["error"]
        .as_str()
        .unwrap();
    assert!(err.contains("versioning was never enabled"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_current_at_the_point_fails_instead_of_passing_empty_on_moto() {
    nothing_current_at_the_point_fails_instead_of_passing_empty(&Moto::start()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_current_at_the_point_fails_instead_of_passing_empty_on_seaweedfs() {
    nothing_current_at_the_point_fails_instead_of_passing_empty(&Seaweed::start()).await;
}

async fn nothing_current_at_the_point_fails_instead_of_passing_empty(srv: &impl S3Server) {
    let s3 = srv.s3().await;
    create_versioned_bucket(&s3, SOURCE).await;
    // Everything under the prefix was written after the restore point.
    put(&s3, SOURCE, "a", b"a").await;
    let dir = tempfile::tempdir().unwrap();
    write_drill(dir.path(), srv, "empty", "elsewhere", "");
    let run = restore_drill_env(
        dir.path(),
        &[
            "run",
            "empty.toml",
            "--incident-at",
            "2026-01-01T00:00:00Z",
            "--format",
            "none",
        ],
        &srv.env(),
    );
    assert_eq!(run.code, 11, "{}{}", run.stdout, run.stderr);
    let report = report_of(dir.path(), "empty");
    let err = report["restores"][0]["phases"][0]["error"]
        .as_str()
        .unwrap();
    assert_eq!(
        err,
        format!(
            "nothing under s3://{SOURCE}/ was current at 2026-01-01T00:00:00Z (1 versions and 0 delete markers listed)"
        )
    );
}

/// `restore-drill sweep ARGS` against the server.
fn sweep(dir: &Path, srv: &impl S3Server, args: &[&str]) -> common::Run {
    let endpoint = srv.endpoint();
    let mut all = vec![
        "sweep",
        "--region",
        "us-east-1",
        "--endpoint-url",
        endpoint.as_str(),
    ];
    all.extend_from_slice(args);
    restore_drill_env(dir, &all, &srv.env())
}

/// A sweep that must succeed. SeaweedFS speaks no RDS: sweep's RDS search cannot run there
/// and says so on a line of its own (exit 40, something not ruled out); its S3 part must do
/// all its work all the same.
fn sweep_ok(dir: &Path, srv: &impl S3Server, args: &[&str]) -> common::Run {
    let run = sweep(dir, srv, args);
    let not_done: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.contains("NOT deleted"))
        .collect();
    if srv.speaks_rds() {
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        assert!(not_done.is_empty(), "{}", run.stdout);
    } else {
        assert_eq!(run.code, 40, "{}{}", run.stdout, run.stderr);
        assert_eq!(not_done.len(), 1, "{}", run.stdout);
        assert!(
            not_done[0].starts_with("RDS (us-east-1)  run -")
                && not_done[0].contains("not searched"),
            "{}",
            run.stdout
        );
    }
    run
}

/// Issue 15 item 4: an `s3_versions` run killed by SIGKILL mid-copy (teardown never runs)
/// leaves copies of production objects and the bucket it created; `sweep` finds them by the
/// run marker and the bucket's tags and removes every version written, the marker last, and
/// the bucket. A plain sweep keeps them until they expire, and the source is never touched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_4_a_killed_s3_run_is_swept_on_moto() {
    item_4_a_killed_s3_run_is_swept(&Moto::start()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_4_a_killed_s3_run_is_swept_on_seaweedfs() {
    item_4_a_killed_s3_run_is_swept(&Seaweed::start()).await;
}

async fn item_4_a_killed_s3_run_is_swept(srv: &impl S3Server) {
    const TARGET: &str = "drill-swept";
    const KEYS: usize = 1000;
    let s3 = srv.s3().await;
    create_versioned_bucket(&s3, SOURCE).await;
    futures_util::stream::iter(0..KEYS)
        .map(|i| {
            let s3 = s3.clone();
            async move {
                put(
                    &s3,
                    SOURCE,
                    &format!("data/{i:04}"),
                    &body("data", i as u32),
                )
                .await
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
    // History, and a marker-named object that names another place: the source holds
    // versions, delete markers and a lookalike, none of which a sweep may touch.
    put(&s3, SOURCE, "data/0000", b"overwritten").await;
    delete(&s3, SOURCE, "data/0001").await;
    put(
        &s3,
        SOURCE,
        "old/.restore-drill-run.json",
        br#"{"run-id":"x","drill":"d","restore":"r","bucket":"elsewhere","prefix":"old/","created-bucket":true,"created-at":"2020-01-01T00:00:00Z","expires-at":"2020-01-01T00:00:00Z"}"#,
    )
    .await;
    let source_before = all_versions(&s3, SOURCE, "").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("killed.toml"),
        format!(
            r#"name = "killed"
tier = "bronze"
schedule = "quarterly"

[provider]
kind = "aws"
region = "us-east-1"
endpoint_url = "{}"

[[restore]]
id = "files"
kind = "s3_versions"
bucket = "{SOURCE}"
to = "latest"
concurrency = 1
[restore.target]
bucket = "{TARGET}"
prefix = "drill/{{run_id}}/"
"#,
            srv.endpoint()
        ),
    )
    .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_restore-drill"))
        .args(["run", "killed.toml", "--format", "none"])
        .current_dir(dir.path())
        .env_remove("RUST_LOG")
        .envs(srv.env())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Mid-copy: the marker and some copies are there, most copies are not.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let listed = s3
            .list_object_versions()
            .bucket(TARGET)
            .prefix("drill/")
            .send()
            .await;
        if listed.is_ok_and(|l| l.versions().len() >= 10) {
            break;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no copies in s3://{TARGET}/drill/ after 60 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    unsafe {
        libc::kill(child.id() as i32, libc::SIGKILL);
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), None, "killed by a signal: {status:?}");
    // A copy the killed process had already sent may still land on the server: wait until
    // the target's listing stops changing before taking it as what the run wrote.
    let mut written = all_versions(&s3, TARGET, "").await;
    let settle = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let again = all_versions(&s3, TARGET, "").await;
        if again == written {
            break;
        }
        assert!(
            std::time::Instant::now() < settle,
            "the target kept changing after the kill"
        );
        written = again;
    }
    let markers: Vec<&Listed> = written
        .iter()
        .filter(|v| v.key.ends_with("/.restore-drill-run.json") && v.key.matches('/').count() == 2)
        .collect();
    assert_eq!(markers.len(), 1, "one run marker: {markers:#?}");
    let prefix = markers[0]
        .key
        .strip_suffix(".restore-drill-run.json")
        .unwrap()
        .to_owned();
    let run_id = prefix
        .strip_prefix("drill/")
        .and_then(|p| p.strip_suffix('/'))
        .unwrap()
        .to_owned();
    assert!(
        written.len() > 10 && written.len() < KEYS,
        "killed mid-copy: {} versions written",
        written.len()
    );
    let marker: serde_json::Value =
        serde_json::from_slice(&get(&s3, TARGET, &markers[0].key).await).unwrap();
    assert_eq!(marker["run-id"], run_id.as_str(), "{marker}");
    assert_eq!(marker["drill"], "killed", "{marker}");
    assert_eq!(marker["restore"], "files", "{marker}");
    assert_eq!(marker["created-bucket"], true, "{marker}");
    let tags = s3.get_bucket_tagging().bucket(TARGET).send().await.unwrap();
    let expires = tags
        .tag_set()
        .iter()
        .find(|t| t.key() == "restore-drill:expires-at")
        .map(|t| t.value().to_owned());
    assert_eq!(
        marker["expires-at"].as_str(),
        expires.as_deref(),
        "the marker and the bucket tag carry the same expiry"
    );
    let objects_line = format!("S3 objects s3://{TARGET}/{prefix}  run {run_id}  drill killed");
    let bucket_line = format!("S3 bucket s3://{TARGET}  run {run_id}  drill killed");
    let line_of = |out: &str, start: &str| {
        out.lines()
            .find(|l| l.starts_with(start))
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no line starting {start:?} in:\n{out}"))
    };

    // Not expired yet: a plain sweep keeps everything.
    let plain = sweep_ok(dir.path(), srv, &[]);
    assert!(line_of(&plain.stdout, &objects_line).ends_with("kept (not stale)"));
    assert!(line_of(&plain.stdout, &bucket_line).ends_with("kept (not stale)"));
    assert!(!plain.stdout.contains(SOURCE), "{}", plain.stdout);
    assert_eq!(all_versions(&s3, TARGET, "").await, written);

    // A dry run lists it and deletes nothing.
    let dry = sweep_ok(dir.path(), srv, &["--dry-run", "--older-than", "0s"]);
    assert!(line_of(&dry.stdout, &objects_line).ends_with("would delete"));
    assert!(line_of(&dry.stdout, &bucket_line).ends_with("would delete"));
    assert!(!dry.stdout.contains(SOURCE), "{}", dry.stdout);
    assert_eq!(all_versions(&s3, TARGET, "").await, written);

    // The sweep removes every version written and the bucket the run created.
    let swept = sweep_ok(dir.path(), srv, &["--older-than", "0s"]);
    assert!(line_of(&swept.stdout, &objects_line).ends_with("  deleted"));
    assert!(line_of(&swept.stdout, &bucket_line).ends_with("  deleted"));
    assert!(!swept.stdout.contains(SOURCE), "{}", swept.stdout);
    let buckets = s3.list_buckets().send().await.unwrap();
    let names: Vec<&str> = buckets.buckets().iter().filter_map(|b| b.name()).collect();
    assert_eq!(names, [SOURCE], "{}", swept.stdout);
    // The source's whole version list is exactly as it was.
    assert_eq!(all_versions(&s3, SOURCE, "").await, source_before);
}

/// A run marker as `s3_versions` writes it, for leftovers made by hand.
fn marker_json(
    run_id: &str,
    bucket: &str,
    prefix: &str,
    expires: &str,
    created_bucket: bool,
) -> Vec<u8> {
    serde_json::json!({
        "run-id": run_id,
        "drill": "by-hand",
        "restore": "files",
        "bucket": bucket,
        "prefix": prefix,
        "created-bucket": created_bucket,
        "created-at": "2026-01-01T00:00:00Z",
        "expires-at": expires,
    })
    .to_string()
    .into_bytes()
}

/// Issue 15 item 4, the other cases: in a target bucket that runs did not create, `sweep`
/// removes only the prefixes of the runs it is asked for (`--run-id`, or past their
/// `expires-at`), every version and delete marker there, and keeps the bucket, the other
/// run's prefix and everything without a marker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_4_sweep_takes_only_the_runs_asked_for_and_keeps_a_bucket_no_run_created_on_moto() {
    item_4_sweep_takes_only_the_runs_asked_for_and_keeps_a_bucket_no_run_created(&Moto::start())
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_4_sweep_takes_only_the_runs_asked_for_and_keeps_a_bucket_no_run_created_on_seaweedfs()
{
    item_4_sweep_takes_only_the_runs_asked_for_and_keeps_a_bucket_no_run_created(&Seaweed::start())
        .await;
}

async fn item_4_sweep_takes_only_the_runs_asked_for_and_keeps_a_bucket_no_run_created(
    srv: &impl S3Server,
) {
    const SHARED: &str = "shared-drill";
    let s3 = srv.s3().await;
    create_versioned_bucket(&s3, SHARED).await;
    put(&s3, SHARED, "keep/me", b"not restore-drill's").await;
    for (run, expires) in [
        ("run-a", "2026-01-01T01:00:00Z"),
        ("run-b", "2099-01-01T00:00:00Z"),
    ] {
        let prefix = format!("drill/{run}/");
        put(
            &s3,
            SHARED,
            &format!("{prefix}.restore-drill-run.json"),
            &marker_json(run, SHARED, &prefix, expires, false),
        )
        .await;
        put(&s3, SHARED, &format!("{prefix}k"), b"one").await;
        put(&s3, SHARED, &format!("{prefix}k"), b"two").await;
        delete(&s3, SHARED, &format!("{prefix}gone")).await;
    }
    let before = all_versions(&s3, SHARED, "").await;
    let dir = tempfile::tempdir().unwrap();
    let of_prefix = |listed: &[Listed], p: &str| -> Vec<Listed> {
        listed
            .iter()
            .filter(|l| l.key.starts_with(p))
            .cloned()
            .collect()
    };

    // --run-id takes that run's prefix only, whatever its expiry.
    let by_id = sweep_ok(dir.path(), srv, &["--run-id", "run-b"]);
    assert!(
        by_id
            .stdout
            .contains(&format!("S3 objects s3://{SHARED}/drill/run-b/  run run-b")),
        "{}",
        by_id.stdout
    );
    let after_b = all_versions(&s3, SHARED, "").await;
    assert_eq!(of_prefix(&after_b, "drill/run-b/"), []);
    assert_eq!(
        of_prefix(&after_b, "drill/run-a/"),
        of_prefix(&before, "drill/run-a/")
    );
    assert_eq!(of_prefix(&after_b, "keep/"), of_prefix(&before, "keep/"));

    // A plain sweep takes run-a (expired), keeps the bucket: no run created it.
    let plain = sweep_ok(dir.path(), srv, &[]);
    assert!(
        plain.stdout.contains(&format!(
            "S3 objects s3://{SHARED}/drill/run-a/  run run-a  drill by-hand  created 2026-01-01T00:00:00Z  expires 2026-01-01T01:00:00Z  deleted"
        )),
        "{}",
        plain.stdout
    );
    assert!(!plain.stdout.contains("S3 bucket"), "{}", plain.stdout);
    let after = all_versions(&s3, SHARED, "").await;
    assert_eq!(after, of_prefix(&before, "keep/"));

    // A bucket a run created but could not tag is known by the run's marker, and goes once
    // the run's prefix is empty.
    create_versioned_bucket(&s3, "untagged-drill").await;
    put(
        &s3,
        "untagged-drill",
        "drill/run-c/.restore-drill-run.json",
        &marker_json(
            "run-c",
            "untagged-drill",
            "drill/run-c/",
            "2026-01-01T01:00:00Z",
            true,
        ),
    )
    .await;
    put(&s3, "untagged-drill", "drill/run-c/k", b"copy").await;
    let swept = sweep_ok(dir.path(), srv, &[]);
    assert!(
        swept
            .stdout
            .contains("S3 bucket s3://untagged-drill  run run-c  drill by-hand"),
        "{}",
        swept.stdout
    );
    let buckets = s3.list_buckets().send().await.unwrap();
    let names: Vec<&str> = buckets.buckets().iter().filter_map(|b| b.name()).collect();
    assert_eq!(names, [SHARED], "{}", swept.stdout);
    assert_eq!(
        all_versions(&s3, SHARED, "").await,
        of_prefix(&before, "keep/")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_18_versions_held_between_listing_and_copy_stay_bounded_on_moto() {
    versions_held_between_listing_and_copy_stay_bounded(&Moto::start()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_18_versions_held_between_listing_and_copy_stay_bounded_on_seaweedfs() {
    versions_held_between_listing_and_copy_stay_bounded(&Seaweed::start()).await;
}

/// Issue 18, constant-memory resolve: a history listed 25 entries a page (keys' versions
/// spanning pages, one key over several) and restored by one copy at a time, far slower than
/// the listing, never holds more decided-but-not-copied versions than the pipeline's bound,
/// 2 × 64 + 2 × 1 + 2 = 132, while restoring four times as many (a listing not held back
/// by the copies holds them all); the copies start before the listing ends; and the restored
/// prefix is the truth.
async fn versions_held_between_listing_and_copy_stay_bounded(srv: &impl S3Server) {
    const BOUND: usize = 2 * 64 + 2 + 2;
    let s3 = srv.s3().await;
    create_versioned_bucket(&s3, SOURCE).await;
    s3.create_bucket()
        .bucket("drill-kept")
        .send()
        .await
        .unwrap();
    let mut truth = Truth::default();
    let keys: Vec<String> = (0..600).map(|i| format!("b/k{i:04}")).collect();
    step(
        &s3,
        &mut truth,
        keys.iter()
            .map(|k| Op::Put(k.clone(), body(k, 1)))
            .collect(),
    )
    .await;
    let mut again = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        if i % 10 == 0 {
            again.push(Op::Delete(k.clone()));
        } else if i % 3 == 0 {
            again.push(Op::Put(k.clone(), body(k, 2)));
        }
    }
    step(&s3, &mut truth, again).await;
    // One key of 40 versions: it spans pages of 25.
    for n in 1..=40 {
        step(
            &s3,
            &mut truth,
            vec![Op::Put("b/many".into(), body("b/many", n))],
        )
        .await;
    }
    let t = Utc::now().trunc_subsecs(0) + chrono::Duration::seconds(1);
    past(t + chrono::Duration::seconds(1)).await;
    let at_t = std::mem::take(&mut truth.0);
    let mut after = Truth(at_t.clone());
    step(
        &s3,
        &mut after,
        keys.iter()
            .step_by(2)
            .map(|k| Op::Put(k.clone(), body(k, 3)))
            .collect(),
    )
    .await;
    assert!(at_t.len() > 3 * BOUND, "{} keys at T", at_t.len());

    let dir = tempfile::tempdir().unwrap();
    write_drill(dir.path(), srv, "bounded", "drill-kept", "");
    let file = dir.path().join("bounded.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("concurrency = 32", "concurrency = 1")).unwrap();
    let mut env = srv.env();
    env.push(("RESTORE_DRILL_S3_LIST_PAGE_SIZE", "100".to_owned()));
    let run = restore_drill_env(
        dir.path(),
        &[
            "run",
            "bounded.toml",
            "--keep",
            "--incident-at",
            &rfc(t),
            "--format",
            "none",
        ],
        &env,
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let report = report_of(dir.path(), "bounded");
    let details = &report["restores"][0]["target"]["details"];
    assert_eq!(details["objects"], at_t.len().to_string(), "{report:#}");
    assert_eq!(details["pipeline_bound_versions"], BOUND.to_string());
    let peak: usize = details["pipeline_peak_versions"]
        .as_str()
        .and_then(|p| p.parse().ok())
        .unwrap();
    assert!((1..=BOUND).contains(&peak), "peak {peak} of bound {BOUND}");
    let pages: u64 = {
        let notes = report["restores"][0]["recovery_point"]["notes"].to_string();
        assert!(
            notes.contains("runs during the restore phase, alongside the copies"),
            "{notes}"
        );
        let re = regex::Regex::new(r"in (\d+) pages").unwrap();
        re.captures(&notes)
            .and_then(|c| c[1].parse().ok())
            .unwrap_or_else(|| panic!("{notes}"))
    };
    let listed = all_versions(&s3, SOURCE, "").await.len() as u64;
    assert!(
        pages >= listed.div_ceil(100),
        "{pages} pages of {listed} entries"
    );
    let checks: Vec<(&str, &str)> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["kind"].as_str().unwrap(), c["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(checks, [("s3_restored_set", "passed")], "{report:#}");
    let prefix = report["restores"][0]["target"]["name"]
        .as_str()
        .and_then(|n| n.strip_prefix("s3://drill-kept/"))
        .unwrap()
        .to_owned();
    let mut restored: BTreeMap<String, Vec<u8>> = contents(&s3, "drill-kept", &prefix)
        .await
        .into_iter()
        .map(|(k, v)| (k.strip_prefix(&prefix).unwrap().to_owned(), v))
        .collect();
    restored.remove(".restore-drill-run.json");
    assert!(restored == at_t, "the restored prefix is the truth at T");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_18_the_restored_set_is_read_from_disk_not_held_on_moto() {
    the_restored_set_is_read_from_disk_not_held(&Moto::start()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_18_the_restored_set_is_read_from_disk_not_held_on_seaweedfs() {
    the_restored_set_is_read_from_disk_not_held(&Seaweed::start()).await;
}

/// The folders `spill.rs` makes under `tmp`.
fn spill_dirs(tmp: &Path) -> Vec<String> {
    std::fs::read_dir(tmp)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("restore-drill-expected-"))
        .collect()
}

/// Issue 18, constant-memory checks: the versions a restore copied are written to a spill
/// file as they go (the report says how many) instead of being held for the checks, which
/// merge that file with the target's listing page by page (2,300 objects: three pages of
/// `ListObjectsV2`). No spill folder is left in the run's temp dir. On a kept restore
/// attached the way `restore-drill check` does (its own spill file), the merge
/// still finds exactly a deleted object, one of another size and an extra one, on both
/// sides of a page boundary, by key.
async fn the_restored_set_is_read_from_disk_not_held(srv: &impl S3Server) {
    const KEYS: usize = 2300;
    let s3 = srv.s3().await;
    create_versioned_bucket(&s3, SOURCE).await;
    s3.create_bucket()
        .bucket("drill-kept")
        .send()
        .await
        .unwrap();
    let mut truth = Truth::default();
    let mut keys: Vec<String> = (0..KEYS).map(|i| format!("m/{i:05}")).collect();
    keys.extend(ODD_KEYS.iter().map(|k| (*k).to_owned()));
    // Keys a line- or tab-separated spill file would break on. moto's HTTP router answers
    // 404 to a path with a line break in it; SeaweedFS stores it.
    keys.extend(["odd/tab\tkey", "odd/back\\slash\\n"].map(String::from));
    if srv.name() == "SeaweedFS" {
        keys.push("odd/line\nbreak".into());
    }
    step(
        &s3,
        &mut truth,
        keys.iter()
            .map(|k| Op::Put(k.clone(), body(k, 1)))
            .collect(),
    )
    .await;
    let t = Utc::now().trunc_subsecs(0) + chrono::Duration::seconds(1);
    past(t + chrono::Duration::seconds(1)).await;
    // After T: what the restore must not bring back.
    put(&s3, SOURCE, "m/00007", b"after the restore point").await;
    put(&s3, SOURCE, "m/zz-new", b"after the restore point").await;

    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    write_drill(dir.path(), srv, "spilled", "drill-kept", "");
    let mut env = srv.env();
    env.push(("TMPDIR", tmp.display().to_string()));
    let run = restore_drill_env(
        dir.path(),
        &[
            "run",
            "spilled.toml",
            "--keep",
            "--incident-at",
            &rfc(t),
            "--format",
            "none",
        ],
        &env,
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let report = report_of(dir.path(), "spilled");
    let details = &report["restores"][0]["target"]["details"];
    assert_eq!(details["objects"], truth.0.len().to_string(), "{report:#}");
    assert_eq!(
        details["expected_spilled_objects"],
        truth.0.len().to_string(),
        "{report:#}"
    );
    let checks: Vec<(&str, &str)> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["kind"].as_str().unwrap(), c["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(checks, [("s3_restored_set", "passed")], "{report:#}");
    assert_eq!(
        spill_dirs(&tmp),
        Vec::<String>::new(),
        "nothing left behind"
    );
    let prefix = report["restores"][0]["target"]["name"]
        .as_str()
        .and_then(|n| n.strip_prefix("s3://drill-kept/"))
        .unwrap()
        .to_owned();

    // Break it: one object gone and one resized on the first page of the target's listing,
    // one gone on the third, and one extra between two restored keys.
    delete(&s3, "drill-kept", &format!("{prefix}m/00003")).await;
    put(&s3, "drill-kept", &format!("{prefix}m/00010"), b"shorter").await;
    delete(&s3, "drill-kept", &format!("{prefix}m/02222")).await;
    put(
        &s3,
        "drill-kept",
        &format!("{prefix}m/01500x"),
        b"not restored",
    )
    .await;

    // SAFETY: nextest runs each test in a process of its own; the spill folder `attach`
    // makes lands here, where the test can look for it.
    unsafe { std::env::set_var("TMPDIR", &tmp) };
    let objects = attach(srv, "drill-kept", &prefix, t).await;
    // Its spill file is open, and already gone from disk: nothing a kill could leave.
    assert_eq!(spill_dirs(&tmp), Vec::<String>::new());
    let set = restored_set_check("files", &objects).await;
    let found: Vec<(&str, &str, &str)> = set
        .findings
        .iter()
        .map(|f| (f.kind.as_str(), f.object.as_str(), f.found.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("missing", "m/00003", "no object"),
            ("changed", "m/00010", "7 bytes"),
            ("extra", "m/01500x", "12 bytes"),
            ("missing", "m/02222", "no object"),
        ],
        "{set:#?}"
    );
    drop(objects);
    assert_eq!(
        spill_dirs(&tmp),
        Vec::<String>::new(),
        "removed with the view"
    );
}
