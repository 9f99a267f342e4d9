//! The bundle's index pages, `index.md` and `index.html`: one document built from
//! `BundleInfo` (and each run's report), rendered twice, so both pages always say the same.
//! They render; they do not compute. HTML is self-contained (the stylesheet every page of the
//! tool shares, inline; no scripts), comes from `maud`, which escapes every text from reports
//! and files, and every run's files are linked relatively so the
//! pages work from the unpacked bundle.

use std::fmt::Write as _;

use maud::{Markup, html};

use super::bundle::{BundleInfo, RunEntry, Segregation};
use super::controls::day;
use super::operator::describe;
use crate::drill::{human, human_seconds};
use crate::report::{CheckOutcome, RpoSource, RunReport};

/// A piece of running text.
enum Inline {
    Text(String),
    Code(String),
    Strong(String),
    /// A verdict or a control status, styled by its word.
    Badge(String),
    Link(String, String),
}

enum Block {
    /// Level, text, anchor id.
    Heading(u8, String, Option<String>),
    Para(Vec<Inline>),
    List(Vec<Vec<Inline>>),
    Table(Vec<&'static str>, Vec<Vec<Vec<Inline>>>),
}

use Inline::{Badge, Code, Link, Strong, Text};

fn t(s: impl Into<String>) -> Inline {
    Text(s.into())
}

fn run_anchor(drill: &str, run_id: &str) -> String {
    let safe = |s: &str| {
        s.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect::<String>()
    };
    format!("run-{}-{}", safe(drill), safe(run_id))
}

fn secs(v: Option<f64>) -> String {
    v.map_or_else(|| "not measured".to_owned(), human_seconds)
}

fn document(info: &BundleInfo) -> Vec<Block> {
    let mut b = Vec::new();
    b.push(Block::Heading(1, "Restore drill evidence".into(), None));
    let since = info
        .period
        .since
        .map_or_else(|| "the start of the history".to_owned(), day);
    let mut period = vec![t(format!(
        "Runs started from {since} to {}",
        day(info.period.until)
    ))];
    if let Some(d) = &info.period.drill {
        period.push(t(", drill "));
        period.push(Code(d.clone()));
    }
    period.push(t(format!(", from the reports folder {}.", info.reports)));
    b.push(Block::Para(period));
    b.push(Block::Para(vec![
        t(format!(
            "Made {} with restore-drill {} by {}. MANIFEST.sha256 lists the SHA-256 of every \
             file; MANIFEST.sha256.sig is its Ed25519 signature by ",
            day(info.created_at),
            info.tool_version,
            describe(&info.exported_by)
        )),
        Code(info.signing_key.clone()),
        t("."),
    ]));
    b.push(Block::Para(vec![
        t("To check this bundle: "),
        Code(
            "restore-drill evidence verify <this folder or its .tar.gz> --public-key <key.pub>"
                .into(),
        ),
        t(" (signature, every file, the history chain); the hashes alone: "),
        Code("sha256sum -c MANIFEST.sha256".into()),
        t("."),
    ]));

    // Summary.
    b.push(Block::Heading(2, "Summary".into(), None));
    let mut counts: Vec<(String, usize)> = Vec::new();
    for r in &info.runs {
        match counts.iter_mut().find(|(v, _)| *v == r.verdict) {
            Some((_, n)) => *n += 1,
            None => counts.push((r.verdict.clone(), 1)),
        }
    }
    let counts = if counts.is_empty() {
        "none".to_owned()
    } else {
        counts
            .iter()
            .map(|(v, n)| format!("{n} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let gaps: usize = info.drills.iter().map(|d| d.gaps.len()).sum();
    let mut summary = vec![
        vec![t(format!(
            "{} runs of {} drills: {counts}.",
            info.runs.len(),
            info.drills.len()
        ))],
        vec![t(format!(
            "{gaps} coverage gap{} (stretches with no passing run within the tier interval).",
            if gaps == 1 { "" } else { "s" }
        ))],
    ];
    for c in &info.controls {
        summary.push(vec![
            t(format!("{} {}: ", c.framework, c.control)),
            Badge(c.status.clone()),
        ]);
    }
    b.push(Block::List(summary));
    if !info.problems.is_empty() {
        b.push(Block::Heading(2, "Problems found at export".into(), None));
        b.push(Block::List(
            info.problems.iter().map(|p| vec![t(p.clone())]).collect(),
        ));
    }

    // Controls.
    b.push(Block::Heading(2, "Controls".into(), None));
    b.push(Block::Para(vec![t(
        "Control texts are paraphrased. Which runs answer a control, and what is missing, \
         follows the rule stated under each; whether that satisfies the control is the \
         auditor's judgement.",
    )]));
    for c in &info.controls {
        b.push(Block::Heading(
            3,
            format!("{} {} — {}", c.framework, c.control, c.title),
            None,
        ));
        b.push(Block::Para(vec![
            Strong("Status: ".into()),
            Badge(c.status.clone()),
        ]));
        b.push(Block::Para(vec![
            Strong("Requirement: ".into()),
            t(c.requirement.clone()),
        ]));
        b.push(Block::Para(vec![
            Strong("What answers it: ".into()),
            t(c.evidence.clone()),
        ]));
        if c.answered_by.is_empty() {
            b.push(Block::Para(vec![
                Strong("Runs that answer it:".into()),
                t(" none."),
            ]));
        } else {
            b.push(Block::Para(vec![Strong("Runs that answer it:".into())]));
            b.push(Block::List(
                c.answered_by
                    .iter()
                    .map(|label| {
                        let (drill, run) = label.split_once('/').unwrap_or((label, ""));
                        vec![Link(label.clone(), format!("#{}", run_anchor(drill, run)))]
                    })
                    .collect(),
            ));
        }
        b.push(Block::Para(vec![Strong("Missing:".into())]));
        if c.missing.is_empty() {
            b.push(Block::List(vec![vec![t("nothing")]]));
        } else {
            b.push(Block::List(
                c.missing.iter().map(|m| vec![t(m.clone())]).collect(),
            ));
        }
    }

    // Coverage.
    b.push(Block::Heading(2, "Coverage per drill".into(), None));
    let rows = info
        .drills
        .iter()
        .map(|d| {
            let gaps = if d.gaps.is_empty() {
                vec![t("none")]
            } else {
                vec![t(d
                    .gaps
                    .iter()
                    .map(|g| match g.from {
                        Some(f) => format!("{} to {}", day(f), day(g.to)),
                        None => format!("never run up to {}", day(g.to)),
                    })
                    .collect::<Vec<_>>()
                    .join("; "))]
            };
            vec![
                vec![Code(d.drill.clone())],
                vec![t(format!(
                    "{} (from {})",
                    d.tier.as_deref().unwrap_or("?"),
                    d.tier_from
                ))],
                vec![t(d.interval_seconds.map_or_else(
                    || "unknown".to_owned(),
                    |s| human(std::time::Duration::from_secs(s)),
                ))],
                vec![t(d.runs.to_string())],
                vec![t(d.passes.len().to_string())],
                vec![t(d.last_pass.map_or_else(|| "never".to_owned(), day))],
                gaps,
                vec![t(d.due_at_end.clone().unwrap_or_else(|| "-".into()))],
            ]
        })
        .collect();
    b.push(Block::Table(
        vec![
            "drill",
            "tier",
            "pass at least every",
            "runs",
            "passes",
            "last pass",
            "gaps",
            "at the end of the period",
        ],
        rows,
    ));

    // Runs.
    b.push(Block::Heading(2, "Runs".into(), None));
    if info.runs.is_empty() {
        b.push(Block::Para(vec![t("No runs in the period.")]));
    } else {
        let rows = info
            .runs
            .iter()
            .map(|r| {
                let (rto, rpo, checks) = match &r.report {
                    Some(rep) => (
                        format!(
                            "{} / {}",
                            secs(rep.measured.rto_seconds),
                            human_seconds(rep.tier.rto_seconds)
                        ),
                        format!(
                            "{} / {}",
                            secs(rep.measured.rpo_seconds),
                            human_seconds(rep.tier.rpo_seconds)
                        ),
                        {
                            let passed = rep
                                .checks
                                .iter()
                                .filter(|c| c.outcome == CheckOutcome::Passed)
                                .count();
                            format!("{passed} of {} passed", rep.checks.len())
                        },
                    ),
                    None => ("-".into(), "-".into(), "-".into()),
                };
                vec![
                    vec![Link(
                        r.label(),
                        format!("#{}", run_anchor(&r.drill, &r.run_id)),
                    )],
                    vec![t(day(r.started_at))],
                    vec![Badge(r.verdict.clone())],
                    vec![t(rto)],
                    vec![t(rpo)],
                    vec![t(checks)],
                    vec![t(r.history_line.map_or_else(
                        || "not in the history".to_owned(),
                        |n| n.to_string(),
                    ))],
                ]
            })
            .collect();
        b.push(Block::Table(
            vec![
                "run",
                "started",
                "verdict",
                "RTO measured / target",
                "RPO measured / target",
                "checks",
                "history.csv line",
            ],
            rows,
        ));
        for r in &info.runs {
            run_section(&mut b, r);
        }
    }

    // History.
    let h = &info.history;
    b.push(Block::Heading(2, "History rows".into(), None));
    let from = match (h.source_first_line, h.source_last_line) {
        (Some(a), Some(z)) => format!(
            "lines {a} to {z} of {}/history.csv, with the header",
            info.reports
        ),
        _ => "the header only: no run of the period is in the history".to_owned(),
    };
    b.push(Block::Para(vec![
        Link(h.file.clone(), h.file.clone()),
        t(format!(
            " holds {from}: {} rows, {} of them in the period (rows of other drills between \
             them stay, so the chain can be checked across them). Each row's hash covers its \
             fields and the row above; the first row links to the anchor ",
            h.rows, h.rows_in_period
        )),
        Code(h.anchor.clone()),
        t("."),
    ]));
    if !h.lines.is_empty() {
        let rows = h
            .lines
            .iter()
            .map(|l| {
                let run = match (&l.drill, &l.run_id) {
                    (Some(d), Some(r)) if l.in_period => {
                        vec![Link(format!("{d}/{r}"), format!("#{}", run_anchor(d, r)))]
                    }
                    (Some(d), Some(r)) => vec![t(format!("{d}/{r}"))],
                    _ => vec![t("(not a readable row)")],
                };
                vec![
                    vec![t(l.line.to_string())],
                    run,
                    vec![t(l.started_at.map_or_else(|| "-".to_owned(), day))],
                    vec![l.verdict.clone().map_or_else(|| t("-"), Badge)],
                    vec![t(if l.in_period {
                        "yes"
                    } else {
                        "no (kept for the chain)"
                    })],
                ]
            })
            .collect();
        b.push(Block::Table(
            vec!["line", "run", "started", "verdict", "in the period"],
            rows,
        ));
    }
    if h.problems_at_export.is_empty() {
        b.push(Block::Para(vec![t(
            "The whole source history's chain was intact when the bundle was made.",
        )]));
    } else {
        b.push(Block::Para(vec![Strong(
            "The source history had problems when the bundle was made:".into(),
        )]));
        b.push(Block::List(
            h.problems_at_export
                .iter()
                .map(|p| vec![t(p.clone())])
                .collect(),
        ));
    }
    b
}

fn run_section(b: &mut Vec<Block>, r: &RunEntry) {
    b.push(Block::Heading(
        3,
        format!("{} / {}", r.drill, r.run_id),
        Some(run_anchor(&r.drill, &r.run_id)),
    ));
    let mut items: Vec<Vec<Inline>> = Vec::new();
    let rep: Option<&RunReport> = r.report.as_ref();
    match rep {
        Some(rep) => {
            items.push(vec![t(format!(
                "Started {}, finished {} ({}); incident time {}.",
                day(rep.started_at),
                day(rep.finished_at),
                human_seconds(rep.seconds),
                day(rep.incident_at)
            ))]);
            items.push(vec![
                t("Verdict: "),
                Badge(rep.verdict.as_str().into()),
                t(format!(" — {}", rep.verdict_reason)),
            ]);
            let source = match rep.measured.rpo_source {
                Some(RpoSource::Data) => ", from the data",
                Some(RpoSource::Metadata) => ", from recovery point metadata",
                None => "",
            };
            items.push(vec![t(format!(
                "Tier {}: RTO {} against a target of {} (detection allowance {} included); \
                 RPO {}{source} against a target of {}.",
                rep.tier.name,
                secs(rep.measured.rto_seconds),
                human_seconds(rep.tier.rto_seconds),
                human_seconds(rep.measured.detect_allowance_seconds),
                secs(rep.measured.rpo_seconds),
                human_seconds(rep.tier.rpo_seconds)
            ))]);
            items.push(vec![
                t(format!(
                    "Tool: restore-drill {}. Operator: ",
                    rep.tool_version
                )),
                t(rep.operator.as_ref().map_or_else(
                    || "not recorded (the report predates operator identity)".to_owned(),
                    describe,
                )),
                t("."),
            ]);
            let torn = if rep.teardown.leaked.is_empty() {
                format!("Teardown: {}.", rep.teardown.outcome)
            } else {
                format!(
                    "Teardown: {}; left behind: {}.",
                    rep.teardown.outcome,
                    rep.teardown.leaked.join(", ")
                )
            };
            items.push(vec![t(torn)]);
        }
        None => items.push(vec![t(format!(
            "Started {}; verdict {} (from the history: the report is not in the bundle).",
            day(r.started_at),
            r.verdict
        ))]),
    }
    if let Some(f) = &r.drill_file {
        let mut item = vec![
            t("Drill file "),
            Code(f.path.clone()),
            t(", SHA-256 "),
            Code(f.sha256.clone()),
        ];
        match (&f.copy, &f.note) {
            (Some(copy), _) => {
                item.push(t(": copied as "));
                item.push(Link(copy.clone(), copy.clone()));
            }
            (None, Some(note)) => item.push(t(format!(": not copied, {note}"))),
            (None, None) => {}
        }
        item.push(t("."));
        items.push(item);
    }
    match (&r.history_line, &r.row_hash) {
        (Some(line), Some(hash)) => {
            let mut item = vec![
                t(format!("History: history.csv line {line}, row hash ")),
                Code(hash.clone()),
            ];
            if let Some(sha) = &r.report_sha256 {
                item.push(t("; report.json SHA-256 "));
                item.push(Code(sha.clone()));
            }
            item.push(t("."));
            items.push(item);
        }
        _ => items.push(vec![Strong(
            "Not in the history: this run's record is not hash-chained.".into(),
        )]),
    }
    for p in &r.problems {
        items.push(vec![Strong("Problem: ".into()), t(p.clone())]);
    }
    b.push(Block::List(items));

    if let Some(rep) = rep {
        if !rep.restores.is_empty() {
            let rows = rep
                .restores
                .iter()
                .map(|rs| {
                    let point = rs.recovery_point.as_ref().map_or_else(
                        || vec![t("not resolved")],
                        |p| vec![t(format!("{} ", p.kind)), Code(p.id.clone())],
                    );
                    let point_time = rs
                        .recovery_point
                        .as_ref()
                        .and_then(|p| p.time.or(p.latest_restorable))
                        .map_or_else(|| "-".to_owned(), day);
                    let target = rs.target.as_ref().map_or_else(
                        || vec![t("not created")],
                        |tg| {
                            let mut v = vec![t(format!("{} ", tg.kind)), Code(tg.name.clone())];
                            if let Some(a) = &tg.address {
                                v.push(t(format!(" at {a}")));
                            }
                            v
                        },
                    );
                    let iso = r.isolation.iter().find(|i| i.restore == rs.id).map_or_else(
                        || vec![t("-")],
                        |i| {
                            let word = match i.segregation {
                                Segregation::Segregated => "segregated",
                                Segregation::NotSegregated => "not segregated",
                                Segregation::NotRecorded => "not recorded",
                            };
                            let mut v = vec![Badge(word.into()), t(format!(": {}", i.reason))];
                            if !i.settings.is_empty() {
                                v.push(t(" ("));
                                v.push(Code(i.settings.join(", ")));
                                v.push(t(")"));
                            }
                            v
                        },
                    );
                    vec![
                        vec![Code(rs.id.clone())],
                        vec![t(rs.kind.clone())],
                        point,
                        vec![t(point_time)],
                        target,
                        iso,
                    ]
                })
                .collect();
            b.push(Block::Table(
                vec![
                    "restore",
                    "kind",
                    "recovery point",
                    "recovery point time",
                    "target",
                    "isolation",
                ],
                rows,
            ));
        }
        if !rep.checks.is_empty() {
            let rows = rep
                .checks
                .iter()
                .map(|c| {
                    let outcome = c.outcome.as_str();
                    let findings = if c.findings.is_empty() {
                        "none".to_owned()
                    } else {
                        c.findings
                            .iter()
                            .take(3)
                            .map(|f| format!("{} {}: {}", f.kind, f.object, f.message))
                            .chain((c.findings.len() > 3).then(|| {
                                format!("and {} more (see the report)", c.findings.len() - 3)
                            }))
                            .collect::<Vec<_>>()
                            .join("; ")
                    };
                    vec![
                        vec![Code(c.restore.clone())],
                        vec![t(c.name.clone())],
                        vec![t(c.kind.clone())],
                        vec![Badge(outcome.into())],
                        vec![t(findings)],
                    ]
                })
                .collect();
            b.push(Block::Table(
                vec!["restore", "check", "kind", "outcome", "findings"],
                rows,
            ));
        }
    }
    if let Some(dir) = &r.dir {
        let mut files = vec![t("Files: ")];
        for (i, f) in r.files.iter().enumerate() {
            if i > 0 {
                files.push(t(", "));
            }
            files.push(Link(f.clone(), format!("{dir}/{f}")));
        }
        b.push(Block::Para(files));
        // Runs signed as they ended carry report.sig; `evidence verify --public-key` checks
        // it. An unsigned run rests on the history chain and this bundle's signature alone.
        if r.files.iter().any(|f| f == crate::evidence::RUN_SIGNATURE) {
            b.push(Block::Para(vec![t(
                "Signed when the run ended (report.sig; checked by evidence verify).",
            )]));
        } else {
            b.push(Block::Para(vec![t(
                "UNSIGNED run: no report.sig (its runner had no RESTORE_DRILL_SIGNING_KEY); \
                 an edit of its report together with its history row and the chain after it \
                 would not be detected.",
            )]));
        }
    }
}

// --- Markdown ------------------------------------------------------------------------------

pub fn render_index_markdown(info: &BundleInfo) -> String {
    let mut o = String::with_capacity(64 * 1024);
    for block in document(info) {
        match block {
            Block::Heading(level, text, anchor) => {
                if let Some(a) = anchor {
                    let _ = writeln!(o, "<a id=\"{a}\"></a>\n");
                }
                let _ = writeln!(o, "{} {}\n", "#".repeat(usize::from(level)), md_text(&text));
            }
            Block::Para(inlines) => {
                let _ = writeln!(o, "{}\n", md_inlines(&inlines));
            }
            Block::List(items) => {
                for item in items {
                    let _ = writeln!(o, "- {}", md_inlines(&item));
                }
                o.push('\n');
            }
            Block::Table(head, rows) => {
                let _ = writeln!(o, "| {} |", head.join(" | "));
                let _ = writeln!(o, "|{}", "---|".repeat(head.len()));
                for row in rows {
                    let cells: Vec<String> = row
                        .iter()
                        .map(|c| md_inlines(c).replace('|', "\\|"))
                        .collect();
                    let _ = writeln!(o, "| {} |", cells.join(" | "));
                }
                o.push('\n');
            }
        }
    }
    o
}

fn md_inlines(items: &[Inline]) -> String {
    let mut s = String::new();
    for i in items {
        match i {
            Text(x) => s.push_str(&md_text(x)),
            Code(x) => {
                let x = one_line(x);
                let ticks = if x.contains('`') { "``" } else { "`" };
                let _ = write!(s, "{ticks}{x}{ticks}");
            }
            Strong(x) => {
                let x = md_text(x);
                let trimmed = x.trim_end();
                let _ = write!(s, "**{trimmed}**{}", &x[trimmed.len()..]);
            }
            Badge(x) => {
                let _ = write!(s, "**{}**", md_text(x));
            }
            Link(text, href) => {
                let _ = write!(s, "[{}](<{}>)", md_text(text), href_of(href));
            }
        }
    }
    s
}

/// Text from reports on one line, with the characters Markdown would act on escaped.
fn md_text(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in one_line(s).chars() {
        if matches!(c, '\\' | '*' | '_' | '[' | ']' | '<' | '>' | '`' | '#') {
            o.push('\\');
        }
        o.push(c);
    }
    o
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

// --- HTML ----------------------------------------------------------------------------------

pub fn render_index_html(info: &BundleInfo) -> String {
    let title = format!(
        "Restore drill evidence, {} to {}",
        info.period.since.map_or_else(|| "start".to_owned(), day),
        day(info.period.until)
    );
    let body = html! {
        @for block in document(info) {
            @match block {
                Block::Heading(level, text, anchor) => {
                    @match level {
                        1 => { h1 id=[anchor] { (text) } }
                        2 => { h2 id=[anchor] { (text) } }
                        _ => { h3 id=[anchor] { (text) } }
                    }
                }
                Block::Para(inlines) => { p { (html_inlines(&inlines)) } }
                Block::List(items) => {
                    ul { @for item in &items { li { (html_inlines(item)) } } }
                }
                Block::Table(head, rows) => {
                    table {
                        tr { @for h in &head { th { (h) } } }
                        @for row in &rows {
                            tr { @for cell in row { td { (html_inlines(cell)) } } }
                        }
                    }
                }
            }
        }
    };
    crate::report::page(&title, Some("wide"), body)
}

fn html_inlines(items: &[Inline]) -> Markup {
    html! {
        @for i in items {
            @match i {
                Text(x) => { (x) }
                Code(x) => { code { (x) } }
                Strong(x) => { strong { (x) } }
                Badge(x) => {
                    @let class: String = x
                        .chars()
                        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                        .collect();
                    span class={"b b-" (class)} { (x) }
                }
                Link(text, href) => { a href=(href_of(href)) { (text) } }
            }
        }
    }
}

/// A link target: an in-page `#anchor` as it is, a bundle path with the characters a URL
/// cannot hold percent-encoded.
fn href_of(target: &str) -> String {
    if target.starts_with('#') {
        return target.to_owned();
    }
    let mut o = String::with_capacity(target.len());
    for b in target.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            o.push(char::from(b));
        } else {
            let _ = write!(o, "%{b:02X}");
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::bundle::{HistoryInfo, Period};
    use crate::report::{
        CheckReport, DrillRef, Measured, Operator, TeardownReport, TierRef, Verdict,
    };
    use chrono::{DateTime, Utc};

    const HOSTILE: &str = "<script>alert(\"x\")</script> | *bold* & 'co'";

    fn info() -> BundleInfo {
        let at = DateTime::<Utc>::from_timestamp(1_767_225_600, 0).unwrap();
        let report = RunReport {
            format_version: 1,
            tool_version: "0.1.0".into(),
            drill: DrillRef {
                name: "orders".into(),
                file: "drills/orders.toml".into(),
                sha256: "0".repeat(64),
            },
            run_id: "r 1".into(),
            started_at: at,
            finished_at: at,
            seconds: 1.0,
            incident_at: at,
            tier: TierRef {
                name: "gold".into(),
                rto_seconds: 900.0,
                rpo_seconds: 300.0,
            },
            verdict: Verdict::Met,
            verdict_reason: HOSTILE.into(),
            measured: Measured {
                rto_seconds: Some(60.0),
                rpo_seconds: None,
                rpo_source: None,
                detect_allowance_seconds: 0.0,
            },
            restores: Vec::new(),
            checks: vec![CheckReport {
                restore: "main".into(),
                kind: "sql".into(),
                name: HOSTILE.into(),
                outcome: CheckOutcome::Passed,
                findings: Vec::new(),
                seconds: 0.1,
                found: None,
            }],
            teardown: TeardownReport {
                outcome: "done".into(),
                leaked: Vec::new(),
            },
            interrupted_by: None,
            operator: Some(Operator {
                user: Some("alice".into()),
                ..Operator::default()
            }),
            aws: None,
        };
        BundleInfo {
            format: crate::evidence::bundle::FORMAT.into(),
            tool_version: "0.1.0".into(),
            created_at: at,
            exported_by: Operator::default(),
            signing_key: "ed25519:00".into(),
            period: Period {
                since: None,
                until: at,
                drill: None,
            },
            reports: "reports".into(),
            history: HistoryInfo {
                file: "history.csv".into(),
                source_first_line: None,
                source_last_line: None,
                anchor: "0".repeat(64),
                rows: 0,
                rows_in_period: 0,
                problems_at_export: Vec::new(),
                lines: Vec::new(),
            },
            runs: vec![RunEntry {
                drill: "orders".into(),
                run_id: "r 1".into(),
                started_at: at,
                tier: "gold".into(),
                verdict: "met".into(),
                history_line: None,
                row_hash: None,
                dir: Some("runs/orders/r 1".into()),
                files: vec!["report.json".into()],
                report_sha256: None,
                drill_file: None,
                isolation: Vec::new(),
                problems: Vec::new(),
                report: Some(report),
            }],
            drills: Vec::new(),
            controls: Vec::new(),
            problems: Vec::new(),
        }
    }

    #[test]
    fn html_escapes_every_text_and_encodes_links() {
        let html = render_index_html(&info());
        assert!(!html.contains("<script>"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; | *bold* &amp; 'co'")
        );
        // Issue 19: the shared stylesheet, and nothing but text where a finding held markup.
        assert!(html.contains(crate::report::STYLE.trim()));
        assert!(!html.to_lowercase().contains("<script"));
        assert!(html.contains("<a href=\"runs/orders/r%201/report.json\">report.json</a>"));
        assert!(html.contains("<h3 id=\"run-orders-r-1\">orders / r 1</h3>"));
    }

    #[test]
    fn markdown_keeps_tables_whole_and_escapes_markup() {
        let md = render_index_markdown(&info());
        assert!(
            md.contains(
                "| `main` | \\<script\\>alert(\"x\")\\</script\\> \\| \\*bold\\* & 'co' | sql | \
                 **passed** | none |"
            ),
            "{md}"
        );
        assert!(md.contains("[report.json](<runs/orders/r%201/report.json>)"));
        assert!(md.contains("Operator: alice."));
    }
}
