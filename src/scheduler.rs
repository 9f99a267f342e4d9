//! `schedule export`: one definition per drill for the schedulers teams already run
//! (Kubernetes CronJobs, EventBridge Scheduler with ECS tasks, GitHub Actions, systemd timers,
//! cron), from the drill's `schedule` and timeouts, plus a daily `sweep` and `due`.
//!
//! Every definition bounds a run: the drill's total phase timeouts plus a margin for start-up
//! and teardown, after which the scheduler kills it. A hung run never blocks the next one for
//! ever (a `concurrencyPolicy: Forbid` CronJob whose job hangs blocks every later run).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use crate::drill::{Cron, DrillPlan};

/// The schedulers `schedule export --to` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Kubernetes,
    Eventbridge,
    Github,
    Systemd,
    Cron,
}

/// What every target may need besides the drills.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The container image (Kubernetes, EventBridge/ECS).
    pub image: Option<String>,
    /// Where the drill files are where the scheduler runs them; default `/drills` in a
    /// container, `/etc/restore-drill/drills` on a host, the paths as given for GitHub.
    pub drills_dir: Option<String>,
    /// Where reports and the history are kept between runs.
    pub reports: Option<String>,
    /// Kubernetes: the namespace, the ServiceAccount (IRSA) and the reports' volume claim.
    pub namespace: String,
    pub service_account: String,
    pub reports_claim: String,
    /// EventBridge Scheduler: the ECS cluster, task definition, the scheduler's role and the
    /// task's network.
    pub ecs_cluster: Option<String>,
    pub task_definition: Option<String>,
    pub scheduler_role: Option<String>,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
}

/// Time a run gets beyond its phase timeouts: start-up, reports, and teardown after a kill
/// signal.
pub const MARGIN: Duration = Duration::from_secs(15 * 60);
/// How late a missed start may still begin (Kubernetes `startingDeadlineSeconds`).
pub const STARTING_DEADLINE: Duration = Duration::from_secs(60 * 60);
/// `sweep` and `due` run daily, bounded by this.
pub const DAILY_LIMIT: Duration = Duration::from_secs(30 * 60);

/// One file to write: its name and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub name: String,
    pub text: String,
}

/// The longest a drill's run may take before its scheduler kills it.
pub fn deadline(plan: &DrillPlan) -> Duration {
    plan.timeouts.total().saturating_add(MARGIN)
}

/// A file or unit name made of the drill's name: letters, digits and `-` only.
fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches('-').to_owned();
    if s.is_empty() { "drill".to_owned() } else { s }
}

/// Kubernetes object names: at most 52 characters for a CronJob (its jobs add 11).
fn k8s_name(name: &str) -> String {
    let mut s = format!("restore-drill-{}", slug(name));
    s.truncate(52);
    s.trim_end_matches('-').to_owned()
}

fn file_name(plan: &DrillPlan) -> String {
    plan.file
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| format!("{}.toml", slug(&plan.name)))
}

/// Writes the definitions of every drill (and the daily sweep and due) for `target`.
pub fn export(target: Target, plans: &[DrillPlan], o: &Options) -> Result<Vec<File>, String> {
    let mut names = std::collections::HashSet::new();
    for p in plans {
        if !names.insert(slug(&p.name)) {
            return Err(format!(
                "two drills map to the same scheduler name \"{}\": rename one",
                slug(&p.name)
            ));
        }
    }
    let words = plans
        .iter()
        .map(|p| p.file.display().to_string())
        .chain(o.drills_dir.clone())
        .chain(o.reports.clone());
    for w in words {
        if w.contains('%') || w.contains('\n') {
            return Err(format!(
                "\"{w}\" holds % or a newline, which cron and systemd give a meaning to: rename it"
            ));
        }
    }
    match target {
        Target::Kubernetes => kubernetes(plans, o),
        Target::Eventbridge => eventbridge(plans, o),
        Target::Github => Ok(github(plans, o)),
        Target::Systemd => Ok(systemd(plans, o)),
        Target::Cron => Ok(vec![cron(plans, o)]),
    }
}

// ---------------------------------------------------------------------------------------------
// Kubernetes

