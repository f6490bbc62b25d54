//! The simulated cluster's certificates: a cluster CA (self-signed, ECDSA P-256, CN
//! `reef-kubesim-ca`), and a serving certificate for `127.0.0.1` and `localhost` signed by it.
//! Clients trust the CA through the kubeconfig's `certificate-authority-data`, as with a real
//! cluster.

use std::sync::Arc;

use chrono::Datelike as _;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A cluster CA and the API server's serving certificate, signed by it. Serializable, so that
/// a cluster that keeps its state keeps its certificates too (its kubeconfigs stay valid).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ClusterTls {
    ca_pem: String,
    cert_pem: String,
    #[serde(with = "der")]
    cert_der: CertificateDer<'static>,
    #[serde(with = "der")]
    ca_der: CertificateDer<'static>,
    #[serde(with = "bytes")]
    key_der: Vec<u8>,
}

/// DER certificates as base64 text.
mod der {
    use base64::Engine as _;
    use rustls::pki_types::CertificateDer;

    pub fn serialize<S: serde::Serializer>(v: &CertificateDer<'static>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(v.as_ref()))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<CertificateDer<'static>, D::Error> {
        super::bytes::deserialize(d).map(CertificateDer::from)
    }
}

/// Bytes as base64 text.
mod bytes {
    use base64::Engine as _;
    use serde::Deserialize as _;

    pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(v))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

fn err(e: rcgen::Error) -> std::io::Error {
    std::io::Error::other(format!("generating the cluster certificates: {e}"))
}

fn validity(params: &mut CertificateParams, years: i32) {
    let now = chrono::Utc::now();
    let (y, m, d) = (now.year(), now.month() as u8, now.day().min(28) as u8);
    params.not_before = rcgen::date_time_ymd(y - 1, m, d);
    params.not_after = rcgen::date_time_ymd(y + years, m, d);
}

impl ClusterTls {
    /// Generates a fresh CA and a serving certificate for `127.0.0.1` and `localhost`.
    pub fn generate() -> std::io::Result<ClusterTls> {
        let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(err)?;
        let mut ca_params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "reef-kubesim-ca");
        ca_params.distinguished_name = dn;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        validity(&mut ca_params, 10);
        let ca_cert = ca_params.self_signed(&ca_key).map_err(err)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(err)?;
        let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned(), "::1".to_owned()])
            .map_err(err)?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "kube-apiserver");
        params.distinguished_name = dn;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        validity(&mut params, 1);
        let cert = params.signed_by(&key, &issuer).map_err(err)?;

        Ok(ClusterTls {
            ca_pem: ca_cert.pem(),
            cert_pem: cert.pem(),
            cert_der: cert.der().clone(),
            ca_der: ca_cert.der().clone(),
            key_der: key.serialize_der(),
        })
    }

    /// The CA certificate, PEM: what clients trust (`certificate-authority-data`).
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The CA certificate, DER.
    pub fn ca_der(&self) -> &CertificateDer<'static> {
        &self.ca_der
    }

    /// The serving certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// A rustls server configuration serving the certificate (with the CA in the chain),
    /// offering HTTP/2 and HTTP/1.1 by ALPN, as kube-apiserver does.
    pub fn server_config(&self) -> std::io::Result<Arc<rustls::ServerConfig>> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()));
        let mut config =
            rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(std::io::Error::other)?
                .with_no_client_auth()
                .with_single_cert(vec![self.cert_der.clone(), self.ca_der.clone()], key)
                .map_err(std::io::Error::other)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

#[cfg(test)]
mod tests {
    use rustls::client::danger::ServerCertVerifier as _;

    use super::*;

    #[test]
    fn the_ca_and_serving_certificate_are_pem_and_make_a_server_config() {
        let tls = ClusterTls::generate().unwrap();
        assert!(tls.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(tls.cert_pem().starts_with("-----BEGIN CERTIFICATE-----"));
        assert_ne!(tls.ca_pem(), tls.cert_pem());
        let config = tls.server_config().unwrap();
        assert_eq!(config.alpn_protocols[0], b"h2");
    }

    #[test]
    fn a_client_trusting_the_ca_accepts_the_serving_certificate() {
        let tls = ClusterTls::generate().unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(tls.ca_der().clone()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier =
            rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider).build().unwrap();
        for name in ["127.0.0.1", "localhost"] {
            let server_name = rustls::pki_types::ServerName::try_from(name).unwrap();
            verifier
                .verify_server_cert(&tls.cert_der, &[], &server_name, &[], rustls::pki_types::UnixTime::now())
                .unwrap();
        }
    }
}
