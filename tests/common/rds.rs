//! An RDS stand for the tests: moto, the status-holding proxy in front of it, an isolated
//! network, a source instance, and a real local PostgreSQL for the checks (`connect.via`).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use restore_drill::report::RunReport;

use super::moto::Moto;
use super::proxy::Proxy;

pub const BIN: &str = env!("CARGO_BIN_EXE_restore-drill");
pub const PW: &str = "Dr1ll-pa55word-7f3a";
pub const HOLD: Duration = Duration::from_secs(2);

/// An unsigned EC2 Query call (moto does not check signatures); returns the answer's text.
pub fn ec2(moto: &Moto, region: &str, params: &[(&str, &str)]) -> String {
    let mut body = String::from("Version=2016-11-15");
    for (k, v) in params {
        body.push_str(&format!("&{k}={}", v.replace(' ', "+").replace('/', "%2F")));
    }
    let mut s = std::net::TcpStream::connect(("127.0.0.1", moto.port)).unwrap();
    write!(
        s,
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20261121/{region}/ec2/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "EC2 call failed: {out}");
    out
}

pub fn xml_field(text: &str, tag: &str) -> String {
    let a = format!("<{tag}>");
    let i = text
        .find(&a)
        .unwrap_or_else(|| panic!("no <{tag}> in {text}"))
        + a.len();
    let j = text[i..].find(&format!("</{tag}>")).unwrap();
    text[i..i + j].to_owned()
}

/// A VPC with two subnets, an isolated DB subnet group `drill-isolated` and a security
/// group, in `region`. Returns the security group id.
pub async fn network(moto: &Moto, region: &str) -> String {
    let vpc = xml_field(
        &ec2(
            moto,
            region,
            &[("Action", "CreateVpc"), ("CidrBlock", "10.9.0.0/16")],
        ),
        "vpcId",
    );
    let mut subnets = Vec::new();
    for (i, az) in ["a", "b"].iter().enumerate() {
        let cidr = format!("10.9.{i}.0/24");
        let zone = format!("{region}{az}");
        subnets.push(xml_field(
            &ec2(
                moto,
                region,
                &[
                    ("Action", "CreateSubnet"),
                    ("VpcId", &vpc),
                    ("CidrBlock", &cidr),
                    ("AvailabilityZone", &zone),
                ],
            ),
            "subnetId",
        ));
    }
    let sg = xml_field(
        &ec2(
            moto,
            region,
            &[
                ("Action", "CreateSecurityGroup"),
                ("GroupName", "drill-isolated"),
                ("GroupDescription", "no route to production"),
                ("VpcId", &vpc),
            ],
        ),
        "groupId",
    );
    moto.rds(region)
        .await
        .create_db_subnet_group()
        .db_subnet_group_name("drill-isolated")
        .db_subnet_group_description("isolated restores")
        .set_subnet_ids(Some(subnets))
        .send()
        .await
        .unwrap();
    sg
}

