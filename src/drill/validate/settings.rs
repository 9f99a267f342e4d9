//! The drill's top-level settings: name, tier and schedule, the incident, timeouts, the provider
//! and its region, and paths made absolute against the drill's folder.

use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use crate::drill::diag::did_you_mean;
use crate::drill::load::{Value, de, take_kind};
use crate::drill::plan::*;
use crate::drill::raw::*;
use crate::drill::schedule::Schedule;
use crate::drill::tier::TierCatalog;
use crate::drill::time::{IncidentAt, human, parse_duration};

use super::text::valid_slug;
use super::validator::{Meta, Validator};

impl Validator<'_> {
    pub(super) fn meta(&mut self, m: RawMeta, tiers: &TierCatalog) -> Option<Meta> {
        let name_ok = valid_slug(m.name.get_ref(), 48);
        if !name_ok {
            self.diags.error(
                m.name.span(),
                "",
                format!(
                    "key \"name\": \"{}\" is not a valid drill name: use 1 to 48 lowercase letters, digits and \"-\", starting with a letter (it names resources and report folders)",
                    m.name.get_ref()
                ),
            );
        }
        let tier = match tiers.get(m.tier.get_ref()) {
            Some(t) => Some(t.clone()),
            None => {
                let names = tiers.names();
                let hint = match did_you_mean(m.tier.get_ref(), &names) {
                    Some(s) => format!("did you mean \"{s}\"?"),
                    None => format!("known tiers: {}", names.join(", ")),
                };
                self.diags.error(
                    m.tier.span(),
                    "",
                    format!(
                        "key \"tier\": unknown tier \"{}\" ({hint}; define more in tiers.toml beside the drill)",
                        m.tier.get_ref()
                    ),
                );
                None
            }
        };
        let schedule = match Schedule::parse(m.schedule.get_ref()) {
            Ok(s) => Some(s),
            Err(e) => {
                self.diags
                    .error(m.schedule.span(), "", format!("key \"schedule\": {e}"));
                None
            }
        };
        if let (Some(tier), Some(schedule)) = (&tier, &schedule)
            && let Some(every) = schedule.nominal_interval()
            && every > tier.max_interval
        {
            self.diags.warning(
                        m.schedule.span(),
                        "",
                        format!(
                            "key \"schedule\": {schedule} (every {}) is less often than tier \"{}\" requires (a passing drill at least every {})",
                            human(every),
                            tier.name,
                            human(tier.max_interval)
                        ),
                    );
        }
        let text = |t: Option<Spanned<String>>| t.map(Spanned::into_inner);
        if !name_ok {
            return None;
        }
        Some((
            m.name.into_inner(),
            text(m.description),
            text(m.owner),
            tier?,
            schedule?,
        ))
    }

    pub(super) fn incident(&mut self, i: RawIncident) -> Option<IncidentSpec> {
        let at = match i.at {
            Some(at) => match IncidentAt::parse(&at.get_ref().0) {
                Ok(a) => Some(a),
                Err(e) => {
                    self.diags
                        .error(at.span(), "incident", format!("key \"at\": {e}"));
                    None
                }
            },
            None => Some(IncidentAt::Now),
        };
        let allowance = match &i.detect_allowance {
            Some(d) => self.duration(d, "incident", "detect_allowance", false),
            None => Some(Duration::ZERO),
        };
        Some(IncidentSpec {
            at: at?,
            detect_allowance: allowance?,
        })
    }

    pub(super) fn timeouts(&mut self, t: RawTimeouts) -> Timeouts {
        let mut out = Timeouts::default();
        let fields = [
            (t.resolve, "resolve", &mut out.resolve),
            (t.copy, "copy", &mut out.copy),
            (t.restore, "restore", &mut out.restore),
            (t.prepare, "prepare", &mut out.prepare),
            (t.verify, "verify", &mut out.verify),
            (t.teardown, "teardown", &mut out.teardown),
        ];
        for (text, key, slot) in fields {
            if let Some(text) = text
                && let Some(d) = self.duration(&text, "timeouts", key, true)
            {
                *slot = d;
            }
        }
        out
    }

    pub(super) fn duration(
        &mut self,
        t: &Spanned<String>,
        ctx: &str,
        key: &str,
        positive: bool,
    ) -> Option<Duration> {
        match parse_duration(t.get_ref()) {
            Ok(d) if positive && d.is_zero() => {
                self.diags.error(
                    t.span(),
                    ctx,
                    format!("key \"{key}\": must be more than zero"),
                );
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                self.diags
                    .error(t.span(), ctx, format!("key \"{key}\": {e}"));
                None
            }
        }
    }

    pub(super) fn provider(&mut self, value: Value<'_>) -> Option<ProviderSpec> {
        let (kind, rest) = take_kind(&mut self.diags, value, "provider", PROVIDER_KINDS)?;
        self.provider_kind = Some(kind);
        match kind {
            "aws" => {
                let p = de::<RawAwsProvider>(&mut self.diags, rest, "provider", &[])?;
                if let Some(r) = &p.region {
                    self.region(r, "provider", "region");
                }
                if let Some(url) = &p.endpoint_url {
                    let u = url.get_ref();
                    if !(u.starts_with("http://") || u.starts_with("https://")) || u.len() < 9 {
                        self.diags.error(
                            url.span(),
                            "provider",
                            format!(
                                "key \"endpoint_url\": \"{u}\" is not an http:// or https:// URL"
                            ),
                        );
                    }
                }
                let role = self.assume_role(&p);
                Some(ProviderSpec::Aws {
                    region: p.region.map(Spanned::into_inner),
                    profile: p.profile.map(Spanned::into_inner),
                    endpoint_url: p.endpoint_url.map(Spanned::into_inner),
                    role,
                })
            }
            _ => {
                let p = de::<RawLocalProvider>(&mut self.diags, rest, "provider", &[])?;
                Some(ProviderSpec::Local {
                    pg_bin_dir: p.pg_bin_dir.map(|d| self.path(d.get_ref())),
                })
            }
        }
    }

    /// `role_arn`, `external_id`, `session_name` and `duration` of an AWS provider, checked
    /// against what STS accepts.
    fn assume_role(&mut self, p: &RawAwsProvider) -> Option<crate::drill::AssumeRole> {
        let Some(arn) = &p.role_arn else {
            for (key, v) in [
                ("external_id", &p.external_id),
                ("session_name", &p.session_name),
                ("duration", &p.duration),
            ] {
                if let Some(v) = v {
                    self.diags.error(
                        v.span(),
                        "provider",
                        format!("key \"{key}\": only with role_arn (the role it applies to)"),
                    );
                }
            }
            return None;
        };
        let a = arn.get_ref();
        let parts: Vec<&str> = a.splitn(6, ':').collect();
        let ok = parts.len() == 6
            && parts[0] == "arn"
            && matches!(
                parts[1],
                "aws" | "aws-cn" | "aws-us-gov" | "aws-iso" | "aws-iso-b"
            )
            && parts[2] == "iam"
            && parts[3].is_empty()
            && parts[4].len() == 12
            && parts[4].chars().all(|c| c.is_ascii_digit())
            && parts[5]
                .strip_prefix("role/")
                .is_some_and(|n| !n.is_empty());
        if !ok {
            self.diags.error(
                arn.span(),
                "provider",
                format!(
                    "key \"role_arn\": \"{a}\" is not an IAM role ARN such as \
                     \"arn:aws:iam::123456789012:role/restore-drill\""
                ),
            );
        }
        // STS's own limits: role session names of 2-64 of [\w+=,.@-], external ids of
        // 2-1224 of [\w+=,.@:/-].
        let allowed = |s: &str, extra: &str, max: usize| {
            (2..=max).contains(&s.len())
                && s.chars().all(|c| {
                    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) || extra.contains(c)
                })
        };
        if let Some(n) = &p.session_name
            && !allowed(n.get_ref(), "", 64)
        {
            self.diags.error(
                n.span(),
                "provider",
                "key \"session_name\": 2 to 64 characters of letters, digits and _+=,.@-",
            );
        }
        if let Some(x) = &p.external_id
            && !allowed(x.get_ref(), ":/", 1224)
        {
            self.diags.error(
                x.span(),
                "provider",
                "key \"external_id\": 2 to 1224 characters of letters, digits and _+=,.@:/-",
            );
        }
        let duration = p.duration.as_ref().and_then(|d| {
            let v = self.duration(d, "provider", "duration", true)?;
            if !(900..=43_200).contains(&v.as_secs()) {
                self.diags.error(
                    d.span(),
                    "provider",
                    "key \"duration\": a role session lasts 15m to 12h",
                );
                return None;
            }
            Some(v)
        });
        Some(crate::drill::AssumeRole {
            arn: a.clone(),
            external_id: p.external_id.as_ref().map(|x| x.get_ref().clone()),
            session_name: p.session_name.as_ref().map(|n| n.get_ref().clone()),
            duration,
        })
    }

    pub(super) fn region(&mut self, r: &Spanned<String>, ctx: &str, key: &str) -> bool {
        let ok = {
            let parts: Vec<&str> = r.get_ref().split('-').collect();
            parts.len() >= 3
                && parts.iter().all(|p| {
                    !p.is_empty()
                        && p.chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                })
                && parts
                    .last()
                    .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
        };
        if !ok {
            self.diags.error(
                r.span(),
                ctx,
                format!(
                    "key \"{key}\": \"{}\" is not an AWS region name such as \"us-east-1\"",
                    r.get_ref()
                ),
            );
        }
        ok
    }

    /// A path from the drill, relative to the drill file's folder, with `.` and `..` folded
    /// away so that messages and plans show it plainly.
    pub(super) fn path(&self, text: &str) -> PathBuf {
        use std::path::Component;
        let p = Path::new(text);
        let joined = if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        };
        let mut out = PathBuf::new();
        for c in joined.components() {
            match c {
                Component::CurDir => {}
                Component::ParentDir
                    if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
                {
                    out.pop();
                }
                other => out.push(other),
            }
        }
        if out.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            out
        }
    }

    /// A file the drill reads as input (a reference manifest, a CA bundle): it must exist, be
    /// readable and parse, now, rather than fail a check after an hour of restoring.
    pub(super) fn input_file(
        &mut self,
        p: &Spanned<String>,
        ctx: &str,
        key: &str,
        kind: InputKind,
    ) -> PathBuf {
        let path = self.path(p.get_ref());
        if p.get_ref().trim().is_empty() {
            return path;
        }
        let problem = match std::fs::read(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(format!(
                "{} does not exist (paths are relative to the drill file's folder)",
                path.display()
            )),
            Err(e) => Some(format!("cannot read {}: {e}", path.display())),
            Ok(bytes) => match kind {
                InputKind::Manifest => match serde_json::from_slice::<serde_json::Value>(&bytes) {
                    Ok(v)
                        if v.get("format_version").is_some_and(|f| f.is_u64())
                            && v.get("kind").is_some_and(|k| k.is_string()) =>
                    {
                        None
                    }
                    Ok(_) => Some(format!(
                        "{} is JSON but not a manifest (no format_version and kind): record one with restore-drill manifest",
                        path.display()
                    )),
                    Err(e) => Some(format!(
                        "{} is not a manifest: not valid JSON ({e})",
                        path.display()
                    )),
                },
                InputKind::Pem => {
                    let text = String::from_utf8_lossy(&bytes);
                    (!text.contains("-----BEGIN CERTIFICATE-----")).then(|| {
                        format!(
                            "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                            path.display()
                        )
                    })
                }
            },
        };
        if let Some(problem) = problem {
            self.diags
                .error(p.span(), ctx, format!("key \"{key}\": {problem}"));
        }
        path
    }
}

/// What a file a drill reads must parse as.
#[derive(Clone, Copy)]
pub(super) enum InputKind {
    /// A manifest written by `restore-drill manifest` (JSON).
    Manifest,
    /// CA certificates (PEM).
    Pem,
}
