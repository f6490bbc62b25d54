//! Values as Helm reads and merges them: values files decoded the way `sigs.k8s.io/yaml`
//! decodes them (every number a `float64`, keys strings), the user's sources merged in
//! Helm's order, and chart defaults coalesced under them (Helm's `chartutil/coalesce.go`,
//! including how `null` deletes a key and how `global` flows down to subcharts).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use reef_gotmpl::{MapRef, MapType, Value};

use crate::chart::Chart;

/// The key whose table every chart and subchart shares.
pub const GLOBAL_KEY: &str = "global";

/// A new, empty `map[string]interface{}`.
pub fn new_map() -> MapRef {
    Rc::new(RefCell::new(BTreeMap::new()))
}

/// Wraps a map as a `map[string]interface{}` value.
pub fn map_value(m: MapRef) -> Value {
    Value::Map(m, MapType::Interface)
}

/// The map inside a value, if it is one (Go's `istable`).
pub fn as_table(v: &Value) -> Option<&MapRef> {
    match v {
        Value::Map(m, _) => Some(m),
        _ => None,
    }
}

/// A values map as JSON, as Go's `json.Marshal` writes decoded values: whole floats as
/// integers, bytes as base64, objects (none in values) as null.
pub fn to_json(m: &MapRef) -> serde_json::Value {
    serde_json::Value::Object(m.borrow().iter().map(|(k, v)| (k.clone(), value_json(v))).collect())
}

fn value_json(v: &Value) -> serde_json::Value {
    use base64::Engine as _;
    match v {
        Value::Nil | Value::Object(_) => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int(n) | Value::Int64(n) => serde_json::Value::from(*n),
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => serde_json::Value::from(*f as i64),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, serde_json::Value::Number),
        Value::String(s) => serde_json::Value::String(s.to_string()),
        Value::Bytes(b) => serde_json::Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
        Value::List(items, _) => serde_json::Value::Array(items.iter().map(value_json).collect()),
        Value::Map(m, _) => to_json(m),
    }
}

/// A JSON value as Go's `encoding/json` decodes it into `interface{}`.
pub fn from_json(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
        serde_json::Value::String(s) => Value::string(s),
        serde_json::Value::Array(a) => Value::list(a.iter().map(from_json)),
        serde_json::Value::Object(o) => Value::map(o.iter().map(|(k, v)| (k.clone(), from_json(v)))),
    }
}

/// Parses a values document (a values file, `values.yaml`) into a map, as Helm 4 reads it
/// (reef-gotmpl's YAML codec: go-yaml v2 through JSON); an empty document is an empty map.
/// The error is Helm's message.
pub fn parse_values(text: &str) -> Result<MapRef, String> {
    match reef_gotmpl::yaml::parse_values(text).map_err(|e| e.to_string())? {
        Value::Map(ref m, _) => Ok(m.clone()),
        _ => Ok(new_map()),
    }
}

/// A YAML value as `sigs.k8s.io/yaml` turns it into Go values: through JSON, so numbers are
/// `float64` and keys are strings.
pub fn from_yaml(v: &yaml_serde::Value) -> Value {
    match v {
        yaml_serde::Value::Null => Value::Nil,
        yaml_serde::Value::Bool(b) => Value::Bool(*b),
        yaml_serde::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
        yaml_serde::Value::String(s) => Value::string(s),
        yaml_serde::Value::Sequence(s) => Value::list(s.iter().map(from_yaml)),
        yaml_serde::Value::Mapping(m) => Value::map(m.iter().map(|(k, v)| (yaml_key(k), from_yaml(v)))),
        yaml_serde::Value::Tagged(t) => from_yaml(&t.value),
    }
}

fn yaml_key(k: &yaml_serde::Value) -> String {
    match k {
        yaml_serde::Value::String(s) => s.clone(),
        yaml_serde::Value::Bool(b) => b.to_string(),
        yaml_serde::Value::Number(n) => n.to_string(),
        yaml_serde::Value::Null => "null".to_owned(),
        other => yaml_serde::to_string(other).unwrap_or_default().trim().to_owned(),
    }
}

