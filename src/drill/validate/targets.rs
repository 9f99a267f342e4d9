//! What restores share: targets and their isolation, name templates, buckets, points in time, TLS
//! and `[restore.connect]`.

use std::ops::Range;

use toml::Spanned;

use crate::drill::plan::*;
use crate::drill::raw::*;
use crate::drill::time::{PointSpec, TimeText};

use super::settings::InputKind;
use super::text::{parse_host_port, render_template, texts};
use super::validator::{SAMPLE_RUN_ID, Validator};

impl Validator<'_> {
    pub(super) fn instance_target(
        &mut self,
        t: RawInstanceTarget,
        source: Option<&Spanned<String>>,
        ctx: &str,
    ) -> Option<InstanceTarget> {
        let identifier = match &t.identifier {
            Some(i) => {
                self.template(
                    i,
                    ctx,
                    "target.identifier",
                    true,
                    source.map(|s| s.get_ref().as_str()),
                );
                i.get_ref().clone()
            }
            None => String::from("rd-{restore}-{run_id}"),
        };
        if let Some(region) = &t.region {
            self.region(region, ctx, "target.region");
        }
        let allow = t.allow_shared_network.unwrap_or(false);
        if !allow {
            let at = t.identifier.as_ref().map_or(0..0, Spanned::span);
            self.isolation(
                t.subnet_group.as_ref(),
                t.security_groups.as_deref(),
                ctx,
                at,
            );
        }
        Some(InstanceTarget {
            identifier,
            region: t.region.map(Spanned::into_inner),
            instance_class: t.instance_class.map(Spanned::into_inner),
            subnet_group: t.subnet_group.map(Spanned::into_inner),
            security_groups: texts(t.security_groups.as_deref()),
            parameter_group: t.parameter_group.map(Spanned::into_inner),
            allow_shared_network: allow,
        })
    }

    pub(super) fn cluster_target(
        &mut self,
        t: RawClusterTarget,
        source: &Spanned<String>,
        ctx: &str,
    ) -> Option<ClusterTarget> {
        let instance_identifier = match &t.instance_identifier {
            Some(i) => {
                self.template(
                    i,
                    ctx,
                    "target.instance_identifier",
                    true,
                    Some(source.get_ref()),
                );
                i.get_ref().clone()
            }
            None => String::from("rd-{restore}-{run_id}-1"),
        };
        let cluster = self.instance_target(
            RawInstanceTarget {
                identifier: t.identifier,
                region: t.region,
                instance_class: t.instance_class,
                subnet_group: t.subnet_group,
                security_groups: t.security_groups,
                parameter_group: None,
                allow_shared_network: t.allow_shared_network,
            },
            Some(source),
            ctx,
        )?;
        Some(ClusterTarget {
            cluster,
            instance_identifier,
        })
    }

    /// A restore into the default VPC sits next to production; refuse it unless the drill
    /// says so.
    pub(super) fn isolation(
        &mut self,
        subnet_group: Option<&Spanned<String>>,
        security_groups: Option<&[Spanned<String>]>,
        ctx: &str,
        at: Range<usize>,
    ) {
        if subnet_group.is_none() {
            self.diags.error(
                at.clone(),
                ctx,
                "missing \"target.subnet_group\": without an isolated DB subnet group the restore lands in the default VPC, next to production; name one, or set target.allow_shared_network = true",
            );
        }
        if security_groups.is_none_or(<[_]>::is_empty) {
            self.diags.error(
                at,
                ctx,
                "missing \"target.security_groups\": without them the restore gets the VPC's default security group; name isolated ones, or set target.allow_shared_network = true",
            );
        }
    }

    /// Checks a target-name template: known placeholders only, `{run_id}` present (so runs
    /// never collide and `sweep` can tell them apart), and never the source's own name.
    pub(super) fn template(
        &mut self,
        t: &Spanned<String>,
        ctx: &str,
        key: &str,
        rds: bool,
        source: Option<&str>,
    ) {
        let text = t.get_ref();
        if let Some(src) = source
            && text.eq_ignore_ascii_case(src)
        {
            self.diags.error(
                    t.span(),
                    ctx,
                    format!("key \"{key}\": the target \"{text}\" is the source itself; a drill never writes to its source (use a name with {{run_id}})"),
                );
            return;
        }
        let mut rest = text.as_str();
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                self.diags.error(
                    t.span(),
                    ctx,
                    format!("key \"{key}\": unclosed \"{{\" in \"{text}\""),
                );
                return;
            };
            let name = &after[..close];
            if !["run_id", "drill", "restore"].contains(&name) {
                self.diags.error(
                    t.span(),
                    ctx,
                    format!("key \"{key}\": unknown placeholder \"{{{name}}}\" (known: {{run_id}}, {{drill}}, {{restore}})"),
                );
                return;
            }
            rest = &after[close + 1..];
        }
        if !text.contains("{run_id}") {
            self.diags.error(
                t.span(),
                ctx,
                format!("key \"{key}\": \"{text}\" must contain {{run_id}}, so that runs never collide and leftovers can be swept"),
            );
            return;
        }
        if rds && key.ends_with("identifier") {
            let sample = render_template(text, &self.drill, &self.restore_id, SAMPLE_RUN_ID)
                .to_ascii_lowercase();
            let ok = sample.len() <= 63
                && sample.starts_with(|c: char| c.is_ascii_lowercase())
                && sample
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !sample.contains("--")
                && !sample.ends_with('-');
            if !ok {
                self.diags.error(
                    t.span(),
                    ctx,
                    format!("key \"{key}\": \"{text}\" does not make a valid RDS identifier (e.g. \"{sample}\"): 1 to 63 letters, digits and single hyphens, starting with a letter"),
                );
            }
        }
    }

    pub(super) fn bucket(&mut self, b: &Spanned<String>, ctx: &str, key: &str) {
        let name = b.get_ref();
        let ok = (3..=63).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
            && name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && name.ends_with(|c: char| c.is_ascii_alphanumeric());
        if !ok {
            self.diags.error(
                b.span(),
                ctx,
                format!("key \"{key}\": \"{name}\" is not a valid S3 bucket name (3 to 63 lowercase letters, digits, \".\" and \"-\")"),
            );
        }
    }

    pub(super) fn nonempty(&mut self, t: &Spanned<String>, ctx: &str, key: &str) {
        if t.get_ref().trim().is_empty() {
            self.diags
                .error(t.span(), ctx, format!("key \"{key}\": must not be empty"));
        }
    }

    pub(super) fn point(&mut self, to: Option<&Spanned<TimeText>>, ctx: &str) -> Option<PointSpec> {
        let Some(to) = to else {
            return Some(PointSpec::Incident);
        };
        match PointSpec::parse(&to.get_ref().0) {
            Ok(p) => Some(p),
            Err(e) => {
                self.diags.error(to.span(), ctx, format!("key \"to\": {e}"));
                None
            }
        }
    }

    pub(super) fn tls(&mut self, t: Option<&Spanned<String>>, ctx: &str, key: &str) -> Option<Tls> {
        let default = if self.provider_kind == Some("local") {
            Tls::Disable
        } else {
            Tls::Require
        };
        let Some(t) = t else {
            return Some(default);
        };
        match t.get_ref().as_str() {
            "disable" => Some(Tls::Disable),
            "require" => Some(Tls::Require),
            "verify-full" => Some(Tls::VerifyFull),
            other => {
                self.diags.error(
                    t.span(),
                    ctx,
                    format!("key \"{key}\": unknown value \"{other}\" (expected one of: disable, require, verify-full)"),
                );
                None
            }
        }
    }

    pub(super) fn connect(&mut self, c: RawConnect, ctx: &str) -> Option<Connect> {
        self.nonempty(&c.database, ctx, "connect.database");
        self.nonempty(&c.user, ctx, "connect.user");
        if let Some(p) = &c.password_env {
            self.env_name(p, ctx, "connect.password_env");
        }
        if let Some(via) = &c.via
            && parse_host_port(via.get_ref()).is_none()
        {
            self.diags.error(
                via.span(),
                ctx,
                format!(
                    "key \"connect.via\": \"{}\" is not host:port, e.g. \"127.0.0.1:15432\"",
                    via.get_ref()
                ),
            );
        }
        let tls = self.tls(c.tls.as_ref(), ctx, "connect.tls")?;
        if tls == Tls::VerifyFull && c.ca_bundle.is_none() {
            self.diags.error(
                c.tls.as_ref().map_or(0..0, Spanned::span),
                ctx,
                "key \"connect.tls\": \"verify-full\" needs \"connect.ca_bundle\" (for RDS, the region's CA bundle, e.g. global-bundle.pem)",
            );
        }
        Some(Connect {
            database: c.database.into_inner(),
            user: c.user.into_inner(),
            password_env: c.password_env.map(Spanned::into_inner),
            via: c.via.map(Spanned::into_inner),
            tls,
            ca_bundle: c
                .ca_bundle
                .map(|p| self.input_file(&p, ctx, "connect.ca_bundle", InputKind::Pem)),
        })
    }

    pub(super) fn env_name(&mut self, p: &Spanned<String>, ctx: &str, key: &str) {
        let name = p.get_ref();
        let ok = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            self.diags.error(
                p.span(),
                ctx,
                // The value is never repeated: a value where a variable name belongs is often
                // the password itself.
                format!("key \"{key}\": the value is not an environment variable name (letters, digits and \"_\", not starting with a digit); it names the variable holding the password, never the password itself (the value is not repeated here, in case it is one)"),
            );
        }
    }
}
