//! Time expressions in drill files: durations (`"15m"`), the incident time (`now`, RFC 3339,
//! `-30m`) and the point a restore goes back to (`latest`, `incident`, RFC 3339, `-15m`).
//!
//! A timestamp without a zone (`2026-11-21T13:00:00`) is read as UTC; a date alone is refused,
//! because "midnight in which zone?" is exactly the ambiguity a drill must not have.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;

/// A string or a native TOML datetime, kept as text until validation parses it, so that every
/// bad time in a file is reported, not just the first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TimeText(pub(crate) String);

impl<'de> Deserialize<'de> for TimeText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match toml::Value::deserialize(d)? {
            toml::Value::String(s) => Ok(TimeText(s)),
            toml::Value::Datetime(dt) => Ok(TimeText(dt.to_string())),
            other => Err(serde::de::Error::custom(format!(
                "expected a time (a string such as \"incident\" or \"-15m\", or an RFC 3339 timestamp), found {}",
                other.type_str()
            ))),
        }
    }
}

/// The longest duration or offset a drill may name: ten years. Anything longer is a typo, and
/// bounding it here means no arithmetic on a time can overflow later.
pub const MAX_DURATION: Duration = Duration::from_secs(3650 * 86_400);

/// Parses a duration such as `90s`, `15m`, `4h`, `30d` or `1h 30m`: whole numbers, the units
/// `s`, `m`, `h` and `d` only (what the documentation names), at most `MAX_DURATION`. Zero is
/// allowed here; callers that need a positive duration say so.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    parse_units(text, false)
}

/// Parses a latency bound such as `50ms`, `2s` or `1s 500ms`: the grammar of `parse_duration`
/// with milliseconds (`ms`) as one more unit, for the one key that needs them
/// (`[restore.warmup] until_p95`).
pub(crate) fn parse_latency(text: &str) -> Result<Duration, String> {
    parse_units(text, true)
}

/// The one duration grammar: numbers with units, added up; `ms` only when `millis`.
fn parse_units(text: &str, millis: bool) -> Result<Duration, String> {
    let t = text.trim();
    if t.starts_with('-') {
        return Err(format!(
            "duration \"{text}\" is negative; durations must be positive"
        ));
    }
    let examples = if millis {
        "\"50ms\", \"2s\" or \"1s 500ms\""
    } else {
        "\"90s\", \"15m\", \"4h\" or \"30d\""
    };
    if t.chars().all(|c| c.is_ascii_digit()) && !t.is_empty() {
        return Err(if millis {
            format!("duration \"{text}\" has no unit; write e.g. \"{t}ms\" or \"{t}s\"")
        } else {
            format!("duration \"{text}\" has no unit; write e.g. \"{t}s\", \"{t}m\" or \"{t}h\"")
        });
    }
    let bad = |why: &str| {
        if millis {
            format!(
                "invalid duration \"{text}\": {why}; write whole numbers with ms, s, m, h or d, e.g. {examples}"
            )
        } else {
            format!(
                "invalid duration \"{text}\": {why}; write whole numbers with s, m, h or d, e.g. \"90s\", \"15m\", \"4h\", \"1h 30m\" or \"30d\""
            )
        }
    };
    let mut total_ms: u64 = 0;
    let mut rest = t;
    loop {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 || t.is_empty() {
            return Err(format!(
                "invalid duration \"{text}\": expected a number and a unit, e.g. {examples}"
            ));
        }
        let (number, after) = rest.split_at(digits);
        let unit_len = after.len()
            - after
                .trim_start_matches(|c: char| c.is_ascii_alphabetic())
                .len();
        let (unit, after) = after.split_at(unit_len);
        let size: u64 = match unit {
            "ms" if millis => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "" if after.starts_with('.') => return Err(bad("fractions are not allowed")),
            "" => return Err(bad("a number has no unit")),
            other => return Err(bad(&format!("\"{other}\" is not a unit"))),
        };
        let n: u64 = number.parse().map_err(|_| bad("the number is too large"))?;
        total_ms = n
            .checked_mul(size)
            .and_then(|v| total_ms.checked_add(v))
            .filter(|v| u128::from(*v) <= MAX_DURATION.as_millis())
            .ok_or_else(|| bad("it is longer than ten years (3650d)"))?;
        rest = after.trim_start();
        if rest.is_empty() {
            return Ok(Duration::from_millis(total_ms));
        }
    }
}

