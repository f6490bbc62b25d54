//! Secret types: the kinds of secret reef stores for an organization, the fields each kind
//! takes, and the validation of those fields' values.
//!
//! The type and field names follow Banzai Cloud Pipeline's secret types, so that existing
//! tooling and habits carry over. Validation is structural and offline (no network, no clock):
//! it checks that required fields are there, that no unknown field is given, that each value
//! has the right format (UUIDs, regions, PEM blocks, kubeconfigs, OpenSSH keys, ...) and that
//! key pairs belong together (a TLS key and its certificate, an SSH private key and its public
//! key).
//!
//! Validation errors are returned to API clients and written to logs, so a [`FieldProblem`]'s
//! `reason` never contains the value it is about, nor any part of it: only field names and
//! fixed wording.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use der::Decode as _;
use der::asn1::ObjectIdentifier;
use ring::signature::KeyPair as _;
use zeroize::Zeroizing;

/// The longest value (in bytes) any secret field may have: 1 MiB.
pub const MAX_VALUE_LEN: usize = 1024 * 1024;

/// The longest field name a [`SecretType::Generic`] secret may use.
pub const MAX_GENERIC_FIELD_NAME_LEN: usize = 253;

/// The kinds of secret reef understands. Serialized lowercase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretType {
    /// Amazon Web Services credentials.
    Amazon,
    /// A Google Cloud service-account key.
    Google,
    /// An Azure service principal.
    Azure,
    /// A DigitalOcean API token.
    Digitalocean,
    /// A kubeconfig for an existing Kubernetes cluster.
    Kubeconfig,
    /// An SSH key pair and the user it logs in as.
    Ssh,
    /// A TLS certificate and key, with an optional CA bundle and client pair.
    Tls,
    /// A username and password.
    Password,
    /// Any named values.
    Generic,
}

impl SecretType {
    /// Every secret type, in declaration order.
    pub const ALL: [SecretType; 9] = [
        SecretType::Amazon,
        SecretType::Google,
        SecretType::Azure,
        SecretType::Digitalocean,
        SecretType::Kubeconfig,
        SecretType::Ssh,
        SecretType::Tls,
        SecretType::Password,
        SecretType::Generic,
    ];

    /// The type's name as used in the API and in storage: `"amazon"`, `"google"`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            SecretType::Amazon => "amazon",
            SecretType::Google => "google",
            SecretType::Azure => "azure",
            SecretType::Digitalocean => "digitalocean",
            SecretType::Kubeconfig => "kubeconfig",
            SecretType::Ssh => "ssh",
            SecretType::Tls => "tls",
            SecretType::Password => "password",
            SecretType::Generic => "generic",
        }
    }

    /// A one-sentence description of what this kind of secret holds.
    pub fn description(self) -> &'static str {
        match self {
            SecretType::Amazon => {
                "Amazon Web Services credentials: an access key pair, optionally with a session \
                 token, a default region and a role to assume."
            }
            SecretType::Google => "A Google Cloud service-account key, with the fields of its downloaded JSON file.",
            SecretType::Azure => "An Azure service principal: a client id and secret for a tenant and subscription.",
            SecretType::Digitalocean => "A DigitalOcean personal access token.",
            SecretType::Kubeconfig => "A kubeconfig file giving access to an existing Kubernetes cluster.",
            SecretType::Ssh => "An SSH key pair and the user it logs in as.",
            SecretType::Tls => {
                "A TLS server certificate and key, optionally with a CA bundle and a client \
                 certificate and key."
            }
            SecretType::Password => "A username and password.",
            SecretType::Generic => "Any set of named values, all treated as sensitive.",
        }
    }

    /// The fields this type takes, required ones first. Empty for [`SecretType::Generic`],
    /// which takes any field names.
    pub fn fields(self) -> &'static [FieldSpec] {
        match self {
            SecretType::Amazon => AMAZON_FIELDS,
            SecretType::Google => GOOGLE_FIELDS,
            SecretType::Azure => AZURE_FIELDS,
            SecretType::Digitalocean => DIGITALOCEAN_FIELDS,
            SecretType::Kubeconfig => KUBECONFIG_FIELDS,
            SecretType::Ssh => SSH_FIELDS,
            SecretType::Tls => TLS_FIELDS,
            SecretType::Password => PASSWORD_FIELDS,
            SecretType::Generic => &[],
        }
    }

    /// The spec of the field called `name`, if this type has one.
    pub fn field(self, name: &str) -> Option<&'static FieldSpec> {
        self.fields().iter().find(|spec| spec.name == name)
    }

    /// Whether the value of field `name` is sensitive (shown only to admins). Every field of a
    /// [`SecretType::Generic`] secret is, and so, to fail safe, is any field this type does
    /// not know.
    pub fn is_sensitive(self, name: &str) -> bool {
        self.field(name).is_none_or(|spec| spec.sensitive)
    }

    /// Checks that every required field is present and non-empty, that no unknown field is
    /// given (except for Generic, which takes any field names matching
    /// `[A-Za-z0-9._-]{1,253}`), and that each value has the right format. Collects ALL
    /// problems, not just the first.
    ///
    /// An optional field whose value is empty (or only whitespace) counts as not given. Key
    /// pairs are checked against each other: a TLS key must match its certificate, and an SSH
    /// private key must belong to its public key.
    pub fn validate(self, values: &BTreeMap<String, String>) -> Result<(), SecretValidationError> {
        let mut problems = Problems::default();
        if self == SecretType::Generic {
            validate_generic(values, &mut problems);
            return problems.into_result();
        }
        for spec in self.fields() {
            match values.get(spec.name) {
                None if spec.required => problems.push(spec.name, "is required"),
                None => {}
                Some(value) if value.trim().is_empty() && spec.required => {
                    problems.push(spec.name, "must not be empty");
                }
                Some(value) if value.trim().is_empty() => {}
                Some(value) if value.len() > MAX_VALUE_LEN => {
                    problems.push(spec.name, TOO_LONG);
                }
                Some(value) => {
                    if let Err(reason) = check_value(self, spec.name, value) {
                        problems.push(spec.name, reason);
                    }
                }
            }
        }
        for name in values.keys() {
            if self.field(name).is_none() {
                let expected: Vec<&str> = self.fields().iter().map(|spec| spec.name).collect();
                problems
                    .push(name, format!("is not a field of {self} secrets (expected one of: {})", expected.join(", ")));
            }
        }
        match self {
            SecretType::Tls => check_tls_pairs(values, &mut problems),
            SecretType::Ssh => check_ssh_pair(values, &mut problems),
            _ => {}
        }
        problems.into_result()
    }
}

impl fmt::Display for SecretType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SecretType {
    type Err = UnknownSecretType;

    /// Parses a type name, ignoring ASCII case and surrounding whitespace.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        SecretType::ALL
            .into_iter()
            .find(|ty| ty.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| UnknownSecretType { given: truncate_name(wanted) })
    }
}

/// A secret type name that reef does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown secret type `{given}` (valid types: amazon, google, azure, digitalocean, \
     kubeconfig, ssh, tls, password, generic)"
)]
pub struct UnknownSecretType {
    /// The name that was given (cut short if it was very long).
    pub given: String,
}

/// One field of a secret type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct FieldSpec {
    /// The field's name, exactly as it is stored and given in the API.
    pub name: &'static str,
    /// Whether a secret of this type must have the field.
    pub required: bool,
    /// true when the value is sensitive (shown only to admins), false for e.g. a region or a username.
    pub sensitive: bool,
    /// What the field holds, for help texts.
    pub description: &'static str,
}

/// All problems found in one secret's fields. `Display` lists them: "field `x`: reason; field `y`: reason".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", join_problems(.problems))]
pub struct SecretValidationError {
    /// The problems, in a stable order: the type's fields in spec order, then unknown fields,
    /// then problems between fields (such as a key that does not match its certificate).
    pub problems: Vec<FieldProblem>,
}

/// One problem with one field of a secret.
///
/// `field` is empty when the problem concerns the secret as a whole (for example a generic
/// secret with no fields at all); `Display` then shows the reason alone.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldProblem {
    /// The field's name, or empty for a problem with the whole secret.
    pub field: String,
    /// What is wrong, worded to follow "field `x`:". Never contains the value.
    pub reason: String,
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            f.write_str(&self.reason)
        } else {
            write!(f, "field `{}`: {}", self.field, self.reason)
        }
    }
}

fn join_problems(problems: &[FieldProblem]) -> String {
    problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// Turns a Google service-account key file (the JSON downloaded from the Cloud console) into
/// the fields of a [`SecretType::Google`] secret.
///
/// Only the fields a Google secret takes are kept; other keys of the file are ignored. Every
/// kept value must be a JSON string. This does not check the values' formats: pass the result
/// to [`SecretType::validate`] for that.
pub fn google_fields_from_service_account_json(json: &str) -> Result<BTreeMap<String, String>, SecretValidationError> {
    let document: serde_json::Value = serde_json::from_str(json).map_err(|error| {
        SecretValidationError::whole(format!(
            "the service-account key is not valid JSON (error at line {}, column {})",
            error.line(),
            error.column()
        ))
    })?;
    let Some(object) = document.as_object() else {
        return Err(SecretValidationError::whole("the service-account key is not a JSON object"));
    };
    let mut problems = Problems::default();
    let mut fields = BTreeMap::new();
    for spec in GOOGLE_FIELDS {
        match object.get(spec.name) {
            Some(serde_json::Value::String(value)) => {
                fields.insert(spec.name.to_owned(), value.clone());
            }
            None | Some(serde_json::Value::Null) => {
                if spec.required {
                    problems.push(spec.name, "is required");
                }
            }
            Some(_) => problems.push(spec.name, "must be a JSON string"),
        }
    }
    problems.into_result().map(|()| fields)
}

impl SecretValidationError {
    fn whole(reason: impl Into<String>) -> Self {
        SecretValidationError { problems: vec![FieldProblem { field: String::new(), reason: reason.into() }] }
    }
}

/// What reef needs to know about a kubeconfig: the context it will use and where that
/// context's cluster is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KubeconfigSummary {
    /// The context reef uses: `current-context` if set, otherwise the first context listed.
    pub current_context: String,
    /// The name of that context's cluster.
    pub cluster: String,
    /// The name of that context's user.
    pub user: String,
    /// The cluster's API server URL.
    pub server: String,
    /// The context's namespace, if it sets one.
    pub namespace: Option<String>,
}

/// Parses a kubeconfig and checks its structure: `apiVersion: v1`, `kind: Config`, at least
/// one cluster (each with a `server` URL), at least one user, at least one context, every
/// context naming a defined cluster and user, and `current-context` (if set) naming a
/// defined context.
///
/// The error is a reason worded for [`FieldProblem::reason`]; it never quotes the text.
pub fn parse_kubeconfig_summary(text: &str) -> Result<KubeconfigSummary, String> {
    const NOT_KUBECONFIG: &str = "does not parse as a kubeconfig";
    let not_kubeconfig = |detail: &str| format!("{NOT_KUBECONFIG}: {detail}");

    let document: yaml_serde::Value = yaml_serde::from_str(text).map_err(|error| match error.location() {
        Some(at) => format!("does not parse as YAML (error at line {}, column {})", at.line(), at.column()),
        None => "does not parse as YAML".to_owned(),
    })?;
    if document.as_mapping().is_none() {
        return Err(not_kubeconfig("the document is not a mapping"));
    }
    match yaml_str(&document, "apiVersion") {
        Some("v1") => {}
        Some(_) => return Err(not_kubeconfig("`apiVersion` is not `v1`")),
        None => return Err(not_kubeconfig("missing `apiVersion`")),
    }
    match yaml_str(&document, "kind") {
        Some("Config") => {}
        Some(_) => return Err(not_kubeconfig("`kind` is not `Config`")),
        None => return Err(not_kubeconfig("missing `kind`")),
    }

    let clusters = named_entries(&document, "clusters", "cluster").map_err(|d| not_kubeconfig(&d))?;
    let mut servers = Vec::with_capacity(clusters.len());
    for (index, (_, body)) in clusters.iter().enumerate() {
        let number = index + 1;
        let Some(server) = body.and_then(|body| yaml_str(body, "server")) else {
            return Err(not_kubeconfig(&format!("cluster #{number} has no `cluster.server`")));
        };
        if !is_http_url(server) {
            return Err(not_kubeconfig(&format!("cluster #{number} has a `server` that is not an http(s) URL")));
        }
        servers.push(server);
    }

    let users = named_entries(&document, "users", "user").map_err(|d| not_kubeconfig(&d))?;
    for (index, (_, body)) in users.iter().enumerate() {
        if body.is_some_and(|body| body.as_mapping().is_none()) {
            return Err(not_kubeconfig(&format!("user #{}: `user` is not a mapping", index + 1)));
        }
    }

    let contexts = named_entries(&document, "contexts", "context").map_err(|d| not_kubeconfig(&d))?;
    let mut resolved = Vec::with_capacity(contexts.len());
    for (index, (_, body)) in contexts.iter().enumerate() {
        let number = index + 1;
        let body = body.ok_or_else(|| not_kubeconfig(&format!("context #{number} has no `context`")))?;
        let Some(cluster_name) = yaml_str(body, "cluster") else {
            return Err(not_kubeconfig(&format!("context #{number} has no `context.cluster`")));
        };
        let Some(user_name) = yaml_str(body, "user") else {
            return Err(not_kubeconfig(&format!("context #{number} has no `context.user`")));
        };
        let Some(cluster_index) = clusters.iter().position(|(name, _)| *name == cluster_name) else {
            return Err(not_kubeconfig(&format!("context #{number} refers to a cluster that is not defined")));
        };
        if !users.iter().any(|(name, _)| *name == user_name) {
            return Err(not_kubeconfig(&format!("context #{number} refers to a user that is not defined")));
        }
        let namespace = match body.get("namespace") {
            None => None,
            Some(value) if value.is_null() => None,
            Some(value) => match value.as_str() {
                Some("") => None,
                Some(namespace) => Some(namespace),
                None => {
                    return Err(not_kubeconfig(&format!("context #{number} has a `namespace` that is not a string")));
                }
            },
        };
        resolved.push((cluster_name, user_name, cluster_index, namespace));
    }

    let chosen = match document.get("current-context") {
        None => 0,
        Some(value) if value.is_null() => 0,
        Some(value) => match value.as_str() {
            Some("") => 0,
            Some(current) => contexts
                .iter()
                .position(|(name, _)| *name == current)
                .ok_or_else(|| not_kubeconfig("`current-context` names a context that is not defined"))?,
            None => return Err(not_kubeconfig("`current-context` is not a string")),
        },
    };
    let (context_name, _) = contexts[chosen];
    let (cluster, user, cluster_index, namespace) = resolved[chosen];
    Ok(KubeconfigSummary {
        current_context: context_name.to_owned(),
        cluster: cluster.to_owned(),
        user: user.to_owned(),
        server: servers[cluster_index].to_owned(),
        namespace: namespace.map(str::to_owned),
    })
}

