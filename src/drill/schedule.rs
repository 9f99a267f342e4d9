//! How often a drill should run: `weekly`, `monthly`, `quarterly`, or a five-field cron
//! expression (minute hour day-of-month month day-of-week, as crontab(5) has it).

use std::fmt;
use std::time::Duration;

const DAY: u64 = 86_400;

/// A drill's schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    Weekly,
    Monthly,
    Quarterly,
    Cron(Cron),
}

impl Schedule {
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        match text.trim() {
            "weekly" => Ok(Schedule::Weekly),
            "monthly" => Ok(Schedule::Monthly),
            "quarterly" => Ok(Schedule::Quarterly),
            t if t.split_whitespace().count() > 1 => Cron::parse(t).map(Schedule::Cron),
            _ => Err(format!(
                "invalid schedule \"{text}\": expected \"weekly\", \"monthly\", \"quarterly\" or a cron expression such as \"0 6 1 */3 *\""
            )),
        }
    }

    /// The nominal period of a named schedule (a month counts 30 days, a quarter 90, matching
    /// the tiers' allowed intervals). Cron schedules have no single interval; `None`.
    pub fn nominal_interval(&self) -> Option<Duration> {
        match self {
            Schedule::Weekly => Some(Duration::from_secs(7 * DAY)),
            Schedule::Monthly => Some(Duration::from_secs(30 * DAY)),
            Schedule::Quarterly => Some(Duration::from_secs(90 * DAY)),
            Schedule::Cron(_) => None,
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Weekly => f.write_str("weekly"),
            Schedule::Monthly => f.write_str("monthly"),
            Schedule::Quarterly => f.write_str("quarterly"),
            Schedule::Cron(c) => write!(f, "cron \"{}\"", c.text),
        }
    }
}

/// A checked five-field cron expression: the set of allowed values of each field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    pub text: String,
    /// Bit i set = value i allowed, for minute, hour, day of month, month, day of week
    /// (0 = Sunday; a 7 in the expression is folded into 0).
    pub fields: [u64; 5],
}

struct FieldSpec {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const FIELDS: [FieldSpec; 5] = [
    FieldSpec {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
    },
    FieldSpec {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
    },
    FieldSpec {
        name: "day of month",
        min: 1,
        max: 31,
        names: &[],
    },
    FieldSpec {
        name: "month",
        min: 1,
        max: 12,
        names: &[
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ],
    },
    FieldSpec {
        name: "day of week",
        min: 0,
        max: 7,
        names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
    },
];

impl Cron {
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        let bad = |why: String| format!("invalid cron expression \"{text}\": {why}");
        if parts.len() != 5 {
            return Err(bad(format!(
                "expected 5 fields (minute hour day-of-month month day-of-week), found {}",
                parts.len()
            )));
        }
        let mut fields = [0u64; 5];
        for (i, (part, spec)) in parts.iter().zip(FIELDS.iter()).enumerate() {
            fields[i] = parse_field(part, spec).map_err(bad)?;
        }
        // Sunday may be written 0 or 7.
        if fields[4] & (1 << 7) != 0 {
            fields[4] = (fields[4] & !(1 << 7)) | 1;
        }
        Ok(Cron {
            text: text.to_owned(),
            fields,
        })
    }
}

fn parse_field(part: &str, spec: &FieldSpec) -> Result<u64, String> {
    let mut bits = 0u64;
    for item in part.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s.parse().ok().filter(|s| *s > 0).ok_or_else(|| {
                    format!("{} step \"{s}\" is not a positive number", spec.name)
                })?;
                (r, step)
            }
            None => (item, 1),
        };
        let (lo, hi) = if range == "*" {
            (spec.min, spec.max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, spec)?, value(b, spec)?)
        } else {
            let v = value(range, spec)?;
            // `5/15` means from 5 to the end, every 15.
            (v, if item.contains('/') { spec.max } else { v })
        };
        if lo > hi {
            return Err(format!("{} range \"{range}\" runs backwards", spec.name));
        }
        let mut v = lo;
        while v <= hi {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok(bits)
}

fn value(text: &str, spec: &FieldSpec) -> Result<u32, String> {
    let lower = text.to_ascii_lowercase();
    if let Some(pos) = spec.names.iter().position(|n| *n == lower) {
        // Month names count from 1 (the field's minimum), weekday names from 0.
        return Ok(pos as u32 + spec.min);
    }
    let v: u32 = text
        .parse()
        .map_err(|_| format!("{} \"{text}\" is not a number", spec.name))?;
    if v < spec.min || v > spec.max {
        return Err(format!(
            "{} {v} is out of range {}-{}",
            spec.name, spec.min, spec.max
        ));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_schedules() {
        assert_eq!(Schedule::parse("quarterly"), Ok(Schedule::Quarterly));
        assert!(Schedule::parse("fortnightly").is_err());
    }

    #[test]
    fn cron_fields() {
        let Schedule::Cron(c) = Schedule::parse("0 6 1 */3 mon-fri").unwrap() else {
            panic!("not cron")
        };
        assert_eq!(c.fields[0], 1);
        assert_eq!(c.fields[1], 1 << 6);
        assert_eq!(c.fields[3], (1 << 1) | (1 << 4) | (1 << 7) | (1 << 10));
        assert_eq!(c.fields[4], 0b11_1110);
        let Schedule::Cron(c) = Schedule::parse("0 0 * jan,jul 7").unwrap() else {
            panic!("not cron")
        };
        assert_eq!(c.fields[3], (1 << 1) | (1 << 7));
        assert_eq!(c.fields[4], 1);
    }

    #[test]
    fn cron_errors_name_the_field() {
        assert_eq!(
            Schedule::parse("0 25 * * *").unwrap_err(),
            "invalid cron expression \"0 25 * * *\": hour 25 is out of range 0-23"
        );
        assert!(
            Schedule::parse("0 6 1 */0 *")
                .unwrap_err()
                .contains("month step")
        );
        assert!(
            Schedule::parse("0 6 * *")
                .unwrap_err()
                .contains("expected 5 fields")
        );
    }
}
