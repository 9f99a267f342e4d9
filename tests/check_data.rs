//! The `table_checksum` and `canary` checks on real PostgreSQL: a known-good "restore" (a
//! database loaded exactly like its reference) passes; corrupting exactly one thing yields
//! exactly that finding.

mod common;

use std::time::Duration;

use chrono::Utc;
use common::pg::{Scratch, pg, sql_time};
use restore_drill::checks::{CheckContext, CheckTarget, Manifest, record_manifest, run_check};
use restore_drill::drill::{
    CanaryAt, CheckKind, CheckPlan, Reference, ReferenceConnect, RowSource, Tls,
};
use restore_drill::provider::local::SourceCluster;
use restore_drill::report::{CheckOutcome, CheckReport};

const ROWS: i64 = 20_000;

/// One cluster with two identical databases: `reference` and `restored`.
async fn twins(s: &Scratch) -> SourceCluster {
    let pg = pg();
    let c = SourceCluster::start(&pg, &s.path().join("db"))
        .await
        .unwrap();
    let admin = c.client("postgres").await.unwrap();
    for db in ["reference", "restored"] {
        admin
            .batch_execute(&format!("create database {db}"))
            .await
            .unwrap();
        let client = c.client(db).await.unwrap();
        client
            .batch_execute(&format!(
                "create table items (id bigint primary key, name text not null, qty int, note text);
                 insert into items
                   select g, 'item ' || g, g % 97, case when g % 10 = 0 then null else md5(g::text) end
                   from generate_series(1, {ROWS}) g;
                 create table tags (code text primary key, label text);
                 insert into tags select 'tag-' || g, 'label ' || g from generate_series(1, 3000) g;"
            ))
            .await
            .unwrap();
    }
    c
}

fn target(c: &SourceCluster, db: &str) -> CheckTarget {
    CheckTarget {
        host: "127.0.0.1".into(),
        port: c.port(),
        database: db.into(),
        user: "postgres".into(),
        password: None,
        tls: restore_drill::drill::Tls::Disable,
        ca_bundle: None,
        server_name: None,
    }
}

fn context(c: &SourceCluster) -> CheckContext {
    CheckContext {
        target: target(c, "restored"),
        restored_to: None,
        pg_bin_dir: None,
        others: [("twin".to_owned(), target(c, "reference"))]
            .into_iter()
            .collect(),
    }
}

fn by_connection(c: &SourceCluster) -> Reference {
    Reference::Connect(ReferenceConnect {
        host: "127.0.0.1".into(),
        port: c.port(),
        database: "reference".into(),
        user: "postgres".into(),
        password_env: None,
        tls: Tls::Disable,
        ca_bundle: None,
    })
}

fn checksum(source: RowSource, key: &[&str], reference: Reference) -> CheckPlan {
    CheckPlan {
        restore: "db".into(),
        name: "rows".into(),
        kind: CheckKind::TableChecksum {
            source,
            key: key.iter().map(|k| (*k).to_owned()).collect(),
            reference,
        },
    }
}

fn items(reference: Reference) -> CheckPlan {
    checksum(RowSource::Table("items".into()), &["id"], reference)
}

