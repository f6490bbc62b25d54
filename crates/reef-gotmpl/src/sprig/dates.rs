//! Dates: `now`, `date`, `dateInZone`, `htmlDate`, `htmlDateInZone`, `dateModify`,
//! `toDate`, `unixEpoch`, `duration`, `durationRound`, `ago` and their aliases, with Go's
//! reference-time layouts (`2006-01-02T15:04:05Z07:00`) and `time.Duration` syntax. Time
//! values are `time.Time` objects; the local zone is UTC, as in a container without
//! `/etc/localtime`.

use std::rc::Rc;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, Offset, TimeZone, Timelike, Utc};
use chrono_tz::{OffsetName, Tz};

use crate::func::{FuncError, FuncMap};
use crate::value::{Object, Value};

use super::sig::{ANY, STR, fixed};
use super::strings::go_quote;
use super::{arg, fail, str_arg};

/// A time's location, as Go's `*time.Location`.
#[derive(Debug, Clone, PartialEq)]
enum Loc {
    Utc,
    Local,
    Zone(Tz),
    /// `FixedZone(name, offset seconds)`.
    Fixed(String, i32),
}

impl Loc {
    fn load(name: &str) -> Option<Loc> {
        match name {
            "" | "UTC" => Some(Loc::Utc),
            "Local" => Some(Loc::Local),
            _ => name.parse::<Tz>().ok().map(Loc::Zone),
        }
    }

    fn name(&self) -> String {
        match self {
            Loc::Utc => "UTC".to_owned(),
            Loc::Local => "Local".to_owned(),
            Loc::Zone(tz) => tz.name().to_owned(),
            Loc::Fixed(name, _) => name.clone(),
        }
    }

    /// The zone abbreviation and offset in effect at `t`.
    fn zone_at(&self, t: &DateTime<Utc>) -> (String, i32) {
        match self {
            Loc::Utc | Loc::Local => ("UTC".to_owned(), 0),
            Loc::Fixed(name, offset) => (name.clone(), *offset),
            Loc::Zone(tz) => {
                let off = tz.offset_from_utc_datetime(&t.naive_utc());
                let secs = off.fix().local_minus_utc();
                let abbr = off.abbreviation().map(str::to_owned).unwrap_or_default();
                (abbr, secs)
            }
        }
    }
}

/// A Go `time.Time`.
#[derive(Debug, Clone)]
struct GoTime {
    utc: DateTime<Utc>,
    loc: Loc,
}

impl GoTime {
    fn now() -> GoTime {
        GoTime { utc: Utc::now(), loc: Loc::Local }
    }

    fn unix(secs: i64) -> GoTime {
        GoTime { utc: DateTime::from_timestamp(secs, 0).unwrap_or_default(), loc: Loc::Local }
    }

    fn zero() -> GoTime {
        let naive = NaiveDate::from_ymd_opt(1, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0));
        GoTime { utc: naive.map(|n| n.and_utc()).unwrap_or_default(), loc: Loc::Utc }
    }

    fn in_loc(&self, loc: Loc) -> GoTime {
        GoTime { utc: self.utc, loc }
    }

    /// The wall clock in the time's zone, with the zone's abbreviation and offset.
    fn local(&self) -> (NaiveDateTime, String, i32) {
        let (abbr, offset) = self.loc.zone_at(&self.utc);
        let wall = self.utc.naive_utc() + chrono::Duration::seconds(i64::from(offset));
        (wall, abbr, offset)
    }

    fn format(&self, layout: &str) -> String {
        format_time(self, layout)
    }

    /// The time held by a template value: a `time.Time` object, or nothing.
    fn from_value(v: &Value) -> Option<GoTime> {
        let Value::Object(o) = v else { return None };
        if o.type_name() != "time.Time" {
            return None;
        }
        let secs = match o.field("Unix")? {
            Value::Int64(s) | Value::Int(s) => s,
            _ => return None,
        };
        let nanos = match o.field("Nanosecond")? {
            Value::Int(n) | Value::Int64(n) => u32::try_from(n).unwrap_or(0),
            _ => 0,
        };
        let utc = DateTime::from_timestamp(secs, nanos)?;
        let name = match o.field("Location")? {
            Value::String(ref s) => s.to_string(),
            _ => String::new(),
        };
        let loc = match Loc::load(&name) {
            Some(loc) if !name.is_empty() => loc,
            _ => {
                // A fixed zone: its offset is in the printed form (`... -0700 NAME`).
                let shown = o.display();
                let offset = shown.split(' ').nth(2).map_or(0, parse_offset_text);
                Loc::Fixed(name, offset)
            }
        };
        Some(GoTime { utc, loc })
    }
}

