//! Encryption of secret values at rest: AES-256-GCM under a master key kept in a file
//! outside the database.
//!
//! Each sealed value carries the id of the key that sealed it (so keys can be rotated later)
//! and is bound, as associated data, to the organization, secret and version it belongs to:
//! ciphertext copied to another row does not open.

use std::fs;
use std::io::Write as _;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore as _;
use sha2::{Digest, Sha256};
use thiserror::Error;
use zeroize::Zeroizing;

const FORMAT: &str = "v1";

/// A failure to read a master key or to seal or open a value. Never carries key material or
/// plaintext.
#[derive(Debug, Error)]
pub enum CryptoError {
    /// The master key file could not be read or created.
    #[error("reading or creating the master key file {path} failed")]
    KeyFile {
        /// The key file.
        path: String,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// The master key file does not hold a base64-encoded 32-byte key.
    #[error("the master key file {path} does not hold a base64-encoded 32-byte key")]
    MalformedKey {
        /// The key file.
        path: String,
    },
    /// A value was sealed under a key this server does not have.
    #[error("the secret was encrypted with key {key_id}, which this server does not have")]
    UnknownKey {
        /// The key id recorded with the value.
        key_id: String,
    },
    /// A sealed value is malformed or fails authentication.
    #[error("a sealed secret value is corrupt or does not belong where it was found")]
    Corrupt,
}

/// Seals and opens secret values.
#[derive(Clone)]
pub struct SecretCipher {
    key_id: String,
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretCipher").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

impl SecretCipher {
    /// A cipher under the given 32-byte key.
    pub fn new(key: &[u8; 32]) -> Self {
        let key_id = hex_prefix(&Sha256::digest(key));
        SecretCipher { key_id, cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)) }
    }

    /// Reads the master key from `path`, or creates the file with a new random key, readable
    /// only by its owner (mode 0600), if it does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self, CryptoError> {
        let shown = path.display().to_string();
        let io_err = |source| CryptoError::KeyFile { path: shown.clone(), source };
        match fs::read_to_string(path) {
            Ok(text) => {
                let bytes = Zeroizing::new(
                    STANDARD.decode(text.trim()).map_err(|_| CryptoError::MalformedKey { path: shown.clone() })?,
                );
                let key: [u8; 32] =
                    bytes.as_slice().try_into().map_err(|_| CryptoError::MalformedKey { path: shown.clone() })?;
                let key = Zeroizing::new(key);
                Ok(SecretCipher::new(&key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = Zeroizing::new([0u8; 32]);
                rand::rng().fill_bytes(key.as_mut());
                let encoded = Zeroizing::new(STANDARD.encode(key.as_ref()));
                let mut options = fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options.open(path).map_err(io_err)?;
                file.write_all(encoded.as_bytes()).map_err(io_err)?;
                file.write_all(b"\n").map_err(io_err)?;
                file.sync_all().map_err(io_err)?;
                Ok(SecretCipher::new(&key))
            }
            Err(e) => Err(io_err(e)),
        }
    }

    /// The id of the key this cipher seals with: a hash prefix, safe to show.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Encrypts `plaintext`, bound to `context` (which must be given again to open it).
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Result<String, CryptoError> {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let aad = aad(&self.key_id, context);
        let ciphertext = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: aad.as_bytes() })
            .map_err(|_| CryptoError::Corrupt)?;
        let mut body = Vec::with_capacity(nonce.len() + ciphertext.len());
        body.extend_from_slice(&nonce);
        body.extend_from_slice(&ciphertext);
        Ok(format!("{FORMAT}.{}.{}", self.key_id, STANDARD.encode(body)))
    }

    /// Decrypts a value sealed by [`SecretCipher::seal`] with the same `context`.
    pub fn open(&self, sealed: &str, context: &str) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some(FORMAT), Some(key_id), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(CryptoError::Corrupt);
        };
        if key_id != self.key_id {
            return Err(CryptoError::UnknownKey { key_id: key_id.to_owned() });
        }
        let body = STANDARD.decode(body).map_err(|_| CryptoError::Corrupt)?;
        if body.len() < 12 {
            return Err(CryptoError::Corrupt);
        }
        let (nonce, ciphertext) = body.split_at(12);
        let aad = aad(key_id, context);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: aad.as_bytes() })
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::Corrupt)
    }
}

fn aad(key_id: &str, context: &str) -> String {
    format!("reef/{FORMAT}/{key_id}/{context}")
}

fn hex_prefix(digest: &[u8]) -> String {
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher() -> SecretCipher {
        SecretCipher::new(&[7u8; 32])
    }

    #[test]
    fn a_sealed_value_opens_with_the_same_context() {
        let sealed = cipher().seal(b"hunter2", "org/secret/1").unwrap();
        assert!(!sealed.contains("hunter2"));
        assert_eq!(cipher().open(&sealed, "org/secret/1").unwrap().as_slice(), b"hunter2");
    }

    #[test]
    fn a_sealed_value_does_not_open_in_another_context() {
        let sealed = cipher().seal(b"hunter2", "org/secret/1").unwrap();
        assert!(matches!(cipher().open(&sealed, "org/secret/2"), Err(CryptoError::Corrupt)));
    }

    #[test]
    fn a_value_sealed_under_another_key_names_that_key() {
        let sealed = SecretCipher::new(&[9u8; 32]).seal(b"x", "c").unwrap();
        assert!(matches!(cipher().open(&sealed, "c"), Err(CryptoError::UnknownKey { .. })));
    }

    #[test]
    fn the_key_file_is_created_once_with_owner_only_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let first = SecretCipher::load_or_create(&path).unwrap();
        let second = SecretCipher::load_or_create(&path).unwrap();
        assert_eq!(first.key_id(), second.key_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn a_malformed_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        fs::write(&path, "not a key").unwrap();
        assert!(matches!(SecretCipher::load_or_create(&path), Err(CryptoError::MalformedKey { .. })));
    }
}
