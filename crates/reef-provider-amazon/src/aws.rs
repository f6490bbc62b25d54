//! Calls to AWS's APIs, signed with Signature Version 4 (`aws-sigv4`, AWS's own signer) and
//! sent with reqwest: the Query protocol (form-encoded POST, XML answers: STS, EC2, IAM) and
//! REST-JSON (EKS). Every service's endpoint can be pointed elsewhere (moto in tests).
//!
//! Errors carry AWS's error code. Throttling, `RequestLimitExceeded`, 5xx answers and
//! connection failures are retried here with exponential backoff; what remains is classified
//! as transient or permanent for the workflow engine, with a sentence saying what to do.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials as AwsCredentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use reef_provider::{Credentials, ProviderError};
use serde_json::Value;
use zeroize::Zeroizing;

const TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts of a call whose failure is worth retrying, before giving up.
const ATTEMPTS: u32 = 5;
/// The first backoff; it doubles each time.
const BACKOFF: Duration = Duration::from_millis(200);

/// An access key pair (and session token) from an `amazon` secret. Redacted in `Debug`.
#[derive(Clone)]
pub struct AccessKey {
    id: String,
    secret: Zeroizing<String>,
    session_token: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKey").field("id", &self.id).finish_non_exhaustive()
    }
}

impl AccessKey {
    /// The key pair of an `amazon` secret's fields.
    pub fn from_secret(credentials: Option<&Credentials>) -> Result<AccessKey, ProviderError> {
        let missing = || {
            ProviderError::permanent(
                "credentials_missing",
                "the cluster needs an `amazon` secret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
            )
        };
        let c = credentials.ok_or_else(missing)?;
        Ok(AccessKey {
            id: c.get("AWS_ACCESS_KEY_ID").ok_or_else(missing)?.to_owned(),
            secret: Zeroizing::new(c.get("AWS_SECRET_ACCESS_KEY").ok_or_else(missing)?.to_owned()),
            session_token: c.get("AWS_SESSION_TOKEN").map(|t| Zeroizing::new(t.to_owned())),
        })
    }

    /// The access key id (not a secret).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// A key pair given directly.
    pub fn new(id: &str, secret: &str, session_token: Option<&str>) -> AccessKey {
        AccessKey {
            id: id.to_owned(),
            secret: Zeroizing::new(secret.to_owned()),
            session_token: session_token.map(|t| Zeroizing::new(t.to_owned())),
        }
    }

    fn identity(&self) -> Identity {
        AwsCredentials::new(
            self.id.clone(),
            self.secret.as_str().to_owned(),
            self.session_token.as_ref().map(|t| t.as_str().to_owned()),
            None,
            "reef",
        )
        .into()
    }
}

/// A failed AWS call: AWS's error code and message, or what went wrong on the way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{service} {action}: {code}: {message}")]
pub struct AwsError {
    /// The service (`ec2`, `eks`, ...).
    pub service: &'static str,
    /// The action or path called.
    pub action: String,
    /// The HTTP status; 0 when no answer came.
    pub status: u16,
    /// AWS's error code (`RequestLimitExceeded`), or `connection_failed`.
    pub code: String,
    /// AWS's message.
    pub message: String,
}

const TRANSIENT_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "PriorRequestNotComplete",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalError",
    "InternalFailure",
    "ServerException",
    "connection_failed",
    "timeout",
];

impl AwsError {
    /// Whether waiting and calling again may help.
    pub fn is_transient(&self) -> bool {
        self.status >= 500 || self.status == 429 || TRANSIENT_CODES.contains(&self.code.as_str())
    }

