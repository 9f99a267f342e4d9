//! The `pg_amcheck` check against real PostgreSQL: a clean database passes; one B-tree page
//! with two keys swapped, or one heap tuple with an xmin from the future, gives exactly that
//! finding; a target that cannot be reached is an error, never a pass.

mod common;

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use restore_drill::checks::{CheckContext, CheckTarget, run_check};
use restore_drill::drill::{CheckKind, CheckPlan};
use restore_drill::provider::local::{PgEnv, Server, SourceCluster, free_port};
use restore_drill::report::{CheckOutcome, CheckReport};

const PAGE: usize = 8192;
/// `BTP_LEAF` in a B-tree page's special space (`btpo_flags`).
const BTP_LEAF: u16 = 1;
/// `HEAP_XMIN_FROZEN` in a heap tuple's `t_infomask`: a frozen xmin is never checked.
const HEAP_XMIN_FROZEN: u16 = 0x0300;

fn context(port: u16, password: Option<&str>) -> CheckContext {
    CheckContext {
        target: CheckTarget {
            host: "127.0.0.1".into(),
            port,
            database: "postgres".into(),
            user: "postgres".into(),
            password: password.map(str::to_owned),
            tls: restore_drill::drill::Tls::Disable,
            ca_bundle: None,
            server_name: None,
        },
        restored_to: None,
        pg_bin_dir: None,
        others: Default::default(),
    }
}

/// Runs the check as the engine does.
async fn check(cx: &CheckContext, heapallindexed: bool, tables: &[&str]) -> CheckReport {
    let plan = CheckPlan {
        restore: "db".into(),
        name: "amcheck".into(),
        kind: CheckKind::PgAmcheck {
            heapallindexed,
            tables: tables.iter().map(|t| (*t).to_owned()).collect(),
        },
    };
    run_check(&plan, cx).await.0
}

