//! `reef secret ...`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Subcommand;
use reef_api_types::{CreateSecretRequest, SecretView, UpdateSecretRequest};
use reef_client::PageQuery;

use super::output::{Format, Table, print, time};
use super::{OrgArg, PageArgs, Session, with_cursor};

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Create a secret.
    Create {
        #[command(flatten)]
        org: OrgArg,
        /// The name.
        name: String,
        /// The type (see `reef secret types`).
        #[arg(long = "type", short = 't')]
        secret_type: String,
        #[command(flatten)]
        values: ValueArgs,
        /// A tag; repeat for several.
        #[arg(long = "tag")]
        tags: Vec<String>,
    },
    /// List secrets (never their values).
    List {
        #[command(flatten)]
        org: OrgArg,
        /// Only this type.
        #[arg(long = "type")]
        secret_type: Option<String>,
        /// Only this tag.
        #[arg(long)]
        tag: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show a secret; `--reveal` shows its values (admins and owners).
    Get {
        #[command(flatten)]
        org: OrgArg,
        /// The name or id.
        secret: String,
        /// Show the values.
        #[arg(long)]
        reveal: bool,
        /// The version whose values to show.
        #[arg(long)]
        version: Option<u32>,
    },
    /// Change a secret's values (a new version) or tags.
    Update {
        #[command(flatten)]
        org: OrgArg,
        /// The name or id.
        secret: String,
        #[command(flatten)]
        values: ValueArgs,
        /// Replace the tags; repeat for several.
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// Remove every tag.
        #[arg(long, conflicts_with = "tags")]
        clear_tags: bool,
        /// Only if the secret is still at this version.
        #[arg(long)]
        expected_version: Option<u32>,
    },
    /// Delete a secret and all its versions.
    Delete {
        #[command(flatten)]
        org: OrgArg,
        /// The name or id.
        secret: String,
    },
    /// List a secret's versions.
    Versions {
        #[command(flatten)]
        org: OrgArg,
        /// The name or id.
        secret: String,
    },
    /// List the secret types and their fields.
    Types,
}

/// Where a secret's values come from.
#[derive(Debug, Clone, clap::Args)]
pub struct ValueArgs {
    /// A field: `key=value`, or `key=@path` to read the value from a file. Repeat for several.
    #[arg(long = "field", short = 'f')]
    fields: Vec<String>,
    /// A file of values: a YAML or JSON map of fields, a kubeconfig (type kubeconfig), or a
    /// Google service-account key (type google).
    #[arg(long)]
    from_file: Option<PathBuf>,
}

impl ValueArgs {
    fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.from_file.is_none()
    }

    fn collect(&self, secret_type: Option<&str>) -> anyhow::Result<BTreeMap<String, String>> {
        let mut values = BTreeMap::new();
        if let Some(path) = &self.from_file {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            match secret_type {
                Some("kubeconfig") => {
                    values.insert("K8Sconfig".to_owned(), text);
                }
                Some("google") => {
                    values = reef_core::secret_type::google_fields_from_service_account_json(&text)
                        .map_err(|e| anyhow::anyhow!("{} is not a service-account key: {e}", path.display()))?;
                }
                _ => {
                    let map: BTreeMap<String, yaml_serde::Value> = yaml_serde::from_str(&text)
                        .with_context(|| format!("{} is not a YAML or JSON map of fields", path.display()))?;
                    for (k, v) in map {
                        let v = match v {
                            yaml_serde::Value::String(s) => s,
                            yaml_serde::Value::Number(n) => n.to_string(),
                            yaml_serde::Value::Bool(b) => b.to_string(),
                            _ => bail!("field `{k}` in {} must be a string", path.display()),
                        };
                        values.insert(k, v);
                    }
                }
            }
        }
        for field in &self.fields {
            let (k, v) = field.split_once('=').with_context(|| {
                format!("--field `{k}` must be key=value", k = field.split('=').next().unwrap_or(""))
            })?;
            let v = match v.strip_prefix('@') {
                Some(path) => {
                    std::fs::read_to_string(path).with_context(|| format!("reading {path} for field `{k}`"))?
                }
                None => v.to_owned(),
            };
            values.insert(k.to_owned(), v);
        }
        Ok(values)
    }
}

