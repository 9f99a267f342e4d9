//! The `pg_amcheck` check: the server's own corruption checks (amcheck) on the restored
//! database's tables and B-tree indexes, run through the `pg_amcheck` client program that ships
//! with PostgreSQL 14 and later. Every problem it reports becomes one `corruption` finding; a run
//! that could not check (no program, no connection, a table that does not exist) is an error.

use std::process::Stdio;

use tokio::process::Command;

use super::context::CheckContext;
use crate::provider::local::PgEnv;
use crate::report::Finding;

/// pg_amcheck's exit status when everything was checked and nothing was wrong.
const EXIT_CLEAN: i32 = 0;
/// Its exit status when it checked and found corruption. Any other status (1: bad arguments,
/// no connection, no such table, a lost connection) means it could not do the whole check.
const EXIT_CORRUPTION: i32 = 2;

/// Seconds libpq waits to connect, as long as the checks' own driver connection waits.
const CONNECT_TIMEOUT_SECS: &str = "5";

pub(crate) async fn run(
    heapallindexed: bool,
    tables: &[String],
    cx: &CheckContext,
) -> Result<Vec<Finding>, String> {
    let pg = PgEnv::find(cx.pg_bin_dir.as_deref()).map_err(|e| e.to_string())?;
    let program = pg.bin_dir.join("pg_amcheck");
    if !program.is_file() {
        return Err(format!(
            "pg_amcheck not found in {} (it ships with the PostgreSQL 14 and later server packages)",
            pg.bin_dir.display()
        ));
    }
    let target = &cx.target;
    // Not `PgEnv::command`: that runs as the server's user, and pg_amcheck is only a client.
    let mut cmd = Command::new(&program);
    cmd.args(["-h", &target.host])
        .args(["-p", &target.port.to_string()])
        .args(["-U", &target.user])
        // Never prompt: without a terminal a password prompt would hang until the timeout.
        .arg("--no-password")
        // The restored target is ours to change, and without amcheck nothing is checked:
        // pg_amcheck would only warn, skip the database, and fail with "no relations".
        .arg("--install-missing");
    if heapallindexed {
        cmd.arg("--heapallindexed");
    }
    if tables.is_empty() {
        cmd.arg("--no-strict-names");
    }
    for table in tables {
        cmd.arg("--table").arg(table);
    }
    // The database as a connection string rather than `--database`, which takes a pattern
    // (case-folded, with wildcards) and first connects to a maintenance database.
    cmd.arg(dbname_conninfo(&target.database));
    // The child connects only where the check says, as the driver does, whatever PG*
    // variables (PGHOSTADDR, PGSERVICE, PGOPTIONS, …) the user's environment holds.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PG") {
            cmd.env_remove(&key);
        }
    }
    // The password goes to the child's environment only: never into its arguments, which
    // any user can read in `ps`, nor into a message.
    if let Some(password) = &target.password {
        cmd.env("PGPASSWORD", password);
    }
    cmd.env("PGCONNECT_TIMEOUT", CONNECT_TIMEOUT_SECS)
        // The headers we parse are translated by the client's locale.
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // The engine bounds the verify phase by dropping this future: the child goes with it.
        .kill_on_drop(true);
    let out = cmd
        .output()
        .await
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    match out.status.code() {
        Some(EXIT_CLEAN) => Ok(parse_report(&stdout, &target.database)),
        Some(EXIT_CORRUPTION) => {
            let findings = parse_report(&stdout, &target.database);
            if findings.is_empty() {
                // It said "corrupt" but printed nothing we understand: still not a pass.
                let said = format!("{}\n{}", stdout.trim(), error_text(&out.stderr));
                return Ok(vec![Finding {
                    kind: "corruption".into(),
                    object: format!("database {}", target.database),
                    expected: "no corruption".into(),
                    found: "pg_amcheck reported corruption".into(),
                    message: said.trim().to_owned(),
                }]);
            }
            Ok(findings)
        }
        _ => {
            let mut said = error_text(&out.stderr);
            if said.is_empty() {
                said = stdout.trim().to_owned();
            }
            Err(format!(
                "pg_amcheck could not check database \"{}\" on {}:{} ({}): {said}",
                target.database, target.host, target.port, out.status
            ))
        }
    }
}

/// `dbname='…'`, quoted for libpq, so that any database name is taken literally.
fn dbname_conninfo(database: &str) -> String {
    let quoted = database.replace('\\', "\\\\").replace('\'', "\\'");
    format!("dbname='{quoted}'")
}

/// What pg_amcheck said on stderr, trimmed, without the server's notices (such as "extension
/// amcheck already exists"), which only bury the error.
fn error_text(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter(|l| !l.starts_with("NOTICE:"))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}

/// Turns pg_amcheck's report into findings, one per problem, in its order. The report is a
/// header line per problem (`heap table "db.schema.t", block 0, offset 1:` or `btree index
/// "db.schema.i":`) followed by the detail lines, indented.
fn parse_report(stdout: &str, database: &str) -> Vec<Finding> {
    let mut problems: Vec<(String, Vec<String>)> = Vec::new();
    for line in stdout.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if let Some(object) = header(line, database) {
            problems.push((object, Vec::new()));
            continue;
        }
        // A detail line with no header before it is kept all the same: dropping what the
        // checker said could turn damage into a pass.
        if problems.is_empty() {
            problems.push((format!("database {database}"), Vec::new()));
        }
        if let Some((_, details)) = problems.last_mut() {
            details.push(line.trim().to_owned());
        }
    }
    problems
        .into_iter()
        .map(|(object, details)| Finding {
            kind: "corruption".into(),
            object,
            expected: "no corruption".into(),
            found: details
                .first()
                .cloned()
                .unwrap_or_else(|| "a problem, without detail".into()),
            message: details.join(" "),
        })
        .collect()
}

