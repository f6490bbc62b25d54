//! Named server contexts in the user's config directory (`reef/contexts.toml`, mode 0600,
//! since it holds tokens), so `reef login` once and later commands know where to go.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

/// One server a user has logged in to.
#[derive(Clone, Serialize, Deserialize)]
pub struct ServerContext {
    /// The server's base URL.
    pub server: String,
    /// The bearer token.
    pub token: String,
    /// The organization commands act on when `--org` is not given.
    #[serde(default = "default_org")]
    pub org: String,
}

impl std::fmt::Debug for ServerContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerContext").field("server", &self.server).field("org", &self.org).finish_non_exhaustive()
    }
}

fn default_org() -> String {
    "default".to_owned()
}

/// Every context, and which is current.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Contexts {
    /// The context used when `--context` is not given.
    pub current: Option<String>,
    /// The contexts by name.
    #[serde(default)]
    pub contexts: BTreeMap<String, ServerContext>,
}

/// Where contexts are kept: `$REEF_CLI_CONFIG`, or `reef/contexts.toml` in the user's config dir.
pub fn path(override_path: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(p) = override_path {
        return Ok(p);
    }
    dirs::config_dir()
        .map(|d| d.join("reef").join("contexts.toml"))
        .context("no config directory on this platform: set REEF_CLI_CONFIG")
}

impl Contexts {
    pub fn load(path: &std::path::Path) -> anyhow::Result<Contexts> {
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text).with_context(|| format!("parsing {}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Contexts::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    pub fn save(&self, path: &std::path::Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let text = toml::to_string(self).context("serializing contexts")?;
        let tmp = path.with_extension("toml.tmp");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
        std::io::Write::write_all(&mut file, text.as_bytes())?;
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }
}
