//! Charts in OCI registries, as Helm stores them: `oci://REGISTRY/REPOSITORY/CHART[:TAG]`
//! names a repository of the registry whose tags are the chart's versions (with `+` written
//! `_`), and each tag's image manifest holds the chart archive as its one layer of media type
//! [`CHART_LAYER`]. This module reads references, manifests, tag lists and authentication
//! challenges; fetching them is the caller's.

use serde::Deserialize;

use crate::semver::{Version, is_compatible_range};

/// The media type of a Helm chart archive in an OCI image manifest.
pub const CHART_LAYER: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";

/// The media type of the image manifest asked for (`Accept`).
pub const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// The chart layer's media type before Helm 3.8 (still read by Helm).
const LEGACY_CHART_LAYER: &str = "application/tar+gzip";

/// An `oci://` reference to a chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `registry.example.com` or `127.0.0.1:5000`.
    pub registry: String,
    /// The repository in the registry, the chart's name last: `charts/podinfo`.
    pub repository: String,
    /// The tag, when the reference names one (`:1.2.3`).
    pub tag: Option<String>,
    /// The manifest's digest, when the reference names one (`@sha256:...`).
    pub digest: Option<String>,
}

impl Reference {
    /// Reads `oci://REGISTRY/REPOSITORY[:TAG][@DIGEST]`, checking each part as the OCI
    /// distribution specification does.
    pub fn parse(reference: &str) -> Result<Reference, String> {
        let rest = reference
            .strip_prefix("oci://")
            .ok_or_else(|| format!("{reference:?} is not an OCI reference: it starts with oci://"))?;
        let (rest, digest) = match rest.split_once('@') {
            Some((r, d)) => (r, Some(d.to_owned())),
            None => (rest, None),
        };
        let (registry, path) = rest
            .split_once('/')
            .ok_or_else(|| format!("{reference:?} names no repository: oci://REGISTRY/PATH/CHART"))?;
        let (repository, tag) = match path.rsplit_once(':') {
            Some((r, t)) => (r, Some(t.to_owned())),
            None => (path, None),
        };
        if !valid_registry(registry) {
            return Err(format!("{reference:?}: {registry:?} is not a registry's host[:port]"));
        }
        if !valid_repository(repository) {
            return Err(format!(
                "{reference:?}: {repository:?} is not a repository name (lower-case letters and digits, \
                 separated by '.', '_', '__', '-' or '/')"
            ));
        }
        if let Some(t) = &tag
            && !valid_tag(t)
        {
            return Err(format!("{reference:?}: {t:?} is not a tag"));
        }
        if let Some(d) = &digest
            && !valid_digest(d)
        {
            return Err(format!("{reference:?}: {d:?} is not a sha256 digest"));
        }
        Ok(Reference { registry: registry.to_owned(), repository: repository.to_owned(), tag, digest })
    }

    /// The chart's name: the repository's last component.
    pub fn chart_name(&self) -> &str {
        self.repository.rsplit('/').next().unwrap_or(&self.repository)
    }

    /// Whether this reference lies under `prefix`, another reference without tag or digest
    /// (`oci://registry/charts` covers `oci://registry/charts/podinfo`).
    pub fn is_under(&self, prefix: &str) -> bool {
        let Ok((registry, path)) = location(prefix) else { return false };
        registry == self.registry
            && (path.is_empty()
                || self.repository == path
                || self.repository.strip_prefix(path).is_some_and(|r| r.starts_with('/')))
    }
}

/// The registry and path of a location under which charts lie, `oci://registry[/path]` (a
/// trailing `/` aside), each checked as in a reference.
pub fn location(url: &str) -> Result<(&str, &str), String> {
    let rest = url
        .strip_prefix("oci://")
        .ok_or_else(|| format!("{url:?} is not an OCI location: it starts with oci://"))?
        .trim_end_matches('/');
    let (registry, path) = rest.split_once('/').unwrap_or((rest, ""));
    if !valid_registry(registry) {
        return Err(format!("{url:?}: {registry:?} is not a registry's host[:port]"));
    }
    if !path.is_empty() && !valid_repository(path) {
        return Err(format!("{url:?}: {path:?} is not a repository path"));
    }
    Ok((registry, path))
}

fn valid_registry(registry: &str) -> bool {
    !registry.is_empty() && registry.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*` components separated by `/`.
fn valid_repository(repository: &str) -> bool {
    !repository.is_empty()
        && repository.len() <= 255
        && repository.split('/').all(|component| {
            let bytes = component.as_bytes();
            let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
            if bytes.is_empty() || !alnum(&bytes[0]) || !alnum(&bytes[bytes.len() - 1]) {
                return false;
            }
            let mut i = 0;
            while i < bytes.len() {
                if alnum(&bytes[i]) {
                    i += 1;
                    continue;
                }
                // A separator: `.`, `_`, `__` or a run of `-`, between alphanumerics.
                let start = i;
                while i < bytes.len() && !alnum(&bytes[i]) {
                    i += 1;
                }
                let sep = &component[start..i];
                if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-')) {
                    return false;
                }
            }
            true
        })
}

/// `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
fn valid_tag(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && (bytes[0].is_ascii_alphanumeric() || bytes[0] == b'_')
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(b))
}

