//! `reef login --sso`: single sign-on from a terminal. The CLI listens on a loopback port, asks
//! the server to start a login that comes back there, prints (and opens) the identity
//! provider's URL, and once the browser comes back with a code, has the server finish the login.

#![allow(clippy::print_stderr)] // Instructions for the person logging in.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context as _, bail};
use axum::extract::{Query, State};
use axum::response::Html;
use reef_client::Client;
use tokio::sync::mpsc;

/// How long to wait for the browser to come back.
const WAIT: Duration = Duration::from_secs(600);

async fn callback(
    State(tx): State<mpsc::Sender<BTreeMap<String, String>>>,
    Query(params): Query<BTreeMap<String, String>>,
) -> Html<&'static str> {
    let failed = params.contains_key("error");
    let _ = tx.send(params).await;
    if failed {
        Html("<!doctype html><title>reef</title><p>The login failed; see the terminal.</p>")
    } else {
        Html("<!doctype html><title>reef</title><p>Logged in to reef. You can close this window.</p>")
    }
}

fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") { "open" } else { "xdg-open" };
    let _ = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

/// Runs a login against the server `anonymous` talks to; returns a session token.
pub async fn login(anonymous: &Client, open: bool) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("listening on a loopback port")?;
    let redirect_uri = format!("http://{}/callback", listener.local_addr()?);
    let started = anonymous.sso_start(&redirect_uri).await.context("starting the login")?;
    let (tx, mut rx) = mpsc::channel(4);
    let app = axum::Router::new().route("/callback", axum::routing::get(callback)).with_state(tx);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    eprintln!("Open this URL in a browser to log in:\n\n    {}\n", started.authorization_url);
    if open {
        open_browser(&started.authorization_url);
    }
    eprintln!("Waiting for the browser to come back to {redirect_uri} ...");
    let result = async {
        loop {
            let params = tokio::time::timeout(WAIT, rx.recv())
                .await
                .context("no answer from the browser within 10 minutes")?
                .context("the local callback stopped")?;
            if let Some(error) = params.get("error") {
                let detail = params.get("error_description").map(String::as_str).unwrap_or("");
                bail!("the identity provider refused the login: {error} {detail}");
            }
            // Another page may call the port: only this login's state counts.
            if params.get("state") != Some(&started.state) {
                continue;
            }
            let code = params.get("code").context("the identity provider sent no code")?;
            let session = anonymous.sso_finish(&started.state, code).await.context("finishing the login")?;
            return Ok(session.token);
        }
    }
    .await;
    server.abort();
    result
}