/// A deep copy (Go's `copystructure.Copy`): maps are new maps, so changing the copy leaves
/// the original alone. Only maps can change in place: a list with no map inside is shared.
pub fn deep_copy(v: &Value) -> Value {
    match v {
        Value::Map(m, t) => Value::Map(deep_copy_map(m), *t),
        Value::List(l, t) if l.iter().any(holds_map) => Value::List(l.iter().map(deep_copy).collect(), *t),
        other => other.clone(),
    }
}

/// Whether a value is a map or a list with a map somewhere inside.
fn holds_map(v: &Value) -> bool {
    match v {
        Value::Map(..) => true,
        Value::List(l, _) => l.iter().any(holds_map),
        _ => false,
    }
}

/// A deep copy of a map.
pub fn deep_copy_map(m: &MapRef) -> MapRef {
    Rc::new(RefCell::new(deep_copy_entries(m)))
}

/// The entries of a deep copy of a map.
fn deep_copy_entries(m: &MapRef) -> BTreeMap<String, Value> {
    let mut copy = m.borrow().clone();
    for v in copy.values_mut() {
        if matches!(v, Value::Map(..) | Value::List(..)) {
            *v = deep_copy(v);
        }
    }
    copy
}

/// The entries of a map, moved out when nothing else holds the map (leaving it empty), else
/// copied; either way they share no map with anything else, as a deep copy would.
fn take_entries(m: &MapRef) -> BTreeMap<String, Value> {
    if Rc::strong_count(m) > 1 || Rc::weak_count(m) > 0 {
        return deep_copy_entries(m);
    }
    let mut entries = std::mem::take(&mut *m.borrow_mut());
    entries.values_mut().for_each(unshare);
    entries
}

/// Makes `v` hold no map that anything else holds too: each map or list (with a map inside)
/// held elsewhere is replaced by a deep copy; those held only here are kept and looked into.
fn unshare(v: &mut Value) {
    match v {
        Value::Map(m, _) => match Rc::get_mut(m) {
            Some(cell) => cell.get_mut().values_mut().for_each(unshare),
            None => *m = deep_copy_map(m),
        },
        Value::List(l, _) if l.iter().any(holds_map) => match Rc::get_mut(l) {
            Some(items) => items.iter_mut().for_each(unshare),
            None => *v = deep_copy(v),
        },
        _ => {}
    }
}

/// Merges `b` over `a` as `helm template`'s handling of several `-f` files does (`mergeMaps`):
/// maps merge recursively, anything else in `b` replaces.
pub fn merge_maps(a: &MapRef, b: &MapRef) -> MapRef {
    let out: MapRef = Rc::new(RefCell::new(a.borrow().clone()));
    for (k, v) in b.borrow().iter() {
        if let Value::Map(bv, _) = v {
            let existing = out.borrow().get(k).cloned();
            if let Some(Value::Map(ref av, _)) = existing {
                let merged = merge_maps(av, bv);
                out.borrow_mut().insert(k.clone(), map_value(merged));
                continue;
            }
        }
        out.borrow_mut().insert(k.clone(), v.clone());
    }
    out
}

/// Where coalescing takes each chart's defaults from. Coalescing changes them as it merges
/// them in, so it works on defaults of its own: a copy, or the chart's values themselves when
/// the chart's values are not read afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Defaults {
    /// Deep copies: the charts keep their values.
    Copied,
    /// Moved out of the chart and its subcharts, whose values are left empty (a chart's values
    /// are copied instead where something else holds them too, as an aliased dependency does).
    Taken,
    /// Moved out of the chart itself, copied from its subcharts.
    TakenFromChart,
    /// Shared with the charts, each map copied (its top level) only where coalescing changes
    /// it: for a result that is only read (and that templates never see).
    Shared,
}

impl Defaults {
    fn for_subcharts(self) -> Defaults {
        match self {
            Defaults::Taken => Defaults::Taken,
            Defaults::Copied | Defaults::TakenFromChart => Defaults::Copied,
            Defaults::Shared => Defaults::Shared,
        }
    }

    /// The chart's defaults for coalescing: a copy or the chart's own entries, or for
    /// [`Defaults::Shared`] its entries as they are (coalescing copies a map of the result
    /// before it changes it where something else holds it too, see [`own_entry`]).
    fn entries(self, values: &MapRef) -> BTreeMap<String, Value> {
        match self {
            Defaults::Copied => deep_copy_entries(values),
            Defaults::Taken | Defaults::TakenFromChart => take_entries(values),
            Defaults::Shared => values.borrow().clone(),
        }
    }
}

