//! Expectations checked against helm 4.2.3 (`helm template` over a one-template chart); the
//! expected strings are helm's output, pasted.

use super::*;
use crate::format::sprint;
use crate::json;

fn values(text: &str) -> Value {
    match parse_values(text) {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}

/// A values file full of strings that need quoting, numbers and nested collections.
const TRICKY: &str = r##"s:
  t1: "true"
  t2: "1"
  t3: ""
  t4: "*"
  t5: "a: b"
  t6: " lead"
  t7: "trail "
  t8: "null"
  t9: "yes"
  t10: "on"
  t11: "multi\nline"
  t12: "multi\nline\n"
  t13: "multi\nline\n\n"
  t14: "this is a very long string that goes on and on and on past eighty columns for sure yes indeed"
  t15: "1.5"
  t16: "1e3"
  t17: "0x1F"
  t18: "~"
  t19: "-"
  t20: "- a"
  t21: "#x"
  t22: "a #b"
  t23: "@x"
  t24: "`x"
  t25: "tab\there"
  t26: "é"
  t27: "\u0001"
  t28: "1:20"
  t29: "2001-12-14"
  t30: "<<"
  t31: "a'b"
  t32: "{x}"
  t33: "[x]"
  t34: "x,y"
  t35: "!x"
  t36: "%x"
  t37: "&x"
  t38: "|x"
  t39: ">x"
  t40: "?x"
  t41: "x?"
  t42: "y"
  t43: "n"
  t44: " multi\nline"
  t45: "multi \nline"
  t46: "\n"
  t47: "0o17"
  t48: "+1"
  t49: ".5"
  t50: "1_000"
  t51: "0b101"
  t52: "a\r\nb"
  t53: "x\u2028y"
  t54: "\ufeffbom"
  t55: "trailing\n  indented"
  t56: "Y"
  t57: "NULL"
  t58: ".inf"
  t59: "12345678901234567890"
  t60: "="
n:
  i: 12
  f: 1.5
  big: 1e21
  big2: 1e20
  small: 1e-7
  neg: -3
  z: 0
  huge: 12345678901234567890
  m: 1000000
l:
- a
- - b
  - c
- x: 1
  y: 2
- []
- {}
-
e: {}
el: []
"##;

/// `{{ toYaml .Values }}` over [`TRICKY`].
const TRICKY_TO_YAML: &str = r##"e: {}
el: []
"false":
  big: 1e+21
  big2: 1e+20
  f: 1.5
  huge: 12345678901234567000
  i: 12
  m: 1000000
  neg: -3
  small: 1e-07
  z: 0
l:
- a
- - b
  - c
- "true": 2
  x: 1
- []
- {}
- null
s:
  t1: "true"
  t2: "1"
  t3: ""
  t4: '*'
  t5: 'a: b'
  t6: ' lead'
  t7: 'trail '
  t8: "null"
  t9: "yes"
  t10: "on"
  t11: |-
    multi
    line
  t12: |
    multi
    line
  t13: |+
    multi
    line

  t14: this is a very long string that goes on and on and on past eighty columns for
    sure yes indeed
  t15: "1.5"
  t16: "1e3"
  t17: "0x1F"
  t18: "~"
  t19: '-'
  t20: '- a'
  t21: '#x'
  t22: 'a #b'
  t23: '@x'
  t24: '`x'
  t25: "tab\there"
  t26: é
  t27: "\x01"
  t28: "1:20"
  t29: "2001-12-14"
  t30: <<
  t31: a'b
  t32: '{x}'
  t33: '[x]'
  t34: x,y
  t35: '!x'
  t36: '%x'
  t37: '&x'
  t38: '|x'
  t39: '>x'
  t40: ?x
  t41: x?
  t42: "y"
  t43: "n"
  t44: |2-
     multi
    line
  t45: "multi \nline"
  t46: |2+

  t47: "0o17"
  t48: "+1"
  t49: ".5"
  t50: "1_000"
  t51: "0b101"
  t52: "a\r\nb"
  t53: 'x     y'
  t54: "\uFEFF\x62\x6F\x6D"
  t55: |-
    trailing
      indented
  t56: "Y"
  t57: "NULL"
  t58: ".inf"
  t59: "12345678901234567890"
  t60: =
"##;

/// `{{ toYamlPretty .Values }}` over [`TRICKY`].
const TRICKY_TO_YAML_PRETTY: &str = r##"e: {}
el: []
"false":
  big: 1e+21
  big2: 1e+20
  f: 1.5
  huge: 1.2345678901234567e+19
  i: 12
  m: 1e+06
  neg: -3
  small: 1e-07
  z: 0
l:
  - a
  - - b
    - c
  - "true": 2
    x: 1
  - []
  - {}
  - null
s:
  t1: "true"
  t2: "1"
  t3: ""
  t4: '*'
  t5: 'a: b'
  t6: ' lead'
  t7: 'trail '
  t8: "null"
  t9: "yes"
  t10: "on"
  t11: |-
    multi
    line
  t12: |
    multi
    line
  t13: |+
    multi
    line

  t14: this is a very long string that goes on and on and on past eighty columns for sure yes indeed
  t15: "1.5"
  t16: "1e3"
  t17: "0x1F"
  t18: "~"
  t19: '-'
  t20: '- a'
  t21: '#x'
  t22: 'a #b'
  t23: '@x'
  t24: '`x'
  t25: "tab\there"
  t26: é
  t27: "\x01"
  t28: "1:20"
  t29: "2001-12-14"
  t30: <<
  t31: a'b
  t32: '{x}'
  t33: '[x]'
  t34: x,y
  t35: '!x'
  t36: '%x'
  t37: '&x'
  t38: '|x'
  t39: '>x'
  t40: ?x
  t41: x?
  t42: "y"
  t43: "n"
  t44: |2-
     multi
    line
  t45: "multi \nline"
  t46: |2+

  t47: "0o17"
  t48: "+1"
  t49: ".5"
  t50: "1_000"
  t51: "0b101"
  t52: "a\r\nb"
  t53: 'x     y'
  t54: "\uFEFF\x62\x6F\x6D"
  t55: |-
    trailing
      indented
  t56: "Y"
  t57: "NULL"
  t58: ".inf"
  t59: "12345678901234567890"
  t60: =
"##;

/// `{{ toJson .Values }}` over [`TRICKY`].
const TRICKY_TO_JSON: &str = r##"{"e":{},"el":[],"false":{"big":1e+21,"big2":100000000000000000000,"f":1.5,"huge":12345678901234567000,"i":12,"m":1000000,"neg":-3,"small":1e-7,"z":0},"l":["a",["b","c"],{"true":2,"x":1},[],{},null],"s":{"t1":"true","t10":"on","t11":"multi\nline","t12":"multi\nline\n","t13":"multi\nline\n\n","t14":"this is a very long string that goes on and on and on past eighty columns for sure yes indeed","t15":"1.5","t16":"1e3","t17":"0x1F","t18":"~","t19":"-","t2":"1","t20":"- a","t21":"#x","t22":"a #b","t23":"@x","t24":"`x","t25":"tab\there","t26":"é","t27":"\u0001","t28":"1:20","t29":"2001-12-14","t3":"","t30":"\u003c\u003c","t31":"a'b","t32":"{x}","t33":"[x]","t34":"x,y","t35":"!x","t36":"%x","t37":"\u0026x","t38":"|x","t39":"\u003ex","t4":"*","t40":"?x","t41":"x?","t42":"y","t43":"n","t44":" multi\nline","t45":"multi \nline","t46":"\n","t47":"0o17","t48":"+1","t49":".5","t5":"a: b","t50":"1_000","t51":"0b101","t52":"a\r\nb","t53":"x\u2028y","t54":"﻿bom","t55":"trailing\n  indented","t56":"Y","t57":"NULL","t58":".inf","t59":"12345678901234567890","t6":" lead","t60":"=","t7":"trail ","t8":"null","t9":"yes"}}
"##;

/// Key order, block scalars with every chomping, and long strings that wrap.
const WRAPPING: &str = r##"a: "x\n\n"
k:
  a10: 1
  a2: 2
  a01: 3
  a1: 4
  B: 5
  b: 6
  "1": 7
  "10": 8
  "9": 9
  _x: 10
  "-": 11
  é: 12
  ab: 13
  a: 14
s: "a\nb"
long: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bbb"
long2: "word word word word word word word word word word word word word word word word word word word word"
long3: "'word word word word word word word word word word word word word word word word word word word word"
long4: "word word word word word word word word word word word word word word word word word word word word:"
long5: "word word word word word word word word word word word word word word word word word word word word\t"
long6: "word word word word word word word word word word word word word word word word word word word word\nword word word word word word word word word word word word word word word word word word word word"
"##;

/// `{{ toYaml .Values }}` over [`WRAPPING`].
const WRAPPING_TO_YAML: &str = r##"a: |+
  x

k:
  '-': 11
  _x: 10
  "1": 7
  "9": 9
  "10": 8
  B: 5
  a: 14
  a1: 4
  a01: 3
  a2: 2
  a10: 1
  ab: 13
  b: 6
  é: 12
long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
  bbb
long2: word word word word word word word word word word word word word word word
  word word word word word
long3: '''word word word word word word word word word word word word word word word
  word word word word word'
long4: 'word word word word word word word word word word word word word word word
  word word word word word:'
long5: "word word word word word word word word word word word word word word word
  word word word word word\t"
long6: |-
  word word word word word word word word word word word word word word word word word word word word
  word word word word word word word word word word word word word word word word word word word word
s: |-
  a
  b
"##;

/// YAML 1.1 resolution of plain scalars (values without nulls and infinities).
const RESOLUTION: &str = r##"a: yes
b: no
c: on
d: off
e: 0o17
f: 0x1F
g: 1_000
j: 1e3
k: 012
l: 12
m: y
n: True
o: 1.5
r: 0b101
s: 12345678901234567890
t: 1:20
u: 2001-12-14
x: +12
y: 1.
z: "12"
"##;

/// `{{ toJson .Values }}` over [`RESOLUTION`].
const RESOLUTION_TO_JSON: &str = r##"{"a":true,"b":false,"c":true,"d":false,"e":15,"f":31,"false":true,"g":1000,"j":1000,"k":10,"l":12,"m":true,"o":1.5,"r":5,"s":12345678901234567000,"t":"1:20","true":1,"u":"2001-12-14","x":12,"z":"12"}
"##;

#[test]
fn to_yaml_of_tricky_values_matches_helm() {
    assert_eq!(to_yaml(&values(TRICKY)) + "\n", TRICKY_TO_YAML);
}

#[test]
fn to_yaml_pretty_of_tricky_values_matches_helm() {
    assert_eq!(to_yaml_pretty(&values(TRICKY)) + "\n", TRICKY_TO_YAML_PRETTY);
}

#[test]
fn to_json_of_tricky_values_matches_helm() {
    assert_eq!(json::marshal(&values(TRICKY)).unwrap() + "\n", TRICKY_TO_JSON);
}

#[test]
fn to_yaml_sorts_keys_like_go_yaml_and_wraps_at_80_columns() {
    assert_eq!(to_yaml(&values(WRAPPING)) + "\n", WRAPPING_TO_YAML);
}

#[test]
fn values_resolve_plain_scalars_as_yaml_1_1() {
    assert_eq!(json::marshal(&values(RESOLUTION)).unwrap() + "\n", RESOLUTION_TO_JSON);
}
