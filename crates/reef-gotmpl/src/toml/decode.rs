//! TOML as Helm's `fromToml` reads it, which is BurntSushi/toml's decoder into a
//! `map[string]interface{}`: the lexer's state machine and the parser's table bookkeeping
//! are ported so that what decodes, and the error messages of what does not
//! (`toml: line 1 (last key "a"): unexpected EOF; expected value`), are the same.
//!
//! Values are Go's: `int64`, `float64`, `bool`, `string`, `time.Time` (local dates and
//! times in the zones `datetime-local`, `date-local` and `time-local`), `[]interface {}`
//! and maps; an array of tables is a list of maps.

use std::collections::{BTreeMap, HashSet, VecDeque};

use crate::value::{ListType, Value};

/// The lexer's end-of-input rune (Go's `eof = 0`).
const EOF: char = '\0';

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ItemType {
    Error,
    Eof,
    Text,
    String,
    RawString,
    MultilineString,
    RawMultilineString,
    Bool,
    Integer,
    Float,
    Datetime,
    Array,
    ArrayEnd,
    TableStart,
    TableEnd,
    ArrayTableStart,
    ArrayTableEnd,
    KeyStart,
    KeyEnd,
    CommentStart,
    InlineTableStart,
    InlineTableEnd,
}

#[derive(Debug, Clone)]
struct Item {
    typ: ItemType,
    val: String,
    line: usize,
}

/// The lexer's states (BurntSushi/toml's `lex*` functions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Top,
    TopEnd,
    TableStart,
    TableEnd,
    ArrayTableEnd,
    TableNameStart,
    TableNameEnd,
    BareName,
    QuotedName,
    KeyStart,
    KeyNameStart,
    KeyEnd,
    Value,
    ArrayValue,
    ArrayValueEnd,
    ArrayEnd,
    InlineTableValue,
    InlineTableValueEnd,
    InlineTableEnd,
    String,
    MultilineString,
    RawString,
    MultilineRawString,
    MultilineStringEscape,
    StringEscape,
    HexEscape,
    ShortUnicodeEscape,
    LongUnicodeEscape,
    NumberOrDateStart,
    NumberOrDate,
    Datetime,
    HexInteger,
    OctalInteger,
    BinaryInteger,
    DecimalNumber,
    DecimalNumberStart,
    BaseNumberOrDate,
    Float,
    Bool,
    CommentStart,
    Comment,
}

struct Lexer<'a> {
    input: &'a str,
    start: usize,
    pos: usize,
    line: usize,
    state: Option<State>,
    items: VecDeque<Item>,
    prev_widths: [usize; 4],
    nprev: usize,
    at_eof: bool,
    stack: Vec<State>,
}

fn is_whitespace(r: char) -> bool {
    r == '\t' || r == ' '
}

fn is_nl(r: char) -> bool {
    r == '\n' || r == '\r'
}

fn is_control(r: char) -> bool {
    !matches!(r, '\t' | '\r' | '\n') && (r <= '\u{1f}' || r == '\u{7f}')
}

fn is_hex(r: char) -> bool {
    r.is_ascii_hexdigit()
}

fn is_bare_key_char(r: char) -> bool {
    r.is_ascii_alphanumeric() || r == '_' || r == '-'
}

/// Go's `%q` of a rune.
fn quote_rune(r: char) -> String {
    match r {
        '\'' => r"'\''".to_owned(),
        '\n' => r"'\n'".to_owned(),
        '\r' => r"'\r'".to_owned(),
        '\t' => r"'\t'".to_owned(),
        '\\' => r"'\\'".to_owned(),
        c if (c as u32) < 0x20 || c == '\u{7f}' => format!(r"'\x{:02x}'", c as u32),
        c => format!("'{c}'"),
    }
}

fn rune_or_eof(r: char) -> String {
    if r == EOF { "end of file".to_owned() } else { format!("'{r}'") }
}

impl<'a> Lexer<'a> {
    fn new(input: &'a str) -> Lexer<'a> {
        Lexer {
            input,
            start: 0,
            pos: 0,
            line: 1,
            state: Some(State::Top),
            items: VecDeque::new(),
            prev_widths: [0; 4],
            nprev: 0,
            at_eof: false,
            stack: Vec::new(),
        }
    }

    fn next_item(&mut self) -> Item {
        loop {
            if let Some(item) = self.items.pop_front() {
                return item;
            }
            match self.state {
                Some(state) => self.state = self.step(state),
                // After an error the lexer is done; the parser stops at the error item.
                None => return Item { typ: ItemType::Eof, val: String::new(), line: self.line },
            }
        }
    }

    fn push(&mut self, s: State) {
        self.stack.push(s);
    }

    fn pop(&mut self) -> Option<State> {
        match self.stack.pop() {
            Some(s) => Some(s),
            None => self.errorf("BUG in lexer: no states to pop"),
        }
    }

    fn current(&self) -> &'a str {
        self.input.get(self.start..self.pos).unwrap_or("")
    }

    fn emit(&mut self, typ: ItemType) {
        let val = self.current().to_owned();
        self.items.push_back(Item { typ, val, line: self.line });
        self.start = self.pos;
    }

    fn emit_trim(&mut self, typ: ItemType) {
        let val = self.current().trim().to_owned();
        self.items.push_back(Item { typ, val, line: self.line });
        self.start = self.pos;
    }

    fn next(&mut self) -> char {
        if self.pos >= self.input.len() {
            self.at_eof = true;
            return EOF;
        }
        if self.input.as_bytes()[self.pos] == b'\n' {
            self.line += 1;
        }
        self.prev_widths = [self.prev_widths[0], self.prev_widths[0], self.prev_widths[1], self.prev_widths[2]];
        self.nprev = (self.nprev + 1).min(4);
        let r = self.input[self.pos..].chars().next().unwrap_or(EOF);
        let lone_cr = r == '\r' && self.input.as_bytes().get(self.pos + 1) != Some(&b'\n');
        if is_control(r) || lone_cr {
            self.error_msg(format!("TOML files cannot contain control characters: '0x{:02x}'", r as u32));
            return char::REPLACEMENT_CHARACTER;
        }
        self.prev_widths[0] = r.len_utf8();
        self.pos += r.len_utf8();
        r
    }

