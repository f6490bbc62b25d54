//! Dictionary functions. Maps are shared like Go maps: `set`, `unset`, `merge` and
//! `mergeOverwrite` change the map they are given, and every holder sees the change.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::func::{FuncError, FuncMap, Param};
use crate::value::{MAX_VALUE_BYTES, MapRef, MapType, Value};

use super::sig::{ANY, STR, fixed, variadic};
use super::{arg, fail, str_arg, strval};

const MAP: Param = Param::Map;

/// The map behind a `map[string]interface{}` argument (nil gives an empty, unshared map).
fn map_arg(args: &[Value], i: usize) -> MapRef {
    match arg(args, i) {
        Value::Map(m, _) => m.clone(),
        _ => Rc::new(RefCell::new(BTreeMap::new())),
    }
}

/// The same map seen as a `map[string]interface{}`, as Go's conversion of the argument makes it.
fn as_interface_map(m: MapRef) -> Value {
    Value::Map(m, MapType::Interface)
}

pub(super) fn register(map: &mut FuncMap) {
    map.add("dict", variadic(&[], ANY), |a| {
        let mut out = BTreeMap::new();
        for pair in a.chunks(2) {
            let value = pair.get(1).cloned().unwrap_or_else(|| Value::from(""));
            out.insert(strval(&pair[0]), value);
        }
        Ok(Value::map(out))
    });
    map.add("get", fixed(&[MAP, STR]), |a| {
        Ok(map_arg(a, 0).borrow().get(&str_arg(a, 1)).cloned().unwrap_or_else(|| Value::from("")))
    });
    map.add("set", fixed(&[MAP, STR, ANY]), |a| {
        let m = map_arg(a, 0);
        m.borrow_mut().insert(str_arg(a, 1), arg(a, 2).clone());
        Ok(as_interface_map(m))
    });
    map.add("unset", fixed(&[MAP, STR]), |a| {
        let m = map_arg(a, 0);
        m.borrow_mut().remove(&str_arg(a, 1));
        Ok(as_interface_map(m))
    });
    map.add("hasKey", fixed(&[MAP, STR]), |a| Ok(Value::Bool(map_arg(a, 0).borrow().contains_key(&str_arg(a, 1)))));
    map.add("pluck", variadic(&[STR], MAP), |a| {
        let key = str_arg(a, 0);
        let found = a[1..].iter().filter_map(|d| match d {
            Value::Map(m, _) => m.borrow().get(&key).cloned(),
            _ => None,
        });
        Ok(Value::list(found.collect::<Vec<_>>()))
    });
    map.add("keys", variadic(&[], MAP), |a| {
        let mut keys = Vec::new();
        for d in a {
            if let Value::Map(m, _) = d {
                keys.extend(m.borrow().keys().cloned());
            }
        }
        Ok(Value::string_list(keys))
    });
    map.add("values", fixed(&[MAP]), |a| Ok(Value::list(map_arg(a, 0).borrow().values().cloned().collect::<Vec<_>>())));
    map.add("pick", variadic(&[MAP], STR), |a| {
        let m = map_arg(a, 0);
        let m = m.borrow();
        let picked = a[1..].iter().filter_map(|k| {
            let k = strval(k);
            m.get(&k).map(|v| (k, v.clone()))
        });
        Ok(Value::map(picked.collect::<Vec<_>>()))
    });
    map.add("omit", variadic(&[MAP], STR), |a| {
        let omit: Vec<String> = a[1..].iter().map(strval).collect();
        let m = map_arg(a, 0);
        let kept = m
            .borrow()
            .iter()
            .filter(|(k, _)| !omit.contains(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<Vec<_>>();
        Ok(Value::map(kept))
    });
    for (name, overwrite) in
        [("merge", false), ("mustMerge", false), ("mergeOverwrite", true), ("mustMergeOverwrite", true)]
    {
        map.add(name, variadic(&[MAP], MAP), move |a| {
            let dst = map_arg(a, 0);
            for src in &a[1..] {
                if let Value::Map(src, _) = src {
                    merge_maps(&dst, src, overwrite);
                }
            }
            Ok(as_interface_map(dst))
        });
    }
    for name in ["deepCopy", "mustDeepCopy"] {
        map.add(name, fixed(&[ANY]), |a| match arg(a, 0) {
            Value::Nil => Err(fail("reflect: call of reflect.Value.Type on zero Value")),
            v => {
                // A list that holds another twice is copied twice: the copy of a value that
                // shares its parts may be exponentially larger.
                if v.print_size_exceeds(MAX_VALUE_BYTES / std::mem::size_of::<Value>(), MAX_COPY_DEPTH) {
                    return Err(fail(format!("the copy exceeds the limit of {MAX_VALUE_BYTES} bytes")));
                }
                deep_copy(v, 0).ok_or_else(|| fail(format!("the value nests deeper than {MAX_COPY_DEPTH}")))
            }
        });
    }
    map.add("dig", variadic(&[], ANY), dig);
}

/// mergo's `Merge` (and `MergeWithOverwrite`) of `src` into `dst`, map by map: a key missing
/// or empty in `dst` takes `src`'s value, nested maps merge, and with `overwrite` every
/// non-map value of `src` replaces `dst`'s.
pub(crate) fn merge_maps(dst: &MapRef, src: &MapRef, overwrite: bool) {
    if Rc::ptr_eq(dst, src) {
        return;
    }
    let entries: Vec<(String, Value)> = src.borrow().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    for (key, value) in entries {
        if value.is_nil() {
            if overwrite {
                dst.borrow_mut().insert(key, value);
            }
            continue;
        }
        let existing = dst.borrow().get(&key).cloned();
        if let (Value::Map(src_inner, _), Some(Value::Map(dst_inner, _))) = (&value, &existing) {
            merge_maps(dst_inner, src_inner, overwrite);
        }
        let dst_empty = existing.as_ref().is_none_or(super::defaults::is_empty);
        if matches!(value, Value::List(..) | Value::Bytes(_)) {
            // mergo's slice case: with overwrite the source's slice replaces, even empty.
            if overwrite || dst_empty {
                dst.borrow_mut().insert(key, value);
            }
            continue;
        }
        if !dst_empty {
            let existing = existing.as_ref().unwrap_or(Value::NIL);
            if matches!(value, Value::Map(..)) && matches!(existing, Value::Map(..)) {
                continue;
            }
        }
        if overwrite || dst_empty {
            dst.borrow_mut().insert(key, value);
        }
    }
}

/// How deep `deepCopy` follows a value (a map that holds itself would never end; Go's
/// copystructure overflows its stack).
const MAX_COPY_DEPTH: usize = 10_000;

/// copystructure's `Copy`: new maps and lists all the way down; `None` past
/// [`MAX_COPY_DEPTH`].
pub(crate) fn deep_copy(v: &Value, depth: usize) -> Option<Value> {
    if depth > MAX_COPY_DEPTH {
        return None;
    }
    stacker::maybe_grow(crate::json::RED_ZONE, crate::json::STACK_GROWTH, || {
        Some(match v {
            Value::Map(m, t) => {
                let copied = m
                    .borrow()
                    .iter()
                    .map(|(k, v)| Some((k.clone(), deep_copy(v, depth + 1)?)))
                    .collect::<Option<_>>()?;
                Value::Map(Rc::new(RefCell::new(copied)), *t)
            }
            Value::List(items, t) => {
                Value::List(items.iter().map(|x| deep_copy(x, depth + 1)).collect::<Option<_>>()?, *t)
            }
            other => other.clone(),
        })
    })
}

/// Go's message when an `interface{}` holds another type than the one asserted.
fn conversion_error(v: &Value, want: &str) -> FuncError {
    let got = if v.is_nil() { "nil".to_owned() } else { v.type_name() };
    fail(format!("interface conversion: interface {{}} is {got}, not {want}"))
}

fn dig(a: &[Value]) -> Result<Value, FuncError> {
    if a.len() < 3 {
        return Err(fail("dig needs at least three arguments"));
    }
    let last = &a[a.len() - 1];
    let mut current = match last {
        Value::Map(m, MapType::Interface) => m.clone(),
        other => return Err(conversion_error(other, "map[string]interface {}")),
    };
    let default = a[a.len() - 2].clone();
    let mut keys = Vec::new();
    for k in &a[..a.len() - 2] {
        match k {
            Value::String(s) => keys.push(s.to_string()),
            other => return Err(conversion_error(other, "string")),
        }
    }
    for (i, key) in keys.iter().enumerate() {
        let step = current.borrow().get(key).cloned();
        let Some(step) = step else { return Ok(default) };
        if i + 1 == keys.len() {
            return Ok(step);
        }
        current = match step {
            Value::Map(ref m, MapType::Interface) => m.clone(),
            other => return Err(conversion_error(&other, "map[string]interface {}")),
        };
    }
    Ok(default)
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::value::Value;

    /// Checked against `helm template` (Helm 4.2.3):
    /// `mergeOverwrite $d (dict "a" "" "b" (dict "y" 2) "c" nil)` with
    /// `$d = dict "a" 1 "b" (dict "x" 1)` leaves `map[a: b:map[x:1 y:2] c:<nil>]` in `$d`.
    #[test]
    fn merge_overwrite_changes_the_destination() {
        let dst = d(&[("a", i(1)), ("b", d(&[("x", i(1))]))]);
        let src = d(&[("a", s("")), ("b", d(&[("y", i(2))])), ("c", Value::Nil)]);
        call("mergeOverwrite", &[dst.clone(), src]).expect("merges");
        assert_eq!(crate::format::sprint(&dst), "map[a: b:map[x:1 y:2] c:<nil>]");
    }

    #[test]
    fn merge_keeps_what_the_destination_has() {
        let dst = d(&[("a", i(1)), ("e", s(""))]);
        let src = d(&[("a", i(2)), ("b", i(3)), ("e", s("x"))]);
        call("merge", &[dst.clone(), src]).expect("merges");
        assert_eq!(crate::format::sprint(&dst), "map[a:1 b:3 e:x]");
    }

    /// Checked against `helm template` (Helm 4.2.3).
    #[test]
    fn merges_follow_mergo() {
        let merged = |name: &str, dst: Value, src: Value| show(name, &[dst, src]);
        assert_eq!(merged("mergeOverwrite", d(&[("a", l(&[i(1)]))]), d(&[("a", l(&[]))])), "map[a:[]]");
        assert_eq!(merged("merge", d(&[("a", d(&[]))]), d(&[("a", d(&[("b", i(1))]))])), "map[a:map[b:1]]");
        assert_eq!(merged("merge", d(&[("a", i(0))]), d(&[("a", i(5))])), "map[a:5]");
        assert_eq!(merged("merge", d(&[("a", Value::Nil)]), d(&[("a", i(5))])), "map[a:5]");
        assert_eq!(merged("mergeOverwrite", d(&[("a", i(1))]), d(&[("a", Value::Nil)])), "map[a:<nil>]");
    }

    /// Checked against `helm template` (Helm 4.2.3).
    #[test]
    fn dig_reports_go_type_assertions() {
        assert_eq!(show("dig", &[s("a"), s("zz"), d(&[])]), "zz");
        assert_eq!(
            show("dig", &[s("a"), s("b"), s("d"), d(&[("a", s("x"))])]),
            "ERR: interface conversion: interface {} is string, not map[string]interface {}"
        );
        assert_eq!(show("deepCopy", &[Value::Nil]), "ERR: reflect: call of reflect.Value.Type on zero Value");
    }
}
