//! Server configuration: flags, `REEF_*` environment variables and an optional TOML file,
//! merged once at start. A flag or variable wins over the file; the file wins over defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use reef_app::secret_backend::BackendKind;
use reef_app::sso::GroupRole;
use reef_app::vault::{VaultAuth, VaultConfig};
use reef_oidc::OidcConfig;
use serde::Deserialize;
use zeroize::Zeroizing;

/// The log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// Where new secret values go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretBackendArg {
    /// Sealed in the database under the master key.
    Builtin,
    /// Vault or OpenBao's KV version 2 engine.
    Vault,
}

impl From<SecretBackendArg> for BackendKind {
    fn from(b: SecretBackendArg) -> Self {
        match b {
            SecretBackendArg::Builtin => BackendKind::Builtin,
            SecretBackendArg::Vault => BackendKind::Vault,
        }
    }
}

/// `reef server` flags. Every flag can also be set by its environment variable or in the
/// TOML file given by `--config` (keys are the flag names with `_` for `-`).
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// A TOML file with any of the settings below.
    #[arg(long, env = "REEF_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where reef keeps its SQLite database, master key and first-start token
    /// [default: the platform's data directory for reef, e.g. ~/.local/share/reef].
    #[arg(long, env = "REEF_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The address to listen on; port 0 picks a free port [default: 127.0.0.1:9090].
    #[arg(long, env = "REEF_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// A PostgreSQL URL (postgres://user:pass@host/db) to use instead of the embedded SQLite
    /// database [default: sqlite in the data directory].
    #[arg(long, env = "REEF_DATABASE_URL", value_name = "URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// The file holding the key that encrypts secret values; replicas sharing a database must
    /// share it [default: master.key in the data directory, created on first start].
    #[arg(long, env = "REEF_MASTER_KEY_FILE", value_name = "FILE")]
    pub master_key_file: Option<PathBuf>,
    /// Where new secret values go: `builtin` (sealed in the database under the master key) or
    /// `vault` (Vault or OpenBao's KV v2 engine, with only metadata in the database). Values
    /// already stored in the other backend are still read; `reef admin secrets migrate` moves
    /// them [default: builtin].
    #[arg(long, env = "REEF_SECRET_BACKEND", value_enum)]
    pub secret_backend: Option<SecretBackendArg>,
    /// Vault's (or OpenBao's) address, e.g. https://vault.example.com:8200.
    #[arg(long, env = "REEF_VAULT_ADDR", value_name = "URL")]
    pub vault_addr: Option<String>,
    /// A Vault token; prefer the environment variable, which `ps` does not show.
    #[arg(long, env = "REEF_VAULT_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub vault_token: Option<String>,
    /// AppRole login instead of a token: the role id (with --vault-secret-id).
    #[arg(long, env = "REEF_VAULT_ROLE_ID", value_name = "ID")]
    pub vault_role_id: Option<String>,
    /// AppRole login: the secret id; prefer the environment variable.
    #[arg(long, env = "REEF_VAULT_SECRET_ID", value_name = "ID", hide_env_values = true)]
    pub vault_secret_id: Option<String>,
    /// The mount path of the KV version 2 engine [default: secret].
    #[arg(long, env = "REEF_VAULT_MOUNT", value_name = "PATH")]
    pub vault_mount: Option<String>,
    /// The path under the mount where reef keeps values; each organization's are under
    /// `PREFIX/orgs/ORG_ID/` [default: reef].
    #[arg(long, env = "REEF_VAULT_PREFIX", value_name = "PATH")]
    pub vault_prefix: Option<String>,
    /// The OpenID Connect issuer for single sign-on, e.g. https://login.example.com/realms/team
    /// (with --oidc-client-id and --oidc-client-secret).
    #[arg(long, env = "REEF_OIDC_ISSUER", value_name = "URL")]
    pub oidc_issuer: Option<String>,
    /// reef's client id at the issuer.
    #[arg(long, env = "REEF_OIDC_CLIENT_ID", value_name = "ID")]
    pub oidc_client_id: Option<String>,
    /// reef's client secret at the issuer; prefer the environment variable.
    #[arg(long, env = "REEF_OIDC_CLIENT_SECRET", value_name = "SECRET", hide_env_values = true)]
    pub oidc_client_secret: Option<String>,
    /// The scopes a login asks for, space-separated; `openid` is always asked for
    /// [default: "openid profile email"].
    #[arg(long, env = "REEF_OIDC_SCOPES", value_name = "SCOPES")]
    pub oidc_scopes: Option<String>,
    /// The claim of ID and access tokens that lists a user's groups [default: groups].
    #[arg(long, env = "REEF_OIDC_GROUPS_CLAIM", value_name = "CLAIM")]
    pub oidc_groups_claim: Option<String>,
    /// The claim a new user's login name is taken from [default: preferred_username].
    #[arg(long, env = "REEF_OIDC_USERNAME_CLAIM", value_name = "CLAIM")]
    pub oidc_username_claim: Option<String>,
    /// The audience the issuer's access tokens must name to be accepted as bearer tokens
    /// [default: the client id].
    #[arg(long, env = "REEF_OIDC_AUDIENCE", value_name = "AUDIENCE")]
    pub oidc_audience: Option<String>,
    /// A group's role in an organization, `GROUP=ORG:ROLE`; repeat for more. At each login and
    /// each new access token, a user's roles in the organizations named here follow their
    /// groups.
    #[arg(long, value_name = "GROUP=ORG:ROLE")]
    pub oidc_group_role: Vec<String>,
    /// A redirect URI logins may use besides loopback ones (a web UI's callback); repeat for
    /// more.
    #[arg(long, value_name = "URL")]
    pub oidc_redirect_uri: Vec<String>,
    /// Refuse password logins (API tokens and single sign-on keep working).
    #[arg(long, env = "REEF_DISABLE_PASSWORD_LOGIN")]
    pub disable_password_login: bool,
    /// One URL for every AWS service the `amazon` provider calls, instead of AWS's own
    /// endpoints: a local AWS such as moto or LocalStack.
    #[arg(long, env = "REEF_AWS_ENDPOINT_URL", value_name = "URL")]
    pub aws_endpoint_url: Option<String>,
    /// Log format [default: pretty].
    #[arg(long, env = "REEF_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Log filter, e.g. `info` or `reef=debug,tower_http=info` [default: info].
    #[arg(long, env = "REEF_LOG", value_name = "FILTER")]
    pub log: Option<String>,
    /// How long a password login's session lasts, in minutes [default: 720].
    #[arg(long, env = "REEF_SESSION_TTL_MINUTES", value_name = "MINUTES")]
    pub session_ttl_minutes: Option<u64>,
    /// How long an authenticated token is remembered before it is looked up again, in seconds;
    /// a token revoked through another replica stops working within this time; 0 disables
    /// [default: 5].
    #[arg(long, env = "REEF_AUTH_CACHE_SECONDS", value_name = "SECONDS")]
    pub auth_cache_seconds: Option<u64>,
    /// How long to wait for requests in flight when asked to stop, in seconds [default: 30].
    #[arg(long, env = "REEF_SHUTDOWN_GRACE_SECONDS", value_name = "SECONDS")]
    pub shutdown_grace_seconds: Option<u64>,
    /// How long an operation this process drives stays its own without being renewed, in
    /// seconds: how soon another process (or this one, restarted) takes over an operation
    /// whose process died [default: 30].
    #[arg(long, env = "REEF_WORKFLOW_LEASE_SECONDS", value_name = "SECONDS")]
    pub workflow_lease_seconds: Option<u64>,
    /// How many operations this process drives at once; more wait their turn (each replica
    /// drives as many) [default: 16].
    #[arg(long, env = "REEF_WORKFLOW_WORKERS", value_name = "COUNT")]
    pub workflow_workers: Option<usize>,
    /// How long each step of the local provider waits, as a cloud's would, in milliseconds
    /// [default: 200].
    #[arg(long, env = "REEF_LOCAL_STEP_DELAY_MS", value_name = "MILLISECONDS")]
    pub local_step_delay_ms: Option<u64>,
    /// How often each running cluster's API server is asked for its version and nodes, in
    /// seconds; a cluster that does not answer, or has nodes that are not ready, goes to
    /// `warning` until it is healthy again. 0 turns health checks off [default: 60].
    #[arg(long, env = "REEF_CLUSTER_HEALTH_SECONDS", value_name = "SECONDS")]
    pub cluster_health_seconds: Option<u64>,
    /// Fault injection for crash tests, `STEP=MILLISECONDS`: after a workflow step of that name
    /// has done its work, wait that long before recording it.
    #[arg(long, hide = true, value_name = "STEP=MILLISECONDS")]
    pub hold_after_step: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
