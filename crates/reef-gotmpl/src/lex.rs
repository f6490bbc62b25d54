//! The lexer of Go's `text/template` (`text/template/parse/lex.go`), producing the same items,
//! positions and error messages. The whole input is lexed up front into a vector of small
//! items that borrow their text; an error item ends it, as Go's lexer stops at its first
//! error. Lines are not tracked: an item's line is counted from its offset ([`line_at`]) only
//! when an error needs it.

/// The kind of a lexed item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemType {
    /// A lexing error; `val` is the message.
    Error,
    /// `true` or `false`.
    Bool,
    /// A printable ASCII character not otherwise meaningful (`,`).
    Char,
    /// A character constant `'a'`.
    CharConstant,
    /// A complex constant `1+2i`.
    Complex,
    /// `=`.
    Assign,
    /// `:=`.
    Declare,
    /// End of input.
    Eof,
    /// `.name`.
    Field,
    /// A function name.
    Identifier,
    /// `{{`.
    LeftDelim,
    /// `(`.
    LeftParen,
    /// A number.
    Number,
    /// `|`.
    Pipe,
    /// A raw string.
    RawString,
    /// `}}`.
    RightDelim,
    /// `)`.
    RightParen,
    /// Spaces inside an action.
    Space,
    /// A quoted string (with quotes).
    String,
    /// Plain text.
    Text,
    /// `$name`.
    Variable,
    /// `{{/* */}}`.
    Comment,
    /// Keywords, from here on.
    Block,
    /// `break`.
    Break,
    /// `continue`.
    Continue,
    /// `.` alone.
    Dot,
    /// `define`.
    Define,
    /// `else`.
    Else,
    /// `end`.
    End,
    /// `if`.
    If,
    /// `nil`.
    Nil,
    /// `range`.
    Range,
    /// `template`.
    Template,
    /// `with`.
    With,
}

impl ItemType {
    fn is_keyword(self) -> bool {
        matches!(
            self,
            ItemType::Block
                | ItemType::Break
                | ItemType::Continue
                | ItemType::Dot
                | ItemType::Define
                | ItemType::Else
                | ItemType::End
                | ItemType::If
                | ItemType::Nil
                | ItemType::Range
                | ItemType::Template
                | ItemType::With
        )
    }
}

/// A lexed item: its kind, byte offset and text.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    /// The kind.
    pub typ: ItemType,
    /// Byte offset in the input.
    pub pos: usize,
    /// The text, as in the input at `pos` (empty for an error: the message is
    /// [`Lexed::error`]). The text of punctuation and keywords is a static copy rather than a
    /// borrow of the input, which saves checking the borrow's bounds.
    pub val: &'a str,
}

/// The items of an input, and the message of the error item that ends them, if one does.
#[derive(Debug)]
pub struct Lexed<'a> {
    /// The items, ending with `Eof` or `Error`.
    pub items: Vec<Item<'a>>,
    /// The message of the final `Error` item.
    pub error: String,
}

/// The 1-based line of byte offset `pos` in `input`: the line Go's lexer gives an item that
/// starts there.
pub fn line_at(input: &str, pos: usize) -> usize {
    1 + input.as_bytes()[..pos.min(input.len())].iter().filter(|&&b| b == b'\n').count()
}

impl std::fmt::Display for Item<'_> {
    /// Go's `item.String()`, used in parse errors (`unexpected "}" in operand`); an error item
    /// is written as its message by the parser, which holds it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.typ {
            ItemType::Eof => f.write_str("EOF"),
            ItemType::Error => f.write_str(self.val),
            t if t.is_keyword() => write!(f, "<{}>", self.val),
            _ => {
                if self.val.len() > 10 && self.val.chars().count() > 10 {
                    let head: String = self.val.chars().take(10).collect();
                    let q = crate::format::go_quote(&head);
                    write!(f, "{q}...")
                } else {
                    f.write_str(&crate::format::go_quote(self.val))
                }
            }
        }
    }
}

const LEFT: &[u8] = b"{{";
const RIGHT: &[u8] = b"}}";
const TRIM_LEN: usize = 2;

/// Classes of a byte, as bits of [`CLASS`]: an ASCII letter, digit or `_` (part of a name).
const NAME: u8 = 1;
/// Go's `isSpace`: space, tab, carriage return, newline.
const SPACE: u8 = 2;
/// A byte that ends a name (as do `}}` and the end of the input): a space or `.,|:()`.
const TERMINATOR: u8 = 4;