/// A string value of `key` in a YAML mapping, if it is a non-empty string.
fn yaml_str<'a>(value: &'a yaml_serde::Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(yaml_serde::Value::as_str).filter(|s| !s.is_empty())
}

/// The `[{name: ..., <item>: {...}}]` list under `list` (kubeconfig `clusters`, `users`,
/// `contexts`): each entry's name and body. Errors are details without the text's content.
fn named_entries<'a>(
    document: &'a yaml_serde::Value,
    list: &str,
    item: &str,
) -> Result<Vec<(&'a str, Option<&'a yaml_serde::Value>)>, String> {
    let entries = match document.get(list) {
        None => return Err(format!("missing `{list}`")),
        Some(value) if value.is_null() => return Err(format!("missing `{list}`")),
        Some(value) => value.as_sequence().ok_or_else(|| format!("`{list}` is not a list"))?,
    };
    if entries.is_empty() {
        return Err(format!("`{list}` is empty"));
    }
    let mut out: Vec<(&str, Option<&yaml_serde::Value>)> = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let number = index + 1;
        let Some(name) = yaml_str(entry, "name") else {
            return Err(format!("{item} #{number} has no `name`"));
        };
        if let Some(earlier) = out.iter().position(|(other, _)| *other == name) {
            return Err(format!("{item} #{number} has the same name as {item} #{}", earlier + 1));
        }
        let body = entry.get(item).filter(|body| !body.is_null());
        if body.is_some_and(|body| body.as_mapping().is_none()) {
            return Err(format!("{item} #{number}: `{item}` is not a mapping"));
        }
        out.push((name, body));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Field sets
// ---------------------------------------------------------------------------------------------

const fn spec(name: &'static str, required: bool, sensitive: bool, description: &'static str) -> FieldSpec {
    FieldSpec { name, required, sensitive, description }
}

const AMAZON_FIELDS: &[FieldSpec] = &[
    spec("AWS_ACCESS_KEY_ID", true, false, "The access key id, such as AKIA... or ASIA..."),
    spec("AWS_SECRET_ACCESS_KEY", true, true, "The secret access key that goes with the access key id."),
    spec("AWS_SESSION_TOKEN", false, true, "A session token, for temporary credentials."),
    spec("AWS_DEFAULT_REGION", false, false, "The region to use by default, such as us-east-1."),
    spec(
        "AWS_ROLE_ARN",
        false,
        false,
        "The ARN of an IAM role to assume, such as arn:aws:iam::123456789012:role/reef.",
    ),
];

const GOOGLE_FIELDS: &[FieldSpec] = &[
    spec("type", true, false, "The key's type: always service_account."),
    spec("project_id", true, false, "The Google Cloud project id."),
    spec("private_key_id", true, false, "The id of the private key."),
    spec("private_key", true, true, "The service account's private key, a PEM `PRIVATE KEY` block."),
    spec("client_email", true, false, "The service account's email address."),
    spec("client_id", true, false, "The service account's numeric id."),
    spec("auth_uri", true, false, "The OAuth2 authorization URL."),
    spec("token_uri", true, false, "The OAuth2 token URL."),
    spec("auth_provider_x509_cert_url", false, false, "The URL of the auth provider's X.509 certificates."),
    spec("client_x509_cert_url", false, false, "The URL of the service account's X.509 certificate."),
    spec("universe_domain", false, false, "The Google Cloud universe the key belongs to, such as googleapis.com."),
];

const AZURE_FIELDS: &[FieldSpec] = &[
    spec("AZURE_CLIENT_ID", true, false, "The service principal's application (client) id, a UUID."),
    spec("AZURE_CLIENT_SECRET", true, true, "The service principal's client secret."),
    spec("AZURE_TENANT_ID", true, false, "The Azure Active Directory tenant id, a UUID."),
    spec("AZURE_SUBSCRIPTION_ID", true, false, "The Azure subscription id, a UUID."),
];

const DIGITALOCEAN_FIELDS: &[FieldSpec] = &[spec("DO_TOKEN", true, true, "A DigitalOcean personal access token.")];

const KUBECONFIG_FIELDS: &[FieldSpec] = &[spec("K8Sconfig", true, true, "The kubeconfig file's contents, in YAML.")];

const SSH_FIELDS: &[FieldSpec] = &[
    spec("user", true, false, "The user to log in as."),
    spec("public_key_data", true, false, "The public key, as an OpenSSH public key line."),
    spec("private_key_data", true, true, "The private key, as a PEM block (OpenSSH, PKCS#8, RSA or EC)."),
    spec("identifier", false, false, "A name for the key pair."),
    spec("public_key_fingerprint", false, false, "The public key's fingerprint, SHA256:... or MD5 hex."),
];

const TLS_FIELDS: &[FieldSpec] = &[
    spec("serverCert", true, false, "The server certificate (PEM), optionally followed by its chain."),
    spec("serverKey", true, true, "The server certificate's private key (PEM: PKCS#8, PKCS#1 RSA or SEC1 EC)."),
    spec("caCert", false, false, "The certificate(s) of the certificate authority (PEM)."),
    spec("clientCert", false, false, "A client certificate (PEM); needs clientKey."),
    spec("clientKey", false, true, "The client certificate's private key (PEM); needs clientCert."),
];

const PASSWORD_FIELDS: &[FieldSpec] =
    &[spec("username", true, false, "The username."), spec("password", true, true, "The password.")];

// ---------------------------------------------------------------------------------------------
// Per-field checks
// ---------------------------------------------------------------------------------------------

const TOO_LONG: &str = "is longer than the limit of 1 MiB";

#[derive(Default)]
struct Problems(Vec<FieldProblem>);

impl Problems {
    fn push(&mut self, field: &str, reason: impl Into<String>) {
        self.0.push(FieldProblem { field: truncate_name(field), reason: reason.into() });
    }

    fn has(&self, field: &str) -> bool {
        self.0.iter().any(|problem| problem.field == field)
    }

    fn into_result(self) -> Result<(), SecretValidationError> {
        if self.0.is_empty() { Ok(()) } else { Err(SecretValidationError { problems: self.0 }) }
    }
}

/// A name to echo in an error, cut short if it is very long.
fn truncate_name(name: &str) -> String {
    const MAX: usize = 64;
    match name.char_indices().nth(MAX) {
        None => name.to_owned(),
        Some((cut, _)) => format!("{}…", &name[..cut]),
    }
}

/// The value of `name` if it is given and not blank.
fn given<'a>(values: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    values.get(name).map(String::as_str).filter(|value| !value.trim().is_empty() && value.len() <= MAX_VALUE_LEN)
}

fn validate_generic(values: &BTreeMap<String, String>, problems: &mut Problems) {
    if values.is_empty() {
        problems.push("", "a generic secret needs at least one field");
    }
    for (name, value) in values {
        if !is_generic_field_name(name) {
            problems.push(
                name,
                "is not a valid field name (use 1 to 253 characters from A-Z, a-z, 0-9, `.`, \
                 `_` and `-`)",
            );
        }
        if value.len() > MAX_VALUE_LEN {
            problems.push(name, TOO_LONG);
        }
    }
}

fn is_generic_field_name(name: &str) -> bool {
    (1..=MAX_GENERIC_FIELD_NAME_LEN).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Checks one non-blank value of a known field.
fn check_value(ty: SecretType, field: &str, value: &str) -> Result<(), String> {
    match (ty, field) {
        (SecretType::Amazon, "AWS_ACCESS_KEY_ID") => check_aws_access_key_id(value),
        (SecretType::Amazon, "AWS_SECRET_ACCESS_KEY") => check_aws_secret_access_key(value),
        (SecretType::Amazon, "AWS_SESSION_TOKEN") => check_no_whitespace(value),
        (SecretType::Amazon, "AWS_DEFAULT_REGION") => check_aws_region(value),
        (SecretType::Amazon, "AWS_ROLE_ARN") => check_aws_role_arn(value),

        (SecretType::Google, "type") => {
            if value == "service_account" {
                Ok(())
            } else {
                Err("must be `service_account`".to_owned())
            }
        }
        (SecretType::Google, "project_id" | "private_key_id") => check_no_whitespace(value),
        (SecretType::Google, "private_key") => check_google_private_key(value),
        (SecretType::Google, "client_email") => check_email(value),
        (SecretType::Google, "client_id") => {
            if value.bytes().all(|b| b.is_ascii_digit()) {
                Ok(())
            } else {
                Err("must be a number".to_owned())
            }
        }
        (SecretType::Google, "auth_uri" | "token_uri" | "auth_provider_x509_cert_url" | "client_x509_cert_url") => {
            check_https_url(value)
        }
        (SecretType::Google, "universe_domain") => check_no_whitespace(value),

        (SecretType::Azure, "AZURE_CLIENT_SECRET") => check_no_whitespace(value),
        (SecretType::Azure, _) => check_uuid(value),

        (SecretType::Digitalocean, "DO_TOKEN") => {
            check_no_whitespace(value)?;
            if (20..=200).contains(&value.chars().count()) {
                Ok(())
            } else {
                Err("must be 20 to 200 characters long".to_owned())
            }
        }

        (SecretType::Kubeconfig, "K8Sconfig") => parse_kubeconfig_summary(value).map(|_| ()),

        (SecretType::Ssh, "user") => check_no_whitespace(value),
        (SecretType::Ssh, "public_key_data") => parse_ssh_public_key(value).map(|_| ()),
        (SecretType::Ssh, "private_key_data") => parse_ssh_private_key(value).map(|_| ()),
        (SecretType::Ssh, "public_key_fingerprint") => check_ssh_fingerprint(value),

        (SecretType::Tls, "caCert") => parse_certificates(value).map(|_| ()),
        (SecretType::Tls, "serverCert" | "clientCert") => leaf_public_key(value).map(|_| ()),
        (SecretType::Tls, "serverKey" | "clientKey") => parse_private_key(value).map(|_| ()),

        (SecretType::Password, "username") => {
            if value.chars().any(char::is_control) {
                Err("must not contain control characters".to_owned())
            } else {
                Ok(())
            }
        }

        _ => Ok(()),
    }
}

fn check_no_whitespace(value: &str) -> Result<(), String> {
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Err("must not contain whitespace or control characters".to_owned())
    } else {
        Ok(())
    }
}

fn check_aws_access_key_id(value: &str) -> Result<(), String> {
    if !(16..=128).contains(&value.len()) {
        return Err("must be 16 to 128 characters long".to_owned());
    }
    if !value.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
        return Err("must contain only upper-case letters and digits".to_owned());
    }
    Ok(())
}

fn check_aws_secret_access_key(value: &str) -> Result<(), String> {
    if !(16..=128).contains(&value.len()) {
        return Err("must be 16 to 128 characters long".to_owned());
    }
    if !value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'+' | b'=')) {
        return Err("must contain only letters, digits, `/`, `+` and `=`".to_owned());
    }
    Ok(())
}

/// `^[a-z]{2}(-[a-z]+)+-\d+$`, such as `us-east-1` or `us-gov-west-1`.
fn check_aws_region(value: &str) -> Result<(), String> {
    let parts: Vec<&str> = value.split('-').collect();
    let valid = parts.len() >= 3
        && parts.first().is_some_and(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[1..parts.len() - 1].iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts.last().is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if valid { Ok(()) } else { Err("is not an AWS region name such as `us-east-1`".to_owned()) }
}

/// `arn:aws[a-z-]*:iam::<12 digits>:role/<path and name>`.
fn check_aws_role_arn(value: &str) -> Result<(), String> {
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    let valid = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].strip_prefix("aws").is_some_and(|rest| rest.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'))
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5].strip_prefix("role/").is_some_and(|role| {
            !role.is_empty() && role.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_/-".contains(&b))
        });
    if valid { Ok(()) } else { Err("is not an IAM role ARN such as `arn:aws:iam::123456789012:role/name`".to_owned()) }
}

fn check_uuid(value: &str) -> Result<(), String> {
    match uuid::Uuid::try_parse(value) {
        Ok(_) if value.len() == 36 => Ok(()),
        _ => Err("is not a UUID such as `00000000-0000-0000-0000-000000000000`".to_owned()),
    }
}

fn check_email(value: &str) -> Result<(), String> {
    let valid = value.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
    }) && !value.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid { Ok(()) } else { Err("is not an email address".to_owned()) }
}

fn check_https_url(value: &str) -> Result<(), String> {
    match value.strip_prefix("https://") {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') && check_no_whitespace(rest).is_ok() => Ok(()),
        _ => Err("is not an https:// URL".to_owned()),
    }
}

fn is_http_url(value: &str) -> bool {
    value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
        .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/') && check_no_whitespace(rest).is_ok())
}

fn check_google_private_key(value: &str) -> Result<(), String> {
    let blocks = parse_pem(value)?;
    let [block] = blocks.as_slice() else {
        return Err("must be exactly one PEM `PRIVATE KEY` block".to_owned());
    };
    if block.label != "PRIVATE KEY" {
        return Err("is not a PEM `PRIVATE KEY` block".to_owned());
    }
    pkcs8::PrivateKeyInfoRef::from_der(&block.der)
        .map(|_| ())
        .map_err(|_| "is not a valid PKCS#8 private key".to_owned())
}

// ---------------------------------------------------------------------------------------------
// PEM
// ---------------------------------------------------------------------------------------------

/// Standard base64 that does not insist on padding (OpenSSH omits it in fingerprints).
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

struct PemBlock {
    label: String,
    /// An RFC 1421 `Proc-Type: 4,ENCRYPTED` header was present.
    encrypted: bool,
    der: Zeroizing<Vec<u8>>,
}

