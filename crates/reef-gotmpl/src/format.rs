//! Go's `fmt` formatting of values: `%v` (what `{{ . }}`, `print` and Sprig's `toString` use)
//! and the number formatting of `strconv` that it rests on.

use crate::value::{MAX_VALUE_BYTES, Value};

/// `fmt.Sprint(v)` of one value: `map[a:1 b:2]`, `[a b]`, `<nil>`, `1e+06`.
pub fn sprint(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v, 0);
    out
}

/// How deep a value may nest before printing stops (a map that contains itself). Nested
/// values recurse on a stack grown on the heap.
const MAX_DEPTH: usize = 10_000;

fn write_value(out: &mut String, v: &Value, depth: usize) {
    // A value that shares its parts may print exponentially long; printing stops past the
    // limit, and the executor rejects the too long text.
    if depth > MAX_DEPTH || out.len() > MAX_VALUE_BYTES {
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
                stacker::maybe_grow(crate::json::RED_ZONE, crate::json::STACK_GROWTH, || {
                    write_value(out, item, depth + 1)
                });
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
                        stacker::maybe_grow(crate::json::RED_ZONE, crate::json::STACK_GROWTH, || {
                            write_value(out, item, depth + 1)
                        });
                    }
                }
                Err(_) => out.push_str("..."),
            }
            out.push(']');
        }
        Value::Object(o) => out.push_str(&o.fmt_display()),
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
    // Whole numbers below a million (ports, replicas, sizes) print as integers: the common
    // case for YAML values, without going through the digit generation below.
    if f.fract() == 0.0 && f.abs() < 1e6 {
        return (f as i64).to_string();
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

/// `fmt.Sprint(args...)`: operands printed with `%v`, a space between two operands when
/// neither is a string.
pub fn sprint_args(args: &[Value]) -> String {
    let mut out = String::new();
    let mut prev_string = true;
    for (i, a) in args.iter().enumerate() {
        let is_string = matches!(a, Value::String(_));
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        write_value(&mut out, a, 0);
        prev_string = is_string;
    }
    out
}

/// `strconv.Quote(s)`: a double-quoted Go string literal.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    quote_into(&mut out, s, '"');
    out.push('"');
    out
}

fn quote_into(out: &mut String, s: &str, quote: char) {
    quote_into_ascii(out, s, quote, false);
}

