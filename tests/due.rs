//! `due` with a fake clock: hand-written drills and history rows, checked on both sides of
//! every boundary (one minute before a drill falls due, one minute after).

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use restore_drill::drill::{DrillPlan, TierCatalog, check_drill};
use restore_drill::report::{DueRow, DueState, HistoryRow, due};

/// The smallest valid drill with this name, tier and schedule.
fn plan_in(catalog: &TierCatalog, name: &str, tier: &str, schedule: &str) -> DrillPlan {
    let text = format!(
        r#"name = "{name}"
tier = "{tier}"
schedule = "{schedule}"

[provider]
kind = "local"

[[restore]]
id = "db"
kind = "pg_pitr"
base_backups = "base"
wal_archive = "wal"
to = "incident"
[restore.connect]
database = "app"
user = "postgres"

[[check]]
restore = "db"
kind = "sql"
query = "select 1"
expect = "= 1"
"#
    );
    let checked = check_drill(Path::new("x.toml"), &text, catalog);
    let Some(plan) = checked.plan else {
        panic!("drill does not validate: {:?}", checked.diagnostics)
    };
    plan
}

fn plan(name: &str, tier: &str, schedule: &str) -> DrillPlan {
    plan_in(&TierCatalog::default(), name, tier, schedule)
}

