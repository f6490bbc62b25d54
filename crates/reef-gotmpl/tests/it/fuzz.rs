//! Fuzzing the parser and the executor with proptest: arbitrary text, templates built from
//! the language's pieces, and mutations of real chart templates, executed with every Sprig,
//! YAML and Helm function against varied data. Each case must end with `Ok` or `Err` (never
//! a panic) within a time bound. Hostile templates (unbounded recursion, huge counts and
//! widths, exponential growth) are explicit tests that must fail quickly, or produce bounded
//! output, with bounded memory.
//!
//! `PROPTEST_CASES` raises the number of generated cases (default [`DEFAULT_CASES`]); a
//! failing case is printed shrunk, and its minimal template becomes an explicit regression
//! test below.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reef_gotmpl::helm::{Capabilities, Files, KubeVersion, Release};
use reef_gotmpl::{FuncMap, MapType, Options, Templates, Value};

/// Generated cases of the slowest property when `PROPTEST_CASES` is not set; the faster
/// properties run a multiple of it.
const DEFAULT_CASES: u32 = 100;

/// Longest time one generated case may take (parse and render every template of it).
const CASE_TIME: Duration = Duration::from_secs(2);

/// Limits for generated cases: small enough that a case that loops to a limit still ends
/// within [`CASE_TIME`] in an unoptimised build.
fn fuzz_options() -> Options {
    Options {
        max_template_depth: 200,
        max_output_bytes: 1 << 20,
        max_range_iterations: 20_000,
        max_built_bytes: 16 << 20,
        max_duration: Some(CASE_TIME),
    }
}

/// Every function a chart can call: Sprig's, the codecs' and Helm's, as `helm template` has them.
fn chart_funcs() -> FuncMap {
    let mut funcs = reef_gotmpl::sprig::functions();
    funcs.extend(reef_gotmpl::yaml::functions());
    funcs.extend(reef_gotmpl::helm::functions(None));
    funcs
}

/// `PROPTEST_CASES` (or [`DEFAULT_CASES`]) times `scale` cases. Failures are not persisted:
/// a failing case is printed shrunk, and becomes an explicit test.
fn config(scale: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_CASES);
    Config {
        cases: cases.saturating_mul(scale),
        failure_persistence: None,
        max_shrink_iters: 2000,
        ..Config::default()
    }
}

fn run<S: Strategy>(scale: u32, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let mut runner = TestRunner::new(config(scale));
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{e}");
    }
}

/// Parses `files` into one set (as Helm adds a chart's templates) and renders each of them
/// with `data`, within [`CASE_TIME`]. Errors are fine; panics and hangs are not.
fn parse_and_render(files: &[(&str, &str)], data: &Value, opts: &Options) -> Result<(), TestCaseError> {
    let start = Instant::now();
    let mut set = Templates::with_options(chart_funcs(), opts.clone());
    for (name, text) in files {
        let _ = set.add(name, text);
    }
    let names: Vec<String> = set.names().into_iter().map(str::to_owned).collect();
    for name in &names {
        if let Ok(out) = set.execute(name, data.clone()) {
            prop_assert!(out.len() <= opts.max_output_bytes, "{} bytes of output", out.len());
        }
        let _ = set.execute_text("gotpl", files[0].1, data.clone());
    }
    let took = start.elapsed();
    prop_assert!(took < CASE_TIME, "took {took:?}");
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Data

fn map_of(entries: Vec<(String, Value)>, mt: MapType) -> Value {
    let map: std::collections::BTreeMap<String, Value> = entries.into_iter().collect();
    Value::Map(std::rc::Rc::new(std::cell::RefCell::new(map)), mt)
}

fn leaf_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Nil),
        any::<bool>().prop_map(Value::Bool),
        prop_oneof![Just(0i64), Just(-1), Just(i64::MAX), Just(i64::MIN), -5i64..100].prop_map(Value::Int),
        prop_oneof![Just(i64::MAX), -3i64..3].prop_map(Value::Int64),
        prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(1e300), Just(-0.0), Just(2.5), Just(3.0)]
            .prop_map(Value::Float),
        prop_oneof![
            Just(String::new()),
            "[a-z]{1,8}",
            Just("{{ . }}".to_owned()),
            Just("{{ tpl . $ }}".to_owned()),
            Just("a: [1, {b: *x}]".to_owned()),
            Just("{\"a\": [1, 2]}".to_owned()),
            Just("(a+)+$".to_owned()),
            Just("\u{0}\u{fffd}é\t\n".to_owned()),
        ]
        .prop_map(Value::string),
        prop::collection::vec(any::<u8>(), 0..6).prop_map(|b| Value::Bytes(b.into())),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![Just("a"), Just("b"), Just("name"), Just("Values"), Just(""), Just("x.y")].prop_map(str::to_owned)
}

