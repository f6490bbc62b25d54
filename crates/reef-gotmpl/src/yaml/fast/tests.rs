//! The fast path against the full path: explicit accepted constructs and give-up cases, and
//! generated and mutated manifest-like documents, where whenever the fast path answers, its
//! answer must be the full path's.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use super::{document, top_keys};
use crate::yaml::{unmarshal_any_full, unmarshal_top_keys_full};

/// The top-level keys `releaseutil.SimpleHead` reads.
fn head_keys(k: &str) -> bool {
    ["apiVersion", "kind", "metadata"].iter().any(|f| f.eq_ignore_ascii_case(k))
}

fn fast(text: &str) -> Option<String> {
    top_keys(text, &head_keys).map(|v| format!("{v:?}"))
}

/// Checks that the fast path, when it answers, answers as the full path does, reading a
/// head's keys, reading every top-level key (so that every entry is built) and building the
/// whole document; returns whether it answered.
fn agrees(text: &str) -> Result<bool, String> {
    let all = |_: &str| true;
    let mut answered = false;
    if let Some(fast) = document(text).map(|v| format!("{v:?}")) {
        answered = true;
        match unmarshal_any_full(text) {
            Ok(full) if format!("{full:?}") == fast => {}
            Ok(full) => return Err(format!("fast document {fast} but full {full:?} for {text:?}")),
            Err(e) => return Err(format!("fast document {fast} but full fails with {e} for {text:?}")),
        }
    }
    for keep in [&head_keys as &dyn Fn(&str) -> bool, &all] {
        let Some(fast) = top_keys(text, keep).map(|v| format!("{v:?}")) else { continue };
        answered = true;
        match unmarshal_top_keys_full(text, keep) {
            Ok(full) if format!("{full:?}") == fast => {}
            Ok(full) => return Err(format!("fast {fast} but full {full:?} for {text:?}")),
            Err(e) => return Err(format!("fast {fast} but full fails with {e} for {text:?}")),
        }
    }
    Ok(answered)
}

#[track_caller]
fn accepted(text: &str) {
    assert_eq!(agrees(text), Ok(true), "{text:?}");
}

/// Asserts that the fast path builds the whole document, as the full path does.
#[track_caller]
fn built(text: &str) {
    assert!(document(text).is_some(), "not built: {text:?}");
    assert_eq!(agrees(text), Ok(true), "{text:?}");
}

#[track_caller]
fn given_up(text: &str) {
    assert_eq!(fast(text), None, "{text:?}");
}

const POD: &str = "\
# Source: chart/templates/pod.yaml
apiVersion: v1
kind: Pod
metadata:
  name: \"web-0\"
  labels:
    app.kubernetes.io/name: web
    tier: 'front''end'
  annotations:
    helm.sh/hook: pre-install,post-install
    checksum/config: 3f2a9c
spec:
  containers:
  - name: web
    image: nginx:1.25   # pinned
    args: []
    env:
      - name: A
        value: \"x\\ty\\u00e9\"
      -
        name: B
        value: '1'
    resources: {}
    ports:
    - containerPort: 80
      protocol: TCP
  config: |
    listen 80;
      nested line	with a tab
    # not a comment

  motd: >-
    hello
    world
  script: |+
    #!/bin/sh
    echo hi

  ratio: 0.5
  enabled: yes
  when: 2001-12-14
  url: http://example.com/a#b
  weird: a]b}c,d
";

#[test]
fn accepts_a_typical_manifest_with_the_kept_entries_decoded_by_the_full_path() {
    accepted(POD);
    let v = fast(POD).unwrap_or_default();
    assert!(v.contains("web-0") && v.contains("pre-install") && !v.contains("nginx"), "{v}");
}