/// Parses every PEM block in `text`. Text outside the blocks is ignored, as RFC 7468 allows;
/// RFC 1421 headers (`Proc-Type:`, `DEK-Info:`) inside a block are skipped.
fn parse_pem(text: &str) -> Result<Vec<PemBlock>, String> {
    struct Open {
        label: String,
        encrypted: bool,
        in_body: bool,
        body: Zeroizing<String>,
    }
    let mut blocks = Vec::new();
    let mut open: Option<Open> = None;
    for line in text.lines() {
        let line = line.trim();
        let Some(block) = open.as_mut() else {
            if let Some(label) = line.strip_prefix("-----BEGIN ").and_then(|rest| rest.strip_suffix("-----")) {
                open = Some(Open {
                    label: label.to_owned(),
                    encrypted: false,
                    in_body: false,
                    body: Zeroizing::new(String::new()),
                });
            }
            continue;
        };
        if let Some(label) = line.strip_prefix("-----END ").and_then(|rest| rest.strip_suffix("-----")) {
            if label != block.label {
                return Err("has a PEM block whose END line does not match its BEGIN line".to_owned());
            }
            let der = BASE64
                .decode(block.body.as_bytes())
                .map(Zeroizing::new)
                .map_err(|_| "has a PEM block whose body is not valid base64".to_owned())?;
            if der.is_empty() {
                return Err("has an empty PEM block".to_owned());
            }
            blocks.push(PemBlock { label: std::mem::take(&mut block.label), encrypted: block.encrypted, der });
            open = None;
        } else if line.starts_with("-----") {
            return Err("has a PEM block without an END line".to_owned());
        } else if !block.in_body && line.contains(':') {
            if line.starts_with("Proc-Type:") && line.contains("ENCRYPTED") {
                block.encrypted = true;
            }
        } else if !line.is_empty() {
            block.in_body = true;
            block.body.push_str(line);
        }
    }
    if open.is_some() {
        return Err("has a PEM block without an END line".to_owned());
    }
    if blocks.is_empty() {
        return Err("is not in PEM format (no `-----BEGIN ...-----` line)".to_owned());
    }
    Ok(blocks)
}

// ---------------------------------------------------------------------------------------------
// Keys and certificates
// ---------------------------------------------------------------------------------------------

const OID_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");

const UNSUPPORTED_KEY: &str =
    "uses an unsupported key algorithm (supported: RSA, ECDSA P-256, P-384 and P-521, Ed25519)";
const ENCRYPTED_KEY: &str = "is encrypted with a passphrase; reef needs the unencrypted private key";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Curve {
    P256,
    P384,
    P521,
}

impl Curve {
    fn from_oid(oid: ObjectIdentifier) -> Option<Curve> {
        match oid {
            OID_P256 => Some(Curve::P256),
            OID_P384 => Some(Curve::P384),
            OID_P521 => Some(Curve::P521),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
        }
    }

    fn ssh_name(self) -> &'static str {
        match self {
            Curve::P256 => "nistp256",
            Curve::P384 => "nistp384",
            Curve::P521 => "nistp521",
        }
    }

    fn scalar_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }

    /// ring's signing algorithm for the curve; ring has none for P-521.
    fn ring_alg(self) -> Option<&'static ring::signature::EcdsaSigningAlgorithm> {
        match self {
            Curve::P256 => Some(&ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING),
            Curve::P384 => Some(&ring::signature::ECDSA_P384_SHA384_ASN1_SIGNING),
            Curve::P521 => None,
        }
    }

    fn is_uncompressed_point(self, point: &[u8]) -> bool {
        point.len() == 1 + 2 * self.scalar_len() && point.first() == Some(&0x04)
    }
}

/// A public key, as found in a certificate or derived from a private key.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PublicKey {
    /// Big-endian modulus and exponent, without leading zeros.
    Rsa {
        modulus: Vec<u8>,
        exponent: Vec<u8>,
    },
    /// A SEC1-encoded point.
    Ec {
        curve: Curve,
        point: Vec<u8>,
    },
    Ed25519(Vec<u8>),
}

impl PublicKey {
    fn kind(&self) -> String {
        match self {
            PublicKey::Rsa { .. } => "RSA".to_owned(),
            PublicKey::Ec { curve, .. } => format!("ECDSA {}", curve.name()),
            PublicKey::Ed25519(_) => "Ed25519".to_owned(),
        }
    }

    /// The key in OpenSSH's public key wire format.
    fn ssh_blob(&self) -> Vec<u8> {
        let mut blob = Vec::new();
        match self {
            PublicKey::Rsa { modulus, exponent } => {
                put_ssh_string(&mut blob, b"ssh-rsa");
                put_ssh_mpint(&mut blob, exponent);
                put_ssh_mpint(&mut blob, modulus);
            }
            PublicKey::Ec { curve, point } => {
                put_ssh_string(&mut blob, format!("ecdsa-sha2-{}", curve.ssh_name()).as_bytes());
                put_ssh_string(&mut blob, curve.ssh_name().as_bytes());
                put_ssh_string(&mut blob, point);
            }
            PublicKey::Ed25519(key) => {
                put_ssh_string(&mut blob, b"ssh-ed25519");
                put_ssh_string(&mut blob, key);
            }
        }
        blob
    }
}

/// A parsed private key: what is needed to compare it with a public key.
enum PrivateKey {
    Rsa {
        public: PublicKey,
    },
    Ec {
        curve: Curve,
        scalar: Zeroizing<Vec<u8>>,
        /// The public point the key file carries, if any.
        public: Option<Vec<u8>>,
    },
    Ed25519 {
        public: PublicKey,
    },
}

impl PrivateKey {
    fn kind(&self) -> String {
        match self {
            PrivateKey::Rsa { .. } => "RSA".to_owned(),
            PrivateKey::Ec { curve, .. } => format!("ECDSA {}", curve.name()),
            PrivateKey::Ed25519 { .. } => "Ed25519".to_owned(),
        }
    }

    /// The public key, when the key file lets us know it without elliptic-curve arithmetic.
    fn public_key(&self) -> Option<PublicKey> {
        match self {
            PrivateKey::Rsa { public } | PrivateKey::Ed25519 { public } => Some(public.clone()),
            PrivateKey::Ec { curve, public, .. } => {
                public.as_ref().map(|point| PublicKey::Ec { curve: *curve, point: point.clone() })
            }
        }
    }

    /// Whether this key is the private half of `public`. The error says why not, as a detail
    /// to append to "... does not match ...".
    fn check_matches(&self, public: &PublicKey) -> Result<(), String> {
        let same = match (self, public) {
            (PrivateKey::Rsa { public: mine }, PublicKey::Rsa { .. })
            | (PrivateKey::Ed25519 { public: mine }, PublicKey::Ed25519(_)) => mine == public,
            (PrivateKey::Ec { curve, scalar, public: embedded }, PublicKey::Ec { curve: other, point })
                if curve == other =>
            {
                match curve.ring_alg() {
                    Some(alg) if curve.is_uncompressed_point(point) => {
                        ring::signature::EcdsaKeyPair::from_private_key_and_public_key(
                            alg,
                            scalar,
                            point,
                            &ring::rand::SystemRandom::new(),
                        )
                        .is_ok()
                    }
                    _ => match embedded {
                        Some(embedded) => same_point(embedded, point),
                        None => {
                            return Err(" (the key does not carry its public key, so it cannot be \
                                    compared)"
                                .to_owned());
                        }
                    },
                }
            }
            _ => {
                return Err(format!(" (the key is {} but the certificate's key is {})", self.kind(), public.kind()));
            }
        };
        if same { Ok(()) } else { Err(String::new()) }
    }
}

/// Whether two SEC1 points are the same, whether compressed or not.
fn same_point(a: &[u8], b: &[u8]) -> bool {
    fn compressed(point: &[u8]) -> Option<Vec<u8>> {
        match point.split_first() {
            Some((0x04, xy)) if !xy.is_empty() && xy.len() % 2 == 0 => {
                let (x, y) = xy.split_at(xy.len() / 2);
                let mut out = vec![0x02 | (y.last().copied().unwrap_or(0) & 1)];
                out.extend_from_slice(x);
                Some(out)
            }
            Some((0x02 | 0x03, _)) => Some(point.to_vec()),
            _ => None,
        }
    }
    matches!((compressed(a), compressed(b)), (Some(a), Some(b)) if a == b)
}

/// Parses a PEM private key: PKCS#8 `PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY` or SEC1
/// `EC PRIVATE KEY` (an `EC PARAMETERS` block beside it is ignored).
fn parse_private_key(text: &str) -> Result<PrivateKey, String> {
    let blocks = parse_pem(text)?;
    let block = single_key_block(&blocks)?;
    private_key_from_block(block).unwrap_or_else(|| {
        Err("is not a PEM private key (expected a `PRIVATE KEY`, `RSA PRIVATE KEY` or \
             `EC PRIVATE KEY` block)"
            .to_owned())
    })
}

/// The one PEM block that is not `EC PARAMETERS`.
fn single_key_block(blocks: &[PemBlock]) -> Result<&PemBlock, String> {
    let mut keys = blocks.iter().filter(|block| block.label != "EC PARAMETERS");
    match (keys.next(), keys.next()) {
        (Some(block), None) => Ok(block),
        (None, _) => Err("contains no private key".to_owned()),
        (Some(_), Some(_)) => Err("contains more than one PEM block; give exactly one private key".to_owned()),
    }
}

/// The private key in a PEM block, or `None` when the block is not a kind of key this
/// understands.
fn private_key_from_block(block: &PemBlock) -> Option<Result<PrivateKey, String>> {
    if block.label == "ENCRYPTED PRIVATE KEY" || block.encrypted {
        return Some(Err(ENCRYPTED_KEY.to_owned()));
    }
    match block.label.as_str() {
        "PRIVATE KEY" => Some(parse_pkcs8_key(&block.der)),
        "RSA PRIVATE KEY" => Some(parse_pkcs1_key(&block.der)),
        "EC PRIVATE KEY" => Some(parse_sec1_key(&block.der, None)),
        _ => None,
    }
}

fn parse_pkcs8_key(der: &[u8]) -> Result<PrivateKey, String> {
    let info = pkcs8::PrivateKeyInfoRef::from_der(der).map_err(|_| "is not a valid PKCS#8 private key".to_owned())?;
    let oid = info.algorithm.oid;
    if oid == OID_RSA_ENCRYPTION || oid == OID_RSASSA_PSS {
        parse_pkcs1_key(info.private_key.as_bytes())
    } else if oid == OID_EC_PUBLIC_KEY {
        let curve = info.algorithm.parameters.and_then(|params| params.decode_as::<ObjectIdentifier>().ok());
        parse_sec1_key(info.private_key.as_bytes(), curve)
    } else if oid == OID_ED25519 {
        let pair = ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
            .map_err(|_| "is not a valid Ed25519 private key".to_owned())?;
        Ok(PrivateKey::Ed25519 { public: PublicKey::Ed25519(pair.public_key().as_ref().to_vec()) })
    } else {
        Err(UNSUPPORTED_KEY.to_owned())
    }
}

fn parse_pkcs1_key(der: &[u8]) -> Result<PrivateKey, String> {
    let key = pkcs1::RsaPrivateKeyRef::from_der(der).map_err(|_| "is not a valid RSA private key".to_owned())?;
    let modulus = key.modulus.as_bytes();
    if modulus.is_empty() || key.public_exponent.as_bytes().is_empty() {
        return Err("is not a valid RSA private key".to_owned());
    }
    Ok(PrivateKey::Rsa {
        public: PublicKey::Rsa { modulus: modulus.to_vec(), exponent: key.public_exponent.as_bytes().to_vec() },
    })
}

/// Parses a SEC1 `ECPrivateKey`; `outer_curve` is the curve named by an enclosing PKCS#8
/// structure.
fn parse_sec1_key(der: &[u8], outer_curve: Option<ObjectIdentifier>) -> Result<PrivateKey, String> {
    const INVALID: &str = "is not a valid EC private key";
    let key = sec1::EcPrivateKey::from_der(der).map_err(|_| INVALID.to_owned())?;
    let inner_curve = key.parameters.and_then(|params| params.named_curve());
    let curve_oid = match (outer_curve, inner_curve) {
        (Some(outer), Some(inner)) if outer != inner => {
            return Err(format!("{INVALID} (it names two different curves)"));
        }
        (Some(oid), _) | (None, Some(oid)) => oid,
        (None, None) => return Err(format!("{INVALID} (it does not name its curve)")),
    };
    let curve = Curve::from_oid(curve_oid).ok_or_else(|| UNSUPPORTED_KEY.to_owned())?;
    let Some(padding) = curve.scalar_len().checked_sub(key.private_key.len()) else {
        return Err(INVALID.to_owned());
    };
    let mut scalar = Zeroizing::new(vec![0u8; padding]);
    scalar.extend_from_slice(key.private_key);
    let public = key.public_key.map(<[u8]>::to_vec);
    if let (Some(alg), Some(point)) = (curve.ring_alg(), public.as_deref())
        && curve.is_uncompressed_point(point)
        && ring::signature::EcdsaKeyPair::from_private_key_and_public_key(
            alg,
            &scalar,
            point,
            &ring::rand::SystemRandom::new(),
        )
        .is_err()
    {
        return Err(format!("{INVALID} (its public key does not belong to its private key)"));
    }
    Ok(PrivateKey::Ec { curve, scalar, public })
}

/// Parses one or more PEM `CERTIFICATE` blocks.
fn parse_certificates(text: &str) -> Result<Vec<x509_cert::Certificate>, String> {
    let blocks = parse_pem(text)?;
    let mut certificates = Vec::with_capacity(blocks.len());
    for (index, block) in blocks.iter().enumerate() {
        let number = index + 1;
        if block.label != "CERTIFICATE" {
            return Err(format!("PEM block #{number} is not a `CERTIFICATE`"));
        }
        let certificate = x509_cert::Certificate::from_der(&block.der)
            .map_err(|_| format!("PEM block #{number} is not a valid X.509 certificate"))?;
        certificates.push(certificate);
    }
    Ok(certificates)
}

/// The public key of the first certificate in `text` (the leaf of a chain).
fn leaf_public_key(text: &str) -> Result<PublicKey, String> {
    let certificates = parse_certificates(text)?;
    let Some(leaf) = certificates.first() else {
        return Err("contains no certificate".to_owned());
    };
    let spki = leaf.tbs_certificate().subject_public_key_info();
    let invalid = || "has an invalid public key".to_owned();
    let bits = spki.subject_public_key.as_bytes().ok_or_else(invalid)?;
    let oid = spki.algorithm.oid;
    if oid == OID_RSA_ENCRYPTION || oid == OID_RSASSA_PSS {
        let key = pkcs1::RsaPublicKeyRef::from_der(bits).map_err(|_| invalid())?;
        Ok(PublicKey::Rsa {
            modulus: key.modulus.as_bytes().to_vec(),
            exponent: key.public_exponent.as_bytes().to_vec(),
        })
    } else if oid == OID_EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|params| params.decode_as::<ObjectIdentifier>().ok())
            .and_then(Curve::from_oid)
            .ok_or_else(|| UNSUPPORTED_KEY.to_owned())?;
        Ok(PublicKey::Ec { curve, point: bits.to_vec() })
    } else if oid == OID_ED25519 {
        if bits.len() != 32 {
            return Err(invalid());
        }
        Ok(PublicKey::Ed25519(bits.to_vec()))
    } else {
        Err(UNSUPPORTED_KEY.to_owned())
    }
}