fn value() -> impl Strategy<Value = Value> {
    leaf_value().prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::list),
            prop::collection::vec((key(), inner), 0..4).prop_map(|e| map_of(e, MapType::Interface)),
        ]
    })
}

/// Dot as Helm builds it: values, release, chart, capabilities, files, template, plus
/// arbitrary top-level entries.
fn data() -> impl Strategy<Value = Value> {
    (value(), value()).prop_map(|(values, extra)| {
        let files = Files::new([
            ("files/a.txt".to_owned(), b"a: 1\n".to_vec()),
            ("files/b.yaml".to_owned(), b"{{ .Values }}".to_vec()),
            ("files/empty".to_owned(), Vec::new()),
        ]);
        let release = Release { name: "rel".into(), namespace: "ns".into(), is_upgrade: false, revision: 1 };
        map_of(
            vec![
                (
                    "Values".to_owned(),
                    match values {
                        Value::Map(ref m, _) => Value::Map(m.clone(), MapType::Values),
                        other => other,
                    },
                ),
                ("Release".to_owned(), release.value()),
                (
                    "Capabilities".to_owned(),
                    Value::Object(std::rc::Rc::new(Capabilities::new(KubeVersion::helm_default(), &[]))),
                ),
                ("Files".to_owned(), Value::Object(std::rc::Rc::new(files))),
                ("Template".to_owned(), reef_gotmpl::helm::template_value("c/templates/x.yaml", "c/templates")),
                ("a".to_owned(), extra),
            ],
            MapType::Values,
        )
    })
}

// ---------------------------------------------------------------------------------------
// Templates from the language's pieces

/// Functions the generator calls. The key generators (`genPrivateKey`, `genCA`, ...) and
/// `htpasswd` are left out: each call takes long by design; [`hostile`] covers them.
fn function_names() -> Vec<String> {
    const SLOW: &[&str] = &[
        "genPrivateKey",
        "genCA",
        "genCAWithKey",
        "genSelfSignedCert",
        "genSelfSignedCertWithKey",
        "genSignedCert",
        "genSignedCertWithKey",
        "htpasswd",
        "derivePassword",
        "bcrypt",
    ];
    let funcs = chart_funcs();
    let mut names: Vec<String> = funcs.names().into_iter().filter(|n| !SLOW.contains(n)).map(str::to_owned).collect();
    for builtin in [
        "and", "or", "not", "len", "index", "slice", "print", "printf", "println", "eq", "ne", "lt", "le", "gt", "ge",
        "html", "js", "urlquery", "call",
    ] {
        names.push(builtin.to_owned());
    }
    names
}

fn literal() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "0",
            "1",
            "-1",
            "3",
            "1000000000",
            "9223372036854775807",
            "-9223372036854775808",
            "99999999999999999999",
            "1.5",
            "1e9",
            "1e400",
            "0x1F",
            "0X_1",
            "0b101",
            "0o17",
            "017",
            "1_000",
            "0x",
            "1e",
            "1.e5",
            ".5",
            "+3",
            "1i",
            "0x1p-2",
            "'a'",
            "'\\n'",
            "'\\x41'",
            "'\\u00e9'",
            "'ab'",
            "''",
            "'",
            "'\\'",
            "true",
            "false",
            "nil",
            "\"\"",
            "\"a\"",
            "\"\\n\\t\\\"\"",
            "\"\\x4\"",
            "\"\\q\"",
            "\"\\u12\"",
            "\"unterminated",
            "`raw\nline`",
            "`unterminated",
            "\"%0999999999d\"",
            "\"%v %s %d %q %x %T %!\"",
            "\"%*d\"",
            "\"%[3]*.[2]*[1]f\"",
            "\"{{ . }}\"",
            "\"{{ include \\\"a\\\" . }}\"",
            "\"a\"",
            "\"b\"",
            "\"main\"",
        ])
        .prop_map(str::to_owned),
        "[ -~]{0,6}".prop_map(|s| format!("{s:?}")),
    ]
}

fn operand() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => literal(),
        2 => prop::sample::select(vec![
            ".", ".Values", ".Values.a", ".Values.a.b", ".a", ".a.a.a", ".Release.Name", ".Capabilities.KubeVersion",
            ".Capabilities.APIVersions.Has", ".Files.Get", ".Files.Glob", ".Files.AsConfig", ".Template.Name",
            "$", "$.Values", "$x", "$x.a", "$y", "$i", "$undefined", ".Values.nope.b", "..", ".1", "$x.", ". a",
        ])
        .prop_map(str::to_owned),
        2 => prop::sample::select(function_names()),
    ]
}

