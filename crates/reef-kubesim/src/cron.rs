//! CronJob schedules: the five-field cron syntax Kubernetes accepts (minute, hour, day of
//! month, month, day of week, with `*`, `?`, lists, ranges, steps and month and day names)
//! and the `@yearly`, `@monthly`, `@weekly`, `@daily`, `@hourly` shorthands, evaluated in UTC.
//!
//! As in cron (and the Kubernetes CronJob controller), when both the day of month and the day
//! of week are restricted, a day that matches either one runs.

use chrono::{DateTime, Datelike as _, Duration, NaiveTime, TimeZone as _, Timelike as _, Utc};

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    minutes: u64,
    hours: u64,
    days_of_month: u64,
    months: u64,
    days_of_week: u64,
    /// Whether the day of month (or of week) field was `*` or `?`.
    any_day_of_month: bool,
    any_day_of_week: bool,
}

const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// How far ahead [`Schedule::next_after`] looks before deciding a schedule never runs
/// (`0 0 30 2 *`, the 30th of February).
const HORIZON_DAYS: i64 = 366 * 5;

impl Schedule {
    /// Parses a schedule; the error says which field is wrong and why.
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let text = text.trim();
        let expanded = match text {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            other if other.starts_with('@') => return Err(format!("unrecognized descriptor: {other}")),
            other if other.starts_with("TZ=") || other.starts_with("CRON_TZ=") => {
                return Err("CronJob does not support a time zone in the schedule; use spec.timeZone".to_owned());
            }
            other => other,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!("expected exactly 5 fields, found {}: {text}", fields.len()));
        }
        let any = |f: &str| f == "*" || f == "?";
        Ok(Schedule {
            minutes: field(fields[0], "minute", 0, 59, &[])?,
            hours: field(fields[1], "hour", 0, 23, &[])?,
            days_of_month: field(fields[2], "day of month", 1, 31, &[])?,
            months: field(fields[3], "month", 1, 12, &MONTHS)?,
            // 7 is Sunday too, as in most crons.
            days_of_week: {
                let bits = field(fields[4], "day of week", 0, 7, &DAYS)?;
                (bits | (bits >> 7)) & 0x7f
            },
            any_day_of_month: any(fields[2]),
            any_day_of_week: any(fields[4]),
        })
    }

    fn runs_on(&self, day: DateTime<Utc>) -> bool {
        let month_ok = self.months & (1 << day.month()) != 0;
        let dom = self.days_of_month & (1 << day.day()) != 0;
        let dow = self.days_of_week & (1 << day.weekday().num_days_from_sunday()) != 0;
        let day_ok = match (self.any_day_of_month, self.any_day_of_week) {
            (true, true) => true,
            (true, false) => dow,
            (false, true) => dom,
            (false, false) => dom || dow,
        };
        month_ok && day_ok
    }

    /// The first time strictly after `t` (to the minute) at which the schedule runs, or
    /// `None` when it never runs in the next five years.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let start = t.with_second(0)?.with_nanosecond(0)? + Duration::minutes(1);
        let midnight = |d: DateTime<Utc>| Utc.from_utc_datetime(&d.date_naive().and_time(NaiveTime::MIN));
        let mut day = midnight(start);
        for _ in 0..HORIZON_DAYS {
            if self.runs_on(day) {
                for hour in 0..24 {
                    if self.hours & (1 << hour) == 0 {
                        continue;
                    }
                    for minute in 0..60 {
                        if self.minutes & (1 << minute) == 0 {
                            continue;
                        }
                        let at = day + Duration::hours(hour) + Duration::minutes(minute);
                        if at >= start {
                            return Some(at);
                        }
                    }
                }
            }
            day += Duration::days(1);
        }
        None
    }

    /// The latest time at or before `until` (to the minute) at which the schedule runs, or
    /// `None` when it did not run in the five years before: how the CronJob controller finds
    /// the most recent missed run, however many were missed.
    pub fn latest_until(&self, until: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let end = until.with_second(0)?.with_nanosecond(0)?;
        let mut day = Utc.from_utc_datetime(&end.date_naive().and_time(NaiveTime::MIN));
        for _ in 0..HORIZON_DAYS {
            if self.runs_on(day) {
                for hour in (0..24).rev() {
                    if self.hours & (1 << hour) == 0 {
                        continue;
                    }
                    for minute in (0..60).rev() {
                        if self.minutes & (1 << minute) == 0 {
                            continue;
                        }
                        let at = day + Duration::hours(hour) + Duration::minutes(minute);
                        if at <= end {
                            return Some(at);
                        }
                    }
                }
            }
            day -= Duration::days(1);
        }
        None
    }
}

