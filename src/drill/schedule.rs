//! How often a drill should run: `weekly`, `monthly`, `quarterly`, or a five-field cron
//! expression (minute hour day-of-month month day-of-week, as crontab(5) has it).

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Timelike, Utc};

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

impl Schedule {
    /// The schedule as a five-field cron expression for an outside scheduler. A named
    /// schedule becomes a fixed moment chosen from a hash of the drill's name (as Jenkins'
    /// `H` does), so a fleet's drills spread over the night instead of all starting at once:
    /// between 01:00 and 05:59 UTC, weekly on a weekday, monthly and quarterly on day 1-28.
    pub fn to_cron(&self, drill: &str) -> Cron {
        use sha2::Digest;
        let h = sha2::Sha256::digest(drill.as_bytes());
        let minute = u32::from(h[0]) % 60;
        let hour = 1 + u32::from(h[1]) % 5;
        let text = match self {
            Schedule::Cron(c) => return c.clone(),
            Schedule::Weekly => format!("{minute} {hour} * * {}", 1 + u32::from(h[2]) % 5),
            Schedule::Monthly => format!("{minute} {hour} {} * *", 1 + u32::from(h[2]) % 28),
            Schedule::Quarterly => format!(
                "{minute} {hour} {} {} *",
                1 + u32::from(h[2]) % 28,
                ["1,4,7,10", "2,5,8,11", "3,6,9,12"][usize::from(h[3]) % 3]
            ),
        };
        // Built from in-range numbers: it parses.
        match Cron::parse(&text) {
            Ok(c) => c,
            Err(_) => Cron {
                text,
                fields: [1, 1 << 1, ALL_DOMS, ((1 << 13) - 1) & !1, ALL_DOWS],
            },
        }
    }
}

