//! The `schema` check on real PostgreSQL: a known-good "restore" (a database built with the
//! same DDL as its reference) passes; corrupting exactly one thing yields exactly that finding,
//! and corrupting several things yields all of theirs.

mod common;

use common::pg::{Scratch, pg};
use restore_drill::checks::{CheckContext, CheckTarget, record_manifest, run_check};
use restore_drill::drill::{CheckKind, CheckPlan, Reference, ReferenceConnect, Tls};
use restore_drill::provider::local::SourceCluster;
use restore_drill::report::{CheckOutcome, CheckReport};
use serde_json::json;

/// Every kind of object the check compares: primary keys, a unique, a check and a foreign-key
/// constraint, a secondary index, nullable and not-null columns of several types.
const DDL: &str = "
    create table customers (
        id bigint generated always as identity primary key,
        email varchar(20) not null unique,
        name text
    );
    create table orders (
        id bigserial primary key,
        customer_id bigint not null references customers (id),
        amount numeric(10,2) not null,
        quantity integer not null check (quantity > 0),
        note text,
        created_at timestamptz not null default now()
    );
    create index orders_created_idx on orders (created_at);";

/// One cluster holding a `reference` database and "restores" of it, each built by `DDL` and
/// then corrupted by its own SQL. Several restores share one cluster because starting a
/// cluster (initdb) is what costs in these tests.
struct Fixture {
    // Before `scratch`: fields drop in order, and the server must go before its directory.
    cluster: SourceCluster,
    scratch: Scratch,
}

impl Fixture {
    /// Builds `reference` and, for each (database, sql), a database corrupted by `sql`.
    async fn start(restores: &[(&str, &str)]) -> Self {
        let pg = pg();
        let scratch = Scratch::new(&pg);
        let cluster = SourceCluster::start(&pg, &scratch.path().join("db"))
            .await
            .unwrap();
        let admin = cluster.client("postgres").await.unwrap();
        for (db, corrupt) in [("reference", "")].iter().chain(restores) {
            admin
                .batch_execute(&format!("create database {db}"))
                .await
                .unwrap();
            let client = cluster.client(db).await.unwrap();
            client.batch_execute(DDL).await.unwrap();
            client.batch_execute(corrupt).await.unwrap();
        }
        Fixture { cluster, scratch }
    }

    fn target(&self, db: &str) -> CheckTarget {
        CheckTarget {
            host: "127.0.0.1".into(),
            port: self.cluster.port(),
            database: db.into(),
            user: "postgres".into(),
            password: None,
            tls: restore_drill::drill::Tls::Disable,
            ca_bundle: None,
            server_name: None,
        }
    }

    /// The context the engine would give a check of `db`, with `reference` as the other
    /// restore "other" of the drill.
    fn context(&self, db: &str) -> CheckContext {
        CheckContext {
            target: self.target(db),
            restored_to: None,
            pg_bin_dir: None,
            others: [("other".to_owned(), self.target("reference"))]
                .into_iter()
                .collect(),
        }
    }

    fn by_connection(&self) -> Reference {
        Reference::Connect(ReferenceConnect {
            host: "127.0.0.1".into(),
            port: self.cluster.port(),
            database: "reference".into(),
            user: "postgres".into(),
            password_env: None,
            tls: Tls::Disable,
            ca_bundle: None,
        })
    }

    async fn stop(mut self) {
        self.cluster.stop().await.unwrap();
    }
}

/// Runs a `schema` check of `public` exactly as the engine does.
async fn check(reference: Reference, cx: &CheckContext) -> CheckReport {
    let plan = CheckPlan {
        restore: "db".into(),
        name: "schema".into(),
        kind: CheckKind::Schema {
            schemas: vec!["public".into()],
            reference,
        },
    };
    let (report, newest) = run_check(&plan, cx).await;
    assert_eq!(newest, None, "only freshness checks date the data");
    assert_eq!(report.kind, "schema");
    report
}