/// The classes of every byte. Everything the lexer asks of a byte is ASCII, and no byte of a
/// multi-byte UTF-8 character is ASCII, so bytes answer without decoding characters.
const CLASS: [u8; 256] = {
    let mut t = [0; 256];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() || c == b'_' {
            t[b] |= NAME;
        }
        if matches!(c, b' ' | b'\t' | b'\r' | b'\n') {
            t[b] |= SPACE | TERMINATOR;
        }
        if matches!(c, b'.' | b',' | b'|' | b':' | b')' | b'(') {
            t[b] |= TERMINATOR;
        }
        b += 1;
    }
    t
};

fn is_space(b: u8) -> bool {
    CLASS[b as usize] & SPACE != 0
}

fn is_name_byte(b: u8) -> bool {
    CLASS[b as usize] & NAME != 0
}

/// Eight bytes read as one word: each byte's high bit, and each byte's low seven bits.
const HIGH: u64 = 0x8080_8080_8080_8080;
const LOW: u64 = 0x7f7f_7f7f_7f7f_7f7f;

/// `b` in each byte of a word.
const fn splat(b: u8) -> u64 {
    b as u64 * 0x0101_0101_0101_0101
}

/// The high bit of each byte of `w` that is an ASCII letter, digit or `_`.
fn name_bytes(w: u64) -> u64 {
    // For a seven-bit byte `x`, `x + (0x80 - lo)` has its high bit set exactly when `x >= lo`,
    // and never carries into the next byte.
    let x = w & LOW;
    let digit = (x + splat(0x80 - b'0')) & !(x + splat(0x80 - b'9' - 1));
    // Setting 0x20 folds upper case onto lower case, and `_` (0x5f) onto 0x7f, no letter.
    let folded = x | splat(0x20);
    let letter = (folded + splat(0x80 - b'a')) & !(folded + splat(0x80 - b'z' - 1));
    let underscore = !((x ^ splat(b'_')) + LOW);
    (digit | letter | underscore) & !w & HIGH
}

/// The high bit of the first byte of `w` equal to `b`, if any (bits above it may be set too).
fn bytes_equal(w: u64, b: u8) -> u64 {
    let v = w ^ splat(b);
    v.wrapping_sub(splat(1)) & !v & HIGH
}

/// The offset of the first `b` in `s`. Half the gaps between actions are under ten bytes,
/// where two words looked at by hand cost less than a call to memchr, which takes the rest.
fn find_byte(s: &[u8], b: u8) -> Option<usize> {
    let mut n = 0;
    while n < 16 {
        let Some(chunk) = s[n..].first_chunk::<8>() else { break };
        let hit = bytes_equal(u64::from_le_bytes(*chunk), b);
        if hit != 0 {
            return Some(n + (hit.trailing_zeros() / 8) as usize);
        }
        n += 8;
    }
    memchr::memchr(b, &s[n..]).map(|x| n + x)
}

/// The length of the run of ASCII letters, digits and `_` that `s` starts with: a word at a
/// time while it lasts (names run to about ten bytes), then a byte at a time.
fn ascii_name_len(s: &[u8]) -> usize {
    let mut n = 0;
    while let Some(chunk) = s[n..].first_chunk::<8>() {
        let others = !name_bytes(u64::from_le_bytes(*chunk)) & HIGH;
        if others != 0 {
            return n + (others.trailing_zeros() / 8) as usize;
        }
        n += 8;
    }
    n + s[n..].iter().position(|&b| !is_name_byte(b)).unwrap_or(s.len() - n)
}

/// Go's `isAlphaNumeric`, asked of characters beyond ASCII.
fn is_alnum(c: char) -> bool {
    if c.is_ascii() {
        return c == '_' || c.is_ascii_alphanumeric();
    }
    c.is_alphabetic() || c.is_numeric()
}

