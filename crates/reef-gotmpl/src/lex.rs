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
    /// The text, borrowed from the input (empty for an error: the message is
    /// [`Lexed::error`]).
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

const LEFT: &str = "{{";
const RIGHT: &str = "}}";
const TRIM_LEN: usize = 2;

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_alnum(c: char) -> bool {
    if c.is_ascii() {
        return c == '_' || c.is_ascii_alphanumeric();
    }
    c.is_alphabetic() || c.is_numeric()
}

/// The ASCII bytes of names: letters, digits and `_`.
const ASCII_NAME: [bool; 128] = {
    let mut t = [false; 128];
    let mut b = 0;
    while b < 128 {
        t[b] = (b as u8).is_ascii_alphanumeric() || b == b'_' as usize;
        b += 1;
    }
    t
};

fn keyword(word: &str) -> Option<ItemType> {
    Some(match word {
        "." => ItemType::Dot,
        "block" => ItemType::Block,
        "break" => ItemType::Break,
        "continue" => ItemType::Continue,
        "define" => ItemType::Define,
        "else" => ItemType::Else,
        "end" => ItemType::End,
        "if" => ItemType::If,
        "range" => ItemType::Range,
        "nil" => ItemType::Nil,
        "template" => ItemType::Template,
        "with" => ItemType::With,
        _ => return None,
    })
}

fn has_left_trim(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0] == b'-' && is_space(b[1] as char)
}

fn has_right_trim(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && is_space(b[0] as char) && b[1] == b'-'
}

struct Lexer<'a> {
    input: &'a str,
    pos: usize,
    start: usize,
    items: Vec<Item<'a>>,
    paren_depth: i32,
    error: Option<String>,
    /// Finds `{{` (vectorized; text between actions is most of a template).
    left: memchr::memmem::Finder<'static>,
}

/// Lexes `input` into items, ending with `Eof` or an `Error` item.
pub fn lex(input: &str) -> Lexed<'_> {
    // Chart templates run to about one item per 10 bytes, some to one per 5: few need
    // regrowth from here (each would copy every item so far).
    let items = Vec::with_capacity(input.len() / 4 + 16);
    let left = memchr::memmem::Finder::new(LEFT);
    let mut l = Lexer { input, pos: 0, start: 0, items, paren_depth: 0, error: None, left };
    l.run();
    Lexed { items: l.items, error: l.error.unwrap_or_default() }
}

impl<'a> Lexer<'a> {
    fn emit_val(&mut self, typ: ItemType, pos: usize, val: &'a str) {
        self.items.push(Item { typ, pos, val });
    }

    fn emit(&mut self, typ: ItemType) {
        let (s, e) = (self.start, self.pos);
        let val = &self.input[s..e];
        self.emit_val(typ, s, val);
        self.start = self.pos;
    }

    fn error(&mut self, msg: String) {
        self.items.push(Item { typ: ItemType::Error, pos: self.start, val: "" });
        self.error = Some(msg);
    }

    fn rest(&self) -> &'a str {
        &self.input[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        match self.input.as_bytes().get(self.pos) {
            Some(&b) if b.is_ascii() => Some(b as char),
            _ => self.rest().chars().next(),
        }
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.peek() {
            Some(c) if valid.contains(c) => {
                self.pos += c.len_utf8();
                true
            }
            _ => false,
        }
    }

    fn accept_run(&mut self, valid: &str) {
        while self.accept(valid) {}
    }

    /// Whether `}}` or ` -}}` is next, and whether it was the latter.
    fn at_right_delim(&self) -> (bool, bool) {
        match &self.input.as_bytes()[self.pos..] {
            [b'}', b'}', ..] => (true, false),
            [space, b'-', b'}', b'}', ..] if is_space(*space as char) => (true, true),
            _ => (false, false),
        }
    }

    fn at_terminator(&self) -> bool {
        let bytes = self.input.as_bytes();
        match bytes.get(self.pos) {
            None | Some(b' ' | b'\t' | b'\r' | b'\n' | b'.' | b',' | b'|' | b':' | b')' | b'(') => true,
            Some(b'}') => bytes.get(self.pos + 1) == Some(&b'}'),
            _ => false,
        }
    }

