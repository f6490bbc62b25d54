//! Services: ports, types, external names, and cluster IPs that stay once set.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::workloads::{PORT_RANGE, port_name, protocol};
use super::{FieldError, Path, array_of, dns1123_label, dns1123_subdomain, field, labels, str_of};

/// The Service types, in the order the apiserver lists them.
const TYPES: [&str; 4] = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
/// The node ports a Service may ask for.
const NODE_PORTS: std::ops::RangeInclusive<i64> = 30000..=32767;

fn service_type(svc: &Value) -> &str {
    match str_of(field(svc, "spec"), "type") {
        "" => "ClusterIP",
        t => t,
    }
}

/// The Service's cluster IPs, primary first, as the apiserver normalizes them: `clusterIP`
/// is the primary one, and stands for `clusterIPs` when that is not given.
fn cluster_ips(svc: &Value) -> Vec<String> {
    let spec = field(svc, "spec");
    let mut ips: Vec<String> =
        array_of(spec, "clusterIPs").iter().filter_map(Value::as_str).map(str::to_owned).collect();
    let primary = str_of(spec, "clusterIP");
    if !primary.is_empty() {
        match ips.first_mut() {
            Some(first) => *first = primary.to_owned(),
            None => ips.push(primary.to_owned()),
        }
    }
    ips
}

/// `isHeadlessService`.
fn is_headless(svc: &Value) -> bool {
    service_type(svc) == "ClusterIP" && cluster_ips(svc) == ["None"]
}

/// A Service.
pub(super) fn service(svc: &Value) -> Vec<FieldError> {
    let spec = field(svc, "spec");
    let path = Path::new("spec");
    let kind = service_type(svc);
    let ports = array_of(spec, "ports");
    let mut errs = Vec::new();
    if ports.is_empty() && !is_headless(svc) && kind != "ExternalName" {
        errs.push(FieldError::required(&path.child("ports"), ""));
    }
    if kind == "ExternalName" {
        if !cluster_ips(svc).is_empty() {
            errs.push(FieldError::forbidden(&path.child("clusterIPs"), "may not be set for ExternalName services"));
        }
        let cname = str_of(spec, "externalName");
        let cname = cname.strip_suffix('.').unwrap_or(cname);
        if cname.is_empty() {
            errs.push(FieldError::required(&path.child("externalName"), ""));
        } else {
            let p = path.child("externalName");
            errs.extend(dns1123_subdomain(cname).into_iter().map(|m| FieldError::invalid(&p, &json!(cname), &m)));
        }
    }
    let mut names = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        errs.extend(service_port(port, ports.len() > 1, &mut names, &path.child("ports").index(i)));
    }
    errs.extend(labels(field(spec, "selector"), &path.child("selector")));
    if !TYPES.contains(&kind) {
        errs.push(FieldError::not_supported(&path.child("type"), &json!(kind), &TYPES));
    }
    errs.extend(node_ports(ports, kind, &path.child("ports")));
    let mut seen = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let key = (field(port, "port").as_i64().unwrap_or(0), str_of(port, "protocol").to_owned());
        let protocol = if key.1.is_empty() { "TCP".to_owned() } else { key.1.clone() };
        if !seen.insert((key.0, protocol.clone())) {
            let p = path.child("ports").index(i);
            errs.push(FieldError::duplicate(&p, &json!({"port": key.0, "protocol": protocol})));
        }
    }
    errs
}

/// `validateServicePort`: a name when there are several ports, a port in range, a known
/// protocol and a target port that is a port number or name.
fn service_port<'a>(
    port: &'a Value,
    name_required: bool,
    names: &mut BTreeSet<&'a str>,
    path: &Path,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = str_of(port, "name");
    if name_required && name.is_empty() {
        errs.push(FieldError::required(&path.child("name"), ""));
    } else if !name.is_empty() {
        let p = path.child("name");
        errs.extend(dns1123_label(name).into_iter().map(|m| FieldError::invalid(&p, &json!(name), &m)));
        if !names.insert(name) {
            errs.push(FieldError::duplicate(&p, &json!(name)));
        }
    }
    let number = field(port, "port");
    if !number.as_i64().is_some_and(|n| (1..=65535).contains(&n)) {
        let value = if number.is_null() { json!(0) } else { number.clone() };
        errs.push(FieldError::invalid(&path.child("port"), &value, PORT_RANGE));
    }
    errs.extend(protocol(port, &path.child("protocol")));
    let target = field(port, "targetPort");
    let tp = path.child("targetPort");
    match target {
        Value::String(s) => errs.extend(port_name(s).into_iter().map(|m| FieldError::invalid(&tp, target, &m))),
        Value::Number(_) => match target.as_i64() {
            // 0 is "the same as `port`".
            Some(0) => {}
            Some(n) if (1..=65535).contains(&n) => {}
            _ => errs.push(FieldError::invalid(&tp, target, PORT_RANGE)),
        },
        _ => {}
    }
    errs
}

/// Node ports: not on a `ClusterIP` Service, and within the node port range otherwise.
fn node_ports(ports: &[Value], kind: &str, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let node_port = field(port, "nodePort");
        let Some(n) = node_port.as_i64().filter(|n| *n != 0) else { continue };
        let p = path.index(i).child("nodePort");
        match kind {
            "ClusterIP" => errs.push(FieldError::forbidden(&p, "may not be used when `type` is 'ClusterIP'")),
            "NodePort" | "LoadBalancer" if !NODE_PORTS.contains(&n) => errs.push(FieldError::invalid(
                &p,
                node_port,
                "provided port is not in the valid range. The range of valid ports is 30000-32767",
            )),
            _ => {}
        }
    }
    errs
}