    fn ignore(&mut self) {
        self.start = self.pos;
    }

    fn backup(&mut self) {
        if self.at_eof {
            self.at_eof = false;
            return;
        }
        if self.nprev == 0 {
            return;
        }
        let w = self.prev_widths[0];
        self.prev_widths = [self.prev_widths[1], self.prev_widths[2], self.prev_widths[3], 0];
        self.nprev -= 1;
        self.pos -= w;
        if self.pos < self.input.len() && self.input.as_bytes()[self.pos] == b'\n' {
            self.line -= 1;
        }
    }

    fn accept(&mut self, valid: char) -> bool {
        if self.next() == valid {
            return true;
        }
        self.backup();
        false
    }

    fn peek(&mut self) -> char {
        let r = self.next();
        self.backup();
        r
    }

    fn skip(&mut self, pred: fn(char) -> bool) {
        loop {
            let r = self.next();
            if pred(r) {
                continue;
            }
            self.backup();
            self.ignore();
            return;
        }
    }

    /// The line an error is reported on: a newline just read, or the end after one,
    /// counts for the line before it.
    fn error_line(&self) -> usize {
        let after_newline = self.pos > 0 && self.input.as_bytes()[self.pos - 1] == b'\n';
        if after_newline { self.line.saturating_sub(1).max(1) } else { self.line }
    }

    fn error_msg(&mut self, msg: String) {
        let line = self.error_line();
        self.items.push_back(Item { typ: ItemType::Error, val: msg, line });
    }

    fn errorf(&mut self, msg: impl Into<String>) -> Option<State> {
        self.error_msg(msg.into());
        None
    }

    /// An error about a newline just read: reported on the line it ends.
    fn error_prev_line(&mut self, msg: &str) -> Option<State> {
        let line = self.line.saturating_sub(1).max(1);
        self.items.push_back(Item { typ: ItemType::Error, val: msg.to_owned(), line });
        None
    }

