//! Discovery: `/version`, `/api`, `/apis`, `/api/v1`, `/apis/{group}[/{version}]`, in the
//! plain formats and in aggregated discovery (`apidiscovery.k8s.io` `v2` and `v2beta1`), all
//! generated from the [`Registry`], so a CRD shows up as soon as it is registered.

use std::cmp::Ordering;

use serde_json::{Value, json};

use crate::resource::{Registry, ResourceType};

/// The media type of aggregated discovery, v2.
pub const AGGREGATED_V2: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
/// The media type of aggregated discovery, v2beta1.
pub const AGGREGATED_V2BETA1: &str = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";

/// Which aggregated discovery version a client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregated {
    /// `apidiscovery.k8s.io/v2`.
    V2,
    /// `apidiscovery.k8s.io/v2beta1`.
    V2Beta1,
}

impl Aggregated {
    /// The response's `Content-Type`: clients decide by it which format they got.
    pub fn content_type(self) -> &'static str {
        match self {
            Aggregated::V2 => AGGREGATED_V2,
            Aggregated::V2Beta1 => AGGREGATED_V2BETA1,
        }
    }

    fn api_version(self) -> &'static str {
        match self {
            Aggregated::V2 => "apidiscovery.k8s.io/v2",
            Aggregated::V2Beta1 => "apidiscovery.k8s.io/v2beta1",
        }
    }
}

/// Negotiates `/api` and `/apis`: the first media range of `accept` (in the client's order,
/// skipping ranges with `q=0`) that the server can produce decides. Aggregated discovery
/// when that range names it, plain JSON (`None`) for `application/json`, `*/*` and anything
/// else.
pub fn negotiate(accept: &str) -> Option<Aggregated> {
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let base = parts.next().unwrap_or("").to_ascii_lowercase();
        let mut g = None;
        let mut v = None;
        let mut as_kind = None;
        let mut profile = None;
        let mut q_zero = false;
        for p in parts {
            let Some((k, val)) = p.split_once('=') else { continue };
            let val = val.trim().trim_matches('"');
            match k.trim() {
                "g" => g = Some(val.to_owned()),
                "v" => v = Some(val.to_owned()),
                "as" => as_kind = Some(val.to_owned()),
                "profile" => profile = Some(val.to_owned()),
                "q" => q_zero = val.parse::<f32>().is_ok_and(|q| q <= 0.0),
                _ => {}
            }
        }
        if q_zero {
            continue;
        }
        match base.as_str() {
            "application/json" => {
                if as_kind.is_none() && g.is_none() && v.is_none() {
                    return None;
                }
                if g.as_deref() == Some("apidiscovery.k8s.io")
                    && as_kind.as_deref() == Some("APIGroupDiscoveryList")
                    && profile.as_deref().is_none_or(|p| p == "nopeer")
                {
                    match v.as_deref() {
                        Some("v2") => return Some(Aggregated::V2),
                        Some("v2beta1") => return Some(Aggregated::V2Beta1),
                        _ => {}
                    }
                }
            }
            "*/*" | "application/*" => return None,
            _ => {}
        }
    }
    None
}

/// `/version`, reporting [`crate::KUBERNETES_VERSION`]. The `gitVersion` is that version
/// exactly: a suffix would make it a semver pre-release, which chart `kubeVersion`
/// constraints such as `>= 1.19.0` (helm) do not match.
pub fn version() -> Value {
    let git_version = crate::KUBERNETES_VERSION;
    let mut numbers = git_version.trim_start_matches('v').split(['.', '-', '+']);
    let major = numbers.next().unwrap_or("1").to_owned();
    let minor = numbers.next().unwrap_or("0").to_owned();
    let min_compat = minor.parse::<u32>().map(|m| m.saturating_sub(1).to_string()).unwrap_or_else(|_| minor.clone());
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    json!({
        "major": major,
        "minor": minor,
        "emulationMajor": major,
        "emulationMinor": minor,
        "minCompatibilityMajor": major,
        "minCompatibilityMinor": min_compat,
        "gitVersion": git_version,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-12-17T00:00:00Z",
        "goVersion": "go1.25.5",
        "compiler": "gc",
        "platform": format!("{}/{arch}", std::env::consts::OS),
    })
}