/// What the apiserver does to an update before validating it: a Service that does not say
/// its cluster IPs keeps the ones it was given (`kubectl replace` of a manifest without them
/// works).
pub(super) fn keep_allocated_ips(current: &Value, next: &mut Value) {
    if service_type(current) == "ExternalName" || service_type(next) == "ExternalName" {
        return;
    }
    let old = field(current, "spec");
    let Some(spec) = next.get_mut("spec").and_then(Value::as_object_mut) else { return };
    let unset = |v: Option<&Value>| v.is_none_or(|v| v.is_null() || v == "" || v.as_array().is_some_and(Vec::is_empty));
    for key in ["clusterIP", "clusterIPs"] {
        if unset(spec.get(key)) && !unset(old.get(key)) {
            spec.insert(key.to_owned(), old[key].clone());
        }
    }
}

/// `validateUpgradeDowngradeClusterIPs`: the primary cluster IP may not change once set.
pub(super) fn service_update(current: &Value, next: &Value) -> Vec<FieldError> {
    if service_type(current) == "ExternalName" || service_type(next) == "ExternalName" {
        return Vec::new();
    }
    if is_headless(current) && is_headless(next) {
        return Vec::new();
    }
    let old = cluster_ips(current);
    let new = cluster_ips(next);
    let path = Path::new("spec").child("clusterIPs");
    let value = json!(new);
    let mut errs = Vec::new();
    if old.len() == new.len() {
        for (i, ip) in old.iter().enumerate() {
            if *ip != new[i] {
                errs.push(FieldError::invalid(&path.index(i), &value, "may not change once set"));
            }
        }
    } else if new.is_empty() {
        errs.push(FieldError::invalid(&path.index(0), &value, "primary clusterIP can not be unset"));
    } else if !old.is_empty() && old[0] != new[0] {
        errs.push(FieldError::invalid(&path.index(0), &value, "may not change once set"));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::super::tests::{create_errors, update_errors};
    use super::keep_allocated_ips;
    use serde_json::json;

    #[test]
    fn a_service_needs_ports_unless_headless_or_external() {
        assert_eq!(
            create_errors("", "services", json!({"spec": {"selector": {"app": "web"}}})),
            ["spec.ports: Required value"]
        );
        assert!(create_errors("", "services", json!({"spec": {"clusterIP": "None"}})).is_empty());
        assert!(
            create_errors("", "services", json!({"spec": {"type": "ExternalName", "externalName": "example.com."}}))
                .is_empty()
        );
        assert_eq!(
            create_errors("", "services", json!({"spec": {"type": "ExternalName"}})),
            ["spec.externalName: Required value"]
        );
    }

    #[test]
    fn service_ports_are_in_range_named_when_several_and_unique() {
        let svc = json!({"spec": {"ports": [{"port": 0}, {"name": "http", "port": 80, "targetPort": 70000}, {"name": "b", "port": 80}]}});
        assert_eq!(
            create_errors("", "services", svc),
            [
                "spec.ports[0].name: Required value",
                "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
                "spec.ports[1].targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
                "spec.ports[2]: Duplicate value: {\"port\":80,\"protocol\":\"TCP\"}",
            ]
        );
    }

    #[test]
    fn a_service_type_is_known_and_node_ports_fit_it() {
        let svc = json!({"spec": {"type": "Ingress", "ports": [{"port": 80}]}});
        assert_eq!(
            create_errors("", "services", svc),
            [
                "spec.type: Unsupported value: \"Ingress\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\""
            ]
        );
        let svc = json!({"spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 80}]}});
        assert_eq!(
            create_errors("", "services", svc),
            [
                "spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767"
            ]
        );
        let svc = json!({"spec": {"ports": [{"port": 80, "nodePort": 30080}]}});
        assert_eq!(
            create_errors("", "services", svc),
            ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"]
        );
    }

    #[test]
    fn a_cluster_ip_may_not_change_once_set() {
        let current =
            json!({"spec": {"clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"], "ports": [{"port": 80}]}});
        let mut next = current.clone();
        next["spec"]["clusterIP"] = json!("10.96.0.11");
        assert_eq!(
            update_errors("", "services", current.clone(), next),
            ["spec.clusterIPs[0]: Invalid value: [\"10.96.0.11\"]: may not change once set"]
        );
    }

    #[test]
    fn a_service_without_cluster_ips_keeps_the_ones_it_has() {
        let current =
            json!({"spec": {"clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"], "ports": [{"port": 80}]}});
        let mut next = json!({"spec": {"ports": [{"port": 8080}]}});
        keep_allocated_ips(&current, &mut next);
        assert_eq!(next["spec"]["clusterIP"], "10.96.0.10");
        assert_eq!(next["spec"]["clusterIPs"], json!(["10.96.0.10"]));
        assert!(update_errors("", "services", current, next).is_empty());
    }

    #[test]
    fn a_first_cluster_ip_may_be_given() {
        let current = json!({"spec": {"ports": [{"port": 80}]}});
        let mut next = current.clone();
        next["spec"]["clusterIP"] = json!("10.96.0.12");
        assert!(update_errors("", "services", current, next).is_empty());
    }
}
