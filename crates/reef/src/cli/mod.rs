//! The command line: `reef server` and the client commands.

mod admin;
mod cluster;
mod context;
mod output;
mod release;
mod secret;
mod sim;
mod sso;
mod template;

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use reef_api_types::{CreateTokenRequest, CreateUserRequest, Role};
use reef_client::{Client, PageQuery};

use crate::config::{ServerArgs, ServerConfig, default_data_dir};
use context::{Contexts, ServerContext};
use output::{Format, Table, opt_time, print, time};

/// reef: a control plane for Kubernetes across clouds.
#[derive(Debug, Parser)]
#[command(name = "reef", version, about)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    global: Global,
}

/// Flags of every client command.
#[derive(Debug, clap::Args)]
struct Global {
    /// Output format.
    #[arg(short = 'o', long, global = true, value_enum, default_value = "table")]
    output: Format,
    /// The context (from `reef login`) to use instead of the current one.
    #[arg(long, global = true, env = "REEF_CONTEXT")]
    context: Option<String>,
    /// The server URL, overriding the context's.
    #[arg(long, global = true, env = "REEF_SERVER")]
    server: Option<String>,
    /// The bearer token, overriding the context's.
    #[arg(long, global = true, env = "REEF_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Where contexts are kept [default: reef/contexts.toml in the user's config directory].
    #[arg(long, global = true, env = "REEF_CLI_CONFIG", value_name = "FILE")]
    cli_config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the reef server.
    Server(Box<ServerArgs>),
    /// Log in to a server and save it as a named context.
    Login(LoginArgs),
    /// Forget a context's token and end its session.
    Logout,
    /// Manage saved contexts.
    #[command(subcommand)]
    Context(ContextCommand),
    /// Your account, and creating users (server administrators).
    #[command(subcommand)]
    User(UserCommand),
    /// Organizations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Members of an organization.
    #[command(subcommand)]
    Member(MemberCommand),
    /// Your personal API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Secrets of an organization.
    #[command(subcommand)]
    Secret(secret::SecretCommand),
    /// Clusters of an organization.
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
    /// Operations on clusters: their steps and progress.
    #[command(subcommand)]
    Operation(cluster::OperationCommand),
    /// Deploy a chart to a cluster: install it as a release, or upgrade the release.
    Deploy(Box<release::DeployArgs>),
    /// Helm releases in a cluster.
    #[command(subcommand)]
    Release(release::ReleaseCommand),
    /// Chart repositories of an organization.
    #[command(subcommand)]
    Repo(release::RepoCommand),
    /// Charts in the organization's repositories.
    #[command(subcommand)]
    Chart(release::ChartCommand),
    /// The audit log of an organization.
    Audit(AuditArgs),
    /// Simulated Kubernetes clusters.
    #[command(subcommand)]
    Sim(sim::SimCommand),
    /// Render a Helm chart locally and print what `helm template` prints (no server needed).
    Template(Box<template::TemplateArgs>),
    /// Maintenance on the server's machine: master key rotation, moving secret values between
    /// backends. Takes the same settings as `reef server`.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
}

#[derive(Debug, clap::Args)]
struct LoginArgs {
    /// The server URL.
    #[arg(long = "url", default_value = "http://127.0.0.1:9090")]
    url: String,
    /// Log in with this API token.
    #[arg(long = "with-token", conflicts_with = "username")]
    with_token: Option<String>,
    /// Log in with a user name and a password read from standard input.
    #[arg(long, short = 'u', conflicts_with = "sso")]
    username: Option<String>,
    /// Log in through the server's identity provider (single sign-on) in a browser; the
    /// browser comes back to a port this command listens on, on 127.0.0.1.
    #[arg(long, conflicts_with = "with_token")]
    sso: bool,
    /// With --sso: print the URL only, do not try to open a browser.
    #[arg(long, requires = "sso")]
    no_browser: bool,
    /// Without a token or user name: the server's data directory, whose `admin-token` (written
    /// on the server's first start) is used [default: the platform's data directory for reef].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The name to save the context under.
    #[arg(long = "name", default_value = "default")]
    name: String,
    /// The organization later commands act on.
    #[arg(long, default_value = "default")]
    org: String,
}