/// Coalesces a chart's defaults (and its subcharts', recursively) under `vals`, as Helm's
/// `CoalesceValues` (`merge == false`: a `null` deletes the key) and `MergeValues`
/// (`merge == true`: nulls are kept) do. `vals` is changed in place and returned.
///
/// This is the last use of the charts' values, when a chart is rendered: the defaults are
/// moved into the result rather than copied ([`Defaults::Taken`]), which leaves the chart and
/// its subcharts with empty values. [`coalesce_with`] chooses.
pub fn coalesce(chart: &Chart, vals: &MapRef, merge: bool) -> Result<MapRef, String> {
    coalesce_with(chart, vals, merge, Defaults::Taken)
}

/// [`coalesce`], the defaults taken from the charts as `defaults` says.
pub fn coalesce_with(chart: &Chart, vals: &MapRef, merge: bool, defaults: Defaults) -> Result<MapRef, String> {
    coalesce_values(chart, vals, merge, defaults);
    coalesce_deps(chart, vals, merge, defaults.for_subcharts())
}

fn coalesce_deps(chart: &Chart, dest: &MapRef, merge: bool, defaults: Defaults) -> Result<MapRef, String> {
    for sub in chart.dependencies() {
        let name = sub.name().to_owned();
        let dv = match slot(dest, &name) {
            Slot::Missing => {
                let m = new_map();
                dest.borrow_mut().insert(name.clone(), map_value(m.clone()));
                m
            }
            Slot::Map => own_entry(dest, &name).unwrap_or_else(new_map),
            Slot::Nil | Slot::Other => {
                let other = dest.borrow().get(&name).cloned().unwrap_or_default();
                return Err(format!(
                    "type mismatch on {name}: %!t({}={})",
                    other.type_name(),
                    reef_gotmpl::format::sprint(&other)
                ));
            }
        };
        coalesce_globals(&dv, dest);
        let out = coalesce_with(sub, &dv, merge, defaults)?;
        dest.borrow_mut().insert(name, map_value(out));
    }
    Ok(dest.clone())
}

/// What a map holds at a key, looked at without holding on to it (which would make a map
/// there look shared to [`own_entry`]).
enum Slot {
    Missing,
    Nil,
    Map,
    Other,
}

fn slot(m: &MapRef, key: &str) -> Slot {
    match m.borrow().get(key) {
        None => Slot::Missing,
        Some(Value::Nil) => Slot::Nil,
        Some(Value::Map(..)) => Slot::Map,
        Some(_) => Slot::Other,
    }
}

/// The map at `key` in `parent`, made the parent's own before it is changed: a map that
/// something else holds too (defaults that [`Defaults::Shared`] coalescing shares) is
/// replaced by a copy of its top level, whose maps are in turn copied when they are changed.
fn own_entry(parent: &MapRef, key: &str) -> Option<MapRef> {
    let mut p = parent.borrow_mut();
    let Some(Value::Map(m, _)) = p.get_mut(key) else { return None };
    if Rc::strong_count(m) > 1 || Rc::weak_count(m) > 0 {
        let copy = m.borrow().clone();
        *m = Rc::new(RefCell::new(copy));
    }
    Some(m.clone())
}

/// Copies `src`'s globals into `dest`'s, the parent's winning over the subchart's.
fn coalesce_globals(dest: &MapRef, src: &MapRef) {
    let dg = match slot(dest, GLOBAL_KEY) {
        Slot::Missing => new_map(),
        Slot::Map => match own_entry(dest, GLOBAL_KEY) {
            Some(m) => m,
            None => return,
        },
        Slot::Nil | Slot::Other => return,
    };
    let sg = match src.borrow().get(GLOBAL_KEY) {
        None => new_map(),
        Some(Value::Map(m, _)) => m.clone(),
        Some(_) => return,
    };
    let entries: Vec<(String, Value)> = sg.borrow().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    for (key, val) in entries {
        if let Value::Map(vm, _) = &val {
            let vv = copy_map(vm);
            let destv = dg.borrow().get(&key).cloned();
            match destv {
                None => {
                    dg.borrow_mut().insert(key, map_value(vv));
                }
                Some(Value::Map(ref destvmap, _)) => {
                    coalesce_tables(&vv, destvmap, true);
                    dg.borrow_mut().insert(key, map_value(vv));
                }
                Some(_) => {}
            }
        } else if dg.borrow().get(&key).is_some_and(|dv| as_table(dv).is_some()) {
            // A table in the subchart's globals is not replaced by a scalar.
        } else {
            dg.borrow_mut().insert(key, val);
        }
    }
    dest.borrow_mut().insert(GLOBAL_KEY.to_owned(), map_value(dg));
}

