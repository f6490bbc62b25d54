//! Go's `fmt` formatting of values: `%v` (what `{{ . }}`, `print` and Sprig's `toString` use)
//! and the number formatting of `strconv` that it rests on.

use crate::value::Value;

/// `fmt.Sprint(v)` of one value: `map[a:1 b:2]`, `[a b]`, `<nil>`, `1e+06`.
pub fn sprint(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v, 0);
    out
}

/// How deep a value may nest before printing stops (a map that contains itself).
const MAX_DEPTH: usize = 10_000;

fn write_value(out: &mut String, v: &Value, depth: usize) {
    if depth > MAX_DEPTH {
        out.push_str("...");
        return;
    }
    match v {
        Value::Nil => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&format_float_g(*f)),
        Value::String(s) => out.push_str(s),
        Value::Bytes(b) => {
            out.push('[');
            for (i, byte) in b.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(&byte.to_string());
            }
            out.push(']');
        }
        Value::List(items, _) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_value(out, item, depth + 1);
            }
            out.push(']');
        }
        Value::Map(m, _) => {
            out.push_str("map[");
            match m.try_borrow() {
                Ok(m) => {
                    for (i, (k, item)) in m.iter().enumerate() {
                        if i > 0 {
                            out.push(' ');
                        }
                        out.push_str(k);
                        out.push(':');
                        write_value(out, item, depth + 1);
                    }
                }
                Err(_) => out.push_str("..."),
            }
            out.push(']');
        }
        Value::Object(o) => out.push_str(&o.display()),
    }
}

/// The shortest decimal digits that round-trip `f` (no sign), and the decimal exponent of
/// the first digit: 1234.5 is `("12345", 3)`.
fn shortest_digits(f: f64) -> (String, i32) {
    // Rust's `{:e}` prints the shortest round-tripping digits, as Go's strconv does.
    let s = format!("{:e}", f.abs());
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    (digits, exp.parse().unwrap_or(0))
}

/// `strconv.FormatFloat(f, 'g', -1, 64)`, which is also `%v` of a float64: plain decimal, or
/// exponent form (`1e+06`, `1e-05`) when the decimal exponent is below -4 or at least 6.
pub fn format_float_g(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf".to_owned() } else { "-Inf".to_owned() };
    }
    let neg = f.is_sign_negative();
    if f == 0.0 {
        return if neg { "-0".to_owned() } else { "0".to_owned() };
    }
    let (digits, exp) = shortest_digits(f);
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    // strconv's 'g' with the shortest precision switches to exponent form below 1e-4 and
    // from 1e+06 on, however many digits there are (helm prints a million as `1e+06`).
    let dp = exp + 1;
    let eprec = 6;
    if exp < -4 || exp >= eprec {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            out.push('0');
        }
        out.push_str(&e.to_string());
        return out;
    }
    if dp <= 0 {
        out.push_str("0.");
        for _ in 0..-dp {
            out.push('0');
        }
        out.push_str(digits);
    } else if dp as usize >= digits.len() {
        out.push_str(digits);
        for _ in 0..(dp as usize - digits.len()) {
            out.push('0');
        }
    } else {
        out.push_str(&digits[..dp as usize]);
        out.push('.');
        out.push_str(&digits[dp as usize..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_go_prints_them() {
        for (f, want) in [
            (3.0, "3"),
            (3.5, "3.5"),
            (100000.0, "100000"),
            (1000000.0, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.25, "-2.25"),
            (0.1, "0.1"),
            (123456.7, "123456.7"),
            (1e21, "1e+21"),
        ] {
            assert_eq!(format_float_g(f), want, "{f}");
        }
    }

    #[test]
    fn collections_print_as_go_prints_them() {
        let m = Value::map([
            ("b".to_owned(), Value::Int(2)),
            ("a".to_owned(), Value::list([Value::string("x"), Value::Nil])),
        ]);
        assert_eq!(sprint(&m), "map[a:[x <nil>] b:2]");
        assert_eq!(sprint(&Value::Bytes(b"hi".as_slice().into())), "[104 105]");
    }
}
