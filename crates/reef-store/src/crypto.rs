//! Encryption of secret values at rest: AES-256-GCM under a master key kept in a file
//! outside the database.
//!
//! Each sealed value carries the id of the key that sealed it, so master keys can be rotated:
//! a new key seals, older keys still open what they sealed until it is sealed again, and is bound, as associated data, to the organization, secret and version it belongs to:
//! ciphertext copied to another row does not open.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

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
    /// The key asked to be retired is the one that seals new values.
    #[error("key {key_id} seals new values and cannot be retired; rotate first")]
    SealingKey {
        /// The key's id.
        key_id: String,
    },
    /// A sealed value is malformed or fails authentication.
    #[error("a sealed secret value is corrupt or does not belong where it was found")]
    Corrupt,
}

/// One master key and its id.
#[derive(Clone)]
struct MasterKey {
    id: String,
    cipher: Aes256Gcm,
}

impl MasterKey {
    fn new(key: &[u8; 32]) -> Self {
        MasterKey { id: hex_prefix(&Sha256::digest(key)), cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)) }
    }
}

/// The keys, the first of which seals; the others only open values sealed before a rotation.
struct Keyring {
    keys: Vec<MasterKey>,
    /// The key file's identity when it was read.
    modified: Option<FileStamp>,
}

/// Seals and opens secret values under the master keys.
///
/// The first key seals; every key opens what it sealed, so values sealed before a rotation
/// keep opening until they are sealed again and the old key is retired. A cipher read from a
/// key file reads the file again when it changes, so that a rotation done by another process
/// (`reef admin master-key rotate`) reaches every server sharing the file without a restart.
#[derive(Clone)]
pub struct SecretCipher {
    ring: Arc<RwLock<Keyring>>,
    path: Option<Arc<PathBuf>>,
}

impl std::fmt::Debug for SecretCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretCipher").field("key_ids", &self.key_ids()).finish_non_exhaustive()
    }
}

/// What tells one version of a key file from the next: its modification time alone does not,
/// as two writes within a clock tick share it, but a rewrite renames a new file (a new inode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    modified: Option<SystemTime>,
    inode: u64,
    len: u64,
}

fn stamp(path: &Path) -> Option<FileStamp> {
    let meta = fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some(FileStamp { modified: meta.modified().ok(), inode, len: meta.len() })
}

/// A key as its file holds it (base64) and ready to use.
struct FileKey {
    encoded: Zeroizing<String>,
    key: MasterKey,
}

/// Reads a key file: one base64-encoded 32-byte key per line, the sealing key first; blank
/// lines and lines starting with `#` are ignored. Also returns the file's stamp, taken before
/// reading (a change in between is then seen as a change at the next look).
fn read_keys(path: &Path) -> Result<(Vec<FileKey>, Option<FileStamp>), CryptoError> {
    let shown = path.display().to_string();
    let modified = stamp(path);
    let text = Zeroizing::new(
        fs::read_to_string(path).map_err(|source| CryptoError::KeyFile { path: shown.clone(), source })?,
    );
    let mut keys = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let bytes =
            Zeroizing::new(STANDARD.decode(line).map_err(|_| CryptoError::MalformedKey { path: shown.clone() })?);
        let key: Zeroizing<[u8; 32]> =
            Zeroizing::new(bytes.as_slice().try_into().map_err(|_| CryptoError::MalformedKey { path: shown.clone() })?);
        keys.push(FileKey { encoded: Zeroizing::new(line.to_owned()), key: MasterKey::new(&key) });
    }
    if keys.is_empty() {
        return Err(CryptoError::MalformedKey { path: shown });
    }
    Ok((keys, modified))
}

