//! Where two runs of helm differ (random, time and key-generating functions), reef's output
//! cannot be equal to helm's, but it must have the same shape: the parts of a line the two
//! runs share are reef's too, and the part that varies is a string of the same length and
//! the same kinds of characters, a date of the same format, base64 of text of the same shape,
//! or a PEM block with the same labels (for a certificate: the same subject, issuer, key
//! algorithm and key size, and the same validity period).
//!
//! A PEM block written over several lines (its body's line count varies with the size of a
//! signature or serial number) is first folded into one line, the base64 of the block.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use x509_parser::prelude::{FromDer as _, X509Certificate};

/// Where `reef` does not have the shape of `helm1` and `helm2` (two helm runs of one case):
/// the first offending line, or `None` when it has their shape.
pub(super) fn shape_difference(helm1: &str, helm2: &str, reef: &str) -> Option<String> {
    let (a, b, r) = (fold_pem_blocks(helm1), fold_pem_blocks(helm2), fold_pem_blocks(reef));
    if a.len() != b.len() {
        // The runs differ in more than single lines: only equality can be checked.
        return (reef != helm1 && reef != helm2).then(|| "helm's two runs differ in line count".to_owned());
    }
    let offending = a
        .iter()
        .zip(&b)
        .zip(&r)
        .position(|((x, y), z)| if x == y { x != z } else { !line_has_shape(x, y, z) })
        .or_else(|| (r.len() != a.len()).then_some(a.len().min(r.len())))?;
    let around = |lines: &[String]| lines[offending.saturating_sub(3)..(offending + 1).min(lines.len())].join("\n");
    Some(format!(
        "first difference at line {} (PEM blocks folded; helm {} lines, reef {}):\n--- helm\n{}\n--- helm, second run\n{}\n--- reef\n{}",
        offending + 1,
        a.len(),
        r.len(),
        around(&a),
        b.get(offending).map_or("", String::as_str),
        around(&r)
    ))
}

/// The text's lines, each PEM block (`-----BEGIN L-----` to `-----END L-----`) replaced by
/// one line: the block's indentation and the base64 of the block.
fn fold_pem_blocks(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let body = line.trim_start();
        let end = body
            .strip_prefix("-----BEGIN ")
            .and_then(|rest| rest.strip_suffix("-----"))
            .map(|label| format!("-----END {label}-----"))
            .and_then(|end| lines[i + 1..].iter().position(|l| l.trim() == end));
        match end {
            Some(n) => {
                let block: String = lines[i..=i + 1 + n].iter().map(|l| format!("{}\n", l.trim())).collect();
                let indent = &line[..line.len() - body.len()];
                out.push(format!("{indent}{}", STANDARD.encode(block)));
                i += n + 2;
            }
            None => {
                out.push(line.to_owned());
                i += 1;
            }
        }
    }
    out
}

/// What randAscii produces besides letters and digits: punctuation and the space.
fn is_printable_symbol(c: char) -> bool {
    c == ' ' || c.is_ascii_punctuation()
}

/// A character that random strings and base64 are made of.
fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '+' || c == '/'
}

/// `z` keeps what `x` and `y` share around their varying part, and that part has their shape.
/// The shared prefix and suffix stop short of word characters next to the varying part: a
/// random string's first characters may be equal in two runs by chance, and base64 padding
/// depends on the length of what was encoded, which may vary too. Where the varying part's
/// punctuation varies, punctuation next to it may be equal by chance as well: then the
/// whole line is compared as one varying part.
fn line_has_shape(x: &str, y: &str, z: &str) -> bool {
    let mut p: usize = x.chars().zip(y.chars()).take_while(|(a, b)| a == b).map(|(a, _)| a.len_utf8()).sum();
    while x[..p].ends_with(is_word) {
        p -= x[..p].chars().next_back().map_or(0, char::len_utf8);
    }
    let (xr, yr) = (&x[p..], &y[p..]);
    let mut s: usize =
        xr.chars().rev().zip(yr.chars().rev()).take_while(|(a, b)| a == b).map(|(a, _)| a.len_utf8()).sum();
    s = s.min(xr.len()).min(yr.len());
    while xr[xr.len() - s..].starts_with(|c| is_word(c) || c == '=') {
        s -= xr[xr.len() - s..].chars().next().map_or(0, char::len_utf8);
    }
    let (prefix, suffix) = (&x[..p], &xr[xr.len() - s..]);
    let (tx, ty) = (&xr[..xr.len() - s], &yr[..yr.len() - s]);
    if punctuation_varies(tx, ty) && !is_bcrypt_prefix(prefix) {
        return plain_has_shape(&Alphabet::of(&[x, y]), x, y, z, true);
    }
    let Some(tz) = z.strip_prefix(prefix).and_then(|t| t.strip_suffix(suffix)) else {
        return false;
    };
    token_has_shape(tx, ty, tz, prefix)
}

