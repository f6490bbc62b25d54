//! The parse trees of Go's `text/template` and the parser (`text/template/parse/parse.go`):
//! the same grammar, the same checks (undefined functions and variables, `break` outside
//! `range`) and the same error messages, with the line where Go reports them.

use std::rc::Rc;
use std::sync::Arc;

use crate::format::go_quote;
use crate::lex::{Item, ItemType, lex, line_at};

/// A parsed template: its name, the file it came from and its body.
#[derive(Debug)]
pub struct Tree {
    /// The template's name (`define`'s name, or the file's).
    pub name: String,
    /// The name of the file it was parsed from, for error locations.
    pub parse_name: Arc<str>,
    /// The file's text, for turning byte offsets into lines and columns.
    pub text: Arc<str>,
    /// The body.
    pub root: Vec<Node>,
    /// The values of the file's string literals, by [`Arg::String`]'s index: made once, so
    /// evaluating a literal shares its value rather than copying it.
    pub strings: Rc<[Rc<str>]>,
}

/// A parsed file as the parser leaves it: its trees, with the string literals' values not yet
/// made into the values templates share. Unlike [`Tree`], it can be sent to another thread,
/// so files can be parsed side by side ([`ParsedFile::into_trees`] finishes them).
#[derive(Debug)]
pub struct ParsedFile {
    parse_name: Arc<str>,
    text: Arc<str>,
    /// The trees' names and bodies: the file's own first, then each `define` and `block`.
    trees: Vec<(String, Vec<Node>)>,
    literals: Vec<Literal>,
}

/// A string literal's value: the text between its quotes, or its unquoted form when it has
/// escapes or is a raw string.
#[derive(Debug)]
enum Literal {
    Source(std::ops::Range<usize>),
    Unquoted(Box<str>),
}

impl ParsedFile {
    /// The names of the templates the file makes: its own, then each `define` and `block`.
    pub fn template_names(&self) -> impl Iterator<Item = &str> {
        self.trees.iter().map(|(name, _)| name.as_str())
    }

    /// The file's trees, the file's own first.
    pub fn into_trees(self) -> Vec<Tree> {
        let strings: Rc<[Rc<str>]> = self
            .literals
            .iter()
            .map(|l| match l {
                Literal::Source(r) => Rc::from(&self.text[r.clone()]),
                Literal::Unquoted(s) => Rc::from(&**s),
            })
            .collect();
        self.trees
            .into_iter()
            .map(|(name, root)| Tree {
                name,
                parse_name: self.parse_name.clone(),
                text: self.text.clone(),
                root,
                strings: strings.clone(),
            })
            .collect()
    }
}

/// Go's `parse.IsEmptyTree` of a body: only whitespace text and comments.
fn is_empty_body(text: &str, root: &[Node]) -> bool {
    root.iter().all(|n| matches!(n, Node::Text(r) if text[r.clone()].trim().is_empty()))
}

impl Tree {
    /// `name:line:col` of a byte offset, as Go's `ErrorContext` writes it (column 0-based).
    pub fn location(&self, pos: usize) -> String {
        let pos = pos.min(self.text.len());
        let col = pos - self.text[..pos].rfind('\n').map_or(0, |nl| nl + 1);
        format!("{}:{}:{}", self.parse_name, line_at(&self.text, pos), col)
    }

    /// Go's `parse.IsEmptyTree`: only whitespace text and comments.
    pub fn is_empty(&self) -> bool {
        is_empty_body(&self.text, &self.root)
    }
}

/// A node of a template body.
#[derive(Debug)]
pub enum Node {
    /// Text, printed as is: where it is in the tree's `text`.
    Text(std::ops::Range<usize>),
    /// `{{pipeline}}`.
    Action(Pipe),
    /// `{{if}}`.
    If(Branch),
    /// `{{range}}`.
    Range(Branch),
    /// `{{with}}`.
    With(Branch),
    /// `{{template "name" pipeline}}`.
    Template(TemplateCall),
    /// `{{break}}`.
    Break(usize),
    /// `{{continue}}`.
    Continue(usize),
}

/// The parts of `if`, `range` and `with`.
#[derive(Debug)]
pub struct Branch {
    /// Position of the keyword's pipeline.
    pub pos: usize,
    /// The condition or collection.
    pub pipe: Pipe,
    /// The body.
    pub list: Vec<Node>,
    /// The `else` body.
    pub else_list: Option<Vec<Node>>,
}

/// Deeply nested trees are dropped with a stack that grows, as they are built and run.
impl Drop for Branch {
    fn drop(&mut self) {
        let list = std::mem::take(&mut self.list);
        let else_list = self.else_list.take();
        stacker::maybe_grow(crate::exec::RED_ZONE, crate::exec::STACK_GROWTH, || drop((list, else_list)));
    }
}

impl Drop for Pipe {
    fn drop(&mut self) {
        let cmds = std::mem::take(&mut self.cmds);
        stacker::maybe_grow(crate::exec::RED_ZONE, crate::exec::STACK_GROWTH, || drop(cmds));
    }
}

/// `{{template "name" pipeline}}`.
#[derive(Debug)]
pub struct TemplateCall {
    /// Position of the name.
    pub pos: usize,
    /// The called template.
    pub name: String,
    /// Dot for the called template.
    pub pipe: Option<Pipe>,
}