/// Writes a key file with `keys` (base64, the sealing key first), readable only by its owner:
/// a temporary file renamed over the old one, so a reader sees the old file or the new one.
fn write_keys(path: &Path, keys: &[Zeroizing<String>], create_new: bool) -> Result<(), CryptoError> {
    let shown = path.display().to_string();
    let io_err = |source| CryptoError::KeyFile { path: shown.clone(), source };
    let mut text = Zeroizing::new(String::from(
        "# reef master keys, base64. The first seals new values; the others only open values\n\
         # sealed before a rotation. Every replica sharing a database must have this same file.\n",
    ));
    for key in keys {
        text.push_str(key);
        text.push('\n');
    }
    let target = if create_new { path.to_path_buf() } else { path.with_extension("key-new") };
    let mut options = fs::OpenOptions::new();
    options.write(true);
    if create_new {
        options.create_new(true);
    } else {
        options.create(true).truncate(true);
    }
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&target).map_err(io_err)?;
    file.write_all(text.as_bytes()).map_err(io_err)?;
    file.sync_all().map_err(io_err)?;
    if !create_new {
        fs::rename(&target, path).map_err(io_err)?;
    }
    Ok(())
}

/// A new random key, base64-encoded, and its id.
fn new_key() -> (Zeroizing<String>, String) {
    let mut key = Zeroizing::new([0u8; 32]);
    rand::rng().fill_bytes(key.as_mut());
    (Zeroizing::new(STANDARD.encode(key.as_ref())), MasterKey::new(&key).id)
}

impl SecretCipher {
    /// A cipher under the given 32-byte key alone.
    pub fn new(key: &[u8; 32]) -> Self {
        SecretCipher {
            ring: Arc::new(RwLock::new(Keyring { keys: vec![MasterKey::new(key)], modified: None })),
            path: None,
        }
    }

