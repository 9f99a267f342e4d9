//! Tiers: the RPO/RTO targets a drill is judged against, and the longest allowed gap between
//! two passing drills. Built in: gold, silver, bronze. A `tiers.toml` beside the drill files
//! can redefine them or add new ones:
//!
//! ```toml
//! [tier.platinum]
//! rpo = "1m"
//! rto = "5m"
//! max_interval = "7d"
//! description = "payments ledger"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::de::DeValue;

use super::diag::{Diagnostic, Diags, Source};
use super::load::{de, parse_toml};
use super::raw::RawTier;
use super::time::parse_duration;

/// The file name looked for beside drill files.
pub const TIERS_FILE: &str = "tiers.toml";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier {
    pub name: String,
    pub rpo: Duration,
    pub rto: Duration,
    /// The longest allowed interval between two passing drills of this tier.
    pub max_interval: Duration,
    pub description: Option<String>,
    /// `None` for a built-in tier, else the `tiers.toml` that defined it.
    pub defined_in: Option<PathBuf>,
}

/// Every tier a drill may name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierCatalog {
    tiers: BTreeMap<String, Tier>,
}

const MIN: u64 = 60;
const HOUR: u64 = 60 * MIN;
const DAY: u64 = 24 * HOUR;

impl Default for TierCatalog {
    fn default() -> Self {
        let builtin = |name: &str, rpo: u64, rto: u64, days: u64| Tier {
            name: name.to_owned(),
            rpo: Duration::from_secs(rpo),
            rto: Duration::from_secs(rto),
            max_interval: Duration::from_secs(days * DAY),
            description: None,
            defined_in: None,
        };
        let tiers = [
            builtin("gold", 5 * MIN, 15 * MIN, 30),
            builtin("silver", HOUR, 4 * HOUR, 90),
            builtin("bronze", 24 * HOUR, 24 * HOUR, 90),
        ];
        TierCatalog {
            tiers: tiers.into_iter().map(|t| (t.name.clone(), t)).collect(),
        }
    }
}

impl TierCatalog {
    pub fn get(&self, name: &str) -> Option<&Tier> {
        self.tiers.get(name)
    }

    pub fn names(&self) -> Vec<&str> {
        self.tiers.keys().map(String::as_str).collect()
    }

    /// The built-in tiers, updated by `dir/tiers.toml` when there is one. Problems in that file
    /// come back as diagnostics naming it.
    pub fn for_dir(dir: &Path) -> Result<Self, Vec<Diagnostic>> {
        let path = dir.join(TIERS_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::default().with_file(&path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(vec![Diagnostic {
                severity: super::diag::Severity::Error,
                file: path.display().to_string(),
                line: 1,
                column: 1,
                context: String::new(),
                message: format!("cannot read the tiers file: {e}"),
            }]),
        }
    }

    /// Adds or replaces the tiers defined in a `tiers.toml` text.
    pub fn with_file(mut self, path: &Path, text: &str) -> Result<Self, Vec<Diagnostic>> {
        let source = Source {
            name: path.display().to_string(),
            text,
        };
        let mut diags = Diags::new(&source);
        if let Some(root) = parse_toml(&mut diags, text) {
            let root_span = root.span();
            let mut root = root.into_inner();
            let tiers = root.remove("tier");
            for (key, _) in root.iter() {
                diags.error(
                    key.span(),
                    "",
                    format!(
                        "unknown key \"{}\" (tiers are defined as [tier.NAME] tables)",
                        key.get_ref()
                    ),
                );
            }
            match tiers.map(|t| (t.span(), t.into_inner())) {
                Some((_, DeValue::Table(table))) => {
                    for (name, value) in table {
                        let context = format!("tier \"{}\"", name.get_ref());
                        if !valid_tier_name(name.get_ref()) {
                            diags.error(
                                name.span(),
                                &context,
                                "a tier name uses only lowercase letters, digits, \"-\" and \"_\"",
                            );
                        }
                        let Some(raw) = de::<RawTier>(&mut diags, value, &context, &[]) else {
                            continue;
                        };
                        let mut duration =
                            |t: &toml::Spanned<String>, what: &str| match parse_duration(
                                t.get_ref(),
                            ) {
                                Ok(d) if d.is_zero() => {
                                    diags.error(
                                        t.span(),
                                        &context,
                                        format!("key \"{what}\": must be more than zero"),
                                    );
                                    None
                                }
                                Ok(d) => Some(d),
                                Err(e) => {
                                    diags.error(t.span(), &context, format!("key \"{what}\": {e}"));
                                    None
                                }
                            };
                        let (rpo, rto, max_interval) = (
                            duration(&raw.rpo, "rpo"),
                            duration(&raw.rto, "rto"),
                            duration(&raw.max_interval, "max_interval"),
                        );
                        if let (Some(rpo), Some(rto), Some(max_interval)) = (rpo, rto, max_interval)
                        {
                            let name = name.get_ref().to_string();
                            self.tiers.insert(
                                name.clone(),
                                Tier {
                                    name,
                                    rpo,
                                    rto,
                                    max_interval,
                                    description: raw.description.map(|d| d.into_inner()),
                                    defined_in: Some(path.to_owned()),
                                },
                            );
                        }
                    }
                }
                Some((span, other)) => diags.error(
                    span,
                    "",
                    format!(
                        "key \"tier\": expected a table of tiers, found {}",
                        other.type_str()
                    ),
                ),
                None => diags.error(
                    root_span.start..root_span.start,
                    "",
                    "no [tier.NAME] tables in the file",
                ),
            }
        }
        if diags.has_errors() {
            Err(diags.into_sorted())
        } else {
            Ok(self)
        }
    }
}

fn valid_tier_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins() {
        let c = TierCatalog::default();
        let gold = c.get("gold").unwrap();
        assert_eq!((gold.rpo.as_secs(), gold.rto.as_secs()), (300, 900));
        assert_eq!(gold.max_interval.as_secs(), 30 * DAY);
        assert_eq!(c.get("silver").unwrap().rto.as_secs(), 4 * HOUR);
        assert_eq!(c.get("bronze").unwrap().max_interval.as_secs(), 90 * DAY);
    }

    #[test]
    fn a_file_adds_and_redefines() {
        let text = "[tier.platinum]\nrpo = \"1m\"\nrto = \"5m\"\nmax_interval = \"7d\"\n\n[tier.gold]\nrpo = \"2m\"\nrto = \"15m\"\nmax_interval = \"30d\"\n";
        let c = TierCatalog::default()
            .with_file(Path::new("tiers.toml"), text)
            .unwrap();
        assert_eq!(c.get("platinum").unwrap().rto.as_secs(), 300);
        assert_eq!(c.get("gold").unwrap().rpo.as_secs(), 120);
        assert_eq!(c.get("silver").unwrap().rpo.as_secs(), HOUR);
    }

    #[test]
    fn a_bad_file_names_every_problem() {
        let text = "[tier.fast]\nrpo = \"1m\"\nrto = \"-5m\"\nmax_interval = \"7d\"\n\n[tier.slow]\nrpo = \"1h\"\nrto = \"4h\"\nmax_intervall = \"7d\"\n";
        let errs = TierCatalog::default()
            .with_file(Path::new("tiers.toml"), text)
            .unwrap_err();
        let msgs: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(
            msgs,
            [
                "tiers.toml:3:7: tier \"fast\": key \"rto\": duration \"-5m\" is negative; durations must be positive",
                "tiers.toml:9:1: tier \"slow\": unknown key \"max_intervall\" (did you mean \"max_interval\"?)",
            ]
        );
    }
}