/// Whether the punctuation in two runs' varying parts differs (base64 padding aside): then
/// the function produces punctuation itself, as randAscii does.
fn punctuation_varies(tx: &str, ty: &str) -> bool {
    let is_punctuation = |c: &char| !is_word(*c) && *c != '=';
    let (cx, cy): (Vec<char>, Vec<char>) = (tx.chars().collect(), ty.chars().collect());
    if cx.len() == cy.len() {
        return cx.iter().zip(&cy).any(|(a, b)| a != b && (is_punctuation(a) || is_punctuation(b)));
    }
    let punctuation = |t: &[char]| {
        let mut p: Vec<char> = t.iter().copied().filter(is_punctuation).collect();
        p.sort_unstable();
        p
    };
    punctuation(&cx) != punctuation(&cy)
}

/// The varying parts of a line: base64 of text (decoded and compared as text, a PEM block as
/// PEM), or else a plain string. `prefix` precedes them.
fn token_has_shape(tx: &str, ty: &str, tz: &str, prefix: &str) -> bool {
    if let (Some(dx), Some(dy)) = (decoded_text(tx), decoded_text(ty)) {
        let Some(dz) = decoded_text(tz) else {
            return false;
        };
        if is_single_pem_block(&dx) || is_single_pem_block(&dy) {
            return pem_has_shape(&dx, &dz);
        }
        return shape_difference(&dx, &dy, &dz).is_none();
    }
    let mut alphabet = Alphabet::of(&[tx, ty]);
    if [tx, ty].iter().all(|t| t.len().is_multiple_of(4) && STANDARD.decode(t).is_ok()) {
        // Base64 of bytes: `+` and `/` may be missing from two runs by chance.
        alphabet.other.extend(['+', '/']);
    }
    let bcrypt = is_bcrypt_prefix(prefix);
    if bcrypt {
        // Its `.` may be at the same place in two runs by chance.
        alphabet.other.extend(['.', '/']);
    }
    plain_has_shape(&alphabet, tx, ty, tz, bcrypt)
}

/// `$2a$10$` and the like: a bcrypt hash (htpasswd) follows, in the alphabet `./A-Za-z0-9`.
fn is_bcrypt_prefix(prefix: &str) -> bool {
    let b = prefix.as_bytes();
    b.len() >= 7 && {
        let t = &b[b.len() - 7..];
        t[0] == b'$' && t[1] == b'2' && t[3] == b'$' && t[4].is_ascii_digit() && t[5].is_ascii_digit() && t[6] == b'$'
    }
}

/// Standard base64 (at least four characters) of printable text.
fn decoded_text(t: &str) -> Option<String> {
    // Short strings and non-ASCII text are left as they are: a random string of digits or
    // letters reads as base64 of a few UTF-8 characters by chance (`2498` is `ۏ|`), and in
    // another run it does not.
    if t.len() < 8 || !t.len().is_multiple_of(4) {
        return None;
    }
    let text = String::from_utf8(STANDARD.decode(t).ok()?).ok()?;
    text.chars().all(|c| c.is_ascii_graphic() || matches!(c, ' ' | '\n' | '\r' | '\t')).then_some(text)
}

fn is_single_pem_block(text: &str) -> bool {
    text.trim_start().starts_with("-----BEGIN ")
        && x509_parser::pem::parse_x509_pem(text.trim_start().as_bytes())
            .is_ok_and(|(rest, _)| rest.iter().all(u8::is_ascii_whitespace))
}

/// Both are one PEM block with the same label, whose contents are DER; certificates agree
/// on subject, issuer, public key algorithm and size, and validity period.
fn pem_has_shape(helm: &str, reef: &str) -> bool {
    let parse = |t: &str| x509_parser::pem::parse_x509_pem(t.trim_start().as_bytes()).ok().map(|(_, pem)| pem);
    let (Some(h), Some(r)) = (parse(helm), parse(reef)) else {
        return false;
    };
    if h.label != r.label || !is_single_pem_block(reef) {
        return false;
    }
    if h.label != "CERTIFICATE" {
        return x509_parser::der_parser::parse_der(&r.contents).is_ok_and(|(rest, _)| rest.is_empty());
    }
    let (Ok((_, hc)), Ok((_, rc))) = (X509Certificate::from_der(&h.contents), X509Certificate::from_der(&r.contents))
    else {
        return false;
    };
    let key = |c: &X509Certificate| {
        let spki = c.public_key();
        (spki.algorithm.algorithm.to_id_string(), spki.parsed().map(|k| k.key_size()).ok())
    };
    let period = |c: &X509Certificate| c.validity().not_after.timestamp() - c.validity().not_before.timestamp();
    hc.subject().to_string() == rc.subject().to_string()
        && hc.issuer().to_string() == rc.issuer().to_string()
        && key(&hc) == key(&rc)
        && period(&hc) == period(&rc)
}