    /// The error for the workflow engine: AWS's code, and what to do about it.
    pub fn into_provider_error(self) -> ProviderError {
        let advice = match self.code.as_str() {
            "AuthFailure" => {
                "AWS could not validate the credentials: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the \
                 cluster's secret"
            }
            "InvalidClientTokenId" | "UnrecognizedClientException" => {
                "the access key id is not valid in this account: check AWS_ACCESS_KEY_ID in the cluster's secret"
            }
            "SignatureDoesNotMatch" | "InvalidSignatureException" => {
                "AWS rejected the request signature: check AWS_SECRET_ACCESS_KEY in the cluster's secret"
            }
            "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" => {
                "the credentials have expired: put new ones in the cluster's secret"
            }
            "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" | "UnauthorizedException" => {
                "the credentials may not do this: grant the IAM user or role the permission named above"
            }
            "VpcLimitExceeded"
            | "AddressLimitExceeded"
            | "LimitExceeded"
            | "LimitExceededException"
            | "ResourceLimitExceeded"
            | "ResourceLimitExceededException" => {
                "an AWS account limit is reached: delete unused resources or ask AWS to raise the limit"
            }
            "InvalidParameterValue" | "InvalidParameterException" | "InvalidParameterCombination" => {
                "AWS refused a value of the cluster's spec: change the value named above"
            }
            "UnsupportedAvailabilityZoneException" => {
                "EKS has no capacity in an availability zone of this region: try another region"
            }
            _ if self.is_transient() => "AWS is busy or unavailable: reef retries",
            _ => "see AWS's message above",
        };
        let message = format!("{} {}: {} ({advice})", self.service, self.action, self.message);
        if self.is_transient() {
            ProviderError::transient(self.code, message)
        } else {
            ProviderError::permanent(self.code, message)
        }
    }
}

impl From<AwsError> for ProviderError {
    fn from(e: AwsError) -> Self {
        e.into_provider_error()
    }
}

/// Where the services are.
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    /// One URL for every service (moto serves them all at one address); `None` for AWS.
    pub all: Option<String>,
}

impl Endpoints {
    /// The URL of `service` in `region`.
    pub fn url(&self, service: &str, region: &str) -> String {
        if let Some(all) = &self.all {
            return all.trim_end_matches('/').to_owned();
        }
        match service {
            "iam" => "https://iam.amazonaws.com".to_owned(),
            _ => format!("https://{service}.{region}.amazonaws.com"),
        }
    }
}

/// A client for one account and region.
#[derive(Debug, Clone)]
pub struct Aws {
    http: reqwest::Client,
    key: AccessKey,
    region: String,
    endpoints: Endpoints,
}

/// What signing a request gives: headers to add (`Authorization`, `X-Amz-Date`, ...), or query
/// parameters for a presigned URL.
struct Signature {
    headers: Vec<(String, String)>,
    query: Vec<(String, String)>,
}

/// One call, before signing.
struct Request<'a> {
    service: &'static str,
    action: &'a str,
    method: reqwest::Method,
    url: &'a str,
    content_type: Option<&'a str>,
    /// The `X-Amz-Target` header of the JSON protocol (`AmazonSSM.GetParameter`).
    target: Option<&'a str>,
    body: &'a [u8],
}

/// The region a service signs with: IAM is global and signs in us-east-1.
fn signing_region<'a>(service: &str, region: &'a str) -> &'a str {
    if service == "iam" { "us-east-1" } else { region }
}