/// (kind, object, expected, found) of every finding, in order.
fn findings(r: &CheckReport) -> Vec<(&str, &str, &str, &str)> {
    r.findings
        .iter()
        .map(|f| {
            (
                f.kind.as_str(),
                f.object.as_str(),
                f.expected.as_str(),
                f.found.as_str(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_restore_passes_and_its_snapshot_holds_every_object() {
    let t = Fixture::start(&[("restored", "")]).await;
    let cx = t.context("restored");
    let by_connection = check(t.by_connection(), &cx).await;
    let by_restore = check(Reference::Restore("other".into()), &cx).await;
    let unknown = check(Reference::Restore("elsewhere".into()), &cx).await;
    // The snapshot the comparison rests on, through the public API: a pass over two empty
    // snapshots would prove nothing.
    let manifest = record_manifest(&t.target("restored"), &[], &["public".into()], 16).await;
    t.stop().await;

    for report in [&by_connection, &by_restore] {
        assert_eq!(
            (report.outcome, findings(report)),
            (CheckOutcome::Passed, vec![])
        );
    }
    assert_eq!(unknown.outcome, CheckOutcome::Error);
    assert_eq!(
        unknown.findings[0].message,
        "restore \"elsewhere\" has no database to compare with (it is not in this drill, or it did not get as far as a running database)"
    );
    let schema = serde_json::to_value(manifest.unwrap().schema).unwrap();
    let col = |name: &str, data_type: &str, not_null: bool| json!({ "name": name, "data_type": data_type, "not_null": not_null });
    let def = |name: &str, definition: &str| json!({ "name": name, "definition": definition });
    assert_eq!(
        schema,
        json!({ "schemas": ["public"], "tables": [
            {
                "schema": "public",
                "name": "customers",
                "columns": [
                    col("id", "bigint", true),
                    col("email", "character varying(20)", true),
                    col("name", "text", false),
                ],
                "indexes": [
                    def("customers_email_key", "CREATE UNIQUE INDEX customers_email_key ON public.customers USING btree (email)"),
                    def("customers_pkey", "CREATE UNIQUE INDEX customers_pkey ON public.customers USING btree (id)"),
                ],
                "constraints": [
                    def("customers_email_key", "UNIQUE (email)"),
                    def("customers_pkey", "PRIMARY KEY (id)"),
                ],
            },
            {
                "schema": "public",
                "name": "orders",
                "columns": [
                    col("id", "bigint", true),
                    col("customer_id", "bigint", true),
                    col("amount", "numeric(10,2)", true),
                    col("quantity", "integer", true),
                    col("note", "text", false),
                    col("created_at", "timestamp with time zone", true),
                ],
                "indexes": [
                    def("orders_created_idx", "CREATE INDEX orders_created_idx ON public.orders USING btree (created_at)"),
                    def("orders_pkey", "CREATE UNIQUE INDEX orders_pkey ON public.orders USING btree (id)"),
                ],
                "constraints": [
                    def("orders_customer_id_fkey", "FOREIGN KEY (customer_id) REFERENCES public.customers(id)"),
                    def("orders_pkey", "PRIMARY KEY (id)"),
                    def("orders_quantity_check", "CHECK ((quantity > 0))"),
                ],
            },
        ]})
    );
}

/// Each corruption of a known-good restore, and the exact findings it must give.
type Case = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str, &'static str, &'static str)],
);

const CASES: &[Case] = &[
    (
        "dropped_column",
        "alter table orders drop column note",
        &[(
            "missing",
            "column public.orders.note",
            "text null",
            "absent",
        )],
    ),
    (
        "dropped_index",
        "drop index orders_created_idx",
        &[(
            "missing",
            "index public.orders_created_idx",
            "CREATE INDEX orders_created_idx ON public.orders USING btree (created_at)",
            "absent",
        )],
    ),
    (
        "changed_type",
        "alter table orders alter column amount type integer",
        &[(
            "changed",
            "column public.orders.amount",
            "numeric(10,2) not null",
            "integer not null",
        )],
    ),
    (
        "changed_nullability",
        "alter table customers alter column name set not null",
        &[(
            "changed",
            "column public.customers.name",
            "text null",
            "text not null",
        )],
    ),
    (
        "dropped_constraint",
        "alter table orders drop constraint orders_quantity_check",
        &[(
            "missing",
            "constraint public.orders.orders_quantity_check",
            "CHECK ((quantity > 0))",
            "absent",
        )],
    ),
    (
        "changed_constraint",
        "alter table orders drop constraint orders_quantity_check,
             add constraint orders_quantity_check check (quantity >= 0)",
        &[(
            "changed",
            "constraint public.orders.orders_quantity_check",
            "CHECK ((quantity > 0))",
            "CHECK ((quantity >= 0))",
        )],
    ),
    (
        "extra_table",
        "create table scratch (id int)",
        &[("extra", "table public.scratch", "absent", "present")],
    ),
    (
        "extra_column",
        "alter table customers add column phone text",
        &[(
            "extra",
            "column public.customers.phone",
            "absent",
            "text null",
        )],
    ),
    (
        "missing_table",
        "drop table orders",
        &[("missing", "table public.orders", "present", "absent")],
    ),
    // Everything at once: every difference is reported, not only the first. Table by table
    // in name order; within one, columns, then indexes, then constraints.
    (
        "everything",
        "alter table orders drop column note;
         alter table orders alter column amount type integer;
         drop index orders_created_idx;
         alter table orders drop constraint orders_quantity_check;
         alter table customers alter column name set not null;
         alter table customers add column phone text;
         create table scratch (id int);",
        &[
            (
                "changed",
                "column public.customers.name",
                "text null",
                "text not null",
            ),
            (
                "extra",
                "column public.customers.phone",
                "absent",
                "text null",
            ),
            (
                "changed",
                "column public.orders.amount",
                "numeric(10,2) not null",
                "integer not null",
            ),
            (
                "missing",
                "column public.orders.note",
                "text null",
                "absent",
            ),
            (
                "missing",
                "index public.orders_created_idx",
                "CREATE INDEX orders_created_idx ON public.orders USING btree (created_at)",
                "absent",
            ),
            (
                "missing",
                "constraint public.orders.orders_quantity_check",
                "CHECK ((quantity > 0))",
                "absent",
            ),
            ("extra", "table public.scratch", "absent", "present"),
        ],
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_corruption_gives_exactly_its_findings_whichever_database_is_the_reference() {
    let sql: Vec<(&str, &str)> = CASES.iter().map(|(db, sql, _)| (*db, *sql)).collect();
    let t = Fixture::start(&sql).await;
    let mut got = Vec::new();
    for (db, _, _) in CASES {
        let cx = t.context(db);
        // The same reference database, named by connection and as another restore.
        for (how, reference) in [
            ("connect", t.by_connection()),
            ("restore", Reference::Restore("other".into())),
        ] {
            got.push((*db, how, check(reference, &cx).await));
        }
    }
    t.stop().await;

    for (db, how, report) in &got {
        let (_, _, want) = CASES.iter().find(|(d, _, _)| d == db).unwrap();
        assert_eq!(
            (report.outcome, findings(report)),
            (CheckOutcome::Failed, want.to_vec()),
            "{db}, reference by {how}: {:#?}",
            report.findings
        );
    }
    // The wording, once per kind of finding.
    let message = |db: &str, i: usize| {
        let (_, _, r) = got.iter().find(|(d, _, _)| *d == db).unwrap();
        r.findings[i].message.clone()
    };
    assert_eq!(
        message("dropped_column", 0),
        "the restored table lacks this column"
    );
    assert_eq!(
        message("changed_type", 0),
        "the column's type differs from the reference"
    );
    assert_eq!(
        message("changed_nullability", 0),
        "the column's nullability differs from the reference"
    );
    assert_eq!(
        message("extra_table", 0),
        "the restored database has an extra table, absent from the reference"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manifest_reference_finds_the_corruption_in_the_checked_schemas_only() {
    let t = Fixture::start(&[(
        "restored",
        "alter table orders alter column note set not null",
    )])
    .await;
    // A table outside the checked schemas, in the reference only: recorded in the manifest,
    // but not a finding of a check of `public`.
    t.cluster
        .client("reference")
        .await
        .unwrap()
        .batch_execute("create schema audit; create table audit.log (id int)")
        .await
        .unwrap();
    let manifest = record_manifest(
        &t.target("reference"),
        &[],
        &["public".into(), "audit".into()],
        16,
    )
    .await
    .unwrap();
    let path = t.scratch.path().join("reference.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
    let report = check(Reference::Manifest(path), &t.context("restored")).await;
    t.stop().await;

    let tables: Vec<String> = manifest
        .schema
        .unwrap()
        .tables
        .iter()
        .map(|t| format!("{}.{}", t.schema, t.name))
        .collect();
    assert_eq!(tables, ["audit.log", "public.customers", "public.orders"]);
    assert_eq!(report.outcome, CheckOutcome::Failed);
    assert_eq!(
        findings(&report),
        [(
            "changed",
            "column public.orders.note",
            "text null",
            "text not null"
        )]
    );
    assert_eq!(
        report.findings[0].message,
        "the column's nullability differs from the reference"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manifest_without_a_schema_is_an_error_not_a_pass() {
    let pg = pg();
    let scratch = Scratch::new(&pg);
    // Nothing to record: no tables, no schemas, so no database is needed.
    let nowhere = CheckTarget {
        host: "127.0.0.1".into(),
        port: 1,
        database: "restored".into(),
        user: "postgres".into(),
        password: None,
        tls: restore_drill::drill::Tls::Disable,
        ca_bundle: None,
        server_name: None,
    };
    let manifest = record_manifest(&nowhere, &[], &[], 16).await.unwrap();
    assert_eq!(manifest.schema, None);
    let path = scratch.path().join("rows-only.json");
    std::fs::write(&path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    let cx = CheckContext {
        target: nowhere,
        restored_to: None,
        pg_bin_dir: None,
        others: Default::default(),
    };

    let report = check(Reference::Manifest(path.clone()), &cx).await;
    assert_eq!(report.outcome, CheckOutcome::Error);
    assert_eq!(
        findings(&report),
        [("error", "schema", "the check runs", "it could not")]
    );
    assert_eq!(
        report.findings[0].message,
        format!(
            "the manifest {} holds no schema; record one with `restore-drill manifest --schema ...`",
            path.display()
        )
    );

    // A manifest covering only `public` cannot judge `audit`: an error, not "extra" tables.
    let mut covered = manifest.clone();
    covered.schema = Some(restore_drill::checks::SchemaSnapshot {
        schemas: vec!["public".into()],
        tables: Vec::new(),
    });
    let narrow = scratch.path().join("public-only.json");
    std::fs::write(&narrow, serde_json::to_vec(&covered).unwrap()).unwrap();
    let plan = CheckPlan {
        restore: "db".into(),
        name: "schema".into(),
        kind: CheckKind::Schema {
            schemas: vec!["public".into(), "audit".into()],
            reference: Reference::Manifest(narrow.clone()),
        },
    };
    let (report, _) = run_check(&plan, &cx).await;
    assert_eq!(report.outcome, CheckOutcome::Error);
    assert_eq!(
        report.findings[0].message,
        format!(
            "the manifest {} does not cover schema \"audit\" (it has: public); record it with `restore-drill manifest --schema audit`",
            narrow.display()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_unset_password_references_are_errors() {
    // Neither gets a connection: the target need not exist.
    let cx = CheckContext {
        target: CheckTarget {
            host: "127.0.0.1".into(),
            port: 1,
            database: "restored".into(),
            user: "postgres".into(),
            password: None,
            tls: restore_drill::drill::Tls::Disable,
            ca_bundle: None,
            server_name: None,
        },
        restored_to: None,
        pg_bin_dir: None,
        others: Default::default(),
    };
    let reference = |password_env: Option<&str>, tls| {
        Reference::Connect(ReferenceConnect {
            host: "127.0.0.1".into(),
            port: 1,
            database: "app".into(),
            user: "drill".into(),
            password_env: password_env.map(str::to_owned),
            tls,
            ca_bundle: None,
        })
    };

    let tls = check(reference(None, Tls::Require), &cx).await;
    assert_eq!(tls.outcome, CheckOutcome::Error);
    assert!(
        tls.findings[0]
            .message
            .contains("cannot connect to 127.0.0.1:1 database \"app\""),
        "{}",
        tls.findings[0].message
    );

    let var = "RESTORE_DRILL_TEST_SCHEMA_UNSET_PASSWORD";
    assert!(
        std::env::var_os(var).is_none(),
        "{var} must not be set for this test"
    );
    let unset = check(reference(Some(var), Tls::Disable), &cx).await;
    assert_eq!(unset.outcome, CheckOutcome::Error);
    assert_eq!(
        unset.findings[0].message,
        format!("the environment variable {var} (reference.connect.password_env) is not set")
    );
}