#[test]
fn accepts_each_construct_of_the_subset() {
    for text in [
        "kind: Pod\n",
        "kind: Pod",
        "\n# leading comment\n\nkind: Pod\n",
        "a: 1\nb:\n  - x\n  - y\n",
        "a:\n- x\n- y: 1\n  z: 2\nb: 3\n",
        "a:\n  -\n    b: 1\n  -\n  - c\n",
        "a:\n  b:\n    c: d\n  e: f\n",
        "'quoted key': 1\n\"kind\": Pod\n",
        "kind: \"Po\\\"d\\\\\"\n",
        "a: 'it''s'\n",
        "a: {}\nb: []  # empty\n",
        "a: |-\n  x\n\n  y\nb: >\n   folded\n",
        "a: |\n\n  after a blank line\n",
        "a: |   # header comment\n  x\n",
        "a: -1\nb: .5\nc: 1e3\nd: 0x1F\ne: ~\nf: null\n",
        "true: 1\n1.5: x\n.nan: key\ny: n\n",
        "a: b#c\nb: c:d\nc: -x\n",
        "k: x ü — ok\n",
        "kind: Pod\nKind: Service\nkind: Job\n",
        "metadata:\n  annotations:\n    helm.sh/hook: test\n",
        "a: x  \nb: y\n",
        "a: \"multi\n  line\"\nb: 'multi\n\n  # line\n   ''x'' y'  # c\n",
        "a: [1, \"2\", '3', b/c.d, e-f]\nb: [ ]\nc: { }\n",
        "a: :x\n",
        "a: plain\n  - continued\n",
        "a:\n  {}\nb:\n  - 1\n  -\n    []\nc:\n  plain\n  continued\nd:\n  |-\n   x\n",
        "a: x\n  `code` - y\n  [z]\n",
        "a: plain\n  continued\n\n   after a blank line\nb: 1\n",
        "a:\n- x\n  y\n- z\n",
        "a:\n  - b: x\n     y\n",
        "a: .nan\n".replace(".nan", "1").as_str(),
    ] {
        accepted(text);
    }
}

#[test]
fn builds_whole_documents_of_one_line_scalars() {
    for text in [
        "a: 1\nb: -2\nc: 0x1F\nd: 1e3\ne: 9223372036854775808\n",
        "a: ~\nb: null\nc:\nd: true\ne: no\nf: yes\n",
        "a: x\na: y\nb:\n  c: 1\nb:\n  d: 2\n",
        "true: 1\n1.5: x\n.nan: key\n1: a\n0x10: b\n'q': c\n\"d\\\"\": e\n",
        "a:\n- x\n- y: 1\n  z: [ ]\nb:\n  -\n    - 1\n    - 2\n  -\n  - {}\n",
        "# comment\nimage:\n  repository: nginx  # the image\n  tag: \"1.25\"\n  pullPolicy: IfNotPresent\n\n# more\nreplicas: 3\n",
        "when: 2001-12-14\nurl: http://x/#a\nweird: a]b}c,d\n",
        "a: 'it''s'\nb: \"\\u00e9\\t\"\n",
    ] {
        built(text);
    }
}

#[test]
fn builds_flow_sequences_and_block_scalars() {
    for text in [
        "a: [1, \"2\", '3', b/c.d, e-f, null, true]\nb: [ x ]\n",
        "a: |\n  x\n   y\n\n  z\n\n\nb: 1\n",
        "a: |-\n  x\n  # not a comment\n# a comment\nb: |+\n  y\n\n\n",
        "a: >\n  folded\n  text\n\n  para\n    more indented\n  back\n\nb: >-\n   x\n   y\n",
        "a: >+\n  x\n\n",
        "a: |\n\n\n  after blank lines\n",
        "a:\n  - |\n    in a sequence\n  - b: >\n      in a compact mapping\n    c: 1\n",
        "a: |  # a comment\n  x\t tab\n  \n  y\n",
        "a: |\nb: 1\n",
        "a: 1\nb: |-\n",
        "a: 1\nb: >\n\n",
        "a:\n  b: >-\n\n  # c\n  c: |\n\nd: 1\n",
        "a:\n  {}\n  # c\nb:\n  - x\n  -\n    'q'\n  - [a]\nc:\n  \"d\"\ne:\n  |\n   f\n",
    ] {
        built(text);
    }
}

