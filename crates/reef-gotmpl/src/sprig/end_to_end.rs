//! Sprig's functions through the template engine, against output `helm template` (Helm
//! 4.2.3) printed for the same templates.

use crate::template::Templates;
use crate::value::{MapType, Value};

fn render(text: &str) -> Result<String, String> {
    let mut templates = Templates::new(super::functions());
    let name = "t/templates/x.txt";
    templates.add(name, text).map_err(|e| e.to_string())?;
    let values = match Value::empty_map() {
        Value::Map(ref m, _) => Value::Map(m.clone(), MapType::Values),
        other => other,
    };
    let data = Value::map([("Values".to_owned(), values)]);
    templates.execute(name, data).map_err(|e| e.to_string())
}

#[test]
fn sprig_functions_render_as_helm_renders_them() {
    let cases = [
        (r#"{{ add 1 2 }}|{{ typeOf (add 1 2) }}|{{ seq 3 }}|{{ toDecimal "0777" }}"#, "3|int64|1 2 3|511"),
        (
            r#"{{ int64 "0x1F" }} {{ int64 "1.0" }} {{ int "077" }} {{ float64 "1e3" }} {{ atoi " 3" }} {{ int64 3.9 }}"#,
            "31 1 63 1000 0 3",
        ),
        (
            r#"{{ $d := dict "a" 1 "b" (dict "x" 1) }}{{ $_ := mergeOverwrite $d (dict "a" "" "b" (dict "y" 2)) }}{{ $d }}"#,
            "map[a: b:map[x:1 y:2]]",
        ),
        (r#"{{ "hello world" | upper | replace "O" "0" | quote }}"#, r#""HELL0 W0RLD""#),
        (
            r#"{{ list 3 1 2 | sortAlpha | join "," }}|{{ until 3 }}|{{ splitList "," "a,b" | last }}"#,
            "1,2,3|[0 1 2]|b",
        ),
        (
            r#"{{ semverCompare ">=1.21-0" "v1.30.0-gke.1" }} {{ (semver "1.2.3").Compare (semver "1.3.0") }}"#,
            "true -1",
        ),
        (r#"{{ toDate "2006-01-02" "2024-03-15" | date "Mon Jan 2 2006" }}"#, "Fri Mar 15 2024"),
        (r#"{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }}"#, "-W-xxW-"),
        (r#"{{ "x" | indent 2 | nindent 1 }}"#, "\n   x"),
    ];
    for (template, want) in cases {
        assert_eq!(render(template).as_deref(), Ok(want), "{template}");
    }
}

#[test]
fn sprig_errors_render_as_helm_reports_them() {
    let err = render(r#"{{ first "abc" }}"#).expect_err("fails");
    assert!(err.ends_with("error calling first: Cannot find first on type string"), "{err}");
    let err = render(r#"{{ div 1 0 }}"#).expect_err("fails");
    assert!(err.ends_with("error calling div: runtime error: integer divide by zero"), "{err}");
}