    /// Reads the master keys from `path`, or creates the file with a new random key, readable
    /// only by its owner (mode 0600), if it does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self, CryptoError> {
        if !path.exists() {
            match write_keys(path, &[new_key().0], true) {
                Ok(()) => {}
                // Another process created it first: read theirs.
                Err(CryptoError::KeyFile { source, .. }) if source.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        let (keys, modified) = read_keys(path)?;
        let keys = keys.into_iter().map(|k| k.key).collect();
        Ok(SecretCipher { ring: Arc::new(RwLock::new(Keyring { keys, modified })), path: Some(Arc::new(path.into())) })
    }

    /// Adds a new random key to the key file at `path` as its sealing key, keeping the others
    /// to open older values. Returns the new key's id.
    pub fn rotate_file(path: &Path) -> Result<String, CryptoError> {
        let (keys, _) = read_keys(path)?;
        let (key, id) = new_key();
        let encoded: Vec<Zeroizing<String>> = std::iter::once(key).chain(keys.into_iter().map(|k| k.encoded)).collect();
        write_keys(path, &encoded, false)?;
        Ok(id)
    }

    /// Removes the key `key_id` from the key file at `path`. The sealing key cannot be removed.
    pub fn retire_from_file(path: &Path, key_id: &str) -> Result<(), CryptoError> {
        let (keys, _) = read_keys(path)?;
        match keys.iter().position(|k| k.key.id == key_id) {
            None => Err(CryptoError::UnknownKey { key_id: key_id.to_owned() }),
            Some(0) => Err(CryptoError::SealingKey { key_id: key_id.to_owned() }),
            Some(index) => {
                let encoded: Vec<Zeroizing<String>> =
                    keys.into_iter().enumerate().filter(|(i, _)| *i != index).map(|(_, k)| k.encoded).collect();
                write_keys(path, &encoded, false)
            }
        }
    }

    /// Reads the key file again if it changed since it was read. A file that cannot be read
    /// now leaves the keys as they were: a server keeps working on the keys it has.
    fn refresh(&self) {
        let Some(path) = &self.path else { return };
        let modified = stamp(path);
        let stale = self.ring.read().map(|r| r.modified != modified).unwrap_or(false);
        if !stale {
            return;
        }
        match read_keys(path) {
            Ok((keys, modified)) => {
                if let Ok(mut ring) = self.ring.write() {
                    *ring = Keyring { keys: keys.into_iter().map(|k| k.key).collect(), modified };
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "the master key file changed but could not be read; keeping the keys in use")
            }
        }
    }

    fn sealing_key(&self) -> MasterKey {
        self.refresh();
        let ring = self.ring.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        ring.keys[0].clone()
    }

    fn key(&self, key_id: &str) -> Option<MasterKey> {
        let find = || {
            let ring = self.ring.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            ring.keys.iter().find(|k| k.id == key_id).cloned()
        };
        find().or_else(|| {
            self.refresh();
            find()
        })
    }

    /// The id of the key this cipher seals with: a hash prefix, safe to show.
    pub fn key_id(&self) -> String {
        self.sealing_key().id
    }

    /// The ids of every key, the sealing key first.
    pub fn key_ids(&self) -> Vec<String> {
        self.refresh();
        let ring = self.ring.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        ring.keys.iter().map(|k| k.id.clone()).collect()
    }

    /// The id of the key that sealed `sealed`, if it is a sealed value.
    pub fn sealed_by(sealed: &str) -> Option<&str> {
        let mut parts = sealed.splitn(3, '.');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(FORMAT), Some(key_id), Some(_)) => Some(key_id),
            _ => None,
        }
    }

    /// Encrypts `plaintext` under the sealing key, bound to `context` (which must be given
    /// again to open it).
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Result<String, CryptoError> {
        let key = self.sealing_key();
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let aad = aad(&key.id, context);
        let ciphertext = key
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: aad.as_bytes() })
            .map_err(|_| CryptoError::Corrupt)?;
        let mut body = Vec::with_capacity(nonce.len() + ciphertext.len());
        body.extend_from_slice(&nonce);
        body.extend_from_slice(&ciphertext);
        Ok(format!("{FORMAT}.{}.{}", key.id, STANDARD.encode(body)))
    }

    /// Decrypts a value sealed by [`SecretCipher::seal`] with the same `context`, under
    /// whichever key sealed it.
    pub fn open(&self, sealed: &str, context: &str) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some(FORMAT), Some(key_id), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(CryptoError::Corrupt);
        };
        let key = self.key(key_id).ok_or_else(|| CryptoError::UnknownKey { key_id: key_id.to_owned() })?;
        let body = STANDARD.decode(body).map_err(|_| CryptoError::Corrupt)?;
        if body.len() < 12 {
            return Err(CryptoError::Corrupt);
        }
        let (nonce, ciphertext) = body.split_at(12);
        let aad = aad(key_id, context);
        key.cipher
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
    fn after_a_rotation_new_values_use_the_new_key_and_old_values_still_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let server = SecretCipher::load_or_create(&path).unwrap();
        let old_id = server.key_id();
        let old = server.seal(b"before", "c").unwrap();

        let new_id = SecretCipher::rotate_file(&path).unwrap();
        assert_ne!(new_id, old_id);
        // The running cipher notices the changed file: it seals under the new key ...
        let new = server.seal(b"after", "c").unwrap();
        assert_eq!(SecretCipher::sealed_by(&new), Some(new_id.as_str()));
        assert_eq!(server.key_ids(), vec![new_id.clone(), old_id.clone()]);
        // ... and opens values under either.
        assert_eq!(server.open(&old, "c").unwrap().as_slice(), b"before");
        assert_eq!(server.open(&new, "c").unwrap().as_slice(), b"after");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }

        // The sealing key cannot be retired; the old one can, and then its values no longer open.
        assert!(matches!(SecretCipher::retire_from_file(&path, &new_id), Err(CryptoError::SealingKey { .. })));
        assert!(matches!(SecretCipher::retire_from_file(&path, "0000"), Err(CryptoError::UnknownKey { .. })));
        SecretCipher::retire_from_file(&path, &old_id).unwrap();
        let fresh = SecretCipher::load_or_create(&path).unwrap();
        assert_eq!(fresh.key_ids(), vec![new_id]);
        assert!(matches!(fresh.open(&old, "c"), Err(CryptoError::UnknownKey { .. })));
        assert_eq!(fresh.open(&new, "c").unwrap().as_slice(), b"after");
    }

    #[test]
    fn a_key_file_written_by_an_earlier_version_still_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        fs::write(&path, format!("{}\n", STANDARD.encode([7u8; 32]))).unwrap();
        let sealed = cipher().seal(b"x", "c").unwrap();
        assert_eq!(SecretCipher::load_or_create(&path).unwrap().open(&sealed, "c").unwrap().as_slice(), b"x");
    }

    #[test]
    fn a_malformed_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        fs::write(&path, "not a key").unwrap();
        assert!(matches!(SecretCipher::load_or_create(&path), Err(CryptoError::MalformedKey { .. })));
    }
}
