//! Reference manifests: what a database or an S3 prefix held at a known time, recorded by
//! `restore-drill manifest` and compared by `table_checksum`, `schema` and `s3_manifest`
//! checks. A manifest holds counts and hashes (per key range, per object) and the schema,
//! never the data itself.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub const MANIFEST_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    /// `postgresql` or `s3`.
    pub kind: String,
    pub taken_at: DateTime<Utc>,
    /// `host:port/database` or `s3://bucket/prefix` it was taken from.
    pub source: String,
    #[serde(default)]
    pub tables: Vec<TableManifest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<SchemaSnapshot>,
    /// S3: the bucket and prefix the objects were listed under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// S3: the moment whose current versions were recorded (`--at`, else when it was taken).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<DateTime<Utc>>,
    /// S3: every object, in key order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<ObjectManifest>,
}

/// One object of an S3 manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectManifest {
    /// The full key in the bucket.
    pub key: String,
    pub size: u64,
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<DateTime<Utc>>,
}

/// Row count and hashes of one table (or query), over its whole key space and per key range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableManifest {
    /// The table as named in checks (`orders`, `sales.orders`).
    pub table: String,
    pub key: Vec<String>,
    /// How rows were hashed: `record` (the columns' own hash functions) or `text` (the row's
    /// text form, for tables with a type that has no hash function).
    #[serde(default = "text_hash")]
    pub row_hash: String,
    pub rows: u64,
    /// The combined row hash (see `checksum.rs`), as decimal text.
    pub hash: String,
    /// How rows are split into `ranges`: `key_ranges` (consecutive ranges of an integer first
    /// key column: `from` inclusive, `to` exclusive, `None` unbounded) or `key_hash` (bucket
    /// i holds the keys whose hash is i modulo the number of buckets).
    pub split: String,
    pub ranges: Vec<RangeManifest>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeManifest {
    pub from: Option<String>,
    pub to: Option<String>,
    pub rows: u64,
    pub hash: String,
}

/// Tables, columns, indexes and constraints of some schemas.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaSnapshot {
    /// The schemas it covers (a table of another schema is neither missing nor extra).
    #[serde(default)]
    pub schemas: Vec<String>,
    pub tables: Vec<TableSchema>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSchema {
    pub schema: String,
    pub name: String,
    pub columns: Vec<ColumnSchema>,
    /// Index name → `pg_get_indexdef`.
    pub indexes: Vec<NamedDefinition>,
    /// Constraint name → `pg_get_constraintdef`.
    pub constraints: Vec<NamedDefinition>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnSchema {
    pub name: String,
    /// `format_type` of the column, e.g. `bigint`, `character varying(20)`.
    pub data_type: String,
    pub not_null: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedDefinition {
    pub name: String,
    pub definition: String,
}

fn text_hash() -> String {
    "text".into()
}

impl Manifest {
    pub fn load(path: &Path) -> Result<Self, String> {
        let bytes = std::fs::read(path)
            .map_err(|e| format!("cannot read the manifest {}: {e}", path.display()))?;
        let m: Manifest = serde_json::from_slice(&bytes)
            .map_err(|e| format!("{} is not a restore-drill manifest: {e}", path.display()))?;
        if m.format_version != MANIFEST_VERSION {
            return Err(format!(
                "{}: manifest format {} is not supported (this version reads {MANIFEST_VERSION})",
                path.display(),
                m.format_version
            ));
        }
        Ok(m)
    }
}