    fn step(&mut self, state: State) -> Option<State> {
        use State as S;
        match state {
            S::Top => {
                let r = self.next();
                if is_whitespace(r) || is_nl(r) {
                    self.ignore();
                    return Some(S::Top);
                }
                match r {
                    '#' => {
                        self.push(S::Top);
                        return Some(S::CommentStart);
                    }
                    '[' => return Some(S::TableStart),
                    EOF => {
                        if self.pos > self.start {
                            return self.errorf("unexpected EOF");
                        }
                        self.emit(ItemType::Eof);
                        return None;
                    }
                    _ => {}
                }
                self.backup();
                self.push(S::TopEnd);
                Some(S::KeyStart)
            }
            S::TopEnd => {
                let r = self.next();
                match r {
                    '#' => {
                        self.push(S::Top);
                        Some(S::CommentStart)
                    }
                    r if is_whitespace(r) => Some(S::TopEnd),
                    r if is_nl(r) => {
                        self.ignore();
                        Some(S::Top)
                    }
                    EOF => {
                        self.emit(ItemType::Eof);
                        None
                    }
                    r => self.errorf(format!(
                        "expected a top-level item to end with a newline, comment, or EOF, but got {} instead",
                        quote_rune(r)
                    )),
                }
            }
            S::TableStart => {
                if self.peek() == '[' {
                    self.next();
                    self.emit(ItemType::ArrayTableStart);
                    self.push(S::ArrayTableEnd);
                } else {
                    self.emit(ItemType::TableStart);
                    self.push(S::TableEnd);
                }
                Some(S::TableNameStart)
            }
            S::TableEnd => {
                self.emit(ItemType::TableEnd);
                Some(S::TopEnd)
            }
            S::ArrayTableEnd => {
                let r = self.next();
                if r != ']' {
                    return self.errorf(format!(
                        "expected end of table array name delimiter ']', but got {} instead",
                        quote_rune(r)
                    ));
                }
                self.emit(ItemType::ArrayTableEnd);
                Some(S::TopEnd)
            }
            S::TableNameStart => {
                self.skip(is_whitespace);
                match self.peek() {
                    ']' | EOF => self.errorf("unexpected end of table name (table names cannot be empty)"),
                    '.' => self.errorf("unexpected table separator (table names cannot be empty)"),
                    '"' | '\'' => {
                        self.ignore();
                        self.push(S::TableNameEnd);
                        Some(S::QuotedName)
                    }
                    _ => {
                        self.push(S::TableNameEnd);
                        Some(S::BareName)
                    }
                }
            }
            S::TableNameEnd => {
                self.skip(is_whitespace);
                match self.next() {
                    r if is_whitespace(r) => Some(S::TableNameEnd),
                    '.' => {
                        self.ignore();
                        Some(S::TableNameStart)
                    }
                    ']' => self.pop(),
                    r => {
                        self.errorf(format!("expected '.' or ']' to end table name, but got {} instead", quote_rune(r)))
                    }
                }
            }
            S::BareName => {
                let r = self.next();
                if is_bare_key_char(r) {
                    return Some(S::BareName);
                }
                self.backup();
                self.emit(ItemType::Text);
                self.pop()
            }
            S::QuotedName => match self.next() {
                r if is_whitespace(r) => {
                    self.ignore();
                    Some(S::Value)
                }
                '"' => {
                    self.ignore();
                    Some(S::String)
                }
                '\'' => {
                    self.ignore();
                    Some(S::RawString)
                }
                EOF => self.errorf("unexpected EOF; expected value"),
                r => self.errorf(format!("expected value but found {} instead", quote_rune(r))),
            },
            S::KeyStart => {
                self.skip(is_whitespace);
                match self.peek() {
                    '=' | EOF => self.errorf("unexpected '=': key name appears blank"),
                    '.' => self.errorf("unexpected '.': keys cannot start with a '.'"),
                    r => {
                        if r == '"' || r == '\'' {
                            self.ignore();
                        }
                        self.emit(ItemType::KeyStart);
                        Some(S::KeyNameStart)
                    }
                }
            }
            S::KeyNameStart => {
                self.skip(is_whitespace);
                match self.peek() {
                    '=' | EOF => self.errorf("unexpected '='"),
                    '.' => self.errorf("unexpected '.'"),
                    '"' | '\'' => {
                        self.ignore();
                        self.push(S::KeyEnd);
                        Some(S::QuotedName)
                    }
                    _ => {
                        self.push(S::KeyEnd);
                        Some(S::BareName)
                    }
                }
            }
            S::KeyEnd => {
                self.skip(is_whitespace);
                match self.next() {
                    r if is_whitespace(r) => {
                        self.ignore();
                        Some(S::KeyEnd)
                    }
                    EOF => self.errorf("unexpected EOF; expected key separator '='"),
                    '.' => {
                        self.ignore();
                        Some(S::KeyNameStart)
                    }
                    '=' => {
                        self.emit(ItemType::KeyEnd);
                        self.ignore();
                        Some(S::Value)
                    }
                    r => self.errorf(format!("expected '.' or '=', but got {} instead", quote_rune(r))),
                }
            }
            S::Value => self.lex_value(),
            S::ArrayValue => match self.next() {
                r if is_whitespace(r) || is_nl(r) => {
                    self.ignore();
                    Some(S::ArrayValue)
                }
                '#' => {
                    self.push(S::ArrayValue);
                    Some(S::CommentStart)
                }
                ',' => self.errorf("unexpected comma"),
                ']' => Some(S::ArrayEnd),
                _ => {
                    self.backup();
                    self.push(S::ArrayValueEnd);
                    Some(S::Value)
                }
            },
            S::ArrayValueEnd => match self.next() {
                r if is_whitespace(r) || is_nl(r) => {
                    self.ignore();
                    Some(S::ArrayValueEnd)
                }
                '#' => {
                    self.push(S::ArrayValueEnd);
                    Some(S::CommentStart)
                }
                ',' => {
                    self.ignore();
                    Some(S::ArrayValue)
                }
                ']' => Some(S::ArrayEnd),
                r => {
                    self.errorf(format!("expected a comma (',') or array terminator (']'), but got {}", rune_or_eof(r)))
                }
            },
            S::ArrayEnd => {
                self.ignore();
                self.emit(ItemType::ArrayEnd);
                self.pop()
            }
            S::InlineTableValue => match self.next() {
                r if is_whitespace(r) => {
                    self.ignore();
                    Some(S::InlineTableValue)
                }
                r if is_nl(r) => {
                    self.ignore();
                    Some(S::InlineTableValue)
                }
                '#' => {
                    self.push(S::InlineTableValue);
                    Some(S::CommentStart)
                }
                ',' => self.errorf("unexpected comma"),
                '}' => Some(S::InlineTableEnd),
                _ => {
                    self.backup();
                    self.push(S::InlineTableValueEnd);
                    Some(S::KeyStart)
                }
            },
            S::InlineTableValueEnd => match self.next() {
                r if is_whitespace(r) => {
                    self.ignore();
                    Some(S::InlineTableValueEnd)
                }
                r if is_nl(r) => {
                    self.ignore();
                    Some(S::InlineTableValueEnd)
                }
                '#' => {
                    self.push(S::InlineTableValueEnd);
                    Some(S::CommentStart)
                }
                ',' => {
                    self.ignore();
                    self.skip(is_whitespace);
                    // TOML 1.1: a trailing comma is allowed.
                    if self.peek() == '}' {
                        return Some(S::InlineTableValueEnd);
                    }
                    Some(S::InlineTableValue)
                }
                '}' => Some(S::InlineTableEnd),
                r => self.errorf(format!(
                    "expected a comma or an inline table terminator '}}', but got {} instead",
                    rune_or_eof(r)
                )),
            },
            S::InlineTableEnd => {
                self.ignore();
                self.emit(ItemType::InlineTableEnd);
                self.pop()
            }
            S::String => match self.next() {
                EOF => self.errorf("unexpected EOF; expected '\"'"),
                r if is_nl(r) => self.error_prev_line("strings cannot contain newlines"),
                '\\' => {
                    self.push(S::String);
                    Some(S::StringEscape)
                }
                '"' => {
                    self.backup();
                    self.emit(ItemType::String);
                    self.next();
                    self.ignore();
                    self.pop()
                }
                _ => Some(S::String),
            },
            S::MultilineString => match self.next() {
                EOF => self.errorf("unexpected EOF; expected '\"\"\"'"),
                '\\' => Some(S::MultilineStringEscape),
                '"' => self.multiline_close('"', ItemType::MultilineString, S::MultilineString),
                _ => Some(S::MultilineString),
            },
            S::RawString => match self.next() {
                EOF => self.errorf("unexpected EOF; expected \"'\""),
                r if is_nl(r) => self.error_prev_line("strings cannot contain newlines"),
                '\'' => {
                    self.backup();
                    self.emit(ItemType::RawString);
                    self.next();
                    self.ignore();
                    self.pop()
                }
                _ => Some(S::RawString),
            },
            S::MultilineRawString => match self.next() {
                EOF => self.errorf("unexpected EOF; expected \"'''\""),
                '\'' => self.multiline_close('\'', ItemType::RawMultilineString, S::MultilineRawString),
                _ => Some(S::MultilineRawString),
            },
            S::MultilineStringEscape => {
                if is_nl(self.next()) {
                    return Some(S::MultilineString);
                }
                self.backup();
                self.push(S::MultilineString);
                self.step(S::StringEscape)
            }
            S::StringEscape => match self.next() {
                'e' | 'b' | 't' | 'n' | 'f' | 'r' | '"' | ' ' | '\t' | '\\' => self.pop(),
                'x' => Some(S::HexEscape),
                'u' => Some(S::ShortUnicodeEscape),
                'U' => Some(S::LongUnicodeEscape),
                r => self.errorf(format!("invalid escape in string '\\{r}'")),
            },
            S::HexEscape | S::ShortUnicodeEscape | S::LongUnicodeEscape => {
                let (n, what, esc) = match state {
                    S::HexEscape => (2, "two", 'x'),
                    S::ShortUnicodeEscape => (4, "four", 'u'),
                    _ => (8, "eight", 'U'),
                };
                for _ in 0..n {
                    if !is_hex(self.next()) {
                        let cur = self.current();
                        return self.errorf(format!(
                            "expected {what} hexadecimal digits after '\\{esc}', but got {} instead",
                            crate::format::go_quote(cur)
                        ));
                    }
                }
                self.pop()
            }
            S::NumberOrDateStart => {
                let r = self.next();
                if r == '0' {
                    return Some(S::BaseNumberOrDate);
                }
                if !r.is_ascii_digit() {
                    return self.errorf(format!("expected a digit but got {}", quote_rune(r)));
                }
                Some(S::NumberOrDate)
            }
            S::NumberOrDate => match self.next() {
                r if r.is_ascii_digit() => Some(S::NumberOrDate),
                '-' | ':' => Some(S::Datetime),
                '_' => Some(S::DecimalNumber),
                '.' | 'e' | 'E' => Some(S::Float),
                _ => {
                    self.backup();
                    self.emit(ItemType::Integer);
                    self.pop()
                }
            },
            S::Datetime => match self.next() {
                r if r.is_ascii_digit() => Some(S::Datetime),
                '-' | ':' | 'T' | 't' | ' ' | '.' | 'Z' | 'z' | '+' => Some(S::Datetime),
                _ => {
                    self.backup();
                    self.emit_trim(ItemType::Datetime);
                    self.pop()
                }
            },
            S::HexInteger | S::OctalInteger | S::BinaryInteger => {
                let r = self.next();
                let digit = match state {
                    S::HexInteger => is_hex(r),
                    S::OctalInteger => ('0'..='7').contains(&r),
                    _ => r == '0' || r == '1',
                };
                if digit || r == '_' {
                    return Some(state);
                }
                self.backup();
                self.emit(ItemType::Integer);
                self.pop()
            }
            S::DecimalNumber => match self.next() {
                r if r.is_ascii_digit() => Some(S::DecimalNumber),
                '.' | 'e' | 'E' => Some(S::Float),
                '_' => Some(S::DecimalNumber),
                _ => {
                    self.backup();
                    self.emit(ItemType::Integer);
                    self.pop()
                }
            },
            S::DecimalNumberStart => {
                let r = self.next();
                match r {
                    'i' | 'n' => {
                        let (a, b) = if r == 'i' { ('n', 'f') } else { ('a', 'n') };
                        if !self.accept(a) || !self.accept(b) {
                            let cur = self.current();
                            return self.errorf(format!("invalid float: '{cur}'"));
                        }
                        self.emit(ItemType::Float);
                        return self.pop();
                    }
                    '0' => {
                        let p = self.peek();
                        if matches!(p, 'b' | 'o' | 'x') {
                            let cur = self.current();
                            return self.errorf(format!("cannot use sign with non-decimal numbers: '{cur}{p}'"));
                        }
                    }
                    '.' => return self.errorf("floats must start with a digit, not '.'"),
                    _ => {}
                }
                if r.is_ascii_digit() {
                    return Some(S::DecimalNumber);
                }
                self.errorf(format!("expected a digit but got {}", quote_rune(r)))
            }
            S::BaseNumberOrDate => {
                let r = self.next();
                match r {
                    r if r.is_ascii_digit() => Some(S::NumberOrDate),
                    '_' => Some(S::DecimalNumber),
                    '.' | 'e' | 'E' => Some(S::Float),
                    'b' | 'o' | 'x' => {
                        let (next_state, ok, what): (State, fn(char) -> bool, &str) = match r {
                            'b' => (S::BinaryInteger, |c| c == '0' || c == '1', "binary"),
                            'o' => (S::OctalInteger, |c| ('0'..='7').contains(&c), "octal"),
                            _ => (S::HexInteger, is_hex, "hexadecimal"),
                        };
                        let p = self.peek();
                        if !ok(p) {
                            // The error is queued and lexing goes on, as in Go.
                            let cur = self.current();
                            self.error_msg(format!("not a {what} number: '{cur}{p}'"));
                        }
                        Some(next_state)
                    }
                    _ => {
                        self.backup();
                        self.emit(ItemType::Integer);
                        self.pop()
                    }
                }
            }
            S::Float => match self.next() {
                r if r.is_ascii_digit() => Some(S::Float),
                '_' | '.' | '-' | '+' | 'e' | 'E' => Some(S::Float),
                _ => {
                    self.backup();
                    self.emit(ItemType::Float);
                    self.pop()
                }
            },
            S::Bool => {
                let mut word = String::new();
                loop {
                    let r = self.next();
                    if !r.is_alphabetic() || r == char::REPLACEMENT_CHARACTER {
                        self.backup();
                        break;
                    }
                    word.push(r);
                }
                if word == "true" || word == "false" {
                    self.emit(ItemType::Bool);
                    return self.pop();
                }
                self.errorf(format!("expected value but found {} instead", crate::format::go_quote(&word)))
            }
            S::CommentStart => {
                self.ignore();
                self.emit(ItemType::CommentStart);
                Some(S::Comment)
            }
            S::Comment => {
                let r = self.next();
                if is_nl(r) || r == EOF {
                    self.backup();
                    self.emit(ItemType::Text);
                    return self.pop();
                }
                Some(S::Comment)
            }
        }
    }

