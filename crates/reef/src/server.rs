//! `reef server`: builds every dependency from the configuration and serves the API until
//! SIGTERM or Ctrl-C, then drains requests in flight.

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use reef_api::ApiState;
use reef_app::cluster_workflows::{ClusterEnv, Providers, create_workflow, delete_workflow, update_workflow};
use reef_app::deployments::{Change, deploy_workflow, uninstall_workflow};
use reef_app::secret_backend::SecretBackend;
use reef_app::sso::SsoConfig;
use reef_app::vault::Vault;
use reef_app::{App, AppConfig};
use reef_oidc::Oidc;
use reef_provider_amazon::{AmazonOptions, AmazonProvider, Endpoints};
use reef_provider_import::ImportProvider;
use reef_provider_local::{LocalOptions, LocalProvider};
use reef_store::Store;
use reef_store::crypto::SecretCipher;
use reef_workflow::{Engine, EngineOptions};
use tokio::net::TcpListener;

use crate::config::{LogFormat, ServerConfig};

/// The file in the data directory that holds the first start's API token.
pub const ADMIN_TOKEN_FILE: &str = "admin-token";

/// The providers this server offers (`local`, `import`), and the engine that runs their
/// workflows (its workers not started yet). The local provider keeps its clusters under
/// `data_dir/clusters`.
fn cluster_engine(
    store: &Store,
    secrets: &SecretBackend,
    config: &ServerConfig,
) -> (Arc<ClusterEnv>, Arc<Engine<ClusterEnv>>) {
    let local = Arc::new(LocalProvider::new(LocalOptions {
        data_dir: Some(config.data_dir.join("clusters")),
        step_delay: config.local_step_delay,
        ..LocalOptions::default()
    }));
    let mut providers = Providers::default();
    providers.add(local.clone());
    providers.add(Arc::new(ImportProvider::default()));
    providers.add(Arc::new(AmazonProvider::new(AmazonOptions {
        endpoints: Endpoints { all: config.aws_endpoint_url.clone() },
        ..AmazonOptions::default()
    })));
    let env = Arc::new(ClusterEnv::new(store.clone(), secrets.clone(), providers));
    let lease = config.workflow_lease;
    let opts =
        EngineOptions { lease, heartbeat: lease / 3, hold_after: config.hold_after_step, ..EngineOptions::default() };
    let mut engine = Engine::new(store.clone(), env.clone(), opts);
    for provider in env.providers().iter() {
        engine.register(create_workflow(provider.as_ref()));
        engine.register(update_workflow(provider.as_ref()));
        engine.register(delete_workflow(provider.as_ref()));
    }
    for change in [Change::Install, Change::Upgrade, Change::Rollback(0)] {
        engine.register(deploy_workflow(change));
    }
    engine.register(uninstall_workflow());
    (env, Arc::new(engine))
}

/// The master keys (the key file is created on the first start) and, when configured, Vault.
pub(crate) fn secret_backend(config: &ServerConfig) -> anyhow::Result<SecretBackend> {
    let cipher = SecretCipher::load_or_create(&config.master_key_file)?;
    let vault = config.vault.clone().map(Vault::new).transpose()?;
    Ok(SecretBackend::new(cipher, vault, config.secret_backend)?)
}

fn init_tracing(config: &ServerConfig) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log).context("parsing --log")?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Pretty => builder.try_init(),
    }
    .map_err(|e| anyhow::anyhow!("installing the logger failed: {e}"))
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).with_context(|| format!("creating the data directory {}", dir.display()))
}