fn pipeline() -> impl Strategy<Value = String> {
    let command = prop::collection::vec(operand(), 1..4).prop_map(|v| v.join(" "));
    let leaf = prop::collection::vec(command, 1..3).prop_map(|v| v.join(" | "));
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            (prop::sample::select(function_names()), inner.clone(), operand())
                .prop_map(|(f, p, o)| format!("{f} ({p}) {o}")),
            (inner.clone(), prop::sample::select(vec!["", ".a", ".Values.b", ".x.y"]))
                .prop_map(|(p, f)| format!("({p}){f}")),
            (inner.clone(), prop::sample::select(function_names())).prop_map(|(p, f)| format!("{p} | {f}")),
            (prop::sample::select(vec!["$x := ", "$x = ", "$y := ", "$i, $x := ", "$_ := ", "$x, $y = "]), inner)
                .prop_map(|(d, p)| format!("{d}{p}")),
        ]
    })
}

fn open() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["{{", "{{ ", "{{- ", "{{-", "{{  "])
}

fn close() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["}}", " }}", " -}}", "-}}", "  }}"])
}

fn action(inner: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    (open(), inner, close()).prop_map(|(o, s, c)| format!("{o}{s}{c}"))
}

/// A piece of template text: the top-level nodes, balanced or not.
fn node() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        3 => "[a-z \n:-]{0,6}",
        4 => action(pipeline()),
        1 => prop::sample::select(vec![
            "{{/* c */}}", "{{- /* c */ -}}", "{{/* c", "{{/*c*/}}", "{{ /* c */ }}", "{{", "}}", "{{ }}",
            "{{end}}", "{{ else }}", "{{ break }}", "{{ continue }}", "{{ ( }}", "{{ | }}", "{{ ) }}",
            "{{ $x := 1 }}", "{{ $x = 2 }}", "{{ define }}", "{{ template }}", "{{ .Values.a.b.c }}",
            "{{ \"a\" | printf \"%s-%s\" \"b\" }}", "{{ if }}", "{{ range }}", "{{ else if }}", "{{ with $x := . }}",
            "{{ block \"a\" }}", "{{ define \"a\" }}", "{{-3}}", "{{3 -}}", "{{- 3-}}", "{{ 'x }}", "{{ \"x }}",
            "\u{0}", "é", "{{ \u{3000} }}", "{{ nil }}", "{{ . nil }}", "{{ $ := 1 }}",
        ])
        .prop_map(str::to_owned),
    ];
    leaf.prop_recursive(4, 40, 4, |inner| {
        let body = prop::collection::vec(inner, 0..4).prop_map(|v| v.concat());
        let name = prop::sample::select(vec!["\"a\"", "\"b\"", "\"main\"", "\"\"", "`a`"]);
        prop_oneof![
            (
                prop::sample::select(vec!["if", "with", "range", "else if", "else with"]),
                pipeline(),
                body.clone(),
                body.clone()
            )
                .prop_map(|(k, p, a, b)| format!("{{{{{k} {p}}}}}{a}{{{{else}}}}{b}{{{{end}}}}")),
            (prop::sample::select(vec!["if", "with", "range"]), pipeline(), body.clone())
                .prop_map(|(k, p, a)| format!("{{{{ {k} {p} }}}}{a}{{{{ end }}}}")),
            (pipeline(), body.clone(), body.clone()).prop_map(|(p, a, b)| {
                format!(
                    "{{{{range $i, $x := {p}}}}}{a}{{{{if $i}}}}{{{{break}}}}{{{{end}}}}{{{{continue}}}}{b}{{{{end}}}}"
                )
            }),
            (name.clone(), body.clone()).prop_map(|(n, b)| format!("{{{{define {n}}}}}{b}{{{{end}}}}")),
            (name.clone(), pipeline(), body.clone())
                .prop_map(|(n, p, b)| format!("{{{{block {n} {p}}}}}{b}{{{{end}}}}")),
            (name.clone(), prop::option::of(pipeline())).prop_map(|(n, p)| match p {
                Some(p) => format!("{{{{template {n} {p}}}}}"),
                None => format!("{{{{template {n}}}}}"),
            }),
            (name.clone(), operand()).prop_map(|(n, o)| format!("{{{{ include {n} {o} }}}}")),
            (name, body.clone())
                .prop_map(|(n, b)| format!("{{{{ tpl {:?} . }}}}{{{{ include {n} . | nindent 2 }}}}", b)),
            body,
        ]
    })
}

fn template() -> impl Strategy<Value = String> {
    prop::collection::vec(node(), 1..6).prop_map(|v| v.concat())
}

// ---------------------------------------------------------------------------------------
// Real templates, mutated