fn kubernetes(plans: &[DrillPlan], o: &Options) -> Result<Vec<File>, String> {
    let image = o
        .image
        .clone()
        .ok_or("--to kubernetes needs --image (the restore-drill image, with the drills in it)")?;
    let dir = o.drills_dir.clone().unwrap_or_else(|| "/drills".into());
    let reports = o.reports.clone().unwrap_or_else(|| "/reports".into());
    let mut out = Vec::new();
    for p in plans {
        let args = vec![
            "run".to_owned(),
            format!("{dir}/{}", file_name(p)),
            where_flag(&reports).to_owned(),
            reports.clone(),
            "--format".to_owned(),
            "none".to_owned(),
        ];
        let job = cron_job(
            &k8s_name(&p.name),
            &p.schedule.to_cron(&p.name).text,
            deadline(p),
            &image,
            args,
            &reports,
            o,
        );
        out.push(File {
            name: format!("{}.yaml", k8s_name(&p.name)),
            text: yaml(&job),
        });
    }
    for (what, at, args) in daily(&dir, &reports) {
        let name = format!("restore-drill-{what}");
        let job = cron_job(&name, at, DAILY_LIMIT, &image, args, &reports, o);
        out.push(File {
            name: format!("{name}.yaml"),
            text: yaml(&job),
        });
    }
    Ok(out)
}

/// A store in S3 (`--store s3://…`) rather than a reports folder.
fn is_store(reports: &str) -> bool {
    reports.starts_with("s3://")
}

/// The flag that names where runs are recorded: `--store` for a store in S3, else `--reports`.
fn where_flag(reports: &str) -> &'static str {
    if is_store(reports) {
        "--store"
    } else {
        "--reports"
    }
}

/// The daily jobs: `sweep` (what killed runs left) and `due` (which drill is overdue: exit
/// 10, a failed job to alert on), with their times and arguments.
fn daily(drills: &str, reports: &str) -> Vec<(&'static str, &'static str, Vec<String>)> {
    let due = ["due", drills, where_flag(reports), reports];
    vec![
        ("sweep", "30 0 * * *", vec!["sweep".to_owned()]),
        (
            "due",
            "0 7 * * *",
            due.iter().map(|s| s.to_string()).collect(),
        ),
    ]
}

fn cron_job(
    name: &str,
    schedule: &str,
    limit: Duration,
    image: &str,
    args: Vec<String>,
    reports: &str,
    o: &Options,
) -> Value {
    // A store in S3 needs no volume of its own: only the scratch space.
    let (mounts, volumes) = if is_store(reports) {
        (
            json!([{"name": "tmp", "mountPath": "/tmp"}]),
            json!([{"name": "tmp", "emptyDir": {}}]),
        )
    } else {
        (
            json!([
                {"name": "reports", "mountPath": reports},
                {"name": "tmp", "mountPath": "/tmp"},
            ]),
            json!([
                {"name": "reports",
                 "persistentVolumeClaim": {"claimName": o.reports_claim}},
                {"name": "tmp", "emptyDir": {}},
            ]),
        )
    };
    json!({
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {
            "name": name,
            "namespace": o.namespace,
            "labels": {"app.kubernetes.io/name": "restore-drill"},
        },
        "spec": {
            "schedule": schedule,
            "timeZone": "Etc/UTC",
            // Never two runs of one drill at once; a missed start may begin up to an hour late.
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": STARTING_DEADLINE.as_secs(),
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 5,
            "jobTemplate": {"spec": {
                // Killed after its phase timeouts and a margin: a hung run never blocks the
                // next one.
                "activeDeadlineSeconds": limit.as_secs(),
                // A failed drill is a result, not a reason to restore production again.
                "backoffLimit": 0,
                "template": {
                    "metadata": {"labels": {"app.kubernetes.io/name": "restore-drill"}},
                    "spec": {
                        "serviceAccountName": o.service_account,
                        "restartPolicy": "Never",
                        // SIGTERM starts teardown; give it time before SIGKILL.
                        "terminationGracePeriodSeconds": 600,
                        "securityContext": {
                            "runAsNonRoot": true,
                            "runAsUser": 10001,
                            "fsGroup": 10001,
                        },
                        "containers": [{
                            "name": "restore-drill",
                            "image": image,
                            "args": args,
                            "securityContext": {
                                "allowPrivilegeEscalation": false,
                                "readOnlyRootFilesystem": true,
                                "capabilities": {"drop": ["ALL"]},
                            },
                            "volumeMounts": mounts,
                        }],
                        "volumes": volumes,
                    },
                },
            }},
        },
    })
}

// ---------------------------------------------------------------------------------------------
// EventBridge Scheduler → ECS RunTask