pub async fn source_instance(moto: &Moto) {
    moto.rds("us-east-1")
        .await
        .create_db_instance()
        .db_instance_identifier("orders-prod")
        .db_instance_class("db.m6g.large")
        .engine("postgres")
        .master_username("admin")
        .master_user_password("source-secret")
        .allocated_storage(20)
        .backup_retention_period(7)
        .tags(
            aws_sdk_rds::types::Tag::builder()
                .key("team")
                .value("payments")
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// A manual snapshot `orders-manual-1` of the source instance.
pub async fn manual_snapshot(moto: &Moto) {
    moto.rds("us-east-1")
        .await
        .create_db_snapshot()
        .db_instance_identifier("orders-prod")
        .db_snapshot_identifier("orders-manual-1")
        .send()
        .await
        .unwrap();
}

/// What a describe of every instance, cluster and snapshot in a region says, minus the
/// fields that move with the clock (moto's latest restorable time is "now").
pub async fn describe_all(moto: &Moto, region: &str) -> Vec<String> {
    let rds = moto.rds(region).await;
    let mut out = Vec::new();
    for d in rds
        .describe_db_instances()
        .send()
        .await
        .unwrap()
        .db_instances()
    {
        let mut d = d.clone();
        d.latest_restorable_time = None;
        out.push(format!("{d:?}"));
    }
    for c in rds
        .describe_db_clusters()
        .send()
        .await
        .unwrap()
        .db_clusters()
    {
        let mut c = c.clone();
        c.latest_restorable_time = None;
        out.push(format!("{c:?}"));
    }
    for s in rds
        .describe_db_snapshots()
        .send()
        .await
        .unwrap()
        .db_snapshots()
    {
        out.push(format!("{s:?}"));
    }
    for s in rds
        .describe_db_cluster_snapshots()
        .send()
        .await
        .unwrap()
        .db_cluster_snapshots()
    {
        // moto keeps the automated snapshot of every deleted cluster, whatever
        // DeleteAutomatedBackups says (RDS removes it with the cluster): those of a deleted
        // `drill-` target are moto's leftovers, not the run's. Teardown's flag is asserted in
        // the tests; a manual snapshot or a copy always counts.
        let moto_leftover = s.snapshot_type() == Some("automated")
            && s.db_cluster_identifier()
                .is_some_and(|c| c.starts_with("drill-"));
        if !moto_leftover {
            out.push(format!("{s:?}"));
        }
    }
    out.sort();
    out
}

/// What drills left in `region`: instances, clusters and snapshots that carry the run-id
/// tag or are named like a test target (`drill-*`). By name too, so a run whose tags were
/// lost could not pass for one that cleaned up.
pub async fn tagged(moto: &Moto, region: &str) -> Vec<String> {
    let rds = moto.rds(region).await;
    let mut all: Vec<(&str, String, Vec<aws_sdk_rds::types::Tag>)> = Vec::new();
    let out = rds.describe_db_instances().send().await.unwrap();
    for d in out.db_instances() {
        let id = d.db_instance_identifier().unwrap().to_owned();
        all.push(("instance", id, d.tag_list().to_vec()));
    }
    let out = rds.describe_db_clusters().send().await.unwrap();
    for c in out.db_clusters() {
        let id = c.db_cluster_identifier().unwrap().to_owned();
        all.push(("cluster", id, c.tag_list().to_vec()));
    }
    let out = rds.describe_db_snapshots().send().await.unwrap();
    for s in out.db_snapshots() {
        let id = s.db_snapshot_identifier().unwrap().to_owned();
        all.push(("snapshot", id, s.tag_list().to_vec()));
    }
    let out = rds.describe_db_cluster_snapshots().send().await.unwrap();
    for s in out.db_cluster_snapshots() {
        let id = s.db_cluster_snapshot_identifier().unwrap().to_owned();
        all.push(("cluster snapshot", id, s.tag_list().to_vec()));
    }
    all.into_iter()
        .filter(|(_, id, tags)| {
            id.starts_with("drill-") || tags.iter().any(|t| t.key() == Some("restore-drill:run-id"))
        })
        .map(|(kind, id, _)| format!("{kind} {id}"))
        .collect()
}

/// An Aurora source cluster `ledger-prod` in us-east-1 with a manual cluster snapshot
/// `ledger-manual-1`.
pub async fn source_cluster_with_snapshot(moto: &Moto) {
    let rds = moto.rds("us-east-1").await;
    rds.create_db_cluster()
        .db_cluster_identifier("ledger-prod")
        .engine("aurora-postgresql")
        .master_username("admin")
        .master_user_password("source-secret")
        .backup_retention_period(7)
        .send()
        .await
        .unwrap();
    rds.create_db_cluster_snapshot()
        .db_cluster_identifier("ledger-prod")
        .db_cluster_snapshot_identifier("ledger-manual-1")
        .send()
        .await
        .unwrap();
}

pub struct Ran {
    pub code: i32,
    pub report: Option<RunReport>,
    pub stderr: String,
}

pub fn run(dir: &Path, moto: &Moto, extra: &[&str]) -> Ran {
    let out: Output = Command::new(BIN)
        .arg("run")
        .arg(dir.join("drill.toml"))
        .args(["--format", "json", "--reports"])
        .arg(dir.join("reports"))
        .args(extra)
        .envs(moto.env())
        .env("RD_TEST_PW", PW)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    Ran {
        code: out.status.code().unwrap_or(-1),
        report: serde_json::from_slice(&out.stdout).ok(),
        stderr,
    }
}

pub fn drill(endpoint: &str, restore: &str, pg_port: u16) -> String {
    format!(
        r#"name = "rds-test"
tier = "gold"
schedule = "weekly"

[incident]
detect_allowance = "1m"

[provider]
kind = "aws"
region = "us-east-1"
endpoint_url = "{endpoint}"

[timeouts]
copy = "2m"
restore = "2m"
prepare = "1m"
teardown = "1m"

{restore}
[restore.connect]
database = "postgres"
user = "postgres"
password_env = "RD_TEST_PW"
via = "127.0.0.1:{pg_port}"
tls = "disable"

[[check]]
restore = "orders"
kind = "sql"
name = "rows are back"
query = "select count(*) from events"
expect = "= 50"
"#
    )
}

pub struct Stand {
    pub moto: Moto,
    pub proxy: Proxy,
    pub sg: String,
    pub _pg: super::pg::Scratch,
    pub source_pg: restore_drill::provider::local::SourceCluster,
    pub dir: tempfile::TempDir,
}

pub async fn stand(regions: &[&str]) -> Stand {
    let moto = Moto::start();
    let proxy = Proxy::start(moto.port, HOLD);
    let mut sg = String::new();
    for r in regions {
        sg = network(&moto, r).await;
    }
    let pg = super::pg::pg();
    let scratch = super::pg::Scratch::new(&pg);
    let source_pg = super::pg::source(&pg, scratch.path(), 50).await;
    Stand {
        moto,
        proxy,
        sg,
        _pg: scratch,
        source_pg,
        dir: tempfile::tempdir().unwrap(),
    }
}

impl Stand {
    pub fn write(&self, restore: &str) {
        std::fs::write(
            self.dir.path().join("drill.toml"),
            drill(&self.proxy.endpoint(), restore, self.source_pg.port()),
        )
        .unwrap();
    }
}

pub fn phase<'a>(r: &'a RunReport, name: &str) -> &'a restore_drill::report::PhaseReport {
    r.restores[0]
        .phases
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no {name} phase in {:?}", r.restores[0].phases))
}

pub fn assert_no_secret(dir: &Path, ran: &Ran) {
    assert!(!ran.stderr.contains(PW), "the password is in stderr");
    for e in walk(dir) {
        let text = std::fs::read(&e).unwrap();
        assert!(
            !String::from_utf8_lossy(&text).contains(PW),
            "the password is in {}",
            e.display()
        );
    }
}

pub fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

pub fn sweep(moto: &Moto, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .arg("sweep")
        .args(["--endpoint-url", &moto.endpoint(), "--region", "us-east-1"])
        .args(args)
        .envs(moto.env())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