/// `t - d`, or the earliest representable time if that is out of range (never a panic).
pub(crate) fn before(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::TimeDelta::from_std(d)
        .ok()
        .and_then(|d| t.checked_sub_signed(d))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// `t + d`, or the latest representable time if that is out of range (never a panic).
pub fn after(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::TimeDelta::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Parses an absolute timestamp: RFC 3339, or the same without a zone (read as UTC).
pub fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, String> {
    let t = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(t, fmt) {
            return Ok(naive.and_utc());
        }
    }
    // A space instead of the `T` is common; RFC 3339 allows it.
    if let Ok(dt) = DateTime::parse_from_rfc3339(&t.replacen(' ', "T", 1)) {
        return Ok(dt.with_timezone(&Utc));
    }
    Err(format!(
        "invalid timestamp \"{text}\": expected RFC 3339, e.g. \"2026-11-21T13:00:00Z\" (a time without a zone is UTC)"
    ))
}

/// A time argument of any command (`--since`, `--incident-at`, `--at`): a date `YYYY-MM-DD`
/// is its first moment (UTC), else a timestamp as `parse_timestamp` reads it.
pub fn parse_time_arg(text: &str) -> Result<DateTime<Utc>, String> {
    match chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        Ok(d) => Ok(d.and_time(chrono::NaiveTime::MIN).and_utc()),
        Err(_) => parse_timestamp(text).map_err(|_| time_arg_error(text)),
    }
}

/// An end-of-period argument (`--until`): a date is its last moment, so `--until 2026-03-31`
/// includes that day; else a timestamp.
pub fn parse_until_arg(text: &str) -> Result<DateTime<Utc>, String> {
    match chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        Ok(d) => d
            .and_hms_nano_opt(23, 59, 59, 999_999_999)
            .map(|t| t.and_utc())
            .ok_or_else(|| time_arg_error(text)),
        Err(_) => parse_timestamp(text).map_err(|_| time_arg_error(text)),
    }
}

fn time_arg_error(text: &str) -> String {
    format!(
        "invalid time \"{text}\": expected a date (2026-01-01, in UTC) or an RFC 3339 time \
         (2026-01-01T13:00:00Z; a time without a zone is UTC)"
    )
}

/// Parses `-30m`-style offsets into the past. `+` offsets are refused: a drill restores what
/// already exists.
fn parse_relative(text: &str) -> Option<Result<Duration, String>> {
    let t = text.trim();
    if let Some(rest) = t.strip_prefix('-') {
        return Some(parse_duration(rest.trim()).map_err(|e| {
            format!("invalid relative time \"{text}\" (expected e.g. \"-30m\" or \"-2h\"): {e}")
        }));
    }
    if t.starts_with('+') {
        return Some(Err(format!(
            "relative time \"{text}\" is in the future; use a negative offset such as \"-30m\""
        )));
    }
    None
}

/// When the drill pretends disaster struck.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentAt {
    /// The run's start.
    Now,
    /// A fixed moment.
    At(DateTime<Utc>),
    /// This long before the run's start.
    Before(Duration),
}

impl IncidentAt {
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        if t == "now" {
            return Ok(IncidentAt::Now);
        }
        if let Some(rel) = parse_relative(t) {
            return rel.map(IncidentAt::Before);
        }
        parse_timestamp(t).map(IncidentAt::At).map_err(|_| {
            format!(
                "invalid incident time \"{text}\": expected \"now\", a negative offset such as \"-30m\", or an RFC 3339 timestamp"
            )
        })
    }

    /// The incident moment for a run that started at `run_start`.
    pub fn resolve(self, run_start: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            IncidentAt::Now => run_start,
            IncidentAt::At(t) => t,
            IncidentAt::Before(d) => before(run_start, d),
        }
    }
}

impl fmt::Display for IncidentAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IncidentAt::Now => f.write_str("the run's start"),
            IncidentAt::At(t) => write!(
                f,
                "{}",
                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            IncidentAt::Before(d) => write!(f, "{} before the run's start", human(*d)),
        }
    }
}

