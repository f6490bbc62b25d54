//! `values.schema.json`: the check `helm template` makes of the merged values before it
//! renders anything (Helm's `ValidateAgainstSchema`). The chart's values are checked against
//! its schema, then each enabled subchart's section against the subchart's schema, and every
//! failure is reported in the words of Helm's validator (santhosh-tekuri/jsonschema v6):
//!
//! ```text
//! values don't meet the specifications of the schema(s) in the following chart(s):
//! web:
//! - at '/image/tag': got number, want string
//! ```
//!
//! Drafts 4, 6, 7, 2019-09 and 2020-12 (the default), with the keywords each defines;
//! `format` is checked for drafts 4 to 7 only, as Helm does. References resolve inside the
//! document (`#/definitions/..`, `#/$defs/..`, `$id`, anchors); a remote schema is never
//! fetched: it fails as it does for Helm without a network. Before validating, the schema's
//! common mistakes (an unknown type name, a keyword's value of the wrong type, a pattern Go
//! cannot compile) fail as Helm's check against the draft's metaschema reports them.

mod formats;
mod goregex;
mod json;
mod validate;

use reef_gotmpl::{MapRef, MapType, Value};

use crate::chart::Chart;
use validate::{Schema, ValidateError};

/// Checks the coalesced `values` of `chart` against the schemas of the chart and of its
/// subcharts. The error is Helm's whole message.
pub fn validate_chart(chart: &Chart, values: &MapRef) -> Result<(), String> {
    let mut report = String::new();
    check_chart(chart, values, &mut report);
    if report.is_empty() {
        return Ok(());
    }
    Err(format!("values don't meet the specifications of the schema(s) in the following chart(s):\n{report}"))
}

fn check_chart(chart: &Chart, values: &MapRef, report: &mut String) {
    if let Some(schema) = &chart.schema
        && let Err(e) = validate_values(schema, &Value::Map(values.clone(), MapType::Interface))
    {
        report.push_str(chart.name());
        report.push_str(":\n");
        report.push_str(&e);
    }
    for sub in chart.dependencies() {
        let section = values.borrow().get(sub.name()).cloned();
        match &section {
            None | Some(Value::Nil) => {}
            Some(Value::Map(m, _)) => check_chart(sub, m, report),
            Some(other) => report.push_str(&format!(
                "{}:\ninvalid type for values: expected object (map), got {}\n",
                sub.name(),
                go_type(other)
            )),
        }
    }
}

/// Checks `values` against one schema document; the error is what Helm prints under the
/// chart's name (validation errors end with a newline, other failures do not).
pub fn validate_values(schema: &[u8], values: &Value) -> Result<(), String> {
    let doc = json::parse(schema)?;
    let compiled = Schema::compile(&doc)?;
    match compiled.validate(values) {
        Ok(()) => Ok(()),
        Err(ValidateError::Invalid(e)) => Err(validate::render_errors(&e)),
        Err(ValidateError::Compile(m)) => Err(m),
    }
}

/// Go's `%T` of a value decoded from YAML or set with `--set`.
fn go_type(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "string",
        Value::Float(_) => "float64",
        Value::Int64(_) => "int64",
        Value::Int(_) => "int",
        Value::Bool(_) => "bool",
        Value::List(..) => "[]interface {}",
        _ => "map[string]interface {}",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::parse_values;

    fn check(schema: &str, values: &str) -> Result<(), String> {
        let values = parse_values(values).map_err(|e| e.to_string())?;
        validate_values(schema.as_bytes(), &Value::Map(values, MapType::Interface))
    }

    #[test]
    fn a_value_of_the_wrong_type_is_reported_at_its_path() {
        let schema = r#"{"properties": {"image": {"properties": {"tag": {"type": "string"}}}}}"#;
        assert_eq!(check(schema, "image: {tag: 1.2}"), Err("- at '/image/tag': got number, want string\n".to_owned()));
        assert_eq!(check(schema, "image: {tag: '1.2'}"), Ok(()));
    }

    #[test]
    fn errors_of_one_value_nest_under_validation_failed() {
        let schema = r#"{"properties": {"a": {"multipleOf": 2, "exclusiveMinimum": 10}, "b": {"type": "string"}}}"#;
        assert_eq!(
            check(schema, "a: 3\nb: 1"),
            Err("- at '/a': validation failed\n  - at '/a': exclusiveMinimum: got 3, want 10\n  - at '/a': multipleOf: got 3, want 2\n- at '/b': got number, want string\n".to_owned())
        );
    }

    #[test]
    fn a_reference_with_one_failure_is_not_printed() {
        let schema =
            r##"{"properties": {"a": {"$ref": "#/definitions/s"}}, "definitions": {"s": {"type": "string"}}}"##;
        assert_eq!(check(schema, "a: 1"), Err("- at '/a': got number, want string\n".to_owned()));
    }

    #[test]
    fn draft_07_ignores_the_siblings_of_ref_and_checks_formats() {
        let schema = r##"{"$schema": "http://json-schema.org/draft-07/schema#", "properties": {"a": {"$ref": "#/definitions/n", "minimum": 5}, "e": {"format": "email"}}, "definitions": {"n": {"type": "number"}}}"##;
        assert_eq!(check(schema, "a: 1"), Ok(()));
        assert_eq!(check(schema, "e: foo"), Err("- at '/e': 'foo' is not valid email: missing @\n".to_owned()));
    }

    #[test]
    fn a_missing_reference_target_is_a_schema_error() {
        let schema = r##"{"properties": {"a": {"$ref": "#/definitions/nope"}}}"##;
        assert_eq!(
            check(schema, "a: 1"),
            Err("json-pointer in \"file:///values.schema.json#/definitions/nope\" not found".to_owned())
        );
    }

    #[test]
    fn remote_schemas_are_not_fetched() {
        let schema = r#"{"properties": {"a": {"$ref": "https://example.com/s.json"}}}"#;
        let err = check(schema, "a: 1").unwrap_err();
        assert!(err.starts_with("failing loading \"https://example.com/s.json\""), "{err}");
    }
}