    fn lex_value(&mut self) -> Option<State> {
        use State as S;
        let r = self.next();
        if is_whitespace(r) {
            self.ignore();
            return Some(S::Value);
        }
        if r.is_ascii_digit() {
            self.backup();
            return Some(S::NumberOrDateStart);
        }
        match r {
            '[' => {
                self.ignore();
                self.emit(ItemType::Array);
                return Some(S::ArrayValue);
            }
            '{' => {
                self.ignore();
                self.emit(ItemType::InlineTableStart);
                return Some(S::InlineTableValue);
            }
            '"' | '\'' => {
                let (multi, single) =
                    if r == '"' { (S::MultilineString, S::String) } else { (S::MultilineRawString, S::RawString) };
                if self.accept(r) {
                    if self.accept(r) {
                        self.ignore();
                        return Some(multi);
                    }
                    self.backup();
                }
                self.ignore();
                return Some(single);
            }
            '.' => return self.errorf("floats must start with a digit, not '.'"),
            'i' | 'n' if (self.accept('n') && self.accept('f')) || (self.accept('a') && self.accept('n')) => {
                self.emit(ItemType::Float);
                return self.pop();
            }
            '-' | '+' => return Some(S::DecimalNumberStart),
            _ => {}
        }
        if r.is_alphabetic() && r != char::REPLACEMENT_CHARACTER {
            self.backup();
            return Some(S::Bool);
        }
        if r == EOF {
            return self.errorf("unexpected EOF; expected value");
        }
        self.errorf(format!("expected value but found {} instead", quote_rune(r)))
    }