/// Orders versions as Kubernetes does: GA before beta before alpha, higher numbers first,
/// anything else last, alphabetically.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    fn key(v: &str) -> (u8, i64, i64, String) {
        let parsed = v.strip_prefix('v').and_then(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            let major = digits.parse::<i64>().ok()?;
            let tail = &rest[digits.len()..];
            if tail.is_empty() {
                return Some((0, major, 0));
            }
            for (prefix, level) in [("beta", 1u8), ("alpha", 2u8)] {
                if let Some(n) = tail.strip_prefix(prefix) {
                    let minor = n.parse::<i64>().ok()?;
                    return Some((level, major, minor));
                }
            }
            None
        });
        match parsed {
            Some((level, major, minor)) => (level, -major, -minor, String::new()),
            None => (3, 0, 0, v.to_owned()),
        }
    }
    key(a).cmp(&key(b))
}

/// The groups served (core group excluded), each with its versions, preferred first.
pub fn groups(registry: &Registry) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (group, version) in registry.group_versions() {
        if group.is_empty() {
            continue;
        }
        match out.iter_mut().find(|(g, _)| *g == group) {
            Some((_, versions)) => {
                if !versions.contains(&version) {
                    versions.push(version);
                }
            }
            None => out.push((group, vec![version])),
        }
    }
    for (_, versions) in &mut out {
        versions.sort_by(|a, b| compare_versions(a, b));
    }
    out
}

fn types_of(registry: &Registry, group: &str, version: &str) -> Vec<ResourceType> {
    let mut types: Vec<ResourceType> =
        registry.all().into_iter().filter(|t| t.group == group && t.version == version).collect();
    types.sort_by(|a, b| a.resource.cmp(&b.resource));
    types
}

/// `/api`: the legacy group's versions.
pub fn api_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

fn group_version(group: &str, version: &str) -> Value {
    json!({"groupVersion": format!("{group}/{version}"), "version": version})
}

fn api_group(group: &str, versions: &[String]) -> Value {
    let preferred = versions.first().map(|v| group_version(group, v)).unwrap_or(Value::Null);
    json!({
        "name": group,
        "versions": versions.iter().map(|v| group_version(group, v)).collect::<Vec<_>>(),
        "preferredVersion": preferred,
    })
}