/// A cluster with `t` (5000 rows, a primary key and an index on `v`) and a small clean `u`.
/// Autovacuum stays off for `t`, so that nothing rewrites the pages the tests damage.
async fn cluster(pg: &PgEnv, root: &Path) -> SourceCluster {
    let source = SourceCluster::start(pg, root).await.unwrap();
    let c = source.client("postgres").await.unwrap();
    c.batch_execute(
        "create table t (id int primary key, v text not null) with (autovacuum_enabled = off);
         create index t_v on t (v);
         insert into t select g, md5(g::text) from generate_series(1, 5000) g;
         create table u (id int primary key);
         insert into u select generate_series(1, 100);",
    )
    .await
    .unwrap();
    // The damage is written without fixing page checksums: they must be off.
    let checksums: String = c
        .query_one("show data_checksums", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(checksums, "off", "the test cluster has data checksums on");
    source
}

/// The file of `relation` (its first segment), while the server runs.
async fn relation_file(source: &SourceCluster, relation: &str) -> PathBuf {
    let c = source.client("postgres").await.unwrap();
    let rel: String = c
        .query_one(
            "select pg_relation_filepath($1::text::regclass)",
            &[&relation],
        )
        .await
        .unwrap()
        .get(0);
    source.data_dir.join(rel)
}

fn read_page(file: &Path, block: u64) -> Vec<u8> {
    let mut f = std::fs::File::open(file).unwrap();
    f.seek(SeekFrom::Start(block * PAGE as u64)).unwrap();
    let mut page = vec![0; PAGE];
    f.read_exact(&mut page).unwrap();
    page
}

/// Writes the page back in place: the file stays the server user's, with its mode.
fn write_page(file: &Path, block: u64, page: &[u8]) {
    let mut f = std::fs::OpenOptions::new().write(true).open(file).unwrap();
    f.seek(SeekFrom::Start(block * PAGE as u64)).unwrap();
    f.write_all(page).unwrap();
    f.sync_all().unwrap();
}

fn u16_at(page: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([page[at], page[at + 1]])
}

fn u32_at(page: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(page[at..at + 4].try_into().unwrap())
}

/// Where line pointer `n` (from 1) puts its item on the page: `lp_off`, the low 15 bits.
fn item_offset(page: &[u8], n: usize) -> usize {
    let lp = u32_at(page, 24 + 4 * (n - 1));
    assert_eq!((lp >> 15) & 3, 1, "line pointer {n} is not LP_NORMAL");
    (lp & 0x7fff) as usize
}

/// Starts the server again on the same data directory and port, and waits until it answers.
async fn restart(source: &SourceCluster) -> Server {
    let port = source.port();
    let log = source.root.join("restart.log");
    let server = Server::start(&source.pg, &source.data_dir, port, &log, true)
        .await
        .unwrap();
    assert!(
        server.wait_ready(Duration::from_secs(60)).await,
        "restarted server not ready: {}",
        server.log_tail(20)
    );
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_database_passes_with_and_without_heapallindexed() {
    let pg = common::pg::pg();
    let scratch = common::pg::Scratch::new(&pg);
    let mut source = cluster(&pg, scratch.path()).await;
    let cx = context(source.port(), None);
    let plain = check(&cx, false, &[]).await;
    let full = check(&cx, true, &[]).await;
    let only_t = check(&cx, true, &["t"]).await;
    source.stop().await.unwrap();

    for report in [&plain, &full, &only_t] {
        assert_eq!(report.outcome, CheckOutcome::Passed, "{report:?}");
        assert!(report.findings.is_empty(), "{report:?}");
        assert_eq!(report.kind, "pg_amcheck");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_swapped_keys_in_a_btree_leaf_are_one_finding_on_that_index() {
    let pg = common::pg::pg();
    let scratch = common::pg::Scratch::new(&pg);
    let mut source = cluster(&pg, scratch.path()).await;
    let file = relation_file(&source, "t_pkey").await;
    // A fast shutdown checkpoints, so the index is all on disk and nothing overwrites it.
    source.stop().await.unwrap();

    // Block 0 is the metapage; block 1 the leftmost leaf, which is not the rightmost (5000
    // keys need many leaves), so item 1 is its high key and items 2 and 3 its two smallest
    // keys. Swapping the int4 keys of items 2 and 3 (8 bytes into each tuple, after the heap
    // TID and t_info) leaves every key below the high key but breaks the order between
    // neighbours: bt_index_check reports "item order invariant violated" for that pair, and
    // stops there, with or without heapallindexed. The page stays well-formed, so nothing
    // else (and no server) can trip over it.
    let mut page = read_page(&file, 1);
    let flags = u16_at(&page, PAGE - 4);
    assert_eq!(
        flags & BTP_LEAF,
        BTP_LEAF,
        "block 1 of t_pkey is not a leaf"
    );
    let (a, b) = (item_offset(&page, 2) + 8, item_offset(&page, 3) + 8);
    let (ka, kb) = (u32_at(&page, a), u32_at(&page, b));
    assert!(
        ka < kb,
        "keys {ka} and {kb} are not in order before the damage"
    );
    page[a..a + 4].copy_from_slice(&kb.to_le_bytes());
    page[b..b + 4].copy_from_slice(&ka.to_le_bytes());
    write_page(&file, 1, &page);

    let mut server = restart(&source).await;
    let cx = context(server.port, None);
    let full = check(&cx, true, &[]).await;
    let plain = check(&cx, false, &[]).await;
    let only_t = check(&cx, false, &["t"]).await;
    let only_u = check(&cx, false, &["u"]).await;
    let missing = check(&cx, false, &["no_such_table"]).await;
    server.stop().await.unwrap();

    for report in [&full, &plain, &only_t] {
        assert_eq!(report.outcome, CheckOutcome::Failed, "{report:?}");
        assert_eq!(report.findings.len(), 1, "{report:?}");
        let f = &report.findings[0];
        assert_eq!(f.kind, "corruption");
        assert_eq!(f.object, "btree index public.t_pkey");
        assert_eq!(f.expected, "no corruption");
        assert_eq!(
            f.found,
            "ERROR:  item order invariant violated for index \"t_pkey\""
        );
        assert!(
            f.message.contains("DETAIL:  Lower index tid=(1,2)")
                && f.message.contains("higher index tid=(1,3)"),
            "{}",
            f.message
        );
    }
    // Limited to another table, the damaged index is not looked at.
    assert_eq!(only_u.outcome, CheckOutcome::Passed, "{only_u:?}");
    // A table that is not there: the check could not do what it was asked.
    assert_eq!(missing.outcome, CheckOutcome::Error, "{missing:?}");
    assert!(
        missing.findings[0]
            .message
            .contains("no heap tables to check matching \"no_such_table\""),
        "{}",
        missing.findings[0].message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_heap_tuple_from_the_future_is_one_finding_on_that_tuple() {
    let pg = common::pg::pg();
    let scratch = common::pg::Scratch::new(&pg);
    let mut source = cluster(&pg, scratch.path()).await;
    let file = relation_file(&source, "t").await;
    let c = source.client("postgres").await.unwrap();
    let next: i64 = c
        .query_one("select txid_current()", &[])
        .await
        .unwrap()
        .get(0);
    drop(c);
    source.stop().await.unwrap();

    // The first tuple of block 0 gets an xmin far past the next transaction id: verify_heapam
    // reports it ("xmin N equals or exceeds next valid transaction ID") without looking the
    // xid up in the commit log, which has no page for it. Without heapallindexed nothing
    // else reads the tuple, so this is the only finding.
    let mut page = read_page(&file, 0);
    let tuple = item_offset(&page, 1);
    let infomask = u16_at(&page, tuple + 20);
    assert_ne!(
        infomask & HEAP_XMIN_FROZEN,
        HEAP_XMIN_FROZEN,
        "the tuple is frozen: its xmin would not be checked"
    );
    let future = u32::try_from(next).unwrap() + 1_000_000;
    page[tuple..tuple + 4].copy_from_slice(&future.to_le_bytes());
    write_page(&file, 0, &page);

    let mut server = restart(&source).await;
    let report = check(&context(server.port, None), false, &[]).await;
    server.stop().await.unwrap();

    assert_eq!(report.outcome, CheckOutcome::Failed, "{report:?}");
    assert_eq!(report.findings.len(), 1, "{report:?}");
    let f = &report.findings[0];
    assert_eq!(f.kind, "corruption");
    assert_eq!(f.object, "heap table public.t, block 0, offset 1");
    assert!(
        f.found.starts_with(&format!(
            "xmin {future} equals or exceeds next valid transaction ID "
        )),
        "{}",
        f.found
    );
    assert_eq!(f.message, f.found);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_target_is_an_error_and_the_password_stays_secret() {
    // Found only to check that this machine has PostgreSQL at all: without it the error
    // below would be "not found", which is the wrong reason to pass this test.
    common::pg::pg();
    let port = free_port().unwrap();
    let password = "hunter2-never-printed";
    let report = check(&context(port, Some(password)), true, &[]).await;

    assert_eq!(report.outcome, CheckOutcome::Error, "{report:?}");
    assert_eq!(report.findings.len(), 1, "{report:?}");
    let f = &report.findings[0];
    assert_eq!(f.kind, "error");
    assert!(
        f.message.contains(&format!("port {port} failed")),
        "{}",
        f.message
    );
    assert!(!format!("{report:?}").contains(password));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_bin_dir_is_an_error() {
    let mut cx = context(free_port().unwrap(), None);
    cx.pg_bin_dir = Some(PathBuf::from("/nonexistent/postgresql/bin"));
    let report = check(&cx, false, &[]).await;
    assert_eq!(report.outcome, CheckOutcome::Error, "{report:?}");
    assert!(
        report.findings[0]
            .message
            .contains("/nonexistent/postgresql/bin"),
        "{}",
        report.findings[0].message
    );
}