    /// After a quote in a multi-line string: the closing triple quote (up to two more quotes
    /// belong to the string), or more string.
    fn multiline_close(&mut self, q: char, typ: ItemType, again: State) -> Option<State> {
        if self.accept(q) {
            if self.accept(q) {
                if self.peek() == q {
                    let five: String = std::iter::repeat_n(q, 5).collect();
                    let cur = self.current();
                    if cur.ends_with(&five) && !(q == '"' && cur.ends_with(&format!("\\{five}"))) {
                        let six: String = std::iter::repeat_n(q, 6).collect();
                        let shown = if q == '"' { format!("'{six}'") } else { format!("\"{six}\"") };
                        return self.errorf(format!("unexpected {shown}"));
                    }
                    self.backup();
                    self.backup();
                    return Some(again);
                }
                self.backup();
                self.backup();
                self.backup();
                self.emit(typ);
                self.next();
                self.next();
                self.next();
                self.ignore();
                return self.pop();
            }
            self.backup();
        }
        Some(again)
    }
}

/// A decoded value, before it becomes a template value: tables and arrays of tables stay
/// mutable while the document is read.
#[derive(Debug, Clone)]
enum Node {
    Value(Value),
    Array(Vec<Node>),
    Table(BTreeMap<String, Node>),
    ArrayOfTables(Vec<BTreeMap<String, Node>>),
}

impl Node {
    fn into_value(self) -> Value {
        match self {
            Node::Value(v) => v,
            Node::Array(items) => Value::List(items.into_iter().map(Node::into_value).collect(), ListType::Interface),
            Node::Table(t) => table_value(t),
            Node::ArrayOfTables(ts) => Value::List(ts.into_iter().map(table_value).collect(), ListType::Interface),
        }
    }
}

fn table_value(t: BTreeMap<String, Node>) -> Value {
    Value::map(t.into_iter().map(|(k, v)| (k, v.into_value())))
}

