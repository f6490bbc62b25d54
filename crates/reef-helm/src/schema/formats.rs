//! The `format` checks Helm's validator asserts (for drafts 4 to 7), with its messages. A
//! format it does not know is not checked.

/// Checks `s` against the format `name`; the error says why it is not one.
pub fn check(name: &str, s: &str) -> Result<(), String> {
    match name {
        "email" => email(s),
        "hostname" => hostname(s),
        "ipv4" => ipv4(s),
        "ipv6" => ipv6(s),
        "uuid" => uuid(s),
        "date" => date(s),
        "time" => time(s),
        "date-time" => date_time(s),
        "duration" => duration(s),
        "json-pointer" => json_pointer(s),
        "relative-json-pointer" => relative_json_pointer(s),
        "uri" => uri(s, false),
        "uri-reference" => uri(s, true),
        _ => Ok(()),
    }
}

/// Go's `%q` of a rune.
fn quote_rune(c: char) -> String {
    match c {
        '\'' => "'\\''".to_owned(),
        '\\' => "'\\\\'".to_owned(),
        '\n' => "'\\n'".to_owned(),
        '\t' => "'\\t'".to_owned(),
        '\r' => "'\\r'".to_owned(),
        c if (c as u32) < 0x20 || c as u32 == 0x7f => format!("'\\x{:02x}'", c as u32),
        c => format!("'{c}'"),
    }
}

fn email(s: &str) -> Result<(), String> {
    if s.len() > 254 {
        return Err("more than 255 characters long".to_owned());
    }
    let Some(at) = s.rfind('@') else {
        return Err("missing @".to_owned());
    };
    let (local, domain) = (&s[..at], &s[at + 1..]);
    if local.len() > 64 {
        return Err("local part more than 64 characters long".to_owned());
    }
    if local.len() > 1 && local.starts_with('"') && local.ends_with('"') {
        let inner = &local[1..local.len() - 1];
        if inner.contains(['\\', '"']) {
            return Err("backslash and quote are not allowed within quoted local part".to_owned());
        }
    } else {
        if local.starts_with('.') {
            return Err("starts with dot".to_owned());
        }
        if local.ends_with('.') {
            return Err("ends with dot".to_owned());
        }
        if local.contains("..") {
            return Err("consecutive dots".to_owned());
        }
        if let Some(c) = local.chars().find(|c| !c.is_ascii_alphanumeric() && !".!#$%&'*+-/=?^_`{|}~".contains(*c)) {
            return Err(format!("invalid character {}", quote_rune(c)));
        }
    }
    if domain.starts_with('[') && domain.ends_with(']') && domain.len() >= 2 {
        let inner = &domain[1..domain.len() - 1];
        if let Some(v6) = inner.strip_prefix("IPv6:") {
            return ipv6(v6).map_err(|e| format!("invalid ipv6 address: {e}"));
        }
        return ipv4(inner).map_err(|e| format!("invalid ipv4 address: {e}"));
    }
    hostname(domain).map_err(|e| format!("invalid domain: {e}"))
}

fn hostname(s: &str) -> Result<(), String> {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.len() > 253 {
        return Err("more than 253 characters long".to_owned());
    }
    for label in s.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err("label must be 1 to 63 characters long".to_owned());
        }
        if label.starts_with('-') {
            return Err("label starts with hyphen".to_owned());
        }
        if label.ends_with('-') {
            return Err("label ends with hyphen".to_owned());
        }
        if let Some(c) = label.chars().find(|c| !c.is_ascii_alphanumeric() && *c != '-') {
            return Err(format!("invalid character {}", quote_rune(c)));
        }
    }
    Ok(())
}

fn ipv4(s: &str) -> Result<(), String> {
    let groups: Vec<&str> = s.split('.').collect();
    if groups.len() != 4 {
        return Err("expected four decimals".to_owned());
    }
    for g in groups {
        if g.len() > 1 && g.starts_with('0') {
            return Err("leading zeros".to_owned());
        }
        let digits = g.strip_prefix(['+', '-']).unwrap_or(g);
        let n: i64 = match digits.parse::<u64>() {
            Ok(n) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
                let n = i64::try_from(n).map_err(|_| {
                    format!("strconv.Atoi: parsing {}: value out of range", reef_gotmpl::format::go_quote(g))
                })?;
                if g.starts_with('-') { -n } else { n }
            }
            _ => return Err(format!("strconv.Atoi: parsing {}: invalid syntax", reef_gotmpl::format::go_quote(g))),
        };
        if !(0..=255).contains(&n) {
            return Err("decimal must be between 0 and 255".to_owned());
        }
    }
    Ok(())
}

fn ipv6(s: &str) -> Result<(), String> {
    if !s.contains(':') {
        return Err("missing colon".to_owned());
    }
    let (addr, zone) = s.split_once('%').map_or((s, None), |(a, z)| (a, Some(z)));
    if addr.parse::<std::net::Ipv6Addr>().is_err() {
        return Err(format!("ParseAddr({}): unable to parse IP", reef_gotmpl::format::go_quote(s)));
    }
    if zone.is_some() {
        return Err("zone id is not a part of ipv6 address".to_owned());
    }
    Ok(())
}

