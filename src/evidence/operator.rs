//! Who ran a drill (or exported evidence): the operating-system user and host, and the CI
//! system, job link and triggering account when it ran in CI. Read from the environment
//! variables each CI system documents; none of them is a secret.

use crate::report::Operator;

/// The operator of this process.
pub fn current_operator() -> Operator {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let mut op = operator_from(&env, hostname());
    // Services and containers often run without USER: the account database still knows.
    if op.user.is_none() {
        op.user = account_name();
    }
    op
}

/// The operator as an environment describes it; `env` returns a variable's non-empty value.
pub fn operator_from(env: &dyn Fn(&str) -> Option<String>, host: Option<String>) -> Operator {
    let is = |name: &str, value: &str| env(name).is_some_and(|v| v.eq_ignore_ascii_case(value));
    let user = env("USER")
        .or_else(|| env("LOGNAME"))
        .or_else(|| env("USERNAME"));
    let (ci, ci_run_url, ci_actor) = if is("GITHUB_ACTIONS", "true") {
        let url = match (
            env("GITHUB_SERVER_URL"),
            env("GITHUB_REPOSITORY"),
            env("GITHUB_RUN_ID"),
        ) {
            (Some(server), Some(repo), Some(id)) => Some(match env("GITHUB_RUN_ATTEMPT") {
                Some(a) => format!("{server}/{repo}/actions/runs/{id}/attempts/{a}"),
                None => format!("{server}/{repo}/actions/runs/{id}"),
            }),
            _ => None,
        };
        (Some("github-actions"), url, env("GITHUB_ACTOR"))
    } else if is("GITLAB_CI", "true") {
        (
            Some("gitlab-ci"),
            env("CI_JOB_URL").or_else(|| env("CI_PIPELINE_URL")),
            env("GITLAB_USER_LOGIN"),
        )
    } else if is("BUILDKITE", "true") {
        (
            Some("buildkite"),
            env("BUILDKITE_BUILD_URL"),
            env("BUILDKITE_BUILD_CREATOR"),
        )
    } else if is("CIRCLECI", "true") {
        (
            Some("circleci"),
            env("CIRCLE_BUILD_URL"),
            env("CIRCLE_USERNAME"),
        )
    } else if is("TF_BUILD", "true") {
        let url = match (
            env("SYSTEM_COLLECTIONURI"),
            env("SYSTEM_TEAMPROJECT"),
            env("BUILD_BUILDID"),
        ) {
            (Some(base), Some(project), Some(id)) => Some(format!(
                "{}/{project}/_build/results?buildId={id}",
                base.trim_end_matches('/')
            )),
            _ => None,
        };
        (Some("azure-pipelines"), url, env("BUILD_REQUESTEDFOR"))
    } else if env("JENKINS_URL").is_some() {
        (Some("jenkins"), env("BUILD_URL"), None)
    } else if is("CI", "true") || is("CI", "1") {
        (Some("ci"), None, None)
    } else {
        (None, None, None)
    };
    Operator {
        user,
        host,
        ci: ci.map(str::to_owned),
        ci_run_url,
        ci_actor,
    }
}

/// One line for people: `alice@build-7, github-actions https://… (by octocat)`.
pub fn describe(op: &Operator) -> String {
    let mut s = match (&op.user, &op.host) {
        (Some(u), Some(h)) => format!("{u}@{h}"),
        (Some(u), None) => u.clone(),
        (None, Some(h)) => format!("unknown user on {h}"),
        (None, None) => "unknown user".to_owned(),
    };
    if let Some(ci) = &op.ci {
        s.push_str(", ");
        s.push_str(ci);
        if let Some(url) = &op.ci_run_url {
            s.push(' ');
            s.push_str(url);
        }
        if let Some(actor) = &op.ci_actor {
            s.push_str(&format!(" (triggered by {actor})"));
        }
    }
    s
}

/// The name of this process's user from the account database, else `uid N`.
fn account_name() -> Option<String> {
    // SAFETY: getuid cannot fail.
    let uid = unsafe { libc::getuid() };
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    let mut buf = vec![0 as libc::c_char; 4096];
    // SAFETY: every pointer is valid for the call; getpwuid_r writes the strings into `buf`,
    // which outlives the reads below.
    let rc = unsafe { libc::getpwuid_r(uid, &mut pw, buf.as_mut_ptr(), buf.len(), &mut result) };
    if rc == 0 && !result.is_null() && !pw.pw_name.is_null() {
        // SAFETY: pw_name points into `buf`, NUL-terminated by getpwuid_r.
        let name = unsafe { std::ffi::CStr::from_ptr(pw.pw_name) };
        let name = name.to_string_lossy().trim().to_owned();
        if !name.is_empty() {
            return Some(name);
        }
    }
    Some(format!("uid {uid}"))
}

fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its whole length; gethostname writes at most that much.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..end]).trim().to_owned();
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn github_actions_run_link() {
        let env = env_of(&[
            ("USER", "runner"),
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_REPOSITORY", "acme/dr"),
            ("GITHUB_RUN_ID", "42"),
            ("GITHUB_RUN_ATTEMPT", "2"),
            ("GITHUB_ACTOR", "octocat"),
        ]);
        let op = operator_from(&env, Some("vm-1".into()));
        assert_eq!(op.ci.as_deref(), Some("github-actions"));
        assert_eq!(
            op.ci_run_url.as_deref(),
            Some("https://github.com/acme/dr/actions/runs/42/attempts/2")
        );
        assert_eq!(
            describe(&op),
            "runner@vm-1, github-actions https://github.com/acme/dr/actions/runs/42/attempts/2 \
             (triggered by octocat)"
        );
    }

    #[test]
    fn gitlab_prefers_the_job_and_plain_shells_have_no_ci() {
        let env = env_of(&[
            ("GITLAB_CI", "true"),
            ("CI_PIPELINE_URL", "https://gitlab.example/p/-/pipelines/9"),
            ("GITLAB_USER_LOGIN", "dev"),
        ]);
        let op = operator_from(&env, None);
        assert_eq!(
            (op.ci.as_deref(), op.ci_run_url.as_deref()),
            (
                Some("gitlab-ci"),
                Some("https://gitlab.example/p/-/pipelines/9")
            )
        );
        let op = operator_from(&env_of(&[("LOGNAME", "alice")]), Some("laptop".into()));
        assert_eq!(op.ci, None);
        assert_eq!(describe(&op), "alice@laptop");
    }
}
