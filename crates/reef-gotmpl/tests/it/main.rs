//! The engine against Go: each case in `cases.rs` is a template whose output (or error) was
//! printed by `helm template` (Helm 4.2.3, Go 1.26) for a chart with the values in
//! [`values`], the template at `hc/templates/x.yaml` and, after a `~~~~` line, a
//! `hc/templates/_helpers.tpl`. Helm reformats some errors; the expected strings are Go's
//! own text, rebuilt from Helm's. The functions Sprig would provide are stand-ins here with
//! Sprig's Go signatures, so argument checking is exercised as Go does it. Helm drops null
//! values and trailing whitespace; the comparison does the same.

mod cases;
mod fuzz;

use reef_gotmpl::{Error, FuncError, FuncMap, Options, Param, Signature, Templates, Value};

fn values() -> Value {
    let f = Value::Float;
    let s = Value::string;
    let map = |entries: Vec<(&str, Value)>| Value::map(entries.into_iter().map(|(k, v)| (k.to_owned(), v)));
    let v = map(vec![
        ("name", s("web")),
        ("replicas", f(3.0)),
        ("ratio", f(0.5)),
        ("list", Value::list([s("a"), s("b"), s("c")])),
        ("nums", Value::list([f(1.0), f(2.0), f(3.0)])),
        ("m", map(vec![("b", f(2.0)), ("a", f(1.0))])),
        ("empty", s("")),
        ("nested", map(vec![("x", map(vec![("z", s("deep"))]))])),
        ("flag", Value::Bool(true)),
        ("objs", Value::list([map(vec![("nm", s("one"))]), map(vec![("nm", s("two"))])])),
    ]);
    let v = match v {
        Value::Map(ref m, _) => Value::Map(m.clone(), reef_gotmpl::MapType::Values),
        other => other,
    };
    map(vec![("Values", v)])
}

fn str_arg(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        other => reef_gotmpl::format::sprint(other),
    }
}

/// Stand-ins for the Sprig and Helm functions the cases use, with their Go signatures.
fn funcs() -> FuncMap {
    let mut f = FuncMap::new();
    f.add("upper", Signature::fixed(&[Param::String]), |a| Ok(Value::from(str_arg(&a[0]).to_uppercase())));
    f.add("list", Signature::variadic(&[], Param::Any), |a| Ok(Value::list(a.iter().cloned())));
    f.add("splitList", Signature::fixed(&[Param::String, Param::String]), |a| {
        Ok(Value::string_list(str_arg(&a[1]).split(&str_arg(&a[0])).collect::<Vec<_>>()))
    });
    f.add("quote", Signature::variadic(&[], Param::Any), |a| {
        let parts: Vec<String> =
            a.iter().filter(|v| !v.is_nil()).map(|v| reef_gotmpl::format::go_quote(&str_arg(v))).collect();
        Ok(Value::from(parts.join(" ")))
    });
    f.add("repeat", Signature::fixed(&[Param::Int, Param::String]), |a| match a[0] {
        Value::Int(n) if n < 0 => Err(FuncError::new("strings: negative Repeat count")),
        Value::Int(n) => Ok(Value::from(str_arg(&a[1]).repeat(n as usize))),
        _ => Err(FuncError::new("not an int")),
    });
    f.add_with_host("include", Signature::fixed(&[Param::String, Param::Any]), |host, a| {
        host.execute_template(&str_arg(&a[0]), a[1].clone()).map(Value::from)
    });
    f.add_with_host("tpl", Signature::fixed(&[Param::String, Param::Any]), |host, a| {
        let text = str_arg(&a[0]);
        match host.execute_text("gotpl", &text, a[1].clone()) {
            Ok(out) => Ok(Value::from(out.replace("<no value>", ""))),
            Err(e) => Err(FuncError::new(format!(
                "error during tpl function execution for {}: {e}",
                reef_gotmpl::format::go_quote(&text)
            ))),
        }
    });
    f
}

/// Parses the case's files as Helm does and renders `x.yaml`, with Helm's removal of
/// `<no value>`.
fn render(case: &str, opts: Options) -> Result<String, Error> {
    let (main, helpers) = match case.split_once("\n~~~~\n") {
        Some((m, h)) => (m, Some(h)),
        None => (case, None),
    };
    let mut t = Templates::with_options(funcs(), opts);
    if let Some(h) = helpers {
        t.add("hc/templates/_helpers.tpl", h)?;
    }
    t.add("hc/templates/x.yaml", main)?;
    let out = t.execute("hc/templates/x.yaml", values())?;
    Ok(out.replace("<no value>", ""))
}