    fn run(&mut self) {
        while self.error.is_none() {
            // Text.
            match self.left.find(self.rest().as_bytes()) {
                Some(x) => {
                    let delim = self.pos + x;
                    let trim = has_left_trim(&self.input[delim + LEFT.len()..]);
                    let text_end =
                        if trim { self.input[..delim].trim_end_matches(is_space).len().max(self.start) } else { delim };
                    if text_end > self.start {
                        let val = &self.input[self.start..text_end];
                        self.emit_val(ItemType::Text, self.start, val);
                    }
                    self.pos = delim;
                    self.start = delim;
                    self.lex_left_delim(trim);
                }
                None => {
                    self.pos = self.input.len();
                    if self.pos > self.start {
                        self.emit(ItemType::Text);
                    }
                    self.emit_val(ItemType::Eof, self.pos, "");
                    return;
                }
            }
        }
    }

    fn lex_left_delim(&mut self, trim: bool) {
        self.pos += LEFT.len();
        let after_marker = if trim { TRIM_LEN } else { 0 };
        if self.input[self.pos + after_marker..].starts_with("/*") {
            self.pos += after_marker;
            self.start = self.pos;
            self.lex_comment();
            return;
        }
        self.emit(ItemType::LeftDelim);
        self.pos += after_marker;
        self.start = self.pos;
        self.paren_depth = 0;
        self.lex_inside_action();
    }

    fn lex_comment(&mut self) {
        self.pos += 2;
        let Some(x) = self.rest().find("*/") else {
            self.error("unclosed comment".to_owned());
            return;
        };
        self.pos += x + 2;
        let (delim, trim) = self.at_right_delim();
        if !delim {
            self.error("comment ends before closing delimiter".to_owned());
            return;
        }
        self.emit(ItemType::Comment);
        if trim {
            self.pos += TRIM_LEN;
        }
        self.pos += RIGHT.len();
        if trim {
            self.pos += self.rest().len() - self.rest().trim_start_matches(is_space).len();
        }
        self.start = self.pos;
    }

    fn lex_right_delim(&mut self) {
        let (_, trim) = self.at_right_delim();
        if trim {
            self.pos += TRIM_LEN;
            self.start = self.pos;
        }
        self.pos += RIGHT.len();
        self.emit(ItemType::RightDelim);
        if trim {
            self.pos += self.rest().len() - self.rest().trim_start_matches(is_space).len();
            self.start = self.pos;
        }
    }

    fn lex_inside_action(&mut self) {
        loop {
            if self.error.is_some() {
                return;
            }
            let (delim, _) = self.at_right_delim();
            if delim {
                if self.paren_depth == 0 {
                    self.lex_right_delim();
                    return;
                }
                self.error("unclosed left paren".to_owned());
                return;
            }
            let Some(r) = self.next() else {
                self.error("unclosed action".to_owned());
                return;
            };
            match r {
                c if is_space(c) => {
                    self.pos -= 1;
                    if self.lex_space() {
                        self.lex_right_delim();
                        return;
                    }
                }
                '=' => self.emit(ItemType::Assign),
                ':' => {
                    if self.next() != Some('=') {
                        self.error("expected :=".to_owned());
                        return;
                    }
                    self.emit(ItemType::Declare);
                }
                '|' => self.emit(ItemType::Pipe),
                '"' => self.lex_quoted(b'"', ItemType::String, "unterminated quoted string"),
                '`' => self.lex_raw_quote(),
                '$' => self.lex_variable(),
                '\'' => self.lex_quoted(b'\'', ItemType::CharConstant, "unterminated character constant"),
                '.' if !matches!(self.peek(), Some('0'..='9')) => self.lex_field_or_variable(ItemType::Field),
                '.' | '+' | '-' | '0'..='9' => {
                    self.pos -= 1;
                    self.lex_number();
                }
                c if is_alnum(c) => {
                    self.pos -= c.len_utf8();
                    self.lex_identifier();
                }
                '(' => {
                    self.emit(ItemType::LeftParen);
                    self.paren_depth += 1;
                }
                ')' => {
                    self.paren_depth -= 1;
                    if self.paren_depth < 0 {
                        self.error("unexpected right paren".to_owned());
                        return;
                    }
                    self.emit(ItemType::RightParen);
                }
                c if c.is_ascii() && !c.is_ascii_control() => self.emit(ItemType::Char),
                c => {
                    self.error(format!("unrecognized character in action: {}", go_unicode(c)));
                    return;
                }
            }
        }
    }