fn parse_offset_text(s: &str) -> i32 {
    let sign = if s.starts_with('-') { -1 } else { 1 };
    let digits = s.trim_start_matches(['+', '-']);
    let h: i32 = digits.get(0..2).and_then(|d| d.parse().ok()).unwrap_or(0);
    let m: i32 = digits.get(2..4).and_then(|d| d.parse().ok()).unwrap_or(0);
    sign * (h * 3600 + m * 60)
}

impl Object for GoTime {
    fn type_name(&self) -> &str {
        "time.Time"
    }

    fn field(&self, name: &str) -> Option<Value> {
        let (wall, _, _) = self.local();
        Some(match name {
            "Unix" => Value::Int64(self.utc.timestamp()),
            "UnixNano" => Value::Int64(self.utc.timestamp_nanos_opt().unwrap_or(i64::MIN)),
            "Nanosecond" => Value::Int(i64::from(self.utc.timestamp_subsec_nanos())),
            "Location" => Value::from(self.loc.name()),
            "Year" => Value::Int(i64::from(wall.year())),
            "YearDay" => Value::Int(i64::from(wall.ordinal())),
            "Day" => Value::Int(i64::from(wall.day())),
            "Hour" => Value::Int(i64::from(wall.hour())),
            "Minute" => Value::Int(i64::from(wall.minute())),
            "Second" => Value::Int(i64::from(wall.second())),
            "UTC" => Value::Object(Rc::new(self.in_loc(Loc::Utc))),
            "Local" => Value::Object(Rc::new(self.in_loc(Loc::Local))),
            "String" => Value::from(self.display()),
            "IsZero" => Value::Bool(self.utc == GoTime::zero().utc),
            _ => return None,
        })
    }

    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        match (name, args) {
            ("Format", [Value::String(layout)]) => Some(Ok(Value::from(self.format(layout)))),
            _ => None,
        }
    }

    fn display(&self) -> String {
        self.format("2006-01-02 15:04:05.999999999 -0700 MST")
    }
}

/// A `time.Time` as BurntSushi/toml decodes a date-time: the instant `utc`, shown at UTC
/// offset `offset` seconds in UTC (`None`) or in a fixed zone of the given name (an offset
/// date-time's zone has no name; local date-times, dates and times have their own).
pub(crate) fn toml_time(utc: NaiveDateTime, offset: i32, zone: Option<&str>) -> Value {
    let utc = utc.and_utc();
    let loc = match zone {
        None => Loc::Utc,
        Some(name) => Loc::Fixed(name.to_owned(), offset),
    };
    time_value(GoTime { utc, loc })
}

fn time_value(t: GoTime) -> Value {
    Value::Object(Rc::new(t))
}

/// Sprig's reading of a date argument: a time, or Unix seconds as `int`/`int64`; anything
/// else is now.
fn date_arg(v: &Value) -> GoTime {
    match v {
        Value::Int(n) | Value::Int64(n) => GoTime::unix(*n),
        other => GoTime::from_value(other).unwrap_or_else(GoTime::now),
    }
}

fn date_in_zone(layout: &str, date: &Value, zone: &str) -> String {
    let loc = Loc::load(zone).unwrap_or(Loc::Utc);
    date_arg(date).in_loc(loc).format(layout)
}

/// The `time.Time` a function was given (its signature says `time.Time`).
fn time_arg(v: &Value) -> Result<GoTime, FuncError> {
    GoTime::from_value(v)
        .ok_or_else(|| fail(format!("wrong type for value; expected time.Time; got {}", v.type_name())))
}