/// A pipeline with optional variable declarations.
#[derive(Debug)]
pub struct Pipe {
    /// Position.
    pub pos: usize,
    /// `$x = ` rather than `$x := `.
    pub is_assign: bool,
    /// Declared or assigned variables (names with `$`), with their positions.
    pub decl: Vec<(usize, Idents)>,
    /// The commands, separated by `|`.
    pub cmds: List<Command>,
}

/// A command: an operand or a function call with arguments.
#[derive(Debug)]
pub struct Command {
    /// Position.
    pub pos: usize,
    /// The operands; the first is the function when there are several.
    pub args: List<Arg>,
}

/// The commands of a pipeline or the operands of a command: most often one, held in place
/// rather than in an allocation of its own.
#[derive(Debug)]
pub enum List<T> {
    /// One.
    One([T; 1]),
    /// None, or several.
    Many(Box<[T]>),
}

impl<T> List<T> {
    fn from_drain(mut items: std::vec::Drain<'_, T>) -> List<T> {
        if items.len() == 1
            && let Some(item) = items.next()
        {
            return List::One([item]);
        }
        List::Many(items.collect())
    }
}

impl<T> Default for List<T> {
    fn default() -> List<T> {
        List::Many(Box::default())
    }
}

impl<T> std::ops::Deref for List<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match self {
            List::One(one) => one,
            List::Many(many) => many,
        }
    }
}

impl<'a, T> IntoIterator for &'a List<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// A number literal, with the interpretations Go's `NumberNode` keeps.
#[derive(Debug, Clone)]
pub struct Number {
    /// The source text.
    pub text: Idents,
    /// Fits an int64.
    pub int: Option<i64>,
    /// Fits a uint64.
    pub uint: Option<u64>,
    /// Is a float64.
    pub float: Option<f64>,
    /// A char constant (`'a'`).
    pub is_char: bool,
    /// A complex constant.
    pub is_complex: bool,
}

/// Names joined by `.`, where they are in the template's text (which it shares, so a name
/// costs no allocation): the fields of a chain (`a.b` of `.a.b`), a variable and its fields
/// (`$x.a.b`), or a function's name. A name never holds a `.`.
#[derive(Debug, Clone)]
pub struct Idents {
    text: Arc<str>,
    range: std::ops::Range<usize>,
}

impl Idents {
    /// The names, joined by `.`.
    pub fn as_str(&self) -> &str {
        &self.text[self.range.clone()]
    }
}

/// An operand.
#[derive(Debug)]
pub enum Arg {
    /// `.a.b`.
    Field(usize, Idents),
    /// `$x.a.b`: the variable name first.
    Variable(usize, Idents),
    /// `(pipeline).a.b`.
    Chain(usize, Box<Arg>, Idents),
    /// A function name, with the function it names (resolved once, at parse time).
    Identifier(usize, Idents, Callee),
    /// `.`.
    Dot(usize),
    /// `nil`.
    Nil(usize),
    /// `true` / `false`.
    Bool(usize, bool),
    /// A number.
    Number(usize, Box<Number>),
    /// A string: its source, quotes included, and the index of its value in the tree's
    /// [`Tree::strings`].
    String(usize, Idents, usize),
    /// `(pipeline)`.
    Pipe(Box<Pipe>),
}

impl Arg {
    /// The byte offset.
    pub fn pos(&self) -> usize {
        match self {
            Arg::Field(p, _)
            | Arg::Variable(p, _)
            | Arg::Chain(p, _, _)
            | Arg::Identifier(p, _, _)
            | Arg::Dot(p)
            | Arg::Nil(p)
            | Arg::Bool(p, _)
            | Arg::Number(p, _)
            | Arg::String(p, _, _) => *p,
            Arg::Pipe(p) => p.pos,
        }
    }
}

impl std::fmt::Display for Arg {
    /// Go's `Node.String()`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Arg::Field(_, idents) => write!(f, ".{}", idents.as_str()),
            Arg::Variable(_, idents) => f.write_str(idents.as_str()),
            Arg::Chain(_, node, fields) => {
                if let Arg::Pipe(p) = &**node {
                    write!(f, "({p})")?;
                } else {
                    write!(f, "{node}")?;
                }
                write!(f, ".{}", fields.as_str())
            }
            Arg::Identifier(_, n, _) => f.write_str(n.as_str()),
            Arg::Dot(_) => f.write_str("."),
            Arg::Nil(_) => f.write_str("nil"),
            Arg::Bool(_, b) => write!(f, "{b}"),
            Arg::Number(_, n) => f.write_str(n.text.as_str()),
            Arg::String(_, source, _) => f.write_str(source.as_str()),
            Arg::Pipe(p) => write!(f, "{p}"),
        }
    }
}

impl std::fmt::Display for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            if let Arg::Pipe(p) = a {
                write!(f, "({p})")?;
            } else {
                write!(f, "{a}")?;
            }
        }
        Ok(())
    }
}

impl std::fmt::Display for Pipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.decl.is_empty() {
            for (i, (_, v)) in self.decl.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                f.write_str(v.as_str())?;
            }
            f.write_str(" := ")?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl std::fmt::Display for TemplateCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.pipe {
            Some(p) => write!(f, "{{{{template {} {p}}}}}", go_quote(&self.name)),
            None => write!(f, "{{{{template {}}}}}", go_quote(&self.name)),
        }
    }
}