struct FileConfig {
    data_dir: Option<PathBuf>,
    listen: Option<SocketAddr>,
    database_url: Option<String>,
    master_key_file: Option<PathBuf>,
    secret_backend: Option<SecretBackendArg>,
    vault_addr: Option<String>,
    vault_token: Option<String>,
    vault_role_id: Option<String>,
    vault_secret_id: Option<String>,
    vault_mount: Option<String>,
    vault_prefix: Option<String>,
    oidc_issuer: Option<String>,
    oidc_client_id: Option<String>,
    oidc_client_secret: Option<String>,
    oidc_scopes: Option<String>,
    oidc_groups_claim: Option<String>,
    oidc_username_claim: Option<String>,
    oidc_audience: Option<String>,
    #[serde(default)]
    oidc_group_role: Vec<String>,
    #[serde(default)]
    oidc_redirect_uri: Vec<String>,
    #[serde(default)]
    disable_password_login: bool,
    aws_endpoint_url: Option<String>,
    log_format: Option<LogFormat>,
    log: Option<String>,
    session_ttl_minutes: Option<u64>,
    auth_cache_seconds: Option<u64>,
    shutdown_grace_seconds: Option<u64>,
    workflow_lease_seconds: Option<u64>,
    workflow_workers: Option<usize>,
    local_step_delay_ms: Option<u64>,
    cluster_health_seconds: Option<u64>,
}