pub(super) fn register(map: &mut FuncMap) {
    map.add("now", fixed(&[]), |_| Ok(time_value(GoTime::now())));
    map.add("date", fixed(&[STR, ANY]), |a| Ok(Value::from(date_in_zone(&str_arg(a, 0), arg(a, 1), "Local"))));
    for name in ["dateInZone", "date_in_zone"] {
        map.add(name, fixed(&[STR, ANY, STR]), |a| {
            Ok(Value::from(date_in_zone(&str_arg(a, 0), arg(a, 1), &str_arg(a, 2))))
        });
    }
    map.add("htmlDate", fixed(&[ANY]), |a| Ok(Value::from(date_in_zone("2006-01-02", arg(a, 0), "Local"))));
    map.add("htmlDateInZone", fixed(&[ANY, STR]), |a| {
        Ok(Value::from(date_in_zone("2006-01-02", arg(a, 0), &str_arg(a, 1))))
    });
    for name in ["dateModify", "date_modify"] {
        map.add(name, fixed(&[STR, ANY]), |a| {
            let t = time_arg(arg(a, 1))?;
            Ok(time_value(match parse_duration(&str_arg(a, 0)) {
                Ok(d) => add_nanos(&t, d),
                Err(_) => t,
            }))
        });
    }
    for name in ["mustDateModify", "must_date_modify"] {
        map.add(name, fixed(&[STR, ANY]), |a| {
            let t = time_arg(arg(a, 1))?;
            let d = parse_duration(&str_arg(a, 0)).map_err(fail)?;
            Ok(time_value(add_nanos(&t, d)))
        });
    }
    map.add("toDate", fixed(&[STR, STR]), |a| {
        Ok(time_value(parse_time(&str_arg(a, 0), &str_arg(a, 1)).unwrap_or_else(|_| GoTime::zero())))
    });
    map.add("mustToDate", fixed(&[STR, STR]), |a| {
        parse_time(&str_arg(a, 0), &str_arg(a, 1)).map(time_value).map_err(fail)
    });
    map.add("unixEpoch", fixed(&[ANY]), |a| Ok(Value::from(time_arg(arg(a, 0))?.utc.timestamp().to_string())));
    map.add("duration", fixed(&[ANY]), |a| {
        let secs = match arg(a, 0) {
            Value::String(s) => super::conversion::parse_int(s, 10, false).unwrap_or(0),
            Value::Int64(n) => *n,
            _ => 0,
        };
        Ok(Value::from(format_duration(i128::from(secs) * 1_000_000_000)))
    });
    map.add("durationRound", fixed(&[ANY]), |a| {
        let d: i128 = match arg(a, 0) {
            Value::String(s) => parse_duration(s).unwrap_or(0),
            Value::Int64(n) => i128::from(*n),
            other => GoTime::from_value(other).map_or(0, |t| since(&t)),
        };
        Ok(Value::from(duration_round(d)))
    });
    map.add("ago", fixed(&[ANY]), |a| {
        let t = date_arg(arg(a, 0));
        let d = since(&t);
        // Round to the second, halves away from zero.
        let rounded = (d + d.signum() * 500_000_000) / 1_000_000_000 * 1_000_000_000;
        Ok(Value::from(format_duration(rounded)))
    });
}

fn since(t: &GoTime) -> i128 {
    let now = Utc::now();
    i128::from((now - t.utc).num_nanoseconds().unwrap_or(i64::MAX))
}

fn add_nanos(t: &GoTime, nanos: i128) -> GoTime {
    let d = chrono::Duration::nanoseconds(i64::try_from(nanos).unwrap_or(i64::MAX));
    GoTime { utc: t.utc + d, loc: t.loc.clone() }
}

fn duration_round(d: i128) -> String {
    let u = d.unsigned_abs();
    const SECOND: u128 = 1_000_000_000;
    let units: [(u128, &str); 6] = [
        (SECOND * 3600 * 24 * 365, "y"),
        (SECOND * 3600 * 24 * 30, "mo"),
        (SECOND * 3600 * 24, "d"),
        (SECOND * 3600, "h"),
        (SECOND * 60, "m"),
        (SECOND, "s"),
    ];
    for (size, suffix) in units {
        if u > size {
            return format!("{}{suffix}", u / size);
        }
    }
    "0s".to_owned()
}

/// Go's `Duration.String`: `1h1m1s`, `1.5s`, `100ms`, `0s`.
pub(crate) fn format_duration(d: i128) -> String {
    if d == 0 {
        return "0s".to_owned();
    }
    let neg = d < 0;
    let u = d.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        // Sub-second: ns, µs or ms with a fraction.
        let (unit, scale) = if u < 1_000 {
            ("ns", 1)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&fraction(u, scale));
        out.push_str(unit);
    } else {
        let secs_total = u / 1_000_000_000;
        let frac = u % 1_000_000_000;
        let (h, m, s) = (secs_total / 3600, secs_total / 60 % 60, secs_total % 60);
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if h > 0 || m > 0 {
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&fraction(s * 1_000_000_000 + frac, 1_000_000_000));
        out.push('s');
    }
    if neg { format!("-{out}") } else { out }
}

