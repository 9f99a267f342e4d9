//! What a bundle says about itself: `bundle.json`, the machine-readable index. The index
//! pages are rendered from this value (and the runs' own reports); `verify` reads the chain
//! anchor and the runs' history rows from it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::report::{Operator, RunReport};

/// `bundle.json`'s `format`. A reader refuses a bundle of another format.
pub const FORMAT: &str = "restore-drill-evidence/1";
pub const BUNDLE_FILE: &str = "bundle.json";
pub const INDEX_MD: &str = "index.md";
pub const INDEX_HTML: &str = "index.html";
/// Where run folders go in a bundle: `runs/<drill>/<run_id>/`.
pub const RUNS_DIR: &str = "runs";
/// Where copied drill files go: `drills/<sha256>/<file name>`.
pub const DRILLS_DIR: &str = "drills";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleInfo {
    pub format: String,
    pub tool_version: String,
    pub created_at: DateTime<Utc>,
    /// Who ran the export.
    pub exported_by: Operator,
    /// The key that signed `MANIFEST.sha256`, `ed25519:<hex>`.
    pub signing_key: String,
    pub period: Period,
    /// The reports folder the bundle was made from, as given.
    pub reports: String,
    pub history: HistoryInfo,
    pub runs: Vec<RunEntry>,
    pub drills: Vec<DrillCoverage>,
    pub controls: Vec<ControlResult>,
    /// Problems found while exporting (tampered sources, missing reports). A bundle with
    /// problems is still written: it is the evidence of them.
    pub problems: Vec<String>,
}

/// The runs a bundle covers: started within `since..=until`, of one drill or all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub since: Option<DateTime<Utc>>,
    pub until: DateTime<Utc>,
    pub drill: Option<String>,
}

impl Period {
    pub fn contains(&self, drill: &str, t: DateTime<Utc>) -> bool {
        self.drill.as_deref().is_none_or(|d| d == drill)
            && self.since.is_none_or(|s| s <= t)
            && t <= self.until
    }
}

/// The history stretch in the bundle (see `chain`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryInfo {
    pub file: String,
    /// Where the rows came from: the source file's first and last line kept.
    pub source_first_line: Option<usize>,
    pub source_last_line: Option<usize>,
    /// The `prev_hash` of the first row: 64 zeros when the stretch starts the chain.
    pub anchor: String,
    pub rows: usize,
    pub rows_in_period: usize,
    /// What was wrong with the whole source history when the bundle was made.
    pub problems_at_export: Vec<String>,
    /// Every row in the bundle's history file, for the index.
    pub lines: Vec<HistoryLine>,
}

/// One row of the bundle's history file; the fields are `None` for a line that is not a
/// readable row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryLine {
    /// Its line in the bundle's `history.csv` (the header is line 1).
    pub line: usize,
    pub drill: Option<String>,
    pub run_id: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub verdict: Option<String>,
    pub in_period: bool,
}

/// One run in the bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunEntry {
    pub drill: String,
    pub run_id: String,
    pub started_at: DateTime<Utc>,
    pub tier: String,
    pub verdict: String,
    /// Its line in the bundle's `history.csv`; `None`: the run is not in the history, so its
    /// record is not hash-chained.
    pub history_line: Option<usize>,
    pub row_hash: Option<String>,
    /// Its folder in the bundle (`runs/<drill>/<run_id>`), when its reports were found.
    pub dir: Option<String>,
    pub files: Vec<String>,
    /// SHA-256 of its `report.json` as exported.
    pub report_sha256: Option<String>,
    pub drill_file: Option<DrillFileEntry>,
    pub isolation: Vec<TargetIsolation>,
    /// What is wrong with this run's evidence.
    pub problems: Vec<String>,
    /// The run's report, for the index pages (it is in the bundle as `report.json`).
    #[serde(skip)]
    pub report: Option<RunReport>,
}

impl RunEntry {
    pub fn passed(&self) -> bool {
        self.verdict == "met"
    }

    /// `orders-db/20261121T130501Z-7f3a`.
    pub fn label(&self) -> String {
        format!("{}/{}", self.drill, self.run_id)
    }
}

/// The drill file a run used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillFileEntry {
    /// As the report records it.
    pub path: String,
    pub sha256: String,
    /// Its copy in the bundle, when the file still exists with that SHA-256.
    pub copy: Option<String>,
    /// Why there is no copy.
    pub note: Option<String>,
}

/// Whether a restore target is segregated from production (DORA Art. 12(3)), by what the
/// report recorded about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Segregation {
    Segregated,
    NotSegregated,
    NotRecorded,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetIsolation {
    pub restore: String,
    /// `kind name`, e.g. `rds_instance orders-drill-7f3a`.
    pub target: String,
    /// The isolation settings recorded, `key=value` (subnet group, security groups, public
    /// access, region, address).
    pub settings: Vec<String>,
    pub segregation: Segregation,
    /// Why it was judged so.
    pub reason: String,
}

/// How one drill was covered over the period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrillCoverage {
    pub drill: String,
    /// The tier the drill is judged by; `None` when no run or file names one.
    pub tier: Option<String>,
    /// The tier's longest allowed interval between passing runs; `None` when the tier is
    /// not known here.
    pub interval_seconds: Option<u64>,
    /// Where the tier came from: a drill file, or the drill's newest run.
    pub tier_from: String,
    /// The stretch checked for coverage: from the later of `since` and the drill's first
    /// recorded run, to `until`.
    pub window_from: Option<DateTime<Utc>>,
    pub window_to: DateTime<Utc>,
    /// Runs of the drill in the bundle.
    pub runs: usize,
    /// Passing runs of the drill in the bundle.
    pub passes: Vec<String>,
    /// The newest pass at or before the end of the period, whether in the bundle or not.
    pub last_pass: Option<DateTime<Utc>>,
    pub gaps: Vec<Gap>,
    /// Runs in the bundle that missed or failed, with no passing run after them.
    pub open_failures: Vec<String>,
    /// The newest passing run in the bundle within the 12 months before the end.
    pub annual_pass: Option<String>,
    /// `restore-drill due`'s view at the end of the period, when the drill file was found.
    pub due_at_end: Option<String>,
}

/// A stretch of the period no passing run covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    pub from: Option<DateTime<Utc>>,
    pub to: DateTime<Utc>,
    pub message: String,
}

/// One framework's control, and how the bundle answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlResult {
    pub framework: String,
    pub control: String,
    pub title: String,
    /// The requirement, paraphrased.
    pub requirement: String,
    /// What in the bundle answers it.
    pub evidence: String,
    /// `answered`, `partly answered` or `not answered`.
    pub status: String,
    /// Runs (`drill/run_id`) that answer the control.
    pub answered_by: Vec<String>,
    pub missing: Vec<String>,
}