    /// Lexes spaces; returns true when they were the one space of a ` -}}`.
    fn lex_space(&mut self) -> bool {
        let mut n = 0;
        while let Some(c) = self.peek() {
            if !is_space(c) {
                break;
            }
            self.pos += 1;
            n += 1;
        }
        let back = &self.input[self.pos - 1..];
        if has_right_trim(back) && back[TRIM_LEN..].starts_with(RIGHT) {
            self.pos -= 1;
            if n == 1 {
                return true;
            }
        }
        self.emit(ItemType::Space);
        false
    }

    /// Moves past letters, digits and `_`.
    fn skip_alnum(&mut self) {
        let bytes = self.input.as_bytes();
        while let Some(&b) = bytes.get(self.pos) {
            if b < 128 && ASCII_NAME[b as usize] {
                self.pos += 1;
                continue;
            }
            match self.peek() {
                Some(c) if !c.is_ascii() && is_alnum(c) => self.pos += c.len_utf8(),
                _ => break,
            }
        }
    }

    fn lex_identifier(&mut self) {
        self.skip_alnum();
        if !self.at_terminator() {
            let c = self.peek().unwrap_or('\u{FFFD}');
            self.error(format!("bad character {}", go_unicode(c)));
            return;
        }
        let word = &self.input[self.start..self.pos];
        let typ = match keyword(word) {
            Some(k) => k,
            None if word == "true" || word == "false" => ItemType::Bool,
            None => ItemType::Identifier,
        };
        self.emit(typ);
    }

    fn lex_variable(&mut self) {
        if self.at_terminator() {
            self.emit(ItemType::Variable);
            return;
        }
        self.lex_field_or_variable(ItemType::Variable);
    }

    fn lex_field_or_variable(&mut self, typ: ItemType) {
        if self.at_terminator() {
            self.emit(if typ == ItemType::Variable { ItemType::Variable } else { ItemType::Dot });
            return;
        }
        self.skip_alnum();
        if !self.at_terminator() {
            let c = self.peek().unwrap_or('\u{FFFD}');
            self.error(format!("bad character {}", go_unicode(c)));
            return;
        }
        self.emit(typ);
    }

    /// A quoted string or character constant, closed by `close` (Go's `lexQuote` and
    /// `lexChar`): escapes are skipped; a newline or the end before `close` is an error.
    fn lex_quoted(&mut self, close: u8, item: ItemType, unterminated: &str) {
        loop {
            // Only `\`, the newline and `close` (all ASCII, so never within a character) stop it.
            let rest = &self.input.as_bytes()[self.pos..];
            let Some(x) = memchr::memchr3(b'\\', b'\n', close, rest) else {
                self.error(unterminated.to_owned());
                return;
            };
            self.pos += x + 1;
            match rest[x] {
                b'\\' => {
                    // The escaped character is taken as it is, unless the text ends there.
                    if matches!(self.next(), None | Some('\n')) {
                        self.error(unterminated.to_owned());
                        return;
                    }
                }
                b'\n' => {
                    self.error(unterminated.to_owned());
                    return;
                }
                _ => break,
            }
        }
        self.emit(item);
    }

    fn lex_raw_quote(&mut self) {
        match self.rest().find('`') {
            Some(x) => {
                self.pos += x + 1;
                self.emit(ItemType::RawString);
            }
            None => {
                self.pos = self.input.len();
                self.error("unterminated raw quoted string".to_owned());
            }
        }
    }

    fn lex_number(&mut self) {
        if !self.scan_number() {
            let text = self.input[self.start..self.pos].to_owned();
            self.error(format!("bad number syntax: {}", crate::format::go_quote(&text)));
            return;
        }
        if matches!(self.peek(), Some('+' | '-')) {
            if !self.scan_number() || !self.input[..self.pos].ends_with('i') {
                let text = self.input[self.start..self.pos].to_owned();
                self.error(format!("bad number syntax: {}", crate::format::go_quote(&text)));
                return;
            }
            self.emit(ItemType::Complex);
        } else {
            self.emit(ItemType::Number);
        }
    }

    fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if self.peek().is_some_and(is_alnum) {
            self.next();
            return false;
        }
        true
    }
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
    fn comments_are_one_item() {
        assert_eq!(types("{{- /* c */ -}}"), vec![ItemType::Comment, ItemType::Eof]);
    }
}