/// The function a name in a template calls: one of the set's functions, or a Go builtin.
#[derive(Clone)]
pub struct Callee(pub(crate) CalleeKind);

#[derive(Clone, Copy)]
pub(crate) enum CalleeKind {
    /// The index of a function of the set's [`crate::FuncMap`].
    Func(usize),
    Builtin(&'static crate::builtins::Builtin),
}

impl std::fmt::Debug for Callee {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            CalleeKind::Func(_) => "Callee::Func",
            CalleeKind::Builtin(_) => "Callee::Builtin",
        })
    }
}

impl Callee {
    /// Resolves `name` as Go does: the function map first (it may replace a builtin), then
    /// the builtins. The template must run with the map whose names these are.
    pub fn resolve(funcs: &crate::func::FuncNames, name: &str) -> Option<Callee> {
        if let Some(i) = funcs.index(name) {
            return Some(Callee(CalleeKind::Func(i)));
        }
        crate::builtins::lookup(name).map(|b| Callee(CalleeKind::Builtin(b)))
    }
}

/// A parse error: the file, line and Go's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The file name.
    pub name: String,
    /// The line.
    pub line: usize,
    /// Go's message.
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "template: {}:{}: {}", self.name, self.line, self.message)
    }
}

enum End {
    End,
    Else,
}

enum Parsed {
    Node(Node),
    End(End),
    None,
}

struct Parser<'a> {
    items: Vec<Item<'a>>,
    /// The message of the lexer's error item, if it ended with one.
    lex_error: String,
    source: &'a str,
    i: usize,
    furthest: usize,
    name: &'a str,
    text: Arc<str>,
    parse_name: Arc<str>,
    resolve: &'a Resolver<'a>,
    /// The functions resolved so far: a template calls a few functions many times.
    callees: Vec<(&'a str, Callee)>,
    vars: Vec<&'a str>,
    range_depth: usize,
    /// Nesting of parenthesized pipelines, against [`MAX_PAREN_DEPTH`].
    paren_depth: usize,
    /// Where the action being parsed starts, for errors that name its line.
    action_pos: Option<usize>,
    /// The trees parsed so far: names and bodies.
    trees: Vec<(String, Vec<Node>)>,
    literals: Vec<Literal>,
    /// Nodes, commands and operands of the lists, pipelines and commands being parsed, each
    /// moved into a vector of its exact size when its list, pipeline or command ends (rather
    /// than each growing a vector of its own).
    nodes: Vec<Node>,
    cmds: Vec<Command>,
    args: Vec<Arg>,
}

type PResult<T> = Result<T, ParseError>;

/// Go's `maxStackDepth`: how deeply parenthesized pipelines may nest.
const MAX_PAREN_DEPTH: usize = 10_000;

/// What finds the function a name calls (`None`: not defined).
pub type Resolver<'a> = dyn Fn(&str) -> Option<Callee> + Sync + 'a;

/// Parses `text` (the file `name`) into its trees: the file's own (named `name`) first, then
/// every `define` and `block`. `resolve` finds the function a name calls.
pub fn parse(name: &str, text: &str, resolve: &Resolver<'_>) -> PResult<Vec<Tree>> {
    parse_file(name, text, resolve).map(ParsedFile::into_trees)
}

/// [`parse`], leaving the last step to [`ParsedFile::into_trees`]: what parses on another
/// thread.
pub fn parse_file(name: &str, text: &str, resolve: &Resolver<'_>) -> PResult<ParsedFile> {
    parse_file_shared(name, &Arc::from(text), resolve)
}

/// [`parse_file`] of a text the caller already holds shared: the parse keeps it without a
/// copy.
pub fn parse_file_shared(name: &str, shared: &Arc<str>, resolve: &Resolver<'_>) -> PResult<ParsedFile> {
    let text: &str = shared;
    let lexed = lex(text);
    let mut p = Parser {
        items: lexed.items,
        lex_error: lexed.error,
        source: text,
        i: 0,
        furthest: 0,
        name,
        parse_name: Arc::from(name),
        text: shared.clone(),
        resolve,
        callees: Vec::new(),
        vars: vec!["$"],
        range_depth: 0,
        paren_depth: 0,
        action_pos: None,
        trees: Vec::new(),
        literals: Vec::new(),
        // Room for the nodes, commands and operands open at once in most templates, so the
        // stacks are not regrown (copying what they hold) in every file.
        nodes: Vec::with_capacity(128),
        cmds: Vec::with_capacity(16),
        args: Vec::with_capacity(32),
    };
    let root = p.parse_top()?;
    p.add(name.to_owned(), root)?;
    // The file's own tree first.
    if let Some(idx) = p.trees.iter().position(|(n, _)| n == name) {
        let t = p.trees.remove(idx);
        p.trees.insert(0, t);
    }
    Ok(ParsedFile { parse_name: p.parse_name, text: p.text, trees: p.trees, literals: p.literals })
}

