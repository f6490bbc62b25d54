//! A throwaway OpenID Connect provider: the real `oidc-provider` (npm), run by Node with a
//! short script, on 127.0.0.1 at a port chosen at run time. One confidential client; accounts
//! (any password logs in) whose groups a test can change while it runs; JWT access tokens for
//! one audience. It stops when dropped, or when [`OidcProvider::kill`] takes it down.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::{KilledOnDrop, free_port, spawn_until_ready};

const SCRIPT: &str = include_str!("oidc_provider.mjs");

/// The client reef is registered as.
pub const OIDC_CLIENT_ID: &str = "reef";

/// Its secret.
pub const OIDC_CLIENT_SECRET: &str = "reef-test-client-secret-5b1e";

/// The audience of the provider's access tokens.
pub const OIDC_AUDIENCE: &str = "https://reef.test";

/// A running provider.
#[derive(Debug)]
pub struct OidcProvider {
    child: KilledOnDrop,
    dir: tempfile::TempDir,
    /// The issuer, `http://127.0.0.1:PORT`.
    pub issuer: String,
    /// The provider's signing key (RSA), PKCS#8 DER.
    pub signing_key_pkcs8: Vec<u8>,
    /// Its key id.
    pub signing_key_id: String,
    node: PathBuf,
    module: PathBuf,
    port: u16,
}

fn module() -> Option<PathBuf> {
    let dir = std::env::var_os("REEF_OIDC_PROVIDER_MODULES").map(PathBuf::from).or_else(|| {
        let home = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
        Some(home.join("reef-test-peers/oidc-provider/node_modules"))
    })?;
    let index = dir.join("oidc-provider/lib/index.js");
    index.is_file().then_some(index)
}

fn accounts_json(accounts: &[(&str, &[&str])]) -> serde_json::Value {
    accounts.iter().map(|(id, groups)| ((*id).to_owned(), serde_json::json!({ "groups": groups }))).collect()
}

impl OidcProvider {
    /// Starts a provider with `accounts` (id and groups) whose client may redirect to
    /// `redirect_uris`; `Ok(None)` when Node or oidc-provider is not found
    /// (`$REEF_OIDC_PROVIDER_MODULES`, or the test peer cache).
    pub fn start(accounts: &[(&str, &[&str])], redirect_uris: &[&str]) -> io::Result<Option<OidcProvider>> {
        let Some(module) = module() else { return Ok(None) };
        let Some(node) = crate::find_executable("node", "REEF_NODE", &[]) else { return Ok(None) };
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("provider.mjs"), SCRIPT)?;
        let config = serde_json::json!({
            "client_id": OIDC_CLIENT_ID,
            "client_secret": OIDC_CLIENT_SECRET,
            "audience": OIDC_AUDIENCE,
            "redirect_uris": redirect_uris,
            "accounts": accounts_json(accounts),
        });
        std::fs::write(dir.path().join("config.json"), config.to_string())?;
        let mut provider = OidcProvider {
            child: KilledOnDrop::default(),
            dir,
            issuer: String::new(),
            signing_key_pkcs8: Vec::new(),
            signing_key_id: String::new(),
            node,
            module,
            port: 0,
        };
        for _ in 0..5 {
            provider.port = free_port();
            if provider.launch()? {
                return Ok(Some(provider));
            }
        }
        let log = std::fs::read_to_string(provider.log_path()).unwrap_or_default();
        Err(io::Error::other(format!("oidc-provider did not start: {log}")))
    }

    /// Starts the provider on its port; `false` if it exited first (the port was taken).
    fn launch(&mut self) -> io::Result<bool> {
        let dir = self.dir.path();
        let mut command = Command::new(&self.node);
        command
            .arg(dir.join("provider.mjs"))
            .env("OIDC_PROVIDER", &self.module)
            .env("OIDC_PORT", self.port.to_string())
            .env("OIDC_CONFIG", dir.join("config.json"))
            .env("OIDC_KEY_OUT", dir.join("key.json"));
        let up = |log: &str| log.contains("oidc-provider listening on");
        let Some(child) = spawn_until_ready(&mut command, &dir.join("provider.log"), Duration::from_secs(30), up)?
        else {
            return Ok(false);
        };
        let (kid, pkcs8) = read_key(&dir.join("key.json"))?;
        self.signing_key_id = kid;
        self.signing_key_pkcs8 = pkcs8;
        self.issuer = format!("http://127.0.0.1:{}", self.port);
        self.child = child;
        Ok(true)
    }

    /// Stops the provider and starts it again at the same address with a new signing key (a new
    /// key id), as a provider rotating its keys. Logins and tokens issued before are forgotten.
    pub fn restart_with_a_new_key(&mut self) -> io::Result<()> {
        self.kill();
        for _ in 0..50 {
            if self.launch()? {
                return Ok(());
            }
            // The old process's port may take a moment to be free again.
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(io::Error::other("oidc-provider did not start again on its port"))
    }

    /// Sets an account's groups, as an administrator of the identity provider would: the next
    /// login or token shows them.
    pub fn set_groups(&self, account: &str, groups: &[&str]) -> io::Result<()> {
        let path = self.dir.path().join("config.json");
        let mut config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
        config["accounts"][account] = serde_json::json!({ "groups": groups });
        // Written whole and renamed: the provider reads the old file or the new one.
        let tmp = path.with_extension("new");
        std::fs::write(&tmp, config.to_string())?;
        std::fs::rename(tmp, path)
    }

    /// Stops the provider at once, as an outage would.
    pub fn kill(&mut self) {
        self.child.kill();
    }

    /// Where the provider's log is.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("provider.log")
    }
}

fn read_key(path: &Path) -> io::Result<(String, Vec<u8>)> {
    use base64::Engine as _;
    let key: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    let field =
        |name: &str| key[name].as_str().map(str::to_owned).ok_or_else(|| io::Error::other(format!("no {name}")));
    let pkcs8 = base64::engine::general_purpose::STANDARD
        .decode(field("pkcs8")?)
        .map_err(|_| io::Error::other("the key is not base64"))?;
    Ok((field("kid")?, pkcs8))
}