#[test]
fn every_case_renders_what_helm_renders() {
    let mut failures = Vec::new();
    for (template, want) in cases::CASES {
        // Helm prints each manifest without trailing whitespace.
        let got = render(template, Options::default()).map(|s| s.trim_end().to_owned()).map_err(|e| e.to_string());
        let want = want.map(str::to_owned).map_err(str::to_owned);
        if got != want {
            failures.push(format!("template: {template:?}\n  want: {want:?}\n   got: {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases differ:\n{}", failures.len(), cases::CASES.len(), failures.join("\n"));
}

#[test]
fn deep_template_recursion_stops_at_gos_limit_without_overflowing_the_stack() {
    let case = "{{ template \"r\" 0 }}\n~~~~\n{{ define \"r\" }}{{ template \"r\" . }}{{ end }}";
    let err = render(case, Options::default()).expect_err("recursion must fail");
    assert!(err.to_string().ends_with("exceeded maximum template depth (100000)"), "{err}");
}

#[test]
fn deep_include_recursion_returns_an_error() {
    let case = "{{ include \"r\" 0 }}\n~~~~\n{{ define \"r\" }}{{ include \"r\" . }}{{ end }}";
    let opts = Options { max_template_depth: 2000, ..Options::default() };
    let err = render(case, opts).expect_err("recursion must fail");
    assert!(err.to_string().ends_with("exceeded maximum template depth (2000)"), "{err}");
}

#[test]
fn output_beyond_the_limit_is_an_error() {
    let opts = Options { max_output_bytes: 1000, ..Options::default() };
    let err = render("{{ range 2000 }}x{{ end }}", opts).expect_err("too much output");
    assert!(err.to_string().contains("output exceeds the limit of 1000 bytes"), "{err}");
}

#[test]
fn range_iterations_beyond_the_limit_are_an_error() {
    let opts = Options { max_range_iterations: 10, ..Options::default() };
    assert_eq!(render("{{ range 10 }}{{ end }}", opts.clone()).as_deref(), Ok(""));
    let err = render("{{ range 11 }}{{ end }}", opts).expect_err("too many iterations");
    assert!(err.to_string().contains("range iterations exceed the limit of 10"), "{err}");
}

#[test]
fn a_later_define_replaces_an_earlier_one_across_files() {
    let mut t = Templates::new(funcs());
    t.add("a.tpl", "{{ define \"x\" }}first{{ end }}").expect("parses");
    t.add("b.tpl", "{{ define \"x\" }}second{{ end }}").expect("parses");
    t.add("main", "{{ template \"x\" }}").expect("parses");
    assert_eq!(t.execute("main", Value::Nil).as_deref(), Ok("second"));
    // An empty redefinition does not replace.
    t.add("c.tpl", "{{ define \"x\" }}  {{ end }}").expect("parses");
    assert_eq!(t.execute("main", Value::Nil).as_deref(), Ok("second"));
}

#[test]
fn maps_changed_by_a_function_are_seen_by_later_actions() {
    let mut f = funcs();
    f.add("set", Signature::fixed(&[Param::Map, Param::String, Param::Any]), |a| {
        if let Value::Map(m, _) = &a[0] {
            m.borrow_mut().insert(str_arg(&a[1]), a[2].clone());
        }
        Ok(a[0].clone())
    });
    let mut t = Templates::new(f);
    t.add("main", "{{ $_ := set .Values \"k\" \"v\" }}{{ .Values.k }}").expect("parses");
    assert_eq!(t.execute("main", values()).as_deref(), Ok("v"));
}

#[test]
fn int_is_not_assignable_to_an_int64_parameter() {
    let mut f = FuncMap::new();
    f.add("want64", Signature::fixed(&[Param::Int64]), |a| Ok(a[0].clone()));
    let mut t = Templates::new(f);
    t.add("main", "{{ want64 7 }} {{ $x := len \"ab\" }}{{ want64 $x }}").expect("parses");
    let err = t.execute("main", Value::Nil).expect_err("int to int64");
    assert_eq!(
        err.to_string(),
        "template: main:1:45: executing \"main\" at <$x>: wrong type for value; expected int64; got int"
    );
}

#[test]
fn missing_templates_are_named_as_go_names_them() {
    let t = Templates::new(FuncMap::new());
    assert_eq!(
        t.execute("nope", Value::Nil).map_err(|e| e.to_string()),
        Err("template: no template \"nope\" associated with template \"gotpl\"".to_owned())
    );
}

#[test]
fn deeply_nested_parentheses_and_blocks_do_not_overflow_the_stack() {
    // Go's limit for parentheses (maxStackDepth).
    let parens = format!("{{{{ {}1{} }}}}", "(".repeat(10_000), ")".repeat(10_000));
    assert_eq!(render(&parens, Options::default()).as_deref(), Ok("1"));
    let depth = 20_000;
    let ifs = format!("{}x{}", "{{ if 1 }}".repeat(depth), "{{ end }}".repeat(depth));
    assert_eq!(render(&ifs, Options::default()).as_deref(), Ok("x"));
}

#[test]
fn methods_and_fields_of_objects_are_called_as_go_calls_them() {
    #[derive(Debug)]
    struct Files;
    impl reef_gotmpl::Object for Files {
        fn type_name(&self) -> &str {
            "chart.Files"
        }
        fn field(&self, name: &str) -> Option<Value> {
            (name == "Count").then_some(Value::Int(2))
        }
        fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
            match name {
                "Get" => Some(match args {
                    [Value::String(p)] if &**p == "a.txt" => Ok(Value::string("A")),
                    [other] => Err(format!("no file {}", reef_gotmpl::format::sprint(other))),
                    _ => Err("wrong number of args".to_owned()),
                }),
                _ => None,
            }
        }
        fn display(&self) -> String {
            "files".to_owned()
        }
    }
    let data = Value::map([("Files".to_owned(), Value::Object(std::rc::Rc::new(Files)))]);
    let run = |text: &str| {
        let mut t = Templates::new(funcs());
        t.add("x", text).expect("parses");
        t.execute("x", data.clone()).map_err(|e| e.to_string())
    };
    assert_eq!(run("{{ .Files.Get \"a.txt\" }} {{ .Files.Count }} {{ .Files }}").as_deref(), Ok("A 2 files"));
    assert_eq!(run("{{ \"a.txt\" | .Files.Get }}").as_deref(), Ok("A"));
    assert_eq!(
        run("{{ .Files.Get \"b\" }}"),
        Err("template: x:1:9: executing \"x\" at <.Files.Get>: error calling Get: no file b".to_owned())
    );
    assert_eq!(
        run("{{ .Files.Nope }}"),
        Err("template: x:1:9: executing \"x\" at <.Files.Nope>: can't evaluate field Nope in type chart.Files"
            .to_owned())
    );
}

#[test]
fn map_like_objects_are_ranged_and_measured_like_maps() {
    #[derive(Debug)]
    struct Glob(Vec<(String, Value)>);
    impl reef_gotmpl::Object for Glob {
        fn type_name(&self) -> &str {
            "engine.files"
        }
        fn field(&self, _: &str) -> Option<Value> {
            None
        }
        fn entries(&self) -> Option<Vec<(String, Value)>> {
            Some(self.0.clone())
        }
        fn display(&self) -> String {
            "files".to_owned()
        }
    }
    let run = |entries: Vec<(String, Value)>| {
        let data = Value::map([("G".to_owned(), Value::Object(std::rc::Rc::new(Glob(entries))))]);
        let mut t = Templates::new(funcs());
        t.add("x", "{{ len .G }}:{{ range $k, $v := .G }}[{{ $k }}={{ $v }}]{{ else }}none{{ end }}").expect("parses");
        t.execute("x", data).map_err(|e| e.to_string())
    };
    let two = vec![("a.txt".to_owned(), Value::string("A")), ("b.txt".to_owned(), Value::string("B"))];
    assert_eq!(run(two).as_deref(), Ok("2:[a.txt=A][b.txt=B]"));
    assert_eq!(run(Vec::new()).as_deref(), Ok("0:none"));
}

/// Text to make a file large enough that [`Templates::add_all`] parses on several threads.
fn padding(kib: usize) -> String {
    "# some text a template prints as it is\n".repeat(kib * 1024 / 40)
}

#[test]
fn adding_files_together_is_adding_them_one_by_one_in_order() {
    let files = [
        ("a", format!("{}{{{{ define \"x\" }}}}A{{{{ end }}}}", padding(300))),
        ("b", format!("{{{{ define \"x\" }}}}B{{{{ end }}}}{}", padding(200))),
        // An empty definition does not replace a template.
        ("c", format!("{{{{ define \"x\" }}}}{{{{ end }}}}{}", padding(100))),
        ("main", format!("{{{{ template \"x\" }}}}{}", padding(250))),
    ];
    let refs: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
    let mut together = Templates::new(FuncMap::new());
    together.add_all(&refs).expect("parses");
    let mut one_by_one = Templates::new(FuncMap::new());
    for (name, text) in &refs {
        one_by_one.add(name, text).expect("parses");
    }
    let out = together.execute("main", Value::Nil).expect("renders");
    assert!(out.starts_with("B#"), "{}", &out[..10]);
    assert_eq!(out, one_by_one.execute("main", Value::Nil).expect("renders"));
    assert_eq!(together.names(), one_by_one.names());
}

#[test]
fn the_error_of_files_added_together_is_the_first_failing_files() {
    let big = padding(400);
    let files = [
        ("a", big.clone()),
        ("b", format!("{big}{{{{ if }}}}")),
        ("c", big.clone()),
        ("d", format!("{big}{big}{{{{ nope }}}}")),
    ];
    let refs: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
    let err = Templates::new(FuncMap::new()).add_all(&refs).expect_err("b does not parse");
    assert_eq!(err.to_string(), format!("template: b:{}: missing value for if", big.lines().count() + 1));
}

#[test]
fn deep_templates_parse_and_run_on_any_parsing_thread() {
    let depth = 20_000;
    let deep = format!("{}x{}", "{{ if 1 }}".repeat(depth), "{{ end }}".repeat(depth));
    // The deep file is not the largest, so another thread than the caller's parses it.
    let files = [("pad", padding(2048)), ("deep", deep)];
    let refs: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
    let mut t = Templates::new(FuncMap::new());
    t.add_all(&refs).expect("parses");
    assert_eq!(t.execute("deep", Value::Nil).as_deref(), Ok("x"));
}