#[test]
fn leaves_block_scalars_it_does_not_build_to_the_full_path() {
    for text in [
        "a: |\n  x",
        "a: |+\n\nb: 1\n",
        "a: |+\n",
        "a: |\n  \n",
        "a: |\n  x\n  ",
        "a: |\n  x\n     \n  y\n",
        "a: |\n  x\n  \t\n",
    ] {
        assert!(agrees(text).is_ok(), "{text:?}");
        assert!(document(text).is_none(), "{text:?}");
    }
}

#[test]
fn gives_up_on_each_construct_outside_the_subset() {
    for text in [
        "",
        "# only a comment\n",
        "- a\n",
        "plain\n",
        "  kind: Pod\n",
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "%YAML 1.1\n---\na: 1\n",
        "a: 1\n---\nb: 2\n",
        "a: 1\n...\n",
        "? a\n: b\n",
        "<<: {a: 1}\n",
        "a: [1, 2,]\n",
        "a: [a b]\n",
        "a: [[a]]\n",
        "a: [a]b\n",
        "a: ['x\n  y']\n",
        "a: 'x\ny'\n",
        "a: 'x\n  y\n",
        "a: 'x\n\ty'\n",
        "'a\n  b': c\n",
        "a: \"x\\\n  y\"\n",
        "a: {b: 1}\n",
        "a: plain\n  continued: no\n",
        "a: plain # comment\n  continued\n",
        "a: plain\n# comment\n  continued\n",
        "a: b: c\n",
        "a: b:\n",
        "a:\tb\n",
        "a: b\t\n",
        "\ta: b\n",
        "a: b\r\n",
        "a: \"\\/\"\n",
        "a: \"\\'\"\n",
        "a: \"\\ud800\"\n",
        "a: \"\\U0001F600\"\n",
        "a: |2\n  x\n",
        "a: |\n    \n  x\n",
        "a: |\n  \tx\n",
        "a: x\u{85}y\n",
        "a: x\u{2028}y\n",
        "\u{feff}a: 1\n",
        "a: \u{1}\n",
        "a: .nan\n",
        "a: -.Inf\n",
        "a: 1e999\n",
        "~: 1\n",
        "null: 1\n",
        "18446744073709551615: 1\n",
        "a: - b\n",
        "a: -\n",
        "a:\n  - - b\n",
        "a: 1\n  b: 2\n",
        "a:\n    b: 1\n  c: 2\n",
        "a:\n  - x\n  y: 1\n",
        "a: 'x' y\n",
        "\"a\":b\n",
        "a:b\n",
        "a #b: c\n",
        "a: @x\n",
        "a: `x`\n",
        "a: ,x\n",
        "a: ]\n",
        "a: |\n  x\n# comment\n  y\n",
    ] {
        given_up(text);
    }
}

#[test]
fn gives_up_on_keys_longer_than_the_parsers_limit() {
    given_up(&format!("{}: 1\n", "k".repeat(2000)));
    given_up(&format!("a:\n  {}: 1\n", "k".repeat(2000)));
}

#[test]
fn gives_up_on_nesting_deeper_than_its_bound() {
    let mut text = String::new();
    for depth in 0..300 {
        text.push_str(&" ".repeat(depth));
        text.push_str("a:\n");
    }
    given_up(&text);
}

#[test]
fn keeps_no_entry_as_an_empty_mapping() {
    assert_eq!(fast("spec: 1\n").as_deref(), Some(format!("{:?}", crate::Value::empty_map()).as_str()));
    accepted("spec: 1\n");
}