/// The server's settings after merging every source.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub database_url: String,
    pub master_key_file: PathBuf,
    pub secret_backend: BackendKind,
    /// `None`: no Vault configured.
    pub vault: Option<VaultConfig>,
    /// `None`: no single sign-on.
    pub sso: Option<SsoSettings>,
    pub password_login: bool,
    /// `None`: AWS's own endpoints.
    pub aws_endpoint_url: Option<String>,
    pub log_format: LogFormat,
    pub log: String,
    pub session_ttl: Duration,
    pub auth_cache_ttl: Duration,
    pub shutdown_grace: Duration,
    pub workflow_lease: Duration,
    pub workflow_workers: usize,
    pub local_step_delay: Duration,
    /// `None`: no health checks.
    pub cluster_health: Option<Duration>,
    pub hold_after_step: Option<(&'static str, Duration)>,
}

/// Single sign-on's settings.
#[derive(Debug, Clone)]
pub struct SsoSettings {
    pub oidc: OidcConfig,
    pub groups_claim: String,
    pub username_claim: String,
    pub group_roles: Vec<GroupRole>,
    pub redirect_uris: Vec<String>,
}

/// The platform's data directory for reef.
pub fn default_data_dir() -> anyhow::Result<PathBuf> {
    dirs::data_dir().map(|d| d.join("reef")).context("no data directory on this platform: pass --data-dir")
}

