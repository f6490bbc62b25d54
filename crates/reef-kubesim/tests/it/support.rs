//! Shared helpers: a running simulated cluster with its kubeconfig on disk, the real kubectl
//! pointed at it, and a small HTTPS client that trusts the cluster's CA.

use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use reef_kubesim::{SimServer, Store};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;

/// How long any single step may take before a test gives up.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// A simulated cluster with its kubeconfig written to a temporary directory.
pub struct Cluster {
    pub server: SimServer,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
}

impl Cluster {
    pub async fn start() -> Cluster {
        let server = SimServer::start(Arc::new(Store::new())).await.expect("start the simulated API server");
        let dir = tempfile::tempdir().expect("temporary directory");
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, server.kubeconfig("sim")).expect("write the kubeconfig");
        Cluster { server, dir, kubeconfig }
    }

    /// A kubectl for this cluster, or `None` (and the test is skipped, or fails in CI) when
    /// kubectl is not installed.
    pub fn kubectl(&self) -> Option<Kubectl> {
        kubectl_for(self.kubeconfig.clone(), self.dir.path().to_path_buf())
    }

    /// A raw HTTPS client for this cluster, with the right token.
    pub fn http(&self) -> Http {
        Http {
            port: self.server.port(),
            ca_pem: self.server.ca_pem().to_owned(),
            token: Some(self.server.token().to_owned()),
        }
    }
}

/// A kubectl for the cluster of `kubeconfig`, with `home` as its HOME, or `None` when kubectl
/// is not installed.
pub fn kubectl_for(kubeconfig: PathBuf, home: PathBuf) -> Option<Kubectl> {
    let Some(path) = reef_testkit::find_executable("kubectl", "REEF_KUBECTL", &[]) else {
        reef_testkit::missing_peer("kubectl", "scripts/test installs it");
        return None;
    };
    Some(Kubectl { path, kubeconfig, home })
}

/// The real kubectl, isolated from the user's configuration and caches.
pub struct Kubectl {
    path: PathBuf,
    kubeconfig: PathBuf,
    home: PathBuf,
}

impl Kubectl {
    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(&self.path);
        command
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.home.join("kube-cache"))
            .args(args)
            .env("HOME", &self.home)
            .env_remove("KUBECONFIG")
            .env_remove("KUBECTL_EXTERNAL_DIFF")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        command
    }

    /// Runs kubectl to completion.
    pub async fn run(&self, args: &[&str]) -> Output {
        tokio::time::timeout(DEADLINE, self.command(args).output())
            .await
            .unwrap_or_else(|_| panic!("kubectl {args:?} did not finish within {DEADLINE:?}"))
            .expect("run kubectl")
    }

    /// Runs kubectl, asserts it succeeded and returns its standard output.
    pub async fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args).await;
        assert!(
            output.status.success(),
            "kubectl {args:?} failed ({}):\nstdout: {}\nstderr: {}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("kubectl writes UTF-8")
    }

    /// Runs kubectl with `stdin` as its standard input, whatever its outcome.
    pub async fn run_with_input(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn kubectl");
        let mut input = child.stdin.take().expect("stdin");
        input.write_all(stdin.as_bytes()).await.expect("write kubectl's input");
        drop(input);
        tokio::time::timeout(DEADLINE, child.wait_with_output()).await.expect("kubectl finishes").expect("kubectl runs")
    }

    /// Runs kubectl with `stdin` as its standard input, asserting success.
    pub async fn ok_with_input(&self, args: &[&str], stdin: &str) -> String {
        let output = self.run_with_input(args, stdin).await;
        assert!(
            output.status.success(),
            "kubectl {args:?} failed:\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("kubectl writes UTF-8")
    }
}

/// One HTTP response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A minimal HTTP/1.1 client over TLS that trusts the cluster's CA: enough to check status
/// lines, headers and bodies byte for byte.
pub struct Http {
    port: u16,
    ca_pem: String,
    pub token: Option<String>,
}

impl Http {
    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        self.request("GET", path, headers, &[]).await
    }

    pub async fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut roots = rustls::RootCertStore::empty();
        let pem = self.ca_pem.clone();
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes()) {
            roots.add(cert.expect("CA PEM")).expect("add the cluster CA");
        }
        let config = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
        let connector = TlsConnector::from(Arc::new(config));
        let tcp = TcpStream::connect(("127.0.0.1", self.port)).await.expect("connect");
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").expect("server name");
        let mut tls = connector.connect(name, tcp).await.expect("TLS handshake with the cluster CA");
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.port,
            body.len()
        );
        if let Some(token) = &self.token {
            request.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        for (k, v) in headers {
            request.push_str(&format!("{k}: {v}\r\n"));
        }
        request.push_str("\r\n");
        tls.write_all(request.as_bytes()).await.expect("send the request");
        tls.write_all(body).await.expect("send the body");
        let mut raw = Vec::new();
        let read =
            tokio::time::timeout(DEADLINE, tls.read_to_end(&mut raw)).await.expect("response within the deadline");
        // A server that closes without close_notify is still a complete HTTP/1.1 response
        // here: the length or the chunking tells.
        if let Err(e) = read {
            assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof, "reading the response: {e}");
        }
        parse_response(&raw)
    }
}

fn parse_response(raw: &[u8]) -> Response {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete response head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status = status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status code");
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())).collect();
    let rest = &raw[split + 4..];
    let chunked = headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked { dechunk(rest) } else { rest.to_vec() };
    Response { status, headers, body }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&data[..end]).trim(), 16).unwrap_or(0);
        data = &data[end + 2..];
        if size == 0 || data.len() < size {
            break;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[(size + 2).min(data.len())..];
    }
    out
}
