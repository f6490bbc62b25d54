// Generated from `helm template` (Helm 4.2.3) output for each template; see the module doc.

pub const CASES: &[(&str, Result<&str, &str>)] = &[
    ("text only", Ok("text only")),
    ("{{ .Values.name }}", Ok("web")),
    ("{{ .Values.replicas }} {{ .Values.ratio }} {{ .Values.flag }}", Ok("3 0.5 true")),
    ("a {{- \" b \" -}} c", Ok("a b c")),
    ("a\n  {{- /* comment */ -}}\n  b", Ok("ab")),
    ("x {{/* c */}} y", Ok("x  y")),
    ("{{ .Values.list }} {{ .Values.m }} {{ .Values.nested }}", Ok("[a b c] map[a:1 b:2] map[x:map[z:deep]]")),
    ("[{{ .Values.nope }}] [{{ .Values.nul }}]", Ok("[] []")),
    ("{{ .Values.nested.x.z }}", Ok("deep")),
    (
        "{{ .Values.nope.b }}",
        Err(
            "template: hc/templates/x.yaml:1:10: executing \"hc/templates/x.yaml\" at <.Values.nope.b>: nil pointer evaluating interface {}.b",
        ),
    ),
    ("{{ $x := .Values.nope }}[{{ $x.b }}]", Ok("[]")),
    ("{{ if .Values.flag }}yes{{ else }}no{{ end }}", Ok("yes")),
    ("{{ if .Values.empty }}a{{ else if .Values.nope }}b{{ else if .Values.name }}c{{ else }}d{{ end }}", Ok("c")),
    ("{{ with .Values.nested }}{{ .x.z }}{{ end }}", Ok("deep")),
    ("{{ with .Values.nope }}yes{{ else with .Values.name }}{{ . }}{{ else }}none{{ end }}", Ok("web")),
    ("{{ with .Values.nope }}yes{{ else }}none{{ end }}", Ok("none")),
    ("{{ range .Values.list }}[{{ . }}]{{ end }}", Ok("[a][b][c]")),
    ("{{ range $i, $v := .Values.list }}{{ $i }}={{ $v }};{{ end }}", Ok("0=a;1=b;2=c;")),
    ("{{ range $k, $v := .Values.m }}{{ $k }}={{ $v }};{{ end }}", Ok("a=1;b=2;")),
    ("{{ range $v := .Values.m }}{{ $v }};{{ end }}", Ok("1;2;")),
    ("{{ range .Values.nope }}x{{ else }}empty{{ end }}", Ok("empty")),
    ("{{ range 3 }}{{ . }}{{ end }}", Ok("012")),
    ("{{ range $i := 3 }}{{ $i }}{{ end }}", Ok("012")),
    ("{{ range .Values.list }}{{ if eq . \"b\" }}{{ continue }}{{ end }}{{ . }}{{ end }}", Ok("ac")),
    ("{{ range .Values.list }}{{ if eq . \"b\" }}{{ break }}{{ end }}{{ . }}{{ end }}", Ok("a")),
    ("{{ range .Values.objs }}{{ .nm }} {{ $.Values.name }};{{ end }}", Ok("one web;two web;")),
    ("{{ $x := 1 }}{{ range .Values.list }}{{ $x = . }}{{ end }}{{ $x }}", Ok("c")),
    ("{{ $x := 1 }}{{ if true }}{{ $x := 2 }}{{ $x }}{{ end }}{{ $x }}", Ok("21")),
    ("{{ $a, $b := 1, 2 }}", Err("template: hc/templates/x.yaml:1: too many declarations in command")),
    ("{{ define \"t1\" }}T1 {{ . }}{{ end }}{{ template \"t1\" \"arg\" }}", Ok("T1 arg")),
    ("{{ define \"t2\" }}[{{ . }}]{{ end }}{{ template \"t2\" }}", Ok("[]")),
    ("{{ block \"blk\" .Values.name }}block {{ . }}{{ end }}", Ok("block web")),
    ("{{ (.Values.nested).x.z }} {{ (index .Values.objs 1).nm }}", Ok("deep two")),
    ("{{ index .Values.m \"a\" }} {{ index .Values.list 2 }} {{ index .Values.nested \"x\" \"z\" }}", Ok("1 c deep")),
    (
        "{{ index .Values.list 3 }}",
        Err(
            "template: hc/templates/x.yaml:1:3: executing \"hc/templates/x.yaml\" at <index .Values.list 3>: error calling index: reflect: slice index out of range",
        ),
    ),
    ("{{ len .Values.list }} {{ len .Values.m }} {{ len .Values.name }}", Ok("3 2 3")),
    (
        "{{ len 3 }}",
        Err(
            "template: hc/templates/x.yaml:1:3: executing \"hc/templates/x.yaml\" at <len 3>: error calling len: len of type int",
        ),
    ),
    (
        "{{ and 1 0 2 }} {{ and 1 2 }} {{ or 0 \"\" \"x\" }} {{ or 0 \"\" }} {{ not 0 }} {{ not \"a\" }}",
        Ok("0 2 x  true false"),
    ),
    ("{{ and .Values.flag .Values.name }} {{ or .Values.nope .Values.name }}", Ok("web web")),
    (
        "{{ eq 1 1 }} {{ eq \"a\" \"b\" \"a\" }} {{ ne 1 2 }} {{ lt 1 2 }} {{ le 2 2 }} {{ gt \"b\" \"a\" }} {{ ge 1.5 2.5 }}",
        Ok("true true true true true true false"),
    ),
    ("{{ eq .Values.replicas 3.0 }}", Ok("true")),
    (
        "{{ eq .Values.replicas 3 }}",
        Err(
            "template: hc/templates/x.yaml:1:3: executing \"hc/templates/x.yaml\" at <eq .Values.replicas 3>: error calling eq: incompatible types for comparison: float64 and int",
        ),
    ),
    ("{{ eq .Values.nope nil }} {{ eq .Values.name nil }}", Ok("true false")),
    (
        "{{ lt .Values.list 1 }}",
        Err(
            "template: hc/templates/x.yaml:1:3: executing \"hc/templates/x.yaml\" at <lt .Values.list 1>: error calling lt: invalid type for comparison",
        ),
    ),
    (
        "{{ eq .Values.list .Values.list }}",
        Err(
            "template: hc/templates/x.yaml:1:3: executing \"hc/templates/x.yaml\" at <eq .Values.list .Values.list>: error calling eq: non-comparable type [a b c]: []interface {}",
        ),
    ),
    ("{{ print 1 2 \"a\" \"b\" 3 nil }}", Ok("1 2ab3 <nil>")),
    ("{{ println \"a\" 1 }}x", Ok("a 1\nx")),
    (
        "{{ printf \"%d|%5d|%-5d|%05d|%+d|%x|%X|%o|%b|%c|%q|%U\" 1 2 3 -4 5 255 255 8 5 65 65 65 }}",
        Ok("1|    2|3    |-0004|+5|ff|FF|10|101|A|'A'|U+0041"),
    ),
    (
        "{{ printf \"%s|%q|%10s|%-4s|%.2s|%x|%v|%T\" \"a\" \"b\\n\" \"c\" \"d\" \"xyz\" \"hi\" .Values.list .Values.m }}",
        Ok("a|\"b\\n\"|         c|d   |xy|6869|[a b c]|map[string]interface {}"),
    ),
    (
        "{{ printf \"%f %.2f %e %g %G %8.3f %v %v\" 3.14159 2.005 1234.5 1e21 1e-7 -3.14159 0.5 .Values.replicas }}",
        Ok("3.141590 2.00 1.234500e+03 1e+21 1E-07   -3.142 0.5 3"),
    ),
    ("{{ printf \"%d %s %t\" \"hi\" 1 \"x\" }}", Ok("%!d(string=hi) %!s(int=1) %!t(string=x)")),
    ("{{ printf \"%s %d\" \"a\" }}", Ok("a %!d(MISSING)")),
    ("{{ printf \"%s\" \"a\" 1 2.5 }}", Ok("a%!(EXTRA int=1, float64=2.5)")),
    ("{{ printf \"%v %s %d\" nil .Values.nope .Values.nul }}", Ok("<nil> %!s(<nil>) %!d(<nil>)")),
    ("{{ printf \"%*d|%.*f|%-*s|\" 4 7 1 2.25 3 \"a\" }}", Ok("   7|2.2|a  |")),
    (
        "{{ printf \"%5.1f|%-8.3e|%+.0f|% d|%#x|%#o|%08.3f\" 3.14159 1234.5678 2.5 5 255 8 -3.14159 }}",
        Ok("  3.1|1.235e+03|+2| 5|0xff|010|-003.142"),
    ),
    ("{{ printf \"%v %v %v %v\" 1e6 1e-5 100000.0 123456789.0 }}", Ok("1e+06 1e-05 100000 1.23456789e+08")),
    ("{{ printf \"%T %T %T %T %T\" 1 1.5 \"s\" true .Values.list }}", Ok("int float64 string bool []interface {}")),
    (
        "{{ printf \"%v|%d|%s\" .Values.nums .Values.nums .Values.list }}",
        Ok("[1 2 3]|[%!d(float64=1) %!d(float64=2) %!d(float64=3)]|[a b c]"),
    ),
    ("{{ printf \"100%%\" }}", Ok("100%")),
    (
        "{{ html \"<a href='x'>&\\\"\" }} {{ js \"a'b\\\"c<d>=&\" }} {{ urlquery \"a b&c=d/é\" }}",
        Ok("&lt;a href=&#39;x&#39;&gt;&amp;&#34; a\\'b\\\"c\\u003Cd\\u003E\\u003D\\u0026 a+b%26c%3Dd%2F%C3%A9"),
    ),
    (
        "{{ \"quoted\\t\\\"str\\\"\" }} {{ `raw\\n` }} {{ 'a' }} {{ 0x1F }} {{ 0o17 }} {{ 0b101 }} {{ 1_000 }} {{ 1.5e3 }} {{ 017 }} {{ -7 }} {{ +3 }}",
        Ok("quoted\t\"str\" raw\\n 97 31 15 5 1000 1500 15 -7 3"),
    ),
    ("{{ 1.0 }} {{ 2e2 }} {{ true }} {{ \"\\u00e9\\x41\" }}", Ok("1 200 true éA")),
    ("{{ upper \"abc\" }} {{ \"abc\" | upper }} {{ .Values.name | upper | printf \"%s!\" }}", Ok("ABC ABC WEB!")),
    (
        "{{ upper 3 }}",
        Err("template: hc/templates/x.yaml:1:9: executing \"hc/templates/x.yaml\" at <3>: expected string; found 3"),
    ),
    (
        "{{ upper .Values.nope }}",
        Err(
            "template: hc/templates/x.yaml:1:16: executing \"hc/templates/x.yaml\" at <.Values.nope>: wrong type for value; expected string; got interface {}",
        ),
    ),
    (
        "{{ $x := .Values.nope }}{{ upper $x }}",
        Err(
            "template: hc/templates/x.yaml:1:33: executing \"hc/templates/x.yaml\" at <$x>: invalid value; expected string",
        ),
    ),
    (
        "{{ .Values.nope | upper }}",
        Err(
            "template: hc/templates/x.yaml:1:18: executing \"hc/templates/x.yaml\" at <upper>: invalid value; expected string",
        ),
    ),
    (
        "{{ upper .Values.replicas }}",
        Err(
            "template: hc/templates/x.yaml:1:16: executing \"hc/templates/x.yaml\" at <.Values.replicas>: wrong type for value; expected string; got float64",
        ),
    ),
    (
        "{{ upper }}",
        Err(
            "template: hc/templates/x.yaml:1:3: executing \"hc/templates/x.yaml\" at <upper>: wrong number of args for upper: want 1 got 0",
        ),
    ),
    (
        "{{ upper \"a\" \"b\" }}",
        Err(
            "template: hc/templates/x.yaml:1:3: executing \"hc/templates/x.yaml\" at <upper>: wrong number of args for upper: want 1 got 2",
        ),
    ),
    ("{{ repeat 3 \"ab\" }} {{ \"x\" | repeat 2 }}", Ok("ababab xx")),
    (
        "{{ repeat \"3\" \"ab\" }}",
        Err(
            "template: hc/templates/x.yaml:1:10: executing \"hc/templates/x.yaml\" at <\"3\">: expected integer; found \"3\"",
        ),
    ),
    (
        "{{ repeat 2.5 \"ab\" }}",
        Err(
            "template: hc/templates/x.yaml:1:10: executing \"hc/templates/x.yaml\" at <2.5>: expected integer; found 2.5",
        ),
    ),
    (
        "{{ repeat .Values.replicas \"ab\" }}",
        Err(
            "template: hc/templates/x.yaml:1:17: executing \"hc/templates/x.yaml\" at <.Values.replicas>: wrong type for value; expected int; got float64",
        ),
    ),
    ("{{ repeat (len .Values.list) \"ab\" }}", Ok("ababab")),
    (
        "{{ repeat -1 \"ab\" }}",
        Err(
            "template: hc/templates/x.yaml:1:3: executing \"hc/templates/x.yaml\" at <repeat -1 \"ab\">: error calling repeat: strings: negative Repeat count",
        ),
    ),
    ("{{ quote \"a\" 1 .Values.nope }} {{ list 1 \"a\" nil }}", Ok("\"a\" \"1\" [1 a <nil>]")),
    ("{{ nope }}", Err("template: hc/templates/x.yaml:1: function \"nope\" not defined")),
    ("{{ .Values.name }", Err("template: hc/templates/x.yaml:1: unexpected \"}\" in operand")),
    ("{{ if 1 }}x", Err("template: hc/templates/x.yaml:1: unexpected EOF")),
    ("{{ end }}", Err("template: hc/templates/x.yaml:1: unexpected {{end}}")),
    ("{{ else }}", Err("template: hc/templates/x.yaml:1: unexpected {{else}}")),
    ("{{ $x }}", Err("template: hc/templates/x.yaml:1: undefined variable \"$x\"")),
    (
        "{{ range $i, $j, $k := .Values.list }}{{ end }}",
        Err("template: hc/templates/x.yaml:1: too many declarations in range"),
    ),
    ("{{ break }}", Err("template: hc/templates/x.yaml:1: {{break}} outside {{range}}")),
    ("{{ 1 | 2 }}", Err("template: hc/templates/x.yaml:1: non executable command in pipeline stage 2")),
    ("{{ \"a\".b }}", Err("template: hc/templates/x.yaml:1: unexpected . after term \"\\\"a\\\"\"")),
    ("{{ 3x }}", Err("template: hc/templates/x.yaml:1: bad number syntax: \"3x\"")),
    ("{{ 99999999999999999999 }}", Err("template: hc/templates/x.yaml:1: integer overflow: \"99999999999999999999\"")),
    ("{{ \"abc }}", Err("template: hc/templates/x.yaml:1: unterminated quoted string")),
    ("{{ .Values.name | }}", Ok("web")),
    ("{{ ( .Values.name }}", Err("template: hc/templates/x.yaml:1: unclosed left paren")),
    ("{{ .Values.name ) }}", Err("template: hc/templates/x.yaml:1: unexpected right paren")),
    ("{{/* unclosed", Err("template: hc/templates/x.yaml:1: unclosed comment")),
    (
        "{{ template \"nope\" . }}",
        Err(
            "template: hc/templates/x.yaml:1:12: executing \"hc/templates/x.yaml\" at <{{template \"nope\" .}}>: template \"nope\" not defined",
        ),
    ),
    ("{{ template nope }}", Err("template: hc/templates/x.yaml:1: unexpected \"nope\" in template clause")),
    (
        "{{ define \"a\" }}x{{ end }}{{ define \"a\" }}y{{ end }}",
        Err("template: hc/templates/x.yaml:1: template: multiple definition of template \"a\""),
    ),
    (
        "{{ .Values.name.x }}",
        Err(
            "template: hc/templates/x.yaml:1:10: executing \"hc/templates/x.yaml\" at <.Values.name.x>: can't evaluate field x in type interface {}",
        ),
    ),
    (
        "{{ .Values.replicas.x }}",
        Err(
            "template: hc/templates/x.yaml:1:10: executing \"hc/templates/x.yaml\" at <.Values.replicas.x>: can't evaluate field x in type interface {}",
        ),
    ),
    (
        "{{ range .Values.name }}{{ . }}{{ end }}",
        Err(
            "template: hc/templates/x.yaml:1:16: executing \"hc/templates/x.yaml\" at <.Values.name>: range can't iterate over web",
        ),
    ),
    (
        "{{ range 2.5 }}{{ . }}{{ end }}",
        Err(
            "template: hc/templates/x.yaml:1:9: executing \"hc/templates/x.yaml\" at <2.5>: range can't iterate over 2.5",
        ),
    ),
    (
        "{{ range $i, $v := 3 }}{{ end }}",
        Err(
            "template: hc/templates/x.yaml:1:19: executing \"hc/templates/x.yaml\" at <3>: can't use 3 to iterate over more than one variable",
        ),
    ),
    (
        "{{ range list nil }}{{ .a }}{{ end }}",
        Err(
            "template: hc/templates/x.yaml:1:23: executing \"hc/templates/x.yaml\" at <.a>: nil pointer evaluating interface {}.a",
        ),
    ),
    (
        "{{ nil }}",
        Err("template: hc/templates/x.yaml:1:3: executing \"hc/templates/x.yaml\" at <nil>: nil is not a command"),
    ),
    (
        "{{ 1 2 }}",
        Err(
            "template: hc/templates/x.yaml:1:3: executing \"hc/templates/x.yaml\" at <1>: can't give argument to non-function 1",
        ),
    ),
    (
        "{{ .Values.name 1 }}",
        Err(
            "template: hc/templates/x.yaml:1:10: executing \"hc/templates/x.yaml\" at <.Values.name>: name is not a method but has arguments",
        ),
    ),
    (
        "{{ $x := 1 }}{{ $x 2 }}",
        Err(
            "template: hc/templates/x.yaml:1:16: executing \"hc/templates/x.yaml\" at <$x>: can't give argument to non-function $x",
        ),
    ),
    ("{{ index .Values.name 1 }} {{ slice .Values.list 1 2 }}", Ok("101 [b]")),
    (
        "{{ index nil 1 }}",
        Err(
            "template: hc/templates/x.yaml:1:3: executing \"hc/templates/x.yaml\" at <index nil 1>: error calling index: index of untyped nil",
        ),
    ),
    (
        "{{ index .Values.list \"a\" }}",
        Err(
            "template: hc/templates/x.yaml:1:3: executing \"hc/templates/x.yaml\" at <index .Values.list \"a\">: error calling index: cannot index slice/array with type string",
        ),
    ),
    (
        "{{ index 3 1 }}",
        Err(
            "template: hc/templates/x.yaml:1:3: executing \"hc/templates/x.yaml\" at <index 3 1>: error calling index: can't index item of type int",
        ),
    ),
    (
        "{{ and }}",
        Err(
            "template: hc/templates/x.yaml:1:3: executing \"hc/templates/x.yaml\" at <and>: wrong number of args for and: want at least 1 got 0",
        ),
    ),
    (
        "{{ eq 1 }}",
        Err(
            "template: hc/templates/x.yaml:1:3: executing \"hc/templates/x.yaml\" at <eq 1>: error calling eq: missing argument for comparison",
        ),
    ),
    (
        "{{ lt 1 }}",
        Err(
            "template: hc/templates/x.yaml:1:3: executing \"hc/templates/x.yaml\" at <lt>: wrong number of args for lt: want 2 got 1",
        ),
    ),
    (
        "{{ (1).x }}",
        Err(
            "template: hc/templates/x.yaml:1:4: executing \"hc/templates/x.yaml\" at <1>: can't evaluate field x in type int",
        ),
    ),
    (
        "line1\nline2 {{ .Values.nested.nope.deeper }}",
        Err(
            "template: hc/templates/x.yaml:2:16: executing \"hc/templates/x.yaml\" at <.Values.nested.nope.deeper>: nil pointer evaluating interface {}.deeper",
        ),
    ),
    (
        "{{ include \"hc.name\" . }}|{{ include \"hc.upper\" .Values.name }}\n~~~~\n{{- define \"hc.name\" -}}{{ .Values.name }}-name{{- end -}}\n{{- define \"hc.upper\" -}}{{ upper . }}{{- end -}}",
        Ok("web-name|WEB"),
    ),
    (
        "{{ include \"hc.bad\" . }}\n~~~~\n{{ define \"hc.bad\" }}\n  {{ .Values.nope.x }}\n{{ end }}",
        Err(
            "template: hc/templates/x.yaml:1:3: executing \"hc/templates/x.yaml\" at <include \"hc.bad\" .>: error calling include: template: hc/templates/_helpers.tpl:2:12: executing \"hc.bad\" at <.Values.nope.x>: nil pointer evaluating interface {}.x",
        ),
    ),
    (
        "{{ include \"missing\" . }}",
        Err(
            "template: hc/templates/x.yaml:1:3: executing \"hc/templates/x.yaml\" at <include \"missing\" .>: error calling include: template: no template \"missing\" associated with template \"gotpl\"",
        ),
    ),
    (
        "{{ tpl \"{{ .Values.name }}-{{ include \\\"hc.n\\\" . }}\" . }}\n~~~~\n{{ define \"hc.n\" }}N{{ end }}",
        Ok("web-N"),
    ),
    ("{{ tpl \"{{ define \\\"inner\\\" }}I{{ end }}{{ template \\\"inner\\\" }}\" . }}", Ok("I")),
    (
        "{{ tpl \"{{ .nope.x }}\" .Values }}",
        Err(
            "template: hc/templates/x.yaml:1:3: executing \"hc/templates/x.yaml\" at <tpl \"{{ .nope.x }}\" .Values>: error calling tpl: error during tpl function execution for \"{{ .nope.x }}\": template: gotpl:1:8: executing \"gotpl\" at <.nope.x>: nil pointer evaluating interface {}.x",
        ),
    ),
    (
        "{{ template \"hc.rec\" 0 }}\n~~~~\n{{ define \"hc.rec\" }}{{ template \"hc.rec\" . }}{{ end }}",
        Err(
            "template: hc/templates/_helpers.tpl:1:33: executing \"hc.rec\" at <{{template \"hc.rec\" .}}>: exceeded maximum template depth (100000)",
        ),
    ),
    ("{{\n  .Values.name\n}}", Ok("web")),
    ("{{ range $i, $e := .Values.nope }}x{{ else }}none{{ end }}", Ok("none")),
    ("{{ with $x := .Values.name }}{{ $x }}-{{ . }}{{ end }}", Ok("web-web")),
    ("{{ if and .Values.flag (eq .Values.name \"web\") }}both{{ end }}", Ok("both")),
    ("{{ define \"d1\" }}{{ $.Values.name }}/{{ .Values.name }}{{ end }}{{ template \"d1\" . }}", Ok("web/web")),
    (
        "{{ printf \"%q|%v|%s|%d\" .Values.list .Values.nested 3.5 3.0 }}",
        Ok("[\"a\" \"b\" \"c\"]|map[x:map[z:deep]]|%!s(float64=3.5)|%!d(float64=3)"),
    ),
    (
        "{{ printf \"%05.1f|%x|%e|%g|%.3g|%10.4v|%-10d|\" -2.5 -255 0.0 100000000.0 1234.5678 \"abcdefgh\" 5 }}",
        Ok("-02.5|-ff|0.000000e+00|1e+08|1.23e+03|      abcd|5         |"),
    ),
    (
        "{{ printf \"%+q|%#q|%c%c|%08b|%5t|%T|%p\" \"é\" \"abc\" 0x1F600 65 5 true nil 1 }}",
        Ok("\"\\u00e9\"|`abc`|😀A|00000101| true|<nil>|%!p(int=1)"),
    ),
    ("{{ printf \"abc%\" }}", Ok("abc%!(NOVERB)")),
    ("{{ printf \"%6.2f%%|%.0f|%.1f|%.2f\" 12.345 0.5 0.25 1.005 }}", Ok(" 12.35%|0|0.2|1.00")),
    (
        "{{ printf \"%v %v %v %v %v\" 0.000001 123456.0 1234567.0 -0.0 1e100 }}",
        Ok("1e-06 123456 1.234567e+06 -0 1e+100"),
    ),
    ("{{ printf \"%#v|%+v|%#x|%X\" .Values.name .Values.m \"hi\" \"hi\" }}", Ok("\"web\"|map[a:1 b:2]|0x6869|6869")),
    ("{{ printf \"%3c|%-4q|%U|%#U\" 65 66 0x1F600 0x1F600 }}", Ok("  A|'B' |U+1F600|U+1F600 '😀'")),
    ("{{ printf \"%d %d\" .Values.replicas (len .Values.list) }}", Ok("%!d(float64=3) 3")),
    ("{{ printf \"%s\" .Values.m }}", Ok("map[a:%!s(float64=1) b:%!s(float64=2)]")),
    ("{{ printf \"%v|%s\" (list 1 \"a\" nil) .Values.nul }}", Ok("[1 a <nil>]|%!s(<nil>)")),
    ("{{ printf \"%[2]d %[1]d\" 1 2 }}", Ok("2 1")),
    ("{{ printf \"%.*d|%-*d|\" 3 7 -4 5 }}", Ok("007|5   |")),
    ("{{ print \"a\" \"b\" 1 2 true \"c\" nil nil }}", Ok("ab1 2 truec<nil> <nil>")),
    ("{{ println }}x", Ok("\nx")),
    ("{{ html 1 \"<\" }} {{ js \"é\\u2028\" }} {{ urlquery 1 2 }}", Ok("1&lt; é\\u2028 1+2")),
    (
        "{{ index .Values.nested \"x\" \"nope\" \"deeper\" }}",
        Err(
            "template: hc/templates/x.yaml:1:3: executing \"hc/templates/x.yaml\" at <index .Values.nested \"x\" \"nope\" \"deeper\">: error calling index: index of nil pointer",
        ),
    ),
    (
        "{{ index .Values.list -1 }}",
        Err(
            "template: hc/templates/x.yaml:1:3: executing \"hc/templates/x.yaml\" at <index .Values.list -1>: error calling index: index out of range: -1",
        ),
    ),
    (
        "{{ index .Values.list 1.5 }}",
        Err(
            "template: hc/templates/x.yaml:1:3: executing \"hc/templates/x.yaml\" at <index .Values.list 1.5>: error calling index: cannot index slice/array with type float64",
        ),
    ),
    (
        "{{ index .Values.m 1 }}",
        Err(
            "template: hc/templates/x.yaml:1:3: executing \"hc/templates/x.yaml\" at <index .Values.m 1>: error calling index: value has type int; should be string",
        ),
    ),
    (
        "{{ len .Values.nope }}",
        Err(
            "template: hc/templates/x.yaml:1:3: executing \"hc/templates/x.yaml\" at <len .Values.nope>: error calling len: len of nil pointer",
        ),
    ),
    (
        "{{ not }}",
        Err(
            "template: hc/templates/x.yaml:1:3: executing \"hc/templates/x.yaml\" at <not>: wrong number of args for not: want 1 got 0",
        ),
    ),
    (
        "{{ not 1 2 }}",
        Err(
            "template: hc/templates/x.yaml:1:3: executing \"hc/templates/x.yaml\" at <not>: wrong number of args for not: want 1 got 2",
        ),
    ),
    (
        "{{ eq \"a\" \"a\" \"b\" }} {{ eq 1 2 3 1 }} {{ ne \"a\" \"b\" }} {{ eq true true }} {{ lt \"a\" \"b\" }} {{ lt 1.5 2.5 }}",
        Ok("true true true true true true"),
    ),
    (
        "{{ lt true false }}",
        Err(
            "template: hc/templates/x.yaml:1:3: executing \"hc/templates/x.yaml\" at <lt true false>: error calling lt: invalid type for comparison",
        ),
    ),
    (
        "{{ eq .Values.m .Values.m }}",
        Err(
            "template: hc/templates/x.yaml:1:3: executing \"hc/templates/x.yaml\" at <eq .Values.m .Values.m>: error calling eq: non-comparable type map[a:%!s(float64=1) b:%!s(float64=2)]: map[string]interface {}",
        ),
    ),
    ("{{ eq .Values.nope .Values.nope }} {{ eq nil nil }}", Ok("true true")),
    ("{{ $x := 0 }}{{ range .Values.list }}{{ $x = 1 }}{{ $y := 2 }}{{ end }}{{ $x }}", Ok("1")),
    (
        "{{ range .Values.list }}{{ $y := 2 }}{{ end }}{{ $y }}",
        Err("template: hc/templates/x.yaml:1: undefined variable \"$y\""),
    ),
    (
        "{{ $x = 1 }}",
        Err("template: hc/templates/x.yaml:1:8: executing \"hc/templates/x.yaml\" at <1>: undefined variable: $x"),
    ),
    ("{{ range $k, $v := .Values.nested }}{{ $k }}:{{ $v.z }}{{ end }}", Ok("x:deep")),
    (
        "{{ range $i, $c := \"abc\" }}{{ end }}",
        Err(
            "template: hc/templates/x.yaml:1:19: executing \"hc/templates/x.yaml\" at <\"abc\">: range can't iterate over abc",
        ),
    ),
    ("{{ range $.Values.objs }}{{ $.Values.name }}{{ .nm }}{{ end }}", Ok("webonewebtwo")),
    ("{{ if }}{{ end }}", Err("template: hc/templates/x.yaml:1: missing value for if")),
    ("{{ range }}{{ end }}", Err("template: hc/templates/x.yaml:1: missing value for range")),
    (
        "{{ with .Values.name }}{{ else if .Values.flag }}{{ end }}",
        Err("template: hc/templates/x.yaml:1: unexpected <if> in input"),
    ),
    ("{{ if 1 }}{{ else }}{{ else }}{{ end }}", Err("template: hc/templates/x.yaml:1: expected end; found {{else}}")),
    (
        "{{ define \"x\" }}{{ define \"y\" }}{{ end }}{{ end }}",
        Err("template: hc/templates/x.yaml:1: unexpected <define> in command"),
    ),
    (
        "{{ template \"x\" 1 2 }}",
        Err(
            "template: hc/templates/x.yaml:1:12: executing \"hc/templates/x.yaml\" at <{{template \"x\" 1 2}}>: template \"x\" not defined",
        ),
    ),
    ("{{ continue }}", Err("template: hc/templates/x.yaml:1: {{continue}} outside {{range}}")),
    (
        "{{ range .Values.list }}{{ break 1 }}{{ end }}",
        Err("template: hc/templates/x.yaml:1: unexpected \"1\" in {{break}}"),
    ),
    ("{{ .Values.name | printf \"%s-%s\" \"a\" }}", Ok("a-web")),
    ("{{ \"x\" | printf \"%s\" | upper | printf \"[%s]\" }}", Ok("[X]")),
    ("{{ .Values.list | len }}", Ok("3")),
    ("{{ 3 | printf \"%d\" }}", Ok("3")),
    ("{{ .Values | len }}", Ok("10")),
    (
        "{{ .Values.name | .Values.list }}",
        Err(
            "template: hc/templates/x.yaml:1:25: executing \"hc/templates/x.yaml\" at <.Values.list>: list is not a method but has arguments",
        ),
    ),
    ("{{ (printf \"%s\" \"a\") }} {{ ((1)) }} {{ (.Values.name | upper) }}", Ok("a 1 WEB")),
    (
        "{{ (printf \"%s\" \"a\").x }}",
        Err(
            "template: hc/templates/x.yaml:1:16: executing \"hc/templates/x.yaml\" at <\"a\">: can't evaluate field x in type string",
        ),
    ),
    ("{{ $.Values.nested.x.z }} {{ $.Values | len }}", Ok("deep 10")),
    (
        "{{ $x := .Values.nested }}{{ $x.x.z }} {{ $x.nope.z }}",
        Err(
            "template: hc/templates/x.yaml:1:44: executing \"hc/templates/x.yaml\" at <$x.nope.z>: nil pointer evaluating interface {}.z",
        ),
    ),
    (
        "{{ .Values.nested.x.nope.z }}",
        Err(
            "template: hc/templates/x.yaml:1:10: executing \"hc/templates/x.yaml\" at <.Values.nested.x.nope.z>: nil pointer evaluating interface {}.z",
        ),
    ),
    (
        "{{ .Values.flag.x }}",
        Err(
            "template: hc/templates/x.yaml:1:10: executing \"hc/templates/x.yaml\" at <.Values.flag.x>: can't evaluate field x in type interface {}",
        ),
    ),
    (
        "{{ .Values.list.x }}",
        Err(
            "template: hc/templates/x.yaml:1:10: executing \"hc/templates/x.yaml\" at <.Values.list.x>: can't evaluate field x in type interface {}",
        ),
    ),
    (
        "{{ \"\\x41\\101\\u0042\\U00000043\\a\\b\\f\\n\\r\\t\\v\\\\\\\"\" | printf \"%q\" }}",
        Ok("\"AABC\\a\\b\\f\\n\\r\\t\\v\\\\\\\"\""),
    ),
    ("{{ \"\\q\" }}", Err("template: hc/templates/x.yaml:1: invalid syntax")),
    ("{{ 'ab' }}", Err("template: hc/templates/x.yaml:1: malformed character constant: 'ab'")),
    ("{{ '\\n' }} {{ '\\'' }} {{ 'é' }}", Ok("10 39 233")),
    ("{{ 1e400 }}", Err("template: hc/templates/x.yaml:1: illegal number syntax: \"1e400\"")),
    ("{{ 0x }}", Err("template: hc/templates/x.yaml:1: illegal number syntax: \"0x\"")),
    ("{{ 1.5.5 }}", Err("template: hc/templates/x.yaml:1: unexpected \".5\" in operand")),
    ("{{ -0 }} {{ 0.5e-3 }} {{ 0x1p4 }} {{ 0x1.8p1 }}", Ok("0 0.0005 16 3")),
    ("{{ .Values.name | printf \"%d\" }}", Ok("%!d(string=web)")),
    ("{{- \"a\" -}}\n  {{- \"b\" }}", Ok("ab")),
    ("a{{- 1 -}}b{{ 2 }} {{- 3 }} c", Ok("a1b23 c")),
    ("{{-1}} {{ -1 }}", Ok("-1 -1")),
    ("{{ .Values.nme }}|{{ .Values.nul }}|{{ print .Values.nope }}", Ok("||<nil>")),
    ("{{ template \"t3\" }}{{ define \"t3\" }}x{{ .a }}y{{ end }}", Ok("xy")),
    ("a\n{{ if", Err("template: hc/templates/x.yaml:2: unclosed action")),
    ("a\n{{ .Values.name\n  | upper }", Err("template: hc/templates/x.yaml:3: unexpected \"}\" in operand")),
    ("{{ \"a\nb\" }}", Err("template: hc/templates/x.yaml:1: unterminated quoted string")),
    (
        "a\n{{ (\n  1 }}",
        Err("template: hc/templates/x.yaml:3: unclosed left paren in action started at hc/templates/x.yaml:2"),
    ),
    (
        "x\n{{ define \"q\" }}\n{{ .Values.name.x }}\n{{ end }}\n{{ template \"q\" . }}",
        Err(
            "template: hc/templates/x.yaml:3:10: executing \"q\" at <.Values.name.x>: can't evaluate field x in type interface {}",
        ),
    ),
    ("{{ range $i, $v := .Values.list }}{{ $i | printf \"%T\" }}{{ end }}", Ok("intintint")),
    ("{{ range $k, $v := .Values.m }}{{ printf \"%T-%T\" $k $v }}{{ end }}", Ok("string-float64string-float64")),
    ("{{ range $i := 0 }}{{ end }}x", Ok("x")),
    ("{{ $x := list 1 2 }}{{ range $x }}{{ . }}{{ end }}", Ok("12")),
    ("{{ with $.Values.nested.x }}{{ .z }}{{ $.Values.name }}{{ end }}", Ok("deepweb")),
    ("{{ template \"t4\" .Values.nope }}{{ define \"t4\" }}[{{ .x }}]{{ end }}", Ok("[]")),
    ("{{ include \"t5\" .Values.nope }}{{ define \"t5\" }}[{{ .x }}]{{ end }}", Ok("[]")),
    ("{{ index .Values \"nested\" \"x\" \"z\" }} {{ index .Values.nums 0 | printf \"%v\" }}", Ok("deep 1")),
    ("{{ printf \"%v\" (index .Values.objs 0) }}", Ok("map[nm:one]")),
    ("{{ .Values.name | quote | upper | printf \"%s-%d\" | printf \"%s\" }}", Ok("\"WEB\"-%!d(MISSING)")),
    ("{{ if eq .Values.name \"web\" \"api\" }}yes{{ end }}", Ok("yes")),
    ("{{ if not (eq .Values.name \"api\") }}ok{{ end }}", Ok("ok")),
    ("{{ $a := \"x\" }}{{ $b := $a }}{{ $a = \"y\" }}{{ $a }}{{ $b }}", Ok("yx")),
    ("{{ range $i, $_ := .Values.list }}{{ $i }}{{ end }}", Ok("012")),
    ("{{ range .Values.list }}{{ range $.Values.nums }}{{ . }}{{ end }};{{ end }}", Ok("123;123;123;")),
    (
        "{{ define \"r2\" }}{{ if gt . 0 }}{{ . }}{{ template \"r2\" (len (slice (list 1 2 3) 1)) }}{{ end }}{{ end }}x",
        Ok("x"),
    ),
    ("{{ print }}x{{ print nil }}", Ok("x<nil>")),
    ("{{ printf \"%s %s\" \"a\" }}{{ printf \"%d\" }}", Ok("a %!s(MISSING)%!d(MISSING)")),
    ("{{ printf \"%v\" .Values.nested.x }}", Ok("map[z:deep]")),
    ("{{ printf \"%x\" 3.5 }}", Ok("0x1.cp+01")),
    ("{{ printf \"%.3s|%.10s|%5.2s|\" \"abcdef\" \"ab\" \"xyz\" }}", Ok("abc|ab|   xy|")),
    ("{{ printf \"%08.3f|%-8.3f|%+08d|% 05d\" 3.14159 3.14159 42 42 }}", Ok("0003.142|3.142   |+0000042| 0042")),
    (
        "{{ printf \"%e|%E|%.0e|%g|%g|%g\" 123456.789 0.000123 5.5 0.0001 0.00001 1e20 }}",
        Ok("1.234568e+05|1.230000E-04|6e+00|0.0001|1e-05|1e+20"),
    ),
    ("{{ printf \"%v %v\" 1e20 1e21 }}", Ok("1e+20 1e+21")),
    ("{{ printf \"%.2g|%.10g|%g\" 123456.0 1.0 3.0 }}", Ok("1.2e+05|1|3")),
    (
        "{{ range splitList \",\" \"a,b\" }}{{ .x }}{{ end }}",
        Err(
            "template: hc/templates/x.yaml:1:34: executing \"hc/templates/x.yaml\" at <.x>: can't evaluate field x in type string",
        ),
    ),
    (
        "{{ range $i, $v := .Values.list }}{{ $v.x }}{{ end }}",
        Err(
            "template: hc/templates/x.yaml:1:39: executing \"hc/templates/x.yaml\" at <$v.x>: can't evaluate field x in type interface {}",
        ),
    ),
];