/// `v / scale` with the fraction's trailing zeros removed.
fn fraction(v: u128, scale: u128) -> String {
    let whole = v / scale;
    let rest = v % scale;
    if rest == 0 {
        return whole.to_string();
    }
    let width = scale.to_string().len() - 1;
    let frac = format!("{rest:0width$}");
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

/// Go's `time.ParseDuration`, in nanoseconds.
pub(crate) fn parse_duration(s: &str) -> Result<i128, String> {
    let invalid = || format!("time: invalid duration {}", go_quote(s));
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: f64 = 0.0;
    let mut exact: i128 = 0;
    while !rest.is_empty() {
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let num = &rest[..num_end];
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return Err(invalid());
        }
        rest = &rest[num_end..];
        let unit_end = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        rest = &rest[unit_end..];
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration {}", go_quote(s)));
        }
        let scale: i128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!("time: unknown unit {} in duration {}", go_quote(unit), go_quote(s)));
            }
        };
        let (int_part, frac_part) = num.split_once('.').unwrap_or((num, ""));
        let whole: i128 = if int_part.is_empty() { 0 } else { int_part.parse().map_err(|_| invalid())? };
        exact += whole * scale;
        if !frac_part.is_empty() {
            let f: f64 = format!("0.{frac_part}").parse().map_err(|_| invalid())?;
            #[allow(clippy::cast_precision_loss)]
            let part = f * scale as f64;
            total += part;
        }
        if exact > i128::from(i64::MAX) {
            return Err(invalid());
        }
    }
    #[allow(clippy::cast_possible_truncation)]
    let d = exact + total as i128;
    Ok(if neg { -d } else { d })
}

// ---- Go layouts -------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    Tz,
    /// Numeric zone: (`Z` for UTC, colons, seconds, hours only).
    NumTz {
        iso: bool,
        colon: bool,
        seconds: bool,
        hours_only: bool,
    },
    /// Fractional seconds: digits, and whether trailing zeros are dropped (`9`s).
    Frac {
        digits: usize,
        trim: bool,
        sep: char,
    },
}

fn starts_lower(s: &str) -> bool {
    s.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
}

