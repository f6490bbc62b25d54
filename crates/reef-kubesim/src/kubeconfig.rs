//! A kubeconfig for a simulated cluster: what `kubectl --kubeconfig`, helm and kube-rs read.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

/// A kubeconfig (YAML) with one cluster (`server_url`, trusting `ca_pem`), one user
/// authenticating with the bearer `token`, and one context, all named `cluster_name`; the
/// context is the current one.
pub fn kubeconfig(cluster_name: &str, server_url: &str, ca_pem: &str, token: &str) -> String {
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{
            "name": cluster_name,
            "cluster": {
                "server": server_url,
                "certificate-authority-data": STANDARD.encode(ca_pem.as_bytes()),
            },
        }],
        "users": [{
            "name": cluster_name,
            "user": {"token": token},
        }],
        "contexts": [{
            "name": cluster_name,
            "context": {"cluster": cluster_name, "user": cluster_name, "namespace": "default"},
        }],
        "current-context": cluster_name,
    });
    // Serializing a JSON value to YAML cannot fail; fall back to JSON, which is YAML too.
    yaml_serde::to_string(&config).unwrap_or_else(|_| config.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kubeconfig_names_one_cluster_user_and_current_context() {
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let text = kubeconfig("sim", "https://127.0.0.1:6443", pem, "tok");
        let v: serde_json::Value = yaml_serde::from_str(&text).unwrap();
        assert_eq!(v["apiVersion"], "v1");
        assert_eq!(v["kind"], "Config");
        assert_eq!(v["current-context"], "sim");
        assert_eq!(v["clusters"][0]["cluster"]["server"], "https://127.0.0.1:6443");
        let ca = v["clusters"][0]["cluster"]["certificate-authority-data"].as_str().unwrap();
        assert_eq!(STANDARD.decode(ca).unwrap(), pem.as_bytes());
        assert_eq!(v["users"][0]["user"]["token"], "tok");
        assert_eq!(v["contexts"][0]["context"]["cluster"], "sim");
        assert_eq!(v["contexts"][0]["context"]["user"], "sim");
    }
}