impl Aws {
    /// A client with `key` in `region`.
    pub fn new(key: AccessKey, region: &str, endpoints: Endpoints) -> Result<Aws, ProviderError> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| ProviderError::permanent("http_client", format!("no HTTP client: {e}")))?;
        Ok(Aws { http, key, region: region.to_owned(), endpoints })
    }

    /// The same client in another region.
    pub fn in_region(&self, region: &str) -> Aws {
        Aws { region: region.to_owned(), ..self.clone() }
    }

    /// The region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The access key.
    pub fn key(&self) -> &AccessKey {
        &self.key
    }

    /// The endpoints.
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    fn signed(
        &self,
        service: &'static str,
        method: &str,
        url: &str,
        headers: &[(&str, String)],
        body: &[u8],
        settings: SigningSettings,
    ) -> Result<Signature, AwsError> {
        let identity = self.key.identity();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(signing_region(service, &self.region))
            .name(service)
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .map_err(|e| self.local_error(service, url, e))?
            .into();
        let signable =
            SignableRequest::new(method, url, headers.iter().map(|(k, v)| (*k, v.as_str())), SignableBody::Bytes(body))
                .map_err(|e| self.local_error(service, url, e))?;
        let (instructions, _) = sign(signable, &params).map_err(|e| self.local_error(service, url, e))?.into_parts();
        let (headers, query) = instructions.into_parts();
        Ok(Signature {
            headers: headers.into_iter().map(|h| (h.name().to_owned(), h.value().to_owned())).collect(),
            query: query.into_iter().map(|(k, v)| (k.to_owned(), v.into_owned())).collect(),
        })
    }

    fn local_error(&self, service: &'static str, action: &str, e: impl std::fmt::Display) -> AwsError {
        AwsError {
            service,
            action: action.to_owned(),
            status: 0,
            code: "signing_failed".to_owned(),
            message: e.to_string(),
        }
    }

    /// Sends a request, signed, trying it up to `attempts` times while its failure is worth
    /// retrying; returns the body of a 2xx.
    async fn send(&self, request: &Request<'_>, attempts: u32) -> Result<String, AwsError> {
        let mut backoff = BACKOFF;
        let mut attempt = 1;
        loop {
            match self.send_once(request).await {
                Err(e) if e.is_transient() && attempt < attempts => {
                    tracing::debug!(service = request.service, action = request.action, code = %e.code, attempt, "AWS call failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn send_once(&self, r: &Request<'_>) -> Result<String, AwsError> {
        let (service, action, url, content_type, body) = (r.service, r.action, r.url, r.content_type, r.body);
        let method = r.method.clone();
        let host = reqwest::Url::parse(url)
            .ok()
            .and_then(|u| {
                u.host_str().map(|h| match u.port() {
                    Some(p) => format!("{h}:{p}"),
                    None => h.to_owned(),
                })
            })
            .unwrap_or_default();
        let mut headers = vec![("host", host)];
        if let Some(ct) = content_type {
            headers.push(("content-type", ct.to_owned()));
        }
        if let Some(target) = r.target {
            headers.push(("x-amz-target", target.to_owned()));
        }
        let signed = self.signed(service, method.as_str(), url, &headers, body, SigningSettings::default())?.headers;
        let mut request = self.http.request(method, url).body(body.to_vec());
        if let Some(target) = r.target {
            request = request.header("x-amz-target", target);
        }
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        for (k, v) in signed {
            request = request.header(k, v);
        }
        let response = request.send().await.map_err(|e| AwsError {
            service,
            action: action.to_owned(),
            status: 0,
            code: "connection_failed".to_owned(),
            message: format!("no answer from {url}: {e}"),
        })?;
        let status = response.status().as_u16();
        let amzn_type = response
            .headers()
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(':').next().unwrap_or(v).to_owned());
        let text = response.text().await.unwrap_or_default();
        if (200..300).contains(&status) {
            return Ok(text);
        }
        let (code, message) = parse_error(&text, amzn_type);
        Err(AwsError { service, action: action.to_owned(), status, code, message })
    }

    /// A Query-protocol call (STS, EC2, IAM): `Action`, `Version` and `params`, answered in XML.
    pub async fn query(
        &self,
        service: &'static str,
        version: &str,
        action: &str,
        params: &[(String, String)],
    ) -> Result<String, AwsError> {
        self.query_with(service, version, action, params, ATTEMPTS).await
    }

    /// [`Aws::query`] tried once: for an optional call whose failure is not worth waiting on.
    pub async fn query_once(
        &self,
        service: &'static str,
        version: &str,
        action: &str,
        params: &[(String, String)],
    ) -> Result<String, AwsError> {
        self.query_with(service, version, action, params, 1).await
    }

    async fn query_with(
        &self,
        service: &'static str,
        version: &str,
        action: &str,
        params: &[(String, String)],
        attempts: u32,
    ) -> Result<String, AwsError> {
        let mut form = vec![("Action".to_owned(), action.to_owned()), ("Version".to_owned(), version.to_owned())];
        form.extend(params.iter().cloned());
        let body = form_encode(&form);
        let url = format!("{}/", self.endpoints.url(service, &self.region));
        let request = Request {
            service,
            action,
            method: reqwest::Method::POST,
            url: &url,
            content_type: Some("application/x-www-form-urlencoded; charset=utf-8"),
            target: None,
            body: body.as_bytes(),
        };
        self.send(&request, attempts).await
    }

    /// A REST-JSON call (EKS): `method` on `path`, with a JSON body; the answer's JSON.
    pub async fn rest_json(
        &self,
        service: &'static str,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, AwsError> {
        self.rest_json_with(service, method, path, body, ATTEMPTS).await
    }

    /// [`Aws::rest_json`] tried once: for an optional call whose failure is not worth waiting on.
    pub async fn rest_json_once(
        &self,
        service: &'static str,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, AwsError> {
        self.rest_json_with(service, method, path, body, 1).await
    }

    async fn rest_json_with(
        &self,
        service: &'static str,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        attempts: u32,
    ) -> Result<Value, AwsError> {
        let url = format!("{}{path}", self.endpoints.url(service, &self.region));
        let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let content_type = (!body.is_empty()).then_some("application/json");
        let action = format!("{method} {}", path.split('?').next().unwrap_or(path));
        let request = Request { service, action: &action, method, url: &url, content_type, target: None, body: &body };
        let text = self.send(&request, attempts).await?;
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| AwsError {
            service,
            action,
            status: 200,
            code: "unreadable_answer".to_owned(),
            message: e.to_string(),
        })
    }

    /// A JSON-protocol call (SSM): `target` (`AmazonSSM.GetParameter`) with a JSON body.
    pub async fn json_rpc(&self, service: &'static str, target: &str, body: &Value) -> Result<Value, AwsError> {
        let url = format!("{}/", self.endpoints.url(service, &self.region));
        let bytes = body.to_string().into_bytes();
        let request = Request {
            service,
            action: target,
            method: reqwest::Method::POST,
            url: &url,
            content_type: Some("application/x-amz-json-1.1"),
            target: Some(target),
            body: &bytes,
        };
        let text = self.send(&request, ATTEMPTS).await?;
        serde_json::from_str(&text).map_err(|e| AwsError {
            service,
            action: target.to_owned(),
            status: 200,
            code: "unreadable_answer".to_owned(),
            message: e.to_string(),
        })
    }

    /// The token EKS's API servers take for these credentials (what `aws eks get-token`
    /// prints): `k8s-aws-v1.` and the base64url of an STS `GetCallerIdentity` URL presigned
    /// for 60 seconds with the header `x-k8s-aws-id: <cluster>`. The API server calls that URL
    /// to learn who the caller is; it is good for 15 minutes from its signing.
    pub fn eks_token(&self, cluster: &str) -> Result<String, AwsError> {
        use base64::Engine as _;
        let base = format!("{}/", self.endpoints.url("sts", &self.region));
        let url = format!("{base}?Action=GetCallerIdentity&Version=2011-06-15");
        let host = reqwest::Url::parse(&base).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default();
        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(60));
        let headers = [("host", host), ("x-k8s-aws-id", cluster.to_owned())];
        let query = self.signed("sts", "GET", &url, &headers, &[], settings)?.query;
        let mut presigned = reqwest::Url::parse(&url).map_err(|e| self.local_error("sts", "GetCallerIdentity", e))?;
        {
            let mut pairs = presigned.query_pairs_mut();
            for (k, v) in &query {
                pairs.append_pair(k, v);
            }
        }
        Ok(format!("k8s-aws-v1.{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(presigned.as_str())))
    }
}

fn form_encode(pairs: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs.iter()).finish()
}

/// AWS's error code and message from an error body: Query-protocol XML
/// (`<Error><Code>..</Code><Message>..</Message></Error>`, EC2's `<Errors><Error>`), or
/// REST-JSON (`{"__type": "...", "message": "..."}`, or the `x-amzn-ErrorType` header).
fn parse_error(body: &str, header_type: Option<String>) -> (String, String) {
    if let Ok(doc) = roxmltree::Document::parse(body) {
        let text = |name: &str| {
            doc.descendants().find(|n| n.has_tag_name(name)).and_then(|n| n.text()).map(str::trim).map(str::to_owned)
        };
        if let Some(code) = text("Code") {
            return (code, text("Message").unwrap_or_default());
        }
    }
    if let Ok(json) = serde_json::from_str::<Value>(body) {
        let code = json
            .get("__type")
            .and_then(Value::as_str)
            .map(|t| t.rsplit('#').next().unwrap_or(t).to_owned())
            .or(header_type.clone());
        let message = ["message", "Message"].iter().find_map(|k| json.get(*k).and_then(Value::as_str)).unwrap_or("");
        if let Some(code) = code {
            return (code, message.to_owned());
        }
    }
    let code = header_type.unwrap_or_else(|| "unknown_error".to_owned());
    (code, body.chars().take(300).collect())
}

/// The text of the first element named `name` in an XML answer.
pub fn xml_text(xml: &str, name: &str) -> Option<String> {
    let doc = roxmltree::Document::parse(xml).ok()?;
    doc.descendants().find(|n| n.has_tag_name(name)).and_then(|n| n.text()).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_of_each_protocol_give_code_and_message() {
        let sts = "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code>\
                   <Message>The security token included in the request is invalid.</Message></Error></ErrorResponse>";
        assert_eq!(parse_error(sts, None).0, "InvalidClientTokenId");
        let ec2 = "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.\
                   </Message></Error></Errors><RequestID>x</RequestID></Response>";
        assert_eq!(parse_error(ec2, None), ("RequestLimitExceeded".to_owned(), "Request limit exceeded.".to_owned()));
        let eks = r#"{"__type":"com.amazonaws#ResourceNotFoundException","message":"No cluster found"}"#;
        assert_eq!(parse_error(eks, None), ("ResourceNotFoundException".to_owned(), "No cluster found".to_owned()));
        let bare = r#"{"message":"Rate exceeded"}"#;
        assert_eq!(parse_error(bare, Some("ThrottlingException".into())).0, "ThrottlingException");
    }

    #[test]
    fn throttling_and_server_errors_are_transient_and_the_rest_say_what_to_do() {
        let e = |code: &str, status| AwsError {
            service: "ec2",
            action: "RunInstances".into(),
            status,
            code: code.into(),
            message: "m".into(),
        };
        assert!(e("RequestLimitExceeded", 503).is_transient());
        assert!(e("Throttling", 400).is_transient());
        assert!(e("anything", 500).is_transient());
        assert!(!e("UnauthorizedOperation", 403).is_transient());
        let p = e("UnauthorizedOperation", 403).into_provider_error();
        assert_eq!((p.retry, p.code.as_str()), (reef_provider::Retry::Permanent, "UnauthorizedOperation"));
        assert!(p.message.contains("grant the IAM user or role"), "{}", p.message);
        let p = e("SignatureDoesNotMatch", 403).into_provider_error();
        assert!(p.message.contains("AWS_SECRET_ACCESS_KEY"), "{}", p.message);
    }

    #[test]
    fn iam_is_global_and_everything_else_regional_unless_pointed_elsewhere() {
        let aws = Endpoints::default();
        assert_eq!(aws.url("iam", "eu-west-1"), "https://iam.amazonaws.com");
        assert_eq!(aws.url("eks", "eu-west-1"), "https://eks.eu-west-1.amazonaws.com");
        assert_eq!(signing_region("iam", "eu-west-1"), "us-east-1");
        let moto = Endpoints { all: Some("http://127.0.0.1:5000/".into()) };
        assert_eq!(moto.url("ec2", "eu-west-1"), "http://127.0.0.1:5000");
    }
}
