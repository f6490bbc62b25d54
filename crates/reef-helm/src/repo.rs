//! Chart repositories as Helm reads them: an `index.yaml` listing each chart's versions with
//! the URLs of their archives and digests, versions chosen as `helm install --version` chooses
//! them (the latest stable one, or the latest matching a constraint).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::semver::{Version, is_compatible_range};

/// One version of a chart in an index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChartVersion {
    /// The chart's name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its app version.
    #[serde(default)]
    pub app_version: String,
    /// Its description.
    #[serde(default)]
    pub description: String,
    /// Where its archive is: absolute, or relative to the repository's URL.
    #[serde(default)]
    pub urls: Vec<String>,
    /// The archive's SHA-256, hex.
    #[serde(default)]
    pub digest: String,
    /// Whether it is deprecated.
    #[serde(default)]
    pub deprecated: bool,
}

/// A repository's index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    /// `v1`.
    #[serde(default)]
    pub api_version: String,
    /// Each chart's versions.
    #[serde(default)]
    pub entries: BTreeMap<String, Vec<ChartVersion>>,
}

/// A chart found by a search: its latest version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The chart's latest stable version (the latest of all when none is stable).
    pub latest: ChartVersion,
    /// How many versions the repository has.
    pub versions: usize,
}

impl Index {
    /// Reads an `index.yaml`. The error says what is wrong, for the person who added the
    /// repository.
    pub fn parse(text: &str) -> Result<Index, String> {
        let index: Index =
            yaml_serde::from_str(text).map_err(|e| format!("the index is not a Helm repository index: {e}"))?;
        if index.api_version.is_empty() {
            return Err("the index has no apiVersion: it is not a Helm repository index".to_owned());
        }
        Ok(index)
    }

    /// The version of chart `name` to install: the latest that satisfies `constraint`
    /// (`1.2.3`, `^1.2`, `>= 1.0, < 2.0`), or without one the latest that is not a
    /// pre-release, as Helm picks it.
    pub fn find(&self, name: &str, constraint: Option<&str>) -> Result<&ChartVersion, String> {
        let versions = self.entries.get(name).ok_or_else(|| format!("the repository has no chart {name:?}"))?;
        let mut candidates: Vec<(Version, &ChartVersion)> = versions
            .iter()
            .filter_map(|v| Version::parse(&v.version).map(|parsed| (parsed, v)))
            .filter(|(parsed, v)| match constraint {
                Some(c) if !c.trim().is_empty() => v.version == c.trim() || is_compatible_range(c, &v.version),
                _ => !parsed.is_prerelease(),
            })
            .collect();
        candidates.sort_by(|a, b| a.0.cmp(&b.0));
        candidates.last().map(|(_, v)| *v).ok_or_else(|| match constraint {
            Some(c) => format!("chart {name:?} has no version matching {c:?}"),
            None => format!("chart {name:?} has no stable version; give one"),
        })
    }

    /// The charts whose name or description holds `term` (case aside), by name; all when
    /// `term` is empty.
    pub fn search(&self, term: &str) -> Vec<Found> {
        let term = term.to_lowercase();
        let mut out = Vec::new();
        for (name, versions) in &self.entries {
            let latest = match self.find(name, None) {
                Ok(v) => v,
                Err(_) => match versions.iter().max_by_key(|v| Version::parse(&v.version)) {
                    Some(v) => v,
                    None => continue,
                },
            };
            if term.is_empty()
                || name.to_lowercase().contains(&term)
                || latest.description.to_lowercase().contains(&term)
            {
                out.push(Found { latest: latest.clone(), versions: versions.len() });
            }
        }
        out
    }
}

/// The URL of `version`'s archive, its first URL made absolute against the repository's.
pub fn archive_url(repo_url: &str, version: &ChartVersion) -> Option<String> {
    let first = version.urls.first()?;
    if first.contains("://") {
        return Some(first.clone());
    }
    Some(format!("{}/{}", repo_url.trim_end_matches('/'), first.trim_start_matches('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = r#"
apiVersion: v1
entries:
  web:
    - name: web
      version: 2.0.0-rc.1
      description: A web server
      urls: [web-2.0.0-rc.1.tgz]
      digest: aa
    - name: web
      version: 1.10.0
      appVersion: "1.25"
      description: A web server
      urls: [charts/web-1.10.0.tgz]
      digest: bb
    - name: web
      version: 1.9.3
      description: A web server
      urls: [https://cdn.example.com/web-1.9.3.tgz]
      digest: cc
  cache:
    - name: cache
      version: 0.1.0
      description: An in-memory store
      urls: [cache-0.1.0.tgz]
generated: "2026-11-24T00:00:00Z"
"#;

    #[test]
    fn versions_are_chosen_as_helm_chooses_them() {
        let index = Index::parse(INDEX).unwrap();
        assert_eq!(index.find("web", None).unwrap().version, "1.10.0", "the latest stable, by semver");
        assert_eq!(index.find("web", Some("1.9.3")).unwrap().version, "1.9.3");
        assert_eq!(index.find("web", Some("~1.9")).unwrap().version, "1.9.3");
        assert_eq!(index.find("web", Some(">= 2.0.0-0")).unwrap().version, "2.0.0-rc.1");
        assert!(index.find("web", Some("3.x")).unwrap_err().contains("no version matching"));
        assert!(index.find("nope", None).unwrap_err().contains("no chart"));
        let v = index.find("web", None).unwrap();
        assert_eq!(archive_url("http://h/repo/", v).unwrap(), "http://h/repo/charts/web-1.10.0.tgz");
        let v = index.find("web", Some("1.9.3")).unwrap();
        assert_eq!(archive_url("http://h/repo", v).unwrap(), "https://cdn.example.com/web-1.9.3.tgz");
    }

    #[test]
    fn a_search_matches_names_and_descriptions() {
        let index = Index::parse(INDEX).unwrap();
        let names = |term: &str| index.search(term).into_iter().map(|f| f.latest.name).collect::<Vec<_>>();
        assert_eq!(names(""), ["cache", "web"]);
        assert_eq!(names("WEB"), ["web"]);
        assert_eq!(names("memory"), ["cache"]);
        assert_eq!(index.search("web")[0].versions, 3);
        assert!(Index::parse("just: text").is_err());
        assert!(Index::parse("[not, a, map]").is_err());
    }
}