/// Small templates of the kind public charts have.
const REAL: &[&str] = &[
    r#"{{- define "c.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- define "c.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}
{{- define "c.labels" -}}
app.kubernetes.io/name: {{ include "c.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- with .Values.labels }}
{{ toYaml . }}
{{- end }}
{{- end }}"#,
    r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "c.fullname" . }}
  labels:
    {{- include "c.labels" . | nindent 4 }}
spec:
  {{- if not .Values.autoscaling }}
  replicas: {{ .Values.replicaCount | default 1 }}
  {{- end }}
  template:
    spec:
      containers:
        - name: {{ .Chart.Name }}
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default "latest" }}"
          {{- with .Values.env }}
          env:
            {{- range $k, $v := . }}
            - name: {{ $k | upper | quote }}
              value: {{ tpl (toString $v) $ | quote }}
            {{- end }}
          {{- end }}
          resources: {{- toYaml .Values.resources | nindent 12 }}"#,
    r#"{{- $root := . -}}
{{- range $i, $e := until (int (default 3 .Values.count)) }}
---
kind: ConfigMap
metadata:
  name: {{ printf "%s-%d" $root.Release.Name $i }}
data:
  {{- $files := $root.Files.Glob "files/*" }}
  {{- range $path, $_ := $files }}
  {{ base $path }}: {{ $root.Files.Get $path | b64enc | quote }}
  {{- end }}
  sum: {{ toJson $root.Values | sha256sum | substr 0 8 }}
{{- end }}"#,
    r#"{{- if and .Values.ingress .Values.ingress.enabled -}}
{{- $hosts := .Values.ingress.hosts | default (list "a.example") -}}
{{- $d := dict "hosts" $hosts "tls" (.Values.ingress.tls | default list) -}}
{{- $_ := set $d "merged" (merge (dict) .Values (dict "x" 1)) -}}
{{ $d | toYaml }}
{{ fromYaml (toYaml $d) | toJson }}
{{ regexReplaceAll "[^a-z]+" (join "," $hosts) "-" }}
{{ semverCompare ">=1.19-0" .Capabilities.KubeVersion.GitVersion }}
{{- end }}"#,
];

/// Fragments a mutation inserts.
const FRAGMENTS: &[&str] = &[
    "{{",
    "}}",
    "{{-",
    "-}}",
    "{{ end }}",
    "{{ else }}",
    "|",
    "(",
    ")",
    "\"",
    "'",
    "`",
    "$",
    ".",
    ":=",
    "=",
    " ",
    "\n",
    "/*",
    "*/",
    "include \"c.fullname\" .",
    "tpl",
    "range",
    "if",
    "define \"c.name\"",
    "9999999999",
    "repeat 100000",
    "nindent 1000",
    "toYaml",
    "$root",
    "..",
    ",",
];

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize, usize),
    Insert(usize, &'static str),
    Duplicate(usize, usize),
    Swap(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1usize..20).prop_map(|(at, n)| Mutation::Delete(at, n)),
        (any::<usize>(), prop::sample::select(FRAGMENTS)).prop_map(|(at, f)| Mutation::Insert(at, f)),
        (any::<usize>(), 1usize..40).prop_map(|(at, n)| Mutation::Duplicate(at, n)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::Swap(a, b)),
    ]
}

fn mutate(text: &str, mutations: &[Mutation]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for m in mutations {
        let len = chars.len().max(1);
        match *m {
            Mutation::Delete(at, n) => {
                let at = at % len;
                let end = (at + n).min(chars.len());
                if at < end {
                    chars.drain(at..end);
                }
            }
            Mutation::Insert(at, f) => {
                let at = at % (chars.len() + 1);
                chars.splice(at..at, f.chars());
            }
            Mutation::Duplicate(at, n) => {
                let at = at % len;
                let end = (at + n).min(chars.len());
                let piece: Vec<char> = chars.get(at..end).map(<[char]>::to_vec).unwrap_or_default();
                chars.splice(at..at, piece);
            }
            Mutation::Swap(a, b) => {
                if !chars.is_empty() {
                    let n = chars.len();
                    chars.swap(a % n, b % n);
                }
            }
        }
    }
    chars.into_iter().collect()
}

fn chart_values() -> impl Strategy<Value = Value> {
    (data(), value(), prop_oneof![Just(Value::Nil), Just(Value::Int(3)), Just(Value::string("x")), value()]).prop_map(
        |(dot, extra, count)| {
            if let Value::Map(m, _) = &dot {
                let values = map_of(
                    vec![
                        ("labels".to_owned(), extra.clone()),
                        ("count".to_owned(), count),
                        (
                            "env".to_owned(),
                            map_of(vec![("a".to_owned(), Value::string("{{ .Release.Name }}"))], MapType::Interface),
                        ),
                        ("image".to_owned(), map_of(vec![("repository".to_owned(), extra)], MapType::Interface)),
                        (
                            "ingress".to_owned(),
                            map_of(vec![("enabled".to_owned(), Value::Bool(true))], MapType::Interface),
                        ),
                    ],
                    MapType::Values,
                );
                m.borrow_mut().insert("Values".to_owned(), values);
                let chart = map_of(vec![("Name".to_owned(), Value::string("c"))], MapType::Interface);
                m.borrow_mut().insert("Chart".to_owned(), chart);
            }
            dot
        },
    )
}