fn valid_digest(digest: &str) -> bool {
    digest
        .strip_prefix("sha256:")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

/// The version a tag stands for: Helm writes a version's `+` as `_` in tags.
pub fn tag_version(tag: &str) -> String {
    tag.replace('_', "+")
}

/// The tag of chart version `version`.
pub fn version_tag(version: &str) -> String {
    version.replace('+', "_")
}

/// The tag to install among a repository's `tags`: the latest version that satisfies
/// `constraint` (`1.2.3`, `^1.2`), or without one the latest that is not a pre-release, as
/// Helm picks it. Tags that are not versions are ignored.
pub fn pick_tag(tags: &[String], constraint: Option<&str>, chart: &str) -> Result<String, String> {
    let constraint = constraint.map(str::trim).filter(|c| !c.is_empty());
    let mut candidates: Vec<(Version, &String)> = tags
        .iter()
        .filter_map(|t| Version::parse(&tag_version(t)).map(|v| (v, t)))
        .filter(|(v, t)| match constraint {
            Some(c) => tag_version(t) == c || is_compatible_range(c, &tag_version(t)),
            None => !v.is_prerelease(),
        })
        .collect();
    candidates.sort_by(|a, b| a.0.cmp(&b.0));
    candidates.last().map(|(_, t)| (*t).clone()).ok_or_else(|| match constraint {
        Some(c) => format!("chart {chart:?} has no version matching {c:?}"),
        None if tags.is_empty() => format!("chart {chart:?} has no versions in the registry"),
        None => format!("chart {chart:?} has no stable version; give one"),
    })
}

/// A `GET /v2/NAME/tags/list` answer.
#[derive(Debug, Deserialize)]
pub struct TagList {
    /// The tags.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
}

/// A blob in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// Its media type.
    pub media_type: String,
    /// `sha256:...`.
    pub digest: String,
    /// Its size in bytes.
    pub size: u64,
}

#[derive(Deserialize)]
struct Manifest {
    #[serde(default)]
    layers: Vec<Descriptor>,
}

/// The chart archive's layer in an image manifest.
pub fn chart_layer(manifest: &[u8]) -> Result<Descriptor, String> {
    let m: Manifest =
        serde_json::from_slice(manifest).map_err(|e| format!("the manifest is not an image manifest: {e}"))?;
    let found: Vec<&Descriptor> =
        m.layers.iter().filter(|l| l.media_type == CHART_LAYER || l.media_type == LEGACY_CHART_LAYER).collect();
    match found.as_slice() {
        [one] if valid_digest(&one.digest) => Ok((*one).clone()),
        [one] => Err(format!("the chart layer's digest {:?} is not a sha256 digest", one.digest)),
        [] => Err(format!("the manifest has no chart layer ({CHART_LAYER}): it is not a Helm chart")),
        _ => Err("the manifest has more than one chart layer".to_owned()),
    }
}

/// What a registry's `WWW-Authenticate` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// Basic authentication.
    Basic,
    /// A bearer token from `realm`, for `service` and `scope`.
    Bearer {
        /// The token endpoint.
        realm: String,
        /// The `service` parameter.
        service: Option<String>,
        /// The `scope` parameter.
        scope: Option<String>,
    },
}

impl Challenge {
    /// Reads a `WWW-Authenticate` header: `Basic realm="..."` or
    /// `Bearer realm="...",service="...",scope="..."`.
    pub fn parse(header: &str) -> Option<Challenge> {
        let (scheme, params) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
        if scheme.eq_ignore_ascii_case("basic") {
            return Some(Challenge::Basic);
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let params = auth_params(params);
        let get = |k: &str| params.iter().find(|(key, _)| key.eq_ignore_ascii_case(k)).map(|(_, v)| v.clone());
        Some(Challenge::Bearer { realm: get("realm")?, service: get("service"), scope: get("scope") })
    }
}

/// `key="value", key=token` pairs; a quoted value may hold commas and `\"`.
fn auth_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ',')).collect();
        if key.is_empty() {
            return out;
        }
        if chars.next() != Some('=') {
            continue;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value = std::iter::from_fn(|| chars.next_if(|c| *c != ',')).collect::<String>().trim().to_owned();
        }
        out.push((key.trim().to_owned(), value));
    }
}

