//! The `schema` check: tables, columns (name, type, nullability), indexes and constraints
//! present as in a reference (a manifest or a database).
//!
//! Both sides are read the same way (`snapshot`) and compared item by item. Every difference is
//! one finding, so a single run shows the whole drift rather than only its first symptom.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::context::{CheckContext, db_error, reference_target};
use super::manifest::{ColumnSchema, Manifest, NamedDefinition, SchemaSnapshot, TableSchema};
use crate::drill::Reference;
use crate::report::Finding;

/// Ordinary and partitioned tables of the requested schemas. Partitions are ordinary tables
/// too, so each partition is compared on its own.
const TABLES: &str = "
    SELECT c.oid, n.nspname::text, c.relname::text
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND n.nspname::text = ANY ($1::text[])";

/// User columns only: system columns have attnum <= 0, and a dropped column keeps its
/// pg_attribute row (renamed `........pg.dropped.N........`) until the table is rewritten.
const COLUMNS: &str = "
    SELECT a.attrelid, a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod),
           a.attnotnull
    FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = ANY ($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY a.attrelid, a.attnum";

const INDEXES: &str = "
    SELECT x.indrelid, i.relname::text, pg_catalog.pg_get_indexdef(x.indexrelid)
    FROM pg_catalog.pg_index x
    JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid
    WHERE x.indrelid = ANY ($1::oid[])";

const CONSTRAINTS: &str = "
    SELECT k.conrelid, k.conname::text, pg_catalog.pg_get_constraintdef(k.oid)
    FROM pg_catalog.pg_constraint k
    WHERE k.conrelid = ANY ($1::oid[])";

/// Reads the schema of `schemas` from a database: tables sorted by (schema, name), columns in
/// table order, indexes and constraints sorted by name, so that two snapshots of the same
/// schema are equal. Runs its own transaction on `client`, which must not be inside one.
pub(crate) async fn snapshot(
    client: &tokio_postgres::Client,
    schemas: &[String],
) -> Result<SchemaSnapshot, String> {
    // One repeatable-read transaction, so the four queries see one state of the catalog (a
    // table created in between would otherwise show up without columns). The empty
    // search_path makes pg_get_*def and format_type qualify every name outside pg_catalog:
    // a database-level search_path that differs between the reference and the restore must
    // not read as a changed definition.
    client
        .batch_execute(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL search_path = ''",
        )
        .await
        .map_err(|e| format!("cannot start reading the catalog: {}", db_error(&e)))?;
    let read = read_catalog(client, schemas).await;
    // End the transaction whatever happened, so the session stays usable for the caller.
    let end = client
        .batch_execute(if read.is_ok() { "COMMIT" } else { "ROLLBACK" })
        .await;
    let snapshot = read?;
    end.map_err(|e| format!("cannot finish reading the catalog: {}", db_error(&e)))?;
    Ok(snapshot)
}

async fn read_catalog(
    client: &tokio_postgres::Client,
    schemas: &[String],
) -> Result<SchemaSnapshot, String> {
    let failed = |what: &'static str| {
        move |e: tokio_postgres::Error| {
            format!("cannot read the {what} from the catalog: {}", db_error(&e))
        }
    };
    let unexpected = |what: &'static str| {
        move |e: tokio_postgres::Error| format!("unexpected {what} from the catalog: {e}")
    };

    let rows = client
        .query(TABLES, &[&schemas])
        .await
        .map_err(failed("tables"))?;
    let mut tables: HashMap<u32, TableSchema> = HashMap::with_capacity(rows.len());
    for row in &rows {
        let oid: u32 = row.try_get(0).map_err(unexpected("tables"))?;
        tables.insert(
            oid,
            TableSchema {
                schema: row.try_get(1).map_err(unexpected("tables"))?,
                name: row.try_get(2).map_err(unexpected("tables"))?,
                columns: Vec::new(),
                indexes: Vec::new(),
                constraints: Vec::new(),
            },
        );
    }
    let oids: Vec<u32> = tables.keys().copied().collect();

    for row in client
        .query(COLUMNS, &[&oids])
        .await
        .map_err(failed("columns"))?
    {
        let oid: u32 = row.try_get(0).map_err(unexpected("columns"))?;
        if let Some(t) = tables.get_mut(&oid) {
            t.columns.push(ColumnSchema {
                name: row.try_get(1).map_err(unexpected("columns"))?,
                data_type: row.try_get(2).map_err(unexpected("columns"))?,
                not_null: row.try_get(3).map_err(unexpected("columns"))?,
            });
        }
    }
    for (oid, index) in definitions(client, INDEXES, &oids, "indexes").await? {
        if let Some(t) = tables.get_mut(&oid) {
            t.indexes.push(index);
        }
    }
    for (oid, constraint) in definitions(client, CONSTRAINTS, &oids, "constraints").await? {
        if let Some(t) = tables.get_mut(&oid) {
            t.constraints.push(constraint);
        }
    }

    let mut tables: Vec<TableSchema> = tables.into_values().collect();
    for t in &mut tables {
        t.indexes.sort_by(|a, b| a.name.cmp(&b.name));
        t.constraints.sort_by(|a, b| a.name.cmp(&b.name));
    }
    // Sorted here rather than in SQL: byte order, whatever the databases' collations.
    tables.sort_by(|a, b| (&a.schema, &a.name).cmp(&(&b.schema, &b.name)));
    let mut schemas = schemas.to_vec();
    schemas.sort();
    Ok(SchemaSnapshot { schemas, tables })
}