/// `strconv.Quote` (or `QuoteToASCII` when `ascii`) of `s` without the quotes.
fn quote_into_ascii(out: &mut String, s: &str, quote: char, ascii: bool) {
    for c in s.chars() {
        if ascii && (c as u32) >= 0x80 {
            if (c as u32) < 0x10000 {
                out.push_str(&format!("\\u{:04x}", c as u32));
            } else {
                out.push_str(&format!("\\U{:08x}", c as u32));
            }
            continue;
        }
        match c {
            '\\' => out.push_str("\\\\"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if !is_go_printable(c) => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
}

/// Go's `unicode.IsPrint`, close enough: no controls, no spaces but U+0020, no format
/// characters or private use.
pub(crate) fn is_go_printable(c: char) -> bool {
    if (c as u32) < 0x80 {
        return (0x20..0x7f).contains(&(c as u32));
    }
    !(c.is_control()
        || c.is_whitespace()
        || matches!(c as u32, 0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x200b..=0x200f | 0x202a..=0x202e | 0x2060..=0x206f | 0xfeff | 0xfff9..=0xfffb | 0xe000..=0xf8ff | 0xfffe | 0xffff))
}

/// Flags and sizes of one `printf` verb.
#[derive(Default, Clone, Copy)]
struct Spec {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    /// `%#v`: Go syntax.
    sharp_v: bool,
    /// `%+v`: a struct's fields with their names.
    plus_v: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

impl Spec {
    fn pad(&self, out: &mut String, s: &str) {
        let n = s.chars().count();
        let w = self.width.unwrap_or(0);
        if n >= w {
            out.push_str(s);
            return;
        }
        let fill = w - n;
        if self.minus {
            out.push_str(s);
            out.extend(std::iter::repeat_n(' ', fill));
        } else {
            let c = if self.zero { '0' } else { ' ' };
            out.extend(std::iter::repeat_n(c, fill));
            out.push_str(s);
        }
    }

    fn pad_spaces(&self, out: &mut String, s: &str) {
        let mut sp = *self;
        sp.zero = false;
        sp.pad(out, s);
    }
}

/// `fmt.Sprintf(format, args...)`, with Go's verbs, flags, width and precision, and Go's
/// error forms (`%!d(string=hi)`, `%!s(MISSING)`, `%!(EXTRA int=1)`).
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::with_capacity(format.len() + 16);
    let mut argi = 0;
    let mut reordered = false;
    let b = format.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        while i < b.len() && b[i] != b'%' {
            i += 1;
        }
        out.push_str(&format[start..i]);
        if i >= b.len() {
            break;
        }
        i += 1;
        let mut sp = Spec::default();
        while i < b.len() {
            match b[i] {
                b'#' => sp.sharp = true,
                b'0' => sp.zero = !sp.minus,
                b'+' => sp.plus = true,
                b'-' => {
                    sp.minus = true;
                    sp.zero = false;
                }
                b' ' => sp.space = true,
                _ => break,
            }
            i += 1;
        }
        // An explicit argument index, `%[n]d`.
        let arg_index = |i: &mut usize, argi: &mut usize, reordered: &mut bool| -> bool {
            if *i < b.len() && b[*i] == b'[' {
                *reordered = true;
                if let Some(close) = format[*i..].find(']') {
                    match format[*i + 1..*i + close].parse::<usize>() {
                        Ok(n) if n >= 1 && n <= args.len() => {
                            *argi = n - 1;
                            *i += close + 1;
                            return true;
                        }
                        _ => {
                            *i += close + 1;
                            return false;
                        }
                    }
                }
                return false;
            }
            true
        };
        let mut good_index = arg_index(&mut i, &mut argi, &mut reordered);
        // Width.
        if i < b.len() && b[i] == b'*' {
            i += 1;
            match args.get(argi) {
                Some(Value::Int(n) | Value::Int64(n)) => {
                    let n = *n;
                    if n < 0 {
                        sp.minus = true;
                        sp.zero = false;
                    }
                    sp.width = Some(n.unsigned_abs() as usize);
                    if n.unsigned_abs() > 1_000_000 {
                        out.push_str("%!(BADWIDTH)");
                        sp.width = None;
                    }
                }
                _ => out.push_str("%!(BADWIDTH)"),
            }
            argi += 1;
        } else {
            let s = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i > s {
                sp.width = format[s..i].parse().ok().filter(|&w: &usize| w <= 1_000_000);
            }
        }
        // Precision.
        if i < b.len() && b[i] == b'.' {
            i += 1;
            good_index &= arg_index(&mut i, &mut argi, &mut reordered);
            if i < b.len() && b[i] == b'*' {
                i += 1;
                match args.get(argi) {
                    Some(Value::Int(n) | Value::Int64(n)) if *n >= 0 && *n <= 1_000_000 => sp.prec = Some(*n as usize),
                    Some(Value::Int(n) | Value::Int64(n)) if *n < 0 => sp.prec = None,
                    _ => out.push_str("%!(BADPREC)"),
                }
                argi += 1;
            } else {
                let s = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                sp.prec = Some(format[s..i].parse().unwrap_or(0).min(1_000_000));
            }
        }
        good_index &= arg_index(&mut i, &mut argi, &mut reordered);
        if i >= b.len() {
            out.push_str("%!(NOVERB)");
            break;
        }
        let verb = format[i..].chars().next().unwrap_or('?');
        i += verb.len_utf8();
        if verb == '%' {
            out.push('%');
            continue;
        }
        if !good_index {
            out.push_str("%!");
            out.push(verb);
            out.push_str("(BADINDEX)");
            continue;
        }
        if verb == 'v' {
            if sp.sharp {
                sp.sharp = false;
                sp.sharp_v = true;
            }
            if sp.plus {
                sp.plus = false;
                sp.plus_v = true;
            }
        }
        let Some(arg) = args.get(argi) else {
            out.push_str("%!");
            out.push(verb);
            out.push_str("(MISSING)");
            continue;
        };
        argi += 1;
        print_arg(&mut out, arg, verb, &sp, 0);
    }
    if !reordered && argi < args.len() {
        out.push_str("%!(EXTRA ");
        for (k, a) in args[argi..].iter().enumerate() {
            if k > 0 {
                out.push_str(", ");
            }
            if a.is_nil() {
                out.push_str("<nil>");
            } else {
                out.push_str(&a.type_name());
                out.push('=');
                write_value(&mut out, a, 0);
            }
        }
        out.push(')');
    }
    out
}

fn bad_verb(out: &mut String, v: &Value, verb: char, sp: &Spec) {
    out.push_str("%!");
    out.push(verb);
    out.push('(');
    if v.is_nil() {
        out.push_str("<nil>");
    } else {
        out.push_str(&v.type_name());
        out.push('=');
        print_arg(out, v, 'v', sp, 0);
    }
    out.push(')');
}

/// `%#v`: the value as Go syntax.
fn go_syntax(out: &mut String, v: &Value, depth: usize) {
    if depth > MAX_DEPTH || out.len() > MAX_VALUE_BYTES {
        out.push_str("...");
        return;
    }
    match v {
        Value::String(s) => out.push_str(&go_quote(s)),
        Value::List(items, _) => {
            out.push_str(&v.type_name());
            out.push('{');
            for (k, item) in items.iter().enumerate() {
                if k > 0 {
                    out.push_str(", ");
                }
                stacker::maybe_grow(crate::json::RED_ZONE, crate::json::STACK_GROWTH, || {
                    go_syntax(out, item, depth + 1)
                });
            }
            out.push('}');
        }
        Value::Map(m, _) => {
            out.push_str(&v.type_name());
            out.push('{');
            if let Ok(m) = m.try_borrow() {
                for (k, (key, item)) in m.iter().enumerate() {
                    if k > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&go_quote(key));
                    out.push(':');
                    stacker::maybe_grow(crate::json::RED_ZONE, crate::json::STACK_GROWTH, || {
                        go_syntax(out, item, depth + 1)
                    });
                }
            }
            out.push('}');
        }
        Value::Object(o) => match o.struct_fields() {
            Some(fields) => {
                out.push_str(o.type_name());
                out.push('{');
                for (k, (name, field)) in fields.iter().enumerate() {
                    if k > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(name);
                    out.push(':');
                    go_syntax(out, field, depth + 1);
                }
                out.push('}');
            }
            None => write_value(out, v, depth),
        },
        Value::Nil if depth > 0 => out.push_str("interface {}(nil)"),
        other => write_value(out, other, depth),
    }
}

fn print_arg(out: &mut String, v: &Value, verb: char, sp: &Spec, depth: usize) {
    if verb == 'v' && sp.sharp_v {
        let mut t = String::new();
        go_syntax(&mut t, v, depth);
        sp.pad_spaces(out, &t);
        return;
    }
    if verb == 'T' {
        sp.pad_spaces(out, &v.type_name());
        return;
    }
    if depth > MAX_DEPTH || out.len() > MAX_VALUE_BYTES {
        out.push_str("...");
        return;
    }
    match v {
        Value::Nil => match verb {
            'v' => sp.pad_spaces(out, "<nil>"),
            _ => bad_verb(out, v, verb, sp),
        },
        Value::Bool(b) => match verb {
            't' | 'v' => sp.pad_spaces(out, if *b { "true" } else { "false" }),
            _ => bad_verb(out, v, verb, sp),
        },
        Value::Int(n) | Value::Int64(n) => fmt_integer(out, v, *n, verb, sp),
        Value::Float(f) => fmt_float_verb(out, v, *f, verb, sp),
        Value::String(s) => fmt_string(out, v, s.as_bytes(), verb, sp),
        Value::Bytes(bytes) => match verb {
            's' | 'q' | 'x' | 'X' => fmt_string(out, v, bytes, verb, sp),
            _ => {
                out.push('[');
                for (k, byte) in bytes.iter().enumerate() {
                    if k > 0 {
                        out.push(' ');
                    }
                    print_arg(out, &Value::Int(i64::from(*byte)), verb, sp, depth + 1);
                }
                out.push(']');
            }
        },
        Value::List(items, _) => {
            out.push('[');
            for (k, item) in items.iter().enumerate() {
                if k > 0 {
                    out.push(' ');
                }
                stacker::maybe_grow(crate::json::RED_ZONE, crate::json::STACK_GROWTH, || {
                    print_arg(out, item, verb, sp, depth + 1)
                });
            }
            out.push(']');
        }
        Value::Map(m, _) => {
            out.push_str("map[");
            if let Ok(m) = m.try_borrow() {
                for (k, (key, item)) in m.iter().enumerate() {
                    if k > 0 {
                        out.push(' ');
                    }
                    fmt_string(out, &Value::Nil, key.as_bytes(), verb, sp);
                    out.push(':');
                    stacker::maybe_grow(crate::json::RED_ZONE, crate::json::STACK_GROWTH, || {
                        print_arg(out, item, verb, sp, depth + 1)
                    });
                }
            }
            out.push(']');
        }
        Value::Object(o) => match o.struct_fields() {
            Some(fields) => {
                out.push('{');
                for (k, (name, field)) in fields.iter().enumerate() {
                    if k > 0 {
                        out.push(' ');
                    }
                    if sp.plus_v {
                        out.push_str(name);
                        out.push(':');
                    }
                    print_arg(out, field, verb, sp, depth + 1);
                }
                out.push('}');
            }
            None => match verb {
                'v' | 's' | 'q' | 'x' | 'X' => fmt_string(out, v, o.fmt_display().as_bytes(), verb, sp),
                _ => bad_verb(out, v, verb, sp),
            },
        },
    }
}

fn fmt_string(out: &mut String, v: &Value, s: &[u8], verb: char, sp: &Spec) {
    let text = String::from_utf8_lossy(s);
    match verb {
        'v' | 's' => {
            let t: String = match sp.prec {
                Some(p) => text.chars().take(p).collect(),
                None => text.into_owned(),
            };
            sp.pad(out, &t);
        }
        'q' => {
            let t: String = match sp.prec {
                Some(p) => text.chars().take(p).collect(),
                None => text.into_owned(),
            };
            if sp.sharp && !t.contains('`') && t.chars().all(|c| c == '\t' || !c.is_control()) {
                sp.pad(out, &format!("`{t}`"));
            } else {
                let mut q = String::from("\"");
                quote_into_ascii(&mut q, &t, '"', sp.plus);
                q.push('"');
                sp.pad(out, &q);
            }
        }
        'x' | 'X' => {
            let digits = if verb == 'x' { b"0123456789abcdef" } else { b"0123456789ABCDEF" };
            let bytes = match sp.prec {
                Some(p) => &s[..p.min(s.len())],
                None => s,
            };
            let mut t = String::new();
            for (k, byte) in bytes.iter().enumerate() {
                if sp.space && k > 0 {
                    t.push(' ');
                }
                if sp.sharp && (sp.space || k == 0) {
                    t.push('0');
                    t.push(verb);
                }
                t.push(digits[(byte >> 4) as usize] as char);
                t.push(digits[(byte & 15) as usize] as char);
            }
            sp.pad(out, &t);
        }
        _ => bad_verb(out, v, verb, sp),
    }
}

fn fmt_integer(out: &mut String, v: &Value, n: i64, verb: char, sp: &Spec) {
    let (base, upper) = match verb {
        'd' | 'v' => (10, false),
        'b' => (2, false),
        'o' | 'O' => (8, false),
        'x' => (16, false),
        'X' => (16, true),
        'c' => {
            let c = char::from_u32(n as u32).unwrap_or('\u{FFFD}');
            sp.pad_spaces(out, &c.to_string());
            return;
        }
        'q' => {
            let c = char::from_u32(n as u32).unwrap_or('\u{FFFD}');
            let mut t = String::from("'");
            if c == '\'' {
                t.push_str("\\'");
            } else if c == '"' {
                t.push('"');
            } else {
                quote_into(&mut t, &c.to_string(), '\'');
            }
            t.push('\'');
            sp.pad_spaces(out, &t);
            return;
        }
        'U' => {
            let mut t = format!("U+{:04X}", n);
            if sp.sharp
                && let Some(c) = char::from_u32(n as u32)
                && is_go_printable(c)
            {
                t.push_str(&format!(" '{c}'"));
            }
            sp.pad_spaces(out, &t);
            return;
        }
        _ => {
            bad_verb(out, v, verb, sp);
            return;
        }
    };
    let negative = n < 0;
    let u = n.unsigned_abs();
    let mut prec = 0usize;
    if let Some(p) = sp.prec {
        prec = p;
        if p == 0 && u == 0 {
            sp.pad_spaces(out, "");
            return;
        }
    } else if sp.zero && !sp.minus && sp.width.is_some() {
        prec = sp.width.unwrap_or(0);
        if negative || sp.plus || sp.space {
            prec = prec.saturating_sub(1);
        }
    }
    let mut digits = match (base, upper) {
        (10, _) => u.to_string(),
        (2, _) => format!("{u:b}"),
        (8, _) => format!("{u:o}"),
        (16, false) => format!("{u:x}"),
        _ => format!("{u:X}"),
    };
    if digits.len() < prec {
        digits = "0".repeat(prec - digits.len()) + &digits;
    }
    let mut prefix = String::new();
    if negative {
        prefix.push('-');
    } else if sp.plus {
        prefix.push('+');
    } else if sp.space {
        prefix.push(' ');
    }
    if sp.sharp {
        match verb {
            'b' => prefix.push_str("0b"),
            'o' if !digits.starts_with('0') => prefix.push('0'),
            'x' => prefix.push_str("0x"),
            'X' => prefix.push_str("0X"),
            _ => {}
        }
    }
    if verb == 'O' {
        prefix.push_str("0o");
    }
    sp.pad_spaces(out, &(prefix + &digits));
}

/// Digits (without trailing zeros) and decimal exponent of `f` rounded to `sig` significant
/// digits, or the shortest round-tripping digits when `sig` is `None`.
/// More decimal digits than any `f64` has (its exact expansion ends by the 1074th decimal).
const MAX_FLOAT_DIGITS: usize = 1100;

fn digits_of(f: f64, sig: Option<usize>) -> (String, i32) {
    let s = match sig {
        // A float has at most 767 significant decimal digits; the rest are zeros (and Rust's
        // formatter takes at most `u16::MAX` digits).
        Some(p) => format!("{:.*e}", p.saturating_sub(1).min(MAX_FLOAT_DIGITS), f.abs()),
        None => format!("{:e}", f.abs()),
    };
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let d: String = m.chars().filter(char::is_ascii_digit).collect();
    let d = d.trim_end_matches('0').to_owned();
    (if d.is_empty() { "0".to_owned() } else { d }, e.parse().unwrap_or(0))
}

fn exp_form(digits: &str, exp: i32, prec: usize, e: char) -> String {
    let mut t = String::new();
    t.push_str(&digits[..1]);
    if prec > 0 {
        t.push('.');
        for k in 1..=prec {
            t.push(digits.as_bytes().get(k).map_or('0', |&b| b as char));
        }
    }
    t.push(e);
    t.push(if exp < 0 { '-' } else { '+' });
    let a = exp.unsigned_abs();
    if a < 10 {
        t.push('0');
    }
    t.push_str(&a.to_string());
    t
}

fn fixed_form(digits: &str, exp: i32, prec: usize) -> String {
    // digits d1 d2 ... with the decimal point after position exp+1.
    let dp = exp + 1;
    let mut t = String::new();
    if dp <= 0 {
        t.push('0');
    } else {
        for k in 0..dp as usize {
            t.push(digits.as_bytes().get(k).map_or('0', |&b| b as char));
        }
    }
    if prec > 0 {
        t.push('.');
        for k in 0..prec as i32 {
            let idx = dp + k;
            let c = if idx < 0 { '0' } else { digits.as_bytes().get(idx as usize).map_or('0', |&b| b as char) };
            t.push(c);
        }
    }
    t
}

/// strconv's `FormatFloat(|f|, fmt, prec, 64)` without the sign.
fn format_unsigned(f: f64, verb: char, prec: Option<usize>) -> String {
    let f = f.abs();
    if f.is_infinite() {
        return "Inf".to_owned();
    }
    if f.is_nan() {
        return "NaN".to_owned();
    }
    match verb {
        'e' | 'E' => {
            let p = prec.unwrap_or(6);
            let (d, exp) = if f == 0.0 { ("0".to_owned(), 0) } else { digits_of(f, Some(p + 1)) };
            exp_form(&d, exp, p, verb)
        }
        'f' | 'F' => {
            // Past 1074 decimals a float's expansion is zeros (Rust's formatter takes at most
            // `u16::MAX`), so only the zeros are added by hand.
            let p = prec.unwrap_or(6);
            let mut t = format!("{:.*}", p.min(MAX_FLOAT_DIGITS), f);
            t.extend(std::iter::repeat_n('0', p.saturating_sub(MAX_FLOAT_DIGITS)));
            t
        }
        'g' if prec.is_none() => format_float_g(f),
        _ => {
            // 'g' / 'G'
            let e = if verb == 'G' { 'E' } else { 'e' };
            let shortest = prec.is_none();
            let (d, exp) = if f == 0.0 {
                ("0".to_owned(), 0)
            } else {
                match prec {
                    None => digits_of(f, None),
                    Some(p) => digits_of(f, Some(p.max(1))),
                }
            };
            let nd = d.len();
            let dp = exp + 1;
            let mut p = match prec {
                None => nd,
                Some(p) => p.max(1),
            };
            let mut eprec = p as i32;
            if eprec > nd as i32 && nd as i32 >= dp {
                eprec = nd as i32;
            }
            if shortest {
                eprec = 6;
            }
            if exp < -4 || exp >= eprec {
                if p > nd {
                    p = nd;
                }
                return exp_form(&d, exp, p - 1, e);
            }
            if p as i32 > dp {
                p = nd;
            }
            fixed_form(&d, exp, (p as i32 - dp).max(0) as usize)
        }
    }
}

/// strconv's `'x'` format with the shortest precision, without the sign: `0x1.cp+01`.
fn hex_float(f: f64, upper: bool) -> String {
    let f = f.abs();
    let s = if f == 0.0 {
        "0x0p+00".to_owned()
    } else {
        let bits = f.to_bits();
        let mut exp = ((bits >> 52) & 0x7ff) as i32;
        let mut mant = bits & ((1u64 << 52) - 1);
        if exp == 0 {
            // Subnormal: normalise.
            exp = -1022;
            while mant & (1u64 << 52) == 0 {
                mant <<= 1;
                exp -= 1;
            }
            mant &= (1u64 << 52) - 1;
        } else {
            exp -= 1023;
        }
        let digits = format!("{mant:013x}");
        let digits = digits.trim_end_matches('0');
        let sign = if exp < 0 { '-' } else { '+' };
        let e = exp.unsigned_abs();
        if digits.is_empty() { format!("0x1p{sign}{e:02}") } else { format!("0x1.{digits}p{sign}{e:02}") }
    };
    if upper { s.to_uppercase() } else { s }
}

fn fmt_float_verb(out: &mut String, v: &Value, f: f64, verb: char, sp: &Spec) {
    if (verb == 'x' || verb == 'X') && sp.prec.is_none() && f.is_finite() {
        let sign = if f.is_sign_negative() {
            "-"
        } else if sp.plus {
            "+"
        } else {
            ""
        };
        sp.pad_spaces(out, &format!("{sign}{}", hex_float(f, verb == 'X')));
        return;
    }
    let (verb, prec) = match verb {
        'v' => ('g', sp.prec),
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' => (verb, sp.prec),
        _ => {
            bad_verb(out, v, verb, sp);
            return;
        }
    };
    let mut num = format_unsigned(f, verb, prec);
    if sp.sharp && verb != 'b' && !num.contains('.') && !num.contains("Inf") && !num.contains("NaN") {
        match num.find(['e', 'E']) {
            Some(x) => num.insert(x, '.'),
            None => num.push('.'),
        }
    }
    let sign = if f.is_sign_negative() && !f.is_nan() {
        "-"
    } else if sp.plus {
        "+"
    } else if sp.space {
        " "
    } else {
        ""
    };
    if f.is_infinite() || f.is_nan() {
        sp.pad_spaces(out, &format!("{sign}{num}"));
        return;
    }
    if !sign.is_empty() && sp.zero && !sp.minus {
        if let Some(w) = sp.width
            && w > num.len() + 1
        {
            out.push_str(sign);
            out.extend(std::iter::repeat_n('0', w - num.len() - 1));
            out.push_str(&num);
            return;
        }
        out.push_str(sign);
        out.push_str(&num);
        return;
    }
    sp.pad(out, &format!("{sign}{num}"));
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
    fn printf_matches_go() {
        let i = Value::Int;
        let s = Value::string;
        for (f, args, want) in [
            ("%d|%5d|%-5d|%05d|%+d", vec![i(1), i(2), i(3), i(-4), i(5)], "1|    2|3    |-0004|+5"),
            (
                "%x %X %o %b %#x %c %q %U",
                vec![i(255), i(255), i(8), i(5), i(255), i(65), i(65), i(65)],
                "ff FF 10 101 0xff A 'A' U+0041",
            ),
            (
                "%s|%q|%10s|%-4s|%.2s|%x",
                vec![s("a"), s("b\n"), s("c"), s("d"), s("xyz"), s("hi")],
                "a|\"b\\n\"|         c|d   |xy|6869",
            ),
            (
                "%f %.2f %e %g %G %8.3f %v",
                vec![
                    Value::Float(3.14158),
                    Value::Float(2.005),
                    Value::Float(1234.5),
                    Value::Float(1e21),
                    Value::Float(1e-7),
                    Value::Float(-3.14158),
                    Value::Float(0.5),
                ],
                "3.141580 2.00 1.234500e+03 1e+21 1E-07   -3.142 0.5",
            ),
            ("%d %s", vec![s("hi"), i(1)], "%!d(string=hi) %!s(int=1)"),
            ("%s %d", vec![s("a")], "a %!d(MISSING)"),
            ("%s", vec![s("a"), i(1)], "a%!(EXTRA int=1)"),
            ("%t %v %T %%", vec![Value::Bool(true), Value::Nil, Value::Float(1.0)], "true <nil> float64 %"),
            ("%*d|%.*f", vec![i(4), i(7), i(1), Value::Float(2.25)], "   7|2.2"),
            ("%v %d", vec![Value::list([i(1), s("a")]), Value::list([i(1), s("a")])], "[1 a] [1 %!d(string=a)]"),
        ] {
            assert_eq!(sprintf(f, &args), want, "{f}");
        }
    }

    #[test]
    fn sprint_spaces_operands_that_are_not_strings() {
        let args = [Value::Int(1), Value::Int(2), Value::string("a"), Value::string("b"), Value::Int(3), Value::Nil];
        assert_eq!(sprint_args(&args), "1 2ab3 <nil>");
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