impl ServerConfig {
    pub fn resolve(args: ServerArgs) -> anyhow::Result<ServerConfig> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let data_dir = match args.data_dir.or(file.data_dir) {
            Some(d) => d,
            None => default_data_dir()?,
        };
        let database_url = args.database_url.or(file.database_url).unwrap_or_else(|| sqlite_url(&data_dir));
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres:")
            || database_url.starts_with("postgresql:"))
        {
            bail!("--database-url must start with postgres://, postgresql:// or sqlite:");
        }
        let session_minutes = args.session_ttl_minutes.or(file.session_ttl_minutes).unwrap_or(720);
        let lease_seconds = args.workflow_lease_seconds.or(file.workflow_lease_seconds).unwrap_or(30);
        if !(1..=3600).contains(&lease_seconds) {
            bail!("--workflow-lease-seconds must be between 1 and 3600");
        }
        let workflow_workers = args.workflow_workers.or(file.workflow_workers).unwrap_or(16);
        if !(1..=256).contains(&workflow_workers) {
            bail!("--workflow-workers must be between 1 and 256");
        }
        let step_delay_ms = args.local_step_delay_ms.or(file.local_step_delay_ms).unwrap_or(200);
        if step_delay_ms > 600_000 {
            bail!("--local-step-delay-ms must be at most 600000 (10 minutes)");
        }
        let health_seconds = args.cluster_health_seconds.or(file.cluster_health_seconds).unwrap_or(60);
        if health_seconds > 86_400 {
            bail!("--cluster-health-seconds must be at most 86400 (a day); 0 turns health checks off");
        }
        let hold_after_step = match &args.hold_after_step {
            None => None,
            Some(spec) => {
                let (step, ms) = spec
                    .split_once('=')
                    .and_then(|(step, ms)| Some((step, ms.parse::<u64>().ok()?)))
                    .context("--hold-after-step takes STEP=MILLISECONDS")?;
                // Read once at start; the engine keeps the name for the process's life.
                Some((&*Box::leak(step.to_owned().into_boxed_str()), Duration::from_millis(ms)))
            }
        };
        let vault = vault_config(
            args.vault_addr.or(file.vault_addr),
            args.vault_token.or(file.vault_token),
            args.vault_role_id.or(file.vault_role_id),
            args.vault_secret_id.or(file.vault_secret_id),
            args.vault_mount.or(file.vault_mount),
            args.vault_prefix.or(file.vault_prefix),
        )?;
        let secret_backend: BackendKind =
            args.secret_backend.or(file.secret_backend).unwrap_or(SecretBackendArg::Builtin).into();
        if secret_backend == BackendKind::Vault && vault.is_none() {
            bail!(
                "--secret-backend vault needs --vault-addr and a token or AppRole (--vault-token, or --vault-role-id with --vault-secret-id)"
            );
        }
        let sso = sso_settings(SsoArgs {
            issuer: args.oidc_issuer.or(file.oidc_issuer),
            client_id: args.oidc_client_id.or(file.oidc_client_id),
            client_secret: args.oidc_client_secret.or(file.oidc_client_secret),
            scopes: args.oidc_scopes.or(file.oidc_scopes),
            groups_claim: args.oidc_groups_claim.or(file.oidc_groups_claim),
            username_claim: args.oidc_username_claim.or(file.oidc_username_claim),
            audience: args.oidc_audience.or(file.oidc_audience),
            group_roles: if args.oidc_group_role.is_empty() { file.oidc_group_role } else { args.oidc_group_role },
            redirect_uris: if args.oidc_redirect_uri.is_empty() {
                file.oidc_redirect_uri
            } else {
                args.oidc_redirect_uri
            },
        })?;
        let password_login = !(args.disable_password_login || file.disable_password_login);
        let aws_endpoint_url = args.aws_endpoint_url.or(file.aws_endpoint_url);
        if aws_endpoint_url.as_deref().is_some_and(|u| !(u.starts_with("http://") || u.starts_with("https://"))) {
            bail!("--aws-endpoint-url must be an http(s) URL");
        }
        if !(1..=60 * 24 * 30).contains(&session_minutes) {
            bail!("--session-ttl-minutes must be between 1 and 43200 (30 days)");
        }
        Ok(ServerConfig {
            listen: args.listen.or(file.listen).unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 9090))),
            master_key_file: args
                .master_key_file
                .or(file.master_key_file)
                .unwrap_or_else(|| data_dir.join("master.key")),
            secret_backend,
            vault,
            sso,
            password_login,
            aws_endpoint_url,
            log_format: args.log_format.or(file.log_format).unwrap_or(LogFormat::Pretty),
            log: args.log.or(file.log).unwrap_or_else(|| "info".to_owned()),
            session_ttl: Duration::from_secs(session_minutes * 60),
            auth_cache_ttl: Duration::from_secs(
                args.auth_cache_seconds.or(file.auth_cache_seconds).unwrap_or(5).min(300),
            ),
            shutdown_grace: Duration::from_secs(
                args.shutdown_grace_seconds.or(file.shutdown_grace_seconds).unwrap_or(30),
            ),
            workflow_lease: Duration::from_secs(lease_seconds),
            workflow_workers,
            local_step_delay: Duration::from_millis(step_delay_ms),
            cluster_health: (health_seconds > 0).then(|| Duration::from_secs(health_seconds)),
            hold_after_step,
            database_url,
            data_dir,
        })
    }
}