/// Go's `copyMap`: a copy of the top level whose nested maps are copied too.
fn copy_map(src: &MapRef) -> MapRef {
    let dst = new_map();
    for (k, v) in src.borrow().iter() {
        let v = match v {
            Value::Map(m, _) => map_value(copy_map(m)),
            other => other.clone(),
        };
        dst.borrow_mut().insert(k.clone(), v);
    }
    dst
}

/// Builds up the values of one chart: `v` (higher precedence) over the chart's defaults.
fn coalesce_values(chart: &Chart, v: &MapRef, merge: bool, defaults: Defaults) {
    let is_subchart = |key: &str| chart.dependencies().iter().any(|d| d.name() == key);
    // The defaults are this function's own (but for shared ones): their entries are moved,
    // not cloned.
    for (key, val) in defaults.entries(&chart.values) {
        match slot(v, &key) {
            Slot::Nil if !merge => {
                v.borrow_mut().remove(&key);
            }
            Slot::Map if matches!(val, Value::Map(..)) => {
                let merge = merge || is_subchart(&key);
                if let (Some(dest), Some(src)) = (own_entry(v, &key), into_map(val)) {
                    if defaults == Defaults::Shared {
                        coalesce_tables(&dest, &src, merge);
                    } else {
                        coalesce_own_tables(&dest, src, merge);
                    }
                }
            }
            Slot::Nil | Slot::Map | Slot::Other => {}
            Slot::Missing => {
                // Helm 4 leaves defaults of null out (at any depth) rather than copying them in.
                let val = match (defaults, merge) {
                    (_, true) => Some(val),
                    (Defaults::Shared, false) => without_nils(&val),
                    (_, false) => own_without_nils(val),
                };
                if let Some(val) = val {
                    v.borrow_mut().insert(key, val);
                }
            }
        }
    }
}

/// [`coalesce_tables`] of a `src` that is a part of defaults coalescing owns (shares no map
/// with anything else): its entries move into `dst` rather than being copied.
fn coalesce_own_tables(dst: &MapRef, src: MapRef, merge: bool) {
    let entries = match Rc::try_unwrap(src) {
        Ok(cell) => cell.into_inner(),
        // Not reached while the defaults share nothing; a copy keeps the result unshared.
        Err(shared) => return coalesce_own_tables(dst, deep_copy_map(&shared), merge),
    };
    for (key, val) in entries {
        match slot(dst, &key) {
            // The user nullifying a default: a null in `dst` deletes the key where `src` has a
            // value for it, and stays otherwise.
            Slot::Nil => {
                if !merge && !val.is_nil() {
                    dst.borrow_mut().remove(&key);
                }
            }
            Slot::Missing => {
                if merge {
                    dst.borrow_mut().insert(key, val);
                } else if let Some(val) = own_without_nils(val) {
                    dst.borrow_mut().insert(key, val);
                }
            }
            Slot::Map if matches!(val, Value::Map(..)) => {
                if let (Some(d), Some(s)) = (own_entry(dst, &key), into_map(val)) {
                    coalesce_own_tables(&d, s, merge);
                }
            }
            Slot::Map | Slot::Other => {}
        }
    }
}

/// The map a value holds, the value given up (so that what holds the map is the result alone
/// when the value was).
fn into_map(v: Value) -> Option<MapRef> {
    match &v {
        Value::Map(m, _) => Some(m.clone()),
        _ => None,
    }
}