/// Go's `nextStdChunk`: the literal before the next element, the element and its text,
/// and the rest.
fn next_chunk(layout: &str) -> (&str, Option<(Std, &str)>, &str) {
    let b = layout.as_bytes();
    let at = |i: usize, s: &str| layout[i..].starts_with(s);
    for i in 0..b.len() {
        let found: Option<(Std, usize)> = match b[i] {
            b'J' if at(i, "Jan") => {
                if at(i, "January") {
                    Some((Std::LongMonth, 7))
                } else if !starts_lower(&layout[i + 3..]) {
                    Some((Std::Month, 3))
                } else {
                    None
                }
            }
            b'M' if at(i, "Mon") => {
                if at(i, "Monday") {
                    Some((Std::LongWeekDay, 6))
                } else if !starts_lower(&layout[i + 3..]) {
                    Some((Std::WeekDay, 3))
                } else {
                    None
                }
            }
            b'M' if at(i, "MST") => Some((Std::Tz, 3)),
            b'0' if at(i, "002") => Some((Std::ZeroYearDay, 3)),
            b'0' if i + 1 < b.len() && (b'1'..=b'6').contains(&b[i + 1]) => {
                let std = [Std::ZeroMonth, Std::ZeroDay, Std::ZeroHour12, Std::ZeroMinute, Std::ZeroSecond, Std::Year]
                    [usize::from(b[i + 1] - b'1')];
                Some((std, 2))
            }
            b'1' => Some(if at(i, "15") { (Std::Hour, 2) } else { (Std::NumMonth, 1) }),
            b'2' => Some(if at(i, "2006") { (Std::LongYear, 4) } else { (Std::Day, 1) }),
            b'_' if at(i, "_2") => {
                if at(i, "_2006") {
                    return (&layout[..i + 1], Some((Std::LongYear, "2006")), &layout[i + 5..]);
                }
                Some((Std::UnderDay, 2))
            }
            b'_' if at(i, "__2") => Some((Std::UnderYearDay, 3)),
            b'3' => Some((Std::Hour12, 1)),
            b'4' => Some((Std::Minute, 1)),
            b'5' => Some((Std::Second, 1)),
            b'P' if at(i, "PM") => Some((Std::PM, 2)),
            b'p' if at(i, "pm") => Some((Std::Pm, 2)),
            b'-' | b'Z' => {
                let iso = b[i] == b'Z';
                let variants: [(&str, bool, bool, bool); 5] = [
                    ("070000", false, true, false),
                    ("07:00:00", true, true, false),
                    ("0700", false, false, false),
                    ("07:00", true, false, false),
                    ("07", false, false, true),
                ];
                variants.iter().find(|(v, ..)| at(i + 1, v)).map(|(v, colon, seconds, hours_only)| {
                    (Std::NumTz { iso, colon: *colon, seconds: *seconds, hours_only: *hours_only }, v.len() + 1)
                })
            }
            c @ (b'.' | b',') if i + 1 < b.len() && (b[i + 1] == b'0' || b[i + 1] == b'9') => {
                let ch = b[i + 1];
                let mut j = i + 1;
                while j < b.len() && b[j] == ch {
                    j += 1;
                }
                if j < b.len() && b[j].is_ascii_digit() {
                    None
                } else {
                    Some((Std::Frac { digits: j - i - 1, trim: ch == b'9', sep: char::from(c) }, j - i))
                }
            }
            _ => None,
        };
        if let Some((std, len)) = found {
            return (&layout[..i], Some((std, &layout[i..i + len])), &layout[i + len..]);
        }
    }
    (layout, None, "")
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

fn format_time(t: &GoTime, layout: &str) -> String {
    let (wall, abbr, offset) = t.local();
    let nanos = t.utc.timestamp_subsec_nanos();
    let mut out = String::new();
    let mut rest = layout;
    loop {
        let (prefix, std, after) = next_chunk(rest);
        out.push_str(prefix);
        let Some((std, _)) = std else { break };
        rest = after;
        let month = wall.month() as usize;
        let hour12 = match wall.hour() % 12 {
            0 => 12,
            h => h,
        };
        match std {
            Std::LongMonth => out.push_str(MONTHS[month - 1]),
            Std::Month => out.push_str(&MONTHS[month - 1][..3]),
            Std::NumMonth => out.push_str(&month.to_string()),
            Std::ZeroMonth => out.push_str(&format!("{month:02}")),
            Std::LongWeekDay => out.push_str(DAYS[wall.weekday().num_days_from_sunday() as usize]),
            Std::WeekDay => out.push_str(&DAYS[wall.weekday().num_days_from_sunday() as usize][..3]),
            Std::Day => out.push_str(&wall.day().to_string()),
            Std::UnderDay => out.push_str(&format!("{:>2}", wall.day())),
            Std::ZeroDay => out.push_str(&format!("{:02}", wall.day())),
            Std::UnderYearDay => out.push_str(&format!("{:>3}", wall.ordinal())),
            Std::ZeroYearDay => out.push_str(&format!("{:03}", wall.ordinal())),
            Std::Hour => out.push_str(&format!("{:02}", wall.hour())),
            Std::Hour12 => out.push_str(&hour12.to_string()),
            Std::ZeroHour12 => out.push_str(&format!("{hour12:02}")),
            Std::Minute => out.push_str(&wall.minute().to_string()),
            Std::ZeroMinute => out.push_str(&format!("{:02}", wall.minute())),
            Std::Second => out.push_str(&wall.second().to_string()),
            Std::ZeroSecond => out.push_str(&format!("{:02}", wall.second())),
            Std::LongYear => out.push_str(&format!("{:04}", wall.year())),
            Std::Year => out.push_str(&format!("{:02}", wall.year().rem_euclid(100))),
            Std::PM => out.push_str(if wall.hour() >= 12 { "PM" } else { "AM" }),
            Std::Pm => out.push_str(if wall.hour() >= 12 { "pm" } else { "am" }),
            Std::Tz => {
                if abbr.is_empty() {
                    let zone = offset / 60;
                    let sign = if zone < 0 { '-' } else { '+' };
                    out.push_str(&format!("{sign}{:02}{:02}", zone.abs() / 60, zone.abs() % 60));
                } else {
                    out.push_str(&abbr);
                }
            }
            Std::NumTz { iso, colon, seconds, hours_only } => {
                if iso && offset == 0 {
                    out.push('Z');
                    continue;
                }
                let sign = if offset < 0 { '-' } else { '+' };
                let abs = offset.abs();
                out.push(sign);
                out.push_str(&format!("{:02}", abs / 3600));
                if !hours_only {
                    if colon {
                        out.push(':');
                    }
                    out.push_str(&format!("{:02}", abs / 60 % 60));
                }
                if seconds {
                    if colon {
                        out.push(':');
                    }
                    out.push_str(&format!("{:02}", abs % 60));
                }
            }
            Std::Frac { digits, trim, sep } => {
                let all = format!("{nanos:09}");
                let digits = digits.min(9);
                if trim {
                    let kept = all[..digits].trim_end_matches('0');
                    if !kept.is_empty() {
                        out.push(sep);
                        out.push_str(kept);
                    }
                } else {
                    out.push(sep);
                    out.push_str(&all[..digits]);
                }
            }
        }
    }
    out
}

/// Parsed fields, before they make a time.
#[derive(Debug, Default)]
struct Fields {
    year: i32,
    month: u32,
    day: u32,
    yday: Option<u32>,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
    pm: Option<bool>,
    offset: Option<i32>,
    zone_name: Option<String>,
}

/// Takes `n` digits (exactly, or 1..=n when `flexible`) from the front of `s`.
fn take_digits(s: &str, n: usize, flexible: bool) -> Option<(u32, &str)> {
    let count = s.bytes().take(n).take_while(u8::is_ascii_digit).count();
    if count == 0 || (!flexible && count < n) {
        return None;
    }
    Some((s[..count].parse().ok()?, &s[count..]))
}

fn lookup_name<'a>(s: &'a str, names: &[&str], short: bool) -> Option<(usize, &'a str)> {
    names.iter().enumerate().find_map(|(i, name)| {
        let name = if short { &name[..3] } else { name };
        let head = s.get(..name.len())?;
        head.eq_ignore_ascii_case(name).then(|| (i, &s[name.len()..]))
    })
}