/// (table oid, name, definition) rows of the `INDEXES` or `CONSTRAINTS` query.
async fn definitions(
    client: &tokio_postgres::Client,
    sql: &str,
    oids: &[u32],
    what: &str,
) -> Result<Vec<(u32, NamedDefinition)>, String> {
    let rows = client
        .query(sql, &[&oids])
        .await
        .map_err(|e| format!("cannot read the {what} from the catalog: {}", db_error(&e)))?;
    let unexpected = |e: tokio_postgres::Error| format!("unexpected {what} from the catalog: {e}");
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get(0).map_err(unexpected)?,
                NamedDefinition {
                    name: row.try_get(1).map_err(unexpected)?,
                    definition: row.try_get(2).map_err(unexpected)?,
                },
            ))
        })
        .collect()
}

/// The `schema` check: the restored target's schema against the reference's.
pub(crate) async fn run(
    schemas: &[String],
    reference: &Reference,
    cx: &CheckContext,
) -> Result<Vec<Finding>, String> {
    // The reference first: a misconfigured reference is reported without touching the target.
    let expected = reference_snapshot(schemas, reference, cx).await?;
    let client = cx.target.client().await?;
    let found = snapshot(&client, schemas)
        .await
        .map_err(|e| format!("cannot read the restored schema: {e}"))?;
    Ok(compare(&expected, &found))
}

/// The schema the restore should have, from whichever reference the drill names.
async fn reference_snapshot(
    schemas: &[String],
    reference: &Reference,
    cx: &CheckContext,
) -> Result<SchemaSnapshot, String> {
    let target = match reference {
        Reference::Manifest(path) => {
            let manifest = Manifest::load(path)?;
            let Some(mut snapshot) = manifest.schema else {
                return Err(format!(
                    "the manifest {} holds no schema; record one with `restore-drill manifest --schema ...`",
                    path.display()
                ));
            };
            // A manifest may cover more schemas than this check asks about, but not fewer:
            // every table of an unrecorded schema would look "extra".
            if let Some(missing) = schemas.iter().find(|s| !snapshot.schemas.contains(s)) {
                return Err(format!(
                    "the manifest {} does not cover schema \"{missing}\" (it has: {}); record it with `restore-drill manifest --schema {missing}`",
                    path.display(),
                    snapshot.schemas.join(", ")
                ));
            }
            snapshot.tables.retain(|t| schemas.contains(&t.schema));
            return Ok(snapshot);
        }
        other => reference_target(other, cx)?,
    };
    let client = target.client().await?;
    snapshot(&client, schemas)
        .await
        .map_err(|e| format!("cannot read the reference schema: {e}"))
}

