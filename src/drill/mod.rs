//! The drill definition: strict serde types, validation into a checked `DrillPlan`, tiers,
//! schedules and time expressions.

mod diag;
mod expect;
mod files;
mod load;
mod plan;
mod raw;
mod render;
mod schedule;
mod tier;
mod time;
mod validate;

pub use diag::{Diagnostic, Severity};
pub use expect::{Expect, Op};
pub use files::{FindError, find_drill_files, load_drill, load_drills};
pub use plan::*;
pub use render::render_plan;
pub use schedule::{Cron, Schedule};
pub use tier::{TIERS_FILE, Tier, TierCatalog};
pub use time::{
    IncidentAt, MAX_DURATION, PointSpec, after, human, human_latency, human_seconds,
    parse_time_arg, parse_timestamp, parse_until_arg,
};
pub use validate::{Checked, SAMPLE_RUN_ID, check_drill, render_template, sha256_hex};
