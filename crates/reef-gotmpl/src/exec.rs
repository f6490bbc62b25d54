//! The executor of Go's `text/template` (`text/template/exec.go`): walks a parsed tree with
//! dot and variables, calls functions with Go's argument checks, and reports errors at the
//! node Go reports them at.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::builtins;
use crate::format::{go_quote, sprint};
use crate::func::{FuncError, FuncMap, Host, Param};
use crate::parse::{Arg, Branch, Callee, CalleeKind, Command, Node, Pipe, TemplateCall, Tree};
use crate::template::{Error, Options};
use crate::value::{ListType, MapType, Value};

/// Stack left before a nesting step grows the stack (on the heap), and by how much: deep
/// nesting (Go allows 100000 template calls) must not overflow Rust's stack.
pub(crate) const RED_ZONE: usize = 128 * 1024;
/// See [`RED_ZONE`].
pub(crate) const STACK_GROWTH: usize = 4 * 1024 * 1024;

/// The templates of a set, by name.
pub(crate) type TreeSet = HashMap<Rc<str>, Rc<Tree>>;

/// What `tpl` parsed before, by template name and text: a chart's `tpl` calls repeat the same
/// few texts (often inside `range`), and parsing is most of their cost. Bounded by
/// [`TplCache::MAX_TEXT`] bytes of cached text; past that, texts are parsed on every call.
#[derive(Debug, Default)]
pub(crate) struct TplCache {
    trees: HashMap<(Box<str>, Box<str>), ParsedText>,
    text_bytes: usize,
}

/// The trees of one parsed text, the text's own first.
type ParsedText = Rc<[Rc<Tree>]>;

impl TplCache {
    const MAX_TEXT: usize = 16 << 20;
}

/// Function calls and `range` iterations between two readings of the clock for
/// [`Options::max_duration`]: reading it at each cost a fiftieth of a render's time.
const DEADLINE_STRIDE: u32 = 16;

/// What every template of one render shares: the set, functions, limits, the output and
/// the nesting depth.
pub(crate) struct Shared {
    pub set: Rc<TreeSet>,
    /// The templates the enclosing `tpl` calls defined, by name, innermost last. Go's `tpl`
    /// parses its text into a clone of the set; these stacks over the set give the same
    /// lookups without the copy.
    pub layers: HashMap<Rc<str>, Vec<Rc<Tree>>>,
    pub tpl_cache: Rc<RefCell<TplCache>>,
    pub funcs: Rc<FuncMap>,
    pub opts: Options,
    pub out: String,
    /// Nesting of `template`, `include` and `tpl`.
    pub depth: usize,
    pub range_iterations: u64,
    /// When the render must have ended ([`Options::max_duration`] after it started).
    pub deadline: Option<std::time::Instant>,
    /// Deadline checks so far: the clock is read at every [`DEADLINE_STRIDE`]th.
    pub deadline_checks: u32,
    /// Bytes written and built by functions so far, against [`Options::max_built_bytes`].
    pub built: u64,
    /// The set's own name (Helm's `gotpl`), for `no template "x" associated with ...`.
    pub set_name: Rc<str>,
    /// Gives templates the set does not hold yet.
    pub resolver: Option<crate::template::Resolver>,
}

impl Shared {
    /// The template `name`: from the innermost `tpl` layer that defines it, else the set.
    pub fn lookup(&self, name: &str) -> Option<Rc<Tree>> {
        let layered = if self.layers.is_empty() { None } else { self.layers.get(name).and_then(|l| l.last()) };
        layered
            .or_else(|| self.set.get(name))
            .cloned()
            .or_else(|| self.resolver.as_ref().and_then(|resolve| (resolve.0)(name)))
    }

    /// The trees of `text` parsed as the template `name`, from the cache when it was parsed
    /// before.
    fn parse_tpl(&mut self, name: &str, text: &str) -> Result<ParsedText, FuncError> {
        let key = (Box::<str>::from(name), Box::<str>::from(text));
        if let Some(trees) = self.tpl_cache.borrow().trees.get(&key) {
            return Ok(trees.clone());
        }
        let funcs = self.funcs.clone();
        let names = funcs.names_index();
        let resolve = |n: &str| Callee::resolve(names, n);
        let trees: ParsedText = crate::parse::parse(name, text, &resolve)
            .map_err(|e| FuncError::new(e.to_string()))?
            .into_iter()
            .map(Rc::new)
            .collect();
        let mut cache = self.tpl_cache.borrow_mut();
        if cache.text_bytes + text.len() <= TplCache::MAX_TEXT {
            cache.text_bytes += text.len();
            cache.trees.insert(key, trees.clone());
        }
        Ok(trees)
    }
}