/// `/apis`: an `APIGroupList`.
pub fn api_group_list(registry: &Registry) -> Value {
    let groups: Vec<Value> = groups(registry).iter().map(|(g, vs)| api_group(g, vs)).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/{group}`: an `APIGroup`, or `None` when no such group is served.
pub fn api_group_doc(registry: &Registry, group: &str) -> Option<Value> {
    let (g, versions) = groups(registry).into_iter().find(|(g, _)| g == group)?;
    let mut doc = api_group(&g, &versions);
    doc["kind"] = json!("APIGroup");
    doc["apiVersion"] = json!("v1");
    Some(doc)
}

/// The verbs of a subresource, and the kind it answers with (group, version, kind; empty
/// group and version mean the resource's own).
fn subresource_shape(t: &ResourceType, sub: &str) -> (Vec<&'static str>, (&'static str, &'static str, String)) {
    match sub {
        "scale" => (vec!["get", "patch", "update"], ("autoscaling", "v1", "Scale".to_owned())),
        "log" => (vec!["get"], ("", "", t.kind.clone())),
        _ => (vec!["get", "patch", "update"], ("", "", t.kind.clone())),
    }
}

/// `/api/v1` or `/apis/{group}/{version}`: an `APIResourceList`, or `None` when the group
/// version is not served.
pub fn resource_list(registry: &Registry, group: &str, version: &str) -> Option<Value> {
    let types = types_of(registry, group, version);
    if types.is_empty() {
        return None;
    }
    let mut resources = Vec::new();
    for t in &types {
        let mut r = json!({
            "name": t.resource,
            "singularName": t.singular,
            "namespaced": t.namespaced,
            "kind": t.kind,
            "verbs": t.verbs,
        });
        if !t.short_names.is_empty() {
            r["shortNames"] = json!(t.short_names);
        }
        if !t.categories.is_empty() {
            r["categories"] = json!(t.categories);
        }
        resources.push(r);
        let mut subs = t.subresources.clone();
        subs.sort();
        for sub in subs {
            let (verbs, (g, v, kind)) = subresource_shape(t, &sub);
            let mut r = json!({
                "name": format!("{}/{sub}", t.resource),
                "singularName": "",
                "namespaced": t.namespaced,
                "kind": kind,
                "verbs": verbs,
            });
            if !g.is_empty() {
                r["group"] = json!(g);
                r["version"] = json!(v);
            }
            resources.push(r);
        }
    }
    let gv = if group.is_empty() { version.to_owned() } else { format!("{group}/{version}") };
    Some(json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}))
}

fn aggregated_resource(t: &ResourceType) -> Value {
    let mut r = json!({
        "resource": t.resource,
        "responseKind": {"group": "", "version": "", "kind": t.kind},
        "scope": if t.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": t.singular,
        "verbs": t.verbs,
    });
    if !t.short_names.is_empty() {
        r["shortNames"] = json!(t.short_names);
    }
    if !t.categories.is_empty() {
        r["categories"] = json!(t.categories);
    }
    let mut subs = t.subresources.clone();
    subs.sort();
    if !subs.is_empty() {
        r["subresources"] = subs
            .iter()
            .map(|sub| {
                let (verbs, (g, v, kind)) = subresource_shape(t, sub);
                json!({"subresource": sub, "responseKind": {"group": g, "version": v, "kind": kind}, "verbs": verbs})
            })
            .collect();
    }
    r
}

fn aggregated_group(registry: &Registry, group: &str, versions: &[String]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|v| {
            let resources: Vec<Value> = types_of(registry, group, v).iter().map(aggregated_resource).collect();
            json!({"version": v, "resources": resources, "freshness": "Current"})
        })
        .collect();
    let metadata = if group.is_empty() {
        json!({"creationTimestamp": null})
    } else {
        json!({"name": group, "creationTimestamp": null})
    };
    json!({"metadata": metadata, "versions": versions})
}

/// Aggregated discovery of `/api` (`legacy`) or `/apis`: an `APIGroupDiscoveryList` holding
/// every group, version and resource.
pub fn aggregated(registry: &Registry, legacy: bool, format: Aggregated) -> Value {
    let items: Vec<Value> = if legacy {
        vec![aggregated_group(registry, "", &["v1".to_owned()])]
    } else {
        groups(registry).iter().map(|(g, vs)| aggregated_group(registry, g, vs)).collect()
    };
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": format.api_version(), "metadata": {}, "items": items})
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUBECTL_ACCEPT: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

    #[test]
    fn the_accept_header_picks_the_discovery_format_in_the_clients_order() {
        assert_eq!(negotiate(KUBECTL_ACCEPT), Some(Aggregated::V2));
        assert_eq!(
            negotiate("application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"),
            Some(Aggregated::V2Beta1)
        );
        assert_eq!(
            negotiate("application/json; as=APIGroupDiscoveryList; v=v2; g=apidiscovery.k8s.io"),
            Some(Aggregated::V2)
        );
        assert_eq!(negotiate("application/json"), None);
        assert_eq!(
            negotiate("application/json, application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"),
            None
        );
        assert_eq!(negotiate(""), None);
        assert_eq!(negotiate("*/*"), None);
        assert_eq!(
            negotiate("application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList,application/json"),
            None
        );
    }

    #[test]
    fn versions_sort_as_kubernetes_sorts_them() {
        let mut vs = vec!["v1alpha1", "v1", "v2beta1", "v2", "v1beta2", "foo", "v1beta1"];
        vs.sort_by(|a, b| compare_versions(a, b));
        assert_eq!(vs, ["v2", "v1", "v2beta1", "v1beta2", "v1beta1", "v1alpha1", "foo"]);
    }

    #[test]
    fn the_group_list_prefers_the_newest_version() {
        let r = Registry::default();
        let list = api_group_list(&r);
        let autoscaling = list["groups"].as_array().unwrap().iter().find(|g| g["name"] == "autoscaling").unwrap();
        assert_eq!(autoscaling["preferredVersion"]["version"], "v2");
        assert_eq!(autoscaling["versions"][1]["groupVersion"], "autoscaling/v1");
        assert!(list["groups"].as_array().unwrap().iter().all(|g| g["name"] != ""));
    }

    #[test]
    fn resource_lists_carry_subresources_as_the_real_server_does() {
        let r = Registry::default();
        let apps = resource_list(&r, "apps", "v1").unwrap();
        let find =
            |name: &str| apps["resources"].as_array().unwrap().iter().find(|x| x["name"] == name).cloned().unwrap();
        let d = find("deployments");
        assert_eq!(d["shortNames"], json!(["deploy"]));
        assert_eq!(d["singularName"], "deployment");
        assert_eq!(d["namespaced"], true);
        assert_eq!(find("deployments/status")["kind"], "Deployment");
        let scale = find("deployments/scale");
        assert_eq!((scale["group"].as_str(), scale["kind"].as_str()), (Some("autoscaling"), Some("Scale")));
        let core = resource_list(&r, "", "v1").unwrap();
        assert_eq!(core["groupVersion"], "v1");
        let log = core["resources"].as_array().unwrap().iter().find(|x| x["name"] == "pods/log").unwrap();
        assert_eq!(log["verbs"], json!(["get"]));
        assert!(resource_list(&r, "apps", "v9").is_none());
    }

    #[test]
    fn aggregated_discovery_matches_the_real_shape() {
        let r = Registry::default();
        let core = aggregated(&r, true, Aggregated::V2);
        assert_eq!(core["apiVersion"], "apidiscovery.k8s.io/v2");
        assert_eq!(core["items"].as_array().unwrap().len(), 1);
        assert!(core["items"][0]["metadata"].get("name").is_none());
        let apis = aggregated(&r, false, Aggregated::V2Beta1);
        assert_eq!(apis["apiVersion"], "apidiscovery.k8s.io/v2beta1");
        let apps = apis["items"].as_array().unwrap().iter().find(|g| g["metadata"]["name"] == "apps").unwrap();
        let deploy = apps["versions"][0]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["resource"] == "deployments")
            .unwrap();
        assert_eq!(deploy["scope"], "Namespaced");
        assert_eq!(deploy["responseKind"], json!({"group": "", "version": "", "kind": "Deployment"}));
        assert_eq!(deploy["subresources"][0]["subresource"], "scale");
        assert_eq!(deploy["subresources"][0]["responseKind"]["group"], "autoscaling");
        assert_eq!(apps["versions"][0]["freshness"], "Current");
    }

    #[test]
    fn the_version_is_shaped_like_a_real_servers() {
        let v = version();
        assert_eq!(v["major"], "1");
        assert_eq!(v["gitVersion"], crate::KUBERNETES_VERSION);
        assert!(crate::KUBERNETES_VERSION.starts_with(&format!("v1.{}.", v["minor"].as_str().unwrap())));
        assert!(v["platform"].as_str().unwrap().contains('/'));
    }
}