/// BurntSushi's `Key.String()`: parts joined by dots, quoted when not bare.
fn key_string(key: &[String]) -> String {
    key.iter()
        .map(|k| {
            if k.is_empty() {
                "\"\"".to_owned()
            } else if k.chars().all(is_bare_key_char) {
                k.clone()
            } else {
                format!("\"{}\"", k.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n"))
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Why decoding stopped: the message, its line and the last key, as `ParseError` prints them.
struct ParseError {
    message: String,
    line: usize,
    last_key: String,
}

impl ParseError {
    fn text(&self) -> String {
        if self.last_key.is_empty() {
            format!("toml: line {}: {}", self.line, self.message)
        } else {
            format!("toml: line {} (last key {}): {}", self.line, crate::format::go_quote(&self.last_key), self.message)
        }
    }
}

type PResult<T> = Result<T, ParseError>;

struct Parser<'a> {
    lx: Lexer<'a>,
    context: Vec<String>,
    current_key: String,
    line: usize,
    mapping: BTreeMap<String, Node>,
    implicits: HashSet<String>,
    arrays: HashSet<String>,
}

impl Parser<'_> {
    fn current(&self) -> String {
        if self.current_key.is_empty() {
            return key_string(&self.context);
        }
        if self.context.is_empty() {
            return self.current_key.clone();
        }
        format!("{}.{}", key_string(&self.context), self.current_key)
    }

    fn fail<T>(&self, line: usize, message: String) -> PResult<T> {
        Err(ParseError { message, line, last_key: self.current() })
    }

    fn next(&mut self) -> PResult<Item> {
        let it = self.lx.next_item();
        if it.typ == ItemType::Error {
            return self.fail(it.line, it.val);
        }
        Ok(it)
    }

    fn next_pos(&mut self) -> PResult<Item> {
        let it = self.next()?;
        self.line = it.line;
        Ok(it)
    }

    fn top_level(&mut self, item: Item) -> PResult<()> {
        match item.typ {
            ItemType::CommentStart => {
                self.next()?;
            }
            ItemType::TableStart | ItemType::ArrayTableStart => {
                let array = item.typ == ItemType::ArrayTableStart;
                let end = if array { ItemType::ArrayTableEnd } else { ItemType::TableEnd };
                let mut name = self.next_pos()?;
                let mut key = Vec::new();
                while name.typ != end && name.typ != ItemType::Eof {
                    key.push(self.key_part(&name)?);
                    name = self.next()?;
                }
                self.add_context(&key, array)?;
            }
            ItemType::KeyStart => {
                let outer = self.context.clone();
                let mut k = self.next_pos()?;
                let mut key = Vec::new();
                while k.typ != ItemType::KeyEnd && k.typ != ItemType::Eof {
                    key.push(self.key_part(&k)?);
                    k = self.next()?;
                }
                let Some(last) = key.pop() else { return self.fail(self.line, "unexpected key".to_owned()) };
                self.current_key = last;
                for part in key {
                    let mut implicit = self.context.clone();
                    implicit.push(part);
                    self.add_implicit_context(&implicit)?;
                }
                let v = self.next()?;
                let val = self.value(v)?;
                let current = self.current_key.clone();
                self.set_value(&current, val)?;
                self.context = outer;
                self.current_key.clear();
            }
            _ => {}
        }
        Ok(())
    }

    fn key_part(&mut self, it: &Item) -> PResult<String> {
        match it.typ {
            ItemType::Text | ItemType::RawString => Ok(it.val.clone()),
            ItemType::String => self.replace_escapes(it),
            ItemType::RawMultilineString => Ok(strip_first_newline(&it.val).to_owned()),
            _ => Ok(it.val.clone()),
        }
    }

    fn value(&mut self, it: Item) -> PResult<Node> {
        Ok(match it.typ {
            ItemType::String => Node::Value(Value::from(self.replace_escapes(&it)?)),
            ItemType::MultilineString => {
                let stripped = strip_escaped_newlines(strip_first_newline(&it.val));
                let item = Item { val: stripped, ..it };
                Node::Value(Value::from(self.replace_escapes(&item)?))
            }
            ItemType::RawString => Node::Value(Value::from(it.val)),
            ItemType::RawMultilineString => Node::Value(Value::from(strip_first_newline(&it.val))),
            ItemType::Bool => Node::Value(Value::Bool(it.val == "true")),
            ItemType::Integer => Node::Value(self.integer(&it)?),
            ItemType::Float => Node::Value(self.float(&it)?),
            ItemType::Datetime => match datetime(&it.val) {
                Some(v) => Node::Value(v),
                None => return self.fail(it.line, format!("invalid datetime: {}", crate::format::go_quote(&it.val))),
            },
            ItemType::Array => {
                let mut key = self.context.clone();
                key.push(self.current_key.clone());
                self.arrays.insert(key_string(&key));
                let mut items = Vec::new();
                loop {
                    let it = self.next()?;
                    match it.typ {
                        ItemType::ArrayEnd => break,
                        ItemType::CommentStart => {
                            self.next()?;
                        }
                        _ => items.push(self.value(it)?),
                    }
                }
                Node::Array(items)
            }
            ItemType::InlineTableStart => self.inline_table()?,
            _ => return self.fail(it.line, format!("unexpected {:?}", it.typ)),
        })
    }

    fn inline_table(&mut self) -> PResult<Node> {
        let outer_context = self.context.clone();
        let outer_key = std::mem::take(&mut self.current_key);
        self.context.push(outer_key.clone());
        let prev_context = self.context.clone();
        let mut table: BTreeMap<String, Node> = BTreeMap::new();
        loop {
            let it = self.next()?;
            match it.typ {
                ItemType::InlineTableEnd => break,
                ItemType::CommentStart => {
                    self.next()?;
                    continue;
                }
                _ => {}
            }
            let mut k = self.next_pos()?;
            let mut key = Vec::new();
            while k.typ != ItemType::KeyEnd && k.typ != ItemType::Eof {
                key.push(self.key_part(&k)?);
                k = self.next()?;
            }
            let Some(last) = key.pop() else { return self.fail(self.line, "unexpected key".to_owned()) };
            self.current_key = last.clone();
            let v = self.next()?;
            let val = self.value(v)?;
            let mut hash = &mut table;
            for part in &key {
                let entry = hash.entry(part.clone()).or_insert_with(|| Node::Table(BTreeMap::new()));
                match entry {
                    Node::Table(t) => hash = t,
                    _ => {
                        let shown = crate::format::go_quote(&key_string(&self.context));
                        return self.fail(self.line, format!("{shown} is not a table"));
                    }
                }
            }
            if hash.contains_key(&last) {
                let mut full = self.context.clone();
                full.extend(key.iter().cloned());
                full.push(last);
                return self.fail(self.line, format!("Key '{}' has already been defined.", key_string(&full)));
            }
            hash.insert(last, val);
            self.context = prev_context.clone();
        }
        self.context = outer_context;
        self.current_key = outer_key;
        Ok(Node::Table(table))
    }

    fn integer(&self, it: &Item) -> PResult<Value> {
        let s = it.val.as_str();
        if !underscores_ok(s) {
            return self.fail(it.line, format!("Invalid integer {}: underscores must be surrounded by digits", q(s)));
        }
        if has_leading_zero(s) {
            return self.fail(it.line, format!("Invalid integer {}: cannot have leading zeroes", q(s)));
        }
        let clean = s.replace('_', "");
        let (neg, digits) = match clean.strip_prefix('-') {
            Some(d) => (true, d.to_owned()),
            None => (false, clean.trim_start_matches('+').to_owned()),
        };
        let (radix, digits) = match digits.get(..2) {
            Some("0x") => (16, &digits[2..]),
            Some("0o") => (8, &digits[2..]),
            Some("0b") => (2, &digits[2..]),
            _ => (10, digits.as_str()),
        };
        let parsed = i128::from_str_radix(digits, radix).ok().map(|n| if neg { -n } else { n });
        match parsed.and_then(|n| i64::try_from(n).ok()) {
            Some(n) => Ok(Value::Int64(n)),
            None => self.fail(it.line, format!("{s} is out of range for int64")),
        }
    }

    fn float(&self, it: &Item) -> PResult<Value> {
        let s = it.val.as_str();
        let parts: Vec<&str> = s.split(['.', 'e', 'E']).filter(|p| !p.is_empty()).collect();
        if parts.iter().any(|p| !underscores_ok(p)) {
            return self.fail(it.line, format!("Invalid float {}: underscores must be surrounded by digits", q(s)));
        }
        if parts.first().is_some_and(|p| has_leading_zero(p)) {
            return self.fail(it.line, format!("Invalid float {}: cannot have leading zeroes", q(s)));
        }
        if !periods_ok(s) {
            return self.fail(it.line, format!("Invalid float {}: '.' must be followed by one or more digits", q(s)));
        }
        let clean = s.replace('_', "");
        let f = match clean.as_str() {
            "inf" | "+inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            "nan" | "+nan" => f64::NAN,
            "-nan" => -f64::NAN,
            other => match other.parse::<f64>() {
                Ok(f) if f.is_infinite() => return self.fail(it.line, format!("{s} is out of range for float64")),
                Ok(f) => f,
                Err(_) => return self.fail(it.line, format!("Invalid float value: {}", q(s))),
            },
        };
        Ok(Value::Float(f))
    }

    fn replace_escapes(&self, it: &Item) -> PResult<String> {
        let s = it.val.as_str();
        let mut out = String::with_capacity(s.len());
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('b') => out.push('\u{8}'),
                Some('t') => out.push('\t'),
                Some('n') => out.push('\n'),
                Some('f') => out.push('\u{c}'),
                Some('r') => out.push('\r'),
                Some('"') => out.push('"'),
                Some('\\') => out.push('\\'),
                Some('e') => out.push('\u{1b}'),
                Some(e @ ('x' | 'u' | 'U')) => {
                    let n = match e {
                        'x' => 2,
                        'u' => 4,
                        _ => 8,
                    };
                    let hex: String = chars.by_ref().take(n).collect();
                    match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                        Some(ch) => out.push(ch),
                        None => {
                            return self.fail(it.line, format!("Escaped character '\\u{hex}' is not valid UTF-8."));
                        }
                    }
                }
                Some(e) => return self.fail(it.line, format!("invalid escape: '\\{e}'")),
                None => {}
            }
        }
        Ok(out)
    }

    /// The table that `path` names, through the last table of each array of tables.
    fn table_at(&mut self, path: &[String]) -> Option<&mut BTreeMap<String, Node>> {
        let mut hash = &mut self.mapping;
        for k in path {
            hash = match hash.get_mut(k)? {
                Node::Table(t) => t,
                Node::ArrayOfTables(ts) => ts.last_mut()?,
                _ => return None,
            };
        }
        Some(hash)
    }

    fn add_implicit_context(&mut self, key: &[String]) -> PResult<()> {
        self.implicits.insert(key_string(key));
        self.add_context(key, false)
    }

    /// BurntSushi's `addContext`: the parents of `key` as tables (implicit when new), then
    /// `key` itself as a table or a new element of an array of tables.
    fn add_context(&mut self, key: &[String], array: bool) -> PResult<()> {
        let Some((last, parents)) = key.split_last() else { return Ok(()) };
        let mut key_context: Vec<String> = Vec::new();
        for k in parents {
            key_context.push(k.clone());
            let (parent_path, _) = key_context.split_at(key_context.len() - 1);
            let parent_path = parent_path.to_vec();
            let line = self.line;
            let Some(hash) = self.table_at(&parent_path) else {
                return self.fail(line, format!("Key '{}' was already created as a hash.", key_string(&key_context)));
            };
            let is_new = !hash.contains_key(k);
            let entry = hash.entry(k.clone()).or_insert_with(|| Node::Table(BTreeMap::new()));
            let ok = matches!(entry, Node::Table(_) | Node::ArrayOfTables(_));
            if is_new {
                self.implicits.insert(key_string(&key_context));
            }
            if !ok {
                return self.fail(line, format!("Key '{}' was already created as a hash.", key_string(&key_context)));
            }
        }
        self.context = parents.to_vec();
        if array {
            let line = self.line;
            let Some(hash) = self.table_at(parents) else {
                return self.fail(line, format!("Key '{}' has already been defined.", key_string(key)));
            };
            let entry = hash.entry(last.clone()).or_insert_with(|| Node::ArrayOfTables(Vec::new()));
            match entry {
                Node::ArrayOfTables(ts) => ts.push(BTreeMap::new()),
                _ => {
                    let shown = key_string(key);
                    return self
                        .fail(line, format!("Key '{shown}' was already created and cannot be used as an array."));
                }
            }
        } else {
            self.set_value(last, Node::Table(BTreeMap::new()))?;
        }
        self.context.push(last.clone());
        Ok(())
    }

    /// BurntSushi's `setValue`: `key` in the current context; defining a key twice is an
    /// error, except a table that was only implied so far.
    fn set_value(&mut self, key: &str, value: Node) -> PResult<()> {
        let context = self.context.clone();
        let mut full = context.clone();
        full.push(key.to_owned());
        let full_text = key_string(&full);
        let line = self.line;
        let is_array = self.arrays.contains(&full_text);
        let is_implicit = self.implicits.contains(&full_text);
        let Some(hash) = self.table_at(&context) else {
            return self.fail(line, format!("Key '{}' has already been defined.", key_string(&context)));
        };
        if hash.contains_key(key) {
            if is_array {
                hash.insert(key.to_owned(), value);
                self.implicits.remove(&full_text);
                return Ok(());
            }
            if is_implicit {
                self.implicits.remove(&full_text);
                return Ok(());
            }
            return self.fail(line, format!("Key '{full_text}' has already been defined."));
        }
        hash.insert(key.to_owned(), value);
        Ok(())
    }
}