/// Go's `time.ParseInLocation(layout, value, time.Local)`, with Go's error messages.
fn parse_time(layout: &str, value: &str) -> Result<GoTime, String> {
    let q = go_quote;
    let cannot = |v: &str, elem: &str| {
        format!("parsing time {} as {}: cannot parse {} as {}", q(value), q(layout), q(v), q(elem))
    };
    let mut f = Fields { year: 0, month: 1, day: 1, ..Fields::default() };
    let (mut lay, mut val) = (layout, value);
    loop {
        let (prefix, std, after) = next_chunk(lay);
        if !val.starts_with(prefix) {
            return Err(cannot(val, prefix));
        }
        val = &val[prefix.len()..];
        let Some((std, text)) = std else {
            if !val.is_empty() {
                return Err(format!("parsing time {}: extra text: {}", q(value), q(val)));
            }
            break;
        };
        lay = after;
        let fail_here = || cannot(val, text);
        match std {
            Std::LongYear => {
                let (y, rest) = take_digits(val, 4, false).ok_or_else(fail_here)?;
                f.year = y as i32;
                val = rest;
            }
            Std::Year => {
                let (y, rest) = take_digits(val, 2, false).ok_or_else(fail_here)?;
                f.year = if y >= 69 { 1900 + y as i32 } else { 2000 + y as i32 };
                val = rest;
            }
            Std::LongMonth | Std::Month => {
                let (m, rest) = lookup_name(val, &MONTHS, std == Std::Month).ok_or_else(fail_here)?;
                f.month = m as u32 + 1;
                val = rest;
            }
            Std::NumMonth | Std::ZeroMonth => {
                let (m, rest) = take_digits(val, 2, std == Std::NumMonth).ok_or_else(fail_here)?;
                if m == 0 || m > 12 {
                    return Err(format!("parsing time {}: month out of range", q(value)));
                }
                f.month = m;
                val = rest;
            }
            Std::LongWeekDay | Std::WeekDay => {
                let (_, rest) = lookup_name(val, &DAYS, std == Std::WeekDay).ok_or_else(fail_here)?;
                val = rest;
            }
            Std::Day | Std::UnderDay | Std::ZeroDay => {
                if std == Std::UnderDay {
                    val = val.strip_prefix(' ').unwrap_or(val);
                }
                let (d, rest) = take_digits(val, 2, std != Std::ZeroDay).ok_or_else(fail_here)?;
                f.day = d;
                val = rest;
            }
            Std::UnderYearDay | Std::ZeroYearDay => {
                if std == Std::UnderYearDay {
                    val = val.trim_start_matches(' ');
                }
                let (d, rest) = take_digits(val, 3, std == Std::UnderYearDay).ok_or_else(fail_here)?;
                f.yday = Some(d);
                val = rest;
            }
            Std::Hour => {
                let (h, rest) = take_digits(val, 2, true).ok_or_else(fail_here)?;
                if h >= 24 {
                    return Err(format!("parsing time {}: hour out of range", q(value)));
                }
                f.hour = h;
                val = rest;
            }
            Std::Hour12 | Std::ZeroHour12 => {
                let (h, rest) = take_digits(val, 2, std == Std::Hour12).ok_or_else(fail_here)?;
                if h > 12 {
                    return Err(format!("parsing time {}: hour out of range", q(value)));
                }
                f.hour = h;
                val = rest;
            }
            Std::Minute | Std::ZeroMinute => {
                let (m, rest) = take_digits(val, 2, std == Std::Minute).ok_or_else(fail_here)?;
                if m >= 60 {
                    return Err(format!("parsing time {}: minute out of range", q(value)));
                }
                f.minute = m;
                val = rest;
            }
            Std::Second | Std::ZeroSecond => {
                let (s, rest) = take_digits(val, 2, std == Std::Second).ok_or_else(fail_here)?;
                if s >= 60 {
                    return Err(format!("parsing time {}: second out of range", q(value)));
                }
                f.second = s;
                val = rest;
                // A fraction after the seconds is accepted even when the layout has none.
                let next_is_frac =
                    matches!(next_chunk(lay).1, Some((Std::Frac { .. }, _))) && next_chunk(lay).0.is_empty();
                if !next_is_frac && (val.starts_with('.') || val.starts_with(',')) {
                    let digits = val[1..].bytes().take_while(u8::is_ascii_digit).count();
                    if digits > 0 {
                        f.nanos = frac_nanos(&val[1..=digits]);
                        val = &val[1 + digits..];
                    }
                }
            }
            Std::PM | Std::Pm => {
                let head = val.get(..2).ok_or_else(fail_here)?;
                f.pm = Some(match head.to_ascii_uppercase().as_str() {
                    "PM" => true,
                    "AM" => false,
                    _ => return Err(fail_here()),
                });
                val = &val[2..];
            }
            Std::Tz => {
                if let Some(rest) = val.strip_prefix("UTC") {
                    f.zone_name = Some("UTC".to_owned());
                    val = rest;
                } else {
                    let n = val.bytes().take_while(u8::is_ascii_uppercase).count();
                    if n < 3 {
                        return Err(fail_here());
                    }
                    f.zone_name = Some(val[..n].to_owned());
                    val = &val[n..];
                }
            }
            Std::NumTz { iso, colon, seconds, hours_only } => {
                if iso && val.starts_with('Z') {
                    val = &val[1..];
                    f.offset = Some(0);
                    f.zone_name = Some("UTC".to_owned());
                    continue;
                }
                let sign = match val.as_bytes().first() {
                    Some(b'+') => 1,
                    Some(b'-') => -1,
                    _ => return Err(fail_here()),
                };
                let mut rest = &val[1..];
                let (h, r) = take_digits(rest, 2, false).ok_or_else(fail_here)?;
                rest = r;
                let mut m = 0;
                let mut s = 0;
                if !hours_only {
                    if colon {
                        rest = rest.strip_prefix(':').ok_or_else(fail_here)?;
                    }
                    let (mm, r) = take_digits(rest, 2, false).ok_or_else(fail_here)?;
                    m = mm;
                    rest = r;
                }
                if seconds {
                    if colon {
                        rest = rest.strip_prefix(':').ok_or_else(fail_here)?;
                    }
                    let (ss, r) = take_digits(rest, 2, false).ok_or_else(fail_here)?;
                    s = ss;
                    rest = r;
                }
                f.offset = Some(sign * (h * 3600 + m * 60 + s) as i32);
                val = rest;
            }
            Std::Frac { digits, trim, .. } => {
                let sep = val.as_bytes().first().copied();
                if !matches!(sep, Some(b'.' | b',')) {
                    if trim {
                        continue;
                    }
                    return Err(fail_here());
                }
                let n = val[1..].bytes().take_while(u8::is_ascii_digit).count();
                if !trim && n < digits {
                    return Err(fail_here());
                }
                let n = if trim { n } else { digits };
                f.nanos = frac_nanos(&val[1..=n]);
                val = &val[1 + n..];
            }
        }
    }
    if let Some(pm) = f.pm {
        if pm && f.hour < 12 {
            f.hour += 12;
        } else if !pm && f.hour == 12 {
            f.hour = 0;
        }
    }
    let date = match f.yday {
        Some(yday) => NaiveDate::from_yo_opt(f.year, yday),
        None => NaiveDate::from_ymd_opt(f.year, f.month, f.day),
    }
    .ok_or_else(|| format!("parsing time {}: day out of range", q(value)))?;
    let naive = date
        .and_hms_nano_opt(f.hour, f.minute, f.second, f.nanos)
        .ok_or_else(|| format!("parsing time {}: out of range", q(value)))?;
    if let Some(offset) = f.offset {
        let utc = naive - chrono::Duration::seconds(i64::from(offset));
        let loc = if offset == 0 { Loc::Local } else { Loc::Fixed(String::new(), offset) };
        let loc = if f.zone_name.as_deref() == Some("UTC") { Loc::Utc } else { loc };
        return Ok(GoTime { utc: utc.and_utc(), loc });
    }
    if let Some(name) = f.zone_name {
        let loc = if name == "UTC" { Loc::Utc } else { Loc::Fixed(name, 0) };
        return Ok(GoTime { utc: naive.and_utc(), loc });
    }
    let _ = FixedOffset::east_opt(0);
    Ok(GoTime { utc: naive.and_utc(), loc: Loc::Local })
}