/// Every difference between the reference (`expected`) and the restore (`found`), table by
/// table in (schema, name) order; within a table columns, then indexes, then constraints.
fn compare(expected: &SchemaSnapshot, found: &SchemaSnapshot) -> Vec<Finding> {
    fn by_name(s: &SchemaSnapshot) -> BTreeMap<(&str, &str), &TableSchema> {
        s.tables
            .iter()
            .map(|t| ((t.schema.as_str(), t.name.as_str()), t))
            .collect()
    }
    let (want, have) = (by_name(expected), by_name(found));
    let keys: BTreeSet<(&str, &str)> = want.keys().chain(have.keys()).copied().collect();

    let mut findings = Vec::new();
    for key in keys {
        let object = format!("table {}.{}", key.0, key.1);
        match (want.get(&key), have.get(&key)) {
            (Some(_), None) => findings.push(finding(
                "missing",
                object,
                "present",
                "absent",
                "the restored database lacks this table",
            )),
            (None, Some(_)) => findings.push(finding(
                "extra",
                object,
                "absent",
                "present",
                "the restored database has an extra table, absent from the reference",
            )),
            (Some(w), Some(h)) => compare_table(w, h, &mut findings),
            (None, None) => {}
        }
    }
    findings
}

fn compare_table(want: &TableSchema, have: &TableSchema, findings: &mut Vec<Finding>) {
    let qualified = format!("{}.{}", want.schema, want.name);

    // Columns in the reference's order, then the restore's extra ones in its order.
    let have_columns: HashMap<&str, &ColumnSchema> =
        have.columns.iter().map(|c| (c.name.as_str(), c)).collect();
    for w in &want.columns {
        let object = format!("column {qualified}.{}", w.name);
        match have_columns.get(w.name.as_str()) {
            None => findings.push(finding(
                "missing",
                object,
                &describe(w),
                "absent",
                "the restored table lacks this column",
            )),
            Some(h) if h.data_type != w.data_type || h.not_null != w.not_null => {
                let message = match (h.data_type != w.data_type, h.not_null != w.not_null) {
                    (true, true) => "the column's type and nullability differ from the reference",
                    (true, false) => "the column's type differs from the reference",
                    _ => "the column's nullability differs from the reference",
                };
                findings.push(finding(
                    "changed",
                    object,
                    &describe(w),
                    &describe(h),
                    message,
                ));
            }
            Some(_) => {}
        }
    }
    let want_columns: BTreeSet<&str> = want.columns.iter().map(|c| c.name.as_str()).collect();
    for h in have
        .columns
        .iter()
        .filter(|h| !want_columns.contains(h.name.as_str()))
    {
        findings.push(finding(
            "extra",
            format!("column {qualified}.{}", h.name),
            "absent",
            &describe(h),
            "the restored table has an extra column, absent from the reference",
        ));
    }

    // Index names are unique per schema, constraint names only per table.
    compare_definitions(
        &want.indexes,
        &have.indexes,
        |name| format!("index {}.{name}", want.schema),
        "index",
        findings,
    );
    compare_definitions(
        &want.constraints,
        &have.constraints,
        |name| format!("constraint {qualified}.{name}"),
        "constraint",
        findings,
    );
}

