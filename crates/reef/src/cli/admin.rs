//! `reef admin`: maintenance run on the server's machine, against its database, key file and
//! Vault (read from the same flags, variables and file as `reef server`), not through the API.
//! Safe while servers run: every value is replaced only if unchanged since it was read.

#![allow(clippy::print_stdout)] // A command's output.

use anyhow::{Context as _, bail};
use clap::Subcommand;
use reef_app::secret_backend::{self, BackendKind, PassReport};
use reef_store::Store;
use reef_store::crypto::SecretCipher;

use crate::config::{SecretBackendArg, ServerArgs, ServerConfig};

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// The master keys that seal secret values and kubeconfigs.
    #[command(subcommand)]
    MasterKey(MasterKeyCommand),
    /// Secret values and their backends.
    #[command(subcommand)]
    Secrets(SecretsCommand),
}

#[derive(Debug, Subcommand)]
pub enum MasterKeyCommand {
    /// List the keys, the sealing key first, with how many stored values each seals.
    List(Box<ServerArgs>),
    /// Make a new key the sealing key, then seal every value again under it. The old keys stay
    /// in the key file (they still open what was not sealed again) until retired.
    Rotate(Box<ServerArgs>),
    /// Seal again every value not sealed under the sealing key: finishes an interrupted
    /// rotation, and catches values a server wrote under the old key meanwhile.
    Reseal(Box<ServerArgs>),
    /// Remove a key from the key file. Refused while any stored value is still sealed under it.
    Retire {
        /// The key's id, as `list` shows it.
        key_id: String,
        #[command(flatten)]
        server: Box<ServerArgs>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Move every secret value to one backend. Run it again after an interruption: it goes on
    /// where it stopped, and nothing is lost.
    Migrate {
        /// The backend to move values to.
        #[arg(long, value_enum)]
        to: SecretBackendArg,
        #[command(flatten)]
        server: Box<ServerArgs>,
    },
}

pub async fn run(command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::MasterKey(MasterKeyCommand::List(server)) => {
            let config = ServerConfig::resolve(*server)?;
            let cipher = SecretCipher::load_or_create(&config.master_key_file)?;
            let store = open_store(&config).await?;
            println!("{:<18} {:<8} VALUES", "KEY", "SEALS");
            for (i, id) in cipher.key_ids().iter().enumerate() {
                let count = store.count_sealed_with_prefix(&format!("v1.{id}.")).await?;
                println!("{id:<18} {:<8} {count}", if i == 0 { "new" } else { "-" });
            }
            Ok(())
        }
        AdminCommand::MasterKey(MasterKeyCommand::Rotate(server)) => {
            let config = ServerConfig::resolve(*server)?;
            // Read (or create) first, so that a missing file is not rotated into existence.
            SecretCipher::load_or_create(&config.master_key_file)?;
            let id = SecretCipher::rotate_file(&config.master_key_file)?;
            eprintln!("new sealing key {id} added to {}", config.master_key_file.display());
            eprintln!("(if this stops before it ends, run `reef admin master-key reseal` with the same settings)");
            reseal(&config).await
        }
        AdminCommand::MasterKey(MasterKeyCommand::Reseal(server)) => reseal(&ServerConfig::resolve(*server)?).await,
        AdminCommand::MasterKey(MasterKeyCommand::Retire { key_id, server }) => {
            let config = ServerConfig::resolve(*server)?;
            let cipher = SecretCipher::load_or_create(&config.master_key_file)?;
            if !cipher.key_ids().contains(&key_id) {
                bail!(
                    "no key {key_id} in {}: `reef admin master-key list` shows the keys",
                    config.master_key_file.display()
                );
            }
            let store = open_store(&config).await?;
            let count = store.count_sealed_with_prefix(&format!("v1.{key_id}.")).await?;
            if count > 0 {
                bail!(
                    "{count} stored values are still sealed under key {key_id}: run `reef admin master-key reseal` first"
                );
            }
            SecretCipher::retire_from_file(&config.master_key_file, &key_id)?;
            println!("key {key_id} retired");
            Ok(())
        }
        AdminCommand::Secrets(SecretsCommand::Migrate { to, server }) => {
            let config = ServerConfig::resolve(*server)?;
            let to = BackendKind::from(to);
            let backend = crate::server::secret_backend(&config)?;
            let store = open_store(&config).await?;
            let report = secret_backend::migrate_all(&store, &backend, to, |r| progress("moved", r))
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))
                .with_context(|| format!("moving secret values to {to} (run it again to go on)"))?;
            println!(
                "{} secret values examined, {} moved to {to}, {} changed meanwhile by a server (left as written)",
                report.examined, report.changed, report.raced
            );
            Ok(())
        }
    }
}

async fn open_store(config: &ServerConfig) -> anyhow::Result<Store> {
    Store::connect(&config.database_url).await.context("opening the database")
}

fn progress(verb: &str, r: &PassReport) {
    eprintln!("{} values examined, {} {verb}", r.examined, r.changed);
}

async fn reseal(config: &ServerConfig) -> anyhow::Result<()> {
    let backend = crate::server::secret_backend(config)?;
    let store = open_store(config).await?;
    let report = secret_backend::reseal_all(&store, &backend, |r| progress("sealed again", r))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("sealing values again (run `reef admin master-key reseal` to go on)")?;
    println!(
        "{} values examined, {} sealed again under key {}, {} changed meanwhile by a server",
        report.examined,
        report.changed,
        backend.cipher().key_id(),
        report.raced
    );
    Ok(())
}