/// The item and text of a keyword or boolean; other words made of name characters are
/// identifiers.
#[inline(always)]
fn keyword(word: &[u8]) -> Option<(ItemType, &'static str)> {
    use ItemType::*;
    // Grouped by length, so most identifiers are told apart by their length alone.
    Some(match word.len() {
        2 if word == b"if" => (If, "if"),
        3 => match word {
            b"end" => (End, "end"),
            b"nil" => (Nil, "nil"),
            _ => return None,
        },
        4 => match word {
            b"else" => (Else, "else"),
            b"with" => (With, "with"),
            b"true" => (Bool, "true"),
            _ => return None,
        },
        5 => match word {
            b"range" => (Range, "range"),
            b"block" => (Block, "block"),
            b"break" => (Break, "break"),
            b"false" => (Bool, "false"),
            _ => return None,
        },
        6 if word == b"define" => (Define, "define"),
        8 => match word {
            b"template" => (Template, "template"),
            b"continue" => (Continue, "continue"),
            _ => return None,
        },
        _ => return None,
    })
}

fn has_left_trim(b: &[u8]) -> bool {
    matches!(b, [b'-', space, ..] if is_space(*space))
}

/// The digits a number may use after its prefix.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Digits {
    Decimal,
    Hex,
    Octal,
    Binary,
}

impl Digits {
    fn contains(self, b: u8) -> bool {
        b == b'_'
            || match self {
                Digits::Decimal => b.is_ascii_digit(),
                Digits::Hex => b.is_ascii_hexdigit(),
                Digits::Octal => matches!(b, b'0'..=b'7'),
                Digits::Binary => matches!(b, b'0' | b'1'),
            }
    }
}

/// Lexing stopped at an error, which is the last item and the lexer's `error`.
struct Stop;

type Step = Result<(), Stop>;

struct Lexer<'a> {
    input: &'a str,
    pos: usize,
    start: usize,
    items: Vec<Item<'a>>,
    paren_depth: i32,
    error: String,
}

/// Lexes `input` into items, ending with `Eof` or an `Error` item.
pub fn lex(input: &str) -> Lexed<'_> {
    // Chart templates run to about one item per 10 bytes, some to one per 5: few need
    // regrowth from here (each would copy every item so far).
    let items = Vec::with_capacity(input.len() / 4 + 16);
    let mut l = Lexer { input, pos: 0, start: 0, items, paren_depth: 0, error: String::new() };
    l.run();
    Lexed { items: l.items, error: l.error }
}

impl<'a> Lexer<'a> {
    fn emit(&mut self, typ: ItemType) {
        let val = &self.input[self.start..self.pos];
        self.items.push(Item { typ, pos: self.start, val });
        self.start = self.pos;
    }

    /// Emits the item of `text`, which is what the input holds from `start`.
    #[inline(always)]
    fn emit_token(&mut self, typ: ItemType, text: &'static str) {
        self.pos = self.start + text.len();
        self.items.push(Item { typ, pos: self.start, val: text });
        self.start = self.pos;
    }

    // The paths that stop or leave ASCII are cold functions out of line, taking only what they
    // need; the lexing loop inlines the rest.
    #[inline(always)]
    fn fail(&mut self, msg: impl Into<String>) -> Step {
        record_error(&mut self.items, &mut self.error, self.start, msg.into())
    }