fn vault_config(
    address: Option<String>,
    token: Option<String>,
    role_id: Option<String>,
    secret_id: Option<String>,
    mount: Option<String>,
    prefix: Option<String>,
) -> anyhow::Result<Option<VaultConfig>> {
    let Some(address) = address else {
        if token.is_some() || role_id.is_some() {
            bail!("a Vault token or AppRole is set, but no --vault-addr");
        }
        return Ok(None);
    };
    if !(address.starts_with("http://") || address.starts_with("https://")) {
        bail!("--vault-addr must start with http:// or https://");
    }
    let auth = match (token, role_id, secret_id) {
        (Some(token), None, None) => VaultAuth::Token(Zeroizing::new(token)),
        (None, Some(role_id), Some(secret_id)) => VaultAuth::AppRole { role_id, secret_id: Zeroizing::new(secret_id) },
        (None, None, None) => bail!("--vault-addr needs --vault-token, or --vault-role-id with --vault-secret-id"),
        (Some(_), _, _) => bail!("give either --vault-token or AppRole (--vault-role-id, --vault-secret-id), not both"),
        (None, _, _) => bail!("AppRole needs both --vault-role-id and --vault-secret-id"),
    };
    let mount = mount.unwrap_or_else(|| "secret".to_owned());
    let prefix = prefix.unwrap_or_else(|| "reef".to_owned());
    for (flag, value) in [("--vault-mount", &mount), ("--vault-prefix", &prefix)] {
        let trimmed = value.trim_matches('/');
        if trimmed.is_empty() || trimmed.contains(':') || trimmed.split('/').any(|p| p.is_empty() || p == "..") {
            bail!("{flag} must be a path like `secret` or `team/reef` (no `:`, `..` or empty parts)");
        }
    }
    Ok(Some(VaultConfig { address, auth, mount, prefix }))
}

struct SsoArgs {
    issuer: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scopes: Option<String>,
    groups_claim: Option<String>,
    username_claim: Option<String>,
    audience: Option<String>,
    group_roles: Vec<String>,
    redirect_uris: Vec<String>,
}

