//! The HTTPS API server over a [`Store`]: what kubectl, helm and kube-rs talk to.
//!
//! [`SimServer::start`] binds `127.0.0.1:0`, generates a cluster CA and serving certificate
//! ([`ClusterTls`]) and a random bearer token, and serves (HTTP/2 and HTTP/1.1):
//!
//! - discovery (`/version`, `/api`, `/apis`, ..., plain and aggregated) and OpenAPI
//!   (`/openapi/v2`, `/openapi/v3/...`), generated from the store's registry;
//! - the resource paths `/api/v1/...` and `/apis/{group}/{version}/...`:
//!   `[namespaces/{ns}/]{resource}[/{name}[/{subresource}]]`, with list, watch (`?watch=1`
//!   or `/watch/` paths, streamed as JSON lines), get, create, update, patch (by content
//!   type), delete and deletecollection, and their query parameters;
//! - `/healthz`, `/livez`, `/readyz`.
//!
//! Every request must carry `Authorization: Bearer <token>`; anything else is a 401 Status,
//! as a real server answers a wrong token. Errors are Kubernetes `Status` objects.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rand::Rng as _;
use rand::distr::Alphanumeric;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use crate::discovery::{self, Aggregated};
use crate::openapi::{self, CustomSchemas};
use crate::protobuf;
use crate::resource::ResourceType;
use crate::status::ApiStatus;
use crate::store::{DeleteOptions, ListOptions, Patch, Store, WriteOptions};
use crate::table::{self, IncludeObject, Printer};
use crate::tls::ClusterTls;

/// The largest request body accepted (the real server's limit is about 3 MiB).
const MAX_BODY: usize = 16 * 1024 * 1024;
/// How long a watch runs when the client names no `timeoutSeconds` (the real server picks
/// between 30 and 60 minutes).
const DEFAULT_WATCH_SECONDS: u64 = 1800;

/// Who a server is to its clients: its certificates, its bearer token and the port it wants.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ServerIdentity {
    /// The CA and the serving certificate.
    pub tls: ClusterTls,
    /// The bearer token clients present.
    pub token: String,
    /// The port to listen on, if free; any when `None`.
    pub port: Option<u16>,
}

impl ServerIdentity {
    /// Fresh certificates, a random 40-character token, any port.
    pub fn generate() -> std::io::Result<ServerIdentity> {
        let token: String = rand::rng().sample_iter(&Alphanumeric).take(40).map(char::from).collect();
        Ok(ServerIdentity { tls: ClusterTls::generate()?, token, port: None })
    }
}

/// A running simulated API server. Dropping it stops it.
#[derive(Debug)]
pub struct SimServer {
    addr: SocketAddr,
    token: String,
    ca_pem: String,
    store: Arc<Store>,
    stop: Option<oneshot::Sender<()>>,
    closing: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct AppState {
    store: Arc<Store>,
    token: String,
    address: String,
    closing: watch::Receiver<bool>,
}

impl SimServer {
    /// Starts a server for `store` on `127.0.0.1` (a free port), with fresh certificates
    /// and a random bearer token.
    pub async fn start(store: Arc<Store>) -> std::io::Result<SimServer> {
        SimServer::start_as(store, ServerIdentity::generate()?).await
    }

