//! List functions. Sprig takes any slice through reflection and returns a new
//! `[]interface{}`; its non-`must` variants panic where the `must` ones return an error, and
//! Go's template turns both into the same error text.

use crate::func::{FuncError, FuncMap};
use crate::value::{ListType, Value};

use super::sig::{ANY, INT, fixed, variadic};
use super::{arg, deep_equal, fail, int_arg, kind_of, slice_items};

/// The items of `v` when it is a slice, else Sprig's `Cannot <what> on type <kind>`.
fn items_or(v: &Value, what: &str) -> Result<Vec<Value>, FuncError> {
    let kind = kind_of(v)?;
    slice_items(v).ok_or_else(|| fail(format!("Cannot {what} type {kind}")))
}

fn list(items: Vec<Value>) -> Value {
    Value::List(items.into(), ListType::Interface)
}

pub(super) fn register(map: &mut FuncMap) {
    for name in ["list", "tuple"] {
        map.add(name, variadic(&[], ANY), |a| Ok(list(a.to_vec())));
    }
    for name in ["push", "append", "mustPush", "mustAppend"] {
        map.add(name, fixed(&[ANY, ANY]), |a| {
            let mut items = items_or(arg(a, 0), "push on")?;
            items.push(arg(a, 1).clone());
            Ok(list(items))
        });
    }
    for name in ["prepend", "mustPrepend"] {
        map.add(name, fixed(&[ANY, ANY]), |a| {
            let mut items = items_or(arg(a, 0), "prepend on")?;
            items.insert(0, arg(a, 1).clone());
            Ok(list(items))
        });
    }
    for name in ["chunk", "mustChunk"] {
        map.add(name, fixed(&[INT, ANY]), |a| {
            let size = int_arg(a, 0);
            let items = items_or(arg(a, 1), "chunk")?;
            if items.is_empty() && size > 0 {
                return Ok(list(Vec::new()));
            }
            if size <= 0 {
                return Err(fail("runtime error: makeslice: len out of range"));
            }
            Ok(list(items.chunks(size as usize).map(|c| list(c.to_vec())).collect()))
        });
    }
    for name in ["first", "mustFirst"] {
        map.add(name, fixed(&[ANY]), |a| {
            Ok(items_or(arg(a, 0), "find first on")?.first().cloned().unwrap_or(Value::Nil))
        });
    }
    for name in ["last", "mustLast"] {
        map.add(name, fixed(&[ANY]), |a| {
            Ok(items_or(arg(a, 0), "find last on")?.last().cloned().unwrap_or(Value::Nil))
        });
    }
    for name in ["rest", "mustRest"] {
        map.add(name, fixed(&[ANY]), |a| {
            let items = items_or(arg(a, 0), "find rest on")?;
            Ok(list(items.into_iter().skip(1).collect()))
        });
    }
    for name in ["initial", "mustInitial"] {
        map.add(name, fixed(&[ANY]), |a| {
            let mut items = items_or(arg(a, 0), "find initial on")?;
            items.pop();
            Ok(list(items))
        });
    }
    for name in ["reverse", "mustReverse"] {
        map.add(name, fixed(&[ANY]), |a| {
            let mut items = items_or(arg(a, 0), "find reverse on")?;
            items.reverse();
            Ok(list(items))
        });
    }
    for name in ["compact", "mustCompact"] {
        map.add(name, fixed(&[ANY]), |a| {
            let items = items_or(arg(a, 0), "compact on")?;
            Ok(list(items.into_iter().filter(|v| !super::defaults::is_empty(v)).collect()))
        });
    }
    for name in ["uniq", "mustUniq"] {
        map.add(name, fixed(&[ANY]), |a| {
            let mut out: Vec<Value> = Vec::new();
            for item in items_or(arg(a, 0), "find uniq on")? {
                if !out.iter().any(|o| deep_equal(o, &item)) {
                    out.push(item);
                }
            }
            Ok(list(out))
        });
    }
    for name in ["without", "mustWithout"] {
        map.add(name, variadic(&[ANY], ANY), |a| {
            let items = items_or(arg(a, 0), "find without on")?;
            let omit = &a[1.min(a.len())..];
            Ok(list(items.into_iter().filter(|v| !omit.iter().any(|o| deep_equal(o, v))).collect()))
        });
    }
    for name in ["has", "mustHas"] {
        map.add(name, fixed(&[ANY, ANY]), |a| {
            let haystack = arg(a, 1);
            if haystack.is_nil() {
                return Ok(Value::Bool(false));
            }
            let items = items_or(haystack, "find has on")?;
            Ok(Value::Bool(items.iter().any(|v| deep_equal(arg(a, 0), v))))
        });
    }
    for name in ["slice", "mustSlice"] {
        map.add(name, variadic(&[ANY], ANY), |a| slice(arg(a, 0), &a[1.min(a.len())..]));
    }
    map.add("concat", variadic(&[], ANY), |a| {
        let mut out = Vec::new();
        for v in a {
            let kind = kind_of(v)?;
            match slice_items(v) {
                Some(items) => out.extend(items),
                None => return Err(fail(format!("Cannot concat type {kind} as list"))),
            }
        }
        Ok(list(out))
    });
}

/// Sprig's `slice`: `list[start:end]` of a slice, keeping its type (Helm's Sprig rejects
/// strings).
fn slice(v: &Value, indices: &[Value]) -> Result<Value, FuncError> {
    let kind = kind_of(v)?;
    let len = match v {
        Value::List(items, _) => items.len(),
        Value::Bytes(b) => b.len(),
        _ => return Err(fail(format!("list should be type of slice or array but {kind}"))),
    };
    if len == 0 {
        return Ok(Value::Nil);
    }
    let to_index = super::conversion::to_int64;
    let start = indices.first().map_or(0, to_index);
    let end = if indices.len() < 2 { len as i64 } else { to_index(&indices[1]) };
    if start < 0 || end < start || end > len as i64 {
        return Err(fail("reflect.Value.Slice: slice index out of bounds"));
    }
    let (start, end) = (start as usize, end as usize);
    Ok(match v {
        Value::List(items, t) => Value::List(items[start..end].into(), *t),
        Value::Bytes(b) => Value::Bytes(b[start..end].into()),
        _ => Value::Nil,
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::value::Value;

    /// Checked against `helm template` (Helm 4.2.3).
    #[test]
    fn list_functions_reject_what_sprig_rejects() {
        assert_eq!(
            show("first", &[Value::Nil]),
            "ERR: runtime error: invalid memory address or nil pointer dereference"
        );
        assert_eq!(show("first", &[s("abc")]), "ERR: Cannot find first on type string");
        assert_eq!(show("slice", &[s("abcdef"), i(2)]), "ERR: list should be type of slice or array but string");
        assert_eq!(show("slice", &[l(&[i(1), i(2), i(3)]), i(1)]), "[2 3]");
    }
}