/// Checks that each TLS key matches its certificate, and that the client pair is complete.
fn check_tls_pairs(values: &BTreeMap<String, String>, problems: &mut Problems) {
    check_tls_pair(values, problems, "serverCert", "serverKey");
    match (given(values, "clientCert"), given(values, "clientKey")) {
        (Some(_), None) => problems.push("clientKey", "is required when `clientCert` is given"),
        (None, Some(_)) => problems.push("clientCert", "is required when `clientKey` is given"),
        _ => check_tls_pair(values, problems, "clientCert", "clientKey"),
    }
}

fn check_tls_pair(values: &BTreeMap<String, String>, problems: &mut Problems, cert_field: &str, key_field: &str) {
    if problems.has(cert_field) || problems.has(key_field) {
        return;
    }
    let (Some(cert), Some(key)) = (given(values, cert_field), given(values, key_field)) else {
        return;
    };
    let (Ok(public), Ok(private)) = (leaf_public_key(cert), parse_private_key(key)) else {
        return;
    };
    if let Err(detail) = private.check_matches(&public) {
        problems.push(key_field, format!("{key_field} does not match {cert_field}{detail}"));
    }
}

// ---------------------------------------------------------------------------------------------
// SSH
// ---------------------------------------------------------------------------------------------

const SSH_KEY_TYPES: &[&str] = &[
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-dss",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

/// Reads OpenSSH's wire format (RFC 4251 section 5).
struct SshReader<'a>(&'a [u8]);

impl<'a> SshReader<'a> {
    fn u32(&mut self) -> Option<u32> {
        let (head, rest) = self.0.split_first_chunk::<4>()?;
        self.0 = rest;
        Some(u32::from_be_bytes(*head))
    }

    fn string(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.u32()?).ok()?;
        if len > self.0.len() {
            return None;
        }
        let (string, rest) = self.0.split_at(len);
        self.0 = rest;
        Some(string)
    }
}