impl<'a> Parser<'a> {
    fn item(&self, i: usize) -> Item<'a> {
        self.items[i.min(self.items.len() - 1)]
    }

    fn next(&mut self) -> Item<'a> {
        let it = self.item(self.i);
        // The item just read, EOF included (which is read again and again at the end).
        self.furthest = self.furthest.max(self.i.min(self.items.len() - 1));
        if self.i < self.items.len() - 1 || it.typ != ItemType::Eof {
            self.i += 1;
        }
        it
    }

    fn backup(&mut self) {
        self.i -= 1;
    }

    fn peek(&mut self) -> Item<'a> {
        self.furthest = self.furthest.max(self.i);
        self.item(self.i)
    }

    fn peek_type(&mut self) -> ItemType {
        self.furthest = self.furthest.max(self.i);
        self.item(self.i).typ
    }

    fn next_non_space(&mut self) -> Item<'a> {
        loop {
            let it = self.next();
            if it.typ != ItemType::Space {
                return it;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item<'a> {
        let it = self.next_non_space();
        self.backup();
        it
    }

    fn err<T>(&self, message: String) -> PResult<T> {
        let line = line_at(self.source, self.item(self.furthest).pos);
        Err(ParseError { name: self.name.to_owned(), line, message })
    }

    fn unexpected<T>(&self, token: &Item, context: &str) -> PResult<T> {
        if token.typ == ItemType::Error {
            let mut extra = String::new();
            if let Some(action_pos) = self.action_pos {
                let action_line = line_at(self.source, action_pos);
                if action_line != line_at(self.source, token.pos) {
                    extra = format!(" in action started at {}:{action_line}", self.name);
                    if self.lex_error.ends_with(" action") {
                        extra = extra[" in action".len()..].to_owned();
                    }
                }
            }
            return self.err(format!("{}{extra}", self.lex_error));
        }
        self.err(format!("unexpected {token} in {context}"))
    }

    fn expect(&mut self, typ: ItemType, context: &str) -> PResult<Item<'a>> {
        let t = self.next_non_space();
        if t.typ != typ {
            return self.unexpected(&t, context);
        }
        Ok(t)
    }

    /// The names at `range` of the text.
    fn idents(&self, range: std::ops::Range<usize>) -> Idents {
        Idents { text: self.text.clone(), range }
    }

    fn add(&mut self, name: String, root: Vec<Node>) -> PResult<()> {
        match self.trees.iter().position(|(n, _)| *n == name) {
            None => self.trees.push((name, root)),
            Some(i) if is_empty_body(&self.text, &self.trees[i].1) => self.trees[i] = (name, root),
            Some(_) => {
                if !is_empty_body(&self.text, &root) {
                    return self.err(format!("template: multiple definition of template {}", go_quote(&name)));
                }
            }
        }
        Ok(())
    }

    fn parse_top(&mut self) -> PResult<Vec<Node>> {
        let mark = self.nodes.len();
        while self.peek_type() != ItemType::Eof {
            if self.peek_type() == ItemType::LeftDelim {
                let at = self.i;
                self.next();
                if self.next_non_space().typ == ItemType::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.i = at;
            }
            match self.text_or_action()? {
                Parsed::Node(n) => self.nodes.push(n),
                Parsed::None => {}
                Parsed::End(End::End) => return self.err("unexpected {{end}}".to_owned()),
                Parsed::End(End::Else) => return self.err("unexpected {{else}}".to_owned()),
            }
        }
        Ok(self.nodes.drain(mark..).collect())
    }

    fn sub_tree<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        let vars = std::mem::replace(&mut self.vars, vec!["$"]);
        let depth = std::mem::replace(&mut self.range_depth, 0);
        let r = f(self);
        self.vars = vars;
        self.range_depth = depth;
        r
    }

    fn parse_definition(&mut self) -> PResult<()> {
        const CONTEXT: &str = "define clause";
        self.sub_tree(|p| {
            let t = p.next_non_space();
            if t.typ != ItemType::String && t.typ != ItemType::RawString {
                return p.unexpected(&t, CONTEXT);
            }
            let name = match unquote(t.val) {
                Ok(n) => n,
                Err(e) => return p.err(e),
            };
            p.expect(ItemType::RightDelim, CONTEXT)?;
            let (root, end) = p.item_list()?;
            if let End::Else = end {
                return p.err(format!("unexpected {{{{else}}}} in {CONTEXT}"));
            }
            p.add(name, root)
        })
    }

    fn item_list(&mut self) -> PResult<(Vec<Node>, End)> {
        let mark = self.nodes.len();
        while self.peek_non_space().typ != ItemType::Eof {
            match self.text_or_action()? {
                Parsed::Node(n) => self.nodes.push(n),
                Parsed::None => {}
                Parsed::End(e) => return Ok((self.nodes.drain(mark..).collect(), e)),
            }
        }
        self.err("unexpected EOF".to_owned())
    }

    fn text_or_action(&mut self) -> PResult<Parsed> {
        let token = self.next_non_space();
        match token.typ {
            ItemType::Text => Ok(Parsed::Node(Node::Text(token.pos..token.pos + token.val.len()))),
            ItemType::LeftDelim => {
                self.action_pos = Some(token.pos);
                let r = self.action();
                self.action_pos = None;
                r
            }
            ItemType::Comment => Ok(Parsed::None),
            _ => self.unexpected(&token, "input"),
        }
    }

    fn action(&mut self) -> PResult<Parsed> {
        let token = self.next_non_space();
        match token.typ {
            ItemType::Block => return self.block_control().map(Parsed::Node),
            ItemType::Break | ItemType::Continue => {
                let t = self.next_non_space();
                let word = if token.typ == ItemType::Break { "break" } else { "continue" };
                if t.typ != ItemType::RightDelim {
                    return self.unexpected(&t, &format!("{{{{{word}}}}}"));
                }
                if self.range_depth == 0 {
                    return self.err(format!("{{{{{word}}}}} outside {{{{range}}}}"));
                }
                return Ok(Parsed::Node(if token.typ == ItemType::Break {
                    Node::Break(token.pos)
                } else {
                    Node::Continue(token.pos)
                }));
            }
            ItemType::Else => {
                let peek = self.peek_non_space();
                if peek.typ == ItemType::If || peek.typ == ItemType::With {
                    return Ok(Parsed::End(End::Else));
                }
                self.expect(ItemType::RightDelim, "else")?;
                return Ok(Parsed::End(End::Else));
            }
            ItemType::End => {
                self.expect(ItemType::RightDelim, "end")?;
                return Ok(Parsed::End(End::End));
            }
            ItemType::If => return self.control("if").map(|b| Parsed::Node(Node::If(b))),
            ItemType::Range => return self.control("range").map(|b| Parsed::Node(Node::Range(b))),
            ItemType::With => return self.control("with").map(|b| Parsed::Node(Node::With(b))),
            ItemType::Template => return self.template_control().map(Parsed::Node),
            _ => {}
        }
        self.backup();
        let pipe = self.pipeline("command", ItemType::RightDelim)?;
        Ok(Parsed::Node(Node::Action(pipe)))
    }

    fn control(&mut self, context: &str) -> PResult<Branch> {
        stacker::maybe_grow(crate::exec::RED_ZONE, crate::exec::STACK_GROWTH, || self.control_scoped(context))
    }

    fn control_scoped(&mut self, context: &str) -> PResult<Branch> {
        let mark = self.vars.len();
        let r = self.control_inner(context);
        self.vars.truncate(mark);
        r
    }

    fn control_inner(&mut self, context: &str) -> PResult<Branch> {
        let pipe = self.pipeline(context, ItemType::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let r = self.item_list();
        if context == "range" {
            self.range_depth -= 1;
        }
        let (list, next) = r?;
        let mut else_list = None;
        if let End::Else = next {
            let pt = self.peek_type();
            if context == "if" && pt == ItemType::If {
                self.next();
                else_list = Some(vec![Node::If(self.control("if")?)]);
            } else if context == "with" && pt == ItemType::With {
                self.next();
                else_list = Some(vec![Node::With(self.control("with")?)]);
            } else {
                let (l, n) = self.item_list()?;
                if let End::Else = n {
                    return self.err("expected end; found {{else}}".to_owned());
                }
                else_list = Some(l);
            }
        }
        Ok(Branch { pos: pipe.pos, pipe, list, else_list })
    }

    fn template_name(&mut self, token: &Item, context: &str) -> PResult<String> {
        match token.typ {
            ItemType::String | ItemType::RawString => match unquote(token.val) {
                Ok(s) => Ok(s),
                Err(e) => self.err(e),
            },
            _ => self.unexpected(token, context),
        }
    }

    fn template_control(&mut self) -> PResult<Node> {
        const CONTEXT: &str = "template clause";
        let token = self.next_non_space();
        let name = self.template_name(&token, CONTEXT)?;
        let pipe = if self.next_non_space().typ != ItemType::RightDelim {
            self.backup();
            Some(self.pipeline(CONTEXT, ItemType::RightDelim)?)
        } else {
            None
        };
        Ok(Node::Template(TemplateCall { pos: token.pos, name, pipe }))
    }

    fn block_control(&mut self) -> PResult<Node> {
        const CONTEXT: &str = "block clause";
        let token = self.next_non_space();
        let name = self.template_name(&token, CONTEXT)?;
        let pipe = self.pipeline(CONTEXT, ItemType::RightDelim)?;
        self.sub_tree(|p| {
            let (root, end) = p.item_list()?;
            if let End::Else = end {
                return p.err(format!("unexpected {{{{else}}}} in {CONTEXT}"));
            }
            p.add(name.clone(), root)
        })?;
        Ok(Node::Template(TemplateCall { pos: token.pos, name, pipe: Some(pipe) }))
    }

    fn pipeline(&mut self, context: &str, end: ItemType) -> PResult<Pipe> {
        stacker::maybe_grow(crate::exec::RED_ZONE, crate::exec::STACK_GROWTH, || self.pipeline_inner(context, end))
    }

    fn pipeline_inner(&mut self, context: &str, end: ItemType) -> PResult<Pipe> {
        let token = self.peek_non_space();
        let mut pipe = Pipe { pos: token.pos, is_assign: false, decl: Vec::new(), cmds: List::default() };
        loop {
            let v = self.peek_non_space();
            if v.typ != ItemType::Variable {
                break;
            }
            let at = self.i;
            self.next_non_space();
            let after = self.peek();
            let next = self.peek_non_space();
            if next.typ == ItemType::Assign || next.typ == ItemType::Declare {
                pipe.is_assign = next.typ == ItemType::Assign;
                self.next_non_space();
                pipe.decl.push((v.pos, self.idents(v.pos..v.pos + v.val.len())));
                self.vars.push(v.val);
                break;
            } else if next.typ == ItemType::Char && next.val == "," {
                self.next_non_space();
                pipe.decl.push((v.pos, self.idents(v.pos..v.pos + v.val.len())));
                self.vars.push(v.val);
                if context == "range" && pipe.decl.len() < 2 {
                    match self.peek_non_space().typ {
                        ItemType::Variable | ItemType::RightDelim | ItemType::RightParen => continue,
                        _ => return self.err("range can only initialize variables".to_owned()),
                    }
                }
                return self.err(format!("too many declarations in {context}"));
            } else {
                let _ = after;
                self.i = at;
                break;
            }
        }
        let mark = self.cmds.len();
        loop {
            let token = self.next_non_space();
            match token.typ {
                t if t == end => {
                    if self.cmds.len() == mark {
                        return self.err(format!("missing value for {context}"));
                    }
                    for (i, c) in self.cmds[mark..].iter().enumerate().skip(1) {
                        if matches!(
                            c.args.first(),
                            Some(Arg::Bool(..) | Arg::Dot(_) | Arg::Nil(_) | Arg::Number(..) | Arg::String(..))
                        ) {
                            return self.err(format!("non executable command in pipeline stage {}", i + 1));
                        }
                    }
                    pipe.cmds = List::from_drain(self.cmds.drain(mark..));
                    return Ok(pipe);
                }
                ItemType::Bool
                | ItemType::CharConstant
                | ItemType::Complex
                | ItemType::Dot
                | ItemType::Field
                | ItemType::Identifier
                | ItemType::Number
                | ItemType::Nil
                | ItemType::RawString
                | ItemType::String
                | ItemType::Variable
                | ItemType::LeftParen => {
                    self.backup();
                    let c = self.command()?;
                    self.cmds.push(c);
                }
                _ => return self.unexpected(&token, context),
            }
        }
    }

    fn command(&mut self) -> PResult<Command> {
        let pos = self.peek_non_space().pos;
        let mark = self.args.len();
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                self.args.push(op);
            }
            let token = self.next();
            match token.typ {
                ItemType::Space => continue,
                ItemType::RightDelim | ItemType::RightParen => self.backup(),
                ItemType::Pipe => {}
                _ => return self.unexpected(&token, "operand"),
            }
            break;
        }
        if self.args.len() == mark {
            return self.err("empty command".to_owned());
        }
        Ok(Command { pos, args: List::from_drain(self.args.drain(mark..)) })
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        // A field or variable term has taken the fields that follow it (`.a.b`, `$x.a`).
        let Some(node) = self.term()? else { return Ok(None) };
        let Some((chain_pos, end)) = self.fields() else { return Ok(Some(node)) };
        Ok(Some(match node {
            Arg::Bool(..) | Arg::String(..) | Arg::Number(..) | Arg::Nil(_) | Arg::Dot(_) => {
                return self.err(format!("unexpected . after term {}", go_quote(&node.to_string())));
            }
            other => Arg::Chain(chain_pos, Box::new(other), self.idents(chain_pos + 1..end)),
        }))
    }

    /// Reads the field items that come next (`.b.c`), if any: where the first starts and the
    /// last ends. Field items follow one another with nothing between them.
    fn fields(&mut self) -> Option<(usize, usize)> {
        if self.peek_type() != ItemType::Field {
            return None;
        }
        let start = self.peek().pos;
        let mut end = start;
        while self.peek_type() == ItemType::Field {
            let f = self.next();
            end = f.pos + f.val.len();
        }
        Some((start, end))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let token = self.next_non_space();
        Ok(Some(match token.typ {
            ItemType::Identifier => {
                let callee = match self.callees.iter().find(|(name, _)| *name == token.val) {
                    Some((_, callee)) => callee.clone(),
                    None => {
                        let Some(callee) = (self.resolve)(token.val) else {
                            return self.err(format!("function {} not defined", go_quote(token.val)));
                        };
                        self.callees.push((token.val, callee.clone()));
                        callee
                    }
                };
                Arg::Identifier(token.pos, self.idents(token.pos..token.pos + token.val.len()), callee)
            }
            ItemType::Dot => Arg::Dot(token.pos),
            ItemType::Nil => Arg::Nil(token.pos),
            ItemType::Variable => {
                // A variable item is the name alone: its fields are items of their own.
                if !self.vars.contains(&token.val) {
                    return self.err(format!("undefined variable {}", go_quote(token.val)));
                }
                // Go gives a chain the position of its first field after the term.
                let (pos, end) = self.fields().unwrap_or((token.pos, token.pos + token.val.len()));
                Arg::Variable(pos, self.idents(token.pos..end))
            }
            ItemType::Field => {
                let (pos, end) = self.fields().unwrap_or((token.pos, token.pos + token.val.len()));
                Arg::Field(pos, self.idents(token.pos + 1..end))
            }
            ItemType::Bool => Arg::Bool(token.pos, token.val == "true"),
            ItemType::CharConstant | ItemType::Complex | ItemType::Number => {
                match parse_number(self.idents(token.pos..token.pos + token.val.len()), token.typ) {
                    Ok(n) => Arg::Number(token.pos, Box::new(n)),
                    Err(e) => return self.err(e),
                }
            }
            ItemType::LeftParen => {
                if self.paren_depth >= MAX_PAREN_DEPTH {
                    return self.err("max expression depth exceeded".to_owned());
                }
                self.paren_depth += 1;
                let pipe = self.pipeline("parenthesized pipeline", ItemType::RightParen);
                self.paren_depth -= 1;
                Arg::Pipe(Box::new(pipe?))
            }
            ItemType::String | ItemType::RawString => {
                let literal = match plain_body(token.val) {
                    Some(body) => Literal::Source(token.pos + 1..token.pos + 1 + body.len()),
                    None => match unquote(token.val) {
                        Ok(s) => Literal::Unquoted(s.into_boxed_str()),
                        Err(e) => return self.err(e),
                    },
                };
                self.literals.push(literal);
                Arg::String(token.pos, self.idents(token.pos..token.pos + token.val.len()), self.literals.len() - 1)
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}

/// The body of a `"..."` literal that is its value: one without escapes.
fn plain_body(s: &str) -> Option<&str> {
    let body = s.strip_prefix('"')?.strip_suffix('"')?;
    (!body.contains(['\\', '"', '\n'])).then_some(body)
}

/// Go's `strconv.Unquote` for `"..."`, `` `...` `` and `'.'` literals.
pub fn unquote(s: &str) -> Result<String, String> {
    if let Some(body) = plain_body(s) {
        return Ok(body.to_owned());
    }
    let syntax = || "invalid syntax".to_owned();
    if s.len() < 2 {
        return Err(syntax());
    }
    let quote = s.as_bytes()[0];
    if quote != s.as_bytes()[s.len() - 1] {
        return Err(syntax());
    }
    let body = &s[1..s.len() - 1];
    if quote == b'`' {
        if body.contains('`') {
            return Err(syntax());
        }
        if !body.contains('\r') {
            return Ok(body.to_owned());
        }
        return Ok(body.replace('\r', ""));
    }
    if quote != b'"' && quote != b'\'' {
        return Err(syntax());
    }
    // Go strings hold bytes: `\xff` and `\377` in a string are one byte each, kept as
    // `go_string` keeps bytes that are not UTF-8.
    let mut out = LiteralBytes::default();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c == quote as char || c == '\n' {
            return Err(syntax());
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = chars.next().ok_or_else(syntax)?;
        match e {
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\u{b}'),
            '\\' => out.push('\\'),
            '\'' | '"' => {
                if e as u32 != quote as u32 {
                    return Err(syntax());
                }
                out.push(e);
            }
            'x' | 'u' | 'U' => {
                let n = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let mut v: u32 = 0;
                for _ in 0..n {
                    let d = chars.next().and_then(|c| c.to_digit(16)).ok_or_else(syntax)?;
                    v = v * 16 + d;
                }
                if e == 'x' && quote == b'"' {
                    out.byte(v as u8);
                } else {
                    out.push(char::from_u32(v).ok_or_else(syntax)?);
                }
            }
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    let d = chars.next().and_then(|c| c.to_digit(8)).ok_or_else(syntax)?;
                    v = v * 8 + d;
                }
                if v > 255 {
                    return Err(syntax());
                }
                if quote == b'"' {
                    out.byte(v as u8);
                } else {
                    out.push(char::from_u32(v).ok_or_else(syntax)?);
                }
            }
            _ => return Err(syntax()),
        }
    }
    let out = crate::go_string::from_bytes(&out.0).into_owned();
    if quote == b'\'' && out.chars().count() != 1 {
        return Err(syntax());
    }
    Ok(out)
}

/// The bytes of a literal [`unquote`] reads: characters as UTF-8, byte escapes as bytes.
#[derive(Default)]
struct LiteralBytes(Vec<u8>);

impl LiteralBytes {
    fn push(&mut self, c: char) {
        self.0.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
    }

    fn byte(&mut self, b: u8) {
        self.0.push(b);
    }
}

fn parse_int_go(text: &str) -> Option<(bool, u64)> {
    let (neg, rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = rest.to_ascii_lowercase();
    let (radix, digits, prefixed) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d.to_owned(), true)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d.to_owned(), true)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d.to_owned(), true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_owned(), true)
    } else {
        (10, lower.clone(), false)
    };
    // Underscores only between digits, and only with base prefix semantics (Go: base 0).
    if digits.starts_with('_') && !prefixed || digits.ends_with('_') || digits.contains("__") {
        return None;
    }
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    if clean.is_empty() {
        return if lower == "0" { Some((neg, 0)) } else { None };
    }
    u64::from_str_radix(&clean, radix).ok().map(|v| (neg, v))
}

