//! The patch formats of the Kubernetes API: JSON patch (RFC 6902), JSON merge patch
//! (RFC 7386) and strategic merge patch, which merges lists of known fields by a key.

use serde_json::{Map, Value};

use crate::status::ApiStatus;

/// RFC 7386: objects merge recursively, `null` deletes, anything else replaces.
pub fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(t) = target {
        for (k, v) in patch {
            if v.is_null() {
                t.remove(k);
            } else {
                merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

/// The merge key of a list field in the built-in kinds, by the field's name.
fn merge_key(field: &str) -> Option<&'static str> {
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "hostAliases"
        | "readinessGates"
        | "conditions" => match field {
            "hostAliases" => "ip",
            "readinessGates" => "conditionType",
            "conditions" => "type",
            _ => "name",
        },
        "ports" => "containerPort",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "tolerations" => return None,
        _ => return None,
    })
}

/// The merge key of the list `field` holding `items`: as [`merge_key`], but a Service's
/// ports (which have no `containerPort`) merge by `port`.
fn list_merge_key(field: &str, items: &[Value]) -> Option<&'static str> {
    if field == "ports" && items.iter().all(|i| i.get("containerPort").is_none()) {
        return Some("port");
    }
    merge_key(field)
}

/// Strategic merge patch: a merge patch in which lists of known fields (containers by name,
/// ports by containerPort, env by name, ...) merge element by element, and `$patch: delete`
/// and `$patch: replace` directives are honoured.
pub fn strategic_merge(target: &mut Value, patch: &Value) {
    strategic(target, patch, None);
}

fn strategic(target: &mut Value, patch: &Value, _field: Option<&str>) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if patch.get("$patch").and_then(Value::as_str) == Some("replace") {
        let mut replaced = patch.clone();
        replaced.remove("$patch");
        *target = Value::Object(replaced);
        return;
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(t) = target else { return };
    for (k, v) in patch {
        if k.starts_with('$') {
            continue;
        }
        if let Some(field) = k.strip_prefix("$setElementOrder/") {
            let _ = field;
            continue;
        }
        if v.is_null() {
            t.remove(k);
            continue;
        }
        let key = v.as_array().and_then(|items| list_merge_key(k, items));
        match (t.get_mut(k), v, key) {
            (Some(Value::Array(existing)), Value::Array(items), Some(key)) => merge_list(existing, items, key),
            (Some(existing), _, _) => strategic(existing, v, Some(k)),
            (None, _, _) => {
                let mut fresh = Value::Null;
                strategic(&mut fresh, v, Some(k));
                strip_directives(&mut fresh);
                t.insert(k.clone(), fresh);
            }
        }
    }
}

fn strip_directives(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|k, _| !k.starts_with('$'));
            m.values_mut().for_each(strip_directives);
        }
        Value::Array(a) => {
            a.retain(|x| x.get("$patch").and_then(Value::as_str) != Some("delete"));
            a.iter_mut().for_each(strip_directives);
        }
        _ => {}
    }
}

/// A port's protocol, `TCP` when it has none (as the API server defaults it).
fn protocol(port: &Value) -> &str {
    port.get("protocol").and_then(Value::as_str).unwrap_or("TCP")
}

fn merge_list(existing: &mut Vec<Value>, items: &[Value], key: &str) {
    // Ports are told apart by number and protocol, as server-side apply keys them (`53/TCP`
    // and `53/UDP` are two ports).
    let by_protocol = key == "containerPort" || key == "port";
    for item in items {
        let id = item.get(key).cloned();
        let position = id.as_ref().and_then(|id| {
            existing.iter().position(|e| e.get(key) == Some(id) && (!by_protocol || protocol(e) == protocol(item)))
        });
        let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
        match (position, delete) {
            (Some(i), true) => {
                existing.remove(i);
            }
            (None, true) => {}
            (Some(i), false) => strategic(&mut existing[i], item, None),
            (None, false) => {
                let mut fresh = item.clone();
                strip_directives(&mut fresh);
                existing.push(fresh);
            }
        }
    }
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn split_pointer(path: &str) -> Result<(String, String), ApiStatus> {
    let (parent, last) =
        path.rsplit_once('/').ok_or_else(|| ApiStatus::bad_request(format!("invalid JSON pointer {path:?}")))?;
    Ok((parent.to_owned(), unescape(last)))
}

fn container<'a>(doc: &'a mut Value, parent: &str) -> Result<&'a mut Value, ApiStatus> {
    doc.pointer_mut(parent).ok_or_else(|| ApiStatus::unprocessable_patch(format!("the path {parent:?} does not exist")))
}

fn add(doc: &mut Value, path: &str, value: Value) -> Result<(), ApiStatus> {
    if path.is_empty() {
        *doc = value;
        return Ok(());
    }
    let (parent, last) = split_pointer(path)?;
    match container(doc, &parent)? {
        Value::Object(m) => {
            m.insert(last, value);
            Ok(())
        }
        Value::Array(a) => {
            let i = if last == "-" {
                a.len()
            } else {
                last.parse::<usize>()
                    .map_err(|_| ApiStatus::unprocessable_patch(format!("invalid array index {last:?}")))?
            };
            if i > a.len() {
                return Err(ApiStatus::unprocessable_patch(format!("array index {i} out of bounds")));
            }
            a.insert(i, value);
            Ok(())
        }
        _ => Err(ApiStatus::unprocessable_patch(format!("cannot add to {parent:?}: not an object or array"))),
    }
}