/// Missing, extra and changed items of two name → definition lists, in name order (whatever
/// order a hand-edited manifest lists them in).
fn compare_definitions(
    want: &[NamedDefinition],
    have: &[NamedDefinition],
    object: impl Fn(&str) -> String,
    what: &str,
    findings: &mut Vec<Finding>,
) {
    fn map(items: &[NamedDefinition]) -> BTreeMap<&str, &str> {
        items
            .iter()
            .map(|i| (i.name.as_str(), i.definition.as_str()))
            .collect()
    }
    let (want, have) = (map(want), map(have));
    let names: BTreeSet<&str> = want.keys().chain(have.keys()).copied().collect();
    for name in names {
        match (want.get(name), have.get(name)) {
            (Some(w), None) => findings.push(finding(
                "missing",
                object(name),
                w,
                "absent",
                &format!("the restored table lacks this {what}"),
            )),
            (None, Some(h)) => findings.push(finding(
                "extra",
                object(name),
                "absent",
                h,
                &format!("the restored table has an extra {what}, absent from the reference"),
            )),
            (Some(w), Some(h)) if w != h => findings.push(finding(
                "changed",
                object(name),
                w,
                h,
                &format!("the {what} is defined differently from the reference"),
            )),
            _ => {}
        }
    }
}

/// A column as findings show it: `numeric(10,2) not null`, `integer null`.
fn describe(c: &ColumnSchema) -> String {
    let nullability = if c.not_null { "not null" } else { "null" };
    format!("{} {nullability}", c.data_type)
}

fn finding(kind: &str, object: String, expected: &str, found: &str, message: &str) -> Finding {
    Finding {
        kind: kind.to_owned(),
        object,
        expected: expected.to_owned(),
        found: found.to_owned(),
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, data_type: &str, not_null: bool) -> ColumnSchema {
        ColumnSchema {
            name: name.into(),
            data_type: data_type.into(),
            not_null,
        }
    }

    fn def(name: &str, definition: &str) -> NamedDefinition {
        NamedDefinition {
            name: name.into(),
            definition: definition.into(),
        }
    }

    fn orders() -> TableSchema {
        TableSchema {
            schema: "public".into(),
            name: "orders".into(),
            columns: vec![
                column("id", "bigint", true),
                column("amount", "numeric(10,2)", true),
            ],
            indexes: vec![def(
                "orders_pkey",
                "CREATE UNIQUE INDEX orders_pkey ON public.orders USING btree (id)",
            )],
            constraints: vec![def("orders_pkey", "PRIMARY KEY (id)")],
        }
    }

    #[test]
    fn identical_snapshots_have_no_findings() {
        let s = SchemaSnapshot {
            schemas: vec!["public".into()],
            tables: vec![orders()],
        };
        assert_eq!(compare(&s, &s.clone()), Vec::new());
    }

    #[test]
    fn every_difference_is_one_finding_in_a_fixed_order() {
        let want = SchemaSnapshot {
            schemas: vec!["public".into()],
            tables: vec![orders()],
        };
        let mut changed = orders();
        changed.columns[1] = column("amount", "integer", false);
        changed.columns.push(column("note", "text", false));
        changed.indexes.clear();
        changed
            .constraints
            .push(def("orders_note_check", "CHECK ((note <> ''::text))"));
        let mut extra = orders();
        extra.name = "audit".into();
        let have = SchemaSnapshot {
            schemas: vec!["public".into()],
            tables: vec![changed, extra],
        };
        let got: Vec<(String, String, String, String)> = compare(&want, &have)
            .into_iter()
            .map(|f| (f.kind, f.object, f.expected, f.found))
            .collect();
        let row = |k: &str, o: &str, e: &str, f: &str| (k.into(), o.into(), e.into(), f.into());
        assert_eq!(
            got,
            vec![
                row("extra", "table public.audit", "absent", "present"),
                row(
                    "changed",
                    "column public.orders.amount",
                    "numeric(10,2) not null",
                    "integer null"
                ),
                row("extra", "column public.orders.note", "absent", "text null"),
                row(
                    "missing",
                    "index public.orders_pkey",
                    "CREATE UNIQUE INDEX orders_pkey ON public.orders USING btree (id)",
                    "absent"
                ),
                row(
                    "extra",
                    "constraint public.orders.orders_note_check",
                    "absent",
                    "CHECK ((note <> ''::text))"
                ),
            ]
        );
    }
}