/// The kinds of characters two runs of a random or time function produced.
#[derive(Default)]
struct Alphabet {
    upper: bool,
    lower: bool,
    digit: bool,
    other: std::collections::BTreeSet<char>,
}

impl Alphabet {
    fn of(texts: &[&str]) -> Alphabet {
        let mut a = Alphabet::default();
        for c in texts.iter().flat_map(|t| t.chars()) {
            match c {
                'A'..='Z' => a.upper = true,
                'a'..='z' => a.lower = true,
                '0'..='9' => a.digit = true,
                _ => {
                    a.other.insert(c);
                }
            }
        }
        a
    }

    /// Whether the function could have produced `c`. Digits go with letters (a short
    /// alphanumeric string may lack digits by chance); three or more kinds of punctuation
    /// mean any punctuation or a space (randAscii).
    fn admits(&self, c: char) -> bool {
        match c {
            'A'..='Z' => self.upper,
            'a'..='z' => self.lower,
            '0'..='9' => self.digit || self.upper || self.lower,
            _ => self.other.contains(&c) || (self.other.len() >= 3 && is_printable_symbol(c)),
        }
    }
}

/// A plain varying part: its characters are in `alphabet`, or are any punctuation or a
/// space where helm's punctuation varies between the runs; as long as helm's (or, where helm's two
/// lengths differ, between them); where helm's two are equally long, the punctuation they
/// share at a position (a uuid's dashes, a date's colons) is reef's too, unless the function
/// produces punctuation itself or `any_punctuation_place` says its punctuation may be
/// anywhere.
fn plain_has_shape(alphabet: &Alphabet, tx: &str, ty: &str, tz: &str, any_punctuation_place: bool) -> bool {
    let random_punctuation = punctuation_varies(tx, ty);
    if !tz.chars().all(|c| alphabet.admits(c) || (random_punctuation && is_printable_symbol(c))) {
        return false;
    }
    let (cx, cy, cz): (Vec<char>, Vec<char>, Vec<char>) =
        (tx.chars().collect(), ty.chars().collect(), tz.chars().collect());
    if cx.len() != cy.len() {
        return (cx.len().min(cy.len())..=cx.len().max(cy.len())).contains(&cz.len());
    }
    cz.len() == cx.len()
        && (random_punctuation
            || any_punctuation_place
            || cx.iter().zip(&cy).zip(&cz).all(|((a, b), c)| a != b || is_word(*a) || a == c))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders one template through reef (its own genCA and friends make the certificates).
    fn render(template: &str) -> String {
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::write(dir.path().join("Chart.yaml"), "apiVersion: v2\nname: shape\nversion: 0.1.0\n")
            .expect("writing Chart.yaml");
        std::fs::create_dir(dir.path().join("templates")).expect("creating templates/");
        std::fs::write(dir.path().join("templates/t.yaml"), template).expect("writing the template");
        let options = reef_helm::template::TemplateOptions { chart: dir.path().to_path_buf(), ..Default::default() };
        reef_helm::template::render(&options).expect("rendering")
    }

    fn has_shape(helm1: &str, helm2: &str, reef: &str) -> bool {
        shape_difference(helm1, helm2, reef).is_none()
    }

    #[test]
    fn a_random_string_of_the_same_length_and_kinds_has_the_shape() {
        let (h1, h2) = ("name: test-aB3dEfGh12345678\nx: 1\n", "name: test-Zz9yXwVu87654321\nx: 1\n");
        assert!(has_shape(h1, h2, "name: test-Qq1rRsStT0000000\nx: 1\n"));
    }

    #[test]
    fn a_random_string_one_character_short_does_not() {
        let (h1, h2) = ("pw: \"aB3dEfGh12345678\"\n", "pw: \"Zz9yXwVu87654321\"\n");
        assert!(!has_shape(h1, h2, "pw: \"Qq1rRsStT000000\"\n"));
    }

    #[test]
    fn a_random_string_with_characters_helm_never_produces_does_not() {
        let (h1, h2) = ("id: abc12\n", "id: x9yzq\n");
        assert!(has_shape(h1, h2, "id: 7k2mq\n"));
        assert!(!has_shape(h1, h2, "id: 7K2mq\n"));
        assert!(!has_shape(h1, h2, "id: 7-2mq\n"));
    }

    #[test]
    fn the_parts_helm_runs_share_must_be_equal() {
        let (h1, h2) = ("name: test-hlkbs\n", "name: test-ygx4a\n");
        assert!(!has_shape(h1, h2, "name: tset-abcde\n"));
        // Equal first characters by chance are not part of the shared prefix.
        assert!(has_shape("name: test-ab9xq\n", "name: test-ac1rt\n", "name: test-zz0kk\n"));
        // Lines that do not vary must be equal.
        assert!(!has_shape("a: 1\nb: x1\n", "a: 1\nb: y2\n", "a: 2\nb: z3\n"));
    }

    #[test]
    fn punctuation_that_varies_between_runs_may_be_any() {
        let (h1, h2) = ("pw: a@b_c\n", "pw: _de@f\n");
        assert!(has_shape(h1, h2, "pw: x!y_z\n"));
        assert!(!has_shape(h1, h2, "pw: x!y_zz\n"));
        // Punctuation at the same place in both runs is part of the format.
        assert!(!has_shape("t: 12:34\n", "t: 56:78\n", "t: 12-34\n"));
    }

    #[test]
    fn a_uuid_keeps_its_dashes() {
        let (h1, h2) = ("uid: 0f8fad5b-d9cb-469f-a165-70867728950e\n", "uid: 7c9e6679-7425-40de-944b-e07fc1f90ae7\n");
        assert!(has_shape(h1, h2, "uid: 16fd2706-8baf-433b-82eb-8c7fada847da\n"));
        assert!(!has_shape(h1, h2, "uid: 16fd27068-baf-433b-82eb-8c7fada847da\n"));
    }

    #[test]
    fn random_digits_that_read_as_base64_by_chance_are_compared_as_digits() {
        assert!(has_shape("  randInt: \"2498\"\n", "  randInt: \"2487\"\n", "  randInt: \"7720\"\n"));
        assert!(!has_shape("  randInt: \"2498\"\n", "  randInt: \"2487\"\n", "  randInt: \"772\"\n"));
        assert!(has_shape("  n: \"24982498\"\n", "  n: \"24872487\"\n", "  n: \"77207720\"\n"));
    }

    #[test]
    fn base64_of_a_random_password_is_compared_decoded() {
        let b64 = |s: &str| format!("password: \"{}\"\n", STANDARD.encode(s));
        let (h1, h2) = (b64("aLAxn5PyAt"), b64("tJa0cJ9XH9"));
        assert!(has_shape(&h1, &h2, &b64("Qw3erTy7Ui")));
        assert!(!has_shape(&h1, &h2, &b64("Qw3erTy7U")));
        assert!(!has_shape(&h1, &h2, &b64("Qw3er-y7Ui")));
        assert!(!has_shape(&h1, &h2, "password: \"Qw3erTy7Ui\"\n"));
    }

    #[test]
    fn a_bcrypt_hash_may_use_its_whole_alphabet() {
        let (h1, h2) = (
            "u:$2a$10$pjC6ip9o5kYXapM7hUZfAuzh0nZzIlPjWNGLCWsCnizuDph9Ewto2\n",
            "u:$2a$10$wTcj44aoBoKNOSzyWTKeMej2FHSk3VURMbFtLqgJBpiRAc2buCIoa\n",
        );
        assert!(has_shape(h1, h2, "u:$2a$10$dyYa2.dXtC4/GVJUuPS2BuTwtMNpQVamA0xOD9ney2USdcETfsTW.\n"));
        assert!(!has_shape(h1, h2, "u:$2a$10$dyYa2.dXtC4/GVJUuPS2BuTwtMNpQVamA0xOD9ney2USdcETfsTW\n"));
    }

    #[test]
    fn a_bcrypt_hash_may_have_its_salt_end_anywhere() {
        // The 22nd character of the salt is often `.`, in both runs by chance.
        let (h1, h2) = (
            "u:$2a$10$b9ef2wchgrlbyoXhPOZhy.9GEJe6Y5i9pGrPrzeq7oMS2T2B2UI8e\n",
            "u:$2a$10$Yj3IhHswLYgG1vYz5Z9nD.13md1ga/s4ThqF40p5Jyir3xSSslWH2\n",
        );
        assert!(has_shape(h1, h2, "u:$2a$10$3dSCVBHxintgrL9xKQoo0ORhLrE8gLKl2mXY0bMjlCvBv.618n33u\n"));
    }

    #[test]
    fn random_punctuation_equal_by_chance_next_to_the_varying_part_is_not_shared() {
        let b64 = |s: &str| format!("ascii: \"{}\"\n", STANDARD.encode(s));
        // Both helm runs of randAscii end with `-`, reef's does not.
        let (h1, h2) = (b64("EognRG`p{IP T6-\"qSW-"), b64("(VW.?oWF'x]BaG+PCXY-"));
        assert!(has_shape(&h1, &h2, &b64("OoTCD(6drGe9y|*;<>8I")));
        // randAscii's alphabet has the space too, though neither helm run drew one.
        assert!(has_shape(&h1, &h2, &b64(")B|WlbgzE23kWftW`kn ")));
        assert!(!has_shape(&h1, &h2, &b64("OoTCD(6drGe9y|*;<>8")));
    }

    #[test]
    fn a_date_keeps_its_format() {
        let (h1, h2) = ("ts: \"20261124012741\"\n", "ts: \"20261124012803\"\n");
        assert!(has_shape(h1, h2, "ts: \"20261124012759\"\n"));
        assert!(!has_shape(h1, h2, "ts: \"2026-11-24 01:27:59\"\n"));
    }

    const CA: &str = r#"{{- $ca := genCA "shape-ca" 365 }}
tls.crt: {{ $ca.Cert | b64enc }}
tls.key: {{ $ca.Key | b64enc }}
inline: |
{{ $ca.Cert | indent 2 }}
"#;

    #[test]
    fn a_certificate_with_the_same_subject_and_key_has_the_shape() {
        let (h1, h2, r) = (render(CA), render(CA), render(CA));
        assert!(has_shape(&h1, &h2, &r), "{:?}", shape_difference(&h1, &h2, &r));
    }

    #[test]
    fn a_certificate_with_another_subject_or_period_does_not() {
        let (h1, h2) = (render(CA), render(CA));
        let other_name = render(&CA.replace("shape-ca", "other-ca"));
        assert!(!has_shape(&h1, &h2, &other_name));
        let other_period = render(&CA.replace("365", "30"));
        assert!(!has_shape(&h1, &h2, &other_period));
    }

    #[test]
    fn a_blob_that_is_not_pem_where_helm_has_a_certificate_does_not() {
        let (h1, h2) = (render(CA), render(CA));
        let first = h1.lines().find(|l| l.starts_with("tls.crt: ")).expect("a tls.crt line");
        let not_pem = STANDARD.encode("just some text that is long enough to look like a blob");
        assert!(!has_shape(&h1, &h2, &h1.replace(first, &format!("tls.crt: {not_pem}"))));
        let key_not_cert = h1.lines().find(|l| l.starts_with("tls.key: ")).expect("a tls.key line");
        assert!(!has_shape(&h1, &h2, &h1.replace(first, &key_not_cert.replace("tls.key", "tls.crt"))));
    }

    #[test]
    fn an_inline_pem_block_may_take_another_line_count() {
        let pem = |body_lines: usize| {
            let body = STANDARD.encode(vec![7u8; 48 * body_lines]);
            let lines: Vec<String> =
                body.as_bytes().chunks(64).map(|c| format!("  {}", String::from_utf8_lossy(c))).collect();
            format!(
                "key: |\n  -----BEGIN RSA PRIVATE KEY-----\n{}\n  -----END RSA PRIVATE KEY-----\nafter: 1\n",
                lines.join("\n")
            )
        };
        // DER: a SEQUENCE of the given length, so that the contents parse.
        let der = |len: usize| {
            let mut v = vec![0x30, 0x82, (len >> 8) as u8, len as u8];
            v.extend(std::iter::repeat_n(0u8, len));
            v
        };
        let block = |len: usize| {
            let body = STANDARD.encode(der(len));
            let lines: Vec<String> =
                body.as_bytes().chunks(64).map(|c| format!("  {}", String::from_utf8_lossy(c))).collect();
            format!(
                "key: |\n  -----BEGIN RSA PRIVATE KEY-----\n{}\n  -----END RSA PRIVATE KEY-----\nafter: 1\n",
                lines.join("\n")
            )
        };
        let (h1, h2) = (block(1190), block(1193));
        assert_ne!(h1.lines().count(), block(1250).lines().count());
        assert!(has_shape(&h1, &h2, &block(1250)));
        // Not DER inside the block.
        assert!(!has_shape(&h1, &h2, &pem(20)));
        // Another label.
        assert!(!has_shape(&h1, &h2, &block(1250).replace("RSA PRIVATE KEY", "EC PRIVATE KEY")));
    }
}