fn put_ssh_string(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

/// An unsigned big-endian integer as an SSH `mpint`.
fn put_ssh_mpint(out: &mut Vec<u8>, magnitude: &[u8]) {
    let start = magnitude.iter().position(|&b| b != 0).unwrap_or(magnitude.len());
    let magnitude = &magnitude[start..];
    if magnitude.first().is_some_and(|&b| b & 0x80 != 0) {
        let mut padded = Vec::with_capacity(magnitude.len() + 1);
        padded.push(0);
        padded.extend_from_slice(magnitude);
        put_ssh_string(out, &padded);
    } else {
        put_ssh_string(out, magnitude);
    }
}

/// Parses an OpenSSH public key line, `<type> <base64 key> [comment]`, into the key's wire
/// form.
fn parse_ssh_public_key(value: &str) -> Result<Vec<u8>, String> {
    let line = value.trim();
    if line.contains('\n') {
        return Err("must be a single line".to_owned());
    }
    let mut words = line.split_whitespace();
    let (Some(declared), Some(encoded)) = (words.next(), words.next()) else {
        return Err("is not an OpenSSH public key line (expected `<type> <base64 key> [comment]`)".to_owned());
    };
    if !SSH_KEY_TYPES.contains(&declared) {
        return Err(format!("has an unknown key type (expected one of: {})", SSH_KEY_TYPES.join(", ")));
    }
    let blob = BASE64.decode(encoded).map_err(|_| "has key data that is not valid base64".to_owned())?;
    let mut reader = SshReader(&blob);
    let Some(embedded) = reader.string() else {
        return Err("has key data that is not an SSH public key".to_owned());
    };
    if embedded != declared.as_bytes() {
        return Err("declares a key type that does not match the type inside the key data".to_owned());
    }
    if declared == "ssh-ed25519" && reader.string().map(<[u8]>::len) != Some(32) {
        return Err("has Ed25519 key data of the wrong length".to_owned());
    }
    Ok(blob)
}

/// A parsed SSH private key.
enum SshPrivateKey {
    /// OpenSSH's own format, which carries the public key in clear.
    OpenSsh { public_blob: Vec<u8> },
    /// A PEM private key (PKCS#8, PKCS#1 or SEC1).
    Pem(PrivateKey),
}

impl SshPrivateKey {
    fn public_blob(&self) -> Option<Vec<u8>> {
        match self {
            SshPrivateKey::OpenSsh { public_blob } => Some(public_blob.clone()),
            SshPrivateKey::Pem(key) => key.public_key().map(|public| public.ssh_blob()),
        }
    }
}

fn parse_ssh_private_key(value: &str) -> Result<SshPrivateKey, String> {
    const MAGIC: &[u8] = b"openssh-key-v1\0";
    const INVALID: &str = "is not a valid OpenSSH private key";
    let blocks = parse_pem(value)?;
    let block = single_key_block(&blocks)?;
    if block.label != "OPENSSH PRIVATE KEY" {
        return match private_key_from_block(block) {
            Some(key) => key.map(SshPrivateKey::Pem),
            None => Err("is not a supported private key (expected a PEM `OPENSSH PRIVATE KEY`, \
                         `RSA PRIVATE KEY`, `EC PRIVATE KEY` or `PRIVATE KEY` block)"
                .to_owned()),
        };
    }
    let Some(body) = block.der.strip_prefix(MAGIC) else {
        return Err(INVALID.to_owned());
    };
    let mut reader = SshReader(body);
    let cipher = reader.string().ok_or(INVALID)?;
    let _kdf = reader.string().ok_or(INVALID)?;
    let _kdf_options = reader.string().ok_or(INVALID)?;
    let count = reader.u32().ok_or(INVALID)?;
    if cipher != b"none" {
        return Err(ENCRYPTED_KEY.to_owned());
    }
    if count != 1 {
        return Err("must hold exactly one key".to_owned());
    }
    let public_blob = reader.string().ok_or(INVALID)?.to_vec();
    if reader.string().is_none() {
        return Err(INVALID.to_owned());
    }
    Ok(SshPrivateKey::OpenSsh { public_blob })
}

/// `SHA256:<base64>` (as `ssh-keygen -l` prints) or MD5 as 16 colon-separated hex bytes,
/// optionally prefixed `MD5:`.
fn check_ssh_fingerprint(value: &str) -> Result<(), String> {
    let valid = if let Some(encoded) = value.strip_prefix("SHA256:") {
        BASE64.decode(encoded).is_ok_and(|digest| digest.len() == 32)
    } else {
        let hex = value.strip_prefix("MD5:").unwrap_or(value);
        let bytes: Vec<&str> = hex.split(':').collect();
        bytes.len() == 16 && bytes.iter().all(|b| b.len() == 2 && b.bytes().all(|c| c.is_ascii_hexdigit()))
    };
    if valid {
        Ok(())
    } else {
        Err("is not an SSH key fingerprint (expected `SHA256:<base64>` or 16 colon-separated \
             hex bytes)"
            .to_owned())
    }
}

/// Checks that the private key and the fingerprint belong to the public key.
fn check_ssh_pair(values: &BTreeMap<String, String>, problems: &mut Problems) {
    if problems.has("public_key_data") {
        return;
    }
    let Some(public_blob) = given(values, "public_key_data").and_then(|public| parse_ssh_public_key(public).ok())
    else {
        return;
    };
    if !problems.has("public_key_fingerprint") {
        let sha256 = given(values, "public_key_fingerprint")
            .and_then(|fingerprint| fingerprint.strip_prefix("SHA256:"))
            .and_then(|encoded| BASE64.decode(encoded).ok());
        if let Some(expected) = sha256 {
            let actual = ring::digest::digest(&ring::digest::SHA256, &public_blob);
            if actual.as_ref() != expected.as_slice() {
                problems.push("public_key_fingerprint", "does not match public_key_data");
            }
        }
    }
    if !problems.has("private_key_data") {
        let private_blob = given(values, "private_key_data")
            .and_then(|private| parse_ssh_private_key(private).ok())
            .and_then(|key| key.public_blob());
        if private_blob.is_some_and(|blob| blob != public_blob) {
            problems.push("private_key_data", "does not belong to public_key_data");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
    }

    /// The problems `validate` finds, as (field, reason) pairs.
    fn problems(ty: SecretType, pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        match ty.validate(&values(pairs)) {
            Ok(()) => Vec::new(),
            Err(error) => error.problems.into_iter().map(|problem| (problem.field, problem.reason)).collect(),
        }
    }

    fn problem_fields(ty: SecretType, pairs: &[(&str, &str)]) -> Vec<String> {
        problems(ty, pairs).into_iter().map(|(field, _)| field).collect()
    }

    fn assert_valid(ty: SecretType, pairs: &[(&str, &str)]) {
        assert_eq!(problems(ty, pairs), Vec::<(String, String)>::new());
    }

    fn reason_for(ty: SecretType, pairs: &[(&str, &str)], field: &str) -> String {
        problems(ty, pairs)
            .into_iter()
            .find(|(name, _)| name == field)
            .map(|(_, reason)| reason)
            .unwrap_or_else(|| panic!("expected a problem with `{field}`"))
    }

    fn kubeconfig(clusters: &str, users: &str, contexts: &str, current: &str) -> String {
        format!("apiVersion: v1\nkind: Config\nclusters:\n{clusters}users:\n{users}contexts:\n{contexts}{current}")
    }

    const KUBECONFIG: &str = "\
apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://10.0.0.1:6443
    certificate-authority-data: Zm9v
- name: staging
  cluster:
    server: https://staging.example.com
users:
- name: admin
  user:
    token: abc
contexts:
- name: prod-admin
  context:
    cluster: prod
    user: admin
- name: staging-admin
  context:
    cluster: staging
    user: admin
    namespace: apps
current-context: staging-admin
preferences: {}
";

    const AMAZON: &[(&str, &str)] = &[
        ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ];

    const AZURE: &[(&str, &str)] = &[
        ("AZURE_CLIENT_ID", "5f6c1f8e-2d4b-4f4e-9c51-0b9e4c1d2a3b"),
        ("AZURE_CLIENT_SECRET", "abc~DEF.ghi_123-456"),
        ("AZURE_TENANT_ID", "0e1f2a3b-4c5d-6e7f-8091-a2b3c4d5e6f7"),
        ("AZURE_SUBSCRIPTION_ID", "11111111-2222-3333-4444-555555555555"),
    ];

    fn google_json(private_key: &str) -> String {
        serde_json::json!({
            "type": "service_account",
            "project_id": "reef-test-123",
            "private_key_id": "0123456789abcdef0123456789abcdef01234567",
            "private_key": private_key,
            "client_email": "reef@reef-test-123.iam.gserviceaccount.com",
            "client_id": "123456789012345678901",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": "https://oauth2.googleapis.com/token",
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/reef",
            "universe_domain": "googleapis.com",
        })
        .to_string()
    }

    fn google_fields() -> BTreeMap<String, String> {
        google_fields_from_service_account_json(&google_json(RSA_A_KEY_PKCS8))
            .unwrap_or_else(|error| panic!("conversion failed: {error}"))
    }

    fn ssh(public: &str, private: &str) -> Vec<(&'static str, String)> {
        vec![
            ("user", "ubuntu".to_owned()),
            ("public_key_data", public.to_owned()),
            ("private_key_data", private.to_owned()),
        ]
    }

    fn as_pairs<'a>(owned: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
        owned.iter().map(|(name, value)| (*name, value.as_str())).collect()
    }

    // --- types ---------------------------------------------------------------------------

    #[test]
    fn every_type_round_trips_through_its_name_display_and_serde() {
        for ty in SecretType::ALL {
            assert_eq!(ty.as_str().parse::<SecretType>(), Ok(ty));
            assert_eq!(ty.to_string(), ty.as_str());
            let json = serde_json::to_string(&ty).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", ty.as_str()));
            assert_eq!(serde_json::from_str::<SecretType>(&json).ok(), Some(ty));
            assert!(ty.description().ends_with('.'));
        }
    }

    #[test]
    fn type_names_parse_regardless_of_case_and_surrounding_space() {
        assert_eq!(" DigitalOcean ".parse(), Ok(SecretType::Digitalocean));
        assert_eq!("TLS".parse(), Ok(SecretType::Tls));
    }

    #[test]
    fn unknown_type_name_is_rejected_with_the_list_of_valid_types() {
        let error = "aws".parse::<SecretType>().err();
        let message = error.map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("`aws`"));
        for ty in SecretType::ALL {
            assert!(message.contains(ty.as_str()), "{message} lacks {ty}");
        }
    }

    #[test]
    fn every_type_but_generic_has_uniquely_named_fields_with_descriptions() {
        for ty in SecretType::ALL {
            let fields = ty.fields();
            assert_eq!(fields.is_empty(), ty == SecretType::Generic, "{ty}");
            for (i, field) in fields.iter().enumerate() {
                assert!(!field.description.is_empty());
                assert!(fields[..i].iter().all(|other| other.name != field.name));
                assert_eq!(ty.field(field.name), Some(field));
            }
        }
    }

    #[test]
    fn sensitivity_follows_the_field_specs_and_fails_safe_for_unknown_fields() {
        assert!(SecretType::Amazon.is_sensitive("AWS_SECRET_ACCESS_KEY"));
        assert!(!SecretType::Amazon.is_sensitive("AWS_DEFAULT_REGION"));
        assert!(!SecretType::Password.is_sensitive("username"));
        assert!(SecretType::Password.is_sensitive("password"));
        assert!(SecretType::Tls.is_sensitive("serverKey"));
        assert!(!SecretType::Tls.is_sensitive("serverCert"));
        assert!(SecretType::Generic.is_sensitive("anything"));
        assert!(SecretType::Ssh.is_sensitive("not-a-field"));
    }

    // --- common rules --------------------------------------------------------------------

    #[test]
    fn an_empty_secret_lacks_exactly_the_required_fields_of_each_type() {
        for ty in SecretType::ALL {
            if ty == SecretType::Generic {
                continue;
            }
            let found = problems(ty, &[]);
            let required: Vec<(String, String)> = ty
                .fields()
                .iter()
                .filter(|field| field.required)
                .map(|field| (field.name.to_owned(), "is required".to_owned()))
                .collect();
            assert!(!required.is_empty(), "{ty} has no required field");
            assert_eq!(found, required, "{ty}");
        }
    }

    #[test]
    fn a_blank_required_field_is_reported_as_empty() {
        let mut pairs = AMAZON.to_vec();
        pairs[1].1 = "  ";
        assert_eq!(
            problems(SecretType::Amazon, &pairs),
            vec![("AWS_SECRET_ACCESS_KEY".to_owned(), "must not be empty".to_owned())]
        );
    }

    #[test]
    fn a_blank_optional_field_counts_as_not_given() {
        let mut pairs = AMAZON.to_vec();
        pairs.push(("AWS_DEFAULT_REGION", ""));
        assert_valid(SecretType::Amazon, &pairs);
    }

    #[test]
    fn an_unknown_field_is_rejected_and_the_expected_fields_are_named() {
        let mut pairs = AMAZON.to_vec();
        pairs.push(("AWS_REGION", "us-east-1"));
        let reason = reason_for(SecretType::Amazon, &pairs, "AWS_REGION");
        assert!(reason.contains("is not a field of amazon secrets"), "{reason}");
        assert!(reason.contains("AWS_DEFAULT_REGION"), "{reason}");
    }

    #[test]
    fn all_problems_are_collected_in_field_order_not_just_the_first() {
        let found = problem_fields(
            SecretType::Amazon,
            &[
                ("AWS_ACCESS_KEY_ID", "akia-lower"),
                ("AWS_DEFAULT_REGION", "Europe"),
                ("AWS_ROLE_ARN", "arn:aws:iam::123:role/x"),
                ("EXTRA", "x"),
            ],
        );
        assert_eq!(
            found,
            vec!["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_ROLE_ARN", "EXTRA"]
        );
    }

    #[test]
    fn the_error_display_lists_every_problem_with_its_field() {
        let error = SecretType::Password.validate(&values(&[])).err();
        assert_eq!(
            error.map(|e| e.to_string()).unwrap_or_default(),
            "field `username`: is required; field `password`: is required"
        );
    }

    #[test]
    fn an_overlong_value_is_rejected() {
        let long = "a".repeat(MAX_VALUE_LEN + 1);
        let reason = reason_for(SecretType::Password, &[("username", "u"), ("password", &long)], "password");
        assert_eq!(reason, TOO_LONG);
    }

    // --- amazon --------------------------------------------------------------------------

    #[test]
    fn amazon_secret_with_a_key_pair_is_accepted() {
        assert_valid(SecretType::Amazon, AMAZON);
    }

    #[test]
    fn amazon_secret_with_every_optional_field_is_accepted() {
        let mut pairs = AMAZON.to_vec();
        pairs.extend([
            ("AWS_SESSION_TOKEN", "FwoGZXIvYXdzEJr//////////wEaDH+token="),
            ("AWS_DEFAULT_REGION", "us-gov-west-1"),
            ("AWS_ROLE_ARN", "arn:aws-us-gov:iam::123456789012:role/path/reef-ci"),
        ]);
        assert_valid(SecretType::Amazon, &pairs);
    }

    #[test]
    fn amazon_regions_must_look_like_aws_regions() {
        for region in ["us-east-1", "eu-central-2", "ap-southeast-10", "us-gov-west-1"] {
            assert_eq!(check_aws_region(region), Ok(()), "{region}");
        }
        for region in ["us-east", "useast-1", "US-EAST-1", "u-east-1", "us--1", "us-east-1a"] {
            assert!(check_aws_region(region).is_err(), "{region}");
        }
    }

    #[test]
    fn amazon_role_arns_must_name_an_iam_role_of_a_twelve_digit_account() {
        assert!(check_aws_role_arn("arn:aws:iam::123456789012:role/reef").is_ok());
        for arn in [
            "arn:aws:iam::123456789012:user/reef",
            "arn:aws:s3::123456789012:role/reef",
            "arn:aws:iam::12345:role/reef",
            "arn:aws:iam::123456789012:role/",
            "arn:gcp:iam::123456789012:role/reef",
            "arn:aws:iam:us-east-1:123456789012:role/reef",
        ] {
            assert!(check_aws_role_arn(arn).is_err(), "{arn}");
        }
    }

    #[test]
    fn amazon_secret_access_key_of_the_wrong_length_or_charset_is_rejected() {
        assert!(check_aws_secret_access_key("short").is_err());
        assert!(check_aws_secret_access_key("has spaces in it and is long enough").is_err());
    }

    // --- google --------------------------------------------------------------------------

    #[test]
    fn google_key_file_converts_to_fields_that_validate() {
        let fields = google_fields();
        assert_eq!(fields.get("type").map(String::as_str), Some("service_account"));
        assert_eq!(fields.get("private_key").map(String::as_str), Some(RSA_A_KEY_PKCS8));
        assert_eq!(fields.len(), GOOGLE_FIELDS.len());
        assert_eq!(SecretType::Google.validate(&fields), Ok(()));
    }

    #[test]
    fn google_key_file_conversion_ignores_keys_that_are_not_fields() {
        let mut document: serde_json::Value = serde_json::from_str(&google_json(RSA_A_KEY_PKCS8)).unwrap_or_default();
        if let Some(object) = document.as_object_mut() {
            object.remove("universe_domain");
            object.insert("something_new".to_owned(), serde_json::json!({"nested": true}));
        }
        let fields = google_fields_from_service_account_json(&document.to_string());
        let fields = fields.unwrap_or_default();
        assert!(!fields.contains_key("something_new"));
        assert_eq!(SecretType::Google.validate(&fields), Ok(()));
    }

    #[test]
    fn google_key_file_conversion_reports_missing_and_non_string_keys() {
        let json = r#"{"type": "service_account", "project_id": 42, "private_key": null}"#;
        let error = google_fields_from_service_account_json(json).err();
        let fields: Vec<String> = error.map(|e| e.problems.into_iter().map(|p| p.field).collect()).unwrap_or_default();
        assert_eq!(
            fields,
            vec!["project_id", "private_key_id", "private_key", "client_email", "client_id", "auth_uri", "token_uri"]
        );
    }

    #[test]
    fn google_key_file_conversion_rejects_json_that_is_not_an_object() {
        for json in ["[1, 2]", "\"service_account\"", "{not json", ""] {
            let error = google_fields_from_service_account_json(json).err();
            let problems = error.map(|e| e.problems).unwrap_or_default();
            assert_eq!(problems.len(), 1, "{json}");
            assert_eq!(problems[0].field, "");
        }
    }

    #[test]
    fn google_fields_with_bad_formats_are_each_reported() {
        let mut fields = google_fields();
        for (name, value) in [
            ("type", "user"),
            ("private_key", "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"),
            ("client_email", "not-an-email"),
            ("client_id", "12ab"),
            ("token_uri", "http://oauth2.googleapis.com/token"),
        ] {
            fields.insert(name.to_owned(), value.to_owned());
        }
        let found: Vec<String> = SecretType::Google
            .validate(&fields)
            .err()
            .map(|e| e.problems.into_iter().map(|p| p.field).collect())
            .unwrap_or_default();
        assert_eq!(found, vec!["type", "private_key", "client_email", "client_id", "token_uri"]);
    }

    #[test]
    fn google_private_key_must_be_a_pkcs8_block_that_parses() {
        let corrupt = RSA_A_KEY_PKCS8.replacen("MIIEvgIBADAN", "MIIEvgIBADBN", 1);
        assert!(check_google_private_key(&corrupt).is_err());
        assert!(check_google_private_key(EC_A_KEY_PKCS8).is_ok());
    }

    // --- azure, digitalocean, password ---------------------------------------------------

    #[test]
    fn azure_secret_with_uuid_ids_is_accepted() {
        assert_valid(SecretType::Azure, AZURE);
    }

    #[test]
    fn azure_ids_that_are_not_hyphenated_uuids_are_rejected() {
        let mut pairs = AZURE.to_vec();
        pairs[0].1 = "5f6c1f8e2d4b4f4e9c510b9e4c1d2a3b";
        pairs[2].1 = "tenant";
        pairs[3].1 = "11111111-2222-3333-4444-55555555555";
        assert_eq!(
            problem_fields(SecretType::Azure, &pairs),
            vec!["AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_SUBSCRIPTION_ID"]
        );
    }

    #[test]
    fn digitalocean_token_must_be_20_to_200_characters_without_whitespace() {
        let token = format!("dop_v1_{}", "0123456789abcdef".repeat(4));
        assert_valid(SecretType::Digitalocean, &[("DO_TOKEN", &token)]);
        for bad in ["short", "has a space in the middle of it", &"x".repeat(201)] {
            assert_eq!(problem_fields(SecretType::Digitalocean, &[("DO_TOKEN", bad)]), vec!["DO_TOKEN"]);
        }
    }

    #[test]
    fn password_secret_needs_a_username_and_a_password() {
        assert_valid(SecretType::Password, &[("username", "admin"), ("password", "correct horse battery staple")]);
        assert_eq!(problem_fields(SecretType::Password, &[("username", "admin")]), vec!["password"]);
    }

    // --- generic -------------------------------------------------------------------------

    #[test]
    fn generic_secret_takes_any_well_formed_field_names() {
        assert_valid(SecretType::Generic, &[("API_KEY", "x"), ("tls.crt", "y"), ("a-b_c.d", ""), ("9", "z")]);
    }

    #[test]
    fn generic_secret_needs_at_least_one_field() {
        let error = SecretType::Generic.validate(&BTreeMap::new()).err();
        assert_eq!(error.map(|e| e.to_string()).unwrap_or_default(), "a generic secret needs at least one field");
    }

    #[test]
    fn generic_field_names_outside_the_allowed_characters_or_length_are_rejected() {
        let long = "k".repeat(MAX_GENERIC_FIELD_NAME_LEN + 1);
        let longest = "k".repeat(MAX_GENERIC_FIELD_NAME_LEN);
        let found = problems(
            SecretType::Generic,
            &[("", "x"), ("with space", "x"), ("slash/name", "x"), (&long, "x"), (&longest, "x")],
        );
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(found.iter().any(|(field, _)| field.ends_with('…')));
    }

    // --- kubeconfig ----------------------------------------------------------------------

    #[test]
    fn kubeconfig_summary_uses_the_current_context_and_its_cluster() {
        let summary = parse_kubeconfig_summary(KUBECONFIG);
        assert_eq!(
            summary,
            Ok(KubeconfigSummary {
                current_context: "staging-admin".to_owned(),
                cluster: "staging".to_owned(),
                user: "admin".to_owned(),
                server: "https://staging.example.com".to_owned(),
                namespace: Some("apps".to_owned()),
            })
        );
        assert_valid(SecretType::Kubeconfig, &[("K8Sconfig", KUBECONFIG)]);
    }

    #[test]
    fn kubeconfig_without_current_context_uses_the_first_context() {
        let text = KUBECONFIG.replace("current-context: staging-admin\n", "");
        let summary = parse_kubeconfig_summary(&text);
        assert_eq!(
            summary.map(|s| (s.current_context, s.server, s.namespace)),
            Ok(("prod-admin".to_owned(), "https://10.0.0.1:6443".to_owned(), None))
        );
    }

    #[test]
    fn kubeconfig_in_json_form_is_accepted() {
        let json = r#"{"apiVersion":"v1","kind":"Config",
            "clusters":[{"name":"c","cluster":{"server":"https://k8s:443"}}],
            "users":[{"name":"u","user":{}}],
            "contexts":[{"name":"x","context":{"cluster":"c","user":"u"}}],
            "current-context":"x"}"#;
        assert_valid(SecretType::Kubeconfig, &[("K8Sconfig", json)]);
    }

    #[test]
    fn kubeconfig_without_clusters_is_rejected() {
        let text = kubeconfig("", "- name: u\n  user: {}\n", "- name: x\n  context: {cluster: c, user: u}\n", "");
        assert_eq!(
            reason_for(SecretType::Kubeconfig, &[("K8Sconfig", &text)], "K8Sconfig"),
            "does not parse as a kubeconfig: missing `clusters`"
        );
    }

    #[test]
    fn kubeconfig_with_a_context_naming_an_undefined_cluster_is_rejected() {
        let text = kubeconfig(
            "- name: c\n  cluster: {server: https://k8s}\n",
            "- name: u\n  user: {}\n",
            "- name: x\n  context: {cluster: c, user: u}\n- name: y\n  context: {cluster: gone, user: u}\n",
            "current-context: x\n",
        );
        assert_eq!(
            parse_kubeconfig_summary(&text),
            Err("does not parse as a kubeconfig: context #2 refers to a cluster that is not defined".to_owned())
        );
    }

    #[test]
    fn kubeconfig_with_a_context_naming_an_undefined_user_is_rejected() {
        let text = kubeconfig(
            "- name: c\n  cluster: {server: https://k8s}\n",
            "- name: u\n  user: {}\n",
            "- name: x\n  context: {cluster: c, user: nobody}\n",
            "",
        );
        let reason = parse_kubeconfig_summary(&text).err().unwrap_or_default();
        assert!(reason.ends_with("context #1 refers to a user that is not defined"), "{reason}");
    }

    #[test]
    fn kubeconfig_whose_current_context_is_not_defined_is_rejected() {
        let text = KUBECONFIG.replace("current-context: staging-admin", "current-context: dev");
        let reason = parse_kubeconfig_summary(&text).err().unwrap_or_default();
        assert!(reason.contains("`current-context` names a context that is not defined"));
    }

    #[test]
    fn kubeconfig_structure_problems_are_each_named() {
        let cases = [
            ("kind: Config\n", "missing `apiVersion`"),
            (&KUBECONFIG.replace("kind: Config", "kind: Pod"), "`kind` is not `Config`"),
            (
                &KUBECONFIG.replace("server: https://staging.example.com", "server: staging"),
                "cluster #2 has a `server` that is not an http(s) URL",
            ),
            (
                &KUBECONFIG
                    .replace("    server: https://staging.example.com\n", "    insecure-skip-tls-verify: true\n"),
                "cluster #2 has no `cluster.server`",
            ),
            (&KUBECONFIG.replace("- name: staging\n", "- name: prod\n"), "cluster #2 has the same name as cluster #1"),
            (&KUBECONFIG.replace("users:\n- name: admin", "users: []\nx:\n- name: admin"), "`users` is empty"),
            ("- just\n- a list\n", "the document is not a mapping"),
        ];
        for (text, expected) in cases {
            let reason = parse_kubeconfig_summary(text).err().unwrap_or_default();
            assert!(reason.ends_with(expected), "{reason} should end with {expected}");
        }
    }

    #[test]
    fn text_that_is_not_yaml_is_reported_with_its_position_only() {
        let reason = parse_kubeconfig_summary("apiVersion: v1\nkind: [Config\n").err().unwrap_or_default();
        assert!(reason.starts_with("does not parse as YAML"), "{reason}");
    }

    // --- ssh -----------------------------------------------------------------------------

    #[test]
    fn ssh_secret_with_an_openssh_key_pair_is_accepted() {
        let mut pairs = ssh(SSH_ED_PUBLIC, SSH_ED_PRIVATE);
        pairs.push(("public_key_fingerprint", SSH_ED_FINGERPRINT.to_owned()));
        pairs.push(("identifier", "deploy key".to_owned()));
        assert_valid(SecretType::Ssh, &as_pairs(&pairs));
    }

    #[test]
    fn ssh_secret_with_a_pem_rsa_private_key_and_its_public_key_is_accepted() {
        for private in [RSA_A_KEY_PKCS1, RSA_A_KEY_PKCS8] {
            assert_valid(SecretType::Ssh, &as_pairs(&ssh(RSA_A_SSH_PUBLIC, private)));
        }
    }

    #[test]
    fn ssh_public_key_whose_declared_type_differs_from_its_key_data_is_rejected() {
        let (_, rest) = SSH_EC_PUBLIC.split_once(' ').unwrap_or_default();
        let lying = format!("ssh-ed25519 {rest}");
        let pairs = ssh(&lying, SSH_ED_PRIVATE);
        assert_eq!(
            reason_for(SecretType::Ssh, &as_pairs(&pairs), "public_key_data"),
            "declares a key type that does not match the type inside the key data"
        );
    }

    #[test]
    fn ssh_public_keys_that_are_not_openssh_lines_are_rejected() {
        for bad in [
            "AAAAC3NzaC1lZDI1NTE5AAAAIMdWvJKabdfT9Djn41YK3rbLvU3AAPaw7RRKXfcy",
            "ssh-foo AAAA",
            "ssh-ed25519 not*base64",
            "ssh-ed25519 AAAA",
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAAQA=",
        ] {
            assert!(parse_ssh_public_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ssh_private_key_of_another_pair_is_rejected() {
        let pairs = ssh(RSA_A_SSH_PUBLIC, SSH_ED_PRIVATE);
        assert_eq!(
            reason_for(SecretType::Ssh, &as_pairs(&pairs), "private_key_data"),
            "does not belong to public_key_data"
        );
    }

    #[test]
    fn ssh_fingerprint_of_another_key_is_rejected() {
        let mut pairs = ssh(RSA_A_SSH_PUBLIC, RSA_A_KEY_PKCS1);
        pairs.push(("public_key_fingerprint", SSH_ED_FINGERPRINT.to_owned()));
        assert_eq!(problem_fields(SecretType::Ssh, &as_pairs(&pairs)), vec!["public_key_fingerprint"]);
    }

    #[test]
    fn ssh_fingerprints_in_sha256_and_md5_forms_are_accepted() {
        assert!(check_ssh_fingerprint(SSH_ED_FINGERPRINT).is_ok());
        assert!(check_ssh_fingerprint("MD5:4f:6c:d7:dc:5a:26:7e:b4:3b:5f:ca:99:0c:c7:39:53").is_ok());
        assert!(check_ssh_fingerprint("4f:6c:d7:dc:5a:26:7e:b4:3b:5f:ca:99:0c:c7:39:53").is_ok());
        assert!(check_ssh_fingerprint("SHA256:tooshort").is_err());
        assert!(check_ssh_fingerprint("4f:6c:d7").is_err());
    }

    #[test]
    fn ssh_private_key_with_a_passphrase_is_rejected() {
        let pairs = ssh(SSH_ED_PUBLIC, SSH_ED_PRIVATE_ENCRYPTED);
        assert_eq!(reason_for(SecretType::Ssh, &as_pairs(&pairs), "private_key_data"), ENCRYPTED_KEY);
    }

    #[test]
    fn ssh_private_key_that_is_not_pem_or_has_a_broken_body_is_rejected() {
        let broken = SSH_ED_PRIVATE.replacen("b3Bl", "b3B!", 1);
        for bad in ["just a password", broken.as_str(), ED_A_CERT] {
            let pairs = ssh(SSH_ED_PUBLIC, bad);
            assert_eq!(problem_fields(SecretType::Ssh, &as_pairs(&pairs)), vec!["private_key_data"]);
        }
    }

    // --- tls -----------------------------------------------------------------------------

    fn tls(cert: &str, key: &str) -> Vec<(String, String)> {
        problems(SecretType::Tls, &[("serverCert", cert), ("serverKey", key)])
    }

    fn mismatch() -> Vec<(String, String)> {
        vec![("serverKey".to_owned(), "serverKey does not match serverCert".to_owned())]
    }

    #[test]
    fn tls_secret_with_an_rsa_certificate_and_its_key_in_pkcs8_or_pkcs1_is_accepted() {
        assert_eq!(tls(RSA_A_CERT, RSA_A_KEY_PKCS8), vec![]);
        assert_eq!(tls(RSA_A_CERT, RSA_A_KEY_PKCS1), vec![]);
    }

    #[test]
    fn tls_secret_with_an_rsa_key_of_another_certificate_is_rejected() {
        assert_eq!(tls(RSA_A_CERT, RSA_B_KEY_PKCS8), mismatch());
    }

    #[test]
    fn tls_secret_with_an_ecdsa_certificate_and_its_key_in_sec1_or_pkcs8_is_accepted() {
        assert_eq!(tls(EC_A_CERT, EC_A_KEY_SEC1), vec![]);
        assert_eq!(tls(EC_A_CERT, EC_A_KEY_PKCS8), vec![]);
        assert_eq!(tls(EC_C_CERT, EC_C_KEY_SEC1_WITH_PARAMS), vec![]);
        assert_eq!(tls(P384_CERT, P384_KEY_PKCS8), vec![]);
    }

    #[test]
    fn tls_secret_with_an_ecdsa_key_of_another_certificate_is_rejected() {
        assert_eq!(tls(EC_A_CERT, EC_B_KEY_PKCS8), mismatch());
        assert_eq!(tls(EC_B_CERT, EC_A_KEY_SEC1), mismatch());
    }

    #[test]
    fn tls_secret_with_an_ed25519_certificate_and_its_key_is_accepted() {
        assert_eq!(tls(ED_A_CERT, ED_A_KEY_PKCS8), vec![]);
        assert_eq!(tls(ED_B_CERT, ED_B_KEY_PKCS8), vec![]);
    }

    #[test]
    fn tls_secret_with_an_ed25519_key_of_another_certificate_is_rejected() {
        assert_eq!(tls(ED_A_CERT, ED_B_KEY_PKCS8), mismatch());
    }

    #[test]
    fn tls_secret_with_a_key_of_another_algorithm_is_rejected_naming_both() {
        let found = tls(RSA_A_CERT, EC_A_KEY_SEC1);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].1,
            "serverKey does not match serverCert (the key is ECDSA P-256 but the certificate's \
             key is RSA)"
        );
        assert_eq!(tls(P384_CERT, EC_A_KEY_PKCS8).len(), 1);
    }

    #[test]
    fn tls_server_certificate_may_be_followed_by_its_chain() {
        let chain = format!("{ED_A_CERT}{EC_B_CERT}");
        assert_eq!(tls(&chain, ED_A_KEY_PKCS8), vec![]);
    }

    #[test]
    fn tls_secret_with_a_complete_matching_client_pair_and_ca_bundle_is_accepted() {
        let ca = format!("# our CA\n{RSA_A_CERT}\n{P384_CERT}");
        assert_valid(
            SecretType::Tls,
            &[
                ("caCert", &ca),
                ("serverCert", ED_A_CERT),
                ("serverKey", ED_A_KEY_PKCS8),
                ("clientCert", EC_B_CERT),
                ("clientKey", EC_B_KEY_PKCS8),
            ],
        );
    }

    #[test]
    fn tls_client_pair_given_by_half_is_rejected() {
        let base = [("serverCert", ED_A_CERT), ("serverKey", ED_A_KEY_PKCS8)];
        let mut cert_only = base.to_vec();
        cert_only.push(("clientCert", EC_B_CERT));
        assert_eq!(
            problems(SecretType::Tls, &cert_only),
            vec![("clientKey".to_owned(), "is required when `clientCert` is given".to_owned())]
        );
        let mut key_only = base.to_vec();
        key_only.push(("clientKey", EC_B_KEY_PKCS8));
        assert_eq!(problem_fields(SecretType::Tls, &key_only), vec!["clientCert"]);
    }

    #[test]
    fn tls_client_key_of_another_certificate_is_rejected() {
        let found = problems(
            SecretType::Tls,
            &[
                ("serverCert", ED_A_CERT),
                ("serverKey", ED_A_KEY_PKCS8),
                ("clientCert", EC_B_CERT),
                ("clientKey", EC_A_KEY_SEC1),
            ],
        );
        assert_eq!(found, vec![("clientKey".to_owned(), "clientKey does not match clientCert".to_owned())]);
    }

    #[test]
    fn tls_values_that_are_not_certificates_or_keys_are_rejected() {
        let garbage_body = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let cases: [(&str, &str, &[&str]); 5] = [
            ("not pem", ED_A_KEY_PKCS8, &["serverCert"]),
            (garbage_body, ED_A_KEY_PKCS8, &["serverCert"]),
            (ED_A_KEY_PKCS8, ED_A_KEY_PKCS8, &["serverCert"]),
            (ED_A_CERT, ED_A_CERT, &["serverKey"]),
            (ED_A_CERT, "-----BEGIN PRIVATE KEY-----\nAAAA\n", &["serverKey"]),
        ];
        for (cert, key, expected) in cases {
            assert_eq!(problem_fields(SecretType::Tls, &[("serverCert", cert), ("serverKey", key)]), expected.to_vec());
        }
        assert_eq!(
            problem_fields(
                SecretType::Tls,
                &[("caCert", "junk"), ("serverCert", ED_A_CERT), ("serverKey", ED_A_KEY_PKCS8)]
            ),
            vec!["caCert"]
        );
    }

    #[test]
    fn tls_key_that_is_encrypted_is_rejected() {
        let pkcs8 = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        let legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        for key in [pkcs8, legacy] {
            assert_eq!(tls(RSA_A_CERT, key), vec![("serverKey".to_owned(), ENCRYPTED_KEY.to_owned())]);
        }
    }

    #[test]
    fn tls_ec_key_whose_public_part_does_not_belong_to_its_private_part_is_rejected() {
        // EC_A's SEC1 key with the public point of EC_B spliced in.
        let a = single_key_der(EC_A_KEY_SEC1);
        let b = single_key_der(EC_B_KEY_PKCS8);
        let (point_a, point_b) = (&a[a.len() - 65..], &b[b.len() - 65..]);
        assert_eq!(point_a[0], 4);
        let mut spliced = a.clone();
        let at = spliced.len() - 65;
        spliced[at..].copy_from_slice(point_b);
        let pem =
            format!("-----BEGIN EC PRIVATE KEY-----\n{}\n-----END EC PRIVATE KEY-----\n", BASE64.encode(&spliced));
        let found = tls(EC_B_CERT, &pem);
        assert_eq!(found.len(), 1);
        assert!(found[0].1.starts_with("is not a valid EC private key"), "{found:?}");
    }

    fn single_key_der(pem: &str) -> Vec<u8> {
        parse_pem(pem)
            .ok()
            .and_then(|blocks| blocks.into_iter().last())
            .map(|block| block.der.to_vec())
            .unwrap_or_default()
    }

    // --- no value leaks into errors --------------------------------------------------------

    #[test]
    fn no_reason_ever_contains_the_value_it_is_about() {
        const MARK: &str = "S3CRETMARK";
        let yaml_with_mark = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: {MARK}\n  cluster: {{server: {MARK}}}\nusers:\n- name: {MARK}u\ncontexts:\n- name: {MARK}c\n  context: {{cluster: {MARK}x, user: {MARK}y}}\ncurrent-context: {MARK}z\n"
        );
        let dangling = yaml_with_mark.replace(&format!("server: {MARK}"), "server: https://k8s");
        let pem_with_mark = format!("{MARK}\n-----BEGIN {MARK}-----\n{MARK}\n-----END {MARK}-----\n");
        let bad_pem_label = format!("-----BEGIN {MARK}-----\nAAAA\n-----END {MARK}-----\n");
        let unterminated = format!("-----BEGIN {MARK}-----\nAAAA\n");
        let commented_cert = format!("{MARK}\n{RSA_A_CERT}");
        let (_, ec_rest) = SSH_EC_PUBLIC.split_once(' ').unwrap_or_default();
        let lying_ssh = format!("ssh-ed25519 {ec_rest} {MARK}");
        let unknown_ssh = format!("{MARK} AAAA {MARK}");
        let cases: Vec<(SecretType, Vec<(String, String)>)> = vec![
            (
                SecretType::Amazon,
                vec![
                    ("AWS_ACCESS_KEY_ID".into(), MARK.into()),
                    ("AWS_SECRET_ACCESS_KEY".into(), format!("{MARK} !")),
                    ("AWS_SESSION_TOKEN".into(), format!("{MARK} x")),
                    ("AWS_DEFAULT_REGION".into(), MARK.into()),
                    ("AWS_ROLE_ARN".into(), format!("arn:aws:iam::{MARK}:role/x")),
                    ("UNKNOWN".into(), MARK.into()),
                ],
            ),
            (SecretType::Google, GOOGLE_FIELDS.iter().map(|f| (f.name.to_owned(), format!("{MARK} {MARK}"))).collect()),
            (SecretType::Azure, AZURE_FIELDS.iter().map(|f| (f.name.to_owned(), format!("{MARK} {MARK}"))).collect()),
            (SecretType::Digitalocean, vec![("DO_TOKEN".into(), format!("{MARK} {MARK}"))]),
            (SecretType::Digitalocean, vec![("DO_TOKEN".into(), MARK.into())]),
            (SecretType::Kubeconfig, vec![("K8Sconfig".into(), yaml_with_mark.clone())]),
            (SecretType::Kubeconfig, vec![("K8Sconfig".into(), dangling)]),
            (SecretType::Kubeconfig, vec![("K8Sconfig".into(), format!("{MARK}: [{MARK}"))]),
            (SecretType::Kubeconfig, vec![("K8Sconfig".into(), format!("{MARK}: {MARK}"))]),
            (SecretType::Kubeconfig, vec![("K8Sconfig".into(), format!("apiVersion: {MARK}"))]),
            (
                SecretType::Ssh,
                vec![
                    ("user".into(), format!("{MARK} {MARK}")),
                    ("public_key_data".into(), lying_ssh),
                    ("private_key_data".into(), pem_with_mark.clone()),
                    ("public_key_fingerprint".into(), MARK.into()),
                ],
            ),
            (
                SecretType::Ssh,
                vec![
                    ("user".into(), MARK.into()),
                    ("public_key_data".into(), unknown_ssh),
                    ("private_key_data".into(), bad_pem_label.clone()),
                ],
            ),
            (
                SecretType::Tls,
                vec![
                    ("caCert".into(), pem_with_mark.clone()),
                    ("serverCert".into(), commented_cert),
                    ("serverKey".into(), format!("{MARK}\n{EC_A_KEY_SEC1}")),
                    ("clientCert".into(), bad_pem_label),
                ],
            ),
            (
                SecretType::Tls,
                vec![
                    ("serverCert".into(), unterminated),
                    ("serverKey".into(), MARK.into()),
                    ("clientKey".into(), pem_with_mark),
                ],
            ),
            (SecretType::Password, vec![("username".into(), format!("{MARK}\u{7}")), ("other".into(), MARK.into())]),
            (SecretType::Generic, vec![("bad name".into(), MARK.repeat(MAX_VALUE_LEN / MARK.len() + 1))]),
        ];
        for (ty, fields) in cases {
            let fields: BTreeMap<String, String> = fields.into_iter().collect();
            let error = ty.validate(&fields).err();
            let shown = error.as_ref().map(ToString::to_string).unwrap_or_default();
            assert!(!shown.is_empty(), "{ty}: expected problems");
            let reasons: Vec<&str> = error.iter().flat_map(|e| e.problems.iter().map(|p| p.reason.as_str())).collect();
            for reason in reasons {
                assert!(!reason.contains(MARK), "{ty}: reason leaks the value: {reason}");
            }
            let fields_shown: String = error.iter().flat_map(|e| e.problems.iter().map(|p| p.to_string())).collect();
            assert!(!fields_shown.contains(MARK), "{ty}: error leaks the value: {fields_shown}");
        }
        for json in [format!("{{\"{MARK}\": [{MARK}"), format!("\"{MARK}\""), format!("{{\"type\": [\"{MARK}\"]}}")] {
            let shown = google_fields_from_service_account_json(&json).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(!shown.is_empty() && !shown.contains(MARK), "{shown}");
        }
        let reason = parse_kubeconfig_summary(&yaml_with_mark).err().unwrap_or_default();
        assert!(!reason.is_empty() && !reason.contains(MARK), "{reason}");
    }

    // --- fixtures: test-only keys made once with openssl and ssh-keygen --------------------

    const RSA_A_CERT: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIDFzCCAf+gAwIBAgIUa2jb0por0gJvkcLaQ0WHgUuP4fQwDQYJKoZIhvcNAQEL\n\