/// The node Go's `state.at` last recorded, for error contexts.
#[derive(Clone, Copy)]
enum At<'t> {
    None,
    Arg(&'t Arg),
    Cmd(&'t Command),
    Pipe(&'t Pipe),
    Tmpl(&'t TemplateCall),
    Pos(usize),
}

enum Flow {
    Break,
    Continue,
    Err(Box<Error>),
}

impl From<Box<Error>> for Flow {
    fn from(e: Box<Error>) -> Flow {
        Flow::Err(e)
    }
}

type R<T> = Result<T, Box<Error>>;

/// A value with whether a nil is a typed `interface{}` nil (from a map or a slice), which Go
/// tells apart from an invalid value when evaluating a field of it.
#[derive(Clone)]
struct Val {
    v: Value,
    typed: bool,
}

impl Val {
    fn untyped(v: Value) -> Val {
        Val { v, typed: false }
    }
    fn typed(v: Value) -> Val {
        Val { v, typed: true }
    }
}

struct State<'t, 's> {
    tree: &'t Tree,
    node: At<'t>,
    vars: Vec<(&'t str, Val)>,
    sh: &'s mut Shared,
}

/// Renders the tree `tree` with `dot` into `sh.out`.
pub(crate) fn execute(sh: &mut Shared, tree: &Tree, dot: Value) -> Result<(), Box<Error>> {
    let mut st = State { tree, node: At::None, vars: vec![("$", Val::untyped(dot.clone()))], sh };
    match st.walk_list(&Val::untyped(dot), &tree.root) {
        Ok(()) => Ok(()),
        Err(Flow::Err(e)) => Err(e),
        Err(_) => Ok(()),
    }
}

impl<'t> State<'t, '_> {
    fn at(&mut self, n: At<'t>) {
        self.node = n;
    }

    fn errorf(&self, message: impl Into<String>) -> Box<Error> {
        let (pos, context) = match self.node {
            At::None => (None, String::new()),
            At::Arg(a) => (Some(a.pos()), a.to_string()),
            At::Cmd(c) => (Some(c.pos), c.to_string()),
            At::Pipe(p) => (Some(p.pos), p.to_string()),
            At::Tmpl(t) => (Some(t.pos), t.to_string()),
            At::Pos(p) => (Some(p), String::new()),
        };
        Box::new(Error::Exec {
            template: self.tree.name.clone(),
            location: pos.map(|p| self.tree.location(p)),
            context,
            message: message.into(),
        })
    }

    fn write(&mut self, s: &str) -> R<()> {
        if self.sh.out.len() + s.len() > self.sh.opts.max_output_bytes {
            return Err(self.errorf(format!("output exceeds the limit of {} bytes", self.sh.opts.max_output_bytes)));
        }
        self.charge(s.len())?;
        self.sh.out.push_str(s);
        Ok(())
    }

    /// Fails once the render has run past [`Options::max_duration`], looking at the clock
    /// at every [`DEADLINE_STRIDE`]th call.
    fn check_deadline(&mut self) -> R<()> {
        self.sh.deadline_checks = self.sh.deadline_checks.wrapping_add(1);
        if !self.sh.deadline_checks.is_multiple_of(DEADLINE_STRIDE) {
            return Ok(());
        }
        match (self.sh.deadline, self.sh.opts.max_duration) {
            (Some(deadline), Some(limit)) if std::time::Instant::now() > deadline => {
                Err(self.errorf(format!("rendering exceeds the time limit of {}s", limit.as_secs_f64())))
            }
            _ => Ok(()),
        }
    }

    /// Counts `bytes` written or built against [`Options::max_built_bytes`].
    fn charge(&mut self, bytes: usize) -> R<()> {
        self.sh.built = self.sh.built.saturating_add(bytes as u64);
        if self.sh.built > self.sh.opts.max_built_bytes {
            let limit = self.sh.opts.max_built_bytes;
            return Err(self.errorf(format!("values and output built exceed the limit of {limit} bytes")));
        }
        Ok(())
    }

    fn walk_list(&mut self, dot: &Val, list: &'t [Node]) -> Result<(), Flow> {
        for n in list {
            self.walk(dot, n)?;
        }
        Ok(())
    }

    fn walk(&mut self, dot: &Val, node: &'t Node) -> Result<(), Flow> {
        match node {
            Node::Text(r) => {
                let tree = self.tree;
                self.write(&tree.text[r.clone()])?;
            }
            Node::Action(pipe) => {
                let v = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    self.at(At::Pipe(pipe));
                    self.print_value(&v)?;
                }
            }
            Node::If(b) => self.walk_if_or_with(dot, b, false)?,
            Node::With(b) => self.walk_if_or_with(dot, b, true)?,
            Node::Range(b) => self.walk_range(dot, b)?,
            Node::Template(t) => self.walk_template(dot, t)?,
            Node::Break(_) => return Err(Flow::Break),
            Node::Continue(_) => return Err(Flow::Continue),
        }
        Ok(())
    }

    fn print_value(&mut self, v: &Value) -> R<()> {
        match v {
            Value::Nil => self.write("<no value>"),
            Value::String(s) => self.write(s),
            // An action's value is addressable: a `String` method on the pointer applies.
            Value::Object(o) => self.write(&o.display()),
            other => {
                let s = sprint(other);
                self.write(&s)
            }
        }
    }

    fn walk_if_or_with(&mut self, dot: &Val, b: &'t Branch, with: bool) -> Result<(), Flow> {
        stacker::maybe_grow(RED_ZONE, STACK_GROWTH, || self.walk_if_or_with_inner(dot, b, with))
    }

    fn walk_if_or_with_inner(&mut self, dot: &Val, b: &'t Branch, with: bool) -> Result<(), Flow> {
        let mark = self.vars.len();
        let r = (|| {
            let val = self.eval_pipeline(dot, &b.pipe)?;
            if val.truthy() {
                if with {
                    self.walk_list(&Val::untyped(val), &b.list)?;
                } else {
                    self.walk_list(dot, &b.list)?;
                }
            } else if let Some(e) = &b.else_list {
                self.walk_list(dot, e)?;
            }
            Ok(())
        })();
        self.vars.truncate(mark);
        r
    }

    fn walk_range(&mut self, dot: &Val, r: &'t Branch) -> Result<(), Flow> {
        stacker::maybe_grow(RED_ZONE, STACK_GROWTH, || self.walk_range_outer(dot, r))
    }

    fn walk_range_outer(&mut self, dot: &Val, r: &'t Branch) -> Result<(), Flow> {
        self.at(At::Pos(r.pos));
        let mark = self.vars.len();
        let res = self.walk_range_inner(dot, r);
        self.vars.truncate(mark);
        res
    }

    fn one_iteration(&mut self, r: &'t Branch, index: Value, elem: Val) -> Result<bool, Flow> {
        self.check_deadline()?;
        self.sh.range_iterations += 1;
        if self.sh.range_iterations > self.sh.opts.max_range_iterations {
            return Err(Flow::Err(
                self.errorf(format!("range iterations exceed the limit of {}", self.sh.opts.max_range_iterations)),
            ));
        }
        let decl = &r.pipe.decl;
        if !decl.is_empty() {
            if r.pipe.is_assign {
                if decl.len() > 1 {
                    self.set_var(decl[0].1.as_str(), Val::untyped(index.clone()))?;
                } else {
                    self.set_var(decl[0].1.as_str(), elem.clone())?;
                }
            } else {
                self.set_top_var(1, elem.clone());
            }
        }
        if decl.len() > 1 {
            if r.pipe.is_assign {
                self.set_var(decl[1].1.as_str(), elem.clone())?;
            } else {
                self.set_top_var(2, Val::untyped(index));
            }
        }
        let mark = self.vars.len();
        let res = self.walk_list(&elem, &r.list);
        self.vars.truncate(mark);
        match res {
            Ok(()) | Err(Flow::Continue) => Ok(true),
            Err(Flow::Break) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn walk_range_inner(&mut self, dot: &Val, r: &'t Branch) -> Result<(), Flow> {
        let val = self.eval_pipeline(dot, &r.pipe)?;
        match &val {
            Value::List(items, lt) if !items.is_empty() => {
                // Only `[]interface {}` elements are interfaces (a nil one is a typed nil).
                let typed = *lt == ListType::Interface;
                for (i, item) in items.iter().enumerate() {
                    let elem = Val { v: item.clone(), typed };
                    if !self.one_iteration(r, Value::Int(i as i64), elem)? {
                        break;
                    }
                }
                return Ok(());
            }
            Value::Bytes(items) if !items.is_empty() => {
                for (i, item) in items.iter().enumerate() {
                    if !self.one_iteration(r, Value::Int(i as i64), Val::typed(Value::Int(i64::from(*item))))? {
                        break;
                    }
                }
                return Ok(());
            }
            Value::Int(n) | Value::Int64(n) => {
                if r.pipe.decl.len() > 1 {
                    return Err(Flow::Err(
                        self.errorf(format!("can't use {n} to iterate over more than one variable")),
                    ));
                }
                if *n > 0 {
                    let int64 = matches!(val, Value::Int64(_));
                    for i in 0..*n {
                        let v = if int64 { Value::Int64(i) } else { Value::Int(i) };
                        if !self.one_iteration(r, v.clone(), Val::untyped(v))? {
                            break;
                        }
                    }
                    return Ok(());
                }
            }
            Value::Map(m, mt) if !m.borrow().is_empty() => {
                let entries: Vec<(String, Value)> = m.borrow().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                let string_elems = *mt == MapType::String;
                for (k, v) in entries {
                    let elem = if string_elems { Val::untyped(v) } else { Val::typed(v) };
                    if !self.one_iteration(r, Value::string(k), elem)? {
                        break;
                    }
                }
                return Ok(());
            }
            // A Go map type with methods (Helm's `.Files`, `.Files.Glob`): ranged like a map.
            Value::Object(o) => match o.entries() {
                Some(entries) if !entries.is_empty() => {
                    for (k, v) in entries {
                        if !self.one_iteration(r, Value::string(k), Val::typed(v))? {
                            break;
                        }
                    }
                    return Ok(());
                }
                Some(_) => {}
                None => {
                    return Err(Flow::Err(self.errorf(format!("range can't iterate over {}", sprint(&val)))));
                }
            },
            Value::List(..) | Value::Bytes(_) | Value::Map(..) | Value::Nil => {}
            other => {
                return Err(Flow::Err(self.errorf(format!("range can't iterate over {}", sprint(other)))));
            }
        }
        if let Some(e) = &r.else_list {
            self.walk_list(dot, e)?;
        }
        Ok(())
    }

    fn walk_template(&mut self, dot: &Val, t: &'t TemplateCall) -> Result<(), Flow> {
        self.at(At::Tmpl(t));
        let Some(tree) = self.sh.lookup(&t.name) else {
            return Err(Flow::Err(self.errorf(format!("template {} not defined", go_quote(&t.name)))));
        };
        if self.sh.depth >= self.sh.opts.max_template_depth {
            return Err(Flow::Err(
                self.errorf(format!("exceeded maximum template depth ({})", self.sh.opts.max_template_depth)),
            ));
        }
        let dot = match &t.pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => Value::Nil,
        };
        self.sh.depth += 1;
        let res = stacker::maybe_grow(RED_ZONE, STACK_GROWTH, || {
            let mut st =
                State { tree: &tree, node: At::None, vars: vec![("$", Val::untyped(dot.clone()))], sh: &mut *self.sh };
            st.walk_list(&Val::untyped(dot.clone()), &tree.root)
        });
        self.sh.depth -= 1;
        match res {
            Err(Flow::Err(e)) => Err(Flow::Err(e)),
            _ => Ok(()),
        }
    }

    fn set_var(&mut self, name: &str, v: Val) -> R<()> {
        for slot in self.vars.iter_mut().rev() {
            if slot.0 == name {
                slot.1 = v;
                return Ok(());
            }
        }
        Err(self.errorf(format!("undefined variable: {name}")))
    }

    fn set_top_var(&mut self, n: usize, v: Val) {
        let len = self.vars.len();
        self.vars[len - n].1 = v;
    }

    fn var_value(&self, name: &str) -> R<Val> {
        for slot in self.vars.iter().rev() {
            if slot.0 == name {
                return Ok(slot.1.clone());
            }
        }
        Err(self.errorf(format!("undefined variable: {name}")))
    }

    fn eval_pipeline(&mut self, dot: &Val, pipe: &'t Pipe) -> R<Value> {
        stacker::maybe_grow(RED_ZONE, STACK_GROWTH, || self.eval_pipeline_inner(dot, pipe))
    }

    fn eval_pipeline_inner(&mut self, dot: &Val, pipe: &'t Pipe) -> R<Value> {
        self.at(At::Pipe(pipe));
        let mut value: Option<Val> = None;
        for cmd in &pipe.cmds {
            let v = self.eval_command(dot, cmd, value.take())?;
            // Unwrapping interface{}: a nil becomes an invalid value.
            value = Some(Val::untyped(v.v));
        }
        let value = value.map(|v| v.v).unwrap_or_default();
        for (_, name) in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name.as_str(), Val::untyped(value.clone()))?;
            } else {
                self.vars.push((name.as_str(), Val::untyped(value.clone())));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &[Arg], final_: &Option<Val>) -> R<()> {
        if args.len() > 1 || final_.is_some() {
            return Err(self.errorf(format!("can't give argument to non-function {}", args[0])));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Val, cmd: &'t Command, final_: Option<Val>) -> R<Val> {
        let first = &cmd.args[0];
        match first {
            Arg::Field(_, idents) => {
                self.at(At::Arg(first));
                return self.eval_field_chain(dot, dot.clone(), first, idents.as_str(), &cmd.args, final_);
            }
            Arg::Chain(_, node, fields) => {
                self.at(At::Arg(first));
                if let Arg::Nil(_) = **node {
                    return Err(self.errorf(format!("indirection through explicit nil in {first}")));
                }
                let pipe = self.eval_arg(dot, None, node)?;
                return self.eval_field_chain(dot, pipe, first, fields.as_str(), &cmd.args, final_);
            }
            Arg::Identifier(_, name, callee) => {
                return self.eval_function(dot, first, name.as_str(), callee, Some(cmd), &cmd.args, final_);
            }
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, &final_)?;
                return Ok(Val::untyped(self.eval_pipeline(dot, p)?));
            }
            Arg::Variable(_, idents) => {
                return self.eval_variable(dot, first, idents.as_str(), &cmd.args, final_);
            }
            _ => {}
        }
        self.at(At::Arg(first));
        self.not_a_function(&cmd.args, &final_)?;
        match first {
            Arg::Bool(_, b) => Ok(Val::untyped(Value::Bool(*b))),
            Arg::Dot(_) => Ok(dot.clone()),
            Arg::Nil(_) => Err(self.errorf("nil is not a command")),
            Arg::Number(_, n) => Ok(Val::untyped(self.ideal_constant(n)?)),
            Arg::String(_, _, i) => Ok(Val::untyped(Value::String(self.tree.strings[*i].clone()))),
            _ => Err(self.errorf(format!("can't evaluate command {}", go_quote(&first.to_string())))),
        }
    }

    fn ideal_constant(&self, n: &crate::parse::Number) -> R<Value> {
        let t = n.text.as_str();
        // Go's `isHexInt`: a hexadecimal literal without a `p` exponent (`0x1p-2` is a float).
        let is_hex_int =
            t.len() > 2 && t.starts_with('0') && matches!(t.as_bytes()[1], b'x' | b'X') && !t.contains(['p', 'P']);
        if let Some(f) = n.float
            && !is_hex_int
            && !n.is_char
            && t.contains(['.', 'e', 'E', 'p', 'P'])
        {
            return Ok(Value::Float(f));
        }
        if let Some(i) = n.int {
            return Ok(Value::Int(i));
        }
        if n.uint.is_some() {
            return Err(self.errorf(format!("{t} overflows int")));
        }
        Ok(Value::Nil)
    }

    fn eval_variable(
        &mut self,
        dot: &Val,
        node: &'t Arg,
        idents: &'t str,
        args: &'t [Arg],
        final_: Option<Val>,
    ) -> R<Val> {
        self.at(At::Arg(node));
        let (name, fields) = match idents.split_once('.') {
            Some((name, fields)) => (name, Some(fields)),
            None => (idents, None),
        };
        let value = self.var_value(name)?;
        let Some(fields) = fields else {
            self.not_a_function(args, &final_)?;
            return Ok(value);
        };
        self.eval_field_chain(dot, value, node, fields, args, final_)
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_field_chain(
        &mut self,
        dot: &Val,
        mut receiver: Val,
        node: &'t Arg,
        idents: &'t str,
        args: &'t [Arg],
        final_: Option<Val>,
    ) -> R<Val> {
        let (init, last) = match idents.rsplit_once('.') {
            Some((init, last)) => (Some(init), last),
            None => (None, idents),
        };
        for ident in init.into_iter().flat_map(|i| i.split('.')) {
            receiver = self.eval_field(dot, ident, node, &[], None, receiver)?;
        }
        self.eval_field(dot, last, node, args, final_, receiver)
    }

    fn eval_field(
        &mut self,
        dot: &Val,
        name: &str,
        node: &'t Arg,
        args: &'t [Arg],
        final_: Option<Val>,
        receiver: Val,
    ) -> R<Val> {
        let has_args = args.len() > 1 || final_.is_some();
        match &receiver.v {
            Value::Nil => {
                if receiver.typed {
                    return Err(self.errorf(format!("nil pointer evaluating interface {{}}.{name}")));
                }
                Ok(Val::untyped(Value::Nil))
            }
            Value::Map(m, mt) => {
                if has_args {
                    return Err(self.errorf(format!("{name} is not a method but has arguments")));
                }
                let found = m.borrow().get(name).cloned();
                Ok(match (found, mt) {
                    (Some(v), MapType::String) => Val::untyped(v),
                    (Some(v), _) => Val::typed(v),
                    (None, MapType::String) => Val::untyped(Value::string("")),
                    (None, _) => Val::typed(Value::Nil),
                })
            }
            Value::Object(o) => {
                let o = o.clone();
                if has_args {
                    // A method call with arguments.
                    let mut argv = Vec::with_capacity(args.len());
                    for a in args.iter().skip(1) {
                        argv.push(self.eval_arg(dot, Some(Param::Any), a)?.v);
                    }
                    if let Some(f) = final_ {
                        argv.push(f.v);
                    }
                    self.at(At::Arg(node));
                    return match o.call(name, &argv) {
                        Some(Ok(v)) => Ok(Val::typed(v)),
                        Some(Err(e)) => Err(self.errorf(format!("error calling {name}: {e}"))),
                        None => match o.field(name) {
                            Some(_) => {
                                Err(self.errorf(format!("{name} has arguments but cannot be invoked as function")))
                            }
                            None => Err(self.errorf(format!("can't evaluate field {name} in type {}", o.type_name()))),
                        },
                    };
                }
                if let Some(v) = o.field(name) {
                    return Ok(Val::typed(v));
                }
                match o.call(name, &[]) {
                    Some(Ok(v)) => Ok(Val::typed(v)),
                    Some(Err(e)) => Err(self.errorf(format!("error calling {name}: {e}"))),
                    None => Err(self.errorf(format!("can't evaluate field {name} in type {}", o.type_name()))),
                }
            }
            Value::List(items, ListType::VersionSet) if name == "Has" => {
                let count = args.len().saturating_sub(1) + usize::from(final_.is_some());
                if count != 1 {
                    return Err(self.errorf(format!("wrong number of args for Has: want 1 got {count}")));
                }
                let want = match args.get(1) {
                    Some(a) => self.eval_arg(dot, Some(Param::String), a)?.v,
                    None => final_.map(|f| f.v).unwrap_or(Value::Nil),
                };
                Ok(Val::untyped(Value::Bool(items.iter().any(|v| v.as_str() == want.as_str()))))
            }
            other => {
                // A value taken out of a map or slice has the static type `interface {}`.
                let typ = if receiver.typed { "interface {}".to_owned() } else { other.type_name() };
                Err(self.errorf(format!("can't evaluate field {name} in type {typ}")))
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_function(
        &mut self,
        dot: &Val,
        node: &'t Arg,
        name: &str,
        callee: &'t Callee,
        cmd: Option<&'t Command>,
        args: &'t [Arg],
        final_: Option<Val>,
    ) -> R<Val> {
        self.at(At::Arg(node));
        self.check_deadline()?;
        let call_node = match cmd {
            Some(c) => At::Cmd(c),
            None => At::Arg(node),
        };
        let args = if args.is_empty() { args } else { &args[1..] };
        let num_in = args.len() + usize::from(final_.is_some());
        match &callee.0 {
            CalleeKind::Func(index) => {
                let funcs = self.sh.funcs.clone();
                let Some(f) = funcs.by_index(*index) else {
                    return Err(self.errorf(format!("function {} not in the set it was parsed for", go_quote(name))));
                };
                let sig = f.signature;
                let num_fixed = sig.params.len();
                if sig.variadic.is_some() {
                    if num_in < num_fixed {
                        return Err(self.errorf(format!(
                            "wrong number of args for {name}: want at least {num_fixed} got {}",
                            args.len()
                        )));
                    }
                } else if num_in != num_fixed {
                    return Err(self.errorf(format!("wrong number of args for {name}: want {num_fixed} got {num_in}")));
                }
                let mut argv = Vec::with_capacity(num_in);
                for (i, a) in args.iter().enumerate() {
                    let p = if i < num_fixed { sig.params[i] } else { sig.variadic.unwrap_or(Param::Any) };
                    argv.push(self.eval_arg(dot, Some(p), a)?.v);
                }
                if let Some(f) = final_ {
                    let p = if num_in - 1 < num_fixed {
                        sig.params[num_in - 1]
                    } else {
                        sig.variadic.unwrap_or(Param::Any)
                    };
                    argv.push(self.validate_type(f, Some(p))?.v);
                }
                let mut host = ExecHost { sh: &mut *self.sh, current: &self.tree.name };
                let res = (f.body)(&mut host, &argv);
                match res {
                    Ok(v) => {
                        self.charge(v.shallow_size())?;
                        Ok(Val::typed(v))
                    }
                    Err(e) => {
                        self.at(call_node);
                        Err(self.errorf(format!("error calling {name}: {e}")))
                    }
                }
            }
            CalleeKind::Builtin(b) => {
                let (fixed, variadic) = b.arity;
                if variadic {
                    if num_in < fixed {
                        return Err(self.errorf(format!(
                            "wrong number of args for {name}: want at least {fixed} got {}",
                            args.len()
                        )));
                    }
                } else if num_in != fixed {
                    return Err(self.errorf(format!("wrong number of args for {name}: want {fixed} got {num_in}")));
                }
                if name == "and" || name == "or" {
                    let mut v = Val::untyped(Value::Nil);
                    for a in args {
                        v = self.eval_arg(dot, None, a)?;
                        if v.v.truthy() == (name == "or") {
                            return Ok(v);
                        }
                    }
                    if let Some(f) = final_ {
                        v = f;
                    }
                    return Ok(v);
                }
                let mut argv = Vec::with_capacity(num_in);
                for (i, a) in args.iter().enumerate() {
                    let p = b.params.get(i).copied().unwrap_or(b.rest);
                    argv.push(self.eval_builtin_arg(dot, p, a)?);
                }
                if let Some(f) = final_ {
                    argv.push(f);
                }
                if name == "call" {
                    return self.call_builtin(call_node, args, argv);
                }
                let vals: Vec<(Value, bool)> = argv.into_iter().map(|v| (v.v, v.typed)).collect();
                match (b.body)(&vals) {
                    Ok(v) => {
                        self.charge(v.shallow_size())?;
                        Ok(Val::untyped(v))
                    }
                    Err(e) => {
                        self.at(call_node);
                        Err(self.errorf(format!("error calling {name}: {e}")))
                    }
                }
            }
        }
    }

    fn call_builtin(&mut self, call_node: At<'t>, args: &'t [Arg], argv: Vec<Val>) -> R<Val> {
        // Values are never functions here, so `call` always fails, with Go's words.
        let callee = args.first().map(|a| a.to_string()).unwrap_or_default();
        self.at(call_node);
        match argv.first().map(|v| &v.v) {
            None | Some(Value::Nil) => Err(self.errorf("error calling call: call of nil")),
            Some(v) => Err(self.errorf(format!("error calling call: non-function {callee} of type {}", v.type_name()))),
        }
    }

    fn eval_builtin_arg(&mut self, dot: &Val, p: builtins::BParam, a: &'t Arg) -> R<Val> {
        match p {
            builtins::BParam::Value => self.eval_arg(dot, None, a),
            builtins::BParam::Str => self.eval_arg(dot, Some(Param::String), a),
            builtins::BParam::Any => {
                let v = self.eval_arg(dot, Some(Param::Any), a)?;
                Ok(v)
            }
        }
    }

    /// Go's `evalArg`: evaluates an argument for a parameter of type `typ` (`None` for
    /// `reflect.Value` parameters, which take anything).
    fn eval_arg(&mut self, dot: &Val, typ: Option<Param>, n: &'t Arg) -> R<Val> {
        self.at(At::Arg(n));
        match n {
            Arg::Dot(_) => return self.validate_type(dot.clone(), typ),
            Arg::Nil(_) => {
                return match typ {
                    None | Some(Param::Any) => Ok(Val::untyped(Value::Nil)),
                    Some(p @ (Param::Bytes | Param::List | Param::StringList | Param::Map)) => {
                        Ok(Val::untyped(zero_of(p)))
                    }
                    Some(p) => Err(self.errorf(format!("cannot assign nil to {}", p.go_name()))),
                };
            }
            Arg::Field(_, idents) => {
                let v = self.eval_field_chain(dot, dot.clone(), n, idents.as_str(), std::slice::from_ref(n), None)?;
                return self.validate_type(v, typ);
            }
            Arg::Variable(_, idents) => {
                let v = self.eval_variable(dot, n, idents.as_str(), &[], None)?;
                return self.validate_type(v, typ);
            }
            Arg::Pipe(p) => {
                let v = self.eval_pipeline(dot, p)?;
                return self.validate_type(Val::untyped(v), typ);
            }
            Arg::Identifier(_, name, callee) => {
                let v = self.eval_function(dot, n, name.as_str(), callee, None, std::slice::from_ref(n), None)?;
                return self.validate_type(v, typ);
            }
            Arg::Chain(_, node, fields) => {
                if let Arg::Nil(_) = **node {
                    return Err(self.errorf(format!("indirection through explicit nil in {n}")));
                }
                let pipe = self.eval_arg(dot, None, node)?;
                let v = self.eval_field_chain(dot, pipe, n, fields.as_str(), &[], None)?;
                return self.validate_type(v, typ);
            }
            _ => {}
        }
        let Some(p) = typ else {
            return self.eval_empty_interface(dot, n);
        };
        match p {
            Param::Any => self.eval_empty_interface(dot, n),
            Param::Bool => match n {
                Arg::Bool(_, b) => Ok(Val::untyped(Value::Bool(*b))),
                _ => Err(self.errorf(format!("expected bool; found {n}"))),
            },
            Param::String => match n {
                Arg::String(_, _, i) => Ok(Val::untyped(Value::String(self.tree.strings[*i].clone()))),
                _ => Err(self.errorf(format!("expected string; found {n}"))),
            },
            Param::Int | Param::Int64 => match n {
                Arg::Number(_, num) if num.int.is_some() => {
                    let i = num.int.unwrap_or_default();
                    Ok(Val::untyped(if p == Param::Int { Value::Int(i) } else { Value::Int64(i) }))
                }
                _ => Err(self.errorf(format!("expected integer; found {n}"))),
            },
            Param::Float64 => match n {
                Arg::Number(_, num) if num.float.is_some() => {
                    Ok(Val::untyped(Value::Float(num.float.unwrap_or_default())))
                }
                _ => Err(self.errorf(format!("expected float; found {n}"))),
            },
            Param::Bytes | Param::List | Param::StringList | Param::Map => {
                Err(self.errorf(format!("can't handle {n} for arg of type {}", p.go_name())))
            }
        }
    }

    fn eval_empty_interface(&mut self, dot: &Val, n: &'t Arg) -> R<Val> {
        self.at(At::Arg(n));
        match n {
            Arg::Bool(_, b) => Ok(Val::untyped(Value::Bool(*b))),
            Arg::Dot(_) => Ok(dot.clone()),
            Arg::Number(_, num) => Ok(Val::untyped(self.ideal_constant(num)?)),
            Arg::String(_, _, i) => Ok(Val::untyped(Value::String(self.tree.strings[*i].clone()))),
            Arg::Nil(_) => Err(self.errorf("evalEmptyInterface: nil (can't happen)")),
            _ => Err(self.errorf(format!("can't handle assignment of {n} to empty interface argument"))),
        }
    }

    /// Go's `validateType`.
    fn validate_type(&self, value: Val, typ: Option<Param>) -> R<Val> {
        let Some(p) = typ else { return Ok(value) };
        if p == Param::Any {
            return Ok(value);
        }
        if let Value::Nil = value.v {
            if value.typed {
                return Err(self.errorf(format!("wrong type for value; expected {}; got interface {{}}", p.go_name())));
            }
            return match p {
                Param::Bytes | Param::List | Param::StringList | Param::Map => Ok(Val::untyped(zero_of(p))),
                _ => Err(self.errorf(format!("invalid value; expected {}", p.go_name()))),
            };
        }
        let ok = matches!(
            (p, &value.v),
            (Param::String, Value::String(_))
                | (Param::Int, Value::Int(_))
                | (Param::Int64, Value::Int64(_))
                | (Param::Float64, Value::Float(_))
                | (Param::Bool, Value::Bool(_))
                | (Param::Bytes, Value::Bytes(_))
                | (Param::List, Value::List(_, ListType::Interface))
                | (Param::StringList, Value::List(_, ListType::String | ListType::VersionSet))
                | (Param::Map, Value::Map(_, MapType::Interface | MapType::Values))
        );
        if ok {
            return Ok(value);
        }
        Err(self.errorf(format!("wrong type for value; expected {}; got {}", p.go_name(), value.v.type_name())))
    }
}

fn zero_of(p: Param) -> Value {
    match p {
        Param::Bytes => Value::Bytes(Rc::from(&[][..])),
        Param::List => Value::List(Rc::from(&[][..]), ListType::Interface),
        Param::StringList => Value::List(Rc::from(&[][..]), ListType::String),
        Param::Map => Value::empty_map(),
        _ => Value::Nil,
    }
}

/// The [`Host`] a function gets: renders templates of the running set.
pub(crate) struct ExecHost<'a> {
    pub sh: &'a mut Shared,
    pub current: &'a str,
}

impl ExecHost<'_> {
    fn render(&mut self, tree: &Rc<Tree>, data: Value) -> Result<String, FuncError> {
        if self.sh.depth >= self.sh.opts.max_template_depth {
            return Err(FuncError::new(format!(
                "exceeded maximum template depth ({})",
                self.sh.opts.max_template_depth
            )));
        }
        let saved = std::mem::take(&mut self.sh.out);
        self.sh.depth += 1;
        let res = stacker::maybe_grow(RED_ZONE, STACK_GROWTH, || execute(self.sh, tree, data));
        self.sh.depth -= 1;
        let out = std::mem::replace(&mut self.sh.out, saved);
        match res {
            Ok(()) => Ok(out),
            Err(e) => Err(FuncError::new(e.to_string())),
        }
    }
}

impl Host for ExecHost<'_> {
    fn execute_template(&mut self, name: &str, data: Value) -> Result<String, FuncError> {
        let Some(tree) = self.sh.lookup(name) else {
            return Err(FuncError::new(format!(
                "template: no template {} associated with template {}",
                go_quote(name),
                go_quote(&self.sh.set_name)
            )));
        };
        self.render(&tree, data)
    }

    fn execute_text(&mut self, name: &str, text: &str, data: Value) -> Result<String, FuncError> {
        let trees = self.sh.parse_tpl(name, text)?;
        let Some(top) = trees.first().cloned() else { return Ok(String::new()) };
        let mut pushed: Vec<Rc<str>> = Vec::new();
        for t in trees.iter() {
            // Go's `associate`: an empty definition does not replace an existing template.
            if t.is_empty() && self.sh.lookup(&t.name).is_some() {
                continue;
            }
            let name: Rc<str> = Rc::from(t.name.as_str());
            self.sh.layers.entry(name.clone()).or_default().push(t.clone());
            pushed.push(name);
        }
        let res = self.render(&top, data);
        for name in pushed {
            if let Some(stack) = self.sh.layers.get_mut(&name) {
                stack.pop();
                if stack.is_empty() {
                    self.sh.layers.remove(&name);
                }
            }
        }
        res
    }

    fn current_template(&self) -> &str {
        self.current
    }
}
