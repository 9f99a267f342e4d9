//! A mutation fuzzer for everything restore-drill reads from files a user or a tool wrote:
//! drill files, manifests and the run history. Seeds are the shipped examples and a valid
//! manifest and history; each round mutates a seed (byte flips, inserts of TOML/JSON/CSV
//! tokens, deletes, duplicated spans, splices of two seeds) and feeds it to the reader, which
//! must answer with a value or an error, never a panic, and (for drills) a plan exactly when
//! there is no error.
//!
//! `ci/test` runs it for a few seconds; `ci/fuzz [SECONDS]` runs it for a budget in release
//! mode and prints the executions per target. `FUZZ_SEED` replays a run.

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::time::{Duration, Instant};

use restore_drill::checks::Manifest;
use restore_drill::drill::{Severity, TierCatalog, check_drill};

/// xorshift64*: small, fast, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const TOKENS: &[&str] = &[
    "[[restore]]",
    "[[check]]",
    "[restore.target]",
    "[restore.connect]",
    "[provider]",
    "[incident]",
    "[timeouts]",
    "kind = ",
    "id = ",
    "restore = ",
    "\"",
    "'",
    "'''",
    "\"\"\"",
    "=",
    "\n",
    "{run_id}",
    "{drill}",
    "-15m",
    "latest",
    "incident",
    "2026-02-30T25:61:00Z",
    "9223372036854775808",
    "-1",
    "1e999",
    "nan",
    "inf",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    "\\u0000",
    "é",
    "👩‍🚀",
    "\u{202e}",
    "0x",
    "true",
    "null",
    "\r\n",
    "#",
    "\t",
    "\\",
];

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut b = seeds[rng.below(seeds.len())].clone();
    for _ in 0..1 + rng.below(8) {
        let at = rng.below(b.len() + 1);
        match rng.below(6) {
            0 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
            1 => {
                let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
                b.splice(at..at, t.iter().copied());
            }
            2 if !b.is_empty() => {
                let end = (at + 1 + rng.below(64)).min(b.len());
                b.drain(at.min(end)..end);
            }
            3 if !b.is_empty() => {
                let end = (at + 1 + rng.below(256)).min(b.len());
                let span: Vec<u8> = b[at.min(end)..end].to_vec();
                let to = rng.below(b.len() + 1);
                b.splice(to..to, span);
            }
            4 => {
                let other = &seeds[rng.below(seeds.len())];
                let from = rng.below(other.len() + 1);
                b.truncate(at);
                b.extend_from_slice(&other[from..]);
            }
            _ => b.insert(at.min(b.len()), rng.next() as u8),
        }
    }
    b
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn drill_seeds() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for dir in ["drills", "tests/fixtures/invalid"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "toml") {
                seeds.push(std::fs::read(p).unwrap());
            }
        }
    }
    seeds
}

const MANIFEST: &str = r#"{"format_version":1,"kind":"postgresql","taken_at":"2026-11-21T13:00:00Z",
"source":"127.0.0.1:5432/orders","tables":[{"table":"orders","key":["id"],"row_hash":"record",
"rows":3,"hash":"ab","split":"range","ranges":[{"from":null,"to":"2","rows":1,"hash":"cd"},
{"from":"2","to":null,"rows":2,"hash":"ef"}]}],"schema":{"schemas":["public"],"tables":[{"schema":
"public","name":"orders","columns":[{"name":"id","data_type":"bigint","not_null":true}],
"indexes":[{"name":"orders_pkey","definition":"CREATE UNIQUE INDEX"}],"constraints":[]}]},
"objects":[{"key":"2026/a b+%.pdf","size":12,"sha256":"00"}]}"#;