/// The object a header line names, as `heap table public.t, block 0, offset 1` or `btree index
/// public.t_pkey` (the database prefix dropped: a check is about one database); `None` if the
/// line is not a header.
fn header(line: &str, database: &str) -> Option<String> {
    if line.starts_with(char::is_whitespace) {
        return None;
    }
    let (kind, rest) = ["heap table", "btree index"].into_iter().find_map(|kind| {
        let rest = line.strip_prefix(kind)?.strip_prefix(" \"")?;
        Some((kind, rest))
    })?;
    let rest = rest.strip_suffix(':')?;
    // The last quote closes the name: names may hold quotes and dots, the place never does.
    let close = rest.rfind('"')?;
    let (name, place) = (&rest[..close], &rest[close + 1..]);
    let place_ok = place.split(", ").skip(1).all(|part| {
        part.split_once(' ').is_some_and(|(word, n)| {
            word.chars().all(|c| c.is_ascii_lowercase()) && n.parse::<u64>().is_ok()
        })
    });
    if !(place.is_empty() || (place.starts_with(", ") && place_ok)) {
        return None;
    }
    let name = name
        .strip_prefix(database)
        .and_then(|n| n.strip_prefix('.'))
        .unwrap_or(name);
    Some(format!("{kind} {name}{place}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What pg_amcheck 15 printed (stdout) on a database with a swapped pair of keys in the
    /// first leaf of `t_pkey`, then on one where a tuple's xmin was set in the future, and
    /// then (made up in the same format) an attribute-level problem and an error on a table.
    const SAMPLE: &str = r#"btree index "postgres.public.t_pkey":
    ERROR:  item order invariant violated for index "t_pkey"
    DETAIL:  Lower index tid=(1,2) (points to heap tid=(0,1)) higher index tid=(1,3) (points to heap tid=(0,2)) page lsn=0/1543BF0.
heap table "postgres.public.t", block 0, offset 1:
    xmin 100000 equals or exceeds next valid transaction ID 0:732
heap table "postgres.public.t", block 3, offset 7, attribute 2:
    toast value 16400 not found in toast table
heap table "postgres.sales.Odd.Name":
    ERROR:  could not read block 9 in file "base/5/16500": read only 0 of 8192 bytes
"#;

    #[test]
    fn parses_real_pg_amcheck_output() {
        let f = parse_report(SAMPLE, "postgres");
        let objects: Vec<&str> = f.iter().map(|f| f.object.as_str()).collect();
        assert_eq!(
            objects,
            [
                "btree index public.t_pkey",
                "heap table public.t, block 0, offset 1",
                "heap table public.t, block 3, offset 7, attribute 2",
                "heap table sales.Odd.Name",
            ]
        );
        assert!(f.iter().all(|f| f.kind == "corruption"));
        assert!(f.iter().all(|f| f.expected == "no corruption"));
        assert_eq!(
            f[0].found,
            "ERROR:  item order invariant violated for index \"t_pkey\""
        );
        assert_eq!(
            f[0].message,
            "ERROR:  item order invariant violated for index \"t_pkey\" DETAIL:  Lower index tid=(1,2) (points to heap tid=(0,1)) higher index tid=(1,3) (points to heap tid=(0,2)) page lsn=0/1543BF0."
        );
        assert_eq!(
            f[1].found,
            "xmin 100000 equals or exceeds next valid transaction ID 0:732"
        );
        assert_eq!(f[1].message, f[1].found);
        assert!(f[3].found.starts_with("ERROR:  could not read block 9"));
    }

    #[test]
    fn a_clean_run_has_no_findings() {
        assert!(parse_report("", "postgres").is_empty());
        assert!(parse_report("\n\n", "postgres").is_empty());
    }

    #[test]
    fn keeps_what_it_cannot_place() {
        let f = parse_report("something went wrong\n    and more\n", "db");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].object, "database db");
        assert_eq!(f[0].found, "something went wrong");
        assert_eq!(f[0].message, "something went wrong and more");
    }

    #[test]
    fn headers_keep_names_with_dots_and_other_databases() {
        assert_eq!(
            header("btree index \"my.db.public.i\":", "my.db").as_deref(),
            Some("btree index public.i")
        );
        assert_eq!(
            header("btree index \"other.public.i\":", "my.db").as_deref(),
            Some("btree index other.public.i")
        );
        assert_eq!(header("    btree index \"db.public.i\":", "db"), None);
        assert_eq!(header("heap table \"db.public.t\", soon:", "db"), None);
        assert_eq!(header("heap table \"db.public.t\"", "db"), None);
    }

    #[test]
    fn quotes_the_database_for_libpq() {
        assert_eq!(dbname_conninfo("postgres"), "dbname='postgres'");
        assert_eq!(dbname_conninfo(r"a'b\c"), r"dbname='a\'b\\c'");
    }
}