fn q(s: &str) -> String {
    crate::format::go_quote(s)
}

fn strip_first_newline(s: &str) -> &str {
    s.strip_prefix('\n').or_else(|| s.strip_prefix("\r\n")).unwrap_or(s)
}

/// Removes a line-ending backslash and the whitespace after it, in a multi-line string.
fn strip_escaped_newlines(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut copied = 0;
    while let Some(ix) = s[i..].find('\\') {
        i += ix;
        if b.get(i + 1) == Some(&b'\\') {
            i += 2;
            continue;
        }
        let mut j = i + 1;
        while j < b.len() && matches!(b[j], b' ' | b'\t' | b'\r' | b'\n') {
            j += 1;
        }
        if j == i + 1 || !s[i..j].contains('\n') {
            i += 1;
            continue;
        }
        out.push_str(&s[copied..i]);
        copied = j;
        i = j;
    }
    out.push_str(&s[copied..]);
    out
}

fn underscores_ok(s: &str) -> bool {
    if matches!(s, "nan" | "+nan" | "-nan" | "inf" | "-inf" | "+inf") {
        return true;
    }
    let mut accept = false;
    for r in s.chars() {
        if r == '_' && !accept {
            return false;
        }
        accept = is_hex(r);
    }
    accept
}

fn has_leading_zero(s: &str) -> bool {
    let b = s.as_bytes();
    (b.len() > 1 && b[0] == b'0' && !matches!(b[1], b'b' | b'o' | b'x'))
        || (b.len() > 2 && matches!(b[0], b'-' | b'+') && b[1] == b'0')
}