/// A hexadecimal float (`0x1.8p1`), as `strconv.ParseFloat` reads it.
fn parse_hex_float(text: &str) -> Option<f64> {
    let (neg, rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let rest = rest.strip_prefix("0x").or_else(|| rest.strip_prefix("0X"))?;
    let (mant, exp) = rest.split_once(['p', 'P'])?;
    let exp: i32 = exp.parse().ok()?;
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int.chars() {
        v = v * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac.chars() {
        v += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    let v = v * 2f64.powi(exp);
    Some(if neg { -v } else { v })
}

/// Go's `parse.newNumber`: every interpretation the literal `source` has.
pub fn parse_number(source: Idents, typ: ItemType) -> Result<Number, String> {
    let shared = source.text.clone();
    let text = &shared[source.range.clone()];
    let mut n = Number { text: source, int: None, uint: None, float: None, is_char: false, is_complex: false };
    // Plain decimal digits that fit an int64 (18 of them always do), as most literals are.
    if typ == ItemType::Number
        && (1..=18).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text.len() == 1 || !text.starts_with('0'))
        && let Ok(v) = text.parse::<u64>()
    {
        n.int = Some(v as i64);
        n.uint = Some(v);
        n.float = Some(v as f64);
        return Ok(n);
    }
    if typ == ItemType::CharConstant {
        let c = unquote(text).map_err(|_| format!("malformed character constant: {text}"))?;
        let r = c.chars().next().map_or(0, |c| c as u32);
        n.int = Some(i64::from(r));
        n.uint = Some(u64::from(r));
        n.float = Some(f64::from(r));
        n.is_char = true;
        return Ok(n);
    }
    if typ == ItemType::Complex || text.ends_with('i') {
        n.is_complex = true;
        return Err(format!("illegal number syntax: {}", go_quote(text)));
    }
    if let Some((neg, v)) = parse_int_go(text) {
        if !neg {
            n.uint = Some(v);
        }
        if neg {
            if v <= (i64::MAX as u64) + 1 {
                n.int = Some((v as i64).wrapping_neg());
            }
        } else if v <= i64::MAX as u64 {
            n.int = Some(v as i64);
        }
        if let Some(i) = n.int {
            n.float = Some(i as f64);
        } else if let Some(u) = n.uint {
            n.float = Some(u as f64);
        }
    } else {
        let clean: String = text.chars().filter(|&c| c != '_').collect();
        let f =
            if clean.to_ascii_lowercase().contains("0x") { parse_hex_float(&clean) } else { clean.parse::<f64>().ok() };
        let f = f.filter(|f| f.is_finite());
        if let Some(f) = f {
            if !text.contains(['.', 'e', 'E', 'p', 'P']) {
                return Err(format!("integer overflow: {}", go_quote(text)));
            }
            n.float = Some(f);
            if f.fract() == 0.0 && f.abs() < 9.2e18 {
                n.int = Some(f as i64);
            }
            if f.fract() == 0.0 && (0.0..1.8e19).contains(&f) {
                n.uint = Some(f as u64);
            }
        }
    }
    if n.int.is_none() && n.uint.is_none() && n.float.is_none() {
        return Err(format!("illegal number syntax: {}", go_quote(text)));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> PResult<Vec<Tree>> {
        let funcs = crate::func::FuncNames::default();
        parse("t", text, &|n: &str| Callee::resolve(&funcs, if n == "f" { "print" } else { n }))
    }

    fn err(text: &str) -> String {
        match p(text) {
            Ok(_) => "ok".to_owned(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn parse_errors_read_as_gos() {
        assert_eq!(err("a\n  {{ .Values.a.b }"), "template: t:2: unexpected \"}\" in operand");
        assert_eq!(err("{{ nope }}"), "template: t:1: function \"nope\" not defined");
        assert_eq!(err("{{ if 1 }}"), "template: t:1: unexpected EOF");
        // Go reports the line of the EOF item, after the last text.
        assert_eq!(err("{{ if true }}\na: 1\n"), "template: t:3: unexpected EOF");
        assert_eq!(err("{{ $x }}"), "template: t:1: undefined variable \"$x\"");
        assert_eq!(err("{{ break }}"), "template: t:1: {{break}} outside {{range}}");
        assert_eq!(err("{{ end }}"), "template: t:1: unexpected {{end}}");
        assert_eq!(err("{{ 1 | 2 }}"), "template: t:1: non executable command in pipeline stage 2");
    }

    #[test]
    fn defines_become_trees_of_the_set() {
        let trees = p("a{{define \"x\"}}X{{end}}b").expect("parses");
        assert_eq!(trees.len(), 2);
        assert_eq!(trees[0].name, "t");
        assert_eq!(trees[1].name, "x");
    }

    #[test]
    fn node_strings_are_gos() {
        let trees = p("{{ f (f .a.b $) \"s\" | f }}").expect("parses");
        match &trees[0].root[0] {
            Node::Action(pipe) => assert_eq!(pipe.to_string(), "f (f .a.b $) \"s\" | f"),
            other => panic!("{other:?}"),
        }
    }

    fn number(text: &str) -> Result<Number, String> {
        parse_number(Idents { text: Arc::from(text), range: 0..text.len() }, ItemType::Number)
    }

    #[test]
    fn numbers_keep_gos_interpretations() {
        let n = number("0x1F").expect("number");
        assert_eq!((n.text.as_str(), n.int), ("0x1F", Some(31)));
        let n = number("1_000").expect("number");
        assert_eq!(n.int, Some(1000));
        let n = number("1.5").expect("number");
        assert_eq!((n.int, n.float), (None, Some(1.5)));
        assert!(number("99999999999999999999").is_err());
    }
}