fn uuid(s: &str) -> Result<(), String> {
    const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];
    let groups: Vec<&str> = s.split('-').collect();
    if groups.len() != GROUPS.len() {
        return Err(format!("must have {} elements", GROUPS.len()));
    }
    for (i, g) in groups.iter().enumerate() {
        if g.len() != GROUPS[i] {
            return Err(format!("element {} must be {} characters long", i + 1, GROUPS[i]));
        }
        if let Some(c) = g.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(format!("non-hex character {}", quote_rune(c)));
        }
    }
    Ok(())
}

/// Go's `time.Parse("2006-01-02", s)`, with its messages for the common failures.
fn date(s: &str) -> Result<(), String> {
    let q = reef_gotmpl::format::go_quote;
    let fail = |elem: &str, rest: &str| {
        Err(format!("parsing time {} as \"2006-01-02\": cannot parse {} as {}", q(s), q(rest), q(elem)))
    };
    let b = s.as_bytes();
    let num = |from: usize, n: usize| -> Option<u32> {
        let part = s.get(from..from + n)?;
        part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok()).flatten()
    };
    let Some(year) = num(0, 4) else { return fail("2006", s) };
    if b.get(4) != Some(&b'-') {
        return fail("-", &s[4.min(s.len())..]);
    }
    let Some(month) = num(5, 2) else { return fail("01", &s[5.min(s.len())..]) };
    if !(1..=12).contains(&month) {
        return Err(format!("parsing time {}: month out of range", q(s)));
    }
    if b.get(7) != Some(&b'-') {
        return fail("-", &s[7.min(s.len())..]);
    }
    let Some(day) = num(8, 2) else { return fail("02", &s[8.min(s.len())..]) };
    if s.len() > 10 {
        return Err(format!("parsing time {}: extra text: {}", q(s), q(&s[10..])));
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if day < 1 || day > days {
        return Err(format!("parsing time {}: day out of range", q(s)));
    }
    Ok(())
}

fn time(s: &str) -> Result<(), String> {
    if s.len() < 9 {
        return Err("less than 9 characters long".to_owned());
    }
    let b = s.as_bytes();
    if b[2] != b':' || b[5] != b':' {
        return Err("missing colon in correct place".to_owned());
    }
    let mut hms = Vec::new();
    for tok in s.get(..8).unwrap_or("").splitn(3, ':') {
        let Ok(i) = tok.parse::<i64>() else {
            return Err("invalid hour/min/sec".to_owned());
        };
        if i < 0 {
            return Err("non-positive hour/min/sec".to_owned());
        }
        hms.push(i);
    }
    if hms.len() != 3 {
        return Err("missing hour/min/sec".to_owned());
    }
    let (mut h, mut m, sec) = (hms[0], hms[1], hms[2]);
    if h > 23 || m > 59 || sec > 60 {
        return Err("hour/min/sec out of range".to_owned());
    }
    let mut rest = &s[8..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err("no digits in second fraction".to_owned());
        }
        rest = &frac[digits..];
    }
    if rest != "z" && rest != "Z" {
        if rest.len() != 6 {
            return Err("offset must be 6 characters long".to_owned());
        }
        let sign = match rest.as_bytes()[0] {
            b'+' => -1,
            b'-' => 1,
            _ => return Err("offset must begin with plus/minus".to_owned()),
        };
        let off = &rest[1..];
        if off.as_bytes()[2] != b':' {
            return Err("missing colon in offset in correct place".to_owned());
        }
        let mut zhm = Vec::new();
        for tok in off.splitn(2, ':') {
            let Ok(i) = tok.parse::<i64>() else {
                return Err("invalid hour/min in offset".to_owned());
            };
            if i < 0 {
                return Err("non-positive hour/min in offset".to_owned());
            }
            zhm.push(i);
        }
        let (zh, zm) = (zhm[0], zhm[1]);
        if zh > 23 || zm > 59 {
            return Err("hour/min in offset out of range".to_owned());
        }
        let mut hm = (h * 60 + m) + sign * (zh * 60 + zm);
        if hm < 0 {
            hm += 24 * 60;
        }
        h = hm / 60;
        m = hm % 60;
    }
    if sec >= 60 && (h != 23 || m != 59) {
        return Err("invalid leap second".to_owned());
    }
    Ok(())
}

fn date_time(s: &str) -> Result<(), String> {
    if s.len() < 20 {
        return Err("less than 20 characters long".to_owned());
    }
    if !matches!(s.as_bytes()[10], b't' | b'T') {
        return Err("11th character must be t or T".to_owned());
    }
    let (Some(d), Some(t)) = (s.get(..10), s.get(11..)) else {
        return Err("11th character must be t or T".to_owned());
    };
    date(d).map_err(|e| format!("invalid date element: {e}"))?;
    time(t).map_err(|e| format!("invalid time element: {e}"))
}