fn periods_ok(s: &str) -> bool {
    let mut period = false;
    for r in s.chars() {
        if period && !r.is_ascii_digit() {
            return false;
        }
        period = r == '.';
    }
    !period
}

/// A TOML date-time as BurntSushi decodes it: an offset date-time (in UTC, or in a zone
/// without a name for an offset other than UTC's), a local date-time, date or time (in the
/// zones Go prints as `datetime-local`, `date-local`, `time-local`). TOML 1.1 lets the
/// seconds be left out.
fn datetime(text: &str) -> Option<Value> {
    use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
    let s: String = text
        .chars()
        .map(|c| match c {
            'z' => 'Z',
            't' | ' ' => 'T',
            c => c,
        })
        .collect();
    // Go's time.Parse takes numbers without their leading zeros; TOML does not.
    let digits_where = |t: &str, layout: &str| {
        t.len() == layout.len() && t.bytes().zip(layout.bytes()).all(|(a, b)| a.is_ascii_digit() == (b == b'0'))
    };
    let time = |t: &str| -> Option<NaiveTime> {
        let (hms, frac) = t.split_once('.').map_or((t, None), |(a, b)| (a, Some(b)));
        if frac.is_some_and(|f| f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit())) {
            return None;
        }
        let hms = if digits_where(hms, "00:00") { format!("{hms}:00") } else { hms.to_owned() };
        if !digits_where(&hms, "00:00:00") {
            return None;
        }
        let text = match frac {
            Some(f) => format!("{hms}.{f}"),
            None => hms,
        };
        NaiveTime::parse_from_str(&text, "%H:%M:%S%.f").ok()
    };
    let date = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok().filter(|_| digits_where(d, "0000-00-00"));
    let Some((d, rest)) = s.split_once('T') else {
        if let Some(day) = date(&s) {
            return Some(crate::sprig::toml_time(day.and_hms_opt(0, 0, 0)?, 0, Some("date-local")));
        }
        let naive = NaiveDateTime::new(NaiveDate::from_ymd_opt(0, 1, 1)?, time(&s)?);
        return Some(crate::sprig::toml_time(naive, 0, Some("time-local")));
    };
    let day = date(d)?;
    let (clock, offset) = if let Some(clock) = rest.strip_suffix('Z') {
        (clock, Some(0))
    } else if let Some(at) = rest.rfind(['+', '-']) {
        let (clock, off) = rest.split_at(at);
        if !digits_where(&off[1..], "00:00") {
            return None;
        }
        let hours: i32 = off[1..3].parse().ok()?;
        let minutes: i32 = off[4..6].parse().ok()?;
        if hours > 23 || minutes > 59 {
            return None;
        }
        let secs = (hours * 60 + minutes) * 60;
        (clock, Some(if off.starts_with('-') { -secs } else { secs }))
    } else {
        (rest, None)
    };
    let naive = NaiveDateTime::new(day, time(clock)?);
    Some(match offset {
        None => crate::sprig::toml_time(naive, 0, Some("datetime-local")),
        Some(0) => crate::sprig::toml_time(naive, 0, None),
        Some(off) => crate::sprig::toml_time(naive - chrono::Duration::seconds(i64::from(off)), off, Some("")),
    })
}

/// Helm's `fromToml`: the document as a map, or a map holding the decoder's error under
/// `Error`.
pub fn from_toml(text: &str) -> Value {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.get(..6.min(text.len())).is_some_and(|head| head.contains('\0')) {
        let message = "toml: line 1: files cannot contain NULL bytes; probably using UTF-16; TOML files must be UTF-8";
        return Value::map([("Error".to_owned(), Value::from(message))]);
    }
    let mut p = Parser {
        lx: Lexer::new(text),
        context: Vec::new(),
        current_key: String::new(),
        line: 1,
        mapping: BTreeMap::new(),
        implicits: HashSet::new(),
        arrays: HashSet::new(),
    };
    let result = (|| -> PResult<()> {
        loop {
            let item = p.next()?;
            if item.typ == ItemType::Eof {
                return Ok(());
            }
            p.top_level(item)?;
        }
    })();
    match result {
        Ok(()) => table_value(std::mem::take(&mut p.mapping)),
        Err(e) => Value::map([("Error".to_owned(), Value::from(e.text()))]),
    }
}

#[cfg(test)]
mod tests {
    /// Each line of `testdata/from_toml_cases.txt` (`\n` a line break, `\x01` a control
    /// character, `\\` a backslash) through `fromToml`, printed as helm 4.2.3 printed
    /// `{{ fromToml "..." | toString | quote }}` for it (`testdata/from_toml_helm.txt`).
    #[test]
    fn from_toml_decodes_and_fails_as_helm_does() {
        let cases = include_str!("testdata/from_toml_cases.txt");
        let helm = include_str!("testdata/from_toml_helm.txt");
        let mut differences = Vec::new();
        for (line, want) in cases.lines().zip(helm.lines()) {
            let src = line.replace("\\n", "\n").replace("\\x01", "\u{1}").replace("\\\\", "\\");
            let got = crate::format::go_quote(&crate::format::sprint(&super::from_toml(&src)));
            if got != want {
                differences.push(format!("{line}\n  helm: {want}\n  reef: {got}"));
            }
        }
        assert_eq!(cases.lines().count(), helm.lines().count());
        assert!(differences.is_empty(), "{}", differences.join("\n"));
    }
}