    /// Starts a server for `store` with `identity`: its certificates and token, and its port
    /// when that port is free (another one otherwise).
    pub async fn start_as(store: Arc<Store>, identity: ServerIdentity) -> std::io::Result<SimServer> {
        let ServerIdentity { tls, token, port } = identity;
        let acceptor = TlsAcceptor::from(tls.server_config()?);
        let listener = match port {
            Some(port) => match TcpListener::bind(("127.0.0.1", port)).await {
                Ok(listener) => listener,
                Err(_) => TcpListener::bind(("127.0.0.1", 0)).await?,
            },
            None => TcpListener::bind(("127.0.0.1", 0)).await?,
        };
        let addr = listener.local_addr()?;
        let (closing, closing_rx) = watch::channel(false);
        let state = Arc::new(AppState {
            store: store.clone(),
            token: token.clone(),
            address: addr.to_string(),
            closing: closing_rx,
        });
        let router = Router::new().fallback(handle).with_state(state);
        let (stop, stop_rx) = oneshot::channel();
        let task = tokio::spawn(serve(listener, acceptor, router, stop_rx));
        tracing::debug!(%addr, "reef-kubesim API server started");
        Ok(SimServer {
            addr,
            token,
            ca_pem: tls.ca_pem().to_owned(),
            store,
            stop: Some(stop),
            closing,
            task: Some(task),
        })
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The bearer token every request must carry.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The cluster CA certificate (PEM) that signed the serving certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The store the server serves.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// A kubeconfig (YAML) for this server, with cluster, user and context named `name`.
    pub fn kubeconfig(&self, name: &str) -> String {
        crate::kubeconfig::kubeconfig(name, &self.url(), &self.ca_pem, &self.token)
    }

    /// Stops the server: no new connections, open connections and watches closed.
    pub async fn shutdown(mut self) {
        self.signal_stop();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    fn signal_stop(&mut self) {
        let _ = self.closing.send(true);
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.signal_stop();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Accepts connections until told to stop; each connection (TLS handshake, then HTTP/2 or
/// HTTP/1.1) runs as its own task, and all of them end with this one.
async fn serve(listener: TcpListener, acceptor: TlsAcceptor, router: Router, mut stop: oneshot::Receiver<()>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => {
                let (tcp, peer) = match accepted {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::debug!(error = %e, "accepting a connection");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let acceptor = acceptor.clone();
                let service = TowerToHyperService::new(router.clone());
                connections.spawn(async move {
                    let tls = match acceptor.accept(tcp).await {
                        Ok(tls) => tls,
                        Err(e) => {
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                            return;
                        }
                    };
                    if let Err(e) = auto::Builder::new(TokioExecutor::new()).serve_connection(TokioIo::new(tls), service).await {
                        tracing::debug!(%peer, error = %e, "connection ended");
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}

// ---------------------------------------------------------------------------------------
// Responses.

/// A JSON body with the headers the real server sends.
fn json_response(code: u16, body: &Value) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache, private"));
    response
}

fn error_response(e: &ApiStatus) -> Response {
    json_response(e.code, &e.to_json())
}

fn method_not_allowed() -> ApiStatus {
    ApiStatus {
        code: 405,
        reason: "MethodNotAllowed",
        message: "the server does not allow this method on the requested resource".to_owned(),
        details: None,
    }
}

fn not_acceptable(what: &str) -> ApiStatus {
    ApiStatus {
        code: 406,
        reason: "NotAcceptable",
        message: format!("only the following media types are accepted: {what}"),
        details: None,
    }
}

fn success(t: &ResourceType, name: &str, uid: Option<&str>) -> Value {
    let mut details = json!({"name": name, "kind": t.resource});
    if !t.group.is_empty() {
        details["group"] = json!(t.group);
    }
    if let Some(uid) = uid {
        details["uid"] = json!(uid);
    }
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details})
}

// ---------------------------------------------------------------------------------------
// Requests.

/// The query parameters of a request.
#[derive(Debug, Default)]
struct Params(Vec<(String, String)>);

impl Params {
    fn from_uri(uri: &Uri) -> Result<Params, ApiStatus> {
        if uri.query().is_none() {
            return Ok(Params::default());
        }
        Query::<Vec<(String, String)>>::try_from_uri(uri)
            .map(|Query(pairs)| Params(pairs))
            .map_err(|e| ApiStatus::bad_request(format!("invalid query: {e}")))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.0.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn flag(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| matches!(v, "true" | "1" | "True" | "TRUE"))
    }

    fn dry_run(&self) -> Result<bool, ApiStatus> {
        let mut dry = false;
        for v in self.all("dryRun") {
            match v {
                "All" => dry = true,
                "" => {}
                other => {
                    return Err(ApiStatus::bad_request(format!(
                        "Invalid dry run value: {other:?}; valid values are: All"
                    )));
                }
            }
        }
        Ok(dry)
    }

    fn list_options(&self) -> Result<ListOptions, ApiStatus> {
        let limit = match self.get("limit") {
            None | Some("") => None,
            Some(l) => Some(l.parse::<usize>().map_err(|_| ApiStatus::bad_request(format!("invalid limit: {l:?}")))?),
        };
        let nonempty = |name: &str| self.get(name).filter(|v| !v.is_empty()).map(str::to_owned);
        Ok(ListOptions {
            label_selector: nonempty("labelSelector"),
            field_selector: nonempty("fieldSelector"),
            limit,
            continue_token: nonempty("continue"),
            resource_version: nonempty("resourceVersion"),
            allow_watch_bookmarks: self.flag("allowWatchBookmarks"),
        })
    }

    fn log_options(&self) -> Result<crate::logs::LogOptions, ApiStatus> {
        let number = |name: &str| -> Result<Option<i64>, ApiStatus> {
            match self.get(name) {
                None | Some("") => Ok(None),
                Some(v) => {
                    v.parse::<i64>().map(Some).map_err(|_| ApiStatus::bad_request(format!("invalid {name}: {v:?}")))
                }
            }
        };
        Ok(crate::logs::LogOptions {
            container: self.get("container").filter(|v| !v.is_empty()).map(str::to_owned),
            follow: self.flag("follow"),
            previous: self.flag("previous"),
            timestamps: self.flag("timestamps"),
            tail_lines: number("tailLines")?,
            limit_bytes: number("limitBytes")?,
        })
    }

    fn write_options(&self) -> Result<WriteOptions, ApiStatus> {
        Ok(WriteOptions {
            dry_run: self.dry_run()?,
            field_manager: self.get("fieldManager").filter(|v| !v.is_empty()).map(str::to_owned),
            force: self.flag("force"),
            strict_fields: self.get("fieldValidation") == Some("Strict"),
        })
    }
}

/// What a resource path names.
#[derive(Debug)]
struct Target {
    t: ResourceType,
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
    watch: bool,
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn authorized(headers: &HeaderMap, token: &str) -> bool {
    headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.split_once(' ')).is_some_and(
        |(scheme, given)| {
            scheme.eq_ignore_ascii_case("bearer") && constant_time_eq(given.trim().as_bytes(), token.as_bytes())
        },
    )
}

fn header_str<'a>(headers: &'a HeaderMap, name: header::HeaderName) -> String {
    let values: Vec<&'a str> = headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect();
    values.join(",")
}

async fn handle(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let response = if authorized(req.headers(), &state.token) {
        route(&state, req).await.unwrap_or_else(|e| error_response(&e))
    } else {
        error_response(&ApiStatus::unauthorized())
    };
    tracing::debug!(%method, %path, status = response.status().as_u16(), "kubesim request");
    response
}

async fn route(state: &AppState, req: Request) -> Result<Response, ApiStatus> {
    let path = req.uri().path().trim_end_matches('/').to_owned();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let registry = state.store.registry();
    let get = req.method() == Method::GET || req.method() == Method::HEAD;
    match segments.as_slice() {
        ["healthz" | "livez" | "readyz", ..] if get => {
            let mut r = (StatusCode::OK, "ok").into_response();
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
            Ok(r)
        }
        ["version"] if get => Ok(json_response(200, &discovery::version())),
        ["api"] if get => Ok(match discovery::negotiate(&header_str(req.headers(), header::ACCEPT)) {
            Some(format) => aggregated_response(state, true, format),
            None => json_response(200, &discovery::api_versions(&state.address)),
        }),
        ["apis"] if get => Ok(match discovery::negotiate(&header_str(req.headers(), header::ACCEPT)) {
            Some(format) => aggregated_response(state, false, format),
            None => json_response(200, &discovery::api_group_list(registry)),
        }),
        ["api", "v1"] if get => {
            discovery::resource_list(registry, "", "v1").map(|v| json_response(200, &v)).ok_or_else(ApiStatus::no_route)
        }
        ["apis", group] if get => {
            discovery::api_group_doc(registry, group).map(|v| json_response(200, &v)).ok_or_else(ApiStatus::no_route)
        }
        ["apis", group, version] if get => discovery::resource_list(registry, group, version)
            .map(|v| json_response(200, &v))
            .ok_or_else(ApiStatus::no_route),
        ["openapi", "v2"] if get => openapi_v2(state, req.headers()),
        ["openapi", "v3"] if get => Ok(json_response(200, &openapi::v3_index(registry, &custom_schemas(&state.store)))),
        ["openapi", "v3", "api", version] if get => openapi_v3(state, "", version),
        ["openapi", "v3", "apis", group, version] if get => openapi_v3(state, group, version),
        ["api", version, rest @ ..] if !rest.is_empty() => {
            let target = resolve(state, "", version, rest)?;
            resource_request(state, target, req).await
        }
        ["apis", group, version, rest @ ..] if !rest.is_empty() => {
            let target = resolve(state, group, version, rest)?;
            resource_request(state, target, req).await
        }
        ["version" | "api" | "apis" | "openapi" | "healthz" | "livez" | "readyz", ..] => Err(method_not_allowed()),
        _ => Err(ApiStatus::no_route()),
    }
}

fn aggregated_response(state: &AppState, legacy: bool, format: Aggregated) -> Response {
    let mut response = json_response(200, &discovery::aggregated(state.store.registry(), legacy, format));
    if let Ok(v) = HeaderValue::from_str(format.content_type()) {
        response.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    response
}

/// The schemas declared by the CRDs in the store, by group, version and kind.
fn custom_schemas(store: &Store) -> CustomSchemas {
    let mut out = CustomSchemas::new();
    let Some(crds) = store.registry().find("apiextensions.k8s.io", "v1", "customresourcedefinitions") else {
        return out;
    };
    let Ok(list) = store.list(&crds, None, &ListOptions::default()) else { return out };
    for crd in list["items"].as_array().into_iter().flatten() {
        let group = crd.pointer("/spec/group").and_then(Value::as_str).unwrap_or("");
        let kind = crd.pointer("/spec/names/kind").and_then(Value::as_str).unwrap_or("");
        for v in crd.pointer("/spec/versions").and_then(Value::as_array).into_iter().flatten() {
            if let (Some(version), Some(schema)) =
                (v.get("name").and_then(Value::as_str), v.pointer("/schema/openAPIV3Schema"))
            {
                out.insert((group.to_owned(), version.to_owned(), kind.to_owned()), schema.clone());
            }
        }
    }
    out
}

fn openapi_v3(state: &AppState, group: &str, version: &str) -> Result<Response, ApiStatus> {
    let doc = openapi::v3_group_version(state.store.registry(), &custom_schemas(&state.store), group, version)
        .ok_or_else(ApiStatus::no_route)?;
    let mut response = json_response(200, &doc);
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", openapi::content_hash(&doc))) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    Ok(response)
}

/// `/openapi/v2`: JSON, or the protobuf encoding when the client asks for it (client-go's
/// discovery client asks for nothing else). A client that accepts neither gets 406.
fn openapi_v2(state: &AppState, headers: &HeaderMap) -> Result<Response, ApiStatus> {
    let accept = header_str(headers, header::ACCEPT);
    let ranges: Vec<&str> = accept.split(',').map(|r| r.split(';').next().unwrap_or("").trim()).collect();
    let doc = || openapi::v2(state.store.registry(), &custom_schemas(&state.store));
    for range in &ranges {
        if range.eq_ignore_ascii_case(openapi::V2_PROTOBUF) {
            let mut response = (StatusCode::OK, openapi::v2_protobuf(&doc())).into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(openapi::V2_PROTOBUF_CONTENT_TYPE));
            return Ok(response);
        }
        if range.is_empty() || matches!(*range, "application/json" | "*/*" | "application/*") {
            return Ok(json_response(200, &doc()));
        }
    }
    Err(not_acceptable(&format!("application/json, {}", openapi::V2_PROTOBUF)))
}

/// A custom resource's `additionalPrinterColumns` for the version served, from its CRD.
fn crd_printer_columns(store: &Store, t: &ResourceType) -> Option<Vec<Value>> {
    if t.group.is_empty() || !t.group.contains('.') || t.group.ends_with(".k8s.io") {
        return None;
    }
    let crds = store.registry().find("apiextensions.k8s.io", "v1", "customresourcedefinitions")?;
    let crd = store.get(&crds, None, &format!("{}.{}", t.resource, t.group)).ok()?;
    let versions = crd.pointer("/spec/versions").and_then(Value::as_array)?;
    let version = versions.iter().find(|v| v.get("name").and_then(Value::as_str) == Some(t.version.as_str()))?;
    version.get("additionalPrinterColumns").and_then(Value::as_array).cloned()
}

/// Works out which type, namespace, object and subresource a resource path names.
fn resolve(state: &AppState, group: &str, version: &str, rest: &[&str]) -> Result<Target, ApiStatus> {
    let registry = state.store.registry();
    let (watch, rest) = match rest {
        ["watch", tail @ ..] if !tail.is_empty() => (true, tail),
        _ => (false, rest),
    };
    let find = |resource: &str| registry.find(group, version, resource);
    // `namespaces/{ns}/{resource}...` names a namespaced resource; `namespaces/{name}[/{sub}]`
    // the namespace itself.
    if let ["namespaces", ns, resource, tail @ ..] = rest
        && let Some(t) = find(resource)
        && tail.len() <= 2
    {
        if !t.namespaced {
            return Err(ApiStatus::no_route());
        }
        return Ok(Target {
            t,
            namespace: Some((*ns).to_owned()),
            name: tail.first().map(|s| (*s).to_owned()),
            subresource: tail.get(1).map(|s| (*s).to_owned()),
            watch,
        });
    }
    let [resource, tail @ ..] = rest else { return Err(ApiStatus::no_route()) };
    if tail.len() > 2 {
        return Err(ApiStatus::no_route());
    }
    let t = find(resource).ok_or_else(ApiStatus::no_route)?;
    let name = tail.first().map(|s| (*s).to_owned());
    if t.namespaced && name.is_some() {
        // A namespaced object is only reachable under its namespace.
        return Err(ApiStatus::no_route());
    }
    Ok(Target { t, namespace: None, name, subresource: tail.get(1).map(|s| (*s).to_owned()), watch })
}

async fn read_body(req: Request) -> Result<(HeaderMap, Bytes), ApiStatus> {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY).await.map_err(|e| ApiStatus {
        code: 413,
        reason: "RequestEntityTooLarge",
        message: format!("the request body could not be read: {e}"),
        details: None,
    })?;
    Ok((parts.headers, bytes))
}

fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Decodes a request body: JSON, or YAML when the content type says so.
fn decode_body(content_type: &str, bytes: &[u8]) -> Result<Value, ApiStatus> {
    let yaml = matches!(
        content_type,
        "application/yaml" | "application/x-yaml" | "text/yaml" | "application/apply-patch+yaml"
    );
    if content_type == protobuf::MEDIA_TYPE {
        return protobuf::decode(bytes).map_err(|e| ApiStatus {
            code: 415,
            reason: "UnsupportedMediaType",
            message: format!("the body of the request could not be decoded from {content_type}: {e}"),
            details: None,
        });
    }
    if content_type.contains("protobuf") || content_type.contains("cbor") {
        return Err(ApiStatus {
            code: 415,
            reason: "UnsupportedMediaType",
            message: format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got {content_type})"
            ),
            details: None,
        });
    }
    let decoded = if yaml {
        yaml_serde::from_slice::<Value>(bytes).map_err(|e| e.to_string())
    } else {
        serde_json::from_slice::<Value>(bytes).map_err(|e| e.to_string())
    };
    decoded.map_err(|e| ApiStatus::bad_request(format!("error decoding the request body: {e}")))
}

async fn resource_request(state: &AppState, target: Target, req: Request) -> Result<Response, ApiStatus> {
    let params = Params::from_uri(req.uri())?;
    // Writes without a fieldManager are managed by the user agent's first part, as on a real server.
    let agent = header_str(req.headers(), header::USER_AGENT);
    let default_manager = match agent.split('/').next().unwrap_or("") {
        "" => "unknown".to_owned(),
        prefix => prefix.chars().take(128).collect(),
    };
    let method = req.method().clone();
    let store = &state.store;
    let t = target.t.clone();
    let ns = target.namespace.as_deref();
    let verb_ok =
        |verb: &str| if t.supports(verb) { Ok(()) } else { Err(ApiStatus::method_not_supported(&t.kind, verb)) };
    if let Some(sub) = &target.subresource
        && !t.has_subresource(sub)
    {
        return Err(ApiStatus::no_route_for(sub));
    }
    let sub = target.subresource.as_deref();
    let printer = match table::negotiate(&header_str(req.headers(), header::ACCEPT)) {
        Some(version) if method == Method::GET && matches!(sub, None | Some("status")) => {
            let include = IncludeObject::parse(params.get("includeObject"))?;
            Some(Printer::new(&t, crd_printer_columns(store, &t).as_deref(), version, include))
        }
        _ => None,
    };
    match (method, target.name.as_deref(), target.watch) {
        (Method::GET, name, true) => {
            verb_ok("watch")?;
            let mut opts = params.list_options()?;
            if let Some(name) = name {
                opts.field_selector = Some(join_selector(opts.field_selector.as_deref(), name));
            }
            if sub.is_some() {
                return Err(ApiStatus::no_route());
            }
            watch_response(state, &t, ns, opts, &params, printer)
        }
        (Method::GET, None, false) => {
            let opts = params.list_options()?;
            if params.flag("watch") {
                verb_ok("watch")?;
                return watch_response(state, &t, ns, opts, &params, printer);
            }
            verb_ok("list")?;
            let list = store.list(&t, ns, &opts)?;
            Ok(json_response(200, &printer.map_or(list.clone(), |p| p.list(&list))))
        }
        (Method::GET, Some(name), false) => {
            verb_ok("get")?;
            let obj = store.get(&t, ns, name)?;
            match sub {
                None | Some("status") => {
                    let mut obj = obj;
                    if obj.is_object() {
                        obj["apiVersion"] = json!(t.api_version());
                        obj["kind"] = json!(t.kind);
                    }
                    Ok(json_response(200, &printer.map_or(obj.clone(), |p| p.object(&obj))))
                }
                Some("scale") => Ok(json_response(200, &crate::store::scale_of(&t, &obj))),
                Some("log") => {
                    let (store, t, ns, name) = (store.clone(), t.clone(), ns.map(str::to_owned), name.to_owned());
                    let closing = state.closing.clone();
                    crate::logs::pod_log(&obj, &params.log_options()?, move || {
                        !*closing.borrow() && store.get(&t, ns.as_deref(), &name).is_ok()
                    })
                }
                Some(other) => Err(ApiStatus::no_route_for(other)),
            }
        }
        (Method::POST, None, false) => {
            verb_ok("create")?;
            if t.namespaced && ns.is_none() {
                return Err(method_not_allowed());
            }
            let mut opts = params.write_options()?;
            opts.field_manager.get_or_insert(default_manager);
            let (headers, bytes) = read_body(req).await?;
            let obj = decode_body(&media_type(&headers), &bytes)?;
            Ok(json_response(201, &store.create(&t, ns, obj, &opts)?))
        }
        (Method::PUT, Some(name), false) => {
            verb_ok("update")?;
            let mut opts = params.write_options()?;
            opts.field_manager.get_or_insert(default_manager);
            let (headers, bytes) = read_body(req).await?;
            let mut obj = decode_body(&media_type(&headers), &bytes)?;
            if sub != Some("scale") {
                match obj.pointer("/metadata/name").and_then(Value::as_str) {
                    Some(given) if given != name => {
                        return Err(ApiStatus::bad_request(format!(
                            "the name of the object ({given}) does not match the name on the URL ({name})"
                        )));
                    }
                    Some(_) => {}
                    None if obj.is_object() => obj["metadata"]["name"] = json!(name),
                    None => {}
                }
            }
            Ok(json_response(200, &store.update(&t, ns, name, obj, sub, &opts)?))
        }
        (Method::PATCH, Some(name), false) => {
            verb_ok("patch")?;
            let mut opts = params.write_options()?;
            let (headers, bytes) = read_body(req).await?;
            let content_type = media_type(&headers);
            // Unknown patch types are refused before the body is looked at.
            let patch = Patch::from_content_type(&content_type, Value::Null)?;
            let body = decode_body(&content_type, &bytes)?;
            let patch = match patch {
                Patch::Json(_) => Patch::Json(body),
                Patch::Merge(_) => Patch::Merge(body),
                Patch::StrategicMerge(_) => Patch::StrategicMerge(body),
                Patch::Apply(_) => {
                    if opts.field_manager.is_none() {
                        return Err(ApiStatus::invalid(
                            "meta.k8s.io",
                            "PatchOptions",
                            "",
                            &[("fieldManager".to_owned(), "Required value: is required for apply patch".to_owned())],
                        ));
                    }
                    Patch::Apply(body)
                }
            };
            if !matches!(patch, Patch::Apply(_)) {
                opts.field_manager.get_or_insert(default_manager);
            }
            let creates = matches!(patch, Patch::Apply(_)) && sub.is_none() && store.get(&t, ns, name).is_err();
            let out = store.patch(&t, ns, name, patch, sub, &opts)?;
            Ok(json_response(if creates { 201 } else { 200 }, &out))
        }
        (Method::DELETE, Some(name), false) => {
            verb_ok("delete")?;
            if sub.is_some() {
                return Err(method_not_allowed());
            }
            let opts = delete_options(&params, req).await?;
            let out = store.delete(&t, ns, name, &opts)?;
            let pending = out.pointer("/metadata/deletionTimestamp").is_some()
                && out.pointer("/metadata/finalizers").and_then(Value::as_array).is_some_and(|f| !f.is_empty());
            if pending {
                Ok(json_response(200, &out))
            } else {
                Ok(json_response(200, &success(&t, name, out.pointer("/metadata/uid").and_then(Value::as_str))))
            }
        }
        (Method::DELETE, None, false) => {
            verb_ok("deletecollection")?;
            let list = params.list_options()?;
            let opts = delete_options(&params, req).await?;
            Ok(json_response(200, &store.delete_collection(&t, ns, &list, &opts)?))
        }
        _ => Err(method_not_allowed()),
    }
}

fn join_selector(existing: Option<&str>, name: &str) -> String {
    match existing {
        Some(s) if !s.is_empty() => format!("{s},metadata.name={name}"),
        _ => format!("metadata.name={name}"),
    }
}

/// Delete options from the query and from a `DeleteOptions` body (the body wins).
async fn delete_options(params: &Params, req: Request) -> Result<DeleteOptions, ApiStatus> {
    let mut opts = DeleteOptions {
        dry_run: params.dry_run()?,
        propagation_policy: params.get("propagationPolicy").map(str::to_owned),
    };
    if params.get("orphanDependents") == Some("true") {
        opts.propagation_policy = Some("Orphan".to_owned());
    }
    let (headers, bytes) = read_body(req).await?;
    if !bytes.iter().all(u8::is_ascii_whitespace) {
        let body = decode_body(&media_type(&headers), &bytes)?;
        if let Some(p) = body.get("propagationPolicy").and_then(Value::as_str) {
            opts.propagation_policy = Some(p.to_owned());
        } else if body.get("orphanDependents") == Some(&json!(true)) {
            opts.propagation_policy = Some("Orphan".to_owned());
        }
        if let Some(dry) = body.get("dryRun").and_then(Value::as_array) {
            opts.dry_run |= dry.iter().any(|v| v == "All");
        }
    }
    if let Some(p) = &opts.propagation_policy
        && !matches!(p.as_str(), "Orphan" | "Background" | "Foreground")
    {
        return Err(ApiStatus::bad_request(format!("Unsupported propagation policy: {p:?}")));
    }
    Ok(opts)
}

// ---------------------------------------------------------------------------------------
// Watches.

/// One watch event as its line: `{"type":...,"object":...}` (in that order, as the real
/// server writes it).
fn event_line(event: &Value) -> Bytes {
    let kind = event.get("type").cloned().unwrap_or(Value::Null);
    let object = event.get("object").cloned().unwrap_or(Value::Null);
    Bytes::from(format!("{{\"type\":{kind},\"object\":{object}}}\n"))
}

/// A watch, streamed as one JSON event per line until `timeoutSeconds` passes (then a
/// BOOKMARK when the client allows them), the store ends it, or the server stops. A
/// resource version too old to watch from is a 200 with one ERROR event (410 Expired), as
/// the real server answers. `sendInitialEvents=true` starts with an ADDED event per object
/// and a BOOKMARK marking the end of them (`k8s.io/initial-events-end`).
fn watch_response(
    state: &AppState,
    t: &ResourceType,
    ns: Option<&str>,
    mut opts: ListOptions,
    params: &Params,
    printer: Option<Printer>,
) -> Result<Response, ApiStatus> {
    let seconds = match params.get("timeoutSeconds") {
        None | Some("") => DEFAULT_WATCH_SECONDS,
        Some(s) => s.parse::<u64>().map_err(|_| ApiStatus::bad_request(format!("invalid timeoutSeconds: {s:?}")))?,
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    let mut first: Vec<Value> = Vec::new();
    if params.flag("sendInitialEvents") {
        let mut list_opts = opts.clone();
        list_opts.limit = None;
        list_opts.continue_token = None;
        list_opts.resource_version = None;
        let list = state.store.list(t, ns, &list_opts)?;
        let rv = list.pointer("/metadata/resourceVersion").and_then(Value::as_str).unwrap_or("0").to_owned();
        for item in list["items"].as_array().into_iter().flatten() {
            let mut item = item.clone();
            item["apiVersion"] = json!(t.api_version());
            item["kind"] = json!(t.kind);
            first.push(json!({"type": "ADDED", "object": item}));
        }
        first.push(json!({"type": "BOOKMARK", "object": {
            "kind": t.kind, "apiVersion": t.api_version(),
            "metadata": {"resourceVersion": rv, "annotations": {"k8s.io/initial-events-end": "true"}},
        }}));
        opts.resource_version = Some(rv);
    }
    let watch = match state.store.watch(t, ns, &opts) {
        Ok(w) => Some(w),
        Err(e) if e.code == 410 => {
            first.push(json!({"type": "ERROR", "object": e.to_json()}));
            None
        }
        Err(e) => return Err(e),
    };
    if let Some(p) = &printer {
        first = first.iter().map(|e| p.event(e)).collect();
    }
    let printer = printer.map(Arc::new);
    let closing = state.closing.clone();
    let stream = futures_util::stream::unfold(
        (first.into_iter(), watch, closing, false),
        move |(mut first, mut watch, mut closing, done)| {
            let printer = printer.clone();
            async move {
                if done {
                    return None;
                }
                if let Some(e) = first.next() {
                    return Some((Ok::<Bytes, Infallible>(event_line(&e)), (first, watch, closing, false)));
                }
                let w = watch.as_mut()?;
                if *closing.borrow() {
                    return None;
                }
                tokio::select! {
                    event = w.next() => {
                        let event = event?;
                        let ends = event.get("type").and_then(Value::as_str) == Some("ERROR");
                        let event = match &printer {
                            Some(p) => p.event(&event),
                            None => event,
                        };
                        Some((Ok(event_line(&event)), (first, watch, closing, ends)))
                    }
                    _ = tokio::time::sleep_until(deadline) => {
                        let bookmark = w.bookmark()?;
                        Some((Ok(event_line(&bookmark)), (first, watch, closing, true)))
                    }
                    _ = closing.changed() => None,
                }
            }
        },
    );
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache, private"));
    Ok(response)
}