    fn bytes(&self) -> &'a [u8] {
        self.input.as_bytes()
    }

    fn byte(&self, at: usize) -> Option<u8> {
        self.bytes().get(at).copied()
    }

    /// The character at `pos`, which is always on a character boundary.
    fn char_here(&self) -> Option<char> {
        self.input[self.pos..].chars().next()
    }

    /// Moves past one byte if `valid` holds for it.
    fn accept(&mut self, valid: impl Fn(u8) -> bool) -> bool {
        let ok = self.byte(self.pos).is_some_and(valid);
        self.pos += usize::from(ok);
        ok
    }

    #[inline(always)]
    fn accept_run(&mut self, digits: Digits) {
        let rest = &self.bytes()[self.pos..];
        self.pos += rest.iter().position(|&b| !digits.contains(b)).unwrap_or(rest.len());
    }

    fn skip_spaces(&mut self) {
        let rest = &self.bytes()[self.pos..];
        self.pos += rest.iter().position(|&b| !is_space(b)).unwrap_or(rest.len());
    }

    /// Whether `}}` or ` -}}` is next: `Some(trim)`, true for the latter.
    fn right_delim_here(&self) -> Option<bool> {
        match &self.bytes()[self.pos..] {
            [b'}', b'}', ..] => Some(false),
            [space, b'-', b'}', b'}', ..] if is_space(*space) => Some(true),
            _ => None,
        }
    }

    fn at_terminator(&self) -> bool {
        match self.byte(self.pos) {
            None => true,
            Some(b'}') => self.byte(self.pos + 1) == Some(b'}'),
            Some(b) => CLASS[b as usize] & TERMINATOR != 0,
        }
    }

    /// The offset of the next `{{` from `pos`.
    fn find_left(&self) -> Option<usize> {
        let mut from = self.pos;
        loop {
            let x = from + find_byte(&self.bytes()[from..], LEFT[0])?;
            if self.byte(x + 1) == Some(LEFT[1]) {
                return Some(x);
            }
            from = x + 1;
        }
    }

    fn run(&mut self) {
        loop {
            // Text.
            let Some(delim) = self.find_left() else {
                self.pos = self.bytes().len();
                if self.pos > self.start {
                    self.emit(ItemType::Text);
                }
                self.items.push(Item { typ: ItemType::Eof, pos: self.pos, val: "" });
                return;
            };
            let trim = has_left_trim(&self.bytes()[delim + LEFT.len()..]);
            let text_end = if trim {
                let text = &self.bytes()[self.start..delim];
                self.start + text.iter().rposition(|&b| !is_space(b)).map_or(0, |x| x + 1)
            } else {
                delim
            };
            if text_end > self.start {
                self.pos = text_end;
                self.emit(ItemType::Text);
            }
            self.pos = delim;
            self.start = delim;
            if self.lex_left_delim(trim).is_err() {
                return;
            }
        }
    }

    #[inline(always)]
    fn lex_left_delim(&mut self, trim: bool) -> Step {
        self.pos += LEFT.len();
        let after_marker = if trim { TRIM_LEN } else { 0 };
        if self.bytes()[self.pos + after_marker..].starts_with(b"/*") {
            self.pos += after_marker;
            self.start = self.pos;
            return self.lex_comment();
        }
        self.emit_token(ItemType::LeftDelim, "{{");
        self.pos += after_marker;
        self.start = self.pos;
        self.paren_depth = 0;
        self.lex_inside_action()
    }

    fn lex_comment(&mut self) -> Step {
        self.pos += 2;
        let Some(x) = memchr::memmem::find(&self.bytes()[self.pos..], b"*/") else {
            return self.fail("unclosed comment");
        };
        self.pos += x + 2;
        let Some(trim) = self.right_delim_here() else {
            return self.fail("comment ends before closing delimiter");
        };
        self.emit(ItemType::Comment);
        if trim {
            self.pos += TRIM_LEN;
        }
        self.pos += RIGHT.len();
        if trim {
            self.skip_spaces();
        }
        self.start = self.pos;
        Ok(())
    }

    /// Ends the action at its right delimiter, ` -}}` when `trim`.
    #[inline(always)]
    fn lex_right_delim(&mut self, trim: bool) -> Step {
        if self.paren_depth != 0 {
            return self.fail("unclosed left paren");
        }
        if trim {
            self.pos += TRIM_LEN;
            self.start = self.pos;
        }
        self.emit_token(ItemType::RightDelim, "}}");
        if trim {
            self.skip_spaces();
            self.start = self.pos;
        }
        Ok(())
    }

    /// Lexes the items of an action up to its right delimiter. Each turn starts an item at
    /// `pos` (`start == pos`), told by its first byte.
    #[inline(always)]
    fn lex_inside_action(&mut self) -> Step {
        loop {
            let Some(b) = self.byte(self.pos) else {
                return self.fail("unclosed action");
            };
            match b {
                b'}' if self.byte(self.pos + 1) == Some(b'}') => return self.lex_right_delim(false),
                // One space before an item: the usual case, which the checks below come to.
                b' ' if self.byte(self.pos + 1).is_some_and(|n| n != b'-' && !is_space(n)) => {
                    self.emit_token(ItemType::Space, " ");
                }
                b' ' | b'\t' | b'\r' | b'\n' => {
                    if self.bytes()[self.pos + 1..].starts_with(b"-}}") {
                        return self.lex_right_delim(true);
                    }
                    self.lex_space();
                }
                b'=' => self.emit_token(ItemType::Assign, "="),
                b':' => {
                    if self.byte(self.pos + 1) != Some(b'=') {
                        return self.fail("expected :=");
                    }
                    self.emit_token(ItemType::Declare, ":=");
                }
                b'|' => self.emit_token(ItemType::Pipe, "|"),
                b'"' => self.lex_quoted(b'"', ItemType::String, "unterminated quoted string")?,
                b'`' => self.lex_raw_quote()?,
                b'$' => {
                    self.pos += 1;
                    self.lex_field_or_variable(ItemType::Variable)?;
                }
                b'\'' => self.lex_quoted(b'\'', ItemType::CharConstant, "unterminated character constant")?,
                b'.' if !matches!(self.byte(self.pos + 1), Some(b'0'..=b'9')) => {
                    self.pos += 1;
                    self.lex_field_or_variable(ItemType::Field)?;
                }
                b'.' | b'+' | b'-' | b'0'..=b'9' => self.lex_number()?,
                b'(' => {
                    self.emit_token(ItemType::LeftParen, "(");
                    self.paren_depth += 1;
                }
                b')' => {
                    self.paren_depth -= 1;
                    if self.paren_depth < 0 {
                        return self.fail("unexpected right paren");
                    }
                    self.emit_token(ItemType::RightParen, ")");
                }
                _ if is_name_byte(b) => self.lex_identifier()?,
                0x21..=0x7e => self.emit_byte(ItemType::Char),
                _ => match self.char_here() {
                    Some(c) if !c.is_ascii() && is_alnum(c) => self.lex_identifier()?,
                    c => {
                        let c = c.unwrap_or('\u{FFFD}');
                        return self.fail(format!("unrecognized character in action: {}", go_unicode(c)));
                    }
                },
            }
        }
    }

    /// Emits the one byte at `pos` as an item.
    fn emit_byte(&mut self, typ: ItemType) {
        self.pos += 1;
        self.emit(typ);
    }

    /// Lexes the spaces at `pos`, short of a ` -}}` that follows them.
    fn lex_space(&mut self) {
        self.skip_spaces();
        // The last space belongs to a trim-marked delimiter. It is not the only space: the
        // delimiter is looked for before spaces are.
        if self.bytes()[self.pos..].starts_with(b"-}}") {
            self.pos -= 1;
        }
        self.emit(ItemType::Space);
    }

    /// Moves past letters, digits and `_`.
    #[inline(always)]
    fn skip_name(&mut self) {
        self.pos += ascii_name_len(&self.bytes()[self.pos..]);
        if self.byte(self.pos).is_some_and(|b| !b.is_ascii()) {
            self.pos = wide_name_end(self.input, self.pos);
        }
    }

    #[inline(always)]
    fn bad_character(&mut self) -> Step {
        let msg = bad_character(self.input, self.pos);
        self.fail(msg)
    }

    #[inline(always)]
    fn lex_identifier(&mut self) -> Step {
        self.skip_name();
        if !self.at_terminator() {
            return self.bad_character();
        }
        match keyword(&self.bytes()[self.start..self.pos]) {
            Some((typ, text)) => self.emit_token(typ, text),
            None => self.emit(ItemType::Identifier),
        }
        Ok(())
    }

    /// `.name` or `$name` (or `.` or `$` alone), `pos` past the `.` or `$`.
    #[inline(always)]
    fn lex_field_or_variable(&mut self, typ: ItemType) -> Step {
        if self.at_terminator() {
            if typ == ItemType::Variable {
                self.emit(ItemType::Variable);
            } else {
                self.emit_token(ItemType::Dot, ".");
            }
            return Ok(());
        }
        self.skip_name();
        if !self.at_terminator() {
            return self.bad_character();
        }
        self.emit(typ);
        Ok(())
    }

    /// A quoted string or character constant from its opening quote, closed by `close` (Go's
    /// `lexQuote` and `lexChar`): escapes are skipped; a newline or the end before `close` is
    /// an error.
    #[inline(always)]
    fn lex_quoted(&mut self, close: u8, item: ItemType, unterminated: &str) -> Step {
        self.pos += 1;
        loop {
            // Only `\`, the newline and `close` (all ASCII, so never within a character) stop it.
            let rest = &self.bytes()[self.pos..];
            let Some(x) = memchr::memchr3(b'\\', b'\n', close, rest) else {
                return self.fail(unterminated);
            };
            self.pos += x + 1;
            match rest[x] {
                // The escaped character is taken as it is, unless the text ends there. Stepping
                // over its first byte is enough: the search never stops within a character.
                b'\\' => match self.byte(self.pos) {
                    None | Some(b'\n') => return self.fail(unterminated),
                    Some(_) => self.pos += 1,
                },
                b'\n' => return self.fail(unterminated),
                _ => break,
            }
        }
        self.emit(item);
        Ok(())
    }

    fn lex_raw_quote(&mut self) -> Step {
        self.pos += 1;
        match memchr::memchr(b'`', &self.bytes()[self.pos..]) {
            Some(x) => {
                self.pos += x + 1;
                self.emit(ItemType::RawString);
                Ok(())
            }
            None => {
                self.pos = self.bytes().len();
                self.fail("unterminated raw quoted string")
            }
        }
    }

    #[inline(always)]
    fn lex_number(&mut self) -> Step {
        if !self.scan_number() {
            return self.bad_number();
        }
        if matches!(self.byte(self.pos), Some(b'+' | b'-')) {
            if !self.scan_number() || self.bytes()[self.pos - 1] != b'i' {
                return self.bad_number();
            }
            self.emit(ItemType::Complex);
        } else {
            self.emit(ItemType::Number);
        }
        Ok(())
    }

    #[inline(always)]
    fn bad_number(&mut self) -> Step {
        let msg = bad_number(self.input, self.start, self.pos);
        self.fail(msg)
    }

    #[inline(always)]
    fn scan_number(&mut self) -> bool {
        self.accept(|b| matches!(b, b'+' | b'-'));
        let mut digits = Digits::Decimal;
        if self.accept(|b| b == b'0') {
            if self.accept(|b| matches!(b, b'x' | b'X')) {
                digits = Digits::Hex;
            } else if self.accept(|b| matches!(b, b'o' | b'O')) {
                digits = Digits::Octal;
            } else if self.accept(|b| matches!(b, b'b' | b'B')) {
                digits = Digits::Binary;
            }
        }
        self.accept_run(digits);
        if self.accept(|b| b == b'.') {
            self.accept_run(digits);
        }
        if digits == Digits::Decimal && self.accept(|b| matches!(b, b'e' | b'E')) {
            self.accept(|b| matches!(b, b'+' | b'-'));
            self.accept_run(Digits::Decimal);
        }
        if digits == Digits::Hex && self.accept(|b| matches!(b, b'p' | b'P')) {
            self.accept(|b| matches!(b, b'+' | b'-'));
            self.accept_run(Digits::Decimal);
        }
        self.accept(|b| b == b'i');
        // A letter or digit straight after is bad syntax, and part of the text reported.
        match self.char_here() {
            Some(c) if is_alnum(c) => {
                self.pos += c.len_utf8();
                false
            }
            _ => true,
        }
    }
}