/// Writes a file readable only by its owner (mode 0600): tokens, kubeconfigs.
pub(crate) fn write_private_file(path: &Path, contents: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| format!("writing {}", path.display()))?;
    file.write_all(contents.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

pub async fn run(config: ServerConfig) -> anyhow::Result<()> {
    init_tracing(&config)?;
    create_private_dir(&config.data_dir)?;
    let secrets = secret_backend(&config)?;
    let store = Store::connect(&config.database_url).await.context("opening the database")?;
    tracing::info!(
        backend = ?store.backend(),
        key_id = %secrets.cipher().key_id(),
        secret_backend = %secrets.writes_to(),
        "database ready"
    );
    let app_config = AppConfig {
        session_ttl: config.session_ttl,
        auth_cache_ttl: config.auth_cache_ttl,
        password_login: config.password_login,
        ..AppConfig::default()
    };
    let (cluster_env, engine) = cluster_engine(&store, &secrets, &config);
    let mut app = App::new(store.clone(), secrets, app_config).with_clusters(cluster_env.clone(), engine.clone());
    if let Some(sso) = config.sso.clone() {
        tracing::info!(issuer = %sso.oidc.issuer, "single sign-on");
        app = app.with_sso(SsoConfig {
            oidc: Arc::new(Oidc::new(sso.oidc)?),
            groups_claim: sso.groups_claim,
            username_claim: sso.username_claim,
            group_roles: sso.group_roles,
            redirect_uris: sso.redirect_uris,
        });
    }

    if let Some(boot) = app.bootstrap().await? {
        let path = config.data_dir.join(ADMIN_TOKEN_FILE);
        write_private_file(&path, &format!("{}\n", boot.token.secret.as_str()))?;
        // Shown once, on standard output only: it never goes through the logger.
        println!("First start: created the owner account `admin` and the organization `default`.");
        println!("API token for `admin` (shown once; also saved to {}):", path.display());
        println!("{}", boot.token.secret.as_str());
    }

    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Suffix("_duration_seconds".to_owned()),
            &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0],
        )
        .map_err(|e| anyhow::anyhow!("configuring metrics failed: {e}"))?
        .install_recorder()
        .map_err(|e| anyhow::anyhow!("installing the metrics recorder failed: {e}"))?;
    let router = reef_api::router(ApiState { app: app.clone(), metrics: Some(metrics) });

    let listener = TcpListener::bind(config.listen).await.with_context(|| format!("listening on {}", config.listen))?;
    let addr = listener.local_addr()?;
    println!("reef listening on http://{addr}");
    tracing::info!(%addr, "listening");

    let workers = engine.spawn_workers(config.workflow_workers);
    let resume = cluster_env.clone();
    tokio::spawn(async move {
        let resumed = resume.resume_clusters().await;
        tracing::info!(resumed, "clusters resumed");
    });
    let purge = tokio::spawn(purge_expired_sessions(app.clone()));
    let health = config.cluster_health.map(|every| tokio::spawn(check_cluster_health(app.clone(), every)));
    let grace = config.shutdown_grace;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, router).with_graceful_shutdown(async move {
        shutdown_signal().await;
        tracing::info!("stopping: draining requests in flight");
        let _ = stop_tx.send(());
    });
    let serving = tokio::spawn(async move { server.await });
    // Once asked to stop, requests in flight get `grace` to finish.
    let result = tokio::select! {
        r = serving => r.context("the server task failed")?.context("serving HTTP failed"),
        () = async {
            let _ = stop_rx.await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(grace_seconds = grace.as_secs(), "requests still in flight after the grace period; stopping anyway");
            Ok(())
        }
    };
    purge.abort();
    if let Some(health) = health {
        health.abort();
    }
    // Workers finish the operation they drive, for at most the grace period; one left
    // unfinished is taken up again, from its last recorded step, once its lease expires.
    if tokio::time::timeout(grace, workers.stop()).await.is_err() {
        tracing::warn!("operations still running after the grace period; they resume on the next start");
    }
    store.close().await;
    tracing::info!("stopped");
    result
}

async fn purge_expired_sessions(app: App) {
    let mut every = tokio::time::interval(Duration::from_secs(3600));
    loop {
        every.tick().await;
        if let Err(e) = app.purge_expired_sessions().await {
            tracing::warn!(error = %e, "purging expired sessions failed");
        }
        if let Err(e) = app.collect_secret_garbage().await {
            tracing::warn!(error = %e, "deleting unused secret values from Vault failed; will retry");
        }
    }
}

/// Checks the health of running clusters every `every` (the first round after one period).
async fn check_cluster_health(app: App, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        match app.check_cluster_health(every).await {
            Ok(checked) => tracing::debug!(checked, "cluster health checked"),
            Err(e) => tracing::warn!(error = %e, "checking cluster health failed"),
        }
    }
}

/// Waits for Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