/// Lines the generated documents are made of: the subset's constructs, near misses and
/// errors.
const FRAGMENTS: &[&str] = &[
    "apiVersion: v1",
    "kind: Pod",
    "Kind: Svc",
    "metadata:",
    "name: web",
    "annotations:",
    "helm.sh/hook: test",
    "a: b",
    "a: 1",
    "a:",
    "b: c",
    "- x",
    "- a: 1",
    "-",
    "- - a",
    "- |",
    "x: .nan",
    "x: -.inf",
    "x: 1e999",
    "x: 1e9",
    "~: 1",
    "null: x",
    "18446744073709551616: x",
    "9223372036854775807: x",
    "\"q\": v",
    "'k': 'v'",
    "'k':v",
    "v: \"a\\/b\"",
    "v: \"a\\'b\"",
    "v: \"a\\\"b\\u00e9\"",
    "v: \"open",
    "v: 'it''s'",
    "v: |",
    "v: |-",
    "v: >+",
    "v: |2",
    "text line",
    "  text",
    "\ttab: 1",
    "a: b: c",
    "a: b #c",
    "a: b#c",
    "# comment",
    "",
    "   ",
    "x: []",
    "x: {}",
    "x: [a]",
    "x: {a: 1}",
    "x: &a b",
    "x: *a",
    "x: !!str 1",
    "<<: {}",
    "? a",
    ": b",
    "...",
    "a:\tb",
    "a: b\t",
    "a: -",
    "a: - b",
    "a: -1",
    "a: 0x1F",
    "true: 1",
    "1.5: x",
    "y: n",
    "a: 'x' y",
    "é: ü",
    "a: \u{2028}",
    "-foo: 1",
    ":a: 1",
    "a:b",
    "a: 2001-12-14",
    "a: ~",
    "a: @x",
    "a: ]",
    "`code`",
    "[x",
    "{y",
    "'q",
    "\"d",
    "q'",
    "d\"",
    "*a",
    "&a",
    "!t",
    "%p",
    "@a",
    "|",
    ">",
    "? q",
    ",c",
    "]",
    "}",
    "x: [1, \"2\", '3', b/c]",
    "x: [a, ]",
    "x: ['a']b",
    "x: [.nan]",
    "x: 'open",
    "x: \"open",
    "{}",
    "- []",
    ":x",
];

/// A document of generated lines: each a fragment at an indentation.
fn generated_lines() -> impl Strategy<Value = String> {
    let line = (0usize..7, prop::sample::select(FRAGMENTS));
    (prop::collection::vec(line, 1..14), any::<bool>()).prop_map(|(lines, final_break)| {
        let mut text: String = lines
            .iter()
            .map(|(indent, frag)| format!("{}{}", " ".repeat(*indent), frag))
            .collect::<Vec<_>>()
            .join("\n");
        if final_break {
            text.push('\n');
        }
        text
    })
}

/// Keys of generated mappings: the kept ones, quoted ones, and keys the full path converts or
/// rejects.
const KEYS: &[&str] = &[
    "a",
    "b",
    "name",
    "kind",
    "Kind",
    "apiVersion",
    "metadata",
    "annotations",
    "helm.sh/hook",
    "\"kind\"",
    "'metadata'",
    "\"a b\"",
    "~",
    "null",
    "true",
    "1.5",
    "18446744073709551616",
    "<<",
    "a b",
    "-k",
    ".nan",
];

/// A key, mostly an ordinary one.
fn key() -> impl Strategy<Value = &'static str> {
    prop_oneof![3 => prop::sample::select(&KEYS[..9]), 1 => prop::sample::select(KEYS)]
}

/// Scalar values of generated documents, right and wrong.
const SCALARS: &[&str] = &[
    "x",
    "Pod",
    "1",
    "-1",
    ".5",
    "1e3",
    "1e999",
    ".nan",
    "-.Inf",
    "~",
    "null",
    "yes",
    "'q''s'",
    "\"d\\\"q\"",
    "\"\\/\"",
    "\"\\'\"",
    "\"\\u00e9\"",
    "[]",
    "{}",
    "[a]",
    "a: b",
    "b #c",
    "http://x",
    "2001-12-14",
    "é",
    "a:",
    "-",
    "&x y",
    "*x",
    "!!str 1",
    "'open",
    "b\tc",
];