fn remove(doc: &mut Value, path: &str) -> Result<Value, ApiStatus> {
    let (parent, last) = split_pointer(path)?;
    match container(doc, &parent)? {
        Value::Object(m) => {
            m.remove(&last).ok_or_else(|| ApiStatus::unprocessable_patch(format!("the path {path:?} does not exist")))
        }
        Value::Array(a) => {
            let i = last
                .parse::<usize>()
                .map_err(|_| ApiStatus::unprocessable_patch(format!("invalid array index {last:?}")))?;
            if i >= a.len() {
                return Err(ApiStatus::unprocessable_patch(format!("array index {i} out of bounds")));
            }
            Ok(a.remove(i))
        }
        _ => Err(ApiStatus::unprocessable_patch(format!("the path {path:?} does not exist"))),
    }
}

/// RFC 6902: applies every operation in order, or none.
pub fn json_patch(doc: &mut Value, ops: &Value) -> Result<(), ApiStatus> {
    let ops = ops.as_array().ok_or_else(|| ApiStatus::bad_request("a JSON patch must be a list of operations"))?;
    let mut work = doc.clone();
    for op in ops {
        let kind = op.get("op").and_then(Value::as_str).unwrap_or("");
        let path = op
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiStatus::bad_request("a JSON patch operation needs a path"))?;
        let value = || {
            op.get("value")
                .cloned()
                .ok_or_else(|| ApiStatus::bad_request(format!("the {kind} operation needs a value")))
        };
        let from = || {
            op.get("from")
                .and_then(Value::as_str)
                .ok_or_else(|| ApiStatus::bad_request(format!("the {kind} operation needs from")))
        };
        match kind {
            "add" => add(&mut work, path, value()?)?,
            "remove" => {
                remove(&mut work, path)?;
            }
            "replace" => {
                remove(&mut work, path)?;
                add(&mut work, path, value()?)?;
            }
            "move" => {
                let v = remove(&mut work, from()?)?;
                add(&mut work, path, v)?;
            }
            "copy" => {
                let v = work
                    .pointer(from()?)
                    .cloned()
                    .ok_or_else(|| ApiStatus::unprocessable_patch("the from path does not exist"))?;
                add(&mut work, path, v)?;
            }
            "test" => {
                if work.pointer(path) != Some(&value()?) {
                    return Err(ApiStatus::unprocessable_patch(format!("test failed at {path:?}")));
                }
            }
            other => return Err(ApiStatus::bad_request(format!("unknown JSON patch operation {other:?}"))),
        }
    }
    *doc = work;
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn merge_patch_deletes_with_null_and_replaces_lists() {
        let mut doc = json!({"a": {"b": 1, "c": 2}, "l": [1, 2]});
        merge(&mut doc, &json!({"a": {"b": null, "d": 3}, "l": [3]}));
        assert_eq!(doc, json!({"a": {"c": 2, "d": 3}, "l": [3]}));
    }

    #[test]
    fn strategic_merge_merges_containers_by_name() {
        let mut doc = json!({"spec": {"containers": [{"name": "a", "image": "x:1"}, {"name": "b", "image": "y:1"}]}});
        strategic_merge(
            &mut doc,
            &json!({"spec": {"containers": [{"name": "b", "image": "y:2"}, {"name": "c", "image": "z:1"}, {"name": "a", "$patch": "delete"}]}}),
        );
        assert_eq!(
            doc,
            json!({"spec": {"containers": [{"name": "b", "image": "y:2"}, {"name": "c", "image": "z:1"}]}})
        );
    }

    #[test]
    fn strategic_merge_merges_service_ports_by_port() {
        let mut both = json!({"ports": [{"name": "dns", "containerPort": 53}, {"name": "dns-udp", "containerPort": 53, "protocol": "UDP"}]});
        strategic_merge(
            &mut both,
            &json!({"ports": [{"name": "dns", "containerPort": 53}, {"name": "dns-udp", "containerPort": 53, "protocol": "UDP"}]}),
        );
        assert_eq!(both["ports"].as_array().map(Vec::len), Some(2), "{both}");
        let mut doc = json!({"spec": {"ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}});
        strategic_merge(&mut doc, &json!({"spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}));
        assert_eq!(doc["spec"]["ports"], json!([{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]));
    }

    #[test]
    fn json_patch_applies_all_operations_or_none() {
        let mut doc = json!({"metadata": {"labels": {"a": "1"}}, "items": [1, 2]});
        json_patch(
            &mut doc,
            &json!([
                {"op": "add", "path": "/metadata/labels/b", "value": "2"},
                {"op": "remove", "path": "/items/0"},
                {"op": "replace", "path": "/metadata/labels/a", "value": "3"},
            ]),
        )
        .unwrap();
        assert_eq!(doc, json!({"metadata": {"labels": {"a": "3", "b": "2"}}, "items": [2]}));
        let before = doc.clone();
        assert!(
            json_patch(
                &mut doc,
                &json!([{"op": "remove", "path": "/items/0"}, {"op": "test", "path": "/x", "value": 1}])
            )
            .is_err()
        );
        assert_eq!(doc, before);
    }
}