/// [`without_nils`] of a value nothing else holds (a part of a fresh deep copy): its maps
/// are trimmed in place rather than copied again.
fn own_without_nils(v: Value) -> Option<Value> {
    if v.is_nil() {
        return None;
    }
    if let Value::Map(m, _) = &v {
        trim_nils_in_place(m);
        return Some(map_value(m.clone()));
    }
    Some(v)
}

/// [`trim_nil_values`] in place, nested maps becoming `map[string]interface{}` as there.
fn trim_nils_in_place(m: &MapRef) {
    let mut m = m.borrow_mut();
    m.retain(|_, v| !v.is_nil());
    for v in m.values_mut() {
        if let Value::Map(inner, t) = v {
            trim_nils_in_place(inner);
            *t = MapType::Interface;
        }
    }
}

/// Merges `src` into `dst`, `dst` winning (Go's `coalesceTablesFullKey`). A null in `dst`
/// deletes the key only where `src` has a value for it (the user nullifying a default); a
/// null for a key `src` lacks, or holds null too, stays.
pub fn coalesce_tables(dst: &MapRef, src: &MapRef, merge: bool) {
    // `dst` is made its own where it changes, so it is never `src` or a map inside it.
    for (key, val) in src.borrow().iter() {
        match slot(dst, key) {
            Slot::Nil => {
                if !merge && !val.is_nil() {
                    dst.borrow_mut().remove(key);
                }
            }
            Slot::Missing => {
                let val = if merge { Some(val.clone()) } else { without_nils(val) };
                if let Some(val) = val {
                    dst.borrow_mut().insert(key.clone(), val);
                }
            }
            Slot::Map => {
                if let Value::Map(s, _) = val
                    && let Some(d) = own_entry(dst, key)
                {
                    coalesce_tables(&d, s, merge);
                }
            }
            Slot::Other => {}
        }
    }
}

/// `CoalesceTables(dst, src)` with `merge == false` as `chartutil.CoalesceTables` is used
/// for import-values.
pub fn coalesce_tables_public(dst: &MapRef, src: &MapRef) -> MapRef {
    coalesce_tables(dst, src, false);
    dst.clone()
}

/// The value with the nulls inside its maps removed; `None` for a null.
fn without_nils(v: &Value) -> Option<Value> {
    match v {
        Value::Nil => None,
        Value::Map(m, _) => Some(map_value(trim_nil_values(m))),
        other => Some(other.clone()),
    }
}

/// Removes `null` values, recursively (Go's `trimNilValues`), nested maps becoming
/// `map[string]interface{}`. The maps inside that need no change are shared, not copied.
pub fn trim_nil_values(m: &MapRef) -> MapRef {
    trimmed_copy(m).unwrap_or_else(|| m.clone())
}

/// [`trim_nil_values`] of a map that needs a change; `None` for one that needs none.
fn trimmed_copy(m: &MapRef) -> Option<MapRef> {
    let map = m.borrow();
    let mut changes: Vec<(&String, Option<Value>)> = Vec::new();
    for (k, v) in map.iter() {
        match v {
            Value::Nil => changes.push((k, None)),
            Value::Map(inner, t) => match trimmed_copy(inner) {
                Some(copy) => changes.push((k, Some(map_value(copy)))),
                None if *t != MapType::Interface => changes.push((k, Some(map_value(inner.clone())))),
                None => {}
            },
            _ => {}
        }
    }
    if changes.is_empty() {
        return None;
    }
    let mut out = map.clone();
    for (k, change) in changes {
        match change {
            Some(v) => out.insert(k.clone(), v),
            None => out.remove(k),
        };
    }
    Some(Rc::new(RefCell::new(out)))
}

/// The table at a dotted path (`Values.Table("a.b")`), if every step is a map.
pub fn table(m: &MapRef, path: &str) -> Option<MapRef> {
    let mut cur = m.clone();
    for part in path.split('.') {
        let next = match cur.borrow().get(part) {
            Some(Value::Map(inner, _)) => inner.clone(),
            _ => return None,
        };
        cur = next;
    }
    Some(cur)
}