BQAwGjEYMBYGA1UEAwwPcnNhX2EucmVlZi50ZXN0MCAXDTI2MTEyMzIwMTE1MloY\n\
DzIxMjYxMDMwMjAxMTUyWjAaMRgwFgYDVQQDDA9yc2FfYS5yZWVmLnRlc3QwggEi\n\
MA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQCgpOA4Y9A9/L73varPjPQqJMb8\n\
dFo1HdRHRZW3N4shd0KAvJfLAcQM1lu2kHTumqR25LWFfTkakcDtqicEbcWFq2UN\n\
3fzz7JV9IWejiyX6xZkRk3DrhAK6RAbQzJrynkooGiLvn4kTDUrjQYepJP2x0uNh\n\
ZgXFjBJu/mU5k1zvUeCfScBDTqVmnEpzRQVOl8sxPvZGNYxlGJ2R+dNrS4TABS57\n\
LmEf+nX2teeKgYgVx2HUfEXLGXAfu3hzzt1rXF2mT6iKHFHwrUe+eZVvtN0+Qwxa\n\
V1uFF+HW5U4ZrF76CEgLiB/YZijasC9y0CRTz4vo8lgvPFgK5zq4hgbSMlJ7AgMB\n\
AAGjUzBRMB0GA1UdDgQWBBST7qyFEEFKoR1X5qJzBCbeLR5g7zAfBgNVHSMEGDAW\n\
gBST7qyFEEFKoR1X5qJzBCbeLR5g7zAPBgNVHRMBAf8EBTADAQH/MA0GCSqGSIb3\n\
DQEBCwUAA4IBAQBzLkPjXjP/Gp0ud7OgzxZogyyd0qi6VbfebdVCjjb1qtvER7Ax\n\
itstSHIDDKXjAbL1ITqSDrvO63n3/IxyY9bBeIo4+1JwGI/SvMv8mkF6SoIrts3K\n\
MooaAIn/fd2kO1xFV5DCWTSc2wrwnRsMrmW5wmZKzBcD6+QIt4P0h5MEeBLHDQLc\n\
NMgDYq2JX2mN0Br4XrCLe07uXk8xs3/FDO1oHC6Ck7Hi9rExiB2IVOD4/6aWPbFz\n\
LHC4FHzDZyam/9gQn8cLsce8qrby5WOI/lrSPtHQCj5Qtp2qJyACNzSK+PuMzL8b\n\
SwelSj8WPC8T0c4w1jHq6XmcsbFyY95mQk8q\n\
-----END CERTIFICATE-----\n";

    const RSA_A_KEY_PKCS8: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCgpOA4Y9A9/L73\n\