fn duration(s: &str) -> Result<(), String> {
    let Some(s) = s.strip_prefix('P') else {
        return Err("must start with P".to_owned());
    };
    if s.is_empty() {
        return Err("nothing after P".to_owned());
    }
    if let Some(weeks) = s.strip_suffix('W') {
        if weeks.is_empty() {
            return Err("no number in week".to_owned());
        }
        if !weeks.bytes().all(|b| b.is_ascii_digit()) {
            return Err("invalid week".to_owned());
        }
        return Ok(());
    }
    const ALL_UNITS: [&str; 2] = ["YMD", "HMS"];
    for (i, part) in s.split('T').enumerate() {
        if i != 0 && part.is_empty() {
            return Err("no time elements".to_owned());
        }
        if i >= ALL_UNITS.len() {
            return Err("more than one T".to_owned());
        }
        let mut units = ALL_UNITS[i];
        let mut rest = part;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err("missing number".to_owned());
            }
            rest = &rest[digits..];
            let Some(unit) = rest.chars().next() else {
                return Err("missing unit".to_owned());
            };
            match units.find(unit) {
                Some(j) => units = &units[j + 1..],
                None if ALL_UNITS[i].contains(unit) => return Err(format!("unit {} out of order", quote_rune(unit))),
                None => return Err(format!("invalid unit {}", quote_rune(unit))),
            }
            rest = &rest[unit.len_utf8()..];
        }
    }
    Ok(())
}

fn json_pointer(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Ok(());
    }
    if !s.starts_with('/') {
        return Err("not starting with /".to_owned());
    }
    for tok in s.split('/').skip(1) {
        let mut chars = tok.chars();
        while let Some(c) = chars.next() {
            if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
                return Err("~ must be followed by 0 or 1".to_owned());
            }
        }
    }
    Ok(())
}

fn relative_json_pointer(s: &str) -> Result<(), String> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err("must start with non-negative integer".to_owned());
    }
    if digits > 1 && s.starts_with('0') {
        return Err("starts with zero".to_owned());
    }
    let rest = &s[digits..];
    if rest == "#" {
        return Ok(());
    }
    json_pointer(rest)
}

fn uri(s: &str, reference: bool) -> Result<(), String> {
    let has_scheme = url_parse(s).map_err(|e| format!("parse {}: {e}", reef_gotmpl::format::go_quote(s)))?;
    if !reference && !has_scheme {
        return Err("relative url".to_owned());
    }
    Ok(())
}

/// The checks of Go's `url.Parse` that fail common mistakes; `Ok` says whether the URL has
/// a scheme (is absolute).
fn url_parse(s: &str) -> Result<bool, String> {
    if s.chars().any(|c| (c as u32) < 0x20 || c as u32 == 0x7f) {
        return Err("net/url: invalid control character in URL".to_owned());
    }
    let rest = s.split_once('#').map_or(s, |(r, _)| r);
    let mut scheme = None;
    if let Some(i) = rest.find(':') {
        let candidate = &rest[..i];
        if candidate.is_empty() {
            return Err("missing protocol scheme".to_owned());
        }
        if candidate.starts_with(|c: char| c.is_ascii_alphabetic())
            && candidate.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            scheme = Some(i);
        }
    }
    let after = scheme.map_or(rest, |i| &rest[i + 1..]);
    let after = after.split_once('?').map_or(after, |(a, _)| a);
    if let Some(bad) = bad_escape(s) {
        return Err(format!("invalid URL escape {}", reef_gotmpl::format::go_quote(bad)));
    }
    if let Some(authority) = after.strip_prefix("//") {
        let host = authority.split('/').next().unwrap_or("");
        let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
        if let Some(c) = host.chars().find(|c| !c.is_ascii_alphanumeric() && !"-._~!$&'()*+,;=:[]%<>\"".contains(*c)) {
            return Err(format!("invalid character {} in host name", reef_gotmpl::format::go_quote(&c.to_string())));
        }
    } else if scheme.is_none() && after.split('/').next().is_some_and(|seg| seg.contains(':')) {
        return Err("first path segment in URL cannot contain colon".to_owned());
    }
    Ok(scheme.is_some())
}

/// The first `%` not followed by two hex digits, with what follows it.
fn bad_escape(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    let i = (0..b.len()).find(|&i| {
        b[i] == b'%'
            && !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit) && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    })?;
    Some(s.get(i..(i + 3).min(s.len())).unwrap_or(&s[i..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_first_problem() {
        assert_eq!(check("email", "foo"), Err("missing @".to_owned()));
        assert_eq!(check("ipv4", "foo"), Err("expected four decimals".to_owned()));
        assert_eq!(check("ipv4", "1.2.3.x"), Err("strconv.Atoi: parsing \"x\": invalid syntax".to_owned()));
        assert_eq!(check("date-time", "foo"), Err("less than 20 characters long".to_owned()));
        assert_eq!(check("uri", "foo"), Err("relative url".to_owned()));
        assert_eq!(check("uuid", "123"), Err("must have 5 elements".to_owned()));
        assert_eq!(check("hostname", "a_b"), Err("invalid character '_'".to_owned()));
        assert_eq!(check("date-time", "2024-01-02T03:04:05Z"), Ok(()));
        assert_eq!(check("no-such-format", "x"), Ok(()));
    }
}