const REPORT: &str = r#"{"format_version":1,"tool_version":"fuzz","drill":{"name":"orders",
"file":"drills/orders.toml","sha256":"00"},"run_id":"20261121T130501Z-7f3a",
"started_at":"2026-11-21T13:05:01Z","finished_at":"2026-11-21T13:15:01Z","seconds":600.0,
"incident_at":"2026-11-21T13:00:00Z","tier":{"name":"gold","rto_seconds":900.0,"rpo_seconds":300.0},
"verdict":"met","verdict_reason":"met","measured":{"rto_seconds":700.0,"rpo_seconds":2.5,
"rpo_source":"data","detect_allowance_seconds":300.0},"restores":[{"id":"orders","kind":"rds_pitr",
"recovery_point":null,"target":null,"phases":[{"name":"restore","started_at":"2026-11-21T13:05:02Z",
"seconds":250.0,"polls":3,"resolution_seconds":15.0,"outcome":"ok","error":null}],
"newest_data_at":null}],"checks":[],"teardown":{"outcome":"done","leaked":[]}}"#;

fn history_seed() -> Vec<u8> {
    // A real history: written by the library, chained.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.csv");
    let report: restore_drill::report::RunReport =
        serde_json::from_str(REPORT).expect("the seed report parses");
    for _ in 0..3 {
        restore_drill::report::append_history(&path, &report, &"0".repeat(64)).unwrap();
    }
    std::fs::read(&path).unwrap()
}

struct Stats {
    execs: u64,
    errors: u64,
}

fn budget() -> Duration {
    Duration::from_secs_f64(
        std::env::var("FUZZ_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(2.0),
    )
}

fn seed_value() -> u64 {
    std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        })
}

/// Runs `one` on mutants of `seeds` for the budget; a panic fails with the input saved.
fn fuzz(name: &str, seeds: Vec<Vec<u8>>, mut one: impl FnMut(&[u8]) -> bool) {
    let s = seed_value();
    let mut rng = Rng(s);
    let mut st = Stats {
        execs: 0,
        errors: 0,
    };
    let end = Instant::now() + budget();
    while Instant::now() < end {
        for _ in 0..64 {
            let input = mutate(&mut rng, &seeds);
            let r = std::panic::catch_unwind(AssertUnwindSafe(|| one(&input)));
            st.execs += 1;
            match r {
                Ok(ok) => st.errors += u64::from(!ok),
                Err(_) => {
                    let out = std::env::temp_dir().join(format!("restore-drill-fuzz-{name}.bin"));
                    std::fs::write(&out, &input).unwrap();
                    panic!(
                        "{name}: panic on input saved to {} (FUZZ_SEED={s})",
                        out.display()
                    );
                }
            }
        }
    }
    println!(
        "fuzz {name}: {} executions in {:.0?}, {} rejected as invalid, 0 panics (FUZZ_SEED={s})",
        st.execs,
        budget(),
        st.errors
    );
}

#[test]
fn drill_files() {
    let tiers = TierCatalog::default()
        .with_file(
            Path::new("drills/tiers.toml"),
            &std::fs::read_to_string(root().join("drills/tiers.toml")).unwrap(),
        )
        .unwrap();
    fuzz("drill", drill_seeds(), |input| {
        let text = String::from_utf8_lossy(input);
        let c = check_drill(Path::new("drills/fuzz.toml"), &text, &tiers);
        let errors = c.diagnostics.iter().any(|d| d.severity == Severity::Error);
        assert_eq!(
            c.plan.is_some(),
            !errors,
            "a plan exactly when there is no error"
        );
        assert!(c.diagnostics.iter().all(|d| d.line >= 1 && d.column >= 1));
        // What a valid plan renders must not panic either.
        if let Some(p) = &c.plan {
            let _ = restore_drill::drill::render_plan(p);
        }
        !errors
    });
}

#[test]
fn manifests() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.json");
    fuzz("manifest", vec![MANIFEST.as_bytes().to_vec()], |input| {
        std::fs::write(&path, input).unwrap();
        Manifest::load(&path).is_ok()
    });
}