varPjPQqJMb8dFo1HdRHRZW3N4shd0KAvJfLAcQM1lu2kHTumqR25LWFfTkakcDt\n\
qicEbcWFq2UN3fzz7JV9IWejiyX6xZkRk3DrhAK6RAbQzJrynkooGiLvn4kTDUrj\n\
QYepJP2x0uNhZgXFjBJu/mU5k1zvUeCfScBDTqVmnEpzRQVOl8sxPvZGNYxlGJ2R\n\
+dNrS4TABS57LmEf+nX2teeKgYgVx2HUfEXLGXAfu3hzzt1rXF2mT6iKHFHwrUe+\n\
eZVvtN0+QwxaV1uFF+HW5U4ZrF76CEgLiB/YZijasC9y0CRTz4vo8lgvPFgK5zq4\n\
hgbSMlJ7AgMBAAECggEACDPjCLFJqAcIot9m1Wo96j9hs1cnNAchGIwpDoEh8/eC\n\
LpvZDfigT7d/JcQcJ5xyp8+BC7i1Lb7uujP+ztV8Fhmf81e4DtlJvzXxdALEhOWK\n\
FCer+gEOBczR1d+P5rH5pcqP3IR2go6IzTBCnEegD9bUEKkdw+4leTcFz2BpVZ7x\n\
brNuRBgJjJ9BzNWidkJGR8KdY5fNWESofYZXH2RrSXCAvDvOCJon+1y73rv6yd9f\n\
RCtkPz1x5qMGkQn5FXdbpFtwcL9G8A3mfac80fiCBgmmyesR1egASD5kzaiEMVGP\n\
Ty9rIh+DlDM63gGyqKbtBJFpTm3QKOMpV/uxyY2ZQQKBgQDipo6ocd4Y2/5OPhNA\n\
CTgIhHjHh8olxkfMU1ziMjuODv+0NTi5m8BU+NYEqBlZ2gAjlu6g/7LoG0BH87yQ\n\
e7pordg9XBBCxseBN4PsdXzNO9f7onHAZEZpIICmt6UW/6T4Je1y5h1TE2Bc8Unb\n\
2bbQzyIiC0cjDrTH85UNUdlGuQKBgQC1cjVL/zmG3FGbE4QzIiCu378eLF2+IZHI\n\
0MmB83OjIjJLF8X9WV9a5KqjxD8utC1cM82BODUOORqGDZYGO02pKlqIS/7dNt57\n\
SQPqAHtxvB/Jg6xnGDts0igrU4ujRUkCXE6r2WsZbTGpKZkU80Yi0AD3i4O6QYcK\n\
LrzxBYFI0wKBgQCcUkYYVZjaSnkmW9gJFZKpBT0MWVKKJSyF94UbmYvL2fpwvzhl\n\
g8/ui0WJJqt9dkccRNBHCLTLM2htd+U5Paz+39BB2cp5VAJr0+9QWmP+ZWT88DhG\n\
eqK5hSpWUlkx+JY+dGJGGgJltvqCgATx9kIJ2KLxGhgxTMZRFmZaLnaOOQKBgCFF\n\
NNKflPvOkEQgOwBpRJbsPg4ZUoMXgrTQ2/IxIsYJ8jDkxhAjgCGZhlSLGo7EyQB8\n\
GzWTid72x49HFHhGDYJ0Wq9dR/lmIzt18vrIZdpABZAczdMFlXfpvSXcpuEkRjPh\n\
mydVsZay+AUttH0r8nNVsqexdFEFzO4oDcsgGEmzAoGBAKWDE3fSg6LWC6g5kZNw\n\
aNBZoI7rjSPW6eZkdIpVTzpaH1HFdWwV8Yfgys+cSD9cVVt4vM3ghUJxIVdmt1KF\n\
g2oBTYFhYmQOxRMz1VSmDpxD47Ubtc5JlpAw5d21LO0/AUk9ymKxg/TbQn1TEYSz\n\
oZOOn0xLhLOLKn4xzQqel+aq\n\
-----END PRIVATE KEY-----\n";

    const RSA_A_KEY_PKCS1: &str = "\
-----BEGIN RSA PRIVATE KEY-----\n\
MIIEpAIBAAKCAQEAoKTgOGPQPfy+972qz4z0KiTG/HRaNR3UR0WVtzeLIXdCgLyX\n\
ywHEDNZbtpB07pqkduS1hX05GpHA7aonBG3FhatlDd388+yVfSFno4sl+sWZEZNw\n\
64QCukQG0Mya8p5KKBoi75+JEw1K40GHqST9sdLjYWYFxYwSbv5lOZNc71Hgn0nA\n\
Q06lZpxKc0UFTpfLMT72RjWMZRidkfnTa0uEwAUuey5hH/p19rXnioGIFcdh1HxF\n\
yxlwH7t4c87da1xdpk+oihxR8K1HvnmVb7TdPkMMWldbhRfh1uVOGaxe+ghIC4gf\n\
2GYo2rAvctAkU8+L6PJYLzxYCuc6uIYG0jJSewIDAQABAoIBAAgz4wixSagHCKLf\n\
ZtVqPeo/YbNXJzQHIRiMKQ6BIfP3gi6b2Q34oE+3fyXEHCeccqfPgQu4tS2+7roz\n\
/s7VfBYZn/NXuA7ZSb818XQCxITlihQnq/oBDgXM0dXfj+ax+aXKj9yEdoKOiM0w\n\
QpxHoA/W1BCpHcPuJXk3Bc9gaVWe8W6zbkQYCYyfQczVonZCRkfCnWOXzVhEqH2G\n\
Vx9ka0lwgLw7zgiaJ/tcu967+snfX0QrZD89ceajBpEJ+RV3W6RbcHC/RvAN5n2n\n\
PNH4ggYJpsnrEdXoAEg+ZM2ohDFRj08vayIfg5QzOt4Bsqim7QSRaU5t0CjjKVf7\n\
scmNmUECgYEA4qaOqHHeGNv+Tj4TQAk4CIR4x4fKJcZHzFNc4jI7jg7/tDU4uZvA\n\
VPjWBKgZWdoAI5buoP+y6BtAR/O8kHu6aK3YPVwQQsbHgTeD7HV8zTvX+6JxwGRG\n\
aSCAprelFv+k+CXtcuYdUxNgXPFJ29m20M8iIgtHIw60x/OVDVHZRrkCgYEAtXI1\n\
S/85htxRmxOEMyIgrt+/HixdviGRyNDJgfNzoyIySxfF/VlfWuSqo8Q/LrQtXDPN\n\
gTg1Djkahg2WBjtNqSpaiEv+3Tbee0kD6gB7cbwfyYOsZxg7bNIoK1OLo0VJAlxO\n\
q9lrGW0xqSmZFPNGItAA94uDukGHCi688QWBSNMCgYEAnFJGGFWY2kp5JlvYCRWS\n\
qQU9DFlSiiUshfeFG5mLy9n6cL84ZYPP7otFiSarfXZHHETQRwi0yzNobXflOT2s\n\
/t/QQdnKeVQCa9PvUFpj/mVk/PA4RnqiuYUqVlJZMfiWPnRiRhoCZbb6goAE8fZC\n\
Cdii8RoYMUzGURZmWi52jjkCgYAhRTTSn5T7zpBEIDsAaUSW7D4OGVKDF4K00Nvy\n\
MSLGCfIw5MYQI4AhmYZUixqOxMkAfBs1k4ne9sePRxR4Rg2CdFqvXUf5ZiM7dfL6\n\
yGXaQAWQHM3TBZV36b0l3KbhJEYz4ZsnVbGWsvgFLbR9K/JzVbKnsXRRBczuKA3L\n\
IBhJswKBgQClgxN30oOi1guoOZGTcGjQWaCO640j1unmZHSKVU86Wh9RxXVsFfGH\n\
4MrPnEg/XFVbeLzN4IVCcSFXZrdShYNqAU2BYWJkDsUTM9VUpg6cQ+O1G7XOSZaQ\n\
MOXdtSztPwFJPcpisYP020J9UxGEs6GTjp9MS4Sziyp+Mc0Knpfmqg==\n\
-----END RSA PRIVATE KEY-----\n";

    const RSA_B_KEY_PKCS8: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIICdQIBADANBgkqhkiG9w0BAQEFAASCAl8wggJbAgEAAoGBAKhFdLFJq0xF1jNo\n\
WAP3vWmJEWjiBGFOM8m6cVoevGYGtn9+jWm3UW/U0rjiLQUv8LckdRAiI0CgbCy8\n\
4RQzkmW1rYl9pJdugbi2nqqRXI8JlT9XlIZ0dHgechYJ8Zc4psQAV8dPpMNIYr1A\n\
YRvHKwPiRC8y8PmF0MFC++Tq8SMlAgMBAAECgYAWUpB2bGVzCtitnSv/6r+P3oUW\n\
utUF64/nNPqQj/9CMaXIKAuueIkvIraJnEeIpqFySj3VVBIFIsL29F+PhH/pEymn\n\
PTA1qglTuQzF5puZNo4WVdc2ZBEghkqrd/Tehp1QsW3dN1zYPqPIvOJNaEB8rlh3\n\
i0V5VLj1bJrTkQGaQQJBANSIEzsuzFaTaojli29B+Ceovk/zcJhF9Y70/SWHLRNp\n\
QuUFYH740rCGASS0n+PWF/Q9YDr6uw/yjT5puKEojGkCQQDKr/ZSuvcjCDl/J7D3\n\
TgG05IcJ8HbB3xt1ipci8rvIqwDg8b3/MaJmoNxcXVNaxCO7726SSSUhpSIgtq41\n\
BPldAkA4dz7ExpY7mkb/wBzfnmNUBh0qGL+ddVjcdnKbeeKb+adwOZF9qpYvmCrN\n\
mb+xRLxwg64BfYQdpI+qOWR4TNGhAkBkgQZilYUQYPapv5O3vX2JJjxzyEIK9keW\n\
bEdvM++7nFfOMvDkhschnqhGQJyhiFqzyREKBq0b1tdqY0tUzQedAkBmOPbb1B9J\n\
tf0dSW6V0ulIQUzMPShdkMKLpuFSqftZb2q8AjYva1i948Ngbn6Nxt8vvy6Leztv\n\
PeAbYwPgATgG\n\
-----END PRIVATE KEY-----\n";

    const EC_A_CERT: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIBiTCCAS+gAwIBAgIUFn+EJ8HehnezO7A7pwiA6qlRkDgwCgYIKoZIzj0EAwIw\n\