/// Scalar values the subset reads.
const COMMON_SCALARS: &[&str] = &["x", "Pod", "1", "'q''s'", "\"a\"", "[]", "{}", "http://x", "v1", "true", "x y"];

/// A block scalar line of nothing but spaces, in generated documents.
const SPACES: &str = "<spaces>";

/// A generated YAML node.
#[derive(Debug, Clone)]
enum Gen {
    Scalar(&'static str),
    /// A block scalar: its header and lines (each indented by the generator, plus its own
    /// extra spaces).
    Block(&'static str, Vec<(usize, &'static str)>),
    Map(Vec<(&'static str, Gen)>),
    /// A sequence; `true` when written at its key's indentation.
    Seq(Vec<Gen>, bool),
}

fn gen_node() -> impl Strategy<Value = Gen> {
    // `SPACES` stands for a line of nothing but spaces (as many as the line's extra ones).
    let block_line =
        (0usize..4, prop::sample::select(vec!["text", "text", "", "# hash", "  deeper", "a: b", "\tt", SPACES]));
    let leaf = prop_oneof![
        4 => prop::sample::select(COMMON_SCALARS).prop_map(Gen::Scalar),
        2 => prop::sample::select(SCALARS).prop_map(Gen::Scalar),
        1 => (prop::sample::select(vec!["|", "|-", ">", "|+", ">-", ">+", "|2"]), prop::collection::vec(block_line, 0..4))
            .prop_map(|(h, lines)| Gen::Block(h, lines)),
    ];
    leaf.prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            prop::collection::vec((key(), inner.clone()), 1..5).prop_map(Gen::Map),
            (prop::collection::vec(inner, 1..4), any::<bool>())
                .prop_map(|(items, indentless)| Gen::Seq(items, indentless)),
        ]
    })
}

/// Writes `node` as the value of a key or a sequence entry at indentation `indent`: the text
/// after the indicator (starting with a space or a line break).
fn write_value(node: &Gen, indent: usize, after_dash: bool, out: &mut String) {
    match node {
        Gen::Scalar(s) => {
            out.push(' ');
            out.push_str(s);
            out.push('\n');
        }
        Gen::Block(header, lines) => {
            out.push(' ');
            out.push_str(header);
            out.push('\n');
            for (extra, line) in lines {
                if *line == SPACES {
                    out.push_str(&" ".repeat(*extra));
                } else if !line.is_empty() {
                    out.push_str(&" ".repeat(indent + 2 + extra));
                    out.push_str(line);
                }
                out.push('\n');
            }
        }
        Gen::Map(entries) if after_dash => {
            // A compact mapping: the first key on the dash's line.
            out.push(' ');
            write_map(entries, indent + 2, true, out);
        }
        Gen::Map(entries) => {
            out.push('\n');
            write_map(entries, indent + 2, false, out);
        }
        Gen::Seq(items, indentless) => {
            out.push('\n');
            let at = if *indentless && !after_dash { indent } else { indent + 2 };
            for item in items {
                out.push_str(&" ".repeat(at));
                out.push('-');
                write_value(item, at, true, out);
            }
        }
    }
}