// ---------------------------------------------------------------------------------------
// Properties

#[test]
fn arbitrary_text_parses_or_fails_without_panicking() {
    run(10, ".{0,200}", |text| {
        let mut set = Templates::with_options(chart_funcs(), fuzz_options());
        let _ = set.add("x", &text);
        Ok(())
    });
    run(10, prop::collection::vec(prop::sample::select(FRAGMENTS), 0..40), |pieces| {
        let mut set = Templates::with_options(chart_funcs(), fuzz_options());
        let _ = set.add("x", &pieces.concat());
        Ok(())
    });
}

#[test]
fn generated_templates_render_or_fail_within_bounds() {
    run(1, (template(), template(), data()), |(main, helpers, dot)| {
        parse_and_render(&[("c/templates/x.yaml", &main), ("c/templates/_h.tpl", &helpers)], &dot, &fuzz_options())
    });
}

#[test]
fn mutated_chart_templates_render_or_fail_within_bounds() {
    let real = (0..REAL.len(), prop::collection::vec(mutation(), 1..8));
    run(4, (real, chart_values()), |((i, mutations), dot)| {
        let mutated = mutate(REAL[i], &mutations);
        let mut files: Vec<(&str, &str)> = vec![("c/templates/x.yaml", &mutated)];
        let names =
            ["c/templates/_helpers.tpl", "c/templates/deploy.yaml", "c/templates/cm.yaml", "c/templates/ing.yaml"];
        for (j, name) in names.iter().enumerate() {
            if j != i {
                files.push((name, REAL[j]));
            }
        }
        parse_and_render(&files, &dot, &fuzz_options())
    });
}

// ---------------------------------------------------------------------------------------
// Hostile templates

/// Time a hostile template may take in an unoptimised build on a busy machine before it
/// counts as a hang.
const HOSTILE_TIME: Duration = Duration::from_secs(30);

/// Growth of the process's peak resident memory one hostile template may cause.
const HOSTILE_MEMORY: u64 = 512 << 20;

/// The process's peak resident set size (`VmHWM`), in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status is readable");
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM is reported");
    let kib: u64 = line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("VmHWM is a number");
    kib << 10
}

/// Renders `main` (with `helpers` as `_helpers.tpl` and `values` as `.Values`) with the
/// default limits, as `helm template` would, and checks that it ends within
/// [`HOSTILE_TIME`] and [`HOSTILE_MEMORY`]. Returns the output or the error text.
fn hostile(main: &str, helpers: &str, values: Value) -> Result<String, String> {
    // One at a time, so that the peak memory measured is this template's.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let before = peak_rss();
    let start = Instant::now();
    let mut set = Templates::new(chart_funcs());
    set.add("c/templates/_helpers.tpl", helpers).map_err(|e| e.to_string())?;
    set.add("c/templates/x.yaml", main).map_err(|e| e.to_string())?;
    let dot = map_of(vec![("Values".to_owned(), values)], MapType::Values);
    let res = set.execute("c/templates/x.yaml", dot).map_err(|e| e.to_string());
    let took = start.elapsed();
    let grew = peak_rss().saturating_sub(before);
    let head: String = main.chars().take(60).collect();
    println!("{head:?}: {took:?}, peak RSS +{} MiB: {:.200?}", grew >> 20, res.as_ref().map(String::len));
    assert!(took < HOSTILE_TIME, "{main:?} took {took:?}");
    assert!(grew < HOSTILE_MEMORY, "{main:?} grew the peak RSS by {} MiB", grew >> 20);
    if let Ok(out) = &res {
        assert!(out.len() <= Options::default().max_output_bytes);
    }
    res
}

fn values_with(key: &str, v: Value) -> Value {
    map_of(vec![(key.to_owned(), v)], MapType::Values)
}

fn fails(res: Result<String, String>, want: &str) {
    match res {
        Err(e) => assert!(e.contains(want), "error {e:?} does not contain {want:?}"),
        Ok(out) => panic!("rendered {} bytes instead of failing with {want:?}", out.len()),
    }
}

