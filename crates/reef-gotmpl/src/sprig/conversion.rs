//! Type conversion: `toString`, `atoi`, `int`, `int64`, `float64`, `toStrings`, `toDecimal`,
//! with the rules of the `cast` library Sprig uses (strings parse with Go's base prefixes,
//! a zero decimal part is dropped, anything unconvertible is 0).

use crate::func::FuncMap;
use crate::value::{ListType, Value};

use super::sig::{ANY, STR, fixed};
use super::{arg, str_arg, strval};

pub(super) fn register(map: &mut FuncMap) {
    map.add("toString", fixed(&[ANY]), |a| Ok(Value::from(strval(arg(a, 0)))));
    map.add("atoi", fixed(&[STR]), |a| Ok(Value::Int(atoi(&str_arg(a, 0)))));
    map.add("int", fixed(&[ANY]), |a| Ok(Value::Int(to_int64(arg(a, 0)))));
    map.add("int64", fixed(&[ANY]), |a| Ok(Value::Int64(to_int64(arg(a, 0)))));
    map.add("float64", fixed(&[ANY]), |a| Ok(Value::Float(to_float64(arg(a, 0)))));
    map.add("toStrings", fixed(&[ANY]), |a| Ok(to_strings(arg(a, 0))));
    map.add("toDecimal", fixed(&[ANY]), |a| {
        let text = strval(arg(a, 0));
        Ok(Value::Int64(parse_int(&text, 8, false).unwrap_or(0)))
    });
}

/// Sprig's `strslice`: a `[]string` of a slice's non-nil items, a one-item list otherwise.
pub(crate) fn to_strings(v: &Value) -> Value {
    match v {
        Value::List(items, ListType::String) => Value::List(items.clone(), ListType::String),
        Value::Nil => Value::string_list(Vec::<String>::new()),
        _ => match super::slice_items(v) {
            Some(items) => Value::string_list(items.iter().filter(|x| !x.is_nil()).map(strval)),
            None => Value::string_list([strval(v)]),
        },
    }
}

/// `strconv.Atoi`, errors ignored: out-of-range values clamp, as Go's result does.
fn atoi(s: &str) -> i64 {
    match parse_int(s, 10, false) {
        Ok(n) => n,
        Err(IntError::Range(n)) => n,
        Err(IntError::Syntax) => 0,
    }
}

/// `cast.ToInt64`: 0 for anything it cannot convert.
pub(crate) fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Float(f) => float_to_int(*f),
        Value::Bool(b) => i64::from(*b),
        Value::String(s) => parse_int(trim_zero_decimal(s), 0, true).unwrap_or(0),
        _ => 0,
    }
}

/// `cast.ToFloat64`: 0 for anything it cannot convert.
pub(crate) fn to_float64(v: &Value) -> f64 {
    match v {
        // Go converts int64 to float64 rounding to nearest, as `as` does.
        #[allow(clippy::cast_precision_loss)]
        Value::Int(i) | Value::Int64(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::String(s) => parse_float(s).unwrap_or(0.0),
        _ => 0.0,
    }
}

/// Go's `int64(f)` on amd64: truncation, and the minimum value for NaN or out of range.
pub(crate) fn float_to_int(f: f64) -> i64 {
    #[allow(clippy::cast_precision_loss)]
    if f.is_nan() || f >= i64::MAX as f64 || f < i64::MIN as f64 {
        i64::MIN
    } else {
        #[allow(clippy::cast_possible_truncation)]
        let n = f.trunc() as i64;
        n
    }
}

/// cast's `trimZeroDecimal`: `"1.0"` and `"1.00"` become `"1"`.
fn trim_zero_decimal(s: &str) -> &str {
    let bytes = s.as_bytes();
    let mut found_zero = false;
    for i in (1..=bytes.len()).rev() {
        match bytes[i - 1] {
            b'.' => {
                if found_zero {
                    return &s[..i - 1];
                }
            }
            b'0' => found_zero = true,
            _ => return s,
        }
    }
    s
}

/// Why `strconv.ParseInt` failed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum IntError {
    /// Not a number.
    Syntax,
    /// Out of range; Go returns the clamped value with the error.
    Range(i64),
}