GTEXMBUGA1UEAwwOZWNfYS5yZWVmLnRlc3QwIBcNMjYxMTIzMjAxMTUyWhgPMjEy\n\
NjEwMzAyMDExNTJaMBkxFzAVBgNVBAMMDmVjX2EucmVlZi50ZXN0MFkwEwYHKoZI\n\
zj0CAQYIKoZIzj0DAQcDQgAEH5egldNstXPfcGTBpWZ+02KDLtJEp88XOodCZM13\n\
/h4tJ9h74L6C7q07+MKV02/MRU9KmXsfE309ezjXL/att6NTMFEwHQYDVR0OBBYE\n\
FLm/UTSWFFFdJf1E9zjez0RqbkPLMB8GA1UdIwQYMBaAFLm/UTSWFFFdJf1E9zje\n\
z0RqbkPLMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIgDA2pvBQl\n\
gPqv9iGh4nkoAK765awozP+nP6r7fkMIMoECIQD0RqbEiiuBji+mYZejDncrTnNy\n\
q42KPs0lRCslsUXAnw==\n\
-----END CERTIFICATE-----\n";

    const EC_A_KEY_SEC1: &str = "\
-----BEGIN EC PRIVATE KEY-----\n\
MHcCAQEEIEWbKD/+VK+Kz92TXwAavZ4lqdFkmH32ard6jqvVbrdroAoGCCqGSM49\n\
AwEHoUQDQgAEH5egldNstXPfcGTBpWZ+02KDLtJEp88XOodCZM13/h4tJ9h74L6C\n\
7q07+MKV02/MRU9KmXsfE309ezjXL/attw==\n\
-----END EC PRIVATE KEY-----\n";

    const EC_A_KEY_PKCS8: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgRZsoP/5Ur4rP3ZNf\n\
ABq9niWp0WSYffZqt3qOq9Vut2uhRANCAAQfl6CV02y1c99wZMGlZn7TYoMu0kSn\n\
zxc6h0JkzXf+Hi0n2HvgvoLurTv4wpXTb8xFT0qZex8TfT17ONcv9q23\n\
-----END PRIVATE KEY-----\n";

    const EC_B_CERT: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIBiTCCAS+gAwIBAgIUOTTqJTF4jAMWMDxfrckIBzi4NxIwCgYIKoZIzj0EAwIw\n\
GTEXMBUGA1UEAwwOZWNfYi5yZWVmLnRlc3QwIBcNMjYxMTIzMjAxMTUyWhgPMjEy\n\
NjEwMzAyMDExNTJaMBkxFzAVBgNVBAMMDmVjX2IucmVlZi50ZXN0MFkwEwYHKoZI\n\
zj0CAQYIKoZIzj0DAQcDQgAEZsmFf7igVUDRcDp8yPkgnculc9pwKbqEMcQnaCWH\n\
R8BJMhAEukZqT2DsVOWK4HB1q0ikGqGeEX64YLEICGfSDaNTMFEwHQYDVR0OBBYE\n\
FBmfNS1S56Nw/IDgge56Au0xX/ncMB8GA1UdIwQYMBaAFBmfNS1S56Nw/IDgge56\n\
Au0xX/ncMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIhAIyReXxj\n\
k+nLZRDrIgckQRyKCyzGXLfgziBcT/6gtadiAiBdZE6P3wFWnymYThlj1HM7Vqpz\n\
Cj2e13PviR4lyYBMIA==\n\
-----END CERTIFICATE-----\n";

    const EC_B_KEY_PKCS8: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgPe+GuoeRq0dRIJXR\n\
VP84V0V7zUT/5tdXLL1zuWpGxJChRANCAARmyYV/uKBVQNFwOnzI+SCdy6Vz2nAp\n\
uoQxxCdoJYdHwEkyEAS6RmpPYOxU5YrgcHWrSKQaoZ4RfrhgsQgIZ9IN\n\
-----END PRIVATE KEY-----\n";

    const EC_C_CERT: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIBiDCCAS+gAwIBAgIUR+Ah2QWilpF2/ybhYgP0O3DZdKYwCgYIKoZIzj0EAwIw\n\
GTEXMBUGA1UEAwwOZWNfYy5yZWVmLnRlc3QwIBcNMjYxMTIzMjAxMTU3WhgPMjEy\n\
NjEwMzAyMDExNTdaMBkxFzAVBgNVBAMMDmVjX2MucmVlZi50ZXN0MFkwEwYHKoZI\n\
zj0CAQYIKoZIzj0DAQcDQgAEpuoeigy+qx5EHQ7NxRdL/pTd1yQqkUvINYECV2Lu\n\
FVqlgYZ6TVQN0TrFWk2p0mTZ0RfzMZFG4IlnG6+4JeC0IKNTMFEwHQYDVR0OBBYE\n\
FHHIohG7LMdgOeZlMbT9fvSX4urBMB8GA1UdIwQYMBaAFHHIohG7LMdgOeZlMbT9\n\
fvSX4urBMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDRwAwRAIgCXlawzSa\n\
5Eexk2tyEgHSR99/c8yIR2upPJITruxr1QoCIGZsEtBQxyg3u+Af2fTfDSeRpKFq\n\
kT0utEto9TSdSDa4\n\
-----END CERTIFICATE-----\n";

    const EC_C_KEY_SEC1_WITH_PARAMS: &str = "\
-----BEGIN EC PARAMETERS-----\n\
BggqhkjOPQMBBw==\n\
-----END EC PARAMETERS-----\n\
-----BEGIN EC PRIVATE KEY-----\n\
MHcCAQEEIAyLgAVmKgHvVqDkJ9NUOC1Wnslt9+5IjY0Dqc919qU6oAoGCCqGSM49\n\
AwEHoUQDQgAEpuoeigy+qx5EHQ7NxRdL/pTd1yQqkUvINYECV2LuFVqlgYZ6TVQN\n\
0TrFWk2p0mTZ0RfzMZFG4IlnG6+4JeC0IA==\n\
-----END EC PRIVATE KEY-----\n";

    const P384_CERT: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIBxjCCAUygAwIBAgIUGTMRn0cOS+7vTB+tqvIAqgOdWtQwCgYIKoZIzj0EAwIw\n\
GTEXMBUGA1UEAwwOcDM4NC5yZWVmLnRlc3QwIBcNMjYxMTIzMjAxMTUyWhgPMjEy\n\
NjEwMzAyMDExNTJaMBkxFzAVBgNVBAMMDnAzODQucmVlZi50ZXN0MHYwEAYHKoZI\n\
zj0CAQYFK4EEACIDYgAEwAuVXTLZtKiw8UvPpoHh5IdMdoNhBskULKvA+vwi+3qY\n\
qMmVh/Y6+zRnWo4+gl3m1aixykCuM2+RKHxdgj3ku4DFPl6etXMLTk2u0qqAQQBy\n\
+csWX6J6Arne8huCuh1Fo1MwUTAdBgNVHQ4EFgQUeAVE4DLe4xlFkjjyirFPlYq4\n\
qZUwHwYDVR0jBBgwFoAUeAVE4DLe4xlFkjjyirFPlYq4qZUwDwYDVR0TAQH/BAUw\n\
AwEB/zAKBggqhkjOPQQDAgNoADBlAjEAgn4gJU9zbfKRs5CLw8dc+BUQOe8E42I9\n\
0ijHnLiAVsQl8owwy/3yOuOWDr5SdkbRAjA9HxzE2zcF487ITpz1XVoS40XTSWWa\n\
KJtXu+M8kDqzeiHvvDQE4hAjEARRSeYrQMg=\n\
-----END CERTIFICATE-----\n";

    const P384_KEY_PKCS8: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDAYJlz2dlzzOwDQHVhb\n\
xXh+b0Hj4tOWd4XCBUuS6cNEbwQoRD+Jg3LPpS2j0apUt0ehZANiAATAC5VdMtm0\n\
qLDxS8+mgeHkh0x2g2EGyRQsq8D6/CL7epioyZWH9jr7NGdajj6CXebVqLHKQK4z\n\
b5EofF2CPeS7gMU+Xp61cwtOTa7SqoBBAHL5yxZfonoCud7yG4K6HUU=\n\
-----END PRIVATE KEY-----\n";

    const ED_A_CERT: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIBSDCB+6ADAgECAhR8ub03cOQut2bnMKNPqPtzsqyPDzAFBgMrZXAwGTEXMBUG\n\
A1UEAwwOZWRfYS5yZWVmLnRlc3QwIBcNMjYxMTIzMjAxMTUyWhgPMjEyNjEwMzAy\n\
MDExNTJaMBkxFzAVBgNVBAMMDmVkX2EucmVlZi50ZXN0MCowBQYDK2VwAyEAkr9B\n\
zTyXS1CLPDdC2MNLGpuPdwdUswEHqqFaww81LCGjUzBRMB0GA1UdDgQWBBS7U27m\n\
CcqLSJGfQCXLVKZ2d4u3hDAfBgNVHSMEGDAWgBS7U27mCcqLSJGfQCXLVKZ2d4u3\n\
hDAPBgNVHRMBAf8EBTADAQH/MAUGAytlcANBAIWmDh8uWY5cZAi+dmF1SHU7pUHM\n\
cBmG8wF/kXVHUL2C7iEW3Xp8sGUNTi9d6Sdh1TsM6I6mVrgqgb56NA8FfAY=\n\
-----END CERTIFICATE-----\n";

    const ED_A_KEY_PKCS8: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MC4CAQAwBQYDK2VwBCIEIHmcwpWeaUeqENYbhcLAPDf/JDOscGhWfRf9ryqShBOc\n\
-----END PRIVATE KEY-----\n";

    const ED_B_CERT: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIBSDCB+6ADAgECAhQSw9Te1hDTSSKTcvsDSn8ccroxpDAFBgMrZXAwGTEXMBUG\n\
A1UEAwwOZWRfYi5yZWVmLnRlc3QwIBcNMjYxMTIzMjAxMTUyWhgPMjEyNjEwMzAy\n\
MDExNTJaMBkxFzAVBgNVBAMMDmVkX2IucmVlZi50ZXN0MCowBQYDK2VwAyEAhNae\n\
TNWPqFoAE0T48Lg43TWXSUy7J0cdg/ehfXFqmqCjUzBRMB0GA1UdDgQWBBRduSjO\n\
XvfadRS+fVPK6m7qa5vkajAfBgNVHSMEGDAWgBRduSjOXvfadRS+fVPK6m7qa5vk\n\
ajAPBgNVHRMBAf8EBTADAQH/MAUGAytlcANBACzHhQnWA/6CoFuR5iXwZpRRkhSC\n\
qq0PHpL4cjsdTls06ResiobeqgP/tK7e1hZ0NH8i3GJHh5HfyXj+6crdcw0=\n\
-----END CERTIFICATE-----\n";

    const ED_B_KEY_PKCS8: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MC4CAQAwBQYDK2VwBCIEIFsesiaVMB2ApCGwM/ZTjoQaFHyBzcSQ+3rU5HhFzMlM\n\
-----END PRIVATE KEY-----\n";

    const SSH_ED_PRIVATE: &str = "\
-----BEGIN OPENSSH PRIVATE KEY-----\n\
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n\
QyNTUxOQAAACDHVrySmm3X0/Q45+NWCt62y71NwAD2sO0USl33Mv3nJAAAAJCfxcbpn8XG\n\
6QAAAAtzc2gtZWQyNTUxOQAAACDHVrySmm3X0/Q45+NWCt62y71NwAD2sO0USl33Mv3nJA\n\
AAAEAsKTt9/8MLAk9OjLmdiJ9Ndt3OvX7BZMbOtytW+DLE4MdWvJKabdfT9Djn41YK3rbL\n\
vU3AAPaw7RRKXfcy/eckAAAACXJlZWYtdGVzdAECAwQ=\n\
-----END OPENSSH PRIVATE KEY-----\n";

    const SSH_ED_PRIVATE_ENCRYPTED: &str = "\
-----BEGIN OPENSSH PRIVATE KEY-----\n\
b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABBQ7mJVUl\n\
6frlXG95cWT2DqAAAAEAAAAAEAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIMdWvJKabdfT9Djn\n\
41YK3rbLvU3AAPaw7RRKXfcy/eckAAAAkApLY0YJdX8+NbN8rviqrwfQqlHS6nc5XWl/a5\n\
W5hTbf/3EiEi2HttZzI2gZok/zguR8y7fbVnQIimpcBVHcz3q+SkA65rdxsteAf/G76kuH\n\
yj84F52c2WvUVjh14YD3F0ZpX+PxDKrKUjk0KsvWEVA4lbHF8OjR564pBAz00LUF17s/Yi\n\
wDephWn+9SUl4J8Q==\n\
-----END OPENSSH PRIVATE KEY-----\n";

    const SSH_ED_PUBLIC: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMdWvJKabdfT9Djn41YK3rbLvU3AAPaw7RRKXfcy/eck reef-test";
    const SSH_ED_FINGERPRINT: &str = "SHA256:d3KRnkfEopffmQbH2/Ulobbnhyo55tj2XRolnxQEp4s";
    const SSH_EC_PUBLIC: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBKS1vKXCD/ExJUtZKIgUpS1N6q0LdTpLDHwF4eoI3A/r6RTA42vv63gd9JJ35kEjQhkDUc6TSMNSJt8BkV2LQ2A= reef-test";
    const RSA_A_SSH_PUBLIC: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCgpOA4Y9A9/L73varPjPQqJMb8dFo1HdRHRZW3N4shd0KAvJfLAcQM1lu2kHTumqR25LWFfTkakcDtqicEbcWFq2UN3fzz7JV9IWejiyX6xZkRk3DrhAK6RAbQzJrynkooGiLvn4kTDUrjQYepJP2x0uNhZgXFjBJu/mU5k1zvUeCfScBDTqVmnEpzRQVOl8sxPvZGNYxlGJ2R+dNrS4TABS57LmEf+nX2teeKgYgVx2HUfEXLGXAfu3hzzt1rXF2mT6iKHFHwrUe+eZVvtN0+QwxaV1uFF+HW5U4ZrF76CEgLiB/YZijasC9y0CRTz4vo8lgvPFgK5zq4hgbSMlJ7";
}