/// (kind, object) of every finding.
fn found(r: &CheckReport) -> Vec<(String, String)> {
    r.findings
        .iter()
        .map(|f| (f.kind.clone(), f.object.clone()))
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

async fn corrupt(c: &SourceCluster, sql: &str) {
    c.client("restored")
        .await
        .unwrap()
        .batch_execute(sql)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_checksum_finds_exactly_each_single_corruption() {
    let s = Scratch::new(&pg());
    let mut c = twins(&s).await;
    let cx = context(&c);

    let (clean, _) = run_check(&items(by_connection(&c)), &cx).await;
    assert_eq!(clean.outcome, CheckOutcome::Passed, "{:?}", clean.findings);
    assert!(clean.findings.is_empty());

    // One corruption at a time, each undone before the next.
    let cases: &[(&str, &str, (&str, &str))] = &[
        (
            "update items set qty = qty + 1 where id = 7777",
            "update items set qty = qty - 1 where id = 7777",
            ("changed", "items key 7777"),
        ),
        (
            "delete from items where id = 1",
            "insert into items values (1, 'item 1', 1, md5('1'))",
            ("missing", "items key 1"),
        ),
        (
            "insert into items values (20001, 'new', 1, null)",
            "delete from items where id = 20001",
            ("extra", "items key 20001"),
        ),
        // NULL and the text '<null>' are different values.
        (
            "update items set note = '<null>' where id = 500",
            "update items set note = null where id = 500",
            ("changed", "items key 500"),
        ),
        // So are NULL and the empty string.
        (
            "update items set note = '' where id = 510",
            "update items set note = null where id = 510",
            ("changed", "items key 510"),
        ),
    ];
    for (break_it, mend_it, want) in cases {
        corrupt(&c, break_it).await;
        let (r, _) = run_check(&items(by_connection(&c)), &cx).await;
        assert_eq!(r.outcome, CheckOutcome::Failed, "{break_it}");
        assert_eq!(found(&r), pairs(&[*want]), "{break_it}");
        corrupt(&c, mend_it).await;
    }
    let (again, _) = run_check(&items(by_connection(&c)), &cx).await;
    assert!(again.findings.is_empty(), "{:?}", again.findings);

    // The expected and found values say what differs.
    corrupt(&c, "delete from items where id = 20000").await;
    let (r, _) = run_check(&items(Reference::Restore("twin".into())), &cx).await;
    assert_eq!(found(&r), pairs(&[("missing", "items key 20000")]));
    assert_eq!(
        (
            r.findings[0].expected.as_str(),
            r.findings[0].found.as_str()
        ),
        ("present", "absent")
    );
    c.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_checksum_finds_all_eleven_planted_differences() {
    let s = Scratch::new(&pg());
    let mut c = twins(&s).await;
    let cx = context(&c);
    // Changed, missing and extra rows at the first, middle and last keys, and two more.
    corrupt(
        &c,
        "update items set name = 'x' where id in (2, 10000, 19999);
         delete from items where id in (1, 10001, 20000);
         insert into items values (0, 'before', 1, null), (20001, 'after', 1, null);
         update items set note = null where id = 12345;
         update items set qty = null where id = 3;
         delete from items where id = 15000;",
    )
    .await;
    let (r, _) = run_check(&items(by_connection(&c)), &cx).await;
    let mut got = found(&r);
    got.sort();
    let mut want = pairs(&[
        ("changed", "items key 2"),
        ("changed", "items key 10000"),
        ("changed", "items key 19999"),
        ("changed", "items key 12345"),
        ("changed", "items key 3"),
        ("missing", "items key 1"),
        ("missing", "items key 10001"),
        ("missing", "items key 20000"),
        ("missing", "items key 15000"),
        ("extra", "items key 0"),
        ("extra", "items key 20001"),
    ]);
    want.sort();
    assert_eq!(got, want);
    c.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_checksum_works_on_text_keys_and_queries() {
    let s = Scratch::new(&pg());
    let mut c = twins(&s).await;
    let cx = context(&c);
    let tags = |r| checksum(RowSource::Table("tags".into()), &["code"], r);
    let (clean, _) = run_check(&tags(by_connection(&c)), &cx).await;
    assert!(clean.findings.is_empty(), "{:?}", clean.findings);
    corrupt(
        &c,
        "update tags set label = 'moved' where code = 'tag-1500'",
    )
    .await;
    let (r, _) = run_check(&tags(by_connection(&c)), &cx).await;
    assert_eq!(found(&r), pairs(&[("changed", "tags key tag-1500")]));

    // A query's rows, keyed like a table's.
    let q = checksum(
        RowSource::Query("select id, qty from items where id <= 1000".into()),
        &["id"],
        by_connection(&c),
    );
    let (clean, _) = run_check(&q, &cx).await;
    assert!(clean.findings.is_empty(), "{:?}", clean.findings);
    corrupt(&c, "update items set qty = -1 where id = 999").await;
    let (r, _) = run_check(&q, &cx).await;
    assert_eq!(found(&r), pairs(&[("changed", "query key 999")]));
    c.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_checksum_against_a_manifest_locates_the_key_range() {
    let s = Scratch::new(&pg());
    let mut c = twins(&s).await;
    let cx = context(&c);
    let m = record_manifest(
        &target(&c, "reference"),
        &[("items".into(), vec!["id".into()])],
        &[],
        100,
    )
    .await
    .unwrap();
    assert_eq!(m.tables[0].rows, ROWS as u64);
    assert_eq!(m.tables[0].ranges.len(), 100);
    let path = s.path().join("items.json");
    std::fs::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();
    assert_eq!(Manifest::load(&path).unwrap(), m);

    let (clean, _) = run_check(&items(Reference::Manifest(path.clone())), &cx).await;
    assert!(clean.findings.is_empty(), "{:?}", clean.findings);

    corrupt(&c, "delete from items where id = 4321").await;
    let (r, _) = run_check(&items(Reference::Manifest(path.clone())), &cx).await;
    assert_eq!(
        found(&r),
        pairs(&[("missing", "items keys 4201 <= id < 4401")])
    );
    assert_eq!(r.findings[0].expected.split(',').next(), Some("200 rows"));
    assert_eq!(r.findings[0].found.split(',').next(), Some("199 rows"));

    // A manifest without the table is an error, not a pass.
    let (e, _) = run_check(
        &checksum(
            RowSource::Table("tags".into()),
            &["code"],
            Reference::Manifest(path),
        ),
        &cx,
    )
    .await;
    assert_eq!(e.outcome, CheckOutcome::Error);
    assert!(
        e.findings[0].message.contains("has no table \"tags\""),
        "{:?}",
        e.findings
    );
    c.stop().await.unwrap();
}

fn canary(every: Option<Duration>) -> CheckPlan {
    CheckPlan {
        restore: "db".into(),
        name: "boundary".into(),
        kind: CheckKind::Canary {
            at: CanaryAt::Table {
                table: "drill_canary".into(),
                time_column: "written_at".into(),
                every,
            },
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canaries_prove_the_restore_boundary() {
    let s = Scratch::new(&pg());
    let mut c = twins(&s).await;
    let point = Utc::now();
    // A canary every 100 ms for the 10 s before the restore point.
    corrupt(
        &c,
        &format!(
            "create table drill_canary (written_at timestamptz not null);
             insert into drill_canary select {t} - g * interval '100 milliseconds' from generate_series(0, 100) g;",
            t = sql_time(point)
        ),
    )
    .await;
    let mut cx = context(&c);
    cx.restored_to = Some(point);
    let every = Some(Duration::from_secs(1));
    let (clean, _) = run_check(&canary(every), &cx).await;
    assert_eq!(clean.outcome, CheckOutcome::Passed, "{:?}", clean.findings);

    // A canary written after the restore point: the restore went too far.
    corrupt(
        &c,
        &format!(
            "insert into drill_canary values ({} + interval '2 seconds')",
            sql_time(point)
        ),
    )
    .await;
    let (r, _) = run_check(&canary(every), &cx).await;
    assert_eq!(
        found(&r),
        pairs(&[("extra", "canary drill_canary.written_at")])
    );
    assert!(
        r.findings[0].found.starts_with("1 after it, the first at "),
        "{}",
        r.findings[0].found
    );
    corrupt(
        &c,
        &format!(
            "delete from drill_canary where written_at > {}",
            sql_time(point)
        ),
    )
    .await;

    // The canaries of the last 3 s are gone: the restore stopped short.
    corrupt(
        &c,
        &format!(
            "delete from drill_canary where written_at > {} - interval '3 seconds'",
            sql_time(point)
        ),
    )
    .await;
    let (r, _) = run_check(&canary(every), &cx).await;
    assert_eq!(
        found(&r),
        pairs(&[("missing", "canary drill_canary.written_at")])
    );
    // Without `every`, old canaries are enough.
    let (r, _) = run_check(&canary(None), &cx).await;
    assert!(r.findings.is_empty(), "{:?}", r.findings);

    // No canary at all.
    corrupt(&c, "delete from drill_canary").await;
    let (r, _) = run_check(&canary(None), &cx).await;
    assert_eq!(
        found(&r),
        pairs(&[("missing", "canary drill_canary.written_at")])
    );

    // Without a known restore point the check cannot judge: an error, not a pass.
    cx.restored_to = None;
    let (r, _) = run_check(&canary(None), &cx).await;
    assert_eq!(r.outcome, CheckOutcome::Error);
    c.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_of_types_without_a_hash_function_are_compared_by_their_text() {
    let s = Scratch::new(&pg());
    let mut c = twins(&s).await;
    for db in ["reference", "restored"] {
        c.client(db)
            .await
            .unwrap()
            .batch_execute(
                "create table docs (id int primary key, body json, at point);
                 insert into docs select g, json_build_object('n', g), point(g, g) from generate_series(1, 500) g;",
            )
            .await
            .unwrap();
    }
    let cx = context(&c);
    let docs = |r| checksum(RowSource::Table("docs".into()), &["id"], r);
    let (clean, _) = run_check(&docs(by_connection(&c)), &cx).await;
    assert_eq!(clean.outcome, CheckOutcome::Passed, "{:?}", clean.findings);
    corrupt(&c, "update docs set body = '{\"n\": -1}' where id = 250").await;
    let (r, _) = run_check(&docs(by_connection(&c)), &cx).await;
    assert_eq!(found(&r), pairs(&[("changed", "docs key 250")]));

    // Manifests say which row hash they used, and checks follow it.
    let m = record_manifest(
        &target(&c, "reference"),
        &[
            ("docs".into(), vec!["id".into()]),
            ("items".into(), vec!["id".into()]),
        ],
        &[],
        10,
    )
    .await
    .unwrap();
    assert_eq!(
        (m.tables[0].row_hash.as_str(), m.tables[1].row_hash.as_str()),
        ("text", "record")
    );
    let path = s.path().join("m.json");
    std::fs::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();
    let (r, _) = run_check(&docs(Reference::Manifest(path)), &cx).await;
    assert_eq!(
        found(&r),
        pairs(&[("changed", "docs keys 201 <= id < 251")])
    );
    c.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn freshness_reports_the_newest_row_and_cannot_pass_on_nothing() {
    let s = Scratch::new(&pg());
    let mut c = twins(&s).await;
    corrupt(
        &c,
        "create table ev (at timestamptz);
         insert into ev values ('2026-11-21 10:00:00+00'), ('2026-11-21 12:00:00.25+00');",
    )
    .await;
    let cx = context(&c);
    let plan = CheckPlan {
        restore: "db".into(),
        name: "newest".into(),
        kind: CheckKind::Freshness {
            query: Some("select max(at) from ev".into()),
        },
    };
    let (r, newest) = run_check(&plan, &cx).await;
    assert_eq!(r.outcome, CheckOutcome::Passed);
    assert_eq!(
        newest.map(|t| t.to_rfc3339()),
        Some("2026-11-21T12:00:00.250+00:00".to_owned())
    );
    // Lose the newest row: the newest data moves back, and with it the measured RPO.
    corrupt(&c, "delete from ev where at > '2026-11-21 11:00:00+00'").await;
    let (_, newest) = run_check(&plan, &cx).await;
    assert_eq!(
        newest.map(|t| t.to_rfc3339()),
        Some("2026-11-21T10:00:00+00:00".to_owned())
    );
    // Nothing left to date: an error, never a pass.
    corrupt(&c, "delete from ev").await;
    let (r, newest) = run_check(&plan, &cx).await;
    assert_eq!((r.outcome, newest), (CheckOutcome::Error, None));
    c.stop().await.unwrap();
}

/// Active sessions running the slow check's query, seen from another session.
async fn sleeping(admin: &tokio_postgres::Client) -> i64 {
    admin
        .query_one(
            "select count(*) from pg_stat_activity where state = 'active' \
             and query like '%pg_sleep(30)%' and pid <> pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

/// Issue 15 item 8: a check cut off by its phase's timeout, or dropped (Ctrl-C), stops on the
/// server too, within a second: it must not keep scanning a production replica.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_8_a_check_cut_off_is_cancelled_on_the_server() {
    use restore_drill::checks::with_deadline;
    use restore_drill::drill::{CheckKind, CheckPlan};
    let s = Scratch::new(&pg());
    let c = SourceCluster::start(&pg(), &s.path().join("db"))
        .await
        .unwrap();
    let admin = c.client("postgres").await.unwrap();
    admin
        .batch_execute("create database restored")
        .await
        .unwrap();
    let cx = context(&c);
    let check = CheckPlan {
        restore: "r".into(),
        name: "slow".into(),
        kind: CheckKind::Freshness {
            query: Some("select now() from pg_sleep(30)".into()),
        },
    };
    // (limit of the phase, deadline the sessions see): a timeout, then a Ctrl-C long before
    // the deadline (only the drop can cancel it then).
    for (cut, deadline) in [(1500, 1500), (1000, 60_000)] {
        let t0 = std::time::Instant::now();
        let (cx, check) = (cx.clone(), check.clone());
        let task = tokio::spawn(async move {
            with_deadline(
                t0 + Duration::from_millis(deadline),
                tokio::time::timeout(Duration::from_millis(cut), run_check(&check, &cx)),
            )
            .await
        });
        let seen = std::time::Instant::now() + Duration::from_secs(5);
        while sleeping(&admin).await == 0 {
            assert!(std::time::Instant::now() < seen, "the slow query never ran");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = task.await.unwrap();
        let cut_at = t0 + Duration::from_millis(cut);
        let limit = cut_at + Duration::from_secs(1);
        while sleeping(&admin).await > 0 {
            assert!(
                std::time::Instant::now() < limit,
                "the query still runs on the server 1 s after the check was cut off (cut {cut} ms, deadline {deadline} ms)"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