fn frac_nanos(digits: &str) -> u32 {
    let mut padded: String = digits.chars().take(9).collect();
    while padded.len() < 9 {
        padded.push('0');
    }
    padded.parse().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    fn t(layout: &str, value: &str) -> Value {
        call("toDate", &[s(layout), s(value)]).expect("toDate")
    }

    /// Checked against `helm template` (Helm 4.2.3).
    #[test]
    fn dates_format_and_parse_like_go() {
        assert_eq!(crate::format::sprint(&t("2006-01-02", "2024-03-15")), "2024-03-15 00:00:00 +0000 UTC");
        assert_eq!(crate::format::sprint(&t("2006-01-02", "x")), "0001-01-01 00:00:00 +0000 UTC");
        assert_eq!(crate::format::sprint(&t("15:04", "3:04")), "0000-01-01 03:04:00 +0000 UTC");
        let with_offset = t("2006-01-02T15:04:05Z07:00", "2024-05-06T07:08:09+02:00");
        assert_eq!(crate::format::sprint(&with_offset), "2024-05-06 07:08:09 +0200 +0200");
        assert_eq!(show("date", &[s("2006-01-02 15:04:05 -0700"), with_offset]), "2024-05-06 05:08:09 +0000");
        let pdt = t("2006-01-02 MST", "2024-05-06 PDT");
        assert_eq!(show("dateModify", &[s("1h"), pdt]), "2024-05-06 01:00:00 +0000 PDT");
        let leap = t("2006-01-02 15:04:05", "2024-02-29 13:05:09");
        assert_eq!(
            show("date", &[s("Monday, January 2, 2006 3:04PM .000 pm"), leap]),
            "Thursday, February 29, 2024 1:05PM .000 pm"
        );
        let noon = t("2006-01-02 15:04", "2024-07-01 12:30");
        assert_eq!(show("dateInZone", &[s("2006-01-02 15:04 MST"), noon.clone(), s("UTC")]), "2024-07-01 12:30 UTC");
        assert_eq!(show("dateInZone", &[s("15:04 MST"), noon.clone(), s("America/New_York")]), "08:30 EDT");
        assert_eq!(show("date_in_zone", &[s("15:04"), noon, s("Asia/Tokyo")]), "21:30");
        assert_eq!(show("dateInZone", &[s("15:04 MST"), i(0), s("Nowhere/City")]), "00:00 UTC");
        assert_eq!(show("date", &[s("2006-01-02 15:04:05"), i(0)]), "1970-01-01 00:00:00");
        assert_eq!(show("unixEpoch", &[t("2006-01-02", "2024-01-01")]), "1704067200");
    }

    /// Checked against `helm template` (Helm 4.2.3).
    #[test]
    fn parse_errors_are_gos() {
        let err = |l: &str, v: &str| show("mustToDate", &[s(l), s(v)]);
        assert_eq!(
            err("2006-01-02", "not a date"),
            "ERR: parsing time \"not a date\" as \"2006-01-02\": cannot parse \"not a date\" as \"2006\""
        );
        assert_eq!(err("2006-01-02", "2024-13-01"), "ERR: parsing time \"2024-13-01\": month out of range");
        assert_eq!(err("2006-01-02", "2024-01-01x"), "ERR: parsing time \"2024-01-01x\": extra text: \"x\"");
        assert_eq!(err("Jan 2 2006", "Feb 30 2024"), "ERR: parsing time \"Feb 30 2024\": day out of range");
        let year = t("2006", "2020");
        assert_eq!(show("mustDateModify", &[s("nonsense"), year]), "ERR: time: invalid duration \"nonsense\"");
    }

    /// Checked against `helm template` (Helm 4.2.3).
    #[test]
    fn durations_print_like_go() {
        assert_eq!(show("duration", &[i(3661)]), "0s");
        assert_eq!(show("duration", &[s("90")]), "1m30s");
        assert_eq!(show("duration", &[Value::Int64(3661)]), "1h1m1s");
        assert_eq!(show("durationRound", &[s("2h10m5s")]), "2h");
        assert_eq!(show("durationRound", &[s("400h")]), "16d");
        assert_eq!(show("durationRound", &[s("9000h")]), "1y");
        assert_eq!(show("durationRound", &[s("59s")]), "59s");
        assert_eq!(format_duration(1_500_000_000), "1.5s");
        assert_eq!(format_duration(100_000_000), "100ms");
        assert_eq!(parse_duration("1.5h30m"), Ok(7_200_000_000_000));
    }
}
