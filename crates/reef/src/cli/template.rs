//! `reef template [NAME] CHART`: renders a chart locally and prints what `helm template` prints,
//! with no server and no cluster. Errors go to stderr as helm writes them (`Error: ...`), with
//! exit code 1.

use std::io::Write as _;
use std::path::PathBuf;

use reef_helm::template::{TemplateOptions, render};

/// Flags of `reef template`, named as helm names them.
#[derive(Debug, clap::Args)]
pub struct TemplateArgs {
    /// [NAME] CHART: the release name (default `release-name`) and a chart directory or `.tgz`.
    #[arg(value_name = "[NAME] CHART", num_args = 1..=2, required = true)]
    args: Vec<String>,
    /// The release's namespace.
    #[arg(short = 'n', long, default_value = "default")]
    namespace: String,
    /// A values file (repeatable; later files win).
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    values: Vec<PathBuf>,
    /// Values on the command line: `a.b=1,c[0]=x`.
    #[arg(long)]
    set: Vec<String>,
    /// Like --set, every value a string.
    #[arg(long)]
    set_string: Vec<String>,
    /// Like --set, each value JSON.
    #[arg(long)]
    set_json: Vec<String>,
    /// Like --set, each value the content of the file it names.
    #[arg(long)]
    set_file: Vec<String>,
    /// The Kubernetes version for `.Capabilities.KubeVersion`.
    #[arg(long)]
    kube_version: Option<String>,
    /// API versions added to `.Capabilities.APIVersions` (repeatable).
    #[arg(short = 'a', long)]
    api_versions: Vec<String>,
    /// Print the chart's CRDs (crds/) first.
    #[arg(long)]
    include_crds: bool,
    /// Only the manifests of these templates (`templates/x.yaml`, globs allowed; repeatable).
    #[arg(short = 's', long)]
    show_only: Vec<String>,
    /// Render as an upgrade (`.Release.IsUpgrade`).
    #[arg(long)]
    is_upgrade: bool,
    /// On invalid YAML, print the rendered templates anyway.
    #[arg(long)]
    debug: bool,
}

/// Renders and prints; on failure prints helm's error and exits with code 1.
pub fn run(a: TemplateArgs) {
    let (release_name, chart) = match a.args.as_slice() {
        [chart] => (String::new(), chart.clone()),
        [name, chart, ..] => (name.clone(), chart.clone()),
        [] => (String::new(), String::new()),
    };
    let opts = TemplateOptions {
        release_name,
        chart: PathBuf::from(chart),
        namespace: a.namespace,
        values_files: a.values,
        set: a.set,
        set_string: a.set_string,
        set_json: a.set_json,
        set_file: a.set_file,
        kube_version: a.kube_version,
        api_versions: a.api_versions,
        include_crds: a.include_crds,
        show_only: a.show_only,
        is_upgrade: a.is_upgrade,
        debug: a.debug,
        // `helm template` has no cluster: lookup answers an empty map.
        lookup: None,
    };
    let mut stdout = std::io::stdout().lock();
    match render(&opts) {
        Ok(out) => {
            let _ = stdout.write_all(out.as_bytes());
        }
        Err(e) => {
            let _ = stdout.write_all(e.stdout.as_bytes());
            let _ = stdout.flush();
            eprintln!("Error: {e}");
            std::process::exit(1);
        }
    }
}