/// `strconv.ParseInt(s, base, 64)`. Base 0 takes Go's prefixes (`0x`, `0o`, `0b`, a leading
/// `0` for octal) and underscores between digits.
pub(crate) fn parse_int(s: &str, base: u32, allow_base0: bool) -> Result<i64, IntError> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let magnitude = parse_uint(body, if allow_base0 { 0 } else { base })?;
    if neg {
        if magnitude > 1u128 << 63 {
            return Err(IntError::Range(i64::MIN));
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
        Ok((magnitude as i128).wrapping_neg() as i64)
    } else if magnitude > i64::MAX as u128 {
        Err(IntError::Range(i64::MAX))
    } else {
        #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
        Ok(magnitude as i64)
    }
}

fn parse_uint(s: &str, base: u32) -> Result<u128, IntError> {
    if s.is_empty() {
        return Err(IntError::Syntax);
    }
    let (base, digits, underscores) = if base == 0 {
        let lower = s.to_ascii_lowercase();
        if lower.starts_with("0x") {
            (16, &s[2..], true)
        } else if lower.starts_with("0o") {
            (8, &s[2..], true)
        } else if lower.starts_with("0b") {
            (2, &s[2..], true)
        } else if s.starts_with('0') && s.len() > 1 {
            (8, &s[1..], true)
        } else {
            (10, s, true)
        }
    } else {
        (base, s, false)
    };
    if underscores && !underscore_ok(s) {
        return Err(IntError::Syntax);
    }
    let mut n: u128 = 0;
    let mut any = false;
    for c in digits.chars() {
        if c == '_' && underscores {
            continue;
        }
        let d = c.to_digit(base).ok_or(IntError::Syntax)?;
        any = true;
        n = (n * u128::from(base) + u128::from(d)).min(u128::from(u64::MAX) + 1);
    }
    if !any {
        return Err(IntError::Syntax);
    }
    Ok(n)
}

/// Go's `underscoreOK`: underscores only between digits (or after a base prefix).
fn underscore_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' {
        let c = b[1].to_ascii_lowercase();
        if c == b'x' || c == b'o' || c == b'b' {
            hex = c == b'x';
            i = 2;
            saw = b'0';
        }
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// `strconv.ParseFloat(s, 64)`: decimal and hex forms, `inf`, `infinity`, `nan`, and
/// underscores between digits.
pub(crate) fn parse_float(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    let (neg, body) = match lower.as_bytes().first() {
        Some(b'+') => (false, &lower[1..]),
        Some(b'-') => (true, &lower[1..]),
        _ => (false, lower.as_str()),
    };
    let sign = if neg { -1.0 } else { 1.0 };
    match body {
        "inf" | "infinity" => return Some(sign * f64::INFINITY),
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    if body.contains('_') {
        if !underscore_ok(body) {
            return None;
        }
        return parse_float(&s.replace('_', ""));
    }
    if let Some(hex) = body.strip_prefix("0x") {
        return parse_hex_float(hex).map(|v| sign * v);
    }
    if body.is_empty() || !body.bytes().all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'+' | b'-')) {
        return None;
    }
    body.parse::<f64>().ok().map(|v| sign * v)
}

fn parse_hex_float(s: &str) -> Option<f64> {
    let (mantissa, exp) = s.split_once('p')?;
    let exp: i32 = exp.parse().ok()?;
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut value = 0f64;
    for c in int_part.chars() {
        value = value * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac_part.chars() {
        value += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    Some(value * 2f64.powi(exp))
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    /// Checked against `helm template` (Helm 4.2.3).
    #[test]
    fn conversions_follow_cast() {
        assert_eq!(show("int64", &[s("0x1F")]), "31");
        assert_eq!(show("int64", &[s("1.0")]), "1");
        assert_eq!(show("int64", &[s("1_000")]), "1000");
        assert_eq!(show("int", &[s("077")]), "63");
        assert_eq!(show("float64", &[s("1e3")]), "1000");
        assert_eq!(show("float64", &[s("0x1p-2")]), "0.25");
        assert_eq!(show("atoi", &[s(" 3")]), "0");
        assert_eq!(show("int64", &[f(3.9)]), "3");
        assert_eq!(show("int64", &[true.into()]), "1");
        assert_eq!(show("float64", &[s("inf")]), "+Inf");
        assert_eq!(show("toString", &[f(1.5)]), "1.5");
        assert_eq!(call("int", &[i(3)]).map(|v| v.type_name()), Ok("int".into()));
        assert_eq!(show("toDecimal", &[s("0777")]), "511");
    }
}