impl Cron {
    /// The values field `i` allows (minute, hour, day of month, month, day of week with
    /// 0 = Sunday), and whether that is every value of the field.
    pub fn values(&self, i: usize) -> (Vec<u32>, bool) {
        let spec = &FIELDS[i];
        // Day of week 7 is folded into 0 when parsed.
        let max = if i == 4 { 6 } else { spec.max };
        let vals: Vec<u32> = (spec.min..=max)
            .filter(|v| bit(self.fields[i], *v))
            .collect();
        let all = vals.len() as u32 == max - spec.min + 1;
        (vals, all)
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

impl Cron {
    /// The first moment strictly after `t` (at minute resolution, in UTC) that the expression
    /// allows; `None` when it allows none at all (such as `0 0 30 2 *`).
    ///
    /// Days follow crontab(5): when both day of month and day of week are restricted (neither
    /// field starts with `*`), a day matches if *either* does; otherwise both must. The search
    /// jumps over months, days and hours that cannot match, so a leap day eight years away
    /// costs a few thousand steps, not millions of minutes.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let [minutes, hours, doms, months, dows] = self.fields;
        let either_day = self.day_fields_restricted();
        if minutes == 0 || hours == 0 || months == 0 || !self.some_day_exists(either_day) {
            return None;
        }
        // Whole minutes: the next one after `t`.
        let start = t
            .with_second(0)?
            .with_nanosecond(0)?
            .checked_add_signed(chrono::Duration::minutes(1))?;
        let last_year = start.year().checked_add(YEARS_SEARCHED)?;
        let (mut year, mut month, mut day) = (start.year(), start.month(), start.day());
        let (mut hour, mut minute) = (start.hour(), start.minute());
        while year <= last_year {
            if !bit(months, month) || day > days_in_month(year, month) {
                (year, month) = if month == 12 {
                    (year + 1, 1)
                } else {
                    (year, month + 1)
                };
                (day, hour, minute) = (1, 0, 0);
                continue;
            }
            let weekday = NaiveDate::from_ymd_opt(year, month, day)?
                .weekday()
                .num_days_from_sunday();
            let (dom_ok, dow_ok) = (bit(doms, day), bit(dows, weekday));
            let day_ok = if either_day {
                dom_ok || dow_ok
            } else {
                dom_ok && dow_ok
            };
            // Moving to a later day (or hour) restarts the time of day from 0; only the first
            // day is bounded below by `start`. A day past the month's end moves to the next
            // month at the top of the loop.
            let Some(h) = day_ok.then(|| next_bit(hours, hour)).flatten() else {
                (day, hour, minute) = (day + 1, 0, 0);
                continue;
            };
            if h != hour {
                (hour, minute) = (h, 0);
            }
            match next_bit(minutes, minute) {
                Some(m) => {
                    return Utc.with_ymd_and_hms(year, month, day, hour, m, 0).single();
                }
                None => (hour, minute) = (hour + 1, 0),
            }
        }
        None
    }

    /// Whether both day fields are restricted, as crontab(5) decides it: a field that starts
    /// with `*` (including `*/2`) is unrestricted. Falls back to the bits for a `Cron` built
    /// by hand whose text is not five fields.
    pub fn day_fields_restricted(&self) -> bool {
        let parts: Vec<&str> = self.text.split_whitespace().collect();
        match parts.as_slice() {
            [_, _, dom, _, dow] => !dom.starts_with('*') && !dow.starts_with('*'),
            _ => self.fields[2] & ALL_DOMS != ALL_DOMS && self.fields[4] & ALL_DOWS != ALL_DOWS,
        }
    }

    /// Whether any calendar day can match at all. Without it, `0 0 31 4 *` would search the
    /// whole 400-year cycle before giving up.
    fn some_day_exists(&self, either_day: bool) -> bool {
        let [_, _, doms, months, dows] = self.fields;
        let any_dow = dows & ALL_DOWS != 0;
        if either_day && any_dow {
            return true; // every allowed month has every weekday
        }
        if !either_day && !any_dow {
            return false;
        }
        // Leap years give February 29 days.
        (1..=12).any(|m| bit(months, m) && (1..=days_in_month(2000, m)).any(|d| bit(doms, d)))
    }
}

/// The Gregorian calendar repeats every 400 years: a search that long finds every occurrence
/// there will ever be.
const YEARS_SEARCHED: i32 = 401;
const ALL_DOMS: u64 = ((1 << 32) - 1) & !1;
const ALL_DOWS: u64 = (1 << 7) - 1;

fn bit(field: u64, value: u32) -> bool {
    value < 64 && field & (1 << value) != 0
}

/// The smallest allowed value >= `from`.
fn next_bit(field: u64, from: u32) -> Option<u32> {
    let rest = field.checked_shr(from)?.checked_shl(from)?;
    (rest != 0).then(|| rest.trailing_zeros())
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
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

#[cfg(test)]
mod next_after_tests {
    use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};
    use proptest::prelude::*;

    use super::*;

    fn cron(text: &str) -> Cron {
        Cron::parse(text).unwrap()
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn next(expr: &str, after: &str) -> Option<String> {
        cron(expr)
            .next_after(at(after))
            .map(|t| t.format("%Y-%m-%dT%H:%M").to_string())
    }

    #[test]
    fn next_after_is_strictly_later_at_minute_resolution() {
        assert_eq!(
            next("* * * * *", "2026-11-21T10:00:30Z").as_deref(),
            Some("2026-11-21T10:01")
        );
        assert_eq!(
            next("* * * * *", "2026-11-21T10:00:00Z").as_deref(),
            Some("2026-11-21T10:01")
        );
        assert_eq!(
            next("0 6 * * *", "2026-11-21T06:00:00Z").as_deref(),
            Some("2026-11-22T06:00")
        );
    }

    #[test]
    fn next_after_weekly_on_a_weekday() {
        // 2026-11-23 is a Monday.
        assert_eq!(
            next("0 6 * * mon", "2026-11-23T06:30:00Z").as_deref(),
            Some("2026-11-30T06:00")
        );
        assert_eq!(
            next("0 6 * * mon", "2026-11-23T05:59:59Z").as_deref(),
            Some("2026-11-23T06:00")
        );
        assert_eq!(
            next("0 6 * * 1", "2026-11-24T00:00:00Z").as_deref(),
            Some("2026-11-30T06:00")
        );
    }

    #[test]
    fn next_after_rolls_hours_days_and_years() {
        assert_eq!(
            next("30 */6 * * *", "2026-11-21T23:45:00Z").as_deref(),
            Some("2026-11-22T00:30")
        );
        assert_eq!(
            next("5,10 9 * * *", "2026-11-21T09:07:00Z").as_deref(),
            Some("2026-11-21T09:10")
        );
        assert_eq!(
            next("0 0 1 1 *", "2026-12-31T23:59:00Z").as_deref(),
            Some("2027-01-01T00:00")
        );
    }

    #[test]
    fn next_after_skips_short_months() {
        assert_eq!(
            next("0 0 31 * *", "2026-04-01T00:00:00Z").as_deref(),
            Some("2026-05-31T00:00")
        );
        assert_eq!(
            next("0 0 31 * *", "2026-01-31T00:00:00Z").as_deref(),
            Some("2026-03-31T00:00")
        );
        assert_eq!(
            next("0 0 30 * *", "2027-01-30T12:00:00Z").as_deref(),
            Some("2027-03-30T00:00")
        );
    }

    #[test]
    fn next_after_finds_leap_days() {
        assert_eq!(
            next("0 0 29 2 *", "2027-03-01T00:00:00Z").as_deref(),
            Some("2028-02-29T00:00")
        );
        // 2100 is not a leap year (divisible by 100, not by 400); 2000 was.
        assert_eq!(
            next("0 0 29 2 *", "2096-03-01T00:00:00Z").as_deref(),
            Some("2104-02-29T00:00")
        );
        assert_eq!(
            next("0 0 29 feb *", "1999-01-01T00:00:00Z").as_deref(),
            Some("2000-02-29T00:00")
        );
    }

    #[test]
    fn next_after_quarterly_on_the_first() {
        assert_eq!(
            next("0 6 1 */3 *", "2026-01-01T06:00:00Z").as_deref(),
            Some("2026-04-01T06:00")
        );
        assert_eq!(
            next("0 6 1 */3 *", "2026-11-21T13:05:00Z").as_deref(),
            Some("2027-01-01T06:00")
        );
    }

    #[test]
    fn next_after_ors_the_day_fields_only_when_both_are_restricted() {
        // Both restricted: the 13th OR any Monday. 2026-11-01 is a Sunday.
        assert_eq!(
            next("0 0 13 * mon", "2026-11-01T00:00:00Z").as_deref(),
            Some("2026-11-02T00:00")
        );
        assert_eq!(
            next("0 0 13 * mon", "2026-11-09T00:00:00Z").as_deref(),
            Some("2026-11-13T00:00")
        );
        // Day of month starts with `*`: both must match (odd days that are Mondays).
        assert_eq!(
            next("0 0 */2 * mon", "2026-11-01T00:00:00Z").as_deref(),
            Some("2026-11-09T00:00")
        );
        // Day of week is `*`: only the day of month counts.
        assert_eq!(
            next("0 0 13 * *", "2026-11-01T00:00:00Z").as_deref(),
            Some("2026-11-13T00:00")
        );
    }

    #[test]
    fn next_after_is_none_for_days_that_never_come() {
        assert_eq!(next("0 0 30 2 *", "2026-01-01T00:00:00Z"), None);
        assert_eq!(next("0 0 31 4,6,9,11 *", "2026-01-01T00:00:00Z"), None);
        // With a weekday as well, the weekday alone still matches.
        assert_eq!(
            next("0 0 30 2 sun", "2026-01-01T00:00:00Z").as_deref(),
            Some("2026-02-01T00:00")
        );
    }

    /// The reference: crontab(5) matching, one calendar day and one minute at a time.
    fn reference_next(c: &Cron, after: DateTime<Utc>, days: u32) -> Option<DateTime<Utc>> {
        let parts: Vec<&str> = c.text.split_whitespace().collect();
        let either = !parts[2].starts_with('*') && !parts[4].starts_with('*');
        let has = |f: usize, v: u32| c.fields[f] & (1u64 << v) != 0;
        let mut date = after.date_naive();
        let first = after.hour() * 60 + after.minute() + 1;
        for i in 0..days {
            let (dom, dow) = (
                has(2, date.day()),
                has(4, date.weekday().num_days_from_sunday()),
            );
            let day_ok = if either { dom || dow } else { dom && dow };
            if day_ok && has(3, date.month()) {
                for m in if i == 0 { first } else { 0 }..1440 {
                    if has(1, m / 60) && has(0, m % 60) {
                        let t = date.and_hms_opt(m / 60, m % 60, 0).unwrap();
                        return Some(Utc.from_utc_datetime(&t));
                    }
                }
            }
            date = date.succ_opt().unwrap();
        }
        None
    }

    const MINUTES: &[&str] = &["*", "0", "*/15", "5,35", "59", "10-12"];
    const HOURS: &[&str] = &["*", "0", "6", "*/5", "9-17", "23"];
    const DOMS: &[&str] = &[
        "*", "1", "13", "29", "30", "31", "*/2", "1-7", "15,31", "2/10",
    ];
    const MONTHS: &[&str] = &["*", "2", "*/3", "4,6,9,11", "12", "1-2", "feb,aug"];
    const DOWS: &[&str] = &["*", "0", "5", "1-5", "*/2", "6,0", "7"];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn next_after_agrees_with_a_day_by_day_search(
            f in (0..MINUTES.len(), 0..HOURS.len(), 0..DOMS.len(), 0..MONTHS.len(), 0..DOWS.len()),
            start in 915_148_800i64..4_133_980_800, // 1999-01-01 .. 2101-01-01
        ) {
            let text = format!("{} {} {} {} {}", MINUTES[f.0], HOURS[f.1], DOMS[f.2], MONTHS[f.3], DOWS[f.4]);
            let c = cron(&text);
            let after = Utc.timestamp_opt(start, 0).unwrap();
            // 3,100 days is more than the 8 years between two leap days around 2100.
            let days = 3_100;
            let got = c.next_after(after);
            match reference_next(&c, after, days) {
                Some(want) => prop_assert_eq!(got, Some(want), "{} after {}", text, after),
                None => prop_assert!(
                    got.is_none_or(|g| g >= after + chrono::Duration::days(days.into()) - chrono::Duration::days(1)),
                    "{} after {}: got {:?}", text, after, got
                ),
            }
        }
    }
}