/// The point in time a restore goes back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointSpec {
    /// The newest restorable point.
    Latest,
    /// The incident time.
    Incident,
    /// A fixed moment.
    At(DateTime<Utc>),
    /// This long before the incident time.
    BeforeIncident(Duration),
}

impl PointSpec {
    /// The moment this point stands for, given the incident time; `None` for `latest`.
    pub fn time(self, incident: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            PointSpec::Latest => None,
            PointSpec::Incident => Some(incident),
            PointSpec::At(t) => Some(t),
            PointSpec::BeforeIncident(d) => Some(before(incident, d)),
        }
    }

    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        match t {
            "latest" => return Ok(PointSpec::Latest),
            "incident" => return Ok(PointSpec::Incident),
            _ => {}
        }
        if let Some(rel) = parse_relative(t) {
            return rel.map(PointSpec::BeforeIncident);
        }
        parse_timestamp(t).map(PointSpec::At).map_err(|_| {
            format!(
                "invalid restore point \"{text}\": expected \"latest\", \"incident\", a negative offset from the incident such as \"-15m\", or an RFC 3339 timestamp"
            )
        })
    }
}

impl fmt::Display for PointSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PointSpec::Latest => f.write_str("the latest restorable point"),
            PointSpec::Incident => f.write_str("the incident time"),
            PointSpec::At(t) => write!(
                f,
                "{}",
                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            PointSpec::BeforeIncident(d) => {
                write!(f, "{} before the incident", human(*d))
            }
        }
    }
}