fn eventbridge(plans: &[DrillPlan], o: &Options) -> Result<Vec<File>, String> {
    let need = |v: &Option<String>, flag: &str| {
        v.clone()
            .ok_or_else(|| format!("--to eventbridge needs {flag}"))
    };
    let cluster = need(&o.ecs_cluster, "--ecs-cluster ARN")?;
    let task = need(&o.task_definition, "--task-definition ARN")?;
    let role = need(
        &o.scheduler_role,
        "--scheduler-role ARN (the role the scheduler runs the task as)",
    )?;
    if o.subnets.is_empty() {
        return Err("--to eventbridge needs --subnet (the task's subnets; repeat the flag)".into());
    }
    let dir = o.drills_dir.clone().unwrap_or_else(|| "/drills".into());
    let reports = o.reports.clone().unwrap_or_else(|| "/reports".into());
    let mut out = Vec::new();
    let mut schedule = |name: String, expr: String, command: Vec<String>| {
        let overrides =
            json!({"containerOverrides": [{"name": "restore-drill", "command": command}]});
        let input = json!({
            "Name": name,
            "GroupName": "default",
            "Description": "restore-drill: prove a backup restores and measure RTO/RPO",
            "ScheduleExpression": expr,
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "State": "ENABLED",
            "ActionAfterCompletion": "NONE",
            "Target": {
                "Arn": cluster,
                "RoleArn": role,
                "Input": overrides.to_string(),
                // A failed drill is a result: never start it again by itself.
                "RetryPolicy": {"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 3600},
                "EcsParameters": {
                    "TaskDefinitionArn": task,
                    "TaskCount": 1,
                    "LaunchType": "FARGATE",
                    "NetworkConfiguration": {"awsvpcConfiguration": {
                        "Subnets": o.subnets,
                        "SecurityGroups": o.security_groups,
                        "AssignPublicIp": "DISABLED",
                    }},
                    "Tags": [{"restore-drill:schedule": name}],
                },
            },
        });
        out.push(File {
            name: format!("{name}.json"),
            text: serde_json::to_string_pretty(&input).unwrap_or_default() + "\n",
        });
    };
    for p in plans {
        let expr = eventbridge_cron(&p.schedule.to_cron(&p.name)).map_err(|e| {
            format!(
                "{}: schedule of drill \"{}\": {e}",
                p.file.display(),
                p.name
            )
        })?;
        // ECS has no run deadline of its own: `timeout` in the task bounds the run (it sends
        // SIGTERM, which starts teardown, then SIGKILL after 10 minutes).
        let command = vec![
            "timeout".to_owned(),
            "--kill-after=600".to_owned(),
            deadline(p).as_secs().to_string(),
            "restore-drill".to_owned(),
            "run".to_owned(),
            format!("{dir}/{}", file_name(p)),
            where_flag(&reports).to_owned(),
            reports.clone(),
            "--format".to_owned(),
            "none".to_owned(),
        ];
        schedule(k8s_name(&p.name), expr, command);
    }
    for (what, at, args) in daily(&dir, &reports) {
        let cron = Cron::parse(at).map_err(|e| e.to_string())?;
        let mut command = vec![
            "timeout".to_owned(),
            "--kill-after=60".to_owned(),
            DAILY_LIMIT.as_secs().to_string(),
            "restore-drill".to_owned(),
        ];
        command.extend(args);
        schedule(
            format!("restore-drill-{what}"),
            eventbridge_cron(&cron)?,
            command,
        );
    }
    Ok(out)
}

/// A field's values as a cron list (`*` when every value), shifted by `add`.
fn list(cron: &Cron, i: usize, add: u32) -> String {
    let (vals, all) = cron.values(i);
    if all {
        return "*".into();
    }
    vals.iter()
        .map(|v| (v + add).to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// EventBridge's six-field `cron(...)`: days of week count from 1 (Sunday), and one of the two
/// day fields must be `?`. A cron that restricts both (cron's "either day") has no
/// EventBridge equivalent.
pub fn eventbridge_cron(c: &Cron) -> Result<String, String> {
    let (dom, dow) = (list(c, 2, 0), list(c, 4, 1));
    let (dom, dow) = match (dom.as_str(), dow.as_str()) {
        (_, "*") => (dom, "?".to_owned()),
        ("*", _) => ("?".to_owned(), dow),
        _ if c.day_fields_restricted() => {
            return Err(format!(
                "\"{}\" restricts both the day of month and the day of week, which EventBridge \
                 cannot express; use one of them",
                c.text
            ));
        }
        _ => (dom, dow),
    };
    Ok(format!(
        "cron({} {} {dom} {} {dow} *)",
        list(c, 0, 0),
        list(c, 1, 0),
        list(c, 3, 0)
    ))
}

// ---------------------------------------------------------------------------------------------
// GitHub Actions

fn github(plans: &[DrillPlan], o: &Options) -> Vec<File> {
    let reports = o.reports.clone().unwrap_or_else(|| "reports".into());
    let dir = o.drills_dir.clone().unwrap_or_else(|| "drills".into());
    let mut out = Vec::new();
    let workflow = |name: String, cron: String, limit: Duration, run: String| {
        json!({
            "name": name,
            "on": {
                "schedule": [{"cron": cron}],
                "workflow_dispatch": {},
            },
            "permissions": {"contents": "read", "id-token": "write"},
            // Never two runs of one drill at once; a queued run waits, none is cancelled.
            "concurrency": {"group": name, "cancel-in-progress": false},
            "jobs": {"drill": {
                "runs-on": ["self-hosted", "linux", "restore-drill"],
                "timeout-minutes": limit.as_secs().div_ceil(60),
                "steps": [
                    {"uses": "actions/checkout@v4"},
                    {"uses": "aws-actions/configure-aws-credentials@v4",
                     "with": {"role-to-assume": "${{ vars.RESTORE_DRILL_ROLE_ARN }}",
                              "aws-region": "${{ vars.AWS_REGION }}"}},
                    {"name": name, "run": run},
                ],
            }},
        })
    };
    for p in plans {
        let path = match &o.drills_dir {
            Some(d) => format!("{d}/{}", file_name(p)),
            None => p.file.display().to_string(),
        };
        let name = k8s_name(&p.name);
        let w = workflow(
            name.clone(),
            p.schedule.to_cron(&p.name).text,
            deadline(p),
            format!(
                "restore-drill run {} {} {reports}",
                shell_word(&path),
                where_flag(&reports)
            ),
        );
        out.push(File {
            name: format!("{name}.yml"),
            text: yaml(&w),
        });
    }
    for (what, at, args) in daily(&dir, &reports) {
        let name = format!("restore-drill-{what}");
        let run = format!("restore-drill {}", shell_line(&args));
        out.push(File {
            name: format!("{name}.yml"),
            text: yaml(&workflow(name, at.to_owned(), DAILY_LIMIT, run)),
        });
    }
    out
}

// ---------------------------------------------------------------------------------------------
// systemd timers and cron

/// systemd `OnCalendar=` lines for a cron: one when at most one day field is restricted, two
/// (the union, as cron means it) when both are.
pub fn on_calendar(c: &Cron) -> Vec<String> {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    let (dows, all_dows) = c.values(4);
    let dow = if all_dows {
        String::new()
    } else {
        dows.iter()
            .map(|d| DAYS[*d as usize])
            .collect::<Vec<_>>()
            .join(",")
            + " "
    };
    let at = |dow: &str, dom: &str| {
        format!(
            "{dow}*-{}-{dom} {}:{}:00",
            list(c, 3, 0),
            list(c, 1, 0),
            list(c, 0, 0)
        )
    };
    let dom = list(c, 2, 0);
    if c.day_fields_restricted() {
        vec![at(&dow, "*"), at("", &dom)]
    } else {
        vec![at(&dow, &dom)]
    }
}

/// Where drills and reports are on a host (systemd, cron), unless the options say.
fn host_paths(o: &Options) -> (String, String) {
    (
        o.drills_dir
            .clone()
            .unwrap_or_else(|| "/etc/restore-drill/drills".into()),
        o.reports
            .clone()
            .unwrap_or_else(|| "/var/lib/restore-drill/reports".into()),
    )
}

fn systemd(plans: &[DrillPlan], o: &Options) -> Vec<File> {
    let (dir, reports) = host_paths(o);
    // A store in S3 is written over the network; the working folder stays writable.
    let rw = if is_store(&reports) {
        "/var/lib/restore-drill".to_owned()
    } else {
        reports.clone()
    };
    let mut out = Vec::new();
    let mut unit = |name: String,
                    what: String,
                    calendar: Vec<String>,
                    limit: Duration,
                    cmd: String| {
        out.push(File {
            name: format!("{name}.service"),
            text: format!(
                "[Unit]\nDescription={what}\nWants=network-online.target\nAfter=network-online.target\n\n\
                 [Service]\nType=oneshot\nUser=restore-drill\nWorkingDirectory=/var/lib/restore-drill\n\
                 ExecStart={cmd}\n\
                 # Killed after the phase timeouts and a margin; SIGTERM starts teardown.\n\
                 TimeoutStartSec={}\nKillSignal=SIGTERM\nTimeoutStopSec=600\n\
                 NoNewPrivileges=yes\nProtectSystem=strict\nPrivateTmp=yes\nReadWritePaths={rw}\n",
                limit.as_secs()
            ),
        });
        let mut timer = format!("[Unit]\nDescription=Schedule of {what}\n\n[Timer]\n");
        for c in calendar {
            timer.push_str(&format!("OnCalendar={c} UTC\n"));
        }
        timer.push_str(
            "Persistent=true\nRandomizedDelaySec=300\n\n[Install]\nWantedBy=timers.target\n",
        );
        out.push(File {
            name: format!("{name}.timer"),
            text: timer,
        });
    };
    for p in plans {
        let name = k8s_name(&p.name);
        let path = format!("{dir}/{}", file_name(p));
        unit(
            name,
            format!("restore-drill drill {}", p.name),
            on_calendar(&p.schedule.to_cron(&p.name)),
            deadline(p),
            format!(
                "/usr/local/bin/restore-drill run {} {} {} --format none",
                shell_word(&path),
                where_flag(&reports),
                shell_word(&reports)
            ),
        );
    }
    for (what, at, args) in daily(&dir, &reports) {
        let cron = Cron::parse(at).unwrap_or_else(|_| unreachable_cron());
        unit(
            format!("restore-drill-{what}"),
            format!("restore-drill {what}"),
            on_calendar(&cron),
            DAILY_LIMIT,
            format!("/usr/local/bin/restore-drill {}", shell_line(&args)),
        );
    }
    out
}

/// Never used: the daily expressions above are constants that parse.
fn unreachable_cron() -> Cron {
    Cron {
        text: "0 0 * * *".into(),
        fields: [1, 1, u64::MAX, u64::MAX, u64::MAX],
    }
}

fn cron(plans: &[DrillPlan], o: &Options) -> File {
    let (dir, reports) = host_paths(o);
    let mut text = String::from(
        "# restore-drill schedules (schedule export --to cron). Install as /etc/cron.d/restore-drill\n\
         # (root-owned, mode 0644). Times are UTC (CRON_TZ). `timeout` bounds each run: SIGTERM\n\
         # after the drill's phase timeouts and a margin (teardown runs), SIGKILL 10 minutes later;\n\
         # `flock -n` skips a run while the previous one still holds the lock.\n\
         SHELL=/bin/sh\nPATH=/usr/local/bin:/usr/bin:/bin\nCRON_TZ=UTC\n\n",
    );
    let line = |cron: &str, name: &str, limit: Duration, cmd: String| {
        format!(
            "{cron} restore-drill flock -n /var/lib/restore-drill/{name}.lock timeout --kill-after=600 {} {cmd} >>/var/lib/restore-drill/{name}.log 2>&1\n",
            limit.as_secs()
        )
    };
    for p in plans {
        let path = format!("{dir}/{}", file_name(p));
        text.push_str(&line(
            &p.schedule.to_cron(&p.name).text,
            &slug(&p.name),
            deadline(p),
            format!(
                "restore-drill run {} {} {} --format none",
                shell_word(&path),
                where_flag(&reports),
                shell_word(&reports)
            ),
        ));
    }
    for (what, at, args) in daily(&dir, &reports) {
        text.push_str(&line(
            at,
            what,
            DAILY_LIMIT,
            format!("restore-drill {}", shell_line(&args)),
        ));
    }
    File {
        name: "restore-drill".into(),
        text,
    }
}

/// Words for `sh`, joined.
fn shell_line(args: &[String]) -> String {
    args.iter()
        .map(|a| shell_word(a))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A word for `sh` (and systemd's ExecStart): quoted unless it is plainly safe. `%` never
/// reaches here (`export` refuses it: cron and systemd give it a meaning).
fn shell_word(w: &str) -> String {
    if !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+".contains(c))
    {
        w.to_owned()
    } else {
        format!("'{}'", w.replace('\'', "'\\''"))
    }
}

// ---------------------------------------------------------------------------------------------
// A small YAML writer: maps and lists in block style, every scalar as JSON (a JSON string is a
// valid YAML double-quoted scalar), so nothing can be misread (`on`, `no`, `3.10`).

pub fn yaml(v: &Value) -> String {
    let mut out = String::new();
    write_yaml(v, 0, &mut out);
    out
}

/// A key as is when YAML reads it back as the same string, else quoted.
fn yaml_key(k: &str) -> String {
    const SPECIAL: [&str; 11] = [
        "on", "off", "yes", "no", "y", "n", "true", "false", "null", "~", "",
    ];
    let plain = k.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./-".contains(c))
        && !SPECIAL.contains(&k.to_ascii_lowercase().as_str());
    if plain {
        k.to_owned()
    } else {
        Value::String(k.to_owned()).to_string()
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Object(m) if m.is_empty() => "{}".into(),
        Value::Array(a) if a.is_empty() => "[]".into(),
        other => other.to_string(),
    }
}

fn is_block(v: &Value) -> bool {
    matches!(v, Value::Object(m) if !m.is_empty()) || matches!(v, Value::Array(a) if !a.is_empty())
}

fn write_yaml(v: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, val) in m {
                let key = yaml_key(k);
                if is_block(val) {
                    out.push_str(&format!("{pad}{key}:\n"));
                    write_yaml(val, indent + 2, out);
                } else {
                    out.push_str(&format!("{pad}{key}: {}\n", scalar(val)));
                }
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for item in a {
                if is_block(item) {
                    // The item's first line goes after "- ", the rest indented under it.
                    let mut inner = String::new();
                    write_yaml(item, indent + 2, &mut inner);
                    let body = inner
                        .strip_prefix(&" ".repeat(indent + 2))
                        .unwrap_or(&inner);
                    out.push_str(&format!("{pad}- {body}"));
                } else {
                    out.push_str(&format!("{pad}- {}\n", scalar(item)));
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other))),
    }
}

/// Writes the files into `dir` (created if missing); returns their paths.
pub fn write(dir: &Path, files: &[File]) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut out = Vec::new();
    for f in files {
        let p = dir.join(&f.name);
        crate::report::write_atomic(&p, f.text.as_bytes())?;
        out.push(p);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cron(text: &str) -> Cron {
        Cron::parse(text).unwrap()
    }

    #[test]
    fn eventbridge_counts_days_from_sunday_as_one_and_needs_a_question_mark() {
        assert_eq!(
            eventbridge_cron(&cron("17 6 * * 1-5")).unwrap(),
            "cron(17 6 ? * 2,3,4,5,6 *)"
        );
        assert_eq!(
            eventbridge_cron(&cron("0 3 1 1,4,7,10 *")).unwrap(),
            "cron(0 3 1 1,4,7,10 ? *)"
        );
        assert_eq!(
            eventbridge_cron(&cron("0 3 * * 0")).unwrap(),
            "cron(0 3 ? * 1 *)"
        );
        assert_eq!(
            eventbridge_cron(&cron("0 3 * * 7")).unwrap(),
            "cron(0 3 ? * 1 *)"
        );
        let e = eventbridge_cron(&cron("0 3 1 * 1")).unwrap_err();
        assert!(e.contains("both"), "{e}");
    }

    #[test]
    fn systemd_calendars_keep_crons_either_day_rule() {
        assert_eq!(
            on_calendar(&cron("17 6 * * 1-5")),
            vec!["Mon,Tue,Wed,Thu,Fri *-*-* 6:17:00"]
        );
        assert_eq!(
            on_calendar(&cron("0 3 1 */3 *")),
            vec!["*-1,4,7,10-1 3:0:00"]
        );
        // Both day fields restricted: cron runs on either, so two calendars.
        assert_eq!(
            on_calendar(&cron("0 3 1 * 1")),
            vec!["Mon *-*-* 3:0:00", "*-*-1 3:0:00"]
        );
    }

    #[test]
    fn yaml_quotes_every_scalar_and_nests_lists_of_maps() {
        // Keys in sorted order: serde_json keeps insertion order in some builds (a feature
        // another crate may turn on) and sorts in others.
        let v = json!({"args": ["run", "a b"], "n": 3, "no": true,
                       "on": {"schedule": [{"cron": "1 2 * * *"}], "workflow_dispatch": {}}});
        let y = yaml(&v);
        assert_eq!(
            y,
            "args:\n  - \"run\"\n  - \"a b\"\n\"n\": 3\n\"no\": true\n\"on\":\n  schedule:\n    - cron: \"1 2 * * *\"\n  workflow_dispatch: {}\n"
        );
    }

    #[test]
    fn shell_words_are_quoted_when_they_must_be() {
        assert_eq!(shell_word("drills/orders.toml"), "drills/orders.toml");
        assert_eq!(
            shell_word("my drills/it's.toml"),
            "'my drills/it'\\''s.toml'"
        );
    }
}
