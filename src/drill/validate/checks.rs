//! Each `[[check]]`: its kind's keys, the restore it names, and its reference.

use std::collections::HashMap;
use std::ops::Range;

use toml::Spanned;

use crate::drill::diag::did_you_mean;
use crate::drill::expect::Expect;
use crate::drill::load::{Value, de, take_kind};
use crate::drill::plan::*;
use crate::drill::raw::*;

use super::settings::InputKind;
use super::text::texts;
use super::validator::{Known, RawCheck, Validator};

impl Validator<'_> {
    pub(super) fn raw_check(&mut self, value: Value<'_>, ctx: &str) -> Option<RawCheck> {
        let (kind, rest) = take_kind(&mut self.diags, value, ctx, CHECK_KINDS)?;
        let d = &mut self.diags;
        Some(match kind {
            "sql" => RawCheck::Sql(de(d, rest, ctx, &[])?),
            "freshness" => RawCheck::Freshness(de(d, rest, ctx, &[])?),
            "table_checksum" => RawCheck::TableChecksum(de(d, rest, ctx, &[])?),
            "schema" => RawCheck::Schema(de(d, rest, ctx, &[])?),
            "s3_manifest" => RawCheck::S3Manifest(de(d, rest, ctx, &[])?),
            "pg_amcheck" => RawCheck::PgAmcheck(de(d, rest, ctx, &[])?),
            "s3_replication_lag" => RawCheck::S3ReplicationLag(de(d, rest, ctx, &[])?),
            _ => RawCheck::Canary(de(d, rest, ctx, &[])?),
        })
    }

    pub(super) fn check(
        &mut self,
        raw: RawCheck,
        ctx: &str,
        known: &HashMap<String, Known>,
        names: &mut HashMap<String, Range<usize>>,
    ) -> Option<CheckPlan> {
        let (restore, name, kind_name) = match &raw {
            RawCheck::Sql(c) => (c.restore.clone(), c.name.clone(), "sql"),
            RawCheck::Freshness(c) => (c.restore.clone(), c.name.clone(), "freshness"),
            RawCheck::TableChecksum(c) => (c.restore.clone(), c.name.clone(), "table_checksum"),
            RawCheck::Schema(c) => (c.restore.clone(), c.name.clone(), "schema"),
            RawCheck::S3Manifest(c) => (c.restore.clone(), c.name.clone(), "s3_manifest"),
            RawCheck::PgAmcheck(c) => (c.restore.clone(), c.name.clone(), "pg_amcheck"),
            RawCheck::Canary(c) => (c.restore.clone(), c.name.clone(), "canary"),
            RawCheck::S3ReplicationLag(c) => {
                (c.restore.clone(), c.name.clone(), "s3_replication_lag")
            }
        };
        let errors_before = self.diags.items.len();
        let target = match known.get(restore.get_ref()) {
            Some(k) => Some(k),
            None => {
                let ids: Vec<&str> = known.keys().map(String::as_str).collect();
                let hint = match did_you_mean(restore.get_ref(), &ids) {
                    Some(s) => format!(" (did you mean \"{s}\"?)"),
                    None => String::new(),
                };
                self.diags.error(
                    restore.span(),
                    ctx,
                    format!(
                        "key \"restore\": no restore has the id \"{}\"{hint}",
                        restore.get_ref()
                    ),
                );
                None
            }
        };
        if let Some(n) = &name {
            if n.get_ref().trim().is_empty() {
                self.nonempty(n, ctx, "name");
            } else if let Some(first) = names.get(n.get_ref()) {
                let (line, _) = self.diags.source.position(first.start);
                self.diags.error(
                    n.span(),
                    ctx,
                    format!(
                        "duplicate check name \"{}\" (first used on line {line})",
                        n.get_ref()
                    ),
                );
            } else {
                names.insert(n.get_ref().clone(), n.span());
            }
        }
        // Whether the check's kind fits the restore's: SQL checks need a database, object
        // checks an object store. Unknown (invalid) restores are not judged twice.
        let is_db = target.map(|k| k.is_database);
        let needs_db = matches!(
            kind_name,
            "sql" | "table_checksum" | "schema" | "pg_amcheck"
        );
        if let Some(k) = target.filter(|k| !k.kind.is_empty()) {
            if needs_db && !k.is_database {
                self.diags.error(
                    restore.span(),
                    ctx,
                    format!(
                        "a {kind_name} check needs a database, but restore \"{}\" is {}",
                        restore.get_ref(),
                        k.kind
                    ),
                );
            }
            if matches!(kind_name, "s3_manifest" | "s3_replication_lag") && k.is_database {
                self.diags.error(
                    restore.span(),
                    ctx,
                    format!(
                        "an {kind_name} check needs restored objects, but restore \"{}\" is {}",
                        restore.get_ref(),
                        k.kind
                    ),
                );
            }
        }
        let kind = match raw {
            RawCheck::Sql(c) => {
                self.nonempty(&c.query, ctx, "query");
                let expect = match Expect::parse(c.expect.get_ref()) {
                    Ok(e) => Some(e),
                    Err(e) => {
                        self.diags
                            .error(c.expect.span(), ctx, format!("key \"expect\": {e}"));
                        None
                    }
                };
                Some(CheckKind::Sql {
                    query: c.query.into_inner(),
                    expect: expect?,
                })
            }
            RawCheck::Freshness(c) => {
                match (&c.query, is_db) {
                    (None, Some(true)) => self.diags.error(
                        restore.span(),
                        ctx,
                        "missing required key \"query\": on a database, a freshness check runs a query that returns the newest timestamp present",
                    ),
                    (Some(q), Some(false)) => self.diags.error(
                        q.span(),
                        ctx,
                        "key \"query\" has no meaning for restored objects: their freshness is the newest LastModified",
                    ),
                    (Some(q), _) => self.nonempty(q, ctx, "query"),
                    _ => {}
                }
                Some(CheckKind::Freshness {
                    query: c.query.map(Spanned::into_inner),
                })
            }
            RawCheck::TableChecksum(c) => {
                let source = match (c.table, c.query) {
                    (Some(t), None) => Some(RowSource::Table(t.into_inner())),
                    (None, Some(q)) => Some(RowSource::Query(q.into_inner())),
                    (Some(t), Some(_)) => {
                        self.diags.error(
                            t.span(),
                            ctx,
                            "give either \"table\" or \"query\", not both",
                        );
                        None
                    }
                    (None, None) => {
                        self.diags.error(
                            restore.span(),
                            ctx,
                            "missing \"table\" or \"query\": which rows to compare",
                        );
                        None
                    }
                };
                let key: Vec<String> = c
                    .key
                    .get_ref()
                    .split(',')
                    .map(|k| k.trim().to_owned())
                    .collect();
                if key.iter().any(String::is_empty) {
                    self.diags.error(
                        c.key.span(),
                        ctx,
                        "key \"key\": name the key column, or several separated by commas (\"tenant_id, id\")",
                    );
                }
                let reference = self.reference(c.reference, ctx, restore.get_ref(), known);
                Some(CheckKind::TableChecksum {
                    source: source?,
                    key,
                    reference: reference?,
                })
            }
            RawCheck::Schema(c) => {
                let reference = self.reference(c.reference, ctx, restore.get_ref(), known);
                let schemas = match c.schemas {
                    Some(s) if s.is_empty() => {
                        self.diags.error(
                            restore.span(),
                            ctx,
                            "key \"schemas\": name at least one schema",
                        );
                        Vec::new()
                    }
                    Some(s) => texts(Some(&s)),
                    None => vec![String::from("public")],
                };
                Some(CheckKind::Schema {
                    schemas,
                    reference: reference?,
                })
            }
            RawCheck::S3Manifest(c) => {
                self.nonempty(&c.manifest, ctx, "manifest");
                Some(CheckKind::S3Manifest {
                    manifest: self.input_file(&c.manifest, ctx, "manifest", InputKind::Manifest),
                })
            }
            RawCheck::S3ReplicationLag(c) => {
                self.bucket(&c.primary, ctx, "primary");
                if let Some(r) = &c.region {
                    self.region(r, ctx, "region");
                }
                let max_lag = match &c.max_lag {
                    Some(m) => Some(self.duration(m, ctx, "max_lag", false)?),
                    None => None,
                };
                Some(CheckKind::S3ReplicationLag {
                    primary: c.primary.into_inner(),
                    region: c.region.map(Spanned::into_inner),
                    max_lag,
                })
            }
            RawCheck::PgAmcheck(c) => Some(CheckKind::PgAmcheck {
                heapallindexed: c.heapallindexed.unwrap_or(false),
                tables: texts(c.tables.as_deref()),
            }),
            RawCheck::Canary(c) => match (c.table, c.prefix, is_db) {
                (Some(t), None, Some(true) | None) => {
                    let every = match &c.every {
                        Some(e) => Some(self.duration(e, ctx, "every", true)?),
                        None => None,
                    };
                    Some(CheckKind::Canary {
                        at: CanaryAt::Table {
                            table: t.into_inner(),
                            time_column: c
                                .time_column
                                .map(Spanned::into_inner)
                                .unwrap_or_else(|| String::from("written_at")),
                            every,
                        },
                    })
                }
                (None, Some(p), Some(false) | None) => {
                    if let Some(tc) = &c.time_column {
                        self.diags.error(
                            tc.span(),
                            ctx,
                            "key \"time_column\" has no meaning for objects: their time is LastModified",
                        );
                    }
                    Some(CheckKind::Canary {
                        at: CanaryAt::Prefix(p.into_inner()),
                    })
                }
                (Some(t), Some(_), _) => {
                    self.diags.error(
                        t.span(),
                        ctx,
                        "give either \"table\" (a database) or \"prefix\" (objects), not both",
                    );
                    None
                }
                (Some(t), None, Some(false)) => {
                    self.diags.error(t.span(), ctx, "key \"table\": this restore holds objects; name a \"prefix\" of canary objects");
                    None
                }
                (None, Some(p), Some(true)) => {
                    self.diags.error(
                        p.span(),
                        ctx,
                        "key \"prefix\": this restore is a database; name a canary \"table\"",
                    );
                    None
                }
                (None, None, _) => {
                    self.diags.error(
                        restore.span(),
                        ctx,
                        "missing \"table\" (canary rows in a database) or \"prefix\" (canary objects)",
                    );
                    None
                }
            },
        };
        let clean = !self.diags.items[errors_before..]
            .iter()
            .any(|d| d.severity == crate::drill::diag::Severity::Error);
        let kind = kind.filter(|_| clean && target.is_some())?;
        Some(CheckPlan {
            restore: restore.into_inner(),
            name: name.map(Spanned::into_inner).unwrap_or_default(),
            kind,
        })
    }

    pub(super) fn reference(
        &mut self,
        r: Spanned<RawReference>,
        ctx: &str,
        own_restore: &str,
        known: &HashMap<String, Known>,
    ) -> Option<Reference> {
        let span = r.span();
        let r = r.into_inner();
        let given = usize::from(r.manifest.is_some())
            + usize::from(r.connect.is_some())
            + usize::from(r.restore.is_some());
        if given != 1 {
            self.diags.error(
                span,
                ctx,
                "key \"reference\": give exactly one of manifest = \"PATH\", connect = { ... } or restore = \"ID\"",
            );
            return None;
        }
        if let Some(m) = r.manifest {
            self.nonempty(&m, ctx, "reference.manifest");
            return Some(Reference::Manifest(self.input_file(
                &m,
                ctx,
                "reference.manifest",
                InputKind::Manifest,
            )));
        }
        if let Some(other) = r.restore {
            match known.get(other.get_ref()) {
                None => self.diags.error(
                    other.span(),
                    ctx,
                    format!(
                        "key \"reference.restore\": no restore has the id \"{}\"",
                        other.get_ref()
                    ),
                ),
                Some(_) if other.get_ref() == own_restore => self.diags.error(
                    other.span(),
                    ctx,
                    "key \"reference.restore\": a restore cannot be its own reference",
                ),
                Some(k) if !k.is_database && !k.kind.is_empty() => self.diags.error(
                    other.span(),
                    ctx,
                    format!(
                        "key \"reference.restore\": restore \"{}\" is {}, not a database",
                        other.get_ref(),
                        k.kind
                    ),
                ),
                _ => {}
            }
            return Some(Reference::Restore(other.into_inner()));
        }
        let c = r.connect?;
        self.nonempty(&c.host, ctx, "reference.connect.host");
        if let Some(p) = &c.password_env {
            self.env_name(p, ctx, "reference.connect.password_env");
        }
        let tls = self.tls(c.tls.as_ref(), ctx, "reference.connect.tls")?;
        Some(Reference::Connect(ReferenceConnect {
            host: c.host.into_inner(),
            port: c.port.unwrap_or(5432),
            database: c.database.into_inner(),
            user: c.user.into_inner(),
            password_env: c.password_env.map(Spanned::into_inner),
            tls,
            ca_bundle: c
                .ca_bundle
                .map(|p| self.input_file(&p, ctx, "reference.connect.ca_bundle", InputKind::Pem)),
        }))
    }
}