#[derive(Debug, Subcommand)]
enum ContextCommand {
    /// List contexts.
    List,
    /// Make a context the current one.
    Use {
        /// The context.
        name: String,
    },
    /// Set the organization a context's commands act on.
    SetOrg {
        /// The organization's name.
        org: String,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Show your account.
    Whoami,
    /// Create a user (server administrators only). The password, if any, is read from stdin.
    Create {
        /// The login name.
        username: String,
        /// Read a password for the user from standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Make the user a server administrator.
        #[arg(long)]
        server_admin: bool,
    },
    /// Set your password: reads the current password (if any) and the new one from stdin, one per line.
    SetPassword {
        /// Your account has a password: read it first.
        #[arg(long)]
        has_current: bool,
    },
}

#[derive(Debug, Subcommand)]
enum OrgCommand {
    /// List your organizations.
    List(PageArgs),
    /// Create an organization; you become its owner.
    Create {
        /// The name.
        name: String,
    },
    /// Show an organization.
    Get {
        /// The name or id.
        org: String,
    },
    /// Delete an organization and everything in it (owners only).
    Delete {
        /// The name or id.
        org: String,
    },
}

#[derive(Debug, Subcommand)]
enum MemberCommand {
    /// List members.
    List {
        #[command(flatten)]
        org: OrgArg,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Add a user as a member.
    Add {
        #[command(flatten)]
        org: OrgArg,
        /// The user.
        username: String,
        /// The role.
        #[arg(long, value_parser = parse_role, default_value = "member")]
        role: Role,
    },
    /// Change a member's role.
    Update {
        #[command(flatten)]
        org: OrgArg,
        /// The member.
        username: String,
        /// The new role.
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
    /// Remove a member.
    Remove {
        #[command(flatten)]
        org: OrgArg,
        /// The member.
        username: String,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// List your API tokens (never their secrets).
    List(PageArgs),
    /// Create an API token; its secret is printed once.
    Create {
        /// A label for the token.
        name: String,
        /// Days until it expires [default: 90].
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// Revoke an API token.
    Revoke {
        /// The token's id.
        id: String,
    },
}

#[derive(Debug, clap::Args)]
struct AuditArgs {
    #[command(flatten)]
    org: OrgArg,
    /// Only this operation (e.g. secret.create).
    #[arg(long)]
    operation: Option<String>,
    /// Only this actor.
    #[arg(long)]
    actor: Option<String>,
    /// Only this outcome (success, denied, failure).
    #[arg(long)]
    outcome: Option<String>,
    /// Only entries at or after this time (RFC 3339).
    #[arg(long)]
    since: Option<String>,
    #[command(flatten)]
    page: PageArgs,
}

/// `--org`, for commands inside an organization.
#[derive(Debug, Clone, clap::Args)]
struct OrgArg {
    /// The organization [default: the context's].
    #[arg(long)]
    org: Option<String>,
}

/// Paging flags.
#[derive(Debug, Clone, clap::Args)]
struct PageArgs {
    /// At most this many items.
    #[arg(long)]
    limit: Option<u32>,
    /// Continue from a previous page's cursor.
    #[arg(long)]
    cursor: Option<String>,
}

impl PageArgs {
    fn query(&self) -> PageQuery {
        PageQuery { limit: self.limit, cursor: self.cursor.clone() }
    }
}

fn parse_role(s: &str) -> Result<Role, String> {
    match s {
        "viewer" => Ok(Role::Viewer),
        "member" => Ok(Role::Member),
        "admin" => Ok(Role::Admin),
        "owner" => Ok(Role::Owner),
        _ => Err("expected one of: viewer, member, admin, owner".to_owned()),
    }
}

fn role_name(r: Role) -> &'static str {
    match r {
        Role::Viewer => "viewer",
        Role::Member => "member",
        Role::Admin => "admin",
        Role::Owner => "owner",
    }
}

/// Reads one line from standard input, without its line ending.
fn read_stdin_line(lines: &mut impl Iterator<Item = std::io::Result<String>>, what: &str) -> anyhow::Result<String> {
    let line = lines.next().with_context(|| format!("expected {what} on standard input"))??;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// The connection a client command uses: flags and environment over the saved context.
struct Session {
    client: Client,
    org: String,
}

fn session(global: &Global) -> anyhow::Result<Session> {
    let path = context::path(global.cli_config.clone())?;
    let contexts = Contexts::load(&path)?;
    let name = global.context.clone().or(contexts.current.clone());
    let saved = name.as_ref().and_then(|n| contexts.contexts.get(n)).cloned();
    if let (Some(n), None) = (&global.context, &saved) {
        bail!("no context named `{n}`: run `reef login --name {n}` first");
    }
    let server = global.server.clone().or_else(|| saved.as_ref().map(|c| c.server.clone()));
    let token = global.token.clone().or_else(|| saved.as_ref().map(|c| c.token.clone()));
    let (Some(server), Some(token)) = (server, token) else {
        bail!("not logged in: run `reef login` (or pass --server and --token)");
    };
    let org = saved.map(|c| c.org).unwrap_or_else(|| "default".to_owned());
    Ok(Session { client: Client::new(&server, Some(token))?, org })
}

impl Session {
    fn org(&self, arg: &OrgArg) -> String {
        arg.org.clone().unwrap_or_else(|| self.org.clone())
    }
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let g = &args.global;
    match args.command {
        Command::Server(server) => crate::server::run(ServerConfig::resolve(*server)?).await,
        Command::Login(login) => run_login(g, login).await,
        Command::Logout => {
            let path = context::path(g.cli_config.clone())?;
            let mut contexts = Contexts::load(&path)?;
            let name = g.context.clone().or(contexts.current.clone()).context("not logged in")?;
            let saved = contexts.contexts.remove(&name).with_context(|| format!("no context named `{name}`"))?;
            // A session token ends on the server too; an API token stays valid until it is
            // revoked with `reef token revoke`.
            if saved.token.starts_with("reef_ses_") {
                let client = Client::new(&saved.server, Some(saved.token))?;
                if let Err(e) = client.logout().await {
                    eprintln!("warning: ending the session on the server failed: {e}");
                }
            }
            if contexts.current.as_deref() == Some(name.as_str()) {
                contexts.current = None;
            }
            contexts.save(&path)?;
            println!("Logged out of `{name}`.");
            Ok(())
        }
        Command::Context(cmd) => run_context(g, cmd),
        Command::User(cmd) => run_user(g, cmd).await,
        Command::Org(cmd) => run_org(g, cmd).await,
        Command::Member(cmd) => run_member(g, cmd).await,
        Command::Token(cmd) => run_token(g, cmd).await,
        Command::Secret(cmd) => secret::run(&session(g)?, g.output, cmd).await,
        Command::Cluster(cmd) => cluster::run(&session(g)?, g.output, cmd).await,
        Command::Operation(cmd) => cluster::run_operation(&session(g)?, g.output, cmd).await,
        Command::Deploy(args) => release::deploy(&session(g)?, g.output, *args).await,
        Command::Release(cmd) => release::run(&session(g)?, g.output, cmd).await,
        Command::Repo(cmd) => release::run_repo(&session(g)?, g.output, cmd).await,
        Command::Chart(cmd) => release::run_chart(&session(g)?, g.output, cmd).await,
        Command::Audit(a) => run_audit(g, a).await,
        Command::Sim(cmd) => sim::run(cmd).await,
        Command::Admin(cmd) => admin::run(cmd).await,
        Command::Template(t) => {
            template::run(*t);
            Ok(())
        }
    }
}

async fn run_login(g: &Global, login: LoginArgs) -> anyhow::Result<()> {
    let anonymous = Client::new(&login.url, None)?;
    let token = if let Some(t) = login.with_token {
        t
    } else if login.sso {
        sso::login(&anonymous, !login.no_browser).await?
    } else if let Some(user) = &login.username {
        let mut lines = std::io::stdin().lines();
        let password = read_stdin_line(&mut lines, "the password")?;
        anonymous.login(user, &password).await.context("logging in")?.token
    } else {
        let dir = match login.data_dir {
            Some(d) => d,
            None => default_data_dir()?,
        };
        let path = dir.join(crate::server::ADMIN_TOKEN_FILE);
        std::fs::read_to_string(&path)
            .with_context(|| {
                format!("reading {} (pass --with-token or --username on another machine)", path.display())
            })?
            .trim()
            .to_owned()
    };
    let client = anonymous.with_token(token.clone());
    let me = client.whoami().await.context("checking the token with the server")?;
    let path = context::path(g.cli_config.clone())?;
    let mut contexts = Contexts::load(&path)?;
    contexts.contexts.insert(login.name.clone(), ServerContext { server: login.url.clone(), token, org: login.org });
    contexts.current = Some(login.name.clone());
    contexts.save(&path)?;
    println!("Logged in to {} as `{}` (context `{}`).", login.url, me.username, login.name);
    Ok(())
}

fn run_context(g: &Global, cmd: ContextCommand) -> anyhow::Result<()> {
    let path = context::path(g.cli_config.clone())?;
    let mut contexts = Contexts::load(&path)?;
    match cmd {
        ContextCommand::List => {
            let mut t = Table::new(vec!["CURRENT", "NAME", "SERVER", "ORG"]);
            for (name, c) in &contexts.contexts {
                let current = if contexts.current.as_deref() == Some(name) { "*" } else { "" };
                t.row(vec![current.to_owned(), name.clone(), c.server.clone(), c.org.clone()]);
            }
            print!("{}", t.render());
        }
        ContextCommand::Use { name } => {
            if !contexts.contexts.contains_key(&name) {
                bail!("no context named `{name}`");
            }
            contexts.current = Some(name);
            contexts.save(&path)?;
        }
        ContextCommand::SetOrg { org } => {
            let name = g.context.clone().or(contexts.current.clone()).context("not logged in")?;
            let c = contexts.contexts.get_mut(&name).with_context(|| format!("no context named `{name}`"))?;
            c.org = org;
            contexts.save(&path)?;
        }
    }
    Ok(())
}

async fn run_user(g: &Global, cmd: UserCommand) -> anyhow::Result<()> {
    let s = session(g)?;
    let user_table = |u: &reef_api_types::UserView| {
        let mut t = Table::new(vec!["ID", "USERNAME", "SERVER ADMIN", "PASSWORD", "CREATED"]);
        t.row(vec![
            u.id.to_string(),
            u.username.clone(),
            u.server_admin.to_string(),
            u.has_password.to_string(),
            time(&u.created_at),
        ]);
        t
    };
    match cmd {
        UserCommand::Whoami => print(g.output, &s.client.whoami().await?, user_table),
        UserCommand::Create { username, password_stdin, server_admin } => {
            let password = if password_stdin {
                Some(read_stdin_line(&mut std::io::stdin().lines(), "the password")?)
            } else {
                None
            };
            let user = s.client.create_user(&CreateUserRequest { username, password, server_admin }).await?;
            print(g.output, &user, user_table)
        }
        UserCommand::SetPassword { has_current } => {
            let mut lines = std::io::stdin().lines();
            let current = if has_current { Some(read_stdin_line(&mut lines, "the current password")?) } else { None };
            let new = read_stdin_line(&mut lines, "the new password")?;
            s.client.set_password(current.as_deref(), &new).await?;
            println!("Password changed.");
            Ok(())
        }
    }
}

async fn run_org(g: &Global, cmd: OrgCommand) -> anyhow::Result<()> {
    let s = session(g)?;
    let org_table = |orgs: &[&reef_api_types::OrgView]| {
        let mut t = Table::new(vec!["ID", "NAME", "ROLE", "CREATED"]);
        for o in orgs {
            t.row(vec![o.id.to_string(), o.name.clone(), role_name(o.role).to_owned(), time(&o.created_at)]);
        }
        t
    };
    match cmd {
        OrgCommand::List(page) => {
            let list = s.client.list_orgs(&page.query()).await?;
            print(g.output, &list, |l| with_cursor(org_table(&l.items.iter().collect::<Vec<_>>()), &l.next_cursor))
        }
        OrgCommand::Create { name } => print(g.output, &s.client.create_org(&name).await?, |o| org_table(&[o])),
        OrgCommand::Get { org } => print(g.output, &s.client.get_org(&org).await?, |o| org_table(&[o])),
        OrgCommand::Delete { org } => {
            s.client.delete_org(&org).await?;
            println!("Deleted organization `{org}`.");
            Ok(())
        }
    }
}

fn with_cursor(t: Table, next: &Option<String>) -> Table {
    if let Some(c) = next {
        eprintln!("more: --cursor {c}");
    }
    t
}

async fn run_member(g: &Global, cmd: MemberCommand) -> anyhow::Result<()> {
    let s = session(g)?;
    let member_table = |ms: &[&reef_api_types::MemberView]| {
        let mut t = Table::new(vec!["USERNAME", "ROLE", "JOINED"]);
        for m in ms {
            t.row(vec![m.username.clone(), role_name(m.role).to_owned(), time(&m.joined_at)]);
        }
        t
    };
    match cmd {
        MemberCommand::List { org, page } => {
            let list = s.client.list_members(&s.org(&org), &page.query()).await?;
            print(g.output, &list, |l| with_cursor(member_table(&l.items.iter().collect::<Vec<_>>()), &l.next_cursor))
        }
        MemberCommand::Add { org, username, role } => {
            print(g.output, &s.client.add_member(&s.org(&org), &username, role).await?, |m| member_table(&[m]))
        }
        MemberCommand::Update { org, username, role } => {
            print(g.output, &s.client.update_member(&s.org(&org), &username, role).await?, |m| member_table(&[m]))
        }
        MemberCommand::Remove { org, username } => {
            s.client.remove_member(&s.org(&org), &username).await?;
            println!("Removed `{username}`.");
            Ok(())
        }
    }
}

async fn run_token(g: &Global, cmd: TokenCommand) -> anyhow::Result<()> {
    let s = session(g)?;
    let token_table = |ts: &[&reef_api_types::TokenView]| {
        let mut t = Table::new(vec!["ID", "NAME", "ACTIVE", "CREATED", "EXPIRES", "LAST USED"]);
        for k in ts {
            t.row(vec![
                k.id.to_string(),
                k.name.clone(),
                k.active.to_string(),
                time(&k.created_at),
                opt_time(&k.expires_at),
                opt_time(&k.last_used_at),
            ]);
        }
        t
    };
    match cmd {
        TokenCommand::List(page) => {
            let list = s.client.list_tokens(&page.query()).await?;
            print(g.output, &list, |l| with_cursor(token_table(&l.items.iter().collect::<Vec<_>>()), &l.next_cursor))
        }
        TokenCommand::Create { name, expires_in_days } => {
            let expires_at = expires_in_days.map(|d| chrono::Utc::now() + chrono::Duration::days(i64::from(d)));
            let created = s.client.create_token(&CreateTokenRequest { name, expires_at }).await?;
            print(g.output, &created, |c| {
                let mut t = token_table(&[&c.token]);
                t.header.push("SECRET (shown once)");
                if let Some(row) = t.rows.first_mut() {
                    row.push(c.secret.clone());
                }
                t
            })
        }
        TokenCommand::Revoke { id } => print(g.output, &s.client.revoke_token(&id).await?, |k| token_table(&[k])),
    }
}

async fn run_audit(g: &Global, a: AuditArgs) -> anyhow::Result<()> {
    let s = session(g)?;
    let mut filters: Vec<(&str, &str)> = Vec::new();
    for (k, v) in [("operation", &a.operation), ("actor", &a.actor), ("outcome", &a.outcome), ("since", &a.since)] {
        if let Some(v) = v {
            filters.push((k, v.as_str()));
        }
    }
    let list = s.client.audit(&s.org(&a.org), &filters, &a.page.query()).await?;
    print(g.output, &list, |l| {
        let mut t = Table::new(vec!["TIME", "ACTOR", "OPERATION", "TARGET", "OUTCOME", "ERROR"]);
        for e in &l.items {
            t.row(vec![
                time(&e.at),
                e.actor.clone(),
                e.operation.clone(),
                format!("{}/{}", e.target_kind, e.target),
                format!("{:?}", e.outcome).to_lowercase(),
                e.error_code.clone().unwrap_or_else(|| "-".to_owned()),
            ]);
        }
        with_cursor(t, &l.next_cursor)
    })
}
