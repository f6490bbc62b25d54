//! reef-helm: Helm charts without the `helm` binary. Loads charts (a directory or a `.tgz`,
//! with vendored dependencies), merges values exactly as Helm does (`-f`, `--set` and its
//! siblings, chart defaults, subchart scoping, `global`, conditions, tags, aliases,
//! import-values), renders them with reef-gotmpl, and prints what `helm template` prints.
//!
//! The entry point is [`template::render`] with [`template::TemplateOptions`]. The oracle
//! for every behaviour here is Helm 4.2.3's `helm template`.
//!
//! Pure apart from reading the chart and values files it is pointed at: no network, no
//! cluster (`lookup` answers an empty map, as in `helm template`). It must not depend on
//! reef's server crates.
//!
//! Values are checked against each chart's `values.schema.json` before rendering, with
//! Helm's error messages ([`schema`]).

pub mod chart;
pub mod dependencies;
pub mod glob;
pub mod manifest;
pub mod oci;
pub mod release;
pub mod repo;
pub mod schema;
pub mod semver;
pub mod strvals;
pub mod template;
pub mod values;