#[test]
fn history() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.csv");
    let seed = history_seed();
    assert!(!seed.is_empty(), "a history to start from");
    fuzz("history", vec![seed], |input| {
        std::fs::write(&path, input).unwrap();
        match restore_drill::report::read_history(&path) {
            Ok(h) => h.problems.is_empty(),
            Err(_) => false,
        }
    });
}

/// A small bundle that verifies: description, history, a run's report, the manifest of all
/// of them and its signature. `(relative path, bytes)`, the manifest and signature last.
fn bundle_seed() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = vec![
        (
            "bundle.json".into(),
            br#"{"format":"restore-drill-evidence/1","runs":[],"anchor":"0"}"#.to_vec(),
        ),
        ("history.csv".into(), history_seed()),
        (
            "runs/orders/r1/report.json".into(),
            REPORT.as_bytes().to_vec(),
        ),
    ];
    let manifest: String = files
        .iter()
        .map(|(p, b)| format!("{}  {p}\n", restore_drill::drill::sha256_hex(b)))
        .collect();
    let key = restore_drill::evidence::SecretKey::generate().unwrap();
    let sig = key.sign_file(manifest.as_bytes());
    files.push((
        restore_drill::evidence::MANIFEST.into(),
        manifest.into_bytes(),
    ));
    files.push((restore_drill::evidence::SIGNATURE.into(), sig.into_bytes()));
    files
}

/// Issue 15 item 3: everything `evidence verify` reads from a bundle folder (the manifest,
/// its signature, bundle.json, the history's chain tail, reports) is untrusted input.
#[test]
fn bundles() {
    let seed = bundle_seed();
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(seed_value() ^ 0x5eed);
    let seeds: Vec<Vec<u8>> = seed.iter().map(|(_, b)| b.clone()).collect();
    let mut n = 0u64;
    fuzz("bundle", seeds, |mutant| {
        // Each execution replaces one file of the seed bundle with a mutant.
        n += 1;
        let at = dir.path().join(format!("b{}", n % 4));
        let _ = std::fs::remove_dir_all(&at);
        let victim = rng.below(seed.len());
        for (i, (rel, bytes)) in seed.iter().enumerate() {
            let p = at.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, if i == victim { mutant } else { bytes }).unwrap();
        }
        restore_drill::evidence::verify_bundle(&at, None).is_ok_and(|v| v.holds())
    });
}

/// The seed bundle as a tar with hostile entries besides: a link out of the bundle, a path
/// with "..", a very deep path and a large declared size.
fn tar_seed() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (rel, bytes) in bundle_seed() {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, format!("bundle/{rel}"), &bytes[..])
            .unwrap();
    }
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    b.append_link(&mut h, "bundle/runs/evil", "/etc/passwd")
        .unwrap();
    let deep = format!("bundle/{}x", "d/".repeat(60));
    let mut h = tar::Header::new_gnu();
    h.set_size(1);
    h.set_cksum();
    b.append_data(&mut h, deep, &b"x"[..]).unwrap();
    let mut raw = b.into_inner().unwrap();
    // A "../" name written into a header by hand (the builder refuses it).
    let mut h = tar::Header::new_old();
    h.as_mut_bytes()[..13].copy_from_slice(b"../escape.txt");
    h.set_size(0);
    h.set_cksum();
    let end = raw.len() - 1024;
    raw.splice(end..end, h.as_bytes().iter().copied());
    raw
}

/// Issue 15 item 3: a bundle tarball is untrusted too: oversized entries, links, deep and
/// escaping paths, and damaged headers are refused or read, never a panic or a write outside.
#[test]
fn tar_archives() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.tar.gz");
    fuzz("tar", vec![tar_seed()], |input| {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, input).unwrap();
        std::fs::write(&path, gz.finish().unwrap()).unwrap();
        restore_drill::evidence::verify_bundle(&path, None).is_ok_and(|v| v.holds())
    });
    assert!(
        !dir.path().join("escape.txt").exists()
            && !dir.path().parent().unwrap().join("escape.txt").exists(),
        "nothing was written outside"
    );
}