#[test]
fn self_recursive_include_fails_with_helms_nested_reference_error() {
    let res = hostile(r#"{{ include "r" . }}"#, r#"{{ define "r" }}x{{ include "r" . }}{{ end }}"#, Value::Nil);
    fails(res, "rendering template has a nested reference name: r");
}

#[test]
fn mutually_recursive_templates_fail_at_the_depth_limit() {
    let helpers = r#"{{ define "a" }}{{ template "b" . }}{{ end }}{{ define "b" }}{{ template "a" . }}{{ end }}"#;
    fails(hostile(r#"{{ template "a" . }}"#, helpers, Value::Nil), "exceeded maximum template depth (100000)");
    let helpers = r#"{{ define "a" }}{{ include "b" . }}{{ end }}{{ define "b" }}{{ include "a" . }}{{ end }}"#;
    fails(hostile(r#"{{ include "a" . }}"#, helpers, Value::Nil), "nested reference name");
}

#[test]
fn recursive_includes_that_each_hold_output_stay_bounded() {
    let helpers = r#"{{ define "r" }}{{ repeat 1000000 "x" }}{{ include "r" . }}{{ end }}"#;
    fails(hostile(r#"{{ include "r" . }}"#, helpers, Value::Nil), "");
}

#[test]
fn tpl_that_renders_itself_fails_at_the_depth_limit() {
    let res = hostile("{{ tpl .Values.t . }}", "", values_with("t", Value::string("{{ tpl .Values.t . }}")));
    fails(res, "tpl nests deeper than 1000");
    let res = hostile(
        "{{ tpl .Values.t . }}",
        "",
        values_with("t", Value::string("{{ tpl (print .Values.t .Values.t) . }}")),
    );
    fails(res, "");
}

#[test]
fn huge_repeats_fail_instead_of_allocating() {
    fails(hostile(r#"{{ repeat 1000000000 "x" }}"#, "", Value::Nil), "");
    fails(hostile(r#"{{ repeat 9223372036854775807 "xy" }}"#, "", Value::Nil), "");
    fails(hostile(r#"{{ repeat 100000 (repeat 100000 "x") }}"#, "", Value::Nil), "");
    fails(
        hostile(r#"{{ $s := repeat 10000000 "x" }}{{ range until 100 }}{{ $s = cat $s $s }}{{ end }}"#, "", Value::Nil),
        "",
    );
}

#[test]
fn doubling_a_string_in_a_loop_fails_before_memory_runs_out() {
    let main = r#"{{ $s := "x" }}{{ range until 100 }}{{ $s = printf "%s%s" $s $s }}{{ end }}{{ len $s }}"#;
    fails(hostile(main, "", Value::Nil), "");
}

#[test]
fn huge_ranges_end_at_the_iteration_limit() {
    fails(hostile("{{ range until 1000000000 }}{{ end }}", "", Value::Nil), "");
    fails(hostile("{{ range 1000000000 }}{{ end }}", "", Value::Nil), "range iterations exceed the limit");
    fails(hostile("{{ range untilStep 0 1000000000 1 }}{{ end }}", "", Value::Nil), "");
    fails(hostile("{{ len (seq 1000000000) }}", "", Value::Nil), "");
    fails(
        hostile("{{ range $i := until 4000 }}{{ range until 4000 }}{{ end }}{{ end }}", "", Value::Nil),
        "range iterations",
    );
}

#[test]
fn integer_edges_of_sequences_fail_or_end_instead_of_overflowing() {
    for main in [
        "{{ untilStep 9223372036854775800 9223372036854775807 100 }}",
        "{{ untilStep -9223372036854775800 -9223372036854775807 -100 }}",
        "{{ seq 9223372036854775807 }}",
        "{{ seq -9223372036854775808 }}",
        "{{ seq 9223372036854775806 9223372036854775807 }}",
        "{{ seq 0 9223372036854775807 9223372036854775807 }}",
        "{{ until -9223372036854775808 | len }}",
    ] {
        let _ = hostile(main, "", Value::Nil);
    }
}

#[test]
fn huge_widths_and_indents_fail_or_stay_bounded() {
    let _ = hostile(r#"{{ printf "%0999999999d" 1 }}"#, "", Value::Nil);
    let _ = hostile(r#"{{ printf "%*d" 999999999 1 }}"#, "", Value::Nil);
    let _ = hostile(r#"{{ printf "%.*f" 999999999 1.0 }}"#, "", Value::Nil);
    let _ = hostile(r#"{{ printf "%-999999s|%999999.999999f" "a" 1.5 }}"#, "", Value::Nil);
    fails(hostile(r#"{{ indent 1000000000 "x" }}"#, "", Value::Nil), "");
    fails(hostile(r#"{{ nindent 1000000000 "x" }}"#, "", Value::Nil), "");
    let lines = "a\n".repeat(1000);
    fails(hostile("{{ indent 1000000 .Values.s }}", "", values_with("s", Value::string(lines))), "");
    fails(hostile(r#"{{ wrapWith 1 (repeat 10000000 "\n") (repeat 10000000 "a ") }}"#, "", Value::Nil), "");
}

#[test]
fn trunc_and_substr_take_any_index() {
    for main in [
        r#"{{ trunc 9223372036854775807 "abc" }}"#,
        r#"{{ trunc -9223372036854775808 "abc" }}"#,
        r#"{{ trunc -1 "é" }}"#,
        r#"{{ substr 9223372036854775807 -1 "abc" }}"#,
        r#"{{ substr -9223372036854775808 9223372036854775807 "abc" }}"#,
        r#"{{ substr 1 2 "é" }}"#,
        r#"{{ abbrev 9223372036854775807 "abcdef" }}"#,
        r#"{{ abbrevboth 9223372036854775807 9223372036854775807 "abcdefghij" }}"#,
        r#"{{ abbrevboth -9223372036854775808 9 "abcdefghijkl" }}"#,
        r#"{{ wrap -9223372036854775808 "a b c" }}"#,
        r#"{{ randAlphaNum -1 }}"#,
        r#"{{ "abc" | slice 1 9223372036854775807 }}"#,
        r#"{{ slice "abc" 2 1 }}"#,
        r#"{{ index (list 1 2) 9223372036854775807 }}"#,
        r#"{{ index (list 1 2) -1 }}"#,
    ] {
        let _ = hostile(main, "", Value::Nil);
    }
}

#[test]
fn self_referencing_maps_fail_to_encode_instead_of_overflowing_the_stack() {
    let setup = r#"{{ $d := dict "a" 1 }}{{ $_ := set $d "self" $d }}"#;
    for use_ in [
        "{{ toYaml $d }}",
        "{{ toJson $d }}",
        "{{ toPrettyJson $d }}",
        "{{ toToml $d }}",
        "{{ $d }}",
        "{{ printf \"%v %+v %#v\" $d $d $d }}",
        "{{ toString $d }}",
        "{{ deepCopy $d }}",
        "{{ merge (dict) $d }}",
        "{{ mergeOverwrite (dict) $d $d }}",
        "{{ deepEqual $d $d }}",
        "{{ eq $d $d }}",
        "{{ dig \"self\" \"self\" \"a\" 0 $d }}",
        "{{ pluck \"self\" $d $d }}",
        "{{ $d | sha256sum }}",
        "{{ range $k, $v := $d }}{{ $k }}{{ end }}",
        "{{ tpl \"{{ . }}\" $d }}",
    ] {
        let _ = hostile(&format!("{setup}{use_}"), "", Value::Nil);
    }
}

#[test]
fn shared_structures_that_print_exponentially_fail_quickly() {
    let setup = r#"{{ $l := list 1 }}{{ range until 64 }}{{ $l = list $l $l }}{{ end }}"#;
    // `toYaml` and `toJson` print nothing when encoding fails, as Helm's do.
    assert_eq!(hostile(&format!("{setup}{{{{ toYaml $l }}}}"), "", Value::Nil).as_deref(), Ok(""));
    assert_eq!(hostile(&format!("{setup}{{{{ toJson $l }}}}"), "", Value::Nil).as_deref(), Ok(""));
    assert_eq!(hostile(&format!("{setup}{{{{ toPrettyJson $l }}}}"), "", Value::Nil).as_deref(), Ok(""));
    let toml = hostile(&format!("{setup}{{{{ toToml $l }}}}"), "", Value::Nil);
    assert_eq!(toml.as_deref(), Ok("the document exceeds the limit of 67108864 bytes"));
    // Printing stops past the value limit: each of these prints the first 64 MiB.
    for use_ in
        ["{{ $l }}", "{{ mustToYaml $l }}", "{{ mustToJson $l }}", "{{ printf \"%#v\" $l }}", "{{ deepCopy $l | len }}"]
    {
        fails(hostile(&format!("{setup}{use_}"), "", Value::Nil), "");
    }
}

#[test]
fn regexes_with_huge_repetition_fail() {
    let _ = hostile(r#"{{ regexMatch "(a{1000}){1000}" "a" }}"#, "", Value::Nil);
    let _ = hostile(r#"{{ regexReplaceAll "((a{100}){100}){100}" "a" "b" }}"#, "", Value::Nil);
    fails(hostile(r#"{{ regexReplaceAll "" (repeat 1000000 "a") (repeat 1000 "b") }}"#, "", Value::Nil), "");
    let _ = hostile(r#"{{ regexFindAll "(a+)+$" (repeat 100000 "a") -1 | len }}"#, "", Value::Nil);
    let _ = hostile(r#"{{ regexSplit "" (repeat 1000000 "a") -1 | len }}"#, "", Value::Nil);
}

#[test]
fn key_generation_in_a_loop_is_bounded() {
    // An RSA key takes seconds in an unoptimised build: one is enough to see it is bounded.
    let _ = hostile(r#"{{ genPrivateKey "rsa" | len }}"#, "", Value::Nil);
    let _ = hostile(r#"{{ range until 50 }}{{ genPrivateKey "ecdsa" | len }}{{ end }}"#, "", Value::Nil);
}

#[test]
fn lists_grown_by_append_in_a_loop_are_bounded() {
    let main = r#"{{ $l := list }}{{ range until 1000000 }}{{ $l = append $l . }}{{ end }}{{ len $l }}"#;
    let _ = hostile(main, "", Value::Nil);
    let main = r#"{{ $l := list 1 }}{{ range until 40 }}{{ $l = concat $l $l }}{{ end }}{{ len $l }}"#;
    fails(hostile(main, "", Value::Nil), "");
}

#[test]
fn a_render_that_would_run_for_hours_ends_at_the_time_limit() {
    let opts = Options { max_duration: Some(Duration::from_millis(300)), ..Options::default() };
    let mut set = Templates::with_options(chart_funcs(), opts);
    set.add("t", r#"{{ range until 1000000 }}{{ genPrivateKey "rsa" | sha256sum }}{{ end }}"#).expect("parses");
    let start = Instant::now();
    let res = set.execute("t", Value::Nil);
    assert!(start.elapsed() < Duration::from_secs(30), "took {:?}", start.elapsed());
    match res {
        Err(e) => assert!(e.to_string().contains("rendering exceeds the time limit of 0.3s"), "{e}"),
        Ok(out) => panic!("rendered {} bytes instead of stopping", out.len()),
    }
}

#[test]
fn deep_nesting_in_the_source_parses_and_renders_or_fails_without_overflowing() {
    // The parser's memory grows with the nesting (some KiB per level in an unoptimised
    // build), so parentheses and blocks nest less deep here than the rest.
    // Go's parser allows 10000 nested parentheses and refuses one more.
    let parens = |depth: usize| format!("{{{{ {}1{} }}}}", "(".repeat(depth), ")".repeat(depth));
    assert_eq!(hostile(&parens(10_000), "", Value::Nil).as_deref(), Ok("1"));
    fails(hostile(&parens(10_001), "", Value::Nil), "max expression depth exceeded");
    let depth = 30_000;
    let ifs = format!("{}x{}", "{{ if 1 }}".repeat(depth), "{{ end }}".repeat(depth));
    let _ = hostile(&ifs, "", Value::Nil);
    let ranges = format!("{}x{}", "{{ range list 1 }}".repeat(depth), "{{ end }}".repeat(depth));
    let _ = hostile(&ranges, "", Value::Nil);
    let unclosed = "{{ if 1 }}".repeat(depth);
    let _ = hostile(&unclosed, "", Value::Nil);
    let depth = 100_000;
    let chain = format!("{{{{ .Values{} }}}}", ".a".repeat(depth));
    let _ = hostile(&chain, "", Value::Nil);
    let pipes = format!("{{{{ 1{} }}}}", " | print".repeat(depth));
    let _ = hostile(&pipes, "", Value::Nil);
}

#[test]
fn deeply_nested_values_fail_to_decode_or_encode_without_overflowing() {
    let depth = 200_000;
    let _ = hostile(&format!("{{{{ fromJson {:?} }}}}", "[".repeat(depth)), "", Value::Nil);
    let _ = hostile(&format!("{{{{ fromYaml {:?} }}}}", "- ".repeat(depth)), "", Value::Nil);
    let _ = hostile(&format!("{{{{ fromYaml {:?} }}}}", "[".repeat(depth)), "", Value::Nil);
    // A list nested past the encoders' depth limit, built by the template.
    let nest = "{{ $l := list }}{{ range until 11000 }}{{ $l = list $l }}{{ end }}";
    for use_ in ["{{ toYaml $l }}", "{{ toJson $l }}", "{{ toToml $l }}", "{{ $l }}", "{{ deepCopy $l | len }}"] {
        let _ = hostile(&format!("{nest}{use_}"), "", Value::Nil);
    }
}

#[test]
fn values_nested_deeply_by_a_loop_are_dropped_without_overflowing_the_stack() {
    for main in [
        "{{ $l := list }}{{ range until 300000 }}{{ $l = list $l }}{{ end }}{{ len $l }}",
        "{{ $d := dict }}{{ range until 300000 }}{{ $d = dict \"a\" $d }}{{ end }}{{ len $d }}",
        "{{ $root := dict }}{{ $cur := $root }}{{ range until 300000 }}{{ $n := dict }}\
         {{ $_ := set $cur \"a\" $n }}{{ $cur = $n }}{{ end }}{{ len $root }}",
    ] {
        assert_eq!(hostile(main, "", Value::Nil).as_deref(), Ok("1"));
    }
}

#[test]
fn yaml_aliases_that_expand_exponentially_fail() {
    let mut doc = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n".to_owned();
    for i in 1..30 {
        let p = i - 1;
        doc.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
    }
    let _ = hostile("{{ fromYaml .Values.doc | toJson | len }}", "", values_with("doc", Value::string(doc)));
}
