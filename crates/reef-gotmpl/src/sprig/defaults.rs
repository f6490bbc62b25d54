//! `default`, `empty`, `coalesce`, `all`, `any`, `ternary`: Sprig's idea of an unset value
//! (Go's zero values: nil, false, 0, and empty strings, lists and maps; structs never).

use crate::func::{FuncMap, Param};
use crate::value::Value;

use super::arg;
use super::sig::{ANY, fixed, variadic};

/// Sprig's `empty`.
pub(crate) fn is_empty(v: &Value) -> bool {
    match v {
        Value::Object(_) => false,
        other => !other.truthy(),
    }
}

pub(super) fn register(map: &mut FuncMap) {
    map.add("default", variadic(&[ANY], ANY), |a| {
        let given = &a[1.min(a.len())..];
        match given.first() {
            Some(v) if !is_empty(v) => Ok(v.clone()),
            _ => Ok(arg(a, 0).clone()),
        }
    });
    map.add("empty", fixed(&[ANY]), |a| Ok(Value::Bool(is_empty(arg(a, 0)))));
    map.add("coalesce", variadic(&[], ANY), |a| Ok(a.iter().find(|v| !is_empty(v)).cloned().unwrap_or(Value::Nil)));
    map.add("all", variadic(&[], ANY), |a| Ok(Value::Bool(a.iter().all(|v| !is_empty(v)))));
    map.add("any", variadic(&[], ANY), |a| Ok(Value::Bool(a.iter().any(|v| !is_empty(v)))));
    map.add("ternary", fixed(&[ANY, ANY, Param::Bool]), |a| {
        let cond = matches!(arg(a, 2), Value::Bool(true));
        Ok(if cond { arg(a, 0).clone() } else { arg(a, 1).clone() })
    });
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::value::Value;

    #[test]
    fn default_takes_the_first_given_value_only_when_set() {
        assert_eq!(show("default", &[s("d")]), "d");
        assert_eq!(show("default", &[s("d"), i(0)]), "d");
        assert_eq!(show("default", &[s("d"), s("x")]), "x");
        assert_eq!(show("default", &[s("d"), l(&[])]), "d");
        assert_eq!(show("coalesce", &[Value::Nil, s(""), i(2)]), "2");
        assert_eq!(show("ternary", &[s("a"), s("b"), false.into()]), "b");
        assert_eq!(show("all", &[]), "true");
        assert_eq!(show("any", &[]), "false");
    }
}
