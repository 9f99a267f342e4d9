//! No input makes the drill reader panic: random text, every truncation of every example, and
//! random byte edits of them all come back as a plan or as diagnostics, never a crash. And the
//! two agree: a plan exactly when there is no error.

use std::path::Path;

use proptest::prelude::*;
use restore_drill::drill::{Checked, Severity, TierCatalog, check_drill};

fn examples() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("drills");
    let mut texts: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    texts.push(
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/invalid/three-problems.toml"),
        )
        .unwrap(),
    );
    texts
}

fn consistent(c: &Checked) -> bool {
    let errors = c.diagnostics.iter().any(|d| d.severity == Severity::Error);
    c.plan.is_some() != errors && c.diagnostics.iter().all(|d| d.line >= 1 && d.column >= 1)
}

fn tiers() -> TierCatalog {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("drills/tiers.toml"))
            .unwrap();
    TierCatalog::default()
        .with_file(Path::new("drills/tiers.toml"), &text)
        .unwrap()
}

#[test]
fn every_truncation_of_every_example_is_handled() {
    let tiers = tiers();
    let mut checked = 0;
    for text in examples() {
        for end in (0..=text.len()).filter(|i| text.is_char_boundary(*i)) {
            let c = check_drill(Path::new("drills/t.toml"), &text[..end], &tiers);
            assert!(consistent(&c), "inconsistent at {end}: {:?}", c.diagnostics);
            checked += 1;
        }
    }
    assert!(checked > 5_000, "{checked}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn random_text_is_handled(text in "\\PC*") {
        let c = check_drill(Path::new("x.toml"), &text, &TierCatalog::default());
        prop_assert!(consistent(&c));
    }

    #[test]
    fn random_toml_like_text_is_handled(
        lines in proptest::collection::vec(
            prop_oneof![
                Just("[[restore]]".to_owned()),
                Just("[[check]]".to_owned()),
                Just("[provider]".to_owned()),
                Just("[restore.target]".to_owned()),
                Just("[restore.connect]".to_owned()),
                "[a-z_]{1,12} = \"[a-z0-9 :{}_/*-]{0,16}\"",
                "[a-z_]{1,12} = [0-9-]{1,6}",
                "(kind|id|restore|tier|name|schedule|to|source|bucket|prefix) = \"[a-z0-9_ -]{0,12}\"",
                Just("kind = \"rds_pitr\"".to_owned()),
                Just("kind = \"s3_versions\"".to_owned()),
                Just("kind = \"aws\"".to_owned()),
                Just("security_groups = [\"sg\", 1]".to_owned()),
                Just("reference = { restore = \"x\" }".to_owned()),
            ],
            0..40,
        )
    ) {
        let text = lines.join("\n");
        let c = check_drill(Path::new("x.toml"), &text, &TierCatalog::default());
        prop_assert!(consistent(&c));
    }

    #[test]
    fn byte_edits_of_examples_are_handled(which in 0usize..8, edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6)) {
        let all = examples();
        let mut bytes = all[which % all.len()].clone().into_bytes();
        for (at, b) in edits {
            let i = at % bytes.len();
            bytes[i] = b;
        }
        // Only text reaches the parser (the file loader refuses non-UTF-8 first).
        let text = String::from_utf8_lossy(&bytes);
        let c = check_drill(Path::new("x.toml"), &text, &tiers());
        prop_assert!(consistent(&c));
    }
}