/// The value at a dotted path (`Values.PathValue`): the last step may be any value.
pub fn path_value(m: &MapRef, path: &str) -> Option<Value> {
    let (parent, last) = match path.rsplit_once('.') {
        Some((p, l)) => (table(m, p)?, l),
        None => (m.clone(), path),
    };
    parent.borrow().get(last).cloned()
}

/// Builds `{a: {b: data}}` for the path `a.b` (Go's `pathToMap`); `.` is `data` itself.
pub fn path_to_map(path: &str, data: MapRef) -> MapRef {
    if path == "." {
        return data;
    }
    let parts: Vec<&str> = path.split('.').filter(|p| !p.is_empty()).collect();
    let mut cur = data;
    for part in parts.iter().rev() {
        let m = new_map();
        m.borrow_mut().insert((*part).to_owned(), map_value(cur));
        cur = m;
    }
    cur
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::Chart;
    use reef_gotmpl::format::sprint;

    fn m(yaml: &str) -> MapRef {
        parse_values(yaml).expect("valid yaml")
    }

    fn chart(values: &str, deps: Vec<Chart>) -> Chart {
        let mut c = Chart::for_tests("parent", m(values));
        c.set_dependencies(deps);
        c
    }

    #[test]
    fn numbers_in_values_files_are_float64_as_in_helm() {
        let v = m("a: 1\nb: 12345678\n");
        assert!(matches!(v.borrow()["a"], Value::Float(_)));
        assert_eq!(sprint(&v.borrow()["b"]), "1.2345678e+07");
    }

    // The coalescing expectations were checked with helm 4.2.3 on a chart printing
    // `{{ .Values | toJson }}` in the parent and in a subchart.
    #[test]
    fn user_values_win_and_null_deletes_a_default() {
        let c = chart("a: 1\nb: {x: 1, y: 2}\nn: null\n", vec![]);
        let user = m("a: 2\nb: {y: null, z: 3}\n");
        let out = coalesce(&c, &user, false).expect("coalesces");
        assert_eq!(sprint(&map_value(out)), "map[a:2 b:map[x:1 z:3]]");
    }

    #[test]
    fn a_null_stays_where_the_defaults_have_no_value_for_its_key() {
        let c = chart(
            "empty: {}\nwithx: {x: 1}\nwithnv: {nv: 1}\ndeep: {b: {}}\ndnull: null\nnested: {dn: null, keep: 1}\n",
            vec![],
        );
        let user = m("empty: {nv: null, k: 1}\nwithx: {nv: null}\nwithnv: {nv: null}\ndeep: {b: {nv: null}}\n\
             newmap: {nv: null, m: {o: null}}\ntop: null\ndnull: null\nnested: {dn: null}\n");
        let out = coalesce(&c, &user, false).expect("coalesces");
        assert_eq!(
            sprint(&map_value(out)),
            "map[deep:map[b:map[nv:<nil>]] empty:map[k:1 nv:<nil>] nested:map[dn:<nil> keep:1] \
             newmap:map[m:map[o:<nil>] nv:<nil>] top:<nil> withnv:map[] withx:map[nv:<nil> x:1]]"
        );
    }

    #[test]
    fn subchart_values_are_under_its_name_and_receive_globals() {
        let sub = Chart::for_tests("sub", m("x: 1\ny: null\nglobal: {g: 0, s: 1}\n"));
        let c = chart("sub: {x: 2}\nglobal: {g: 1}\n", vec![sub]);
        let out = coalesce(&c, &new_map(), false).expect("coalesces");
        assert_eq!(sprint(&map_value(out)), "map[global:map[g:1] sub:map[global:map[g:1 s:1] x:2]]");
    }

    #[test]
    fn later_values_files_merge_over_earlier_ones() {
        let out = merge_maps(&m("a: {b: 1, c: 2}\nl: [1]\n"), &m("a: {c: 3}\nl: [2]\n"));
        assert_eq!(sprint(&map_value(out)), "map[a:map[b:1 c:3] l:[2]]");
    }

    fn sub_map(m: &MapRef, key: &str) -> MapRef {
        match m.borrow().get(key) {
            Some(Value::Map(inner, _)) => inner.clone(),
            other => panic!("{key} is not a map: {:?}", other.map(sprint)),
        }
    }

    #[test]
    fn coalescing_copied_or_shared_defaults_leaves_the_charts_values_as_they_were() {
        let parent = "sub: {x: {z: 2}}\nk: {v: null}\nd: {e: {f: 1}, l: [{g: 1}]}\nglobal: {h: 1}\nnv: null\n";
        let sub = "x: {w: 1}\nnv: null\ns: {t: {u: 1}}\nglobal: {i: {j: 1}}\n";
        for defaults in [Defaults::Copied, Defaults::Shared] {
            let c = chart(parent, vec![Chart::for_tests("sub", m(sub))]);
            let out = coalesce_with(&c, &m("k: {w: 1}\nd: {e: {yv: 1}}\n"), false, defaults).expect("coalesces");
            assert_eq!(
                sprint(&map_value(out)),
                "map[d:map[e:map[f:1 yv:1] l:[map[g:1]]] global:map[h:1] k:map[w:1] \
                 sub:map[global:map[h:1 i:map[j:1]] s:map[t:map[u:1]] x:map[w:1 z:2]]]",
                "{defaults:?}"
            );
            assert_eq!(sprint(&map_value(c.values.clone())), sprint(&map_value(m(parent))), "{defaults:?}");
            assert_eq!(sprint(&map_value(c.dependencies()[0].values.clone())), sprint(&map_value(m(sub))));
        }
    }

    #[test]
    fn shared_defaults_are_copied_where_a_subchart_changes_them_at_any_depth() {
        let parent =
            "sub: {deep: {subsub: {x: {p: 1}}, global: {g: {a: 1}}}, subsub: {x: {q: 1}}}\nglobal: {g: {b: 1}}\n";
        let sub = "subsub: {x: {r: 1, n: null}}\nglobal: {g: {c: 1}}\nkeep: {k: 1}\n";
        let subsub = "x: {s: 1}\nglobal: {g: {d: 1}}\n";
        let build = || {
            let mut s = Chart::for_tests("sub", m(sub));
            s.set_dependencies(vec![Chart::for_tests("subsub", m(subsub))]);
            chart(parent, vec![s])
        };
        let copied = coalesce_with(&build(), &m("sub: {keep: {u: 1}}\n"), false, Defaults::Copied).expect("coalesces");
        let c = build();
        let shared = coalesce_with(&c, &m("sub: {keep: {u: 1}}\n"), false, Defaults::Shared).expect("coalesces");
        assert_eq!(sprint(&map_value(shared)), sprint(&map_value(copied)));
        assert_eq!(sprint(&map_value(c.values.clone())), sprint(&map_value(m(parent))));
        let s = &c.dependencies()[0];
        assert_eq!(sprint(&map_value(s.values.clone())), sprint(&map_value(m(sub))));
        assert_eq!(sprint(&map_value(s.dependencies()[0].values.clone())), sprint(&map_value(m(subsub))));
    }

    // A template may change the values it is given (`set`, `unset`, `merge`): defaults moved
    // into the result must not show up at two places in it.
    #[test]
    fn defaults_taken_from_aliased_dependencies_are_not_shared_between_them() {
        let common = Chart::for_tests("a", m("m: {k: 1}\nl: [{k: 1}]\n"));
        let mut alias = common.clone();
        alias.metadata.name = "b".to_owned();
        let c = chart("x: 1\n", vec![common, alias]);
        let out = coalesce(&c, &new_map(), false).expect("coalesces");
        sub_map(&sub_map(&out, "a"), "m").borrow_mut().insert("k".to_owned(), Value::Int(2));
        assert_eq!(
            sprint(&map_value(out)),
            "map[a:map[global:map[] l:[map[k:1]] m:map[k:2]] b:map[global:map[] l:[map[k:1]] m:map[k:1]] x:1]"
        );
    }

    #[test]
    fn a_map_a_chart_shares_with_another_is_copied_when_taken() {
        let c = chart("a: {k: 1}\n", vec![]);
        let other = sub_map(&c.values, "a");
        let out = coalesce(&c, &new_map(), false).expect("coalesces");
        sub_map(&out, "a").borrow_mut().insert("k".to_owned(), Value::Int(2));
        assert_eq!(sprint(&map_value(other)), "map[k:1]");
        assert_eq!(sprint(&map_value(c.values.clone())), "map[]");
    }
}
