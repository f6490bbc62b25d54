//! A throwaway OCI registry: the CNCF distribution registry (`docker-registry`), on
//! 127.0.0.1 at a port chosen at run time, storing in a temporary directory. It asks for basic
//! authentication from one user, or for bearer tokens from a token endpoint the test serves
//! (the scheme of Docker Hub, GHCR and Harbor). It stops when dropped.

use std::io;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::{KilledOnDrop, find_executable, free_port, spawn_until_ready};

/// The user the registry accepts.
pub const REGISTRY_USER: &str = "reef";

/// That user's password.
pub const REGISTRY_PASSWORD: &str = "s3cret-registry";

/// `REGISTRY_PASSWORD`'s bcrypt hash (the registry's htpasswd file takes bcrypt only).
const PASSWORD_BCRYPT: &str = "$2a$10$/CY0XEELUhJFuzXgKYZy9Ot/tMTPc7Uzz9bqJycOJuH.8OHTjvp1y";

/// How the registry authenticates its clients.
#[derive(Debug, Clone)]
pub enum RegistryAuth {
    /// Basic authentication of [`REGISTRY_USER`] with [`REGISTRY_PASSWORD`].
    Basic,
    /// Bearer tokens (JWTs) from the token endpoint `realm`, for `service`, issued by `issuer`
    /// and signed by the key of a certificate in `root_pem`.
    Token {
        /// The token endpoint's URL.
        realm: String,
        /// The registry's name in the tokens' audience.
        service: String,
        /// The tokens' issuer.
        issuer: String,
        /// The certificates (PEM) whose keys may sign tokens.
        root_pem: String,
    },
}

/// A running registry.
#[derive(Debug)]
pub struct OciRegistry {
    _child: KilledOnDrop,
    dir: tempfile::TempDir,
    /// `127.0.0.1:PORT`.
    pub host: String,
}

impl OciRegistry {
    /// Starts a registry; `Ok(None)` when `docker-registry` is not found (`$REEF_DOCKER_REGISTRY`
    /// or PATH).
    pub fn start(auth: &RegistryAuth) -> io::Result<Option<OciRegistry>> {
        let Some(bin) = find_executable("docker-registry", "REEF_DOCKER_REGISTRY", &[]) else { return Ok(None) };
        let dir = tempfile::tempdir()?;
        let auth = match auth {
            RegistryAuth::Basic => {
                let htpasswd = dir.path().join("htpasswd");
                std::fs::write(&htpasswd, format!("{REGISTRY_USER}:{PASSWORD_BCRYPT}\n"))?;
                format!("  htpasswd:\n    realm: reef-test\n    path: {}\n", htpasswd.display())
            }
            RegistryAuth::Token { realm, service, issuer, root_pem } => {
                let roots = dir.path().join("roots.pem");
                std::fs::write(&roots, root_pem)?;
                format!(
                    "  token:\n    realm: {realm}\n    service: {service}\n    issuer: {issuer}\n    \
                     rootcertbundle: {}\n",
                    roots.display()
                )
            }
        };
        for _ in 0..5 {
            let host = format!("127.0.0.1:{}", free_port());
            let config = format!(
                "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    \
                 rootdirectory: {data}\nhttp:\n  addr: {host}\nauth:\n{auth}",
                data = dir.path().join("data").display(),
            );
            let config_path = dir.path().join("config.yml");
            std::fs::write(&config_path, config)?;
            let mut command = Command::new(&bin);
            command.arg("serve").arg(&config_path);
            let log = dir.path().join("registry.log");
            let up = |_: &str| std::net::TcpStream::connect(&host).is_ok();
            if let Some(child) = spawn_until_ready(&mut command, &log, Duration::from_secs(20), up)? {
                return Ok(Some(OciRegistry { _child: child, dir, host }));
            }
        }
        let log = std::fs::read_to_string(dir.path().join("registry.log")).unwrap_or_default();
        Err(io::Error::other(format!("the registry did not start: {log}")))
    }

    /// Where the registry's log is.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("registry.log")
    }
}