/// Ends the items with an error item at `pos`, whose message is `msg`.
#[cold]
fn record_error(items: &mut Vec<Item<'_>>, error: &mut String, pos: usize, msg: String) -> Step {
    items.push(Item { typ: ItemType::Error, pos, val: "" });
    *error = msg;
    Err(Stop)
}

/// Where the name that goes on at `pos` with a character beyond ASCII ends: the character is
/// part of it if it is a letter or digit.
#[cold]
fn wide_name_end(input: &str, mut pos: usize) -> usize {
    while let Some(c) = input[pos..].chars().next() {
        if c.is_ascii() || !is_alnum(c) {
            break;
        }
        pos += c.len_utf8();
        pos += ascii_name_len(&input.as_bytes()[pos..]);
    }
    pos
}

#[cold]
fn bad_character(input: &str, pos: usize) -> String {
    let c = input[pos..].chars().next().unwrap_or('\u{FFFD}');
    format!("bad character {}", go_unicode(c))
}

#[cold]
fn bad_number(input: &str, start: usize, end: usize) -> String {
    format!("bad number syntax: {}", crate::format::go_quote(&input[start..end]))
}

/// Go's `%#U`: `U+007D '}'`.
pub(crate) fn go_unicode(c: char) -> String {
    if c.is_control() { format!("U+{:04X}", c as u32) } else { format!("U+{:04X} '{c}'", c as u32) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types(s: &str) -> Vec<ItemType> {
        lex(s).items.into_iter().map(|i| i.typ).collect()
    }

    #[test]
    fn trim_markers_remove_surrounding_space() {
        let items = lex("a  {{- 3 -}}  b").items;
        assert_eq!(items[0].val, "a");
        assert_eq!(items.last().map(|i| i.typ), Some(ItemType::Eof));
        assert_eq!(items[items.len() - 2].val, "b");
    }

    #[test]
    fn fields_chain_and_keywords_are_items() {
        use ItemType::*;
        assert_eq!(types("{{if .a.b}}"), vec![LeftDelim, If, Space, Field, Field, RightDelim, Eof]);
        assert_eq!(types("{{$x := 1}}"), vec![LeftDelim, Variable, Space, Declare, Space, Number, RightDelim, Eof]);
    }

    #[test]
    fn errors_have_gos_messages() {
        assert_eq!(lex("{{ .a }").error, "unclosed action");
        assert_eq!(lex("{{ 3x }}").error, "bad number syntax: \"3x\"");
        assert_eq!(lex("{{/* a */ }}").error, "comment ends before closing delimiter");
        assert_eq!(lex("{{ .a }}").error, "");
        assert_eq!(lex("{{ \"a }}").error, "unterminated quoted string");
        assert_eq!(lex("{{ \"a\nb\" }}").error, "unterminated quoted string");
        assert_eq!(lex("{{ \"a\\").error, "unterminated quoted string");
        assert_eq!(lex("{{ 'a }}").error, "unterminated character constant");
    }

    #[test]
    fn quoted_strings_end_at_their_unescaped_quote() {
        let items = lex("{{ \"é\\\"'\" 'b' }}").items;
        assert_eq!((items[2].typ, items[2].val), (ItemType::String, "\"é\\\"'\""));
        assert_eq!((items[4].typ, items[4].val), (ItemType::CharConstant, "'b'"));
    }

    #[test]
    fn lines_are_counted_from_offsets() {
        assert_eq!(line_at("a\nb\nc", 0), 1);
        assert_eq!(line_at("a\nb\nc", 2), 2);
        assert_eq!(line_at("a\nb\nc", 5), 3);
    }

    #[test]
    fn names_are_letters_digits_and_underscores() {
        assert_eq!(types("{{.a_1.é2 $x_y}}"), {
            use ItemType::*;
            vec![LeftDelim, Field, Field, Space, Variable, RightDelim, Eof]
        });
        assert_eq!(lex("{{.a-b}}").error, "bad character U+002D '-'");
    }

    #[test]
    fn every_item_is_the_input_at_its_position() {
        let input = "a {{- $x := .b.c | f (g 1 2.5 0x1p-2 1+2i) \"s\\\"\" `r` 'c' -}}\n\
                     {{ if and true nil }}{{else}}{{ end }}{{/* c */}} {{ .  }}\t{{- block \"n\" . }}é{{end -}}";
        let lexed = lex(input);
        assert_eq!(lexed.error, "");
        for item in &lexed.items {
            assert!(input[item.pos..].starts_with(item.val), "{item:?}");
        }
        assert_eq!(lexed.items.last().map(|i| (i.typ, i.pos)), Some((ItemType::Eof, input.len())));
    }

    #[test]
    fn spaces_before_a_trimmed_delimiter_leave_it_one() {
        let items = lex("{{a  -}} b").items;
        let got: Vec<_> = items.iter().map(|i| (i.typ, i.val)).collect();
        use ItemType::*;
        assert_eq!(
            got,
            vec![(LeftDelim, "{{"), (Identifier, "a"), (Space, " "), (RightDelim, "}}"), (Text, "b"), (Eof, "")]
        );
        assert_eq!(types("{{a\t-}}"), vec![LeftDelim, Identifier, RightDelim, Eof]);
    }

    #[test]
    fn find_byte_finds_the_first_of_its_byte() {
        for b in 0..=255u8 {
            for at in 0..40 {
                let mut s = [b'{'.wrapping_add(1); 40];
                s[at] = b;
                s[(at + 1) % 40] = b'{';
                let want = s.iter().position(|&c| c == b'{');
                assert_eq!(find_byte(&s, b'{'), want, "byte {b:#x} at {at}");
                assert_eq!(find_byte(&s[..at], b'{'), s[..at].iter().position(|&c| c == b'{'));
            }
        }
    }

    #[test]
    fn ascii_name_len_stops_at_the_first_byte_not_in_a_name() {
        for b in 0..=255u8 {
            for at in 0..20 {
                let mut s = [b'a'; 20];
                s[at] = b;
                let want = if is_name_byte(b) { 20 } else { at };
                assert_eq!(ascii_name_len(&s), want, "byte {b:#x} at {at}");
            }
        }
    }

    #[test]
    fn comments_are_one_item() {
        assert_eq!(types("{{- /* c */ -}}"), vec![ItemType::Comment, ItemType::Eof]);
    }
}