/// A tier allowing two years between passing drills, so a cron schedule alone decides.
fn lenient_tiers() -> TierCatalog {
    let text = "[tier.archive]\nrpo = \"24h\"\nrto = \"48h\"\nmax_interval = \"800d\"\n";
    TierCatalog::default()
        .with_file(Path::new("tiers.toml"), text)
        .unwrap()
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn run(drill: &str, started_at: DateTime<Utc>, verdict: &str) -> HistoryRow {
    HistoryRow {
        drill: drill.to_owned(),
        run_id: format!("{}-0000", started_at.format("%Y%m%dT%H%M%SZ")),
        started_at,
        tier: "gold".to_owned(),
        verdict: verdict.to_owned(),
        rto_seconds: Some(600.0),
        rpo_seconds: Some(30.0),
        phases: vec![("restore".to_owned(), 500.0)],
        report_sha256: "ab".repeat(32),
        prev_hash: "00".repeat(32),
        row_hash: "cd".repeat(32),
    }
}

/// The one row `due` returns for one plan.
fn one(plan: &DrillPlan, history: &[HistoryRow], now: DateTime<Utc>) -> DueRow {
    let mut rows = due(std::slice::from_ref(plan), history, now);
    assert_eq!(rows.len(), 1, "{rows:?}");
    rows.remove(0)
}

const NOW: &str = "2026-11-21T13:00:00Z";

#[test]
fn weekly_passed_6_days_23_hours_ago_is_ok() {
    let now = at(NOW);
    let pass = now - Duration::days(6) - Duration::hours(23);
    let row = one(
        &plan("orders", "gold", "weekly"),
        &[run("orders", pass, "met")],
        now,
    );
    assert_eq!(row.state, DueState::Ok);
    assert_eq!(row.last_pass, Some(pass));
    assert_eq!(row.due_at, Some(pass + Duration::days(7)));
    assert_eq!(row.overdue_by, None);
    assert_eq!(row.last_run, Some((pass, "met".to_owned())));
    assert_eq!(
        (row.tier.as_str(), row.schedule.as_str()),
        ("gold", "weekly")
    );
}

#[test]
fn weekly_passed_7_days_1_minute_ago_is_overdue() {
    let now = at(NOW);
    let pass = now - Duration::days(7) - Duration::minutes(1);
    let plan = plan("orders", "gold", "weekly");
    let history = [run("orders", pass, "met")];
    let row = one(&plan, &history, now);
    assert_eq!(row.state, DueState::Overdue);
    assert_eq!(row.due_at, Some(pass + Duration::days(7)));
    assert_eq!(row.overdue_by, Some(Duration::minutes(1)));
    // Due exactly now counts as overdue.
    let row = one(&plan, &history, pass + Duration::days(7));
    assert_eq!(row.state, DueState::Overdue);
    assert_eq!(row.overdue_by, Some(Duration::zero()));
}

#[test]
fn gold_scheduled_quarterly_is_due_after_30_days() {
    // The tier's 30 days are shorter than the schedule's 90: the tier wins.
    let pass = at("2026-10-01T09:00:00Z");
    let gold = plan("ledger", "gold", "quarterly");
    let history = [run("ledger", pass, "met")];
    let due_at = pass + Duration::days(30);
    let before = one(&gold, &history, due_at - Duration::minutes(1));
    assert_eq!((before.state, before.due_at), (DueState::Ok, Some(due_at)));
    let after = one(&gold, &history, due_at + Duration::minutes(1));
    assert_eq!(after.state, DueState::Overdue);
    assert_eq!(after.overdue_by, Some(Duration::minutes(1)));
    // Silver allows 90 days, as long as the schedule: 90 days.
    let silver = one(&plan("ledger", "silver", "quarterly"), &history, due_at);
    assert_eq!(silver.due_at, Some(pass + Duration::days(90)));
    // Bronze allows 90 days, the weekly schedule 7: the schedule wins.
    let weekly = one(&plan("ledger", "bronze", "weekly"), &history, due_at);
    assert_eq!(weekly.due_at, Some(pass + Duration::days(7)));
}

#[test]
fn a_failed_run_after_an_old_pass_does_not_reset_the_clock() {
    let now = at(NOW);
    let pass = now - Duration::days(8);
    let failed = now - Duration::days(1);
    let missed = now - Duration::hours(2);
    // Out of order on purpose: the newest run is found by its start, not its row.
    let history = [
        run("orders", missed, "missed"),
        run("orders", pass, "met"),
        run("orders", failed, "failed"),
        run("orders", pass - Duration::days(7), "met"),
    ];
    let row = one(&plan("orders", "gold", "weekly"), &history, now);
    assert_eq!(row.state, DueState::Overdue);
    assert_eq!(row.last_pass, Some(pass));
    assert_eq!(row.due_at, Some(pass + Duration::days(7)));
    assert_eq!(row.overdue_by, Some(Duration::days(1)));
    assert_eq!(row.last_run, Some((missed, "missed".to_owned())));
}

#[test]
fn never_run_and_never_passed_are_never_run() {
    let now = at(NOW);
    // Another drill's pass counts for nothing.
    let history = [
        run("invoices", now - Duration::days(1), "met"),
        run("orders", now - Duration::days(3), "error"),
        run("orders", now - Duration::days(2), "failed"),
    ];
    let rows = due(
        &[
            plan("payments", "gold", "weekly"),
            plan("orders", "gold", "weekly"),
        ],
        &history,
        now,
    );
    let by_name = |n: &str| rows.iter().find(|r| r.drill == n).unwrap();
    let payments = by_name("payments");
    assert_eq!(payments.state, DueState::NeverRun);
    assert_eq!(
        (payments.last_pass, payments.due_at, payments.overdue_by),
        (None, None, None)
    );
    assert_eq!(payments.last_run, None, "never ran at all");
    let orders = by_name("orders");
    assert_eq!(orders.state, DueState::NeverRun);
    assert_eq!(
        orders.last_run,
        Some((now - Duration::days(2), "failed".to_owned())),
        "ran, but never passed"
    );
    assert!(
        !rows.iter().any(|r| r.drill == "invoices"),
        "no plan, no row"
    );
}

#[test]
fn cron_monday_0600_after_a_monday_0630_pass_is_due_next_monday() {
    // 2026-11-23 is a Monday; the pass at 06:30 is after that day's 06:00.
    let pass = at("2026-11-23T06:30:00Z");
    let plan = plan("orders", "gold", "0 6 * * mon");
    let history = [run("orders", pass, "met")];
    let next_monday = at("2026-11-30T06:00:00Z");
    let before = one(&plan, &history, at("2026-11-30T05:59:00Z"));
    assert_eq!(before.state, DueState::Ok);
    assert_eq!(before.due_at, Some(next_monday));
    assert_eq!(before.schedule, "cron \"0 6 * * mon\"");
    let after = one(&plan, &history, at("2026-11-30T06:01:00Z"));
    assert_eq!(after.state, DueState::Overdue);
    assert_eq!(after.overdue_by, Some(Duration::minutes(1)));
}

#[test]
fn cron_on_the_31st_skips_short_months() {
    let pass = at("2026-04-01T10:00:00Z");
    let plan = plan("invoices", "bronze", "0 0 31 * *");
    let history = [run("invoices", pass, "met")];
    // April has 30 days: the next 31st is in May.
    let due_at = at("2026-05-31T00:00:00Z");
    let before = one(&plan, &history, due_at - Duration::minutes(1));
    assert_eq!((before.state, before.due_at), (DueState::Ok, Some(due_at)));
    let after = one(&plan, &history, due_at + Duration::minutes(1));
    assert_eq!(after.state, DueState::Overdue);
}

#[test]
fn cron_on_february_29_waits_for_the_leap_year() {
    let tiers = lenient_tiers();
    let pass = at("2027-03-01T00:00:00Z");
    let plan = plan_in(&tiers, "archive", "archive", "0 0 29 2 *");
    let history = [run("archive", pass, "met")];
    let leap_day = at("2028-02-29T00:00:00Z");
    let before = one(&plan, &history, leap_day - Duration::minutes(1));
    assert_eq!(
        (before.state, before.due_at),
        (DueState::Ok, Some(leap_day))
    );
    let after = one(&plan, &history, leap_day + Duration::minutes(1));
    assert_eq!(after.state, DueState::Overdue);
    // With bronze's 90 days the tier comes first: never later than its longest interval.
    let bronze = plan_in(&tiers, "archive", "bronze", "0 0 29 2 *");
    let capped = one(&bronze, &history, leap_day);
    assert_eq!(capped.due_at, Some(pass + Duration::days(90)));
    assert_eq!(capped.state, DueState::Overdue);
}

#[test]
fn cron_quarterly_on_the_first_is_capped_by_the_tier() {
    let plan = plan("ledger", "silver", "0 6 1 */3 *");
    // Jan + Feb + Mar 2026 are exactly 90 days, so the tier's cap is April 1st 06:10; the
    // schedule's 06:00 comes first.
    let pass = at("2026-01-01T06:10:00Z");
    let row = one(&plan, &[run("ledger", pass, "met")], at(NOW));
    assert_eq!(row.due_at, Some(at("2026-04-01T06:00:00Z")));
    // Jul + Aug + Sep are 92 days: silver's 90 days come before October 1st.
    let pass = at("2026-07-01T06:00:00Z");
    let history = [run("ledger", pass, "met")];
    let cap = at("2026-09-29T06:00:00Z");
    let before = one(&plan, &history, cap - Duration::minutes(1));
    assert_eq!((before.state, before.due_at), (DueState::Ok, Some(cap)));
    let after = one(&plan, &history, cap + Duration::minutes(1));
    assert_eq!(after.state, DueState::Overdue);
    // Late in a quarter: the next first of a quarter month.
    let pass = at("2026-11-21T13:00:00Z");
    let row = one(&plan, &[run("ledger", pass, "met")], pass);
    assert_eq!(row.due_at, Some(at("2027-01-01T06:00:00Z")));
}

#[test]
fn a_cron_schedule_that_never_fires_falls_back_to_the_tier() {
    let pass = at("2026-01-10T00:00:00Z");
    let row = one(
        &plan("odd", "gold", "0 0 30 2 *"),
        &[run("odd", pass, "met")],
        pass,
    );
    assert_eq!(row.due_at, Some(pass + Duration::days(30)));
}

#[test]
fn rows_put_never_run_and_overdue_first_then_by_due_time() {
    let now = at(NOW);
    let plans = [
        plan("ok-later", "gold", "weekly"),
        plan("overdue-a-little", "gold", "weekly"),
        plan("never", "gold", "weekly"),
        plan("ok-sooner", "gold", "weekly"),
        plan("overdue-a-lot", "gold", "weekly"),
    ];
    let history = [
        run("ok-later", now - Duration::days(1), "met"),
        run("overdue-a-little", now - Duration::days(8), "met"),
        run("ok-sooner", now - Duration::days(5), "met"),
        run("overdue-a-lot", now - Duration::days(20), "met"),
    ];
    let rows = due(&plans, &history, now);
    let order: Vec<(&str, DueState)> = rows.iter().map(|r| (r.drill.as_str(), r.state)).collect();
    assert_eq!(
        order,
        [
            ("never", DueState::NeverRun),
            ("overdue-a-lot", DueState::Overdue),
            ("overdue-a-little", DueState::Overdue),
            ("ok-sooner", DueState::Ok),
            ("ok-later", DueState::Ok),
        ]
    );
}
