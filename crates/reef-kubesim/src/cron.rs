//! CronJob schedules as Kubernetes reads them (robfig/cron's `ParseStandard`): five fields
//! (minute, hour, day of month, month, day of week 0-6, with `*`, `?`, lists, ranges, steps
//! and month and day names), the `@yearly` ... `@hourly` descriptors and `@every <duration>`,
//! evaluated in UTC. Parse errors are cron's messages, which the API server returns.
//!
//! As in cron, when both the day of month and the day of week are restricted, a day that
//! matches either one runs.

use chrono::{DateTime, Datelike as _, Duration, NaiveTime, TimeZone as _, Timelike as _, Utc};

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// `@every <duration>`: runs at a constant interval instead of on the fields.
    every: Option<Duration>,
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
    /// Parses a schedule; the error is robfig/cron's message.
    pub fn parse(text: &str) -> Result<Schedule, String> {
        if text.is_empty() {
            return Err("empty spec string".to_owned());
        }
        if text.starts_with('@') {
            return descriptor(text);
        }
        let fields: Vec<&str> = text.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!("expected exactly 5 fields, found {}: [{}]", fields.len(), fields.join(" ")));
        }
        let any = |f: &str| f.starts_with('*') || f.starts_with('?');
        Ok(Schedule {
            every: None,
            minutes: field(fields[0], 0, 59, &[])?,
            hours: field(fields[1], 0, 23, &[])?,
            days_of_month: field(fields[2], 1, 31, &[])?,
            months: field(fields[3], 1, 12, &MONTHS)?,
            days_of_week: field(fields[4], 0, 6, &DAYS)?,
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
        if let Some(every) = self.every {
            // cron's ConstantDelaySchedule: whole seconds after `t`.
            return Some(t.with_nanosecond(0)? + every);
        }
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

    /// The latest run in `(after, until]`, or `None`: how the CronJob controller finds the
    /// most recent missed run, however many were missed.
    pub fn latest_run(&self, after: DateTime<Utc>, until: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if let Some(every) = self.every {
            let first = self.next_after(after)?;
            if first > until {
                return None;
            }
            let steps = (until - first).num_seconds() / every.num_seconds().max(1);
            return Some(first + every * steps as i32);
        }
        self.latest_on_fields(until).filter(|at| *at > after)
    }

    /// The latest time at or before `until` (to the minute) at which the fields run, looking
    /// back at most five years.
    fn latest_on_fields(&self, until: DateTime<Utc>) -> Option<DateTime<Utc>> {
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

/// A descriptor: `@daily` and friends, or `@every <duration>`.
fn descriptor(spec: &str) -> Result<Schedule, String> {
    let fields = match spec {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        _ => {
            let Some(text) = spec.strip_prefix("@every ") else {
                return Err(format!("unrecognized descriptor: {spec}"));
            };
            let delay = go_duration(text).map_err(|e| format!("failed to parse duration {spec}: {e}"))?;
            // cron rounds the delay to whole seconds, at least one.
            let seconds = (delay.num_milliseconds() as f64 / 1000.0).round().max(1.0) as i64;
            let mut every = Schedule::parse("* * * * *")?;
            every.every = Some(Duration::seconds(seconds));
            return Ok(every);
        }
    };
    Schedule::parse(fields)
}

/// One field as a bit set of the values it allows.
fn field(text: &str, min: u32, max: u32, names: &[&str]) -> Result<u64, String> {
    let mut bits = 0u64;
    for range in text.split(',').filter(|r| !r.is_empty()) {
        bits |= range_bits(range, min, max, names)?;
    }
    Ok(bits)
}

/// One comma-separated part of a field: `*`, `?`, `n`, `a-b`, each with an optional `/step`.
fn range_bits(expr: &str, min: u32, max: u32, names: &[&str]) -> Result<u64, String> {
    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_and_high: Vec<&str> = range_and_step[0].split('-').collect();
    let single = low_and_high.len() == 1;
    let (start, mut end) = if matches!(low_and_high[0], "*" | "?") {
        (min, max)
    } else {
        let start = int_or_name(low_and_high[0], min, names)?;
        match low_and_high.len() {
            1 => (start, start),
            2 => (start, int_or_name(low_and_high[1], min, names)?),
            _ => return Err(format!("too many hyphens: {expr}")),
        }
    };
    let step = match range_and_step.len() {
        1 => 1,
        2 => {
            let step = int(range_and_step[1])?;
            if single {
                end = max;
            }
            step
        }
        _ => return Err(format!("too many slashes: {expr}")),
    };
    if start < min {
        return Err(format!("beginning of range ({start}) below minimum ({min}): {expr}"));
    }
    if end > max {
        return Err(format!("end of range ({end}) above maximum ({max}): {expr}"));
    }
    if start > end {
        return Err(format!("beginning of range ({start}) beyond end of range ({end}): {expr}"));
    }
    if step == 0 {
        return Err(format!("step of range should be a positive number: {expr}"));
    }
    let mut bits = 0u64;
    let mut v = start;
    while v <= end {
        bits |= 1 << v;
        v += step;
    }
    Ok(bits)
}

/// A number, or one of `names` (which stand for `first`, `first + 1`, ...).
fn int_or_name(expr: &str, first: u32, names: &[&str]) -> Result<u32, String> {
    let lower = expr.to_lowercase();
    match names.iter().position(|n| *n == lower) {
        Some(i) => Ok(first + i as u32),
        None => int(expr),
    }
}

/// cron's `mustParseInt`: Go's `strconv.Atoi`, and no negative numbers.
fn int(expr: &str) -> Result<u32, String> {
    let digits = expr.strip_prefix(['+', '-']).unwrap_or(expr);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("failed to parse int from {expr}: strconv.Atoi: parsing {expr:?}: invalid syntax"));
    }
    let n: i64 = expr
        .parse()
        .map_err(|_| format!("failed to parse int from {expr}: strconv.Atoi: parsing {expr:?}: value out of range"))?;
    if n < 0 {
        return Err(format!("negative number ({n}) not allowed: {expr}"));
    }
    // Anything this large is above every field's maximum; say so rather than wrap.
    Ok(u32::try_from(n).unwrap_or(u32::MAX).min(64))
}

/// Go's `time.ParseDuration`; the error is Go's.
fn go_duration(text: &str) -> Result<Duration, String> {
    let quoted = format!("{text:?}");
    let invalid = || format!("time: invalid duration {quoted}");
    let negative = text.starts_with('-');
    let mut rest = text.strip_prefix(['+', '-']).unwrap_or(text);
    if rest == "0" {
        return Ok(Duration::zero());
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut nanos = 0f64;
    while !rest.is_empty() {
        let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let number = &rest[..number_end];
        if number.is_empty() || number == "." {
            return Err(invalid());
        }
        let value: f64 = number.parse().map_err(|_| invalid())?;
        rest = &rest[number_end..];
        let unit_end = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        let scale = match unit {
            "" => return Err(format!("time: missing unit in duration {quoted}")),
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(format!("time: unknown unit {unit:?} in duration {quoted}")),
        };
        nanos += value * scale;
        rest = &rest[unit_end..];
    }
    let nanos = if negative { -nanos } else { nanos };
    Ok(Duration::nanoseconds(nanos as i64))
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
        assert_eq!(next("0 0 * * SUN", "2026-01-01T00:00:00Z"), "2026-01-04T00:00:00+00:00");
        assert_eq!(next("@every 1h30m", "2026-01-01T00:00:00.5Z"), "2026-01-01T01:30:00+00:00");
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
    fn bad_schedules_get_crons_messages() {
        let cases = [
            ("", "empty spec string"),
            ("* * * *", "expected exactly 5 fields, found 4: [* * * *]"),
            ("60 * * * *", "end of range (60) above maximum (59): 60"),
            ("* * 0 * *", "beginning of range (0) below minimum (1): 0"),
            ("* * * * 7", "end of range (7) above maximum (6): 7"),
            ("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"),
            ("*/0 * * * *", "step of range should be a positive number: */0"),
            ("x * * * *", "failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax"),
            ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
            ("@often", "unrecognized descriptor: @often"),
            ("@every 5x", "failed to parse duration @every 5x: time: unknown unit \"x\" in duration \"5x\""),
            ("@every 5", "failed to parse duration @every 5: time: missing unit in duration \"5\""),
        ];
        for (spec, message) in cases {
            assert_eq!(Schedule::parse(spec).err(), Some(message.to_owned()), "{spec}");
        }
        for ok in ["*/5 * * * *", "0 3 * * 1-5", "15,45 */2 1 JAN-jun SUN", "@hourly", "@every 1h30m", "0 0 ? * *"] {
            assert!(Schedule::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn the_latest_run_until_a_time_is_found_however_far_back() {
        let long_ago = at("2020-01-01T00:00:00Z");
        let latest = |spec: &str, after: DateTime<Utc>, until: &str| {
            Schedule::parse(spec).unwrap().latest_run(after, at(until)).map(|t| t.to_rfc3339())
        };
        assert_eq!(latest("*/10 * * * *", long_ago, "2026-01-01T01:05:30Z").unwrap(), "2026-01-01T01:00:00+00:00");
        assert_eq!(latest("*/10 * * * *", long_ago, "2026-01-01T01:10:00Z").unwrap(), "2026-01-01T01:10:00+00:00");
        assert_eq!(latest("*/10 * * * *", at("2026-01-01T01:00:00Z"), "2026-01-01T01:05:00Z"), None);
        assert_eq!(latest("@yearly", long_ago, "2026-11-23T08:00:00Z").unwrap(), "2026-01-01T00:00:00+00:00");
        assert_eq!(latest("0 0 30 2 *", long_ago, "2026-01-01T00:00:00Z"), None);
        assert_eq!(
            latest("@every 2h", at("2026-01-01T00:00:00Z"), "2026-01-01T05:00:00Z").unwrap(),
            "2026-01-01T04:00:00+00:00"
        );
    }
}
