//! S3 helpers for tests against moto: run the binary with moto's environment, write and
//! inspect objects and their versions.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;

use super::Run;

/// Runs `restore-drill ARGS` in `dir` with extra environment variables.
pub fn restore_drill_env(dir: &Path, args: &[&str], env: &[(&str, String)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_restore-drill"));
    cmd.args(args).current_dir(dir).env_remove("RUST_LOG");
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

pub async fn create_versioned_bucket(s3: &Client, bucket: &str) {
    s3.create_bucket().bucket(bucket).send().await.unwrap();
    s3.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

pub async fn put(s3: &Client, bucket: &str, key: &str, body: &[u8]) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {key}: {e:?}"));
}

pub async fn delete(s3: &Client, bucket: &str, key: &str) {
    s3.delete_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("delete {key}: {e:?}"));
}

pub async fn get(s3: &Client, bucket: &str, key: &str) -> Vec<u8> {
    let out = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("get {key}: {e:?}"));
    out.body.collect().await.unwrap().into_bytes().to_vec()
}

/// One listed version or delete marker, everything the listing says about it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Listed {
    pub key: String,
    pub version_id: String,
    pub delete_marker: bool,
    pub is_latest: bool,
    pub last_modified: i64,
    pub size: i64,
    pub etag: String,
}

/// Every version and delete marker under `prefix`, sorted.
pub async fn all_versions(s3: &Client, bucket: &str, prefix: &str) -> Vec<Listed> {
    let mut out = Vec::new();
    let (mut km, mut vm): (Option<String>, Option<String>) = (None, None);
    loop {
        let page = s3
            .list_object_versions()
            .bucket(bucket)
            .prefix(prefix)
            .set_key_marker(km.take())
            .set_version_id_marker(vm.take())
            .send()
            .await
            .unwrap();
        for v in page.versions() {
            out.push(Listed {
                key: v.key().unwrap().to_owned(),
                version_id: v.version_id().unwrap_or("null").to_owned(),
                delete_marker: false,
                is_latest: v.is_latest().unwrap_or(false),
                last_modified: v.last_modified().unwrap().secs(),
                size: v.size().unwrap_or(0),
                etag: v.e_tag().unwrap_or_default().to_owned(),
            });
        }
        for m in page.delete_markers() {
            out.push(Listed {
                key: m.key().unwrap().to_owned(),
                version_id: m.version_id().unwrap_or("null").to_owned(),
                delete_marker: true,
                is_latest: m.is_latest().unwrap_or(false),
                last_modified: m.last_modified().unwrap().secs(),
                size: 0,
                etag: String::new(),
            });
        }
        if page.is_truncated() != Some(true) {
            break;
        }
        km = page.next_key_marker().map(str::to_owned);
        vm = page.next_version_id_marker().map(str::to_owned);
    }
    out.sort();
    out
}

/// Every current object under `prefix` with its content, by key.
pub async fn contents(s3: &Client, bucket: &str, prefix: &str) -> BTreeMap<String, Vec<u8>> {
    let mut keys = Vec::new();
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for o in page.unwrap().contents() {
            keys.push(o.key().unwrap().to_owned());
        }
    }
    use futures_util::StreamExt;
    let bodies: Vec<(String, Vec<u8>)> = futures_util::stream::iter(keys)
        .map(|k| async move {
            let body = get(s3, bucket, &k).await;
            (k, body)
        })
        .buffer_unordered(16)
        .collect()
        .await;
    bodies.into_iter().collect()
}