fn sso_settings(a: SsoArgs) -> anyhow::Result<Option<SsoSettings>> {
    let Some(issuer) = a.issuer else {
        if a.client_id.is_some() || !a.group_roles.is_empty() {
            bail!("single sign-on settings are given, but no --oidc-issuer");
        }
        return Ok(None);
    };
    if !(issuer.starts_with("https://") || issuer.starts_with("http://")) {
        bail!("--oidc-issuer must be an http(s) URL");
    }
    let (Some(client_id), Some(client_secret)) = (a.client_id, a.client_secret) else {
        bail!("--oidc-issuer needs --oidc-client-id and --oidc-client-secret (or REEF_OIDC_CLIENT_SECRET)");
    };
    let group_roles = a
        .group_roles
        .iter()
        .map(|g| g.parse::<GroupRole>().map_err(|e| anyhow::anyhow!("--oidc-group-role: {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let scopes = a
        .scopes
        .unwrap_or_else(|| "openid profile email".to_owned())
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(Some(SsoSettings {
        oidc: OidcConfig {
            audience: a.audience.unwrap_or_else(|| client_id.clone()),
            issuer,
            client_id,
            client_secret: Zeroizing::new(client_secret),
            scopes,
        },
        groups_claim: a.groups_claim.unwrap_or_else(|| "groups".to_owned()),
        username_claim: a.username_claim.unwrap_or_else(|| "preferred_username".to_owned()),
        group_roles,
        redirect_uris: a.redirect_uris,
    }))
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading the configuration file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing the configuration file {}", path.display()))
}

fn sqlite_url(data_dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", data_dir.join("reef.db").display())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> ServerArgs {
        ServerArgs {
            config: None,
            data_dir: Some(PathBuf::from("/d")),
            listen: None,
            database_url: None,
            master_key_file: None,
            secret_backend: None,
            vault_addr: None,
            vault_token: None,
            vault_role_id: None,
            vault_secret_id: None,
            vault_mount: None,
            vault_prefix: None,
            oidc_issuer: None,
            oidc_client_id: None,
            oidc_client_secret: None,
            oidc_scopes: None,
            oidc_groups_claim: None,
            oidc_username_claim: None,
            oidc_audience: None,
            oidc_group_role: Vec::new(),
            oidc_redirect_uri: Vec::new(),
            disable_password_login: false,
            aws_endpoint_url: None,
            log_format: None,
            log: None,
            session_ttl_minutes: None,
            auth_cache_seconds: None,
            shutdown_grace_seconds: None,
            workflow_lease_seconds: None,
            workflow_workers: None,
            local_step_delay_ms: None,
            cluster_health_seconds: None,
            hold_after_step: None,
        }
    }

    #[test]
    fn single_sign_on_settings_are_checked_when_read() {
        let sso = |f: fn(&mut ServerArgs)| {
            let mut a = ServerArgs { oidc_issuer: Some("https://idp.example".into()), ..args() };
            f(&mut a);
            ServerConfig::resolve(a).map_err(|e| e.to_string())
        };
        let c = sso(|a| {
            a.oidc_client_id = Some("reef".into());
            a.oidc_client_secret = Some("s".into());
            a.oidc_group_role = vec!["ops=default:admin".into()];
            a.disable_password_login = true;
        })
        .unwrap();
        let s = c.sso.unwrap();
        assert_eq!((s.oidc.audience.as_str(), s.oidc.scopes.len(), s.groups_claim.as_str()), ("reef", 3, "groups"));
        assert_eq!(s.group_roles.len(), 1);
        assert!(!c.password_login);
        assert!(sso(|_| {}).unwrap_err().contains("--oidc-client-id"));
        let bad_mapping = sso(|a| {
            a.oidc_client_id = Some("reef".into());
            a.oidc_client_secret = Some("s".into());
            a.oidc_group_role = vec!["ops".into()];
        });
        assert!(bad_mapping.unwrap_err().contains("GROUP=ORG:ROLE"));
        let orphan = ServerConfig::resolve(ServerArgs { oidc_client_id: Some("reef".into()), ..args() });
        assert!(orphan.unwrap_err().to_string().contains("no --oidc-issuer"));
        assert!(ServerConfig::resolve(args()).unwrap().password_login);
    }

    #[test]
    fn vault_settings_are_checked_when_read() {
        let c = ServerConfig::resolve(args()).unwrap();
        assert_eq!((c.secret_backend, c.vault.is_none()), (BackendKind::Builtin, true));

        let vault = |f: fn(&mut ServerArgs)| {
            let mut a = ServerArgs { vault_addr: Some("http://127.0.0.1:8200".into()), ..args() };
            f(&mut a);
            ServerConfig::resolve(a).map_err(|e| e.to_string())
        };
        let c = vault(|a| {
            a.vault_token = Some("t".into());
            a.secret_backend = Some(SecretBackendArg::Vault);
        })
        .unwrap();
        let v = c.vault.unwrap();
        assert_eq!((c.secret_backend, v.mount.as_str(), v.prefix.as_str()), (BackendKind::Vault, "secret", "reef"));
        assert!(matches!(v.auth, VaultAuth::Token(_)));
        let approle = vault(|a| {
            a.vault_role_id = Some("r".into());
            a.vault_secret_id = Some("s".into());
        })
        .unwrap();
        assert!(matches!(approle.vault.unwrap().auth, VaultAuth::AppRole { .. }));

        assert!(vault(|_| {}).unwrap_err().contains("needs --vault-token"));
        assert!(vault(|a| a.vault_role_id = Some("r".into())).unwrap_err().contains("both --vault-role-id"));
        let both = vault(|a| {
            a.vault_token = Some("t".into());
            a.vault_role_id = Some("r".into());
        });
        assert!(both.unwrap_err().contains("not both"));
        let bad_mount = vault(|a| {
            a.vault_token = Some("t".into());
            a.vault_mount = Some("a:b".into());
        });
        assert!(bad_mount.unwrap_err().contains("--vault-mount"));
        let no_addr = ServerConfig::resolve(ServerArgs { secret_backend: Some(SecretBackendArg::Vault), ..args() });
        assert!(no_addr.unwrap_err().to_string().contains("needs --vault-addr"));
    }

    #[test]
    fn sixteen_operations_are_driven_at_once_unless_told_otherwise() {
        assert_eq!(ServerConfig::resolve(args()).unwrap().workflow_workers, 16);
        let two = ServerArgs { workflow_workers: Some(2), ..args() };
        assert_eq!(ServerConfig::resolve(two).unwrap().workflow_workers, 2);
        let err = ServerConfig::resolve(ServerArgs { workflow_workers: Some(0), ..args() }).unwrap_err();
        assert!(err.to_string().contains("--workflow-workers"), "{err}");
    }

    #[test]
    fn health_checks_default_to_every_minute_and_zero_turns_them_off() {
        assert_eq!(ServerConfig::resolve(args()).unwrap().cluster_health, Some(Duration::from_secs(60)));
        let off = ServerArgs { cluster_health_seconds: Some(0), ..args() };
        assert_eq!(ServerConfig::resolve(off).unwrap().cluster_health, None);
        let err = ServerConfig::resolve(ServerArgs { cluster_health_seconds: Some(100_000), ..args() }).unwrap_err();
        assert!(err.to_string().contains("--cluster-health-seconds"), "{err}");
        let held = ServerArgs { hold_after_step: Some("finish=1500".to_owned()), ..args() };
        assert_eq!(ServerConfig::resolve(held).unwrap().hold_after_step, Some(("finish", Duration::from_millis(1500))));
        let bad = ServerArgs { hold_after_step: Some("finish".to_owned()), ..args() };
        assert!(ServerConfig::resolve(bad).is_err());
    }

    #[test]
    fn workflow_and_local_provider_settings_have_defaults_and_bounds() {
        let c = ServerConfig::resolve(args()).unwrap();
        assert_eq!((c.workflow_lease, c.local_step_delay), (Duration::from_secs(30), Duration::from_millis(200)));
        let set = ServerArgs { workflow_lease_seconds: Some(2), local_step_delay_ms: Some(0), ..args() };
        let c = ServerConfig::resolve(set).unwrap();
        assert_eq!((c.workflow_lease, c.local_step_delay), (Duration::from_secs(2), Duration::ZERO));
        let err = ServerConfig::resolve(ServerArgs { workflow_lease_seconds: Some(0), ..args() }).unwrap_err();
        assert!(err.to_string().contains("--workflow-lease-seconds"), "{err}");
    }

    #[test]
    fn defaults_put_everything_in_the_data_directory() {
        let c = ServerConfig::resolve(args()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:9090");
        assert_eq!(c.database_url, "sqlite:///d/reef.db?mode=rwc");
        assert_eq!(c.master_key_file, PathBuf::from("/d/master.key"));
    }

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("reef.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:7000\"\nlog = \"debug\"\n").unwrap();
        let mut a = args();
        a.config = Some(file);
        a.log = Some("warn".into());
        let c = ServerConfig::resolve(a).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:7000");
        assert_eq!(c.log, "warn");
    }

    #[test]
    fn unknown_keys_in_the_file_are_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("reef.toml");
        std::fs::write(&file, "lisen = \"127.0.0.1:7000\"\n").unwrap();
        let mut a = args();
        a.config = Some(file);
        let err = ServerConfig::resolve(a).unwrap_err();
        assert!(format!("{err:#}").contains("unknown field"), "{err:#}");
    }

    #[test]
    fn a_database_url_of_another_kind_is_refused() {
        let mut a = args();
        a.database_url = Some("mysql://x".into());
        assert!(ServerConfig::resolve(a).is_err());
    }
}
