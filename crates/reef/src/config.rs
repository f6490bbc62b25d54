//! Server configuration: flags, `REEF_*` environment variables and an optional TOML file,
//! merged once at start. A flag or variable wins over the file; the file wins over defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use serde::Deserialize;

/// The log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
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
        if !(1..=60 * 24 * 30).contains(&session_minutes) {
            bail!("--session-ttl-minutes must be between 1 and 43200 (30 days)");
        }
        Ok(ServerConfig {
            listen: args.listen.or(file.listen).unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 9090))),
            master_key_file: args
                .master_key_file
                .or(file.master_key_file)
                .unwrap_or_else(|| data_dir.join("master.key")),
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