fn write_map(entries: &[(&str, Gen)], indent: usize, first_inline: bool, out: &mut String) {
    for (i, (key, value)) in entries.iter().enumerate() {
        if i > 0 || !first_inline {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(key);
        out.push(':');
        write_value(value, indent, false, out);
    }
}

/// A generated manifest-like document, sometimes edited after.
fn generated_document() -> impl Strategy<Value = String> {
    let root = prop::collection::vec((key(), gen_node()), 1..6);
    let edits = prop_oneof![2 => Just(Vec::new()), 1 => prop::collection::vec(edit(), 1..3)];
    (root, edits).prop_map(|(entries, edits)| {
        let mut text = String::new();
        write_map(&entries, 0, false, &mut text);
        apply(&text, &edits)
    })
}

/// An edit of a real manifest: a byte inserted, deleted or replaced, a line re-indented, or
/// a fragment inserted as a line.
#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, char),
    Delete(usize),
    Indent(usize, usize),
    Fragment(usize, &'static str),
}

fn edit() -> impl Strategy<Value = Edit> {
    let chars = prop::sample::select(vec![
        ' ', '\t', ':', '-', '#', '"', '\'', '\n', '|', '>', '&', '*', '!', '[', '{', 'x', '\\',
    ]);
    prop_oneof![
        (any::<usize>(), chars).prop_map(|(at, c)| Edit::Insert(at, c)),
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), 0usize..8).prop_map(|(line, n)| Edit::Indent(line, n)),
        (any::<usize>(), prop::sample::select(FRAGMENTS)).prop_map(|(line, f)| Edit::Fragment(line, f)),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut text = text.to_owned();
    for e in edits {
        match *e {
            Edit::Insert(at, c) => {
                let at = floor_char_boundary(&text, at % (text.len() + 1));
                text.insert(at, c);
            }
            Edit::Delete(at) if !text.is_empty() => {
                let at = floor_char_boundary(&text, at % text.len());
                text.remove(at);
            }
            Edit::Delete(_) => {}
            Edit::Indent(line, n) => {
                let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
                let i = line % lines.len();
                lines[i] = format!("{}{}", " ".repeat(n), lines[i].trim_start_matches(' '));
                text = lines.join("\n");
            }
            Edit::Fragment(line, fragment) => {
                let mut lines: Vec<&str> = text.split('\n').collect();
                let i = line % lines.len();
                lines.insert(i, fragment);
                text = lines.join("\n");
            }
        }
    }
    text
}

fn floor_char_boundary(s: &str, mut at: usize) -> usize {
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[test]
fn generated_documents_read_the_same_by_both_paths_whenever_the_fast_path_answers() {
    let mut runner = TestRunner::new(Config { cases: 3000, ..Config::default() });
    let answered = std::cell::Cell::new(0usize);
    let built = std::cell::Cell::new(0usize);
    runner
        .run(&generated_document(), |text| {
            let ok = agrees(&text).map_err(TestCaseError::fail)?;
            answered.set(answered.get() + usize::from(ok));
            built.set(built.get() + usize::from(document(&text).is_some()));
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    // The property means little unless the fast path answers for a fair share of the cases.
    assert!(answered.get() > 200, "the fast path answered only {} times", answered.get());
    assert!(built.get() > 100, "the fast path built only {} documents", built.get());
}

#[test]
fn generated_lines_read_the_same_by_both_paths_whenever_the_fast_path_answers() {
    let mut runner = TestRunner::new(Config { cases: 3000, ..Config::default() });
    runner
        .run(&generated_lines(), |text| agrees(&text).map(|_| ()).map_err(TestCaseError::fail))
        .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn mutated_manifests_read_the_same_by_both_paths_whenever_the_fast_path_answers() {
    let mut runner = TestRunner::new(Config { cases: 3000, ..Config::default() });
    let answered = std::cell::Cell::new(0usize);
    runner
        .run(&prop::collection::vec(edit(), 1..4), |edits| {
            let text = apply(POD, &edits);
            let ok = agrees(&text).map_err(TestCaseError::fail)?;
            answered.set(answered.get() + usize::from(ok));
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(answered.get() > 100, "the fast path answered only {} times", answered.get());
}

#[test]
fn word_checks_find_every_unusual_byte() {
    for at in 0..8 {
        for byte in 0..=255u8 {
            let mut bytes = *b"abcdefgh";
            bytes[at] = byte;
            let w = u64::from_le_bytes(bytes);
            assert_eq!(super::printable_word(w), (0x20..=0x7E).contains(&byte), "{byte:#x} at {at}");
            assert_eq!(super::has_byte(w, b':'), byte == b':', "{byte:#x} at {at}");
        }
    }
}