/// One field as a bit set of the values it allows.
fn field(text: &str, what: &str, min: u32, max: u32, names: &[&str]) -> Result<u64, String> {
    let mut bits = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s.parse().map_err(|_| format!("{what}: invalid step {s:?} in {text:?}"))?;
                if step == 0 {
                    return Err(format!("{what}: step of zero in {text:?}"));
                }
                (r, step)
            }
            None => (part, 1),
        };
        let (low, high) = if range == "*" || range == "?" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, what, names, min)?, value(b, what, names, min)?)
        } else {
            let v = value(range, what, names, min)?;
            // `5/15` runs from 5 to the end of the range.
            (v, if step > 1 { max } else { v })
        };
        if low < min || high > max || low > high {
            return Err(format!("{what}: {range:?} is outside {min}-{max}"));
        }
        let mut v = low;
        while v <= high {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok(bits)
}

fn value(text: &str, what: &str, names: &[&str], first: u32) -> Result<u32, String> {
    if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
        return Ok(i as u32 + first);
    }
    text.parse().map_err(|_| format!("{what}: invalid value {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn next(schedule: &str, after: &str) -> String {
        Schedule::parse(schedule).unwrap().next_after(at(after)).unwrap().to_rfc3339()
    }

    #[test]
    fn fields_lists_ranges_steps_and_names() {
        assert_eq!(next("* * * * *", "2026-01-01T10:00:30Z"), "2026-01-01T10:01:00+00:00");
        assert_eq!(next("*/15 * * * *", "2026-01-01T10:01:00Z"), "2026-01-01T10:15:00+00:00");
        assert_eq!(next("5/20 * * * *", "2026-01-01T10:30:00Z"), "2026-01-01T10:45:00+00:00");
        assert_eq!(next("0 9-17/4 * * *", "2026-01-01T13:00:00Z"), "2026-01-01T17:00:00+00:00");
        assert_eq!(next("30 2 * JAN,jul *", "2026-02-01T00:00:00Z"), "2026-07-01T02:30:00+00:00");
        // 2026-01-01 is a Thursday.
        assert_eq!(next("0 0 * * MON-FRI", "2026-01-02T12:00:00Z"), "2026-01-05T00:00:00+00:00");
        assert_eq!(next("0 0 * * 7", "2026-01-01T00:00:00Z"), "2026-01-04T00:00:00+00:00");
        assert_eq!(next("@monthly", "2026-01-15T00:00:00Z"), "2026-02-01T00:00:00+00:00");
        assert_eq!(next("@hourly", "2026-01-15T00:00:00Z"), "2026-01-15T01:00:00+00:00");
    }

    #[test]
    fn a_restricted_day_of_month_and_week_run_on_either() {
        // The 13th, or any Friday: from Thursday 2026-01-01 the next is Friday the 2nd.
        assert_eq!(next("0 0 13 * 5", "2026-01-01T00:00:00Z"), "2026-01-02T00:00:00+00:00");
        assert_eq!(next("0 0 13 * *", "2026-01-01T00:00:00Z"), "2026-01-13T00:00:00+00:00");
    }

    #[test]
    fn an_impossible_date_never_runs() {
        assert_eq!(Schedule::parse("0 0 30 2 *").unwrap().next_after(at("2026-01-01T00:00:00Z")), None);
    }

    #[test]
    fn bad_schedules_say_what_is_wrong() {
        for (bad, says) in [
            ("* * * *", "expected exactly 5 fields"),
            ("60 * * * *", "minute"),
            ("* 24 * * *", "hour"),
            ("* * 0 * *", "day of month"),
            ("* * * foo *", "month"),
            ("*/0 * * * *", "step of zero"),
            ("@often", "unrecognized descriptor"),
            ("TZ=UTC * * * * *", "spec.timeZone"),
        ] {
            let e = Schedule::parse(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn the_latest_run_until_a_time_is_found_however_far_back() {
        let s = Schedule::parse("*/10 * * * *").unwrap();
        assert_eq!(s.latest_until(at("2026-01-01T01:05:30Z")).unwrap().to_rfc3339(), "2026-01-01T01:00:00+00:00");
        assert_eq!(s.latest_until(at("2026-01-01T01:10:00Z")).unwrap().to_rfc3339(), "2026-01-01T01:10:00+00:00");
        let yearly = Schedule::parse("@yearly").unwrap();
        assert_eq!(yearly.latest_until(at("2026-11-23T08:00:00Z")).unwrap().to_rfc3339(), "2026-01-01T00:00:00+00:00");
        assert_eq!(Schedule::parse("0 0 30 2 *").unwrap().latest_until(at("2026-01-01T00:00:00Z")), None);
    }
}