fn secrets_table(items: &[&SecretView]) -> Table {
    let mut t = Table::new(vec!["ID", "NAME", "TYPE", "VERSION", "TAGS", "UPDATED"]);
    for s in items {
        t.row(vec![
            s.id.to_string(),
            s.name.clone(),
            s.secret_type.clone(),
            s.version.to_string(),
            s.tags.join(","),
            time(&s.updated_at),
        ]);
    }
    t
}

pub async fn run(s: &Session, format: Format, cmd: SecretCommand) -> anyhow::Result<()> {
    match cmd {
        SecretCommand::Create { org, name, secret_type, values, tags } => {
            let values = values.collect(Some(&secret_type))?;
            let req = CreateSecretRequest { name, secret_type, values, tags };
            print(format, &s.client.create_secret(&s.org(&org), &req).await?, |v| secrets_table(&[v]))
        }
        SecretCommand::List { org, secret_type, tag, page } => {
            let q: PageQuery = page.query();
            let list = s.client.list_secrets(&s.org(&org), secret_type.as_deref(), tag.as_deref(), &q).await?;
            print(format, &list, |l| with_cursor(secrets_table(&l.items.iter().collect::<Vec<_>>()), &l.next_cursor))
        }
        SecretCommand::Get { org, secret, reveal, version } => {
            let view = s.client.get_secret(&s.org(&org), &secret, reveal, version).await?;
            print(format, &view, |v| {
                let mut t = secrets_table(&[v]);
                if let Some(values) = &v.values {
                    let mut vt = Table::new(vec!["FIELD", "VALUE"]);
                    for (k, val) in values {
                        vt.row(vec![k.clone(), val.clone()]);
                    }
                    t.rows.push(Vec::new());
                    t.rows.extend(std::iter::once(vt.header.iter().map(|h| (*h).to_owned()).collect()).chain(vt.rows));
                }
                t
            })
        }
        SecretCommand::Update { org, secret, values, tags, clear_tags, expected_version } => {
            let current = if values.is_empty() {
                None
            } else {
                Some(s.client.get_secret(&s.org(&org), &secret, false, None).await?)
            };
            let values = match current {
                Some(c) => Some(values.collect(Some(&c.secret_type))?),
                None => None,
            };
            let tags = if clear_tags {
                Some(Vec::new())
            } else if tags.is_empty() {
                None
            } else {
                Some(tags)
            };
            if values.is_none() && tags.is_none() {
                bail!("nothing to change: give --field, --from-file, --tag or --clear-tags");
            }
            let req = UpdateSecretRequest { values, tags, expected_version };
            print(format, &s.client.update_secret(&s.org(&org), &secret, &req).await?, |v| secrets_table(&[v]))
        }
        SecretCommand::Delete { org, secret } => {
            s.client.delete_secret(&s.org(&org), &secret).await?;
            println!("Deleted secret `{secret}`.");
            Ok(())
        }
        SecretCommand::Versions { org, secret } => {
            let versions = s.client.secret_versions(&s.org(&org), &secret).await?;
            print(format, &versions, |vs| {
                let mut t = Table::new(vec!["VERSION", "CREATED BY", "CREATED"]);
                for v in vs {
                    t.row(vec![v.version.to_string(), v.created_by.to_string(), time(&v.created_at)]);
                }
                t
            })
        }
        SecretCommand::Types => {
            let types = s.client.secret_types().await?;
            print(format, &types, |ts| {
                let mut t = Table::new(vec!["TYPE", "FIELDS (* required)", "DESCRIPTION"]);
                for ty in ts {
                    let fields = if ty.fields.is_empty() {
                        "any".to_owned()
                    } else {
                        ty.fields
                            .iter()
                            .map(|f| if f.required { format!("{}*", f.name) } else { f.name.clone() })
                            .collect::<Vec<_>>()
                            .join(" ")
                    };
                    t.row(vec![ty.name.clone(), fields, ty.description.clone()]);
                }
                t
            })
        }
    }
}