/// A duration for people, in the units drill files use: `45s`, `15m`, `4h`, `1h 30m`, `30d`.
pub fn human(d: Duration) -> String {
    let mut secs = d.as_secs();
    if secs == 0 {
        return "0s".to_owned();
    }
    let mut parts = Vec::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if secs >= size {
            parts.push(format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    parts.join(" ")
}

/// Seconds for people: `0.47s` under a minute, `2m 0.6s` under an hour, else whole units
/// (`1h 2m 5s`).
pub fn human_seconds(seconds: f64) -> String {
    if seconds < 60.0 {
        return format!("{seconds:.2}s");
    }
    // Rounded once, to the tenth shown: 299.98 s is "5m", not "4m 60.0s".
    let tenths = (seconds * 10.0).round();
    if tenths < 36_000.0 {
        let minutes = (tenths / 600.0).floor();
        let rest = (tenths - minutes * 600.0) / 10.0;
        return if rest == 0.0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m {rest:.1}s")
        };
    }
    human(Duration::from_secs(seconds.round() as u64))
}

/// A latency for people: `50ms`, `12.3ms` under a second, else as `human_seconds`. Whole
/// milliseconds to within 0.1 % (an HDR histogram's precision at 3 significant digits) are
/// shown whole.
pub fn human_latency(seconds: f64) -> String {
    let millis = seconds * 1000.0;
    if (millis - millis.round()).abs() <= millis * 1e-3 + 1e-9 && millis < 999.5 {
        format!("{millis:.0}ms")
    } else if seconds < 1.0 {
        format!("{millis:.1}ms")
    } else {
        human_seconds(seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 19: every command reads a time argument the same way.
    #[test]
    fn time_arguments_take_dates_and_timestamps() {
        let day = parse_time_arg("2026-01-01").unwrap();
        assert_eq!(day.to_rfc3339(), "2026-01-01T00:00:00+00:00");
        assert_eq!(
            parse_until_arg("2026-03-31").unwrap().to_rfc3339(),
            "2026-03-31T23:59:59.999999999+00:00"
        );
        assert_eq!(parse_time_arg("2026-01-01T00:00:00Z"), Ok(day));
        assert_eq!(parse_time_arg("2026-01-01 02:00:00+02:00"), Ok(day));
        assert!(
            parse_time_arg("yesterday")
                .unwrap_err()
                .contains("expected a date")
        );
        assert!(parse_until_arg("2026-02-30").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("30d"), Ok(Duration::from_secs(30 * 86400)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("-5m").unwrap_err().contains("negative"));
        assert!(parse_duration("15").unwrap_err().contains("no unit"));
        assert!(parse_duration("soon").is_err());
        // Only the documented units, whole numbers, at most ten years.
        for bad in [
            "1y",
            "2w",
            "100ms",
            "1.5h",
            "1M",
            "99999999999d",
            "3651d",
            "",
            "m",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} was accepted");
        }
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("3650d"), Ok(MAX_DURATION));
        assert!(parse_duration("1.5h").unwrap_err().contains("fractions"));
        assert!(
            parse_duration("1y")
                .unwrap_err()
                .contains("\"y\" is not a unit")
        );
    }

    #[test]
    fn latencies_add_milliseconds_to_the_same_grammar() {
        assert_eq!(parse_latency("50ms"), Ok(Duration::from_millis(50)));
        assert_eq!(parse_latency("1s 500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_latency("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_latency("50").unwrap_err().contains("\"50ms\""));
        assert!(parse_latency("0.5s").unwrap_err().contains("fractions"));
        assert!(
            parse_latency("5us")
                .unwrap_err()
                .contains("\"us\" is not a unit")
        );
        assert!(parse_latency("3651d").is_err());
        // Durations elsewhere still take whole seconds and up.
        assert!(parse_duration("100ms").is_err());
    }

    #[test]
    fn time_arithmetic_never_panics() {
        let t = DateTime::<Utc>::MAX_UTC;
        assert_eq!(after(t, Duration::from_secs(1)), DateTime::<Utc>::MAX_UTC);
        let t = DateTime::<Utc>::MIN_UTC;
        assert_eq!(before(t, Duration::from_secs(1)), DateTime::<Utc>::MIN_UTC);
        assert_eq!(before(t, Duration::MAX), DateTime::<Utc>::MIN_UTC);
        assert!(IncidentAt::parse("-300000y").is_err());
        assert!(PointSpec::parse("-300000y").is_err());
        assert!(PointSpec::parse("-3651d").is_err());
    }

    #[test]
    fn human_durations() {
        assert_eq!(human(Duration::from_secs(0)), "0s");
        assert_eq!(human(Duration::from_secs(900)), "15m");
        assert_eq!(human(Duration::from_secs(5400)), "1h 30m");
        assert_eq!(human(Duration::from_secs(30 * 86400)), "30d");
        assert_eq!(human(Duration::from_millis(61_500)), "1m 1s");
        assert_eq!(human_seconds(0.4712), "0.47s");
        assert_eq!(human_seconds(120.57), "2m 0.6s");
        assert_eq!(human_seconds(121.5), "2m 1.5s");
        assert_eq!(human_seconds(900.0), "15m");
        assert_eq!(human_seconds(3725.4), "1h 2m 5s");
        assert_eq!(human_seconds(299.98), "5m");
        assert_eq!(human_seconds(119.96), "2m");
        assert_eq!(human_seconds(3599.97), "1h");
    }

    #[test]
    fn incident_times() {
        assert_eq!(IncidentAt::parse("now"), Ok(IncidentAt::Now));
        assert_eq!(
            IncidentAt::parse("-30m"),
            Ok(IncidentAt::Before(Duration::from_secs(1800)))
        );
        let utc = IncidentAt::parse("2026-11-21T13:00:00").unwrap();
        assert_eq!(utc, IncidentAt::parse("2026-11-21T14:00:00+01:00").unwrap());
        assert!(IncidentAt::parse("+5m").unwrap_err().contains("future"));
        assert!(IncidentAt::parse("2026-11-21").is_err());
    }

    #[test]
    fn restore_points() {
        assert_eq!(PointSpec::parse("latest"), Ok(PointSpec::Latest));
        assert_eq!(PointSpec::parse("incident"), Ok(PointSpec::Incident));
        assert_eq!(
            PointSpec::parse("-15m"),
            Ok(PointSpec::BeforeIncident(Duration::from_secs(900)))
        );
        assert!(matches!(
            PointSpec::parse("2026-11-21 13:00:00Z"),
            Ok(PointSpec::At(_))
        ));
        assert!(PointSpec::parse("yesterday").is_err());
    }
}