/// A token endpoint's answer: `token`, or OAuth 2's `access_token`.
#[derive(Debug, Deserialize)]
pub struct TokenAnswer {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

impl TokenAnswer {
    /// The token.
    pub fn token(self) -> Option<String> {
        self.token.or(self.access_token).filter(|t| !t.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_read_and_checked() {
        let r = Reference::parse("oci://127.0.0.1:5000/charts/podinfo:6.14.1").unwrap();
        assert_eq!(
            r,
            Reference {
                registry: "127.0.0.1:5000".to_owned(),
                repository: "charts/podinfo".to_owned(),
                tag: Some("6.14.1".to_owned()),
                digest: None
            }
        );
        assert_eq!(r.chart_name(), "podinfo");
        let d = format!("sha256:{}", "a".repeat(64));
        let r = Reference::parse(&format!("oci://ghcr.io/stefanprodan/charts/podinfo@{d}")).unwrap();
        assert_eq!((r.tag, r.digest), (None, Some(d)));
        assert_eq!(Reference::parse("oci://r.io/a/my_chart-x").unwrap().tag, None);
        for bad in [
            "https://r.io/a",
            "oci://r.io",
            "oci://r.io/",
            "oci://r.io/Upper",
            "oci://r.io/a//b",
            "oci://r.io/a-",
            "oci://r.io/a:bad tag",
            "oci://r.io/a@sha256:xyz",
            "oci://r o/a",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_reference_lies_under_a_registry_or_one_of_its_paths() {
        let r = Reference::parse("oci://r.io:5000/team/charts/web:1.0.0").unwrap();
        for prefix in ["oci://r.io:5000", "oci://r.io:5000/", "oci://r.io:5000/team", "oci://r.io:5000/team/charts"] {
            assert!(r.is_under(prefix), "{prefix}");
        }
        for prefix in ["oci://r.io", "oci://r.io:5000/tea", "oci://other:5000/team", "https://r.io:5000"] {
            assert!(!r.is_under(prefix), "{prefix}");
        }
    }

    #[test]
    fn locations_are_read_and_checked() {
        assert_eq!(location("oci://r.io:5000/team/charts/"), Ok(("r.io:5000", "team/charts")));
        assert_eq!(location("oci://r.io"), Ok(("r.io", "")));
        for bad in ["https://r.io", "oci://", "oci://r o/a", "oci://r.io/Team"] {
            assert!(location(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_tag_is_the_latest_matching_version_with_plus_written_underscore() {
        let tags: Vec<String> =
            ["1.0.0", "1.2.0", "2.0.0-rc.1", "1.3.0_build.5", "latest"].iter().map(|s| s.to_string()).collect();
        assert_eq!(pick_tag(&tags, None, "c").unwrap(), "1.3.0_build.5");
        assert_eq!(pick_tag(&tags, Some("~1.2"), "c").unwrap(), "1.2.0");
        assert_eq!(pick_tag(&tags, Some("2.0.0-rc.1"), "c").unwrap(), "2.0.0-rc.1");
        assert_eq!(pick_tag(&tags, Some("^3"), "c").unwrap_err(), "chart \"c\" has no version matching \"^3\"");
        assert_eq!(pick_tag(&[], None, "c").unwrap_err(), "chart \"c\" has no versions in the registry");
        assert_eq!(version_tag("1.0.0+x"), "1.0.0_x");
    }

    #[test]
    fn the_chart_layer_is_found_in_a_manifest() {
        let digest = format!("sha256:{}", "b".repeat(64));
        let manifest = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"application/vnd.cncf.helm.config.v1+json","digest":"sha256:{c}","size":3}},
            "layers":[{{"mediaType":"{CHART_LAYER}","digest":"{digest}","size":16914}}]}}"#,
            c = "c".repeat(64)
        );
        let layer = chart_layer(manifest.as_bytes()).unwrap();
        assert_eq!((layer.digest, layer.size), (digest, 16914));
        let image = r#"{"schemaVersion":2,"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:x","size":1}]}"#;
        assert!(chart_layer(image.as_bytes()).unwrap_err().contains("not a Helm chart"));
        assert!(chart_layer(b"<html>").unwrap_err().contains("not an image manifest"));
    }

    #[test]
    fn challenges_are_read() {
        assert_eq!(Challenge::parse(r#"Basic realm="reef-test""#), Some(Challenge::Basic));
        assert_eq!(
            Challenge::parse(
                r#"Bearer realm="https://auth.r.io/token",service="r.io",scope="repository:a/b:pull,push""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.r.io/token".to_owned(),
                service: Some("r.io".to_owned()),
                scope: Some("repository:a/b:pull,push".to_owned()),
            })
        );
        assert_eq!(Challenge::parse("Bearer service=x"), None, "a bearer challenge names its realm");
        assert_eq!(Challenge::parse("Negotiate"), None);
        let t: TokenAnswer = serde_json::from_str(r#"{"access_token":"abc"}"#).unwrap();
        assert_eq!(t.token().as_deref(), Some("abc"));
    }
}
